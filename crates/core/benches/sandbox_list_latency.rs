//! Listing 1,000 load balancers from the Sandbox with 50 ms of injected latency per request.
//!
//! The Sandbox is seeded with its usual account, then filled up to 1,000 load balancers through
//! the API (at no latency); then every request takes 50 ms. With `per_page=200` the listing is 5
//! pages: page 1, then pages 2–5 at once (4 in flight), so about 2 request latencies of wall
//! time, and at most 3. Printed beside the sequential time (the same client, one page at a time).
//!
//! Run: `cargo bench -p cutover-core --bench sandbox_list_latency`. Exits non-zero above 3
//! latencies. (`crates/digitalocean/benches/list_latency.rs` measures the same against a bare
//! test server.)

use std::time::{Duration, Instant};

use cutover_core::lb::{Client, ForwardingRule, LoadBalancerRequest};
use cutover_digitalocean::ClientConfig;
use cutover_sandbox::{Sandbox, SandboxOptions};
use futures::StreamExt;

const TOTAL: usize = 1_000;
const LATENCY: Duration = Duration::from_millis(50);
const ROUNDS: usize = 5;

async fn best_of(client: &Client) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let lbs = client.list_load_balancers().await.expect("listing");
        best = best.min(started.elapsed());
        assert_eq!(lbs.len(), TOTAL);
    }
    best
}

fn main() {
    cutover_core::init_tls();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxOptions {
            activation_delay: Duration::ZERO,
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox");
        let config = ClientConfig::new(sandbox.token().to_string()).with_base_url(sandbox.api_base());
        let client = Client::new(config.clone()).expect("client");

        let seeded = client.list_load_balancers().await.expect("list").len();
        let droplet = client.list_droplets().await.expect("droplets")[0].id;
        let creates = futures::stream::iter(seeded..TOTAL)
            .map(|i| {
                let client = client.clone();
                async move {
                    let req = LoadBalancerRequest {
                        name: format!("bench-{i:04}"),
                        region: Some("nyc3".into()),
                        size_unit: Some(1),
                        forwarding_rules: vec![ForwardingRule::new("http", 80, "http", 80)],
                        droplet_ids: Some(vec![droplet]),
                        ..LoadBalancerRequest::default()
                    };
                    client.create_load_balancer(&req).await.expect("create");
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>();
        creates.await;

        let mut sequential_config = config;
        sequential_config.page_concurrency = 1;
        let sequential = Client::new(sequential_config).expect("client");
        client.list_load_balancers().await.expect("warm-up");
        // What the Sandbox and the client cost without the injected latency.
        let c0 = best_of(&client).await;
        let s0 = best_of(&sequential).await;
        sandbox.set_latency(LATENCY);

        let c = best_of(&client).await;
        let s = best_of(&sequential).await;
        let lat = |d: Duration| d.as_secs_f64() / LATENCY.as_secs_f64();
        println!(
            "Sandbox: list {TOTAL} load balancers, {} ms injected per request, 200 per page (best of {ROUNDS}):",
            LATENCY.as_millis()
        );
        println!("  concurrent (4 in flight): {:>7.1} ms  = {:.2} request latencies", c.as_secs_f64() * 1e3, lat(c));
        println!("  sequential:               {:>7.1} ms  = {:.2} request latencies", s.as_secs_f64() * 1e3, lat(s));
        println!("  speed-up: {:.1}x", s.as_secs_f64() / c.as_secs_f64());
        println!(
            "  (with no injected latency: concurrent {:.1} ms, sequential {:.1} ms — the Sandbox's and the client's own work)",
            c0.as_secs_f64() * 1e3,
            s0.as_secs_f64() * 1e3
        );
        sandbox.shutdown().await;
        lat(c) <= 3.0
    });
    if !ok {
        eprintln!("FAIL: the concurrent listing took more than 3 request latencies");
        std::process::exit(1);
    }
}
