//! Shape checks that tell a real random token part from a placeholder, a masked value or
//! a made-up example: too few distinct characters, long runs, sequences, short periods,
//! placeholder words, only hexadecimal digits, and the short words test code writes into
//! made-up tokens (`FAKE`, `TEST`, ...) where they stand as a person puts them.

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
    "invalid",
    "notreal",
    "fixture",
    "testing",
    "mocked",
];

/// Words that unit tests write into made-up tokens (`dt0c01.FAKE….FAKE…`), compared without
/// regard to ASCII case. The first [`ANYWHERE`] (`FAKE`, `TEST`, `MOCK`, `DEMO`) mark a token
/// as made up wherever they stand in a part: a person writes them into the middle of a value
/// too, and a random Dynatrace token holds one of them only about once in 5,000 (the recall
/// that refusing those costs). `STUB` and the like, whose chance in random text is no lower
/// and whose use in fixtures is rarer, count where they stand ([`fixture_score`]).
const FIXTURE_WORDS: &[&str] = &["fake", "test", "mock", "demo", "stub"];

/// How many of [`FIXTURE_WORDS`] (the first) refuse a token wherever they stand.
const ANYWHERE: usize = 4;

/// Score from which fixture words mark a token as made up: one at the start of a part, or
/// two anywhere in the token (a random token: about once in 170,000; docs/rules.md).
const FIXTURE_SCORE: u32 = 2;

/// Whether one part of a structured token (public or secret) looks made up rather than random.
/// Runs for every candidate token: the character checks share one pass, the word search runs
/// last.
pub fn is_placeholder_part(part: &[u8]) -> bool {
    placeholder(part, true)
}

/// [`is_placeholder_part`] for a part that the provider writes in hexadecimal digits (which
/// alone then say nothing).
pub fn is_placeholder_hex(part: &[u8]) -> bool {
    placeholder(part, false)
}

fn placeholder(part: &[u8], refuse_hex: bool) -> bool {
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
            // Sequences in either case (`aBcDeF`: an alphabet typed as a placeholder); a
            // random part holds one of 6 about once in 450,000.
            let (f, p) = (b.to_ascii_lowercase(), prev.to_ascii_lowercase());
            up = if f == p.wrapping_add(1) { up + 1 } else { 1 };
            down = if f == p.wrapping_sub(1) { down + 1 } else { 1 };
            longest_run = longest_run.max(run);
            longest_sequence = longest_sequence.max(up).max(down);
        }
        prev = b;
    }
    let distinct = seen.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    // A long part (a key's body) needs no more than 24 distinct characters; hexadecimal
    // digits are only 16, so a hexadecimal part needs 11.
    let need = (len / 4 + 2).min(if refuse_hex { 24 } else { 11 });
    if distinct < need {
        return true;
    }
    let max_run = if len >= 64 { 6 } else { 5 };
    if longest_run >= max_run || longest_sequence >= 6 {
        return true;
    }
    // A secret part of only hexadecimal digits is a hash dressed up as a token: a random
    // 64-character part over [A-Z0-9] is hexadecimal with a probability of about 1e-22.
    if refuse_hex && len >= 24 && hex {
        return true;
    }
    has_short_period(part) || has_placeholder_words(part)
}

/// Whether `part` holds a placeholder word (`example`, `dummy`, ...) anywhere, or fixture
/// words where a person writes them ([`fixture_score`]).
pub(super) fn has_placeholder_words(part: &[u8]) -> bool {
    contains_word(part) || fixture_score(part) >= FIXTURE_SCORE
}

/// How strongly the fixture words in `part` say it was made up: each of the first
/// [`ANYWHERE`] counts [`FIXTURE_SCORE`] wherever it stands; another counts 1, and 1 more at
/// the start of the part (where a person writing a test value puts it; a random part starts
/// with one of them about once in 340,000).
///
/// In a part that mixes upper and lower case (GitHub's, Slack's alphabets), a word written in
/// one case (`TEST`, `fake`) counts 2 anywhere: random characters give one about once in
/// 45,000 such tokens, a person's edit nearly always.
pub fn fixture_score(part: &[u8]) -> u32 {
    static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| words(FIXTURE_WORDS));
    let mixed = part.iter().any(u8::is_ascii_uppercase) && part.iter().any(u8::is_ascii_lowercase);
    WORDS
        .find_iter(part)
        .map(|m| {
            let word = &part[m.range()];
            let one_case =
                word.iter().all(u8::is_ascii_uppercase) || word.iter().all(u8::is_ascii_lowercase);
            if m.pattern().as_usize() < ANYWHERE || m.start() == 0 || (mixed && one_case) {
                FIXTURE_SCORE
            } else {
                1
            }
        })
        .sum()
}

