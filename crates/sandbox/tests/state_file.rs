//! Issue 14 item 3: a state file that cannot be written never loses changes silently. The
//! Sandbox refuses to start when the first save fails, a write whose save fails is answered
//! with DigitalOcean's 500, and no temporary file is left behind.

mod common;

use common::{quick, Api};
use cutover_sandbox::{Sandbox, SandboxError, SandboxOptions, WEB_1};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn new_lb(name: &str) -> Value {
    json!({
        "name": name,
        "region": "nyc3",
        "forwarding_rules": [{
            "entry_protocol": "http", "entry_port": 80,
            "target_protocol": "http", "target_port": 80
        }],
        "droplet_ids": [WEB_1],
    })
}

/// Names in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_state_file_that_cannot_be_written_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    // A path whose folder is a regular file: unwritable for root too (permission bits are not).
    let not_a_folder = dir.path().join("plain-file");
    std::fs::write(&not_a_folder, b"x").unwrap();
    let unwritable = [
        (not_a_folder.join("state.json"), "is a file, not a folder"),
        (dir.path().join("gone").join("state.json"), "does not exist"),
        // A file system nobody may create files in (whatever the cause is called there).
        (
            std::path::PathBuf::from("/proc/self/cutover-sandbox-state.json"),
            "no file can be created in that folder",
        ),
    ];
    for (path, cause) in unwritable {
        let err = Sandbox::start(SandboxOptions {
            state_file: Some(path.clone()),
            ..quick()
        })
        .await
        .err()
        .unwrap_or_else(|| panic!("started with {}", path.display()));
        let SandboxError::StateFile { path: named, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(named, &path);
        let text = err.to_string();
        assert!(text.contains(cause), "{text}");
    }
    assert_eq!(names(dir.path()), ["plain-file"], "nothing left behind");
}

#[tokio::test]
async fn a_write_whose_save_fails_is_a_500_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let api = Api::start(SandboxOptions {
        state_file: Some(file.clone()),
        ..quick()
    })
    .await;
    assert!(file.is_file(), "saved at start");

    // The state file becomes a non-empty folder: the temporary file is written, then the
    // rename over it fails.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("keep"), b"x").unwrap();
    let r = api
        .call(Method::POST, "/v2/load_balancers", Some(&new_lb("unsaved")))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
    let body = r.json();
    assert_eq!(body["id"], "server_error");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("could not be saved") && message.contains(&file.display().to_string()),
        "{message}"
    );
    assert!(body["request_id"].is_string());
    assert_eq!(
        names(dir.path()),
        ["sandbox.json"],
        "the temporary file was left"
    );
    // Records and the other writes answer the same way.
    let r = api
        .call(
            Method::POST,
            "/v2/domains/sandbox-shop.test/records",
            Some(&json!({"type": "A", "name": "x", "data": "127.0.2.9"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);

    // Once the file can be written again, the next save keeps everything made in memory.
    std::fs::remove_dir_all(&file).unwrap();
    let r = api
        .call(Method::POST, "/v2/load_balancers", Some(&new_lb("saved")))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let saved_names: Vec<&str> = saved["load_balancers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["lb"]["name"].as_str())
        .collect();
    assert!(
        saved_names.contains(&"unsaved") && saved_names.contains(&"saved"),
        "{saved_names:?}"
    );

    // A failed save at shutdown is an error too.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("keep"), b"x").unwrap();
    let err = api.sandbox.shutdown_and_save().await.unwrap_err();
    assert!(
        err.to_string().contains("could not be saved at shutdown"),
        "{err}"
    );
    assert_eq!(names(dir.path()), ["sandbox.json"]);
}
