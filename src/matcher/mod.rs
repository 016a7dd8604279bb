//! The matcher: a keyword prefilter over the whole input (Aho-Corasick), then a precise check
//! of each candidate by its rule, then shape checks. It returns matches as values and never
//! prints; a match carries the masked token and the fingerprint, never the secret itself.

pub mod checksum;
mod encoding;
mod shape;

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;
use sha2::{Digest, Sha256};

use crate::rules::{Detector, Rule, KNOWN_EXAMPLES, KNOWN_EXAMPLE_PARTS, SECRET_LEN};
pub use encoding::{boundary_before, decode_base64_prefix, is_base64_char, BASE64_SIGNATURES};
pub use shape::{is_placeholder_part, is_plausible_legacy};

/// The keyword that announces a token of the older format: every key the legacy pattern knows
/// ends in it. The prefilter looks for it in its usual spellings ([`LEGACY_SPELLINGS`]),
/// case-sensitively, which keeps the first pass at memory speed.
pub const LEGACY_KEYWORDS: &[&str] = &["token"];

/// The spellings of [`LEGACY_KEYWORDS`] the prefilter looks for (`Api-Token`, `apiToken`,
/// `api_token`, `DT_API_TOKEN`, `api-token`); the legacy pattern itself ignores case.
pub const LEGACY_SPELLINGS: &[&str] = &["token", "Token", "TOKEN"];

/// Inputs at least this long are cut at line ends and searched in parallel.
const PARALLEL_MIN: usize = 256 << 10;

/// Longest stretch of text that a legacy match may span (key, separator and value).
const LEGACY_WINDOW: usize = 192;
/// Most bytes that a legacy match reaches past its keyword (separators, quotes, 21 characters).
const LEGACY_REACH: usize = 160;
/// Encoded characters decoded from a signature that stands inside text already decoded in
/// full: more than a token in base64 inside base64 takes (about 200).
const NEAR_ENCODED: usize = 256;
/// How deep base64 inside base64 is followed (a Kubernetes Secret holding a Docker config).
const MAX_DEPTH: u8 = 3;
/// Characters shown of a custom rule's match when its regex has no `secret` group: none.
const MASK: &str = "****************";

/// The dot between the parts of a structured token written encoded: URL-encoded, URL-encoded
/// twice, as an HTML character reference, or quoted-printable (e-mail) (compared without
/// regard to ASCII case).
const ENCODED_DOTS: &[&[u8]] =
    &[b"%2E", b"%252E", b"&#46;", b"&#046;", b"&#x2E;", b"&period;", b"=2E"];

/// Bytes after a `dt0` in which a token with quoted-printable soft line breaks (`=` and a
/// line end, every 76 characters at most) may end: the longest token with encoded dots and
/// three soft breaks, and one more character.
const SOFT_BREAK_REACH: usize = 8 + 24 + 2 * 8 + SECRET_LEN + 3 * 3 + 1;

/// The legacy keyword's spellings in UTF-16 (either byte order holds these nine bytes).
const LEGACY_SPELLINGS_UTF16: &[&str] =
    &["t\u{0}o\u{0}k\u{0}e\u{0}n", "T\u{0}o\u{0}k\u{0}e\u{0}n", "T\u{0}O\u{0}K\u{0}E\u{0}N"];

/// `dt0` in UTF-16 (little-endian: `d 0 t 0 0`; big-endian holds the same five bytes).
const UTF16_SIGNATURE: &str = "d\u{0}t\u{0}0";
/// Characters read from UTF-16 text: a token with its widest encoded dots and one more.
const UTF16_MAX_CHARS: usize = 8 + 24 + 2 * 6 + SECRET_LEN + 1;

/// How a token was written in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// As is.
    Plain,
    /// Encoded in base64 (perhaps more than once).
    Base64,
}

