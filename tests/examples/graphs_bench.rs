//! Benchmark (not a test), issue 17: the load balancer's Graphs tab for 24 h on a Sandbox.
//! Prints side by side:
//! - fetched and drawn: from the IPC answer parsed to the frame after every chart in view has
//!   drawn it (the others are drawn when scrolled to; measured in the page: the Graphs tab's `lb-graphs-drawn` measure / `data-drawn-ms`), and
//!   the request before it (`data-fetch-ms`), on the first open (uPlot loaded, charts made) and
//!   on a refresh (data set in place). Goal: drawn within 1 s of the answer.
//! - requests per refresh: the monitoring requests the Sandbox answered (it counts them) against
//!   the series shown, and the app's own count of every API request. Goal: one per series.
//! - memory: the app and the processes it spawned (WebKit's web and network processes), RSS and
//!   private pages from /proc, after a minute on the load-balancer list, a minute on the load
//!   balancer's detail (its Overview tab: the cost of opening one without graphs) and a minute on
//!   the Graphs tab. Goal: Graphs within 10 MB of the list.
//!
//! All of it twice in one run, each in a fresh app: as shipped (layers and 2D canvases painted on
//! the CPU) and with WebKit's defaults (`CUTOVER_GPU_RENDERING=1 CUTOVER_CANVAS_ACCELERATION=1`:
//! GPU painting and accelerated canvases, on Mesa's software GL under Xvfb), to show what each costs.
//! `CUTOVER_BENCH_OTHER_ENV="NAME=value …"` gives the second app another environment instead, to
//! try a setting side by side with the shipped one.
//!
//! Run it with the keyring unlocked as for the journeys (it adds its Sandbox as an account):
//!
//!     npm run --prefix ui build && cargo build --bin cutover-app
//!     dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24" \
//!       cargo run -p cutover-e2e --features e2e --example graphs_bench
//!
//! `CUTOVER_APP_BIN` picks another build (a release one); `CUTOVER_BENCH_IDLE_SECS` shortens the
//! minutes while trying it out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cutover_e2e::{Journey, Result};
use fantoccini::Locator;

/// (pid, parent pid, command line) of every process.
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: the fields start after it.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        out.push((
            pid,
            ppid,
            String::from_utf8_lossy(&cmdline).replace('\0', " "),
        ));
    }
    out
}

/// The app's process and every process below it.
fn app_tree() -> Result<Vec<(u32, String)>> {
    let all = processes();
    let mut children: HashMap<u32, Vec<&(u32, u32, String)>> = HashMap::new();
    for p in &all {
        children.entry(p.1).or_default().push(p);
    }
    // The app runs below this benchmark (through tauri-driver and WebKitWebDriver).
    let mut below = Vec::new();
    let mut stack = vec![std::process::id()];
    while let Some(pid) = stack.pop() {
        for p in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            stack.push(p.0);
            below.push(*p);
        }
    }
    let app = below
        .iter()
        .find(|p| p.2.contains("cutover-app"))
        .ok_or("the app's process was not found below the benchmark")?;
    let mut tree = vec![(app.0, app.2.clone())];
    let mut stack = vec![app.0];
    while let Some(pid) = stack.pop() {
        for p in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            stack.push(p.0);
            tree.push((p.0, p.2.clone()));
        }
    }
    Ok(tree)
}

/// (RSS, private) of one process in KiB, from /proc/<pid>/smaps_rollup.
fn memory_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let (mut rss, mut private) = (0, 0);
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(key), Some(kib)) = (
            words.next(),
            words.next().and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        match key {
            "Rss:" => rss += kib,
            "Private_Clean:" | "Private_Dirty:" => private += kib,
            _ => {}
        }
    }
    (rss, private)
}

/// Per process (short name, RSS, private) in MB, then the sums of RSS and private.
type Usage = (Vec<(String, f64, f64)>, f64, f64);

