//! Listing 1,000 load balancers from a local server that takes 50 ms to answer each request.
//!
//! With `per_page=200` that is 5 pages: page 1, then pages 2–5 at once (4 in flight), so the
//! wall time should be about 2 request latencies — and must be at most 3. Printed beside the
//! sequential time (the same client fetching one page at a time).
//!
//! Run: `cargo bench -p cutover-digitalocean --bench list_latency`. Exits non-zero when the
//! concurrent listing takes more than 3 latencies.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cutover_digitalocean::Client;
use support::{lb, page_of, Reply, TestServer};

const TOTAL: usize = 1_000;
const LATENCY: Duration = Duration::from_millis(50);
const ROUNDS: usize = 5;

async fn time_listing(client: &Client) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let lbs = client.list_load_balancers().await.expect("listing");
        let took = started.elapsed();
        assert_eq!(lbs.len(), TOTAL);
        best = best.min(took);
    }
    best
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime.block_on(async {
        // Pages are made once: the server's own work stays out of the measurement.
        let pages: Vec<serde_json::Value> = (1..=TOTAL.div_ceil(200) as u32)
            .map(|page| page_of("load_balancers", "/v2/load_balancers", TOTAL, page, 200, lb))
            .collect();
        let server = TestServer::start(move |seen| {
            assert_eq!(seen.query.get("per_page").map(String::as_str), Some("200"));
            Reply::ok(pages[seen.page() as usize - 1].clone()).delay(LATENCY)
        })
        .await;

        let concurrent = server.client();
        let mut cfg = server.config();
        cfg.page_concurrency = 1;
        let sequential = Client::new(cfg).expect("client");

        // Check the answers against the spec once, then time the client alone.
        concurrent.list_load_balancers().await.expect("warm-up");
        server.assert_contract();
        server.set_contract_checks(false);

        let c = time_listing(&concurrent).await;
        let s = time_listing(&sequential).await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let latencies = c.as_secs_f64() / LATENCY.as_secs_f64();
        println!(
            "list {TOTAL} load balancers, {} ms per request, 200 per page (best of {ROUNDS}):",
            LATENCY.as_millis()
        );
        println!(
            "  concurrent (4 in flight): {:>7.1} ms  = {latencies:.2} request latencies",
            ms(c)
        );
        println!(
            "  sequential:               {:>7.1} ms  = {:.2} request latencies",
            ms(s),
            s.as_secs_f64() / LATENCY.as_secs_f64()
        );
        println!("  speed-up: {:.1}x", s.as_secs_f64() / c.as_secs_f64());
        latencies <= 3.0
    });
    if !ok {
        eprintln!("FAIL: the concurrent listing took more than 3 request latencies");
        std::process::exit(1);
    }
}
