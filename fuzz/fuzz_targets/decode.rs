//! The decoding paths: base64 prefix decoding (both alphabets), the decoded-to-encoded range
//! mapping, and the boundary rule with its escapes (`%20`, `\n`, `\x20`, `\u0020`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenguard::matcher::{boundary_before, decode_base64_prefix};

/// `matcher::encoding::MAX_ENCODED`: the most characters decoded at once.
const MAX_ENCODED: usize = 16 * 1024;
const STD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode(bytes: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            s.push(STD[((n >> (18 - 6 * k)) & 63) as usize]);
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let (decoded, used) = decode_base64_prefix(data);
    assert!(used <= data.len() && used <= MAX_ENCODED);
    assert_eq!(decoded.len(), used * 6 / 8, "six bits per character, whole bytes only");
    // It stops at the first character outside the alphabet (or at the bound).
    if used < data.len() && used < MAX_ENCODED {
        let b = data[used];
        assert!(!(b.is_ascii_alphanumeric() || b"+/-_".contains(&b)), "stopped early");
    }
    // Decoding is the inverse of encoding (for whole groups of three bytes).
    let whole = decoded.len() / 3 * 3;
    assert_eq!(encode(&decoded[..whole]), normalise(&data[..whole / 3 * 4]));
    let (again, n) = decode_base64_prefix(&encode(&data[..data.len().min(3000)]));
    assert_eq!(&again[..], &data[..data.len().min(3000)]);
    assert_eq!(n, data.len().min(3000).div_ceil(3) * 4 - [0, 2, 1][data.len().min(3000) % 3]);
    // The boundary rule looks only behind `i` and never past the input.
    for i in 0..data.len().min(64) {
        let _ = boundary_before(data, i);
    }
    if !data.is_empty() {
        let _ = boundary_before(data, data.len() - 1);
    }
});

/// The URL-safe alphabet's two characters written as the standard ones.
fn normalise(text: &[u8]) -> Vec<u8> {
    text.iter()
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect()
}
