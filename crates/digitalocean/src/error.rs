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
    /// 404. `what` names the resource when the path says which ("load balancer 4de7…").
    #[error("{}", not_found_text(what.as_deref(), message))]
    NotFound {
        message: String,
        request_id: Option<String>,
        what: Option<String>,
    },
    /// 422 from the API (with its message, `findings` empty), or the local validator refused to
    /// send the request (`findings` holds the errors, `request_id` is `None`).
    #[error("invalid request: {message}")]
    Validation {
        message: String,
        request_id: Option<String>,
        findings: Vec<Finding>,
    },
    /// 429 after the retries (or the retry budget) ran out. `retry_after` comes from
    /// `retry-after`, else from `ratelimit-reset` when nothing remains.
    #[error("rate limited by DigitalOcean (429): {}", rate_limited_text(*retry_after))]
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
    /// The request never got an answer: DNS, connection, TLS, a reset before any answer.
    /// `message` is the whole sentence ("could not reach the DigitalOcean API: …" when no
    /// connection was made, "the DigitalOcean API closed the connection without answering: …").
    #[error("{message}")]
    Network { message: String },
    /// The API answered (status and headers arrived), then its body stopped coming for longer
    /// than the idle timeout (`stalled_for`) or the connection was cut off (`stalled_for` is
    /// `None`). Not the same as "could not reach".
    #[error("{}", interrupted_text(*status, *stalled_for, *received, cause))]
    Interrupted {
        status: u16,
        stalled_for: Option<Duration>,
        /// Body bytes that did arrive.
        received: u64,
        cause: String,
        request_id: Option<String>,
    },
    /// The answer's body is larger than the client accepts (`ClientConfig::max_body_bytes`).
    #[error("DigitalOcean's answer is larger than {}; it was not read", human_bytes(*limit))]
    TooLarge {
        limit: u64,
        request_id: Option<String>,
    },
    /// The answer was not what the spec says. `resource` names the item that could not be read
    /// (`load balancer 4de7… "web"`) and `field` the path inside the answer
    /// (`load_balancers[3].forwarding_rules[0].entry_port`) when they are known.
    #[error("could not read DigitalOcean's answer: {message}")]
    Decode {
        message: String,
        request_id: Option<String>,
        resource: Option<String>,
        field: Option<String>,
    },
    /// A write (POST, or a full-replace PUT) was sent, and then the answer did not come (timed
    /// out, reset) or was a 5xx: the API may have carried it out. Not retried blindly, since a
    /// second create is a second (billed) resource and a second PUT may overwrite a colleague's
    /// change.
    #[error("{method} {what}: {cause}; the request may have been applied: check before retrying")]
    MaybeApplied {
        method: String,
        /// The path, or what the request was for.
        what: String,
        cause: String,
        /// The 5xx status, when that is what came back.
        status: Option<u16>,
        request_id: Option<String>,
    },
    /// The load balancer changed since the update plan was made: nothing was written.
    #[error("the load balancer changed since it was loaded ({} field(s) differ); nothing was written — reload and plan again", changes.len())]
    Conflict { changes: Vec<FieldChange> },
    /// Waiting for a state, or for an answer, took longer than allowed.
    #[error("gave up after {} waiting for {what}", human_duration(*waited))]
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
            | Error::Decode { request_id, .. }
            | Error::Interrupted { request_id, .. }
            | Error::TooLarge { request_id, .. }
            | Error::MaybeApplied { request_id, .. } => request_id.as_deref(),
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
            Error::Interrupted { status, .. } => *status,
            Error::MaybeApplied { status, .. } => return *status,
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

    /// A write that may have been carried out although no success came back.
    pub fn is_maybe_applied(&self) -> bool {
        matches!(self, Error::MaybeApplied { .. })
    }

    /// The local validator's findings, when it refused the request.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Error::Validation { findings, .. } => findings,
            _ => &[],
        }
    }

    /// Builds the error for an API answer that is not a success.
    /// `token` is only used to make sure the body's `request_id` does not carry it.
    pub(crate) fn from_response(
        status: u16,
        body: &[u8],
        header_request_id: Option<String>,
        retry_after: Option<Duration>,
        token: &str,
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
        let message = tidy_message(&message);
        let message = if message.is_empty() {
            default_message(status).to_string()
        } else {
            message
        };
        let request_id = body_request_id
            .and_then(|r| clean_request_id(&r, token))
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
                what: None,
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

/// The API's message as it may be shown and logged: control characters (escape sequences, line
/// breaks that would forge log lines or table rows) become spaces, and it is cut at 300
/// characters.
fn tidy_message(message: &str) -> String {
    let mut out: String = message
        .chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if message.chars().nth(300).is_some() {
        out.push('…');
    }
    out.trim().to_string()
}

/// A request id fit to show: `[A-Za-z0-9._-]{1,128}`, not the token nor a piece of it, and not
/// shaped like a DigitalOcean token. Anything else is dropped: the value comes from a response
/// (a header or the body) and ends up in `--json` output, logs and the UI.
pub fn clean_request_id(raw: &str, token: &str) -> Option<String> {
    let id = raw.trim();
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return None;
    }
    let token = token.trim();
    // A long enough id that is part of the token (or contains it) is an echo of it.
    if !token.is_empty() && (id.contains(token) || (id.len() >= 8 && token.contains(id))) {
        return None;
    }
    let lower = id.to_ascii_lowercase();
    let token_shaped = ["dop_v1_", "doo_v1_", "dor_v1_"]
        .iter()
        .any(|p| lower.contains(p))
        || lower
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|run| run.len() >= 64);
    (!token_shaped).then(|| id.to_string())
}

