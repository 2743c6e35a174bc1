//! Routing, refusal outcomes, selection, PROXY headers, limits, drain, redirect, bind errors.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use cutover_balancer::{Algorithm, Balancer, BalancerError, HelloOutcome, Outcome, ProxyProtocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn real_tls_is_relayed_by_sni_and_round_robin() {
    let cert = test_cert();
    let a = tls_backend("a", &cert).await;
    let b = tls_backend("b", &cert).await;
    let handle = Balancer::start(config(&["shop.test", "*.apps.test"], &[&a, &b])).unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_config(&cert));
    let mut seen = Vec::new();
    for name in ["shop.test", "a.apps.test", "shop.test", "a.apps.test"] {
        let tcp = TcpStream::connect(handle.local_addr()).await.unwrap();
        let server = rustls_pki_types::ServerName::try_from(name.to_string()).unwrap();
        let mut tls = connector.connect(server, tcp).await.unwrap();
        seen.push(read_line(&mut tls).await.unwrap());
        tls.write_all(b"ping\n").await.unwrap();
        assert_eq!(read_line(&mut tls).await.unwrap(), "ping");
    }
    assert_eq!(seen.iter().filter(|s| *s == "a").count(), 2, "{seen:?}");
    assert_eq!(seen.iter().filter(|s| *s == "b").count(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1]);
    let stats = handle.stats();
    assert_eq!(
        stats.backends[0].total_connections + stats.backends[1].total_connections,
        4
    );
    assert!(stats.bytes_in > 0 && stats.bytes_out > 0);
}

#[tokio::test]
async fn hello_bytes_are_replayed_unchanged() {
    let a = raw_backend("a").await;
    let handle = Balancer::start(config(&["shop.test"], &[&a])).unwrap();
    for hello in [
        rustls_client_hello("shop.test").await,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/openssl-s_client.bin"
        ))
        .unwrap(),
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/curl.bin")).unwrap(),
    ] {
        assert_eq!(sni_of(&hello), HelloOutcome::Sni("shop.test".into()));
        let (_s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        assert_eq!(line.as_deref(), Some("a"));
        assert_eq!(a.received_prefixes.lock().unwrap().last().unwrap(), &hello);
    }
}

/// Sends `hello` (in pieces, with pauses, when `split` is given) and returns the logged outcome.
async fn outcome_of(
    hello: &[u8],
    split: Option<usize>,
    allow_no_sni: bool,
) -> (Outcome, Option<String>, bool) {
    let a = raw_backend("a").await;
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.allow_no_sni = allow_no_sni;
    cfg.client_hello_timeout_ms = 60_000;
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    let me = s.local_addr().unwrap();
    match split {
        Some(at) => {
            s.write_all(&hello[..at]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            s.write_all(&hello[at..]).await.unwrap();
        }
        None => s.write_all(hello).await.unwrap(),
    }
    let greeting = read_line(&mut s).await;
    drop(s);
    let record = closed_record(&mut events, me).await;
    (record.outcome, record.sni, greeting.as_deref() == Some("a"))
}

#[tokio::test]
async fn refusals_have_the_right_outcome() {
    let (o, sni, relayed) =
        outcome_of(&rustls_client_hello("unknown.test").await, None, false).await;
    assert_eq!(
        (o, sni.as_deref(), relayed),
        (Outcome::UnknownSni, Some("unknown.test"), false)
    );

    let no_sni = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/openssl-no-sni.bin"
    ))
    .unwrap();
    assert_eq!(sni_of(&no_sni), HelloOutcome::NoSni);
    let (o, _, relayed) = outcome_of(&no_sni, None, false).await;
    assert_eq!((o, relayed), (Outcome::NoSni, false));
    let (o, _, relayed) = outcome_of(&no_sni, None, true).await;
    assert_eq!((o, relayed), (Outcome::Relayed, true));

    let (o, _, relayed) =
        outcome_of(b"GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n", None, false).await;
    assert_eq!((o, relayed), (Outcome::NotTls, false));

    let big = synthetic_hello(Some("shop.test"), 20 * 1024, 16 * 1024);
    assert!(big.len() > 20 * 1024);
    let (o, _, relayed) = outcome_of(&big, None, false).await;
    assert_eq!((o, relayed), (Outcome::ClientHelloTooLarge, false));
}

