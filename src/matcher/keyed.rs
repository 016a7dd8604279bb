//! Keyed (contextual) tokens: a value that counts only after its key (the older Dynatrace
//! format after `Api-Token`, `DT_API_TOKEN=`, `- name: ...` / `value:`), in plain and UTF-16
//! text.

use super::softbreak::*;
use super::structured::*;
use super::*;

impl super::Matcher {
    /// A keyed or regex rule's keyword in UTF-16 text at `at`: the characters of the line
    /// around it are read from every other byte (either byte order) into a small buffer and
    /// searched there; matches cover the UTF-16 bytes. Returns where the search reached, so
    /// that later keywords inside it are not checked again.
    pub(super) fn utf16_near<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        rule: usize,
        out: &mut Vec<H>,
    ) -> usize {
        // An ASCII character of UTF-16 text: a byte beside a zero (after it in little-endian
        // text, before it in big-endian text; inside the text, both hold). Other characters
        // end the stretch read, as a line end does.
        let ascii = |p: usize| -> Option<u8> {
            let b = *hay.get(p)?;
            let zero_beside = hay.get(p + 1) == Some(&0) || (p > 0 && hay[p - 1] == 0);
            (b != 0 && b < 0x80 && b != b'\n' && zero_beside).then_some(b)
        };
        let reach = 2 * match self.rules[rule].detector {
            Detector::Regex(_) => SOFT_LINE_REACH,
            _ => KEYED_WINDOW,
        };
        let mut start = at;
        while start >= 2 && at - start < reach && ascii(start - 2).is_some() {
            start -= 2;
        }
        let mut chars = Vec::with_capacity(reach + 1);
        let mut p = start;
        while p < at + reach {
            let Some(b) = ascii(p) else { break };
            chars.push(b);
            p += 2;
        }
        let keyword = (at - start) / 2;
        let mut found: Vec<H> = Vec::new();
        match &self.rules[rule].detector {
            Detector::Regex(_) => self.regex_in(&chars, 0..chars.len(), rule, &mut found),
            _ => {
                // Every keyword of the rule in the stretch, without regard to case (the key
                // pattern ignores case too).
                let mut keywords: Vec<&String> = Vec::new();
                for k in &self.rules[rule].keywords {
                    if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                        keywords.push(k);
                    }
                }
                let mut done = keyword;
                while done < chars.len() {
                    let next = keywords
                        .iter()
                        .filter_map(|k| {
                            chars[done..]
                                .windows(k.len())
                                .position(|w| w.eq_ignore_ascii_case(k.as_bytes()))
                                .map(|p| (p, k.len()))
                        })
                        .min();
                    let Some((k, len)) = next else { break };
                    done = self
                        .keyed_near(&chars, done + k, len, rule, false, &mut found)
                        .max(done + k + 1);
                }
            }
        }
        for h in found {
            let byte = |i: usize| start + 2 * i;
            let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
            out.push(h.moved(
                byte(span.start)..byte(span.end) - 1,
                byte(secret.start)..byte(secret.end) - 1,
            ));
        }
        start + 2 * chars.len()
    }

    /// Runs a keyed rule's pattern over the window around its keyword (`kw_len` bytes at
    /// `at`); returns where the window ends so that later keywords inside it are not checked
    /// again. With `soft`, a line joined to its neighbour by a quoted-printable soft break is
    /// read without it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn keyed_near<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        kw_len: usize,
        rule: usize,
        soft: bool,
        out: &mut Vec<H>,
    ) -> usize {
        let (Plan::Keyed { own_grammar, soft: qp, .. }, Detector::Keyed(k)) =
            (&self.plans[rule], &self.rules[rule].detector)
        else {
            return hay.len();
        };
        // The line around the keyword, looked for only as far as the window reaches: on a
        // long line dense with keywords, searching the whole line for each would be quadratic.
        let (lo, hi) = (at.saturating_sub(KEYED_WINDOW), (at + KEYED_WINDOW).min(hay.len()));
        let start = memchr::memrchr(b'\n', &hay[lo..at]).map_or(lo, |p| lo + p + 1);
        let mut end = memchr::memchr(b'\n', &hay[at..hi]).map_or(hi, |p| at + p);
        // Joined over soft breaks, the line is read again without them (what it finds twice is
        // one match); later keywords are not skipped then.
        let mut skip_to = usize::MAX;
        if soft && *qp && soft_neighbour(hay, start..end) {
            if let Some((chars, pos)) = soft_window(hay, start..end, KEYED_WINDOW) {
                let kw = pos.partition_point(|&p| p < at);
                let mut found: Vec<H> = Vec::new();
                self.keyed_near(&chars, kw, kw_len, rule, false, &mut found);
                for h in found {
                    let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
                    out.push(h.moved(
                        pos[span.start]..pos[span.end - 1] + 1,
                        pos[secret.start]..pos[secret.end - 1] + 1,
                    ));
                }
                skip_to = at + 1;
            }
        }
        // `- name: DT_API_TOKEN` (Kubernetes, Compose) has its `value:` on the next line.
        if end < hi
            && hay[at + kw_len.min(end - at)..end].iter().all(|b| b" \t\r\"'".contains(b))
            && hay[end + 1..hi]
                .trim_ascii_start()
                .get(..5)
                .is_some_and(|v| v.eq_ignore_ascii_case(b"value"))
        {
            end = memchr::memchr(b'\n', &hay[end + 1..hi]).map_or(hi, |p| end + 1 + p);
        }
        // Every key of the pattern ends in the keyword, and the value follows the key after
        // a separator: without a value there, the pattern cannot match here (most keywords
        // in code: `get_api_token()`, `${DT_API_TOKEN}`).
        if *own_grammar && !value_follows(hay.get(at + kw_len..end).unwrap_or_default(), &k.value) {
            return at + 1;
        }
        let Plan::Keyed { pattern, .. } = &self.plans[rule] else { return hay.len() };
        for caps in pattern.get().captures_iter(&hay[start..end]) {
            let v = caps.name("value").expect("group exists");
            let (vs, ve) = (start + v.start(), start + v.end());
            let after_ok = hay
                .get(ve)
                .is_none_or(|&b| !(b.is_ascii_alphanumeric() || k.value.alphabet.contains(b)));
            let value = &hay[vs..ve];
            if !after_ok
                || !shape_holds(k.value.shape, value)
                || !checksum_holds(self.rules[rule].checksum, value, &[value])
                || self.is_known(value)
            {
                continue;
            }
            out.push(H::found(
                Match {
                    rule,
                    span: vs..ve,
                    secret: vs..ve,
                    token_id: None,
                    masked: "*".repeat(value.len()),
                    fingerprint: fingerprint(value),
                    encoding: Encoding::Plain,
                },
                || (value.into(), 0),
            ));
        }
        // Keywords whose whole match (key, separator, value) fits in this window are done;
        // one nearer the window's end may have its value beyond it and is checked again.
        let line_ends_in_window = end < hi || hay.get(hi).is_none_or(|&b| b == b'\n');
        let reached =
            if line_ends_in_window { end } else { end.saturating_sub(KEYED_REACH).max(at + 1) };
        reached.min(skip_to)
    }
}

