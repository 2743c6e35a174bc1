//! The Watch view's commands and the background watch (issue 18): the watched sites' list and
//! results in `<app data dir>/watch.json` (`cutover_core::watch`, the CLI's layout), a run at
//! start and every six hours, and a desktop notification when a run finds a new finding of
//! error severity.
//!
//! Two locks: `running` keeps one run at a time ("Run now" during a scheduled run waits for it,
//! then runs); `file` is held only while the file is loaded, changed and saved, never during the
//! network checks, so adding or removing a site is not held up by a run.

use std::path::PathBuf;
use std::time::Duration;

use cutover_core::watch::{self, RunOutcome, WatchState, WatchStore, WatchedSite};
use cutover_core::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;
use tokio::sync::Mutex;

use crate::state::AppState;

/// Overrides the six hours between runs (seconds), for tests and for people who want it.
const INTERVAL_ENV: &str = "CUTOVER_WATCH_INTERVAL_SECS";
/// Set to record notifications (see [`watch_notifications`]) instead of showing them: the test
/// seam of the WebDriver journeys, which have no notification daemon to look at.
const CAPTURE_ENV: &str = "CUTOVER_CAPTURE_NOTIFICATIONS";
/// How many notifications are remembered for [`watch_notifications`].
const KEEP_NOTIFICATIONS: usize = 50;
/// The longest single sleep of the scheduler: a suspended laptop's monotonic clock stands still,
/// so the wall clock is looked at again this often.
const WAKE_EVERY: Duration = Duration::from_secs(300);

/// What the app keeps for the watch while it runs.
#[derive(Default)]
pub struct WatchRuntime {
    running: Mutex<()>,
    file: Mutex<()>,
    notifications: std::sync::Mutex<Vec<WatchNotification>>,
}

/// A desktop notification the watch raised.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct WatchNotification {
    pub title: String,
    pub body: String,
    /// RFC 3339 time of the run that raised it.
    pub at: String,
    /// Whether it was handed to the OS (false when captured, or when the OS refused it).
    pub shown: bool,
}

/// A run finished (scheduled or asked for): the Watch view reloads.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct WatchRunMsg(pub RunOutcome);

fn store(app: &AppHandle) -> Result<WatchStore, ApiError> {
    let dir: PathBuf = app.path().app_data_dir().map_err(|e| {
        ApiError::new(
            ErrorCode::Io,
            format!("no data folder to keep the watch list in: {e}"),
        )
    })?;
    Ok(WatchStore::in_dir(&dir))
}

