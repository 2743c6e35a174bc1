//! The account a command acts on: `core::session` chooses it from `--context`,
//! `DIGITALOCEAN_ACCESS_TOKEN` (with `--api-base`) or — with neither — a Sandbox for this run.
//! `--context NAME` reads the app's accounts (settings file and OS keychain), so the account's
//! stored API base and protected flag apply here exactly as in the app.

use cutover_core::accounts::AccountStore;
use cutover_core::sandbox::SandboxOptions;
use cutover_core::session::{self, CliChoice, Session, Target};
use cutover_core::ApiError;

use crate::GlobalArgs;

/// The choice the global options make.
pub fn choice(global: &GlobalArgs) -> CliChoice {
    CliChoice {
        context: global.context.clone(),
        api_base: global.api_base.clone(),
        env_token: session::env_token(),
    }
}

/// Opens the session; a Sandbox started for this run gets `sandbox` options and is said on
/// stderr. [`Session::close`] it when done.
pub async fn open_with(global: &GlobalArgs, sandbox: SandboxOptions) -> Result<Session, ApiError> {
    let target = Target::from_cli(&choice(global), sandbox)?;
    let session = session::open(target, &AccountStore::os()).await?;
    // Changes are journaled where the app journals them (CUTOVER_DATA_DIR elsewhere), except
    // on a Sandbox that ends with this run.
    let session = if session.sandbox().is_some() {
        session
    } else {
        session.with_journal(cutover_core::journal::Journal::default_location())
    };
    if session.sandbox().is_some() && !global.quiet {
        eprintln!("cutover: using {}", session.describe());
    } else {
        tracing::info!("using {}", session.describe());
    }
    Ok(session)
}

/// [`open_with`] and a Sandbox that behaves like the live API (changes take a moment).
pub async fn open(global: &GlobalArgs) -> Result<Session, ApiError> {
    open_with(
        global,
        SandboxOptions {
            activation_delay: std::time::Duration::from_secs(2),
            ..SandboxOptions::default()
        },
    )
    .await
}

/// Opens a session, runs `job`, and always stops a Sandbox started for it afterwards.
pub async fn with<T, F>(global: &GlobalArgs, job: F) -> Result<T, ApiError>
where
    F: AsyncFnOnce(&Session) -> Result<T, ApiError>,
{
    let session = open(global).await?;
    let outcome = job(&session).await;
    session.close().await;
    outcome
}
