//! Moving to a new load balancer: the fields DigitalOcean never lets an edit change (region,
//! VPC, type, network, network stack) need a new load balancer, a new IP and a DNS cutover —
//! in the right order, or the old IP is lost while names still point at it.
//!
//! A replacement is a plan persisted in the app data dir (`<data dir>/replacements/`, one file
//! per replacement keyed by the old load balancer's id, written whole through
//! [`crate::files::write_atomic`]), so it can be resumed after the app or the CLI stopped. Its
//! steps run in order; each reads the state from the API again before acting, so resuming
//! never repeats a done write: above all the create, whose new id is recorded the moment the
//! API answers (a second create would be a second billed load balancer). Nothing is deleted
//! automatically: the old load balancer goes only after a verified DNS cutover, the waiting
//! period the user chose, and its name typed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use cutover_digitalocean::{LoadBalancer, LoadBalancerRequest};

use crate::error::{ApiError, ErrorCode};
use crate::lb::Follow;
use crate::session::Session;

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    /// The old load balancer's configuration copied, with the fixed fields the user set.
    Copy,
    /// DigitalOcean's `validate_only` of the create.
    DryRun,
    Create,
    /// Followed until `active`.
    Active,
    /// The backend certificate check against the new load balancer.
    Certificates,
    /// The rehearsal's config built from the new load balancer.
    Rehearsal,
    /// DNS moved from the old load balancer's IP to the new one.
    Dns,
    /// The nameservers answer the new IP (and HTTPS answers there).
    Verify,
    /// The waiting period the user chose, after the verify.
    Wait,
    /// The old load balancer deleted, with its name typed.
    DeleteOld,
}

impl StepId {
    pub const ALL: [StepId; 10] = [
        StepId::Copy,
        StepId::DryRun,
        StepId::Create,
        StepId::Active,
        StepId::Certificates,
        StepId::Rehearsal,
        StepId::Dns,
        StepId::Verify,
        StepId::Wait,
        StepId::DeleteOld,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StepId::Copy => "copy the configuration",
            StepId::DryRun => "dry run",
            StepId::Create => "create",
            StepId::Active => "wait until active",
            StepId::Certificates => "certificate check",
            StepId::Rehearsal => "rehearsal config",
            StepId::Dns => "DNS cutover",
            StepId::Verify => "verify",
            StepId::Wait => "waiting period",
            StepId::DeleteOld => "delete the old load balancer",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Done,
    /// Nothing to do for this load balancer (e.g. no certificate on the droplets).
    Skipped,
    /// Waits for the user (a typed name, an approval, the waiting period).
    Blocked,
    /// Tried and failed; running again retries it.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: StepId,
    pub status: StepStatus,
    /// What happened, or what the step waits for.
    pub message: String,
    /// RFC 3339, when the status was set.
    pub at: Option<String>,
}

/// The fields an edit cannot change, as the user sets them for the new load balancer; `None`
/// keeps the old one's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct FixedFields {
    pub region: Option<String>,
    pub vpc_uuid: Option<String>,
    /// `REGIONAL`, `REGIONAL_NETWORK`, `GLOBAL`.
    pub lb_type: Option<String>,
    /// `EXTERNAL`, `INTERNAL`.
    pub network: Option<String>,
    /// `IPV4`, `DUALSTACK`.
    pub network_stack: Option<String>,
}

impl FixedFields {
    /// `key=value` pairs as the CLI's `--set` gives them.
    pub fn from_sets(sets: &[String]) -> Result<Self, ApiError> {
        let mut f = FixedFields::default();
        for set in sets {
            let Some((key, value)) = set.split_once('=') else {
                return Err(ApiError::invalid_input(format!(
                    "\"{set}\" is not KEY=VALUE (e.g. network_stack=DUALSTACK)."
                ))
                .with_details(serde_json::json!({ "field": "set" })));
            };
            let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
            match key.trim() {
                "region" => f.region = value,
                "vpc_uuid" => f.vpc_uuid = value,
                "type" => f.lb_type = value.map(|v| v.to_uppercase()),
                "network" => f.network = value.map(|v| v.to_uppercase()),
                "network_stack" => f.network_stack = value.map(|v| v.to_uppercase()),
                other => {
                    return Err(ApiError::invalid_input(format!(
                        "\"{other}\" is not a field that needs a new load balancer: use region, vpc_uuid, type, network or network_stack (the others change with cutover lb update)."
                    ))
                    .with_details(serde_json::json!({ "field": "set" })))
                }
            }
        }
        Ok(f)
    }

