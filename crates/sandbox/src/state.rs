//! The sandbox account's state: what the API serves, kept in memory and optionally in a JSON
//! file. Resources are stored as the JSON the API returns (so unknown fields a client sends
//! survive), plus a little bookkeeping the API does not show.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ca::LeafCert;
use crate::SandboxError;

/// Bumped when the file layout changes incompatibly.
pub const STATE_FORMAT: u32 = 1;

pub const DOMAIN: &str = "sandbox-shop.test";
pub const DEFAULT_REGION: &str = "nyc3";

// Fixed ids, so `cutover lb get <id>` works across runs.
pub const VPC_NYC3_ID: &str = "5a0dbe00-0003-4000-8000-000000000001";
pub const VPC_AMS3_ID: &str = "5a0dbe00-0003-4000-8000-000000000002";
pub const LB_SHOP_ID: &str = "5a0dbe00-0001-4000-8000-000000000001";
pub const LB_BLOG_ID: &str = "5a0dbe00-0001-4000-8000-000000000002";
pub const LB_API_ID: &str = "5a0dbe00-0001-4000-8000-000000000003";
pub const CERT_BLOG_LE_ID: &str = "5a0dbe00-0002-4000-8000-000000000001";
pub const CERT_SHOP_CUSTOM_ID: &str = "5a0dbe00-0002-4000-8000-000000000002";
pub const PROJECT_ID: &str = "5a0dbe00-0005-4000-8000-000000000001";
// The cases issue 15 adds (appended after the first three, which keep their ids and IPs).
/// `tcp:443 → tcp:443` passthrough in front of web-1..3.
pub const LB_TCP_ID: &str = "5a0dbe00-0001-4000-8000-000000000004";
/// A network load balancer that a DOKS cluster made (and reconciles).
pub const LB_K8S_ID: &str = "5a0dbe00-0001-4000-8000-000000000005";
/// Its name: the cloud controller's default, `a` + 31 hex digits.
pub const LB_K8S_NAME: &str = "a3f1c9e27b4d48a6b0c2d9e8f7a6b5c4";
pub const K8S_CLUSTER_ID: &str = "5a0dbe00-0006-4000-8000-000000000001";
/// `network_stack: DUALSTACK`, for the zone [`DUAL_DOMAIN`].
pub const LB_DUAL_ID: &str = "5a0dbe00-0001-4000-8000-000000000006";
/// Its IPv6, from the documentation range (nothing listens at a load balancer's address in the
/// Sandbox; DNS verify only compares answers with it).
pub const LB_DUAL_IPV6: &str = "2001:db8:5a0d::6";
/// `network: INTERNAL`: a VPC address only.
pub const LB_INTERNAL_ID: &str = "5a0dbe00-0001-4000-8000-000000000007";
pub const LB_INTERNAL_IP: &str = "10.116.0.40";
/// A regional load balancer in ams3, the global one's second target.
pub const LB_AMS_ID: &str = "5a0dbe00-0001-4000-8000-000000000008";
/// `type: GLOBAL` over shop-passthrough (nyc3) and shop-ams3.
pub const LB_GLOBAL_ID: &str = "5a0dbe00-0001-4000-8000-000000000009";
/// A Let's Encrypt certificate for the global load balancer's managed domain.
pub const CERT_WORLD_LE_ID: &str = "5a0dbe00-0002-4000-8000-000000000003";
/// A Let's Encrypt certificate for the apex and www, attached nowhere yet: attaching it with
/// `disable_lets_encrypt_dns_records` off makes the Sandbox point the apex at the load balancer.
pub const CERT_SHOP_LE_ID: &str = "5a0dbe00-0002-4000-8000-000000000004";
/// A zone of its own for the dual-stack load balancer, with A and AAAA records. Under the
/// Sandbox's domain so that the droplets' wildcard certificate covers its apex; it sorts after
/// `sandbox-shop.test`, which stays the first domain a sorted list offers.
pub const DUAL_DOMAIN: &str = "v6.sandbox-shop.test";
pub const WEB_1: u64 = 510_000_101;
pub const WEB_2: u64 = 510_000_102;
pub const WEB_3: u64 = 510_000_103;
pub const API_1: u64 = 510_000_201;
pub const API_2: u64 = 510_000_202;
/// DOKS worker nodes (tags `k8s`, `k8s:<cluster>`, `k8s:worker`).
pub const K8S_WORKER_1: u64 = 510_000_301;
pub const K8S_WORKER_2: u64 = 510_000_302;
pub const K8S_WORKER_3: u64 = 510_000_303;
/// The NodePorts the Kubernetes load balancer targets, and kube-proxy's health port.
pub const K8S_NODE_PORT_HTTPS: u16 = 31443;
pub const K8S_NODE_PORT_HTTP: u16 = 30080;
pub const KUBE_PROXY_HEALTH_PORT: u16 = 10256;
/// shop-ams3's droplets (ams3, its VPC).
pub const WEB_AMS_1: u64 = 510_000_401;
pub const WEB_AMS_2: u64 = 510_000_402;

const SEED_TIME: &str = "2026-01-15T09:30:00Z";

/// Which certificate a droplet's HTTPS server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CertProfile {
    /// The certificate web-1 and web-2 share (same key, same certificate).
    #[default]
    Fleet,
    /// web-3's own certificate: another key, expiring in 3 days.
    Odd,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DropletEntry {
    pub droplet: Value,
    #[serde(default)]
    pub expects_proxy_protocol: bool,
    /// Answers a PROXY header it does not expect as nginx without `proxy_protocol` does (400
    /// on HTTP, a failed handshake on HTTPS), so turning PROXY protocol on can break it here as
    /// it would for real — what the backend preflight predicts.
    #[serde(default)]
    pub rejects_proxy_protocol: bool,
    /// Paths its servers answer 404 (`POST /_sandbox/droplets/{id}/behaviour`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_paths: Vec<String>,
    /// Its HTTPS port answers plain HTTP: it was told to stop speaking TLS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_https: bool,
    #[serde(default)]
    pub certificate: CertProfile,
    /// Served by the one server all generated droplets share (see [`crate::SandboxScale`])
    /// instead of listeners of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_server: bool,
    /// More droplet ports answered by its HTTPS (443) or HTTP (80) server: a Kubernetes
    /// worker's NodePorts and kube-proxy's health port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_aliases: Vec<PortAlias>,
}

