//! Rehearsing a cutover locally: the SNI-passthrough balancer (`cutover-balancer`) started from a
//! config the user gives, or built from a DigitalOcean load balancer (its domains, its droplets'
//! public IPv4 and target port, its health check, PROXY protocol and redirect settings).
//!
//! - [`config`]: the one config built from a load balancer, for the app and the CLI alike;
//! - [`slot`]: the app's one running balancer and what its view shows about it;
//! - [`try_it`]: ready-made ways to try the domain through the balancer (curl, hosts line,
//!   a browser in a throwaway profile).
//!
//! The built-in test request through the balancer is [`crate::https_probe::https_probe`].

pub mod config;
pub mod slot;
pub mod try_it;

pub use config::{from_load_balancer, public_ipv4_backend, RehearseOptions};

pub use cutover_balancer::{
    Algorithm, BackendConfig, BackendHealth, BackendStats, BalancerConfig, BalancerError,
    BalancerEvent, BalancerHandle, ConnectionRecord, HealthCheckConfig, HealthCheckProtocol,
    Outcome, ProxyProtocol, StatsSnapshot,
};

use crate::{ApiError, ErrorCode};

/// Starts the balancer on the current Tokio runtime; binding happens before this returns.
pub fn start_balancer(config: BalancerConfig) -> Result<BalancerHandle, ApiError> {
    cutover_balancer::Balancer::start(config).map_err(ApiError::from)
}

impl From<BalancerError> for ApiError {
    fn from(err: BalancerError) -> Self {
        let message = err.to_string();
        let code = match &err {
            BalancerError::AddressInUse { .. }
            | BalancerError::PermissionDenied { .. }
            | BalancerError::AddressNotAvailable { .. }
            | BalancerError::Bind { .. } => ErrorCode::AddressUnavailable,
            BalancerError::InvalidConfig(_) => ErrorCode::InvalidInput,
            _ => ErrorCode::Internal,
        };
        let api = ApiError::new(code, message);
        match err.addr() {
            Some(addr) => api.with_details(serde_json::json!({ "addr": addr.to_string() })),
            None => api,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_maps_to_address_unavailable() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = BalancerConfig {
            listen: taken.local_addr().unwrap(),
            domains: vec!["shop.test".into()],
            backends: vec![BackendConfig {
                name: "a".into(),
                addr: "127.0.0.1:9".parse().unwrap(),
                display: None,
                health_check_addr: None,
            }],
            ..Default::default()
        };
        let err = start_balancer(config).err().unwrap();
        assert_eq!(err.code, ErrorCode::AddressUnavailable);
        assert!(
            err.message.contains("in use by another program"),
            "{}",
            err.message
        );
        assert_eq!(
            err.details.unwrap()["addr"],
            taken.local_addr().unwrap().to_string()
        );
    }
}
