//! Active health checks with DigitalOcean's semantics: TCP connect, or `GET path` over HTTP or
//! HTTPS (certificate not verified), every `interval`, with a `timeout` and consecutive
//! healthy/unhealthy thresholds. When the balancer sends PROXY headers, so do the checks —
//! a backend that expects them would otherwise refuse the check.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::{HealthCheckConfig, HealthCheckProtocol};
use crate::server::Shared;
use crate::stats::BackendHealth;

pub(crate) async fn run(
    shared: Arc<Shared>,
    idx: usize,
    check: HealthCheckConfig,
    stop: CancellationToken,
) {
    let backend = &shared.backends[idx];
    let (mut passes, mut fails) = (0u32, 0u32);
    loop {
        let result = tokio::select! {
            r = tokio::time::timeout(check.timeout(), check_once(&shared, idx, &check)) => match r {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(CheckError::Local(text))) => {
                    // Says nothing about the backend: neither a pass nor a failure.
                    backend.set_last_check(format!("check skipped: {text}"));
                    Err(None)
                }
                Ok(Err(CheckError::Failed(text))) => Err(Some(text)),
                Err(_) => Err(Some(format!("no answer within {} ms", check.timeout_ms))),
            },
            _ = stop.cancelled() => return,
        };
        match result {
            Err(None) => {}
            Ok((latency, text)) => {
                passes = passes.saturating_add(1);
                fails = 0;
                backend.record_latency(latency);
                backend.set_last_check(text.clone());
                let was_failing = backend.failing_until_ms.swap(0, Ordering::Relaxed) > 0;
                let active_was = backend.active_healthy.load(Ordering::Relaxed);
                if !active_was && passes >= check.healthy_threshold {
                    backend.active_healthy.store(true, Ordering::Relaxed);
                    shared.health_changed(idx, BackendHealth::Healthy, text);
                } else if active_was && was_failing {
                    shared.health_changed(idx, BackendHealth::Healthy, text);
                }
            }
            Err(Some(reason)) => {
                fails = fails.saturating_add(1);
                passes = 0;
                backend.set_last_check(reason.clone());
                if backend.active_healthy.load(Ordering::Relaxed)
                    && fails >= check.unhealthy_threshold
                {
                    backend.active_healthy.store(false, Ordering::Relaxed);
                    shared.health_changed(idx, BackendHealth::Unhealthy, reason);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(check.interval()) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Why a check did not pass.
enum CheckError {
    /// This machine could not open the connection (out of file descriptors or ports).
    Local(String),
    /// The backend failed the check: what failed, in words.
    Failed(String),
}

impl From<String> for CheckError {
    fn from(text: String) -> Self {
        CheckError::Failed(text)
    }
}

/// One check. Ok: the latency and a sentence for the UI.
async fn check_once(
    shared: &Shared,
    idx: usize,
    check: &HealthCheckConfig,
) -> Result<(std::time::Duration, String), CheckError> {
    let backend = &shared.backends[idx].config;
    let addr = match (backend.health_check_addr, check.port) {
        (Some(addr), _) => addr,
        (None, Some(port)) => std::net::SocketAddr::new(backend.addr.ip(), port),
        (None, None) => backend.addr,
    };
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.map_err(|e| {
        let text = format!("TCP connect to {addr} failed: {e}");
        if crate::limits::is_local_exhaustion(&e) {
            CheckError::Local(text)
        } else {
            CheckError::Failed(text)
        }
    })?;
    let _ = stream.set_nodelay(true);
    if let Some(version) = shared.config.proxy_protocol {
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        let header = crate::proxy_header::header(version, local, addr);
        stream
            .write_all(&header)
            .await
            .map_err(|e| format!("writing the PROXY header to {addr} failed: {e}"))?;
    }
    let host = shared.check_host(addr);
    match check.protocol {
        HealthCheckProtocol::Tcp => {
            let latency = started.elapsed();
            Ok((
                latency,
                format!("TCP connect to {addr} in {:.1} ms", ms(latency)),
            ))
        }
        HealthCheckProtocol::Http => {
            let status = http_get(&mut stream, &host, &check.path).await?;
            Ok(judge(
                status,
                started,
                format!("HTTP GET {} (Host {host}) at {addr}", check.path),
            )?)
        }
        HealthCheckProtocol::Https => {
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|_| format!("{host} cannot be used as a TLS server name"))?;
            let connector = tokio_rustls::TlsConnector::from(shared.check_tls.clone());
            let mut tls = connector
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS handshake with {addr} (SNI {host}) failed: {e}"))?;
            let status = http_get(&mut tls, &host, &check.path).await?;
            Ok(judge(
                status,
                started,
                format!("HTTPS GET {} (SNI {host}) at {addr}", check.path),
            )?)
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 2xx and 3xx are healthy, like DigitalOcean and HAProxy.
fn judge(
    status: u16,
    started: Instant,
    what: String,
) -> Result<(std::time::Duration, String), String> {
    let latency = started.elapsed();
    if (200..400).contains(&status) {
        Ok((
            latency,
            format!("{what} → {status} in {:.1} ms", ms(latency)),
        ))
    } else {
        Err(format!("{what} → {status}"))
    }
}

/// A minimal HTTP/1.0 GET: status line only (hand-written: reqwest cannot send a PROXY header
/// first, and we need nothing but the status code).
async fn http_get<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
) -> Result<u16, String> {
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: cutover-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                return response.code.ok_or_else(|| "no status code".to_string());
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(format!("not an HTTP response: {e}")),
        }
        if buf.len() > 16 * 1024 {
            return Err("the response headers are larger than 16 KiB".into());
        }
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| format!("reading the response failed: {e}"))?;
        if n == 0 {
            return Err("the connection closed before a response".into());
        }
    }
}

/// A verifier that accepts any certificate: health checks test reachability, not the cert
/// (DigitalOcean does not verify backend certificates either). Signatures are still checked.
/// Also core's backend preflight ("does this droplet speak TLS here?").
#[derive(Debug)]
pub struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl AcceptAnyCert {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Self(provider)
    }
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS client config for HTTPS checks.
pub(crate) fn check_tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth(),
    ))
}
