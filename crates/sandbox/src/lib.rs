//! The Sandbox: a simulated DigitalOcean API on 127.0.0.1 whose droplets are real TLS servers.
//!
//! Lets every feature of Cutover run without an account, and is how the end-to-end tests run
//! without internet.

use std::net::SocketAddr;

pub mod ca;
pub mod droplet;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not make a sandbox certificate: {0}")]
    Certificate(String),
    #[error("TLS configuration failed: {0}")]
    Tls(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),
}
