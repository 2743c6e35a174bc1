//! `cutover certs check`: do all backends serve the same valid certificate for the domain?
//!
//! Exit codes: 0 when nothing is worse than a warning, 1 when something is an error or critical,
//! 2 when the check could not run.
//!
//! `--fix` prints, under the report, the certificate to keep and the steps for each droplet that
//! serves another one (the JSON report always carries them as `remedy`). After the fix,
//! `--lb ID --only web-3 --previous before.json` probes only the changed droplets and compares
//! them with the others as an earlier `--json` report found them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cutover_core::certs::{
    BackendReport, CertCheckOptions, FleetReport, ProbeTarget, ProxyVersion, Severity,
};
use cutover_core::ApiError;

use crate::output::{print_json, print_table};
use crate::{CliResult, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Probe every backend with the domain as SNI, check its certificate, and compare them.
    Check(CheckArgs),
    #[command(flatten)]
    Manage(crate::certs_manage::ManageCommand),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProxyArg {
    V1,
    V2,
}

/// What the droplets run, for exact file paths and reload commands in `--fix`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServerArg {
    Nginx,
    Apache,
    Caddy,
    Traefik,
    Haproxy,
}

impl ServerArg {
    fn name(self) -> &'static str {
        match self {
            ServerArg::Nginx => "nginx",
            ServerArg::Apache => "apache",
            ServerArg::Caddy => "caddy",
            ServerArg::Traefik => "traefik",
            ServerArg::Haproxy => "haproxy",
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["lb", "backends"])))]
pub struct CheckArgs {
    /// The domain: sent as SNI and checked against each certificate.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
    /// Check the droplets behind this load balancer.
    #[arg(long, value_name = "ID")]
    pub lb: Option<String>,
    /// A backend to check (repeat for each).
    #[arg(long = "backend", value_name = "HOST:PORT")]
    pub backends: Vec<String>,
    /// A PEM file of CA certificates to trust besides the public and OS roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Send a PROXY protocol header first, as the load balancer does when PROXY protocol is on.
    #[arg(long, value_enum, value_name = "v1|v2")]
    pub proxy_protocol: Option<ProxyArg>,
    /// Per-backend timeout in seconds.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
    /// How many backends to probe at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: u32,
    /// When backends serve different certificates: print the certificate to keep and, for each
    /// droplet to change, the steps to copy it there (the JSON report always has them).
    #[arg(long)]
    pub fix: bool,
    /// What the droplets run (nginx, apache, caddy, traefik, haproxy): exact paths and reload
    /// commands in the fix.
    #[arg(long, value_enum, value_name = "SERVER")]
    pub server: Option<ServerArg>,
    /// With --lb: check only this droplet (repeat for each), e.g. the ones just changed.
    #[arg(long = "only", value_name = "DROPLET", requires = "lb")]
    pub only: Vec<String>,
    /// An earlier `--json` report of the same domain: the backends checked now replace theirs in
    /// it and the rest are compared as they were (a recheck of only the changed droplets).
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
}

pub async fn run(cmd: CertsCommand, global: &GlobalArgs) -> CliResult {
    let json = global.json;
    match cmd {
        CertsCommand::Check(args) => check(args, global).await.map_err(|e| (e, json)),
        CertsCommand::Manage(cmd) => crate::certs_manage::run(cmd, global)
            .await
            .map_err(|e| (e, json)),
    }
}

