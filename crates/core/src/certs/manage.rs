//! Certificates at DigitalOcean: create a Let's Encrypt one, upload a custom one (checked first
//! by the same checks a backend gets), delete, and rotate by name (create the new → point every
//! rule using the old at it through the normal load-balancer edit → delete the old).
//!
//! The uploaded private key goes from the user's file (or paste) to DigitalOcean and to a
//! loopback TLS server that lives for one check; it is never logged, stored or returned:
//! [`UploadInput`]'s `Debug` redacts it and no answer type carries it.

use std::sync::Arc;
use std::time::Duration;

use cutover_certs::{CertInfo, FindingCode, ProbeOptions, ProbeTarget, Severity};
use cutover_digitalocean::{Certificate, CertificateRequest, LoadBalancer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};

/// A custom certificate as the user gives it: PEM text read from the files they picked (or
/// pasted). `chain_pem` may be empty; a leaf file that holds the chain too is split.
#[derive(Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UploadInput {
    pub name: String,
    pub leaf_pem: String,
    pub key_pem: String,
    #[serde(default)]
    pub chain_pem: Option<String>,
    /// Names the certificate must cover (a rotation passes the old one's); empty: its own.
    #[serde(default)]
    pub domains: Vec<String>,
    /// PEM of a private CA the chain leads to (trusted besides the public and OS roots).
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// Send it even though no trust store accepts the chain (a private CA the user stands by).
    #[serde(default)]
    pub allow_untrusted: bool,
}

// The private key must never reach a log through `{:?}`.
impl std::fmt::Debug for UploadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadInput")
            .field("name", &self.name)
            .field("leaf_pem_len", &self.leaf_pem.len())
            .field("key_pem", &"[REDACTED]")
            .field("chain_pem_len", &self.chain_pem.as_ref().map(String::len))
            .field("domains", &self.domains)
            .field("allow_untrusted", &self.allow_untrusted)
            .finish()
    }
}

/// One thing the upload check found.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UploadFinding {
    /// A backend check's code (`cert.expired`, `chain.order`, …) or `upload.*` for the files.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    /// Whether it stops the upload.
    pub blocks: bool,
}

/// What the upload check saw: the certificates as they would be sent, and the findings.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UploadCheck {
    pub name: String,
    /// True when nothing blocks the upload.
    pub ok: bool,
    /// Leaf first, then the chain, as they would be sent.
    pub chain: Vec<CertInfo>,
    /// The names checked against the leaf.
    pub names_checked: Vec<String>,
    pub findings: Vec<UploadFinding>,
}

impl UploadCheck {
    /// The first blocking finding's sentence, for a refusal.
    fn refusal(&self) -> Option<String> {
        let blocking: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.blocks)
            .map(|f| f.message.as_str())
            .collect();
        (!blocking.is_empty()).then(|| blocking.join(" "))
    }
}

fn finding(code: &str, message: impl Into<String>) -> UploadFinding {
    UploadFinding {
        code: code.to_string(),
        severity: Severity::Critical,
        message: message.into(),
        blocks: true,
    }
}

/// The files split into leaf, chain and key; what cannot be read is a finding.
struct Parsed {
    leaf: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The leaf alone, and the chain, as PEM (what DigitalOcean is sent).
    leaf_pem: String,
    chain_pem: Option<String>,
}

