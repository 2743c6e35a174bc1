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
