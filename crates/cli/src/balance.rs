//! `cutover balance`: run the local SNI-passthrough balancer in the foreground.
//!
//! Prints one JSON line when listening (with the port really bound), then — with `--json` — one
//! JSON line per event; on Ctrl-C or SIGTERM it drains, prints the final stats and exits 0.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use cutover_core::rehearse::{
    from_load_balancer, start_balancer, Algorithm, BackendConfig, BalancerConfig, BalancerEvent,
    HealthCheckConfig, HealthCheckProtocol, ProxyProtocol, RehearseOptions, StatsSnapshot,
};
use cutover_core::session::Session;
use cutover_core::ApiError;

use crate::output;
use crate::GlobalArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct BalanceArgs {
    /// A domain to route (exact, or `*.example.com`); repeat for more. With `--lb`, defaults to
    /// the load balancer's own domains.
    #[arg(long = "domain", value_name = "DOMAIN", required_unless_present = "lb")]
    pub domains: Vec<String>,
    /// A backend to relay to; repeat for more.
    #[arg(
        long = "backend",
        value_name = "HOST:PORT",
        required_unless_present = "lb",
        conflicts_with = "lb"
    )]
    pub backends: Vec<String>,
    /// Take the droplets and settings (health check, PROXY protocol, redirect) from this load
    /// balancer, in the account `cutover lb` would use (--context, DIGITALOCEAN_ACCESS_TOKEN, or
    /// a Sandbox for this run). Options given here override the load balancer's.
    #[arg(long, value_name = "ID")]
    pub lb: Option<String>,
    /// Where to listen (port 0 picks a free port). Loopback only, unless --listen-public.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Allow --listen or --redirect-http on an address other machines can reach: anyone who
    /// reaches it can use this balancer to reach the backends.
    #[arg(long)]
    pub listen_public: bool,
    /// Default round-robin (or the load balancer's).
    #[arg(long, value_enum)]
    pub algorithm: Option<AlgorithmArg>,
    /// Active health checks: `tcp`, `http:/path` or `https:/path`.
    #[arg(long, value_name = "tcp|http:PATH|https:PATH", value_parser = parse_health_check)]
    pub health_check: Option<HealthCheckConfig>,
    /// Send a PROXY protocol header to the backends.
    #[arg(long, value_enum)]
    pub proxy_protocol: Option<ProxyArg>,
    /// Also listen for plain HTTP here and redirect every request to HTTPS.
    #[arg(long, value_name = "ADDR")]
    pub redirect_http: Option<SocketAddr>,
    /// Relay ClientHellos without a server name too.
    #[arg(long)]
    pub allow_no_sni: bool,
    /// Open connections allowed at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: u32,
    /// How long open connections may finish after Ctrl-C.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgorithmArg {
    RoundRobin,
    LeastConnections,
    SourceHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyArg {
    V1,
    V2,
}

fn parse_health_check(value: &str) -> Result<HealthCheckConfig, String> {
    let (protocol, path) = match value.split_once(':') {
        None if value.eq_ignore_ascii_case("tcp") => (HealthCheckProtocol::Tcp, "/"),
        Some((p, path)) if p.eq_ignore_ascii_case("http") => (HealthCheckProtocol::Http, path),
        Some((p, path)) if p.eq_ignore_ascii_case("https") => (HealthCheckProtocol::Https, path),
        _ => return Err("use tcp, http:/path or https:/path".into()),
    };
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') {
        return Err("the path must start with /".into());
    }
    Ok(HealthCheckConfig {
        protocol,
        path: path.to_string(),
        ..Default::default()
    })
}

/// Resolves `HOST:PORT` (names too: `localhost:9443`) to the first address.
async fn resolve_backend(spec: &str) -> Result<BackendConfig, ApiError> {
    let addr = tokio::net::lookup_host(spec)
        .await
        .map_err(|e| {
            ApiError::invalid_input(format!(
                "backend {spec:?} is not HOST:PORT or cannot be resolved: {e}"
            ))
        })?
        .next()
        .ok_or_else(|| {
            ApiError::invalid_input(format!("backend {spec:?} resolves to no address"))
        })?;
    Ok(BackendConfig {
        name: spec.to_string(),
        addr,
        display: None,
        health_check_addr: None,
    })
}

/// What core builds the `--lb` config from. Core validates that config before
/// `--listen-public` is applied to it, so a public address goes in as its loopback stand-in
/// (same port) and is put back afterwards (until `RehearseOptions` carries the flag itself).
fn rehearse_options(args: &BalanceArgs) -> RehearseOptions {
    RehearseOptions {
        domains: args.domains.clone(),
        listen: Some(args.listen),
        redirect_http_listen: args.redirect_http,
        allow_public_listen: args.listen_public,
    }
}