fn certs_of(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The PEM blocks of certificates in `text`, each as it was written (what DigitalOcean is
/// sent: no re-encoding).
fn pem_blocks(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(BEGIN) {
        let Some(e) = rest[b..].find(END) else { break };
        let stop = b + e + END.len();
        out.push(format!("{}\n", &rest[b..stop]));
        rest = &rest[stop..];
    }
    out
}

fn parse(input: &UploadInput, findings: &mut Vec<UploadFinding>) -> Option<Parsed> {
    let mut leaf_certs = match certs_of(&input.leaf_pem) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            findings.push(finding(
                "upload.no_certificate",
                "The certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
            ));
            Vec::new()
        }
        Err(e) => {
            findings.push(finding(
                "upload.no_certificate",
                format!("The certificate file cannot be read as PEM: {e}."),
            ));
            Vec::new()
        }
    };
    let mut chain = Vec::new();
    if leaf_certs.len() > 1 {
        // A fullchain.pem given as the certificate: DigitalOcean wants the leaf alone.
        chain.extend(leaf_certs.drain(1..));
        findings.push(UploadFinding {
            code: "upload.leaf_file_has_chain".into(),
            severity: Severity::Info,
            message: format!(
                "The certificate file also holds {} chain certificate(s): the first is sent as the certificate, the rest as the chain.",
                chain.len()
            ),
            blocks: false,
        });
    }
    if let Some(text) = input.chain_pem.as_deref().filter(|t| !t.trim().is_empty()) {
        match certs_of(text) {
            Ok(c) if !c.is_empty() => chain.extend(c),
            Ok(_) => findings.push(finding(
                "upload.no_chain",
                "The chain file holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
            )),
            Err(e) => findings.push(finding(
                "upload.no_chain",
                format!("The chain file cannot be read as PEM: {e}."),
            )),
        }
    }
    // The parser's error names no key material, only what it expected.
    let key = match PrivateKeyDer::from_pem_slice(input.key_pem.as_bytes()) {
        Ok(k) => Some(k),
        Err(_) => {
            findings.push(finding(
                "upload.key_unreadable",
                "The private key file holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC); an encrypted key must be decrypted first (openssl pkey -in key.pem -out plain.pem).",
            ));
            None
        }
    };
    let leaf = leaf_certs.into_iter().next()?;
    let key = key?;
    let mut blocks = pem_blocks(&input.leaf_pem);
    if let Some(text) = input.chain_pem.as_deref() {
        blocks.extend(pem_blocks(text));
    }
    if blocks.len() != 1 + chain.len() {
        findings.push(finding(
            "upload.no_certificate",
            "The PEM files could not be split into certificates (a BEGIN without its END?).",
        ));
        return None;
    }
    let leaf_pem = blocks.remove(0);
    let chain_pem = (!blocks.is_empty()).then(|| blocks.concat());
    Some(Parsed {
        leaf_pem,
        leaf,
        chain,
        key,
        chain_pem,
    })
}

/// The name sent as SNI: the first non-wildcard name, else a name a wildcard covers.
fn sni_for(names: &[String]) -> Option<String> {
    names
        .iter()
        .find(|n| !n.starts_with("*."))
        .cloned()
        .or_else(|| {
            names.iter().find_map(|n| {
                n.strip_prefix("*.")
                    .map(|rest| format!("cutover-check.{rest}"))
            })
        })
}

