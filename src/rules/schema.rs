//! The rule schema: TOML read into raw serde types (`deny_unknown_fields`), then validated into
//! [`Rule`]s. The same schema serves the built-in files (`rules/*.toml`) and the `[[rules]]` of
//! a configuration; errors name the key inside the rule and, where the parser kept it, the
//! place in the file (see docs/rules.md).

use std::ops::Range;

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

use super::{
    ByteSet, Checksum, Decode, Detector, Example, Keyed, Part, Prefixes, Role, Rule, Severity,
    Shape, Structured,
};

/// Largest compiled size of a rule's or the configuration's regex (bytes).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Largest cache of the lazy DFA of such a regex (bytes).
pub const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;
/// Deepest nesting of groups and repetitions in such a regex.
const REGEX_NEST_LIMIT: u32 = 64;
/// Longest text of such a regex.
pub const PATTERN_MAX_LEN: usize = 4096;
/// Most parts of a structured token.
pub const MAX_PARTS: usize = 8;
/// Longest allowed length of one part or value.
const MAX_PART_LEN: usize = 1024;
/// Shortest keyword of a structured or keyed rule (a shorter one would announce too much, and
/// has no base64 signature at every alignment).
pub const MIN_KEYWORD_LEN: usize = 3;
/// Most bytes past its keyword's line that a regex rule may read.
const MAX_WINDOW: usize = 16 * 1024;
/// Advice for a custom rule that gives none.
const DEFAULT_REMEDIATION: &str = "Revoke the token where it was issued and create a new one; \
keep it in a secret store or the environment instead of the file.";

/// A file of rules: `[[rules]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

/// One `[[rules]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    id: Option<Spanned<String>>,
    provider: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    severity: Severity,
    regex: Option<Spanned<String>>,
    structured: Option<Spanned<RawStructured>>,
    keyed: Option<Spanned<RawKeyed>>,
    #[serde(default)]
    keywords: Vec<Spanned<String>>,
    decode: Option<Vec<Decode>>,
    #[serde(default)]
    checksum: Checksum,
    shape: Option<Shape>,
    #[serde(default)]
    window: usize,
    #[serde(default)]
    examples: Vec<RawExample>,
    #[serde(default)]
    negatives: Vec<String>,
    #[serde(default)]
    known_examples: Vec<String>,
    #[serde(default)]
    known_parts: Vec<String>,
    remediation: Option<String>,
    verify: Option<toml::Table>,
}

impl RawRule {
    /// The rule's id as written, and where.
    pub fn id(&self) -> Option<&Spanned<String>> {
        self.id.as_ref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructured {
    #[serde(default)]
    prefixes: Vec<String>,
    prefix_pattern: Option<String>,
    #[serde(default)]
    separator: String,
    parts: Vec<RawPart>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPart {
    alphabet: String,
    lengths: Vec<usize>,
    #[serde(default)]
    role: Role,
    #[serde(default)]
    shape: Shape,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyed {
    key: String,
    scheme: Option<String>,
    separators: Option<String>,
    value: RawValue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    alphabet: String,
    lengths: Vec<usize>,
    #[serde(default)]
    shape: Shape,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawExample {
    Text(String),
    Table(RawExampleTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExampleTable {
    text: String,
    token: Option<String>,
    id: Option<String>,
}

/// What is wrong with a rule: the key inside the rule (`structured.parts[1].alphabet`), the
/// place in the file when known, and a message that never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The key inside the rule, empty for the rule as a whole.
    pub key: String,
    /// Where in the file (bytes), when known.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "key `{}`: {}", self.key, self.message)
        }
    }
}

fn err(
    key: impl Into<String>,
    span: Option<Range<usize>>,
    message: impl Into<String>,
) -> RuleError {
    RuleError { key: key.into(), span, message: message.into() }
}

/// Whether `name` may be a rule id or provider name: 1 to 64 letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Compiles a rule's or the configuration's regex within modest limits, so that none can hang
/// a commit. The error is one line and never quotes the pattern.
pub fn compile_regex(text: &str) -> Result<Regex, String> {
    if text.is_empty() {
        return Err("empty regex".into());
    }
    if text.len() > PATTERN_MAX_LEN {
        return Err(format!("regex longer than {PATTERN_MAX_LEN} characters"));
    }
    RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| describe_regex_error(&e))
}

/// The cause of a regex error in one line, without the pattern that the crate quotes.
fn describe_regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("regex too large: it compiles to more than {limit} bytes; simplify it")
        }
        regex::Error::Syntax(s) => {
            let cause = s
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .unwrap_or("syntax error")
                .trim();
            format!("invalid regex: {cause}")
        }
        other => format!("invalid regex: {other}"),
    }
}

