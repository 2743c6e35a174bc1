//! The app's accounts and its live connection to the one in use, Tauri-free so the desktop
//! shell stays thin: it holds a `Workspace` and forwards commands to it.
//!
//! With no account chosen the workspace runs on the Sandbox, started on first use.

use cutover_digitalocean::RateLimit;
use cutover_sandbox::Sandbox;
pub use cutover_sandbox::{SandboxHandle, SandboxOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex as AsyncMutex;

use crate::accounts::{
    token_last4, validate_account_name, validate_token_shape, AccountRecord, AccountStore,
    SecretStore, SettingsStore,
};
pub use crate::accounts::{AccountSummary, SANDBOX_NAME};
use crate::context::{Connection, ConnectionKind};
use crate::error::{ApiError, ErrorCode};
use crate::session::{self, Session};

/// The account switcher's contents.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountsOverview {
    /// The account in use; the Sandbox when `None` was chosen or nothing is configured.
    pub active: AccountSummary,
    /// The user's accounts (the Sandbox is always available besides them).
    pub accounts: Vec<AccountSummary>,
}

/// What the user typed in "Add account".
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AddAccountInput {
    pub name: String,
    pub token: String,
    pub colour: Option<String>,
    #[serde(default)]
    pub protected: bool,
    /// Another API base than DigitalOcean's (a proxy, a standalone Sandbox).
    pub api_base: Option<String>,
    /// Keep the token in memory for this run only (when the keychain is unavailable).
    #[serde(default)]
    pub session_only: bool,
}

/// Rate-limit headers last seen, for the status bar.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the oldest request in the window expires.
    pub reset: f64,
}

impl From<RateLimit> for RateLimitInfo {
    fn from(r: RateLimit) -> Self {
        Self {
            limit: r.limit,
            remaining: r.remaining,
            reset: r.reset as f64,
        }
    }
}

struct Active {
    /// `None` for the Sandbox.
    account: Option<String>,
    session: Session,
}

/// Accounts, tokens and the one session in use.
pub struct Workspace {
    store: AccountStore,
    /// Where the changes made through the session in use are journaled (the app's data folder).
    journal: Option<crate::journal::Journal>,
    sandbox_options: SandboxOptions,
    sandbox: AsyncMutex<Option<SandboxHandle>>,
    active: AsyncMutex<Option<Active>>,
}

impl Workspace {
    pub fn new(
        settings: SettingsStore,
        keychain: Box<dyn SecretStore>,
        sandbox_options: SandboxOptions,
    ) -> Self {
        Self {
            store: AccountStore::new(settings, keychain),
            journal: None,
            sandbox_options,
            sandbox: AsyncMutex::new(None),
            active: AsyncMutex::new(None),
        }
    }

    fn sandbox_summary() -> AccountSummary {
        AccountSummary::sandbox()
    }

    fn summary(record: &AccountRecord, session_only: bool) -> AccountSummary {
        AccountSummary::of(record, session_only)
    }

