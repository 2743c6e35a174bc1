//! DigitalOcean API v2 client for Cutover.
//!
//! Models for the resources Cutover manages (load balancers, droplets, certificates, domains, tags,
//! VPCs, regions), pagination, rate-limit tracking, typed errors carrying the request id, the
//! load-balancer validator shared with the Sandbox, and safe read–modify–write updates.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cutover_digitalocean::Error> {
//! use cutover_digitalocean::{Client, ClientConfig};
//! let client = Client::new(ClientConfig::new("dop_v1_…").with_base_url("http://127.0.0.1:8080"))?;
//! let lbs = client.list_load_balancers().await?;
//! let mut desired = lbs[0].clone();
//! desired.redirect_http_to_https = true;
//! let plan = cutover_digitalocean::plan::plan_update(&lbs[0], &desired);
//! client.dry_run(&plan).await?;
//! client.apply(&plan).await?;
//! # Ok(()) }
//! ```

pub mod client;
#[cfg(feature = "contract")]
pub mod contract;
pub mod error;
pub mod models;
pub mod monitoring;
pub mod plan;
pub mod secret;
pub mod validate;

pub use client::{with_request_ids, Client, ClientConfig, Listing, RateLimit, DEFAULT_BASE_URL};
pub use error::{clean_request_id, human_bytes, human_duration, Error, Result};
pub use models::*;
pub use monitoring::{MetricMatrix, MetricSeries};
pub use plan::{plan_update, FieldChange, UpdatePlan};
pub use secret::Secret;
pub use validate::{notes, validate_load_balancer, Finding, Note, Severity, ValidationContext};
#[cfg(all(test, feature = "specta"))]
mod specta_tests {
    use super::*;

    /// Every model exports to TypeScript (no BigInt, no `serde_json::Value`).
    #[test]
    fn models_export_to_typescript() {
        let types = specta::Types::default()
            .register::<LoadBalancer>()
            .register::<LoadBalancerRequest>()
            .register::<Droplet>()
            .register::<Certificate>()
            .register::<CertificateRequest>()
            .register::<Domain>()
            .register::<DomainRecord>()
            .register::<DomainRecordRequest>()
            .register::<Tag>()
            .register::<Vpc>()
            .register::<Account>()
            .register::<Region>()
            .register::<Links>()
            .register::<Meta>()
            .register::<DropletIdsRequest>()
            .register::<ForwardingRulesRequest>()
            .register::<validate::Finding>()
            .register::<validate::Operation>()
            .register::<validate::Note>()
            .register::<plan::UpdatePlan>()
            .register::<RateLimit>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::PhasesFormat)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ts.contains("LoadBalancer"), "{ts}");
        assert!(!ts.contains("bigint"), "{ts}");
    }
}
