//! Models of the DigitalOcean API v2 resources Cutover uses, covering every field of the spec
//! (`spec/openapi.yaml`) for them.
//!
//! Conventions:
//! - Everything is `#[serde(default)]`-friendly: the live API omits fields the spec lists, and a
//!   model must still decode.
//! - The main objects carry `extra`, a flattened map of the fields this crate does not know, so
//!   a read–modify–write sends back whatever the API added later (or what the spec leaves out,
//!   e.g. `subnet_uuid`, `tags`, `ip` on a BYOIP create).
//! - Enumerations the API may grow (protocols, statuses, types) are plain strings, with the known
//!   values as constants: an unknown value must decode (and round-trip), and the validator — not
//!   the decoder — is what reports a value the API would refuse.
//! - JSON values the UI has no use for are `unknown` in TypeScript (`serde_json::Value` would
//!   export as a BigInt, which specta-typescript refuses).
//! - Integers are `u32`/`i32` except ids the API defines as 64-bit (droplet and domain-record
//!   ids): those are `u64` in Rust and `number` in TypeScript (they stay far below 2^53).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown fields, kept so that they round-trip.
pub type Extra = Map<String, Value>;

/// Known values of the string enumerations.
pub mod consts {
    /// Forwarding-rule and health-check protocols.
    pub mod protocol {
        pub const HTTP: &str = "http";
        pub const HTTPS: &str = "https";
        pub const HTTP2: &str = "http2";
        pub const HTTP3: &str = "http3";
        pub const TCP: &str = "tcp";
        pub const UDP: &str = "udp";
        /// What `entry_protocol` may be.
        pub const ENTRY: &[&str] = &[HTTP, HTTPS, HTTP2, HTTP3, TCP, UDP];
        /// What `target_protocol` may be (no `http3`).
        pub const TARGET: &[&str] = &[HTTP, HTTPS, HTTP2, TCP, UDP];
        /// What a health check may use.
        pub const HEALTH_CHECK: &[&str] = &[HTTP, HTTPS, TCP];
    }
    /// `load_balancer.status`.
    pub mod lb_status {
        pub const NEW: &str = "new";
        pub const ACTIVE: &str = "active";
        pub const ERRORED: &str = "errored";
    }
    /// `load_balancer.type`.
    pub mod lb_type {
        pub const REGIONAL: &str = "REGIONAL";
        pub const REGIONAL_NETWORK: &str = "REGIONAL_NETWORK";
        pub const GLOBAL: &str = "GLOBAL";
        pub const ALL: &[&str] = &[REGIONAL, REGIONAL_NETWORK, GLOBAL];
    }
    /// `load_balancer.network`.
    pub mod network {
        pub const EXTERNAL: &str = "EXTERNAL";
        pub const INTERNAL: &str = "INTERNAL";
        pub const ALL: &[&str] = &[EXTERNAL, INTERNAL];
    }
    /// `load_balancer.network_stack`.
    pub mod network_stack {
        pub const IPV4: &str = "IPV4";
        pub const DUALSTACK: &str = "DUALSTACK";
        pub const ALL: &[&str] = &[IPV4, DUALSTACK];
    }
    /// `load_balancer.tls_cipher_policy`.
    pub mod tls_cipher_policy {
        pub const DEFAULT: &str = "DEFAULT";
        pub const STRONG: &str = "STRONG";
        pub const ALL: &[&str] = &[DEFAULT, STRONG];
    }
    /// The deprecated `load_balancer.size`.
    pub mod lb_size {
        pub const SMALL: &str = "lb-small";
        pub const MEDIUM: &str = "lb-medium";
        pub const LARGE: &str = "lb-large";
        pub const ALL: &[&str] = &[SMALL, MEDIUM, LARGE];
        /// The only regions where `size` (rather than `size_unit`) applies.
        pub const LEGACY_REGIONS: &[&str] = &["ams2", "nyc2", "sfo1"];
    }
    /// `sticky_sessions.type`.
    pub mod sticky {
        pub const COOKIES: &str = "cookies";
        pub const NONE: &str = "none";
    }
    /// `certificate.type`.
    pub mod certificate_type {
        pub const CUSTOM: &str = "custom";
        pub const LETS_ENCRYPT: &str = "lets_encrypt";
    }
    /// `certificate.state`.
    pub mod certificate_state {
        pub const PENDING: &str = "pending";
        pub const VERIFIED: &str = "verified";
        pub const ERROR: &str = "error";
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Reads a `null` as the field's default. The live API (and the fixtures DigitalOcean's own
/// clients test against) sends `null` where the spec promises a string, list or flag — a domain
/// record's `name`, for one (droplet_kit `spec/fixtures/domain_records/all.json`) — and one such
/// field must not make a whole listing undecodable.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

/// `links.pages`: full URLs, each present only when it makes sense.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PageLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// `links` of a collection. Missing or empty means "this is the last page".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Links {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<PageLinks>,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl Links {
    /// The page number in `links.pages.last`, when there is one.
    pub fn last_page(&self) -> Option<u32> {
        self.pages
            .as_ref()
            .and_then(|p| p.last.as_deref())
            .and_then(page_param)
    }

