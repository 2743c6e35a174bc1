//! Certificate inspection as one call for the app and the CLI: probe every backend of a domain,
//! stream each result as it finishes, and return the fleet report.
//!
//! Beside the check itself (here: options, the CA file, a load balancer's backends as probe
//! targets):
//! - [`termination`]: a load balancer that terminates TLS, its certificate compared with what its
//!   droplets serve;
//! - [`report`]: a report as Markdown or JSON, saved through [`crate::files::write_atomic`];
//! - [`inventory`]: the account's DigitalOcean certificates;
//! - [`manage`]: creating, uploading (checked first), deleting and rotating them.

pub mod inventory;
pub mod manage;
pub mod report;
pub mod termination;

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cutover_certs::{
    BackendReport, CertGroup, CertInfo, Finding, FindingCode, FleetReport, ProbeOptions,
    ProbeTarget, ProxyVersion, Severity, Verdict, DEFAULT_CONCURRENCY,
};

use cutover_digitalocean::{Droplet, LoadBalancer};

use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};

impl From<cutover_certs::CertsError> for ApiError {
    fn from(err: cutover_certs::CertsError) -> Self {
        let field = match &err {
            cutover_certs::CertsError::InvalidCaFile(_) => "ca_file",
            cutover_certs::CertsError::InvalidDomain(_) => "domain",
        };
        ApiError::new(ErrorCode::InvalidInput, err.to_string())
            .with_details(serde_json::json!({ "field": field }))
    }
}

/// What the UI (or the CLI) chooses about a check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct CertCheckOptions {
    /// Send a PROXY protocol header first (what the load balancer does when its flag is on).
    pub proxy_protocol: Option<ProxyVersion>,
    /// Per-backend timeout in seconds (default 5).
    pub timeout_secs: Option<f64>,
    /// PEM of a private CA to trust in addition to the public and OS roots.
    pub ca_pem: Option<String>,
    /// How many backends to probe at once (default 32).
    pub concurrency: Option<u32>,
}

impl CertCheckOptions {
    /// The probe options, validated (a bad timeout or CA file is the user's input error).
    pub fn to_probe_options(&self) -> Result<ProbeOptions, ApiError> {
        let mut opts = ProbeOptions {
            proxy_protocol: self.proxy_protocol,
            extra_roots_pem: self.ca_pem.clone(),
            ..ProbeOptions::default()
        };
        if let Some(secs) = self.timeout_secs {
            if !(secs.is_finite() && secs > 0.0 && secs <= 300.0) {
                return Err(ApiError::invalid_input(format!(
                    "the timeout must be between 0 and 300 seconds, not {secs}"
                ))
                .with_details(serde_json::json!({ "field": "timeout" })));
            }
            opts.timeout = Duration::from_secs_f64(secs);
        }
        opts.validate()?;
        Ok(opts)
    }

    /// These options, also trusting the connection's extra CA (the Sandbox's) besides any CA
    /// the user gave: what every check made through a connection verifies against.
    pub fn with_connection_ca(mut self, conn: Option<&Connection>) -> Self {
        if let Some(extra) = conn.and_then(|c| c.extra_ca_pem.as_ref()) {
            self.ca_pem = Some(match self.ca_pem.take() {
                Some(mine) => format!("{mine}\n{extra}"),
                None => extra.clone(),
            });
        }
        self
    }

    fn concurrency(&self) -> usize {
        self.concurrency
            .map(|c| c.clamp(1, 1024) as usize)
            .unwrap_or(DEFAULT_CONCURRENCY)
    }
}

/// Probe `backends` for `domain` (sent as SNI to each), calling `on_result` as each finishes, and
/// compare them. Backends without an SNI get `domain`.
pub async fn check_backends(
    domain: &str,
    backends: Vec<ProbeTarget>,
    options: &CertCheckOptions,
    on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    let domain = cutover_domain::normalize(domain);
    cutover_certs::validate_domain(&domain)?;
    if backends.is_empty() {
        return Err(
            ApiError::invalid_input("give at least one backend to check")
                .with_details(serde_json::json!({ "field": "backends" })),
        );
    }
    let opts = options.to_probe_options()?;
    let backends: Vec<ProbeTarget> = backends
        .into_iter()
        .map(|mut t| {
            if t.sni.is_none() {
                t.sni = Some(domain.clone());
            }
            t
        })
        .collect();
    tracing::info!(domain = %domain, backends = backends.len(), "checking backend certificates");
    let reports = cutover_certs::probe_each(backends, opts, options.concurrency(), on_result).await;
    let report = cutover_certs::build_report(&domain, reports);
    tracing::info!(domain = %domain, verdict = %report.verdict.summary, "certificate check done");
    Ok(report)
}

