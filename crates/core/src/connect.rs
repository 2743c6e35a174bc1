//! Which account a headless run (the CLI, scripts) acts on, and the connection to it.
//!
//! In order:
//! 1. `--context NAME`: the token the app stored for account NAME in the OS keychain;
//! 2. `DIGITALOCEAN_ACCESS_TOKEN` (doctl's variable; `CUTOVER_SANDBOX_TOKEN` too, for a
//!    standalone Sandbox);
//! 3. neither, and no `--api-base`: a Sandbox started in-process for this run (its changes last
//!    as long as the run; `cutover sandbox serve --state FILE` keeps one between runs).
//!
//! `--api-base` overrides the API's base URL in cases 1 and 2 (a proxy, a standalone Sandbox).

use cutover_digitalocean::Client;
use cutover_sandbox::{Sandbox, SandboxHandle, SandboxOptions};

use crate::accounts::{OsKeychain, SecretStore};
use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};

/// The environment variables a token is read from, in order.
pub const TOKEN_ENV_VARS: &[&str] = &["DIGITALOCEAN_ACCESS_TOKEN", "CUTOVER_SANDBOX_TOKEN"];

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--api-base`.
    pub api_base: Option<String>,
    /// `--context`: an account name in the OS keychain.
    pub context: Option<String>,
    /// A token from the environment ([`env_token`]).
    pub env_token: Option<String>,
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum TokenSource {
    Keychain(String),
    Environment,
    /// A Sandbox started for this run.
    Sandbox,
}

/// The decision, before anything is contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Keychain { account: String },
    Environment,
    Sandbox,
}

/// Decides where the token comes from (pure: no keychain, no network).
pub fn choose(opts: &ConnectOptions) -> Result<Plan, ApiError> {
    if let Some(name) = opts.context.as_deref().map(str::trim) {
        if name.is_empty() {
            return Err(ApiError::invalid_input("--context needs an account name")
                .with_details(serde_json::json!({"field": "context"})));
        }
        return Ok(Plan::Keychain {
            account: name.to_string(),
        });
    }
    if opts
        .env_token
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
    {
        return Ok(Plan::Environment);
    }
    if opts.api_base.is_some() {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "--api-base needs a token: set DIGITALOCEAN_ACCESS_TOKEN (for a standalone Sandbox, the token `cutover sandbox serve` printed), or use --context NAME",
        )
        .with_details(serde_json::json!({"field": "api_base"})));
    }
    Ok(Plan::Sandbox)
}

/// The first non-empty token among [`TOKEN_ENV_VARS`].
pub fn env_token() -> Option<String> {
    TOKEN_ENV_VARS
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
}

/// A connection for one run. Keeps an in-process Sandbox alive until [`Session::close`].
pub struct Session {
    pub connection: Connection,
    pub source: TokenSource,
    sandbox: Option<SandboxHandle>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection", &self.connection)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn client(&self) -> &Client {
        &self.connection.client
    }

    /// One line saying which account this is, for stderr.
    pub fn describe(&self) -> String {
        match &self.source {
            TokenSource::Keychain(name) => {
                format!("account \"{name}\" at {}", self.client().base_url())
            }
            TokenSource::Environment => format!(
                "the token in DIGITALOCEAN_ACCESS_TOKEN at {}",
                self.client().base_url()
            ),
            TokenSource::Sandbox => format!(
                "a Sandbox account started for this run at {} (no DIGITALOCEAN_ACCESS_TOKEN; changes end with this run)",
                self.client().base_url()
            ),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.source == TokenSource::Sandbox
    }

    /// Stops the in-process Sandbox, if there is one.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

/// Connects as [`choose`] decides, reading the OS keychain for `--context`.
pub async fn connect(opts: ConnectOptions) -> Result<Session, ApiError> {
    connect_with(opts, &OsKeychain).await
}

/// [`connect`] with another secret store (tests).
pub async fn connect_with(
    opts: ConnectOptions,
    secrets: &dyn SecretStore,
) -> Result<Session, ApiError> {
    match choose(&opts)? {
        Plan::Keychain { account } => {
            let token = secrets.get(&account)?.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("No token is stored for an account named \"{account}\" in the OS keychain: add the account in Cutover, or set DIGITALOCEAN_ACCESS_TOKEN."),
                )
                .with_details(serde_json::json!({"field": "context", "account": account}))
            })?;
            let connection = Connection::for_token(opts.api_base.as_deref(), &token).await?;
            Ok(Session {
                connection,
                source: TokenSource::Keychain(account),
                sandbox: None,
            })
        }
        Plan::Environment => {
            let token = opts.env_token.unwrap_or_default();
            let connection = Connection::for_token(opts.api_base.as_deref(), token.trim()).await?;
            Ok(Session {
                connection,
                source: TokenSource::Environment,
                sandbox: None,
            })
        }
        Plan::Sandbox => {
            let options = SandboxOptions {
                activation_delay: std::time::Duration::from_secs(2),
                ..SandboxOptions::default()
            };
            let handle = Sandbox::start(options).await?;
            let connection = Connection::for_sandbox(&handle)?;
            Ok(Session {
                connection,
                source: TokenSource::Sandbox,
                sandbox: Some(handle),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::MemorySecrets;

    fn opts(api_base: Option<&str>, context: Option<&str>, token: Option<&str>) -> ConnectOptions {
        ConnectOptions {
            api_base: api_base.map(str::to_string),
            context: context.map(str::to_string),
            env_token: token.map(str::to_string),
        }
    }

    #[test]
    fn context_wins_then_environment_then_sandbox() {
        assert_eq!(
            choose(&opts(None, Some("prod"), Some("t"))).unwrap(),
            Plan::Keychain {
                account: "prod".into()
            }
        );
        assert_eq!(
            choose(&opts(Some("http://x"), None, Some("t"))).unwrap(),
            Plan::Environment
        );
        assert_eq!(
            choose(&opts(None, None, Some("  "))).unwrap(),
            Plan::Sandbox
        );
        assert_eq!(choose(&opts(None, None, None)).unwrap(), Plan::Sandbox);
        let err = choose(&opts(Some("http://127.0.0.1:1"), None, None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(err.message.contains("DIGITALOCEAN_ACCESS_TOKEN"));
        assert_eq!(
            choose(&opts(None, Some(" "), None)).unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[tokio::test]
    async fn an_unknown_context_is_a_clear_error() {
        let secrets = MemorySecrets::default();
        let err = connect_with(opts(None, Some("nope"), None), &secrets)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(err.message.contains("\"nope\""), "{}", err.message);
    }

    #[tokio::test]
    async fn a_context_reads_the_token_from_the_store() {
        let secrets = MemorySecrets::default();
        secrets.set("work", "dop_v1_abc").unwrap();
        let session = connect_with(
            opts(Some("http://203.0.113.1:9"), Some("work"), None),
            &secrets,
        )
        .await
        .unwrap();
        assert_eq!(session.source, TokenSource::Keychain("work".into()));
        assert_eq!(session.client().base_url(), "http://203.0.113.1:9");
        assert!(!format!("{session:?}").contains("dop_v1_abc"));
    }

    #[tokio::test]
    async fn no_token_starts_a_sandbox_for_the_run() {
        let session = connect_with(opts(None, None, None), &MemorySecrets::default())
            .await
            .unwrap();
        assert!(session.is_sandbox());
        let lbs = session.client().list_load_balancers().await.unwrap();
        assert!(lbs.len() >= 3, "{}", lbs.len());
        session.close().await;
    }
}
