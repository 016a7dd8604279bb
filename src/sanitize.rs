//! Scanned text is hostile: file names and excerpts printed to a terminal lose control and
//! bidirectional-override characters, which could otherwise rewrite the screen or hide a line.

use std::borrow::Cow;

/// `text` with control characters and bidi controls replaced by a visible escape (borrowed
/// as it is when it holds none, the usual case).
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi(c) || c == '\u{feff}' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(for_terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(for_terminal("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(for_terminal("ok/файл.txt"), "ok/файл.txt");
    }
}
