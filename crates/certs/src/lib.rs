//! Certificate inspection for Cutover.
//!
//! Probes a backend over TLS (optionally after a PROXY protocol header) with the domain as SNI,
//! records the chain it serves, checks it, and compares what every backend of a load balancer
//! serves so that the one that differs stands out.
//!
//! - [`probe`]: one backend → [`ProbeResult`] (observations only, never an error: a backend that
//!   refuses, hangs or speaks something else is an observation too).
//! - [`backend_report`]: a [`ProbeResult`] judged → [`BackendReport`] with [`Finding`]s.
//! - [`probe_all`]: many backends, bounded concurrency, each report streamed as it finishes.
//! - [`build_report`]: the fleet comparison and verdict → [`FleetReport`], with the [`Remedy`] when
//!   backends disagree (the certificate to keep, the steps per droplet to change).
//! - [`recheck_targets`] + [`merge_recheck`]: probe only the changed droplets again and compare
//!   them with the rest of an earlier report ([`FleetReport::recheck`]).
//!
//! Finding codes and severities follow `shared/research/anchors.md` §2.3:
//!
//! | code | severity | when |
//! |---|---|---|
//! | `backend.unreachable` | critical | TCP connect refused / no route / no public IPv4 |
//! | `backend.timeout` | critical | connect or handshake not done within the timeout |
//! | `backend.not_tls` | error | the first bytes back are not a TLS record (e.g. plain HTTP): the message names the droplet and what it answered |
//! | `backend.handshake_failed` | critical | alert, reset, EOF, malformed record, a chain over 64 KB ("too large"), unreadable certificate, or a handshake signature that does not verify with the leaf's key |
//! | `cert.name_mismatch` | critical | no subjectAltName matches the domain (RFC 6125; `*.` = one left-most label; CN ignored) |
//! | `cert.expired` / `cert.not_yet_valid` | critical | leaf outside its validity period |
//! | `cert.expiring_soon` | warning / error | less than min(30 d, ⅓ of the lifetime) left / less than 7 d |
//! | `chain.untrusted` | critical | no trust store (public roots, OS roots, CA file) accepts the chain; the message names the cause (unknown root, an issuer's dates, depth, algorithm, signature, purpose) |
//! | `chain.incomplete` | critical | webpki says UnknownIssuer and the leaf's issuer is not among the certificates sent (see below) |
//! | `cert.self_signed` | critical (info when the CA file trusts it) | the leaf is signed by its own key |
//! | `chain.order` | warning | a certificate is not followed by its issuer, duplicates, unrelated certificates, certificates after a root, or more than 16 sent |
//! | `cert.weak_key` | error | RSA < 2048, EC < 256 bits, DSA — leaf or intermediates |
//! | `cert.weak_signature` | error | MD2/MD5/SHA-1 signatures on the leaf or intermediates (a root's self-signature does not count) |
//! | `sni.default_differs` | info / warning | the certificate without SNI differs / and is not valid for the domain |
//! | `fleet.fingerprint_mismatch` | warning / error | backends serve different leaves / and one of them has an error |
//! | `fleet.chain_mismatch` | warning / error | same leaf, different chains / and one is incomplete or untrusted |
//! | `fleet.expiry_spread` | warning | leaf expiry dates more than 7 days apart |
//! | `fleet.protocol_mismatch` | warning | negotiated TLS version or ALPN differs |
//!
//! **Incomplete chains** are told apart from untrusted ones without fetching anything (AIA
//! fetching would mean traffic beyond the backend): when webpki cannot find an issuer and no
//! certificate the server sent is the leaf's issuer (by name and key id), the server most likely
//! omitted its intermediate. When the leaf's issuer is sent but its root is unknown, the chain is
//! `chain.untrusted` (a private CA: pass it as the extra CA).
//!
//! **Expired leaves** are also verified within their lifetime (their last second, then their
//! middle), so an expired certificate from a trusted CA reports `cert.expired` alone, not also
//! `chain.untrusted` — unless a certificate sent with it has expired by now as well.
//!
//! The probe accepts every certificate and every handshake signature (recording whether it
//! verified): it must see and report what a broken server sends, and it never sends application
//! data. rustls speaks only TLS 1.2 and 1.3, so servers that only offer older versions show up as
//! `backend.handshake_failed`.

mod checks;
mod fleet;
mod model;
mod probe;
pub mod proxy;
mod remedy;
mod x509;

pub use checks::{check_backend, name_matches};
pub use fleet::{
    backend_report, build_report, probe_all, probe_each, unprobed_report, DEFAULT_CONCURRENCY,
};
pub use model::*;
pub use probe::{parse_pem_certs, probe};
pub use remedy::{
    detect_server, is_lets_encrypt, merge_recheck, recheck_targets, remedy, DropletFix, FixStep,
    Recheck, RecheckError, Remedy, UnknownServer, WebServer, LETS_ENCRYPT_BEHIND_LB, SSH_USER,
};
pub use x509::cert_info;

/// What can go wrong before any probing starts (bad input).
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("the CA file is not usable: {0}")]
    InvalidCaFile(String),
    #[error("{0:?} is not a valid domain name{hint}", hint = idn_hint(.0))]
    InvalidDomain(String),
}

/// Certificates and SNI carry internationalised names in their ASCII form (`xn--…`).
fn idn_hint(domain: &str) -> &'static str {
    if domain.is_ascii() {
        ""
    } else {
        "; give an internationalised name in its punycode form (xn--…), as certificates and SNI carry it"
    }
}

impl ProbeOptions {
    /// Check the options a user gave (the CA file) before probing, so that a typo is an error
    /// and not a silent "untrusted" on every backend.
    pub fn validate(&self) -> Result<(), CertsError> {
        if let Some(pem) = &self.extra_roots_pem {
            parse_pem_certs(pem)?;
        }
        Ok(())
    }
}

/// Check that `domain` can be sent as SNI.
pub fn validate_domain(domain: &str) -> Result<(), CertsError> {
    let trimmed = domain.trim_end_matches('.');
    if trimmed.is_empty() || rustls::pki_types::ServerName::try_from(trimmed.to_string()).is_err() {
        return Err(CertsError::InvalidDomain(domain.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unicode_domain_gets_the_punycode_hint() {
        let err = validate_domain("bücher.example").unwrap_err().to_string();
        assert!(err.contains("punycode form (xn--"), "{err}");
        assert!(validate_domain("xn--bcher-kva.example").is_ok());
        let err = validate_domain("not a domain").unwrap_err().to_string();
        assert_eq!(err, "\"not a domain\" is not a valid domain name");
    }
}

#[cfg(all(test, feature = "specta"))]
mod specta_tests {
    use super::*;

    /// The report types export to TypeScript (no BigInt, no `serde_json::Value`).
    #[test]
    fn reports_export_to_typescript() {
        let types = specta::Types::default()
            .register::<FleetReport>()
            .register::<BackendReport>()
            .register::<ProbeTarget>()
            .register::<ProxyVersion>()
            .register::<Remedy>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::PhasesFormat)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ts.contains("FleetReport"), "{ts}");
        assert!(ts.contains("\"backend.unreachable\""), "{ts}");
        assert!(!ts.contains("bigint"), "{ts}");
        assert!(ts.contains("chosen_sha256"), "{ts}");
    }
}
