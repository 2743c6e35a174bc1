//! `cutover certs upload | create-le | rotate | delete` and `cutover lb get GLB`, end to end on
//! the in-process Sandbox (one per run): exit codes, and exactly one JSON document on stdout
//! with `--json`, also when the command fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::cutover;

/// Runs to the end: (exit code, stdout's one JSON document, stderr). Fails when stdout holds
/// anything but one JSON line.
fn run_one(cmd: &mut Command) -> (i32, Value, String) {
    let out = cmd.output().expect("run cutover");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout}\nstderr: {stderr}");
    let json = serde_json::from_str(lines[0]).expect("one JSON document");
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// A root, an intermediate and a leaf for `names` (expired when asked), written to `dir`:
/// (cert, key, chain, root) paths.
fn files(dir: &Path, names: &[&str], expired: bool) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p
    };
    let root_key = KeyPair::generate().unwrap();
    let root = ca("CLI Test Root").self_signed(&root_key).unwrap();
    let int_key = KeyPair::generate().unwrap();
    let int = ca("CLI Test Intermediate")
        .signed_by(&int_key, &root, &root_key)
        .unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let leaf = p.signed_by(&key, &int, &int_key).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    (
        write("leaf.pem", leaf.pem()),
        write("key.pem", key.serialize_pem()),
        write("chain.pem", int.pem()),
        write("root.pem", root.pem()),
    )
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_expired_upload_is_refused_before_sending_and_a_good_one_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, chain, root) = files(dir.path(), &["shop.test"], true);
    let (code, json, _) = run_one(cutover().args([
        "--json",
        "certs",
        "upload",
        "--name",
        "old",
        "--cert",
        arg(&cert),
        "--key",
        arg(&key),
        "--chain",
        arg(&chain),
        "--ca-file",
        arg(&root),
        "--check-only",
    ]));
    assert_eq!(code, 1);
    assert_eq!(json["ok"], false);
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "cert.expired" && f["blocks"] == true));
    // Sent for real: refused by core with the same finding, as one error document.
    let (code, json, stderr) = run_one(cutover().args([
        "--json",
        "certs",
        "upload",
        "--name",
        "old",
        "--cert",
        arg(&cert),
        "--key",
        arg(&key),
        "--chain",
        arg(&chain),
        "--ca-file",
        arg(&root),
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(json["error"]["code"], "validation");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Not sent to DigitalOcean"), "{message}");
    // The key's text never reaches stdout or stderr.
    let key_text = std::fs::read_to_string(&key).unwrap();
    let body = key_text.lines().nth(1).unwrap();
    assert!(!json.to_string().contains(body) && !stderr.contains(body));

    let good = tempfile::tempdir().unwrap();
    let (cert, key, chain, root) = files(good.path(), &["shop.test"], false);
    let (code, json, stderr) = run_one(cutover().args([
        "--json",
        "certs",
        "upload",
        "--name",
        "shop-2026",
        "--cert",
        arg(&cert),
        "--key",
        arg(&key),
        "--chain",
        arg(&chain),
        "--ca-file",
        arg(&root),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["certificate"]["name"], "shop-2026");
    assert_eq!(json["check"]["ok"], true);
}

#[test]
fn deleting_a_certificate_in_use_is_refused_with_who_uses_it() {
    let (code, json, _) =
        run_one(cutover().args(["--json", "certs", "delete", "blog-le", "--yes"]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "forbidden");
    assert_eq!(json["error"]["details"]["in_use"], true);
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in use by blog-https"));
}

#[test]
fn a_rotation_moves_the_rule_and_deletes_the_old_one() {
    // Without --yes a script is refused, and nothing changes.
    let (code, json, _) = run_one(cutover().args([
        "--json",
        "certs",
        "rotate",
        "blog-le",
        "--lets-encrypt",
        "--name",
        "blog-le-2",
    ]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["details"]["field"], "yes");

    let (code, json, stderr) = run_one(cutover().args([
        "--json",
        "certs",
        "rotate",
        "blog-le",
        "--lets-encrypt",
        "--name",
        "blog-le-2",
        "--dry-run",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["plan"]["targets"][0]["lbName"], "blog-https");

    let (code, json, stderr) = run_one(cutover().args([
        "--json",
        "certs",
        "rotate",
        "blog-le",
        "--lets-encrypt",
        "--name",
        "blog-le-2",
        "--yes",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let outcome = &json["outcome"];
    assert_eq!(outcome["complete"], true, "{json}");
    assert_eq!(outcome["oldDeleted"], true);
    assert_eq!(outcome["loadBalancers"][0]["updated"], true);
    assert_eq!(outcome["newCertificate"]["state"], "verified");
}

#[test]
fn a_rotation_that_cannot_finish_keeps_the_new_certificate_and_exits_1() {
    // The global load balancer's domain uses world-le: its rules move, its domain does not.
    let (code, json, stderr) = run_one(cutover().args([
        "--json",
        "certs",
        "rotate",
        "world-le",
        "--lets-encrypt",
        "--name",
        "world-2",
        "--yes",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json["outcome"]["complete"], false);
    assert_eq!(json["outcome"]["oldDeleted"], false);
    assert_eq!(json["outcome"]["newCertificate"]["name"], "world-2");
    assert!(!json["outcome"]["left"].as_array().unwrap().is_empty());
}

#[test]
fn lb_get_of_a_global_load_balancer_is_its_tree() {
    let (code, json, stderr) = run_one(cutover().args(["--json", "lb", "get", "shop-global"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["lb"]["type"], "GLOBAL");
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    for t in targets {
        assert!(!t["droplets"].as_array().unwrap().is_empty(), "{t}");
    }
    assert!(json["domains"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["isManaged"] == true && d["status"] == "ACTIVE"));
    // People get the same tree as text.
    let out = cutover()
        .args(["lb", "get", "shop-global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Regional load balancers"), "{text}");
    assert!(text.contains("└ web-ams3-1"), "{text}");
}
