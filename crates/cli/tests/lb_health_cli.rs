//! `cutover lb health` and `cutover lb metrics` against the Sandbox the binary starts when no
//! token is set: web-3 of the shop load balancer fails DigitalOcean's health checks there.

mod support;

use std::time::{Duration, Instant};

use support::{cutover, run};

#[test]
fn health_shows_each_droplet_and_exits_1_when_one_is_unhealthy() {
    let (code, json, stderr) = run(cutover().args(["--json", "lb", "health", "shop-passthrough"]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json["lbName"], "shop-passthrough");
    assert_eq!(json["allHealthy"], false);
    let droplets = json["droplets"].as_array().expect("droplets");
    assert_eq!(droplets.len(), 3);
    let state = |name: &str| {
        droplets
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["state"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state("web-1").as_deref(), Some("healthy"));
    assert_eq!(state("web-3").as_deref(), Some("unhealthy"));
    assert!(json["unmapped"].as_array().unwrap().is_empty());

    // For people: a table with the verdicts and numbers.
    let out = cutover()
        .args(["lb", "health", "shop-passthrough"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 of 3 droplets healthy"), "{text}");
    assert!(text.contains("HEALTH"), "{text}");
    let web3 = text
        .lines()
        .find(|l| l.starts_with("web-3"))
        .expect("a web-3 row");
    assert!(web3.contains("unhealthy") && web3.contains("0%"), "{web3}");
    let web1 = text
        .lines()
        .find(|l| l.starts_with("web-1"))
        .expect("a web-1 row");
    assert!(web1.contains("healthy") && web1.contains("100%"), "{web1}");
}

#[test]
fn all_healthy_exits_0_and_wait_healthy_returns_at_once() {
    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "health",
        "blog-https",
        "--wait-healthy",
        "--timeout",
        "30",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["allHealthy"], true);
    assert_eq!(json["timedOut"], false);
}

#[test]
fn wait_healthy_times_out_with_exit_1_on_the_unhealthy_droplet() {
    let started = Instant::now();
    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "health",
        "shop-passthrough",
        "--wait-healthy",
        "--timeout",
        "2",
        "--interval",
        "1",
    ]));
    let took = started.elapsed();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json["timedOut"], true);
    assert!(json["waitedSeconds"].as_u64().unwrap() >= 2);
    // It waited for the timeout (an upper bound would be a timed assertion on a shared machine;
    // the JSON's waitedSeconds says it stopped at the timeout).
    assert!(took >= Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_missing_load_balancer_is_an_error_not_a_verdict() {
    let (code, json, _) = run(cutover().args(["--json", "lb", "health", "no-such-lb"]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "not_found");
}

#[test]
fn metrics_prints_series_as_json_and_as_sparklines() {
    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "metrics",
        "shop-passthrough",
        "--series",
        "frontend_http_requests_per_second,droplets_health_checks",
        "--window",
        "24h",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["window"], "24h");
    let graphs = json["graphs"].as_array().unwrap();
    assert_eq!(graphs.len(), 2);
    assert_eq!(graphs[0]["series"], "frontend_http_requests_per_second");
    assert!(graphs[0]["x"].as_array().unwrap().len() <= 300);
    assert_eq!(graphs[1]["lines"].as_array().unwrap().len(), 3);

    let out = cutover()
        .args([
            "lb",
            "metrics",
            "shop-passthrough",
            "--series",
            "frontend_cpu_utilization",
            "--since",
            "1h",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CPU (frontend_cpu_utilization"), "{text}");
    assert!(text.chars().any(|c| ('▁'..='█').contains(&c)), "{text}");

    // A series it does not have: refused, exit 2.
    let (code, json, _) = run(cutover().args([
        "--json",
        "lb",
        "metrics",
        "shop-passthrough",
        "--series",
        "frontend_firewall_dropped_bytes",
    ]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "invalid_input");
}