/// The app's [`Usage`] now. With `CUTOVER_BENCH_SMAPS_DIR` set, each process's
/// /proc/<pid>/smaps is copied there as `<point>-<process>.smaps`, to see which mappings grew.
fn memory(point: &str) -> Result<Usage> {
    let mut rows = Vec::new();
    let (mut rss, mut private) = (0.0, 0.0);
    let smaps_dir = std::env::var_os("CUTOVER_BENCH_SMAPS_DIR").map(std::path::PathBuf::from);
    for (pid, cmdline) in app_tree()? {
        if let Some(dir) = &smaps_dir {
            let exe = cmdline.split_whitespace().next().unwrap_or("?");
            let exe = exe.rsplit('/').next().unwrap_or(exe);
            let _ = std::fs::copy(
                format!("/proc/{pid}/smaps"),
                dir.join(format!("{point}-{exe}-{pid}.smaps")),
            );
        }
        let (r, p) = memory_kib(pid);
        let name = cmdline
            .split_whitespace()
            .next()
            .and_then(|exe| exe.rsplit('/').next())
            .unwrap_or("?")
            .to_string();
        rows.push((name, r as f64 / 1024.0, p as f64 / 1024.0));
        rss += r as f64 / 1024.0;
        private += p as f64 / 1024.0;
    }
    Ok((rows, rss, private))
}

async fn attr(j: &Journey, css: &str, name: &str) -> Result<String> {
    Ok(j.wait_for(css).await?.attr(name).await?.unwrap_or_default())
}

