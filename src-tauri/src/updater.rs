//! Updates (issue 18): "Check for updates" asks the update endpoint of tauri.conf.json
//! (`plugins.updater`), shows the version and notes found, and installs only when the user
//! clicks. The bundle's minisign signature is checked against the public key built into the app
//! before anything is installed (tauri-plugin-updater's own verification).
//!
//! The app never restarts under the user's feet: while the rehearsal balancer runs or a DNS
//! change is being written, the install (which on Windows quits the app) and the restart wait,
//! and the view says why. The rules — [`restart_blockers`] and [`acceptable`] — are plain
//! functions, tested below; the commands only gather the app's state and call them.

use std::sync::atomic::{AtomicUsize, Ordering};

use cutover_core::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_updater::{Update, Updater, UpdaterExt};

use crate::state::AppState;

/// DNS writes (apply, rollback) under way; see [`dns_write`].
static DNS_WRITES: AtomicUsize = AtomicUsize::new(0);

/// Held by a DNS write for as long as it runs: a restart waits until none is.
#[must_use = "the write counts as running only while the guard lives"]
pub struct DnsWriteGuard(());

/// Marks a DNS write as running until the returned guard is dropped.
pub fn dns_write() -> DnsWriteGuard {
    DNS_WRITES.fetch_add(1, Ordering::SeqCst);
    DnsWriteGuard(())
}

impl Drop for DnsWriteGuard {
    fn drop(&mut self) {
        DNS_WRITES.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Something that must finish before the app may restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RestartBlocker {
    /// The local rehearsal balancer is serving (a restart would cut its connections).
    Rehearsal { listen: String },
    /// DNS records are being written (a restart could leave a cutover half-done).
    DnsWrite { count: u32 },
}

impl RestartBlocker {
    /// Why the update waits, in the user's words.
    pub fn reason(&self) -> String {
        match self {
            RestartBlocker::Rehearsal { listen } => format!(
                "the rehearsal balancer is running on {listen}: stop it in the Rehearsal view first"
            ),
            RestartBlocker::DnsWrite { count: 1 } => {
                "a DNS change is being written: wait for it to finish".to_string()
            }
            RestartBlocker::DnsWrite { count } => {
                format!("{count} DNS changes are being written: wait for them to finish")
            }
        }
    }
}

/// What keeps the app from restarting, given whether the rehearsal balancer listens (and where)
/// and how many DNS writes are under way. Empty: it may restart.
pub fn restart_blockers(rehearsal: Option<String>, dns_writes: usize) -> Vec<RestartBlocker> {
    let mut blockers = Vec::new();
    if let Some(listen) = rehearsal {
        blockers.push(RestartBlocker::Rehearsal { listen });
    }
    if dns_writes > 0 {
        blockers.push(RestartBlocker::DnsWrite {
            count: u32::try_from(dns_writes).unwrap_or(u32::MAX),
        });
    }
    blockers
}

/// `Ok` when nothing blocks a restart; otherwise a `busy` error saying what to wait for.
pub fn may_restart(blockers: &[RestartBlocker], doing: &str) -> Result<(), ApiError> {
    if blockers.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = blockers.iter().map(RestartBlocker::reason).collect();
    Err(ApiError::new(
        ErrorCode::Busy,
        format!("The {doing} waits: {}.", reasons.join("; ")),
    )
    .with_details(serde_json::json!({ "blockers": blockers })))
}

/// Whether a release the update server offers is one to offer the user: strictly newer than this
/// build (so a stale or replayed manifest never downgrades), and a pre-release only to someone
/// already running a pre-release.
pub fn acceptable(current: &semver::Version, offered: &semver::Version) -> bool {
    if !offered.pre.is_empty() && current.pre.is_empty() {
        return false;
    }
    // Build metadata does not order versions (semver §10): `1.0.0+b` is not newer than `1.0.0`.
    offered.cmp_precedence(current).is_gt()
}

/// The updater of `app`, configured from tauri.conf.json, deciding with [`acceptable`].
pub fn updater_for<R: Runtime>(app: &AppHandle<R>) -> Result<Updater, ApiError> {
    app.updater_builder()
        .version_comparator(|current, release| acceptable(&current, &release.version))
        .build()
        .map_err(update_error)
}

/// A newer, acceptable release on the update server, if any.
pub async fn find_update(updater: &Updater) -> Result<Option<Update>, ApiError> {
    updater.check().await.map_err(update_error)
}

/// Downloads the update's bundle and verifies its signature against the app's public key; the
/// bytes come back only when it matches.
pub async fn download_verified(update: &Update) -> Result<Vec<u8>, ApiError> {
    update
        .download(|_, _| {}, || {})
        .await
        .map_err(update_error)
}

/// The plugin's errors, told apart by what the user can do: a bad signature is a refusal (the
/// bundle is not what the publisher signed), the rest are the network or the server.
pub fn update_error(err: tauri_plugin_updater::Error) -> ApiError {
    use tauri_plugin_updater::Error as E;
    match err {
        E::Minisign(e) => ApiError::new(
            ErrorCode::Validation,
            format!(
                "The update was refused: its signature does not match Cutover's public key ({e}). \
                 Nothing was installed."
            ),
        )
        .with_details(serde_json::json!({ "update": "bad_signature" })),
        E::Base64(_) | E::SignatureUtf8(_) => ApiError::new(
            ErrorCode::Validation,
            "The update was refused: its signature could not be read. Nothing was installed.",
        )
        .with_details(serde_json::json!({ "update": "bad_signature" })),
        E::SignedVersionMismatch { .. } | E::MissingSignedVersion => ApiError::new(
            ErrorCode::Validation,
            format!("The update was refused: {err}. Nothing was installed."),
        )
        .with_details(serde_json::json!({ "update": "bad_signature" })),
        E::Reqwest(e) if e.is_timeout() => ApiError::new(
            ErrorCode::Timeout,
            format!("The update server did not answer: {e}"),
        ),
        E::Reqwest(e) => ApiError::new(
            ErrorCode::Network,
            format!("The update server could not be reached: {e}"),
        ),
        E::Network(e) => ApiError::new(
            ErrorCode::Network,
            format!("The update could not be downloaded: {e}"),
        ),
        E::ReleaseNotFound | E::Serialization(_) | E::Semver(_) => ApiError::new(
            ErrorCode::Decode,
            format!("The update server's answer could not be read: {err}"),
        ),
        E::TargetNotFound(_) | E::TargetsNotFound(_) => ApiError::new(
            ErrorCode::NotFound,
            format!("The update has no build for this system: {err}"),
        ),
        E::AuthenticationFailed => ApiError::new(
            ErrorCode::Forbidden,
            "The update was not installed: the administrator password prompt was cancelled or \
             failed.",
        ),
        other => ApiError::new(ErrorCode::Internal, format!("Updating failed: {other}")),
    }
}

/// The update found by the last check, kept for the install the user may click.
#[derive(Default)]
pub struct UpdaterRuntime {
    pending: tokio::sync::Mutex<Option<Update>>,
    /// An update was installed in this run and waits for a restart.
    installed: std::sync::Mutex<Option<String>>,
}

/// A release the user may install.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct UpdateOffer {
    pub version: String,
    /// The release notes, as published.
    pub notes: Option<String>,
    /// RFC 3339, when published.
    pub date: Option<String>,
}

/// What "Check for updates" found.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct UpdateCheck {
    pub current_version: String,
    pub offer: Option<UpdateOffer>,
    /// An update installed earlier in this run, waiting for a restart.
    pub installed: Option<String>,
    /// Why an install or restart would wait now (empty: it would not).
    pub waits_for: Vec<String>,
}

