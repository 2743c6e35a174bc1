//! The local SSL-passthrough balancer.
//!
//! Listens on the user's machine, reads the SNI from the TLS ClientHello without consuming it and
//! relays the raw bytes to a healthy backend. It never decrypts and only routes configured domains
//! (it is never an open relay). Start one with [`Balancer::start`]; the returned
//! [`BalancerHandle`] gives live [`StatsSnapshot`]s, a stream of [`BalancerEvent`]s (the
//! connection log and health changes) and a draining [`BalancerHandle::stop`].

pub mod config;
mod error;
mod health;
pub mod hello;
mod limits;
mod proxy_header;
mod redirect;
mod relay;
mod server;
pub mod stats;

pub use config::{
    Algorithm, BackendConfig, BalancerConfig, DomainPattern, DomainSet, HealthCheckConfig,
    HealthCheckProtocol, ProxyProtocol,
};
pub use error::BalancerError;
pub use health::AcceptAnyCert;
pub use hello::{inspect, HelloOutcome, Inspect};
pub use limits::ConnectionLimit;
pub use relay::RELAY_BUFFER;
pub use server::{Balancer, BalancerHandle};
pub use stats::{
    BackendHealth, BackendStats, BalancerEvent, ConnectionRecord, Outcome, StatsSnapshot,
};

#[cfg(all(test, feature = "specta"))]
mod specta_tests {
    /// The UI types must pass the TypeScript exporter (no bare u64, no untyped JSON).
    #[test]
    fn types_export_to_typescript() {
        let types = specta::Types::default()
            .register::<crate::BalancerConfig>()
            .register::<crate::StatsSnapshot>()
            .register::<crate::BalancerEvent>()
            .register::<crate::HelloOutcome>()
            .register::<crate::ConnectionLimit>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::PhasesFormat)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            ts.contains("BalancerConfig") && ts.contains("bytesIn"),
            "{ts}"
        );
        assert!(!ts.contains("bigint"), "{ts}");
    }
}
