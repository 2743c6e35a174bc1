//! `cutover watch list|add|remove|run`: the app's watch, headless, for cron and CI.
//!
//! The list and the results live in `watch.json` in the state directory (`--state-dir`, else the
//! OS state folder), the same layout as the app's data folder, so `--state-dir` can point at the
//! app's. With no account, an in-process Sandbox runs with its state in the same folder as
//! `cutover dns` uses, so a watch sees what a `cutover dns apply` changed.
//!
//! Exit codes: 0 nothing needs attention; 1 `run` found a finding of error severity (with
//! `--new-only`: one that was not there at the run before); 2 the command could not run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cutover_core::watch::{self, RunOutcome, SiteFinding, WatchStore, WatchedSite};
use cutover_core::ApiError;

use crate::output::{print_table, Output};
use crate::{CliResult, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum WatchCommand {
    /// The watched sites and what their last run found.
    List(Common),
    /// Watch a load balancer (id or unique name) for a domain; again changes the domain.
    Add(AddArgs),
    /// Stop watching a load balancer (id, or the name it was added with).
    Remove(RemoveArgs),
    /// Check every watched site once; exit 1 when something needs attention.
    Run(RunArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Where watch.json (and the no-token Sandbox's state) is kept.
    #[arg(long, value_name = "DIR", env = "CUTOVER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The load balancer: its id or unique name.
    #[arg(value_name = "LB")]
    pub lb: String,
    /// The domain its droplets serve (checked as SNI, and in DNS).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    #[arg(value_name = "LB")]
    pub lb: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Exit 1 only for findings that are new since the last run (default: any open one).
    #[arg(long)]
    pub new_only: bool,
    /// Ask this nameserver (HOST:PORT) for the authoritative view instead of the domain's.
    #[arg(long, value_name = "ADDR")]
    pub nameserver: Option<SocketAddr>,
    #[command(flatten)]
    pub common: Common,
}

/// `--state-dir`, else the OS state folder (`$XDG_STATE_HOME/cutover`, `%LOCALAPPDATA%\cutover`):
/// where `cutover dns` keeps its files too.
fn state_dir(common: &Common) -> PathBuf {
    if let Some(d) = &common.state_dir {
        return d.clone();
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("cutover")
}

/// The session, with a no-account Sandbox keeping its state beside `cutover dns`'s.
async fn open(
    global: &GlobalArgs,
    dir: &std::path::Path,
) -> Result<cutover_core::session::Session, ApiError> {
    let sandbox = cutover_core::sandbox::SandboxOptions {
        state_file: Some(dir.join("dns-sandbox-state.json")),
        activation_delay: Duration::ZERO,
        ..cutover_core::sandbox::SandboxOptions::default()
    };
    if matches!(
        cutover_core::session::Target::from_cli(&crate::session::choice(global), sandbox.clone())?,
        cutover_core::session::Target::Sandbox(_)
    ) {
        std::fs::create_dir_all(dir).map_err(|err| cutover_core::files::write_error(dir, &err))?;
    }
    crate::session::open_with(global, sandbox).await
}

pub async fn run(cmd: WatchCommand, global: &GlobalArgs) -> CliResult {
    let json = global.json;
    let out = Output::from_global(global);
    let result = match cmd {
        WatchCommand::List(common) => list(&common, out),
        WatchCommand::Add(a) => add(a, global, out).await,
        WatchCommand::Remove(a) => remove(a, out),
        WatchCommand::Run(a) => run_once(a, global, out).await,
    };
    result.map_err(|e| (e, json))
}

fn list(common: &Common, out: Output) -> Result<ExitCode, ApiError> {
    let store = WatchStore::in_dir(&state_dir(common));
    let state = store.load()?;
    out.emit(&state.sites, || {
        if state.sites.is_empty() {
            say("Nothing is watched: `cutover watch add LB --domain DOMAIN`.");
            return;
        }
        let rows: Vec<Vec<String>> = state.sites.iter().map(site_row).collect();
        print_table(
            &["LB", "NAME", "DOMAIN", "LAST RUN", "NEEDS ATTENTION"],
            &rows,
        );
    });
    Ok(ExitCode::SUCCESS)
}

fn site_row(site: &WatchedSite) -> Vec<String> {
    let (last, attention) = match &site.last {
        None => ("never".to_string(), "-".to_string()),
        Some(r) => {
            let n = r.findings.iter().filter(|f| f.attention).count();
            (
                r.checked_at.clone(),
                if n == 0 {
                    "no".into()
                } else {
                    format!("yes ({n})")
                },
            )
        }
    };
    vec![
        site.lb_id.clone(),
        site.lb_name.clone(),
        site.domain.clone(),
        last,
        attention,
    ]
}

async fn add(args: AddArgs, global: &GlobalArgs, out: Output) -> Result<ExitCode, ApiError> {
    let dir = state_dir(&args.common);
    let store = WatchStore::in_dir(&dir);
    // Read the file before opening a session: a broken file is said without starting anything.
    store.load()?;
    let session = open(global, &dir).await?;
    let result = watch::add(
        &session.connection,
        &store,
        &args.lb,
        &args.domain,
        Some(&session.account.name),
    )
    .await;
    session.close().await;
    let site = result?;
    out.emit(&site, || {
        say(format!(
            "Watching {} ({}) for {}.",
            site.lb_name, site.lb_id, site.domain
        ));
    });
    Ok(ExitCode::SUCCESS)
}

fn remove(args: RemoveArgs, out: Output) -> Result<ExitCode, ApiError> {
    let store = WatchStore::in_dir(&state_dir(&args.common));
    let site = watch::remove(&store, &args.lb)?;
    out.emit(&site, || {
        say(format!(
            "No longer watching {} ({}) for {}.",
            site.lb_name, site.lb_id, site.domain
        ));
    });
    Ok(ExitCode::SUCCESS)
}

async fn run_once(args: RunArgs, global: &GlobalArgs, out: Output) -> Result<ExitCode, ApiError> {
    let dir = state_dir(&args.common);
    let store = WatchStore::in_dir(&dir);
    if store.load()?.sites.is_empty() {
        // Nothing to check: no session (and no Sandbox) for nothing, and no empty run recorded.
        out.emit(
            &serde_json::json!({ "sites": [], "needs_attention": false }),
            || {
                say("Nothing is watched: `cutover watch add LB --domain DOMAIN`.");
            },
        );
        return Ok(ExitCode::SUCCESS);
    }
    let session = open(global, &dir).await?;
    // A Sandbox says where its DNS server is.
    let nameserver = match (args.nameserver, session.sandbox()) {
        (Some(ns), _) => Some(ns),
        (None, Some(sb)) => Some(sb.dns_addr()),
        (None, None) => cutover_core::dns::sandbox_nameserver(&session.connection).await,
    };
    let result = watch::run(&session.connection, &store, nameserver).await;
    session.close().await;
    let outcome = result?;
    out.emit(&outcome, || print_outcome(&outcome));
    let failed = if args.new_only {
        outcome.new_attention
    } else {
        outcome.needs_attention
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A line for people, through [`Output`] (a closed pipe is not a panic; control characters are
/// escaped).
fn say(text: impl AsRef<str>) {
    Output::new(false, false).say(text.as_ref());
}

fn print_outcome(outcome: &RunOutcome) {
    let is_new = |lb: &str, code: &str, backend: &Option<String>| {
        outcome.appeared.iter().any(|f: &SiteFinding| {
            f.lb_id == lb && f.finding.code == code && &f.finding.backend == backend
        })
    };
    for site in &outcome.sites {
        let verdict = if site.needs_attention() {
            "NEEDS ATTENTION"
        } else {
            "ok"
        };
        say(format!(
            "{} (load balancer {}): {verdict}",
            site.domain, site.lb_id
        ));
        if !site.summary.is_empty() {
            say(format!("  {}", crate::output::terminal_safe(&site.summary)));
        }
        if !site.backends.is_empty() {
            let rows: Vec<Vec<String>> = site
                .backends
                .iter()
                .map(|b| {
                    vec![
                        b.label.clone(),
                        b.address.clone(),
                        b.not_after.clone().unwrap_or_else(|| "-".into()),
                        b.days_left
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(&["BACKEND", "ADDRESS", "EXPIRES", "DAYS LEFT"], &rows);
        }
        if !site.findings.is_empty() {
            let rows: Vec<Vec<String>> = site
                .findings
                .iter()
                .map(|f| {
                    vec![
                        f.severity.as_str().to_string(),
                        f.code.clone(),
                        f.backend.clone().unwrap_or_else(|| "-".into()),
                        if is_new(&site.lb_id, &f.code, &f.backend) {
                            "new".into()
                        } else {
                            String::new()
                        },
                        f.message.clone(),
                    ]
                })
                .collect();
            print_table(&["SEVERITY", "CODE", "ON", "", "MESSAGE"], &rows);
        }
        say(String::new());
    }
    for f in &outcome.cleared {
        say(format!(
            "cleared: {} {} on {}",
            crate::output::terminal_safe(&f.domain),
            f.finding.code,
            crate::output::terminal_safe(f.finding.backend.as_deref().unwrap_or("the site"))
        ));
    }
}
