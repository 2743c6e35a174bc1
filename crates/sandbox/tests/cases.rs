//! The cases real accounts have (issue 15), as the Sandbox serves them: the `tcp:443` load
//! balancer, the Kubernetes-owned network load balancer and its workers' NodePorts, the
//! dual-stack one and its zone, the internal and the global ones, Let's Encrypt certificates and
//! the A record DigitalOcean makes when one is attached.

mod common;

use common::{quick, Api};
use cutover_sandbox::{
    CERT_SHOP_LE_ID, DOMAIN, DUAL_DOMAIN, K8S_CLUSTER_ID, K8S_NODE_PORT_HTTP, K8S_NODE_PORT_HTTPS,
    K8S_WORKER_1, K8S_WORKER_2, K8S_WORKER_3, KUBE_PROXY_HEALTH_PORT, LB_AMS_ID, LB_DUAL_ID,
    LB_DUAL_IPV6, LB_GLOBAL_ID, LB_INTERNAL_ID, LB_INTERNAL_IP, LB_K8S_ID, LB_K8S_NAME, LB_SHOP_ID,
    LB_TCP_ID, WEB_1, WEB_2, WEB_3,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn lb(api: &Api, id: &str) -> Value {
    let r = api.get(&format!("/v2/load_balancers/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["load_balancer"].clone()
}

/// `name`'s records of `kind` in `zone`, as (name, data).
async fn records(api: &Api, zone: &str, kind: &str) -> Vec<(String, String)> {
    let r = api
        .get(&format!(
            "/v2/domains/{zone}/records?type={kind}&per_page=200"
        ))
        .await;
    r.json()["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["data"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_seed_has_each_case_after_the_first_three() {
    let api = Api::start(quick()).await;
    let list = api
        .get("/v2/load_balancers?per_page=50")
        .await
        .json()
        .clone();
    let names: Vec<&str> = list["load_balancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shop-passthrough",
            "blog-https",
            "api-by-tag",
            "shop-tcp",
            LB_K8S_NAME,
            "www-dualstack",
            "billing-internal",
            "shop-ams3",
            "shop-global"
        ]
    );
    // The first three keep their addresses.
    assert_eq!(lb(&api, LB_SHOP_ID).await["ip"], "127.0.2.1");

    let tcp = lb(&api, LB_TCP_ID).await;
    assert_eq!(tcp["forwarding_rules"][0]["entry_protocol"], "tcp");
    assert_eq!(tcp["forwarding_rules"][0]["entry_port"], 443);
    assert_eq!(tcp["forwarding_rules"][0]["target_port"], 443);
    assert_eq!(tcp["droplet_ids"], json!([WEB_1, WEB_2, WEB_3]));

    let k8s = lb(&api, LB_K8S_ID).await;
    assert_eq!(k8s["type"], "REGIONAL_NETWORK");
    assert_eq!(k8s["tags"], json!([format!("k8s:{K8S_CLUSTER_ID}")]));
    assert_eq!(k8s["health_check"]["port"], KUBE_PROXY_HEALTH_PORT);
    assert_eq!(k8s["health_check"]["path"], "/healthz");
    assert_eq!(
        k8s["droplet_ids"],
        json!([K8S_WORKER_1, K8S_WORKER_2, K8S_WORKER_3])
    );
    let workers = api
        .get("/v2/droplets?tag_name=k8s:worker")
        .await
        .json()
        .clone();
    assert_eq!(workers["meta"]["total"], 3);

    let dual = lb(&api, LB_DUAL_ID).await;
    assert_eq!(dual["network_stack"], "DUALSTACK");
    assert_eq!(dual["ipv6"], LB_DUAL_IPV6);
    let aaaa = records(&api, DUAL_DOMAIN, "AAAA").await;
    assert_eq!(aaaa.len(), 1, "{aaaa:?}");

    let internal = lb(&api, LB_INTERNAL_ID).await;
    assert_eq!(internal["network"], "INTERNAL");
    assert_eq!(internal["ip"], LB_INTERNAL_IP);

    let global = lb(&api, LB_GLOBAL_ID).await;
    assert_eq!(global["type"], "GLOBAL");
    assert_eq!(global["ip"], "");
    assert!(global.get("region").is_none());
    assert_eq!(
        global["target_load_balancer_ids"],
        json!([LB_SHOP_ID, LB_AMS_ID])
    );
    assert_eq!(global["domains"][0]["is_managed"], true);
    assert_eq!(global["domains"][1]["status"], "CREATING");
    assert_eq!(lb(&api, LB_AMS_ID).await["region"]["slug"], "ams3");

    let caa = api
        .get(&format!("/v2/domains/{DOMAIN}/records?type=CAA"))
        .await
        .json()
        .clone();
    let caa = &caa["domain_records"][0];
    assert_eq!(
        (&caa["tag"], &caa["data"], &caa["flags"]),
        (&json!("issue"), &json!("letsencrypt.org"), &json!(0))
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn kubernetes_workers_answer_on_their_node_ports() {
    let api = Api::start(quick()).await;
    let https = api.sandbox.backend_addr(K8S_WORKER_2, 443).unwrap();
    let http = api.sandbox.backend_addr(K8S_WORKER_2, 80).unwrap();
    assert_eq!(
        api.sandbox.backend_addr(K8S_WORKER_2, K8S_NODE_PORT_HTTPS),
        Some(https)
    );
    assert_eq!(
        api.sandbox.backend_addr(K8S_WORKER_2, K8S_NODE_PORT_HTTP),
        Some(http)
    );
    assert_eq!(
        api.sandbox
            .backend_addr(K8S_WORKER_2, KUBE_PROXY_HEALTH_PORT),
        Some(http)
    );
    // The health check's path answers like kube-proxy's.
    let answer = reqwest::get(format!("http://{http}/healthz"))
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    // Other droplets have no such ports.
    assert_eq!(api.sandbox.backend_addr(WEB_1, K8S_NODE_PORT_HTTPS), None);
    api.sandbox.shutdown().await;
}

/// An update that attaches a Let's Encrypt certificate with `disable_lets_encrypt_dns_records`
/// off: the apex (and www's A, if it had no CNAME) now points at the load balancer.
#[tokio::test]
async fn attaching_a_lets_encrypt_certificate_points_its_names_at_the_load_balancer() {
    let api = Api::start(quick()).await;
    let before = records(&api, DOMAIN, "A").await;
    assert!(before.contains(&("@".to_string(), "127.0.0.11".to_string())));
    let tcp = lb(&api, LB_TCP_ID).await;
    let mut body = json!({
        "name": "shop-tcp",
        "region": "nyc3",
        "forwarding_rules": [
            {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 80, "certificate_id": CERT_SHOP_LE_ID},
        ],
        "health_check": {"protocol": "http", "port": 80, "path": "/"},
        "droplet_ids": [WEB_1, WEB_2],
        "disable_lets_encrypt_dns_records": true,
    });
    // With the option on, DNS stays as it is.
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/load_balancers/{LB_TCP_ID}"),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(records(&api, DOMAIN, "A").await, before);

    // Off, on another load balancer that did not have it: the apex is repointed; www is a
    // CNAME, left alone.
    body["disable_lets_encrypt_dns_records"] = json!(false);
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/load_balancers/{LB_DUAL_ID}"),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dual = lb(&api, LB_DUAL_ID).await;
    let after = records(&api, DOMAIN, "A").await;
    let apex: Vec<&(String, String)> = after.iter().filter(|(n, _)| n == "@").collect();
    assert_eq!(
        apex,
        [&("@".to_string(), dual["ip"].as_str().unwrap().to_string())]
    );
    assert!(!after.iter().any(|(n, _)| n == "www"));
    // Read-only fields survive a full replace.
    assert_eq!(dual["ipv6"], LB_DUAL_IPV6);
    assert_ne!(tcp["ip"], dual["ip"]);

    // Kept, not attached again: nothing moves back.
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/load_balancers/{LB_TCP_ID}"),
            Some(&json!({
                "name": "shop-tcp", "region": "nyc3", "droplet_ids": [WEB_1],
                "forwarding_rules": body["forwarding_rules"].clone(),
                "disable_lets_encrypt_dns_records": false,
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(records(&api, DOMAIN, "A").await, after);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_global_load_balancer_keeps_its_shape_through_an_update() {
    let api = Api::start(quick()).await;
    let global = lb(&api, LB_GLOBAL_ID).await;
    let lb_typed: cutover_digitalocean::LoadBalancer =
        serde_json::from_value(global.clone()).unwrap();
    let mut req = lb_typed.to_request();
    req.http_idle_timeout_seconds = Some(90);
    let r = api
        .call(
            Method::PUT,
            &format!("/v2/load_balancers/{LB_GLOBAL_ID}"),
            Some(&serde_json::to_value(&req).unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = lb(&api, LB_GLOBAL_ID).await;
    assert_eq!(after["http_idle_timeout_seconds"], 90);
    for key in [
        "target_load_balancer_ids",
        "glb_settings",
        "domains",
        "ip",
        "type",
    ] {
        assert_eq!(after[key], global[key], "{key}");
    }
    assert!(after.get("region").is_none(), "{after}");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn created_load_balancers_get_the_addresses_of_their_kind() {
    let api = Api::start(quick()).await;
    let body = |name: &str, extra: Value| {
        let mut b = json!({
            "name": name, "region": "nyc3", "droplet_ids": [WEB_1],
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}],
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let create = |b: Value| {
        let api = &api;
        async move {
            let r = api.call(Method::POST, "/v2/load_balancers", Some(&b)).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            r.json()["load_balancer"].clone()
        }
    };
    let plain = create(body("plain", json!({}))).await;
    // After the nine seeded ones.
    assert_eq!(plain["ip"], "127.0.2.10");
    assert!(plain.get("ipv6").is_none());
    let dual = create(body("dual", json!({"network_stack": "DUALSTACK"}))).await;
    assert!(dual["ipv6"]
        .as_str()
        .unwrap()
        .parse::<std::net::Ipv6Addr>()
        .is_ok());
    let internal = create(body("inside", json!({"network": "INTERNAL"}))).await;
    assert!(internal["ip"].as_str().unwrap().starts_with("10.116."));
    api.sandbox.shutdown().await;
}
