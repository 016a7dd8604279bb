//! Offline checks of the checksums and structures that providers build into their tokens.
//! A value that fails its check is not a token of that kind (hand-typed placeholders, edited
//! examples), so rules using these need no keyword or entropy test.
//!
//! Pure functions over bytes. Each `*_check` function computes the check part from the rest
//! of a token, so that tests can build valid synthetic tokens from random characters.
//! Sources and samples: docs/research/providers-verified.md.

use sha2::{Digest, Sha256};

/// Digits of GitHub's base62 (`0-9`, then upper case, then lower case).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Digits of Ruby's `Integer#to_s(36)` (lower case).
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// RFC 4648 base32 alphabet.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Length of a classic GitHub or npm token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `npm_`).
pub const GITHUB_CLASSIC_LEN: usize = 40;
/// Length of a GitHub fine-grained personal access token (`github_pat_`).
pub const GITHUB_PAT_LEN: usize = 93;
/// Length of a Grafana service-account token (`glsa_`).
pub const GRAFANA_SA_LEN: usize = 46;
/// Characters of GitLab's CRC field (`CRC_BYTES` in GitLab's generator).
pub const GITLAB_CRC_LEN: usize = 7;

/// zlib's CRC-32 (IEEE), as Ruby `Zlib.crc32`, Go `crc32.ChecksumIEEE` and Python
/// `binascii.crc32` compute it.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

fn is_alnum(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_alphanumeric)
}

/// `n` in base `digits.len()`, left-padded with the zero digit to `N` characters (the
/// leading digits are dropped if `n` needs more, which no 32-bit value does for the widths
/// used here).
fn encode_radix<const N: usize>(mut n: u64, digits: &[u8]) -> [u8; N] {
    let base = digits.len() as u64;
    let mut out = [digits[0]; N];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % base) as usize];
        n /= base;
    }
    out
}

fn hex<const UPPER: bool>(bytes: [u8; 4]) -> [u8; 8] {
    let digits = if UPPER { HEX_UPPER } else { HEX_LOWER };
    let mut out = [0; 8];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = digits[usize::from(b >> 4)];
        out[2 * i + 1] = digits[usize::from(b & 15)];
    }
    out
}

// ---------------------------------------------------------------------------------------
// GitHub classic tokens and npm: CRC-32 of the 30 random characters, in base62.

/// The 6-character check of a GitHub classic or npm token: CRC-32 of the 30 characters
/// between the prefix and the check, as a base62 number left-padded with `0`.
/// (github.blog 2021-04-05 "Behind GitHub's new authentication token formats"; npm: github.blog
/// 2021-09-23 "Announcing npm's new access token format".)
pub fn github_check(body: &[u8]) -> [u8; 6] {
    encode_radix(u64::from(crc32(body)), BASE62)
}

/// Whether `check` is the base62 CRC-32 check of `body` (both alphanumeric).
pub fn github_crc32_base62(body: &[u8], check: &[u8]) -> bool {
    is_alnum(body) && check.len() == 6 && github_check(body) == check
}

/// Whether `token` is a 40-character GitHub classic token (`gh?_`) or npm token (`npm_`)
/// whose check holds. The prefix is not covered by the check.
pub fn github_classic(token: &[u8]) -> bool {
    token.len() == GITHUB_CLASSIC_LEN
        && token[3] == b'_'
        && is_alnum(&token[..3])
        && github_crc32_base62(&token[4..34], &token[34..])
}

// ---------------------------------------------------------------------------------------
// GitHub fine-grained tokens: truncated base32 SHA-256.

/// The 8-character check of a `github_pat_` token: the first 8 characters of the RFC 4648
/// base32 of SHA-256 over the 77 characters before it (prefix included). The token's last 8
/// characters are not covered. (mongodb/kingfisher PR #342; checked on public samples.)
pub fn github_pat_check(head: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(head);
    // 8 base32 digits are the first 40 bits.
    let bits = digest[..5].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    encode_radix(bits, BASE32)
}

