//! Certificate inspection as one call for the app and the CLI: probe every backend of a domain,
//! stream each result as it finishes, and return the fleet report.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cutover_certs::{
    BackendReport, CertGroup, CertInfo, Finding, FindingCode, FleetReport, ProbeOptions,
    ProbeTarget, ProxyVersion, Severity, Verdict, DEFAULT_CONCURRENCY,
};

use crate::error::{ApiError, ErrorCode};

impl From<cutover_certs::CertsError> for ApiError {
    fn from(err: cutover_certs::CertsError) -> Self {
        let field = match &err {
            cutover_certs::CertsError::InvalidCaFile(_) => "ca_file",
            cutover_certs::CertsError::InvalidDomain(_) => "domain",
        };
        ApiError::new(ErrorCode::InvalidInput, err.to_string())
            .with_details(serde_json::json!({ "field": field }))
    }
}

/// What the UI (or the CLI) chooses about a check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct CertCheckOptions {
    /// Send a PROXY protocol header first (what the load balancer does when its flag is on).
    pub proxy_protocol: Option<ProxyVersion>,
    /// Per-backend timeout in seconds (default 5).
    pub timeout_secs: Option<f64>,
    /// PEM of a private CA to trust in addition to the public and OS roots.
    pub ca_pem: Option<String>,
    /// How many backends to probe at once (default 32).
    pub concurrency: Option<u32>,
}

impl CertCheckOptions {
    /// The probe options, validated (a bad timeout or CA file is the user's input error).
    pub fn to_probe_options(&self) -> Result<ProbeOptions, ApiError> {
        let mut opts = ProbeOptions {
            proxy_protocol: self.proxy_protocol,
            extra_roots_pem: self.ca_pem.clone(),
            ..ProbeOptions::default()
        };
        if let Some(secs) = self.timeout_secs {
            if !(secs.is_finite() && secs > 0.0 && secs <= 300.0) {
                return Err(ApiError::invalid_input(format!(
                    "the timeout must be between 0 and 300 seconds, not {secs}"
                ))
                .with_details(serde_json::json!({ "field": "timeout" })));
            }
            opts.timeout = Duration::from_secs_f64(secs);
        }
        opts.validate()?;
        Ok(opts)
    }

    fn concurrency(&self) -> usize {
        self.concurrency
            .map(|c| c.clamp(1, 1024) as usize)
            .unwrap_or(DEFAULT_CONCURRENCY)
    }
}

/// Probe `backends` for `domain` (sent as SNI to each), calling `on_result` as each finishes, and
/// compare them. Backends without an SNI get `domain`.
pub async fn check_backends(
    domain: &str,
    backends: Vec<ProbeTarget>,
    options: &CertCheckOptions,
    on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    cutover_certs::validate_domain(&domain)?;
    if backends.is_empty() {
        return Err(
            ApiError::invalid_input("give at least one backend to check")
                .with_details(serde_json::json!({ "field": "backends" })),
        );
    }
    let opts = options.to_probe_options()?;
    let backends: Vec<ProbeTarget> = backends
        .into_iter()
        .map(|mut t| {
            if t.sni.is_none() {
                t.sni = Some(domain.clone());
            }
            t
        })
        .collect();
    tracing::info!(domain = %domain, backends = backends.len(), "checking backend certificates");
    let reports = cutover_certs::probe_each(backends, opts, options.concurrency(), on_result).await;
    let report = cutover_certs::build_report(&domain, reports);
    tracing::info!(domain = %domain, verdict = %report.verdict.summary, "certificate check done");
    Ok(report)
}

/// Turn `HOST:PORT` (a name, an IPv4 or a bracketed IPv6) into a probe target. A name that
/// resolves to several addresses uses the first, and says so in the label.
pub async fn backend_from_spec(spec: &str) -> Result<ProbeTarget, ApiError> {
    let spec = spec.trim();
    let bad = || {
        ApiError::invalid_input(format!(
            "{spec:?} is not HOST:PORT (e.g. 203.0.113.7:443 or [2001:db8::1]:443)"
        ))
        .with_details(serde_json::json!({ "field": "backend" }))
    };
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(ProbeTarget {
            label: spec.to_string(),
            addr,
            display_host: addr.ip().to_string(),
            sni: None,
        });
    }
    let (host, port) = spec.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains(':') {
        return Err(bad());
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Network,
                format!("could not resolve {host:?}: {e}"),
            )
            .with_details(serde_json::json!({ "field": "backend" }))
        })?
        .collect();
    let addr = *addrs.first().ok_or_else(|| {
        ApiError::new(ErrorCode::Network, format!("{host:?} has no address"))
            .with_details(serde_json::json!({ "field": "backend" }))
    })?;
    Ok(ProbeTarget {
        label: spec.to_string(),
        addr,
        display_host: host.to_string(),
        sni: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn specs_parse() {
        let t = backend_from_spec("127.0.0.1:8443").await.unwrap();
        assert_eq!(t.addr, "127.0.0.1:8443".parse::<SocketAddr>().unwrap());
        let t = backend_from_spec("[::1]:443").await.unwrap();
        assert_eq!(t.display_host, "::1");
        let t = backend_from_spec("localhost:443").await.unwrap();
        assert!(t.addr.ip().is_loopback());
        assert_eq!(t.display_host, "localhost");
        for bad in ["", "127.0.0.1", "host:port", ":443", "::1:443"] {
            let err = backend_from_spec(bad).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[tokio::test]
    async fn bad_input_is_invalid_input() {
        let target = backend_from_spec("127.0.0.1:9").await.unwrap();
        let err = check_backends(
            "not a domain",
            vec![target.clone()],
            &Default::default(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let opts = CertCheckOptions {
            ca_pem: Some("nope".into()),
            ..Default::default()
        };
        let err = check_backends("shop.test", vec![target.clone()], &opts, |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.details.unwrap()["field"], "ca_file");
        let err = check_backends("shop.test", vec![], &Default::default(), |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }

    #[tokio::test]
    async fn a_dead_backend_is_reported_through_the_callback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = backend_from_spec(&addr.to_string()).await.unwrap();
        let mut seen = Vec::new();
        let report = check_backends("Shop.Test.", vec![target], &Default::default(), |r| {
            seen.push(r.label.clone())
        })
        .await
        .unwrap();
        assert_eq!(seen, vec![addr.to_string()]);
        assert_eq!(report.domain, "shop.test");
        assert_eq!(
            report.backends[0].findings[0].code,
            FindingCode::BackendUnreachable
        );
        assert!(!report.verdict.ok);
    }
}
