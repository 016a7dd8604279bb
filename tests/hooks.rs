//! Every way git makes a commit goes through a hook that `tokenguard install` writes: real git
//! commands in temp repositories (commit messages, merges, rebase after a conflict or an
//! `edit` stop, `rebase --exec`, `pull --rebase`, cherry-pick, revert, `am` and
//! `am --continue`, `commit --no-verify` then push, stash). Each test asserts which hook
//! stopped what (exit status, refs unchanged, the hook named in the output) and that no secret
//! is printed. docs/staged.md has the table these tests check.
//!
//! The scenarios where git versions differ most (the sequencer) run with every git found: the
//! one on PATH, and /usr/bin/git when it is another version.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{secret_of, token, TestRepo};

/// A git to run, with the PATH its hooks see (so that `git` inside a hook is the same one).
struct Git {
    program: PathBuf,
    path_env: OsString,
    version: String,
}

fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The git on PATH, and /usr/bin/git when it is another version.
fn gits() -> Vec<Git> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path)
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH");
    let mut gits = vec![Git {
        version: version_of(&on_path).expect("git --version"),
        program: on_path,
        path_env: path.clone(),
    }];
    let other = PathBuf::from("/usr/bin/git");
    if let Some(version) = version_of(&other).filter(|v| *v != gits[0].version) {
        let mut dirs = vec![PathBuf::from("/usr/bin")];
        dirs.extend(std::env::split_paths(&path));
        let path_env = std::env::join_paths(dirs).unwrap();
        gits.push(Git { program: other, path_env, version });
    }
    gits
}

/// A repository with one commit and every hook `tokenguard install` writes by default.
struct Repo<'g> {
    r: TestRepo,
    git: &'g Git,
}

impl<'g> Repo<'g> {
    /// A repository with one commit and the default hooks.
    fn new(git: &'g Git) -> Repo<'g> {
        let repo = Repo::without_hooks(git);
        repo.install();
        repo
    }

    /// A repository with one commit and no hooks yet.
    fn without_hooks(git: &'g Git) -> Repo<'g> {
        let repo = Repo { r: TestRepo::new(), git };
        repo.r.write("README", "hello\n");
        repo.r.write("f.txt", "base\n");
        repo.commit_no_verify("initial");
        repo
    }

    /// A clone of `self` with the default hooks.
    fn clone_with_hooks(&self) -> Repo<'g> {
        let dir = tempfile::Builder::new().prefix("tg-clone").tempdir().unwrap();
        self.ok(&["clone", "-q", ".", dir.path().to_str().unwrap()]);
        let clone = Repo { r: TestRepo { dir }, git: self.git };
        clone.install();
        clone
    }

    fn install(&self) {
        let out = self.r.tokenguard().arg("install").output().unwrap();
        assert!(out.status.success(), "install failed: {}", all(&out));
    }

    fn path(&self) -> &Path {
        self.r.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.git.program);
        common::isolate(&mut c);
        c.current_dir(self.path())
            .env("PATH", &self.git.path_env)
            .env("GIT_EDITOR", "true")
            .env_remove("GIT_SEQUENCE_EDITOR")
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{} {args:?} failed: {}", self.git.version, all(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn rev(&self, rev: &str) -> String {
        self.ok(&["rev-parse", "--verify", "-q", rev]).trim().to_string()
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        self.r.write(rel, content);
    }

    /// Stages everything and commits past the hooks (setting up history, not a test).
    fn commit_no_verify(&self, msg: &str) {
        self.ok(&["add", "-A"]);
        self.ok(&["commit", "-q", "--no-verify", "-m", msg]);
    }

    fn git_dir_has(&self, name: &str) -> bool {
        self.path().join(".git").join(name).exists()
    }
}

