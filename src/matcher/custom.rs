//! Regex rules (custom rules of a configuration, and built-ins of that kind): the pattern
//! around each keyword, or over the whole input for a rule without keywords.

use super::softbreak::*;
use super::structured::*;
use super::*;

impl super::Matcher {
    /// A regex rule's keyword at `at`: the rule runs over the line around it (and over it read
    /// as quoted-printable, when the rule decodes that and the line is written so). Returns
    /// where the line ends.
    pub(super) fn regex_near<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        rule: usize,
        out: &mut Vec<H>,
    ) -> usize {
        let mut line = line_around(hay, at);
        let window = self.rules[rule].window;
        if window > 0 {
            line.end = line_around(hay, (line.end + window).min(hay.len())).end;
        }
        self.regex_in(hay, line.clone(), rule, out);
        if self.rules[rule].decodes(Decode::QuotedPrintable) {
            if let Some(joined) = quoted_printable_window(hay, line.clone()) {
                let mut found: Vec<H> = Vec::new();
                self.regex_in(&joined.chars, 0..joined.chars.len(), rule, &mut found);
                out.extend(found.into_iter().map(|h| joined.moved(h)));
            }
        }
        line.end
    }

    /// A regex rule over `hay[range]`.
    pub(super) fn regex_in<H: Found>(
        &self,
        hay: &[u8],
        range: Range<usize>,
        rule: usize,
        out: &mut Vec<H>,
    ) {
        let Detector::Regex(re) = &self.rules[rule].detector else { return };
        let re = re.get();
        let base = range.start;
        for caps in re.captures_iter(&hay[range]) {
            // The group `token`, if any, is the token; the rest of the match is context
            // (boundaries, a key).
            let whole = caps.name("token").unwrap_or_else(|| caps.get(0).expect("group 0 exists"));
            if whole.is_empty() {
                continue;
            }
            let secret = caps.name("secret").unwrap_or(whole);
            let text = whole.as_bytes();
            if !checksum_holds(self.rules[rule].checksum, text, &[secret.as_bytes()])
                || !shape_holds(self.rules[rule].shape, secret.as_bytes())
                || self.is_known(text)
                || self.is_known(secret.as_bytes())
                || caps.name("id").is_some_and(|id| self.is_known(id.as_bytes()))
            {
                continue;
            }
            let (before, after) =
                (&text[..secret.start() - whole.start()], &text[secret.end() - whole.start()..]);
            let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            // With an `id` group, the identifier alone stands before the mask (not the text
            // between it and a secret found lines away).
            let masked = match caps.name("id") {
                Some(id) if id.end() <= secret.start() => {
                    format!("{}{MASK}{}", shown(id.as_bytes()), shown(after))
                }
                _ => format!("{}{MASK}{}", shown(before), shown(after)),
            };
            let token_id = match caps.name("id") {
                Some(id) => Some(shown(id.as_bytes())),
                None => (!before.is_empty())
                    .then(|| shown(before).trim_end_matches(['.', ':', '=']).to_string()),
            };
            out.push(H::found(
                Match {
                    rule,
                    span: base + whole.start()..base + whole.end(),
                    secret: base + secret.start()..base + secret.end(),
                    token_id,
                    masked,
                    fingerprint: fingerprint(text),
                    encoding: Encoding::Plain,
                },
                || (text.into(), before.len()),
            ));
        }
    }
}
