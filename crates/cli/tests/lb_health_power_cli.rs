//! `cutover lb health` against a standalone Sandbox whose droplets are powered off and on
//! (`cutover sandbox droplet stop|start`, which posts to `/_sandbox/droplets/{id}/power`): the
//! exit codes a deploy script relies on, and `--wait-healthy` returning once a stopped droplet
//! is started again mid-wait.
//!
//! blog-https has web-1 and web-2 behind it, both healthy until web-2 is stopped.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cutover, run, sandbox_http, standalone, Standalone};

const WEB_2: u64 = 510_000_102;

/// `cutover sandbox droplet stop|start NAME --json`, which must succeed: its one JSON document.
fn power(sb: &Standalone, name: &str, start: bool) -> Value {
    let verb = if start { "start" } else { "stop" };
    let (code, report, stderr) = run(on(sb).args(["--json", "sandbox", "droplet", verb, name]));
    assert_eq!(code, 0, "{verb} {name}: {stderr}");
    assert_eq!(report["name"], name, "{report}");
    assert_eq!(
        report["power"],
        if start { "on" } else { "off" },
        "{report}"
    );
    report
}

/// Monitoring requests the Sandbox has answered so far.
fn monitoring_requests(sb: &Standalone) -> u64 {
    let (status, body) = sandbox_http(sb, "GET", "/_sandbox/requests", "");
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    json["monitoring"].as_u64().unwrap()
}

/// `cutover` aimed at the standalone Sandbox.
fn on(sb: &Standalone) -> Command {
    let mut cmd = cutover();
    cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
        .args(["--api-base", &sb.api_base]);
    cmd
}

fn state_of(report: &Value, name: &str) -> String {
    report["droplets"]
        .as_array()
        .expect("droplets")
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["state"].as_str())
        .unwrap_or("missing")
        .to_string()
}

#[test]
fn a_stopped_droplet_exits_1_naming_it_and_wait_healthy_returns_once_it_is_started_again() {
    let sb = standalone();

    // All healthy: exit 0.
    let (code, report, stderr) = run(on(&sb).args(["--json", "lb", "health", "blog-https"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["allHealthy"], true);
    assert_eq!(state_of(&report, "web-2"), "healthy");

    // web-2 stopped through the CLI (by name): exit 1, and it is the one named.
    let stopped = power(&sb, "web-2", false);
    assert_eq!(stopped["id"], WEB_2);
    assert_eq!(stopped["status"], "off");
    assert_eq!(stopped["changed"], true);
    let (code, report, stderr) = run(on(&sb).args(["--json", "lb", "health", "blog-https"]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["allHealthy"], false);
    assert_eq!(state_of(&report, "web-2"), "unhealthy");
    assert_eq!(state_of(&report, "web-1"), "healthy");
    let out = on(&sb)
        .args(["lb", "health", "blog-https"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 of 2 droplets healthy"), "{text}");
    assert!(text.contains("Not healthy: web-2 unhealthy."), "{text}");
    assert!(!text.contains("web-1 unhealthy"), "{text}");

    // Waiting while web-2 is still stopped; started again once the wait has checked once.
    let before = monitoring_requests(&sb);
    let child = on(&sb)
        .args([
            "--json",
            "lb",
            "health",
            "blog-https",
            "--wait-healthy",
            "--timeout",
            "120",
            "--interval",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One check is four series (health checks, downtime, connections, p95).
    let deadline = Instant::now() + Duration::from_secs(60);
    while monitoring_requests(&sb) < before + 4 {
        assert!(Instant::now() < deadline, "the wait never checked");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its first check's answers are computed as they are counted; give them a moment.
    std::thread::sleep(Duration::from_millis(200));
    // Started by id, in plain text: the sentence a person reads.
    let started = on(&sb)
        .args(["sandbox", "droplet", "start", &WEB_2.to_string()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&started.stdout);
    assert_eq!(
        started.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert_eq!(
        said.trim(),
        format!("web-2 (id {WEB_2}) is on: its ports answer again.")
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["allHealthy"], true);
    assert_eq!(report["timedOut"], false);
    assert_eq!(state_of(&report, "web-2"), "healthy");
    // It did wait: a failed check, the interval, then the passing one.
    assert!(report["waitedSeconds"].as_u64().unwrap() >= 1, "{report}");
    assert!(monitoring_requests(&sb) >= before + 8);
    // The downtime it had is in the window.
    let downtime = report["droplets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "web-2")
        .and_then(|d| d["downtimeSeconds"].as_f64())
        .unwrap();
    assert!(downtime > 0.0, "{report}");
}

#[test]
fn wait_healthy_gives_up_at_the_timeout_with_exit_1_and_says_which_droplet() {
    let sb = standalone();
    power(&sb, "web-2", false);

    let (code, report, stderr) = run(on(&sb).args([
        "--json",
        "lb",
        "health",
        "blog-https",
        "--wait-healthy",
        "--timeout",
        "2",
        "--interval",
        "1",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["timedOut"], true);
    assert_eq!(report["allHealthy"], false);
    assert_eq!(state_of(&report, "web-2"), "unhealthy");
    assert!(report["waitedSeconds"].as_u64().unwrap() >= 2, "{report}");

    let out = on(&sb)
        .args([
            "lb",
            "health",
            "blog-https",
            "--wait-healthy",
            "--timeout",
            "1",
            "--interval",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "Gave up after 1 s waiting for every droplet to be healthy: web-2 unhealthy."
        ),
        "{text}"
    );
}
