//! The configuration: TOML read into raw serde types (`deny_unknown_fields`), then validated
//! into a [`Config`] of compiled regexes, globs and rules. Any problem fails closed with an
//! [`Error::Config`] that names the file, the line and column, and the key; messages never
//! quote a whole line of the file.
//!
//! Where it comes from: `--config FILE`, else `TOKENGUARD_CONFIG`, else `.tokenguard.toml` at
//! the work tree root; plus the user's own file (`$XDG_CONFIG_HOME/tokenguard/config.toml`,
//! else `~/.config/tokenguard/config.toml`), whose lists the repository's file extends.
//! See docs/config.md.

use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::GlobBuilder;
use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::allowlist::Allowlist;
use crate::rules::schema::{self, Origin, PATTERN_MAX_LEN};
use crate::rules::{RawRule, Rule};

/// Where a scan's configuration and baseline come from (the command line's say).
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    /// Configuration file (default: `TOKENGUARD_CONFIG`, else `.tokenguard.toml` at the work
    /// tree root).
    pub config: Option<PathBuf>,
    /// Baseline file (default: `.tokenguard-baseline.json` at the work tree root, if present).
    pub baseline: Option<PathBuf>,
    /// Ignore the baseline file.
    pub no_baseline: bool,
}
use crate::{Error, Result};

/// The repository's configuration file, at the work tree root.
pub const FILE_NAME: &str = ".tokenguard.toml";
/// Environment variable naming a configuration file (when `--config` is not given).
pub const ENV_VAR: &str = "TOKENGUARD_CONFIG";
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    allow: RawAllow,
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    verify: crate::verify::config::RawVerify,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    tokens: Vec<Spanned<String>>,
    #[serde(default)]
    fingerprints: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    commits: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
}

/// A validated configuration, merged from the user's file and the repository's.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// What is allowed (the baseline is added by the caller).
    pub allowlist: Allowlist,
    /// Rule ids and provider names turned off.
    pub disable: Vec<String>,
    /// Custom rules, in the order of the files.
    pub rules: Vec<Rule>,
    /// The files read, as messages show them.
    pub files: Vec<String>,
    /// Live verification settings (`[verify]`; see docs/verify.md).
    pub verify: crate::verify::config::VerifyConfig,
}

/// One configuration file being read: its name as shown, its text (for line numbers), and
/// whether it is the user's own (only that one may send tokens to hosts of its choosing).
struct Source {
    shown: String,
    text: String,
    user: bool,
}

impl Source {
    /// An error at `span` of this file about `key`.
    fn error(&self, span: Option<Range<usize>>, key: &str, message: impl Display) -> Error {
        let place = match span {
            Some(span) => {
                let (line, column) = line_column(&self.text, span.start);
                format!("line {line}, column {column}{}", if key.is_empty() { ": " } else { ", " })
            }
            None => String::new(),
        };
        Error::Config {
            path: PathBuf::from(&self.shown),
            message: if key.is_empty() {
                format!("{place}{message}")
            } else {
                format!("{place}key `{key}`: {message}")
            },
        }
    }
}

/// The user's own configuration file, if the environment names a place for it.
pub fn user_config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("tokenguard").join("config.toml"))
}

