//! What the app's Certificates and Rehearsal views need beyond `certs` and `rehearse`: the load
//! balancers to start from, the account's certificates, report export, the running balancer slot,
//! the built-in test request and the ways to try a domain through the local balancer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::certs::{CertInfo, FleetReport};
use crate::context::Connection;
use crate::rehearse::{
    rehearse, start_balancer, BalancerConfig, BalancerEvent, BalancerHandle, RehearseOptions,
    StatsSnapshot,
};
use crate::{ApiError, ErrorCode};

/// A load balancer as the check and rehearsal views offer it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LbChoice {
    pub id: String,
    pub name: String,
    /// Has an SSL-passthrough rule (the only kind the local balancer rehearses).
    pub passthrough: bool,
    pub proxy_protocol: bool,
    /// Domain suggestions: the load balancer's domains and its certificates' names.
    pub domains: Vec<String>,
    /// Names of the certificates its HTTPS rules terminate with, when it terminates TLS.
    pub certificates: Vec<String>,
}

/// The load balancers of the account, with domain suggestions for each.
pub async fn lb_choices(conn: &Connection) -> Result<Vec<LbChoice>, ApiError> {
    let lbs = conn.client.list_load_balancers().await?;
    // Certificates only feed suggestions: without them the user can still type a domain.
    let certs = conn.client.list_certificates().await.unwrap_or_default();
    Ok(lbs
        .into_iter()
        .map(|lb| {
            let mut domains: Vec<String> = lb
                .domains
                .iter()
                .flatten()
                .map(|d| d.name.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            let mut certificates = Vec::new();
            for rule in &lb.forwarding_rules {
                let Some(id) = rule.certificate_id.as_deref().filter(|s| !s.is_empty()) else {
                    continue;
                };
                if let Some(cert) = certs.iter().find(|c| c.id == id) {
                    certificates.push(cert.name.clone());
                    domains.extend(cert.names().map(|n| n.trim_start_matches("*.").to_string()));
                }
            }
            domains.sort();
            domains.dedup();
            LbChoice {
                passthrough: lb.forwarding_rules.iter().any(|r| r.is_passthrough()),
                proxy_protocol: lb.enable_proxy_protocol,
                id: lb.id,
                name: lb.name,
                domains,
                certificates,
            }
        })
        .collect())
}

/// One of the account's DigitalOcean certificates.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSummary {
    pub id: String,
    pub name: String,
    /// `custom` or `lets_encrypt`.
    pub kind: String,
    pub state: String,
    pub dns_names: Vec<String>,
    pub not_after: String,
    /// Days until it expires (negative when expired); `None` when the date is unreadable.
    pub days_left: Option<f64>,
    pub sha1_fingerprint: String,
    /// Load balancers that terminate TLS with it.
    pub used_by: Vec<String>,
}

