//! The probe and the checks against real servers on 127.0.0.1, one test per finding code.

mod support;

use std::time::Duration;

use cutover_certs::*;
use futures::StreamExt;
use support::*;

const DOMAIN: &str = "shop.example.test";

fn opts_with(pki: &Pki) -> ProbeOptions {
    ProbeOptions {
        extra_roots_pem: Some(pki.root_pem()),
        timeout: Duration::from_secs(5),
        ..ProbeOptions::default()
    }
}

async fn check(addr: std::net::SocketAddr, opts: &ProbeOptions) -> BackendReport {
    backend_report(probe(&target("web-1", addr, DOMAIN), opts).await)
}

fn codes(r: &BackendReport) -> Vec<FindingCode> {
    r.findings.iter().map(|f| f.code).collect()
}

fn finding(r: &BackendReport, code: FindingCode) -> &Finding {
    r.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings))
}

#[tokio::test]
async fn a_good_backend_has_no_findings_and_records_the_session() {
    let pki = Pki::new("Good");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.severity, None);
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.3"));
    let tls = r.probe.tls.as_ref().unwrap();
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert!(tls.cipher_suite.starts_with("TLS13_"));
    assert_eq!(r.probe.chain.len(), 2);
    assert_eq!(r.probe.handshake_signature_ok, Some(true));
    let leaf_info = r.leaf.as_ref().unwrap();
    assert_eq!(leaf_info.sans, vec![DOMAIN.to_string()]);
    assert_eq!(leaf_info.key_type, "EC");
    assert_eq!(leaf_info.key_bits, 256);
    assert_eq!(leaf_info.curve.as_deref(), Some("P-256"));
    assert_eq!(leaf_info.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!leaf_info.is_ca && !leaf_info.self_signed);
    assert_eq!(leaf_info.sha256.len(), 64);
    assert!(leaf_info.not_after.ends_with('Z'));
    let extra = r
        .probe
        .trust
        .iter()
        .find(|t| t.store == TrustStore::ExtraCa)
        .unwrap();
    assert!(extra.trusted);
    let public = r
        .probe
        .trust
        .iter()
        .find(|t| t.store == TrustStore::PublicRoots)
        .unwrap();
    assert!(!public.trusted);
    assert_eq!(public.problem, Some(TrustProblem::UnknownIssuer));
    assert_eq!(
        r.openssl_command,
        format!("openssl s_client -connect {addr} -servername {DOMAIN} -showcerts")
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["leaf"]["sans"][0], DOMAIN);
    assert_eq!(json["protocol"], "TLSv1.3");
}

#[tokio::test]
async fn a_stapled_ocsp_response_is_recorded() {
    let pki = Pki::new("Ocsp");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut spec = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    spec.ocsp = Some(vec![0x30, 0x03, 0x0A, 0x01, 0x00]);
    let stapled = check(tls_server(spec).await, &opts_with(&pki)).await;
    assert!(stapled.probe.ocsp_stapled);
    assert_eq!(stapled.probe.ocsp_staple_bytes, 5);
    let plain = check(
        tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await,
        &opts_with(&pki),
    )
    .await;
    assert!(!plain.probe.ocsp_stapled);
}

#[tokio::test]
async fn a_wrong_private_key_fails_the_handshake() {
    let pki = Pki::new("WrongKey");
    let leaf = leaf_with_wrong_key(&pki, &[DOMAIN]);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(r.probe.handshake_signature_ok, Some(false));
    assert_eq!(codes(&r), vec![FindingCode::BackendHandshakeFailed]);
}

#[tokio::test]
async fn refused_is_unreachable() {
    let addr = closed_port().await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendUnreachable]);
    assert_eq!(r.severity, Some(Severity::Critical));
    assert!(!r.probe.connected);
}

#[tokio::test]
async fn a_server_that_never_answers_ends_at_the_timeout() {
    let addr = silent_server().await;
    let opts = ProbeOptions {
        timeout: Duration::from_millis(300),
        ..ProbeOptions::default()
    };
    let r = check(addr, &opts).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendTimeout]);
    assert!(r.probe.connected);
    assert!(finding(&r, FindingCode::BackendTimeout)
        .message
        .contains("never answered"));
}

