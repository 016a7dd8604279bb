//! The pre-commit framework (the `pre-commit` package from PyPI) running the hooks of
//! `.pre-commit-hooks.yaml` for real: a temp repository whose `.pre-commit-config.yaml` points
//! at a copy of this project, `pre-commit install`, real commits and pushes, and
//! `pre-commit run --all-files` / `--files` where nothing is staged.
//!
//! Needs `pre-commit` on PATH (`pip install pre-commit==4.0.1`; .ci/run installs it). Without
//! it the fast test says so and returns, except under CI (`CI` set), where it fails.
//! The `language: rust` test builds the crate inside pre-commit's cache: it is `#[ignore]`d and
//! run by .ci/run with `cargo test --locked --test precommit_framework -- --ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{secret_of, token, TestRepo};
use tempfile::TempDir;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn have_pre_commit() -> bool {
    let found =
        Command::new("pre-commit").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "pre-commit is not installed: pip install pre-commit==4.0.1"
        );
        eprintln!(
            "NOTE: pre-commit is not installed (pip install pre-commit==4.0.1): test not run"
        );
    }
    found
}

/// A git repository holding a copy of this project's working tree (tracked and untracked,
/// not ignored files), committed: what a `.pre-commit-config.yaml` can point at.
fn hook_repo() -> (TempDir, String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::Builder::new().prefix("tg-hookrepo").tempdir().unwrap();
    let mut ls = Command::new("git");
    common::isolate(&mut ls);
    let out = ls
        .current_dir(src)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .unwrap();
    assert!(out.status.success());
    for rel in out.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let rel = std::str::from_utf8(rel).unwrap();
        let from = src.join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        common::isolate(&mut c);
        let out = c.current_dir(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "--no-verify", "-m", "tokenguard under test"]);
    let rev = git(&["rev-parse", "HEAD"]);
    (dir, rev)
}

/// The user's repository, set up to use `hook_ids` from the hook repository, with pre-commit's
/// cache in a temp folder and `path_prefix` put first on PATH.
struct Setup {
    repo: TestRepo,
    _hooks: TempDir,
    cache: TempDir,
    path: String,
    extra_env: Vec<(String, String)>,
}

impl Setup {
    fn new(hook_ids: &[&str], path_prefix: Option<&Path>, extra_env: &[(&str, String)]) -> Setup {
        let (hooks, rev) = hook_repo();
        let repo = TestRepo::new();
        let ids: String = hook_ids.iter().map(|id| format!("      - id: {id}\n")).collect();
        repo.write(
            ".pre-commit-config.yaml",
            format!(
                "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n{ids}",
                hooks.path().display()
            ),
        );
        repo.write("README", "hello\n");
        repo.commit_all("initial");
        let old_path = std::env::var("PATH").unwrap_or_default();
        let path = match path_prefix {
            Some(p) => format!("{}:{old_path}", p.display()),
            None => old_path,
        };
        let s = Setup {
            repo,
            _hooks: hooks,
            cache: tempfile::tempdir().unwrap(),
            path,
            extra_env: extra_env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        };
        let out = s.pre_commit(&[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "pre-push",
            "--hook-type",
            "commit-msg",
        ]);
        assert!(out.status.success(), "pre-commit install: {}", text(&out));
        s
    }

    fn env(&self, c: &mut Command) {
        common::isolate(c);
        common::without_cargo_test_env(c);
        c.current_dir(self.repo.path())
            .env("PRE_COMMIT_HOME", self.cache.path())
            .env("PATH", &self.path)
            .env_remove("PRE_COMMIT_COLOR")
            .env("NO_COLOR", "1");
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
    }

    fn pre_commit(&self, args: &[&str]) -> Output {
        let mut c = Command::new("pre-commit");
        self.env(&mut c);
        c.args(args).output().unwrap()
    }

    fn git(&self, args: &[&str]) -> Output {
        let mut c = Command::new("git");
        self.env(&mut c);
        c.args(args).output().unwrap()
    }

    fn head(&self) -> String {
        String::from_utf8_lossy(&self.git(&["rev-parse", "HEAD"]).stdout).trim().to_string()
    }
}