async fn check(args: CheckArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    // The same reading as the app's: the file must exist and hold a PEM certificate.
    let ca_pem = match &args.ca_file {
        Some(path) => Some(cutover_core::certs::read_ca_file(&path.to_string_lossy())?),
        None => None,
    };
    // Read before probing: a wrong file is an input error, not a wasted check.
    let previous = match &args.previous {
        Some(path) => Some(read_previous(path, &args.domain)?),
        None => None,
    };
    let options = CertCheckOptions {
        proxy_protocol: args.proxy_protocol.map(|p| match p {
            ProxyArg::V1 => ProxyVersion::V1,
            ProxyArg::V2 => ProxyVersion::V2,
        }),
        timeout_secs: Some(args.timeout),
        ca_pem,
        concurrency: Some(args.concurrency),
    };
    if let Some(id) = &args.lb {
        let session = crate::session::open(global).await?;
        let progress = !global.json && !global.quiet;
        let mut done = 0usize;
        let on_result = |r: &BackendReport| {
            done += 1;
            if progress {
                eprintln!(
                    "[{done}] {} {}",
                    r.label,
                    r.severity.map_or("ok", Severity::as_str)
                );
            }
        };
        let report = if args.only.is_empty() {
            cutover_core::certs::check_load_balancer(
                &session.connection,
                id,
                &args.domain,
                &options,
                on_result,
            )
            .await
        } else {
            cutover_core::certs::check_load_balancer_only(
                &session.connection,
                id,
                &args.domain,
                &options,
                &args.only,
                on_result,
            )
            .await
        };
        // An in-process Sandbox stops before the report is printed, whatever the outcome.
        session.close().await;
        return finish(report?, &args, previous, global);
    }
    let mut targets: Vec<ProbeTarget> = Vec::with_capacity(args.backends.len());
    for spec in &args.backends {
        targets.push(cutover_core::certs::backend_from_spec(spec).await?);
    }
    let progress = !global.json && !global.quiet;
    let total = targets.len();
    let mut done = 0usize;
    let report = cutover_core::certs::check_backends(&args.domain, targets, &options, |r| {
        done += 1;
        if progress {
            eprintln!(
                "[{done}/{total}] {} {}",
                r.label,
                r.severity.map_or("ok", Severity::as_str)
            );
        }
    })
    .await?;
    finish(report, &args, previous, global)
}

