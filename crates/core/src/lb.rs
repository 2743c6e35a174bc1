//! Load balancers, managed safely: list, detail, edit (plan → diff → dry run → apply with a
//! conflict check), create, delete, droplets.
//!
//! An edit is always planned from the load balancer **as it was when the editor opened**, kept
//! here in an [`EditSessions`] store, never from what the UI sends back: so `apply` compares that
//! version with a fresh fetch and refuses when someone changed it meanwhile (no lost update).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub use cutover_digitalocean::validate::rejection_message;
/// The models of a load balancer and what surrounds it, so the front ends name them through
/// core without depending on the client crate.
pub use cutover_digitalocean::{notes, Note};
use cutover_digitalocean::{plan_update, validate_load_balancer, ValidationContext, Vpc};
pub use cutover_digitalocean::{
    Account, Certificate, Client, Droplet, FieldChange, Finding, ForwardingRule, HealthCheck,
    LbFirewall, LoadBalancer, LoadBalancerRequest, Region, Severity, StickySessions, UpdatePlan,
};
use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};
use crate::workspace::RateLimitInfo;

/// How a change is followed until the load balancer is `active` again: the same in the app and
/// the CLI (`--wait-timeout` sets the timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    /// How often it is polled while not `active`.
    pub poll: Duration,
    /// DigitalOcean usually needs a minute or two; ten is well past "something is wrong".
    pub timeout: Duration,
}

impl Default for Follow {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(600),
        }
    }
}

/// The list, plus the rate limit read from the same answer's headers.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbList {
    /// One row per load balancer: what the list shows, not the whole load balancer.
    pub load_balancers: Vec<LbRow>,
    pub rate_limit: Option<RateLimitInfo>,
    /// The load balancers a Kubernetes cluster owns (edits are refused unless overridden).
    pub kubernetes: Vec<KubernetesOwned>,
    /// A digest of the list as sent (rows and owners): given back on the next refresh, an
    /// unchanged list is not sent again.
    pub fingerprint: String,
    /// The list is the one `known` named: `load_balancers` and `kubernetes` are left empty.
    pub unchanged: bool,
}

/// One load balancer as the list shows it. Its size does not grow with the load balancer's
/// droplets (a count, not their ids: a 1,000-row list of 200 droplets each was 200,000 ids,
/// most of what the page read and held for it) nor with its rules and settings (one flag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LbRow {
    pub id: String,
    pub name: String,
    /// `new`, `active` or `errored`.
    pub status: String,
    /// The public IPv4 address (empty while `new`).
    pub ip: String,
    pub region: Option<LbRowRegion>,
    /// `REGIONAL`, `REGIONAL_NETWORK` or `GLOBAL`; none from an API that predates the field.
    #[serde(rename = "type")]
    pub lb_type: Option<String>,
    pub size_unit: Option<u32>,
    /// The deprecated size slug (`lb-small` …), when that is what it has.
    pub size: Option<String>,
    /// How many droplets are behind it (by id, or the tag's).
    pub droplet_count: u32,
    /// The tag whose droplets are behind it; `""` when it lists droplets by id.
    pub tag: String,
    /// Some forwarding rule passes TLS through undecrypted.
    pub passthrough: bool,
    pub redirect_http_to_https: bool,
    pub enable_proxy_protocol: bool,
}

/// A row's region: its slug and name (not its features and sizes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LbRowRegion {
    pub slug: String,
    pub name: String,
}

impl From<&LoadBalancer> for LbRow {
    fn from(lb: &LoadBalancer) -> Self {
        Self {
            id: lb.id.clone(),
            name: lb.name.clone(),
            status: lb.status.clone(),
            ip: lb.ip.clone(),
            region: lb.region.as_ref().map(|r| LbRowRegion {
                slug: r.slug.clone(),
                name: r.name.clone(),
            }),
            lb_type: lb.lb_type.clone(),
            size_unit: lb.size_unit,
            size: lb.size.clone(),
            droplet_count: u32::try_from(lb.droplet_ids.len()).unwrap_or(u32::MAX),
            tag: lb.tag.clone(),
            passthrough: lb.forwarding_rules.iter().any(|r| r.tls_passthrough),
            redirect_http_to_https: lb.redirect_http_to_https,
            enable_proxy_protocol: lb.enable_proxy_protocol,
        }
    }
}

/// A load balancer a Kubernetes cluster owns, for the list's badge.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesOwned {
    pub id: String,
    pub owner: crate::kubernetes::KubernetesOwner,
}

/// A droplet behind a load balancer, as the detail view shows it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbDroplet {
    #[specta(type = f64)]
    pub id: u64,
    pub name: String,
    pub status: String,
    pub public_ipv4: Vec<String>,
    pub private_ipv4: Vec<String>,
    pub tags: Vec<String>,
    pub region: String,
}

impl From<&Droplet> for LbDroplet {
    fn from(d: &Droplet) -> Self {
        Self {
            id: d.id,
            name: d.name.clone(),
            status: d.status.clone(),
            public_ipv4: d.public_ipv4s().iter().map(|ip| ip.to_string()).collect(),
            private_ipv4: d.private_ipv4s().iter().map(|ip| ip.to_string()).collect(),
            tags: d.tags.clone(),
            region: d.region.slug.clone(),
        }
    }
}

/// One load balancer with its droplets resolved, and the API's JSON as it came.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbDetail {
    pub lb: LoadBalancer,
    pub droplets: Vec<LbDroplet>,
    /// Ids listed by the load balancer that no droplet answers to (deleted droplets).
    #[specta(type = Vec<f64>)]
    pub missing_droplet_ids: Vec<u64>,
    /// Pretty-printed, unknown fields included.
    pub raw_json: String,
    /// Set when a Kubernetes cluster owns it: its controller reverts edits.
    pub kubernetes: Option<crate::kubernetes::KubernetesOwner>,
    /// What this kind of load balancer does differently (network, internal, dual-stack,
    /// global), so nothing is expected of it that it cannot give.
    pub notes: Vec<cutover_digitalocean::Note>,
}

/// The fields of a load balancer that can change after it is created, as the editor sends them.
/// Everything else (region, type, network, VPC, unknown fields) comes from the loaded version.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbEdit {
    pub name: String,
    pub size_unit: Option<u32>,
    pub forwarding_rules: Vec<ForwardingRule>,
    pub health_check: Option<HealthCheck>,
    pub sticky_sessions: Option<StickySessions>,
    pub redirect_http_to_https: bool,
    pub enable_proxy_protocol: bool,
    pub enable_backend_keepalive: bool,
    pub http_idle_timeout_seconds: Option<u32>,
    pub firewall: Option<LbFirewall>,
    /// Off, attaching a DigitalOcean Let's Encrypt certificate makes DigitalOcean point an A
    /// record at the load balancer: the review warns, and the editor offers this flag.
    pub disable_lets_encrypt_dns_records: bool,
    /// Droplets by id; ignored when `tag` is set.
    #[specta(type = Vec<f64>)]
    pub droplet_ids: Vec<u64>,
    /// Droplets by tag; empty for droplets by id.
    pub tag: String,
}

