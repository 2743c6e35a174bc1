//! Real ClientHellos captured on loopback from Chromium (post-quantum X25519MLKEM768 key share,
//! ECH GREASE), curl/OpenSSL and rustls (`testdata/*.bin`, see `testdata/README.md`): the
//! balancer finds the right SNI in each and relays every byte unchanged — however the hello is
//! framed into TLS records and however it is cut into TCP writes.

mod common;

use std::time::Duration;

use common::*;
use cutover_balancer::{inspect, Balancer, BalancerHandle, HelloOutcome, Inspect, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A captured hello and what it must be.
struct Fixture {
    file: &'static str,
    sni: Option<&'static str>,
    /// Carries an X25519MLKEM768 (0x11ec) key share.
    post_quantum: bool,
    /// Carries an `encrypted_client_hello` (0xfe0d) extension (GREASE: the real SNI stays outside).
    ech: bool,
    alpn: bool,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        file: "chromium.bin",
        sni: Some("chromium.cutover.test"),
        post_quantum: true,
        ech: true,
        alpn: true,
    },
    Fixture {
        file: "chromium-no-sni.bin",
        sni: None,
        post_quantum: true,
        ech: true,
        alpn: true,
    },
    Fixture {
        file: "rustls-pq.bin",
        sni: Some("rustls-pq.cutover.test"),
        post_quantum: true,
        ech: false,
        alpn: false,
    },
    Fixture {
        file: "rustls-pq-alpn-ech-grease.bin",
        sni: Some("rustls-ech.cutover.test"),
        post_quantum: true,
        ech: true,
        alpn: true,
    },
    Fixture {
        file: "rustls-classic-alpn.bin",
        sni: Some("rustls-alpn.cutover.test"),
        post_quantum: false,
        ech: false,
        alpn: true,
    },
    Fixture {
        file: "rustls.bin",
        sni: Some("shop.test"),
        post_quantum: false,
        ech: false,
        alpn: false,
    },
    Fixture {
        file: "curl.bin",
        sni: Some("shop.test"),
        post_quantum: false,
        ech: false,
        alpn: true,
    },
    Fixture {
        file: "curl-no-alpn.bin",
        sni: Some("curl-no-alpn.cutover.test"),
        post_quantum: false,
        ech: false,
        alpn: false,
    },
    Fixture {
        file: "openssl-s_client.bin",
        sni: Some("shop.test"),
        post_quantum: false,
        ech: false,
        alpn: false,
    },
    Fixture {
        file: "openssl-no-sni.bin",
        sni: None,
        post_quantum: false,
        ech: false,
        alpn: false,
    },
];

fn read_fixture(file: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn expected(f: &Fixture) -> HelloOutcome {
    match f.sni {
        Some(name) => HelloOutcome::Sni(name.into()),
        None => HelloOutcome::NoSni,
    }
}

/// The handshake message carried by the records of `wire` (which must hold exactly one hello).
fn handshake_message(wire: &[u8]) -> Vec<u8> {
    let mut msg = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        assert_eq!(wire[pos], 22, "handshake record");
        let len = usize::from(u16::from_be_bytes([wire[pos + 3], wire[pos + 4]]));
        msg.extend_from_slice(&wire[pos + 5..pos + 5 + len]);
        pos += 5 + len;
    }
    assert_eq!(pos, wire.len());
    msg
}

/// The same handshake message in records of at most `chunk` bytes, keeping the original record
/// header's version bytes.
fn reframe(wire: &[u8], chunk: usize) -> Vec<u8> {
    let msg = handshake_message(wire);
    let mut out = Vec::new();
    for piece in msg.chunks(chunk) {
        out.extend_from_slice(&wire[..3]);
        out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
        out.extend_from_slice(piece);
    }
    out
}

/// Extension types and raw bodies of a ClientHello handshake message (our own walk, independent
/// of the parser under test).
fn extensions(msg: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut p = 4 + 2 + 32;
    p += 1 + usize::from(msg[p]); // session id
    p += 2 + usize::from(u16::from_be_bytes([msg[p], msg[p + 1]])); // cipher suites
    p += 1 + usize::from(msg[p]); // compression methods
    let end = p + 2 + usize::from(u16::from_be_bytes([msg[p], msg[p + 1]]));
    p += 2;
    let mut out = Vec::new();
    while p < end {
        let kind = u16::from_be_bytes([msg[p], msg[p + 1]]);
        let len = usize::from(u16::from_be_bytes([msg[p + 2], msg[p + 3]]));
        out.push((kind, msg[p + 4..p + 4 + len].to_vec()));
        p += 4 + len;
    }
    assert_eq!(p, end);
    out
}

/// Named groups offered in the key_share extension, with their key sizes.
fn key_shares(body: &[u8]) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    let mut q = 2;
    while q < body.len() {
        let group = u16::from_be_bytes([body[q], body[q + 1]]);
        let len = usize::from(u16::from_be_bytes([body[q + 2], body[q + 3]]));
        out.push((group, len));
        q += 4 + len;
    }
    out
}

