//! Token redaction: nothing resembling a DigitalOcean token, an `Authorization` header or a PEM
//! private key is ever written to a log, an error or the UI.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

fn patterns() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // DigitalOcean tokens (dop_v1_/doo_v1_/dor_v1_ + 64 hex), legacy 64-hex tokens,
        // bearer credentials and whole Authorization header values.
        Regex::new(concat!(
            r"(?i)(?P<hdr>authorization\s*[:=]\s*)(?:bearer\s+)?[^\s,;]+",
            r"|(?P<bearer>bearer\s+)[A-Za-z0-9._~+/=-]{8,}",
            r"|do[por]_v1_[A-Za-z0-9]{8,}",
            r"|\b[a-f0-9]{64}\b",
            // A PEM private key (an upload's key is never logged; this is the second guard),
            // to its END line or, cut short, to the end of the text.
            r"|(?s:-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z))",
        ))
        .expect("the redaction pattern is a valid constant")
    })
}

/// Replaces every secret-looking substring of `text` with `[REDACTED]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    patterns().replace_all(text, |caps: &regex::Captures<'_>| {
        if let Some(hdr) = caps.name("hdr") {
            format!("{}[REDACTED]", hdr.as_str())
        } else if let Some(bearer) = caps.name("bearer") {
            format!("{}[REDACTED]", bearer.as_str())
        } else {
            "[REDACTED]".to_string()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    const TOKEN: &str = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn redacts_personal_access_tokens() {
        let text = format!("using token {TOKEN} now");
        let out = redact(&text);
        assert!(!out.contains("0123456789abcdef"), "{out}");
        assert!(out.contains("[REDACTED]"));
    }

    #[test]
    fn redacts_authorization_headers_and_bearer_values() {
        let out = redact("authorization: Bearer sandbox-token-1234567890");
        assert!(!out.contains("sandbox-token"), "{out}");
        let out = redact(r#"{"Authorization":"Bearer abcdefgh12345678"}"#);
        assert!(!out.contains("abcdefgh1234"), "{out}");
        let out = redact("sent bearer abcdefghijkl to the api");
        assert!(!out.contains("abcdefghijkl"), "{out}");
    }

    #[test]
    fn redacts_pem_private_keys_whole_or_cut_short() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        let text = format!("upload {{\"private_key\":\"{key}\"}} refused");
        let out = redact(&text);
        assert!(!out.contains("MIIEvQ"), "{out}");
        assert!(out.ends_with("\"} refused"), "{out}");
        let out = redact("key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB");
        assert!(!out.contains("MHcCAQ"), "{out}");
        // A certificate is public and stays readable.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(redact(cert), cert);
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "GET /v2/load_balancers 200 in 45ms (request 5b9e)";
        assert_eq!(redact(text), text);
    }
}
