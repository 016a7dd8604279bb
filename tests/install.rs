//! `tokenguard install` / `uninstall`: where the hook goes (as git finds it), chaining an
//! existing hook, idempotence, restoring, and the hook refusing when the binary is gone.
//! Every hook is exercised by a real `git commit`.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{secret_of, token, tokenguard_path, TestRepo};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn install(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    let out = repo.tokenguard().arg("install").args(args).output().unwrap();
    assert!(out.status.success(), "install failed: {}", all_output(&out));
    out
}

fn write_script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stages a file holding a fresh token and commits through the hooks; returns the output.
/// Asserts the commit was refused and the secret is absent from everything printed.
fn assert_token_commit_blocked(repo: &TestRepo, cwd: &Path) {
    let tok = token();
    let file = cwd.join("config.env");
    fs::write(&file, format!("DT_API_TOKEN={tok}\n")).unwrap();
    let mut add = repo.git_cmd(&["add", "config.env"]);
    add.current_dir(cwd);
    assert!(add.output().unwrap().status.success());
    let head_before = rev_parse_head(repo, cwd);
    let mut commit = repo.git_cmd(&["commit", "-q", "-m", "add config"]);
    commit.current_dir(cwd);
    let out = commit.output().unwrap();
    let text = all_output(&out);
    assert!(!out.status.success(), "commit with a token passed: {text}");
    assert!(text.contains("config.env"), "report names the file: {text}");
    assert!(!text.contains(secret_of(&tok)), "secret printed: {text}");
    assert_eq!(rev_parse_head(repo, cwd), head_before, "no commit was made");
    // Leave the index clean for the next step.
    let mut reset = repo.git_cmd(&["rm", "-q", "--cached", "config.env"]);
    reset.current_dir(cwd);
    assert!(reset.output().unwrap().status.success());
    fs::remove_file(file).unwrap();
}

fn assert_clean_commit_passes(repo: &TestRepo, cwd: &Path, name: &str) {
    fs::write(cwd.join(name), "nothing secret here\n").unwrap();
    let mut add = repo.git_cmd(&["add", name]);
    add.current_dir(cwd);
    assert!(add.output().unwrap().status.success());
    let mut commit = repo.git_cmd(&["commit", "-q", "-m", "clean"]);
    commit.current_dir(cwd);
    let out = commit.output().unwrap();
    assert!(out.status.success(), "clean commit refused: {}", all_output(&out));
}

fn rev_parse_head(repo: &TestRepo, cwd: &Path) -> String {
    let mut c = repo.git_cmd(&["rev-parse", "-q", "--verify", "HEAD"]);
    c.current_dir(cwd);
    stdout(&c.output().unwrap()).trim().to_string()
}

fn initial_commit(repo: &TestRepo) {
    repo.write("README", "hello\n");
    repo.commit_all("initial");
}

#[test]
fn install_writes_into_dot_git_hooks_and_the_hook_blocks_a_token() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let out = install(&repo, &[]);
    let hook = repo.path().join(".git/hooks/pre-commit");
    assert!(stdout(&out).contains("installed the tokenguard hook"), "{}", stdout(&out));
    let content = fs::read_to_string(&hook).unwrap();
    assert!(content.starts_with("#!/bin/sh\n"));
    assert!(content.contains("# tokenguard-hook: pre-commit"));
    assert!(content.contains(&tokenguard_path().display().to_string()), "records the binary");
    assert_ne!(fs::metadata(&hook).unwrap().permissions().mode() & 0o111, 0, "executable");
    assert_token_commit_blocked(&repo, repo.path());
    assert_clean_commit_passes(&repo, repo.path(), "notes.txt");
}

