//! `tokenguard install` / `uninstall`: writes git hooks where git runs them, chaining a hook
//! that was there before, and removes them again.
//!
//! Without `--hook`, install sets up every client-side hook that can stop a token
//! ([`CLIENT_HOOKS`]: pre-commit, prepare-commit-msg, commit-msg, pre-merge-commit,
//! applypatch-msg, pre-applypatch, pre-push; docs/staged.md says which git command each one
//! catches) and uninstall removes every tokenguard hook. pre-receive (a server's) is opt-in.
//!
//! The hooks folder is asked of git (`git rev-parse --git-path hooks`) in every worktree of the
//! repository, so `core.hooksPath` (a relative one is resolved per worktree, as git does),
//! linked worktrees (the common folder) and bare repositories are found as git finds them.
//! Where `core.hooksPath` is relative, a post-checkout hook carries the hooks into each
//! worktree that `git worktree add` makes later.
//! Each hook is a POSIX sh script made from a template in `hooks/` and the shared
//! `hooks/prelude.sh`, embedded at build time, marked by a `# tokenguard-hook:` line.
//!
//! Behaviour with a hook that is not tokenguard's: it is renamed `<hook>.local` and the
//! tokenguard hook runs it first (same arguments and standard input; its failure stops the
//! commit or push). When `<hook>.local` is taken as well, install refuses before writing
//! anything; `--force` then moves the old `<hook>.local` to `<hook>.local.bak` (kept, not run)
//! and chains the hook.

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
    /// For each commit a rebase, cherry-pick or revert makes (they run no pre-commit):
    /// `scan --staged` and `scan --commit-msg`.
    PrepareCommitMsg,
    /// The message of each commit: `tokenguard scan --commit-msg`.
    CommitMsg,
    /// Before `git merge` commits a merge without conflicts: `tokenguard scan --staged`.
    PreMergeCommit,
    /// The message of each patch `git am` applies: `tokenguard scan --commit-msg`.
    ApplypatchMsg,
    /// Each patch `git am` applies, before it is committed: `tokenguard scan --staged`.
    PreApplypatch,
    /// Before each push: `tokenguard scan --pre-push`.
    PrePush,
    /// On a server, before refs are updated: `tokenguard scan --pre-receive`.
    PreReceive,
    /// Where `core.hooksPath` is relative: installs the hooks into each new worktree that
    /// `git worktree add` checks out (its hooks folder is its own). Added by install, not asked.
    PostCheckout,
}

/// The line that marks a hook as tokenguard's.
pub const MARKER: &str = "# tokenguard-hook:";

const PLACEHOLDER: &str = "@TOKENGUARD_BIN@";
const PRELUDE_PLACEHOLDER: &str = "@TOKENGUARD_PRELUDE@";
const PRELUDE: &str = include_str!("../hooks/prelude.sh");

/// What `tokenguard install` sets up without `--hook`: every client-side hook that can stop a
/// token on its way into a commit, or out in a push. pre-commit comes first.
pub const CLIENT_HOOKS: &[HookKind] = &[
    HookKind::PreCommit,
    HookKind::PrepareCommitMsg,
    HookKind::CommitMsg,
    HookKind::PreMergeCommit,
    HookKind::ApplypatchMsg,
    HookKind::PreApplypatch,
    HookKind::PrePush,
];

/// Every hook tokenguard writes: what `tokenguard uninstall` removes without `--hook`.
pub const ALL_HOOKS: &[HookKind] = &[
    HookKind::PreCommit,
    HookKind::PrepareCommitMsg,
    HookKind::CommitMsg,
    HookKind::PreMergeCommit,
    HookKind::ApplypatchMsg,
    HookKind::PreApplypatch,
    HookKind::PrePush,
    HookKind::PreReceive,
    HookKind::PostCheckout,
];

/// The file name git runs for `kind`.
pub fn hook_name(kind: HookKind) -> &'static str {
    match kind {
        HookKind::PreCommit => "pre-commit",
        HookKind::PrepareCommitMsg => "prepare-commit-msg",
        HookKind::CommitMsg => "commit-msg",
        HookKind::PreMergeCommit => "pre-merge-commit",
        HookKind::ApplypatchMsg => "applypatch-msg",
        HookKind::PreApplypatch => "pre-applypatch",
        HookKind::PrePush => "pre-push",
        HookKind::PreReceive => "pre-receive",
        HookKind::PostCheckout => "post-checkout",
    }
}

