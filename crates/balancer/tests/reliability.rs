//! Issue 5 "Reliability": bulk integrity, slow-loris, backends dying and coming back, all down,
//! HTTP(S) health checks.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use cutover_balancer::{
    BackendHealth, Balancer, BalancerEvent, HealthCheckConfig, HealthCheckProtocol, Outcome,
    ProxyProtocol,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A position-sensitive 64-bit checksum over 8-byte words (cheap enough for debug builds).
#[derive(Default)]
struct Checksum {
    h: u64,
    pending: Vec<u8>,
    len: u64,
}

impl Checksum {
    fn mix(&mut self, w: u64) {
        self.h = (self.h ^ w)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(29);
    }
    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.pending.is_empty() {
            let take = (8 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == 8 {
                let w = u64::from_le_bytes(self.pending[..].try_into().unwrap());
                self.pending.clear();
                self.mix(w);
            }
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.mix(u64::from_le_bytes(w.try_into().unwrap()));
        }
        self.pending.extend_from_slice(words.remainder());
    }
    fn finish(mut self) -> u64 {
        let mut last = [0u8; 8];
        last[..self.pending.len()].copy_from_slice(&self.pending);
        self.mix(u64::from_le_bytes(last));
        let len = self.len;
        self.mix(len);
        self.h
    }
}

/// Deterministic pseudo-random bytes (xorshift64), 64 KiB at a time.
struct Gen(u64);
impl Gen {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

const MAGIC: u64 = 0x005e_ed0f_ba1a_1ce5;

/// Backend for the bulk test: after the ClientHello, checksums everything up to EOF, then
/// answers with the checksum and `len` bytes generated from the seed the client sent first.
async fn sink_backend(len: usize) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let hello_len = loop {
                    if let cutover_balancer::Inspect::Done(_) = cutover_balancer::inspect(&buf) {
                        break hello_len_of(&buf);
                    }
                    assert!(s.read_buf(&mut buf).await.unwrap() > 0);
                };
                let mut sum = Checksum::default();
                let mut seed_bytes = buf[hello_len..].to_vec();
                sum.update(&buf[hello_len..]);
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    if seed_bytes.len() < 8 {
                        seed_bytes.extend_from_slice(&chunk[..n.min(8)]);
                    }
                    sum.update(&chunk[..n]);
                }
                let seed = u64::from_le_bytes(seed_bytes[..8].try_into().unwrap());
                s.write_all(&sum.finish().to_le_bytes()).await.unwrap();
                let mut gen = Gen(seed ^ MAGIC);
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    gen.fill(&mut chunk[..n]);
                    s.write_all(&chunk[..n]).await.unwrap();
                    left -= n;
                }
                s.shutdown().await.unwrap();
            });
        }
    });
    (addr, task)
}

/// Length of the records that make up the ClientHello at the start of `buf`.
fn hello_len_of(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut hs = Vec::new();
    loop {
        let len = usize::from(u16::from_be_bytes([buf[pos + 3], buf[pos + 4]]));
        hs.extend_from_slice(&buf[pos + 5..pos + 5 + len]);
        pos += 5 + len;
        let need =
            4 + ((usize::from(hs[1]) << 16) | (usize::from(hs[2]) << 8) | usize::from(hs[3]));
        if hs.len() >= need {
            return pos;
        }
    }
}

