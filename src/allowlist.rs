//! The allowlist: decides whether a match is allowed, and says why. Never stores a secret:
//! entries are token identifiers, fingerprints, path globs, regexes and commits.

use crate::matcher::Match;

/// The inline marker: a finding on a line that contains it is allowed.
pub const INLINE_MARKER: &[u8] = b"tokenguard:allow";

/// What the user allowed.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {}

/// What the allowlist is told about a match besides the match itself.
pub struct Context<'a> {
    /// The file, relative to the work tree root (or as given).
    pub path: &'a str,
    /// The line that holds the match (may hold the secret: look, never keep).
    pub line: &'a [u8],
    /// The commit, for history scans.
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Why `m` is allowed, or `None` if it blocks.
    pub fn reason(&self, _m: &Match, ctx: &Context<'_>) -> Option<String> {
        if memchr::memmem::find(ctx.line, INLINE_MARKER).is_some() {
            return Some("inline marker tokenguard:allow".to_string());
        }
        None
    }
}
