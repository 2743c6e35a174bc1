//! Issue 16: droplets told how to behave (PROXY headers, missing paths, no TLS), observed on
//! real connections to their servers on 127.0.0.1.

mod common;

use std::net::SocketAddr;

use common::tls_client::{http_get, https_get};
use common::{quick, Api};
use cutover_sandbox::{DropletBehaviour, Sandbox, SandboxOptions, SandboxScale, API_1, WEB_1};
use reqwest::{Method, StatusCode};
use rustls::pki_types::CertificateDer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn ca_der(pem: &str) -> CertificateDer<'static> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    CertificateDer::from(p.contents)
}

/// `GET path` over plain TCP; the response's status line.
async fn status_of(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: sandbox-shop.test\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    text.lines().next().unwrap_or_default().to_string()
}

async fn tell(api: &Api, id: u64, body: serde_json::Value) -> common::Reply {
    api.call(
        Method::POST,
        &format!("/_sandbox/droplets/{id}/behaviour"),
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn a_missing_path_answers_404_and_the_others_200_on_both_ports() {
    let api = Api::start(quick()).await;
    let http = api.sandbox.backend_addr(WEB_1, 80).unwrap();
    let https = api.sandbox.backend_addr(WEB_1, 443).unwrap();
    let ca = ca_der(api.sandbox.ca_pem());
    assert_eq!(status_of(http, "/healthz").await, "HTTP/1.1 200 OK");

    let r = tell(&api, WEB_1, json!({ "missing_paths": ["/healthz"] })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Only the given field changed; the answer is the whole behaviour.
    assert_eq!(
        r.json()["behaviour"],
        json!({
            "expects_proxy_protocol": false,
            "rejects_proxy_protocol": true,
            "missing_paths": ["/healthz"],
            "tls": true,
        })
    );
    assert_eq!(status_of(http, "/healthz").await, "HTTP/1.1 404 Not Found");
    assert_eq!(status_of(http, "/").await, "HTTP/1.1 200 OK");
    assert_eq!(status_of(http, "/health").await, "HTTP/1.1 200 OK");
    let reply = https_get(https, ca.clone(), "sandbox-shop.test", b"")
        .await
        .unwrap();
    assert!(reply.text.starts_with("HTTP/1.1 200"), "{}", reply.text);

    // The list is replaced, not added to; HTTPS serves the same paths.
    tell(&api, WEB_1, json!({ "missing_paths": ["/"] })).await;
    let reply = https_get(https, ca, "sandbox-shop.test", b"")
        .await
        .unwrap();
    assert!(reply.text.starts_with("HTTP/1.1 404"), "{}", reply.text);
    assert_eq!(status_of(http, "/healthz").await, "HTTP/1.1 200 OK");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_droplet_told_to_stop_speaking_tls_answers_plain_http_on_its_https_port() {
    let api = Api::start(quick()).await;
    let https = api.sandbox.backend_addr(WEB_1, 443).unwrap();
    let ca = ca_der(api.sandbox.ca_pem());
    assert!(https_get(https, ca.clone(), "sandbox-shop.test", b"")
        .await
        .is_ok());

    let r = tell(&api, WEB_1, json!({ "tls": false })).await;
    assert_eq!(r.json()["behaviour"]["tls"], false, "{}", r.text);
    let err = https_get(https, ca.clone(), "sandbox-shop.test", b"")
        .await
        .err()
        .expect("the TLS handshake fails");
    assert!(!err.to_string().is_empty());
    let plain = http_get(https, b"").await.unwrap();
    assert!(plain.starts_with("HTTP/1.1 200"), "{plain}");
    assert!(plain.contains("<h1>web-1</h1>"), "{plain}");

    // Back on, in place: same port, TLS again.
    tell(&api, WEB_1, json!({ "tls": true })).await;
    assert_eq!(api.sandbox.backend_addr(WEB_1, 443), Some(https));
    let reply = https_get(https, ca, "sandbox-shop.test", b"")
        .await
        .unwrap();
    assert!(reply.text.contains("<h1>web-1</h1>"), "{}", reply.text);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn proxy_flags_change_what_a_proxy_header_gets() {
    let api = Api::start(quick()).await;
    let http = api.sandbox.backend_addr(API_1, 80).unwrap();
    let header = b"PROXY TCP4 198.51.100.9 127.0.0.21 40001 80\r\n";
    // api-1 requires the header as seeded.
    assert!(http_get(http, header)
        .await
        .unwrap()
        .contains("<h1>api-1</h1>"));
    assert!(!http_get(http, b"")
        .await
        .unwrap_or_default()
        .contains("<h1>api-1</h1>"));

    let r = tell(
        &api,
        API_1,
        json!({ "expects_proxy_protocol": false, "rejects_proxy_protocol": true }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let refused = http_get(http, header).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert!(http_get(http, b"")
        .await
        .unwrap()
        .contains("<h1>api-1</h1>"));
    // The backends list follows.
    let listed = api
        .sandbox
        .backends()
        .into_iter()
        .find(|b| b.droplet_id == API_1)
        .unwrap();
    assert!(!listed.proxy_protocol);

    // Lenient: a PROXY header is accepted and reported.
    tell(&api, API_1, json!({ "rejects_proxy_protocol": false })).await;
    let lenient = http_get(http, header).await.unwrap();
    assert!(lenient.contains("198.51.100.9:40001"), "{lenient}");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_droplets_bad_fields_and_generated_droplets_are_refused() {
    let scale: SandboxScale = "lbs=10,droplets=2,records=0".parse().unwrap();
    let api = Api::start(SandboxOptions { scale, ..quick() }).await;
    let r = tell(&api, 999, json!({ "tls": false })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = tell(&api, WEB_1, json!({ "tls": "no" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = tell(&api, WEB_1, json!({ "missing_paths": ["healthz"] })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        api.sandbox.droplet_behaviour(WEB_1).unwrap().missing_paths,
        Vec::<String>::new(),
        "a refused request changes nothing"
    );
    let droplets = api.get("/v2/droplets?per_page=200").await;
    let generated = droplets.json()["droplets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_u64())
        .find(|id| api.sandbox.droplet_behaviour(*id).is_none())
        .expect("a generated droplet");
    let r = tell(&api, generated, json!({ "tls": false })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Without the token, nothing.
    let r = api
        .call_with_token(
            Method::POST,
            &format!("/_sandbox/droplets/{WEB_1}/behaviour"),
            Some(&json!({ "tls": false })),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(api.sandbox.droplet_behaviour(WEB_1).unwrap().tls);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn what_a_droplet_was_told_survives_a_restart_from_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let opts = SandboxOptions {
        state_file: Some(file.clone()),
        ..quick()
    };
    let sandbox = Sandbox::start(opts.clone()).await.unwrap();
    let told = DropletBehaviour {
        expects_proxy_protocol: false,
        rejects_proxy_protocol: false,
        missing_paths: vec!["/healthz".to_string()],
        tls: false,
    };
    sandbox
        .set_droplet_behaviour(WEB_1, told.clone())
        .await
        .unwrap();
    sandbox.shutdown_and_save().await.unwrap();

    let sandbox = Sandbox::start(opts).await.unwrap();
    assert_eq!(sandbox.droplet_behaviour(WEB_1), Some(told));
    let https = sandbox.backend_addr(WEB_1, 443).unwrap();
    assert_eq!(status_of(https, "/healthz").await, "HTTP/1.1 404 Not Found");
    assert_eq!(status_of(https, "/").await, "HTTP/1.1 200 OK");
    // The others are as seeded.
    assert_eq!(
        sandbox.droplet_behaviour(API_1),
        Some(DropletBehaviour {
            expects_proxy_protocol: true,
            ..DropletBehaviour::default()
        })
    );
    sandbox.shutdown().await;
}
