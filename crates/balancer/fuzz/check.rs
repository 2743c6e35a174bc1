//! The properties the fuzz target checks, shared with the stable replay test
//! (`../tests/fuzz_corpus.rs`), so every committed corpus and regression input is checked by
//! `cargo test` too.

use cutover_balancer::{inspect, HelloOutcome, Inspect};

/// Any bytes: `inspect` must not panic, an SNI it reports must be a clean lower-case host name,
/// and the prefix `data[..cut]` must never contradict the whole input (it either asks for more or
/// already has the final answer).
pub fn check(data: &[u8], cut: usize) {
    let whole = inspect(data);
    if let Inspect::Done(HelloOutcome::Sni(name)) = &whole {
        assert!(!name.is_empty());
        assert!(name.len() <= 253, "{name}");
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'-' | b'.' | b'_')),
            "{name:?}"
        );
        assert!(!name.starts_with('.') && !name.ends_with('.') && !name.contains(".."));
    }
    if let Inspect::NeedMore { at_least } = whole {
        assert!(at_least > 0);
    }
    if cut < data.len() {
        if let (Inspect::Done(early), Inspect::Done(_)) = (inspect(&data[..cut]), &whole) {
            assert_eq!(Inspect::Done(early), whole, "prefix of {cut} bytes");
        }
    }
}

/// The cut the fuzz target tries for an input (derived from its first byte).
pub fn cut_for(data: &[u8]) -> usize {
    match data.first() {
        Some(&b) if data.len() > 1 => usize::from(b) % data.len(),
        _ => 0,
    }
}