#[tokio::test]
async fn plain_tcp_is_not_tls() {
    let addr = raw_server(b"HTTP/1.1 400 Bad Request\r\n\r\n", false).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendNotTls]);
    let f = finding(&r, FindingCode::BackendNotTls);
    assert_eq!(
        f.severity,
        Severity::Error,
        "a finding to fix, not an outage"
    );
    assert!(f.message.contains("answered without TLS"), "{}", f.message);
    assert!(
        f.message.contains("plain HTTP (\"HTTP/1.1 400 Bad"),
        "{}",
        f.message
    );
    assert_eq!(
        f.message.matches(". ").count(),
        0,
        "one sentence: {}",
        f.message
    );
}

#[tokio::test]
async fn a_non_tls_byte_is_named() {
    let addr = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n", false).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendNotTls]);
    let f = finding(&r, FindingCode::BackendNotTls);
    assert!(f.message.contains("byte 0x53"), "{}", f.message);
    assert!(f.message.contains("SSH-2.0"), "{}", f.message);
}

#[tokio::test]
async fn reset_mid_handshake_is_a_failed_handshake() {
    let addr = raw_server(b"", true).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendHandshakeFailed]);
}

#[tokio::test]
async fn garbage_inside_a_tls_record_is_a_failed_handshake() {
    // A handshake record header announcing 200 bytes of nonsense.
    static GARBAGE: [u8; 205] = {
        let mut g = [0xEEu8; 205];
        g[0] = 22;
        g[1] = 3;
        g[2] = 3;
        g[3] = 0;
        g[4] = 200;
        g
    };
    let addr = raw_server(&GARBAGE, false).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::BackendHandshakeFailed]);
}

#[tokio::test]
async fn a_malformed_certificate_is_reported_not_a_panic() {
    let pki = Pki::new("Malformed");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let junk = rustls::pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    let addr = tls_server(TlsSpec::new(vec![junk], &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    let f = finding(&r, FindingCode::BackendHandshakeFailed);
    assert!(f.message.contains("cannot be read"), "{}", f.message);
    assert!(r.leaf.as_ref().unwrap().parse_error.is_some());
}

#[tokio::test]
async fn a_huge_chain_is_reported_not_a_hang() {
    let pki = Pki::new("Huge");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut chain = pki.full_chain(&leaf);
    // ~100 copies of the intermediate: well past what a server should send.
    for _ in 0..100 {
        chain.push(pki.intermediate.der());
    }
    let addr = tls_server(TlsSpec::new(chain, &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    // rustls caps the Certificate message; either it refuses it or we cap what we parse.
    assert!(
        r.probe.chain.len() <= 16,
        "parsed {} certificates",
        r.probe.chain.len()
    );
    assert_eq!(r.probe.chain_sent, 102);
    let f = finding(&r, FindingCode::ChainOrder);
    assert!(
        f.message.contains("sends 102 certificates"),
        "{}",
        f.message
    );
    assert!(f.message.contains("repeats"), "{}", f.message);
}

#[tokio::test]
async fn a_wildcard_matches_one_label() {
    let pki = Pki::new("Wild");
    let leaf = pki.leaf(&["*.example.test"], -1, 89);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert!(!codes(&r).contains(&FindingCode::CertNameMismatch));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[tokio::test]
async fn a_wildcard_does_not_match_two_labels() {
    let pki = Pki::new("Wild2");
    let leaf = pki.leaf(&["*.example.test"], -1, 89);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r =
        backend_report(probe(&target("web-1", addr, "a.b.example.test"), &opts_with(&pki)).await);
    assert_eq!(codes(&r), vec![FindingCode::CertNameMismatch]);
    assert!(finding(&r, FindingCode::CertNameMismatch)
        .message
        .contains("*.example.test"));
}

#[tokio::test]
async fn an_expired_certificate() {
    let pki = Pki::new("Expired");
    let leaf = pki.leaf(&[DOMAIN], -100, -10);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    // The chain itself is trusted (checked at the leaf's midpoint): only the date is wrong.
    assert_eq!(codes(&r), vec![FindingCode::CertExpired]);
    assert!(r.probe.trust.iter().any(|t| t.checked_at_leaf_midpoint));
}

/// A private CA whose intermediate was issued (or re-issued) after the middle of an expired
/// leaf's life: the chain is fine, so the expiry is the one cause named — no `chain.untrusted`
/// sending the user after a CA file they already gave.
#[tokio::test]
async fn an_expired_certificate_from_a_recent_private_ca_is_only_expired() {
    let pki = Pki::with_intermediate_days("Recent", -20, 3650);
    let leaf = pki.leaf(&[DOMAIN], -100, -10);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(
        codes(&r),
        vec![FindingCode::CertExpired],
        "{:#?}",
        r.findings
    );
}

/// An intermediate that expired too is a second, real cause, named as such.
#[tokio::test]
async fn an_expired_certificate_under_an_expired_intermediate_names_both() {
    let pki = Pki::with_intermediate_days("BothOld", -400, -30);
    let leaf = pki.leaf(&[DOMAIN], -100, -10);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(
        codes(&r),
        vec![FindingCode::CertExpired, FindingCode::ChainUntrusted],
        "{:#?}",
        r.findings
    );
    let f = finding(&r, FindingCode::ChainUntrusted);
    assert!(f.message.contains("intermediate"), "{}", f.message);
    assert!(!f.message.contains("--ca-file"), "{}", f.message);
}

#[tokio::test]
async fn a_not_yet_valid_certificate() {
    let pki = Pki::new("Future");
    let leaf = pki.leaf(&[DOMAIN], 10, 100);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::CertNotYetValid]);
}

#[tokio::test]
async fn expiring_soon_relative_to_lifetime() {
    let pki = Pki::new("Soon");
    // 90-day certificate with 20 days left: under a third of its lifetime.
    let leaf = pki.leaf(&[DOMAIN], -70, 20);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::CertExpiringSoon]);
    assert_eq!(
        finding(&r, FindingCode::CertExpiringSoon).severity,
        Severity::Warning
    );

    let leaf = pki.leaf(&[DOMAIN], -85, 3);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(
        finding(&r, FindingCode::CertExpiringSoon).severity,
        Severity::Error
    );
}

#[tokio::test]
async fn an_unknown_ca_is_untrusted() {
    let pki = Pki::new("Private");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    // No CA file: the full chain is sent, but its root is nobody's.
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::ChainUntrusted]);
}

