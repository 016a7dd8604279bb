//! `tokenguard scan --history`: real repositories with real histories, the real binary.

mod common;

use std::process::Output;

use common::{secret_of, token, TestRepo};
use serde_json::Value;

/// Commits everything with fixed author and committer dates (Unix seconds), so that the
/// order of commits in time does not depend on how fast the test runs.
fn commit_at(repo: &TestRepo, msg: &str, when: u64) -> String {
    repo.git(&["add", "-A"]);
    let date = format!("{when} +0100");
    let out = repo
        .git_cmd(&["commit", "-q", "--no-verify", "--allow-empty", "-m", msg])
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(out.status.success(), "commit failed: {}", String::from_utf8_lossy(&out.stderr));
    repo.git(&["rev-parse", "HEAD"]).trim().to_string()
}

/// Runs `tokenguard scan --history ARGS` in `dir` and checks that no secret leaked.
fn history_in(dir: &std::path::Path, args: &[&str], secrets: &[&str]) -> Output {
    let out = common::tokenguard()
        .current_dir(dir)
        .args(["scan", "--history"])
        .args(args)
        .output()
        .unwrap();
    for s in secrets {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(s), "secret in stdout");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(s), "secret in stderr");
    }
    out
}

fn history(repo: &TestRepo, args: &[&str], secrets: &[&str]) -> Output {
    history_in(repo.path(), args, secrets)
}

/// The findings of a `--format json` run.
fn json_findings(out: &Output) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    doc["findings"].as_array().unwrap().clone()
}

fn history_json(repo: &TestRepo, args: &[&str], secrets: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = history(repo, &all, secrets);
    (out.status.code(), json_findings(&out))
}

fn id_of(t: &str) -> String {
    t.rsplit_once('.').unwrap().0.to_string()
}

/// A repository whose first commit adds a clean README.
fn repo_with_readme() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    commit_at(&repo, "initial", 1_600_000_000);
    repo
}

#[test]
fn token_added_then_removed_is_reported_at_the_commit_that_added_it() {
    let repo = repo_with_readme();
    let t = token();
    repo.write("app/config.env", format!("NAME=x\nDT_API_TOKEN={t}\n"));
    let added = commit_at(&repo, "add config", 1_600_000_100);
    repo.write("app/config.env", "NAME=x\nDT_API_TOKEN=${FROM_ENV}\n");
    commit_at(&repo, "remove the token", 1_600_000_200);

    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f["commit"], added.as_str());
    assert_eq!(f["file"], "app/config.env");
    assert_eq!(f["line"], 2);
    assert_eq!(f["column"], 14);
    assert_eq!(f["author"], "Test Author <author@example.com>");
    assert_eq!(f["date"], "2020-09-13T13:28:20+01:00");
    assert_eq!(f["subject"], "add config");
    assert_eq!(f["token_id"], id_of(&t).as_str());

    // The human report groups by commit and names it.
    let out = history(&repo, &[], &[secret_of(&t)]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&added[..12]), "{text}");
    assert!(text.contains("add config"), "{text}");
    assert!(text.contains("app/config.env:2:14"), "{text}");
    assert!(text.contains("1 token(s) found in the history"), "{text}");
}