/// Whether the fixture words across a token's parts (those with a random shape) mark it
/// as made up: a word in each of two parts (`FAKE` in the public and the secret part) or
/// repeated, even where no part alone has enough.
pub fn is_placeholder_token<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> bool {
    parts.into_iter().map(fixture_score).sum::<u32>() >= FIXTURE_SCORE
}

/// [`is_placeholder_token`] over the parts of a structured token whose shape is random.
pub(super) fn made_up_across(shapes: &[crate::rules::Part], parts: &[&[u8]]) -> bool {
    let random = shapes.iter().zip(parts).filter(|(p, _)| p.shape == crate::rules::Shape::Random);
    is_placeholder_token(random.map(|(_, v)| *v))
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
    !contains_legacy_word(value)
        && !contains_word(value)
        && !has_short_period(value)
        && fixture_score(value) < FIXTURE_SCORE
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
            // an alphabet typed in alternating case
            b"T8Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ12345",
        ] {
            assert!(is_placeholder_part(p), "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn fixture_words_count_where_a_person_puts_them() {
        // FAKE, TEST, MOCK, DEMO anywhere; another word at the start of a part: made up.
        for p in [
            &b"FAKE8GXD6NCF10EPF91DHOD3"[..],
            b"TEST5A7Q",
            b"UJZDE8GXD6NTEST0EPF91DHO",
            b"ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH6FAKE50CE9UVW53EFR4EDT",
            b"344DEMOV",
            b"Z3ZFK2IB7MOCKG1MNBQNS6PUQ80IDW3706I8J76B2LAJLJ4H9DU7794G9DPXKCQ",
            b"STUB8GXD6NCF10EPF91DHOD3",
            b"dummy",
        ] {
            assert!(is_placeholder_part(p), "{}", String::from_utf8_lossy(p));
        }
        // Another fixture word once inside a part: as likely in a random token as one in
        // 20,000, so still a token.
        for p in [&b"UJZDE8GXD6NSTUB0EPF91DHO"[..], b"Q4K7BN7XJ8B7TFSTUB"] {
            assert!(!is_placeholder_part(p), "{}", String::from_utf8_lossy(p));
        }
        // Once in each part: made up.
        let (public, secret) = (&b"UJZDE8GXD6NSTUB0EPF91DHO"[..], &b"Q4K7BN7XJ8STUB"[..]);
        assert!(is_placeholder_token([public, secret]));
        assert!(!is_placeholder_token([public, &b"Q4K7BN7XJ8B7TF"[..]]));
        assert_eq!(fixture_score(b"STUBSTUB"), 3);
        assert_eq!(fixture_score(b"XFAKE"), FIXTURE_SCORE);
    }

    #[test]
    fn the_chance_of_a_fixture_word_in_a_random_token_is_as_documented() {
        // 200,000 random `dt0c01` parts (seeded): about 1 in 4,100 holds a fixture word
        // somewhere; those holding FAKE, TEST, MOCK or DEMO (about 1 in 5,100) are refused,
        // one holding STUB alone is not.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(seed % 36) as usize]
        };
        let (mut holding, mut refused) = (0, 0);
        for _ in 0..200_000 {
            let public: Vec<u8> = (0..24).map(|_| next()).collect();
            let secret: Vec<u8> = (0..64).map(|_| next()).collect();
            let score = fixture_score(&public) + fixture_score(&secret);
            holding += usize::from(score > 0);
            refused += usize::from(is_placeholder_token([&public[..], &secret[..]]));
        }
        assert!((20..=100).contains(&holding), "{holding} of 200,000 hold a fixture word");
        assert!((15..=80).contains(&refused), "{refused} of 200,000 random tokens refused");
        assert!(refused < holding, "{refused} refused of {holding} holding one");
    }

    #[test]
    fn legacy_values() {
        assert!(is_plausible_legacy(b"ztUjAwyuh1vauWv1zh87m"));
        assert!(!is_plausible_legacy(b"abcdefghijklmnopqrstu"));
        assert!(!is_plausible_legacy(b"YourApiTokenGoesHere1"));
        assert!(!is_plausible_legacy(b"Ab1Ab1Ab1Ab1Ab1Ab1Ab1"));
        assert!(!is_plausible_legacy(b"getDynatraceApiToken1"));
        assert!(!is_plausible_legacy(b"FakeAwyuh1vauWv1zh87m"));
        assert!(!is_plausible_legacy(b"ztUjAwyuh1MockWv1mock"));
        // FAKE, TEST, MOCK, DEMO in any case and place; STUB not at the start, once: random.
        assert!(!is_plausible_legacy(b"ztUjAwyuh1vaTestzh87m"));
        assert!(is_plausible_legacy(b"ztUjAwyuh1vaStubzh87m"));
    }
}