#[tokio::test]
async fn an_expired_intermediate_makes_the_chain_untrusted() {
    let pki = Pki::with_intermediate_days("OldInt", -400, -5);
    let leaf = pki.leaf(&[DOMAIN], -30, 60);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::ChainUntrusted]);
    assert!(finding(&r, FindingCode::ChainUntrusted)
        .message
        .contains("intermediate certificate in the chain has expired"));
}

#[tokio::test]
async fn leaf_without_intermediate_is_incomplete() {
    let pki = Pki::new("Incomplete");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let addr = tls_server(TlsSpec::new(vec![leaf.der.clone()], &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::ChainIncomplete]);
}

#[tokio::test]
async fn a_self_signed_leaf() {
    let leaf = self_signed(&[DOMAIN]);
    let addr = tls_server(TlsSpec::new(vec![leaf.der.clone()], &leaf.key)).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert_eq!(codes(&r), vec![FindingCode::CertSelfSigned]);
    assert_eq!(
        finding(&r, FindingCode::CertSelfSigned).severity,
        Severity::Critical
    );
    assert!(r.leaf.as_ref().unwrap().self_signed);
}

#[tokio::test]
async fn a_chain_in_the_wrong_order() {
    let pki = Pki::new("Order");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let chain = vec![leaf.der.clone(), pki.root.der(), pki.intermediate.der()];
    let addr = tls_server(TlsSpec::new(chain, &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::ChainOrder]);
    assert_eq!(
        finding(&r, FindingCode::ChainOrder).severity,
        Severity::Warning
    );
}

#[tokio::test]
async fn a_weak_rsa_key() {
    let pki = Pki::new("Weak");
    let leaf = weak_key_leaf(&pki, &[DOMAIN]);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert!(
        codes(&r).contains(&FindingCode::CertWeakKey),
        "{:#?}",
        r.findings
    );
    let l = r.leaf.as_ref().unwrap();
    assert_eq!((l.key_type.as_str(), l.key_bits), ("RSA", 1024));
    assert_eq!(r.probe.handshake_signature_ok, Some(false));
}