    /// The create body for the new load balancer: the old one's, these fields over it.
    fn apply(&self, req: &mut LoadBalancerRequest) {
        if let Some(region) = &self.region {
            if req.region.as_deref() != Some(region) {
                req.region = Some(region.clone());
                // A VPC belongs to one region: the new region's default, unless one was set.
                req.vpc_uuid = None;
            }
        }
        if let Some(v) = &self.vpc_uuid {
            req.vpc_uuid = Some(v.clone());
        }
        if let Some(v) = &self.lb_type {
            req.lb_type = Some(v.clone());
        }
        if let Some(v) = &self.network {
            req.network = Some(v.clone());
        }
        if let Some(v) = &self.network_stack {
            req.network_stack = Some(v.clone());
        }
    }

    /// Which fields differ from `lb`'s, as `field: old → new`.
    pub fn differences(&self, lb: &LoadBalancer) -> Vec<String> {
        let old = lb.to_request();
        let mut new = old.clone();
        self.apply(&mut new);
        let mut out = Vec::new();
        let mut cmp = |name: &str, a: &Option<String>, b: &Option<String>| {
            let a = a.as_deref().unwrap_or("(default)");
            let b = b.as_deref().unwrap_or("(default)");
            if !a.eq_ignore_ascii_case(b) {
                out.push(format!("{name}: {a} → {b}"));
            }
        };
        cmp("region", &old.region, &new.region);
        cmp("type", &old.lb_type, &new.lb_type);
        cmp("network", &old.network, &new.network);
        cmp("network_stack", &old.network_stack, &new.network_stack);
        if self.vpc_uuid.is_some() {
            cmp("vpc_uuid", &old.vpc_uuid, &new.vpc_uuid);
        }
        out
    }
}

/// What the user chooses when starting a replacement.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplaceInput {
    pub fixed: FixedFields,
    /// The new load balancer's name; default `<old name>-new`.
    pub new_name: Option<String>,
    /// The domain whose records move from the old IP to the new one (hosted in the account's
    /// Domains); without it the DNS steps wait for one.
    pub domain: Option<String>,
    /// The names in the domain (`@`, `www`, `blog`); default apex and `www`.
    pub names: Vec<String>,
    /// How long to wait after a successful verify before the old one may be deleted.
    #[specta(type = f64)]
    pub wait_secs: u64,
}

/// One replacement, as persisted.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Replacement {
    pub old_id: String,
    pub old_name: String,
    pub old_ip: String,
    pub account: String,
    /// RFC 3339.
    pub started_at: String,
    pub fixed: FixedFields,
    /// `field: old → new` for the fixed fields that change.
    pub differences: Vec<String>,
    /// The create body (the old configuration, the fixed fields over it).
    pub request: LoadBalancerRequest,
    /// Recorded as soon as the create's answer arrives.
    pub new_id: Option<String>,
    pub new_ip: Option<String>,
    pub new_ipv6: Option<String>,
    pub domain: Option<String>,
    pub names: Vec<String>,
    #[specta(type = f64)]
    pub wait_secs: u64,
    /// Unix seconds of the successful verify.
    #[specta(type = Option<f64>)]
    pub verified_at: Option<i64>,
    pub steps: Vec<Step>,
    /// The old load balancer is gone: nothing left to do.
    pub finished: bool,
}

impl Replacement {
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    fn set(&mut self, id: StepId, status: StepStatus, message: impl Into<String>) {
        let at = now_rfc3339();
        if let Some(s) = self.steps.iter_mut().find(|s| s.id == id) {
            s.status = status;
            s.message = message.into();
            s.at = Some(at);
        }
    }

    fn is_settled(&self, id: StepId) -> bool {
        self.step(id)
            .is_some_and(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped))
    }

    /// The first step not done or skipped.
    pub fn current(&self) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| !matches!(s.status, StepStatus::Done | StepStatus::Skipped))
    }

    /// When the old load balancer may be deleted (unix seconds), once verified.
    pub fn delete_allowed_at(&self) -> Option<i64> {
        self.verified_at
            .map(|t| t + i64::try_from(self.wait_secs).unwrap_or(i64::MAX / 2))
    }
}

/// The replacements folder.
#[derive(Debug, Clone)]
pub struct ReplaceStore {
    dir: PathBuf,
}

