//! Tauri's build step, with an explicit list of the app's commands: each gets an `allow-…`
//! permission, and the window may call only those its capability file lists
//! (src-tauri/capabilities/default.json). Without the list every command would be callable
//! from any webview content.

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/src/lib.rs");
    let commands: &'static [&'static str] = Box::leak(app_commands().into_boxed_slice());
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    tauri_build::try_build(attributes).expect("failed to run tauri-build");
    about::write_build_facts();
}

/// What the About view shows of this build, captured here rather than written by hand: the git
/// commit, the build time, and the licence of every crate compiled into the app.
mod about {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub fn write_build_facts() {
        let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
        println!("cargo:rerun-if-changed=Cargo.lock");
        println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
        println!("cargo:rerun-if-env-changed=CUTOVER_BUILD_COMMIT");

        let commit = std::env::var("CUTOVER_BUILD_COMMIT")
            .ok()
            .filter(|c| !c.is_empty())
            .or_else(|| git(&root, &["rev-parse", "--short=12", "HEAD"]))
            .unwrap_or_else(|| "unknown".to_string());
        // A release build follows the checkout's HEAD; a debug build keeps the commit of its build
        // script's last run, so the many commits of a working day do not rebuild the app each time.
        if std::env::var("PROFILE").as_deref() == Ok("release") {
            for path in ["HEAD", "refs/heads"] {
                if let Some(p) = git(&root, &["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={}", root.join(p).display());
                }
            }
        }
        // SOURCE_DATE_EPOCH for reproducible builds; the clock otherwise.
        let built_at = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            });
        println!("cargo:rustc-env=CUTOVER_BUILD_COMMIT={commit}");
        println!("cargo:rustc-env=CUTOVER_BUILD_UNIX={built_at}");

        let crates = match crate_licences(&root) {
            Ok(crates) => crates,
            Err(err) => {
                // Still a build (a vendored or odd checkout), but the About view says so.
                println!("cargo:warning=the crates' licences could not be listed: {err}");
                Vec::new()
            }
        };
        let json = serde_json::to_string(&crates).expect("licences as JSON");
        std::fs::write(out.join("crate-licences.json"), json).expect("write crate-licences.json");
    }

    fn git(root: &Path, args: &[&str]) -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    }

    /// Every package compiled into the app for this target: the app's normal dependencies,
    /// followed through the resolved graph (build and dev dependencies are not shipped, nor is
    /// the code of procedural macros), without the workspace's own crates.
    fn crate_licences(root: &Path) -> Result<Vec<serde_json::Value>, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let target = std::env::var("TARGET").map_err(|e| e.to_string())?;
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", &target])
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .output()
            .map_err(|e| format!("cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let meta: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
        let packages: BTreeMap<&str, &serde_json::Value> = meta["packages"]
            .as_array()
            .ok_or("cargo metadata: no packages")?
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?, p)))
            .collect();
        let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
            .as_array()
            .ok_or("cargo metadata: no resolve graph")?
            .iter()
            .filter_map(|n| Some((n["id"].as_str()?, n)))
            .collect();
        let root_id = meta["resolve"]["root"]
            .as_str()
            .ok_or("cargo metadata: no root package")?;
        let is_proc_macro = |id: &str| {
            packages.get(id).is_some_and(|p| {
                p["targets"].as_array().is_some_and(|ts| {
                    ts.iter().any(|t| {
                        t["kind"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
                    })
                })
            })
        };
        let mut seen = BTreeSet::new();
        let mut todo = vec![root_id];
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Some(node) = nodes.get(id) else { continue };
            for dep in node["deps"].as_array().into_iter().flatten() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()));
                if let Some(dep_id) = dep["pkg"].as_str() {
                    if normal && !is_proc_macro(dep_id) {
                        todo.push(dep_id);
                    }
                }
            }
        }
        let mut crates: Vec<serde_json::Value> = seen
            .into_iter()
            .filter_map(|id| packages.get(id))
            // The workspace's own crates are Cutover, not a dependency.
            .filter(|p| !p["source"].is_null())
            .map(|p| {
                serde_json::json!({
                    "name": p["name"],
                    "version": p["version"],
                    "license": p["license"].as_str().unwrap_or(if p["license_file"].is_null() {
                        "(not stated)"
                    } else {
                        "(see its licence file)"
                    }),
                    "repository": p["repository"],
                })
            })
            .collect();
        crates.sort_by(|a, b| {
            (a["name"].as_str(), a["version"].as_str())
                .cmp(&(b["name"].as_str(), b["version"].as_str()))
        });
        Ok(crates)
    }
}

/// The command names registered in `collect_commands![…]` of src-tauri/src/lib.rs: one list,
/// read where it is written (the test `every_command_is_allowed` checks the capability file
/// against the same list).
fn app_commands() -> Vec<&'static str> {
    let source =
        std::fs::read_to_string("src-tauri/src/lib.rs").expect("read src-tauri/src/lib.rs");
    let start = source
        .find("collect_commands![")
        .expect("collect_commands! in src-tauri/src/lib.rs");
    let block = &source[start + "collect_commands![".len()..];
    let end = block.find(']').expect("the end of collect_commands!");
    block[..end]
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let name = entry
                .rsplit("::")
                .next()
                .unwrap_or(entry)
                .trim()
                .to_string();
            &*Box::leak(name.into_boxed_str())
        })
        .collect()
}