/// The backends of a load balancer, as probe targets.
#[derive(Debug, Clone)]
pub struct LbBackends {
    pub targets: Vec<ProbeTarget>,
    /// Droplets that cannot be reached from here (no public IPv4), with the reason.
    pub unreachable: Vec<(ProbeTarget, String)>,
    /// What the load balancer sends first: PROXY v1 when `enable_proxy_protocol` is on.
    pub proxy_protocol: Option<ProxyVersion>,
    pub target_port: u16,
}

/// Which droplets serve `lb`'s TLS, and where: the target port of its passthrough rule (or of an
/// HTTPS rule), each member droplet at `resolve(droplet, port)` — the first public IPv4 for real
/// droplets (the label says which when a droplet has two), the address map for the Sandbox's.
///
/// `droplets` may be all of the account's: the load balancer's own are picked
/// ([`crate::lb::is_member`]).
pub fn lb_backends(
    lb: &LoadBalancer,
    droplets: &[Droplet],
    resolve: impl Fn(&Droplet, u16) -> Option<SocketAddr>,
) -> Result<LbBackends, ApiError> {
    let rule = crate::lb::tls_rule(lb).ok_or_else(|| {
        ApiError::invalid_input(format!(
            "Load balancer \"{}\" has no rule through which its droplets serve TLS (SSL passthrough, tcp on 443, or HTTPS to the droplets): there is no certificate to check.",
            lb.name
        ))
    })?;
    let target_port = u16::try_from(rule.target_port).map_err(|_| {
        ApiError::invalid_input(format!("target port {} is not a port", rule.target_port))
    })?;
    let backends = lb_backends_at(lb, droplets, target_port, resolve);
    if backends.targets.is_empty() && backends.unreachable.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "load balancer {} has no droplets",
            lb.name
        )));
    }
    Ok(backends)
}

/// [`lb_backends`] at a port the caller chose (the target port of one particular rule); the
/// lists are empty when the load balancer has no droplets.
pub fn lb_backends_at(
    lb: &LoadBalancer,
    droplets: &[Droplet],
    target_port: u16,
    resolve: impl Fn(&Droplet, u16) -> Option<SocketAddr>,
) -> LbBackends {
    let mut targets = Vec::new();
    let mut unreachable = Vec::new();
    for droplet in crate::lb::member_droplets(lb, droplets) {
        let label = crate::lb::droplet_label(droplet);
        let ips = droplet.public_ipv4s();
        let display_host = match ips.as_slice() {
            [] => "no public IPv4".to_string(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first}, first of {} public IPv4s", rest.len() + 1),
        };
        match resolve(droplet, target_port) {
            Some(addr) => targets.push(ProbeTarget {
                label,
                addr,
                display_host,
                sni: None,
            }),
            None => unreachable.push((
                ProbeTarget {
                    label,
                    addr: SocketAddr::from(([0, 0, 0, 0], target_port)),
                    display_host,
                    sni: None,
                },
                "the droplet has no public IPv4 address to connect to from here".to_string(),
            )),
        }
    }
    LbBackends {
        targets,
        unreachable,
        proxy_protocol: lb.enable_proxy_protocol.then_some(ProxyVersion::V1),
        target_port,
    }
}

