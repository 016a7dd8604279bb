//! The matcher: one keyword prefilter over the whole input, built from every rule's keywords
//! and their encoded forms (base64 at each alignment, base64 in base64, UTF-16, UTF-16 in
//! base64), then a precise check of each candidate by its rule's detector (structured,
//! keyed, regex), then shape checks. Decoders (base64, UTF-16, quoted-printable, URL-encoded
//! and HTML-entity separators) feed decoded text back in. It returns matches as values and
//! never prints; a match carries the masked token and the fingerprint, never the secret
//! itself (unless asked for with [`Matcher::find_with_tokens`]).

pub mod check;
pub mod checksum;
mod encoding;
mod shape;

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;
use sha2::{Digest, Sha256};

use crate::rules::{Checksum, Decode, Detector, Part, Role, Rule, Shape, Structured};
pub use encoding::{
    base64_signatures, boundary_before, decode_base64_prefix, encoded_separators, is_base64_char,
    nested_base64_signatures, utf16_signature, utf16le,
};
pub use shape::{is_placeholder_part, is_plausible_legacy};

/// Inputs at least this long are cut at line ends and searched in parallel.
const PARALLEL_MIN: usize = 256 << 10;

/// Longest stretch of text that a keyed match may span (key, separator and value).
const KEYED_WINDOW: usize = 192;
/// Most bytes that a keyed match reaches past its keyword (separators, quotes, the value).
const KEYED_REACH: usize = 160;
/// Encoded characters decoded from a signature that stands inside text already decoded in
/// full: more than a token in base64 inside base64 takes (about 200).
const NEAR_ENCODED: usize = 256;
/// How deep base64 inside base64 is followed (a Kubernetes Secret holding a Docker config).
const MAX_DEPTH: u8 = 3;
/// What stands for a secret part in a masked token.
const MASK: &str = "****************";
/// Longest logical line (joined over quoted-printable soft breaks) a regex rule reads.
const SOFT_LINE_REACH: usize = 4096;
/// Shortest and longest line that a quoted-printable soft break ends, for keyed and regex
/// rules: encoders fill lines up to 76 characters, `=` included. A shorter line ending in `=`
/// is an assignment with an empty value (`.env` files), a longer one base64 with padding.
/// (Measured with the line's CR, if any: 77.)
const SOFT_LINE: std::ops::RangeInclusive<usize> = 60..=77;

/// The built-in matcher, compiled once per process.
static BUILTIN: LazyLock<Matcher> = LazyLock::new(|| Matcher::new(crate::rules::builtin(), &[]));

/// The base64 signatures (text, offset from its group start) of the built-in rules' keywords,
/// as the prefilter looks for them. For tools that must know whether a line may go on with
/// an encoded token (a pipe holding back wrapped base64).
pub static BASE64_SIGNATURES: LazyLock<Vec<(String, usize)>> =
    LazyLock::new(|| BUILTIN.encoded_signatures().to_vec());

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

/// A whole token (decoded, separators plain, secret part included), for the one stage that
/// must send it somewhere (live verification). `Debug` prints `Secret(***)`; there is no
/// `Display` and no `Serialize`, so it cannot reach a report, a log or an error by accident.
/// The bytes are overwritten when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Box<[u8]>,
    /// Where the secret part starts (what may be shown comes before it).
    secret_from: usize,
}

impl Secret {
    /// Wraps the bytes of a token; its secret part is what follows the last `.` (or all of
    /// it). Tokens the matcher hands out know their secret part exactly.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        let bytes = bytes.into().into_boxed_slice();
        let secret_from = bytes.iter().rposition(|&b| b == b'.').map_or(0, |dot| dot + 1);
        Secret { bytes, secret_from }
    }

    /// The token's bytes, for the one place that must send them. Never print them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The token as text, if it is UTF-8 (every token a rule finds is ASCII).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// The secret part: what a report must never show.
    pub fn secret_part(&self) -> &[u8] {
        &self.bytes[self.secret_from..]
    }

    /// How many bytes the token has.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the token is empty (never, for a match).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.bytes.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference; the volatile write keeps
            // the compiler from dropping the overwrite of memory about to be freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// What a search collects: a [`Match`] alone, or a match with its token's bytes. The search
/// is compiled for each, so that a scan that does not ask for tokens carries none.
trait Found: Sized + Send {
    /// A found token; `token` gives its bytes and where its secret part starts (called only
    /// when they are kept).
    fn found(m: Match, token: impl FnOnce() -> (Box<[u8]>, usize)) -> Self;
    /// The match.
    fn get(&self) -> &Match;
    /// The match, to change.
    fn get_mut(&mut self) -> &mut Match;
    /// The same token at other places of the input.
    fn moved(mut self, span: Range<usize>, secret: Range<usize>) -> Self {
        let m = self.get_mut();
        m.span = span;
        m.secret = secret;
        self
    }
}

impl Found for Match {
    fn found(m: Match, _: impl FnOnce() -> (Box<[u8]>, usize)) -> Match {
        m
    }
    fn get(&self) -> &Match {
        self
    }
    fn get_mut(&mut self) -> &mut Match {
        self
    }
}

impl Found for (Match, Secret) {
    fn found(m: Match, token: impl FnOnce() -> (Box<[u8]>, usize)) -> (Match, Secret) {
        let (bytes, secret_from) = token();
        (m, Secret { bytes, secret_from })
    }
    fn get(&self) -> &Match {
        &self.0
    }
    fn get_mut(&mut self) -> &mut Match {
        &mut self.0
    }
}

