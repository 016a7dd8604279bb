//! Files and folders: walked in parallel with the `ignore` crate (honouring `.gitignore`
//! unless told not to, skipping `.git`), each file streamed through the scanner so that a file
//! of any size is read with bounded memory. Unreadable files are reported and the walk goes
//! on; special files (FIFOs, sockets, devices) are skipped, never opened.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::finding::Findings;
use crate::scan::{Origin, Scanner};
use crate::Error;

/// Options of a folder scan.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Scan files that `.gitignore` (and `.ignore`) would leave out.
    pub no_ignore: bool,
}

/// What a folder scan found, and the inputs it could not read (messages name the path only).
#[derive(Debug, Default)]
pub struct FilesResult {
    /// Findings, sorted by file and position.
    pub findings: Findings,
    /// One message per input that could not be read.
    pub errors: Vec<String>,
    /// How many files were scanned.
    pub files: usize,
}

/// Scans every path (a file or a folder) with `scanner`.
pub fn scan_paths(
    scanner: &Scanner,
    paths: &[PathBuf],
    opts: &WalkOptions,
) -> Result<FilesResult, Error> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::NoSuchPath(p.clone()));
        }
    }
    // Each entry's results, moved whole under the lock; ordered by path at the end (findings
    // within a file are already in order), so findings are never sorted one by one.
    let parts: Mutex<Vec<(String, FilesResult)>> = Mutex::new(Vec::new());
    let files = AtomicUsize::new(0);
    let mut builder = WalkBuilder::new(&paths[0]);
    for p in &paths[1..] {
        builder.add(p);
    }
    builder
        .hidden(false)
        .follow_links(true)
        .git_ignore(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .ignore(!opts.no_ignore)
        .parents(!opts.no_ignore)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    builder.build_parallel().run(|| {
        let (parts, files) = (&parts, &files);
        Box::new(move |entry| {
            let mut local = FilesResult::default();
            let key = match &entry {
                Ok(e) => e.path().to_string_lossy().into_owned(),
                Err(_) => String::new(),
            };
            match entry {
                Ok(e) => {
                    let is_file = e.file_type().is_some_and(|t| t.is_file())
                        || (e.path_is_symlink() && e.path().is_file());
                    if is_file {
                        scan_file(scanner, e.path(), &mut local);
                    } else if let Some(kind) = special_kind(&e) {
                        // Never opened: a FIFO without a writer would block the scan.
                        let why = format!("not a regular file ({kind})");
                        local.findings.skipped.push((key.clone(), why));
                    }
                }
                Err(err) if is_loop(&err) => {
                    local.findings.skipped.push((loop_path(&err), "symlink loop".to_string()));
                }
                Err(err) if broken_link(&err).is_some() => {
                    local.findings.skipped.extend(broken_link(&err));
                }
                Err(err) => local.errors.push(describe_walk_error(&err)),
            }
            // Paths in messages are masked like tokens: a file may be named after one.
            let mask = |text: &mut String| *text = crate::mask::mask_text(&scanner.matcher, text);
            local.errors.iter_mut().for_each(mask);
            local.findings.skipped.iter_mut().for_each(|(path, _)| mask(path));
            files.fetch_add(local.files, Ordering::Relaxed);
            let something = !local.errors.is_empty()
                || !local.findings.findings.is_empty()
                || !local.findings.allowed.is_empty()
                || !local.findings.skipped.is_empty();
            if something {
                parts.lock().expect("no panics while holding the lock").push((key, local));
            }
            WalkState::Continue
        })
    });
    let mut parts = parts.into_inner().expect("walk finished");
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut r = FilesResult { files: files.into_inner(), ..FilesResult::default() };
    for (_, part) in parts {
        r.errors.extend(part.errors);
        if r.findings.findings.is_empty() && r.findings.allowed.is_empty() {
            let skipped = std::mem::take(&mut r.findings.skipped);
            r.findings = part.findings;
            r.findings.skipped.splice(0..0, skipped);
        } else {
            r.findings.extend(part.findings);
        }
    }
    r.errors.sort();
    Ok(r)
}

fn scan_file(scanner: &Scanner, path: &Path, out: &mut FilesResult) {
    let origin = Origin::given(path.to_string_lossy(), scanner.allowlist.root_relative(path));
    match File::open(path) {
        Ok(f) => match scanner.scan_file(f, &origin, &mut out.findings) {
            Ok(()) => out.files += 1,
            Err(e) => out.errors.push(format!("cannot read {}: {}", origin.file, short_io(&e))),
        },
        Err(e) => out.errors.push(format!("cannot read {}: {}", origin.file, short_io(&e))),
    }
}

fn short_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::NotFound => "not found".to_string(),
        _ => e.to_string(),
    }
}

/// What kind of special file an entry is (FIFO, socket, device), if it is one.
fn special_kind(e: &ignore::DirEntry) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = e.file_type()?;
    let t = if t.is_symlink() { std::fs::metadata(e.path()).ok()?.file_type() } else { t };
    if t.is_fifo() {
        Some("fifo")
    } else if t.is_socket() {
        Some("socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("device")
    } else {
        None
    }
}

fn is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => is_loop(err),
        _ => false,
    }
}

fn loop_path(err: &ignore::Error) -> String {
    match err {
        ignore::Error::Loop { child, .. } => child.to_string_lossy().into_owned(),
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => {
            loop_path(err)
        }
        _ => String::new(),
    }
}

/// A symbolic link that leads nowhere (its target is missing, or it is a loop of links that
/// the kernel refuses to resolve): nothing to scan, so skipped with its reason, not an error.
fn broken_link(err: &ignore::Error) -> Option<(String, String)> {
    let (path, io) = path_and_io(err, None)?;
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
        return None;
    }
    // ELOOP: Linux numbers it 40, the BSDs and macOS 62.
    const ELOOP: i32 = if cfg!(target_os = "linux") { 40 } else { 62 };
    let why = match io.kind() {
        std::io::ErrorKind::NotFound => "broken symlink (its target does not exist)",
        _ if io.raw_os_error() == Some(ELOOP) => "symlink loop",
        _ => return None,
    };
    Some((path.to_string_lossy().into_owned(), why.to_string()))
}

/// The path a walk error is about and the I/O error under it, however they are nested.
fn path_and_io<'a>(
    err: &'a ignore::Error,
    path: Option<&'a Path>,
) -> Option<(&'a Path, &'a std::io::Error)> {
    match err {
        ignore::Error::WithPath { path, err } => path_and_io(err, Some(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            path_and_io(err, path)
        }
        ignore::Error::Io(io) => Some((path?, io)),
        _ => None,
    }
}

fn describe_walk_error(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, err } => {
            let cause = match &**err {
                ignore::Error::Io(io) => short_io(io),
                other => other.to_string(),
            };
            format!("cannot read {}: {}", path.to_string_lossy(), cause)
        }
        ignore::Error::WithDepth { err, .. } => describe_walk_error(err),
        other => other.to_string(),
    }
}
