//! A real token (any kind, built from the input) written plainly, with `%2E` dots, or in
//! base64 (both alphabets, at any alignment, twice, or as a Docker `user:token` pair) between
//! arbitrary bytes that end and start with a separator: it is found, with the right
//! fingerprint, and masking leaves neither its secret nor the encoded secret in the output.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokenguard::matcher::Matcher;

const KINDS: &[(&str, usize)] = &[
    ("dt0c01", 24),
    ("dt0s01", 24),
    ("dt0g02", 8),
    ("dt0s02", 8),
    ("dt0s09", 8),
    ("dt0s16", 8),
    ("dt0k77", 24),
];
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const STD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], alphabet: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            s.push(alphabet[((n >> (18 - 6 * k)) & 63) as usize]);
        }
    }
    s
}

/// Encoded characters that depend only on decoded bytes `a..b` (whole groups inside it).
fn inner_groups(encoded: &[u8], a: usize, b: usize) -> &[u8] {
    let start = a.div_ceil(3) * 4;
    let end = (b / 3 * 4).max(start);
    &encoded[start.min(encoded.len())..end.min(encoded.len())]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    let matcher = MATCHER.get_or_init(Matcher::builtin);
    if data.len() < 4 + 88 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let (kind, how, pad, split) = (head[0], head[1], head[2], head[3]);
    let (prefix, public_len) = KINDS[usize::from(kind) % KINDS.len()];
    let part = |b: &[u8]| -> String {
        b.iter().map(|&x| UPPER_ALNUM[usize::from(x) % UPPER_ALNUM.len()] as char).collect()
    };
    let public = part(&rest[..public_len]);
    let secret = part(&rest[24..88]);
    let token = format!("{prefix}.{public}.{secret}");
    // Only real tokens: the shape checks reject placeholder-like parts by design.
    let Some(plain) = matcher.find(token.as_bytes()).pop() else { return };
    let fp = plain.fingerprint.clone();
    let around = &rest[88..];
    let cut = usize::from(split).min(around.len());
    let (mut before, mut after) = (around[..cut].to_vec(), around[cut..].to_vec());

    // The token as written, and the text that must not survive masking.
    let (written, forbidden): (Vec<u8>, Vec<u8>) = match how % 7 {
        0 => (token.clone().into_bytes(), secret.clone().into_bytes()),
        1 => (token.replace('.', "%2E").into_bytes(), secret.clone().into_bytes()),
        2..=6 => {
            // Leading bytes shift the token's alignment; they are not letters or digits, so
            // the token keeps its boundary in the decoded text.
            let lead = &b"''"[..usize::from(pad % 3)];
            let mut payload = lead.to_vec();
            if how % 7 == 5 {
                payload.extend_from_slice(b"user:");
            }
            let at = payload.len() + 8 + public_len;
            payload.extend_from_slice(token.as_bytes());
            let alphabet = if how % 7 == 3 { URL } else { STD };
            let once = encode(&payload, alphabet);
            if how % 7 == 6 {
                // base64 of base64: the inner text holds the secret's encoding.
                let (a, b) = (at.div_ceil(3) * 4, (at + 64) / 3 * 4);
                let twice = encode(&once, STD);
                let inner = inner_groups(&twice, a, b).to_vec();
                (twice, inner)
            } else {
                let inner = inner_groups(&once, at, at + 64).to_vec();
                (once, inner)
            }
        }
        _ => unreachable!(),
    };
    // Surroundings that end and start with a separator (outside both base64 alphabets).
    let sep = |b: u8| !b.is_ascii_alphanumeric() && !b"+/-_=%\\".contains(&b);
    if before.last().is_none_or(|&b| !sep(b)) {
        before.push(b' ');
    }
    if after.first().is_none_or(|&b| !sep(b)) {
        after.insert(0, b' ');
    }
    let mut hay = before.clone();
    hay.extend_from_slice(&written);
    hay.extend_from_slice(&after);

    common::check(matcher, &hay);
    let found = matcher.find(&hay);
    let at = before.len();
    assert!(
        found.iter().any(|m| {
            m.fingerprint == fp && m.span.start >= at && m.span.end <= at + written.len()
        }),
        "token not found where it was written (written as {})",
        how % 7
    );
    let secrets: Vec<_> = found.iter().map(|m| m.secret.clone()).collect();
    let masked = tokenguard::mask::mask(&hay, &secrets);
    assert!(!contains(&masked[at..at + written.len()], &forbidden), "secret survives the mask");
});
