//! Commands of the Certificates and Rehearsal views: parse, call `cutover_core`, stream results.

use std::net::SocketAddr;
use std::time::Duration;

use cutover_core::certs::inventory::CertificateSummary;
use cutover_core::certs::report::ReportFormat;
use cutover_core::certs::termination::TerminationCheck;
use cutover_core::certs::{BackendReport, CertCheckInput, CertRecheck, FleetReport};
use cutover_core::https_probe::TestRequestResult;
use cutover_core::lb::LbChoice;
use cutover_core::rehearse::slot::BalancerStatus;
use cutover_core::rehearse::{BalancerConfig, BalancerEvent, RehearseOptions, StatsSnapshot};
use cutover_core::ApiError;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;

use crate::state::AppState;

/// How long open connections may finish when the user stops the balancer.
const DRAIN: Duration = Duration::from_secs(5);

/// A connection of the running balancer opened or closed, or a backend's health changed.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BalancerEventMsg {
    pub run: u32,
    pub event: BalancerEvent,
}

/// The running balancer's figures, once a second.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BalancerStatsMsg {
    pub run: u32,
    pub stats: StatsSnapshot,
}

/// The balancer started (`Some`) or stopped (`None`), whoever asked.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BalancerStateMsg(pub Option<BalancerStatus>);

/// Load balancers to check or rehearse, with domain suggestions.
#[tauri::command]
#[specta::specta]
pub async fn check_sources(state: State<'_, AppState>) -> Result<Vec<LbChoice>, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::lb::lb_choices(&conn).await
}

/// Probes every backend, sending the results to `progress` as they finish (together, every
/// `batch::EVERY`); returns the report.
/// `ca_file` names a PEM file of extra CA certificates to trust. With `recheck`, only its
/// droplets are probed (the fix panel's Recheck) and merged into its earlier report.
#[tauri::command]
#[specta::specta]
pub async fn run_cert_check(
    state: State<'_, AppState>,
    input: CertCheckInput,
    ca_file: Option<String>,
    recheck: Option<CertRecheck>,
    progress: Channel<Vec<BackendReport>>,
) -> Result<FleetReport, ApiError> {
    let mut input = input;
    if let Some(path) = ca_file.filter(|p| !p.trim().is_empty()) {
        input.options.ca_pem = Some(cutover_core::certs::read_ca_file(&path)?);
    }
    let conn = match input.lb_id {
        Some(_) => Some(state.workspace.connection().await?),
        // Hand-made backends need no account, but on the Sandbox its CA verifies them.
        None => state.workspace.connection().await.ok(),
    };
    let batches = crate::batch::Batches::start(progress);
    let on_result = |report: &BackendReport| batches.push(report.clone());
    let result = match recheck {
        Some(recheck) => {
            cutover_core::certs::recheck_certificates(conn.as_ref(), &input, &recheck, on_result)
                .await
        }
        None => cutover_core::certs::check_certificates(conn.as_ref(), &input, on_result).await,
    };
    batches.finish();
    result
}

/// Load balancers that terminate TLS, their certificate compared with what the droplets serve.
#[tauri::command]
#[specta::specta]
pub async fn tls_termination_checks(
    state: State<'_, AppState>,
) -> Result<Vec<TerminationCheck>, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::certs::termination::termination_checks(&conn).await
}

/// The test seam of the report export. A native save dialog cannot be driven over WebDriver, so
/// when this variable names a folder the UI skips the dialog and the report is written there
/// under a generated name. The end-to-end journeys set it through `Journey::start`'s environment
/// (tauri-driver passes its environment on to WebKitWebDriver and the app); unset in normal use.
const E2E_SAVE_DIR: &str = "CUTOVER_E2E_SAVE_DIR";