/// The balancer's config and, with `--lb`, the session it was read through: keep that open
/// while the balancer runs (a Sandbox started for this run owns the backends), then close it.
pub async fn config_from_args(
    args: &BalanceArgs,
    global: &GlobalArgs,
) -> Result<(BalancerConfig, Option<Session>), ApiError> {
    let mut session = None;
    let mut config = match &args.lb {
        Some(id) => {
            let opened = crate::session::open(global).await?;
            let options = rehearse_options(args);
            let config = from_load_balancer(&opened.connection, id, &options).await;
            match config {
                Ok(mut config) => {
                    session = Some(opened);
                    config.listen = args.listen;
                    config
                }
                Err(err) => {
                    opened.close().await;
                    return Err(err);
                }
            }
        }
        None => {
            let mut backends = Vec::new();
            for spec in &args.backends {
                backends.push(resolve_backend(spec).await?);
            }
            BalancerConfig {
                listen: args.listen,
                domains: args.domains.clone(),
                backends,
                ..Default::default()
            }
        }
    };
    if let Some(algorithm) = args.algorithm {
        config.algorithm = match algorithm {
            AlgorithmArg::RoundRobin => Algorithm::RoundRobin,
            AlgorithmArg::LeastConnections => Algorithm::LeastConnections,
            AlgorithmArg::SourceHash => Algorithm::SourceHash,
        };
    }
    if let Some(check) = &args.health_check {
        config.health_check = Some(check.clone());
    }
    if let Some(p) = args.proxy_protocol {
        config.proxy_protocol = Some(match p {
            ProxyArg::V1 => ProxyProtocol::V1,
            ProxyArg::V2 => ProxyProtocol::V2,
        });
    }
    if args.redirect_http.is_some() {
        config.redirect_http_listen = args.redirect_http;
    }
    config.allow_no_sni = args.allow_no_sni;
    config.max_connections = args.max_connections;
    config.allow_public_listen = args.listen_public;
    Ok((config, session))
}

pub async fn run(args: BalanceArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let json = global.json;
    let (config, session) = config_from_args(&args, global).await?;
    let handle = match start_balancer(config) {
        Ok(handle) => handle,
        Err(err) => {
            close(session).await;
            return Err(err);
        }
    };
    let limit = handle.connection_limit().clone();
    if let Some(note) = &limit.note {
        eprintln!("cutover: {note}");
    }
    // Subscribe before announcing the port, so no connection made after the line is missed.
    let mut events = handle.subscribe();
    let listen = handle.local_addr();
    let domains = handle.config().domains.clone();
    let first_domain = domains.first().cloned().unwrap_or_default();
    // Listen for Ctrl-C/SIGTERM before announcing: a script may signal as soon as it reads.
    let stop = crate::shutdown::stop_signal();
    output::print_json(&serde_json::json!({
        "listen": listen.to_string(),
        "redirectHttp": handle.redirect_addr().map(|a| a.to_string()),
        "domains": domains,
        "backends": handle.config().backends.iter().map(|b| b.addr.to_string()).collect::<Vec<_>>(),
        "try": format!("curl --connect-to {first_domain}:443:{}:{} https://{first_domain}/", listen.ip(), listen.port()),
        "maxConnections": limit.effective,
        "connectionLimit": limit,
    }));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => match event {
                Ok(event) => print_event(&event, json),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("cutover: {n} events were dropped (output too slow)");
                }
                Err(_) => break,
            },
        }
    }
    eprintln!(
        "cutover: stopping; letting open connections finish for up to {} s",
        args.drain_seconds
    );
    let stats = handle.stop(Duration::from_secs(args.drain_seconds)).await;
    close(session).await;
    print_final(&stats, json);
    Ok(ExitCode::SUCCESS)
}

async fn close(session: Option<Session>) {
    if let Some(session) = session {
        session.close().await;
    }
}

fn print_event(event: &BalancerEvent, json: bool) {
    if json {
        output::print_json(event);
        return;
    }
    match event {
        BalancerEvent::ConnectionOpened { .. } => {}
        BalancerEvent::ConnectionClosed(r) => eprintln!(
            "{} {} sni={} backend={} {:?} {:.0} ms in={} out={}",
            r.time,
            r.client,
            r.sni.as_deref().unwrap_or("-"),
            r.backend.as_deref().unwrap_or("-"),
            r.outcome,
            r.duration_ms,
            r.bytes_in,
            r.bytes_out
        ),
        BalancerEvent::BackendHealthChanged {
            time,
            backend,
            health,
            reason,
        } => eprintln!("{time} backend {backend} is now {health:?}: {reason}"),
    }
}

