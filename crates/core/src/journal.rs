//! The journal: every change Cutover applies (to a load balancer, to DNS records, to
//! certificates), written before and after with DigitalOcean's request id, so
//! "what did it look like before?" has an answer (DigitalOcean keeps no history of a load
//! balancer's configuration) and a change can be reverted.
//!
//! One JSON file shared by the app and the CLI (`<data dir>/dev.cutover.desktop/journal.json`,
//! `CUTOVER_DATA_DIR` overrides), written whole through [`crate::files::write_atomic`] and kept
//! to the last [`MAX_ENTRIES`] entries. A revert is not a special write: it is the entry's
//! "before" turned into a normal edit ([`revert_edit`]), which then goes through the review, the
//! preflight and the stale-edit check like any other.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use cutover_digitalocean::{Certificate, FieldChange, LoadBalancer};

use crate::error::{ApiError, ErrorCode};
use crate::lb::LbEdit;

/// The environment variable that points the journal (and other app data) elsewhere.
pub const DATA_DIR_ENV: &str = "CUTOVER_DATA_DIR";

/// How many entries are kept (the oldest go first).
pub const MAX_ENTRIES: usize = 2000;

/// What kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Update,
    Create,
    Delete,
    AddDroplets,
    RemoveDroplets,
    AddRules,
    RemoveRules,
    /// DNS records pointed at a load balancer (a cutover, or its TTL step).
    DnsApply,
    /// DNS records put back from a rollback set.
    DnsRollback,
    /// A certificate created (Let's Encrypt) or uploaded; also a rotation's first step.
    CertCreate,
    /// A certificate deleted; also a rotation's last step.
    CertDelete,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Written before the request; still so when the app or the CLI stopped mid-way.
    Started,
    Done,
    Failed,
}

/// One change.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The account's name as the session knows it.
    pub account: String,
    pub kind: ChangeKind,
    /// The load balancer's id; a certificate entry's certificate id (empty when a create
    /// failed).
    pub lb_id: String,
    /// The load balancer's name; a DNS entry's address pointed at; a certificate entry's
    /// certificate name.
    pub lb_name: String,
    /// The load balancer before the change (unknown fields included); `None` for a create.
    #[specta(type = Option<specta_typescript::Unknown>)]
    pub before: Option<serde_json::Value>,
    /// After it, as DigitalOcean answered; `None` for a delete or a failure.
    #[specta(type = Option<specta_typescript::Unknown>)]
    pub after: Option<serde_json::Value>,
    pub changes: Vec<FieldChange>,
    pub status: EntryStatus,
    pub error: Option<String>,
    /// The domain a DNS change is about (`None` for load-balancer changes).
    #[serde(default)]
    pub domain: Option<String>,
    /// DigitalOcean's request id (`x-request-id`) of the write's answer, or of its error. A
    /// change made of several writes (a DNS cutover) lists theirs in order, ", "-separated, a
    /// failure's last.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// The journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
    /// One writer at a time inside this process (the file is rewritten whole).
    lock: Arc<Mutex<()>>,
}

/// `<data dir>/dev.cutover.desktop` — Tauri's app data dir, so the app and the CLI share it.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join(crate::accounts::KEYCHAIN_SERVICE))
}

