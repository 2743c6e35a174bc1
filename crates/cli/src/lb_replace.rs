//! `cutover lb replace LB --set network_stack=DUALSTACK …`: the move to a new load balancer
//! (core::replace) from the command line, step by step with progress, resumable with
//! `--resume` after the run stopped (the plan is kept in the data folder the app shares).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cutover_core::lb::Follow;
use cutover_core::replace::{self, Advance, ReplaceInput, ReplaceStore, StepStatus};
use cutover_core::session::Session;
use cutover_core::{ApiError, ErrorCode};

use crate::output::Output;

#[derive(Debug, Clone, clap::Args)]
pub struct ReplaceArgs {
    /// The load balancer to replace (id, or unique name).
    pub lb: String,
    /// A field only a new load balancer can change: region, vpc_uuid, type, network,
    /// network_stack (repeat for several), e.g. `--set network_stack=DUALSTACK`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Continue the replacement started earlier (after a stop, a failed step, or to give what a
    /// step waits for).
    #[arg(long)]
    pub resume: bool,
    /// Forget the replacement of LB (nothing at DigitalOcean is changed or deleted).
    #[arg(long, conflicts_with_all = ["resume", "sets"])]
    pub abandon: bool,
    /// The new load balancer's name (default `<old name>-new`).
    #[arg(long, value_name = "NAME")]
    pub new_name: Option<String>,
    /// The domain whose records move from the old IP to the new one (in the account's Domains).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// A name in the domain to move (`@`, `www`, `blog`; repeat); default the apex and www.
    #[arg(long = "record", value_name = "NAME")]
    pub records: Vec<String>,
    /// How long to wait after a successful verify before the old load balancer may be deleted
    /// (default an hour; on --resume, what the replacement was started with).
    #[arg(long, value_name = "SECONDS")]
    pub wait_before_delete: Option<u64>,
    /// Apply the DNS change (shown on the line before) without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// On a protected account: the domain, typed, for the DNS change.
    #[arg(long, value_name = "DOMAIN")]
    pub confirm_domain: Option<String>,
    /// Apply the DNS change although readiness items are red.
    #[arg(long)]
    pub force: bool,
    /// The OLD load balancer's name, typed: the only way it is deleted (after the verify and
    /// the waiting period).
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// Where the DNS rollback set is kept (default the OS state folder, as `cutover dns`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub verify_timeout: u64,
}

/// An hour: resolvers that cached the old address (at the cutover's 300 s TTL, or a resolver
/// that ignores it for a while) have moved on long before.
const DEFAULT_WAIT_SECS: u64 = 3600;

/// The folder `cutover dns` keeps rollback sets in, so `cutover dns rollback` finds this one.
fn state_dir(args: &ReplaceArgs) -> PathBuf {
    if let Some(d) = &args.state_dir {
        return d.clone();
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("cutover")
}

fn mark(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Done => "done",
        StepStatus::Skipped => "skipped",
        StepStatus::Blocked => "WAITING",
        StepStatus::Failed => "FAILED",
        StepStatus::Pending => "pending",
    }
}

pub async fn run(session: &Session, args: ReplaceArgs, out: Output) -> Result<ExitCode, ApiError> {
    let store = ReplaceStore::default_location().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Io,
            "This system has no data folder to keep the replacement in.",
        )
    })?;
    let conn = &session.connection;
    if args.abandon {
        let lb = cutover_core::lb::find(conn, &args.lb).await;
        let id = lb.map(|l| l.id).unwrap_or_else(|_| args.lb.clone());
        let forgot = store.remove(&id)?;
        out.emit(
            &serde_json::json!({ "abandoned": forgot, "lb": id }),
            || {
                println!(
                    "{}",
                    if forgot {
                        "Replacement forgotten; nothing at DigitalOcean was changed."
                    } else {
                        "No replacement of that load balancer was under way."
                    }
                )
            },
        );
        return Ok(ExitCode::SUCCESS);
    }
    let old_id = if args.resume {
        // The old load balancer may already be gone (deleted by this replacement).
        match cutover_core::lb::find(conn, &args.lb).await {
            Ok(lb) => lb.id,
            Err(err) if err.code == ErrorCode::NotFound => args.lb.clone(),
            Err(err) => return Err(err),
        }
    } else {
        let input = ReplaceInput {
            fixed: replace::FixedFields::from_sets(&args.sets)?,
            new_name: args.new_name.clone(),
            domain: args.domain.clone(),
            names: args.records.clone(),
            wait_secs: args.wait_before_delete.unwrap_or(DEFAULT_WAIT_SECS),
        };
        let plan = replace::start(session, &store, &args.lb, &input).await?;
        out.say(&format!(
            "Replacing \"{}\" ({}) with \"{}\": {}",
            plan.old_name,
            plan.old_id,
            plan.request.name,
            plan.differences.join(", ")
        ));
        out.say(&format!(
            "The plan is kept in {}; continue it with --resume.",
            store.path_for(&plan.old_id).display()
        ));
        plan.old_id
    };
    let opts = Advance {
        follow: Follow {
            timeout: Duration::from_secs(args.wait_timeout),
            ..Follow::default()
        },
        dns_approved: args.yes || args.confirm_domain.is_some(),
        dns_confirm: args.confirm_domain.clone(),
        dns_force: args.force,
        dns_dir: state_dir(&args),
        verify_timeout: Some(Duration::from_secs(args.verify_timeout)),
        delete_confirm: args.confirm.clone(),
        domain: args.domain.clone().filter(|_| args.resume),
        wait_secs: args.wait_before_delete.filter(|_| args.resume),
    };
    // Each step's line once, as it settles.
    let mut said: Vec<(replace::StepId, StepStatus, String)> = Vec::new();
    let mut say_new = |plan: &replace::Replacement| {
        for s in &plan.steps {
            if s.status == StepStatus::Pending {
                continue;
            }
            let key = (s.id, s.status, s.message.clone());
            if !said.contains(&key) {
                out.say(&format!(
                    "[{}] {}: {}",
                    mark(s.status),
                    s.id.label(),
                    s.message
                ));
                said.push(key);
            }
        }
    };
    let result = replace::advance(session, &store, &old_id, &opts, &mut say_new).await;
    let plan = match result {
        Ok(plan) => plan,
        Err(err) => {
            // The failed step's line first, then the error.
            if let Ok(Some(plan)) = store.load(&old_id) {
                say_new(&plan);
            }
            return Err(err);
        }
    };
    say_new(&plan);
    out.emit(&plan, || {
        if plan.finished {
            println!(
                "Replaced: \"{}\" serves at {}; the old load balancer is deleted.",
                plan.request.name,
                plan.new_ip.as_deref().unwrap_or("its new IP")
            );
        } else if let Some(step) = plan.current() {
            println!(
                "Waiting at \"{}\": {}. Run again with --resume and what it needs.",
                step.id.label(),
                step.message
            );
        }
    });
    Ok(if plan.finished {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