/// A compiled set of rules.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
    /// Rules turned off by the configuration (still consulted to decide which rule claims a
    /// structured prefix, so that turning a rule off does not hand its tokens to another).
    disabled: Vec<bool>,
    /// Keywords of structured and keyed rules as written and the encoded forms of every
    /// rule's keywords (few, so a SIMD "Teddy" search finds them and clean text passes at
    /// memory speed); `None` when there are none.
    prefilter: Option<Keywords>,
    /// For each prefilter pattern, what it announces.
    announces: Vec<Box<[Announce]>>,
    /// Each distinct keyword of the structured and keyed rules, with the rules it announces.
    groups: Vec<Group>,
    /// Keywords of regex rules, matched without regard to ASCII case, and their encoded
    /// forms (only when there are).
    custom_prefilter: Option<(AhoCorasick, Vec<CustomAnnounce>)>,
    /// What each rule needs that its data does not hold (compiled patterns, encoded forms).
    plans: Vec<Plan>,
    /// Regex rules without keywords: run over the whole input.
    unkeyed: Vec<usize>,
    /// Known public examples and their parts, of every rule: never findings.
    known_examples: Vec<Vec<u8>>,
    known_parts: Vec<Vec<u8>>,
    /// The base64 signatures in the prefilters.
    signatures: Vec<(String, usize)>,
    /// Longest structured token (with its widest encoded separators).
    structured_reach: usize,
}

/// The keyword search: the packed (SIMD) searcher, which reports its matches itself, or an
/// automaton where the CPU has no SIMD support for it or the patterns are too many.
#[derive(Debug, Clone)]
enum Keywords {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Keywords {
    fn new(patterns: &[Vec<u8>]) -> Keywords {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(patterns)
            .build();
        match packed {
            Some(searcher) => Keywords::Packed(searcher),
            // Leftmost-longest, as above.
            None => Keywords::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns)
                    .expect("keywords are plain strings"),
            ),
        }
    }

    /// Calls `hit(start, pattern index)` for each pattern found in `hay`, left to right.
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

/// What a prefilter pattern announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Announce {
    /// A keyword of [`Matcher::groups`], as written.
    Plain(usize),
    /// The same keyword in UTF-16.
    Utf16(usize),
    /// A base64 signature this many characters after its group's start.
    Base64 { back: usize },
}

/// What a pattern of the regex rules' prefilter announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CustomAnnounce {
    Plain(usize),
    Utf16(usize),
    Base64 { back: usize },
}

/// A keyword and the rules it announces.
#[derive(Debug, Clone)]
struct Group {
    keyword: Vec<u8>,
    /// Structured rules whose token may start with it, in claim order: literal prefixes
    /// first, then prefix patterns (disabled ones too: they still claim).
    structured: Vec<usize>,
    /// The same rules' prefixes, one test each, in the same order.
    claims: Vec<Claim>,
    /// Enabled keyed rules whose keys end in it.
    keyed: Vec<usize>,
    /// Whether a structured rule of the group reads tokens cut by soft line breaks.
    soft_breaks: bool,
}

/// A structured rule's claim on tokens with one of its prefixes.
#[derive(Debug, Clone)]
struct Claim {
    rule: usize,
    test: PrefixTest,
}

/// How a prefix is recognised.
#[derive(Debug, Clone)]
enum PrefixTest {
    /// A literal prefix of up to 8 bytes: the input's next 8 bytes, masked, equal `value`.
    Word { value: u64, mask: u64, len: usize },
    /// A longer literal prefix.
    Bytes(Vec<u8>),
    /// The rule's prefix pattern.
    Pattern,
}

impl PrefixTest {
    fn new(prefix: &str) -> PrefixTest {
        let p = prefix.as_bytes();
        if p.len() > 8 {
            return PrefixTest::Bytes(p.to_vec());
        }
        let mut head = [0u8; 8];
        head[..p.len()].copy_from_slice(p);
        let mask = if p.len() == 8 { u64::MAX } else { (1u64 << (8 * p.len())) - 1 };
        PrefixTest::Word { value: u64::from_le_bytes(head), mask, len: p.len() }
    }
}

/// What the matcher derives from a rule.
#[derive(Debug, Clone)]
enum Plan {
    Structured {
        /// The separator's encoded forms (`%2E`, `&#46;`, ...).
        encoded: Vec<Vec<u8>>,
    },
    Keyed {
        pattern: Regex,
        /// Whether the separators are the detector's own grammar (then [`value_follows`]
        /// may rule a keyword out before the pattern runs).
        own_grammar: bool,
        /// Whether the rule reads lines joined by quoted-printable soft breaks.
        soft: bool,
    },
    Regex,
}

