//! `tokenguard install` / `uninstall`: writes the git hook where git runs it, chaining a hook
//! that was there before, and removes it again.
//!
//! The hooks folder is asked of git (`git rev-parse --git-path hooks`), so `core.hooksPath`
//! (relative to the work tree root), linked worktrees (the common folder) and bare
//! repositories are found as git finds them. The hook is a POSIX sh script made from a template
//! in `hooks/`, embedded at build time, marked by a `# tokenguard-hook:` line.
//!
//! Behaviour with a hook that is not tokenguard's: it is renamed `<hook>.local` and the
//! tokenguard hook runs it first (same arguments and standard input; its failure stops the
//! commit or push). When `<hook>.local` is taken as well, install refuses; `--force` then moves
//! the old `<hook>.local` to `<hook>.local.bak` (kept, not run) and chains the hook.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Which hook to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Before each commit: `tokenguard scan --staged`.
    PreCommit,
    /// Before `git merge` commits a merge without conflicts: `tokenguard scan --staged`.
    PreMergeCommit,
    /// Before each push: `tokenguard scan --pre-push`.
    PrePush,
    /// On a server, before refs are updated: `tokenguard scan --pre-receive`.
    PreReceive,
}

/// The line that marks a hook as tokenguard's.
pub const MARKER: &str = "# tokenguard-hook:";

const PLACEHOLDER: &str = "@TOKENGUARD_BIN@";

/// The file name git runs for `kind`.
pub fn hook_name(kind: HookKind) -> &'static str {
    match kind {
        HookKind::PreCommit => "pre-commit",
        HookKind::PreMergeCommit => "pre-merge-commit",
        HookKind::PrePush => "pre-push",
        HookKind::PreReceive => "pre-receive",
    }
}

/// The template for `kind`, as shipped in `hooks/`.
pub fn template(kind: HookKind) -> &'static str {
    match kind {
        HookKind::PreCommit => include_str!("../hooks/pre-commit"),
        HookKind::PreMergeCommit => include_str!("../hooks/pre-merge-commit"),
        HookKind::PrePush => include_str!("../hooks/pre-push"),
        HookKind::PreReceive => include_str!("../hooks/pre-receive"),
    }
}

/// The hook script for `kind`, recording `binary` (an absolute path) as the first place to
/// look for tokenguard.
pub fn render(kind: HookKind, binary: &Path) -> String {
    template(kind).replace(PLACEHOLDER, &sh_quote(&binary.to_string_lossy()))
}

/// Quotes `s` for POSIX sh (single quotes; an embedded `'` becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether `content` is a hook that tokenguard wrote.
pub fn is_ours(content: &[u8]) -> bool {
    content.split(|&b| b == b'\n').take(5).any(|line| line.starts_with(MARKER.as_bytes()))
}

/// The folder where git looks for hooks in the repository that holds `dir`.
///
/// Asks git itself, so that `core.hooksPath` (from any configuration level), linked worktrees
/// and bare repositories resolve exactly as they will when git runs the hook.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf> {
    let out = Command::new("git")
        .arg("rev-parse")
        .arg("--git-path")
        .arg("hooks")
        .current_dir(dir)
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound if !dir.exists() => Error::NoSuchPath(dir.to_path_buf()),
            io::ErrorKind::NotFound => {
                Error::Invalid("git was not found on PATH: install git first".into())
            }
            _ => Error::Read { path: dir.to_path_buf(), source: e },
        })?;
    if !out.status.success() {
        return Err(Error::NotARepository(dir.to_path_buf()));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| Error::Invalid("git printed a hooks path that is not UTF-8".into()))?;
    let rel = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    let path = if rel.is_absolute() { rel } else { dir.join(rel) };
    // Shown to the user: make it absolute and free of `.` and `..` where the folder exists.
    Ok(fs::canonicalize(&path).unwrap_or_else(|_| std::path::absolute(&path).unwrap_or(path)))
}

/// One thing install or uninstall did (or found already done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Wrote the hook.
    Wrote(PathBuf),
    /// The hook was already there, byte for byte.
    Unchanged(PathBuf),
    /// Replaced an older tokenguard hook.
    Updated(PathBuf),
    /// Renamed a hook that was not tokenguard's so that the new hook chains it.
    Chained { from: PathBuf, to: PathBuf },
    /// Moved an old `<hook>.local` out of the way (`--force`).
    BackedUp { from: PathBuf, to: PathBuf },
    /// Removed tokenguard's hook.
    Removed(PathBuf),
    /// Put a chained hook back in its place.
    Restored { from: PathBuf, to: PathBuf },
    /// No tokenguard hook there: nothing to remove.
    NotInstalled(PathBuf),
    /// A hook that is not tokenguard's: left alone.
    LeftAlone(PathBuf),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Wrote(p) => write!(f, "installed the tokenguard hook: {}", p.display()),
            Action::Unchanged(p) => {
                write!(f, "the tokenguard hook is already installed: {}", p.display())
            }
            Action::Updated(p) => write!(f, "updated the tokenguard hook: {}", p.display()),
            Action::Chained { from, to } => write!(
                f,
                "{} was not tokenguard's: kept as {} (it runs first, then tokenguard)",
                from.display(),
                to.display()
            ),
            Action::BackedUp { from, to } => {
                write!(f, "moved {} to {} (kept, no longer run)", from.display(), to.display())
            }
            Action::Removed(p) => write!(f, "removed the tokenguard hook: {}", p.display()),
            Action::Restored { from, to } => {
                write!(f, "restored the chained hook {} as {}", from.display(), to.display())
            }
            Action::NotInstalled(p) => {
                write!(f, "no tokenguard hook at {}: nothing to remove", p.display())
            }
            Action::LeftAlone(p) => {
                write!(f, "{} is not tokenguard's hook: left alone, nothing removed", p.display())
            }
        }
    }
}

