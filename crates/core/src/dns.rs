//! The DNS cutover: where a domain points now, whether it is ready to point at a load balancer,
//! the exact record changes, applying them through the Domains API with a saved rollback set,
//! verifying at the authoritative nameservers, and rolling back.
//!
//! Flow: [`status`] → [`readiness`] (or the pure [`readiness_items`]) → [`plan`] (pure) →
//! [`apply`] (or [`apply_ttl_step`] first) → [`verify`] → [`rollback`] if needed. The rollback
//! set is written to `<dir>/dns-rollback-<domain>.json` before the first API write and after each
//! one, atomically, so a crash mid-cutover loses nothing; [`load_rollback`] reads it back.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover_certs::FleetReport;
use cutover_digitalocean::{Certificate, DomainRecord, DomainRecordRequest, LoadBalancer};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};

/// The TTL at or under which a switch is considered quick to take effect (and to undo).
pub const LOW_TTL: u32 = 300;
/// The lowest TTL DigitalOcean's Domains API accepts: no plan goes below it.
pub const DO_MIN_TTL: u32 = 30;
/// DigitalOcean's nameservers, asked for domains it hosts.
pub const DO_NAMESERVERS: [&str; 3] = [
    "ns1.digitalocean.com.",
    "ns2.digitalocean.com.",
    "ns3.digitalocean.com.",
];

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// One answer record: `A 203.0.113.7 ttl 300`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DnsAnswer {
    /// `A`, `AAAA` or `CNAME`.
    pub kind: String,
    pub data: String,
    pub ttl: u32,
}

/// What one name resolves to, at the authoritative nameservers and at the system resolver.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct NameView {
    /// Fully qualified, without the final dot.
    pub name: String,
    pub authoritative: Vec<DnsAnswer>,
    pub authoritative_error: Option<String>,
    pub system: Vec<DnsAnswer>,
    /// Why the system view is empty: an error, or why it was not asked.
    pub system_error: Option<String>,
    /// The authoritative answer contains the load balancer's IP.
    pub points_to_lb: bool,
    /// Set when every address answered is in a CDN's published ranges, so the origin behind it
    /// cannot be seen from here: "proxied by Cloudflare: cannot confirm the origin". Not a
    /// failure, and not a confirmation either.
    #[serde(default)]
    pub proxied: Option<String>,
}

/// Where a domain points now, side by side with the load balancer's IP.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct DnsStatus {
    pub domain: String,
    pub lb_ip: Option<String>,
    /// The account's Domains API has this domain.
    pub hosted_at_digitalocean: bool,
    /// The nameserver addresses asked for the authoritative view.
    pub nameservers: Vec<String>,
    pub names: Vec<NameView>,
    /// The domain's records in the API (empty when it is hosted elsewhere).
    pub records: Vec<DomainRecord>,
}

/// One checklist item before a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ReadinessItem {
    /// `lb_active`, `rules_serve_domain`, `certificates`, `rehearsal`, `ttl`; for a load balancer
    /// with a DigitalOcean Let's Encrypt certificate also `lets_encrypt_zone` and `caa`; and
    /// `lets_encrypt_renewal`, a warning (always `ok`) when the droplets serve different Let's
    /// Encrypt certificates.
    pub id: String,
    pub ok: bool,
    pub reason: String,
    /// For `ttl`: when it is safe to switch (RFC 3339), if the TTL was lowered recently.
    pub safe_at: Option<String>,
}

/// What the readiness rules look at.
#[derive(Debug, Clone, Default)]
pub struct ReadinessInput {
    pub domain: String,
    pub lb: LoadBalancer,
    /// The account's certificates (to see whether an HTTPS rule's certificate covers the domain).
    pub certificates: Vec<Certificate>,
    /// The backend certificate check; `None` when it was not run (or does not apply).
    pub cert_report: Option<FleetReport>,
    /// Whether the droplets serve TLS themselves (a passthrough or HTTPS-to-droplet rule), so the
    /// backend certificate check applies.
    pub backends_serve_tls: bool,
    /// A rehearsal request through the local balancer: `None` when none was run.
    pub rehearsal_ok: Option<bool>,
    /// The highest TTL among the records that will change.
    pub current_ttl: Option<u32>,
    /// When the TTL was lowered (unix seconds) and what it was before, if Cutover lowered it.
    pub ttl_lowered: Option<(i64, u32)>,
    /// Unix seconds now.
    pub now: i64,
    /// The account's zone that holds `domain` (the domain itself or a parent), when there is one.
    pub zone: Option<String>,
    /// That zone's records (for its CAA records).
    pub zone_records: Vec<DomainRecord>,
}

/// A record's type, data and TTL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RecordValue {
    pub kind: String,
    pub data: String,
    pub ttl: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
}

/// One record change, as a diff line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RecordChange {
    /// The record name as the API has it: `@`, `www`.
    pub name: String,
    pub action: ChangeAction,
    /// The API record id for updates and deletes.
    #[specta(type = Option<f64>)]
    pub record_id: Option<u64>,
    pub before: Option<RecordValue>,
    pub after: Option<RecordValue>,
}

/// The optional first step: only lower the TTL, then wait the old TTL before switching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct TtlStep {
    pub changes: Vec<RecordChange>,
    /// The highest old TTL: how long resolvers may keep the old answer after the step.
    pub wait_secs: u32,
}

/// The exact changes of a cutover, and what to restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DnsPlan {
    pub domain: String,
    pub lb_ip: String,
    /// A dual-stack load balancer's IPv6: the plan points AAAA records at it too.
    pub lb_ipv6: Option<String>,
    pub ttl: u32,
    /// The names the plan covers (`@`, `www`, …).
    pub names: Vec<String>,
    pub changes: Vec<RecordChange>,
    pub ttl_step: Option<TtlStep>,
    /// The records as they are now at those names: what a rollback restores.
    pub rollback: Vec<DomainRecord>,
    /// For a domain hosted elsewhere: the records to set at its DNS provider, zone-file style.
    pub provider_records: Vec<String>,
}

/// The rollback file: the saved records and the records the cutover created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RollbackSet {
    pub domain: String,
    pub saved: Vec<DomainRecord>,
    /// Ids of records the cutover created (deleted on rollback).
    #[specta(type = Vec<f64>)]
    pub created: Vec<u64>,
    /// RFC 3339.
    pub started_at: String,
    /// When the TTL step was applied (unix seconds) and the TTL before it.
    #[specta(type = Option<(f64, u32)>)]
    pub ttl_lowered: Option<(i64, u32)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ApplyResult {
    pub applied: Vec<RecordChange>,
    /// Where the rollback set was saved.
    pub rollback_file: String,
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// How long to keep asking the nameservers.
    pub timeout: Duration,
    pub interval: Duration,
    /// Where to send the HTTPS request instead of `lb_ip:443` (the Sandbox maps its load
    /// balancer to a droplet's real address); `None` with a Sandbox skips the HTTPS step.
    pub https_addr: Option<SocketAddr>,
    /// A CA to trust for the HTTPS request besides the public roots (the Sandbox's).
    pub ca_pem: Option<String>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            interval: Duration::from_secs(2),
            https_addr: None,
            ca_pem: None,
        }
    }
}