    /// Journals every change made through this workspace's sessions to `journal`.
    pub fn with_journal(mut self, journal: crate::journal::Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The store of accounts behind this workspace.
    pub fn accounts(&self) -> &AccountStore {
        &self.store
    }

    fn all_records(&self) -> Result<Vec<(AccountRecord, bool)>, ApiError> {
        self.store.all()
    }

    fn find_record(&self, name: &str) -> Result<(AccountRecord, bool), ApiError> {
        self.store.find(name)
    }

    /// The account in use and all accounts.
    pub async fn overview(&self) -> Result<AccountsOverview, ApiError> {
        let records = self.all_records()?;
        let active_name = self.active_account_name().await?;
        let active = match &active_name {
            Some(name) => records
                .iter()
                .find(|(r, _)| &r.name == name)
                .map(|(r, s)| Self::summary(r, *s))
                .unwrap_or_else(Self::sandbox_summary),
            None => Self::sandbox_summary(),
        };
        Ok(AccountsOverview {
            active,
            accounts: records.iter().map(|(r, s)| Self::summary(r, *s)).collect(),
        })
    }

    /// The chosen account: this run's choice, else the settings file's, else the Sandbox.
    async fn active_account_name(&self) -> Result<Option<String>, ApiError> {
        if let Some(active) = self.active.lock().await.as_ref() {
            return Ok(active.account.clone());
        }
        let settings = self.store.settings().load()?;
        Ok(settings
            .active
            .filter(|name| settings.accounts.iter().any(|a| &a.name == name)))
    }

    /// Checks the token against the API, then stores it (keychain, or memory when asked) and
    /// the account (settings file, unless session-only). Returns the new account.
    pub async fn add_account(&self, input: AddAccountInput) -> Result<AccountSummary, ApiError> {
        let name = input.name.trim().to_string();
        validate_account_name(&name)?;
        validate_token_shape(&input.token)?;
        let token = input.token.trim().to_string();
        if self.all_records()?.iter().any(|(r, _)| r.name == name) {
            return Err(ApiError::invalid_input(format!(
                "An account named \"{name}\" exists already: pick another name or remove it first."
            ))
            .with_details(serde_json::json!({"field": "name"})));
        }
        let api_base = input
            .api_base
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        if let Some(base) = &api_base {
            session::check_api_base(base)
                .map_err(|err| err.with_details(serde_json::json!({"field": "apiBase"})))?;
        }

        let mut record = AccountRecord {
            name: name.clone(),
            colour: input.colour.filter(|c| !c.trim().is_empty()),
            protected: input.protected,
            email: None,
            team: None,
            token_last4: token_last4(&token),
            api_base: api_base.clone(),
            note: None,
            kind: ConnectionKind::DigitalOcean,
        };
        let connection = Connection::for_token(api_base.as_deref(), &token).await?;
        record.kind = connection.kind;
        match connection.client.account().await {
            Ok(account) => {
                record.email = Some(account.email).filter(|e| !e.is_empty());
                record.team = account.team.map(|t| t.name).filter(|t| !t.is_empty());
                if account.status != "active" && !account.status.is_empty() {
                    record.note = Some(format!(
                        "DigitalOcean says the account is {}{}",
                        account.status,
                        if account.status_message.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", account.status_message)
                        }
                    ));
                }
            }
            // A custom-scoped token without account:read is valid: accept it, say so.
            Err(cutover_digitalocean::Error::Forbidden { .. }) => {
                record.note = Some(
                    "The token has no account:read scope, so Cutover cannot show its email and team."
                        .to_string(),
                );
            }
            Err(err @ cutover_digitalocean::Error::Unauthorized { .. }) => {
                let mut api = ApiError::from(err);
                api.message = "DigitalOcean rejected this token: check that it was copied whole and is not revoked. Nothing was saved.".to_string();
                return Err(api);
            }
            Err(err) => return Err(err.into()),
        }

        if input.session_only {
            self.store.session_tokens().set(&name, &token)?;
            self.store.session_accounts().push(record.clone());
        } else {
            self.store.keychain().set(&name, &token)?;
            let mut settings = self.store.settings().load()?;
            settings.accounts.push(record.clone());
            if let Err(err) = self.store.settings().save(&settings) {
                // Keep keychain and settings consistent: no orphaned token.
                let _ = self.store.keychain().delete(&name);
                return Err(err);
            }
        }
        tracing::info!(account = %name, session_only = input.session_only, "account added");
        Ok(Self::summary(&record, input.session_only))
    }

