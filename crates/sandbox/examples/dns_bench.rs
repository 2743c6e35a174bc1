//! The Sandbox DNS server side by side: UDP vs TCP answer time, and how many queries after an
//! API update still see the old address (should be none: answers are read from the live state).
//!
//! Run: `cargo run --release -p cutover-sandbox --example dns_bench [-- QUERIES]`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cutover_sandbox::{Sandbox, SandboxOptions, DOMAIN};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;

fn resolver(addr: SocketAddr, protocol: Protocol) -> TokioResolver {
    let mut config = ResolverConfig::new();
    config.add_name_server(NameServerConfig::new(addr, protocol));
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.recursion_desired = false;
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build()
}

async fn first_a(r: &TokioResolver, name: &str) -> Option<String> {
    let lookup = r.lookup(name, RecordType::A).await.ok()?;
    lookup.record_iter().find_map(|rec| match rec.data() {
        RData::A(a) => Some(a.0.to_string()),
        _ => None,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn measure(r: &TokioResolver, name: &str, n: usize) -> (Duration, Duration, f64) {
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let _ = first_a(r, name).await;
        times.push(t.elapsed());
    }
    let qps = n as f64 / start.elapsed().as_secs_f64();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), qps)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let sb = Sandbox::start(SandboxOptions::default()).await?;
    let addr = sb.dns_addr();
    let apex = format!("{DOMAIN}.");
    let www = format!("www.{DOMAIN}.");
    let udp = resolver(addr, Protocol::Udp);
    let tcp = resolver(addr, Protocol::Tcp);
    // Warm up both paths.
    let _ = measure(&udp, &apex, 50).await;
    let _ = measure(&tcp, &apex, 50).await;

    println!("Sandbox DNS at {addr}, {n} sequential queries each");
    let (u50, u99, uqps) = measure(&udp, &apex, n).await;
    let (t50, t99, tqps) = measure(&tcp, &apex, n).await;
    let (c50, c99, cqps) = measure(&udp, &www, n).await;
    println!("{:<22} {:>10} {:>10} {:>10}", "", "p50", "p99", "q/s");
    for (label, p50, p99, qps) in [
        ("UDP A apex", u50, u99, uqps),
        ("TCP A apex", t50, t99, tqps),
        ("UDP A www (CNAME)", c50, c99, cqps),
    ] {
        println!("{label:<22} {:>10.3?} {:>10.3?} {:>10.0}", p50, p99, qps);
    }
    println!(
        "ratios: TCP/UDP p50 {:.2}, CNAME/A p50 {:.2}",
        t50.as_secs_f64() / u50.as_secs_f64(),
        c50.as_secs_f64() / u50.as_secs_f64()
    );

    // Staleness after an API update: queries right after the PUT that still see the old address.
    let http = reqwest::Client::new();
    let base = sb.api_base();
    let records: serde_json::Value = http
        .get(format!("{base}/v2/domains/{DOMAIN}/records"))
        .bearer_auth(sb.token())
        .send()
        .await?
        .json()
        .await?;
    let id = records["domain_records"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == "A" && r["name"] == "@"))
        .and_then(|r| r["id"].as_u64())
        .ok_or("no apex A record")?;
    let mut stale = 0;
    let rounds = 100;
    for i in 0..rounds {
        let ip = format!("127.0.9.{}", 1 + i % 250);
        let t = Instant::now();
        http.put(format!("{base}/v2/domains/{DOMAIN}/records/{id}"))
            .bearer_auth(sb.token())
            .json(&serde_json::json!({ "data": ip }))
            .send()
            .await?
            .error_for_status()?;
        let put = t.elapsed();
        if first_a(&udp, &apex).await.as_deref() != Some(ip.as_str()) {
            stale += 1;
        }
        if i == 0 {
            println!("one API PUT: {put:.3?}");
        }
    }
    println!("after {rounds} API updates, the very next query saw the old address {stale} time(s)");
    sb.shutdown().await;
    Ok(())
}
