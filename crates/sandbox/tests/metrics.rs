//! The Sandbox's load-balancer metrics: every series answers in DigitalOcean's shape (validated
//! against the OpenAPI spec), the same window gives the same numbers, web-3 of the shop load
//! balancer fails its health checks, and the answers decode with the client.

mod common;

use common::{quick, Api};
use cutover_digitalocean::contract::Spec;
use cutover_digitalocean::monitoring::{decode_matrix, series};
use cutover_sandbox::{LB_BLOG_ID, LB_SHOP_ID, WEB_1, WEB_2, WEB_3};
use reqwest::Method;
use serde_json::{json, Value};

const START: i64 = 1_760_000_000;
const END: i64 = START + 3600;

fn path(series: &str, lb: &str, start: i64, end: i64) -> String {
    format!("/v2/monitoring/metrics/load_balancer/{series}?lb_id={lb}&start={start}&end={end}")
}

fn validate(p: &str, status: u16, body: Option<&Value>) {
    let path_only = p.split('?').next().unwrap_or(p);
    if let Err(violations) = Spec::get().validate_response("GET", path_only, status, body) {
        panic!("GET {p}: {violations:#?}");
    }
}

#[tokio::test]
async fn every_series_validates_against_the_spec_and_decodes() {
    let api = Api::start(quick()).await;
    for name in series::ALL {
        let p = path(name, LB_SHOP_ID, START, END);
        let r = api.get(&p).await;
        assert_eq!(r.status.as_u16(), 200, "{p}: {}", r.text);
        validate(&p, 200, r.body.as_ref());
        let m = decode_matrix(r.text.as_bytes()).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(m.skipped_samples, 0, "{p}");
        if series::is_nlb_only(name) {
            // The shop load balancer is not a network load balancer.
            assert!(m.series.is_empty(), "{p}");
            continue;
        }
        assert!(!m.series.is_empty(), "{p}");
        for s in &m.series {
            assert_eq!(s.labels["lb_id"], LB_SHOP_ID);
            // Two-minute samples over an hour.
            assert_eq!(s.samples.len(), 30, "{p}");
            assert!(s.samples.iter().all(|(t, _)| (START..=END).contains(t)));
        }
    }
    // Errors validate too (the spec's default error shape).
    for (p, status) in [
        (path("no_such_series", LB_SHOP_ID, START, END), 404),
        (
            path(
                series::DROPLETS_HEALTH_CHECKS,
                "5a0dbe00-0001-4000-8000-0000000000ff",
                START,
                END,
            ),
            404,
        ),
        (
            path(series::DROPLETS_HEALTH_CHECKS, LB_SHOP_ID, END, START),
            400,
        ),
        (
            "/v2/monitoring/metrics/load_balancer/droplets_downtime?lb_id=x".to_string(),
            400,
        ),
    ] {
        let r = api.get(&p).await;
        assert_eq!(r.status.as_u16(), status, "{p}: {}", r.text);
        // An unknown series is no path of the spec: its 404 is checked by hand.
        if !p.contains("no_such_series") {
            validate(&p, status, r.body.as_ref());
        }
        assert!(r.json()["request_id"].is_string(), "{p}");
        assert!(r.json()["message"].is_string(), "{p}");
    }
}

