//! The Cutover desktop shell: Tauri commands, app state and events. Thin by design: commands
//! parse their input, call `cutover_core`, and map the error to `{ code, message, details }`.

mod commands;
mod events;
mod state;

use tauri::Manager;
use tauri_specta::{collect_commands, collect_events};

pub use events::LogEvent;

/// The typed IPC surface: every command and event the UI may use. Also what generates
/// `ui/src/lib/bindings.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![commands::app_info, commands::recent_logs,])
        .events(collect_events![events::LogEvent])
}

/// The TypeScript exporter settings used for the committed bindings.
pub fn typescript_exporter() -> specta_typescript::Typescript {
    specta_typescript::Typescript::default().header("// @ts-nocheck\n/* eslint-disable */")
}

/// Runs the desktop app until its last window closes.
pub fn run() {
    let builder = specta_builder();
    let app = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let log_dir = app.path().app_log_dir().ok();
            let app_state = state::AppState::start(app.handle().clone(), log_dir)?;
            app.manage(app_state);
            Ok(())
        })
        .build(tauri::generate_context!("tauri.conf.json"));
    match app {
        Ok(app) => app.run(|_handle, _event| {}),
        Err(err) => {
            eprintln!("Cutover could not start: {err}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

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