impl Journal {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// The journal in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self::at(dir.join("journal.json"))
    }

    /// The journal both front ends share, when the OS has a data folder.
    pub fn default_location() -> Option<Self> {
        default_data_dir().map(|d| Self::in_dir(&d))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, oldest first. A file that cannot be parsed is an error, never replaced.
    pub fn entries(&self) -> Result<Vec<JournalEntry>, ApiError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                ApiError::new(
                    ErrorCode::Io,
                    format!(
                        "The journal {} is not valid JSON ({err}). Fix or move it away; Cutover left it untouched.",
                        self.path.display()
                    ),
                )
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(err) => Err(crate::files::write_error(&self.path, &err)),
        }
    }

    fn rewrite(&self, f: impl FnOnce(&mut Vec<JournalEntry>)) -> Result<(), ApiError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.entries()?;
        f(&mut entries);
        if entries.len() > MAX_ENTRIES {
            let excess = entries.len() - MAX_ENTRIES;
            entries.drain(..excess);
        }
        let bytes = serde_json::to_vec(&entries)
            .map_err(|e| ApiError::internal(format!("could not encode the journal: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::files::write_error(dir, &e))?;
        }
        crate::files::write_atomic(&self.path, &bytes)
    }

    /// Records a change about to be sent; returns its id.
    pub fn begin(&self, entry: JournalEntry) -> Result<String, ApiError> {
        let id = entry.id.clone();
        self.rewrite(|entries| entries.push(entry))?;
        Ok(id)
    }

    /// Records how the change `id` ended.
    pub fn finish(
        &self,
        id: &str,
        after: Option<&LoadBalancer>,
        error: Option<&ApiError>,
    ) -> Result<(), ApiError> {
        self.finish_value(
            id,
            after.and_then(|lb| serde_json::to_value(lb).ok()),
            error,
        )
    }

    /// [`Journal::finish`] with any "after" (DNS records rather than a load balancer).
    pub fn finish_value(
        &self,
        id: &str,
        after: Option<serde_json::Value>,
        error: Option<&ApiError>,
    ) -> Result<(), ApiError> {
        self.finish_with(id, after, error, &[])
    }

    /// [`Journal::finish_value`] with the request ids of the writes that succeeded (from
    /// [`cutover_digitalocean::with_request_ids`]); a failure's id (in its `details`) goes last.
    pub fn finish_with(
        &self,
        id: &str,
        after: Option<serde_json::Value>,
        error: Option<&ApiError>,
        request_ids: &[String],
    ) -> Result<(), ApiError> {
        self.finish_entry(id, |e| set_outcome(e, after, error, request_ids))
    }

    fn finish_entry(&self, id: &str, f: impl FnOnce(&mut JournalEntry)) -> Result<(), ApiError> {
        self.rewrite(|entries| {
            if let Some(e) = entries.iter_mut().rev().find(|e| e.id == id) {
                f(e);
            }
        })
    }

    /// The entries about load balancer `lb` (id or name), or all; newest first.
    pub fn list(&self, lb: Option<&str>) -> Result<Vec<JournalEntry>, ApiError> {
        let mut entries: Vec<JournalEntry> = self
            .entries()?
            .into_iter()
            .filter(|e| lb.is_none_or(|l| e.lb_id == l || e.lb_name == l))
            .collect();
        entries.reverse();
        Ok(entries)
    }

    /// One entry by its id (or a unique prefix of it, as people type them).
    pub fn get(&self, id: &str) -> Result<JournalEntry, ApiError> {
        let wanted = id.trim();
        let entries = self.entries()?;
        let mut found = entries.iter().filter(|e| e.id.starts_with(wanted));
        match (found.next(), found.next()) {
            (Some(e), None) if !wanted.is_empty() => Ok(e.clone()),
            (Some(_), Some(_)) => Err(ApiError::invalid_input(format!(
                "More than one journal entry starts with \"{wanted}\": give more of its id."
            ))),
            _ => Err(ApiError::new(
                ErrorCode::NotFound,
                format!("No journal entry has the id \"{wanted}\"."),
            )
            .with_details(serde_json::json!({ "field": "entry" }))),
        }
    }
}

/// How a change ended, on its entry.
fn set_outcome(
    e: &mut JournalEntry,
    after: Option<serde_json::Value>,
    error: Option<&ApiError>,
    request_ids: &[String],
) {
    e.after = after;
    e.status = if error.is_some() {
        EntryStatus::Failed
    } else {
        EntryStatus::Done
    };
    e.error = error.map(|err| err.message.clone());
    let mut ids: Vec<&str> = request_ids.iter().map(String::as_str).collect();
    if let Some(rid) = error
        .and_then(|err| err.details.as_ref())
        .and_then(|d| d.get("request_id"))
        .and_then(|r| r.as_str())
    {
        ids.push(rid);
    }
    if !ids.is_empty() {
        e.request_id = Some(ids.join(", "));
    }
}

/// A new entry for a change to `lb`, before it is sent.
pub fn entry(
    account: &str,
    kind: ChangeKind,
    lb: &LoadBalancer,
    changes: Vec<FieldChange>,
) -> JournalEntry {
    let now = time::OffsetDateTime::now_utc();
    JournalEntry {
        id: format!(
            "{}-{:04x}",
            now.unix_timestamp_nanos() / 1_000_000,
            rand_suffix()
        ),
        at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        account: account.to_string(),
        kind,
        lb_id: lb.id.clone(),
        lb_name: lb.name.clone(),
        before: (kind != ChangeKind::Create)
            .then(|| serde_json::to_value(lb).ok())
            .flatten(),
        after: None,
        changes,
        status: EntryStatus::Started,
        error: None,
        domain: None,
        request_id: None,
    }
}

