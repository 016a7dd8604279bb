//! Rules are data: what a token looks like, which keywords announce it, how it is shown, how
//! it is rotated, and the examples and negative examples that `tokenguard rules check` proves
//! it against. Built-in rules live in `rules/<provider>.toml` at the repository root, embedded
//! in the binary and parsed once; custom rules (`.tokenguard.toml`) use the same schema
//! ([`schema`], docs/rules.md). This module holds data only: matching is the matcher's job.

pub mod schema;

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

pub use schema::{compile_regex, RawRule, RuleError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// How bad a leak of the token is. Reports carry it; `high` unless a rule says otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A live credential (the default).
    #[default]
    High,
    /// A credential of limited reach.
    Medium,
    /// A test or placeholder credential.
    Low,
}

impl Severity {
    /// The name used in the configuration and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// The offline checksum a token carries. Each kind is one match arm in the matcher's
/// `checksum_holds`: a new kind is a new variant here and an arm there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// No checksum: the token's shape alone decides.
    #[default]
    None,
    /// GitHub classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm tokens:
    /// CRC-32 of the 30 characters after the prefix, as 6 base62 digits at the end.
    Github,
    /// GitHub fine-grained tokens (`github_pat_`): truncated base32 SHA-256 inside.
    GithubFineGrained,
    /// GitLab routable tokens: CRC-32 in base36 and the payload's length field.
    GitlabRoutable,
    /// Grafana service-account tokens (`glsa_`): CRC-32 as little-endian hex.
    Grafana,
    /// Grafana Cloud access-policy tokens (`glc_`): base64 of a JSON object with `o`, `n`
    /// and `k`.
    GrafanaCloud,
    /// Grafana API keys of the older kind (`eyJrIjoi`): base64 of a JSON object with a key
    /// `k`, a name `n` and a numeric `id`.
    GrafanaApiKey,
    /// Atlassian API tokens and Bitbucket app passwords: CRC-32 as upper-case hex.
    Atlassian,
    /// PyPI tokens: a macaroon (version 2) whose location is `pypi.org`.
    Pypi,
}

/// An encoded form in which the matcher looks for a rule's keywords (and so its tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decode {
    /// Base64 (standard or URL-safe) at any alignment, also wrapped over lines.
    Base64,
    /// Base64 at the one alignment where a keyword starts a group of three bytes: a value
    /// encoded whole (a Kubernetes Secret's data) of a token whose keyword stands a multiple
    /// of three characters into it (Entra ID's `7Q~` at 3). Its four-character signatures,
    /// where the other alignments give three-character ones that base64 text holds often.
    Base64Aligned,
    /// Base64 inside base64 (a Docker config in a Kubernetes Secret).
    Base64InBase64,
    /// UTF-16 text, either byte order.
    Utf16,
    /// UTF-16 (little-endian) text in base64 (PowerShell's `-EncodedCommand`).
    Utf16InBase64,
    /// Quoted-printable soft line breaks (`=` at a line end) inside the token or its context.
    QuotedPrintable,
}

impl Decode {
    /// Every decoder: what a rule gets unless it lists its own.
    pub const ALL: [Decode; 5] = [
        Decode::Base64,
        Decode::Base64InBase64,
        Decode::Utf16,
        Decode::Utf16InBase64,
        Decode::QuotedPrintable,
    ];
}

/// A set of ASCII bytes, written like a regex class without brackets: `A-Z0-9`, `a-f0-9`,
/// `A-Za-z0-9_-` (a `-` first or last is itself). A table: the matcher asks it for every
/// byte of every candidate token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ByteSet([bool; 256]);

impl Default for ByteSet {
    fn default() -> ByteSet {
        ByteSet([false; 256])
    }
}

impl ByteSet {
    /// Parses a class; `None` for an empty class, a reversed range or a non-ASCII character.
    pub fn parse(spec: &str) -> Option<ByteSet> {
        let b = spec.as_bytes();
        if b.is_empty() || !spec.is_ascii() {
            return None;
        }
        let mut set = ByteSet::default();
        let mut i = 0;
        while i < b.len() {
            if i + 2 < b.len() && b[i + 1] == b'-' {
                if b[i] > b[i + 2] {
                    return None;
                }
                for c in b[i]..=b[i + 2] {
                    set.0[usize::from(c)] = true;
                }
                i += 3;
            } else {
                set.0[usize::from(b[i])] = true;
                i += 1;
            }
        }
        Some(set)
    }

