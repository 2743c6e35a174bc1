//! Per-backend checks: turn one [`ProbeResult`] into findings (anchors.md §2.3, B1–B11).

use std::net::IpAddr;

use crate::model::*;
use crate::x509::is_weak_signature;

const DAY: i64 = 86_400;

/// Judge one probe at time `now` (seconds since the Unix epoch).
pub fn check_backend(result: &ProbeResult, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    let host = describe(&result.target);

    if let Some(failure) = &result.failure {
        let code = match failure.kind {
            FailureKind::Unreachable => FindingCode::BackendUnreachable,
            FailureKind::Timeout => FindingCode::BackendTimeout,
            FailureKind::NotTls => FindingCode::BackendNotTls,
            FailureKind::HandshakeFailed => FindingCode::BackendHandshakeFailed,
        };
        // A backend that answers without TLS is reachable and answering: a configuration to
        // fix on that droplet (it must serve HTTPS itself behind passthrough), not an outage.
        let (severity, message) = match failure.kind {
            FailureKind::NotTls => (
                Severity::Error,
                format!(
                    "{host} answered without TLS on port {}: {}; behind a rule where the droplets serve TLS it must serve HTTPS itself.",
                    result.target.addr.port(),
                    failure
                        .message
                        .trim_start_matches("the server answered ")
                        .trim_end_matches(" instead of a TLS handshake")
                ),
            ),
            _ => (Severity::Critical, format!("{host}: {}.", failure.message)),
        };
        out.push(
            Finding::new(code, severity, message).with("address", result.target.addr.to_string()),
        );
    }

    // A certificate may have arrived even when the handshake failed afterwards: judge it too.
    let Some(leaf) = result.leaf() else {
        return out;
    };
    if let Some(err) = &leaf.parse_error {
        out.push(
            Finding::new(
                FindingCode::BackendHandshakeFailed,
                Severity::Critical,
                format!("{host} sent a certificate that cannot be read: {err}."),
            )
            .with("sha256", leaf.sha256.clone()),
        );
        return out;
    }

    if let Some(domain) = result.target.sni.as_deref() {
        if !name_matches(leaf, domain) {
            out.push(
                Finding::new(
                    FindingCode::CertNameMismatch,
                    Severity::Critical,
                    format!(
                        "{host} serves a certificate that is not valid for {domain}; it covers {}.",
                        covered_names(leaf)
                    ),
                )
                .with("domain", domain)
                // The full list is in the leaf's details.
                .with(
                    "sans",
                    summarise_names(&leaf.sans.iter().map(String::as_str).collect::<Vec<_>>()),
                )
                .with("subject", leaf.subject.clone()),
            );
        }
    }

    // Real clients abort when the handshake signature does not verify with the leaf's key
    // (a wrong key deployed beside the certificate). A weak key that ring refuses to verify is
    // reported as cert.weak_key instead.
    if result.failure.is_none() && result.handshake_signature_ok == Some(false) && !weak_key(leaf) {
        out.push(
            Finding::new(
                FindingCode::BackendHandshakeFailed,
                Severity::Critical,
                format!("{host}: the server could not prove it holds the certificate's private key (the handshake signature does not verify); clients will refuse the connection."),
            )
            .with("sha256", leaf.sha256.clone()),
        );
    }
    check_dates(&host, leaf, now, &mut out);
    check_trust(&host, result, now, &mut out);
    check_order(&host, &result.chain, result.chain_sent, &mut out);
    check_strength(&host, &result.chain, &mut out);
    check_default(&host, result, leaf, &mut out);
    out
}

/// "web-3 (203.0.113.7)" or just the host.
pub(crate) fn describe(t: &ProbeTarget) -> String {
    if t.label.is_empty() {
        t.display_host.clone()
    } else if t.label.starts_with(&t.display_host) {
        // `--backend 203.0.113.7:443` is its own description.
        t.label.clone()
    } else {
        format!("{} ({})", t.label, t.display_host)
    }
}

/// How many names a message lists before it counts the rest.
const NAMES_SHOWN: usize = 10;

/// "a, b, c" — or the first few and "and 990 more" (a certificate may carry thousands).
fn summarise_names(names: &[&str]) -> String {
    if names.len() <= NAMES_SHOWN {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..NAMES_SHOWN].join(", "),
        names.len() - NAMES_SHOWN
    )
}

fn covered_names(leaf: &CertInfo) -> String {
    let mut names: Vec<&str> = leaf.sans.iter().map(String::as_str).collect();
    names.extend(leaf.ip_sans.iter().map(String::as_str));
    if names.is_empty() {
        "no names at all (no subjectAltName; the subject CN is not used by browsers)".to_string()
    } else {
        summarise_names(&names)
    }
}