/// Droplet port `port` is served by the droplet's listener for `serves` (443 or 80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortAlias {
    pub port: u16,
    pub serves: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LbEntry {
    /// Shared and copied on write, so that readers take a load balancer out from under the
    /// state lock with a pointer copy and render it after releasing the lock.
    pub lb: Arc<Value>,
    /// Unix milliseconds at which a `new` load balancer turns `active`.
    #[serde(default)]
    pub active_at_ms: u64,
    /// End of the post-update window in which writes get the busy 403 (not persisted).
    #[serde(skip)]
    pub busy_until: Option<Instant>,
}

/// A load balancer taken out of the state, to render outside the lock.
#[derive(Debug, Clone)]
pub struct LbSnapshot {
    lb: Arc<Value>,
    active_at_ms: u64,
    /// The droplets with its tag, when it selects droplets by tag.
    tagged: Option<Vec<u64>>,
}

impl LbSnapshot {
    /// The load balancer as the API shows it: `new` turns `active` once its time has come,
    /// and a tag-based one lists the droplets that carry the tag.
    pub fn render(self) -> Value {
        let activated = self.activated();
        let mut lb = Arc::unwrap_or_clone(self.lb);
        if activated {
            lb["status"] = json!("active");
        }
        if let Some(ids) = self.tagged {
            lb["droplet_ids"] = json!(ids);
        }
        lb
    }

    fn activated(&self) -> bool {
        self.lb["status"] == "new" && now_ms() >= self.active_at_ms
    }
}

/// Writes what [`LbSnapshot::render`] returns without copying the load balancer first: a page
/// of two hundred is serialised straight from the shared values.
impl Serialize for LbSnapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(fields) = self.lb.as_object() else {
            return self.lb.serialize(serializer);
        };
        let activated = self.activated();
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in fields {
            match (key.as_str(), &self.tagged) {
                ("status", _) if activated => map.serialize_entry(key, "active")?,
                ("droplet_ids", Some(ids)) => map.serialize_entry(key, ids)?,
                _ => map.serialize_entry(key, value)?,
            }
        }
        if let (Some(ids), false) = (&self.tagged, fields.contains_key("droplet_ids")) {
            map.serialize_entry("droplet_ids", ids)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertEntry {
    pub cert: Value,
    /// Unix milliseconds at which a `pending` Let's Encrypt certificate turns `verified`.
    #[serde(default)]
    pub verified_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainEntry {
    pub name: String,
    pub ttl: u32,
    pub records: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub account: Value,
    pub regions: Vec<Value>,
    pub vpcs: Vec<Value>,
    pub tags: Vec<String>,
    pub droplets: Vec<DropletEntry>,
    pub load_balancers: Vec<LbEntry>,
    pub certificates: Vec<CertEntry>,
    pub domains: Vec<DomainEntry>,
    pub next_record_id: u64,
    /// Counter for load balancer IPs (127.0.2.x, …).
    pub next_lb_host: u32,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| SEED_TIME.to_string())
}

pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// The load balancer address for the n-th load balancer: 127.0.2.1, 127.0.2.2, …
pub fn lb_ip(n: u32) -> Ipv4Addr {
    let third = 2 + (n / 250) % 250;
    let fourth = 1 + n % 250;
    Ipv4Addr::new(127, 0, third as u8, fourth as u8)
}

impl State {
    /// The domain called `name` (DigitalOcean matches domain names whatever their case).
    pub fn domain(&self, name: &str) -> Option<&DomainEntry> {
        self.domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub fn domain_mut(&mut self, name: &str) -> Option<&mut DomainEntry> {
        self.domains
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub fn region(&self, slug: &str) -> Option<&Value> {
        self.regions.iter().find(|r| r["slug"] == slug)
    }

    pub fn default_vpc(&self, region: &str) -> Option<&str> {
        self.vpcs
            .iter()
            .find(|v| v["region"] == region && v["default"] == true)
            .and_then(|v| v["id"].as_str())
    }

    pub fn droplet(&self, id: u64) -> Option<&DropletEntry> {
        self.droplets
            .iter()
            .find(|d| d.droplet["id"].as_u64() == Some(id))
    }

    pub fn droplet_ids_with_tag(&self, tag: &str) -> Vec<u64> {
        self.droplets
            .iter()
            .filter(|d| {
                d.droplet["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == tag))
            })
            .filter_map(|d| d.droplet["id"].as_u64())
            .collect()
    }

    pub fn lb_index(&self, id: &str) -> Option<usize> {
        self.load_balancers.iter().position(|l| l.lb["id"] == id)
    }

    /// A load balancer as the API shows it now: status by the clock, tag members filled in.
    pub fn render_lb(&self, entry: &LbEntry) -> Value {
        self.lb_snapshot(entry).render()
    }

    /// What rendering `entry` needs from the state: cheap (a pointer copy, plus the droplet
    /// ids when it selects droplets by tag), so it is taken under the lock and
    /// [`LbSnapshot::render`] runs after the lock is released.
    pub fn lb_snapshot(&self, entry: &LbEntry) -> LbSnapshot {
        let tagged = entry.lb["tag"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(|tag| self.droplet_ids_with_tag(tag));
        LbSnapshot {
            lb: Arc::clone(&entry.lb),
            active_at_ms: entry.active_at_ms,
            tagged,
        }
    }

    pub fn render_cert(&self, entry: &CertEntry) -> Value {
        let mut cert = entry.cert.clone();
        if cert["state"] == "pending" && entry.verified_at_ms.is_some_and(|t| now_ms() >= t) {
            cert["state"] = json!("verified");
        }
        cert
    }

    /// Whether a forwarding rule, or a global load balancer's domain, uses the certificate.
    pub fn cert_in_use(&self, cert_id: &str) -> bool {
        self.load_balancers.iter().any(|l| {
            let uses = |key: &str| {
                l.lb[key]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|r| r["certificate_id"] == cert_id))
            };
            uses("forwarding_rules") || uses("domains")
        })
    }

    pub fn render_tag(&self, name: &str, api_base: &str) -> Value {
        let ids = self.droplet_ids_with_tag(name);
        let count = ids.len();
        let mut droplets = json!({ "count": count });
        let mut resources = json!({ "count": count });
        if let Some(last) = ids.last() {
            let uri = format!("{api_base}/v2/droplets/{last}");
            droplets["last_tagged_uri"] = json!(uri);
            resources["last_tagged_uri"] = json!(uri);
        }
        resources["droplets"] = droplets;
        for kind in ["images", "volumes", "volume_snapshots", "databases"] {
            resources[kind] = json!({ "count": 0 });
        }
        json!({ "name": name, "resources": resources })
    }

    /// Keeps the seeded custom certificate's details in step with the fleet certificate the
    /// droplets serve this run (the CA and its leaves are made fresh on every start).
    pub fn refresh_fleet_certificate(&mut self, fleet: &LeafCert) {
        if let Some(entry) = self
            .certificates
            .iter_mut()
            .find(|c| c.cert["id"] == CERT_SHOP_CUSTOM_ID)
        {
            entry.cert["sha1_fingerprint"] = json!(fleet.sha1_fingerprint);
            entry.cert["not_after"] = json!(rfc3339(fleet.not_after));
            entry.cert["dns_names"] = json!(fleet.dns_names);
        }
    }

    pub fn load(path: &Path) -> Result<Option<State>, SandboxError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SandboxError::StateFile {
                    path: path.to_path_buf(),
                    reason: format!("cannot be read: {}", describe_io_error(&source)),
                })
            }
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| SandboxError::StateFile {
            path: path.to_path_buf(),
            reason: format!("not a sandbox state file ({e}); move it away or fix it"),
        })?;
        if state.format != STATE_FORMAT {
            return Err(SandboxError::StateFile {
                path: path.to_path_buf(),
                reason: format!(
                    "format {} is not the supported format {STATE_FORMAT}",
                    state.format
                ),
            });
        }
        Ok(Some(state))
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. On any
/// failure the temporary file is removed (a full disk would otherwise keep a partial one).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, bytes, |f, bytes| {
        use std::io::Write;
        f.write_all(bytes)
    })
}

