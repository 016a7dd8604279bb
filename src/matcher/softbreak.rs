//! Quoted-printable soft line breaks (`=` before a line end): finding them and joining the
//! lines they cut, for detectors that read a token or a line across them.

use super::*;

/// The length of a quoted-printable soft line break (`=` then LF or CRLF) at `text[i]`, or 0.
pub(super) fn soft_break_len(text: &[u8], i: usize) -> usize {
    match &text[i..] {
        [b'=', b'\n', ..] => 2,
        [b'=', b'\r', b'\n', ..] => 3,
        _ => 0,
    }
}

/// A copy of part of the input read as quoted-printable: without soft line breaks, each
/// `=XX` escape as its byte; for each byte of the copy, where it stands in the input.
pub(super) struct Unbroken {
    pub chars: Vec<u8>,
    /// Where each byte of the copy starts in the input, and where it ends (an escape is three
    /// bytes long).
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Unbroken {
    /// The input's bytes that hold `range` of the copy.
    pub(super) fn span(&self, range: &Range<usize>) -> Range<usize> {
        self.starts[range.start]..self.ends[range.end - 1]
    }

    /// The first byte of the copy that stands at or after `at` in the input.
    pub(super) fn first_at_or_after(&self, at: usize) -> usize {
        self.starts.partition_point(|&p| p < at)
    }

    /// A match in the copy, moved to where it stands in the input.
    pub(super) fn moved<H: Found>(&self, h: H) -> H {
        let (span, secret) = (self.span(&h.get().span), self.span(&h.get().secret));
        h.moved(span, secret)
    }
}

/// `hay[range]` read as quoted-printable ([`Unbroken`]).
pub(super) fn unbreak(hay: &[u8], range: Range<usize>) -> Unbroken {
    let window = &hay[range.clone()];
    let mut out = Unbroken {
        chars: Vec::with_capacity(window.len()),
        starts: Vec::with_capacity(window.len()),
        ends: Vec::with_capacity(window.len()),
    };
    let mut i = 0;
    while i < window.len() {
        let (byte, len) = match soft_break_len(window, i) {
            0 => match qp_escape(&window[i..]) {
                Some(b) => (b, 3),
                None => (window[i], 1),
            },
            n => {
                i += n;
                continue;
            }
        };
        out.chars.push(byte);
        out.starts.push(range.start + i);
        out.ends.push(range.start + i + len);
        i += len;
    }
    out
}

/// The byte of a quoted-printable escape (`=` and two hexadecimal digits) at the start of
/// `text`.
fn qp_escape(text: &[u8]) -> Option<u8> {
    match text {
        [b'=', h, l, ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
            let digit = |c: u8| (c as char).to_digit(16).expect("a hex digit") as u8;
            Some(digit(*h) << 4 | digit(*l))
        }
        _ => None,
    }
}

/// The line `line` of `hay` read as quoted-printable when it is written so: joined to its
/// neighbours over soft breaks ([`soft_window`]), or holding an escaped `=` (`=3D`: an
/// assignment in a mail body).
pub(super) fn quoted_printable_window(hay: &[u8], line: Range<usize>) -> Option<Unbroken> {
    if soft_neighbour(hay, line.clone()) {
        if let Some(w) = soft_window(hay, line.clone(), SOFT_LINE_REACH) {
            return Some(w);
        }
    }
    let text = &hay[line.clone()];
    let escaped = memchr::memmem::find(text, b"=3D").is_some()
        || memchr::memmem::find(text, b"=3d").is_some();
    escaped.then(|| unbreak(hay, line))
}

/// Whether the line `line` of `hay`, or the line before it, ends in a soft break's `=` (a
/// cheap test before [`soft_window`]).
#[inline]
pub(super) fn soft_neighbour(hay: &[u8], line: Range<usize>) -> bool {
    let ends_soft = |lf: usize| {
        hay.get(lf) == Some(&b'\n')
            && match lf.checked_sub(1).map(|i| hay[i]) {
                Some(b'=') => true,
                Some(b'\r') => lf >= 2 && hay[lf - 2] == b'=',
                _ => false,
            }
    };
    ends_soft(line.end) || (line.start > 0 && ends_soft(line.start - 1))
}

/// The logical line around `line` (a line of `hay`, without its line end) when
/// quoted-printable soft breaks join it to the lines before or after it, each such line as
/// long as an encoder makes it ([`SOFT_LINE`]), up to `reach` bytes either way: the copy without the breaks
/// ([`unbreak`]). `None` when no soft break joins the line to another.
pub(super) fn soft_window(hay: &[u8], line: Range<usize>, reach: usize) -> Option<Unbroken> {
    // Whether the line end at `end` (an LF) follows a soft break's `=`.
    let after_soft = |end: usize| -> bool {
        let body = &hay[..end];
        hay.get(end) == Some(&b'\n') && body.strip_suffix(b"\r").unwrap_or(body).ends_with(b"=")
    };
    let mut start = line.start;
    while start > 0 && line.start - start < reach && after_soft(start - 1) {
        let lo = (start - 1).saturating_sub(reach);
        let prev = memchr::memrchr(b'\n', &hay[lo..start - 1]).map_or(lo, |p| lo + p + 1);
        if !SOFT_LINE.contains(&(start - 1 - prev)) {
            break;
        }
        start = prev;
    }
    let (mut cur, mut end) = (line.start, line.end);
    while end - line.end < reach && SOFT_LINE.contains(&(end - cur)) && after_soft(end) {
        cur = end + 1;
        let hi = (cur + reach).min(hay.len());
        end = memchr::memchr(b'\n', &hay[cur..hi]).map_or(hi, |p| cur + p);
    }
    if start == line.start && end == line.end {
        return None;
    }
    Some(unbreak(hay, start..end))
}

/// Whether a match read as written that ends at `end` (base64: `base64`) is only the head of
/// a token that a quoted-printable encoder cut: a soft break's `=` stands there, ending a
/// line as long as an encoder makes it, and the next line goes on with the token (a
/// character a token may hold next; for base64, a run of it to that line's end, a quote or
/// another `=`, where base64's own padding would be followed by other text). The reading
/// without the breaks then tells what the whole token is.
pub(super) fn cut_by_soft_break(hay: &[u8], end: usize, base64: bool) -> bool {
    // (Base64 read as written ends on a group, up to three of its characters before the
    // `=`, and takes the `=` for its padding.)
    let end = if base64 {
        end - usize::from(end > 0 && hay[end - 1] == b'=')
            + hay[end.min(hay.len())..].iter().take(3).take_while(|&&b| is_base64_char(b)).count()
    } else {
        end
    };
    if end >= hay.len() {
        return false;
    }
    let n = soft_break_len(hay, end);
    if n == 0 {
        return false;
    }
    let line_start = memchr::memrchr(b'\n', &hay[..end]).map_or(0, |p| p + 1);
    if !SOFT_LINE.contains(&(end + n - 1 - line_start)) {
        return false;
    }
    let next = &hay[end + n..];
    if base64 {
        let run = next.iter().take_while(|&&b| is_base64_char(b)).count();
        run >= 4 && matches!(next.get(run), None | Some(b'=' | b'\r' | b'\n' | b'"' | b'\'' | b'`'))
    } else {
        next.first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/'))
    }
}

/// Whether `text` says, within its first 16 KiB, that it is quoted-printable (a mail's or a
/// MIME part's `Content-Transfer-Encoding: quoted-printable`).
pub(super) fn declares_quoted_printable(text: &[u8]) -> bool {
    let head = &text[..text.len().min(16 << 10)];
    [&b"uoted-printable"[..], b"UOTED-PRINTABLE", b"uoted-Printable"]
        .iter()
        .any(|w| memchr::memmem::find(head, w).is_some())
}

/// Where the soft line breaks ([`soft_break_len`]) of `text` start, in order, into `out`.
pub(super) fn soft_breaks(text: &[u8], out: &mut Vec<usize>) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { soft_breaks_avx2(text, out) };
    }
    soft_breaks_by_search(text, out)
}

