//! Test PKI (rcgen) and real TLS / not-TLS servers on 127.0.0.1:0, shared by the tests and the
//! benchmark.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PublicKeyData, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A 1024-bit RSA public key (test fixture, `openssl genrsa 1024`): ring cannot make one.
pub const RSA1024_PUBLIC_DER: &[u8] = include_bytes!("../fixtures/rsa1024_public.der");
/// A throwaway 2048-bit RSA CA key (test fixture only): ring cannot generate RSA keys, and an
/// RSA issuer lets a test rewrite sha256WithRSAEncryption into sha1WithRSAEncryption in place.
pub const RSA2048_CA_KEY_PEM: &str = include_str!("../fixtures/rsa2048_ca_key.pem");

pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Ca {
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }
    pub fn pem(&self) -> String {
        self.cert.pem()
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = OffsetDateTime::now_utc() - Duration::days(365);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
    p
}

/// Root → intermediate, both ECDSA P-256.
pub struct Pki {
    pub root: Ca,
    pub intermediate: Ca,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        Self::with_intermediate_days(name, -365, 3650)
    }

    /// A PKI whose intermediate is valid from `from_days` to `to_days` relative to now.
    pub fn with_intermediate_days(name: &str, from_days: i64, to_days: i64) -> Self {
        let root_key = KeyPair::generate().unwrap();
        let root = ca_params(&format!("{name} Root CA"))
            .self_signed(&root_key)
            .unwrap();
        let int_key = KeyPair::generate().unwrap();
        let mut int_params = ca_params(&format!("{name} Intermediate CA"));
        int_params.not_before = OffsetDateTime::now_utc() + Duration::days(from_days);
        int_params.not_after = OffsetDateTime::now_utc() + Duration::days(to_days);
        let intermediate = int_params.signed_by(&int_key, &root, &root_key).unwrap();
        Self {
            root: Ca {
                cert: root,
                key: root_key,
            },
            intermediate: Ca {
                cert: intermediate,
                key: int_key,
            },
        }
    }

    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// A leaf from the intermediate, valid from `from_days` to `to_days` relative to now.
    pub fn leaf(&self, sans: &[&str], from_days: i64, to_days: i64) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(sans, from_days, to_days)
            .signed_by(&key, &self.intermediate.cert, &self.intermediate.key)
            .unwrap();
        Leaf {
            der: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    /// `[leaf, intermediate]`
    pub fn full_chain(&self, leaf: &Leaf) -> Vec<CertificateDer<'static>> {
        vec![leaf.der.clone(), self.intermediate.der()]
    }
}

pub fn leaf_params(sans: &[&str], from_days: i64, to_days: i64) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, sans.first().copied().unwrap_or("leaf"));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = OffsetDateTime::now_utc() + Duration::days(from_days);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(to_days);
    p
}

pub struct Leaf {
    pub der: CertificateDer<'static>,
    /// PKCS#8 of the key the server signs with.
    pub key: Vec<u8>,
}

/// A self-signed leaf.
pub fn self_signed(sans: &[&str]) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(sans, -1, 90).self_signed(&key).unwrap();
    Leaf {
        der: cert.der().clone(),
        key: key.serialize_der(),
    }
}

