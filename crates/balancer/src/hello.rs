//! Reading the TLS ClientHello without consuming it: buffer the handshake records, find the SNI,
//! and hand every byte back so it can be replayed to the backend unchanged.
//!
//! Record reassembly is ours (a ClientHello may span several records and TCP segments — post-
//! quantum key shares make ~1.8 KB hellos that routinely arrive in two segments); parsing the
//! handshake message itself is rusticata's `tls-parser`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The largest ClientHello handshake message we accept (header included).
pub const MAX_CLIENT_HELLO: usize = 16 * 1024;
/// The most bytes we buffer while looking for the ClientHello: the message plus record headers
/// and whatever the client sent right behind it.
pub const MAX_BUFFERED: usize = MAX_CLIENT_HELLO + 4 * 1024;

const RECORD_HEADER: usize = 5;
const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes.
const MAX_RECORD_PAYLOAD: usize = 16 * 1024;

/// What the first bytes of a connection turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum HelloOutcome {
    /// A ClientHello with this server name (lower-cased, without a trailing dot).
    Sni(String),
    /// A well-formed ClientHello without a server name.
    NoSni,
    /// Not TLS, or a malformed ClientHello.
    NotTls,
    /// The ClientHello is larger than [`MAX_CLIENT_HELLO`].
    TooLarge,
    /// The ClientHello did not arrive within the ClientHello timeout.
    Timeout,
    /// The client closed the connection before the ClientHello was complete.
    Incomplete,
}

/// The result of looking at the bytes buffered so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspect {
    /// Not enough bytes yet; `at_least` more are certainly needed.
    NeedMore {
        at_least: usize,
    },
    Done(HelloOutcome),
}

/// Looks at the bytes a client sent so far. Pure and panic-free on any input (fuzzed).
pub fn inspect(buf: &[u8]) -> Inspect {
    // Handshake payload gathered from consecutive handshake records. Borrowed while it comes
    // from a single record (the common case), copied only when a hello spans records.
    let mut joined: Vec<u8> = Vec::new();
    let mut single: Option<&[u8]> = None;
    let mut pos = 0usize;
    loop {
        let payload: &[u8] = match single {
            Some(p) => p,
            None => &joined,
        };
        // Once the 4-byte handshake header is in, we know how long the ClientHello is.
        if payload.len() >= 4 {
            if payload[0] != HANDSHAKE_CLIENT_HELLO {
                return Inspect::Done(HelloOutcome::NotTls);
            }
            let msg_len = 4 + u24(&payload[1..4]);
            if msg_len > MAX_CLIENT_HELLO {
                return Inspect::Done(HelloOutcome::TooLarge);
            }
            if payload.len() >= msg_len {
                return Inspect::Done(parse_client_hello(&payload[..msg_len]));
            }
        }
        let rest = &buf[pos..];
        if rest.len() < RECORD_HEADER {
            if let Some(outcome) = early_reject(rest) {
                return Inspect::Done(outcome);
            }
            return Inspect::NeedMore {
                at_least: RECORD_HEADER - rest.len(),
            };
        }
        if let Some(outcome) = early_reject(&rest[..RECORD_HEADER]) {
            return Inspect::Done(outcome);
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len == 0 || len > MAX_RECORD_PAYLOAD + 2048 {
            return Inspect::Done(HelloOutcome::NotTls);
        }
        if rest.len() < RECORD_HEADER + len {
            // Judge the handshake header early when it is already here: a hello that declares
            // more than 16 KiB is refused without waiting for it.
            let partial = &rest[RECORD_HEADER..];
            let mut header = [0u8; 4];
            let have = payload.len().min(4);
            header[..have].copy_from_slice(&payload[..have]);
            let extra = (4 - have).min(partial.len());
            header[have..have + extra].copy_from_slice(&partial[..extra]);
            if have + extra >= 1 && header[0] != HANDSHAKE_CLIENT_HELLO {
                return Inspect::Done(HelloOutcome::NotTls);
            }
            if have + extra == 4 && 4 + u24(&header[1..4]) > MAX_CLIENT_HELLO {
                return Inspect::Done(HelloOutcome::TooLarge);
            }
            if pos + RECORD_HEADER + len > MAX_BUFFERED {
                return Inspect::Done(HelloOutcome::TooLarge);
            }
            return Inspect::NeedMore {
                at_least: RECORD_HEADER + len - rest.len(),
            };
        }
        let fragment = &rest[RECORD_HEADER..RECORD_HEADER + len];
        pos += RECORD_HEADER + len;
        match single.take() {
            None if joined.is_empty() => single = Some(fragment),
            None => joined.extend_from_slice(fragment),
            Some(first) => {
                joined.reserve(first.len() + fragment.len());
                joined.extend_from_slice(first);
                joined.extend_from_slice(fragment);
            }
        }
        if pos > MAX_BUFFERED {
            return Inspect::Done(HelloOutcome::TooLarge);
        }
    }
}

/// Checks the record header bytes present so far: handshake content type, TLS major version 3.
/// A non-handshake record in the middle of a ClientHello is as wrong as at the start.
fn early_reject(header: &[u8]) -> Option<HelloOutcome> {
    if let Some(&content_type) = header.first() {
        if content_type != CONTENT_HANDSHAKE {
            return Some(HelloOutcome::NotTls);
        }
    }
    if let Some(&major) = header.get(1) {
        if major != 3 {
            return Some(HelloOutcome::NotTls);
        }
    }
    None
}

fn u24(b: &[u8]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

/// Parses one complete ClientHello handshake message (header included) and extracts the SNI.
fn parse_client_hello(msg: &[u8]) -> HelloOutcome {
    use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
    let hello = match tls_parser::parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)))) => hello,
        _ => return HelloOutcome::NotTls,
    };
    let Some(ext) = hello.ext else {
        return HelloOutcome::NoSni;
    };
    let extensions = match tls_parser::parse_tls_client_hello_extensions(ext) {
        Ok((_, extensions)) => extensions,
        Err(_) => return HelloOutcome::NotTls,
    };
    for extension in extensions {
        if let TlsExtension::SNI(names) = extension {
            for (kind, name) in names {
                if kind == tls_parser::SNIType::HostName {
                    return match normalize_server_name(name) {
                        Some(name) => HelloOutcome::Sni(name),
                        None => HelloOutcome::NotTls,
                    };
                }
            }
            return HelloOutcome::NoSni;
        }
    }
    HelloOutcome::NoSni
}

