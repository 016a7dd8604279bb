//! Reporters: human (coloured only on a terminal), JSON (a stable contract, docs/output.md),
//! SARIF, and a self-contained HTML page. Each is a [`Sink`] writing to an injected writer as
//! findings arrive (in batches, rendered on every core; the HTML page, which opens with a
//! summary, holds them to the end). Nothing here decides an exit code.

pub mod html;
pub mod human;
pub mod json;
pub mod sarif;

use std::io::Write;

use crate::finding::{Finding, Findings};
use crate::sink::Sink;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable report.
    Human,
    /// JSON object, see docs/output.md.
    Json,
    /// SARIF 2.1.0 (for code-scanning upload).
    Sarif,
    /// One self-contained HTML page: summary, timeline, searchable table.
    Html,
}

/// What kind of scan produced the findings (the human report words its advice by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Files, folders or stdin.
    Files,
    /// The staged diff, before a commit.
    Staged,
    /// Commits of a history range.
    History,
    /// Commits about to be pushed (pre-push).
    Push,
    /// Commits a server is about to receive (pre-receive).
    Receive,
    /// A commit message, before the commit (commit-msg, prepare-commit-msg, applypatch-msg).
    CommitMessage,
}

/// A rule as reports describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// What the rule finds.
    pub description: String,
    /// Whose tokens it finds.
    pub provider: String,
    /// How bad a leak is.
    pub severity: crate::rules::Severity,
    /// How to rotate a leaked token.
    pub remediation: String,
}

impl From<&crate::rules::Rule> for RuleInfo {
    fn from(r: &crate::rules::Rule) -> Self {
        RuleInfo {
            id: r.id.clone(),
            description: r.description.clone(),
            provider: r.provider.clone(),
            severity: r.severity,
            remediation: r.remediation.clone(),
        }
    }
}

/// How to print a report.
#[derive(Debug, Clone)]
pub struct Options {
    /// Output format.
    pub format: Format,
    /// Kind of scan.
    pub mode: Mode,
    /// List allowed findings too, and say so when nothing was found.
    pub verbose: bool,
    /// Use colours (decided by the caller: terminal, `NO_COLOR`, `--color`).
    pub color: bool,
    /// The rules of the scan (SARIF describes them, the human report's advice quotes their
    /// remediation); the built-in ones when empty.
    pub rules: Vec<RuleInfo>,
}

impl Options {
    /// Options for `format` and `mode`, without colours or verbosity.
    pub fn new(format: Format, mode: Mode) -> Options {
        Options { format, mode, verbose: false, color: false, rules: Vec::new() }
    }
}

/// Items rendered per parallel task by [`write_rendered`].
pub(crate) const CHUNK: usize = 2048;
/// Findings held before they are rendered and written (bounds what a report holds).
pub(crate) const BATCH: usize = 64 * CHUNK;

/// Renders `items` on every core, [`CHUNK`] at a time (`render` gets the index of the chunk's
/// first item and the chunk), and writes the text in order.
pub(crate) fn write_rendered<T: Sync>(
    out: &mut dyn Write,
    items: &[T],
    render: impl Fn(usize, &[T]) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    if items.len() <= CHUNK {
        return out.write_all(&render(0, items));
    }
    let texts: Vec<Vec<u8>> =
        items.par_chunks(CHUNK).enumerate().map(|(c, chunk)| render(c * CHUNK, chunk)).collect();
    for text in texts {
        out.write_all(&text)?;
    }
    Ok(())
}

/// The reporter of `opts.format`, writing to `out`.
pub fn reporter<'w>(out: &'w mut (dyn Write + Send), opts: &Options) -> Box<dyn Sink + Send + 'w> {
    match opts.format {
        Format::Human => Box::new(human::Human::new(out, opts)),
        Format::Json => Box::new(json::Json::new(out)),
        Format::Sarif => Box::new(sarif::Sarif::new(out, opts)),
        Format::Html => Box::new(html::Html::new(out, opts)),
    }
}

/// Writes the report of collected `findings` to `out` (skipped inputs, then the findings that
/// block, then the allowed ones).
pub fn write(
    out: &mut (dyn Write + Send),
    findings: &Findings,
    opts: &Options,
) -> std::io::Result<()> {
    let mut r = reporter(out, opts);
    for (path, reason) in &findings.skipped {
        r.skipped(path, reason)?;
    }
    for f in findings.findings.iter().chain(&findings.allowed) {
        r.finding(f.clone())?;
    }
    r.finish()
}

/// Holds findings until a batch is full, then hands the batch to be rendered.
#[derive(Default)]
pub(crate) struct Batch {
    items: Vec<Finding>,
    /// The last finding of the batches written before (history headings continue from it).
    pub last: Option<Finding>,
}

impl Batch {
    /// Adds a finding; returns whether the batch is full.
    pub fn push(&mut self, f: Finding) -> bool {
        self.items.push(f);
        self.items.len() >= BATCH
    }

    /// The findings held, and how many were written before them.
    pub fn take(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.items)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
