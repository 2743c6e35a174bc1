//! The API token, which never shows in `Debug`, `Display`, errors or logs.

use std::fmt;

/// A secret string (the DigitalOcean token). `Debug` prints `Secret([REDACTED])`; there is no
/// `Display` and no `Serialize`. Read it with [`Secret::expose`] only where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only to put it in the `Authorization` header (or a keychain).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The last four characters, which is how the UI names a token.
    pub fn last_four(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let start = chars.len().saturating_sub(4);
        chars[start..].iter().collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("dop_v1_supersecretvalue1234");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert!(!format!("{:#?}", Some(&s)).contains("supersecret"));
        assert_eq!(s.last_four(), "1234");
        assert_eq!(s.expose(), "dop_v1_supersecretvalue1234");
    }
}