/// Asks where to save the report with the native save dialog — opened here, in Rust, so the
/// only path ever written is one the user picked (the webview never sends a path) — and writes
/// it there atomically. `None` when the dialog was cancelled. Under the end-to-end tests the
/// dialog is skipped and the report goes to `CUTOVER_E2E_SAVE_DIR`.
#[tauri::command]
#[specta::specta]
pub async fn export_cert_report(
    app: AppHandle,
    report: FleetReport,
    format: ReportFormat,
) -> Result<Option<String>, ApiError> {
    if let Some(dir) = std::env::var_os(E2E_SAVE_DIR) {
        let written = cutover_core::certs::report::export_report(
            &report,
            format,
            std::path::Path::new(&dir),
        )?;
        return Ok(Some(written.display().to_string()));
    }
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (filter, extensions): (&str, &[&str]) = match format {
        ReportFormat::Json => ("JSON", &["json"]),
        ReportFormat::Markdown => ("Markdown", &["md"]),
    };
    app.dialog()
        .file()
        .set_title("Save the certificate report")
        .set_file_name(cutover_core::certs::report::report_file_name(
            &report.domain,
            format,
        ))
        .add_filter(filter, extensions)
        .save_file(move |chosen| {
            // The dialog's window may close before anyone waits: nothing to report then.
            let _ = tx.send(chosen);
        });
    let Some(chosen) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = chosen.into_path().map_err(|e| {
        ApiError::invalid_input(format!("the chosen location is not a file path: {e}"))
            .with_details(serde_json::json!({ "field": "path" }))
    })?;
    let written = cutover_core::certs::report::save_report_to(&report, format, &path)?;
    Ok(Some(written.display().to_string()))
}

/// The account's DigitalOcean certificates, soonest expiry first.
#[tauri::command]
#[specta::specta]
pub async fn list_do_certificates(
    state: State<'_, AppState>,
) -> Result<Vec<CertificateSummary>, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::certs::inventory::list_certificates(&conn).await
}

/// The balancer config that reproduces a load balancer here, to edit before starting.
#[tauri::command]
#[specta::specta]
pub async fn rehearsal_config(
    state: State<'_, AppState>,
    lb_id: String,
    options: RehearseOptions,
) -> Result<BalancerConfig, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::rehearse::from_load_balancer(&conn, &lb_id, &options).await
}

/// Starts the local balancer (one at a time) and streams its events and stats to the UI.
#[tauri::command]
#[specta::specta]
pub async fn start_rehearsal(
    app: AppHandle,
    state: State<'_, AppState>,
    config: BalancerConfig,
) -> Result<BalancerStatus, ApiError> {
    let status = state.balancer.start(config)?;
    let _ = BalancerStateMsg(Some(status.clone())).emit(&app);
    forward_balancer(app);
    Ok(status)
}

/// Streams the running balancer's events and stats until it stops.
fn forward_balancer(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let Some((run, mut events)) = app.state::<AppState>().balancer.subscribe() else {
            return;
        };
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => { let _ = BalancerEventMsg { run, event }.emit(&app); }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => match app.state::<AppState>().balancer.stats(run) {
                    Some(stats) => { let _ = BalancerStatsMsg { run, stats }.emit(&app); }
                    None => break,
                },
            }
        }
    });
}

/// Stops the balancer, letting open connections finish for a few seconds; the final figures.
#[tauri::command]
#[specta::specta]
pub async fn stop_rehearsal(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<Option<StatsSnapshot>, ApiError> {
    let stats = state.balancer.stop(DRAIN).await;
    let _ = BalancerStateMsg(None).emit(&app);
    Ok(stats)
}

/// The running balancer, if any (the view asks when it opens).
#[tauri::command]
#[specta::specta]
pub fn rehearsal_status(state: State<'_, AppState>) -> Result<Option<BalancerStatus>, ApiError> {
    Ok(state.balancer.status())
}

fn running_addr(state: &AppState) -> Result<SocketAddr, ApiError> {
    state
        .balancer
        .addr()
        .ok_or_else(|| ApiError::invalid_input("the balancer is not running: start it first"))
}

/// `GET https://domain{path}` through the running balancer, trusting the account's extra CA.
#[tauri::command]
#[specta::specta]
pub async fn rehearsal_test_request(
    state: State<'_, AppState>,
    domain: String,
    path: String,
) -> Result<TestRequestResult, ApiError> {
    let addr = running_addr(&state)?;
    let ca = state
        .workspace
        .connection()
        .await
        .ok()
        .and_then(|c| c.extra_ca_pem);
    cutover_core::https_probe::https_probe(&domain, &path, addr, ca.as_deref()).await
}

/// Opens Chromium/Chrome with `domain` mapped to the running balancer.
#[tauri::command]
#[specta::specta]
pub fn rehearsal_open_browser(state: State<'_, AppState>, domain: String) -> Result<(), ApiError> {
    let addr = running_addr(&state)?;
    cutover_core::rehearse::try_it::open_browser(&domain, addr)
}