impl LbEdit {
    /// The editor's starting point: the load balancer as loaded.
    pub fn from_lb(lb: &LoadBalancer) -> Self {
        Self {
            name: lb.name.clone(),
            size_unit: lb.size_unit,
            forwarding_rules: lb.forwarding_rules.clone(),
            health_check: lb.health_check.clone(),
            sticky_sessions: lb.sticky_sessions.clone(),
            redirect_http_to_https: lb.redirect_http_to_https,
            enable_proxy_protocol: lb.enable_proxy_protocol,
            enable_backend_keepalive: lb.enable_backend_keepalive,
            http_idle_timeout_seconds: lb.http_idle_timeout_seconds,
            firewall: lb.firewall.clone(),
            disable_lets_encrypt_dns_records: lb.disable_lets_encrypt_dns_records,
            droplet_ids: lb.droplet_ids.clone(),
            tag: lb.tag.clone(),
        }
    }

    /// `base` with this edit's fields laid over it.
    pub fn apply_to(&self, base: &LoadBalancer) -> LoadBalancer {
        let mut lb = base.clone();
        lb.name = self.name.trim().to_string();
        lb.size_unit = self.size_unit;
        lb.forwarding_rules = self.forwarding_rules.clone();
        lb.health_check = self.health_check.clone();
        lb.sticky_sessions = self.sticky_sessions.clone();
        lb.redirect_http_to_https = self.redirect_http_to_https;
        lb.enable_proxy_protocol = self.enable_proxy_protocol;
        lb.enable_backend_keepalive = self.enable_backend_keepalive;
        lb.http_idle_timeout_seconds = self.http_idle_timeout_seconds;
        lb.firewall = self.firewall.clone();
        lb.disable_lets_encrypt_dns_records = self.disable_lets_encrypt_dns_records;
        lb.tag = self.tag.trim().to_string();
        // A tag-based load balancer's droplet list is the API's to fill; by id, it is the edit's.
        if lb.tag.is_empty() {
            lb.droplet_ids = self.droplet_ids.clone();
        }
        lb
    }
}

/// The editor's session: the version it was opened on, and that version as editable fields.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EditStart {
    pub lb: LoadBalancer,
    pub edit: LbEdit,
}

/// How bad a validator finding is (its own type: the certificate checks have a `Severity` too,
/// and the TypeScript bindings need distinct names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum LbSeverity {
    Error,
    Warning,
}

/// One finding of the shared load-balancer validator: stable code, severity, the request field it
/// concerns (e.g. `forwarding_rules[0].certificate_id`) and a sentence saying what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LbFinding {
    pub code: String,
    pub severity: LbSeverity,
    pub field: String,
    pub message: String,
    /// Already so before this edit: shown, never a reason to refuse it.
    pub pre_existing: bool,
}

impl From<Finding> for LbFinding {
    fn from(f: Finding) -> Self {
        Self {
            severity: match f.severity {
                Severity::Error => LbSeverity::Error,
                Severity::Warning => LbSeverity::Warning,
            },
            code: f.code,
            field: f.field,
            message: f.message,
            pre_existing: f.pre_existing,
        }
    }
}

fn lb_findings(findings: Vec<Finding>) -> Vec<LbFinding> {
    findings.into_iter().map(LbFinding::from).collect()
}

/// What the API's dry run said.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum DryRun {
    /// `validate_only` accepted the request.
    Ok,
    /// The API refused it, with its message (and its code, e.g. `busy`).
    Refused { code: ErrorCode, message: String },
    /// Not sent: the local validator already found an error, or nothing would change.
    Skipped { reason: String },
}

/// What Review shows before Apply.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EditReview {
    pub changes: Vec<FieldChange>,
    /// The shared validator's findings (errors first).
    pub findings: Vec<LbFinding>,
    pub dry_run: DryRun,
    /// No error finding, the dry run passed, and something changes.
    pub can_apply: bool,
    /// Set when a Kubernetes cluster owns the load balancer: Apply then needs an override.
    pub kubernetes: Option<crate::kubernetes::KubernetesOwner>,
    /// The Service annotations that would make these changes stick (Kubernetes-owned only).
    pub annotations: Vec<crate::kubernetes::Annotation>,
    /// The droplets probed the way the new configuration would (edits they notice only).
    pub preflight: Option<crate::preflight::Preflight>,
}

/// One step while a load balancer settles, for a progress line.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbProgress {
    pub id: String,
    pub status: String,
    pub message: String,
}

/// The load balancers each open editor was started on, by id.
#[derive(Default)]
pub struct EditSessions {
    loaded: Mutex<HashMap<String, LoadBalancer>>,
}

impl EditSessions {
    fn get(&self, id: &str) -> Result<LoadBalancer, ApiError> {
        let map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).cloned().ok_or_else(|| {
            ApiError::invalid_input(
                "This editor is no longer open (the app may have restarted): reload the load balancer and edit again.",
            )
        })
    }

    fn put(&self, lb: LoadBalancer) {
        let mut map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(lb.id.clone(), lb);
    }

    fn forget(&self, id: &str) {
        let mut map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    /// Drops every session (on an account switch).
    pub fn clear(&self) {
        let mut map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        map.clear();
    }
}

fn check_id(id: &str) -> Result<&str, ApiError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(ApiError::invalid_input("No load balancer was named."));
    }
    Ok(id)
}

/// Every load balancer, whole (the CLI's `lb list`, and finding one by name).
pub async fn list(conn: &Connection) -> Result<Vec<LoadBalancer>, ApiError> {
    Ok(conn.client.list_load_balancers().await?)
}

/// The list as the app shows it: a row per load balancer, the Kubernetes-owned ones, and the
/// rate limit. When the list's fingerprint is `known` (the caller has it already) nothing of it
/// is sent back: a refresh of a big account that changed nothing costs the page nothing (reading
/// a megabyte of JSON every 15 s froze it for 80 ms). The fingerprint is of what is sent, so a
/// change the list does not show (a health check's path) sends nothing either.
pub async fn list_since(conn: &Connection, known: Option<&str>) -> Result<LbList, ApiError> {
    let all = conn.client.list_load_balancers().await?;
    let rate_limit = conn.client.rate_limit().map(RateLimitInfo::from);
    let load_balancers: Vec<LbRow> = all.iter().map(LbRow::from).collect();
    let kubernetes: Vec<KubernetesOwned> = all
        .iter()
        .filter_map(|lb| {
            crate::kubernetes::owner(lb).map(|owner| KubernetesOwned {
                id: lb.id.clone(),
                owner,
            })
        })
        .collect();
    let fingerprint = list_fingerprint(&load_balancers, &kubernetes);
    if known == Some(fingerprint.as_str()) {
        return Ok(LbList {
            load_balancers: Vec::new(),
            rate_limit,
            kubernetes: Vec::new(),
            fingerprint,
            unchanged: true,
        });
    }
    Ok(LbList {
        kubernetes,
        load_balancers,
        rate_limit,
        fingerprint,
        unchanged: false,
    })
}

/// One load balancer with its droplets (by id, or by tag) resolved.
pub async fn detail(conn: &Connection, id: &str) -> Result<LbDetail, ApiError> {
    let lb = find(conn, id).await?;
    let (all, missing) = read_members(conn, &lb).await?;
    let mut droplets = Vec::new();
    for id in &lb.droplet_ids {
        if let Some(d) = all.iter().find(|d| d.id == *id) {
            droplets.push(LbDroplet::from(d));
        }
    }
    // Tagged droplets the load balancer has not picked up yet still belong in the list.
    if lb.is_tag_based() {
        for d in &all {
            if !lb.droplet_ids.contains(&d.id) {
                droplets.push(LbDroplet::from(d));
            }
        }
    }
    let raw_json = serde_json::to_string_pretty(&lb).unwrap_or_default();
    Ok(LbDetail {
        kubernetes: crate::kubernetes::owner(&lb),
        notes: cutover_digitalocean::notes(&lb),
        lb,
        droplets,
        missing_droplet_ids: missing,
        raw_json,
    })
}