/// One verify poll, for progress display.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct VerifyProgress {
    pub attempt: u32,
    /// Names already answering the load balancer's IP.
    pub ready: Vec<String>,
    pub waiting: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct HttpsCheck {
    pub url: String,
    pub addr: String,
    pub status: Option<u16>,
    pub ok: bool,
    pub error: Option<String>,
    /// The certificate the server presented (checked for the domain), when the TLS handshake
    /// completed.
    pub certificate: Option<cutover_certs::CertInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct VerifyResult {
    /// Every planned name answers the load balancer's IP at the nameservers.
    pub dns_ok: bool,
    pub attempts: u32,
    pub names: Vec<NameView>,
    pub https: Option<HttpsCheck>,
    /// Why there is no HTTPS check.
    pub https_skipped: Option<String>,
    /// Names answered by a proxy (Cloudflare) whose origin cannot be confirmed: not counted as
    /// failures.
    #[serde(default)]
    pub unconfirmed: Vec<String>,
    /// A sentence for people: what happened, what to do.
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

fn dns_error(what: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Network, format!("DNS {what}: {err}"))
}

/// The one domain check of every DNS job (and the rollback file's name, which comes from it):
/// DNS's limits, no `:`, `*`, `\\` or `/`, punycode for Unicode names.
pub fn normalize_domain(domain: &str) -> Result<String, ApiError> {
    cutover_domain::DomainName::parse(domain)
        .map(cutover_domain::DomainName::into_string)
        .map_err(|err| {
            ApiError::invalid_input(format!("{err}."))
                .with_details(serde_json::json!({ "field": "domain" }))
        })
}

/// `@` → `example.com`, `www` → `www.example.com`.
pub fn fqdn(name: &str, domain: &str) -> String {
    if name == "@" || name.is_empty() {
        domain.to_string()
    } else {
        format!("{name}.{domain}")
    }
}

/// A resolver that asks exactly `servers`, without cache or recursion (an authoritative view).
fn direct_resolver(servers: &[SocketAddr]) -> TokioResolver {
    let mut config = ResolverConfig::new();
    for s in servers {
        config.add_name_server(NameServerConfig::new(*s, Protocol::Udp));
        config.add_name_server(NameServerConfig::new(*s, Protocol::Tcp));
    }
    let mut opts = ResolverOpts::default();
    // A cache would hide the change verify is waiting for.
    opts.cache_size = 0;
    opts.recursion_desired = false;
    opts.timeout = Duration::from_secs(3);
    opts.attempts = 1;
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build()
}

fn system_resolver() -> Result<TokioResolver, ApiError> {
    let mut builder =
        TokioResolver::builder_tokio().map_err(|e| dns_error("system configuration", e))?;
    builder.options_mut().cache_size = 0;
    Ok(builder.build())
}

/// The A, AAAA and CNAME answers for `name` (CNAMEs followed by the server or resolver).
async fn lookup_addrs(r: &TokioResolver, name: &str) -> Result<Vec<DnsAnswer>, String> {
    let fq = format!("{}.", name.trim_end_matches('.'));
    let mut out: Vec<DnsAnswer> = Vec::new();
    let mut errors = Vec::new();
    for kind in [RecordType::A, RecordType::AAAA] {
        match r.lookup(fq.as_str(), kind).await {
            Ok(lookup) => {
                for rec in lookup.record_iter() {
                    let (k, data) = match rec.data() {
                        RData::A(a) => ("A", a.0.to_string()),
                        RData::AAAA(a) => ("AAAA", a.0.to_string()),
                        RData::CNAME(c) => ("CNAME", c.0.to_ascii()),
                        _ => continue,
                    };
                    let answer = DnsAnswer {
                        kind: k.to_string(),
                        data: data.trim_end_matches('.').to_string(),
                        ttl: rec.ttl(),
                    };
                    if !out.contains(&answer) {
                        out.push(answer);
                    }
                }
            }
            Err(e) if e.is_no_records_found() => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if out.is_empty() && !errors.is_empty() {
        return Err(errors.join("; "));
    }
    Ok(out)
}

/// The addresses of DigitalOcean's nameservers, via the system resolver.
async fn do_nameservers() -> Result<Vec<SocketAddr>, ApiError> {
    let system = system_resolver()?;
    let mut out = Vec::new();
    for ns in DO_NAMESERVERS {
        if let Ok(ips) = system.lookup_ip(ns).await {
            out.extend(ips.iter().map(|ip| SocketAddr::new(ip, 53)));
        }
    }
    if out.is_empty() {
        return Err(dns_error(
            "lookup",
            "could not find the addresses of ns1-3.digitalocean.com",
        ));
    }
    Ok(out)
}

/// The Sandbox's DNS server, when `conn` is a Sandbox reached over HTTP (`/_sandbox/dns`).
/// For an in-process Sandbox use `SandboxHandle::dns_addr()` directly.
pub async fn sandbox_nameserver(conn: &Connection) -> Option<SocketAddr> {
    #[derive(Deserialize)]
    struct Dns {
        addr: SocketAddr,
    }
    if !conn.is_sandbox() {
        return None;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let base = conn.client.base_url().trim_end_matches('/');
    let dns: Dns = http
        .get(format!("{base}/_sandbox/dns"))
        .bearer_auth(conn.client.config().token.expose())
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    Some(dns.addr)
}

/// Where the HTTPS step of [`verify`] can reach load balancer `lb_id` of a Sandbox: the Sandbox's
/// load balancer IPs are not reachable, but a passthrough rule's droplets serve the domain
/// themselves, so the first droplet's real address stands in. `None` when the connection is not
/// a Sandbox or the load balancer has no passthrough rule (then the HTTPS step is skipped).
pub async fn sandbox_https_addr(conn: &Connection, lb_id: &str) -> Option<SocketAddr> {
    if !conn.is_sandbox() {
        return None;
    }
    let lb = crate::lb::find(conn, lb_id).await.ok()?;
    let port = u16::try_from(crate::lb::passthrough_like_rule(&lb)?.target_port).ok()?;
    let members = crate::lb::members(conn, &lb).await.ok()?;
    members.iter().find_map(|d| conn.resolve(d, port))
}

/// Whether the account's Domains API has `domain`, and its records if so.
async fn hosted_records(
    conn: &Connection,
    domain: &str,
) -> Result<Option<Vec<DomainRecord>>, ApiError> {
    match conn.client.list_domain_records(domain).await {
        Ok(records) => Ok(Some(records)),
        Err(e) => {
            let err = ApiError::from(e);
            if err.code == ErrorCode::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

async fn authoritative_servers(
    conn: &Connection,
    nameserver: Option<SocketAddr>,
    domain: &str,
) -> Result<Vec<SocketAddr>, ApiError> {
    match nameserver {
        Some(ns) => Ok(vec![ns]),
        None => match sandbox_nameserver(conn).await {
            Some(ns) => Ok(vec![ns]),
            None if conn.is_sandbox() => Err(ApiError::new(
                ErrorCode::InvalidInput,
                "this Sandbox does not say where its DNS server listens; pass its address",
            )),
            None => {
                // The zone's own nameservers: DigitalOcean's for a zone hosted here, the
                // provider's (Cloudflare, a registrar) for one hosted elsewhere — asking
                // DigitalOcean about a zone it does not serve would never see the change.
                let own = zone_nameservers(&system_resolver()?, domain, 53).await;
                if own.is_empty() {
                    do_nameservers().await
                } else {
                    Ok(own)
                }
            }
        },
    }
}

/// The nameservers of `domain`'s zone: the NS records of the closest enclosing name that has
/// them (asked of `resolver`; never above the registrable level's parent, a TLD), each
/// resolved to its addresses on `port` (53 in the world). Empty when none answers.
async fn zone_nameservers(resolver: &TokioResolver, domain: &str, port: u16) -> Vec<SocketAddr> {
    let mut name = domain.trim_end_matches('.').to_ascii_lowercase();
    loop {
        if let Ok(answer) = resolver.lookup(format!("{name}."), RecordType::NS).await {
            let hosts: Vec<String> = answer
                .record_iter()
                .filter_map(|r| match r.data() {
                    RData::NS(ns) => Some(ns.0.to_ascii()),
                    _ => None,
                })
                .collect();
            if !hosts.is_empty() {
                let mut out = Vec::new();
                for host in hosts {
                    if let Ok(ips) = resolver.lookup_ip(host.as_str()).await {
                        out.extend(ips.iter().map(|ip| SocketAddr::new(ip, port)));
                    }
                }
                out.sort();
                out.dedup();
                return out;
            }
        }
        match name.split_once('.') {
            Some((_, parent)) if parent.contains('.') => name = parent.to_string(),
            _ => return Vec::new(),
        }
    }
}

async fn view_names(
    names: &[String],
    domain: &str,
    authoritative: &TokioResolver,
    system: Option<&TokioResolver>,
    system_skipped: &str,
    lb_ips: &[IpAddr],
) -> Vec<NameView> {
    let mut out = Vec::new();
    for name in names {
        let full = fqdn(name, domain);
        let (auth, auth_err) = match lookup_addrs(authoritative, &full).await {
            Ok(a) => (a, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let (sys, sys_err) = match system {
            Some(r) => match lookup_addrs(r, &full).await {
                Ok(a) => (a, None),
                Err(e) => (Vec::new(), Some(e)),
            },
            None => (Vec::new(), Some(system_skipped.to_string())),
        };
        // Every address of the load balancer must be answered (both families when dual-stack).
        let points_to_lb = !lb_ips.is_empty()
            && lb_ips
                .iter()
                .all(|ip| auth.iter().any(|a| a.data == ip.to_string()));
        let proxied = (!points_to_lb)
            .then(|| proxied_by(&auth).or_else(|| proxied_by(&sys)))
            .flatten();
        out.push(NameView {
            name: full,
            authoritative: auth,
            authoritative_error: auth_err,
            system: sys,
            system_error: sys_err,
            points_to_lb,
            proxied,
        });
    }
    out
}

/// Cloudflare's published ranges, from https://www.cloudflare.com/ips-v4/ and
/// https://www.cloudflare.com/ips-v6/ (as published in 2023–2026; read 2026-12-06). A proxied
/// ("orange cloud") name answers one of these, never the origin, so DNS cannot show where the
/// traffic goes from there.
const CLOUDFLARE_V4: [(u32, u8); 15] = [
    (0xADF5_3000, 20), // 173.245.48.0/20
    (0x6715_F400, 22), // 103.21.244.0/22
    (0x6716_C800, 22), // 103.22.200.0/22
    (0x671F_0400, 22), // 103.31.4.0/22
    (0x8D65_4000, 18), // 141.101.64.0/18
    (0x6CA2_C000, 18), // 108.162.192.0/18
    (0xBE5D_F000, 20), // 190.93.240.0/20
    (0xBC72_6000, 20), // 188.114.96.0/20
    (0xC5EA_F000, 22), // 197.234.240.0/22
    (0xC629_8000, 17), // 198.41.128.0/17
    (0xA29E_0000, 15), // 162.158.0.0/15
    (0x6810_0000, 13), // 104.16.0.0/13
    (0x6818_0000, 14), // 104.24.0.0/14
    (0xAC40_0000, 13), // 172.64.0.0/13
    (0x8300_4800, 22), // 131.0.72.0/22
];
const CLOUDFLARE_V6: [(u128, u8); 7] = [
    (0x2400_cb00 << 96, 32), // 2400:cb00::/32
    (0x2606_4700 << 96, 32), // 2606:4700::/32
    (0x2803_f800 << 96, 32), // 2803:f800::/32
    (0x2405_b500 << 96, 32), // 2405:b500::/32
    (0x2405_8100 << 96, 32), // 2405:8100::/32
    (0x2a06_98c0 << 96, 29), // 2a06:98c0::/29
    (0x2c0f_f248 << 96, 32), // 2c0f:f248::/32
];

/// What a proxied name's status says.
pub const PROXIED_BY_CLOUDFLARE: &str = "proxied by Cloudflare: cannot confirm the origin";

/// Whether `ip` is in Cloudflare's published ranges.
pub fn is_cloudflare(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            CLOUDFLARE_V4
                .iter()
                .any(|&(net, len)| n >> (32 - len) == net >> (32 - len))
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            CLOUDFLARE_V6
                .iter()
                .any(|&(net, len)| n >> (128 - len) == net >> (128 - len))
        }
    }
}

/// [`PROXIED_BY_CLOUDFLARE`] when `answers` has addresses and all of them are Cloudflare's.
fn proxied_by(answers: &[DnsAnswer]) -> Option<String> {
    let addrs: Vec<IpAddr> = answers
        .iter()
        .filter(|a| a.kind == "A" || a.kind == "AAAA")
        .filter_map(|a| a.data.parse().ok())
        .collect();
    (!addrs.is_empty() && addrs.iter().all(|ip| is_cloudflare(*ip)))
        .then(|| PROXIED_BY_CLOUDFLARE.to_string())
}

const SANDBOX_SYSTEM_SKIPPED: &str =
    "not asked: the Sandbox's domains exist only in its own DNS server";

/// Where `domain` (apex and `www`) points now: the authoritative answers (`nameserver`, the
/// Sandbox's DNS server, or ns1-3.digitalocean.com) and the system resolver's, next to `lb_ip`.
/// For a Sandbox the system resolver is not asked.
pub async fn status(
    conn: &Connection,
    domain: &str,
    lb_ips: &[IpAddr],
    nameserver: Option<SocketAddr>,
) -> Result<DnsStatus, ApiError> {
    let domain = normalize_domain(domain)?;
    let records = hosted_records(conn, &domain).await?;
    let servers = authoritative_servers(conn, nameserver, &domain).await?;
    let authoritative = direct_resolver(&servers);
    let system = if conn.is_sandbox() {
        None
    } else {
        Some(system_resolver()?)
    };
    let names = vec!["@".to_string(), "www".to_string()];
    let views = view_names(
        &names,
        &domain,
        &authoritative,
        system.as_ref(),
        SANDBOX_SYSTEM_SKIPPED,
        lb_ips,
    )
    .await;
    Ok(DnsStatus {
        hosted_at_digitalocean: records.is_some(),
        records: records.unwrap_or_default(),
        domain,
        lb_ip: lb_ips
            .iter()
            .find(|ip| ip.is_ipv4())
            .or(lb_ips.first())
            .map(IpAddr::to_string),
        nameservers: servers.iter().map(SocketAddr::to_string).collect(),
        names: views,
    })
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

/// Whether certificate name `pattern` (`example.com`, `*.example.com`) covers `domain`.
/// (`cutover_certs::name_matches` needs a parsed leaf; the API's certificates only list names.)
pub fn name_covers(pattern: &str, domain: &str) -> bool {
    cutover_domain::covers(pattern, domain)
}

fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn item(id: &str, ok: bool, reason: impl Into<String>) -> ReadinessItem {
    ReadinessItem {
        id: id.to_string(),
        ok,
        reason: reason.into(),
        safe_at: None,
    }
}

/// The readiness checklist, from what was gathered (pure).
pub fn readiness_items(input: &ReadinessInput) -> Vec<ReadinessItem> {
    let lb = &input.lb;
    let mut items = Vec::new();
    items.push(if lb.status == "active" {
        item("lb_active", true, format!("{} is active", lb.name))
    } else {
        item(
            "lb_active",
            false,
            format!(
                "{} is {}: wait until it is active",
                lb.name,
                if lb.status.is_empty() {
                    "in an unknown state"
                } else {
                    &lb.status
                }
            ),
        )
    });

    let passthrough = lb.forwarding_rules.iter().any(|r| r.is_passthrough());
    let covering = lb.forwarding_rules.iter().find_map(|r| {
        let id = r.certificate()?;
        let cert = input.certificates.iter().find(|c| c.id == id)?;
        cert.dns_names
            .iter()
            .any(|n| name_covers(n, &input.domain))
            .then(|| cert.name.clone())
    });
    let https_rules: Vec<&str> = lb
        .forwarding_rules
        .iter()
        .filter(|r| r.entry_protocol.eq_ignore_ascii_case("https"))
        .filter_map(|r| r.certificate())
        .collect();
    items.push(if passthrough {
        item(
            "rules_serve_domain",
            true,
            "SSL passthrough: the droplets serve the domain's certificate",
        )
    } else if let Some(name) = covering {
        item(
            "rules_serve_domain",
            true,
            format!(
                "the HTTPS rule's certificate {name} covers {}",
                input.domain
            ),
        )
    } else if https_rules.is_empty() {
        item(
            "rules_serve_domain",
            false,
            "no HTTPS rule: add SSL passthrough or an HTTPS rule with a certificate for the domain",
        )
    } else {
        item(
            "rules_serve_domain",
            false,
            format!("no HTTPS rule's certificate covers {}", input.domain),
        )
    });

    items.push(match (&input.cert_report, input.backends_serve_tls) {
        (_, false) => item(
            "certificates",
            true,
            "the load balancer terminates TLS: the droplets serve no certificate to check",
        ),
        (None, true) => item(
            "certificates",
            false,
            "the backend certificate check has not been run",
        ),
        (Some(report), true) => {
            let bad = report
                .findings
                .iter()
                .chain(report.backends.iter().flat_map(|b| b.findings.iter()))
                .find(|f| {
                    matches!(
                        f.severity,
                        cutover_certs::Severity::Error | cutover_certs::Severity::Critical
                    )
                });
            match bad {
                Some(f) => item("certificates", false, f.message.clone()),
                None => item("certificates", true, report.verdict.summary.clone()),
            }
        }
    });

    items.extend(lets_encrypt_items(input));

    items.push(match input.rehearsal_ok {
        None => item("rehearsal", true, "no rehearsal was run (optional)"),
        Some(true) => item("rehearsal", true, "the rehearsal request succeeded"),
        Some(false) => item(
            "rehearsal",
            false,
            "the rehearsal request through the local balancer failed",
        ),
    });

    items.push(match input.current_ttl {
        None => item("ttl", true, "no record to change has a TTL to wait for"),
        Some(ttl) if ttl > LOW_TTL => item(
            "ttl",
            false,
            format!(
                "TTL is {ttl} s: lower it to {LOW_TTL} s first, then wait {ttl} s so a rollback is quick"
            ),
        ),
        Some(ttl) => match input.ttl_lowered {
            Some((at, before)) if input.now < at + i64::from(before) => {
                let safe = at + i64::from(before);
                let mut it = item(
                    "ttl",
                    false,
                    format!(
                        "TTL was lowered from {before} s to {ttl} s; resolvers may keep the old answer for {} s more",
                        safe - input.now
                    ),
                );
                it.safe_at = rfc3339(safe);
                it
            }
            _ => item("ttl", true, format!("TTL is {ttl} s")),
        },
    });
    items
}

/// The CA that DigitalOcean's Let's Encrypt certificates come from, as CAA records name it.
const LETS_ENCRYPT_CAA: &str = "letsencrypt.org";

/// The CAA records that apply to `name` (RFC 8659): those at the name itself, else at the
/// closest parent inside `zone` that has any.
fn relevant_caa<'a>(records: &'a [DomainRecord], zone: &str, name: &str) -> Vec<&'a DomainRecord> {
    let mut at = cutover_domain::normalize(name);
    loop {
        let short = if at == zone {
            "@".to_string()
        } else {
            at.strip_suffix(&format!(".{zone}"))
                .unwrap_or(&at)
                .to_string()
        };
        let here: Vec<&DomainRecord> = records
            .iter()
            .filter(|r| r.kind.eq_ignore_ascii_case("CAA") && r.name.eq_ignore_ascii_case(&short))
            .collect();
        if !here.is_empty() || at == zone || !at.ends_with(&format!(".{zone}")) {
            return here;
        }
        match at.split_once('.') {
            Some((_, parent)) => at = parent.to_string(),
            None => return here,
        }
    }
}

/// The issuer a CAA `issue`/`issuewild` value names (`letsencrypt.org; validationmethods=…`).
fn caa_issuer(data: &str) -> String {
    data.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether the CAA set lets Let's Encrypt issue for `name` (a wildcard is judged by `issuewild`
/// when there is one). No CAA record at all allows every CA.
fn caa_allows_lets_encrypt(caa: &[&DomainRecord], wildcard: bool) -> bool {
    let tagged = |tag: &str| -> Vec<&DomainRecord> {
        caa.iter()
            .copied()
            .filter(|r| {
                r.tag
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(tag))
            })
            .collect()
    };
    let mut set = if wildcard {
        tagged("issuewild")
    } else {
        Vec::new()
    };
    if set.is_empty() {
        set = tagged("issue");
    }
    set.is_empty() || set.iter().any(|r| caa_issuer(&r.data) == LETS_ENCRYPT_CAA)
}

/// What a DigitalOcean Let's Encrypt certificate on the load balancer needs from DNS (its zone at
/// DigitalOcean, CAA records that let Let's Encrypt issue), and the renewal warning when the
/// droplets serve different Let's Encrypt certificates of their own.
fn lets_encrypt_items(input: &ReadinessInput) -> Vec<ReadinessItem> {
    let mut items = Vec::new();
    let managed: Vec<&Certificate> = input
        .lb
        .forwarding_rules
        .iter()
        .filter_map(|r| r.certificate())
        .filter_map(|id| input.certificates.iter().find(|c| c.id == id))
        .filter(|c| c.kind == "lets_encrypt")
        .collect();
    if let Some(cert) = managed.first() {
        items.push(match &input.zone {
            Some(zone) => item(
                "lets_encrypt_zone",
                true,
                format!(
                    "{zone} is a DigitalOcean zone: DigitalOcean can renew Let's Encrypt certificate {}",
                    cert.name
                ),
            ),
            None => item(
                "lets_encrypt_zone",
                false,
                format!(
                    "Let's Encrypt certificate {} is renewed by DigitalOcean through DNS, and {} is not in a zone of this account: point the domain's nameservers at ns1.digitalocean.com, ns2 and ns3 and add the zone, or upload a custom certificate instead",
                    cert.name, input.domain
                ),
            ),
        });
        if let Some(zone) = &input.zone {
            let mut blocked: Vec<(String, Vec<String>)> = Vec::new();
            for c in &managed {
                for name in &c.dns_names {
                    let wildcard = name.starts_with("*.");
                    let base = name.trim_start_matches("*.");
                    let caa = relevant_caa(&input.zone_records, zone, base);
                    if !caa_allows_lets_encrypt(&caa, wildcard) {
                        let issuers = caa.iter().map(|r| caa_issuer(&r.data)).collect();
                        blocked.push((name.clone(), issuers));
                    }
                }
            }
            items.push(match blocked.first() {
                None => item(
                    "caa",
                    true,
                    format!("CAA records in {zone} allow Let's Encrypt (or there are none)"),
                ),
                Some((name, issuers)) => item(
                    "caa",
                    false,
                    format!(
                        "CAA records for {name} allow only {}: Let's Encrypt cannot issue or renew it. Add the record {zone}. CAA 0 issue \"{LETS_ENCRYPT_CAA}\" (or remove the CAA records)",
                        issuers.join(", ")
                    ),
                ),
            });
        }
    }
    if let Some(report) = &input.cert_report {
        let mut leaves: Vec<&str> = report
            .backends
            .iter()
            .filter_map(|b| b.probe.leaf())
            .filter(|leaf| cutover_certs::is_lets_encrypt(leaf))
            .map(|leaf| leaf.sha256.as_str())
            .collect();
        leaves.sort_unstable();
        leaves.dedup();
        if leaves.len() > 1 {
            items.push(item(
                "lets_encrypt_renewal",
                true,
                format!(
                    "Warning: the droplets serve {} different Let's Encrypt certificates. {}",
                    leaves.len(),
                    cutover_certs::LETS_ENCRYPT_BEHIND_LB
                ),
            ));
        }
    }
    items
}

/// The account's zone holding `domain` (the domain itself, else the closest parent) and its
/// records; `None` when no zone of the account holds it.
async fn zone_holding(
    conn: &Connection,
    domain: &str,
) -> Result<Option<(String, Vec<DomainRecord>)>, ApiError> {
    let mut at = domain.to_string();
    // A zone has at least two labels: stop before the top-level domain.
    while at.contains('.') {
        if let Some(records) = hosted_records(conn, &at).await? {
            return Ok(Some((at, records)));
        }
        match at.split_once('.') {
            Some((_, parent)) => at = parent.to_string(),
            None => break,
        }
    }
    Ok(None)
}

/// Gathers what [`readiness_items`] needs for `domain` and load balancer `lb_id`, running the
/// backend certificate check unless `cert_report` is given.
pub async fn readiness(
    conn: &Connection,
    domain: &str,
    lb_id: &str,
    cert_report: Option<FleetReport>,
    rehearsal_ok: Option<bool>,
    rollback_dir: Option<&Path>,
) -> Result<Vec<ReadinessItem>, ApiError> {
    let domain = normalize_domain(domain)?;
    let lb = crate::lb::find(conn, lb_id).await?;
    let certificates = conn.client.list_certificates().await?;
    let backends_serve_tls = crate::lb::tls_rule(&lb).is_some();
    let cert_report = match cert_report {
        Some(r) => Some(r),
        None if backends_serve_tls => Some(
            crate::certs::check_load_balancer(
                conn,
                lb_id,
                &domain,
                &crate::certs::CertCheckOptions::default(),
                |_| {},
            )
            .await?,
        ),
        None => None,
    };
    let records = hosted_records(conn, &domain).await?.unwrap_or_default();
    // The TTL that matters is that of the records the cutover changes (a `www` CNAME to the
    // apex is not changed: resolvers re-ask for the apex's A at its own TTL).
    let current_ttl = match lb.ip.parse::<IpAddr>() {
        Ok(ip) => {
            let p = plan(&records, &domain, &[], ip, LOW_TTL);
            p.ttl_step
                .iter()
                .flat_map(|s| s.changes.iter())
                .chain(p.changes.iter())
                .filter_map(|c| c.before.as_ref().map(|b| b.ttl))
                .max()
        }
        Err(_) => {
            let names = default_names();
            records
                .iter()
                .filter(|r| is_address_kind(&r.kind) && names.iter().any(|n| n == &r.name))
                .map(|r| r.ttl)
                .max()
        }
    };
    let ttl_lowered = match rollback_dir {
        Some(dir) => load_rollback(dir, &domain)?.and_then(|s| s.ttl_lowered),
        None => None,
    };
    // Only a load balancer with a DigitalOcean Let's Encrypt certificate needs the zone's CAA.
    let has_lets_encrypt = lb.forwarding_rules.iter().any(|r| {
        r.certificate().is_some_and(|id| {
            certificates
                .iter()
                .any(|c| c.id == id && c.kind == "lets_encrypt")
        })
    });
    let (zone, zone_records) = if has_lets_encrypt {
        match zone_holding(conn, &domain).await? {
            Some((zone, records)) => (Some(zone), records),
            None => (None, Vec::new()),
        }
    } else {
        (None, Vec::new())
    };
    Ok(readiness_items(&ReadinessInput {
        zone,
        zone_records,
        domain,
        lb,
        certificates,
        cert_report,
        backends_serve_tls,
        rehearsal_ok,
        current_ttl,
        ttl_lowered,
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

fn default_names() -> Vec<String> {
    vec!["@".to_string(), "www".to_string()]
}

fn is_address_kind(kind: &str) -> bool {
    matches!(kind, "A" | "AAAA" | "CNAME")
}

fn value_of(r: &DomainRecord) -> RecordValue {
    RecordValue {
        kind: r.kind.clone(),
        data: r.data.clone(),
        ttl: r.ttl,
    }
}

/// Whether CNAME data points at a name the plan moves too (so it follows without a change).
fn cname_follows(data: &str, domain: &str, names: &[String]) -> bool {
    let target = cutover_domain::normalize(data);
    names.iter().any(|n| {
        let full = fqdn(n, domain);
        (data == "@" && n == "@") || target == full
    })
}

/// The record changes that point `names` (default apex and `www`) of `domain` at `lb_ip` with
/// `ttl`. Per name: the first record of the right type (A for IPv4) is updated, a new one created
/// when there is none, and the other A/AAAA/CNAME records there deleted (a CNAME cannot sit next
/// to an A; a stale AAAA would send IPv6 clients around the load balancer). A CNAME to another
/// planned name is left alone: it follows. Pure.
pub fn plan(
    records: &[DomainRecord],
    domain: &str,
    names: &[String],
    lb_ip: IpAddr,
    ttl: u32,
) -> DnsPlan {
    plan_dual(records, domain, names, &[lb_ip], ttl)
}

/// [`plan`] for a load balancer with several addresses (a dual-stack one: its IPv4 and its
/// IPv6): each name gets one A record per IPv4 and one AAAA per IPv6 address — kept, updated or
/// created — and every other A/AAAA/CNAME there is deleted. An IPv6-only name list never
/// deletes the AAAA records of a dual-stack load balancer, which is what the single-address
/// plan did (IPv6 clients would then go around the load balancer, or nowhere).
pub fn plan_dual(
    records: &[DomainRecord],
    domain: &str,
    names: &[String],
    lb_ips: &[IpAddr],
    ttl: u32,
) -> DnsPlan {
    let domain = cutover_domain::normalize(domain);
    let names: Vec<String> = if names.is_empty() {
        default_names()
    } else {
        names
            .iter()
            .map(|n| {
                let n = cutover_domain::normalize(n);
                if n == domain {
                    "@".to_string()
                } else {
                    n.strip_suffix(&format!(".{domain}"))
                        .map(str::to_string)
                        .unwrap_or(n)
                }
            })
            .collect()
    };
    // DigitalOcean refuses a TTL under 30 s.
    let ttl = ttl.max(DO_MIN_TTL);
    let kind_of = |ip: &IpAddr| if ip.is_ipv4() { "A" } else { "AAAA" };
    let targets: Vec<(&str, String)> = lb_ips
        .iter()
        .map(|ip| (kind_of(ip), ip.to_string()))
        .collect();
    let mut changes = Vec::new();
    let mut rollback = Vec::new();
    let mut ttl_changes = Vec::new();
    let mut wait = 0u32;
    for name in &names {
        let here: Vec<&DomainRecord> = records
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(name) && is_address_kind(&r.kind))
            .collect();
        rollback.extend(here.iter().map(|r| (*r).clone()));
        let is_follow = here.len() == 1
            && here[0].kind == "CNAME"
            && name != "@"
            && cname_follows(&here[0].data, &domain, &names);
        if is_follow {
            continue;
        }
        let mut kept: Vec<u64> = Vec::new();
        for (kind, lb) in &targets {
            // The record already holding this address, else the first of this kind not yet
            // claimed by another address.
            let keep = here
                .iter()
                .find(|r| r.kind == *kind && &r.data == lb && !kept.contains(&r.id))
                .or_else(|| {
                    here.iter()
                        .find(|r| r.kind == *kind && !kept.contains(&r.id))
                })
                .copied();
            let after = RecordValue {
                kind: kind.to_string(),
                data: lb.clone(),
                ttl,
            };
            match keep {
                Some(r) if &r.data == lb && r.ttl == ttl => {}
                Some(r) => changes.push(RecordChange {
                    name: name.clone(),
                    action: ChangeAction::Update,
                    record_id: Some(r.id),
                    before: Some(value_of(r)),
                    after: Some(after),
                }),
                None => changes.push(RecordChange {
                    name: name.clone(),
                    action: ChangeAction::Create,
                    record_id: None,
                    before: None,
                    after: Some(after),
                }),
            }
            if let Some(r) = keep {
                kept.push(r.id);
            }
        }
        for r in here.iter().filter(|r| !kept.contains(&r.id)) {
            changes.push(RecordChange {
                name: name.clone(),
                action: ChangeAction::Delete,
                record_id: Some(r.id),
                before: Some(value_of(r)),
                after: None,
            });
        }
        for r in &here {
            if r.ttl > ttl {
                wait = wait.max(r.ttl);
                ttl_changes.push(RecordChange {
                    name: name.clone(),
                    action: ChangeAction::Update,
                    record_id: Some(r.id),
                    before: Some(value_of(r)),
                    after: Some(RecordValue { ttl, ..value_of(r) }),
                });
            }
        }
    }
    let provider_records = names
        .iter()
        .flat_map(|n| {
            targets
                .iter()
                .map(|(kind, lb)| format!("{} {ttl} IN {kind} {lb}", fqdn(n, &domain)))
                .collect::<Vec<_>>()
        })
        .collect();
    let lb_ip = lb_ips
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(lb_ips.first())
        .map(IpAddr::to_string)
        .unwrap_or_default();
    let lb_ipv6 = lb_ips
        .iter()
        .find(|ip| ip.is_ipv6())
        .filter(|_| lb_ips.iter().any(IpAddr::is_ipv4))
        .map(IpAddr::to_string);
    DnsPlan {
        domain,
        lb_ip,
        lb_ipv6,
        ttl,
        names,
        changes,
        ttl_step: (!ttl_changes.is_empty()).then_some(TtlStep {
            changes: ttl_changes,
            wait_secs: wait,
        }),
        rollback,
        provider_records,
    }
}

/// What public DNS cannot point at, said before anything is planned: an internal load balancer
/// has no public address; a global load balancer's domain that DigitalOcean manages gets its
/// records from DigitalOcean, not from a cutover.
pub fn refuse_unreachable_from_the_internet(
    lb: &cutover_digitalocean::LoadBalancer,
    domain: &str,
) -> Result<(), ApiError> {
    if lb
        .network
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case("INTERNAL"))
    {
        return Err(ApiError::invalid_input(format!(
            "Load balancer \"{}\" is internal (network INTERNAL): it has no public address, so public DNS cannot point at it and nothing outside its VPC can verify it. Use an external load balancer for {domain}.",
            lb.name
        ))
        .with_details(serde_json::json!({ "field": "lb", "reason": "internal" })));
    }
    if let Some(managed) = lb.domains.iter().flatten().find(|d| {
        d.is_managed == Some(true) && d.name.trim_end_matches('.').eq_ignore_ascii_case(domain)
    }) {
        return Err(ApiError::invalid_input(format!(
            "DigitalOcean manages the records of {} for global load balancer \"{}\" (is_managed): there is nothing to cut over by hand.",
            managed.name, lb.name
        ))
        .with_details(serde_json::json!({ "field": "domain", "reason": "managed_by_digitalocean" })));
    }
    Ok(())
}

/// Reads the domain's records and load balancer `lb_id`'s IP, and plans.
pub async fn plan_for(
    conn: &Connection,
    domain: &str,
    lb_id: &str,
    names: &[String],
    ttl: Option<u32>,
) -> Result<DnsPlan, ApiError> {
    let domain = normalize_domain(domain)?;
    let lb = crate::lb::find(conn, lb_id).await?;
    refuse_unreachable_from_the_internet(&lb, &domain)?;
    // A dual-stack load balancer also answers on its IPv6: point AAAA records at it.
    let targets = addresses_of(&lb)?;
    let records = hosted_records(conn, &domain).await?.unwrap_or_default();
    Ok(plan_dual(
        &records,
        &domain,
        names,
        &targets,
        ttl.unwrap_or(LOW_TTL),
    ))
}

// ---------------------------------------------------------------------------------------------
// Apply and rollback
// ---------------------------------------------------------------------------------------------

/// `<dir>/dns-rollback-<domain>.json`.
pub fn rollback_path(dir: &Path, domain: &str) -> PathBuf {
    // The domain was checked by `normalize_domain`; separators are replaced all the same, so
    // no name can reach outside `dir` (a backslash on Windows, a slash anywhere).
    let safe: String = cutover_domain::normalize(domain)
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    dir.join(format!("dns-rollback-{safe}.json"))
}

fn save_rollback(dir: &Path, set: &RollbackSet) -> Result<PathBuf, ApiError> {
    let path = rollback_path(dir, &set.domain);
    let bytes = serde_json::to_vec_pretty(set)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("rollback set: {e}")))?;
    std::fs::create_dir_all(dir).map_err(|e| crate::files::write_error(&path, &e))?;
    crate::files::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// The saved rollback set of `domain`, if a cutover left one.
pub fn load_rollback(dir: &Path, domain: &str) -> Result<Option<RollbackSet>, ApiError> {
    let path = rollback_path(dir, &normalize_domain(domain)?);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("{} is not a rollback file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn request_for(name: &str, v: &RecordValue) -> DomainRecordRequest {
    DomainRecordRequest {
        ttl: Some(v.ttl),
        ..DomainRecordRequest::simple(v.kind.clone(), name, v.data.clone())
    }
}

/// `fresh`: the rollback set was started by this apply (no earlier cutover of the domain left
/// one); when a failure leaves nothing changed, its file is removed again, so the app offers no
/// rollback of a cutover that did not happen. `save` writes the rollback file after each change
/// ([`save_rollback`]; a seam for tests).
async fn apply_changes(
    conn: &Connection,
    domain: &str,
    changes: &[RecordChange],
    set: &mut RollbackSet,
    dir: &Path,
    fresh: bool,
    mut save: impl FnMut(&Path, &RollbackSet) -> Result<PathBuf, ApiError>,
) -> Result<Vec<RecordChange>, ApiError> {
    let mut applied = Vec::new();
    for change in changes {
        let done = match (change.action, change.record_id, &change.after) {
            (ChangeAction::Create, _, Some(after)) => conn
                .client
                .create_domain_record(domain, &request_for(&change.name, after))
                .await
                .map(|r| {
                    set.created.push(r.id);
                }),
            (ChangeAction::Update, Some(id), Some(after)) => conn
                .client
                .update_domain_record(domain, id, &request_for(&change.name, after))
                .await
                .map(|_| ()),
            (ChangeAction::Delete, Some(id), _) => {
                conn.client.delete_domain_record(domain, id).await
            }
            _ => {
                return Err(ApiError::new(
                    ErrorCode::Internal,
                    format!("malformed change for {}", change.name),
                ))
            }
        };
        let (err, what) = match done {
            Ok(()) => {
                applied.push(change.clone());
                // Keep the file in step: a crash now still knows what to delete. A cutover whose
                // file cannot keep up (a full disk) is undone while this run still knows how.
                match save(dir, set) {
                    Ok(_) => continue,
                    Err(err) => {
                        let what = format!("could not update the rollback file ({})", err.message);
                        (err, what)
                    }
                }
            }
            Err(e) => {
                let err = ApiError::from(e);
                let what = format!(
                    "the API refused the {:?} of {} ({})",
                    change.action,
                    fqdn(&change.name, domain),
                    err.message
                );
                (err, what)
            }
        };
        let undone = if applied.is_empty() {
            Ok(())
        } else {
            rollback(conn, set).await.map(|_| ())
        };
        if undone.is_ok() && fresh {
            let _ = std::fs::remove_file(rollback_path(dir, domain));
        }
        let tail = match undone {
            Ok(()) if applied.is_empty() => "nothing was changed".to_string(),
            Ok(()) => format!("the {} change(s) already made were rolled back", applied.len()),
            Err(r) => format!(
                "rolling back the {} change(s) already made failed too ({}); the saved records are in {}",
                applied.len(),
                r.message,
                rollback_path(dir, domain).display()
            ),
        };
        return Err(ApiError {
            message: format!("{what}: {tail}"),
            ..err
        });
    }
    Ok(applied)
}

fn new_set(plan: &DnsPlan) -> RollbackSet {
    RollbackSet {
        domain: plan.domain.clone(),
        saved: plan.rollback.clone(),
        created: Vec::new(),
        started_at: rfc3339(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or_default(),
        ttl_lowered: None,
    }
}

/// Applies `plan`'s changes through the Domains API. The rollback set is saved to `dir` before
/// the first write (an earlier, unfinished set of the same domain is kept: it holds the records
/// from before any change). When the API refuses one change, the earlier ones are rolled back.
pub async fn apply(conn: &Connection, plan: &DnsPlan, dir: &Path) -> Result<ApplyResult, ApiError> {
    apply_step(conn, plan, &plan.changes, None, dir).await
}

/// One step of a cutover (the switch, or the TTL-only first step, which also records when the
/// TTL was lowered): the rollback set saved before the first write, then the changes.
async fn apply_step(
    conn: &Connection,
    plan: &DnsPlan,
    changes: &[RecordChange],
    ttl_lowered: Option<(i64, u32)>,
    dir: &Path,
) -> Result<ApplyResult, ApiError> {
    let existing = load_rollback(dir, &plan.domain)?;
    let fresh = existing.is_none();
    let mut set = existing.unwrap_or_else(|| new_set(plan));
    if ttl_lowered.is_some() {
        set.ttl_lowered = ttl_lowered;
    }
    let path = save_rollback(dir, &set)?;
    // Journaled before and after, like a load-balancer edit (issue 16).
    let entry = crate::journal::dns_entry(
        &conn.account_name,
        crate::journal::ChangeKind::DnsApply,
        &plan.domain,
        &plan.lb_ip,
        serde_json::to_value(&plan.rollback).ok(),
        crate::journal::dns_changes(&plan.domain, changes),
    );
    let applied = crate::journal::journaled_dns(
        conn.journal.as_ref(),
        entry,
        apply_changes(
            conn,
            &plan.domain,
            changes,
            &mut set,
            dir,
            fresh,
            save_rollback,
        ),
    )
    .await?;
    Ok(ApplyResult {
        applied,
        rollback_file: path.display().to_string(),
    })
}

/// What the user decided when applying a reviewed plan.
#[derive(Debug, Clone, Default)]
pub struct ApplyGuard {
    /// Only lower the TTL (the plan's first step). Exempt from the readiness gate: it points
    /// nothing anywhere new.
    pub ttl_step_only: bool,
    /// Apply although readiness items are red.
    pub force: bool,
    /// On a protected account: the domain, as the user typed it.
    pub confirm: Option<String>,
    /// The outcome of a rehearsal test request, when one was made (a readiness item).
    pub rehearsal_ok: Option<bool>,
    /// Readiness this process computed just before (the CLI shows it with the plan); `None`
    /// computes it here. Never taken from the webview: the app passes `None`.
    pub readiness: Option<Vec<ReadinessItem>>,
}

/// The one way both front ends write DNS: applies `reviewed` (the plan the user saw) for load
/// balancer `lb_id`. In order, it refuses
/// - on a protected account, unless the domain was typed (`guard.confirm`);
/// - when the records or the load balancer's address changed since the review (`conflict`:
///   the user must see the diff that is applied);
/// - while readiness items are red, unless forced (`not_ready`, the red ids in `details`);
///
/// then saves the rollback set and applies.
pub async fn apply_reviewed(
    session: &crate::session::Session,
    lb_id: &str,
    reviewed: &DnsPlan,
    guard: &ApplyGuard,
    dir: &Path,
) -> Result<ApplyResult, ApiError> {
    let conn = &session.connection;
    session.require_typed(
        &format!("the DNS change of {}", reviewed.domain),
        &reviewed.domain,
        guard.confirm.as_deref(),
    )?;
    let fresh = plan_for(
        conn,
        &reviewed.domain,
        lb_id,
        &reviewed.names,
        Some(reviewed.ttl),
    )
    .await?;
    if fresh.changes != reviewed.changes
        || fresh.ttl_step != reviewed.ttl_step
        || fresh.lb_ip != reviewed.lb_ip
        || fresh.lb_ipv6 != reviewed.lb_ipv6
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "The records of {} changed since the plan was made: review the new plan; nothing was changed.",
                reviewed.domain
            ),
        ));
    }
    if guard.ttl_step_only {
        return apply_ttl_step(conn, &fresh, dir).await;
    }
    if fresh.changes.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "Nothing to change: the names of {} already point at the load balancer.",
            fresh.domain
        )));
    }
    if !guard.force {
        let items = match &guard.readiness {
            Some(items) => items.clone(),
            None => {
                readiness(
                    conn,
                    &fresh.domain,
                    lb_id,
                    None,
                    guard.rehearsal_ok,
                    Some(dir),
                )
                .await?
            }
        };
        let red: Vec<&ReadinessItem> = items.iter().filter(|i| !i.ok).collect();
        if !red.is_empty() {
            return Err(ApiError::new(
                ErrorCode::NotReady,
                format!(
                    "Not applied: {} readiness item(s) are not green ({}); fix them, or apply anyway (force).",
                    red.len(),
                    red.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_details(serde_json::json!({ "readiness": items })));
        }
    }
    apply(conn, &fresh, dir).await
}

/// Restores the saved records of `domain` (the one way both front ends roll back): on a
/// protected account only with the domain typed. Returns the number of API writes.
pub async fn rollback_confirmed(
    session: &crate::session::Session,
    domain: &str,
    confirm: Option<&str>,
    dir: &Path,
) -> Result<u32, ApiError> {
    session.require_typed(&format!("the rollback of {domain}"), domain, confirm)?;
    rollback_from_dir(&session.connection, domain, dir).await
}

/// The address of load balancer `lb` (id or unique name), for status and plans.
pub async fn lb_address(conn: &Connection, lb: &str) -> Result<IpAddr, ApiError> {
    let lb = crate::lb::find(conn, lb).await?;
    Ok(addresses_of(&lb)?[0])
}

/// Every address DNS must answer for load balancer `lb` (id or name): its IPv4 and, when it is
/// dual-stack, its IPv6 — a name pointing one family elsewhere does not point at it.
pub async fn lb_addresses(conn: &Connection, lb: &str) -> Result<Vec<IpAddr>, ApiError> {
    let lb = crate::lb::find(conn, lb).await?;
    addresses_of(&lb)
}

/// The IPv4 first, then the IPv6 when there is one.
fn addresses_of(lb: &LoadBalancer) -> Result<Vec<IpAddr>, ApiError> {
    let ip: IpAddr = lb.ip.trim().parse().map_err(|_| {
        ApiError::new(
            ErrorCode::Conflict,
            format!(
                "Load balancer \"{}\" has no IP address yet: wait until it is active.",
                lb.name
            ),
        )
    })?;
    let mut ips = vec![ip];
    if let Some(v6) = lb
        .ipv6
        .as_deref()
        .and_then(|s| s.trim().parse::<std::net::Ipv6Addr>().ok())
    {
        ips.push(IpAddr::V6(v6));
    }
    Ok(ips)
}

/// Applies only the plan's TTL step, and records when, so [`readiness`] can say when it is safe.
pub async fn apply_ttl_step(
    conn: &Connection,
    plan: &DnsPlan,
    dir: &Path,
) -> Result<ApplyResult, ApiError> {
    let Some(step) = &plan.ttl_step else {
        return Err(ApiError::invalid_input(
            "the TTL is already low: there is no TTL step to apply",
        ));
    };
    let lowered = (
        time::OffsetDateTime::now_utc().unix_timestamp(),
        step.wait_secs,
    );
    apply_step(conn, plan, &step.changes, Some(lowered), dir).await
}

/// Restores the saved records: deletes what the cutover created, puts back what it changed or
/// deleted. Returns how many API writes it made. Idempotent: running it twice changes nothing
/// the second time.
pub async fn rollback(conn: &Connection, saved: &RollbackSet) -> Result<u32, ApiError> {
    // Journaled before and after (issue 16): what is put back, and how many writes it took.
    let entry = crate::journal::dns_entry(
        &conn.account_name,
        crate::journal::ChangeKind::DnsRollback,
        &saved.domain,
        "",
        None,
        crate::journal::dns_restores(saved),
    );
    crate::journal::journaled_dns(conn.journal.as_ref(), entry, rollback_records(conn, saved)).await
}

async fn rollback_records(conn: &Connection, saved: &RollbackSet) -> Result<u32, ApiError> {
    let domain = &saved.domain;
    let current = conn.client.list_domain_records(domain).await?;
    let mut writes = 0;
    for id in &saved.created {
        if current.iter().any(|r| r.id == *id) {
            conn.client.delete_domain_record(domain, *id).await?;
            writes += 1;
        }
    }
    for r in &saved.saved {
        match current.iter().find(|c| c.id == r.id) {
            Some(c)
                if c.kind == r.kind && c.data == r.data && c.ttl == r.ttl && c.name == r.name => {}
            Some(_) => {
                conn.client
                    .update_domain_record(domain, r.id, &DomainRecordRequest::from(r))
                    .await?;
                writes += 1;
            }
            None => {
                conn.client
                    .create_domain_record(domain, &DomainRecordRequest::from(r))
                    .await?;
                writes += 1;
            }
        }
    }
    Ok(writes)
}

/// Deletes the saved rollback set of `domain` once the cutover is to be kept: a later cutover
/// must start from the records as they are then, not from those before this one. Returns
/// whether there was one.
pub fn forget_rollback(dir: &Path, domain: &str) -> Result<bool, ApiError> {
    let domain = normalize_domain(domain)?;
    match std::fs::remove_file(rollback_path(dir, &domain)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Rolls back from the file in `dir` and removes it.
pub async fn rollback_from_dir(
    conn: &Connection,
    domain: &str,
    dir: &Path,
) -> Result<u32, ApiError> {
    let domain = normalize_domain(domain)?;
    let set = load_rollback(dir, &domain)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no saved records for {domain} in {}: nothing to roll back",
                dir.display()
            ),
        )
    })?;
    let writes = rollback(conn, &set).await?;
    std::fs::remove_file(rollback_path(dir, &domain))?;
    Ok(writes)
}

// ---------------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------------

/// Polls the authoritative nameservers until every planned name answers the load balancer's IP
/// (or `opts.timeout` passes), then makes an HTTPS request to the domain at that address. A
/// timeout is not an error: the result says so, the change stays, and rollback is the user's
/// choice.
pub async fn verify(
    conn: &Connection,
    plan: &DnsPlan,
    nameserver: Option<SocketAddr>,
    opts: &VerifyOptions,
    mut progress: impl FnMut(&VerifyProgress),
) -> Result<VerifyResult, ApiError> {
    let servers = authoritative_servers(conn, nameserver, &plan.domain).await?;
    let resolver = direct_resolver(&servers);
    let lb_ip: IpAddr = plan
        .lb_ip
        .parse()
        .map_err(|_| ApiError::invalid_input(format!("{} is not an IP address", plan.lb_ip)))?;
    let mut lb_ips = vec![lb_ip];
    if let Some(v6) = plan.lb_ipv6.as_deref() {
        lb_ips.push(
            v6.parse()
                .map_err(|_| ApiError::invalid_input(format!("{v6} is not an IPv6 address")))?,
        );
    }
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut attempt = 0u32;
    let views = loop {
        attempt += 1;
        let views = view_names(
            &plan.names,
            &plan.domain,
            &resolver,
            None,
            "not asked while verifying",
            &lb_ips,
        )
        .await;
        // A proxied name will never answer the load balancer's address: not waited for.
        let (ready, waiting): (Vec<&NameView>, Vec<&NameView>) = views
            .iter()
            .partition(|v| v.points_to_lb || v.proxied.is_some());
        progress(&VerifyProgress {
            attempt,
            ready: ready.iter().map(|v| v.name.clone()).collect(),
            waiting: waiting.iter().map(|v| v.name.clone()).collect(),
        });
        if waiting.is_empty() || tokio::time::Instant::now() + opts.interval > deadline {
            break views;
        }
        tokio::time::sleep(opts.interval).await;
    };
    let unconfirmed: Vec<String> = views
        .iter()
        .filter(|v| !v.points_to_lb && v.proxied.is_some())
        .map(|v| v.name.clone())
        .collect();
    let dns_ok = views.iter().all(|v| v.points_to_lb || v.proxied.is_some());
    if !dns_ok {
        // Each waiting name with the addresses it does not answer yet (on a dual-stack load
        // balancer it may be only the AAAA).
        let waiting: Vec<String> = views
            .iter()
            .filter(|v| !v.points_to_lb && v.proxied.is_none())
            .map(|v| {
                let missing: Vec<String> = lb_ips
                    .iter()
                    .filter(|ip| !v.authoritative.iter().any(|a| a.data == ip.to_string()))
                    .map(|ip| format!("{} {ip}", if ip.is_ipv4() { "A" } else { "AAAA" }))
                    .collect();
                format!("{} ({})", v.name, missing.join(", "))
            })
            .collect();
        return Ok(VerifyResult {
            unconfirmed,
            dns_ok,
            attempts: attempt,
            names: views.clone(),
            https: None,
            https_skipped: Some("DNS does not answer the new address yet".to_string()),
            message: format!(
                "the nameservers did not answer the load balancer's address for {} within {} s; the change is kept — verify again later, or roll back",
                waiting.join("; "),
                opts.timeout.as_secs()
            ),
        });
    }
    let (https, skipped) = match (opts.https_addr, conn.is_sandbox()) {
        (None, true) => (
            None,
            Some(
                "the Sandbox's load balancer IP is not reachable; no HTTPS request was made"
                    .to_string(),
            ),
        ),
        (addr, _) => {
            let addr = addr.unwrap_or(SocketAddr::new(lb_ip, 443));
            (
                Some(https_check(&plan.domain, addr, opts.ca_pem.as_deref()).await),
                None,
            )
        }
    };
    let message = match &https {
        Some(h) if !h.ok => format!(
            "DNS answers {} at the nameservers, but the HTTPS request failed: {}",
            plan.lb_ip,
            h.error
                .clone()
                .unwrap_or_else(|| format!("status {:?}", h.status))
        ),
        _ if !unconfirmed.is_empty() => format!(
            "the nameservers answer {} where they can be seen; {} {}",
            plan.lb_ip,
            unconfirmed.join(", "),
            PROXIED_BY_CLOUDFLARE
        ),
        _ => format!("the nameservers answer {} for every name", plan.lb_ip),
    };
    Ok(VerifyResult {
        unconfirmed,
        dns_ok,
        attempts: attempt,
        names: views,
        https,
        https_skipped: skipped,
        message,
    })
}

/// A GET of `https://domain/` connected to `addr`, the certificate checked for `domain`
/// ([`crate::https_probe::https_probe`]); a 2xx or 3xx answer is `ok`.
async fn https_check(domain: &str, addr: SocketAddr, ca_pem: Option<&str>) -> HttpsCheck {
    match crate::https_probe::https_probe(domain, "/", addr, ca_pem).await {
        Ok(answer) => HttpsCheck {
            ok: (200..400).contains(&answer.status),
            status: Some(answer.status),
            url: answer.url,
            addr: answer.via,
            error: None,
            certificate: answer.certificate,
        },
        Err(err) => HttpsCheck {
            url: format!("https://{domain}/"),
            addr: addr.to_string(),
            status: None,
            ok: false,
            // The chain of causes says which: refused, timed out, certificate.
            error: Some(
                err.details
                    .as_ref()
                    .and_then(|d| d.get("cause"))
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
                    .unwrap_or(err.message),
            ),
            certificate: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone's own nameservers are found by its NS records (walking up from a subdomain) and
    /// their addresses; names that resolve nowhere (DigitalOcean's, from a test's own server)
    /// are left out. All DNS goes to the Sandbox's server on 127.0.0.1.
    #[tokio::test]
    async fn the_zones_own_nameservers_are_its_ns_records_addresses() {
        crate::init_tls();
        let sb = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sb).unwrap();
        let zone = cutover_sandbox::DOMAIN;
        for (kind, name, data) in [
            ("NS", "@", format!("ns.{zone}.")),
            ("A", "ns", "127.0.0.1".to_string()),
        ] {
            conn.client
                .create_domain_record(zone, &DomainRecordRequest::simple(kind, name, data))
                .await
                .unwrap();
        }
        let dns = sb.dns_addr();
        let resolver = direct_resolver(&[dns]);
        let found = zone_nameservers(&resolver, &format!("deep.www.{zone}"), dns.port()).await;
        assert_eq!(found, [SocketAddr::new([127, 0, 0, 1].into(), dns.port())]);
        // A name under no zone the server knows: nothing, not an error.
        assert!(zone_nameservers(&resolver, "nowhere.invalid", dns.port())
            .await
            .is_empty());
        sb.shutdown().await;
    }

    fn rec(id: u64, kind: &str, name: &str, data: &str, ttl: u32) -> DomainRecord {
        DomainRecord {
            id,
            kind: kind.into(),
            name: name.into(),
            data: data.into(),
            ttl,
            ..DomainRecord::default()
        }
    }

    fn seed() -> Vec<DomainRecord> {
        vec![
            rec(1, "SOA", "@", "1800", 1800),
            rec(2, "NS", "@", "ns1.digitalocean.com", 1800),
            rec(5, "A", "@", "192.0.2.11", 3600),
            rec(6, "CNAME", "www", "@", 3600),
            rec(7, "A", "blog", "192.0.2.50", 3600),
            rec(9, "TXT", "@", "v=spf1 -all", 3600),
        ]
    }

    const LB: &str = "203.0.113.9";

    #[test]
    fn a_dual_stack_load_balancer_gets_its_aaaa_records_not_their_deletion() {
        let v6: IpAddr = "2001:db8:1::10".parse().unwrap();
        let records = vec![
            rec(5, "A", "@", "192.0.2.11", 300),
            rec(8, "AAAA", "@", "2001:db8::1", 300),
            rec(9, "A", "www", "192.0.2.11", 300),
        ];
        let p = plan_dual(&records, "example.com", &[], &[lb_ip(), v6], 300);
        assert_eq!(p.lb_ip, lb_ip().to_string());
        assert_eq!(p.lb_ipv6.as_deref(), Some("2001:db8:1::10"));
        let at = |name: &str, kind: &str| {
            p.changes
                .iter()
                .find(|c| c.name == name && c.after.as_ref().is_some_and(|a| a.kind == kind))
                .map(|c| (c.action, c.after.as_ref().map(|a| a.data.clone())))
        };
        // The apex's AAAA is pointed at the load balancer's IPv6, not deleted.
        assert_eq!(
            at("@", "AAAA"),
            Some((ChangeAction::Update, Some("2001:db8:1::10".to_string())))
        );
        // www had no AAAA: one is created.
        assert_eq!(
            at("www", "AAAA"),
            Some((ChangeAction::Create, Some("2001:db8:1::10".to_string())))
        );
        assert!(
            !p.changes.iter().any(|c| c.action == ChangeAction::Delete),
            "{:?}",
            p.changes
        );
        // Rollback restores both families.
        assert!(p.rollback.iter().any(|r| r.kind == "AAAA"));
        assert!(p
            .provider_records
            .iter()
            .any(|l| l.contains("IN AAAA 2001:db8:1::10")));

        // IPv4 only: the stale AAAA is deleted (it would send IPv6 clients around the LB).
        let p = plan_dual(&records, "example.com", &[], &[lb_ip()], 300);
        assert!(p.lb_ipv6.is_none());
        assert!(p
            .changes
            .iter()
            .any(|c| c.action == ChangeAction::Delete && c.record_id == Some(8)));
    }

    /// One domain check for every DNS job: what DNS cannot carry is refused with the reason,
    /// and no domain can put a rollback file outside its folder.
    #[test]
    fn domains_are_checked_once_and_rollback_files_stay_in_their_folder() {
        assert_eq!(normalize_domain(" Example.COM. ").unwrap(), "example.com");
        for bad in [
            "ex:ample.com",
            "*.example.com",
            "..\\..\\evil.com",
            "a/b.com",
            "localhost",
        ] {
            let err = normalize_domain(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
            assert_eq!(err.details.as_ref().unwrap()["field"], "domain");
        }
        let long = format!("{}.example.com", "a".repeat(64));
        assert!(normalize_domain(&long)
            .unwrap_err()
            .message
            .contains("at most 63"));
        assert!(normalize_domain("bücher.example")
            .unwrap_err()
            .message
            .contains("punycode"));
        let dir = std::path::Path::new("/state");
        let path = rollback_path(dir, "..\\..\\evil/x.com");
        assert_eq!(path.parent(), Some(dir));
    }

    #[test]
    fn internal_and_managed_domains_are_said_up_front() {
        let internal: cutover_digitalocean::LoadBalancer = serde_json::from_value(
            serde_json::json!({"id": "x", "name": "private", "network": "INTERNAL", "ip": "10.0.0.5"}),
        )
        .unwrap();
        let err = refuse_unreachable_from_the_internet(&internal, "example.com").unwrap_err();
        assert!(err.message.contains("internal"), "{}", err.message);
        let glb: cutover_digitalocean::LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "g", "name": "global", "type": "GLOBAL",
            "domains": [{"name": "example.com", "is_managed": true}]
        }))
        .unwrap();
        let err = refuse_unreachable_from_the_internet(&glb, "example.com").unwrap_err();
        assert!(
            err.message.contains("manages the records"),
            "{}",
            err.message
        );
        refuse_unreachable_from_the_internet(&glb, "other.example").unwrap();
    }

    fn lb_ip() -> IpAddr {
        LB.parse().unwrap()
    }

    #[test]
    fn the_apex_is_updated_and_a_www_cname_to_it_follows() {
        let p = plan(&seed(), "example.com", &[], lb_ip(), 300);
        assert_eq!(p.names, ["@", "www"]);
        assert_eq!(p.changes.len(), 1);
        let c = &p.changes[0];
        assert_eq!(
            (c.name.as_str(), c.action, c.record_id),
            ("@", ChangeAction::Update, Some(5))
        );
        assert_eq!(c.before.as_ref().unwrap().data, "192.0.2.11");
        assert_eq!(
            c.after.as_ref().unwrap(),
            &RecordValue {
                kind: "A".into(),
                data: LB.into(),
                ttl: 300
            }
        );
        // The rollback set holds exactly the address records at the planned names.
        let ids: Vec<u64> = p.rollback.iter().map(|r| r.id).collect();
        assert_eq!(ids, [5, 6]);
        assert_eq!(
            p.provider_records,
            [
                format!("example.com 300 IN A {LB}"),
                format!("www.example.com 300 IN A {LB}")
            ]
        );
    }

    #[test]
    fn a_ttl_step_lowers_every_high_ttl_first() {
        let p = plan(&seed(), "example.com", &[], lb_ip(), 300);
        let step = p.ttl_step.unwrap();
        assert_eq!(step.wait_secs, 3600);
        let ids: Vec<(u64, u32)> = step
            .changes
            .iter()
            .map(|c| (c.record_id.unwrap(), c.after.as_ref().unwrap().ttl))
            .collect();
        // www's CNAME is not in the step: it keeps pointing at the apex, whose A record is what
        // resolvers re-ask for.
        assert_eq!(ids, [(5, 300)]);
        // Only the TTL changes in the step.
        assert_eq!(step.changes[0].after.as_ref().unwrap().data, "192.0.2.11");
        let low: Vec<DomainRecord> = seed()
            .into_iter()
            .map(|mut r| {
                r.ttl = 60;
                r
            })
            .collect();
        assert!(plan(&low, "example.com", &[], lb_ip(), 300)
            .ttl_step
            .is_none());
    }

    #[test]
    fn missing_names_are_created_and_conflicting_records_deleted() {
        let records = vec![
            rec(5, "A", "@", "192.0.2.11", 300),
            rec(8, "AAAA", "@", "2001:db8::1", 300),
            rec(6, "CNAME", "shop", "elsewhere.example.org.", 300),
        ];
        let names = vec![
            "@".to_string(),
            "shop.example.com".to_string(),
            "new".to_string(),
        ];
        let p = plan(&records, "example.com", &names, lb_ip(), 300);
        assert_eq!(p.names, ["@", "shop", "new"]);
        let got: Vec<(&str, ChangeAction, Option<u64>)> = p
            .changes
            .iter()
            .map(|c| (c.name.as_str(), c.action, c.record_id))
            .collect();
        assert_eq!(
            got,
            [
                ("@", ChangeAction::Update, Some(5)),
                ("@", ChangeAction::Delete, Some(8)),
                ("shop", ChangeAction::Create, None),
                ("shop", ChangeAction::Delete, Some(6)),
                ("new", ChangeAction::Create, None),
            ]
        );
        assert!(p.ttl_step.is_none());
    }

    #[test]
    fn an_already_switched_domain_needs_no_change() {
        let records = vec![rec(5, "A", "@", LB, 300), rec(6, "A", "www", LB, 300)];
        let p = plan(&records, "example.com", &[], lb_ip(), 300);
        assert!(p.changes.is_empty());
        assert_eq!(p.rollback.len(), 2);
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("*.example.com", "www.example.com"));
        assert!(!name_covers("*.example.com", "example.com"));
        assert!(!name_covers("*.example.com", "a.b.example.com"));
        assert!(name_covers("Example.com.", "example.com"));
    }

    fn lb(status: &str, rules: serde_json::Value) -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "lb1", "name": "shop", "status": status, "ip": LB, "forwarding_rules": rules,
        }))
        .unwrap()
    }

    fn passthrough() -> serde_json::Value {
        serde_json::json!([{ "entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
            "target_port": 443, "certificate_id": "", "tls_passthrough": true }])
    }

    fn input(lb: LoadBalancer) -> ReadinessInput {
        ReadinessInput {
            domain: "example.com".into(),
            lb,
            cert_report: Some(cutover_certs::build_report("example.com", Vec::new())),
            backends_serve_tls: true,
            current_ttl: Some(300),
            now: 1_000_000,
            ..ReadinessInput::default()
        }
    }

    fn get<'a>(items: &'a [ReadinessItem], id: &str) -> &'a ReadinessItem {
        items.iter().find(|i| i.id == id).unwrap()
    }

    #[test]
    fn readiness_rules() {
        let ok = readiness_items(&input(lb("active", passthrough())));
        assert_eq!(ok.len(), 5);
        assert!(ok.iter().all(|i| i.ok), "{ok:?}");

        let new = readiness_items(&input(lb("new", passthrough())));
        assert!(!get(&new, "lb_active").ok);

        // An HTTPS rule whose certificate does not cover the domain.
        let rules = serde_json::json!([{ "entry_protocol": "https", "entry_port": 443,
            "target_protocol": "http", "target_port": 80, "certificate_id": "c1" }]);
        let mut i = input(lb("active", rules));
        i.certificates = vec![serde_json::from_value(serde_json::json!({
            "id": "c1", "name": "blog", "dns_names": ["blog.example.com"] }))
        .unwrap()];
        i.backends_serve_tls = false;
        assert!(!get(&readiness_items(&i), "rules_serve_domain").ok);
        i.certificates[0].dns_names.push("example.com".into());
        assert!(get(&readiness_items(&i), "rules_serve_domain").ok);
        assert!(
            get(&readiness_items(&i), "certificates").ok,
            "terminating LBs skip the backend check"
        );

        // The certificate check must have run, and found nothing worse than a warning.
        let mut i = input(lb("active", passthrough()));
        i.cert_report = None;
        assert!(!get(&readiness_items(&i), "certificates").ok);

        let mut i = input(lb("active", passthrough()));
        i.rehearsal_ok = Some(false);
        assert!(!get(&readiness_items(&i), "rehearsal").ok);
        i.rehearsal_ok = Some(true);
        assert!(get(&readiness_items(&i), "rehearsal").ok);
    }

    fn lets_encrypt_input(cert_names: &[&str], caa: &[(&str, &str, &str)]) -> ReadinessInput {
        let rules = serde_json::json!([{ "entry_protocol": "https", "entry_port": 443,
            "target_protocol": "http", "target_port": 80, "certificate_id": "le1" }]);
        let mut i = input(lb("active", rules));
        i.backends_serve_tls = false;
        i.certificates = vec![serde_json::from_value(serde_json::json!({
            "id": "le1", "name": "shop-le", "type": "lets_encrypt", "dns_names": cert_names }))
        .unwrap()];
        i.zone = Some("example.com".into());
        i.zone_records = caa
            .iter()
            .enumerate()
            .map(|(n, (name, tag, data))| {
                serde_json::from_value(serde_json::json!({ "id": n, "type": "CAA",
                    "name": name, "data": data, "tag": tag, "flags": 0, "ttl": 3600 }))
                .unwrap()
            })
            .collect();
        i
    }

    #[test]
    fn a_lets_encrypt_certificate_needs_its_zone_here_and_caa_that_allows_it() {
        // No CAA at all: any CA may issue.
        let items = readiness_items(&lets_encrypt_input(&["example.com"], &[]));
        assert!(get(&items, "lets_encrypt_zone").ok);
        assert!(get(&items, "caa").ok, "{items:?}");
        // Let's Encrypt named (with parameters): allowed.
        let allowed = [("@", "issue", "letsencrypt.org; validationmethods=dns-01")];
        let items = readiness_items(&lets_encrypt_input(&["example.com"], &allowed));
        assert!(get(&items, "caa").ok, "{items:?}");
        // Another CA only: blocked, with the record that fixes it.
        let other = [
            ("@", "issue", "digicert.com"),
            ("@", "iodef", "mailto:x@example.com"),
        ];
        let items = readiness_items(&lets_encrypt_input(&["www.example.com"], &other));
        let caa = get(&items, "caa");
        assert!(!caa.ok);
        assert!(
            caa.reason.contains("allow only digicert.com"),
            "{}",
            caa.reason
        );
        assert!(
            caa.reason
                .contains("example.com. CAA 0 issue \"letsencrypt.org\""),
            "{}",
            caa.reason
        );
        // A CAA set at the name itself replaces the apex's (RFC 8659).
        let own = [
            ("@", "issue", "digicert.com"),
            ("www", "issue", "letsencrypt.org"),
        ];
        let items = readiness_items(&lets_encrypt_input(&["www.example.com"], &own));
        assert!(get(&items, "caa").ok, "{items:?}");
        // A wildcard is judged by issuewild when there is one.
        let wild = [("@", "issue", "letsencrypt.org"), ("@", "issuewild", ";")];
        let items = readiness_items(&lets_encrypt_input(&["*.example.com"], &wild));
        assert!(!get(&items, "caa").ok, "{items:?}");
        // The zone elsewhere: DigitalOcean cannot renew.
        let mut i = lets_encrypt_input(&["example.com"], &[]);
        i.zone = None;
        let items = readiness_items(&i);
        let zone = get(&items, "lets_encrypt_zone");
        assert!(!zone.ok);
        assert!(
            zone.reason.contains("ns1.digitalocean.com"),
            "{}",
            zone.reason
        );
        assert!(items.iter().all(|i| i.id != "caa"));
        // Without a Let's Encrypt certificate neither item appears.
        let items = readiness_items(&input(lb("active", passthrough())));
        assert!(items
            .iter()
            .all(|i| i.id != "lets_encrypt_zone" && i.id != "caa"));
    }

    #[test]
    fn different_lets_encrypt_leaves_warn_about_renewals_behind_the_load_balancer() {
        let backend = |label: &str, sha: &str, issuer: &str| {
            let target = cutover_certs::ProbeTarget {
                label: label.to_string(),
                addr: "127.0.0.1:443".parse().unwrap(),
                display_host: "127.0.0.1".into(),
                sni: Some("example.com".into()),
            };
            let mut b = cutover_certs::unprobed_report(
                target,
                cutover_certs::FailureKind::HandshakeFailed,
                "x".into(),
            );
            b.probe.chain = vec![cutover_certs::CertInfo {
                sha256: sha.to_string(),
                issuer: issuer.to_string(),
                ..Default::default()
            }];
            b
        };
        let mut i = input(lb("active", passthrough()));
        let le = "C=US, O=Let's Encrypt, CN=R11";
        let mut report = cutover_certs::build_report("example.com", Vec::new());
        report.backends = vec![backend("web-1", "aa", le), backend("web-2", "aa", le)];
        i.cert_report = Some(report.clone());
        assert!(readiness_items(&i)
            .iter()
            .all(|i| i.id != "lets_encrypt_renewal"));
        report.backends.push(backend("web-3", "bb", le));
        i.cert_report = Some(report.clone());
        let items = readiness_items(&i);
        let warn = get(&items, "lets_encrypt_renewal");
        assert!(warn.ok, "a warning does not block the switch");
        assert!(warn.reason.contains(cutover_certs::LETS_ENCRYPT_BEHIND_LB));
        // Different leaves from another CA are the certificate check's business, not this.
        report.backends[2] = backend("web-3", "bb", "CN=Other CA");
        i.cert_report = Some(report);
        assert!(readiness_items(&i)
            .iter()
            .all(|i| i.id != "lets_encrypt_renewal"));
    }

    #[test]
    fn cloudflare_addresses_are_proxied_not_failures() {
        for ip in [
            "104.16.132.229",
            "172.67.1.1",
            "2606:4700::6810:84e5",
            "131.0.75.1",
        ] {
            assert!(is_cloudflare(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["104.32.0.1", "203.0.113.7", "2001:db8::1", "173.245.64.0"] {
            assert!(!is_cloudflare(ip.parse().unwrap()), "{ip}");
        }
        let answer = |data: &str| DnsAnswer {
            kind: if data.contains(':') { "AAAA" } else { "A" }.to_string(),
            data: data.to_string(),
            ttl: 300,
        };
        assert_eq!(
            proxied_by(&[answer("104.21.3.4"), answer("2606:4700:3030::1")]).as_deref(),
            Some(PROXIED_BY_CLOUDFLARE)
        );
        // One address elsewhere: the name is not (only) behind Cloudflare.
        assert_eq!(
            proxied_by(&[answer("104.21.3.4"), answer("203.0.113.7")]),
            None
        );
        assert_eq!(proxied_by(&[]), None);
    }

    #[test]
    fn no_plan_goes_below_digitaloceans_minimum_ttl() {
        let records = vec![rec(1, "A", "@", "192.0.2.1", 3600)];
        let p = plan(&records, "example.com", &[], LB.parse().unwrap(), 5);
        assert_eq!(p.ttl, DO_MIN_TTL);
        assert!(p
            .changes
            .iter()
            .chain(p.ttl_step.iter().flat_map(|s| s.changes.iter()))
            .filter_map(|c| c.after.as_ref())
            .all(|a| a.ttl == DO_MIN_TTL));
        assert!(p.provider_records.iter().all(|r| r.contains(" 30 IN ")));
    }

    #[test]
    fn readiness_flags_a_failing_certificate_check() {
        let mut i = input(lb("active", passthrough()));
        let mut report = cutover_certs::build_report("example.com", Vec::new());
        report.findings.push(cutover_certs::Finding::new(
            report
                .findings
                .first()
                .map(|f| f.code)
                .unwrap_or(cutover_certs::FindingCode::CertExpired),
            cutover_certs::Severity::Critical,
            "web-3 serves an expired certificate",
        ));
        i.cert_report = Some(report);
        let c = readiness_items(&i);
        let c = get(&c, "certificates");
        assert!(!c.ok);
        assert_eq!(c.reason, "web-3 serves an expired certificate");
    }

    #[test]
    fn ttl_rules_say_when_it_is_safe() {
        let mut i = input(lb("active", passthrough()));
        i.current_ttl = Some(3600);
        assert!(!get(&readiness_items(&i), "ttl").ok);
        i.current_ttl = Some(300);
        i.ttl_lowered = Some((i.now - 600, 3600));
        let items = readiness_items(&i);
        let t = get(&items, "ttl");
        assert!(!t.ok);
        assert_eq!(t.safe_at, rfc3339(i.now - 600 + 3600));
        i.ttl_lowered = Some((i.now - 3600, 3600));
        assert!(get(&readiness_items(&i), "ttl").ok);
    }

    #[test]
    fn rollback_files_round_trip_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_rollback(dir.path(), "example.com").unwrap().is_none());
        let p = plan(&seed(), "example.com", &[], lb_ip(), 300);
        let mut set = new_set(&p);
        set.created.push(42);
        save_rollback(dir.path(), &set).unwrap();
        let back = load_rollback(dir.path(), "Example.com.").unwrap().unwrap();
        assert_eq!(back, set);
        assert!(forget_rollback(dir.path(), "example.com").unwrap());
        assert!(load_rollback(dir.path(), "example.com").unwrap().is_none());
        assert!(!forget_rollback(dir.path(), "example.com").unwrap());
        save_rollback(dir.path(), &set).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    /// A full disk in the middle of a cutover: the rollback file cannot record the change just
    /// made, so the run undoes it while it still knows how, and says why.
    #[tokio::test]
    async fn a_rollback_file_that_cannot_be_updated_undoes_the_cutover() {
        use cutover_sandbox::{Sandbox, SandboxOptions, DOMAIN, LB_SHOP_ID};
        let sb = Sandbox::start(SandboxOptions {
            activation_delay: std::time::Duration::ZERO,
            busy_window: std::time::Duration::ZERO,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let conn = Connection::for_sandbox(&sb).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let records_before = conn.client.list_domain_records(DOMAIN).await.unwrap();
        let mut plan = plan_for(&conn, DOMAIN, LB_SHOP_ID, &[], Some(60))
            .await
            .unwrap();
        assert!(!plan.changes.is_empty());
        // A second change, never reached: the first one's save already fails.
        plan.changes.push(RecordChange {
            name: "extra".into(),
            action: ChangeAction::Create,
            record_id: None,
            before: None,
            after: Some(RecordValue {
                kind: "A".into(),
                data: "127.0.0.99".into(),
                ttl: 60,
            }),
        });
        let mut set = new_set(&plan);
        save_rollback(dir.path(), &set).unwrap();
        let disk_full = |_: &Path, _: &RollbackSet| -> Result<PathBuf, ApiError> {
            let e = std::io::Error::from(std::io::ErrorKind::StorageFull);
            Err(crate::files::write_error(&dir.path().join("x.json"), &e))
        };
        let err = apply_changes(
            &conn,
            DOMAIN,
            &plan.changes,
            &mut set,
            dir.path(),
            true,
            disk_full,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert_eq!(err.details.as_ref().unwrap()["reason"], "disk_full");
        assert!(
            err.message
                .starts_with("could not update the rollback file"),
            "{}",
            err.message
        );
        assert!(err.message.contains("is full"), "{}", err.message);
        assert!(
            err.message
                .ends_with("the 1 change(s) already made were rolled back"),
            "{}",
            err.message
        );
        let mut after = conn.client.list_domain_records(DOMAIN).await.unwrap();
        let mut before = records_before;
        let key = |r: &DomainRecord| (r.kind.clone(), r.name.clone(), r.data.clone(), r.ttl);
        after.sort_by_key(key);
        before.sort_by_key(key);
        assert_eq!(
            after.iter().map(key).collect::<Vec<_>>(),
            before.iter().map(key).collect::<Vec<_>>(),
            "the records are as before the cutover"
        );
        assert!(
            load_rollback(dir.path(), DOMAIN).unwrap().is_none(),
            "nothing to roll back later"
        );
        sb.shutdown().await;
    }
}
