//! `cutover certs create-le | upload | rotate | delete`: certificates at DigitalOcean.
//!
//! Every job is one `cutover_core::certs::manage` call; this module reads the files, asks for
//! the confirmation and prints. A private key is read from the file the user names and handed
//! to core, never printed or logged.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cutover_core::certs::manage::{
    self, NewCertificate, RotateInput, RotateOutcome, RotatePlan, UploadCheck, UploadInput,
};
use cutover_core::lb::Certificate;
use cutover_core::session::Session;
use cutover_core::ApiError;

use crate::output::{terminal_safe, Output};
use crate::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum ManageCommand {
    /// Ask DigitalOcean for a Let's Encrypt certificate (the domains' DNS must be at
    /// DigitalOcean).
    CreateLe(CreateLeArgs),
    /// Upload a custom certificate: checked first (key matches the certificate, chain order
    /// and completeness, dates, trust, names), refused before sending when something is wrong.
    Upload(UploadArgs),
    /// Replace a certificate by name: create the new one, point every rule using the old one
    /// at it (an edit with the stale-plan check, journaled), then delete the old one.
    Rotate(RotateArgs),
    /// Delete a certificate (DigitalOcean refuses while a load balancer uses it).
    Delete(DeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateLeArgs {
    /// The certificate's name (unique in the account).
    #[arg(long)]
    pub name: String,
    /// A domain it covers (repeat; `*.example.com` for a wildcard).
    #[arg(long = "dns-name", value_name = "DOMAIN", required = true)]
    pub dns_names: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct UploadFiles {
    /// The certificate (PEM). A fullchain file is split into the certificate and its chain.
    #[arg(long = "cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM, unencrypted). Sent to DigitalOcean only.
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The intermediate certificates (PEM), issuer of the certificate first.
    #[arg(long = "chain", value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// A private CA (PEM) the chain leads to, trusted for the check.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Upload even though no trust store accepts the chain (a private CA you stand by).
    #[arg(long)]
    pub allow_untrusted: bool,
}

#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    /// The certificate's name (unique in the account).
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub files: UploadFiles,
    /// A domain the certificate must cover (repeat; default: the names it carries).
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Only check the files; send nothing.
    #[arg(long)]
    pub check_only: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("new").required(true).args(["to", "upload", "lets_encrypt"])))]
