//! The allowlist: decides whether a match is allowed, and says why. Never stores a secret:
//! entries are token identifiers, fingerprints, path globs, regexes, commits and the
//! fingerprints of a baseline. Each entry remembers where it came from, so that the reason
//! printed for an allowed finding names the file and the entry.

use std::collections::HashSet;

use globset::GlobMatcher;
use regex::bytes::Regex;

use crate::matcher::Match;

/// The inline marker: a finding on a line that contains it is allowed.
pub const INLINE_MARKER: &[u8] = b"tokenguard:allow";

/// One allowlist entry, with where it came from (e.g. `config .tokenguard.toml`) and its place
/// there (`paths[2]`). Reasons name the entry by its place, never by its text: a regex or a
/// glob may spell a token.
#[derive(Debug, Clone)]
struct Entry {
    source: String,
    /// The key and index in its file, e.g. `regexes[1]`.
    place: String,
    text: String,
}

impl Entry {
    /// The entry `text` of list `key`, the next one of that list from `source` in `list`.
    fn new<'a>(
        list: impl Iterator<Item = &'a Entry>,
        key: &str,
        source: &str,
        text: String,
    ) -> Entry {
        let index = list.filter(|e| e.source == source).count();
        Entry { source: source.into(), place: format!("{key}[{index}]"), text }
    }

    fn reason(&self) -> String {
        format!("{}: [allow] {}", self.source, self.place)
    }
}

/// What the user allowed.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    tokens: Vec<Entry>,
    fingerprints: Vec<Entry>,
    paths: Vec<(Entry, GlobMatcher)>,
    regexes: Vec<(Entry, Regex)>,
    commits: Vec<Entry>,
    /// The baseline file as shown, and its fingerprints.
    baseline: Option<(String, HashSet<String>)>,
    /// Whether the inline marker allows a line (not on a server: a push cannot allow its
    /// own tokens there).
    no_inline_marker: bool,
}

