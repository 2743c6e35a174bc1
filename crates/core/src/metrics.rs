//! What DigitalOcean sees: each droplet's health at the load balancer, and graphs of the load
//! balancer's traffic, from the monitoring API (`monitoring:read`).
//!
//! - [`droplet_health`]: per droplet behind a load balancer, DigitalOcean's verdict now, the
//!   share of passed health checks, downtime, connections and p95 response time over a window.
//!   The API's labels are undocumented, so series are mapped to droplets defensively
//!   ([`map_labels`]: a droplet-id label, else a name, else an IP, else any label that names
//!   one); what cannot be mapped is reported as such, never dropped silently.
//! - [`lb_graphs`]: the series as chart-ready lines (x = Unix seconds shared by every line of a
//!   graph, y = values or `None` for a gap), with a unit and a title. Network load balancers get
//!   their `frontend_nlb_*` and firewall series and no HTTP ones.
//!
//! Cost: one request per series per call (plus the load balancer and, for per-droplet series,
//! the droplet list), and at most [`MAX_POINTS`] points per line whatever the window, so a view
//! costs the same at 1 h and at 7 d.
//!
//! Assumptions about values (the API documents none): `droplets_health_checks` is 1 while a
//! droplet passes and 0 while it fails (averaged samples give the pass ratio);
//! `droplets_downtime` is 1 while a droplet is down.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use cutover_digitalocean::consts::lb_type;
use cutover_digitalocean::monitoring::{series, MetricMatrix, MetricSeries};
use cutover_digitalocean::{Droplet, LoadBalancer};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};
use crate::lb;

/// The most points one line of a graph gets: longer windows are averaged into buckets.
pub const MAX_POINTS: usize = 300;
/// A health sample older than this (before the window's end) says nothing about "now".
/// DigitalOcean samples about every two minutes; five samples' worth allows for its lag.
pub const STALE_AFTER_SECONDS: i64 = 600;
/// Series fetched at once: enough to fill a view quickly, few enough to be gentle on the
/// rate limit (250 requests a minute).
const CONCURRENT_FETCHES: usize = 4;

/// The time a view covers, ending now.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type,
)]
pub enum MetricsWindow {
    #[serde(rename = "1h")]
    Hour,
    #[default]
    #[serde(rename = "6h")]
    SixHours,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl MetricsWindow {
    pub const ALL: [MetricsWindow; 4] = [Self::Hour, Self::SixHours, Self::Day, Self::Week];

    pub fn seconds(self) -> i64 {
        match self {
            Self::Hour => 3600,
            Self::SixHours => 6 * 3600,
            Self::Day => 24 * 3600,
            Self::Week => 7 * 24 * 3600,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::SixHours => "6h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    /// (start, end) in Unix seconds, ending at `now`.
    pub fn range(self, now: i64) -> (i64, i64) {
        (now - self.seconds(), now)
    }
}

impl std::fmt::Display for MetricsWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricsWindow {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        let wanted = s.trim().to_ascii_lowercase();
        let found = match wanted.as_str() {
            "1h" | "60m" => Self::Hour,
            "6h" => Self::SixHours,
            "24h" | "1d" => Self::Day,
            "7d" | "1w" | "168h" => Self::Week,
            _ => None.ok_or_else(|| {
                ApiError::invalid_input(format!(
                    "\"{s}\" is not a metrics window: use 1h, 6h, 24h or 7d."
                ))
                .with_details(serde_json::json!({"field": "window"}))
            })?,
        };
        Ok(found)
    }
}

/// DigitalOcean's verdict on one droplet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    Unhealthy,
    /// No recent health-check sample for it (just added, no data yet, or not mappable).
    Unknown,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unknown => "unknown",
        }
    }
}

/// One droplet behind the load balancer, as DigitalOcean sees it over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DropletHealth {
    #[specta(type = f64)]
    pub droplet_id: u64,
    pub name: String,
    /// Its public IPv4, when it has one.
    pub ip: Option<String>,
    /// From the latest health-check sample, if it is recent.
    pub state: HealthState,
    /// Share of health-check samples that passed, 0–1.
    pub pass_ratio: Option<f64>,
    /// Seconds it was down in the window (from `droplets_downtime`, else from failed checks).
    pub downtime_seconds: Option<f64>,
    /// Active connections at the latest sample.
    pub connections: Option<f64>,
    /// 95th-percentile HTTP response time at the latest sample, in seconds (not for network
    /// load balancers; `None` while it answers nothing).
    pub p95_response_seconds: Option<f64>,
    /// Unix seconds of the latest health-check sample.
    pub last_sample: Option<f64>,
}

/// A series the labels of which named no droplet of the load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UnmappedSeries {
    pub series: String,
    pub labels: BTreeMap<String, String>,
    pub reason: String,
}

/// [`droplet_health`]'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DropletHealthReport {
    pub lb_id: String,
    pub lb_name: String,
    pub window: MetricsWindow,
    /// Unix seconds.
    pub start: f64,
    pub end: f64,
    pub droplets: Vec<DropletHealth>,
    pub unmapped: Vec<UnmappedSeries>,
    /// Every droplet is `healthy` (false with no droplets: nothing serves).
    pub all_healthy: bool,
    /// API requests this answer took.
    pub requests: u32,
}

impl DropletHealthReport {
    pub fn count(&self, state: HealthState) -> usize {
        self.droplets.iter().filter(|d| d.state == state).count()
    }
}

