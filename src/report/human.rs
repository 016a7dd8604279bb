//! The human report: one block per finding, a summary, and what to do next.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use colored::Colorize;

use super::{Batch, Mode, Options, RuleInfo};
use crate::finding::Finding;
use crate::sanitize::for_terminal;
use crate::sink::Sink;

/// Applies a style only when colours are on.
struct Painter(bool);

impl Painter {
    fn paint<'a>(&self, s: &'a str, style: fn(&str) -> colored::ColoredString) -> Cow<'a, str> {
        if self.0 {
            Cow::Owned(style(s).to_string())
        } else {
            Cow::Borrowed(s)
        }
    }
}

/// The human report: findings as they come (rendered in batches on every core), allowed ones
/// at the end when verbose, then the summary and what to do next.
pub struct Human<'w> {
    out: &'w mut (dyn Write + Send),
    mode: Mode,
    verbose: bool,
    paint: Painter,
    batch: Batch,
    allowed: Vec<Finding>,
    counts: (usize, usize),
    /// The rules of the scan, and those a blocking finding came from (for the advice).
    rules: Vec<RuleInfo>,
    found: Vec<Arc<str>>,
}

impl<'w> Human<'w> {
    /// A human report written to `out`.
    pub fn new(out: &'w mut (dyn Write + Send), opts: &Options) -> Self {
        Human {
            out,
            mode: opts.mode,
            verbose: opts.verbose,
            paint: Painter(opts.color),
            batch: Batch::default(),
            allowed: Vec::new(),
            counts: (0, 0),
            rules: opts.rules.clone(),
            found: Vec::new(),
        }
    }

    /// Renders and writes the findings held.
    fn flush_batch(&mut self) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let items = self.batch.take();
        // A history report is grouped by commit: a heading when the commit changes.
        let grouped = self.mode == Mode::History;
        let before = self.batch.last.as_ref().and_then(commit_of).map(str::to_string);
        let paint = &self.paint;
        super::write_rendered(self.out, &items, |first, chunk| {
            let mut last = match first.checked_sub(1) {
                Some(k) => commit_of(&items[k]),
                None => before.as_deref(),
            };
            let mut text = Vec::with_capacity(chunk.len() * 320);
            for finding in chunk {
                if grouped {
                    heading(&mut text, finding, &mut last, paint).expect("writing to memory");
                }
                block(&mut text, finding, paint, grouped).expect("writing to memory");
            }
            text
        })?;
        self.batch.last = items.into_iter().last();
        Ok(())
    }
}

impl Sink for Human<'_> {
    fn finding(&mut self, f: Finding) -> std::io::Result<()> {
        if f.allowed_by.is_some() {
            self.counts.1 += 1;
            if self.verbose {
                self.allowed.push(f);
            }
            return Ok(());
        }
        self.counts.0 += 1;
        if !self.found.contains(&f.rule) {
            self.found.push(f.rule.clone());
        }
        if self.batch.push(f) {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn skipped(&mut self, path: &str, why: &str) -> std::io::Result<()> {
        self.flush_batch()?;
        writeln!(
            self.out,
            "{} {}: {}",
            self.paint.paint("skipped", |s| s.yellow()),
            for_terminal(path),
            why
        )
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_batch()?;
        let grouped = self.mode == Mode::History;
        let mut last = self.batch.last.as_ref().and_then(commit_of).map(str::to_string);
        for finding in std::mem::take(&mut self.allowed) {
            if grouped {
                let mut l = last.as_deref();
                heading(self.out, &finding, &mut l, &self.paint)?;
                last = l.map(str::to_string);
            }
            block(self.out, &finding, &self.paint, grouped)?;
            let why = finding.allowed_by.as_deref().unwrap_or_default();
            writeln!(self.out, "    allowed by:  {}", for_terminal(why))?;
        }
        let rules: Vec<&RuleInfo> =
            self.rules.iter().filter(|r| self.found.iter().any(|f| **f == *r.id)).collect();
        summary(self.out, self.counts, self.mode, self.verbose, &self.paint, &rules)
    }
}

fn commit_of(f: &Finding) -> Option<&str> {
    f.commit.as_ref().map(|c| c.commit.as_str())
}

/// `commit <id> <subject>` and its author, when `f` belongs to another commit than the last.
fn heading<'a>(
    out: &mut (impl Write + ?Sized),
    f: &'a Finding,
    last: &mut Option<&'a str>,
    paint: &Painter,
) -> std::io::Result<()> {
    let Some(c) = &f.commit else { return Ok(()) };
    if *last == Some(c.commit.as_str()) {
        return Ok(());
    }
    *last = Some(c.commit.as_str());
    let id = format!("commit {}", &c.commit[..c.commit.len().min(12)]);
    writeln!(out, "{} {}", paint.paint(&id, |s| s.yellow()), for_terminal(&c.subject))?;
    writeln!(out, "  author: {}, {}", for_terminal(&c.author), c.date)?;
    writeln!(out)
}