/// A new entry for a DNS change of `domain` (records pointed at `lb_ip`, or put back), before
/// it is sent: `before` holds the records as they were, `changes` one line per record.
pub fn dns_entry(
    account: &str,
    kind: ChangeKind,
    domain: &str,
    lb_ip: &str,
    before: Option<serde_json::Value>,
    changes: Vec<FieldChange>,
) -> JournalEntry {
    // The load balancer is known here by its address only.
    let placeholder = LoadBalancer {
        name: lb_ip.to_string(),
        ..LoadBalancer::default()
    };
    let mut e = entry(account, kind, &placeholder, changes);
    e.before = before;
    e.domain = Some(domain.to_string());
    e
}

/// One diff line per record change of a DNS plan: `name.domain TYPE`, before → after.
pub fn dns_changes(domain: &str, changes: &[crate::dns::RecordChange]) -> Vec<FieldChange> {
    changes
        .iter()
        .map(|c| {
            let kind = c
                .after
                .as_ref()
                .or(c.before.as_ref())
                .map(|v| v.kind.as_str())
                .unwrap_or("");
            FieldChange {
                path: format!("{} {kind}", crate::dns::fqdn(&c.name, domain)),
                before: serde_json::to_value(&c.before).unwrap_or_default(),
                after: serde_json::to_value(&c.after).unwrap_or_default(),
            }
        })
        .collect()
}

/// What a DNS rollback puts back, one line per saved record (the records the cutover created
/// are deleted).
pub fn dns_restores(saved: &crate::dns::RollbackSet) -> Vec<FieldChange> {
    let mut lines: Vec<FieldChange> = saved
        .saved
        .iter()
        .map(|r| FieldChange {
            path: format!("{} {}", crate::dns::fqdn(&r.name, &saved.domain), r.kind),
            before: serde_json::Value::Null,
            after: serde_json::json!({ "kind": r.kind, "data": r.data, "ttl": r.ttl }),
        })
        .collect();
    lines.extend(saved.created.iter().map(|id| FieldChange {
        path: format!("record {id}"),
        before: serde_json::json!({ "id": id }),
        after: serde_json::Value::Null,
    }));
    lines
}

/// Writes a DNS change of `domain` to `journal` (when there is one) around `change`: before,
/// then after with the change's answer. A journal that cannot be written is logged, never a
/// reason to refuse the change.
pub async fn journaled_dns<T, F>(
    journal: Option<&Journal>,
    entry: JournalEntry,
    change: F,
) -> Result<T, ApiError>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    let Some(journal) = journal else {
        return change.await;
    };
    let domain = entry.domain.clone().unwrap_or_default();
    let id = journal
        .begin(entry)
        .map_err(|err| tracing::warn!(%domain, "DNS change not journaled: {}", err.message))
        .ok();
    let (result, request_ids) = cutover_digitalocean::with_request_ids(change).await;
    if let Some(id) = id {
        let (after, error) = match &result {
            Ok(v) => (serde_json::to_value(v).ok(), None),
            Err(err) => (None, Some(err)),
        };
        if let Err(err) = journal.finish_with(&id, after, error, &request_ids) {
            tracing::warn!(%domain, "journal entry {id} not finished: {}", err.message);
        }
    }
    result
}

/// What the journal keeps of a certificate: what identifies it, never key material (DigitalOcean's
/// answer carries none; only these fields are kept in case an answer ever did).
pub fn cert_summary(c: &Certificate) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "name": c.name,
        "type": c.kind,
        "dns_names": c.dns_names,
        "state": c.state,
        "not_after": c.not_after,
        "sha1_fingerprint": c.sha1_fingerprint,
        "created_at": c.created_at,
    })
}

/// A new entry for a certificate change, before it is sent: `id` is empty for a create (the
/// certificate's id arrives with DigitalOcean's answer), `before` a [`cert_summary`] for a
/// delete.
pub fn cert_entry(
    account: &str,
    kind: ChangeKind,
    id: &str,
    name: &str,
    before: Option<serde_json::Value>,
    changes: Vec<FieldChange>,
) -> JournalEntry {
    let subject = LoadBalancer {
        id: id.to_string(),
        name: name.to_string(),
        ..LoadBalancer::default()
    };
    let mut e = entry(account, kind, &subject, changes);
    e.before = before;
    e
}

