//! Watching sites after the cutover (issue 18, user-needs §6): behind a passthrough load balancer
//! each droplet renews its own certificate, and the classic failure is one droplet's certificate
//! expiring weeks after everything looked fine. The watch re-runs, per watched site (a load
//! balancer and its domain), the backend certificate check and the DNS status, and keeps each
//! run's results and a history of when each finding appeared and cleared.
//!
//! One JSON file ([`WATCH_FILE`]) holds the list and the results, written whole through
//! [`crate::files::write_atomic`]: the app keeps it in its data folder, the CLI in the OS state
//! folder (the same layout, so `--state-dir` can point the CLI at the app's).
//!
//! A run checks the sites first and only then loads, updates and saves the file
//! ([`WatchStore::update`]), so a site added or removed while a run is under way is kept as the
//! user left it: results for a site no longer watched are dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::certs::{CertCheckOptions, FindingCode, FleetReport, Severity};
use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};

/// The file, in the folder the front end chooses.
pub const WATCH_FILE: &str = "watch.json";
/// How many runs the history keeps; episodes that cleared before the oldest kept run go too.
pub const MAX_RUNS: usize = 200;
/// A hard cap on kept episodes, whatever the runs: a flapping backend must not grow the file
/// without bound.
pub const MAX_EPISODES: usize = 2000;
/// How often the app runs the watch unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// The file's format, so a later version can tell an old file from a new one.
const FORMAT: u32 = 1;

/// The load balancer's check could not run at all (the load balancer is gone, the API failed).
pub const CHECK_FAILED: &str = "watch.check_failed";
/// No name of the domain answers the load balancer's address, and none ever did while watched:
/// the cutover has not happened yet (a warning, not news).
pub const DNS_NOT_AT_LB: &str = "dns.not_at_lb";
/// A name that answered the load balancer's address in an earlier run no longer does.
pub const DNS_NO_LONGER_AT_LB: &str = "dns.no_longer_at_lb";
/// The DNS status could not be read (the nameservers did not answer).
pub const DNS_CHECK_FAILED: &str = "dns.check_failed";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// One finding of a run, as the watch keys it: `code` + `backend` (a droplet's label, a DNS
/// name, or none for the site as a whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct WatchFinding {
    /// A certificate finding code (`cert.expiring_soon`, `fleet.fingerprint_mismatch`, …) or
    /// one of the watch's own (`dns.no_longer_at_lb`, `watch.check_failed`, …).
    pub code: String,
    pub backend: Option<String>,
    /// The check's severity, raised to `error` for the findings the watch must tell about.
    pub severity: Severity,
    pub message: String,
    /// Error severity or worse: a new one raises a notification.
    pub attention: bool,
}

/// A backend's certificate as the last run saw it: what the expiry timeline shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct BackendCert {
    pub label: String,
    pub address: String,
    pub sha256: Option<String>,
    /// RFC 3339.
    pub not_after: Option<String>,
    #[specta(type = Option<f64>)]
    pub not_after_unix: Option<i64>,
    /// Whole days left at the run (negative once expired).
    #[specta(type = Option<f64>)]
    pub days_left: Option<i64>,
    /// The backend's worst severity, `None` when nothing is wrong.
    pub severity: Option<Severity>,
}

/// One name of the domain as the last run saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DnsName {
    pub name: String,
    pub points_to_lb: bool,
    /// `A 203.0.113.7`, … from the authoritative nameservers.
    pub answers: Vec<String>,
    pub error: Option<String>,
}

/// What one run found for one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SiteResult {
    pub lb_id: String,
    pub domain: String,
    /// RFC 3339.
    pub checked_at: String,
    #[specta(type = f64)]
    pub checked_at_unix: i64,
    pub findings: Vec<WatchFinding>,
    pub backends: Vec<BackendCert>,
    pub lb_ip: Option<String>,
    pub dns: Vec<DnsName>,
    /// The certificate check's one-line verdict, or why it could not run.
    pub summary: String,
}

impl SiteResult {
    /// Any finding of error severity (new or not).
    pub fn needs_attention(&self) -> bool {
        self.findings.iter().any(|f| f.attention)
    }
}

/// A site the user watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct WatchedSite {
    pub lb_id: String,
    /// The load balancer's name when it was added (for people; the id is what is checked).
    pub lb_name: String,
    pub domain: String,
    /// RFC 3339.
    pub added_at: String,
    /// The account it was added under (its name). The app checks only the sites of the account
    /// in use: after switching accounts the others' load balancers are not "gone".
    #[serde(default)]
    pub account: Option<String>,
    /// Names that answered the load balancer's address in some run: one that stops doing so is
    /// an error, while a name never cut over is not.
    #[serde(default)]
    pub dns_seen_at_lb: Vec<String>,
    /// The last run's results.
    #[serde(default)]
    pub last: Option<SiteResult>,
}

/// When a finding appeared on a site and, once it did, when it cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FindingEpisode {
    pub lb_id: String,
    pub domain: String,
    pub code: String,
    pub backend: Option<String>,
    /// The worst severity seen while it was open.
    pub severity: Severity,
    /// The message when it appeared.
    pub message: String,
    pub appeared_at: String,
    #[specta(type = f64)]
    pub appeared_at_unix: i64,
    pub cleared_at: Option<String>,
    #[specta(type = Option<f64>)]
    pub cleared_at_unix: Option<i64>,
}

impl FindingEpisode {
    pub fn is_open(&self) -> bool {
        self.cleared_at_unix.is_none()
    }
}

