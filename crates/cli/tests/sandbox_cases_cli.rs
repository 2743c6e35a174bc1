//! The CLI on the Sandbox's cases of real accounts (issue 15): the certificate check of the
//! `tcp:443` load balancer, an edit of the Kubernetes-owned one refused with the Service
//! annotations (JSON too), and the DNS plan of the dual-stack one with its AAAA records.

mod support;

use support::{cutover, run};

const TCP_LB: &str = "shop-tcp";
const K8S_LB: &str = "a3f1c9e27b4d48a6b0c2d9e8f7a6b5c4";
const DUAL_LB: &str = "www-dualstack";
const DUAL_DOMAIN: &str = "v6.sandbox-shop.test";

#[test]
fn the_certificate_check_of_the_tcp_load_balancer_finds_the_odd_droplet() {
    let (code, json, stderr) = run(cutover().args([
        "--json",
        "certs",
        "check",
        "--lb",
        TCP_LB,
        "--domain",
        "sandbox-shop.test",
    ]));
    // web-3 serves another certificate: a finding, exit 1 — not a refusal of the rule (2).
    assert_eq!(code, 1, "{stderr}\n{json}");
    let backends = json["backends"].as_array().expect("backends");
    let labels: Vec<&str> = backends
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels.iter().all(|l| l.starts_with("web-")), "{labels:?}");
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"fleet.fingerprint_mismatch"),
        "{codes:?}\n{json}"
    );
    assert_eq!(json["remedy"]["droplets"], serde_json::json!(["web-3"]));
}

#[test]
fn an_edit_of_the_kubernetes_load_balancer_is_refused_with_its_annotations() {
    let args = [
        "lb",
        "update",
        K8S_LB,
        "--enable-proxy-protocol",
        "true",
        "--yes",
    ];
    // As a script sees it: one JSON document on stdout, the refusal with the annotations.
    let out = cutover().arg("--json").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    let text = doc.to_string();
    assert!(
        text.contains("service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"),
        "{text}"
    );
    assert!(text.contains("kubectl"), "{text}");
    assert!(
        text.contains("5a0dbe00-0006-4000-8000-000000000001"),
        "the cluster: {text}"
    );

    // For a person: the same refusal in words (exit 2, a refusal), nothing applied.
    let (code, _, stderr) = run(cutover().args(args));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("managed by Kubernetes cluster 5a0dbe00-0006-4000-8000-000000000001"),
        "{stderr}"
    );
    assert!(stderr.contains("(managed_by_kubernetes)"), "{stderr}");
    let (code, lb, _) = run(cutover().args(["--json", "lb", "get", K8S_LB]));
    assert_eq!(code, 0);
    assert_eq!(lb["enable_proxy_protocol"], false, "nothing was applied");
}

