//! Listening, routing, selection and the handle (mini-redis's `run(listener, shutdown)` shape:
//! a Semaphore caps connections, a token stops the accept loop, a tracker drains).

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Algorithm, BalancerConfig, DomainSet};
use crate::hello::{read_client_hello, HelloOutcome};
use crate::limits::{is_local_exhaustion, AcceptErrors, ConnectionLimit};
use crate::relay::Side;
use crate::relay::{relay, tune_client_socket, Counters, RelayEnd};
use crate::stats::{
    millis_since, now_rfc3339, BackendHealth, BackendState, BalancerEvent, ConnectionRecord,
    Outcome, StatsSnapshot, Totals, PASSIVE_FAIL_THRESHOLD, PASSIVE_FAIL_TIMEOUT,
};
use crate::BalancerError;

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_CAPACITY: usize = 4096;

/// State shared by every task of one balancer.
pub(crate) struct Shared {
    pub config: BalancerConfig,
    pub domains: DomainSet,
    pub backends: Vec<BackendState>,
    pub totals: Totals,
    pub epoch: Instant,
    pub events: broadcast::Sender<BalancerEvent>,
    pub check_tls: Arc<rustls::ClientConfig>,
    rr: AtomicUsize,
    next_id: AtomicU64,
    local_addr: SocketAddr,
    redirect_addr: Option<SocketAddr>,
    connection_limit: ConnectionLimit,
}

impl Shared {
    /// Sends an event only when someone listens (building one costs a timestamp and strings).
    fn emit(&self, event: impl FnOnce() -> BalancerEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event());
        }
    }

    pub(crate) fn health_changed(&self, idx: usize, health: BackendHealth, reason: String) {
        let backend = &self.backends[idx].config;
        tracing::info!(backend = %backend.name, ?health, %reason, "backend health changed");
        self.emit(|| BalancerEvent::BackendHealthChanged {
            time: now_rfc3339(),
            backend: backend.name.clone(),
            health,
            reason,
        });
    }

    /// Passive failure marking: a failed connect takes the backend out for a while.
    fn mark_failing(&self, idx: usize, reason: String) {
        let backend = &self.backends[idx];
        backend.connect_failures.fetch_add(1, Ordering::Relaxed);
        // On probation once back: the next failure takes it out again at once; an answered
        // connection clears it.
        backend
            .consecutive_failures
            .store(PASSIVE_FAIL_THRESHOLD - 1, Ordering::Relaxed);
        let now = millis_since(self.epoch);
        let until = now + PASSIVE_FAIL_TIMEOUT.as_millis() as u64;
        let before = backend.health(now);
        backend.failing_until_ms.store(until, Ordering::Relaxed);
        backend.set_last_check(reason.clone());
        if before == BackendHealth::Healthy {
            self.health_changed(idx, BackendHealth::Failing, reason);
        }
    }

    /// A connection the backend reset or closed before answering: the backend is taken out
    /// when [`PASSIVE_FAIL_THRESHOLD`] come in a row.
    fn backend_failed_connection(&self, idx: usize, reason: String) {
        let backend = &self.backends[idx];
        let in_a_row = backend.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if in_a_row >= PASSIVE_FAIL_THRESHOLD {
            self.mark_failing(idx, format!("{reason} ({in_a_row} connections in a row)"));
        } else {
            backend.set_last_check(reason);
        }
    }

    /// The healthy backends in the order to try them.
    fn candidates(&self, client: IpAddr) -> Vec<usize> {
        let now = millis_since(self.epoch);
        let healthy: Vec<usize> = (0..self.backends.len())
            .filter(|&i| self.backends[i].health(now) == BackendHealth::Healthy)
            .collect();
        if healthy.is_empty() {
            return healthy;
        }
        let start = match self.config.algorithm {
            Algorithm::RoundRobin | Algorithm::LeastConnections => {
                self.rr.fetch_add(1, Ordering::Relaxed)
            }
            Algorithm::SourceHash => {
                // SipHash with fixed zero keys: stable across runs, unlike RandomState.
                let mut hasher = std::hash::DefaultHasher::new();
                client.hash(&mut hasher);
                hasher.finish() as usize
            }
        } % healthy.len();
        let mut order: Vec<usize> = healthy[start..]
            .iter()
            .chain(&healthy[..start])
            .copied()
            .collect();
        if self.config.algorithm == Algorithm::LeastConnections {
            // Stable: ties keep the round-robin rotation.
            order.sort_by_key(|&i| self.backends[i].active.load(Ordering::Relaxed));
        }
        order
    }

    /// Host name used by HTTP(S) health checks: the first exact domain (explicit and shown in the
    /// check result, so a check never silently uses a different SNI than traffic), else the IP.
    pub(crate) fn check_host(&self, addr: SocketAddr) -> String {
        self.config
            .domains
            .iter()
            .find(|d| !d.starts_with("*."))
            .map(|d| cutover_domain::normalize(d))
            .unwrap_or_else(|| addr.ip().to_string())
    }

    fn snapshot(&self) -> StatsSnapshot {
        let now = millis_since(self.epoch);
        let t = &self.totals;
        StatsSnapshot {
            listen: self.local_addr.to_string(),
            redirect_listen: self.redirect_addr.map(|a| a.to_string()),
            uptime_ms: self.epoch.elapsed().as_secs_f64() * 1000.0,
            backends: self.backends.iter().map(|b| b.snapshot(now)).collect(),
            active_connections: t.active.load(Ordering::Relaxed),
            total_connections: t.total.load(Ordering::Relaxed),
            relayed_connections: t.relayed.load(Ordering::Relaxed),
            refused_connections: t.refused.load(Ordering::Relaxed),
            bytes_in: t.bytes_in.load(Ordering::Relaxed),
            bytes_out: t.bytes_out.load(Ordering::Relaxed),
            redirects: t.redirects.load(Ordering::Relaxed),
        }
    }
}

