//! The one balancer config built from a DigitalOcean load balancer: its domains, its droplets
//! (public IPv4 and target port, or the Sandbox's address map), its health check, PROXY protocol
//! and redirect settings. The app's Rehearsal view and `cutover balance --lb` both start here.

use std::net::SocketAddr;

use cutover_digitalocean::{Droplet, LoadBalancer};
use serde::{Deserialize, Serialize};

use super::{
    Algorithm, BackendConfig, BalancerConfig, HealthCheckConfig, HealthCheckProtocol, ProxyProtocol,
};
use crate::context::Connection;
use crate::ApiError;

/// What the user adds to (or overrides in) a load balancer's settings for a rehearsal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct RehearseOptions {
    /// Domains to route; when empty, the load balancer's own domains.
    pub domains: Vec<String>,
    /// Where to listen; default 127.0.0.1:8443.
    pub listen: Option<SocketAddr>,
    /// Where the HTTP→HTTPS redirect listens when the load balancer redirects; default a free
    /// port of 127.0.0.1.
    pub redirect_http_listen: Option<SocketAddr>,
    /// Listen on an address other machines can reach (the balancer refuses otherwise: whoever
    /// reaches it reaches the backends through it).
    pub allow_public_listen: bool,
}

/// The droplet's first public IPv4 at `port`: where a real load balancer would connect.
pub fn public_ipv4_backend(droplet: &Droplet, port: u16) -> Option<SocketAddr> {
    droplet
        .public_ipv4s()
        .first()
        .map(|ip| SocketAddr::new((*ip).into(), port))
}

/// Reads load balancer `lb` (id or unique name) and its droplets through `conn` and builds the
/// config that reproduces it locally ([`build`]; droplet addresses via the connection: public
/// IPv4s for DigitalOcean, the address map for a Sandbox). Listens on 127.0.0.1:8443 unless
/// `options` says otherwise.
pub async fn from_load_balancer(
    conn: &Connection,
    lb: &str,
    options: &RehearseOptions,
) -> Result<BalancerConfig, ApiError> {
    let lb = crate::lb::find(conn, lb).await?;
    let droplets = crate::lb::members(conn, &lb).await?;
    build(&lb, &droplets, options, |d, p| conn.resolve(d, p))
}

