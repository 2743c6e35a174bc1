//! `cutover dns` end to end with no token: an in-process Sandbox whose state (and the rollback
//! set) lives in `--state-dir`, so apply and rollback in separate runs act on the same records.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::state_dir;

const DOMAIN: &str = "sandbox-shop.test";
const LB: &str = "5a0dbe00-0001-4000-8000-000000000001";

fn cutover(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["dns"])
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .arg("--json")
        .env_remove("DIGITALOCEAN_ACCESS_TOKEN")
        .env_remove("CUTOVER_SANDBOX_TOKEN")
        .env_remove("CUTOVER_API_BASE")
        .env_remove("CUTOVER_CONTEXT")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn apex(status: &serde_json::Value) -> Vec<String> {
    status["names"][0]["authoritative"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "A")
        .map(|a| a["data"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn status_apply_rollback_across_runs() {
    let dir = state_dir("flow");
    let out = cutover(&dir, &["status", "--domain", DOMAIN, "--lb", LB]);
    assert_eq!(out.status.code(), Some(0));
    let before = json(&out);
    assert_eq!(apex(&before), ["127.0.0.11"]);
    let lb_ip = before["lb_ip"].as_str().unwrap().to_string();

    // The seeded Sandbox has red items (web-3's certificate, TTL 3600): apply refuses, exit 1.
    let out = cutover(&dir, &["apply", "--domain", DOMAIN, "--lb", LB, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["applied"], false);

    let out = cutover(
        &dir,
        &[
            "apply", "--domain", DOMAIN, "--lb", LB, "--yes", "--force", "--ttl", "60",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied = json(&out);
    assert_eq!(applied["verify"]["dns_ok"], true);
    assert_eq!(applied["verify"]["https"]["status"], 200);

    let after = json(&cutover(&dir, &["status", "--domain", DOMAIN]));
    assert_eq!(apex(&after), [lb_ip]);

    // Run again: already switched, nothing written, success (a script may repeat a cutover).
    let again = cutover(
        &dir,
        &[
            "apply", "--domain", DOMAIN, "--lb", LB, "--yes", "--force", "--ttl", "60",
        ],
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json(&again)["unchanged"], true);

    let out = cutover(&dir, &["rollback", "--domain", DOMAIN]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["writes"], 1);
    let back = json(&cutover(&dir, &["status", "--domain", DOMAIN]));
    assert_eq!(apex(&back), ["127.0.0.11"]);

    // Nothing left to roll back: exit 2 with the error object.
    let out = cutover(&dir, &["rollback", "--domain", DOMAIN]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "not_found");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_lists_the_changes_and_the_ttl_step() {
    let dir = state_dir("plan");
    let out = cutover(
        &dir,
        &["plan", "--domain", DOMAIN, "--lb", LB, "--ttl", "120"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let changes = v["plan"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["after"]["ttl"], 120);
    assert_eq!(v["plan"]["ttl_step"]["wait_secs"], 3600);
    assert_eq!(v["readiness"].as_array().unwrap().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}
