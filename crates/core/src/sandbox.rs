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

/// A Sandbox droplet powered off or on ([`set_droplet_power`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropletPower {
    pub id: u64,
    pub name: String,
    /// `on` or `off`: what was asked and what it now is.
    pub power: String,
    /// The droplet's status as the API now shows it: `active` or `off`.
    pub status: String,
    /// False when the droplet already was in that state.
    pub changed: bool,
    /// What it means, in one sentence (the CLI's text output).
    pub message: String,
}

impl DropletPower {
    fn new(id: u64, name: String, on: bool, status: String, changed: bool) -> Self {
        let what = if on {
            "its ports answer again"
        } else {
            "its ports refuse connections until started"
        };
        let state = if on { "on" } else { "off" };
        let message = if changed {
            format!("{name} (id {id}) is {state}: {what}.")
        } else {
            format!("{name} (id {id}) was already {state}: {what}.")
        };
        Self {
            id,
            name,
            power: state.to_string(),
            status,
            changed,
            message,
        }
    }
}

/// Powers a Sandbox droplet off (`on` false: its servers stop, connections are refused, its
/// status turns `off`) or on again, through the Sandbox's `POST /_sandbox/droplets/{id}/power`.
/// `droplet` is an id or a unique name, found in the account's droplet list.
///
/// Refused, before any request, when the session is not a Sandbox (a real DigitalOcean account,
/// or a server whose `/_sandbox` endpoints do not answer: power control exists only on the
/// Sandbox), and when the session started its own Sandbox that ends with it (the change would be
/// seen by no one).
pub async fn set_droplet_power(
    session: &crate::session::Session,
    droplet: &str,
    on: bool,
) -> Result<DropletPower, ApiError> {
    let conn = &session.connection;
    let base = conn.client.base_url().trim_end_matches('/').to_string();
    refuse_unless_running_sandbox(session, &base, droplet, on)?;
    let droplets = conn.client.list_droplets().await?;
    let (id, name) = pick_droplet(&droplets, droplet, &base)?;
    let path = format!("/_sandbox/droplets/{id}/power");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let action = if on { "power_on" } else { "power_off" };
    let response = http
        .post(format!("{base}{path}"))
        .bearer_auth(conn.client.config().token.expose())
        .json(&serde_json::json!({ "type": action }))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                ApiError::new(
                    ErrorCode::MaybeApplied,
                    format!(
                        "The Sandbox at {base} did not answer the {action} of {name} (id {id}) in time: it may have been carried out. `cutover droplets list` shows its status."
                    ),
                )
            } else {
                crate::context::unreachable(&base, e)
            }
        })?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    let said = body
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string();
    if !status.is_success() {
        let details = serde_json::json!({ "droplet": id, "status": status.as_u16() });
        let (code, message) = match status.as_u16() {
            401 => (
                ErrorCode::Unauthorized,
                format!("The Sandbox at {base} rejected the token: use the token `cutover sandbox serve` printed."),
            ),
            404 => (
                ErrorCode::NotFound,
                format!("The Sandbox at {base} has no droplet {name} (id {id}) to power {}.", if on { "on" } else { "off" }),
            ),
            422 => (ErrorCode::Validation, format!("{name} (id {id}) cannot be powered {}: {said}", if on { "on" } else { "off" })),
            _ => (
                ErrorCode::Server,
                format!("The Sandbox at {base} answered {status} to the {action} of {name} (id {id}): {said}"),
            ),
        };
        return Err(ApiError::new(code, message).with_details(details));
    }
    let new_status = body
        .get("status")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(if on { "active" } else { "off" })
        .to_string();
    let changed = body
        .get("changed")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    Ok(DropletPower::new(id, name, on, new_status, changed))
}

/// The refusal of a power change on a Sandbox this run started for itself: it ends with the run,
/// so nothing would ever see the change. Said by [`set_droplet_power`], and by a front end that
/// knows before opening a session that it would start such a Sandbox (no account named), so that
/// it refuses without starting one.
pub fn own_sandbox_refusal(droplet: &str, on: bool) -> ApiError {
    ApiError::invalid_input(format!(
        "No running Sandbox was named: with no DIGITALOCEAN_ACCESS_TOKEN this run would use a Sandbox of its own, which ends with it. Start one with `cutover sandbox serve`, then point at it: DIGITALOCEAN_ACCESS_TOKEN=<its token> cutover --api-base <its api_base> sandbox droplet {} {}",
        if on { "start" } else { "stop" },
        droplet.trim()
    ))
    .with_details(serde_json::json!({ "field": "api_base" }))
}

/// Power control exists only on a Sandbox someone keeps running.
fn refuse_unless_running_sandbox(
    session: &crate::session::Session,
    base: &str,
    droplet: &str,
    on: bool,
) -> Result<(), ApiError> {
    let doctl = if on { "power-on" } else { "power-off" };
    if session.sandbox().is_some() {
        return Err(own_sandbox_refusal(droplet, on));
    }
    if session.is_sandbox() {
        return Ok(());
    }
    let why = if is_digitalocean_api(base) {
        format!("{base} is DigitalOcean's own API")
    } else {
        format!("{base} is not a Sandbox (its /_sandbox endpoints do not answer)")
    };
    Err(ApiError::invalid_input(format!(
        "{why}: powering droplets off and on exists only on the Sandbox. On a real DigitalOcean account use the control panel or `doctl compute droplet-action {doctl} <droplet-id>`."
    ))
    .with_details(serde_json::json!({ "field": "api_base", "api_base": base, "sandbox": false })))
}

fn is_digitalocean_api(base: &str) -> bool {
    url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| h == "api.digitalocean.com")
}