/// Public key data rcgen can put into a certificate without holding the private key.
struct RawRsaPublic(&'static [u8]);

impl PublicKeyData for RawRsaPublic {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }
    fn algorithm(&self) -> &SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

/// A leaf carrying a 1024-bit RSA key, issued by `pki`'s intermediate. The server cannot sign with
/// that key (ring refuses RSA < 2048), so it signs the handshake with an unrelated P-256 key; the
/// probe records that the handshake signature did not verify but still inspects the chain.
pub fn weak_key_leaf(pki: &Pki, sans: &[&str]) -> Leaf {
    let cert = leaf_params(sans, -1, 90)
        .signed_by(
            &RawRsaPublic(RSA1024_PUBLIC_DER),
            &pki.intermediate.cert,
            &pki.intermediate.key,
        )
        .unwrap();
    let signer = KeyPair::generate().unwrap();
    Leaf {
        der: cert.der().clone(),
        key: signer.serialize_der(),
    }
}

/// A leaf served with somebody else's key (a wrong key deployed beside the certificate).
pub fn leaf_with_wrong_key(pki: &Pki, sans: &[&str]) -> Leaf {
    let leaf = pki.leaf(sans, -1, 89);
    let other = KeyPair::generate().unwrap();
    Leaf {
        der: leaf.der,
        key: other.serialize_der(),
    }
}

/// The CA `sha1_leaf` is issued under, as PEM (the same key every time, so it verifies them).
pub fn sha1_ca_pem() -> String {
    let ca_key =
        KeyPair::from_pem_and_sign_algo(RSA2048_CA_KEY_PEM, &rcgen::PKCS_RSA_SHA256).unwrap();
    ca_params("RSA Test CA").self_signed(&ca_key).unwrap().pem()
}

/// A root and `depth` intermediates, each signing the next; the leaf under the last one.
/// Returns (root PEM, [leaf, intermediates nearest first], leaf key).
pub fn deep_chain(depth: usize, sans: &[&str]) -> (String, Vec<CertificateDer<'static>>, Vec<u8>) {
    let root_key = KeyPair::generate().unwrap();
    let root = ca_params("Deep Root CA").self_signed(&root_key).unwrap();
    let root_pem = root.pem();
    let mut issuer = (root, root_key);
    let mut intermediates = Vec::new();
    for i in 0..depth {
        let key = KeyPair::generate().unwrap();
        let cert = ca_params(&format!("Deep Intermediate {i}"))
            .signed_by(&key, &issuer.0, &issuer.1)
            .unwrap();
        intermediates.push(cert.der().clone());
        issuer = (cert, key);
    }
    let key = KeyPair::generate().unwrap();
    let leaf = leaf_params(sans, -1, 89)
        .signed_by(&key, &issuer.0, &issuer.1)
        .unwrap();
    let mut chain = vec![leaf.der().clone()];
    chain.extend(intermediates.into_iter().rev());
    (root_pem, chain, key.serialize_der())
}

/// A leaf whose signature algorithm claims sha1WithRSAEncryption (issued by an RSA CA with
/// SHA-256, then the algorithm OID patched from ...01 01 0B to ...01 01 05; the signature no
/// longer verifies, which is fine: the check reads the algorithm).
pub fn sha1_leaf(sans: &[&str]) -> Leaf {
    let ca_key =
        KeyPair::from_pem_and_sign_algo(RSA2048_CA_KEY_PEM, &rcgen::PKCS_RSA_SHA256).unwrap();
    let ca = ca_params("RSA Test CA").self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(sans, -1, 90)
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let mut der = cert.der().to_vec();
    let sha256_rsa: [u8; 11] = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B,
    ];
    let mut patched = 0;
    let mut i = 0;
    while i + sha256_rsa.len() <= der.len() {
        if der[i..i + sha256_rsa.len()] == sha256_rsa {
            der[i + sha256_rsa.len() - 1] = 0x05;
            patched += 1;
        }
        i += 1;
    }
    assert_eq!(patched, 2, "tbs and outer signature algorithm");
    Leaf {
        der: CertificateDer::from(der),
        key: key.serialize_der(),
    }
}

fn certified(chain: Vec<CertificateDer<'static>>, key: &[u8]) -> Arc<CertifiedKey> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec()));
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    Arc::new(CertifiedKey::new(chain, signer))
}

/// Serves `with_sni` when the client sends SNI, `without_sni` when it does not.
#[derive(Debug)]
struct BySni {
    with_sni: Arc<CertifiedKey>,
    without_sni: Arc<CertifiedKey>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(if hello.server_name().is_some() {
            self.with_sni.clone()
        } else {
            self.without_sni.clone()
        })
    }
}