#[test]
fn clean_history_exits_0() {
    let repo = repo_with_readme();
    repo.write("src/main.rs", "fn main() {}\n");
    commit_at(&repo, "code", 1_600_000_100);
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("src/lib.rs", "// nothing here\n");
    commit_at(&repo, "lib", 1_600_000_200);
    let out = history(&repo, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let (code, findings) = history_json(&repo, &[], &[]);
    assert_eq!(code, Some(0));
    assert!(findings.is_empty());
}

#[test]
fn tokens_on_side_branches_tags_and_orphan_roots_are_found() {
    let repo = repo_with_readme();
    let (side, tagged, orphan) = (token(), token(), token());
    let secrets = [secret_of(&side), secret_of(&tagged), secret_of(&orphan)];

    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.yaml", format!("token: {side}\n"));
    let on_side = commit_at(&repo, "side branch", 1_600_000_100);

    repo.git(&["checkout", "-q", "-b", "release", "main"]);
    repo.write("release.txt", format!("key {tagged}\n"));
    let on_tag = commit_at(&repo, "tagged only", 1_600_000_200);
    repo.git(&["tag", "-a", "-m", "v1", "v1.0"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release"]);

    repo.git(&["checkout", "-q", "--orphan", "pages"]);
    repo.git(&["rm", "-rq", "--cached", "."]);
    std::fs::remove_file(repo.path().join("README.md")).unwrap();
    repo.write("index.html", format!("<meta x=\"{orphan}\">\n"));
    let on_orphan = commit_at(&repo, "orphan root", 1_600_000_300);
    repo.git(&["checkout", "-q", "-f", "main"]);

    let (code, findings) = history_json(&repo, &[], &secrets);
    assert_eq!(code, Some(1));
    let got: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f["commit"].as_str().unwrap().into(), f["file"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        got,
        vec![
            (on_side, "feature.yaml".to_string()),
            (on_tag, "release.txt".to_string()),
            (on_orphan, "index.html".to_string()),
        ]
    );
    // Only main: none of them.
    let (code, findings) = history_json(&repo, &["main"], &secrets);
    assert_eq!(code, Some(0), "{findings:?}");
}

#[test]
fn a_merge_reports_only_what_none_of_its_parents_held() {
    let repo = repo_with_readme();
    let (from_side, evil) = (token(), token());
    let secrets = [secret_of(&from_side), secret_of(&evil)];
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("side.env", format!("DT_TOKEN={from_side}\n"));
    let side_commit = commit_at(&repo, "side adds a token", 1_600_000_100);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "main work\n");
    commit_at(&repo, "main work", 1_600_000_200);
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    repo.write("merged.cfg", format!("token = \"{evil}\"\n"));
    let merge = commit_at(&repo, "evil merge", 1_600_000_300);
    assert!(repo.git(&["rev-parse", "HEAD^2"]).trim() == side_commit);

    let (code, findings) = history_json(&repo, &[], &secrets);
    assert_eq!(code, Some(1));
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["commit"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    assert_eq!(got, vec![(side_commit.as_str(), "side.env"), (merge.as_str(), "merged.cfg")]);
}

#[test]
fn a_cherry_picked_token_is_one_finding_unless_all_occurrences() {
    let repo = repo_with_readme();
    let t = token();
    repo.git(&["checkout", "-q", "-b", "a"]);
    repo.write("deploy/values.yaml", format!("dynatrace:\n  apiToken: {t}\n"));
    let first = commit_at(&repo, "add values", 1_600_000_100);
    repo.git(&["checkout", "-q", "-b", "b", "main"]);
    repo.write("other.txt", "other\n");
    commit_at(&repo, "other work", 1_600_000_200);
    let pick = repo
        .git_cmd(&["cherry-pick", "-x", &first])
        .env("GIT_COMMITTER_DATE", "1600000300 +0000")
        .output()
        .unwrap();
    assert!(pick.status.success(), "{}", String::from_utf8_lossy(&pick.stderr));
    let second = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(first, second);

    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["commit"], first.as_str());
    assert_eq!(findings[0]["line"], 2);

    let (code, findings) = history_json(&repo, &["--all-occurrences"], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    let commits: Vec<&str> = findings.iter().map(|f| f["commit"].as_str().unwrap()).collect();
    assert_eq!(commits, vec![first.as_str(), second.as_str()]);
}

#[test]
fn ranges_follow_git_syntax() {
    let repo = repo_with_readme();
    let (old, new) = (token(), token());
    let secrets = [secret_of(&old), secret_of(&new)];
    repo.write("old.env", format!("DT_API_TOKEN={old}\n"));
    let old_commit = commit_at(&repo, "old", 1_600_000_100);
    repo.write("new.env", format!("DT_API_TOKEN={new}\n"));
    let new_commit = commit_at(&repo, "new", 1_600_000_200);

    for args in [&["HEAD~1..HEAD"][..], &["^HEAD~1", "HEAD"], &[&format!("{old_commit}..main")]] {
        let (code, findings) = history_json(&repo, args, &secrets);
        assert_eq!(code, Some(1), "{args:?}");
        let commits: Vec<&str> = findings.iter().map(|f| f["commit"].as_str().unwrap()).collect();
        assert_eq!(commits, vec![new_commit.as_str()], "{args:?}");
    }
    // A single revision: everything reachable from it.
    let (_, findings) = history_json(&repo, &["HEAD~1"], &secrets);
    let commits: Vec<&str> = findings.iter().map(|f| f["commit"].as_str().unwrap()).collect();
    assert_eq!(commits, vec![old_commit.as_str()]);
    // An unknown revision is an error (exit 2) naming it.
    let out = history(&repo, &["no-such-branch"], &secrets);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-branch"));
}

#[test]
fn renamed_and_moved_tokens_are_not_reported_again() {
    let repo = repo_with_readme();
    let t = token();
    let body: String = (0..40).map(|i| format!("setting_{i} = {i}\n")).collect();
    repo.write("conf/a.ini", format!("{body}api = {t}\n"));
    let added = commit_at(&repo, "add", 1_600_000_100);
    repo.git(&["mv", "conf/a.ini", "conf/b.ini"]);
    repo.write("conf/b.ini", format!("# moved\n{body}api = {t}\n"));
    commit_at(&repo, "rename and edit", 1_600_000_200);
    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["commit"], added.as_str());
}

#[test]
fn binary_blobs_are_scanned_as_bytes() {
    let repo = repo_with_readme();
    let t = token();
    let mut bin = vec![0u8, 1, 2, 3, 0, 0xff];
    bin.extend_from_slice(t.as_bytes());
    bin.extend_from_slice(&[0, 0, 7]);
    repo.write("blob.bin", &bin);
    commit_at(&repo, "binary", 1_600_000_100);
    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["line"], 0);
    assert_eq!(findings[0]["offset"], 6);
}

#[test]
fn bare_and_shallow_clones_are_scanned() {
    let repo = repo_with_readme();
    let (early, late) = (token(), token());
    let secrets = [secret_of(&early), secret_of(&late)];
    repo.write("a.env", format!("DT_API_TOKEN={early}\n"));
    commit_at(&repo, "early", 1_600_000_100);
    repo.write("b.txt", "b\n");
    commit_at(&repo, "middle", 1_600_000_200);
    repo.write("c.env", format!("DT_API_TOKEN={late}\n"));
    let tip = commit_at(&repo, "late", 1_600_000_300);

    let clones = tempfile::tempdir().unwrap();
    let bare = clones.path().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let out = history_in(&bare, &["--format", "json"], &secrets);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_findings(&out).len(), 2);
    // -C works too.
    let out = history_in(clones.path(), &["-C", "bare.git", "--format", "json"], &secrets);
    assert_eq!(out.status.code(), Some(1));

    let shallow = clones.path().join("shallow");
    let url = format!("file://{}", repo.path().display());
    repo.git(&["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    let out = history_in(&shallow, &["--format", "json"], &secrets);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shallow"));
    // The one commit there is diffed against the empty tree: both tokens, at the tip.
    let findings = json_findings(&out);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings.iter().all(|f| f["commit"] == tip.as_str()));
}