/// [`write_atomically`] with the write itself given, so tests can make it fail half-way.
fn write_atomically_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f, bytes)?;
        f.sync_all()?;
        drop(f);
        // On Windows too, std's rename replaces an existing file.
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // NotFound when the file was never created (e.g. the folder is gone): nothing to remove.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The temporary file [`write_atomically`] writes before renaming it over `path`.
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sandbox-state.json".to_string());
    dir.join(format!(".{file_name}.{}.tmp", std::process::id()))
}

/// A save of the state file that failed; its message names the cause.
#[derive(Debug, thiserror::Error)]
#[error("could not save the sandbox state to {}: {}", path.display(), self.cause())]
pub struct SaveError {
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl SaveError {
    /// Why, in words; "not found" is told apart from a folder that exists but takes no new
    /// files (as in /proc).
    pub fn cause(&self) -> String {
        let parent_exists = self.path.parent().is_some_and(Path::is_dir);
        if self.source.kind() == std::io::ErrorKind::NotFound && parent_exists {
            return format!("no file can be created in that folder ({})", self.source);
        }
        describe_io_error(&self.source)
    }
}

/// Above this many bytes of compact JSON, the state file is written compact.
const PRETTY_STATE_MAX: usize = 256 * 1024;

/// Writes `state` to `path` (blocking: call it off the async threads).
pub fn save(path: &Path, state: &State) -> Result<(), SaveError> {
    let fail = |source| SaveError {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = serde_json::to_vec(state).map_err(|e| fail(std::io::Error::other(e)))?;
    // Pretty for a person reading a small account; a big one (issue 20's thousand load
    // balancers) stays compact, a third of the size, since it is written after every change.
    if bytes.len() < PRETTY_STATE_MAX {
        bytes = serde_json::to_vec_pretty(state).map_err(|e| fail(std::io::Error::other(e)))?;
    }
    write_atomically(path, &bytes).map_err(fail)
}

/// Why a state file could not be written (or read), in words a person can act on.
pub fn describe_io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let cause = match err.kind() {
        ErrorKind::StorageFull => "the disk is full",
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only",
        ErrorKind::PermissionDenied => "no permission to write there",
        ErrorKind::NotFound => "its folder does not exist",
        ErrorKind::NotADirectory => "a part of its path is a file, not a folder",
        ErrorKind::IsADirectory => "it is a folder",
        ErrorKind::QuotaExceeded => "the disk quota is used up",
        ErrorKind::FileTooLarge => "the file is larger than this system allows",
        _ => "it cannot be written",
    };
    format!("{cause} ({err})")
}

fn region(slug: &str, name: &str) -> Value {
    json!({
        "slug": slug,
        "name": name,
        "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": true,
        "sizes": ["s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb"],
    })
}

fn droplet(
    id: u64,
    name: &str,
    public: Ipv4Addr,
    private: Ipv4Addr,
    tag: &str,
    region: &Value,
) -> Value {
    json!({
        "id": id,
        "name": name,
        "memory": 1024,
        "vcpus": 1,
        "disk": 25,
        "disk_info": [{ "type": "local", "size": { "amount": 25, "unit": "gib" } }],
        "locked": false,
        "status": "active",
        "kernel": null,
        "created_at": SEED_TIME,
        "features": ["monitoring", "private_networking"],
        "backup_ids": [],
        "next_backup_window": null,
        "snapshot_ids": [],
        "image": {
            "id": 160_000_001,
            "name": "24.04 (LTS) x64",
            "type": "base",
            "distribution": "Ubuntu",
            "slug": "ubuntu-24-04-x64",
            "public": true,
            "regions": ["nyc3", "ams3"],
            "created_at": "2025-04-24T10:00:00Z",
            "min_disk_size": 7,
            "size_gigabytes": 2.36,
            "description": "Ubuntu 24.04 x64",
            "tags": [],
            "status": "available"
        },
        "volume_ids": [],
        "size": {
            "slug": "s-1vcpu-1gb",
            "memory": 1024,
            "vcpus": 1,
            "disk": 25,
            "transfer": 1.0,
            "price_monthly": 6.0,
            "price_hourly": 0.00893,
            "regions": ["nyc3", "ams3"],
            "available": true,
            "description": "Basic"
        },
        "size_slug": "s-1vcpu-1gb",
        "networks": {
            "v4": [
                { "ip_address": public.to_string(), "netmask": "255.0.0.0", "gateway": "127.0.0.1", "type": "public" },
                { "ip_address": private.to_string(), "netmask": "255.255.240.0", "gateway": "10.116.0.1", "type": "private" }
            ],
            "v6": []
        },
        "region": region,
        "tags": [tag],
        "vpc_uuid": VPC_NYC3_ID,
    })
}

fn rule(
    entry_protocol: &str,
    entry_port: u16,
    target_protocol: &str,
    target_port: u16,
    cert: &str,
    passthrough: bool,
) -> Value {
    json!({
        "entry_protocol": entry_protocol,
        "entry_port": entry_port,
        "target_protocol": target_protocol,
        "target_port": target_port,
        "certificate_id": cert,
        "tls_passthrough": passthrough,
    })
}

pub fn health_check_default() -> Value {
    json!({
        "protocol": "http",
        "port": 80,
        "path": "/",
        "check_interval_seconds": 10,
        "response_timeout_seconds": 5,
        "unhealthy_threshold": 3,
        "healthy_threshold": 5,
    })
}

/// The fields every load balancer response carries, at their API defaults.
pub fn lb_defaults() -> Value {
    json!({
        "size_unit": 1,
        "size": "lb-small",
        "algorithm": "round_robin",
        "health_check": health_check_default(),
        "sticky_sessions": { "type": "none" },
        "redirect_http_to_https": false,
        "enable_proxy_protocol": false,
        "enable_backend_keepalive": false,
        "http_idle_timeout_seconds": 60,
        "disable_lets_encrypt_dns_records": false,
        "firewall": { "allow": [], "deny": [] },
        "network": "EXTERNAL",
        "network_stack": "IPV4",
        "type": "REGIONAL",
        "tls_cipher_policy": "DEFAULT",
        "project_id": PROJECT_ID,
        "droplet_ids": [],
        "tag": "",
    })
}

/// Shallow merge: keys of `over` replace those of `base`.
pub fn merged(base: &Value, over: &Value) -> Value {
    let mut out = base.clone();
    if let (Some(o), Some(src)) = (out.as_object_mut(), over.as_object()) {
        for (k, v) in src {
            o.insert(k.clone(), v.clone());
        }
    }
    out
}

fn record(id: u64, kind: &str, name: &str, data: &str, ttl: u32) -> Value {
    json!({
        "id": id, "type": kind, "name": name, "data": data,
        "priority": null, "port": null, "ttl": ttl, "weight": null, "flags": null, "tag": null,
    })
}

/// The believable account every sandbox starts with.
pub fn seed(fleet: &LeafCert) -> State {
    let regions = vec![
        region("nyc3", "New York 3"),
        region("nyc1", "New York 1"),
        region("sfo3", "San Francisco 3"),
        region("ams3", "Amsterdam 3"),
        region("fra1", "Frankfurt 1"),
        region("lon1", "London 1"),
    ];
    let nyc3 = regions[0].clone();
    let vpcs = vec![
        json!({
            "id": VPC_NYC3_ID, "urn": format!("do:vpc:{VPC_NYC3_ID}"), "name": "default-nyc3",
            "description": "Default VPC for nyc3", "region": "nyc3", "ip_range": "10.116.0.0/20",
            "default": true, "created_at": SEED_TIME,
        }),
        json!({
            "id": VPC_AMS3_ID, "urn": format!("do:vpc:{VPC_AMS3_ID}"), "name": "default-ams3",
            "description": "Default VPC for ams3", "region": "ams3", "ip_range": "10.110.0.0/20",
            "default": true, "created_at": SEED_TIME,
        }),
    ];
    let web = |id, n: u8, cert| DropletEntry {
        droplet: droplet(
            id,
            &format!("web-{n}"),
            Ipv4Addr::new(127, 0, 0, 10 + n),
            Ipv4Addr::new(10, 116, 0, 10 + n),
            "web",
            &nyc3,
        ),
        expects_proxy_protocol: false,
        rejects_proxy_protocol: true,
        missing_paths: Vec::new(),
        plain_https: false,
        certificate: cert,
        shared_server: false,
        port_aliases: Vec::new(),
    };
    let api = |id, n: u8| DropletEntry {
        droplet: droplet(
            id,
            &format!("api-{n}"),
            Ipv4Addr::new(127, 0, 0, 20 + n),
            Ipv4Addr::new(10, 116, 0, 20 + n),
            "api",
            &nyc3,
        ),
        // api-by-tag sends PROXY protocol, so its backends insist on it.
        expects_proxy_protocol: true,
        rejects_proxy_protocol: false,
        missing_paths: Vec::new(),
        plain_https: false,
        certificate: CertProfile::Fleet,
        shared_server: false,
        port_aliases: Vec::new(),
    };
    let mut droplets = vec![
        web(WEB_1, 1, CertProfile::Fleet),
        web(WEB_2, 2, CertProfile::Fleet),
        web(WEB_3, 3, CertProfile::Odd),
        api(API_1, 1),
        api(API_2, 2),
    ];

    let lb = |id: &str, n: u32, name: &str, fields: Value| {
        let identity = json!({
            "id": id, "name": name, "ip": lb_ip(n).to_string(), "status": "active",
            "created_at": SEED_TIME, "region": nyc3, "vpc_uuid": VPC_NYC3_ID,
        });
        LbEntry {
            lb: Arc::new(merged(&merged(&lb_defaults(), &identity), &fields)),
            active_at_ms: 0,
            busy_until: None,
        }
    };
    let mut load_balancers = vec![
        lb(
            LB_SHOP_ID,
            0,
            "shop-passthrough",
            json!({
                "forwarding_rules": [rule("https", 443, "https", 443, "", true)],
                "health_check": {
                    "protocol": "tcp", "port": 443, "check_interval_seconds": 10,
                    "response_timeout_seconds": 5, "unhealthy_threshold": 3, "healthy_threshold": 5,
                },
                "droplet_ids": [WEB_1, WEB_2, WEB_3],
            }),
        ),
        lb(
            LB_BLOG_ID,
            1,
            "blog-https",
            json!({
                "forwarding_rules": [
                    rule("http", 80, "http", 80, "", false),
                    rule("https", 443, "http", 80, CERT_BLOG_LE_ID, false),
                ],
                "redirect_http_to_https": true,
                "droplet_ids": [WEB_1, WEB_2],
            }),
        ),
        lb(
            LB_API_ID,
            2,
            "api-by-tag",
            json!({
                "forwarding_rules": [rule("http", 80, "http", 80, "", false)],
                "health_check": {
                    "protocol": "tcp", "port": 80, "check_interval_seconds": 10,
                    "response_timeout_seconds": 5, "unhealthy_threshold": 3, "healthy_threshold": 5,
                },
                "enable_proxy_protocol": true,
                "tag": "api",
            }),
        ),
    ];

    droplets.extend(more_droplets(&regions));
    load_balancers.extend(more_load_balancers(&regions));

    let mut certificates = vec![
        CertEntry {
            cert: json!({
                "id": CERT_BLOG_LE_ID, "name": "blog-le", "type": "lets_encrypt", "state": "verified",
                "dns_names": [format!("blog.{DOMAIN}")],
                "not_after": rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(60)),
                "sha1_fingerprint": crate::ca::sha1_hex(CERT_BLOG_LE_ID.as_bytes()),
                "created_at": SEED_TIME,
            }),
            verified_at_ms: None,
        },
        CertEntry {
            cert: json!({
                "id": CERT_SHOP_CUSTOM_ID, "name": "shop-wildcard", "type": "custom", "state": "verified",
                "dns_names": fleet.dns_names,
                "not_after": rfc3339(fleet.not_after),
                "sha1_fingerprint": fleet.sha1_fingerprint,
                "created_at": SEED_TIME,
            }),
            verified_at_ms: None,
        },
    ];

