//! `cutover lb …`, `cutover certificates list`, `cutover droplets list`, `cutover account`:
//! managing load balancers from the command line, tables for people and `--json` for scripts.
//!
//! The account is chosen by `crate::session`: `--context NAME` (OS keychain),
//! `DIGITALOCEAN_ACCESS_TOKEN`, or a Sandbox started for the run.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cutover_core::context::Connection;
use cutover_core::lb::{
    self, Certificate, Droplet, Finding, Follow, ForwardingRule, LbFirewall, LoadBalancer,
    LoadBalancerRequest, Severity, UpdatePlan,
};
use cutover_core::session::Session;
use cutover_core::{ApiError, ErrorCode};
use serde_json::{json, Value};

use crate::output::{print_json, print_table, Output};
use crate::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum LbCommand {
    /// List the load balancers.
    #[command(visible_alias = "ls")]
    List,
    /// Show one load balancer (by id, or by name when it is unique).
    Get { lb: String },
    /// Create a load balancer (checked locally first; `--dry-run` asks DigitalOcean only).
    Create(Box<CreateArgs>),
    /// Change a load balancer: shows the plan (field by field) and asks before applying.
    Update(Box<UpdateArgs>),
    /// Put back what a journal entry changed (see `cutover history`), as a normal update.
    Revert(RevertArgs),
    /// Move to a new load balancer for what an edit cannot change (region, VPC, type, network,
    /// network stack): create, check, rehearse, DNS cutover, verify, then delete the old one
    /// with its name typed. Resumable (`--resume`).
    Replace(Box<crate::lb_replace::ReplaceArgs>),
    /// Delete a load balancer.
    #[command(visible_alias = "rm")]
    Delete {
        lb: String,
        /// Do not ask (not on a protected account: there, `--confirm NAME` is the only way
        /// without a prompt).
        #[arg(long, short = 'y')]
        yes: bool,
        /// The load balancer's name, typed: what a protected account requires.
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
    /// Print a load balancer as JSON (a create body), the doctl command or the Terraform block
    /// that recreates it.
    Export {
        /// The load balancer (id, or unique name).
        lb: String,
        /// json: the API's create body (what `lb create --from-file` reads); doctl: the
        /// `doctl compute load-balancer create` command; terraform: a `digitalocean_loadbalancer`
        /// resource (certificates by name).
        #[arg(long, default_value = "json", value_parser = crate::export::FORMATS)]
        format: String,
    },
    /// Add or remove droplets (by id) behind a load balancer.
    Droplets {
        #[command(subcommand)]
        command: DropletsCommand,
    },
    /// Add or remove forwarding rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum DropletsCommand {
    /// `cutover lb droplets add LB 3164444,3164445`
    Add {
        lb: String,
        #[arg(required = true, value_delimiter = ',', num_args = 1..)]
        droplet_ids: Vec<u64>,
    },
    /// `cutover lb droplets remove LB 3164444`
    Remove {
        lb: String,
        #[arg(required = true, value_delimiter = ',', num_args = 1..)]
        droplet_ids: Vec<u64>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// `cutover lb rules add LB --rule tcp:5432:tcp:5432`
    Add {
        lb: String,
        /// ENTRY_PROTO:ENTRY_PORT:TARGET_PROTO:TARGET_PORT[:passthrough|:cert=ID]; repeat for more.
        #[arg(long = "rule", required = true, value_name = "RULE")]
        rules: Vec<String>,
    },
    /// `cutover lb rules remove LB --rule tcp:5432:tcp:5432` (rules match by value)
    Remove {
        lb: String,
        #[arg(long = "rule", required = true, value_name = "RULE")]
        rules: Vec<String>,
    },
}

/// The settings `create` and `update` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LbFields {
    /// Start from a load balancer as JSON (what `cutover lb get --json` prints, or a request
    /// body); the other options apply on top of it.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    #[arg(long)]
    pub name: Option<String>,
    /// A forwarding rule, ENTRY_PROTO:ENTRY_PORT:TARGET_PROTO:TARGET_PORT[:passthrough|:cert=ID];
    /// repeat for more. Given on `update`, the rules replace all the current ones.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// protocol=http,port=80,path=/,interval=10,timeout=5,healthy=5,unhealthy=3 (any subset).
    #[arg(long, value_name = "SPEC")]
    pub health_check: Option<String>,
    /// none, or cookies:NAME:TTL_SECONDS.
    #[arg(long, value_name = "SPEC")]
    pub sticky_sessions: Option<String>,
    #[arg(long, value_name = "true|false")]
    pub redirect_http_to_https: Option<bool>,
    #[arg(long, value_name = "true|false")]
    pub enable_proxy_protocol: Option<bool>,
    #[arg(long, value_name = "true|false")]
    pub enable_backend_keepalive: Option<bool>,
    #[arg(long, value_name = "true|false")]
    pub disable_lets_encrypt_dns_records: Option<bool>,
    /// Number of nodes.
    #[arg(long, value_name = "N")]
    pub size_unit: Option<u32>,
    #[arg(long = "http-idle-timeout", value_name = "SECONDS")]
    pub http_idle_timeout_seconds: Option<u32>,
    /// DEFAULT or STRONG.
    #[arg(long, value_name = "POLICY")]
    pub tls_cipher_policy: Option<String>,
    /// The droplets behind it, by id (comma-separated); replaces a tag.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "IDS",
        conflicts_with = "tag"
    )]
    pub droplet_ids: Option<Vec<u64>>,
    /// The droplets behind it, by tag; replaces a list of ids.
    #[arg(long)]
    pub tag: Option<String>,
    /// Firewall allow entries (ip:1.2.3.4, cidr:10.0.0.0/8), comma-separated; empty to clear.
    #[arg(long, value_delimiter = ',', value_name = "ENTRIES")]
    pub allow: Option<Vec<String>>,
    /// Firewall deny entries, comma-separated; empty to clear.
    #[arg(long, value_delimiter = ',', value_name = "ENTRIES")]
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub fields: LbFields,
    /// Region slug, e.g. nyc3.
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, value_name = "UUID")]
    pub vpc_uuid: Option<String>,
    #[arg(long, value_name = "UUID")]
    pub project_id: Option<String>,
    /// EXTERNAL or INTERNAL.
    #[arg(long)]
    pub network: Option<String>,
    /// IPV4 or DUALSTACK.
    #[arg(long)]
    pub network_stack: Option<String>,
    /// REGIONAL or REGIONAL_NETWORK.
    #[arg(long = "type", value_name = "TYPE")]
    pub lb_type: Option<String>,
    /// Ask DigitalOcean whether it would accept this (validate_only); create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until the new load balancer is active.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct UpdateArgs {
    /// The load balancer (id, or unique name).
    pub lb: String,
    #[command(flatten)]
    pub fields: LbFields,
    #[command(flatten)]
    pub apply: ApplyOptions,
}