/// How a test server behaves.
pub struct TlsSpec {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Vec<u8>,
    /// Chain + key served when the client sends no SNI (defaults to the same).
    pub default: Option<(Vec<CertificateDer<'static>>, Vec<u8>)>,
    pub alpn: Vec<&'static str>,
    pub require_proxy: bool,
    /// Wait this long after accepting before answering (a stand-in for a WAN round trip).
    pub delay: std::time::Duration,
    /// A stapled OCSP response to send.
    pub ocsp: Option<Vec<u8>>,
    /// Offer only TLS 1.2.
    pub tls12_only: bool,
}

impl TlsSpec {
    pub fn new(chain: Vec<CertificateDer<'static>>, key: &[u8]) -> Self {
        Self {
            chain,
            key: key.to_vec(),
            default: None,
            alpn: vec!["h2", "http/1.1"],
            require_proxy: false,
            delay: std::time::Duration::ZERO,
            ocsp: None,
            tls12_only: false,
        }
    }
}

fn server_config(spec: &TlsSpec) -> Arc<rustls::ServerConfig> {
    let mut main = certified(spec.chain.clone(), &spec.key);
    if let Some(ocsp) = &spec.ocsp {
        let mut with = (*main).clone();
        with.ocsp = Some(ocsp.clone());
        main = Arc::new(with);
    }
    let default = match &spec.default {
        Some((chain, key)) => certified(chain.clone(), key),
        None => main.clone(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = if spec.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni {
            with_sni: main,
            without_sni: default,
        }));
    config.alpn_protocols = spec.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Arc::new(config)
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Read a PROXY v1 line or v2 header; false when the connection does not start with one.
async fn read_proxy_header(s: &mut TcpStream) -> bool {
    let mut first = [0u8; 12];
    if s.read_exact(&mut first[..6]).await.is_err() {
        return false;
    }
    if &first[..6] == b"PROXY " {
        let mut last = 0u8;
        for _ in 0..107 {
            let Ok(b) = s.read_u8().await else {
                return false;
            };
            if last == b'\r' && b == b'\n' {
                return true;
            }
            last = b;
        }
        return false;
    }
    if s.read_exact(&mut first[6..]).await.is_err() {
        return false;
    }
    if first != cutover_certs::proxy::V2_SIGNATURE {
        return false;
    }
    let mut rest = [0u8; 4];
    if s.read_exact(&mut rest).await.is_err() {
        return false;
    }
    let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
    let mut addrs = vec![0u8; len];
    s.read_exact(&mut addrs).await.is_ok()
}

/// A real TLS server on 127.0.0.1:0.
pub async fn tls_server(spec: TlsSpec) -> SocketAddr {
    let (l, addr) = listener().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&spec));
    let require_proxy = spec.require_proxy;
    let delay = spec.delay;
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if require_proxy && !read_proxy_header(&mut s).await {
                    return; // like a PROXY-protocol nginx: drop what is not PROXY
                }
                if let Ok(mut tls) = acceptor.accept(s).await {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = tls.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// An address where nothing listens (bound, then closed).
pub async fn closed_port() -> SocketAddr {
    let (l, addr) = listener().await;
    drop(l);
    addr
}

/// Accepts and never answers.
pub async fn silent_server() -> SocketAddr {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    addr
}

/// Accepts and never answers, counting how many connections are open at once; returns the
/// address and the highest count seen.
pub async fn counting_silent_server() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (l, addr) = listener().await;
    let open = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let max_out = max.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // Never answer; wait for the client to give up and close.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, max_out)
}

/// Answers the ClientHello with `reply`, then closes. With `reset`, closes with an RST.
pub async fn raw_server(reply: &'static [u8], reset: bool) -> SocketAddr {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
                if reset {
                    // Zero linger = close with RST; it cannot block, which is what the
                    // deprecation warns about.
                    #[allow(deprecated)]
                    let _ = s.set_linger(Some(std::time::Duration::ZERO));
                }
                drop(s);
            });
        }
    });
    addr
}

pub fn target(label: &str, addr: SocketAddr, sni: &str) -> cutover_certs::ProbeTarget {
    cutover_certs::ProbeTarget {
        label: label.to_string(),
        addr,
        display_host: addr.ip().to_string(),
        sni: Some(sni.to_string()),
    }
}