/// How a graph's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MetricUnit {
    /// 1 = yes (passing, down), 0 = no.
    Status,
    Count,
    PerSecond,
    BytesPerSecond,
    Bytes,
    Seconds,
    Percent,
}

/// One line of a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GraphLine {
    /// What the legend says: the droplet's name, the response class, or the labels.
    pub label: String,
    /// The labels as the API sent them.
    pub labels: BTreeMap<String, String>,
    /// The droplet the line is about, when it is per droplet and could be mapped.
    #[specta(type = Option<f64>)]
    pub droplet_id: Option<u64>,
    /// One value per point of the graph's `x`; `None` is a gap (no sample, NaN, ±Inf).
    pub y: Vec<Option<f64>>,
}

/// One series, ready for a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    pub series: String,
    pub title: String,
    pub unit: MetricUnit,
    pub per_droplet: bool,
    /// Unix seconds (each point's bucket start), shared by every line.
    pub x: Vec<f64>,
    pub lines: Vec<GraphLine>,
    /// Seconds between points after downsampling.
    pub step_seconds: f64,
    /// Labels of per-droplet lines that named no droplet of the load balancer (shown anyway,
    /// labelled by their labels).
    pub unmapped_lines: u32,
}

/// [`lb_graphs`]' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbGraphs {
    pub lb_id: String,
    pub lb_name: String,
    pub network_lb: bool,
    pub window: MetricsWindow,
    pub start: f64,
    pub end: f64,
    pub graphs: Vec<Graph>,
    pub requests: u32,
}

/// Title and unit of a series; `None` for names the spec does not list.
pub fn describe(name: &str) -> Option<(&'static str, MetricUnit)> {
    use MetricUnit as U;
    Some(match name {
        series::DROPLETS_HEALTH_CHECKS => ("Health checks passing", U::Status),
        series::DROPLETS_DOWNTIME => ("Droplet down", U::Status),
        series::DROPLETS_CONNECTIONS => ("Droplet connections", U::Count),
        series::DROPLETS_QUEUE_SIZE => ("Droplet queue size", U::Count),
        series::DROPLETS_HTTP_RESPONSES => ("Droplet HTTP responses", U::PerSecond),
        series::DROPLETS_HTTP_RESPONSE_TIME_AVG => ("Response time (average)", U::Seconds),
        series::DROPLETS_HTTP_RESPONSE_TIME_50P => ("Response time (median)", U::Seconds),
        series::DROPLETS_HTTP_RESPONSE_TIME_95P => ("Response time (95th percentile)", U::Seconds),
        series::DROPLETS_HTTP_RESPONSE_TIME_99P => ("Response time (99th percentile)", U::Seconds),
        series::DROPLETS_HTTP_SESSION_DURATION_AVG => ("Session duration (average)", U::Seconds),
        series::DROPLETS_HTTP_SESSION_DURATION_50P => ("Session duration (median)", U::Seconds),
        series::DROPLETS_HTTP_SESSION_DURATION_95P => {
            ("Session duration (95th percentile)", U::Seconds)
        }
        series::FRONTEND_HTTP_REQUESTS_PER_SECOND => ("HTTP requests", U::PerSecond),
        series::FRONTEND_HTTP_RESPONSES => ("HTTP responses by class", U::PerSecond),
        series::FRONTEND_CONNECTIONS_CURRENT => ("Connections", U::Count),
        series::FRONTEND_CONNECTIONS_LIMIT => ("Connections limit", U::Count),
        series::FRONTEND_TLS_CONNECTIONS_CURRENT => ("TLS connections", U::Count),
        series::FRONTEND_TLS_CONNECTIONS_LIMIT => ("TLS connections limit", U::Count),
        series::FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT => {
            ("TLS connections closed over the rate limit", U::Count)
        }
        series::FRONTEND_NETWORK_THROUGHPUT_HTTP => ("HTTP throughput", U::BytesPerSecond),
        series::FRONTEND_NETWORK_THROUGHPUT_TCP => ("TCP throughput", U::BytesPerSecond),
        series::FRONTEND_NETWORK_THROUGHPUT_UDP => ("UDP throughput", U::BytesPerSecond),
        series::FRONTEND_CPU_UTILIZATION => ("CPU", U::Percent),
        series::FRONTEND_NLB_TCP_NETWORK_THROUGHPUT => ("TCP throughput", U::BytesPerSecond),
        series::FRONTEND_NLB_UDP_NETWORK_THROUGHPUT => ("UDP throughput", U::BytesPerSecond),
        series::FRONTEND_FIREWALL_DROPPED_BYTES => ("Firewall dropped bytes", U::Bytes),
        series::FRONTEND_FIREWALL_DROPPED_PACKETS => ("Firewall dropped packets", U::PerSecond),
        _ => return None,
    })
}

/// Whether `lb` is a network load balancer (its own series, no HTTP ones).
pub fn is_network_lb(lb: &LoadBalancer) -> bool {
    lb.lb_type.as_deref() == Some(lb_type::REGIONAL_NETWORK)
}

