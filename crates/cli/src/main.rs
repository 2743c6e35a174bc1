//! `cutover`: every job of Cutover from the command line, with table output for people and
//! `--json` for scripts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod balance;
mod certs;
mod certs_manage;
mod dns;
mod export;
mod glb_view;
mod lb;
mod lb_fields;
mod lb_replace;
mod metrics;
mod output;
mod sandbox;
mod session;
mod shutdown;
mod watch;

/// Global options shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Base URL of the DigitalOcean API (the Sandbox, a proxy or a test server).
    #[arg(long, global = true, env = "CUTOVER_API_BASE", value_name = "URL")]
    pub api_base: Option<String>,
    /// Name of an account stored in the OS keychain (like doctl's contexts).
    #[arg(long, global = true, env = "CUTOVER_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Change a load balancer a Kubernetes cluster owns anyway (its controller will likely
    /// revert the change: set the Service's annotations instead).
    #[arg(long, global = true)]
    pub override_kubernetes: bool,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Run sites behind DigitalOcean load balancers: manage them, check backend certificates, rehearse and cut over DNS",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print version and build information.
    Version,
    /// Backend certificates: `cutover certs check --domain D --backend HOST:PORT ...`.
    Certs {
        #[command(subcommand)]
        command: certs::CertsCommand,
    },
    /// The Sandbox: a simulated DigitalOcean on 127.0.0.1 (`cutover sandbox serve`), and its
    /// droplets stopped and started (`cutover sandbox droplet stop|start DROPLET`).
    Sandbox(sandbox::SandboxArgs),
    /// Run the local SNI-passthrough balancer (rehearse a load balancer before DNS points at it).
    Balance(balance::BalanceArgs),
    /// DNS cutover: status, plan, apply (then verify), rollback.
    Dns {
        #[command(subcommand)]
        command: dns::DnsCommand,
    },
    /// Load balancers: list, get, create, update (plan, dry run, apply), delete, droplets, rules;
    /// health and metrics as DigitalOcean sees them.
    Lb {
        #[command(subcommand)]
        command: metrics::LbCli,
    },
    /// Certificates stored at DigitalOcean.
    Certificates {
        #[command(subcommand)]
        command: lb::CertificatesCommand,
    },
    /// Droplets.
    Droplets {
        #[command(subcommand)]
        command: lb::DropletsListCommand,
    },
    /// The account the token belongs to, and the rate limit left.
    Account,
    /// The journal of changes Cutover made (the app's and the CLI's), newest first.
    History {
        /// Only this load balancer's (id or name).
        lb: Option<String>,
    },
    /// Watch sites after the cutover: `cutover watch add LB --domain D`, `cutover watch run`
    /// (exit 1 when something needs attention, for cron or CI), `list`, `remove`.
    Watch {
        #[command(subcommand)]
        command: watch::WatchCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cutover_core::init_tls();
    let filter = if cli.global.quiet {
        "error"
    } else {
        match cli.global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let _log = cutover_core::logging::init(cutover_core::logging::LogOptions {
        dir: None,
        stderr: true,
        default_filter: filter.to_string(),
        capacity: 16,
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cutover: could not start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(code) => code,
        Err((err, json)) => {
            output::print_error(&err, json);
            ExitCode::from(2)
        }
    }
}

type CliResult = Result<ExitCode, (cutover_core::ApiError, bool)>;

async fn run(cli: Cli) -> CliResult {
    let json = cli.global.json;
    match cli.command {
        Command::Certs { command } => certs::run(command, &cli.global).await,
        Command::Dns { command } => dns::run(command, &cli.global).await,
        Command::Sandbox(args) => sandbox::run(args, &cli.global).await.map_err(|e| (e, json)),
        Command::Balance(args) => balance::run(args, &cli.global).await.map_err(|e| (e, json)),
        Command::Lb { command } => metrics::run_lb(command, &cli.global)
            .await
            .map_err(|e| (e, json)),
        Command::Certificates { command } => lb::run_certificates(command, &cli.global)
            .await
            .map_err(|e| (e, json)),
        Command::Droplets { command } => lb::run_droplets(command, &cli.global)
            .await
            .map_err(|e| (e, json)),
        Command::Account => lb::run_account(&cli.global).await.map_err(|e| (e, json)),
        Command::History { lb } => lb::run_history(lb, &cli.global).map_err(|e| (e, json)),
        Command::Watch { command } => watch::run(command, &cli.global).await,
        Command::Version => {
            let info = serde_json::json!({
                "name": "cutover",
                "version": cutover_core::version(),
            });
            if json {
                output::print_json(&info);
            } else {
                println!("cutover {}", cutover_core::version());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_parse_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "cutover",
            "version",
            "--json",
            "--api-base",
            "http://127.0.0.1:1",
            "-vv",
        ])
        .unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.api_base.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(cli.global.verbose, 2);
    }
}