    certificates.extend(more_certificates());

    let mut records = vec![
        record(710_000_001, "SOA", "@", "1800", 1800),
        record(710_000_002, "NS", "@", "ns1.digitalocean.com", 1800),
        record(710_000_003, "NS", "@", "ns2.digitalocean.com", 1800),
        record(710_000_004, "NS", "@", "ns3.digitalocean.com", 1800),
        // Before the cutover the apex still points at web-1 directly.
        record(710_000_005, "A", "@", "127.0.0.11", 3600),
        record(710_000_006, "CNAME", "www", "@", 3600),
        record(710_000_007, "A", "blog", &lb_ip(1).to_string(), 3600),
        record(710_000_008, "A", "api", &lb_ip(2).to_string(), 3600),
        record(710_000_009, "TXT", "@", "v=spf1 -all", 3600),
    ];
    // Only Let's Encrypt may issue for the domain (what DigitalOcean's certificates need).
    records.push(caa(710_000_010, "@", 0, "issue", "letsencrypt.org", 3600));
    let domains = vec![
        DomainEntry {
            name: DOMAIN.to_string(),
            ttl: 1800,
            records,
        },
        dual_zone(),
    ];

    State {
        format: STATE_FORMAT,
        account: json!({
            "droplet_limit": 25,
            "floating_ip_limit": 3,
            "email": format!("sandbox@{DOMAIN}"),
            "name": "Sandbox",
            "uuid": "5a0dbe00-0004-4000-8000-000000000001",
            "email_verified": true,
            "status": "active",
            "status_message": "",
            "team": { "uuid": "5a0dbe00-0004-4000-8000-000000000002", "name": "Sandbox Team" },
        }),
        regions,
        vpcs,
        tags: [
            "api",
            "web",
            "web-ams3",
            "k8s",
            &format!("k8s:{K8S_CLUSTER_ID}"),
            "k8s:worker",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect(),
        droplets,
        load_balancers,
        certificates,
        domains,
        next_record_id: 710_000_100,
        next_lb_host: SEEDED_LB_HOSTS,
    }
}

/// Load balancer addresses the seed uses (lb_ip(0..9)); created ones get the next.
const SEEDED_LB_HOSTS: u32 = 9;

fn caa(id: u64, name: &str, flags: u8, tag: &str, value: &str, ttl: u32) -> Value {
    let mut r = record(id, "CAA", name, value, ttl);
    r["flags"] = json!(flags);
    r["tag"] = json!(tag);
    r
}

/// The dual-stack load balancer's zone before its cutover: the apex answers on both families
/// at the old server (web-1's IPv4, an IPv6 of the documentation range), www is an alias.
fn dual_zone() -> DomainEntry {
    DomainEntry {
        name: DUAL_DOMAIN.to_string(),
        ttl: 1800,
        records: vec![
            record(710_000_051, "SOA", "@", "1800", 1800),
            record(710_000_052, "NS", "@", "ns1.digitalocean.com", 1800),
            record(710_000_053, "NS", "@", "ns2.digitalocean.com", 1800),
            record(710_000_054, "NS", "@", "ns3.digitalocean.com", 1800),
            record(710_000_055, "A", "@", "127.0.0.11", 3600),
            record(710_000_056, "AAAA", "@", "2001:db8:5a0d:1::11", 3600),
            record(710_000_057, "CNAME", "www", "@", 3600),
            caa(710_000_058, "@", 0, "issue", "letsencrypt.org", 3600),
        ],
    }
}

/// DOKS worker nodes, and shop-ams3's two droplets.
fn more_droplets(regions: &[Value]) -> Vec<DropletEntry> {
    let nyc3 = &regions[0];
    let ams3 = regions
        .iter()
        .find(|r| r["slug"] == "ams3")
        .cloned()
        .unwrap_or(Value::Null);
    let plain = |droplet: Value| DropletEntry {
        droplet,
        expects_proxy_protocol: false,
        rejects_proxy_protocol: false,
        missing_paths: Vec::new(),
        plain_https: false,
        certificate: CertProfile::Fleet,
        shared_server: false,
        port_aliases: Vec::new(),
    };
    let mut out = Vec::new();
    // Node names as DOKS gives them (pool-<pool id>-<node suffix>).
    for (i, id) in [K8S_WORKER_1, K8S_WORKER_2, K8S_WORKER_3]
        .into_iter()
        .enumerate()
    {
        let n = i as u8 + 1;
        let mut d = droplet(
            id,
            &format!("pool-9x2kq7f0a-r1t5{}", ['m', 'n', 'p'][i]),
            Ipv4Addr::new(127, 0, 0, 30 + n),
            Ipv4Addr::new(10, 116, 0, 30 + n),
            "k8s",
            nyc3,
        );
        d["tags"] = json!(["k8s", format!("k8s:{K8S_CLUSTER_ID}"), "k8s:worker"]);
        d["image"]["name"] = json!("1.33.1-do.0 x64");
        d["image"]["distribution"] = json!("Debian");
        d["image"]["slug"] = Value::Null;
        d["image"]["public"] = json!(false);
        d["image"]["description"] = json!("DOKS worker image");
        let mut entry = plain(d);
        entry.port_aliases = vec![
            PortAlias {
                port: K8S_NODE_PORT_HTTPS,
                serves: 443,
            },
            PortAlias {
                port: K8S_NODE_PORT_HTTP,
                serves: 80,
            },
            PortAlias {
                port: KUBE_PROXY_HEALTH_PORT,
                serves: 80,
            },
        ];
        out.push(entry);
    }
    for (i, id) in [WEB_AMS_1, WEB_AMS_2].into_iter().enumerate() {
        let n = i as u8 + 1;
        let mut d = droplet(
            id,
            &format!("web-ams3-{n}"),
            Ipv4Addr::new(127, 0, 0, 40 + n),
            Ipv4Addr::new(10, 110, 0, 40 + n),
            "web-ams3",
            &ams3,
        );
        d["vpc_uuid"] = json!(VPC_AMS3_ID);
        d["networks"]["v4"][1]["gateway"] = json!("10.110.0.1");
        out.push(plain(d));
    }
    out
}

/// The load balancers of issue 15's cases, appended after the first three (lb_ip(3..9)).
fn more_load_balancers(regions: &[Value]) -> Vec<LbEntry> {
    let nyc3 = &regions[0];
    let ams3 = regions
        .iter()
        .find(|r| r["slug"] == "ams3")
        .cloned()
        .unwrap_or(Value::Null);
    let lb = |id: &str, n: u32, name: &str, region: &Value, vpc: &str, fields: Value| {
        let identity = json!({
            "id": id, "name": name, "ip": lb_ip(n).to_string(), "status": "active",
            "created_at": SEED_TIME, "region": region, "vpc_uuid": vpc,
        });
        LbEntry {
            lb: Arc::new(merged(&merged(&lb_defaults(), &identity), &fields)),
            active_at_ms: 0,
            busy_until: None,
        }
    };
    let tcp_health = |port: u16| {
        json!({
            "protocol": "tcp", "port": port, "path": "", "check_interval_seconds": 10,
            "response_timeout_seconds": 5, "unhealthy_threshold": 3, "healthy_threshold": 5,
        })
    };
    vec![
        // TLS served by the droplets through plain TCP, as many run passthrough.
        lb(
            LB_TCP_ID,
            3,
            "shop-tcp",
            nyc3,
            VPC_NYC3_ID,
            json!({
                "forwarding_rules": [
                    rule("tcp", 443, "tcp", 443, "", false),
                    rule("tcp", 80, "tcp", 80, "", false),
                ],
                "health_check": tcp_health(443),
                "droplet_ids": [WEB_1, WEB_2, WEB_3],
            }),
        ),
        // What DigitalOcean's cloud controller makes for a `type: LoadBalancer` Service
        // (lb_doks_network.json): the cluster tag, NodePort targets, kube-proxy's health check
        // every 3 s, no size (network load balancers have no size units to choose).
        lb(
            LB_K8S_ID,
            4,
            LB_K8S_NAME,
            nyc3,
            VPC_NYC3_ID,
            json!({
                "type": "REGIONAL_NETWORK",
                "tags": [format!("k8s:{K8S_CLUSTER_ID}")],
                "forwarding_rules": [
                    rule("tcp", 80, "tcp", K8S_NODE_PORT_HTTP, "", false),
                    rule("tcp", 443, "tcp", K8S_NODE_PORT_HTTPS, "", false),
                ],
                "health_check": {
                    "protocol": "http", "port": KUBE_PROXY_HEALTH_PORT, "path": "/healthz",
                    "check_interval_seconds": 3, "response_timeout_seconds": 5,
                    "unhealthy_threshold": 3, "healthy_threshold": 5, "proxy_protocol": false,
                },
                "droplet_ids": [K8S_WORKER_1, K8S_WORKER_2, K8S_WORKER_3],
            }),
        ),
        lb(
            LB_DUAL_ID,
            5,
            "www-dualstack",
            nyc3,
            VPC_NYC3_ID,
            json!({
                "ipv6": LB_DUAL_IPV6,
                "network_stack": "DUALSTACK",
                "forwarding_rules": [
                    rule("http", 80, "http", 80, "", false),
                    rule("https", 443, "https", 443, "", true),
                ],
                "health_check": tcp_health(443),
                "droplet_ids": [WEB_1, WEB_2],
            }),
        ),
        lb(
            LB_INTERNAL_ID,
            6,
            "billing-internal",
            nyc3,
            VPC_NYC3_ID,
            json!({
                "ip": LB_INTERNAL_IP,
                "network": "INTERNAL",
                "forwarding_rules": [rule("http", 80, "http", 80, "", false)],
                "droplet_ids": [WEB_1, WEB_2],
            }),
        ),
        lb(
            LB_AMS_ID,
            7,
            "shop-ams3",
            &ams3,
            VPC_AMS3_ID,
            json!({
                "forwarding_rules": [
                    rule("http", 80, "http", 80, "", false),
                    rule("https", 443, "https", 443, "", true),
                ],
                "health_check": tcp_health(443),
                "droplet_ids": [WEB_AMS_1, WEB_AMS_2],
            }),
        ),
        global_lb(),
    ]
}

/// The global load balancer (lb_global.json's shape): no region and no address of its own, its
/// regional targets, settings and domains (one DigitalOcean manages, one still waiting for its
/// CNAME).
fn global_lb() -> LbEntry {
    let mut lb = merged(
        &lb_defaults(),
        &json!({
            "id": LB_GLOBAL_ID, "name": "shop-global", "ip": "", "status": "active",
            "created_at": SEED_TIME, "type": "GLOBAL",
            "forwarding_rules": [rule("http", 80, "http", 80, "", false)],
            "glb_settings": {
                // The spec's spelling (the live API has been seen answering "HTTP": the
                // corpus has that case; the Sandbox keeps to the spec its contract test checks).
                "target_protocol": "http",
                "target_port": 80,
                "cdn": { "is_enabled": false },
                "region_priorities": { "nyc3": 1, "ams3": 2 },
                "failover_threshold": 50,
            },
            "target_load_balancer_ids": [LB_SHOP_ID, LB_AMS_ID],
            "domains": [
                {
                    "name": format!("world.{DOMAIN}"),
                    "is_managed": true,
                    "certificate_id": CERT_WORLD_LE_ID,
                    "status": "ACTIVE",
                },
                {
                    "name": "shop.sandbox-partner.test",
                    "is_managed": false,
                    "status": "CREATING",
                    "verification_error_reasons": [
                        "no CNAME record for shop.sandbox-partner.test points at the load balancer"
                    ],
                    "ssl_validation_error_reasons": [
                        "the certificate cannot be issued until the domain is verified"
                    ],
                },
            ],
        }),
    );
    if let Some(o) = lb.as_object_mut() {
        // A global load balancer has no region, VPC or network of its own.
        for key in ["network", "network_stack", "tls_cipher_policy"] {
            o.remove(key);
        }
    }
    LbEntry {
        lb: Arc::new(lb),
        active_at_ms: 0,
        busy_until: None,
    }
}

fn more_certificates() -> Vec<CertEntry> {
    let le = |id: &str, name: &str, names: Vec<String>, days: i64| CertEntry {
        cert: json!({
            "id": id, "name": name, "type": "lets_encrypt", "state": "verified",
            "dns_names": names,
            "not_after": rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(days)),
            "sha1_fingerprint": crate::ca::sha1_hex(id.as_bytes()),
            "created_at": SEED_TIME,
        }),
        verified_at_ms: None,
    };
    vec![
        le(
            CERT_WORLD_LE_ID,
            "world-le",
            vec![format!("world.{DOMAIN}")],
            75,
        ),
        le(
            CERT_SHOP_LE_ID,
            "shop-le",
            vec![DOMAIN.to_string(), format!("www.{DOMAIN}")],
            82,
        ),
    ]
}

