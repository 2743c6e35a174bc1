//! Commands of the Replace panel (issue 16): start, continue and abandon a move to a new load
//! balancer through `cutover_core::replace`. The plans live in the data folder the CLI shares,
//! so a replacement started in the app can be resumed after a restart (or from the CLI).

use std::path::PathBuf;

use cutover_core::replace::{
    self, Advance, ReplaceDecision, ReplaceInput, ReplaceStore, Replacement,
};
use cutover_core::{ApiError, ErrorCode};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::state::AppState;

fn store() -> Result<ReplaceStore, ApiError> {
    ReplaceStore::default_location().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Io,
            "This system has no data folder to keep the replacement in.",
        )
    })
}

/// Where the DNS view keeps rollback sets (`<app data dir>/dns`), so it can roll this one back.
fn rollback_dir(app: &AppHandle) -> Result<PathBuf, ApiError> {
    app.path()
        .app_data_dir()
        .map(|d| d.join("dns"))
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("no data folder to keep the rollback records in: {e}"),
            )
        })
}

/// Every replacement kept (finished ones too), newest first.
#[tauri::command]
#[specta::specta]
pub fn replace_list() -> Result<Vec<Replacement>, ApiError> {
    store()?.list()
}

/// Starts replacing load balancer `id` (copies it with the fixed fields set, checks the copy).
#[tauri::command]
#[specta::specta]
pub async fn replace_start(
    state: State<'_, AppState>,
    id: String,
    input: ReplaceInput,
) -> Result<Replacement, ApiError> {
    let session = state.workspace.session().await?;
    replace::start(&session, &store()?, &id, &input).await
}

/// Runs the replacement's next steps until one waits for the user; each saved step is sent
/// on `progress`.
#[tauri::command]
#[specta::specta]
pub async fn replace_advance(
    app: AppHandle,
    state: State<'_, AppState>,
    old_id: String,
    decision: ReplaceDecision,
    progress: Channel<Replacement>,
) -> Result<Replacement, ApiError> {
    let session = state.workspace.session().await?;
    let opts = Advance::from_decision(&decision, rollback_dir(&app)?);
    replace::advance(&session, &store()?, &old_id, &opts, |plan| {
        // A closed panel just stops listening.
        let _ = progress.send(plan.clone());
    })
    .await
}

/// Forgets a replacement; nothing at DigitalOcean is changed or deleted.
#[tauri::command]
#[specta::specta]
pub fn replace_abandon(old_id: String) -> Result<bool, ApiError> {
    store()?.remove(&old_id)
}
