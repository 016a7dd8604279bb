//! The baseline: the findings already in a repository's files, recorded by fingerprint so that
//! later scans allow them and block only new tokens. A baseline holds fingerprints, rule ids,
//! paths and line numbers, never a secret nor a masked token. See docs/baseline.md.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::Findings;
use crate::output::{Masker, MaskingWriter};
use crate::{Error, Result};

/// The default baseline file, at the work tree root.
pub const FILE_NAME: &str = ".tokenguard-baseline.json";
/// Version of the baseline format.
pub const VERSION: u32 = 1;

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// One entry per finding, sorted by path, line and fingerprint.
    pub entries: Vec<Entry>,
}

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file, relative to the work tree root.
    pub path: String,
    /// 1-based line (0 for binary content).
    pub line: u64,
    /// Rule id.
    pub rule: String,
    /// `sha256:` and the hex digest of the whole token (what later scans compare).
    pub fingerprint: String,
}

impl Baseline {
    /// A baseline of the findings that block (allowed ones need no baseline entry).
    pub fn from_findings(findings: &Findings) -> Baseline {
        let entries: BTreeSet<Entry> = findings
            .findings
            .iter()
            .map(|f| Entry {
                path: f.file.to_string(),
                line: f.line,
                rule: f.rule.to_string(),
                fingerprint: f.fingerprint.clone(),
            })
            .collect();
        Baseline { version: VERSION, entries: entries.into_iter().collect() }
    }

    /// Reads a baseline file; anything unexpected in it is an error (exit 2).
    pub fn load(path: &Path) -> Result<Baseline> {
        let bytes = crate::fs::read_regular(path)
            .map_err(|source| Error::Read { path: path.into(), source })?;
        let invalid = |message: String| Error::Config { path: path.into(), message };
        let b: Baseline = serde_json::from_slice(&bytes).map_err(|e| {
            invalid(format!(
                "line {}, column {}: not a tokenguard baseline ({:?} error)",
                e.line(),
                e.column(),
                e.classify()
            ))
        })?;
        if b.version != VERSION {
            return Err(invalid(format!(
                "baseline version {} is not supported (expected {VERSION})",
                b.version
            )));
        }
        Ok(b)
    }

    /// The fingerprints to allow.
    pub fn fingerprints(&self) -> HashSet<String> {
        self.entries.iter().map(|e| e.fingerprint.to_ascii_lowercase()).collect()
    }

    /// Writes the baseline to `path` (through a temporary file renamed over it, so that a
    /// failure never leaves half a file), through the masking writer (a path may spell a
    /// token).
    pub fn write(&self, path: &Path, masker: &std::sync::Arc<Masker>) -> Result<()> {
        let write_to = |f: File| -> std::io::Result<File> {
            let mut w = MaskingWriter::new(f, std::sync::Arc::clone(masker));
            serde_json::to_writer_pretty(&mut w, self)?;
            writeln!(w)?;
            w.into_inner()
        };
        // Something that is not a regular file (a device, a FIFO, a link to one) is written to,
        // never replaced: renaming over /dev/null would turn it into a file.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            let written = File::options().write(true).open(path).and_then(write_to).map(drop);
            return written.map_err(|source| Error::Write { path: Some(path.into()), source });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let written = (|| {
            write_to(File::create(&tmp)?)?.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        written.map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            Error::Write { path: Some(path.into()), source }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    fn finding(file: &str, line: u64, print: &str, allowed: bool) -> Finding {
        Finding {
            rule: "r".into(),
            description: "d".into(),
            provider: "dynatrace".into(),
            severity: crate::rules::Severity::High,
            file: file.into(),
            line,
            column: 1,
            offset: None,
            masked: "dt0c01.X.****".into(),
            token_id: Some("dt0c01.X".into()),
            fingerprint: print.into(),
            encoding: crate::finding::Encoding::Plain,
            commit: None,
            allowed_by: allowed.then(|| "x".into()),
            verification: None,
        }
    }

    #[test]
    fn records_blocking_findings_sorted_and_round_trips() {
        let mut f = Findings::default();
        f.push(finding("b", 2, "sha256:2", false));
        f.push(finding("a", 9, "sha256:1", false));
        f.push(finding("a", 9, "sha256:1", false));
        f.push(finding("c", 1, "sha256:3", true));
        let b = Baseline::from_findings(&f);
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].path, "a");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        b.write(&p, &Masker::new()).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("masked") && !text.contains("dt0c01"), "{text}");
        assert_eq!(Baseline::load(&p).unwrap(), b);
        std::fs::write(&p, "{\"version\": 1, \"entries\": [], \"x\": 1}").unwrap();
        assert!(Baseline::load(&p).unwrap_err().to_string().contains("line 1"));
    }
}
