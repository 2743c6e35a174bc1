//! `cutover sandbox serve`: run the Sandbox (a simulated DigitalOcean whose droplets are real TLS
//! servers on 127.0.0.1) in the foreground.
//!
//! Prints one JSON line when ready — `{"api_base", "token", "ca_pem_path", "backends"}` — and
//! stops cleanly on Ctrl-C or SIGTERM (saving the state file, if one was given).
//!
//! `cutover sandbox droplet stop|start DROPLET`: power one of a running Sandbox's droplets off
//! or on (the Sandbox the session points at: `--api-base` and its token); core refuses anything
//! that is not a Sandbox.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cutover_core::sandbox::{self, SandboxOptions};
use cutover_core::session::{Session, Target};
use cutover_core::ApiError;

use crate::output::Output;
use crate::GlobalArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SandboxCommand {
    /// Run the sandbox API and its droplets until Ctrl-C.
    Serve(ServeArgs),
    /// Stop or start a droplet of a running Sandbox (`--api-base` and its token), e.g. to
    /// watch `cutover lb health --wait-healthy` notice it.
    Droplet {
        #[command(subcommand)]
        command: DropletCommand,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DropletCommand {
    /// Power the droplet off: its ports refuse connections until it is started.
    Stop {
        /// The droplet's id or unique name.
        droplet: String,
    },
    /// Power the droplet on again.
    Start {
        /// The droplet's id or unique name.
        droplet: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Where the API listens (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Keep the account in this JSON file (loaded if it exists, saved after every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The bearer token to accept (a random `sandbox-…` one by default).
    #[arg(long, env = "CUTOVER_SANDBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Write the sandbox CA here (default: a file in the temp directory, removed on exit).
    #[arg(long, value_name = "FILE")]
    pub ca_pem: Option<PathBuf>,
    /// How long a new load balancer stays `new`.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub activation_delay_ms: u64,
    /// How long after a write a load balancer answers writes with the busy 403.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub busy_window_ms: u64,
    /// Latency added to every API request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// A big account: this many load balancers in all (the 3 seeded ones included). With none
    /// of --load-balancers, --droplets-per-lb and --records, CUTOVER_SANDBOX_SCALE is read
    /// (`lbs=1000,droplets=200,records=5000`). A state file that exists is loaded as it is.
    #[arg(long, value_name = "N")]
    pub load_balancers: Option<u64>,
    /// Droplets behind each generated load balancer (one pool they share; all of them answer,
    /// through one shared server).
    #[arg(long, value_name = "N")]
    pub droplets_per_lb: Option<u64>,
    /// Records added to the seeded domain.
    #[arg(long, value_name = "N")]
    pub records: Option<u64>,
}

pub async fn run(args: SandboxArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    match args.command {
        SandboxCommand::Serve(serve) => run_serve(serve).await,
        SandboxCommand::Droplet { command } => run_droplet(command, global).await,
    }
}

async fn run_droplet(command: DropletCommand, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let out = Output::from_global(global);
    let (droplet, on) = match &command {
        DropletCommand::Stop { droplet } => (droplet.as_str(), false),
        DropletCommand::Start { droplet } => (droplet.as_str(), true),
    };
    // With no account named the run would start a Sandbox of its own only to refuse: refused
    // before anything starts.
    let target = Target::from_cli(&crate::session::choice(global), SandboxOptions::default())?;
    if matches!(target, Target::Sandbox(_)) {
        return Err(sandbox::own_sandbox_refusal(droplet, on));
    }
    crate::session::with(global, async move |session: &Session| {
        let done = sandbox::set_droplet_power(session, droplet, on).await?;
        out.emit(&done, || out.say(&done.message));
        Ok(ExitCode::SUCCESS)
    })
    .await
}

async fn run_serve(args: ServeArgs) -> Result<ExitCode, ApiError> {
    if !args.listen.ip().is_loopback() {
        return Err(ApiError::invalid_input(format!(
            "the sandbox only listens on the loopback interface, not {}",
            args.listen
        ))
        .with_details(serde_json::json!({ "field": "listen" })));
    }
    let options = SandboxOptions {
        listen: args.listen,
        state_file: args.state.clone(),
        activation_delay: Duration::from_millis(args.activation_delay_ms),
        busy_window: Duration::from_millis(args.busy_window_ms),
        latency: Duration::from_millis(args.latency_ms),
        token: args.token.clone(),
        ..SandboxOptions::default()
    };
    let options = with_scale(options, &args)?;
    let started = std::time::Instant::now();
    let handle = sandbox::start(options).await?;
    tracing::info!("sandbox ready in {:.0?}", started.elapsed());
    let (ca_path, remove_ca) = match &args.ca_pem {
        Some(p) => (p.clone(), false),
        None => {
            let port = handle
                .api_base()
                .rsplit(':')
                .next()
                .unwrap_or("0")
                .to_string();
            (
                std::env::temp_dir().join(format!("cutover-sandbox-{port}-ca.pem")),
                true,
            )
        }
    };
    let ca_written = match std::fs::write(&ca_path, handle.ca_pem()) {
        Ok(()) => Some(ca_path.clone()),
        Err(err) => {
            tracing::warn!(
                "could not write the sandbox CA to {}: {err}",
                ca_path.display()
            );
            None
        }
    };
    // Listen for Ctrl-C/SIGTERM before announcing: a script may signal as soon as it reads.
    let stop = crate::shutdown::stop_signal();
    let line = sandbox::ready_line(&handle, ca_written.clone());
    crate::output::print_json(&line);
    // Scripts wait for this line: make sure it leaves the buffer now.
    let _ = std::io::stdout().flush();

    stop.await;
    tracing::info!("stopping the sandbox");
    let saved = handle.shutdown_and_save().await;
    if remove_ca {
        if let Some(p) = ca_written {
            let _ = std::fs::remove_file(p);
        }
    }
    // A final save that failed loses the run's changes: not a clean exit.
    saved?;
    Ok(ExitCode::SUCCESS)
}

/// The account's size from the flags, or else from CUTOVER_SANDBOX_SCALE.
fn with_scale(options: SandboxOptions, args: &ServeArgs) -> Result<SandboxOptions, ApiError> {
    let invalid = |e: &dyn std::fmt::Display, field: &str| {
        ApiError::invalid_input(e.to_string()).with_details(serde_json::json!({ "field": field }))
    };
    if args.load_balancers.is_none() && args.droplets_per_lb.is_none() && args.records.is_none() {
        return options
            .with_scale_from_env()
            .map_err(|e| invalid(&e, "CUTOVER_SANDBOX_SCALE"));
    }
    // The sandbox's own parser checks the maximums.
    let spec = format!(
        "lbs={},droplets={},records={}",
        args.load_balancers.unwrap_or(0),
        args.droplets_per_lb.unwrap_or(0),
        args.records.unwrap_or(0)
    );
    let scale = spec.parse().map_err(|e| invalid(&e, "scale"))?;
    Ok(SandboxOptions { scale, ..options })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn scale_flags_become_the_sandbox_scale_and_are_bounded() {
        let t = T::try_parse_from([
            "t",
            "--load-balancers",
            "1000",
            "--droplets-per-lb",
            "200",
            "--records",
            "5000",
        ])
        .unwrap();
        let options = with_scale(SandboxOptions::default(), &t.serve).unwrap();
        assert_eq!(
            (
                options.scale.load_balancers,
                options.scale.droplets_per_lb,
                options.scale.records
            ),
            (1000, 200, 5000)
        );
        let t = T::try_parse_from(["t", "--load-balancers", "99999999"]).unwrap();
        let err = with_scale(SandboxOptions::default(), &t.serve).unwrap_err();
        assert!(err.message.contains("at most"), "{}", err.message);
    }
}
