//! Cutover's jobs as one API, used by the desktop app (`src-tauri`) and the `cutover` CLI alike.
//!
//! `core` is the only crate that knows the four libraries (`digitalocean`, `certs`, `balancer`,
//! `sandbox`); the app and the CLI only know `core`. Nothing here imports Tauri.

pub mod accounts;
pub mod certs;
pub mod context;
pub mod dns;
pub mod error;
pub mod export;
pub mod files;
pub mod glb;
pub mod https_probe;
pub mod journal;
pub mod kubernetes;
pub mod lb;
pub mod logging;
pub mod metrics;
pub mod preflight;
pub mod redact;
pub mod rehearse;
pub mod replace;
pub mod sandbox;
pub mod session;
pub mod watch;
pub mod workspace;

/// Domain names, parsed once, and the one wildcard rule (for the front ends too).
pub use cutover_domain as domain;
pub use error::{ApiError, ErrorCode};

/// What the app and the CLI report about themselves.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    /// Where the rolling log file is written, when file logging is on.
    pub log_dir: Option<String>,
}

/// Makes `ring` the process-wide rustls provider. Call once at start-up: when two crates in one
/// binary enable different rustls providers, rustls refuses to guess and panics on first use.
pub fn init_tls() {
    // Err only means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The version every front end reports.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
