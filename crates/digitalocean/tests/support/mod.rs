//! A small scripted DigitalOcean for the client's tests: an axum server on 127.0.0.1:0 that
//! records every request, checks the bearer token, validates every request body (and every
//! JSON response it sends) against the OpenAPI spec, and answers with whatever the test's
//! handler returns.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use cutover_digitalocean::contract::Spec;
use cutover_digitalocean::{Client, ClientConfig};
use serde_json::{json, Value};

pub mod raw;

pub const TOKEN: &str = "dop_v1_testtoken0000000000000000000000000000000000000000000000000001";

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Option<Value>,
    pub authorization: Option<String>,
}

impl Seen {
    pub fn page(&self) -> u32 {
        self.query
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    }
}

/// What the handler answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub raw: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Injected latency before answering.
    pub delay: Duration,
    /// Skip the response contract check (for deliberately broken answers).
    pub off_contract: bool,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            raw: None,
            headers: Vec::new(),
            delay: Duration::ZERO,
            off_contract: false,
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            raw: None,
            headers: Vec::new(),
            delay: Duration::ZERO,
            off_contract: false,
        }
    }

    /// DigitalOcean's error shape.
    pub fn error(status: u16, id: &str, message: &str) -> Self {
        Self::json(
            status,
            json!({"id": id, "message": message, "request_id": format!("req-{id}")}),
        )
    }

    pub fn raw(status: u16, text: &str) -> Self {
        Self {
            status,
            body: None,
            raw: Some(text.to_string()),
            headers: Vec::new(),
            delay: Duration::ZERO,
            off_contract: true,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn off_contract(mut self) -> Self {
        self.off_contract = true;
        self
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    seen: Mutex<Vec<Seen>>,
    violations: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    contract_checks: AtomicBool,
}

pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            seen: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            contract_checks: AtomicBool::new(true),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let state = state.clone();
            async move { handle(state, req).await }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client for this server with tiny backoffs.
    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    pub fn config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new(TOKEN).with_base_url(self.base_url());
        cfg.max_retries = 3;
        cfg.retry_wait_min = Duration::from_millis(5);
        cfg.retry_wait_max = Duration::from_millis(20);
        cfg.max_total_wait = Duration::from_secs(5);
        cfg.timeout = Duration::from_secs(10);
        cfg
    }

    /// Turns the spec checks off (for timing the client alone) or back on.
    pub fn set_contract_checks(&self, on: bool) {
        self.shared.contract_checks.store(on, Ordering::SeqCst);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }

    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request body (and JSON response) so far matched the spec.
    pub fn assert_contract(&self) {
        let v = self.shared.violations.lock().unwrap();
        assert!(v.is_empty(), "contract violations:\n{}", v.join("\n"));
    }

    /// How many request bodies were checked against the spec.
    pub fn bodies_checked(&self) -> usize {
        self.seen().iter().filter(|s| s.body.is_some()).count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(state: Arc<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 24).await.unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                state.violations.lock().unwrap().push(format!(
                    "{} {}: body is not JSON: {e}",
                    parts.method, parts.uri
                ));
                None
            }
        }
    };
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        body: body.clone(),
        authorization: parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    state.seen.lock().unwrap().push(seen.clone());

    let spec = Spec::get();
    let checks = state.contract_checks.load(Ordering::SeqCst);
    if let (true, Some(body)) = (checks, &body) {
        if let Err(v) = spec.validate_request(&seen.method, &seen.path, body) {
            state.violations.lock().unwrap().extend(v);
        }
    }

    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = if seen.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        Reply::error(401, "unauthorized", "Unable to authenticate you.")
    } else {
        (state.handler)(&seen)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);

    if checks && !reply.off_contract {
        if let Err(v) =
            spec.validate_response(&seen.method, &seen.path, reply.status, reply.body.as_ref())
        {
            state.violations.lock().unwrap().extend(v);
        }
    }

    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", HeaderValue::from_static("hdr-request-id"));
    headers.insert("ratelimit-limit", HeaderValue::from_static("5000"));
    headers.insert("ratelimit-remaining", HeaderValue::from_static("4999"));
    headers.insert("ratelimit-reset", HeaderValue::from_static("1900000000"));
    for (name, value) in &reply.headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let body = match (&reply.body, &reply.raw) {
        (Some(v), _) => {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            Body::from(serde_json::to_vec(v).unwrap())
        }
        (None, Some(raw)) => Body::from(raw.clone()),
        (None, None) => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    *response.headers_mut() = headers;
    response
}

// ---------------------------------------------------------------------------------------------
// Fixtures (shaped like the spec's examples, so that they validate)
// ---------------------------------------------------------------------------------------------

