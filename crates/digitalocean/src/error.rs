//! Typed errors. Each carries the API's request id where there is one (the body's `request_id`,
//! else the `x-request-id` header), and none ever contains the token.

use std::time::Duration;

use crate::plan::FieldChange;
use crate::validate::Finding;

/// What went wrong talking to DigitalOcean.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the token is missing, malformed, expired or revoked.
    #[error("the token was rejected (401): {message}")]
    Unauthorized {
        message: String,
        request_id: Option<String>,
    },
    /// 403: the token lacks a scope, or the resource refuses the operation.
    #[error("forbidden (403): {message}")]
    Forbidden {
        message: String,
        request_id: Option<String>,
    },
    /// 403 "Load Balancer can't be updated while it processes previous actions": wait, then
    /// retry. Not a token problem.
    #[error("the load balancer is still applying a previous change; wait a moment and try again ({message})")]
    Busy {
        message: String,
        request_id: Option<String>,
    },
    /// 404.
    #[error("not found (404): {message}")]
    NotFound {
        message: String,
        request_id: Option<String>,
    },
    /// 422 from the API (with its message, `findings` empty), or the local validator refused to
    /// send the request (`findings` holds the errors, `request_id` is `None`).
    #[error("invalid request: {message}")]
    Validation {
        message: String,
        request_id: Option<String>,
        findings: Vec<Finding>,
    },
    /// 429 after the retries (or the retry budget) ran out.
    #[error("rate limited by DigitalOcean (429): {message}")]
    RateLimited {
        message: String,
        request_id: Option<String>,
        /// How long the API asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// 5xx after the retries ran out (or at once for a POST).
    #[error("DigitalOcean failed ({status}): {message}")]
    Server {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// Any other 4xx (400, 409, …).
    #[error("DigitalOcean refused the request ({status} {id}): {message}")]
    Api {
        status: u16,
        id: String,
        message: String,
        request_id: Option<String>,
    },
    /// The request never got an answer: DNS, connection, TLS, timeout.
    #[error("could not reach the DigitalOcean API: {message}")]
    Network { message: String },
    /// The answer was not what the spec says.
    #[error("could not read DigitalOcean's answer: {message}")]
    Decode {
        message: String,
        request_id: Option<String>,
    },
    /// The load balancer changed since the update plan was made: nothing was written.
    #[error("the load balancer changed since it was loaded ({} field(s) differ); nothing was written — reload and plan again", changes.len())]
    Conflict { changes: Vec<FieldChange> },
    /// Waiting for a state took longer than allowed.
    #[error("gave up waiting after {waited:?}: {what}")]
    Timeout { what: String, waited: Duration },
    /// The client was misconfigured (e.g. an unusable base URL).
    #[error("invalid client configuration: {message}")]
    Config { message: String },
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The API's request id, when the API answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { request_id, .. }
            | Error::Forbidden { request_id, .. }
            | Error::Busy { request_id, .. }
            | Error::NotFound { request_id, .. }
            | Error::Validation { request_id, .. }
            | Error::RateLimited { request_id, .. }
            | Error::Server { request_id, .. }
            | Error::Api { request_id, .. }
            | Error::Decode { request_id, .. } => request_id.as_deref(),
            Error::Network { .. }
            | Error::Conflict { .. }
            | Error::Timeout { .. }
            | Error::Config { .. } => None,
        }
    }

    /// The HTTP status the API answered with, when it did.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Error::Unauthorized { .. } => 401,
            Error::Forbidden { .. } | Error::Busy { .. } => 403,
            Error::NotFound { .. } => 404,
            Error::Validation { request_id, .. } => {
                // Local validation never reached the API.
                if request_id.is_none() {
                    return None;
                }
                422
            }
            Error::RateLimited { .. } => 429,
            Error::Server { status, .. } | Error::Api { status, .. } => *status,
            _ => return None,
        })
    }

    /// The API's message (or ours), without the kind prefix.
    pub fn message(&self) -> String {
        match self {
            Error::Unauthorized { message, .. }
            | Error::Forbidden { message, .. }
            | Error::Busy { message, .. }
            | Error::NotFound { message, .. }
            | Error::Validation { message, .. }
            | Error::RateLimited { message, .. }
            | Error::Server { message, .. }
            | Error::Api { message, .. }
            | Error::Network { message }
            | Error::Decode { message, .. }
            | Error::Config { message } => message.clone(),
            other => other.to_string(),
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Busy { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// The local validator's findings, when it refused the request.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Error::Validation { findings, .. } => findings,
            _ => &[],
        }
    }

    /// Builds the error for an API answer that is not a success.
    pub(crate) fn from_response(
        status: u16,
        body: &[u8],
        header_request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed: Option<crate::models::ApiErrorBody> = serde_json::from_slice(body).ok();
        let (id, message, body_request_id) = match parsed {
            Some(b) if !b.message.is_empty() || !b.id.is_empty() => (b.id, b.message, b.request_id),
            _ => {
                // Some endpoints answer `{error, messages, root_causes}`, proxies answer HTML.
                let alt: Option<serde_json::Value> = serde_json::from_slice(body).ok();
                let alt_message = alt
                    .as_ref()
                    .and_then(|v| v.get("error"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let text = alt_message.unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(body);
                    let text = text.trim();
                    if text.is_empty() || text.starts_with('<') {
                        default_message(status).to_string()
                    } else {
                        text.chars().take(300).collect()
                    }
                });
                (String::new(), text, None)
            }
        };
        let message = if message.is_empty() {
            default_message(status).to_string()
        } else {
            message
        };
        let request_id = body_request_id
            .filter(|r| !r.is_empty())
            .or(header_request_id);
        match status {
            401 => Error::Unauthorized {
                message,
                request_id,
            },
            403 if is_busy_message(&message) => Error::Busy {
                message,
                request_id,
            },
            403 => Error::Forbidden {
                message,
                request_id,
            },
            404 => Error::NotFound {
                message,
                request_id,
            },
            422 => Error::Validation {
                message,
                request_id,
                findings: Vec::new(),
            },
            429 => Error::RateLimited {
                message,
                request_id,
                retry_after,
            },
            500..=599 => Error::Server {
                status,
                message,
                request_id,
            },
            _ => Error::Api {
                status,
                id: if id.is_empty() {
                    default_id(status).to_string()
                } else {
                    id
                },
                message,
                request_id,
            },
        }
    }
}

