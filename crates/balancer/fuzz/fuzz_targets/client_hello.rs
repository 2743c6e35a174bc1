//! Fuzzes the ClientHello inspector: any bytes, any prefix, must not panic, and an SNI it reports
//! must be a clean lower-case host name.
#![no_main]

use cutover_balancer::{inspect, HelloOutcome, Inspect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Inspect::Done(HelloOutcome::Sni(name)) = inspect(data) {
        assert!(!name.is_empty());
        assert!(name.bytes().all(|b| b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'-' | b'.' | b'_')));
    }
    // Feeding the same bytes in pieces must never contradict the whole: a prefix either asks
    // for more or already has the final answer.
    if data.len() > 1 {
        let cut = usize::from(data[0]) % data.len();
        if let Inspect::Done(early) = inspect(&data[..cut]) {
            if let Inspect::Done(whole) = inspect(data) {
                assert_eq!(early, whole);
            }
        }
    }
});