/// Whether `token` is a 93-character `github_pat_` token (22 and 59 alphanumerics around an
/// underscore) whose check holds.
pub fn github_fine_grained(token: &[u8]) -> bool {
    const PREFIX: &[u8] = b"github_pat_";
    token.len() == GITHUB_PAT_LEN
        && token.starts_with(PREFIX)
        && is_alnum(&token[11..33])
        && token[33] == b'_'
        && is_alnum(&token[34..])
        && github_pat_check(&token[..77]) == token[77..85]
}

// ---------------------------------------------------------------------------------------
// GitLab routable tokens.

/// The 7-character CRC of a GitLab routable token: `Zlib.crc32(text).to_s(36)` left-padded
/// with `0`, where `text` is everything before it, prefix included
/// (gitlab-org/gitlab `lib/authn/token_field/generator/routable_token.rb`).
pub fn gitlab_crc(text: &[u8]) -> [u8; GITLAB_CRC_LEN] {
    encode_radix(u64::from(crc32(text)), BASE36)
}

/// The 2-character payload-length field of a GitLab routable token (base36).
pub fn gitlab_length_field(payload_len: usize) -> Option<[u8; 2]> {
    (payload_len < 36 * 36).then(|| encode_radix(payload_len as u64, BASE36))
}

/// Whether `token` (from its real start: a self-managed instance prefix such as `SIE-` is
/// covered by the CRC too) is a GitLab routable token:
/// `<prefix><base64url payload>.01.<2-char base36 payload length><7-char base36 CRC-32>`,
/// with the CRC over everything before it, the length field equal to the payload's length,
/// and the payload decoding to 16 random bytes, the routing text, and one byte holding the
/// routing text's length. The prefix must not be empty.
pub fn gitlab_routable(token: &[u8]) -> bool {
    // ".01." + 2 + 7 at the end.
    const TAIL: usize = 4 + 2 + GITLAB_CRC_LEN;
    let Some(dot) = token.len().checked_sub(TAIL) else { return false };
    if &token[dot..dot + 4] != b".01." {
        return false;
    }
    let (text, crc) = token.split_at(token.len() - GITLAB_CRC_LEN);
    if gitlab_crc(text) != crc {
        return false;
    }
    let Some(len) = parse_base36(&token[dot + 4..dot + 6]) else { return false };
    let Some(start) = dot.checked_sub(len) else { return false };
    if start == 0 || gitlab_length_field(len).as_ref() != Some(&[token[dot + 4], token[dot + 5]]) {
        return false;
    }
    match base64_decode(&token[start..dot], true) {
        Some(payload) if payload.len() > 16 => {
            usize::from(payload[payload.len() - 1]) == payload.len() - 17
        }
        _ => false,
    }
}

fn parse_base36(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |acc, &d| {
        let v = BASE36.iter().position(|&c| c == d)?;
        Some(acc * 36 + v)
    })
}

