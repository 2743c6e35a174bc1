//! `cutover dns status|plan|apply|rollback`: the DNS cutover from the command line.
//!
//! The account, as `core::connect` chooses it (`--context`, `DIGITALOCEAN_ACCESS_TOKEN`,
//! `--api-base`); a Sandbox says where its DNS server is. With none of them, an in-process
//! Sandbox runs with its state kept in the state directory, so an `apply` can be rolled back by
//! a later `rollback`.
//!
//! Exit codes: 0 ok; 1 when `apply` was refused by the readiness checklist or verify did not
//! see the new address (the change is kept); 2 when the command could not run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cutover_core::context::Connection;
use cutover_core::dns::{self, ChangeAction, DnsPlan, ReadinessItem, RecordChange, VerifyOptions};
use cutover_core::{ApiError, ErrorCode};

use crate::output::{print_json, print_table};
use crate::{CliResult, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum DnsCommand {
    /// Where the domain points now: authoritative and system answers next to the LB's IP.
    Status(StatusArgs),
    /// The record changes that point the domain at the load balancer, and the readiness list.
    Plan(PlanArgs),
    /// Apply the plan through the Domains API (saving the old records), then verify.
    Apply(ApplyArgs),
    /// Put back the records saved by the last apply.
    Rollback(RollbackArgs),
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// Where rollback sets (and the no-token Sandbox's state) are kept.
    #[arg(long, value_name = "DIR", env = "CUTOVER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Ask this nameserver (HOST:PORT) for the authoritative view instead of the domain's.
    #[arg(long, value_name = "ADDR")]
    pub nameserver: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
    /// Show whether the names point at this load balancer.
    #[arg(long, value_name = "ID")]
    pub lb: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
    #[arg(long, value_name = "ID")]
    pub lb: String,
    /// The TTL of the new records, in seconds.
    #[arg(long, value_name = "S")]
    pub ttl: Option<u32>,
    /// A name to switch (repeat; default: the apex and www).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Do not ask to type the domain name to confirm (not on a protected account: there,
    /// `--confirm DOMAIN` is the only way without a prompt).
    #[arg(long)]
    pub yes: bool,
    /// The domain, typed: what a protected account requires (as the app's dialog does).
    #[arg(long, value_name = "DOMAIN")]
    pub confirm: Option<String>,
    /// Apply even when readiness items are red.
    #[arg(long)]
    pub force: bool,
    /// Only lower the TTL (the plan's first step); switch later.
    #[arg(long)]
    pub ttl_step: bool,
    /// Do not poll the nameservers afterwards.
    #[arg(long)]
    pub no_verify: bool,
    /// How long verify waits for the nameservers, in seconds.
    #[arg(long, value_name = "S", default_value_t = 120)]
    pub verify_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
    /// Keep the cutover: delete the saved records instead of restoring them.
    #[arg(long)]
    pub forget: bool,
    /// The domain, typed: what a protected account requires to roll back.
    #[arg(long, value_name = "DOMAIN")]
    pub confirm: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// The session, and the nameserver to ask for the authoritative view (a Sandbox's own).
struct Session {
    inner: cutover_core::session::Session,
    conn: Connection,
    nameserver: Option<SocketAddr>,
}

impl Session {
    async fn close(self) {
        self.inner.close().await;
    }
}

/// `--state-dir`, else the OS state folder (`$XDG_STATE_HOME/cutover`, `%LOCALAPPDATA%\cutover`).
fn state_dir(common: &Common) -> PathBuf {
    if let Some(d) = &common.state_dir {
        return d.clone();
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("cutover")
}

async fn open(global: &GlobalArgs, common: &Common) -> Result<Session, ApiError> {
    // With no account at all the Sandbox keeps its state in the state directory, so a later
    // `cutover dns rollback` finds the records an `apply` changed.
    let choice = crate::session::choice(global);
    let dir = state_dir(common);
    let sandbox = cutover_core::sandbox::SandboxOptions {
        state_file: Some(dir.join("dns-sandbox-state.json")),
        activation_delay: Duration::ZERO,
        ..cutover_core::sandbox::SandboxOptions::default()
    };
    if matches!(
        cutover_core::session::Target::from_cli(&choice, sandbox.clone())?,
        cutover_core::session::Target::Sandbox(_)
    ) {
        std::fs::create_dir_all(&dir)
            .map_err(|err| cutover_core::files::write_error(&dir, &err))?;
    }
    let inner = crate::session::open_with(global, sandbox).await?;
    let conn = inner.connection.clone();
    // A Sandbox (standalone or in-process) says where its DNS server is.
    let nameserver = match (common.nameserver, inner.sandbox()) {
        (Some(ns), _) => Some(ns),
        (None, Some(sb)) => Some(sb.dns_addr()),
        (None, None) => dns::sandbox_nameserver(&conn).await,
    };
    Ok(Session {
        inner,
        conn,
        nameserver,
    })
}

pub async fn run(cmd: DnsCommand, global: &GlobalArgs) -> CliResult {
    let json = global.json;
    let result = match cmd {
        DnsCommand::Status(a) => status(a, global).await,
        DnsCommand::Plan(a) => plan(a, global).await,
        DnsCommand::Apply(a) => apply(a, global).await,
        DnsCommand::Rollback(a) => rollback(a, global).await,
    };
    result.map_err(|e| (e, json))
}

async fn status(args: StatusArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let session = open(global, &args.common).await?;
    let result = async {
        let lb_ips = match &args.lb {
            Some(id) => dns::lb_addresses(&session.conn, id).await?,
            None => Vec::new(),
        };
        dns::status(&session.conn, &args.domain, &lb_ips, session.nameserver).await
    }
    .await;
    session.close().await;
    let st = result?;
    if global.json {
        print_json(&st);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {}",
        st.domain,
        if st.hosted_at_digitalocean {
            "DNS hosted at DigitalOcean"
        } else {
            "DNS hosted elsewhere (not in this account's Domains)"
        }
    );
    println!("nameservers asked: {}\n", st.nameservers.join(", "));
    let show = |answers: &[dns::DnsAnswer], err: &Option<String>| {
        if answers.is_empty() {
            err.clone().unwrap_or_else(|| "-".into())
        } else {
            answers
                .iter()
                .map(|a| format!("{} {} ({} s)", a.kind, a.data, a.ttl))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let rows: Vec<Vec<String>> = st
        .names
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                show(&n.authoritative, &n.authoritative_error),
                show(&n.system, &n.system_error),
                match (&st.lb_ip, n.points_to_lb, &n.proxied) {
                    // Behind a CDN: neither yes nor no.
                    (_, false, Some(proxied)) => proxied_words(proxied),
                    (None, _, _) => "-".into(),
                    (Some(ip), true, _) => format!("yes ({ip})"),
                    (Some(ip), false, None) => format!("no ({ip})"),
                },
            ]
        })
        .collect();
    print_table(
        &["NAME", "AUTHORITATIVE", "SYSTEM RESOLVER", "AT LB"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// A proxied name in the words the app uses: "Proxied by Cloudflare — cannot confirm the
/// origin" (core's "proxied by Cloudflare: cannot confirm the origin", capitalised).
fn proxied_words(proxied: &str) -> String {
    let sentence = proxied.replacen(": ", " — ", 1);
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => sentence,
    }
}

/// A readiness item's mark: `lets_encrypt_renewal` is always ok but is a warning to read.
fn readiness_mark(item: &ReadinessItem) -> &'static str {
    match (item.ok, item.id.as_str()) {
        (true, "lets_encrypt_renewal") => "WARN",
        (true, _) => "ok  ",
        (false, _) => "FAIL",
    }
}

struct Planned {
    plan: DnsPlan,
    readiness: Vec<ReadinessItem>,
    hosted: bool,
}

async fn make_plan(session: &Session, args: &PlanArgs) -> Result<Planned, ApiError> {
    let conn = &session.conn;
    let plan = dns::plan_for(conn, &args.domain, &args.lb, &args.names, args.ttl).await?;
    let hosted = conn.client.get_domain(&plan.domain).await.is_ok();
    let dir = state_dir(&args.common);
    let readiness = dns::readiness(
        conn,
        &plan.domain,
        &args.lb,
        None,
        None,
        Some(dir.as_path()),
    )
    .await?;
    Ok(Planned {
        plan,
        readiness,
        hosted,
    })
}

fn change_line(c: &RecordChange, domain: &str) -> String {
    let name = dns::fqdn(&c.name, domain);
    let v = |r: &Option<dns::RecordValue>| {
        r.as_ref()
            .map(|v| format!("{} {} {}", v.ttl, v.kind, v.data))
            .unwrap_or_default()
    };
    match c.action {
        ChangeAction::Create => format!("+ {name} {}", v(&c.after)),
        ChangeAction::Delete => format!("- {name} {}", v(&c.before)),
        ChangeAction::Update => format!("~ {name} {}  →  {}", v(&c.before), v(&c.after)),
    }
}

fn print_plan(p: &Planned) {
    let plan = &p.plan;
    println!(
        "Cutover of {} to {} (TTL {} s)\n",
        plan.domain, plan.lb_ip, plan.ttl
    );
    if !p.hosted {
        println!("The domain's DNS is not at DigitalOcean: set these records at its DNS provider:");
        for line in &plan.provider_records {
            println!("  {line}");
        }
        println!();
    } else if plan.changes.is_empty() {
        println!("No change: the names already point at the load balancer.\n");
    } else {
        if let Some(step) = &plan.ttl_step {
            println!(
                "Optional first step (apply --ttl-step), then wait {} s:",
                step.wait_secs
            );
            for c in &step.changes {
                println!("  {}", change_line(c, &plan.domain));
            }
            println!();
        }
        println!("Changes:");
        for c in &plan.changes {
            println!("  {}", change_line(c, &plan.domain));
        }
        println!();
    }
    println!("Readiness:");
    for item in &p.readiness {
        let mark = readiness_mark(item);
        let safe = item
            .safe_at
            .as_ref()
            .map(|t| format!(" (safe at {t})"))
            .unwrap_or_default();
        println!("  [{mark}] {:<20} {}{safe}", item.id, item.reason);
    }
}

async fn plan(args: PlanArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let session = open(global, &args.common).await?;
    let planned = make_plan(&session, &args).await;
    session.close().await;
    let p = planned?;
    if global.json {
        print_json(&serde_json::json!({
            "plan": p.plan, "readiness": p.readiness, "hosted_at_digitalocean": p.hosted,
        }));
    } else {
        print_plan(&p);
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply(args: ApplyArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let session = open(global, &args.plan.common).await?;
    let result = apply_in(&session, &args, global).await;
    session.close().await;
    result
}

async fn apply_in(
    session: &Session,
    args: &ApplyArgs,
    global: &GlobalArgs,
) -> Result<ExitCode, ApiError> {
    let conn = &session.conn;
    let p = make_plan(session, &args.plan).await?;
    if !global.json {
        print_plan(&p);
        println!();
    }
    if !p.hosted {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "{} is not in this account's Domains: set the records above at its DNS provider",
                p.plan.domain
            ),
        ));
    }
    // Already switched: nothing to write, nothing to confirm — a script that runs the cutover
    // again succeeds (the plan above says so).
    if p.plan.changes.is_empty() && !args.ttl_step {
        if global.json {
            print_json(&serde_json::json!({
                "applied": false, "unchanged": true, "plan": p.plan, "readiness": p.readiness,
            }));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The typed confirmation: `--confirm`, else a prompt (a protected account needs it even
    // with --yes; core checks it either way).
    let protected = session.inner.account.protected;
    let typed = match &args.confirm {
        Some(typed) => Some(typed.clone()),
        None if protected || !args.yes => crate::output::prompt_typed(
            &format!("Type the domain name ({}) to apply:", p.plan.domain),
            crate::output::Output::from_global(global),
        )?,
        None => None,
    };
    if !protected
        && !args.yes
        && !cutover_core::session::typed_matches(&p.plan.domain, typed.as_deref())
    {
        return Err(ApiError::invalid_input(
            "The typed name did not match (or --yes / --confirm DOMAIN was not given): nothing was changed.",
        )
        .with_details(serde_json::json!({ "field": "confirm" })));
    }
    let dir = state_dir(&args.plan.common);
    let guard = dns::ApplyGuard {
        ttl_step_only: args.ttl_step,
        force: args.force,
        confirm: typed,
        rehearsal_ok: None,
        readiness: Some(p.readiness.clone()),
    };
    let applied =
        match dns::apply_reviewed(&session.inner, &args.plan.lb, &p.plan, &guard, &dir).await {
            Ok(applied) => applied,
            Err(err) if err.code == ErrorCode::NotReady => {
                if global.json {
                    print_json(&serde_json::json!({
                        "applied": false, "plan": p.plan, "readiness": p.readiness, "error": err,
                    }));
                } else {
                    eprintln!("cutover: {} (pass --force to apply anyway)", err.message);
                }
                return Ok(ExitCode::from(1));
            }
            Err(err) => return Err(err),
        };
    if !global.json {
        println!(
            "Applied {} change(s); the old records are saved in {}",
            applied.applied.len(),
            applied.rollback_file
        );
    }
    let verified = if args.no_verify || args.ttl_step {
        None
    } else {
        let opts = VerifyOptions {
            timeout: Duration::from_secs(args.verify_timeout),
            https_addr: dns::sandbox_https_addr(conn, &args.plan.lb).await,
            ca_pem: conn.extra_ca_pem.clone(),
            ..VerifyOptions::default()
        };
        let out = crate::output::Output::from_global(global);
        let v = dns::verify(conn, &p.plan, session.nameserver, &opts, |pr| {
            out.progress_line(&format!(
                "verify #{}: ready {:?}, waiting {:?}",
                pr.attempt, pr.ready, pr.waiting
            ));
        })
        .await?;
        Some(v)
    };
    let ok = verified
        .as_ref()
        .is_none_or(|v| v.dns_ok && v.https.as_ref().is_none_or(|h| h.ok));
    if global.json {
        print_json(&serde_json::json!({
            "applied": true, "plan": p.plan, "readiness": p.readiness,
            "result": applied, "verify": verified,
        }));
    } else if let Some(v) = &verified {
        println!("{}", v.message);
        // Not failures: the proxy hides the origin, so verify cannot say either way.
        for name in &v.unconfirmed {
            let words = v
                .names
                .iter()
                .find(|n| &n.name == name)
                .and_then(|n| n.proxied.as_deref())
                .map(proxied_words)
                .unwrap_or_else(|| "cannot confirm the origin".into());
            println!("Unconfirmed: {name}: {words}");
        }
        if let Some(h) = &v.https {
            println!(
                "HTTPS {} via {}: {}",
                h.url,
                h.addr,
                h.status
                    .map(|s| s.to_string())
                    .or_else(|| h.error.clone())
                    .unwrap_or_default()
            );
        }
        if let Some(why) = &v.https_skipped {
            println!("HTTPS check skipped: {why}");
        }
        if ok {
            println!(
                "To keep it: cutover dns rollback --domain {0} --forget; to undo: cutover dns rollback --domain {0}",
                p.plan.domain
            );
        } else {
            println!("To undo: cutover dns rollback --domain {}", p.plan.domain);
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn rollback(args: RollbackArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    if args.forget {
        let dir = state_dir(&args.common);
        let had = dns::forget_rollback(&dir, &args.domain)?;
        if global.json {
            print_json(&serde_json::json!({ "domain": args.domain, "forgotten": had }));
        } else if had {
            println!(
                "Kept the cutover of {}: the saved records are deleted",
                args.domain
            );
        } else {
            println!("No saved records for {}", args.domain);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let session = open(global, &args.common).await?;
    let dir = state_dir(&args.common);
    let result =
        dns::rollback_confirmed(&session.inner, &args.domain, args.confirm.as_deref(), &dir).await;
    session.close().await;
    let writes = result?;
    if global.json {
        print_json(&serde_json::json!({ "domain": args.domain, "writes": writes }));
    } else {
        println!("Rolled back {}: {writes} record write(s)", args.domain);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxied_name_reads_as_in_the_app() {
        assert_eq!(
            proxied_words(dns::PROXIED_BY_CLOUDFLARE),
            "Proxied by Cloudflare — cannot confirm the origin"
        );
        assert_eq!(proxied_words(""), "");
    }

    #[test]
    fn the_renewal_item_is_marked_as_a_warning_not_a_pass() {
        let item = |id: &str, ok: bool| ReadinessItem {
            id: id.into(),
            ok,
            reason: String::new(),
            safe_at: None,
        };
        assert_eq!(readiness_mark(&item("lets_encrypt_renewal", true)), "WARN");
        assert_eq!(readiness_mark(&item("caa", true)), "ok  ");
        assert_eq!(readiness_mark(&item("caa", false)), "FAIL");
    }
}
