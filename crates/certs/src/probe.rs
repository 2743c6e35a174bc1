//! The TLS probe: connect, optional PROXY header, handshake through a recording verifier, then
//! verification of what was recorded against several sets of trust anchors.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::model::*;
use crate::proxy::proxy_header;
use crate::x509::cert_info;
use crate::CertsError;

/// Most certificates a chain may hold before the rest is ignored (a "huge chain" must not make the
/// probe parse megabytes; rustls already caps the message size).
pub(crate) const MAX_CHAIN: usize = 16;

/// Parse PEM certificates (a CA file).
pub fn parse_pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, CertsError> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut reader)
        .collect::<Result<_, _>>()
        .map_err(|e| CertsError::InvalidCaFile(e.to_string()))?;
    if certs.is_empty() {
        return Err(CertsError::InvalidCaFile(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) found".into(),
        ));
    }
    Ok(certs)
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The OS store is read from disk once per process: it does not change while we run.
fn os_roots() -> Result<Arc<RootCertStore>, String> {
    static OS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    OS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
        if added == 0 {
            let why = loaded
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "the OS has no root certificates".to_string());
            return Err(why);
        }
        Ok(Arc::new(store))
    })
    .clone()
}

fn public_roots() -> Arc<RootCertStore> {
    static PUBLIC: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    PUBLIC
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            Arc::new(store)
        })
        .clone()
}

type StoreVerifier = (TrustStore, Result<Arc<WebPkiServerVerifier>, String>);

/// What every probe of one run shares: options and verifiers (built once, not per backend).
pub(crate) struct ProbeContext {
    pub(crate) opts: ProbeOptions,
    verifiers: Vec<StoreVerifier>,
}

impl ProbeContext {
    pub(crate) fn new(opts: &ProbeOptions) -> Self {
        let build = |roots: Arc<RootCertStore>| {
            WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| e.to_string())
        };
        let mut verifiers = vec![
            (TrustStore::PublicRoots, build(public_roots())),
            (TrustStore::OsRoots, os_roots().and_then(build)),
        ];
        if let Some(pem) = &opts.extra_roots_pem {
            let extra = parse_pem_certs(pem)
                .map_err(|e| e.to_string())
                .and_then(|certs| {
                    let mut store = RootCertStore::empty();
                    let (added, _) = store.add_parsable_certificates(certs);
                    if added == 0 {
                        Err("no usable CA certificate in the CA file".to_string())
                    } else {
                        build(Arc::new(store))
                    }
                });
            verifiers.push((TrustStore::ExtraCa, extra));
        }
        Self {
            opts: opts.clone(),
            verifiers,
        }
    }
}

/// Probe one backend: a handshake with SNI (the one that matters), one without (the default
/// certificate), then verification. Never panics and always ends within about `opts.timeout`.
pub async fn probe(target: &ProbeTarget, opts: &ProbeOptions) -> ProbeResult {
    let ctx = ProbeContext::new(opts);
    probe_with(&ctx, target).await
}

pub(crate) async fn probe_with(ctx: &ProbeContext, target: &ProbeTarget) -> ProbeResult {
    // Both handshakes at once: a healthy backend costs one timeout window, not two.
    let (main, default) = tokio::join!(handshake(ctx, target, target.sni.as_deref()), async {
        if target.sni.is_some() {
            Some(handshake(ctx, target, None).await)
        } else {
            None
        }
    });
    let chain: Vec<CertInfo> = main
        .captured
        .as_ref()
        .map(|c| {
            c.chain
                .iter()
                .take(MAX_CHAIN)
                .map(|d| cert_info(d))
                .collect()
        })
        .unwrap_or_default();
    let trust = match &main.captured {
        Some(c) if !c.chain.is_empty() => verify_all(ctx, target, c, chain.first()),
        _ => Vec::new(),
    };
    let default_certificate = match (default, main.failure.is_none()) {
        (Some(d), true) => Some(DefaultCertificate {
            leaf: d
                .captured
                .as_ref()
                .and_then(|c| c.chain.first())
                .map(|der| cert_info(der)),
            failure: d.failure,
        }),
        _ => None,
    };
    let (ocsp_stapled, ocsp_staple_bytes) = match &main.captured {
        Some(c) if !c.ocsp.is_empty() => (true, c.ocsp.len().min(u32::MAX as usize) as u32),
        _ => (false, 0),
    };
    ProbeResult {
        target: target.clone(),
        proxy_protocol: ctx.opts.proxy_protocol,
        connected: main.connect_ms.is_some(),
        connect_ms: main.connect_ms,
        handshake_ms: main.handshake_ms,
        tls: main.session,
        failure: main.failure,
        chain,
        chain_sent: main
            .captured
            .as_ref()
            .map_or(0, |c| c.chain.len().min(u32::MAX as usize) as u32),
        ocsp_stapled,
        ocsp_staple_bytes,
        handshake_signature_ok: main.signature_ok,
        trust,
        default_certificate,
    }
}

