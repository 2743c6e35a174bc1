// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    linux_webview_defaults();
    cutover_app::run();
}

/// WebKitGTK's accelerated compositing costs ~80 MB in the web process and ~300 ms at start
/// (measured with `tests/examples/startup_bench.rs`), and on machines without a GPU it renders
/// through Mesa's software OpenGL anyway. Cutover's UI is tables and forms with no animation that
/// needs it, so it is off unless the user asks for it (`CUTOVER_GPU_COMPOSITING=1`) or has set
/// WebKit's own variable. Set before any thread starts, as the environment must be.
#[cfg(target_os = "linux")]
fn linux_webview_defaults() {
    let wants_gpu = std::env::var_os("CUTOVER_GPU_COMPOSITING").is_some_and(|v| v == "1");
    if !wants_gpu && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}