/// RFC 6066 host names are ASCII DNS names; anything else is malformed (and must not reach logs
/// unescaped). Returns the lower-cased name without a trailing dot.
fn normalize_server_name(raw: &[u8]) -> Option<String> {
    let raw = raw.strip_suffix(b".").unwrap_or(raw);
    if raw.is_empty() || raw.len() > 253 {
        return None;
    }
    if !raw
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return None;
    }
    if raw.split(|b| *b == b'.').any(|label| label.is_empty()) {
        return None;
    }
    Some(String::from_utf8_lossy(raw).to_ascii_lowercase())
}

/// Reads from `stream` until the ClientHello is complete, not TLS, too large, closed, or
/// `timeout` passes. Returns the outcome and every byte read (to be replayed unchanged).
///
/// No buffer is allocated until the client has sent something, so idle and slow-loris
/// connections cost only their task.
pub async fn read_client_hello(
    stream: &mut TcpStream,
    timeout: Duration,
) -> (HelloOutcome, Vec<u8>) {
    let mut buf = Vec::new();
    let read = async {
        if stream.readable().await.is_err() {
            return HelloOutcome::Incomplete;
        }
        loop {
            let need = match inspect(&buf) {
                Inspect::Done(outcome) => return outcome,
                Inspect::NeedMore { at_least } => at_least,
            };
            // Read what is there (a whole hello in one go, usually), at least what is needed.
            let want = need
                .max(2048)
                .min(MAX_BUFFERED + 1 - buf.len().min(MAX_BUFFERED));
            buf.reserve(want);
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return HelloOutcome::Incomplete,
                Ok(_) => {}
            }
            if buf.len() > MAX_BUFFERED {
                return HelloOutcome::TooLarge;
            }
        }
    };
    let outcome = match tokio::time::timeout(timeout, read).await {
        Ok(outcome) => outcome,
        Err(_) => HelloOutcome::Timeout,
    };
    (outcome, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ClientHello handshake message with the given extensions block.
    pub(crate) fn client_hello_msg(extensions: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&[3, 3]); // legacy_version TLS 1.2
        body.extend_from_slice(&[7u8; 32]); // random
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(extensions);
        let mut msg = vec![HANDSHAKE_CLIENT_HELLO];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    pub(crate) fn sni_extension(name: &str) -> Vec<u8> {
        let name = name.as_bytes();
        let mut list = vec![0u8]; // host_name
        list.extend_from_slice(&(name.len() as u16).to_be_bytes());
        list.extend_from_slice(name);
        let mut ext = vec![0, 0]; // server_name
        ext.extend_from_slice(&((list.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
        ext
    }

    /// Wraps a handshake message into records of at most `chunk` payload bytes.
    pub(crate) fn records(msg: &[u8], chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in msg.chunks(chunk) {
            out.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 1]);
            out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
            out.extend_from_slice(piece);
        }
        out
    }

    #[test]
    fn finds_sni_in_one_record() {
        let wire = records(
            &client_hello_msg(&sni_extension("Shop.Example.com.")),
            16384,
        );
        assert_eq!(
            inspect(&wire),
            Inspect::Done(HelloOutcome::Sni("shop.example.com".into()))
        );
    }

    #[test]
    fn every_prefix_asks_for_more() {
        let wire = records(&client_hello_msg(&sni_extension("a.test")), 16384);
        for cut in 0..wire.len() {
            assert!(
                matches!(inspect(&wire[..cut]), Inspect::NeedMore { .. }),
                "prefix of {cut} bytes"
            );
        }
    }

    #[test]
    fn reassembles_a_hello_split_over_records() {
        let mut ext = sni_extension("split.test");
        // A padding extension (21) big enough to force several records.
        ext.extend_from_slice(&[0, 21, 0x0b, 0xb8]);
        ext.extend_from_slice(&[0u8; 3000]);
        let wire = records(&client_hello_msg(&ext), 700);
        assert!(wire.len() > 3000);
        assert_eq!(
            inspect(&wire),
            Inspect::Done(HelloOutcome::Sni("split.test".into()))
        );
        let cut = wire.len() - 1;
        assert!(matches!(inspect(&wire[..cut]), Inspect::NeedMore { .. }));
    }

    #[test]
    fn no_sni_extension_is_no_sni() {
        let wire = records(&client_hello_msg(&[]), 16384);
        assert_eq!(inspect(&wire), Inspect::Done(HelloOutcome::NoSni));
    }

    #[test]
    fn plain_http_is_not_tls() {
        assert_eq!(
            inspect(b"GET / HTTP/1.1\r\n"),
            Inspect::Done(HelloOutcome::NotTls)
        );
        assert_eq!(inspect(b"G"), Inspect::Done(HelloOutcome::NotTls));
    }

    #[test]
    fn other_handshake_or_garbage_is_not_tls() {
        let mut msg = client_hello_msg(&sni_extension("a.test"));
        msg[0] = 2; // ServerHello
        assert_eq!(
            inspect(&records(&msg, 16384)),
            Inspect::Done(HelloOutcome::NotTls)
        );
        assert_eq!(
            inspect(&[22, 3, 1, 0, 0]),
            Inspect::Done(HelloOutcome::NotTls)
        );
    }

    #[test]
    fn oversized_hello_is_too_large() {
        let mut ext = sni_extension("big.test");
        ext.extend_from_slice(&[0, 21, 0x50, 0x00]);
        ext.extend_from_slice(&vec![0u8; 0x5000]);
        let msg = client_hello_msg(&ext);
        // Only the first record is needed to know the size.
        let wire = records(&msg, 16384);
        assert_eq!(
            inspect(&wire[..RECORD_HEADER + 4]),
            Inspect::Done(HelloOutcome::TooLarge)
        );
    }

    #[test]
    fn bad_server_names_are_rejected() {
        for bad in ["", "a..b", "evil\u{1b}[31m.test", "sp ace.test"] {
            let wire = records(&client_hello_msg(&sni_extension(bad)), 16384);
            assert_eq!(
                inspect(&wire),
                Inspect::Done(HelloOutcome::NotTls),
                "{bad:?}"
            );
        }
    }

    /// A tiny xorshift generator: deterministic, no extra dependency.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Not a fuzzer, but it runs on stable in CI: random bytes, and valid hellos with random
    /// bytes flipped or cut, must never panic and must never claim an SNI that is not there.
    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let seed = records(&client_hello_msg(&sni_extension("seed.test")), 300);
        for round in 0..20_000u32 {
            let mut data = if round.is_multiple_of(2) {
                seed.clone()
            } else {
                let len = (rng.next() % 600) as usize;
                let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if let Some(first) = v.first_mut() {
                    *first = CONTENT_HANDSHAKE;
                }
                if v.len() > 1 {
                    v[1] = 3;
                }
                v
            };
            let flips = rng.next() % 4;
            for _ in 0..flips {
                if !data.is_empty() {
                    let i = (rng.next() as usize) % data.len();
                    data[i] = rng.next() as u8;
                }
            }
            if rng.next().is_multiple_of(3) && !data.is_empty() {
                let cut = (rng.next() as usize) % data.len();
                data.truncate(cut);
            }
            let whole = inspect(&data);
            if let Inspect::Done(HelloOutcome::Sni(name)) = &whole {
                assert!(normalize_server_name(name.as_bytes()).is_some());
            }
            // A prefix either asks for more or already has the final answer.
            if !data.is_empty() {
                let cut = (rng.next() as usize) % data.len();
                if let (Inspect::Done(early), Inspect::Done(_)) = (inspect(&data[..cut]), &whole) {
                    assert_eq!(Inspect::Done(early), whole, "{data:?} cut at {cut}");
                }
            }
        }
    }
}
