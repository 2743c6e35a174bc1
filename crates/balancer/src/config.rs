//! The balancer's configuration (serde; crosses to the UI) and the domain matcher.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::BalancerError;

/// Everything the balancer needs to run. Timeouts are milliseconds (u32: TypeScript-safe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct BalancerConfig {
    /// Where to listen for TLS. Default 127.0.0.1:8443; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Exact names and `*.` wildcards (one label deep), matched case-insensitively.
    pub domains: Vec<String>,
    pub backends: Vec<BackendConfig>,
    pub algorithm: Algorithm,
    /// Active health checks; `None` keeps every backend in rotation except after a failed connect.
    pub health_check: Option<HealthCheckConfig>,
    /// Send a PROXY protocol header with the client's real address to the backends.
    pub proxy_protocol: Option<ProxyProtocol>,
    /// An optional plain-HTTP listener that redirects every request to `https://host/path`.
    pub redirect_http_listen: Option<SocketAddr>,
    /// Relay ClientHellos without a server name (to any backend). Off by default.
    pub allow_no_sni: bool,
    /// Open connections allowed at once; more are closed immediately.
    pub max_connections: u32,
    /// How long a client may take to send its whole ClientHello.
    pub client_hello_timeout_ms: u32,
    /// How long a backend may take to accept a connection before the next one is tried.
    pub connect_timeout_ms: u32,
    /// A relayed connection with no bytes either way for this long is closed.
    pub idle_timeout_ms: u32,
    /// Allow `listen` (and `redirect_http_listen`) on an address other machines can reach.
    /// Off by default: whoever reaches such an address can use this balancer to reach the
    /// backends (and, in a rehearsal, the site as it will be), so it must be asked for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_public_listen: bool,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            domains: Vec::new(),
            backends: Vec::new(),
            algorithm: Algorithm::RoundRobin,
            health_check: None,
            proxy_protocol: None,
            redirect_http_listen: None,
            allow_no_sni: false,
            max_connections: 10_000,
            client_hello_timeout_ms: 5_000,
            connect_timeout_ms: 5_000,
            // DigitalOcean's `http_idle_timeout_seconds` default.
            idle_timeout_ms: 60_000,
            allow_public_listen: false,
        }
    }
}

impl BalancerConfig {
    pub fn client_hello_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.client_hello_timeout_ms))
    }
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.connect_timeout_ms))
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.idle_timeout_ms))
    }

    /// Checks the configuration before anything is bound.
    pub fn validate(&self) -> Result<(), BalancerError> {
        let invalid = |m: String| Err(BalancerError::InvalidConfig(m));
        if !self.allow_public_listen {
            let public = std::iter::once(("listen", self.listen))
                .chain(self.redirect_http_listen.map(|a| ("redirectHttpListen", a)))
                .find(|(_, addr)| !addr.ip().to_canonical().is_loopback());
            if let Some((field, addr)) = public {
                return invalid(format!(
                    "{field} {addr} is not a loopback address: other machines that can reach it \
                     could use this balancer to reach the backends. Listen on 127.0.0.1, or \
                     accept that risk explicitly (allowPublicListen; cutover balance --listen-public)"
                ));
            }
        }
        if self.domains.is_empty() && !self.allow_no_sni {
            return invalid(
                "give at least one domain to route (the balancer is never an open relay)".into(),
            );
        }
        for domain in &self.domains {
            parse_pattern(domain)?;
        }
        if self.backends.is_empty() {
            return invalid("give at least one backend".into());
        }
        for (i, backend) in self.backends.iter().enumerate() {
            if backend.name.trim().is_empty() {
                return invalid(format!("backend {} has no name", i + 1));
            }
            if backend.addr.port() == 0 {
                return invalid(format!("backend {} has port 0", backend.name));
            }
            if self.backends[..i].iter().any(|b| b.name == backend.name) {
                return invalid(format!("backend name {} is used twice", backend.name));
            }
        }
        if self.max_connections == 0 {
            return invalid("max connections must be at least 1".into());
        }
        if self.client_hello_timeout_ms == 0
            || self.connect_timeout_ms == 0
            || self.idle_timeout_ms == 0
        {
            return invalid("timeouts must be longer than 0 ms".into());
        }
        if let Some(check) = &self.health_check {
            check.validate()?;
        }
        if self
            .redirect_http_listen
            .is_some_and(|r| r == self.listen && r.port() != 0)
        {
            return invalid(
                "the HTTP redirect listener needs another address than the TLS listener".into(),
            );
        }
        Ok(())
    }
}

/// One backend: where to connect, and how to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BackendConfig {
    /// A unique, stable name (for a droplet: its name).
    pub name: String,
    pub addr: SocketAddr,
    /// What the UI shows, e.g. "web-1 (203.0.113.10:443)", when it differs from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Where this backend's health check goes when it is not `addr` with the check's port
    /// (e.g. a Sandbox droplet whose port 80 listens on another local port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_addr: Option<std::net::SocketAddr>,
}

/// How a backend is chosen among the healthy ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// DigitalOcean's behaviour.
    #[default]
    RoundRobin,
    LeastConnections,
    /// The same client IP goes to the same backend while the healthy set is unchanged (the
    /// nearest thing to stickiness that passthrough allows).
    SourceHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProxyProtocol {
    /// The text header; what DigitalOcean's `enable_proxy_protocol` sends.
    V1,
    /// The binary header.
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckProtocol {
    /// Healthy when a TCP connection opens.
    Tcp,
    /// `GET path` over plain HTTP; healthy on a 2xx or 3xx status.
    Http,
    /// `GET path` over TLS without verifying the certificate (as DigitalOcean does).
    Https,
}

/// Active health checks with DigitalOcean's semantics (defaults are DigitalOcean's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct HealthCheckConfig {
    pub protocol: HealthCheckProtocol,
    /// Port to check; `None` checks the backend's own port.
    pub port: Option<u16>,
    /// Path for HTTP(S) checks.
    pub path: String,
    pub interval_ms: u32,
    pub timeout_ms: u32,
    /// Consecutive passes that bring an unhealthy backend back.
    pub healthy_threshold: u32,
    /// Consecutive failures that take a healthy backend out.
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            protocol: HealthCheckProtocol::Http,
            port: None,
            path: "/".into(),
            interval_ms: 10_000,
            timeout_ms: 5_000,
            healthy_threshold: 3,
            unhealthy_threshold: 5,
        }
    }
}

