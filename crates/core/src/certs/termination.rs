//! A load balancer that terminates TLS with one of the account's certificates (an `https` or
//! `http2` entry with a certificate), that certificate compared with what its droplets serve when
//! it re-encrypts to them (`https` target), or the reason no comparison applies.

use serde::{Deserialize, Serialize};

use cutover_digitalocean::{Droplet, LoadBalancer};

use super::inventory::{list_certificates, CertificateSummary};
use super::{check_backends, lb_backends_at, CertCheckOptions, FleetReport};
use crate::context::Connection;
use crate::ApiError;

/// What two certificates are compared on: the DigitalOcean certificate a load balancer
/// terminates TLS with (from the certificates API), and what a backend serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// SHA-1 of the DER (the API's `sha1_fingerprint`), hex in any case, colons allowed.
    pub sha1: String,
    pub dns_names: Vec<String>,
    pub not_after_unix: Option<i64>,
}

fn norm_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How a backend's certificate differs from the load balancer's, in plain sentences; empty when
/// it is the same certificate (same SHA-1).
pub fn compare_certificates(lb: &CertFacts, backend: &CertFacts) -> Vec<String> {
    let (lb_fp, be_fp) = (norm_fingerprint(&lb.sha1), norm_fingerprint(&backend.sha1));
    if !lb_fp.is_empty() && lb_fp == be_fp {
        return Vec::new();
    }
    let short = |fp: &str| fp.get(..12).unwrap_or(fp).to_string();
    let mut out = vec![format!(
        "serves another certificate (SHA-1 {}… where the load balancer uses {}…)",
        short(&be_fp),
        short(&lb_fp)
    )];
    let lower =
        |v: &[String]| -> Vec<String> { v.iter().map(|n| n.to_ascii_lowercase()).collect() };
    let (lb_names, be_names) = (lower(&lb.dns_names), lower(&backend.dns_names));
    let missing: Vec<&str> = lb_names
        .iter()
        .filter(|n| !be_names.contains(n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        out.push(format!("does not cover {}", missing.join(", ")));
    }
    let extra: Vec<&str> = be_names
        .iter()
        .filter(|n| !lb_names.contains(n))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        out.push(format!("also covers {}", extra.join(", ")));
    }
    if let (Some(l), Some(b)) = (lb.not_after_unix, backend.not_after_unix) {
        let days = (l - b) as f64 / 86_400.0;
        if days >= 1.0 {
            out.push(format!(
                "expires {:.0} days before the load balancer's certificate",
                days.floor()
            ));
        } else if days <= -1.0 {
            out.push(format!(
                "expires {:.0} days after the load balancer's certificate",
                (-days).floor()
            ));
        }
    }
    out
}

/// SHA-1 of a certificate given in PEM, lowercase hex (what the API's `sha1_fingerprint` is).
pub fn pem_sha1(pem: &str) -> Option<String> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref());
    Some(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

/// A load balancer that terminates TLS with one of the account's certificates, compared with
/// what its droplets serve.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TerminationCheck {
    pub lb_id: String,
    pub lb_name: String,
    /// The terminating rule, e.g. `https:443 → http:80`.
    pub rule: String,
    pub certificate_id: String,
    /// The certificate as the API describes it; `None` when the id is not in the account.
    pub certificate: Option<CertificateSummary>,
    pub backends: TerminationBackends,
}

/// What the droplets behind a terminating rule serve.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminationBackends {
    /// The load balancer forwards plain HTTP: the droplets serve no certificate, so there is
    /// nothing to compare.
    PlainHttp {
        target_protocol: String,
        target_port: u16,
    },
    /// The load balancer re-encrypts to the droplets (`https` target): each droplet's
    /// certificate compared with the load balancer's.
    ReEncrypt {
        target_port: u16,
        /// The name sent as SNI.
        domain: String,
        compared: Vec<BackendComparison>,
    },
    /// The droplets could not be listed or probed.
    Failed { message: String },
}

/// One droplet's certificate next to the load balancer's.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BackendComparison {
    pub label: String,
    pub address: String,
    /// Why no certificate could be read, when none was.
    pub error: Option<String>,
    pub sha1: Option<String>,
    pub dns_names: Vec<String>,
    pub not_after: Option<String>,
    pub same: bool,
    /// Plain sentences, empty when `same`.
    pub differences: Vec<String>,
}

