//! The client against a scripted local server: error kinds, retries, rate limits, pagination,
//! safe updates — and, on every test, the contract: each request body the client sends (and
//! each JSON answer the fixtures give) validates against `spec/openapi.yaml`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover_digitalocean::plan::plan_update;
use cutover_digitalocean::{
    CertificateRequest, Client, ClientConfig, DomainRecordRequest, Error, ForwardingRule,
    HealthCheck, LoadBalancer, LoadBalancerRequest, StickySessions,
};
use serde_json::{json, Value};
use support::*;

fn request() -> LoadBalancerRequest {
    LoadBalancerRequest {
        name: "web-lb-01".into(),
        region: Some("nyc3".into()),
        size_unit: Some(1),
        forwarding_rules: vec![
            ForwardingRule::new("http", 80, "http", 80),
            ForwardingRule::new("https", 443, "https", 443).with_passthrough(),
        ],
        health_check: Some(HealthCheck::api_default()),
        sticky_sessions: Some(StickySessions::none()),
        enable_proxy_protocol: true,
        droplet_ids: Some(vec![3164444, 3164445]),
        ..LoadBalancerRequest::default()
    }
}

/// Asserts the token is nowhere in an error's Display or Debug.
fn assert_no_token(err: &Error) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN), "token leaked: {text}");
    assert!(!text.contains("testtoken"), "token leaked: {text}");
}

