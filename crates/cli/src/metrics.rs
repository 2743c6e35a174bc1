//! `cutover lb health` and `cutover lb metrics`: what DigitalOcean's load balancer sees of its
//! droplets, and its graphs, from the monitoring API (the token needs `monitoring:read`).
//!
//! `lb health LB --wait-healthy` is what deploy scripts ask doctl for (doctl #1335): wait until
//! the load balancer finds every droplet healthy (exit 0), or give up after `--timeout` (exit 1).
//!
//! The other `lb` subcommands live in `crate::lb`; [`LbCli`] puts these two beside them.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cutover_core::metrics::{
    self, DropletHealthReport, Graph, HealthState, LbGraphs, MetricUnit, MetricsWindow,
};
use cutover_core::session::Session;
use cutover_core::ApiError;

use crate::output::{print_table, terminal_safe, Output};
use crate::GlobalArgs;

/// `cutover lb …`: the management subcommands and the monitoring ones.
#[derive(Debug, clap::Subcommand)]
pub enum LbCli {
    /// Each droplet's health as the load balancer sees it (DigitalOcean's health checks):
    /// exit 0 when all are healthy, 1 when not.
    Health(HealthArgs),
    /// A metric series of a load balancer over a window, as sparklines or `--json`.
    Metrics(MetricsArgs),
    #[command(flatten)]
    Manage(crate::lb::LbCommand),
}

fn parse_window(s: &str) -> Result<MetricsWindow, String> {
    s.parse::<MetricsWindow>().map_err(|e| e.message)
}

#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The load balancer (id, or unique name).
    pub lb: String,
    /// The window the pass ratio and downtime cover: 1h, 6h, 24h or 7d.
    #[arg(long, default_value = "1h", value_parser = parse_window)]
    pub window: MetricsWindow,
    /// Wait until every droplet is healthy (exit 0), or until --timeout (exit 1).
    #[arg(long)]
    pub wait_healthy: bool,
    /// How long --wait-healthy waits.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 600,
        requires = "wait_healthy"
    )]
    pub timeout: u64,
    /// Seconds between checks while waiting (DigitalOcean samples about every two minutes;
    /// each check costs a few requests of the rate limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "wait_healthy",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// The load balancer (id, or unique name).
    pub lb: String,
    /// The series, e.g. frontend_http_requests_per_second or droplets_health_checks; repeat or
    /// separate with commas for more. Without it: the default set for the load balancer's type.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub series: Vec<String>,
    /// 1h, 6h, 24h or 7d, ending now.
    #[arg(long, visible_alias = "since", default_value = "6h", value_parser = parse_window)]
    pub window: MetricsWindow,
}

/// `cutover lb …`.
pub async fn run_lb(command: LbCli, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    match command {
        LbCli::Manage(command) => crate::lb::run_lb(command, global).await,
        LbCli::Health(args) => health(args, global).await,
        LbCli::Metrics(args) => metrics_cmd(args, global).await,
    }
}