/// SHA-256 of the rows and the Kubernetes owners as serialised, hex.
fn list_fingerprint(rows: &[LbRow], kubernetes: &[KubernetesOwned]) -> String {
    let bytes = serde_json::to_vec(&(rows, kubernetes)).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens (or reopens, after a conflict) the editor: fetches the load balancer now and keeps
/// this version as the one the edit is planned from.
pub async fn begin_edit(
    conn: &Connection,
    sessions: &EditSessions,
    id: &str,
) -> Result<EditStart, ApiError> {
    let lb = find(conn, id).await?;
    sessions.put(lb.clone());
    Ok(EditStart {
        edit: LbEdit::from_lb(&lb),
        lb,
    })
}

/// Opens the editor on a revert: the load balancer as it is now (the version Apply compares
/// with), and as the edit the "before" of journal entry `entry_id` — which then goes through
/// the review, the preflight and the stale-edit check like any edit.
pub async fn begin_revert(
    conn: &Connection,
    sessions: &EditSessions,
    entry_id: &str,
) -> Result<EditStart, ApiError> {
    let journal = conn
        .journal
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::Io, "No journal is kept for this account."))?;
    let entry = journal.get(entry_id)?;
    let lb = find(conn, &entry.lb_id).await?;
    let edit = crate::journal::revert_edit(&entry, &lb)?;
    sessions.put(lb.clone());
    Ok(EditStart { lb, edit })
}

/// The journal's entries about load balancer `id_or_name` (or all), newest first.
pub fn history(
    conn: &Connection,
    id_or_name: Option<&str>,
) -> Result<Vec<crate::journal::JournalEntry>, ApiError> {
    match conn.journal.as_ref() {
        Some(journal) => journal.list(id_or_name),
        None => Ok(Vec::new()),
    }
}

/// The shared validator's findings for an edit, locally (no API call): for inline messages.
pub fn validate_edit(
    sessions: &EditSessions,
    id: &str,
    edit: &LbEdit,
) -> Result<Vec<LbFinding>, ApiError> {
    let loaded = sessions.get(check_id(id)?)?;
    let desired = edit.apply_to(&loaded);
    let plan = plan_update(&loaded, &desired);
    Ok(lb_findings(validate_load_balancer(
        &plan.request,
        &ValidationContext::update(&loaded),
    )))
}

/// Plans an edit against the version the editor opened on: the field-level diff, the validator's
/// findings and the API's dry run.
pub async fn plan_edit(
    conn: &Connection,
    sessions: &EditSessions,
    id: &str,
    edit: &LbEdit,
) -> Result<EditReview, ApiError> {
    let loaded = sessions.get(check_id(id)?)?;
    let desired = edit.apply_to(&loaded);
    let plan = plan_update(&loaded, &desired);
    let findings = validate_load_balancer(&plan.request, &ValidationContext::update(&loaded));
    let dry_run = if plan.is_noop() {
        DryRun::Skipped {
            reason: "Nothing would change.".into(),
        }
    } else if let Some(message) = rejection_message(&findings) {
        DryRun::Skipped {
            reason: format!("Not sent to DigitalOcean: {message}"),
        }
    } else {
        dry_run_outcome(conn.client.dry_run(&plan).await)
    };
    let can_apply = matches!(dry_run, DryRun::Ok);
    let kubernetes = crate::kubernetes::owner(&loaded);
    let annotations = if kubernetes.is_some() {
        crate::kubernetes::annotations_for(&desired, &plan.changes).0
    } else {
        Vec::new()
    };
    let preflight = if plan.is_noop() {
        None
    } else {
        preflight_or_log(conn, &loaded, &desired).await
    };
    let mut findings = lb_findings(findings);
    if !plan.is_noop() {
        findings.extend(lets_encrypt_dns_warnings(conn, &desired).await);
    }
    Ok(EditReview {
        changes: plan.changes,
        findings,
        dry_run,
        can_apply,
        kubernetes,
        annotations,
        preflight,
    })
}

/// DigitalOcean creates an apex A record pointing at the load balancer when a Let's Encrypt
/// certificate it manages is attached and `disable_lets_encrypt_dns_records` is off: an
/// unplanned DNS cutover inside a load-balancer edit. Says which record, as a warning finding.
pub async fn lets_encrypt_dns_warnings(conn: &Connection, after: &LoadBalancer) -> Vec<LbFinding> {
    if after.disable_lets_encrypt_dns_records {
        return Vec::new();
    }
    let attached: Vec<&str> = after
        .forwarding_rules
        .iter()
        .filter_map(|r| r.certificate())
        .collect();
    if attached.is_empty() {
        return Vec::new();
    }
    let certificates = match conn.client.list_certificates().await {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!("certificates not listed for the Let's Encrypt check: {err}");
            return Vec::new();
        }
    };
    certificates
        .iter()
        .filter(|c| c.kind == "lets_encrypt" && attached.contains(&c.id.as_str()))
        .map(|c| {
            let names = if c.dns_names.is_empty() {
                "its domain".to_string()
            } else {
                c.dns_names.join(", ")
            };
            LbFinding {
                code: "lets_encrypt.dns_record".to_string(),
                severity: LbSeverity::Warning,
                field: "disable_lets_encrypt_dns_records".to_string(),
                message: format!(
                    "Let's Encrypt certificate \"{}\" is attached with disable_lets_encrypt_dns_records off: DigitalOcean will point an A record for {names} at this load balancer ({}) — a DNS cutover. Turn the option on to keep DNS as it is.",
                    c.name,
                    if after.ip.is_empty() { "its IP" } else { after.ip.as_str() }
                ),
                pre_existing: false,
            }
        })
        .collect()
}

/// Runs `change` to `lb` between a journal entry written before and one written after. A
/// journal that cannot be written (a full disk) is logged, not a reason to refuse the change:
/// DigitalOcean's state is the truth, the journal only the history.
async fn journaled<F>(
    conn: &Connection,
    kind: crate::journal::ChangeKind,
    lb: &LoadBalancer,
    changes: Vec<FieldChange>,
    change: F,
) -> Result<Option<LoadBalancer>, ApiError>
where
    F: std::future::Future<Output = Result<Option<LoadBalancer>, ApiError>>,
{
    let Some(journal) = conn.journal.as_ref() else {
        return change.await;
    };
    let entry = crate::journal::entry(&conn.account_name, kind, lb, changes);
    let id = match journal.begin(entry) {
        Ok(id) => Some(id),
        Err(err) => {
            tracing::warn!(lb = %lb.id, "not journaled: {}", err.message);
            None
        }
    };
    // With DigitalOcean's request id of the write's answer (issue 16).
    let (result, request_ids) = cutover_digitalocean::with_request_ids(change).await;
    if let Some(id) = id {
        let (after, error) = match &result {
            Ok(after) => (
                after.as_ref().and_then(|lb| serde_json::to_value(lb).ok()),
                None,
            ),
            Err(err) => (None, Some(err)),
        };
        if let Err(err) = journal.finish_with(&id, after, error, &request_ids) {
            tracing::warn!(lb = %lb.id, "journal entry {id} not finished: {}", err.message);
        }
    }
    result
}

