//! The simulated DigitalOcean API: routes, the common envelope (auth, request id, rate-limit
//! headers, injected latency and failures) and the handlers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cutover_digitalocean::validate::{
    rejection_message, validate_forwarding_rules, validate_load_balancer, ValidationContext,
};
use cutover_digitalocean::{
    Certificate, Droplet, DropletIdsRequest, ForwardingRulesRequest, LoadBalancer,
    LoadBalancerRequest,
};
use serde_json::{json, Map, Value};

use crate::ca::LeafCert;
use crate::droplet::{DropletBehaviour, RunningDroplet};
use crate::state::{self, now_ms, now_rfc3339, CertEntry, CertProfile, LbEntry, State};
use crate::{BackendEndpoint, SandboxError, SandboxOptions};

/// DigitalOcean's hourly request budget per token.
const RATE_LIMIT: usize = 5000;
const RATE_WINDOW: Duration = Duration::from_secs(3600);
const MAX_PER_PAGE: usize = 200;
const DEFAULT_PER_PAGE: usize = 20;
const BUSY_MESSAGE: &str = "Load Balancer can't be updated while it processes previous actions";

/// The generated droplets and the one server that stands for all of them.
pub(crate) struct Pool {
    pub server: RunningDroplet,
    pub droplets: Vec<crate::droplet::DropletSpec>,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub token: String,
    pub api_base: String,
    pub ca_pem: String,
    activation_delay: Duration,
    busy_window: Duration,
    latency: Mutex<Duration>,
    failures: Mutex<Option<(u16, u32)>>,
    requests: Mutex<VecDeque<Instant>>,
    droplets: Vec<RunningDroplet>,
    pool: Option<Pool>,
    fleet_cert: LeafCert,
    state_file: Option<std::path::PathBuf>,
    save_lock: tokio::sync::Mutex<()>,
    /// Set once, right after start, when the DNS server is bound.
    dns_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Droplet ports answered by another of the droplet's listeners (NodePorts, kube-proxy).
    port_aliases: BTreeMap<u64, Vec<state::PortAlias>>,
    /// Monitoring requests answered (`GET /_sandbox/requests`): what a graph refresh costs.
    pub monitoring_requests: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    // Called once, from `Sandbox::start`, with what it has just built.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: State,
        token: String,
        api_base: String,
        opts: &SandboxOptions,
        droplets: Vec<RunningDroplet>,
        pool: Option<Pool>,
        fleet_cert: LeafCert,
        ca_pem: String,
    ) -> Self {
        let port_aliases = state
            .droplets
            .iter()
            .filter(|d| !d.port_aliases.is_empty())
            .filter_map(|d| Some((d.droplet["id"].as_u64()?, d.port_aliases.clone())))
            .collect();
        Self {
            port_aliases,
            state: Mutex::new(state),
            token,
            api_base,
            ca_pem,
            activation_delay: opts.activation_delay,
            busy_window: opts.busy_window,
            latency: Mutex::new(opts.latency),
            failures: Mutex::new(None),
            requests: Mutex::new(VecDeque::new()),
            droplets,
            pool,
            fleet_cert,
            state_file: opts.state_file.clone(),
            save_lock: tokio::sync::Mutex::new(()),
            dns_addr: std::sync::OnceLock::new(),
            monitoring_requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Powers seeded droplet `droplet_id` off or on (its servers stop or serve again, its
    /// status turns `off` or `active`). Ok(false) when it already was. The generated droplets
    /// share one server and are not found here.
    pub async fn set_droplet_power(&self, droplet_id: u64, on: bool) -> Result<bool, SandboxError> {
        let droplet = self
            .droplets
            .iter()
            .find(|d| d.spec.id == droplet_id)
            .ok_or(SandboxError::UnknownDroplet(droplet_id))?;
        let changed = if on {
            droplet.power_on().await?
        } else {
            droplet.power_off().await
        };
        {
            let mut st = lock(&self.state);
            if let Some(e) = st
                .droplets
                .iter_mut()
                .find(|d| d.droplet["id"].as_u64() == Some(droplet_id))
            {
                e.droplet["status"] = json!(if on { "active" } else { "off" });
            }
        }
        self.persist()
            .await
            .map_err(|err| SandboxError::StateFile {
                path: err.path.clone(),
                reason: format!("the change is in effect but not saved: {}", err.cause()),
            })?;
        Ok(changed)
    }

    /// Tells seeded droplet `droplet_id` how to behave from its next connection on, and saves
    /// it with the droplet. The generated droplets share one server and are not found here.
    pub async fn set_droplet_behaviour(
        &self,
        droplet_id: u64,
        behaviour: DropletBehaviour,
    ) -> Result<(), SandboxError> {
        let droplet = self
            .droplets
            .iter()
            .find(|d| d.spec.id == droplet_id)
            .ok_or(SandboxError::UnknownDroplet(droplet_id))?;
        {
            let mut st = lock(&self.state);
            if let Some(e) = st
                .droplets
                .iter_mut()
                .find(|d| d.droplet["id"].as_u64() == Some(droplet_id))
            {
                e.expects_proxy_protocol = behaviour.expects_proxy_protocol;
                e.rejects_proxy_protocol = behaviour.rejects_proxy_protocol;
                e.missing_paths = behaviour.missing_paths.clone();
                e.plain_https = !behaviour.tls;
            }
        }
        droplet.set_behaviour(behaviour);
        self.persist().await.map_err(|err| SandboxError::StateFile {
            path: err.path.clone(),
            reason: format!("the change is in effect but not saved: {}", err.cause()),
        })
    }

    /// How seeded droplet `droplet_id` behaves now (`None` for the others).
    pub fn droplet_behaviour(&self, droplet_id: u64) -> Option<DropletBehaviour> {
        self.droplets
            .iter()
            .find(|d| d.spec.id == droplet_id)
            .map(|d| d.behaviour())
    }

    /// When seeded droplet `droplet_id` was off in this run (empty for the others).
    pub fn droplet_off_spans(&self, droplet_id: u64) -> Vec<crate::droplet::OffSpan> {
        self.droplets
            .iter()
            .find(|d| d.spec.id == droplet_id)
            .map(|d| d.off_spans())
            .unwrap_or_default()
    }

    fn is_generated_droplet(&self, droplet_id: u64) -> bool {
        self.pool
            .as_ref()
            .is_some_and(|p| p.droplets.iter().any(|d| d.id == droplet_id))
    }

    pub fn set_dns_addr(&self, addr: std::net::SocketAddr) {
        // Only start() sets it, once; a second call would be a bug, and is ignored.
        let _ = self.dns_addr.set(addr);
    }

    /// The DNS server's address (`127.0.0.1:0` only before start() has bound it).
    pub fn dns_addr(&self) -> std::net::SocketAddr {
        self.dns_addr
            .get()
            .copied()
            .unwrap_or_else(|| std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)))
    }

    pub fn backends(&self) -> Vec<BackendEndpoint> {
        let mut out = Vec::new();
        for d in &self.droplets {
            let aliases = self
                .port_aliases
                .get(&d.spec.id)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    let addr = if a.serves == 443 {
                        d.https_addr
                    } else {
                        d.http_addr
                    };
                    (a.port, addr)
                });
            for (port, addr) in [(443, d.https_addr), (80, d.http_addr)]
                .into_iter()
                .chain(aliases)
            {
                out.push(BackendEndpoint {
                    droplet_id: d.spec.id,
                    droplet_name: d.spec.name.clone(),
                    public_ipv4: d.spec.public_ipv4,
                    port,
                    addr,
                    proxy_protocol: d.behaviour().expects_proxy_protocol,
                });
            }
        }
        if let Some(pool) = &self.pool {
            let server = &pool.server;
            for spec in &pool.droplets {
                for (port, addr) in [(443, server.https_addr), (80, server.http_addr)] {
                    out.push(BackendEndpoint {
                        droplet_id: spec.id,
                        droplet_name: spec.name.clone(),
                        public_ipv4: spec.public_ipv4,
                        port,
                        addr,
                        proxy_protocol: false,
                    });
                }
            }
        }
        out
    }

    pub fn fail_next(&self, status: u16, count: u32) {
        *lock(&self.failures) = (count > 0).then_some((status, count));
    }

    pub fn set_latency(&self, d: Duration) {
        *lock(&self.latency) = d;
    }

    /// Holds load balancer `id` busy (every write gets the busy 403) until released with
    /// `busy = false`, which also ends the window an earlier write opened. False when there is
    /// no such load balancer.
    pub fn set_lb_busy(&self, id: &str, busy: bool) -> bool {
        let mut st = lock(&self.state);
        let Some(i) = st.lb_index(id) else {
            return false;
        };
        // A day stands for "until released": no journey or demo runs that long.
        st.load_balancers[i].busy_until =
            busy.then(|| Instant::now() + Duration::from_secs(24 * 3600));
        true
    }

    fn take_failure(&self) -> Option<u16> {
        let mut f = lock(&self.failures);
        let (status, left) = (*f)?;
        *f = (left > 1).then_some((status, left - 1));
        Some(status)
    }

    pub async fn fix_droplet_certificate(&self, droplet_id: u64) -> Result<(), SandboxError> {
        let droplet = self
            .droplets
            .iter()
            .find(|d| d.spec.id == droplet_id)
            .ok_or(SandboxError::UnknownDroplet(droplet_id))?;
        droplet.set_certificate(&self.fleet_cert)?;
        {
            let mut st = lock(&self.state);
            if let Some(e) = st
                .droplets
                .iter_mut()
                .find(|d| d.droplet["id"].as_u64() == Some(droplet_id))
            {
                e.certificate = CertProfile::Fleet;
            }
        }
        self.persist().await.map_err(|err| SandboxError::StateFile {
            path: err.path.clone(),
            reason: format!("the change is in effect but not saved: {}", err.cause()),
        })
    }

    /// Saves the state to the state file, if any. A failure is returned, so that the write
    /// that caused the save is answered with a 5xx instead of a success that would be lost.
    pub async fn persist(&self) -> Result<(), state::SaveError> {
        let Some(path) = self.state_file.clone() else {
            return Ok(());
        };
        // Serialise writers, and snapshot under the lock, so the last write is the newest state.
        // The snapshot is a clone (load balancers are shared pointers); it is written out after
        // the state lock is released, so requests are not held up by the file.
        let _guard = self.save_lock.lock().await;
        let snapshot = lock(&self.state).clone();
        let target = path.clone();
        let saved = tokio::task::spawn_blocking(move || state::save(&target, &snapshot)).await;
        let result = match saved {
            Ok(result) => result,
            // The blocking task panicked or was cancelled at shutdown.
            Err(err) => Err(state::SaveError {
                path,
                source: std::io::Error::other(err.to_string()),
            }),
        };
        if let Err(err) = &result {
            tracing::error!("{err}");
        }
        result
    }

    fn rate_headers(&self) -> (usize, u64) {
        let now = Instant::now();
        let mut q = lock(&self.requests);
        q.push_back(now);
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            q.pop_front();
        }
        let remaining = RATE_LIMIT.saturating_sub(q.len());
        let oldest = q.front().copied().unwrap_or(now);
        let reset_in = RATE_WINDOW.saturating_sub(now.duration_since(oldest));
        let reset = now_ms() / 1000 + reset_in.as_secs();
        (remaining, reset)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and the envelope
