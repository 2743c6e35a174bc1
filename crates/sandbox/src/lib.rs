//! The Sandbox: a simulated DigitalOcean API on 127.0.0.1 whose droplets are real TLS servers.
//!
//! Lets every feature of Cutover run without an account, and is how the end-to-end tests run
//! without internet. [`Sandbox::start`] brings up:
//! - an HTTP API (axum) implementing the endpoints Cutover's client uses, in DigitalOcean's
//!   shapes, with its behaviours (202 + `new`→`active`, the busy 403, 422 from the shared
//!   validator, `validate_only`, pagination links, rate-limit headers, 429s on demand);
//! - a certificate authority ("Cutover Sandbox CA") and, for every droplet, an HTTPS server and
//!   a plain-HTTP server on 127.0.0.1 with OS-assigned ports. Droplets have distinct public IPv4s
//!   in the loopback range (127.0.0.11, …) for display; [`SandboxHandle::backend_addr`] maps a
//!   droplet and port (443/80) to the real listening address;
//! - an authoritative DNS server on 127.0.0.1 (UDP and TCP, [`SandboxHandle::dns_addr`]) that
//!   answers A/AAAA/CNAME/NS/SOA/TXT from the domains' records as the API changes them.
//!
//! The seeded account has fixed ids (the constants re-exported here): droplets `web-1..3`
//! (tag `web`; web-1 and web-2 serve the same certificate for `sandbox-shop.test` and
//! `*.sandbox-shop.test`, web-3 its own, expiring in 3 days) and `api-1..2` (tag `api`, they
//! require a PROXY protocol header); load balancers `shop-passthrough` (HTTPS 443 → 443
//! passthrough), `blog-https` (HTTP 80 and HTTPS 443 with a Let's Encrypt certificate, redirect
//! on) and `api-by-tag`; the domain `sandbox-shop.test` with records; regions, VPCs, tags.
//! Then the cases real accounts have (issue 15): `shop-tcp` (`tcp:443 → tcp:443` in front of
//! web-1..3), a network load balancer a DOKS cluster owns (worker droplets tagged `k8s:worker`,
//! NodePort targets, kube-proxy's health check), `www-dualstack` (an IPv6, and the zone
//! `v6.sandbox-shop.test` with A and AAAA records), `billing-internal` (`network: INTERNAL`),
//! `shop-global` (`type: GLOBAL` over shop-passthrough and `shop-ams3`, whose droplets are
//! `web-ams3-1..2`), Let's Encrypt
//! certificates, CAA records; attaching a Let's Encrypt certificate points an A record for its
//! names at the load balancer unless `disable_lets_encrypt_dns_records` is set.
//!
//! [`SandboxOptions::scale`] makes the account big ([`SandboxScale`]: load balancers, droplets
//! behind each, domain records; `CUTOVER_SANDBOX_SCALE=lbs=1000,droplets=200,records=5000`
//! through [`SandboxOptions::with_scale_from_env`]). Only the seeded droplets are servers of
//! their own; the generated ones all answer through one shared HTTPS + HTTP server pair.
//!
//! With a state file, every change is saved before it is answered: the Sandbox refuses to start
//! when the file cannot be written, and a write whose save fails gets DigitalOcean's 500.
//!
//! For use from another process, the same controls exist over HTTP, outside `/v2` and behind
//! the same bearer token: `GET /_sandbox/backends`, `GET /_sandbox/ca.pem`,
//! `POST /_sandbox/fail_next {"status":429,"count":2}`,
//! `POST /_sandbox/droplets/{id}/fix_certificate`,
//! `POST /_sandbox/droplets/{id}/power {"type":"power_off"}` (or `power_on`: its servers refuse
//! connections while off, its status is `off` and the monitoring series show it failing),
//! `POST /_sandbox/droplets/{id}/behaviour {"missing_paths":["/healthz"],"tls":false}` (any of
//! those and `expects_proxy_protocol`, `rejects_proxy_protocol`: see [`DropletBehaviour`]) and
//! `GET /_sandbox/requests` (monitoring requests answered so far).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod api;
pub mod ca;
mod dns;
pub mod droplet;
mod monitoring;
mod scale;
mod state;

pub use droplet::DropletBehaviour;
pub use scale::{
    SandboxScale, ScaleError, MAX_DROPLETS_PER_LB, MAX_LOAD_BALANCERS, MAX_RECORDS, SCALE_ENV,
};

