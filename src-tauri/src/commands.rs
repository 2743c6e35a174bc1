//! Tauri commands: parse, call `cutover_core`, map the error. Nothing else lives here.

use cutover_core::logging::LogEntry;
use cutover_core::{ApiError, AppInfo};
use tauri::State;

use crate::state::AppState;

/// Name, version and where the log file is.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> Result<AppInfo, ApiError> {
    Ok(AppInfo {
        name: "Cutover".to_string(),
        version: cutover_core::version().to_string(),
        log_dir: state.log_dir.as_ref().map(|p| p.display().to_string()),
    })
}

/// The buffered log entries, oldest first; new ones arrive as `LogEvent`s.
#[tauri::command]
#[specta::specta]
pub fn recent_logs(state: State<'_, AppState>) -> Result<Vec<LogEntry>, ApiError> {
    Ok(state.logs.snapshot())
}