// ---------------------------------------------------------------------------------------------

/// An error answer; the envelope adds the request id to its body.
pub(crate) struct ApiErr {
    status: StatusCode,
    id: &'static str,
    message: String,
}

#[derive(Clone)]
struct PendingError {
    id: &'static str,
    message: String,
}

impl ApiErr {
    fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            id,
            message: message.into(),
        }
    }
    fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you were accessing could not be found.",
        )
    }
    fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            message,
        )
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    fn busy() -> Self {
        Self::forbidden(BUSY_MESSAGE)
    }
}

/// A write whose save failed: DigitalOcean's 500, saying what happened to the change.
impl From<state::SaveError> for ApiErr {
    fn from(err: state::SaveError) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            format!(
                "The change was made in this Sandbox run but could not be saved to its state file {}: {}. It is lost when the Sandbox stops unless a later save succeeds.",
                err.path.display(),
                err.cause()
            ),
        )
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(PendingError {
            id: self.id,
            message: self.message,
        });
        resp
    }
}

fn error_body(status: StatusCode, id: &str, message: &str, request_id: &str) -> Response {
    let body = json!({ "id": id, "message": message, "request_id": request_id });
    (status, Json(body)).into_response()
}

fn failure_id(status: u16) -> (&'static str, &'static str) {
    match status {
        429 => ("too_many_requests", "API Rate limit exceeded."),
        500 => ("server_error", "Server was unable to give you a response."),
        502..=504 => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        403 => (
            "forbidden",
            "You do not have access for the attempted action.",
        ),
        404 => (
            "not_found",
            "The resource you were accessing could not be found.",
        ),
        _ => ("error", "Injected failure."),
    }
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == token)
}