/// How a change is applied: `update` and `revert` alike.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyOptions {
    /// Ask DigitalOcean whether it would accept the change (validate_only); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (not when the preflight predicts fewer healthy droplets: then
    /// `--confirm NAME` is the only way without a prompt).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The load balancer's name, typed: required when the preflight predicts fewer droplets
    /// passing the health check than now.
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// Wait until the load balancer is active again.
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct RevertArgs {
    /// The journal entry's id (or the start of it), from `cutover history`.
    pub entry: String,
    #[command(flatten)]
    pub apply: ApplyOptions,
}

#[derive(Debug, clap::Subcommand)]
pub enum CertificatesCommand {
    /// List the certificates stored at DigitalOcean.
    #[command(visible_alias = "ls")]
    List,
}

#[derive(Debug, clap::Subcommand)]
pub enum DropletsListCommand {
    /// List droplets (all, or those with a tag).
    #[command(visible_alias = "ls")]
    List {
        #[arg(long)]
        tag: Option<String>,
    },
}

type Outcome = Result<ExitCode, ApiError>;

/// Connects, runs `job`, and always stops an in-process Sandbox afterwards.
async fn with_session<F>(global: &GlobalArgs, job: F) -> Outcome
where
    F: AsyncFnOnce(&Session) -> Outcome,
{
    crate::session::with(global, job).await
}

