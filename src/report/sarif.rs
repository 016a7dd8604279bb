//! The SARIF 2.1.0 report (for GitHub code scanning and other SARIF viewers): one run, the
//! rules as `tool.driver.rules`, one result per finding that blocks. A result holds the masked
//! token only; its `partialFingerprints` carry the token fingerprint, so that the same token
//! is the same alert from one upload to the next. Documented in docs/output.md.

use std::io::Write;

use serde_json::{json, Value};

use super::{Batch, Options, RuleInfo};
use crate::finding::Finding;
use crate::sink::Sink;

/// Version of the SARIF format written.
pub const SARIF_VERSION: &str = "2.1.0";
/// Where the SARIF 2.1.0 schema is published.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Key of the token fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "tokenFingerprint/v1";

/// The SARIF log: results as findings come (allowed findings are left out), rendered in
/// batches; then the tool with its rules: every rule of the scan (see [`Options::rules`]), and
/// any other rule a finding came from.
pub struct Sarif<'w> {
    out: &'w mut (dyn Write + Send),
    descriptors: Vec<RuleInfo>,
    started: bool,
    written: usize,
    batch: Batch,
}

impl<'w> Sarif<'w> {
    /// A SARIF log written to `out`, describing `opts.rules` (the built-in rules when empty).
    pub fn new(out: &'w mut (dyn Write + Send), opts: &Options) -> Self {
        let descriptors = if opts.rules.is_empty() {
            crate::rules::builtin().into_iter().map(|r| RuleInfo::from(&r)).collect()
        } else {
            opts.rules.clone()
        };
        Sarif { out, descriptors, started: false, written: 0, batch: Batch::default() }
    }

    fn flush_batch(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.started = true;
            write!(
                self.out,
                "{{\n  \"$schema\": \"{SARIF_SCHEMA}\",\n  \"runs\": [\n    {{\n      \"results\": ["
            )?;
        }
        let items = self.batch.take();
        let mut indices = Vec::with_capacity(items.len());
        for f in &items {
            let index = match self.descriptors.iter().position(|d| *d.id == *f.rule) {
                Some(i) => i,
                None => {
                    let d = RuleInfo {
                        id: f.rule.to_string(),
                        description: f.description.to_string(),
                        provider: f.provider.to_string(),
                        severity: f.severity,
                        remediation: String::new(),
                    };
                    self.descriptors.push(d);
                    self.descriptors.len() - 1
                }
            };
            indices.push(index);
        }
        let before = self.written;
        super::write_rendered(self.out, &items, |first, chunk| {
            let mut text = Vec::with_capacity(chunk.len() * 1024);
            for (i, f) in chunk.iter().enumerate() {
                text.extend_from_slice(if before + first + i > 0 { b",\n" } else { b"\n" });
                let value = result(f, indices[first + i]);
                let one = serde_json::to_vec_pretty(&value).expect("writing to memory");
                text.extend_from_slice(&indent(&one, 8));
            }
            text
        })?;
        self.written += items.len();
        Ok(())
    }
}

impl Sink for Sarif<'_> {
    fn finding(&mut self, f: Finding) -> std::io::Result<()> {
        if f.allowed_by.is_none() && self.batch.push(f) {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn skipped(&mut self, _path: &str, _reason: &str) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_batch()?;
        self.out.write_all(if self.written == 0 { b"]" } else { b"\n      ]" })?;
        let rules: Vec<Value> = self.descriptors.iter().map(descriptor).collect();
        let tool = json!({"driver": {
            "name": "tokenguard",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": rules,
        }});
        let tool = indent(&serde_json::to_vec_pretty(&tool)?, 6);
        self.out.write_all(b",\n      \"tool\": ")?;
        self.out.write_all(&tool[6..])?;
        write!(self.out, "\n    }}\n  ],\n  \"version\": \"{SARIF_VERSION}\"\n}}\n")
    }
}

