//! From a certificate mismatch to the fix: which certificate to keep, how to put it on the
//! droplets that differ, and the recheck of only those droplets.
//!
//! Cutover never handles a private key: the steps are commands the user runs between their own
//! droplets (`rsync`/`scp` over SSH), with `SSH_USER` as a placeholder for their login.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::checks::{describe, name_matches};
use crate::model::*;

const DAY: i64 = 86_400;

/// The login the commands use; the user replaces it (DigitalOcean droplets default to `root`).
pub const SSH_USER: &str = "SSH_USER";

/// Why per-droplet Let's Encrypt renewals do not work behind a load balancer (shared with the
/// renewal warning of DigitalOcean accounts, so that both say the same thing).
pub const LETS_ENCRYPT_BEHIND_LB: &str = "Let's Encrypt certificates renewed on each droplet drift apart again: every droplet renews on its own schedule and gets its own certificate (and key), so behind a load balancer with SSL passthrough the droplets soon serve different certificates. Renew on one host instead — certbot with a DNS-01 challenge (it works behind the load balancer) — and copy the result to every droplet after each renewal (a certbot deploy hook that runs rsync to each droplet), or let DigitalOcean manage a Let's Encrypt certificate on the load balancer and terminate TLS there (HTTPS rules instead of passthrough; DigitalOcean renews it).";

/// What a droplet runs in front of the site, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum WebServer {
    Nginx,
    Apache,
    Caddy,
    Traefik,
    Haproxy,
}

impl WebServer {
    pub const ALL: [WebServer; 5] = [
        WebServer::Nginx,
        WebServer::Apache,
        WebServer::Caddy,
        WebServer::Traefik,
        WebServer::Haproxy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WebServer::Nginx => "nginx",
            WebServer::Apache => "Apache",
            WebServer::Caddy => "Caddy",
            WebServer::Traefik => "Traefik",
            WebServer::Haproxy => "HAProxy",
        }
    }

    /// Check the configuration, then reload without dropping connections.
    fn reload(self) -> &'static str {
        match self {
            WebServer::Nginx => "sudo nginx -t && sudo systemctl reload nginx",
            WebServer::Apache => "sudo apachectl configtest && sudo systemctl reload apache2",
            WebServer::Caddy => "sudo systemctl reload caddy",
            WebServer::Traefik => "sudo systemctl restart traefik",
            WebServer::Haproxy => {
                "sudo haproxy -c -f /etc/haproxy/haproxy.cfg && sudo systemctl reload haproxy"
            }
        }
    }
}

/// A server name Cutover does not know.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a server Cutover knows (nginx, apache, caddy, traefik, haproxy)")]
pub struct UnknownServer(pub String);

impl std::str::FromStr for WebServer {
    type Err = UnknownServer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "nginx" => WebServer::Nginx,
            "apache" | "apache2" | "httpd" => WebServer::Apache,
            "caddy" => WebServer::Caddy,
            "traefik" => WebServer::Traefik,
            "haproxy" => WebServer::Haproxy,
            _ => return Err(UnknownServer(s.to_string())),
        })
    }
}

impl Remedy {
    /// The remedy as a Markdown section ("## How to fix"), for exported reports.
    pub fn markdown(&self) -> String {
        // One line per paragraph: a stray newline or `|` in a name must not break the layout.
        let line = |s: &str| s.replace(['\n', '\r'], " ");
        let mut md = format!("\n## How to fix\n\n{}\n", line(&self.reason));
        if let (Some(name), Some(sha)) = (&self.chosen, &self.chosen_sha256) {
            md.push_str(&format!("\nKeep certificate **{name}** (`{sha}`)."));
        }
        if !self.droplets.is_empty() {
            md.push_str(&format!(
                " To change: {}.\n",
                line(&self.droplets.join(", "))
            ));
        }
        let step_md = |md: &mut String, n: Option<usize>, step: &FixStep| {
            let num = n.map(|n| format!("{n}. ")).unwrap_or_default();
            md.push_str(&format!(
                "\n{num}**{}** — on {}\n\n",
                line(&step.title),
                line(&step.run_on)
            ));
            if !step.commands.is_empty() {
                md.push_str(&format!("```sh\n{}\n```\n", step.commands.join("\n")));
            }
            if let Some(note) = &step.note {
                md.push_str(&format!("\n{}\n", line(note)));
            }
        };
        for fix in &self.fixes {
            md.push_str(&format!(
                "\n### {} ({}), from {} ({})\n\n{}\n",
                line(&fix.droplet),
                line(&fix.host),
                line(&fix.copy_from),
                line(&fix.copy_from_host),
                line(&fix.server_note)
            ));
            for (i, step) in fix.steps.iter().enumerate() {
                step_md(&mut md, Some(i + 1), step);
            }
        }
        if let Some(step) = &self.rebuild {
            md.push_str("\n### Or rebuild from a snapshot\n");
            step_md(&mut md, None, step);
        }
        if let Some(warning) = &self.renewal_warning {
            md.push_str(&format!("\n> **Let's Encrypt:** {}\n", line(warning)));
        }
        md
    }
}

/// The remedy and the recheck as methods, so that callers reach them through the report type
/// alone (the CLI and the app see this crate only through `core`).
impl FleetReport {
    /// Make the remedy's steps exact for droplets that run `server` ("nginx", "apache", ...).
    pub fn set_server(&mut self, server: &str) -> Result<(), UnknownServer> {
        let server: WebServer = server.parse()?;
        self.remedy = remedy(self, Some(server));
        Ok(())
    }

    /// See [`recheck_targets`].
    pub fn recheck_targets(&self, labels: &[String]) -> Result<Vec<ProbeTarget>, RecheckError> {
        recheck_targets(self, labels)
    }

    /// See [`merge_recheck`].
    pub fn merged_with(&self, fresh: Vec<BackendReport>) -> FleetReport {
        merge_recheck(self, fresh)
    }
}