impl HealthCheckConfig {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.interval_ms))
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.timeout_ms))
    }

    fn validate(&self) -> Result<(), BalancerError> {
        let invalid = |m: &str| Err(BalancerError::InvalidConfig(m.into()));
        if self.interval_ms == 0 || self.timeout_ms == 0 {
            return invalid("health check interval and timeout must be longer than 0 ms");
        }
        if self.healthy_threshold == 0 || self.unhealthy_threshold == 0 {
            return invalid("health check thresholds must be at least 1");
        }
        if self.protocol != HealthCheckProtocol::Tcp
            && (!self.path.starts_with('/')
                || self.path.bytes().any(|b| b.is_ascii_control() || b == b' '))
        {
            return invalid("the health check path must start with / and contain no spaces");
        }
        Ok(())
    }
}

/// A configured domain: an exact name or `*.` plus a suffix (matches exactly one more label),
/// by the one rule of `cutover_domain` (the certificate checks and DNS use it too).
pub type DomainPattern = cutover_domain::Pattern;

fn parse_pattern(input: &str) -> Result<DomainPattern, BalancerError> {
    DomainPattern::parse(input).map_err(|err| {
        BalancerError::InvalidConfig(format!(
            "{err} (use names like shop.example.com or *.example.com)"
        ))
    })
}

/// The set of configured domains.
#[derive(Debug, Clone, Default)]
pub struct DomainSet(Vec<DomainPattern>);

impl DomainSet {
    pub fn parse(domains: &[String]) -> Result<Self, BalancerError> {
        domains
            .iter()
            .map(|d| parse_pattern(d))
            .collect::<Result<Vec<_>, _>>()
            .map(DomainSet)
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_matching() {
        let set = DomainSet::parse(&["Shop.Example.com.".into(), "*.apps.test".into()]).unwrap();
        assert!(set.matches("shop.example.com"));
        assert!(!set.matches("www.shop.example.com"));
        assert!(!set.matches("example.com"));
        assert!(set.matches("a.apps.test"));
        assert!(!set.matches("apps.test"));
        assert!(!set.matches("a.b.apps.test"));
        assert!(!set.matches("xapps.test"));
    }

    #[test]
    fn rejects_bad_domains() {
        for bad in ["", "*.", "a..b", "*.*.a", "a b.test", "a/b"] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validation_refuses_an_open_relay_and_empty_backends() {
        let mut config = BalancerConfig {
            backends: vec![BackendConfig {
                name: "a".into(),
                addr: "127.0.0.1:1".parse().unwrap(),
                display: None,
                health_check_addr: None,
            }],
            ..Default::default()
        };
        assert!(config.validate().is_err());
        config.domains.push("a.test".into());
        assert!(config.validate().is_ok());
        config.backends.clear();
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_public_listen_address_must_be_allowed_explicitly() {
        let mut config = BalancerConfig {
            domains: vec!["a.test".into()],
            backends: vec![BackendConfig {
                name: "a".into(),
                addr: "127.0.0.1:1".parse().unwrap(),
                display: None,
                health_check_addr: None,
            }],
            ..Default::default()
        };
        for ok in [
            "127.0.0.1:0",
            "127.0.0.53:8443",
            "[::1]:0",
            "[::ffff:127.0.0.1]:0",
        ] {
            config.listen = ok.parse().unwrap();
            assert!(config.validate().is_ok(), "{ok}");
        }
        for public in ["0.0.0.0:8443", "192.0.2.7:8443", "[::]:8443"] {
            config.listen = public.parse().unwrap();
            let err = config.validate().unwrap_err().to_string();
            assert!(
                err.contains("not a loopback address") && err.contains("allowPublicListen"),
                "{err}"
            );
        }
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.redirect_http_listen = Some("0.0.0.0:8080".parse().unwrap());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("redirectHttpListen 0.0.0.0:8080"), "{err}");
        config.allow_public_listen = true;
        config.listen = "0.0.0.0:8443".parse().unwrap();
        assert!(config.validate().is_ok());
        // Off by default, and left out of the JSON when off (older front ends send no field).
        let json = serde_json::to_value(BalancerConfig::default()).unwrap();
        assert!(json.get("allowPublicListen").is_none(), "{json}");
        let back: BalancerConfig =
            serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
        assert!(back.allow_public_listen);
    }

    #[test]
    fn config_round_trips_through_json_with_defaults() {
        let config: BalancerConfig = serde_json::from_value(serde_json::json!({
            "domains": ["a.test"],
            "backends": [{"name": "b", "addr": "127.0.0.1:9"}],
            "healthCheck": {"protocol": "tcp"},
            "proxyProtocol": "v2"
        }))
        .unwrap();
        assert_eq!(config.listen.port(), 8443);
        assert_eq!(config.health_check.as_ref().unwrap().unhealthy_threshold, 5);
        assert_eq!(config.proxy_protocol, Some(ProxyProtocol::V2));
        let back: BalancerConfig =
            serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
        assert_eq!(back, config);
    }
}