/// [`soft_breaks`] by a search for each form, LF and CRLF.
fn soft_breaks_by_search(text: &[u8], out: &mut Vec<usize>) {
    let from = out.len();
    out.extend(memchr::memmem::find_iter(text, b"=\n"));
    out.extend(memchr::memmem::find_iter(text, b"=\r\n"));
    out[from..].sort_unstable();
}

/// [`soft_breaks`] 64 places at a time, both forms in one pass: an `=` whose next byte is
/// LF or CR is looked at (a CR must have an LF after it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn soft_breaks_avx2(text: &[u8], out: &mut Vec<usize>) {
    use std::arch::x86_64::*;
    let (eq, lf, cr) = (_mm256_set1_epi8(b'=' as i8), _mm256_set1_epi8(10), _mm256_set1_epi8(13));
    // The places from `at`, `at + 32` whose `=` has a line end after it.
    let at32 = |at: usize| {
        // SAFETY: 33 bytes from `at`: the callers keep them within `text`.
        let load = |k: usize| _mm256_loadu_si256(text.as_ptr().add(at + k).cast());
        let next = load(1);
        let line_end = _mm256_or_si256(_mm256_cmpeq_epi8(next, lf), _mm256_cmpeq_epi8(next, cr));
        let m = _mm256_and_si256(_mm256_cmpeq_epi8(load(0), eq), line_end);
        u64::from(_mm256_movemask_epi8(m) as u32)
    };
    let mut at = 0;
    // 64 places from `at` read the bytes up to `at + 65`, and a CR's LF one more.
    while at + 66 <= text.len() {
        let mut places = at32(at) | at32(at + 32) << 32;
        while places != 0 {
            let p = at + places.trailing_zeros() as usize;
            places &= places - 1;
            if soft_break_len(text, p) > 0 {
                out.push(p);
            }
        }
        at += 64;
    }
    out.extend((at..text.len()).filter(|&i| soft_break_len(text, i) > 0));
}