/// `text` (pretty-printed JSON) with every line indented by `n` spaces.
fn indent(text: &[u8], n: usize) -> Vec<u8> {
    let pad = vec![b' '; n];
    let mut out = Vec::with_capacity(text.len() + text.len() / 16 * n);
    out.extend_from_slice(&pad);
    for &b in text {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(&pad);
        }
    }
    out
}

/// SARIF's level for a severity: a live credential is an error, the others less.
fn level_of(severity: crate::rules::Severity) -> &'static str {
    match severity {
        crate::rules::Severity::High => "error",
        crate::rules::Severity::Medium => "warning",
        crate::rules::Severity::Low => "note",
    }
}

/// What a rule's help says: how to rotate, and how to allow a false alarm.
fn help_text(r: &RuleInfo) -> String {
    let rotate = if r.remediation.is_empty() {
        "Rotate the token, then remove it from the file.".to_string()
    } else {
        r.remediation.clone()
    };
    format!(
        "{rotate} A false alarm: add `tokenguard:allow` to the line, or allow the token id or \
         fingerprint in .tokenguard.toml."
    )
}

/// A rule as `tool.driver.rules` describes it.
fn descriptor(r: &RuleInfo) -> Value {
    let description = &r.description;
    json!({
        "id": r.id,
        "name": rule_name(&r.id),
        "shortDescription": {"text": description},
        "fullDescription": {"text": format!(
            "{description}. A token in a repository is exposed to everyone who can read it."
        )},
        "help": {"text": help_text(r)},
        "defaultConfiguration": {"level": level_of(r.severity)},
        "properties": {"tags": ["security", "secret"], "precision": "high"},
    })
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let region = match f.offset {
        // Code scanning wants a line: binary content gets line 1 besides its byte offset.
        Some(offset) => json!({"startLine": 1, "byteOffset": offset}),
        None => json!({"startLine": f.line.max(1), "startColumn": f.column.max(1)}),
    };
    let mut text = format!("{} found: {}", f.description, f.masked);
    let mut properties = json!({
        "tokenId": f.token_id,
        "encoding": f.encoding,
        "provider": f.provider,
        "severity": f.severity,
    });
    let mut level = level_of(f.severity);
    if let Some(v) = &f.verification {
        let p = properties.as_object_mut().expect("an object");
        p.insert("verification".into(), json!(v));
        text.push_str(&format!(" (verification: {})", v.status.as_str()));
        // A token confirmed live is the most urgent alert; one that is not, less so.
        if v.status != crate::verify::Status::Active && level == "error" {
            level = "warning";
        }
    }
    if let Some(c) = &f.commit {
        let short = &c.commit[..c.commit.len().min(12)];
        text.push_str(&format!(" (added in commit {short})"));
        let p = properties.as_object_mut().expect("an object");
        p.insert("commit".into(), json!(c.commit));
        p.insert("author".into(), json!(c.author));
        p.insert("date".into(), json!(c.date));
        p.insert("subject".into(), json!(c.subject));
    }
    json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri_of(&f.file), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }}],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": properties,
    })
}

/// `dynatrace-api-token` -> `DynatraceApiToken` (SARIF's `name` is an identifier-like word).
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|c| c.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A relative path as a URI reference: `/` kept, RFC 3986's unreserved characters and the
/// sub-delimiters a path segment may hold (`!$&'()*+,;=:@`) kept, every other byte
/// percent-encoded (spaces, `#`, `?`, `%`, non-ASCII), and a leading `./` dropped. (A path
/// spelling a token stays readable for the masking writer.)
pub fn uri_of(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let sub_delim = b"!$&'()*+,;=:@".contains(&b);
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') || sub_delim {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri_of("./a b/c#d.env"), "a%20b/c%23d.env");
        assert_eq!(uri_of("K=v:1@h/x?y%z"), "K=v:1@h/x%3Fy%25z");
        assert_eq!(uri_of("dir/é.txt"), "dir/%C3%A9.txt");
    }

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(rule_name("dynatrace-api-token"), "DynatraceApiToken");
    }
}
