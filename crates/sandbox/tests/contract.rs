//! Every response the sandbox serves validates against the DigitalOcean OpenAPI spec (the copy
//! in `crates/digitalocean/spec/openapi.yaml`, checked with a JSON-schema validator).
//!
//! Exception, on purpose: the 204 of `validate_only` is undocumented in the spec (api-notes
//! §3.4), so its (empty) body is checked here by hand.

mod common;

use std::time::Duration;

use common::{quick, Api, Reply};
use cutover_digitalocean::contract::Spec;
use cutover_sandbox::{
    SandboxOptions, CERT_BLOG_LE_ID, CERT_SHOP_CUSTOM_ID, CERT_SHOP_LE_ID, DUAL_DOMAIN,
    K8S_WORKER_1, LB_AMS_ID, LB_API_ID, LB_BLOG_ID, LB_DUAL_ID, LB_GLOBAL_ID, LB_INTERNAL_ID,
    LB_K8S_ID, LB_SHOP_ID, LB_TCP_ID, WEB_1, WEB_2, WEB_3,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Checker {
    api: Api,
    checked: usize,
    failures: Vec<String>,
}

impl Checker {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Reply {
        let r = self.api.call(method.clone(), path, body.as_ref()).await;
        self.check(&method, path, &r, expect);
        r
    }

    async fn call_anonymous(&mut self, method: Method, path: &str, expect: u16) -> Reply {
        let r = self
            .api
            .call_with_token(method.clone(), path, None, None)
            .await;
        self.check(&method, path, &r, expect);
        r
    }

    fn check(&mut self, method: &Method, path: &str, r: &Reply, expect: u16) {
        if r.status.as_u16() != expect {
            self.failures.push(format!(
                "{method} {path}: expected {expect}, got {}: {}",
                r.status, r.text
            ));
            return;
        }
        for header in [
            "x-request-id",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
        ] {
            if !r.headers.contains_key(header) {
                self.failures
                    .push(format!("{method} {path}: no {header} header"));
            }
        }
        if !r.text.is_empty() && r.body.is_none() {
            self.failures
                .push(format!("{method} {path}: body is not JSON: {}", r.text));
            return;
        }
        let path_only = path.split('?').next().unwrap_or(path);
        if let Err(violations) =
            Spec::get().validate_response(method.as_str(), path_only, expect, r.body.as_ref())
        {
            self.failures.extend(violations);
        }
        self.checked += 1;
    }
}

fn lb_body(name: &str) -> Value {
    json!({
        "name": name,
        "region": "nyc3",
        "forwarding_rules": [
            {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 443, "tls_passthrough": true},
            {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}
        ],
        "health_check": {"protocol": "tcp", "port": 443},
        "droplet_ids": [WEB_1, WEB_2],
    })
}

#[tokio::test]
async fn every_response_validates_against_the_openapi_spec() {
    let api = Api::start(SandboxOptions {
        busy_window: Duration::from_secs(3600),
        ..quick()
    })
    .await;
    let mut c = Checker {
        api,
        checked: 0,
        failures: Vec::new(),
    };
    use Method as M;

    // Account, regions, VPCs.
    c.call(M::GET, "/v2/account", None, 200).await;
    c.call_anonymous(M::GET, "/v2/account", 401).await;
    c.call_anonymous(M::GET, "/v2/load_balancers", 401).await;
    c.call(M::GET, "/v2/regions", None, 200).await;
    c.call(M::GET, "/v2/vpcs", None, 200).await;
    let vpc = c.call(M::GET, "/v2/vpcs", None, 200).await.json()["vpcs"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.call(M::GET, &format!("/v2/vpcs/{vpc}"), None, 200).await;
    c.call(
        M::GET,
        "/v2/vpcs/5a0dbe00-0003-4000-8000-0000000000ff",
        None,
        404,
    )
    .await;

    // Tags.
    c.call(M::GET, "/v2/tags", None, 200).await;
    c.call(M::POST, "/v2/tags", Some(json!({"name": "frontend"})), 201)
        .await;
    c.call(M::GET, "/v2/tags/web", None, 200).await;
    c.call(M::GET, "/v2/tags/nope", None, 404).await;
    let res =
        json!({"resources": [{"resource_id": WEB_3.to_string(), "resource_type": "droplet"}]});
    c.call(
        M::POST,
        "/v2/tags/frontend/resources",
        Some(res.clone()),
        204,
    )
    .await;
    c.call(M::GET, "/v2/tags/frontend", None, 200).await;
    c.call(M::DELETE, "/v2/tags/frontend/resources", Some(res), 204)
        .await;
    c.call(M::DELETE, "/v2/tags/frontend", None, 204).await;

    // Droplets.
    c.call(M::GET, "/v2/droplets", None, 200).await;
    c.call(M::GET, "/v2/droplets?tag_name=web&per_page=2", None, 200)
        .await;
    c.call(
        M::GET,
        "/v2/droplets?tag_name=web&per_page=2&page=2",
        None,
        200,
    )
    .await;
    c.call(M::GET, &format!("/v2/droplets/{WEB_1}"), None, 200)
        .await;
    c.call(M::GET, &format!("/v2/droplets/{K8S_WORKER_1}"), None, 200)
        .await;
    c.call(M::GET, "/v2/droplets?tag_name=k8s:worker", None, 200)
        .await;
    c.call(M::GET, "/v2/droplets/1", None, 404).await;

    // Load balancers.
    c.call(M::GET, "/v2/load_balancers", None, 200).await;
    c.call(M::GET, "/v2/load_balancers?per_page=1&page=2", None, 200)
        .await;
    for id in [
        LB_SHOP_ID,
        LB_BLOG_ID,
        LB_API_ID,
        LB_TCP_ID,
        LB_K8S_ID,
        LB_DUAL_ID,
        LB_INTERNAL_ID,
        LB_AMS_ID,
        LB_GLOBAL_ID,
    ] {
        c.call(M::GET, &format!("/v2/load_balancers/{id}"), None, 200)
            .await;
    }
    c.call(
        M::GET,
        "/v2/load_balancers/5a0dbe00-0001-4000-8000-0000000000ff",
        None,
        404,
    )
    .await;
    let created = c
        .call(
            M::POST,
            "/v2/load_balancers",
            Some(lb_body("contract-lb")),
            202,
        )
        .await;
    let new_id = created.json()["load_balancer"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut bad = lb_body("contract-bad");
    bad["forwarding_rules"][0]["certificate_id"] = json!(CERT_BLOG_LE_ID);
    c.call(M::POST, "/v2/load_balancers", Some(bad), 422).await;
    let mut dry = lb_body("contract-dry");
    dry["validate_only"] = json!(true);
    let r = c.api.call(M::POST, "/v2/load_balancers", Some(&dry)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    // The new one is in its busy window.
    c.call(
        M::PUT,
        &format!("/v2/load_balancers/{new_id}"),
        Some(lb_body("again")),
        403,
    )
    .await;
    // The seeded ones are idle: one write each.
    c.call(
        M::PUT,
        &format!("/v2/load_balancers/{LB_SHOP_ID}"),
        Some(lb_body("shop-passthrough")),
        200,
    )
    .await;
    c.call(
        M::POST,
        &format!("/v2/load_balancers/{LB_API_ID}/droplets"),
        Some(json!({"droplet_ids": [WEB_1]})),
        422,
    )
    .await;
    c.call(
        M::POST,
        &format!("/v2/load_balancers/{LB_BLOG_ID}/droplets"),
        Some(json!({"droplet_ids": [WEB_3]})),
        204,
    )
    .await;
    c.call(
        M::DELETE,
        &format!("/v2/load_balancers/{LB_BLOG_ID}/droplets"),
        Some(json!({"droplet_ids": [WEB_3]})),
        403,
    )
    .await;
    c.call(
        M::POST,
        &format!("/v2/load_balancers/{LB_API_ID}/forwarding_rules"),
        Some(json!({"forwarding_rules": [{"entry_protocol": "tcp", "entry_port": 9000, "target_protocol": "tcp", "target_port": 9000}]})),
        204,
    )
    .await;
    c.call(
        M::GET,
        &format!("/v2/load_balancers/{LB_API_ID}"),
        None,
        200,
    )
    .await;

    // Certificates.
    c.call(M::GET, "/v2/certificates", None, 200).await;
    c.call(M::GET, "/v2/certificates?name=blog-le", None, 200)
        .await;
    c.call(
        M::GET,
        &format!("/v2/certificates/{CERT_SHOP_CUSTOM_ID}"),
        None,
        200,
    )
    .await;
    c.call(
        M::DELETE,
        &format!("/v2/certificates/{CERT_BLOG_LE_ID}"),
        None,
        403,
    )
    .await;
    let le = c
        .call(
            M::POST,
            "/v2/certificates",
            Some(json!({"name": "le-2", "type": "lets_encrypt", "dns_names": ["www.sandbox-shop.test"]})),
            201,
        )
        .await;
    let le_id = le.json()["certificate"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ca = cutover_sandbox::ca::SandboxCa::new().unwrap();
    let leaf = ca
        .issue(&["x.sandbox-shop.test"], time::Duration::days(30))
        .unwrap();
    c.call(
        M::POST,
        "/v2/certificates",
        Some(json!({"name": "custom-2", "type": "custom", "private_key": leaf.key_pem, "leaf_certificate": leaf.cert_pem})),
        201,
    )
    .await;
    c.call(
        M::POST,
        "/v2/certificates",
        Some(json!({"name": "broken", "type": "custom"})),
        422,
    )
    .await;
    c.call(M::DELETE, &format!("/v2/certificates/{le_id}"), None, 204)
        .await;

    // Domains and records.
    c.call(M::GET, "/v2/domains", None, 200).await;
    c.call(M::GET, "/v2/domains/sandbox-shop.test", None, 200)
        .await;
    c.call(
        M::POST,
        "/v2/domains",
        Some(json!({"name": "contract.test", "ip_address": "127.0.2.50"})),
        201,
    )
    .await;
    c.call(M::GET, "/v2/domains/sandbox-shop.test/records", None, 200)
        .await;
    c.call(M::GET, &format!("/v2/domains/{DUAL_DOMAIN}"), None, 200)
        .await;
    c.call(
        M::GET,
        &format!("/v2/domains/{DUAL_DOMAIN}/records"),
        None,
        200,
    )
    .await;
    c.call(
        M::GET,
        "/v2/domains/sandbox-shop.test/records?type=CAA",
        None,
        200,
    )
    .await;
    // A Let's Encrypt certificate attached by an update: DigitalOcean's A records follow.
    let mut le_rules = lb_body("shop-tcp");
    le_rules["droplet_ids"] = json!([WEB_1, WEB_2, WEB_3]);
    le_rules["forwarding_rules"] = json!([
        {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 80, "certificate_id": CERT_SHOP_LE_ID},
    ]);
    le_rules["health_check"] = json!({"protocol": "http", "port": 80, "path": "/"});
    c.call(
        M::PUT,
        &format!("/v2/load_balancers/{LB_TCP_ID}"),
        Some(le_rules),
        200,
    )
    .await;
    c.call(
        M::GET,
        "/v2/domains/sandbox-shop.test/records?type=A&name=sandbox-shop.test",
        None,
        200,
    )
    .await;
    c.call(
        M::GET,
        "/v2/domains/sandbox-shop.test/records?type=A&name=sandbox-shop.test",
        None,
        200,
    )
    .await;
    let rec = c
        .call(
            M::POST,
            "/v2/domains/contract.test/records",
            Some(json!({"type": "CNAME", "name": "www", "data": "@", "ttl": 600})),
            201,
        )
        .await;
    let rid = rec.json()["domain_record"]["id"]
        .as_u64()
        .unwrap_or_default();
    let rpath = format!("/v2/domains/contract.test/records/{rid}");
    c.call(M::GET, &rpath, None, 200).await;
    c.call(
        M::PUT,
        &rpath,
        Some(json!({"type": "CNAME", "name": "www", "data": "contract.test."})),
        200,
    )
    .await;
    c.call(M::PATCH, &rpath, Some(json!({"ttl": 300})), 200)
        .await;
    c.call(M::DELETE, &rpath, None, 204).await;
    c.call(M::GET, &rpath, None, 404).await;
    c.call(M::DELETE, "/v2/domains/contract.test", None, 204)
        .await;

    // Injected failures.
    c.api.sandbox.fail_next(429, 1);
    c.call(M::GET, "/v2/load_balancers", None, 429).await;
    c.api.sandbox.fail_next(500, 1);
    c.call(M::GET, &format!("/v2/droplets/{WEB_2}"), None, 500)
        .await;

    // Deleting (the busy new one cannot be deleted yet; the tag-based one can).
    c.call(
        M::DELETE,
        &format!("/v2/load_balancers/{new_id}"),
        None,
        403,
    )
    .await;
    c.call(
        M::DELETE,
        &format!("/v2/load_balancers/{LB_BLOG_ID}"),
        None,
        403,
    )
    .await;

    let Checker {
        api,
        checked,
        failures,
    } = c;
    api.sandbox.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {checked} responses broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 60, "only {checked} responses checked");
}

#[test]
fn the_checker_itself_rejects_a_wrong_response() {
    // A load balancer without the required forwarding_rules, and an error without its id.
    let spec = Spec::get();
    assert!(spec
        .validate_response(
            "GET",
            &format!("/v2/load_balancers/{LB_SHOP_ID}"),
            200,
            Some(&json!({"load_balancer": {"id": LB_SHOP_ID}}))
        )
        .is_err());
    assert!(spec
        .validate_response("GET", "/v2/account", 401, Some(&json!({"message": "no"})))
        .is_err());
    assert!(spec
        .validate_response(
            "GET",
            "/v2/droplets",
            200,
            Some(&json!({"droplets": [{"id": 1}], "meta": {"total": 1}}))
        )
        .is_err());
}

/// A big account (issue 20) and a write whose save failed (issue 14) keep DigitalOcean's shapes.
#[tokio::test]
async fn a_scaled_account_and_a_failed_save_validate_against_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let api = Api::start(SandboxOptions {
        scale: "lbs=25,droplets=4,records=12".parse().unwrap(),
        state_file: Some(file.clone()),
        ..quick()
    })
    .await;
    let mut c = Checker {
        api,
        checked: 0,
        failures: Vec::new(),
    };
    use Method as M;
    let lbs = c
        .call(M::GET, "/v2/load_balancers?per_page=200", None, 200)
        .await;
    for lb in lbs.json()["load_balancers"]
        .as_array()
        .unwrap()
        .iter()
        .skip(3)
    {
        let id = lb["id"].as_str().unwrap();
        c.call(M::GET, &format!("/v2/load_balancers/{id}"), None, 200)
            .await;
    }
    c.call(M::GET, "/v2/droplets?per_page=200", None, 200).await;
    c.call(M::GET, "/v2/droplets?tag_name=app", None, 200).await;
    c.call(M::GET, "/v2/tags/app", None, 200).await;
    c.call(
        M::GET,
        "/v2/domains/sandbox-shop.test/records?per_page=200",
        None,
        200,
    )
    .await;
    // The state file turns into a folder: the save fails, the answer is a documented 500.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("keep"), b"x").unwrap();
    c.call(M::POST, "/v2/load_balancers", Some(lb_body("unsaved")), 500)
        .await;
    let Checker {
        api,
        checked,
        failures,
    } = c;
    api.sandbox.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {checked} responses broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
