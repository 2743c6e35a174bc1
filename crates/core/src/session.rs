//! One way to reach DigitalOcean, for every front end: `open(target, store)` → [`Session`].
//!
//! A target is a stored account (its API base and protected flag come from the settings file,
//! its token from the OS keychain), a token (`DIGITALOCEAN_ACCESS_TOKEN`, with an optional
//! `--api-base`), or a Sandbox started for this session. The app's workspace holds one session
//! at a time; each CLI command opens one. The rules that keep users safe on a protected account
//! ([`Session::require_typed`]) live here, so both front ends apply them alike.

use std::net::IpAddr;
use std::sync::Arc;

use cutover_digitalocean::Client;
use cutover_sandbox::{Sandbox, SandboxHandle, SandboxOptions};

use crate::accounts::{AccountStore, AccountSummary};
use crate::context::{Connection, ConnectionKind};
use crate::error::{ApiError, ErrorCode};

/// The environment variables a token is read from, in order.
pub const TOKEN_ENV_VARS: &[&str] = &["DIGITALOCEAN_ACCESS_TOKEN", "CUTOVER_SANDBOX_TOKEN"];

/// Set to `1` to allow an `http://` API base on a host other than this machine. Off by default:
/// the token would cross the network in clear text.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "CUTOVER_ALLOW_INSECURE_HTTP";

/// What to connect to.
#[derive(Debug, Clone)]
pub enum Target {
    /// An account the user added (settings file + OS keychain, or this run's memory), at its
    /// own API base unless `api_base` overrides it (`--context NAME --api-base URL`).
    Account {
        name: String,
        api_base: Option<String>,
    },
    /// A bare token, with another API base than DigitalOcean's when given.
    Token {
        token: String,
        api_base: Option<String>,
    },
    /// A Sandbox started for this session, stopped by [`Session::close`].
    Sandbox(SandboxOptions),
}

/// What a headless run was given: `--context`, `--api-base` and a token from the environment.
#[derive(Debug, Clone, Default)]
pub struct CliChoice {
    pub context: Option<String>,
    pub api_base: Option<String>,
    pub env_token: Option<String>,
}

impl Target {
    /// Decides the target of a headless run (pure: no keychain, no network). In order:
    /// `--context`, then a token from the environment, then — with no `--api-base` — a Sandbox
    /// with `sandbox` options.
    pub fn from_cli(choice: &CliChoice, sandbox: SandboxOptions) -> Result<Target, ApiError> {
        if let Some(name) = choice.context.as_deref().map(str::trim) {
            if name.is_empty() {
                return Err(ApiError::invalid_input("--context needs an account name.")
                    .with_details(serde_json::json!({"field": "context"})));
            }
            return Ok(Target::Account {
                name: name.to_string(),
                api_base: choice.api_base.clone(),
            });
        }
        if let Some(token) = choice
            .env_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            return Ok(Target::Token {
                token: token.to_string(),
                api_base: choice.api_base.clone(),
            });
        }
        if choice.api_base.is_some() {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "--api-base needs a token: set DIGITALOCEAN_ACCESS_TOKEN (for a standalone Sandbox, the token `cutover sandbox serve` printed), or use --context NAME.",
            )
            .with_details(serde_json::json!({"field": "api_base"})));
        }
        Ok(Target::Sandbox(sandbox))
    }
}

