//! Text decoded from base64 (a Kubernetes Secret, base64 inside base64) is searched again,
//! and what it holds is reported at the encoded position.
//!
//! Work stays linear in the input: each decoding is kept while later signatures may fall in
//! it, and a signature that stands at a group boundary of a kept decoding (the same bytes,
//! already searched) costs a look at its own place only, never a decoding again. So each
//! character is decoded about once per group alignment (four) and per layer, whatever the
//! signatures around it (a run of `ZHQw` or of its nested forms once cost 0.1 MB/s).

use super::encoding::Wrapped;
use super::*;

/// At most this many decodings are kept (one per group alignment is the usual case).
const KEPT: usize = 4;

/// Most base64 characters before a signature's group that decoding starts from (in whole
/// groups, within the same run): 48 decoded bytes, room for the text a regex rule's token
/// holds before its keyword (Terraform's 14 characters before `.atlasv1.`) and for the
/// key of a `key=value` line encoded whole.
const LEAD: usize = 64;

/// One decoding of base64 text: where it started, and what it read and gave.
pub(super) struct Decoded {
    /// Offset in the searched text where decoding started (a group start).
    from: usize,
    wrapped: Wrapped,
    /// For each line end crossed: its offset (from `from`) and the bytes of all line ends up
    /// to and including it, to turn a text offset into a character index.
    gaps: Vec<(usize, usize)>,
}

impl Decoded {
    fn new(from: usize, wrapped: Wrapped) -> Decoded {
        let mut total = 0;
        let gaps = wrapped
            .gaps
            .iter()
            .map(|&(chars, len)| {
                let at = chars + total;
                total += len;
                (at, total)
            })
            .collect();
        Decoded { from, wrapped, gaps }
    }

    /// Where the decoded text ends in the searched text.
    fn end(&self) -> usize {
        self.from + self.wrapped.consumed
    }

    /// The index of the encoded character at `pos` (an offset of the searched text), if
    /// decoding read one there.
    fn char_at(&self, pos: usize) -> Option<usize> {
        let t = pos.checked_sub(self.from).filter(|&t| t < self.wrapped.consumed)?;
        // The last line end that starts at or before `t`.
        let i = self.gaps.partition_point(|&(at, _)| at <= t);
        let Some(j) = i.checked_sub(1) else { return Some(t) };
        let (at, total) = self.gaps[j];
        let len = total - j.checked_sub(1).map_or(0, |k| self.gaps[k].1);
        (t >= at + len).then(|| t - total)
    }
}

/// The decodings of one search that later signatures may still fall in.
#[derive(Default)]
pub(super) struct Decodings(Vec<Decoded>);

impl Decodings {
    /// A kept decoding in which a group starts at `group`, and the decoded offset of that
    /// group. Not one that a decoding from `group` might take further ([`Wrapped::open`])
    /// when `group` stands near its end: a token there may run past it, and is decoded again.
    fn covering(&self, group: usize) -> Option<(&Decoded, usize)> {
        self.0.iter().find_map(|d| {
            let k = d.char_at(group).filter(|k| k % 4 == 0)?;
            (!d.wrapped.open || group + NEAR_ENCODED <= d.end()).then_some((d, k / 4 * 3))
        })
    }

    /// Keeps `d`, dropping decodings that no later signature can fall in, and the one that
    /// ends first when too many are kept.
    fn keep(&mut self, d: Decoded, group: usize) {
        self.0.retain(|k| k.end() > group);
        if self.0.len() >= KEPT {
            let first = (0..self.0.len()).min_by_key(|&i| self.0[i].end()).unwrap_or(0);
            self.0.swap_remove(first);
        }
        self.0.push(d);
    }
}

/// Shortest run of base64 decoded for what three layers may hold (base64 of base64 of base64
/// of a short token; the pass over line ends sees runs of 63 characters or more).
const DEEP_MIN: usize = 64;
/// Shortest base64 value decoded whole ([`Matcher::short_base64_value`]): a line of text.
const VALUE_MIN: usize = 24;