/// One step of a fix: what to do, where, and the commands to copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FixStep {
    pub title: String,
    /// Where the commands run: "your computer" or a droplet ("web-1 (203.0.113.7)").
    pub run_on: String,
    /// Each a command line to copy as it is (placeholders in capitals, e.g. `SSH_USER`).
    pub commands: Vec<String>,
    /// What to know before running them.
    pub note: Option<String>,
}

/// The fix for one droplet that serves another certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DropletFix {
    /// The droplet to change (its label in the report).
    pub droplet: String,
    pub host: String,
    /// The droplet that serves the chosen certificate, to copy from.
    pub copy_from: String,
    pub copy_from_host: String,
    /// What it runs, when that could be told (else the steps are the generic ones).
    pub server: Option<WebServer>,
    /// How the server was told, or that it could not be.
    pub server_note: String,
    pub steps: Vec<FixStep>,
}

/// What to do about backends that serve different certificates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Remedy {
    /// The certificate group to keep ("A"); `None` when no certificate served qualifies.
    pub chosen: Option<String>,
    /// The SHA-256 of the certificate to keep.
    pub chosen_sha256: Option<String>,
    /// One sentence: why this certificate, or why none of them.
    pub reason: String,
    /// The droplets (labels) to change.
    pub droplets: Vec<String>,
    /// The droplets that serve the chosen certificate properly (to copy from).
    pub sources: Vec<String>,
    /// The steps, per droplet to change.
    pub fixes: Vec<DropletFix>,
    /// Rebuilding from a snapshot of a good droplet, offered when more than half differ.
    pub rebuild: Option<FixStep>,
    /// Set when a differing certificate is from Let's Encrypt: [`LETS_ENCRYPT_BEHIND_LB`].
    pub renewal_warning: Option<String>,
}

/// What a recheck of some droplets found, against the report before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Recheck {
    /// The droplets probed again (the others are as the previous check found them).
    pub droplets: Vec<String>,
    /// True when the backends no longer serve different certificates.
    pub cleared: bool,
    /// One line: "web-3 now serves certificate A: all 3 backends serve the same certificate."
    pub summary: String,
}

/// Errors of a recheck request.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    #[error("{0:?} is not one of the backends of the previous check")]
    UnknownBackend(String),
    #[error("give at least one backend to recheck")]
    NothingToRecheck,
}

/// Codes that make a backend unfit to copy its certificate from.
fn disqualifying(f: &Finding) -> bool {
    match f.code {
        FindingCode::ChainUntrusted
        | FindingCode::ChainIncomplete
        | FindingCode::BackendHandshakeFailed => true,
        // Info when the CA file trusts it on purpose.
        FindingCode::CertSelfSigned => f.severity == Severity::Critical,
        _ => false,
    }
}

fn fit_source(b: &BackendReport) -> bool {
    !b.findings.iter().any(disqualifying)
}

fn days_text(secs: i64) -> String {
    let d = secs / DAY;
    if d == 1 {
        "1 day".into()
    } else if secs < DAY {
        "less than a day".into()
    } else {
        format!("{d} days")
    }
}

/// Is the leaf from Let's Encrypt (production or staging)?
pub fn is_lets_encrypt(leaf: &CertInfo) -> bool {
    leaf.issuer.to_ascii_lowercase().contains("let's encrypt")
}

/// What the probe could see of the server software. The probe sends no HTTP, so only TLS-level
/// fingerprints are available: Traefik's built-in default certificate, Caddy's local CA.
pub fn detect_server(b: &BackendReport) -> (Option<WebServer>, String) {
    let default_subject = b
        .probe
        .default_certificate
        .as_ref()
        .and_then(|d| d.leaf.as_ref())
        .map(|l| l.subject.as_str())
        .unwrap_or("");
    if default_subject.contains("TRAEFIK DEFAULT CERT") {
        return (
            Some(WebServer::Traefik),
            format!(
                "{} runs Traefik: without SNI it serves Traefik's built-in default certificate.",
                b.label
            ),
        );
    }
    if let Some(leaf) = &b.leaf {
        if leaf.issuer.contains("Caddy Local Authority") {
            return (
                Some(WebServer::Caddy),
                format!(
                    "{} runs Caddy: its certificate is from Caddy's local CA.",
                    b.label
                ),
            );
        }
    }
    (
        None,
        format!(
            "Cutover cannot tell which server {} runs (a TLS check does not show it), so these are the generic steps.",
            b.label
        ),
    )
}

/// One certificate group judged for keeping.
struct Candidate<'a> {
    group: &'a CertGroup,
    leaf: &'a CertInfo,
    sources: Vec<&'a BackendReport>,
    /// Why it cannot be kept; `None` = it qualifies.
    problem: Option<String>,
    left: i64,
}

fn judge<'a>(
    domain: &str,
    group: &'a CertGroup,
    by_label: &HashMap<&str, &'a BackendReport>,
    now: i64,
) -> Option<Candidate<'a>> {
    let members: Vec<&BackendReport> = group
        .backends
        .iter()
        .filter_map(|l| by_label.get(l.as_str()).copied())
        .collect();
    let leaf = members.first()?.leaf.as_ref()?;
    let sources: Vec<&BackendReport> = members.iter().copied().filter(|b| fit_source(b)).collect();
    let problem = if now > leaf.not_after_unix {
        Some(format!(
            "{} expired {} ago",
            group.name,
            days_text(now - leaf.not_after_unix)
        ))
    } else if now < leaf.not_before_unix {
        Some(format!("{} is not valid yet", group.name))
    } else if !name_matches(leaf, domain) {
        Some(format!("{} is not valid for {domain}", group.name))
    } else if sources.is_empty() {
        let codes: Vec<FindingCode> = members
            .iter()
            .flat_map(|b| b.findings.iter())
            .filter(|f| disqualifying(f))
            .map(|f| f.code)
            .collect();
        Some(if codes.contains(&FindingCode::ChainUntrusted) {
            format!("{}'s chain is not trusted", group.name)
        } else if codes.contains(&FindingCode::ChainIncomplete) {
            format!("{} is served without its intermediate", group.name)
        } else if codes.contains(&FindingCode::CertSelfSigned) {
            format!("{} is self-signed", group.name)
        } else {
            format!(
                "the droplets serving {} fail the TLS handshake (wrong key beside it?)",
                group.name
            )
        })
    } else {
        None
    };
    Some(Candidate {
        group,
        leaf,
        sources,
        problem,
        left: leaf.not_after_unix - now,
    })
}

