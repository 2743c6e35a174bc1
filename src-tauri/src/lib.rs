//! The Cutover desktop shell: Tauri commands, app state and events. Thin by design: commands
//! parse their input, call `cutover_core`, and map the error to `{ code, message, details }`.

mod about;
mod batch;
mod commands;
mod commands_certs;
mod commands_checks;
mod commands_dns;
mod commands_export;
mod commands_lb;
mod commands_metrics;
mod commands_replace;
mod commands_watch;
mod events;
mod memory;
mod state;
pub mod updater;

use tauri::Manager;
use tauri_specta::{collect_commands, collect_events};

pub use events::LogEvent;

/// The typed IPC surface: every command and event the UI may use. Also what generates
/// `ui/src/lib/bindings.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app_info,
            commands::recent_logs,
            commands::list_accounts,
            commands::add_account,
            commands::remove_account,
            commands::update_account,
            commands::replace_token,
            commands::switch_account,
            commands::rate_limit,
            commands_checks::check_sources,
            commands_checks::run_cert_check,
            commands_checks::export_cert_report,
            commands_checks::list_do_certificates,
            commands_certs::pick_pem_file,
            commands_certs::check_certificate_upload,
            commands_certs::upload_certificate,
            commands_certs::create_lets_encrypt_certificate,
            commands_certs::delete_certificate,
            commands_certs::plan_certificate_rotation,
            commands_certs::rotate_certificate,
            commands_certs::glb_tree,
            commands_certs::glb_check_fleets,
            commands_checks::tls_termination_checks,
            commands_checks::rehearsal_config,
            commands_checks::start_rehearsal,
            commands_checks::stop_rehearsal,
            commands_checks::rehearsal_status,
            commands_checks::rehearsal_test_request,
            commands_checks::rehearsal_open_browser,
            commands_lb::list_load_balancers,
            commands_lb::load_balancer_detail,
            commands_lb::begin_lb_edit,
            commands_lb::validate_lb_edit,
            commands_lb::plan_lb_edit,
            commands_lb::apply_lb_edit,
            commands_lb::lb_create_options,
            commands_lb::review_lb_create,
            commands_lb::create_load_balancer,
            commands_lb::delete_load_balancer,
            commands_lb::add_lb_droplets,
            commands_lb::remove_lb_droplets,
            commands_lb::lb_history,
            commands_lb::begin_lb_revert,
            commands_export::export_load_balancer,
            commands_replace::replace_list,
            commands_replace::replace_start,
            commands_replace::replace_advance,
            commands_replace::replace_abandon,
            commands_metrics::lb_droplet_health,
            commands_metrics::lb_probe_droplets,
            commands_metrics::lb_graphs,
            commands_dns::dns_status,
            commands_dns::dns_readiness,
            commands_dns::dns_plan,
            commands_dns::dns_apply,
            commands_dns::dns_verify,
            commands_dns::dns_rollback,
            commands_dns::dns_saved_rollback,
            commands_dns::dns_forget_rollback,
            commands_dns::dns_domains,
            commands_watch::watch_list,
            commands_watch::watch_add,
            commands_watch::watch_remove,
            commands_watch::watch_run_now,
            commands_watch::watch_notifications,
            about::about_info,
            updater::update_check,
            updater::update_install,
            updater::update_restart,
        ])
        .events(collect_events![
            events::LogEvent,
            commands_checks::BalancerEventMsg,
            commands_checks::BalancerStatsMsg,
            commands_checks::BalancerStateMsg,
            commands_watch::WatchRunMsg
        ])
}

/// The TypeScript exporter settings used for the committed bindings.
pub fn typescript_exporter() -> specta_typescript::Typescript {
    specta_typescript::Typescript::default().header("// @ts-nocheck\n/* eslint-disable */")
}

/// Set (to anything) to allow more than one running app: the end-to-end journeys.
pub const MULTI_INSTANCE_ENV: &str = "CUTOVER_MULTI_INSTANCE";