/// The series a Graphs view shows for `lb` by default (about ten, as the panel does).
pub fn default_series(lb: &LoadBalancer) -> Vec<&'static str> {
    if is_network_lb(lb) {
        vec![
            series::DROPLETS_HEALTH_CHECKS,
            series::DROPLETS_DOWNTIME,
            series::DROPLETS_CONNECTIONS,
            series::FRONTEND_CONNECTIONS_CURRENT,
            series::FRONTEND_CONNECTIONS_LIMIT,
            series::FRONTEND_NLB_TCP_NETWORK_THROUGHPUT,
            series::FRONTEND_NLB_UDP_NETWORK_THROUGHPUT,
            series::FRONTEND_FIREWALL_DROPPED_BYTES,
            series::FRONTEND_FIREWALL_DROPPED_PACKETS,
            series::FRONTEND_CPU_UTILIZATION,
        ]
    } else {
        vec![
            series::FRONTEND_HTTP_REQUESTS_PER_SECOND,
            series::FRONTEND_HTTP_RESPONSES,
            series::FRONTEND_CONNECTIONS_CURRENT,
            series::FRONTEND_CONNECTIONS_LIMIT,
            series::FRONTEND_TLS_CONNECTIONS_CURRENT,
            series::FRONTEND_TLS_CONNECTIONS_LIMIT,
            series::FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT,
            series::FRONTEND_NETWORK_THROUGHPUT_HTTP,
            series::FRONTEND_NETWORK_THROUGHPUT_TCP,
            series::FRONTEND_CPU_UTILIZATION,
            series::DROPLETS_HEALTH_CHECKS,
            series::DROPLETS_DOWNTIME,
            series::DROPLETS_CONNECTIONS,
            series::DROPLETS_HTTP_RESPONSE_TIME_95P,
        ]
    }
}