/// What the server sent in its Certificate message (and stapled).
#[derive(Debug, Clone, Default)]
struct Captured {
    chain: Vec<CertificateDer<'static>>,
    ocsp: Vec<u8>,
}

/// A verifier that records everything and rejects nothing: judging happens afterwards, with the
/// whole chain in hand, so that a broken certificate is reported instead of aborting the probe.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    captured: Mutex<Option<Captured>>,
    signature_ok: Mutex<Option<bool>>,
}

impl Recorder {
    fn record_signature(&self, ok: bool) {
        if let Ok(mut slot) = self.signature_ok.lock() {
            *slot = Some(ok);
        }
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut slot) = self.captured.lock() {
            *slot = Some(Captured {
                chain,
                ocsp: ocsp_response.to_vec(),
            });
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let ok = rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .is_ok();
        self.record_signature(ok);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let ok = rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .is_ok();
        self.record_signature(ok);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Remembers the first bytes the server sent, to tell "not TLS at all" from "TLS that failed".
struct Sniff<S> {
    inner: S,
    first: Arc<Mutex<Vec<u8>>>,
}

const SNIFF_LEN: usize = 16;

impl<S: AsyncRead + Unpin> AsyncRead for Sniff<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            let new = &buf.filled()[before..];
            if let Ok(mut first) = self.first.lock() {
                let room = SNIFF_LEN.saturating_sub(first.len());
                first.extend_from_slice(&new[..new.len().min(room)]);
            }
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniff<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[derive(Debug, Default)]
struct Handshake {
    connect_ms: Option<f64>,
    handshake_ms: Option<f64>,
    session: Option<TlsSession>,
    failure: Option<ProbeFailure>,
    captured: Option<Captured>,
    signature_ok: Option<bool>,
}

fn fail(kind: FailureKind, message: impl Into<String>) -> Option<ProbeFailure> {
    Some(ProbeFailure {
        kind,
        message: message.into(),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn handshake(ctx: &ProbeContext, target: &ProbeTarget, sni: Option<&str>) -> Handshake {
    let opts = &ctx.opts;
    let mut out = Handshake::default();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.timeout;

    let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(target.addr)).await {
        Err(_) => {
            out.failure = fail(
                FailureKind::Timeout,
                format!(
                    "no answer to the TCP connection to {} within {} (filtered by a firewall?)",
                    target.addr,
                    secs(opts.timeout)
                ),
            );
            return out;
        }
        Ok(Err(err)) => {
            out.failure = fail(
                FailureKind::Unreachable,
                format!("could not connect to {}: {err}", target.addr),
            );
            return out;
        }
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let connected = Instant::now();
    out.connect_ms = Some(ms(connected - started));

    let mut stream = Sniff {
        inner: stream,
        first: Arc::new(Mutex::new(Vec::new())),
    };
    let first = stream.first.clone();

    if let Some(version) = opts.proxy_protocol {
        let header = match (stream.inner.local_addr(), stream.inner.peer_addr()) {
            (Ok(src), Ok(dst)) => proxy_header(version, src, dst),
            _ => proxy_header(version, unspecified(target.addr), target.addr),
        };
        match tokio::time::timeout_at(deadline, stream.inner.write_all(&header)).await {
            Err(_) => {
                out.failure = fail(
                    FailureKind::Timeout,
                    "the PROXY protocol header could not be sent in time",
                );
                return out;
            }
            Ok(Err(err)) => {
                out.failure = fail(
                    FailureKind::HandshakeFailed,
                    format!("the connection failed while sending the PROXY protocol header: {err}"),
                );
                return out;
            }
            Ok(Ok(())) => {}
        }
    }

    let recorder = Arc::new(Recorder {
        provider: provider(),
        captured: Mutex::new(None),
        signature_ok: Mutex::new(None),
    });
    let config = match client_config(recorder.clone(), opts, sni.is_some()) {
        Ok(c) => c,
        Err(err) => {
            out.failure = fail(
                FailureKind::HandshakeFailed,
                format!("could not set up TLS: {err}"),
            );
            return out;
        }
    };
    let server_name = match sni {
        Some(name) => match ServerName::try_from(name.to_string()) {
            Ok(n) => n,
            Err(_) => {
                out.failure = fail(
                    FailureKind::HandshakeFailed,
                    format!("{name:?} is not a valid server name for SNI"),
                );
                return out;
            }
        },
        // With SNI disabled rustls sends no name at all; it still wants one for itself.
        None => ServerName::IpAddress(target.addr.ip().into()),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout_at(
        deadline,
        connector.connect(server_name, stream).into_fallible(),
    )
    .await;
    out.handshake_ms = Some(ms(connected.elapsed()));
    out.captured = recorder.captured.lock().ok().and_then(|c| c.clone());
    out.signature_ok = recorder.signature_ok.lock().ok().and_then(|s| *s);
    let seen = first.lock().map(|f| f.clone()).unwrap_or_default();

    match result {
        Err(_) => {
            let what = if seen.is_empty() {
                "the server accepted the connection but never answered the TLS ClientHello"
                    .to_string()
            } else {
                "the TLS handshake did not finish".to_string()
            };
            out.failure = fail(
                FailureKind::Timeout,
                format!("{what} within {}", secs(opts.timeout)),
            );
        }
        Ok(Err((err, _io))) => out.failure = Some(classify(&err, &seen, opts)),
        Ok(Ok(tls)) => {
            let (_, conn) = tls.get_ref();
            out.session = Some(TlsSession {
                version: conn
                    .protocol_version()
                    .map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default(),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .and_then(|s| s.suite().as_str())
                    .unwrap_or("unknown")
                    .to_string(),
                alpn: conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            });
            // Be polite: say goodbye, but never wait long for it.
            let mut tls = tls;
            let _ = tokio::time::timeout(Duration::from_millis(50), tls.shutdown()).await;
        }
    }
    out
}

fn unspecified(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}

fn client_config(
    recorder: Arc<Recorder>,
    opts: &ProbeOptions,
    enable_sni: bool,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth();
    config.enable_sni = enable_sni;
    // Every probe must see the full handshake (and the certificate), never a resumed session.
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = opts.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(config)
}

/// Turn a handshake error into the finding a person can act on.
fn classify(err: &std::io::Error, seen: &[u8], opts: &ProbeOptions) -> ProbeFailure {
    // A TLS server's first byte is a handshake (22) or alert (21) record.
    if let Some(&b) = seen.first() {
        if b != 22 && b != 21 {
            let printable: String = seen
                .iter()
                .map(|&c| {
                    if c.is_ascii_graphic() || c == b' ' {
                        c as char
                    } else {
                        '.'
                    }
                })
                .collect();
            // Plain HTTP is the usual case: a web server listening without TLS on the port
            // (nginx answers a ClientHello with "400 Bad Request").
            let what = if seen.starts_with(b"HTTP/") {
                format!("plain HTTP ({printable:?})")
            } else {
                format!("the non-TLS byte 0x{b:02x} ({printable:?})")
            };
            return ProbeFailure {
                kind: FailureKind::NotTls,
                message: format!("the server answered {what} instead of a TLS handshake"),
            };
        }
    }
    let hint = if opts.proxy_protocol.is_none() {
        " (if the load balancer has PROXY protocol on, the backend may expect a PROXY header first)"
    } else {
        ""
    };
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    let message = match inner {
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server refused the TLS handshake with the alert {alert:?}")
        }
        // A chain over the 64 KB a handshake message may hold: well-formed, only too large.
        Some(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::HandshakePayloadTooLarge
            | rustls::InvalidMessage::MessageTooLarge,
        )) => "the server's handshake is too large: its certificate chain is over the 64 KB a TLS handshake message may hold, so every client refuses it. Serve the certificate with only its intermediates".to_string(),
        Some(rustls::Error::InvalidMessage(why)) => {
            format!("the server sent a malformed TLS message ({why:?})")
        }
        Some(other) => format!("the TLS handshake failed: {other}"),
        None => match err.kind() {
            std::io::ErrorKind::UnexpectedEof if seen.is_empty() => {
                format!(
                    "the server closed the connection without answering the TLS ClientHello{hint}"
                )
            }
            std::io::ErrorKind::UnexpectedEof => {
                "the server closed the connection in the middle of the TLS handshake".to_string()
            }
            std::io::ErrorKind::ConnectionReset => {
                format!("the server reset the connection during the TLS handshake{hint}")
            }
            _ => format!("the TLS handshake failed: {err}"),
        },
    };
    ProbeFailure {
        kind: FailureKind::HandshakeFailed,
        message,
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn verify_all(
    ctx: &ProbeContext,
    target: &ProbeTarget,
    captured: &Captured,
    leaf: Option<&CertInfo>,
) -> Vec<TrustCheck> {
    let Some((end_entity, intermediates)) = captured.chain.split_first() else {
        return Vec::new();
    };
    let intermediates = &intermediates[..intermediates.len().min(MAX_CHAIN)];
    // The name does not matter here (names are checked by our own RFC 6125 matcher); webpki
    // checks it after the chain, so NotValidForName means "the chain is fine".
    let name = target
        .sni
        .as_deref()
        .and_then(|s| ServerName::try_from(s.to_string()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(target.addr.ip().into()));
    // An expired (or not yet valid) leaf makes webpki stop at the date. To still learn whether
    // the chain is trusted, verify at instants within the leaf's lifetime: first the one closest
    // to now (its last or first second: the issuers that matter are the current ones), then its
    // middle. A private CA issued or re-issued after the leaf's middle is not "untrusted" for
    // that, so the first instant that trusts the chain wins.
    let now = now_unix();
    let instants: Vec<i64> = match leaf {
        Some(l) if l.parse_error.is_none() && now > l.not_after_unix => vec![
            l.not_after_unix - 1,
            l.not_before_unix / 2 + l.not_after_unix / 2,
        ],
        Some(l) if l.parse_error.is_none() && now < l.not_before_unix => vec![
            l.not_before_unix + 1,
            l.not_before_unix / 2 + l.not_after_unix / 2,
        ],
        _ => vec![now],
    };
    let midpoint = instants.first() != Some(&now);
    ctx.verifiers
        .iter()
        .map(|(store, verifier)| match verifier {
            Err(why) => TrustCheck {
                store: *store,
                trusted: false,
                problem: Some(TrustProblem::StoreUnavailable),
                detail: Some(why.clone()),
                checked_at_leaf_midpoint: false,
            },
            Ok(v) => {
                let mut first = None;
                for at in &instants {
                    let at = UnixTime::since_unix_epoch(Duration::from_secs((*at).max(0) as u64));
                    let res =
                        v.verify_server_cert(end_entity, intermediates, &name, &captured.ocsp, at);
                    let outcome = match res {
                        Ok(_) => (true, None, None),
                        Err(rustls::Error::InvalidCertificate(ce)) => match trust_problem(&ce) {
                            None => (true, None, None),
                            Some(p) => (false, Some(p), Some(ce.to_string())),
                        },
                        Err(other) => (false, Some(TrustProblem::Other), Some(other.to_string())),
                    };
                    if outcome.0 {
                        first = Some(outcome);
                        break;
                    }
                    // The answer closest to now explains a failure best.
                    first.get_or_insert(outcome);
                }
                let (trusted, problem, detail) = first.unwrap_or((false, None, None));
                TrustCheck {
                    store: *store,
                    trusted,
                    problem,
                    detail,
                    checked_at_leaf_midpoint: midpoint,
                }
            }
        })
        .collect()
}

/// `None` = not a trust problem (a name mismatch is reported separately).
#[allow(deprecated)] // matching the deprecated context-less variants too, as older paths emit them
fn trust_problem(err: &CertificateError) -> Option<TrustProblem> {
    Some(match err {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            return None
        }
        CertificateError::UnknownIssuer => TrustProblem::UnknownIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            TrustProblem::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TrustProblem::NotValidYet
        }
        CertificateError::BadSignature => TrustProblem::BadSignature,
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            TrustProblem::UnsupportedAlgorithm
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            TrustProblem::InvalidPurpose
        }
        CertificateError::BadEncoding => TrustProblem::BadEncoding,
        // rustls passes webpki's depth errors through as `Other`; only their name tells them.
        CertificateError::Other(other)
            if ["MaximumPathDepthExceeded", "PathLenConstraintViolated"]
                .iter()
                .any(|n| format!("{other:?}").contains(n)) =>
        {
            TrustProblem::PathTooLong
        }
        _ => TrustProblem::Other,
    })
}
