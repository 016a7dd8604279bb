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

/// A copy of `hay[range]` without quoted-printable soft line breaks, and for each byte of the
/// copy its position in `hay`.
pub(super) fn unbreak(hay: &[u8], range: Range<usize>) -> (Vec<u8>, Vec<usize>) {
    let window = &hay[range.clone()];
    let mut chars = Vec::with_capacity(window.len());
    let mut pos = Vec::with_capacity(window.len());
    let mut i = 0;
    while i < window.len() {
        match soft_break_len(window, i) {
            0 => {
                chars.push(window[i]);
                pos.push(range.start + i);
                i += 1;
            }
            n => i += n,
        }
    }
    (chars, pos)
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
pub(super) fn soft_window(
    hay: &[u8],
    line: Range<usize>,
    reach: usize,
) -> Option<(Vec<u8>, Vec<usize>)> {
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
