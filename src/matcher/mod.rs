//! The matcher: one keyword prefilter over the whole input, built from every rule's keywords
//! and their encoded forms (base64 at each alignment, base64 in base64, UTF-16, UTF-16 in
//! base64), then a precise check of each candidate by its rule's detector (structured,
//! keyed, regex), then shape checks. Decoders (base64, UTF-16, quoted-printable, URL-encoded
//! and HTML-entity separators) feed decoded text back in. It returns matches as values and
//! never prints; a match carries the masked token and the fingerprint, never the secret
//! itself (unless asked for with [`Matcher::find_with_tokens`]).

pub mod check;
pub mod checksum;
mod custom;
mod encoding;
mod escaped;
mod keyed;
mod linecut;
mod literals;
mod nested;
mod prefilter;
mod runs;
mod shape;
mod softbreak;
mod structured;
mod teddy;

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sha2::{Digest, Sha256};

use crate::rules::{Checksum, Decode, Detector, Part, Role, Rule, Shape, Structured};
pub use encoding::{
    base64_signatures, base64_value, boundary_before, decode_base64_prefix, encoded_separators,
    is_base64_char, nested_base64_signatures, utf16_signature, utf16le,
};
use prefilter::{encoded_forms, split_at_lines};
pub use shape::{is_placeholder_part, is_placeholder_token, is_plausible_legacy};

/// Inputs at least this long are cut at line ends and searched in parallel.
const PARALLEL_MIN: usize = 256 << 10;

/// The prefilter searches the input in blocks of this size (each read once from memory).
const PREFILTER_BLOCK: usize = 64 << 10;

/// Longest stretch of text that a keyed match may span (key, separator and value).
const KEYED_WINDOW: usize = 192;
/// Most bytes that a keyed match reaches past its keyword (separators, quotes, the value).
const KEYED_REACH: usize = 160;
/// A signature this close to the end of a decoding is decoded again (its token may run past
/// that end): more than a token in base64 inside base64 takes (about 200 characters).
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

/// The built-in matcher, compiled once per process and shared (a copy of it cost as much as
/// a fifth of its build, and as much again to drop, on every run).
static BUILTIN: LazyLock<Arc<Matcher>> =
    LazyLock::new(|| Arc::new(Matcher::new(crate::rules::builtin(), &[])));

/// The base64 signatures (text, offset from its group start) of the built-in rules' keywords,
/// as the prefilter looks for them. For tools that must know whether a line may go on with
/// an encoded token (a pipe holding back wrapped base64).
pub static BASE64_SIGNATURES: LazyLock<Vec<(String, usize)>> =
    LazyLock::new(|| BUILTIN.encoded_signatures().to_vec());

/// One search for every signature of [`BASE64_SIGNATURES`] (hundreds: a search for each, per
/// line of a pipe, cost more than the line's scan).
pub static BASE64_SIGNATURE_SEARCH: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new(BASE64_SIGNATURES.iter().map(|(s, _)| s.as_bytes()))
        .expect("signatures are plain strings")
});

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
    /// Each distinct keyword of the structured and keyed rules, with the rules it announces.
    groups: Vec<Group>,
    /// The one keyword search: every rule's keywords, matched without regard to ASCII case,
    /// and their encoded forms ([`literals`]).
    search: KeywordSearch,
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
    /// The signatures that a line end can cut ([`linecut`]), and the last characters of
    /// their heads.
    cuts: Vec<linecut::Cut>,
    cut_last: [bool; 256],
    cut_index: linecut::CutIndex,
}

/// The search for every rule's keywords and their encoded forms ([`literals`]).
#[derive(Debug, Clone, Default)]
struct KeywordSearch {
    /// Keywords, matched without regard to case (in one pass over the text as written, or
    /// in a lower-cased copy: [`literals::Literals::ignores_case`]).
    plain: Option<literals::Literals<Announce>>,
    /// Keywords in UTF-16 (each holds a NUL byte), also without regard to case.
    utf16: Option<literals::Literals<Announce>>,
    /// Base64 forms, as written (base64 is case sensitive).
    encoded: Option<literals::Literals<Announce>>,
    /// The longest keyword or UTF-16 form.
    longest: usize,
    /// Whether a base64 form is written in the alphabet of hashes alone ([`runs::hex_alone`]).
    hex_literal: bool,
}