/// The work tree root of the repository around `start` (default: the current folder); outside
/// a repository (or in a bare one), `start` itself.
pub fn work_tree_root(start: Option<&Path>) -> PathBuf {
    let start = match start {
        Some(s) => s.to_path_buf(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    git2::Repository::discover(&start)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or(start)
}

impl Config {
    /// Reads and validates the configuration for a scan of the work tree at `root`: the
    /// user's file if present, then `--config`, `TOKENGUARD_CONFIG` or `.tokenguard.toml`.
    pub fn load(args: &ConfigOptions, root: &Path) -> Result<Config> {
        let mut sources = Vec::new();
        // Whatever stands at a configuration's path is read: a FIFO, a folder or a dangling
        // link there is an error, never a configuration passed over in silence.
        if let Some(user) = user_config_path().filter(|p| p.symlink_metadata().is_ok()) {
            let mut src = read(&user, user.to_string_lossy().into_owned())?;
            src.user = true;
            sources.push(src);
        }
        let env = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(path) = args.config.clone().or(env) {
            // Named explicitly: a missing file is an error, never a silent default.
            sources.push(read(&path, path.to_string_lossy().into_owned())?);
        } else {
            let path = root.join(FILE_NAME);
            if path.symlink_metadata().is_ok() {
                sources.push(read(&path, FILE_NAME.to_string())?);
            }
        }
        Config::from_sources(&sources)
    }

    /// Parses and validates one configuration text; `shown` names it in messages.
    pub fn parse(text: &str, shown: &str) -> Result<Config> {
        Config::from_sources(&[Source { shown: shown.into(), text: text.into(), user: false }])
    }

    fn from_sources(sources: &[Source]) -> Result<Config> {
        let builtin: Vec<String> =
            crate::rules::builtin_ref().iter().map(|r| r.id.clone()).collect();
        let mut config = Config::default();
        let mut disables = Vec::new();
        for src in sources {
            let raw: RawConfig = toml::from_str(&src.text).map_err(|e| {
                let span = e.span();
                let about_key = e.message().starts_with("unknown field");
                let key = span
                    .as_ref()
                    .map_or_else(String::new, |s| key_at(&src.text, s.start, about_key));
                src.error(span, &key, scrub(e.message().trim()))
            })?;
            let origin = format!("config {}", src.shown);
            validate_allow(&raw.allow, src, &origin, &mut config.allowlist)?;
            for (i, rule) in raw.rules.iter().enumerate() {
                let rule = custom_rule(rule, i, src)?;
                if let Some(table) = &rule.verify {
                    // A check that does not parse would silently never run.
                    crate::verify::CheckSpec::from_table(table).map_err(|why| {
                        src.error(Some(raw.rules[i].span()), &format!("rules[{i}].verify"), why)
                    })?;
                }
                if builtin.contains(&rule.id) || config.rules.iter().any(|r| r.id == rule.id) {
                    let span = raw.rules[i].get_ref().id().map(Spanned::span);
                    return Err(src.error(
                        span,
                        &format!("rules[{i}].id"),
                        format!("rule id {:?} is already taken", rule.id),
                    ));
                }
                config.rules.push(rule);
            }
            disables.push((src, raw.scan.disable));
            let origin = match src.user {
                true => crate::verify::config::Origin::User,
                false => crate::verify::config::Origin::Repository,
            };
            let verify = crate::verify::config::validate(&raw.verify, origin)
                .map_err(|i| src.error(i.span, &i.key, i.message))?;
            config.verify.merge(verify);
            config.files.push(src.shown.clone());
        }
        for (src, list) in disables {
            for (i, id) in list.iter().enumerate() {
                // A rule id or a provider name (`dynatrace` turns off every Dynatrace rule).
                let known = builtin.contains(id.get_ref())
                    || crate::rules::builtin_ref().iter().any(|r| &r.provider == id.get_ref())
                    || config
                        .rules
                        .iter()
                        .any(|r| &r.id == id.get_ref() || &r.provider == id.get_ref());
                if !known {
                    return Err(src.error(
                        Some(id.span()),
                        &format!("scan.disable[{i}]"),
                        format!(
                            "unknown rule id {:?} (rule ids and provider names: `tokenguard rules` lists them)",
                            id.get_ref()
                        ),
                    ));
                }
                if !config.disable.contains(id.get_ref()) {
                    config.disable.push(id.get_ref().clone());
                }
            }
        }
        Ok(config)
    }
}

fn read(path: &Path, shown: String) -> Result<Source> {
    let bytes = crate::fs::read_regular(path)
        .map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        Source { shown: shown.clone(), text, user: false }.error(
            Some(offset..offset),
            "",
            "not valid UTF-8",
        )
    })?;
    Ok(Source { shown, text, user: false })
}

