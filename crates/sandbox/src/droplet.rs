//! The droplets' own servers: each droplet is a real HTTPS server (and a plain-HTTP one) on
//! 127.0.0.1, serving a page that names the droplet, optionally behind a PROXY protocol header.
//!
//! A droplet can be powered off and on ([`RunningDroplet::power_off`]): off, its listeners are
//! closed (connections are refused, open ones dropped, as a stopped machine's would be); on, it
//! listens again on the same ports. When it was off is kept ([`OffSpan`]) for the monitoring
//! series.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ca::LeafCert;
use crate::SandboxError;

/// How long a client may take to send its PROXY header and finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const PROXY_V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
const PROXY_V1_SIGNATURE: &[u8] = b"PROXY ";
/// The longest v1 header the spec allows, CRLF included.
const PROXY_V1_MAX: usize = 107;

/// What a droplet server needs to know about its droplet.
#[derive(Debug, Clone)]
pub struct DropletSpec {
    pub id: u64,
    pub name: String,
    pub public_ipv4: Ipv4Addr,
    pub private_ipv4: Ipv4Addr,
    /// Refuse connections that do not start with a PROXY protocol header.
    pub expects_proxy_protocol: bool,
    /// Answer a PROXY header it does not expect as nginx without `proxy_protocol` does.
    pub rejects_proxy_protocol: bool,
}

/// How a droplet's servers behave, changeable while they run (issue 16: so the backend
/// preflight's cases are real offline). Read afresh for every connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DropletBehaviour {
    /// Refuse connections that do not start with a PROXY protocol header.
    pub expects_proxy_protocol: bool,
    /// Answer a PROXY header it does not expect as nginx without `proxy_protocol` does.
    pub rejects_proxy_protocol: bool,
    /// Paths answered `404 Not Found` (on HTTP and HTTPS); every other path answers 200.
    pub missing_paths: Vec<String>,
    /// False: the HTTPS port answers as a plain HTTP server (a backend that stopped speaking
    /// TLS), so a TLS client's handshake fails.
    pub tls: bool,
}

impl Default for DropletBehaviour {
    fn default() -> Self {
        Self {
            expects_proxy_protocol: false,
            rejects_proxy_protocol: false,
            missing_paths: Vec::new(),
            tls: true,
        }
    }
}

type SharedBehaviour = Arc<RwLock<Arc<DropletBehaviour>>>;

/// A droplet's HTTPS (port 443) and HTTP (port 80) listeners.
pub struct RunningDroplet {
    pub spec: Arc<DropletSpec>,
    pub https_addr: SocketAddr,
    pub http_addr: SocketAddr,
    tls: Arc<RwLock<Arc<ServerConfig>>>,
    behaviour: SharedBehaviour,
    /// The servers while powered on; an async lock, so a power change (closing or binding the
    /// listeners) is never interleaved with another.
    power: tokio::sync::Mutex<Option<Powered>>,
    /// When it was off, oldest first (a plain lock: the monitoring series read it in sync code).
    off: std::sync::Mutex<Vec<OffSpan>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The listeners of one power cycle.
struct Powered {
    /// Cancelled at power-off: the accept loops and their connections end.
    cycle: CancellationToken,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

/// A time the droplet was powered off, in Unix milliseconds; `until_ms` is `None` while it
/// still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffSpan {
    pub from_ms: u64,
    pub until_ms: Option<u64>,
}

/// The PROXY header a connection started with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProxyInfo {
    pub version: u8,
    pub source: Option<String>,
    pub destination: Option<String>,
}

