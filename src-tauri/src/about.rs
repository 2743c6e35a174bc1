//! The About view (issue 18): version, build and the licences of what the app ships, all
//! generated. build.rs captures the git commit and build time and lists every crate compiled into
//! the app from `cargo metadata`; the UI's build writes `licences.json` next to its bundle (a Vite
//! plugin, ui/licences.ts) with the npm packages that ended up in it.

use cutover_core::ApiError;
use serde::{Deserialize, Serialize};
use tauri::AppHandle;

/// The crates' list as build.rs wrote it.
const CRATE_LICENCES: &str = include_str!(concat!(env!("OUT_DIR"), "/crate-licences.json"));
/// Where the UI's build puts its packages' list (inside the embedded `ui/dist`).
const UI_LICENCES_ASSET: &str = "licences.json";

/// One shipped dependency and its licence, as its own manifest states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Licensed {
    pub name: String,
    pub version: String,
    /// An SPDX expression, or a note when the manifest names only a file.
    pub license: String,
    #[serde(default)]
    pub repository: Option<String>,
}

/// How many shipped dependencies carry one licence expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LicenceCount {
    pub license: String,
    pub count: u32,
}

/// Everything the About view shows.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct AboutInfo {
    pub name: String,
    pub version: String,
    /// The git commit built (12 hex digits), or "unknown" outside a checkout.
    pub commit: String,
    /// RFC 3339, when it was built.
    pub built_at: String,
    pub license: String,
    /// Rust crates compiled into the app.
    pub crates: Vec<Licensed>,
    /// npm packages bundled into the UI.
    pub ui_packages: Vec<Licensed>,
    /// Both lists by licence, most common first.
    pub licence_counts: Vec<LicenceCount>,
    /// Set when a list could not be read (the view says so rather than showing none).
    pub problems: Vec<String>,
}

/// Parses a list written at build time.
pub fn parse_list(json: &str, what: &str) -> Result<Vec<Licensed>, String> {
    serde_json::from_str(json).map_err(|e| format!("the {what} list could not be read: {e}"))
}

/// The licences of both lists, counted, most common first (then by name).
pub fn count_licences<'a>(lists: impl IntoIterator<Item = &'a Licensed>) -> Vec<LicenceCount> {
    let mut counts = std::collections::BTreeMap::<&str, u32>::new();
    for item in lists {
        *counts.entry(item.license.as_str()).or_default() += 1;
    }
    let mut counts: Vec<LicenceCount> = counts
        .into_iter()
        .map(|(license, count)| LicenceCount {
            license: license.to_string(),
            count,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.license.cmp(&b.license)));
    counts
}

/// RFC 3339 of a build time in Unix seconds.
pub fn build_time(unix: &str) -> String {
    unix.parse::<i64>()
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Version, build and licences.
#[tauri::command]
#[specta::specta]
pub fn about_info(app: AppHandle) -> Result<AboutInfo, ApiError> {
    let mut problems = Vec::new();
    let crates = parse_list(CRATE_LICENCES, "Rust crates").unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    if crates.is_empty() && problems.is_empty() {
        problems.push("the Rust crates' list is empty (see the build's warnings)".to_string());
    }
    let ui_packages = match app.asset_resolver().get(UI_LICENCES_ASSET.to_string()) {
        Some(asset) => match std::str::from_utf8(asset.bytes()) {
            Ok(text) => parse_list(text, "UI packages").unwrap_or_else(|e| {
                problems.push(e);
                Vec::new()
            }),
            Err(_) => {
                problems.push("the UI packages' list is not text".to_string());
                Vec::new()
            }
        },
        None => {
            problems.push(format!(
                "the UI build has no {UI_LICENCES_ASSET} (build the UI with `npm run build`)"
            ));
            Vec::new()
        }
    };
    Ok(AboutInfo {
        name: app.package_info().name.clone(),
        version: app.package_info().version.to_string(),
        commit: env!("CUTOVER_BUILD_COMMIT").to_string(),
        built_at: build_time(env!("CUTOVER_BUILD_UNIX")),
        license: env!("CARGO_PKG_LICENSE").to_string(),
        licence_counts: count_licences(crates.iter().chain(ui_packages.iter())),
        crates,
        ui_packages,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list build.rs wrote for this very build: the app's real dependencies, each with a
    /// licence, and none of the workspace's own crates nor build-only tools.
    #[test]
    fn the_generated_crate_list_is_the_apps_dependencies() {
        let crates = parse_list(CRATE_LICENCES, "Rust crates").expect("the generated list");
        let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
        for shipped in [
            "tauri",
            "tokio",
            "rustls",
            "serde_json",
            "tauri-plugin-updater",
        ] {
            assert!(names.contains(&shipped), "{shipped} is shipped: {names:?}");
        }
        for not_shipped in [
            "cutover-core",
            "cutover-app",
            "tauri-build",
            "minisign",
            "serde_derive",
        ] {
            assert!(
                !names.contains(&not_shipped),
                "{not_shipped} is not a shipped dependency"
            );
        }
        assert!(crates.len() > 100, "only {} crates", crates.len());
        assert!(crates.iter().all(|c| !c.license.is_empty()));
        let tokio = crates.iter().find(|c| c.name == "tokio").expect("tokio");
        assert_eq!(tokio.license, "MIT");
    }

    #[test]
    fn licences_are_counted_most_common_first() {
        let item = |name: &str, license: &str| Licensed {
            name: name.into(),
            version: "1.0.0".into(),
            license: license.into(),
            repository: None,
        };
        let list = [
            item("a", "MIT"),
            item("b", "Apache-2.0 OR MIT"),
            item("c", "MIT"),
            item("d", "ISC"),
        ];
        let counts = count_licences(list.iter());
        let flat: Vec<(&str, u32)> = counts
            .iter()
            .map(|c| (c.license.as_str(), c.count))
            .collect();
        assert_eq!(flat, [("MIT", 2), ("Apache-2.0 OR MIT", 1), ("ISC", 1)]);
    }

    #[test]
    fn the_build_time_is_rfc3339_or_unknown() {
        assert_eq!(build_time("0"), "1970-01-01T00:00:00Z");
        assert_eq!(build_time("1765000000"), "2025-12-06T05:46:40Z");
        assert_eq!(build_time("soon"), "unknown");
    }

    #[test]
    fn a_list_that_is_not_json_is_reported_not_hidden() {
        let err = parse_list("{oops", "UI packages").expect_err("not a list");
        assert!(err.contains("UI packages"), "{err}");
    }
}