pub fn region() -> Value {
    json!({
        "name": "New York 3", "slug": "nyc3",
        "features": ["private_networking", "backups", "ipv6", "metadata"],
        "available": true, "sizes": ["s-1vcpu-1gb", "s-1vcpu-2gb"]
    })
}

/// A load balancer, numbered so that listings can be checked in order.
pub fn lb(n: usize) -> Value {
    json!({
        "id": format!("4de7ac8b-495b-4884-9a69-{:012}", n),
        "name": format!("lb-{n:04}"),
        "ip": "104.131.186.241",
        "size_unit": 1,
        "status": "active",
        "created_at": "2017-02-01T22:22:58Z",
        "forwarding_rules": [
            {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80,
             "certificate_id": "", "tls_passthrough": false},
            {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 443,
             "certificate_id": "", "tls_passthrough": true}
        ],
        "health_check": {"protocol": "http", "port": 80, "path": "/", "check_interval_seconds": 10,
                         "response_timeout_seconds": 5, "healthy_threshold": 5, "unhealthy_threshold": 3},
        "sticky_sessions": {"type": "none"},
        "region": region(),
        "tag": "",
        "droplet_ids": [3164444, 3164445],
        "redirect_http_to_https": false,
        "enable_proxy_protocol": true,
        "enable_backend_keepalive": false,
        "http_idle_timeout_seconds": 60,
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
        "disable_lets_encrypt_dns_records": false,
        "firewall": {"deny": ["cidr:1.2.0.0/16"], "allow": ["ip:1.2.3.4"]},
        "network": "EXTERNAL",
        "network_stack": "IPV4",
        "type": "REGIONAL",
        "tls_cipher_policy": "DEFAULT",
        "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
    })
}

/// A page of a listing of `total` items made by `make`, as DigitalOcean links it.
pub fn page_of(
    key: &str,
    path: &str,
    total: usize,
    page: u32,
    per_page: u32,
    make: impl Fn(usize) -> Value,
) -> Value {
    let per_page = per_page.max(1) as usize;
    let pages = total.div_ceil(per_page).max(1) as u32;
    let start = (page as usize - 1) * per_page;
    let items: Vec<Value> = (start..(start + per_page).min(total)).map(make).collect();
    let base = format!("https://api.digitalocean.com{path}");
    let mut links = serde_json::Map::new();
    if page < pages {
        links.insert(
            "next".into(),
            json!(format!("{base}?page={}&per_page={per_page}", page + 1)),
        );
        links.insert(
            "last".into(),
            json!(format!("{base}?page={pages}&per_page={per_page}")),
        );
    }
    if page > 1 {
        links.insert(
            "first".into(),
            json!(format!("{base}?page=1&per_page={per_page}")),
        );
        links.insert(
            "prev".into(),
            json!(format!("{base}?page={}&per_page={per_page}", page - 1)),
        );
    }
    let links = if links.is_empty() {
        json!({})
    } else {
        json!({"pages": links})
    };
    json!({ key: items, "links": links, "meta": {"total": total} })
}

pub fn droplet(id: u64, name: &str, public_ip: &str) -> Value {
    json!({
        "id": id, "name": name, "memory": 1024, "vcpus": 1, "disk": 25,
        "locked": false, "status": "active", "kernel": null,
        "created_at": "2020-07-21T18:37:44Z",
        "features": ["private_networking"], "backup_ids": [], "next_backup_window": null,
        "snapshot_ids": [],
        "image": {"id": 63663980, "name": "20.04 (LTS) x64", "distribution": "Ubuntu",
                  "slug": "ubuntu-20-04-x64", "public": true, "regions": ["nyc3"],
                  "created_at": "2020-05-15T05:47:50Z", "type": "snapshot", "min_disk_size": 20,
                  "size_gigabytes": 2.36, "description": "", "tags": [], "status": "available",
                  "error_message": ""},
        "volume_ids": [],
        "size": {"slug": "s-1vcpu-1gb", "memory": 1024, "vcpus": 1, "disk": 25, "transfer": 1,
                 "price_monthly": 5, "price_hourly": 0.00744, "regions": ["nyc3"],
                 "available": true, "description": "Basic"},
        "size_slug": "s-1vcpu-1gb",
        "networks": {"v4": [
            {"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
            {"ip_address": public_ip, "netmask": "255.255.255.0", "gateway": "192.241.165.1", "type": "public"}
        ], "v6": []},
        "region": region(),
        "tags": ["web"],
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b"
    })
}

pub fn certificate(id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "not_after": "2030-02-22T00:23:00Z",
        "sha1_fingerprint": "dfcc9f57d86bf58e321c2c6c31c7a971be244ac7",
        "created_at": "2024-02-08T16:02:37Z", "dns_names": ["www.example.com", "example.com"],
        "state": "verified", "type": "lets_encrypt"
    })
}