/// The account's certificates, soonest expiry first.
pub async fn list_certificates(conn: &Connection) -> Result<Vec<CertificateSummary>, ApiError> {
    let certs = conn.client.list_certificates().await?;
    let lbs = conn.client.list_load_balancers().await.unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let mut out: Vec<CertificateSummary> = certs
        .into_iter()
        .map(|c| {
            let days_left = time::OffsetDateTime::parse(
                &c.not_after,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .map(|t| ((t - now).whole_seconds() as f64 / 86_400.0 * 10.0).round() / 10.0);
            let used_by = lbs
                .iter()
                .filter(|lb| {
                    lb.forwarding_rules
                        .iter()
                        .any(|r| r.certificate_id.as_deref() == Some(c.id.as_str()))
                })
                .map(|lb| lb.name.clone())
                .collect();
            CertificateSummary {
                dns_names: c.names().map(str::to_string).collect(),
                id: c.id,
                name: c.name,
                kind: c.kind,
                state: c.state,
                not_after: c.not_after,
                days_left,
                sha1_fingerprint: c.sha1_fingerprint,
                used_by,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.days_left
            .unwrap_or(f64::MAX)
            .total_cmp(&b.days_left.unwrap_or(f64::MAX))
    });
    Ok(out)
}

/// How to save a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Markdown,
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown: verdict, comparison table, findings, and the commands to reproduce.
pub fn report_markdown(report: &FleetReport) -> String {
    let mut md = format!(
        "# Certificate check: {}\n\n**Verdict:** {}\n\n",
        report.domain,
        md_cell(&report.verdict.summary)
    );
    md.push_str("| Backend | Address | Group | SHA-256 | Subject | Issuer | Not after | TLS | Worst finding |\n|---|---|---|---|---|---|---|---|---|\n");
    for b in &report.backends {
        let group = b
            .leaf
            .as_ref()
            .and_then(|l| report.groups.iter().find(|g| g.sha256 == l.sha256))
            .map(|g| g.name.as_str())
            .unwrap_or("—");
        let leaf = b.leaf.as_ref();
        md.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} |\n",
            md_cell(&b.label),
            md_cell(&b.address),
            group,
            leaf.map(|l| l.sha256.get(..16).unwrap_or(&l.sha256))
                .unwrap_or("—"),
            md_cell(leaf.map(|l| l.subject.as_str()).unwrap_or("—")),
            md_cell(leaf.map(|l| l.issuer.as_str()).unwrap_or("—")),
            leaf.map(|l| l.not_after.as_str()).unwrap_or("—"),
            b.protocol.as_deref().unwrap_or("—"),
            b.severity.map(|s| s.as_str()).unwrap_or("none"),
        ));
    }
    if !report.findings.is_empty() {
        md.push_str("\n## Fleet findings\n\n");
        for f in &report.findings {
            md.push_str(&format!(
                "- **{}** `{}`: {}\n",
                f.severity.as_str(),
                f.code,
                md_cell(&f.message)
            ));
        }
    }
    for b in &report.backends {
        md.push_str(&format!("\n## {} ({})\n\n", md_cell(&b.label), b.address));
        if b.findings.is_empty() {
            md.push_str("No findings.\n");
        }
        for f in &b.findings {
            md.push_str(&format!(
                "- **{}** `{}`: {}\n",
                f.severity.as_str(),
                f.code,
                md_cell(&f.message)
            ));
        }
        md.push_str(&format!("\n```\n{}\n```\n", b.openssl_command));
    }
    md
}

/// Writes the report into `dir` under a name made from the domain and the time, never
/// overwriting a file; returns the path written.
pub fn export_report(
    report: &FleetReport,
    format: ReportFormat,
    dir: &Path,
) -> Result<PathBuf, ApiError> {
    let (text, ext) = match format {
        ReportFormat::Json => (
            serde_json::to_string_pretty(report)
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
            "json",
        ),
        ReportFormat::Markdown => (report_markdown(report), "md"),
    };
    let safe: String = report
        .domain
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    for n in 0..1000 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("cutover-certs-{safe}-{stamp}{suffix}.{ext}"));
        // create_new: never overwrite something the user already has.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(text.as_bytes())
                    .map_err(|e| io_error(&path, e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&path, e)),
        }
    }
    Err(ApiError::new(
        ErrorCode::Io,
        format!("could not find a free file name in {}", dir.display()),
    ))
}

fn io_error(path: &Path, e: std::io::Error) -> ApiError {
    ApiError::new(
        ErrorCode::Io,
        format!("could not write {}: {e}", path.display()),
    )
    .with_details(serde_json::json!({ "path": path.display().to_string() }))
}

/// The balancer config that reproduces load balancer `lb_id` here, for the user to edit.
/// Listens on 127.0.0.1:8443 unless `options` says otherwise.
pub async fn rehearsal_config(
    conn: &Connection,
    lb_id: &str,
    options: &RehearseOptions,
) -> Result<BalancerConfig, ApiError> {
    let lb = conn.client.get_load_balancer(lb_id).await?;
    let droplets = conn.client.list_droplets().await?;
    let mut options = options.clone();
    // The local redirect listener is optional; keep it off a fixed port that may well be taken.
    if lb.redirect_http_to_https && options.redirect_http_listen.is_none() {
        options.redirect_http_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    rehearse(&lb, &droplets, &options, |d, p| conn.resolve(d, p))
}

/// What the UI shows about the running balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BalancerStatus {
    /// Bumps at every start, so event streams of an earlier run can be told apart.
    pub run: u32,
    pub listen: String,
    pub redirect_listen: Option<String>,
    pub config: BalancerConfig,
    pub stats: StatsSnapshot,
    pub try_it: TryIt,
}

/// Ready-made ways to try the domain through the balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TryIt {
    pub domain: String,
    pub curl: String,
    /// The hosts-file line (only works when the balancer listens on 443).
    pub hosts_line: String,
    pub hosts_note: Option<String>,
    /// The browser binary found on this machine, if any.
    pub browser: Option<String>,
}