/// The diff lines of a certificate create: its name, type and names (from nothing).
pub fn cert_create_changes(name: &str, kind: &str, dns_names: &[String]) -> Vec<FieldChange> {
    let line = |path: &str, after: serde_json::Value| FieldChange {
        path: path.to_string(),
        before: serde_json::Value::Null,
        after,
    };
    vec![
        line("name", serde_json::json!(name)),
        line("type", serde_json::json!(kind)),
        line("dns_names", serde_json::json!(dns_names)),
    ]
}

/// The diff lines of a certificate delete: its name, type and names (to nothing).
pub fn cert_delete_changes(c: &Certificate) -> Vec<FieldChange> {
    let line = |path: &str, before: serde_json::Value| FieldChange {
        path: path.to_string(),
        before,
        after: serde_json::Value::Null,
    };
    vec![
        line("name", serde_json::json!(c.name)),
        line("type", serde_json::json!(c.kind)),
        line("dns_names", serde_json::json!(c.dns_names)),
    ]
}

/// Writes a certificate change to `journal` (when there is one) around `change`: before, then
/// after with the request id. `created` picks the certificate a create made out of the answer
/// (its id and [`cert_summary`] become the entry's); a delete has no after. A journal that
/// cannot be written is logged, never a reason to refuse the change.
pub async fn journaled_cert<T, F>(
    journal: Option<&Journal>,
    entry: JournalEntry,
    change: F,
    created: impl FnOnce(&T) -> Option<&Certificate>,
) -> Result<T, ApiError>
where
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    let Some(journal) = journal else {
        return change.await;
    };
    let name = entry.lb_name.clone();
    let id = journal
        .begin(entry)
        .map_err(|err| tracing::warn!(certificate = %name, "not journaled: {}", err.message))
        .ok();
    let (result, request_ids) = cutover_digitalocean::with_request_ids(change).await;
    if let Some(id) = id {
        let cert = result.as_ref().ok().and_then(created);
        let error = result.as_ref().err();
        let written = journal.finish_entry(&id, |e| {
            set_outcome(e, cert.map(cert_summary), error, &request_ids);
            if let Some(c) = cert {
                e.lb_id = c.id.clone();
            }
        });
        if let Err(err) = written {
            tracing::warn!(certificate = %name, "journal entry {id} not finished: {}", err.message);
        }
    }
    result
}

/// Two entries in the same millisecond still get different ids.
fn rand_suffix() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (h.finish() & 0xffff) as u16
}