/// One run, in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RunSummary {
    pub at: String,
    #[specta(type = f64)]
    pub at_unix: i64,
    pub sites: u32,
    /// Findings of error severity present in this run.
    pub attention: u32,
    pub appeared: u32,
    pub cleared: u32,
}

/// Everything the watch keeps: the file's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct WatchState {
    #[serde(default)]
    pub format: u32,
    #[serde(default)]
    pub sites: Vec<WatchedSite>,
    /// The last [`MAX_RUNS`] runs, oldest first.
    #[serde(default)]
    pub runs: Vec<RunSummary>,
    /// Findings appearing and clearing, oldest first.
    #[serde(default)]
    pub episodes: Vec<FindingEpisode>,
}

impl Default for WatchState {
    fn default() -> Self {
        Self {
            format: FORMAT,
            sites: Vec::new(),
            runs: Vec::new(),
            episodes: Vec::new(),
        }
    }
}

impl WatchState {
    /// When the last run was, for the scheduler.
    pub fn last_run_unix(&self) -> Option<i64> {
        self.runs.last().map(|r| r.at_unix)
    }
}

/// A finding of one site, for notifications and the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SiteFinding {
    pub lb_id: String,
    pub lb_name: String,
    pub domain: String,
    pub finding: WatchFinding,
}

impl SiteFinding {
    /// A notification's title and body: the site, then what is wrong.
    pub fn notification(&self) -> (String, String) {
        (
            format!("{} needs attention", self.domain),
            format!(
                "{} ({}): {}",
                self.lb_name, self.finding.code, self.finding.message
            ),
        )
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RunOutcome {
    pub at: String,
    #[specta(type = f64)]
    pub at_unix: i64,
    pub sites: Vec<SiteResult>,
    /// Findings that were not there in the run before.
    pub appeared: Vec<SiteFinding>,
    /// Findings of the run before that are gone.
    pub cleared: Vec<SiteFinding>,
    /// Some site has a finding of error severity (new or not): `cutover watch run` exits 1.
    pub needs_attention: bool,
    /// Some finding of error severity is new: what raises a notification.
    pub new_attention: bool,
}

impl RunOutcome {
    /// The desktop notifications a run raises: one per site with new findings of error severity
    /// (title, body), naming the site and the finding, so a run that finds five things on one
    /// site does not raise five.
    pub fn notifications(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for f in self.appeared.iter().filter(|f| f.finding.attention) {
            if seen.contains(&f.lb_id.as_str()) {
                continue;
            }
            seen.push(&f.lb_id);
            let (title, mut body) = f.notification();
            let more = self
                .appeared
                .iter()
                .filter(|g| g.finding.attention && g.lb_id == f.lb_id)
                .count()
                - 1;
            if more > 0 {
                body.push_str(&format!(
                    " (and {more} more new finding{})",
                    if more == 1 { "" } else { "s" }
                ));
            }
            out.push((title, body));
        }
        out
    }

    /// An outcome with nothing checked (nothing is watched).
    pub fn nothing(now: i64) -> Self {
        Self {
            at: rfc3339(now),
            at_unix: now,
            sites: Vec::new(),
            appeared: Vec::new(),
            cleared: Vec::new(),
            needs_attention: false,
            new_attention: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------------

/// The watch file in a folder.
#[derive(Debug, Clone)]
pub struct WatchStore {
    path: PathBuf,
}

impl WatchStore {
    /// `dir/watch.json`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(WATCH_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state; an empty one when the file does not exist yet. A file that cannot be read is
    /// an error, never silently replaced: it holds the user's list.
    pub fn load(&self) -> Result<WatchState, ApiError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WatchState::default()),
            Err(e) => {
                return Err(ApiError::new(
                    ErrorCode::Io,
                    format!("could not read {}: {e}", self.path.display()),
                ))
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                ErrorCode::Decode,
                format!(
                    "{} is not a watch list Cutover can read ({e}): move it away to start a new one",
                    self.path.display()
                ),
            )
            .with_details(serde_json::json!({ "path": self.path.display().to_string() }))
        })
    }

    /// Writes `state` whole (creating the folder).
    pub fn save(&self, state: &WatchState) -> Result<(), ApiError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::files::write_error(&self.path, &e))?;
        }
        let text = serde_json::to_vec_pretty(state).map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("could not encode the watch list: {e}"),
            )
        })?;
        crate::files::write_atomic(&self.path, &text)
    }

    /// Load, change, save: nothing is written when `change` fails.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut WatchState) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.load()?;
        let out = change(&mut state)?;
        self.save(&state)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

fn normalize_domain(domain: &str) -> Result<String, ApiError> {
    crate::dns::normalize_domain(domain)
}

/// Adds `site` to `state`, or changes the domain of a load balancer already watched (adding is
/// idempotent, so a script may run it every time). A changed domain starts a fresh DNS baseline.
pub fn add_site(state: &mut WatchState, site: WatchedSite) -> WatchedSite {
    if let Some(existing) = state.sites.iter_mut().find(|s| s.lb_id == site.lb_id) {
        existing.lb_name = site.lb_name;
        if site.account.is_some() {
            existing.account = site.account;
        }
        if existing.domain != site.domain {
            existing.domain = site.domain;
            existing.dns_seen_at_lb.clear();
            existing.last = None;
        }
        return existing.clone();
    }
    state.sites.push(site.clone());
    site
}