/// Where a rule comes from: built-in rules must say everything; custom ones get defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `rules/<provider>.toml`.
    Builtin,
    /// A configuration's or a rules file's `[[rules]]`.
    Custom,
}

/// Validates one raw rule.
pub fn compile(raw: &Spanned<RawRule>, origin: Origin) -> Result<Rule, RuleError> {
    let whole = Some(raw.span());
    let r = raw.get_ref();
    let Some(id) = &r.id else {
        return Err(err("", whole, "custom rule without `id`"));
    };
    if !valid_name(id.get_ref()) {
        return Err(err(
            "id",
            Some(id.span()),
            "a rule id is 1 to 64 letters, digits, `-`, `_` or `.`",
        ));
    }
    let id_text = id.get_ref().clone();
    let provider = match (&r.provider, origin) {
        (Some(p), _) if !valid_name(p.get_ref()) => {
            return Err(err(
                "provider",
                Some(p.span()),
                "a provider name is 1 to 64 letters, digits, `-`, `_` or `.`",
            ))
        }
        (Some(p), _) => p.get_ref().clone(),
        (None, Origin::Custom) => "custom".into(),
        (None, Origin::Builtin) => return Err(err("", whole, "built-in rule without `provider`")),
    };
    let remediation = match (&r.remediation, origin) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().to_string(),
        (_, Origin::Custom) => DEFAULT_REMEDIATION.into(),
        (_, Origin::Builtin) => return Err(err("", whole, "built-in rule without `remediation`")),
    };
    let detectors = [r.regex.is_some(), r.structured.is_some(), r.keyed.is_some()];
    let detector = match (&r.regex, &r.structured, &r.keyed) {
        _ if detectors.iter().filter(|&&d| d).count() > 1 => {
            return Err(err(
                "",
                whole,
                format!("rule {id_text:?} has more than one of `regex`, `structured`, `keyed`"),
            ))
        }
        // A built-in regex compiles on first use, as a keyed pattern does (tests/rules.rs
        // proves each compiles): most runs never meet its keyword.
        (Some(re), _, _) => Detector::Regex(match origin {
            Origin::Builtin => crate::rules::LazyRegex::lazy(re.get_ref().clone()),
            Origin::Custom => crate::rules::LazyRegex::compiled(
                re.get_ref().clone(),
                compile_regex(re.get_ref()).map_err(|m| err("regex", Some(re.span()), m))?,
            ),
        }),
        (_, Some(s), _) => Detector::Structured(structured(s)?),
        (_, _, Some(k)) => Detector::Keyed(Box::new(keyed(k, origin)?)),
        _ => {
            return Err(err(
                "",
                whole,
                format!(
                    "custom rule {id_text:?} without `regex` (or a `structured` or `keyed` table)"
                ),
            ))
        }
    };
    if (r.shape.is_some() || r.window > 0) && !matches!(detector, Detector::Regex(_)) {
        return Err(err(
            "",
            whole,
            "`shape` and `window` belong to regex rules; a structured or keyed rule gives each part its own shape",
        ));
    }
    if r.window > MAX_WINDOW {
        return Err(err("window", whole, format!("`window` is at most {MAX_WINDOW} bytes")));
    }
    let mut keywords = Vec::new();
    for (k, kw) in r.keywords.iter().enumerate() {
        let key = format!("keywords[{k}]");
        if kw.get_ref().is_empty() {
            return Err(err(key, Some(kw.span()), "a keyword cannot be empty"));
        }
        if !matches!(detector, Detector::Regex(_)) && kw.get_ref().len() < MIN_KEYWORD_LEN {
            return Err(err(
                key,
                Some(kw.span()),
                format!(
                    "a keyword of a structured or keyed rule has at least {MIN_KEYWORD_LEN} characters"
                ),
            ));
        }
        keywords.push(kw.get_ref().clone());
    }
    match &detector {
        Detector::Structured(s) => check_announced(s, &mut keywords, raw)?,
        Detector::Keyed(_) if keywords.is_empty() => {
            return Err(err(
                "keywords",
                whole,
                "a keyed rule needs keywords: the text that ends every key, as written",
            ))
        }
        _ => {}
    }
    Ok(Rule {
        id: id_text.clone(),
        provider,
        description: r
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| format!("custom rule {id_text}")),
        severity: r.severity,
        detector,
        keywords,
        decode: r.decode.clone().unwrap_or_else(|| Decode::ALL.to_vec()),
        checksum: r.checksum,
        shape: r.shape.unwrap_or(Shape::None),
        window: r.window,
        examples: r
            .examples
            .iter()
            .map(|e| match e {
                RawExample::Text(t) => Example { text: t.clone(), token: None, id: None },
                RawExample::Table(t) => {
                    Example { text: t.text.clone(), token: t.token.clone(), id: t.id.clone() }
                }
            })
            .collect(),
        negatives: r.negatives.clone(),
        known_examples: r.known_examples.clone(),
        known_parts: r.known_parts.clone(),
        remediation,
        verify: r.verify.clone(),
    })
}