impl super::Matcher {
    /// A run of base64 (`run`, as [`super::runs::Base64Runs`] finds them) that stands alone as
    /// a value, up to its line's end or a quote (`key: <base64>`, `"<base64>"`, `=<base64>`),
    /// shorter than [`DEEP_MIN`] (the pass over line ends decodes longer ones:
    /// [`Matcher::deep_base64`]): decoded and searched again when it decodes to text from its
    /// start. A file of a line or two stored whole in a Kubernetes Secret (`prod.tfvars:
    /// <base64>`) holds a keyed token (`jira_api_token = "…"`) whose keywords are not looked
    /// for in base64.
    pub(super) fn short_base64_value<H: Found>(
        &self,
        hay: &[u8],
        run: Range<usize>,
        decodings: &mut Decodings,
        out: &mut Vec<H>,
    ) {
        // Where it starts first, and whether it decodes to text there (most runs are
        // binary's base64 or identifiers, and fail at once); then where its line ends (runs go
        // on over line ends), looked for in the first DEEP_MIN characters only.
        let start = run.start;
        if run.len() < VALUE_MIN
            || start == 0
            || !matches!(hay[start - 1], b' ' | b'\t' | b'"' | b'\'' | b'`' | b'=' | b':' | b'>')
            || !decodes_to_text(&hay[start..start + VALUE_MIN])
        {
            return;
        }
        let head = &hay[start..run.end.min(start + DEEP_MIN)];
        let end = match memchr::memchr2(b'\n', b'\r', head) {
            Some(p) => start + p,
            None if head.len() < DEEP_MIN => run.end,
            None => return,
        };
        let after = hay[end..].iter().find(|&&b| b != b'=');
        if end - start >= VALUE_MIN && after.is_none_or(|b| b"\n\r\"'`<,; ".contains(b)) {
            self.base64_at(hay, start, 0, 0, decodings, out);
        }
    }

    /// A run of base64 that the pass over line ends met at `probe` (its line ends at
    /// `line_end`), in the text as written: decoded and searched again when it is at least
    /// [`DEEP_MIN`] characters long and decodes to text. The prefilter looks for a keyword in
    /// one and two layers of base64; the decoded text is searched for those, so a third
    /// layer (a Docker config whose `auth` holds base64, in a Kubernetes Secret) is found
    /// with no more signatures. Binary (an image, a hash) is ruled out by its first bytes.
    #[inline]
    pub(super) fn deep_base64<H: Found>(
        &self,
        hay: &[u8],
        probe: usize,
        line_end: usize,
        decodings: &mut Decodings,
        out: &mut Vec<H>,
    ) {
        // First the probe's own characters: text in base64 decodes to text at one of the four
        // alignments (most runs met are binary, a hash or an identifier, and fail at once).
        // (A group of printable text starts with a character of value 8 to 31, the top six
        // bits of a byte from 0x20 to 0x7e: the alignments whose two first groups start so
        // are told for the eight characters at once, here, and the rest is a call.)
        // (A UTF-8 byte order mark, `77u/`, is a whole group before the text: looked past.)
        let probe = if hay[probe..probe + 4] == *b"77u/" { probe + 4 } else { probe };
        let aligned = text_starts(&hay[probe..probe + 8]);
        if aligned != 0 {
            self.deep_base64_text(hay, probe, aligned, line_end, decodings, out);
        }
    }

    /// [`Matcher::deep_base64`] where the probe's first characters may decode to text at
    /// the alignments `aligned` ([`text_starts`]).
    #[inline(never)]
    fn deep_base64_text<H: Found>(
        &self,
        hay: &[u8],
        probe: usize,
        mut aligned: u64,
        line_end: usize,
        decodings: &mut Decodings,
        out: &mut Vec<H>,
    ) {
        loop {
            if aligned == 0 {
                return;
            }
            let a = aligned.trailing_zeros() as usize / 8;
            if decodes_to_text(&hay[probe + a..probe + a + 8]) {
                break;
            }
            aligned &= aligned - 1;
        }
        let back = hay[..probe].iter().rev().take(2 * DEEP_MIN).take_while(|&&b| is_base64_char(b));
        let start = probe - back.count();
        // Text first (most runs met are binary, and fail at their first group or two), then
        // the length. A UTF-8 byte order mark before the text is a whole group (`77u/`).
        let text = if hay[start..].starts_with(b"77u/") { start + 4 } else { start };
        if !decodes_to_text(hay.get(text..text + 24).unwrap_or_default())
            || hay[start..line_end]
                .iter()
                .take(DEEP_MIN)
                .take_while(|&&b| is_base64_char(b))
                .count()
                < DEEP_MIN
        {
            return;
        }
        self.base64_at(hay, start, 0, 0, decodings, out);
    }