/// Runs the desktop app until its last window closes.
pub fn run() {
    #[cfg(target_os = "linux")]
    {
        render_on_the_cpu();
        collect_the_whole_js_heap();
    }
    cutover_core::init_tls();
    let builder = specta_builder();
    let mut app = tauri::Builder::default();
    // First, as the plugin asks: a second launch focuses this one and exits before anything
    // else (the Sandbox, the watch) starts twice. The end-to-end journeys start one app after
    // another under one session bus and turn it off (CUTOVER_MULTI_INSTANCE=1), so a previous
    // journey's app still shutting down never swallows the next one's launch.
    if std::env::var_os(MULTI_INSTANCE_ENV).is_none() {
        app = app.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }));
    }
    let app = app
        // The window's size and position, restored at start; nothing is allowed to the webview.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // The watch's notifications, raised from Rust; nothing is allowed to the webview.
        .plugin(tauri_plugin_notification::init())
        // The report export's save dialog, opened from Rust (nothing is allowed to the webview).
        .plugin(tauri_plugin_dialog::init())
        // Updates, checked and installed from Rust only (src-tauri/src/updater.rs).
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(updater::UpdaterRuntime::default())
        .on_window_event(commands_watch::confirm_quit)
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let log_dir = app.path().app_log_dir().ok();
            let config_dir = app.path().app_config_dir()?;
            let app_state = state::AppState::start(app.handle().clone(), config_dir, log_dir)?;
            app.manage(app_state);
            commands_watch::start_background(app.handle().clone());
            memory::start_trimming();
            #[cfg(target_os = "linux")]
            use_document_viewer_cache(app);
            Ok(())
        })
        .build(tauri::generate_context!("tauri.conf.json"));
    match app {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                // Drain the local balancer and stop the Sandbox (saving its state) before exit.
                if let Some(state) = handle.try_state::<state::AppState>() {
                    tauri::async_runtime::block_on(state.shutdown());
                }
            }
        }),
        Err(err) => {
            eprintln!("Cutover could not start: {err}");
            std::process::exit(1);
        }
    }
}

/// WebKitGTK paints the page's layers with Skia on the GPU by default; where there is none (a VM,
/// a remote desktop, Xvfb) that is Mesa's software GL, whose textures sit in the web process's
/// memory. Cutover's page is text, tables and a few small charts, which WebKitGTK's CPU painting
/// threads draw well within a frame, for less memory: `graphs_bench` under Xvfb measured the
/// Graphs tab at +24.8 MB over the list with CPU painting against +41.2 MB with GPU painting,
/// and the list itself ~25 MB smaller. Set before WebKit starts its web process, which inherits
/// it; `CUTOVER_GPU_RENDERING=1`, or the variable set by the user, keeps WebKit's own choice.
#[cfg(target_os = "linux")]
fn render_on_the_cpu() {
    set_for_webkit(
        "WEBKIT_SKIA_ENABLE_CPU_RENDERING",
        "1",
        "CUTOVER_GPU_RENDERING",
    );
}

/// JavaScriptCore collects generationally: most collections look at new objects only, and the
/// old ones wait for a full collection. In WebKitGTK's web process none came in a whole
/// `ui_bench` run (`JSC_logGC=1`: 16 collections, all of new objects, the heap 3.5 → 51 MB), so
/// whatever a big account's views had left — a replaced 1,000-row list, a closed 200-backend
/// certificate report, a 5,000-record zone — stayed until the process ended. Cutover's live
/// heap is small (7–13 MB), so every collection looks at all of it: in the same benchmark 33
/// collections, the longest pause 14 ms (22.5 ms generational), the heap back to 7.5 MB, and
/// the big account's footprint +19 MB over the small one's against +68 to +89 MB. Set before
/// WebKit starts its web process, which inherits it (JavaScriptCore reads `JSC_` options from
/// the environment); `CUTOVER_GENERATIONAL_GC=1`, or the variable set by the user, keeps the
/// default.
#[cfg(target_os = "linux")]
fn collect_the_whole_js_heap() {
    set_for_webkit("JSC_useGenerationalGC", "0", "CUTOVER_GENERATIONAL_GC");
}

/// Sets `var` to `value` for the web process WebKit starts later (it inherits the environment),
/// unless the user set `var` already or asked for WebKit's default with `keep_default=1`.
#[cfg(target_os = "linux")]
fn set_for_webkit(var: &str, value: &str, keep_default: &str) {
    let default_wanted = std::env::var(keep_default).is_ok_and(|v| v == "1");
    if !default_wanted && std::env::var_os(var).is_none() {
        // Before any thread is started (tauri, tokio and WebKit come after this).
        std::env::set_var(var, value);
    }
}

