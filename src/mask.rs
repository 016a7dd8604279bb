//! The one masking function every output path uses: secret bytes become `*`.

use std::ops::Range;

/// Copies `hay` into `out`, replacing every byte inside one of `secrets` (ranges into `hay`)
/// with `*`. Ranges may overlap and come in any order.
pub fn mask_into(hay: &[u8], secrets: &[Range<usize>], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(hay);
    for r in secrets {
        let end = r.end.min(hay.len());
        if r.start < end {
            out[start + r.start..start + end].fill(b'*');
        }
    }
}

/// `hay` with every secret range masked.
pub fn mask(hay: &[u8], secrets: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    mask_into(hay, secrets, &mut out);
    out
}

/// `text` with the secret part of every token that `matcher` finds in it masked: for text
/// that reports print besides the finding itself (file names, commit subjects, authors).
pub fn mask_text(matcher: &crate::matcher::Matcher, text: &str) -> String {
    let found = matcher.find(text.as_bytes());
    if found.is_empty() {
        return text.to_string();
    }
    let secrets: Vec<Range<usize>> = found.into_iter().map(|m| m.secret).collect();
    String::from_utf8_lossy(&mask(text.as_bytes(), &secrets)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_the_ranges() {
        assert_eq!(mask(b"abc.SECRET!", &[4..10, 4..6]), b"abc.******!");
        assert_eq!(mask(b"abcdef", &[4..10, 0..1]), b"*bcd**");
    }
}
