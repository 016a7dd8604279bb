//! The configuration parser and validator: any text gives a config or an error, never a panic,
//! and an error message names a place, not the file's content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenguard::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Config::parse(text, "fuzz.toml") {
        Ok(config) => {
            // A valid configuration builds a matcher that runs.
            let mut rules = tokenguard::rules::builtin();
            rules.extend(config.rules);
            let m = tokenguard::matcher::Matcher::new(rules, &config.disable);
            let _ = m.find(text.as_bytes());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("invalid configuration in fuzz.toml: "), "{msg}");
        }
    }
});
