//! `scan --history` in partial clones (`git clone --filter=blob:none`): the blobs the scan
//! needs are fetched from the promisor remote in batches; offline (or with fetching off),
//! what is present is scanned and what is not is named, and the scan never says "clean".
//! Real partial clones of local repositories, the real binary.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::{secret_of, token, TestRepo};
use serde_json::Value;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `git ARGS` in `dir`, isolated; asserts success and returns standard output.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let out = c.current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tokenguard scan --history --format json` in `dir` (with `env`), checking that no secret
/// reached the output.
fn scan(dir: &Path, env: &[(&str, &str)], secrets: &[&str]) -> Output {
    let mut c = common::tokenguard();
    c.current_dir(dir).args(["scan", "--history", "--format", "json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    for s in secrets {
        assert!(!text(&out).contains(s), "a secret reached the output");
    }
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e})"))
}

/// The findings of a JSON report as (commit, file).
fn findings(out: &Output) -> BTreeSet<(String, String)> {
    json(out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["commit"].as_str().unwrap().into(), f["file"].as_str().unwrap().into()))
        .collect()
}

/// The skipped entries of a JSON report as (file, reason).
fn skipped(out: &Output) -> Vec<(String, String)> {
    json(out)["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["file"].as_str().unwrap().into(), s["reason"].as_str().unwrap().into()))
        .collect()
}

/// The blobs a repository lacks (read without fetching anything).
fn lacking(dir: &Path) -> usize {
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let out = c
        .current_dir(dir)
        .env("GIT_NO_LAZY_FETCH", "1")
        .args(["rev-list", "--objects", "--all", "--missing=print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with('?')).count()
}

/// A repository that serves partial clones, whose history holds a token only in old blobs
/// (`old.env`, added then cleaned) and, when `at_head`, one in a file of its last commit.
/// Returns it, the commit that added the old token, and the tokens.
fn source(at_head: bool) -> (TestRepo, String, Vec<String>) {
    let repo = TestRepo::new();
    repo.git(&["config", "uploadpack.allowFilter", "true"]);
    repo.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let (old, head) = (token(), token());
    repo.write("README.md", "# project\n");
    repo.commit_all("initial");
    repo.write("old.env", format!("DT_API_TOKEN={old}\n"));
    repo.write("notes.txt", "some notes\n");
    repo.commit_all("add old.env");
    let added = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    for i in 0..3 {
        repo.write("old.env", format!("DT_API_TOKEN=${{FROM_ENV_{i}}}\n"));
        repo.write("notes.txt", format!("some notes, version {i}\n"));
        repo.commit_all(&format!("clean up {i}"));
    }
    if at_head {
        repo.write("head.env", format!("DT_API_TOKEN={head}\n"));
        repo.commit_all("add head.env");
    }
    (repo, added, vec![old, head])
}

/// A `--filter=blob:none` clone of `src` in a new temp folder (blobs of the checkout only).
fn partial_clone(src: &TestRepo) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", src.path().display());
    git(tmp.path(), &["clone", "-q", "--filter=blob:none", &url, "clone"]);
    tmp
}

#[test]
fn a_partial_clone_fetches_what_it_lacks_in_batches_and_finds_what_a_full_one_finds() {
    let (src, added, tokens) = source(true);
    let secrets: Vec<&str> = tokens.iter().map(|t| secret_of(t)).collect();
    let full = scan(src.path(), &[], &secrets);
    assert_eq!(full.status.code(), Some(1), "{}", text(&full));
    let want = findings(&full);
    assert!(want.contains(&(added.clone(), "old.env".to_string())), "{want:?}");
    assert_eq!(want.len(), 2);

    let tmp = partial_clone(&src);
    let clone = tmp.path().join("clone");
    assert!(lacking(&clone) > 0, "the clone lacks the old blobs");
    let out = scan(&clone, &[], &secrets);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(findings(&out), want);
    assert!(skipped(&out).is_empty(), "{:?}", skipped(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partial clone: fetching"), "{stderr}");
    assert_eq!(lacking(&clone), 0, "every blob of the history was fetched");
    // Nothing lacks any more: no fetch, the same findings.
    let again = scan(&clone, &[], &secrets);
    assert_eq!(findings(&again), want);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("fetching"));
}

#[test]
fn offline_a_partial_clone_scans_what_it_has_names_what_it_lacks_and_never_says_clean() {
    // Tokens only in blobs the clone lacks: nothing found, but not clean (exit 2).
    let (src, added, tokens) = source(false);
    let secrets: Vec<&str> = tokens.iter().map(|t| secret_of(t)).collect();
    let tmp = partial_clone(&src);
    let clone = tmp.path().join("clone");
    let gone = tmp.path().join("no-such-remote");
    git(&clone, &["remote", "set-url", "origin", gone.to_str().unwrap()]);
    let before = lacking(&clone);
    let out = scan(&clone, &[], &secrets);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(findings(&out).is_empty());
    let skipped = skipped(&out);
    // old.env and notes.txt in the commit that added them and the two that changed them
    // (the last commit's versions are checked out, so present).
    assert_eq!(skipped.len(), 6, "{skipped:?}");
    assert!(skipped.iter().any(|(file, reason)| file == "old.env"
        && reason.contains(&added)
        && reason.contains("could not be fetched")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 file version(s) or folder(s) not scanned"), "{stderr}");
    assert!(stderr.contains(&format!("not scanned: old.env in commit {added}")), "{stderr}");
    assert_eq!(lacking(&clone), before, "nothing was fetched");
    // The human report lists them too.
    let mut c = common::tokenguard();
    let human = c.current_dir(&clone).args(["scan", "--history"]).output().unwrap();
    assert_eq!(human.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&human.stdout).contains("skipped old.env: not scanned"));
}

#[test]
fn with_fetching_off_nothing_is_fetched_and_findings_still_block() {
    let (src, _, tokens) = source(true);
    let secrets: Vec<&str> = tokens.iter().map(|t| secret_of(t)).collect();
    let tmp = partial_clone(&src);
    let clone = tmp.path().join("clone");
    let before = lacking(&clone);
    let out = scan(&clone, &[("GIT_NO_LAZY_FETCH", "1")], &secrets);
    // The token of the checked-out commit is found; the old one is not (its blob lacks).
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found: Vec<String> = findings(&out).into_iter().map(|(_, f)| f).collect();
    assert_eq!(found, ["head.env"]);
    assert!(skipped(&out).iter().any(|(f, r)| f == "old.env" && r.contains("GIT_NO_LAZY_FETCH")));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("partial clone: fetching"));
    assert_eq!(lacking(&clone), before, "nothing was fetched");
}

#[test]
fn a_repository_that_is_not_a_partial_clone_never_fetches() {
    // A full clone that lost a blob: an error naming it (exit 2), no fetch from its remote,
    // though the remote has the blob.
    let (src, _, tokens) = source(false);
    let secrets: Vec<&str> = tokens.iter().map(|t| secret_of(t)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", src.path().display());
    git(tmp.path(), &["clone", "-q", "--no-local", &url, "full"]);
    let full = tmp.path().join("full");
    git(&full, &["repack", "-adq"]);
    let blob = git(&full, &["rev-parse", "HEAD~2:old.env"]).trim().to_string();
    // Rewrite the pack without that blob.
    let keep: String = git(&full, &["rev-list", "--objects", "--all"])
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .filter(|id| *id != blob)
        .map(|id| format!("{id}\n"))
        .collect();
    let pack_dir = full.join(".git/objects/pack");
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let mut child = c
        .current_dir(&full)
        .args(["pack-objects", "-q", ".git/objects/pack/new"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(keep.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    for e in std::fs::read_dir(&pack_dir).unwrap() {
        let p = e.unwrap().path();
        if !p.file_name().unwrap().to_string_lossy().starts_with("new-") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = scan(&full, &[], &secrets);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not in the repository"), "{stderr}");
    assert!(!stderr.contains("fetching"), "{stderr}");
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let still = c.current_dir(&full).args(["cat-file", "-e", &blob]).output().unwrap();
    assert!(!still.status.success(), "the blob was fetched");
}

#[test]
fn a_clone_without_folders_fetches_them_then_their_blobs_or_names_them_offline() {
    // `--filter=tree:0`: the clone lacks the folders of past commits too.
    let (src, _, tokens) = source(true);
    let secrets: Vec<&str> = tokens.iter().map(|t| secret_of(t)).collect();
    let want = findings(&scan(src.path(), &[], &secrets));
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", src.path().display());
    git(tmp.path(), &["clone", "-q", "--filter=tree:0", &url, "online"]);
    git(tmp.path(), &["clone", "-q", "--filter=tree:0", &url, "offline"]);
    let out = scan(&tmp.path().join("online"), &[], &secrets);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(findings(&out), want);
    assert!(skipped(&out).is_empty());

    let offline = tmp.path().join("offline");
    git(&offline, &["remote", "set-url", "origin", "/nonexistent/remote"]);
    let out = scan(&offline, &[], &secrets);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // The commit checked out is whole; every earlier one lacks its root folder.
    let found: Vec<String> = findings(&out).into_iter().map(|(_, f)| f).collect();
    assert_eq!(found, ["head.env"]);
    let skipped = skipped(&out);
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    assert!(skipped.iter().all(|(f, r)| f == "/" && r.contains("the root folder")), "{skipped:?}");
}
