//! `cutover certs check`: do all backends serve the same valid certificate for the domain?
//!
//! Exit codes: 0 when nothing is worse than a warning, 1 when something is an error or critical,
//! 2 when the check could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use cutover_core::certs::{
    BackendReport, CertCheckOptions, FleetReport, ProbeTarget, ProxyVersion, Severity,
};
use cutover_core::{ApiError, ErrorCode};

use crate::output::{print_json, print_table};
use crate::{CliResult, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Probe every backend with the domain as SNI, check its certificate, and compare them.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProxyArg {
    V1,
    V2,
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
}

pub async fn run(cmd: CertsCommand, global: &GlobalArgs) -> CliResult {
    let json = global.json;
    match cmd {
        CertsCommand::Check(args) => check(args, global).await.map_err(|e| (e, json)),
    }
}

async fn check(args: CheckArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let ca_pem = match &args.ca_file {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("could not read the CA file {}: {e}", path.display()),
            )
            .with_details(serde_json::json!({ "field": "ca_file" }))
        })?),
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
        let report = cutover_core::certs::check_load_balancer(
            &session.connection,
            id,
            &args.domain,
            &options,
            |r| {
                done += 1;
                if progress {
                    eprintln!(
                        "[{done}] {} {}",
                        r.label,
                        r.severity.map_or("ok", Severity::as_str)
                    );
                }
            },
        )
        .await;
        // An in-process Sandbox stops before the report is printed, whatever the outcome.
        session.close().await;
        return Ok(finish(&report?, global));
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
    Ok(finish(&report, global))
}

fn finish(report: &FleetReport, global: &GlobalArgs) -> ExitCode {
    if global.json {
        print_json(report);
    } else {
        print_human(report);
    }
    exit_code(report)
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
    println!("\nLook for yourself:");
    for b in &report.backends {
        println!("  {}", b.openssl_command);
    }
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
        let CertsCommand::Check(args) = t.cmd;
        assert_eq!(args.backends.len(), 2);
        assert!(matches!(args.proxy_protocol, Some(ProxyArg::V1)));
        assert_eq!(args.timeout, 0.5);
    }
}