/// Whether `text` (what follows a keyword) starts with a separator the keyed detector's own
/// grammar allows (quotes, blanks, `=`, `:`, `=>`, `,`, `>`, `%20`, `%2520`, `\`, `value=`, a
/// YAML anchor or tag, typographic quotes) and then a value of one of the allowed lengths and
/// no more. A cheap necessary condition checked before the pattern runs.
pub(super) fn value_follows(text: &[u8], value: &Part) -> bool {
    let value_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let mut i = 0;
    while i < text.len().min(64) {
        match text[i] {
            b'"' | b'\'' | b'`' | b' ' | b'\t' | b'=' | b':' | b'>' | b',' | b'\\' | b']'
            | b';' => i += 1,
            b'\n' | b'\r' => i += 1,
            // Typographic quotes (UTF-8), and YAML `!!str` before the value.
            0x80.. => i += 1,
            b'!' if text[i..].starts_with(b"!!str") => i += 5,
            // `&anchor`, and the entities `&quot;`, `&#34;` as quotes.
            b'&' => {
                i += 1 + usize::from(text.get(i + 1) == Some(&b'#'));
                i += text[i..].iter().take_while(|b| value_char(b)).count();
            }
            b'%' if text[i..].starts_with(b"%20") => i += 3,
            b'%' if text[i..].starts_with(b"%2520") => i += 5,
            b'v' | b'V'
                if i > 0
                    && text.len() >= i + 5
                    && text[i..i + 5].eq_ignore_ascii_case(b"value") =>
            {
                i += 5
            }
            _ => break,
        }
    }
    // Exactly an allowed length: the pattern's match is checked for a boundary after it
    // anyway, and a longer run (base64 after `apiToken:`, a hash) is by far the most common
    // case here.
    let run = text
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take(value.max_len() + 1)
        .take_while(|&&b| value.alphabet.contains(b))
        .count();
    i > 0 && value.lengths.contains(&run)
}
