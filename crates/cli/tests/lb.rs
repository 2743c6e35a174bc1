//! `cutover lb …` end to end: the binary against the Sandbox it starts when no token is set, and
//! against a standalone one (`cutover sandbox serve`) for multi-step journeys.

mod support;

use serde_json::Value;
use support::{cutover, run, standalone};

#[test]
fn lists_the_sandbox_without_a_token() {
    let (code, json, stderr) = run(cutover().args(["--json", "lb", "list"]));
    assert_eq!(code, 0, "{stderr}");
    let lbs = json.as_array().expect("an array");
    assert!(lbs.len() >= 3);
    assert!(lbs
        .iter()
        .any(|lb| lb["forwarding_rules"][0]["tls_passthrough"] == true));
    assert!(stderr.contains("Sandbox"), "{stderr}");

    let (code, json, _) = run(cutover().args(["--json", "certificates", "list"]));
    assert_eq!(code, 0);
    assert!(!json.as_array().unwrap().is_empty());
    let (code, json, _) = run(cutover().args(["--json", "droplets", "list"]));
    assert_eq!(code, 0);
    assert!(json.as_array().unwrap().len() >= 3);
    let (code, json, _) = run(cutover().args(["--json", "account"]));
    assert_eq!(code, 0);
    assert!(json["account"]["email"].as_str().unwrap().contains('@'));
}

#[test]
fn update_plans_dry_runs_and_refuses_without_yes() {
    let (code, json, _) = run(cutover().args(["--json", "lb", "list"]));
    assert_eq!(code, 0);
    let name = json[0]["name"].as_str().unwrap().to_string();

    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "update",
        &name,
        "--http-idle-timeout",
        "120",
        "--dry-run",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["accepted"], true);
    assert_eq!(json["changes"][0]["path"], "http_idle_timeout_seconds");
    assert_eq!(json["request"]["validate_only"], Value::Null);

    // A script must say --yes.
    let (code, json, _) = run(cutover().args([
        "--json",
        "lb",
        "update",
        &name,
        "--http-idle-timeout",
        "120",
    ]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "invalid_input");

    // The validator refuses before anything is sent.
    let (code, json, _) = run(cutover().args([
        "--json",
        "lb",
        "update",
        &name,
        "--http-idle-timeout",
        "5",
        "--yes",
    ]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "validation");
    assert_eq!(
        json["error"]["details"]["findings"][0]["code"],
        "lb.http_idle_timeout.range"
    );

    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "update",
        &name,
        "--http-idle-timeout",
        "120",
        "--yes",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["applied"], true);
    assert_eq!(json["load_balancer"]["http_idle_timeout_seconds"], 120);
}

#[test]
fn create_wait_rules_droplets_and_delete_on_a_standalone_sandbox() {
    let sb = standalone();
    let with_token = || {
        let mut cmd = cutover();
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token).args([
            "--json",
            "--api-base",
            &sb.api_base,
        ]);
        cmd
    };
    let (code, created, stderr) = run(with_token().args([
        "lb",
        "create",
        "--name",
        "cli-test",
        "--region",
        "nyc3",
        "--rule",
        "http:80:http:80",
        "--droplet-ids",
        "510000101",
        "--wait",
        "--wait-timeout",
        "60",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap().to_string();

    let (code, _, stderr) =
        run(with_token().args(["lb", "rules", "add", &id, "--rule", "tcp:5432:tcp:5432"]));
    assert_eq!(code, 0, "{stderr}");
    let (_, lb, _) = run(with_token().args(["lb", "get", &id]));
    assert_eq!(lb["forwarding_rules"].as_array().unwrap().len(), 2);

    // The API answers "busy" for a moment after a write; the CLI says so.
    let mut removed = false;
    for _ in 0..20 {
        let (code, json, _) = run(with_token().args(["lb", "droplets", "add", &id, "510000102"]));
        if code == 0 {
            removed = true;
            break;
        }
        assert_eq!(json["error"]["code"], "busy", "{json}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(removed);
    let (_, lb, _) = run(with_token().args(["lb", "get", &id]));
    assert_eq!(lb["droplet_ids"].as_array().unwrap().len(), 2);

    let mut deleted = false;
    for _ in 0..20 {
        let (code, _, _) = run(with_token().args(["lb", "delete", &id, "--yes"]));
        if code == 0 {
            deleted = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(deleted);
    let (code, json, _) = run(with_token().args(["lb", "get", &id]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "not_found");
}