/// Serves `parsed` on 127.0.0.1 for one check and probes it the way a backend is probed: the
/// key proves it belongs to the leaf in a real handshake, and the chain, dates, names and
/// trust are judged by the same code as every droplet's.
async fn probe_locally(
    parsed: &Parsed,
    sni: &str,
    ca_pem: Option<String>,
    findings: &mut Vec<UploadFinding>,
) -> Option<cutover_certs::ProbeResult> {
    crate::init_tls();
    let mut served = vec![parsed.leaf.clone()];
    served.extend(parsed.chain.iter().cloned());
    let config = match rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(served, parsed.key.clone_key())
    {
        Ok(c) => c,
        Err(rustls::Error::InconsistentKeys(_)) => {
            findings.push(finding(
                "upload.key_mismatch",
                "The private key does not belong to the certificate (their public keys differ): pick the key that was made with this certificate's request.",
            ));
            return None;
        }
        Err(e) => {
            findings.push(finding(
                "upload.key_unusable",
                format!("The private key cannot be used with this certificate: {e}."),
            ));
            return None;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => {
            findings.push(finding(
                "upload.not_checked",
                format!("The certificate could not be checked: no local port ({e})."),
            ));
            return None;
        }
    };
    let addr = listener.local_addr().ok()?;
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    let target = ProbeTarget {
        label: String::new(),
        addr,
        display_host: "The uploaded certificate".into(),
        sni: Some(sni.to_string()),
    };
    let opts = ProbeOptions {
        extra_roots_pem: ca_pem,
        ..ProbeOptions::default()
    };
    let result = cutover_certs::probe(&target, &opts).await;
    server.abort();
    Some(result)
}

/// Checks an upload before anything is sent: the files parse, the key belongs to the leaf, the
/// chain is in order and complete, the leaf is in its dates, trusted, and covers the names.
/// `extra_ca` (the Sandbox's) is trusted besides the input's own CA.
pub async fn check_upload(
    input: &UploadInput,
    extra_ca: Option<&str>,
) -> Result<UploadCheck, ApiError> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid_input("Give the certificate a name.")
            .with_details(serde_json::json!({"field": "name"})));
    }
    if let Some(ca) = input.ca_pem.as_deref() {
        cutover_certs::parse_pem_certs(ca).map_err(ApiError::from)?;
    }
    let mut findings = Vec::new();
    let Some(parsed) = parse(input, &mut findings) else {
        return Ok(UploadCheck {
            name,
            ok: false,
            chain: Vec::new(),
            names_checked: Vec::new(),
            findings,
        });
    };
    let leaf_info = cutover_certs::cert_info(parsed.leaf.as_ref());
    let names: Vec<String> = if input.domains.is_empty() {
        leaf_info.sans.clone()
    } else {
        input
            .domains
            .iter()
            .map(|d| cutover_domain::normalize(d))
            .filter(|d| !d.is_empty())
            .collect()
    };
    let chain_info = || {
        std::iter::once(parsed.leaf.as_ref())
            .chain(parsed.chain.iter().map(|c| c.as_ref()))
            .map(cutover_certs::cert_info)
            .collect::<Vec<_>>()
    };
    let Some(sni) = sni_for(&names) else {
        findings.push(finding(
            "cert.name_mismatch",
            "The certificate names no domain (no DNS name in its subjectAltName): browsers would accept it for nothing.",
        ));
        return Ok(finish(name, chain_info(), names, findings));
    };
    let ca = match (input.ca_pem.as_deref(), extra_ca) {
        (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
        (a, b) => a.or(b).map(str::to_string),
    };
    let Some(result) = probe_locally(&parsed, &sni, ca, &mut findings).await else {
        return Ok(finish(name, chain_info(), names, findings));
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for f in cutover_certs::check_backend(&result, now) {
        // One certificate is served: what a client without SNI gets is the same one.
        if f.code == FindingCode::SniDefaultDiffers {
            continue;
        }
        let trust = matches!(
            f.code,
            FindingCode::ChainUntrusted | FindingCode::CertSelfSigned
        );
        let blocks = if trust {
            !input.allow_untrusted && f.severity >= Severity::Error
        } else {
            // A chain out of order is refused here (a warning on a droplet): it is the file
            // being uploaded, and DigitalOcean serves it as given.
            f.severity >= Severity::Error || f.code == FindingCode::ChainOrder
        };
        findings.push(UploadFinding {
            code: f.code.as_str().to_string(),
            severity: f.severity,
            message: f.message,
            blocks,
        });
    }
    if let Some(leaf) = result.leaf() {
        for domain in names.iter().filter(|d| **d != sni) {
            if !cutover_certs::name_matches(leaf, domain) {
                findings.push(finding(
                    "cert.name_mismatch",
                    format!(
                        "The uploaded certificate is not valid for {domain}; it covers {}.",
                        leaf.sans.join(", ")
                    ),
                ));
            }
        }
    }
    let chain = if result.chain.is_empty() {
        chain_info()
    } else {
        result.chain
    };
    Ok(finish(name, chain, names, findings))
}

fn finish(
    name: String,
    chain: Vec<CertInfo>,
    names_checked: Vec<String>,
    findings: Vec<UploadFinding>,
) -> UploadCheck {
    UploadCheck {
        ok: !findings.iter().any(|f| f.blocks),
        name,
        chain,
        names_checked,
        findings,
    }
}

/// Refused before sending: the blocking findings' sentences, and all findings in `details`.
fn refused(check: &UploadCheck) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!(
            "Not sent to DigitalOcean: {}",
            check.refusal().unwrap_or_default()
        ),
    )
    .with_details(serde_json::json!({ "findings": check.findings, "field": "certificate" }))
}

/// Uploads a custom certificate after [`check_upload`] passed; refused (nothing sent) when it
/// did not. Returns the check with the certificate DigitalOcean made.
pub async fn upload(
    conn: &Connection,
    input: &UploadInput,
) -> Result<(UploadCheck, Certificate), ApiError> {
    let check = check_upload(input, conn.extra_ca_pem.as_deref()).await?;
    if !check.ok {
        return Err(refused(&check));
    }
    let mut findings = Vec::new();
    let parsed = parse(input, &mut findings)
        .ok_or_else(|| ApiError::internal("the checked files could not be read again"))?;
    let req = CertificateRequest::Custom {
        name: check.name.clone(),
        private_key: input.key_pem.clone(),
        leaf_certificate: parsed.leaf_pem,
        certificate_chain: parsed.chain_pem,
    };
    tracing::info!(name = %check.name, "uploading a custom certificate");
    // Journaled by name, type and names: the request itself holds the private key.
    let entry = crate::journal::cert_entry(
        &conn.account_name,
        crate::journal::ChangeKind::CertCreate,
        "",
        &check.name,
        None,
        crate::journal::cert_create_changes(&check.name, "custom", &check.names_checked),
    );
    let created = crate::journal::journaled_cert(
        conn.journal.as_ref(),
        entry,
        async { Ok(conn.client.create_certificate(&req).await?) },
        |c| Some(c),
    )
    .await?;
    Ok((check, created))
}