#[test]
fn install_honours_a_relative_core_hooks_path_from_a_subfolder() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    repo.git(&["config", "core.hooksPath", "githooks"]);
    fs::create_dir_all(repo.path().join("sub/deeper")).unwrap();
    let out = repo
        .tokenguard()
        .current_dir(repo.path().join("sub/deeper"))
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    // Relative to the work tree root, as git runs hooks from there; not .git/hooks.
    assert!(repo.path().join("githooks/pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    assert!(!repo.path().join("sub/deeper/githooks").exists());
    assert_token_commit_blocked(&repo, &repo.path().join("sub"));
    assert_clean_commit_passes(&repo, repo.path(), "notes.txt");
}

#[test]
fn install_honours_an_absolute_core_hooks_path() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let shared = tempfile::tempdir().unwrap();
    let hooks = shared.path().join("hooks");
    repo.git(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    install(&repo, &["-C", repo.path().to_str().unwrap()]);
    assert!(hooks.join("pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    assert_token_commit_blocked(&repo, repo.path());
}

#[test]
fn install_from_a_linked_worktree_writes_the_common_hooks_folder() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "feature", wt.to_str().unwrap()]);
    let out = repo.tokenguard().current_dir(&wt).arg("install").output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(repo.path().join(".git/hooks/pre-commit").is_file(), "common hooks folder");
    assert!(!repo.path().join(".git/worktrees/wt/hooks").exists());
    // The hook guards commits in the linked worktree and in the main one.
    assert_token_commit_blocked(&repo, &wt);
    assert_token_commit_blocked(&repo, repo.path());
    assert_clean_commit_passes(&repo, &wt, "wt-notes.txt");
}

#[test]
fn installing_twice_changes_nothing() {
    let repo = TestRepo::new();
    install(&repo, &[]);
    let hook = repo.path().join(".git/hooks/pre-commit");
    let first = fs::read(&hook).unwrap();
    let out = install(&repo, &[]);
    assert!(stdout(&out).contains("already installed"), "{}", stdout(&out));
    assert_eq!(fs::read(&hook).unwrap(), first, "byte-identical");
    let entries: Vec<_> = fs::read_dir(repo.path().join(".git/hooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("pre-commit") && !n.ends_with(".sample"))
        .collect();
    assert_eq!(entries, vec!["pre-commit".to_string()], "no backup or chained file appeared");
}

#[test]
fn an_existing_hook_is_kept_chained_and_restored_by_uninstall() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let hook = repo.path().join(".git/hooks/pre-commit");
    let mine = "#!/bin/sh\necho \"my hook ran with $# args\" >> \"$(git rev-parse --git-dir)/mine.log\"\nexit 0\n";
    write_script(&hook, mine);

    let out = install(&repo, &[]);
    assert!(stdout(&out).contains("pre-commit.local"), "says where it went: {}", stdout(&out));
    assert_eq!(fs::read_to_string(repo.path().join(".git/hooks/pre-commit.local")).unwrap(), mine);
    // Twice: still chained once, nothing renamed again.
    install(&repo, &[]);
    assert_eq!(fs::read_to_string(repo.path().join(".git/hooks/pre-commit.local")).unwrap(), mine);
    assert!(!repo.path().join(".git/hooks/pre-commit.local.local").exists());

    // Both run: the clean commit passes and the old hook logged it; a token is still blocked.
    assert_clean_commit_passes(&repo, repo.path(), "notes.txt");
    let log = fs::read_to_string(repo.path().join(".git/mine.log")).unwrap();
    assert_eq!(log, "my hook ran with 0 args\n");
    assert_token_commit_blocked(&repo, repo.path());

    let out = repo.tokenguard().arg("uninstall").output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(stdout(&out).contains("restored"), "{}", stdout(&out));
    assert_eq!(fs::read_to_string(&hook).unwrap(), mine, "the original hook is back, unchanged");
    assert!(!repo.path().join(".git/hooks/pre-commit.local").exists());
    assert_ne!(fs::metadata(&hook).unwrap().permissions().mode() & 0o111, 0);
}

#[test]
fn a_failing_chained_hook_still_blocks_the_commit() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    write_script(
        &repo.path().join(".git/hooks/pre-commit"),
        "#!/bin/sh\necho 'lint failed' >&2\nexit 3\n",
    );
    install(&repo, &[]);
    repo.write("notes.txt", "clean\n");
    repo.git(&["add", "notes.txt"]);
    let out = repo.git_output(&["commit", "-q", "-m", "x"]);
    assert!(!out.status.success());
    assert!(all_output(&out).contains("lint failed"));
}

#[test]
fn uninstall_leaves_a_foreign_hook_alone_and_tolerates_no_hook() {
    let repo = TestRepo::new();
    let out = repo.tokenguard().arg("uninstall").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("nothing to remove"), "{}", stdout(&out));

    let hook = repo.path().join(".git/hooks/pre-commit");
    write_script(&hook, "#!/bin/sh\nexit 0\n");
    let out = repo.tokenguard().arg("uninstall").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("left alone"), "{}", stdout(&out));
    assert_eq!(fs::read_to_string(&hook).unwrap(), "#!/bin/sh\nexit 0\n");
}

