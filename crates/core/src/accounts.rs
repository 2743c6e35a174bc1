//! Accounts: which DigitalOcean tokens the user has added, under which names.
//!
//! The settings file (JSON in the OS config directory) holds only what is safe to show: name,
//! colour, the protected flag, email/team and the token's last four characters. The token itself
//! lives in the OS keychain (Keychain, Credential Manager, Secret Service) — or, when the keychain
//! is unavailable and the user chose so, in memory for this run only. Never on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::context::ConnectionKind;
use crate::error::{ApiError, ErrorCode};

/// The keychain service name every Cutover token is stored under.
pub const KEYCHAIN_SERVICE: &str = "dev.cutover.desktop";

/// One account as stored in the settings file. No secrets here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    pub name: String,
    /// A CSS colour the UI paints the account with (e.g. red for production).
    pub colour: Option<String>,
    /// Destructive actions on a protected account need its name typed.
    #[serde(default)]
    pub protected: bool,
    pub email: Option<String>,
    pub team: Option<String>,
    /// The last four characters of the token, so the user can tell tokens apart.
    pub token_last4: String,
    /// Another API base URL than DigitalOcean's (a proxy, a standalone Sandbox).
    pub api_base: Option<String>,
    /// A note from the token check (e.g. the token lacks `account:read`).
    pub note: Option<String>,
    /// What the API base turned out to be when the token was checked: a loopback base that
    /// answers the Sandbox's own endpoints is a Sandbox (`cutover sandbox serve`), not
    /// DigitalOcean. Files from before this field read as DigitalOcean until the next connect.
    #[serde(default)]
    pub kind: ConnectionKind,
}

/// The settings file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    #[serde(default)]
    pub accounts: Vec<AccountRecord>,
    /// The account in use; `None` means the Sandbox.
    pub active: Option<String>,
}

/// Reads and writes the settings file atomically (temp file + rename), so a crash or a full disk
/// never leaves a half-written file behind.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `<config dir>/settings.json`.
    pub fn in_dir(dir: &Path) -> Self {
        Self::new(dir.join("settings.json"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored settings, or defaults when there is no file yet. A file that cannot be parsed
    /// is an error — never silently replaced, which would lose the user's accounts.
    pub fn load(&self) -> Result<Settings, ApiError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                ApiError::new(
                    ErrorCode::Io,
                    format!(
                        "The settings file {} is not valid JSON ({err}). Fix or move it away; Cutover left it untouched.",
                        self.path.display()
                    ),
                )
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(err) => Err(ApiError::new(
                ErrorCode::Io,
                format!("Could not read the settings file {}: {err}", self.path.display()),
            )),
        }
    }

    pub fn save(&self, settings: &Settings) -> Result<(), ApiError> {
        let json = serde_json::to_vec_pretty(settings)
            .map_err(|err| ApiError::internal(format!("could not encode settings: {err}")))?;
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|err| crate::files::write_error(&self.path, &err))
            .and_then(|()| crate::files::write_atomic(&self.path, &json))
            .map_err(|err| ApiError {
                message: format!(
                    "Could not save the settings: {}. Nothing was changed.",
                    err.message
                ),
                ..err
            })
    }
}

/// An account as the front ends see it: never the token, only its last four characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub name: String,
    pub kind: ConnectionKind,
    pub colour: Option<String>,
    pub protected: bool,
    pub email: Option<String>,
    pub team: Option<String>,
    pub token_last4: Option<String>,
    pub api_base: Option<String>,
    /// The token lives in memory for this run only (the keychain was unavailable).
    pub session_only: bool,
    pub note: Option<String>,
}

/// The name the built-in simulated account goes by.
pub const SANDBOX_NAME: &str = "Sandbox";

impl AccountSummary {
    pub fn of(record: &AccountRecord, session_only: bool) -> Self {
        Self {
            name: record.name.clone(),
            // A loopback Sandbox added as an account shows as one (the status bar's SANDBOX).
            kind: record.kind,
            colour: record.colour.clone(),
            protected: record.protected,
            email: record.email.clone(),
            team: record.team.clone(),
            token_last4: Some(record.token_last4.clone()),
            api_base: record.api_base.clone(),
            session_only,
            note: record.note.clone(),
        }
    }

