//! `cutover lb replace` against a standalone Sandbox: the process is killed (SIGKILL) once the
//! plan file records the new load balancer's id, and `--resume` then finishes the replacement
//! (DNS moved, the old one deleted with its name typed) without a second create.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cutover, run, standalone_with};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|lb| lb["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn read_plan(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[test]
fn a_replacement_killed_after_the_create_resumes_without_a_second_create() {
    // New load balancers stay `new` for 3 s: the run is still waiting for `active` when killed.
    let sb = standalone_with(&["--busy-window-ms", "0", "--activation-delay-ms", "3000"]);
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let with_token = || {
        let mut cmd = cutover();
        cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
            .env("CUTOVER_DATA_DIR", data.path())
            .args(["--json", "--api-base", &sb.api_base]);
        cmd
    };
    let (code, old, stderr) = run(with_token().args(["lb", "get", "blog-https"]));
    assert_eq!(code, 0, "{stderr}");
    let old_id = old["id"].as_str().unwrap().to_string();
    let old_ip = old["ip"].as_str().unwrap().to_string();
    let (_, before, _) = run(with_token().args(["lb", "list"]));
    let count_before = names(&before).len();

    let state_dir = state.path().to_str().unwrap().to_string();
    let steps = |cmd: &mut std::process::Command| {
        cmd.args([
            "--yes",
            "--force",
            "--confirm",
            "blog-https",
            "--state-dir",
            &state_dir,
            "--wait-timeout",
            "60",
            "--verify-timeout",
            "30",
        ]);
    };
    let mut first = with_token();
    first.args([
        "lb",
        "replace",
        "blog-https",
        "--set",
        "network_stack=DUALSTACK",
        "--domain",
        "sandbox-shop.test",
        "--record",
        "blog",
        // Kept in the plan: the resume below does not repeat it.
        "--wait-before-delete",
        "0",
    ]);
    steps(&mut first);
    let mut child = first
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the replacement");
    let plan_file = data
        .path()
        .join("replacements")
        .join(format!("replace-{old_id}.json"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let recorded = loop {
        if let Some(id) = read_plan(&plan_file).and_then(|p| p["newId"].as_str().map(String::from))
        {
            break id;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it recorded a new id"
        );
        assert!(Instant::now() < deadline, "no new id recorded");
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().expect("SIGKILL"); // SIGKILL on unix: no clean-up runs
    child.wait().unwrap();
    let plan = read_plan(&plan_file).expect("the plan survives the kill");
    assert_eq!(plan["finished"], false, "{plan}");
    let (_, mid, _) = run(with_token().args(["lb", "list"]));
    assert_eq!(
        names(&mid)
            .iter()
            .filter(|n| *n == "blog-https-new")
            .count(),
        1,
        "{mid}"
    );

    // Without --resume a second start is refused: one replacement at a time.
    let (code, refused, _) = run(with_token().args([
        "lb",
        "replace",
        "blog-https",
        "--set",
        "network_stack=DUALSTACK",
    ]));
    assert_eq!(code, 2);
    assert_eq!(refused["error"]["code"], "conflict", "{refused}");

    let mut resume = with_token();
    resume.args(["lb", "replace", "blog-https", "--resume"]);
    steps(&mut resume);
    let (code, done, stderr) = run(&mut resume);
    assert_eq!(code, 0, "{stderr}\n{done}");
    assert_eq!(done["finished"], true, "{done}");
    assert_eq!(
        done["newId"],
        recorded.as_str(),
        "the recorded id is the one kept"
    );
    let create = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "create")
        .unwrap();
    assert_eq!(create["status"], "done");

    // Exactly one new load balancer, the old one gone, as many as before.
    let (_, after, _) = run(with_token().args(["lb", "list"]));
    let after_names = names(&after);
    assert_eq!(
        after_names
            .iter()
            .filter(|n| *n == "blog-https-new")
            .count(),
        1,
        "{after}"
    );
    assert!(!after_names.iter().any(|n| n == "blog-https"), "{after}");
    assert_eq!(after_names.len(), count_before);
    let (_, new_lb, _) = run(with_token().args(["lb", "get", &recorded]));
    assert_eq!(new_lb["network_stack"], "DUALSTACK", "{new_lb}");
    let new_ip = new_lb["ip"].as_str().unwrap().to_string();
    assert_ne!(new_ip, old_ip);

    // The journal has one create, the DNS change and the delete.
    let (_, history, _) = run(with_token().args(["history"]));
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "create").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"dns_apply"), "{kinds:?}");
    assert!(kinds.contains(&"delete"), "{kinds:?}");
    let dns = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "dns_apply")
        .unwrap();
    assert_eq!(dns["domain"], "sandbox-shop.test");
    assert_eq!(dns["status"], "done");
    assert!(dns["changes"].to_string().contains(&new_ip), "{dns}");

    // The DNS change is undone by its rollback (the set the replacement saved), journaled too.
    let (code, rolled, stderr) = run(with_token().args([
        "dns",
        "rollback",
        "--domain",
        "sandbox-shop.test",
        "--state-dir",
        &state_dir,
    ]));
    assert_eq!(code, 0, "{stderr}\n{rolled}");
    let (_, history, _) = run(with_token().args(["history"]));
    let newest = &history.as_array().unwrap()[0];
    assert_eq!(newest["kind"], "dns_rollback", "{history}");
    assert_eq!(newest["status"], "done");
    assert_eq!(
        newest["after"], rolled["writes"],
        "the after is the writes it took"
    );
}