fn all(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// What `out` shows besides git quoting a commit's subject (its `hint:` lines and "Could not
/// apply <id>... <subject>"), which holds the token when the test put one in a message.
/// tokenguard prints no such line.
fn not_quoting_subjects(out: &Output) -> String {
    all(out)
        .lines()
        .filter(|l| !l.starts_with("hint:") && !l.starts_with("Could not apply "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `out` failed because `hook` stopped it, reporting `place`; the secret of `tok` is not shown.
fn assert_stopped_by(out: &Output, hook: &str, place: &str, tok: &str, git: &Git) {
    let text = all(out);
    let shown = not_quoting_subjects(out);
    assert!(!shown.contains(secret_of(tok)), "{}: a secret part was printed", git.version);
    assert!(!out.status.success(), "{}: not stopped by {hook}:\n{text}", git.version);
    assert!(
        text.contains(&format!("tokenguard: the {hook} hook stopped")),
        "{}: the {hook} hook is not named:\n{text}",
        git.version
    );
    assert!(text.contains(place), "{}: {place} not reported:\n{text}", git.version);
}

/// `out` succeeded and printed no secret.
fn assert_passed(out: &Output, tok: &str, git: &Git) {
    let text = all(out);
    assert!(!text.contains(secret_of(tok)), "{}: a secret part was printed", git.version);
    assert!(out.status.success(), "{}: refused:\n{text}", git.version);
}

/// An executable sh script in a temp folder.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn install_without_options_writes_every_client_hook_and_not_pre_receive() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let hooks = repo.path().join(".git/hooks");
    for hook in [
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "pre-merge-commit",
        "applypatch-msg",
        "pre-applypatch",
        "pre-push",
    ] {
        let text = fs::read_to_string(hooks.join(hook)).unwrap_or_default();
        assert!(text.contains(&format!("# tokenguard-hook: {hook}\n")), "{hook} not installed");
    }
    assert!(!hooks.join("pre-receive").exists(), "pre-receive is opt-in");
    assert!(!hooks.join("reference-transaction").exists());
}

#[test]
fn a_token_in_a_commit_message_is_stopped_by_commit_msg() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let t = token();
    let head = repo.rev("HEAD");
    repo.write("notes.txt", "clean\n");
    repo.ok(&["add", "notes.txt"]);
    let msg = format!("set DT_API_TOKEN to {t}");
    let out = repo.run(&["commit", "-q", "-m", &msg]);
    assert_stopped_by(&out, "commit-msg", "commit message:1:", &t, git);
    assert!(all(&out).contains("commit blocked: 1 token(s) in the commit message"));
    assert_eq!(repo.rev("HEAD"), head);

    // Without an editor git keeps `#` lines, so one there is checked too.
    let body = format!("# {t}");
    let out = repo.run(&["commit", "-q", "-m", "subject", "-m", &body]);
    assert_stopped_by(&out, "commit-msg", "commit message:3:", &t, git);
    assert_eq!(repo.rev("HEAD"), head);

    // In an edited message a `#` line is a comment git drops: it passes, and the commit's
    // message does not hold the token.
    let tools = tempfile::tempdir().unwrap();
    let editor =
        script(tools.path(), "editor", "printf 'clean subject\\n# %s\\n' \"$TOK\" > \"$1\"\n");
    let out = repo.cmd(&["commit", "-q"]).env("GIT_EDITOR", &editor).env("TOK", &t).output();
    assert_passed(&out.unwrap(), &t, git);
    assert_eq!(repo.ok(&["log", "-1", "--format=%B"]).trim(), "clean subject");
}

#[test]
fn the_diff_that_commit_verbose_shows_below_the_scissors_is_not_the_message() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let t = token();
    // A fixture the configuration allows by path: pre-commit lets it through, but in the
    // message file the same token carries no path, so only the scissors cut keeps the
    // `commit -v` diff out of the message check.
    repo.write(".tokenguard.toml", "[allow]\npaths = [\"fixtures/**\"]\n");
    repo.commit_no_verify("config");
    repo.write("fixtures/t.env", format!("T={t}\n"));
    repo.ok(&["add", "fixtures/t.env"]);
    let tools = tempfile::tempdir().unwrap();
    let seen = tools.path().join("seen");
    let editor = script(
        tools.path(),
        "editor",
        "cp \"$1\" \"$SEEN\"\n{ echo 'add a fixture'; cat \"$1\"; } > \"$1.new\" && mv \"$1.new\" \"$1\"\n",
    );
    let out =
        repo.cmd(&["commit", "-q", "-v"]).env("GIT_EDITOR", &editor).env("SEEN", &seen).output();
    assert_passed(&out.unwrap(), &t, git);
    let message_file = fs::read_to_string(&seen).unwrap();
    assert!(message_file.contains(secret_of(&t)), "the message file held the diff");
    assert_eq!(repo.ok(&["log", "-1", "--format=%s"]).trim(), "add a fixture");
}

#[test]
fn a_chained_commit_msg_hook_runs_first_and_its_result_is_checked() {
    let git = &gits()[0];
    let repo = Repo::without_hooks(git);
    // A hook that adds a trailer (as Gerrit's Change-Id hook does), there before tokenguard.
    script(
        &repo.path().join(".git/hooks"),
        "commit-msg",
        "printf '\\nTrailer: %s\\n' \"$TRAILER\" >> \"$1\"\n",
    );
    repo.install();
    assert!(repo.path().join(".git/hooks/commit-msg.local").is_file());
    let t = token();
    repo.write("a.txt", "a\n");
    repo.ok(&["add", "a.txt"]);
    let head = repo.rev("HEAD");
    let out = repo.cmd(&["commit", "-q", "-m", "clean"]).env("TRAILER", &t).output().unwrap();
    assert_stopped_by(&out, "commit-msg", "commit message:3:", &t, git);
    assert_eq!(repo.rev("HEAD"), head);
    let out = repo.cmd(&["commit", "-q", "-m", "clean"]).env("TRAILER", "ok").output().unwrap();
    assert_passed(&out, &t, git);
    assert!(repo.ok(&["log", "-1", "--format=%B"]).contains("Trailer: ok"));
}

#[test]
fn merges_a_message_with_a_token_and_a_conflict_resolved_with_one_are_stopped() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let t = token();
    repo.ok(&["checkout", "-q", "-b", "side"]);
    repo.write("side.txt", "side\n");
    repo.write("f.txt", "side\n");
    repo.commit_no_verify("side");
    repo.ok(&["checkout", "-q", "main"]);
    repo.write("f.txt", "main\n");
    repo.commit_no_verify("main");
    let main = repo.rev("main");

    // A conflicted merge concluded with a token in the resolution: pre-commit.
    assert!(!repo.run(&["merge", "--no-edit", "side"]).status.success(), "conflict expected");
    repo.write("f.txt", format!("merged {t}\n"));
    repo.ok(&["add", "f.txt"]);
    let out = repo.run(&["merge", "--continue"]);
    assert_stopped_by(&out, "pre-commit", "f.txt:1:8", &t, git);
    assert_eq!(repo.rev("main"), main);
    repo.ok(&["merge", "--abort"]);

    // A merge git commits itself (no conflict) with a token in its message: commit-msg.
    repo.ok(&["checkout", "-q", "-b", "side2", "main~1"]);
    repo.write("other.txt", "other\n");
    repo.commit_no_verify("side2");
    repo.ok(&["checkout", "-q", "main"]);
    let msg = format!("merge with {t}");
    let out = repo.run(&["merge", "--no-ff", "-m", &msg, "side2"]);
    assert_stopped_by(&out, "commit-msg", "commit message:1:", &t, git);
    assert_eq!(repo.rev("main"), main);
}

