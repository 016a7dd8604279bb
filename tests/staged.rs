//! `tokenguard scan --staged`, end to end: real `git commit` runs through a pre-commit hook
//! that calls the binary, in temp repositories, for every way git builds a commit.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{secret_of, token, TestRepo};

/// All the output of a command, for messages and secret checks.
fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A repository with the test hook and one commit (`README`).
fn repo() -> TestRepo {
    let r = TestRepo::new();
    r.install_test_hook();
    r.write("README", "hello\n");
    r.commit_all("initial");
    r
}

/// `git commit -m msg ARGS...` through the hook.
fn commit(r: &TestRepo, args: &[&str]) -> Output {
    let mut all = vec!["commit", "-m", "test commit"];
    all.extend_from_slice(args);
    r.git_output(&all)
}

/// The hook refused the commit: exit status, report, no secret, HEAD unchanged.
fn assert_blocked(r: &TestRepo, args: &[&str], tok: &str, place: &str) -> String {
    let before = r.git_output(&["rev-parse", "-q", "--verify", "HEAD"]).stdout;
    let out = commit(r, args);
    let all = text(&out);
    assert!(!out.status.success(), "commit went through:\n{all}");
    assert!(all.contains("commit blocked: 1 token(s) in staged changes"), "{all}");
    assert!(all.contains(place), "expected {place:?} in:\n{all}");
    assert!(!all.contains(secret_of(tok)), "secret printed:\n{all}");
    assert_eq!(r.git_output(&["rev-parse", "-q", "--verify", "HEAD"]).stdout, before);
    all
}

/// The hook let the commit through, silently.
fn assert_passes(r: &TestRepo, args: &[&str], tok: &str) {
    let before = r.git_output(&["rev-parse", "-q", "--verify", "HEAD"]).stdout;
    let out = commit(r, args);
    let all = text(&out);
    assert!(out.status.success(), "commit refused:\n{all}");
    assert!(!all.contains("token"), "hook was not silent:\n{all}");
    assert!(!all.contains(secret_of(tok)), "secret printed:\n{all}");
    assert_ne!(r.git_output(&["rev-parse", "-q", "--verify", "HEAD"]).stdout, before);
}

/// `scan --staged` run directly; returns (exit code, all output) after the secret check.
fn scan(r: &TestRepo, args: &[&str], tok: &str) -> (i32, String) {
    let out = r.tokenguard().args(["scan", "--staged"]).args(args).output().unwrap();
    let all = text(&out);
    assert!(!all.contains(secret_of(tok)), "secret printed:\n{all}");
    (out.status.code().unwrap(), all)
}

