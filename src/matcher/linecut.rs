//! Base64 signatures cut by a line end: wrapped base64 (the `base64` tool at 76 columns, PEM
//! at 64, YAML block scalars) whose line end falls inside a keyword's signature hides it from
//! the prefilter. Wrapped lines end on whole 4-character groups, so a signature that crosses
//! a group boundary (`R0|M`, `k|dD` for `dt0`; more for base64 inside base64 and UTF-16) can
//! be cut there, and only there. One pass over the line ends looks for a line that ends with
//! the head of such a signature and a next line (after its indentation) that starts with its
//! tail, and decodes from the signature's group as the prefilter's hit would.

use super::*;

/// A signature that a line end at a group boundary can cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cut {
    /// The characters before the line end.
    head: Vec<u8>,
    /// The characters after it (and the indentation).
    tail: Vec<u8>,
    /// How far the signature stands from its group's start.
    back: usize,
}

/// The cuts of `signatures` (text, offset from its group's start) at group boundaries, and
/// the set of the last characters of their heads (a quick test per line end).
pub(super) fn cuts_of(signatures: &[(String, usize)]) -> (Vec<Cut>, [bool; 256]) {
    let mut cuts: Vec<Cut> = Vec::new();
    let mut last = [false; 256];
    for (sig, back) in signatures {
        let s = sig.as_bytes();
        for k in 1..s.len() {
            if (back + k) % 4 != 0 {
                continue;
            }
            let cut = Cut { head: s[..k].to_vec(), tail: s[k..].to_vec(), back: *back };
            if !cuts.contains(&cut) {
                last[usize::from(s[k - 1])] = true;
                cuts.push(cut);
            }
        }
    }
    (cuts, last)
}

/// Most blanks of indentation looked past for a cut signature's tail.
const MAX_INDENT: usize = 256;

impl super::Matcher {
    /// Every line end of `hay` (LF, CRLF, and the escapes `\n`, `\r\n` of JSON and YAML
    /// strings) that cuts a signature: decodes from that signature's group, as
    /// [`Matcher::base64_at`] does for one the prefilter found.
    #[inline(never)]
    pub(super) fn cut_signatures<H: Found>(&self, hay: &[u8], depth: u8, out: &mut Vec<H>) {
        if self.cuts.is_empty() || depth >= MAX_DEPTH {
            return;
        }
        let mut decodings = nested::Decodings::default();
        for nl in memchr::memchr2_iter(b'\n', b'\\', hay) {
            // Where the line's text ends, and where the next line starts.
            let (end, next) = if hay[nl] == b'\n' {
                (if nl > 0 && hay[nl - 1] == b'\r' { nl - 1 } else { nl }, nl + 1)
            } else if hay.get(nl + 1) == Some(&b'n') {
                (nl, nl + 2)
            } else if hay[nl..].starts_with(b"\\r\\n") {
                (nl, nl + 4)
            } else {
                continue;
            };
            if end == 0 || !self.cut_last[usize::from(hay[end - 1])] {
                continue;
            }
            let indent = hay[next..]
                .iter()
                .take(MAX_INDENT)
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            let after = &hay[next + indent..];
            for c in &self.cuts {
                let group_len = c.back + c.head.len();
                if end >= group_len
                    && hay[..end].ends_with(&c.head)
                    && after.starts_with(&c.tail)
                    && hay[end - group_len..end].iter().all(|&b| is_base64_char(b))
                {
                    self.base64_at(hay, end - group_len, c.back, depth, &mut decodings, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use crate::matcher::Matcher;

    const TOKEN: &str = "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT"; // tokenguard:allow

    fn wrap(s: &str, w: usize) -> String {
        let lines: Vec<&str> =
            s.as_bytes().chunks(w).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("data: |\n  {}\n", lines.join("\n  "))
    }

    /// Base64 of `x` repeated, then the token (in UTF-16 too, and nested), wrapped at 64 and
    /// 76 columns: found at every length of the text before it, also where a line end cuts
    /// the keyword's signature.
    #[test]
    fn wrapped_tokens_are_found_wherever_a_line_end_falls() {
        let m = Matcher::builtin();
        let mut missed = Vec::new();
        for w in [64, 76] {
            for n in 0..200 {
                let plain = format!("{}:{TOKEN}\n", "x".repeat(n));
                let utf16: Vec<u8> = plain.encode_utf16().flat_map(u16::to_le_bytes).collect();
                let one = STANDARD.encode(&plain);
                let nested = STANDARD.encode(format!("auth: {one}\n"));
                for (kind, enc) in
                    [("one", one.clone()), ("nested", nested), ("utf16", STANDARD.encode(utf16))]
                {
                    if m.find(wrap(&enc, w).as_bytes()).is_empty() {
                        missed.push((kind, w, n));
                    }
                }
            }
        }
        assert!(missed.is_empty(), "{missed:?}");
    }
}