#[tokio::test]
async fn split_client_hellos_are_reassembled() {
    // A real hello cut mid-record over two TCP segments.
    let hello = rustls_client_hello("shop.test").await;
    let (o, _, relayed) = outcome_of(&hello, Some(hello.len() / 2), false).await;
    assert_eq!((o, relayed), (Outcome::Relayed, true));
    // A post-quantum-sized (~1.8 KB) hello spread over several records and two segments.
    let pq = synthetic_hello(Some("shop.test"), 1600, 1000);
    let (o, sni, relayed) = outcome_of(&pq, Some(1200), false).await;
    assert_eq!(
        (o, sni.as_deref(), relayed),
        (Outcome::Relayed, Some("shop.test"), true)
    );
}

#[tokio::test]
async fn a_client_that_closes_mid_hello_is_incomplete() {
    let a = raw_backend("a").await;
    let handle = Balancer::start(config(&["shop.test"], &[&a])).unwrap();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
    let me = s.local_addr().unwrap();
    s.write_all(&hello[..20]).await.unwrap();
    drop(s);
    assert_eq!(
        closed_record(&mut events, me).await.outcome,
        Outcome::ClientHelloIncomplete
    );
}

#[tokio::test]
async fn proxy_protocol_headers_carry_the_client_address() {
    for version in [ProxyProtocol::V1, ProxyProtocol::V2] {
        let a = raw_backend("a").await;
        let mut cfg = config(&["shop.test"], &[&a]);
        cfg.proxy_protocol = Some(version);
        let handle = Balancer::start(cfg).unwrap();
        let hello = rustls_client_hello("shop.test").await;
        let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        assert_eq!(line.as_deref(), Some("a"));
        let me = s.local_addr().unwrap();
        let got = a.received_prefixes.lock().unwrap()[0].clone();
        match version {
            ProxyProtocol::V1 => {
                let expected = format!(
                    "PROXY TCP4 {} {} {} {}\r\n",
                    me.ip(),
                    handle.local_addr().ip(),
                    me.port(),
                    handle.local_addr().port()
                );
                assert!(
                    got.starts_with(expected.as_bytes()),
                    "{:?}",
                    String::from_utf8_lossy(&got)
                );
            }
            ProxyProtocol::V2 => {
                let header = ppp::v2::Header::try_from(got.as_slice()).unwrap();
                match header.addresses {
                    ppp::v2::Addresses::IPv4(ip) => {
                        assert_eq!(ip.source_port, me.port());
                        assert_eq!(ip.destination_port, handle.local_addr().port());
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(got.ends_with(&hello));
    }
}

#[tokio::test]
async fn source_hash_is_sticky_and_least_connections_balances() {
    let (a, b, c) = (
        raw_backend("a").await,
        raw_backend("b").await,
        raw_backend("c").await,
    );
    let hello = rustls_client_hello("shop.test").await;

    let mut cfg = config(&["shop.test"], &[&a, &b, &c]);
    cfg.algorithm = Algorithm::SourceHash;
    let handle = Balancer::start(cfg).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..6 {
        seen.insert(
            hello_and_greeting(handle.local_addr(), &hello)
                .await
                .1
                .unwrap(),
        );
    }
    assert_eq!(seen.len(), 1, "{seen:?}");

    let mut cfg = config(&["shop.test"], &[&a, &b, &c]);
    cfg.algorithm = Algorithm::LeastConnections;
    let handle = Balancer::start(cfg).unwrap();
    // Three held connections spread over the three backends, whatever the rotation.
    let mut held = Vec::new();
    let mut names = HashSet::new();
    for _ in 0..3 {
        let (s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        names.insert(line.unwrap());
        held.push(s);
    }
    assert_eq!(names.len(), 3, "{names:?}");
    let stats = handle.stats();
    assert!(
        stats.backends.iter().all(|b| b.active_connections == 1),
        "{stats:?}"
    );
}

#[tokio::test]
async fn over_the_limit_is_closed_at_once() {
    let a = raw_backend("a").await;
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.max_connections = 2;
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    let (_s1, l1) = hello_and_greeting(handle.local_addr(), &hello).await;
    let (_s2, l2) = hello_and_greeting(handle.local_addr(), &hello).await;
    assert_eq!((l1.as_deref(), l2.as_deref()), (Some("a"), Some("a")));
    let mut s3 = TcpStream::connect(handle.local_addr()).await.unwrap();
    let me = s3.local_addr().unwrap();
    assert!(closed_without_data(&mut s3).await);
    assert_eq!(
        closed_record(&mut events, me).await.outcome,
        Outcome::OverConnectionLimit
    );
}

#[tokio::test]
async fn idle_relays_are_closed_at_the_idle_timeout() {
    let a = raw_backend("a").await;
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.idle_timeout_ms = 200;
    let handle = Balancer::start(cfg).unwrap();
    let mut events = handle.subscribe();
    let (mut s, line) =
        hello_and_greeting(handle.local_addr(), &rustls_client_hello("shop.test").await).await;
    assert_eq!(line.as_deref(), Some("a"));
    let me = s.local_addr().unwrap();
    assert!(closed_without_data(&mut s).await);
    let record = closed_record(&mut events, me).await;
    assert_eq!(record.outcome, Outcome::IdleTimeout);
    assert_eq!(record.backend.as_deref(), Some("a"));
    assert_eq!(record.bytes_out, 2); // "a\n"
}

#[tokio::test]
async fn stop_drains_then_cuts_and_stops_listening() {
    let a = raw_backend("a").await;
    let handle = Balancer::start(config(&["shop.test"], &[&a])).unwrap();
    let addr = handle.local_addr();
    let mut events = handle.subscribe();
    let hello = rustls_client_hello("shop.test").await;
    let (mut s, line) = hello_and_greeting(addr, &hello).await;
    assert_eq!(line.as_deref(), Some("a"));
    let me = s.local_addr().unwrap();
    // A connection that finishes during the drain ends normally...
    let (mut quick, _) = hello_and_greeting(addr, &hello).await;
    let quick_addr = quick.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        quick.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = quick.read_to_end(&mut rest).await;
    });
    let final_stats = handle.stop(Duration::from_millis(500)).await;
    closer.await.unwrap();
    // ...one still open at the deadline is cut.
    assert!(closed_without_data(&mut s).await);
    let mut outcomes = std::collections::HashMap::new();
    while outcomes.len() < 2 {
        let r = match events.recv().await.unwrap() {
            cutover_balancer::BalancerEvent::ConnectionClosed(r) => r,
            _ => continue,
        };
        outcomes.insert(r.client.clone(), r.outcome);
    }
    assert_eq!(outcomes.get(&me.to_string()), Some(&Outcome::Drained));
    assert_eq!(
        outcomes.get(&quick_addr.to_string()),
        Some(&Outcome::Relayed)
    );
    assert_eq!(final_stats.active_connections, 0);
    assert_eq!(final_stats.relayed_connections, 2);
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_redirect_listener_answers_with_https_locations() {
    let a = raw_backend("a").await;
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.redirect_http_listen = Some("127.0.0.1:0".parse().unwrap());
    let handle = Balancer::start(cfg).unwrap();
    let mut s = TcpStream::connect(handle.redirect_addr().unwrap())
        .await
        .unwrap();
    s.write_all(b"GET /cart?x=1 HTTP/1.1\r\nHost: shop.test:8080\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
    assert!(
        answer.contains("\r\nLocation: https://shop.test/cart?x=1\r\n"),
        "{answer}"
    );
    assert_eq!(handle.stats().redirects, 1);
}

#[tokio::test]
async fn bind_errors_say_why() {
    let a = raw_backend("a").await;
    let first = Balancer::start(config(&["shop.test"], &[&a])).unwrap();
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.listen = first.local_addr();
    match Balancer::start(cfg) {
        Err(e @ BalancerError::AddressInUse { .. }) => {
            assert!(e.to_string().contains("in use by another program"), "{e}")
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("bound a port in use"),
    }
    let mut cfg = config(&["shop.test"], &[&a]);
    cfg.domains.clear();
    assert!(matches!(
        Balancer::start(cfg),
        Err(BalancerError::InvalidConfig(_))
    ));
}

/// The seed corpus: every stored real ClientHello parses to its SNI (or to none). With
/// `CUTOVER_WRITE_TESTDATA=1` it (re)captures `testdata/rustls.bin` first.
#[tokio::test]
async fn testdata_hellos_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    if std::env::var_os("CUTOVER_WRITE_TESTDATA").is_some() {
        std::fs::write(
            format!("{dir}/rustls.bin"),
            rustls_client_hello("shop.test").await,
        )
        .unwrap();
    }
    for (file, want) in [
        (
            "openssl-s_client.bin",
            HelloOutcome::Sni("shop.test".into()),
        ),
        ("openssl-no-sni.bin", HelloOutcome::NoSni),
        ("curl.bin", HelloOutcome::Sni("shop.test".into())),
        ("rustls.bin", HelloOutcome::Sni("shop.test".into())),
    ] {
        let bytes = std::fs::read(format!("{dir}/{file}")).unwrap();
        assert_eq!(sni_of(&bytes), want, "{file}");
    }
}