/// Builds the balancer config that reproduces `lb` locally.
///
/// `droplets` may be all droplets of the account: the load balancer's own are picked
/// ([`crate::lb::is_member`]). `resolve(droplet, port)` says where a droplet's port is reachable
/// from here — [`public_ipv4_backend`] for real droplets, the Sandbox's `backend_addr` for its
/// fakes. When the load balancer redirects HTTP to HTTPS and `options` names no redirect
/// address, the local redirect listens on a free port of 127.0.0.1 (a fixed port may well be
/// taken; the running balancer says which port it got).
pub fn build(
    lb: &LoadBalancer,
    droplets: &[Droplet],
    options: &RehearseOptions,
    resolve: impl Fn(&Droplet, u16) -> Option<SocketAddr>,
) -> Result<BalancerConfig, ApiError> {
    let rule = crate::lb::passthrough_like_rule(lb).ok_or_else(|| {
            ApiError::invalid_input(format!(
                "Load balancer \"{}\" has no SSL-passthrough or tcp:443 rule: the local balancer only rehearses passthrough (the droplets serve TLS).",
                lb.name
            ))
        })?;
    let target_port = u16::try_from(rule.target_port).map_err(|_| {
        ApiError::invalid_input(format!("target port {} is not a port", rule.target_port))
    })?;

    let domains: Vec<String> = if options.domains.is_empty() {
        lb.domains
            .iter()
            .flatten()
            .map(|d| d.name.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect()
    } else {
        options.domains.clone()
    };
    if domains.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "load balancer {} has no domains: give the domain to route (--domain)",
            lb.name
        )));
    }

    let members = crate::lb::member_droplets(lb, droplets);
    let check = lb
        .health_check
        .clone()
        .unwrap_or_else(cutover_digitalocean::HealthCheck::api_default);
    let check_port = check.port.and_then(|p| u16::try_from(p).ok());
    let mut backends = Vec::new();
    let mut missing = Vec::new();
    for droplet in &members {
        match resolve(droplet, target_port) {
            Some(addr) => backends.push(BackendConfig {
                name: crate::lb::droplet_label(droplet),
                addr,
                display: Some(format!("{} ({addr})", droplet.name)),
                health_check_addr: check_port.and_then(|p| resolve(droplet, p)),
            }),
            None => missing.push(droplet.name.clone()),
        }
    }
    if backends.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "none of load balancer {}'s droplets has a reachable public IPv4 address{}",
            lb.name,
            if missing.is_empty() {
                String::new()
            } else {
                format!(" ({})", missing.join(", "))
            }
        )));
    }

    let protocol = match check
        .protocol
        .as_deref()
        .unwrap_or("http")
        .to_ascii_lowercase()
        .as_str()
    {
        "tcp" => HealthCheckProtocol::Tcp,
        "https" => HealthCheckProtocol::Https,
        _ => HealthCheckProtocol::Http,
    };
    let defaults = HealthCheckConfig::default();
    let seconds =
        |s: Option<u32>, default_ms: u32| s.map(|s| s.saturating_mul(1000)).unwrap_or(default_ms);
    let health_check = HealthCheckConfig {
        protocol,
        port: check_port,
        path: check.path.clone().unwrap_or_else(|| "/".into()),
        interval_ms: seconds(check.check_interval_seconds, defaults.interval_ms),
        timeout_ms: seconds(check.response_timeout_seconds, defaults.timeout_ms),
        healthy_threshold: check
            .healthy_threshold
            .unwrap_or(defaults.healthy_threshold),
        unhealthy_threshold: check
            .unhealthy_threshold
            .unwrap_or(defaults.unhealthy_threshold),
    };

    let base = BalancerConfig::default();
    let listen = options.listen.unwrap_or(base.listen);
    let config = BalancerConfig {
        listen,
        domains,
        backends,
        algorithm: match lb.algorithm.as_deref() {
            Some("least_connections") => Algorithm::LeastConnections,
            _ => Algorithm::RoundRobin,
        },
        health_check: Some(health_check),
        // DigitalOcean's PROXY protocol is v1.
        proxy_protocol: lb.enable_proxy_protocol.then_some(ProxyProtocol::V1),
        redirect_http_listen: lb.redirect_http_to_https.then(|| {
            options
                .redirect_http_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
        }),
        idle_timeout_ms: lb
            .http_idle_timeout_seconds
            .map(|s| s.saturating_mul(1000))
            .unwrap_or(base.idle_timeout_ms),
        allow_public_listen: options.allow_public_listen,
        ..base
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::start_balancer;
    use crate::ErrorCode;

    fn lb() -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "lb-1", "name": "shop", "ip": "192.0.2.9", "status": "active",
            "created_at": "2026-01-01T00:00:00Z",
            "forwarding_rules": [
                {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80},
                {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 443, "tls_passthrough": true}
            ],
            "health_check": {"protocol": "https", "port": 443, "path": "/health", "check_interval_seconds": 3,
                             "response_timeout_seconds": 2, "healthy_threshold": 2, "unhealthy_threshold": 4},
            "redirect_http_to_https": true, "enable_proxy_protocol": true,
            "droplet_ids": [1, 2], "tag": ""
        }))
        .unwrap()
    }

    fn droplet(id: u64, name: &str, ip: &str) -> Droplet {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name,
            "networks": {"v4": [{"ip_address": "10.0.0.5", "type": "private", "netmask": "255.255.0.0", "gateway": ""},
                                {"ip_address": ip, "type": "public", "netmask": "255.255.255.0", "gateway": ""}]}
        }))
        .unwrap()
    }

    #[test]
    fn builds_the_config_from_a_load_balancer() {
        let droplets = [
            droplet(1, "web-1", "203.0.113.1"),
            droplet(2, "web-2", "203.0.113.2"),
            droplet(3, "other", "203.0.113.3"),
        ];
        let options = RehearseOptions {
            domains: vec!["shop.test".into()],
            ..Default::default()
        };
        let config = build(&lb(), &droplets, &options, public_ipv4_backend).unwrap();
        assert_eq!(config.domains, vec!["shop.test".to_string()]);
        let addrs: Vec<String> = config.backends.iter().map(|b| b.addr.to_string()).collect();
        assert_eq!(addrs, vec!["203.0.113.1:443", "203.0.113.2:443"]);
        assert_eq!(config.proxy_protocol, Some(ProxyProtocol::V1));
        assert_eq!(
            config.redirect_http_listen,
            Some("127.0.0.1:0".parse().unwrap())
        );
        let check = config.health_check.unwrap();
        assert_eq!(
            (check.protocol, check.path.as_str(), check.interval_ms),
            (HealthCheckProtocol::Https, "/health", 3000)
        );
        assert_eq!((check.healthy_threshold, check.unhealthy_threshold), (2, 4));
    }

    /// A tag-based load balancer rehearses the droplets it lists and those carrying its tag (the
    /// same droplets a certificate check of it probes), never an untagged one.
    #[test]
    fn a_tag_based_load_balancer_brings_its_tagged_droplets() {
        let mut by_tag = lb();
        by_tag.tag = "web".into();
        by_tag.droplet_ids = vec![1];
        let mut tagged = droplet(2, "web-2", "203.0.113.2");
        tagged.tags = vec!["web".into()];
        let droplets = [
            droplet(1, "web-1", "203.0.113.1"),
            tagged,
            droplet(3, "other", "203.0.113.3"),
        ];
        let options = RehearseOptions {
            domains: vec!["shop.test".into()],
            ..Default::default()
        };
        let config = build(&by_tag, &droplets, &options, public_ipv4_backend).unwrap();
        let names: Vec<&str> = config.backends.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["web-1", "web-2"]);
    }

    #[test]
    fn needs_a_domain_and_a_passthrough_rule() {
        let droplets = [droplet(1, "web-1", "203.0.113.1")];
        let err = build(
            &lb(),
            &droplets,
            &RehearseOptions::default(),
            public_ipv4_backend,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("--domain"), "{}", err.message);
        let mut no_passthrough = lb();
        no_passthrough
            .forwarding_rules
            .retain(|r| !r.is_passthrough());
        let options = RehearseOptions {
            domains: vec!["shop.test".into()],
            ..Default::default()
        };
        let err = build(&no_passthrough, &droplets, &options, public_ipv4_backend).unwrap_err();
        assert!(err.message.contains("passthrough"), "{}", err.message);
    }

    /// Accepts any server certificate: the point here is that the handshake reaches a droplet.
    #[derive(Debug)]
    struct AnyCert(std::sync::Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// The Sandbox's `shop-passthrough`, rehearsed: HTTPS for sandbox-shop.test through the local
    /// balancer reaches its droplets (which expect the PROXY header the LB sends, if any).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandbox_passthrough_lb_is_rehearsed_end_to_end() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = crate::context::Connection::for_sandbox(&sandbox).unwrap();
        let options = RehearseOptions {
            domains: vec!["sandbox-shop.test".into()],
            listen: Some("127.0.0.1:0".parse().unwrap()),
            redirect_http_listen: Some("127.0.0.1:0".parse().unwrap()),
            allow_public_listen: false,
        };
        let config = from_load_balancer(&conn, cutover_sandbox::LB_SHOP_ID, &options)
            .await
            .unwrap();
        assert!(config.backends.len() >= 2, "{config:?}");
        let handle = start_balancer(config).unwrap();
        let addr = handle.local_addr();
        let answer = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(std::sync::Arc::new(AnyCert(provider)))
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from("sandbox-shop.test").unwrap();
            let mut client = rustls::ClientConnection::new(std::sync::Arc::new(tls), name).unwrap();
            let mut tcp = std::net::TcpStream::connect(addr).unwrap();
            let mut stream = rustls::Stream::new(&mut client, &mut tcp);
            stream
                .write_all(
                    b"GET / HTTP/1.1\r\nHost: sandbox-shop.test\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).into_owned()
        })
        .await
        .unwrap();
        let stats = handle.stop(std::time::Duration::from_secs(1)).await;
        sandbox.shutdown().await;
        assert!(answer.starts_with("HTTP/1."), "{answer}");
        assert_eq!(stats.relayed_connections, 1);
    }
}
