//! Backend preflight: before an edit that changes how DigitalOcean talks to the droplets, probe
//! every droplet the way the new configuration would, and the way the current one does, so the
//! review can say "after this change 0 of 3 droplets pass the health check: web-1 answers 400 to
//! a PROXY header".
//!
//! The classic outage behind a DigitalOcean load balancer is an edit the API accepts: PROXY
//! protocol turned on while the droplets do not expect it (traefik #5488, ingress-nginx #3996),
//! a health check moved to a port or path nobody serves, passthrough switched to termination
//! while the droplets only speak TLS. `validate_only` cannot see any of that; the droplets can.
//!
//! Each droplet is probed twice per configuration: the health check as DigitalOcean runs it
//! (tcp connect; or an HTTP(S) GET of its path, 200–399 passing, with a PROXY v1 line first when
//! the health check uses PROXY protocol), and the traffic path of the first rule (PROXY line when
//! enabled, then TLS for passthrough-like or HTTPS targets, or a plain HTTP request). A droplet
//! that cannot be reached from here at all (no public address, a timeout: a private network or a
//! firewall) is `unknown`, never `failing`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use cutover_certs::ProxyVersion;
use cutover_digitalocean::{Droplet, ForwardingRule, HealthCheck, LoadBalancer};

use crate::context::Connection;
use crate::error::ApiError;

/// How long one probe (connect + PROXY line + TLS + the first response line) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);
/// The most bytes read looking for an HTTP status line.
const STATUS_LINE_MAX: usize = 4096;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "outcome", content = "detail")]
pub enum ProbeVerdict {
    Pass(String),
    Fail(String),
    /// Could not be reached from here: says nothing about the droplet.
    Unknown(String),
}

impl ProbeVerdict {
    pub fn passes(&self) -> bool {
        matches!(self, ProbeVerdict::Pass(_))
    }

    fn fails(&self) -> bool {
        matches!(self, ProbeVerdict::Fail(_))
    }

    fn detail(&self) -> &str {
        match self {
            ProbeVerdict::Pass(d) | ProbeVerdict::Fail(d) | ProbeVerdict::Unknown(d) => d,
        }
    }
}

/// One droplet, now and after the change.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DropletPrediction {
    pub droplet: String,
    pub health_now: ProbeVerdict,
    pub health_after: ProbeVerdict,
    pub traffic_now: ProbeVerdict,
    pub traffic_after: ProbeVerdict,
}

impl DropletPrediction {
    fn passes_now(&self) -> bool {
        self.health_now.passes() && self.traffic_now.passes()
    }

    fn passes_after(&self) -> bool {
        self.health_after.passes() && self.traffic_after.passes()
    }
}

/// The prediction for an edit.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    /// What the edit changes that the droplets will notice.
    pub reasons: Vec<String>,
    pub droplets: Vec<DropletPrediction>,
    pub passing_now: u32,
    pub passing_after: u32,
    /// Droplets that could not be reached from here (neither passing nor failing).
    pub unknown: u32,
    /// One sentence for the review.
    pub summary: String,
    /// Fewer droplets would pass than now: Apply needs the load balancer's name typed.
    pub needs_confirmation: bool,
}

/// What changes between `before` and `after` that the droplets would notice; empty when the
/// edit does not touch how DigitalOcean talks to them.
pub fn reasons(before: &LoadBalancer, after: &LoadBalancer) -> Vec<String> {
    let mut out = Vec::new();
    if before.enable_proxy_protocol != after.enable_proxy_protocol {
        out.push(if after.enable_proxy_protocol {
            "PROXY protocol turned on".to_string()
        } else {
            "PROXY protocol turned off".to_string()
        });
    }
    let hc = |lb: &LoadBalancer| {
        lb.health_check.as_ref().map(|h| {
            (
                h.protocol.clone().map(|p| p.to_ascii_lowercase()),
                h.port,
                h.path.clone(),
                h.proxy_protocol,
            )
        })
    };
    if hc(before) != hc(after) {
        out.push("the health check changes".to_string());
    }
    let path = |lb: &LoadBalancer| {
        lb.forwarding_rules
            .iter()
            .map(|r| {
                (
                    r.target_protocol.to_ascii_lowercase(),
                    r.target_port,
                    r.tls_passthrough,
                )
            })
            .collect::<Vec<_>>()
    };
    if path(before) != path(after) {
        out.push("a rule's target protocol, port or passthrough changes".to_string());
    }
    if before.droplet_ids != after.droplet_ids || before.tag != after.tag {
        out.push("the droplets change".to_string());
    }
    out
}