/// The commands and lines for `domain` through the balancer at `addr`.
pub fn try_it(domain: &str, addr: SocketAddr) -> TryIt {
    let ip = addr.ip();
    let port = addr.port();
    TryIt {
        domain: domain.to_string(),
        curl: format!("curl --connect-to {domain}:443:{ip}:{port} https://{domain}/"),
        hosts_line: format!("{ip} {domain}"),
        hosts_note: (port != 443).then(|| {
            format!("The hosts file maps names, not ports: open https://{domain}:{port}/ with it (the certificate is for the name, so it still matches).")
        }),
        browser: find_browser().map(|p| p.display().to_string()),
    }
}

/// The first Chromium-family browser on the PATH.
pub fn find_browser() -> Option<PathBuf> {
    const NAMES: &[&str] = &[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "chrome",
        "brave-browser",
        "microsoft-edge",
    ];
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Opens the browser with `domain` mapped to the balancer, in a throwaway profile (the flag only
/// applies to a new browser process, not to an already running one).
pub fn open_browser(domain: &str, addr: SocketAddr) -> Result<(), ApiError> {
    let browser = find_browser().ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no Chromium or Chrome was found on the PATH",
        )
    })?;
    let profile = std::env::temp_dir().join(format!("cutover-browser-{}", std::process::id()));
    std::process::Command::new(&browser)
        .arg(format!("--host-resolver-rules=MAP {domain}:443 {addr}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--no-first-run")
        .arg(format!("https://{domain}/"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("could not start {}: {e}", browser.display()),
            )
        })?;
    Ok(())
}

/// One running balancer at a time, shared by the app's commands.
#[derive(Default)]
pub struct BalancerSlot {
    inner: Mutex<SlotInner>,
}

#[derive(Default)]
struct SlotInner {
    running: Option<BalancerHandle>,
    run: u32,
    domain: String,
}

impl BalancerSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotInner> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `config` unless a balancer already runs; binding happens before this returns.
    pub fn start(&self, config: BalancerConfig) -> Result<BalancerStatus, ApiError> {
        let mut inner = self.lock();
        if inner.running.is_some() {
            return Err(ApiError::invalid_input(
                "a balancer is already running: stop it first",
            ));
        }
        let domain = config
            .domains
            .iter()
            .find(|d| !d.starts_with('*'))
            .or(config.domains.first())
            .map(|d| d.trim_start_matches("*.").to_string())
            .unwrap_or_default();
        let handle = start_balancer(config)?;
        inner.run = inner.run.wrapping_add(1);
        inner.domain = domain;
        inner.running = Some(handle);
        tracing::info!(run = inner.run, "rehearsal balancer started");
        Self::status_of(&inner).ok_or_else(|| ApiError::new(ErrorCode::Internal, "not running"))
    }

    fn status_of(inner: &SlotInner) -> Option<BalancerStatus> {
        let h = inner.running.as_ref()?;
        Some(BalancerStatus {
            run: inner.run,
            listen: h.local_addr().to_string(),
            redirect_listen: h.redirect_addr().map(|a| a.to_string()),
            config: h.config().clone(),
            stats: h.stats(),
            try_it: try_it(&inner.domain, h.local_addr()),
        })
    }

    pub fn status(&self) -> Option<BalancerStatus> {
        Self::status_of(&self.lock())
    }

    /// The stats of run `run`, `None` once that run has stopped.
    pub fn stats(&self, run: u32) -> Option<StatsSnapshot> {
        let inner = self.lock();
        (inner.run == run).then_some(())?;
        inner.running.as_ref().map(|h| h.stats())
    }

    pub fn subscribe(&self) -> Option<(u32, tokio::sync::broadcast::Receiver<BalancerEvent>)> {
        let inner = self.lock();
        inner.running.as_ref().map(|h| (inner.run, h.subscribe()))
    }

    /// Stops the balancer, letting open connections finish for up to `drain`; the final stats,
    /// or `None` when none was running.
    pub async fn stop(&self, drain: Duration) -> Option<StatsSnapshot> {
        let handle = self.lock().running.take()?;
        Some(handle.stop(drain).await)
    }
}

