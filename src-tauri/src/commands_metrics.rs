//! Tauri commands of a load balancer's health and graphs as DigitalOcean sees them: parse, call
//! `cutover_core::metrics`, map the error. Each call is one fetch per series (the UI decides how
//! often to refresh; DigitalOcean samples about every two minutes).

use cutover_core::metrics::{self, DropletHealthReport, LbGraphs, MetricsWindow};
use cutover_core::preflight::{self, DropletProbe};
use cutover_core::ApiError;
use tauri::State;

use crate::state::AppState;

/// Each droplet behind load balancer `id`: DigitalOcean's verdict now, the share of passed
/// health checks, downtime, connections and p95 response time over `window`.
#[tauri::command]
#[specta::specta]
pub async fn lb_droplet_health(
    state: State<'_, AppState>,
    id: String,
    window: MetricsWindow,
) -> Result<DropletHealthReport, ApiError> {
    let conn = state.workspace.connection().await?;
    metrics::droplet_health(&conn, &id, window).await
}

/// Cutover's own verdict next to DigitalOcean's: the load balancer's health check as configured,
/// run from this machine against each droplet of load balancer `id`.
#[tauri::command]
#[specta::specta]
pub async fn lb_probe_droplets(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<DropletProbe>, ApiError> {
    let conn = state.workspace.connection().await?;
    preflight::probe_health_now(&conn, &id).await
}

/// Chart-ready graphs of load balancer `id` over `window`: the named `series`, or (empty) the
/// default set for its type (network load balancers get their own, no HTTP ones).
#[tauri::command]
#[specta::specta]
pub async fn lb_graphs(
    state: State<'_, AppState>,
    id: String,
    window: MetricsWindow,
    series: Vec<String>,
) -> Result<LbGraphs, ApiError> {
    let conn = state.workspace.connection().await?;
    metrics::lb_graphs(&conn, &id, window, &series).await
}
