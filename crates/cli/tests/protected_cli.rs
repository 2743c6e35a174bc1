//! `--context NAME` reads the app's accounts: the account's stored API base is used (no
//! `--api-base` given), and on a protected account `lb delete` and `dns apply` refuse without
//! the typed confirmation — `--yes` does not waive it — and go ahead with it. Then the same
//! failures through the app's command layer (core's `Workspace`, which the Tauri commands
//! call) give the same code and the same sentence as the CLI.
//!
//! The token lives in the OS keychain under a name of this run. Where no keychain runs, the
//! CLI must fail with the keychain's own error, which is checked instead.
#![cfg(unix)]

mod support;

use std::path::Path;

use cutover_core::accounts::{AccountRecord, OsKeychain, SecretStore, Settings, SettingsStore};
use cutover_core::context::ConnectionKind;
use cutover_core::sandbox::SandboxOptions;
use cutover_core::workspace::Workspace;
use cutover_core::{lb, ApiError, ErrorCode};
use serde_json::Value;
use support::{cutover, run, standalone};

const SHOP_LB: &str = "5a0dbe00-0001-4000-8000-000000000001";
const SHOP_DOMAIN: &str = "sandbox-shop.test";

struct StoredToken(String);

impl Drop for StoredToken {
    fn drop(&mut self) {
        let _ = OsKeychain.delete(&self.0);
    }
}

fn write_settings(dir: &Path, name: &str, api_base: &str, protected: bool) {
    SettingsStore::in_dir(dir)
        .save(&Settings {
            accounts: vec![AccountRecord {
                name: name.to_string(),
                colour: None,
                protected,
                email: None,
                team: None,
                token_last4: "last".into(),
                api_base: Some(api_base.to_string()),
                note: None,
                kind: ConnectionKind::Sandbox,
            }],
            active: Some(name.to_string()),
        })
        .unwrap();
}

/// `cutover --json --context NAME ARGS` with the settings in `dir`.
fn with_context(dir: &Path, name: &str, args: &[&str]) -> (i32, Value, String) {
    let mut cmd = cutover();
    cmd.env("CUTOVER_CONFIG_DIR", dir)
        .args(["--json", "--context", name])
        .args(args);
    run(&mut cmd)
}