/// A structured rule's token starts with one of its keywords (the prefilter hit is where the
/// token starts): every prefix must begin with one. Without keywords, the literal heads of
/// the prefixes are the keywords.
fn check_announced(
    s: &Structured,
    keywords: &mut Vec<String>,
    raw: &Spanned<RawRule>,
) -> Result<(), RuleError> {
    let heads: Vec<String> = match &s.prefixes {
        Prefixes::Literal(list) => list.clone(),
        Prefixes::Pattern { text, .. } => vec![text[..text.find('[').unwrap_or(text.len())].into()],
    };
    if keywords.is_empty() {
        for h in heads.iter().filter(|h| h.len() >= MIN_KEYWORD_LEN) {
            if !keywords.contains(h) {
                keywords.push(h.clone());
            }
        }
    }
    for h in &heads {
        if !keywords.iter().any(|k| h.starts_with(k.as_str())) {
            return Err(err(
                "keywords",
                Some(raw.span()),
                format!(
                    "a structured token starts with one of the rule's keywords: prefix {h:?} \
                     starts with none (a keyword has at least {MIN_KEYWORD_LEN} characters)"
                ),
            ));
        }
    }
    Ok(())
}

fn part(
    alphabet: &str,
    lengths: &[usize],
    key: &str,
    span: &Range<usize>,
) -> Result<(ByteSet, Vec<usize>), RuleError> {
    let set = ByteSet::parse(alphabet).ok_or_else(|| {
        err(
            format!("{key}.alphabet"),
            Some(span.clone()),
            "an alphabet is ASCII characters and ranges such as \"A-Z0-9\" or \"a-f0-9_-\"",
        )
    })?;
    if lengths.is_empty() || lengths.iter().any(|&l| l == 0 || l > MAX_PART_LEN) {
        return Err(err(
            format!("{key}.lengths"),
            Some(span.clone()),
            format!("lengths are one or more numbers from 1 to {MAX_PART_LEN}"),
        ));
    }
    Ok((set, lengths.to_vec()))
}