pub fn server_config(cert: &LeafCert) -> Result<Arc<ServerConfig>, SandboxError> {
    // An explicit provider: the process-wide default may be ambiguous when other crates in the
    // same binary enable another rustls backend.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert_der.clone()], cert.key_der())
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl RunningDroplet {
    pub async fn start(
        spec: DropletSpec,
        cert: &LeafCert,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Self, SandboxError> {
        let tls = Arc::new(RwLock::new(server_config(cert)?));
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let https = bind(any_port).await?;
        let http = bind(any_port).await?;
        let https_addr = https.local_addr().map_err(SandboxError::Io)?;
        let http_addr = http.local_addr().map_err(SandboxError::Io)?;
        let behaviour = Arc::new(RwLock::new(Arc::new(DropletBehaviour {
            expects_proxy_protocol: spec.expects_proxy_protocol,
            rejects_proxy_protocol: spec.rejects_proxy_protocol,
            ..DropletBehaviour::default()
        })));
        let droplet = Self {
            spec: Arc::new(spec),
            https_addr,
            http_addr,
            tls,
            behaviour,
            power: tokio::sync::Mutex::new(None),
            off: std::sync::Mutex::new(Vec::new()),
            shutdown,
            tasks,
        };
        *droplet.power.lock().await = Some(droplet.serve(https, http));
        Ok(droplet)
    }

    fn serve(&self, https: TcpListener, http: TcpListener) -> Powered {
        let cycle = self.shutdown.child_token();
        let loops = vec![
            spawn_accept_loop(
                https,
                self.spec.clone(),
                Some(self.tls.clone()),
                self.behaviour.clone(),
                cycle.clone(),
                self.tasks.clone(),
            ),
            spawn_accept_loop(
                http,
                self.spec.clone(),
                None,
                self.behaviour.clone(),
                cycle.clone(),
                self.tasks.clone(),
            ),
        ];
        Powered { cycle, loops }
    }

    /// Powers the droplet off: once this returns, its ports refuse connections and the open
    /// ones are closed. False when it already was off.
    pub async fn power_off(&self) -> bool {
        let mut power = self.power.lock().await;
        let Some(powered) = power.take() else {
            return false;
        };
        powered.cycle.cancel();
        // The listeners are closed when their loops end: wait, so that "off" means refused.
        for handle in powered.loops {
            let _ = handle.await;
        }
        self.off_spans_mut().push(OffSpan {
            from_ms: crate::state::now_ms(),
            until_ms: None,
        });
        true
    }

    /// Powers it on again, on the same ports. False when it already was on; an error when a
    /// port was taken meanwhile (it then stays off).
    pub async fn power_on(&self) -> Result<bool, SandboxError> {
        let mut power = self.power.lock().await;
        if power.is_some() {
            return Ok(false);
        }
        let https = bind(self.https_addr).await?;
        let http = bind(self.http_addr).await?;
        *power = Some(self.serve(https, http));
        if let Some(last) = self.off_spans_mut().last_mut() {
            last.until_ms.get_or_insert_with(crate::state::now_ms);
        }
        Ok(true)
    }

    /// Whether it is off now.
    pub fn is_off(&self) -> bool {
        self.off_spans()
            .last()
            .is_some_and(|span| span.until_ms.is_none())
    }

    /// When it was off since the Sandbox started, oldest first.
    pub fn off_spans(&self) -> Vec<OffSpan> {
        self.off_spans_mut().clone()
    }

    fn off_spans_mut(&self) -> std::sync::MutexGuard<'_, Vec<OffSpan>> {
        // Plain data: a panic elsewhere while holding it leaves nothing half-written.
        self.off.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How it behaves now.
    pub fn behaviour(&self) -> DropletBehaviour {
        (**self.behaviour.read().unwrap_or_else(|p| p.into_inner())).clone()
    }

    /// Behave so from the next connection on (no restart: the listeners stay bound; open
    /// connections keep the behaviour they started with).
    pub fn set_behaviour(&self, behaviour: DropletBehaviour) {
        let mut guard = self.behaviour.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(behaviour);
    }

    /// Serve another certificate from the next connection on.
    pub fn set_certificate(&self, cert: &LeafCert) -> Result<(), SandboxError> {
        let config = server_config(cert)?;
        let mut guard = self.tls.write().unwrap_or_else(|p| p.into_inner());
        *guard = config;
        Ok(())
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SandboxError> {
    // tokio sets SO_REUSEADDR: a port closed at power-off can be bound again at once.
    TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })
}

/// Accepts until `shutdown` (the Sandbox stopping or the droplet powered off); the listener is
/// closed when the returned task ends.
fn spawn_accept_loop(
    listener: TcpListener,
    spec: Arc<DropletSpec>,
    tls: Option<Arc<RwLock<Arc<ServerConfig>>>>,
    behaviour: SharedBehaviour,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) -> tokio::task::JoinHandle<()> {
    let conn_tasks = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let behaviour =
                            behaviour.read().unwrap_or_else(|p| p.into_inner()).clone();
                        // With TLS off the HTTPS port is a plain HTTP server.
                        let config = tls.as_ref().filter(|_| behaviour.tls).map(|lock| {
                            lock.read().unwrap_or_else(|p| p.into_inner()).clone()
                        });
                        let spec = spec.clone();
                        let shutdown = shutdown.clone();
                        conn_tasks.spawn(async move {
                            tokio::select! {
                                _ = shutdown.cancelled() => {}
                                _ = handle_connection(stream, peer, spec, behaviour, config) => {}
                            }
                        });
                    }
                    Err(err) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(droplet = %spec.name, "accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    })
}

struct ConnContext {
    spec: Arc<DropletSpec>,
    behaviour: Arc<DropletBehaviour>,
    scheme: &'static str,
    sni: Option<String>,
    proxy: Option<ProxyInfo>,
    peer: SocketAddr,
}

async fn handle_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    spec: Arc<DropletSpec>,
    behaviour: Arc<DropletBehaviour>,
    tls: Option<Arc<ServerConfig>>,
) {
    let proxy = match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_proxy_header(&mut stream)).await
    {
        Ok(Ok(proxy)) => proxy,
        Ok(Err(err)) => {
            tracing::debug!(droplet = %spec.name, "bad PROXY header or early close: {err}");
            return;
        }
        Err(_) => return,
    };
    if behaviour.expects_proxy_protocol && proxy.is_none() {
        // Like nginx with `proxy_protocol` on: a connection without the header is dropped.
        tracing::debug!(droplet = %spec.name, %peer, "connection without PROXY header refused");
        return;
    }
    if behaviour.rejects_proxy_protocol && !behaviour.expects_proxy_protocol && proxy.is_some() {
        // Like nginx without `proxy_protocol`: the PROXY line is a malformed request on HTTP
        // (400) and garbage before the ClientHello on HTTPS (the handshake fails).
        tracing::debug!(droplet = %spec.name, %peer, "unexpected PROXY header refused");
        if tls.is_none() {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            // A lingering close, as nginx does: read what the client already sent so closing
            // does not reset the connection before the 400 is read.
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_millis(200), async {
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        return;
    }
    match tls {
        Some(config) => {
            let acceptor = TlsAcceptor::from(config);
            let tls_stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    _ => return,
                };
            let sni = tls_stream.get_ref().1.server_name().map(str::to_string);
            let ctx = ConnContext {
                spec,
                behaviour,
                scheme: "https",
                sni,
                proxy,
                peer,
            };
            serve_http(tls_stream, Arc::new(ctx)).await;
        }
        None => {
            let ctx = ConnContext {
                spec,
                behaviour,
                scheme: "http",
                sni: None,
                proxy,
                peer,
            };
            serve_http(stream, Arc::new(ctx)).await;
        }
    }
}

async fn serve_http<S>(io: S, ctx: Arc<ConnContext>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(page(&ctx, &req)) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn page(ctx: &ConnContext, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let details = serde_json::json!({
        "droplet_id": ctx.spec.id,
        "name": ctx.spec.name,
        "public_ipv4": ctx.spec.public_ipv4.to_string(),
        "private_ipv4": ctx.spec.private_ipv4.to_string(),
        "scheme": ctx.scheme,
        "sni": ctx.sni,
        "host": host,
        "path": req.uri().path(),
        "peer": ctx.peer.to_string(),
        "proxy_protocol": ctx.proxy,
    });
    if ctx
        .behaviour
        .missing_paths
        .iter()
        .any(|p| p == req.uri().path())
    {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"404 Not Found\n")));
        *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
        return resp;
    }
    let pretty = serde_json::to_string_pretty(&details).unwrap_or_default();
    let name = html_escape(&ctx.spec.name);
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title></head>\n<body><h1>{name}</h1>\n<p>Served by a Cutover Sandbox droplet.</p>\n<pre>{}</pre>\n</body></html>\n",
        html_escape(&pretty)
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&ctx.spec.name) {
        headers.insert("x-sandbox-droplet", v);
    }
    resp
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads a PROXY v1/v2 header if the connection starts with one, leaving everything after it
/// unread. Peeks first, so a connection without a header loses nothing.
async fn read_proxy_header(stream: &mut TcpStream) -> io::Result<Option<ProxyInfo>> {
    let mut buf = [0u8; 16];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let seen = &buf[..n];
        let maybe_v2 = PROXY_V2_SIGNATURE.starts_with(&seen[..n.min(PROXY_V2_SIGNATURE.len())]);
        let maybe_v1 = PROXY_V1_SIGNATURE.starts_with(&seen[..n.min(PROXY_V1_SIGNATURE.len())]);
        if !maybe_v1 && !maybe_v2 {
            return Ok(None);
        }
        if maybe_v2 && n >= 16 {
            let mut head = [0u8; 16];
            stream.read_exact(&mut head).await?;
            let len = u16::from_be_bytes([head[14], head[15]]) as usize;
            let mut full = head.to_vec();
            full.resize(16 + len, 0);
            stream.read_exact(&mut full[16..]).await?;
            return parse_proxy(&full).map(Some);
        }
        if maybe_v1 && n >= PROXY_V1_SIGNATURE.len() {
            // Byte by byte so nothing past the CRLF (the TLS ClientHello) is consumed.
            let mut line = Vec::with_capacity(PROXY_V1_MAX);
            while !line.ends_with(b"\r\n") {
                if line.len() >= PROXY_V1_MAX {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "PROXY v1 header too long",
                    ));
                }
                line.push(stream.read_u8().await?);
            }
            return parse_proxy(&line).map(Some);
        }
        // A prefix of a signature so far: wait for the rest (peek returns at once when data is
        // already buffered, hence the short sleep).
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn parse_proxy(bytes: &[u8]) -> io::Result<ProxyInfo> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    match ppp::HeaderResult::parse(bytes) {
        ppp::HeaderResult::V1(Ok(h)) => {
            let (source, destination) = match h.addresses {
                ppp::v1::Addresses::Tcp4(a) => (
                    Some(format!("{}:{}", a.source_address, a.source_port)),
                    Some(format!("{}:{}", a.destination_address, a.destination_port)),
                ),
                ppp::v1::Addresses::Tcp6(a) => (
                    Some(format!("[{}]:{}", a.source_address, a.source_port)),
                    Some(format!(
                        "[{}]:{}",
                        a.destination_address, a.destination_port
                    )),
                ),
                ppp::v1::Addresses::Unknown => (None, None),
            };
            Ok(ProxyInfo {
                version: 1,
                source,
                destination,
            })
        }
        ppp::HeaderResult::V2(Ok(h)) => {
            let (source, destination) = match h.addresses {
                ppp::v2::Addresses::IPv4(a) => (
                    Some(format!("{}:{}", a.source_address, a.source_port)),
                    Some(format!("{}:{}", a.destination_address, a.destination_port)),
                ),
                ppp::v2::Addresses::IPv6(a) => (
                    Some(format!("[{}]:{}", a.source_address, a.source_port)),
                    Some(format!(
                        "[{}]:{}",
                        a.destination_address, a.destination_port
                    )),
                ),
                _ => (None, None),
            };
            Ok(ProxyInfo {
                version: 2,
                source,
                destination,
            })
        }
        ppp::HeaderResult::V1(Err(e)) => Err(invalid(format!("PROXY v1: {e:?}"))),
        ppp::HeaderResult::V2(Err(e)) => Err(invalid(format!("PROXY v2: {e:?}"))),
    }
}