/// The preflight of an edit; a failure to run it (the droplets could not be listed) is logged
/// and leaves the review without a prediction rather than failing it.
async fn preflight_or_log(
    conn: &Connection,
    before: &LoadBalancer,
    after: &LoadBalancer,
) -> Option<crate::preflight::Preflight> {
    match crate::preflight::check(conn, before, after, None).await {
        Ok(p) => p,
        Err(err) => {
            tracing::warn!(lb = %before.id, "preflight not run: {}", err.message);
            None
        }
    }
}

/// What the user decided when applying an edit: override a Kubernetes owner, and the load
/// balancer's name typed when the preflight predicts fewer healthy droplets.
#[derive(Debug, Clone, Default)]
pub struct EditGuard {
    pub override_kubernetes: bool,
    pub confirm: Option<String>,
}

/// Refuses an edit whose preflight predicts fewer droplets passing than now, unless the load
/// balancer's name was typed. The same rule for the app and the CLI; `--yes` does not waive it.
pub fn refuse_risky(
    lb: &LoadBalancer,
    preflight: Option<&crate::preflight::Preflight>,
    confirm: Option<&str>,
) -> Result<(), ApiError> {
    let Some(p) = preflight.filter(|p| p.needs_confirmation) else {
        return Ok(());
    };
    if crate::session::typed_matches(&lb.name, confirm) {
        return Ok(());
    }
    Err(ApiError::invalid_input(format!(
        "{} Type the load balancer's name ({}) to apply it anyway.",
        p.summary, lb.name
    ))
    .with_details(serde_json::json!({
        "field": "confirm",
        "expected": lb.name,
        "preflight": p,
    })))
}

/// Applies an edit planned from the version the editor opened on. The client re-fetches first
/// and refuses with a `conflict` (whose `details.changes` say what changed meanwhile) when the
/// load balancer is no longer that version. Then follows it back to `active`, reporting each
/// state through `progress`.
pub async fn apply_edit(
    conn: &Connection,
    sessions: &EditSessions,
    id: &str,
    edit: &LbEdit,
    guard: &EditGuard,
    progress: impl FnMut(LbProgress),
) -> Result<LoadBalancer, ApiError> {
    let loaded = sessions.get(check_id(id)?)?;
    let desired = edit.apply_to(&loaded);
    let plan = plan_update(&loaded, &desired);
    if plan.is_noop() {
        return Err(nothing_to_change(&loaded));
    }
    crate::kubernetes::refuse_unless_overridden(
        &loaded,
        Some(&desired),
        &plan.changes,
        guard.override_kubernetes,
    )?;
    // Probed again now: the droplets may have changed since the review.
    let preflight = preflight_or_log(conn, &loaded, &desired).await;
    refuse_risky(&loaded, preflight.as_ref(), guard.confirm.as_deref())?;
    let applied = apply_update(conn, &plan, &loaded).await?;
    // The new version is what a further edit in the same editor starts from.
    sessions.put(applied.clone());
    let settled = follow_to_active(conn, &applied.id, Follow::default(), progress).await?;
    sessions.put(settled.clone());
    Ok(settled)
}

/// Polls until `active` (or `errored`, an error), reporting each state seen.
pub async fn follow_to_active(
    conn: &Connection,
    id: &str,
    follow: Follow,
    mut progress: impl FnMut(LbProgress),
) -> Result<LoadBalancer, ApiError> {
    let lb = conn
        .client
        .wait_until_active(id, follow.poll, follow.timeout, |lb| {
            progress(LbProgress {
                id: lb.id.clone(),
                status: lb.status.clone(),
                message: match lb.status.as_str() {
                    "active" => format!("{} is active.", lb.name),
                    "errored" => {
                        format!("{} is errored: DigitalOcean could not apply it.", lb.name)
                    }
                    other => format!(
                        "{} is {other}: DigitalOcean is applying the change…",
                        lb.name
                    ),
                },
            })
        })
        .await?;
    if lb.is_errored() {
        return Err(ApiError::new(
            ErrorCode::Server,
            format!(
                "Load balancer \"{}\" ended up errored: DigitalOcean could not apply it.",
                lb.name
            ),
        )
        .with_details(serde_json::json!({"id": lb.id})));
    }
    Ok(lb)
}

/// What the create form sends.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateLbInput {
    pub name: String,
    pub region: String,
    pub vpc_uuid: Option<String>,
    pub size_unit: u32,
    pub forwarding_rules: Vec<ForwardingRule>,
    pub health_check: Option<HealthCheck>,
    pub redirect_http_to_https: bool,
    pub enable_proxy_protocol: bool,
    #[specta(type = Vec<f64>)]
    pub droplet_ids: Vec<u64>,
    /// Droplets by tag; when set, `droplet_ids` is ignored.
    pub tag: String,
}

impl CreateLbInput {
    pub fn to_request(&self) -> LoadBalancerRequest {
        let tag = self.tag.trim();
        LoadBalancerRequest {
            name: self.name.trim().to_string(),
            region: Some(self.region.clone()).filter(|r| !r.is_empty()),
            vpc_uuid: self.vpc_uuid.clone().filter(|v| !v.is_empty()),
            size_unit: Some(self.size_unit),
            forwarding_rules: self.forwarding_rules.clone(),
            health_check: self.health_check.clone(),
            redirect_http_to_https: self.redirect_http_to_https,
            enable_proxy_protocol: self.enable_proxy_protocol,
            droplet_ids: tag.is_empty().then(|| self.droplet_ids.clone()),
            tag: (!tag.is_empty()).then(|| tag.to_string()),
            ..LoadBalancerRequest::default()
        }
    }
}

/// What the create form offers to choose from.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    /// Regions that are available (the regions list has no load-balancer feature flag).
    pub regions: Vec<Region>,
    pub vpcs: Vec<Vpc>,
    pub droplets: Vec<LbDroplet>,
    pub tags: Vec<String>,
}

pub async fn create_options(conn: &Connection) -> Result<CreateOptions, ApiError> {
    let regions = conn
        .client
        .list_regions()
        .await?
        .into_iter()
        .filter(|r| r.available)
        .collect();
    let vpcs = conn.client.list_vpcs().await?;
    let droplets = conn.client.list_droplets().await?;
    let tags = conn
        .client
        .list_tags()
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    Ok(CreateOptions {
        regions,
        vpcs,
        droplets: droplets.iter().map(LbDroplet::from).collect(),
        tags,
    })
}

/// The validator's findings and the API's dry run for a create, without creating anything.
pub async fn review_create(
    conn: &Connection,
    input: &CreateLbInput,
) -> Result<EditReview, ApiError> {
    let request = input.to_request();
    let findings = validate_load_balancer(&request, &ValidationContext::create());
    let dry_run = if let Some(message) = rejection_message(&findings) {
        DryRun::Skipped {
            reason: format!("Not sent to DigitalOcean: {message}"),
        }
    } else {
        dry_run_outcome(conn.client.validate_create(&request).await)
    };
    Ok(EditReview {
        changes: Vec::new(),
        findings: lb_findings(findings),
        can_apply: matches!(dry_run, DryRun::Ok),
        dry_run,
        kubernetes: None,
        annotations: Vec::new(),
        preflight: None,
    })
}