    /// Whether `b` is in the set.
    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }

    /// The set written back as a class (ranges of three or more characters).
    pub fn spec(&self) -> String {
        let mut s = String::new();
        let mut c = 0u8;
        while c < 128 {
            if !self.contains(c) {
                c += 1;
                continue;
            }
            let start = c;
            while c < 127 && self.contains(c + 1) {
                c += 1;
            }
            s.push(char::from(start));
            if c >= start + 2 {
                s.push('-');
            }
            if c > start {
                s.push(char::from(c));
            }
            c += 1;
        }
        s
    }

    /// The set as a regex class (`[\x30-\x39\x41-\x5A]`), every byte escaped.
    pub fn regex_class(&self) -> String {
        let mut s = String::from("[");
        let mut c = 0u8;
        while c < 128 {
            if self.contains(c) {
                let start = c;
                while c < 127 && self.contains(c + 1) {
                    c += 1;
                }
                s.push_str(&format!("\\x{start:02X}-\\x{c:02X}"));
            }
            c += 1;
        }
        s.push(']');
        s
    }
}

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.spec())
    }
}

/// What a part of a structured token is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Part of the token's identifier: safe to show (with the prefix).
    Id,
    /// Secret: never shown (nor any part after it).
    #[default]
    Secret,
}

/// The shape check that tells a real random value from a placeholder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Random characters: no long runs or sequences, enough distinct characters, no
    /// placeholder words, not only hexadecimal digits (for 24 characters or more).
    #[default]
    Random,
    /// Random and mixing upper case, lower case and digits, with stricter word checks (the
    /// older Dynatrace format).
    MixedCase,
    /// Random hexadecimal digits, as some providers write secrets (the checks of `random`
    /// without its refusal of hexadecimal-only parts).
    Hex,
    /// No placeholder words (the checks of `random` on words alone): for a value whose
    /// structure the rule's checksum already checks and whose bytes need not look random
    /// (PyPI's base64 macaroons hold runs of `A` and text).
    Words,
    /// No check.
    None,
}

/// One run of characters of a token: its alphabet, allowed lengths, role and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The characters it is made of.
    pub alphabet: ByteSet,
    /// Its allowed lengths.
    pub lengths: Vec<usize>,
    /// Shown or secret.
    pub role: Role,
    /// The shape check it must pass.
    pub shape: Shape,
}

impl Part {
    /// The longest allowed length.
    pub fn max_len(&self) -> usize {
        self.lengths.iter().copied().max().unwrap_or(0)
    }
}

/// The prefixes a structured rule claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefixes {
    /// These literal prefixes.
    Literal(Vec<String>),
    /// Any prefix of this pattern (one set of bytes per position) that no literal prefix of
    /// another rule claims.
    Pattern {
        /// The pattern as written (`dt0[A-Za-z][0-9][0-9]`).
        text: String,
        /// The bytes allowed at each position.
        classes: Vec<ByteSet>,
    },
}

impl Prefixes {
    /// The length of the prefix at the start of `hay`, if one stands there.
    pub fn len_at(&self, hay: &[u8]) -> Option<usize> {
        match self {
            // Byte by byte: these prefixes are a few bytes long, shorter than a call to memcmp.
            Prefixes::Literal(list) => list
                .iter()
                .find(|p| p.len() <= hay.len() && p.bytes().zip(hay).all(|(a, &b)| a == b))
                .map(String::len),
            Prefixes::Pattern { classes, .. } => {
                let head = hay.get(..classes.len())?;
                head.iter().zip(classes).all(|(&b, c)| c.contains(b)).then_some(classes.len())
            }
        }
    }

    /// The longest prefix.
    pub fn max_len(&self) -> usize {
        match self {
            Prefixes::Literal(list) => list.iter().map(String::len).max().unwrap_or(0),
            Prefixes::Pattern { classes, .. } => classes.len(),
        }
    }
}

/// A structured token: `prefix`, then parts each preceded by `separator`
/// (`dt0c01.<id>.<secret>`; `ghp_<secret>` with an empty separator and a `ghp_` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structured {
    /// The prefixes it claims.
    pub prefixes: Prefixes,
    /// What stands between the prefix and the first part, and between parts (may be empty
    /// for a single part).
    pub separator: String,
    /// The parts, identifier parts first.
    pub parts: Vec<Part>,
}

/// A value recognised only beside its key (`DT_API_TOKEN=<value>`).
#[derive(Debug, Clone)]
pub struct Keyed {
    /// The key: a regex in verbose mode (blanks ignored), matched without regard to case;
    /// every key ends in one of the rule's keywords.
    pub key: String,
    /// An optional word before the value (`Api-Token <value>`), a case-insensitive regex.
    pub scheme: Option<String>,
    /// What stands between key and value, a regex (verbose mode); `None`: the detector's own
    /// assignment grammar (`=`, `:`, `=>`, quotes, blanks, `%20`, `value:` keys, ...).
    pub separators: Option<String>,
    /// The value.
    pub value: Part,
    /// The whole pattern: key, separators, scheme and value ([`schema::keyed_pattern`]);
    /// a built-in rule's is compiled on first use.
    pub pattern: LazyRegex,
}