    /// True when there is no `next` link.
    pub fn is_last_page(&self) -> bool {
        self.pages
            .as_ref()
            .and_then(|p| p.next.as_deref())
            .is_none_or(str::is_empty)
    }
}

/// Reads `page=N` from a page URL.
pub fn page_param(url: &str) -> Option<u32> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "page").then(|| value.parse().ok()).flatten()
    })
}

/// `meta` of a collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Meta {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub total: u32,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Errors as the API sends them
// ---------------------------------------------------------------------------------------------

/// The API's error body: `{ id, message, request_id? }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApiErrorBody {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Regions
// ---------------------------------------------------------------------------------------------

/// A region, as `/v2/regions` and the `region` object of a load balancer or droplet return it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Region {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub slug: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub features: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub available: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub sizes: Vec<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Load balancers
// ---------------------------------------------------------------------------------------------

/// One forwarding rule: entry protocol/port on the load balancer → target protocol/port on the
/// droplets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ForwardingRule {
    /// `http`, `https`, `http2`, `http3`, `tcp` or `udp`.
    pub entry_protocol: String,
    pub entry_port: u32,
    /// `http`, `https`, `http2`, `tcp` or `udp`.
    pub target_protocol: String,
    pub target_port: u32,
    /// Certificate for SSL termination. The API returns `""` when unset; this keeps `None` and
    /// `Some("")` apart only to round-trip exactly — use [`ForwardingRule::certificate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// SSL passthrough: the load balancer forwards the TLS stream without decrypting it.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub tls_passthrough: bool,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl ForwardingRule {
    /// A rule with no certificate and no passthrough.
    pub fn new(
        entry_protocol: impl Into<String>,
        entry_port: u32,
        target_protocol: impl Into<String>,
        target_port: u32,
    ) -> Self {
        Self {
            entry_protocol: entry_protocol.into(),
            entry_port,
            target_protocol: target_protocol.into(),
            target_port,
            certificate_id: None,
            tls_passthrough: false,
            extra: Extra::new(),
        }
    }

    /// The same rule with SSL passthrough on.
    pub fn with_passthrough(mut self) -> Self {
        self.tls_passthrough = true;
        self
    }

    /// The same rule terminating TLS with this certificate.
    pub fn with_certificate(mut self, id: impl Into<String>) -> Self {
        self.certificate_id = Some(id.into());
        self
    }

    /// SSL passthrough is on.
    pub fn is_passthrough(&self) -> bool {
        self.tls_passthrough
    }

    /// The certificate id, when one is set and not empty.
    pub fn certificate(&self) -> Option<&str> {
        self.certificate_id.as_deref().filter(|c| !c.is_empty())
    }

    /// Whether two rules are the same rule, as the API matches them when removing: by value,
    /// treating a missing certificate like an empty one.
    pub fn same_rule(&self, other: &ForwardingRule) -> bool {
        self.entry_protocol
            .eq_ignore_ascii_case(&other.entry_protocol)
            && self.entry_port == other.entry_port
            && self
                .target_protocol
                .eq_ignore_ascii_case(&other.target_protocol)
            && self.target_port == other.target_port
            && self.certificate() == other.certificate()
            && self.tls_passthrough == other.tls_passthrough
    }

    /// `https 443 → https 443 (passthrough)`: how people read a rule.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} {} → {} {}",
            self.entry_protocol, self.entry_port, self.target_protocol, self.target_port
        );
        if self.tls_passthrough {
            out.push_str(" (passthrough)");
        } else if let Some(cert) = self.certificate() {
            out.push_str(&format!(" (certificate {cert})"));
        }
        out
    }
}