/// The remedy for `report` at time `now`, with the server the user says the droplets run (else
/// what the probe could tell). `None` when there is nothing to fix across the backends.
pub fn remedy(report: &FleetReport, server: Option<WebServer>) -> Option<Remedy> {
    remedy_at(report, crate::fleet::now_unix(), server)
}

pub(crate) fn remedy_at(
    report: &FleetReport,
    now: i64,
    server: Option<WebServer>,
) -> Option<Remedy> {
    let domain = report.domain.as_str();
    let by_label: HashMap<&str, &BackendReport> = report
        .backends
        .iter()
        .map(|b| (b.label.as_str(), b))
        .collect();
    let candidates: Vec<Candidate> = report
        .groups
        .iter()
        .filter_map(|g| judge(domain, g, &by_label, now))
        .collect();
    // The best: qualifying, then the most whole days left (a few hours must not outweigh the
    // droplet count), then the most droplets, then the group order (A first).
    let best = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.problem.is_none())
        .max_by_key(|(i, c)| (c.left / DAY, c.group.backends.len(), std::cmp::Reverse(*i)))
        .map(|(_, c)| c);

    let Some(best) = best else {
        // One certificate everywhere that is bad is what the findings already say; the remedy is
        // about backends that disagree.
        if candidates.len() < 2 {
            return None;
        }
        let problems: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.problem.clone())
            .collect();
        let only_trust = candidates.iter().all(|c| {
            c.problem
                .as_deref()
                .is_some_and(|p| p.ends_with("chain is not trusted"))
        });
        let hint = if only_trust {
            " If they come from a private CA, check again with that CA (--ca-file / Extra CA file)."
        } else {
            ""
        };
        return Some(Remedy {
            chosen: None,
            chosen_sha256: None,
            reason: format!(
                "No certificate served here can be kept: {}. Get a new certificate for {domain} and put the same one on every droplet.{hint}",
                problems.join("; ")
            ),
            droplets: report
                .backends
                .iter()
                .filter(|b| b.leaf.is_some())
                .map(|b| b.label.clone())
                .collect(),
            sources: Vec::new(),
            fixes: Vec::new(),
            rebuild: None,
            renewal_warning: None,
        });
    };

    // To change: every droplet serving another leaf, and those serving the chosen one unfit to
    // copy from (e.g. without its intermediate). Unreachable droplets are not known to differ.
    let source_labels: Vec<&str> = best.sources.iter().map(|b| b.label.as_str()).collect();
    let to_change: Vec<&BackendReport> = report
        .backends
        .iter()
        .filter(|b| b.leaf.is_some() && !source_labels.contains(&b.label.as_str()))
        .collect();
    if to_change.is_empty() {
        return None;
    }

    let reason = reason(domain, best, &candidates);
    let source = best.sources[0];
    let fixes: Vec<DropletFix> = to_change
        .iter()
        .map(|b| droplet_fix(domain, b, source, best.leaf, server))
        .collect();
    let with_leaf = report.backends.iter().filter(|b| b.leaf.is_some()).count();
    let rebuild = (to_change.len() * 2 > with_leaf).then(|| rebuild_step(source, &to_change));
    let lets_encrypt = to_change
        .iter()
        .filter_map(|b| b.leaf.as_ref())
        .chain(std::iter::once(best.leaf))
        .any(is_lets_encrypt);
    Some(Remedy {
        chosen: Some(best.group.name.clone()),
        chosen_sha256: Some(best.group.sha256.clone()),
        reason,
        droplets: to_change.iter().map(|b| b.label.clone()).collect(),
        sources: source_labels.iter().map(|s| s.to_string()).collect(),
        fixes,
        rebuild,
        renewal_warning: lets_encrypt.then(|| LETS_ENCRYPT_BEHIND_LB.to_string()),
    })
}

fn reason(domain: &str, best: &Candidate, all: &[Candidate]) -> String {
    let others: Vec<String> = all
        .iter()
        .filter(|c| c.group.name != best.group.name)
        .map(|c| match &c.problem {
            Some(p) => p.clone(),
            None if c.left / DAY < best.left / DAY => {
                format!("{} has only {} left", c.group.name, days_text(c.left))
            }
            None => format!("{} has as long left but is on fewer droplets", c.group.name),
        })
        .collect();
    let mut s = format!(
        "Keep certificate {} (on {}): it is valid for {domain}, its chain is trusted and it has {} left",
        best.group.name,
        best.group.backends.join(", "),
        days_text(best.left)
    );
    if !others.is_empty() {
        s.push_str(", while ");
        s.push_str(&others.join(", "));
    }
    // Droplets that serve this very certificate but cannot be copied from (no intermediate,
    // wrong key beside it) are to change as well.
    let unfit: Vec<&str> = best
        .group
        .backends
        .iter()
        .map(String::as_str)
        .filter(|l| !best.sources.iter().any(|b| b.label == *l))
        .collect();
    if !unfit.is_empty() {
        s.push_str(&format!(
            "; {} serve{} it without its full, trusted chain or with another key",
            unfit.join(", "),
            if unfit.len() == 1 { "s" } else { "" }
        ));
    }
    s.push('.');
    s
}

/// Where the certificate and key live on a droplet, and how they are copied.
struct Files {
    /// (path, is the private key)
    paths: Vec<(String, bool)>,
    /// Copy with `rsync -aR` below this folder (certbot's lineage: links into archive/).
    certbot_root: Option<&'static str>,
    note: String,
    /// Command to find the real paths on the source, when they are a guess.
    find: Option<String>,
}

