//! The pre-push and pre-receive standard-input parsers: any text gives lines or an error that
//! names a line number (never the line's content), and parsed lines written back parse the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenguard::source::push::{parse_pre_push, parse_pre_receive};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_pre_push(text) {
        Ok(lines) => {
            let back: String = lines
                .iter()
                .map(|l| format!("{} {} {} {}\n", l.local_ref, l.local, l.remote_ref, l.remote))
                .collect();
            assert_eq!(parse_pre_push(&back).expect("written back"), lines);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("malformed pre-push input on line "), "{msg}");
            assert!(msg.len() < 200, "{msg}");
        }
    }
    match parse_pre_receive(text) {
        Ok(lines) => {
            let back: String =
                lines.iter().map(|l| format!("{} {} {}\n", l.old, l.new, l.refname)).collect();
            assert_eq!(parse_pre_receive(&back).expect("written back"), lines);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("malformed pre-receive input on line "), "{msg}");
            assert!(msg.len() < 200, "{msg}");
        }
    }
});