#[tokio::test]
async fn a_sha1_signature() {
    let leaf = sha1_leaf(&[DOMAIN]);
    let addr = tls_server(TlsSpec::new(vec![leaf.der.clone()], &leaf.key)).await;
    let r = check(addr, &ProbeOptions::default()).await;
    assert!(
        codes(&r).contains(&FindingCode::CertWeakSignature),
        "{:#?}",
        r.findings
    );
    assert_eq!(
        r.leaf.as_ref().unwrap().signature_algorithm,
        "sha1WithRSAEncryption"
    );
}

/// With the CA file that issued it, a SHA-1 certificate is untrusted for its algorithm, and the
/// finding says so instead of sending the user after a CA file they gave.
#[tokio::test]
async fn a_sha1_signature_with_its_ca_names_the_algorithm() {
    let leaf = sha1_leaf(&[DOMAIN]);
    let addr = tls_server(TlsSpec::new(vec![leaf.der.clone()], &leaf.key)).await;
    let opts = ProbeOptions {
        extra_roots_pem: Some(sha1_ca_pem()),
        ..ProbeOptions::default()
    };
    let r = check(addr, &opts).await;
    let f = finding(&r, FindingCode::ChainUntrusted);
    assert!(f.message.contains("sha1WithRSAEncryption"), "{}", f.message);
    assert!(!f.message.contains("--ca-file"), "{}", f.message);
}

/// Eight intermediates are more than webpki follows: the finding says the chain is too long.
#[tokio::test]
async fn a_chain_too_deep_says_so() {
    let (root, chain, key) = deep_chain(8, &[DOMAIN]);
    let addr = tls_server(TlsSpec::new(chain, &key)).await;
    let opts = ProbeOptions {
        extra_roots_pem: Some(root),
        ..ProbeOptions::default()
    };
    let r = check(addr, &opts).await;
    let f = finding(&r, FindingCode::ChainUntrusted);
    assert!(
        f.message.contains("longer than clients accept"),
        "{:#?}",
        r.probe.trust
    );
    assert!(!f.message.contains("--ca-file"), "{}", f.message);
}

