//! The JSON report, a stable contract documented in docs/output.md.
//!
//! Top-level keys in the documented order (`version`, `findings`, `allowed`, `skipped`,
//! `summary`: the findings stream first), a finding's keys in alphabetical order. Findings are
//! rendered on every core in batches and written as they come, so that a report of a million
//! findings holds neither every finding nor a document tree in memory.

use std::io::Write;

use serde::Serialize;

use super::Batch;
use crate::finding::{Encoding, Finding};
use crate::sink::Sink;

/// Version of the JSON report format; bumped only on an incompatible change.
pub const VERSION: u32 = 1;

#[cfg(test)]
use super::{BATCH, CHUNK};
#[cfg(test)]
use crate::finding::Findings;

/// The JSON report: `{"version", "findings": [...], "allowed": [...], "skipped": [...],
/// "summary": {...}}`. Findings are written as they come (rendered in batches on every
/// core); allowed findings and skipped inputs are held to the end.
pub struct Json<'w> {
    out: &'w mut (dyn Write + Send),
    started: bool,
    written: usize,
    batch: Batch,
    allowed: Vec<Finding>,
    skipped: Vec<(String, String)>,
}

impl<'w> Json<'w> {
    /// A JSON report written to `out`.
    pub fn new(out: &'w mut (dyn Write + Send)) -> Self {
        Json {
            out,
            started: false,
            written: 0,
            batch: Batch::default(),
            allowed: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.started = true;
            write!(self.out, "{{\n  \"version\": {VERSION},\n  \"findings\": [")?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> std::io::Result<()> {
        self.start()?;
        let items = self.batch.take();
        array_items(self.out, &items, self.written)?;
        self.written += items.len();
        Ok(())
    }
}

impl Sink for Json<'_> {
    fn finding(&mut self, f: Finding) -> std::io::Result<()> {
        if f.allowed_by.is_some() {
            self.allowed.push(f);
        } else if self.batch.push(f) {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> std::io::Result<()> {
        self.skipped.push((path.to_string(), reason.to_string()));
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_batch()?;
        self.out.write_all(if self.written == 0 { b"]" } else { b"\n  ]" })?;
        self.out.write_all(b",\n  \"allowed\": [")?;
        array_items(self.out, &self.allowed, 0)?;
        self.out.write_all(if self.allowed.is_empty() { b"]" } else { b"\n  ]" })?;
        self.out.write_all(b",\n  \"skipped\": ")?;
        if self.skipped.is_empty() {
            self.out.write_all(b"[]")?;
        } else {
            self.out.write_all(b"[\n")?;
            for (i, (file, reason)) in self.skipped.iter().enumerate() {
                if i > 0 {
                    self.out.write_all(b",\n")?;
                }
                let mut buf = Vec::new();
                pretty(&mut buf, &Skipped { file, reason })?;
                indent_into(self.out, &buf)?;
            }
            self.out.write_all(b"\n  ]")?;
        }
        write!(
            self.out,
            ",\n  \"summary\": {{\n    \"findings\": {},\n    \"allowed\": {},\n    \"skipped\": {}\n  }}\n}}\n",
            self.written,
            self.allowed.len(),
            self.skipped.len()
        )
    }
}

/// The findings as elements of an array at the report's second level, `before` elements
/// having been written already (each but the first is preceded by a comma).
fn array_items(out: &mut dyn Write, findings: &[Finding], before: usize) -> std::io::Result<()> {
    super::write_rendered(out, findings, |first, chunk| {
        let mut text = Vec::with_capacity(chunk.len() * 512);
        let mut one = Vec::with_capacity(512);
        for (i, f) in chunk.iter().enumerate() {
            text.extend_from_slice(if before + first + i > 0 { b",\n" } else { b"\n" });
            one.clear();
            pretty(&mut one, &JsonFinding::from(f)).expect("writing to memory");
            indent_into(&mut text, &one).expect("writing to memory");
        }
        text
    })
}

fn pretty(out: &mut Vec<u8>, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(out, value).map_err(std::io::Error::other)
}

/// Writes `text` (a pretty-printed element) indented by four spaces. JSON strings hold no
/// raw newline, so every newline of `text` is a line break of the layout.
fn indent_into(out: &mut (impl Write + ?Sized), text: &[u8]) -> std::io::Result<()> {
    out.write_all(b"    ")?;
    let mut rest = text;
    while let Some(nl) = memchr::memchr(b'\n', rest) {
        out.write_all(&rest[..=nl])?;
        out.write_all(b"    ")?;
        rest = &rest[nl + 1..];
    }
    out.write_all(rest)
}

/// A skipped input, as the report lists it.
#[derive(Serialize)]
struct Skipped<'a> {
    file: &'a str,
    reason: &'a str,
}

/// A finding with its keys in alphabetical order (the commit's fields flattened in).
#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    column: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    description: &'a str,
    encoding: Encoding,
    file: &'a str,
    fingerprint: &'a str,
    line: u64,
    masked: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    provider: &'a str,
    rule: &'a str,
    severity: crate::rules::Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    token_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a crate::verify::Verification>,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        let c = f.commit.as_deref();
        JsonFinding {
            allowed_by: f.allowed_by.as_deref(),
            author: c.map(|c| c.author.as_str()),
            column: f.column,
            commit: c.map(|c| c.commit.as_str()),
            date: c.map(|c| c.date.as_str()),
            description: &f.description,
            encoding: f.encoding,
            file: &f.file,
            fingerprint: &f.fingerprint,
            line: f.line,
            masked: &f.masked,
            offset: f.offset,
            provider: &f.provider,
            rule: &f.rule,
            severity: f.severity,
            subject: c.map(|c| c.subject.as_str()),
            token_id: f.token_id.as_deref(),
            verification: f.verification.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::CommitInfo;
    use serde_json::json;

    /// The report as a document tree would print it, keys in the documented order at the top
    /// level and in alphabetical order inside a finding: what the streamed writer must equal.
    fn as_document(f: &Findings) -> String {
        #[derive(Serialize)]
        struct Summary {
            findings: usize,
            allowed: usize,
            skipped: usize,
        }
        #[derive(Serialize)]
        struct Doc {
            version: u32,
            findings: serde_json::Value,
            allowed: serde_json::Value,
            skipped: Vec<serde_json::Value>,
            summary: Summary,
        }
        let skipped: Vec<_> = f
            .skipped
            .iter()
            .map(|(path, reason)| json!({"file": path, "reason": reason}))
            .collect();
        let doc = Doc {
            version: VERSION,
            findings: serde_json::to_value(&f.findings).unwrap(),
            allowed: serde_json::to_value(&f.allowed).unwrap(),
            skipped,
            summary: Summary {
                findings: f.findings.len(),
                allowed: f.allowed.len(),
                skipped: f.skipped.len(),
            },
        };
        serde_json::to_string_pretty(&doc).unwrap() + "\n"
    }

    fn finding(i: u64) -> Finding {
        Finding {
            rule: "dynatrace-api-token".into(),
            description: "Dynatrace \"access\" token\t\u{7f}\u{202e}é".into(),
            provider: "dynatrace".into(),
            severity: crate::rules::Severity::High,
            file: format!("dir/f\\ile {i}.txt\n").into(),
            line: i + 1,
            column: 3,
            offset: (i % 3 == 0).then_some(i * 10),
            masked: "dt0c01.ABC.****".into(),
            token_id: (i % 2 == 0).then(|| "dt0c01.ABC".to_string()),
            fingerprint: format!("sha256:{i:064x}"),
            encoding: if i % 4 == 0 { Encoding::Base64 } else { Encoding::Plain },
            commit: (i % 5 == 0).then(|| {
                std::sync::Arc::new(CommitInfo {
                    commit: format!("{i:040x}"),
                    author: "A <a@b>".into(),
                    date: "2024-01-01T00:00:00+00:00".into(),
                    subject: "fix \u{1}".into(),
                    time: 0,
                })
            }),
            allowed_by: (i % 7 == 0).then(|| "inline marker".to_string()),
            verification: None,
        }
    }

    fn rendered(f: &Findings) -> String {
        let mut out = Vec::new();
        let opts =
            super::super::Options::new(super::super::Format::Json, super::super::Mode::Files);
        super::super::write(&mut out, f, &opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn equals_the_document_tree_rendering() {
        let empty = Findings::default();
        assert_eq!(rendered(&empty), as_document(&empty));
        let mut f = Findings::default();
        for i in 0..(BATCH as u64 + 3 * CHUNK as u64 + 5) {
            f.push(finding(i));
        }
        f.skipped.push(("a\"b".into(), "symlink loop".into()));
        f.skipped.push(("c".into(), "not a regular file (fifo)".into()));
        assert_eq!(rendered(&f), as_document(&f));
    }
}