// ---------------------------------------------------------------------------------------------
// Every endpoint, bodies checked against the spec
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_endpoint_round_trips_and_sends_spec_valid_bodies() {
    let server = TestServer::start(|seen| {
        let p = seen.path.as_str();
        match (seen.method.as_str(), p) {
            ("GET", "/v2/account") => Reply::ok(json!({"account": {
                "droplet_limit": 25, "floating_ip_limit": 5, "email": "sammy@example.com",
                "name": "Sammy", "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                "email_verified": true, "status": "active", "status_message": "",
                "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "My Team"}}})),
            ("GET", "/v2/regions") => Reply::ok(json!({"regions": [region()], "links": {}, "meta": {"total": 1}})),
            ("GET", "/v2/tags") => Reply::ok(json!({"tags": [{"name": "web", "resources": {"count": 2, "droplets": {"count": 2}}}], "links": {}, "meta": {"total": 1}})),
            ("GET", "/v2/vpcs") => Reply::ok(json!({"vpcs": [{
                "id": "5a4981aa-9653-4bd1-bef5-d6bff52042e4", "urn": "do:vpc:5a4981aa-9653-4bd1-bef5-d6bff52042e4",
                "name": "default-nyc3", "description": "", "region": "nyc3", "ip_range": "10.10.10.0/24",
                "default": true, "created_at": "2020-03-13T19:20:47.442049222Z"}], "links": {}, "meta": {"total": 1}})),
            ("GET", "/v2/load_balancers") => Reply::ok(page_of("load_balancers", p, 2, seen.page(), 200, lb)),
            ("POST", "/v2/load_balancers") => {
                let mut created = lb(9);
                created["status"] = json!("new");
                Reply::json(202, json!({"load_balancer": created}))
            }
            ("GET", p) if p.starts_with("/v2/load_balancers/") => Reply::ok(json!({"load_balancer": lb(1)})),
            ("PUT", p) if p.starts_with("/v2/load_balancers/") => Reply::ok(json!({"load_balancer": lb(1)})),
            ("DELETE", p) if p.starts_with("/v2/load_balancers/") => Reply::no_content(),
            ("POST", p) if p.starts_with("/v2/load_balancers/") => Reply::no_content(),
            ("GET", "/v2/droplets") => Reply::ok(json!({
                "droplets": [droplet(3164444, "web-1", "192.241.165.154")], "links": {}, "meta": {"total": 1}})),
            ("GET", "/v2/droplets/3164444") => Reply::ok(json!({"droplet": droplet(3164444, "web-1", "192.241.165.154")})),
            ("GET", "/v2/certificates") => Reply::ok(json!({
                "certificates": [certificate("892071a0-bb95-49bc-8021-3afd67a210bf", "web-cert")], "links": {}, "meta": {"total": 1}})),
            ("POST", "/v2/certificates") => Reply::json(201, json!({"certificate": certificate("ba9b9c18-6c59-46c2-99df-70da170a42ba", "new-cert")})),
            ("GET", p) if p.starts_with("/v2/certificates/") => Reply::ok(json!({"certificate": certificate("892071a0-bb95-49bc-8021-3afd67a210bf", "web-cert")})),
            ("DELETE", p) if p.starts_with("/v2/certificates/") => Reply::no_content(),
            ("GET", "/v2/domains") => Reply::ok(json!({"domains": [{"name": "example.com", "ttl": 1800, "zone_file": "$ORIGIN example.com."}], "links": {}, "meta": {"total": 1}})),
            ("GET", "/v2/domains/example.com") => Reply::ok(json!({"domain": {"name": "example.com", "ttl": 1800, "zone_file": null}})),
            ("GET", "/v2/domains/example.com/records") => Reply::ok(json!({"domain_records": [
                {"id": 28448429, "type": "NS", "name": "@", "data": "ns1.digitalocean.com", "priority": null, "port": null, "ttl": 1800, "weight": null, "flags": null, "tag": null},
                {"id": 28448433, "type": "A", "name": "@", "data": "1.2.3.4", "priority": null, "port": null, "ttl": 1800, "weight": null, "flags": null, "tag": null}
            ], "links": {}, "meta": {"total": 2}})),
            ("GET", p) if p.starts_with("/v2/domains/example.com/records/") => Reply::ok(json!({"domain_record": {"id": 28448433, "type": "A", "name": "@", "data": "1.2.3.4", "ttl": 1800}})),
            ("POST", "/v2/domains/example.com/records") => Reply::json(201, json!({"domain_record": {"id": 28448434, "type": "A", "name": "www", "data": "203.0.113.10", "ttl": 1800}})),
            ("PUT", p) if p.starts_with("/v2/domains/example.com/records/") => Reply::ok(json!({"domain_record": {"id": 28448434, "type": "A", "name": "www", "data": "203.0.113.11", "ttl": 1800}})),
            ("DELETE", p) if p.starts_with("/v2/domains/example.com/records/") => Reply::no_content(),
            _ => Reply::error(404, "not_found", "no route in the test server"),
        }
    })
    .await;
    let client = server.client();

    let account = client.account().await.unwrap();
    assert_eq!(account.email, "sammy@example.com");
    assert_eq!(account.team.unwrap().name, "My Team");
    assert_eq!(client.list_regions().await.unwrap()[0].slug, "nyc3");
    assert_eq!(client.list_tags().await.unwrap()[0].name, "web");
    assert!(client.list_vpcs().await.unwrap()[0].default);

    let lbs = client.list_load_balancers().await.unwrap();
    assert_eq!(lbs.len(), 2);
    let one = client.get_load_balancer(&lbs[1].id).await.unwrap();
    assert!(one.has_passthrough());
    let created = client.create_load_balancer(&request()).await.unwrap();
    assert_eq!(created.status, "new");
    // A tag-based create.
    let tagged = LoadBalancerRequest {
        droplet_ids: None,
        tag: Some("web".into()),
        ..request()
    };
    client.create_load_balancer(&tagged).await.unwrap();
    client.validate_create(&request()).await.unwrap();
    client
        .update_load_balancer(&one.id, &one.to_request())
        .await
        .unwrap();
    client.add_droplets(&one.id, &[3164446]).await.unwrap();
    client.remove_droplets(&one.id, &[3164446]).await.unwrap();
    let rule = ForwardingRule::new("tcp", 5432, "tcp", 5432);
    client
        .add_forwarding_rules(&one.id, std::slice::from_ref(&rule))
        .await
        .unwrap();
    client
        .remove_forwarding_rules(&one.id, &[rule])
        .await
        .unwrap();
    client.delete_load_balancer(&one.id).await.unwrap();

    let droplets = client.list_droplets().await.unwrap();
    assert_eq!(
        droplets[0].public_ipv4s(),
        vec!["192.241.165.154".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    client.list_droplets_by_tag("web").await.unwrap();
    assert_eq!(client.get_droplet(3164444).await.unwrap().name, "web-1");

    let certs = client.list_certificates().await.unwrap();
    client.get_certificate(&certs[0].id).await.unwrap();
    client
        .create_certificate(&CertificateRequest::LetsEncrypt {
            name: "new-cert".into(),
            dns_names: vec!["example.com".into(), "www.example.com".into()],
        })
        .await
        .unwrap();
    client
        .create_certificate(&CertificateRequest::Custom {
            name: "custom".into(),
            private_key: "-----BEGIN PRIVATE KEY-----\n...".into(),
            leaf_certificate: "-----BEGIN CERTIFICATE-----\n...".into(),
            certificate_chain: Some("-----BEGIN CERTIFICATE-----\n...".into()),
        })
        .await
        .unwrap();
    client.delete_certificate(&certs[0].id).await.unwrap();

    assert_eq!(client.list_domains().await.unwrap()[0].name, "example.com");
    assert_eq!(
        client.get_domain("example.com").await.unwrap().ttl,
        Some(1800)
    );
    let records = client.list_domain_records("example.com").await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].data, "1.2.3.4");
    client
        .get_domain_record("example.com", 28448433)
        .await
        .unwrap();
    let created = client
        .create_domain_record(
            "example.com",
            &DomainRecordRequest::simple("A", "www", "203.0.113.10"),
        )
        .await
        .unwrap();
    let mut update = DomainRecordRequest::from(&created);
    update.data = Some("203.0.113.11".into());
    client
        .update_domain_record("example.com", created.id, &update)
        .await
        .unwrap();
    client
        .delete_domain_record("example.com", created.id)
        .await
        .unwrap();

    // Paths and methods as the spec names them.
    let seen = server.seen();
    assert!(seen.iter().any(|s| s.method == "DELETE"
        && s.path.ends_with("/droplets")
        && s.body == Some(json!({"droplet_ids": [3164446]}))));
    assert!(seen
        .iter()
        .any(|s| s.path == "/v2/droplets"
            && s.query.get("tag_name").map(String::as_str) == Some("web")));
    assert!(seen
        .iter()
        .all(|s| s.authorization.as_deref() == Some(&*format!("Bearer {TOKEN}"))));
    let lists: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path == "/v2/load_balancers" && s.method == "GET")
        .collect();
    assert_eq!(
        lists[0].query.get("per_page").map(String::as_str),
        Some("200")
    );
    let validate_only = seen
        .iter()
        .filter(|s| {
            s.body
                .as_ref()
                .is_some_and(|b| b.get("validate_only") == Some(&json!(true)))
        })
        .count();
    assert_eq!(validate_only, 1);
    assert!(server.bodies_checked() >= 12, "{}", server.bodies_checked());
    server.assert_contract();
    assert!(client.rate_limit().is_some());
}

// ---------------------------------------------------------------------------------------------
// Error kinds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_error_kind_is_typed_and_carries_the_request_id() {
    let server = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/load_balancers/forbidden" => Reply::error(403, "forbidden", "You do not have access for the attempted action."),
        "/v2/load_balancers/busy" => Reply::error(403, "forbidden", "Load Balancer can't be updated while it processes previous actions"),
        "/v2/load_balancers/missing" => Reply::json(404, json!({"id": "not_found", "message": "The resource you were accessing could not be found."})),
        "/v2/load_balancers/invalid" => Reply::error(422, "unprocessable_entity", "need to provide either a tag or a list of droplets"),
        "/v2/load_balancers/conflict" => Reply::error(409, "conflict", "conflict"),
        "/v2/load_balancers/garbled" => Reply::raw(200, "{not json"),
        "/v2/load_balancers/shape" => Reply::ok(json!({"load_balancer": {"forwarding_rules": "oops"}})).off_contract(),
        "/v2/load_balancers/unimplemented" => Reply::error(501, "server_error", "not implemented").off_contract(),
        _ => Reply::error(404, "not_found", "no route"),
    })
    .await;
    let client = server.client();

    let err = client.get_load_balancer("forbidden").await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("req-forbidden"));

    let err = client.get_load_balancer("busy").await.unwrap_err();
    assert!(err.is_busy(), "{err:?}");
    assert!(err.to_string().contains("wait"), "{err}");

    let err = client.get_load_balancer("missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.to_string(), "load balancer missing was not found (404)");
    // No request_id in the body: the x-request-id header.
    assert_eq!(err.request_id(), Some("hdr-request-id"));

    let err = client.get_load_balancer("invalid").await.unwrap_err();
    match &err {
        Error::Validation {
            message, findings, ..
        } => {
            assert_eq!(
                message,
                "need to provide either a tag or a list of droplets"
            );
            assert!(findings.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(422));

    let err = client.get_load_balancer("conflict").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 409, .. }), "{err:?}");

    let err = client.get_load_balancer("garbled").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("hdr-request-id"));
    let err = client.get_load_balancer("shape").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    // 501 is not retried.
    let err = client.get_load_balancer("unimplemented").await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 501, .. }), "{err:?}");
    assert_eq!(server.count("GET", "/v2/load_balancers/unimplemented"), 1);

    // A wrong token: 401.
    let wrong =
        Client::new(ClientConfig::new("dop_v1_wrong").with_base_url(server.base_url())).unwrap();
    let err = wrong.account().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("req-unauthorized"));
    assert_no_token(&err);
    server.assert_contract();
}