#[cfg(test)]
#[path = "../tests/common/tls_client.rs"]
mod tls_client;

#[cfg(test)]
mod tests {
    use super::tls_client::{http_get, https_get, proxy_v2};
    use super::*;
    use crate::ca::SandboxCa;

    fn spec(name: &str, expects_proxy_protocol: bool) -> DropletSpec {
        DropletSpec {
            rejects_proxy_protocol: false,
            id: 42,
            name: name.to_string(),
            public_ipv4: Ipv4Addr::new(127, 0, 0, 11),
            private_ipv4: Ipv4Addr::new(10, 10, 0, 11),
            expects_proxy_protocol,
        }
    }

    #[tokio::test]
    async fn serves_https_and_http_pages_naming_the_droplet() {
        let ca = SandboxCa::new().unwrap();
        let leaf = ca
            .issue(
                &["sandbox-shop.test", "*.sandbox-shop.test"],
                time::Duration::days(30),
            )
            .unwrap();
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let d = RunningDroplet::start(spec("web-1", false), &leaf, stop.clone(), tasks.clone())
            .await
            .unwrap();
        let reply = https_get(d.https_addr, ca.der(), "www.sandbox-shop.test", b"")
            .await
            .unwrap();
        assert!(reply.text.starts_with("HTTP/1.1 200"), "{}", reply.text);
        assert!(reply.text.contains("<h1>web-1</h1>"));
        assert!(
            reply.text.contains("www.sandbox-shop.test"),
            "SNI is echoed"
        );
        assert_eq!(reply.peer_certs[0], leaf.cert_der);
        let plain = http_get(d.http_addr, b"").await.unwrap();
        assert!(plain.contains("<h1>web-1</h1>"));
        assert!(plain.contains("&quot;scheme&quot;: &quot;http&quot;"));
        // A lenient droplet also accepts a PROXY header and reports it.
        let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.11 51000 443\r\n";
        let reply = https_get(d.https_addr, ca.der(), "sandbox-shop.test", v1)
            .await
            .unwrap();
        assert!(reply.text.contains("203.0.113.7:51000"), "{}", reply.text);

        // Swapping the certificate takes effect for new connections.
        let other = ca
            .issue(&["sandbox-shop.test"], time::Duration::days(3))
            .unwrap();
        d.set_certificate(&other).unwrap();
        let reply = https_get(d.https_addr, ca.der(), "sandbox-shop.test", b"")
            .await
            .unwrap();
        assert_eq!(reply.peer_certs[0], other.cert_der);

        stop.cancel();
        tasks.close();
        tasks.wait().await;
    }