/// Probes the droplets of `after` (and of `before`) when [`reasons`] says the edit matters to
/// them; `None` otherwise. `domain` is the SNI for TLS probes (none: the droplet's default).
pub async fn check(
    conn: &Connection,
    before: &LoadBalancer,
    after: &LoadBalancer,
    domain: Option<&str>,
) -> Result<Option<Preflight>, ApiError> {
    let reasons = reasons(before, after);
    if reasons.is_empty() {
        return Ok(None);
    }
    let all = crate::lb::members(conn, after).await?;
    let mut droplets: Vec<&Droplet> = all.iter().collect();
    // Droplets leaving the load balancer are not predicted; droplets joining are.
    droplets.sort_by_key(|d| d.id);
    let futures = droplets.iter().map(|d| async move {
        let resolve = |port: u16| conn.resolve(d, port);
        let (health_now, traffic_now, health_after, traffic_after) = tokio::join!(
            probe_health(before, resolve, domain),
            probe_traffic(before, resolve, domain),
            probe_health(after, resolve, domain),
            probe_traffic(after, resolve, domain),
        );
        DropletPrediction {
            droplet: crate::lb::droplet_label(d),
            health_now,
            health_after,
            traffic_now,
            traffic_after,
        }
    });
    let predictions = futures::future::join_all(futures).await;
    Ok(Some(summarise(reasons, predictions)))
}

/// One droplet's health check as DigitalOcean would run it now, run from here.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DropletProbe {
    #[specta(type = f64)]
    pub droplet_id: u64,
    pub droplet: String,
    pub health: ProbeVerdict,
}

/// How many droplets are probed at once: a tag-based load balancer may have hundreds.
const PROBE_CONCURRENCY: usize = 32;

/// Cutover's own verdict next to DigitalOcean's: the load balancer's health check as it is
/// configured now, run against each of its droplets from this machine (in droplet-id order).
/// A droplet this machine cannot reach is `Unknown`, never a failure.
pub async fn probe_health_now(conn: &Connection, lb: &str) -> Result<Vec<DropletProbe>, ApiError> {
    let lb = crate::lb::find(conn, lb).await?;
    let mut droplets = crate::lb::members(conn, &lb).await?;
    droplets.sort_by_key(|d| d.id);
    let mut probes = Vec::with_capacity(droplets.len());
    // In chunks rather than a buffered stream: a stream's combinators defeat the Send
    // inference a Tauri command's future needs.
    for chunk in droplets.chunks(PROBE_CONCURRENCY) {
        let futures = chunk.iter().map(|d| probe_one(conn, &lb, d));
        probes.extend(futures::future::join_all(futures).await);
    }
    Ok(probes)
}

async fn probe_one(conn: &Connection, lb: &LoadBalancer, droplet: &Droplet) -> DropletProbe {
    DropletProbe {
        droplet_id: droplet.id,
        droplet: crate::lb::droplet_label(droplet),
        health: probe_health(lb, |port| conn.resolve(droplet, port), None).await,
    }
}