impl Matcher {
    /// Compiles `rules`, leaving out those named in `disabled` (rule ids or provider names).
    pub fn new(rules: Vec<Rule>, disabled: &[String]) -> Matcher {
        let disabled: Vec<bool> = rules.iter().map(|r| r.is_named_in(disabled)).collect();
        let mut groups: Vec<Group> = Vec::new();
        let group_of = |groups: &mut Vec<Group>, kw: &str| -> usize {
            match groups.iter().position(|g| g.keyword == kw.as_bytes()) {
                Some(g) => g,
                None => {
                    groups.push(Group {
                        keyword: kw.as_bytes().to_vec(),
                        structured: Vec::new(),
                        claims: Vec::new(),
                        keyed: Vec::new(),
                        soft_breaks: false,
                    });
                    groups.len() - 1
                }
            }
        };
        // Groups of the enabled rules' keywords; structured rules join in claim order.
        for (i, r) in rules.iter().enumerate() {
            if disabled[i] || matches!(r.detector, Detector::Regex(_)) {
                continue;
            }
            for kw in &r.keywords {
                let g = group_of(&mut groups, kw);
                if matches!(r.detector, Detector::Keyed(_)) {
                    groups[g].keyed.push(i);
                }
            }
        }
        for literal in [true, false] {
            for (i, r) in rules.iter().enumerate() {
                let Detector::Structured(s) = &r.detector else { continue };
                if matches!(s.prefixes, crate::rules::Prefixes::Literal(_)) != literal {
                    continue;
                }
                for g in &mut groups {
                    if r.keywords.iter().any(|k| k.as_bytes() == g.keyword) {
                        g.structured.push(i);
                        g.soft_breaks |= r.decodes(Decode::QuotedPrintable) && !disabled[i];
                        match &s.prefixes {
                            crate::rules::Prefixes::Literal(list) => g.claims.extend(
                                list.iter().map(|p| Claim { rule: i, test: PrefixTest::new(p) }),
                            ),
                            crate::rules::Prefixes::Pattern { .. } => {
                                g.claims.push(Claim { rule: i, test: PrefixTest::Pattern })
                            }
                        }
                    }
                }
            }
        }
        // The prefilter: keywords as written, then UTF-16, then base64 forms.
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut announces: Vec<Vec<Announce>> = Vec::new();
        let mut add = |p: Vec<u8>, a: Announce| match patterns.iter().position(|x| *x == p) {
            Some(i) if !announces[i].contains(&a) => announces[i].push(a),
            Some(_) => {}
            None => {
                patterns.push(p);
                announces.push(vec![a]);
            }
        };
        let enabled_in = |g: &Group| -> Vec<&Rule> {
            g.structured
                .iter()
                .chain(&g.keyed)
                .filter(|&&i| !disabled[i])
                .map(|&i| &rules[i])
                .collect()
        };
        for (g, group) in groups.iter().enumerate() {
            add(group.keyword.clone(), Announce::Plain(g));
        }
        for (g, group) in groups.iter().enumerate() {
            if enabled_in(group).iter().any(|r| r.decodes(Decode::Utf16)) {
                add(utf16_signature(&group.keyword), Announce::Utf16(g));
            }
        }
        let mut signatures: Vec<(String, usize)> = Vec::new();
        for group in &groups {
            for form in encoded_forms(&group.keyword, &enabled_in(group)) {
                add(form.0.clone().into_bytes(), Announce::Base64 { back: form.1 });
                if !signatures.contains(&form) {
                    signatures.push(form);
                }
            }
        }
        // Wherever a pattern matches, every pattern it starts with matches too: the search
        // reports the longest at a place, which announces theirs as well. Sorted, patterns
        // that share their first bytes share the SIMD search's buckets (measured: unsorted,
        // the search ran up to a third slower).
        for b in 0..patterns.len() {
            for a in 0..patterns.len() {
                if a != b && patterns[b].starts_with(&patterns[a]) {
                    let more: Vec<Announce> = announces[a].clone();
                    for x in more {
                        if !announces[b].contains(&x) {
                            announces[b].push(x);
                        }
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..patterns.len()).collect();
        order.sort_by(|&a, &b| patterns[a].cmp(&patterns[b]));
        let patterns: Vec<Vec<u8>> = order.iter().map(|&i| patterns[i].clone()).collect();
        let announces: Vec<Vec<Announce>> = order.iter().map(|&i| announces[i].clone()).collect();
        let prefilter = (!patterns.is_empty()).then(|| Keywords::new(&patterns));
        // Regex rules: their own case-insensitive prefilter.
        let mut custom: Vec<(Vec<u8>, CustomAnnounce)> = Vec::new();
        let mut unkeyed = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if disabled[i] || !matches!(r.detector, Detector::Regex(_)) {
                continue;
            }
            if r.keywords.is_empty() {
                unkeyed.push(i);
            }
            for kw in &r.keywords {
                custom.push((kw.as_bytes().to_vec(), CustomAnnounce::Plain(i)));
                if r.decodes(Decode::Utf16) && kw.len() > 1 {
                    custom.push((utf16_signature(kw.as_bytes()), CustomAnnounce::Utf16(i)));
                }
                for form in encoded_forms(kw.as_bytes(), &[r]) {
                    let a = CustomAnnounce::Base64 { back: form.1 };
                    if !custom.iter().any(|(p, x)| *p == form.0.as_bytes() && *x == a) {
                        custom.push((form.0.clone().into_bytes(), a));
                    }
                    if !signatures.contains(&form) {
                        signatures.push(form);
                    }
                }
            }
        }
        let custom_prefilter = (!custom.is_empty()).then(|| {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(custom.iter().map(|(p, _)| p))
                .expect("keywords are plain strings");
            (ac, custom.into_iter().map(|(_, a)| a).collect())
        });
        let plans: Vec<Plan> = rules
            .iter()
            .map(|r| match &r.detector {
                Detector::Structured(s) => {
                    Plan::Structured { encoded: encoded_separators(s.separator.as_bytes()) }
                }
                Detector::Keyed(k) => Plan::Keyed {
                    pattern: k.pattern.clone(),
                    own_grammar: k.separators.is_none(),
                    soft: r.decodes(Decode::QuotedPrintable),
                },
                Detector::Regex(_) => Plan::Regex,
            })
            .collect();
        let structured_reach = rules
            .iter()
            .zip(&plans)
            .filter_map(|(r, p)| match (&r.detector, p) {
                (Detector::Structured(s), Plan::Structured { encoded }) => {
                    let sep =
                        encoded.iter().map(Vec::len).max().unwrap_or(0).max(s.separator.len());
                    Some(
                        s.prefixes.max_len()
                            + s.parts.iter().map(|p| p.max_len() + sep).sum::<usize>(),
                    )
                }
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let known_examples =
            rules.iter().flat_map(|r| &r.known_examples).map(|k| k.as_bytes().to_vec()).collect();
        let known_parts =
            rules.iter().flat_map(|r| &r.known_parts).map(|k| k.as_bytes().to_vec()).collect();
        Matcher {
            rules,
            disabled,
            prefilter,
            announces: announces.into_iter().map(Vec::into_boxed_slice).collect(),
            groups,
            custom_prefilter,
            plans,
            unkeyed,
            known_examples,
            known_parts,
            signatures,
            structured_reach,
        }
    }

    /// The built-in rules, none disabled (compiled once per process).
    pub fn builtin() -> Matcher {
        BUILTIN.clone()
    }

    /// The rules, indexed by [`Match::rule`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the rule at `index` is turned off.
    pub fn is_disabled(&self, index: usize) -> bool {
        self.disabled[index]
    }

    /// The keywords of the enabled structured and keyed rules, as the prefilter looks for
    /// them (a structured token starts with one; a keyed rule's key ends in one).
    pub fn keywords(&self) -> impl Iterator<Item = &[u8]> {
        self.groups.iter().map(|g| g.keyword.as_slice())
    }

    /// The base64 signatures (text, offset from the start of its 4-character group) the
    /// prefilters look for: a line of base64 holding one may go on with an encoded token.
    pub fn encoded_signatures(&self) -> &[(String, usize)] {
        &self.signatures
    }

    /// Finds every token in `hay`, sorted by position, without overlaps of the same token.
    pub fn find(&self, hay: &[u8]) -> Vec<Match> {
        self.find_hits(hay)
    }

    /// Like [`Matcher::find`], with each token's bytes (decoded from base64, UTF-16 or
    /// quoted-printable; separators plain): only for the stage that verifies tokens live.
    pub fn find_with_tokens(&self, hay: &[u8]) -> Vec<(Match, Secret)> {
        self.find_hits(hay)
    }

    fn find_hits<H: Found>(&self, hay: &[u8]) -> Vec<H> {
        let mut out = Vec::new();
        let parts = split_at_lines(hay);
        if parts.len() > 1 {
            use rayon::prelude::*;
            let found: Vec<Vec<H>> = parts
                .par_iter()
                .map(|r| {
                    let mut v = Vec::new();
                    self.find_into(&hay[r.clone()], 0, &mut v);
                    v.into_iter()
                        .map(|h: H| {
                            let (s, x) = (h.get().span.clone(), h.get().secret.clone());
                            h.moved(
                                s.start + r.start..s.end + r.start,
                                x.start + r.start..x.end + r.start,
                            )
                        })
                        .collect()
                })
                .collect();
            out.extend(found.into_iter().flatten());
        } else {
            self.find_into(hay, 0, &mut out);
        }
        for &rule in &self.unkeyed {
            self.regex_in(hay, 0..hay.len(), rule, &mut out);
        }
        out.sort_by_key(|h| (h.get().span.start, h.get().span.end));
        // The same token found twice over the same bytes (in a base64 layer and the one
        // below it, or by two keywords) is one match.
        let mut kept: Vec<H> = Vec::with_capacity(out.len());
        for h in out {
            let m = h.get();
            let dup =
                kept.iter().map(H::get).rev().take_while(|k| k.span.end > m.span.start).any(|k| {
                    k.fingerprint == m.fingerprint || (k.rule == m.rule && k.span == m.span)
                });
            if !dup {
                kept.push(h);
            }
        }
        kept
    }

    /// Everything but the regex rules without keywords (which [`Matcher::find`] runs over
    /// the whole input, as they may span lines).
    fn find_into<H: Found>(&self, hay: &[u8], depth: u8, out: &mut Vec<H>) {
        if let Some((ac, announces)) = &self.custom_prefilter {
            let mut done = Done::new(self.rules.len());
            for hit in ac.find_overlapping_iter(hay) {
                let at = hit.start();
                match announces[hit.pattern().as_usize()] {
                    CustomAnnounce::Plain(rule) if at >= *done.plain(rule) => {
                        *done.plain(rule) = self.regex_near(hay, at, rule, out);
                    }
                    CustomAnnounce::Utf16(rule) if at >= *done.utf16(rule) => {
                        *done.utf16(rule) = self.utf16_near(hay, at, rule, out);
                    }
                    CustomAnnounce::Base64 { back } => {
                        self.on_base64(hay, at, back, depth, &mut done, out)
                    }
                    _ => {}
                }
            }
        }
        let Some(prefilter) = &self.prefilter else { return };
        let mut done = Done::new(self.rules.len());
        prefilter.each(hay, |at, pattern| {
            for &a in self.announces[pattern].iter() {
                match a {
                    Announce::Plain(g) => self.on_keyword(hay, at, g, &mut done, out),
                    Announce::Utf16(g) => self.on_utf16(hay, at, g, &mut done, out),
                    Announce::Base64 { back } => {
                        self.on_base64(hay, at, back, depth, &mut done, out)
                    }
                }
            }
        });
    }

    /// A keyword as written at `at`: a structured token starting there, and the keyed rules'
    /// values after it.
    fn on_keyword<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        g: usize,
        done: &mut Done,
        out: &mut Vec<H>,
    ) {
        let group = &self.groups[g];
        if !group.structured.is_empty() && boundary_before(hay, at) {
            if let Some(h) =
                self.structured_at(hay, at, g).or_else(|| self.soft_broken_at(hay, at, g))
            {
                out.push(h);
            }
        }
        for &rule in &group.keyed {
            if at >= *done.plain(rule) {
                *done.plain(rule) = self.keyed_near(hay, at, group.keyword.len(), rule, true, out);
            }
        }
    }

    /// A keyword in UTF-16 at `at`.
    #[inline(never)]
    fn on_utf16<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        g: usize,
        done: &mut Done,
        out: &mut Vec<H>,
    ) {
        let group = &self.groups[g];
        if !group.structured.is_empty() {
            if let Some(h) = self.utf16_at(hay, at, g) {
                out.push(h);
            }
        }
        for &rule in &group.keyed {
            if at >= *done.utf16(rule) && self.rules[rule].decodes(Decode::Utf16) {
                *done.utf16(rule) = self.utf16_near(hay, at, rule, out);
            }
        }
    }

    /// A base64 signature at `at`, `back` characters after its group's start.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn on_base64<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        back: usize,
        depth: u8,
        done: &mut Done,
        out: &mut Vec<H>,
    ) {
        if depth >= MAX_DEPTH || at < back {
            return;
        }
        // A signature inside text already decoded in full from an earlier one (same
        // alignment) needs only the text near it: decoding 16 KiB for each would make a run
        // of signatures (`ZHQwZHQw...`) quadratic.
        let group = at - back;
        let slot = group % 4;
        let near = group + NEAR_ENCODED <= done.base64[slot];
        let end = self.base64_at(hay, group, depth, near, out);
        if !near {
            done.base64[slot] = end;
        }
    }

    /// A structured token starting at `at` (where keyword `g` stands), if there is a valid
    /// one: the first rule of the group whose prefix and parts fit claims it (a disabled one
    /// too, which then reports nothing). The parts are separated by the rule's separator or
    /// by an encoded form of it (the same one each time); the token id and fingerprint are
    /// those of the token with plain separators.
    #[inline(never)]
    /// (The caller checks that a token may start at `at`: [`boundary_before`].)
    fn structured_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        // The next 8 bytes as one word: most prefixes are compared in one step.
        let rest = &hay[at..];
        let mut head = [0u8; 8];
        let n = rest.len().min(8);
        head[..n].copy_from_slice(&rest[..n]);
        let word = u64::from_le_bytes(head);
        for claim in &self.groups[g].claims {
            let rule = claim.rule;
            let Detector::Structured(s) = &self.rules[rule].detector else { continue };
            let prefix_len = match &claim.test {
                PrefixTest::Word { value, mask, len } if *len <= n && word & mask == *value => *len,
                PrefixTest::Word { .. } => continue,
                PrefixTest::Bytes(p) if rest.starts_with(p) => p.len(),
                PrefixTest::Bytes(_) => continue,
                PrefixTest::Pattern => match s.prefixes.len_at(rest) {
                    Some(len) => len,
                    None => continue,
                },
            };
            let Some(parsed) = self.parse_parts(hay, at + prefix_len, rule, s) else { continue };
            if self.disabled[rule] {
                return None;
            }
            return self.confirm_structured(hay, at, prefix_len, &parsed, rule, s);
        }
        None
    }