/// Check every droplet behind load balancer `lb_id` for `domain`. The load balancer's PROXY
/// protocol flag applies unless `options` says otherwise; the connection's extra CA (the
/// Sandbox's) is trusted besides any CA the user gave.
pub async fn check_load_balancer(
    conn: &Connection,
    lb_id: &str,
    domain: &str,
    options: &CertCheckOptions,
    mut on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    let domain = cutover_domain::normalize(domain);
    cutover_certs::validate_domain(&domain)?;
    let lb = crate::lb::find(conn, lb_id).await?;
    let droplets = crate::lb::members(conn, &lb).await?;
    let backends = lb_backends(&lb, &droplets, |d, p| conn.resolve(d, p))?;
    let mut options = options.clone().with_connection_ca(Some(conn));
    if options.proxy_protocol.is_none() {
        options.proxy_protocol = backends.proxy_protocol;
    }
    let mut unprobed = Vec::new();
    for (mut target, why) in backends.unreachable {
        target.sni = Some(domain.clone());
        let report =
            cutover_certs::unprobed_report(target, cutover_certs::FailureKind::Unreachable, why);
        on_result(&report);
        unprobed.push(report);
    }
    if backends.targets.is_empty() {
        return Ok(cutover_certs::build_report(&domain, unprobed));
    }
    let report = check_backends(&domain, backends.targets, &options, on_result).await?;
    if unprobed.is_empty() {
        return Ok(report);
    }
    let mut all = report.backends;
    all.extend(unprobed);
    Ok(cutover_certs::build_report(&domain, all))
}

/// One certificate check as the UI asks for it: the droplets of a load balancer, or a list of
/// `HOST:PORT` backends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct CertCheckInput {
    pub domain: String,
    /// Check this load balancer's droplets (needs a connection).
    pub lb_id: Option<String>,
    /// Or these `HOST:PORT` backends.
    #[serde(default)]
    pub backends: Vec<String>,
    #[serde(default)]
    pub options: CertCheckOptions,
}

/// [`check_load_balancer`] or [`check_backends`], whichever `input` asks for. Hand-made
/// backends are checked against the connection's extra CA too, when there is a connection (on
/// the Sandbox they serve certificates of its CA).
pub async fn check_certificates(
    conn: Option<&Connection>,
    input: &CertCheckInput,
    on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    match (&input.lb_id, input.backends.is_empty()) {
        (Some(_), false) => Err(ApiError::invalid_input(
            "give either a load balancer or backends, not both",
        )),
        (Some(id), true) => {
            let conn = conn.ok_or_else(|| {
                ApiError::invalid_input("checking a load balancer needs an account to read it from")
            })?;
            check_load_balancer(conn, id, &input.domain, &input.options, on_result).await
        }
        (None, _) => {
            let mut targets = Vec::with_capacity(input.backends.len());
            for spec in &input.backends {
                targets.push(backend_from_spec(spec).await?);
            }
            let options = input.options.clone().with_connection_ca(conn);
            check_backends(&input.domain, targets, &options, on_result).await
        }
    }
}

/// Only the droplets named in `only` of load balancer `lb_id`, probed as [`check_load_balancer`]
/// probes them (the same members, its PROXY protocol flag unless `options` says otherwise, the
/// connection's extra CA): the recheck of the droplets a fix changed. A name that is not a
/// reachable droplet of the load balancer is an input error on `only`.
pub async fn check_load_balancer_only(
    conn: &Connection,
    lb_id: &str,
    domain: &str,
    options: &CertCheckOptions,
    only: &[String],
    on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    let lb = crate::lb::find(conn, lb_id).await?;
    let droplets = crate::lb::members(conn, &lb).await?;
    let backends = lb_backends(&lb, &droplets, |d, p| conn.resolve(d, p))?;
    let known: Vec<&str> = backends.targets.iter().map(|t| t.label.as_str()).collect();
    if let Some(missing) = only.iter().find(|n| !known.contains(&n.as_str())) {
        let unreachable = backends
            .unreachable
            .iter()
            .find(|(t, _)| &t.label == missing);
        let message = match unreachable {
            Some((_, why)) => format!("{missing} cannot be checked: {why}"),
            None => format!(
                "{missing} is not a droplet of load balancer {} (it has {})",
                lb.name,
                known.join(", ")
            ),
        };
        return Err(
            ApiError::invalid_input(message).with_details(serde_json::json!({ "field": "only" }))
        );
    }
    let mut options = options.clone().with_connection_ca(Some(conn));
    if options.proxy_protocol.is_none() {
        options.proxy_protocol = backends.proxy_protocol;
    }
    let targets: Vec<ProbeTarget> = backends
        .targets
        .into_iter()
        .filter(|t| only.contains(&t.label))
        .collect();
    check_backends(domain, targets, &options, on_result).await
}