    /// The built-in Sandbox (in the app) or a Sandbox started for one CLI run.
    pub fn sandbox() -> Self {
        Self {
            name: SANDBOX_NAME.to_string(),
            kind: ConnectionKind::Sandbox,
            colour: None,
            protected: false,
            email: Some("sandbox@cutover.test".to_string()),
            team: None,
            token_last4: None,
            api_base: None,
            session_only: false,
            note: Some("A simulated DigitalOcean running inside Cutover.".to_string()),
        }
    }
}

/// Every account the user has: the settings file, the OS keychain, and the accounts kept for
/// this run only. The app and the CLI read accounts through this one store, so `--context NAME`
/// sees the same API base and protected flag as the app.
pub struct AccountStore {
    settings: SettingsStore,
    keychain: Box<dyn SecretStore>,
    /// Tokens (and accounts) the user chose to keep for this run only.
    session_tokens: MemorySecrets,
    session_accounts: Mutex<Vec<AccountRecord>>,
}

/// The environment variable that points the CLI at another settings folder (tests, portable
/// setups); the app's own folder otherwise.
pub const CONFIG_DIR_ENV: &str = "CUTOVER_CONFIG_DIR";

/// The folder the desktop app keeps `settings.json` in: Tauri's app config dir, which is the
/// OS config dir joined with the app's identifier (the same string as the keychain service).
pub fn default_config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join(KEYCHAIN_SERVICE))
}

impl AccountStore {
    pub fn new(settings: SettingsStore, keychain: Box<dyn SecretStore>) -> Self {
        Self {
            settings,
            keychain,
            session_tokens: MemorySecrets::default(),
            session_accounts: Mutex::new(Vec::new()),
        }
    }

    /// The app's settings file and the OS keychain: what a headless run reads.
    pub fn os() -> Self {
        let dir = default_config_dir().unwrap_or_else(|| PathBuf::from("."));
        Self::new(SettingsStore::in_dir(&dir), Box::new(OsKeychain))
    }

    pub fn settings(&self) -> &SettingsStore {
        &self.settings
    }

    pub fn keychain(&self) -> &dyn SecretStore {
        self.keychain.as_ref()
    }

    pub fn session_tokens(&self) -> &MemorySecrets {
        &self.session_tokens
    }

    pub fn session_accounts(&self) -> std::sync::MutexGuard<'_, Vec<AccountRecord>> {
        self.session_accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Every account: stored ones, then this run's session-only ones (`true`).
    pub fn all(&self) -> Result<Vec<(AccountRecord, bool)>, ApiError> {
        let settings = self.settings.load()?;
        let mut out: Vec<(AccountRecord, bool)> =
            settings.accounts.into_iter().map(|r| (r, false)).collect();
        out.extend(self.session_accounts().iter().cloned().map(|r| (r, true)));
        Ok(out)
    }

    /// The account named `name`, and whether it is session-only.
    pub fn find(&self, name: &str) -> Result<(AccountRecord, bool), ApiError> {
        self.all()?
            .into_iter()
            .find(|(r, _)| r.name == name)
            .ok_or_else(|| unknown_account(name))
    }

    /// [`AccountStore::find`], or — for a name with a keychain token but no settings entry (a
    /// token stored by an older version, or settings from another machine) — a bare record:
    /// not protected, DigitalOcean's API base.
    pub fn find_or_keychain_only(&self, name: &str) -> Result<(AccountRecord, bool), ApiError> {
        match self.find(name) {
            Ok(found) => Ok(found),
            Err(unknown) => match self.keychain.get(name)? {
                Some(token) if !token.trim().is_empty() => Ok((
                    AccountRecord {
                        name: name.to_string(),
                        colour: None,
                        protected: false,
                        email: None,
                        team: None,
                        token_last4: token_last4(&token),
                        api_base: None,
                        note: None,
                        kind: ConnectionKind::DigitalOcean,
                    },
                    false,
                )),
                _ => Err(unknown),
            },
        }
    }

    /// The token of a known account. A record whose token is gone from the keychain is the same
    /// failure, with the same sentence, in the app and the CLI.
    pub fn token(&self, name: &str, session_only: bool) -> Result<String, ApiError> {
        let token = if session_only {
            self.session_tokens.get(name)?
        } else {
            self.keychain.get(name)?
        };
        token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| missing_token(name))
    }
}

