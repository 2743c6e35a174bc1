//! `Client::lb_metric` against a scripted API on 127.0.0.1: the request it makes, the matrix it
//! decodes (odd labels, NaN, float timestamps), and the shared retry and error machinery.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use cutover_digitalocean::monitoring::series;
use cutover_digitalocean::Error;
use serde_json::json;
use support::*;

const LB: &str = "4de7ac8b-495b-4884-9a69-1050c6793cd6";

#[tokio::test]
async fn sends_lb_id_start_end_and_decodes_the_matrix() {
    let server = TestServer::start(|_| {
        Reply::ok(json!({
            "status": "success",
            "data": {"resultType": "matrix", "result": [
                {"metric": {"lb_id": LB, "droplet_id": "3164444"},
                 "values": [[1620683817, "1"], [1620683937, "NaN"], [1620684057, "0"]]},
                {"metric": {"lb_id": LB, "server": "10.10.0.7:443", "a.b/c": ""},
                 "values": [[1620683817, "+Inf"], [1620683937, "-Inf"]]}
            ]}
        }))
    })
    .await;
    let m = server
        .client()
        .lb_metric(
            series::DROPLETS_HEALTH_CHECKS,
            LB,
            1_620_683_817,
            1_620_705_417,
        )
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path,
        "/v2/monitoring/metrics/load_balancer/droplets_health_checks"
    );
    assert_eq!(seen[0].query["lb_id"], LB);
    assert_eq!(seen[0].query["start"], "1620683817");
    assert_eq!(seen[0].query["end"], "1620705417");
    assert_eq!(m.series.len(), 2);
    assert_eq!(m.series[0].labels["droplet_id"], "3164444");
    assert!(m.series[0].samples[1].1.is_nan());
    assert_eq!(m.series[0].samples[2], (1_620_684_057, 0.0));
    assert_eq!(m.series[1].labels["a.b/c"], "");
    assert_eq!(m.series[1].samples[0].1, f64::INFINITY);
    assert_eq!(m.series[1].samples[1].1, f64::NEG_INFINITY);
    server.assert_contract();
}

#[tokio::test]
async fn loose_prometheus_answers_still_decode() {
    // Float timestamps, a numeric label and an unreadable sample: off the spec, but what a
    // Prometheus front end may send. The series survives; the bad sample is counted.
    let server = TestServer::start(|_| {
        Reply::ok(json!({
            "status": "success",
            "data": {"resultType": "matrix", "result": [
                {"metric": {"port": 443}, "values": [[1620683817.123, "2.5"], [1620683937, {}]]}
            ]}
        }))
        .off_contract()
    })
    .await;
    let m = server
        .client()
        .lb_metric(series::DROPLETS_CONNECTIONS, LB, 0, 1)
        .await
        .unwrap();
    assert_eq!(m.series[0].labels["port"], "443");
    assert_eq!(m.series[0].samples, vec![(1_620_683_817, 2.5)]);
    assert_eq!(m.skipped_samples, 1);
}

#[tokio::test]
async fn a_429_is_retried_by_the_shared_machinery_and_a_403_is_forbidden() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = TestServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::error(429, "too_many_requests", "API rate limit exceeded.")
                .header("retry-after", "0");
        }
        Reply::ok(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}))
    })
    .await;
    let m = server
        .client()
        .lb_metric(series::FRONTEND_CPU_UTILIZATION, LB, 0, 60)
        .await
        .unwrap();
    assert!(m.series.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let server = TestServer::start(|_| {
        Reply::error(
            403,
            "forbidden",
            "You are not authorized to perform this operation.",
        )
    })
    .await;
    let err = server
        .client()
        .lb_metric(series::FRONTEND_CPU_UTILIZATION, LB, 0, 60)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert_eq!(
        server.count(
            "GET",
            "/v2/monitoring/metrics/load_balancer/frontend_cpu_utilization"
        ),
        1
    );
}

#[tokio::test]
async fn an_error_status_or_a_bad_name_is_refused() {
    let server = TestServer::start(|_| {
        Reply::ok(json!({"status": "error", "error": "query timed out", "data": null}))
            .off_contract()
    })
    .await;
    let err = server
        .client()
        .lb_metric(series::DROPLETS_DOWNTIME, LB, 0, 60)
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            message, resource, ..
        } => {
            assert!(message.contains("query timed out"), "{message}");
            assert_eq!(resource.as_deref(), Some(series::DROPLETS_DOWNTIME));
        }
        other => panic!("{other:?}"),
    }
    // Never sent: the name would change the path.
    let err = server
        .client()
        .lb_metric("../../droplets", LB, 0, 60)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(server.seen().len(), 1);
}