    #[tokio::test]
    async fn a_powered_off_droplet_refuses_connections_and_serves_again_on_the_same_ports() {
        let ca = SandboxCa::new().unwrap();
        let leaf = ca
            .issue(&["sandbox-shop.test"], time::Duration::days(30))
            .unwrap();
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let d = RunningDroplet::start(spec("web-2", false), &leaf, stop.clone(), tasks.clone())
            .await
            .unwrap();
        assert!(!d.is_off());
        assert!(d.off_spans().is_empty());

        assert!(d.power_off().await);
        assert!(!d.power_off().await, "already off");
        assert!(d.is_off());
        for addr in [d.https_addr, d.http_addr] {
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{addr}");
        }
        let spans = d.off_spans();
        assert_eq!(spans.len(), 1);
        assert!(spans[0].until_ms.is_none());

        assert!(d.power_on().await.unwrap());
        assert!(!d.power_on().await.unwrap(), "already on");
        assert!(!d.is_off());
        let reply = https_get(d.https_addr, ca.der(), "sandbox-shop.test", b"")
            .await
            .unwrap();
        assert!(reply.text.contains("<h1>web-2</h1>"), "{}", reply.text);
        assert!(http_get(d.http_addr, b"")
            .await
            .unwrap()
            .contains("<h1>web-2</h1>"));
        let spans = d.off_spans();
        let until = spans[0].until_ms.expect("the span is closed");
        assert!(until >= spans[0].from_ms);

        stop.cancel();
        tasks.close();
        tasks.wait().await;
    }