/// How the load balancer checks its droplets. The spec's defaults: http, port 80, path `/`,
/// every 10 s, 5 s timeout; the live API returns healthy 5 / unhealthy 3 (the spec's look swapped).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthCheck {
    /// `http`, `https` or `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
    /// Not in the spec (godo, CCM): health checks that send a PROXY header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<bool>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl HealthCheck {
    /// What the live API fills in when a create leaves the health check out.
    pub fn api_default() -> Self {
        Self {
            protocol: Some("http".into()),
            port: Some(80),
            path: Some("/".into()),
            check_interval_seconds: Some(10),
            response_timeout_seconds: Some(5),
            unhealthy_threshold: Some(3),
            healthy_threshold: Some(5),
            proxy_protocol: None,
            extra: Extra::new(),
        }
    }

    /// The protocol, defaulting to `http` as the API does.
    pub fn protocol_or_default(&self) -> &str {
        self.protocol.as_deref().unwrap_or("http")
    }
}

/// Sticky sessions: `none`, or `cookies` with a cookie name and lifetime.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StickySessions {
    /// `cookies` or `none` (the default).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_ttl_seconds: Option<u32>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl StickySessions {
    /// `{ "type": "none" }`.
    pub fn none() -> Self {
        Self {
            kind: Some(consts::sticky::NONE.into()),
            ..Self::default()
        }
    }

    /// `{ "type": "cookies", cookie_name, cookie_ttl_seconds }`.
    pub fn cookies(name: impl Into<String>, ttl_seconds: u32) -> Self {
        Self {
            kind: Some(consts::sticky::COOKIES.into()),
            cookie_name: Some(name.into()),
            cookie_ttl_seconds: Some(ttl_seconds),
            extra: Extra::new(),
        }
    }

    /// Sticky sessions by cookie are on.
    pub fn is_enabled(&self) -> bool {
        self.kind.as_deref() == Some(consts::sticky::COOKIES)
    }
}