impl KeywordSearch {
    fn new(list: Vec<(Vec<u8>, Announce)>) -> KeywordSearch {
        let (encoded, plain): (Vec<_>, Vec<_>) =
            list.into_iter().partition(|(_, a)| matches!(a, Announce::Base64 { .. }));
        let (utf16, plain): (Vec<_>, Vec<_>) = plain
            .into_iter()
            .map(|(k, a)| (k.to_ascii_lowercase(), a))
            .partition(|(k, _)| k.contains(&0));
        let hex_literal = encoded.iter().any(|(l, _)| runs::hex_alone(l));
        let ((plain, utf16), encoded) = rayon::join(
            || {
                rayon::join(
                    || literals::Literals::new_caseless(&plain),
                    || literals::Literals::new(&utf16),
                )
            },
            || literals::Literals::new(&encoded),
        );
        let longest = plain.iter().chain(&utf16).map(|l| l.longest()).max().unwrap_or(0);
        KeywordSearch { plain, utf16, encoded, longest, hex_literal }
    }

    /// The longest literal of any kind.
    fn longest_literal(&self) -> usize {
        self.longest.max(self.encoded.as_ref().map_or(0, |e| e.longest()))
    }

    /// Whether any keyword or form shows in `text` (a few bytes: folded here).
    fn any_in(&self, text: &[u8]) -> bool {
        let folded = text.to_ascii_lowercase();
        self.plain.iter().any(|l| l.any_in(if l.ignores_case() { text } else { &folded }))
            || self.utf16.iter().any(|l| l.any_in(&folded))
            || self.encoded.as_ref().is_some_and(|l| l.any_in(text))
    }
}

