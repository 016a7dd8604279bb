//! Shape checks that tell a real random token part from a placeholder, a masked value or
//! a made-up example: too few distinct characters, long runs, sequences, short periods,
//! placeholder words, only hexadecimal digits.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// Words that mark a value as a placeholder (compared without regard to ASCII case). Only
/// words of five or more letters: a random part contains one by chance too rarely to matter.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "placeholder",
    "redacted",
    "token",
    "secret",
    "changeme",
    "yourapi",
    "public",
    "private",
    "xxxxx",
    "*****",
];

/// Whether one part of a structured token (public or secret) looks made up rather than random.
/// Runs for every candidate token: the character checks share one pass, the word search runs
/// last.
pub fn is_placeholder_part(part: &[u8]) -> bool {
    let len = part.len();
    if len == 0 {
        return true;
    }
    let mut seen = [0u64; 4];
    let (mut run, mut up, mut down) = (1, 1, 1);
    let (mut longest_run, mut longest_sequence) = (1, 1);
    let mut hex = true;
    let mut prev = part[0];
    for (i, &b) in part.iter().enumerate() {
        seen[usize::from(b >> 6)] |= 1 << (b & 63);
        hex &= b.is_ascii_hexdigit();
        if i > 0 {
            run = if b == prev { run + 1 } else { 1 };
            up = if b == prev.wrapping_add(1) { up + 1 } else { 1 };
            down = if b == prev.wrapping_sub(1) { down + 1 } else { 1 };
            longest_run = longest_run.max(run);
            longest_sequence = longest_sequence.max(up).max(down);
        }
        prev = b;
    }
    let distinct = seen.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    if distinct < len / 4 + 2 {
        return true;
    }
    let max_run = if len >= 64 { 6 } else { 5 };
    if longest_run >= max_run || longest_sequence >= 6 {
        return true;
    }
    // A secret part of only hexadecimal digits is a hash dressed up as a token: a random
    // 64-character part over [A-Z0-9] is hexadecimal with a probability of about 1e-22.
    if len >= 24 && hex {
        return true;
    }
    has_short_period(part) || contains_word(part)
}

/// Whether a 21-character value of the older format is a plausible random token: upper and
/// lower case and a digit, and nothing placeholder-like.
pub fn is_plausible_legacy(value: &[u8]) -> bool {
    let upper = value.iter().any(u8::is_ascii_uppercase);
    let lower = value.iter().any(u8::is_ascii_lowercase);
    let digit = value.iter().any(u8::is_ascii_digit);
    if !(upper && lower && digit) {
        return false;
    }
    if distinct(value) < 10 || longest_run(value) >= 4 || longest_sequence(value) >= 5 {
        return false;
    }
    !contains_legacy_word(value) && !contains_word(value) && !has_short_period(value)
}

fn distinct(part: &[u8]) -> usize {
    let mut seen = [false; 256];
    part.iter().filter(|&&b| !std::mem::replace(&mut seen[b as usize], true)).count()
}

fn longest_run(part: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for &b in part {
        run = if Some(b) == prev { run + 1 } else { 1 };
        prev = Some(b);
        best = best.max(run);
    }
    best
}

/// Longest run of characters that go up or down by one (`ABCDEF`, `654321`).
fn longest_sequence(part: &[u8]) -> usize {
    let mut best = 1;
    let mut up = 1;
    let mut down = 1;
    for w in part.windows(2) {
        up = if w[1] == w[0].wrapping_add(1) { up + 1 } else { 1 };
        down = if w[1] == w[0].wrapping_sub(1) { down + 1 } else { 1 };
        best = best.max(up).max(down);
    }
    best
}

/// Whether the part repeats a pattern no longer than a third of its length.
fn has_short_period(part: &[u8]) -> bool {
    let len = part.len();
    (1..=len / 3).any(|p| part[p] == part[0] && part[p..] == part[..len - p])
}

fn contains_word(part: &[u8]) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| words(PLACEHOLDER_WORDS));
    WORDS.is_match(part)
}

/// Words that mark an older-format value as a placeholder, besides the general ones.
const LEGACY_WORDS: &[&str] = &["your", "here", "token", "example", "sample", "xxx"];

fn contains_legacy_word(value: &[u8]) -> bool {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| words(LEGACY_WORDS));
    WORDS.is_match(value)
}

/// One automaton for a word list, without regard to ASCII case: this runs for every
/// candidate token, so it must be cheap.
/// A DFA without prefilter: the inputs are a few dozen bytes, where setting up a prefilter
/// costs more than it saves.
fn words(list: &[&str]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .prefilter(false)
        .build(list)
        .expect("plain words")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_parts_pass() {
        assert!(!is_placeholder_part(b"UJZDE8GXD6NCF10EPF91DHOD"));
        assert!(!is_placeholder_part(b"344TFJGV"));
        assert!(!is_placeholder_part(
            b"ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT"
        ));
    }

    #[test]
    fn placeholders_fail() {
        for p in [
            &b"AAAAAAAAAAAAAAAAAAAAAAAA"[..],
            b"XXXXXXXX",
            b"ABCDEFGHIJKLMNOPQRSTUVWX",
            b"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
            b"ABC1ABC1ABC1ABC1ABC1ABC1",
            b"MYEXAMPLEPUBLICPART12345",
            b"C540793F53EE4067B72AE0BDD2DE831D8EA06ADD2FDB3B78601888C70715801C",
        ] {
            assert!(is_placeholder_part(p), "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn legacy_values() {
        assert!(is_plausible_legacy(b"ztUjAwyuh1vauWv1zh87m"));
        assert!(!is_plausible_legacy(b"abcdefghijklmnopqrstu"));
        assert!(!is_plausible_legacy(b"YourApiTokenGoesHere1"));
        assert!(!is_plausible_legacy(b"Ab1Ab1Ab1Ab1Ab1Ab1Ab1"));
        assert!(!is_plausible_legacy(b"getDynatraceApiToken1"));
    }
}