/// One token found in an input. Holds no secret: only where it stands, what may be shown of
/// it, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in [`Matcher::rules`].
    pub rule: usize,
    /// The bytes of the input that hold the token (the encoded text for base64).
    pub span: Range<usize>,
    /// The bytes of the input to mask: the secret part, or the encoded text that holds it.
    pub secret: Range<usize>,
    /// The token identifier (prefix and public part), which is safe to show.
    pub token_id: Option<String>,
    /// The token as it may be shown: identifier kept, secret part replaced by `*`.
    pub masked: String,
    /// `sha256:` and the hex digest of the whole token; it cannot give the secret back.
    pub fingerprint: String,
    /// How the token was written.
    pub encoding: Encoding,
}

/// A compiled set of rules.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
    /// Rules turned off by the configuration (still consulted to decide which rule claims a
    /// structured prefix, so that turning a rule off does not hand its tokens to another).
    disabled: Vec<bool>,
    /// Case-sensitive keywords of the built-in rules (few, so a SIMD "Teddy" search finds
    /// them and clean text passes at memory speed).
    prefilter: Keywords,
    /// For each prefilter pattern, what it announces.
    patterns: Vec<Announce>,
    /// Keywords of custom rules, matched without regard to ASCII case (only when there are).
    custom_prefilter: Option<(AhoCorasick, Vec<usize>)>,
    legacy: Regex,
    /// Custom rules without keywords: run over the whole input.
    unkeyed: Vec<usize>,
}

/// The keyword search: the packed (SIMD) searcher, which reports its matches itself, or an
/// automaton where the CPU has no SIMD support for it.
#[derive(Debug, Clone)]
enum Keywords {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Keywords {
    fn new(keywords: &[String]) -> Keywords {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(keywords)
            .build();
        match packed {
            Some(searcher) => Keywords::Packed(searcher),
            // Leftmost-first, as above; no keyword can overlap another in a way that hides a
            // candidate.
            None => Keywords::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(keywords)
                    .expect("keywords are plain strings"),
            ),
        }
    }