#[test]
fn uninstall_without_a_chained_hook_removes_only_the_hook() {
    let repo = TestRepo::new();
    install(&repo, &[]);
    install(&repo, &["--hook", "pre-push"]);
    let out = repo.tokenguard().args(["uninstall", "--hook", "pre-commit"]).output().unwrap();
    assert!(out.status.success());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    assert!(repo.path().join(".git/hooks/pre-push").is_file(), "other hook untouched");
}

/// The tokenguard hooks in `dir`, sorted.
fn tokenguard_hooks(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| fs::read(p).is_ok_and(|b| tokenguard::install::is_ours(&b)))
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

const CLIENT_HOOKS: &[&str] = &[
    "applypatch-msg",
    "commit-msg",
    "pre-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "pre-push",
    "prepare-commit-msg",
];

#[test]
fn hook_is_repeatable_and_uninstall_removes_every_tokenguard_hook_by_default() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let hooks = repo.path().join(".git/hooks");
    install(&repo, &["--hook", "pre-commit", "--hook", "pre-push", "--hook", "pre-commit"]);
    assert_eq!(tokenguard_hooks(&hooks), ["pre-commit", "pre-push"]);

    // Without --hook: every client-side hook; pre-receive only when asked for.
    let out = install(&repo, &[]);
    assert_eq!(tokenguard_hooks(&hooks), CLIENT_HOOKS);
    assert_eq!(stdout(&out).matches("already installed").count(), 2, "{}", stdout(&out));
    assert_eq!(stdout(&out).matches("installed the tokenguard hook").count(), 5);
    install(&repo, &["--hook", "pre-receive"]);
    assert!(hooks.join("pre-receive").is_file());

    // A foreign hook beside them: chained by install, restored by uninstall; another foreign
    // hook is left alone.
    fs::remove_file(hooks.join("commit-msg")).unwrap();
    write_script(&hooks.join("commit-msg"), "#!/bin/sh\nexit 0\n");
    install(&repo, &["--hook", "commit-msg"]);
    assert!(hooks.join("commit-msg.local").is_file());
    write_script(&hooks.join("post-commit"), "#!/bin/sh\nexit 0\n");

    let out = repo.tokenguard().arg("uninstall").output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(tokenguard_hooks(&hooks).is_empty(), "left: {:?}", tokenguard_hooks(&hooks));
    assert_eq!(fs::read_to_string(hooks.join("commit-msg")).unwrap(), "#!/bin/sh\nexit 0\n");
    assert!(hooks.join("post-commit").is_file());
    assert_eq!(stdout(&out).matches("removed the tokenguard hook").count(), 8, "{}", stdout(&out));
    // No tokenguard hook left: one line says so, not one per hook.
    fs::remove_file(hooks.join("commit-msg")).unwrap();
    let out = repo.tokenguard().arg("uninstall").output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("no tokenguard hook in"), "{}", stdout(&out));
}

#[test]
fn a_hook_that_cannot_be_chained_makes_install_write_nothing() {
    let repo = TestRepo::new();
    let hooks = repo.path().join(".git/hooks");
    write_script(&hooks.join("pre-push"), "#!/bin/sh\necho current\n");
    write_script(&hooks.join("pre-push.local"), "#!/bin/sh\necho older\n");
    let out = repo.tokenguard().arg("install").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was installed"));
    assert!(tokenguard_hooks(&hooks).is_empty(), "wrote {:?}", tokenguard_hooks(&hooks));
}

#[test]
fn uninstall_help_describes_uninstall_and_install_help_lists_the_hooks() {
    let out = common::tokenguard().args(["uninstall", "--help"]).output().unwrap();
    let help = stdout(&out);
    assert!(out.status.success());
    assert!(!help.contains("--force") && !help.contains("HOOK.local"), "{help}");
    assert!(help.contains("every tokenguard hook"), "{help}");
    let out = common::tokenguard().args(["install", "--help"]).output().unwrap();
    let help = stdout(&out);
    for hook in CLIENT_HOOKS {
        assert!(help.contains(hook), "{hook} missing in install --help:\n{help}");
    }
    assert!(help.contains("--force"));
}