#[tokio::test]
async fn rate_limited_and_server_errors_after_retries() {
    let server = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/account" => Reply::error(429, "too_many_requests", "API rate limit exceeded.")
            .header("ratelimit-remaining", "0"),
        _ => Reply::error(
            500,
            "server_error",
            "Server was unable to give you a response.",
        ),
    })
    .await;
    let client = server.client();
    let err = client.account().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("req-too_many_requests"));
    // 1 try + 3 retries (the reset is far away, so the budget runs out... or the backoff is used:
    // either way the client stops).
    assert!(server.count("GET", "/v2/account") >= 1);
    let rate = client.rate_limit().unwrap();
    assert_eq!(rate.remaining, 0);
    assert_eq!(rate.limit, 5000);

    let err = client.list_load_balancers().await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_eq!(
        server.count("GET", "/v2/load_balancers"),
        4,
        "1 try + 3 retries"
    );
    assert_no_token(&err);
    server.assert_contract();
}

#[tokio::test]
async fn network_failure_is_typed() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = ClientConfig::new(TOKEN).with_base_url(format!("http://{addr}"));
    cfg.max_retries = 1;
    cfg.retry_wait_min = Duration::from_millis(1);
    cfg.retry_wait_max = Duration::from_millis(2);
    let err = Client::new(cfg).unwrap().account().await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert_eq!(err.request_id(), None);
    assert_no_token(&err);
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = TestServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::error(429, "too_many_requests", "API rate limit exceeded.")
                .header("retry-after", "1")
        } else {
            Reply::ok(json!({"load_balancers": [lb(1)], "links": {}, "meta": {"total": 1}}))
        }
    })
    .await;
    let client = server.client();
    let started = Instant::now();
    let lbs = client.list_load_balancers().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(lbs.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        elapsed >= Duration::from_millis(950),
        "waited only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "waited {elapsed:?}");
    server.assert_contract();
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_not_waited() {
    let server = TestServer::start(|_| {
        Reply::error(429, "too_many_requests", "API rate limit exceeded.")
            .header("retry-after", "3600")
    })
    .await;
    let client = server.client();
    let started = Instant::now();
    let err = client.account().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3600)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("GET", "/v2/account"), 1);
}

