//! Views of text for regex rules: the same lines with the base64 values of `key: value`
//! lines decoded (a Kubernetes Secret's `data:`, where each value is encoded on its own), or
//! with percent escapes decoded (a URL inside a URL is encoded twice). A view knows where
//! each of its bytes came from, so that a match in it is moved back onto the text as
//! written (whole base64 groups, whole escapes) and masking covers the encoded secret.

use std::ops::Range;

use crate::matcher::encoding::{decode_base64_prefix, is_base64_char};
use crate::matcher::{Encoding, Found};

/// Shortest base64 value decoded in a view (two groups: shorter values hold no token).
const MIN_VALUE: usize = 8;

/// Text decoded from another, byte by byte traceable to it.
pub(in crate::matcher) struct View {
    /// The decoded text.
    pub text: Vec<u8>,
    /// For each byte of `text`, the bytes of the source that hold it.
    from: Vec<(usize, usize)>,
    /// For each byte of `text`, whether it was decoded from base64.
    base64: Vec<bool>,
}

impl View {
    fn with_capacity(n: usize) -> View {
        View { text: Vec::with_capacity(n), from: Vec::with_capacity(n), base64: Vec::new() }
    }

    fn push(&mut self, b: u8, from: Range<usize>, base64: bool) {
        self.text.push(b);
        self.from.push((from.start, from.end));
        self.base64.push(base64);
    }

    fn push_plain(&mut self, hay: &[u8], range: Range<usize>) {
        for (p, &b) in hay[range.clone()].iter().enumerate() {
            self.push(b, range.start + p..range.start + p + 1, false);
        }
    }

    /// The lines of `hay[range]` with the base64 value of each `key: value` line decoded
    /// ([`value_of_line`]); `None` when no line has one.
    pub fn values(hay: &[u8], range: Range<usize>) -> Option<View> {
        let mut view = View::with_capacity(range.len());
        let mut any = false;
        let mut start = range.start;
        while start < range.end {
            let end =
                memchr::memchr(b'\n', &hay[start..range.end]).map_or(range.end, |p| start + p);
            let value = value_of_line(&hay[start..end]).map(|v| v.start + start..v.end + start);
            let decoded = value.as_ref().and_then(|v| printable_base64(&hay[v.clone()]));
            let mut i = start;
            if let (Some(v), Some(bytes)) = (value, decoded) {
                any = true;
                view.push_plain(hay, start..v.start);
                for (k, &b) in bytes.iter().enumerate() {
                    let group = v.start + k / 3 * 4;
                    view.push(b, group..(group + 4).min(v.end), true);
                }
                i = v.end;
            }
            // The rest of the line and its line end, as written.
            let stop = (end + 1).min(range.end);
            view.push_plain(hay, i..stop);
            start = stop;
        }
        any.then_some(view)
    }

    /// `hay[range]` with percent escapes decoded: `%HH`, and `%25HH` (encoded twice) as one
    /// character; `None` when it holds no escape.
    pub fn percent(hay: &[u8], range: Range<usize>) -> Option<View> {
        let mut view = View::with_capacity(range.len());
        let mut any = false;
        let mut i = range.start;
        let hex = |s: &[u8]| -> Option<u8> {
            let h = |b: u8| (b as char).to_digit(16);
            match s {
                [a, b] => Some((h(*a)? * 16 + h(*b)?) as u8),
                _ => None,
            }
        };
        while i < range.end {
            let at = |n: usize| hay.get(i + n..i + n + 2).filter(|_| i + n + 2 <= range.end);
            if hay[i] == b'%' {
                let twice = at(1)
                    .filter(|s| s.eq_ignore_ascii_case(b"25"))
                    .and_then(|_| at(3))
                    .and_then(hex);
                if let Some(b) = twice {
                    view.push(b, i..i + 5, false);
                    i += 5;
                    any = true;
                    continue;
                }
                if let Some(b) = at(1).and_then(hex) {
                    view.push(b, i..i + 3, false);
                    i += 3;
                    any = true;
                    continue;
                }
            }
            view.push(hay[i], i..i + 1, false);
            i += 1;
        }
        any.then_some(view)
    }

    /// A key (`head`: its line up to the key's end) joined by `sep` to its value standing
    /// elsewhere (`tail`): a Kubernetes `- name: KEY` with `value: …` on the next line reads
    /// as `name: KEY value: …` (`sep` a blank), a YAML block scalar's value as `KEY = value`
    /// (`sep` ` = `): forms the rules read on one line. `sep` stands at the key's end.
    pub fn joined(hay: &[u8], head: Range<usize>, sep: &[u8], tail: Range<usize>) -> View {
        let mut view = View::with_capacity(head.len() + sep.len() + tail.len());
        view.push_plain(hay, head.clone());
        for &b in sep {
            view.push(b, head.end..head.end, false);
        }
        view.push_plain(hay, tail);
        view
    }