/// Counts and the sentence, from the per-droplet predictions (pure).
pub fn summarise(reasons: Vec<String>, droplets: Vec<DropletPrediction>) -> Preflight {
    let count = |f: &dyn Fn(&DropletPrediction) -> bool| {
        u32::try_from(droplets.iter().filter(|d| f(d)).count()).unwrap_or(u32::MAX)
    };
    let passing_now = count(&|d| d.passes_now());
    let passing_after = count(&|d| d.passes_after());
    let unknown =
        count(&|d| !d.passes_after() && !d.health_after.fails() && !d.traffic_after.fails());
    let total = droplets.len();
    let first_failure = droplets.iter().find_map(|d| {
        [&d.health_after, &d.traffic_after]
            .into_iter()
            .find(|o| o.fails())
            .map(|o| format!("{}: {}", d.droplet, o.detail()))
    });
    let mut summary = format!(
        "After this change {passing_after} of {total} droplets would pass the health check and carry traffic (now {passing_now})"
    );
    if let Some(why) = &first_failure {
        summary.push_str(&format!("; {why}"));
    }
    if unknown > 0 {
        summary.push_str(&format!(
            "; {unknown} could not be reached from here (unknown, not failing)"
        ));
    }
    summary.push('.');
    // Only droplets predicted to fail count against the change: one that cannot be reached
    // from here says nothing either way.
    let failing = |now: bool| {
        droplets
            .iter()
            .filter(|d| {
                if now {
                    d.health_now.fails() || d.traffic_now.fails()
                } else {
                    d.health_after.fails() || d.traffic_after.fails()
                }
            })
            .count()
    };
    let needs_confirmation = failing(false) > failing(true);
    Preflight {
        reasons,
        needs_confirmation,
        droplets,
        passing_now,
        passing_after,
        unknown,
        summary,
    }
}

fn proxy_for_health(lb: &LoadBalancer, hc: &HealthCheck) -> bool {
    hc.proxy_protocol.unwrap_or(lb.enable_proxy_protocol)
}

/// The health check of `lb` against one droplet, as DigitalOcean runs it.
async fn probe_health(
    lb: &LoadBalancer,
    resolve: impl Fn(u16) -> Option<SocketAddr>,
    domain: Option<&str>,
) -> ProbeVerdict {
    let Some(hc) = lb.health_check.as_ref() else {
        return ProbeVerdict::Pass("no health check".to_string());
    };
    let protocol = hc
        .protocol
        .as_deref()
        .unwrap_or("http")
        .to_ascii_lowercase();
    let Some(port) = hc.port.and_then(|p| u16::try_from(p).ok()) else {
        return ProbeVerdict::Unknown("the health check has no port".to_string());
    };
    let Some(addr) = resolve(port) else {
        return ProbeVerdict::Unknown("no address to reach the droplet from here".to_string());
    };
    let proxy = proxy_for_health(lb, hc);
    let path = hc.path.clone().unwrap_or_else(|| "/".to_string());
    let what = format!(
        "health check {protocol} {port}{}",
        if protocol == "tcp" {
            String::new()
        } else {
            format!(" {path}")
        }
    );
    match protocol.as_str() {
        "tcp" => match connect(addr).await {
            Ok(_) => ProbeVerdict::Pass(format!("{what}: connects")),
            Err(outcome) => outcome.with_prefix(&what),
        },
        "https" => http_status(addr, proxy, Some(domain.unwrap_or("")), &path)
            .await
            .judge(&what),
        _ => http_status(addr, proxy, None, &path).await.judge(&what),
    }
}

/// The traffic path of the first rule that reaches the droplets, for one droplet.
async fn probe_traffic(
    lb: &LoadBalancer,
    resolve: impl Fn(u16) -> Option<SocketAddr>,
    domain: Option<&str>,
) -> ProbeVerdict {
    let Some(rule) = crate::lb::tls_rule(lb).or_else(|| lb.forwarding_rules.first()) else {
        return ProbeVerdict::Pass("no forwarding rule".to_string());
    };
    let Ok(port) = u16::try_from(rule.target_port) else {
        return ProbeVerdict::Unknown(format!("target port {} is not a port", rule.target_port));
    };
    let Some(addr) = resolve(port) else {
        return ProbeVerdict::Unknown("no address to reach the droplet from here".to_string());
    };
    let proxy = lb.enable_proxy_protocol;
    let proxy_words = if proxy { " after a PROXY header" } else { "" };
    if speaks_tls(rule) {
        match tls_handshake(addr, proxy, domain).await {
            Ok(()) => {
                ProbeVerdict::Pass(format!("TLS on {port}{proxy_words}: handshake completes"))
            }
            Err(outcome) => outcome.with_prefix(&format!("TLS on {port}{proxy_words}")),
        }
    } else if rule.target_protocol.eq_ignore_ascii_case("http")
        || rule.target_protocol.eq_ignore_ascii_case("http2")
    {
        let what = format!("HTTP on {port}{proxy_words}");
        match http_status(addr, proxy, None, "/").await {
            // Any HTTP answer but a 400 means the droplet understood the request; a 400 is
            // what nginx and traefik answer to a PROXY line they do not expect, or to plain
            // HTTP on a TLS port.
            HttpAnswer::Status(400, line) => ProbeVerdict::Fail(format!("{what}: answers {line}")),
            HttpAnswer::Status(_, line) => ProbeVerdict::Pass(format!("{what}: answers {line}")),
            other => other.judge(&what),
        }
    } else {
        match connect(addr).await {
            Ok(_) => ProbeVerdict::Pass(format!("tcp {port}: connects")),
            Err(outcome) => outcome.with_prefix(&format!("tcp {port}")),
        }
    }
}