async fn health(args: HealthArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let out = Output::from_global(global);
    crate::session::with(global, async move |session: &Session| {
        let conn = &session.connection;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(args.timeout);
        loop {
            let report = metrics::droplet_health(conn, &args.lb, args.window).await?;
            let done = report.all_healthy;
            let timed_out = args.wait_healthy && !done && Instant::now() >= deadline;
            if !args.wait_healthy || done || timed_out {
                let mut value = serde_json::to_value(&report)
                    .map_err(|e| ApiError::internal(format!("could not encode the report: {e}")))?;
                if args.wait_healthy {
                    value["waitedSeconds"] = serde_json::json!(started.elapsed().as_secs());
                    value["timedOut"] = serde_json::json!(timed_out);
                }
                out.emit(&value, || print_health(&report));
                if timed_out {
                    out.say(&format!(
                        "Gave up after {} s waiting for every droplet to be healthy: {}.",
                        args.timeout,
                        not_healthy(&report)
                    ));
                } else if !done && !report.droplets.is_empty() {
                    // The one line a deploy log needs: which droplets, and what is wrong.
                    out.say(&format!("Not healthy: {}.", not_healthy(&report)));
                }
                return Ok(if done {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            out.progress_line(&format!(
                "waiting: {} of {} droplets healthy ({})",
                report.count(HealthState::Healthy),
                report.droplets.len(),
                not_healthy(&report)
            ));
            let left = deadline.saturating_duration_since(Instant::now());
            // Sleep to the next check, or to the deadline for one last look.
            tokio::time::sleep(left.min(Duration::from_secs(args.interval))).await;
        }
    })
    .await
}

/// "web-3 unhealthy, web-4 unknown".
fn not_healthy(report: &DropletHealthReport) -> String {
    report
        .droplets
        .iter()
        .filter(|d| d.state != HealthState::Healthy)
        .map(|d| format!("{} {}", terminal_safe(&d.name), d.state.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_health(report: &DropletHealthReport) {
    let out = Output::new(false, false);
    out.say(&format!(
        "{} ({}): {} of {} droplets healthy by DigitalOcean's health checks (last {}).",
        report.lb_name,
        report.lb_id,
        report.count(HealthState::Healthy),
        report.droplets.len(),
        report.window
    ));
    if report.droplets.is_empty() {
        out.say("No droplets are behind it.");
    } else {
        let rows: Vec<Vec<String>> = report
            .droplets
            .iter()
            .map(|d| {
                vec![
                    d.name.clone(),
                    d.droplet_id.to_string(),
                    d.ip.clone().unwrap_or_default(),
                    d.state.as_str().to_string(),
                    d.pass_ratio
                        .map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
                    d.downtime_seconds.map_or("-".into(), duration),
                    d.connections.map_or("-".into(), |c| format!("{c:.0}")),
                    d.p95_response_seconds
                        .map_or("-".into(), |s| value(s, MetricUnit::Seconds)),
                ]
            })
            .collect();
        print_table(
            &[
                "DROPLET",
                "ID",
                "IP",
                "HEALTH",
                "CHECKS PASSED",
                "DOWNTIME",
                "CONNECTIONS",
                "P95",
            ],
            &rows,
        );
    }
    if !report.unmapped.is_empty() {
        out.say(&format!(
            "{} series could not be matched to a droplet of it:",
            report.unmapped.len()
        ));
        for u in &report.unmapped {
            let labels: Vec<String> = u.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.say(&format!(
                "  {} {{{}}}: {}",
                u.series,
                labels.join(", "),
                u.reason
            ));
        }
    }
}

async fn metrics_cmd(args: MetricsArgs, global: &GlobalArgs) -> Result<ExitCode, ApiError> {
    let out = Output::from_global(global);
    crate::session::with(global, async move |session: &Session| {
        let graphs =
            metrics::lb_graphs(&session.connection, &args.lb, args.window, &args.series).await?;
        out.emit(&graphs, || print_graphs(&graphs));
        Ok(ExitCode::SUCCESS)
    })
    .await
}

fn print_graphs(graphs: &LbGraphs) {
    let out = Output::new(false, false);
    out.say(&format!(
        "{} ({}), last {}{}:",
        graphs.lb_name,
        graphs.lb_id,
        graphs.window,
        if graphs.network_lb {
            ", network load balancer"
        } else {
            ""
        }
    ));
    for g in &graphs.graphs {
        out.say("");
        out.say(&format!(
            "{} ({}, every {})",
            g.title,
            g.series,
            duration(g.step_seconds)
        ));
        if g.lines.is_empty() {
            out.say("  no data in this window");
            continue;
        }
        print_table(&["LINE", "MIN", "AVG", "MAX", "LAST", ""], &graph_rows(g));
    }
}

fn graph_rows(g: &Graph) -> Vec<Vec<String>> {
    g.lines
        .iter()
        .map(|line| {
            let values: Vec<f64> = line.y.iter().flatten().copied().collect();
            let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| value(v, g.unit));
            let min = values.iter().copied().reduce(f64::min);
            let max = values.iter().copied().reduce(f64::max);
            let avg =
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
            let last = line.y.iter().rev().flatten().next().copied();
            vec![
                line.label.clone(),
                fmt(min),
                fmt(avg),
                fmt(max),
                fmt(last),
                sparkline(&line.y, 40),
            ]
        })
        .collect()
}

/// The line in `width` characters of ▁…█ (a gap is a space), scaled from its own min to max.
pub fn sparkline(y: &[Option<f64>], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if y.is_empty() || width == 0 {
        return String::new();
    }
    let cells = width.min(y.len());
    let per = y.len() as f64 / cells as f64;
    let mean = |i: usize| {
        let from = (i as f64 * per) as usize;
        let to = (((i + 1) as f64 * per) as usize).clamp(from + 1, y.len());
        let vals: Vec<f64> = y[from..to].iter().flatten().copied().collect();
        (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
    };
    let points: Vec<Option<f64>> = (0..cells).map(mean).collect();
    let finite = points.iter().flatten();
    let lo = finite.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.copied().fold(f64::NEG_INFINITY, f64::max);
    points
        .iter()
        .map(|p| match p {
            None => ' ',
            Some(v) if hi > lo => {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
            // A flat line sits at the bottom when it is zero, else in the middle.
            Some(v) if *v == 0.0 => BARS[0],
            Some(_) => BARS[3],
        })
        .collect()
}

/// Seconds as people read them: 45s, 12m, 3h 5m.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// A value in its unit, short.
fn value(v: f64, unit: MetricUnit) -> String {
    let compact = |v: f64| {
        let a = v.abs();
        if a >= 1e9 {
            format!("{:.1}G", v / 1e9)
        } else if a >= 1e6 {
            format!("{:.1}M", v / 1e6)
        } else if a >= 1e4 {
            format!("{:.1}k", v / 1e3)
        } else if a >= 100.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    match unit {
        MetricUnit::Status => format!("{v:.2}"),
        MetricUnit::Count => compact(v),
        MetricUnit::PerSecond => format!("{}/s", compact(v)),
        MetricUnit::BytesPerSecond => format!("{}B/s", compact(v)),
        MetricUnit::Bytes => format!("{}B", compact(v)),
        MetricUnit::Percent => format!("{v:.1}%"),
        MetricUnit::Seconds if v < 1.0 => format!("{:.0} ms", v * 1000.0),
        MetricUnit::Seconds => format!("{v:.2} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_show_shape_and_gaps() {
        let y = [Some(0.0), Some(1.0), None, Some(2.0)];
        assert_eq!(sparkline(&y, 40), "▁▅ █");
        assert_eq!(sparkline(&[Some(0.0); 3], 40), "▁▁▁");
        assert_eq!(sparkline(&[Some(5.0); 3], 40), "▄▄▄");
        let long: Vec<Option<f64>> = (0..300).map(|i| Some(i as f64)).collect();
        let s = sparkline(&long, 40);
        assert_eq!(s.chars().count(), 40);
        assert!(s.starts_with('▁') && s.ends_with('█'), "{s}");
    }

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(value(0.045, MetricUnit::Seconds), "45 ms");
        assert_eq!(value(1_500_000.0, MetricUnit::BytesPerSecond), "1.5MB/s");
        assert_eq!(value(12.0, MetricUnit::Count), "12");
        assert_eq!(value(37.25, MetricUnit::Percent), "37.2%");
        assert_eq!(duration(600.0), "10m");
        assert_eq!(duration(3700.0), "61m");
        assert_eq!(duration(7500.0), "2h 5m");
    }
}