    /// `hay[range]` with one level of escapes decoded: backslash escapes that stand for the
    /// character itself (`\/`, `\"`, `\'`, `` \` ``, `\\`: JSON with escaped slashes, JSON
    /// inside JSON) and HTML or XML character references ([`entity`]); other escapes (`\n`,
    /// `\u0041`) stay as written. `None` without any.
    pub fn unescaped(hay: &[u8], range: Range<usize>) -> Option<View> {
        let mut plain = View::with_capacity(range.len());
        plain.push_plain(hay, range);
        plain.unescape_with(false)
    }

    /// [`View::unescaped`] with escaped line ends and tabs (`\n`, `\r`, `\t`) decoded too: a
    /// file's text written on one line inside a string (JSON, a log line), read as the file.
    pub fn unescaped_lines(hay: &[u8], range: Range<usize>) -> Option<View> {
        let mut plain = View::with_capacity(range.len());
        plain.push_plain(hay, range);
        plain.unescape_with(true)
    }

    /// This view with one more level of escapes decoded ([`View::unescaped`]),
    /// each byte still traced to the source; `None` when it holds none.
    pub fn unescape(&self) -> Option<View> {
        self.unescape_with(false)
    }

    /// [`View::unescape`]; with `lines`, as [`View::unescaped_lines`].
    fn unescape_with(&self, lines: bool) -> Option<View> {
        let t = &self.text;
        let mut view = View::with_capacity(t.len());
        let mut any = false;
        let mut i = 0;
        while i < t.len() {
            let line_escape = || match &t[i..] {
                [b'\\', b'n', ..] => Some((b'\n', 2)),
                [b'\\', b'r', ..] => Some((b'\r', 2)),
                [b'\\', b't', ..] => Some((b'\t', 2)),
                _ => None,
            };
            let escape = escape_at(&t[i..]).or_else(|| lines.then(line_escape).flatten());
            if let Some((b, n)) = escape {
                let base64 = n == 2 && self.base64[i + 1];
                view.push(b, self.from[i].0..self.from[i + n - 1].1, base64);
                i += n;
                any = true;
                continue;
            }
            view.push(t[i], self.from[i].0..self.from[i].1, self.base64[i]);
            i += 1;
        }
        any.then_some(view)
    }

    /// A UTF-16 text (its byte order mark first, either order, or ASCII beside NULs: see
    /// [`utf16_without_mark`]) as UTF-8, each byte traced to the code units that hold it (an
    /// ASCII character to its unit's byte that is not NUL); `None` for other text or when
    /// longer than `max` bytes (the view takes 17 bytes per character).
    pub fn utf16(hay: &[u8], max: usize) -> Option<View> {
        if hay.len() > max {
            return None;
        }
        let (little, mark) = match hay {
            [0xFF, 0xFE, ..] => (true, 2),
            [0xFE, 0xFF, ..] => (false, 2),
            _ => (utf16_without_mark(hay)?, 0),
        };
        let units = hay[mark..].chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if little {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        let mut view = View::with_capacity(hay.len() / 2);
        let mut at = mark;
        for unit in char::decode_utf16(units) {
            // (An unpaired surrogate is one unit, read as U+FFFD.)
            let (c, n) = unit.map_or((char::REPLACEMENT_CHARACTER, 2), |c| (c, c.len_utf16() * 2));
            // An ASCII character stands on its unit's byte that is not NUL (as matches found
            // by the keywords' UTF-16 forms do); another on its whole unit or units.
            let from = match (c.is_ascii(), little) {
                (true, true) => at..at + 1,
                (true, false) => at + 1..at + 2,
                (false, _) => at..at + n,
            };
            let mut utf8 = [0; 4];
            for &b in c.encode_utf8(&mut utf8).as_bytes() {
                view.push(b, from.clone(), false);
            }
            at += n;
        }
        Some(view)
    }

    /// Where the byte of the source at `at` stands in the view, if a byte of the view starts
    /// there.
    pub fn position_of(&self, at: usize) -> Option<usize> {
        let i = self.from.partition_point(|f| f.0 < at);
        self.from.get(i).filter(|f| f.0 == at).map(|_| i)
    }

    /// The bytes of the source that hold `range` of the view.
    fn source(&self, range: Range<usize>) -> Range<usize> {
        if range.is_empty() {
            let at = self
                .from
                .get(range.start)
                .map_or_else(|| self.from.last().map_or(0, |f| f.1), |f| f.0);
            return at..at;
        }
        self.from[range.start].0..self.from[range.end - 1].1
    }

    /// A match found in the view (at offset 0), moved onto the source.
    pub fn moved<H: Found>(&self, h: H) -> H {
        let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
        let encoded = self.base64[secret.clone()].iter().any(|&b| b);
        let mut h = h.moved(self.source(span), self.source(secret));
        if encoded {
            h.get_mut().encoding = Encoding::Base64;
        }
        h
    }
}

/// Whether `hay`, without a byte order mark, reads as UTF-16 text: its first 256 bytes (8 at
/// least) are ASCII characters that print, or tabs and line ends, each beside a NUL on the
/// same side (little-endian: `Some(true)`).
fn utf16_without_mark(hay: &[u8]) -> Option<bool> {
    let sample = &hay[..hay.len().min(256) & !1];
    if sample.len() < 8 {
        return None;
    }
    let text = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r');
    let pairs = || sample.chunks_exact(2).map(|c| (c[0], c[1]));
    if pairs().all(|(a, b)| text(a) && b == 0) {
        Some(true)
    } else if pairs().all(|(a, b)| a == 0 && text(b)) {
        Some(false)
    } else {
        None
    }
}

/// The character that an escape at the start of `s` stands for, and its length, if it is one
/// that [`View::unescape`] decodes: a backslash before the character itself (`\/`, `\"`,
/// `\'`, `` \` ``, `\\`) or a character reference ([`entity`]).
pub(in crate::matcher) fn escape_at(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        [b'\\', c, ..] if b"/\"'`\\".contains(c) => Some((*c, 2)),
        [b'&', ..] => entity(s),
        _ => None,
    }
}