#[tokio::test]
async fn web_3_fails_its_health_checks_and_the_numbers_are_deterministic() {
    let api = Api::start(quick()).await;
    let health = api
        .get(&path(
            series::DROPLETS_HEALTH_CHECKS,
            LB_SHOP_ID,
            START,
            END,
        ))
        .await;
    let m = decode_matrix(health.text.as_bytes()).unwrap();
    assert_eq!(m.series.len(), 3);
    for s in &m.series {
        let id: u64 = s.labels["droplet_id"].parse().unwrap();
        let expected = if id == WEB_3 { 0.0 } else { 1.0 };
        assert!(s.samples.iter().all(|(_, v)| *v == expected), "{s:?}");
    }
    let downtime = api
        .get(&path(series::DROPLETS_DOWNTIME, LB_SHOP_ID, START, END))
        .await;
    let m = decode_matrix(downtime.text.as_bytes()).unwrap();
    let web3 = m
        .series
        .iter()
        .find(|s| s.labels["droplet_id"] == WEB_3.to_string())
        .unwrap();
    assert!(web3.samples.iter().all(|(_, v)| *v == 1.0));
    // web-3 answers nothing, so its percentile is NaN (what Prometheus sends).
    let p95 = api
        .get(&path(
            series::DROPLETS_HTTP_RESPONSE_TIME_95P,
            LB_SHOP_ID,
            START,
            END,
        ))
        .await;
    assert!(p95.text.contains("\"NaN\""));
    let m = decode_matrix(p95.text.as_bytes()).unwrap();
    let web1 = m
        .series
        .iter()
        .find(|s| s.labels["droplet_id"] == WEB_1.to_string())
        .unwrap();
    assert!(web1.samples.iter().all(|(_, v)| v.is_finite() && *v > 0.0));

    // The same window, the same numbers; another load balancer, other numbers.
    let a = api
        .get(&path(
            series::FRONTEND_HTTP_REQUESTS_PER_SECOND,
            LB_SHOP_ID,
            START,
            END,
        ))
        .await;
    let b = api
        .get(&path(
            series::FRONTEND_HTTP_REQUESTS_PER_SECOND,
            LB_SHOP_ID,
            START,
            END,
        ))
        .await;
    assert_eq!(a.json()["data"], b.json()["data"]);
    let c = api
        .get(&path(
            series::FRONTEND_HTTP_REQUESTS_PER_SECOND,
            LB_BLOG_ID,
            START,
            END,
        ))
        .await;
    assert_ne!(
        a.json()["data"]["result"][0]["values"],
        c.json()["data"]["result"][0]["values"]
    );
    // Response classes are labelled.
    let classes = api
        .get(&path(
            series::FRONTEND_HTTP_RESPONSES,
            LB_SHOP_ID,
            START,
            END,
        ))
        .await;
    let codes: Vec<&str> = classes.json()["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["2xx", "3xx", "4xx", "5xx"]);
    // A week is answered at a coarser step, not 5,040 samples.
    let week = api
        .get(&path(
            series::FRONTEND_CPU_UTILIZATION,
            LB_SHOP_ID,
            START,
            START + 7 * 86_400,
        ))
        .await;
    let n = week.json()["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .len();
    assert!((1000..=1501).contains(&n), "{n}");
}

#[tokio::test]
async fn a_network_load_balancer_has_its_series_and_no_http_ones() {
    let api = Api::start(quick()).await;
    let created = api
        .call(
            Method::POST,
            "/v2/load_balancers",
            Some(&json!({
                "name": "nlb-metrics",
                "region": "nyc3",
                "type": "REGIONAL_NETWORK",
                "forwarding_rules": [
                    {"entry_protocol": "tcp", "entry_port": 443, "target_protocol": "tcp", "target_port": 443}
                ],
                "health_check": {"protocol": "tcp", "port": 443},
                "droplet_ids": [WEB_1],
            })),
        )
        .await;
    assert_eq!(created.status.as_u16(), 202, "{}", created.text);
    let id = created.json()["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (name, has) in [
        (series::FRONTEND_NLB_TCP_NETWORK_THROUGHPUT, true),
        (series::FRONTEND_FIREWALL_DROPPED_PACKETS, true),
        (series::DROPLETS_HEALTH_CHECKS, true),
        (series::FRONTEND_HTTP_REQUESTS_PER_SECOND, false),
        (series::DROPLETS_HTTP_RESPONSE_TIME_95P, false),
    ] {
        let p = path(name, &id, START, END);
        let r = api.get(&p).await;
        validate(&p, 200, r.body.as_ref());
        let m = decode_matrix(r.text.as_bytes()).unwrap();
        assert_eq!(!m.series.is_empty(), has, "{name}");
    }
}

/// The latest health-check sample of `droplet` behind the blog load balancer, for a window
/// ending now.
async fn latest_check(api: &Api, droplet: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let p = path(series::DROPLETS_HEALTH_CHECKS, LB_BLOG_ID, now - 3600, now);
    let r = api.get(&p).await;
    assert_eq!(r.status.as_u16(), 200, "{p}: {}", r.text);
    validate(&p, 200, r.body.as_ref());
    let m = decode_matrix(r.text.as_bytes()).unwrap();
    let line = m
        .series
        .iter()
        .find(|s| s.labels["droplet_id"] == droplet.to_string())
        .expect("a line for the droplet");
    format!("{}", line.samples.last().expect("a sample").1)
}

#[tokio::test]
async fn a_droplet_powered_off_over_http_refuses_connections_and_fails_its_checks_until_on() {
    let api = Api::start(quick()).await;
    let https = api.sandbox.backend_addr(WEB_2, 443).unwrap();
    assert_eq!(latest_check(&api, WEB_2).await, "1");
    let counted = api.sandbox.monitoring_requests();
    assert_eq!(counted, 1, "one request per series fetched");

    let power = |kind: &'static str| {
        let api = &api;
        async move {
            let body = json!({ "type": kind });
            api.call(
                Method::POST,
                &format!("/_sandbox/droplets/{WEB_2}/power"),
                Some(&body),
            )
            .await
        }
    };
    let r = power("power_off").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.json()["status"], "off");
    assert_eq!(r.json()["changed"], true);
    let err = std::net::TcpStream::connect(https).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // The API shows it off (a status the spec allows), and the checks fail from now.
    let p = format!("/v2/droplets/{WEB_2}");
    let r = api.get(&p).await;
    assert_eq!(r.json()["droplet"]["status"], "off");
    if let Err(v) =
        Spec::get().validate_response("GET", "/v2/droplets/{droplet_id}", 200, r.body.as_ref())
    {
        panic!("{v:#?}");
    }
    assert_eq!(latest_check(&api, WEB_2).await, "0");
    assert_eq!(latest_check(&api, WEB_1).await, "1");
    assert_eq!(power("power_off").await.json()["changed"], false);

    let r = power("power_on").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.json()["status"], "active");
    assert!(std::net::TcpStream::connect(https).is_ok());
    assert_eq!(latest_check(&api, WEB_2).await, "1");

    // Counted over HTTP too, behind the token.
    let r = api.get("/_sandbox/requests").await;
    assert_eq!(r.json()["monitoring"], 4);
    // Refusals: an unknown type, an unknown droplet.
    let bad = json!({ "type": "reboot" });
    let r = api
        .call(
            Method::POST,
            &format!("/_sandbox/droplets/{WEB_2}/power"),
            Some(&bad),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    let r = api
        .call(
            Method::POST,
            "/_sandbox/droplets/1/power",
            Some(&json!({"type": "power_off"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
}

#[tokio::test]
async fn a_droplet_saved_powered_off_starts_off_and_can_be_powered_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let opts = || cutover_sandbox::SandboxOptions {
        state_file: Some(file.clone()),
        ..quick()
    };
    let api = Api::start(opts()).await;
    assert!(api.sandbox.set_droplet_power(WEB_2, false).await.unwrap());
    api.sandbox.shutdown().await;

    let api = Api::start(opts()).await;
    let r = api.get(&format!("/v2/droplets/{WEB_2}")).await;
    assert_eq!(r.json()["droplet"]["status"], "off");
    let https = api.sandbox.backend_addr(WEB_2, 443).unwrap();
    let err = std::net::TcpStream::connect(https).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(latest_check(&api, WEB_2).await, "0");
    assert!(api.sandbox.set_droplet_power(WEB_2, true).await.unwrap());
    assert!(std::net::TcpStream::connect(https).is_ok());
    assert_eq!(latest_check(&api, WEB_2).await, "1");
}