/// A built-in test request through the balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TestRequestResult {
    pub url: String,
    /// Where the request really went (the balancer).
    pub via: String,
    pub status: u16,
    pub http_version: String,
    pub headers: Vec<(String, String)>,
    pub elapsed_ms: f64,
    /// The certificate the server presented, as seen through the balancer.
    pub certificate: Option<CertInfo>,
    /// The first 2 KiB of the body.
    pub body_preview: String,
}

/// `GET https://domain{path}` with `domain` resolved to the balancer at `addr`, trusting the
/// public roots plus `extra_ca_pem` (the Sandbox's CA).
pub async fn test_request(
    domain: &str,
    path: &str,
    addr: SocketAddr,
    extra_ca_pem: Option<&str>,
) -> Result<TestRequestResult, ApiError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    cutover_certs::validate_domain(&domain)?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let url = format!("https://{domain}{path}");
    let mut builder = reqwest::Client::builder()
        .resolve(&domain, addr)
        .tls_info(true)
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = extra_ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("the extra CA is not valid PEM: {e}"),
            )
        })? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let started = Instant::now();
    let response = client.get(&url).send().await.map_err(|e| {
        // The chain of sources carries the real reason (certificate, refused, reset…).
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        ApiError::new(
            ErrorCode::Network,
            format!("the test request to {url} through {addr} failed: {msg}"),
        )
    })?;
    let certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(cutover_certs::cert_info);
    let status = response.status().as_u16();
    let http_version = format!("{:?}", response.version());
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.unwrap_or_default();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let preview = &body[..body.len().min(2048)];
    Ok(TestRequestResult {
        url,
        via: addr.to_string(),
        status,
        http_version,
        headers,
        elapsed_ms,
        certificate,
        body_preview: String::from_utf8_lossy(preview).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_it_lines_name_the_port_and_warn_about_hosts() {
        let t = try_it("shop.test", "127.0.0.1:9443".parse().unwrap());
        assert_eq!(
            t.curl,
            "curl --connect-to shop.test:443:127.0.0.1:9443 https://shop.test/"
        );
        assert_eq!(t.hosts_line, "127.0.0.1 shop.test");
        assert!(t.hosts_note.unwrap().contains(":9443"));
        assert!(try_it("shop.test", "127.0.0.1:443".parse().unwrap())
            .hosts_note
            .is_none());
    }

    /// The acceptance path of the app: check the Sandbox's passthrough LB, export it, rehearse it,
    /// and send the test request through the balancer.
    #[tokio::test]
    async fn sandbox_rehearsal_serves_the_test_request_and_exports() {
        crate::init_tls();
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let choices = lb_choices(&conn).await.unwrap();
        let shop = choices
            .iter()
            .find(|c| c.name == "shop-passthrough")
            .unwrap();
        assert!(shop.passthrough);
        let certs = list_certificates(&conn).await.unwrap();
        assert!(certs.iter().any(|c| c.kind == "lets_encrypt"));

        let report = crate::certs::check_load_balancer(
            &conn,
            &shop.id,
            "sandbox-shop.test",
            &Default::default(),
            |_| {},
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let md = export_report(&report, ReportFormat::Markdown, dir.path()).unwrap();
        let md_text = std::fs::read_to_string(&md).unwrap();
        assert!(md_text.contains("web-3"), "{md_text}");
        let json = export_report(&report, ReportFormat::Json, dir.path()).unwrap();
        assert_ne!(md, json);
        let back: FleetReport =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(back, report);

        let options = RehearseOptions {
            domains: vec!["sandbox-shop.test".into()],
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        };
        let config = rehearsal_config(&conn, &shop.id, &options).await.unwrap();
        let slot = BalancerSlot::default();
        let status = slot.start(config.clone()).unwrap();
        assert!(slot.start(config).is_err(), "one balancer at a time");
        let addr: SocketAddr = status.listen.parse().unwrap();
        let result =
            test_request("sandbox-shop.test", "/", addr, conn.extra_ca_pem.as_deref()).await;
        let stats = slot.stats(status.run).unwrap();
        let stopped = slot.stop(Duration::from_secs(2)).await.unwrap();
        sandbox.shutdown().await;
        let result = result.unwrap();
        assert_eq!(result.status, 200, "{result:#?}");
        assert!(result.certificate.is_some());
        assert!(stats.total_connections >= 1);
        assert!(stopped.relayed_connections >= 1);
        assert!(slot.status().is_none());
    }
}