/// certbot names a lineage after the certificate's first name (without a wildcard's `*.`).
fn lineage_name(leaf: &CertInfo, domain: &str) -> String {
    leaf.sans
        .first()
        .map(|s| s.trim_start_matches("*.").to_string())
        .unwrap_or_else(|| domain.to_string())
}

fn files_for(domain: &str, leaf: &CertInfo, server: Option<WebServer>) -> Files {
    let certbot =
        is_lets_encrypt(leaf) && !matches!(server, Some(WebServer::Caddy | WebServer::Traefik));
    if certbot {
        let l = lineage_name(leaf, domain);
        return Files {
            paths: vec![
                (format!("/etc/letsencrypt/./live/{l}"), false),
                (format!("/etc/letsencrypt/./archive/{l}"), true),
                (format!("/etc/letsencrypt/./renewal/{l}.conf"), false),
            ],
            certbot_root: Some("/etc/letsencrypt/"),
            note: format!(
                "A Let's Encrypt certificate from certbot lives in /etc/letsencrypt/live/{l}/ (fullchain.pem and privkey.pem, links into archive/{l}/); the whole lineage is copied so the links stay valid. certbot names the folder after the certificate's first name: `sudo certbot certificates` on the source shows it. The server's configuration must point at live/{l}/fullchain.pem and live/{l}/privkey.pem."
            ),
            find: None,
        };
    }
    let (cert, key, note) = match server {
        Some(WebServer::Nginx) => (
            format!("/etc/nginx/ssl/{domain}.crt"),
            Some(format!("/etc/nginx/ssl/{domain}.key")),
            "nginx's usual place; the real paths are the ssl_certificate (full chain) and ssl_certificate_key lines of its configuration.".to_string(),
        ),
        Some(WebServer::Apache) => (
            format!("/etc/ssl/certs/{domain}.crt"),
            Some(format!("/etc/ssl/private/{domain}.key")),
            "Apache's usual place on Debian and Ubuntu; the real paths are the SSLCertificateFile (full chain) and SSLCertificateKeyFile lines of its configuration.".to_string(),
        ),
        Some(WebServer::Caddy) => (
            format!("/etc/caddy/certs/{domain}.crt"),
            Some(format!("/etc/caddy/certs/{domain}.key")),
            format!("Caddy gets its own certificate on every droplet unless told otherwise, which is how droplets drift apart: give it files, `tls /etc/caddy/certs/{domain}.crt /etc/caddy/certs/{domain}.key` in the Caddyfile, on every droplet. Certificates Caddy obtained itself are under /var/lib/caddy/.local/share/caddy/certificates/."),
        ),
        Some(WebServer::Traefik) => (
            format!("/etc/traefik/certs/{domain}.crt"),
            Some(format!("/etc/traefik/certs/{domain}.key")),
            "Traefik reads files named in its dynamic configuration (tls.certificates: certFile, keyFile); certificates it obtained itself are in its acme.json, which every droplet renews on its own.".to_string(),
        ),
        Some(WebServer::Haproxy) => (
            format!("/etc/haproxy/certs/{domain}.pem"),
            None,
            "HAProxy reads one file with the full chain and the key (the `crt` of its bind line), so that one file holds the private key.".to_string(),
        ),
        None => (
            "FULLCHAIN_PATH".to_string(),
            Some("KEY_PATH".to_string()),
            "Replace FULLCHAIN_PATH and KEY_PATH with the files the source droplet's server uses (the search above shows them); droplets built alike use the same paths. Usual places: nginx /etc/nginx/ssl/, Apache /etc/ssl/certs/ and /etc/ssl/private/, Caddy /etc/caddy/ (or what it obtained itself under /var/lib/caddy/), Traefik /etc/traefik/, HAProxy /etc/haproxy/certs/ (one file with chain and key), certbot /etc/letsencrypt/live/DOMAIN/.".to_string(),
        ),
    };
    let find = match server {
        Some(WebServer::Nginx) => "sudo grep -RsE 'ssl_certificate(_key)?' /etc/nginx/",
        Some(WebServer::Apache) => {
            "sudo grep -RsiE 'SSLCertificate(Key)?File' /etc/apache2/ /etc/httpd/"
        }
        Some(WebServer::Caddy) => "sudo grep -RsE '^\\s*tls ' /etc/caddy/",
        Some(WebServer::Traefik) => "sudo grep -RsE 'certFile|keyFile' /etc/traefik/",
        Some(WebServer::Haproxy) => "sudo grep -RsE 'crt ' /etc/haproxy/",
        None => "sudo grep -RsiE 'ssl_certificate|SSLCertificate(Key)?File|certFile|keyFile|^\\s*tls |crt ' /etc/nginx /etc/apache2 /etc/httpd /etc/caddy /etc/traefik /etc/haproxy",
    };
    let mut paths = vec![(cert, server == Some(WebServer::Haproxy))];
    if let Some(k) = key {
        paths.push((k, true));
    }
    Files {
        paths,
        certbot_root: None,
        note,
        find: Some(find.to_string()),
    }
}