#[test]
fn fixtures_are_what_they_claim() {
    const X25519_MLKEM768: u16 = 0x11ec;
    for f in FIXTURES {
        let wire = read_fixture(f.file);
        let exts = extensions(&handshake_message(&wire));
        let has = |kind: u16| exts.iter().any(|(k, _)| *k == kind);
        let shares = exts
            .iter()
            .find(|(k, _)| *k == 51)
            .map(|(_, body)| key_shares(body))
            .unwrap_or_default();
        let pq = shares
            .iter()
            .any(|&(g, len)| g == X25519_MLKEM768 && len == 1216);
        assert_eq!(pq, f.post_quantum, "{}: key shares {shares:x?}", f.file);
        assert_eq!(has(0xfe0d), f.ech, "{}: ECH", f.file);
        assert_eq!(has(16), f.alpn, "{}: ALPN", f.file);
        assert_eq!(has(0), f.sni.is_some(), "{}: server_name", f.file);
        if f.post_quantum {
            // The size that gets a hello split over two TCP segments on a 1500-byte MTU.
            assert!(wire.len() > 1460, "{}: {} bytes", f.file, wire.len());
        }
    }
}

#[test]
fn the_parser_finds_the_sni_however_the_hello_is_framed() {
    for f in FIXTURES {
        let captured = read_fixture(f.file);
        for chunk in [usize::MAX, 1000, 512, 100, 1] {
            let wire = if chunk == usize::MAX {
                captured.clone()
            } else {
                reframe(&captured, chunk)
            };
            let label = format!("{} in records of {chunk}", f.file);
            assert_eq!(inspect(&wire), Inspect::Done(expected(f)), "{label}");
            // Every prefix asks for more: nothing is decided before the whole hello is in.
            let step = (wire.len() / 300).max(1);
            for cut in (0..wire.len()).step_by(step) {
                assert!(
                    matches!(inspect(&wire[..cut]), Inspect::NeedMore { .. }),
                    "{label}: prefix of {cut} bytes"
                );
            }
        }
    }
}

/// How the client hands the hello to its socket.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    OneWrite,
    /// Two writes with a pause: the second TCP segment arrives later.
    TwoSegments,
    /// One byte per write (TCP_NODELAY), yielding between writes.
    ByteByByte,
}

async fn send(s: &mut TcpStream, wire: &[u8], how: Delivery) {
    match how {
        Delivery::OneWrite => s.write_all(wire).await.unwrap(),
        Delivery::TwoSegments => {
            let at = wire.len() * 2 / 3;
            s.write_all(&wire[..at]).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(&wire[at..]).await.unwrap();
        }
        Delivery::ByteByByte => {
            for b in wire {
                s.write_all(std::slice::from_ref(b)).await.unwrap();
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Relays `wire` through `handle` to backend `a`: returns the logged outcome and SNI; when
/// relayed, checks that the backend got exactly `wire` and that later bytes pass both ways.
async fn relay(
    handle: &BalancerHandle,
    backend: &Backend,
    wire: &[u8],
    how: Delivery,
    label: &str,
) -> (Outcome, Option<String>) {
    let mut events = handle.subscribe();
    let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    let me = s.local_addr().unwrap();
    send(&mut s, wire, how).await;
    let greeting = read_line(&mut s).await;
    if greeting.is_some() {
        assert_eq!(greeting.as_deref(), Some("a"), "{label}");
        let got = backend.received_prefixes.lock().unwrap().last().cloned();
        assert_eq!(got.as_deref(), Some(wire), "{label}: bytes at the backend");
        // After the hello the relay is transparent both ways (the backend echoes).
        let tail: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        s.write_all(&tail).await.unwrap();
        let mut echoed = vec![0u8; tail.len()];
        s.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, tail, "{label}: echo");
    }
    drop(s);
    let record = closed_record(&mut events, me).await;
    assert_eq!(
        record.outcome == Outcome::Relayed,
        greeting.is_some(),
        "{label}: {record:?}"
    );
    (record.outcome, record.sni)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_hellos_are_routed_and_relayed_byte_for_byte() {
    let a = raw_backend("a").await;
    let domains: Vec<&str> = FIXTURES.iter().filter_map(|f| f.sni).collect();
    let mut cfg = config(&domains, &[&a]);
    cfg.client_hello_timeout_ms = 60_000;
    let strict = Balancer::start(cfg.clone()).unwrap();
    cfg.allow_no_sni = true;
    let lenient = Balancer::start(cfg).unwrap();
    for f in FIXTURES {
        let captured = read_fixture(f.file);
        for chunk in [usize::MAX, 700, 1] {
            let wire = if chunk == usize::MAX {
                captured.clone()
            } else {
                reframe(&captured, chunk)
            };
            for how in [
                Delivery::OneWrite,
                Delivery::TwoSegments,
                Delivery::ByteByByte,
            ] {
                let label = format!("{} in records of {chunk}, {how:?}", f.file);
                let (outcome, sni) = relay(&strict, &a, &wire, how, &label).await;
                assert_eq!(sni.as_deref(), f.sni, "{label}");
                let want = if f.sni.is_some() {
                    Outcome::Relayed
                } else {
                    Outcome::NoSni
                };
                assert_eq!(outcome, want, "{label}");
                if f.sni.is_none() {
                    let (outcome, _) = relay(&lenient, &a, &wire, how, &label).await;
                    assert_eq!(outcome, Outcome::Relayed, "{label}, no SNI allowed");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_real_hello_for_another_name_is_refused() {
    let a = raw_backend("a").await;
    let handle = Balancer::start(config(&["shop.test"], &[&a])).unwrap();
    for file in ["chromium.bin", "rustls-pq-alpn-ech-grease.bin"] {
        let wire = read_fixture(file);
        let (outcome, _) = relay(&handle, &a, &wire, Delivery::TwoSegments, file).await;
        assert_eq!(outcome, Outcome::UnknownSni, "{file}");
    }
    assert!(a.received_prefixes.lock().unwrap().is_empty());
}
