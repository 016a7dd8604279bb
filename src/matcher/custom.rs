//! Regex rules (custom rules of a configuration, and built-ins of that kind): the pattern
//! around each keyword, or over the whole input for a rule without keywords.

pub(super) mod view;

/// How far around its keyword a regex rule reads a line decoded ([`View`]).
const VIEW_REACH: usize = 32 << 10;

use super::softbreak::*;
use super::structured::*;
use super::*;
use view::View;

/// The forms of a regex rule's keyword in a URL, when it holds a character that a URL
/// encodes (`AccountKey=` as `AccountKey%3D`, and `AccountKey%253D` for a URL inside a URL):
/// the prefilter looks for them too, and [`View::percent`] reads the line decoded.
pub(super) fn url_forms(keyword: &[u8]) -> Vec<Vec<u8>> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    if keyword.iter().all(|&b| plain(b)) {
        return Vec::new();
    }
    let form = |twice: bool| -> Vec<u8> {
        let mut out = Vec::new();
        for &b in keyword {
            match (plain(b), twice) {
                (true, _) => out.push(b),
                (false, false) => out.extend(format!("%{b:02X}").bytes()),
                (false, true) => out.extend(format!("%25{b:02X}").bytes()),
            }
        }
        out
    };
    vec![form(false), form(true)]
}

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
        let own = line_around(hay, at);
        let mut line = own.clone();
        let window = self.rules[rule].window;
        if window > 0 {
            line.end = line_around(hay, (line.end + window).min(hay.len())).end;
        }
        let before = out.len();
        self.regex_in(hay, line.clone(), rule, out);
        // (A rule whose pattern reads the encoded form itself, as Slack's webhook URLs with
        // `%2F`, found it as written.)
        if out.len() == before {
            self.regex_in_views(hay, at, line.clone(), rule, out);
        }
        if out.len() == before {
            self.regex_in_joined(hay, at, own.clone(), rule, out);
        }
        if self.rules[rule].decodes(Decode::QuotedPrintable) {
            // A window's lines are joined where the last ends in a soft break, else the
            // keyword's own line where it does (a pair cut by a soft break on its line).
            let joined = quoted_printable_window(hay, line.clone()).or_else(|| {
                (window > 0).then(|| quoted_printable_window(hay, own.clone())).flatten()
            });
            if let Some(joined) = joined {
                let mut found: Vec<H> = Vec::new();
                self.regex_in(&joined.chars, 0..joined.chars.len(), rule, &mut found);
                out.extend(found.into_iter().map(|h| joined.moved(h)));
            }
        }
        line.end
    }

    /// A regex rule's keyword at `at`, over the lines `range` decoded: when the keyword's
    /// line is a `key: <base64>` line (the keyword in its key), with every such line's value decoded (a Kubernetes
    /// Secret's `data:`: `aws_secret_access_key: <base64>`, the id on the line before); when
    /// the lines hold percent escapes, with those decoded (`AccountKey%3D…%2F…%3D%3D`, once
    /// or twice); when they hold backslash escapes, with those decoded a level at a time.
    /// Matches are moved back onto the encoded text.
    fn regex_in_views<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        range: Range<usize>,
        rule: usize,
        out: &mut Vec<H>,
    ) {
        // Around the keyword only, on a long line (a view costs 18 bytes a byte).
        let range = range.start.max(at.saturating_sub(VIEW_REACH))..range.end.min(at + VIEW_REACH);
        let start = out.len();
        let own = line_around(hay, at);
        // (As for keyed rules, a value in base64 after its key is read whatever the rule's
        // decoders: they name the forms its keywords are looked for in.)
        if view::value_of_line(&hay[own.clone()]).is_some_and(|v| own.start + v.start > at) {
            if let Some(v) = View::values(hay, range.clone()) {
                self.regex_in_view(&v, rule, out);
            }
        }
        if memchr::memchr(b'%', &hay[range.clone()]).is_some() {
            if let Some(v) = View::percent(hay, range.clone()) {
                let before = out.len();
                self.regex_in_view(&v, rule, out);
                // A file in a URL's parameter (`%0A` for its line ends): read as that file,
                // as a file inside a JSON string is (below).
                let kw =
                    v.position_of(at).filter(|&kw| memchr::memchr(b'\n', &v.text[kw..]).is_some());
                if let (true, Some(kw)) = (out.len() == before, kw) {
                    let mut found: Vec<H> = Vec::new();
                    self.regex_near(&v.text, kw, rule, &mut found);
                    out.extend(found.into_iter().map(|h| v.moved(h)));
                }
            }
        }
        // Backslash escapes and character references, a level at a time (JSON with `\/`,
        // JSON inside JSON, HTML-escaped text), up to three levels or until one finds the
        // token; on the keyword's own line only (JSON holds a whole value on one line; a
        // window rule's range may be kilobytes of source code dense with escapes).
        let own = own.start.max(range.start)..own.end.min(range.end);
        let line = &hay[own.clone()];
        let escaped = |p: usize| view::escape_at(&line[p..]).is_some();
        if out.len() == start && memchr::memchr2_iter(b'\\', b'&', line).any(escaped) {
            let mut view = View::unescaped(hay, own.clone());
            for _ in 0..3 {
                let Some(v) = view else { break };
                self.regex_in_view(&v, rule, out);
                if out.len() > start {
                    break;
                }
                view = v.unescape();
            }
        }
        // A file written on one line inside a string (JSON, a log line; `\n` after the
        // keyword): the line read with its line ends decoded too, as that file (the value
        // below its key, in base64, escaped again), once per line and rule.
        if out.len() == start
            && at < own.end
            && memchr::memmem::find(&hay[at..own.end], b"\\n").is_some()
        {
            if let Some(v) = View::unescaped_lines(hay, own) {
                if let Some(kw) = v.position_of(at) {
                    let mut found: Vec<H> = Vec::new();
                    self.regex_near(&v.text, kw, rule, &mut found);
                    out.extend(found.into_iter().map(|h| v.moved(h)));
                }
            }
        }
    }

    /// A regex rule's keyword at `at` that ends a name whose value is a sibling key on
    /// another line (a Kubernetes `- name: KEY` with `value: …` on the next line, a
    /// pretty-printed JSON name/value pair; as keyed rules read them, [`keyed`]), or whose
    /// value comes after its line (a YAML block scalar, a here-document, a CDATA section:
    /// [`keyed::deferred_value`]): the rule runs over the key joined to the value.
    fn regex_in_joined<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        own: Range<usize>,
        rule: usize,
        out: &mut Vec<H>,
    ) {
        let key = hay[at..own.end]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
            .count();
        let after = at + key;
        let (lo, hi) = (at.saturating_sub(KEYED_WINDOW), (at + KEYED_WINDOW).min(hay.len()));
        let joined = match super::keyed::sibling_value(hay, own.clone(), after, lo, hi) {
            Some(value) => View::joined(hay, own.start..after, b" ", value),
            None => match super::keyed::deferred_value(hay, own.clone(), after, hi) {
                Some(value) => View::joined(hay, own.start..after, b" = ", value),
                None => return,
            },
        };
        self.regex_in_view(&joined, rule, out);
    }

    /// A base64 value decoded from `group` on its `key: <base64>` line, when it holds the
    /// keyword of a regex rule that reads a window of lines after it (a paired rule: an AWS
    /// access key id, its secret on the next line, each encoded on its own): the rule runs
    /// over those lines with every such value decoded.
    pub(super) fn regex_in_values<H: Found>(
        &self,
        hay: &[u8],
        group: usize,
        decoded: &[u8],
        out: &mut Vec<H>,
    ) {
        // The line, looked for only as far as a key and a value can reach (a long line dense
        // with signatures must not be searched whole for each).
        let lo = group.saturating_sub(KEYED_WINDOW);
        let hi = (group + encoding::MAX_ENCODED + 8).min(hay.len());
        let Some(start) =
            memchr::memrchr(b'\n', &hay[lo..group]).map(|p| lo + p + 1).or((lo == 0).then_some(0))
        else {
            return;
        };
        let Some(end) = memchr::memchr(b'\n', &hay[group..hi])
            .map(|p| group + p)
            .or((hi == hay.len()).then_some(hi))
        else {
            return;
        };
        let line = start..end;
        let Some(value) = view::value_of_line(&hay[line.clone()]) else { return };
        if !(line.start + value.start..line.start + value.end).contains(&group) {
            return;
        }
        let has =
            |kw: &str| decoded.windows(kw.len()).any(|w| w.eq_ignore_ascii_case(kw.as_bytes()));
        for (rule, r) in self.rules.iter().enumerate() {
            if self.disabled[rule]
                || r.window == 0
                || !matches!(r.detector, Detector::Regex(_))
                || !r.decodes(Decode::Base64)
                || !r.keywords.iter().any(|k| has(k))
            {
                continue;
            }
            let end = line_around(hay, (line.end + r.window).min(hay.len())).end;
            if let Some(v) = View::values(hay, line.start..end) {
                self.regex_in_view(&v, rule, out);
            }
        }
    }

    /// A regex rule over a whole view, its matches moved back onto the source.
    fn regex_in_view<H: Found>(&self, v: &View, rule: usize, out: &mut Vec<H>) {
        let mut found: Vec<H> = Vec::new();
        self.regex_in(&v.text, 0..v.text.len(), rule, &mut found);
        out.extend(found.into_iter().map(|h| v.moved(h)));
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
            let checksum = self.rules[rule].checksum;
            // Where the token starts: a GitLab instance prefix (`SIE-glpat-…`, `acmeglpat-…`)
            // stands before the `gl…` prefix that the pattern starts at, and its CRC covers it.
            let start = match checksum_holds(checksum, whole.as_bytes(), &[secret.as_bytes()]) {
                true => Some(base + whole.start()),
                false if checksum == Checksum::GitlabRoutable => {
                    checksum::gitlab_routable_start(hay, base + whole.start(), base + whole.end())
                }
                false => None,
            };
            let Some(start) = start else { continue };
            let text = &hay[start..base + whole.end()];
            // An instance prefix is shown with the `gl…` prefix (the group `id`) after it.
            let extended = start < base + whole.start();
            let id = caps.name("id").map(|id| match extended {
                true => &hay[start..base + id.end()],
                false => id.as_bytes(),
            });
            if !shape_holds(self.rules[rule].shape, secret.as_bytes())
                || self.is_known(text)
                || self.is_known(secret.as_bytes())
                || id.is_some_and(|id| self.is_known(id))
            {
                continue;
            }
            let (before, after) =
                (&hay[start..base + secret.start()], &text[base + secret.end() - start..]);
            let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            // With an `id` group, the identifier alone stands before the mask (not the text
            // between it and a secret found lines away).
            let id_first = caps.name("id").is_some_and(|g| g.end() <= secret.start());
            let masked = match id.filter(|_| id_first) {
                Some(id) => format!("{}{MASK}{}", shown(id), shown(after)),
                None => format!("{}{MASK}{}", shown(before), shown(after)),
            };
            let token_id = match id {
                Some(id) => Some(shown(id)),
                None => (!before.is_empty())
                    .then(|| shown(before).trim_end_matches(['.', ':', '=']).to_string()),
            };
            out.push(H::found(
                Match {
                    rule,
                    span: start..base + whole.end(),
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