/// The 403 DigitalOcean sends while a load balancer applies a previous change.
pub fn is_busy_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("processes previous actions")
        || m.contains("processing previous actions")
        || m.contains("can't be updated while")
        || m.contains("cannot be updated while")
}

fn default_message(status: u16) -> &'static str {
    match status {
        400 => "Bad request.",
        401 => "Unable to authenticate you.",
        403 => "You do not have access for the attempted action.",
        404 => "The resource you were accessing could not be found.",
        409 => "The request conflicts with the resource's current state.",
        422 => "The request could not be processed.",
        429 => "API rate limit exceeded.",
        500..=599 => "Server error.",
        _ => "Unexpected answer.",
    }
}

fn default_id(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        409 => "conflict",
        412 => "precondition_failed",
        _ => "unexpected_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_and_prefers_the_body_request_id() {
        let body = br#"{"id":"forbidden","message":"Load Balancer can't be updated while it processes previous actions","request_id":"body-id"}"#;
        let err = Error::from_response(403, body, Some("header-id".into()), None);
        assert!(err.is_busy(), "{err:?}");
        assert_eq!(err.request_id(), Some("body-id"));
        let err = Error::from_response(
            403,
            br#"{"id":"forbidden","message":"You do not have access"}"#,
            Some("header-id".into()),
            None,
        );
        assert!(matches!(err, Error::Forbidden { .. }));
        assert_eq!(err.request_id(), Some("header-id"));
        assert!(matches!(
            Error::from_response(401, b"", None, None),
            Error::Unauthorized { .. }
        ));
        assert!(matches!(
            Error::from_response(502, b"<html>bad gateway</html>", None, None),
            Error::Server { status: 502, .. }
        ));
        let err = Error::from_response(
            400,
            br#"{"error":"bad tag","messages":null,"root_causes":[]}"#,
            None,
            None,
        );
        assert_eq!(err.message(), "bad tag");
        assert_eq!(err.status(), Some(400));
    }
}