fn read_previous(path: &Path, domain: &str) -> Result<FleetReport, ApiError> {
    let bad = |why: String| {
        ApiError::invalid_input(format!(
            "{} is not a usable earlier report: {why}",
            path.display()
        ))
        .with_details(serde_json::json!({ "field": "previous" }))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let report: FleetReport = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a `cutover certs check --json` report ({e})")))?;
    let domain = cutover_core::domain::normalize(domain);
    if report.domain != domain {
        return Err(bad(format!("it is for {}, not {domain}", report.domain)));
    }
    Ok(report)
}

fn finish(
    mut report: FleetReport,
    args: &CheckArgs,
    previous: Option<FleetReport>,
    global: &GlobalArgs,
) -> Result<ExitCode, ApiError> {
    if let Some(previous) = previous {
        report = previous.merged_with(report.backends);
    } else if !args.only.is_empty() && !global.json && !global.quiet {
        eprintln!(
            "cutover: only {} checked; give --previous REPORT.json (an earlier --json report) to compare with the other droplets",
            args.only.join(", ")
        );
    }
    if let Some(server) = args.server {
        report
            .set_server(server.name())
            .map_err(|e| ApiError::invalid_input(e.to_string()))?;
    }
    if global.json {
        print_json(&report);
    } else {
        print_human(&report);
        if args.fix {
            print_fix(&report, args);
        }
    }
    Ok(exit_code(&report))
}

/// 0 when nothing is worse than a warning, 1 otherwise.
pub fn exit_code(report: &FleetReport) -> ExitCode {
    if report.verdict.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn group_of(report: &FleetReport, b: &BackendReport) -> String {
    b.leaf
        .as_ref()
        .and_then(|l| report.groups.iter().find(|g| g.sha256 == l.sha256))
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "-".into())
}

fn print_human(report: &FleetReport) {
    println!("Certificates for {}\n", report.domain);
    let rows: Vec<Vec<String>> = report
        .backends
        .iter()
        .map(|b| {
            let leaf = b.leaf.as_ref();
            vec![
                b.label.clone(),
                b.address.clone(),
                b.protocol.clone().unwrap_or_else(|| "-".into()),
                group_of(report, b),
                leaf.map(|l| l.sha256.chars().take(16).collect())
                    .unwrap_or_else(|| "-".into()),
                leaf.map(|l| l.not_after.clone())
                    .unwrap_or_else(|| "-".into()),
                b.severity.map_or("ok", Severity::as_str).to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "BACKEND",
            "ADDRESS",
            "TLS",
            "CERT",
            "SHA-256",
            "NOT AFTER",
            "STATUS",
        ],
        &rows,
    );
    if !report.groups.is_empty() {
        println!();
        for g in &report.groups {
            println!(
                "Certificate {}: {} (sha256 {}, not after {}) on {}",
                g.name,
                g.subject,
                g.sha256,
                g.not_after,
                g.backends.join(", ")
            );
        }
    }
    let any = report.backends.iter().any(|b| !b.findings.is_empty()) || !report.findings.is_empty();
    if any {
        println!("\nFindings:");
        for b in &report.backends {
            for f in &b.findings {
                println!("  [{}] {}  {}", f.severity.as_str(), f.code, f.message);
            }
        }
        for f in &report.findings {
            println!("  [{}] {}  {}", f.severity.as_str(), f.code, f.message);
        }
    }
    println!(
        "\nVerdict ({}): {}",
        report.verdict.severity.map_or("ok", Severity::as_str),
        report.verdict.summary
    );
    if let Some(recheck) = &report.recheck {
        println!("\nRecheck: {}", recheck.summary);
    }
    println!("\nLook for yourself:");
    for b in &report.backends {
        println!("  {}", b.openssl_command);
    }
}

/// The remedy under the report: the certificate to keep, why, and numbered steps per droplet.
fn print_fix(report: &FleetReport, args: &CheckArgs) {
    println!("\nHow to fix:");
    let Some(remedy) = &report.remedy else {
        if report.groups.len() <= 1 {
            println!(
                "  Every backend serves the same certificate: nothing to copy between droplets."
            );
        } else {
            println!(
                "  Nothing to copy: no droplet serves another certificate that could be checked."
            );
        }
        return;
    };
    println!("  {}", remedy.reason);
    if let (Some(name), Some(sha)) = (&remedy.chosen, &remedy.chosen_sha256) {
        println!("  Certificate {name}: sha256 {sha}");
    }
    if !remedy.droplets.is_empty() {
        println!("  To change: {}", remedy.droplets.join(", "));
    }
    for fix in &remedy.fixes {
        println!(
            "\n  {} ({}), from {} ({})",
            fix.droplet, fix.host, fix.copy_from, fix.copy_from_host
        );
        println!("  {}", fix.server_note);
        if fix.server.is_none() {
            println!("  --server nginx|apache|caddy|traefik|haproxy makes the paths and the reload exact.");
        }
        for (i, step) in fix.steps.iter().enumerate() {
            println!("\n    {}. {} — on {}", i + 1, step.title, step.run_on);
            for cmd in &step.commands {
                println!("         {cmd}");
            }
            if let Some(note) = &step.note {
                println!("       {note}");
            }
        }
    }
    if let Some(step) = &remedy.rebuild {
        println!("\n  {} — on {}", step.title, step.run_on);
        for cmd in &step.commands {
            println!("       {cmd}");
        }
        if let Some(note) = &step.note {
            println!("     {note}");
        }
    }
    if let Some(warning) = &remedy.renewal_warning {
        println!("\n  Let's Encrypt: {warning}");
    }
    if !remedy.fixes.is_empty() {
        println!(
            "\n  Then recheck only those against this check saved with --json (> before.json):"
        );
        println!("       {}", recheck_command(report, args, &remedy.droplets));
    }
}

/// The command that rechecks `droplets` against this check saved as before.json.
fn recheck_command(report: &FleetReport, args: &CheckArgs, droplets: &[String]) -> String {
    let mut cmd = format!("cutover certs check --domain {}", report.domain);
    match &args.lb {
        Some(id) => {
            cmd.push_str(&format!(" --lb {id}"));
            for d in droplets {
                cmd.push_str(&format!(" --only {d}"));
            }
        }
        // By hand, a backend's label is the HOST:PORT it was given as.
        None => {
            for d in droplets {
                cmd.push_str(&format!(" --backend {d}"));
            }
        }
    }
    cmd.push_str(" --previous before.json");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        cmd: CertsCommand,
    }

    #[test]
    fn needs_lb_or_backend_but_not_both() {
        assert!(T::try_parse_from(["t", "check", "--domain", "d"]).is_err());
        assert!(T::try_parse_from([
            "t",
            "check",
            "--domain",
            "d",
            "--lb",
            "x",
            "--backend",
            "1.2.3.4:443"
        ])
        .is_err());
        let t = T::try_parse_from([
            "t",
            "check",
            "--domain",
            "d",
            "--backend",
            "1.2.3.4:443",
            "--backend",
            "1.2.3.5:443",
            "--proxy-protocol",
            "v1",
            "--timeout",
            "0.5",
        ])
        .unwrap();
        let CertsCommand::Check(args) = t.cmd else {
            panic!("parsed as another subcommand")
        };
        assert_eq!(args.backends.len(), 2);
        assert!(matches!(args.proxy_protocol, Some(ProxyArg::V1)));
        assert_eq!(args.timeout, 0.5);
    }
}
