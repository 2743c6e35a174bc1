//! The account's DigitalOcean certificates: names, expiry, and which load balancers use each.

use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::ApiError;

/// One of the account's DigitalOcean certificates.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSummary {
    pub id: String,
    pub name: String,
    /// `custom` or `lets_encrypt`.
    pub kind: String,
    pub state: String,
    pub dns_names: Vec<String>,
    pub not_after: String,
    /// Days until it expires (negative when expired); `None` when the date is unreadable.
    pub days_left: Option<f64>,
    pub sha1_fingerprint: String,
    /// Load balancers that terminate TLS with it.
    pub used_by: Vec<String>,
}

/// The account's certificates, soonest expiry first.
pub async fn list_certificates(conn: &Connection) -> Result<Vec<CertificateSummary>, ApiError> {
    let certs = conn.client.list_certificates().await?;
    let lbs = conn.client.list_load_balancers().await.unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let mut out: Vec<CertificateSummary> = certs
        .into_iter()
        .map(|c| {
            let days_left = time::OffsetDateTime::parse(
                &c.not_after,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .map(|t| ((t - now).whole_seconds() as f64 / 86_400.0 * 10.0).round() / 10.0);
            let used_by = lbs
                .iter()
                .filter(|lb| {
                    lb.forwarding_rules
                        .iter()
                        .any(|r| r.certificate_id.as_deref() == Some(c.id.as_str()))
                })
                .map(|lb| lb.name.clone())
                .collect();
            CertificateSummary {
                dns_names: c.names().map(str::to_string).collect(),
                id: c.id,
                name: c.name,
                kind: c.kind,
                state: c.state,
                not_after: c.not_after,
                days_left,
                sha1_fingerprint: c.sha1_fingerprint,
                used_by,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.days_left
            .unwrap_or(f64::MAX)
            .total_cmp(&b.days_left.unwrap_or(f64::MAX))
    });
    Ok(out)
}
