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