fn error_of(json: &Value) -> (String, String) {
    (
        json["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn api(err: ApiError) -> (String, String) {
    (err.code.as_str().to_string(), err.message)
}

#[test]
fn a_protected_context_needs_the_typed_name_in_the_cli_as_in_the_app() {
    let sb = standalone();
    let config = tempfile::tempdir().unwrap();
    let name = format!("cutover-protected-{}", std::process::id());
    write_settings(config.path(), &name, &sb.api_base, true);
    if let Err(err) = OsKeychain.set(&name, &sb.token) {
        // No keychain here: the account is still read, and the keychain's error is the answer.
        assert_eq!(err.code, ErrorCode::Keychain, "{}", err.message);
        let (code, json, stderr) = with_context(config.path(), &name, &["lb", "list"]);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(error_of(&json).0, "keychain", "{json}");
        return;
    }
    let _stored = StoredToken(name.clone());

    // The stored API base is used: no --api-base given, and the standalone Sandbox answers.
    let (code, json, stderr) = with_context(config.path(), &name, &["lb", "get", "api-by-tag"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["name"], "api-by-tag", "{json}");
    let api_id = json["id"].as_str().unwrap().to_string();

    // Protected: --yes alone does not delete, a wrong name does not either.
    let (code, json, stderr) = with_context(
        config.path(),
        &name,
        &["lb", "delete", "api-by-tag", "--yes"],
    );
    assert_eq!(code, 2, "{stderr}");
    let (cli_code, cli_message) = error_of(&json);
    assert_eq!(cli_code, "invalid_input", "{json}");
    assert!(cli_message.contains("protected account"), "{cli_message}");
    let (code, _, _) = with_context(
        config.path(),
        &name,
        &["lb", "delete", "api-by-tag", "--confirm", "api-by-ta"],
    );
    assert_eq!(code, 2);
    let (code, _, stderr) = with_context(config.path(), &name, &["lb", "get", &api_id]);
    assert_eq!(code, 0, "nothing was deleted: {stderr}");

    // The app's command layer, on the same account: the same code and sentence.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ws = Workspace::new(
            SettingsStore::in_dir(config.path()),
            Box::new(OsKeychain),
            SandboxOptions::default(),
        );
        let session = ws.session().await.unwrap();
        assert!(session.account.protected);
        let app_err = lb::delete(&session, None, "api-by-tag", None, false)
            .await
            .unwrap_err();
        assert_eq!(api(app_err), (cli_code.clone(), cli_message.clone()));

        // An unknown load balancer.
        let app_err = lb::find(&session.connection, "no-such-lb")
            .await
            .unwrap_err();
        let (_, json, _) = with_context(config.path(), &name, &["lb", "get", "no-such-lb"]);
        assert_eq!(api(app_err), error_of(&json));

        // A no-op edit: the app's editor applying what it opened on, the CLI an empty update.
        let sessions = lb::EditSessions::default();
        let start = lb::begin_edit(&session.connection, &sessions, &api_id)
            .await
            .unwrap();
        let app_err = lb::apply_edit(
            &session.connection,
            &sessions,
            &api_id,
            &start.edit,
            &lb::EditGuard::default(),
            |_| {},
        )
        .await
        .unwrap_err();
        let (_, json, _) = with_context(
            config.path(),
            &name,
            &["lb", "update", "api-by-tag", "--yes"],
        );
        assert_eq!(api(app_err), error_of(&json));

        // A DNS apply without the typed domain.
        let plan =
            cutover_core::dns::plan_for(&session.connection, SHOP_DOMAIN, SHOP_LB, &[], None)
                .await
                .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let guard = cutover_core::dns::ApplyGuard {
            force: true,
            ..Default::default()
        };
        let app_err =
            cutover_core::dns::apply_reviewed(&session, SHOP_LB, &plan, &guard, dir.path())
                .await
                .unwrap_err();
        let state = tempfile::tempdir().unwrap();
        let state_dir = state.path().to_str().unwrap();
        let (code, json, stderr) = with_context(
            config.path(),
            &name,
            &[
                "dns",
                "apply",
                "--domain",
                SHOP_DOMAIN,
                "--lb",
                SHOP_LB,
                "--yes",
                "--force",
                "--no-verify",
                "--state-dir",
                state_dir,
            ],
        );
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(api(app_err), error_of(&json));
        assert!(error_of(&json).1.contains("protected account"), "{json}");

        // With the domain typed it goes ahead; with the name typed the delete does.
        let (code, json, stderr) = with_context(
            config.path(),
            &name,
            &[
                "dns",
                "apply",
                "--domain",
                SHOP_DOMAIN,
                "--lb",
                SHOP_LB,
                "--confirm",
                SHOP_DOMAIN,
                "--force",
                "--no-verify",
                "--state-dir",
                state_dir,
            ],
        );
        assert_eq!(code, 0, "{stderr} {json}");
        assert_eq!(json["applied"], true, "{json}");
        let (code, json, stderr) = with_context(
            config.path(),
            &name,
            &["lb", "delete", "api-by-tag", "--confirm", "api-by-tag"],
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(json["deleted"], api_id.as_str(), "{json}");
        ws.shutdown().await;
    });
}

/// An account whose token is gone from the keychain: the CLI and the app say the same.
#[test]
fn a_missing_token_is_the_same_failure_in_the_cli_and_the_app() {
    let config = tempfile::tempdir().unwrap();
    let name = format!("cutover-no-token-{}", std::process::id());
    write_settings(config.path(), &name, "http://127.0.0.1:9", false);
    if OsKeychain.get(&name).is_err() {
        return; // no keychain: the keychain's own error, covered by the test above
    }
    let (code, json, _) = with_context(config.path(), &name, &["lb", "list"]);
    assert_eq!(code, 2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app_err = runtime.block_on(async {
        let ws = Workspace::new(
            SettingsStore::in_dir(config.path()),
            Box::new(OsKeychain),
            SandboxOptions::default(),
        );
        ws.session().await.unwrap_err()
    });
    assert_eq!(app_err.code, ErrorCode::Unauthorized);
    assert_eq!(api(app_err), error_of(&json));
}
