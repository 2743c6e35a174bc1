//! A connection to one account: the API client, and how to reach its droplets from here.
//!
//! Real droplets are reached at their public IPv4 and the rule's target port. The Sandbox's
//! droplets all listen on 127.0.0.1 with OS-assigned ports, so a Sandbox connection carries its
//! address map (droplet id, port) → socket address, and its CA so their certificates verify.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use cutover_digitalocean::{Client, ClientConfig, Droplet};
use cutover_sandbox::{BackendEndpoint, SandboxHandle};

use crate::error::{ApiError, ErrorCode};

/// Whether a connection talks to DigitalOcean or to a Sandbox.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    #[default]
    DigitalOcean,
    Sandbox,
}

/// Everything a job needs to act on one account.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub kind: ConnectionKind,
    /// (droplet id, droplet port) → where it really listens; Sandbox only.
    addresses: Option<HashMap<(u64, u16), SocketAddr>>,
    /// A CA to trust in certificate checks besides the public and OS roots (the Sandbox's).
    pub extra_ca_pem: Option<String>,
    /// Where the changes made through this connection are journaled (none in tests and for a
    /// Sandbox that lives only as long as one CLI run).
    pub journal: Option<crate::journal::Journal>,
    /// The account's name, for the journal.
    pub account_name: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.client.base_url())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn client_for(api_base: Option<&str>, token: &str) -> Result<Client, ApiError> {
    let mut config = ClientConfig::new(token.to_string());
    if let Some(base) = api_base {
        config = config.with_base_url(base.trim_end_matches('/').to_string());
    }
    Client::new(config).map_err(ApiError::from)
}

fn address_map(backends: &[BackendEndpoint]) -> HashMap<(u64, u16), SocketAddr> {
    backends
        .iter()
        .map(|b| ((b.droplet_id, b.port), b.addr))
        .collect()
}

impl Connection {
    /// A connection to an in-process Sandbox.
    pub fn for_sandbox(sandbox: &SandboxHandle) -> Result<Self, ApiError> {
        Ok(Self {
            client: client_for(Some(&sandbox.api_base()), sandbox.token())?,
            kind: ConnectionKind::Sandbox,
            addresses: Some(address_map(&sandbox.backends())),
            extra_ca_pem: Some(sandbox.ca_pem().to_string()),
            journal: None,
            account_name: String::new(),
        })
    }

    /// A connection with a token. When the API base is on the loopback interface it may be a
    /// standalone Sandbox (`cutover sandbox serve`): then its address map and CA are fetched too.
    pub async fn for_token(api_base: Option<&str>, token: &str) -> Result<Self, ApiError> {
        let client = client_for(api_base, token)?;
        let mut connection = Self {
            client,
            kind: ConnectionKind::DigitalOcean,
            addresses: None,
            extra_ca_pem: None,
            journal: None,
            account_name: String::new(),
        };
        if let Some(base) = api_base.filter(|b| is_loopback_url(b)) {
            if let Some((backends, ca)) = fetch_sandbox_extras(base, token).await {
                connection.kind = ConnectionKind::Sandbox;
                connection.addresses = Some(address_map(&backends));
                connection.extra_ca_pem = Some(ca);
            }
        }
        Ok(connection)
    }

    /// Where to connect to `droplet`'s `port` from this machine.
    pub fn resolve(&self, droplet: &Droplet, port: u16) -> Option<SocketAddr> {
        match &self.addresses {
            Some(map) => map.get(&(droplet.id, port)).copied(),
            None => droplet
                .public_ipv4s()
                .first()
                .map(|ip| SocketAddr::new(IpAddr::V4(*ip), port)),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.kind == ConnectionKind::Sandbox
    }
}

fn is_loopback_url(base: &str) -> bool {
    url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .map(|host| {
            host == "localhost"
                || host
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .map(|ip| ip.is_loopback())
                    .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// The standalone Sandbox's backend map and CA; `None` when the server is not a Sandbox.
async fn fetch_sandbox_extras(base: &str, token: &str) -> Option<(Vec<BackendEndpoint>, String)> {
    #[derive(serde::Deserialize)]
    struct Backends {
        backends: Vec<BackendEndpoint>,
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .ok()?;
    let base = base.trim_end_matches('/');
    let backends: Backends = sandbox_get(&http, base, token, "/_sandbox/backends")
        .await?
        .json()
        .await
        .ok()?;
    let ca = sandbox_get(&http, base, token, "/_sandbox/ca.pem")
        .await?
        .text()
        .await
        .ok()?;
    Some((backends.backends, ca))
}

/// A successful answer from one of the Sandbox's own endpoints (`/_sandbox/...`), or `None`
/// for anything else: another server, an error status, no answer.
pub(crate) async fn sandbox_get(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
) -> Option<reqwest::Response> {
    http.get(format!("{}{path}", base.trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()
}

/// Maps a failure to reach the API before any answer into a clear message.
pub fn unreachable(base: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Network,
        format!("Could not reach the API at {base}: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback_url("http://127.0.0.1:3000"));
        assert!(is_loopback_url("http://localhost:3000/"));
        assert!(is_loopback_url("http://[::1]:3000"));
        assert!(!is_loopback_url("https://api.digitalocean.com"));
        assert!(!is_loopback_url("not a url"));
    }

    #[tokio::test]
    async fn sandbox_connections_resolve_droplets_through_the_address_map() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let direct = Connection::for_sandbox(&sandbox).unwrap();
        let remote = Connection::for_token(Some(&sandbox.api_base()), sandbox.token())
            .await
            .unwrap();
        assert!(direct.is_sandbox());
        assert!(
            remote.is_sandbox(),
            "a loopback Sandbox is detected over HTTP"
        );
        let droplets = direct.client.list_droplets().await.unwrap();
        let web = droplets.iter().find(|d| d.name == "web-1").unwrap();
        let expected = sandbox.backend_addr(web.id, 443).unwrap();
        assert_eq!(direct.resolve(web, 443), Some(expected));
        assert_eq!(remote.resolve(web, 443), Some(expected));
        assert!(remote
            .extra_ca_pem
            .as_deref()
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_real_api_resolves_to_the_public_ipv4() {
        let conn = Connection::for_token(Some("https://api.digitalocean.com"), "dop_v1_x")
            .await
            .unwrap();
        assert!(!conn.is_sandbox());
        let droplet: Droplet = serde_json::from_value(serde_json::json!({
            "id": 7, "name": "web",
            "networks": {"v4": [
                {"ip_address": "10.0.0.7", "type": "private", "netmask": "255.255.0.0", "gateway": ""},
                {"ip_address": "203.0.113.7", "type": "public", "netmask": "255.255.255.0", "gateway": "203.0.113.1"}
            ], "v6": []}
        }))
        .unwrap();
        assert_eq!(
            conn.resolve(&droplet, 443),
            Some("203.0.113.7:443".parse().unwrap())
        );
    }
}