#[test]
fn a_relative_hooks_path_gets_the_hooks_in_every_linked_worktree() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let parent = tempfile::tempdir().unwrap();
    let wt = parent.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "feature", wt.to_str().unwrap()]);
    // git resolves a relative hooks path against each worktree's own root.
    let mut rev_parse = repo.git_cmd(&["rev-parse", "--git-path", "hooks"]);
    rev_parse.current_dir(&wt);
    assert_eq!(stdout(&rev_parse.output().unwrap()).trim(), ".githooks");

    let out = install(&repo, &[]);
    assert!(stdout(&out).contains("core.hooksPath is relative"), "{}", stdout(&out));
    let with_post_checkout: Vec<&str> = {
        let mut v = CLIENT_HOOKS.to_vec();
        v.push("post-checkout");
        v.sort();
        v
    };
    assert_eq!(tokenguard_hooks(&repo.path().join(".githooks")), with_post_checkout);
    assert_eq!(tokenguard_hooks(&wt.join(".githooks")), with_post_checkout);
    assert_token_commit_blocked(&repo, &wt);
    assert_token_commit_blocked(&repo, repo.path());
    assert_clean_commit_passes(&repo, &wt, "wt-notes.txt");

    // A worktree added later gets them from the post-checkout hook, from whichever worktree
    // adds it (and a worktree added from that one too).
    let later = parent.path().join("later");
    repo.git(&["worktree", "add", "-q", "-b", "later", later.to_str().unwrap()]);
    assert_eq!(tokenguard_hooks(&later.join(".githooks")), with_post_checkout);
    assert_token_commit_blocked(&repo, &later);
    let third = parent.path().join("third");
    let mut add = repo.git_cmd(&["worktree", "add", "-q", "-b", "third", third.to_str().unwrap()]);
    add.current_dir(&later);
    assert!(add.output().unwrap().status.success());
    assert_token_commit_blocked(&repo, &third);
    assert_clean_commit_passes(&repo, &third, "third-notes.txt");
    // Ordinary checkouts install nothing anywhere.
    let mut checkout = repo.git_cmd(&["checkout", "-q", "-b", "another"]);
    checkout.current_dir(&third);
    let out = checkout.output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", all_output(&out));

    // Without a checkout git runs no post-checkout: install, run there, covers it.
    let bare_tree = parent.path().join("no-checkout");
    repo.git(&["worktree", "add", "-q", "--no-checkout", "-b", "nc", bare_tree.to_str().unwrap()]);
    assert!(tokenguard_hooks(&bare_tree.join(".githooks")).is_empty());
    let out = repo.tokenguard().current_dir(&bare_tree).arg("install").output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert_eq!(tokenguard_hooks(&bare_tree.join(".githooks")), with_post_checkout);

    // Uninstall, from any of them, removes them from every worktree.
    let out = repo.tokenguard().current_dir(&wt).arg("uninstall").output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    for dir in [repo.path(), wt.as_path(), later.as_path(), third.as_path(), bare_tree.as_path()] {
        assert!(tokenguard_hooks(&dir.join(".githooks")).is_empty(), "{}", dir.display());
    }
}

/// The post-checkout hook chains a hook that was there, and says so when it cannot install
/// (no tokenguard binary): the new worktree is not left unchecked in silence.
#[test]
fn post_checkout_chains_and_says_when_a_new_worktree_is_left_without_hooks() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let hooks = repo.path().join(".githooks");
    let marker = repo.path().join("chained-ran");
    write_script(
        &hooks.join("post-checkout"),
        &format!("#!/bin/sh\necho \"$3\" >> '{}'\n", marker.display()),
    );
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("tokenguard");
    fs::copy(tokenguard_path(), &copy).unwrap();
    assert!(install_with_copy(&copy, repo.path()).status.success());
    assert!(hooks.join("post-checkout.local").is_file());

    let parent = tempfile::tempdir().unwrap();
    let later = parent.path().join("later");
    repo.git(&["worktree", "add", "-q", "-b", "later", later.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(&marker).unwrap(), "1\n", "the chained hook ran once");
    assert!(tokenguard_hooks(&later.join(".githooks")).contains(&"pre-commit".to_string()));

    fs::remove_file(&copy).unwrap();
    let gone = parent.path().join("gone");
    let out = repo
        .git_cmd(&["worktree", "add", "-q", "-b", "gone", gone.to_str().unwrap()])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(!out.status.success(), "git worktree add reports the failed hook");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this new worktree has no tokenguard hooks"), "{err}");
    assert!(gone.join(".git").exists(), "the worktree itself is made");
}