/// The checks every framework entry must pass: a commit with a token blocked, a clean one
/// passing, and `run --all-files` / `--files` failing over a committed token.
fn exercise_commit_stage(s: &Setup) {
    let tok = token();
    s.repo.write("app.env", format!("DT_API_TOKEN={tok}\n"));
    assert!(s.git(&["add", "app.env"]).status.success());
    let head = s.head();
    let out = s.git(&["commit", "-q", "-m", "token"]);
    let t = text(&out);
    assert!(!out.status.success(), "commit with a token passed: {t}");
    assert!(t.contains("app.env"), "{t}");
    assert!(!t.contains(secret_of(&tok)), "secret printed: {t}");
    assert_eq!(s.head(), head, "no commit made");
    assert!(s.git(&["rm", "-q", "--cached", "app.env"]).status.success());
    std::fs::remove_file(s.repo.path().join("app.env")).unwrap();

    s.repo.write("notes.txt", "nothing secret\n");
    assert!(s.git(&["add", "notes.txt"]).status.success());
    let out = s.git(&["commit", "-q", "-m", "clean"]);
    assert!(out.status.success(), "clean commit refused: {}", text(&out));
    assert_ne!(s.head(), head);

    // A token that got in anyway (--no-verify): nothing is staged, the runs still find it.
    s.repo.write("deploy/values.yaml", format!("apiToken: {tok}\n"));
    assert!(s.git(&["add", "deploy/values.yaml"]).status.success());
    assert!(s.git(&["commit", "-q", "--no-verify", "-m", "sneak"]).status.success());
    assert!(s.git(&["status", "--porcelain"]).stdout.is_empty(), "nothing staged or changed");
    let out = s.pre_commit(&["run", "--all-files"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "run --all-files over a token: {t}");
    assert!(t.contains("deploy/values.yaml") && !t.contains(secret_of(&tok)), "{t}");
    // Worded for what was scanned: files, not a commit being blocked.
    assert!(t.contains("1 token(s) found") && !t.contains("commit blocked"), "{t}");
    assert!(!t.contains("--no-verify"), "{t}");
    let out = s.pre_commit(&["run", "--files", "notes.txt", "deploy/values.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "run --files over a token: {t}");
    assert!(t.contains("deploy/values.yaml") && !t.contains(secret_of(&tok)), "{t}");
    let out = s.pre_commit(&["run", "--files", "notes.txt", "README"]);
    assert_eq!(out.status.code(), Some(0), "clean files: {}", text(&out));
}

/// A push of a commit holding a token (committed with --no-verify) is blocked by the framework's
/// pre-push stage; a clean push passes.
fn exercise_push_stage(s: &Setup) {
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("r.git");
    let mut c = Command::new("git");
    common::isolate(&mut c);
    assert!(c.args(["init", "-q", "--bare"]).arg(&bare).status().unwrap().success());
    assert!(s.git(&["remote", "add", "origin", bare.to_str().unwrap()]).status.success());
    s.repo.write("a.txt", "clean\n");
    assert!(s.git(&["add", "a.txt"]).status.success());
    assert!(s.git(&["commit", "-q", "--no-verify", "-m", "clean"]).status.success());
    let out = s.git(&["push", "-q", "-u", "origin", "main"]);
    // The first push holds the commit with a token from exercise_commit_stage.
    let t = text(&out);
    assert!(!out.status.success(), "first push with a token in history passed: {t}");
    assert!(t.contains("deploy/values.yaml"), "{t}");
    assert!(s.git(&["push", "-q", "--no-verify", "-u", "origin", "main"]).status.success());

    let tok = token();
    s.repo.write("b.env", format!("T={tok}\n"));
    assert!(s.git(&["add", "b.env"]).status.success());
    assert!(s.git(&["commit", "-q", "--no-verify", "-m", "token"]).status.success());
    let out = s.git(&["push", "-q", "origin", "main"]);
    let t = text(&out);
    assert!(!out.status.success(), "push with a token passed: {t}");
    assert!(t.contains("b.env") && !t.contains(secret_of(&tok)), "{t}");
    assert!(s.git(&["reset", "-q", "--hard", "HEAD~1"]).status.success());
    s.repo.write("c.txt", "clean\n");
    assert!(s.git(&["add", "c.txt"]).status.success());
    assert!(s.git(&["commit", "-q", "--no-verify", "-m", "clean"]).status.success());
    let out = s.git(&["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "clean push refused: {}", text(&out));
}

/// A commit whose message holds a token is blocked by the framework's commit-msg stage; the
/// same commit with a clean message passes.
fn exercise_commit_msg_stage(s: &Setup) {
    let tok = token();
    s.repo.write("m.txt", "clean\n");
    assert!(s.git(&["add", "m.txt"]).status.success());
    let head = s.head();
    let out = s.git(&["commit", "-q", "-m", &format!("use {tok} for now")]);
    let t = text(&out);
    assert!(!out.status.success(), "a token in the message passed");
    assert!(t.contains("commit message"), "the message is not named");
    assert!(!t.contains(secret_of(&tok)), "secret printed");
    assert_eq!(s.head(), head, "no commit made");
    let out = s.git(&["commit", "-q", "-m", "a clean message"]);
    assert!(out.status.success(), "clean message refused: {}", text(&out));
}

fn debug_bin_dir() -> PathBuf {
    common::tokenguard_path().parent().unwrap().to_path_buf()
}

#[test]
fn system_entries_block_tokens_in_commits_runs_and_pushes() {
    if !have_pre_commit() {
        return;
    }
    let s = Setup::new(
        &["tokenguard-system", "tokenguard-pre-push-system", "tokenguard-commit-msg-system"],
        Some(&debug_bin_dir()),
        &[],
    );
    exercise_commit_stage(&s);
    exercise_push_stage(&s);
    exercise_commit_msg_stage(&s);
}

/// Slow: pre-commit runs `cargo install` of this crate into its cache.
#[test]
#[ignore = "slow: pre-commit builds the crate (run by .ci/run with --ignored)"]
fn rust_entries_build_tokenguard_and_block_tokens() {
    assert!(have_pre_commit(), "pre-commit is not installed: pip install pre-commit==4.0.1");
    // The shared target folder: dependencies at Cargo.lock's versions are reused. pre-commit's
    // `cargo install` (no --locked) takes the newest compatible versions, as a user's would:
    // those that differ are built, and tokenguard itself (another source folder).
    let target = common::shared_release_target();
    let s = Setup::new(
        &["tokenguard", "tokenguard-pre-push", "tokenguard-commit-msg"],
        None,
        &[("CARGO_TARGET_DIR", target.display().to_string())],
    );
    let out = s.pre_commit(&["install-hooks"]);
    assert!(out.status.success(), "pre-commit could not build tokenguard: {}", text(&out));
    // The binary the framework built, not one from this build's target folder.
    let built = walk_for(s.cache.path(), "tokenguard");
    assert!(built.is_some(), "no tokenguard binary in pre-commit's cache");
    exercise_commit_stage(&s);
    exercise_push_stage(&s);
    exercise_commit_msg_stage(&s);
}

fn walk_for(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        let ft = e.file_type().ok()?;
        if ft.is_dir() {
            if let Some(found) = walk_for(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) && p.parent()?.ends_with("bin") {
            return Some(p);
        }
    }
    None
}