/// Creates a load balancer (never retried: the API has no idempotency key), then follows it to
/// `active`.
pub async fn create(
    conn: &Connection,
    input: &CreateLbInput,
    progress: impl FnMut(LbProgress),
) -> Result<LoadBalancer, ApiError> {
    let created = create_request(conn, &input.to_request()).await?;
    follow_to_active(conn, &created.id, Follow::default(), progress)
        .await
        .map_err(|err| created_but(&created, err))
}

/// A wait that failed after a create succeeded: the error says the load balancer exists (and
/// carries its id), so nobody creates a second, billed one.
pub fn created_but(created: &LoadBalancer, err: ApiError) -> ApiError {
    let mut details = match err.details {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    details.insert(
        "created".into(),
        serde_json::json!({ "id": created.id, "name": created.name }),
    );
    ApiError {
        code: err.code,
        message: format!(
            "Load balancer \"{}\" ({}) was created; only following it to active failed: {}",
            created.name, created.id, err.message
        ),
        details: Some(serde_json::Value::Object(details)),
    }
}

/// Deletes load balancer `id_or_name`. On a protected account only with its name typed
/// (`confirm`), in the app and the CLI alike. Returns what was deleted.
pub async fn delete(
    session: &crate::session::Session,
    sessions: Option<&EditSessions>,
    id_or_name: &str,
    confirm: Option<&str>,
    override_kubernetes: bool,
) -> Result<LoadBalancer, ApiError> {
    let conn = &session.connection;
    let lb = find(conn, id_or_name).await?;
    // The controller would create it again (with a new IP) while the Service exists.
    crate::kubernetes::refuse_unless_overridden(&lb, None, &[], override_kubernetes)?;
    session.require_typed(
        &format!("deleting load balancer \"{}\"", lb.name),
        &lb.name,
        confirm,
    )?;
    journaled(
        conn,
        crate::journal::ChangeKind::Delete,
        &lb,
        Vec::new(),
        async {
            conn.client.delete_load_balancer(&lb.id).await?;
            Ok(None)
        },
    )
    .await?;
    if let Some(sessions) = sessions {
        sessions.forget(&lb.id);
    }
    Ok(lb)
}

/// Adds droplets (by id) to `id_or_name`; refused on a load balancer that picks its droplets
/// by tag (DigitalOcean refuses ids there). Returns the load balancer as it was found.
pub async fn add_droplets(
    conn: &Connection,
    id_or_name: &str,
    droplet_ids: &[u64],
    override_kubernetes: bool,
) -> Result<LoadBalancer, ApiError> {
    change_droplets(conn, id_or_name, droplet_ids, true, override_kubernetes).await
}

/// Removes droplets (by id) from `id_or_name`; as [`add_droplets`].
pub async fn remove_droplets(
    conn: &Connection,
    id_or_name: &str,
    droplet_ids: &[u64],
    override_kubernetes: bool,
) -> Result<LoadBalancer, ApiError> {
    change_droplets(conn, id_or_name, droplet_ids, false, override_kubernetes).await
}

async fn change_droplets(
    conn: &Connection,
    id_or_name: &str,
    droplet_ids: &[u64],
    add: bool,
    override_kubernetes: bool,
) -> Result<LoadBalancer, ApiError> {
    if droplet_ids.is_empty() {
        return Err(ApiError::invalid_input(if add {
            "Choose at least one droplet to add."
        } else {
            "Choose at least one droplet to remove."
        })
        .with_details(serde_json::json!({"field": "droplet_ids"})));
    }
    let lb = find(conn, id_or_name).await?;
    crate::kubernetes::refuse_unless_overridden(&lb, None, &[], override_kubernetes)?;
    if lb.is_tag_based() {
        return Err(ApiError::invalid_input(format!(
            "\"{}\" chooses its droplets by the tag \"{}\": tag or untag the droplets instead (DigitalOcean refuses ids here).",
            lb.name, lb.tag
        ))
        .with_details(serde_json::json!({"field": "droplet_ids"})));
    }
    let kind = if add {
        crate::journal::ChangeKind::AddDroplets
    } else {
        crate::journal::ChangeKind::RemoveDroplets
    };
    let change = FieldChange {
        path: "droplet_ids".into(),
        before: serde_json::json!(lb.droplet_ids),
        after: serde_json::json!(droplet_ids),
    };
    journaled(conn, kind, &lb, vec![change], async {
        if add {
            conn.client.add_droplets(&lb.id, droplet_ids).await?;
        } else {
            conn.client.remove_droplets(&lb.id, droplet_ids).await?;
        }
        Ok(None)
    })
    .await?;
    Ok(lb)
}

/// Adds forwarding rules to `id_or_name`, after checking the load balancer as it would be with
/// them (refused on error findings; the warnings are returned).
pub async fn add_rules(
    conn: &Connection,
    id_or_name: &str,
    rules: &[ForwardingRule],
    override_kubernetes: bool,
) -> Result<(LoadBalancer, Vec<Finding>), ApiError> {
    let lb = find(conn, id_or_name).await?;
    let mut after = lb.clone();
    after.forwarding_rules.extend(rules.iter().cloned());
    let change = FieldChange {
        path: "forwarding_rules".into(),
        before: serde_json::to_value(&lb.forwarding_rules).unwrap_or_default(),
        after: serde_json::to_value(&after.forwarding_rules).unwrap_or_default(),
    };
    crate::kubernetes::refuse_unless_overridden(
        &lb,
        Some(&after),
        std::slice::from_ref(&change),
        override_kubernetes,
    )?;
    let findings = check(&after.to_request(), Some(&lb));
    if let Some(message) = rejection_message(&findings) {
        return Err(not_sent(message, &findings));
    }
    journaled(
        conn,
        crate::journal::ChangeKind::AddRules,
        &lb,
        vec![change],
        async {
            conn.client.add_forwarding_rules(&lb.id, rules).await?;
            Ok(None)
        },
    )
    .await?;
    Ok((lb, findings))
}

/// Removes forwarding rules from `id_or_name`; each must exist.
pub async fn remove_rules(
    conn: &Connection,
    id_or_name: &str,
    rules: &[ForwardingRule],
    override_kubernetes: bool,
) -> Result<LoadBalancer, ApiError> {
    let lb = find(conn, id_or_name).await?;
    crate::kubernetes::refuse_unless_overridden(&lb, None, &[], override_kubernetes)?;
    for rule in rules {
        if !lb.forwarding_rules.iter().any(|r| r.same_rule(rule)) {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("\"{}\" has no rule {}.", lb.name, rule.describe()),
            )
            .with_details(serde_json::json!({"field": "rule"})));
        }
    }
    let change = FieldChange {
        path: "forwarding_rules".into(),
        before: serde_json::to_value(&lb.forwarding_rules).unwrap_or_default(),
        after: serde_json::to_value(
            lb.forwarding_rules
                .iter()
                .filter(|r| !rules.iter().any(|gone| gone.same_rule(r)))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    };
    journaled(
        conn,
        crate::journal::ChangeKind::RemoveRules,
        &lb,
        vec![change],
        async {
            conn.client.remove_forwarding_rules(&lb.id, rules).await?;
            Ok(None)
        },
    )
    .await?;
    Ok(lb)
}

