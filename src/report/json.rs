//! The JSON report, a stable contract documented in docs/output.md.
//!
//! Keys are written in alphabetical order (as they always were). Findings are rendered on
//! every core in batches and written in order, so that a report of a million findings costs
//! neither minutes nor a document tree in memory.

use std::io::Write;

use serde::Serialize;

use crate::finding::{Finding, Findings};
use crate::matcher::Encoding;

/// Version of the JSON report format; bumped only on an incompatible change.
pub const VERSION: u32 = 1;

#[cfg(test)]
use super::{BATCH, CHUNK};

/// Writes `{"allowed": [...], "findings": [...], "skipped": [...], "summary": {...}, "version": 1}`.
pub fn write(out: &mut dyn Write, f: &Findings) -> std::io::Result<()> {
    out.write_all(b"{\n  \"allowed\": ")?;
    array(out, &f.allowed)?;
    out.write_all(b",\n  \"findings\": ")?;
    array(out, &f.findings)?;
    out.write_all(b",\n  \"skipped\": ")?;
    if f.skipped.is_empty() {
        out.write_all(b"[]")?;
    } else {
        out.write_all(b"[\n")?;
        for (i, (file, reason)) in f.skipped.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            let mut buf = Vec::new();
            pretty(&mut buf, &Skipped { file, reason })?;
            indent_into(out, &buf)?;
        }
        out.write_all(b"\n  ]")?;
    }
    write!(
        out,
        ",\n  \"summary\": {{\n    \"allowed\": {},\n    \"findings\": {},\n    \"skipped\": {}\n  }},\n  \"version\": {VERSION}\n}}\n",
        f.allowed.len(),
        f.findings.len(),
        f.skipped.len()
    )
}

/// SARIF 2.1.0 output, see [`super::sarif`]; rules described are the built-in ones plus
/// those of the findings.
pub fn write_sarif(out: &mut dyn Write, f: &Findings) -> std::io::Result<()> {
    super::sarif::write(out, f, crate::matcher::Matcher::builtin().rules())
}

/// `[]`, or the findings one per element at the indentation of the report's second level.
fn array(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    if findings.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[\n")?;
    super::write_rendered(out, findings, |first, chunk| {
        let mut text = Vec::with_capacity(chunk.len() * 512);
        let mut one = Vec::with_capacity(512);
        for (i, f) in chunk.iter().enumerate() {
            if first + i > 0 {
                text.extend_from_slice(b",\n");
            }
            one.clear();
            pretty(&mut one, &JsonFinding::from(f)).expect("writing to memory");
            indent_into(&mut text, &one).expect("writing to memory");
        }
        text
    })?;
    out.write_all(b"\n  ]")
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
    rule: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    token_id: Option<&'a str>,
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
            rule: &f.rule,
            subject: c.map(|c| c.subject.as_str()),
            token_id: f.token_id.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::CommitInfo;
    use serde_json::json;

    /// The report as a document tree would print it: what the streamed writer must equal.
    fn as_document(f: &Findings) -> String {
        let skipped: Vec<_> = f
            .skipped
            .iter()
            .map(|(path, reason)| json!({"file": path, "reason": reason}))
            .collect();
        let doc = json!({
            "version": VERSION,
            "findings": f.findings,
            "allowed": f.allowed,
            "skipped": skipped,
            "summary": {
                "findings": f.findings.len(),
                "allowed": f.allowed.len(),
                "skipped": f.skipped.len(),
            },
        });
        serde_json::to_string_pretty(&doc).unwrap() + "\n"
    }

    fn finding(i: u64) -> Finding {
        Finding {
            rule: "dynatrace-api-token".into(),
            description: "Dynatrace \"access\" token\t\u{7f}\u{202e}é".into(),
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
                })
            }),
            allowed_by: (i % 7 == 0).then(|| "inline marker".to_string()),
        }
    }

    fn rendered(f: &Findings) -> String {
        let mut out = Vec::new();
        write(&mut out, f).unwrap();
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