impl ReplaceStore {
    /// `<data dir>/replacements`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("replacements"),
        }
    }

    /// The folder both front ends share, when the OS has a data folder.
    pub fn default_location() -> Option<Self> {
        crate::journal::default_data_dir().map(|d| Self::in_data_dir(&d))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `replace-<old id>.json`; the id's characters are limited so no name leaves the folder.
    pub fn path_for(&self, old_id: &str) -> PathBuf {
        let safe: String = old_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("replace-{safe}.json"))
    }

    /// The replacement of load balancer `old_id`, if one was started.
    pub fn load(&self, old_id: &str) -> Result<Option<Replacement>, ApiError> {
        let path = self.path_for(old_id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ApiError::new(
                    ErrorCode::Io,
                    format!(
                        "{} is not a replacement plan ({e}): fix or move it away; Cutover left it untouched.",
                        path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::files::write_error(&path, &e)),
        }
    }

    pub fn save(&self, plan: &Replacement) -> Result<(), ApiError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| crate::files::write_error(&self.dir, &e))?;
        let bytes = serde_json::to_vec_pretty(plan)
            .map_err(|e| ApiError::internal(format!("could not encode the replacement: {e}")))?;
        crate::files::write_atomic(&self.path_for(&plan.old_id), &bytes)
    }

    /// Every replacement in the folder, newest first (unreadable files are logged and left).
    pub fn list(&self) -> Result<Vec<Replacement>, ApiError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(crate::files::write_error(&self.dir, &e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("replace-") && name.ends_with(".json")) {
                continue;
            }
            match std::fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<Replacement>(&b).ok())
            {
                Some(r) => out.push(r),
                None => tracing::warn!("{} is not a replacement plan; skipped", name),
            }
        }
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        Ok(out)
    }

    /// Forgets a replacement (the user abandons it; nothing at DigitalOcean is touched).
    pub fn remove(&self, old_id: &str) -> Result<bool, ApiError> {
        let path = self.path_for(old_id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(crate::files::write_error(&path, &e)),
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Starts a replacement of load balancer `lb` (id or unique name): copies its configuration
/// with the fixed fields set, checks the copy with the shared validator, and saves the plan.
/// Refused when one is already under way (resume it), or when no fixed field changes.
pub async fn start(
    session: &Session,
    store: &ReplaceStore,
    lb: &str,
    input: &ReplaceInput,
) -> Result<Replacement, ApiError> {
    let conn = &session.connection;
    let old = crate::lb::find(conn, lb).await?;
    if let Some(existing) = store.load(&old.id)? {
        if !existing.finished {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "A replacement of \"{}\" is already under way (started {}): resume it, or abandon it first.",
                    old.name, existing.started_at
                ),
            )
            .with_details(serde_json::json!({ "field": "lb", "resume": true })));
        }
    }
    crate::kubernetes::refuse_unless_overridden(&old, None, &[], false)?;
    let differences = input.fixed.differences(&old);
    if differences.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "Nothing needs a new load balancer: set region, vpc_uuid, type, network or network_stack to something other than \"{}\" has (other fields change with an edit).",
            old.name
        ))
        .with_details(serde_json::json!({ "field": "fixed" })));
    }
    let mut request = old.to_request();
    request.name = input
        .new_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-new", old.name));
    input.fixed.apply(&mut request);
    // With a Let's Encrypt certificate attached and this off, DigitalOcean points the
    // certificate's names at the new load balancer the moment it is created: a DNS cutover
    // before any check. Off on the copy, DNS moves only at the DNS step.
    let le_dns_off = !request.disable_lets_encrypt_dns_records;
    request.disable_lets_encrypt_dns_records = true;
    let domain = match input
        .domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => Some(crate::dns::normalize_domain(d)?),
        None => None,
    };
    let mut plan = Replacement {
        old_id: old.id.clone(),
        old_name: old.name.clone(),
        old_ip: old.ip.clone(),
        account: conn.account_name.clone(),
        started_at: now_rfc3339(),
        fixed: input.fixed.clone(),
        differences,
        request,
        new_id: None,
        new_ip: None,
        new_ipv6: None,
        domain,
        names: input.names.clone(),
        wait_secs: input.wait_secs,
        verified_at: None,
        steps: StepId::ALL
            .iter()
            .map(|id| Step {
                id: *id,
                status: StepStatus::Pending,
                message: String::new(),
                at: None,
            })
            .collect(),
        finished: false,
    };
    let findings = crate::lb::check(&plan.request, None);
    if let Some(message) = crate::lb::rejection_message(&findings) {
        return Err(crate::lb::not_sent(message, &findings));
    }
    let mut copied = format!(
        "copied \"{}\" as \"{}\" with {}",
        plan.old_name,
        plan.request.name,
        plan.differences.join(", ")
    );
    if le_dns_off {
        copied.push_str(
            "; DigitalOcean's Let's Encrypt DNS records turned off on the copy, so DNS moves only at the DNS step",
        );
    }
    plan.set(StepId::Copy, StepStatus::Done, copied);
    store.save(&plan)?;
    Ok(plan)
}