/// A recheck of some backends of an earlier report: typically the droplets its remedy named,
/// after the user copied the certificate to them.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct CertRecheck {
    /// The report shown before: the backends not rechecked keep what it found.
    pub previous: FleetReport,
    /// The labels of the backends to probe again.
    pub droplets: Vec<String>,
}

/// Probes again only `recheck.droplets` — through the load balancer when `input` names one (as
/// [`check_load_balancer_only`]), else at the addresses the earlier report probed — and merges
/// them into the earlier report: the others stay as they were, everything is compared again and
/// [`FleetReport::recheck`] says whether the mismatch cleared.
pub async fn recheck_certificates(
    conn: Option<&Connection>,
    input: &CertCheckInput,
    recheck: &CertRecheck,
    on_result: impl FnMut(&BackendReport),
) -> Result<FleetReport, ApiError> {
    let previous = &recheck.previous;
    let bad = |m: String| {
        ApiError::invalid_input(m).with_details(serde_json::json!({ "field": "droplets" }))
    };
    // Checked before any probe: a recheck that cannot be merged is an input error.
    let targets = previous
        .recheck_targets(&recheck.droplets)
        .map_err(|e| bad(e.to_string()))?;
    let domain = cutover_domain::normalize(&input.domain);
    if previous.domain != domain {
        return Err(bad(format!(
            "the earlier report is for {}, not {domain}",
            previous.domain
        )));
    }
    let fresh = match (&input.lb_id, conn) {
        (Some(id), Some(conn)) => {
            check_load_balancer_only(
                conn,
                id,
                &domain,
                &input.options,
                &recheck.droplets,
                on_result,
            )
            .await?
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_input(
                "checking a load balancer needs an account to read it from",
            ))
        }
        (None, _) => {
            let options = input.options.clone().with_connection_ca(conn);
            check_backends(&domain, targets, &options, on_result).await?
        }
    };
    Ok(previous.merged_with(fresh.backends))
}

