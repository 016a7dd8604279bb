//! Keyed (contextual) tokens: a value that counts only after its key (the older Dynatrace
//! format after `Api-Token`, `DT_API_TOKEN=`, `- name: ...` / `value:`), in plain and UTF-16
//! text.

use super::custom::view::{self, View};
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
        // end the stretch read, as a line end does, unless the rule reads a window of lines
        // (a private key block, a key pair on two lines).
        let window = self.rules[rule].window;
        let ascii = |p: usize| -> Option<u8> {
            let b = *hay.get(p)?;
            let zero_beside = hay.get(p + 1) == Some(&0) || (p > 0 && hay[p - 1] == 0);
            (b != 0 && b < 0x80 && zero_beside).then_some(b)
        };
        let reach = 2 * match self.rules[rule].detector {
            Detector::Regex(_) => SOFT_LINE_REACH + window,
            _ => KEYED_WINDOW,
        };
        let mut start = at;
        while start >= 2 && at - start < reach && ascii(start - 2).is_some_and(|b| b != b'\n') {
            start -= 2;
        }
        let mut chars = Vec::with_capacity(reach + 1);
        // Where the keyword's line ends in `chars`: the window's lines go on from there.
        let mut line_end = None;
        let mut p = start;
        while p < at + reach {
            let Some(b) = ascii(p) else { break };
            if b == b'\n' && line_end.is_none() {
                if window == 0 {
                    break;
                }
                line_end = Some(chars.len());
            }
            if line_end.is_some_and(|e| chars.len() - e > window) {
                break;
            }
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
        // A stretch of lines is read again from the next keyword on that no match covers (a
        // second key block may start in it and end past it); a line, from its end.
        let mut covered = at + 1;
        for h in found {
            let byte = |i: usize| start + 2 * i;
            let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
            covered = covered.max(byte(span.end) - 1);
            out.push(h.moved(
                byte(span.start)..byte(span.end) - 1,
                byte(secret.start)..byte(secret.end) - 1,
            ));
        }
        if window > 0 {
            covered
        } else {
            start + 2 * chars.len()
        }
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
        // Every key of the pattern ends in the keyword, and its value follows after a
        // separator on its line, or on a sibling line when the rest of the key's line only
        // closes it: most keywords are ruled out by the few bytes after them, before their
        // line is looked for (`get_api_token()`, `tokens`, `${{ secrets.DT_API_TOKEN }}`,
        // `token = var.x`).
        let after = at + kw_len;
        if *own_grammar && no_value_after(&hay[after..], &k.value) {
            // (A percent escape right after the key, `Api-Token%3D…`; a here-document or a
            // CDATA section, whose value comes later: [`deferred_value`].)
            if soft && value_later(&hay[after..]) {
                self.keyed_in_views(hay, at, kw_len, rule, out);
            }
            return at + 1;
        }
        let before = out.len();
        // The line around the keyword, looked for only as far as the window reaches: on a
        // long line dense with keywords, searching the whole line for each would be quadratic.
        let (lo, hi) = (at.saturating_sub(KEYED_WINDOW), (at + KEYED_WINDOW).min(hay.len()));
        let start = line_start(hay, lo, at);
        let mut end = line_end(hay, at, hi);
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
        // The same on the line: without a value after a separator, nor a sibling line, the
        // pattern cannot match here.
        let rest = &hay[after..end];
        if *own_grammar && !closes_only(rest) && !value_follows(rest, &k.value) {
            // A Kubernetes Secret's `data:` holds the value in base64 under its key.
            if base64_value_after(rest, &k.value).is_some() {
                out.extend(self.keyed_base64(hay, start..end, after, rule));
            }
            if soft && out.len() == before {
                self.keyed_in_views(hay, at, kw_len, rule, out);
            }
            return at + 1;
        }
        // A name whose value is a sibling key (`- name: DT_API_TOKEN` then `value: …`, in
        // either order, perhaps with blank or comment lines between; `"name": "…",` then
        // `"value": "…"` in pretty-printed JSON): the key and the value's line are read joined.
        let sibling =
            if *own_grammar { sibling_value(hay, start..end, after, lo, hi) } else { None };
        let (text, key_len, value_from) = match &sibling {
            Some(v) => {
                let mut joined = hay[start..after].to_vec();
                joined.push(b'\n');
                joined.extend_from_slice(&hay[v.clone()]);
                (std::borrow::Cow::Owned(joined), after - start, v.start)
            }
            None => (std::borrow::Cow::Borrowed(&hay[start..end]), end - start, end),
        };
        // Offsets of the text read, in `hay`.
        let place = |i: usize| if i <= key_len { start + i } else { value_from + i - key_len - 1 };
        if let Some(v) = sibling.as_ref().filter(|v| v.start > end) {
            end = v.end;
        }
        // The same test on the text read: the sibling's line after the key's.
        if *own_grammar && !value_follows(text.get(after - start..).unwrap_or_default(), &k.value) {
            if base64_value_after(&hay[after..end], &k.value).is_some() {
                out.extend(self.keyed_base64(hay, start..end, after, rule));
            }
            if soft && out.len() == before {
                self.keyed_in_views(hay, at, kw_len, rule, out);
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
        if soft && out.len() == before {
            self.keyed_in_views(hay, at, kw_len, rule, out);
        }
        reached.min(skip_to)
    }
}

impl super::Matcher {
    /// A keyed rule's keyword at `at` whose value was not found as written: when the value
    /// comes after the key's line or in a CDATA section ([`deferred_value`]), the key read
    /// joined to it; when escapes follow the key closely (`Api-Token%3D…` in a URL inside a
    /// URL, `TOKEN=&#x27;…&#x27;` in HTML, `TOKEN=\"…\"` in JSON inside JSON), its line read
    /// with percent escapes decoded, else with backslash escapes and character references
    /// decoded. Matches are moved back onto the text as written.
    #[inline(never)]
    fn keyed_in_views<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        kw_len: usize,
        rule: usize,
        out: &mut Vec<H>,
    ) {
        let after = at + kw_len;
        let rest = hay.get(after..).unwrap_or_default();
        // A value that comes after the key's line or in a CDATA section ([`deferred_value`])
        // needs `:` or `=` with nothing but a block indicator, quotes or a comment after it on
        // its line, `<<` or `><![CDATA[`.
        let q = rest.iter().take(2).take_while(|b| matches!(b, b'"' | b'\'')).count();
        let blanks = rest[q..].iter().take(4).take_while(|b| matches!(b, b' ' | b'\t')).count();
        let r = &rest[q + blanks..];
        let deferred = match r.first() {
            Some(b':' | b'=') => {
                let n = r[1..]
                    .iter()
                    .take(8)
                    .take_while(|b| {
                        matches!(b, b' ' | b'\t' | b'|' | b'>' | b'-' | b'+' | b'"' | b'\'')
                    })
                    .count();
                matches!(r.get(1 + n), None | Some(b'\n' | b'\r' | b'#'))
            }
            Some(b'<') => r.starts_with(b"<<") || r.starts_with(b"</key>"),
            Some(b'>') => r.starts_with(b"><![CDATA["),
            Some(b'{') => matches!(
                r[1..].iter().find(|b| !matches!(b, b' ' | b'\t')),
                None | Some(b'\n' | b'\r')
            ),
            _ => false,
        };
        // Which escape stands first after the separators written plainly (most keywords have
        // none: `&str`, `100%`, `\n`): a few bytes looked at, no search.
        let seps = rest
            .iter()
            .take(8)
            .take_while(|b| matches!(b, b'"' | b'\'' | b' ' | b'\t' | b'=' | b':' | b',' | b']'))
            .count();
        let rest = &rest[seps..];
        let percent =
            rest.len() > 2 && rest[0] == b'%' && rest[1..3].iter().all(u8::is_ascii_hexdigit);
        // (`\&quot;`: a reference behind a backslash, decoded first; `\n`: a line end
        // escaped in a string, the value perhaps below the key.)
        let escape = |r: &[u8]| view::escape_at(r).is_some() || r.starts_with(b"\\&");
        let other = escape(rest) || rest.starts_with(b"\\n") || rest.starts_with(b"\\r\\n") || {
            // An escaped quote a little later on the line: after a type or a default between
            // key and value (`?? \"…\"`, `: &str = \"…\"` in JSON inside JSON).
            let near = rest.iter().take(24).take_while(|&&b| b != b'\n');
            near.enumerate().any(|(p, &b)| p > 0 && matches!(b, b'\\' | b'&') && escape(&rest[p..]))
        };
        if !deferred && !percent && !other {
            return;
        }
        let (lo, hi) = (at.saturating_sub(KEYED_WINDOW), (at + KEYED_WINDOW).min(hay.len()));
        let line = line_start(hay, lo, at)..line_end(hay, at, hi);
        let deferred = deferred
            .then(|| deferred_value(hay, line.clone(), after, hi))
            .flatten()
            .map(|value| View::joined(hay, line.start..after, b" = ", value));
        let percent = percent.then(|| View::percent(hay, line.clone())).flatten();
        // A file written on one line inside a string (`\n` after the key): its line ends
        // decoded too, the view read as a file (the value below the key, in escapes again).
        let lines = other && memchr::memmem::find(&hay[after..line.end], b"\\n").is_some();
        let other = match (other, lines) {
            (false, _) => None,
            (true, false) => View::unescaped(hay, line),
            (true, true) => View::unescaped_lines(hay, line),
        };
        // (A file in a URL's parameter, `%0A` for its line ends, is read as that file too.)
        let file_in_url =
            percent.as_ref().is_some_and(|v| memchr::memchr(b'\n', &v.text).is_some());
        for (view, soft) in [(deferred, false), (percent, file_in_url), (other, lines)] {
            let Some(view) = view else { continue };
            let Some(kw) = view.position_of(at) else { continue };
            let mut found: Vec<H> = Vec::new();
            self.keyed_near(&view.text, kw, kw_len, rule, soft, &mut found);
            if !found.is_empty() {
                out.extend(found.into_iter().map(|h| view.moved(h)));
                return;
            }
        }
    }

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
        let (sep, run, pad) = base64_value_after(hay.get(after..line.end)?, &k.value)?;
        let from = after + sep;
        if hay.get(from + run + pad).is_some_and(|&b| b.is_ascii_alphanumeric()) {
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
pub(super) fn sibling_value(
    hay: &[u8],
    line: Range<usize>,
    after: usize,
    lo: usize,
    hi: usize,
) -> Option<Range<usize>> {
    if !closes_only(hay.get(after..line.end)?) {
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
            .find(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\''))
            .is_some_and(|b| *b == b':' || *b == b'=');
        key && sep
    };
    // Forward.
    let mut p = line.end;
    while p < hi && hay[p] == b'\n' {
        let s = p + 1;
        // The first character after the blanks decides for most lines (neither blank, a
        // comment nor a `value` key), without looking for their end.
        let f = s + hay[s..hi]
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r' | b'\x0c'))
            .count();
        if f < hi && !matches!(hay[f], b'\n' | b'#' | b'/' | b'"' | b'\'' | b'v' | b'V') {
            break;
        }
        let e = memchr::memchr(b'\n', &hay[f..hi]).map_or(hi, |q| f + q);
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

/// The base64 run right after a key's separator in `tail` (the rest of its line) when it is
/// exactly as long as an allowed value takes in base64: the separator's length, the run's
/// and its padding's.
#[inline]
fn base64_value_after(tail: &[u8], value: &Part) -> Option<(usize, usize, usize)> {
    let sep = tail
        .iter()
        .take(16)
        .take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b':' | b'='))
        .count();
    if sep == 0 {
        return None;
    }
    let run = tail[sep..].iter().take_while(|&&b| is_base64_char(b)).count();
    let pad = tail[sep + run..].iter().take(2).take_while(|&&b| b == b'=').count();
    value.lengths.iter().any(|n| n.div_ceil(3) * 4 == run + pad).then_some((sep, run, pad))
}

/// Whether no value can follow a key in `rest` (what follows its keyword, to the end of the
/// input), decided from the separators that are one byte each and the few bytes after them:
/// the byte after them starts neither a value, an escape nor a line end and does not close
/// the key (`Token!`, `token_url`, `: ${{ secrets.DT_API_TOKEN }}`), or the run of value
/// characters there is shorter than any value (`= var.x`, `" https://`). A cheap test that
/// [`value_follows`], [`base64_value_after`] and [`closes_only`] would fail on the line,
/// read as written or joined over quoted-printable soft breaks and escapes (which start with
/// `=` and end a run, so that this test leaves them to the line's reading).
pub(super) fn no_value_after(rest: &[u8], value: &Part) -> bool {
    // Values shorter than this are not ruled out here (a base64 value may be padded by 2).
    const SHORTEST: usize = 3;
    let Some(&min) = value.lengths.iter().min() else { return false };
    if min < SHORTEST {
        return false;
    }
    // (As many as [`value_follows_as`] reads.) A table: this runs after every keyword.
    static SEPARATOR: [bool; 256] = {
        let mut t = [false; 256];
        let seps = b"\"'` \t=:>,\\];|\r?+)";
        let mut i = 0;
        while i < seps.len() {
            t[seps[i] as usize] = true;
            i += 1;
        }
        t
    };
    let seps = rest.iter().take(64).take_while(|&&b| SEPARATOR[usize::from(b)]).count();
    let Some(&c) = rest.get(seps).filter(|_| seps < 64) else { return false };
    let tail = &rest[seps..];
    let escape_or_end = match c {
        // The line ends (a sibling line, or a soft break, may hold the value), or only
        // closes the key (`}`: the other closing bytes are separators). A template's `}}`
        // closes a reference to the key (`${{ secrets.KEY }}`), after which no value comes.
        b'\n' => true,
        b'}' => !tail.starts_with(b"}}"),
        // Escapes and typographic quotes.
        b'&' | 0x80.. => true,
        // An escaped line end (`KEY:\n  value: …` in a string): the value may come below.
        b'n' | b'r' => seps > 0 && rest[seps - 1] == b'\\',
        b'!' => tail.starts_with(b"!!str"),
        b'%' => tail.starts_with(b"%20") || tail.starts_with(b"%2520"),
        _ => false,
    };
    if escape_or_end {
        return false;
    }
    // A value must follow a separator.
    if seps == 0 {
        return true;
    }
    // A shell default (`${KEY:-…}`), a command's `--value`/`--body` are read with the line.
    if c == b'-'
        && (rest[seps - 1] == b':' || tail.starts_with(b"--value") || tail.starts_with(b"--body"))
    {
        return false;
    }
    // `value` between separator and value; `=3D` (quoted-printable for `=`), or any other
    // escape right after a separator `=`, reads otherwise joined.
    let value_key = tail.get(..5).is_some_and(|t| t.eq_ignore_ascii_case(b"value"));
    if value_key || (rest[seps - 1] == b'=' && c.is_ascii_hexdigit()) {
        return false;
    }
    let in_value =
        |b: u8| !matches!(b, b'\n' | b'=') && (value.alphabet.contains(b) || is_base64_char(b));
    let mut run = 0;
    while run < min && run < tail.len() && in_value(tail[run]) {
        run += 1;
    }
    // A short run may be a type or `or` before the value (`KEY: str = …`, `… or "…"`): an
    // `=` after the run and its blanks; a type's word that goes on with bytes the run does
    // not take (`&str`, `Optional[str]`, `&'static str`, `str?`), or `or`: only those few
    // are read whole.
    let after_run = &tail[run..];
    let assign = match after_run.first() {
        Some(b'=') => true,
        Some(b' ' | b'\t') => {
            after_run[1..].iter().take(3).find(|&&b| b != b' ' && b != b'\t') == Some(&b'=')
        }
        _ => false,
    };
    let typed = || {
        (matches!(after_run.first(), Some(b'[' | b']' | b'&' | b'?'))
            || tail.starts_with(b"or ")
            || tail.starts_with(b"or\t"))
            && typed_or_defaulted(tail).is_some()
    };
    run + 2 < min && !assign && !typed()
}

/// Whether a value may come after the key's line, or escaped, when [`no_value_after`] rules
/// out one right after it (`rest`: the bytes after the keyword): a percent escape right after
/// the key (`Api-Token%3D…`), a here-document, a CDATA section or a property list's next
/// `<string>`, a YAML block indicator after the colon (`KEY: >-`), an HCL block's `{`
/// (`variable "KEY" {`, its `default` below), a key in escaped quotes (`\"KEY\" {\n` in a
/// string: read unescaped). [`Matcher::keyed_in_views`] reads those.
pub(super) fn value_later(rest: &[u8]) -> bool {
    let block = || {
        let q = rest.iter().take(2).take_while(|b| matches!(b, b'"' | b'\'')).count();
        let r = &rest[q..];
        (r.first() == Some(&b':') && matches!(r[1..].trim_ascii_start().first(), Some(b'|' | b'>')))
            || r.trim_ascii_start().starts_with(b"{")
    };
    match rest.first() {
        Some(b'%') => true,
        Some(b' ') => rest.starts_with(b" <<"),
        Some(b'<') => rest.starts_with(b"<<") || rest.starts_with(b"</key>"),
        Some(b'>') => rest.starts_with(b"><![CDATA["),
        Some(b':' | b'"' | b'\'') => block(),
        Some(b'\\') => matches!(rest.iter().find(|&&b| b != b'\\'), Some(b'"' | b'\'')),
        _ => false,
    }
}

/// One quick test for the keyed rules sharing a keyword, when it stands for each rule's
/// ([`no_value_after`]): every rule reads its own grammar and takes the same bytes into a
/// value's run (its alphabet and base64's); the test then uses the shortest of their lengths.
/// Where it rules a value out, it rules it out for every rule (a run shorter than the
/// shortest value by more than two is shorter than each rule's), so the rules are not asked
/// one by one: with two rules on `token`, the test ran twice per keyword (gen.py's clean
/// text: one `token` in 240 bytes).
pub(super) fn shared_quick_test(rules: &[&Rule]) -> Option<Part> {
    let mut values = rules.iter().map(|r| match &r.detector {
        Detector::Keyed(k) if k.separators.is_none() => Some(&k.value),
        _ => None,
    });
    let first = values.next()??;
    let runs = |v: &Part| -> Vec<bool> {
        (0..=255u8)
            .map(|b| b != b'\n' && b != b'=' && (v.alphabet.contains(b) || is_base64_char(b)))
            .collect()
    };
    let run_of_first = runs(first);
    let mut shortest = first.lengths.iter().copied().min()?;
    for v in values {
        let v = v?;
        if runs(v) != run_of_first {
            return None;
        }
        shortest = shortest.min(v.lengths.iter().copied().min()?);
    }
    Some(Part { lengths: vec![shortest], ..first.clone() })
}

/// The length of a type between key and value (`str = `, `&str = `, `&'static str = `,
/// `Optional[str] = `, `string = `: a word then `=`) or of an `or ` (Python's default), at the
/// start of `text`; `None` when neither stands there.
fn typed_or_defaulted(text: &[u8]) -> Option<usize> {
    if text.starts_with(b"or ") || text.starts_with(b"or\t") {
        return Some(3);
    }
    let blanks = |t: &[u8]| t.iter().take(8).take_while(|&&b| b == b' ' || b == b'\t').count();
    // A reference (`&str`, `&'static str`), then the type's word.
    let mut i = match text.strip_prefix(b"&'static") {
        Some(rest) => 8 + blanks(rest),
        None => usize::from(text.first() == Some(&b'&')),
    };
    let word = text[i..]
        .iter()
        .take(31)
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'[' | b']'))
        .count();
    if word == 0 || word > 30 {
        return None;
    }
    i += word;
    i += usize::from(text.get(i) == Some(&b'?'));
    i += blanks(&text[i..]);
    (text.get(i) == Some(&b'=') && text.get(i + 1) != Some(&b'=')).then_some(i + 1)
}