    /// A base64 signature whose 4-character group starts at `group` (`back` characters before
    /// the signature): decodes from there, unless a kept decoding already holds that group,
    /// and reports the tokens inside at the encoded position.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn base64_at<H: Found>(
        &self,
        hay: &[u8],
        group: usize,
        back: usize,
        depth: u8,
        decodings: &mut Decodings,
        out: &mut Vec<H>,
    ) {
        if let Some((d, at)) = decodings.covering(group) {
            if back == 0 {
                self.at_group_start(d, at, out);
            }
            return;
        }
        // Decoding starts before the signature's group, at the start of its run of base64
        // (up to [`LEAD`] characters back, in whole groups): a token may start before its
        // keyword (Terraform's `<14 characters>.atlasv1.…`, a paired rule's context), and for
        // base64 inside base64 the signature's group may start after the start of the inner
        // group that holds the token (the inner signature then stands too close to the start
        // of the decoded text to be decoded itself).
        // (In wrapped base64, the group before ends the line before.)
        let back_groups = (1..=LEAD / 4)
            .take_while(|k| {
                group >= 4 * k
                    && decode_base64_prefix(&hay[group - 4 * k..group - 4 * (k - 1)]).1 == 4
            })
            .count();
        let from = if back_groups > 0 {
            group - 4 * back_groups
        } else if depth + 1 >= MAX_DEPTH {
            group
        } else {
            group_before_line_end(hay, group).unwrap_or(group)
        };
        let decoded = Decoded::new(from, encoding::decode_base64_wrapped(hay, from, true));
        if decoded.wrapped.bytes.len() >= 3 {
            let mut inner: Vec<H> = Vec::new();
            self.find_into(&decoded.wrapped.bytes, depth + 1, &mut inner);
            // A line that merely starts with base64 characters (`a+"`, `key2: …`) read as the
            // next line of a wrapped block puts bytes after a token that ends its line: read
            // the first line alone as well when the whole found nothing, unless the next line
            // is base64 to its end (a block wrapped at its width, whose token the whole
            // judged: its head alone would pass for a shorter token).
            if inner.is_empty()
                && !decoded.wrapped.gaps.is_empty()
                && !next_line_is_base64(hay, from)
            {
                let line = Decoded::new(from, encoding::decode_base64_wrapped(hay, from, false));
                self.find_into(&line.wrapped.bytes, depth + 1, &mut inner);
                for h in inner.drain(..) {
                    out.push(moved_out(&line, 0, h));
                }
            }
            for h in inner {
                out.push(moved_out(&decoded, 0, h));
            }
            self.regex_in_values(hay, group, &decoded.wrapped.bytes, out);
            if let Some(k) = decoded.char_at(group).filter(|_| back == 0) {
                self.at_group_start(&decoded, k / 4 * 3, out);
            }
        }
        decodings.keep(decoded, group);
    }

    /// A structured token whose keyword starts the decoded group at `at`, found as decoding
    /// from that group finds it (nothing before it): decoding from an earlier group puts a
    /// byte before it, and when that is a letter or digit the search of the decoded text did
    /// not take it for a token's start. A look at that one place: no decoding again.
    fn at_group_start<H: Found>(&self, d: &Decoded, at: usize, out: &mut Vec<H>) {
        let bytes = &d.wrapped.bytes;
        if at >= bytes.len() || boundary_before(bytes, at) {
            return;
        }
        let rest = &bytes[at..];
        for (g, group) in self.groups.iter().enumerate() {
            if group.structured.is_empty() {
                continue;
            }
            let found: Option<H> = if rest.starts_with(&group.keyword) {
                self.structured_at(rest, 0, g).or_else(|| self.soft_broken_at(rest, 0, g))
            } else if rest.starts_with(&utf16_signature(&group.keyword)) {
                self.utf16_at(rest, 0, g)
            } else {
                None
            };
            if let Some(h) = found {
                out.push(moved_out(d, at, h));
            }
        }
    }
}

/// Whether `chars`, whole groups of base64 (and at least one), decode to printable ASCII
/// text; group by group, without a buffer.
fn decodes_to_text(chars: &[u8]) -> bool {
    let text = |b: u32| (0x20..0x7f).contains(&b) || b == 9 || b == 10 || b == 13;
    !chars.is_empty()
        && chars.chunks(4).all(|g| {
            encoding::decode_group(g).is_some_and(|bytes| bytes.iter().all(|&b| text(u32::from(b))))
        })
}

