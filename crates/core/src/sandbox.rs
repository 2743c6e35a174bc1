//! The Sandbox account for the app and the CLI: start the simulated DigitalOcean (in-process),
//! and describe it — API base, CA, and where each droplet's ports really listen.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use cutover_sandbox::{
    BackendEndpoint, Sandbox, SandboxError, SandboxHandle, SandboxOptions, SandboxScale,
    ScaleError, API_1, API_2, CERT_BLOG_LE_ID, CERT_SHOP_CUSTOM_ID, DOMAIN, LB_API_ID, LB_BLOG_ID,
    LB_SHOP_ID, SCALE_ENV, WEB_1, WEB_2, WEB_3,
};

use crate::error::{ApiError, ErrorCode};

impl From<SandboxError> for ApiError {
    fn from(err: SandboxError) -> Self {
        let code = match &err {
            SandboxError::Bind { .. } => ErrorCode::AddressUnavailable,
            SandboxError::StateFile { .. } => ErrorCode::InvalidInput,
            SandboxError::UnknownDroplet(_) => ErrorCode::NotFound,
            SandboxError::Io(_) => ErrorCode::Io,
            SandboxError::Certificate(_) | SandboxError::Tls(_) => ErrorCode::Internal,
        };
        let details = match &err {
            SandboxError::StateFile { path, .. } => {
                Some(serde_json::json!({ "field": "state", "path": path.display().to_string() }))
            }
            SandboxError::Bind { addr, .. } => {
                Some(serde_json::json!({ "field": "listen", "addr": addr.to_string() }))
            }
            _ => None,
        };
        let api = ApiError::new(code, err.to_string());
        match details {
            Some(d) => api.with_details(d),
            None => api,
        }
    }
}

/// One droplet port of the sandbox and where it really listens (for the UI and scripts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct SandboxBackend {
    #[specta(type = specta_typescript::Number)]
    pub droplet_id: u64,
    pub droplet_name: String,
    /// The droplet's public IPv4 as the API shows it (127.0.0.11, …): display only.
    pub public_ipv4: String,
    /// 443 or 80.
    pub port: u16,
    /// `127.0.0.1:PORT`: where to connect.
    pub addr: String,
    pub proxy_protocol: bool,
}

impl From<&BackendEndpoint> for SandboxBackend {
    fn from(b: &BackendEndpoint) -> Self {
        Self {
            droplet_id: b.droplet_id,
            droplet_name: b.droplet_name.clone(),
            public_ipv4: b.public_ipv4.to_string(),
            port: b.port,
            addr: b.addr.to_string(),
            proxy_protocol: b.proxy_protocol,
        }
    }
}

/// What the UI shows about a running sandbox. The token stays in Rust.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct SandboxInfo {
    pub api_base: String,
    /// The sandbox CA (PEM), to trust when inspecting the droplets' certificates.
    pub ca_pem: String,
    pub backends: Vec<SandboxBackend>,
}

/// The one line `cutover sandbox serve` prints when ready (token included: it is for scripts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadyLine {
    pub api_base: String,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_pem_path: Option<PathBuf>,
    pub backends: Vec<SandboxBackend>,
}

/// Starts a sandbox.
pub async fn start(opts: SandboxOptions) -> Result<SandboxHandle, ApiError> {
    Ok(Sandbox::start(opts).await?)
}

pub fn info(handle: &SandboxHandle) -> SandboxInfo {
    SandboxInfo {
        api_base: handle.api_base(),
        ca_pem: handle.ca_pem().to_string(),
        backends: handle.backends().iter().map(SandboxBackend::from).collect(),
    }
}

pub fn ready_line(handle: &SandboxHandle, ca_pem_path: Option<PathBuf>) -> ReadyLine {
    ReadyLine {
        api_base: handle.api_base(),
        token: handle.token().to_string(),
        ca_pem_path,
        backends: handle.backends().iter().map(SandboxBackend::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn starts_and_describes_the_sandbox() {
        let handle = start(SandboxOptions {
            activation_delay: Duration::ZERO,
            busy_window: Duration::ZERO,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let info = info(&handle);
        assert!(info.api_base.starts_with("http://127.0.0.1:"));
        assert!(info.ca_pem.contains("BEGIN CERTIFICATE"));
        let web3 = info
            .backends
            .iter()
            .find(|b| b.droplet_id == WEB_3 && b.port == 443)
            .unwrap();
        assert_eq!(web3.droplet_name, "web-3");
        let line = serde_json::to_value(ready_line(&handle, None)).unwrap();
        assert!(line["token"].as_str().unwrap().starts_with("sandbox-"));
        assert!(line.get("ca_pem_path").is_none());
        handle.shutdown().await;
    }

    #[test]
    fn errors_map_to_stable_codes() {
        let err: ApiError = SandboxError::StateFile {
            path: "/tmp/x.json".into(),
            reason: "broken".into(),
        }
        .into();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.details.unwrap()["field"], "state");
        let err: ApiError = SandboxError::UnknownDroplet(7).into();
        assert_eq!(err.code, ErrorCode::NotFound);
    }
}