/// The value that a key's line (`line`, the key ending at `after`) leaves to what follows:
/// a YAML key with nothing after its colon but a block indicator or a comment (`KEY: |`,
/// `KEY: >-`, `KEY:`), a TOML multi-line string (`key = """`), a shell here-document
/// (`KEY <<'EOF'`), each with the value on the next line that is not blank; or an XML
/// element's CDATA section (`<KEY><![CDATA[…]]>`). Returns the value's stretch (to its line's
/// end, or the section's), within `..hi`.
pub(super) fn deferred_value(
    hay: &[u8],
    line: Range<usize>,
    after: usize,
    hi: usize,
) -> Option<Range<usize>> {
    let rest = hay.get(after..line.end)?;
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    let closing = rest.iter().take_while(|b| matches!(b, b'"' | b'\'')).count();
    let rest = &rest[closing..];
    if let Some(cdata) = rest.strip_prefix(b"><![CDATA[") {
        let from = after + closing + 10;
        let len = memchr::memmem::find(cdata, b"]]>").unwrap_or(cdata.len());
        return Some(from..from + len);
    }
    let t = rest.trim_ascii();
    // An HCL block (`variable "KEY" {`): its `default = …` on one of the next lines.
    if t == b"{" {
        return block_default(hay, line.end, hi);
    }
    // A property list's `<key>KEY</key>`: the `<string>…` on the next line.
    if t == b"</key>" {
        let s = line.end + 1;
        let e = memchr::memchr(b'\n', hay.get(s..hi)?).map_or(hi, |q| s + q);
        let from = s + indent(&hay[s..e]);
        return hay[from..e].starts_with(b"<string>").then_some(from + 8..e);
    }
    let yaml = t.first() == Some(&b':');
    let next_line = match t {
        [b':', tail @ ..] => {
            let tail = tail.trim_ascii();
            let tail = match tail.iter().position(|&b| b == b'#') {
                Some(c) if c == 0 || tail[c - 1] == b' ' => tail[..c].trim_ascii(),
                _ => tail,
            };
            matches!(tail, b"" | b"|" | b"|-" | b"|+" | b">" | b">-" | b">+")
        }
        [b'=', tail @ ..] => matches!(tail.trim_ascii(), b"\"\"\"" | b"'''"),
        [b'<', b'<', tail @ ..] => {
            let tag = tail.strip_prefix(b"-").unwrap_or(tail).trim_ascii();
            let tag = tag.strip_prefix(b"'").and_then(|t| t.strip_suffix(b"'")).unwrap_or(tag);
            let tag = tag.strip_prefix(b"\"").and_then(|t| t.strip_suffix(b"\"")).unwrap_or(tag);
            !tag.is_empty() && tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        _ => false,
    };
    if !next_line {
        return None;
    }
    // The next line that is not blank (in YAML, indented deeper than the key: else it is
    // the next key or item; a `value:` key there holds the value, as GitLab CI's variables
    // write it).
    let key_indent = indent(&hay[line.start..after]);
    let mut p = line.end;
    while p < hi && hay[p] == b'\n' {
        let s = p + 1;
        let e = memchr::memchr(b'\n', &hay[s..hi]).map_or(hi, |q| s + q);
        let v = hay[s..e].trim_ascii();
        if !v.is_empty() {
            let from = s + indent(&hay[s..e]);
            if yaml && from - s <= key_indent {
                return None;
            }
            let end = from + v.len();
            let inner = v.strip_prefix(b"value:").filter(|_| yaml).map(|r| 6 + indent(r));
            return Some(from + inner.unwrap_or(0)..end);
        }
        p = e;
    }
    None
}

/// How many blanks (and other ASCII white space) `line` starts with.
fn indent(line: &[u8]) -> usize {
    line.len() - line.trim_ascii_start().len()
}

/// The value of a `default = …` line among the next few lines of an HCL block that starts
/// at `p` (a line end), up to the block's closing `}`.
fn block_default(hay: &[u8], mut p: usize, hi: usize) -> Option<Range<usize>> {
    for _ in 0..8 {
        if p >= hi || hay[p] != b'\n' {
            return None;
        }
        let s = p + 1;
        let e = memchr::memchr(b'\n', &hay[s..hi]).map_or(hi, |q| s + q);
        let v = hay[s..e].trim_ascii();
        if v.starts_with(b"}") {
            return None;
        }
        if let Some(r) = v.strip_prefix(b"default") {
            // The value: what follows `=` to the line's end (a suffix of `v`).
            let value = r.trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
            let end = s + hay[s..e].trim_ascii_end().len();
            return Some(end - value.len()..end);
        }
        p = e;
    }
    None
}

/// Whether the rest of a line after a keyword only closes its key (quotes, a comma, a brace
/// or bracket, blanks): only then may its value be a sibling key ([`sibling_value`]).
#[inline]
fn closes_only(rest: &[u8]) -> bool {
    rest.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'"' | b'\'' | b',' | b'}' | b']'))
        // A template's `}}` closes a reference to the key (`${{ secrets.KEY }}`), not a
        // name whose value stands on a sibling line.
        && !rest.windows(2).any(|w| w == b"}}")
}