pub async fn run_lb(command: LbCommand, global: &GlobalArgs) -> Outcome {
    let out = Output::from_global(global);
    let override_k8s = global.override_kubernetes;
    with_session(global, async move |session: &Session| {
        let conn = &session.connection;
        match command {
            LbCommand::List => {
                let lbs = lb::list(conn).await?;
                out.emit(&lbs, || print_lb_table(&lbs));
                Ok(ExitCode::SUCCESS)
            }
            LbCommand::Get { lb } => {
                let lb = lb::find(conn, &lb).await?;
                if lb.is_global() {
                    // A global load balancer is shown as its tree (one JSON document too).
                    let tree = cutover_core::glb::tree_of(conn, lb).await?;
                    out.emit(&tree, || crate::glb_view::print_tree(&tree));
                    return Ok(ExitCode::SUCCESS);
                }
                out.emit(&lb, || print_lb_detail(&lb));
                Ok(ExitCode::SUCCESS)
            }
            LbCommand::Create(args) => create(conn, *args, out).await,
            LbCommand::Update(args) => update(conn, *args, out, override_k8s).await,
            LbCommand::Revert(args) => revert(conn, args, out, override_k8s).await,
            LbCommand::Replace(args) => crate::lb_replace::run(session, *args, out).await,
            LbCommand::Delete {
                lb: wanted,
                yes,
                confirm: typed,
            } => {
                let found = lb::find(conn, &wanted).await?;
                let typed = match typed {
                    Some(t) => Some(t),
                    None if session.account.protected => prompt_name(&found.name, out)?,
                    None => {
                        if !yes
                            && !confirm(
                                &format!("Delete load balancer \"{}\" ({})?", found.name, found.id),
                                out,
                            )?
                        {
                            return declined(out);
                        }
                        None
                    }
                };
                let deleted =
                    lb::delete(session, None, &found.id, typed.as_deref(), override_k8s).await?;
                done(
                    out,
                    json!({"deleted": deleted.id}),
                    &format!("Deleted \"{}\".", deleted.name),
                );
                Ok(ExitCode::SUCCESS)
            }
            LbCommand::Export { lb, format } => crate::export::run(conn, &lb, &format, out).await,
            LbCommand::Droplets { command } => {
                let (wanted, ids, add) = match command {
                    DropletsCommand::Add { lb, droplet_ids } => (lb, droplet_ids, true),
                    DropletsCommand::Remove { lb, droplet_ids } => (lb, droplet_ids, false),
                };
                let lb = if add {
                    lb::add_droplets(conn, &wanted, &ids, override_k8s).await?
                } else {
                    lb::remove_droplets(conn, &wanted, &ids, override_k8s).await?
                };
                let verb = if add { "Added" } else { "Removed" };
                let key = if add { "added" } else { "removed" };
                done(
                    out,
                    json!({"id": lb.id, key: ids}),
                    &format!(
                        "{verb} {} droplet(s) {} \"{}\".",
                        ids.len(),
                        if add { "to" } else { "from" },
                        lb.name
                    ),
                );
                Ok(ExitCode::SUCCESS)
            }
            LbCommand::Rules { command } => {
                let (wanted, specs, add) = match command {
                    RulesCommand::Add { lb, rules } => (lb, rules, true),
                    RulesCommand::Remove { lb, rules } => (lb, rules, false),
                };
                let rules = specs
                    .iter()
                    .map(|s| crate::lb_fields::parse_rule(s))
                    .collect::<Result<Vec<ForwardingRule>, _>>()?;
                let lb = if add {
                    let (lb, findings) = lb::add_rules(conn, &wanted, &rules, override_k8s).await?;
                    report_findings(&findings, out);
                    lb
                } else {
                    lb::remove_rules(conn, &wanted, &rules, override_k8s).await?
                };
                let verb = if add { "Added" } else { "Removed" };
                let key = if add { "added" } else { "removed" };
                done(
                    out,
                    json!({"id": lb.id, key: rules}),
                    &format!("{verb} {} rule(s) on \"{}\".", rules.len(), lb.name),
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
    .await
}

pub async fn run_certificates(command: CertificatesCommand, global: &GlobalArgs) -> Outcome {
    let out = Output::from_global(global);
    with_session(global, async move |session: &Session| match command {
        CertificatesCommand::List => {
            let certs = lb::list_certificates(&session.connection).await?;
            out.emit(&certs, || print_certificates(&certs));
            Ok(ExitCode::SUCCESS)
        }
    })
    .await
}

pub async fn run_droplets(command: DropletsListCommand, global: &GlobalArgs) -> Outcome {
    let out = Output::from_global(global);
    with_session(global, async move |session: &Session| match command {
        DropletsListCommand::List { tag } => {
            let droplets = lb::list_droplets(&session.connection, tag.as_deref()).await?;
            out.emit(&droplets, || print_droplets(&droplets));
            Ok(ExitCode::SUCCESS)
        }
    })
    .await
}

/// `cutover history [LB]`: the journal of changes, newest first (no API call).
pub fn run_history(lb: Option<String>, global: &GlobalArgs) -> Outcome {
    let out = Output::from_global(global);
    let journal = cutover_core::journal::Journal::default_location().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Io,
            "This system has no data folder to keep the journal in.",
        )
    })?;
    let entries = journal.list(lb.as_deref())?;
    out.emit(&entries, || {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.at.clone(),
                    e.account.clone(),
                    // As in --json: `update`, `dns_apply`.
                    serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    // A DNS change is about its domain (its lb_name is the address pointed at);
                    // a certificate change about the certificate it names.
                    match (&e.domain, e.kind) {
                        (Some(domain), _) => domain.clone(),
                        (
                            None,
                            cutover_core::journal::ChangeKind::CertCreate
                            | cutover_core::journal::ChangeKind::CertDelete,
                        ) => format!("certificate {}", e.lb_name),
                        (None, _) => e.lb_name.clone(),
                    },
                    e.changes
                        .iter()
                        .map(|c| c.path.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    format!("{:?}", e.status).to_lowercase(),
                    e.request_id.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        print_table(
            &[
                "ENTRY",
                "AT",
                "ACCOUNT",
                "KIND",
                "SUBJECT",
                "CHANGED",
                "STATUS",
                "REQUEST ID",
            ],
            &rows,
        );
    });
    Ok(ExitCode::SUCCESS)
}

pub async fn run_account(global: &GlobalArgs) -> Outcome {
    let out = Output::from_global(global);
    with_session(global, async move |session: &Session| {
        let account = lb::account(&session.connection).await?;
        let rate = session.client().rate_limit();
        if out.is_json() {
            print_json(&json!({"account": account, "rate_limit": rate}));
        } else {
            let team = account
                .team
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or("-");
            let rows = vec![
                vec!["Email".to_string(), account.email.clone()],
                vec![
                    "Name".to_string(),
                    account.name.clone().unwrap_or_else(|| "-".into()),
                ],
                vec!["Team".to_string(), team.to_string()],
                vec![
                    "Status".to_string(),
                    if account.status_message.is_empty() {
                        account.status.clone()
                    } else {
                        format!("{} ({})", account.status, account.status_message)
                    },
                ],
                vec![
                    "Droplet limit".to_string(),
                    account.droplet_limit.to_string(),
                ],
                vec!["UUID".to_string(), account.uuid.clone()],
                vec![
                    "Rate limit".to_string(),
                    rate.map(|r| format!("{} of {} requests left this hour", r.remaining, r.limit))
                        .unwrap_or_else(|| "-".into()),
                ],
            ];
            print_table(&["FIELD", "VALUE"], &rows);
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// create / update
// ---------------------------------------------------------------------------------------------

/// Reads `--from-file`: a load balancer (`lb get --json`), `{"load_balancer": …}`, or a request
/// body (region as a slug).
fn read_lb_file(path: &PathBuf) -> Result<LoadBalancer, ApiError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ApiError::invalid_input(format!("Could not read {}: {e}", path.display()))
            .with_details(json!({"field": "from_file"}))
    })?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| {
        ApiError::invalid_input(format!("{} is not JSON: {e}", path.display()))
            .with_details(json!({"field": "from_file"}))
    })?;
    if let Some(inner) = value.get_mut("load_balancer").map(Value::take) {
        value = inner;
    }
    if let Some(slug) = value
        .get("region")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        value["region"] = json!({"slug": slug});
    }
    if value.get("tag").is_some_and(Value::is_null) {
        value["tag"] = json!("");
    }
    if value.get("droplet_ids").is_some_and(Value::is_null) {
        value["droplet_ids"] = json!([]);
    }
    if let Some(obj) = value.as_object_mut() {
        obj.remove("validate_only");
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::invalid_input(format!("{} is not a load balancer: {e}", path.display()))
            .with_details(json!({"field": "from_file"}))
    })
}

/// Applies the options to `lb`.
fn apply_fields(lb: &mut LoadBalancer, f: &LbFields) -> Result<(), ApiError> {
    if let Some(path) = &f.from_file {
        let from_file = read_lb_file(path)?;
        // Keep what identifies the load balancer; take everything else from the file.
        let (id, region) = (lb.id.clone(), lb.region.clone());
        *lb = from_file;
        if lb.id.is_empty() {
            lb.id = id;
        }
        if lb.region.is_none() {
            lb.region = region;
        }
    }
    if let Some(name) = &f.name {
        lb.name = name.clone();
    }
    if !f.rules.is_empty() {
        lb.forwarding_rules = f
            .rules
            .iter()
            .map(|s| crate::lb_fields::parse_rule(s))
            .collect::<Result<_, _>>()?;
    }
    if let Some(spec) = &f.health_check {
        lb.health_check = Some(crate::lb_fields::parse_health_check(
            spec,
            lb.health_check.as_ref(),
        )?);
    }
    if let Some(spec) = &f.sticky_sessions {
        lb.sticky_sessions = Some(crate::lb_fields::parse_sticky(spec)?);
    }
    if let Some(v) = f.redirect_http_to_https {
        lb.redirect_http_to_https = v;
    }
    if let Some(v) = f.enable_proxy_protocol {
        lb.enable_proxy_protocol = v;
    }
    if let Some(v) = f.enable_backend_keepalive {
        lb.enable_backend_keepalive = v;
    }
    if let Some(v) = f.disable_lets_encrypt_dns_records {
        lb.disable_lets_encrypt_dns_records = v;
    }
    if let Some(units) = f.size_unit {
        lb.size_unit = Some(units);
        lb.size = None;
    }
    if let Some(t) = f.http_idle_timeout_seconds {
        lb.http_idle_timeout_seconds = Some(t);
    }
    if let Some(p) = &f.tls_cipher_policy {
        lb.tls_cipher_policy = Some(p.to_ascii_uppercase());
    }
    if let Some(ids) = &f.droplet_ids {
        lb.droplet_ids = ids.clone();
        lb.tag.clear();
    }
    if let Some(tag) = &f.tag {
        lb.tag = tag.clone();
    }
    let clean = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if f.allow.is_some() || f.deny.is_some() {
        let fw = lb.firewall.get_or_insert_with(LbFirewall::default);
        if let Some(allow) = &f.allow {
            fw.allow = clean(allow);
        }
        if let Some(deny) = &f.deny {
            fw.deny = clean(deny);
        }
    }
    Ok(())
}

async fn create(conn: &Connection, args: CreateArgs, out: Output) -> Outcome {
    let mut lb = LoadBalancer::default();
    apply_fields(&mut lb, &args.fields)?;
    if let Some(region) = &args.region {
        lb.region = Some(manage_region(region));
    }
    let set = |slot: &mut Option<String>, v: &Option<String>| {
        if let Some(v) = v {
            *slot = Some(v.clone());
        }
    };
    set(&mut lb.vpc_uuid, &args.vpc_uuid);
    set(&mut lb.project_id, &args.project_id);
    set(
        &mut lb.network,
        &args.network.as_ref().map(|s| s.to_ascii_uppercase()),
    );
    set(
        &mut lb.network_stack,
        &args.network_stack.as_ref().map(|s| s.to_ascii_uppercase()),
    );
    set(
        &mut lb.lb_type,
        &args.lb_type.as_ref().map(|s| s.to_ascii_uppercase()),
    );
    if lb.size_unit.is_none() && lb.size.is_none() {
        lb.size_unit = Some(1);
    }
    let mut request: LoadBalancerRequest = lb.to_request();
    request.validate_only = false;
    let findings = lb::check(&request, None);
    report_findings(&findings, out);
    refuse_on_errors(&findings)?;
    if args.dry_run {
        lb::dry_run_create(conn, &request).await?;
        done(
            out,
            json!({"dry_run": true, "accepted": true, "request": request, "findings": findings}),
            "DigitalOcean would accept this load balancer (dry run: nothing was created).",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let created = lb::create_request(conn, &request).await?;
    // Said before waiting: a wait that fails (a revoked token, a timeout, Ctrl-C) must never
    // hide that the load balancer exists, or the user creates a second, billed one.
    if args.wait {
        if out.is_json() {
            print_json(
                &json!({"created": {"id": created.id, "name": created.name, "status": created.status}}),
            );
        } else {
            eprintln!(
                "Created \"{}\" ({}); waiting until it is active (Ctrl-C stops waiting, not the load balancer)…",
                created.name, created.id
            );
        }
    }
    let created = if args.wait {
        crate::shutdown::interruptible(
            wait(conn, &created.id, args.wait_timeout, out),
            &format!(
                "Stopped waiting. Load balancer \"{}\" ({}) was created and is still being set up: see `cutover lb get {}`.",
                created.name, created.id, created.id
            ),
        )
        .await?
        .map_err(|err| lb::created_but(&created, err))?
    } else {
        created
    };
    out.emit(&created, || {
        out.say(&format!(
            "Created \"{}\" ({}), status {}.",
            created.name, created.id, created.status
        ))
    });
    Ok(ExitCode::SUCCESS)
}

fn manage_region(slug: &str) -> lb::Region {
    lb::Region {
        slug: slug.trim().to_string(),
        ..Default::default()
    }
}

async fn update(conn: &Connection, args: UpdateArgs, out: Output, override_k8s: bool) -> Outcome {
    let current = lb::find(conn, &args.lb).await?;
    let mut desired = current.clone();
    apply_fields(&mut desired, &args.fields)?;
    update_to(conn, current, desired, &args.apply, out, override_k8s).await
}

/// `lb revert ENTRY`: the journal entry's "before" as a normal update over the load balancer
/// as it is now — plan, preflight, confirmation and the stale-edit check like any other.
async fn revert(conn: &Connection, args: RevertArgs, out: Output, override_k8s: bool) -> Outcome {
    let journal = cutover_core::journal::Journal::default_location().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Io,
            "This system has no data folder to keep the journal in.",
        )
    })?;
    let entry = journal.get(&args.entry)?;
    let current = lb::find(conn, &entry.lb_id).await?;
    let edit = cutover_core::journal::revert_edit(&entry, &current)?;
    let desired = edit.apply_to(&current);
    update_to(conn, current, desired, &args.apply, out, override_k8s).await
}