/// No account of that name: the same sentence wherever an account is named.
pub fn unknown_account(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("There is no account named \"{name}\"."),
    )
    .with_details(serde_json::json!({ "field": "account", "account": name }))
}

/// The account exists but its token is not in the keychain (deleted there, another machine's
/// settings, a keyring that was reset).
pub fn missing_token(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        format!("The token of the account \"{name}\" is missing from the OS keychain: replace the account's token."),
    )
    .with_details(serde_json::json!({ "field": "account", "account": name }))
}

/// Where tokens are kept.
pub trait SecretStore: Send + Sync {
    fn set(&self, account: &str, token: &str) -> Result<(), ApiError>;
    fn get(&self, account: &str) -> Result<Option<String>, ApiError>;
    fn delete(&self, account: &str) -> Result<(), ApiError>;
}

/// The OS keychain through the `keyring` crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeychain;

fn keychain_error(err: keyring::Error) -> ApiError {
    let detail = match &err {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
            "the OS keychain is not available (on Linux: no Secret Service is running, or the keyring is locked)"
        }
        _ => "the OS keychain refused the request",
    };
    ApiError::new(
        ErrorCode::Keychain,
        format!(
            "Could not use the keychain: {detail}. Cutover never writes tokens to disk; you can use the token for this run only."
        ),
    )
    .with_details(serde_json::json!({ "keychain_error": crate::redact::redact(&err.to_string()) }))
}

impl SecretStore for OsKeychain {
    fn set(&self, account: &str, token: &str) -> Result<(), ApiError> {
        keyring::Entry::new(KEYCHAIN_SERVICE, account)
            .and_then(|entry| entry.set_password(token))
            .map_err(keychain_error)
    }

    fn get(&self, account: &str) -> Result<Option<String>, ApiError> {
        match keyring::Entry::new(KEYCHAIN_SERVICE, account).and_then(|e| e.get_password()) {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(keychain_error(err)),
        }
    }

    fn delete(&self, account: &str) -> Result<(), ApiError> {
        match keyring::Entry::new(KEYCHAIN_SERVICE, account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(keychain_error(err)),
        }
    }
}

/// Tokens held in memory only: the "this run only" choice, and tests.
#[derive(Default)]
pub struct MemorySecrets {
    tokens: Mutex<HashMap<String, String>>,
}

impl SecretStore for MemorySecrets {
    fn set(&self, account: &str, token: &str) -> Result<(), ApiError> {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(account.to_string(), token.to_string());
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Option<String>, ApiError> {
        let map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(account).cloned())
    }

    fn delete(&self, account: &str) -> Result<(), ApiError> {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(account);
        Ok(())
    }
}

/// Checks an account name: what the user types to confirm destructive actions, so keep it simple.
pub fn validate_account_name(name: &str) -> Result<(), ApiError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid_input("Give the account a name.")
            .with_details(serde_json::json!({"field": "name"})));
    }
    if trimmed.len() > 64 {
        return Err(
            ApiError::invalid_input("Account names are at most 64 characters.")
                .with_details(serde_json::json!({"field": "name"})),
        );
    }
    if trimmed.eq_ignore_ascii_case("sandbox") {
        return Err(ApiError::invalid_input(
            "\"Sandbox\" is the name of the built-in simulated account; pick another name.",
        )
        .with_details(serde_json::json!({"field": "name"})));
    }
    Ok(())
}

/// Basic shape check of a token before anything is sent: catches pasting the wrong thing.
pub fn validate_token_shape(token: &str) -> Result<(), ApiError> {
    let token = token.trim();
    let field = serde_json::json!({"field": "token"});
    if token.is_empty() {
        return Err(
            ApiError::invalid_input("Paste a DigitalOcean personal access token.")
                .with_details(field),
        );
    }
    if token.chars().any(char::is_whitespace) || token.len() < 8 || token.len() > 512 {
        return Err(ApiError::invalid_input(
            "That does not look like an API token (DigitalOcean tokens start with dop_v1_ and have no spaces).",
        )
        .with_details(field));
    }
    Ok(())
}

