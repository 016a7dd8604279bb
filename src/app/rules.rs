//! `tokenguard rules`: the built-in rules and the known documentation examples.

use std::io::{self, Write};

use super::Io;
use crate::matcher::Matcher;
use crate::report::{self, Format};
use crate::{Error, ExitStatus, Result};

/// `tokenguard rules`' options.
#[derive(Debug, Clone)]
pub struct RulesOptions {
    /// Output format (human, json, or sarif: a SARIF log describing the rules).
    pub format: Format,
}

/// Lists the rules: readable, as JSON, or as a SARIF log whose tool describes every rule
/// (and holds no result).
pub fn run(args: &RulesOptions, io: &mut Io) -> Result<ExitStatus> {
    let matcher = Matcher::builtin();
    let out = &mut io.out;
    let result = match args.format {
        Format::Sarif => {
            let rules = matcher
                .rules()
                .iter()
                .map(|r| report::RuleInfo { id: r.id.clone(), description: r.description.clone() })
                .collect();
            let opts = report::Options {
                rules,
                ..report::Options::new(Format::Sarif, report::Mode::Files)
            };
            report::write(&mut *out, &crate::finding::Findings::default(), &opts)
        }
        Format::Json => {
            let rules: Vec<_> = matcher
                .rules()
                .iter()
                .map(|r| serde_json::json!({"id": r.id, "description": r.description}))
                .collect();
            let doc = serde_json::json!({
                "version": report::json::VERSION,
                "rules": rules,
                "known_examples": crate::rules::KNOWN_EXAMPLES,
                "known_example_parts": crate::rules::KNOWN_EXAMPLE_PARTS,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
        Format::Html => {
            return Err(Error::Invalid(
                "`rules --format html` is not a format of the rule list: use human, json or sarif"
                    .into(),
            ))
        }
        Format::Human => (|| {
            writeln!(out, "Built-in rules:")?;
            for r in matcher.rules() {
                writeln!(out, "  {:<32} {}", r.id, r.description)?;
            }
            writeln!(
                out,
                "\nKnown public examples from Dynatrace's documentation (never reported):"
            )?;
            for k in crate::rules::KNOWN_EXAMPLES {
                writeln!(out, "  {k}")?;
            }
            writeln!(
                out,
                "\nA token holding one of their parts is an edited example (never reported):"
            )?;
            for p in crate::rules::KNOWN_EXAMPLE_PARTS {
                writeln!(out, "  {p}")?;
            }
            Ok(())
        })(),
    };
    match result.and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Write { path: None, source: e })
        }
        _ => Ok(ExitStatus::Clean),
    }
}