fn structured(raw: &Spanned<RawStructured>) -> Result<Structured, RuleError> {
    let span = raw.span();
    let s = raw.get_ref();
    let prefixes = match (&s.prefix_pattern, s.prefixes.is_empty()) {
        (None, false) => {
            if s.prefixes.iter().any(|p| p.is_empty() || !p.is_ascii()) {
                return Err(err("structured.prefixes", Some(span), "a prefix is ASCII text"));
            }
            Prefixes::Literal(s.prefixes.clone())
        }
        (Some(p), true) => prefix_pattern(p).ok_or_else(|| {
            err(
                "structured.prefix_pattern",
                Some(span.clone()),
                "a prefix pattern is literal characters, then classes such as [A-Za-z] or [0-9]",
            )
        })?,
        _ => {
            return Err(err(
                "structured",
                Some(span),
                "a structured rule has `prefixes` or `prefix_pattern` (one of them)",
            ))
        }
    };
    let sep = &s.separator;
    if sep.len() > 8 || sep.bytes().any(|b| b.is_ascii_alphanumeric() || !b.is_ascii_graphic()) {
        return Err(err(
            "structured.separator",
            Some(span),
            "a separator is up to 8 ASCII punctuation characters",
        ));
    }
    if s.parts.is_empty() || s.parts.len() > MAX_PARTS || (sep.is_empty() && s.parts.len() > 1) {
        return Err(err(
            "structured.parts",
            Some(span),
            format!("a structured token has 1 to {MAX_PARTS} parts (only one without a separator)"),
        ));
    }
    let mut parts = Vec::new();
    for (i, p) in s.parts.iter().enumerate() {
        let key = format!("structured.parts[{i}]");
        let (alphabet, lengths) = part(&p.alphabet, &p.lengths, &key, &span)?;
        let last = i + 1 == s.parts.len();
        if !last && sep.bytes().next().is_some_and(|b| alphabet.contains(b)) {
            return Err(err(
                format!("{key}.alphabet"),
                Some(span),
                "the separator cannot be a character of a part it follows",
            ));
        }
        parts.push(Part { alphabet, lengths, role: p.role, shape: p.shape });
    }
    let first_secret = parts.iter().position(|p| p.role == Role::Secret);
    match first_secret {
        None => return Err(err("structured.parts", Some(span), "no part has role \"secret\"")),
        Some(k) if parts[k..].iter().any(|p| p.role == Role::Id) => {
            return Err(err(
                "structured.parts",
                Some(span),
                "identifier parts (role \"id\") come before the secret ones",
            ))
        }
        _ => {}
    }
    Ok(Structured { prefixes, separator: sep.clone(), parts })
}

/// `dt0[A-Za-z][0-9][0-9]`: literal characters, then bracketed classes (a literal after a
/// class is allowed too). The literal head must not be empty.
fn prefix_pattern(text: &str) -> Option<Prefixes> {
    if !text.is_ascii() || text.starts_with('[') || text.len() > 64 {
        return None;
    }
    let mut classes = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            let close = rest.find(']')?;
            classes.push(ByteSet::parse(&rest[1..close])?);
            rest = &rest[close + 1..];
        } else if c == ']' || !c.is_ascii_graphic() {
            return None;
        } else {
            classes.push(ByteSet::parse(&rest[..1])?);
            rest = &rest[1..];
        }
    }
    Some(Prefixes::Pattern { text: text.into(), classes })
}

fn keyed(raw: &Spanned<RawKeyed>, origin: Origin) -> Result<Keyed, RuleError> {
    let span = raw.span();
    let k = raw.get_ref();
    // Each piece alone first, only when the whole does not compile: the message names it.
    let piece = |key: &str, text: &str, flags: &str| {
        compile_regex(&format!("(?{flags}:{text})"))
            .map(|_| ())
            .map_err(|m| err(format!("keyed.{key}"), Some(span.clone()), m))
    };
    let (alphabet, lengths) = part(&k.value.alphabet, &k.value.lengths, "keyed.value", &span)?;
    let value = Part { alphabet, lengths, role: Role::Secret, shape: k.value.shape };
    let text = keyed_pattern(&k.key, k.scheme.as_deref(), k.separators.as_deref(), &value);
    // A built-in pattern compiles on first use (tests/rules.rs proves each compiles): most
    // commits never need it, and compiling it cost a millisecond of every hook run.
    let compiled = match origin {
        Origin::Builtin => Ok(None),
        Origin::Custom => compile_regex(&text).map(Some),
    };
    let pattern = match compiled {
        Ok(None) => crate::rules::LazyRegex::lazy(text),
        Ok(Some(re)) => crate::rules::LazyRegex::compiled(text, re),
        Err(m) => {
            piece("key", &k.key, "xi")?;
            if let Some(s) = &k.scheme {
                piece("scheme", s, "xi")?;
            }
            if let Some(s) = &k.separators {
                piece("separators", s, "x")?;
            }
            return Err(err("keyed", Some(span), m));
        }
    };
    Ok(Keyed {
        key: k.key.clone(),
        scheme: k.scheme.clone(),
        separators: k.separators.clone(),
        value,
        pattern,
    })
}

