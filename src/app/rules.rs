//! `tokenguard rules`: the built-in rules by provider, with the known documentation examples;
//! `tokenguard rules check [FILE]`: proves rules (the built-in ones, or a file's) against their
//! examples, negative examples and known examples (see docs/rules.md).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{write_out, Io};
use crate::matcher::{check, Matcher};
use crate::report::{self, Format};
use crate::rules::{Detector, Rule};
use crate::sanitize::for_terminal;
use crate::{Error, ExitStatus, Result};

/// `tokenguard rules`' options.
#[derive(Debug, Clone)]
pub struct RulesOptions {
    /// Output format of the list (human, json, or sarif: a SARIF log describing the rules).
    pub format: Format,
    /// `rules check [FILE]`: prove rules instead of listing them.
    pub check: Option<RulesCheck>,
}

/// `tokenguard rules check`'s options.
#[derive(Debug, Clone, Default)]
pub struct RulesCheck {
    /// A file of `[[rules]]` (the configuration's schema); `None`: the built-in rules.
    pub file: Option<PathBuf>,
}

/// Lists the rules, or checks them.
pub fn run(args: &RulesOptions, io: &mut Io) -> Result<ExitStatus> {
    match &args.check {
        Some(c) => check_rules(c.file.as_deref(), io),
        None => list(args.format, io),
    }
}

/// The detector kind of a rule, as docs/rules.md names it.
fn kind(rule: &Rule) -> &'static str {
    match rule.detector {
        Detector::Structured(_) => "structured",
        Detector::Keyed(_) => "keyed",
        Detector::Regex(_) => "regex",
    }
}

/// Lists the rules: readable and grouped by provider, as JSON, or as a SARIF log whose tool
/// describes every rule (and holds no result).
fn list(format: Format, io: &mut Io) -> Result<ExitStatus> {
    let rules = crate::rules::builtin_ref();
    let known = crate::rules::known_examples();
    let parts = crate::rules::known_example_parts();
    let text = match format {
        Format::Sarif => {
            let infos = rules.iter().map(report::RuleInfo::from).collect();
            let opts = report::Options {
                rules: infos,
                ..report::Options::new(Format::Sarif, report::Mode::Files)
            };
            let out = &mut io.out;
            return match report::write(&mut *out, &crate::finding::Findings::default(), &opts)
                .and_then(|()| out.flush())
            {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(Error::Write { path: None, source: e })
                }
                _ => Ok(ExitStatus::Clean),
            };
        }
        Format::Json => {
            let list: Vec<_> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "provider": r.provider,
                        "description": r.description,
                        "severity": r.severity,
                        "kind": kind(r),
                        "remediation": r.remediation,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "version": report::json::VERSION,
                "providers": crate::rules::providers(rules),
                "rules": list,
                "known_examples": known,
                "known_example_parts": parts,
            });
            serde_json::to_string_pretty(&doc).expect("JSON of plain values") + "\n"
        }
        Format::Html => {
            return Err(Error::Invalid(
                "`rules --format html` is not a format of the rule list: use human, json or sarif"
                    .into(),
            ))
        }
        Format::Human => {
            let mut t = String::new();
            for provider in crate::rules::providers(rules) {
                let mine: Vec<&Rule> = rules.iter().filter(|r| r.provider == provider).collect();
                let s = if mine.len() == 1 { "" } else { "s" };
                t.push_str(&format!("{provider} ({} rule{s}):\n", mine.len()));
                for r in mine {
                    t.push_str(&format!(
                        "  {:<32} {:<6} {:<10} {}\n",
                        r.id,
                        r.severity.as_str(),
                        kind(r),
                        r.description
                    ));
                }
                t.push('\n');
            }
            t.push_str(
                "Known public examples from the providers' documentation (never reported):\n",
            );
            for k in known {
                t.push_str(&format!("  {k}\n"));
            }
            t.push_str(
                "\nA token holding one of their parts is an edited example (never reported):\n",
            );
            for p in parts {
                t.push_str(&format!("  {p}\n"));
            }
            t.push_str("\n`[scan] disable` takes rule ids and provider names.\n");
            t
        }
    };
    write_out(&mut io.out, &text)?;
    Ok(ExitStatus::Clean)
}

fn check_rules(file: Option<&Path>, io: &mut Io) -> Result<ExitStatus> {
    let (matcher, first, origin) = match file {
        None => (Matcher::builtin_shared(), 0, "built-in rules".to_string()),
        Some(path) => {
            let bytes = crate::fs::read_regular(path)
                .map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Config {
                path: path.to_path_buf(),
                message: "not valid UTF-8".into(),
            })?;
            let shown = path.to_string_lossy().into_owned();
            let config = crate::config::Config::parse(&text, &shown)?;
            if config.rules.is_empty() {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    message: "no `[[rules]]` to check".into(),
                });
            }
            // The file's rules beside the built-in ones, as a scan would use them.
            let mut rules = crate::rules::builtin();
            let first = rules.len();
            rules.extend(config.rules);
            (std::sync::Arc::new(Matcher::new(rules, &[])), first, shown)
        }
    };
    let report = check::check(&matcher, first..matcher.rules().len());
    let mut text = String::new();
    for f in &report.failures {
        let line = format!("FAIL {}: {}: {}", f.rule, f.case, f.problem);
        text.push_str(&for_terminal(&line));
        text.push('\n');
        if !f.text.is_empty() {
            text.push_str("     ");
            text.push_str(&for_terminal(&f.text));
            text.push('\n');
        }
    }
    let summary = format!(
        "tokenguard: rules check of {origin}: {} rules, {} examples, {} negative examples, {} known examples: {}",
        report.rules,
        report.examples,
        report.negatives,
        report.known,
        match report.failures.len() {
            0 => "all pass".to_string(),
            1 => "1 failure".to_string(),
            n => format!("{n} failures"),
        }
    );
    text.push_str(&for_terminal(&summary));
    text.push('\n');
    write_out(&mut io.out, &text)?;
    Ok(if report.failures.is_empty() { ExitStatus::Clean } else { ExitStatus::Findings })
}