    #[tokio::test]
    async fn proxy_expecting_droplet_refuses_connections_without_the_header() {
        let ca = SandboxCa::new().unwrap();
        let leaf = ca
            .issue(&["sandbox-shop.test"], time::Duration::days(30))
            .unwrap();
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let d = RunningDroplet::start(spec("api-1", true), &leaf, stop.clone(), tasks.clone())
            .await
            .unwrap();
        assert!(https_get(d.https_addr, ca.der(), "sandbox-shop.test", b"")
            .await
            .is_err());
        let plain = http_get(d.http_addr, b"").await.unwrap_or_default();
        assert!(!plain.contains("<h1>api-1</h1>"));

        let header = proxy_v2(
            "198.51.100.9:40000".parse().unwrap(),
            "127.0.0.21:443".parse().unwrap(),
        );
        let reply = https_get(d.https_addr, ca.der(), "sandbox-shop.test", &header)
            .await
            .unwrap();
        assert!(reply.text.contains("<h1>api-1</h1>"));
        assert!(reply.text.contains("198.51.100.9:40000"));
        let plain = http_get(
            d.http_addr,
            b"PROXY TCP4 198.51.100.9 127.0.0.21 40001 80\r\n",
        )
        .await
        .unwrap();
        assert!(plain.contains("<h1>api-1</h1>"));
        // A malformed header is refused too.
        assert!(https_get(
            d.https_addr,
            ca.der(),
            "sandbox-shop.test",
            b"PROXY GARBAGE\r\n"
        )
        .await
        .is_err());
        stop.cancel();
        tasks.close();
        tasks.wait().await;
    }
}