#[test]
fn commit_no_verify_still_works_when_the_binary_is_gone() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("tokenguard");
    fs::copy(tokenguard_path(), &copy).unwrap();
    assert!(install_with_copy(&copy, repo.path()).status.success());
    fs::remove_file(&copy).unwrap();
    repo.write("notes.txt", "clean\n");
    repo.git(&["add", "notes.txt"]);
    // prepare-commit-msg runs even with --no-verify: outside a rebase or cherry-pick it must
    // not need tokenguard, so the documented way to skip the check still works.
    let out = repo
        .git_cmd(&["commit", "-q", "--no-verify", "-m", "x"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
}

#[test]
fn a_taken_local_name_makes_install_refuse_unless_forced() {
    let repo = TestRepo::new();
    let hooks = repo.path().join(".git/hooks");
    write_script(&hooks.join("pre-commit"), "#!/bin/sh\necho current\n");
    write_script(&hooks.join("pre-commit.local"), "#!/bin/sh\necho older\n");
    let out = repo.tokenguard().arg("install").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(fs::read_to_string(hooks.join("pre-commit")).unwrap(), "#!/bin/sh\necho current\n");

    install(&repo, &["--force"]);
    assert!(fs::read_to_string(hooks.join("pre-commit")).unwrap().contains("tokenguard-hook"));
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit.local")).unwrap(),
        "#!/bin/sh\necho current\n"
    );
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit.local.bak")).unwrap(),
        "#!/bin/sh\necho older\n"
    );
}

/// Runs `install` with a freshly copied binary. Another test thread forking while the copy
/// was open for writing can hold it open a moment longer, and exec then fails with "text
/// file busy": retried briefly.
fn install_with_copy(copy: &Path, repo: &Path) -> std::process::Output {
    for _ in 0..50 {
        let mut install = std::process::Command::new(copy);
        common::isolate(&mut install);
        match install.current_dir(repo).arg("install").output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
    panic!("the copied binary stayed busy");
}

#[test]
fn the_hook_refuses_the_commit_when_the_binary_is_gone() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("tokenguard");
    fs::copy(tokenguard_path(), &copy).unwrap();
    let out = install_with_copy(&copy, repo.path());
    assert!(out.status.success(), "{}", all_output(&out));
    let hook = fs::read_to_string(repo.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains(&copy.display().to_string()), "records the absolute path it ran from");
    fs::remove_file(&copy).unwrap();

    repo.write("notes.txt", "clean\n");
    repo.git(&["add", "notes.txt"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    // A PATH with git and sh but no tokenguard.
    for d in ["/usr/bin", "/bin"] {
        assert!(!Path::new(d).join("tokenguard").exists(), "a tokenguard in {d} spoils this test");
    }
    let out =
        repo.git_cmd(&["commit", "-q", "-m", "x"]).env("PATH", "/usr/bin:/bin").output().unwrap();
    let text = all_output(&out);
    assert!(!out.status.success(), "commit passed without tokenguard: {text}");
    assert!(text.contains("tokenguard binary is missing"), "{text}");
    assert!(text.contains("--no-verify"), "says how to skip: {text}");
    assert!(text.contains("install"), "says how to reinstall: {text}");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
}

#[test]
fn the_hook_falls_back_to_tokenguard_on_path() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("tokenguard");
    fs::copy(tokenguard_path(), &copy).unwrap();
    assert!(install_with_copy(&copy, repo.path()).status.success());
    fs::remove_file(&copy).unwrap();
    // The real binary is now found on PATH instead.
    let path = format!("{}:/usr/bin:/bin", tokenguard_path().parent().unwrap().display());
    let tok = token();
    repo.write("a.env", format!("T={tok}\n"));
    repo.git(&["add", "a.env"]);
    let out = repo.git_cmd(&["commit", "-q", "-m", "x"]).env("PATH", path).output().unwrap();
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("missing"), "{text}");
    assert!(text.contains("a.env"), "{text}");
    assert!(!text.contains(secret_of(&tok)));
}

#[test]
fn install_outside_a_repository_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::tokenguard()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .arg("install")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
}