/// The template for `kind`, as shipped in `hooks/` (the shared part not yet inserted).
pub fn template(kind: HookKind) -> &'static str {
    match kind {
        HookKind::PreCommit => include_str!("../hooks/pre-commit"),
        HookKind::PrepareCommitMsg => include_str!("../hooks/prepare-commit-msg"),
        HookKind::CommitMsg => include_str!("../hooks/commit-msg"),
        HookKind::PreMergeCommit => include_str!("../hooks/pre-merge-commit"),
        HookKind::ApplypatchMsg => include_str!("../hooks/applypatch-msg"),
        HookKind::PreApplypatch => include_str!("../hooks/pre-applypatch"),
        HookKind::PrePush => include_str!("../hooks/pre-push"),
        HookKind::PreReceive => include_str!("../hooks/pre-receive"),
        HookKind::PostCheckout => include_str!("../hooks/post-checkout"),
    }
}

/// The hook script for `kind`: its template with the shared part, recording `binary` (an
/// absolute path) as the first place to look for tokenguard.
pub fn render(kind: HookKind, binary: &Path) -> String {
    template(kind)
        .replace(&format!("{PRELUDE_PLACEHOLDER}\n"), PRELUDE)
        .replace(PLACEHOLDER, &sh_quote(&binary.to_string_lossy()))
}

/// Quotes `s` for POSIX sh (single quotes; an embedded `'` becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether `content` is a hook that tokenguard wrote.
pub fn is_ours(content: &[u8]) -> bool {
    content.split(|&b| b == b'\n').take(5).any(|line| line.starts_with(MARKER.as_bytes()))
}

/// Runs `git ARGS` in `dir` and returns its standard output.
fn git_in(dir: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git").args(args).current_dir(dir).output().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound if !dir.exists() => Error::NoSuchPath(dir.to_path_buf()),
        io::ErrorKind::NotFound => {
            Error::Invalid("git was not found on PATH: install git first".into())
        }
        _ => Error::Read { path: dir.to_path_buf(), source: e },
    })
}

/// The folder where git looks for hooks when it runs in `dir`.
///
/// Asks git itself, so that `core.hooksPath` (from any configuration level), linked worktrees
/// and bare repositories resolve exactly as they will when git runs the hook.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf> {
    let out = git_in(dir, &["rev-parse", "--git-path", "hooks"])?;
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

/// The hooks folders of the repository that holds `dir`, one per worktree, without repeats
/// (`dir`'s own first). With `.git/hooks` or an absolute `core.hooksPath` that is one folder;
/// a relative `core.hooksPath` is resolved by git against each worktree's root, so each
/// worktree has its own. A worktree whose folder is gone is left out.
pub fn hooks_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![hooks_dir(dir)?];
    for tree in worktrees(dir)? {
        if !tree.is_dir() {
            continue;
        }
        let hooks = hooks_dir(&tree)?;
        if !dirs.contains(&hooks) {
            dirs.push(hooks);
        }
    }
    Ok(dirs)
}

/// The worktrees of the repository that holds `dir` (`git worktree list`), the main one first.
fn worktrees(dir: &Path) -> Result<Vec<PathBuf>> {
    let out = git_in(dir, &["worktree", "list", "--porcelain", "-z"])?;
    if !out.status.success() {
        // An old git without `-z`, or a repository git cannot list: the folder given only.
        return Ok(Vec::new());
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter_map(|field| field.strip_prefix(b"worktree "))
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .collect())
}