pub struct RotateArgs {
    /// The certificate to replace (name or id).
    pub old: String,
    /// Rotate to a certificate already at DigitalOcean (by name).
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,
    /// Upload the new certificate (--name, --cert, --key, [--chain]).
    #[arg(long, requires_all = ["name", "cert", "key"])]
    pub upload: bool,
    /// Have DigitalOcean issue the new one (--name; --dns-name defaults to the old one's names).
    #[arg(long, requires = "name")]
    pub lets_encrypt: bool,
    /// The new certificate's name (with --upload or --lets-encrypt).
    #[arg(long)]
    pub name: Option<String>,
    /// With --lets-encrypt: a domain it covers (repeat).
    #[arg(long = "dns-name", value_name = "DOMAIN")]
    pub dns_names: Vec<String>,
    #[command(flatten)]
    pub files: UploadFiles,
    /// Show the plan only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    /// How long to wait for a Let's Encrypt certificate to be verified, in seconds.
    #[arg(long, value_name = "S", default_value_t = 600)]
    pub verify_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The certificate (name or id).
    pub certificate: String,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

/// Reads a PEM file the user named; the error names the file, never its content.
fn read_pem(path: &Path, what: &str) -> Result<String, ApiError> {
    std::fs::read_to_string(path).map_err(|e| {
        ApiError::invalid_input(format!(
            "Could not read the {what} file {}: {e}",
            path.display()
        ))
        .with_details(serde_json::json!({ "field": what }))
    })
}

fn upload_input(
    name: &str,
    files: &UploadFiles,
    domains: Vec<String>,
) -> Result<UploadInput, ApiError> {
    let need = |p: &Option<PathBuf>, flag: &str| {
        p.clone().ok_or_else(|| {
            ApiError::invalid_input(format!("Give the {flag} file."))
                .with_details(serde_json::json!({ "field": flag.trim_start_matches("--") }))
        })
    };
    let cert = need(&files.cert, "--cert")?;
    let key = need(&files.key, "--key")?;
    Ok(UploadInput {
        name: name.to_string(),
        leaf_pem: read_pem(&cert, "cert")?,
        key_pem: read_pem(&key, "key")?,
        chain_pem: files
            .chain
            .as_deref()
            .map(|p| read_pem(p, "chain"))
            .transpose()?,
        ca_pem: files
            .ca_file
            .as_deref()
            .map(|p| cutover_core::certs::read_ca_file(&p.to_string_lossy()))
            .transpose()?,
        domains,
        allow_untrusted: files.allow_untrusted,
    })
}

fn confirm(question: &str, out: Output) -> Result<bool, ApiError> {
    if out.is_json() || !std::io::stdin().is_terminal() {
        return Err(ApiError::invalid_input(
            "Refusing to change anything without a confirmation: pass --yes (or --dry-run to only see the plan).",
        )
        .with_details(serde_json::json!({"field": "yes"})));
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

pub async fn run(cmd: ManageCommand, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let out = Output::from_global(global);
    let override_k8s = global.override_kubernetes;
    // Files are read before connecting: a wrong path is an input error, not a wasted session.
    let upload = match &cmd {
        ManageCommand::Upload(a) => Some(upload_input(&a.name, &a.files, a.domains.clone())?),
        ManageCommand::Rotate(a) if a.upload => Some(upload_input(
            a.name.as_deref().unwrap_or_default(),
            &a.files,
            Vec::new(),
        )?),
        _ => None,
    };
    if let (ManageCommand::Upload(a), Some(input)) = (&cmd, &upload) {
        if a.check_only {
            // No account needed to check files (a Sandbox's CA is not trusted here).
            let check = manage::check_upload(input, None).await?;
            out.emit(&check, || print_check(&check));
            return Ok(if check.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    crate::session::with(global, async move |session: &Session| {
        let conn = &session.connection;
        match cmd {
            ManageCommand::CreateLe(a) => {
                let cert = manage::create_lets_encrypt(conn, &a.name, &a.dns_names).await?;
                out.emit(&cert, || {
                    print_created(&cert);
                    println!(
                        "DigitalOcean is issuing it (state {}): it can be used once verified.",
                        cert.state
                    );
                });
                Ok(ExitCode::SUCCESS)
            }
            ManageCommand::Upload(_) => {
                let input = upload.ok_or_else(|| ApiError::internal("no upload read"))?;
                let (check, cert) = manage::upload(conn, &input).await?;
                out.emit(
                    &serde_json::json!({"check": check, "certificate": cert}),
                    || {
                        print_check(&check);
                        print_created(&cert);
                    },
                );
                Ok(ExitCode::SUCCESS)
            }
            ManageCommand::Delete(a) => {
                let cert = manage::find_certificate(conn, &a.certificate).await?;
                if !a.yes
                    && !confirm(
                        &format!("Delete certificate \"{}\" ({})?", cert.name, cert.id),
                        out,
                    )?
                {
                    out.say("Nothing was changed.");
                    return Ok(ExitCode::from(1));
                }
                let gone = manage::delete_certificate(conn, &cert.id).await?;
                out.emit(&serde_json::json!({"deleted": gone}), || {
                    println!("Deleted certificate \"{}\".", terminal_safe(&gone.name))
                });
                Ok(ExitCode::SUCCESS)
            }
            ManageCommand::Rotate(a) => {
                let new = if let Some(to) = a.to.clone() {
                    NewCertificate::Existing { name: to }
                } else if a.lets_encrypt {
                    NewCertificate::LetsEncrypt {
                        name: a.name.clone().unwrap_or_default(),
                        dns_names: a.dns_names.clone(),
                    }
                } else {
                    NewCertificate::Upload(
                        upload.ok_or_else(|| ApiError::internal("no upload read"))?,
                    )
                };
                let input = RotateInput {
                    old: a.old.clone(),
                    new,
                    override_kubernetes: override_k8s,
                };
                let plan = manage::plan_rotate(conn, &input).await?;
                if a.dry_run {
                    out.emit(&serde_json::json!({"plan": plan}), || print_plan(&plan));
                    return Ok(if plan.blockers.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    });
                }
                if !out.is_json() {
                    print_plan(&plan);
                }
                manage::refuse_blocked(&plan)?;
                if !a.yes && !confirm("Rotate?", out)? {
                    out.say("Nothing was changed.");
                    return Ok(ExitCode::from(1));
                }
                let wait = manage::VerifyWait {
                    timeout: std::time::Duration::from_secs(a.verify_timeout),
                    ..Default::default()
                };
                let outcome = manage::rotate(conn, &input, wait, |p| {
                    out.progress_line(&p.message);
                })
                .await?;
                out.emit(
                    &serde_json::json!({"plan": plan, "outcome": outcome}),
                    || print_outcome(&outcome),
                );
                Ok(if outcome.complete {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
        }
    })
    .await
}

fn print_created(cert: &Certificate) {
    println!(
        "Created certificate \"{}\" ({}, {}) for {}; id {}.",
        terminal_safe(&cert.name),
        cert.kind,
        cert.state,
        terminal_safe(&cert.names().collect::<Vec<_>>().join(", ")),
        cert.id
    );
}

fn print_check(check: &UploadCheck) {
    println!(
        "Check of \"{}\": {}",
        terminal_safe(&check.name),
        if check.ok {
            "nothing stops the upload"
        } else {
            "refused"
        }
    );
    for (i, c) in check.chain.iter().enumerate() {
        println!(
            "  #{} {} (issuer {}), until {}",
            i + 1,
            terminal_safe(&c.subject),
            terminal_safe(&c.issuer),
            c.not_after
        );
    }
    if !check.names_checked.is_empty() {
        println!("  names checked: {}", check.names_checked.join(", "));
    }
    for f in &check.findings {
        println!(
            "  {} {} {}: {}",
            if f.blocks { "✗" } else { "·" },
            f.severity.as_str(),
            f.code,
            terminal_safe(&f.message)
        );
    }
}

fn print_plan(plan: &RotatePlan) {
    println!(
        "Rotate \"{}\" ({}; until {}) → {}",
        terminal_safe(&plan.old_name),
        plan.old_dns_names.join(", "),
        plan.old_not_after,
        terminal_safe(&plan.new_description)
    );
    if let Some(check) = &plan.upload_check {
        print_check(check);
    }
    if plan.targets.is_empty() {
        println!("No load balancer uses it.");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        println!("  {}. {}", i + 1, terminal_safe(step));
    }
    for w in &plan.warnings {
        println!("warning: {}", terminal_safe(w));
    }
    for b in &plan.blockers {
        println!("refused: {}", terminal_safe(b));
    }
}

fn print_outcome(outcome: &RotateOutcome) {
    if let Some(c) = &outcome.new_certificate {
        println!(
            "New certificate: \"{}\" ({}){}",
            terminal_safe(&c.name),
            c.id,
            if outcome.created { ", created" } else { "" }
        );
    }
    for lb in &outcome.load_balancers {
        match &lb.error {
            None => println!("  {}: uses the new certificate", terminal_safe(&lb.lb_name)),
            Some(e) => println!(
                "  {}: not changed ({})",
                terminal_safe(&lb.lb_name),
                terminal_safe(&e.message)
            ),
        }
    }
    if outcome.old_deleted {
        println!("The old certificate is deleted.");
    }
    if outcome.complete {
        println!("Rotation complete.");
    } else {
        println!("Not complete. Left to do:");
        for l in &outcome.left {
            println!("  - {}", terminal_safe(l));
        }
    }
}
