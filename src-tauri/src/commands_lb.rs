//! Tauri commands of the Load balancers view: parse, call `cutover_core::lb`, map the error.

use cutover_core::lb::{
    self, CreateLbInput, CreateOptions, EditReview, EditStart, LbDetail, LbEdit, LbFinding, LbList,
    LbProgress, LoadBalancer,
};
use cutover_core::ApiError;
use tauri::ipc::Channel;
use tauri::State;

use crate::state::AppState;

/// Droplet ids arrive as JS numbers: whole and non-negative, or the input is wrong.
fn droplet_ids(ids: &[f64]) -> Result<Vec<u64>, ApiError> {
    ids.iter()
        .map(|&id| {
            if id.is_finite() && id >= 0.0 && id.fract() == 0.0 && id < 9.0e15 {
                Ok(id as u64)
            } else {
                Err(ApiError::invalid_input(format!(
                    "{id} is not a droplet id."
                )))
            }
        })
        .collect()
}

/// Sends a progress step; a closed webview just stops listening.
fn report(channel: &Channel<LbProgress>) -> impl FnMut(LbProgress) + '_ {
    move |step| {
        let _ = channel.send(step);
    }
}

/// Every load balancer, and the rate limit after listing them; nothing of the list when its
/// fingerprint is `known` (the page has it already).
#[tauri::command]
#[specta::specta]
pub async fn list_load_balancers(
    state: State<'_, AppState>,
    known: Option<String>,
) -> Result<LbList, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::list_since(&conn, known.as_deref()).await
}

/// One load balancer with its droplets resolved and its raw JSON.
#[tauri::command]
#[specta::specta]
pub async fn load_balancer_detail(
    state: State<'_, AppState>,
    id: String,
) -> Result<LbDetail, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::detail(&conn, &id).await
}

/// Opens the editor on the load balancer as it is now (the version Apply will compare with).
#[tauri::command]
#[specta::specta]
pub async fn begin_lb_edit(state: State<'_, AppState>, id: String) -> Result<EditStart, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::begin_edit(&conn, &state.lb_sessions, &id).await
}

/// The shared validator's findings for the edit, locally, for inline messages.
#[tauri::command]
#[specta::specta]
pub fn validate_lb_edit(
    state: State<'_, AppState>,
    id: String,
    edit: LbEdit,
) -> Result<Vec<LbFinding>, ApiError> {
    lb::validate_edit(&state.lb_sessions, &id, &edit)
}

/// Review: the field-level diff, the findings and the API's dry run.
#[tauri::command]
#[specta::specta]
pub async fn plan_lb_edit(
    state: State<'_, AppState>,
    id: String,
    edit: LbEdit,
) -> Result<EditReview, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::plan_edit(&conn, &state.lb_sessions, &id, &edit).await
}

/// Apply: refuses on a conflict, on a Kubernetes-owned load balancer unless
/// `override_kubernetes`, and when the preflight predicts fewer healthy droplets unless
/// `confirm` is the load balancer's name; then follows it back to `active`.
#[tauri::command]
#[specta::specta]
pub async fn apply_lb_edit(
    state: State<'_, AppState>,
    id: String,
    edit: LbEdit,
    override_kubernetes: bool,
    confirm: Option<String>,
    progress: Channel<LbProgress>,
) -> Result<LoadBalancer, ApiError> {
    let conn = state.workspace.connection().await?;
    let guard = lb::EditGuard {
        override_kubernetes,
        confirm,
    };
    lb::apply_edit(
        &conn,
        &state.lb_sessions,
        &id,
        &edit,
        &guard,
        report(&progress),
    )
    .await
}

/// Regions, VPCs, droplets and tags for the create form.
#[tauri::command]
#[specta::specta]
pub async fn lb_create_options(state: State<'_, AppState>) -> Result<CreateOptions, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::create_options(&conn).await
}

/// The validator's findings and the API's dry run of a create.
#[tauri::command]
#[specta::specta]
pub async fn review_lb_create(
    state: State<'_, AppState>,
    input: CreateLbInput,
) -> Result<EditReview, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::review_create(&conn, &input).await
}

/// Creates a load balancer and follows it to `active`.
#[tauri::command]
#[specta::specta]
pub async fn create_load_balancer(
    state: State<'_, AppState>,
    input: CreateLbInput,
    progress: Channel<LbProgress>,
) -> Result<LoadBalancer, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::create(&conn, &input, report(&progress)).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_load_balancer(
    state: State<'_, AppState>,
    id: String,
    confirm: Option<String>,
    override_kubernetes: bool,
) -> Result<(), ApiError> {
    let session = state.workspace.session().await?;
    lb::delete(
        &session,
        Some(&state.lb_sessions),
        &id,
        confirm.as_deref(),
        override_kubernetes,
    )
    .await
    .map(drop)
}

#[tauri::command]
#[specta::specta]
pub async fn add_lb_droplets(
    state: State<'_, AppState>,
    id: String,
    droplets: Vec<f64>,
    override_kubernetes: bool,
) -> Result<(), ApiError> {
    let ids = droplet_ids(&droplets)?;
    let conn = state.workspace.connection().await?;
    lb::add_droplets(&conn, &id, &ids, override_kubernetes)
        .await
        .map(drop)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_lb_droplets(
    state: State<'_, AppState>,
    id: String,
    droplets: Vec<f64>,
    override_kubernetes: bool,
) -> Result<(), ApiError> {
    let ids = droplet_ids(&droplets)?;
    let conn = state.workspace.connection().await?;
    lb::remove_droplets(&conn, &id, &ids, override_kubernetes)
        .await
        .map(drop)
}

/// The journal of changes Cutover made to load balancer `id` (or to all), newest first.
#[tauri::command]
#[specta::specta]
pub async fn lb_history(
    state: State<'_, AppState>,
    id: Option<String>,
) -> Result<Vec<cutover_core::journal::JournalEntry>, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::history(&conn, id.as_deref())
}

/// Opens the editor on the revert of journal entry `entry`: review and apply as any edit.
#[tauri::command]
#[specta::specta]
pub async fn begin_lb_revert(
    state: State<'_, AppState>,
    entry: String,
) -> Result<EditStart, ApiError> {
    let conn = state.workspace.connection().await?;
    lb::begin_revert(&conn, &state.lb_sessions, &entry).await
}
