//! The SARIF 2.1.0 report (for GitHub code scanning and other SARIF viewers): one run, the
//! rules as `tool.driver.rules`, one result per finding that blocks. A result holds the masked
//! token only; its `partialFingerprints` carry the token fingerprint, so that the same token
//! is the same alert from one upload to the next. Documented in docs/output.md.

use std::io::Write;

use serde_json::{json, Value};

use crate::finding::{Finding, Findings};
use crate::rules::Rule;

/// Version of the SARIF format written.
pub const SARIF_VERSION: &str = "2.1.0";
/// Where the SARIF 2.1.0 schema is published.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Key of the token fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "tokenFingerprint/v1";

/// Writes the SARIF log of `f`. `rules` are described in `tool.driver.rules`; a finding of a
/// rule not among them (a custom rule) adds its own entry.
pub fn write(out: &mut dyn Write, f: &Findings, rules: &[Rule]) -> std::io::Result<()> {
    let mut descriptors: Vec<(String, String)> =
        rules.iter().map(|r| (r.id.clone(), r.description.clone())).collect();
    for finding in &f.findings {
        if !descriptors.iter().any(|(id, _)| **id == *finding.rule) {
            descriptors.push((finding.rule.to_string(), finding.description.to_string()));
        }
    }
    let sarif_rules: Vec<Value> = descriptors
        .iter()
        .map(|(id, description)| {
            json!({
                "id": id,
                "name": rule_name(id),
                "shortDescription": {"text": description},
                "fullDescription": {"text": format!(
                    "{description}. A token in a repository is exposed to everyone who can read it."
                )},
                "help": {
                    "text": "Rotate the token (revoke it in Dynatrace: Access tokens), then remove \
                             it from the file. A false alarm: add `tokenguard:allow` to the line, \
                             or allow the token id or fingerprint in .tokenguard.toml.",
                },
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["security", "secret"], "precision": "high"},
            })
        })
        .collect();
    let results: Vec<Value> = f
        .findings
        .iter()
        .map(|finding| {
            let index = descriptors.iter().position(|(id, _)| **id == *finding.rule).unwrap_or(0);
            result(finding, index)
        })
        .collect();
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "tokenguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": sarif_rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
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
    });
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
        "level": "error",
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

/// A relative path as a URI reference: `/` kept, every byte outside RFC 3986's unreserved
/// set percent-encoded (spaces, `#`, `?`, `%`, non-ASCII, and a leading `./` dropped).
pub fn uri_of(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
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
        assert_eq!(uri_of("dir/é.txt"), "dir/%C3%A9.txt");
    }

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(rule_name("dynatrace-api-token"), "DynatraceApiToken");
    }
}