/// What clicking Install did.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct InstallOutcome {
    pub version: String,
    /// The app is restarting into the new version.
    pub restarting: bool,
    /// Why it did not restart (something started meanwhile); "Restart now" when it is over.
    pub waits_for: Vec<String>,
}

fn blockers_now(state: &AppState) -> Vec<RestartBlocker> {
    restart_blockers(
        state.balancer.status().map(|s| s.listen),
        DNS_WRITES.load(Ordering::SeqCst),
    )
}

fn offer_of(update: &Update) -> UpdateOffer {
    UpdateOffer {
        version: update.version.clone(),
        notes: update.body.clone().filter(|n| !n.trim().is_empty()),
        date: update.date.and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
    }
}

/// Asks the update server whether a newer version is out. Nothing is downloaded.
#[tauri::command]
#[specta::specta]
pub async fn update_check(
    app: AppHandle,
    state: State<'_, AppState>,
    runtime: State<'_, UpdaterRuntime>,
) -> Result<UpdateCheck, ApiError> {
    let updater = updater_for(&app)?;
    let found = find_update(&updater).await?;
    let offer = found.as_ref().map(offer_of);
    if let Some(offer) = &offer {
        tracing::info!(version = %offer.version, "an update is available");
    }
    *runtime.pending.lock().await = found;
    Ok(UpdateCheck {
        current_version: app.package_info().version.to_string(),
        offer,
        installed: runtime.installed.lock().ok().and_then(|i| i.clone()),
        waits_for: blockers_now(&state).iter().map(|b| b.reason()).collect(),
    })
}

