//! The one error shape that crosses to the UI (over IPC) and to scripts (CLI `--json`).
//!
//! Codes are stable strings: the UI matches on them, never on messages (GitButler's habit).

use serde::{Deserialize, Serialize};

/// Stable error codes. Add one only when a consumer needs to tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input the user gave is not acceptable; `details` says which field.
    InvalidInput,
    /// The token is missing, malformed, revoked or lacks a scope.
    Unauthorized,
    Forbidden,
    /// The load balancer is still applying a previous change: wait, then retry.
    Busy,
    NotFound,
    /// The API or the local validator refused the request (422).
    Validation,
    /// The resource changed since it was loaded; nothing was written.
    Conflict,
    RateLimited,
    /// The API answered 5xx.
    Server,
    /// The network failed before the API answered.
    Network,
    /// The OS keychain could not be used.
    Keychain,
    /// A local port could not be bound.
    AddressUnavailable,
    Io,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Busy => "busy",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Validation => "validation",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Server => "server",
            ErrorCode::Network => "network",
            ErrorCode::Keychain => "keychain",
            ErrorCode::AddressUnavailable => "address_unavailable",
            ErrorCode::Io => "io",
            ErrorCode::Internal => "internal",
        }
    }
}

/// `{ code, message, details }`: what every failed command returns.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    /// A sentence a person understands, saying what to do where there is something to do.
    pub message: String,
    /// Machine-readable context: the request id, the field, the validation findings.
    #[specta(type = Option<specta_typescript::Unknown>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        ApiError::new(
            ErrorCode::Io,
            crate::redact::redact(&err.to_string()).into_owned(),
        )
    }
}

/// DigitalOcean errors, told apart by what the user should do next.
impl From<cutover_digitalocean::Error> for ApiError {
    fn from(err: cutover_digitalocean::Error) -> Self {
        use cutover_digitalocean::Error as E;
        let mut details = serde_json::Map::new();
        if let Some(id) = err.request_id() {
            details.insert("request_id".into(), id.into());
        }
        if let Some(status) = err.status() {
            details.insert("status".into(), status.into());
        }
        let (code, message) = match &err {
            E::Unauthorized { .. } => (
                ErrorCode::Unauthorized,
                "DigitalOcean rejected the token: it may be revoked, expired or mistyped. Replace it in Accounts.".to_string(),
            ),
            E::Forbidden { message, .. } => (
                ErrorCode::Forbidden,
                format!("DigitalOcean refused this: {message}. The token may lack a scope this needs."),
            ),
            E::Busy { .. } => (
                ErrorCode::Busy,
                "DigitalOcean is still applying the previous change — try again in a moment.".to_string(),
            ),
            E::NotFound { message, .. } => (ErrorCode::NotFound, format!("Not found: {message}")),
            E::Validation { message, findings, .. } => {
                if !findings.is_empty() {
                    if let Ok(v) = serde_json::to_value(findings) {
                        details.insert("findings".into(), v);
                    }
                }
                (ErrorCode::Validation, message.clone())
            }
            E::RateLimited { retry_after, .. } => {
                if let Some(wait) = retry_after {
                    details.insert("retry_after_seconds".into(), wait.as_secs().into());
                }
                (
                    ErrorCode::RateLimited,
                    "DigitalOcean's rate limit is reached; Cutover will slow down — try again in a minute.".to_string(),
                )
            }
            E::Server { status, message, .. } => (
                ErrorCode::Server,
                format!("DigitalOcean failed ({status}): {message}. Try again shortly."),
            ),
            E::Api { message, .. } => (ErrorCode::Validation, message.clone()),
            E::Network { message } => (
                ErrorCode::Network,
                format!("Could not reach the DigitalOcean API: {message}"),
            ),
            E::Decode { message, .. } => (
                ErrorCode::Internal,
                format!("Could not read DigitalOcean's answer: {message}"),
            ),
            E::Conflict { changes } => {
                if let Ok(v) = serde_json::to_value(changes) {
                    details.insert("changes".into(), v);
                }
                (ErrorCode::Conflict, err.to_string())
            }
            E::Timeout { .. } => (ErrorCode::Network, err.to_string()),
            E::Config { message } => (ErrorCode::InvalidInput, message.clone()),
        };
        let message = crate::redact::redact(&message).into_owned();
        let api = ApiError::new(code, message);
        if details.is_empty() {
            api
        } else {
            api.with_details(serde_json::Value::Object(details))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_stable_snake_case_code() {
        let err = ApiError::new(ErrorCode::Busy, "wait")
            .with_details(serde_json::json!({"request_id": "abc"}));
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "busy");
        assert_eq!(json["message"], "wait");
        assert_eq!(json["details"]["request_id"], "abc");
    }

    #[test]
    fn as_str_matches_serde() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::AddressUnavailable,
            ErrorCode::RateLimited,
            ErrorCode::Keychain,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_string())
            );
        }
    }
}