/// Whether the droplets terminate TLS on this rule's target port.
fn speaks_tls(rule: &ForwardingRule) -> bool {
    rule.tls_passthrough
        || rule.target_protocol.eq_ignore_ascii_case("https")
        || (rule.entry_protocol.eq_ignore_ascii_case("tcp") && rule.entry_port == 443)
}

impl ProbeVerdict {
    fn with_prefix(self, what: &str) -> ProbeVerdict {
        match self {
            ProbeVerdict::Pass(d) => ProbeVerdict::Pass(format!("{what}: {d}")),
            ProbeVerdict::Fail(d) => ProbeVerdict::Fail(format!("{what}: {d}")),
            ProbeVerdict::Unknown(d) => ProbeVerdict::Unknown(format!("{what}: {d}")),
        }
    }
}

/// Connects; a refusal is a failure (the host answered), a timeout or no route is unknown.
async fn connect(addr: SocketAddr) -> Result<TcpStream, ProbeVerdict> {
    match tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(ProbeVerdict::Fail("connection refused".to_string()))
        }
        Ok(Err(e)) => Err(ProbeVerdict::Unknown(format!(
            "not reachable from here ({e})"
        ))),
        Err(_) => Err(ProbeVerdict::Unknown(
            "no answer from here (a firewall or a private network?)".to_string(),
        )),
    }
}

fn proxy_line(stream: &TcpStream, dst: SocketAddr) -> Vec<u8> {
    let src = stream
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    cutover_certs::proxy::proxy_header(ProxyVersion::V1, src, dst)
}

enum HttpAnswer {
    Status(u16, String),
    /// Connected, but the answer was no HTTP (a TLS alert, garbage, a close).
    NotHttp(String),
    Unreachable(ProbeVerdict),
}

impl HttpAnswer {
    /// Health-check rules: 200–399 passes.
    fn judge(self, what: &str) -> ProbeVerdict {
        match self {
            HttpAnswer::Status(code, line) if (200..400).contains(&code) => {
                ProbeVerdict::Pass(format!("{what}: answers {line}"))
            }
            HttpAnswer::Status(_, line) => ProbeVerdict::Fail(format!("{what}: answers {line}")),
            HttpAnswer::NotHttp(why) => ProbeVerdict::Fail(format!("{what}: {why}")),
            HttpAnswer::Unreachable(outcome) => outcome.with_prefix(what),
        }
    }
}

/// `GET path` (over TLS when `tls_sni` is given), with a PROXY v1 line first when `proxy`.
async fn http_status(
    addr: SocketAddr,
    proxy: bool,
    tls_sni: Option<&str>,
    path: &str,
) -> HttpAnswer {
    let mut stream = match connect(addr).await {
        Ok(s) => s,
        Err(outcome) => return HttpAnswer::Unreachable(outcome),
    };
    let host = tls_sni
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| addr.ip().to_string());
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Cutover-preflight\r\nConnection: close\r\n\r\n"
    );
    let work = async {
        if proxy {
            let line = proxy_line(&stream, addr);
            stream.write_all(&line).await?;
        }
        match tls_sni {
            Some(sni) => {
                let tls = tls_connect(stream, sni).await?;
                read_status(tls, request.as_bytes()).await
            }
            None => read_status(stream, request.as_bytes()).await,
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, work).await {
        Ok(Ok(Some((code, line)))) => HttpAnswer::Status(code, line),
        Ok(Ok(None)) => HttpAnswer::NotHttp("answers, but not with HTTP".to_string()),
        Ok(Err(e)) => HttpAnswer::NotHttp(format!("the connection failed ({e})")),
        Err(_) => HttpAnswer::NotHttp("connects, then no answer in time".to_string()),
    }
}

