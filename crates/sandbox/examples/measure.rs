//! Measures the sandbox on this machine and prints the figures (no assertions: the machine is
//! shared and noisy). Run: `cargo run -p cutover-sandbox --release --example measure`.
//!
//! - start-up (CA, 3 certificates, 5 droplets × 2 listeners, API);
//! - create throughput (POST /v2/load_balancers, validator included);
//! - listing 1,000 load balancers: 5 pages of 200 one after another, vs page 1 then pages 2–5
//!   concurrently, without and with 50 ms of injected latency (the ratio the client's pagination
//!   relies on);
//! - HTTPS requests to a droplet (new connection + TLS handshake each).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cutover_sandbox::{Sandbox, SandboxOptions, WEB_1, WEB_2};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn list_all(http: &reqwest::Client, base: &str, token: &str, concurrent: bool) -> usize {
    let get = |page: usize| {
        let url = format!("{base}/v2/load_balancers?page={page}&per_page=200");
        let req = http.get(url).bearer_auth(token);
        async move {
            let v: Value = req.send().await.unwrap().json().await.unwrap();
            v["load_balancers"].as_array().map(Vec::len).unwrap_or(0)
        }
    };
    let mut n = get(1).await;
    if concurrent {
        let rest = futures_join(vec![get(2), get(3), get(4), get(5)]).await;
        n += rest.into_iter().sum::<usize>();
    } else {
        for p in 2..=5 {
            n += get(p).await;
        }
    }
    n
}

async fn futures_join<F: std::future::Future<Output = usize> + Send + 'static>(
    fs: Vec<F>,
) -> Vec<usize> {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let t = Instant::now();
    let sb = Sandbox::start(SandboxOptions {
        activation_delay: Duration::ZERO,
        busy_window: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    println!("start-up: {:.1} ms", ms(t.elapsed()));
    let http = reqwest::Client::new();
    let (base, token) = (sb.api_base(), sb.token().to_string());

    let t = Instant::now();
    for i in 0..997 {
        let body = json!({
            "name": format!("bench-{i:04}"), "region": "nyc3",
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}],
            "droplet_ids": [WEB_1, WEB_2],
        });
        let r = http
            .post(format!("{base}/v2/load_balancers"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
    let el = t.elapsed();
    println!(
        "create: 997 load balancers in {:.0} ms ({:.2} ms each)",
        ms(el),
        ms(el) / 997.0
    );

    for path in [
        "/v2/account",
        "/v2/load_balancers?per_page=1",
        "/v2/load_balancers?per_page=200",
    ] {
        let t = Instant::now();
        let rounds = 20;
        let mut bytes = 0;
        for _ in 0..rounds {
            let r = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            bytes = r.bytes().await.unwrap().len();
        }
        println!(
            "GET {path}: {:.2} ms each ({bytes} bytes)",
            ms(t.elapsed()) / rounds as f64
        );
    }
    for latency in [Duration::ZERO, Duration::from_millis(50)] {
        sb.set_latency(latency);
        let t = Instant::now();
        let n = list_all(&http, &base, &token, false).await;
        let seq = t.elapsed();
        let t = Instant::now();
        let m = list_all(&http, &base, &token, true).await;
        let par = t.elapsed();
        assert_eq!((n, m), (1000, 1000));
        println!(
            "list 1,000 (5 pages of 200), latency {:>2} ms: sequential {:.1} ms, page 1 then 4 concurrent {:.1} ms, ratio {:.2}x{}",
            latency.as_millis(),
            ms(seq),
            ms(par),
            ms(seq) / ms(par),
            if latency.is_zero() { String::new() } else { format!(", concurrent = {:.2} latencies", ms(par) / ms(latency)) }
        );
    }
    sb.set_latency(Duration::ZERO);

    let (_, p) = x509_parser::pem::parse_x509_pem(sb.ca_pem().as_bytes()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(p.contents)).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = sb.backend_addr(WEB_1, 443).unwrap();
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("sandbox-shop.test").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(b"GET / HTTP/1.1\r\nHost: sandbox-shop.test\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        assert!(out.windows(14).any(|w| w == b"<h1>web-1</h1>"));
    }
    let el = t.elapsed();
    println!(
        "droplet HTTPS: {rounds} connections (handshake + GET) in {:.0} ms ({:.2} ms each)",
        ms(el),
        ms(el) / rounds as f64
    );
    sb.shutdown().await;
}