/// Reads a PEM file of CA certificates the user names (the check's "extra CA file"). A missing
/// or unreadable file, or one with no certificate in it, is an input error on `ca_file`.
pub fn read_ca_file(path: &str) -> Result<String, ApiError> {
    let bad = |m: String| {
        ApiError::invalid_input(m).with_details(serde_json::json!({ "field": "ca_file" }))
    };
    let path = path.trim();
    if path.is_empty() {
        return Err(bad(
            "give the path of a PEM file with the CA certificates".into()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("could not read the CA file {path}: {e}")))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad(format!(
            "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(text)
}

/// Turn `HOST:PORT` (a name, an IPv4 or a bracketed IPv6) into a probe target. A name that
/// resolves to several addresses uses the first, and says so in the label.
pub async fn backend_from_spec(spec: &str) -> Result<ProbeTarget, ApiError> {
    let spec = spec.trim();
    let bad = || {
        ApiError::invalid_input(format!(
            "{spec:?} is not HOST:PORT (e.g. 203.0.113.7:443 or [2001:db8::1]:443)"
        ))
        .with_details(serde_json::json!({ "field": "backend" }))
    };
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(ProbeTarget {
            label: spec.to_string(),
            addr,
            display_host: addr.ip().to_string(),
            sni: None,
        });
    }
    let (host, port) = spec.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains(':') {
        return Err(bad());
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Network,
                format!("could not resolve {host:?}: {e}"),
            )
            .with_details(serde_json::json!({ "field": "backend" }))
        })?
        .collect();
    let addr = *addrs.first().ok_or_else(|| {
        ApiError::new(ErrorCode::Network, format!("{host:?} has no address"))
            .with_details(serde_json::json!({ "field": "backend" }))
    })?;
    Ok(ProbeTarget {
        label: spec.to_string(),
        addr,
        display_host: host.to_string(),
        sni: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acceptance check of issue 4: on the Sandbox's passthrough load balancer exactly the
    /// droplet with the other certificate is flagged.
    #[tokio::test]
    async fn the_sandbox_passthrough_lb_flags_exactly_web_3() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let lbs = conn.client.list_load_balancers().await.unwrap();
        let lb = lbs.iter().find(|l| l.name == "shop-passthrough").unwrap();
        let mut streamed = 0;
        let report = check_load_balancer(
            &conn,
            &lb.id,
            "sandbox-shop.test",
            &CertCheckOptions::default(),
            |_| streamed += 1,
        )
        .await
        .unwrap();
        sandbox.shutdown().await;
        assert_eq!(streamed, report.backends.len());
        assert!(report.backends.len() >= 2, "{report:#?}");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.code == FindingCode::FleetFingerprintMismatch),
            "{:#?}",
            report.findings
        );
        // Exactly one group has a single member, and it is web-3.
        assert_eq!(report.groups.len(), 2, "{:#?}", report.groups);
        assert_eq!(report.groups[1].backends, vec!["web-3".to_string()]);
        assert!(
            report.verdict.summary.contains("web-3"),
            "{}",
            report.verdict.summary
        );
        // The others verify against the Sandbox CA: nothing is wrong with them.
        for b in report.backends.iter().filter(|b| b.label != "web-3") {
            assert!(
                b.severity.is_none_or(|s| s < Severity::Error),
                "{}: {:#?}",
                b.label,
                b.findings
            );
        }
    }

    fn droplet(id: u64, name: &str, public: &[&str], tags: &[&str]) -> Droplet {
        let v4: Vec<serde_json::Value> = public
            .iter()
            .map(|ip| serde_json::json!({"ip_address": ip, "type": "public", "netmask": "255.255.255.0", "gateway": ""}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "tags": tags, "networks": {"v4": v4, "v6": []}
        }))
        .unwrap()
    }

    #[test]
    fn lb_backends_use_the_passthrough_port_the_proxy_flag_and_say_which_ip() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "lb-1", "name": "shop", "enable_proxy_protocol": true,
            "droplet_ids": [1, 2, 3],
            "forwarding_rules": [
                {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80},
                {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 8443, "tls_passthrough": true}
            ]
        }))
        .unwrap();
        let droplets = vec![
            droplet(1, "web-1", &["203.0.113.1"], &[]),
            droplet(2, "web-2", &["203.0.113.2", "198.51.100.2"], &[]),
            droplet(3, "web-3", &[], &[]),
            droplet(4, "not-mine", &["203.0.113.4"], &[]),
        ];
        let b = lb_backends(&lb, &droplets, crate::rehearse::public_ipv4_backend).unwrap();
        assert_eq!(b.target_port, 8443);
        assert_eq!(b.proxy_protocol, Some(ProxyVersion::V1));
        let labels: Vec<&str> = b.targets.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["web-1", "web-2"]);
        assert_eq!(b.targets[0].addr, "203.0.113.1:8443".parse().unwrap());
        assert_eq!(
            b.targets[1].display_host,
            "203.0.113.2, first of 2 public IPv4s"
        );
        assert_eq!(b.unreachable.len(), 1);
        assert_eq!(b.unreachable[0].0.label, "web-3");

        let no_tls: LoadBalancer = serde_json::from_value(serde_json::json!({
            "name": "plain", "droplet_ids": [1],
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
        }))
        .unwrap();
        let err =
            lb_backends(&no_tls, &droplets, crate::rehearse::public_ipv4_backend).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }

    /// `tcp:443 → tcp:443` is how many run passthrough (and DOKS's network load balancers
    /// only have tcp/udp rules): the droplets serve TLS, so their certificates are checked.
    #[test]
    fn a_tcp_443_rule_is_a_passthrough_for_the_certificate_check() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "lb-nlb", "name": "nlb", "type": "REGIONAL_NETWORK", "droplet_ids": [1, 2],
            "forwarding_rules": [
                {"entry_protocol": "tcp", "entry_port": 80, "target_protocol": "tcp", "target_port": 80},
                {"entry_protocol": "tcp", "entry_port": 443, "target_protocol": "tcp", "target_port": 30443}
            ]
        }))
        .unwrap();
        let droplets = vec![
            droplet(1, "node-1", &["203.0.113.1"], &[]),
            droplet(2, "node-2", &["203.0.113.2"], &[]),
        ];
        let b = lb_backends(&lb, &droplets, crate::rehearse::public_ipv4_backend).unwrap();
        assert_eq!(b.target_port, 30443);
        assert_eq!(b.targets.len(), 2);
        assert_eq!(b.targets[0].addr, "203.0.113.1:30443".parse().unwrap());
    }

    #[test]
    fn a_ca_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = read_ca_file(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(err.details.unwrap()["field"], "ca_file");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello").unwrap();
        assert!(read_ca_file(junk.to_str().unwrap())
            .unwrap_err()
            .message
            .contains("no PEM"));
        let good = dir.path().join("ca.pem");
        std::fs::write(
            &good,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(read_ca_file(good.to_str().unwrap()).is_ok());
        assert!(read_ca_file("  ").is_err());
    }

    /// A tag-based load balancer: the droplets it lists and those carrying its tag (tagged a
    /// moment ago, not listed yet), never the others.
    #[test]
    fn lb_backends_of_a_tag_based_lb_take_its_tagged_droplets() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "id": "lb-2", "name": "api", "tag": "api", "droplet_ids": [1],
            "forwarding_rules": [
                {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 443, "tls_passthrough": true}
            ]
        }))
        .unwrap();
        let droplets = vec![
            droplet(1, "api-1", &["203.0.113.1"], &["api"]),
            droplet(2, "api-2", &["203.0.113.2"], &["api", "web"]),
            droplet(3, "web-1", &["203.0.113.3"], &["web"]),
            droplet(4, "", &["203.0.113.4"], &["api"]),
        ];
        let b = lb_backends(&lb, &droplets, crate::rehearse::public_ipv4_backend).unwrap();
        let labels: Vec<&str> = b.targets.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["api-1", "api-2", "4"]);
        assert_eq!(b.proxy_protocol, None);
    }

    /// Hand-made backends on the Sandbox verify against its CA when the check has the
    /// connection, and do not without it.
    #[tokio::test]
    async fn hand_made_backends_trust_the_connections_ca() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let lb = crate::lb::find(&conn, "shop-passthrough").await.unwrap();
        let port = u16::try_from(lb.passthrough_rule().unwrap().target_port).unwrap();
        let members = crate::lb::members(&conn, &lb).await.unwrap();
        let web1 = members.iter().find(|d| d.name == "web-1").unwrap();
        let addr = conn.resolve(web1, port).unwrap();
        let input = CertCheckInput {
            domain: "sandbox-shop.test".into(),
            backends: vec![addr.to_string()],
            options: CertCheckOptions {
                proxy_protocol: lb.enable_proxy_protocol.then_some(ProxyVersion::V1),
                ..Default::default()
            },
            ..Default::default()
        };
        // Without the Sandbox's CA its leaf cannot be traced to a root: an error-level finding.
        let flagged =
            |r: &FleetReport| r.backends[0].severity.is_some_and(|s| s >= Severity::Error);
        let with = check_certificates(Some(&conn), &input, |_| {})
            .await
            .unwrap();
        let without = check_certificates(None, &input, |_| {}).await.unwrap();
        sandbox.shutdown().await;
        assert!(!flagged(&with), "{:#?}", with.backends[0].findings);
        assert!(flagged(&without), "{:#?}", without.backends[0].findings);
    }

    #[tokio::test]
    async fn check_certificates_wants_one_source() {
        let input = CertCheckInput {
            domain: "shop.test".into(),
            lb_id: Some("x".into()),
            backends: vec!["127.0.0.1:9".into()],
            ..Default::default()
        };
        let err = check_certificates(None, &input, |_| {}).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let input = CertCheckInput {
            backends: vec![],
            ..input
        };
        let err = check_certificates(None, &input, |_| {}).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }

    #[tokio::test]
    async fn specs_parse() {
        let t = backend_from_spec("127.0.0.1:8443").await.unwrap();
        assert_eq!(t.addr, "127.0.0.1:8443".parse::<SocketAddr>().unwrap());
        let t = backend_from_spec("[::1]:443").await.unwrap();
        assert_eq!(t.display_host, "::1");
        let t = backend_from_spec("localhost:443").await.unwrap();
        assert!(t.addr.ip().is_loopback());
        assert_eq!(t.display_host, "localhost");
        for bad in ["", "127.0.0.1", "host:port", ":443", "::1:443"] {
            let err = backend_from_spec(bad).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[tokio::test]
    async fn bad_input_is_invalid_input() {
        let target = backend_from_spec("127.0.0.1:9").await.unwrap();
        let err = check_backends(
            "not a domain",
            vec![target.clone()],
            &Default::default(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let opts = CertCheckOptions {
            ca_pem: Some("nope".into()),
            ..Default::default()
        };
        let err = check_backends("shop.test", vec![target.clone()], &opts, |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.details.unwrap()["field"], "ca_file");
        let err = check_backends("shop.test", vec![], &Default::default(), |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }

    #[tokio::test]
    async fn a_dead_backend_is_reported_through_the_callback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = backend_from_spec(&addr.to_string()).await.unwrap();
        let mut seen = Vec::new();
        let report = check_backends("Shop.Test.", vec![target], &Default::default(), |r| {
            seen.push(r.label.clone())
        })
        .await
        .unwrap();
        assert_eq!(seen, vec![addr.to_string()]);
        assert_eq!(report.domain, "shop.test");
        assert_eq!(
            report.backends[0].findings[0].code,
            FindingCode::BackendUnreachable
        );
        assert!(!report.verdict.ok);
    }

    /// The app's Recheck: only the droplet the remedy names is probed again, merged into the
    /// earlier report (the others kept); the mismatch stays until the Sandbox's stand-in for the
    /// copy has run, then clears.
    #[tokio::test]
    async fn a_recheck_of_the_remedys_droplets_merges_into_the_earlier_report() {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let lb = crate::lb::find(&conn, "shop-passthrough").await.unwrap();
        let input = CertCheckInput {
            domain: "sandbox-shop.test".into(),
            lb_id: Some(lb.id.clone()),
            ..Default::default()
        };
        let before = check_certificates(Some(&conn), &input, |_| {})
            .await
            .unwrap();
        let droplets = before.remedy.as_ref().unwrap().droplets.clone();
        assert_eq!(droplets, vec!["web-3".to_string()]);
        let recheck = |previous: &FleetReport| CertRecheck {
            previous: previous.clone(),
            droplets: droplets.clone(),
        };

        let mut probed = Vec::new();
        let still = recheck_certificates(Some(&conn), &input, &recheck(&before), |r| {
            probed.push(r.label.clone())
        })
        .await
        .unwrap();
        assert_eq!(probed, droplets);
        assert_eq!(still.backends.len(), before.backends.len());
        let rc = still.recheck.as_ref().unwrap();
        assert!(!rc.cleared, "{rc:?}");
        assert_eq!(rc.droplets, droplets);

        let web3 = crate::lb::members(&conn, &lb)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == "web-3")
            .unwrap();
        sandbox.fix_droplet_certificate(web3.id).await.unwrap();
        let after = recheck_certificates(Some(&conn), &input, &recheck(&still), |_| {})
            .await
            .unwrap();
        sandbox.shutdown().await;
        let rc = after.recheck.as_ref().unwrap();
        assert!(rc.cleared, "{rc:?}");
        assert_eq!(after.backends.len(), before.backends.len());
        assert_eq!(after.groups.len(), 1);
        assert!(after.remedy.is_none());
        assert_eq!(
            rc.summary,
            "web-3 now serves the certificate to keep (A): all 3 backends serve the same certificate."
        );
    }

    #[tokio::test]
    async fn a_recheck_names_backends_of_the_earlier_report() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let input = CertCheckInput {
            domain: "shop.test".into(),
            backends: vec![addr.to_string()],
            ..Default::default()
        };
        let previous = check_certificates(None, &input, |_| {}).await.unwrap();
        let ask = |droplets: &[&str], domain: &str| {
            let input = CertCheckInput {
                domain: domain.into(),
                ..input.clone()
            };
            let recheck = CertRecheck {
                previous: previous.clone(),
                droplets: droplets.iter().map(|d| d.to_string()).collect(),
            };
            async move { recheck_certificates(None, &input, &recheck, |_| {}).await }
        };
        for (droplets, domain, says) in [
            (&["web-9"][..], "shop.test", "web-9"),
            (&[][..], "shop.test", "at least one"),
            (
                &[addr.to_string().as_str()][..],
                "other.test",
                "not other.test",
            ),
        ] {
            let err = ask(droplets, domain).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert_eq!(err.details.unwrap()["field"], "droplets");
            assert!(err.message.contains(says), "{}", err.message);
        }
        // A known backend is probed again and the report keeps it once.
        let again = ask(&[addr.to_string().as_str()], "shop.test")
            .await
            .unwrap();
        assert_eq!(again.backends.len(), 1);
        assert_eq!(again.recheck.unwrap().droplets, vec![addr.to_string()]);
    }
}