/// Quotes that may close a key or open a value: ASCII (perhaps escaped), typographic, or as
/// XML entities.
const QUOTE: &str = r#"\\?["'`] | [\u{201C}\u{201D}\u{201E}\u{2018}\u{2019}\u{00AB}\u{00BB}] | &(?:quot|\#34|apos|\#39);"#;
const OPEN_QUOTE: &str = r#"\\?["'`] | [\u{201C}\u{201D}\u{201E}\u{2018}\u{2019}\u{00AB}\u{00BB}] | &(?:quot|\#34|apos|\#39);"#;
/// The keyed detector's own assignment grammar between key and value: a `value` key after
/// the name (an XML `value=` attribute, `{"name": "KEY", "value": …}`, a Kubernetes
/// `- name: KEY` with `value: …` on the next line), a type (`: str =`, `: &'static str =`,
/// Go's `string =`), a command's `--value`/`--body` after a `--name KEY`, `=`, `:`, `=>`,
/// `:=`, a default (`??`, `||`, `?:`, `or`, `${KEY:-…}`), Make's `?=` and `+=`, `,`, `;`,
/// `|` (a table's cells), `>` (each perhaps escaped with `\` as in JSON strings and Java
/// properties), blanks, `%20`, `%2520`, and quoted-printable `=3D` (an `=` in a mail body).
const ASSIGN: &str = r#"\s*,?\s*\\?["']?(?i:value)\\?["']?\s*(?:[=:]|=3[Dd])\s*
      | \s*:\s*&?(?:'static\s+)?[A-Za-z0-9_\[\]]{1,30}\??\s*=\s* | [\ \t]+(?:string|str)[\ \t]*=[\ \t]*
      | [\ \t]+--(?:value|body)(?:[\ \t]+|[\ \t]*=[\ \t]*)
      | \s*\\?(?:=>|[:?+!|]=|\?\?=?|\|\|=?|\?:|:-|=3[Dd]|=|:|,|;|\||>|or\b)\s* | \s+ | %(?:25)?20"#;

/// The pattern of a keyed rule (verbose mode): the key (without regard to case), an optional
/// closing quote and `]` or `)` (a subscript: `env['DT_API_TOKEN'] = …`; a call:
/// `os.environ.get("DT_API_TOKEN") or …`), the separators ([`ASSIGN`]
/// unless given), a YAML anchor or `!!str` tag, the optional scheme word and a blank, up to
/// two opening quotes (`"\"…`: Gradle's buildConfigField), then the value as group `value`
/// (the matcher checks the boundary after it).
pub fn keyed_pattern(
    key: &str,
    scheme: Option<&str>,
    separators: Option<&str>,
    value: &Part,
) -> String {
    let seps = separators.unwrap_or(ASSIGN);
    let scheme = scheme.map(|s| format!("(?: (?i:{s})(?:\\s+|%(?:25)?20) )?")).unwrap_or_default();
    let class = value.alphabet.regex_class();
    let mut lengths = value.lengths.clone();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    let value: Vec<String> = lengths.iter().map(|n| format!("{class}{{{n}}}")).collect();
    format!(
        "(?x)\n(?i: {key} )\n(?: {QUOTE} )?\n[\\])]?\n(?: {seps} )\n(?: (?:&[A-Za-z0-9_-]+ | !!str)\\s+ )?\n{scheme}\n(?: {OPEN_QUOTE} ){{0,2}}\n(?P<value>{value})",
        value = value.join("|"),
    )
}

/// Parses and validates the built-in files (provider name, TOML text): every rule complete,
/// its provider the file's name, ids unique.
pub fn load_builtin(files: &[(&str, &str)]) -> Result<Vec<Rule>, String> {
    use rayon::prelude::*;
    // The files are parsed and compiled on every core (milliseconds on every hook run),
    // then checked in order.
    let compiled: Vec<Result<Vec<Rule>, String>> = files
        .par_iter()
        .map(|(provider, text)| {
            let file: RawFile =
                toml::from_str(text).map_err(|e| format!("rules/{provider}.toml: {e}"))?;
            file.rules
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    compile(raw, Origin::Builtin)
                        .map_err(|e| format!("rules/{provider}.toml: rules[{i}]: {e}"))
                })
                .collect()
        })
        .collect();
    let mut rules: Vec<Rule> = Vec::new();
    for ((provider, _), file) in files.iter().zip(compiled) {
        for rule in file? {
            if rule.provider != *provider {
                return Err(format!(
                    "rules/{provider}.toml: rule {} names provider {:?}, not the file's",
                    rule.id, rule.provider
                ));
            }
            if rules.iter().any(|r| r.id == rule.id) {
                return Err(format!("rules/{provider}.toml: rule id {} is taken", rule.id));
            }
            rules.push(rule);
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Rule, RuleError> {
        let file: RawFile = toml::from_str(text).expect("parses");
        compile(&file.rules[0], Origin::Custom)
    }

    #[test]
    fn the_short_custom_form_keeps_working() {
        let r =
            one("[[rules]]\nid = 'acme'\nregex = 'ACME_[A-Z]{4}'\nkeywords = ['ACME_']\n").unwrap();
        assert_eq!((r.provider.as_str(), r.severity), ("custom", Severity::High));
        assert_eq!(r.description, "custom rule acme");
        assert!(matches!(r.detector, Detector::Regex(_)));
        assert_eq!(r.decode, Decode::ALL);
    }

    #[test]
    fn structured_rules_validate_their_parts() {
        let base = "[[rules]]\nid = 'x'\n[rules.structured]\nprefixes = ['abc_']\n";
        let r = one(&format!("{base}parts = [{{ alphabet = 'A-Z', lengths = [10] }}]\n")).unwrap();
        assert_eq!(r.keywords, ["abc_"]);
        let e = one(&format!("{base}parts = [{{ alphabet = 'Z-A', lengths = [10] }}]\n"));
        assert_eq!(e.unwrap_err().key, "structured.parts[0].alphabet");
        let e = one(&format!("{base}parts = [{{ alphabet = 'A-Z', lengths = [] }}]\n"));
        assert_eq!(e.unwrap_err().key, "structured.parts[0].lengths");
        let e = one(&format!(
            "{base}parts = [{{ alphabet = 'A-Z', lengths = [3] }}, {{ alphabet = 'A-Z', lengths = [3] }}]\n"
        ));
        assert_eq!(e.unwrap_err().key, "structured.parts");
        let e = one(&format!(
            "{base}separator = '_'\nparts = [{{ alphabet = 'A-Z_', lengths = [3] }}, {{ alphabet = 'A-Z', lengths = [3] }}]\n"
        ));
        assert_eq!(e.unwrap_err().key, "structured.parts[0].alphabet");
        let e =
            one(&format!("{base}parts = [{{ alphabet = 'A-Z', lengths = [3], role = 'id' }}]\n"));
        assert!(e.unwrap_err().message.contains("secret"));
        let e = one("[[rules]]\nid = 'x'\nkeywords = ['zzz']\n[rules.structured]\nprefixes = ['abc_']\nparts = [{ alphabet = 'A-Z', lengths = [10] }]\n");
        assert_eq!(e.unwrap_err().key, "keywords");
    }

    #[test]
    fn prefix_patterns_parse() {
        let Some(Prefixes::Pattern { classes, .. }) = prefix_pattern("dt0[A-Za-z][0-9][0-9]")
        else {
            panic!("parses")
        };
        assert_eq!(classes.len(), 6);
        assert!(prefix_pattern("[a-z]x").is_none());
        assert!(prefix_pattern("ab[z-a]").is_none());
        assert!(prefix_pattern("ab[0-9").is_none());
    }

    #[test]
    fn a_rule_has_exactly_one_detector() {
        let e = one("[[rules]]\nid = 'b'\n").unwrap_err();
        assert!(e.message.contains("without `regex`"), "{e}");
        let e = one("[[rules]]\nid = 'b'\nregex = 'x'\n[rules.keyed]\nkey = 'k'\nvalue = { alphabet = 'a-z', lengths = [4] }\n")
            .unwrap_err();
        assert!(e.message.contains("more than one"), "{e}");
        let e = one("[[rules]]\nid = 'b'\n[rules.keyed]\nkey = 'k('\nvalue = { alphabet = 'a-z', lengths = [4] }\n")
            .unwrap_err();
        assert_eq!(e.key, "keyed.key");
        let e = one("[[rules]]\nid = 'b'\n[rules.keyed]\nkey = 'key'\nvalue = { alphabet = 'a-z', lengths = [4] }\n")
            .unwrap_err();
        assert_eq!(e.key, "keywords");
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(toml::from_str::<RawFile>("[[rules]]\nid = 'a'\nregx = 'x'\n").is_err());
        assert!(toml::from_str::<RawFile>("[[rules]]\nid = 'a'\nseverity = 'critical'\n").is_err());
        assert!(toml::from_str::<RawFile>("[[rules]]\nid = 'a'\ndecode = ['rot13']\n").is_err());
    }
}