/// The watched sites, their last results, the runs and the findings' history.
#[tauri::command]
#[specta::specta]
pub async fn watch_list(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<WatchState, ApiError> {
    let store = store(&app)?;
    let _file = state.watch.file.lock().await;
    store.load()
}

/// Watches load balancer `lb_id` (an id or a unique name) for `domain`; again changes the domain.
#[tauri::command]
#[specta::specta]
pub async fn watch_add(
    app: AppHandle,
    state: State<'_, AppState>,
    lb_id: String,
    domain: String,
) -> Result<WatchedSite, ApiError> {
    let store = store(&app)?;
    let session = state.workspace.session().await?;
    let mut site = watch::resolve_site(&session.connection, &lb_id, &domain).await?;
    site.account = Some(session.account.name.clone());
    let _file = state.watch.file.lock().await;
    let site = store.update(|s| Ok(watch::add_site(s, site)))?;
    tracing::info!(lb = %site.lb_id, domain = %site.domain, "watching a site");
    Ok(site)
}

/// Stops watching `lb_id` and forgets its history.
#[tauri::command]
#[specta::specta]
pub async fn watch_remove(
    app: AppHandle,
    state: State<'_, AppState>,
    lb_id: String,
) -> Result<WatchedSite, ApiError> {
    let store = store(&app)?;
    let _file = state.watch.file.lock().await;
    store.update(|s| watch::remove_site(s, &lb_id))
}

/// Checks every watched site now (after a run already under way, if any).
#[tauri::command]
#[specta::specta]
pub async fn watch_run_now(app: AppHandle) -> Result<RunOutcome, ApiError> {
    run_watch(&app).await
}

/// The notifications the watch raised since the app started, newest last.
#[tauri::command]
#[specta::specta]
pub async fn watch_notifications(
    state: State<'_, AppState>,
) -> Result<Vec<WatchNotification>, ApiError> {
    Ok(state
        .watch
        .notifications
        .lock()
        .map(|n| n.clone())
        .unwrap_or_default())
}

/// One run: check the sites (no lock on the file meanwhile), record the results, notify, and
/// tell the UI.
async fn run_watch(app: &AppHandle) -> Result<RunOutcome, ApiError> {
    let state = app.state::<AppState>();
    let _running = state.watch.running.lock().await;
    let store = store(app)?;
    let sites = {
        let _file = state.watch.file.lock().await;
        store.load()?.sites
    };
    if sites.is_empty() {
        // Nothing to check: do not start the built-in Sandbox, nor record an empty run.
        return Ok(RunOutcome::nothing(watch::now_unix()));
    }
    let session = state.workspace.session().await?;
    // Only the account in use: another account's load balancers are not "gone" from this one.
    let sites = watch::sites_of_account(&sites, &session.account.name);
    if sites.is_empty() {
        return Ok(RunOutcome::nothing(watch::now_unix()));
    }
    let results = watch::check_sites(&session.connection, &sites, None).await;
    let now = watch::now_unix();
    let outcome = {
        let _file = state.watch.file.lock().await;
        store.update(|s| Ok(watch::record_run(s, results, now)))?
    };
    notify(app, &state.watch, &outcome);
    let _ = WatchRunMsg(outcome.clone()).emit(app);
    Ok(outcome)
}

/// Raises one notification per site with new findings of error severity.
fn notify(app: &AppHandle, runtime: &WatchRuntime, outcome: &RunOutcome) {
    use tauri_plugin_notification::NotificationExt;
    let capture = std::env::var_os(CAPTURE_ENV).is_some();
    for (title, body) in outcome.notifications() {
        let shown = !capture
            && match app
                .notification()
                .builder()
                .title(&title)
                .body(&body)
                .show()
            {
                Ok(()) => true,
                Err(err) => {
                    // No notification daemon (a bare session): the Watch view still shows it.
                    tracing::warn!(%err, "could not show the watch notification");
                    false
                }
            };
        tracing::info!(%title, %body, shown, "watch notification");
        if let Ok(mut kept) = runtime.notifications.lock() {
            kept.push(WatchNotification {
                title,
                body,
                at: outcome.at.clone(),
                shown,
            });
            let extra = kept.len().saturating_sub(KEEP_NOTIFICATIONS);
            kept.drain(..extra);
        }
    }
}

fn interval() -> Duration {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .unwrap_or(watch::DEFAULT_INTERVAL)
}

/// The background watch: a run at start, then whenever [`watch::due_in`] says (every six hours
/// after the last run, "Run now" included). A failed run is retried an interval later, not at
/// once: offline, it would otherwise spin.
pub fn start_background(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let interval = interval();
        let mut last_attempt: Option<i64> = None;
        loop {
            let last_run = last_run(&app).await;
            let last = match (last_run, last_attempt) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            // At start the first run is due at once whatever the file says.
            let wait = if last_attempt.is_none() {
                Duration::ZERO
            } else {
                watch::due_in(last, watch::now_unix(), interval)
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait.min(WAKE_EVERY)).await;
                continue;
            }
            last_attempt = Some(watch::now_unix());
            if let Err(err) = run_watch(&app).await {
                tracing::warn!(code = err.code.as_str(), message = %err.message, "the scheduled watch run failed");
            }
        }
    });
}

/// When the last recorded run was (none when the file cannot be read: the run says why).
async fn last_run(app: &AppHandle) -> Option<i64> {
    let state = app.state::<AppState>();
    let _file = state.watch.file.lock().await;
    store(app).ok()?.load().ok()?.last_run_unix()
}

/// Set once the user said to quit although the rehearsal balancer runs: the close that follows
/// must not ask again.
static QUIT_CONFIRMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Closing the window while the rehearsal balancer runs asks first: the browser or the test
/// pointed at it would lose it mid-request. (Quitting otherwise stops it cleanly, see
/// `AppState::shutdown`.)
pub fn confirm_quit(window: &tauri::Window, event: &tauri::WindowEvent) {
    use std::sync::atomic::Ordering;
    use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
    let tauri::WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if QUIT_CONFIRMED.load(Ordering::SeqCst) {
        return;
    }
    let app = window.app_handle();
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let Some(status) = state.balancer.status() else {
        return;
    };
    api.prevent_close();
    let window = window.clone();
    app.dialog()
        .message(format!(
            "The rehearsal balancer is running on {}. Quitting stops it.",
            status.listen
        ))
        .title("Quit Cutover?")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(
            "Quit".into(),
            "Keep running".into(),
        ))
        .show(move |quit| {
            if quit {
                QUIT_CONFIRMED.store(true, Ordering::SeqCst);
                if let Err(err) = window.close() {
                    tracing::warn!(%err, "could not close the window");
                }
            }
        });
}