/// WebKitGTK sizes its memory caches for a web browser by default (back/forward page cache,
/// large resource cache). Cutover is one page loaded from the app itself, so the smallest
/// model fits.
///
/// Its 2D canvases (the Graphs tab's and the rehearsal's charts) are drawn on the CPU: WebKitGTK
/// backs an accelerated canvas with a GPU surface and a GPU resource cache per web process,
/// which kept tens of MB for a tab of small line charts (`graphs_bench` prints both ways side by
/// side; `CUTOVER_CANVAS_ACCELERATION=1` keeps WebKit's default). A chart of a few hundred
/// points is drawn in well under a frame on the CPU.
#[cfg(target_os = "linux")]
fn use_document_viewer_cache(app: &tauri::App) {
    use webkit2gtk::glib::prelude::ObjectExt;
    use webkit2gtk::{WebContextExt, WebViewExt};
    let accelerate_canvas = std::env::var("CUTOVER_CANVAS_ACCELERATION").is_ok_and(|v| v == "1");
    for window in app.webview_windows().values() {
        let result = window.with_webview(move |webview| {
            let view = webview.inner();
            if let Some(context) = view.context() {
                context.set_cache_model(webkit2gtk::CacheModel::DocumentViewer);
            }
            // The property's name since WebKitGTK 2.46 (older ones spell it otherwise and keep
            // their default).
            if let Some(settings) = WebViewExt::settings(&view) {
                if settings
                    .find_property("enable-2d-canvas-acceleration")
                    .is_some()
                {
                    settings.set_property("enable-2d-canvas-acceleration", accelerate_canvas);
                }
            }
        });
        if let Err(err) = result {
            tracing::warn!(%err, "could not set the webview's cache model and canvas drawing");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The commands registered in `collect_commands!` (as build.rs reads them).
    fn registered_commands() -> Vec<String> {
        let source = include_str!("lib.rs");
        let start = source
            .find("collect_commands![")
            .expect("collect_commands!")
            + 18;
        let block = &source[start..];
        let end = block.find(']').expect("end of collect_commands!");
        block[..end]
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| e.rsplit("::").next().unwrap_or(e).trim().to_string())
            .collect()
    }

    /// The window may call exactly the app's commands: each has its `allow-…` permission in the
    /// capability file, and nothing else is allowed there but core events.
    #[test]
    fn every_command_is_allowed_and_nothing_else() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src-tauri/capabilities/default.json");
        let capability: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read capability"))
                .expect("capability JSON");
        let mut allowed: Vec<String> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.starts_with("allow-"))
            .map(str::to_string)
            .collect();
        allowed.sort();
        let mut wanted: Vec<String> = registered_commands()
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        wanted.sort();
        assert_eq!(
            allowed,
            wanted,
            "src-tauri/capabilities/default.json must allow exactly the registered commands; permissions: {}",
            serde_json::to_string(&wanted).unwrap_or_default()
        );
        let others: Vec<&str> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| !p.starts_with("allow-"))
            .collect();
        assert_eq!(
            others,
            ["core:event:default"],
            "no plugin reaches the webview"
        );
    }

    /// The committed bindings must match what the Rust side exports. Run with
    /// `CUTOVER_UPDATE_BINDINGS=1` to rewrite them.
    #[test]
    fn bindings_are_current() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings.ts");
        let fresh =
            std::env::temp_dir().join(format!("cutover-bindings-{}.ts", std::process::id()));
        super::specta_builder()
            .export(super::typescript_exporter(), &fresh)
            .expect("bindings export");
        let fresh_text = std::fs::read_to_string(&fresh).expect("read exported bindings");
        let _ = std::fs::remove_file(&fresh);
        if std::env::var_os("CUTOVER_UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed, &fresh_text).expect("write bindings");
            return;
        }
        let committed_text = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            committed_text == fresh_text,
            "ui/src/lib/bindings.ts is stale: run `CUTOVER_UPDATE_BINDINGS=1 cargo test -p cutover-app bindings_are_current` and commit it"
        );
    }
}
