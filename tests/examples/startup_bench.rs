//! Benchmark (not a test): time from launch to the load-balancer list rendered, and the app's
//! resident memory after a minute idle. Targets (issue 6): ≤ 1.5 s and ≤ 200 MB under Xvfb.
//!
//!     npm run --prefix ui build && cargo build --release --bin cutover-app
//!     CUTOVER_APP_BIN=target/release/cutover-app xvfb-run -a -s "-screen 0 1280x1024x24" \
//!       cargo run --release -p cutover-e2e --features e2e --example startup_bench
//!
//! Set `CUTOVER_BENCH_IDLE_SECS` to shorten the idle minute while trying it out.

use std::time::{Duration, Instant};

use cutover_e2e::{Journey, Result};

/// Resident memory of every process whose command line names `needle`, in KiB, by process.
fn rss_by_process(needle: &str) -> Vec<(u32, String, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(needle) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        out.push((pid, cmdline.chars().take(80).collect(), rss));
    }
    out
}

#[tokio::main]
async fn main() -> Result<()> {
    let idle = std::env::var("CUTOVER_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let started = Instant::now();
    let j = Journey::start("startup-bench", &[]).await?;
    let session = started.elapsed();
    // The app opens on the load-balancer list of its Sandbox.
    j.wait_for_within(
        "main[data-view='load-balancers'] tbody tr",
        Duration::from_secs(30),
    )
    .await?;
    let rendered = started.elapsed();
    println!(
        "launch → WebDriver session:        {:>7.0} ms",
        session.as_secs_f64() * 1000.0
    );
    println!(
        "launch → load-balancer list shown: {:>7.0} ms   (target ≤ 1500 ms)",
        rendered.as_secs_f64() * 1000.0
    );

    tokio::time::sleep(Duration::from_secs(idle)).await;
    let app = rss_by_process("cutover-app");
    let webkit = rss_by_process("WebKitWebProcess");
    let network = rss_by_process("WebKitNetworkProcess");
    let kib = |v: &[(u32, String, u64)]| v.iter().map(|p| p.2).sum::<u64>();
    println!("after {idle} s idle:");
    println!(
        "  app process RSS:            {:>7.1} MB",
        kib(&app) as f64 / 1024.0
    );
    println!(
        "  WebKit web process RSS:     {:>7.1} MB",
        kib(&webkit) as f64 / 1024.0
    );
    println!(
        "  WebKit network process RSS: {:>7.1} MB",
        kib(&network) as f64 / 1024.0
    );
    println!(
        "  total:                      {:>7.1} MB   (target ≤ 200 MB)",
        (kib(&app) + kib(&webkit) + kib(&network)) as f64 / 1024.0
    );
    j.finish().await
}