    /// Removes the account and deletes its keychain entry.
    pub async fn remove_account(&self, name: &str) -> Result<(), ApiError> {
        let (_, session_only) = self.find_record(name)?;
        if session_only {
            self.store.session_accounts().retain(|r| r.name != name);
            self.store.session_tokens().delete(name)?;
        } else {
            self.store.keychain().delete(name)?;
            let mut settings = self.store.settings().load()?;
            settings.accounts.retain(|a| a.name != name);
            if settings.active.as_deref() == Some(name) {
                settings.active = None;
            }
            self.store.settings().save(&settings)?;
        }
        let mut active = self.active.lock().await;
        if active.as_ref().and_then(|a| a.account.as_deref()) == Some(name) {
            *active = None;
        }
        tracing::info!(account = %name, "account removed");
        Ok(())
    }

    /// Changes the colour and the protected flag.
    pub fn update_account(
        &self,
        name: &str,
        colour: Option<String>,
        protected: bool,
    ) -> Result<AccountSummary, ApiError> {
        let (_, session_only) = self.find_record(name)?;
        let update = |r: &mut AccountRecord| {
            r.colour = colour.clone().filter(|c| !c.trim().is_empty());
            r.protected = protected;
        };
        if session_only {
            let mut list = self.store.session_accounts();
            let record = list
                .iter_mut()
                .find(|r| r.name == name)
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "The account is gone."))?;
            update(record);
            return Ok(Self::summary(record, true));
        }
        let mut settings = self.store.settings().load()?;
        let record = settings
            .accounts
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "The account is gone."))?;
        update(record);
        let summary = Self::summary(record, false);
        self.store.settings().save(&settings)?;
        Ok(summary)
    }

    /// Replaces a revoked or rotated token after checking the new one.
    pub async fn replace_token(&self, name: &str, token: &str) -> Result<AccountSummary, ApiError> {
        let (mut record, session_only) = self.find_record(name)?;
        validate_token_shape(token)?;
        let token = token.trim();
        let connection = Connection::for_token(record.api_base.as_deref(), token).await?;
        match connection.client.account().await {
            Ok(_) | Err(cutover_digitalocean::Error::Forbidden { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        record.token_last4 = token_last4(token);
        record.kind = connection.kind;
        if session_only {
            self.store.session_tokens().set(name, token)?;
            if let Some(r) = self
                .store
                .session_accounts()
                .iter_mut()
                .find(|r| r.name == name)
            {
                r.token_last4 = record.token_last4.clone();
                r.kind = record.kind;
            }
        } else {
            self.store.keychain().set(name, token)?;
            let mut settings = self.store.settings().load()?;
            if let Some(r) = settings.accounts.iter_mut().find(|r| r.name == name) {
                r.token_last4 = record.token_last4.clone();
                r.kind = record.kind;
            }
            self.store.settings().save(&settings)?;
        }
        let mut active = self.active.lock().await;
        if active.as_ref().and_then(|a| a.account.as_deref()) == Some(name) {
            *active = None;
        }
        Ok(Self::summary(&record, session_only))
    }

    /// Switches to `name`, or to the Sandbox with `None`. Remembered across runs.
    pub async fn switch_to(&self, name: Option<&str>) -> Result<AccountSummary, ApiError> {
        // An added account stays an account even when it is a Sandbox (kind `sandbox`): only
        // `None` or the built-in name mean the built-in Sandbox.
        let (account, summary) = match name {
            Some(name) if name != SANDBOX_NAME => {
                let (record, session_only) = self.find_record(name)?;
                (
                    Some(record.name.clone()),
                    Self::summary(&record, session_only),
                )
            }
            _ => (None, Self::sandbox_summary()),
        };
        if !summary.session_only {
            let mut settings = self.store.settings().load()?;
            settings.active = account.clone();
            self.store.settings().save(&settings)?;
        }
        let session = self.connect(account.as_deref()).await?;
        *self.active.lock().await = Some(Active { account, session });
        Ok(summary)
    }

    async fn connect(&self, account: Option<&str>) -> Result<Session, ApiError> {
        match account {
            None => {
                let mut sandbox = self.sandbox.lock().await;
                if sandbox.is_none() {
                    let handle =
                        Sandbox::start(self.sandbox_options.clone())
                            .await
                            .map_err(|err| {
                                let err = ApiError::from(err);
                                ApiError {
                                    message: format!(
                                        "The Sandbox could not start: {}",
                                        err.message
                                    ),
                                    ..err
                                }
                            })?;
                    *sandbox = Some(handle);
                }
                match sandbox.as_ref() {
                    Some(handle) => {
                        Ok(session::for_sandbox(handle)?.with_journal(self.journal.clone()))
                    }
                    None => Err(ApiError::internal("The Sandbox is not running.")),
                }
            }
            Some(name) => {
                let session = session::open_account(&self.store, name)
                    .await?
                    .with_journal(self.journal.clone());
                let (record, session_only) = self.find_record(name)?;
                if session.connection.kind != record.kind {
                    self.remember_kind(name, session_only, session.connection.kind);
                }
                Ok(session)
            }
        }
    }

    /// Records what an account's API base turned out to be (settings from before the kind was
    /// stored, or a base URL that now serves something else). Only the label depends on it, so
    /// a settings file that cannot be written is logged, not an error.
    fn remember_kind(&self, name: &str, session_only: bool, kind: ConnectionKind) {
        if session_only {
            if let Some(r) = self
                .store
                .session_accounts()
                .iter_mut()
                .find(|r| r.name == name)
            {
                r.kind = kind;
            }
            return;
        }
        let saved = self.store.settings().load().and_then(|mut settings| {
            match settings.accounts.iter_mut().find(|r| r.name == name) {
                Some(r) => r.kind = kind,
                None => return Ok(()),
            }
            self.store.settings().save(&settings)
        });
        if let Err(err) = saved {
            tracing::warn!(account = %name, "could not record the account's kind: {}", err.message);
        }
    }

    /// The session of the account in use, connecting on first use.
    pub async fn session(&self) -> Result<Session, ApiError> {
        {
            if let Some(active) = self.active.lock().await.as_ref() {
                return Ok(active.session.clone());
            }
        }
        let account = self.active_account_name().await?;
        let session = self.connect(account.as_deref()).await?;
        let mut active = self.active.lock().await;
        if let Some(existing) = active.as_ref() {
            return Ok(existing.session.clone());
        }
        *active = Some(Active {
            account,
            session: session.clone(),
        });
        Ok(session)
    }

    /// The connection of the account in use, connecting on first use.
    pub async fn connection(&self) -> Result<Connection, ApiError> {
        Ok(self.session().await?.connection)
    }

    /// The in-process Sandbox, when it runs (for tests and the DNS journey's "fix" step).
    pub async fn with_sandbox<T>(&self, f: impl FnOnce(&SandboxHandle) -> T) -> Option<T> {
        self.sandbox.lock().await.as_ref().map(f)
    }

    /// The rate-limit headers last seen on the connection in use.
    pub async fn rate_limit(&self) -> Option<RateLimitInfo> {
        self.active
            .lock()
            .await
            .as_ref()
            .and_then(|a| a.session.connection.client.rate_limit())
            .map(RateLimitInfo::from)
    }

    /// Stops the Sandbox, saving its state if it has a file.
    pub async fn shutdown(&self) {
        if let Some(handle) = self.sandbox.lock().await.take() {
            handle.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::MemorySecrets;
    use std::time::Duration;

    fn workspace(dir: &std::path::Path) -> Workspace {
        Workspace::new(
            SettingsStore::in_dir(dir),
            Box::new(MemorySecrets::default()),
            SandboxOptions {
                activation_delay: Duration::ZERO,
                busy_window: Duration::ZERO,
                ..SandboxOptions::default()
            },
        )
    }

    #[tokio::test]
    async fn starts_on_the_sandbox_and_adds_an_account_by_token() {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(dir.path());
        let overview = ws.overview().await.unwrap();
        assert_eq!(overview.active.kind, ConnectionKind::Sandbox);
        assert!(overview.accounts.is_empty());

        // The workspace's own Sandbox, added again as an account by its token: the real path.
        let conn = ws.connection().await.unwrap();
        assert!(conn.is_sandbox());
        let (base, token) = ws
            .with_sandbox(|s| (s.api_base(), s.token().to_string()))
            .await
            .unwrap();
        let added = ws
            .add_account(AddAccountInput {
                name: "staging".into(),
                token: token.clone(),
                colour: Some("#8250df".into()),
                protected: true,
                api_base: Some(base),
                session_only: false,
            })
            .await
            .unwrap();
        assert_eq!(
            added.token_last4.as_deref(),
            Some(&token[token.len() - 4..])
        );
        assert!(added.email.is_some());
        // A loopback Sandbox added by its token is labelled a Sandbox, not DigitalOcean.
        assert_eq!(added.kind, ConnectionKind::Sandbox);
        let settings_text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(
            !settings_text.contains(&token),
            "the token must not reach the settings file"
        );

        let switched = ws.switch_to(Some("staging")).await.unwrap();
        assert_eq!(switched.name, "staging");
        assert_eq!(switched.kind, ConnectionKind::Sandbox);
        // Still the added account in use, not the built-in Sandbox.
        let active = ws.overview().await.unwrap().active;
        assert_eq!(
            (
                active.name.as_str(),
                active.kind,
                active.token_last4.is_some()
            ),
            ("staging", ConnectionKind::Sandbox, true)
        );
        let lbs = ws
            .connection()
            .await
            .unwrap()
            .client
            .list_load_balancers()
            .await
            .unwrap();
        assert!(!lbs.is_empty());
        assert!(ws.rate_limit().await.is_some());

        ws.remove_account("staging").await.unwrap();
        assert_eq!(
            ws.overview().await.unwrap().active.kind,
            ConnectionKind::Sandbox
        );
        ws.shutdown().await;
    }

    /// An account saved before the kind was recorded reads as DigitalOcean, and learns it is a
    /// Sandbox the first time it connects.
    #[tokio::test]
    async fn an_older_sandbox_account_is_relabelled_on_connect() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = MemorySecrets::default();
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        secrets.set("local", sandbox.token()).unwrap();
        let store = SettingsStore::in_dir(dir.path());
        store
            .save(&crate::accounts::Settings {
                accounts: vec![AccountRecord {
                    name: "local".into(),
                    colour: None,
                    protected: false,
                    email: None,
                    team: None,
                    token_last4: token_last4(sandbox.token()),
                    api_base: Some(sandbox.api_base()),
                    note: None,
                    kind: ConnectionKind::DigitalOcean,
                }],
                active: Some("local".into()),
            })
            .unwrap();
        let ws = Workspace::new(store.clone(), Box::new(secrets), SandboxOptions::default());
        assert_eq!(
            ws.overview().await.unwrap().active.kind,
            ConnectionKind::DigitalOcean
        );
        assert!(ws.connection().await.unwrap().is_sandbox());
        let active = ws.overview().await.unwrap().active;
        assert_eq!(
            (active.name.as_str(), active.kind),
            ("local", ConnectionKind::Sandbox)
        );
        assert_eq!(
            store.load().unwrap().accounts[0].kind,
            ConnectionKind::Sandbox
        );
        // The built-in Sandbox never started: the account's own Sandbox served the connection.
        assert!(ws.with_sandbox(|_| ()).await.is_none());
        ws.shutdown().await;
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_rejected_token_saves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(dir.path());
        let _ = ws.connection().await.unwrap();
        let base = ws.with_sandbox(|s| s.api_base()).await.unwrap();
        let err = ws
            .add_account(AddAccountInput {
                name: "prod".into(),
                token: "dop_v1_wrongwrongwrong".into(),
                colour: None,
                protected: false,
                api_base: Some(base),
                session_only: false,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(ws.overview().await.unwrap().accounts.is_empty());
        assert!(!dir.path().join("settings.json").exists());
        ws.shutdown().await;
    }
}