/// The site to watch for load balancer `lb` (an id or a unique name) and `domain`: the load
/// balancer is looked up first, so a typo is an error now rather than a finding at every run.
pub async fn resolve_site(
    conn: &Connection,
    lb: &str,
    domain: &str,
) -> Result<WatchedSite, ApiError> {
    let domain = normalize_domain(domain)?;
    let found = crate::lb::find(conn, lb).await?;
    Ok(WatchedSite {
        lb_id: found.id.clone(),
        lb_name: found.name.clone(),
        domain,
        added_at: rfc3339(now_unix()),
        account: None,
        dns_seen_at_lb: Vec::new(),
        last: None,
    })
}

/// The sites `account` checks: those added under it, and those added before sites knew their
/// account.
pub fn sites_of_account(sites: &[WatchedSite], account: &str) -> Vec<WatchedSite> {
    sites
        .iter()
        .filter(|s| s.account.as_deref().is_none_or(|a| a == account))
        .cloned()
        .collect()
}

/// [`resolve_site`] under `account`, then [`add_site`] in the file.
pub async fn add(
    conn: &Connection,
    store: &WatchStore,
    lb: &str,
    domain: &str,
    account: Option<&str>,
) -> Result<WatchedSite, ApiError> {
    let mut site = resolve_site(conn, lb, domain).await?;
    site.account = account.map(str::to_string);
    let site = store.update(|state| Ok(add_site(state, site)))?;
    tracing::info!(lb = %site.lb_id, domain = %site.domain, "watching a site");
    Ok(site)
}

/// Stops watching `lb` (its id, or the name it was added with) and forgets its history.
pub fn remove_site(state: &mut WatchState, lb: &str) -> Result<WatchedSite, ApiError> {
    let lb = lb.trim();
    let by_id = state.sites.iter().position(|s| s.lb_id == lb);
    let index = match by_id {
        Some(i) => i,
        None => {
            let named: Vec<usize> = (0..state.sites.len())
                .filter(|&i| state.sites[i].lb_name == lb)
                .collect();
            match named.as_slice() {
                [one] => *one,
                [] => {
                    return Err(ApiError::new(
                        ErrorCode::NotFound,
                        format!("no watched load balancer is called {lb:?}"),
                    ))
                }
                _ => {
                    return Err(ApiError::invalid_input(format!(
                        "several watched load balancers are called {lb:?}: give the id"
                    )))
                }
            }
        }
    };
    let site = state.sites.remove(index);
    state.episodes.retain(|e| e.lb_id != site.lb_id);
    Ok(site)
}

/// [`remove_site`] in the file.
pub fn remove(store: &WatchStore, lb: &str) -> Result<WatchedSite, ApiError> {
    store.update(|state| remove_site(state, lb))
}

// ---------------------------------------------------------------------------------------------
// A run
// ---------------------------------------------------------------------------------------------

/// The findings the watch exists for are at least errors, whatever the check's own severity: a
/// certificate expiring in 20 days is a warning in a one-off check but the very thing to be told
/// about here; so are backends serving different certificates (renewals on one droplet failing)
/// and a backend that no longer answers.
fn watch_severity(code: FindingCode, severity: Severity) -> Severity {
    match code {
        FindingCode::CertExpiringSoon
        | FindingCode::FleetFingerprintMismatch
        | FindingCode::BackendUnreachable => severity.max(Severity::Error),
        _ => severity,
    }
}

fn finding(
    code: &str,
    backend: Option<String>,
    severity: Severity,
    message: String,
) -> WatchFinding {
    WatchFinding {
        code: code.to_string(),
        backend,
        severity,
        message,
        attention: severity >= Severity::Error,
    }
}

/// A certificate report as watch findings. A fingerprint mismatch is put on each backend outside
/// the most common certificate, so the history says which droplet drifted (and a second one
/// drifting later is news).
pub fn cert_findings(report: &FleetReport) -> Vec<WatchFinding> {
    let mut out: Vec<WatchFinding> = Vec::new();
    for b in &report.backends {
        for f in &b.findings {
            out.push(finding(
                f.code.as_str(),
                Some(b.label.clone()),
                watch_severity(f.code, f.severity),
                f.message.clone(),
            ));
        }
    }
    for f in &report.findings {
        let severity = watch_severity(f.code, f.severity);
        if f.code == FindingCode::FleetFingerprintMismatch && report.groups.len() > 1 {
            let common = &report.groups[0];
            for g in &report.groups[1..] {
                for label in &g.backends {
                    out.push(finding(
                        f.code.as_str(),
                        Some(label.clone()),
                        severity,
                        format!(
                            "{label} serves certificate {} ({}, until {}), not the one {} serve{} ({}): clients landing on it see another certificate.",
                            g.name,
                            short(&g.sha256),
                            g.not_after,
                            common.backends.join(", "),
                            if common.backends.len() == 1 { "s" } else { "" },
                            short(&common.sha256),
                        ),
                    ));
                }
            }
        } else {
            out.push(finding(f.code.as_str(), None, severity, f.message.clone()));
        }
    }
    dedupe(out)
}

/// One finding per key, the worst kept (a key reported twice would open two episodes).
fn dedupe(findings: Vec<WatchFinding>) -> Vec<WatchFinding> {
    let mut out: Vec<WatchFinding> = Vec::with_capacity(findings.len());
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.code == f.code && o.backend == f.backend)
        {
            Some(o) if f.severity > o.severity => *o = f,
            Some(_) => {}
            None => out.push(f),
        }
    }
    out
}