fn local_path(hook: &Path) -> PathBuf {
    let mut name = hook.as_os_str().to_owned();
    name.push(".local");
    PathBuf::from(name)
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path: path.to_path_buf(), source }),
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|source| Error::Read { path: from.to_path_buf(), source })
}

/// Writes `content` to `path` through a temporary file in the same folder, executable.
fn write_executable(path: &Path, content: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |source| Error::Read { path: path.to_path_buf(), source };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tokenguard-tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    fs::create_dir_all(dir).map_err(fail)?;
    fs::write(&tmp, content).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(fail)?;
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e)
    })
}

/// Installs the `kind` hook in the repository holding `dir`, recording `binary`.
pub fn install(dir: &Path, kind: HookKind, binary: &Path, force: bool) -> Result<Vec<Action>> {
    let hook = hooks_dir(dir)?.join(hook_name(kind));
    let content = render(kind, binary);
    let mut actions = Vec::new();
    match read_if_exists(&hook)? {
        Some(old) if old == content.as_bytes() => {
            actions.push(Action::Unchanged(hook.clone()));
            #[cfg(unix)]
            ensure_executable(&hook)?;
            return Ok(actions);
        }
        Some(old) if is_ours(&old) => {
            write_executable(&hook, &content)?;
            actions.push(Action::Updated(hook));
            return Ok(actions);
        }
        _ if exists(&hook) => {
            // Not ours (a file, or a symbolic link, even a dangling one): chain it.
            let local = local_path(&hook);
            if exists(&local) {
                if !force {
                    return Err(Error::Invalid(format!(
                        "{} is not tokenguard's hook and {} is taken too, so it cannot be \
                         chained: merge the two into one and run install again, or run \
                         install --force to keep {} as {}.bak (no longer run) and chain {}",
                        hook.display(),
                        local.display(),
                        local.display(),
                        local.display(),
                        hook.display()
                    )));
                }
                let mut bak = local.as_os_str().to_owned();
                bak.push(".bak");
                let bak = PathBuf::from(bak);
                if exists(&bak) {
                    return Err(Error::Invalid(format!(
                        "{} exists already: move it away and run install again",
                        bak.display()
                    )));
                }
                rename(&local, &bak)?;
                actions.push(Action::BackedUp { from: local.clone(), to: bak });
            }
            rename(&hook, &local)?;
            actions.push(Action::Chained { from: hook.clone(), to: local });
        }
        _ => {}
    }
    write_executable(&hook, &content)?;
    actions.push(Action::Wrote(hook));
    Ok(actions)
}

#[cfg(unix)]
fn ensure_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |source| Error::Read { path: path.to_path_buf(), source };
    let mode = fs::metadata(path).map_err(fail)?.permissions().mode();
    if mode & 0o111 != 0o111 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o755)).map_err(fail)?;
    }
    Ok(())
}

/// Removes tokenguard's `kind` hook from the repository holding `dir` and puts a chained hook
/// back. A hook that is not tokenguard's is left alone.
pub fn uninstall(dir: &Path, kind: HookKind) -> Result<Vec<Action>> {
    let hook = hooks_dir(dir)?.join(hook_name(kind));
    let mut actions = Vec::new();
    match read_if_exists(&hook)? {
        Some(old) if is_ours(&old) => {
            fs::remove_file(&hook).map_err(|source| Error::Read { path: hook.clone(), source })?;
            actions.push(Action::Removed(hook.clone()));
            let local = local_path(&hook);
            if exists(&local) {
                rename(&local, &hook)?;
                actions.push(Action::Restored { from: local, to: hook });
            }
        }
        _ if exists(&hook) => actions.push(Action::LeftAlone(hook)),
        _ => actions.push(Action::NotInstalled(hook)),
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_marked_and_has_the_placeholder() {
        let kinds = [
            HookKind::PreCommit,
            HookKind::PreMergeCommit,
            HookKind::PrePush,
            HookKind::PreReceive,
        ];
        for kind in kinds {
            let t = template(kind);
            assert!(t.starts_with("#!/bin/sh\n"), "{kind:?}");
            assert!(is_ours(t.as_bytes()), "{kind:?}");
            assert_eq!(t.matches(PLACEHOLDER).count(), 1, "{kind:?}");
            assert!(!render(kind, Path::new("/x/tokenguard")).contains(PLACEHOLDER));
        }
    }

    #[test]
    fn quoting_survives_quotes_and_dollars() {
        assert_eq!(sh_quote("/a b/it's $x"), r"'/a b/it'\''s $x'");
    }

    #[test]
    fn a_foreign_hook_is_not_ours() {
        assert!(!is_ours(b"#!/bin/sh\nexec husky\n"));
        assert!(!is_ours(b"#!/bin/sh\n# calls tokenguard-hook: later\n"));
    }
}
