//! Tauri commands: parse, call `cutover_core`, map the error. Nothing else lives here.

use cutover_core::logging::LogEntry;
use cutover_core::workspace::{AccountSummary, AccountsOverview, AddAccountInput, RateLimitInfo};
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

/// The account in use and every account (never a token).
#[tauri::command]
#[specta::specta]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<AccountsOverview, ApiError> {
    state.workspace.overview().await
}

/// Checks the token against the API, then stores it in the OS keychain (or, when asked, for
/// this run only).
#[tauri::command]
#[specta::specta]
pub async fn add_account(
    state: State<'_, AppState>,
    input: AddAccountInput,
) -> Result<AccountSummary, ApiError> {
    state.workspace.add_account(input).await
}

/// Removes the account and its keychain entry.
#[tauri::command]
#[specta::specta]
pub async fn remove_account(state: State<'_, AppState>, name: String) -> Result<(), ApiError> {
    state.workspace.remove_account(&name).await
}

/// Changes an account's colour and protected flag.
#[tauri::command]
#[specta::specta]
pub fn update_account(
    state: State<'_, AppState>,
    name: String,
    colour: Option<String>,
    // Not `protected`: the generated TypeScript would use a reserved word as a parameter.
    is_protected: bool,
) -> Result<AccountSummary, ApiError> {
    state.workspace.update_account(&name, colour, is_protected)
}

/// Replaces an account's token (after checking it).
#[tauri::command]
#[specta::specta]
pub async fn replace_token(
    state: State<'_, AppState>,
    name: String,
    token: String,
) -> Result<AccountSummary, ApiError> {
    state.workspace.replace_token(&name, &token).await
}

/// Switches to an account; `None` switches to the Sandbox.
#[tauri::command]
#[specta::specta]
pub async fn switch_account(
    state: State<'_, AppState>,
    name: Option<String>,
) -> Result<AccountSummary, ApiError> {
    state.workspace.switch_to(name.as_deref()).await
}

/// The rate-limit headers last seen, for the status bar.
#[tauri::command]
#[specta::specta]
pub async fn rate_limit(state: State<'_, AppState>) -> Result<Option<RateLimitInfo>, ApiError> {
    Ok(state.workspace.rate_limit().await)
}