fn validate_allow(raw: &RawAllow, src: &Source, origin: &str, out: &mut Allowlist) -> Result<()> {
    let builtin = (!raw.tokens.is_empty()).then(crate::matcher::Matcher::builtin_ref);
    for (i, t) in raw.tokens.iter().enumerate() {
        let key = format!("allow.tokens[{i}]");
        let id = t.get_ref().trim();
        let secret_like = id.rsplit_once('.').is_some_and(|(head, last)| {
            head.contains('.')
                && last.len() >= 32
                && last.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if secret_like || builtin.as_ref().is_some_and(|m| !m.find(id.as_bytes()).is_empty()) {
            return Err(src.error(
                Some(t.span()),
                &key,
                "this is a whole token, secret part included: list only its id (prefix.public), \
                 and rotate the token",
            ));
        }
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            return Err(src.error(Some(t.span()), &key, "a token id is `prefix.public`"));
        }
        out.add_token(id, origin);
    }
    for (i, f) in raw.fingerprints.iter().enumerate() {
        let hex = f.get_ref().trim().strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(src.error(
                Some(f.span()),
                &format!("allow.fingerprints[{i}]"),
                "a fingerprint is `sha256:` and 64 hex digits, as reports print it",
            ));
        }
        out.add_fingerprint(f.get_ref().trim(), origin);
    }
    for (i, p) in raw.paths.iter().enumerate() {
        let key = format!("allow.paths[{i}]");
        let text = p.get_ref().trim().trim_start_matches("./");
        if text.is_empty() || text.len() > PATTERN_MAX_LEN || text.starts_with('/') {
            return Err(src.error(
                Some(p.span()),
                &key,
                "a path glob is relative to the work tree root (e.g. \"tests/fixtures/**\")",
            ));
        }
        let glob =
            GlobBuilder::new(text).literal_separator(true).backslash_escape(true).build().map_err(
                |e| src.error(Some(p.span()), &key, format!("invalid glob: {}", e.kind())),
            )?;
        out.add_path(glob.compile_matcher(), origin);
    }
    for (i, r) in raw.regexes.iter().enumerate() {
        let re = compile(r, src, &format!("allow.regexes[{i}]"))?;
        out.add_regex(re, origin);
    }
    for (i, c) in raw.commits.iter().enumerate() {
        let id = c.get_ref().trim();
        if !(7..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(src.error(
                Some(c.span()),
                &format!("allow.commits[{i}]"),
                "a commit is a full or abbreviated commit id (at least 7 hex digits)",
            ));
        }
        out.add_commit(id, origin);
    }
    Ok(())
}

/// A custom rule: the rule schema of the built-in rules (docs/rules.md), with defaults for
/// what a custom rule may leave out.
fn custom_rule(raw: &Spanned<RawRule>, i: usize, src: &Source) -> Result<Rule> {
    schema::compile(raw, Origin::Custom).map_err(|e| {
        let key =
            if e.key.is_empty() { format!("rules[{i}]") } else { format!("rules[{i}].{}", e.key) };
        src.error(e.span.or(Some(raw.span())), &key, e.message)
    })
}

/// Compiles a configured regex within modest limits, so that none can hang a commit.
fn compile(pattern: &Spanned<String>, src: &Source, key: &str) -> Result<Regex> {
    crate::rules::compile_regex(pattern.get_ref())
        .map_err(|message| src.error(Some(pattern.span()), key, message))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[start..].chars().count() + 1)
}

/// The dotted key that the text at `offset` belongs to (table header and key), for messages
/// from the TOML parser, which give a position but not always the key. An error at or before
/// the `=` of a line is about what came before (an unclosed array), unless it is about the key
/// itself (`about_key`, as for an unknown key). Only key characters are taken from the file,
/// never a value.
fn key_at(text: &str, offset: usize, about_key: bool) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |p| p + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |p| offset + p);
    let key_of = |line: &str| -> Option<(String, usize)> {
        let eq = line.find('=')?;
        let k = line[..eq].trim();
        (!k.is_empty() && !k.starts_with('[') && k.chars().all(is_key_char))
            .then(|| (k.trim_matches(['"', '\'']).chars().take(64).collect(), eq))
    };
    let header_of = |line: &str| -> Option<String> {
        let t = line.trim_start().strip_prefix('[')?;
        let name: String =
            t.trim_start_matches('[').chars().take_while(|&c| is_key_char(c)).collect();
        Some(name.trim().to_string())
    };
    let current = &text[line_start..line_end];
    let mut key =
        key_of(current).filter(|(_, eq)| about_key || offset > line_start + eq).map(|(k, _)| k);
    let mut table = header_of(current);
    if table.is_none() {
        for line in text[..line_start].lines().rev() {
            if let Some(h) = header_of(line) {
                table = Some(h);
                break;
            }
            if key.is_none() {
                key = key_of(line).map(|(k, _)| k);
            }
        }
    }
    match (table, key) {
        (Some(t), Some(k)) if !t.is_empty() => format!("{t}.{k}"),
        (_, Some(k)) => k,
        (Some(t), None) => t,
        (None, None) => String::new(),
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.\"' ".contains(c)
}

