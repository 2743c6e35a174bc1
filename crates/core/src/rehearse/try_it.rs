//! Ready-made ways to try a domain through the local balancer: a curl line, a hosts-file line,
//! and a Chromium-family browser started with the domain mapped to the balancer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{ApiError, ErrorCode};

/// Ready-made ways to try the domain through the balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TryIt {
    pub domain: String,
    pub curl: String,
    /// The hosts-file line (only works when the balancer listens on 443).
    pub hosts_line: String,
    pub hosts_note: Option<String>,
    /// The browser binary found on this machine, if any.
    pub browser: Option<String>,
}

/// The commands and lines for `domain` through the balancer at `addr`.
pub fn try_it(domain: &str, addr: SocketAddr) -> TryIt {
    let ip = addr.ip();
    let port = addr.port();
    TryIt {
        domain: domain.to_string(),
        curl: format!("curl --connect-to {domain}:443:{ip}:{port} https://{domain}/"),
        hosts_line: format!("{ip} {domain}"),
        hosts_note: (port != 443).then(|| {
            format!("The hosts file maps names, not ports: open https://{domain}:{port}/ with it (the certificate is for the name, so it still matches).")
        }),
        browser: find_browser().map(|p| p.display().to_string()),
    }
}

/// The first Chromium-family browser on the PATH (`.exe` and the other `PATHEXT` endings
/// included on Windows).
pub fn find_browser() -> Option<PathBuf> {
    find_browser_in(std::env::var_os("PATH")?)
}

/// [`find_browser`] in the folders of `path` (a `PATH`-style list).
fn find_browser_in(path: std::ffi::OsString) -> Option<PathBuf> {
    const NAMES: &[&str] = &[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "chrome",
        "brave-browser",
        "brave",
        "microsoft-edge",
        "msedge",
    ];
    let cwd = std::env::current_dir().ok()?;
    NAMES
        .iter()
        .find_map(|name| which::which_in(name, Some(&path), &cwd).ok())
}

/// Opens the browser with `domain` mapped to the balancer at `addr`, in a throwaway profile of
/// its own (the mapping flag only applies to a new browser process, not to one already running).
/// The profile is a fresh private folder under the temporary folder; it is left for the browser,
/// which keeps using it after this returns, and the OS clears it with the rest of its temporary
/// files.
pub fn open_browser(domain: &str, addr: SocketAddr) -> Result<(), ApiError> {
    // The domain goes into a command-line rule: only a valid host name may get there.
    let domain = cutover_domain::normalize(domain);
    cutover_certs::validate_domain(&domain)?;
    if domain.starts_with('*') {
        return Err(ApiError::invalid_input(format!(
            "{domain} is a wildcard: give one name it covers, e.g. www.{}",
            domain.trim_start_matches("*.")
        ))
        .with_details(serde_json::json!({ "field": "domain" })));
    }
    let browser = find_browser().ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no Chromium or Chrome was found on the PATH",
        )
    })?;
    let profile = tempfile::Builder::new()
        .prefix("cutover-browser-")
        .tempdir()
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("could not make a browser profile folder: {e}"),
            )
        })?
        // The browser outlives this call: keep the folder.
        .keep();
    std::process::Command::new(&browser)
        .args(browser_args(&domain, addr, &profile))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("could not start {}: {e}", browser.display()),
            )
        })?;
    Ok(())
}

/// The browser's arguments: `domain` (validated) mapped to `addr`, the profile, the page.
fn browser_args(domain: &str, addr: SocketAddr, profile: &Path) -> Vec<String> {
    vec![
        format!("--host-resolver-rules=MAP {domain}:443 {addr}"),
        format!("--user-data-dir={}", profile.display()),
        "--no-first-run".to_string(),
        format!("https://{domain}/"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_it_lines_name_the_port_and_warn_about_hosts() {
        let t = try_it("shop.test", "127.0.0.1:9443".parse().unwrap());
        assert_eq!(
            t.curl,
            "curl --connect-to shop.test:443:127.0.0.1:9443 https://shop.test/"
        );
        assert_eq!(t.hosts_line, "127.0.0.1 shop.test");
        assert!(t.hosts_note.unwrap().contains(":9443"));
        assert!(try_it("shop.test", "127.0.0.1:443".parse().unwrap())
            .hosts_note
            .is_none());
    }

    #[test]
    fn open_browser_takes_only_a_host_name() {
        let addr: SocketAddr = "127.0.0.1:9443".parse().unwrap();
        for bad in [
            "shop.test 127.0.0.1:1,MAP evil.test",
            "shop.test --incognito",
            "*.shop.test",
            "",
            "shop.test/path",
        ] {
            let err = open_browser(bad, addr).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn the_browser_gets_one_mapping_and_its_own_profile() {
        let profile = Path::new("/tmp/cutover-browser-abc");
        let args = browser_args("shop.test", "127.0.0.1:9443".parse().unwrap(), profile);
        assert_eq!(
            args,
            [
                "--host-resolver-rules=MAP shop.test:443 127.0.0.1:9443",
                "--user-data-dir=/tmp/cutover-browser-abc",
                "--no-first-run",
                "https://shop.test/",
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_browser_on_the_path_is_found() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_browser_in(dir.path().as_os_str().to_owned()), None);
        // Not executable: not a browser.
        let edge = dir.path().join("msedge");
        std::fs::write(&edge, "#!/bin/sh\n").unwrap();
        assert_eq!(find_browser_in(dir.path().as_os_str().to_owned()), None);
        std::fs::set_permissions(&edge, std::fs::Permissions::from_mode(0o755)).unwrap();
        let chromium = dir.path().join("chromium");
        std::fs::write(&chromium, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&chromium, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Chromium comes first in the order of preference.
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(find_browser_in(path), Some(chromium));
    }
}