/// Refuses a series `lb` does not have, saying why.
pub fn check_series(lb: &LoadBalancer, name: &str) -> Result<(), ApiError> {
    let field = || serde_json::json!({"field": "series", "series": name});
    if describe(name).is_none() {
        return Err(ApiError::invalid_input(format!(
            "\"{name}\" is not a load-balancer metric. Known: {}.",
            series::ALL.join(", ")
        ))
        .with_details(field()));
    }
    if is_network_lb(lb) && series::is_http_only(name) {
        return Err(ApiError::invalid_input(format!(
            "\"{}\" is a network load balancer: it has no {name} series (no HTTP or TLS at the \
             load balancer).",
            lb.name
        ))
        .with_details(field()));
    }
    if !is_network_lb(lb) && series::is_nlb_only(name) {
        return Err(ApiError::invalid_input(format!(
            "{name} exists for network load balancers only, and \"{}\" is not one.",
            lb.name
        ))
        .with_details(field()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Labels → droplets
// ---------------------------------------------------------------------------------------------

/// What the mapping knows of a droplet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropletKey {
    pub id: u64,
    pub name: String,
    /// Public and private IPv4s (the load balancer reaches droplets over the VPC).
    pub ips: Vec<String>,
}

impl DropletKey {
    pub fn of(droplet: &Droplet) -> Self {
        let ips = droplet
            .public_ipv4s()
            .into_iter()
            .chain(droplet.private_ipv4s())
            .map(|ip| ip.to_string())
            .collect();
        Self {
            id: droplet.id,
            name: droplet.name.clone(),
            ips,
        }
    }
}

/// Labels that hold a droplet id in the wild or plausibly (DigitalOcean's own metrics use
/// `host_id` for droplets).
const ID_LABELS: &[&str] = &[
    "droplet_id",
    "host_id",
    "droplet",
    "server_id",
    "backend_id",
];
/// Labels that may hold a droplet name (the community exporter reads `server`; Insights calls
/// it "backend server (node)").
const NAME_LABELS: &[&str] = &[
    "droplet_name",
    "name",
    "server",
    "backend",
    "host",
    "hostname",
    "node",
];
/// Labels that name the load balancer itself or a class, never a droplet.
const NOT_DROPLET_LABELS: &[&str] = &["lb_id", "load_balancer_id", "code", "__name__"];

/// An IP, without `:port` or IPv6 brackets.
fn bare_ip(value: &str) -> &str {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match v.rsplit_once(':') {
        // One colon: IPv4 with a port. More: an IPv6 without brackets, kept whole.
        Some((host, _)) if !host.contains(':') => host,
        _ => v,
    }
}

fn parse_id(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("droplet-").unwrap_or(v);
    v.parse().ok()
}

/// The one droplet `labels` name, or why none: tried in order of trust — an id label, a name
/// label, an IP in any label, then any label whose value is a droplet's id or name. A stage that
/// names two droplets is ambiguous (unmapped) rather than a guess.
pub fn map_labels(
    labels: &BTreeMap<String, String>,
    droplets: &[DropletKey],
) -> Result<u64, String> {
    type Stage<'a> = Box<dyn Fn(&str, &str, &DropletKey) -> bool + 'a>;
    let stages: [(&str, Stage); 4] = [
        (
            "id",
            Box::new(|k, v, d| ID_LABELS.contains(&k) && parse_id(v) == Some(d.id)),
        ),
        (
            "name",
            Box::new(|k, v, d| NAME_LABELS.contains(&k) && !d.name.is_empty() && v == d.name),
        ),
        (
            "ip",
            Box::new(|_, v, d| d.ips.iter().any(|ip| ip == bare_ip(v))),
        ),
        (
            "any label",
            Box::new(|_, v, d| parse_id(v) == Some(d.id) || (!d.name.is_empty() && v == d.name)),
        ),
    ];
    for (stage, matches) in &stages {
        let found: BTreeSet<u64> = labels
            .iter()
            .filter(|(k, _)| !NOT_DROPLET_LABELS.contains(&k.as_str()))
            .flat_map(|(k, v)| {
                droplets
                    .iter()
                    .filter(|d| matches(k, v, d))
                    .map(|d| d.id)
                    .collect::<Vec<_>>()
            })
            .collect();
        match found.len() {
            0 => continue,
            1 => return Ok(*found.iter().next().unwrap_or(&0)),
            _ => {
                return Err(format!(
                    "its labels name {} droplets of this load balancer (by {stage})",
                    found.len()
                ))
            }
        }
    }
    let id_label = labels
        .iter()
        .find(|(k, _)| ID_LABELS.contains(&k.as_str()))
        .map(|(k, v)| format!(" ({k}={v} is not behind it)"))
        .unwrap_or_default();
    Err(format!(
        "its labels name no droplet of this load balancer{id_label}"
    ))
}

// ---------------------------------------------------------------------------------------------
// Samples → numbers and lines
// ---------------------------------------------------------------------------------------------

/// Several series for one droplet (a label per port, say) as one, combining samples of the
/// same time with `combine`; non-finite values are gaps and left out.
fn merge(parts: &[&MetricSeries], combine: fn(f64, f64) -> f64) -> Vec<(i64, f64)> {
    let mut by_time: BTreeMap<i64, f64> = BTreeMap::new();
    for part in parts {
        for &(t, v) in &part.samples {
            if v.is_finite() {
                by_time
                    .entry(t)
                    .and_modify(|old| *old = combine(*old, v))
                    .or_insert(v);
            }
        }
    }
    by_time.into_iter().collect()
}

/// The usual distance between samples (the median gap), for time spent in a state; `fallback`
/// with fewer than two samples.
fn typical_step(samples: &[(i64, f64)], fallback: i64) -> i64 {
    let mut gaps: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return fallback;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2]
}

/// Seconds spent where `is_down(value)`: each sample stands for the time until the next one
/// (at most twice the usual step, so a gap in the data is not counted as downtime), the last
/// for one usual step (or until `end`).
fn time_where(samples: &[(i64, f64)], end: i64, is_down: impl Fn(f64) -> bool) -> f64 {
    let step = typical_step(samples, 120);
    let mut total = 0i64;
    for (i, &(t, v)) in samples.iter().enumerate() {
        if !is_down(v) {
            continue;
        }
        let until = samples
            .get(i + 1)
            .map_or((t + step).min(end.max(t)), |n| n.0);
        total += (until - t).clamp(0, 2 * step);
    }
    total as f64
}

/// The health numbers of one droplet from its (merged) series.
fn health_of(
    key: &DropletKey,
    ip: Option<String>,
    checks: &[(i64, f64)],
    downtime: Option<&[(i64, f64)]>,
    connections: &[(i64, f64)],
    p95: &[(i64, f64)],
    end: i64,
) -> DropletHealth {
    let last = checks.last().copied();
    let state = match last {
        Some((t, _)) if t < end - STALE_AFTER_SECONDS => HealthState::Unknown,
        Some((_, v)) if v >= 0.5 => HealthState::Healthy,
        Some(_) => HealthState::Unhealthy,
        None => HealthState::Unknown,
    };
    let pass_ratio = (!checks.is_empty())
        .then(|| checks.iter().map(|(_, v)| v.clamp(0.0, 1.0)).sum::<f64>() / checks.len() as f64);
    let downtime_seconds = match downtime {
        Some(d) if !d.is_empty() => Some(time_where(d, end, |v| v >= 0.5)),
        _ => (!checks.is_empty()).then(|| time_where(checks, end, |v| v < 0.5)),
    };
    DropletHealth {
        droplet_id: key.id,
        name: key.name.clone(),
        ip,
        state,
        pass_ratio,
        downtime_seconds,
        connections: connections.last().map(|(_, v)| *v),
        p95_response_seconds: p95.last().map(|(_, v)| *v),
        last_sample: last.map(|(t, _)| t as f64),
    }
}

/// Downsampled, aligned lines: every line gets the same `x` (bucket starts from `start`), with
/// buckets at least the data's own step wide (no artificial gaps) and wide enough that there
/// are at most `max_points` of them. A bucket's value is the mean of its finite samples, `None`
/// when it has none. Samples outside `[start, end]` are left out. Returns (x, ys, step).
pub fn downsample(
    lines: &[Vec<(i64, f64)>],
    start: i64,
    end: i64,
    max_points: usize,
) -> (Vec<f64>, Vec<Vec<Option<f64>>>, i64) {
    let span = (end - start).max(1);
    let max_points = max_points.max(1) as i64;
    let native = lines
        .iter()
        .flat_map(|l| l.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0)
        .min()
        .unwrap_or(1);
    let width = native.max((span + max_points - 1) / max_points).max(1);
    let buckets = ((span + width - 1) / width).max(1);
    let x: Vec<f64> = (0..buckets).map(|i| (start + i * width) as f64).collect();
    let ys = lines
        .iter()
        .map(|line| {
            let mut sum = vec![0.0f64; buckets as usize];
            let mut n = vec![0u32; buckets as usize];
            for &(t, v) in line {
                if t < start || t > end || !v.is_finite() {
                    continue;
                }
                let i = ((t - start) / width).min(buckets - 1) as usize;
                sum[i] += v;
                n[i] += 1;
            }
            sum.iter()
                .zip(&n)
                .map(|(s, c)| (*c > 0).then(|| s / f64::from(*c)))
                .collect()
        })
        .collect();
    (x, ys, width)
}

// ---------------------------------------------------------------------------------------------
// The jobs
// ---------------------------------------------------------------------------------------------

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A monitoring request refused for want of the scope says how to get it.
fn scope_hint(err: ApiError) -> ApiError {
    if matches!(err.code, ErrorCode::Forbidden | ErrorCode::Unauthorized) {
        let message = format!(
            "{} Reading a load balancer's metrics needs a token with the monitoring:read \
             scope: create one that has it and replace the account's token.",
            err.message.trim_end()
        );
        let mut details = err.details.unwrap_or_else(|| serde_json::json!({}));
        if let Some(map) = details.as_object_mut() {
            map.insert("scope".into(), serde_json::json!("monitoring:read"));
        }
        return ApiError {
            code: err.code,
            message,
            details: Some(details),
        };
    }
    err
}

/// Fetches `names` for `lb` over `[start, end]`, a few at a time, in order.
async fn fetch(
    conn: &Connection,
    lb_id: &str,
    names: &[&str],
    start: i64,
    end: i64,
) -> Result<Vec<MetricMatrix>, ApiError> {
    // Owned names: a stream over borrowed ones makes the future not `Send` for every lifetime,
    // which Tauri's commands require.
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let results: Vec<_> = futures::stream::iter(owned)
        .map(|name| async move { conn.client.lb_metric(&name, lb_id, start, end).await })
        .buffered(CONCURRENT_FETCHES)
        .collect()
        .await;
    results
        .into_iter()
        .map(|r| r.map_err(|e| scope_hint(ApiError::from(e))))
        .collect()
}

/// Each droplet behind `lb` (id or unique name) as DigitalOcean sees it over `window`.
pub async fn droplet_health(
    conn: &Connection,
    lb: &str,
    window: MetricsWindow,
) -> Result<DropletHealthReport, ApiError> {
    let found = lb::find(conn, lb).await?;
    let members = lb::members(conn, &found).await?;
    let (start, end) = window.range(now_unix());
    let mut names = vec![
        series::DROPLETS_HEALTH_CHECKS,
        series::DROPLETS_DOWNTIME,
        series::DROPLETS_CONNECTIONS,
    ];
    if !is_network_lb(&found) {
        names.push(series::DROPLETS_HTTP_RESPONSE_TIME_95P);
    }
    let matrices = fetch(conn, &found.id, &names, start, end).await?;
    let mut report = health_report(&found, &members, window, start, end, &names, &matrices);
    // find (1, or a listing) + the droplets + one per series.
    report.requests = 2 + names.len() as u32;
    Ok(report)
}

/// [`droplet_health`] from what was fetched: `matrices[i]` is series `names[i]`.
pub fn health_report(
    found: &LoadBalancer,
    members: &[Droplet],
    window: MetricsWindow,
    start: i64,
    end: i64,
    names: &[&str],
    matrices: &[MetricMatrix],
) -> DropletHealthReport {
    let keys: Vec<DropletKey> = members.iter().map(DropletKey::of).collect();
    // series name → droplet id → its series
    let mut mapped: BTreeMap<&str, BTreeMap<u64, Vec<&MetricSeries>>> = BTreeMap::new();
    let mut unmapped = Vec::new();
    for (name, matrix) in names.iter().zip(matrices) {
        for s in &matrix.series {
            match map_labels(&s.labels, &keys) {
                Ok(id) => mapped
                    .entry(name)
                    .or_default()
                    .entry(id)
                    .or_default()
                    .push(s),
                Err(reason) => unmapped.push(UnmappedSeries {
                    series: name.to_string(),
                    labels: s.labels.clone(),
                    reason,
                }),
            }
        }
    }
    let of = |name: &str, id: u64, combine: fn(f64, f64) -> f64| -> Option<Vec<(i64, f64)>> {
        mapped
            .get(name)
            .and_then(|m| m.get(&id))
            .map(|parts| merge(parts, combine))
    };
    let droplets: Vec<DropletHealth> = keys
        .iter()
        .zip(members)
        .map(|(key, droplet)| {
            // Two checks at one time (one per port): failing if either fails.
            let checks = of(series::DROPLETS_HEALTH_CHECKS, key.id, f64::min).unwrap_or_default();
            let downtime = of(series::DROPLETS_DOWNTIME, key.id, f64::max);
            let connections =
                of(series::DROPLETS_CONNECTIONS, key.id, |a, b| a + b).unwrap_or_default();
            let p95 =
                of(series::DROPLETS_HTTP_RESPONSE_TIME_95P, key.id, f64::max).unwrap_or_default();
            let ip = droplet.public_ipv4s().first().map(|ip| ip.to_string());
            health_of(
                key,
                ip,
                &checks,
                downtime.as_deref(),
                &connections,
                &p95,
                end,
            )
        })
        .collect();
    let all_healthy =
        !droplets.is_empty() && droplets.iter().all(|d| d.state == HealthState::Healthy);
    DropletHealthReport {
        lb_id: found.id.clone(),
        lb_name: found.name.clone(),
        window,
        start: start as f64,
        end: end as f64,
        droplets,
        unmapped,
        all_healthy,
        requests: 0,
    }
}

/// Graphs of `series` (empty: [`default_series`]) for `lb` (id or unique name) over `window`.
/// A series `lb` does not have is refused before anything is fetched.
pub async fn lb_graphs(
    conn: &Connection,
    lb: &str,
    window: MetricsWindow,
    series_names: &[String],
) -> Result<LbGraphs, ApiError> {
    let found = lb::find(conn, lb).await?;
    let names: Vec<&str> = if series_names.is_empty() {
        default_series(&found)
    } else {
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        for name in series_names {
            let name = name.trim();
            check_series(&found, name)?;
            if seen.insert(name) {
                names.push(name);
            }
        }
        names
    };
    let mut requests = 1 + names.len() as u32;
    // Droplet names for the legend, only when a per-droplet series is shown.
    let members = if names.iter().any(|n| series::is_per_droplet(n)) {
        requests += 1;
        lb::members(conn, &found).await?
    } else {
        Vec::new()
    };
    let (start, end) = window.range(now_unix());
    let matrices = fetch(conn, &found.id, &names, start, end).await?;
    let keys: Vec<DropletKey> = members.iter().map(DropletKey::of).collect();
    let graphs = names
        .iter()
        .zip(&matrices)
        .map(|(name, matrix)| graph(name, matrix, &keys, start, end))
        .collect();
    Ok(LbGraphs {
        lb_id: found.id.clone(),
        lb_name: found.name.clone(),
        network_lb: is_network_lb(&found),
        window,
        start: start as f64,
        end: end as f64,
        graphs,
        requests,
    })
}

/// One series as a chart.
pub fn graph(
    name: &str,
    matrix: &MetricMatrix,
    droplets: &[DropletKey],
    start: i64,
    end: i64,
) -> Graph {
    // An unlisted name (only through this function: `check_series` refuses them) is its own
    // title.
    let (title, unit) = describe(name)
        .map(|(t, u)| (t.to_string(), u))
        .unwrap_or_else(|| (name.to_string(), MetricUnit::Count));
    let per_droplet = series::is_per_droplet(name);
    let mut unmapped_lines = 0u32;
    let mut lines: Vec<GraphLine> = matrix
        .series
        .iter()
        .map(|s| {
            let droplet_id = if per_droplet {
                map_labels(&s.labels, droplets).ok()
            } else {
                None
            };
            if per_droplet && droplet_id.is_none() {
                unmapped_lines += 1;
            }
            GraphLine {
                label: line_label(&s.labels, droplet_id, droplets),
                labels: s.labels.clone(),
                droplet_id,
                y: Vec::new(),
            }
        })
        .collect();
    let samples: Vec<Vec<(i64, f64)>> = matrix.series.iter().map(|s| s.samples.clone()).collect();
    let (x, ys, step) = downsample(&samples, start, end, MAX_POINTS);
    for (line, y) in lines.iter_mut().zip(ys) {
        line.y = y;
    }
    // A stable legend: by label.
    lines.sort_by(|a, b| a.label.cmp(&b.label));
    Graph {
        series: name.to_string(),
        title,
        unit,
        per_droplet,
        x,
        lines,
        step_seconds: step as f64,
        unmapped_lines,
    }
}

/// The legend of a line: the droplet's name, with the response class when there is one;
/// else the labels other than the load balancer's id; else "all".
fn line_label(
    labels: &BTreeMap<String, String>,
    droplet_id: Option<u64>,
    droplets: &[DropletKey],
) -> String {
    let code = labels.get("code").cloned();
    if let Some(d) = droplet_id.and_then(|id| droplets.iter().find(|d| d.id == id)) {
        let name = if d.name.is_empty() {
            d.id.to_string()
        } else {
            d.name.clone()
        };
        return match code {
            Some(c) => format!("{name} {c}"),
            None => name,
        };
    }
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "lb_id" | "load_balancer_id" | "__name__"))
        .map(|(k, v)| {
            if k == "code" {
                v.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if rest.is_empty() {
        "all".to_string()
    } else {
        rest.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn keys() -> Vec<DropletKey> {
        vec![
            DropletKey {
                id: 101,
                name: "web-1".into(),
                ips: vec!["203.0.113.1".into(), "10.0.0.1".into()],
            },
            DropletKey {
                id: 102,
                name: "web-2".into(),
                ips: vec!["203.0.113.2".into(), "10.0.0.2".into()],
            },
        ]
    }

    #[test]
    fn labels_map_by_id_then_name_then_ip_then_any_label() {
        let k = keys();
        assert_eq!(map_labels(&labels(&[("droplet_id", "101")]), &k), Ok(101));
        assert_eq!(
            map_labels(&labels(&[("host_id", "droplet-102")]), &k),
            Ok(102)
        );
        // An id label outranks a name that says otherwise.
        assert_eq!(
            map_labels(&labels(&[("droplet_id", "101"), ("server", "web-2")]), &k),
            Ok(101)
        );
        assert_eq!(map_labels(&labels(&[("server", "web-2")]), &k), Ok(102));
        assert_eq!(
            map_labels(&labels(&[("server", "10.0.0.1:8080")]), &k),
            Ok(101)
        );
        assert_eq!(
            map_labels(&labels(&[("backend_ip", "203.0.113.2")]), &k),
            Ok(102)
        );
        assert_eq!(map_labels(&labels(&[("whatever", "web-1")]), &k), Ok(101));
        // lb_id never names a droplet, even when it looks like an id.
        assert!(map_labels(&labels(&[("lb_id", "101")]), &k).is_err());
    }

    #[test]
    fn unmappable_and_ambiguous_labels_say_why() {
        let k = keys();
        let err = map_labels(&labels(&[("droplet_id", "999")]), &k).unwrap_err();
        assert!(err.contains("droplet_id=999"), "{err}");
        let err = map_labels(&labels(&[("a", "web-1"), ("b", "web-2")]), &k).unwrap_err();
        assert!(err.contains("2 droplets"), "{err}");
        assert!(map_labels(&BTreeMap::new(), &k).is_err());
    }

    fn lb(lb_type: Option<&str>) -> LoadBalancer {
        let mut v = serde_json::json!({"id": "lb-1", "name": "shop", "ip": "", "status": "active",
            "created_at": "", "forwarding_rules": [], "droplet_ids": [101, 102, 103]});
        if let Some(t) = lb_type {
            v["type"] = serde_json::json!(t);
        }
        serde_json::from_value(v).unwrap()
    }

    fn droplet(id: u64, name: &str, ip: &str) -> Droplet {
        serde_json::from_value(
            serde_json::json!({"id": id, "name": name, "networks": {"v4": [
            {"ip_address": ip, "type": "public", "netmask": "255.255.255.0", "gateway": ""}]}}),
        )
        .unwrap()
    }

    fn series(labels_: &[(&str, &str)], samples: Vec<(i64, f64)>) -> MetricSeries {
        MetricSeries {
            labels: labels(labels_),
            samples,
        }
    }

    #[test]
    fn the_report_maps_series_and_lists_what_it_could_not() {
        let members = [
            droplet(101, "web-1", "203.0.113.1"),
            droplet(102, "web-2", "203.0.113.2"),
            droplet(103, "web-3", "203.0.113.3"),
        ];
        let end = 10_000;
        let ts: Vec<i64> = (0..10).map(|i| end - 1200 + i * 120).collect();
        let up: Vec<(i64, f64)> = ts.iter().map(|t| (*t, 1.0)).collect();
        let down_last_half: Vec<(i64, f64)> = ts
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, if i < 5 { 1.0 } else { 0.0 }))
            .collect();
        let checks = MetricMatrix {
            series: vec![
                series(&[("droplet_id", "101")], up.clone()),
                series(&[("server", "203.0.113.2:443")], down_last_half.clone()),
                // An extra label set naming nobody.
                series(&[("server", "198.51.100.9:80")], up.clone()),
            ],
            skipped_samples: 0,
        };
        let downtime = MetricMatrix {
            series: vec![series(
                &[("droplet_id", "102")],
                down_last_half.iter().map(|(t, v)| (*t, 1.0 - v)).collect(),
            )],
            skipped_samples: 0,
        };
        let conns = MetricMatrix {
            series: vec![
                series(
                    &[("droplet_id", "101"), ("port", "80")],
                    vec![(end - 60, 3.0)],
                ),
                series(
                    &[("droplet_id", "101"), ("port", "443")],
                    vec![(end - 60, 4.0)],
                ),
            ],
            skipped_samples: 0,
        };
        let p95 = MetricMatrix {
            series: vec![series(
                &[("droplet_id", "101")],
                vec![(end - 120, f64::NAN), (end - 60, 0.25)],
            )],
            skipped_samples: 0,
        };
        let names = [
            series::DROPLETS_HEALTH_CHECKS,
            series::DROPLETS_DOWNTIME,
            series::DROPLETS_CONNECTIONS,
            series::DROPLETS_HTTP_RESPONSE_TIME_95P,
        ];
        let r = health_report(
            &lb(None),
            &members,
            MetricsWindow::Hour,
            end - 3600,
            end,
            &names,
            &[checks, downtime, conns, p95],
        );
        let by = |id: u64| r.droplets.iter().find(|d| d.droplet_id == id).unwrap();
        assert_eq!(by(101).state, HealthState::Healthy);
        assert_eq!(by(101).pass_ratio, Some(1.0));
        assert_eq!(by(101).downtime_seconds, Some(0.0));
        assert_eq!(by(101).connections, Some(7.0));
        assert_eq!(by(101).p95_response_seconds, Some(0.25));
        assert_eq!(by(102).state, HealthState::Unhealthy);
        assert_eq!(by(102).pass_ratio, Some(0.5));
        // Five two-minute samples down, the last until the window's end (capped at a step).
        assert_eq!(by(102).downtime_seconds, Some(600.0));
        assert_eq!(by(103).state, HealthState::Unknown);
        assert_eq!(by(103).pass_ratio, None);
        assert!(!r.all_healthy);
        assert_eq!(r.unmapped.len(), 1);
        assert_eq!(r.unmapped[0].series, series::DROPLETS_HEALTH_CHECKS);
        assert_eq!(r.unmapped[0].labels["server"], "198.51.100.9:80");
    }

    #[test]
    fn a_stale_last_sample_is_unknown() {
        let key = &keys()[0];
        let h = health_of(key, None, &[(1000, 1.0)], None, &[], &[], 1000 + 3600);
        assert_eq!(h.state, HealthState::Unknown);
        assert_eq!(h.pass_ratio, Some(1.0));
    }

    #[test]
    fn downsampling_keeps_at_most_max_points_and_averages_buckets() {
        // A week of two-minute samples: 5,041 points → ≤ 300.
        let start = 1_700_000_000;
        let end = start + 7 * 86_400;
        let line: Vec<(i64, f64)> = (0..=5040).map(|i| (start + i * 120, i as f64)).collect();
        let (x, ys, step) = downsample(std::slice::from_ref(&line), start, end, MAX_POINTS);
        assert!(x.len() <= MAX_POINTS, "{}", x.len());
        assert!(x.len() >= MAX_POINTS - 1);
        assert_eq!(ys[0].len(), x.len());
        assert!(step >= 7 * 86_400 / 300);
        // Each bucket is the mean of its samples: increasing, no gaps.
        assert!(ys[0].iter().all(Option::is_some));
        assert!(ys[0].windows(2).all(|w| w[0] < w[1]));
        // An hour of two-minute samples is not split finer than the data (no artificial gaps).
        let hour: Vec<(i64, f64)> = (0..30).map(|i| (start + 60 + i * 120, 1.0)).collect();
        let (x, ys, step) = downsample(&[hour], start, start + 3600, MAX_POINTS);
        assert_eq!(step, 120);
        assert_eq!(x.len(), 30);
        assert!(ys[0].iter().all(Option::is_some));
    }

    #[test]
    fn gaps_and_nan_become_none_and_lines_share_x() {
        let a = vec![(0, 1.0), (120, f64::NAN), (240, 3.0), (360, f64::INFINITY)];
        let b = vec![(0, 5.0), (360, 6.0), (9_999, 7.0)];
        let (x, ys, step) = downsample(&[a, b], 0, 480, 300);
        assert_eq!(step, 120);
        assert_eq!(x, vec![0.0, 120.0, 240.0, 360.0]);
        assert_eq!(ys[0], vec![Some(1.0), None, Some(3.0), None]);
        assert_eq!(ys[1], vec![Some(5.0), None, None, Some(6.0)]);
        // No data at all: one empty bucket per step, all gaps.
        let (x, ys, _) = downsample(&[vec![]], 0, 600, 300);
        assert!(x.len() <= 300);
        assert!(ys[0].iter().all(Option::is_none));
    }

    #[test]
    fn series_fit_the_load_balancer_type() {
        let regional = lb(None);
        let network = lb(Some("REGIONAL_NETWORK"));
        assert!(check_series(&regional, series::FRONTEND_HTTP_RESPONSES).is_ok());
        assert!(check_series(&network, series::FRONTEND_HTTP_RESPONSES).is_err());
        assert!(check_series(&network, series::FRONTEND_NLB_TCP_NETWORK_THROUGHPUT).is_ok());
        assert!(check_series(&regional, series::FRONTEND_FIREWALL_DROPPED_BYTES).is_err());
        assert!(check_series(&regional, "nope").is_err());
        assert!(default_series(&network)
            .iter()
            .all(|s| !series::is_http_only(s)));
        assert!(default_series(&regional)
            .iter()
            .all(|s| !series::is_nlb_only(s)));
        for s in series::ALL {
            assert!(describe(s).is_some(), "{s}");
        }
    }

    #[test]
    fn a_refused_metrics_request_names_the_scope() {
        let err = scope_hint(ApiError::new(
            ErrorCode::Forbidden,
            "You are not authorized to perform this operation.",
        ));
        assert!(err.message.contains("monitoring:read"), "{}", err.message);
        assert_eq!(err.details.unwrap()["scope"], "monitoring:read");
        let other = scope_hint(ApiError::new(ErrorCode::Server, "boom"));
        assert_eq!(other.message, "boom");
    }

    #[test]
    fn windows_parse_and_round_trip() {
        for w in MetricsWindow::ALL {
            assert_eq!(w.as_str().parse::<MetricsWindow>().unwrap(), w);
            assert_eq!(
                serde_json::to_value(w).unwrap(),
                serde_json::json!(w.as_str())
            );
        }
        assert!("2h".parse::<MetricsWindow>().is_err());
        assert_eq!(
            MetricsWindow::Week.range(1_000_000),
            (1_000_000 - 604_800, 1_000_000)
        );
    }

    #[test]
    fn graph_lines_are_labelled_by_droplet_and_class() {
        let m = MetricMatrix {
            series: vec![
                series(
                    &[("lb_id", "x"), ("droplet_id", "102"), ("code", "5xx")],
                    vec![(0, 1.0)],
                ),
                series(&[("lb_id", "x"), ("droplet_id", "777")], vec![(0, 2.0)]),
            ],
            skipped_samples: 0,
        };
        let g = graph(series::DROPLETS_HTTP_RESPONSES, &m, &keys(), 0, 3600);
        let labels: Vec<&str> = g.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["droplet_id=777", "web-2 5xx"]);
        assert_eq!(g.unmapped_lines, 1);
        assert_eq!(g.unit, MetricUnit::PerSecond);
        let f = graph(
            series::FRONTEND_CPU_UTILIZATION,
            &MetricMatrix {
                series: vec![series(&[("lb_id", "x")], vec![(0, 2.0)])],
                skipped_samples: 0,
            },
            &[],
            0,
            3600,
        );
        assert_eq!(f.lines[0].label, "all");
        assert_eq!(f.title, "CPU");
    }
}