/// Asks DigitalOcean for a Let's Encrypt certificate for `dns_names` (its DNS must be hosted
/// at DigitalOcean). It starts `pending`.
pub async fn create_lets_encrypt(
    conn: &Connection,
    name: &str,
    dns_names: &[String],
) -> Result<Certificate, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid_input("Give the certificate a name.")
            .with_details(serde_json::json!({"field": "name"})));
    }
    let mut names = Vec::new();
    for raw in dns_names {
        let n = cutover_domain::normalize(raw);
        if n.is_empty() {
            continue;
        }
        let plain = n.strip_prefix("*.").unwrap_or(&n);
        cutover_certs::validate_domain(plain).map_err(|e| {
            ApiError::from(e).with_details(serde_json::json!({"field": "dns_names"}))
        })?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        return Err(
            ApiError::invalid_input("Give at least one domain for the certificate.")
                .with_details(serde_json::json!({"field": "dns_names"})),
        );
    }
    let entry = crate::journal::cert_entry(
        &conn.account_name,
        crate::journal::ChangeKind::CertCreate,
        "",
        name,
        None,
        crate::journal::cert_create_changes(name, "lets_encrypt", &names),
    );
    let req = CertificateRequest::LetsEncrypt {
        name: name.to_string(),
        dns_names: names,
    };
    crate::journal::journaled_cert(
        conn.journal.as_ref(),
        entry,
        async { Ok(conn.client.create_certificate(&req).await?) },
        |c| Some(c),
    )
    .await
}

/// A certificate by exact name (names are unique at DigitalOcean), or by id.
pub async fn find_certificate(
    conn: &Connection,
    name_or_id: &str,
) -> Result<Certificate, ApiError> {
    let wanted = name_or_id.trim();
    if wanted.is_empty() {
        return Err(ApiError::invalid_input("No certificate was named.")
            .with_details(serde_json::json!({"field": "certificate"})));
    }
    let all = conn.client.list_certificates().await?;
    all.into_iter()
        .find(|c| c.name == wanted || c.id == wanted)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("No certificate has the name or id \"{wanted}\"."),
            )
            .with_details(serde_json::json!({"field": "certificate"}))
        })
}

/// Whether DigitalOcean refused a delete because a load balancer still uses the certificate
/// (403 today, per Terraform's matching; 409/422 are treated alike).
fn is_in_use(err: &cutover_digitalocean::Error) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    matches!(err.status(), Some(403 | 409 | 422))
        && (text.contains("in use") || text.contains("being used") || text.contains("used by"))
}

/// Deletes certificate `name_or_id`. DigitalOcean's "in use" refusal becomes a `forbidden`
/// error that says which load balancers use it (`details.in_use`, `details.used_by`).
pub async fn delete_certificate(
    conn: &Connection,
    name_or_id: &str,
) -> Result<Certificate, ApiError> {
    let cert = find_certificate(conn, name_or_id).await?;
    let entry = crate::journal::cert_entry(
        &conn.account_name,
        crate::journal::ChangeKind::CertDelete,
        &cert.id,
        &cert.name,
        Some(crate::journal::cert_summary(&cert)),
        crate::journal::cert_delete_changes(&cert),
    );
    crate::journal::journaled_cert(
        conn.journal.as_ref(),
        entry,
        async {
            match conn.client.delete_certificate(&cert.id).await {
                Ok(()) => Ok(()),
                Err(err) if is_in_use(&err) => {
                    let rid = err.request_id().map(str::to_string);
                    Err(with_request_id(in_use_error(conn, &cert).await, rid))
                }
                Err(err) => Err(err.into()),
            }
        },
        |_| None,
    )
    .await?;
    Ok(cert)
}

/// `err` with DigitalOcean's request id of the refusal it stands for, in `details` as every
/// API error has it (the journal reads it there).
fn with_request_id(mut err: ApiError, request_id: Option<String>) -> ApiError {
    if let (Some(rid), Some(serde_json::Value::Object(details))) =
        (request_id, err.details.as_mut())
    {
        details.insert("request_id".into(), rid.into());
    }
    err
}

async fn in_use_error(conn: &Connection, cert: &Certificate) -> ApiError {
    let users: Vec<String> = conn
        .client
        .list_load_balancers()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|lb| uses(lb, &cert.id))
        .map(|lb| lb.name.clone())
        .collect();
    let who = if users.is_empty() {
        "a load balancer (DigitalOcean's list can lag a moment after a change: try again shortly)"
            .to_string()
    } else {
        users.join(", ")
    };
    ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "DigitalOcean keeps certificate \"{}\": it is in use by {who}. Point those at another certificate first (cutover certs rotate {} --to NEW).",
            cert.name, cert.name
        ),
    )
    .with_details(serde_json::json!({"in_use": true, "used_by": users, "certificate": cert.name}))
}

