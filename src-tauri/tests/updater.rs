//! The updater, end to end (issue 18), offline: the test makes its own minisign key (never
//! committed), signs a small stand-in bundle the way `tauri signer sign` does (the version bound
//! in the trusted comment), and serves `latest.json` and the bundle from 127.0.0.1. An app of an
//! older version — a Tauri mock app with tauri-plugin-updater registered, configured like
//! tauri.conf.json but for the test's key and endpoint — checks through Cutover's own
//! `updater` functions, finds the newer release, downloads it and verifies its signature with the
//! plugin's own verification; a tampered bundle, a signature by another key and a signature bound
//! to another version are refused, and a release that is not newer is not offered.
//!
//! One setting differs from the shipped config: `dangerousInsecureTransportProtocol`, because the
//! local server speaks plain HTTP (the shipped endpoint is https, checked below).

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use cutover_app::updater::{acceptable, download_verified, find_update, updater_for};
use cutover_core::ErrorCode;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The stand-in bundle's file name (what the manifest's URL names).
const BUNDLE: &str = "Cutover_amd64.AppImage";

/// What the local update server serves; the test changes it between checks.
#[derive(Clone)]
struct Served {
    manifest: serde_json::Value,
    bundle: Vec<u8>,
}

type Shared = Arc<Mutex<Served>>;

async fn manifest(State(s): State<Shared>) -> impl IntoResponse {
    let manifest = s.lock().map(|s| s.manifest.clone()).unwrap_or_default();
    axum::Json(manifest)
}

