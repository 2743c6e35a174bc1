//! A minimal HTTPS client for tests: optional bytes before the handshake (a PROXY header),
//! trusts only the given CA, returns the response text and the certificates the server sent.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub struct HttpsReply {
    pub text: String,
    pub peer_certs: Vec<CertificateDer<'static>>,
}

pub async fn https_get(
    addr: SocketAddr,
    ca_der: CertificateDer<'static>,
    sni: &str,
    preface: &[u8],
) -> std::io::Result<HttpsReply> {
    let mut roots = RootCertStore::empty();
    roots
        .add(ca_der)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(preface).await?;
    let name =
        ServerName::try_from(sni.to_string()).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let peer_certs = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let alpn = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    tls.write_all(format!("GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut out = Vec::new();
    // A peer that closes without close_notify is fine for these tests.
    let _ = tls.read_to_end(&mut out).await;
    Ok(HttpsReply {
        text: String::from_utf8_lossy(&out).into_owned(),
        peer_certs,
    })
}

pub async fn http_get(addr: SocketAddr, preface: &[u8]) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(preface).await?;
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: sandbox-shop.test\r\nConnection: close\r\n\r\n")
        .await?;
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A PROXY v2 header for a TCP4 connection from `src` to `dst`.
pub fn proxy_v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (src, dst),
    )
    .build()
    .unwrap()
}