/// What the user decided for the steps that need a decision; the rest runs unattended.
#[derive(Debug, Clone, Default)]
pub struct Advance {
    pub follow: Follow,
    /// The DNS change was reviewed and approved (CLI `--yes`, the app's Apply button). On a
    /// protected account the domain must be typed too (`dns_confirm`).
    pub dns_approved: bool,
    pub dns_confirm: Option<String>,
    /// Apply the DNS change although readiness items are red.
    pub dns_force: bool,
    /// Where the DNS rollback set is kept.
    pub dns_dir: PathBuf,
    pub verify_timeout: Option<Duration>,
    /// The old load balancer's name, typed: the only way it is deleted.
    pub delete_confirm: Option<String>,
    /// Change the domain or the waiting period on resume.
    pub domain: Option<String>,
    pub wait_secs: Option<u64>,
}

/// What the app sends with "Continue": the decisions [`Advance`] holds, without the paths and
/// timings the front end does not choose.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplaceDecision {
    pub dns_approved: bool,
    pub dns_confirm: Option<String>,
    pub dns_force: bool,
    pub delete_confirm: Option<String>,
    pub domain: Option<String>,
    #[specta(type = Option<f64>)]
    pub wait_secs: Option<u64>,
}

impl Advance {
    /// The app's decisions, the DNS rollback sets kept in `dns_dir`.
    pub fn from_decision(d: &ReplaceDecision, dns_dir: PathBuf) -> Self {
        Self {
            dns_approved: d.dns_approved,
            dns_confirm: d.dns_confirm.clone(),
            dns_force: d.dns_force,
            dns_dir,
            delete_confirm: d.delete_confirm.clone(),
            domain: d.domain.clone(),
            wait_secs: d.wait_secs,
            ..Default::default()
        }
    }
}

/// What a step came to.
enum Outcome {
    Done(String),
    Skipped(String),
    /// Stop here and wait for the user.
    Blocked(String),
}

/// Runs the pending steps of the replacement of `old_id` in order, saving the plan after each
/// (and `progress` sees it), until all are done or one waits for the user (`Blocked`: the plan
/// is returned) or fails (the error is returned, the plan saved with the step `Failed`).
pub async fn advance(
    session: &Session,
    store: &ReplaceStore,
    old_id: &str,
    opts: &Advance,
    mut progress: impl FnMut(&Replacement),
) -> Result<Replacement, ApiError> {
    let mut plan = store.load(old_id)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("No replacement of load balancer {old_id} was started."),
        )
        .with_details(serde_json::json!({ "field": "lb" }))
    })?;
    if let Some(d) = opts
        .domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        plan.domain = Some(crate::dns::normalize_domain(d)?);
    }
    if let Some(w) = opts.wait_secs {
        plan.wait_secs = w;
    }
    for id in StepId::ALL {
        if plan.is_settled(id) {
            continue;
        }
        let result = run_step(session, store, &mut plan, id, opts).await;
        match result {
            Ok(Outcome::Done(m)) => plan.set(id, StepStatus::Done, m),
            Ok(Outcome::Skipped(m)) => plan.set(id, StepStatus::Skipped, m),
            Ok(Outcome::Blocked(m)) => {
                plan.set(id, StepStatus::Blocked, m);
                store.save(&plan)?;
                progress(&plan);
                return Ok(plan);
            }
            Err(err) => {
                plan.set(id, StepStatus::Failed, err.message.clone());
                store.save(&plan)?;
                progress(&plan);
                return Err(err);
            }
        }
        if id == StepId::DeleteOld {
            plan.finished = true;
        }
        store.save(&plan)?;
        progress(&plan);
    }
    Ok(plan)
}

fn new_id(plan: &Replacement) -> Result<String, ApiError> {
    plan.new_id
        .clone()
        .ok_or_else(|| ApiError::internal("the new load balancer's id was not recorded"))
}

