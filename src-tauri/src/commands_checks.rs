//! Commands of the Certificates and Rehearsal views: parse, call `cutover_core`, stream results.

use std::net::SocketAddr;
use std::time::Duration;

use cutover_core::certs::{BackendReport, CertCheckInput, FleetReport};
use cutover_core::checks::{
    BalancerStatus, CertificateSummary, LbChoice, ReportFormat, TestRequestResult,
};
use cutover_core::rehearse::{BalancerConfig, BalancerEvent, RehearseOptions, StatsSnapshot};
use cutover_core::{ApiError, ErrorCode};
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
    cutover_core::checks::lb_choices(&conn).await
}

/// Probes every backend, sending each result to `progress` as it finishes; returns the report.
#[tauri::command]
#[specta::specta]
pub async fn run_cert_check(
    state: State<'_, AppState>,
    input: CertCheckInput,
    progress: Channel<BackendReport>,
) -> Result<FleetReport, ApiError> {
    let conn = match input.lb_id {
        Some(_) => Some(state.workspace.connection().await?),
        None => None,
    };
    let mut input = input;
    // Hand-made backends on the Sandbox still need its CA to verify.
    if input.lb_id.is_none() && input.options.ca_pem.is_none() {
        if let Ok(c) = state.workspace.connection().await {
            input.options.ca_pem = c.extra_ca_pem.clone();
        }
    }
    cutover_core::certs::check_certificates(conn.as_ref(), &input, |report| {
        // A closed view is not an error: the final report still comes back.
        let _ = progress.send(report.clone());
    })
    .await
}

/// Saves the report in the downloads folder (or the home folder) and returns the path.
#[tauri::command]
#[specta::specta]
pub fn export_cert_report(
    app: AppHandle,
    report: FleetReport,
    format: ReportFormat,
) -> Result<String, ApiError> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("no downloads folder to save into: {e}"),
            )
        })?;
    cutover_core::checks::export_report(&report, format, &dir).map(|p| p.display().to_string())
}

/// The account's DigitalOcean certificates, soonest expiry first.
#[tauri::command]
#[specta::specta]
pub async fn list_do_certificates(
    state: State<'_, AppState>,
) -> Result<Vec<CertificateSummary>, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::checks::list_certificates(&conn).await
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
    cutover_core::checks::rehearsal_config(&conn, &lb_id, &options).await
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
    let status = state
        .balancer
        .status()
        .ok_or_else(|| ApiError::invalid_input("the balancer is not running: start it first"))?;
    status
        .listen
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::Internal, "the balancer's address is unreadable"))
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
    cutover_core::checks::test_request(&domain, &path, addr, ca.as_deref()).await
}

/// Opens Chromium/Chrome with `domain` mapped to the running balancer.
#[tauri::command]
#[specta::specta]
pub fn rehearsal_open_browser(state: State<'_, AppState>, domain: String) -> Result<(), ApiError> {
    let addr = running_addr(&state)?;
    cutover_core::checks::open_browser(&domain, addr)
}