fn block(
    out: &mut (impl Write + ?Sized),
    f: &Finding,
    paint: &Painter,
    grouped: bool,
) -> std::io::Result<()> {
    let place = match f.offset {
        Some(off) => format!("{} (binary, byte offset {off})", for_terminal(&f.file)),
        None => format!("{}:{}:{}", for_terminal(&f.file), f.line, f.column),
    };
    let head = if f.allowed_by.is_some() { "allowed" } else { "token" };
    writeln!(
        out,
        "{} {}",
        paint.paint(head, |s| s.red().bold()),
        paint.paint(&place, |s| s.bold())
    )?;
    // A custom rule's description comes from the repository's configuration: hostile text.
    writeln!(out, "    rule:        {} ({})", f.rule, for_terminal(&f.description))?;
    if f.severity != crate::rules::Severity::High {
        writeln!(out, "    severity:    {}", f.severity.as_str())?;
    }
    let enc = match f.encoding {
        crate::finding::Encoding::Plain => "",
        crate::finding::Encoding::Base64 => " (base64-encoded in the file)",
    };
    writeln!(out, "    token:       {}{}", for_terminal(&f.masked), enc)?;
    writeln!(out, "    fingerprint: {}", f.fingerprint)?;
    if let Some(v) = &f.verification {
        for line in v.summary() {
            let (key, value) = line.split_once(": ").unwrap_or((&line, ""));
            writeln!(out, "    {:<12} {}", format!("{key}:"), for_terminal(value))?;
        }
    }
    if let Some(c) = f.commit.as_ref().filter(|_| !grouped) {
        writeln!(
            out,
            "    commit:      {} {}",
            &c.commit[..c.commit.len().min(12)],
            for_terminal(&c.subject)
        )?;
        writeln!(out, "    author:      {} on {}", for_terminal(&c.author), c.date)?;
    }
    writeln!(out)
}