/// The relative `core.hooksPath` in effect in `dir`, if there is one.
fn relative_hooks_path(dir: &Path) -> Option<String> {
    let out = git_in(dir, &["config", "--type=path", "--get", "core.hooksPath"]).ok()?;
    let value = String::from_utf8(out.stdout).ok()?;
    let value = value.trim_end_matches(['\n', '\r']);
    let relative = out.status.success() && !value.is_empty() && !Path::new(value).is_absolute();
    relative.then(|| value.to_string())
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
    /// No tokenguard hook in this hooks folder at all (uninstall without `--hook`).
    NoneInstalled(PathBuf),
    /// A hook that is not tokenguard's: left alone.
    LeftAlone(PathBuf),
    /// `core.hooksPath` is relative: each worktree has its own hooks folder.
    PerWorktree(String),
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
            Action::NoneInstalled(p) => {
                write!(f, "no tokenguard hook in {}: nothing to remove", p.display())
            }
            Action::LeftAlone(p) => {
                write!(f, "{} is not tokenguard's hook: left alone, nothing removed", p.display())
            }
            Action::PerWorktree(value) => write!(
                f,
                "note: core.hooksPath is relative ({value}), so git looks for hooks in each \
                 worktree's own {value} folder: the hooks went into every worktree there is now, \
                 and the post-checkout hook puts them into each worktree `git worktree add` \
                 makes (with --no-checkout, or made by another tool, run `tokenguard install` \
                 in it)"
            ),
        }
    }
}

fn local_path(hook: &Path) -> PathBuf {
    let mut name = hook.as_os_str().to_owned();
    name.push(".local");
    PathBuf::from(name)
}

