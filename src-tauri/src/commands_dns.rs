//! Commands of the DNS cutover view: parse, call `cutover_core::dns`, stream verify's polls.
//!
//! The rollback files live in the app's data directory. Writes (apply, rollback) on a protected
//! account need the domain name typed, checked here as well as in the dialog.

use std::path::PathBuf;
use std::time::Duration;

use cutover_core::dns::{
    self, ApplyResult, DnsPlan, DnsStatus, ReadinessItem, RollbackSet, VerifyOptions,
    VerifyProgress, VerifyResult,
};
use cutover_core::{ApiError, ErrorCode};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::state::AppState;

/// How long verify asks the nameservers when the view does not say.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest verify window the view may ask for.
const VERIFY_TIMEOUT_MAX: u32 = 3600;

/// Where the rollback sets are kept: `<app data dir>/dns`.
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

/// Where `domain` points now (apex and `www`), next to the load balancer's IP when one is given.
#[tauri::command]
#[specta::specta]
pub async fn dns_status(
    state: State<'_, AppState>,
    domain: String,
    lb_id: Option<String>,
) -> Result<DnsStatus, ApiError> {
    let conn = state.workspace.connection().await?;
    let ips = match lb_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => dns::lb_addresses(&conn, id).await?,
        None => Vec::new(),
    };
    dns::status(&conn, &domain, &ips, None).await
}

/// The readiness checklist (runs the backend certificate check when it applies).
/// `rehearsal_ok`: the outcome of a rehearsal test request to the domain, when one was made.
#[tauri::command]
#[specta::specta]
pub async fn dns_readiness(
    app: AppHandle,
    state: State<'_, AppState>,
    domain: String,
    lb_id: String,
    rehearsal_ok: Option<bool>,
) -> Result<Vec<ReadinessItem>, ApiError> {
    let conn = state.workspace.connection().await?;
    let dir = rollback_dir(&app)?;
    dns::readiness(&conn, &domain, &lb_id, None, rehearsal_ok, Some(&dir)).await
}

/// The record changes (and the optional TTL-only first step) that point `names` (default apex
/// and `www`) at the load balancer.
#[tauri::command]
#[specta::specta]
pub async fn dns_plan(
    state: State<'_, AppState>,
    domain: String,
    lb_id: String,
    names: Vec<String>,
    ttl: Option<u32>,
) -> Result<DnsPlan, ApiError> {
    let conn = state.workspace.connection().await?;
    dns::plan_for(&conn, &domain, &lb_id, &names, ttl).await
}

/// Applies the reviewed plan (or only its TTL step) through core's one guarded apply: the
/// typed domain on a protected account, no stale plan, no red readiness unless `force`.
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)] // the view's inputs, one each
pub async fn dns_apply(
    app: AppHandle,
    state: State<'_, AppState>,
    lb_id: String,
    plan: DnsPlan,
    ttl_step_only: bool,
    confirm: Option<String>,
    force: bool,
    rehearsal_ok: Option<bool>,
) -> Result<ApplyResult, ApiError> {
    // An update's restart waits while this runs (src-tauri/src/updater.rs).
    let _writing = crate::updater::dns_write();
    let session = state.workspace.session().await?;
    let dir = rollback_dir(&app)?;
    let guard = dns::ApplyGuard {
        ttl_step_only,
        force,
        confirm,
        rehearsal_ok,
        readiness: None,
    };
    dns::apply_reviewed(&session, &lb_id, &plan, &guard, &dir).await
}

/// Polls the authoritative nameservers until the plan's names answer the load balancer's IP,
/// sending each poll to `progress`, then makes the HTTPS request.
#[tauri::command]
#[specta::specta]
pub async fn dns_verify(
    state: State<'_, AppState>,
    lb_id: String,
    plan: DnsPlan,
    timeout_secs: Option<u32>,
    progress: Channel<VerifyProgress>,
) -> Result<VerifyResult, ApiError> {
    let timeout = match timeout_secs {
        Some(s) if (1..=VERIFY_TIMEOUT_MAX).contains(&s) => Duration::from_secs(u64::from(s)),
        Some(s) => {
            return Err(ApiError::invalid_input(format!(
                "a verify window of {s} s is out of range (1–{VERIFY_TIMEOUT_MAX} s)"
            )))
        }
        None => VERIFY_TIMEOUT,
    };
    let conn = state.workspace.connection().await?;
    let opts = VerifyOptions {
        timeout,
        https_addr: dns::sandbox_https_addr(&conn, &lb_id).await,
        ca_pem: conn.extra_ca_pem.clone(),
        ..VerifyOptions::default()
    };
    dns::verify(&conn, &plan, None, &opts, |p| {
        // A closed view is not an error: the final result still comes back.
        let _ = progress.send(p.clone());
    })
    .await
}

/// Restores the saved records of `domain` and removes the rollback file; the number of API writes.
#[tauri::command]
#[specta::specta]
pub async fn dns_rollback(
    app: AppHandle,
    state: State<'_, AppState>,
    domain: String,
    confirm: Option<String>,
) -> Result<u32, ApiError> {
    let _writing = crate::updater::dns_write();
    let session = state.workspace.session().await?;
    let dir = rollback_dir(&app)?;
    dns::rollback_confirmed(&session, &domain, confirm.as_deref(), &dir).await
}

/// The saved rollback set of `domain`, if a cutover left one (the Roll back button shows then).
#[tauri::command]
#[specta::specta]
pub fn dns_saved_rollback(app: AppHandle, domain: String) -> Result<Option<RollbackSet>, ApiError> {
    let dir = rollback_dir(&app)?;
    dns::load_rollback(&dir, &domain)
}

/// Keeps the cutover: forgets the saved records so a later cutover starts from the records then.
#[tauri::command]
#[specta::specta]
pub fn dns_forget_rollback(app: AppHandle, domain: String) -> Result<bool, ApiError> {
    let dir = rollback_dir(&app)?;
    dns::forget_rollback(&dir, &domain)
}

/// The names of the account's domains (Domains API), to suggest in the view.
#[tauri::command]
#[specta::specta]
pub async fn dns_domains(state: State<'_, AppState>) -> Result<Vec<String>, ApiError> {
    let conn = state.workspace.connection().await?;
    let mut names: Vec<String> = conn
        .client
        .list_domains()
        .await?
        .into_iter()
        .map(|d| d.name)
        .collect();
    names.sort();
    Ok(names)
}