async fn update_to(
    conn: &Connection,
    current: LoadBalancer,
    desired: LoadBalancer,
    args: &ApplyOptions,
    out: Output,
    override_k8s: bool,
) -> Outcome {
    let plan = lb::plan(&current, &desired);
    let findings = lb::check(&plan.request, Some(&current));
    if plan.is_noop() {
        return Err(lb::nothing_to_change(&current));
    }
    cutover_core::kubernetes::refuse_unless_overridden(
        &current,
        Some(&desired),
        &plan.changes,
        override_k8s,
    )?;
    if !out.is_json() {
        print_plan(&current, &plan);
    }
    report_findings(&findings, out);
    if !out.is_json() {
        for w in lb::lets_encrypt_dns_warnings(conn, &desired).await {
            eprintln!(
                "warning: {}: {} [{}]",
                w.field,
                crate::output::terminal_safe(&w.message),
                w.code
            );
        }
    }
    // One JSON document on stdout, also on failure: the plan rides in the error's details.
    refuse_on_errors(&findings).map_err(|err| with_plan(err, &plan))?;
    let preflight = match cutover_core::preflight::check(conn, &current, &desired, None).await {
        Ok(p) => p,
        Err(err) => {
            tracing::warn!("preflight not run: {}", err.message);
            None
        }
    };
    if let Some(p) = &preflight {
        if !out.is_json() {
            print_preflight(p);
        }
    }
    if args.dry_run {
        lb::dry_run_update(conn, &plan).await?;
        done(
            out,
            json!({"id": plan.id, "changes": plan.changes, "findings": findings, "preflight": preflight, "dry_run": true, "accepted": true, "request": plan.request}),
            "DigitalOcean would accept this change (dry run: nothing was changed).",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let risky = preflight.as_ref().is_some_and(|p| p.needs_confirmation);
    let typed = match &args.confirm {
        Some(t) => Some(t.clone()),
        None if risky => prompt_name(&current.name, out)?,
        None => None,
    };
    lb::refuse_risky(&current, preflight.as_ref(), typed.as_deref())
        .map_err(|err| with_plan(err, &plan))?;
    if !args.yes
        && !risky
        && !confirm(
            &format!(
                "Apply {} change(s) to \"{}\"?",
                plan.changes.len(),
                current.name
            ),
            out,
        )?
    {
        return declined(out);
    }
    let updated = crate::shutdown::interruptible(
        lb::apply_update(conn, &plan, &current),
        &format!(
            "Interrupted while the change was being sent: it may or may not have been applied. Check with `cutover lb get {}` before trying again.",
            plan.id
        ),
    )
    .await??;
    let updated = if args.wait {
        crate::shutdown::interruptible(
            wait(conn, &updated.id, args.wait_timeout, out),
            &format!(
                "Stopped waiting. The change to \"{}\" was accepted and is still being applied: see `cutover lb get {}`.",
                updated.name, updated.id
            ),
        )
        .await??
    } else {
        updated
    };
    out.emit(
        &json!({"id": plan.id, "changes": plan.changes, "findings": findings, "applied": true, "load_balancer": updated}),
        || out.say(&format!("Applied. \"{}\" is {}.", updated.name, status_word(&updated))),
    );
    Ok(ExitCode::SUCCESS)
}

async fn wait(
    conn: &Connection,
    id: &str,
    timeout_secs: u64,
    out: Output,
) -> Result<LoadBalancer, ApiError> {
    let started = Instant::now();
    let mut last = String::new();
    // Progress only for a person watching a terminal.
    let show = out.progress();
    let follow = Follow {
        timeout: Duration::from_secs(timeout_secs),
        ..Follow::default()
    };
    lb::follow_to_active(conn, id, follow, |p| {
        if show && p.status != last {
            eprintln!("  {} ({} s)", p.message, started.elapsed().as_secs());
            last = p.status.clone();
        }
    })
    .await
}

/// `err` with the plan in its details, so `--json` prints one document that says both.
fn with_plan(err: ApiError, plan: &UpdatePlan) -> ApiError {
    let mut details = match err.details {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    details.insert(
        "plan".into(),
        json!({"id": plan.id, "changes": plan.changes, "applied": false}),
    );
    ApiError {
        details: Some(Value::Object(details)),
        ..err
    }
}

/// The preflight's prediction, for people.
fn print_preflight(p: &cutover_core::preflight::Preflight) {
    use cutover_core::preflight::ProbeVerdict;
    let word = |o: &ProbeVerdict| match o {
        ProbeVerdict::Pass(d) => format!("pass: {d}"),
        ProbeVerdict::Fail(d) => format!("FAIL: {d}"),
        ProbeVerdict::Unknown(d) => format!("unknown: {d}"),
    };
    eprintln!("Preflight ({}):", p.reasons.join(", "));
    let rows: Vec<Vec<String>> = p
        .droplets
        .iter()
        .map(|d| {
            vec![
                d.droplet.clone(),
                word(&d.health_after),
                word(&d.traffic_after),
            ]
        })
        .collect();
    crate::output::print_table(&["DROPLET", "HEALTH CHECK AFTER", "TRAFFIC AFTER"], &rows);
    eprintln!("{}", crate::output::terminal_safe(&p.summary));
}

/// Asks for the load balancer's name on a terminal (see [`crate::output::prompt_typed`]).
fn prompt_name(name: &str, out: Output) -> Result<Option<String>, ApiError> {
    crate::output::prompt_typed(
        &format!("Type the load balancer's name ({name}) to go ahead:"),
        out,
    )
}

fn status_word(lb: &LoadBalancer) -> &str {
    if lb.status.is_empty() {
        "unknown"
    } else {
        &lb.status
    }
}

// ---------------------------------------------------------------------------------------------
// Asking, reporting
// ---------------------------------------------------------------------------------------------

/// Asks on the terminal. With `--json` or without a terminal, refuses: pass `--yes`.
fn confirm(question: &str, out: Output) -> Result<bool, ApiError> {
    if out.is_json() || !std::io::stdin().is_terminal() {
        return Err(ApiError::invalid_input(
            "Refusing to change anything without a confirmation: pass --yes (or --dry-run to only check).",
        )
        .with_details(json!({"field": "yes"})));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn declined(out: Output) -> Outcome {
    if !out.is_json() {
        eprintln!("Nothing was changed.");
    }
    Ok(ExitCode::from(1))
}

fn done(out: Output, value: Value, text: &str) {
    out.emit(&value, || {
        println!("{}", crate::output::terminal_safe(text))
    });
}

/// Findings on stderr for people (JSON output carries them in the result instead).
fn report_findings(findings: &[Finding], out: Output) {
    if out.is_json() || findings.is_empty() {
        return;
    }
    for f in findings {
        let mark = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if f.field.is_empty() {
            eprintln!("{mark}: {} [{}]", f.message, f.code);
        } else {
            eprintln!("{mark}: {}: {} [{}]", f.field, f.message, f.code);
        }
    }
}

fn refuse_on_errors(findings: &[Finding]) -> Result<(), ApiError> {
    if let Some(message) = cutover_core::lb::rejection_message(findings) {
        let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
        return Err(
            ApiError::new(ErrorCode::Validation, format!("Not sent: {message}"))
                .with_details(json!({"findings": errors})),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn rule_short(r: &ForwardingRule) -> String {
    let mut s = format!(
        "{}:{}→{}:{}",
        r.entry_protocol, r.entry_port, r.target_protocol, r.target_port
    );
    if r.tls_passthrough {
        s.push_str(" passthrough");
    } else if r.certificate().is_some() {
        s.push_str(" cert");
    }
    s
}

fn backends(lb: &LoadBalancer) -> String {
    if lb.is_tag_based() {
        format!("tag {} ({})", lb.tag, lb.droplet_ids.len())
    } else {
        format!("{} droplet(s)", lb.droplet_ids.len())
    }
}

fn size(lb: &LoadBalancer) -> String {
    match (lb.size_unit, lb.size.as_deref()) {
        (Some(n), _) => format!("{n} node(s)"),
        (None, Some(s)) => s.to_string(),
        _ => "-".into(),
    }
}

fn print_lb_table(lbs: &[LoadBalancer]) {
    let rows: Vec<Vec<String>> = lbs
        .iter()
        .map(|lb| {
            vec![
                lb.id.clone(),
                match cutover_core::kubernetes::owner(lb) {
                    Some(_) => format!("{} [kubernetes]", lb.name),
                    None => lb.name.clone(),
                },
                status_word(lb).to_string(),
                if lb.ip.is_empty() {
                    "-".into()
                } else {
                    lb.ip.clone()
                },
                lb.region_slug().unwrap_or("-").to_string(),
                size(lb),
                lb.forwarding_rules
                    .iter()
                    .map(rule_short)
                    .collect::<Vec<_>>()
                    .join(", "),
                backends(lb),
            ]
        })
        .collect();
    print_table(
        &[
            "ID", "NAME", "STATUS", "IP", "REGION", "SIZE", "RULES", "BACKENDS",
        ],
        &rows,
    );
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn print_lb_detail(lb: &LoadBalancer) {
    let hc = lb.health_check.clone().unwrap_or_default();
    let sticky = match &lb.sticky_sessions {
        Some(s) if s.is_enabled() => format!(
            "cookies ({}, {} s)",
            s.cookie_name.as_deref().unwrap_or("?"),
            s.cookie_ttl_seconds.unwrap_or(0)
        ),
        _ => "none".into(),
    };
    let fw = lb.firewall.clone().unwrap_or_default();
    let opt = |v: Option<&str>| v.filter(|s| !s.is_empty()).unwrap_or("-").to_string();
    let mut rows = vec![
        vec!["ID".into(), lb.id.clone()],
        vec!["Name".into(), lb.name.clone()],
        vec!["Status".into(), status_word(lb).to_string()],
        vec![
            "IP".into(),
            if lb.ip.is_empty() {
                "-".into()
            } else {
                lb.ip.clone()
            },
        ],
        vec!["Region".into(), opt(lb.region_slug())],
        vec!["Size".into(), size(lb)],
        vec!["Type".into(), opt(lb.lb_type.as_deref())],
        vec![
            "Network".into(),
            format!(
                "{} / {}",
                opt(lb.network.as_deref()),
                opt(lb.network_stack.as_deref())
            ),
        ],
        vec!["VPC".into(), opt(lb.vpc_uuid.as_deref())],
        vec!["Backends".into(), backends(lb)],
        vec![
            "Droplet ids".into(),
            lb.droplet_ids
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ],
        vec![
            "Health check".into(),
            format!(
                "{} :{} {} every {} s, timeout {} s, healthy {} / unhealthy {}",
                hc.protocol_or_default(),
                hc.port.unwrap_or(80),
                hc.path.as_deref().unwrap_or(""),
                hc.check_interval_seconds.unwrap_or(10),
                hc.response_timeout_seconds.unwrap_or(5),
                hc.healthy_threshold.unwrap_or(5),
                hc.unhealthy_threshold.unwrap_or(3)
            ),
        ],
        vec!["Sticky sessions".into(), sticky],
        vec![
            "HTTP → HTTPS redirect".into(),
            yes_no(lb.redirect_http_to_https),
        ],
        vec!["PROXY protocol".into(), yes_no(lb.enable_proxy_protocol)],
        vec![
            "Backend keepalive".into(),
            yes_no(lb.enable_backend_keepalive),
        ],
        vec![
            "HTTP idle timeout".into(),
            lb.http_idle_timeout_seconds
                .map(|t| format!("{t} s"))
                .unwrap_or_else(|| "-".into()),
        ],
        vec![
            "TLS cipher policy".into(),
            opt(lb.tls_cipher_policy.as_deref()),
        ],
        vec![
            "Firewall allow".into(),
            if fw.allow.is_empty() {
                "-".into()
            } else {
                fw.allow.join(", ")
            },
        ],
        vec![
            "Firewall deny".into(),
            if fw.deny.is_empty() {
                "-".into()
            } else {
                fw.deny.join(", ")
            },
        ],
        vec!["Created".into(), lb.created_at.clone()],
    ];
    for note in cutover_core::lb::notes(lb) {
        rows.push(vec!["Note".into(), note.message]);
    }
    if let Some(owner) = cutover_core::kubernetes::owner(lb) {
        rows.insert(
            2,
            vec![
                "Managed by".into(),
                format!(
                    "Kubernetes cluster {} ({}): edits are reverted by its controller; set the Service's annotations. Find the Service: {}",
                    owner.cluster_id.as_deref().unwrap_or("(id unknown)"),
                    owner.signals.join("; "),
                    owner.kubectl
                ),
            ],
        );
    }
    print_table(&["FIELD", "VALUE"], &rows);
    println!();
    let rules: Vec<Vec<String>> = lb
        .forwarding_rules
        .iter()
        .map(|r| {
            vec![
                r.entry_protocol.clone(),
                r.entry_port.to_string(),
                r.target_protocol.clone(),
                r.target_port.to_string(),
                if r.tls_passthrough {
                    "passthrough".into()
                } else {
                    r.certificate().unwrap_or("-").to_string()
                },
            ]
        })
        .collect();
    print_table(&["ENTRY", "PORT", "TARGET", "PORT", "TLS"], &rules);
}

fn print_plan(current: &LoadBalancer, plan: &UpdatePlan) {
    println!("Changes to \"{}\" ({}):", current.name, plan.id);
    let show = |v: &Value| match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = plan
        .changes
        .iter()
        .map(|c| vec![c.path.clone(), show(&c.before), show(&c.after)])
        .collect();
    print_table(&["FIELD", "BEFORE", "AFTER"], &rows);
}

fn print_certificates(certs: &[Certificate]) {
    let rows: Vec<Vec<String>> = certs
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.name.clone(),
                c.kind.clone(),
                c.state.clone(),
                c.not_after.clone(),
                c.names().collect::<Vec<_>>().join(", "),
            ]
        })
        .collect();
    print_table(
        &["ID", "NAME", "TYPE", "STATE", "NOT AFTER", "DNS NAMES"],
        &rows,
    );
}

fn print_droplets(droplets: &[Droplet]) {
    let ips = |v: Vec<std::net::Ipv4Addr>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(|ip| ip.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let rows: Vec<Vec<String>> = droplets
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.name.clone(),
                d.status.clone(),
                if d.region.slug.is_empty() {
                    "-".into()
                } else {
                    d.region.slug.clone()
                },
                ips(d.public_ipv4s()),
                ips(d.private_ipv4s()),
                d.tags.join(", "),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "NAME",
            "STATUS",
            "REGION",
            "PUBLIC IPV4",
            "PRIVATE IPV4",
            "TAGS",
        ],
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_apply_over_a_load_balancer() {
        let mut lb = LoadBalancer {
            name: "a".into(),
            tag: "web".into(),
            size: Some("lb-small".into()),
            ..LoadBalancer::default()
        };
        let f = LbFields {
            name: Some("b".into()),
            rules: vec!["https:443:https:443:passthrough".into()],
            redirect_http_to_https: Some(true),
            size_unit: Some(2),
            droplet_ids: Some(vec![1, 2]),
            allow: Some(vec!["ip:1.2.3.4".into(), " ".into()]),
            ..LbFields::default()
        };
        apply_fields(&mut lb, &f).unwrap();
        assert_eq!(lb.name, "b");
        assert!(lb.forwarding_rules[0].tls_passthrough);
        assert!(lb.redirect_http_to_https);
        assert_eq!((lb.size_unit, lb.size.as_deref()), (Some(2), None));
        assert!(!lb.is_tag_based());
        assert_eq!(lb.droplet_ids, vec![1, 2]);
        assert_eq!(lb.firewall.unwrap().allow, vec!["ip:1.2.3.4"]);
    }

    #[test]
    fn a_request_body_file_reads_as_a_load_balancer() {
        let dir = std::env::temp_dir().join(format!("cutover-lb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lb.json");
        std::fs::write(
            &path,
            r#"{"name":"x","region":"nyc3","tag":"web","validate_only":true,"forwarding_rules":[{"entry_protocol":"http","entry_port":80,"target_protocol":"http","target_port":80}]}"#,
        )
        .unwrap();
        let lb = read_lb_file(&path).unwrap();
        assert_eq!(lb.region_slug(), Some("nyc3"));
        assert!(lb.is_tag_based());
        assert!(!lb.extra.contains_key("validate_only"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