/// Which alignments of the eight characters `eight` start two groups of printable text: the
/// top bit of byte `a` (0 to 3) is set when characters `a` and `a + 4` have values 8 to 31
/// (`I` to `Z`, `a` to `f`: a first byte from 0x20 to 0x7f) or 2 to 3 (`C`, `D`: from 0x08
/// to 0x0f, a tab or line end among them; a `.env` file's lines are short, and a probe that
/// met a group starting with a line end was passed over). All eight at once, in one number
/// (a lookup and a test per character cost most of the pass over line ends on text with
/// base64 in it).
fn text_starts(eight: &[u8]) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(eight[..8].try_into().unwrap_or_default());
    // Bit 7 of each byte: that byte (its low seven bits: no sum carries into the next byte)
    // is at least `lo`.
    let low = x & !HIGH;
    let at_least = |lo: u8| low + u64::from_le_bytes([0x80 - lo; 8]);
    let within = |lo: u8, hi: u8| at_least(lo) & !at_least(hi + 1);
    let starts = (within(b'I', b'Z') | within(b'a', b'f') | within(b'C', b'D')) & !x & HIGH;
    starts & starts >> 32
}

/// The start of the last 4-character group of base64 before the line end (LF, CRLF, `\n`,
/// `\r\n`) and indentation that stand just before `group`, if there is one.
fn group_before_line_end(hay: &[u8], group: usize) -> Option<usize> {
    let mut i = group;
    while i > 0 && group - i < 256 && (hay[i - 1] == b' ' || hay[i - 1] == b'\t') {
        i -= 1;
    }
    let text = &hay[..i];
    let brk = if text.ends_with(b"\r\n") || text.ends_with(b"\\n") {
        2
    } else if text.ends_with(b"\n") {
        1
    } else {
        return None;
    };
    let brk = if text[..i - brk].ends_with(b"\\r") { brk + 2 } else { brk };
    let end = i.checked_sub(brk)?;
    let start = end.checked_sub(4)?;
    if decode_base64_prefix(&hay[start..end]).1 != 4 {
        return None;
    }
    // Decoding from there goes on past this line's end only when this line is no shorter
    // than the one before (a wrapped block): the line before must be of the block too.
    let run = |text: &mut dyn Iterator<Item = &u8>| {
        text.take(1024).take_while(|&&b| is_base64_char(b)).count()
    };
    let before = run(&mut hay[..end].iter().rev());
    let this = run(&mut hay[group..].iter());
    let last = hay.get(group + this).is_none_or(|&b| b != b'\n' && b != b'\r' && b != b'\\');
    (before <= this || last).then_some(start)
}

/// A match in the decoded text of `d` (at offset `at` of it) moved to the encoded characters
/// that hold it.
fn moved_out<H: Found>(d: &Decoded, at: usize, h: H) -> H {
    let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
    let span = d.wrapped.text_range(span.start + at..span.end + at);
    let secret = d.wrapped.text_range(secret.start + at..secret.end + at);
    let mut h =
        h.moved(d.from + span.start..d.from + span.end, d.from + secret.start..d.from + secret.end);
    h.get_mut().encoding = Encoding::Base64;
    h
}