/// A branch `side` whose first commit conflicts with `main` on f.txt; checked out.
fn conflicting_branches(repo: &Repo) {
    repo.ok(&["checkout", "-q", "-b", "side"]);
    repo.write("f.txt", "side\n");
    repo.commit_no_verify("side 1");
    repo.write("s.txt", "s\n");
    repo.commit_no_verify("side 2");
    repo.ok(&["checkout", "-q", "main"]);
    repo.write("f.txt", "main\n");
    repo.commit_no_verify("main");
    repo.ok(&["checkout", "-q", "side"]);
}

#[test]
fn rebase_continue_after_a_conflict_resolved_with_a_token_is_stopped_by_prepare_commit_msg() {
    for git in &gits() {
        let repo = Repo::new(git);
        conflicting_branches(&repo);
        let side = repo.rev("side");
        let t = token();
        assert!(!repo.run(&["rebase", "main"]).status.success(), "conflict expected");
        repo.write("f.txt", format!("resolved {t}\n"));
        repo.ok(&["add", "f.txt"]);
        let out = repo.run(&["rebase", "--continue"]);
        assert_stopped_by(&out, "prepare-commit-msg", "f.txt:1:10", &t, git);
        assert!(all(&out).contains("git rebase --continue"), "says how to go on");
        assert_eq!(repo.rev("side"), side, "{}: branch moved", git.version);
        assert!(repo.git_dir_has("rebase-merge"), "the rebase waits");
        // Resolved without the token, the same command finishes the rebase.
        repo.write("f.txt", "resolved\n");
        repo.ok(&["add", "f.txt"]);
        assert_passed(&repo.run(&["rebase", "--continue"]), &t, git);
        assert_ne!(repo.rev("side"), side);
        assert_eq!(repo.rev("side~2"), repo.rev("main"));
    }
}