/// A duration as people read it: `250 ms`, `4 s`, `2 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    // Rounded to the second: "4 s", not "4.048986854s".
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    let (d_, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let pair = |a: u64, au: &str, b: u64, bu: &str| {
        if b == 0 {
            format!("{a} {au}")
        } else {
            format!("{a} {au} {b} {bu}")
        }
    };
    if d_ > 0 {
        pair(d_, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "min")
    } else if m > 0 {
        pair(m, "min", s, "s")
    } else {
        format!("{s} s")
    }
}

/// A size as people read it: `512 bytes`, `1.5 KiB`, `32 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

fn not_found_text(what: Option<&str>, message: &str) -> String {
    match what {
        Some(what) => format!("{what} was not found (404)"),
        None => format!("not found (404): {message}"),
    }
}

fn rate_limited_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("try again in {}", human_duration(wait)),
        None => "try again shortly".to_string(),
    }
}

fn interrupted_text(
    status: u16,
    stalled_for: Option<Duration>,
    received: u64,
    cause: &str,
) -> String {
    let got = human_bytes(received);
    match stalled_for {
        Some(idle) => format!(
            "the DigitalOcean API answered ({status}) and then stopped sending: nothing for {} after {got}",
            human_duration(idle)
        ),
        None => format!(
            "the DigitalOcean API answered ({status}) and then the connection was cut off after {got}: {cause}"
        ),
    }
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
        let err = Error::from_response(403, body, Some("header-id".into()), None, "tok");
        assert!(err.is_busy(), "{err:?}");
        assert_eq!(err.request_id(), Some("body-id"));
        let err = Error::from_response(
            403,
            br#"{"id":"forbidden","message":"You do not have access"}"#,
            Some("header-id".into()),
            None,
            "tok",
        );
        assert!(matches!(err, Error::Forbidden { .. }));
        assert_eq!(err.request_id(), Some("header-id"));
        assert!(matches!(
            Error::from_response(401, b"", None, None, "tok"),
            Error::Unauthorized { .. }
        ));
        assert!(matches!(
            Error::from_response(502, b"<html>bad gateway</html>", None, None, "tok"),
            Error::Server { status: 502, .. }
        ));
        let err = Error::from_response(
            400,
            br#"{"error":"bad tag","messages":null,"root_causes":[]}"#,
            None,
            None,
            "tok",
        );
        assert_eq!(err.message(), "bad tag");
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn request_ids_that_carry_a_token_or_junk_are_dropped() {
        let token = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            clean_request_id(" 5b9e-41.a_c ", token).as_deref(),
            Some("5b9e-41.a_c")
        );
        for junk in [
            token,
            "0123456789abcdef0123456789abcdef",
            "dop_v1_aaaaaaaaaaaaaaaa",
            "Bearer xyz",
            "id\u{1b}]0;title",
            "a/b",
            "",
            "x".repeat(129).as_str(),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(clean_request_id(junk, token), None, "{junk:?}");
        }
        let body = format!(r#"{{"id":"forbidden","message":"no","request_id":"{token}"}}"#);
        let err = Error::from_response(403, body.as_bytes(), Some("hdr".into()), None, token);
        assert_eq!(err.request_id(), Some("hdr"));
    }

    #[test]
    fn api_messages_lose_control_characters_and_are_capped() {
        let body = format!(
            r#"{{"id":"forbidden","message":"no\u001b]0;pwned\u0007\nforged row {}"}}"#,
            "x".repeat(1000)
        );
        let err = Error::from_response(403, body.as_bytes(), None, None, "tok");
        let message = err.message();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(
            message.starts_with("no ]0;pwned  forged row"),
            "{message:?}"
        );
        assert!(message.chars().count() <= 301, "{}", message.len());
    }

    #[test]
    fn durations_and_sizes_read_as_people_say_them() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(Duration::from_millis(4_048)), "4 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(human_duration(s(125)), "2 min 5 s");
        assert_eq!(human_duration(s(12_000)), "3 h 20 min");
        assert_eq!(human_duration(s(3_600)), "1 h");
        assert_eq!(human_duration(s(86_400 + 4 * 3_600)), "1 d 4 h");
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn messages_name_the_wait_and_the_resource() {
        let err = Error::RateLimited {
            message: "API rate limit exceeded.".into(),
            request_id: None,
            retry_after: Some(Duration::from_secs(12_000)),
        };
        assert!(
            err.to_string().ends_with("try again in 3 h 20 min"),
            "{err}"
        );
        let err = Error::NotFound {
            message: "The resource you were accessing could not be found.".into(),
            request_id: None,
            what: Some("load balancer abc".into()),
        };
        assert_eq!(err.to_string(), "load balancer abc was not found (404)");
        let err = Error::Timeout {
            what: "load balancer abc to become active".into(),
            waited: Duration::from_millis(4_048),
        };
        assert_eq!(
            err.to_string(),
            "gave up after 4 s waiting for load balancer abc to become active"
        );
    }
}