/// The droplet `wanted` names (its id, or else its name, which must be unique): (id, name).
fn pick_droplet(
    droplets: &[cutover_digitalocean::Droplet],
    wanted: &str,
    base: &str,
) -> Result<(u64, String), ApiError> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return Err(ApiError::invalid_input("No droplet was named.")
            .with_details(serde_json::json!({ "field": "droplet" })));
    }
    if let Some(d) = droplets.iter().find(|d| d.id.to_string() == wanted) {
        return Ok((d.id, d.name.clone()));
    }
    let named: Vec<&cutover_digitalocean::Droplet> =
        droplets.iter().filter(|d| d.name == wanted).collect();
    match named.as_slice() {
        [one] => Ok((one.id, one.name.clone())),
        [] => {
            let mut known: Vec<&str> = droplets.iter().map(|d| d.name.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            let hint = if known.is_empty() {
                " It has no droplets.".to_string()
            } else if known.len() <= 10 {
                format!(" Its droplets: {}.", known.join(", "))
            } else {
                " `cutover droplets list` shows them.".to_string()
            };
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("No droplet has the id or name \"{wanted}\" at {base}.{hint}"),
            )
            .with_details(serde_json::json!({ "field": "droplet", "droplet": wanted })))
        }
        several => {
            let ids: Vec<String> = several.iter().map(|d| d.id.to_string()).collect();
            Err(ApiError::invalid_input(format!(
                "{} droplets are named \"{wanted}\" (ids {}): name one by its id.",
                several.len(),
                ids.join(", ")
            ))
            .with_details(serde_json::json!({ "field": "droplet", "droplet": wanted, "ids": ids })))
        }
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

    fn droplet(id: u64, name: &str) -> cutover_digitalocean::Droplet {
        serde_json::from_value(serde_json::json!({ "id": id, "name": name })).unwrap()
    }

    #[test]
    fn a_droplet_is_named_by_id_or_unique_name() {
        let all = [droplet(1, "web-1"), droplet(2, "web"), droplet(3, "web")];
        assert_eq!(
            pick_droplet(&all, "web-1", "B").unwrap(),
            (1, "web-1".into())
        );
        assert_eq!(pick_droplet(&all, " 3 ", "B").unwrap(), (3, "web".into()));
        let err = pick_droplet(&all, "web", "B").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message
                .contains("2 droplets are named \"web\" (ids 2, 3)"),
            "{}",
            err.message
        );
        let err = pick_droplet(&all, "web-9", "http://127.0.0.1:1").unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(
            err.message,
            "No droplet has the id or name \"web-9\" at http://127.0.0.1:1. Its droplets: web, web-1."
        );
        assert_eq!(
            pick_droplet(&all, "  ", "B").unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[tokio::test]
    async fn powers_a_running_sandbox_droplet_off_and_on_by_name() {
        let handle = start(SandboxOptions {
            activation_delay: Duration::ZERO,
            busy_window: Duration::ZERO,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let session = crate::session::for_sandbox(&handle).unwrap();
        let addr = handle.backend_addr(WEB_2, 443).unwrap();
        assert!(std::net::TcpStream::connect(addr).is_ok());

        let off = set_droplet_power(&session, "web-2", false).await.unwrap();
        assert_eq!((off.id, off.name.as_str()), (WEB_2, "web-2"));
        assert_eq!(
            (off.power.as_str(), off.status.as_str(), off.changed),
            ("off", "off", true)
        );
        assert_eq!(
            off.message,
            format!("web-2 (id {WEB_2}) is off: its ports refuse connections until started.")
        );
        assert!(std::net::TcpStream::connect(addr).is_err());
        let listed = session.client().get_droplet(WEB_2).await.unwrap();
        assert_eq!(listed.status, "off");

        let again = set_droplet_power(&session, &WEB_2.to_string(), false)
            .await
            .unwrap();
        assert!(!again.changed);
        assert!(
            again.message.contains("was already off"),
            "{}",
            again.message
        );

        let on = set_droplet_power(&session, "web-2", true).await.unwrap();
        assert_eq!(
            (on.power.as_str(), on.status.as_str(), on.changed),
            ("on", "active", true)
        );
        assert!(std::net::TcpStream::connect(addr).is_ok());

        let err = set_droplet_power(&session, "web-9", false)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(err.message.contains("\"web-9\""), "{}", err.message);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn refuses_digitalocean_and_a_sandbox_that_ends_with_the_session() {
        let dir = std::env::temp_dir().join(format!("cutover-power-{}", std::process::id()));
        let store = crate::accounts::AccountStore::new(
            crate::accounts::SettingsStore::in_dir(&dir),
            Box::new(crate::accounts::MemorySecrets::default()),
        );
        // No request is made: the refusal comes first (a wrong token could not be noticed).
        let real = crate::session::open(
            crate::session::Target::Token {
                token: "dop_v1_x".into(),
                api_base: Some("https://api.digitalocean.com".into()),
            },
            &store,
        )
        .await
        .unwrap();
        let err = set_droplet_power(&real, "web-2", false).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.starts_with("https://api.digitalocean.com is DigitalOcean's own API: powering droplets off and on exists only on the Sandbox."),
            "{}",
            err.message
        );
        assert!(
            err.message
                .contains("doctl compute droplet-action power-off"),
            "{}",
            err.message
        );

        let own = crate::session::open(
            crate::session::Target::Sandbox(SandboxOptions::default()),
            &store,
        )
        .await
        .unwrap();
        let err = set_droplet_power(&own, "web-2", false).await.unwrap_err();
        assert!(
            err.message.contains("cutover sandbox serve"),
            "{}",
            err.message
        );
        own.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
