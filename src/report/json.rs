//! The JSON report, a stable contract documented in docs/output.md.

use std::io::Write;

use serde_json::json;

use crate::finding::Findings;

/// Version of the JSON report format; bumped only on an incompatible change.
pub const VERSION: u32 = 1;

/// Writes `{"version": 1, "findings": [...], "allowed": [...], "skipped": [...], "summary": {...}}`.
pub fn write(out: &mut dyn Write, f: &Findings) -> std::io::Result<()> {
    let skipped: Vec<_> =
        f.skipped.iter().map(|(path, reason)| json!({"file": path, "reason": reason})).collect();
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
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// SARIF 2.1.0 output, see [`super::sarif`]; rules described are the built-in ones plus
/// those of the findings.
pub fn write_sarif(out: &mut dyn Write, f: &Findings) -> std::io::Result<()> {
    super::sarif::write(out, f, crate::matcher::Matcher::builtin().rules())
}
