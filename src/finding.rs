//! Findings: what the reports print. A finding holds no secret, only the masked token.

use std::sync::Arc;

use serde::Serialize;

pub use crate::matcher::Encoding;
pub use crate::unit::CommitInfo;

/// One token found, ready to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: Arc<str>,
    /// What the rule finds.
    pub description: Arc<str>,
    /// Whose token it is (`dynatrace`, `github`, ...; `custom` for a configuration's rule).
    pub provider: Arc<str>,
    /// How bad a leak of it is.
    pub severity: crate::rules::Severity,
    /// The file, as given on the command line or relative to the work tree root.
    pub file: Arc<str>,
    /// 1-based line (for binary content: 0, and `offset` is set).
    pub line: u64,
    /// 1-based byte column.
    pub column: u64,
    /// Byte offset in the file, for binary content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The token with its secret part masked.
    pub masked: String,
    /// Prefix and public part, where the kind has one.
    pub token_id: Option<String>,
    /// `sha256:` + hex digest of the whole token.
    pub fingerprint: String,
    /// `plain` or `base64`.
    pub encoding: Encoding,
    /// The commit that added the token (history and push scans).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Arc<CommitInfo>>,
    /// Why the finding is allowed, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
    /// What a live check found (`scan --verify`, docs/verify.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::Verification>,
}

/// The findings of a scan, collected: those that count and those that were allowed (a
/// [`crate::sink::Sink`] that holds everything).
#[derive(Debug, Default, Clone)]
pub struct Findings {
    /// Findings that block (exit 1).
    pub findings: Vec<Finding>,
    /// Findings that the allowlist, the inline marker or the baseline let through.
    pub allowed: Vec<Finding>,
    /// Inputs that were skipped on purpose, with the reason (reported, never silent).
    pub skipped: Vec<(String, String)>,
}

impl Findings {
    /// Adds a finding to the right list.
    pub fn push(&mut self, f: Finding) {
        if f.allowed_by.is_some() {
            self.allowed.push(f);
        } else {
            self.findings.push(f);
        }
    }

    /// Moves everything from `other` into `self`.
    pub fn extend(&mut self, other: Findings) {
        self.findings.extend(other.findings);
        self.allowed.extend(other.allowed);
        self.skipped.extend(other.skipped);
    }
}
