//! Decoding of base64 text that may hold a token, and the boundary rules around a token.

/// Shortest signature looked for: shorter ones would stand in random base64 too often.
pub const MIN_SIGNATURE: usize = 3;

/// The 64 characters of standard base64.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 of `bytes`, zero-padded to whole groups, all four characters of every group.
fn encode_groups(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.extend((0..4).map(|k| ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
    }
    out
}

/// The base64 signatures of `bytes`: for each alignment (where `bytes` starts in its 3-byte
/// group: 0, 1 or 2), the encoded characters that depend on `bytes` alone, and how far they
/// stand from the start of their 4-character group (`dt0` gives `ZHQw` at 0, `R0M` at 2,
/// `kdD` at 3). A signature with `+` or `/` comes in the URL-safe alphabet too; signatures
/// shorter than [`MIN_SIGNATURE`] are left out.
pub fn base64_signatures(bytes: &[u8]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for align in 0..3usize {
        // Character j covers bits 6j..6j+6 of the group; `bytes` holds bits 8a..8(a+len).
        let first = (8 * align).div_ceil(6);
        let end = 8 * (align + bytes.len()) / 6;
        if end < first + MIN_SIGNATURE {
            continue;
        }
        let mut text = vec![0u8; align];
        text.extend_from_slice(bytes);
        // (In place, and the URL-safe form only where it differs: this runs for every keyword
        // in every build of the matcher, once per run.)
        let mut enc = encode_groups(&text);
        enc.truncate(end);
        enc.drain(..first);
        let sig = String::from_utf8(enc).expect("base64 is ASCII");
        if sig.contains(['+', '/']) {
            let url = sig.replace('+', "-").replace('/', "_");
            out.push((url, first));
        }
        out.push((sig, first));
    }
    out
}

/// The signatures of `bytes` in base64 inside base64: the base64 signatures of each of its
/// base64 signatures (three inner alignments times three outer ones).
pub fn nested_base64_signatures(bytes: &[u8]) -> Vec<(String, usize)> {
    base64_signatures(bytes).iter().flat_map(|(s, _)| base64_signatures(s.as_bytes())).collect()
}

/// `text` in UTF-16 little-endian.
pub fn utf16le(text: &[u8]) -> Vec<u8> {
    text.iter().flat_map(|&b| [b, 0]).collect()
}

/// What `text` looks like in UTF-16 of either byte order: its characters with a zero byte
/// between each two (`d\0t\00` for `dt0`), which both byte orders hold.
pub fn utf16_signature(text: &[u8]) -> Vec<u8> {
    let mut s = utf16le(text);
    s.pop();
    s
}

/// The encoded forms of a one-character separator: URL-encoded (`%2E`), URL-encoded twice
/// (`%252E`), HTML character references (`&#46;`, `&#046;`, `&#x2E;`, a named one where HTML
/// has it: `&period;`), quoted-printable (`=2E`) and backslash escapes (`\u002E`, `\x2E`,
/// `\.`). Compared without regard to ASCII case.
pub fn encoded_separators(sep: &[u8]) -> Vec<Vec<u8>> {
    let [c] = sep else { return Vec::new() };
    let named = match c {
        b'.' => Some("period"),
        b'_' => Some("lowbar"),
        b':' => Some("colon"),
        b'/' => Some("sol"),
        b'+' => Some("plus"),
        b'=' => Some("equals"),
        b'-' => Some("hyphen"),
        _ => None,
    };
    let mut out = vec![
        format!("%{c:02X}"),
        format!("%25{c:02X}"),
        format!("&#{c};"),
        format!("&#{c:03};"),
        format!("&#x{c:X};"),
    ];
    out.extend(named.filter(|_| *c != b'-').map(|n| format!("&{n};")));
    out.push(format!("={c:02X}"));
    // Escaped in a JSON or JavaScript string (`\u002e`), in C-like strings (`\x2e`), and with
    // a backslash (`\.` in a regex or a shell word).
    out.push(format!("\\u{c:04X}"));
    out.push(format!("\\x{c:02X}"));
    out.push(format!("\\{}", *c as char));
    out.dedup();
    out.into_iter().map(String::into_bytes).collect()
}

/// Most encoded characters decoded from one signature: enough for a token nested in a
/// Docker config or a small file, bounded so a large blob costs little.
pub const MAX_ENCODED: usize = 16 * 1024;

/// Whether `b` is a character of base64 text (standard or URL-safe alphabet, no padding).
pub fn is_base64_char(b: u8) -> bool {
    value(b).is_some()
}

/// The value of `b` as a base64 character (standard or URL-safe: `+` and `-` are 62, `/`
/// and `_` are 63).
#[inline]
pub fn base64_value(b: u8) -> Option<u8> {
    value(b)
}

/// The value of each byte as a base64 character (standard or URL-safe), or `NONE`.
static VALUES: [u8; 256] = {
    let mut t = [NONE; 256];
    let mut b = 0;
    while b < 256 {
        if let Some(v) = value_of(b as u8) {
            t[b] = v;
        }
        b += 1;
    }
    t
};
const NONE: u8 = 0xFF;

/// The 6-bit value of a base64 character (standard or URL-safe).
#[inline]
pub(super) fn value(b: u8) -> Option<u8> {
    let v = VALUES[usize::from(b)];
    (v != NONE).then_some(v)
}

const fn value_of(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The 3 bytes of one whole group of base64 (4 characters, standard or URL-safe), if it is
/// one.
pub(super) fn decode_group(g: &[u8]) -> Option<[u8; 3]> {
    let [a, b, c, d] = g else { return None };
    let (a, b, c, d) = (value(*a)?, value(*b)?, value(*c)?, value(*d)?);
    let w = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
    Some([(w >> 16) as u8, (w >> 8) as u8, w as u8])
}

/// Decodes base64 (standard or URL-safe) from `text`, stopping at the first character outside
/// the alphabet or after `MAX_ENCODED` characters. Returns the bytes and how many characters
/// of `text` they came from.
pub fn decode_base64_prefix(text: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len().min(MAX_ENCODED) * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut used = 0;
    for &b in text.iter().take(MAX_ENCODED) {
        let Some(v) = value(b) else { break };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
        used += 1;
    }
    (out, used)
}

/// Most bytes of indentation skipped after a line end inside wrapped base64.
const MAX_INDENT: usize = 256;
/// Most characters walked back from a signature's group to find where its line of base64
/// starts (only to compare the widths of the lines of a wrapped block).
const MAX_LOOKBACK: usize = 1024;

/// Base64 decoded across line ends: the bytes, and where the line ends (gaps) stood.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Wrapped {
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// How many base64 characters they came from.
    pub chars: usize,
    /// How many bytes of the text were read: the characters and the gaps between them.
    pub consumed: usize,
    /// Each gap: the number of characters before it, and its length in bytes.
    pub gaps: Vec<(usize, usize)>,
    /// Whether a decoding that starts later in the same text might read further: this one
    /// stopped at its length limit, or at a line end only because the line is shorter than
    /// the one before it (a decoding that starts on that line has no line before it).
    pub open: bool,
}

impl Wrapped {
    /// The text offset (from the start of decoding) of character `k`, for a range start:
    /// a character just after a gap stands after it.
    pub fn start_of(&self, k: usize) -> usize {
        k + self.gaps.iter().take_while(|g| g.0 <= k).map(|g| g.1).sum::<usize>()
    }

    /// The text offset just past character `k - 1`, for a range end: a gap just after the
    /// last character is left out.
    pub fn end_of(&self, k: usize) -> usize {
        k + self.gaps.iter().take_while(|g| g.0 < k).map(|g| g.1).sum::<usize>()
    }

    /// The text range (from the start of decoding) of the characters that hold the decoded
    /// bytes `decoded`.
    pub fn text_range(&self, decoded: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let chars = encoded_range(decoded, self.chars);
        self.start_of(chars.start)..self.end_of(chars.end)
    }
}

/// A line end inside wrapped base64 at the start of `text`: LF or CRLF, or the escapes `\n`
/// and `\r\n` of a JSON or YAML string, then blanks (indentation). Returns its length when a
/// line of base64 follows it: base64 characters up to a line end, padding, a closing quote or
/// the end (not `kind: Secret`, `-----END …-----` or prose, whose decoding would put bytes
/// after a token's end).
fn line_break(text: &[u8]) -> Option<usize> {
    let brk = if text.starts_with(b"\n") {
        1
    } else if text.starts_with(b"\r\n") || text.starts_with(b"\\n") {
        2
    } else if text.starts_with(b"\\r\\n") {
        4
    } else {
        return None;
    };
    let indent = text[brk..].iter().take(MAX_INDENT + 1).take_while(|&&b| b == b' ' || b == b'\t');
    let len = brk + indent.count();
    if len > brk + MAX_INDENT || text.get(len).is_none_or(|&b| value(b).is_none()) {
        return None;
    }
    let run = text[len..].iter().take(MAX_ENCODED).take_while(|&&b| value(b).is_some()).count();
    match text.get(len + run) {
        None | Some(b'\n' | b'\r' | b'\\' | b'=' | b'"' | b'\'' | b'`' | b'<') => Some(len),
        Some(_) => None,
    }
}

/// Decodes base64 from `text[start..]` like [`decode_base64_prefix`], but goes on across a
/// line end ([`line_break`]) when the line before it ended on a whole 4-character group and
/// is no shorter than the line before it (every line of a block that `base64`, PEM or MIME
/// wrapped has the same width; the last, shorter one ends the block). `text[..start]` is
/// only looked at to find where the first line of base64 starts. With `wrap` false, stops
/// at the first line end like [`decode_base64_prefix`].
pub fn decode_base64_wrapped(text: &[u8], start: usize, wrap: bool) -> Wrapped {
    let mut lead = 0;
    // (Only when going on across line ends: a decoding near text decoded in full stays short.)
    while wrap && lead < MAX_LOOKBACK.min(start) && value(text[start - lead - 1]).is_some() {
        // A line that starts after an escaped line end (`\n`) starts after its `n`.
        if text[start - lead - 1] == b'n' && start >= lead + 2 && text[start - lead - 2] == b'\\' {
            break;
        }
        lead += 1;
    }
    let text = &text[start..];
    let mut out =
        Wrapped { bytes: Vec::with_capacity(text.len().min(1024) * 3 / 4), ..Wrapped::default() };
    let (mut acc, mut bits) = (0u32, 0);
    let mut i = 0;
    // Characters of the line being read, and the width of the line before it.
    let mut line = lead;
    let mut width = 0;
    while out.chars < MAX_ENCODED {
        // Whole groups of four at once while they last (most of the work).
        if bits == 0 {
            let room = (MAX_ENCODED - out.chars).min(text.len() - i) / 4;
            let mut n = 0;
            for g in text[i..i + 4 * room].chunks_exact(4) {
                let v = [g[0], g[1], g[2], g[3]].map(|c| u32::from(VALUES[usize::from(c)]));
                if v.iter().any(|&x| x == u32::from(NONE)) {
                    break;
                }
                let w = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
                out.bytes.extend_from_slice(&[(w >> 16) as u8, (w >> 8) as u8, w as u8]);
                n += 4;
            }
            out.chars += n;
            line += n;
            i += n;
            if out.chars >= MAX_ENCODED {
                break;
            }
        }
        let Some(&b) = text.get(i) else { break };
        let Some(v) = value(b) else {
            let whole = wrap && out.chars % 4 == 0 && line >= width && line > 0;
            match line_break(&text[i..]).filter(|_| whole) {
                Some(len) => {
                    out.gaps.push((out.chars, len));
                    i += len;
                    width = line;
                    line = 0;
                    continue;
                }
                None => break,
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
        out.chars += 1;
        line += 1;
        i += 1;
    }
    out.consumed = i;
    out.open = out.chars >= MAX_ENCODED
        || (wrap
            && out.chars % 4 == 0
            && text.get(i).is_some()
            && line_break(&text[i..]).is_some());
    out
}

/// Maps a range of decoded bytes back to the encoded characters that hold them (relative to
/// the group start), clamped to the `used` encoded characters.
pub fn encoded_range(decoded: std::ops::Range<usize>, used: usize) -> std::ops::Range<usize> {
    let start = decoded.start / 3 * 4;
    let end = decoded.end.div_ceil(3) * 4;
    start.min(used)..end.min(used)
}

/// A letter or digit: tokens may not stand inside a longer run of these.
pub fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether a token may start at `i`: at the start, after a character that is not a letter or
/// digit, or after an escape that ends in one (`%20`, `%2520`, `\n`, `\t`, `\x20`, `\u0020`,
/// `%5Cn` and `%255Cn` (a JSON escape in a URL), and quoted-printable `=3D`, `=20`: an `=XX`
/// whose byte is not a letter or digit).
pub fn boundary_before(hay: &[u8], i: usize) -> bool {
    if i == 0 || !is_alnum(hay[i - 1]) {
        return true;
    }
    let hex = |k: usize| hay[k].is_ascii_hexdigit();
    let qp_separator = || {
        let byte =
            std::str::from_utf8(&hay[i - 2..i]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
        byte.is_some_and(|b| !is_alnum(b))
    };
    (i >= 3 && hay[i - 3] == b'%' && hex(i - 2) && hex(i - 1))
        || (i >= 3 && hay[i - 3] == b'=' && hex(i - 2) && hex(i - 1) && qp_separator())
        || (i >= 5 && hay[i - 5..i - 2].eq_ignore_ascii_case(b"%25") && hex(i - 2) && hex(i - 1))
        || (i >= 2 && hay[i - 2] == b'\\' && matches!(hay[i - 1], b'n' | b't' | b'r'))
        // The same escapes URL-encoded, once or twice (`%5Cn`, `%255Cn`: JSON in a URL).
        || (i >= 4
            && matches!(hay[i - 1], b'n' | b't' | b'r')
            && (hay[i - 4..i - 1].eq_ignore_ascii_case(b"%5C")
                || (i >= 6 && hay[i - 6..i - 1].eq_ignore_ascii_case(b"%255C"))))
        || (i >= 4 && hay[i - 4] == b'\\' && hay[i - 3] == b'x' && hex(i - 2) && hex(i - 1))
        || (i >= 6 && hay[i - 6] == b'\\' && hay[i - 5] == b'u' && (i - 4..i).all(hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_alphabets() {
        assert_eq!(decode_base64_prefix(b"ZHQwYzAx").0, b"dt0c01");
        assert_eq!(decode_base64_prefix(b"Pz8_").0, b"???");
        assert_eq!(decode_base64_prefix(b"Pz8/").0, b"???");
        let (bytes, used) = decode_base64_prefix(b"ZHQw\"rest");
        assert_eq!((bytes.as_slice(), used), (&b"dt0"[..], 4));
    }

    #[test]
    fn signatures_of_dt0_are_the_known_ones() {
        let sigs = base64_signatures(b"dt0");
        assert_eq!(sigs, [("ZHQw".into(), 0), ("R0M".into(), 2), ("kdD".into(), 3)]);
        let utf16 = base64_signatures(&utf16le(b"dt0"));
        assert_eq!(utf16, [("ZAB0ADAA".into(), 0), ("QAdAAwA".into(), 2), ("kAHQAMA".into(), 3)]);
        assert_eq!(nested_base64_signatures(b"dt0")[0], ("WkhRd".into(), 0));
        assert_eq!(utf16_signature(b"dt0"), b"d\x00t\x000");
    }

    #[test]
    fn signatures_hold_at_every_alignment_whatever_stands_around() {
        let mut seed = 7u32;
        let mut byte = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        for kw in [&b"dt0"[..], b"token", b"ghp_", b"xoxb-", b"\xff\xfe>?"] {
            let sigs = base64_signatures(kw);
            for align in 0..3 {
                for _ in 0..20 {
                    let before = align + 3 * usize::from(byte() % 3);
                    let mut text: Vec<u8> = (0..before).map(|_| byte()).collect();
                    text.extend_from_slice(kw);
                    text.extend((0..usize::from(byte() % 5)).map(|_| byte()));
                    let enc = encode(&text);
                    let group = before / 3 * 4;
                    let standard = sigs.iter().filter(|(s, _)| !s.contains(['-', '_']));
                    let holds = standard
                        .filter(|(s, back)| {
                            enc.get(group + back..).is_some_and(|e| e.starts_with(s.as_str()))
                        })
                        .count();
                    assert_eq!(holds, 1, "{kw:?} at alignment {align}");
                }
            }
        }
        // Nested: an inner signature, encoded again, shows one of the nested ones.
        let inner = encode(b"user:dt0c01.X");
        let outer = encode(inner.as_bytes());
        assert!(nested_base64_signatures(b"dt0").iter().any(|(s, _)| outer.contains(s.as_str())));
    }

    #[test]
    fn separators_have_their_encoded_forms() {
        let forms: Vec<String> =
            encoded_separators(b".").into_iter().map(|f| String::from_utf8(f).unwrap()).collect();
        assert_eq!(
            forms,
            [
                "%2E", "%252E", "&#46;", "&#046;", "&#x2E;", "&period;", "=2E", "\\u002E", "\\x2E",
                "\\."
            ]
        );
        assert!(encoded_separators(b"").is_empty());
        assert!(encoded_separators(b"::").is_empty());
    }

    #[test]
    fn escapes_count_as_boundaries() {
        assert!(boundary_before(b"Api-Token%20dt0", 12));
        assert!(boundary_before(b"x\\ndt0", 3));
        assert!(boundary_before(b"\\u0020dt0", 6));
        assert!(!boundary_before(b"xdt0", 1));
        assert!(!boundary_before(b"120dt0", 3));
        assert!(boundary_before(b"Api-Token%2520dt0", 14));
        assert!(!boundary_before(b"x2520dt0", 5));
        assert!(boundary_before(b"KEY=3Ddt0", 6));
        assert!(boundary_before(b"KEY=3ddt0", 6));
        assert!(boundary_before(b"x=20dt0", 4));
        assert!(!boundary_before(b"x=41dt0", 4), "=41 is a letter");
        assert!(!boundary_before(b"x93Ddt0", 4));
        assert!(boundary_before(b"token%5Cndt0", 9), "a JSON escape in a URL");
        assert!(boundary_before(b"token%255cndt0", 11));
        assert!(!boundary_before(b"token%5Cxdt0", 9));
        assert!(!boundary_before(b"token5Cndt0", 7));
    }

    fn encode(bytes: &[u8]) -> String {
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..=c.len() {
                s.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            }
        }
        s
    }
}
