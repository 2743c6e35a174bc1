//! Sends one rustls ClientHello to 127.0.0.1:PORT for NAME.
//! usage: rustls-hello PORT NAME [alpn] [ech-grease] [pq|classic]
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::{EchGreaseConfig, EchMode};
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::ServerName;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args[1].parse().unwrap();
    let name = ServerName::try_from(args[2].clone()).unwrap();
    let has = |f: &str| args.iter().any(|a| a == f);
    let mut provider = aws_lc_rs::default_provider();
    if has("classic") {
        provider.kx_groups = vec![aws_lc_rs::kx_group::X25519, aws_lc_rs::kx_group::SECP256R1];
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider));
    let builder = if has("ech-grease") {
        let suite = aws_lc_rs::hpke::ALL_SUPPORTED_SUITES[0];
        let key = suite.generate_key_pair().unwrap().0;
        builder
            .with_ech(EchMode::Grease(EchGreaseConfig::new(suite, key)))
            .unwrap()
    } else {
        builder.with_safe_default_protocol_versions().unwrap()
    };
    // No roots: the handshake never gets past the ClientHello (the listener closes).
    let roots = rustls::RootCertStore::empty();
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    if has("alpn") {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let _ = tls.write_all(b"GET / HTTP/1.1\r\n\r\n");
    let mut buf = [0u8; 1];
    let _ = tls.read(&mut buf);
}