/// Whether `lb` uses certificate `id`: in a forwarding rule, or for a global load balancer's
/// domain.
fn uses(lb: &LoadBalancer, id: &str) -> bool {
    lb.forwarding_rules
        .iter()
        .any(|r| r.certificate() == Some(id))
        || lb
            .domains
            .iter()
            .flatten()
            .any(|d| d.certificate_id.as_deref() == Some(id))
}

// ---------------------------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------------------------

/// Where a rotation's new certificate comes from.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewCertificate {
    /// One already at DigitalOcean, by name.
    Existing { name: String },
    /// A Let's Encrypt certificate made now (`dns_names` empty: the old one's names).
    LetsEncrypt {
        name: String,
        dns_names: Vec<String>,
    },
    /// A custom certificate uploaded now (checked against the old one's names).
    Upload(UploadInput),
}

/// A rotation as the user asks for it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateInput {
    /// The certificate to replace, by name (or id).
    pub old: String,
    pub new: NewCertificate,
    /// Change load balancers a Kubernetes cluster owns too.
    #[serde(default)]
    pub override_kubernetes: bool,
}

/// One load balancer a rotation changes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateTarget {
    pub lb_id: String,
    pub lb_name: String,
    /// The rules that use the old certificate, described (`https 443 → http 80`).
    pub rules: Vec<String>,
    /// A global load balancer's domains that use it (not changed by the rotation).
    pub domains: Vec<String>,
    /// The cluster that owns it, when one does (refused unless overridden).
    pub kubernetes: Option<String>,
}

/// The review of a rotation: nothing has been written.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotatePlan {
    pub old_name: String,
    pub old_id: String,
    pub old_dns_names: Vec<String>,
    pub old_not_after: String,
    /// What the new one is: "upload custom \"b\"", "Let's Encrypt \"b\" for …", "existing \"b\"".
    pub new_description: String,
    pub new_name: String,
    /// Set for an upload: its check (a failed one means the rotation would be refused).
    pub upload_check: Option<UploadCheck>,
    pub targets: Vec<RotateTarget>,
    /// The steps, in order, as sentences.
    pub steps: Vec<String>,
    /// Why the rotation cannot go ahead as it is, if it cannot.
    pub blockers: Vec<String>,
    /// What will be left for the user afterwards (e.g. a global load balancer's domains).
    pub warnings: Vec<String>,
}

/// One step of a rotation as it happens.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateProgress {
    pub step: String,
    pub message: String,
}

/// What a load balancer's update came to.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateLbResult {
    pub lb_id: String,
    pub lb_name: String,
    pub updated: bool,
    pub error: Option<ApiError>,
}

/// The end of a rotation: complete, or exactly what is left. The new certificate is never
/// deleted by a rotation that stops half-way.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateOutcome {
    pub complete: bool,
    pub new_certificate: Option<Certificate>,
    /// Whether this rotation created the new certificate (else it existed already).
    pub created: bool,
    pub load_balancers: Vec<RotateLbResult>,
    pub old_deleted: bool,
    /// Why the old one is still there, when it is.
    pub old_kept_because: Option<String>,
    /// What the user still has to do, as sentences (empty when complete).
    pub left: Vec<String>,
}

fn describe_new(new: &NewCertificate, old: &Certificate) -> (String, String) {
    match new {
        NewCertificate::Existing { name } => (
            name.trim().to_string(),
            format!("existing certificate \"{}\"", name.trim()),
        ),
        NewCertificate::LetsEncrypt { name, dns_names } => {
            let names = if dns_names.is_empty() {
                old.names().map(str::to_string).collect::<Vec<_>>()
            } else {
                dns_names.clone()
            };
            (
                name.trim().to_string(),
                format!(
                    "new Let's Encrypt certificate \"{}\" for {}",
                    name.trim(),
                    names.join(", ")
                ),
            )
        }
        NewCertificate::Upload(u) => (
            u.name.trim().to_string(),
            format!("new custom certificate \"{}\" (uploaded)", u.name.trim()),
        ),
    }
}

