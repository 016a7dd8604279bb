//! Tokens written wholly in escapes: every character URL-encoded (`%64%74%30%63…`), as a
//! careless encoder of a URL writes them. The prefilter looks for the keyword in that form;
//! the escapes (and any plain characters or HTML character references among them) are
//! decoded into a small buffer, searched there, and the match is moved back onto the
//! escapes. (The keyword as HTML character references, `&#100;&#116;&#48;`, is not looked
//! for by the prefilter: its two patterns made it a fifth slower on clean text. A run of
//! references is found by the pass that samples the text every 48 bytes instead, and decoded
//! whole: [`Matcher::entities_at`].)

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

/// Most bytes of a run of HTML character references decoded at once.
const MAX_ENTITY_RUN: usize = 64 << 10;

/// The length of the HTML character reference (`&#D;`, `&#xH;`) that ends `text`, if one
/// does.
fn entity_before(text: &[u8]) -> Option<usize> {
    let semi = text.len().checked_sub(1).filter(|&i| text[i] == b';')?;
    let digits = text[..semi].iter().rev().take(6).take_while(|b| b.is_ascii_hexdigit()).count();
    (1..=digits).find_map(|n| {
        let head = &text[..semi - n];
        let len = n
            + 1
            + if head.ends_with(b"&#") {
                2
            } else if head.len() >= 3 && head[head.len() - 3..].eq_ignore_ascii_case(b"&#x") {
                3
            } else {
                return None;
            };
        char_at(text, text.len() - len).is_some_and(|(_, l)| l == len).then_some(len)
    })
}

impl super::Matcher {
    /// A run of HTML character references (`&#100;&#116;&#48;…`, `&#x64;…`, as some web pages
    /// and XML write a whole token) that the pass over line ends met at `probe`: decoded from
    /// its first reference (letters, digits and dots as written among them too), searched
    /// with every rule, and the matches moved back onto the references. Returns where the run
    /// ends, so that the pass goes on after it.
    #[inline(never)]
    pub(super) fn entities_at<H: Found>(
        &self,
        hay: &[u8],
        probe: usize,
        depth: u8,
        out: &mut Vec<H>,
    ) -> usize {
        // The probe may stand inside a reference: the next one starts at most 7 bytes on;
        // from there, back over the references before it.
        let Some(next) = (probe..(probe + 8).min(hay.len())).find(|&i| hay[i] == b'&') else {
            return probe + 1;
        };
        let mut start = next;
        while next - start < 1024 {
            match entity_before(&hay[..start]) {
                Some(len) => start -= len,
                None => break,
            }
        }
        let mut chars = Vec::new();
        let mut pos = Vec::new();
        let mut i = start;
        while i < hay.len() && i - start < MAX_ENTITY_RUN {
            let Some((b, len)) = char_at(hay, i) else { break };
            chars.push(b);
            pos.push(i);
            i += len;
        }
        pos.push(i);
        let mut inner: Vec<H> = Vec::new();
        self.find_into(&chars, depth + 1, &mut inner);
        for h in inner {
            let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
            out.push(h.moved(pos[span.start]..pos[span.end], pos[secret.start]..pos[secret.end]));
        }
        i.max(probe + 1)
    }

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
    fn references_before_a_place() {
        assert_eq!(entity_before(b"x&#100;"), Some(6));
        assert_eq!(entity_before(b"&#x2E;"), Some(6));
        assert_eq!(entity_before(b"&#X2e;"), Some(6));
        assert_eq!(entity_before(b"&#46;"), Some(5));
        assert_eq!(entity_before(b"&amp;"), None);
        assert_eq!(entity_before(b"#100;"), None);
        assert_eq!(entity_before(b"&#1000;"), None, "not ASCII");
        assert_eq!(entity_before(b""), None);
    }

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
