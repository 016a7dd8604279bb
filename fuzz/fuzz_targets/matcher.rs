//! The matcher over arbitrary bytes: no panic, and every promise of `common::check`.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokenguard::matcher::Matcher;

fuzz_target!(|data: &[u8]| {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    common::check(MATCHER.get_or_init(Matcher::builtin), data);
});