/// A regex compiled once, on first use: a built-in keyed rule's pattern, which most runs (a
/// commit whose lines hold no key with a value after it) never need. Clones share the one
/// compilation. A custom rule's is compiled when the configuration is read (its errors are
/// the user's to see then).
#[derive(Debug, Clone)]
pub struct LazyRegex {
    text: std::sync::Arc<str>,
    compiled: std::sync::Arc<std::sync::OnceLock<Regex>>,
}

impl LazyRegex {
    /// A pattern compiled already.
    pub fn compiled(text: String, regex: Regex) -> LazyRegex {
        let cell = std::sync::OnceLock::new();
        let _ = cell.set(regex);
        LazyRegex { text: text.into(), compiled: std::sync::Arc::new(cell) }
    }

    /// A pattern to compile on first use: one the test suite proves compiles.
    pub fn lazy(text: String) -> LazyRegex {
        LazyRegex { text: text.into(), compiled: Default::default() }
    }

    /// The compiled regex.
    pub fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            schema::compile_regex(&self.text).expect("a built-in pattern compiles (tests/rules.rs)")
        })
    }
}

/// How a rule recognises its tokens.
#[derive(Debug, Clone)]
pub enum Detector {
    /// `prefix<sep>part<sep>part...`, anchored at a keyword.
    Structured(Structured),
    /// A value in context, after a key.
    Keyed(Box<Keyed>),
    /// A regular expression: the group `token` (else the whole match) is the token, the
    /// group `secret` (else the token) the secret, the group `id` (else the text of the
    /// token before the secret) the identifier shown.
    Regex(LazyRegex),
}

/// An input that must produce exactly one finding, of its rule; optionally where (the text
/// the finding covers) and what identifier it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The input.
    pub text: String,
    /// The bytes of `text` the finding must cover, if given.
    pub token: Option<String>,
    /// The identifier the finding must show (`""`: none), if given.
    pub id: Option<String>,
}

/// One detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier, used in reports and in the configuration (`[scan] disable`).
    pub id: String,
    /// Who issues the token (`dynatrace`); `custom` for a configuration's own rules.
    /// `[scan] disable` takes provider names too.
    pub provider: String,
    /// One line saying what the rule finds.
    pub description: String,
    /// How bad a leak is.
    pub severity: Severity,
    /// How the rule recognises a token.
    pub detector: Detector,
    /// Texts of which one stands in every match (the prefilter). Structured and keyed rules:
    /// matched as written; regex rules: without regard to ASCII case.
    pub keywords: Vec<String>,
    /// The encoded forms in which the keywords (and so the tokens) are looked for.
    pub decode: Vec<Decode>,
    /// The offline checksum the token carries.
    pub checksum: Checksum,
    /// The shape check of a regex rule's secret (group `secret`, else the whole match).
    pub shape: Shape,
    /// How many bytes past the keyword's line a regex rule may read (a PEM block's lines).
    pub window: usize,
    /// Inputs that must produce exactly one finding of this rule.
    pub examples: Vec<Example>,
    /// Inputs that must produce no finding of this rule.
    pub negatives: Vec<String>,
    /// Public examples (the provider's documentation): never findings.
    pub known_examples: Vec<String>,
    /// Parts of public examples: a token with one of them as a part is an edited example.
    pub known_parts: Vec<String>,
    /// How to rotate a leaked token (reports print it).
    pub remediation: String,
    /// How to check a token live (opaque here; the verification stage reads it).
    pub verify: Option<toml::Table>,
}

impl Rule {
    /// Whether the rule's keywords are looked for in `form`.
    pub fn decodes(&self, form: Decode) -> bool {
        self.decode.contains(&form)
    }

    /// Whether `names` (rule ids or provider names, as `[scan] disable` lists them) turns
    /// this rule off.
    pub fn is_named_in(&self, names: &[String]) -> bool {
        names.iter().any(|n| *n == self.id || *n == self.provider)
    }
}

/// The built-in rules, parsed once per process.
static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    schema::load_builtin(embedded::FILES).unwrap_or_else(|e| panic!("built-in rules: {e}"))
});

/// The built-in rules, in the order in which they claim structured prefixes (files in name
/// order, rules in file order).
pub fn builtin() -> Vec<Rule> {
    BUILTIN.clone()
}

/// The built-in rules, borrowed.
pub fn builtin_ref() -> &'static [Rule] {
    &BUILTIN
}