fn print_final(stats: &StatsSnapshot, json: bool) {
    if json {
        output::print_json(&serde_json::json!({ "stopped": true, "stats": stats }));
        return;
    }
    output::print_json(&serde_json::json!({ "stopped": true }));
    let rows: Vec<Vec<String>> = stats
        .backends
        .iter()
        .map(|b| {
            vec![
                b.name.clone(),
                format!("{:?}", b.health),
                b.total_connections.to_string(),
                b.connect_failures.to_string(),
                b.bytes_in.to_string(),
                b.bytes_out.to_string(),
                b.latency_avg_ms
                    .map(|l| format!("{l:.1}"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::print_table(
        &[
            "BACKEND",
            "HEALTH",
            "CONNECTIONS",
            "FAILED",
            "BYTES IN",
            "BYTES OUT",
            "AVG MS",
        ],
        &rows,
    );
    println!(
        "{} connections: {} relayed, {} refused",
        stats.total_connections, stats.relayed_connections, stats.refused_connections
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_public_listen_address_needs_listen_public() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            g: GlobalArgs,
            #[command(flatten)]
            b: BalanceArgs,
        }
        let args = |extra: &[&str]| {
            let mut argv = vec![
                "t",
                "--domain",
                "shop.test",
                "--backend",
                "127.0.0.1:9443",
                "--listen",
                "0.0.0.0:0",
            ];
            argv.extend_from_slice(extra);
            T::try_parse_from(argv).unwrap()
        };
        let t = args(&[]);
        let (config, _) = config_from_args(&t.b, &t.g).await.unwrap();
        let err = start_balancer(config)
            .err()
            .expect("refused without the flag");
        assert!(err.message.contains("--listen-public"), "{}", err.message);
        let t = args(&["--listen-public"]);
        let (config, _) = config_from_args(&t.b, &t.g).await.unwrap();
        assert!(config.allow_public_listen);
        assert!(config.validate().is_ok());
        // With --lb, core gets the addresses as given and the flag with them (it validates).
        let t = args(&["--listen-public", "--redirect-http", "0.0.0.0:8080"]);
        let options = rehearse_options(&t.b);
        assert_eq!(options.listen, Some("0.0.0.0:0".parse().unwrap()));
        assert_eq!(
            options.redirect_http_listen,
            Some("0.0.0.0:8080".parse().unwrap())
        );
        assert!(options.allow_public_listen);
        let t = args(&[]);
        assert_eq!(
            rehearse_options(&t.b).listen,
            Some("0.0.0.0:0".parse().unwrap())
        );
    }

    #[test]
    fn health_check_specs_parse() {
        assert_eq!(
            parse_health_check("tcp").unwrap().protocol,
            HealthCheckProtocol::Tcp
        );
        let c = parse_health_check("https:/healthz").unwrap();
        assert_eq!(
            (c.protocol, c.path.as_str()),
            (HealthCheckProtocol::Https, "/healthz")
        );
        assert!(parse_health_check("http:healthz").is_err());
        assert!(parse_health_check("udp").is_err());
    }

    #[tokio::test]
    async fn args_become_a_config() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            g: GlobalArgs,
            #[command(flatten)]
            b: BalanceArgs,
        }
        let t = T::try_parse_from([
            "t",
            "--domain",
            "shop.test",
            "--backend",
            "127.0.0.1:9443",
            "--listen",
            "127.0.0.1:0",
            "--algorithm",
            "source-hash",
            "--proxy-protocol",
            "v2",
            "--health-check",
            "http:/up",
        ])
        .unwrap();
        let (config, session) = config_from_args(&t.b, &t.g).await.unwrap();
        assert!(session.is_none(), "no account is needed without --lb");
        assert_eq!(config.backends[0].addr, "127.0.0.1:9443".parse().unwrap());
        assert_eq!(config.algorithm, Algorithm::SourceHash);
        assert_eq!(config.proxy_protocol, Some(ProxyProtocol::V2));
        assert_eq!(config.health_check.unwrap().path, "/up");
        assert!(!config.allow_public_listen);
        assert!(
            T::try_parse_from(["t", "--domain", "a.test"]).is_err(),
            "a backend or --lb is required"
        );
        assert!(
            T::try_parse_from(["t", "--lb", "x"]).is_ok(),
            "--lb alone is enough"
        );
    }
}