pub use state::{
    API_1, API_2, CERT_BLOG_LE_ID, CERT_SHOP_CUSTOM_ID, DOMAIN, LB_API_ID, LB_BLOG_ID, LB_SHOP_ID,
    WEB_1, WEB_2, WEB_3,
};
// Issue 15's cases.
pub use state::{
    CERT_SHOP_LE_ID, CERT_WORLD_LE_ID, DUAL_DOMAIN, K8S_CLUSTER_ID, K8S_NODE_PORT_HTTP,
    K8S_NODE_PORT_HTTPS, K8S_WORKER_1, K8S_WORKER_2, K8S_WORKER_3, KUBE_PROXY_HEALTH_PORT,
    LB_AMS_ID, LB_DUAL_ID, LB_DUAL_IPV6, LB_GLOBAL_ID, LB_INTERNAL_ID, LB_INTERNAL_IP, LB_K8S_ID,
    LB_K8S_NAME, LB_TCP_ID, WEB_AMS_1, WEB_AMS_2,
};

use api::Shared;
use ca::SandboxCa;
use droplet::{DropletSpec, RunningDroplet};
use state::{CertProfile, State};

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the API listens; `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// Load the state from this JSON file if it exists, and save it there after every change
    /// and at shutdown.
    pub state_file: Option<PathBuf>,
    /// How long a new load balancer stays `new` (and a Let's Encrypt certificate `pending`).
    pub activation_delay: Duration,
    /// How long after a write a load balancer answers writes with the busy 403.
    pub busy_window: Duration,
    /// Added to every API request (for benchmarks).
    pub latency: Duration,
    /// The bearer token to accept; a random `sandbox-…` one when `None`.
    pub token: Option<String>,
    /// How big a new account is (the default: the seeded account as it is).
    pub scale: SandboxScale,
}

impl SandboxOptions {
    /// These options with the scale [`SCALE_ENV`] asks for, when it is set.
    pub fn with_scale_from_env(self) -> Result<Self, ScaleError> {
        Ok(match SandboxScale::from_env()? {
            Some(scale) => Self { scale, ..self },
            None => self,
        })
    }
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            state_file: None,
            activation_delay: Duration::from_secs(3),
            busy_window: Duration::from_secs(1),
            latency: Duration::ZERO,
            token: None,
            scale: SandboxScale::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not make a sandbox certificate: {0}")]
    Certificate(String),
    #[error("TLS configuration failed: {0}")]
    Tls(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox state file {path}: {reason}")]
    StateFile { path: PathBuf, reason: String },
    #[error("the sandbox has no droplet {0}")]
    UnknownDroplet(u64),
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),
}

/// One reachable backend: a droplet's port (443 or 80) and where it really listens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendEndpoint {
    pub droplet_id: u64,
    pub droplet_name: String,
    /// The droplet's public IPv4 as the API shows it (display only; nothing listens there).
    pub public_ipv4: Ipv4Addr,
    /// The droplet port this stands for: 443 (HTTPS) or 80 (HTTP).
    pub port: u16,
    /// Where to connect: 127.0.0.1 and an OS-assigned port.
    pub addr: SocketAddr,
    /// The droplet refuses connections that do not start with a PROXY protocol header.
    pub proxy_protocol: bool,
}

pub struct Sandbox;

impl Sandbox {
    /// Starts the droplets and the API; returns when both accept connections.
    pub async fn start(opts: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
        let ca = SandboxCa::new()?;
        let names = [DOMAIN.to_string(), format!("*.{DOMAIN}")];
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let fleet = ca.issue(&names, time::Duration::days(90))?;
        let odd = ca.issue(&names, time::Duration::days(3))?;

        let loaded = match &opts.state_file {
            Some(path) => State::load(path)?,
            None => None,
        };
        if loaded.is_some() && !opts.scale.is_seed_only() {
            tracing::warn!(
                "the state file's account is used as it is: the scale applies to a new account only"
            );
        }
        let mut state = loaded.unwrap_or_else(|| {
            let mut state = state::seed(&fleet);
            state::grow(&mut state, &opts.scale);
            state
        });
        state.refresh_fleet_certificate(&fleet);

        // Save before anything runs: a state file that cannot be written (disk full, read-only,
        // no permission) refuses the start instead of losing every change made in the run.
        if let Some(path) = opts.state_file.clone() {
            let snapshot = state.clone();
            let saved = tokio::task::spawn_blocking(move || state::save(&path, &snapshot))
                .await
                .map_err(|e| SandboxError::Io(std::io::Error::other(e.to_string())))?;
            saved.map_err(|err| SandboxError::StateFile {
                path: err.path.clone(),
                reason: format!(
                    "cannot be saved, so the Sandbox would lose every change: {}",
                    err.cause()
                ),
            })?;
        }

        let shutdown = CancellationToken::new();
        // Until the handle exists, an early return must stop what was started.
        let stop_on_error = shutdown.clone().drop_guard();
        let tasks = TaskTracker::new();
        let mut droplets = Vec::new();
        let mut pooled = Vec::new();
        for entry in &state.droplets {
            let spec = droplet_spec(entry)?;
            if entry.shared_server {
                pooled.push(spec);
                continue;
            }
            let cert = match entry.certificate {
                CertProfile::Fleet => &fleet,
                CertProfile::Odd => &odd,
            };
            let droplet =
                RunningDroplet::start(spec, cert, shutdown.clone(), tasks.clone()).await?;
            // What it was told (issue 16) survives a restart.
            droplet.set_behaviour(droplet::DropletBehaviour {
                expects_proxy_protocol: entry.expects_proxy_protocol,
                rejects_proxy_protocol: entry.rejects_proxy_protocol,
                missing_paths: entry.missing_paths.clone(),
                tls: !entry.plain_https,
            });
            // A droplet saved powered off stays off.
            if entry.droplet["status"] == "off" {
                droplet.power_off().await;
            }
            droplets.push(droplet);
        }
        // One server for all generated droplets: thousands of listeners would cost two file
        // descriptors each and seconds of start-up, and show nothing more.
        let pool = if pooled.is_empty() {
            None
        } else {
            let spec = DropletSpec {
                id: 0,
                name: format!("{} (shared server)", state::POOL_TAG),
                public_ipv4: Ipv4Addr::UNSPECIFIED,
                private_ipv4: Ipv4Addr::UNSPECIFIED,
                expects_proxy_protocol: false,
                rejects_proxy_protocol: false,
            };
            let server =
                RunningDroplet::start(spec, &fleet, shutdown.clone(), tasks.clone()).await?;
            Some(api::Pool {
                server,
                droplets: pooled,
            })
        };

        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: opts.listen,
                source,
            })?;
        let api_addr = listener.local_addr().map_err(SandboxError::Io)?;
        let token = opts.token.clone().unwrap_or_else(|| {
            let bytes: [u8; 16] = rand::random();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("sandbox-{hex}")
        });
        let shared = Arc::new(Shared::new(
            state,
            token,
            format!("http://{api_addr}"),
            &opts,
            droplets,
            pool,
            fleet,
            ca.pem().to_string(),
        ));

        let dns_addr = dns::start(shared.clone(), shutdown.clone(), tasks.clone()).await?;
        shared.set_dns_addr(dns_addr);

        let router = api::router(shared.clone());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            // Without TCP_NODELAY, Nagle + delayed ACKs add ~40 ms to responses written in parts.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!("sandbox API server stopped: {err}");
            }
        });
        tracing::info!(api = %api_addr, "sandbox started");
        stop_on_error.disarm();
        Ok(SandboxHandle {
            shared,
            shutdown,
            tasks,
        })
    }
}

fn droplet_spec(entry: &state::DropletEntry) -> Result<DropletSpec, SandboxError> {
    let d = &entry.droplet;
    let id = d["id"].as_u64().ok_or_else(|| SandboxError::StateFile {
        path: PathBuf::new(),
        reason: "a droplet has no numeric id".to_string(),
    })?;
    let ip = |kind: &str| {
        d["networks"]["v4"]
            .as_array()
            .and_then(|v| v.iter().find(|n| n["type"] == kind))
            .and_then(|n| n["ip_address"].as_str())
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    };
    Ok(DropletSpec {
        id,
        name: d["name"].as_str().unwrap_or("droplet").to_string(),
        public_ipv4: ip("public"),
        private_ipv4: ip("private"),
        expects_proxy_protocol: entry.expects_proxy_protocol,
        rejects_proxy_protocol: entry.rejects_proxy_protocol,
    })
}

/// A running sandbox. Dropping it without [`SandboxHandle::shutdown`] stops the servers too
/// (the runtime's tasks see the cancellation), but only `shutdown` waits and saves.
pub struct SandboxHandle {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`: the API base URL (paths start with `/v2/`).
    pub fn api_base(&self) -> String {
        self.shared.api_base.clone()
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The sandbox CA in PEM, to verify what the droplets serve.
    pub fn ca_pem(&self) -> &str {
        &self.shared.ca_pem
    }

    /// Where droplet `droplet_id`'s port 443 or 80 really listens.
    pub fn backend_addr(&self, droplet_id: u64, port: u16) -> Option<SocketAddr> {
        self.shared
            .backends()
            .into_iter()
            .find(|b| b.droplet_id == droplet_id && b.port == port)
            .map(|b| b.addr)
    }

    /// Where the Sandbox's authoritative DNS server listens (UDP and TCP on 127.0.0.1). It
    /// answers for the Sandbox's domains from their current records.
    pub fn dns_addr(&self) -> SocketAddr {
        self.shared.dns_addr()
    }

    /// Every droplet's 443 and 80, and where they listen.
    pub fn backends(&self) -> Vec<BackendEndpoint> {
        self.shared.backends()
    }

    /// The next `count` API requests (under `/v2/`) fail with `status` (429 carries
    /// `retry-after: 1`).
    pub fn fail_next(&self, status: u16, count: u32) {
        self.shared.fail_next(status, count);
    }

    /// Holds load balancer `id` busy — its writes get DigitalOcean's "busy" 403, as while an
    /// update is being applied — until called again with `busy = false`. False when there is no
    /// such load balancer.
    pub fn set_lb_busy(&self, id: &str, busy: bool) -> bool {
        self.shared.set_lb_busy(id, busy)
    }

    /// Latency added to every API request from now on.
    pub fn set_latency(&self, d: Duration) {
        self.shared.set_latency(d);
    }

    /// The droplet starts serving the fleet's certificate (web-3 stops being the odd one out).
    pub async fn fix_droplet_certificate(&self, droplet_id: u64) -> Result<(), SandboxError> {
        self.shared.fix_droplet_certificate(droplet_id).await
    }

    /// Powers seeded droplet `droplet_id` off (`on = false`: its ports refuse connections, its
    /// status is `off`, the monitoring series show it failing from now) or on again. Ok(false)
    /// when it already was; the generated droplets (one shared server) are not found.
    pub async fn set_droplet_power(&self, droplet_id: u64, on: bool) -> Result<bool, SandboxError> {
        self.shared.set_droplet_power(droplet_id, on).await
    }

    /// Tells seeded droplet `droplet_id` how to behave from its next connection on (PROXY
    /// header expected or refused, paths that 404, TLS or plain HTTP on its HTTPS port); saved
    /// in the state file. The generated droplets (one shared server) are not found.
    pub async fn set_droplet_behaviour(
        &self,
        droplet_id: u64,
        behaviour: DropletBehaviour,
    ) -> Result<(), SandboxError> {
        self.shared
            .set_droplet_behaviour(droplet_id, behaviour)
            .await
    }

    /// How seeded droplet `droplet_id` behaves now (`None` for any other id).
    pub fn droplet_behaviour(&self, droplet_id: u64) -> Option<DropletBehaviour> {
        self.shared.droplet_behaviour(droplet_id)
    }

    /// Monitoring requests (`/v2/monitoring/...`) answered so far.
    pub fn monitoring_requests(&self) -> u64 {
        self.shared
            .monitoring_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops the API and the droplets, waits for them, and saves the state if a file was given
    /// (a failed save is logged: [`SandboxHandle::shutdown_and_save`] returns it).
    pub async fn shutdown(self) {
        let _ = self.shutdown_and_save().await;
    }

    /// [`SandboxHandle::shutdown`], returning the error when the final save failed.
    pub async fn shutdown_and_save(self) -> Result<(), SandboxError> {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.shared
            .persist()
            .await
            .map_err(|err| SandboxError::StateFile {
                path: err.path.clone(),
                reason: format!(
                    "the account could not be saved at shutdown: {}",
                    err.cause()
                ),
            })
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