/// The providers of `rules`, each once, in order.
pub fn providers(rules: &[Rule]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rules {
        if !out.contains(&r.provider.as_str()) {
            out.push(&r.provider);
        }
    }
    out
}

/// The rule ids that `names` (rule ids and provider names) stand for among `rules`.
pub fn expand_names(rules: &[Rule], names: &[String]) -> Vec<String> {
    rules.iter().filter(|r| r.is_named_in(names)).map(|r| r.id.clone()).collect()
}

/// The known public examples of every built-in rule: never findings.
pub fn known_examples() -> &'static [&'static str] {
    static LIST: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        builtin_ref().iter().flat_map(|r| &r.known_examples).map(String::as_str).collect()
    });
    &LIST
}

/// The known parts of public examples of every built-in rule.
pub fn known_example_parts() -> &'static [&'static str] {
    static LIST: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        builtin_ref().iter().flat_map(|r| &r.known_parts).map(String::as_str).collect()
    });
    &LIST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sets_parse_and_print() {
        let s = ByteSet::parse("A-Z0-9").unwrap();
        assert!(s.contains(b'A') && s.contains(b'9') && !s.contains(b'a') && !s.contains(b'.'));
        assert_eq!(s.spec(), "0-9A-Z");
        let s = ByteSet::parse("A-Za-z0-9_-").unwrap();
        assert!(s.contains(b'-') && s.contains(b'_') && !s.contains(b'.'));
        assert!(ByteSet::parse("-a").unwrap().contains(b'-'));
        assert_eq!(ByteSet::parse("z-a"), None);
        assert_eq!(ByteSet::parse(""), None);
        assert_eq!(ByteSet::parse("é"), None);
        assert!(!s.contains(0xE9));
    }

    #[test]
    fn builtin_rules_load_with_every_field() {
        let rules = builtin_ref();
        assert!(rules.len() >= 7);
        for r in rules {
            assert!(!r.provider.is_empty() && !r.remediation.is_empty(), "{}", r.id);
            assert!(!r.examples.is_empty(), "{} has no example", r.id);
            assert!(!r.negatives.is_empty(), "{} has no negative example", r.id);
        }
        assert!(known_examples().contains(&"AKIAIOSFODNN7EXAMPLE"));
        let names = providers(rules);
        for p in ["aws", "dynatrace", "github", "gitlab", "slack", "stripe", "private-key"] {
            assert!(names.contains(&p), "{p}");
        }
        let all = expand_names(rules, &["dynatrace".into()]);
        assert_eq!(all.len(), rules.iter().filter(|r| r.provider == "dynatrace").count());
        assert!(all.len() >= 9 && all.iter().all(|id| id.starts_with("dynatrace-")));
        let two = expand_names(rules, &["github".into(), "aws-access-key".into()]);
        assert_eq!(two, ["aws-access-key", "github-token", "github-fine-grained-token"]);
        assert_eq!(expand_names(rules, &["dynatrace-token".into()]), ["dynatrace-token"]);
    }

    #[test]
    fn prefixes_match_literally_or_by_pattern() {
        let lit = Prefixes::Literal(vec!["dt0c01".into(), "dt0s02".into()]);
        assert_eq!(lit.len_at(b"dt0s02.X"), Some(6));
        assert_eq!(lit.len_at(b"dt0s03.X"), None);
        let Detector::Structured(s) =
            &builtin_ref().iter().find(|r| r.id == "dynatrace-token").unwrap().detector
        else {
            panic!("structured")
        };
        assert_eq!(s.prefixes.len_at(b"dt0x42.X"), Some(6));
        assert_eq!(s.prefixes.len_at(b"dt0x4.X"), None);
        assert_eq!(s.prefixes.len_at(b"DT0X42"), None);
    }

    /// The pairing rules (an id, then its secret within a reach) reach over any byte: text in
    /// Latin-1 between the two (not UTF-8) once hid the pair, when the reach counted UTF-8
    /// characters.
    #[test]
    fn pairs_reach_over_text_that_is_not_utf8() {
        let m = crate::matcher::Matcher::builtin_ref();
        let aws: &[u8] = b"AKIA6RWJYAX6R5OAJ4XK cl\xe9: v5ndK0meGR0vRzZ1fb6d06QGofB8ChQBiIu4NJkS\n"; // tokenguard:allow
        let twilio: &[u8] =
            b"twilio: SK152cdffc0268bbc9387abb50cd107d1c cl\xe9 nXMgWJoleSrcBrFwMOUdGDxnvsDES92E\n"; // tokenguard:allow
        for (text, rule) in [(aws, "aws-access-key"), (twilio, "twilio-api-key")] {
            let found = m.find(text);
            assert!(found.iter().any(|f| m.rules()[f.rule].id == rule), "{rule} not found");
        }
    }
}
