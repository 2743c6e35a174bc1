//! Tauri command of the export (JSON, doctl, Terraform): thin, `cutover_core::export` does the
//! work, including fetching the account's certificate names for Terraform.

use cutover_core::export::{self, ExportFormat};
use cutover_core::ApiError;
use tauri::State;

use crate::state::AppState;

/// The load balancer `id` as text in `format`, for the UI to show, copy or save.
#[tauri::command]
#[specta::specta]
pub async fn export_load_balancer(
    state: State<'_, AppState>,
    id: String,
    format: ExportFormat,
) -> Result<String, ApiError> {
    let conn = state.workspace.connection().await?;
    export::export_load_balancer(&conn, &id, format).await
}