async fn run_step(
    session: &Session,
    store: &ReplaceStore,
    plan: &mut Replacement,
    id: StepId,
    opts: &Advance,
) -> Result<Outcome, ApiError> {
    let conn = &session.connection;
    match id {
        // `start` did it; a plan without it was not made by `start`.
        StepId::Copy => Ok(Outcome::Done("copied".into())),
        StepId::DryRun => {
            if plan.new_id.is_some() {
                return Ok(Outcome::Skipped("already created".into()));
            }
            crate::lb::dry_run_create(conn, &plan.request).await?;
            Ok(Outcome::Done("DigitalOcean would accept the create".into()))
        }
        StepId::Create => create_step(session, store, plan).await,
        StepId::Active => {
            let id = new_id(plan)?;
            let lb = crate::lb::follow_to_active(conn, &id, opts.follow, |_| {}).await?;
            plan.new_ip = Some(lb.ip.clone()).filter(|ip| !ip.is_empty());
            plan.new_ipv6 = lb.ipv6.clone().filter(|ip| !ip.is_empty());
            Ok(Outcome::Done(format!(
                "\"{}\" is active at {}{}",
                lb.name,
                lb.ip,
                plan.new_ipv6
                    .as_deref()
                    .map(|v6| format!(" and {v6}"))
                    .unwrap_or_default()
            )))
        }
        StepId::Certificates => {
            let id = new_id(plan)?;
            let lb = crate::lb::find(conn, &id).await?;
            if crate::lb::tls_rule(&lb).is_none() {
                return Ok(Outcome::Skipped(
                    "the load balancer terminates TLS: the droplets serve no certificate to check"
                        .into(),
                ));
            }
            let Some(domain) = plan.domain.clone() else {
                return Ok(Outcome::Blocked(
                    "name the domain to check the droplets' certificates for".into(),
                ));
            };
            let report = crate::certs::check_load_balancer(
                conn,
                &id,
                &domain,
                &crate::certs::CertCheckOptions::default(),
                |_| {},
            )
            .await?;
            if report.verdict.ok {
                Ok(Outcome::Done(report.verdict.summary))
            } else {
                Err(ApiError::new(
                    ErrorCode::NotReady,
                    format!(
                        "The certificate check of the new load balancer failed: {}",
                        report.verdict.summary
                    ),
                ))
            }
        }
        StepId::Rehearsal => {
            let id = new_id(plan)?;
            let lb = crate::lb::find(conn, &id).await?;
            if crate::lb::passthrough_like_rule(&lb).is_none() {
                return Ok(Outcome::Skipped(
                    "no SSL-passthrough or tcp:443 rule: the local balancer rehearses only what the droplets serve as TLS themselves".into(),
                ));
            }
            let options = crate::rehearse::config::RehearseOptions {
                domains: plan.domain.iter().cloned().collect(),
                ..Default::default()
            };
            let config = crate::rehearse::config::from_load_balancer(conn, &id, &options).await?;
            Ok(Outcome::Done(format!(
                "the rehearsal config builds: {} backend(s) for {}",
                config.backends.len(),
                if config.domains.is_empty() {
                    "every name".to_string()
                } else {
                    config.domains.join(", ")
                }
            )))
        }
        StepId::Dns => dns_step(session, plan, opts).await,
        StepId::Verify => verify_step(session, plan, opts).await,
        StepId::Wait => match plan.delete_allowed_at() {
            Some(at) if now_unix() >= at => Ok(Outcome::Done(format!(
                "waited {} s after the verify",
                plan.wait_secs
            ))),
            Some(at) => Ok(Outcome::Blocked(format!(
                "the old load balancer may be deleted after {} ({} s from now)",
                rfc3339(at),
                at - now_unix()
            ))),
            None => Err(ApiError::internal("verified without a time")),
        },
        StepId::DeleteOld => {
            let old = match crate::lb::find(conn, &plan.old_id).await {
                Ok(lb) => lb,
                Err(err) if err.code == ErrorCode::NotFound => {
                    return Ok(Outcome::Done(
                        "the old load balancer is already gone".into(),
                    ))
                }
                Err(err) => return Err(err),
            };
            // DNS may have moved back since the verify (a rollback, a hand edit): deleting the
            // old load balancer then would take the site down. Asked again every time.
            if let Some(why) = dns_moved_back(session, plan).await? {
                return Ok(Outcome::Blocked(why));
            }
            // Always typed here, protected account or not: the old IP is gone for good.
            if !crate::session::typed_matches(&old.name, opts.delete_confirm.as_deref()) {
                return Ok(Outcome::Blocked(format!(
                    "type the old load balancer's name ({}) to delete it",
                    old.name
                )));
            }
            let deleted = crate::lb::delete(
                session,
                None,
                &old.id,
                opts.delete_confirm.as_deref(),
                false,
            )
            .await?;
            Ok(Outcome::Done(format!(
                "deleted \"{}\" ({})",
                deleted.name, deleted.ip
            )))
        }
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// The create, at most once: with a recorded id the load balancer is read back instead; the id
/// is saved the moment the API answers.
async fn create_step(
    session: &Session,
    store: &ReplaceStore,
    plan: &mut Replacement,
) -> Result<Outcome, ApiError> {
    let conn = &session.connection;
    if let Some(id) = plan.new_id.clone() {
        return match conn.client.get_load_balancer(&id).await {
            Ok(lb) => Ok(Outcome::Done(format!(
                "\"{}\" ({}) was created earlier; not created again",
                lb.name, lb.id
            ))),
            Err(err) => {
                let err = ApiError::from(err);
                if err.code == ErrorCode::NotFound {
                    Err(ApiError::new(
                        ErrorCode::NotFound,
                        format!(
                            "The new load balancer {id} this replacement created is gone (deleted elsewhere?): abandon the replacement and start again."
                        ),
                    ))
                } else {
                    Err(err)
                }
            }
        };
    }
    // A create whose answer never arrived (killed between send and record) left a load
    // balancer with this name: refuse rather than create a second one.
    let all = conn.client.list_load_balancers().await?;
    if let Some(same) = all.iter().find(|lb| lb.name == plan.request.name) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "A load balancer named \"{}\" ({}) exists already: if this replacement created it, delete it or choose another name; nothing was created.",
                same.name, same.id
            ),
        )
        .with_details(serde_json::json!({ "id": same.id })));
    }
    let created = crate::lb::create_request(conn, &plan.request).await?;
    plan.new_id = Some(created.id.clone());
    plan.new_ip = Some(created.ip.clone()).filter(|ip| !ip.is_empty());
    // Saved before anything else can fail: a resume must find this id.
    plan.set(
        StepId::Create,
        StepStatus::Done,
        format!("created \"{}\" ({})", created.name, created.id),
    );
    store.save(plan)?;
    Ok(Outcome::Done(format!(
        "created \"{}\" ({})",
        created.name, created.id
    )))
}

