//! DigitalOcean API v2 client for Cutover.
//!
//! Models for the resources Cutover manages (load balancers, droplets, certificates, domains, tags,
//! VPCs, regions), pagination, rate-limit tracking, typed errors carrying the request id, the
//! load-balancer validator shared with the Sandbox, and safe read–modify–write updates.

pub mod models;
pub mod validate;

pub use models::*;

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
            .register::<validate::Operation>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::PhasesFormat)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ts.contains("LoadBalancer"), "{ts}");
        assert!(!ts.contains("bigint"), "{ts}");
    }
}