/// RFC 6125 host name matching against subjectAltName only (no CN fallback, as browsers and
/// webpki do). A wildcard is allowed only as the whole left-most label and matches exactly one
/// label; it never matches across dots, and `*.tld`-style wildcards are refused.
pub fn name_matches(leaf: &CertInfo, domain: &str) -> bool {
    let domain = cutover_domain::normalize(domain);
    if let Ok(ip) = domain.parse::<IpAddr>() {
        return leaf
            .ip_sans
            .iter()
            .any(|s| s.parse::<IpAddr>().ok() == Some(ip));
    }
    leaf.sans
        .iter()
        .any(|pattern| dns_name_matches(pattern, &domain))
}

/// One wildcard rule for the whole app (`cutover_domain`): `*.` as the whole first label
/// covers exactly one label, never a bare top-level domain.
fn dns_name_matches(pattern: &str, domain: &str) -> bool {
    cutover_domain::covers(pattern, domain)
}

fn days(secs: i64) -> i64 {
    secs / DAY
}

fn in_days(secs: i64) -> String {
    // Rounded to the nearest day for people; thresholds use exact seconds.
    let d = (secs + DAY / 2) / DAY;
    match d {
        _ if secs < DAY => format!("{} hours", (secs / 3600).max(0)),
        1 => "1 day".to_string(),
        _ => format!("{d} days"),
    }
}

fn check_dates(host: &str, leaf: &CertInfo, now: i64, out: &mut Vec<Finding>) {
    if now > leaf.not_after_unix {
        out.push(
            Finding::new(
                FindingCode::CertExpired,
                Severity::Critical,
                format!(
                    "{host}: the certificate expired {} ago ({}).",
                    in_days(now - leaf.not_after_unix),
                    leaf.not_after
                ),
            )
            .with("not_after", leaf.not_after.clone()),
        );
        return;
    }
    if now < leaf.not_before_unix {
        out.push(
            Finding::new(
                FindingCode::CertNotYetValid,
                Severity::Critical,
                format!(
                    "{host}: the certificate is not valid yet; it starts in {} ({}). Check the server's clock or the deployment.",
                    in_days(leaf.not_before_unix - now),
                    leaf.not_before
                ),
            )
            .with("not_before", leaf.not_before.clone()),
        );
        return;
    }
    // Relative to the lifetime (anchors.md §2.3 B6): warn under min(30 days, a third of the
    // lifetime) left, error under 7 days. Fixed 30/60-day rules would fire for most of the life
    // of a 47-day certificate.
    let lifetime = (leaf.not_after_unix - leaf.not_before_unix).max(1);
    let left = leaf.not_after_unix - now;
    let warn_at = (30 * DAY).min(lifetime / 3);
    let severity = if left < 7 * DAY {
        Some(Severity::Error)
    } else if left < warn_at {
        Some(Severity::Warning)
    } else {
        None
    };
    if let Some(severity) = severity {
        out.push(
            Finding::new(
                FindingCode::CertExpiringSoon,
                severity,
                format!(
                    "{host}: the certificate expires in {} ({}), out of a {}-day lifetime; renew it.",
                    in_days(left),
                    leaf.not_after,
                    days(lifetime)
                ),
            )
            .with("not_after", leaf.not_after.clone())
            .with("days_left", days(left).to_string())
            .with("lifetime_days", days(lifetime).to_string()),
        );
    }
}

