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
            if let Some(joined) = soft_window(hay, start..end, KEYED_WINDOW) {
                let kw = joined.first_at_or_after(at);
                let mut found: Vec<H> = Vec::new();
                self.keyed_near(&joined.chars, kw, kw_len, rule, false, &mut found);
                out.extend(found.into_iter().map(|h| joined.moved(h)));
                skip_to = at + 1;
            }
        }
        // A name whose value is a sibling key (`- name: DT_API_TOKEN` then `value: …`, in
        // either order, perhaps with blank or comment lines between; `"name": "…",` then
        // `"value": "…"` in pretty-printed JSON): the key and the value's line are read joined.
        let sibling =
            if *own_grammar { sibling_value(hay, start..end, at + kw_len, lo, hi) } else { None };
        let (text, key_len, value_from) = match &sibling {
            Some(v) => {
                let mut joined = hay[start..at + kw_len].to_vec();
                joined.push(b'\n');
                joined.extend_from_slice(&hay[v.clone()]);
                (std::borrow::Cow::Owned(joined), at + kw_len - start, v.start)
            }
            None => (std::borrow::Cow::Borrowed(&hay[start..end]), end - start, end),
        };
        // Offsets of the text read, in `hay`.
        let place = |i: usize| if i <= key_len { start + i } else { value_from + i - key_len - 1 };
        if let Some(v) = sibling.as_ref().filter(|v| v.start > end) {
            end = v.end;
        }
        // Every key of the pattern ends in the keyword, and the value follows the key after
        // a separator: without a value there, the pattern cannot match here (most keywords
        // in code: `get_api_token()`, `${DT_API_TOKEN}`).
        if *own_grammar
            && !value_follows(text.get(at - start + kw_len..).unwrap_or_default(), &k.value)
        {
            // A Kubernetes Secret's `data:` holds the value in base64 under its key.
            if let Some(h) = self.keyed_base64(hay, start..end, at + kw_len, rule) {
                out.push(h);
            }
            return at + 1;
        }
        let Plan::Keyed { pattern, .. } = &self.plans[rule] else { return hay.len() };
        for caps in pattern.get().captures_iter(&text) {
            let v = caps.name("value").expect("group exists");
            let (vs, ve) = (place(v.start()), place(v.end()));
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

impl super::Matcher {
    /// A keyed rule's value in base64 right after its key and separator (`DT_API_TOKEN:
    /// <base64>` in a Kubernetes Secret's `data:`): a run of base64 exactly as long as an
    /// allowed value takes, decoded and read with the key as if written plainly; the match
    /// covers the encoded run.
    fn keyed_base64<H: Found>(
        &self,
        hay: &[u8],
        line: Range<usize>,
        after: usize,
        rule: usize,
    ) -> Option<H> {
        let (Plan::Keyed { pattern, .. }, Detector::Keyed(k)) =
            (&self.plans[rule], &self.rules[rule].detector)
        else {
            return None;
        };
        let tail = hay.get(after..line.end)?;
        let sep = tail.iter().take(16).take_while(|b| b" \t\"':=".contains(b)).count();
        let from = after + sep;
        let run = hay[from..line.end].iter().take_while(|&&b| is_base64_char(b)).count();
        let pad = hay[from + run..line.end].iter().take(2).take_while(|&&b| b == b'=').count();
        let after_run = hay.get(from + run + pad);
        if sep == 0
            || !k.value.lengths.iter().any(|n| n.div_ceil(3) * 4 == run + pad)
            || after_run.is_some_and(|&b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (value, _) = decode_base64_prefix(&hay[from..from + run]);
        if !k.value.lengths.contains(&value.len())
            || !value.iter().all(|&b| k.value.alphabet.contains(b))
        {
            return None;
        }
        let mut text = hay[line.start..from].to_vec();
        text.extend_from_slice(&value);
        let caps = pattern.get().captures(&text)?;
        let v = caps.name("value")?;
        if v.start() != from - line.start
            || !shape_holds(k.value.shape, &value)
            || !checksum_holds(self.rules[rule].checksum, &value, &[&value])
            || self.is_known(&value)
        {
            return None;
        }
        let span = from..from + run + pad;
        Some(H::found(
            Match {
                rule,
                span: span.clone(),
                secret: span,
                token_id: None,
                masked: "*".repeat(value.len()),
                fingerprint: fingerprint(&value),
                encoding: Encoding::Base64,
            },
            || (value.as_slice().into(), 0),
        ))
    }
}

/// The sibling `value` key of a name that ends at `after` on the line `line` (nothing but
/// closing quotes, a comma, a brace or blanks after it): the next line that is not blank or a
/// comment when it starts with a `value` key (`value: …`, `"value": "…"`); else, for a `name`
/// key that does not start a list item, a `value` key before it on its line (`{"value": "…",
/// "name": "…"}`) or on the line before (blank and comment lines skipped). Returns the range
/// from the `value` key (or its opening quote) to the end of that line (or the `name` key),
/// within `lo..hi`.
fn sibling_value(
    hay: &[u8],
    line: Range<usize>,
    after: usize,
    lo: usize,
    hi: usize,
) -> Option<Range<usize>> {
    if !hay.get(after..line.end)?.iter().all(|b| b" \t\r\"',}]".contains(b)) {
        return None;
    }
    let skipped = |l: &[u8]| {
        let t = l.trim_ascii();
        t.is_empty() || t.starts_with(b"#") || t.starts_with(b"//")
    };
    // Where a `value` key starts `t` (after a quote), if it does.
    let value_key = |t: &[u8]| {
        let q = usize::from(t.first().is_some_and(|b| *b == b'"' || *b == b'\''));
        let key = t.get(q..q + 5).is_some_and(|v| v.eq_ignore_ascii_case(b"value"));
        let sep = t[(q + 5).min(t.len())..]
            .iter()
            .find(|b| !b" \t\"'".contains(b))
            .is_some_and(|b| *b == b':' || *b == b'=');
        key && sep
    };
    // Forward.
    let mut p = line.end;
    while p < hi && hay[p] == b'\n' {
        let s = p + 1;
        let e = memchr::memchr(b'\n', &hay[s..hi]).map_or(hi, |q| s + q);
        if skipped(&hay[s..e]) {
            p = e;
            continue;
        }
        let t = hay[s..e].trim_ascii_start();
        if value_key(t) {
            return Some(e - t.len()..e);
        }
        break;
    }
    // Backward: the key must be the value of a `name` key that is not a new list item.
    let head = &hay[line.start..after];
    let trimmed = head.trim_ascii_start();
    if trimmed.starts_with(b"-") {
        return None;
    }
    let name = name_key_before(head)?;
    let name = line.start + name;
    // On the same line.
    if let Some(v) = memchr::memmem::rfind_iter(&hay[line.start..name], b"alue")
        .map(|k| line.start + k)
        .find(|&k| k > line.start && hay[k - 1].eq_ignore_ascii_case(&b'v'))
    {
        let v = v - 1;
        let from =
            if v > line.start && (hay[v - 1] == b'"' || hay[v - 1] == b'\'') { v - 1 } else { v };
        if value_key(&hay[from..name]) {
            return Some(from..name);
        }
    }
    let mut s = line.start;
    while s > lo + 1 && hay[s - 1] == b'\n' {
        let e = s - 1;
        let b = memchr::memrchr(b'\n', &hay[lo..e]).map_or(lo, |q| lo + q + 1);
        if skipped(&hay[b..e]) {
            s = b;
            continue;
        }
        let t = hay[b..e].trim_ascii_start();
        let t =
            t.strip_prefix(b"-").or_else(|| t.strip_prefix(b"{")).unwrap_or(t).trim_ascii_start();
        if value_key(t) {
            return Some(e - t.len()..e);
        }
        break;
    }
    None
}

/// Where a `name` key stands in `head` (a line up to the end of a keyword) when the rest of
/// `head` is that key's value: `name: KEY`, `"name": "KEY"`, `name="KEY"`.
fn name_key_before(head: &[u8]) -> Option<usize> {
    let key_char = |b: &u8| b.is_ascii_alphanumeric() || b"_.-".contains(b);
    let key_start = head.len() - head.iter().rev().take_while(|b| key_char(b)).count();
    let mut i = key_start;
    let skip = |i: &mut usize, set: &[u8]| {
        while *i > 0 && set.contains(&head[*i - 1]) {
            *i -= 1;
        }
    };
    skip(&mut i, b" \t\"'");
    if i == 0 || !(head[i - 1] == b':' || head[i - 1] == b'=') {
        return None;
    }
    i -= 1;
    skip(&mut i, b" \t\"'");
    let word = i >= 4
        && head[i - 4..i].eq_ignore_ascii_case(b"name")
        && (i == 4 || !head[i - 5].is_ascii_alphanumeric());
    word.then(|| i - 4)
}

/// Whether `text` (what follows a keyword) starts with a separator the keyed detector's own
/// grammar allows (quotes, blanks, `=`, `=3D`, `:`, `=>`, `,`, `>`, `%20`, `%2520`, `\`, `value=`, a
/// YAML anchor or tag, typographic quotes) and then a value of one of the allowed lengths and
/// no more. A cheap necessary condition checked before the pattern runs.
pub(super) fn value_follows(text: &[u8], value: &Part) -> bool {
    // `=3D` is quoted-printable for `=` in a mail body, or the start of a plain value: read
    // the second way only where the first met one.
    match value_follows_as(text, value, true) {
        (true, _) => true,
        (false, escape) => escape && value_follows_as(text, value, false).0,
    }
}

/// [`value_follows`], reading `=3D` as `=` or not; and whether such an escape was read.
fn value_follows_as(text: &[u8], value: &Part, quoted_printable: bool) -> (bool, bool) {
    let value_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let mut i = 0;
    let mut escape = false;
    while i < text.len().min(64) {
        match text[i] {
            b'=' if quoted_printable
                && text.len() >= i + 3
                && text[i + 1..i + 3].eq_ignore_ascii_case(b"3d") =>
            {
                escape = true;
                i += 3
            }
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
    (i > 0 && value.lengths.contains(&run), escape)
}