fn bak_path(local: &Path) -> PathBuf {
    let mut name = local.as_os_str().to_owned();
    name.push(".bak");
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

/// What installing one hook will do, decided before anything is written.
enum Step {
    /// The same hook is there already.
    Keep,
    /// An older tokenguard hook: rewrite it.
    Update,
    /// Nothing there: write it.
    Write,
    /// A hook that is not tokenguard's: chain it (backing up a taken `.local` first when true).
    Chain { back_up: bool },
}

/// Decides how to install `content` at `hook`; refuses when a foreign hook cannot be chained.
fn plan(hook: &Path, content: &str, force: bool) -> Result<Step> {
    Ok(match read_if_exists(hook)? {
        Some(old) if old == content.as_bytes() => Step::Keep,
        Some(old) if is_ours(&old) => Step::Update,
        // Not ours (a file, or a symbolic link, even a dangling one): chain it.
        _ if exists(hook) => {
            let local = local_path(hook);
            let taken = exists(&local);
            if taken && !force {
                return Err(Error::Invalid(format!(
                    "{} is not tokenguard's hook and {} is taken too, so it cannot be \
                     chained: merge the two into one and run install again, or run \
                     install --force to keep {} as {}.bak (no longer run) and chain {} \
                     (nothing was installed)",
                    hook.display(),
                    local.display(),
                    local.display(),
                    local.display(),
                    hook.display()
                )));
            }
            if taken && exists(&bak_path(&local)) {
                return Err(Error::Invalid(format!(
                    "{} exists already: move it away and run install again (nothing was \
                     installed)",
                    bak_path(&local).display()
                )));
            }
            Step::Chain { back_up: taken }
        }
        _ => Step::Write,
    })
}

/// The kinds asked for, without repeats; `default` when none was.
fn kinds_or<'a>(asked: &'a [HookKind], default: &'a [HookKind]) -> Vec<HookKind> {
    let mut kinds: Vec<HookKind> = Vec::new();
    for &k in if asked.is_empty() { default } else { asked } {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds
}

/// Installs the hooks `kinds` ([`CLIENT_HOOKS`] when empty) in every hooks folder of the
/// repository holding `dir` (see [`hooks_dirs`]), recording `binary`. Every hook is checked
/// before any is written: when one cannot be chained, nothing is installed.
pub fn install(dir: &Path, kinds: &[HookKind], binary: &Path, force: bool) -> Result<Vec<Action>> {
    let mut kinds = kinds_or(kinds, CLIENT_HOOKS);
    let relative = relative_hooks_path(dir);
    // Each worktree has its own hooks folder: one that `git worktree add` makes later gets
    // the hooks from post-checkout, else its commits would go unchecked.
    if relative.is_some()
        && kinds.iter().any(|k| CLIENT_HOOKS.contains(k))
        && !kinds.contains(&HookKind::PostCheckout)
    {
        kinds.push(HookKind::PostCheckout);
    }
    let mut steps = Vec::new();
    for hooks in hooks_dirs(dir)? {
        for &kind in &kinds {
            let hook = hooks.join(hook_name(kind));
            let content = render(kind, binary);
            let step = plan(&hook, &content, force)?;
            steps.push((hook, content, step));
        }
    }
    let mut actions = Vec::new();
    for (hook, content, step) in steps {
        match step {
            Step::Keep => {
                #[cfg(unix)]
                ensure_executable(&hook)?;
                actions.push(Action::Unchanged(hook));
                continue;
            }
            Step::Update => {
                write_executable(&hook, &content)?;
                actions.push(Action::Updated(hook));
                continue;
            }
            Step::Chain { back_up } => {
                let local = local_path(&hook);
                if back_up {
                    let bak = bak_path(&local);
                    rename(&local, &bak)?;
                    actions.push(Action::BackedUp { from: local.clone(), to: bak });
                }
                rename(&hook, &local)?;
                actions.push(Action::Chained { from: hook.clone(), to: local });
            }
            Step::Write => {}
        }
        write_executable(&hook, &content)?;
        actions.push(Action::Wrote(hook));
    }
    if let Some(value) = relative {
        actions.push(Action::PerWorktree(value));
    }
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

/// Removes tokenguard's hooks `kinds` (every tokenguard hook, [`ALL_HOOKS`], when empty) from
/// every hooks folder of the repository holding `dir` and puts chained hooks back. A hook that
/// is not tokenguard's is left alone.
pub fn uninstall(dir: &Path, kinds: &[HookKind]) -> Result<Vec<Action>> {
    let every = kinds.is_empty();
    let kinds = kinds_or(kinds, ALL_HOOKS);
    let mut actions = Vec::new();
    for hooks in hooks_dirs(dir)? {
        let mut found = Vec::new();
        for &kind in &kinds {
            let hook = hooks.join(hook_name(kind));
            match read_if_exists(&hook)? {
                Some(old) if is_ours(&old) => {
                    fs::remove_file(&hook)
                        .map_err(|source| Error::Read { path: hook.clone(), source })?;
                    found.push(Action::Removed(hook.clone()));
                    let local = local_path(&hook);
                    if exists(&local) {
                        rename(&local, &hook)?;
                        found.push(Action::Restored { from: local, to: hook });
                    }
                }
                _ if exists(&hook) => found.push(Action::LeftAlone(hook)),
                // Without --hook, one line for the folder instead of one per absent hook.
                _ if every => {}
                _ => found.push(Action::NotInstalled(hook)),
            }
        }
        if found.is_empty() {
            found.push(Action::NoneInstalled(hooks));
        }
        actions.extend(found);
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_marked_names_its_hook_and_gets_the_shared_part() {
        for &kind in ALL_HOOKS {
            let t = template(kind);
            assert!(t.starts_with("#!/bin/sh\n"), "{kind:?}");
            assert!(is_ours(t.as_bytes()), "{kind:?}");
            assert!(t.contains(&format!("{MARKER} {}\n", hook_name(kind))), "{kind:?}");
            assert!(t.contains(&format!("\nhook={}\n", hook_name(kind))), "{kind:?}");
            assert_eq!(t.matches(PRELUDE_PLACEHOLDER).count(), 1, "{kind:?}");
            let rendered = render(kind, Path::new("/x/tokenguard"));
            assert!(!rendered.contains(PLACEHOLDER) && !rendered.contains(PRELUDE_PLACEHOLDER));
            assert_eq!(rendered.matches("recorded_bin='/x/tokenguard'").count(), 1, "{kind:?}");
        }
        assert_eq!(PRELUDE.matches(PLACEHOLDER).count(), 1);
    }

    #[test]
    #[cfg(unix)]
    fn every_rendered_hook_is_valid_sh() {
        for &kind in ALL_HOOKS {
            let script = render(kind, Path::new("/opt/it's $here/tokenguard"));
            let out = Command::new("sh").args(["-n", "-c", &script]).output().unwrap();
            assert!(out.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&out.stderr));
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