/// Is `issuer` the certificate that signed `cert`? By name, and by key id when both carry one.
pub(crate) fn issued_by(cert: &CertInfo, issuer: &CertInfo) -> bool {
    if cert.issuer != issuer.subject {
        return false;
    }
    match (&cert.authority_key_id, &issuer.subject_key_id) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

fn check_trust(host: &str, result: &ProbeResult, now: i64, out: &mut Vec<Finding>) {
    let Some(leaf) = result.leaf() else { return };
    if result.trust.is_empty() {
        return;
    }
    let trusted_by: Vec<TrustStore> = result
        .trust
        .iter()
        .filter(|t| t.trusted)
        .map(|t| t.store)
        .collect();
    if leaf.self_signed {
        let (severity, message) = if trusted_by.is_empty() {
            (
                Severity::Critical,
                format!("{host} serves a self-signed certificate; no client will trust it unless told to."),
            )
        } else {
            (
                Severity::Info,
                format!("{host} serves a self-signed certificate that is trusted only because it is in the CA file you gave."),
            )
        };
        let mut f = Finding::new(FindingCode::CertSelfSigned, severity, message)
            .with("subject", leaf.subject.clone())
            .with("sha256", leaf.sha256.clone());
        if let Some(extra) = result
            .trust
            .iter()
            .find(|t| t.store == TrustStore::ExtraCa && !t.trusted)
        {
            // e.g. a self-signed certificate marked CA:TRUE is refused as a server certificate.
            f = f.with(
                "ca_file",
                extra.detail.clone().unwrap_or_else(|| "not trusted".into()),
            );
        }
        out.push(f);
        return;
    }
    let out_of_dates = now > leaf.not_after_unix || now < leaf.not_before_unix;
    if !trusted_by.is_empty() {
        // An expired leaf is `cert.expired` alone — unless a certificate sent with it has expired
        // by now too: a second, real cause (the chain file on the server is old as well).
        if out_of_dates {
            if let Some((i, c)) = result
                .chain
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, c)| c.parse_error.is_none() && now > c.not_after_unix)
            {
                out.push(
                    Finding::new(
                        FindingCode::ChainUntrusted,
                        Severity::Critical,
                        format!(
                            "{host}: chain certificate #{} ({}) has expired too ({}), so a renewed certificate served with this chain would still fail. Deploy the CA's current intermediate with it.",
                            i + 1,
                            c.subject,
                            c.not_after
                        ),
                    )
                    .with("subject", c.subject.clone())
                    .with("not_after", c.not_after.clone()),
                );
            }
        }
        return;
    }
    let problems: Vec<String> = result
        .trust
        .iter()
        .map(|t| {
            format!(
                "{}: {}",
                store_name(t.store),
                t.detail.clone().unwrap_or_else(|| "untrusted".into())
            )
        })
        .collect();
    // A store with a more specific problem found the issuer (e.g. the CA file holds the root
    // that signed the leaf directly), so the chain is not incomplete.
    let specific = result.trust.iter().any(|t| {
        !matches!(
            t.problem,
            None | Some(TrustProblem::UnknownIssuer | TrustProblem::StoreUnavailable)
        )
    });
    let unknown_issuer = !specific
        && result
            .trust
            .iter()
            .any(|t| t.problem == Some(TrustProblem::UnknownIssuer));
    // Incomplete chain heuristic (no AIA fetching, which would mean traffic beyond the backend):
    // webpki could not find an issuer, and the leaf's issuer is not among the certificates the
    // server sent. That is what a server that sends only its leaf looks like. A chain whose
    // top intermediate is simply signed by an unknown root is reported as untrusted instead.
    let issuer_sent = result.chain.iter().skip(1).any(|c| issued_by(leaf, c));
    if unknown_issuer && !issuer_sent {
        out.push(
            Finding::new(
                FindingCode::ChainIncomplete,
                Severity::Critical,
                format!(
                    "{host} sends its certificate without the intermediate that issued it ({}); browsers may recover by fetching it, but curl, mobile apps and API clients will fail. Serve the full chain (fullchain.pem).",
                    leaf.issuer
                ),
            )
            .with("issuer", leaf.issuer.clone())
            .with("certificates_sent", result.chain.len().to_string()),
        );
        return;
    }
    // The most telling answer: a specific problem over "unknown issuer" (that store got past the
    // root), and the CA file's over the others (it holds the root the user means).
    let ca_given = result.trust.iter().any(|t| t.store == TrustStore::ExtraCa);
    let telling = result
        .trust
        .iter()
        .filter(|t| t.problem != Some(TrustProblem::StoreUnavailable))
        .max_by_key(|t| {
            (
                t.problem != Some(TrustProblem::UnknownIssuer),
                t.store == TrustStore::ExtraCa,
            )
        });
    let problem = telling.and_then(|t| t.problem);
    let message = match problem {
        Some(TrustProblem::Expired | TrustProblem::NotValidYet) if out_of_dates => format!(
            "{host}: a certificate in the chain was not valid at any time the certificate itself was (expired or not yet valid), so the chain is not trusted. Deploy the current chain from the CA."
        ),
        // Checked now with the leaf in its dates: the date problem is an intermediate's.
        Some(TrustProblem::Expired | TrustProblem::NotValidYet) => format!(
            "{host}: an intermediate certificate in the chain has expired (or is not valid yet), so the chain is not trusted. Deploy the current chain from the CA."
        ),
        Some(TrustProblem::PathTooLong) => format!(
            "{host}: the chain is longer than clients accept ({} certificates sent), or breaks an intermediate's path length limit. Serve the leaf with only the intermediates of the CA's chain file.",
            result.chain_sent
        ),
        Some(TrustProblem::UnsupportedAlgorithm) => {
            let weak = result
                .chain
                .iter()
                .enumerate()
                .find(|(i, c)| !(c.self_signed && *i > 0) && is_weak_signature(&c.signature_algorithm));
            match weak {
                Some((0, c)) => format!(
                    "{host}: the certificate is signed with {}, which clients refuse, so the chain is not trusted. Get it reissued with SHA-256.",
                    c.signature_algorithm
                ),
                Some((i, c)) => format!(
                    "{host}: chain certificate #{} ({}) is signed with {}, which clients refuse, so the chain is not trusted. Deploy the CA's current chain.",
                    i + 1,
                    c.subject,
                    c.signature_algorithm
                ),
                None => format!(
                    "{host}: the chain uses a signature algorithm the verifier does not support, so it is not trusted."
                ),
            }
        }
        Some(TrustProblem::BadSignature) => format!(
            "{host}: a certificate in the chain is not signed by the certificate it names as its issuer (a mismatched or re-keyed intermediate). Deploy the intermediate that issued it."
        ),
        Some(TrustProblem::InvalidPurpose) => format!(
            "{host}: the certificate or an intermediate is not meant for TLS servers (its extended key usage), so the chain is not accepted. Get a server certificate."
        ),
        _ if ca_given => format!(
            "{host}: the certificate chain leads neither to a public or system root nor to the CA file you gave (issuer {}). Check that the CA file holds the root this chain was issued under.",
            leaf.issuer
        ),
        _ => format!(
            "{host}: the certificate chain does not lead to a trusted root (issuer {}). Give the private CA with --ca-file if this is expected.",
            leaf.issuer
        ),
    };
    out.push(
        Finding::new(FindingCode::ChainUntrusted, Severity::Critical, message)
            .with("issuer", leaf.issuer.clone())
            .with("stores", problems.join("; ")),
    );
}

