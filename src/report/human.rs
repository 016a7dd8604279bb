//! The human report: one block per finding, a summary, and what to do next.

use std::borrow::Cow;
use std::io::Write;

use colored::Colorize;

use super::sanitize::for_terminal;
use super::{Mode, Options};
use crate::finding::{Finding, Findings};

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

/// Writes the human report.
pub fn write(out: &mut dyn Write, f: &Findings, opts: &Options) -> std::io::Result<()> {
    let paint = &Painter(opts.color);
    for (path, why) in &f.skipped {
        writeln!(
            out,
            "{} {}: {}",
            paint.paint("skipped", |s| s.yellow()),
            for_terminal(path),
            why
        )?;
    }
    // A history report is grouped by commit: a heading when the commit changes.
    let grouped = opts.mode == Mode::History;
    // Rendered on every core in batches, written in order.
    super::write_rendered(out, &f.findings, |first, chunk| {
        let mut last = first.checked_sub(1).and_then(|k| commit_of(&f.findings[k]));
        let mut text = Vec::with_capacity(chunk.len() * 320);
        for finding in chunk {
            if grouped {
                heading(&mut text, finding, &mut last, paint).expect("writing to memory");
            }
            block(&mut text, finding, paint, grouped).expect("writing to memory");
        }
        text
    })?;
    if opts.verbose {
        let mut last = f.findings.last().and_then(commit_of);
        for finding in &f.allowed {
            if grouped {
                heading(out, finding, &mut last, paint)?;
            }
            block(out, finding, paint, grouped)?;
            let why = finding.allowed_by.as_deref().unwrap_or_default();
            writeln!(out, "    allowed by:  {}", for_terminal(why))?;
        }
    }
    summary(out, f, opts, paint)
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
    let enc = match f.encoding {
        crate::matcher::Encoding::Plain => "",
        crate::matcher::Encoding::Base64 => " (base64-encoded in the file)",
    };
    writeln!(out, "    token:       {}{}", for_terminal(&f.masked), enc)?;
    writeln!(out, "    fingerprint: {}", f.fingerprint)?;
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
    f: &Findings,
    opts: &Options,
    paint: &Painter,
) -> std::io::Result<()> {
    let n = f.findings.len();
    let allowed = if f.allowed.is_empty() {
        String::new()
    } else {
        format!(" ({} allowed)", f.allowed.len())
    };
    if n == 0 {
        if opts.verbose || !f.allowed.is_empty() {
            writeln!(out, "tokenguard: no tokens found{allowed}")?;
        }
        return Ok(());
    }
    let what = match opts.mode {
        Mode::Staged => format!("commit blocked: {n} token(s) in staged changes{allowed}"),
        Mode::Push => format!("push blocked: {n} token(s) in the commits being pushed{allowed}"),
        Mode::CommitMessage => {
            format!("commit blocked: {n} token(s) in the commit message{allowed}")
        }
        Mode::History => format!("{n} token(s) found in the history{allowed}"),
        Mode::Files => format!("{n} token(s) found{allowed}"),
    };
    writeln!(out, "{}", paint.paint(&what, |s| s.red().bold()))?;
    let advice: &[&str] = match opts.mode {
        Mode::Staged => &[
            "Remove the token from the file (read it from the environment or a secret store),",
            "then `git add` the file again and commit. If the token ever left this machine,",
            "rotate it in Dynatrace (Access tokens > revoke) as well.",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
            "`git commit --no-verify` skips this check entirely; the token then stays in history.",
        ],
        Mode::Push => &[
            "The commits above hold tokens. Rewrite them (git rebase -i, or git commit --amend)",
            "so that the token is never in history, and rotate the token in Dynatrace.",
            "A false alarm? Add `tokenguard:allow` to the line, or list the token id or",
            "fingerprint under [allow] in .tokenguard.toml (see docs/config.md).",
        ],
        Mode::CommitMessage => &[
            "Take the token out of the message and commit again. To change the message of a",
            "commit already made: `git commit --amend` (the last one) or `git rebase -i` with",
            "reword (an older one); for `git am`, edit the patch's message and apply it again.",
            "If the token ever left this machine, rotate it in Dynatrace (Access tokens > revoke).",
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::CommitInfo;
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
                })
            })
            .collect();
        let mut f = Findings::default();
        for i in 0..n {
            f.push(Finding {
                rule: "r".into(),
                description: "d".into(),
                file: "f".into(),
                line: i as u64 + 1,
                column: 1,
                offset: None,
                masked: "m".into(),
                token_id: None,
                fingerprint: format!("sha256:{i}"),
                encoding: crate::matcher::Encoding::Plain,
                commit: Some(commits[i / 1000].clone()),
                allowed_by: None,
            });
        }
        let opts = Options {
            format: super::super::Format::Human,
            mode: Mode::History,
            verbose: false,
            color: false,
        };
        let mut out = Vec::new();
        write(&mut out, &f, &opts).unwrap();
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