/// Waits for the Graphs tab's next drawn answer: (fetch ms, drawn ms).
async fn drawn(j: &Journey) -> Result<(f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let graphs = "[data-testid='lb-graphs']";
    loop {
        let ms = attr(j, graphs, "data-drawn-ms").await?;
        if let Ok(drawn) = ms.parse::<f64>() {
            let fetch = attr(j, graphs, "data-fetch-ms")
                .await?
                .parse()
                .unwrap_or(f64::NAN);
            return Ok((fetch, drawn));
        }
        if Instant::now() > deadline {
            return Err("the graphs were never drawn".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One app's figures.
struct Figures {
    series: usize,
    first: (f64, f64),
    refresh: (f64, f64),
    first_requests: u64,
    refresh_requests: u64,
    api_requests: String,
    list: Usage,
    detail: Usage,
    graphs: Usage,
}

/// Opens the Graphs tab in a fresh app started with `env`, against `sandbox`.
async fn run(
    name: &str,
    env: &[(&str, String)],
    sandbox: &cutover_sandbox::SandboxHandle,
    idle: u64,
) -> Result<Figures> {
    let j = Journey::start(name, env).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("bench", sandbox).await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for("tr[data-lb='blog-https']").await?;

    tokio::time::sleep(Duration::from_secs(idle)).await;
    let list = memory(&format!("{name}-list"))?;

    j.click("tr[data-lb='blog-https'] button.link").await?;
    j.wait_for("[data-testid='lb-detail'][data-lb='blog-https']")
        .await?;
    // The detail on its first tab: what opening a load balancer costs without any graph.
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let detail = memory(&format!("{name}-detail"))?;
    let before = sandbox.monitoring_requests();
    j.click("[data-tab='graphs']").await?;
    j.wait_for("[data-testid='lb-graphs-window']")
        .await?
        .select_by_value("24h")
        .await?;
    let first = drawn(&j).await?;
    let first_requests = sandbox.monitoring_requests() - before;
    let series = j
        .client
        .find_all(Locator::Css("[data-testid='lb-graph']"))
        .await?
        .len();
    let api_requests = attr(&j, "[data-testid='lb-graphs']", "data-requests").await?;

    let before = sandbox.monitoring_requests();
    j.click("[data-testid='lb-graphs-refresh']").await?;
    // The click clears the figure before the request: wait for the new one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refresh = drawn(&j).await?;
    let refresh_requests = sandbox.monitoring_requests() - before;

    tokio::time::sleep(Duration::from_secs(idle)).await;
    let graphs = memory(&format!("{name}-graphs"))?;
    j.finish().await?;
    Ok(Figures {
        series,
        first,
        refresh,
        first_requests,
        refresh_requests,
        api_requests,
        list,
        detail,
        graphs,
    })
}

fn print(label: &str, f: &Figures, idle: u64) {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let Figures {
        series,
        first: (first_fetch, first_drawn),
        refresh: (refresh_fetch, refresh_drawn),
        first_requests,
        refresh_requests,
        api_requests,
        ..
    } = f;
    println!(
        "{label}: Graphs tab of blog-https, 24 h, {series} series (debug or release: see CUTOVER_APP_BIN)"
    );
    println!();
    println!("                                     first open    refresh");
    println!("request → answer parsed (ms)         {first_fetch:>10.0} {refresh_fetch:>10.0}");
    println!(
        "answer parsed → drawn, next frame    {first_drawn:>10.0} {refresh_drawn:>10.0}   (goal ≤ 1000 ms: {})",
        verdict(first_drawn.max(*refresh_drawn) <= 1000.0)
    );
    println!(
        "monitoring requests                  {first_requests:>10} {refresh_requests:>10}   (series shown: {series}; goal one per series: {})",
        verdict(*first_requests as usize == *series && *refresh_requests as usize == *series)
    );
    println!("all API requests of one refresh      {api_requests:>10}              (the load balancer, its droplets, the series)");
    println!();
    let (list_rows, list_rss, list_private) = &f.list;
    let (detail_rows, detail_rss, detail_private) = &f.detail;
    let (graph_rows, graph_rss, graph_private) = &f.graphs;
    println!("memory after {idle} s (MB)            on the list  detail (Overview)  on Graphs");
    for (((name, rss, private), (_, rss1, private1)), (_, rss2, private2)) in
        list_rows.iter().zip(detail_rows).zip(graph_rows)
    {
        println!("  {name:<24} RSS      {rss:>10.1} {rss1:>10.1} {rss2:>10.1}");
        println!(
            "  {:<24} private  {private:>10.1} {private1:>10.1} {private2:>10.1}",
            ""
        );
    }
    println!(
        "  sum                      RSS      {list_rss:>10.1} {detail_rss:>10.1} {graph_rss:>10.1}"
    );
    println!(
        "  sum                      private  {list_private:>10.1} {detail_private:>10.1} {graph_private:>10.1}"
    );
    println!(
        "Graphs vs the list: RSS {:+.1} MB, private {:+.1} MB (goal within 10 MB: {}); Graphs vs the detail's Overview: RSS {:+.1} MB",
        graph_rss - list_rss,
        graph_private - list_private,
        verdict(graph_rss - list_rss <= 10.0),
        graph_rss - detail_rss
    );
    println!();
}

/// The second app's label and environment: CUTOVER_BENCH_OTHER_ENV, or WebKit's own defaults.
fn other_env() -> (String, Vec<(String, String)>) {
    match std::env::var("CUTOVER_BENCH_OTHER_ENV") {
        Ok(spec) if !spec.trim().is_empty() => {
            let env = spec
                .split_whitespace()
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (format!("With {spec}"), env)
        }
        _ => (
            "With WebKit's defaults (CUTOVER_GPU_RENDERING=1 CUTOVER_CANVAS_ACCELERATION=1)".into(),
            vec![
                ("CUTOVER_GPU_RENDERING".into(), "1".into()),
                ("CUTOVER_CANVAS_ACCELERATION".into(), "1".into()),
            ],
        ),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let idle: u64 = std::env::var("CUTOVER_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    // The benchmark's own Sandbox, added as an account, so its request counter can be read.
    let sandbox = cutover_e2e::start_sandbox().await?;
    let shipped = run("graphs-bench", &[], &sandbox, idle).await?;
    // The other app: WebKit's defaults, or the environment given in CUTOVER_BENCH_OTHER_ENV
    // ("NAME=value NAME2=value2"), to try a setting side by side with the shipped one.
    let (other_label, other_env) = other_env();
    let env: Vec<(&str, String)> = other_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let other = run("graphs-bench-other", &env, &sandbox, idle).await?;
    sandbox.shutdown().await;

    print("As shipped (painted on the CPU)", &shipped, idle);
    print(&other_label, &other, idle);
    println!("                                 as shipped      the other ({other_label})");
    for (what, a, b) in [
        (
            "RSS: Graphs − list (MB)",
            shipped.graphs.1 - shipped.list.1,
            other.graphs.1 - other.list.1,
        ),
        (
            "private: Graphs − list (MB)",
            shipped.graphs.2 - shipped.list.2,
            other.graphs.2 - other.list.2,
        ),
        (
            "RSS: Graphs − detail (MB)",
            shipped.graphs.1 - shipped.detail.1,
            other.graphs.1 - other.detail.1,
        ),
        (
            "answer → drawn, first open (ms)",
            shipped.first.1,
            other.first.1,
        ),
        (
            "answer → drawn, refresh (ms)",
            shipped.refresh.1,
            other.refresh.1,
        ),
    ] {
        println!("{what:<32} {a:>10.1} {b:>20.1}");
    }
    Ok(())
}
