//! Turns matches into findings: finds where they stand (line, column), asks the allowlist,
//! and fills a [`Findings`]. Sources hand it text in one of three shapes: a stream (files,
//! stdin), the added lines of a diff, or binary content compared with its old version.

use std::io::Read;
use std::ops::Range;

use crate::allowlist::{Allowlist, Context};
use crate::finding::{CommitInfo, Finding, Findings};
use crate::matcher::{Match, Matcher};
use crate::stream::{LineCounter, Windows};

/// Where scanned text comes from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The file as reports show it.
    pub file: String,
    /// The file relative to the work tree root, `/`-separated (what `[allow] paths` globs
    /// see); `None` for standard input and files outside the root.
    pub rel_path: Option<String>,
    /// The commit, for history and push scans.
    pub commit: Option<CommitInfo>,
}

impl Origin {
    /// An origin for `file`, a path relative to the work tree root (staged, history and push
    /// scans), with no commit.
    pub fn new(file: impl Into<String>) -> Origin {
        let file = file.into();
        Origin { rel_path: Some(file.clone()), file, commit: None }
    }

    /// An origin for a path as the user gave it, with its path relative to the work tree root
    /// when it lies under the root (see `Allowlist::root_relative`).
    pub fn given(file: impl Into<String>, rel_path: Option<String>) -> Origin {
        Origin { file: file.into(), rel_path, commit: None }
    }

    /// The same origin attributed to `commit`.
    pub fn with_commit(mut self, commit: CommitInfo) -> Origin {
        self.commit = Some(commit);
        self
    }
}

/// The added lines of one file, joined with newlines, with their line numbers in the new file.
#[derive(Debug, Default, Clone)]
pub struct AddedLines {
    buf: Vec<u8>,
    /// Offset in `buf` where each line starts, and its number.
    starts: Vec<(usize, u64)>,
}

impl AddedLines {
    /// Appends line `number` (its content without the line end).
    pub fn push(&mut self, number: u64, content: &[u8]) {
        self.starts.push((self.buf.len(), number));
        self.buf.extend_from_slice(content);
        self.buf.push(b'\n');
    }

    /// Whether no line was added.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The joined text.
    pub fn text(&self) -> &[u8] {
        &self.buf
    }

    /// Line number, 1-based column and line range of offset `at`.
    fn locate(&self, at: usize) -> (u64, u64, Range<usize>) {
        let i = self.starts.partition_point(|&(s, _)| s <= at) - 1;
        let (start, number) = self.starts[i];
        let end = self.starts.get(i + 1).map_or(self.buf.len(), |&(s, _)| s) - 1;
        (number, (at - start) as u64 + 1, start..end)
    }
}

/// The matcher and the allowlist together: what every source scans with.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// The compiled rules.
    pub matcher: Matcher,
    /// What the user allowed.
    pub allowlist: Allowlist,
}

impl Scanner {
    /// A scanner with the given rules and allowlist.
    pub fn new(matcher: Matcher, allowlist: Allowlist) -> Self {
        Scanner { matcher, allowlist }
    }

    /// Scans the added lines of one file.
    pub fn scan_added(&self, added: &AddedLines, origin: &Origin, out: &mut Findings) {
        if added.is_empty() {
            return;
        }
        for m in self.matcher.find(added.text()) {
            let (line, column, range) = added.locate(m.span.start);
            let text = &added.text()[range];
            out.push(self.finding(&m, origin, line, column, None, text));
        }
    }

    /// Scans a whole stream (a file, stdin) of any size with bounded memory.
    pub fn scan_reader(
        &self,
        reader: impl Read,
        origin: &Origin,
        out: &mut Findings,
    ) -> std::io::Result<()> {
        let mut windows = Windows::new(reader);
        let mut lines = LineCounter::default();
        while let Some(w) = windows.next()? {
            for m in self.matcher.find(w.bytes) {
                if !w.report.contains(&m.span.start) {
                    continue;
                }
                let at = w.base + m.span.start as u64;
                let (line, column) = lines.locate(w.bytes, w.base, at);
                let text = &w.bytes[line_in(w.bytes, m.span.start)];
                out.push(self.finding(&m, origin, line, column, None, text));
            }
            lines.advance(w.bytes, w.base, w.base + w.report.end as u64);
        }
        Ok(())
    }

    /// Scans binary content: reports tokens of `new` that `old` does not hold, by byte offset.
    pub fn scan_binary(&self, new: &[u8], old: Option<&[u8]>, origin: &Origin, out: &mut Findings) {
        let old_prints: Vec<String> = old
            .map(|o| self.matcher.find(o).into_iter().map(|m| m.fingerprint).collect())
            .unwrap_or_default();
        for m in self.matcher.find(new) {
            if old_prints.contains(&m.fingerprint) {
                continue;
            }
            let text = &new[line_in(new, m.span.start)];
            out.push(self.finding(&m, origin, 0, 0, Some(m.span.start as u64), text));
        }
    }

    fn finding(
        &self,
        m: &Match,
        origin: &Origin,
        line: u64,
        column: u64,
        offset: Option<u64>,
        text: &[u8],
    ) -> Finding {
        let rule = &self.matcher.rules()[m.rule];
        let ctx = Context {
            rel_path: origin.rel_path.as_deref(),
            line: text,
            commit: origin.commit.as_ref().map(|c| c.commit.as_str()),
        };
        Finding {
            rule: rule.id.clone(),
            description: rule.description.clone(),
            // A file may be named after a token: its name is masked like the token.
            file: crate::mask::mask_text(&self.matcher, &origin.file),
            line,
            column,
            offset,
            masked: m.masked.clone(),
            token_id: m.token_id.clone(),
            fingerprint: m.fingerprint.clone(),
            encoding: m.encoding,
            commit: origin.commit.clone(),
            allowed_by: self.allowlist.reason(m, &ctx),
        }
    }
}

/// The line around `at`, bounded to 4 KiB each side (for the inline marker and line regexes).
fn line_in(hay: &[u8], at: usize) -> Range<usize> {
    const REACH: usize = 4096;
    let lo = at.saturating_sub(REACH);
    let hi = (at + REACH).min(hay.len());
    let start = memchr::memrchr(b'\n', &hay[lo..at]).map_or(lo, |p| lo + p + 1);
    let end = memchr::memchr(b'\n', &hay[at..hi]).map_or(hi, |p| at + p);
    start..end
}
