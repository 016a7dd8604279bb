//! Files and folders: walked in parallel with the `ignore` crate (honouring `.gitignore`
//! unless told not to, skipping `.git`), then listed in path order, so that the scan can
//! report file by file as it goes. Unreadable entries are listed as errors and the walk goes
//! on; special files (FIFOs, sockets, devices) are listed as skipped, never opened.

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::unit::{Content, Origin, Unit};
use crate::Error;

/// Options of a folder scan.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Scan files that `.gitignore` (and `.ignore`) would leave out.
    pub no_ignore: bool,
}

/// One entry of a walk, in the order of the paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file (or a link to one) to scan.
    File(PathBuf),
    /// An input skipped on purpose: its path and the reason.
    Skipped(String, String),
    /// An entry that could not be read (the message names the path only).
    Error(String),
}

/// Where files stand relative to the work tree root: what `[allow] paths` globs see.
#[derive(Debug, Clone, Default)]
pub struct Root {
    /// The work tree root (canonical).
    root: Option<PathBuf>,
    /// The current folder (canonical).
    cwd: Option<PathBuf>,
}

impl Root {
    /// Paths relative to `root` (a work tree root, or the current folder outside a
    /// repository); files given relative to the current folder.
    pub fn new(root: &Path) -> Root {
        Root {
            root: Some(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())),
            cwd: std::env::current_dir().ok().and_then(|d| d.canonicalize().ok()),
        }
    }

    /// The path relative to the work tree root, with `/` separators, of a file given on the
    /// command line (relative to the current folder, or absolute); `None` for standard input
    /// and files outside the root.
    pub fn relative(&self, given: &Path) -> Option<String> {
        if given.as_os_str() == "-" || given.as_os_str().is_empty() {
            return None;
        }
        let Some(root) = &self.root else { return Some(normalize(given)) };
        let absolute = match (&self.cwd, given.is_absolute()) {
            (_, true) => given.to_path_buf(),
            (Some(cwd), false) => cwd.join(given),
            (None, false) => root.join(given),
        };
        resolve(&absolute).and_then(|real| real.strip_prefix(root).ok().map(normalize))
    }

    /// The unit of a file: its path as given, relative to the root, and its content.
    pub fn unit(&self, path: &Path) -> std::io::Result<Unit<'static>> {
        let file = crate::fs::open_regular(path)?;
        let origin = Origin::given(path.to_string_lossy(), self.relative(path));
        Ok(Unit { origin, content: Content::File(file) })
    }
}

/// Lists every file under `paths` (files or folders), in the order of their paths. A path that
/// does not exist is an error before anything is walked.
pub fn walk(paths: &[PathBuf], opts: &WalkOptions) -> Result<Vec<Entry>, Error> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::NoSuchPath(p.clone()));
        }
    }
    let found: Mutex<Vec<(String, Entry)>> = Mutex::new(Vec::new());
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
        let found = &found;
        Box::new(move |entry| {
            let item = match entry {
                Ok(e) => {
                    let key = e.path().to_string_lossy().into_owned();
                    let is_file = e.file_type().is_some_and(|t| t.is_file())
                        || (e.path_is_symlink() && e.path().is_file());
                    if is_file {
                        Some((key, Entry::File(e.path().to_path_buf())))
                    } else {
                        // Never opened: a FIFO without a writer would block the scan.
                        special_kind(&e).map(|kind| {
                            let why = format!("not a regular file ({kind})");
                            (key.clone(), Entry::Skipped(key, why))
                        })
                    }
                }
                Err(err) if is_loop(&err) => {
                    let path = loop_path(&err);
                    Some((path.clone(), Entry::Skipped(path, "symlink loop".into())))
                }
                Err(err) => match broken_link(&err) {
                    Some((path, why)) => Some((path.clone(), Entry::Skipped(path, why))),
                    None => {
                        let message = describe_walk_error(&err);
                        Some((message.clone(), Entry::Error(message)))
                    }
                },
            };
            if let Some(item) = item {
                found.lock().expect("no panics while holding the lock").push(item);
            }
            WalkState::Continue
        })
    });
    let mut found = found.into_inner().expect("walk finished");
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found.into_iter().map(|(_, e)| e).collect())
}

/// `path` with its folder made canonical (symlinks and `..` resolved) and its last component
/// kept as is, so that a symlinked file is judged by where it stands, not where it points.
fn resolve(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::symlink_metadata(path).ok()?;
    Some(parent.canonicalize().ok()?.join(name))
}

/// A relative path as a `/`-separated string without `.` components.
fn normalize(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// A short reason for an I/O error, naming no content.
pub fn short_io(e: &std::io::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_root_are_not_relative_to_it() {
        let root = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("fixtures")).unwrap();
        std::fs::write(root.path().join("fixtures/a"), "").unwrap();
        std::fs::create_dir_all(other.path().join("fixtures")).unwrap();
        std::fs::write(other.path().join("fixtures/a"), "").unwrap();
        let r = Root::new(root.path());
        assert_eq!(r.relative(&root.path().join("fixtures/a")).as_deref(), Some("fixtures/a"));
        assert_eq!(r.relative(&other.path().join("fixtures/a")), None);
        assert_eq!(r.relative(Path::new("-")), None);
    }
}