/// The ASCII character that an HTML or XML character reference at the start of `s` stands
/// for (`&quot;`, `&apos;`, `&amp;`, `&lt;`, `&gt;`, `&#39;`, `&#x27;`), and its length.
pub(in crate::matcher) fn entity(s: &[u8]) -> Option<(u8, usize)> {
    let end = s.iter().take(10).position(|&b| b == b';')?;
    let name = &s[1..end];
    let b = match name {
        b"quot" => b'"',
        b"apos" => b'\'',
        b"amp" => b'&',
        b"lt" => b'<',
        b"gt" => b'>',
        [b'#', b'x' | b'X', hex @ ..] if !hex.is_empty() => {
            u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?
        }
        [b'#', dec @ ..] if !dec.is_empty() => std::str::from_utf8(dec).ok()?.parse::<u8>().ok()?,
        _ => return None,
    };
    (b.is_ascii() && b != 0).then_some((b, end + 1))
}

/// The value of a `key: value` line whose value is padded base64 alone (a Kubernetes
/// Secret's `data:`, `KEY=<base64>` in an env file, `"key": "<base64>",` in JSON): its range
/// in the line, if the line is one.
pub(in crate::matcher) fn value_of_line(line: &[u8]) -> Option<Range<usize>> {
    let mut i = line.iter().take_while(|b| b" \t".contains(b)).count();
    let quote = |i: &mut usize| {
        if line.get(*i).is_some_and(|b| b"\"'".contains(b)) {
            *i += 1;
        }
    };
    quote(&mut i);
    let key =
        line[i..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)).count();
    if key == 0 {
        return None;
    }
    i += key;
    quote(&mut i);
    i += line[i..].iter().take_while(|b| b" \t".contains(b)).count();
    if !line.get(i).is_some_and(|b| b":=".contains(b)) {
        return None;
    }
    i += 1;
    i += line[i..].iter().take_while(|b| b" \t".contains(b)).count();
    quote(&mut i);
    let start = i;
    let run = line[i..].iter().take_while(|&&b| is_base64_char(b)).count();
    let pad = line[i + run..].iter().take(2).take_while(|&&b| b == b'=').count();
    let end = start + run + pad;
    let rest = &line[end..];
    let rest_ok = rest.iter().all(|b| b" \t\r\"',".contains(b));
    (run + pad >= MIN_VALUE && (run + pad) % 4 == 0 && rest_ok).then_some(start..end)
}