/// Downloads, verifies and installs the update the last check found, then restarts into it —
/// unless the rehearsal balancer runs or a DNS change is being written (then it waits, says why,
/// and installs nothing).
#[tauri::command]
#[specta::specta]
pub async fn update_install(
    app: AppHandle,
    state: State<'_, AppState>,
    runtime: State<'_, UpdaterRuntime>,
) -> Result<InstallOutcome, ApiError> {
    // Before the download too: on Windows installing quits the app.
    may_restart(&blockers_now(&state), "update")?;
    let mut pending = runtime.pending.lock().await;
    let update = pending
        .as_ref()
        .ok_or_else(|| ApiError::invalid_input("No update to install: check for updates first."))?;
    let bytes = download_verified(update).await?;
    may_restart(&blockers_now(&state), "update")?;
    update.install(&bytes).map_err(update_error)?;
    let version = update.version.clone();
    tracing::info!(%version, "update installed");
    *pending = None;
    if let Ok(mut installed) = runtime.installed.lock() {
        *installed = Some(version.clone());
    }
    // Something may have started during the install: then the restart is the user's, later.
    let blockers = blockers_now(&state);
    if !blockers.is_empty() {
        return Ok(InstallOutcome {
            version,
            restarting: false,
            waits_for: blockers.iter().map(|b| b.reason()).collect(),
        });
    }
    // Through the event loop: the balancer and Sandbox shut down and the window state is saved.
    app.request_restart();
    Ok(InstallOutcome {
        version,
        restarting: true,
        waits_for: Vec::new(),
    })
}

/// Restarts into an update installed earlier, once nothing blocks it.
#[tauri::command]
#[specta::specta]
pub async fn update_restart(
    app: AppHandle,
    state: State<'_, AppState>,
    runtime: State<'_, UpdaterRuntime>,
) -> Result<(), ApiError> {
    if runtime
        .installed
        .lock()
        .ok()
        .and_then(|i| i.clone())
        .is_none()
    {
        return Err(ApiError::invalid_input(
            "No update was installed in this run: nothing to restart into.",
        ));
    }
    may_restart(&blockers_now(&state), "restart")?;
    app.request_restart();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).expect("a version")
    }

    #[test]
    fn only_a_newer_release_is_offered() {
        assert!(acceptable(&v("0.1.0"), &v("0.2.0")));
        assert!(acceptable(&v("0.1.0"), &v("0.1.1")));
        assert!(!acceptable(&v("0.2.0"), &v("0.2.0")), "the same version");
        assert!(!acceptable(&v("0.2.0"), &v("0.1.9")), "a downgrade");
        assert!(
            !acceptable(&v("0.2.0"), &v("0.2.0+rebuild")),
            "build metadata is not newer"
        );
    }

    #[test]
    fn a_pre_release_is_offered_only_to_a_pre_release() {
        assert!(!acceptable(&v("0.1.0"), &v("0.2.0-beta.1")));
        assert!(acceptable(&v("0.2.0-beta.1"), &v("0.2.0-beta.2")));
        assert!(acceptable(&v("0.2.0-beta.2"), &v("0.2.0")));
        assert!(!acceptable(&v("0.2.0-beta.2"), &v("0.2.0-beta.1")));
    }

    #[test]
    fn a_running_rehearsal_or_dns_write_blocks_the_restart_and_says_why() {
        assert!(restart_blockers(None, 0).is_empty());
        assert!(may_restart(&restart_blockers(None, 0), "update").is_ok());

        let blockers = restart_blockers(Some("127.0.0.1:8443".into()), 0);
        let err = may_restart(&blockers, "update").expect_err("a rehearsal blocks");
        assert_eq!(err.code, ErrorCode::Busy);
        assert!(err.message.contains("127.0.0.1:8443"), "{}", err.message);
        assert!(err.message.contains("Rehearsal view"), "{}", err.message);

        let err = may_restart(&restart_blockers(None, 2), "restart").expect_err("DNS blocks");
        assert!(
            err.message.starts_with("The restart waits"),
            "{}",
            err.message
        );
        assert!(err.message.contains("2 DNS changes"), "{}", err.message);

        let both = restart_blockers(Some("127.0.0.1:1".into()), 1);
        assert_eq!(both.len(), 2);
        let err = may_restart(&both, "update").expect_err("both block");
        assert!(err.message.contains("rehearsal") && err.message.contains("a DNS change"));
        assert_eq!(
            err.details.expect("details")["blockers"][1]["kind"],
            "dns_write"
        );
    }

    #[test]
    fn the_dns_write_guard_counts_while_it_lives() {
        // Other tests in this binary may hold guards too: compare with the count before.
        let before = DNS_WRITES.load(Ordering::SeqCst);
        let guard = dns_write();
        assert_eq!(DNS_WRITES.load(Ordering::SeqCst), before + 1);
        drop(guard);
        assert_eq!(DNS_WRITES.load(Ordering::SeqCst), before);
    }
}
