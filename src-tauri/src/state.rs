//! What the app keeps while it runs.

use std::path::PathBuf;

use cutover_core::accounts::{OsKeychain, SettingsStore};
use cutover_core::lb::EditSessions;
use cutover_core::logging::{self, LogGuard, LogHub, LogOptions, DEFAULT_LOG_CAPACITY};
use cutover_core::workspace::{SandboxOptions, Workspace};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::events::LogEvent;

pub struct AppState {
    pub logs: LogHub,
    pub log_dir: Option<PathBuf>,
    pub workspace: Workspace,
    /// The local rehearsal balancer, when one runs.
    pub balancer: cutover_core::rehearse::slot::BalancerSlot,
    /// The load balancers open in an editor, as loaded (what Apply compares with).
    pub lb_sessions: EditSessions,
    /// The watch's locks and the notifications it raised.
    pub watch: crate::commands_watch::WatchRuntime,
    _log_guard: LogGuard,
}

impl AppState {
    pub fn start(
        app: AppHandle,
        config_dir: PathBuf,
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
        let workspace = Workspace::new(
            SettingsStore::in_dir(&config_dir),
            Box::new(OsKeychain),
            // The in-app Sandbox behaves like the live API, delays included; started big when
            // CUTOVER_SANDBOX_SCALE asks (benchmarks, trying a big account offline).
            SandboxOptions::default()
                .with_scale_from_env()
                .unwrap_or_else(|err| {
                    tracing::warn!(
                        "{}: {err}; the Sandbox starts at its usual size",
                        cutover_core::sandbox::SCALE_ENV
                    );
                    SandboxOptions::default()
                }),
        );
        // The journal the CLI reads too (the app's data folder; CUTOVER_DATA_DIR overrides).
        let workspace = match cutover_core::journal::Journal::default_location() {
            Some(journal) => workspace.with_journal(journal),
            None => workspace,
        };
        Ok(Self {
            logs,
            log_dir,
            workspace,
            balancer: Default::default(),
            lb_sessions: EditSessions::default(),
            watch: Default::default(),
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

impl AppState {
    /// Stops what runs in the background, waiting for it to finish cleanly.
    pub async fn shutdown(&self) {
        // Open connections through the rehearsal balancer get a few seconds to finish.
        self.balancer.stop(std::time::Duration::from_secs(5)).await;
        self.workspace.shutdown().await;
    }
}