fn facts_of_summary(c: &CertificateSummary) -> CertFacts {
    CertFacts {
        sha1: c.sha1_fingerprint.clone(),
        dns_names: c.dns_names.clone(),
        not_after_unix: time::OffsetDateTime::parse(
            &c.not_after,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
        .map(|t| t.unix_timestamp()),
    }
}

/// The name to send as SNI to the droplets: the certificate's first exact name, else its first
/// wildcard with `www` in place of the `*`.
fn sni_for(names: &[String]) -> Option<String> {
    names
        .iter()
        .find(|n| !n.starts_with('*'))
        .cloned()
        .or_else(|| {
            names
                .first()
                .map(|n| format!("www.{}", n.trim_start_matches("*.")))
        })
}

/// Compares `report`'s backends with the load balancer's certificate `lb_cert`.
pub fn compare_report(
    lb_cert: &CertificateSummary,
    report: &FleetReport,
) -> Vec<BackendComparison> {
    let lb = facts_of_summary(lb_cert);
    report
        .backends
        .iter()
        .map(|b| match &b.leaf {
            Some(leaf) => {
                let sha1 = pem_sha1(&leaf.pem).unwrap_or_default();
                let differences = compare_certificates(
                    &lb,
                    &CertFacts {
                        sha1: sha1.clone(),
                        dns_names: leaf.sans.clone(),
                        not_after_unix: Some(leaf.not_after_unix),
                    },
                );
                BackendComparison {
                    label: b.label.clone(),
                    address: b.address.clone(),
                    error: None,
                    sha1: Some(sha1),
                    dns_names: leaf.sans.clone(),
                    not_after: Some(leaf.not_after.clone()),
                    same: differences.is_empty(),
                    differences,
                }
            }
            None => BackendComparison {
                label: b.label.clone(),
                address: b.address.clone(),
                error: Some(
                    b.probe
                        .failure
                        .as_ref()
                        .map(|f| f.message.clone())
                        .unwrap_or_else(|| "no certificate was served".into()),
                ),
                sha1: None,
                dns_names: Vec::new(),
                not_after: None,
                same: false,
                differences: Vec::new(),
            },
        })
        .collect()
}

/// Every load balancer of the account that terminates TLS (an `https`/`http2` entry with a
/// certificate), with its certificate compared to what its droplets serve when it re-encrypts
/// to them, or the reason no comparison applies.
pub async fn termination_checks(conn: &Connection) -> Result<Vec<TerminationCheck>, ApiError> {
    let lbs = conn.client.list_load_balancers().await?;
    let certs = list_certificates(conn).await?;
    let mut droplets = None;
    let mut out = Vec::new();
    for lb in &lbs {
        for rule in &lb.forwarding_rules {
            let entry = rule.entry_protocol.to_ascii_lowercase();
            let Some(cert_id) = rule.certificate() else {
                continue;
            };
            if entry != "https" && entry != "http2" {
                continue;
            }
            let certificate = certs.iter().find(|c| c.id == cert_id).cloned();
            let target_port = u16::try_from(rule.target_port).unwrap_or(0);
            let target = rule.target_protocol.to_ascii_lowercase();
            let backends = if target != "https" {
                TerminationBackends::PlainHttp {
                    target_protocol: target.clone(),
                    target_port,
                }
            } else {
                if droplets.is_none() {
                    droplets = Some(conn.client.list_droplets().await?);
                }
                compare_re_encrypting(
                    conn,
                    lb,
                    droplets.as_deref().unwrap_or_default(),
                    certificate.as_ref(),
                    target_port,
                )
                .await
            };
            out.push(TerminationCheck {
                lb_id: lb.id.clone(),
                lb_name: lb.name.clone(),
                rule: format!(
                    "{}:{} → {}:{}",
                    entry, rule.entry_port, target, rule.target_port
                ),
                certificate_id: cert_id.to_string(),
                certificate,
                backends,
            });
        }
    }
    Ok(out)
}

async fn compare_re_encrypting(
    conn: &Connection,
    lb: &LoadBalancer,
    droplets: &[Droplet],
    certificate: Option<&CertificateSummary>,
    target_port: u16,
) -> TerminationBackends {
    let failed = |message: String| TerminationBackends::Failed { message };
    let Some(cert) = certificate else {
        return failed("the certificate is not in this account: nothing to compare with".into());
    };
    let Some(domain) = sni_for(&cert.dns_names) else {
        return failed(format!("certificate {} names no domain", cert.name));
    };
    // The same droplets and probe targets as a certificate check of the load balancer.
    let backends = lb_backends_at(lb, droplets, target_port, |d, p| conn.resolve(d, p));
    if backends.targets.is_empty() {
        return failed(format!("{} has no droplets reachable from here", lb.name));
    }
    let options = CertCheckOptions {
        proxy_protocol: backends.proxy_protocol,
        ..Default::default()
    }
    .with_connection_ca(Some(conn));
    match check_backends(&domain, backends.targets, &options, |_| {}).await {
        Ok(report) => {
            let mut compared = compare_report(cert, &report);
            // A droplet that cannot be reached from here is listed, not silently left out.
            compared.extend(backends.unreachable.into_iter().map(|(target, why)| {
                BackendComparison {
                    label: target.label,
                    address: target.display_host,
                    error: Some(why),
                    sha1: None,
                    dns_names: Vec::new(),
                    not_after: None,
                    same: false,
                    differences: Vec::new(),
                }
            }));
            TerminationBackends::ReEncrypt {
                target_port,
                compared,
                domain,
            }
        }
        Err(e) => failed(e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sha1: &str, names: &[&str], not_after: i64) -> CertFacts {
        CertFacts {
            sha1: sha1.into(),
            dns_names: names.iter().map(|n| n.to_string()).collect(),
            not_after_unix: Some(not_after),
        }
    }

    #[test]
    fn the_same_certificate_has_no_differences_whatever_the_fingerprint_spelling() {
        let lb = facts("AB:CD:EF:01", &["shop.test"], 1_000_000);
        let be = facts("abcdef01", &["SHOP.test"], 1_000_000);
        assert!(compare_certificates(&lb, &be).is_empty());
    }

    #[test]
    fn another_certificate_says_what_differs() {
        let day = 86_400;
        let lb = facts("aaaa", &["shop.test", "*.shop.test"], 100 * day);
        let be = facts("bbbb", &["shop.test", "old.test"], 97 * day);
        let d = compare_certificates(&lb, &be);
        assert!(
            d[0].starts_with("serves another certificate (SHA-1 bbbb…"),
            "{d:?}"
        );
        assert!(
            d.contains(&"does not cover *.shop.test".to_string()),
            "{d:?}"
        );
        assert!(d.contains(&"also covers old.test".to_string()), "{d:?}");
        assert!(
            d.contains(&"expires 3 days before the load balancer's certificate".to_string()),
            "{d:?}"
        );
        // An empty fingerprint never counts as the same certificate.
        assert!(!compare_certificates(&facts("", &[], 0), &facts("", &[], 0)).is_empty());
        assert_eq!(sni_for(&["*.shop.test".into()]).unwrap(), "www.shop.test");
        assert_eq!(
            sni_for(&["*.shop.test".into(), "shop.test".into()]).unwrap(),
            "shop.test"
        );
    }

    /// blog-https terminates TLS and forwards plain HTTP: no comparison applies. Switched to
    /// re-encrypt with the shop certificate to all three web droplets, exactly web-3 differs.
    #[tokio::test]
    async fn terminating_load_balancers_are_compared_with_their_droplets() {
        crate::init_tls();
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let checks = termination_checks(&conn).await.unwrap();
        assert_eq!(checks.len(), 1, "{checks:#?}");
        let blog = &checks[0];
        assert_eq!(blog.lb_name, "blog-https");
        assert_eq!(blog.rule, "https:443 → http:80");
        assert_eq!(blog.certificate.as_ref().unwrap().name, "blog-le");
        assert!(matches!(
            blog.backends,
            TerminationBackends::PlainHttp {
                target_port: 80,
                ..
            }
        ));

        let certs = list_certificates(&conn).await.unwrap();
        let shop = certs.iter().find(|c| c.name == "shop-wildcard").unwrap();
        let lbs = conn.client.list_load_balancers().await.unwrap();
        let lb = lbs.iter().find(|l| l.name == "blog-https").unwrap();
        let droplets = conn.client.list_droplets().await.unwrap();
        let mut req = lb.to_request();
        req.droplet_ids = Some(
            droplets
                .iter()
                .filter(|d| d.tags.iter().any(|t| t == "web"))
                .map(|d| d.id)
                .collect(),
        );
        for rule in &mut req.forwarding_rules {
            if rule.certificate().is_some() {
                rule.target_protocol = "https".into();
                rule.target_port = 443;
                rule.certificate_id = Some(shop.id.clone());
            }
        }
        conn.client
            .update_load_balancer(&lb.id, &req)
            .await
            .unwrap();
        let checks = termination_checks(&conn).await.unwrap();
        sandbox.shutdown().await;
        let TerminationBackends::ReEncrypt {
            compared, domain, ..
        } = &checks[0].backends
        else {
            panic!("{checks:#?}");
        };
        assert!(!domain.starts_with('*'));
        let differing: Vec<&str> = compared
            .iter()
            .filter(|c| !c.same)
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(differing, ["web-3"], "{compared:#?}");
        let web3 = compared.iter().find(|c| c.label == "web-3").unwrap();
        assert!(
            web3.differences[0].starts_with("serves another certificate"),
            "{web3:#?}"
        );
    }
}
