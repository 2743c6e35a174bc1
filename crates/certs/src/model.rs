//! The data the probe records and the reports the checks produce (what crosses to the UI as JSON).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One backend to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProbeTarget {
    /// What the user calls it, e.g. the droplet's name.
    pub label: String,
    /// Where to connect.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub addr: SocketAddr,
    /// What the user knows it as, e.g. its public IP (may differ from `addr` in the Sandbox).
    pub display_host: String,
    /// The name sent as SNI and checked against the certificate (the domain).
    pub sni: Option<String>,
}

/// The PROXY protocol header to send before the TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ProxyVersion {
    V1,
    V2,
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Send a PROXY protocol header first (DigitalOcean sends v1 when `enable_proxy_protocol` is on).
    pub proxy_protocol: Option<ProxyVersion>,
    /// Per-handshake limit for connect + PROXY header + TLS handshake.
    pub timeout: Duration,
    /// Extra trust anchors (PEM), e.g. a private CA of an internal load balancer.
    pub extra_roots_pem: Option<String>,
    /// ALPN protocols offered, so that the negotiated one can be compared across backends.
    pub alpn: Vec<String>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            proxy_protocol: None,
            timeout: Duration::from_secs(5),
            extra_roots_pem: None,
            alpn: vec!["h2".to_string(), "http/1.1".to_string()],
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// Stable finding codes: the UI and scripts match on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum FindingCode {
    #[serde(rename = "backend.unreachable")]
    BackendUnreachable,
    #[serde(rename = "backend.timeout")]
    BackendTimeout,
    #[serde(rename = "backend.not_tls")]
    BackendNotTls,
    #[serde(rename = "backend.handshake_failed")]
    BackendHandshakeFailed,
    #[serde(rename = "cert.name_mismatch")]
    CertNameMismatch,
    #[serde(rename = "cert.expired")]
    CertExpired,
    #[serde(rename = "cert.not_yet_valid")]
    CertNotYetValid,
    #[serde(rename = "cert.expiring_soon")]
    CertExpiringSoon,
    #[serde(rename = "chain.untrusted")]
    ChainUntrusted,
    #[serde(rename = "chain.incomplete")]
    ChainIncomplete,
    #[serde(rename = "cert.self_signed")]
    CertSelfSigned,
    #[serde(rename = "chain.order")]
    ChainOrder,
    #[serde(rename = "cert.weak_key")]
    CertWeakKey,
    #[serde(rename = "cert.weak_signature")]
    CertWeakSignature,
    #[serde(rename = "sni.default_differs")]
    SniDefaultDiffers,
    #[serde(rename = "fleet.fingerprint_mismatch")]
    FleetFingerprintMismatch,
    #[serde(rename = "fleet.chain_mismatch")]
    FleetChainMismatch,
    #[serde(rename = "fleet.expiry_spread")]
    FleetExpirySpread,
    #[serde(rename = "fleet.protocol_mismatch")]
    FleetProtocolMismatch,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::BackendUnreachable => "backend.unreachable",
            FindingCode::BackendTimeout => "backend.timeout",
            FindingCode::BackendNotTls => "backend.not_tls",
            FindingCode::BackendHandshakeFailed => "backend.handshake_failed",
            FindingCode::CertNameMismatch => "cert.name_mismatch",
            FindingCode::CertExpired => "cert.expired",
            FindingCode::CertNotYetValid => "cert.not_yet_valid",
            FindingCode::CertExpiringSoon => "cert.expiring_soon",
            FindingCode::ChainUntrusted => "chain.untrusted",
            FindingCode::ChainIncomplete => "chain.incomplete",
            FindingCode::CertSelfSigned => "cert.self_signed",
            FindingCode::ChainOrder => "chain.order",
            FindingCode::CertWeakKey => "cert.weak_key",
            FindingCode::CertWeakSignature => "cert.weak_signature",
            FindingCode::SniDefaultDiffers => "sni.default_differs",
            FindingCode::FleetFingerprintMismatch => "fleet.fingerprint_mismatch",
            FindingCode::FleetChainMismatch => "fleet.chain_mismatch",
            FindingCode::FleetExpirySpread => "fleet.expiry_spread",
            FindingCode::FleetProtocolMismatch => "fleet.protocol_mismatch",
        }
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem (or noteworthy fact), with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// A sentence a person understands.
    pub message: String,
    /// What was observed: names, dates, fingerprints, backends.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
}

impl Finding {
    pub fn new(code: FindingCode, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            code,
            severity,
            message: message.into(),
            evidence: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.evidence.insert(key.to_string(), value.into());
        self
    }
}

/// Details of one certificate as the server sent it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CertInfo {
    /// SHA-256 of the DER, lowercase hex without separators.
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    /// Serial number, hex with colons.
    pub serial: String,
    /// DNS names from subjectAltName.
    pub sans: Vec<String>,
    /// IP addresses from subjectAltName.
    pub ip_sans: Vec<String>,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// Seconds since the Unix epoch (for arithmetic in the UI).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub not_before_unix: i64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub not_after_unix: i64,
    /// "RSA", "EC", "Ed25519", "DSA" or the OID when unknown.
    pub key_type: String,
    pub key_bits: u32,
    /// For EC keys: "P-256", "P-384", "P-521" or the OID.
    pub curve: Option<String>,
    /// e.g. "sha256WithRSAEncryption", "ecdsa-with-SHA256", or the OID when unknown.
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// Subject equals issuer and the certificate's signature verifies with its own key.
    pub self_signed: bool,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// The certificate in PEM, ready to copy.
    pub pem: String,
    /// Set when x509-parser could not read the certificate; the other fields are then mostly empty.
    pub parse_error: Option<String>,
}