/// The load balancer's firewall: `ip:1.2.3.4` or `cidr:1.2.0.0/16` entries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LbFirewall {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub deny: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub allow: Vec<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A domain of a GLOBAL load balancer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LbDomain {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    /// DigitalOcean hosts the domain's DNS and adds its A/AAAA records itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Read-only, not in the spec (godo `LBDomain.Status`): e.g. `CREATING`, `ACTIVE`. Kept as
    /// it came so that a PUT built from a GET sends the domain back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Read-only, not in the spec (godo): why the domain could not be verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_error_reasons: Option<Vec<String>>,
    /// Read-only, not in the spec (godo): why its certificate could not be validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_validation_error_reasons: Option<Vec<String>>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// CDN settings of a GLOBAL load balancer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GlbCdn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// Settings of a GLOBAL load balancer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GlbSettings {
    /// `http`, `https` or `http2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<GlbCdn>,
    /// Region slug → priority (lower wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_priorities: Option<std::collections::BTreeMap<String, i32>>,
    /// Percent of unhealthy targets before failing over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_threshold: Option<u32>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A load balancer as the API returns it (`GET /v2/load_balancers/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoadBalancer {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The public IPv4 address (empty while `new`).
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    /// Number of nodes (1..100 in the spec; 200 with raised account limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_unit: Option<u32>,
    /// Deprecated: `lb-small|lb-medium|lb-large`, only in ams2, nyc2 and sfo1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Deprecated and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// `new`, `active` or `errored`.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub status: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<ForwardingRule>))]
    pub forwarding_rules: Vec<ForwardingRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_sessions: Option<StickySessions>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub redirect_http_to_https: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub enable_proxy_protocol: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub enable_backend_keepalive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_idle_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub disable_lets_encrypt_dns_records: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<LbFirewall>,
    /// `EXTERNAL` or `INTERNAL`; fixed at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `IPV4` or `DUALSTACK`; fixed at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_stack: Option<String>,
    /// `REGIONAL`, `REGIONAL_NETWORK` or `GLOBAL`; fixed at create.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub lb_type: Option<String>,
    /// GLOBAL only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<LbDomain>>,
    /// GLOBAL only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glb_settings: Option<GlbSettings>,
    /// GLOBAL only: the regional load balancers behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_load_balancer_ids: Option<Vec<String>>,
    /// `DEFAULT` or `STRONG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cipher_policy: Option<String>,
    /// The region object (a request sends the slug instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The droplets behind it. A tag-based load balancer fills this too.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<f64>))]
    pub droplet_ids: Vec<u64>,
    /// The tag whose droplets are behind it; `""` when it lists droplets by id.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub tag: String,
    /// Fields this crate does not know; sent back on update.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl LoadBalancer {
    /// Droplets are chosen by tag (send `tag`, never `droplet_ids`, on update).
    pub fn is_tag_based(&self) -> bool {
        !self.tag.trim().is_empty()
    }

    /// The region slug, when the region is known.
    pub fn region_slug(&self) -> Option<&str> {
        self.region
            .as_ref()
            .map(|r| r.slug.as_str())
            .filter(|s| !s.is_empty())
    }

    /// `GLOBAL` load balancer.
    pub fn is_global(&self) -> bool {
        self.lb_type.as_deref() == Some(consts::lb_type::GLOBAL)
    }

    pub fn is_active(&self) -> bool {
        self.status == consts::lb_status::ACTIVE
    }

    pub fn is_errored(&self) -> bool {
        self.status == consts::lb_status::ERRORED
    }

    /// Some forwarding rule uses SSL passthrough.
    pub fn has_passthrough(&self) -> bool {
        self.forwarding_rules
            .iter()
            .any(ForwardingRule::is_passthrough)
    }

    /// The first passthrough rule (what Cutover inspects backends through).
    pub fn passthrough_rule(&self) -> Option<&ForwardingRule> {
        self.forwarding_rules.iter().find(|r| r.is_passthrough())
    }

    /// Uses the deprecated `size` rather than `size_unit`.
    pub fn uses_legacy_size(&self) -> bool {
        self.size_unit.is_none() && self.size.as_deref().is_some_and(|s| !s.is_empty())
    }

    /// The request body that recreates this load balancer as it is, with the API's quirks
    /// handled: `tag` only when it is tag-based (else `droplet_ids`), `size_unit` unless the load
    /// balancer uses the legacy `size`, the region as a slug, unknown fields kept. Read-only
    /// fields (`id`, `ip`, `ipv6`, `status`, `created_at`) are left out.
    pub fn to_request(&self) -> LoadBalancerRequest {
        let (droplet_ids, tag) = if self.is_tag_based() {
            (None, Some(self.tag.clone()))
        } else if self.is_global() && self.droplet_ids.is_empty() {
            (None, None)
        } else {
            (Some(self.droplet_ids.clone()), None)
        };
        let (size_unit, size) = if self.uses_legacy_size() {
            (None, self.size.clone())
        } else {
            (self.size_unit, None)
        };
        let mut extra = self.extra.clone();
        for read_only in ["id", "ip", "ipv6", "status", "created_at"] {
            extra.remove(read_only);
        }
        LoadBalancerRequest {
            name: self.name.clone(),
            region: self.region_slug().map(str::to_string),
            project_id: self.project_id.clone(),
            size_unit,
            size,
            algorithm: None,
            forwarding_rules: self.forwarding_rules.clone(),
            health_check: self.health_check.clone(),
            sticky_sessions: self.sticky_sessions.clone(),
            redirect_http_to_https: self.redirect_http_to_https,
            enable_proxy_protocol: self.enable_proxy_protocol,
            enable_backend_keepalive: self.enable_backend_keepalive,
            http_idle_timeout_seconds: self.http_idle_timeout_seconds,
            vpc_uuid: self.vpc_uuid.clone(),
            disable_lets_encrypt_dns_records: self.disable_lets_encrypt_dns_records,
            firewall: self.firewall.clone(),
            network: self.network.clone(),
            network_stack: self.network_stack.clone(),
            lb_type: self.lb_type.clone(),
            domains: self.domains.clone(),
            glb_settings: self.glb_settings.clone(),
            target_load_balancer_ids: self.target_load_balancer_ids.clone(),
            tls_cipher_policy: self.tls_cipher_policy.clone(),
            droplet_ids,
            tag,
            validate_only: false,
            extra,
        }
    }
}