    /// The parts of a structured token after its prefix (which ends at `pos`).
    fn parse_parts(
        &self,
        hay: &[u8],
        mut pos: usize,
        rule: usize,
        s: &Structured,
    ) -> Option<Parsed> {
        let Plan::Structured { encoded } = &self.plans[rule] else { return None };
        let sep: &[u8] = s.separator.as_bytes();
        let mut used: Range<usize> = pos..pos;
        let mut parsed = Parsed { ranges: [(0, 0); crate::rules::schema::MAX_PARTS], end: 0 };
        for (k, part) in s.parts.iter().enumerate() {
            if !sep.is_empty() {
                if k == 0 {
                    let rest = &hay[pos..];
                    let len = if rest.starts_with(sep) {
                        sep.len()
                    } else if matches!(rest.first(), Some(b'%' | b'&' | b'=')) {
                        encoded
                            .iter()
                            .find(|d| {
                                rest.get(..d.len()).is_some_and(|r| r.eq_ignore_ascii_case(d))
                            })?
                            .len()
                    } else {
                        return None;
                    };
                    used = pos..pos + len;
                } else if hay.get(pos..pos + used.len()) != Some(&hay[used.clone()]) {
                    return None;
                }
                pos += used.len();
            }
            let run = &hay[pos..(pos + part.max_len() + 1).min(hay.len())];
            let n = run.iter().position(|&b| !part.alphabet.contains(b)).unwrap_or(run.len());
            if !part.lengths.contains(&n) {
                return None;
            }
            parsed.ranges[k] = (pos, pos + n);
            pos += n;
        }
        let last = s.parts.last()?;
        if hay.get(pos).is_some_and(|&b| b.is_ascii_alphanumeric() || last.alphabet.contains(b)) {
            return None;
        }
        parsed.end = pos;
        Some(parsed)
    }

