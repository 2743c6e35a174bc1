//! One HTTPS request to a domain at an address chosen here, not the one DNS gives: the
//! rehearsal's test request through the local balancer, and the HTTPS step of DNS verify (the
//! load balancer's IP, before or while DNS moves). One client setup, one reading of the
//! certificate the server presented, one sentence when it fails.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::certs::CertInfo;
use crate::{ApiError, ErrorCode};

/// How long the request may take, handshake and first bytes of the body included.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// How much of the body is kept.
const BODY_PREVIEW: usize = 2048;

// The result of any probe; the name and the sentences below are the rehearsal's because they are
// in the generated UI bindings (DNS verify turns it into its own `HttpsCheck`).
/// A built-in test request through the balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TestRequestResult {
    pub url: String,
    /// Where the request really went (the balancer).
    pub via: String,
    pub status: u16,
    pub http_version: String,
    pub headers: Vec<(String, String)>,
    pub elapsed_ms: f64,
    /// The certificate the server presented, as seen through the balancer.
    pub certificate: Option<CertInfo>,
    /// The first 2 KiB of the body.
    pub body_preview: String,
}

/// `https://domain{path}`: `domain` lower-cased without a trailing dot, `path` with its leading
/// `/`. An input error when `domain` is not a host name.
pub fn probe_url(domain: &str, path: &str) -> Result<String, ApiError> {
    let domain = cutover_domain::normalize(domain);
    cutover_certs::validate_domain(&domain)?;
    let path = path.trim();
    Ok(if path.starts_with('/') {
        format!("https://{domain}{path}")
    } else {
        format!("https://{domain}/{path}")
    })
}

/// `GET https://domain{path}` with `domain` resolved to `addr` (no DNS look-up), redirects not
/// followed, the certificate verified for `domain` against the public roots plus `ca_pem` (the
/// Sandbox's CA, or the user's). Any HTTP status is an answer; a failure to connect, a
/// certificate refused or a timeout is a `network` error whose message carries the whole chain
/// of causes (`details.cause` has the chain alone).
pub async fn https_probe(
    domain: &str,
    path: &str,
    addr: SocketAddr,
    ca_pem: Option<&str>,
) -> Result<TestRequestResult, ApiError> {
    let url = probe_url(domain, path)?;
    let host = cutover_domain::normalize(domain);
    let mut builder = reqwest::Client::builder()
        .resolve(&host, addr)
        .tls_info(true)
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        let bad = |why: String| {
            ApiError::new(
                ErrorCode::Internal,
                format!("the extra CA is not valid PEM: {why}"),
            )
        };
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("it holds no certificate".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let started = Instant::now();
    let mut response = client.get(&url).send().await.map_err(|e| {
        // The chain of sources carries the real reason (certificate, refused, reset…).
        let cause = error_chain(&e);
        ApiError::new(
            ErrorCode::Network,
            format!("the HTTPS request to {url} through {addr} failed: {cause}"),
        )
        .with_details(serde_json::json!({
            "url": url,
            "addr": addr.to_string(),
            "cause": cause,
        }))
    })?;
    let certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(cutover_certs::cert_info);
    let status = response.status().as_u16();
    let http_version = format!("{:?}", response.version());
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    // Only the preview is read: a large or endless body does not hold the answer back.
    let mut body = Vec::new();
    while body.len() < BODY_PREVIEW {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(BODY_PREVIEW);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(TestRequestResult {
        url,
        via: addr.to_string(),
        status,
        http_version,
        headers,
        elapsed_ms,
        certificate,
        body_preview: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An error and its sources, joined with `: `.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_domains_checked() {
        assert_eq!(
            probe_url(" Shop.Test. ", "health").unwrap(),
            "https://shop.test/health"
        );
        assert_eq!(probe_url("shop.test", "/").unwrap(), "https://shop.test/");
        let err = probe_url("not a domain", "/").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_cause() {
        crate::init_tls();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = https_probe("shop.test", "/", addr, None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Network);
        assert!(
            err.message.contains("https://shop.test/"),
            "{}",
            err.message
        );
        assert!(err.message.contains(&addr.to_string()), "{}", err.message);
        let details = err.details.unwrap();
        assert!(!details["cause"].as_str().unwrap().is_empty());
        let err = https_probe("shop.test", "/", addr, Some("not pem"))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Internal);
    }
}