/// What a literal of the keyword search announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Announce {
    /// A regex rule's keyword.
    Plain(usize),
    /// A regex rule's keyword in UTF-16.
    Utf16(usize),
    /// A base64 signature this many characters after its group's start.
    Base64 { back: usize },
    /// A keyword of [`Matcher::groups`] (structured and keyed rules).
    Keyword(usize),
    /// The same keyword in UTF-16.
    KeywordUtf16(usize),
    /// The same keyword written in escapes (`%64%74%30`).
    Escaped(usize),
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
    /// With two keyed rules or more: their one quick test, where one stands for each
    /// ([`keyed::shared_quick_test`]).
    quick: Option<Part>,
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
        pattern: crate::rules::LazyRegex,
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
                        quick: None,
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
        for g in groups.iter_mut().filter(|g| g.keyed.len() > 1) {
            let keyed: Vec<&Rule> = g.keyed.iter().map(|&i| &rules[i]).collect();
            g.quick = keyed::shared_quick_test(&keyed);
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
        // One keyword search for every rule: the structured and keyed rules' keywords as
        // written, in UTF-16, in escapes and in base64, then the regex rules' keywords and
        // their forms. (Sets beside the lists: with every provider's keywords, `Vec::contains`
        // made the build quadratic, milliseconds on every run of the hook.)
        let mut literals: Vec<(Vec<u8>, Announce)> = Vec::new();
        // Base64 forms (text, offset from its group's start), of every rule, in order.
        let mut encoded: Vec<(String, usize)> = Vec::new();
        let enabled_in = |g: &Group| -> Vec<&Rule> {
            g.structured
                .iter()
                .chain(&g.keyed)
                .filter(|&&i| !disabled[i])
                .map(|&i| &rules[i])
                .collect()
        };
        for (g, group) in groups.iter().enumerate() {
            // The search ignores case: a keyword written in another case for the same rules
            // (`token`, `Token`, `TOKEN`) would only announce them again.
            let again = groups[..g].iter().any(|h| {
                h.keyword.eq_ignore_ascii_case(&group.keyword)
                    && h.structured == group.structured
                    && h.keyed == group.keyed
            });
            if !again {
                literals.push((group.keyword.clone(), Announce::Keyword(g)));
                if enabled_in(group).iter().any(|r| r.decodes(Decode::Utf16)) {
                    let utf16 = utf16_signature(&group.keyword);
                    literals.push((utf16, Announce::KeywordUtf16(g)));
                }
                if group.structured.iter().any(|&i| !disabled[i]) {
                    for form in escaped::escaped_forms(&group.keyword) {
                        literals.push((form, Announce::Escaped(g)));
                    }
                }
            }
            encoded.extend(encoded_forms(&group.keyword, &enabled_in(group)));
        }
        let mut unkeyed = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if disabled[i] || !matches!(r.detector, Detector::Regex(_)) {
                continue;
            }
            if r.keywords.is_empty() {
                unkeyed.push(i);
            }
            for kw in &r.keywords {
                literals.push((kw.as_bytes().to_vec(), Announce::Plain(i)));
                for form in custom::url_forms(kw.as_bytes()) {
                    literals.push((form, Announce::Plain(i)));
                }
                // A quoted keyword in JSON inside JSON (`\"private_key_id\"`) or in HTML
                // (`&quot;private_key_id&quot;`): the rule reads its line unescaped
                // ([`custom`]).
                if kw.contains('"') {
                    for quote in ["\\\"", "&quot;"] {
                        literals.push((kw.replace('"', quote).into_bytes(), Announce::Plain(i)));
                    }
                }
                if r.decodes(Decode::Utf16) && kw.len() > 1 {
                    literals.push((utf16_signature(kw.as_bytes()), Announce::Utf16(i)));
                }
                encoded.extend(encoded_forms(kw.as_bytes(), &[r]));
            }
        }
        let mut signatures: Vec<(String, usize)> = Vec::new();
        let mut signature_set: std::collections::HashSet<(String, usize)> = Default::default();
        for form in encoded {
            if signature_set.insert(form.clone()) {
                literals.push((form.0.clone().into_bytes(), Announce::Base64 { back: form.1 }));
                signatures.push(form);
            }
        }
        // The keyword search and the cut signatures are built on two cores.
        let (search, (cuts, cut_last, cut_index)) =
            rayon::join(|| KeywordSearch::new(literals), || linecut::cuts_of(&signatures));
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
            groups,
            search,
            plans,
            unkeyed,
            known_examples,
            known_parts,
            signatures,
            structured_reach,
            cuts,
            cut_last,
            cut_index,
        }
    }

    /// The built-in rules, none disabled (compiled once per process): a copy.
    pub fn builtin() -> Matcher {
        Matcher::clone(&BUILTIN)
    }

    /// The built-in matcher, shared (no copy).
    pub fn builtin_shared() -> Arc<Matcher> {
        Arc::clone(&BUILTIN)
    }

    /// The built-in matcher itself, without a copy.
    pub fn builtin_ref() -> &'static Matcher {
        &BUILTIN
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

    /// The keywords of [`Matcher::keywords`] whose rules (one at least, enabled) look for
    /// their tokens in base64: what a decoded run of base64 may hold.
    pub fn base64_keywords(&self) -> impl Iterator<Item = &[u8]> {
        self.groups
            .iter()
            .filter(|g| {
                g.structured
                    .iter()
                    .chain(&g.keyed)
                    .any(|&i| !self.disabled[i] && self.rules[i].decodes(Decode::Base64))
            })
            .map(|g| g.keyword.as_slice())
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
        self.find_hits_in(hay, true)
    }

    /// [`Matcher::find_hits`]; with `views`, a UTF-16 or quoted-printable text is also read
    /// decoded as a whole (not again inside that reading).
    fn find_hits_in<H: Found>(&self, hay: &[u8], views: bool) -> Vec<H> {
        let mut out = Vec::new();
        // A UTF-16 text (a byte order mark, or ASCII beside NULs at its start) is read as
        // UTF-8 too: base64, escapes and values on other lines inside it are decoded as in
        // any text (its keywords' UTF-16 forms find only what stands plainly); what both
        // find is one match.
        if views {
            if let Some(view) = custom::view::View::utf16(hay, MAX_UTF16_VIEW) {
                out.extend(
                    self.find_hits_in::<H>(&view.text, false).into_iter().map(|h| view.moved(h)),
                );
            }
        }
        let plain_from = out.len();
        let parts = split_at_lines(hay);
        let mut soft_breaks = 0;
        if parts.len() > 1 {
            use rayon::prelude::*;
            let found: Vec<(Vec<H>, usize)> = parts
                .par_iter()
                .map(|r| {
                    let mut v = Vec::new();
                    let breaks = self.find_into(&hay[r.clone()], 0, &mut v);
                    let moved = v
                        .into_iter()
                        .map(|h: H| {
                            let (s, x) = (h.get().span.clone(), h.get().secret.clone());
                            h.moved(
                                s.start + r.start..s.end + r.start,
                                x.start + r.start..x.end + r.start,
                            )
                        })
                        .collect();
                    (moved, breaks)
                })
                .collect();
            for (v, e) in found {
                out.extend(v);
                soft_breaks += e;
            }
        } else {
            soft_breaks = self.find_into(hay, 0, &mut out);
        }
        // A token read as written up to a soft break, where the text goes on with it after
        // the break, is the head of a longer one that the encoder cut: the readings without
        // the breaks (below, and the windows around breaks) tell what the whole is.
        if soft_breaks > 0 {
            let mut i = 0;
            out.retain(|h| {
                i += 1;
                let m = h.get();
                let base64 = m.encoding == Encoding::Base64;
                i <= plain_from || !softbreak::cut_by_soft_break(hay, m.span.end, base64)
            });
        }
        // A quoted-printable text (soft breaks as an encoder writes them, or a mail part
        // that says so) is read decoded too: base64 cut by a soft break, `=3D` in an
        // assignment of any form, a value below its key; what both find is one match.
        // (A break per 64 KiB at least: a stray one, in a large text of source code, would
        // have the whole read twice.)
        if views
            && hay.len() <= MAX_QP_VIEW
            && (soft_breaks >= (hay.len() >> 16).max(1)
                || softbreak::declares_quoted_printable(hay))
        {
            let text = softbreak::unbreak(hay, 0..hay.len());
            if text.chars.len() < hay.len() {
                out.extend(
                    self.find_hits_in::<H>(&text.chars, false).into_iter().map(|h| text.moved(h)),
                );
            }
        }
        for &rule in &self.unkeyed {
            self.regex_in(hay, 0..hay.len(), rule, &mut out);
        }
        out.sort_by_key(|h| (h.get().span.start, h.get().span.end));
        // The same token found twice over the same bytes (in a base64 layer and the one
        // below it, or by two keywords) is one match; so is a secret found by a pair's rule
        // and by its key's on one line (`--access-key AKIA… --secret-key …`: the pair, found
        // first, shows the id). (A pair over two lines is reported at both: the pre-commit
        // hook may see either line added alone.)
        let mut kept: Vec<H> = Vec::with_capacity(out.len());
        for h in out {
            let m = h.get();
            let dup =
                kept.iter().map(H::get).rev().take_while(|k| k.span.end > m.span.start).any(|k| {
                    k.fingerprint == m.fingerprint
                        || (k.rule == m.rule && k.span == m.span)
                        || (k.secret == m.secret
                            && hay.get(k.span.clone()).is_some_and(|s| !s.contains(&b'\n')))
                });
            if !dup {
                kept.push(h);
            }
        }
        kept
    }

    /// Everything but the regex rules without keywords (which [`Matcher::find`] runs over
    /// the whole input, as they may span lines).
    /// At depth 0, returns how many quoted-printable soft breaks the text shows.
    fn find_into<H: Found>(&self, hay: &[u8], depth: u8, out: &mut Vec<H>) -> usize {
        self.search_keywords(hay, depth, depth == 0, out)
    }

    /// [`Matcher::find_into`] without the pass for keywords cut by soft breaks: for the text
    /// that pass joined (a joined copy may show `=` and a line end again, from an escape:
    /// joining it again and again went on without end).
    fn find_into_joined<H: Found>(&self, hay: &[u8], depth: u8, out: &mut Vec<H>) {
        self.search_keywords(hay, depth, false, out);
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
        // One quick test for all the keyed rules, where it stands for each (the rules' own,
        // in [`Matcher::keyed_near`], then tell the values that may come later).
        if let Some(quick) = &group.quick {
            let rest = &hay[at + group.keyword.len()..];
            if keyed::no_value_after(rest, quick) && !keyed::value_later(rest) {
                return;
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
        self.base64_at(hay, at - back, back, depth, &mut done.base64, out);
    }
}

/// Longest UTF-16 text read as UTF-8 as well (its view takes 17 bytes per character; a
/// longer one is read by its keywords' UTF-16 forms alone).
const MAX_UTF16_VIEW: usize = 4 << 20;

/// Longest quoted-printable text read decoded as a whole (its copy takes 17 bytes per byte;
/// a longer one is read by the windows around its soft breaks alone).
const MAX_QP_VIEW: usize = 4 << 20;

/// For each rule, how far the searches of one input got (later keywords inside are skipped).
/// Allocated on first use: most inputs decoded from base64 hold no keyword of such a rule.
struct Done {
    rules: usize,
    plain: Vec<usize>,
    utf16: Vec<usize>,
    /// The base64 decodings that later signatures may fall in.
    base64: nested::Decodings,
}

impl Done {
    fn new(rules: usize) -> Done {
        Done { rules, plain: Vec::new(), utf16: Vec::new(), base64: Default::default() }
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