/// The body of `POST /v2/load_balancers` (create) and `PUT /v2/load_balancers/{id}` (update,
/// a full replace: whatever is left out resets to its default).
///
/// Exactly one of `droplet_ids` and `tag` should be set. `validate_only: true` makes the API
/// check the request and answer 204 (valid) or 422 (with its message) without changing anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoadBalancerRequest {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    /// Region slug, e.g. `nyc3`. Required for REGIONAL types; absent for GLOBAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_unit: Option<u32>,
    /// Deprecated; only for load balancers that already use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Deprecated and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<ForwardingRule>))]
    pub forwarding_rules: Vec<ForwardingRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_sessions: Option<StickySessions>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub redirect_http_to_https: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub enable_proxy_protocol: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub enable_backend_keepalive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_idle_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub disable_lets_encrypt_dns_records: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<LbFirewall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_stack: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub lb_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<LbDomain>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glb_settings: Option<GlbSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_load_balancer_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cipher_policy: Option<String>,
    /// Droplets by id. Excludes `tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(type = Option<Vec<f64>>))]
    pub droplet_ids: Option<Vec<u64>>,
    /// Droplets by tag. Excludes `droplet_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Undocumented server-side dry run (godo `ValidateOnly`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub validate_only: bool,
    /// Fields this crate does not know, sent as they are.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl LoadBalancerRequest {
    pub fn is_tag_based(&self) -> bool {
        self.tag.as_deref().is_some_and(|t| !t.trim().is_empty())
    }

    pub fn is_global(&self) -> bool {
        self.lb_type.as_deref() == Some(consts::lb_type::GLOBAL)
    }

    /// The load balancer this request describes, as far as a request can (no id, ip, status).
    /// Used by the Sandbox to create one, and by the validator's callers to compare.
    pub fn to_load_balancer(&self) -> LoadBalancer {
        let mut extra = self.extra.clone();
        extra.remove("validate_only");
        LoadBalancer {
            id: String::new(),
            name: self.name.clone(),
            project_id: self.project_id.clone(),
            ip: String::new(),
            ipv6: None,
            size_unit: self.size_unit,
            size: self.size.clone(),
            algorithm: self.algorithm.clone(),
            status: String::new(),
            created_at: String::new(),
            forwarding_rules: self.forwarding_rules.clone(),
            health_check: self.health_check.clone(),
            sticky_sessions: self.sticky_sessions.clone(),
            redirect_http_to_https: self.redirect_http_to_https,
            enable_proxy_protocol: self.enable_proxy_protocol,
            enable_backend_keepalive: self.enable_backend_keepalive,
            http_idle_timeout_seconds: self.http_idle_timeout_seconds,
            vpc_uuid: self.vpc_uuid.clone(),
            disable_lets_encrypt_dns_records: self.disable_lets_encrypt_dns_records,
            firewall: self.firewall.clone(),
            network: self.network.clone(),
            network_stack: self.network_stack.clone(),
            lb_type: self.lb_type.clone(),
            domains: self.domains.clone(),
            glb_settings: self.glb_settings.clone(),
            target_load_balancer_ids: self.target_load_balancer_ids.clone(),
            tls_cipher_policy: self.tls_cipher_policy.clone(),
            region: self.region.as_ref().map(|slug| Region {
                slug: slug.clone(),
                ..Region::default()
            }),
            droplet_ids: self.droplet_ids.clone().unwrap_or_default(),
            tag: self.tag.clone().unwrap_or_default(),
            extra,
        }
    }
}

/// `{ "droplet_ids": [...] }`: add/remove droplets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DropletIdsRequest {
    #[cfg_attr(feature = "specta", specta(type = Vec<f64>))]
    pub droplet_ids: Vec<u64>,
}

/// `{ "forwarding_rules": [...] }`: add/remove forwarding rules (at least one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ForwardingRulesRequest {
    pub forwarding_rules: Vec<ForwardingRule>,
}

// ---------------------------------------------------------------------------------------------
// Droplets
// ---------------------------------------------------------------------------------------------

/// One IPv4 interface of a droplet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkV4 {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub ip_address: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub netmask: String,
    /// Private interfaces return `"nil"` (literally) or nothing.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub gateway: String,
    /// `public` or `private`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub kind: String,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// One IPv6 interface of a droplet (always public).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkV6 {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub ip_address: String,
    /// Prefix length. Some answers give it as `cidr` instead (godo `tags_test.go`, droplet_kit
    /// `spec/fixtures/droplets/find.json`): see [`NetworkV6::prefix_len`]. Absent stays absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub gateway: String,
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub kind: String,
    /// Fields this crate does not know (e.g. `cidr`), kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl NetworkV6 {
    /// The prefix length, from `netmask` or else from `cidr`.
    pub fn prefix_len(&self) -> Option<u32> {
        self.netmask.or_else(|| {
            self.extra
                .get("cidr")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        })
    }
}

