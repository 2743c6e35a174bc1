//! The journal from the command line: an update is journaled before and after, `cutover
//! history` lists it, and `cutover lb revert ENTRY` puts the old value back through a normal
//! update (checked through the API); certificate creates and deletes are journaled with their
//! request ids. Against a standalone Sandbox on 127.0.0.1.

mod support;

use support::{cutover, run, standalone_with};

#[test]
fn an_update_is_journaled_and_reverted() {
    // No busy window: the revert follows the update at once.
    let sb = standalone_with(&["--busy-window-ms", "0"]);
    let data = tempfile::tempdir().unwrap();
    let with_token = || {
        let mut cmd = cutover();
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
            .env("CUTOVER_DATA_DIR", data.path())
            .args(["--json", "--api-base", &sb.api_base]);
        cmd
    };
    let (code, before, stderr) = run(with_token().args(["lb", "get", "blog-https"]));
    assert_eq!(code, 0, "{stderr}");
    let old_timeout = before["http_idle_timeout_seconds"].as_u64().unwrap_or(60);
    let new_timeout = if old_timeout == 90 { 120 } else { 90 };

    let (code, _, stderr) = run(with_token().args([
        "lb",
        "update",
        "blog-https",
        "--http-idle-timeout",
        &new_timeout.to_string(),
        "--yes",
        "--wait",
        "--wait-timeout",
        "60",
    ]));
    assert_eq!(code, 0, "{stderr}");

    let (code, history, stderr) = run(with_token().args(["history", "blog-https"]));
    assert_eq!(code, 0, "{stderr}");
    let entries = history.as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{history}");
    assert_eq!(entries[0]["kind"], "update");
    assert_eq!(entries[0]["status"], "done");
    assert_eq!(
        entries[0]["changes"][0]["path"],
        "http_idle_timeout_seconds"
    );
    // DigitalOcean's request id of the PUT's answer (the Sandbox sends a uuid, as DO does).
    let rid = entries[0]["requestId"].as_str().unwrap_or_default();
    assert_eq!((rid.len(), rid.matches('-').count()), (36, 4), "{history}");
    let entry = entries[0]["id"].as_str().unwrap().to_string();

    let (code, _, stderr) = run(with_token().args([
        "lb",
        "revert",
        &entry,
        "--yes",
        "--wait",
        "--wait-timeout",
        "60",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (_, after, _) = run(with_token().args(["lb", "get", "blog-https"]));
    assert_eq!(
        after["http_idle_timeout_seconds"].as_u64().unwrap_or(60),
        old_timeout,
        "{after}"
    );
    // The revert is journaled too: two entries now, the newest first.
    let (_, history, _) = run(with_token().args(["history"]));
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");

    // Certificate changes are journaled too, by the certificate's name, with their request ids.
    let (code, _, stderr) = run(with_token().args([
        "certs",
        "create-le",
        "--name",
        "history-le",
        "--dns-name",
        "sandbox-shop.test",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(with_token().args(["certs", "delete", "history-le", "--yes"]));
    assert_eq!(code, 0, "{stderr}");
    let (_, history, _) = run(with_token().args(["history", "history-le"]));
    let entries = history.as_array().expect("a list");
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["cert_delete", "cert_create"], "{history}");
    for e in entries {
        assert_eq!(e["status"], "done", "{e}");
        assert!(
            e["requestId"].as_str().is_some_and(|r| r.len() == 36),
            "{e}"
        );
    }
    assert_eq!(entries[1]["changes"][2]["after"][0], "sandbox-shop.test");
    assert_eq!(entries[0]["before"]["name"], "history-le");
    // The table names the certificate and shows the request id.
    let out = cutover()
        .env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
        .env("CUTOVER_DATA_DIR", data.path())
        .args(["--api-base", &sb.api_base, "history"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("certificate history-le"), "{table}");
    assert!(table.contains("REQUEST ID"), "{table}");
    assert!(
        table.contains(entries[0]["requestId"].as_str().unwrap()),
        "{table}"
    );

    // An entry nobody has is a clear error.
    let (code, json, _) = run(with_token().args(["lb", "revert", "no-such-entry", "--yes"]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "not_found", "{json}");
}
