//! The sandbox API's behaviours, through HTTP.

mod common;

use std::time::Duration;

use common::{quick, Api};
use cutover_sandbox::{
    SandboxOptions, CERT_BLOG_LE_ID, LB_API_ID, LB_BLOG_ID, LB_SHOP_ID, WEB_1, WEB_2, WEB_3,
};
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
        "droplet_ids": [WEB_1, WEB_2],
    })
}

#[tokio::test]
async fn requests_without_the_token_get_401_in_digitalocean_shape() {
    let api = Api::start(quick()).await;
    for token in [None, Some("dop_v1_wrong")] {
        let r = api
            .call_with_token(Method::GET, "/v2/account", None, token)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["id"], "unauthorized");
        assert_eq!(r.json()["message"], "Unable to authenticate you");
        let rid = r.headers["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(r.json()["request_id"], rid.as_str());
        assert!(r.headers.contains_key("ratelimit-limit"));
    }
    // The control endpoints are protected too.
    let r = api
        .call_with_token(Method::GET, "/_sandbox/backends", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let ok = api.get("/v2/account").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["account"]["status"], "active");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn every_response_has_request_id_and_rate_limit_headers() {
    let api = Api::start(quick()).await;
    let a = api.get("/v2/load_balancers").await;
    let b = api.get("/v2/nonexistent").await;
    assert_eq!(b.status, StatusCode::NOT_FOUND);
    assert_eq!(b.json()["id"], "not_found");
    for r in [&a, &b] {
        assert!(uuid::Uuid::parse_str(r.headers["x-request-id"].to_str().unwrap()).is_ok());
        assert_eq!(r.headers["ratelimit-limit"], "5000");
        assert!(
            r.headers["ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );
    }
    assert_ne!(a.headers["x-request-id"], b.headers["x-request-id"]);
    let rem = |r: &common::Reply| -> u64 {
        r.headers["ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(rem(&b) < rem(&a), "remaining goes down");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn seeded_account_is_deterministic() {
    let api = Api::start(quick()).await;
    let shop = api.get(&format!("/v2/load_balancers/{LB_SHOP_ID}")).await;
    let lb = &shop.json()["load_balancer"];
    assert_eq!(lb["name"], "shop-passthrough");
    assert_eq!(lb["forwarding_rules"][0]["tls_passthrough"], true);
    assert_eq!(lb["droplet_ids"], json!([WEB_1, WEB_2, WEB_3]));
    assert_eq!(lb["region"]["slug"], "nyc3");
    let blog = api.get(&format!("/v2/load_balancers/{LB_BLOG_ID}")).await;
    let blog = &blog.json()["load_balancer"];
    assert_eq!(blog["redirect_http_to_https"], true);
    assert_eq!(
        blog["forwarding_rules"][1]["certificate_id"],
        CERT_BLOG_LE_ID
    );
    let tagged = api.get(&format!("/v2/load_balancers/{LB_API_ID}")).await;
    let tagged = &tagged.json()["load_balancer"];
    assert_eq!(tagged["tag"], "api");
    assert_eq!(
        tagged["droplet_ids"].as_array().unwrap().len(),
        2,
        "tag members are filled in"
    );

    let web = api.get("/v2/droplets?tag_name=web").await;
    let names: Vec<&str> = web.json()["droplets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    let d = api.get(&format!("/v2/droplets/{WEB_3}")).await;
    assert_eq!(
        d.json()["droplet"]["networks"]["v4"][0]["ip_address"],
        "127.0.0.13"
    );
    let recs = api
        .get("/v2/domains/sandbox-shop.test/records?type=A")
        .await;
    assert!(recs.json()["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "@"));
    let certs = api.get("/v2/certificates").await;
    assert_eq!(certs.json()["meta"]["total"], 4);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn invalid_load_balancer_gets_422_from_the_shared_validator() {
    let api = Api::start(quick()).await;
    let mut bad = new_lb("bad-one");
    // Both a certificate and passthrough on one HTTPS rule.
    bad["forwarding_rules"] = json!([{
        "entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
        "target_port": 443, "certificate_id": CERT_BLOG_LE_ID, "tls_passthrough": true
    }]);
    let r = api
        .call(Method::POST, "/v2/load_balancers", Some(&bad))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["id"], "unprocessable_entity");
    let expected = cutover_digitalocean::validate::rejection_message(
        &cutover_digitalocean::validate::validate_load_balancer(
            &serde_json::from_value::<cutover_digitalocean::LoadBalancerRequest>(bad.clone())
                .unwrap(),
            &cutover_digitalocean::validate::ValidationContext::create(),
        ),
    )
    .unwrap();
    let message = r.json()["message"].as_str().unwrap();
    assert!(
        message.contains(&expected) || message.contains("forwarding_rules[0]"),
        "{message} vs {expected}"
    );
    assert_eq!(
        r.json()["request_id"],
        r.headers["x-request-id"].to_str().unwrap()
    );
    let total = api.get("/v2/load_balancers").await.json()["meta"]["total"].clone();
    assert_eq!(total, 9, "nothing was created");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn validate_only_answers_204_or_422_and_changes_nothing() {
    let api = Api::start(quick()).await;
    let mut good = new_lb("dry-run");
    good["validate_only"] = json!(true);
    let r = api
        .call(Method::POST, "/v2/load_balancers", Some(&good))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    let mut bad = good.clone();
    bad["forwarding_rules"] = json!([]);
    let r = api
        .call(Method::POST, "/v2/load_balancers", Some(&bad))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.get("/v2/load_balancers").await.json()["meta"]["total"],
        9
    );

    // On a PUT too.
    let path = format!("/v2/load_balancers/{LB_BLOG_ID}");
    let before = api.get(&path).await.json()["load_balancer"].clone();
    let mut update = new_lb("renamed");
    update["validate_only"] = json!(true);
    let r = api.call(Method::PUT, &path, Some(&update)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = api.get(&path).await.json()["load_balancer"].clone();
    assert_eq!(before, after);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_load_balancer_held_busy_refuses_writes_until_released() {
    // No busy window of its own: only the hold makes it busy.
    let api = Api::start(quick()).await;
    assert!(!api.sandbox.set_lb_busy("no-such-id", true));
    assert!(api.sandbox.set_lb_busy(LB_SHOP_ID, true));
    let droplets = format!("/v2/load_balancers/{LB_SHOP_ID}/droplets");
    let body = json!({"droplet_ids": [WEB_3]});
    let held = api.call(Method::DELETE, &droplets, Some(&body)).await;
    assert_eq!(held.status, StatusCode::FORBIDDEN);
    assert_eq!(
        held.json()["message"],
        "Load Balancer can't be updated while it processes previous actions"
    );
    let gone = api
        .call(
            Method::DELETE,
            &format!("/v2/load_balancers/{LB_SHOP_ID}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::FORBIDDEN, "delete is refused too");
    assert_eq!(
        api.get(&format!("/v2/load_balancers/{LB_SHOP_ID}"))
            .await
            .status,
        StatusCode::OK,
        "reads still work"
    );
    assert!(api.sandbox.set_lb_busy(LB_SHOP_ID, false));
    let released = api.call(Method::DELETE, &droplets, Some(&body)).await;
    assert_eq!(released.status, StatusCode::NO_CONTENT);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn writes_during_the_busy_window_get_the_busy_403() {
    let api = Api::start(SandboxOptions {
        busy_window: Duration::from_secs(3600),
        ..quick()
    })
    .await;
    let created = api
        .call(
            Method::POST,
            "/v2/load_balancers",
            Some(&new_lb("busy-one")),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED);
    let id = created.json()["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v2/load_balancers/{id}");
    let r = api
        .call(Method::PUT, &path, Some(&new_lb("busy-two")))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["id"], "forbidden");
    assert_eq!(
        r.json()["message"],
        "Load Balancer can't be updated while it processes previous actions"
    );
    let r = api
        .call(
            Method::POST,
            &format!("{path}/droplets"),
            Some(&json!({"droplet_ids": [WEB_3]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Reads still work, and a seeded (idle) load balancer can be written once.
    assert_eq!(api.get(&path).await.status, StatusCode::OK);
    let blog = format!("/v2/load_balancers/{LB_SHOP_ID}/droplets");
    let first = api
        .call(
            Method::DELETE,
            &blog,
            Some(&json!({"droplet_ids": [WEB_3]})),
        )
        .await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let second = api
        .call(
            Method::DELETE,
            &blog,
            Some(&json!({"droplet_ids": [WEB_2]})),
        )
        .await;
    assert_eq!(second.status, StatusCode::FORBIDDEN);
    api.sandbox.shutdown().await;

    // Without a busy window the same sequence goes through.
    let api = Api::start(quick()).await;
    let created = api
        .call(
            Method::POST,
            "/v2/load_balancers",
            Some(&new_lb("idle-one")),
        )
        .await;
    let id = created.json()["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/load_balancers/{id}"),
            Some(&new_lb("idle-two")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_new_load_balancer_turns_active_after_the_delay() {
    let api = Api::start(SandboxOptions {
        activation_delay: Duration::from_millis(300),
        ..quick()
    })
    .await;
    let created = api
        .call(Method::POST, "/v2/load_balancers", Some(&new_lb("fresh")))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED);
    let lb = &created.json()["load_balancer"];
    assert_eq!(lb["status"], "new");
    let path = format!("/v2/load_balancers/{}", lb["id"].as_str().unwrap());
    // Poll like a client would; bounded, no timing assertion.
    let mut status = String::new();
    for _ in 0..200 {
        status = api.get(&path).await.json()["load_balancer"]["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "active");
    api.sandbox.shutdown().await;

    // With a long delay it stays new.
    let api = Api::start(SandboxOptions {
        activation_delay: Duration::from_secs(3600),
        ..quick()
    })
    .await;
    let created = api
        .call(Method::POST, "/v2/load_balancers", Some(&new_lb("slow")))
        .await;
    let path = format!(
        "/v2/load_balancers/{}",
        created.json()["load_balancer"]["id"].as_str().unwrap()
    );
    assert_eq!(
        api.get(&path).await.json()["load_balancer"]["status"],
        "new"
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn pagination_has_full_url_links_and_meta_total() {
    let api = Api::start(quick()).await;
    // 441 more than the 9 seeded ones.
    for i in 0..441 {
        let r = api
            .call(
                Method::POST,
                "/v2/load_balancers",
                Some(&new_lb(&format!("lb-{i:03}"))),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let base = api.sandbox.api_base();
    let page = |n: u32| format!("/v2/load_balancers?page={n}&per_page=200");
    let p1 = api.get(&page(1)).await;
    let body = p1.json();
    assert_eq!(body["meta"]["total"], 450);
    assert_eq!(body["load_balancers"].as_array().unwrap().len(), 200);
    let pages = &body["links"]["pages"];
    assert_eq!(
        pages["next"],
        format!("{base}/v2/load_balancers?page=2&per_page=200")
    );
    assert_eq!(
        pages["last"],
        format!("{base}/v2/load_balancers?page=3&per_page=200")
    );
    assert!(pages.get("prev").is_none() && pages.get("first").is_none());
    let p2 = api.get(&page(2)).await;
    let pages = &p2.json()["links"]["pages"];
    assert_eq!(
        pages["first"],
        format!("{base}/v2/load_balancers?page=1&per_page=200")
    );
    assert_eq!(
        pages["prev"],
        format!("{base}/v2/load_balancers?page=1&per_page=200")
    );
    assert_eq!(
        pages["next"],
        format!("{base}/v2/load_balancers?page=3&per_page=200")
    );
    let p3 = api.get(&page(3)).await;
    let body = p3.json();
    assert_eq!(body["load_balancers"].as_array().unwrap().len(), 50);
    assert!(body["links"]["pages"].get("next").is_none());
    assert_eq!(
        body["links"]["pages"]["prev"],
        format!("{base}/v2/load_balancers?page=2&per_page=200")
    );
    // Every item exactly once across the pages.
    let mut ids: Vec<String> = Vec::new();
    for r in [&p1, &p2, &p3] {
        for lb in r.json()["load_balancers"].as_array().unwrap() {
            ids.push(lb["id"].as_str().unwrap().to_string());
        }
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((n, ids.len()), (450, 450));
    // per_page is capped at 200, default 20.
    assert_eq!(
        api.get("/v2/load_balancers?per_page=500").await.json()["load_balancers"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert_eq!(
        api.get("/v2/load_balancers").await.json()["load_balancers"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    // Filters stay in the links.
    let d = api.get("/v2/droplets?tag_name=web&per_page=1").await;
    assert_eq!(
        d.json()["links"]["pages"]["next"],
        format!("{base}/v2/droplets?tag_name=web&page=2&per_page=1")
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn fail_next_gives_429_with_retry_after_then_recovers() {
    let api = Api::start(quick()).await;
    api.sandbox.fail_next(429, 2);
    for _ in 0..2 {
        let r = api.get("/v2/load_balancers").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.json()["id"], "too_many_requests");
        assert_eq!(r.headers["retry-after"], "1");
        assert_eq!(r.headers["ratelimit-remaining"], "0");
    }
    assert_eq!(api.get("/v2/load_balancers").await.status, StatusCode::OK);
    // The same over HTTP, with a 500.
    let r = api
        .call(
            Method::POST,
            "/_sandbox/fail_next",
            Some(&json!({"status": 500, "count": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.get("/v2/account").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["id"], "server_error");
    assert_eq!(api.get("/v2/account").await.status, StatusCode::OK);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn put_is_a_full_replace() {
    let api = Api::start(quick()).await;
    let path = format!("/v2/load_balancers/{LB_BLOG_ID}");
    let before = api.get(&path).await.json()["load_balancer"].clone();
    assert_eq!(before["redirect_http_to_https"], true);
    // A body that omits redirect, sticky sessions, health check and firewall: they reset.
    let body = json!({
        "name": "blog-https",
        "region": "nyc3",
        "forwarding_rules": [{
            "entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80
        }],
        "droplet_ids": [WEB_1],
    });
    let r = api.call(Method::PUT, &path, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = &r.json()["load_balancer"];
    assert_eq!(after["redirect_http_to_https"], false);
    assert_eq!(after["forwarding_rules"].as_array().unwrap().len(), 1);
    assert_eq!(after["droplet_ids"], json!([WEB_1]));
    assert_eq!(after["health_check"]["protocol"], "http");
    assert_eq!(after["sticky_sessions"]["type"], "none");
    // Identity is kept.
    for k in ["id", "ip", "created_at"] {
        assert_eq!(after[k], before[k], "{k}");
    }
    assert_eq!(api.get(&path).await.json()["load_balancer"], *after);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn droplets_and_rules_add_remove() {
    let api = Api::start(quick()).await;
    let tagged = format!("/v2/load_balancers/{LB_API_ID}/droplets");
    let r = api
        .call(
            Method::POST,
            &tagged,
            Some(&json!({"droplet_ids": [WEB_1]})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "tag-based: {}",
        r.text
    );

    let blog = format!("/v2/load_balancers/{LB_BLOG_ID}");
    let r = api
        .call(
            Method::POST,
            &format!("{blog}/droplets"),
            Some(&json!({"droplet_ids": [WEB_3]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let lb = api.get(&blog).await.json()["load_balancer"].clone();
    assert_eq!(lb["droplet_ids"], json!([WEB_1, WEB_2, WEB_3]));

    let rule = json!({"entry_protocol": "tcp", "entry_port": 8080, "target_protocol": "tcp", "target_port": 8080});
    let r = api
        .call(
            Method::POST,
            &format!("{blog}/forwarding_rules"),
            Some(&json!({"forwarding_rules": [rule]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        api.get(&blog).await.json()["load_balancer"]["forwarding_rules"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("{blog}/forwarding_rules"),
            Some(&json!({"forwarding_rules": [rule]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&blog).await.json()["load_balancer"]["forwarding_rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn certificates_lifecycle() {
    let api = Api::start(SandboxOptions {
        activation_delay: Duration::from_secs(3600),
        ..quick()
    })
    .await;
    // In use by blog-https: 403.
    let r = api
        .call(
            Method::DELETE,
            &format!("/v2/certificates/{CERT_BLOG_LE_ID}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let le = api
        .call(
            Method::POST,
            "/v2/certificates",
            Some(&json!({"name": "wild", "type": "lets_encrypt", "dns_names": ["*.example.test"]})),
        )
        .await;
    assert_eq!(le.status, StatusCode::CREATED);
    let c = &le.json()["certificate"];
    assert_eq!(c["state"], "pending");
    assert_eq!(c["dns_names"], json!(["*.example.test", "example.test"]));
    // A custom certificate is parsed for its names and fingerprint.
    let ca = cutover_sandbox::ca::SandboxCa::new().unwrap();
    let leaf = ca
        .issue(&["custom.example.test"], time::Duration::days(10))
        .unwrap();
    let custom = api
        .call(Method::POST, "/v2/certificates", Some(&json!({"name": "mine", "type": "custom", "private_key": leaf.key_pem, "leaf_certificate": leaf.cert_pem})))
        .await;
    assert_eq!(custom.status, StatusCode::CREATED, "{}", custom.text);
    let c = &custom.json()["certificate"];
    assert_eq!(c["sha1_fingerprint"], leaf.sha1_fingerprint.as_str());
    assert_eq!(c["dns_names"], json!(["custom.example.test"]));
    let dup = api
        .call(Method::POST, "/v2/certificates", Some(&json!({"name": "mine", "type": "custom", "private_key": leaf.key_pem, "leaf_certificate": leaf.cert_pem})))
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    let id = c["id"].as_str().unwrap();
    assert_eq!(
        api.call(Method::DELETE, &format!("/v2/certificates/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get(&format!("/v2/certificates/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn state_file_round_trip_and_corrupt_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let opts = SandboxOptions {
        state_file: Some(file.clone()),
        ..quick()
    };
    let api = Api::start(opts.clone()).await;
    let created = api
        .call(Method::POST, "/v2/load_balancers", Some(&new_lb("kept")))
        .await;
    let id = created.json()["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::POST,
            "/v2/domains/sandbox-shop.test/records",
            Some(&json!({"type": "A", "name": "new", "data": "127.0.2.9"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    api.sandbox.fix_droplet_certificate(WEB_3).await.unwrap();
    api.sandbox.shutdown().await;
    assert!(file.exists());

    let api = Api::start(opts.clone()).await;
    let lb = api.get(&format!("/v2/load_balancers/{id}")).await;
    assert_eq!(lb.status, StatusCode::OK);
    assert_eq!(lb.json()["load_balancer"]["name"], "kept");
    let recs = api
        .get("/v2/domains/sandbox-shop.test/records?name=new.sandbox-shop.test")
        .await;
    assert_eq!(recs.json()["meta"]["total"], 1);
    api.sandbox.shutdown().await;

    std::fs::write(&file, b"{ not json").unwrap();
    let err = cutover_sandbox::Sandbox::start(opts)
        .await
        .err()
        .expect("corrupt file refused");
    assert!(
        matches!(err, cutover_sandbox::SandboxError::StateFile { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{ not json",
        "never silently discarded"
    );
}

#[tokio::test]
async fn domains_and_records_crud() {
    let api = Api::start(quick()).await;
    let r = api
        .call(
            Method::POST,
            "/v2/domains",
            Some(&json!({"name": "other.test", "ip_address": "127.0.2.1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let d = api.get("/v2/domains/other.test").await;
    assert!(d.json()["domain"]["zone_file"]
        .as_str()
        .unwrap()
        .contains("127.0.2.1"));
    let r = api
        .call(
            Method::POST,
            "/v2/domains/other.test/records",
            Some(&json!({"type": "A", "name": "www", "data": "not-an-ip"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Names are hostnames (or @, or a leading wildcard label), as the real API insists.
    for bad in ["bad name", "a..b", "shop!", "*x"] {
        let r = api
            .call(
                Method::POST,
                "/v2/domains/other.test/records",
                Some(&json!({"type": "A", "name": bad, "data": "127.0.2.2"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(r.json()["message"].as_str().unwrap().contains("name"));
    }
    for good in ["*.shop", "_acme-challenge", "a-b.c_d"] {
        let r = api
            .call(
                Method::POST,
                "/v2/domains/other.test/records",
                Some(&json!({"type": "TXT", "name": good, "data": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{good}");
    }
    let r = api
        .call(
            Method::POST,
            "/v2/domains/other.test/records",
            Some(&json!({"type": "A", "name": "www", "data": "127.0.2.2"})),
        )
        .await;
    let rid = r.json()["domain_record"]["id"].as_u64().unwrap();
    let path = format!("/v2/domains/other.test/records/{rid}");
    let r = api
        .call(Method::PUT, &path, Some(&json!({"data": "127.0.2.3"})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        api.get(&path).await.json()["domain_record"]["data"],
        "127.0.2.3"
    );
    assert_eq!(
        api.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.call(Method::DELETE, "/v2/domains/other.test", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    api.sandbox.shutdown().await;
}