/// 1 GiB relayed (half up, half down) over 64 parallel connections arrives byte-identical.
/// Half-close is exercised too: each client shuts its sending side down and still reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_over_64_connections_is_byte_identical() {
    const CONNS: usize = 64;
    const PER_DIRECTION: usize = 8 * 1024 * 1024; // 64 × 8 MiB × 2 directions = 1 GiB
    let (backend_addr, _backend) = sink_backend(PER_DIRECTION).await;
    let mut cfg = cutover_balancer::BalancerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        domains: vec!["shop.test".into()],
        ..Default::default()
    };
    cfg.backends.push(cutover_balancer::BackendConfig {
        name: "sink".into(),
        addr: backend_addr,
        display: None,
        health_check_addr: None,
    });
    let handle = Balancer::start(cfg).unwrap();
    let hello = Arc::new(rustls_client_hello("shop.test").await);
    let mut tasks = Vec::new();
    for i in 0..CONNS {
        let hello = hello.clone();
        let addr = handle.local_addr();
        tasks.push(tokio::spawn(async move {
            let seed = 0x1234_5678_9abc_def0u64.wrapping_mul(i as u64 + 1);
            let s = TcpStream::connect(addr).await.unwrap();
            let (mut r, mut w) = s.into_split();
            let upload = async move {
                w.write_all(&hello).await.unwrap();
                let mut sum = Checksum::default();
                let mut buf = vec![0u8; 64 * 1024];
                buf[..8].copy_from_slice(&seed.to_le_bytes());
                let mut gen = Gen(seed);
                gen.fill(&mut buf[8..]);
                let mut left = PER_DIRECTION;
                let mut first = true;
                while left > 0 {
                    if !first {
                        gen.fill(&mut buf);
                    }
                    first = false;
                    let n = left.min(buf.len());
                    sum.update(&buf[..n]);
                    w.write_all(&buf[..n]).await.unwrap();
                    left -= n;
                }
                w.shutdown().await.unwrap();
                sum.finish()
            };
            let download = async move {
                let mut echoed = [0u8; 8];
                r.read_exact(&mut echoed).await.unwrap();
                let mut got = Checksum::default();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = r.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.update(&buf[..n]);
                }
                (u64::from_le_bytes(echoed), got.len, got.finish())
            };
            let (sent, (echoed, got_len, got)) = tokio::join!(upload, download);
            let mut expected = Checksum::default();
            let mut gen = Gen(seed ^ MAGIC);
            let mut buf = vec![0u8; 64 * 1024];
            let mut left = PER_DIRECTION;
            while left > 0 {
                let n = left.min(buf.len());
                gen.fill(&mut buf[..n]);
                expected.update(&buf[..n]);
                left -= n;
            }
            assert_eq!(sent, echoed, "upload of connection {i} changed in transit");
            assert_eq!(got_len, PER_DIRECTION as u64);
            assert_eq!(
                got,
                expected.finish(),
                "download of connection {i} changed in transit"
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = handle.stop(Duration::from_secs(5)).await;
    assert_eq!(stats.relayed_connections, CONNS as u64);
    assert_eq!(stats.bytes_out, (CONNS * (PER_DIRECTION + 8)) as u64);
    assert_eq!(
        stats.bytes_in,
        (CONNS * (PER_DIRECTION + hello.len())) as u64
    );
}

/// 1,000 connections that send nothing or a byte a second do not stop a normal client, and are
/// all closed at the ClientHello timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_connections_do_not_block_and_time_out() {
    const EACH: usize = 500;
    let a = raw_backend("a").await;
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.client_hello_timeout_ms = 2_000;
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let addr = handle.local_addr();
    let hello = Arc::new(rustls_client_hello("shop.test").await);
    let mut idle = Vec::new();
    for _ in 0..EACH {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = Vec::new();
    for _ in 0..EACH {
        let hello = hello.clone();
        let mut s = TcpStream::connect(addr).await.unwrap();
        slow.push(tokio::spawn(async move {
            s.set_nodelay(true).unwrap();
            for byte in hello.iter() {
                if s.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            closed_without_data(&mut s).await
        }));
    }
    // A normal client is served while the 1,000 are hanging.
    let (_ok, line) = hello_and_greeting(addr, &hello).await;
    assert_eq!(line.as_deref(), Some("a"));
    for mut s in idle {
        assert!(closed_without_data(&mut s).await);
    }
    for t in slow {
        assert!(t.await.unwrap());
    }
    let mut timeouts = 0;
    while timeouts < 2 * EACH {
        if let BalancerEvent::ConnectionClosed(r) = events.recv().await.unwrap() {
            assert_eq!(r.outcome, Outcome::ClientHelloTimeout, "{r:?}");
            timeouts += 1;
        }
    }
    assert_eq!(handle.stats().refused_connections, (2 * EACH) as u64);
}

async fn wait_health(
    events: &mut tokio::sync::broadcast::Receiver<BalancerEvent>,
    name: &str,
    want: BackendHealth,
) {
    loop {
        if let Ok(BalancerEvent::BackendHealthChanged {
            backend, health, ..
        }) = events.recv().await
        {
            if backend == name && health == want {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backend_is_avoided_and_returns_when_healthy() {
    let a = raw_backend("a").await;
    let b = raw_backend("b").await;
    let a_addr = a.addr;
    let mut cfg = config(&["shop.test"], &[&a, &b]);
    cfg.health_check = Some(HealthCheckConfig {
        protocol: HealthCheckProtocol::Tcp,
        interval_ms: 100,
        timeout_ms: 1_000,
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        ..Default::default()
    });
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    let mut on_a = None;
    for _ in 0..2 {
        let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        if line.as_deref() == Some("a") {
            on_a = Some(s);
        }
    }
    let mut on_a = on_a.expect("round robin reached a");
    a.kill();
    drop(a);
    // Its open connection ends...
    assert!(closed_without_data(&mut on_a).await);
    // ...new ones go to b (a failed connect is retried on b before any byte went back)...
    for _ in 0..4 {
        let (_s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        assert_eq!(line.as_deref(), Some("b"));
    }
    wait_health(&mut events, "a", BackendHealth::Unhealthy).await;
    assert_eq!(handle.stats().backends[0].health, BackendHealth::Unhealthy);
    // ...and it comes back once its health check passes again.
    let _a2 = loop {
        match TcpListener::bind(a_addr).await {
            Ok(l) => {
                drop(l);
                break raw_backend_on("a", a_addr).await;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    wait_health(&mut events, "a", BackendHealth::Healthy).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(
            hello_and_greeting(handle.local_addr(), &hello)
                .await
                .1
                .unwrap(),
        );
    }
    assert!(names.iter().any(|n| n == "a"), "{names:?}");
    let stats = handle.stats();
    assert!(stats.backends[0].connect_failures >= 1);
    assert!(stats.backends[0].latency_avg_ms.is_some());
}

#[tokio::test]
async fn with_every_backend_down_clients_are_refused_at_once() {
    // Addresses nobody listens on.
    let mut dead = Vec::new();
    for _ in 0..2 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        dead.push(l.local_addr().unwrap());
    }
    let mut cfg = cutover_balancer::BalancerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        domains: vec!["shop.test".into()],
        client_hello_timeout_ms: 60_000,
        connect_timeout_ms: 60_000,
        ..Default::default()
    };
    for (i, addr) in dead.iter().enumerate() {
        cfg.backends.push(cutover_balancer::BackendConfig {
            name: format!("dead{i}"),
            addr: *addr,
            display: None,
            health_check_addr: None,
        });
    }
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    // First client: both connects fail, both backends are marked, the client is closed.
    let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
    assert_eq!(line, None);
    let r = closed_record(&mut events, s.local_addr().unwrap()).await;
    assert_eq!(r.outcome, Outcome::BackendConnectFailed);
    // Next client: nothing healthy, refused without trying.
    let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
    assert_eq!(line, None);
    let r = closed_record(&mut events, s.local_addr().unwrap()).await;
    assert_eq!(r.outcome, Outcome::NoHealthyBackend);
    let stats = handle.stats();
    assert!(stats
        .backends
        .iter()
        .all(|b| b.health == BackendHealth::Failing));
    assert_eq!(
        stats
            .backends
            .iter()
            .map(|b| b.connect_failures)
            .sum::<u64>(),
        2
    );
}

/// An HTTP backend whose status can be changed; it records what each check sent.
async fn http_backend(status: Arc<AtomicU16>, seen: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (status, seen) = (status.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                let code = status.load(Ordering::Relaxed);
                let _ = s
                    .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_checks_follow_the_status_and_send_proxy_headers() {
    let status = Arc::new(AtomicU16::new(503));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addr = http_backend(status.clone(), seen.clone()).await;
    let mut cfg = cutover_balancer::BalancerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        domains: vec!["*.apps.test".into(), "shop.test".into()],
        proxy_protocol: Some(ProxyProtocol::V1),
        health_check: Some(HealthCheckConfig {
            protocol: HealthCheckProtocol::Http,
            path: "/healthz".into(),
            interval_ms: 50,
            timeout_ms: 1_000,
            healthy_threshold: 2,
            unhealthy_threshold: 1,
            port: None,
        }),
        ..Default::default()
    };
    cfg.backends.push(cutover_balancer::BackendConfig {
        name: "web".into(),
        addr,
        display: None,
        health_check_addr: None,
    });
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    wait_health(&mut events, "web", BackendHealth::Unhealthy).await;
    assert!(handle.stats().backends[0]
        .last_check
        .as_deref()
        .unwrap()
        .contains("503"));
    status.store(200, Ordering::Relaxed);
    wait_health(&mut events, "web", BackendHealth::Healthy).await;
    let first = seen.lock().unwrap()[0].clone();
    assert!(
        first.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{first}"
    );
    assert!(
        first.contains("GET /healthz HTTP/1.0\r\nHost: shop.test\r\n"),
        "{first}"
    );
    let stats = handle.stats();
    assert!(stats.backends[0]
        .last_check
        .as_deref()
        .unwrap()
        .contains("→ 200"));
    assert!(stats.backends[0].latency_last_ms.is_some());
}

#[tokio::test]
async fn https_checks_do_not_verify_the_certificate() {
    let cert = test_cert();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&cert));
    let sni_seen = Arc::new(Mutex::new(Vec::new()));
    let sni2 = sni_seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, sni) = (acceptor.clone(), sni2.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                sni.lock()
                    .unwrap()
                    .push(tls.get_ref().1.server_name().map(str::to_string));
                let mut buf = Vec::new();
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    if tls.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let mut cfg = cutover_balancer::BalancerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // The test certificate does not name this domain: the check must still pass.
        domains: vec!["not-in-the-cert.test".into()],
        health_check: Some(HealthCheckConfig {
            protocol: HealthCheckProtocol::Https,
            interval_ms: 50,
            ..Default::default()
        }),
        ..Default::default()
    };
    cfg.backends.push(cutover_balancer::BackendConfig {
        name: "tls".into(),
        addr,
        display: None,
        health_check_addr: None,
    });
    let handle = Balancer::start(cfg).unwrap();
    let text = loop {
        if let Some(t) = handle.stats().backends[0].last_check.clone() {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        text.contains("HTTPS GET / (SNI not-in-the-cert.test)") && text.contains("→ 204"),
        "{text}"
    );
    assert_eq!(
        sni_seen.lock().unwrap()[0].as_deref(),
        Some("not-in-the-cert.test")
    );
    assert_eq!(handle.stats().backends[0].health, BackendHealth::Healthy);
}

/// A backend that accepts every connection and resets it at once (SO_LINGER 0, then close),
/// without answering: a crashed or misconfigured server behind a port that still listens.
async fn resetting_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            // Let the ClientHello arrive first, so the reset comes after the balancer wrote it.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            drop(s);
        }
    });
    addr
}

#[tokio::test]
async fn a_backend_that_resets_every_connection_is_taken_out_without_a_health_check() {
    let good = raw_backend("good").await;
    let bad = resetting_backend().await;
    let mut cfg = config(&["shop.test"], &[&good]);
    cfg.backends.insert(
        0,
        cutover_balancer::BackendConfig {
            name: "bad".into(),
            addr: bad,
            display: None,
            health_check_addr: None,
        },
    );
    assert!(cfg.health_check.is_none(), "passive marking only");
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    let mut answers = Vec::new();
    let mut failed_outcomes = Vec::new();
    for _ in 0..12 {
        let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        if line.is_none() {
            failed_outcomes.push(
                closed_record(&mut events, s.local_addr().unwrap())
                    .await
                    .outcome,
            );
        }
        answers.push(line);
    }
    let stats = handle.stats();
    assert_eq!(
        stats.backends[0].health,
        BackendHealth::Failing,
        "{stats:?}"
    );
    let why = stats.backends[0].last_check.clone().unwrap_or_default();
    assert!(why.contains("3 connections in a row"), "{why}");
    assert_eq!(stats.backends[1].health, BackendHealth::Healthy);
    // Round robin gave the resetting backend 3 clients; every later one went to the good one.
    assert_eq!(failed_outcomes.len(), 3, "{answers:?}");
    assert!(failed_outcomes.iter().all(|o| *o == Outcome::RelayError));
    assert!(
        answers[answers.len() - 6..]
            .iter()
            .all(|a| a.as_deref() == Some("good")),
        "{answers:?}"
    );

    // After the cool-down it is tried again; still resetting, one failure takes it out again.
    tokio::time::sleep(Duration::from_millis(10_200)).await;
    assert_eq!(handle.stats().backends[0].health, BackendHealth::Healthy);
    let mut failed_again = 0;
    for _ in 0..6 {
        let (_s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        if line.is_none() {
            failed_again += 1;
        }
    }
    assert_eq!(failed_again, 1);
    assert_eq!(handle.stats().backends[0].health, BackendHealth::Failing);
}

#[tokio::test]
async fn a_backend_that_answers_is_never_marked_for_resets_it_did_not_cause() {
    // Clients that hang up (here: reset) after the backend answered count for nothing.
    let good = raw_backend("good").await;
    let handle = Balancer::start(config(&["shop.test"], &[&good])).unwrap();
    let hello = rustls_client_hello("shop.test").await;
    for _ in 0..5 {
        let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        assert_eq!(line.as_deref(), Some("good"));
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = handle.stats();
    assert_eq!(stats.backends[0].health, BackendHealth::Healthy);
    assert_eq!(stats.backends[0].last_check, None);
}