/// A chain over TLS's 64 KB handshake message limit is "too large", not "malformed".
#[tokio::test]
async fn a_chain_over_64_kb_is_too_large() {
    let pki = Pki::new("Large");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut chain = pki.full_chain(&leaf);
    let one = pki.intermediate.der().len();
    while chain.iter().map(|c| c.len()).sum::<usize>() < 130 * 1024 {
        chain.push(pki.intermediate.der());
    }
    assert!(chain.len() * one >= 130 * 1024 - one);
    let addr = tls_server(TlsSpec::new(chain, &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    let f = finding(&r, FindingCode::BackendHandshakeFailed);
    assert!(f.message.contains("too large"), "{}", f.message);
    assert!(!f.message.contains("malformed"), "{}", f.message);
}

/// A certificate for 1,000 other names: the mismatch names a few and counts the rest.
#[tokio::test]
async fn a_thousand_name_mismatch_is_summarised() {
    let pki = Pki::new("Many");
    let names: Vec<String> = (0..1000).map(|i| format!("host{i}.other.test")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let leaf = pki.leaf(&refs, -1, 89);
    let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let r = check(addr, &opts_with(&pki)).await;
    let f = finding(&r, FindingCode::CertNameMismatch);
    assert!(f.message.contains("host0.other.test"), "{}", f.message);
    assert!(f.message.contains("and 990 more"), "{}", f.message);
    assert!(f.message.len() < 1_000, "{} bytes", f.message.len());
    assert!(f.evidence.values().all(|v| v.len() < 2_000));
}

#[tokio::test]
async fn a_different_default_certificate() {
    let pki = Pki::new("Default");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let other = pki.leaf(&["default.invalid"], -1, 89);
    let mut spec = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    spec.default = Some((pki.full_chain(&other), other.key.clone()));
    let addr = tls_server(spec).await;
    let r = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&r), vec![FindingCode::SniDefaultDiffers]);
    // The default one is not valid for the domain: SNI-less clients get errors.
    assert_eq!(
        finding(&r, FindingCode::SniDefaultDiffers).severity,
        Severity::Warning
    );
    let default_leaf = r
        .probe
        .default_certificate
        .as_ref()
        .and_then(|d| d.leaf.as_ref())
        .unwrap();
    assert_eq!(default_leaf.sans, vec!["default.invalid".to_string()]);
}

#[tokio::test]
async fn proxy_protocol_backend_needs_the_header() {
    let pki = Pki::new("Proxy");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut spec = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    spec.require_proxy = true;
    let addr = tls_server(spec).await;

    let without = check(addr, &opts_with(&pki)).await;
    assert_eq!(codes(&without), vec![FindingCode::BackendHandshakeFailed]);
    assert!(finding(&without, FindingCode::BackendHandshakeFailed)
        .message
        .contains("PROXY"));

    for version in [ProxyVersion::V1, ProxyVersion::V2] {
        let opts = ProbeOptions {
            proxy_protocol: Some(version),
            ..opts_with(&pki)
        };
        let with = check(addr, &opts).await;
        assert!(
            with.findings.is_empty(),
            "{version:?}: {:#?}",
            with.findings
        );
        assert_eq!(with.probe.proxy_protocol, Some(version));
    }
}

#[tokio::test]
async fn an_unreadable_ca_file_is_an_input_error() {
    let opts = ProbeOptions {
        extra_roots_pem: Some("not a pem".into()),
        ..ProbeOptions::default()
    };
    assert!(matches!(opts.validate(), Err(CertsError::InvalidCaFile(_))));
    assert!(validate_domain("shop.example.test").is_ok());
    assert!(validate_domain("not a domain").is_err());
}

async fn fleet(targets: Vec<ProbeTarget>, opts: ProbeOptions) -> FleetReport {
    let reports: Vec<BackendReport> = probe_all(targets, opts, 2).collect().await;
    build_report(DOMAIN, reports)
}

fn fleet_codes(r: &FleetReport) -> Vec<FindingCode> {
    r.findings.iter().map(|f| f.code).collect()
}

#[tokio::test]
async fn the_backend_with_another_certificate_is_named() {
    let pki = Pki::new("Fleet");
    let good = pki.leaf(&[DOMAIN], -1, 89);
    let odd = pki.leaf(&[DOMAIN], -87, 3);
    let a1 = tls_server(TlsSpec::new(pki.full_chain(&good), &good.key)).await;
    let a2 = tls_server(TlsSpec::new(pki.full_chain(&good), &good.key)).await;
    let b = tls_server(TlsSpec::new(pki.full_chain(&odd), &odd.key)).await;
    let mut web3 = target("web-3", b, DOMAIN);
    web3.display_host = "127.0.0.13".into();
    let r = fleet(
        vec![
            target("web-1", a1, DOMAIN),
            web3,
            target("web-2", a2, DOMAIN),
        ],
        opts_with(&pki),
    )
    .await;
    assert_eq!(r.backends.len(), 3);
    assert_eq!(r.groups.len(), 2);
    assert_eq!(r.groups[1].backends, vec!["web-3".to_string()]);
    let codes = fleet_codes(&r);
    assert!(codes.contains(&FindingCode::FleetFingerprintMismatch));
    assert!(codes.contains(&FindingCode::FleetExpirySpread));
    assert!(r.verdict.summary.starts_with(
        "2 of 3 backends serve certificate A; web-3 (127.0.0.13) serves B, which expires in"
    ));
    // The odd one expires in 3 days: an error on that backend, so the verdict is not ok.
    assert!(!r.verdict.ok);
    assert_eq!(r.verdict.severity, Some(Severity::Error));
    // Keep what web-1 and web-2 serve; copy it to web-3.
    let remedy = r.remedy.as_ref().expect("a remedy");
    assert_eq!(remedy.chosen.as_deref(), Some("A"));
    assert_eq!(
        remedy.chosen_sha256.as_deref(),
        Some(r.groups[0].sha256.as_str())
    );
    assert_eq!(remedy.droplets, vec!["web-3".to_string()]);
    assert_eq!(remedy.fixes[0].host, "127.0.0.13");

    // After the copy, a recheck of web-3 alone clears the mismatch.
    let fixed = tls_server(TlsSpec::new(pki.full_chain(&good), &good.key)).await;
    let mut targets = r.recheck_targets(&["web-3".to_string()]).unwrap();
    targets[0].addr = fixed;
    let fresh: Vec<BackendReport> = probe_all(targets, opts_with(&pki), 2).collect().await;
    let after = r.merged_with(fresh);
    assert!(after.remedy.is_none());
    assert!(after.recheck.as_ref().unwrap().cleared);
    assert!(after.verdict.ok, "{}", after.verdict.summary);
}

#[tokio::test]
async fn same_leaf_with_a_different_chain() {
    let pki = Pki::new("Chains");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let full = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let bare = tls_server(TlsSpec::new(vec![leaf.der.clone()], &leaf.key)).await;
    let r = fleet(
        vec![target("web-1", full, DOMAIN), target("web-2", bare, DOMAIN)],
        opts_with(&pki),
    )
    .await;
    assert_eq!(fleet_codes(&r), vec![FindingCode::FleetChainMismatch]);
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert_eq!(r.groups.len(), 1);
}

#[tokio::test]
async fn different_alpn_is_a_protocol_mismatch() {
    let pki = Pki::new("Alpn");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut h2 = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    h2.alpn = vec!["h2"];
    let mut h1 = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    h1.alpn = vec!["http/1.1"];
    let a = tls_server(h2).await;
    let b = tls_server(h1).await;
    let r = fleet(
        vec![target("web-1", a, DOMAIN), target("web-2", b, DOMAIN)],
        opts_with(&pki),
    )
    .await;
    assert_eq!(fleet_codes(&r), vec![FindingCode::FleetProtocolMismatch]);
    assert!(r.verdict.ok);
    assert!(r
        .verdict
        .summary
        .starts_with("All 2 backends serve certificate A"));
}

#[tokio::test]
async fn a_different_tls_version_is_a_protocol_mismatch() {
    let pki = Pki::new("Versions");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut old = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
    old.tls12_only = true;
    let a = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
    let b = tls_server(old).await;
    let r = fleet(
        vec![target("web-1", a, DOMAIN), target("web-2", b, DOMAIN)],
        opts_with(&pki),
    )
    .await;
    assert_eq!(fleet_codes(&r), vec![FindingCode::FleetProtocolMismatch]);
    assert_eq!(r.backends[1].protocol.as_deref(), Some("TLSv1.2"));
    assert!(
        r.backends[1].findings.is_empty(),
        "{:#?}",
        r.backends[1].findings
    );
}

#[tokio::test]
async fn probe_all_never_exceeds_its_concurrency() {
    let (addr, max_open) = counting_silent_server().await;
    let targets: Vec<ProbeTarget> = (0..10)
        .map(|i| target(&format!("web-{i}"), addr, DOMAIN))
        .collect();
    let opts = ProbeOptions {
        timeout: Duration::from_millis(300),
        ..ProbeOptions::default()
    };
    let reports: Vec<BackendReport> = probe_all(targets, opts, 2).collect().await;
    assert_eq!(reports.len(), 10);
    assert!(reports
        .iter()
        .all(|r| codes(r) == vec![FindingCode::BackendTimeout]));
    // Two probes at a time, two handshakes (with and without SNI) each: 4 connections, plus up
    // to 4 the server has not yet seen close when the next two probes connect. Unbounded, all 20
    // would be open at once.
    let max = max_open.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=8).contains(&max), "{max} connections open at once");
}

#[tokio::test]
async fn probe_all_yields_every_backend_even_the_broken_ones() {
    let pki = Pki::new("All");
    let leaf = pki.leaf(&[DOMAIN], -1, 89);
    let mut targets = Vec::new();
    for i in 0..5 {
        let addr = tls_server(TlsSpec::new(pki.full_chain(&leaf), &leaf.key)).await;
        targets.push(target(&format!("web-{i}"), addr, DOMAIN));
    }
    targets.push(target("dead", closed_port().await, DOMAIN));
    let opts = ProbeOptions {
        timeout: Duration::from_secs(5),
        ..opts_with(&pki)
    };
    let mut labels: Vec<String> = probe_all(targets, opts, 3).map(|r| r.label).collect().await;
    labels.sort();
    assert_eq!(
        labels,
        vec!["dead", "web-0", "web-1", "web-2", "web-3", "web-4"]
    );
}
