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
