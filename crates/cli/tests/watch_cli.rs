//! `cutover watch` end to end: the list in `--state-dir`, and `run`'s exit codes against a
//! standalone Sandbox whose web-3 serves another certificate (expiring in 3 days) until the test
//! gives it the fleet's one mid-test.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{cutover, run, sandbox_http, standalone, state_dir, Standalone};

const SHOP_LB: &str = "5a0dbe00-0001-4000-8000-000000000001";
const SHOP_DOMAIN: &str = "sandbox-shop.test";

fn watch(dir: &Path, sb: Option<&Standalone>, args: &[&str]) -> (i32, Value, String) {
    let mut cmd = cutover();
    if let Some(sb) = sb {
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
            .args(["--api-base", &sb.api_base]);
    }
    cmd.arg("watch")
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .arg("--json");
    run(&mut cmd)
}

fn appeared(outcome: &Value) -> Vec<(String, String)> {
    outcome["appeared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["finding"]["code"].as_str().unwrap().to_string(),
                f["finding"]["backend"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn run_exits_1_while_web_3_differs_and_0_once_it_is_fixed() {
    let dir = state_dir("run");
    let sb = standalone();

    // Nothing watched: exit 0 without touching the API.
    let (code, list, stderr) = watch(&dir, None, &["list"]);
    assert_eq!((code, list.clone()), (0, serde_json::json!([])), "{stderr}");
    let (code, _, stderr) = watch(&dir, None, &["run"]);
    assert_eq!(code, 0, "{stderr}");

    // A typo is refused at add (exit 2), a real one is kept.
    let (code, err, _) = watch(
        &dir,
        Some(&sb),
        &["add", "no-such-lb", "--domain", SHOP_DOMAIN],
    );
    assert_eq!(code, 2);
    assert_eq!(err["error"]["code"], "not_found");
    let (code, site, stderr) = watch(
        &dir,
        Some(&sb),
        &["add", "shop-passthrough", "--domain", SHOP_DOMAIN],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(site["lb_id"], SHOP_LB);
    let (_, list, _) = watch(&dir, None, &["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // web-3 serves another certificate, expiring in 3 days: needs attention.
    let (code, first, stderr) = watch(&dir, Some(&sb), &["run"]);
    assert_eq!(code, 1, "{stderr}\n{first:#}");
    assert_eq!(first["needs_attention"], true);
    let new = appeared(&first);
    assert!(
        new.contains(&("fleet.fingerprint_mismatch".into(), "web-3".into())),
        "{new:?}"
    );
    assert!(
        new.contains(&("cert.expiring_soon".into(), "web-3".into())),
        "{new:?}"
    );

    // Still wrong, nothing new: 1 by default, 0 with --new-only.
    let (code, _, _) = watch(&dir, Some(&sb), &["run", "--new-only"]);
    assert_eq!(code, 0);
    let (code, _, _) = watch(&dir, Some(&sb), &["run"]);
    assert_eq!(code, 1);

    // web-3 gets the fleet's certificate mid-test.
    let (_, backends) = sandbox_http(&sb, "GET", "/_sandbox/backends", "");
    let body: Value = serde_json::from_str(&backends).unwrap_or_else(|e| panic!("{e}: {backends}"));
    let id = body["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["droplet_name"] == "web-3")
        .and_then(|b| b["droplet_id"].as_u64())
        .unwrap();
    let (status, reply) = sandbox_http(
        &sb,
        "POST",
        &format!("/_sandbox/droplets/{id}/fix_certificate"),
        "",
    );
    assert_eq!(status, 204, "{reply}");

    let (code, after, stderr) = watch(&dir, Some(&sb), &["run"]);
    assert_eq!(code, 0, "{stderr}\n{after:#}");
    let cleared: Vec<&str> = after["cleared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["finding"]["code"].as_str().unwrap())
        .collect();
    assert!(
        cleared.contains(&"fleet.fingerprint_mismatch"),
        "{cleared:?}"
    );
    assert!(cleared.contains(&"cert.expiring_soon"), "{cleared:?}");

    // The history is in the file: four runs, the episodes closed.
    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.join("watch.json")).unwrap()).unwrap();
    assert_eq!(file["runs"].as_array().unwrap().len(), 4);
    assert!(file["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["code"] == "cert.expiring_soon" && !e["cleared_at"].is_null()));

    // Remove by the name it was added with.
    let (code, removed, _) = watch(&dir, None, &["remove", "shop-passthrough"]);
    assert_eq!(code, 0);
    assert_eq!(removed["lb_id"], SHOP_LB);
    let (code, err, _) = watch(&dir, None, &["remove", "shop-passthrough"]);
    assert_eq!(code, 2);
    assert_eq!(err["error"]["code"], "not_found");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_prints_the_findings_for_people() {
    let dir = state_dir("human");
    // No token: an in-process Sandbox for each run, its state beside the watch list.
    let (code, _, stderr) = watch(&dir, None, &["add", SHOP_LB, "--domain", SHOP_DOMAIN]);
    assert_eq!(code, 0, "{stderr}");
    let out = cutover()
        .args(["watch", "run", "-q", "--state-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sandbox-shop.test"), "{text}");
    assert!(text.contains("NEEDS ATTENTION"), "{text}");
    assert!(text.contains("fleet.fingerprint_mismatch"), "{text}");
    assert!(text.contains("DAYS LEFT"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