/// Entry point: `Balancer::start(config)`.
pub struct Balancer;

impl Balancer {
    /// Validates `config`, binds the listener(s) right away (so a port in use or a privileged
    /// port is reported here, not later), and starts serving on the current Tokio runtime.
    pub fn start(config: BalancerConfig) -> Result<BalancerHandle, BalancerError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| BalancerError::NoRuntime)?;
        let _guard = runtime.enter();
        config.validate()?;
        let domains = DomainSet::parse(&config.domains)?;
        let check_tls =
            crate::health::check_tls_config().map_err(|e| BalancerError::Tls(e.to_string()))?;
        let listener = bind(config.listen)?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| BalancerError::from_bind(config.listen, e))?;
        let redirect_listener = match config.redirect_http_listen {
            Some(addr) => Some(bind(addr)?),
            None => None,
        };
        let redirect_addr = match &redirect_listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| BalancerError::from_bind(local_addr, e))?,
            ),
            None => None,
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let connection_limit =
            crate::limits::connection_limit(config.max_connections, config.backends.len());
        match &connection_limit.note {
            Some(note) if connection_limit.effective < connection_limit.configured => {
                tracing::warn!(listen = %local_addr, "{note}");
            }
            Some(note) => tracing::info!(listen = %local_addr, "{note}"),
            None => {}
        }
        let limit = Arc::new(Semaphore::new(connection_limit.effective as usize));
        let shared = Arc::new(Shared {
            backends: config
                .backends
                .iter()
                .cloned()
                .map(BackendState::new)
                .collect(),
            domains,
            totals: Totals::default(),
            epoch: Instant::now(),
            events,
            check_tls,
            rr: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            local_addr,
            redirect_addr,
            connection_limit,
            config,
        });
        let shutdown = CancellationToken::new();
        let kill = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut background = Vec::new();
        background.push(tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            limit,
            shutdown.clone(),
            kill.clone(),
            tracker.clone(),
        )));
        if let Some(listener) = redirect_listener {
            background.push(tokio::spawn(redirect_loop(
                listener,
                shared.clone(),
                shutdown.clone(),
                tracker.clone(),
            )));
        }
        if let Some(check) = shared.config.health_check.clone() {
            for idx in 0..shared.backends.len() {
                background.push(tokio::spawn(crate::health::run(
                    shared.clone(),
                    idx,
                    check.clone(),
                    shutdown.clone(),
                )));
            }
        }
        if !local_addr.ip().to_canonical().is_loopback() {
            // Validation let it through because `allow_public_listen` was set: still say so.
            tracing::warn!(listen = %local_addr, "the balancer listens on a non-loopback address: other machines can reach it");
        }
        tracing::info!(listen = %local_addr, redirect = ?redirect_addr, "balancer listening");
        Ok(BalancerHandle {
            shared,
            shutdown,
            kill,
            tracker,
            background,
        })
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, BalancerError> {
    let err = |e| BalancerError::from_bind(addr, e);
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    // On Unix this only allows rebinding over TIME_WAIT; on Windows it would allow stealing a
    // port in use, so it stays off there.
    #[cfg(unix)]
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

/// The running balancer. Dropping it stops everything at once; [`BalancerHandle::stop`] drains.
pub struct BalancerHandle {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    kill: CancellationToken,
    tracker: TaskTracker,
    background: Vec<JoinHandle<()>>,
}

impl BalancerHandle {
    /// The address really bound (the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.shared.redirect_addr
    }

    pub fn config(&self) -> &BalancerConfig {
        &self.shared.config
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.shared.snapshot()
    }

    /// How many connections are allowed at once: `max_connections`, or fewer when the
    /// open-files limit cannot hold that many (the note says so).
    pub fn connection_limit(&self) -> &ConnectionLimit {
        &self.shared.connection_limit
    }

    /// Live events: connections opened and closed (the connection log) and health changes.
    pub fn subscribe(&self) -> broadcast::Receiver<BalancerEvent> {
        self.shared.events.subscribe()
    }

    /// Stops accepting, lets open connections finish for up to `drain_deadline`, cuts the rest,
    /// and returns the final figures.
    pub async fn stop(mut self, drain_deadline: Duration) -> StatsSnapshot {
        self.shutdown.cancel();
        for task in self.background.drain(..) {
            let _ = task.await;
        }
        self.tracker.close();
        if tokio::time::timeout(drain_deadline, self.tracker.wait())
            .await
            .is_err()
        {
            self.kill.cancel();
            self.tracker.wait().await;
        }
        tracing::info!(listen = %self.shared.local_addr, "balancer stopped");
        self.shared.snapshot()
    }
}