#[test]
fn rebase_interactive_edit_stop_then_continue_with_a_token_is_stopped() {
    for git in &gits() {
        let repo = Repo::new(git);
        repo.write("a.txt", "a\n");
        repo.commit_no_verify("a");
        repo.write("b.txt", "b\n");
        repo.commit_no_verify("b");
        let main = repo.rev("main");
        let t = token();
        let out = repo
            .cmd(&["rebase", "-i", "HEAD~2"])
            .env("GIT_SEQUENCE_EDITOR", "sed -i -e 1s/^pick/edit/")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", all(&out));
        assert!(repo.git_dir_has("rebase-merge"), "stopped for edit");
        repo.write("a.txt", format!("a {t}\n"));
        repo.ok(&["add", "a.txt"]);
        // Amending at the stop is a plain commit: pre-commit.
        let out = repo.run(&["commit", "--amend", "--no-edit", "-q"]);
        assert_stopped_by(&out, "pre-commit", "a.txt:1:3", &t, git);
        // While a rebase is under way, --no-verify does not skip the check.
        let out = repo.run(&["commit", "--amend", "--no-edit", "-q", "--no-verify"]);
        assert_stopped_by(&out, "prepare-commit-msg", "a.txt:1:3", &t, git);
        // Going on with the change staged commits it without pre-commit: prepare-commit-msg.
        let out = repo.run(&["rebase", "--continue"]);
        assert_stopped_by(&out, "prepare-commit-msg", "a.txt:1:3", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.ok(&["rebase", "--abort"]);
        assert_eq!(repo.rev("main"), main);
    }
}

#[test]
fn rebase_replaying_a_commit_that_adds_a_token_is_stopped_and_the_branch_kept() {
    for git in &gits() {
        let repo = Repo::new(git);
        let t = token();
        repo.ok(&["checkout", "-q", "-b", "side"]);
        repo.write("t.env", format!("T={t}\n"));
        repo.commit_no_verify("a token, past the hooks");
        repo.ok(&["checkout", "-q", "main"]);
        repo.write("m.txt", "m\n");
        repo.commit_no_verify("main");
        repo.ok(&["checkout", "-q", "side"]);
        let side = repo.rev("side");
        let out = repo.run(&["rebase", "main"]);
        assert_stopped_by(&out, "prepare-commit-msg", "t.env:1:3", &t, git);
        assert_eq!(repo.rev("side"), side);
        repo.ok(&["rebase", "--abort"]);
        assert_eq!(repo.rev("HEAD"), side);

        // A replayed commit whose message holds a token: the message is checked too.
        repo.write("clean.txt", "clean\n");
        let msg = format!("note {t}");
        repo.ok(&["add", "-A"]);
        repo.ok(&["commit", "-q", "--no-verify", "-m", &msg]);
        let side = repo.rev("side");
        let out = repo.run(&["rebase", "--onto", "main", "side~1"]);
        assert_stopped_by(&out, "prepare-commit-msg", "commit message:1:6", &t, git);
        assert_eq!(repo.rev("side"), side);
    }
}

#[test]
fn rebase_exec_commits_go_through_pre_commit() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let t = token();
    repo.write("a.txt", "a\n");
    repo.commit_no_verify("a");
    let main = repo.rev("main");
    let tools = tempfile::tempdir().unwrap();
    let source = tools.path().join("t.env");
    fs::write(&source, format!("T={t}\n")).unwrap();
    let exec = format!("cp '{}' x.env && git add x.env && git commit -q -m exec", source.display());
    let out = repo.run(&["rebase", "--exec", &exec, "HEAD~1"]);
    assert_stopped_by(&out, "pre-commit", "x.env:1:3", &t, git);
    assert_eq!(repo.rev("main"), main);
}

