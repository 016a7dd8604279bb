//! Tokens written wholly in escapes: every character URL-encoded (`%64%74%30%63…`), as a
//! careless encoder of a URL writes them. The prefilter looks for the keyword in that form;
//! the escapes (and any plain characters or HTML character references among them) are
//! decoded into a small buffer, searched there, and the match is moved back onto the
//! escapes. (The keyword as HTML character references, `&#100;&#116;&#48;`, is not looked
//! for: its two patterns made the prefilter a fifth slower on clean text.)

use super::*;

/// The escaped forms of `keyword` the prefilter looks for: URL-encoded (upper-case hex; the
/// hex digits of `dt0` are digits, so either case is found).
pub(super) fn escaped_forms(keyword: &[u8]) -> Vec<Vec<u8>> {
    let each = |f: &dyn Fn(u8) -> String| -> Vec<u8> {
        keyword.iter().map(|&b| f(b)).collect::<String>().into_bytes()
    };
    vec![each(&|b| format!("%{b:02X}"))]
}

/// One character at `text[i..]`: an escape (`%HH`, `&#D;`, `&#xH;`) or a letter, digit or
/// `.` as written; its byte and length.
fn char_at(text: &[u8], i: usize) -> Option<(u8, usize)> {
    let hex = |s: &[u8]| -> Option<u8> {
        let s = std::str::from_utf8(s).ok()?;
        u8::from_str_radix(s, 16).ok()
    };
    match text.get(i)? {
        b'%' => Some((hex(text.get(i + 1..i + 3)?)?, 3)),
        b'&' if text.get(i + 1) == Some(&b'#') => {
            let (radix, from) = match text.get(i + 2) {
                Some(b'x' | b'X') => (16, i + 3),
                _ => (10, i + 2),
            };
            let digits = text[from..].iter().take(5).take_while(|b| b.is_ascii_hexdigit()).count();
            if digits == 0 || text.get(from + digits) != Some(&b';') {
                return None;
            }
            let s = std::str::from_utf8(&text[from..from + digits]).ok()?;
            let v = u32::from_str_radix(s, radix).ok()?;
            Some((u8::try_from(v).ok().filter(u8::is_ascii)?, from + digits + 1 - i))
        }
        &b if b.is_ascii_alphanumeric() || b == b'.' => Some((b, 1)),
        _ => None,
    }
}

impl super::Matcher {
    /// A keyword written in escapes at `at`: the characters from there are decoded (as far
    /// as the longest token reaches, and one more for the boundary after it) and a structured
    /// token is looked for at their start.
    #[inline(never)]
    pub(super) fn escaped_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        if self.groups[g].structured.is_empty() || !boundary_before(hay, at) {
            return None;
        }
        let mut chars = Vec::with_capacity(self.structured_reach + 2);
        // Where each decoded character starts in `hay`, and (last) where the last one ends.
        let mut pos = Vec::with_capacity(self.structured_reach + 3);
        let mut i = at;
        while chars.len() <= self.structured_reach {
            let Some((b, len)) = char_at(hay, i) else { break };
            chars.push(b);
            pos.push(i);
            i += len;
        }
        pos.push(i);
        let h: H = self.structured_at(&chars, 0, g)?;
        let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
        Some(h.moved(pos[span.start]..pos[span.end], pos[secret.start]..pos[secret.end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_characters() {
        let forms: Vec<String> =
            escaped_forms(b"dt0").into_iter().map(|f| String::from_utf8(f).unwrap()).collect();
        assert_eq!(forms, ["%64%74%30"]);
        assert_eq!(char_at(b"%2e", 0), Some((b'.', 3)));
        assert_eq!(char_at(b"&#46;", 0), Some((b'.', 5)));
        assert_eq!(char_at(b"&#x2E;x", 0), Some((b'.', 6)));
        assert_eq!(char_at(b"&#46", 0), None);
        assert_eq!(char_at(b"&#1000;", 0), None);
        assert_eq!(char_at(b"%zz", 0), None);
        assert_eq!(char_at(b"\"", 0), None);
    }
}