/// Why a probe did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The TCP connection failed (refused, no route).
    Unreachable,
    /// Connect or handshake did not finish within the timeout.
    Timeout,
    /// The server answered with something that is not TLS.
    NotTls,
    /// TLS started but failed: alert, reset, closed, malformed.
    HandshakeFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProbeFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// What was negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TlsSession {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: String,
    /// IANA name, e.g. "TLS13_AES_128_GCM_SHA256".
    pub cipher_suite: String,
    pub alpn: Option<String>,
}

/// Which set of trust anchors a verification used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TrustStore {
    /// Mozilla's roots as bundled by webpki-roots.
    PublicRoots,
    /// The operating system's roots.
    OsRoots,
    /// The CA file the user gave.
    ExtraCa,
}

/// Why webpki did not accept the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TrustProblem {
    UnknownIssuer,
    /// The chain is longer than verifiers accept, or breaks a CA's path length constraint.
    PathTooLong,
    Expired,
    NotValidYet,
    BadSignature,
    UnsupportedAlgorithm,
    InvalidPurpose,
    BadEncoding,
    Other,
    /// The store could not be loaded (e.g. no OS roots on this machine).
    StoreUnavailable,
    /// Nothing to verify: no certificate was received.
    NoCertificate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrustCheck {
    pub store: TrustStore,
    pub trusted: bool,
    pub problem: Option<TrustProblem>,
    pub detail: Option<String>,
    /// True when the leaf was outside its validity period now, so the chain was checked within
    /// the leaf's lifetime (its last — or first — second, then its middle) to tell "untrusted"
    /// apart from "expired".
    pub checked_at_leaf_midpoint: bool,
}

/// The certificate served when the client sends no SNI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DefaultCertificate {
    pub leaf: Option<CertInfo>,
    pub failure: Option<ProbeFailure>,
}

/// Everything one probe of one backend observed (no judgement yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProbeResult {
    pub target: ProbeTarget,
    pub proxy_protocol: Option<ProxyVersion>,
    pub connected: bool,
    pub connect_ms: Option<f64>,
    /// From TCP connected to handshake complete (or failed).
    pub handshake_ms: Option<f64>,
    pub tls: Option<TlsSession>,
    pub failure: Option<ProbeFailure>,
    /// The chain exactly as sent, leaf first (may be present even when the handshake failed later).
    pub chain: Vec<CertInfo>,
    /// How many certificates the server sent (only the first 16 are parsed and kept in `chain`).
    pub chain_sent: u32,
    pub ocsp_stapled: bool,
    pub ocsp_staple_bytes: u32,
    /// Whether the server proved it holds the leaf's key (the handshake signature verified).
    /// The probe accepts the handshake either way, to be able to inspect what was sent.
    pub handshake_signature_ok: Option<bool>,
    pub trust: Vec<TrustCheck>,
    /// The second handshake, without SNI.
    pub default_certificate: Option<DefaultCertificate>,
}

impl ProbeResult {
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first()
    }
}

/// One backend: what was observed, what is wrong with it, how to look yourself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackendReport {
    pub label: String,
    /// Where Cutover connected, `ip:port`.
    pub address: String,
    pub display_host: String,
    /// "TLSv1.3"/"TLSv1.2" when the handshake completed.
    pub protocol: Option<String>,
    pub leaf: Option<CertInfo>,
    /// Worst severity among `findings`, `None` when there are none.
    pub severity: Option<Severity>,
    pub findings: Vec<Finding>,
    /// `openssl s_client ...` to see the same thing by hand.
    pub openssl_command: String,
    pub probe: ProbeResult,
}

/// The backends that serve one and the same leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CertGroup {
    /// "A", "B", ... — A is the most common.
    pub name: String,
    pub sha256: String,
    pub subject: String,
    pub not_after: String,
    /// Labels of the backends serving it.
    pub backends: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Verdict {
    /// Worst severity of all findings; `None` = nothing to report.
    pub severity: Option<Severity>,
    /// True when nothing is worse than a warning.
    pub ok: bool,
    /// One line: "2 of 3 backends serve certificate A; web-3 (127.0.0.13) serves B, ..."
    pub summary: String,
}

/// The whole fleet behind one domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FleetReport {
    pub domain: String,
    pub backends: Vec<BackendReport>,
    pub groups: Vec<CertGroup>,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    /// When backends disagree: the certificate to keep and how to put it on the others.
    #[serde(default)]
    pub remedy: Option<crate::remedy::Remedy>,
    /// Set on a report made by rechecking some backends of an earlier one.
    #[serde(default)]
    pub recheck: Option<crate::remedy::Recheck>,
}
