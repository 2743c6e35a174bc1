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
//! - [`build_report`]: the fleet comparison and verdict → [`FleetReport`].
//!
//! Finding codes and severities follow `shared/research/anchors.md` §2.3.

mod checks;
mod fleet;
mod model;
mod probe;
pub mod proxy;
mod x509;

pub use checks::{check_backend, name_matches};
pub use fleet::{
    backend_report, build_report, probe_all, probe_each, unprobed_report, DEFAULT_CONCURRENCY,
};
pub use model::*;
pub use probe::{parse_pem_certs, probe};
pub use x509::cert_info;

/// What can go wrong before any probing starts (bad input).
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("the CA file is not usable: {0}")]
    InvalidCaFile(String),
    #[error("{0:?} is not a valid domain name")]
    InvalidDomain(String),
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
            .register::<ProxyVersion>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::PhasesFormat)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ts.contains("FleetReport"), "{ts}");
        assert!(ts.contains("\"backend.unreachable\""), "{ts}");
        assert!(!ts.contains("bigint"), "{ts}");
    }
}
