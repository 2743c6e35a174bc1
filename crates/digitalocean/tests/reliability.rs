//! The client against an API that lies, stalls and breaks (issue 14): bounded pagination,
//! writes that may have been applied, capped and idle-timed bodies, request ids that carry
//! junk, the real wait of a 429, decode errors that name the resource and the field.
//! Every server binds 127.0.0.1:0; nothing leaves loopback.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover_digitalocean::plan::plan_update;
use cutover_digitalocean::{Client, ClientConfig, DomainRecordRequest, Error, LoadBalancerRequest};
use serde_json::{json, Value};
use support::raw::{self, RawServer, Step};
use support::*;

const LB_ID: &str = "4de7ac8b-495b-4884-9a69-000000000001";

/// Old code looped (nearly) forever on lying counts: every listing test is bounded.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the call did not finish within 20 s")
}

fn raw_client(server: &RawServer, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = ClientConfig::new(TOKEN).with_base_url(server.base_url());
    cfg.max_retries = 3;
    cfg.retry_wait_min = Duration::from_millis(5);
    cfg.retry_wait_max = Duration::from_millis(20);
    cfg.timeout = Duration::from_secs(10);
    tweak(&mut cfg);
    Client::new(cfg).unwrap()
}

fn request() -> LoadBalancerRequest {
    let mut lb: cutover_digitalocean::LoadBalancer = serde_json::from_value(lb(9)).unwrap();
    lb.id.clear();
    lb.to_request()
}

/// A page of `n` load balancers from `start`, with whatever links and meta the test says.
fn lying_page(start: usize, n: usize, links: Value, meta: Value) -> Value {
    let items: Vec<Value> = (start..start + n).map(lb).collect();
    json!({"load_balancers": items, "links": links, "meta": meta})
}

fn last_link(page: u64) -> Value {
    json!({"pages": {
        "next": "https://api.digitalocean.com/v2/load_balancers?page=2&per_page=10",
        "last": format!("https://api.digitalocean.com/v2/load_balancers?page={page}&per_page=10")
    }})
}

