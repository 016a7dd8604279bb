//! Reports: human (coloured only on a terminal), JSON (a stable contract, docs/output.md).
//! Printers receive a writer; nothing here decides an exit code.

pub mod human;
pub mod json;
pub mod sanitize;
pub mod sarif;

use std::io::Write;

use crate::finding::Findings;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report.
    Human,
    /// JSON object, see docs/output.md.
    Json,
    /// SARIF 2.1.0 (for code-scanning upload).
    Sarif,
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
    /// Commits about to be pushed (pre-push) or received (pre-receive).
    Push,
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
}

/// Writes the report of `findings` to `out`.
pub fn write(out: &mut dyn Write, findings: &Findings, opts: &Options) -> std::io::Result<()> {
    match opts.format {
        Format::Human => human::write(out, findings, opts),
        Format::Json => json::write(out, findings),
        Format::Sarif => json::write_sarif(out, findings),
    }
}
