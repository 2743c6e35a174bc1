//! 200 loopback TLS backends probed in one call (bounded concurrency) beside the same probes run
//! one after another. Prints wall times, the ratio and the time per handshake.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-certs cargo bench -p cutover-certs --bench probe_fleet`
//! (optional env: BACKENDS=200 CONCURRENCY=32 ROUNDS=3 DELAY_MS=20).
//!
//! Two scenarios: pure loopback, where a handshake is pure CPU and two cores bound the win, and
//! loopback with the servers waiting DELAY_MS before answering, a stand-in for the WAN round
//! trip to real droplets, where concurrency is what matters.
//!
//! Each probe is two TLS handshakes (with SNI, and without SNI for the default certificate) plus
//! webpki verification against three trust stores. Servers and prober share this machine's cores,
//! so the absolute numbers include the servers' work too.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cutover_certs::{build_report, probe_all, ProbeOptions, ProbeTarget};
use futures::StreamExt;
use support::{tls_server, Pki, TlsSpec};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(
    targets: &[ProbeTarget],
    opts: &ProbeOptions,
    concurrency: usize,
) -> (Duration, usize) {
    let started = Instant::now();
    let reports: Vec<_> = probe_all(targets.to_vec(), opts.clone(), concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failed = reports.iter().filter(|r| r.probe.failure.is_some()).count();
    let report = build_report("bench.example.test", reports);
    assert_eq!(report.backends.len(), targets.len());
    (elapsed, failed)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One scenario: `backends` servers answering after `delay`, probed both ways `rounds` times.
async fn scenario(name: &str, backends: usize, concurrency: usize, rounds: usize, delay: Duration) {
    let pki = Pki::new("Bench");
    let leaf = pki.leaf(&["bench.example.test"], -1, 89);
    let mut targets = Vec::with_capacity(backends);
    for i in 0..backends {
        let mut spec = TlsSpec::new(pki.full_chain(&leaf), &leaf.key);
        spec.delay = delay;
        let addr = tls_server(spec).await;
        targets.push(ProbeTarget {
            label: format!("web-{i}"),
            addr,
            display_host: addr.to_string(),
            sni: Some("bench.example.test".into()),
        });
    }
    let opts = ProbeOptions {
        extra_roots_pem: Some(pki.root_pem()),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    // Warm-up: loads the OS root store once and faults in code paths.
    let _ = run(&targets[..backends.min(8)], &opts, 8).await;

    println!(
        "\n== {name}: {backends} backends, server delay {} ms, 2 handshakes per probe, concurrency {concurrency}",
        delay.as_millis()
    );
    let mut seqs = Vec::new();
    let mut concs = Vec::new();
    for round in 1..=rounds {
        let (seq, seq_failed) = run(&targets, &opts, 1).await;
        let (conc, conc_failed) = run(&targets, &opts, concurrency).await;
        println!(
            "round {round}: one after another {:>8.1} ms ({seq_failed} failed) | probe_all {:>8.1} ms ({conc_failed} failed) | ratio {:.2}x",
            seq.as_secs_f64() * 1e3,
            conc.as_secs_f64() * 1e3,
            seq.as_secs_f64() / conc.as_secs_f64()
        );
        seqs.push(seq);
        concs.push(conc);
    }
    let (seq, conc) = (median(seqs), median(concs));
    let probes = backends as f64;
    println!(
        "median: one after another {:.1} ms, probe_all {:.1} ms, speed-up {:.2}x",
        seq.as_secs_f64() * 1e3,
        conc.as_secs_f64() * 1e3,
        seq.as_secs_f64() / conc.as_secs_f64()
    );
    println!(
        "per backend (2 handshakes + verification): {:.3} ms one after another, {:.3} ms of wall time in probe_all ({:.0} handshakes/s)",
        seq.as_secs_f64() * 1e3 / probes,
        conc.as_secs_f64() * 1e3 / probes,
        2.0 * probes / conc.as_secs_f64()
    );
}

fn main() {
    let backends = env("BACKENDS", 200);
    let concurrency = env("CONCURRENCY", 32);
    let rounds = env("ROUNDS", 3);
    let delay_ms = env("DELAY_MS", 20) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "probe_fleet on {} cores (servers run in the same process)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    rt.block_on(async {
        scenario(
            "loopback, CPU-bound",
            backends,
            concurrency,
            rounds,
            Duration::ZERO,
        )
        .await;
        scenario(
            "loopback + simulated WAN delay",
            backends,
            concurrency,
            rounds,
            Duration::from_millis(delay_ms),
        )
        .await;
    });
}