/// The first non-empty token among [`TOKEN_ENV_VARS`].
pub fn env_token() -> Option<String> {
    TOKEN_ENV_VARS
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum TokenSource {
    /// A stored account (the keychain, or this run's memory).
    Account(String),
    Environment,
    /// A Sandbox: the app's built-in one, or one started for this run.
    Sandbox,
}

/// One account, connected: the API client and how to reach its droplets, what the account is
/// (name, kind, protected, API base), and the Sandbox it owns when it started one. Cheap to
/// clone; the last clone's [`Session::close`] stops an owned Sandbox.
#[derive(Clone)]
pub struct Session {
    pub connection: Connection,
    pub account: AccountSummary,
    pub source: TokenSource,
    sandbox: Option<Arc<SandboxHandle>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection", &self.connection)
            .field("account", &self.account.name)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn client(&self) -> &Client {
        &self.connection.client
    }

    pub fn is_sandbox(&self) -> bool {
        self.connection.is_sandbox()
    }

    /// The Sandbox this session started, when it did.
    pub fn sandbox(&self) -> Option<&SandboxHandle> {
        self.sandbox.as_deref()
    }

    /// One line saying which account this is, for stderr.
    pub fn describe(&self) -> String {
        let base = self.client().base_url();
        match &self.source {
            TokenSource::Account(name) => {
                let protected = if self.account.protected {
                    " (protected)"
                } else {
                    ""
                };
                format!("account \"{name}\"{protected} at {base}")
            }
            TokenSource::Environment => {
                format!("the token in DIGITALOCEAN_ACCESS_TOKEN at {base}")
            }
            TokenSource::Sandbox if self.sandbox.is_some() => format!(
                "a Sandbox account started for this run at {base} (no DIGITALOCEAN_ACCESS_TOKEN; changes end with this run)"
            ),
            TokenSource::Sandbox => format!("the Sandbox at {base}"),
        }
    }

    /// On a protected account, a write named `action` goes ahead only when `typed` is
    /// `expected` (case, surrounding spaces and a final dot aside). Nothing to type elsewhere.
    /// The same rule for the app's dialogs and the CLI's `--confirm`; `--yes` does not waive it.
    pub fn require_typed(
        &self,
        action: &str,
        expected: &str,
        typed: Option<&str>,
    ) -> Result<(), ApiError> {
        if !self.account.protected || typed_matches(expected, typed) {
            return Ok(());
        }
        let expected = normalise_typed(expected);
        Err(ApiError::invalid_input(format!(
            "\"{}\" is a protected account: type {expected} to confirm {action}.",
            self.account.name
        ))
        .with_details(serde_json::json!({ "field": "confirm", "expected": expected })))
    }

    /// Stops the Sandbox this session started (when this is its last clone).
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox.and_then(|s| Arc::try_unwrap(s).ok()) {
            sandbox.shutdown().await;
        }
    }
}

fn normalise_typed(text: &str) -> String {
    text.trim().trim_end_matches('.').to_lowercase()
}

/// Whether `typed` confirms `expected`.
pub fn typed_matches(expected: &str, typed: Option<&str>) -> bool {
    typed.is_some_and(|t| !t.trim().is_empty() && normalise_typed(t) == normalise_typed(expected))
}

/// Checks an API base: a URL, and not plain `http://` to another machine unless
/// [`ALLOW_INSECURE_HTTP_ENV`] is `1` (the token is sent with every request).
pub fn check_api_base(base: &str) -> Result<(), ApiError> {
    let url = url::Url::parse(base).map_err(|_| {
        ApiError::invalid_input(format!(
            "\"{base}\" is not a URL (e.g. https://api.digitalocean.com)."
        ))
        .with_details(serde_json::json!({"field": "api_base"}))
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&url) || insecure_http_allowed() => Ok(()),
        "http" => Err(ApiError::invalid_input(format!(
            "{base} is plain HTTP to another machine: the token would cross the network unencrypted. Use https://, or set {ALLOW_INSECURE_HTTP_ENV}=1 if you accept that."
        ))
        .with_details(serde_json::json!({"field": "api_base"}))),
        other => Err(ApiError::invalid_input(format!(
            "\"{base}\" is a {other}: URL; the API base must be https:// (or http:// on this machine)."
        ))
        .with_details(serde_json::json!({"field": "api_base"}))),
    }
}