/// Where a GitLab routable token ends at `end` in `text` starts: the token is first taken
/// from `at` (where its `gl…-` prefix was found); if its CRC fails there, from up to 32
/// characters further left (`A-Za-z0-9_-`), as an instance prefix (`SIE-glpat-…`) extends
/// it. Returns the start at which [`gitlab_routable`] holds.
pub fn gitlab_routable_start(text: &[u8], at: usize, end: usize) -> Option<usize> {
    if at >= end || end > text.len() {
        return None;
    }
    if gitlab_routable(&text[at..end]) {
        return Some(at);
    }
    let mut start = at;
    while start > 0 && at - start < 32 {
        let c = text[start - 1];
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
            break;
        }
        start -= 1;
        if gitlab_routable(&text[start..end]) {
            return Some(start);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Grafana service-account tokens.

/// The 8-character check of a Grafana service-account token: CRC-32 of `gl<service id>_<32
/// chars>` as 4 little-endian bytes in lower-case hex (grafana/grafana
/// `pkg/components/satokengen/tokengen.go`).
pub fn grafana_check(key: &[u8]) -> [u8; 8] {
    hex::<false>(crc32(key).to_le_bytes())
}

/// Whether `token` is a 46-character Grafana service-account token
/// `glsa_<32 alphanumerics>_<8 lower-case hex>` whose check holds.
pub fn grafana_service_account(token: &[u8]) -> bool {
    token.len() == GRAFANA_SA_LEN
        && token.starts_with(b"glsa_")
        && is_alnum(&token[5..37])
        && token[37] == b'_'
        && grafana_check(&token[..37]) == token[38..]
}

// ---------------------------------------------------------------------------------------
// Atlassian API tokens and Bitbucket app passwords.

/// The 8-character check of an Atlassian token: CRC-32 of every character before it (the
/// `=` of `ATATT3…` included), big-endian, upper-case hex (Samsung/CredSweeper
/// `value_atlassian_token_check.py`; Atlassian documents nothing).
pub fn atlassian_check(head: &[u8]) -> [u8; 8] {
    hex::<true>(crc32(head).to_be_bytes())
}

/// Whether `token` is an Atlassian API token (`ATATT3…=` + 8 hex, `ATCTT3…`, 192 characters)
/// or a Bitbucket app password (`ATBB` + 24 alphanumerics + 8 hex) whose check holds.
pub fn atlassian(token: &[u8]) -> bool {
    let Some(split) = token.len().checked_sub(8) else { return false };
    let (head, check) = token.split_at(split);
    let shape = if token.starts_with(b"ATBB") {
        token.len() == 36 && is_alnum(head)
    } else if token.starts_with(b"ATATT3") || token.starts_with(b"ATCTT3") {
        token.len() == 192
            && head.ends_with(b"=")
            && head[..head.len() - 1]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    } else {
        false
    };
    shape && atlassian_check(head) == check
}

// ---------------------------------------------------------------------------------------
// PyPI: a macaroon (v2 binary, base64url) whose location is pypi.org.

/// The package index a PyPI token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PypiIndex {
    /// pypi.org
    Pypi,
    /// test.pypi.org
    TestPypi,
}

/// The index a `pypi-…` token belongs to, if its body (after `pypi-`) decodes (base64url) to
/// a macaroon in the v2 binary format (pymacaroons, as warehouse serializes it): version 2,
/// location `pypi.org` or `test.pypi.org`, an identifier, caveats, and a 32-byte signature
/// that ends the data. The signature itself is not checkable offline.
pub fn pypi_macaroon(token: &[u8]) -> Option<PypiIndex> {
    let raw = base64_decode(token.strip_prefix(b"pypi-")?, true)?;
    let mut r = Fields { data: &raw, pos: 1 };
    if raw.first() != Some(&2) {
        return None;
    }
    // Header: location, identifier, end.
    let index = match r.field()? {
        (1, b"pypi.org") => PypiIndex::Pypi,
        (1, b"test.pypi.org") => PypiIndex::TestPypi,
        _ => return None,
    };
    match r.field()? {
        (2, id) if !id.is_empty() => {}
        _ => return None,
    }
    if r.field()?.0 != 0 {
        return None;
    }
    // Caveats: each [location] identifier [verification id] end; an empty one ends the list.
    loop {
        let (kind, _) = r.field()?;
        match kind {
            0 => break,
            1 | 2 => loop {
                match r.field()?.0 {
                    0 => break,
                    2 | 4 => {}
                    _ => return None,
                }
            },
            _ => return None,
        }
    }
    match r.field()? {
        (6, sig) if sig.len() == 32 && r.pos == raw.len() => Some(index),
        _ => None,
    }
}

/// Reads the fields of a v2 macaroon: a type byte, then (unless it is 0, the end of a
/// section) a varint length and that many bytes.
struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn field(&mut self) -> Option<(u8, &'a [u8])> {
        let kind = *self.data.get(self.pos)?;
        self.pos += 1;
        if kind == 0 {
            return Some((0, &[]));
        }
        let mut len = 0usize;
        for shift in (0..35).step_by(7) {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                let end = self.pos.checked_add(len).filter(|&e| e <= self.data.len())?;
                let value = &self.data[self.pos..end];
                self.pos = end;
                return Some((kind, value));
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// Grafana Cloud access-policy tokens: base64 JSON.

/// Whether the body of a `glc_` token (after the prefix) is base64 of a JSON object with
/// the string fields `o` (organisation), `n` (name) and `k` (the secret key), as Grafana
/// Cloud issues them (observed; Grafana documents only the prefix).
pub fn grafana_cloud(token: &[u8]) -> bool {
    let Some(body) = token.strip_prefix(b"glc_") else { return false };
    base64_json_object(body).is_some_and(|map| ["o", "n", "k"].iter().all(|k| text_in(&map, k)))
}

/// Whether `token` is a Grafana API key of the older kind: base64 (padded or not) of a JSON
/// object whose `k` (the key) and `n` (its name) are non-empty strings and whose `id` is a
/// number (`{"k":"…","n":"…","id":1}`, CredSweeper's ValueGrafanaCheck).
pub fn grafana_api_key(token: &[u8]) -> bool {
    base64_json_object(token).is_some_and(|map| {
        text_in(&map, "k") && text_in(&map, "n") && map.get("id").is_some_and(|v| v.is_u64())
    })
}

/// The JSON object that `text` (standard base64, padded or not) encodes, if it is one.
fn base64_json_object(text: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice(&base64_decode(text, false)?) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Whether `map` holds a non-empty string at `key`.
fn text_in(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> bool {
    map.get(key).and_then(|v| v.as_str()).is_some_and(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------

/// Decodes base64 (the URL-safe alphabet if `url_safe`, else the standard one), with or
/// without `=` padding; `None` for any other character or an impossible length.
fn base64_decode(text: &[u8], url_safe: bool) -> Option<Vec<u8>> {
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' if url_safe => 62,
            b'_' if url_safe => 63,
            b'+' if !url_safe => 62,
            b'/' if !url_safe => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), seeded per test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn chars(&mut self, alphabet: &[u8], n: usize) -> Vec<u8> {
            (0..n).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize]).collect()
        }
    }

    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Every change of one character (to another of `alphabet`) at a position in `covered`
    /// makes `check` fail.
    #[track_caller]
    fn each_edit_fails(
        token: &[u8],
        covered: std::ops::Range<usize>,
        alphabet: &[u8],
        check: fn(&[u8]) -> bool,
    ) {
        assert!(check(token));
        for i in covered {
            let mut t = token.to_vec();
            t[i] = if alphabet[0] == token[i] { alphabet[1] } else { alphabet[0] };
            assert!(!check(&t), "an edit at {i} still passes");
        }
    }

    #[test]
    fn crc32_is_zlibs() {
        // The standard check value of CRC-32/ISO-HDLC (zlib).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    // Known answers computed with Python's binascii/hashlib/base64, an independent
    // implementation of each algorithm.
    #[test]
    fn known_answers_from_an_independent_implementation() {
        assert_eq!(&github_check(b"abcdefghijklmnopqrstuvwxyz0123"), b"2LolCm");
        let head = b"github_pat_11ABCDEFGHIJKLMNOPQRST_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        assert_eq!(head.len(), 77);
        assert_eq!(&github_pat_check(head), b"THJNN2MX");
        assert_eq!(&grafana_check(b"glsa_0123456789abcdefghijABCDEFGHIJ01"), b"ceb45508");
        assert_eq!(&atlassian_check(b"ATBBabcdefghijklmnopqrstuvwx"), b"09B5908D");
        assert_eq!(&gitlab_crc(b"glpat-abc.01.0a"), b"0eqy0ki");
    }

    #[test]
    fn github_published_samples() {
        // Samsung/CredSweeper tests (ValueGitHubCheck); the example of
        // gist.github.com/coolaj86/eb8cddfd3e4251258712dfed03e1f86d.
        for t in [
            "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", // tokenguard:allow
            "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", // tokenguard:allow
        ] {
            assert!(github_classic(t.as_bytes()), "{t}");
        }
        assert!(!github_classic(format!("ghp_{}", "x".repeat(36)).as_bytes()));
        // Upper and lower case swapped in the check: GitHub's digits are 0-9, A-Z, a-z.
        assert!(!github_classic(b"ghp_Jwtbv3P1xSOcnNzB8vrMWhdbT0q7QP3YgQ0r"));
    }

    #[test]
    fn npm_published_samples() {
        // GitHub's npm announcement example (secretlint issue #200) and CredSweeper's sample
        // pass; CredSweeper's `…EXAMPLE` value does not.
        assert!(github_classic(b"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")); // tokenguard:allow
        assert!(github_classic(b"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")); // tokenguard:allow
        assert!(!github_classic(b"npm_NFX6dCpmIWvQ7megnY0AtQwkoKzWcEXAMPLE"));
    }

    #[test]
    fn github_generated_and_edited() {
        let mut rng = Rng(0x5EED_0001);
        for prefix in [&b"ghp_"[..], b"gho_", b"ghu_", b"ghs_", b"ghr_", b"npm_"] {
            for _ in 0..50 {
                let body = rng.chars(ALNUM, 30);
                let t = cat(&[prefix, &body, &github_check(&body)]);
                assert!(github_classic(&t));
                each_edit_fails(&t, 4..40, ALNUM, github_classic);
                assert!(!github_classic(&t[..39]));
            }
        }
        // A non-alphanumeric body never passes, even with its CRC.
        let body = b"abcdefghijklmnopqrstuvwxyz012-";
        assert!(!github_crc32_base62(body, &github_check(body)));
    }

    #[test]
    fn github_pat_generated_and_edited() {
        let mut rng = Rng(0x5EED_0002);
        for _ in 0..50 {
            let head = cat(&[b"github_pat_11", &rng.chars(ALNUM, 20), b"_", &rng.chars(ALNUM, 43)]);
            let t = cat(&[&head, &github_pat_check(&head), &rng.chars(ALNUM, 8)]);
            assert!(github_fine_grained(&t));
            each_edit_fails(&t, 11..85, ALNUM, github_fine_grained);
            // The last 8 characters are not covered by the check.
            let mut tail = t.clone();
            tail[90] = if tail[90] == b'A' { b'B' } else { b'A' };
            assert!(github_fine_grained(&tail));
            assert!(!github_fine_grained(&t[..92]));
        }
    }

    #[test]
    fn gitlab_published_sample() {
        // gitlab-org/gitlab spec/lib/authn/token_field/decoders/v1/routable_payload_spec.rb
        let t = b"glrtr-W5m1cHR6skC98Bx7XkuYjmM6MQpnOjgKbzpyegp0OjIQ.01.181uebm4k"; // tokenguard:allow
        assert!(gitlab_routable(t));
        each_edit_fails(t, 0..t.len(), B64URL, gitlab_routable);
    }

    /// A routable token as GitLab's generator makes it (`encode_payload`, `append_crc`).
    fn gitlab_token(prefix: &[u8], random: &[u8], routing: &[u8]) -> Vec<u8> {
        let mut payload = cat(&[random, routing]);
        payload.push(routing.len() as u8);
        let b64 = encode_base64url(&payload);
        let len = gitlab_length_field(b64.len()).unwrap();
        let text = cat(&[prefix, &b64, b".01.", &len]);
        cat(&[&text, &gitlab_crc(&text)])
    }

    fn encode_base64url(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(3) {
            let mut b = [0u8; 3];
            b[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
            for i in 0..=chunk.len() {
                out.push(B64URL[(n >> (18 - 6 * i) & 63) as usize]);
            }
        }
        out
    }

    #[test]
    fn gitlab_generated_and_edited() {
        let mut rng = Rng(0x5EED_0003);
        for prefix in [&b"glpat-"[..], b"gldt-", b"glrt-t1_", b"SIE-glpat-"] {
            for _ in 0..30 {
                let random: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
                let t = gitlab_token(prefix, &random, b"c:1\no:2s\nu:9zq");
                assert!(gitlab_routable(&t), "{}", String::from_utf8_lossy(&t));
                each_edit_fails(&t, 0..t.len(), B64URL, gitlab_routable);
            }
        }
        // A payload whose length byte is wrong, with a correct CRC and length field.
        let mut payload = cat(&[&[7u8; 16][..], b"o:1"]);
        payload.push(9);
        let b64 = encode_base64url(&payload);
        let text = cat(&[b"glpat-", &b64, b".01.", &gitlab_length_field(b64.len()).unwrap()]);
        assert!(!gitlab_routable(&cat(&[&text, &gitlab_crc(&text)])));
        // No prefix at all.
        let t = gitlab_token(b"", &[1; 16], b"o:1");
        assert!(!gitlab_routable(&t));
    }

    #[test]
    fn gitlab_start_covers_an_instance_prefix() {
        let t = gitlab_token(b"SIE-glpat-", &[3; 16], b"o:1");
        let text = cat(&[b"TOKEN=", &t, b"\n"]);
        let at = 6 + 4; // where `glpat-` stands
        let end = text.len() - 1;
        assert_eq!(gitlab_routable_start(&text, at, end), Some(6));
        let plain = gitlab_token(b"glpat-", &[3; 16], b"o:1");
        let text = cat(&[b"x: ", &plain]);
        assert_eq!(gitlab_routable_start(&text, 3, text.len()), Some(3));
        // Found inside the prefix: the start goes back to the token's real start.
        assert_eq!(gitlab_routable_start(&text, 4, text.len()), Some(3));
        // Cut short at the end: no start makes the CRC hold.
        assert_eq!(gitlab_routable_start(&text, 3, text.len() - 1), None);
    }

    #[test]
    fn grafana_published_samples() {
        // grafana/grafana pkg/components/satokengen/tokengen_test.go; CredSweeper.
        for t in [
            "glsa_iNValIdinValiDinvalidinvalidinva_5b582697", // tokenguard:allow
            "glsa_ThisI5NtTheTok3nYou8reLo0k1ngF0r_0a2a3df7", // tokenguard:allow
        ] {
            each_edit_fails(t.as_bytes(), 0..t.len(), b"0123456789abcdef", grafana_service_account);
        }
        // Upper-case hex is not what Grafana writes.
        assert!(!grafana_service_account(b"glsa_iNValIdinValiDinvalidinvalidinva_5B582697"));
    }

    #[test]
    fn grafana_generated() {
        let mut rng = Rng(0x5EED_0004);
        for _ in 0..50 {
            let key = cat(&[b"glsa_", &rng.chars(ALNUM, 32)]);
            let t = cat(&[&key, b"_", &grafana_check(&key)]);
            each_edit_fails(&t, 0..t.len(), ALNUM, grafana_service_account);
        }
    }

    #[test]
    fn atlassian_published_samples() {
        // Samsung/CredSweeper tests (ValueAtlassianTokenCheck).
        let atbb = b"ATBBcCe6fczW96Vzwgvb4r8F2gZS54D591C4"; // tokenguard:allow
        each_edit_fails(atbb, 0..atbb.len(), ALNUM, atlassian);
        assert!(!atlassian(b"ATBBcXe6fczW96Vzwgvb4r8F2gZS54D591C4"));
        let api = concat!(
            "ATATT3xFfGF0vNZ7oy6ON4KrWEzKEu96n-r2bCLOOcdOADizvJqPd89yKyP853uTZSflBi1Lk1zD460", // tokenguard:allow
            "BqyMTa08VUEy8-oOzr1esg3j_mZKZwAELnRkCDTJZXhHsv5jaWHyAj4LRL-6h8LI-5MrYs4l7xXSaY8", // tokenguard:allow
            "odQxDKJB4hDvdkmuh61xea2jE=00203E68", // tokenguard:allow
        );
        let ctt = concat!(
            "ATCTT3xFfGN0zXtbKHz2POF86xa-2aBiYC4o_T3-myk01bmFVluUIFtGm_VFQwLizp4o1FKw-AMZhtdA0", // tokenguard:allow
            "NzizshnA8WzRdfgv6GeTyowCD101oqKbJ4nx9DFsar5YyUNkwO9maR9-00tQvfciyfOHtPKG6K1d76Ki3i", // tokenguard:allow
            "Fo7roGeyJu4j1jM3GwQ4=EDDE81AD", // tokenguard:allow
        );
        for t in [api, ctt] {
            assert_eq!(t.len(), 192);
            each_edit_fails(t.as_bytes(), 0..t.len(), ALNUM, atlassian);
        }
    }

    #[test]
    fn atlassian_generated() {
        let mut rng = Rng(0x5EED_0005);
        for _ in 0..30 {
            let head = cat(&[b"ATATT3xFfGF0", &rng.chars(B64URL, 171), b"="]);
            let t = cat(&[&head, &atlassian_check(&head)]);
            each_edit_fails(&t, 0..t.len(), ALNUM, atlassian);
            let head = cat(&[b"ATBB", &rng.chars(ALNUM, 24)]);
            let t = cat(&[&head, &atlassian_check(&head)]);
            each_edit_fails(&t, 0..t.len(), ALNUM, atlassian);
        }
        // Lower-case hex is not the format.
        let head = b"ATBBabcdefghijklmnopqrstuvwx";
        let lower = atlassian_check(head).to_ascii_lowercase();
        assert!(!atlassian(&cat(&[head, &lower])));
    }

    #[test]
    fn pypi_published_sample() {
        // Samsung/CredSweeper tests: a pypi.org macaroon (its identifier edited by CredSweeper).
        let t = concat!(
            "pypi-AgEIcHlwaS5vcmcCJDg5MTllXWJjLTRhODAtNDBhYi01Y2Y4LThjNjcxZTg3MsRjOAACKlszLCJlPDYz", // tokenguard:allow
            "YmUxOC0wNjQ3LTQ4AzQtODFhYy1jZGRlNTk2MGYxNDYiXQAABiDDbVAEnaUMn4zZHlFr5NWy7JEYfvoay--cVm", // tokenguard:allow
            "KO5lr3Xp",                                                                           // tokenguard:allow
        );
        assert_eq!(pypi_macaroon(t.as_bytes()), Some(PypiIndex::Pypi));
        // Cut short, or one more character: the fields no longer end with the signature.
        assert_eq!(pypi_macaroon(&t.as_bytes()[..t.len() - 1]), None);
        assert_eq!(pypi_macaroon(format!("{t}A").as_bytes()), None);
    }

    /// A macaroon v2 as pymacaroons serializes it, prefixed as warehouse does.
    fn pypi_token(location: &[u8], identifier: &[u8], caveats: &[&[u8]], sig: &[u8]) -> Vec<u8> {
        let field = |kind: u8, data: &[u8]| cat(&[&[kind, data.len() as u8], data]);
        let mut raw = vec![2u8];
        raw.extend(field(1, location));
        raw.extend(field(2, identifier));
        raw.push(0);
        for c in caveats {
            raw.extend(field(2, c));
            raw.push(0);
        }
        raw.push(0);
        raw.extend(field(6, sig));
        cat(&[b"pypi-", &encode_base64url(&raw)])
    }

    #[test]
    fn pypi_generated() {
        let mut rng = Rng(0x5EED_0006);
        let uuid = b"3f1c7a52-9d0e-4b6a-8c2f-71d5e0a9b4c3";
        for _ in 0..30 {
            let sig: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
            let caveat = br#"[1,["3f1c7a52-9d0e-4b6a-8c2f-71d5e0a9b4c3"]]"#;
            let t = pypi_token(b"pypi.org", uuid, &[caveat], &sig);
            assert!(t.starts_with(b"pypi-AgEIcHlwaS5vcmc"));
            assert_eq!(pypi_macaroon(&t), Some(PypiIndex::Pypi));
            let t = pypi_token(b"test.pypi.org", uuid, &[], &sig);
            assert_eq!(pypi_macaroon(&t), Some(PypiIndex::TestPypi));
            // Another location, a short signature, random bodies: not PyPI tokens.
            assert_eq!(pypi_macaroon(&pypi_token(b"pypi.org.evil", uuid, &[], &sig)), None);
            assert_eq!(pypi_macaroon(&pypi_token(b"pypi.org", uuid, &[], &sig[..31])), None);
            let random = cat(&[b"pypi-AgEIcHlwaS5vcmc", &rng.chars(B64URL, 150)]);
            assert_eq!(pypi_macaroon(&random), None);
        }
    }

    #[test]
    fn grafana_api_key_structure() {
        // base64 of {"k":"Xq7uZ2LwRb0c9VtPyHn4sJ3mKf8aGd1e","n":"deploy","id":1}
        let key =
            "eyJrIjoiWHE3dVoyTHdSYjBjOVZ0UHlIbjRzSjNtS2Y4YUdkMWUiLCJuIjoiZGVwbG95IiwiaWQiOjF9"; // tokenguard:allow
        assert!(grafana_api_key(key.as_bytes()));
        // {"k":"…","n":"deploy"}: no id; and bytes that are not base64 JSON.
        assert!(!grafana_api_key(
            b"eyJrIjoiWHE3dVoyTHdSYjBjOVZ0UHlIbjRzSjNtS2Y4YUdkMWUiLCJuIjoiZGVwbG95In0="
        ));
        assert!(!grafana_api_key(b"eyJrIjoiThisIsNotTheJSONOfAKey"));
    }

    #[test]
    fn grafana_cloud_structure() {
        // base64 of {"o":"123456","n":"stack-1-write","k":"AbCdEfGhIjKlMnOpQrStUvWx","m":{"r":"prod-eu-west-2"}}
        let t = "glc_eyJvIjoiMTIzNDU2IiwibiI6InN0YWNrLTEtd3JpdGUiLCJrIjoiQWJDZEVmR2hJaktsTW5PcFFyU3RVdld4IiwibSI6eyJyIjoicHJvZC1ldS13ZXN0LTIifX0="; // tokenguard:allow
        assert!(grafana_cloud(t.as_bytes()));
        assert!(grafana_cloud(t.trim_end_matches('=').as_bytes()));
        // {"o":"1234"}: no name, no key.
        assert!(!grafana_cloud(b"glc_eyJvIjoiMTIzNCJ9"));
        assert!(!grafana_cloud(b"glc_ThisIsNotBase64JSON"));
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode(b"T3BlbkFJ", false).unwrap(), b"OpenAI");
        assert_eq!(base64_decode(b"AgEIcHlwaS5vcmc", true).unwrap(), b"\x02\x01\x08pypi.org");
        assert_eq!(base64_decode(b"AgEIcHlwaS5vcmc=", true).unwrap(), b"\x02\x01\x08pypi.org");
        assert_eq!(base64_decode(b"A", true), None);
        assert_eq!(base64_decode(b"ab+/", true), None);
        assert_eq!(base64_decode(b"ab-_", false), None);
        let data: Vec<u8> = (0..=255).collect();
        for n in 0..40 {
            assert_eq!(base64_decode(&encode_base64url(&data[..n]), true).unwrap(), &data[..n]);
        }
    }
}
