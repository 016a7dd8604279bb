//! For unit tests: runs git in a folder, isolated from the user's and the system's
//! configuration and from the variables a hook would inherit.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An empty file to stand for the global git configuration (never `/dev/null`, which
/// `git config --global` would replace with a regular file).
fn empty_git_config() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let p = std::env::temp_dir()
            .join(format!("tokenguard-unit-empty-gitconfig-{}", std::process::id()));
        std::fs::write(&p, "").unwrap();
        p
    })
}

/// `git` set up to run in `dir`, isolated; the caller adds arguments and runs it.
pub fn git_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE");
    c
}

/// Runs `git args` in `dir`, asserts it succeeded, and returns its standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