/// A droplet's network interfaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Networks {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<NetworkV4>))]
    pub v4: Vec<NetworkV4>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<NetworkV6>))]
    pub v6: Vec<NetworkV6>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A droplet. Only the fields Cutover uses are typed; the rest of the spec's droplet (memory,
/// image, kernel, backups…) is typed loosely as JSON values so it round-trips.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Droplet {
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub id: u64,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub memory: u32,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub vcpus: u32,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub disk: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(type = Option<Vec<specta_typescript::Unknown>>))]
    pub disk_info: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub locked: bool,
    /// `new`, `active`, `off` or `archive`.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub status: String,
    /// Deprecated; usually `null`.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub kernel: Value,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub features: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<f64>))]
    pub backup_ids: Vec<u64>,
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub next_backup_window: Value,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<f64>))]
    pub snapshot_ids: Vec<u64>,
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub image: Value,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub volume_ids: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub size: Value,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub size_slug: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Networks))]
    pub networks: Networks,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Region))]
    pub region: Region,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
    pub gpu_info: Option<Value>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl Droplet {
    /// Every public IPv4 address, in the order the API lists them (a droplet with a reserved IP
    /// has two, in no guaranteed order).
    pub fn public_ipv4s(&self) -> Vec<Ipv4Addr> {
        self.networks
            .v4
            .iter()
            .filter(|n| n.kind == "public")
            .filter_map(|n| n.ip_address.parse().ok())
            .collect()
    }

    /// Every private (VPC) IPv4 address, in API order.
    pub fn private_ipv4s(&self) -> Vec<Ipv4Addr> {
        self.networks
            .v4
            .iter()
            .filter(|n| n.kind == "private")
            .filter_map(|n| n.ip_address.parse().ok())
            .collect()
    }

    /// Every public IPv6 address, in API order.
    pub fn public_ipv6s(&self) -> Vec<Ipv6Addr> {
        self.networks
            .v6
            .iter()
            .filter(|n| n.kind == "public")
            .filter_map(|n| n.ip_address.parse().ok())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/// A certificate stored at DigitalOcean (for SSL termination).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Certificate {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    /// RFC 3339.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub not_after: String,
    /// Lowercase hex, no colons.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub sha1_fingerprint: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: String,
    /// Custom certificates may return `[""]`.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = Vec<String>))]
    pub dns_names: Vec<String>,
    /// `pending`, `verified` or `error`.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub state: String,
    /// `custom` or `lets_encrypt`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub kind: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

impl Certificate {
    /// The DNS names, without the empty strings custom certificates report.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.dns_names
            .iter()
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }
}

/// The body of `POST /v2/certificates`. Its `Debug` never shows the private key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CertificateRequest {
    /// Upload a certificate and its key (PEM).
    Custom {
        name: String,
        private_key: String,
        leaf_certificate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate_chain: Option<String>,
    },
    /// Have DigitalOcean obtain one (the domain's DNS must be hosted at DigitalOcean).
    LetsEncrypt {
        name: String,
        dns_names: Vec<String>,
    },
}

impl CertificateRequest {
    pub fn name(&self) -> &str {
        match self {
            CertificateRequest::Custom { name, .. }
            | CertificateRequest::LetsEncrypt { name, .. } => name,
        }
    }
}

// The private key must never reach a log through `{:?}`.
impl std::fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateRequest::Custom {
                name,
                leaf_certificate,
                certificate_chain,
                ..
            } => f
                .debug_struct("Custom")
                .field("name", name)
                .field("private_key", &"[REDACTED]")
                .field("leaf_certificate_len", &leaf_certificate.len())
                .field(
                    "certificate_chain_len",
                    &certificate_chain.as_ref().map(String::len),
                )
                .finish(),
            CertificateRequest::LetsEncrypt { name, dns_names } => f
                .debug_struct("LetsEncrypt")
                .field("name", name)
                .field("dns_names", dns_names)
                .finish(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Domains
// ---------------------------------------------------------------------------------------------

/// A domain whose DNS DigitalOcean hosts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Domain {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    /// Write-only (create): an IP address for an A record at the apex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub ttl: Option<u32>,
    #[serde(default)]
    pub zone_file: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A DNS record of a domain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DomainRecord {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub id: u64,
    /// `A`, `AAAA`, `CAA`, `CNAME`, `MX`, `NS`, `SOA`, `SRV` or `TXT`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub kind: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub data: String,
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub port: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub ttl: u32,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub flags: Option<u32>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// The body of `POST /v2/domains/{name}/records` and `PUT …/records/{id}`. What is required
/// depends on the type: A/AAAA/CNAME/TXT need `name` and `data`; MX `data` and `priority`;
/// SRV `name`, `data`, `priority`, `port`, `weight`; CAA `name`, `data`, `flags`, `tag`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DomainRecordRequest {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl DomainRecordRequest {
    /// A record of `kind` named `name` holding `data` (A, AAAA, CNAME, TXT, NS).
    pub fn simple(
        kind: impl Into<String>,
        name: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            name: Some(name.into()),
            data: Some(data.into()),
            ..Self::default()
        }
    }
}

