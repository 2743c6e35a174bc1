//! `cutover lb export` end to end on the in-process Sandbox: every seeded load balancer, in each
//! format, parses back (no network) into the configuration `lb list` reports; the JSON export is
//! accepted by `lb create --from-file`. The seeded account has fixed ids, so separate runs (each
//! with its own Sandbox) describe the same load balancers.

mod support;

use cutover_core::export::{self, configuration, CertificateNames};
use cutover_core::lb::LoadBalancer;
use serde_json::Value;
use support::{cutover, run};

fn load_balancers() -> Vec<LoadBalancer> {
    let (code, json, stderr) = run(cutover().args(["--json", "lb", "list"]));
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_value(json).expect("load balancers")
}

fn certificate_names() -> CertificateNames {
    let (code, json, stderr) = run(cutover().args(["--json", "certificates", "list"]));
    assert_eq!(code, 0, "{stderr}");
    json.as_array()
        .expect("an array")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().expect("id").to_string(),
                c["name"].as_str().expect("name").to_string(),
            )
        })
        .collect()
}

fn exported(lb: &str, format: &str) -> String {
    let (code, json, stderr) =
        run(cutover().args(["--json", "lb", "export", lb, "--format", format]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["format"], format);
    json["text"].as_str().expect("text").to_string()
}

#[test]
fn every_sandbox_load_balancer_exports_and_parses_back() {
    let names = certificate_names();
    let lbs = load_balancers();
    assert!(lbs.len() >= 3);
    let mut by_name = 0;
    for lb in &lbs {
        let doctl = exported(&lb.id, "doctl");
        assert!(
            doctl.contains("doctl compute load-balancer create"),
            "{doctl}"
        );
        assert_eq!(
            export::parse_doctl(&doctl).expect("doctl"),
            configuration(lb),
            "{doctl}"
        );

        let tf = exported(&lb.id, "terraform");
        assert!(
            tf.contains("resource \"digitalocean_loadbalancer\""),
            "{tf}"
        );
        assert_eq!(
            export::parse_terraform(&tf, &names).expect("terraform"),
            configuration(lb),
            "{tf}"
        );
        if lb
            .forwarding_rules
            .iter()
            .any(|r| r.certificate().is_some())
        {
            assert!(tf.contains("certificate_name"), "{tf}");
            by_name += 1;
        }

        let json = exported(&lb.id, "json");
        assert_eq!(export::parse_json(&json).expect("json"), lb.to_request());
    }
    assert!(
        by_name > 0,
        "no seeded load balancer terminates TLS with a certificate"
    );
}

#[test]
fn text_for_people_and_a_wrong_format() {
    let lbs = load_balancers();
    let name = &lbs[0].name;
    let out = cutover()
        .args(["lb", "export", name, "--format", "terraform"])
        .output()
        .expect("run cutover");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# Recreates load balancer"), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");

    let (code, _, stderr) = run(cutover().args(["lb", "export", name, "--format", "yaml"]));
    assert_eq!(code, 2, "{stderr}");
    let (code, json, _) = run(cutover().args(["--json", "lb", "export", "no-such-lb"]));
    assert_ne!(code, 0);
    assert_eq!(json["error"]["code"], "not_found");
}

#[test]
fn the_json_export_is_a_create_body_lb_create_accepts() {
    let lbs = load_balancers();
    let lb = lbs
        .iter()
        .find(|lb| lb.has_passthrough())
        .expect("a passthrough load balancer");
    let text = exported(&lb.id, "json");
    let body: Value = serde_json::from_str(&text).expect("json");
    for read_only in ["id", "ip", "status", "created_at"] {
        assert!(body.get(read_only).is_none(), "{read_only}: {text}");
    }
    let dir = std::env::temp_dir().join(format!("cutover-export-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("lb.json");
    std::fs::write(&file, &text).expect("write");
    let (code, json, stderr) = run(cutover().args([
        "--json",
        "lb",
        "create",
        "--from-file",
        file.to_str().expect("path"),
        "--name",
        "exported-copy",
        "--dry-run",
    ]));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{stderr}\n{json}");
}