/// `value` decoded from base64 if it decodes whole to printable text (a value that decodes to
/// binary, a key or a certificate in DER, is no text a rule reads).
fn printable_base64(value: &[u8]) -> Option<Vec<u8>> {
    let run = value.iter().take_while(|&&b| b != b'=').count();
    let (bytes, used) = decode_base64_prefix(&value[..run]);
    let text = |b: &u8| (0x20..0x7f).contains(b) || b"\t\r\n".contains(b);
    (used == run && !bytes.is_empty() && bytes.iter().all(text)).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_lines() {
        fn v(l: &str) -> Option<&str> {
            value_of_line(l.as_bytes()).map(|r| &l[r])
        }
        assert_eq!(v("  aws_access_key_id: QUtJQTEyMzQ="), Some("QUtJQTEyMzQ="));
        assert_eq!(v("KEY=QUtJQTEyMzQ="), Some("QUtJQTEyMzQ="));
        assert_eq!(v("  \"key\": \"QUtJQTEyMzQ=\",\r"), Some("QUtJQTEyMzQ="));
        assert_eq!(v("  key: QUtJQTEyMzQ= # note"), None);
        assert_eq!(v("  key: QUtJ"), None, "too short");
        assert_eq!(v("  key: QUtJQTEyMzQ"), None, "not padded to whole groups");
        assert_eq!(v("key value QUtJQTEyMzQ="), None);
    }

    #[test]
    fn utf16_text_is_read_as_utf8_and_maps_back() {
        let text = "k\u{e9}y = \u{1F600} v\n";
        for little in [true, false] {
            let mut hay: Vec<u8> = if little { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
            for u in text.encode_utf16() {
                hay.extend(if little { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            let view = View::utf16(&hay, 1 << 20).expect("a byte order mark");
            assert_eq!(view.text, text.as_bytes());
            // `v` is code unit 9 (the emoji takes two): its byte that is not NUL, at
            // 2 + 2 * 9 of the source (little-endian) or one on.
            let v = text.find('v').unwrap();
            let at = 2 + 2 * 9 + usize::from(!little);
            assert_eq!(view.source(v..v + 1), at..at + 1);
            // The emoji's four UTF-8 bytes stand on its two units.
            let e = text.find('\u{1F600}').unwrap();
            assert_eq!(view.source(e..e + 4), 2 + 2 * 6..2 + 2 * 8);
        }
        // Without a mark: ASCII text beside NULs, in either order.
        for little in [true, false] {
            let hay: Vec<u8> = "a = 1\r\nkey: v\r\n"
                .encode_utf16()
                .flat_map(|u| if little { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect();
            let view = View::utf16(&hay, 1 << 20).expect("UTF-16 text");
            assert_eq!(view.text, b"a = 1\r\nkey: v\r\n");
        }
        assert!(View::utf16(b"plain text", 1 << 20).is_none());
        assert!(View::utf16(&[1, 0, 2, 0, 3, 0, 4, 0, 5, 0], 1 << 20).is_none());
        assert!(View::utf16(&[0xFF, 0xFE, b'a', 0], 3).is_none());
    }

    #[test]
    fn a_view_decodes_values_and_maps_back() {
        let text = b"data:\n  a: QUtJQTEyMzQ=\n  b: plain text\n  c: AAECAwQFBgc=\n";
        let view = View::values(text, 0..text.len()).unwrap();
        assert_eq!(view.text, b"data:\n  a: AKIA1234\n  b: plain text\n  c: AAECAwQFBgc=\n");
        // `A1` are the 4th and 5th decoded bytes: the second group (at 15); `I` and `A`, in
        // the first and the second.
        let at = view.text.windows(2).position(|w| w == b"A1").unwrap();
        assert_eq!(view.source(at..at + 2), 15..19);
        assert_eq!(view.source(at - 1..at + 1), 11..19);
        assert!(View::values(b"x: 1\n", 0..5).is_none());
    }

    #[test]
    fn backslash_escapes_are_decoded_a_level_at_a_time_and_map_back() {
        let text = br#"{"a": "x\\\/y\/z"}"#;
        let once = View::unescaped(text, 0..text.len()).unwrap();
        assert_eq!(once.text, br#"{"a": "x\/y/z"}"#);
        let twice = once.unescape().unwrap();
        assert_eq!(twice.text, br#"{"a": "x/y/z"}"#);
        // The first `/` stands for `\\\/` (four bytes), the second for `\/`.
        assert_eq!(twice.source(8..9), 8..12);
        assert_eq!(twice.source(10..11), 13..15);
        assert!(twice.unescape().is_none());
        assert!(View::unescaped(b"a\\nb\\u0041", 0..10).is_none(), "other escapes stay");
        // Line ends and tabs too, on request: `\\n` (an escaped backslash, then `n`) stays.
        let text = br#"k:\n\tv: \"x\"\r\n\\n"#;
        let lines = View::unescaped_lines(text, 0..text.len()).unwrap();
        assert_eq!(lines.text, b"k:\n\tv: \"x\"\r\n\\n");
        assert_eq!(lines.source(2..3), 2..4);
    }

    #[test]
    fn a_name_joined_to_its_value_maps_both_lines_back() {
        let text = b"- name: KEY\n  value: V\n";
        let view = View::joined(text, 0..11, b" ", 14..22);
        assert_eq!(view.text, b"- name: KEY value: V");
        assert_eq!(view.source(19..20), 21..22);
        assert_eq!(view.source(0..3), 0..3);
    }

    #[test]
    fn percent_escapes_once_and_twice() {
        let text = b"a%3Db%253Dc%2";
        let view = View::percent(text, 0..text.len()).unwrap();
        assert_eq!(view.text, b"a=b=c%2");
        assert_eq!(view.source(3..4), 5..10);
        assert!(View::percent(b"100% sure", 0..9).is_none());
    }
}