#[tokio::test]
async fn get_and_delete_are_retried_but_writes_never_blindly() {
    let counts = Arc::new(Mutex::new(std::collections::HashMap::<String, usize>::new()));
    let c = counts.clone();
    let server = TestServer::start(move |seen| {
        let key = format!("{} {}", seen.method, seen.path);
        let n = {
            let mut map = c.lock().unwrap();
            let n = map.entry(key).or_default();
            *n += 1;
            *n
        };
        if n == 1 {
            return Reply::error(503, "server_error", "Service Unavailable").off_contract();
        }
        match seen.method.as_str() {
            "GET" => Reply::ok(json!({"load_balancer": lb(1)})),
            "PUT" => Reply::ok(json!({"load_balancer": lb(1)})),
            "DELETE" => Reply::no_content(),
            _ => Reply::json(202, json!({"load_balancer": lb(1)})),
        }
    })
    .await;
    let client = server.client();
    let id = "4de7ac8b-495b-4884-9a69-000000000001";
    let path = format!("/v2/load_balancers/{id}");
    let lb = client.get_load_balancer(id).await.unwrap();
    assert_eq!(server.count("GET", &path), 2);
    // A full-replace PUT that got a 5xx may have been applied: not re-sent blindly.
    let err = client
        .update_load_balancer(id, &lb.to_request())
        .await
        .unwrap_err();
    assert!(err.is_maybe_applied(), "{err:?}");
    assert_eq!(server.count("PUT", &path), 1);
    client.delete_load_balancer(id).await.unwrap();
    assert_eq!(server.count("DELETE", &path), 2);

    let err = client.create_load_balancer(&request()).await.unwrap_err();
    assert!(err.is_maybe_applied(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        server.count("POST", "/v2/load_balancers"),
        1,
        "POST must not be retried"
    );
    server.assert_contract();
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn listings_fetch_every_page_concurrently_in_order() {
    let server = TestServer::start(|seen| {
        let per_page: u32 = seen
            .query
            .get("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(20);
        Reply::ok(page_of(
            "load_balancers",
            "/v2/load_balancers",
            2_150,
            seen.page(),
            per_page,
            lb,
        ))
        .delay(Duration::from_millis(30))
    })
    .await;
    let client = server.client();
    let lbs = client.list_load_balancers().await.unwrap();
    assert_eq!(lbs.len(), 2_150);
    for (i, lb) in lbs.iter().enumerate() {
        assert_eq!(lb.name, format!("lb-{i:04}"));
    }
    let pages: Vec<u32> = server.seen().iter().map(Seen::page).collect();
    assert_eq!(pages.len(), 11);
    assert_eq!(pages[0], 1);
    let mut rest = pages[1..].to_vec();
    rest.sort();
    assert_eq!(rest, (2..=11).collect::<Vec<_>>());
    assert!(
        server.max_in_flight() <= 4,
        "{} in flight",
        server.max_in_flight()
    );
    assert!(
        server.max_in_flight() >= 2,
        "pages were not fetched concurrently"
    );
    server.assert_contract();
}

#[tokio::test]
async fn a_failing_page_fails_the_listing() {
    let server = TestServer::start(|seen| {
        if seen.page() == 3 {
            return Reply::error(
                500,
                "server_error",
                "Server was unable to give you a response.",
            );
        }
        Reply::ok(page_of(
            "droplets",
            "/v2/droplets",
            1_000,
            seen.page(),
            200,
            |i| droplet(1000 + i as u64, &format!("d{i}"), "192.0.2.1"),
        ))
    })
    .await;
    let client = server.client();
    let err = client.list_droplets().await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    // Page 3 was retried, then the whole listing failed: nothing silently dropped.
    assert_eq!(server.seen().iter().filter(|s| s.page() == 3).count(), 4);
    server.assert_contract();
}

#[tokio::test]
async fn meta_total_drives_pagination_without_links() {
    // Some listings only give meta.total.
    let server = TestServer::start(|seen| {
        let mut page = page_of(
            "certificates",
            "/v2/certificates",
            450,
            seen.page(),
            200,
            |i| {
                certificate(
                    &format!("892071a0-bb95-49bc-8021-{i:012}"),
                    &format!("c{i}"),
                )
            },
        );
        page["links"] = json!({});
        Reply::ok(page)
    })
    .await;
    let certs = server.client().list_certificates().await.unwrap();
    assert_eq!(certs.len(), 450);
    assert_eq!(certs[449].name, "c449");
    server.assert_contract();
}

// ---------------------------------------------------------------------------------------------
// Validation before sending, dry runs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_client_refuses_requests_with_error_findings() {
    let server = TestServer::start(|_| Reply::json(202, json!({"load_balancer": lb(1)}))).await;
    let client = server.client();
    let mut bad = request();
    bad.forwarding_rules[1].certificate_id = Some("892071a0-bb95-49bc-8021-3afd67a210bf".into());
    let err = client.create_load_balancer(&bad).await.unwrap_err();
    match &err {
        Error::Validation {
            findings,
            request_id,
            ..
        } => {
            assert_eq!(findings[0].code, "rule.https.cert_and_passthrough");
            assert_eq!(findings[0].field, "forwarding_rules[1].certificate_id");
            assert!(request_id.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(server.seen().is_empty(), "nothing may be sent");
    let err = client
        .add_forwarding_rules("x", &[ForwardingRule::new("https", 443, "http", 80)])
        .await
        .unwrap_err();
    assert_eq!(err.findings()[0].code, "rule.https.cert_or_passthrough");
    assert!(server.seen().is_empty());

    // Skipping local validation sends it (the API decides).
    let mut bad_but_valid_json = request();
    bad_but_valid_json.sticky_sessions = Some(StickySessions::cookies("x", 0));
    client
        .without_local_validation()
        .create_load_balancer(&bad_but_valid_json)
        .await
        .unwrap();
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn dry_runs_send_validate_only_and_report_the_api_message() {
    let server = TestServer::start(|seen| {
        let body = seen.body.as_ref();
        match seen.method.as_str() {
            "GET" => Reply::ok(json!({"load_balancer": lb(1)})),
            _ if body.and_then(|b| b["redirect_http_to_https"].as_bool()) == Some(true) => {
                Reply::error(
                    422,
                    "unprocessable_entity",
                    "redirect_http_to_https requires an https rule on port 443",
                )
            }
            // `validate_only` is undocumented: its 204 is not in the spec.
            _ => Reply::no_content().off_contract(),
        }
    })
    .await;
    let client = server.client();
    let current = client
        .get_load_balancer("4de7ac8b-495b-4884-9a69-000000000001")
        .await
        .unwrap();
    let mut desired = current.clone();
    desired.name = "renamed".into();
    let plan = plan_update(&current, &desired);
    let warnings = client.dry_run(&plan).await.unwrap();
    assert!(warnings.iter().all(|w| !w.is_error()));
    let put = server
        .seen()
        .into_iter()
        .find(|s| s.method == "PUT")
        .unwrap();
    assert_eq!(put.body.as_ref().unwrap()["validate_only"], json!(true));

    // The API's 422 message comes back as is (the local validator passes this one: the LB has
    // http:80 and https:443).
    let mut desired = current.clone();
    desired.redirect_http_to_https = true;
    let err = client
        .dry_run(&plan_update(&current, &desired))
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "redirect_http_to_https requires an https rule on port 443"
    );
    assert_eq!(err.request_id(), Some("req-unprocessable_entity"));
    server.assert_contract();
}

// ---------------------------------------------------------------------------------------------
// Safe updates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn apply_refuses_a_stale_plan_and_writes_nothing() {
    let version = Arc::new(AtomicUsize::new(1));
    let v = version.clone();
    let server = TestServer::start(move |seen| match seen.method.as_str() {
        "GET" => {
            let mut lb = lb(1);
            if v.load(Ordering::SeqCst) > 1 {
                // Someone else changed it in the meantime.
                lb["forwarding_rules"][0]["target_port"] = json!(8080);
                lb["status"] = json!("active");
            }
            Reply::ok(json!({"load_balancer": lb}))
        }
        _ => Reply::ok(json!({"load_balancer": lb(1)})),
    })
    .await;
    let client = server.client();
    let id = "4de7ac8b-495b-4884-9a69-000000000001";
    let current = client.get_load_balancer(id).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    let plan = plan_update(&current, &desired);
    assert_eq!(plan.changes.len(), 1);

    version.store(2, Ordering::SeqCst);
    let err = client.apply(&plan).await.unwrap_err();
    match &err {
        Error::Conflict { changes } => {
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].path, "forwarding_rules[0].target_port");
            assert_eq!(changes[0].before, json!(80));
            assert_eq!(changes[0].after, json!(8080));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("PUT", &format!("/v2/load_balancers/{id}")), 0);

    // A fresh plan applies.
    let current = client.get_load_balancer(id).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    client
        .apply(&plan_update(&current, &desired))
        .await
        .unwrap();
    assert_eq!(server.count("PUT", &format!("/v2/load_balancers/{id}")), 1);
    server.assert_contract();
}

#[tokio::test]
async fn unknown_fields_round_trip_through_an_update() {
    let server = TestServer::start(|seen| {
        let mut lb = lb(1);
        lb["subnet_uuid"] = json!("3f2c9a52-0e36-4a1f-9b3e-1a4f3b8d9c10");
        lb["future_setting"] = json!({"mode": "fast", "level": 3});
        lb["tag"] = json!("web");
        match seen.method.as_str() {
            "GET" => Reply::ok(json!({"load_balancer": lb})),
            _ => Reply::ok(json!({"load_balancer": lb})),
        }
    })
    .await;
    let client = server.client();
    let id = "4de7ac8b-495b-4884-9a69-000000000001";
    let current: LoadBalancer = client.get_load_balancer(id).await.unwrap();
    assert!(current.is_tag_based());
    let mut desired = current.clone();
    desired.http_idle_timeout_seconds = Some(120);
    let plan = plan_update(&current, &desired);
    client.apply(&plan).await.unwrap();
    let put = server
        .seen()
        .into_iter()
        .find(|s| s.method == "PUT")
        .unwrap();
    let body: Value = put.body.unwrap();
    assert_eq!(body["subnet_uuid"], "3f2c9a52-0e36-4a1f-9b3e-1a4f3b8d9c10");
    assert_eq!(body["future_setting"], json!({"mode": "fast", "level": 3}));
    // The API's quirks: tag only, region slug, size_unit, nothing read-only.
    assert_eq!(body["tag"], "web");
    assert!(body.get("droplet_ids").is_none());
    assert_eq!(body["region"], "nyc3");
    assert_eq!(body["size_unit"], 1);
    assert_eq!(body["http_idle_timeout_seconds"], 120);
    for read_only in ["id", "ip", "status", "created_at"] {
        assert!(body.get(read_only).is_none(), "{read_only} sent");
    }
    // Everything else is sent in full (a PUT is a full replace).
    assert_eq!(body["forwarding_rules"].as_array().unwrap().len(), 2);
    assert_eq!(body["health_check"]["port"], 80);
    assert_eq!(body["firewall"]["allow"], json!(["ip:1.2.3.4"]));
    server.assert_contract();
}

#[tokio::test]
async fn wait_until_active_reports_progress_and_waits_out_busy() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let server = TestServer::start(move |_| {
        let n = p.fetch_add(1, Ordering::SeqCst);
        let mut lb = lb(1);
        match n {
            0 => lb["status"] = json!("new"),
            1 => {
                return Reply::error(
                    403,
                    "forbidden",
                    "Load Balancer can't be updated while it processes previous actions",
                )
            }
            2 => lb["status"] = json!("new"),
            _ => lb["status"] = json!("active"),
        }
        Reply::ok(json!({"load_balancer": lb}))
    })
    .await;
    let client = server.client();
    let mut seen = Vec::new();
    let done = client
        .wait_until_active(
            "4de7ac8b-495b-4884-9a69-000000000001",
            Duration::from_millis(10),
            Duration::from_secs(5),
            |lb| seen.push(lb.status.clone()),
        )
        .await
        .unwrap();
    assert!(done.is_active());
    assert_eq!(seen, vec!["new", "new", "active"]);

    // Never active: a timeout.
    let server = TestServer::start(|_| {
        let mut lb = lb(1);
        lb["status"] = json!("new");
        Reply::ok(json!({"load_balancer": lb}))
    })
    .await;
    let err = server
        .client()
        .wait_until_active(
            "x",
            Duration::from_millis(10),
            Duration::from_millis(50),
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn the_token_is_sent_but_never_shown() {
    let server = TestServer::start(|_| Reply::error(500, "server_error", "boom")).await;
    let client = server.client();
    let debug = format!("{client:?}");
    assert!(!debug.contains("testtoken"), "{debug}");
    let err = client.account().await.unwrap_err();
    assert_no_token(&err);
    assert!(server.seen()[0]
        .authorization
        .as_deref()
        .unwrap()
        .ends_with(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Request ids of successful writes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn writes_report_the_request_id_of_their_answer_and_reads_do_not() {
    // Each answer carries its own x-request-id, named after the request, so the test can tell
    // which answer an id came from.
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let server = TestServer::start(move |seen| {
        let i = counter.fetch_add(1, Ordering::SeqCst);
        let rid = format!("{}-{i}", seen.method.to_lowercase());
        let reply = match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", p) if p.starts_with("/v2/load_balancers/") => {
                Reply::ok(json!({"load_balancer": lb(1)}))
            }
            ("PUT", p) if p.starts_with("/v2/load_balancers/") => {
                if seen.body.as_ref().is_some_and(|b| b["validate_only"] == json!(true)) {
                    Reply::no_content()
                } else {
                    Reply::ok(json!({"load_balancer": lb(1)}))
                }
            }
            ("POST", "/v2/certificates") => Reply::json(
                201,
                json!({"certificate": certificate("892071a0-bb95-49bc-8021-3afd67a210bf", "web-cert-01")}),
            ),
            ("DELETE", p) if p.starts_with("/v2/certificates/") => Reply::no_content(),
            ("POST", "/v2/domains/example.com/records") => Reply::json(
                201,
                json!({"domain_record": {"id": 28448434, "type": "A", "name": "www", "data": "203.0.113.10", "ttl": 1800}}),
            ),
            // A refused write: the body's request_id, not the header's.
            ("DELETE", p) if p.starts_with("/v2/domains/") => {
                Reply::error(403, "forbidden", "You do not have access for the attempted action.")
            }
            _ => Reply::error(404, "not_found", "no route"),
        };
        reply.header("x-request-id", &rid)
    })
    .await;
    let client = server.client();
    let id = "4de7ac8b-495b-4884-9a69-000000000001";

    // Outside a scope nothing is collected, and nothing fails.
    client
        .delete_certificate("892071a0-bb95-49bc-8021-3afd67a210bf")
        .await
        .unwrap();

    let (created, ids) = cutover_digitalocean::with_request_ids(client.create_certificate(
        &CertificateRequest::LetsEncrypt {
            name: "web-cert-01".into(),
            dns_names: vec!["www.example.com".into()],
        },
    ))
    .await;
    assert_eq!(created.unwrap().name, "web-cert-01");
    assert_eq!(
        ids,
        vec!["post-1".to_string()],
        "the header's id of the create"
    );

    // An update: the GET that checks for a stale plan and the dry run are not writes; the PUT is.
    let (applied, ids) = cutover_digitalocean::with_request_ids(async {
        let current = client.get_load_balancer(id).await?;
        let mut desired = current.clone();
        desired.enable_backend_keepalive = true;
        let plan = plan_update(&current, &desired);
        client.dry_run(&plan).await?;
        client.apply(&plan).await?;
        client
            .create_domain_record(
                "example.com",
                &DomainRecordRequest::simple("A", "www", "203.0.113.10"),
            )
            .await
    })
    .await;
    assert_eq!(applied.unwrap().id, 28448434);
    // 2: GET, 3: dry-run PUT, 4: the apply's GET, 5: its PUT, 6: the record's POST.
    assert_eq!(ids, vec!["put-5".to_string(), "post-6".to_string()]);

    // A failed write lists nothing; its error carries the body's request id.
    let (deleted, ids) = cutover_digitalocean::with_request_ids(
        client.delete_domain_record("example.com", 28448434),
    )
    .await;
    let err = deleted.unwrap_err();
    assert_eq!(err.request_id(), Some("req-forbidden"), "{err:?}");
    assert!(ids.is_empty(), "{ids:?}");

    // A scope inside another collects for itself only.
    let (inner_ids, outer_ids) = cutover_digitalocean::with_request_ids(async {
        let (_, inner) = cutover_digitalocean::with_request_ids(
            client.delete_certificate("892071a0-bb95-49bc-8021-3afd67a210bf"),
        )
        .await;
        inner
    })
    .await;
    assert_eq!(inner_ids, vec!["delete-8".to_string()]);
    assert!(outer_ids.is_empty());
}

#[tokio::test]
async fn an_error_without_a_body_request_id_falls_back_to_the_header() {
    let server = TestServer::start(|_| {
        Reply::json(
            422,
            json!({"id": "unprocessable_entity", "message": "bad name"}),
        )
        .header("x-request-id", "3c5d1f2e-hdr")
    })
    .await;
    let client = server.client();
    let (result, ids) = cutover_digitalocean::with_request_ids(client.create_certificate(
        &CertificateRequest::LetsEncrypt {
            name: "x".into(),
            dns_names: vec!["www.example.com".into()],
        },
    ))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.request_id(), Some("3c5d1f2e-hdr"), "{err:?}");
    assert!(ids.is_empty());
}