fn droplet_fix(
    domain: &str,
    target: &BackendReport,
    source: &BackendReport,
    leaf: &CertInfo,
    server_hint: Option<WebServer>,
) -> DropletFix {
    let (server, server_note) = match server_hint {
        Some(s) => (Some(s), format!("You said the droplets run {}.", s.name())),
        None => {
            // Droplets built alike run the same server; the source's fingerprint counts too.
            match detect_server(target) {
                (Some(s), note) => (Some(s), note),
                (None, note) => match detect_server(source) {
                    (Some(s), n) => (Some(s), n),
                    (None, _) => (None, note),
                },
            }
        }
    };
    let dst = &target.display_host;
    let src = &source.display_host;
    let on_src = describe(&source.probe.target);
    let on_dst = describe(&target.probe.target);
    let files = files_for(domain, leaf, server);
    let mut steps = Vec::new();

    if let Some(find) = &files.find {
        steps.push(FixStep {
            title: format!("Find the certificate files {} uses", source.label),
            run_on: on_src.clone(),
            commands: vec![format!("ssh {SSH_USER}@{src}"), find.clone()],
            note: Some(files.note.clone()),
        });
    }

    // Keep what the droplet has now, to go back if the reload fails.
    let backup: Vec<String> = match files.certbot_root {
        Some(_) => vec!["sudo cp -a /etc/letsencrypt /etc/letsencrypt.bak-cutover".to_string()],
        None => files
            .paths
            .iter()
            .map(|(p, _)| format!("sudo cp -p {p} {p}.bak-cutover"))
            .collect(),
    };
    let mut backup_cmds = vec![format!("ssh {SSH_USER}@{dst}")];
    backup_cmds.extend(backup);
    steps.push(FixStep {
        title: format!("Keep a copy of what {} has now", target.label),
        run_on: on_dst.clone(),
        commands: backup_cmds,
        note: Some("A path that does not exist there yet is fine to skip.".into()),
    });

    // The copy runs on the source, with your SSH agent forwarded (-A) so it can log in to the
    // target as you; sudo keeps the agent's socket so root can use it to read the key.
    let rsync = "sudo --preserve-env=SSH_AUTH_SOCK rsync -a";
    let mut copy = vec![format!("ssh -A {SSH_USER}@{src}")];
    let copy_note = match files.certbot_root {
        Some(root) => {
            let list: Vec<&str> = files.paths.iter().map(|(p, _)| p.as_str()).collect();
            copy.push(format!(
                "{rsync} --rsync-path=\"sudo rsync\" -R {} {SSH_USER}@{dst}:{root}",
                list.join(" ")
            ));
            format!(
                "{} rsync -R keeps the paths below /etc/letsencrypt/ (the /./ marks where they start). Prefer rsync here: `scp -rp` would turn certbot's links into copies.",
                files.note
            )
        }
        None => {
            for (p, _) in &files.paths {
                // A real path's folder may not exist yet on the target; a placeholder has none.
                let remote = match p.rsplit_once('/') {
                    Some((dir, _)) if !dir.is_empty() => {
                        format!("sudo mkdir -p {dir} && sudo rsync")
                    }
                    _ => "sudo rsync".to_string(),
                };
                copy.push(format!(
                    "{rsync} --rsync-path=\"{remote}\" {p} {SSH_USER}@{dst}:{p}"
                ));
            }
            let scp: Vec<String> = files
                .paths
                .iter()
                .map(|(p, _)| format!("`scp -p {p} root@{dst}:{p}`"))
                .collect();
            // The find step above already said where the files are.
            let about = if files.find.is_some() {
                String::new()
            } else {
                format!("{} ", files.note)
            };
            format!(
                "{about}Logging in as root (DigitalOcean's default), {} {} the same.",
                scp.join(" and "),
                if scp.len() == 1 { "does" } else { "do" }
            )
        }
    };
    steps.push(FixStep {
        title: format!(
            "Copy the key and the full chain from {} to {}",
            source.label, target.label
        ),
        run_on: on_src.clone(),
        commands: copy,
        note: Some(format!(
            "{copy_note} The private key goes straight from droplet to droplet over SSH; Cutover never sees it."
        )),
    });

    // Keys readable by root only; Caddy reads its key as the caddy user.
    let (owner, who) = match server {
        Some(WebServer::Caddy) => ("caddy:caddy", "the caddy user"),
        _ => ("root:root", "root"),
    };
    let key_paths: Vec<String> = files
        .paths
        .iter()
        .filter(|(_, key)| *key)
        .map(|(p, _)| match files.certbot_root {
            Some(_) => format!("{}/privkey*.pem", p.replace("/./", "/")),
            None => p.clone(),
        })
        .collect();
    let mut perms = vec![format!("ssh {SSH_USER}@{dst}")];
    for k in &key_paths {
        perms.push(format!("sudo chown {owner} {k} && sudo chmod 600 {k}"));
    }
    steps.push(FixStep {
        title: format!(
            "Make the private key on {} readable by {who} only",
            target.label
        ),
        run_on: on_dst.clone(),
        commands: perms,
        note: Some("600: read and write for its owner, nothing for anyone else.".into()),
    });

    let (reload, reload_note) = match server {
        Some(WebServer::Traefik) => (
            vec![WebServer::Traefik.reload().to_string()],
            Some("Traefik picks up changed files by itself when its file provider watches them; restart it otherwise (`docker restart traefik` when it runs in Docker).".to_string()),
        ),
        Some(WebServer::Apache) => (
            vec![WebServer::Apache.reload().to_string()],
            Some("On CentOS, Rocky or Fedora the service is httpd: sudo systemctl reload httpd".into()),
        ),
        Some(s) => (vec![s.reload().to_string()], None),
        None => (
            WebServer::ALL
                .iter()
                .map(|s| format!("{}   # {}", s.reload(), s.name()))
                .collect(),
            Some(format!("Run the one line for the server {} runs.", target.label)),
        ),
    };
    let mut reload_cmds = vec![format!("ssh {SSH_USER}@{dst}")];
    reload_cmds.extend(reload);
    steps.push(FixStep {
        title: format!("Reload the server on {}", target.label),
        run_on: on_dst,
        commands: reload_cmds,
        note: reload_note,
    });

    steps.push(FixStep {
        title: format!("Check that {} serves the certificate to keep", target.label),
        run_on: "your computer".into(),
        commands: vec![format!(
            "openssl s_client -connect {} -servername {domain} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
            target.address
        )],
        note: Some(format!(
            "It should print SHA256 Fingerprint={}. Then recheck {} in Cutover.",
            colon_hex(&leaf.sha256),
            target.label
        )),
    });

    DropletFix {
        droplet: target.label.clone(),
        host: dst.clone(),
        copy_from: source.label.clone(),
        copy_from_host: src.clone(),
        server,
        server_note,
        steps,
    }
}