impl super::Matcher {
    /// Keywords cut by a soft break (`d=` then `t0c01.…`, `DT_API_TO=` then `KEN=3D…`): the
    /// keyword search sees neither half. At each soft break in `block` of a line as long as
    /// an encoder makes it, the few characters either side are joined and searched; where a
    /// keyword shows, the logical line is read again without its breaks (what it finds twice
    /// is one match). `next_line` carries, from block to block, the end of the last logical
    /// line read. Returns how many soft breaks in the block end a line as long as an encoder
    /// makes it and go on as an encoder's do (the text may be quoted-printable throughout:
    /// [`Matcher::find_hits`] reads it so as well).
    #[inline(never)]
    pub(super) fn soft_cut_keywords<H: Found>(
        &self,
        hay: &[u8],
        block: Range<usize>,
        depth: u8,
        next_line: &mut usize,
        out: &mut Vec<H>,
    ) -> usize {
        // Breaks whose `=` stands in the block, LF and CRLF, in the order of the input.
        let text = &hay[block.start..(block.end + 2).min(hay.len())];
        let mut breaks = Vec::new();
        soft_breaks(text, &mut breaks);
        breaks.retain(|&eq| eq < block.len());
        if breaks.is_empty() {
            return 0;
        }
        let breaks = breaks.into_iter().map(|eq| block.start + eq);
        let reach = self.search.longest_literal().max(1) - 1;
        let mut evidence = 0;
        for eq in breaks {
            let lf = eq + soft_break_len(hay, eq) - 1;
            let line_start = memchr::memrchr(b'\n', &hay[..eq]).map_or(0, |p| p + 1);
            if !SOFT_LINE.contains(&(lf - line_start)) {
                continue;
            }
            // Evidence that the whole text is quoted-printable, unless the break is code's: an
            // assignment continued on an indented line (`let x: T =` then `    value`, as
            // rustfmt writes lines of 60 to 77 characters: on real source code the text's
            // whole reading doubled the matcher's work), or a line of `=` (Markdown's heading
            // underline; an encoder writes `=3D` for each `=`). An encoder's break goes on
            // with the rest of the line, rarely a blank.
            let indented = matches!(hay.get(lf + 1), Some(b' ' | b'\t'));
            let underline = eq > 0 && hay[eq - 1] == b'=';
            evidence += usize::from(!(indented || underline));
            if line_start < *next_line {
                continue;
            }
            let next_end = memchr::memchr(b'\n', &hay[lf + 1..]).map_or(hay.len(), |p| lf + 1 + p);
            let mut joined = hay[eq.saturating_sub(reach).max(line_start)..eq].to_vec();
            joined.extend_from_slice(&hay[lf + 1..(lf + 1 + reach).min(next_end)]);
            if !self.any_keyword(&joined) {
                continue;
            }
            let Some(joined) = soft_window(hay, line_start..lf, SOFT_LINE_REACH) else {
                continue;
            };
            *next_line = joined.ends.last().map_or(lf, |&p| p);
            let mut found: Vec<H> = Vec::new();
            self.find_into_joined(&joined.chars, depth, &mut found);
            out.extend(found.into_iter().map(|h| joined.moved(h)));
        }
        evidence
    }