#[test]
fn the_dns_plan_of_the_dual_stack_load_balancer_points_aaaa_at_its_ipv6() {
    let dir = support::state_dir("dual-plan");
    let out = cutover()
        .args([
            "--json",
            "dns",
            "plan",
            "--lb",
            DUAL_LB,
            "--domain",
            DUAL_DOMAIN,
        ])
        .arg("--state-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    let plan = if v.get("plan").is_some() {
        &v["plan"]
    } else {
        &v
    };
    assert_eq!(plan["lb_ipv6"], "2001:db8:5a0d::6", "{v}");
    let changes = plan["changes"].as_array().unwrap();
    // The apex's AAAA (at the old server) is pointed at the load balancer, not deleted.
    let apex_aaaa = changes
        .iter()
        .find(|c| c["name"] == "@" && c["after"]["kind"] == "AAAA")
        .unwrap_or_else(|| panic!("no AAAA change for the apex: {v}"));
    assert_eq!(apex_aaaa["action"], "update");
    assert_eq!(apex_aaaa["before"]["data"], "2001:db8:5a0d:1::11");
    assert_eq!(apex_aaaa["after"]["data"], "2001:db8:5a0d::6");
    assert!(
        !changes
            .iter()
            .any(|c| c["action"] == "delete" && c["before"]["kind"] == "AAAA"),
        "{v}"
    );
    // The rollback restores both families.
    let rollback: Vec<&str> = plan["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert!(
        rollback.contains(&"A") && rollback.contains(&"AAAA"),
        "{rollback:?}"
    );

    // For a person: the AAAA line is in the table.
    let out = cutover()
        .args(["dns", "plan", "--lb", DUAL_LB, "--domain", DUAL_DOMAIN])
        .arg("--state-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("2001:db8:5a0d::6"), "{text}");
}

#[test]
fn a_refused_kubernetes_edit_prints_the_annotations_and_kubectl_for_a_person() {
    let (code, _, stderr) = run(cutover().args([
        "lb",
        "update",
        cutover_sandbox::LB_K8S_ID,
        "--enable-proxy-protocol",
        "true",
        "--yes",
    ]));
    assert_eq!(code, 2, "{stderr}");
    // Under the error sentence: the annotation as a YAML line and the line that finds the Service.
    let error_at = stderr
        .find("(managed_by_kubernetes)")
        .unwrap_or_else(|| panic!("{stderr}"));
    let below = &stderr[error_at..];
    assert!(below.contains("  annotations:"), "{stderr}");
    assert!(
        below.contains(
            "    service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: \"true\""
        ),
        "{stderr}"
    );
    assert!(
        below
            .lines()
            .any(|l| l.trim_start().starts_with("kubectl ")
                && l.contains(cutover_sandbox::LB_K8S_ID)),
        "{stderr}"
    );
}

/// One HTTP request with a JSON body to the standalone Sandbox, which must succeed (2xx): the
/// reply's body as JSON (null when there is none).
fn sandbox_request(
    sb: &support::Standalone,
    method: &str,
    path: &str,
    body: &str,
) -> serde_json::Value {
    let (status, reply) = support::sandbox_http(sb, method, path, body);
    assert!((200..300).contains(&status), "{status} {reply}");
    serde_json::from_str(&reply).unwrap_or(serde_json::Value::Null)
}

#[test]
fn dns_status_shows_a_name_behind_cloudflare_as_proxied_in_the_apps_words() {
    let sb = support::standalone();
    // www answers only a Cloudflare address (104.16.0.0/13 is in its published ranges).
    let path = "/v2/domains/sandbox-shop.test/records";
    let records = sandbox_request(&sb, "GET", &format!("{path}?per_page=200"), "");
    for r in records["domain_records"].as_array().expect("records") {
        if r["name"] == "www" && ["A", "AAAA", "CNAME"].contains(&r["type"].as_str().unwrap_or(""))
        {
            sandbox_request(&sb, "DELETE", &format!("{path}/{}", r["id"]), "");
        }
    }
    sandbox_request(
        &sb,
        "POST",
        path,
        r#"{"type":"A","name":"www","data":"104.21.3.4","ttl":300}"#,
    );
    let status = |json: bool| {
        let mut cmd = cutover();
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
            .args(["--api-base", &sb.api_base]);
        if json {
            cmd.arg("--json");
        }
        cmd.args([
            "dns",
            "status",
            "--domain",
            "sandbox-shop.test",
            "--lb",
            cutover_sandbox::LB_SHOP_ID,
        ])
        .arg("--state-dir")
        .arg(support::state_dir("proxied"))
        .output()
        .unwrap()
    };

    // As a script sees it: one JSON document, core's sentence in `proxied`.
    let out = status(true);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    let www = doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "www.sandbox-shop.test")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(www["points_to_lb"], false, "{doc}");
    assert_eq!(
        www["proxied"], "proxied by Cloudflare: cannot confirm the origin",
        "{doc}"
    );

    // For a person: the app's words on www's row, not "no".
    let out = status(false);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let row = text
        .lines()
        .find(|l| l.starts_with("www.sandbox-shop.test"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("Proxied by Cloudflare — cannot confirm the origin"),
        "{text}"
    );
    assert!(!row.contains("no ("), "{text}");
}
