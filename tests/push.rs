//! `scan --pre-push` and `scan --pre-receive`, through real `git push`es to local bare
//! repositories with the hooks that `tokenguard install` writes.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{secret_of, token, TestRepo};
use tempfile::TempDir;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A bare repository in a temp folder.
struct Bare {
    _dir: TempDir,
    path: PathBuf,
}

impl Bare {
    fn new() -> Bare {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.git");
        let mut c = Command::new("git");
        common::isolate(&mut c);
        assert!(c
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&path)
            .status()
            .unwrap()
            .success());
        Bare { _dir: dir, path }
    }

    fn git(&self, args: &[&str]) -> Output {
        let mut c = Command::new("git");
        common::isolate(&mut c);
        c.arg("--git-dir").arg(&self.path).args(args).output().unwrap()
    }

    fn rev(&self, r: &str) -> String {
        String::from_utf8_lossy(&self.git(&["rev-parse", "-q", "--verify", r]).stdout)
            .trim()
            .to_string()
    }
}

fn client_with_remote(bare: &Bare) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README", "hello\n");
    repo.commit_all("initial");
    repo.git(&["remote", "add", "origin", bare.path.to_str().unwrap()]);
    repo
}

fn install(args: &[&str], dir: &Path) {
    let out = common::tokenguard().current_dir(dir).arg("install").args(args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn push(repo: &TestRepo, args: &[&str]) -> Output {
    let mut a = vec!["push", "-q"];
    a.extend_from_slice(args);
    repo.git_output(&a)
}

fn run_with_stdin(mut c: Command, input: &str) -> Output {
    let mut child =
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn pre_push_blocks_a_commit_with_a_token_and_lets_a_clean_push_through() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    install(&["--hook", "pre-push"], repo.path());
    let out = push(&repo, &["-u", "origin", "main"]);
    assert!(out.status.success(), "clean push refused: {}", text(&out));
    let pushed = bare.rev("main");
    assert!(!pushed.is_empty());

    // The pre-commit check was skipped (--no-verify); the pre-push hook catches it.
    let tok = token();
    repo.write("deploy/values.yaml", format!("dynatrace:\n  apiToken: {tok}\n"));
    repo.commit_all("add values");
    let out = push(&repo, &["origin", "main"]);
    let t = text(&out);
    assert!(!out.status.success(), "push with a token passed: {t}");
    assert!(t.contains("deploy/values.yaml"), "{t}");
    assert!(t.contains("push blocked"), "{t}");
    assert!(!t.contains(secret_of(&tok)), "secret printed: {t}");
    assert_eq!(bare.rev("main"), pushed, "the remote did not move");

    // Fixed by a new commit on top: the token is still in the pushed commits, still blocked.
    repo.write("deploy/values.yaml", "dynatrace:\n  apiToken: ${DT_TOKEN}\n");
    repo.commit_all("use env");
    assert!(!push(&repo, &["origin", "main"]).status.success());

    // Rewritten history without the token: passes.
    repo.git(&["reset", "-q", "--hard", "origin/main"]);
    repo.write("deploy/values.yaml", "dynatrace:\n  apiToken: ${DT_TOKEN}\n");
    repo.commit_all("values from env");
    let out = push(&repo, &["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(bare.rev("main"), repo.git(&["rev-parse", "HEAD"]).trim());
}

#[test]
fn pre_push_of_a_new_branch_scans_only_commits_no_remote_tracking_ref_has() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    install(&["--hook", "pre-push"], repo.path());
    assert!(push(&repo, &["-u", "origin", "main"]).status.success());

    // A token on a new branch: blocked.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let tok = token();
    repo.write("app.env", format!("DT_API_TOKEN={tok}\n"));
    repo.commit_all("token on a branch");
    let out = push(&repo, &["-u", "origin", "feature"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("app.env") && !t.contains(secret_of(&tok)), "{t}");
    assert!(bare.rev("feature").is_empty());

    // A token the remote already has (pushed with --no-verify) is not the new branch's doing.
    repo.git(&["checkout", "-q", "main"]);
    let old = token();
    repo.write("legacy.env", format!("OLD={old}\n"));
    repo.commit_all("old token");
    let out = push(&repo, &["--no-verify", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    repo.git(&["checkout", "-q", "-b", "clean-branch"]);
    repo.write("notes.txt", "clean\n");
    repo.commit_all("clean work");
    let out = push(&repo, &["origin", "clean-branch"]);
    assert!(out.status.success(), "new branch rescanned what the remote has: {}", text(&out));

    // Deleting a branch pushes nothing.
    let out = push(&repo, &["origin", ":clean-branch"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn pre_push_chains_an_existing_hook_with_its_input() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    let hook = repo.path().join(".git/hooks/pre-push");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho \"$1 $2\" > \"$(git rev-parse --git-dir)/seen\"\ncat >> \"$(git rev-parse --git-dir)/seen\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    install(&["--hook", "pre-push"], repo.path());
    assert!(push(&repo, &["origin", "main"]).status.success());
    let seen = std::fs::read_to_string(repo.path().join(".git/seen")).unwrap();
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert!(seen.starts_with(&format!("origin {}\n", bare.path.display())), "{seen}");
    assert!(seen.contains(&format!("refs/heads/main {} refs/heads/main ", head.trim())), "{seen}");
}

#[test]
fn pre_receive_rejects_a_push_with_a_token_and_accepts_a_clean_one() {
    let bare = Bare::new();
    install(&["--hook", "pre-receive", "-C", bare.path.to_str().unwrap()], Path::new("/"));
    let repo = client_with_remote(&bare);
    let out = push(&repo, &["origin", "main"]);
    assert!(out.status.success(), "clean first push (new ref) rejected: {}", text(&out));
    let accepted = bare.rev("main");

    let tok = token();
    repo.write("k8s/secret.yaml", format!("stringData:\n  token: {tok}\n"));
    repo.commit_all("secret");
    let out = push(&repo, &["origin", "main"]);
    let t = text(&out);
    assert!(!out.status.success(), "push with a token accepted: {t}");
    assert!(t.contains("k8s/secret.yaml"), "the pusher sees the report: {t}");
    assert!(!t.contains(secret_of(&tok)), "secret printed: {t}");
    assert_eq!(bare.rev("main"), accepted, "ref not updated");
    // The hook's temporary view of the quarantined objects is gone afterwards.
    let tmp = tempfile::tempdir().unwrap();
    let out =
        repo.git_cmd(&["push", "-q", "origin", "main"]).env("TMPDIR", tmp.path()).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "temp files left behind");

    // A new branch holding the token: rejected too. A new clean branch: accepted.
    let out = push(&repo, &["origin", "main:refs/heads/other"]);
    assert!(!out.status.success());
    assert!(bare.rev("other").is_empty());
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("notes.txt", "clean\n");
    repo.commit_all("notes");
    let out = push(&repo, &["origin", "topic"]);
    assert!(out.status.success(), "{}", text(&out));
    // Deleting a ref is accepted.
    let out = push(&repo, &["origin", ":topic"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(bare.rev("topic").is_empty());
}

#[test]
fn pre_receive_does_not_rescan_commits_the_server_already_has() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    let tok = token();
    repo.write("old.env", format!("T={tok}\n"));
    repo.commit_all("old token, before the hook existed");
    assert!(push(&repo, &["origin", "main"]).status.success());
    install(&["--hook", "pre-receive", "-C", bare.path.to_str().unwrap()], Path::new("/"));
    repo.write("notes.txt", "clean\n");
    repo.commit_all("clean");
    let out = push(&repo, &["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = push(&repo, &["origin", "main:refs/heads/copy"]);
    assert!(out.status.success(), "a new ref at known commits: {}", text(&out));
}

#[test]
fn malformed_hook_input_exits_2_with_a_clear_message() {
    let repo = TestRepo::new();
    repo.write("README", "x\n");
    repo.commit_all("x");
    let cases = [
        (
            "--pre-push",
            "refs/heads/main abc refs/heads/main def\n",
            "malformed pre-push input on line 1",
        ),
        ("--pre-push", "only three words\n", "malformed pre-push input on line 1"),
        ("--pre-receive", "\nnot a line\n", "malformed pre-receive input on line 2"),
    ];
    for (flag, input, message) in cases {
        let mut c = repo.tokenguard();
        c.args(["scan", flag]);
        let out = run_with_stdin(c, input);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
        assert!(!err.contains("three words"), "does not echo the input: {err}");
    }
    // An object git would never name: a clear error, exit 2.
    let mut c = repo.tokenguard();
    c.args(["scan", "--pre-receive"]);
    let z = "0".repeat(40);
    let out = run_with_stdin(c, &format!("{z} {} refs/heads/main\n", "ab".repeat(20)));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the repository"));
}

#[test]
fn pre_push_with_no_lines_and_no_framework_variables_is_clean() {
    let repo = TestRepo::new();
    repo.write("README", "x\n");
    repo.commit_all("x");
    let mut c = repo.tokenguard();
    c.args(["scan", "--pre-push", "origin", "/somewhere"]);
    let out = run_with_stdin(c, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn pre_push_under_the_framework_reads_its_variables() {
    let repo = TestRepo::new();
    repo.write("README", "x\n");
    repo.commit_all("base");
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let tok = token();
    repo.write("a.env", format!("T={tok}\n"));
    repo.commit_all("token");
    let tip = repo.git(&["rev-parse", "HEAD"]).trim().to_string();

    let run = |vars: &[(&str, &str)]| {
        let mut c = repo.tokenguard();
        c.args(["scan", "--pre-push"]);
        for (k, v) in vars {
            c.env(k, v);
        }
        run_with_stdin(c, "")
    };
    let out = run(&[("PRE_COMMIT_FROM_REF", &base), ("PRE_COMMIT_TO_REF", &tip)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("a.env") && !t.contains(secret_of(&tok)), "{t}");
    // Only the range: from the token commit to itself is empty.
    let out = run(&[("PRE_COMMIT_FROM_REF", &tip), ("PRE_COMMIT_TO_REF", &tip)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A push that reaches the root commit: the framework names the local branch only.
    let out = run(&[("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// On the server only the server's configuration allows: a pushed line that carries the
/// inline marker is still rejected, and the pusher is told the server-side remedy.
#[test]
fn pre_receive_ignores_the_inline_marker_of_a_pushed_line() {
    let bare = Bare::new();
    install(&["--hook", "pre-receive", "-C", bare.path.to_str().unwrap()], Path::new("/"));
    let repo = client_with_remote(&bare);
    assert!(push(&repo, &["origin", "main"]).status.success());
    let accepted = bare.rev("main");
    let tok = token();
    repo.write("a.env", format!("DT_API_TOKEN={tok} # tokenguard:allow\n"));
    repo.commit_all("allowed by the pusher");
    let out = push(&repo, &["origin", "main"]);
    let t = text(&out);
    assert!(!out.status.success(), "the pusher's marker allowed the token on the server");
    assert!(t.contains("push rejected"), "no rejection report");
    assert!(t.contains("follows only its own configuration"), "no server-side remedy");
    assert!(!t.contains(secret_of(&tok)), "secret printed");
    assert_eq!(bare.rev("main"), accepted);
}

/// A token written in a commit message is found by the pre-push scan, reported as the
/// commit's message.
#[test]
fn pre_push_finds_a_token_in_a_commit_message() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    assert!(push(&repo, &["origin", "main"]).status.success());
    install(&["--hook", "pre-push"], repo.path());
    let tok = token();
    repo.write("b.txt", "clean\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", &format!("set DT_API_TOKEN to {tok}")]);
    let out = push(&repo, &["origin", "main"]);
    let t = text(&out);
    assert!(!out.status.success(), "a token in a commit message was pushed");
    assert!(t.contains("commit message"), "the message is not named as the place");
    assert!(!t.contains(secret_of(&tok)), "secret printed");
}

/// An annotated tag is pushed with its message: a token in it is found by the pre-push scan
/// of a push of the tag (and only then), and by the server's pre-receive scan.
#[test]
fn a_token_in_a_pushed_tag_message_is_found_before_and_after_the_push() {
    let bare = Bare::new();
    let repo = client_with_remote(&bare);
    assert!(push(&repo, &["origin", "main"]).status.success());
    install(&["--hook", "pre-push"], repo.path());
    let tok = token();
    repo.git(&["tag", "-a", "v1", "-m", &format!("release notes\n\nDT_API_TOKEN={tok}")]);
    // Pushing the branch alone sends no tag.
    repo.write("b.txt", "clean\n");
    repo.commit_all("more");
    assert!(push(&repo, &["origin", "main"]).status.success(), "the branch push was blocked");
    let out = push(&repo, &["origin", "v1"]);
    let t = text(&out);
    assert!(!out.status.success(), "a token in a tag message was pushed");
    assert!(t.contains("tag message") && t.contains("tag v1"), "the tag is not named");
    assert!(!t.contains(secret_of(&tok)), "secret printed");
    assert!(bare.rev("refs/tags/v1").is_empty());

    // On the server: the pre-receive hook rejects it (the client's hook bypassed).
    install(&["--hook", "pre-receive", "-C", bare.path.to_str().unwrap()], Path::new("/"));
    let out = push(&repo, &["--no-verify", "origin", "v1"]);
    let t = text(&out);
    assert!(!out.status.success(), "the server accepted a token in a tag message");
    assert!(t.contains("tag message"), "the tag message is not named");
    assert!(!t.contains(secret_of(&tok)), "secret printed");
    assert!(bare.rev("refs/tags/v1").is_empty());
    // A clean tag passes both.
    repo.git(&["tag", "-a", "v2", "-m", "clean release"]);
    assert!(push(&repo, &["origin", "v2"]).status.success());
}
