//! The seeded droplets are real TLS servers with the certificates the scenario needs.

mod common;

use common::tls_client::{http_get, https_get};
use common::{quick, Api};
use cutover_sandbox::{API_1, WEB_1, WEB_2, WEB_3};
use reqwest::Method;
use rustls::pki_types::CertificateDer;

fn ca_der(pem: &str) -> CertificateDer<'static> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    CertificateDer::from(p.contents)
}

#[tokio::test]
async fn web_1_and_2_share_a_certificate_and_web_3_differs_until_fixed() {
    let api = Api::start(quick()).await;
    let ca = ca_der(api.sandbox.ca_pem());
    let mut leaves = Vec::new();
    for (id, name) in [(WEB_1, "web-1"), (WEB_2, "web-2"), (WEB_3, "web-3")] {
        let addr = api.sandbox.backend_addr(id, 443).unwrap();
        assert!(addr.ip().is_loopback());
        let reply = https_get(addr, ca.clone(), "sandbox-shop.test", b"")
            .await
            .unwrap();
        assert!(
            reply.text.contains(&format!("<h1>{name}</h1>")),
            "{}",
            reply.text
        );
        leaves.push(reply.peer_certs[0].clone());
        let plain = http_get(api.sandbox.backend_addr(id, 80).unwrap(), b"")
            .await
            .unwrap();
        assert!(plain.contains(&format!("<h1>{name}</h1>")));
    }
    assert_eq!(leaves[0], leaves[1]);
    assert_ne!(leaves[0], leaves[2]);
    let (_, odd) = x509_parser::parse_x509_certificate(leaves[2].as_ref()).unwrap();
    let left = odd.validity().time_to_expiration().unwrap();
    assert!(
        left <= time::Duration::days(3),
        "web-3's certificate expires within 3 days"
    );
    // The custom certificate in the API is the fleet's.
    let certs = api
        .get(&format!(
            "/v2/certificates/{}",
            cutover_sandbox::CERT_SHOP_CUSTOM_ID
        ))
        .await;
    assert_eq!(
        certs.json()["certificate"]["sha1_fingerprint"],
        cutover_sandbox::ca::sha1_hex(leaves[0].as_ref()).as_str()
    );

    // Fixed over HTTP: web-3 now serves the fleet's certificate.
    let r = api
        .call(
            Method::POST,
            &format!("/_sandbox/droplets/{WEB_3}/fix_certificate"),
            None,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::NO_CONTENT);
    let addr = api.sandbox.backend_addr(WEB_3, 443).unwrap();
    let reply = https_get(addr, ca.clone(), "sandbox-shop.test", b"")
        .await
        .unwrap();
    assert_eq!(reply.peer_certs[0], leaves[0]);
    assert!(api.sandbox.fix_droplet_certificate(999).await.is_err());
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn api_droplets_expect_proxy_protocol() {
    let api = Api::start(quick()).await;
    let ca = ca_der(api.sandbox.ca_pem());
    let backends = api.sandbox.backends();
    let b = backends
        .iter()
        .find(|b| b.droplet_id == API_1 && b.port == 443)
        .unwrap();
    assert!(b.proxy_protocol);
    assert_eq!(b.public_ipv4.to_string(), "127.0.0.21");
    assert!(https_get(b.addr, ca.clone(), "api.sandbox-shop.test", b"")
        .await
        .is_err());
    let reply = https_get(
        b.addr,
        ca,
        "api.sandbox-shop.test",
        b"PROXY TCP4 192.0.2.10 127.0.0.21 50000 443\r\n",
    )
    .await
    .unwrap();
    assert!(reply.text.contains("<h1>api-1</h1>"));
    // The HTTP form of the map agrees.
    let r = api.get("/_sandbox/backends").await;
    assert_eq!(
        r.json()["backends"].as_array().unwrap().len(),
        backends.len()
    );
    let pem = api.get("/_sandbox/ca.pem").await;
    assert!(pem.text.contains("BEGIN CERTIFICATE"));
    api.sandbox.shutdown().await;
}

/// The web droplets behave like nginx without `proxy_protocol`: a PROXY header they do not
/// expect is a 400 on HTTP and a failed handshake on HTTPS — what turning PROXY protocol on for
/// their load balancer would do to them (the backend preflight predicts it against the Sandbox).
#[tokio::test]
async fn web_droplets_refuse_a_proxy_header_they_do_not_expect() {
    let api = Api::start(quick()).await;
    let ca = ca_der(api.sandbox.ca_pem());
    let https = api.sandbox.backend_addr(WEB_1, 443).unwrap();
    let http = api.sandbox.backend_addr(WEB_1, 80).unwrap();
    let proxy = b"PROXY TCP4 192.0.2.10 127.0.0.11 50000 443\r\n";
    assert!(https_get(https, ca.clone(), "sandbox-shop.test", proxy)
        .await
        .is_err());
    assert!(https_get(https, ca, "sandbox-shop.test", b"").await.is_ok());
    let refused = http_get(http, proxy).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    let served = http_get(http, b"").await.unwrap();
    assert!(served.contains("<h1>web-1</h1>"), "{served}");
    api.sandbox.shutdown().await;
}