/// The validator refused: the same sentence and `details.findings` wherever it happens.
pub fn not_sent(message: String, findings: &[Finding]) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!("Not sent to DigitalOcean: {message}"),
    )
    .with_details(serde_json::json!({ "findings": findings }))
}

/// A no-op edit: the same failure, with the same sentence, in the app and the CLI.
pub fn nothing_to_change(lb: &LoadBalancer) -> ApiError {
    ApiError::invalid_input(format!(
        "Nothing would change on \"{}\": the edit matches the load balancer as it is.",
        lb.name
    ))
    .with_details(serde_json::json!({ "field": "edit", "nothing_to_change": true }))
}

/// The rule through which the droplets serve TLS themselves: an SSL-passthrough rule, else a
/// `tcp` rule on 443 (how many people, and DOKS's network load balancers, run passthrough:
/// DigitalOcean forwards the bytes and the droplets terminate TLS).
pub fn passthrough_like_rule(lb: &LoadBalancer) -> Option<&ForwardingRule> {
    lb.passthrough_rule().or_else(|| {
        lb.forwarding_rules
            .iter()
            .find(|r| r.entry_protocol.eq_ignore_ascii_case("tcp") && r.entry_port == 443)
    })
}

/// The rule whose target port the droplets serve a certificate on: [`passthrough_like_rule`],
/// else an HTTPS-to-droplet rule (the load balancer re-encrypts).
pub fn tls_rule(lb: &LoadBalancer) -> Option<&ForwardingRule> {
    passthrough_like_rule(lb).or_else(|| {
        lb.forwarding_rules
            .iter()
            .find(|r| r.target_protocol.eq_ignore_ascii_case("https"))
    })
}

/// Whether `s` looks like a load balancer id (a UUID).
pub fn looks_like_id(s: &str) -> bool {
    let s = s.trim();
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A load balancer by id, or by name when the name is unique: how a load balancer is named
/// everywhere, in the app and in every CLI command.
pub async fn find(conn: &Connection, id_or_name: &str) -> Result<LoadBalancer, ApiError> {
    let wanted = id_or_name.trim();
    if wanted.is_empty() {
        return Err(ApiError::invalid_input("No load balancer was named.")
            .with_details(serde_json::json!({"field": "lb"})));
    }
    if looks_like_id(wanted) {
        return Ok(conn.client.get_load_balancer(wanted).await?);
    }
    let all = conn.client.list_load_balancers().await?;
    let mut matches = all
        .into_iter()
        .filter(|lb| lb.name == wanted || lb.id == wanted);
    match (matches.next(), matches.next()) {
        (Some(lb), None) => Ok(lb),
        (Some(_), Some(_)) => Err(ApiError::invalid_input(format!(
            "More than one load balancer is named \"{wanted}\": use its id."
        ))
        .with_details(serde_json::json!({"field": "lb"}))),
        (None, _) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("No load balancer has the id or name \"{wanted}\"."),
        )
        .with_details(serde_json::json!({"field": "lb", "lb": wanted}))),
    }
}

/// The validator's findings for a create (`current` = `None`) or an update.
pub fn check(req: &LoadBalancerRequest, current: Option<&LoadBalancer>) -> Vec<Finding> {
    let ctx = match current {
        Some(lb) => ValidationContext::update(lb),
        None => ValidationContext::create(),
    };
    validate_load_balancer(req, &ctx)
}

/// Plans turning `current` into `desired` (full PUT body with the API's quirks, field diff).
pub fn plan(current: &LoadBalancer, desired: &LoadBalancer) -> UpdatePlan {
    plan_update(current, desired)
}

/// DigitalOcean's dry run of a planned update (`validate_only`). `Ok` holds local warnings.
pub async fn dry_run_update(
    conn: &Connection,
    plan: &UpdatePlan,
) -> Result<Vec<Finding>, ApiError> {
    Ok(conn.client.dry_run(plan).await?)
}

/// Applies a plan: refuses with `conflict` (and the changed fields in `details.changes`) when
/// the load balancer changed since the plan was made.
pub async fn apply_update(
    conn: &Connection,
    plan: &UpdatePlan,
    base: &LoadBalancer,
) -> Result<LoadBalancer, ApiError> {
    journaled(
        conn,
        crate::journal::ChangeKind::Update,
        base,
        plan.changes.clone(),
        async { Ok(Some(conn.client.apply(plan).await?)) },
    )
    .await?
    .ok_or_else(|| ApiError::internal("the update returned no load balancer"))
}

/// DigitalOcean's dry run of a create.
pub async fn dry_run_create(
    conn: &Connection,
    req: &LoadBalancerRequest,
) -> Result<Vec<Finding>, ApiError> {
    Ok(conn.client.validate_create(req).await?)
}

/// Sends a create (never retried: the API has no idempotency key). The caller says what was
/// created before following it to `active`, so a failed wait never hides the new id.
pub async fn create_request(
    conn: &Connection,
    req: &LoadBalancerRequest,
) -> Result<LoadBalancer, ApiError> {
    let (created, request_ids) =
        cutover_digitalocean::with_request_ids(conn.client.create_load_balancer(req)).await;
    let created = created?;
    // Journaled once it exists (there is no "before" of a create, and its id comes with it).
    if let Some(journal) = &conn.journal {
        let entry = crate::journal::entry(
            &conn.account_name,
            crate::journal::ChangeKind::Create,
            &created,
            Vec::new(),
        );
        let written = journal.begin(entry).and_then(|id| {
            journal.finish_with(&id, serde_json::to_value(&created).ok(), None, &request_ids)
        });
        if let Err(err) = written {
            tracing::warn!(lb = %created.id, "create not journaled: {}", err.message);
        }
    }
    Ok(created)
}

/// The account the token belongs to.
pub async fn account(conn: &Connection) -> Result<Account, ApiError> {
    Ok(conn.client.account().await?)
}

pub async fn list_certificates(conn: &Connection) -> Result<Vec<Certificate>, ApiError> {
    Ok(conn.client.list_certificates().await?)
}

/// All droplets, or those carrying `tag`.
pub async fn list_droplets(conn: &Connection, tag: Option<&str>) -> Result<Vec<Droplet>, ApiError> {
    Ok(match tag {
        Some(tag) => conn.client.list_droplets_by_tag(tag).await?,
        None => conn.client.list_droplets().await?,
    })
}