#[test]
fn pull_rebase_replaying_a_local_commit_with_a_token_is_stopped() {
    for git in &gits() {
        let upstream = Repo::without_hooks(git);
        let local = upstream.clone_with_hooks();
        let t = token();
        local.write("t.env", format!("T={t}\n"));
        local.commit_no_verify("local, past the hooks");
        upstream.write("up.txt", "up\n");
        upstream.commit_no_verify("upstream");
        let main = local.rev("main");
        let out = local.run(&["pull", "--rebase", "origin", "main"]);
        assert_stopped_by(&out, "prepare-commit-msg", "t.env:1:3", &t, git);
        assert_eq!(local.rev("main"), main);
        assert_eq!(local.rev("origin/main"), upstream.rev("main"), "fetched");
    }
}

#[test]
fn cherry_pick_without_conflict_is_stopped_by_prepare_commit_msg() {
    for git in &gits() {
        let repo = Repo::new(git);
        let t = token();
        repo.ok(&["checkout", "-q", "-b", "side"]);
        repo.write("t.env", format!("T={t}\n"));
        repo.commit_no_verify("a token, past the hooks");
        let msg = format!("message {t}");
        repo.write("clean.txt", "clean\n");
        repo.ok(&["add", "-A"]);
        repo.ok(&["commit", "-q", "--no-verify", "-m", &msg]);
        repo.ok(&["checkout", "-q", "main"]);
        let main = repo.rev("main");
        let out = repo.run(&["cherry-pick", "side~1"]);
        assert_stopped_by(&out, "prepare-commit-msg", "t.env:1:3", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.ok(&["cherry-pick", "--abort"]);
        // A clean change with a token in the picked commit's message.
        let out = repo.run(&["cherry-pick", "side"]);
        assert_stopped_by(&out, "prepare-commit-msg", "commit message:1:9", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.ok(&["cherry-pick", "--abort"]);
        // Several commits at once (the sequencer): stopped at the first.
        let out = repo.run(&["cherry-pick", "main..side"]);
        assert_stopped_by(&out, "prepare-commit-msg", "t.env:1:3", &t, git);
        assert_eq!(repo.rev("main"), main);
    }
}

#[test]
fn revert_of_several_commits_is_stopped_and_a_single_clean_revert_is_left_to_pre_push() {
    for git in &gits() {
        let repo = Repo::new(git);
        let t = token();
        repo.write("t.env", format!("T={t}\n"));
        repo.commit_no_verify("a token, past the hooks");
        let bare = tempfile::tempdir().unwrap();
        repo.ok(&["init", "-q", "--bare", bare.path().to_str().unwrap()]);
        repo.ok(&["remote", "add", "origin", bare.path().to_str().unwrap()]);
        repo.ok(&["push", "-q", "--no-verify", "origin", "main"]);
        fs::remove_file(repo.path().join("t.env")).unwrap();
        repo.commit_no_verify("remove the token");
        repo.write("x.txt", "x\n");
        repo.commit_no_verify("x");
        let main = repo.rev("main");

        // Two commits reverted (the one restoring the token first): the sequencer's commits
        // run prepare-commit-msg.
        let out = repo.run(&["revert", "--no-edit", "HEAD~1", "HEAD"]);
        assert_stopped_by(&out, "prepare-commit-msg", "t.env:1:3", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.ok(&["revert", "--abort"]);

        // One commit reverted without a conflict: git runs no hook that can tell it from
        // `commit --no-verify`, so it is made; the push stops it.
        repo.ok(&["reset", "-q", "--hard", "main~1"]);
        let out = repo.run(&["revert", "--no-edit", "HEAD"]);
        assert_passed(&out, &t, git);
        let remote = repo.rev("origin/main");
        let out = repo.run(&["push", "origin", "main"]);
        assert_stopped_by(&out, "pre-push", "t.env:1:3", &t, git);
        let on_remote = repo.ok(&["ls-remote", "origin", "refs/heads/main"]);
        assert!(on_remote.starts_with(&remote), "the remote branch did not move");
    }
}

/// A patch file made from the commit `rev`, written into `out_dir`.
fn patch_of(repo: &Repo, rev: &str, out_dir: &Path) -> PathBuf {
    let name = repo.ok(&["format-patch", "-1", rev, "-o", out_dir.to_str().unwrap()]);
    PathBuf::from(name.trim())
}

#[test]
fn am_is_stopped_by_applypatch_msg_and_pre_applypatch() {
    for git in &gits() {
        let repo = Repo::new(git);
        let t = token();
        let patches = tempfile::tempdir().unwrap();
        repo.ok(&["checkout", "-q", "-b", "side"]);
        repo.write("t.env", format!("T={t}\n"));
        repo.commit_no_verify("a token in the change");
        let change = patch_of(&repo, "side", patches.path());
        repo.write("clean.txt", "clean\n");
        repo.ok(&["add", "-A"]);
        let msg = format!("a token in the message {t}");
        repo.ok(&["commit", "-q", "--no-verify", "-m", &msg]);
        let message = patch_of(&repo, "side", patches.path());
        repo.ok(&["checkout", "-q", "main"]);
        let main = repo.rev("main");

        let out = repo.run(&["am", change.to_str().unwrap()]);
        assert_stopped_by(&out, "pre-applypatch", "t.env:1:3", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.ok(&["am", "--abort"]);
        let out = repo.run(&["am", message.to_str().unwrap()]);
        assert_stopped_by(&out, "applypatch-msg", "commit message:1:", &t, git);
        assert_eq!(repo.rev("main"), main);
    }
}

#[test]
fn am_continue_after_a_failed_patch_resolved_with_a_token_is_stopped_by_pre_applypatch() {
    for git in &gits() {
        let repo = Repo::new(git);
        let patches = tempfile::tempdir().unwrap();
        repo.ok(&["checkout", "-q", "-b", "side"]);
        repo.write("f.txt", "side\n");
        repo.commit_no_verify("side");
        let patch = patch_of(&repo, "side", patches.path());
        repo.ok(&["checkout", "-q", "main"]);
        repo.write("f.txt", "main\n");
        repo.commit_no_verify("main");
        let main = repo.rev("main");
        let out = repo.run(&["am", "-3", patch.to_str().unwrap()]);
        assert!(!out.status.success(), "the patch should not apply");
        let t = token();
        repo.write("f.txt", format!("both {t}\n"));
        repo.ok(&["add", "f.txt"]);
        let out = repo.run(&["am", "--continue"]);
        assert_stopped_by(&out, "pre-applypatch", "f.txt:1:6", &t, git);
        assert_eq!(repo.rev("main"), main);
        repo.write("f.txt", "both\n");
        repo.ok(&["add", "f.txt"]);
        assert_passed(&repo.run(&["am", "--continue"]), &t, git);
        assert_eq!(repo.rev("main~1"), main);
    }
}

#[test]
fn commit_no_verify_is_honoured_and_the_push_is_stopped_by_pre_push() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let bare = tempfile::tempdir().unwrap();
    repo.ok(&["init", "-q", "--bare", bare.path().to_str().unwrap()]);
    repo.ok(&["remote", "add", "origin", bare.path().to_str().unwrap()]);
    repo.ok(&["push", "-q", "origin", "main"]);
    let remote = repo.rev("origin/main");
    let t = token();
    repo.write("t.env", format!("T={t}\n"));
    repo.ok(&["add", "t.env"]);
    let msg = format!("and {t}");
    assert_passed(&repo.run(&["commit", "-q", "--no-verify", "-m", &msg]), &t, git);
    let out = repo.run(&["push", "origin", "main"]);
    assert_stopped_by(&out, "pre-push", "t.env:1:3", &t, git);
    let on_remote = repo.ok(&["ls-remote", "origin", "refs/heads/main"]);
    assert!(on_remote.starts_with(&remote), "the remote branch did not move");
}

#[test]
fn stash_makes_no_commit_to_check_and_committing_the_popped_token_is_stopped() {
    let git = &gits()[0];
    let repo = Repo::new(git);
    let t = token();
    repo.write("t.env", format!("T={t}\n"));
    repo.ok(&["add", "t.env"]);
    let head = repo.rev("HEAD");
    assert_passed(&repo.run(&["stash", "-q"]), &t, git);
    assert_eq!(repo.rev("HEAD"), head);
    assert_passed(&repo.run(&["stash", "pop", "-q", "--index"]), &t, git);
    let out = repo.run(&["commit", "-q", "-m", "popped"]);
    assert_stopped_by(&out, "pre-commit", "t.env:1:3", &t, git);
    assert_eq!(repo.rev("HEAD"), head);
}