    /// Calls `hit(start, keyword index)` for each keyword found in `hay`, left to right.
    fn each(&self, hay: &[u8], mut hit: impl FnMut(usize, usize)) {
        match self {
            Keywords::Packed(s) => {
                s.find_iter(hay).for_each(|m| hit(m.start(), m.pattern().as_usize()))
            }
            Keywords::Automaton(a) => {
                a.find_iter(hay).for_each(|m| hit(m.start(), m.pattern().as_usize()))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Announce {
    Structured,
    Utf16,
    Legacy16,
    Base64 { back: usize },
    Legacy,
}

/// The legacy format in context: a Dynatrace-named key or an `Api-Token` header or parameter,
/// an optional quote and `]` (a subscript: `env['DT_API_TOKEN'] = …`), a separator (`=`, `:`,
/// `=>`, `:=`, `,`, `>`, blanks, `%20` or `%2520`, each perhaps escaped with `\` as in JSON
/// strings and Java properties; or a `value` key after the name: an XML `value=` attribute,
/// `{"name": "DT_API_TOKEN", "value": …}`, a Kubernetes `- name: DT_API_TOKEN` with
/// `value: …` on the next line), a YAML anchor or `!!str` tag, an optional quote (ASCII,
/// typographic as text pasted from a word processor has, or an XML entity), then 21
/// characters (the caller checks the end boundary).
const LEGACY_PATTERN: &str = r#"(?x)
    (?i: api[-_.\ ]?token | paas[-_.]?token | (?:data[-_.]?)?ingest[-_.]?token
       | dynatrace[-_.a-z]{0,24}?token | oneagent[-_.a-z]{0,24}?token | dt[-_.]token )
    (?: \\?["'] | [\u{201C}\u{201D}\u{201E}\u{2018}\u{2019}\u{00AB}\u{00BB}] | &(?:quot|\#34|apos|\#39); )?
    \]?
    (?: \s*,?\s*\\?["']?(?i:value)\\?["']?\s*[=:]\s*
      | \s*\\?(?:=>|:=|=|:|,|>)\s* | \s+ | %(?:25)?20 )
    (?: (?:&[A-Za-z0-9_-]+ | !!str)\s+ )?
    (?: (?i:api-token)(?:\s+|%(?:25)?20) )?
    (?: \\?["'`] | [\u{201C}\u{201D}\u{201E}\u{2018}\u{2019}\u{00AB}\u{00BB}] | &(?:quot|\#34|apos|\#39); )?
    (?P<value>[A-Za-z0-9_-]{21})
"#;

impl Matcher {
    /// Compiles `rules`, leaving out those whose id is in `disabled`.
    pub fn new(rules: Vec<Rule>, disabled: &[String]) -> Matcher {
        let disabled: Vec<bool> = rules.iter().map(|r| disabled.contains(&r.id)).collect();
        let mut keywords: Vec<String> = Vec::new();
        let mut patterns = Vec::new();
        let mut add = |kw: &str, a: Announce, keywords: &mut Vec<String>| {
            keywords.push(kw.to_string());
            patterns.push(a);
        };
        let mut unkeyed = Vec::new();
        let mut custom_keywords: Vec<String> = Vec::new();
        let mut custom_rules = Vec::new();
        let any_structured = rules
            .iter()
            .zip(&disabled)
            .any(|(r, d)| !d && matches!(r.detector, Detector::Structured { .. }));
        if any_structured {
            add("dt0", Announce::Structured, &mut keywords);
            add(UTF16_SIGNATURE, Announce::Utf16, &mut keywords);
            for (sig, back) in BASE64_SIGNATURES {
                add(sig, Announce::Base64 { back: *back }, &mut keywords);
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            if disabled[i] {
                continue;
            }
            match &rule.detector {
                Detector::Legacy => {
                    for kw in LEGACY_SPELLINGS {
                        add(kw, Announce::Legacy, &mut keywords);
                    }
                    for kw in LEGACY_SPELLINGS_UTF16 {
                        add(kw, Announce::Legacy16, &mut keywords);
                    }
                }
                Detector::Custom(_) if rule.keywords.is_empty() => unkeyed.push(i),
                Detector::Custom(_) => {
                    for kw in &rule.keywords {
                        custom_keywords.push(kw.clone());
                        custom_rules.push(i);
                    }
                }
                Detector::Structured { .. } => {}
            }
        }
        let prefilter = Keywords::new(&keywords);
        let custom_prefilter = (!custom_keywords.is_empty()).then(|| {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&custom_keywords)
                .expect("keywords are plain strings");
            (ac, custom_rules)
        });
        Matcher {
            rules,
            disabled,
            prefilter,
            patterns,
            custom_prefilter,
            legacy: Regex::new(LEGACY_PATTERN).expect("legacy pattern is valid"),
            unkeyed,
        }
    }

    /// The built-in rules, none disabled.
    pub fn builtin() -> Matcher {
        Matcher::new(crate::rules::builtin(), &[])
    }

    /// The rules, indexed by [`Match::rule`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Finds every token in `hay`, sorted by position, without overlaps of the same token.
    pub fn find(&self, hay: &[u8]) -> Vec<Match> {
        let mut out = Vec::new();
        let parts = split_at_lines(hay);
        if parts.len() > 1 {
            use rayon::prelude::*;
            let found: Vec<Vec<Match>> = parts
                .par_iter()
                .map(|r| {
                    let mut v = Vec::new();
                    self.find_into(&hay[r.clone()], 0, &mut v);
                    for m in &mut v {
                        m.span = m.span.start + r.start..m.span.end + r.start;
                        m.secret = m.secret.start + r.start..m.secret.end + r.start;
                    }
                    v
                })
                .collect();
            out.extend(found.into_iter().flatten());
        } else {
            self.find_into(hay, 0, &mut out);
        }
        for &rule in &self.unkeyed {
            self.custom_in(hay, 0..hay.len(), rule, &mut out);
        }
        out.sort_by_key(|m| (m.span.start, m.span.end));
        // The same token found twice over the same bytes (in a base64 layer and the one
        // below it, or by two keywords) is one match.
        let mut kept: Vec<Match> = Vec::with_capacity(out.len());
        for m in out {
            let dup =
                kept.iter().rev().take_while(|k| k.span.end > m.span.start).any(|k| {
                    k.fingerprint == m.fingerprint || (k.rule == m.rule && k.span == m.span)
                });
            if !dup {
                kept.push(m);
            }
        }
        kept
    }

    /// Everything but the custom rules without keywords (which [`Matcher::find`] runs over the
    /// whole input, as they may span lines).
    fn find_into(&self, hay: &[u8], depth: u8, out: &mut Vec<Match>) {
        let mut legacy_done = 0usize;
        let mut legacy16_done = 0usize;
        // For each alignment (group start mod 4), where the last full base64 decode ended.
        let mut b64_until = [0usize; 4];
        let mut custom_done: Vec<usize> = vec![0; self.rules.len()];
        if let Some((ac, rules)) = &self.custom_prefilter {
            for hit in ac.find_overlapping_iter(hay) {
                let (at, rule) = (hit.start(), rules[hit.pattern().as_usize()]);
                if at >= custom_done[rule] {
                    let line = line_around(hay, at);
                    self.custom_in(hay, line.clone(), rule, out);
                    custom_done[rule] = line.end;
                }
            }
        }
        self.prefilter.each(hay, |at, pattern| {
            match self.patterns[pattern] {
                Announce::Structured => {
                    if let Some(m) =
                        self.structured_at(hay, at).or_else(|| self.soft_broken_at(hay, at))
                    {
                        out.push(m);
                    }
                }
                Announce::Legacy16 => {
                    if at >= legacy16_done {
                        legacy16_done = self.legacy16_near(hay, at, out);
                    }
                }
                Announce::Utf16 => {
                    if let Some(m) = self.utf16_at(hay, at) {
                        out.push(m);
                    }
                }
                Announce::Base64 { back } => {
                    if depth < MAX_DEPTH && at >= back {
                        // A signature inside text already decoded in full from an earlier one
                        // (same alignment) needs only the text near it: decoding 16 KiB for
                        // each would make a run of signatures (`ZHQwZHQw...`) quadratic.
                        let group = at - back;
                        let slot = group % 4;
                        let near = group + NEAR_ENCODED <= b64_until[slot];
                        let end = self.base64_at(hay, group, depth, near, out);
                        if !near {
                            b64_until[slot] = end;
                        }
                    }
                }
                Announce::Legacy => {
                    if at >= legacy_done {
                        legacy_done = self.legacy_near(hay, at, out);
                    }
                }
            }
        });
    }

    /// A structured token starting at `at` (where `dt0` stands), if there is a valid one. The
    /// parts are separated by `.`, or by an encoded dot ([`ENCODED_DOTS`], the same one
    /// twice); the token id and fingerprint are those of the token with plain dots.
    fn structured_at(&self, hay: &[u8], at: usize) -> Option<Match> {
        let prefix = hay.get(at..at + 6)?;
        if &prefix[..3] != b"dt0"
            || !prefix[3].is_ascii_alphabetic()
            || !prefix[4..].iter().all(u8::is_ascii_digit)
            || !boundary_before(hay, at)
        {
            return None;
        }
        let sep: &[u8] = match hay.get(at + 6)? {
            b'.' => b".",
            b'%' | b'&' | b'=' => {
                let rest = &hay[at + 6..];
                let len = ENCODED_DOTS
                    .iter()
                    .find(|d| rest.get(..d.len()).is_some_and(|r| r.eq_ignore_ascii_case(d)))?
                    .len();
                &rest[..len]
            }
            _ => return None,
        };
        let upper_alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
        let public_start = at + 6 + sep.len();
        let public_len = hay[public_start..].iter().take_while(|b| upper_alnum(b)).count();
        let dot = public_start + public_len;
        if hay.get(dot..dot + sep.len()) != Some(sep) {
            return None;
        }
        let secret_start = dot + sep.len();
        let secret_len =
            hay[secret_start..].iter().take(SECRET_LEN + 1).take_while(|b| upper_alnum(b)).count();
        let end = secret_start + secret_len;
        if secret_len != SECRET_LEN || hay.get(end).is_some_and(|&b| encoding::is_alnum(b)) {
            return None;
        }
        let rule = self.claim(prefix, public_len)?;
        let public = &hay[public_start..dot];
        let secret = &hay[secret_start..end];
        if is_placeholder_part(public) || is_placeholder_part(secret) {
            return None;
        }
        if KNOWN_EXAMPLE_PARTS.iter().any(|p| p.as_bytes() == public || p.as_bytes() == secret) {
            return None;
        }
        let mut token = Vec::with_capacity(8 + public_len + SECRET_LEN);
        token.extend_from_slice(prefix);
        token.push(b'.');
        token.extend_from_slice(public);
        token.push(b'.');
        token.extend_from_slice(secret);
        if KNOWN_EXAMPLES.iter().any(|k| k.as_bytes() == token.as_slice()) {
            return None;
        }
        let token_id = String::from_utf8_lossy(&token[..7 + public_len]).into_owned();
        Some(Match {
            rule,
            span: at..end,
            secret: secret_start..end,
            masked: format!("{token_id}.{MASK}"),
            token_id: Some(token_id),
            fingerprint: fingerprint(&token),
            encoding: Encoding::Plain,
        })
    }

    /// A structured token written in UTF-16 (either byte order, as Windows tools write text)
    /// whose `d` stands at `at`: the characters are read from every other byte into a small
    /// buffer and checked there; the match covers the UTF-16 bytes.
    fn utf16_at(&self, hay: &[u8], at: usize) -> Option<Match> {
        let mut chars = Vec::with_capacity(UTF16_MAX_CHARS + 1);
        // The character before, for the boundary check.
        let before = at >= 2 && hay[at - 1] == 0;
        if before {
            chars.push(hay[at - 2]);
        }
        let first = chars.len();
        let mut i = at;
        while i < hay.len() && chars.len() <= UTF16_MAX_CHARS {
            if i > at && hay[i - 1] != 0 {
                break;
            }
            chars.push(hay[i]);
            i += 2;
        }
        let m = self.structured_at(&chars, first)?;
        let byte = |c: usize| at + 2 * (c - first);
        Some(Match {
            span: byte(m.span.start)..byte(m.span.end) - 1,
            secret: byte(m.secret.start)..byte(m.secret.end) - 1,
            ..m
        })
    }

    /// A structured token starting at `at` and cut by quoted-printable soft line breaks (`=`
    /// before a line end, which e-mail bodies have every 76 characters at most): checked on a
    /// copy without them, only when one stands within reach.
    fn soft_broken_at(&self, hay: &[u8], at: usize) -> Option<Match> {
        // The prefix first (cheap): a soft break inside it is not looked for.
        let prefix = hay.get(at..at + 7)?;
        if !prefix[3].is_ascii_alphabetic() || !prefix[4..6].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let end = (at + SOFT_BREAK_REACH).min(hay.len());
        let window = &hay[at..end];
        let soft = |i: usize| match &window[i..] {
            [b'=', b'\n', ..] => 2,
            [b'=', b'\r', b'\n', ..] => 3,
            _ => 0,
        };
        if !memchr::memchr_iter(b'=', window).any(|i| soft(i) > 0) || !boundary_before(hay, at) {
            return None;
        }
        let mut chars = Vec::with_capacity(window.len());
        let mut pos = Vec::with_capacity(window.len());
        let mut i = 0;
        while i < window.len() {
            match soft(i) {
                0 => {
                    chars.push(window[i]);
                    pos.push(at + i);
                    i += 1;
                }
                n => i += n,
            }
        }
        let m = self.structured_at(&chars, 0)?;
        // The token must end where the copy shows its end, not at the end of the window.
        if m.span.end == chars.len() && end < hay.len() {
            return None;
        }
        Some(Match {
            span: pos[m.span.start]..pos[m.span.end - 1] + 1,
            secret: pos[m.secret.start]..pos[m.secret.end - 1] + 1,
            ..m
        })
    }

    /// The older format in UTF-16 text around a keyword whose `t` stands at `at`: the
    /// characters of the line around it are read from every other byte (either byte order)
    /// into a small buffer and searched there; matches cover the UTF-16 bytes. Returns where
    /// the search reached, so that later keywords inside it are not checked again.
    fn legacy16_near(&self, hay: &[u8], at: usize, out: &mut Vec<Match>) -> usize {
        // An ASCII character of UTF-16 text: a byte beside a zero (after it in little-endian
        // text, before it in big-endian text; inside the text, both hold). Other characters
        // end the stretch read, as a line end does.
        let ascii = |p: usize| -> Option<u8> {
            let b = *hay.get(p)?;
            let zero_beside = hay.get(p + 1) == Some(&0) || (p > 0 && hay[p - 1] == 0);
            (b != 0 && b < 0x80 && b != b'\n' && zero_beside).then_some(b)
        };
        let reach = 2 * LEGACY_WINDOW;
        let mut start = at;
        while start >= 2 && at - start < reach && ascii(start - 2).is_some() {
            start -= 2;
        }
        let mut chars = Vec::with_capacity(LEGACY_WINDOW * 2 + 1);
        let mut p = start;
        while p < at + reach {
            let Some(b) = ascii(p) else { break };
            chars.push(b);
            p += 2;
        }
        let keyword = (at - start) / 2;
        let mut found = Vec::new();
        let mut done = keyword;
        while done < chars.len() {
            let next = chars[done..].windows(5).position(|w| w.eq_ignore_ascii_case(b"token"));
            let Some(k) = next else { break };
            done = self.legacy_near(&chars, done + k, &mut found).max(done + k + 1);
        }
        for m in found {
            let byte = |i: usize| start + 2 * i;
            out.push(Match {
                span: byte(m.span.start)..byte(m.span.end) - 1,
                secret: byte(m.secret.start)..byte(m.secret.end) - 1,
                ..m
            });
        }
        start + 2 * chars.len()
    }

    /// Which enabled rule claims a structured token with this prefix and public length.
    fn claim(&self, prefix: &[u8], public_len: usize) -> Option<usize> {
        let mut fallback = None;
        for (i, rule) in self.rules.iter().enumerate() {
            let Detector::Structured { prefixes, public_lens } = &rule.detector else { continue };
            if prefixes.is_empty() {
                if fallback.is_none() && public_lens.contains(&public_len) {
                    fallback = Some(i);
                }
            } else if prefixes.iter().any(|p| p.as_bytes() == prefix)
                && public_lens.contains(&public_len)
            {
                return (!self.disabled[i]).then_some(i);
            }
        }
        fallback.filter(|&i| !self.disabled[i])
    }

    /// Decodes base64 from the group starting at `group` and reports the tokens inside at the
    /// encoded position.
    fn base64_at(
        &self,
        hay: &[u8],
        group: usize,
        depth: u8,
        near: bool,
        out: &mut Vec<Match>,
    ) -> usize {
        let end = if near { (group + NEAR_ENCODED).min(hay.len()) } else { hay.len() };
        // Near text decoded in full, the line is enough: that decoding crossed line ends.
        let used = self.base64_from(hay, group..end, depth, !near, false, out);
        // For base64 inside base64, the signature's group may start after the start of the
        // inner group that holds the token (the inner signature then stands too close to the
        // start of the decoded text to be decoded itself): decode from one group earlier too,
        // keeping only what that finds in the nested layer.
        // (Not for a signature inside text decoded in full: that decode started earlier.)
        if !near
            && depth + 1 < MAX_DEPTH
            && group >= 4
            && decode_base64_prefix(&hay[group - 4..group]).1 == 4
        {
            self.base64_from(hay, group - 4..end, depth, true, true, out);
        }
        group + used
    }

    /// Decodes `hay[group..end]` (across line ends when `wrap`, see
    /// [`encoding::decode_base64_wrapped`]) and reports the tokens inside (only those in a further base64 layer when
    /// `nested_only`); returns how many bytes of `hay` the decoding read.
    fn base64_from(
        &self,
        hay: &[u8],
        Range { start: group, end }: Range<usize>,
        depth: u8,
        wrap: bool,
        nested_only: bool,
        out: &mut Vec<Match>,
    ) -> usize {
        let decoded = encoding::decode_base64_wrapped(&hay[..end], group, wrap);
        if decoded.bytes.len() < 3 {
            return decoded.consumed;
        }
        let mut inner = Vec::new();
        self.find_into(&decoded.bytes, depth + 1, &mut inner);
        for m in inner {
            if nested_only && m.encoding != Encoding::Base64 {
                continue;
            }
            let span = decoded.text_range(m.span.clone());
            let secret = decoded.text_range(m.secret.clone());
            out.push(Match {
                span: group + span.start..group + span.end,
                secret: group + secret.start..group + secret.end,
                encoding: Encoding::Base64,
                ..m
            });
        }
        decoded.consumed
    }

    /// Runs the legacy pattern over the window around a keyword; returns where the window ends
    /// so that later keywords inside it are not checked again.
    fn legacy_near(&self, hay: &[u8], at: usize, out: &mut Vec<Match>) -> usize {
        let Some(rule) = self
            .rules
            .iter()
            .enumerate()
            .position(|(i, r)| !self.disabled[i] && matches!(r.detector, Detector::Legacy))
        else {
            return hay.len();
        };
        // The line around the keyword, looked for only as far as the window reaches: on a
        // long line dense with keywords, searching the whole line for each would be quadratic.
        let (lo, hi) = (at.saturating_sub(LEGACY_WINDOW), (at + LEGACY_WINDOW).min(hay.len()));
        let start = memchr::memrchr(b'\n', &hay[lo..at]).map_or(lo, |p| lo + p + 1);
        let mut end = memchr::memchr(b'\n', &hay[at..hi]).map_or(hi, |p| at + p);
        // `- name: DT_API_TOKEN` (Kubernetes, Compose) has its `value:` on the next line.
        if end < hi
            && hay[at + 5.min(end - at)..end].iter().all(|b| b" \t\r\"'".contains(b))
            && hay[end + 1..hi]
                .trim_ascii_start()
                .get(..5)
                .is_some_and(|v| v.eq_ignore_ascii_case(b"value"))
        {
            end = memchr::memchr(b'\n', &hay[end + 1..hi]).map_or(hi, |p| end + 1 + p);
        }
        // Every key of the pattern ends in the keyword, and the value follows the key after
        // a separator: without 21 value characters there, the pattern cannot match here
        // (most keywords in code: `get_api_token()`, `${DT_API_TOKEN}`).
        if !value_follows(hay.get(at + 5..end).unwrap_or_default()) {
            return at + 1;
        }
        for caps in self.legacy.captures_iter(&hay[start..end]) {
            let v = caps.name("value").expect("group exists");
            let (vs, ve) = (start + v.start(), start + v.end());
            let after_ok =
                hay.get(ve).is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            let value = &hay[vs..ve];
            if !after_ok || !is_plausible_legacy(value) {
                continue;
            }
            out.push(Match {
                rule,
                span: vs..ve,
                secret: vs..ve,
                token_id: None,
                masked: "*".repeat(value.len()),
                fingerprint: fingerprint(value),
                encoding: Encoding::Plain,
            });
        }
        // Keywords whose whole match (key, separator, value) fits in this window are done;
        // one nearer the window's end may have its value beyond it and is checked again.
        let line_ends_in_window = end < hi || hay.get(hi).is_none_or(|&b| b == b'\n');
        if line_ends_in_window {
            end
        } else {
            end.saturating_sub(LEGACY_REACH).max(at + 1)
        }
    }

    fn custom_in(&self, hay: &[u8], range: Range<usize>, rule: usize, out: &mut Vec<Match>) {
        let Detector::Custom(re) = &self.rules[rule].detector else { return };
        let base = range.start;
        for caps in re.captures_iter(&hay[range]) {
            let whole = caps.get(0).expect("group 0 exists");
            if whole.is_empty() {
                continue;
            }
            let secret = caps.name("secret").unwrap_or(whole);
            let text = whole.as_bytes();
            let (before, after) =
                (&text[..secret.start() - whole.start()], &text[secret.end() - whole.start()..]);
            let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let masked = format!("{}{MASK}{}", shown(before), shown(after));
            let token_id = (!before.is_empty())
                .then(|| shown(before).trim_end_matches(['.', ':', '=']).to_string());
            out.push(Match {
                rule,
                span: base + whole.start()..base + whole.end(),
                secret: base + secret.start()..base + secret.end(),
                token_id,
                masked,
                fingerprint: fingerprint(text),
                encoding: Encoding::Plain,
            });
        }
    }
}

/// Whether `text` (what follows a keyword) starts with a separator the legacy pattern allows
/// (quotes, blanks, `=`, `:`, `=>`, `,`, `>`, `%20`, `%2520`, `\`, `value=`, a YAML anchor or
/// tag, typographic quotes) and then 21 value characters and no more. A cheap necessary
/// condition checked before the pattern runs.
fn value_follows(text: &[u8]) -> bool {
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
    // Exactly 21: the pattern's match is checked for a boundary after it anyway, and a longer
    // run (base64 after `apiToken:`, a hash) is by far the most common case here.
    i > 0
        && text.len() >= i + 21
        && text[i..i + 21].iter().all(value_char)
        && text.get(i + 21).is_none_or(|b| !value_char(b))
}

/// A character of an older-format token value.
fn value_char(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'
}

/// Cuts a large input into parts that end at a line end (one per thread), so that no match
/// but those of custom rules without keywords can cross a cut. Small inputs stay whole.
fn split_at_lines(hay: &[u8]) -> Vec<Range<usize>> {
    // Asking rayon for its thread count starts its pool: only for inputs worth splitting.
    // Inside a pool's task (a segment of a large file, a blob of a history scan) the work is
    // already spread over the cores.
    if hay.len() < PARALLEL_MIN || rayon::current_thread_index().is_some() {
        return std::iter::once(0..hay.len()).collect();
    }
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return std::iter::once(0..hay.len()).collect();
    }
    let step = hay.len() / threads;
    let mut parts = Vec::with_capacity(threads);
    let mut start = 0;
    while start < hay.len() {
        let target = start + step;
        if target >= hay.len() || parts.len() + 1 == threads {
            parts.push(start..hay.len());
            break;
        }
        let end = match memchr::memchr(b'\n', &hay[target..]) {
            Some(p) => target + p + 1,
            None => hay.len(),
        };
        parts.push(start..end);
        start = end;
    }
    parts
}

/// The line of `hay` that holds byte `at` (without its newline).
fn line_around(hay: &[u8], at: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
    start..end
}

/// `sha256:` and the hex digest of `token`.
pub fn fingerprint(token: &[u8]) -> String {
    let digest = Sha256::digest(token);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}