/// First id of the generated droplets (`app-0001`, …), clear of the seeded ones.
const POOL_DROPLET_ID: u64 = 520_000_001;
/// The tag every generated droplet carries.
pub const POOL_TAG: &str = "app";

/// Grows the seeded account to `scale`: load balancers up to `scale.load_balancers` in all,
/// each generated one in front of `scale.droplets_per_lb` droplets, and `scale.records` more
/// records in the seeded domain. Deterministic: the same scale gives the same account.
///
/// The generated droplets are one pool that every generated load balancer uses (a distinct
/// set per load balancer would mean 200,000 droplets for 1,000 × 200, which the app would list
/// page by page on every detail view): what grows with the flags is what a view shows.
pub fn grow(state: &mut State, scale: &crate::SandboxScale) {
    let nyc3 = state.region(DEFAULT_REGION).cloned().unwrap_or(Value::Null);
    let pool: Vec<u64> = (0..u64::from(scale.droplets_per_lb))
        .map(|i| POOL_DROPLET_ID + i)
        .collect();
    for (i, &id) in pool.iter().enumerate() {
        let n = i as u32;
        // Display-only addresses: 127.1.x.y public, 10.117.x.y private.
        let (hi, lo) = ((n / 250) as u8, (1 + n % 250) as u8);
        state.droplets.push(DropletEntry {
            droplet: droplet(
                id,
                &format!("app-{:04}", i + 1),
                Ipv4Addr::new(127, 1, hi, lo),
                Ipv4Addr::new(10, 117, hi, lo),
                POOL_TAG,
                &nyc3,
            ),
            expects_proxy_protocol: false,
            rejects_proxy_protocol: false,
            missing_paths: Vec::new(),
            plain_https: false,
            certificate: CertProfile::Fleet,
            shared_server: true,
            port_aliases: Vec::new(),
        });
    }
    if !pool.is_empty() && !state.tags.iter().any(|t| t == POOL_TAG) {
        state.tags.push(POOL_TAG.to_string());
    }

    const APPS: [&str; 8] = [
        "shop", "blog", "api", "admin", "media", "auth", "search", "docs",
    ];
    const ENVS: [&str; 3] = ["prod", "staging", "dev"];
    let first = state.load_balancers.len() as u32;
    let created = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    for n in first..scale.load_balancers.max(first) {
        let app = APPS[n as usize % APPS.len()];
        let env = ENVS[(n as usize / APPS.len()) % ENVS.len()];
        let id = format!("5a0dbe00-0011-4000-8000-{n:012}");
        let rules = if n % 2 == 0 {
            json!([rule("https", 443, "https", 443, "", true)])
        } else {
            json!([rule("http", 80, "http", 80, "", false)])
        };
        // Every tenth one selects its droplets by tag, like api-by-tag; the rest by id.
        let (ids, tag) = if n % 10 == 5 && !pool.is_empty() {
            (json!([]), POOL_TAG)
        } else {
            (json!(pool), "")
        };
        let identity = json!({
            "id": id,
            "name": format!("{app}-{env}-{n:04}"),
            "ip": lb_ip(n).to_string(),
            "status": "active",
            "created_at": rfc3339(created + time::Duration::minutes(i64::from(n))),
            "region": nyc3,
            "vpc_uuid": VPC_NYC3_ID,
            "forwarding_rules": rules,
            "droplet_ids": ids,
            "tag": tag,
        });
        state.load_balancers.push(LbEntry {
            lb: Arc::new(merged(&lb_defaults(), &identity)),
            active_at_ms: 0,
            busy_until: None,
        });
    }
    state.next_lb_host = state.next_lb_host.max(scale.load_balancers);

    let first_record = state.next_record_id;
    if let Some(domain) = state.domain_mut(DOMAIN) {
        for i in 0..u64::from(scale.records) {
            let id = first_record + i;
            let name = format!("host-{:05}", i + 1);
            let r = match i % 5 {
                // Aliases and TXT records point inside the zone: nothing resolves off loopback.
                3 => record(id, "CNAME", &name, &format!("host-{:05}", i.max(1)), 3600),
                4 => record(
                    id,
                    "TXT",
                    &name,
                    &format!("site-verification={i:08x}"),
                    3600,
                ),
                _ => {
                    let ip = Ipv4Addr::new(127, 3, (i / 250 % 250) as u8, (1 + i % 250) as u8);
                    record(id, "A", &name, &ip.to_string(), 3600)
                }
            };
            domain.records.push(r);
        }
        state.next_record_id += u64::from(scale.records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(lb: Value, active_at_ms: u64, tagged: Option<Vec<u64>>) -> LbSnapshot {
        LbSnapshot {
            lb: Arc::new(lb),
            active_at_ms,
            tagged,
        }
    }

    #[test]
    fn a_write_that_fails_half_way_leaves_no_temporary_file_and_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"old").unwrap();
        // A full disk: part of the bytes go out, then ENOSPC.
        let err = write_atomically_with(&path, b"new and longer", |f, bytes| {
            use std::io::Write;
            f.write_all(&bytes[..4])?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert!(describe_io_error(&err).starts_with("the disk is full"));
        assert!(
            !temp_path(&path).exists(),
            "the partial file was left behind"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A rename that fails (the target is a folder) also takes the temporary file away.
        let folder = dir.path().join("folder.json");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("inside"), b"x").unwrap();
        assert!(write_atomically(&folder, b"{}").is_err());
        assert!(!temp_path(&folder).exists());
    }

    /// A listing serialises snapshots directly; a single load balancer renders one. Both must
    /// give the same JSON.
    #[test]
    fn a_snapshot_serialises_as_it_renders() {
        let cases = [
            snapshot(
                json!({"id": "a", "status": "new", "droplet_ids": [1]}),
                0,
                None,
            ),
            snapshot(
                json!({"id": "b", "status": "new", "droplet_ids": []}),
                u64::MAX,
                None,
            ),
            snapshot(
                json!({"id": "c", "status": "active", "tag": "web", "droplet_ids": []}),
                0,
                Some(vec![7, 8]),
            ),
            snapshot(
                json!({"id": "d", "status": "active", "tag": "web"}),
                0,
                Some(vec![9]),
            ),
            snapshot(json!("not an object"), 0, None),
        ];
        let rendered: Vec<Value> = cases.iter().map(|c| c.clone().render()).collect();
        for (case, rendered) in cases.iter().zip(&rendered) {
            assert_eq!(&serde_json::to_value(case).unwrap(), rendered);
        }
        assert_eq!(rendered[0]["status"], "active", "its time has come");
        assert_eq!(rendered[1]["status"], "new", "not yet");
        assert_eq!(rendered[2]["droplet_ids"], json!([7, 8]));
        assert_eq!(rendered[3]["droplet_ids"], json!([9]));
        // Rendering never changes the stored value.
        assert_eq!(cases[0].lb["status"], "new");
    }
}