async fn bundle(State(s): State<Shared>) -> impl IntoResponse {
    match s.lock() {
        Ok(s) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            s.bundle.clone(),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn serve(shared: Shared) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let app = Router::new()
        .route("/latest.json", get(manifest))
        .route(&format!("/{BUNDLE}"), get(bundle))
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A key pair made for this run, its public key as tauri.conf.json holds one (base64 of the
/// minisign public key file).
struct Key {
    pair: minisign::KeyPair,
    config_pubkey: String,
}

fn new_key() -> Key {
    let pair = minisign::KeyPair::generate_unencrypted_keypair().expect("a key pair");
    let public_file = pair.pk.to_box().expect("public key box").to_string();
    Key {
        config_pubkey: B64.encode(public_file),
        pair,
    }
}

/// The `.sig` file of `data` as the Tauri bundler writes it (the version bound in the trusted
/// comment, as `tauri build` of CLI 2.12 does), base64 as latest.json carries it.
fn sign(key: &Key, data: &[u8], version: &str) -> String {
    sign_with_comment(
        key,
        data,
        &format!("timestamp:1765000000\tfile:{BUNDLE}\tversion:{version}"),
    )
}

fn sign_with_comment(key: &Key, data: &[u8], trusted: &str) -> String {
    let signature = minisign::sign(
        Some(&key.pair.pk),
        &key.pair.sk,
        Cursor::new(data),
        Some(trusted),
        Some("signature from tauri secret key"),
    )
    .expect("sign");
    B64.encode(signature.to_string())
}

fn latest_json(addr: SocketAddr, version: &str, signature: &str) -> serde_json::Value {
    let platform = serde_json::json!({
        "url": format!("http://{addr}/{BUNDLE}"),
        "signature": signature,
    });
    serde_json::json!({
        "version": version,
        "notes": "Watch view: expiry timeline.\nUpdater.",
        "pub_date": "2026-12-01T10:00:00Z",
        // tauri-action's manifest has both spellings for a Linux AppImage.
        "platforms": {
            "linux-x86_64": platform,
            "linux-x86_64-appimage": platform,
            "darwin-aarch64": platform,
            "darwin-x86_64": platform,
            "windows-x86_64": platform,
        }
    })
}

/// The shipped `plugins.updater` section of tauri.conf.json.
fn shipped_updater_config() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json");
    let text = std::fs::read_to_string(&path).expect("read tauri.conf.json");
    let config: serde_json::Value = serde_json::from_str(&text).expect("tauri.conf.json is JSON");
    config["plugins"]["updater"].clone()
}

/// An app at `version` with the updater plugin, configured as shipped except for the key and
/// the endpoint (and plain HTTP allowed for the loopback server).
fn app_at(version: &str, key: &Key, addr: SocketAddr) -> tauri::App<tauri::test::MockRuntime> {
    let mut config = shipped_updater_config();
    config["pubkey"] = key.config_pubkey.clone().into();
    config["endpoints"] = serde_json::json!([format!("http://{addr}/latest.json")]);
    config["dangerousInsecureTransportProtocol"] = true.into();
    let mut context = tauri::test::mock_context(tauri::test::noop_assets());
    context.package_info_mut().version = version.parse().expect("a version");
    context
        .config_mut()
        .plugins
        .0
        .insert("updater".into(), config);
    tauri::test::mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(context)
        .expect("the mock app with the updater plugin")
}

fn newer_than(current: &str) -> String {
    let mut v = semver::Version::parse(current).expect("the app's version");
    v.minor += 1;
    v.patch = 0;
    v.to_string()
}

#[test]
fn the_shipped_config_has_a_real_key_and_an_https_endpoint() {
    let config = shipped_updater_config();
    let pubkey = config["pubkey"].as_str().expect("plugins.updater.pubkey");
    let text = String::from_utf8(B64.decode(pubkey).expect("the pubkey is base64"))
        .expect("the pubkey is text");
    minisign::PublicKeyBox::from_string(&text)
        .and_then(|b| b.into_public_key())
        .expect("the pubkey is a minisign public key");
    let endpoints = config["endpoints"].as_array().expect("endpoints");
    assert!(!endpoints.is_empty());
    for endpoint in endpoints {
        let url = endpoint.as_str().expect("an endpoint");
        assert!(url.starts_with("https://"), "{url} is not https");
    }
    assert!(
        config.get("dangerousInsecureTransportProtocol").is_none(),
        "the shipped app never allows plain HTTP for updates"
    );
    assert_eq!(
        config["requireSignedVersion"], true,
        "a signature must name the version it was made for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_build_finds_verifies_and_refuses_tampered_updates() {
    cutover_core::init_tls();
    let current = env!("CARGO_PKG_VERSION");
    let newer = newer_than(current);
    let key = new_key();
    let other_key = new_key();
    let bundle: Vec<u8> = (0..64 * 1024).map(|i| (i * 31 % 251) as u8).collect();

    let shared: Shared = Arc::new(Mutex::new(Served {
        manifest: serde_json::Value::Null,
        bundle: bundle.clone(),
    }));
    let addr = serve(shared.clone()).await;
    let set = |manifest: serde_json::Value, bundle: Vec<u8>| {
        *shared.lock().expect("served") = Served { manifest, bundle };
    };
    let app = app_at(current, &key, addr);
    let updater = updater_for(app.handle()).expect("the updater");

    // The genuine release: found, downloaded, verified, byte for byte what was signed.
    set(
        latest_json(addr, &newer, &sign(&key, &bundle, &newer)),
        bundle.clone(),
    );
    let update = find_update(&updater)
        .await
        .expect("the check")
        .expect("the newer release is offered");
    assert_eq!(update.version, newer);
    assert_eq!(update.current_version, current);
    assert!(update.body.as_deref().unwrap_or("").contains("Watch view"));
    let downloaded = download_verified(&update).await.expect("a verified bundle");
    assert_eq!(downloaded, bundle);

    // One byte flipped in the bundle on the server: refused, with the reason.
    let mut tampered = bundle.clone();
    tampered[1000] ^= 0x01;
    set(
        latest_json(addr, &newer, &sign(&key, &bundle, &newer)),
        tampered,
    );
    let update = find_update(&updater)
        .await
        .expect("check")
        .expect("offered");
    let err = download_verified(&update)
        .await
        .expect_err("a tampered bundle is refused");
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");
    assert!(
        err.message.contains("signature does not match")
            && err.message.contains("Nothing was installed"),
        "{}",
        err.message
    );
    assert_eq!(
        err.details.as_ref().expect("details")["update"],
        "bad_signature"
    );

    // Signed by a key that is not the app's: refused.
    set(
        latest_json(addr, &newer, &sign(&other_key, &bundle, &newer)),
        bundle.clone(),
    );
    let update = find_update(&updater)
        .await
        .expect("check")
        .expect("offered");
    let err = download_verified(&update)
        .await
        .expect_err("another key's signature is refused");
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");
    assert!(err.message.contains("refused"), "{}", err.message);

    // A genuine signature of this (older) build's bundle announced as the newer version: the
    // signed version does not match the announced one, so it is refused.
    set(
        latest_json(addr, &newer, &sign(&key, &bundle, current)),
        bundle.clone(),
    );
    let update = find_update(&updater)
        .await
        .expect("check")
        .expect("offered");
    let err = download_verified(&update)
        .await
        .expect_err("a signature for another version is refused");
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");

    // A genuine signature that names no version (older signers): refused, since the shipped
    // config requires the signed version (requireSignedVersion).
    set(
        latest_json(
            addr,
            &newer,
            &sign_with_comment(
                &key,
                &bundle,
                &format!("timestamp:1765000000\tfile:{BUNDLE}"),
            ),
        ),
        bundle.clone(),
    );
    let update = find_update(&updater)
        .await
        .expect("check")
        .expect("offered");
    let err = download_verified(&update)
        .await
        .expect_err("a signature without its version is refused");
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");
    assert!(err.message.contains("version"), "{}", err.message);

    // The same version, an older one, or a pre-release: nothing is offered.
    for version in [
        current.to_string(),
        "0.0.1".to_string(),
        format!("{newer}-beta.1"),
    ] {
        set(
            latest_json(addr, &version, &sign(&key, &bundle, &version)),
            bundle.clone(),
        );
        let found = find_update(&updater).await.expect("check");
        assert!(
            found.is_none(),
            "{version} must not be offered to {current}"
        );
        let offered = semver::Version::parse(&version).expect("version");
        assert!(!acceptable(
            &semver::Version::parse(current).expect("v"),
            &offered
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_or_unreadable_server_is_an_error_not_an_update() {
    cutover_core::init_tls();
    let key = new_key();
    // A port that was free a moment ago: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let app = app_at(env!("CARGO_PKG_VERSION"), &key, addr);
    let updater = updater_for(app.handle()).expect("the updater");
    let Err(err) = find_update(&updater).await else {
        panic!("no server is an error");
    };
    assert!(
        matches!(err.code, ErrorCode::Network | ErrorCode::Decode),
        "{err:?}"
    );

    let shared: Shared = Arc::new(Mutex::new(Served {
        manifest: serde_json::json!({ "hello": "not a manifest" }),
        bundle: Vec::new(),
    }));
    let addr = serve(shared).await;
    let app = app_at(env!("CARGO_PKG_VERSION"), &key, addr);
    let updater = updater_for(app.handle()).expect("the updater");
    let Err(err) = find_update(&updater).await else {
        panic!("a manifest without a version is an error");
    };
    assert_eq!(err.code, ErrorCode::Decode, "{err:?}");
}