fn small_pages(server: &TestServer, max_pages: u32) -> Client {
    let mut cfg = server.config();
    cfg.per_page = 10;
    cfg.max_pages = max_pages;
    Client::new(cfg).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Pagination
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lying_page_counts_stop_at_the_first_short_page() {
    // links.pages.last and meta.total claim billions; page 4 is short: that is the end.
    let server = TestServer::start(|seen| {
        let page = seen.page() as usize;
        let n = match page {
            1..=3 => 10,
            4 => 5,
            _ => 0,
        };
        Reply::ok(lying_page(
            (page - 1) * 10,
            n,
            last_link(u32::MAX as u64),
            json!({"total": 1_000_000_000u64}),
        ))
        .off_contract()
    })
    .await;
    let client = small_pages(&server, 1_000);
    let listing = bounded(client.list_pages::<cutover_digitalocean::LoadBalancer>(
        "/v2/load_balancers",
        "load_balancers",
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(listing.items.len(), 35);
    assert_eq!(listing.pages, 4);
    // Page 4 ends it; only the pages already in flight (4 at once) were asked for beyond it.
    assert!(
        server.seen().len() <= 4 + 4,
        "{} requests",
        server.seen().len()
    );
    let note = listing.note.expect("the disagreement is reported");
    assert!(
        note.contains("meta.total says 1000000000, 35 arrived"),
        "{note}"
    );
    let lbs = bounded(client.list_load_balancers()).await.unwrap();
    assert_eq!(lbs.len(), 35);
}

#[tokio::test]
async fn an_empty_page_ends_a_listing_whose_counts_lie() {
    let server = TestServer::start(|seen| {
        let page = seen.page() as usize;
        let n = if page <= 2 { 10 } else { 0 };
        Reply::ok(lying_page(
            (page - 1) * 10,
            n,
            last_link(1_000_000),
            json!({"total": 10_000_000}),
        ))
        .off_contract()
    })
    .await;
    let lbs = bounded(small_pages(&server, 1_000).list_load_balancers())
        .await
        .unwrap();
    assert_eq!(lbs.len(), 20);
    assert!(
        server.seen().len() <= 3 + 4,
        "{} requests",
        server.seen().len()
    );
}

#[tokio::test]
async fn an_api_paging_by_fewer_than_asked_is_still_read_whole() {
    // Asked for 10 a page, the API gives 7 (and links and meta to match): not "short".
    let server = TestServer::start(|seen| {
        Reply::ok(page_of(
            "load_balancers",
            "/v2/load_balancers",
            30,
            seen.page(),
            7,
            lb,
        ))
    })
    .await;
    let client = small_pages(&server, 1_000);
    let listing = bounded(client.list_pages::<cutover_digitalocean::LoadBalancer>(
        "/v2/load_balancers",
        "load_balancers",
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(listing.items.len(), 30);
    assert_eq!(listing.pages, 5);
    assert_eq!(listing.note, None);
    assert_eq!(listing.items[29].name, "lb-0029");
    server.assert_contract();
}

#[tokio::test]
async fn full_pages_forever_are_capped_by_meta_total_and_by_the_absolute_max() {
    // Every page full, links.last 1,000,000; meta.total says 30: three pages, not a million.
    let server = TestServer::start(|seen| {
        let page = seen.page() as usize;
        Reply::ok(lying_page(
            (page - 1) * 10,
            10,
            last_link(1_000_000),
            json!({"total": 30}),
        ))
        .off_contract()
    })
    .await;
    let client = small_pages(&server, 1_000);
    let listing = bounded(client.list_pages::<cutover_digitalocean::LoadBalancer>(
        "/v2/load_balancers",
        "load_balancers",
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(listing.items.len(), 30);
    assert_eq!(server.seen().len(), 3);
    let note = listing.note.unwrap();
    assert!(note.contains("links.pages.last says 1000000"), "{note}");

    // No meta, links.last a million, pages always full: the absolute maximum ends it.
    let server = TestServer::start(|seen| {
        let page = seen.page() as usize;
        Reply::ok(lying_page(
            (page - 1) * 10,
            10,
            last_link(1_000_000),
            Value::Null,
        ))
        .off_contract()
    })
    .await;
    let listing = bounded(
        small_pages(&server, 25).list_pages::<cutover_digitalocean::LoadBalancer>(
            "/v2/load_balancers",
            "load_balancers",
            &[],
        ),
    )
    .await
    .unwrap();
    assert_eq!(server.seen().len(), 25);
    assert_eq!(listing.items.len(), 250);
    let note = listing.note.unwrap();
    assert!(note.contains("stopped after 25 pages"), "{note}");
}

// ---------------------------------------------------------------------------------------------
// 2. Writes that may have been applied
// ---------------------------------------------------------------------------------------------

fn assert_maybe_applied(err: &Error, method: &str) {
    match err {
        Error::MaybeApplied { method: m, .. } => assert_eq!(m, method),
        other => panic!("expected MaybeApplied, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("the request may have been applied: check before retrying"),
        "{text}"
    );
    assert!(!text.contains("could not reach"), "{text}");
}

#[tokio::test]
async fn a_create_answered_with_a_5xx_may_have_been_applied() {
    let server = TestServer::start(|_| {
        Reply::error(
            500,
            "server_error",
            "Server was unable to give you a response.",
        )
    })
    .await;
    let err = server
        .client()
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "POST");
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.request_id(), Some("req-server_error"));
    assert_eq!(
        server.count("POST", "/v2/load_balancers"),
        1,
        "never re-sent"
    );
}

#[tokio::test]
async fn a_create_that_timed_out_may_have_been_applied() {
    let server = TestServer::start(|_| {
        Reply::json(202, json!({"load_balancer": lb(9)})).delay(Duration::from_secs(5))
    })
    .await;
    let mut cfg = server.config();
    cfg.timeout = Duration::from_millis(300);
    let err = Client::new(cfg)
        .unwrap()
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "POST");
    assert_eq!(server.count("POST", "/v2/load_balancers"), 1);
}

#[tokio::test]
async fn a_create_reset_after_it_was_read_may_have_been_applied() {
    let server = RawServer::start(|_, _| vec![Step::Reset]).await;
    let err = raw_client(&server, |_| {})
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "POST");
    assert_eq!(server.count("POST"), 1);
}

#[tokio::test]
async fn a_create_refused_with_a_429_or_never_connected_is_not_maybe_applied() {
    // A 429 is refused before any work: retried, then a plain rate-limit error.
    let server = TestServer::start(|_| {
        Reply::error(429, "too_many_requests", "API rate limit exceeded.")
            .header("retry-after", "0")
    })
    .await;
    let err = server
        .client()
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(server.count("POST", "/v2/load_balancers"), 4);
    // A 422 says what is wrong; nothing was created.
    let server =
        TestServer::start(|_| Reply::error(422, "unprocessable_entity", "bad region")).await;
    let err = server
        .client()
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    // No connection at all: nothing was sent, so nothing may have been applied.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = ClientConfig::new(TOKEN).with_base_url(format!("http://{addr}"));
    cfg.retry_wait_min = Duration::from_millis(1);
    cfg.retry_wait_max = Duration::from_millis(2);
    let err = Client::new(cfg)
        .unwrap()
        .create_load_balancer(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("could not reach the DigitalOcean API"),
        "{err}"
    );
}

#[tokio::test]
async fn a_full_replace_put_is_not_resent_blindly() {
    let server = TestServer::start(|seen| match seen.method.as_str() {
        "PUT" => Reply::error(503, "server_error", "Service Unavailable").off_contract(),
        _ => Reply::ok(json!({"load_balancer": lb(1)})),
    })
    .await;
    let client = server.client();
    let current = client.get_load_balancer(LB_ID).await.unwrap();
    let err = client
        .update_load_balancer(LB_ID, &current.to_request())
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "PUT");
    assert_eq!(
        server.count("PUT", &format!("/v2/load_balancers/{LB_ID}")),
        1
    );
}

/// A load balancer the test server keeps: GET returns it, PUT replaces it (when told to).
struct Stateful {
    server: TestServer,
    state: Arc<Mutex<Value>>,
    puts: Arc<AtomicUsize>,
}

/// `on_put(n, state)`: what the `n`th PUT (from 1) does; `None` answers 200 and stores the body.
async fn stateful(
    on_put: impl Fn(usize, &mut Value, &Value) -> Option<Reply> + Send + Sync + 'static,
) -> Stateful {
    let state = Arc::new(Mutex::new(lb(1)));
    let puts = Arc::new(AtomicUsize::new(0));
    let (s, p) = (state.clone(), puts.clone());
    let server = TestServer::start(move |seen| {
        let mut lb = s.lock().unwrap();
        match seen.method.as_str() {
            "GET" => Reply::ok(json!({"load_balancer": lb.clone()})),
            "PUT" => {
                let n = p.fetch_add(1, Ordering::SeqCst) + 1;
                let body = seen.body.clone().unwrap_or(Value::Null);
                if let Some(reply) = on_put(n, &mut lb, &body) {
                    return reply;
                }
                apply_body(&mut lb, &body);
                Reply::ok(json!({"load_balancer": lb.clone()}))
            }
            _ => Reply::error(404, "not_found", "no route"),
        }
    })
    .await;
    Stateful {
        server,
        state,
        puts,
    }
}

fn apply_body(lb: &mut Value, body: &Value) {
    for (k, v) in body.as_object().unwrap() {
        if k != "region" && k != "validate_only" {
            lb[k] = v.clone();
        }
    }
}

#[tokio::test]
async fn apply_rechecks_before_resending_a_put_that_failed() {
    // The first PUT gets a 503 and did nothing: the load balancer is re-fetched, found as
    // planned, and the PUT is sent again.
    let s = stateful(|n, _, _| {
        (n == 1).then(|| Reply::error(503, "server_error", "Service Unavailable").off_contract())
    })
    .await;
    let client = s.server.client();
    let current = client.get_load_balancer(LB_ID).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    let applied = client
        .apply(&plan_update(&current, &desired))
        .await
        .unwrap();
    assert!(applied.enable_backend_keepalive);
    assert_eq!(s.puts.load(Ordering::SeqCst), 2);
    // The plan's GET, the check before the PUT, the re-check before the retry.
    assert_eq!(
        s.server
            .count("GET", &format!("/v2/load_balancers/{LB_ID}")),
        3
    );
}

#[tokio::test]
async fn apply_does_not_overwrite_a_change_made_while_its_put_hung() {
    // The PUT hangs past the timeout; meanwhile a colleague changes a target port.
    let s = stateful(|_, lb, _| {
        lb["forwarding_rules"][0]["target_port"] = json!(8080);
        Some(
            Reply::ok(json!({}))
                .delay(Duration::from_secs(5))
                .off_contract(),
        )
    })
    .await;
    let mut cfg = s.server.config();
    cfg.timeout = Duration::from_millis(300);
    let client = Client::new(cfg).unwrap();
    let current = client.get_load_balancer(LB_ID).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    let err = client
        .apply(&plan_update(&current, &desired))
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "PUT");
    assert!(err.to_string().contains("differs from both"), "{err}");
    assert_eq!(
        s.puts.load(Ordering::SeqCst),
        1,
        "sent once, not five times"
    );
    assert_eq!(
        s.state.lock().unwrap()["forwarding_rules"][0]["target_port"],
        json!(8080)
    );
}

#[tokio::test]
async fn apply_gives_up_on_a_hanging_put_within_the_failed_time_budget() {
    // Every PUT hangs and does nothing: re-checked and re-sent while the budget lasts (two
    // attempts of 0.3 s against 0.5 s), then "may have been applied" — not five hangs.
    let s = stateful(|_, _, _| {
        Some(
            Reply::ok(json!({}))
                .delay(Duration::from_secs(5))
                .off_contract(),
        )
    })
    .await;
    let mut cfg = s.server.config();
    cfg.timeout = Duration::from_millis(300);
    cfg.max_failed_time = Duration::from_millis(500);
    let client = Client::new(cfg).unwrap();
    let current = client.get_load_balancer(LB_ID).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    let started = Instant::now();
    let err = client
        .apply(&plan_update(&current, &desired))
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "PUT");
    let puts = s.puts.load(Ordering::SeqCst);
    assert!((1..=2).contains(&puts), "{puts} PUTs");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn apply_reports_success_when_the_put_that_failed_went_through() {
    // The PUT is carried out, then the answer is a 502: the re-fetch shows the plan applied.
    let s = stateful(|_, lb, body| {
        apply_body(lb, body);
        Some(Reply::raw(502, "<html>bad gateway</html>"))
    })
    .await;
    let client = s.server.client();
    let current = client.get_load_balancer(LB_ID).await.unwrap();
    let mut desired = current.clone();
    desired.enable_backend_keepalive = true;
    let applied = client
        .apply(&plan_update(&current, &desired))
        .await
        .unwrap();
    assert!(applied.enable_backend_keepalive);
    assert_eq!(s.puts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_record_update_that_failed_is_checked_not_resent() {
    // Carried out, then a 500: the re-read record shows it, so it is a success.
    let applied = Arc::new(AtomicUsize::new(0));
    let a = applied.clone();
    let server = TestServer::start(move |seen| match seen.method.as_str() {
        "PUT" => {
            a.store(1, Ordering::SeqCst);
            Reply::error(500, "server_error", "Server was unable to give you a response.")
        }
        _ => {
            let data = if a.load(Ordering::SeqCst) == 1 { "203.0.113.11" } else { "203.0.113.10" };
            Reply::ok(json!({"domain_record": {"id": 28448434, "type": "A", "name": "www", "data": data, "ttl": 1800}}))
        }
    })
    .await;
    let client = server.client();
    let req = DomainRecordRequest::simple("A", "www", "203.0.113.11");
    let path = "/v2/domains/example.com/records/28448434";
    let record = client
        .update_domain_record("example.com", 28448434, &req)
        .await
        .unwrap();
    assert_eq!(record.data, "203.0.113.11");
    assert_eq!(server.count("PUT", path), 1);
    // Not carried out: said so, not re-sent.
    applied.store(2, Ordering::SeqCst);
    let other = DomainRecordRequest::simple("A", "www", "203.0.113.99");
    let err = client
        .update_domain_record("example.com", 28448434, &other)
        .await
        .unwrap_err();
    assert_maybe_applied(&err, "PUT");
    assert_eq!(server.count("PUT", path), 2);
}

#[tokio::test]
async fn a_delete_retried_after_a_503_that_finds_it_gone_succeeds() {
    let deletes = Arc::new(AtomicUsize::new(0));
    let d = deletes.clone();
    let server = TestServer::start(move |seen| match seen.method.as_str() {
        "DELETE" if d.fetch_add(1, Ordering::SeqCst) == 0 => {
            Reply::error(503, "server_error", "Service Unavailable").off_contract()
        }
        _ => Reply::error(
            404,
            "not_found",
            "The resource you were accessing could not be found.",
        ),
    })
    .await;
    let client = server.client();
    client.delete_load_balancer(LB_ID).await.unwrap();
    assert_eq!(deletes.load(Ordering::SeqCst), 2);
    // A 404 at the first try is still "not found", naming what.
    let err = client.delete_load_balancer(LB_ID).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("load balancer {LB_ID} was not found (404)")
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Body size, stalls, retries shown
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_that_stalls_midway_fails_fast_and_says_so() {
    let server = RawServer::start(|_, _| {
        vec![
            Step::Write(raw::head(
                200,
                &[
                    ("content-type", "application/json".into()),
                    ("content-length", "5000".into()),
                ],
            )),
            Step::Write(br#"{"account": {"email": "#.to_vec()),
            Step::Sleep(Duration::from_secs(60)),
        ]
    })
    .await;
    let client = raw_client(&server, |cfg| {
        cfg.read_idle_timeout = Duration::from_millis(300);
        cfg.max_failed_time = Duration::from_millis(500);
    });
    let started = Instant::now();
    let err = bounded(client.account()).await.unwrap_err();
    let elapsed = started.elapsed();
    match &err {
        Error::Interrupted {
            status: 200,
            stalled_for: Some(_),
            received,
            ..
        } => assert_eq!(*received, 22),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("answered (200) and then stopped sending"),
        "{text}"
    );
    assert!(!text.contains("could not reach"), "{text}");
    // Two attempts of 0.3 s, then the failed-time budget stops the retries (one, on a machine
    // slow enough to spend 0.5 s on the first).
    assert!(
        (1..=2).contains(&server.count("GET")),
        "{}",
        server.count("GET")
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap_and_not_retried() {
    let server = RawServer::start(|_, _| {
        vec![
            Step::Write(raw::head(
                200,
                &[("content-type", "application/json".into())],
            )),
            Step::Write(br#"{"load_balancers": ["#.to_vec()),
            Step::Endless(b"0,".repeat(4096)),
        ]
    })
    .await;
    let client = raw_client(&server, |cfg| cfg.max_body_bytes = 1 << 20);
    let err = bounded(client.list_load_balancers()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    assert_eq!(server.count("GET"), 1);

    // A declared length over the cap is refused before reading.
    let server = RawServer::start(|_, _| {
        vec![
            Step::Write(raw::head(
                200,
                &[("content-length", (2u64 << 30).to_string())],
            )),
            Step::Sleep(Duration::from_secs(60)),
        ]
    })
    .await;
    let err = bounded(raw_client(&server, |_| {}).account())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn a_body_cut_off_is_not_blamed_on_reaching_the_api() {
    let server = RawServer::start(|_, _| {
        vec![
            Step::Write(raw::head(200, &[("content-length", "5000".into())])),
            Step::Write(b"{\"account\"".to_vec()),
            Step::Reset,
        ]
    })
    .await;
    let err = bounded(raw_client(&server, |_| {}).account())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Interrupted {
                stalled_for: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("then the connection was cut off"),
        "{err}"
    );
}

/// Collects what is logged at WARN and above while it is the default subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_retry_is_logged_at_warn_with_the_wait_and_the_cause() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = TestServer::start(|_| {
        Reply::error(503, "server_error", "Service Unavailable").off_contract()
    })
    .await;
    let err = server.client().account().await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    for attempt in 2..=4 {
        assert!(
            text.contains(&format!(
                "(attempt {attempt} of 4): DigitalOcean failed (503)"
            )),
            "{text}"
        );
    }
    assert!(text.contains("retrying in "), "{text}");
}

// ---------------------------------------------------------------------------------------------
// 4. Request ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_id_that_echoes_the_token_is_dropped() {
    let server = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/account" => Reply::json(
            403,
            json!({"id": "forbidden", "message": "no", "request_id": format!("Bearer {TOKEN}")}),
        )
        .header("x-request-id", TOKEN),
        _ => Reply::error(404, "not_found", "gone").header("x-request-id", "ok;junk"),
    })
    .await;
    let client = server.client();
    let err = client.account().await.unwrap_err();
    assert_eq!(err.request_id(), None, "{err:?}");
    assert!(!format!("{err:?}").contains("testtoken"), "{err:?}");
    let err = client.get_load_balancer("x").await.unwrap_err();
    // The body's id is plausible; the header's junk never shows.
    assert_eq!(err.request_id(), Some("req-not_found"));
}

// ---------------------------------------------------------------------------------------------
// 5. The real wait of a 429
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_says_the_real_wait() {
    let server = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/account" => Reply::error(429, "too_many_requests", "API rate limit exceeded.")
            .header("retry-after", "12000"),
        _ => {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 7_200;
            Reply::error(429, "too_many_requests", "API rate limit exceeded.")
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", &reset.to_string())
        }
    })
    .await;
    let client = server.client();
    let err = client.account().await.unwrap_err();
    assert!(
        err.to_string().ends_with("try again in 3 h 20 min"),
        "{err}"
    );
    let err = client.list_regions().await.unwrap_err();
    match &err {
        Error::RateLimited {
            retry_after: Some(wait),
            ..
        } => {
            assert!(
                wait.as_secs() > 7_000 && wait.as_secs() <= 7_200,
                "{wait:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("try again in 2 h"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 6. One bad field
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_null_field_names_the_load_balancer_and_the_field() {
    let server = TestServer::start(|seen| {
        let mut page = page_of(
            "load_balancers",
            "/v2/load_balancers",
            5,
            seen.page(),
            200,
            lb,
        );
        page["load_balancers"][3]["forwarding_rules"][1]["target_port"] = Value::Null;
        if seen.path != "/v2/load_balancers" {
            return Reply::ok(json!({"load_balancer": page["load_balancers"][3].clone()}))
                .off_contract();
        }
        Reply::ok(page).off_contract()
    })
    .await;
    let client = server.client();
    let err = client.list_load_balancers().await.unwrap_err();
    match &err {
        Error::Decode {
            resource, field, ..
        } => {
            let resource = resource.as_deref().unwrap();
            assert!(
                resource.contains("4de7ac8b-495b-4884-9a69-000000000003"),
                "{resource}"
            );
            assert!(resource.contains("lb-0003"), "{resource}");
            assert_eq!(
                field.as_deref(),
                Some("load_balancers[3].forwarding_rules[1].target_port")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("load_balancers[3].forwarding_rules[1].target_port"),
        "{err}"
    );
    let err = client.get_load_balancer("x").await.unwrap_err();
    match &err {
        Error::Decode { field, .. } => {
            assert_eq!(
                field.as_deref(),
                Some("load_balancer.forwarding_rules[1].target_port")
            )
        }
        other => panic!("{other:?}"),
    }
}