/// The last four characters, for telling tokens apart in the UI.
pub fn token_last4(token: &str) -> String {
    let chars: Vec<char> = token.trim().chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> AccountRecord {
        AccountRecord {
            name: name.into(),
            colour: Some("#cf222e".into()),
            protected: true,
            email: Some("ops@example.com".into()),
            team: None,
            token_last4: "abcd".into(),
            api_base: None,
            note: None,
            kind: ConnectionKind::DigitalOcean,
        }
    }

    #[test]
    fn settings_round_trip_and_missing_file_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        assert_eq!(store.load().unwrap(), Settings::default());
        let settings = Settings {
            accounts: vec![record("prod")],
            active: Some("prod".into()),
        };
        store.save(&settings).unwrap();
        assert_eq!(store.load().unwrap(), settings);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left beside settings.json"
        );
    }

    #[test]
    fn settings_that_cannot_be_saved_say_why_and_that_nothing_changed() {
        let dir = tempfile::tempdir().unwrap();
        // Its folder cannot be made, whoever runs the test (root ignores permissions).
        std::fs::write(dir.path().join("taken"), b"a file, not a folder").unwrap();
        let store = SettingsStore::new(dir.path().join("taken").join("settings.json"));
        let err = store.save(&Settings::default()).unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert!(
            err.message.starts_with("Could not save the settings:")
                && err.message.contains("taken")
                && err.message.ends_with("Nothing was changed."),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_kind_round_trips_and_older_files_read_as_digitalocean() {
        let older = r#"{"accounts":[{"name":"prod","colour":null,"protected":false,"email":null,"team":null,"tokenLast4":"abcd","apiBase":null,"note":null}],"active":null}"#;
        let settings: Settings = serde_json::from_str(older).unwrap();
        assert_eq!(settings.accounts[0].kind, ConnectionKind::DigitalOcean);

        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        let mut local = record("local");
        local.api_base = Some("http://127.0.0.1:4010".into());
        local.kind = ConnectionKind::Sandbox;
        let settings = Settings {
            accounts: vec![record("prod"), local],
            active: None,
        };
        store.save(&settings).unwrap();
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(text.contains(r#""kind": "sandbox""#), "{text}");
        let loaded = store.load().unwrap();
        assert_eq!(loaded, settings);
        assert_eq!(loaded.accounts[0].kind, ConnectionKind::DigitalOcean);
        assert_eq!(loaded.accounts[1].kind, ConnectionKind::Sandbox);
    }

    #[test]
    fn corrupt_settings_are_an_error_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        std::fs::write(store.path(), b"{ not json").unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{ not json");
    }

    #[test]
    fn settings_never_contain_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        let token = "dop_v1_feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface";
        let mut rec = record("prod");
        rec.token_last4 = token_last4(token);
        store
            .save(&Settings {
                accounts: vec![rec],
                active: None,
            })
            .unwrap();
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("feedfacefeed"));
        assert!(text.contains("\"tokenLast4\": \"face\""));
    }

    #[test]
    fn memory_secrets_set_get_delete() {
        let store = MemorySecrets::default();
        assert_eq!(store.get("a").unwrap(), None);
        store.set("a", "t1").unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some("t1"));
        store.delete("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
    }

    #[test]
    fn names_and_tokens_are_checked() {
        assert!(validate_account_name("prod").is_ok());
        assert!(validate_account_name("  ").is_err());
        assert!(validate_account_name("Sandbox").is_err());
        assert!(validate_token_shape("dop_v1_abcdef0123").is_ok());
        assert!(validate_token_shape("two words").is_err());
        assert!(validate_token_shape("").is_err());
        assert_eq!(token_last4("dop_v1_xyz1234"), "1234");
        assert_eq!(token_last4("ab"), "ab");
    }

    /// The real keychain round trip. Runs where a Secret Service is available (the test script
    /// provides one); elsewhere the keychain must fail with the clear `keychain` error.
    #[test]
    fn os_keychain_round_trip_or_clear_error() {
        let account = format!("cutover-test-{}", std::process::id());
        let keychain = OsKeychain;
        match keychain.set(&account, "dop_v1_roundtrip") {
            Ok(()) => {
                assert_eq!(
                    keychain.get(&account).unwrap().as_deref(),
                    Some("dop_v1_roundtrip")
                );
                keychain.delete(&account).unwrap();
                assert_eq!(keychain.get(&account).unwrap(), None);
            }
            Err(err) => {
                assert_eq!(err.code, ErrorCode::Keychain);
                assert!(err.message.contains("this run only"), "{}", err.message);
            }
        }
    }
}
