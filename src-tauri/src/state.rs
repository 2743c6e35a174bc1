//! What the app keeps while it runs.

use std::path::PathBuf;

use cutover_core::logging::{self, LogGuard, LogHub, LogOptions, DEFAULT_LOG_CAPACITY};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::events::LogEvent;

pub struct AppState {
    pub logs: LogHub,
    pub log_dir: Option<PathBuf>,
    _log_guard: LogGuard,
}

impl AppState {
    pub fn start(
        app: AppHandle,
        log_dir: Option<PathBuf>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let (logs, guard) = logging::init(LogOptions {
            dir: log_dir.clone(),
            stderr: cfg!(debug_assertions),
            default_filter: "info,tao=warn,wry=warn".to_string(),
            capacity: DEFAULT_LOG_CAPACITY,
        })?;
        forward_logs(app, &logs);
        tracing::info!(version = cutover_core::version(), "Cutover started");
        Ok(Self {
            logs,
            log_dir,
            _log_guard: guard,
        })
    }
}

/// Streams every new log entry to the UI's Logs view.
fn forward_logs(app: AppHandle, logs: &LogHub) {
    let mut rx = logs.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(entry) => {
                    // A closed webview is not an error worth logging (it would loop).
                    let _ = LogEvent(entry).emit(&app);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