impl From<&DomainRecord> for DomainRecordRequest {
    fn from(r: &DomainRecord) -> Self {
        Self {
            kind: r.kind.clone(),
            name: Some(r.name.clone()),
            data: Some(r.data.clone()),
            priority: r.priority,
            port: r.port,
            ttl: Some(r.ttl).filter(|t| *t > 0),
            weight: r.weight,
            flags: r.flags,
            tag: r.tag.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tags, VPCs, account
// ---------------------------------------------------------------------------------------------

/// Counts of tagged resources of one kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TagMetadata {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tagged_uri: Option<String>,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// What a tag is attached to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TagResources {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tagged_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub droplets: Option<TagMetadata>,
    /// Spelled so in the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imgages: Option<TagMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<TagMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots: Option<TagMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases: Option<TagMetadata>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A tag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Tag {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<TagResources>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// A VPC.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Vpc {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub urn: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Region slug.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub region: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub ip_range: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub default: bool,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub created_at: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// The team the token's account acts in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Team {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub uuid: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub name: String,
    /// Fields this crate does not know, kept so that they round-trip.
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

/// The account the token belongs to (`GET /v2/account`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Account {
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub droplet_limit: u32,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub floating_ip_limit: u32,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub uuid: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = bool))]
    pub email_verified: bool,
    /// `active`, `warning` or `locked`.
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub status: String,
    #[serde(default, deserialize_with = "null_default")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub status_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
    #[serde(flatten)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_param_reads_the_page_number() {
        assert_eq!(
            page_param("https://api.digitalocean.com/v2/load_balancers?page=5&per_page=200"),
            Some(5)
        );
        assert_eq!(
            page_param("https://x/v2/droplets?per_page=200&page=12"),
            Some(12)
        );
        assert_eq!(page_param("https://x/v2/droplets"), None);
        let links: Links = serde_json::from_value(json!({
            "pages": {"next": "https://x/v2/lb?page=2&per_page=200", "last": "https://x/v2/lb?page=5&per_page=200"}
        }))
        .unwrap();
        assert_eq!(links.last_page(), Some(5));
        assert!(!links.is_last_page());
        assert!(Links::default().is_last_page());
        let empty: Links = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty.last_page(), None);
    }

    fn example_lb() -> Value {
        json!({
            "id": "56775c3f-04ab-4fb3-a7ed-40ef9bc8eece",
            "name": "prod-web-lb-01",
            "ip": "45.55.125.24",
            "size": "lb-small",
            "algorithm": "round_robin",
            "status": "active",
            "created_at": "2020-09-08T18:58:04Z",
            "forwarding_rules": [{
                "entry_protocol": "https", "entry_port": 443,
                "target_protocol": "http", "target_port": 8080,
                "certificate_id": "892071a0-bb95-49bc-8021-3afd67a210bf",
                "tls_passthrough": false
            }],
            "health_check": {
                "protocol": "https", "port": 443, "path": "/",
                "check_interval_seconds": 10, "response_timeout_seconds": 5,
                "healthy_threshold": 5, "unhealthy_threshold": 3
            },
            "sticky_sessions": {"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300},
            "region": {"name": "New York 3", "slug": "nyc3", "sizes": ["s-1vcpu-1gb"],
                       "features": ["private_networking"], "available": true},
            "tag": "prod:web",
            "droplet_ids": [55806512, 55806515, 55806524],
            "redirect_http_to_https": true,
            "enable_proxy_protocol": false,
            "enable_backend_keepalive": false,
            "vpc_uuid": "587d698c-de84-11e8-80bc-3cfdfea9fcd1",
            "disable_lets_encrypt_dns_records": false,
            "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
            "http_idle_timeout_seconds": 60,
            "firewall": {"deny": ["cidr:1.2.0.0/16", "ip:2.3.4.5"], "allow": ["ip:1.2.3.4"]},
            "subnet_uuid": "a-field-from-the-future",
            "tags": ["k8s:abc"]
        })
    }

    #[test]
    fn load_balancer_round_trips_unknown_fields() {
        let value = example_lb();
        let lb: LoadBalancer = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(
            lb.extra.get("subnet_uuid"),
            Some(&json!("a-field-from-the-future"))
        );
        assert!(lb.is_tag_based());
        assert_eq!(lb.region_slug(), Some("nyc3"));
        assert_eq!(serde_json::to_value(&lb).unwrap(), value);
        let req = lb.to_request();
        let body = serde_json::to_value(&req).unwrap();
        assert_eq!(body["subnet_uuid"], "a-field-from-the-future");
        assert_eq!(body["tag"], "prod:web");
        assert!(body.get("droplet_ids").is_none(), "{body}");
        assert_eq!(body["region"], "nyc3");
        assert_eq!(body["size"], "lb-small");
        assert!(body.get("size_unit").is_none());
        for read_only in ["id", "ip", "status", "created_at", "algorithm"] {
            assert!(body.get(read_only).is_none(), "{read_only} in {body}");
        }
    }

    #[test]
    fn minimal_load_balancer_decodes() {
        let lb: LoadBalancer = serde_json::from_value(json!({"id": "x"})).unwrap();
        assert!(!lb.is_tag_based());
        assert!(lb.forwarding_rules.is_empty());
        let req = lb.to_request();
        assert_eq!(req.droplet_ids, Some(vec![]));
        assert_eq!(req.tag, None);
    }

    #[test]
    fn droplet_lists_public_ipv4s_in_api_order() {
        let droplet: Droplet = serde_json::from_value(json!({
            "id": 3164444u64,
            "name": "web-1",
            "networks": {"v4": [
                {"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
                {"ip_address": "192.241.165.154", "netmask": "255.255.255.0", "gateway": "192.241.165.1", "type": "public"},
                {"ip_address": "45.55.1.2", "netmask": "255.255.255.0", "gateway": "45.55.1.1", "type": "public"}
            ], "v6": [{"ip_address": "2604:a880:0:1010::18a:a001", "netmask": 64, "gateway": "2604:a880:0:1010::1", "type": "public"}]},
            "kernel": null,
            "future_field": {"a": 1}
        }))
        .unwrap();
        assert_eq!(
            droplet.public_ipv4s(),
            vec![
                "192.241.165.154".parse::<Ipv4Addr>().unwrap(),
                "45.55.1.2".parse().unwrap()
            ]
        );
        assert_eq!(droplet.private_ipv4s().len(), 1);
        assert_eq!(droplet.public_ipv6s().len(), 1);
        let back = serde_json::to_value(&droplet).unwrap();
        assert_eq!(back["future_field"], json!({"a": 1}));
        assert_eq!(back["kernel"], Value::Null);
    }

    #[test]
    fn certificate_request_serializes_with_type_tag() {
        let le = CertificateRequest::LetsEncrypt {
            name: "le".into(),
            dns_names: vec!["example.com".into()],
        };
        assert_eq!(
            serde_json::to_value(&le).unwrap(),
            json!({"type": "lets_encrypt", "name": "le", "dns_names": ["example.com"]})
        );
        let custom = CertificateRequest::Custom {
            name: "c".into(),
            private_key: "KEY".into(),
            leaf_certificate: "LEAF".into(),
            certificate_chain: None,
        };
        let v = serde_json::to_value(&custom).unwrap();
        assert_eq!(v["type"], "custom");
        assert!(v.get("certificate_chain").is_none());
    }

    #[test]
    fn forwarding_rule_helpers() {
        let rule: ForwardingRule = serde_json::from_value(json!({
            "entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
            "target_port": 443, "certificate_id": "", "tls_passthrough": true
        }))
        .unwrap();
        assert!(rule.is_passthrough());
        assert_eq!(rule.certificate(), None);
        let other = ForwardingRule::new("https", 443, "https", 443).with_passthrough();
        assert!(rule.same_rule(&other));
        assert_eq!(rule.describe(), "https 443 → https 443 (passthrough)");
    }
}