#[test]
fn sarif_output_is_valid_and_holds_no_secret() {
    let repo = repo_with_readme();
    let t = token();
    repo.write("dir with space/app.env", format!("NAME=x\nDT_API_TOKEN={t}\n"));
    let added = commit_at(&repo, "add token", 1_600_000_100);
    let report = repo.path().join("out.sarif");
    let out = history(
        &repo,
        &["--format", "sarif", "--output", report.to_str().unwrap()],
        &[secret_of(&t)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains(secret_of(&t)));
    let doc: Value = serde_json::from_str(&text).unwrap();

    let validator = common::sarif_validator();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does reject a log that breaks the schema.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!validator.is_valid(&broken));

    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    let index = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], r["ruleId"]);
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "dir%20with%20space/app.env");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 14);
    assert!(r["partialFingerprints"]["tokenFingerprint/v1"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(r["properties"]["commit"], added.as_str());
    assert!(r["message"]["text"].as_str().unwrap().contains(&id_of(&t)));

    // A clean history is a valid log with no results.
    let clean = repo_with_readme();
    let out = history(&clean, &["--format", "sarif"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.is_valid(&doc));
    assert!(doc["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let repo = repo_with_readme();
    let t = token();
    repo.write("x.env", format!("DT_API_TOKEN={t}\n"));
    commit_at(&repo, "x", 1_600_000_100);
    let out = history(&repo, &[], &[secret_of(&t)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// On a terminal a clean history scan shows its progress (whole commits per second, no `0/0`
/// frame before the total is known) and ends saying what it scanned; off a terminal only
/// `--verbose` asks for that line. `script` gives the scan a pseudo-terminal.
#[test]
fn a_clean_history_says_what_was_scanned_on_a_terminal_or_when_asked() {
    let repo = repo_with_readme();
    for i in 0..20u64 {
        repo.write(&format!("src/f{i}.txt"), format!("line {i}\n"));
        commit_at(&repo, &format!("change {i}"), 1_600_000_100 + i * 100);
    }
    let out = history(&repo, &[], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty() && out.stdout.is_empty(), "a pipe gets nothing");
    let out = history(&repo, &["-v"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tokenguard: scanned 21 commit(s), 21 blob(s), "), "{err}");

    let have_script = std::process::Command::new("script").arg("--version").output();
    if !have_script.is_ok_and(|o| o.status.success()) {
        eprintln!("note: script (util-linux) is missing: the terminal case is not run");
        return;
    }
    let bin = common::tokenguard_path();
    let mut c = std::process::Command::new("script");
    common::isolate(&mut c);
    let out = c
        .current_dir(repo.path())
        .env("TERM", "xterm")
        .args(["-qec", &format!("'{}' scan --history", bin.display()), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("scanning history"), "no progress bar: {seen}");
    assert!(!seen.contains(" 0/0 "), "a 0/0 frame: {seen}");
    // Every frame is the bar's own: none in another style comes first.
    let first_frame = seen.find("/21").unwrap();
    assert!(seen[..first_frame].contains("scanning history"), "a stray frame first: {seen}");
    for rate in seen.split("commits, ").skip(1) {
        let rate = rate.split("/s").next().unwrap();
        assert!(rate.bytes().all(|b| b.is_ascii_digit()), "rate {rate:?} in {seen}");
    }
    assert!(seen.contains("tokenguard: scanned 21 commit(s), 21 blob(s), "), "{seen}");
}

#[test]
fn allowlisted_commits_and_paths_are_allowed_with_a_reason() {
    let repo = repo_with_readme();
    let (a, b) = (token(), token());
    let secrets = [secret_of(&a), secret_of(&b)];
    repo.write("one.env", format!("DT_API_TOKEN={a}\n"));
    let first = commit_at(&repo, "one", 1_600_000_100);
    repo.write("fixtures/two.env", format!("DT_API_TOKEN={b}\n"));
    commit_at(&repo, "two", 1_600_000_200);
    let (code, findings) = history_json(&repo, &[], &secrets);
    assert_eq!((code, findings.len()), (Some(1), 2));

    let config = format!("[allow]\ncommits = [\"{}\"]\npaths = [\"fixtures/**\"]\n", &first[..10]);
    std::fs::write(repo.path().join(".tokenguard.toml"), config).unwrap();
    let out = history(&repo, &["--format", "json"], &secrets);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed = doc["allowed"].as_array().unwrap();
    assert_eq!(allowed.len(), 2);
    assert!(allowed.iter().all(|f| f["allowed_by"].as_str().is_some_and(|r| !r.is_empty())));
}

#[test]
fn packed_histories_give_the_same_findings_as_loose_ones() {
    // Many versions of the same files, so that packing stores most of them as deltas; tokens
    // added, kept, moved, removed, and on a merged branch.
    let repo = repo_with_readme();
    let (a, b, c) = (token(), token(), token());
    let secrets = [secret_of(&a), secret_of(&b), secret_of(&c)];
    let mut lines: Vec<String> = (0..300).map(|i| format!("key_{i} = value {i}\n")).collect();
    for v in 0..40u64 {
        lines[(v as usize * 11) % 300] = format!("key = changed {v}\n");
        if v == 5 {
            lines.insert(100, format!("api = {a}\n"));
        }
        if v == 30 {
            lines.remove(100);
        }
        repo.write("conf/app.ini", lines.concat());
        repo.write("conf/copy.ini", lines[..150].concat());
        if v == 12 {
            repo.write("deploy/env", format!("DT_API_TOKEN={b}\n"));
        }
        if v == 20 {
            repo.git(&["mv", "deploy/env", "deploy/prod.env"]);
        }
        commit_at(&repo, &format!("version {v}"), 1_600_000_100 + v * 100);
    }
    repo.git(&["checkout", "-q", "-b", "side", "HEAD~10"]);
    repo.write("side.txt", format!("token {c}\n"));
    commit_at(&repo, "side", 1_600_010_000);
    repo.git(&["checkout", "-q", "-"]);
    let merge = repo.git_cmd(&["merge", "-q", "--no-edit", "--no-ff", "side"]).output().unwrap();
    assert!(merge.status.success());

    let loose = history_json(&repo, &[], &secrets);
    assert_eq!(loose.0, Some(1));
    // a in conf/app.ini and conf/copy.ini, b (not again when renamed), c.
    assert_eq!(loose.1.len(), 4, "{:?}", loose.1);
    // Offset deltas, then reference deltas, then two packs and loose objects.
    repo.git(&["gc", "-q", "--aggressive"]);
    assert_eq!(history_json(&repo, &[], &secrets), loose);
    repo.git(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
    assert_eq!(history_json(&repo, &[], &secrets), loose);
    repo.write("conf/app.ini", "rewritten\n");
    commit_at(&repo, "rewrite", 1_600_020_000);
    repo.git(&["repack", "-dq"]);
    repo.write("late.txt", "late\n");
    commit_at(&repo, "late", 1_600_030_000);
    assert_eq!(history_json(&repo, &[], &secrets), loose);
}

/// Commit messages are scanned: a token in one is reported as `commit message` of that commit,
/// masked, and once though a later commit repeats the message.
#[test]
fn a_token_in_a_commit_message_is_reported_at_its_commit() {
    let repo = repo_with_readme();
    let t = token();
    repo.write("a.txt", "clean\n");
    let first = commit_at(&repo, &format!("use {t} for now\n\nbody"), 1_600_000_100);
    repo.write("b.txt", "clean\n");
    commit_at(&repo, &format!("use {t} for now"), 1_600_000_200);
    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["file"], "commit message");
    assert_eq!(findings[0]["commit"], first.as_str());
    assert_eq!(findings[0]["line"], 1);
    // The subject in the report is masked.
    let out = history(&repo, &[], &[secret_of(&t)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("use {}.*", id_of(&t))));
}

/// "Oldest first" holds when commit times tie: a parent is reported before its child.
#[test]
fn commits_with_the_same_time_are_reported_parents_first() {
    let repo = repo_with_readme();
    let mut expected = Vec::new();
    for i in 0..6 {
        repo.write(&format!("f{i}.env"), format!("DT_API_TOKEN={}\n", token()));
        expected.push(commit_at(&repo, &format!("c{i}"), 1_600_000_500));
    }
    let (code, findings) = history_json(&repo, &[], &[]);
    assert_eq!(code, Some(1));
    let commits: Vec<&str> = findings.iter().map(|f| f["commit"].as_str().unwrap()).collect();
    assert_eq!(commits, expected.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Creates an annotated tag `name` of `target` with `message`, tagged at `when`; returns the
/// tag object's id.
fn tag_at(repo: &TestRepo, name: &str, target: &str, message: &str, when: u64) -> String {
    let out = repo
        .git_cmd(&["tag", "-a", name, target, "-m", message])
        .env("GIT_COMMITTER_DATE", format!("{when} +0100"))
        .output()
        .unwrap();
    assert!(out.status.success(), "tag failed: {}", String::from_utf8_lossy(&out.stderr));
    repo.git(&["rev-parse", name]).trim().to_string()
}

/// Annotated tag messages are scanned: a token in one is reported as the file `tag message`
/// of the tag (its object id, tagger, date and name standing for a commit's), for the tags
/// the refs point at or the revisions name.
#[test]
fn a_token_in_an_annotated_tag_message_is_reported_at_the_tag() {
    let repo = repo_with_readme();
    let t = token();
    repo.write("a.txt", "clean\n");
    commit_at(&repo, "clean", 1_600_000_100);
    let tag = tag_at(&repo, "v1.0", "HEAD", &format!("release\n\nset it to {t}\n"), 1_600_000_200);
    let (code, findings) = history_json(&repo, &[], &[secret_of(&t)]);
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f["file"], "tag message");
    assert_eq!(f["commit"], tag.as_str());
    assert_eq!(f["author"], "Test Committer <committer@example.com>");
    assert_eq!(f["date"], "2020-09-13T13:30:00+01:00");
    assert_eq!(f["subject"], "tag v1.0");
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (Some(3), Some(11)));
    let out = history(&repo, &[], &[secret_of(&t)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tag v1.0") && text.contains("tag message:3:11"), "{text}");

    // Named among the revisions (alone, or as the end of a range): scanned; not named (a
    // branch, or the start of a range): not.
    for (args, found) in [
        (&["v1.0"][..], 1),
        (&["HEAD~1..v1.0"], 1),
        (&["main"], 0),
        (&["v1.0..main"], 0),
        (&["v1.0^{}"], 0),
    ] {
        let (code, findings) = history_json(&repo, args, &[secret_of(&t)]);
        assert_eq!(findings.len(), found, "{args:?}: {findings:?}");
        assert_eq!(code, Some(found as i32), "{args:?}");
    }

    // A tag of that tag: both messages are read, the token reported once (at the earlier).
    let outer = tag_at(&repo, "v1.0-signed-off", "v1.0", &format!("again {t}"), 1_600_000_300);
    let (_, findings) = history_json(&repo, &["--all-occurrences", "v1.0-signed-off"], &[]);
    let tags: Vec<&str> = findings.iter().map(|f| f["commit"].as_str().unwrap()).collect();
    assert_eq!(tags, [tag.as_str(), outer.as_str()]);
    // A lightweight tag has no message of its own.
    repo.git(&["tag", "-d", "v1.0", "v1.0-signed-off"]);
    repo.git(&["tag", "light"]);
    assert_eq!(history_json(&repo, &[], &[]).0, Some(0));
}
