//! The Sandbox's DNS server answers from the records the API changes, over UDP and TCP.

mod common;

use std::net::SocketAddr;

use common::{quick, Api};
use cutover_sandbox::DOMAIN;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn resolver(addr: SocketAddr, protocol: Protocol) -> TokioResolver {
    let mut config = ResolverConfig::new();
    config.add_name_server(NameServerConfig::new(addr, protocol));
    let mut opts = ResolverOpts::default();
    // Every question must reach the server: a cache would hide the update under test.
    opts.cache_size = 0;
    opts.recursion_desired = false;
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build()
}

/// The A addresses and their TTLs for `name`; empty when the name has none.
async fn a_records(r: &TokioResolver, name: &str) -> Vec<(String, u32)> {
    match r.lookup(name, RecordType::A).await {
        Ok(lookup) => lookup
            .record_iter()
            .filter_map(|rec| match rec.data() {
                RData::A(a) => Some((a.0.to_string(), rec.ttl())),
                _ => None,
            })
            .collect(),
        // "No such record" is an answer; anything else (a timeout, a refused connection) is a
        // failure of the server under test, and must not pass as "no records".
        Err(e) if e.is_no_records_found() => Vec::new(),
        Err(e) => panic!("looking up {name} failed: {e}"),
    }
}

#[tokio::test]
async fn dns_answers_from_the_records_and_follows_api_updates() {
    let api = Api::start(quick()).await;
    let addr = api.sandbox.dns_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);

    // The control route says where it is, behind the token like the rest of /_sandbox.
    let r = api.get("/_sandbox/dns").await;
    assert_eq!(r.json()["addr"], addr.to_string());
    let anon = api
        .call_with_token(Method::GET, "/_sandbox/dns", None, None)
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);

    let udp = resolver(addr, Protocol::Udp);
    let tcp = resolver(addr, Protocol::Tcp);
    let apex = format!("{DOMAIN}.");
    let www = format!("www.{DOMAIN}.");
    assert_eq!(a_records(&udp, &apex).await, [("127.0.0.11".into(), 3600)]);
    assert_eq!(a_records(&tcp, &apex).await, [("127.0.0.11".into(), 3600)]);
    // www is a CNAME to the apex: the answer follows it.
    assert_eq!(a_records(&udp, &www).await, [("127.0.0.11".into(), 3600)]);

    // Point the apex elsewhere through the API: DNS answers the new address at once.
    let records = api
        .get(&format!("/v2/domains/{DOMAIN}/records"))
        .await
        .json()
        .clone();
    let apex_a = records["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "A" && r["name"] == "@")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/domains/{DOMAIN}/records/{apex_a}"),
            Some(&json!({"data": "127.0.2.1", "ttl": 60})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(a_records(&udp, &apex).await, [("127.0.2.1".into(), 60)]);
    assert_eq!(a_records(&tcp, &www).await, [("127.0.2.1".into(), 60)]);

    // NS comes from the records too; names outside the Sandbox's zones get nothing.
    let ns = udp.lookup(apex.as_str(), RecordType::NS).await.unwrap();
    assert_eq!(ns.record_iter().count(), 3);
    assert!(a_records(&udp, "example.com.").await.is_empty());
    assert!(a_records(&udp, &format!("nope.{DOMAIN}.")).await.is_empty());
    api.sandbox.shutdown().await;
}
