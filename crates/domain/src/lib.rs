//! Domain names, parsed once (rustls's habit with `ServerName`): trimmed, the final dot gone,
//! lower case, and checked against DNS's limits — 253 characters, labels of 1 to 63 letters,
//! digits, hyphens (and underscores, which real zones use). One wildcard rule, used by the local
//! balancer's routing, the certificate checks and the DNS code alike: `*.` as the whole
//! left-most label matches exactly one label, never across dots, and never a bare top-level
//! domain (`*.com`).
//!
//! Before this crate there were about twelve copies of the normalisation and three matchers
//! that disagreed at the edges.

use std::fmt;

/// The longest name DNS carries (RFC 1035, without the final dot).
pub const MAX_NAME: usize = 253;
/// The longest label.
pub const MAX_LABEL: usize = 63;

/// Why a text is not a domain name. Each sentence names the problem and the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("no domain name was given")]
    Empty,
    #[error("{name:?} is {len} characters long; a domain name has at most 253")]
    TooLong { name: String, len: usize },
    #[error("{name:?} has a label of {len} characters; a label has at most 63")]
    LabelTooLong { name: String, len: usize },
    #[error("{name:?} has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel { name: String },
    #[error(
        "{name:?} contains {found:?}; a domain name has letters, digits, hyphens and dots only"
    )]
    BadCharacter { name: String, found: char },
    #[error("{name:?} is not ASCII: write it in its punycode form (xn--…), as DNS and certificates carry it")]
    NotAscii { name: String },
    #[error("{name:?} is a single label; give the full name (e.g. example.com)")]
    SingleLabel { name: String },
    #[error("{name:?}: a wildcard is only allowed as the whole first label of a name with at least two more (*.example.com)")]
    BadWildcard { name: String },
}

/// The one normalisation: trimmed, no final dot, ASCII lower case. For comparisons of names
/// that came from elsewhere (certificates, DNS answers); [`DomainName::parse`] also checks.
pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn check_labels(original: &str, name: &str) -> Result<(), DomainError> {
    if name.len() > MAX_NAME {
        return Err(DomainError::TooLong {
            name: original.to_string(),
            len: name.len(),
        });
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(DomainError::EmptyLabel {
                name: original.to_string(),
            });
        }
        if label.len() > MAX_LABEL {
            return Err(DomainError::LabelTooLong {
                name: original.to_string(),
                len: label.len(),
            });
        }
        if let Some(found) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(if !found.is_ascii() {
                DomainError::NotAscii {
                    name: original.to_string(),
                }
            } else {
                DomainError::BadCharacter {
                    name: original.to_string(),
                    found,
                }
            });
        }
    }
    Ok(())
}

/// A checked, normalised domain name (no wildcard).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    /// Parses a full name (at least two labels): what the user types for a site.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let name = normalize(input);
        if name.is_empty() {
            return Err(DomainError::Empty);
        }
        check_labels(input.trim(), &name)?;
        if !name.contains('.') {
            return Err(DomainError::SingleLabel {
                name: input.trim().to_string(),
            });
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A name or a wildcard: what a balancer routes and what a certificate covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    /// The suffix without the `*.` (at least two labels).
    Wildcard(String),
}

impl Pattern {
    /// Parses and checks a pattern (`shop.example.com`, `*.example.com`).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let lower = normalize(input);
        if lower.is_empty() {
            return Err(DomainError::Empty);
        }
        match lower.strip_prefix("*.") {
            Some(rest) => {
                if rest.contains('*') || !rest.contains('.') {
                    return Err(DomainError::BadWildcard {
                        name: input.trim().to_string(),
                    });
                }
                check_labels(input.trim(), rest)?;
                Ok(Pattern::Wildcard(rest.to_string()))
            }
            None => {
                if lower.contains('*') {
                    return Err(DomainError::BadWildcard {
                        name: input.trim().to_string(),
                    });
                }
                check_labels(input.trim(), &lower)?;
                Ok(Pattern::Exact(lower))
            }
        }
    }

    /// Whether the pattern covers `name` (normalised here, so any spelling will do).
    pub fn matches(&self, name: &str) -> bool {
        let name = normalize(name);
        match self {
            Pattern::Exact(exact) => *exact == name,
            Pattern::Wildcard(suffix) => name
                .split_once('.')
                .is_some_and(|(label, parent)| !label.is_empty() && parent == suffix),
        }
    }
}

/// Whether `pattern` (a certificate's name, a configured domain) covers `name`. A pattern that
/// does not parse covers nothing.
pub fn covers(pattern: &str, name: &str) -> bool {
    Pattern::parse(pattern).is_ok_and(|p| p.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_once() {
        let d = DomainName::parse("  Shop.Example.COM. ").unwrap();
        assert_eq!(d.as_str(), "shop.example.com");
        assert_eq!(normalize("WWW.Example.com."), "www.example.com");
    }

    #[test]
    fn what_dns_cannot_carry_is_refused_with_the_reason() {
        assert_eq!(DomainName::parse(" "), Err(DomainError::Empty));
        let long = format!("{}.com", "a".repeat(250));
        assert!(matches!(
            DomainName::parse(&long),
            Err(DomainError::TooLong { .. })
        ));
        let label = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            DomainName::parse(&label),
            Err(DomainError::LabelTooLong { len: 64, .. })
        ));
        for (bad, found) in [
            ("ex:ample.com", ':'),
            ("ex\\ample.com", '\\'),
            ("a/b.com", '/'),
        ] {
            assert_eq!(
                DomainName::parse(bad),
                Err(DomainError::BadCharacter {
                    name: bad.to_string(),
                    found
                })
            );
        }
        assert!(matches!(
            DomainName::parse("*.example.com"),
            Err(DomainError::BadCharacter { found: '*', .. })
        ));
        assert!(matches!(
            DomainName::parse("bücher.example"),
            Err(DomainError::NotAscii { .. })
        ));
        assert!(DomainName::parse("bücher.example")
            .unwrap_err()
            .to_string()
            .contains("punycode"));
        assert!(matches!(
            DomainName::parse("localhost"),
            Err(DomainError::SingleLabel { .. })
        ));
        assert!(matches!(
            DomainName::parse("a..com"),
            Err(DomainError::EmptyLabel { .. })
        ));
        assert!(DomainName::parse("_dmarc.example.com").is_ok());
        assert!(DomainName::parse("xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn one_wildcard_rule() {
        let w = Pattern::parse("*.Example.com.").unwrap();
        assert!(w.matches("www.example.com"));
        assert!(w.matches("WWW.EXAMPLE.COM."));
        assert!(!w.matches("example.com"), "the apex is not covered");
        assert!(!w.matches("a.b.example.com"), "one label only");
        assert!(!w.matches(".example.com"));
        assert!(
            Pattern::parse("*.com").is_err(),
            "no wildcard over a top-level domain"
        );
        assert!(Pattern::parse("w*.example.com").is_err());
        assert!(Pattern::parse("*.*.example.com").is_err());
        assert!(covers("shop.example.com", "Shop.Example.com"));
        assert!(!covers("*.com", "example.com"));
        assert!(!covers("not a name", "not a name"));
    }
}
