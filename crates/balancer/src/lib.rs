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
pub use hello::{inspect, HelloOutcome, Inspect};
pub use relay::RELAY_BUFFER;
pub use server::{Balancer, BalancerHandle};
pub use stats::{
    BackendHealth, BackendStats, BalancerEvent, ConnectionRecord, Outcome, StatsSnapshot,
};
