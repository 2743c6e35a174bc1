//! Test helpers: raw and TLS backends on 127.0.0.1:0, real ClientHellos from rustls, event waits.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_balancer::{
    inspect, BackendConfig, BalancerConfig, BalancerEvent, ConnectionRecord, HelloOutcome, Inspect,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub const NAMES: &[&str] = &["shop.test", "a.apps.test", "unknown.test", "127.0.0.1"];

/// A self-signed certificate for every name the tests use.
pub struct TestCert {
    pub cert: rustls_pki_types::CertificateDer<'static>,
    pub key: Vec<u8>,
}

pub fn test_cert() -> TestCert {
    let ck =
        rcgen::generate_simple_self_signed(NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    TestCert {
        cert: ck.cert.der().clone(),
        key: ck.key_pair.serialize_der(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn server_config(cert: &TestCert) -> Arc<rustls::ServerConfig> {
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.key.clone().into());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.clone()], key)
            .unwrap(),
    )
}

pub fn client_config(cert: &TestCert) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.clone()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A backend that is stopped when dropped (listener and every open connection).
pub struct Backend {
    pub addr: SocketAddr,
    pub name: String,
    task: JoinHandle<()>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Everything each connection received before it sent its greeting (the replayed prefix).
    pub received_prefixes: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Backend {
    pub fn config(&self) -> BackendConfig {
        BackendConfig {
            name: self.name.clone(),
            addr: self.addr,
            display: None,
            health_check_addr: None,
        }
    }

    /// Kills the listener and every open connection (like a crashed server).
    pub fn kill(&self) {
        self.task.abort();
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raw TCP backend: reads an optional PROXY header and a ClientHello, records them, answers
/// `name\n`, then echoes everything.
pub async fn raw_backend(name: &str) -> Backend {
    raw_backend_on(name, "127.0.0.1:0".parse().unwrap()).await
}

pub async fn raw_backend_on(name: &str, addr: SocketAddr) -> Backend {
    let listener = TcpListener::bind(addr).await.unwrap();
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (r2, n2) = (received.clone(), name.to_string());
    spawn_backend(name, listener, received, move |mut s| {
        let (r3, n3) = (r2.clone(), n2.clone());
        async move {
            let mut buf = Vec::new();
            loop {
                let body = strip_proxy_header(&buf);
                if let Some(body) = body {
                    if matches!(inspect(body), Inspect::Done(_)) {
                        break;
                    }
                }
                match s.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
            r3.lock().unwrap().push(buf);
            if s.write_all(format!("{n3}\n").as_bytes()).await.is_err() {
                return;
            }
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        }
    })
}

/// Accepts on `listener` until killed and serves each connection with `serve`; the connections'
/// handles are kept so that `kill` ends them too.
fn spawn_backend<F, Fut>(
    name: &str,
    listener: TcpListener,
    received_prefixes: Arc<Mutex<Vec<Vec<u8>>>>,
    serve: F,
) -> Backend
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().unwrap();
    let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let c2 = conns.clone();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let h = tokio::spawn(serve(s));
            c2.lock().unwrap().push(h);
        }
    });
    Backend {
        addr,
        name: name.to_string(),
        task,
        conns,
        received_prefixes,
    }
}

/// The bytes after a PROXY v1/v2 header, or all of them; `None` while the header is incomplete.
pub fn strip_proxy_header(buf: &[u8]) -> Option<&[u8]> {
    if buf.starts_with(b"PROXY ") {
        let end = buf.windows(2).position(|w| w == b"\r\n")?;
        return Some(&buf[end + 2..]);
    }
    const SIG: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
    if buf.len() >= 12 && buf.starts_with(SIG) {
        if buf.len() < 16 {
            return None;
        }
        let len = 16 + usize::from(u16::from_be_bytes([buf[14], buf[15]]));
        return buf.get(len..);
    }
    Some(buf)
}

/// A TLS backend (rustls): after the handshake writes `name\n`, then echoes.
pub async fn tls_backend(name: &str, cert: &TestCert) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(cert));
    let n2 = name.to_string();
    spawn_backend(name, listener, Arc::default(), move |s| {
        let (acceptor, n3) = (acceptor.clone(), n2.clone());
        async move {
            let Ok(tls) = acceptor.accept(s).await else {
                return;
            };
            let (mut r, mut w) = tokio::io::split(tls);
            if w.write_all(format!("{n3}\n").as_bytes()).await.is_err() {
                return;
            }
            let _ = w.flush().await;
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        }
    })
}

/// The exact ClientHello a rustls client sends for `server_name` (captured on a local socket).
pub async fn rustls_client_hello(server_name: &str) -> Vec<u8> {
    let cert = test_cert();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_config(&cert));
    let name = rustls_pki_types::ServerName::try_from(server_name.to_string()).unwrap();
    let client = tokio::spawn(async move {
        let s = TcpStream::connect(addr).await.unwrap();
        let _ = connector.connect(name, s).await;
    });
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    while !matches!(inspect(&buf), Inspect::Done(_)) {
        assert!(s.read_buf(&mut buf).await.unwrap() > 0);
    }
    drop(s);
    client.abort();
    buf
}

/// A config routing `domains` to `backends`, with test-friendly timeouts.
pub fn config(domains: &[&str], backends: &[&Backend]) -> BalancerConfig {
    BalancerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        backends: backends.iter().map(|b| b.config()).collect(),
        ..Default::default()
    }
}

/// Connects, sends `hello`, and returns the first line answered (`None` when closed first).
pub async fn hello_and_greeting(addr: SocketAddr, hello: &[u8]) -> (TcpStream, Option<String>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(hello).await.unwrap();
    let line = read_line(&mut s).await;
    (s, line)
}

pub async fn read_line<R: tokio::io::AsyncRead + Unpin>(s: &mut R) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte).await {
            Ok(1) if byte[0] == b'\n' => return Some(String::from_utf8(line).unwrap()),
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
}

/// Waits for the connection-log record of the connection from `client`.
pub async fn closed_record(
    events: &mut broadcast::Receiver<BalancerEvent>,
    client: SocketAddr,
) -> ConnectionRecord {
    loop {
        match events.recv().await {
            Ok(BalancerEvent::ConnectionClosed(r)) if r.client == client.to_string() => return r,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("event stream ended: {e}"),
        }
    }
}

/// Reads until EOF or error; true when the peer closed (rather than sent data).
pub async fn closed_without_data(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf).await, Ok(0) | Err(_))
}

pub fn sni_of(hello: &[u8]) -> HelloOutcome {
    match inspect(hello) {
        Inspect::Done(o) => o,
        other => panic!("incomplete hello: {other:?}"),
    }
}

pub const LONG: Duration = Duration::from_secs(60);

/// A ClientHello for `name` (or without SNI) padded by `padding` bytes, cut into records of at
/// most `record` payload bytes — for sizes and splits real clients rarely produce.
pub fn synthetic_hello(name: Option<&str>, padding: usize, record: usize) -> Vec<u8> {
    let mut ext = Vec::new();
    if let Some(name) = name {
        let n = name.as_bytes();
        let mut list = vec![0u8];
        list.extend_from_slice(&(n.len() as u16).to_be_bytes());
        list.extend_from_slice(n);
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&((list.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
    }
    if padding > 0 {
        ext.extend_from_slice(&[0, 21]);
        ext.extend_from_slice(&(padding as u16).to_be_bytes());
        ext.extend(std::iter::repeat_n(0u8, padding));
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9u8; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut msg = vec![1u8];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    let mut out = Vec::new();
    for piece in msg.chunks(record) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
        out.extend_from_slice(piece);
    }
    out
}
