//! `cutover certs check --fix` on the Sandbox, where web-3 serves another certificate than
//! web-1 and web-2: the certificate to keep, the steps for web-3 (human and JSON), and the
//! recheck of only web-3 after the Sandbox's stand-in for the copy.

mod support;

use serde_json::Value;
use support::{cutover, run, sandbox_http, standalone};

/// The seeded SSL-passthrough load balancer for `sandbox-shop.test` (three droplets).
const SHOP_LB: &str = "5a0dbe00-0001-4000-8000-000000000001";
const SHOP_DOMAIN: &str = "sandbox-shop.test";

fn check_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["certs", "check", "--lb", SHOP_LB, "--domain", SHOP_DOMAIN];
    args.extend_from_slice(extra);
    args
}

#[test]
fn fix_names_the_certificate_to_keep_and_the_steps_for_web_3_in_json() {
    // No token: a Sandbox for this run.
    let (code, report, stderr) = run(cutover().args(check_args(&["--fix", "--json"])));
    assert_eq!(code, 1, "{stderr}");
    let remedy = &report["remedy"];
    assert_eq!(remedy["chosen"], "A", "{remedy:#}");
    assert_eq!(remedy["droplets"], serde_json::json!(["web-3"]));
    assert_eq!(remedy["sources"], serde_json::json!(["web-1", "web-2"]));
    let a = report["groups"][0]["sha256"].as_str().unwrap();
    assert_eq!(remedy["chosen_sha256"], a);
    let reason = remedy["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("Keep certificate A (on web-1, web-2): it is valid for sandbox-shop.test"),
        "{reason}"
    );
    assert!(reason.contains("B has only"), "{reason}");
    let fix = &remedy["fixes"][0];
    assert_eq!(fix["droplet"], "web-3");
    assert_eq!(fix["copy_from"], "web-1");
    let web3_host = fix["host"].as_str().unwrap();
    let commands: Vec<&str> = fix["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap().iter())
        .filter_map(Value::as_str)
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("rsync -a") && c.contains(&format!("SSH_USER@{web3_host}:"))),
        "{commands:#?}"
    );
    assert!(
        commands.iter().any(|c| c.contains("chmod 600")),
        "{commands:#?}"
    );
    // One droplet of three differs: no snapshot route; the Sandbox's CA is no Let's Encrypt.
    assert!(remedy["rebuild"].is_null());
    assert!(remedy["renewal_warning"].is_null());
    // Never a private key in the output.
    assert!(!report.to_string().contains("PRIVATE KEY"));
}

#[test]
fn fix_prints_the_steps_under_the_report() {
    let out = cutover()
        .args(check_args(&["--fix", "--server", "nginx", "-q"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let verdict = text.find("Verdict").expect("the report first");
    let fix = text.find("How to fix:").expect(&text);
    assert!(fix > verdict, "{text}");
    assert!(
        text.contains("Keep certificate A (on web-1, web-2)"),
        "{text}"
    );
    assert!(text.contains("To change: web-3"), "{text}");
    assert!(text.contains("You said the droplets run nginx."), "{text}");
    assert!(
        text.contains("/etc/nginx/ssl/sandbox-shop.test.key SSH_USER@"),
        "{text}"
    );
    assert!(
        text.contains("sudo nginx -t && sudo systemctl reload nginx"),
        "{text}"
    );
    assert!(
        text.contains("1. Find the certificate files web-1 uses"),
        "{text}"
    );
}

#[test]
fn only_needs_a_droplet_of_the_load_balancer() {
    let (code, err, _) = run(cutover().args(check_args(&["--only", "web-9", "--json"])));
    assert_eq!(code, 2);
    assert_eq!(err["error"]["code"], "invalid_input");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("web-9 is not a droplet"), "{message}");
}

#[test]
fn a_recheck_of_only_web_3_after_the_fix_clears_the_mismatch() {
    let sb = standalone();
    let against = |extra: &[&str]| {
        let mut cmd = cutover();
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
            .args(["--api-base", &sb.api_base])
            .args(check_args(extra));
        run(&mut cmd)
    };
    let (code, before, stderr) = against(&["--json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(before["remedy"]["droplets"], serde_json::json!(["web-3"]));
    let dir = std::env::temp_dir().join(format!("cutover-certs-fix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let before_path = dir.join("before.json");
    std::fs::write(&before_path, before.to_string()).unwrap();
    let before_arg = before_path.to_str().unwrap().to_string();

    // Before the fix, the recheck still finds web-3 different.
    let (code, still, stderr) = against(&["--only", "web-3", "--previous", &before_arg, "--json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(still["recheck"]["cleared"], false);
    assert_eq!(still["recheck"]["droplets"], serde_json::json!(["web-3"]));

    // The Sandbox's stand-in for copying the certificate to web-3.
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

    let (code, after, stderr) = against(&["--only", "web-3", "--previous", &before_arg, "--json"]);
    assert_eq!(code, 0, "{stderr}\n{after:#}");
    assert_eq!(after["recheck"]["cleared"], true);
    assert!(after["remedy"].is_null());
    assert_eq!(after["groups"].as_array().unwrap().len(), 1);
    let summary = after["recheck"]["summary"].as_str().unwrap();
    assert_eq!(
        summary,
        "web-3 now serves the certificate to keep (A): all 3 backends serve the same certificate."
    );
    let _ = std::fs::remove_dir_all(&dir);
}