/// Plans a rotation: which load balancers use the old certificate, whether the new one can
/// replace it, and the steps. Nothing is written.
pub async fn plan_rotate(conn: &Connection, input: &RotateInput) -> Result<RotatePlan, ApiError> {
    let old = find_certificate(conn, &input.old).await?;
    let (new_name, new_description) = describe_new(&input.new, &old);
    if new_name.is_empty() {
        return Err(ApiError::invalid_input("Give the new certificate a name.")
            .with_details(serde_json::json!({"field": "name"})));
    }
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    if new_name == old.name {
        blockers.push(format!(
            "The new certificate needs a name of its own: \"{}\" is the old one's (DigitalOcean's names are unique).",
            old.name
        ));
    }
    let existing = conn.client.list_certificates().await?;
    let clash = existing
        .iter()
        .find(|c| c.name == new_name && c.id != old.id);
    match (&input.new, clash) {
        (NewCertificate::Existing { .. }, None) => blockers.push(format!(
            "No certificate is named \"{new_name}\" at DigitalOcean: create or upload it, or rotate with --upload / --lets-encrypt."
        )),
        (NewCertificate::Existing { .. }, Some(c)) => {
            let missing: Vec<&str> = old
                .names()
                .filter(|n| !c.names().any(|m| m == *n || cutover_domain::covers(m, n)))
                .collect();
            if !missing.is_empty() {
                blockers.push(format!(
                    "\"{new_name}\" does not cover {} (the old certificate does).",
                    missing.join(", ")
                ));
            }
        }
        (_, Some(_)) => blockers.push(format!(
            "A certificate named \"{new_name}\" exists already: choose another name, or rotate to it with --to {new_name}."
        )),
        _ => {}
    }
    let upload_check = match &input.new {
        NewCertificate::Upload(u) => {
            let mut u = u.clone();
            if u.domains.is_empty() {
                u.domains = old.names().map(str::to_string).collect();
            }
            let check = check_upload(&u, conn.extra_ca_pem.as_deref()).await?;
            if let Some(why) = check.refusal() {
                blockers.push(format!("The upload is refused: {why}"));
            }
            Some(check)
        }
        _ => None,
    };
    let lbs = conn.client.list_load_balancers().await?;
    let mut targets = Vec::new();
    for lb in lbs.iter().filter(|lb| uses(lb, &old.id)) {
        let rules: Vec<String> = lb
            .forwarding_rules
            .iter()
            .filter(|r| r.certificate() == Some(old.id.as_str()))
            .map(|r| r.describe())
            .collect();
        let domains: Vec<String> = lb
            .domains
            .iter()
            .flatten()
            .filter(|d| d.certificate_id.as_deref() == Some(old.id.as_str()))
            .map(|d| d.name.clone())
            .collect();
        let kubernetes = crate::kubernetes::owner(lb).map(|o| {
            o.cluster_id
                .clone()
                .unwrap_or_else(|| "a Kubernetes cluster".to_string())
        });
        if kubernetes.is_some() && !input.override_kubernetes && !rules.is_empty() {
            blockers.push(format!(
                "\"{}\" belongs to a Kubernetes cluster, whose controller would put the old certificate back: set the Service's service.beta.kubernetes.io/do-loadbalancer-certificate-name annotation to \"{new_name}\" instead, or override.",
                lb.name
            ));
        }
        if !domains.is_empty() {
            warnings.push(format!(
                "Global load balancer \"{}\" uses it for {}: a rotation changes forwarding rules only, so change those domains' certificate in the control panel; until then the old certificate stays.",
                lb.name,
                domains.join(", ")
            ));
        }
        targets.push(RotateTarget {
            lb_id: lb.id.clone(),
            lb_name: lb.name.clone(),
            rules,
            domains,
            kubernetes,
        });
    }
    let mut steps = vec![match &input.new {
        NewCertificate::Existing { .. } => format!("Use the {new_description}."),
        NewCertificate::LetsEncrypt { .. } => {
            format!("Create the {new_description} and wait until DigitalOcean has verified it.")
        }
        NewCertificate::Upload(_) => format!("Upload the {new_description}."),
    }];
    for t in targets.iter().filter(|t| !t.rules.is_empty()) {
        steps.push(format!(
            "Point {} of \"{}\" at \"{new_name}\" (an edit: stale-plan check, journal, then wait until active).",
            t.rules.join(", "),
            t.lb_name
        ));
    }
    steps.push(format!("Delete the old certificate \"{}\".", old.name));
    Ok(RotatePlan {
        old_name: old.name.clone(),
        old_id: old.id.clone(),
        old_dns_names: old.names().map(str::to_string).collect(),
        old_not_after: old.not_after.clone(),
        new_description,
        new_name,
        upload_check,
        targets,
        steps,
        blockers,
        warnings,
    })
}

/// A plan with blockers, refused with their sentences (and the plan in `details`): the one
/// refusal of the app and the CLI.
pub fn refuse_blocked(plan: &RotatePlan) -> Result<(), ApiError> {
    if plan.blockers.is_empty() {
        return Ok(());
    }
    Err(
        ApiError::invalid_input(format!("Nothing was changed: {}", plan.blockers.join(" ")))
            .with_details(serde_json::json!({"field": "rotate", "plan": plan})),
    )
}