/// `abcd…` → `AB:CD:…`, as openssl prints fingerprints.
fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn rebuild_step(source: &BackendReport, to_change: &[&BackendReport]) -> FixStep {
    let mut commands = vec![
        "doctl compute droplet list --format ID,Name,PublicIPv4".to_string(),
        format!(
            "doctl compute droplet-action snapshot {}_ID --snapshot-name {}-good --wait",
            id_placeholder(&source.label),
            source.label
        ),
        "doctl compute snapshot list --resource droplet".to_string(),
    ];
    for b in to_change {
        commands.push(format!(
            "doctl compute droplet-action rebuild {}_ID --image SNAPSHOT_ID --wait",
            id_placeholder(&b.label)
        ));
    }
    FixStep {
        title: format!(
            "Or rebuild the {} droplets from a snapshot of {}",
            to_change.len(),
            source.label
        ),
        run_on: "your computer (doctl), or the control panel".into(),
        commands,
        note: Some(format!(
            "More than half the droplets differ, so it can be quicker to do what DigitalOcean's passthrough guide suggests: snapshot {} (it serves the certificate to keep) and rebuild the others from it. A rebuild keeps a droplet's IP addresses and so its place behind the load balancer, but replaces everything on its disk.",
            source.label
        )),
    }
}

/// `web-1` → `WEB_1`, a placeholder for a droplet's id.
fn id_placeholder(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The probe targets of `labels` in `report`, for a recheck of only those backends.
pub fn recheck_targets(
    report: &FleetReport,
    labels: &[String],
) -> Result<Vec<ProbeTarget>, RecheckError> {
    if labels.is_empty() {
        return Err(RecheckError::NothingToRecheck);
    }
    labels
        .iter()
        .map(|l| {
            report
                .backends
                .iter()
                .find(|b| &b.label == l)
                .map(|b| b.probe.target.clone())
                .ok_or_else(|| RecheckError::UnknownBackend(l.clone()))
        })
        .collect()
}

/// `previous` with `fresh` in place of the backends of the same label (the others as they were),
/// compared again, with [`FleetReport::recheck`] saying whether the mismatch cleared.
pub fn merge_recheck(previous: &FleetReport, fresh: Vec<BackendReport>) -> FleetReport {
    merge_recheck_at(previous, fresh, crate::fleet::now_unix())
}

pub(crate) fn merge_recheck_at(
    previous: &FleetReport,
    fresh: Vec<BackendReport>,
    now: i64,
) -> FleetReport {
    let rechecked: Vec<String> = fresh.iter().map(|b| b.label.clone()).collect();
    let mut fresh: HashMap<String, BackendReport> =
        fresh.into_iter().map(|b| (b.label.clone(), b)).collect();
    let backends: Vec<BackendReport> = previous
        .backends
        .iter()
        .map(|b| fresh.remove(&b.label).unwrap_or_else(|| b.clone()))
        .collect();
    let mut report = crate::fleet::build_report_at(&previous.domain, backends, now);
    let cleared = report.groups.len() <= 1;
    let group_of = |label: &str| {
        report
            .groups
            .iter()
            .find(|g| g.backends.iter().any(|b| b == label))
            .map(|g| g.name.clone())
    };
    let wanted = previous
        .remedy
        .as_ref()
        .and_then(|r| r.chosen_sha256.clone());
    let states: Vec<String> = rechecked
        .iter()
        .map(|l| {
            let b = report.backends.iter().find(|b| &b.label == l);
            let leaf = b.and_then(|b| b.leaf.as_ref());
            match (leaf, group_of(l)) {
                (None, _) => format!("{l} could not be checked"),
                (Some(leaf), Some(g)) if wanted.as_deref() == Some(leaf.sha256.as_str()) => {
                    format!("{l} now serves the certificate to keep ({g})")
                }
                (Some(_), Some(g)) => format!("{l} serves certificate {g}"),
                (Some(_), None) => format!("{l} serves a certificate"),
            }
        })
        .collect();
    let tail = if cleared && report.groups.len() == 1 {
        let n = report.backends.len();
        format!("all {n} backends serve the same certificate")
    } else if cleared {
        "no backend served a certificate".to_string()
    } else {
        match &report.remedy {
            Some(r) if !r.droplets.is_empty() => {
                format!("still to change: {}", r.droplets.join(", "))
            }
            _ => format!(
                "the backends still serve {} different certificates",
                report.groups.len()
            ),
        }
    };
    let summary = format!("{}: {tail}.", states.join("; "));
    report.recheck = Some(Recheck {
        droplets: rechecked,
        cleared,
        summary,
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::build_report_at;

    const NOW: i64 = 20_000 * DAY;

    fn backend(label: &str, host: &str, fp: &str, sans: &[&str], not_after: i64) -> BackendReport {
        let leaf = CertInfo {
            sha256: fp.into(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            issuer: "CN=Test CA".into(),
            not_before_unix: not_after - 90 * DAY,
            not_after_unix: not_after,
            ..CertInfo::default()
        };
        let target = ProbeTarget {
            label: label.into(),
            addr: "127.0.0.1:443".parse().unwrap(),
            display_host: host.into(),
            sni: Some("shop.test".into()),
        };
        let probe = ProbeResult {
            target,
            proxy_protocol: None,
            connected: true,
            connect_ms: None,
            handshake_ms: None,
            tls: None,
            failure: None,
            chain: vec![leaf.clone()],
            chain_sent: 1,
            ocsp_stapled: false,
            ocsp_staple_bytes: 0,
            handshake_signature_ok: Some(true),
            trust: vec![],
            default_certificate: None,
        };
        BackendReport {
            label: label.into(),
            address: format!("{host}:443"),
            display_host: host.into(),
            protocol: None,
            leaf: Some(leaf),
            severity: None,
            findings: vec![],
            openssl_command: String::new(),
            probe,
        }
    }

    fn ok(label: &str, fp: &str, days_left: i64) -> BackendReport {
        let n = label.trim_start_matches("web-");
        backend(
            label,
            &format!("10.0.0.{n}"),
            fp,
            &["shop.test"],
            NOW + days_left * DAY,
        )
    }

    fn report(backends: Vec<BackendReport>) -> FleetReport {
        build_report_at("shop.test", backends, NOW)
    }

    #[test]
    fn a_valid_group_beats_an_expired_majority() {
        let r = report(vec![
            ok("web-1", "aa", -5),
            ok("web-2", "aa", -5),
            ok("web-3", "bb", 60),
        ]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen.as_deref(), Some("B"));
        assert_eq!(m.chosen_sha256.as_deref(), Some("bb"));
        assert_eq!(m.droplets, ["web-1", "web-2"]);
        assert_eq!(m.sources, ["web-3"]);
        assert!(m.reason.contains("A expired 5 days ago"), "{}", m.reason);
        // Two of three differ: the snapshot route is offered.
        assert!(m.rebuild.is_some());
        assert_eq!(m.fixes.len(), 2);
        assert_eq!(m.fixes[0].copy_from, "web-3");
    }

    #[test]
    fn the_right_name_beats_a_wrong_name() {
        let wrong = backend("web-1", "10.0.0.1", "aa", &["other.test"], NOW + 80 * DAY);
        let wrong2 = backend("web-2", "10.0.0.2", "aa", &["other.test"], NOW + 80 * DAY);
        let r = report(vec![wrong, wrong2, ok("web-3", "bb", 30)]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen.as_deref(), Some("B"));
        assert!(
            m.reason.contains("A is not valid for shop.test"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn a_minority_with_time_left_beats_a_majority_expiring() {
        let r = report(vec![
            ok("web-1", "aa", 3),
            ok("web-2", "aa", 3),
            ok("web-3", "bb", 80),
        ]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen.as_deref(), Some("B"));
        assert_eq!(m.droplets, ["web-1", "web-2"]);
        assert!(
            m.reason.starts_with(
                "Keep certificate B (on web-3): it is valid for shop.test, its chain is trusted and it has 80 days left, while A has only 3 days left."
            ),
            "{}",
            m.reason
        );
    }

    #[test]
    fn the_sandbox_case_keeps_the_majority_and_fixes_web_3() {
        let r = report(vec![
            ok("web-1", "aa", 89),
            ok("web-2", "aa", 89),
            ok("web-3", "bb", 3),
        ]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen.as_deref(), Some("A"));
        assert_eq!(m.droplets, ["web-3"]);
        assert!(m.rebuild.is_none());
        assert!(m.renewal_warning.is_none());
        let fix = &m.fixes[0];
        assert_eq!(
            (fix.droplet.as_str(), fix.host.as_str()),
            ("web-3", "10.0.0.3")
        );
        assert_eq!(fix.copy_from, "web-1");
        assert_eq!(fix.server, None);
        let all: Vec<&String> = fix.steps.iter().flat_map(|s| s.commands.iter()).collect();
        assert!(all.iter().any(|c| c.contains("rsync -a")
            && c.contains("SSH_USER@10.0.0.3:")
            && c.contains("KEY_PATH")));
        assert!(all.iter().any(|c| c.contains("chmod 600")));
        // Never the key's content, only paths.
        assert!(!all.iter().any(|c| c.contains("BEGIN")));
    }

    #[test]
    fn same_days_left_goes_to_the_most_droplets() {
        let r = report(vec![
            ok("web-1", "aa", 60),
            ok("web-2", "bb", 60),
            ok("web-3", "bb", 60),
        ]);
        let m = r.remedy.as_ref().unwrap();
        // B is the bigger group, so it is named A in the report.
        assert_eq!(m.chosen_sha256.as_deref(), Some("bb"));
        assert_eq!(m.droplets, ["web-1"]);
        assert!(m.reason.contains("is on fewer droplets"), "{}", m.reason);
    }

    #[test]
    fn no_qualifying_group_says_so() {
        let wrong = backend("web-2", "10.0.0.2", "bb", &["other.test"], NOW + 80 * DAY);
        let r = report(vec![ok("web-1", "aa", -2), wrong]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen, None);
        assert!(m.fixes.is_empty());
        assert!(
            m.reason
                .starts_with("No certificate served here can be kept:"),
            "{}",
            m.reason
        );
        assert!(m.reason.contains("expired 2 days ago"), "{}", m.reason);
        assert!(m.reason.contains("not valid for shop.test"), "{}", m.reason);
    }

    #[test]
    fn an_untrusted_chain_does_not_qualify() {
        let mut a = ok("web-1", "aa", 80);
        a.findings.push(Finding::new(
            FindingCode::ChainUntrusted,
            Severity::Critical,
            "x",
        ));
        let r = report(vec![a, ok("web-2", "bb", 10)]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen_sha256.as_deref(), Some("bb"));
        assert!(m.reason.contains("chain is not trusted"), "{}", m.reason);
    }

    #[test]
    fn the_same_certificate_without_its_intermediate_is_fixed_from_a_complete_one() {
        let mut c = ok("web-3", "aa", 80);
        c.findings.push(Finding::new(
            FindingCode::ChainIncomplete,
            Severity::Critical,
            "x",
        ));
        let r = report(vec![ok("web-1", "aa", 80), ok("web-2", "aa", 80), c]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.chosen.as_deref(), Some("A"));
        assert_eq!(m.droplets, ["web-3"]);
        assert_eq!(m.sources, ["web-1", "web-2"]);
        assert!(
            m.reason.ends_with(
                "80 days left; web-3 serves it without its full, trusted chain or with another key."
            ),
            "{}",
            m.reason
        );
    }

    #[test]
    fn the_remedy_reads_as_markdown() {
        let r = report(vec![
            ok("web-1", "aa", 89),
            ok("web-2", "aa", 89),
            ok("web-3", "bb", 3),
        ]);
        let md = r.remedy.as_ref().unwrap().markdown();
        assert!(
            md.starts_with("\n## How to fix\n\nKeep certificate A (on web-1, web-2)"),
            "{md}"
        );
        assert!(md.contains("To change: web-3."), "{md}");
        assert!(
            md.contains("### web-3 (10.0.0.3), from web-1 (10.0.0.1)"),
            "{md}"
        );
        assert!(md.contains("```sh\nssh -A SSH_USER@10.0.0.1\n"), "{md}");
        assert!(md.contains("5. **Reload the server on web-3**"), "{md}");
    }

    #[test]
    fn one_certificate_everywhere_needs_no_remedy() {
        let r = report(vec![ok("web-1", "aa", 80), ok("web-2", "aa", 80)]);
        assert!(r.remedy.is_none());
    }

    #[test]
    fn lets_encrypt_gets_certbot_paths_and_the_renewal_warning() {
        let mut b = ok("web-3", "bb", 3);
        if let Some(l) = b.leaf.as_mut() {
            l.issuer = "C=US, O=Let's Encrypt, CN=R11".into();
            l.sans = vec!["shop.test".into(), "www.shop.test".into()];
        }
        let r = report(vec![ok("web-1", "aa", 80), ok("web-2", "aa", 80), b]);
        let m = r.remedy.as_ref().unwrap();
        assert_eq!(m.renewal_warning.as_deref(), Some(LETS_ENCRYPT_BEHIND_LB));
        // The chosen one is not from Let's Encrypt: the source's files are not certbot's.
        let cmds: Vec<&String> = m.fixes[0]
            .steps
            .iter()
            .flat_map(|s| s.commands.iter())
            .collect();
        assert!(cmds.iter().any(|c| c.contains("FULLCHAIN_PATH")));

        // A chosen Let's Encrypt certificate is copied as certbot's whole lineage.
        let mut a1 = ok("web-1", "aa", 80);
        let mut a2 = ok("web-2", "aa", 80);
        for b in [&mut a1, &mut a2] {
            if let Some(l) = b.leaf.as_mut() {
                l.issuer = "C=US, O=Let's Encrypt, CN=R11".into();
            }
        }
        let r = report(vec![a1, a2, ok("web-3", "bb", 3)]);
        let m = r.remedy.as_ref().unwrap();
        let cmds: Vec<&String> = m.fixes[0]
            .steps
            .iter()
            .flat_map(|s| s.commands.iter())
            .collect();
        assert!(
            cmds.iter().any(|c| c.contains("rsync -a")
                && c.contains(
                    "-R /etc/letsencrypt/./live/shop.test /etc/letsencrypt/./archive/shop.test"
                )
                && c.ends_with("SSH_USER@10.0.0.3:/etc/letsencrypt/")),
            "{cmds:#?}"
        );
        assert!(cmds
            .iter()
            .any(|c| c.contains("chmod 600 /etc/letsencrypt/archive/shop.test/privkey*.pem")));
        assert!(m.renewal_warning.is_some());
    }

    #[test]
    fn a_named_server_gets_its_paths_and_reload() {
        let r = report(vec![
            ok("web-1", "aa", 80),
            ok("web-3", "bb", 3),
            ok("web-2", "aa", 80),
        ]);
        let m = remedy_at(&r, NOW, Some(WebServer::Nginx)).unwrap();
        let fix = &m.fixes[0];
        assert_eq!(fix.server, Some(WebServer::Nginx));
        let cmds: Vec<&String> = fix.steps.iter().flat_map(|s| s.commands.iter()).collect();
        assert!(cmds.iter().any(|c| c.contains(
            "/etc/nginx/ssl/shop.test.key SSH_USER@10.0.0.3:/etc/nginx/ssl/shop.test.key"
        )));
        assert!(cmds
            .iter()
            .any(|c| *c == "sudo nginx -t && sudo systemctl reload nginx"));

        let m = remedy_at(&r, NOW, Some(WebServer::Haproxy)).unwrap();
        let cmds: Vec<&String> = m.fixes[0]
            .steps
            .iter()
            .flat_map(|s| s.commands.iter())
            .collect();
        assert!(cmds
            .iter()
            .any(|c| c.contains("chmod 600 /etc/haproxy/certs/shop.test.pem")));

        assert_eq!("Apache2".parse::<WebServer>().unwrap(), WebServer::Apache);
        let mut by_name = r.clone();
        assert!(by_name.set_server("iis").is_err());
    }

    #[test]
    fn traefik_is_told_by_its_default_certificate() {
        let mut b = ok("web-3", "bb", 3);
        b.probe.default_certificate = Some(DefaultCertificate {
            leaf: Some(CertInfo {
                subject: "CN=TRAEFIK DEFAULT CERT".into(),
                ..CertInfo::default()
            }),
            failure: None,
        });
        let r = report(vec![ok("web-1", "aa", 80), ok("web-2", "aa", 80), b]);
        assert_eq!(
            r.remedy.as_ref().unwrap().fixes[0].server,
            Some(WebServer::Traefik)
        );
    }

    #[test]
    fn a_recheck_of_the_fixed_droplet_clears_the_mismatch() {
        let before = report(vec![
            ok("web-1", "aa", 89),
            ok("web-2", "aa", 89),
            ok("web-3", "bb", 3),
        ]);
        let targets = recheck_targets(&before, &["web-3".to_string()]).unwrap();
        assert_eq!(targets[0].display_host, "10.0.0.3");
        assert!(matches!(
            recheck_targets(&before, &["web-9".to_string()]),
            Err(RecheckError::UnknownBackend(_))
        ));

        let still = merge_recheck_at(&before, vec![ok("web-3", "cc", 3)], NOW);
        let rc = still.recheck.as_ref().unwrap();
        assert!(!rc.cleared);
        assert_eq!(
            rc.summary,
            "web-3 serves certificate B: still to change: web-3."
        );

        let after = merge_recheck_at(&before, vec![ok("web-3", "aa", 89)], NOW);
        assert_eq!(after.groups.len(), 1);
        assert!(after.remedy.is_none());
        let rc = after.recheck.as_ref().unwrap();
        assert!(rc.cleared);
        assert_eq!(rc.droplets, ["web-3"]);
        assert_eq!(
            rc.summary,
            "web-3 now serves the certificate to keep (A): all 3 backends serve the same certificate."
        );
        // The order of the backends is kept.
        let labels: Vec<&str> = after.backends.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["web-1", "web-2", "web-3"]);
    }
}