/// The edit that puts back what entry `e` changed, to apply over the load balancer as it is
/// now (`current`): the editable fields as they were before. Only updates (and droplet or rule
/// changes) can be reverted this way; a delete cannot be undone by an edit.
pub fn revert_edit(e: &JournalEntry, current: &LoadBalancer) -> Result<LbEdit, ApiError> {
    if matches!(e.kind, ChangeKind::CertCreate | ChangeKind::CertDelete) {
        return Err(ApiError::invalid_input(format!(
            "Entry {} is a certificate change: deleting or re-creating a certificate is not an undo (a new one gets a new id, and the private key of an upload is not kept). Rotate to the certificate you want instead (cutover certs rotate).",
            e.id
        )));
    }
    if matches!(e.kind, ChangeKind::DnsApply | ChangeKind::DnsRollback) {
        return Err(ApiError::invalid_input(format!(
            "Entry {} is a DNS change: undo it with the DNS rollback (cutover dns rollback --domain {}).",
            e.id,
            e.domain.as_deref().unwrap_or("DOMAIN")
        )));
    }
    if matches!(e.kind, ChangeKind::Delete | ChangeKind::Create) {
        return Err(ApiError::invalid_input(format!(
            "A {} cannot be reverted by an edit: {}.",
            match e.kind {
                ChangeKind::Delete => "delete",
                _ => "create",
            },
            match e.kind {
                ChangeKind::Delete =>
                    "create a load balancer from the entry's before (cutover lb create --from-file)",
                _ => "delete the load balancer if it is not wanted",
            }
        )));
    }
    if e.lb_id != current.id {
        return Err(ApiError::invalid_input(format!(
            "Entry {} is about load balancer {}, not {}.",
            e.id, e.lb_id, current.id
        )));
    }
    let before: LoadBalancer = e
        .before
        .clone()
        .ok_or_else(|| ApiError::invalid_input(format!("Entry {} has no before.", e.id)))
        .and_then(|v| {
            serde_json::from_value(v).map_err(|err| {
                ApiError::new(
                    ErrorCode::Decode,
                    format!("Entry {}'s before could not be read: {err}", e.id),
                )
            })
        })?;
    Ok(LbEdit::from_lb(&before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(name: &str, timeout: u32) -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6", "name": name,
            "http_idle_timeout_seconds": timeout, "forwarding_rules": [],
            "some_field_we_do_not_know": {"kept": true},
        }))
        .unwrap()
    }

    #[test]
    fn entries_are_written_before_and_after_and_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        let before = lb("web", 60);
        let id = journal
            .begin(entry("prod", ChangeKind::Update, &before, Vec::new()))
            .unwrap();
        assert_eq!(journal.get(&id).unwrap().status, EntryStatus::Started);
        let after = lb("web", 90);
        journal.finish(&id, Some(&after), None).unwrap();
        let got = journal
            .get(&id[..8])
            .unwrap_or_else(|_| journal.get(&id).unwrap());
        assert_eq!(got.status, EntryStatus::Done);
        assert_eq!(got.after.as_ref().unwrap()["http_idle_timeout_seconds"], 90);
        assert_eq!(
            got.before.as_ref().unwrap()["some_field_we_do_not_know"]["kept"],
            true,
            "unknown fields are kept"
        );
        let second = journal
            .begin(entry("prod", ChangeKind::Update, &after, Vec::new()))
            .unwrap();
        let err = ApiError::new(ErrorCode::Busy, "busy");
        journal.finish(&second, None, Some(&err)).unwrap();
        let listed = journal.list(Some("web")).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, second, "newest first");
        assert_eq!(listed[0].status, EntryStatus::Failed);
        assert!(journal.list(Some("other")).unwrap().is_empty());
    }

    #[test]
    fn a_revert_is_the_before_as_an_edit_over_the_current_state() {
        let e = entry("prod", ChangeKind::Update, &lb("web", 60), Vec::new());
        let current = lb("web-renamed", 90);
        let edit = revert_edit(&e, &current).unwrap();
        let desired = edit.apply_to(&current);
        assert_eq!(desired.http_idle_timeout_seconds, Some(60));
        assert_eq!(desired.name, "web");
        let delete = entry("prod", ChangeKind::Delete, &current, Vec::new());
        assert!(revert_edit(&delete, &current).is_err());
    }

    #[test]
    fn a_corrupt_journal_is_an_error_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        std::fs::write(journal.path(), b"{not json").unwrap();
        assert!(journal.entries().is_err());
        assert!(journal
            .begin(entry("prod", ChangeKind::Update, &lb("web", 1), Vec::new()))
            .is_err());
        assert_eq!(std::fs::read(journal.path()).unwrap(), b"{not json");
    }

    #[test]
    fn request_ids_of_several_writes_are_kept_in_order_a_failures_last() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        let e = dns_entry(
            "prod",
            ChangeKind::DnsApply,
            "example.com",
            "",
            None,
            Vec::new(),
        );
        let id = journal.begin(e).unwrap();
        let err = ApiError::new(ErrorCode::Busy, "busy")
            .with_details(serde_json::json!({"request_id": "req-3"}));
        journal
            .finish_with(&id, None, Some(&err), &["req-1".into(), "req-2".into()])
            .unwrap();
        let got = journal.get(&id).unwrap();
        assert_eq!(got.request_id.as_deref(), Some("req-1, req-2, req-3"));
        assert_eq!(got.status, EntryStatus::Failed);
        // None at all: no request id, not an empty one.
        let id = journal
            .begin(entry("prod", ChangeKind::Update, &lb("web", 1), Vec::new()))
            .unwrap();
        journal.finish_with(&id, None, None, &[]).unwrap();
        assert_eq!(journal.get(&id).unwrap().request_id, None);
    }

    #[test]
    fn a_certificate_entry_never_holds_more_than_its_summary_and_is_not_reverted() {
        let cert: Certificate = serde_json::from_value(serde_json::json!({
            "id": "c1", "name": "shop", "type": "custom", "dns_names": ["shop.test"],
            "state": "verified", "private_key": "-----BEGIN PRIVATE KEY-----",
        }))
        .unwrap();
        let summary = cert_summary(&cert);
        assert_eq!(summary["name"], "shop");
        assert!(summary.get("private_key").is_none(), "{summary}");
        let e = cert_entry(
            "prod",
            ChangeKind::CertDelete,
            &cert.id,
            &cert.name,
            Some(summary),
            cert_delete_changes(&cert),
        );
        assert_eq!((e.lb_id.as_str(), e.lb_name.as_str()), ("c1", "shop"));
        let err = revert_edit(&e, &lb("web", 1)).unwrap_err();
        assert!(err.message.contains("not an undo"), "{}", err.message);
    }

    fn is_request_id(id: &str) -> bool {
        id.len() == 36 && id.matches('-').count() == 4
    }

    /// Against the Sandbox (which, like DigitalOcean, sends a uuid `x-request-id` on every
    /// answer): a create and a DNS change of two writes carry their answers' request ids.
    #[tokio::test]
    async fn writes_against_the_sandbox_carry_their_request_ids() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let mut conn = crate::context::Connection::for_sandbox(&sandbox).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        conn.journal = Some(journal.clone());

        let blog = crate::lb::find(&conn, "blog-https").await.unwrap();
        let mut req = blog.to_request();
        req.name = "journal-copy".into();
        let created = crate::lb::create_request(&conn, &req).await.unwrap();

        let domain = cutover_sandbox::DOMAIN;
        let e = dns_entry(
            "sandbox",
            ChangeKind::DnsApply,
            domain,
            "192.0.2.7",
            None,
            Vec::new(),
        );
        let writes: Result<u32, ApiError> = journaled_dns(Some(&journal), e, async {
            let record = conn
                .client
                .create_domain_record(
                    domain,
                    &cutover_digitalocean::DomainRecordRequest::simple("A", "journal", "192.0.2.7"),
                )
                .await?;
            // A read in between is not a write: its id is not listed.
            conn.client.list_domain_records(domain).await?;
            conn.client.delete_domain_record(domain, record.id).await?;
            Ok(2)
        })
        .await;
        assert_eq!(writes.unwrap(), 2);

        let entries = journal.entries().unwrap();
        assert_eq!(entries.len(), 2, "{entries:#?}");
        assert_eq!(entries[0].kind, ChangeKind::Create);
        assert_eq!(entries[0].lb_id, created.id);
        let rid = entries[0].request_id.as_deref().unwrap_or_default();
        assert!(is_request_id(rid), "{rid:?}");
        let ids: Vec<&str> = entries[1]
            .request_id
            .as_deref()
            .unwrap_or_default()
            .split(", ")
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.iter().all(|id| is_request_id(id)), "{ids:?}");
        assert_ne!(ids[0], ids[1]);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn dns_changes_are_journaled_before_and_after_with_the_request_id_of_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        let change = crate::dns::RecordChange {
            name: "www".into(),
            action: crate::dns::ChangeAction::Update,
            record_id: Some(7),
            before: Some(crate::dns::RecordValue {
                kind: "A".into(),
                data: "192.0.2.1".into(),
                ttl: 300,
            }),
            after: Some(crate::dns::RecordValue {
                kind: "A".into(),
                data: "192.0.2.9".into(),
                ttl: 300,
            }),
        };
        let changes = dns_changes("example.com", std::slice::from_ref(&change));
        assert_eq!(changes[0].path, "www.example.com A");
        let e = dns_entry(
            "prod",
            ChangeKind::DnsApply,
            "example.com",
            "192.0.2.9",
            Some(serde_json::json!([{"id": 7}])),
            changes.clone(),
        );
        let ok: Result<u32, ApiError> = journaled_dns(Some(&journal), e, async {
            // Written before the request is sent.
            Ok(1)
        })
        .await;
        assert_eq!(ok.unwrap(), 1);
        let e = dns_entry(
            "prod",
            ChangeKind::DnsRollback,
            "example.com",
            "",
            None,
            changes,
        );
        let failed: Result<u32, ApiError> = journaled_dns(Some(&journal), e, async {
            Err(ApiError::new(ErrorCode::Busy, "busy")
                .with_details(serde_json::json!({"request_id": "req-42"})))
        })
        .await;
        assert!(failed.is_err());
        let listed = journal.list(None).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].kind, ChangeKind::DnsRollback);
        assert_eq!(listed[0].status, EntryStatus::Failed);
        assert_eq!(listed[0].request_id.as_deref(), Some("req-42"));
        assert_eq!(listed[1].status, EntryStatus::Done);
        assert_eq!(listed[1].domain.as_deref(), Some("example.com"));
        assert_eq!(listed[1].lb_name, "192.0.2.9");
        assert_eq!(listed[1].after, Some(serde_json::json!(1)));
        assert!(
            revert_edit(&listed[1], &lb("web", 1)).is_err(),
            "DNS is undone by its rollback"
        );
    }
}