#[test]
fn plain_commit_with_a_token_is_blocked_and_the_staged_content_is_kept() {
    let r = repo();
    let t = token();
    r.write("config/app.env", format!("NAME=demo\nDT_API_TOKEN={t}\n"));
    r.git(&["add", "config/app.env"]);
    let staged = r.git(&["diff", "--cached"]);
    let all = assert_blocked(&r, &[], &t, "config/app.env:2:14");
    assert!(all.contains("--no-verify"), "{all}");
    assert_eq!(r.git(&["diff", "--cached"]), staged, "the refused commit changed the index");
    // Removing the token and staging again lets the commit through.
    r.write("config/app.env", "NAME=demo\nDT_API_TOKEN=${DT_API_TOKEN}\n");
    r.git(&["add", "config/app.env"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn commit_all_scans_the_temporary_index() {
    let r = repo();
    let t = token();
    r.write("README", format!("hello\ntoken {t}\n"));
    // Nothing staged in .git/index: only `-a`'s temporary index holds the token.
    assert_eq!(scan(&r, &[], &t).0, 0);
    assert_blocked(&r, &["-a"], &t, "README:2:7");
}

#[test]
fn commit_path_and_only_scan_the_temporary_index() {
    let r = repo();
    let t = token();
    r.write("notes.txt", "first\n");
    r.commit_all("notes");
    r.write("notes.txt", format!("first\n{t}\n"));
    assert_blocked(&r, &["notes.txt"], &t, "notes.txt:2:1");
    assert_blocked(&r, &["--only", "notes.txt"], &t, "notes.txt:2:1");
    // A clean file committed by path, with the token only in another unstaged file, passes.
    r.write("other.txt", "clean\n");
    r.git(&["add", "other.txt"]);
    r.git(&["commit", "-q", "--no-verify", "-m", "other"]);
    r.write("other.txt", "clean\nmore\n");
    assert_passes(&r, &["other.txt"], &t);
}

#[test]
fn commit_include_scans_the_temporary_index() {
    let r = repo();
    let t = token();
    r.write("a.txt", "a\n");
    r.write("b.txt", "b\n");
    r.commit_all("ab");
    r.write("a.txt", "a\nclean change\n");
    r.git(&["add", "a.txt"]);
    r.write("b.txt", format!("b\nkey: {t}\n"));
    assert_blocked(&r, &["--include", "b.txt"], &t, "b.txt:2:6");
}

#[test]
fn the_index_counts_not_the_work_tree() {
    let r = repo();
    let t = token();
    // Staged, then removed from the file: still blocked.
    r.write("a.txt", format!("x = \"{t}\"\n"));
    r.git(&["add", "a.txt"]);
    r.write("a.txt", "x = env()\n");
    assert_blocked(&r, &[], &t, "a.txt:1:6");
    // Only in the work tree: passes.
    r.git(&["add", "a.txt"]);
    r.write("a.txt", format!("x = env()\ny = \"{t}\"\n"));
    assert_passes(&r, &[], &t);
}

#[test]
fn first_commit_on_an_unborn_branch() {
    let r = TestRepo::new();
    r.install_test_hook();
    let t = token();
    r.write("secret.env", format!("T={t}\n"));
    r.git(&["add", "secret.env"]);
    assert_blocked(&r, &[], &t, "secret.env:1:3");
    r.write("secret.env", "T=\n");
    r.git(&["add", "secret.env"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn committed_tokens_on_untouched_lines_removals_and_renames_pass() {
    let r = repo();
    let t = token();
    let lines: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    r.write("old.txt", format!("{lines}legacy {t}\n"));
    r.commit_all("a token committed long ago (with --no-verify)");
    // An edit elsewhere in the file.
    r.write("old.txt", format!("line 0\n{lines}legacy {t}\n"));
    r.git(&["add", "old.txt"]);
    assert_passes(&r, &[], &t);
    // A rename with a small edit (and an exact copy's rename).
    r.git(&["mv", "old.txt", "moved.txt"]);
    r.write("moved.txt", format!("line 0\n{lines}legacy {t}\nline 21\n"));
    r.git(&["add", "moved.txt"]);
    assert_passes(&r, &[], &t);
    std::fs::create_dir(r.path().join("sub dir")).unwrap();
    r.git(&["mv", "moved.txt", "sub dir/moved again.txt"]);
    assert_passes(&r, &[], &t);
    // The removal of the token.
    r.write("sub dir/moved again.txt", format!("line 0\n{lines}line 21\n"));
    r.git(&["add", "-A"]);
    assert_passes(&r, &[], &t);
    // Deleting a file that still holds a token.
    r.write("gone.txt", format!("{t}\n"));
    r.commit_all("with --no-verify");
    r.git(&["rm", "-q", "gone.txt"]);
    assert_passes(&r, &[], &t);
}

/// Branch `side` holds a token (committed with --no-verify); main conflicts with it elsewhere.
fn conflicted_merge() -> (TestRepo, String) {
    let r = repo();
    let t = token();
    r.write("conflict.txt", "base\n");
    r.commit_all("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.env", format!("T={t}\n"));
    r.write("conflict.txt", "side\n");
    r.commit_all("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("conflict.txt", "main\n");
    r.commit_all("main");
    let out = r.git_output(&["merge", "side"]);
    assert!(!out.status.success(), "the merge should conflict");
    assert!(r.path().join(".git/MERGE_HEAD").exists());
    (r, t)
}

#[test]
fn merge_resolution_passes_with_a_token_the_merged_branch_holds() {
    let (r, t) = conflicted_merge();
    r.write("conflict.txt", "resolved\n");
    r.git(&["add", "conflict.txt"]);
    assert_passes(&r, &["--no-edit"], &t);
    assert_eq!(r.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(), "1");
}

#[test]
fn merge_resolution_with_a_new_token_is_blocked() {
    let (r, _) = conflicted_merge();
    let t2 = token();
    r.write("conflict.txt", format!("resolved {t2}\n"));
    r.git(&["add", "conflict.txt"]);
    assert_blocked(&r, &["--no-edit"], &t2, "conflict.txt:1:10");
}

#[test]
fn linked_worktree() {
    let r = repo();
    let wt = r.path().join("wt");
    r.git(&["worktree", "add", "-q", "-b", "feature", wt.to_str().unwrap()]);
    assert!(wt.join(".git").is_file());
    let t = token();
    std::fs::write(wt.join("w.env"), format!("T={t}\n")).unwrap();
    let wts = wt.to_str().unwrap();
    r.git(&["-C", wts, "add", "w.env"]);
    let out = r.git_output(&["-C", wts, "commit", "-m", "in the worktree"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("w.env:1:3"), "{all}");
    assert!(!all.contains(secret_of(&t)));
    // The main work tree's index is not the linked one's.
    assert_eq!(scan(&r, &[], &t).0, 0);
}

#[test]
fn binary_files_are_scanned_by_byte_offset() {
    let r = repo();
    let t = token();
    let mut blob = vec![0u8, 1, 2, 3, 0xff, 0];
    blob.extend_from_slice(t.as_bytes());
    blob.extend_from_slice(&[0, 0, 9]);
    std::fs::write(r.path().join("data.bin"), &blob).unwrap();
    r.git(&["add", "data.bin"]);
    assert_blocked(&r, &[], &t, "data.bin (binary, byte offset 6)");
    r.git(&["commit", "-q", "--no-verify", "-m", "binary with a token"]);
    // A change elsewhere in the binary keeps the old token: not new, passes.
    blob.extend_from_slice(b"\x00more");
    std::fs::write(r.path().join("data.bin"), &blob).unwrap();
    r.git(&["add", "data.bin"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn file_names_with_spaces_and_non_ascii_characters() {
    let r = repo();
    let t = token();
    r.write("dossier été/mon fichier ü.env", format!("a\n  {t}\n"));
    r.git(&["add", "-A"]);
    assert_blocked(&r, &[], &t, "dossier été/mon fichier ü.env:2:3");
}

#[test]
fn crlf_and_non_utf8_content() {
    let r = repo();
    let t = token();
    r.write("win.txt", format!("one\r\ntwo {t}\r\nthree\r\n"));
    r.git(&["add", "win.txt"]);
    assert_blocked(&r, &[], &t, "win.txt:2:5");
    r.git(&["rm", "-q", "--cached", "win.txt"]);
    let mut bytes = b"caf\xe9 \xff\xfe\n\xc3(".to_vec();
    bytes.extend_from_slice(format!(" {t} ").as_bytes());
    bytes.extend_from_slice(b"\xe9\n");
    std::fs::write(r.path().join("latin1.txt"), bytes).unwrap();
    r.git(&["add", "latin1.txt"]);
    assert_blocked(&r, &[], &t, "latin1.txt:2:4");
}

#[test]
fn non_utf8_file_name() {
    use std::os::unix::ffi::OsStrExt;
    let r = repo();
    let t = token();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
    std::fs::write(r.path().join(name), format!("{t}\n")).unwrap();
    r.git(&["add", "-A"]);
    assert_blocked(&r, &[], &t, "name.txt:1:1");
}

#[test]
fn a_30_mb_one_line_file_is_scanned_quickly() {
    let r = repo();
    let t = token();
    let unit = "var a=function(b){return b.map(function(c){return c*2})};";
    let mut big = String::with_capacity(30 << 20);
    while big.len() < 15 << 20 {
        big.push_str(unit);
    }
    big.push_str(&format!("var k=\"{t}\";"));
    while big.len() < 30 << 20 {
        big.push_str(unit);
    }
    r.write("dist/app.min.js", &big);
    r.git(&["add", "dist/app.min.js"]);
    let start = Instant::now();
    let (code, all) = scan(&r, &[], &t);
    let took = start.elapsed();
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("dist/app.min.js:1:"), "{all}");
    // Generous for debug builds; the release figure is in docs/staged.md.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn intent_to_add_entries_are_not_committed_content() {
    let r = repo();
    let t = token();
    r.write("later.env", format!("T={t}\n"));
    r.git(&["add", "-N", "later.env"]);
    r.write("ok.txt", "fine\n");
    r.git(&["add", "ok.txt"]);
    assert_passes(&r, &[], &t);
    // Once really added, it counts.
    r.git(&["add", "later.env"]);
    assert_blocked(&r, &[], &t, "later.env:1:3");
}

#[test]
fn symlink_text_is_content() {
    let r = repo();
    let t = token();
    std::os::unix::fs::symlink(format!("/tmp/{t}"), r.path().join("link")).unwrap();
    r.git(&["add", "link"]);
    assert_blocked(&r, &[], &t, "link:1:6");
}

#[test]
fn index_version_4_and_a_subfolder() {
    let r = repo();
    let t = token();
    r.write("deep/er/still/file.txt", "a\n");
    r.write("deep/er/other.txt", "b\n");
    r.commit_all("deep");
    r.git(&["update-index", "--index-version", "4"]);
    r.write("deep/er/still/file.txt", format!("a\n{t}\n"));
    r.git(&["add", "-A"]);
    // Run from a subfolder: paths stay relative to the work tree root.
    let out = r
        .tokenguard()
        .current_dir(r.path().join("deep/er"))
        .args(["scan", "--staged", "--format", "json"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains(secret_of(&t)));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["findings"][0];
    assert_eq!(f["file"], "deep/er/still/file.txt", "{all}");
    assert_eq!(f["line"], 2);
}

#[test]
fn clean_scan_is_silent_and_one_line_with_verbose() {
    let r = repo();
    r.write("README", "hello\nworld\n");
    r.git(&["add", "README"]);
    let out = r.tokenguard().args(["scan", "--staged"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{}", text(&out));
    let out = r.tokenguard().args(["scan", "--staged", "--verbose"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "{}", text(&out));
}

#[test]
fn errors_exit_2_naming_the_cause() {
    let t = token();
    let dir = tempfile::tempdir().unwrap();
    let out = common::tokenguard()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .args(["scan", "--staged"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a git repository"), "{}", text(&out));

    let r = repo();
    r.write("a.txt", format!("{t}\n"));
    r.git(&["add", "a.txt"]);
    let index = r.path().join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&index, &bytes).unwrap();
    let (code, all) = scan(&r, &[], &t);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains(".git/index") && all.contains("corrupt index"), "{all}");

    // A staged blob that is missing from the object store.
    let r = repo();
    r.write("a.txt", format!("{t}\n"));
    r.git(&["add", "a.txt"]);
    let id = r.git(&["rev-parse", ":a.txt"]);
    let id = id.trim();
    std::fs::remove_file(r.path().join(".git/objects").join(&id[..2]).join(&id[2..])).unwrap();
    let (code, all) = scan(&r, &[], &t);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("cannot read the blob") && all.contains("a.txt"), "{all}");
    let out = commit(&r, &[]);
    assert!(!out.status.success(), "a failing hook must refuse the commit");
}

#[test]
fn named_files_scan_their_staged_lines_or_their_whole_content() {
    let r = repo();
    let t = token();
    r.write("committed.env", format!("T={t}\n"));
    r.write("edited.txt", format!("old {t}\n"));
    r.commit_all("tokens committed with --no-verify");
    r.write("edited.txt", format!("old {t}\nnew line\n"));
    r.git(&["add", "edited.txt"]);
    // A staged file: only its added lines.
    let (code, all) = scan(&r, &["edited.txt"], &t);
    assert_eq!(code, 0, "{all}");
    // A file without staged changes (`pre-commit run --all-files`): its whole content.
    let (code, all) = scan(&r, &["committed.env", "edited.txt"], &t);
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("committed.env:1:3") && !all.contains("edited.txt:"), "{all}");
    // From a subfolder, a relative path.
    std::fs::create_dir(r.path().join("sub")).unwrap();
    let out = r
        .tokenguard()
        .current_dir(r.path().join("sub"))
        .args(["scan", "--staged", "../committed.env"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("committed.env:1:3"));
}

#[test]
fn other_repository_with_dash_c() {
    let r = repo();
    let t = token();
    r.write("x.txt", format!("{t}\n"));
    r.git(&["add", "x.txt"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = common::tokenguard()
        .current_dir(elsewhere.path())
        .args(["scan", "--staged", "-C"])
        .arg(r.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("x.txt:1:1"));
    assert!(!text(&out).contains(secret_of(&t)));
}

#[test]
fn submodule_pointer_changes_are_skipped() {
    let r = repo();
    let t = token();
    let sub = TestRepo::new();
    sub.write("s.txt", format!("{t}\n"));
    sub.commit_all("sub");
    let id = sub.git(&["rev-parse", "HEAD"]);
    r.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{},lib", id.trim())]);
    assert_passes(&r, &[], &t);
}

#[test]
fn diff_attributes_do_not_hide_lines() {
    let r = repo();
    let t = token();
    r.write(".gitattributes", "* -diff\n*.env binary\n");
    r.write("a.env", "A=1\n");
    r.commit_all("attributes");
    r.write("a.env", format!("A=1\nB={t}\n"));
    r.git(&["add", "a.env"]);
    assert_blocked(&r, &[], &t, "a.env:2:3");
}

/// The hook refused what `out` tried to commit: status, report, no secret.
fn refused(out: &Output, tok: &str, place: &str) -> String {
    let all = text(out);
    assert!(!out.status.success(), "commit went through:\n{all}");
    assert!(all.contains("commit blocked: 1 token(s) in staged changes"), "{all}");
    assert!(all.contains(place), "expected {place:?} in:\n{all}");
    assert!(!all.contains(secret_of(tok)), "secret printed:\n{all}");
    all
}

/// The hook let what `out` tried to commit through, silently.
fn accepted(out: &Output, tok: &str) {
    let all = text(out);
    assert!(out.status.success(), "commit refused:\n{all}");
    assert!(!all.contains("token"), "hook was not silent:\n{all}");
    assert!(!all.contains(secret_of(tok)), "secret printed:\n{all}");
}

/// Only what the hook printed: git shows the hooks' output on its standard error, and
/// `commit -p` and `--interactive` show the diff (with the token) on standard output.
fn hook_output(mut out: Output) -> Output {
    out.stdout.clear();
    out
}

/// Runs `cmd` with `input` on its standard input.
fn run_with_input(mut cmd: std::process::Command, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Whether the index file has the extension `sig` (a rough look at its bytes).
fn has_extension(r: &TestRepo, sig: &[u8]) -> bool {
    let data = std::fs::read(r.path().join(".git/index")).unwrap();
    data.windows(sig.len()).any(|w| w == sig)
}

#[test]
fn split_index_commits_plain_all_and_by_path() {
    let r = repo();
    r.git(&["config", "core.splitIndex", "true"]);
    for i in 0..30 {
        r.write(&format!("src/f{i:02}.txt"), format!("{i}\n"));
    }
    r.commit_all("many files");
    let t = token();
    // Plain commit: the split index (`.git/index`) and its shared index.
    r.write("src/f07.txt", format!("7\n{t}\n"));
    r.git(&["add", "src/f07.txt"]);
    assert!(has_extension(&r, b"link"), "not a split index");
    let shared = std::fs::read_dir(r.path().join(".git")).unwrap().filter_map(|e| {
        e.ok().filter(|e| e.file_name().to_string_lossy().starts_with("sharedindex."))
    });
    assert!(shared.count() > 0, "no shared index file");
    assert_blocked(&r, &[], &t, "src/f07.txt:2:1");
    r.write("src/f07.txt", "7\nclean\n");
    r.write("src/f08.txt", "8\nclean too\n");
    r.git(&["add", "-A"]);
    assert_passes(&r, &[], &t);
    // `commit -a` and `commit PATH`: temporary indexes, written split as well.
    r.write("src/f09.txt", format!("9\n{t}\n"));
    assert_blocked(&r, &["-a"], &t, "src/f09.txt:2:1");
    assert_blocked(&r, &["src/f09.txt"], &t, "src/f09.txt:2:1");
    r.write("src/f09.txt", "9\nfine\n");
    r.git(&["rm", "-q", "--cached", "src/f10.txt"]);
    assert_passes(&r, &["-a"], &t);
    // Split on demand, with a token in a new file among deleted and changed shared entries.
    r.git(&["config", "--unset", "core.splitIndex"]);
    r.git(&["update-index", "--split-index"]);
    r.git(&["rm", "-q", "src/f11.txt", "src/f12.txt"]);
    r.write("src/f13.txt", "13\nchanged\n");
    r.write("src/f115.txt", format!("{t}\n"));
    r.git(&["add", "-A"]);
    assert!(has_extension(&r, b"link"), "not a split index");
    assert_blocked(&r, &[], &t, "src/f115.txt:1:1");
    r.git(&["rm", "-q", "--cached", "src/f115.txt"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn split_index_missing_shared_index_is_an_error() {
    let r = repo();
    r.git(&["update-index", "--split-index"]);
    let t = token();
    r.write("a.txt", format!("{t}\n"));
    r.git(&["add", "a.txt"]);
    for e in std::fs::read_dir(r.path().join(".git")).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("sharedindex.") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let (code, all) = scan(&r, &[], &t);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("sharedindex.") && all.contains("missing"), "{all}");
}

/// A repository with folders `cone/` (checked out) and `out/` (outside the sparse cone), with
/// a sparse index.
fn sparse_repo() -> TestRepo {
    let r = repo();
    r.write("cone/a.txt", "a\n");
    r.write("out/o.txt", "o\n");
    r.write("out/deep/d.txt", "d\n");
    r.commit_all("tree");
    r.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "cone"]);
    assert!(!r.path().join("out").exists());
    assert!(has_extension(&r, b"sdir"), "not a sparse index");
    assert!(r.git(&["ls-files", "-s", "--sparse"]).contains("040000"), "no sparse folder");
    r
}

#[test]
fn sparse_index_commit_inside_the_cone() {
    let r = sparse_repo();
    let t = token();
    r.write("cone/a.txt", format!("a\n{t}\n"));
    r.git(&["add", "cone/a.txt"]);
    assert_blocked(&r, &[], &t, "cone/a.txt:2:1");
    assert_blocked(&r, &["-a"], &t, "cone/a.txt:2:1");
    r.write("cone/a.txt", "a\nb\n");
    r.write("cone/new.txt", "new\n");
    r.git(&["add", "cone"]);
    assert_passes(&r, &[], &t);
    assert!(has_extension(&r, b"sdir"), "no longer a sparse index");
}

#[test]
fn sparse_index_folder_that_differs_from_head() {
    let r = repo();
    r.write("cone/a.txt", "a\n");
    r.write("out/deep/d.txt", "d\n");
    r.commit_all("tree");
    let t = token();
    r.write("out/deep/secret.env", format!("T={t}\n"));
    r.write("out/deep/d.txt", "d\nmore\n");
    r.commit_all("a token outside the cone, with --no-verify");
    r.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "cone"]);
    // Undo the commit but keep its content staged: the sparse folder `out/` now differs from
    // HEAD's, and committing again adds the token again.
    r.git(&["reset", "-q", "--soft", "HEAD~1"]);
    assert!(r.git(&["ls-files", "-s", "--sparse"]).contains("040000"), "no sparse folder");
    assert_blocked(&r, &[], &t, "out/deep/secret.env:1:3");
    // The same with the token gone: only the clean line of d.txt is new.
    r.git(&["reset", "-q", "--soft", "HEAD@{1}"]);
    r.git(&["rm", "-q", "--cached", "--sparse", "out/deep/secret.env"]);
    r.git(&["commit", "-q", "--no-verify", "-m", "token removed"]);
    r.git(&["reset", "-q", "--soft", "HEAD~2"]);
    assert_passes(&r, &[], &t);
}

/// `git ARGS` in the repository with `GIT_EDITOR=true` (commands that would open an editor).
fn git_no_editor(r: &TestRepo, args: &[&str]) -> Output {
    r.git_cmd(args).env("GIT_EDITOR", "true").output().unwrap()
}

#[test]
fn concluding_a_conflicted_cherry_pick_scans_what_the_pick_adds() {
    let r = repo();
    let t = token();
    r.write("conflict.txt", "base\n");
    r.commit_all("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.env", format!("T={t}\n"));
    r.write("conflict.txt", "side\n");
    r.commit_all("side, with a secret (--no-verify)");
    r.git(&["checkout", "-q", "main"]);
    r.write("conflict.txt", "main\n");
    r.commit_all("main");
    assert!(!r.git_output(&["cherry-pick", "side"]).status.success(), "should conflict");
    assert!(r.path().join(".git/CHERRY_PICK_HEAD").exists());
    r.write("conflict.txt", "resolved\n");
    r.git(&["add", "conflict.txt"]);
    // One parent: the token the pick brings is new to this branch, by either way to conclude.
    refused(&git_no_editor(&r, &["commit", "--no-edit"]), &t, "side.env:1:3");
    refused(&git_no_editor(&r, &["cherry-pick", "--continue"]), &t, "side.env:1:3");
    assert!(r.path().join(".git/CHERRY_PICK_HEAD").exists());
    // Without the token the pick concludes.
    r.git(&["rm", "-q", "--cached", "side.env"]);
    accepted(&git_no_editor(&r, &["cherry-pick", "--continue"]), &t);
    assert!(!r.path().join(".git/CHERRY_PICK_HEAD").exists());
    assert_eq!(r.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(), "0");
}

#[test]
fn concluding_a_conflicted_revert_that_restores_a_token_is_blocked() {
    let r = repo();
    let t = token();
    r.write("conflict.txt", "base\n");
    r.write("gone.env", format!("T={t}\n"));
    r.commit_all("a secret (--no-verify)");
    r.git(&["rm", "-q", "gone.env"]);
    r.write("conflict.txt", "secret removed\n");
    r.commit_all("remove the secret");
    r.write("conflict.txt", "later\n");
    r.commit_all("later");
    assert!(!git_no_editor(&r, &["revert", "HEAD~1"]).status.success(), "should conflict");
    assert!(r.path().join(".git/REVERT_HEAD").exists());
    r.write("conflict.txt", "resolved\n");
    r.git(&["add", "conflict.txt"]);
    refused(&git_no_editor(&r, &["revert", "--continue"]), &t, "gone.env:1:3");
    r.git(&["rm", "-q", "--cached", "gone.env"]);
    accepted(&git_no_editor(&r, &["commit", "--no-edit"]), &t);
}

/// `a.txt` and `b.txt` committed, then a token appended to `a.txt` and a clean line to
/// `b.txt`, neither staged.
fn two_changed_files() -> (TestRepo, String) {
    let r = repo();
    let t = token();
    r.write("a.txt", "a\n");
    r.write("b.txt", "b\n");
    r.commit_all("a and b");
    r.write("a.txt", format!("a\n{t}\n"));
    r.write("b.txt", "b\nclean\n");
    (r, t)
}

#[test]
fn commit_patch_scans_the_hunks_chosen() {
    let (r, t) = two_changed_files();
    let patch = |answers: &str| {
        hook_output(run_with_input(r.git_cmd(&["commit", "-p", "-m", "picked"]), answers))
    };
    refused(&patch("y\nn\n"), &t, "a.txt:2:1");
    accepted(&patch("n\ny\n"), &t);
    assert_eq!(r.git(&["show", "--name-only", "--format=", "HEAD"]).trim(), "b.txt");
}

#[test]
fn commit_interactive_scans_the_files_chosen() {
    let (r, t) = two_changed_files();
    let interactive = |answers: &str| {
        let cmd = r.git_cmd(&["commit", "--interactive", "-m", "chosen files"]);
        hook_output(run_with_input(cmd, answers))
    };
    // update, file 1 (a.txt) or 2 (b.txt), end of choice, quit.
    refused(&interactive("u\n1\n\nq\n"), &t, "a.txt:2:1");
    accepted(&interactive("u\n2\n\nq\n"), &t);
    assert_eq!(r.git(&["show", "--name-only", "--format=", "HEAD"]).trim(), "b.txt");
}

#[test]
fn amend_with_a_new_token_is_blocked_and_a_message_only_amend_passes() {
    let r = repo();
    let t = token();
    r.write("held.env", format!("T={t}\n"));
    r.commit_all("a token (--no-verify)");
    // Only the message: HEAD already holds the token, nothing is added.
    assert_passes(&r, &["--amend"], &t);
    assert!(r.git(&["log", "-1", "--format=%s"]).contains("test commit"));
    // Content added in the amend counts.
    let t2 = token();
    r.write("more.env", format!("M={t2}\n"));
    r.git(&["add", "more.env"]);
    assert_blocked(&r, &["--amend"], &t2, "more.env:1:3");
    assert_blocked(&r, &["--amend", "-a"], &t2, "more.env:1:3");
}

#[test]
fn allow_empty() {
    let r = repo();
    let t = token();
    assert_passes(&r, &["--allow-empty"], &t);
    r.write("x.env", format!("X={t}\n"));
    r.git(&["add", "x.env"]);
    assert_blocked(&r, &["--allow-empty"], &t, "x.env:1:3");
}

#[test]
fn commit_from_a_subfolder_and_with_dash_c() {
    let r = repo();
    let t = token();
    r.write("sub/dir/s.env", "S=1\n");
    r.commit_all("sub");
    r.write("sub/dir/s.env", format!("S=1\nT={t}\n"));
    let sub = r.path().join("sub/dir");
    let in_sub = |args: &[&str]| r.git_cmd(args).current_dir(&sub).output().unwrap();
    // `-a` (a temporary index), then plain (GIT_INDEX_FILE relative to the root).
    refused(&in_sub(&["commit", "-a", "-m", "x"]), &t, "sub/dir/s.env:2:3");
    r.git(&["add", "sub"]);
    refused(&in_sub(&["commit", "-m", "x"]), &t, "sub/dir/s.env:2:3");
    refused(&in_sub(&["commit", "-m", "x", "s.env"]), &t, "sub/dir/s.env:2:3");
    // `git -C REPO commit` from outside the repository.
    let elsewhere = tempfile::tempdir().unwrap();
    let root = r.path().to_str().unwrap();
    let dash_c = |args: &[&str]| {
        let mut all = vec!["-C", root];
        all.extend_from_slice(args);
        r.git_cmd(&all).current_dir(elsewhere.path()).output().unwrap()
    };
    refused(&dash_c(&["commit", "-m", "x"]), &t, "sub/dir/s.env:2:3");
    let sub_str = sub.to_str().unwrap();
    r.write("sub/dir/s.env", "S=1\nT=${T}\n");
    accepted(&in_sub(&["commit", "-a", "-m", "clean"]), &t);
    r.write("sub/dir/s.env", "S=2\nT=${T}\n");
    accepted(
        &r.git_cmd(&["-C", sub_str, "commit", "-a", "-m", "clean"])
            .current_dir(elsewhere.path())
            .output()
            .unwrap(),
        &t,
    );
}

#[test]
fn index_skip_hash() {
    let r = repo();
    r.git(&["config", "index.skipHash", "true"]);
    let t = token();
    r.write("a.env", format!("A={t}\n"));
    r.git(&["add", "a.env"]);
    let index = std::fs::read(r.path().join(".git/index")).unwrap();
    assert_eq!(&index[index.len() - 20..], &[0u8; 20], "git wrote a checksum");
    assert_blocked(&r, &[], &t, "a.env:1:3");
    assert_blocked(&r, &["-a"], &t, "a.env:1:3");
    r.write("a.env", "A=\n");
    r.git(&["add", "a.env"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn feature_many_files_index_v4_and_untracked_cache() {
    let r = TestRepo::new();
    r.git(&["config", "feature.manyFiles", "true"]);
    r.install_test_hook();
    r.write("README", "hello\n");
    r.write("src/lib/a.txt", "a\n");
    r.commit_all("initial");
    r.write("untracked.txt", "u\n");
    r.git(&["status", "--short"]);
    let index = std::fs::read(r.path().join(".git/index")).unwrap();
    assert_eq!(&index[4..8], &4u32.to_be_bytes(), "not index version 4");
    assert!(has_extension(&r, b"UNTR"), "no untracked cache");
    let t = token();
    r.write("src/lib/a.txt", format!("a\n{t}\n"));
    r.git(&["add", "src/lib/a.txt"]);
    assert_blocked(&r, &[], &t, "src/lib/a.txt:2:1");
    assert_blocked(&r, &["-a"], &t, "src/lib/a.txt:2:1");
    r.write("src/lib/a.txt", "a\nb\n");
    assert_passes(&r, &["-a"], &t);
}

#[test]
fn fsmonitor_on() {
    let r = repo();
    let t = token();
    // A file system monitor hook (protocol 2) that says everything may have changed; the
    // built-in daemon (`core.fsmonitor=true`) is tried too where the platform has one.
    let hook = r.path().join(".git/fsmonitor-test");
    std::fs::write(&hook, "#!/bin/sh\nprintf 'token-%s\\0/\\0' \"$(date +%s%N)\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    for setting in [hook.to_str().unwrap(), "true", "false"] {
        r.git(&["config", "core.fsmonitor", setting]);
        r.git(&["config", "core.fsmonitorHookVersion", "2"]);
        r.write("f.env", format!("F={t}\n"));
        r.git(&["add", "f.env"]);
        r.git(&["status", "--short"]);
        if setting != "true" && setting != "false" {
            assert!(has_extension(&r, b"FSMN"), "no fsmonitor extension");
        }
        assert_blocked(&r, &[], &t, "f.env:1:3");
        r.write("f.env", format!("F=${{F}} {setting}\n"));
        assert_passes(&r, &["-a"], &t);
    }
}

#[test]
fn stash_then_commit() {
    let r = repo();
    let t = token();
    r.write("a.txt", "a\n");
    r.write("b.txt", "b\n");
    r.commit_all("a and b");
    // Stash a token away, commit something else, bring it back: it blocks once staged.
    r.write("a.txt", format!("a\n{t}\n"));
    r.git(&["stash", "-q"]);
    r.write("b.txt", "b\nclean\n");
    r.git(&["add", "b.txt"]);
    assert_passes(&r, &[], &t);
    r.git(&["stash", "pop", "-q"]);
    assert_passes(&r, &["--allow-empty"], &t);
    r.git(&["add", "a.txt"]);
    assert_blocked(&r, &[], &t, "a.txt:2:1");
    // `git stash --keep-index` (test only what is staged): the staged token still blocks,
    // and a token only stashed does not.
    r.write("b.txt", "b\nclean\nmore\n");
    r.git(&["stash", "-q", "--keep-index"]);
    assert_blocked(&r, &[], &t, "a.txt:2:1");
    r.git(&["reset", "-q", "--hard"]);
    r.git(&["stash", "pop", "-q"]);
    r.git(&["checkout", "-q", "--", "a.txt"]);
    r.write("b.txt", "b\nclean\nmore\n");
    r.git(&["add", "b.txt"]);
    r.write("a.txt", format!("a\n{t}\n"));
    r.git(&["stash", "-q", "--keep-index"]);
    assert_passes(&r, &[], &t);
}

#[test]
fn commit_inside_a_submodule() {
    let r = repo();
    let t = token();
    let upstream = TestRepo::new();
    upstream.write("s.txt", "s\n");
    upstream.commit_all("sub");
    r.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        upstream.path().to_str().unwrap(),
        "lib",
    ]);
    r.commit_all("add the submodule");
    let lib = r.path().join("lib");
    assert!(lib.join(".git").is_file(), "the submodule's .git should be a file");
    // The submodule's own hook, in the superproject's modules folder.
    let hooks = r.path().join(".git/modules/lib/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(r.path().join(".git/hooks/pre-commit"), hooks.join("pre-commit")).unwrap();
    let in_lib = |args: &[&str]| r.git_cmd(args).current_dir(&lib).output().unwrap();
    std::fs::write(lib.join("s.txt"), format!("s\n{t}\n")).unwrap();
    refused(&in_lib(&["commit", "-a", "-m", "x"]), &t, "s.txt:2:1");
    assert!(in_lib(&["add", "s.txt"]).status.success());
    refused(&in_lib(&["commit", "-m", "x"]), &t, "s.txt:2:1");
    std::fs::write(lib.join("s.txt"), "s\nclean\n").unwrap();
    accepted(&in_lib(&["commit", "-a", "-m", "clean"]), &t);
}

#[test]
fn explicit_git_dir_and_work_tree() {
    let base = tempfile::tempdir().unwrap();
    let (gd, wt) = (base.path().join("dotfiles.git"), base.path().join("home"));
    std::fs::create_dir_all(wt.join("sub")).unwrap();
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        common::isolate(&mut c);
        c.current_dir(&wt).arg("--git-dir=../dotfiles.git").arg("--work-tree=.");
        c.args(args).output().unwrap()
    };
    let ok = |out: Output| assert!(out.status.success(), "{}", text(&out));
    ok(std::process::Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&gd)
        .output()
        .unwrap());
    let hook = gd.join("hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    let script =
        format!("#!/bin/sh\nexec '{}' scan --staged\n", common::tokenguard_path().display());
    std::fs::write(&hook, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(wt.join("sub/.rc"), "x=1\n").unwrap();
    ok(git(&["add", "sub/.rc"]));
    ok(git(&["commit", "-q", "--no-verify", "-m", "initial"]));
    let t = token();
    std::fs::write(wt.join("sub/.rc"), format!("x=1\nt={t}\n")).unwrap();
    refused(&git(&["commit", "-a", "-m", "x"]), &t, "sub/.rc:2:3");
    ok(git(&["add", "sub/.rc"]));
    refused(&git(&["commit", "-m", "x"]), &t, "sub/.rc:2:3");
    // GIT_DIR and GIT_WORK_TREE in the environment, run from a subfolder of the work tree.
    let mut c = std::process::Command::new("git");
    common::isolate(&mut c);
    c.current_dir(wt.join("sub")).env("GIT_DIR", &gd).env("GIT_WORK_TREE", &wt);
    refused(&c.args(["commit", "-m", "x"]).output().unwrap(), &t, "sub/.rc:2:3");
    std::fs::write(wt.join("sub/.rc"), "x=1\nt=${T}\n").unwrap();
    accepted(&git(&["commit", "-a", "-m", "clean"]), &t);
}

#[test]
fn pre_merge_commit_hook_on_a_merge_without_conflicts() {
    let r = repo();
    // What `git merge` runs when it commits itself, installed by `tokenguard install`.
    let out = r.tokenguard().args(["install", "--hook", "pre-merge-commit"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(r.path().join(".git/hooks/pre-merge-commit").is_file());
    let t = token();
    r.write("gen.txt", "base\n");
    r.commit_all("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.env", format!("T={t}\n"));
    r.commit_all("side, with a secret (--no-verify)");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "main\n");
    r.commit_all("main");
    // No MERGE_HEAD while the hook runs: the merged commits come from git merge's
    // GITHEAD_<id> variables, and a token the merged branch holds does not stop the merge
    // (as when a conflicted merge is concluded).
    let out = git_no_editor(&r, &["merge", "--no-edit", "side"]);
    accepted(&out, &t);
    assert_eq!(r.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(), "1");
    // A merge whose result holds a token neither side has (here from a merge driver) is
    // refused by the pre-merge-commit hook.
    let t2 = token();
    let outside = tempfile::tempdir().unwrap();
    let generated = outside.path().join("generated.txt");
    std::fs::write(&generated, format!("G={t2}\n")).unwrap();
    r.write(".gitattributes", "gen.txt merge=gen\n");
    r.commit_all("attributes");
    let driver = format!("cat '{}' > %A", generated.display());
    r.git(&["config", "merge.gen.driver", &driver]);
    r.git(&["checkout", "-q", "-b", "side2"]);
    r.write("gen.txt", "side2\n");
    r.commit_all("side2");
    r.git(&["checkout", "-q", "main"]);
    r.write("gen.txt", "main\n");
    r.commit_all("main2");
    let before = r.git(&["rev-parse", "HEAD"]);
    refused(&git_no_editor(&r, &["merge", "--no-edit", "side2"]), &t2, "gen.txt:1:3");
    assert_eq!(r.git(&["rev-parse", "HEAD"]), before);
}

/// Keyed formats take their key from the file around an added line: in a Kubernetes env
/// list, changing only the `value:` line under an unchanged `- name: DT_API_TOKEN` line to an
/// older-format token is blocked.
#[test]
fn a_changed_value_under_an_unchanged_key_line_is_blocked() {
    let r = repo();
    let deploy = |value: &str| {
        format!(
            "spec:\n  containers:\n    - name: app\n      env:\n        - name: DT_API_TOKEN\n          value: {value}\n        - name: OTHER\n          value: x\n"
        )
    };
    r.write("deploy.yaml", deploy("placeholder"));
    r.commit_all("deployment");
    let legacy = common::legacy_token();
    r.write("deploy.yaml", deploy(&legacy));
    r.git(&["add", "deploy.yaml"]);
    let before = r.git_output(&["rev-parse", "HEAD"]).stdout;
    let out = commit(&r, &[]);
    let all = text(&out);
    assert!(!out.status.success(), "the commit went through");
    assert!(all.contains("deploy.yaml:6:18"), "the value line is not reported");
    assert!(!all.contains(&legacy), "the token was printed");
    assert_eq!(r.git_output(&["rev-parse", "HEAD"]).stdout, before);
    // A context line that holds a token already (unchanged) is not reported again.
    r.git(&["reset", "-q", "--hard"]);
    let t = token();
    r.write("a.env", format!("A=1\nDT_API_TOKEN={t}\nB=2\n"));
    r.commit_all("old token, accepted long ago");
    r.write("a.env", format!("A=1\nDT_API_TOKEN={t}\nB=3\n"));
    r.git(&["add", "a.env"]);
    assert_passes(&r, &[], &t);
}

/// The configuration is validated on every run of the hook, even when nothing is staged.
#[test]
fn a_configuration_error_fails_the_hook_when_nothing_is_staged() {
    let r = repo();
    r.write(".tokenguard.toml", "[allow]\nbogus = 1\n");
    let (code, all) = scan(&r, &[], "unused");
    assert_eq!(code, 2, "an invalid configuration passed");
    assert!(all.contains(".tokenguard.toml") && all.contains("bogus"), "{all}");
}

/// The files under `dir`, as paths relative to it and their bytes.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// (file, line, fingerprint) of each finding of a `--format json` run.
fn found_lines(out: &Output) -> std::collections::BTreeSet<(String, u64, String)> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let line = f["line"].as_u64()?;
            let file = f["file"].as_str()?.trim_start_matches("./").to_string();
            Some((file, line, f["fingerprint"].as_str()?.to_string()))
        })
        .collect()
}

/// Whatever a scan of a file finds on a line, the staged scan finds when that line is the
/// only one the change adds: a keyed value takes its key, and every decoder its input, from
/// the file around the added line, not from added lines alone. Over every token line of the
/// labelled corpus (tests/corpus/providers), each in turn.
#[test]
fn a_line_added_alone_is_found_as_a_scan_of_its_file_finds_it() {
    use std::collections::{BTreeMap, BTreeSet};
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/providers/files");
    let mut files = files_under(&corpus);
    // Keyed contexts of the older format, whose key stands on another line than the value.
    let (a, b, c, d, e) = (
        common::legacy_token(),
        common::legacy_token(),
        common::legacy_token(),
        common::legacy_token(),
        common::legacy_token(),
    );
    let keyed = [
        ("keyed/deploy.yaml", format!("env:\n  - name: OTHER\n    value: x\n  - name: DT_API_TOKEN\n    value: {a}\n")),
        ("keyed/first.yaml", format!("env:\n  - value: \"{b}\"\n    name: DT_API_TOKEN\n")),
        ("keyed/task.json", format!("{{\n  \"environment\": [\n    {{\n      \"name\": \"DT_API_TOKEN\",\n      \"value\": \"{c}\"\n    }}\n  ]\n}}\n")),
        ("keyed/values.yaml", format!("dynatrace:\n  apiToken:\n    {d}\n")),
        ("keyed/app.env", format!("A=1\nDT_API_TOKEN={e}\nB=2\n")),
    ];
    files.extend(keyed.iter().map(|(f, t)| (f.to_string(), t.clone().into_bytes())));
    let whole = TestRepo::new();
    for (rel, bytes) in &files {
        whole.write(rel, bytes);
    }
    let out = whole.tokenguard().args(["scan", "--format", "json", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the corpus holds tokens");
    let mut lines: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let expected_all = found_lines(&out);
    for (file, line, _) in &expected_all {
        let l = lines.entry(file.clone()).or_default();
        if !l.contains(line) {
            l.push(*line);
        }
    }
    assert!(lines.len() >= 20, "found in {} files only", lines.len());
    let mut checked = 0;
    for round in 0.. {
        let chosen: BTreeMap<&String, u64> =
            lines.iter().filter_map(|(f, l)| l.get(round).map(|&n| (f, n))).collect();
        if chosen.is_empty() {
            break;
        }
        // HEAD holds each chosen file without its chosen line; the index, the file whole.
        let r = TestRepo::new();
        for (rel, bytes) in &files {
            let Some(&n) = chosen.get(rel) else { continue };
            let without: Vec<u8> = bytes
                .split_inclusive(|&b| b == b'\n')
                .enumerate()
                .filter(|(i, _)| *i as u64 + 1 != n)
                .flat_map(|(_, l)| l.iter().copied())
                .collect();
            r.write(rel, without);
        }
        r.commit_all("without the lines");
        for (rel, bytes) in &files {
            if chosen.contains_key(rel) {
                r.write(rel, bytes);
            }
        }
        r.git(&["add", "-A"]);
        let out = r.tokenguard().args(["scan", "--staged", "--format", "json"]).output().unwrap();
        let got = found_lines(&out);
        let want: BTreeSet<_> =
            expected_all.iter().filter(|(f, l, _)| chosen.get(f) == Some(l)).cloned().collect();
        let missed: Vec<String> =
            want.difference(&got).map(|(f, l, _)| format!("{f}:{l}")).collect();
        assert!(missed.is_empty(), "round {round}: the staged scan missed {missed:?}");
        checked += want.len();
    }
    assert_eq!(checked, expected_all.len());
}