/// Whether the line holding `at` is a line of a block wrapped at its width (its base64, after
/// the indentation, as long as encoders wrap it: 64 as PEM, 76 as MIME and the `base64` tool,
/// and a few others) and the next line goes on with base64 to its end (after its
/// indentation; padding, a CR, a closing quote or comma allowed).
fn next_line_is_base64(hay: &[u8], at: usize) -> bool {
    const WIDTHS: [usize; 5] = [60, 64, 72, 76, 80];
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let Some(lf) = memchr::memchr(b'\n', &hay[at..]).map(|p| at + p) else { return false };
    let line = hay[start..lf].trim_ascii();
    if !WIDTHS.contains(&line.len()) || !line.iter().all(|&b| is_base64_char(b)) {
        return false;
    }
    let next = &hay[lf + 1..];
    let line = &next[..memchr::memchr(b'\n', next).unwrap_or(next.len())];
    let body = line.trim_ascii_start();
    let run = body.iter().take_while(|&&b| is_base64_char(b)).count();
    let rest = &body[run..];
    let rest = &rest[rest.iter().take_while(|&&b| b == b'=').count()..];
    run >= 4 && rest.iter().all(|&b| matches!(b, b'\r' | b'"' | b'\'' | b',' | b' ' | b'\t'))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use crate::matcher::{fingerprint, Encoding, Matcher};

    /// The alignments told all at once are those that two lookups per alignment tell: every
    /// byte value at every place, among base64 characters and random bytes.
    #[test]
    fn text_starts_agree_with_lookups() {
        let starts = |b: u8| {
            crate::matcher::encoding::value(b)
                .is_some_and(|v| (8..32).contains(&v) || (2..4).contains(&v))
        };
        let mut state: u64 = 11;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) as u8
        };
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
        let mut told = 0;
        for round in 0..4000 {
            let mut eight = [0u8; 8];
            for c in &mut eight {
                *c = if round % 2 == 0 { next() } else { alphabet[usize::from(next() % 66)] };
            }
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut e = eight;
                    e[at] = b;
                    let got = super::text_starts(&e);
                    for a in 0..4 {
                        let want = starts(e[a]) && starts(e[a + 4]);
                        assert_eq!(got & 0x80 << (8 * a) != 0, want, "{e:?} at {a}");
                        told += usize::from(want);
                    }
                    assert_eq!(got & !0x8080_8080, 0, "{e:?}");
                }
            }
        }
        assert!(told > 10_000, "{told}");
    }

    const TOKEN: &str = "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT"; // tokenguard:allow

    fn found_once(text: &[u8]) -> std::ops::Range<usize> {
        let found = Matcher::builtin().find(text);
        let mine: Vec<_> =
            found.iter().filter(|m| m.fingerprint == fingerprint(TOKEN.as_bytes())).collect();
        assert_eq!(mine.len(), 1, "{found:?}");
        assert_eq!(mine[0].encoding, Encoding::Base64);
        mine[0].secret.clone()
    }

    #[test]
    fn a_token_whose_group_starts_after_other_base64_is_found() {
        // Decoding from an earlier group (a run of signatures, or base64 of other text just
        // before) puts a letter or digit before the token; decoding from its own group does
        // not, and that is what counts.
        // (At the start of a group: the text before is a multiple of 3 bytes long.)
        for before in ["dt0dt0", "abc", "dt0xyz", "Zm9vYm"] {
            let text = STANDARD.encode(format!("{before}{TOKEN}"));
            found_once(text.as_bytes());
            let nested = STANDARD.encode(format!("auth: {}", text));
            found_once(nested.as_bytes());
        }
    }

    #[test]
    fn a_token_past_the_end_of_one_decoding_is_found_by_the_next() {
        // Base64 of 12 KB of text with signatures everywhere, then the token across the end
        // of the first decoding (12,288 bytes): a signature near its end is decoded again.
        for pad in 0..3 {
            let filler = format!("{}{}", "dt0 ".repeat(3059), " ".repeat(pad));
            let text = STANDARD.encode(format!("{filler}{TOKEN} end"));
            let secret = found_once(text.as_bytes());
            let decoded = STANDARD.decode(&text[secret.start / 4 * 4..secret.end.div_ceil(4) * 4]);
            assert!(decoded.is_ok_and(|d| d.windows(20).any(|w| w == &TOKEN.as_bytes()[40..60])));
        }
    }

    #[test]
    fn three_layers_are_decoded_without_a_signature_in_the_outer_one() {
        let b = |s: &str| STANDARD.encode(s);
        let three = b(&b(&b(TOKEN)));
        found_once(three.as_bytes());
        found_once(format!("data:\n  token: {three}\n").as_bytes());
        // A Docker config whose `auth` is base64 of `user:<base64 of the token>`, in a
        // Kubernetes Secret; and the same wrapped at 76 columns.
        let config = format!(
            r#"{{"auths":{{"r.example.com":{{"auth":"{}"}}}}}}"#,
            b(&format!("u:{}", b(TOKEN)))
        );
        let enc = b(&config);
        found_once(format!("data:\n  .dockerconfigjson: {enc}\n").as_bytes());
        let lines: Vec<&str> =
            enc.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
        found_once(format!("data:\n  config: |\n    {}\n", lines.join("\n    ")).as_bytes());
    }

    #[test]
    fn four_layers_and_three_of_a_placeholder_are_not_findings() {
        let b = |s: &str| STANDARD.encode(s);
        let placeholder = TOKEN.replace(|c: char| c.is_ascii_digit(), "X");
        for text in [b(&b(&b(&b(TOKEN)))), b(&b(&b(&placeholder))), b(&b(&b(&"x".repeat(120))))] {
            let found = Matcher::builtin().find(text.as_bytes());
            assert!(found.is_empty(), "{} findings", found.len());
        }
    }

    #[test]
    fn three_layers_are_decoded_when_the_outer_one_is_announced() {
        // The outer layer holds the token in base64 twice over, and `dt0` in base64 once
        // (which announces the decoding).
        let inner = STANDARD.encode(STANDARD.encode(TOKEN));
        let text = STANDARD.encode(format!("{} {inner}", STANDARD.encode("dt0")));
        found_once(text.as_bytes());
    }
}