    /// Whether any keyword or form shows in `text` (a few bytes either side of a break).
    fn any_keyword(&self, text: &[u8]) -> bool {
        self.search.any_in(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The soft breaks of `text` found a byte at a time.
    fn breaks_one_by_one(text: &[u8]) -> Vec<usize> {
        (0..text.len()).filter(|&i| soft_break_len(text, i) > 0).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Texts dense in `=`, CR and LF: every way of finding the soft breaks finds each,
        /// in order, at every place of a block of 32 and at the very end.
        #[test]
        fn soft_breaks_are_found_as_one_byte_at_a_time(
            text in proptest::collection::vec(
                proptest::sample::select(b"==\r\n\nx ".to_vec()), 0..200),
        ) {
            let want = breaks_one_by_one(&text);
            let mut got = Vec::new();
            soft_breaks(&text, &mut got);
            proptest::prop_assert_eq!(&got, &want);
            let mut searched = vec![7];
            soft_breaks_by_search(&text, &mut searched);
            proptest::prop_assert_eq!(&searched[1..], &want[..]);
        }
    }

    #[test]
    fn soft_breaks_at_every_place_and_the_end() {
        for len in 0..70 {
            for at in 0..len {
                for form in [&b"=\n"[..], b"=\r\n", b"=\r", b"=", b"\r\n"] {
                    let mut text = vec![b'a'; len];
                    let end = (at + form.len()).min(len);
                    text[at..end].copy_from_slice(&form[..end - at]);
                    let mut got = Vec::new();
                    soft_breaks(&text, &mut got);
                    assert_eq!(got, breaks_one_by_one(&text), "{len} {at} {form:?}");
                    let whole =
                        end - at == form.len() && form.starts_with(b"=") && form.ends_with(b"\n");
                    assert_eq!(got == [at], whole, "{len} {at} {form:?}");
                }
            }
        }
    }

    /// Breaks at an encoder's line length count as evidence of quoted-printable text (the
    /// whole text read decoded) when they go on as an encoder's do; an assignment continued
    /// on an indented line and a Markdown heading's underline do not count.
    #[test]
    fn only_breaks_that_go_on_as_an_encoders_count() {
        let m = Matcher::builtin();
        let count = |text: &str| {
            let mut out: Vec<Match> = Vec::new();
            m.soft_cut_keywords(text.as_bytes(), 0..text.len(), 0, &mut 0, &mut out)
        };
        // Python's quopri: 75 characters and `=`, the rest of the line after.
        let qp = format!("{}=\nrest of the line\n", "word ".repeat(15));
        assert_eq!(count(&qp), 1);
        assert_eq!(count(&qp.replace('\n', "\r\n")), 1);
        assert_eq!(count(&qp.repeat(3)), 3);
        // The same line continued on an indented one: code (rustfmt).
        let code = format!("    let {}: Option<String> =\n        compute();\n", "v".repeat(40));
        assert_eq!(count(&code), 0);
        assert_eq!(count(&code.replace("\n        ", "\n\t")), 0);
        let underline = format!("Title\n{}\nText\n", "=".repeat(70));
        assert_eq!(count(&underline), 0);
        // Lines shorter or longer than an encoder writes.
        assert_eq!(count(&format!("{}=\nrest\n", "w".repeat(40))), 0);
        assert_eq!(count(&format!("{}=\nrest\n", "w".repeat(90))), 0);
    }
}