/// Where the line that holds `at` starts, looked for back to `lo` (else `lo`).
fn line_start(hay: &[u8], lo: usize, at: usize) -> usize {
    // Most lines are short: the 32 bytes before `at` first, at once.
    let mut to = at;
    if at - lo >= 32 {
        let m = line_feeds(&hay[at - 32..at]);
        if m != 0 {
            return at - m.leading_zeros() as usize;
        }
        to = at - 32;
    }
    memchr::memrchr(b'\n', &hay[lo..to]).map_or(lo, |p| lo + p + 1)
}

/// Where the line that holds `at` ends (its LF), looked for up to `hi` (else `hi`).
fn line_end(hay: &[u8], at: usize, hi: usize) -> usize {
    let mut from = at;
    if hi - at >= 32 {
        let m = line_feeds(&hay[at..at + 32]);
        if m != 0 {
            return at + m.trailing_zeros() as usize;
        }
        from = at + 32;
    }
    memchr::memchr(b'\n', &hay[from..hi]).map_or(hi, |p| from + p)
}

/// Which of the 32 bytes of `bytes` are LF, one bit each (bit `i` for byte `i`).
#[cfg(target_arch = "x86_64")]
fn line_feeds(bytes: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert!(bytes.len() >= 32);
    // SAFETY: SSE2 is part of x86_64; the loads read 32 bytes that `bytes` holds (asserted
    // above), unaligned.
    unsafe {
        let lf = _mm_set1_epi8(b'\n' as i8);
        let at = |i: usize| {
            let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) as u32 & 0xFFFF
        };
        at(0) | at(16) << 16
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn line_feeds(bytes: &[u8]) -> u32 {
    bytes[..32].iter().enumerate().map(|(i, &b)| u32::from(b == b'\n') << i).sum()
}

/// Where a `name` key stands in `head` (a line up to the end of a keyword) when the rest of
/// `head` is that key's value: `name: KEY`, `"name": "KEY"`, `name="KEY"`.
fn name_key_before(head: &[u8]) -> Option<usize> {
    // A table: the key before a keyword is read a byte at a time, for each keyword whose line
    // only closes after it.
    static KEY_CHAR: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-';
            b += 1;
        }
        t
    };
    let key_start =
        head.len() - head.iter().rev().take_while(|&&b| KEY_CHAR[usize::from(b)]).count();
    let mut i = key_start;
    let skip = |i: &mut usize| {
        while *i > 0 && matches!(head[*i - 1], b' ' | b'\t' | b'"' | b'\'') {
            *i -= 1;
        }
    };
    skip(&mut i);
    if i == 0 || !(head[i - 1] == b':' || head[i - 1] == b'=') {
        return None;
    }
    i -= 1;
    skip(&mut i);
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
    value_follows_from(text, value, quoted_printable, 0, false)
}