fn insecure_http_allowed() -> bool {
    std::env::var(ALLOW_INSECURE_HTTP_ENV).is_ok_and(|v| v.trim() == "1")
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Connects to `target`.
pub async fn open(target: Target, store: &AccountStore) -> Result<Session, ApiError> {
    match target {
        Target::Account { name, api_base } => {
            open_account_at(store, &name, api_base.as_deref()).await
        }
        Target::Token { token, api_base } => {
            if let Some(base) = &api_base {
                check_api_base(base)?;
            }
            let mut connection = Connection::for_token(api_base.as_deref(), token.trim()).await?;
            connection.account_name = "DIGITALOCEAN_ACCESS_TOKEN".to_string();
            let mut account = AccountSummary::sandbox();
            account.name = "DIGITALOCEAN_ACCESS_TOKEN".to_string();
            account.kind = connection.kind;
            account.email = None;
            account.note = None;
            account.api_base = api_base;
            Ok(Session {
                connection,
                account,
                source: TokenSource::Environment,
                sandbox: None,
            })
        }
        Target::Sandbox(options) => {
            let handle = Sandbox::start(options).await?;
            let connection = Connection::for_sandbox(&handle)?;
            Ok(Session {
                connection,
                account: AccountSummary::sandbox(),
                source: TokenSource::Sandbox,
                sandbox: Some(Arc::new(handle)),
            })
        }
    }
}

/// Connects to a stored account, with its own API base and flags.
pub async fn open_account(store: &AccountStore, name: &str) -> Result<Session, ApiError> {
    open_account_at(store, name, None).await
}

async fn open_account_at(
    store: &AccountStore,
    name: &str,
    api_base: Option<&str>,
) -> Result<Session, ApiError> {
    let (mut record, session_only) = store.find_or_keychain_only(name)?;
    let token = store.token(&record.name, session_only)?;
    if let Some(base) = api_base {
        record.api_base = Some(base.to_string());
    }
    if let Some(base) = &record.api_base {
        check_api_base(base)?;
    }
    let mut connection = Connection::for_token(record.api_base.as_deref(), &token).await?;
    connection.account_name = record.name.clone();
    let mut account = AccountSummary::of(&record, session_only);
    account.kind = connection.kind;
    Ok(Session {
        connection,
        account,
        source: TokenSource::Account(record.name),
        sandbox: None,
    })
}

/// A session on a Sandbox someone else keeps running (the app's built-in one).
pub fn for_sandbox(handle: &SandboxHandle) -> Result<Session, ApiError> {
    let mut connection = Connection::for_sandbox(handle)?;
    connection.account_name = crate::accounts::SANDBOX_NAME.to_string();
    Ok(Session {
        connection,
        account: AccountSummary::sandbox(),
        source: TokenSource::Sandbox,
        sandbox: None,
    })
}

impl Session {
    /// Whether this is a real DigitalOcean account (not a Sandbox of any kind).
    pub fn is_digitalocean(&self) -> bool {
        self.connection.kind == ConnectionKind::DigitalOcean
    }

    /// Journals the changes made through this session (the front ends choose where: the app
    /// its data folder, the CLI the same folder or `CUTOVER_DATA_DIR`; tests none).
    pub fn with_journal(mut self, journal: Option<crate::journal::Journal>) -> Self {
        self.connection.journal = journal;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountRecord, MemorySecrets, Settings, SettingsStore};

    fn choice(api_base: Option<&str>, context: Option<&str>, token: Option<&str>) -> CliChoice {
        CliChoice {
            api_base: api_base.map(str::to_string),
            context: context.map(str::to_string),
            env_token: token.map(str::to_string),
        }
    }

    fn target(c: CliChoice) -> Result<Target, ApiError> {
        Target::from_cli(&c, SandboxOptions::default())
    }

    #[test]
    fn context_wins_then_environment_then_sandbox() {
        assert!(matches!(
            target(choice(None, Some("prod"), Some("t"))).unwrap(),
            Target::Account { name, api_base: None } if name == "prod"
        ));
        assert!(matches!(
            target(choice(Some("http://x"), None, Some("t"))).unwrap(),
            Target::Token { api_base: Some(b), .. } if b == "http://x"
        ));
        assert!(matches!(
            target(choice(None, None, Some("  "))).unwrap(),
            Target::Sandbox(_)
        ));
        let err = target(choice(Some("http://127.0.0.1:1"), None, None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(err.message.contains("DIGITALOCEAN_ACCESS_TOKEN"));
        assert_eq!(
            target(choice(None, Some(" "), None)).unwrap_err().code,
            ErrorCode::InvalidInput
        );
        // An explicit --api-base overrides the account's stored one.
        assert!(matches!(
            target(choice(Some("http://x"), Some("prod"), None)).unwrap(),
            Target::Account { api_base: Some(b), .. } if b == "http://x"
        ));
    }

    fn store_with(dir: &std::path::Path, records: Vec<AccountRecord>) -> AccountStore {
        let settings = SettingsStore::in_dir(dir);
        settings
            .save(&Settings {
                accounts: records,
                active: None,
            })
            .unwrap();
        AccountStore::new(settings, Box::new(MemorySecrets::default()))
    }

    fn record(name: &str, api_base: Option<&str>, protected: bool) -> AccountRecord {
        AccountRecord {
            name: name.into(),
            colour: None,
            protected,
            email: None,
            team: None,
            token_last4: "abcd".into(),
            api_base: api_base.map(str::to_string),
            note: None,
            kind: ConnectionKind::DigitalOcean,
        }
    }

    #[tokio::test]
    async fn an_unknown_account_and_a_missing_token_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), vec![record("work", None, false)]);
        let err = open(
            Target::Account {
                name: "nope".into(),
                api_base: None,
            },
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(err.message, "There is no account named \"nope\".");
        let err = open(
            Target::Account {
                name: "work".into(),
                api_base: None,
            },
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(err.message.contains("\"work\""), "{}", err.message);
        assert!(err.message.contains("keychain"), "{}", err.message);
    }

    #[tokio::test]
    async fn an_account_uses_its_stored_api_base_and_protected_flag() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(
            dir.path(),
            vec![record("work", Some("https://203.0.113.1:9"), true)],
        );
        store.keychain().set("work", "dop_v1_abc").unwrap();
        let session = open(
            Target::Account {
                name: "work".into(),
                api_base: None,
            },
            &store,
        )
        .await
        .unwrap();
        assert_eq!(session.source, TokenSource::Account("work".into()));
        assert_eq!(session.client().base_url(), "https://203.0.113.1:9");
        assert!(session.account.protected);
        assert!(!format!("{session:?}").contains("dop_v1_abc"));
        let err = session
            .require_typed("the DNS change", "example.com", None)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(
            err.message,
            "\"work\" is a protected account: type example.com to confirm the DNS change."
        );
        for wrong in ["", "example", "www.example.com"] {
            assert!(session
                .require_typed("the DNS change", "example.com", Some(wrong))
                .is_err());
        }
        session
            .require_typed("the DNS change", "Example.com.", Some(" example.com "))
            .unwrap();
    }

    #[test]
    fn plain_http_to_another_machine_is_refused() {
        check_api_base("https://api.digitalocean.com").unwrap();
        check_api_base("http://127.0.0.1:8080").unwrap();
        check_api_base("http://localhost:8080").unwrap();
        check_api_base("http://[::1]:8080").unwrap();
        if !insecure_http_allowed() {
            let err = check_api_base("http://api.example.com").unwrap_err();
            assert!(err.message.contains("unencrypted"), "{}", err.message);
        }
        assert!(check_api_base("ftp://x").is_err());
        assert!(check_api_base("not a url").is_err());
    }

    #[tokio::test]
    async fn no_token_starts_a_sandbox_for_the_session() {
        let store = AccountStore::new(
            SettingsStore::in_dir(tempfile::tempdir().unwrap().path()),
            Box::new(MemorySecrets::default()),
        );
        let session = open(Target::Sandbox(SandboxOptions::default()), &store)
            .await
            .unwrap();
        assert!(session.is_sandbox());
        assert!(session.sandbox().is_some());
        assert!(!session.account.protected);
        let lbs = session.client().list_load_balancers().await.unwrap();
        assert!(lbs.len() >= 3, "{}", lbs.len());
        session.close().await;
    }
}