/// A parser message made safe to print: one line, quoted values left out (serde quotes the
/// value it rejects, which could be a token), length capped.
fn scrub(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    let mut first = String::with_capacity(line.len());
    let mut parts = line.split('"');
    first.push_str(parts.next().unwrap_or_default());
    let rest: Vec<&str> = parts.collect();
    // `rest` alternates quoted text and what follows it; an unpaired quote keeps its tail.
    for pair in rest.chunks(2) {
        match pair {
            [_, after] => {
                first.push_str("\"...\"");
                first.push_str(after);
            }
            [tail] => {
                first.push('"');
                first.push_str(tail);
            }
            _ => {}
        }
    }
    // Tokens in it are masked by the masking writer every message passes.
    let masked = first;
    let mut out: String = masked.chars().take(200).collect();
    if out.len() < masked.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_full_config_validates() {
        let c = Config::parse(
            r#"
[allow]
tokens = ["dt0c01.ST2EY72KQINMH574WMNVI7YN"]
fingerprints = ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]
paths = ["tests/fixtures/**", "docs/**/*.md"]
regexes = ['example-only']
commits = ["0123456789abcdef"]

[scan]
disable = ["dynatrace-legacy-token", "acme-key"]

[[rules]]
id = "acme-key"
description = "ACME key"
regex = 'ACME_[A-Z0-9]{20}'
keywords = ["ACME_"]
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.disable, ["dynatrace-legacy-token", "acme-key"]);
        assert!(c.allowlist.commit_allowed("0123456789abcdef0000"));
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let e = err("[allow]\ntokens = []\nbogus = 1\n");
        assert!(
            e.contains("t.toml") && e.contains("line 3, column 1") && e.contains("bogus"),
            "{e}"
        );
        let e = err("[allow]\nregexes = ['ok', '(unclosed']\n");
        assert!(e.contains("line 2, column 18") && e.contains("allow.regexes[1]"), "{e}");
        assert!(!e.contains("(unclosed"), "{e}");
        let e = err("[allow]\npaths = ['a/[b']\n");
        assert!(e.contains("line 2") && e.contains("allow.paths[0]"), "{e}");
        let e = err("[[rules]]\nregex = 'x'\n");
        assert!(
            e.contains("line 1") && e.contains("rules[0]") && e.contains("without `id`"),
            "{e}"
        );
        let e = err("[[rules]]\nid = 'a'\nregex = 'x'\n[[rules]]\nid = 'b'\n");
        assert!(
            e.contains("line 4") && e.contains("rules[1]") && e.contains("without `regex`"),
            "{e}"
        );
        let e = err("[[rules]]\nid = 'a'\nregex = 'x'\n[[rules]]\nid = 'a'\nregex = 'y'\n");
        assert!(e.contains("line 5") && e.contains("already taken"), "{e}");
        let e = err("[scan]\ndisable = ['no-such-rule']\n");
        assert!(e.contains("line 2, column 12") && e.contains("scan.disable[0]"), "{e}");
        let e = err("[allow]\ntokens = [\"x\"\n");
        assert!(e.contains("line ") && e.contains("allow.tokens"), "{e}");
        let e = err("[[rules]]\nid = 'big'\nregex = '\\w{500}\\w{500}'\n");
        assert!(e.contains("line 3") && e.contains("too large"), "{e}");
    }

    #[test]
    fn a_whole_token_in_the_allowlist_is_refused_without_echo() {
        let secret: String =
            (0..64u32).map(|i| char::from(b"QX7ZK2M9"[(i * i % 7 + i % 3) as usize])).collect();
        let token = format!("dt0c01.ABCDEFGHIJKLMNOPQRSTUV12.{secret}");
        let e = err(&format!("[allow]\ntokens = [\"{token}\"]\n"));
        assert!(e.contains("whole token") && !e.contains(&secret), "{e}");
        let e = err(&format!("[allow]\ntokens = \"{token}\"\n"));
        assert!(!e.contains(&secret), "{e}");
        let e = err(&format!("[allow]\ntokens = [\"dt0c01.AB.{}\"]\n", "A".repeat(64)));
        assert!(e.contains("whole token"), "{e}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
