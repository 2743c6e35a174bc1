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
    /// A DNS apply was refused because readiness items are red (and it was not forced).
    NotReady,
    /// A write was sent and then no clear answer came (a timeout, a reset, a 5xx): it may have
    /// been carried out. Check (list again) before retrying.
    MaybeApplied,
    /// No answer in time: the API did not answer, stopped sending mid-way, or a wait ran out.
    Timeout,
    /// The API's answer could not be read (a field of the wrong type, not JSON, too large);
    /// `details` names the resource and the field when known.
    Decode,
    /// The load balancer belongs to a Kubernetes cluster, whose controller would revert the
    /// change; `details` has the Service annotations that would make it.
    ManagedByKubernetes,
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
            ErrorCode::NotReady => "not_ready",
            ErrorCode::MaybeApplied => "maybe_applied",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Decode => "decode",
            ErrorCode::ManagedByKubernetes => "managed_by_kubernetes",
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

/// DigitalOcean errors, told apart by what the user should do next. Messages say what happened
/// and are the same for every front end (the UI adds its own hints by code).
impl From<cutover_digitalocean::Error> for ApiError {
    fn from(err: cutover_digitalocean::Error) -> Self {
        use cutover_digitalocean::{human_duration, Error as E};
        let mut details = serde_json::Map::new();
        // The id came from a response: shown only when the redaction finds nothing in it (the
        // client already keeps only plausible ids).
        if let Some(id) = err.request_id() {
            if crate::redact::redact(id) == id {
                details.insert("request_id".into(), id.into());
            }
        }
        if let Some(status) = err.status() {
            details.insert("status".into(), status.into());
        }
        let (code, message) = match &err {
            E::Unauthorized { .. } => (
                ErrorCode::Unauthorized,
                "DigitalOcean rejected the token: it may be revoked, expired or mistyped."
                    .to_string(),
            ),
            E::Forbidden { message, .. } => (
                ErrorCode::Forbidden,
                format!(
                    "DigitalOcean refused this: {}. The token may lack a scope this needs.",
                    clause(message)
                ),
            ),
            E::Busy { .. } => (
                ErrorCode::Busy,
                "DigitalOcean is still applying the previous change — try again in a moment."
                    .to_string(),
            ),
            E::NotFound { message, what, .. } => match what {
                Some(what) => {
                    details.insert("resource".into(), what.clone().into());
                    (
                        ErrorCode::NotFound,
                        sentence(&format!("{what} was not found")),
                    )
                }
                None => (
                    ErrorCode::NotFound,
                    format!("Not found: {}", sentence(message)),
                ),
            },
            E::Validation {
                message, findings, ..
            } => {
                if !findings.is_empty() {
                    if let Ok(v) = serde_json::to_value(findings) {
                        details.insert("findings".into(), v);
                    }
                }
                (ErrorCode::Validation, message.clone())
            }
            E::RateLimited { retry_after, .. } => {
                let when = match retry_after {
                    Some(wait) => {
                        details.insert("retry_after_seconds".into(), wait.as_secs().into());
                        format!("try again in {}", human_duration(*wait))
                    }
                    None => "try again shortly".to_string(),
                };
                (
                    ErrorCode::RateLimited,
                    format!("DigitalOcean's rate limit is reached: {when}."),
                )
            }
            E::Server {
                status, message, ..
            } => (
                ErrorCode::Server,
                format!(
                    "DigitalOcean failed ({status}): {}. Try again shortly.",
                    clause(message)
                ),
            ),
            E::Api { message, .. } => (ErrorCode::Validation, message.clone()),
            E::Network { message } => (ErrorCode::Network, sentence(message)),
            E::Interrupted { stalled_for, .. } => (
                if stalled_for.is_some() {
                    ErrorCode::Timeout
                } else {
                    ErrorCode::Network
                },
                sentence(&err.to_string()),
            ),
            E::TooLarge { .. } => (ErrorCode::Decode, sentence(&err.to_string())),
            E::Decode {
                resource, field, ..
            } => {
                if let Some(resource) = resource {
                    details.insert("resource".into(), resource.clone().into());
                }
                if let Some(field) = field {
                    details.insert("field".into(), field.clone().into());
                }
                (ErrorCode::Decode, sentence(&err.to_string()))
            }
            E::MaybeApplied { method, what, .. } => {
                details.insert("method".into(), method.clone().into());
                details.insert("path".into(), what.clone().into());
                (ErrorCode::MaybeApplied, sentence(&err.to_string()))
            }
            E::Conflict { changes } => {
                if let Ok(v) = serde_json::to_value(changes) {
                    details.insert("changes".into(), v);
                }
                (ErrorCode::Conflict, sentence(&err.to_string()))
            }
            E::Timeout { waited, .. } => {
                details.insert("waited_seconds".into(), waited.as_secs().into());
                (ErrorCode::Timeout, sentence(&err.to_string()))
            }
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

/// `text` without its final period, to go inside a longer sentence (no "action.. The").
fn clause(text: &str) -> &str {
    text.trim().trim_end_matches('.').trim_end()
}

/// `text` as a sentence: a capital first letter, one final period.
fn sentence(text: &str) -> String {
    let text = clause(text);
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['?', '!']) {
        out.push('.');
    }
    out
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

    mod digitalocean {
        use super::super::*;
        use cutover_digitalocean::Error as E;
        use std::time::Duration;

        #[test]
        fn new_error_kinds_get_their_own_codes() {
            let codes = [
                (ErrorCode::MaybeApplied, "maybe_applied"),
                (ErrorCode::Timeout, "timeout"),
                (ErrorCode::Decode, "decode"),
            ];
            for (code, name) in codes {
                assert_eq!(code.as_str(), name);
                assert_eq!(serde_json::to_value(code).unwrap(), name);
            }

            let api: ApiError = E::MaybeApplied {
                method: "POST".into(),
                what: "/v2/load_balancers".into(),
                cause: "DigitalOcean failed (500): Server error".into(),
                status: Some(500),
                request_id: Some("req-1".into()),
            }
            .into();
            assert_eq!(api.code, ErrorCode::MaybeApplied);
            assert!(
                api.message
                    .contains("the request may have been applied: check before retrying"),
                "{}",
                api.message
            );
            let details = api.details.unwrap();
            assert_eq!(details["request_id"], "req-1");
            assert_eq!(details["path"], "/v2/load_balancers");

            let api: ApiError = E::Timeout {
                what: "load balancer abc to become active".into(),
                waited: Duration::from_nanos(4_048_986_854),
            }
            .into();
            assert_eq!(api.code, ErrorCode::Timeout);
            assert_eq!(
                api.message,
                "Gave up after 4 s waiting for load balancer abc to become active."
            );

            let api: ApiError = E::Interrupted {
                status: 200,
                stalled_for: Some(Duration::from_secs(10)),
                received: 2048,
                cause: String::new(),
                request_id: None,
            }
            .into();
            assert_eq!(api.code, ErrorCode::Timeout);
            assert!(api
                .message
                .contains("answered (200) and then stopped sending"));

            let api: ApiError = E::Decode {
                message: "load balancer \"4de7\" (\"web\"): field load_balancers[3].name: invalid type: null, expected a string".into(),
                request_id: None,
                resource: Some("load balancer \"4de7\" (\"web\")".into()),
                field: Some("load_balancers[3].name".into()),
            }
            .into();
            assert_eq!(api.code, ErrorCode::Decode);
            let details = api.details.unwrap();
            assert_eq!(details["field"], "load_balancers[3].name");
            assert_eq!(details["resource"], "load balancer \"4de7\" (\"web\")");
        }

        #[test]
        fn messages_are_front_end_neutral_name_the_id_and_the_wait() {
            let api: ApiError = E::Unauthorized {
                message: "Unable to authenticate you.".into(),
                request_id: None,
            }
            .into();
            assert!(!api.message.contains("Accounts"), "{}", api.message);

            let api: ApiError = E::Forbidden {
                message: "You do not have access for the attempted action.".into(),
                request_id: None,
            }
            .into();
            assert!(!api.message.contains(".."), "{}", api.message);
            let api: ApiError = E::Server {
                status: 500,
                message: "Server error.".into(),
                request_id: None,
            }
            .into();
            assert_eq!(
                api.message,
                "DigitalOcean failed (500): Server error. Try again shortly."
            );

            let api: ApiError = E::NotFound {
                message: "The resource you were accessing could not be found.".into(),
                request_id: None,
                what: Some("load balancer 4de7ac8b".into()),
            }
            .into();
            assert_eq!(api.code, ErrorCode::NotFound);
            assert_eq!(api.message, "Load balancer 4de7ac8b was not found.");

            let api: ApiError = E::RateLimited {
                message: "API rate limit exceeded.".into(),
                request_id: None,
                retry_after: Some(Duration::from_secs(12_000)),
            }
            .into();
            assert_eq!(
                api.message,
                "DigitalOcean's rate limit is reached: try again in 3 h 20 min."
            );
            assert_eq!(api.details.unwrap()["retry_after_seconds"], 12_000);
        }

        #[test]
        fn a_request_id_carrying_a_token_never_reaches_the_details() {
            let token = format!("dop_v1_{}", "ab".repeat(32));
            let api: ApiError = E::Forbidden {
                message: "no".into(),
                request_id: Some(token.clone()),
            }
            .into();
            let text = serde_json::to_string(&api).unwrap();
            assert!(!text.contains(&token), "{text}");
            assert!(!text.contains("abababab"), "{text}");
            let api: ApiError = E::Forbidden {
                message: "no".into(),
                request_id: Some("5b9e-41".into()),
            }
            .into();
            assert_eq!(api.details.unwrap()["request_id"], "5b9e-41");
        }
    }
}
