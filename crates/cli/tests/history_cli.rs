//! The journal from the command line: an update is journaled before and after, `cutover
//! history` lists it, and `cutover lb revert ENTRY` puts the old value back through a normal
//! update (checked through the API). Against a standalone Sandbox on 127.0.0.1.

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

    // An entry nobody has is a clear error.
    let (code, json, _) = run(with_token().args(["lb", "revert", "no-such-entry", "--yes"]));
    assert_eq!(code, 2);
    assert_eq!(json["error"]["code"], "not_found", "{json}");
}