async fn envelope(AxState(s): AxState<Arc<Shared>>, req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let latency = *lock(&s.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let is_api = req.uri().path().starts_with("/v2/");
    let mut injected_429 = false;
    let mut resp = if !authorized(req.headers(), &s.token) {
        error_body(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unable to authenticate you",
            &request_id,
        )
    } else if let Some(status) = is_api.then(|| s.take_failure()).flatten() {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (id, message) = failure_id(status);
        injected_429 = status == 429;
        error_body(code, id, message, &request_id)
    } else {
        let resp = next.run(req).await;
        match resp.extensions().get::<PendingError>().cloned() {
            Some(e) => error_body(resp.status(), e.id, &e.message, &request_id),
            None => resp,
        }
    };
    let (remaining, reset) = s.rate_headers();
    let remaining = if injected_429 { 0 } else { remaining };
    let h = resp.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-request-id", request_id);
    set("ratelimit-limit", RATE_LIMIT.to_string());
    set("ratelimit-remaining", remaining.to_string());
    set("ratelimit-reset", reset.to_string());
    if injected_429 {
        set("retry-after", "1".to_string());
    }
    resp
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/account", get(account))
        .route("/v2/regions", get(regions))
        .route("/v2/vpcs", get(vpcs))
        .route("/v2/vpcs/{id}", get(vpc))
        .route("/v2/tags", get(tags).post(create_tag))
        .route("/v2/tags/{tag}", get(tag).delete(delete_tag))
        .route(
            "/v2/tags/{tag}/resources",
            post(tag_resources).delete(untag_resources),
        )
        .route("/v2/droplets", get(droplets))
        .route("/v2/droplets/{id}", get(droplet))
        .route("/v2/load_balancers", get(list_lbs).post(create_lb))
        .route(
            "/v2/load_balancers/{id}",
            get(get_lb).put(update_lb).delete(delete_lb),
        )
        .route(
            "/v2/load_balancers/{id}/droplets",
            post(add_droplets).delete(remove_droplets),
        )
        .route(
            "/v2/load_balancers/{id}/forwarding_rules",
            post(add_rules).delete(remove_rules),
        )
        .route("/v2/certificates", get(certificates).post(create_cert))
        .route(
            "/v2/certificates/{id}",
            get(certificate).delete(delete_cert),
        )
        .route("/v2/domains", get(domains).post(create_domain))
        .route("/v2/domains/{name}", get(domain).delete(delete_domain))
        .route(
            "/v2/domains/{name}/records",
            get(records).post(create_record),
        )
        .route(
            "/v2/domains/{name}/records/{rid}",
            get(record)
                .put(update_record)
                .patch(update_record)
                .delete(delete_record),
        )
        .route(
            "/v2/monitoring/metrics/load_balancer/{series}",
            get(lb_metric),
        )
        .route("/_sandbox/backends", get(sandbox_backends))
        .route("/_sandbox/ca.pem", get(sandbox_ca))
        .route("/_sandbox/dns", get(sandbox_dns))
        .route("/_sandbox/fail_next", post(sandbox_fail_next))
        .route(
            "/_sandbox/droplets/{id}/fix_certificate",
            post(sandbox_fix_certificate),
        )
        .route("/_sandbox/droplets/{id}/power", post(sandbox_power))
        .route("/_sandbox/droplets/{id}/behaviour", post(sandbox_behaviour))
        .route("/_sandbox/requests", get(sandbox_requests))
        .fallback(|| async { ApiErr::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            envelope,
        ))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Load-balancer metrics (crate::monitoring computes them; errors get the common envelope).
async fn lb_metric(s: Shr, Path(series): Path<String>, Query(q): Q) -> ApiResult {
    s.monitoring_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::monitoring::lb_metric(&s, &series, &q)
        .map(|v| Json(v).into_response())
        .map_err(|e| ApiErr::new(e.status, e.id, e.message))
}

type Shr = AxState<Arc<Shared>>;
type Q = Query<BTreeMap<String, String>>;
type ApiResult = Result<Response, ApiErr>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

fn with_status(status: StatusCode, v: Value) -> ApiResult {
    Ok((status, Json(v)).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_object(body: &Bytes) -> Result<Map<String, Value>, ApiErr> {
    if body.is_empty() {
        return Err(ApiErr::bad_request("A JSON request body is required."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiErr::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiErr::bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &Map<String, Value>) -> Result<T, ApiErr> {
    serde_json::from_value(Value::Object(body.clone()))
        .map_err(|e| ApiErr::unprocessable(format!("Invalid request: {e}")))
}

/// `page` (from 1) and `per_page` (1..=200, default 20) from the query.
fn page_params(query: &BTreeMap<String, String>) -> Result<(usize, usize), ApiErr> {
    let page = match query.get("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiErr::bad_request("page must be a positive integer"))?,
    };
    let per_page = match query.get("per_page") {
        None => DEFAULT_PER_PAGE,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiErr::bad_request("per_page must be a positive integer"))?
            .min(MAX_PER_PAGE),
    };
    Ok((page, per_page))
}

/// One page of `items` in DigitalOcean's list shape, with `links.pages` as full URLs.
fn paginate(
    s: &Shared,
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    items: Vec<Value>,
) -> ApiResult {
    let (page, per_page) = page_params(query)?;
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    page_body(s, path, query, key, (page, per_page), total, slice)
}

/// The list body for one page (`items` already cut to the page) of `total` items.
fn page_body<T: serde::Serialize>(
    s: &Shared,
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    (page, per_page): (usize, usize),
    total: usize,
    items: Vec<T>,
) -> ApiResult {
    let last = total.div_ceil(per_page).max(1);
    let url = |n: usize| {
        let mut params: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.push(("page".into(), n.to_string()));
        params.push(("per_page".into(), per_page.to_string()));
        let qs: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        format!("{}{}?{}", s.api_base, path, qs.join("&"))
    };
    let mut pages = Map::new();
    if page > 1 {
        pages.insert("first".into(), json!(url(1)));
        pages.insert("prev".into(), json!(url((page - 1).min(last))));
    }
    if page < last {
        pages.insert("next".into(), json!(url(page + 1)));
        pages.insert("last".into(), json!(url(last)));
    }
    let links = if pages.is_empty() {
        json!({})
    } else {
        json!({ "pages": pages })
    };
    let body = PageBody {
        key,
        items,
        links,
        total,
    };
    Ok(Json(body).into_response())
}

/// `{ <key>: [items], "links": {...}, "meta": { "total": n } }`, serialised from the items as
/// they are (a page of load balancers is written from the shared values, not from copies).
struct PageBody<'k, T> {
    key: &'k str,
    items: Vec<T>,
    links: Value,
    total: usize,
}

impl<T: serde::Serialize> serde::Serialize for PageBody<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(self.key, &self.items)?;
        map.serialize_entry("links", &self.links)?;
        map.serialize_entry("meta", &json!({ "total": self.total }))?;
        map.end()
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Account, regions, VPCs, tags, droplets
// ---------------------------------------------------------------------------------------------

async fn account(AxState(s): Shr) -> ApiResult {
    let account = lock(&s.state).account.clone();
    ok(json!({ "account": account }))
}

async fn regions(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let items = lock(&s.state).regions.clone();
    paginate(&s, "/v2/regions", &q, "regions", items)
}

async fn vpcs(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let items = lock(&s.state).vpcs.clone();
    paginate(&s, "/v2/vpcs", &q, "vpcs", items)
}

async fn vpc(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    let v = lock(&s.state)
        .vpcs
        .iter()
        .find(|v| v["id"] == id.as_str())
        .cloned();
    match v {
        Some(v) => ok(json!({ "vpc": v })),
        None => Err(ApiErr::not_found()),
    }
}

async fn tags(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let items = {
        let st = lock(&s.state);
        st.tags
            .iter()
            .map(|t| st.render_tag(t, &s.api_base))
            .collect()
    };
    paginate(&s, "/v2/tags", &q, "tags", items)
}

fn valid_tag(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
}

async fn create_tag(AxState(s): Shr, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !valid_tag(&name) {
        return Err(ApiErr::unprocessable(
            "name: a tag name has 1 to 255 letters, digits, _, - or :",
        ));
    }
    let rendered = {
        let mut st = lock(&s.state);
        // Tag names are unique regardless of case; creating an existing one returns it.
        let existing = st
            .tags
            .iter()
            .find(|t| t.eq_ignore_ascii_case(&name))
            .cloned();
        let canonical = match existing {
            Some(t) => t,
            None => {
                st.tags.push(name.clone());
                name
            }
        };
        st.render_tag(&canonical, &s.api_base)
    };
    s.persist().await?;
    with_status(StatusCode::CREATED, json!({ "tag": rendered }))
}

async fn tag(AxState(s): Shr, Path(name): Path<String>) -> ApiResult {
    let rendered = {
        let st = lock(&s.state);
        if !st.tags.contains(&name) {
            return Err(ApiErr::not_found());
        }
        st.render_tag(&name, &s.api_base)
    };
    ok(json!({ "tag": rendered }))
}

async fn delete_tag(AxState(s): Shr, Path(name): Path<String>) -> ApiResult {
    {
        let mut st = lock(&s.state);
        let Some(i) = st.tags.iter().position(|t| *t == name) else {
            return Err(ApiErr::not_found());
        };
        st.tags.remove(i);
        for d in &mut st.droplets {
            if let Some(tags) = d.droplet["tags"].as_array_mut() {
                tags.retain(|t| *t != name.as_str());
            }
        }
    }
    s.persist().await?;
    no_content()
}

fn droplet_resources(body: &Map<String, Value>) -> Result<Vec<u64>, ApiErr> {
    let resources = body
        .get("resources")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiErr::bad_request("resources: a list is required"))?;
    resources
        .iter()
        .map(|r| {
            if r["resource_type"] != "droplet" {
                return Err(ApiErr::unprocessable(
                    "resource_type: the sandbox only tags droplets",
                ));
            }
            r["resource_id"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(|| ApiErr::unprocessable("resource_id: a droplet id is required"))
        })
        .collect()
}

async fn tag_resources(AxState(s): Shr, Path(name): Path<String>, body: Bytes) -> ApiResult {
    retag(s, name, body, true).await
}

async fn untag_resources(AxState(s): Shr, Path(name): Path<String>, body: Bytes) -> ApiResult {
    retag(s, name, body, false).await
}

async fn retag(s: Arc<Shared>, name: String, body: Bytes, add: bool) -> ApiResult {
    let body = parse_object(&body)?;
    let ids = droplet_resources(&body)?;
    {
        let mut st = lock(&s.state);
        if !st.tags.contains(&name) {
            return Err(ApiErr::not_found());
        }
        if let Some(missing) = ids.iter().find(|id| st.droplet(**id).is_none()) {
            return Err(ApiErr::unprocessable(format!(
                "resource_id: there is no droplet {missing}"
            )));
        }
        for d in &mut st.droplets {
            let Some(id) = d.droplet["id"].as_u64() else {
                continue;
            };
            if !ids.contains(&id) {
                continue;
            }
            if let Some(tags) = d.droplet["tags"].as_array_mut() {
                let has = tags.iter().any(|t| *t == name.as_str());
                if add && !has {
                    tags.push(json!(name));
                } else if !add {
                    tags.retain(|t| *t != name.as_str());
                }
            }
        }
    }
    s.persist().await?;
    no_content()
}

async fn droplets(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let items: Vec<Value> = {
        let st = lock(&s.state);
        st.droplets
            .iter()
            .map(|d| &d.droplet)
            .filter(|d| match q.get("tag_name") {
                Some(tag) => d["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == tag.as_str())),
                None => true,
            })
            .filter(|d| match q.get("name") {
                Some(name) => d["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name)),
                None => true,
            })
            .cloned()
            .collect()
    };
    paginate(&s, "/v2/droplets", &q, "droplets", items)
}

async fn droplet(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| ApiErr::not_found())?;
    let droplet = lock(&s.state).droplet(id).map(|d| d.droplet.clone());
    match droplet {
        Some(d) => ok(json!({ "droplet": d })),
        None => Err(ApiErr::not_found()),
    }
}

// ---------------------------------------------------------------------------------------------
// Load balancers
// ---------------------------------------------------------------------------------------------

fn typed_droplets(st: &State) -> Vec<Droplet> {
    st.droplets
        .iter()
        .filter_map(|d| serde_json::from_value(d.droplet.clone()).ok())
        .collect()
}

fn typed_certs(st: &State) -> Vec<Certificate> {
    st.certificates
        .iter()
        .filter_map(|c| serde_json::from_value(st.render_cert(c)).ok())
        .collect()
}

/// The shared validator's errors (and the sandbox's own checks) as one 422.
fn check_lb_request(
    st: &State,
    req: &LoadBalancerRequest,
    current: Option<&LoadBalancer>,
) -> Result<(), ApiErr> {
    let droplets = typed_droplets(st);
    let certs = typed_certs(st);
    let ctx = match current {
        Some(c) => ValidationContext::update(c),
        None => ValidationContext::create(),
    }
    .with_droplets(&droplets)
    .with_certificates(&certs);
    let findings = validate_load_balancer(req, &ctx);
    let mut messages: Vec<String> = rejection_message(&findings).into_iter().collect();
    if let Some(region) = req.region.as_deref() {
        if st.region(region).is_none() {
            messages.push(format!("region: {region} is not a region of this account."));
        }
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(ApiErr::unprocessable(messages.join(" ")))
    }
}

/// A forwarding rule with the fields the API always returns.
fn normalize_rule(rule: &Value) -> Value {
    let mut r = rule.clone();
    if r.get("certificate_id").is_none_or(Value::is_null) {
        r["certificate_id"] = json!("");
    }
    if r.get("tls_passthrough").is_none_or(Value::is_null) {
        r["tls_passthrough"] = json!(false);
    }
    r
}

fn same_rule(a: &Value, b: &Value) -> bool {
    let (a, b) = (normalize_rule(a), normalize_rule(b));
    let lower = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
    lower(&a["entry_protocol"]) == lower(&b["entry_protocol"])
        && a["entry_port"] == b["entry_port"]
        && lower(&a["target_protocol"]) == lower(&b["target_protocol"])
        && a["target_port"] == b["target_port"]
        && a["certificate_id"] == b["certificate_id"]
        && a["tls_passthrough"] == b["tls_passthrough"]
}

/// Builds the stored load balancer from a create/update body: full-replace semantics, so
/// whatever the body leaves out takes its default. `identity` carries id, ip, status, …
fn build_lb(
    st: &State,
    req: &LoadBalancerRequest,
    identity: Value,
    current_region: Option<&str>,
) -> Value {
    let mut body = serde_json::to_value(req).unwrap_or_else(|_| json!({}));
    if let Some(o) = body.as_object_mut() {
        o.remove("validate_only");
        o.remove("region");
        o.remove("droplet_ids");
        o.remove("tag");
    }
    let mut lb = state::merged(&state::lb_defaults(), &body);
    lb = state::merged(&lb, &identity);
    if req.is_global() {
        // A global load balancer has no region, VPC or network of its own.
        if let Some(o) = lb.as_object_mut() {
            for key in ["network", "network_stack", "tls_cipher_policy", "region"] {
                if body.get(key).is_none_or(|v| v.is_null()) {
                    o.remove(key);
                }
            }
        }
    } else {
        let slug = req
            .region
            .as_deref()
            .or(current_region)
            .unwrap_or(state::DEFAULT_REGION);
        if let Some(region) = st.region(slug) {
            lb["region"] = region.clone();
        }
        if lb.get("vpc_uuid").is_none_or(Value::is_null) {
            if let Some(vpc) = st.default_vpc(slug) {
                lb["vpc_uuid"] = json!(vpc);
            }
        }
    }
    if let Some(rules) = lb["forwarding_rules"].as_array_mut() {
        for r in rules.iter_mut() {
            *r = normalize_rule(r);
        }
    }
    // Sub-objects: what the body gives over the defaults.
    let mut hc = state::merged(&state::health_check_default(), &lb["health_check"]);
    if hc["protocol"] == "tcp" && req.health_check.as_ref().is_none_or(|h| h.path.is_none()) {
        if let Some(o) = hc.as_object_mut() {
            o.remove("path");
        }
    }
    lb["health_check"] = hc;
    lb["sticky_sessions"] = state::merged(&json!({ "type": "none" }), &lb["sticky_sessions"]);
    lb["firewall"] = state::merged(&json!({ "allow": [], "deny": [] }), &lb["firewall"]);
    if req.size.is_some() && req.size_unit.is_none() {
        if let Some(o) = lb.as_object_mut() {
            o.remove("size_unit");
        }
    }
    match (&req.tag, &req.droplet_ids) {
        (Some(tag), _) if !tag.trim().is_empty() => {
            lb["tag"] = json!(tag);
            lb["droplet_ids"] = json!([]);
        }
        (_, ids) => {
            lb["tag"] = json!("");
            lb["droplet_ids"] = json!(ids.clone().unwrap_or_default());
        }
    }
    lb
}

/// The certificate ids `lb`'s forwarding rules use.
fn rule_certificates(lb: &Value) -> Vec<&str> {
    lb["forwarding_rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| r["certificate_id"].as_str())
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What DigitalOcean does when a Let's Encrypt certificate it manages is attached to a load
/// balancer with `disable_lets_encrypt_dns_records` off: it points an A record for each of the
/// certificate's names at the load balancer — in the Sandbox, in whichever of its zones holds
/// the name (the first A record there is repointed, the others removed; a name with a CNAME,
/// and a wildcard, are left alone). Only certificates `before` did not have yet count.
fn lets_encrypt_dns_records(st: &mut State, after: &Value, before: Option<&Value>) {
    let ip = after["ip"].as_str().unwrap_or_default();
    if after["disable_lets_encrypt_dns_records"] == true || ip.is_empty() {
        return;
    }
    let had = before.map(rule_certificates).unwrap_or_default();
    let added: Vec<String> = rule_certificates(after)
        .into_iter()
        .filter(|id| !had.contains(id))
        .map(str::to_string)
        .collect();
    let mut names: Vec<String> = Vec::new();
    for id in &added {
        if let Some(c) = st.certificates.iter().find(|c| c.cert["id"] == id.as_str()) {
            if c.cert["type"] != "lets_encrypt" {
                continue;
            }
            if let Some(list) = c.cert["dns_names"].as_array() {
                names.extend(list.iter().filter_map(|n| n.as_str().map(str::to_string)));
            }
        }
    }
    for name in names {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.starts_with("*.") {
            continue;
        }
        let zone = st
            .domains
            .iter()
            .filter(|d| name == d.name || name.ends_with(&format!(".{}", d.name)))
            .max_by_key(|d| d.name.len())
            .map(|d| d.name.clone());
        let Some(zone) = zone else { continue };
        let short = if name == zone {
            "@".to_string()
        } else {
            name[..name.len() - zone.len() - 1].to_string()
        };
        let next_id = st.next_record_id + 1;
        let Some(domain) = st.domain_mut(&zone) else {
            continue;
        };
        let at = |r: &Value, kind: &str| r["name"] == short.as_str() && r["type"] == kind;
        if domain.records.iter().any(|r| at(r, "CNAME")) {
            continue;
        }
        match domain.records.iter().position(|r| at(r, "A")) {
            Some(first) => {
                domain.records[first]["data"] = json!(ip);
                let keep = domain.records[first]["id"].clone();
                domain.records.retain(|r| !at(r, "A") || r["id"] == keep);
            }
            None => {
                let mut r = empty_record(next_id);
                r["type"] = json!("A");
                r["name"] = json!(short);
                r["data"] = json!(ip);
                r["ttl"] = json!(3600);
                domain.records.push(r);
                st.next_record_id = next_id;
            }
        }
    }
}

fn is_busy(entry: &LbEntry) -> bool {
    entry.busy_until.is_some_and(|t| Instant::now() < t)
}

impl Shared {
    fn busy_until(&self) -> Option<Instant> {
        (!self.busy_window.is_zero()).then(|| Instant::now() + self.busy_window)
    }
}

async fn list_lbs(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let (page, per_page) = page_params(&q)?;
    // Only the requested page is rendered: lists of a thousand are what benchmarks use. The
    // lock is held for pointer copies only; pages requested at once render in parallel.
    let (total, page_lbs) = {
        let st = lock(&s.state);
        let page_lbs: Vec<_> = st
            .load_balancers
            .iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .map(|l| st.lb_snapshot(l))
            .collect();
        (st.load_balancers.len(), page_lbs)
    };
    page_body(
        &s,
        "/v2/load_balancers",
        &q,
        "load_balancers",
        (page, per_page),
        total,
        page_lbs,
    )
}

async fn get_lb(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    let snapshot = {
        let st = lock(&s.state);
        let i = st.lb_index(&id).ok_or_else(ApiErr::not_found)?;
        st.lb_snapshot(&st.load_balancers[i])
    };
    ok(json!({ "load_balancer": snapshot.render() }))
}

async fn create_lb(AxState(s): Shr, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let req: LoadBalancerRequest = decode(&body)?;
    let rendered = {
        let mut st = lock(&s.state);
        check_lb_request(&st, &req, None)?;
        if req.validate_only {
            return no_content();
        }
        let n = st.next_lb_host;
        st.next_lb_host += 1;
        let mut identity = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "ip": state::lb_ip(n).to_string(),
            "status": "new",
            "created_at": now_rfc3339(),
        });
        // The addresses the kind of load balancer has: none of its own for a global one, a
        // VPC address for an internal one, an IPv6 too when dual-stack.
        if req.is_global() {
            identity["ip"] = json!("");
        } else if req.network.as_deref() == Some("INTERNAL") {
            identity["ip"] = json!(format!("10.116.1.{}", 1 + n % 250));
        }
        if req.network_stack.as_deref() == Some("DUALSTACK") {
            identity["ipv6"] = json!(format!("2001:db8:5a0d::{:x}", n + 1));
        }
        let lb = build_lb(&st, &req, identity, None);
        let entry = LbEntry {
            lb: Arc::new(lb),
            active_at_ms: now_ms() + s.activation_delay.as_millis() as u64,
            busy_until: s.busy_until(),
        };
        let rendered = st.render_lb(&entry);
        st.load_balancers.push(entry);
        lets_encrypt_dns_records(&mut st, &rendered, None);
        rendered
    };
    s.persist().await?;
    with_status(StatusCode::ACCEPTED, json!({ "load_balancer": rendered }))
}

async fn update_lb(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let req: LoadBalancerRequest = decode(&body)?;
    let rendered = {
        let mut st = lock(&s.state);
        let i = st.lb_index(&id).ok_or_else(ApiErr::not_found)?;
        let current_value = st.render_lb(&st.load_balancers[i]);
        let current: LoadBalancer = serde_json::from_value(current_value.clone()).map_err(|e| {
            ApiErr::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            )
        })?;
        check_lb_request(&st, &req, Some(&current))?;
        if req.validate_only {
            return no_content();
        }
        if is_busy(&st.load_balancers[i]) {
            return Err(ApiErr::busy());
        }
        let mut identity = json!({
            "id": current_value["id"],
            "ip": current_value["ip"],
            "status": current_value["status"],
            "created_at": current_value["created_at"],
        });
        // Read-only like the others: an update never takes the IPv6 away.
        if let Some(v6) = current_value.get("ipv6").filter(|v| !v.is_null()) {
            identity["ipv6"] = v6.clone();
        }
        let lb = build_lb(&st, &req, identity, current.region_slug());
        let busy_until = s.busy_until();
        let entry = &mut st.load_balancers[i];
        entry.lb = Arc::new(lb);
        entry.busy_until = busy_until;
        let entry = st.load_balancers[i].clone();
        let rendered = st.render_lb(&entry);
        lets_encrypt_dns_records(&mut st, &rendered, Some(&current_value));
        rendered
    };
    s.persist().await?;
    ok(json!({ "load_balancer": rendered }))
}

async fn delete_lb(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    {
        let mut st = lock(&s.state);
        let i = st.lb_index(&id).ok_or_else(ApiErr::not_found)?;
        if is_busy(&st.load_balancers[i]) {
            return Err(ApiErr::busy());
        }
        st.load_balancers.remove(i);
    }
    s.persist().await?;
    no_content()
}

async fn add_droplets(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    change_droplets(s, id, body, true).await
}

async fn remove_droplets(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    change_droplets(s, id, body, false).await
}

async fn change_droplets(s: Arc<Shared>, id: String, body: Bytes, add: bool) -> ApiResult {
    let body = parse_object(&body)?;
    let req: DropletIdsRequest = decode(&body)?;
    {
        let mut st = lock(&s.state);
        let i = st.lb_index(&id).ok_or_else(ApiErr::not_found)?;
        let tag = st.load_balancers[i].lb["tag"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !tag.is_empty() {
            return Err(ApiErr::unprocessable(format!(
                "This load balancer selects its droplets by the tag \"{tag}\": droplets cannot be added or removed by id; tag or untag them instead."
            )));
        }
        if let Some(missing) = req.droplet_ids.iter().find(|d| st.droplet(**d).is_none()) {
            return Err(ApiErr::unprocessable(format!(
                "droplet_ids: there is no droplet {missing} in this account."
            )));
        }
        if is_busy(&st.load_balancers[i]) {
            return Err(ApiErr::busy());
        }
        let busy_until = s.busy_until();
        let entry = &mut st.load_balancers[i];
        let mut ids: Vec<u64> = entry.lb["droplet_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        if add {
            for d in &req.droplet_ids {
                if !ids.contains(d) {
                    ids.push(*d);
                }
            }
        } else {
            ids.retain(|d| !req.droplet_ids.contains(d));
        }
        Arc::make_mut(&mut entry.lb)["droplet_ids"] = json!(ids);
        entry.busy_until = busy_until;
    }
    s.persist().await?;
    no_content()
}

async fn add_rules(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    change_rules(s, id, body, true).await
}

async fn remove_rules(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    change_rules(s, id, body, false).await
}

async fn change_rules(s: Arc<Shared>, id: String, body: Bytes, add: bool) -> ApiResult {
    let body = parse_object(&body)?;
    let req: ForwardingRulesRequest = decode(&body)?;
    if req.forwarding_rules.is_empty() {
        return Err(ApiErr::unprocessable(
            "forwarding_rules: at least one forwarding rule is required.",
        ));
    }
    if let Some(msg) = rejection_message(&validate_forwarding_rules(&req.forwarding_rules)) {
        return Err(ApiErr::unprocessable(msg));
    }
    {
        let mut st = lock(&s.state);
        let i = st.lb_index(&id).ok_or_else(ApiErr::not_found)?;
        let current_value = st.render_lb(&st.load_balancers[i]);
        let current: LoadBalancer = serde_json::from_value(current_value.clone()).map_err(|e| {
            ApiErr::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            )
        })?;
        let given: Vec<Value> = body
            .get("forwarding_rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut rules: Vec<Value> = current_value["forwarding_rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if add {
            rules.extend(given.iter().map(normalize_rule));
        } else {
            rules.retain(|r| !given.iter().any(|g| same_rule(r, g)));
        }
        // The load balancer as it would be, through the same validator as a PUT.
        let mut next_req = current.to_request();
        next_req.forwarding_rules = rules
            .iter()
            .filter_map(|r| serde_json::from_value(r.clone()).ok())
            .collect();
        check_lb_request(&st, &next_req, Some(&current))?;
        if is_busy(&st.load_balancers[i]) {
            return Err(ApiErr::busy());
        }
        let busy_until = s.busy_until();
        let entry = &mut st.load_balancers[i];
        Arc::make_mut(&mut entry.lb)["forwarding_rules"] = json!(rules);
        entry.busy_until = busy_until;
        let after = st.render_lb(&st.load_balancers[i]);
        lets_encrypt_dns_records(&mut st, &after, Some(&current_value));
    }
    s.persist().await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

async fn certificates(AxState(s): Shr, Query(q): Q) -> ApiResult {
    let items = {
        let st = lock(&s.state);
        st.certificates
            .iter()
            .map(|c| st.render_cert(c))
            .filter(|c| q.get("name").is_none_or(|n| c["name"] == n.as_str()))
            .collect()
    };
    paginate(&s, "/v2/certificates", &q, "certificates", items)
}

async fn certificate(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    let rendered = {
        let st = lock(&s.state);
        let c = st
            .certificates
            .iter()
            .find(|c| c.cert["id"] == id.as_str())
            .ok_or_else(ApiErr::not_found)?;
        st.render_cert(c)
    };
    ok(json!({ "certificate": rendered }))
}

struct ParsedLeaf {
    not_after: String,
    dns_names: Vec<String>,
    sha1: String,
}

fn parse_leaf(pem: &str) -> Result<ParsedLeaf, ApiErr> {
    let bad = |why: String| ApiErr::unprocessable(format!("leaf_certificate: {why}"));
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| bad(format!("not a PEM certificate ({e})")))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| bad(format!("not an X.509 certificate ({e})")))?;
    let not_after =
        time::OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
            .map(state::rfc3339)
            .map_err(|e| bad(e.to_string()))?;
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(n) = name {
                dns_names.push(n.to_string());
            }
        }
    }
    Ok(ParsedLeaf {
        not_after,
        dns_names,
        sha1: crate::ca::sha1_hex(&pem.contents),
    })
}

async fn create_cert(AxState(s): Shr, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let str_field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = str_field("name");
    if name.trim().is_empty() {
        return Err(ApiErr::unprocessable("name: a certificate needs a name."));
    }
    let kind = match body.get("type").and_then(Value::as_str) {
        None | Some("custom") => "custom",
        Some("lets_encrypt") => "lets_encrypt",
        Some(other) => {
            return Err(ApiErr::unprocessable(format!(
                "type: {other} is not custom or lets_encrypt."
            )))
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    let entry = if kind == "custom" {
        let key = str_field("private_key");
        let leaf = str_field("leaf_certificate");
        if leaf.is_empty() || key.is_empty() {
            return Err(ApiErr::unprocessable(
                "A custom certificate needs private_key and leaf_certificate (PEM).",
            ));
        }
        // Only the PEM label is checked: the sandbox never terminates TLS with this key.
        if !key.contains("PRIVATE KEY-----") {
            return Err(ApiErr::unprocessable("private_key: not a PEM private key."));
        }
        let parsed = parse_leaf(&leaf)?;
        CertEntry {
            cert: json!({
                "id": id, "name": name, "type": "custom", "state": "verified",
                "dns_names": parsed.dns_names, "not_after": parsed.not_after,
                "sha1_fingerprint": parsed.sha1, "created_at": now_rfc3339(),
            }),
            verified_at_ms: None,
        }
    } else {
        let mut names: Vec<String> = body
            .get("dns_names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if names.is_empty() {
            return Err(ApiErr::unprocessable(
                "dns_names: a Let's Encrypt certificate needs at least one name.",
            ));
        }
        // Like the live API: a wildcard also covers its apex.
        let apexes: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix("*.").map(str::to_string))
            .collect();
        for apex in apexes {
            if !names.contains(&apex) {
                names.push(apex);
            }
        }
        let not_after = time::OffsetDateTime::now_utc() + time::Duration::days(90);
        CertEntry {
            cert: json!({
                "id": id, "name": name, "type": "lets_encrypt", "state": "pending",
                "dns_names": names, "not_after": state::rfc3339(not_after),
                "sha1_fingerprint": crate::ca::sha1_hex(id.as_bytes()), "created_at": now_rfc3339(),
            }),
            verified_at_ms: Some(now_ms() + s.activation_delay.as_millis() as u64),
        }
    };
    let rendered = {
        let mut st = lock(&s.state);
        if st
            .certificates
            .iter()
            .any(|c| c.cert["name"] == name.as_str())
        {
            return Err(ApiErr::unprocessable(format!(
                "name: a certificate named \"{name}\" already exists; names must be unique."
            )));
        }
        let rendered = st.render_cert(&entry);
        st.certificates.push(entry);
        rendered
    };
    s.persist().await?;
    with_status(StatusCode::CREATED, json!({ "certificate": rendered }))
}

async fn delete_cert(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    {
        let mut st = lock(&s.state);
        let i = st
            .certificates
            .iter()
            .position(|c| c.cert["id"] == id.as_str())
            .ok_or_else(ApiErr::not_found)?;
        if st.cert_in_use(&id) {
            return Err(ApiErr::forbidden(
                "Make sure the certificate is not in use before deleting it",
            ));
        }
        st.certificates.remove(i);
    }
    s.persist().await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Domains and records
// ---------------------------------------------------------------------------------------------

fn zone_file(d: &state::DomainEntry) -> String {
    let mut out = format!("$ORIGIN {}.\n$TTL {}\n", d.name, d.ttl);
    for r in &d.records {
        let name = r["name"].as_str().unwrap_or("@");
        let owner = if name == "@" {
            format!("{}.", d.name)
        } else {
            format!("{name}.{}.", d.name)
        };
        let kind = r["type"].as_str().unwrap_or("A");
        let data = r["data"].as_str().unwrap_or_default();
        if kind == "SOA" {
            out.push_str(&format!(
                "{owner} IN SOA ns1.digitalocean.com. hostmaster.{}. 1 10800 3600 604800 1800\n",
                d.name
            ));
            continue;
        }
        let data = match kind {
            "CAA" => format!(
                "{} {} \"{data}\"",
                r["flags"].as_u64().unwrap_or(0),
                r["tag"].as_str().unwrap_or("issue")
            ),
            "CNAME" | "NS" | "MX" if data == "@" => format!("{}.", d.name),
            "CNAME" | "NS" | "MX" if !data.ends_with('.') => format!("{data}."),
            "TXT" => format!("\"{data}\""),
            _ => data.to_string(),
        };
        let ttl = r["ttl"].as_u64().unwrap_or(d.ttl as u64);
        let prio = r["priority"]
            .as_u64()
            .map(|p| format!("{p} "))
            .unwrap_or_default();
        out.push_str(&format!("{owner} {ttl} IN {kind} {prio}{data}\n"));
    }
    out
}

fn render_domain(d: &state::DomainEntry) -> Value {
    json!({ "name": d.name, "ttl": d.ttl, "zone_file": zone_file(d) })
}

async fn domains(AxState(s): Shr, Query(q): Q) -> ApiResult {
    // The zone files are written after the lock is released.
    let domains = lock(&s.state).domains.clone();
    let items = domains.iter().map(render_domain).collect();
    paginate(&s, "/v2/domains", &q, "domains", items)
}

async fn domain(AxState(s): Shr, Path(name): Path<String>) -> ApiResult {
    let d = lock(&s.state)
        .domain(&name)
        .cloned()
        .ok_or_else(ApiErr::not_found)?;
    ok(json!({ "domain": render_domain(&d) }))
}

fn empty_record(id: u64) -> Value {
    json!({
        "id": id, "type": "", "name": "", "data": "", "priority": null, "port": null,
        "ttl": 1800, "weight": null, "flags": null, "tag": null,
    })
}

async fn create_domain(AxState(s): Shr, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name.is_empty() || !name.contains('.') {
        return Err(ApiErr::unprocessable("name: a domain name is required."));
    }
    let ip = body
        .get("ip_address")
        .and_then(Value::as_str)
        .map(str::to_string);
    {
        let mut st = lock(&s.state);
        if st.domains.iter().any(|d| d.name == name) {
            return Err(ApiErr::unprocessable(format!(
                "name: {name} already exists."
            )));
        }
        let mut records = Vec::new();
        let mut next = || {
            st.next_record_id += 1;
            st.next_record_id
        };
        let mut add = |kind: &str, n: &str, data: &str| {
            let mut r = empty_record(next());
            r["type"] = json!(kind);
            r["name"] = json!(n);
            r["data"] = json!(data);
            records.push(r);
        };
        add("SOA", "@", "1800");
        for ns in ["ns1", "ns2", "ns3"] {
            add("NS", "@", &format!("{ns}.digitalocean.com"));
        }
        if let Some(ip) = &ip {
            add("A", "@", ip);
        }
        st.domains.push(state::DomainEntry {
            name: name.clone(),
            ttl: 1800,
            records,
        });
    }
    s.persist().await?;
    with_status(
        StatusCode::CREATED,
        json!({ "domain": { "name": name, "ttl": 1800, "zone_file": null } }),
    )
}

async fn delete_domain(AxState(s): Shr, Path(name): Path<String>) -> ApiResult {
    {
        let mut st = lock(&s.state);
        let i = st
            .domains
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(&name))
            .ok_or_else(ApiErr::not_found)?;
        st.domains.remove(i);
    }
    s.persist().await?;
    no_content()
}

async fn records(AxState(s): Shr, Path(name): Path<String>, Query(q): Q) -> ApiResult {
    let items = {
        let st = lock(&s.state);
        let d = st.domain(&name).ok_or_else(ApiErr::not_found)?;
        d.records
            .iter()
            .filter(|r| q.get("type").is_none_or(|t| r["type"] == t.as_str()))
            .filter(|r| {
                // The `name` filter takes the fully qualified name.
                q.get("name").is_none_or(|n| {
                    let short = r["name"].as_str().unwrap_or_default();
                    let fqdn = if short == "@" {
                        d.name.clone()
                    } else {
                        format!("{short}.{}", d.name)
                    };
                    fqdn.eq_ignore_ascii_case(n.trim_end_matches('.'))
                })
            })
            .cloned()
            .collect()
    };
    paginate(
        &s,
        &format!("/v2/domains/{name}/records"),
        &q,
        "domain_records",
        items,
    )
}

async fn record(AxState(s): Shr, Path((name, rid)): Path<(String, String)>) -> ApiResult {
    let rid: u64 = rid.parse().map_err(|_| ApiErr::not_found())?;
    let r = {
        let st = lock(&s.state);
        let d = st.domain(&name).ok_or_else(ApiErr::not_found)?;
        d.records
            .iter()
            .find(|r| r["id"].as_u64() == Some(rid))
            .cloned()
            .ok_or_else(ApiErr::not_found)?
    };
    ok(json!({ "domain_record": r }))
}

const RECORD_TYPES: &[&str] = &["A", "AAAA", "CAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA"];

/// `@`, or dot-separated labels of letters, digits, `-` and `_` (a leading `*` label allowed).
fn valid_record_name(name: &str) -> bool {
    name == "@"
        || name.split('.').enumerate().all(|(i, label)| {
            (i == 0 && label == "*")
                || (!label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

/// Applies the writable fields of `body` to `record`, then checks the result.
fn apply_record_fields(record: &mut Value, body: &Map<String, Value>) -> Result<(), ApiErr> {
    for key in [
        "type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag",
    ] {
        if let Some(v) = body.get(key) {
            record[key] = v.clone();
        }
    }
    let kind = record["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if !RECORD_TYPES.contains(&kind.as_str()) {
        return Err(ApiErr::unprocessable(format!(
            "type: {kind:?} is not one of {}.",
            RECORD_TYPES.join(", ")
        )));
    }
    record["type"] = json!(kind);
    let name = record["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiErr::unprocessable(
            "name: a record needs a name (@ for the apex).",
        ));
    }
    if !valid_record_name(name) {
        return Err(ApiErr::unprocessable(format!(
            "name: {name:?} is not a valid record name."
        )));
    }
    let data = record["data"].as_str().unwrap_or_default();
    if data.is_empty() {
        return Err(ApiErr::unprocessable("data: a record needs data."));
    }
    if kind == "A" && data.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(ApiErr::unprocessable(format!(
            "data: {data} is not an IPv4 address."
        )));
    }
    if kind == "AAAA" && data.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(ApiErr::unprocessable(format!(
            "data: {data} is not an IPv6 address."
        )));
    }
    if !record["ttl"].is_u64() {
        record["ttl"] = json!(1800);
    }
    Ok(())
}

async fn create_record(AxState(s): Shr, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let rendered = {
        let mut st = lock(&s.state);
        let di = st
            .domains
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(&name))
            .ok_or_else(ApiErr::not_found)?;
        let mut r = empty_record(st.next_record_id + 1);
        apply_record_fields(&mut r, &body)?;
        st.next_record_id += 1;
        st.domains[di].records.push(r.clone());
        r
    };
    s.persist().await?;
    with_status(StatusCode::CREATED, json!({ "domain_record": rendered }))
}

async fn update_record(
    AxState(s): Shr,
    Path((name, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let rid: u64 = rid.parse().map_err(|_| ApiErr::not_found())?;
    let body = parse_object(&body)?;
    let rendered = {
        let mut st = lock(&s.state);
        let d = st.domain_mut(&name).ok_or_else(ApiErr::not_found)?;
        let r = d
            .records
            .iter_mut()
            .find(|r| r["id"].as_u64() == Some(rid))
            .ok_or_else(ApiErr::not_found)?;
        let mut updated = r.clone();
        apply_record_fields(&mut updated, &body)?;
        *r = updated.clone();
        updated
    };
    s.persist().await?;
    ok(json!({ "domain_record": rendered }))
}

async fn delete_record(AxState(s): Shr, Path((name, rid)): Path<(String, String)>) -> ApiResult {
    let rid: u64 = rid.parse().map_err(|_| ApiErr::not_found())?;
    {
        let mut st = lock(&s.state);
        let d = st.domain_mut(&name).ok_or_else(ApiErr::not_found)?;
        let i = d
            .records
            .iter()
            .position(|r| r["id"].as_u64() == Some(rid))
            .ok_or_else(ApiErr::not_found)?;
        d.records.remove(i);
    }
    s.persist().await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Sandbox controls (outside /v2, token-protected like the API)
// ---------------------------------------------------------------------------------------------

async fn sandbox_backends(AxState(s): Shr) -> ApiResult {
    ok(json!({ "backends": s.backends() }))
}

async fn sandbox_dns(AxState(s): Shr) -> ApiResult {
    ok(json!({ "addr": s.dns_addr().to_string() }))
}

async fn sandbox_ca(AxState(s): Shr) -> ApiResult {
    Ok(Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/x-pem-file")
        .body(Body::from(s.ca_pem.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

async fn sandbox_fail_next(AxState(s): Shr, body: Bytes) -> ApiResult {
    let body = parse_object(&body)?;
    let status = body
        .get("status")
        .and_then(Value::as_u64)
        .filter(|s| (400..=599).contains(s))
        .ok_or_else(|| {
            ApiErr::unprocessable("status: an HTTP error status 400..599 is required.")
        })?;
    let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
    s.fail_next(status as u16, count.min(u32::MAX as u64) as u32);
    no_content()
}

async fn sandbox_fix_certificate(AxState(s): Shr, Path(id): Path<String>) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| ApiErr::not_found())?;
    match s.fix_droplet_certificate(id).await {
        Ok(()) => no_content(),
        Err(SandboxError::UnknownDroplet(_)) => Err(ApiErr::not_found()),
        Err(e) => Err(ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            e.to_string(),
        )),
    }
}

/// `{"type": "power_off"}` or `{"type": "power_on"}` (DigitalOcean's droplet action types; its
/// actions endpoint is not in the spec Cutover keeps). Answers the droplet's status and whether
/// it changed.
async fn sandbox_power(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| ApiErr::not_found())?;
    let body = parse_object(&body)?;
    let on = match body.get("type").and_then(Value::as_str) {
        Some("power_on") => true,
        Some("power_off") => false,
        _ => {
            return Err(ApiErr::unprocessable(
                "type: \"power_off\" or \"power_on\" is required.",
            ))
        }
    };
    if s.is_generated_droplet(id) {
        return Err(ApiErr::unprocessable(
            "This droplet shares its server with the other generated droplets: only the seeded droplets can be powered off and on.",
        ));
    }
    match s.set_droplet_power(id, on).await {
        Ok(changed) => ok(json!({
            "id": id,
            "status": if on { "active" } else { "off" },
            "changed": changed,
        })),
        Err(SandboxError::UnknownDroplet(_)) => Err(ApiErr::not_found()),
        Err(e) => Err(ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            e.to_string(),
        )),
    }
}

/// `{"expects_proxy_protocol": bool, "rejects_proxy_protocol": bool, "missing_paths": [..],
/// "tls": bool}`, every field optional: the given ones change. Answers the whole behaviour.
async fn sandbox_behaviour(AxState(s): Shr, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| ApiErr::not_found())?;
    let body = parse_object(&body)?;
    if s.is_generated_droplet(id) {
        return Err(ApiErr::unprocessable(
            "This droplet shares its server with the other generated droplets: only the seeded droplets can be told how to behave.",
        ));
    }
    let mut behaviour = s.droplet_behaviour(id).ok_or_else(ApiErr::not_found)?;
    let flag = |key: &str, into: &mut bool| -> Result<(), ApiErr> {
        match body.get(key) {
            None => Ok(()),
            Some(Value::Bool(b)) => {
                *into = *b;
                Ok(())
            }
            Some(_) => Err(ApiErr::unprocessable(format!(
                "{key} must be true or false."
            ))),
        }
    };
    flag(
        "expects_proxy_protocol",
        &mut behaviour.expects_proxy_protocol,
    )?;
    flag(
        "rejects_proxy_protocol",
        &mut behaviour.rejects_proxy_protocol,
    )?;
    flag("tls", &mut behaviour.tls)?;
    if let Some(paths) = body.get("missing_paths") {
        let paths: Option<Vec<String>> = paths.as_array().and_then(|a| {
            a.iter()
                .map(|p| {
                    p.as_str()
                        .filter(|p| p.starts_with('/'))
                        .map(str::to_string)
                })
                .collect()
        });
        behaviour.missing_paths = paths.ok_or_else(|| {
            ApiErr::unprocessable("missing_paths must be a list of paths starting with \"/\".")
        })?;
    }
    match s.set_droplet_behaviour(id, behaviour.clone()).await {
        Ok(()) => ok(json!({ "id": id, "behaviour": behaviour })),
        Err(SandboxError::UnknownDroplet(_)) => Err(ApiErr::not_found()),
        Err(e) => Err(ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            e.to_string(),
        )),
    }
}

/// Requests answered so far, by kind: a benchmark reads it before and after a refresh.
async fn sandbox_requests(AxState(s): Shr) -> ApiResult {
    let monitoring = s
        .monitoring_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    ok(json!({ "monitoring": monitoring }))
}
