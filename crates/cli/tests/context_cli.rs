//! `--context NAME` for the commands that read one load balancer besides `cutover lb`:
//! `certs check --lb` and `balance --lb` choose their account through `core::connect` like every
//! other command. The token is stored in the OS keychain under a name of this run, against a
//! standalone Sandbox on 127.0.0.1 (`cutover sandbox serve`).
//!
//! Where no Secret Service runs (no keychain), `--context` must fail with the keychain's own
//! error — the one every command gives — which is checked instead.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cutover_core::accounts::{OsKeychain, SecretStore};
use cutover_core::ErrorCode;
use serde_json::Value;
use support::{cutover, run, standalone, Standalone};

/// The seeded SSL-passthrough load balancer for `sandbox-shop.test` (three droplets).
const SHOP_LB: &str = "5a0dbe00-0001-4000-8000-000000000001";
const SHOP_DOMAIN: &str = "sandbox-shop.test";

/// A keychain entry removed when the test ends, however it ends.
struct StoredToken(String);

impl Drop for StoredToken {
    fn drop(&mut self) {
        let _ = OsKeychain.delete(&self.0);
    }
}

/// `certs check --lb` and `balance --lb` with `--context NAME --api-base SANDBOX`, and a wrong
/// token in the environment that `--context` must win over.
fn with_context(sb: &Standalone, name: &str) -> Command {
    let mut cmd = cutover();
    cmd.env("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_not_the_sandbox_token")
        .args(["--json", "--context", name, "--api-base", &sb.api_base]);
    cmd
}

fn check_certs(sb: &Standalone, name: &str) -> (i32, Value, String) {
    run(with_context(sb, name).args(["certs", "check", "--lb", SHOP_LB, "--domain", SHOP_DOMAIN]))
}

/// `balance --lb` with `--context NAME`: its first line and exit code (see [`balance`]).
fn balance_first_line(sb: &Standalone, name: &str) -> (Value, i32) {
    balance(with_context(sb, name))
}

/// Starts `cmd balance --lb SHOP_LB`, reads its first line (the listening line, or the error),
/// stops it with SIGTERM when it listens, and returns the line and the exit code.
fn balance(mut cmd: Command) -> (Value, i32) {
    let mut child = cmd
        .args(["balance", "--lb", SHOP_LB, "--domain", SHOP_DOMAIN])
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start balance");
    // Never hang CI: a stuck command is killed so the read below ends.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first: Value = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(Value::Null);
    if first.get("listen").is_some() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
    (first, code)
}

#[test]
fn certs_check_and_balance_honour_context() {
    let sb = standalone();
    let name = format!("cutover-cli-context-{}", std::process::id());
    match OsKeychain.set(&name, &sb.token) {
        Ok(()) => {
            let _stored = StoredToken(name.clone());

            // The certificate check reads the load balancer with the stored token, and probes the
            // Sandbox's droplets (its address map and CA come with the loopback connection).
            let (code, report, stderr) = check_certs(&sb, &name);
            assert_eq!(code, 1, "one droplet serves another certificate: {stderr}");
            assert_eq!(report["domain"], SHOP_DOMAIN, "{stderr}");
            let backends = report["backends"].as_array().expect("backends");
            assert_eq!(backends.len(), 3, "{report}");
            assert!(
                backends
                    .iter()
                    .filter(|b| b["findings"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|f| f["code"] == "backend.unreachable")))
                    .count()
                    == 0,
                "every Sandbox droplet is reachable: {report}"
            );

            // The balancer takes its backends from the same load balancer.
            let (first, code) = balance_first_line(&sb, &name);
            assert_eq!(
                first["backends"].as_array().map(Vec::len),
                Some(3),
                "{first}"
            );
            assert_eq!(first["domains"][0], SHOP_DOMAIN, "{first}");
            assert_eq!(code, 0, "balance stops cleanly on SIGTERM");

            // An account that is not in the keychain is named in the error, for both commands.
            let missing = format!("{name}-missing");
            let (code, json, stderr) = check_certs(&sb, &missing);
            assert_eq!(code, 2, "{stderr}");
            assert_eq!(
                json["error"]["code"],
                ErrorCode::NotFound.as_str(),
                "{json}"
            );
            assert!(
                json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&missing)),
                "{json}"
            );
            let (json, code) = balance_first_line(&sb, &missing);
            assert_eq!(code, 2);
            assert_eq!(
                json["error"]["code"],
                ErrorCode::NotFound.as_str(),
                "{json}"
            );
        }
        Err(err) => {
            // No keychain here: --context is read like every other command reads it, so both
            // commands fail with the keychain error (not a refusal to read contexts at all).
            assert_eq!(err.code, ErrorCode::Keychain, "{}", err.message);
            let (code, json, stderr) = check_certs(&sb, &name);
            assert_eq!(code, 2, "{stderr}");
            assert_eq!(
                json["error"]["code"],
                ErrorCode::Keychain.as_str(),
                "{json}"
            );
            let (json, code) = balance_first_line(&sb, &name);
            assert_eq!(code, 2);
            assert_eq!(
                json["error"]["code"],
                ErrorCode::Keychain.as_str(),
                "{json}"
            );
        }
    }
}

/// With neither `--context` nor a token, both commands use a Sandbox started for the run, as
/// `cutover lb` does.
#[test]
fn without_an_account_both_use_a_sandbox_for_the_run() {
    let (code, report, stderr) = run(cutover().args([
        "--json",
        "certs",
        "check",
        "--lb",
        SHOP_LB,
        "--domain",
        SHOP_DOMAIN,
    ]));
    assert_eq!(code, 1, "one droplet serves another certificate: {stderr}");
    assert_eq!(
        report["backends"].as_array().map(Vec::len),
        Some(3),
        "{report}"
    );
    assert!(stderr.contains("Sandbox"), "{stderr}");

    let mut cmd = cutover();
    cmd.arg("--json");
    let (first, code) = balance(cmd);
    assert_eq!(
        first["backends"].as_array().map(Vec::len),
        Some(3),
        "{first}"
    );
    assert_eq!(code, 0, "balance stops cleanly on SIGTERM");
}