/// How long a new Let's Encrypt certificate may take to be verified, and how often it is read.
#[derive(Debug, Clone, Copy)]
pub struct VerifyWait {
    pub poll: Duration,
    pub timeout: Duration,
}

impl Default for VerifyWait {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Rotates: plans again (refused with the blockers when any), creates the new certificate,
/// points every rule using the old one at it through [`crate::lb::apply_edit`] (the stale-plan
/// check and the journal), then deletes the old. A step that fails stops what depends on it and
/// the outcome says what is left; the new certificate is kept.
pub async fn rotate(
    conn: &Connection,
    input: &RotateInput,
    wait: VerifyWait,
    mut progress: impl FnMut(RotateProgress),
) -> Result<RotateOutcome, ApiError> {
    let plan = plan_rotate(conn, input).await?;
    refuse_blocked(&plan)?;
    let mut say = |step: &str, message: String| {
        progress(RotateProgress {
            step: step.to_string(),
            message,
        })
    };
    // 1. The new certificate.
    let (new, created) = match &input.new {
        NewCertificate::Existing { name } => (find_certificate(conn, name).await?, false),
        NewCertificate::LetsEncrypt { name, dns_names } => {
            let names = if dns_names.is_empty() {
                plan.old_dns_names.clone()
            } else {
                dns_names.clone()
            };
            say(
                "create",
                format!("Creating Let's Encrypt certificate \"{name}\"…"),
            );
            (create_lets_encrypt(conn, name, &names).await?, true)
        }
        NewCertificate::Upload(u) => {
            let mut u = u.clone();
            if u.domains.is_empty() {
                u.domains = plan.old_dns_names.clone();
            }
            say(
                "create",
                format!("Uploading certificate \"{}\"…", u.name.trim()),
            );
            (upload(conn, &u).await?.1, true)
        }
    };
    say(
        "create",
        format!(
            "Certificate \"{}\" is at DigitalOcean ({}).",
            new.name, new.id
        ),
    );
    let mut outcome = RotateOutcome {
        complete: false,
        new_certificate: Some(new.clone()),
        created,
        load_balancers: Vec::new(),
        old_deleted: false,
        old_kept_because: None,
        left: Vec::new(),
    };
    // 2. A Let's Encrypt certificate must be verified before a rule can use it.
    let new = match wait_verified(conn, &new, wait, &mut say).await {
        Ok(c) => c,
        Err(err) => {
            outcome.old_kept_because = Some(err.message.clone());
            outcome.left.push(format!(
                "\"{}\" exists but is not verified yet ({}): nothing else was changed. Run the rotation again with --to {} once it is verified.",
                new.name, err.message, new.name
            ));
            return Ok(outcome);
        }
    };
    outcome.new_certificate = Some(new.clone());
    // 3. Every rule that uses the old certificate, one load balancer at a time.
    let sessions = crate::lb::EditSessions::default();
    let guard = crate::lb::EditGuard {
        override_kubernetes: input.override_kubernetes,
        confirm: None,
    };
    for target in plan.targets.iter().filter(|t| !t.rules.is_empty()) {
        say(
            "update",
            format!("Pointing \"{}\" at \"{}\"…", target.lb_name, new.name),
        );
        let result = repoint(
            conn,
            &sessions,
            &target.lb_id,
            &plan.old_id,
            &new.id,
            &guard,
            &mut say,
        )
        .await;
        match result {
            Ok(()) => {
                say(
                    "update",
                    format!("\"{}\" now uses \"{}\".", target.lb_name, new.name),
                );
                outcome.load_balancers.push(RotateLbResult {
                    lb_id: target.lb_id.clone(),
                    lb_name: target.lb_name.clone(),
                    updated: true,
                    error: None,
                });
            }
            Err(err) => {
                say(
                    "update",
                    format!("\"{}\" was not changed: {}", target.lb_name, err.message),
                );
                outcome.left.push(format!(
                    "Point \"{}\" at \"{}\" ({}), then delete \"{}\".",
                    target.lb_name, new.name, err.message, plan.old_name
                ));
                outcome.load_balancers.push(RotateLbResult {
                    lb_id: target.lb_id.clone(),
                    lb_name: target.lb_name.clone(),
                    updated: false,
                    error: Some(err),
                });
            }
        }
    }
    for target in plan.targets.iter().filter(|t| !t.domains.is_empty()) {
        outcome.left.push(format!(
            "Change the certificate of {} on global load balancer \"{}\" to \"{}\", then delete \"{}\".",
            target.domains.join(", "),
            target.lb_name,
            new.name,
            plan.old_name
        ));
    }
    if !outcome.left.is_empty() {
        outcome.old_kept_because = Some(format!(
            "\"{}\" is still in use, so it was not deleted.",
            plan.old_name
        ));
        return Ok(outcome);
    }
    // 4. The old certificate.
    say("delete", format!("Deleting \"{}\"…", plan.old_name));
    delete_old(conn, &plan.old_id, &plan.old_name, &new.name, &mut outcome).await;
    if outcome.old_deleted {
        say("delete", format!("\"{}\" is deleted.", plan.old_name));
    }
    outcome.complete = outcome.left.is_empty();
    Ok(outcome)
}

/// The last step: delete the old certificate. DigitalOcean's "in use" refusal (something was
/// attached to it meanwhile, or its list lags) leaves the new one in place and says what is left.
pub(crate) async fn delete_old(
    conn: &Connection,
    old_id: &str,
    old_name: &str,
    new_name: &str,
    outcome: &mut RotateOutcome,
) {
    // The journal's before: the certificate as DigitalOcean has it, else what the plan knew.
    let old = match conn.client.get_certificate(old_id).await {
        Ok(c) => c,
        Err(_) => Certificate {
            id: old_id.to_string(),
            name: old_name.to_string(),
            ..Default::default()
        },
    };
    let mut changes = crate::journal::cert_delete_changes(&old);
    changes.push(cutover_digitalocean::FieldChange {
        path: "rotated_to".into(),
        before: serde_json::json!(old_name),
        after: serde_json::json!(new_name),
    });
    let entry = crate::journal::cert_entry(
        &conn.account_name,
        crate::journal::ChangeKind::CertDelete,
        old_id,
        old_name,
        Some(crate::journal::cert_summary(&old)),
        changes,
    );
    let deleted = crate::journal::journaled_cert(
        conn.journal.as_ref(),
        entry,
        async {
            match conn.client.delete_certificate(old_id).await {
                Ok(()) => Ok(()),
                Err(err) if is_in_use(&err) => {
                    let rid = err.request_id().map(str::to_string);
                    Err(with_request_id(in_use_error(conn, &old).await, rid))
                }
                Err(err) => Err(ApiError::from(err)),
            }
        },
        |_| None,
    )
    .await;
    match deleted {
        Ok(()) => outcome.old_deleted = true,
        Err(err) => {
            let why = err.message;
            outcome.left.push(format!(
                "Delete \"{old_name}\" once nothing uses it (\"{new_name}\" is in place): {why}"
            ));
            outcome.old_kept_because = Some(why);
        }
    }
}

async fn wait_verified(
    conn: &Connection,
    cert: &Certificate,
    wait: VerifyWait,
    say: &mut impl FnMut(&str, String),
) -> Result<Certificate, ApiError> {
    let started = tokio::time::Instant::now();
    let mut current = cert.clone();
    loop {
        match current.state.as_str() {
            // Custom certificates answer `verified` at once; an empty state is an older answer.
            "verified" | "" => return Ok(current),
            "error" => {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "DigitalOcean could not issue \"{}\" (state error): check that the domains' DNS is hosted at DigitalOcean and that their CAA records allow letsencrypt.org",
                        current.name
                    ),
                ))
            }
            state => say(
                "verify",
                format!("\"{}\" is {state}: waiting for DigitalOcean to verify it…", current.name),
            ),
        }
        if started.elapsed() >= wait.timeout {
            return Err(ApiError::new(
                ErrorCode::Timeout,
                format!("still {} after {} s", current.state, wait.timeout.as_secs()),
            ));
        }
        tokio::time::sleep(wait.poll).await;
        current = conn.client.get_certificate(&cert.id).await?;
    }
}

/// Points the rules of load balancer `lb_id` that use `old_id` at `new_id` through the normal
/// edit: opened now, applied with the stale-plan check and the journal, followed to active.
async fn repoint(
    conn: &Connection,
    sessions: &crate::lb::EditSessions,
    lb_id: &str,
    old_id: &str,
    new_id: &str,
    guard: &crate::lb::EditGuard,
    say: &mut impl FnMut(&str, String),
) -> Result<(), ApiError> {
    let start = crate::lb::begin_edit(conn, sessions, lb_id).await?;
    let mut edit = start.edit;
    let mut changed = false;
    for rule in &mut edit.forwarding_rules {
        if rule.certificate() == Some(old_id) {
            rule.certificate_id = Some(new_id.to_string());
            changed = true;
        }
    }
    if !changed {
        // Someone moved it already: nothing to do here.
        return Ok(());
    }
    crate::lb::apply_edit(conn, sessions, &start.lb.id, &edit, guard, |p| {
        say("update", p.message)
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
