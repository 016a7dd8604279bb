//! `tokenguard mask`: copies its input to its output with every secret part masked, a
//! filter for logs. Masks every token kind the masker knows: the built-in rules, whatever a
//! configuration disables, and the configuration's own rules.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use super::{Io, Loaded};
use crate::config::ConfigOptions;
use crate::matcher::Matcher;
use crate::stream::Windows;
use crate::{Error, ExitStatus, Result};

/// `tokenguard mask`'s options.
#[derive(Debug, Clone, Default)]
pub struct MaskOptions {
    /// File to read (default: standard input).
    pub file: Option<PathBuf>,
}

/// `tokenguard mask`: every token kind the masker knows (the built-in rules, whatever a
/// configuration disables, and the configuration's own rules) is masked.
pub fn run(args: &MaskOptions, io: &mut Io) -> Result<ExitStatus> {
    // The configuration adds its rules to the masker (and fails closed when invalid).
    Loaded::read(&ConfigOptions::default(), None, &io.masker)?;
    let matcher = io.masker.matcher();
    // What goes out is masked here, with the masker's own rules: passed on as it is.
    let out = io.out.passthrough().map_err(|e| Error::Write { path: None, source: e })?;
    let result = match &args.file {
        Some(path) => {
            let f = crate::fs::open_regular(path)
                .map_err(|source| Error::Read { path: path.clone(), source })?;
            mask_stream(&matcher, f, out)
        }
        // A pipe (`tail -f app.log | tokenguard mask`) is answered line by line.
        None if stdin_is_file() => mask_stream(&matcher, io::stdin().lock(), out),
        None => mask_windows(&matcher, Windows::interactive(io::stdin().lock()), out),
    };
    match result {
        Ok(()) => Ok(ExitStatus::Clean),
        Err(MaskError::Read(source)) => Err(Error::Read {
            path: args.file.clone().unwrap_or_else(|| "standard input".into()),
            source,
        }),
        Err(MaskError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitStatus::Clean),
        Err(MaskError::Write(e)) => Err(Error::Write { path: None, source: e }),
    }
}

/// Why masking a stream stopped.
#[derive(Debug)]
pub enum MaskError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Whether standard input is a regular file (`tokenguard mask < app.log`).
fn stdin_is_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() else { return false };
        File::from(fd).metadata().is_ok_and(|m| m.is_file())
    }
    #[cfg(not(unix))]
    false
}

/// Copies `input` (read to its end: a file, memory) to `out` with every secret part masked,
/// window by window.
pub fn mask_stream(
    matcher: &Matcher,
    input: impl Read,
    out: &mut dyn Write,
) -> Result<(), MaskError> {
    mask_windows(matcher, Windows::new(input), out)
}

/// Copies the windows of an input to `out` with every secret part masked, flushing after
/// each so that a follower of a log sees each line at once.
pub fn mask_windows<R: Read>(
    matcher: &Matcher,
    mut windows: Windows<R>,
    out: &mut dyn Write,
) -> Result<(), MaskError> {
    // Secret ranges (absolute) found earlier that reach past what was written so far.
    let mut pending: Vec<std::ops::Range<u64>> = Vec::new();
    let mut buf = Vec::new();
    while let Some(w) = windows.next().map_err(MaskError::Read)? {
        let base = w.base;
        let mut secrets: Vec<std::ops::Range<u64>> = matcher
            .find(w.bytes)
            .into_iter()
            .map(|m| base + m.secret.start as u64..base + m.secret.end as u64)
            .collect();
        secrets.append(&mut pending);
        let (lo, hi) = (base + w.report.start as u64, base + w.report.end as u64);
        let local: Vec<std::ops::Range<usize>> = secrets
            .iter()
            .filter(|r| r.start < hi && r.end > lo)
            .map(|r| (r.start.max(lo) - lo) as usize..(r.end.min(hi) - lo) as usize)
            .collect();
        pending = secrets.into_iter().filter(|r| r.end > hi).collect();
        buf.clear();
        crate::mask::mask_into(&w.bytes[w.report.clone()], &local, &mut buf);
        out.write_all(&buf).and_then(|()| out.flush()).map_err(MaskError::Write)?;
    }
    Ok(())
}