/// What DigitalOcean's `validate_only` answer means for the review panel.
fn dry_run_outcome<T>(answer: Result<T, cutover_digitalocean::Error>) -> DryRun {
    match answer {
        Ok(_) => DryRun::Ok,
        Err(err) => {
            let api = ApiError::from(err);
            DryRun::Refused {
                code: api.code,
                message: api.message,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_sandbox::{Sandbox, SandboxOptions};

    async fn sandbox() -> (cutover_sandbox::SandboxHandle, Connection) {
        crate::init_tls();
        let handle = Sandbox::start(SandboxOptions {
            activation_delay: Duration::ZERO,
            busy_window: Duration::ZERO,
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox");
        let conn = Connection::for_sandbox(&handle).expect("connection");
        (handle, conn)
    }

    #[tokio::test]
    async fn an_unchanged_list_is_not_sent_again_and_a_change_it_shows_is() {
        let (handle, conn) = sandbox().await;
        let first = list_since(&conn, None).await.unwrap();
        assert!(!first.unchanged && !first.load_balancers.is_empty());
        let again = list_since(&conn, Some(&first.fingerprint)).await.unwrap();
        assert!(again.unchanged, "nothing changed");
        assert!(again.load_balancers.is_empty() && again.kubernetes.is_empty());
        assert_eq!(again.fingerprint, first.fingerprint);
        let update = async |edit: &dyn Fn(&mut LbEdit)| {
            let lb = blog(&conn).await;
            let mut wanted = LbEdit::from_lb(&lb);
            edit(&mut wanted);
            conn.client
                .update_load_balancer(&lb.id, &plan(&lb, &wanted.apply_to(&lb)).request)
                .await
                .unwrap();
        };
        // A change the list does not show: nothing is sent.
        update(&|e| e.http_idle_timeout_seconds = Some(91)).await;
        let hidden = list_since(&conn, Some(&first.fingerprint)).await.unwrap();
        assert!(hidden.unchanged, "only the idle timeout changed");
        // One it shows: the list comes whole, with the new row.
        update(&|e| e.redirect_http_to_https = !e.redirect_http_to_https).await;
        let changed = list_since(&conn, Some(&first.fingerprint)).await.unwrap();
        assert!(!changed.unchanged);
        assert_ne!(changed.fingerprint, first.fingerprint);
        assert_eq!(changed.load_balancers.len(), first.load_balancers.len());
        let row = |list: &LbList| {
            let blog = list.load_balancers.iter().find(|r| r.name == "blog-https");
            blog.cloned().expect("blog's row")
        };
        assert_ne!(
            row(&changed).redirect_http_to_https,
            row(&first).redirect_http_to_https
        );
        handle.shutdown().await;
    }

    #[test]
    fn a_row_counts_droplets_and_flags_passthrough() {
        let mut lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "lb-1", "name": "shop", "status": "active", "ip": "203.0.113.5",
            "region": { "slug": "ams3", "name": "Amsterdam 3", "features": ["x"], "available": true },
            "type": "REGIONAL_NETWORK", "size_unit": 2, "droplet_ids": [1, 2, 3], "tag": "",
            "forwarding_rules": [
                { "entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80 }
            ],
            "redirect_http_to_https": true, "enable_proxy_protocol": false
        }))
        .unwrap();
        let row = LbRow::from(&lb);
        assert_eq!(row.droplet_count, 3);
        assert!(!row.passthrough && row.redirect_http_to_https && !row.enable_proxy_protocol);
        assert_eq!(row.lb_type.as_deref(), Some("REGIONAL_NETWORK"));
        assert_eq!(row.region.as_ref().map(|r| r.slug.as_str()), Some("ams3"));
        lb.forwarding_rules[0].tls_passthrough = true;
        assert!(LbRow::from(&lb).passthrough);
        // The row is what the page gets: no droplet ids, no rules, no region features.
        let json = serde_json::to_value(&row).unwrap();
        for absent in ["droplet_ids", "forwarding_rules", "features"] {
            assert!(!json.to_string().contains(absent), "{absent} in {json}");
        }
        assert_eq!(json["type"], "REGIONAL_NETWORK");
    }

    #[tokio::test]
    async fn members_by_id_by_tag_and_many_ids_agree_and_deleted_ids_are_missing() {
        let (handle, conn) = sandbox().await;
        let shop = find(&conn, cutover_sandbox::LB_SHOP_ID).await.unwrap();
        let names = |d: &[Droplet]| d.iter().map(droplet_label).collect::<Vec<_>>();
        // A few ids: read one by one.
        let (few, missing) = read_members(&conn, &shop).await.unwrap();
        assert_eq!(names(&few), ["web-1", "web-2", "web-3"]);
        assert!(missing.is_empty());
        // One id no droplet has any more: missing, not an error.
        let mut gone = shop.clone();
        gone.droplet_ids.push(999_999_001);
        let (found, missing) = read_members(&conn, &gone).await.unwrap();
        assert_eq!(names(&found), ["web-1", "web-2", "web-3"]);
        assert_eq!(missing, [999_999_001]);
        // Past the by-id limit the account's list is read: the same droplets.
        let mut many = gone.clone();
        many.droplet_ids
            .extend((0..MEMBERS_BY_ID as u64).map(|i| 999_999_100 + i));
        let (found, missing) = read_members(&conn, &many).await.unwrap();
        assert_eq!(names(&found), ["web-1", "web-2", "web-3"]);
        assert_eq!(missing.len(), MEMBERS_BY_ID + 1);
        // By tag: the tagged droplets.
        let api = find(&conn, cutover_sandbox::LB_API_ID).await.unwrap();
        let (tagged, _) = read_members(&conn, &api).await.unwrap();
        assert_eq!(names(&tagged), ["api-1", "api-2"]);
        handle.shutdown().await;
    }

    async fn blog(conn: &Connection) -> LoadBalancer {
        list(conn)
            .await
            .expect("list")
            .into_iter()
            .find(|lb| lb.name == "blog-https")
            .expect("blog-https is seeded")
    }

    /// The Sandbox's web droplets speak no PROXY protocol: turning it on for blog-https is
    /// predicted to fail both, and Apply then needs the name typed.
    #[tokio::test]
    async fn proxy_protocol_on_for_droplets_that_do_not_speak_it_is_predicted_and_guarded() {
        let (handle, conn) = sandbox().await;
        let before = blog(&conn).await;
        let mut after = before.clone();
        after.enable_proxy_protocol = true;
        let p = crate::preflight::check(&conn, &before, &after, None)
            .await
            .unwrap()
            .expect("a change the droplets notice");
        assert_eq!((p.passing_now, p.passing_after), (2, 0), "{}", p.summary);
        assert!(p.needs_confirmation);
        let err = refuse_risky(&before, Some(&p), None).unwrap_err();
        assert_eq!(err.details.as_ref().unwrap()["field"], "confirm");
        refuse_risky(&before, Some(&p), Some("blog-https")).unwrap();
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_lets_encrypt_certificate_with_dns_records_on_is_a_dns_change_warning() {
        let (handle, conn) = sandbox().await;
        let mut lb = blog(&conn).await;
        lb.disable_lets_encrypt_dns_records = false;
        let warnings = lets_encrypt_dns_warnings(&conn, &lb).await;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].code, "lets_encrypt.dns_record");
        assert!(
            warnings[0].message.contains("blog-le"),
            "{}",
            warnings[0].message
        );
        lb.disable_lets_encrypt_dns_records = true;
        assert!(lets_encrypt_dns_warnings(&conn, &lb).await.is_empty());
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn edit_plans_diffs_dry_runs_and_applies() {
        let (handle, conn) = sandbox().await;
        let sessions = EditSessions::default();
        let lb = blog(&conn).await;
        let start = begin_edit(&conn, &sessions, &lb.id).await.expect("begin");
        let mut edit = start.edit.clone();
        edit.redirect_http_to_https = false;
        let review = plan_edit(&conn, &sessions, &lb.id, &edit)
            .await
            .expect("plan");
        assert!(review.can_apply, "{review:?}");
        assert!(review
            .changes
            .iter()
            .any(|c| c.path == "redirect_http_to_https"));
        let mut seen = Vec::new();
        let applied = apply_edit(
            &conn,
            &sessions,
            &lb.id,
            &edit,
            &EditGuard::default(),
            |p| seen.push(p.status),
        )
        .await
        .expect("apply");
        assert!(!applied.redirect_http_to_https);
        assert_eq!(seen.last().map(String::as_str), Some("active"));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn stale_edit_is_a_conflict_naming_the_change() {
        let (handle, conn) = sandbox().await;
        let sessions = EditSessions::default();
        let lb = blog(&conn).await;
        let start = begin_edit(&conn, &sessions, &lb.id).await.expect("begin");
        // Someone else changes the idle timeout meanwhile.
        let mut other = lb.clone();
        other.http_idle_timeout_seconds = Some(120);
        let plan = plan_update(&lb, &other);
        conn.client.apply(&plan).await.expect("other change");
        let mut edit = start.edit;
        edit.redirect_http_to_https = false;
        let err = apply_edit(
            &conn,
            &sessions,
            &lb.id,
            &edit,
            &EditGuard::default(),
            |_| {},
        )
        .await
        .expect_err("conflict");
        assert_eq!(err.code, ErrorCode::Conflict);
        let details = err.details.expect("details");
        assert!(details["changes"]
            .to_string()
            .contains("http_idle_timeout_seconds"));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn invalid_edit_is_not_sent() {
        let (handle, conn) = sandbox().await;
        let sessions = EditSessions::default();
        let lb = blog(&conn).await;
        let start = begin_edit(&conn, &sessions, &lb.id).await.expect("begin");
        let mut edit = start.edit;
        // Redirect without the HTTP 80 rule to redirect from.
        edit.forwarding_rules.retain(|r| r.entry_port != 80);
        let findings = validate_edit(&sessions, &lb.id, &edit).expect("validate");
        assert!(findings.iter().any(|f| f.code == "redirect.needs_http_80"));
        let review = plan_edit(&conn, &sessions, &lb.id, &edit)
            .await
            .expect("plan");
        assert!(!review.can_apply);
        assert!(matches!(review.dry_run, DryRun::Skipped { .. }));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn detail_resolves_droplets_by_tag() {
        let (handle, conn) = sandbox().await;
        let lbs = list(&conn).await.expect("list");
        let api = lbs
            .iter()
            .find(|lb| lb.name == "api-by-tag")
            .expect("seeded");
        let d = detail(&conn, &api.id).await.expect("detail");
        let names: Vec<_> = d.droplets.iter().map(|d| d.name.as_str()).collect();
        assert!(
            names.contains(&"api-1") && names.contains(&"api-2"),
            "{names:?}"
        );
        assert!(d.droplets.iter().all(|d| !d.private_ipv4.is_empty()));
        handle.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The droplets of a load balancer, and the load balancers the check and rehearsal views offer.
// (Appended after the tests while the rest of this file is being reworked; move them up then.)
// ---------------------------------------------------------------------------------------------

/// Whether `droplet` is behind `lb`: its id is in `droplet_ids`, or `lb` picks its droplets by a
/// tag the droplet carries (DigitalOcean fills a tag-based load balancer's `droplet_ids` itself,
/// but a droplet tagged a moment ago may not be in it yet). The one meaning of "the droplets of a
/// load balancer" in core: certificate checks, rehearsal and DNS verify all use it.
pub fn is_member(lb: &LoadBalancer, droplet: &Droplet) -> bool {
    lb.droplet_ids.contains(&droplet.id)
        || (lb.is_tag_based() && droplet.tags.iter().any(|t| t == lb.tag.trim()))
}

/// The droplets among `droplets` (all of the account's, or any list) that are behind `lb`, in
/// their order.
pub fn member_droplets<'a>(lb: &LoadBalancer, droplets: &'a [Droplet]) -> Vec<&'a Droplet> {
    droplets.iter().filter(|d| is_member(lb, d)).collect()
}

/// The droplets behind `lb`, read from the account ([`is_member`]).
pub async fn members(conn: &Connection, lb: &LoadBalancer) -> Result<Vec<Droplet>, ApiError> {
    Ok(read_members(conn, lb).await?.0)
}

/// Up to this many droplets by id are read one by one; more, and the account's list is read
/// once (pages of 200) — whichever costs fewer requests for a load balancer of a few droplets.
const MEMBERS_BY_ID: usize = 20;

/// The droplets behind `lb` and the ids it lists that no longer exist. What it costs follows
/// the load balancer, not the account: a tag is one filtered list, a few droplets by id are
/// read each (at most [`MEMBERS_BY_ID`] requests, in parallel); only a long id list reads the
/// account's droplets.
async fn read_members(
    conn: &Connection,
    lb: &LoadBalancer,
) -> Result<(Vec<Droplet>, Vec<u64>), ApiError> {
    let found: Vec<Droplet> = if lb.is_tag_based() {
        conn.client.list_droplets_by_tag(lb.tag.trim()).await?
    } else if lb.droplet_ids.len() <= MEMBERS_BY_ID {
        let reads = lb.droplet_ids.iter().map(|id| conn.client.get_droplet(*id));
        let mut found = Vec::with_capacity(lb.droplet_ids.len());
        for read in futures::future::join_all(reads).await {
            match read {
                Ok(droplet) => found.push(droplet),
                // Deleted since it was added: reported as missing below.
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err.into()),
            }
        }
        found
    } else {
        conn.client
            .list_droplets()
            .await?
            .into_iter()
            .filter(|d| is_member(lb, d))
            .collect()
    };
    let missing = lb
        .droplet_ids
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|d| d.id == *id))
        .collect();
    Ok((found, missing))
}

/// A droplet as people name it: its name, or its id when it has none.
pub fn droplet_label(droplet: &Droplet) -> String {
    if droplet.name.is_empty() {
        droplet.id.to_string()
    } else {
        droplet.name.clone()
    }
}

/// A load balancer as the check and rehearsal views offer it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbChoice {
    pub id: String,
    pub name: String,
    /// Has a rule through which the droplets serve TLS themselves (SSL passthrough, or tcp on
    /// 443): the kind the local balancer rehearses and the certificate check prefers.
    pub passthrough: bool,
    pub proxy_protocol: bool,
    /// Domain suggestions: the load balancer's domains and its certificates' names.
    pub domains: Vec<String>,
    /// Names of the certificates its HTTPS rules terminate with, when it terminates TLS.
    pub certificates: Vec<String>,
}

/// The load balancers of the account, with domain suggestions for each.
pub async fn lb_choices(conn: &Connection) -> Result<Vec<LbChoice>, ApiError> {
    let lbs = conn.client.list_load_balancers().await?;
    // Certificates only feed suggestions: without them the user can still type a domain.
    let certs = conn.client.list_certificates().await.unwrap_or_default();
    Ok(lbs
        .into_iter()
        .map(|lb| {
            let mut domains: Vec<String> = lb
                .domains
                .iter()
                .flatten()
                .map(|d| d.name.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            let mut certificates = Vec::new();
            for rule in &lb.forwarding_rules {
                let Some(id) = rule.certificate() else {
                    continue;
                };
                if let Some(cert) = certs.iter().find(|c| c.id == id) {
                    certificates.push(cert.name.clone());
                    domains.extend(cert.names().map(|n| n.trim_start_matches("*.").to_string()));
                }
            }
            domains.sort();
            domains.dedup();
            LbChoice {
                passthrough: passthrough_like_rule(&lb).is_some(),
                proxy_protocol: lb.enable_proxy_protocol,
                id: lb.id,
                name: lb.name,
                domains,
                certificates,
            }
        })
        .collect())
}