/// What the allowlist is told about a match besides the match itself.
pub struct Context<'a> {
    /// The file relative to the work tree root (`Origin::rel_path`); `None` for standard
    /// input and files outside the root.
    pub rel_path: Option<&'a str>,
    /// The line that holds the match (may hold the secret: look, never keep).
    pub line: &'a [u8],
    /// The commit, for history scans.
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Allows a token identifier (`prefix.public`), from `source`.
    pub fn add_token(&mut self, id: &str, source: &str) {
        let e = Entry::new(self.tokens.iter(), "tokens", source, id.into());
        self.tokens.push(e);
    }

    /// Allows a fingerprint (`sha256:` + hex, compared without regard to case).
    pub fn add_fingerprint(&mut self, fingerprint: &str, source: &str) {
        let text = fingerprint.to_ascii_lowercase();
        let e = Entry::new(self.fingerprints.iter(), "fingerprints", source, text);
        self.fingerprints.push(e);
    }

    /// Allows findings in files whose path relative to the work tree root matches `glob`.
    pub fn add_path(&mut self, glob: GlobMatcher, source: &str) {
        let text = glob.glob().glob().to_string();
        let e = Entry::new(self.paths.iter().map(|(e, _)| e), "paths", source, text);
        self.paths.push((e, glob));
    }

    /// Allows findings on a line that `regex` matches.
    pub fn add_regex(&mut self, regex: Regex, source: &str) {
        let text = regex.as_str().to_string();
        let e = Entry::new(self.regexes.iter().map(|(e, _)| e), "regexes", source, text);
        self.regexes.push((e, regex));
    }

    /// Skips a commit (a full id or an abbreviation of it) in history scans.
    pub fn add_commit(&mut self, commit: &str, source: &str) {
        let text = commit.to_ascii_lowercase();
        let e = Entry::new(self.commits.iter(), "commits", source, text);
        self.commits.push(e);
    }

    /// Allows the fingerprints of a baseline; `name` is the file as reports show it.
    pub fn set_baseline(&mut self, name: &str, fingerprints: HashSet<String>) {
        self.baseline = Some((name.into(), fingerprints));
    }

    /// Stops the inline marker from allowing anything (the server side, where only the
    /// server's own configuration allows).
    pub fn ignore_inline_marker(&mut self) {
        self.no_inline_marker = true;
    }

    /// Whether the allowlist holds nothing (the inline marker still applies).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
            && self.fingerprints.is_empty()
            && self.paths.is_empty()
            && self.regexes.is_empty()
            && self.commits.is_empty()
            && self.baseline.is_none()
    }

    /// Whether history scans skip `commit` (a full commit id), and why.
    pub fn commit_reason(&self, commit: &str) -> Option<String> {
        let commit = commit.to_ascii_lowercase();
        self.commits.iter().find(|e| commit.starts_with(&e.text)).map(Entry::reason)
    }

    /// Whether history scans skip `commit` (a full commit id).
    pub fn commit_allowed(&self, commit: &str) -> bool {
        self.commit_reason(commit).is_some()
    }

    /// Why `m` is allowed, or `None` if it blocks.
    pub fn reason(&self, m: &Match, ctx: &Context<'_>) -> Option<String> {
        if !self.no_inline_marker && memchr::memmem::find(ctx.line, INLINE_MARKER).is_some() {
            return Some("inline marker tokenguard:allow".to_string());
        }
        if let Some(id) = &m.token_id {
            if let Some(e) = self.tokens.iter().find(|e| &e.text == id) {
                return Some(e.reason());
            }
        }
        if let Some(e) = self.fingerprints.iter().find(|e| e.text == m.fingerprint) {
            return Some(e.reason());
        }
        if let Some(commit) = ctx.commit {
            if let Some(why) = self.commit_reason(commit) {
                return Some(why);
            }
        }
        if !self.paths.is_empty() {
            if let Some(rel) = ctx.rel_path {
                if let Some((e, _)) = self.paths.iter().find(|(_, g)| g.is_match(rel)) {
                    return Some(e.reason());
                }
            }
        }
        if let Some((e, _)) = self.regexes.iter().find(|(_, re)| re.is_match(ctx.line)) {
            return Some(e.reason());
        }
        if let Some((name, prints)) = &self.baseline {
            if prints.contains(&m.fingerprint) {
                return Some(format!("baseline {name}"));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(token_id: Option<&str>, fingerprint: &str) -> Match {
        Match {
            rule: 0,
            span: 0..1,
            secret: 0..1,
            token_id: token_id.map(String::from),
            masked: String::new(),
            fingerprint: fingerprint.into(),
            encoding: crate::matcher::Encoding::Plain,
        }
    }

    fn ctx<'a>(path: &'a str, line: &'a [u8], commit: Option<&'a str>) -> Context<'a> {
        Context { rel_path: (path != "-").then_some(path), line, commit }
    }

    #[test]
    fn each_entry_kind_names_itself_in_the_reason() {
        let mut a = Allowlist::default();
        a.add_token("dt0c01.ABC", "config x.toml");
        a.add_fingerprint("SHA256:AB", "config x.toml");
        a.add_path(globset::Glob::new("tests/**").unwrap().compile_matcher(), "config x.toml");
        a.add_regex(Regex::new("example-only").unwrap(), "config x.toml");
        a.add_commit("abcdef1", "config x.toml");
        a.set_baseline("b.json", HashSet::from(["sha256:ba".to_string()]));
        let r = |mm: &Match, c: &Context<'_>| a.reason(mm, c);
        assert_eq!(
            r(&m(Some("dt0c01.ABC"), "x"), &ctx("a", b"", None)).unwrap(),
            "config x.toml: [allow] tokens[0]"
        );
        assert!(r(&m(None, "sha256:ab"), &ctx("a", b"", None)).unwrap().contains("fingerprints"));
        assert!(r(&m(None, "x"), &ctx("tests/a/b", b"", None)).unwrap().contains("paths"));
        assert!(r(&m(None, "x"), &ctx("a", b"k=v # example-only", None))
            .unwrap()
            .contains("regexes"));
        assert!(r(&m(None, "x"), &ctx("a", b"", Some("ABCDEF1234"))).unwrap().contains("commits"));
        assert_eq!(r(&m(None, "sha256:ba"), &ctx("a", b"", None)).unwrap(), "baseline b.json");
        assert!(r(&m(Some("dt0c01.ABD"), "y"), &ctx("src/a", b"x", Some("abcdef0"))).is_none());
        assert!(a.commit_allowed("abcdef1999"));
        assert!(!a.commit_allowed("abcdef0999"));
    }

    #[test]
    fn inline_marker_allows_the_line() {
        let a = Allowlist::default();
        assert!(a.reason(&m(None, "x"), &ctx("a", b"t # tokenguard:allow", None)).is_some());
        assert!(a.reason(&m(None, "x"), &ctx("a", b"t # tokenguard", None)).is_none());
    }
}