#[test]
fn install_into_a_bare_repository_writes_its_hooks_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("srv.git");
    let mut init = std::process::Command::new("git");
    common::isolate(&mut init);
    assert!(init.args(["init", "-q", "--bare"]).arg(&bare).status().unwrap().success());
    let out = common::tokenguard()
        .args(["install", "--hook", "pre-receive", "-C"])
        .arg(&bare)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    let hook = fs::read_to_string(bare.join("hooks/pre-receive")).unwrap();
    assert!(hook.contains("scan --pre-receive"));
}

/// The first executable called `name` on this process's PATH.
fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file() && fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0))
}

fn install_sh() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// Runs install.sh with a PATH holding only links to `tools`.
fn install_sh_with_only(tools: &[&str]) -> std::process::Output {
    let bin = tempfile::tempdir().unwrap();
    for t in tools {
        let real = which(t).unwrap_or_else(|| panic!("{t} is not on PATH"));
        std::os::unix::fs::symlink(real, bin.path().join(t)).unwrap();
    }
    let mut c = std::process::Command::new("/bin/sh");
    common::isolate(&mut c);
    c.arg(install_sh()).env("PATH", bin.path()).output().unwrap()
}

#[test]
fn install_sh_says_when_cargo_is_missing() {
    let out = install_sh_with_only(&["git"]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cargo was not found on PATH"), "{err}");
    assert!(out.stdout.is_empty(), "did nothing: {}", stdout(&out));
}

#[test]
fn install_sh_says_when_git_is_missing() {
    let out = install_sh_with_only(&["cargo"]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git was not found on PATH"));
}

#[test]
fn install_sh_rejects_unknown_options() {
    let out =
        std::process::Command::new("/bin/sh").arg(install_sh()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option: --bogus"));
}

/// Slow: a real `cargo install` (release build). Run by .ci/run with --ignored.
#[test]
#[ignore = "slow: install.sh runs a real cargo install (run by .ci/run with --ignored)"]
fn install_sh_installs_the_binary_and_the_hook_and_is_safe_to_run_twice() {
    let repo = TestRepo::new();
    initial_commit(&repo);
    let prefix = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr], cwd: &Path| {
        let mut c = std::process::Command::new("/bin/sh");
        common::isolate(&mut c);
        // The target folder of every slow build test and of .ci/run's release build.
        c.env("CARGO_TARGET_DIR", common::shared_release_target());
        common::without_cargo_test_env(&mut c);
        let out = c.arg(install_sh()).args(args).current_dir(cwd).output().unwrap();
        assert!(out.status.success(), "install.sh failed: {}", all_output(&out));
        all_output(&out)
    };
    let args =
        [std::ffi::OsStr::new("--prefix"), prefix.path().as_os_str(), repo.path().as_os_str()];
    let first = run(&args, Path::new("/"));
    let bin = prefix.path().join("bin/tokenguard");
    assert!(bin.is_file(), "{first}");
    assert!(first.contains("tokenguard is installed"), "{first}");
    assert!(first.contains("installed the tokenguard hook"), "{first}");
    let hook = repo.path().join(".git/hooks/pre-commit");
    let content = fs::read(&hook).unwrap();
    assert!(String::from_utf8_lossy(&content).contains(&bin.display().to_string()));

    let second = run(&args, Path::new("/"));
    assert!(second.contains("already installed"), "{second}");
    assert_eq!(fs::read(&hook).unwrap(), content, "hook byte-identical");

    // The hook works with the installed binary (not on PATH: found at its recorded path).
    assert_token_commit_blocked(&repo, repo.path());
    assert_clean_commit_passes(&repo, repo.path(), "notes.txt");

    // Outside a repository and without an argument: the binary only, and it says so.
    let elsewhere = tempfile::tempdir().unwrap();
    let prefix_arg = [std::ffi::OsStr::new("--prefix"), prefix.path().as_os_str()];
    let mut c = std::process::Command::new("/bin/sh");
    common::isolate(&mut c);
    common::without_cargo_test_env(&mut c);
    let out = c
        .arg(install_sh())
        .args(prefix_arg)
        .current_dir(elsewhere.path())
        .env("GIT_CEILING_DIRECTORIES", elsewhere.path().parent().unwrap())
        .env("CARGO_TARGET_DIR", common::shared_release_target())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(all_output(&out).contains("not in a git repository: no hook installed"));
}