    /// The checks after a rule claimed a structured token: checksum, shapes, known examples.
    #[allow(clippy::too_many_arguments)]
    fn confirm_structured<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        prefix_len: usize,
        parsed: &Parsed,
        rule: usize,
        s: &Structured,
    ) -> Option<H> {
        const MAX: usize = crate::rules::schema::MAX_PARTS;
        let mut all: [&[u8]; MAX] = [&[]; MAX];
        for (v, &(a, b)) in all.iter_mut().zip(&parsed.ranges[..s.parts.len()]) {
            *v = &hay[a..b];
        }
        let parts = &all[..s.parts.len()];
        if s.parts.iter().zip(parts).any(|(p, v)| !shape_holds(p.shape, v)) {
            return None;
        }
        if parts.iter().any(|v| self.known_parts.iter().any(|k| k == v)) {
            return None;
        }
        let sep = s.separator.as_bytes();
        let mut token = Vec::with_capacity(parsed.end - at);
        token.extend_from_slice(&hay[at..at + prefix_len]);
        let mut id_len = None;
        for (p, v) in s.parts.iter().zip(parts) {
            if p.role == Role::Secret && id_len.is_none() {
                id_len = Some(token.len());
            }
            token.extend_from_slice(sep);
            token.extend_from_slice(v);
        }
        let id_len = id_len.unwrap_or(token.len());
        if !checksum_holds(self.rules[rule].checksum, &token, parts)
            || self.known_examples.contains(&token)
        {
            return None;
        }
        let shown = String::from_utf8_lossy(&token[..id_len]).into_owned();
        let first_secret = s.parts.iter().position(|p| p.role == Role::Secret).unwrap_or(0);
        let has_id = first_secret > 0;
        let masked = format!("{shown}{}{MASK}", s.separator);
        let secret_from = id_len + s.separator.len();
        Some(H::found(
            Match {
                rule,
                span: at..parsed.end,
                secret: parsed.ranges[first_secret].0..parsed.end,
                masked,
                token_id: has_id.then_some(shown),
                fingerprint: fingerprint(&token),
                encoding: Encoding::Plain,
            },
            || (token.into_boxed_slice(), secret_from),
        ))
    }

    /// A structured token written in UTF-16 (either byte order, as Windows tools write text)
    /// whose first character stands at `at`: the characters are read from every other byte
    /// into a small buffer and checked there; the match covers the UTF-16 bytes.
    fn utf16_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        let max_chars = self.structured_reach + 1;
        let mut chars = Vec::with_capacity(max_chars + 1);
        // The character before, for the boundary check.
        let before = at >= 2 && hay[at - 1] == 0;
        if before {
            chars.push(hay[at - 2]);
        }
        let first = chars.len();
        let mut i = at;
        while i < hay.len() && chars.len() <= max_chars {
            if i > at && hay[i - 1] != 0 {
                break;
            }
            chars.push(hay[i]);
            i += 2;
        }
        if !boundary_before(&chars, first) {
            return None;
        }
        let h: H = self.structured_at(&chars, first, g)?;
        if !self.rules[h.get().rule].decodes(Decode::Utf16) {
            return None;
        }
        let byte = |c: usize| at + 2 * (c - first);
        let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
        Some(
            h.moved(byte(span.start)..byte(span.end) - 1, byte(secret.start)..byte(secret.end) - 1),
        )
    }

    /// A structured token starting at `at` and cut by quoted-printable soft line breaks (`=`
    /// before a line end, which e-mail bodies have every 76 characters at most): checked on a
    /// copy without them, only when one stands within reach.
    #[inline(never)]
    fn soft_broken_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        // (Which rule claims the token, and whether it reads soft breaks, is asked of the
        // copy: a soft break stands within reach only in e-mail.)
        if !self.groups[g].soft_breaks {
            return None;
        }
        let reach = self.structured_reach;
        let end = (at + reach + 3 * (reach / 76 + 2) + 1).min(hay.len());
        let window = &hay[at..end];
        if !memchr::memchr_iter(b'=', window).any(|i| soft_break_len(window, i) > 0)
            || !boundary_before(hay, at)
        {
            return None;
        }
        let (chars, pos) = unbreak(hay, at..end);
        let h: H = self.structured_at(&chars, 0, g)?;
        // The token must end where the copy shows its end, not at the end of the window.
        if (h.get().span.end == chars.len() && end < hay.len())
            || !self.rules[h.get().rule].decodes(Decode::QuotedPrintable)
        {
            return None;
        }
        let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
        Some(h.moved(
            pos[span.start]..pos[span.end - 1] + 1,
            pos[secret.start]..pos[secret.end - 1] + 1,
        ))
    }

    /// A keyed or regex rule's keyword in UTF-16 text at `at`: the characters of the line
    /// around it are read from every other byte (either byte order) into a small buffer and
    /// searched there; matches cover the UTF-16 bytes. Returns where the search reached, so
    /// that later keywords inside it are not checked again.
    fn utf16_near<H: Found>(&self, hay: &[u8], at: usize, rule: usize, out: &mut Vec<H>) -> usize {
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

    /// Decodes base64 from the group starting at `group` and reports the tokens inside at the
    /// encoded position.
    #[inline(never)]
    fn base64_at<H: Found>(
        &self,
        hay: &[u8],
        group: usize,
        depth: u8,
        near: bool,
        out: &mut Vec<H>,
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
    /// [`encoding::decode_base64_wrapped`]) and reports the tokens inside (only those in a
    /// further base64 layer when `nested_only`); returns how many bytes of `hay` the decoding
    /// read.
    #[allow(clippy::too_many_arguments)]
    fn base64_from<H: Found>(
        &self,
        hay: &[u8],
        Range { start: group, end }: Range<usize>,
        depth: u8,
        wrap: bool,
        nested_only: bool,
        out: &mut Vec<H>,
    ) -> usize {
        let decoded = encoding::decode_base64_wrapped(&hay[..end], group, wrap);
        if decoded.bytes.len() < 3 {
            return decoded.consumed;
        }
        let mut inner: Vec<H> = Vec::new();
        self.find_into(&decoded.bytes, depth + 1, &mut inner);
        for h in inner {
            if nested_only && h.get().encoding != Encoding::Base64 {
                continue;
            }
            let span = decoded.text_range(h.get().span.clone());
            let secret = decoded.text_range(h.get().secret.clone());
            let mut h = h.moved(
                group + span.start..group + span.end,
                group + secret.start..group + secret.end,
            );
            h.get_mut().encoding = Encoding::Base64;
            out.push(h);
        }
        decoded.consumed
    }

    /// Runs a keyed rule's pattern over the window around its keyword (`kw_len` bytes at
    /// `at`); returns where the window ends so that later keywords inside it are not checked
    /// again. With `soft`, a line joined to its neighbour by a quoted-printable soft break is
    /// read without it.
    #[allow(clippy::too_many_arguments)]
    fn keyed_near<H: Found>(
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
        for caps in pattern.captures_iter(&hay[start..end]) {
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

    /// A regex rule's keyword at `at`: the rule runs over the line around it (joined to its
    /// neighbours over quoted-printable soft breaks, when the rule decodes them). Returns
    /// where the line ends.
    fn regex_near<H: Found>(&self, hay: &[u8], at: usize, rule: usize, out: &mut Vec<H>) -> usize {
        let line = line_around(hay, at);
        self.regex_in(hay, line.clone(), rule, out);
        if self.rules[rule].decodes(Decode::QuotedPrintable) && soft_neighbour(hay, line.clone()) {
            if let Some((chars, pos)) = soft_window(hay, line.clone(), SOFT_LINE_REACH) {
                let mut found: Vec<H> = Vec::new();
                self.regex_in(&chars, 0..chars.len(), rule, &mut found);
                for h in found {
                    let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
                    out.push(h.moved(
                        pos[span.start]..pos[span.end - 1] + 1,
                        pos[secret.start]..pos[secret.end - 1] + 1,
                    ));
                }
            }
        }
        line.end
    }

    /// A regex rule over `hay[range]`.
    fn regex_in<H: Found>(&self, hay: &[u8], range: Range<usize>, rule: usize, out: &mut Vec<H>) {
        let Detector::Regex(re) = &self.rules[rule].detector else { return };
        let base = range.start;
        for caps in re.captures_iter(&hay[range]) {
            let whole = caps.get(0).expect("group 0 exists");
            if whole.is_empty() {
                continue;
            }
            let secret = caps.name("secret").unwrap_or(whole);
            let text = whole.as_bytes();
            if !checksum_holds(self.rules[rule].checksum, text, &[secret.as_bytes()])
                || self.is_known(text)
                || self.is_known(secret.as_bytes())
            {
                continue;
            }
            let (before, after) =
                (&text[..secret.start() - whole.start()], &text[secret.end() - whole.start()..]);
            let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let masked = format!("{}{MASK}{}", shown(before), shown(after));
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

    /// Whether `token` is a known public example, or one of their parts.
    fn is_known(&self, token: &[u8]) -> bool {
        self.known_examples.iter().chain(&self.known_parts).any(|k| k == token)
    }
}

/// For each rule, how far the searches of one input got (later keywords inside are skipped).
/// Allocated on first use: most inputs decoded from base64 hold no keyword of such a rule.
struct Done {
    rules: usize,
    plain: Vec<usize>,
    utf16: Vec<usize>,
    /// For each alignment (group start mod 4), where the last full base64 decode ended.
    base64: [usize; 4],
}

impl Done {
    fn new(rules: usize) -> Done {
        Done { rules, plain: Vec::new(), utf16: Vec::new(), base64: [0; 4] }
    }

    /// Where the search of `rule` in the text as written got to.
    fn plain(&mut self, rule: usize) -> &mut usize {
        if self.plain.is_empty() {
            self.plain = vec![0; self.rules];
        }
        &mut self.plain[rule]
    }

    /// Where the search of `rule` in UTF-16 text got to.
    fn utf16(&mut self, rule: usize) -> &mut usize {
        if self.utf16.is_empty() {
            self.utf16 = vec![0; self.rules];
        }
        &mut self.utf16[rule]
    }
}

/// Where the parts of a structured token stand, and where it ends.
struct Parsed {
    ranges: [(usize, usize); crate::rules::schema::MAX_PARTS],
    end: usize,
}

/// The base64 forms of `keyword` that `rules` ask for: base64 at each alignment, base64 in
/// base64, UTF-16 in base64.
fn encoded_forms(keyword: &[u8], rules: &[&Rule]) -> Vec<(String, usize)> {
    let wants = |d: Decode| rules.iter().any(|r| r.decodes(d));
    let mut out = Vec::new();
    if wants(Decode::Base64) {
        out.extend(base64_signatures(keyword));
    }
    if wants(Decode::Base64InBase64) {
        out.extend(nested_base64_signatures(keyword));
    }
    if wants(Decode::Utf16InBase64) {
        out.extend(base64_signatures(&utf16le(keyword)));
    }
    let mut unique: Vec<(String, usize)> = Vec::with_capacity(out.len());
    for f in out {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    unique
}

/// Whether a token passes its rule's offline checksum. Each [`Checksum`] kind is one arm
/// here; `token` is the whole token (separators plain), `parts` its parts.
fn checksum_holds(kind: Checksum, token: &[u8], parts: &[&[u8]]) -> bool {
    let _ = (token, parts);
    match kind {
        Checksum::None => true,
    }
}

/// Whether a part or value passes its shape check.
fn shape_holds(shape: Shape, part: &[u8]) -> bool {
    match shape {
        Shape::Random => !is_placeholder_part(part),
        Shape::MixedCase => is_plausible_legacy(part),
        Shape::None => true,
    }
}

/// The length of a quoted-printable soft line break (`=` then LF or CRLF) at `text[i]`, or 0.
fn soft_break_len(text: &[u8], i: usize) -> usize {
    match &text[i..] {
        [b'=', b'\n', ..] => 2,
        [b'=', b'\r', b'\n', ..] => 3,
        _ => 0,
    }
}

/// A copy of `hay[range]` without quoted-printable soft line breaks, and for each byte of the
/// copy its position in `hay`.
fn unbreak(hay: &[u8], range: Range<usize>) -> (Vec<u8>, Vec<usize>) {
    let window = &hay[range.clone()];
    let mut chars = Vec::with_capacity(window.len());
    let mut pos = Vec::with_capacity(window.len());
    let mut i = 0;
    while i < window.len() {
        match soft_break_len(window, i) {
            0 => {
                chars.push(window[i]);
                pos.push(range.start + i);
                i += 1;
            }
            n => i += n,
        }
    }
    (chars, pos)
}

/// Whether the line `line` of `hay`, or the line before it, ends in a soft break's `=` (a
/// cheap test before [`soft_window`]).
#[inline]
fn soft_neighbour(hay: &[u8], line: Range<usize>) -> bool {
    let ends_soft = |lf: usize| {
        hay.get(lf) == Some(&b'\n')
            && match lf.checked_sub(1).map(|i| hay[i]) {
                Some(b'=') => true,
                Some(b'\r') => lf >= 2 && hay[lf - 2] == b'=',
                _ => false,
            }
    };
    ends_soft(line.end) || (line.start > 0 && ends_soft(line.start - 1))
}

/// The logical line around `line` (a line of `hay`, without its line end) when
/// quoted-printable soft breaks join it to the lines before or after it, each such line as
/// long as an encoder makes it ([`SOFT_LINE`]), up to `reach` bytes either way: the copy without the breaks
/// ([`unbreak`]). `None` when no soft break joins the line to another.
fn soft_window(hay: &[u8], line: Range<usize>, reach: usize) -> Option<(Vec<u8>, Vec<usize>)> {
    // Whether the line end at `end` (an LF) follows a soft break's `=`.
    let after_soft = |end: usize| -> bool {
        let body = &hay[..end];
        hay.get(end) == Some(&b'\n') && body.strip_suffix(b"\r").unwrap_or(body).ends_with(b"=")
    };
    let mut start = line.start;
    while start > 0 && line.start - start < reach && after_soft(start - 1) {
        let lo = (start - 1).saturating_sub(reach);
        let prev = memchr::memrchr(b'\n', &hay[lo..start - 1]).map_or(lo, |p| lo + p + 1);
        if !SOFT_LINE.contains(&(start - 1 - prev)) {
            break;
        }
        start = prev;
    }
    let (mut cur, mut end) = (line.start, line.end);
    while end - line.end < reach && SOFT_LINE.contains(&(end - cur)) && after_soft(end) {
        cur = end + 1;
        let hi = (cur + reach).min(hay.len());
        end = memchr::memchr(b'\n', &hay[cur..hi]).map_or(hi, |p| cur + p);
    }
    if start == line.start && end == line.end {
        return None;
    }
    Some(unbreak(hay, start..end))
}

/// Whether `text` (what follows a keyword) starts with a separator the keyed detector's own
/// grammar allows (quotes, blanks, `=`, `:`, `=>`, `,`, `>`, `%20`, `%2520`, `\`, `value=`, a
/// YAML anchor or tag, typographic quotes) and then a value of one of the allowed lengths and
/// no more. A cheap necessary condition checked before the pattern runs.
fn value_follows(text: &[u8], value: &Part) -> bool {
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

/// Cuts a large input into parts that end at a line end (one per thread), so that no match
/// but those of regex rules without keywords can cross a cut. Small inputs stay whole.
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
