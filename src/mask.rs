//! The one masking function every output path uses: secret bytes become `*`.

use std::ops::Range;

/// Copies `hay` into `out`, replacing every byte inside one of `secrets` (ranges into `hay`)
/// with `*`, except the line ends inside a range: a token in base64 wrapped over lines has
/// one range from its first encoded character to its last, and the line ends (LF, CRLF, the
/// escapes `\n` and `\r\n`, a quoted-printable soft break `=` before LF) and the
/// indentation after them stay byte for byte. Ranges may overlap and come in any order.
pub fn mask_into(hay: &[u8], secrets: &[Range<usize>], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(hay);
    for r in secrets {
        let end = r.end.min(hay.len());
        if r.start < end {
            mask_range(&hay[r.start..end], &mut out[start + r.start..start + end]);
        }
    }
}

/// Masks `dst` (a copy of `src`) but for the line ends inside it and the blanks after them
/// (or at its start: a range cut where a window of a stream begins after a line end).
fn mask_range(src: &[u8], dst: &mut [u8]) {
    if !matches!(src[0], b' ' | b'\t') && memchr::memchr3(b'\n', b'\r', b'\\', src).is_none() {
        dst.fill(b'*');
        return;
    }
    let mut i = 0;
    let mut after_break = true;
    while i < src.len() {
        let rest = &src[i..];
        let keep = if rest.starts_with(b"\n") {
            1
        } else if [&b"\r\n"[..], b"\\n", b"=\n"].iter().any(|p| rest.starts_with(p)) {
            2
        } else if rest.starts_with(b"=\r\n") {
            3
        } else if rest.starts_with(b"\\r\\n") {
            4
        } else if after_break && (rest[0] == b' ' || rest[0] == b'\t') {
            1
        } else {
            0
        };
        if keep > 0 {
            after_break = true;
            i += keep;
        } else {
            after_break = false;
            dst[i] = b'*';
            i += 1;
        }
    }
}

/// `hay` with every secret range masked.
pub fn mask(hay: &[u8], secrets: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    mask_into(hay, secrets, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_the_ranges() {
        assert_eq!(mask(b"abc.SECRET!", &[4..10, 4..6]), b"abc.******!");
        assert_eq!(mask(b"abcdef", &[4..10, 0..1]), b"*bcd**");
    }

    #[test]
    fn keeps_line_ends_and_indentation_inside_a_range() {
        assert_eq!(mask(b"k: AB\n  CD\n", std::slice::from_ref(&(3..10))), b"k: **\n  **\n");
        assert_eq!(mask(b"AB\r\n\tCD", std::slice::from_ref(&(0..7))), b"**\r\n\t**");
        assert_eq!(mask(br#""AB\nCD""#, std::slice::from_ref(&(1..7))), br#""**\n**""#);
        assert_eq!(mask(br#""AB\r\nCD""#, std::slice::from_ref(&(1..9))), br#""**\r\n**""#);
        assert_eq!(mask(b"AB=\nCD=2E", std::slice::from_ref(&(0..9))), b"**=\n*****");
        // Blanks not after a line end are masked; so is a range cut after a line end.
        assert_eq!(mask(b"A B", std::slice::from_ref(&(0..3))), b"***");
        assert_eq!(mask(b"  AB", std::slice::from_ref(&(0..4))), b"  **");
    }
}