/// The DNS plan from the old IP to the new load balancer, refused when the names point
/// somewhere else than the old or the new load balancer (that is not this cutover's to move).
async fn dns_plan(
    session: &Session,
    plan: &Replacement,
) -> Result<Option<crate::dns::DnsPlan>, ApiError> {
    let conn = &session.connection;
    let Some(domain) = plan.domain.clone() else {
        return Ok(None);
    };
    let id = new_id(plan)?;
    let dns = crate::dns::plan_for(conn, &domain, &id, &plan.names, None).await?;
    let ours = |data: &str| {
        data == plan.old_ip
            || Some(data) == plan.new_ip.as_deref()
            || Some(data) == plan.new_ipv6.as_deref()
    };
    let foreign: Vec<String> = dns
        .rollback
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "A" | "AAAA") && !ours(&r.data))
        .map(|r| {
            format!(
                "{} {} {}",
                crate::dns::fqdn(&r.name, &domain),
                r.kind,
                r.data
            )
        })
        .collect();
    if !foreign.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "These records do not point at the old load balancer ({}): {}. Choose the names that do (nothing was changed).",
            plan.old_ip,
            foreign.join("; ")
        ))
        .with_details(serde_json::json!({ "field": "names", "records": foreign })));
    }
    Ok(Some(dns))
}

async fn dns_step(
    session: &Session,
    plan: &mut Replacement,
    opts: &Advance,
) -> Result<Outcome, ApiError> {
    let Some(dns) = dns_plan(session, plan).await? else {
        return Ok(Outcome::Blocked(
            "name the domain whose records move to the new load balancer".into(),
        ));
    };
    if dns.changes.is_empty() {
        return Ok(Outcome::Done(format!(
            "{} already points at the new load balancer",
            dns.domain
        )));
    }
    let lines: Vec<String> = dns
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {:?} {} → {}",
                crate::dns::fqdn(&c.name, &dns.domain),
                c.action,
                c.before.as_ref().map(|v| v.data.as_str()).unwrap_or("-"),
                c.after.as_ref().map(|v| v.data.as_str()).unwrap_or("-"),
            )
        })
        .collect();
    if !opts.dns_approved {
        return Ok(Outcome::Blocked(format!(
            "approve the DNS change: {}",
            lines.join("; ")
        )));
    }
    let guard = crate::dns::ApplyGuard {
        force: opts.dns_force,
        confirm: opts.dns_confirm.clone(),
        ..Default::default()
    };
    let new_id = new_id(plan)?;
    match crate::dns::apply_reviewed(session, &new_id, &dns, &guard, &opts.dns_dir).await {
        Ok(applied) => Ok(Outcome::Done(format!(
            "{} change(s): {} (rollback set in {})",
            applied.applied.len(),
            lines.join("; "),
            applied.rollback_file
        ))),
        Err(err) if err.code == ErrorCode::NotReady => Ok(Outcome::Blocked(err.message)),
        Err(err) => Err(err),
    }
}