fn short(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

fn backend_certs(report: &FleetReport, now: i64) -> Vec<BackendCert> {
    report
        .backends
        .iter()
        .map(|b| BackendCert {
            label: b.label.clone(),
            address: b.address.clone(),
            sha256: b.leaf.as_ref().map(|l| l.sha256.clone()),
            not_after: b.leaf.as_ref().map(|l| l.not_after.clone()),
            not_after_unix: b.leaf.as_ref().map(|l| l.not_after_unix),
            days_left: b
                .leaf
                .as_ref()
                // Rounded to the nearest day, as the check's messages say it ("in 3 days").
                .map(|l| (l.not_after_unix - now + 43_200).div_euclid(86_400)),
            severity: b.severity,
        })
        .collect()
}

/// Re-runs the certificate check and the DNS status of one site. Never fails: what could not be
/// checked is a finding, so it shows in the history like anything else.
pub async fn check_site(
    conn: &Connection,
    site: &WatchedSite,
    nameserver: Option<SocketAddr>,
    now: i64,
) -> SiteResult {
    let mut findings = Vec::new();
    let mut backends = Vec::new();
    let summary;
    match crate::certs::check_load_balancer(
        conn,
        &site.lb_id,
        &site.domain,
        &CertCheckOptions::default(),
        |_| {},
    )
    .await
    {
        Ok(report) => {
            findings.extend(cert_findings(&report));
            backends = backend_certs(&report, now);
            summary = report.verdict.summary.clone();
        }
        // A load balancer whose droplets serve no TLS (it terminates TLS itself, or serves only
        // HTTP) has no backend certificate to watch: said in the summary, not a finding that
        // would stay open forever. Its DNS is still watched.
        Err(err) if err.code == ErrorCode::InvalidInput => {
            summary = err.message.clone();
        }
        Err(err) => {
            // A load balancer that is gone is news; an API or network hiccup is worth a line in
            // the history but not a notification every six hours while offline.
            let severity = if err.code == ErrorCode::NotFound {
                Severity::Error
            } else {
                Severity::Warning
            };
            summary = format!("the certificate check could not run: {}", err.message);
            findings.push(finding(CHECK_FAILED, None, severity, summary.clone()));
        }
    }

    let mut lb_ip = None;
    let mut dns_names = Vec::new();
    match crate::dns::lb_addresses(conn, &site.lb_id).await {
        Ok(ips) => {
            lb_ip = ips.first().map(ToString::to_string);
            match crate::dns::status(conn, &site.domain, &ips, nameserver).await {
                Ok(status) => {
                    findings.extend(dns_findings(site, &status));
                    dns_names = status
                        .names
                        .iter()
                        .map(|n| DnsName {
                            name: n.name.clone(),
                            points_to_lb: n.points_to_lb,
                            answers: n
                                .authoritative
                                .iter()
                                .map(|a| format!("{} {}", a.kind, a.data))
                                .collect(),
                            error: n.authoritative_error.clone(),
                        })
                        .collect();
                }
                Err(err) => findings.push(finding(
                    DNS_CHECK_FAILED,
                    None,
                    Severity::Warning,
                    format!(
                        "The DNS status of {} could not be read: {}",
                        site.domain, err.message
                    ),
                )),
            }
        }
        // The load balancer not found is already the check's finding; one with no IP yet has
        // no DNS to compare with.
        Err(err) if err.code == ErrorCode::NotFound => {}
        Err(err) => findings.push(finding(
            DNS_CHECK_FAILED,
            None,
            Severity::Warning,
            format!(
                "The load balancer's address could not be read: {}",
                err.message
            ),
        )),
    }

    SiteResult {
        lb_id: site.lb_id.clone(),
        domain: site.domain.clone(),
        checked_at: rfc3339(now),
        checked_at_unix: now,
        findings: dedupe(findings),
        backends,
        lb_ip,
        dns: dns_names,
        summary,
    }
}

/// DNS findings against the site's baseline: a name that pointed at the load balancer and no
/// longer does is an error; a domain never cut over is a warning.
pub fn dns_findings(site: &WatchedSite, status: &crate::dns::DnsStatus) -> Vec<WatchFinding> {
    let lb = status.lb_ip.as_deref().unwrap_or("the load balancer");
    let mut out = Vec::new();
    for n in &status.names {
        if !n.points_to_lb && site.dns_seen_at_lb.contains(&n.name) {
            let now = if n.authoritative.is_empty() {
                n.authoritative_error
                    .clone()
                    .unwrap_or_else(|| "no address".into())
            } else {
                n.authoritative
                    .iter()
                    .map(|a| format!("{} {}", a.kind, a.data))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(finding(
                DNS_NO_LONGER_AT_LB,
                Some(n.name.clone()),
                Severity::Error,
                format!(
                    "{} no longer points at the load balancer ({lb}): it answers {now}.",
                    n.name
                ),
            ));
        }
    }
    let any_points = status.names.iter().any(|n| n.points_to_lb);
    if !any_points && site.dns_seen_at_lb.is_empty() {
        out.push(finding(
            DNS_NOT_AT_LB,
            None,
            Severity::Warning,
            format!(
                "{} does not point at the load balancer ({lb}) yet: the cutover has not happened.",
                status.domain
            ),
        ));
    }
    out
}

type Key = (String, String, Option<String>);

fn key(lb_id: &str, f: &WatchFinding) -> Key {
    (lb_id.to_string(), f.code.clone(), f.backend.clone())
}

/// Records a run's results: each site's last result and DNS baseline, the episodes that appear
/// and clear, and the bounded run history. Results for sites no longer watched are dropped.
/// Pure (no clock, no I/O) so the history can be tested run by run.
pub fn record_run(state: &mut WatchState, results: Vec<SiteResult>, now: i64) -> RunOutcome {
    let at = rfc3339(now);
    let mut appeared = Vec::new();
    let mut cleared = Vec::new();
    let mut kept = Vec::new();
    for result in results {
        let Some(site) = state
            .sites
            .iter_mut()
            .find(|s| s.lb_id == result.lb_id && s.domain == result.domain)
        else {
            continue;
        };
        let site_finding = |f: &WatchFinding| SiteFinding {
            lb_id: site.lb_id.clone(),
            lb_name: site.lb_name.clone(),
            domain: site.domain.clone(),
            finding: f.clone(),
        };
        let now_keys: BTreeMap<Key, &WatchFinding> = result
            .findings
            .iter()
            .map(|f| (key(&site.lb_id, f), f))
            .collect();
        // Close the open episodes of this site that this run did not see.
        for ep in state
            .episodes
            .iter_mut()
            .filter(|e| e.lb_id == site.lb_id && e.is_open())
        {
            let k = (ep.lb_id.clone(), ep.code.clone(), ep.backend.clone());
            match now_keys.get(&k) {
                Some(f) => ep.severity = ep.severity.max(f.severity),
                None => {
                    ep.cleared_at = Some(at.clone());
                    ep.cleared_at_unix = Some(now);
                    cleared.push(SiteFinding {
                        lb_id: site.lb_id.clone(),
                        lb_name: site.lb_name.clone(),
                        domain: site.domain.clone(),
                        finding: WatchFinding {
                            code: ep.code.clone(),
                            backend: ep.backend.clone(),
                            severity: ep.severity,
                            message: ep.message.clone(),
                            attention: ep.severity >= Severity::Error,
                        },
                    });
                }
            }
        }
        // Open an episode for each finding that has none open.
        let open: BTreeSet<Key> = state
            .episodes
            .iter()
            .filter(|e| e.lb_id == site.lb_id && e.is_open())
            .map(|e| (e.lb_id.clone(), e.code.clone(), e.backend.clone()))
            .collect();
        for f in &result.findings {
            if open.contains(&key(&site.lb_id, f)) {
                continue;
            }
            appeared.push(site_finding(f));
            state.episodes.push(FindingEpisode {
                lb_id: site.lb_id.clone(),
                domain: site.domain.clone(),
                code: f.code.clone(),
                backend: f.backend.clone(),
                severity: f.severity,
                message: f.message.clone(),
                appeared_at: at.clone(),
                appeared_at_unix: now,
                cleared_at: None,
                cleared_at_unix: None,
            });
        }
        for name in result.dns.iter().filter(|n| n.points_to_lb) {
            if !site.dns_seen_at_lb.contains(&name.name) {
                site.dns_seen_at_lb.push(name.name.clone());
            }
        }
        site.last = Some(result.clone());
        kept.push(result);
    }

    let attention = kept
        .iter()
        .map(|r| r.findings.iter().filter(|f| f.attention).count())
        .sum::<usize>();
    state.runs.push(RunSummary {
        at: at.clone(),
        at_unix: now,
        sites: u32::try_from(kept.len()).unwrap_or(u32::MAX),
        attention: u32::try_from(attention).unwrap_or(u32::MAX),
        appeared: u32::try_from(appeared.len()).unwrap_or(u32::MAX),
        cleared: u32::try_from(cleared.len()).unwrap_or(u32::MAX),
    });
    prune(state);
    RunOutcome {
        at,
        at_unix: now,
        needs_attention: attention > 0,
        new_attention: appeared.iter().any(|f| f.finding.attention),
        sites: kept,
        appeared,
        cleared,
    }
}

/// Keeps the last [`MAX_RUNS`] runs, the episodes still open or cleared since the oldest of
/// them, and at most [`MAX_EPISODES`] (the oldest closed ones go first).
fn prune(state: &mut WatchState) {
    if state.runs.len() > MAX_RUNS {
        let extra = state.runs.len() - MAX_RUNS;
        state.runs.drain(..extra);
    }
    if let Some(oldest) = state.runs.first().map(|r| r.at_unix) {
        state
            .episodes
            .retain(|e| e.cleared_at_unix.is_none_or(|c| c >= oldest));
    }
    let mut excess = state.episodes.len().saturating_sub(MAX_EPISODES);
    if excess > 0 {
        state.episodes.retain(|e| {
            if excess > 0 && !e.is_open() {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// [`check_site`] for each of `sites`, one after the other (a site's backends are probed at
/// once already). The app checks outside its lock on the file and records with [`record_run`].
pub async fn check_sites(
    conn: &Connection,
    sites: &[WatchedSite],
    nameserver: Option<SocketAddr>,
) -> Vec<SiteResult> {
    tracing::info!(sites = sites.len(), "watch run");
    let mut results = Vec::with_capacity(sites.len());
    for site in sites {
        results.push(check_site(conn, site, nameserver, now_unix()).await);
    }
    results
}

/// Checks every watched site once and records the run in `store`.
pub async fn run(
    conn: &Connection,
    store: &WatchStore,
    nameserver: Option<SocketAddr>,
) -> Result<RunOutcome, ApiError> {
    let sites = store.load()?.sites;
    let results = check_sites(conn, &sites, nameserver).await;
    let now = now_unix();
    let outcome = store.update(|state| Ok(record_run(state, results, now)))?;
    for f in &outcome.appeared {
        tracing::info!(domain = %f.domain, code = %f.finding.code, backend = ?f.finding.backend, "watch: finding appeared");
    }
    for f in &outcome.cleared {
        tracing::info!(domain = %f.domain, code = %f.finding.code, backend = ?f.finding.backend, "watch: finding cleared");
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// The schedule
// ---------------------------------------------------------------------------------------------

/// How long until the next run is due, given the last one (`None`: never ran, so now). A last
/// run in the future (the clock was set back) counts as now, so a changed clock cannot stop the
/// watch for the length of the jump.
pub fn due_in(last_run_unix: Option<i64>, now: i64, interval: Duration) -> Duration {
    let Some(last) = last_run_unix else {
        return Duration::ZERO;
    };
    let interval_secs = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
    let since = now.saturating_sub(last).max(0);
    Duration::from_secs(u64::try_from(interval_secs.saturating_sub(since).max(0)).unwrap_or(0))
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn site(lb: &str, domain: &str) -> WatchedSite {
        WatchedSite {
            lb_id: lb.into(),
            lb_name: format!("{lb}-name"),
            domain: domain.into(),
            added_at: rfc3339(0),
            account: None,
            dns_seen_at_lb: Vec::new(),
            last: None,
        }
    }

    fn result(lb: &str, domain: &str, now: i64, findings: &[(&str, &str, Severity)]) -> SiteResult {
        SiteResult {
            lb_id: lb.into(),
            domain: domain.into(),
            checked_at: rfc3339(now),
            checked_at_unix: now,
            findings: findings
                .iter()
                .map(|(c, b, s)| finding(c, Some(b.to_string()), *s, format!("{c} on {b}")))
                .collect(),
            backends: Vec::new(),
            lb_ip: None,
            dns: Vec::new(),
            summary: String::new(),
        }
    }

    #[test]
    fn findings_appear_stay_and_clear_by_code_and_backend() {
        let mut state = WatchState::default();
        add_site(&mut state, site("lb1", "shop.test"));
        let exp = "cert.expiring_soon";
        let out = record_run(
            &mut state,
            vec![result(
                "lb1",
                "shop.test",
                100,
                &[(exp, "web-3", Severity::Error)],
            )],
            100,
        );
        assert_eq!(out.appeared.len(), 1);
        assert!(out.new_attention && out.needs_attention);
        // Still there: not new, still needing attention; a second backend is news.
        let out = record_run(
            &mut state,
            vec![result(
                "lb1",
                "shop.test",
                200,
                &[
                    (exp, "web-3", Severity::Error),
                    (exp, "web-1", Severity::Warning),
                ],
            )],
            200,
        );
        assert_eq!(out.appeared.len(), 1);
        assert_eq!(out.appeared[0].finding.backend.as_deref(), Some("web-1"));
        assert!(!out.new_attention, "web-1's is only a warning");
        assert!(out.needs_attention);
        // web-3 renewed.
        let out = record_run(
            &mut state,
            vec![result(
                "lb1",
                "shop.test",
                300,
                &[(exp, "web-1", Severity::Warning)],
            )],
            300,
        );
        assert_eq!(out.cleared.len(), 1);
        assert_eq!(out.cleared[0].finding.backend.as_deref(), Some("web-3"));
        assert!(!out.needs_attention);
        let web3: Vec<_> = state
            .episodes
            .iter()
            .filter(|e| e.backend.as_deref() == Some("web-3"))
            .collect();
        assert_eq!(web3.len(), 1);
        assert_eq!(
            (web3[0].appeared_at_unix, web3[0].cleared_at_unix),
            (100, Some(300))
        );
        // It comes back: a new episode.
        let out = record_run(
            &mut state,
            vec![result(
                "lb1",
                "shop.test",
                400,
                &[(exp, "web-3", Severity::Error)],
            )],
            400,
        );
        assert!(out.new_attention);
        assert_eq!(state.episodes.len(), 3);
        assert_eq!(state.runs.len(), 4);
        assert_eq!(state.runs[3].appeared, 1);
        assert_eq!(state.runs[3].cleared, 1);
    }

    #[test]
    fn results_of_a_site_removed_during_the_run_are_dropped() {
        let mut state = WatchState::default();
        add_site(&mut state, site("lb1", "shop.test"));
        let stale = result(
            "lb2",
            "blog.test",
            10,
            &[("backend.unreachable", "b", Severity::Critical)],
        );
        let out = record_run(&mut state, vec![stale], 10);
        assert!(out.sites.is_empty() && out.appeared.is_empty());
        assert!(state.episodes.is_empty());
        // A domain changed during the run: the old domain's results are not the new one's.
        let old = result(
            "lb1",
            "old.test",
            20,
            &[("backend.unreachable", "b", Severity::Critical)],
        );
        let out = record_run(&mut state, vec![old], 20);
        assert!(out.sites.is_empty());
    }

    #[test]
    fn the_history_is_bounded() {
        let mut state = WatchState::default();
        add_site(&mut state, site("lb1", "shop.test"));
        for i in 0..(MAX_RUNS as i64 + 50) {
            // A flapping backend: a new episode every other run.
            let f: &[(&str, &str, Severity)] = if i % 2 == 0 {
                &[("backend.unreachable", "web-2", Severity::Critical)]
            } else {
                &[]
            };
            record_run(&mut state, vec![result("lb1", "shop.test", i, f)], i);
        }
        assert_eq!(state.runs.len(), MAX_RUNS);
        let oldest = state.runs[0].at_unix;
        assert!(state
            .episodes
            .iter()
            .all(|e| e.cleared_at_unix.is_none_or(|c| c >= oldest)));
        assert!(state.episodes.len() <= MAX_RUNS / 2 + 1);
    }

    #[test]
    fn adding_again_changes_the_domain_and_removing_takes_id_or_name() {
        let mut state = WatchState::default();
        add_site(&mut state, site("lb1", "shop.test"));
        let mut s = site("lb1", "shop.test");
        s.dns_seen_at_lb = vec!["x".into()];
        record_run(
            &mut state,
            vec![result(
                "lb1",
                "shop.test",
                1,
                &[("cert.expired", "w", Severity::Critical)],
            )],
            1,
        );
        let again = add_site(&mut state, site("lb1", "shop.test"));
        assert!(again.last.is_some(), "the same domain keeps its results");
        let changed = add_site(&mut state, site("lb1", "www.shop.test"));
        assert!(changed.last.is_none());
        assert_eq!(state.sites.len(), 1);
        assert_eq!(
            remove_site(&mut state, "nope").unwrap_err().code,
            ErrorCode::NotFound
        );
        let mut other = site("lb2", "blog.test");
        other.account = Some("staging".into());
        add_site(&mut state, other);
        let ids = |a: &str| -> Vec<String> {
            sites_of_account(&state.sites, a)
                .into_iter()
                .map(|s| s.lb_id)
                .collect()
        };
        assert_eq!(ids("staging"), ["lb1", "lb2"]);
        assert_eq!(
            ids("production"),
            ["lb1"],
            "a site of another account is not checked"
        );
        remove_site(&mut state, "lb2").unwrap();
        let removed = remove_site(&mut state, "lb1-name").unwrap();
        assert_eq!(removed.lb_id, "lb1");
        assert!(state.sites.is_empty() && state.episodes.is_empty());
    }

    /// The scheduler with a fake clock: at start (never ran) now; then every interval after the
    /// last run; a missed run (the laptop slept) is due at once; a clock set back is not a
    /// reason to wait longer than one interval.
    #[test]
    fn the_schedule_runs_at_start_then_every_interval() {
        let six_h = DEFAULT_INTERVAL;
        assert_eq!(due_in(None, 1_000, six_h), Duration::ZERO);
        assert_eq!(due_in(Some(1_000), 1_000, six_h), six_h);
        assert_eq!(
            due_in(Some(1_000), 1_000 + 3600, six_h),
            Duration::from_secs(5 * 3600)
        );
        assert_eq!(due_in(Some(1_000), 1_000 + 6 * 3600, six_h), Duration::ZERO);
        assert_eq!(
            due_in(Some(1_000), 1_000 + 30 * 3600, six_h),
            Duration::ZERO
        );
        assert_eq!(due_in(Some(50_000), 1_000, six_h), six_h);
    }

    #[test]
    fn the_file_round_trips_and_a_broken_one_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = WatchStore::in_dir(&dir.path().join("nested"));
        assert_eq!(store.load().unwrap(), WatchState::default());
        store
            .update(|s| Ok(add_site(s, site("lb1", "shop.test"))))
            .unwrap();
        assert_eq!(store.load().unwrap().sites.len(), 1);
        std::fs::write(store.path(), b"{not json").unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(err.code, ErrorCode::Decode);
        assert!(store.update(|_| Ok(())).is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{not json");
    }

    async fn sandbox() -> (cutover_sandbox::SandboxHandle, Connection) {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        (sandbox, conn)
    }

    /// The acceptance run: web-3 of the shop load balancer serves another certificate, expiring
    /// in 3 days, so a watched shop site needs attention; once its certificate is fixed the
    /// findings clear. DNS is not cut over in the seeded Sandbox (a warning); pointed at the load
    /// balancer and back, the name that stopped pointing is an error.
    #[tokio::test]
    async fn a_watched_shop_site_needs_attention_until_web_3_is_fixed() {
        let (sandbox, conn) = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        let store = WatchStore::in_dir(dir.path());
        let ns = Some(sandbox.dns_addr());
        let site = add(
            &conn,
            &store,
            "shop-passthrough",
            "Sandbox-Shop.test.",
            Some("sandbox"),
        )
        .await
        .unwrap();
        assert_eq!(site.lb_id, cutover_sandbox::LB_SHOP_ID);
        assert_eq!(site.domain, "sandbox-shop.test");

        let first = run(&conn, &store, ns).await.unwrap();
        let codes = |o: &RunOutcome| -> Vec<(String, Option<String>)> {
            o.appeared
                .iter()
                .map(|f| (f.finding.code.clone(), f.finding.backend.clone()))
                .collect()
        };
        assert!(first.needs_attention && first.new_attention, "{first:#?}");
        let c = codes(&first);
        assert!(
            c.contains(&("fleet.fingerprint_mismatch".into(), Some("web-3".into()))),
            "{c:?}"
        );
        assert!(
            c.contains(&("cert.expiring_soon".into(), Some("web-3".into()))),
            "{c:?}"
        );
        assert!(c.contains(&(DNS_NOT_AT_LB.into(), None)), "{c:?}");
        assert!(
            !c.iter().any(|(_, b)| b.as_deref() == Some("web-1")),
            "{c:?}"
        );
        let last = &first.sites[0];
        assert_eq!(last.backends.len(), 3);
        let web3 = last.backends.iter().find(|b| b.label == "web-3").unwrap();
        assert!(
            web3.days_left.is_some_and(|d| (1..=3).contains(&d)),
            "{web3:?}"
        );
        let notes = first.notifications();
        assert_eq!(notes.len(), 1, "one per site: {notes:?}");
        let (title, body) = &notes[0];
        assert!(title.contains("sandbox-shop.test"), "{title}");
        assert!(
            body.contains("shop-passthrough") && body.contains("and 1 more"),
            "{body}"
        );

        // Nothing changed: nothing new, still needing attention.
        let second = run(&conn, &store, ns).await.unwrap();
        assert!(second.appeared.is_empty(), "{:#?}", second.appeared);
        assert!(second.notifications().is_empty());
        assert!(second.needs_attention && !second.new_attention);

        // web-3 gets the fleet's certificate; the apex is pointed at the load balancer.
        sandbox
            .fix_droplet_certificate(cutover_sandbox::WEB_3)
            .await
            .unwrap();
        let lb_ip = crate::dns::lb_address(&conn, &site.lb_id)
            .await
            .unwrap()
            .to_string();
        let apex = conn
            .client
            .list_domain_records("sandbox-shop.test")
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.kind == "A" && r.name == "@")
            .unwrap();
        let set_apex = |ip: String| cutover_digitalocean::DomainRecordRequest {
            kind: "A".into(),
            name: Some("@".into()),
            data: Some(ip),
            ttl: Some(60),
            ..Default::default()
        };
        conn.client
            .update_domain_record("sandbox-shop.test", apex.id, &set_apex(lb_ip.clone()))
            .await
            .unwrap();
        let third = run(&conn, &store, ns).await.unwrap();
        assert!(!third.needs_attention, "{:#?}", third.sites[0].findings);
        let cleared: Vec<&str> = third
            .cleared
            .iter()
            .map(|f| f.finding.code.as_str())
            .collect();
        assert!(
            cleared.contains(&"fleet.fingerprint_mismatch"),
            "{cleared:?}"
        );
        assert!(cleared.contains(&"cert.expiring_soon"), "{cleared:?}");
        assert!(cleared.contains(&DNS_NOT_AT_LB), "{cleared:?}");
        let state = store.load().unwrap();
        // www is a CNAME to the apex: it follows.
        assert_eq!(
            state.sites[0].dns_seen_at_lb,
            vec![
                "sandbox-shop.test".to_string(),
                "www.sandbox-shop.test".to_string()
            ]
        );

        // The apex is pointed away again: the DNS no longer points at the load balancer.
        conn.client
            .update_domain_record("sandbox-shop.test", apex.id, &set_apex("127.0.0.11".into()))
            .await
            .unwrap();
        let fourth = run(&conn, &store, ns).await.unwrap();
        sandbox.shutdown().await;
        assert!(fourth.new_attention);
        assert_eq!(
            codes(&fourth),
            vec![
                (
                    DNS_NO_LONGER_AT_LB.to_string(),
                    Some("sandbox-shop.test".to_string())
                ),
                (
                    DNS_NO_LONGER_AT_LB.to_string(),
                    Some("www.sandbox-shop.test".to_string())
                )
            ]
        );
        let state = store.load().unwrap();
        assert_eq!(state.runs.len(), 4);
        assert!(state
            .episodes
            .iter()
            .any(|e| e.code == "cert.expiring_soon" && e.cleared_at_unix.is_some()));
    }

    /// The blog's load balancer terminates TLS: no backend certificate to watch (not a finding),
    /// and its name already points at it, so nothing needs attention.
    #[tokio::test]
    async fn a_terminating_load_balancer_is_watched_for_dns_only() {
        let (sandbox, conn) = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        let store = WatchStore::in_dir(dir.path());
        add(&conn, &store, "blog-https", "blog.sandbox-shop.test", None)
            .await
            .unwrap();
        let out = run(&conn, &store, Some(sandbox.dns_addr())).await.unwrap();
        sandbox.shutdown().await;
        let site = &out.sites[0];
        assert!(!out.needs_attention, "{:#?}", site.findings);
        assert!(
            !site.findings.iter().any(|f| f.code == CHECK_FAILED),
            "{:#?}",
            site.findings
        );
        assert!(site.backends.is_empty());
        assert!(site.summary.contains("no rule"), "{}", site.summary);
        assert!(
            site.dns
                .iter()
                .any(|n| n.name == "blog.sandbox-shop.test" && n.points_to_lb),
            "{:#?}",
            site.dns
        );
    }

    #[tokio::test]
    async fn a_load_balancer_that_is_gone_is_an_error_and_a_typo_is_refused_at_add() {
        let (sandbox, conn) = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        let store = WatchStore::in_dir(dir.path());
        let err = add(&conn, &store, "no-such-lb", "sandbox-shop.test", None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        let err = add(&conn, &store, "shop-passthrough", "not a domain", None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        store
            .update(|s| {
                Ok(add_site(
                    s,
                    site("5a0dbe00-0000-4000-8000-00000000dead", "sandbox-shop.test"),
                ))
            })
            .unwrap();
        let out = run(&conn, &store, Some(sandbox.dns_addr())).await.unwrap();
        sandbox.shutdown().await;
        assert!(out.needs_attention);
        assert_eq!(
            out.sites[0].findings.len(),
            1,
            "{:#?}",
            out.sites[0].findings
        );
        assert_eq!(out.sites[0].findings[0].code, CHECK_FAILED);
    }
}
