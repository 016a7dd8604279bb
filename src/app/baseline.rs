//! `tokenguard baseline`: scans the tracked files and records their findings, so that later
//! scans block only new tokens.

use std::path::PathBuf;

use super::{write_out, Io, Loaded};
use crate::config::ConfigOptions;
use crate::finding::Findings;
use crate::source::tracked;
use crate::{Error, ExitStatus, Result};

/// `tokenguard baseline`'s options.
#[derive(Debug, Clone, Default)]
pub struct BaselineOptions {
    /// Where to write the baseline (default: `.tokenguard-baseline.json` at the work tree root).
    pub output: Option<PathBuf>,
    /// Repository (default: the one of the current folder).
    pub repo: Option<PathBuf>,
    /// Configuration file.
    pub config: Option<PathBuf>,
}

/// Scans the tracked files and writes the baseline.
pub fn run(args: &BaselineOptions, io: &mut Io) -> Result<ExitStatus> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = git2::Repository::discover(&dir).map_err(|_| Error::NotARepository(dir.clone()))?;
    let root = repo
        .workdir()
        .ok_or_else(|| Error::Invalid("a bare repository has no files to baseline".into()))?
        .to_path_buf();
    let config = ConfigOptions { config: args.config.clone(), baseline: None, no_baseline: true };
    let pipeline = Loaded::read(&config, Some(&root), &io.masker)?.pipeline();
    let mut findings = Findings::default();
    let (mut files, mut errors) = (0usize, 0usize);
    for t in tracked::files(&repo, &root)? {
        let scanned = t.unit().and_then(|unit| match unit {
            Some(unit) => pipeline.scan(unit, &mut |f| findings.push(f)).map(|()| true),
            None => Ok(false),
        });
        match scanned {
            Ok(true) => files += 1,
            Ok(false) => {}
            Err(e) => {
                errors += 1;
                io.note(&format!("tokenguard: cannot read {}: {}", t.rel, e.kind()));
            }
        }
    }
    let b = crate::baseline::Baseline::from_findings(&findings);
    let out = args.output.clone().unwrap_or_else(|| root.join(crate::baseline::FILE_NAME));
    b.write(&out, &io.masker)?;
    let line = format!(
        "tokenguard: wrote {} with {} finding(s) from {files} tracked file(s) ({} allowed by the \
         configuration)",
        out.display(),
        b.entries.len(),
        findings.allowed.len()
    );
    write_out(&mut io.out, &format!("{}\n", crate::sanitize::for_terminal(&line)))?;
    if errors == 0 {
        Ok(ExitStatus::Clean)
    } else {
        Err(Error::Incomplete(errors))
    }
}