/// Why the old load balancer must not be deleted now: the domain's names no longer all answer
/// the new load balancer's addresses (asked of the zone's nameservers for a few seconds).
/// `None` when they do, or when the replacement moved no domain.
async fn dns_moved_back(session: &Session, plan: &Replacement) -> Result<Option<String>, ApiError> {
    let conn = &session.connection;
    let Some(domain) = plan.domain.clone() else {
        return Ok(None);
    };
    let id = new_id(plan)?;
    let dns = crate::dns::plan_for(conn, &domain, &id, &plan.names, None).await?;
    let nameserver = match session.sandbox() {
        Some(sb) => Some(sb.dns_addr()),
        None => crate::dns::sandbox_nameserver(conn).await,
    };
    let vopts = crate::dns::VerifyOptions {
        timeout: std::time::Duration::from_secs(5),
        interval: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let v = crate::dns::verify(conn, &dns, nameserver, &vopts, |_| {}).await?;
    Ok((!v.dns_ok).then(|| {
        format!(
            "{domain} does not point at the new load balancer any more ({}): the old one is kept — run the DNS step again, or abandon",
            v.message
        )
    }))
}

async fn verify_step(
    session: &Session,
    plan: &mut Replacement,
    opts: &Advance,
) -> Result<Outcome, ApiError> {
    let conn = &session.connection;
    let Some(domain) = plan.domain.clone() else {
        return Ok(Outcome::Blocked("name the domain to verify".into()));
    };
    let id = new_id(plan)?;
    let dns = crate::dns::plan_for(conn, &domain, &id, &plan.names, None).await?;
    let nameserver = match session.sandbox() {
        Some(sb) => Some(sb.dns_addr()),
        None => crate::dns::sandbox_nameserver(conn).await,
    };
    let mut vopts = crate::dns::VerifyOptions {
        https_addr: crate::dns::sandbox_https_addr(conn, &id).await,
        ca_pem: conn.extra_ca_pem.clone(),
        ..Default::default()
    };
    if let Some(t) = opts.verify_timeout {
        vopts.timeout = t;
    }
    let v = crate::dns::verify(conn, &dns, nameserver, &vopts, |_| {}).await?;
    let https_ok = v.https.as_ref().is_none_or(|h| h.ok);
    if v.dns_ok && https_ok {
        plan.verified_at = Some(now_unix());
        Ok(Outcome::Done(v.message))
    } else {
        Err(ApiError::new(
            ErrorCode::NotReady,
            format!(
                "Not verified yet: {} Run again to retry; the old load balancer is kept.",
                v.message
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_parse_and_unknown_fields_are_refused() {
        let f = FixedFields::from_sets(&["network_stack=dualstack".into(), "region=ams3".into()])
            .unwrap();
        assert_eq!(f.network_stack.as_deref(), Some("DUALSTACK"));
        assert_eq!(f.region.as_deref(), Some("ams3"));
        assert!(FixedFields::from_sets(&["name=x".into()]).is_err());
        assert!(FixedFields::from_sets(&["region".into()]).is_err());
    }

    #[test]
    fn a_new_region_drops_the_old_vpc_and_differences_name_what_changes() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6", "name": "web",
            "region": {"slug": "nyc3"}, "vpc_uuid": "v-nyc3", "network_stack": "IPV4",
            "forwarding_rules": [],
        }))
        .unwrap();
        let same = FixedFields {
            network_stack: Some("IPV4".into()),
            ..Default::default()
        };
        assert!(same.differences(&lb).is_empty());
        let f = FixedFields {
            region: Some("ams3".into()),
            network_stack: Some("DUALSTACK".into()),
            ..Default::default()
        };
        let mut req = lb.to_request();
        f.apply(&mut req);
        assert_eq!(req.region.as_deref(), Some("ams3"));
        assert_eq!(req.vpc_uuid, None);
        assert_eq!(
            f.differences(&lb),
            ["region: nyc3 → ams3", "network_stack: IPV4 → DUALSTACK"]
        );
    }

    #[test]
    fn plans_are_kept_per_old_id_and_no_name_leaves_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReplaceStore::in_data_dir(dir.path());
        let path = store.path_for("../../etc/passwd");
        assert_eq!(path.parent(), Some(store.dir()));
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.load("nope").unwrap().map(|r| r.old_id), None);
    }

    async fn sandbox() -> (cutover_sandbox::SandboxHandle, Session) {
        crate::init_tls();
        let handle = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions {
            activation_delay: Duration::ZERO,
            busy_window: Duration::ZERO,
            ..cutover_sandbox::SandboxOptions::default()
        })
        .await
        .expect("sandbox");
        let session = crate::session::for_sandbox(&handle).expect("session");
        (handle, session)
    }

    async fn named(session: &Session, name: &str) -> Vec<LoadBalancer> {
        crate::lb::list(&session.connection)
            .await
            .unwrap()
            .into_iter()
            .filter(|lb| lb.name == name)
            .collect()
    }

    /// blog-https to dual-stack on the Sandbox: every step, the create once even when the
    /// run is resumed after the id was recorded, DNS moved from the old IP to the new, and
    /// the old one deleted only with its name typed.
    #[tokio::test]
    async fn a_replacement_runs_every_step_and_creates_once() {
        let (handle, session) = sandbox().await;
        let conn = &session.connection;
        let dir = tempfile::tempdir().unwrap();
        let store = ReplaceStore::in_data_dir(dir.path());
        let input = ReplaceInput {
            fixed: FixedFields::from_sets(&["network_stack=DUALSTACK".into()]).unwrap(),
            domain: Some(cutover_sandbox::DOMAIN.into()),
            names: vec!["blog".into()],
            ..Default::default()
        };
        let plan = start(&session, &store, "blog-https", &input).await.unwrap();
        assert_eq!(plan.request.network_stack.as_deref(), Some("DUALSTACK"));
        assert!(
            start(&session, &store, "blog-https", &input).await.is_err(),
            "one at a time"
        );
        let old_ip = plan.old_ip.clone();
        let mut opts = Advance {
            follow: Follow {
                poll: Duration::from_millis(20),
                timeout: Duration::from_secs(30),
            },
            dns_dir: dir.path().join("dns"),
            ..Default::default()
        };
        // Without the DNS approval it stops before DNS, the new load balancer created.
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert_eq!(
            plan.current().map(|s| s.id),
            Some(StepId::Dns),
            "{:?}",
            plan.steps
        );
        assert_eq!(plan.current().map(|s| s.status), Some(StepStatus::Blocked));
        assert_eq!(named(&session, "blog-https-new").await.len(), 1);
        // blog-https carries a Let's Encrypt certificate: the create must not move DNS itself.
        let records = conn
            .client
            .list_domain_records(cutover_sandbox::DOMAIN)
            .await
            .unwrap();
        assert!(
            records
                .iter()
                .filter(|r| r.name == "blog")
                .all(|r| r.data == old_ip),
            "{records:?}"
        );
        // A kill right after the id was recorded: the create step not yet marked done.
        let mut killed = store.load(&plan.old_id).unwrap().unwrap();
        for s in killed.steps.iter_mut().filter(|s| s.id != StepId::Copy) {
            s.status = StepStatus::Pending;
        }
        store.save(&killed).unwrap();
        opts.dns_approved = true;
        // The record's TTL is an hour: readiness is red, so the approval alone is not enough.
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert_eq!(plan.current().map(|s| s.id), Some(StepId::Dns));
        assert!(
            plan.current().unwrap().message.contains("ttl"),
            "{:?}",
            plan.current()
        );
        opts.dns_force = true;
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert_eq!(
            named(&session, "blog-https-new").await.len(),
            1,
            "created once"
        );
        assert_eq!(
            plan.current().map(|s| s.id),
            Some(StepId::DeleteOld),
            "{:?}",
            plan.steps
        );
        let new_ip = plan.new_ip.clone().unwrap();
        let records = conn
            .client
            .list_domain_records(cutover_sandbox::DOMAIN)
            .await
            .unwrap();
        let blog: Vec<_> = records.iter().filter(|r| r.name == "blog").collect();
        // Dual-stack: an A record for the new IPv4, an AAAA for its IPv6; nothing left at the old.
        let new_ipv6 = plan
            .new_ipv6
            .clone()
            .expect("a dual-stack load balancer has an IPv6");
        let kinds: Vec<(&str, &str)> = blog
            .iter()
            .map(|r| (r.kind.as_str(), r.data.as_str()))
            .collect();
        assert_eq!(kinds.len(), 2, "{blog:?}");
        assert!(kinds.contains(&("A", new_ip.as_str())), "{blog:?}");
        assert!(kinds.contains(&("AAAA", new_ipv6.as_str())), "{blog:?}");
        assert!(blog.iter().all(|r| r.data != old_ip));
        // DNS moved back behind the plan's back (a rollback): even with the name typed, the old
        // load balancer is kept and the step says why.
        let a = blog.iter().find(|r| r.kind == "A").unwrap();
        let point_a =
            |ip: String| cutover_digitalocean::DomainRecordRequest::simple("A", "blog", ip);
        conn.client
            .update_domain_record(cutover_sandbox::DOMAIN, a.id, &point_a(old_ip.clone()))
            .await
            .unwrap();
        opts.delete_confirm = Some("blog-https".into());
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert!(!plan.finished);
        assert_eq!(named(&session, "blog-https").await.len(), 1, "kept");
        let step = plan.current().unwrap();
        assert_eq!(
            (step.id, step.status),
            (StepId::DeleteOld, StepStatus::Blocked)
        );
        assert!(
            step.message
                .contains("does not point at the new load balancer"),
            "{}",
            step.message
        );
        conn.client
            .update_domain_record(cutover_sandbox::DOMAIN, a.id, &point_a(new_ip.clone()))
            .await
            .unwrap();
        // A wrong name deletes nothing.
        opts.delete_confirm = Some("blog".into());
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert!(!plan.finished);
        assert_eq!(named(&session, "blog-https").await.len(), 1);
        opts.delete_confirm = Some("blog-https".into());
        let plan = advance(&session, &store, &plan.old_id, &opts, |_| {})
            .await
            .unwrap();
        assert!(plan.finished, "{:?}", plan.steps);
        assert!(named(&session, "blog-https").await.is_empty());
        assert_eq!(named(&session, "blog-https-new").await.len(), 1);
        handle.shutdown().await;
    }
}