impl Drop for BalancerHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.kill.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    shutdown: CancellationToken,
    kill: CancellationToken,
    tracker: TaskTracker,
) {
    let mut errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => {
                errors.succeeded();
                x
            }
            Err(e) => {
                // Out of file descriptors (or similar): the pending connection stays queued and
                // the listener stays readable, so wait (longer each time) instead of spinning.
                let (wait, line) = errors.failed(&e, Instant::now());
                if let Some(line) = line {
                    tracing::warn!(listen = %shared.local_addr, "{line}");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        shared.totals.total.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            // Over the limit: close at once rather than queue.
            drop(stream);
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            shared.totals.refused.fetch_add(1, Ordering::Relaxed);
            shared.emit(|| {
                BalancerEvent::ConnectionClosed(ConnectionRecord {
                    id,
                    time: now_rfc3339(),
                    client: peer.to_string(),
                    sni: None,
                    backend: None,
                    duration_ms: 0.0,
                    bytes_in: 0,
                    bytes_out: 0,
                    outcome: Outcome::OverConnectionLimit,
                })
            });
            continue;
        };
        tracker.spawn(connection(
            shared.clone(),
            stream,
            peer,
            permit,
            kill.clone(),
        ));
    }
}

async fn redirect_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let mut errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, _)) => {
                errors.succeeded();
                tracker.spawn(crate::redirect::serve(shared.clone(), stream));
            }
            Err(e) => {
                let (wait, line) = errors.failed(&e, Instant::now());
                if let Some(line) = line {
                    tracing::warn!("{line} (on the HTTP redirect listener)");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// What one connection learned, readable after it was cut.
#[derive(Default)]
struct ConnState {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    sni: OnceLock<String>,
    backend: OnceLock<usize>,
}

/// Decrements a counter when the connection ends, however it ends.
struct ActiveGuard<'a>(&'a AtomicU32);
impl<'a> ActiveGuard<'a> {
    fn new(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}
impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    kill: CancellationToken,
) {
    let started = Instant::now();
    let time = (shared.events.receiver_count() > 0).then(now_rfc3339);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let _active = ActiveGuard::new(&shared.totals.active);
    let state = ConnState::default();
    let outcome = tokio::select! {
        o = serve(&shared, &mut stream, peer, id, &state) => o,
        _ = kill.cancelled() => Outcome::Drained,
    };
    if outcome.is_refused() {
        shared.totals.refused.fetch_add(1, Ordering::Relaxed);
    } else {
        shared.totals.relayed.fetch_add(1, Ordering::Relaxed);
    }
    let backend = state
        .backend
        .get()
        .map(|&i| shared.backends[i].config.name.clone());
    tracing::debug!(id, client = %peer, sni = ?state.sni.get(), ?backend, ?outcome, "connection closed");
    shared.emit(|| {
        BalancerEvent::ConnectionClosed(ConnectionRecord {
            id,
            time: time.unwrap_or_else(now_rfc3339),
            client: peer.to_string(),
            sni: state.sni.get().cloned(),
            backend,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            bytes_in: state.bytes_in.load(Ordering::Relaxed),
            bytes_out: state.bytes_out.load(Ordering::Relaxed),
            outcome,
        })
    });
}

async fn serve(
    shared: &Shared,
    stream: &mut TcpStream,
    peer: SocketAddr,
    id: u64,
    state: &ConnState,
) -> Outcome {
    let config = &shared.config;
    tune_client_socket(stream, peer);
    let (hello, mut prefix) = read_client_hello(stream, config.client_hello_timeout()).await;
    match hello {
        HelloOutcome::Sni(name) => {
            let known = shared.domains.matches(&name);
            let _ = state.sni.set(name);
            if !known {
                return Outcome::UnknownSni;
            }
        }
        HelloOutcome::NoSni if config.allow_no_sni => {}
        HelloOutcome::NoSni => return Outcome::NoSni,
        HelloOutcome::NotTls => return Outcome::NotTls,
        HelloOutcome::TooLarge => return Outcome::ClientHelloTooLarge,
        HelloOutcome::Timeout => return Outcome::ClientHelloTimeout,
        HelloOutcome::Incomplete => return Outcome::ClientHelloIncomplete,
    }
    let order = shared.candidates(peer.ip());
    if order.is_empty() {
        return Outcome::NoHealthyBackend;
    }
    let hello_len = prefix.len();
    if let Some(version) = config.proxy_protocol {
        let local = stream.local_addr().unwrap_or(shared.local_addr);
        let mut with_header = crate::proxy_header::header(version, peer, local);
        with_header.extend_from_slice(&prefix);
        prefix = with_header;
    }
    for idx in order {
        let backend = &shared.backends[idx];
        let addr = backend.config.addr;
        let t0 = Instant::now();
        let mut upstream =
            match tokio::time::timeout(config.connect_timeout(), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) if is_local_exhaustion(&e) => {
                    // This machine is out of descriptors or ports: the backend is not at fault,
                    // and every other backend would fail the same way.
                    tracing::debug!(id, backend = %backend.config.name, "connect failed here: {e}");
                    return Outcome::LocalError;
                }
                Ok(Err(e)) => {
                    shared.mark_failing(idx, format!("connect to {addr} failed: {e}"));
                    continue;
                }
                Err(_) => {
                    shared.mark_failing(
                        idx,
                        format!(
                            "connect to {addr} timed out after {} ms",
                            config.connect_timeout_ms
                        ),
                    );
                    continue;
                }
            };
        backend.record_latency(t0.elapsed());
        let _ = upstream.set_nodelay(true);
        // Nothing has gone back to the client yet, so a failure here can still be retried.
        if let Err(e) = upstream.write_all(&prefix).await {
            shared.backend_failed_connection(idx, format!("{addr} reset the connection: {e}"));
            continue;
        }
        // The hello buffer is not needed any more: free it before a possibly long idle relay.
        drop(std::mem::take(&mut prefix));
        let _ = state.backend.set(idx);
        backend.total.fetch_add(1, Ordering::Relaxed);
        let _backend_active = ActiveGuard::new(&backend.active);
        let up = Counters {
            conn: &state.bytes_in,
            backend: &backend.bytes_in,
            total: &shared.totals.bytes_in,
        };
        up.add(hello_len);
        shared.emit(|| BalancerEvent::ConnectionOpened {
            id,
            time: now_rfc3339(),
            client: peer.to_string(),
            sni: state.sni.get().cloned(),
            backend: backend.config.name.clone(),
        });
        let down = Counters {
            conn: &state.bytes_out,
            backend: &backend.bytes_out,
            total: &shared.totals.bytes_out,
        };
        let end = relay(stream, &mut upstream, up, down, config.idle_timeout()).await;
        // A TLS server answers a ClientHello (with its hello or an alert): one that resets or
        // closes without a byte is failing, even while it still accepts connections.
        let answered = state.bytes_out.load(Ordering::Relaxed) > 0;
        match end {
            RelayEnd::Error(Side::Backend) if !answered => shared.backend_failed_connection(
                idx,
                format!("{addr} reset the connection before answering"),
            ),
            RelayEnd::Closed {
                backend_first: true,
            } if !answered => shared.backend_failed_connection(
                idx,
                format!("{addr} closed the connection without answering"),
            ),
            _ if answered => backend.consecutive_failures.store(0, Ordering::Relaxed),
            _ => {}
        }
        return match end {
            RelayEnd::Closed { .. } => Outcome::Relayed,
            RelayEnd::Error(_) => Outcome::RelayError,
            RelayEnd::IdleTimeout => Outcome::IdleTimeout,
        };
    }
    Outcome::BackendConnectFailed
}