/// [`value_follows_as`] from `text[from..]`; `typed`: a type or `or` was read before it.
fn value_follows_from(
    text: &[u8],
    value: &Part,
    quoted_printable: bool,
    from: usize,
    typed: bool,
) -> (bool, bool) {
    let value_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let mut i = from;
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
            | b';' | b'|' | b'?' | b'+' | b')' => i += 1,
            // `${KEY:-…}`; a command's `--value`, `--body` (`--name KEY --value …`).
            b'-' if i > 0 && text[i - 1] == b':' => i += 1,
            b'-' if i > 0 && text[i..].starts_with(b"--value") => i += 7,
            b'-' if i > 0 && text[i..].starts_with(b"--body") => i += 6,
            b'\n' | b'\r' => i += 1,
            // Typographic quotes (UTF-8), and YAML `!!str` before the value.
            0x80.. => i += 1,
            b'!' if text[i..].starts_with(b"!!str") => i += 5,
            // A reference type (`&str =`, `&'static str =`): read after the loop.
            b'&' if !typed && typed_or_defaulted(&text[i..]).is_some() => break,
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
    let follows = i > 0 && value.lengths.contains(&run);
    if i > 0 && !follows && !typed {
        // A type or `or` between separators (`KEY: str = "…"`, `…) or "…"`): once.
        if let Some(n) = typed_or_defaulted(&text[i..]) {
            return value_follows_from(text, value, quoted_printable, i + n, true);
        }
    }
    (follows, escape)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    /// Older-format values that pass the shape check, made up from a seed.
    fn legacy_values(n: usize) -> Vec<String> {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            CHARS[(state >> 33) as usize % CHARS.len()]
        };
        let mut out = Vec::new();
        while out.len() < n {
            let v: Vec<u8> = (0..21).map(|_| next()).collect();
            if shape::is_plausible_legacy(&v) {
                out.push(String::from_utf8(v).expect("ASCII"));
            }
        }
        out
    }

    fn legacy_rule(m: &Matcher) -> (usize, &Part) {
        let rule = m.rules().iter().position(|r| r.id == "dynatrace-legacy-token").expect("rule");
        let Detector::Keyed(k) = &m.rules()[rule].detector else { panic!("a keyed rule") };
        (rule, &k.value)
    }

    /// What the quick test rules out holds no value on its line: for every byte after the
    /// keyword, then a separator or other byte, then a value (plain, base64, after `value`,
    /// an escape, a soft break), a short run or other text, it answers "no value" only where
    /// the line's full reading finds none.
    #[test]
    fn the_quick_test_rules_out_only_lines_without_a_value() {
        let m = Matcher::builtin();
        let (_, value) = legacy_rule(&m);
        let v = &legacy_values(1)[0];
        let b64 = STANDARD.encode(v);
        let tails = [
            v.clone(),
            format!("{v}X"),
            v[..5].to_string(),
            v[..19].to_string(),
            b64.clone(),
            format!("{}=", &b64[..26]),
            format!("alue: {v}"),
            format!("alue=\"{v}\""),
            format!("value: {v}"),
            format!("3D{v}"),
            format!("3d{v}"),
            format!("3D \"{v}\""),
            format!("41{v}"),
            format!("!str {v}"),
            format!("!!str {v}"),
            format!("20{v}"),
            format!("2520{v}"),
            format!("quot;{v}"),
            format!("#34;{v}"),
            format!("{}=\n{}", &v[..7], &v[7..]),
            format!("=\n{v}"),
            format!("=\r\n{v}"),
            format!("str = \"{v}\""),
            format!(" string = {v}"),
            format!("'static str = \"{v}\""),
            format!("Optional[str] = '{v}'"),
            format!("or \"{v}\""),
            format!("? \"{v}\""),
            format!(" --value {v}"),
            format!("-body={v}"),
            format!("= {v}"),
            "str = x".to_string(),
            "\n  value: x".to_string(),
            " }}".to_string(),
            "$DT_API_TOKEN".to_string(),
            "var.x".to_string(),
            String::new(),
        ];
        let mut seconds: Vec<u8> = b"\"'` \t=:>,\\];\r\n}{$&%!vV3Aaz_-./()#<+".to_vec();
        seconds.extend([0x80, 0xE2]);
        let mut ruled_out = 0;
        for first in 0..=255u8 {
            for &second in &seconds {
                for (t, tail) in tails.iter().enumerate() {
                    let mut rest = vec![first, second];
                    rest.extend_from_slice(tail.as_bytes());
                    rest.extend_from_slice(b"\nnext: line\n");
                    if !no_value_after(&rest, value) {
                        continue;
                    }
                    ruled_out += 1;
                    let end = rest.iter().position(|&b| b == b'\n').expect("a line end");
                    let line = &rest[..end];
                    assert!(
                        !closes_only(line)
                            && !value_follows(line, value)
                            && base64_value_after(line, value).is_none(),
                        "ruled out: bytes {first} {second}, then tail {t}"
                    );
                }
            }
        }
        // (Most of these: a byte after the keyword that no separator starts with.)
        assert!(ruled_out > 100_000, "{ruled_out}");
    }

    /// An older-format value after its key, with a quoted-printable soft break (LF or CRLF)
    /// at every place from the keyword's end to the value's end, the line cut as long as an
    /// encoder makes it: found where the line is read joined, as the key and value written
    /// on one line are.
    #[test]
    fn keyed_values_cut_by_a_soft_break_after_the_keyword_are_found() {
        let m = Matcher::builtin();
        let (rule, _) = legacy_rule(&m);
        let v = &legacy_values(2)[1];
        // Long separators put the break farther from the keyword than the pass for keywords
        // cut by soft breaks looks (it would find the value on its own).
        let (spaces, tabs) = (format!(":{}", " ".repeat(40)), format!(" ={}\"", "\t".repeat(30)));
        for key in ["DT_API_TOKEN", "Authorization: Api-Token", "paasToken"] {
            for sep in ["=", ": ", " = ", "=3D", ": \"", " \t= '", &spaces, &tabs] {
                let written = format!("{sep}{v}");
                let plain = format!("{key}{written}\n");
                let want: Vec<_> = m.find(plain.as_bytes()).iter().map(|f| f.rule).collect();
                assert_eq!(want, [rule], "{key}{sep}");
                for cut in 0..written.len() {
                    for eol in ["\n", "\r\n"] {
                        let (a, b) = written.split_at(cut);
                        // The line cut, as long as an encoder makes it (76 bytes).
                        let Some(pad) = 75usize.checked_sub(key.len() + a.len() + eol.len()) else {
                            continue;
                        };
                        let text = format!("{} {key}{a}={eol}{b}\n", "X".repeat(pad));
                        let found = m.find(text.as_bytes());
                        // (The line as written may show another value: `=3D` and the
                        // value's first 19 characters.)
                        assert!(
                            found.iter().any(|f| {
                                f.rule == rule && f.fingerprint == fingerprint(v.as_bytes())
                            }),
                            "{key}{sep} cut at {cut} ({eol:?}): {} found",
                            found.len()
                        );
                    }
                }
            }
        }
    }
}
