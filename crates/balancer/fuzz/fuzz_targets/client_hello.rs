//! Fuzzes the ClientHello inspector: any bytes, any prefix, must not panic, and an SNI it reports
//! must be a clean lower-case host name (see `../check.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data, check::cut_for(data));
});