fn store_name(store: TrustStore) -> &'static str {
    match store {
        TrustStore::PublicRoots => "public roots",
        TrustStore::OsRoots => "OS roots",
        TrustStore::ExtraCa => "CA file",
    }
}

/// SSL Labs' chain hygiene: each certificate should be followed by its issuer, and nothing
/// unrelated should be sent.
fn check_order(host: &str, chain: &[CertInfo], sent: u32, out: &mut Vec<Finding>) {
    if chain.len() < 2 {
        return;
    }
    let mut problems = Vec::new();
    if sent as usize > chain.len() {
        problems.push(format!(
            "it sends {sent} certificates (a chain needs a handful; only the first {} were inspected)",
            chain.len()
        ));
    }
    for i in 0..chain.len() - 1 {
        let cert = &chain[i];
        if let Some(j) = chain[..i + 1]
            .iter()
            .position(|c| c.sha256 == chain[i + 1].sha256)
        {
            problems.push(format!("certificate #{} repeats #{}", i + 2, j + 1));
            continue;
        }
        if cert.self_signed {
            problems.push(format!(
                "certificate #{} is a self-signed root, yet more certificates follow it",
                i + 1
            ));
            continue;
        }
        if issued_by(cert, &chain[i + 1]) {
            continue;
        }
        if let Some(j) = chain.iter().position(|c| issued_by(cert, c)) {
            problems.push(format!(
                "the issuer of certificate #{} is sent as #{} instead of #{}",
                i + 1,
                j + 1,
                i + 2
            ));
        } else {
            problems.push(format!(
                "certificate #{} ({}) is not the issuer of certificate #{}",
                i + 2,
                chain[i + 1].subject,
                i + 1
            ));
        }
    }
    if problems.len() > 4 {
        let more = problems.len() - 4;
        problems.truncate(4);
        problems.push(format!("{more} more"));
    }
    if !problems.is_empty() {
        out.push(
            Finding::new(
                FindingCode::ChainOrder,
                Severity::Warning,
                format!(
                    "{host} sends its chain in the wrong order or with unrelated certificates: {}.",
                    problems.join("; ")
                ),
            )
            .with(
                "chain",
                chain
                    .iter()
                    .map(|c| c.subject.clone())
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
        );
    }
}

fn weak_key(cert: &CertInfo) -> bool {
    match cert.key_type.as_str() {
        "RSA" => cert.key_bits < 2048,
        "EC" => cert.key_bits < 256,
        "DSA" => true,
        _ => false,
    }
}

fn check_strength(host: &str, chain: &[CertInfo], out: &mut Vec<Finding>) {
    for (i, cert) in chain.iter().enumerate() {
        if cert.parse_error.is_some() {
            continue;
        }
        let which = if i == 0 {
            "the certificate".to_string()
        } else {
            format!("chain certificate #{} ({})", i + 1, cert.subject)
        };
        if weak_key(cert) {
            out.push(
                Finding::new(
                    FindingCode::CertWeakKey,
                    Severity::Error,
                    format!(
                        "{host}: {which} uses a weak {}-bit {} key (minimum: RSA 2048, EC P-256).",
                        cert.key_bits, cert.key_type
                    ),
                )
                .with("key_type", cert.key_type.clone())
                .with("key_bits", cert.key_bits.to_string())
                .with("sha256", cert.sha256.clone()),
            );
        }
        // A root's self-signature is never checked by clients, so it does not count.
        if !(cert.self_signed && i > 0) && is_weak_signature(&cert.signature_algorithm) {
            out.push(
                Finding::new(
                    FindingCode::CertWeakSignature,
                    Severity::Error,
                    format!(
                        "{host}: {which} is signed with {}, which browsers reject.",
                        cert.signature_algorithm
                    ),
                )
                .with("signature_algorithm", cert.signature_algorithm.clone())
                .with("sha256", cert.sha256.clone()),
            );
        }
    }
}

fn check_default(host: &str, result: &ProbeResult, leaf: &CertInfo, out: &mut Vec<Finding>) {
    let Some(default) = &result.default_certificate else {
        return;
    };
    let Some(default_leaf) = &default.leaf else {
        return;
    };
    if default_leaf.sha256 == leaf.sha256 {
        return;
    }
    let domain = result.target.sni.as_deref().unwrap_or_default();
    let valid = name_matches(default_leaf, domain);
    let (severity, tail) = if valid {
        (Severity::Info, "it is also valid for the domain")
    } else {
        (
            Severity::Warning,
            "it is not valid for the domain, so clients and health checks that send no SNI will see errors",
        )
    };
    out.push(
        Finding::new(
            FindingCode::SniDefaultDiffers,
            severity,
            format!(
                "{host} serves a different certificate when no SNI is sent ({}); {tail}.",
                default_leaf.subject
            ),
        )
        .with("default_sha256", default_leaf.sha256.clone())
        .with(
            "default_sans",
            summarise_names(
                &default_leaf
                    .sans
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(sans: &[&str]) -> CertInfo {
        CertInfo {
            sans: sans.iter().map(|s| s.to_string()).collect(),
            ..CertInfo::default()
        }
    }

    #[test]
    fn wildcards_match_one_label_only() {
        let c = leaf(&["*.example.com"]);
        assert!(name_matches(&c, "www.example.com"));
        assert!(name_matches(&c, "WWW.Example.com."));
        assert!(!name_matches(&c, "example.com"));
        assert!(!name_matches(&c, "a.b.example.com"));
        assert!(!name_matches(&leaf(&["*.com"]), "example.com"));
        assert!(!name_matches(&leaf(&["w*.example.com"]), "www.example.com"));
        assert!(name_matches(&leaf(&["example.com"]), "example.com"));
    }

    #[test]
    fn no_cn_fallback() {
        let c = CertInfo {
            subject: "CN=example.com".into(),
            ..CertInfo::default()
        };
        assert!(!name_matches(&c, "example.com"));
    }

    #[test]
    fn expiry_thresholds_scale_with_lifetime() {
        let now = 1_000 * DAY;
        let mk = |lifetime_days: i64, left_days: i64| CertInfo {
            not_before_unix: now - (lifetime_days - left_days) * DAY,
            not_after_unix: now + left_days * DAY,
            ..CertInfo::default()
        };
        let sev = |c: &CertInfo| {
            let mut out = Vec::new();
            check_dates("h", c, now, &mut out);
            out.first().map(|f| f.severity)
        };
        // 47-day cert with 20 days left: more than a third left -> fine.
        assert_eq!(sev(&mk(47, 20)), None);
        // 47-day cert with 14 days left: under a third -> warning.
        assert_eq!(sev(&mk(47, 14)), Some(Severity::Warning));
        // 398-day cert with 40 days left: under a third but over 30 days -> fine.
        assert_eq!(sev(&mk(398, 40)), None);
        assert_eq!(sev(&mk(398, 29)), Some(Severity::Warning));
        assert_eq!(sev(&mk(398, 3)), Some(Severity::Error));
    }
}