fn summary(
    out: &mut dyn Write,
    (n, allowed_n): (usize, usize),
    mode: Mode,
    verbose: bool,
    paint: &Painter,
    rules: &[&RuleInfo],
) -> std::io::Result<()> {
    let allowed = if allowed_n == 0 { String::new() } else { format!(" ({allowed_n} allowed)") };
    if n == 0 {
        if verbose || allowed_n > 0 {
            writeln!(out, "tokenguard: no tokens found{allowed}")?;
        }
        return Ok(());
    }
    let what = match mode {
        Mode::Staged => format!("commit blocked: {n} token(s) in staged changes{allowed}"),
        Mode::Push => format!("push blocked: {n} token(s) in the commits being pushed{allowed}"),
        Mode::Receive => format!("push rejected: {n} token(s) in the commits received{allowed}"),
        Mode::CommitMessage => {
            format!("commit blocked: {n} token(s) in the commit message{allowed}")
        }
        Mode::History => format!("{n} token(s) found in the history{allowed}"),
        Mode::Files => format!("{n} token(s) found{allowed}"),
    };
    writeln!(out, "{}", paint.paint(&what, |s| s.red().bold()))?;
    let advice: &[&str] = match mode {
        Mode::Staged => &[
            "Remove the token from the file (read it from the environment or a secret store),",
            "then `git add` the file again and commit. If the token ever left this machine,",
            "rotate it as well (below).",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
            "`git commit --no-verify` skips this check entirely; the token then stays in history.",
        ],
        Mode::Push => &[
            "The commits above hold tokens. Rewrite them (git rebase -i, or git commit --amend)",
            "so that the token is never in history, and rotate the token (below).",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
        ],
        Mode::Receive => &[
            "The server refuses commits that hold tokens. Rewrite them so that the token is",
            "never in history (git rebase -i, git commit --amend), push again, and rotate the",
            "token: it left your machine. The server follows only its own configuration; a false",
            "alarm is allowed by the server's administrator (see docs/server-side.md).",
        ],
        Mode::CommitMessage => &[
            "Take the token out of the message and commit again. To change the message of a",
            "commit already made: `git commit --amend` (the last one) or `git rebase -i` with",
            "reword (an older one); for `git am`, edit the patch's message and apply it again.",
            "If the token ever left this machine, rotate it as well (below).",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
            "`git commit --no-verify` skips this check; the token then stays in history.",
        ],
        Mode::History | Mode::Files => &[
            "Rotate every token listed (it is exposed wherever this content went), then remove it.",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
        ],
    };
    for line in advice {
        writeln!(out, "  {line}")?;
    }
    // How to rotate each kind found, from its rule.
    let mut seen: Vec<&str> = Vec::new();
    for r in rules {
        if seen.contains(&r.remediation.as_str()) || r.remediation.is_empty() {
            continue;
        }
        seen.push(&r.remediation);
        writeln!(out, "  To rotate {} tokens ({}):", r.provider, r.id)?;
        for line in wrap(&r.remediation, 86) {
            writeln!(out, "    {}", for_terminal(&line))?;
        }
    }
    Ok(())
}

/// `text` cut into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CommitInfo, Findings};
    use std::sync::Arc;

    #[test]
    fn a_large_history_report_has_one_heading_per_run_of_a_commit_across_batches() {
        // Runs of 1000 findings per commit, so that runs straddle the rendering chunks and
        // batches: a heading must come exactly when the commit changes.
        let n = super::super::BATCH + 3 * super::super::CHUNK + 7;
        let commits: Vec<Arc<CommitInfo>> = (0..=n / 1000)
            .map(|c| {
                Arc::new(CommitInfo {
                    commit: format!("{c:040x}"),
                    author: "A <a@b>".into(),
                    date: "2024-01-01T00:00:00+00:00".into(),
                    subject: format!("change {c}"),
                    time: 0,
                })
            })
            .collect();
        let mut f = Findings::default();
        for i in 0..n {
            f.push(Finding {
                rule: "r".into(),
                description: "d".into(),
                provider: "dynatrace".into(),
                severity: crate::rules::Severity::High,
                file: "f".into(),
                line: i as u64 + 1,
                column: 1,
                offset: None,
                masked: "m".into(),
                token_id: None,
                fingerprint: format!("sha256:{i}"),
                encoding: crate::finding::Encoding::Plain,
                commit: Some(commits[i / 1000].clone()),
                allowed_by: None,
                verification: None,
            });
        }
        let opts = Options::new(super::super::Format::Human, Mode::History);
        let mut out = Vec::new();
        super::super::write(&mut out, &f, &opts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("commit ")).collect();
        assert_eq!(headings.len(), commits.len());
        for (h, c) in headings.iter().zip(&commits) {
            assert!(h.starts_with(&format!("commit {}", &c.commit[..12])), "{h}");
        }
        // Every finding once, in order.
        let lines: Vec<u64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("token f:"))
            .map(|l| l.split(':').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(lines, (1..=n as u64).collect::<Vec<_>>());
    }
}