async fn read_status<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> std::io::Result<Option<(u16, String)>> {
    stream.write_all(request).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while buf.len() < STATUS_LINE_MAX && !buf.contains(&b'\n') {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let first = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(first).trim().to_string();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => {
            let shown: String = line.chars().take(80).collect();
            Ok(Some((code, shown)))
        }
        _ => Ok(None),
    }
}

async fn tls_handshake(
    addr: SocketAddr,
    proxy: bool,
    sni: Option<&str>,
) -> Result<(), ProbeVerdict> {
    let mut stream = connect(addr).await?;
    let work = async {
        if proxy {
            let line = proxy_line(&stream, addr);
            stream.write_all(&line).await?;
        }
        tls_connect(stream, sni.unwrap_or("")).await.map(drop)
    };
    match tokio::time::timeout(PROBE_TIMEOUT, work).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ProbeVerdict::Fail(format!("no TLS handshake ({e})"))),
        Err(_) => Err(ProbeVerdict::Fail(
            "connects, then no TLS handshake in time".to_string(),
        )),
    }
}

/// A TLS client that completes the handshake whatever the certificate: the preflight asks
/// "does this droplet speak TLS here?", the certificate check judges the certificate.
async fn tls_connect(
    stream: TcpStream,
    sni: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(cutover_balancer::AcceptAnyCert::new(provider)))
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(sni.to_string()).unwrap_or_else(|_| {
        rustls_pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())
    });
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A droplet's web server on 127.0.0.1: `requires_proxy` answers 400 without a PROXY line
    /// (nginx with `proxy_protocol` on); otherwise a PROXY line gets a 400 (nginx without it).
    /// `/health` is served only when `health_path`.
    async fn http_droplet(requires_proxy: bool, health_path: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 2048];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&got).to_string();
                    let has_proxy = text.starts_with("PROXY ");
                    let request_line = text
                        .lines()
                        .find(|l| l.starts_with("GET "))
                        .unwrap_or_default()
                        .to_string();
                    let status = if has_proxy != requires_proxy {
                        "400 Bad Request"
                    } else if request_line.contains("/health") && !health_path {
                        "404 Not Found"
                    } else {
                        "200 OK"
                    };
                    let _ = stream
                        .write_all(
                            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                });
            }
        });
        addr
    }

    async fn tls_droplet() -> SocketAddr {
        crate::init_tls();
        let cert = rcgen::generate_simple_self_signed(vec!["shop.test".to_string()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
        addr
    }

    fn lb(value: serde_json::Value) -> LoadBalancer {
        serde_json::from_value(value).unwrap()
    }

    fn http_lb(proxy: bool, hc_path: &str) -> LoadBalancer {
        lb(serde_json::json!({
            "id": "x", "name": "web", "enable_proxy_protocol": proxy,
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80,
                "target_protocol": "http", "target_port": 80}],
            "health_check": {"protocol": "http", "port": 80, "path": hc_path},
        }))
    }

    #[tokio::test]
    async fn proxy_protocol_on_for_droplets_that_do_not_speak_it_fails_both_ways() {
        let addr = http_droplet(false, true).await;
        let at = |_port: u16| Some(addr);
        let before = http_lb(false, "/");
        let after = http_lb(true, "/");
        assert!(probe_health(&before, at, None).await.passes());
        assert!(probe_traffic(&before, at, None).await.passes());
        let health = probe_health(&after, at, None).await;
        assert!(
            matches!(&health, ProbeVerdict::Fail(d) if d.contains("400")),
            "{health:?}"
        );
        let traffic = probe_traffic(&after, at, None).await;
        assert!(
            matches!(&traffic, ProbeVerdict::Fail(d) if d.contains("400")),
            "{traffic:?}"
        );
    }

    #[tokio::test]
    async fn probing_now_fails_the_stopped_droplet_only() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        sandbox
            .set_droplet_power(cutover_sandbox::WEB_2, false)
            .await
            .unwrap();
        let probes = probe_health_now(&conn, cutover_sandbox::LB_SHOP_ID)
            .await
            .unwrap();
        let verdicts: Vec<(&str, bool)> = probes
            .iter()
            .map(|p| (p.droplet.as_str(), p.health.passes()))
            .collect();
        assert_eq!(
            verdicts,
            [("web-1", true), ("web-2", false), ("web-3", true)],
            "{probes:?}"
        );
        assert!(probes[1].health.fails(), "refused, not unknown: {probes:?}");
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn droplets_that_require_proxy_fail_without_it() {
        let addr = http_droplet(true, true).await;
        let at = |_port: u16| Some(addr);
        assert!(probe_traffic(&http_lb(true, "/"), at, None).await.passes());
        assert!(!probe_traffic(&http_lb(false, "/"), at, None).await.passes());
    }

    #[tokio::test]
    async fn a_health_path_nobody_serves_fails_the_health_check() {
        let addr = http_droplet(false, false).await;
        let at = |_port: u16| Some(addr);
        let outcome = probe_health(&http_lb(false, "/health"), at, None).await;
        assert!(
            matches!(&outcome, ProbeVerdict::Fail(d) if d.contains("404")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_plain_http_droplet_behind_a_passthrough_rule_fails_and_a_tls_one_passes() {
        let passthrough = lb(serde_json::json!({
            "id": "x", "name": "shop",
            "forwarding_rules": [{"entry_protocol": "https", "entry_port": 443,
                "target_protocol": "https", "target_port": 443, "tls_passthrough": true}],
        }));
        let plain = http_droplet(false, true).await;
        let outcome = probe_traffic(&passthrough, |_| Some(plain), Some("shop.test")).await;
        assert!(
            matches!(&outcome, ProbeVerdict::Fail(d) if d.contains("TLS")),
            "{outcome:?}"
        );
        let tls = tls_droplet().await;
        let outcome = probe_traffic(&passthrough, |_| Some(tls), Some("shop.test")).await;
        assert!(outcome.passes(), "{outcome:?}");
    }

    #[tokio::test]
    async fn an_unreachable_droplet_is_unknown_not_failing() {
        let outcome = probe_health(&http_lb(false, "/"), |_| None, None).await;
        assert!(matches!(outcome, ProbeVerdict::Unknown(_)), "{outcome:?}");
    }

    #[test]
    fn fewer_passing_after_than_now_needs_the_name_typed() {
        let pass = || ProbeVerdict::Pass("ok".into());
        let fail = |d: &str| ProbeVerdict::Fail(d.into());
        let p = summarise(
            vec!["PROXY protocol turned on".into()],
            vec![
                DropletPrediction {
                    droplet: "web-1".into(),
                    health_now: pass(),
                    health_after: fail("health check http 80 /: answers HTTP/1.1 400 Bad Request"),
                    traffic_now: pass(),
                    traffic_after: pass(),
                },
                DropletPrediction {
                    droplet: "web-2".into(),
                    health_now: pass(),
                    health_after: ProbeVerdict::Unknown("no answer".into()),
                    traffic_now: pass(),
                    traffic_after: pass(),
                },
            ],
        );
        assert_eq!((p.passing_now, p.passing_after, p.unknown), (2, 0, 1));
        assert!(p.needs_confirmation);
        assert!(p.summary.contains("0 of 2"), "{}", p.summary);
        assert!(p.summary.contains("web-1: health check"), "{}", p.summary);
        assert!(
            p.summary.contains("1 could not be reached"),
            "{}",
            p.summary
        );
    }

    #[test]
    fn droplets_that_cannot_be_reached_never_ask_for_the_name() {
        let pass = || ProbeVerdict::Pass("ok".into());
        let p = summarise(
            vec!["the health check changes".into()],
            vec![DropletPrediction {
                droplet: "api-1".into(),
                health_now: pass(),
                health_after: ProbeVerdict::Unknown("no address from here".into()),
                traffic_now: pass(),
                traffic_after: pass(),
            }],
        );
        assert_eq!((p.passing_now, p.passing_after, p.unknown), (1, 0, 1));
        assert!(!p.needs_confirmation);
    }

    #[test]
    fn only_edits_the_droplets_notice_are_preflighted() {
        let a = http_lb(false, "/");
        let mut b = a.clone();
        b.http_idle_timeout_seconds = Some(90);
        assert!(reasons(&a, &b).is_empty());
        b.enable_proxy_protocol = true;
        assert_eq!(reasons(&a, &b), ["PROXY protocol turned on"]);
    }

    /// Issue 16 on the Sandbox: droplets told to miss the health path or to stop speaking TLS
    /// are the ones predicted to fail, and only they.
    #[tokio::test]
    async fn sandbox_droplets_told_to_misbehave_are_exactly_the_ones_predicted_to_fail() {
        use cutover_sandbox::{DropletBehaviour, LB_SHOP_ID, WEB_2, WEB_3};
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let tell = |id: u64, change: &dyn Fn(&mut DropletBehaviour)| {
            let mut b = sandbox.droplet_behaviour(id).unwrap();
            change(&mut b);
            b
        };
        let web_2 = tell(WEB_2, &|b| b.missing_paths = vec!["/healthz".to_string()]);
        sandbox.set_droplet_behaviour(WEB_2, web_2).await.unwrap();

        let before = crate::lb::find(&conn, LB_SHOP_ID).await.unwrap();
        let mut after = before.clone();
        let hc = after.health_check.get_or_insert_with(Default::default);
        hc.protocol = Some("http".to_string());
        hc.port = Some(80);
        hc.path = Some("/healthz".to_string());
        let verdicts = |p: &Preflight, pick: fn(&DropletPrediction) -> &ProbeVerdict| {
            p.droplets
                .iter()
                .map(|d| (d.droplet.clone(), pick(d).passes()))
                .collect::<Vec<_>>()
        };
        let expect = |w1, w2, w3| {
            vec![
                ("web-1".to_string(), w1),
                ("web-2".to_string(), w2),
                ("web-3".to_string(), w3),
            ]
        };

        let p = check(&conn, &before, &after, None).await.unwrap().unwrap();
        assert_eq!(
            verdicts(&p, |d| &d.health_now),
            expect(true, true, true),
            "{p:?}"
        );
        assert_eq!(
            verdicts(&p, |d| &d.health_after),
            expect(true, false, true),
            "{p:?}"
        );
        assert!(
            matches!(&p.droplets[1].health_after, ProbeVerdict::Fail(d) if d.contains("404")),
            "{p:?}"
        );
        assert_eq!(
            verdicts(&p, |d| &d.traffic_after),
            expect(true, true, true),
            "{p:?}"
        );
        assert_eq!((p.passing_now, p.passing_after), (3, 2), "{p:?}");
        assert!(p.needs_confirmation);

        // web-3 stops speaking TLS: the passthrough rule's traffic probe fails for it alone.
        let web_3 = tell(WEB_3, &|b| b.tls = false);
        sandbox.set_droplet_behaviour(WEB_3, web_3).await.unwrap();
        let p = check(&conn, &before, &after, None).await.unwrap().unwrap();
        assert_eq!(
            verdicts(&p, |d| &d.traffic_now),
            expect(true, true, false),
            "{p:?}"
        );
        assert_eq!(
            verdicts(&p, |d| &d.traffic_after),
            expect(true, true, false),
            "{p:?}"
        );
        assert!(
            p.droplets[2].traffic_after.fails(),
            "failing, not unknown: {p:?}"
        );
        assert_eq!(
            verdicts(&p, |d| &d.health_after),
            expect(true, false, true),
            "{p:?}"
        );
        sandbox.shutdown().await;
    }
}
