//! Live counters, the snapshot the UI polls, and the events it can stream.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::BackendConfig;

/// Is a backend in rotation?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum BackendHealth {
    Healthy,
    /// Failed its active health check `unhealthy_threshold` times in a row.
    Unhealthy,
    /// A connect to it failed just now; out of rotation for a short while or until a check passes.
    Failing,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Relayed to a backend until one side closed.
    Relayed,
    /// Relayed, then ended by a reset or error on one side.
    RelayError,
    /// Relayed, then closed after no bytes moved for the idle timeout.
    IdleTimeout,
    /// Relayed, then cut when the balancer stopped and the drain deadline passed.
    Drained,
    UnknownSni,
    NoSni,
    NotTls,
    ClientHelloTooLarge,
    ClientHelloTimeout,
    ClientHelloIncomplete,
    /// No backend was healthy: closed at once.
    NoHealthyBackend,
    /// Every healthy backend refused or timed out.
    BackendConnectFailed,
    /// Over `max_connections`: closed at once.
    OverConnectionLimit,
    /// This machine could not open the connection to the backend (out of file descriptors,
    /// ports or memory): closed, and not counted against any backend.
    LocalError,
}

impl Outcome {
    /// Whether the connection was refused rather than relayed.
    pub fn is_refused(self) -> bool {
        !matches!(
            self,
            Outcome::Relayed | Outcome::RelayError | Outcome::IdleTimeout | Outcome::Drained
        )
    }
}

/// One line of the connection log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRecord {
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: u64,
    /// When the connection was accepted (RFC 3339, UTC).
    pub time: String,
    pub client: String,
    pub sni: Option<String>,
    /// The backend's name.
    pub backend: Option<String>,
    pub duration_ms: f64,
    /// Bytes from the client to the backend.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_in: u64,
    /// Bytes from the backend to the client.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_out: u64,
    pub outcome: Outcome,
}

/// What the handle streams through [`crate::BalancerHandle::subscribe`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BalancerEvent {
    #[serde(rename_all = "camelCase")]
    ConnectionOpened {
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        id: u64,
        time: String,
        client: String,
        sni: Option<String>,
        backend: String,
    },
    ConnectionClosed(ConnectionRecord),
    #[serde(rename_all = "camelCase")]
    BackendHealthChanged {
        time: String,
        backend: String,
        health: BackendHealth,
        /// Why: the check result or the connect error.
        reason: String,
    },
}

/// Per-backend figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BackendStats {
    pub name: String,
    pub addr: String,
    pub display: Option<String>,
    pub health: BackendHealth,
    /// The last health-check result or connect error, in words.
    pub last_check: Option<String>,
    /// Latency of the last connect or health check.
    pub latency_last_ms: Option<f64>,
    pub latency_avg_ms: Option<f64>,
    pub active_connections: u32,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total_connections: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub connect_failures: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_in: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_out: u64,
}

/// Everything at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub listen: String,
    pub redirect_listen: Option<String>,
    pub uptime_ms: f64,
    pub backends: Vec<BackendStats>,
    pub active_connections: u32,
    /// Connections accepted, relayed or not.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total_connections: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub relayed_connections: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub refused_connections: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_in: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_out: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub redirects: u64,
}

/// How long a backend stays out after a failed connect when no health check brings it back.
pub(crate) const PASSIVE_FAIL_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections in a row a backend may reset or close before answering before it is
/// taken out for [`PASSIVE_FAIL_TIMEOUT`] (a refused or timed-out connect takes it out at once:
/// nothing is listening; a reset may be one bad connection, three in a row are not).
pub(crate) const PASSIVE_FAIL_THRESHOLD: u32 = 3;

#[derive(Default)]
struct Latency {
    last_ms: Option<f64>,
    sum_ms: f64,
    count: u32,
}

/// A backend's live state, shared by the accept loop, connections and health checks.
pub(crate) struct BackendState {
    pub config: BackendConfig,
    /// Result of the active health checks (true until they say otherwise).
    pub active_healthy: AtomicBool,
    /// Milliseconds since `Shared::epoch` until which a failed connect keeps it out; 0 = not.
    pub failing_until_ms: AtomicU64,
    /// Connections in a row that it reset or closed before answering.
    pub consecutive_failures: AtomicU32,
    pub active: AtomicU32,
    pub total: AtomicU64,
    pub connect_failures: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    latency: Mutex<Latency>,
    last_check: Mutex<Option<String>>,
}

impl BackendState {
    pub fn new(config: BackendConfig) -> Self {
        Self {
            config,
            active_healthy: AtomicBool::new(true),
            failing_until_ms: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            active: AtomicU32::new(0),
            total: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            latency: Mutex::new(Latency::default()),
            last_check: Mutex::new(None),
        }
    }

    pub fn health(&self, now_ms: u64) -> BackendHealth {
        if !self.active_healthy.load(Ordering::Relaxed) {
            BackendHealth::Unhealthy
        } else if self.failing_until_ms.load(Ordering::Relaxed) > now_ms {
            BackendHealth::Failing
        } else {
            BackendHealth::Healthy
        }
    }

    pub fn record_latency(&self, latency: Duration) {
        let ms = latency.as_secs_f64() * 1000.0;
        if let Ok(mut l) = self.latency.lock() {
            l.last_ms = Some(ms);
            l.sum_ms += ms;
            l.count = l.count.saturating_add(1);
        }
    }

    pub fn set_last_check(&self, text: String) {
        if let Ok(mut c) = self.last_check.lock() {
            *c = Some(text);
        }
    }

    pub fn snapshot(&self, now_ms: u64) -> BackendStats {
        let (latency_last_ms, latency_avg_ms) = match self.latency.lock() {
            Ok(l) if l.count > 0 => (l.last_ms, Some(l.sum_ms / f64::from(l.count))),
            _ => (None, None),
        };
        BackendStats {
            name: self.config.name.clone(),
            addr: self.config.addr.to_string(),
            display: self.config.display.clone(),
            health: self.health(now_ms),
            last_check: self.last_check.lock().ok().and_then(|c| c.clone()),
            latency_last_ms,
            latency_avg_ms,
            active_connections: self.active.load(Ordering::Relaxed),
            total_connections: self.total.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Totals across backends.
#[derive(Default)]
pub(crate) struct Totals {
    pub active: AtomicU32,
    pub total: AtomicU64,
    pub relayed: AtomicU64,
    pub refused: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub redirects: AtomicU64,
}

/// The current time as RFC 3339 (UTC), for logs and events.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}
