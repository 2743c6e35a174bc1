//! `core::metrics` against an in-process Sandbox: DigitalOcean's verdict per droplet (web-3 of
//! the shop load balancer fails its health checks there) and chart-ready graphs whose cost does
//! not grow with the window.

use std::time::Duration;

use cutover_core::context::Connection;
use cutover_core::metrics::{self, HealthState, MetricsWindow, MAX_POINTS};
use cutover_core::ErrorCode;
use cutover_sandbox::{Sandbox, SandboxOptions, LB_SHOP_ID, WEB_1, WEB_3};

async fn sandbox() -> cutover_sandbox::SandboxHandle {
    Sandbox::start(SandboxOptions {
        activation_delay: Duration::ZERO,
        busy_window: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn droplet_health_names_web_3_unhealthy_and_the_others_healthy() {
    cutover_core::init_tls();
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    // By name, as the CLI takes it.
    let report = metrics::droplet_health(&conn, "shop-passthrough", MetricsWindow::Hour)
        .await
        .unwrap();
    assert_eq!(report.lb_id, LB_SHOP_ID);
    assert_eq!(report.droplets.len(), 3);
    assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
    assert!(!report.all_healthy);
    for d in &report.droplets {
        if d.droplet_id == WEB_3 {
            assert_eq!(d.state, HealthState::Unhealthy, "{d:?}");
            assert_eq!(d.pass_ratio, Some(0.0));
            // Down the whole hour (give or take the first sample's alignment).
            let down = d.downtime_seconds.unwrap();
            assert!((3300.0..=3600.0).contains(&down), "{down}");
            assert_eq!(d.connections, Some(0.0));
            // It answers nothing: NaN samples are gaps, so no p95.
            assert_eq!(d.p95_response_seconds, None);
        } else {
            assert_eq!(d.state, HealthState::Healthy, "{d:?}");
            assert_eq!(d.pass_ratio, Some(1.0));
            assert_eq!(d.downtime_seconds, Some(0.0));
            assert!(d.p95_response_seconds.is_some_and(|s| s > 0.0 && s < 1.0));
        }
    }
    assert_eq!(report.count(HealthState::Unhealthy), 1);
    // The lb, the droplets, four series.
    assert_eq!(report.requests, 6);
    sb.shutdown().await;
}

#[tokio::test]
async fn graphs_are_chart_ready_and_bounded_for_every_window() {
    cutover_core::init_tls();
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    for window in MetricsWindow::ALL {
        let g = metrics::lb_graphs(&conn, LB_SHOP_ID, window, &[])
            .await
            .unwrap();
        assert!(!g.network_lb);
        assert!(g.graphs.len() >= 10);
        // One request per series, plus the load balancer and its droplets.
        assert_eq!(g.requests as usize, g.graphs.len() + 2);
        for graph in &g.graphs {
            assert!(graph.x.len() <= MAX_POINTS, "{} {window}", graph.series);
            assert!(!graph.x.is_empty());
            assert!(graph.x.windows(2).all(|w| w[0] < w[1]));
            assert!(!graph.lines.is_empty(), "{} {window}", graph.series);
            for line in &graph.lines {
                assert_eq!(line.y.len(), graph.x.len());
            }
        }
    }
    let g = metrics::lb_graphs(
        &conn,
        LB_SHOP_ID,
        MetricsWindow::SixHours,
        &["droplets_health_checks".to_string()],
    )
    .await
    .unwrap();
    let health = &g.graphs[0];
    assert_eq!(health.title, "Health checks passing");
    assert_eq!(health.unmapped_lines, 0);
    let labels: Vec<&str> = health.lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["web-1", "web-2", "web-3"]);
    let web1 = health
        .lines
        .iter()
        .find(|l| l.droplet_id == Some(WEB_1))
        .unwrap();
    assert!(web1.y.iter().flatten().all(|v| *v == 1.0));
    let web3 = health
        .lines
        .iter()
        .find(|l| l.droplet_id == Some(WEB_3))
        .unwrap();
    assert!(web3.y.iter().flatten().all(|v| *v == 0.0));

    // A series the load balancer does not have is refused before anything is fetched.
    let err = metrics::lb_graphs(
        &conn,
        LB_SHOP_ID,
        MetricsWindow::Hour,
        &["frontend_nlb_tcp_network_throughput".to_string()],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    sb.shutdown().await;
}
