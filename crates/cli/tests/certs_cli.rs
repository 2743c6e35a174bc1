//! `cutover certs check` as a script sees it: exit codes and JSON on stdout.

use std::process::Command;

fn cutover() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    // Nothing from the developer's environment may leak into these runs.
    cmd.env_remove("DIGITALOCEAN_ACCESS_TOKEN")
        .env_remove("CUTOVER_SANDBOX_TOKEN")
        .env_remove("CUTOVER_API_BASE")
        .env_remove("CUTOVER_CONTEXT");
    cmd
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

#[test]
fn a_refused_backend_is_a_finding_and_exit_1() {
    let backend = closed_port();
    let out = cutover()
        .args([
            "certs",
            "check",
            "--domain",
            "shop.test",
            "--backend",
            &backend,
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["domain"], "shop.test");
    assert_eq!(report["backends"][0]["address"], backend);
    assert_eq!(
        report["backends"][0]["findings"][0]["code"],
        "backend.unreachable"
    );
    assert_eq!(report["backends"][0]["findings"][0]["severity"], "critical");
    assert_eq!(report["verdict"]["ok"], false);
    assert!(report["backends"][0]["openssl_command"]
        .as_str()
        .unwrap()
        .contains("-servername shop.test"));
}

#[test]
fn human_output_has_the_table_and_the_verdict() {
    let backend = closed_port();
    let out = cutover()
        .args([
            "certs",
            "check",
            "--domain",
            "shop.test",
            "--backend",
            &backend,
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BACKEND"), "{text}");
    assert!(text.contains("backend.unreachable"), "{text}");
    assert!(text.contains("Verdict (critical)"), "{text}");
    assert!(text.contains("openssl s_client -connect"), "{text}");
}

#[test]
fn bad_input_is_exit_2_with_an_error_object() {
    let backend = closed_port();
    let out = cutover()
        .args([
            "certs",
            "check",
            "--domain",
            "shop.test",
            "--backend",
            &backend,
            "--ca-file",
            "/nonexistent/ca.pem",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input");

    let out = cutover()
        .args([
            "certs",
            "check",
            "--domain",
            "not a domain",
            "--backend",
            &backend,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = cutover()
        .args([
            "certs",
            "check",
            "--domain",
            "shop.test",
            "--lb",
            "some-id",
            "--json",
        ])
        .output()
        .unwrap();
    // No token: like `cutover lb`, a Sandbox for this run, which has no such load balancer.
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
}
