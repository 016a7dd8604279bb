//! `scan --ci`: the commits of a CI job's push, pull request or merge request, worked out from
//! the variables and event files that GitHub Actions and GitLab CI set, in real repositories:
//! a developer pushes to a bare "server" repository, and the CI job runs in a fresh clone of
//! it (full, or shallow as CI systems make by default), detached at the pushed commit.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{secret_of, token, TestRepo};
use serde_json::{json, Value};
use tempfile::TempDir;

const ZEROS: &str = "0000000000000000000000000000000000000000";

/// A server (bare repository) and a developer's clone that pushes to it.
struct Server {
    dir: TempDir,
    dev: TestRepo,
}

impl Server {
    /// A server whose `main` holds a README commit and a commit with `old_token` (already on
    /// the default branch: CI scanned it when it was pushed).
    fn new(old_token: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("server.git");
        let mut c = Command::new("git");
        common::isolate(&mut c);
        assert!(c
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&bare)
            .status()
            .unwrap()
            .success());
        let dev = TestRepo::new();
        dev.write("README", "hello\n");
        dev.commit_all("initial");
        dev.write("legacy.env", format!("OLD_TOKEN={old_token}\n"));
        dev.commit_all("legacy token");
        dev.git(&["remote", "add", "origin", &url(&bare)]);
        dev.git(&["push", "-q", "-u", "origin", "main"]);
        Server { dir, dev }
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("server.git")
    }

    /// The developer's HEAD.
    fn head(&self) -> String {
        self.dev.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// A commit on the developer's current branch adding `file` with `content`.
    fn commit(&self, file: &str, content: &str, msg: &str) -> String {
        self.dev.write(file, content);
        self.dev.commit_all(msg);
        self.head()
    }

    fn push(&self, args: &[&str]) {
        let mut a = vec!["push", "-q"];
        a.extend_from_slice(args);
        self.dev.git(&a);
    }

    /// The CI job's clone, detached at `sha`, with `extra` clone options (`--depth 1`).
    fn runner(&self, sha: &str, extra: &[&str]) -> TestRepo {
        let dir = tempfile::Builder::new().prefix("tg-runner").tempdir().unwrap();
        let mut c = Command::new("git");
        common::isolate(&mut c);
        let out = c
            .args(["clone", "-q", "--no-checkout"])
            .args(extra)
            .arg(url(&self.bare()))
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "clone: {}", String::from_utf8_lossy(&out.stderr));
        let runner = TestRepo { dir };
        runner.git(&["checkout", "-q", "--detach", sha]);
        runner
    }
}

/// A `file://` URL, so that clones go through git's transport (only reachable objects, and
/// `--depth` honoured) as a CI system's clone over the network does.
fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `tokenguard scan --ci --format json` in `dir` with exactly the CI variables given (none
/// of the test process's own).
fn scan_ci(dir: &Path, vars: &[(&str, &str)]) -> Output {
    let mut c = common::tokenguard();
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("CI_") || k == "GITLAB_CI" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir).args(["scan", "--ci", "--format", "json"]).envs(vars.iter().copied());
    c.output().unwrap()
}

/// `scan_ci` for GitHub Actions: the event file is written and named as the runner does.
fn github(dir: &Path, event_name: &str, event: &Value) -> Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), event.to_string()).unwrap();
    let path = file.path().to_str().unwrap().to_string();
    scan_ci(
        dir,
        &[
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event_name),
            ("GITHUB_EVENT_PATH", &path),
            ("GITHUB_WORKSPACE", dir.to_str().unwrap()),
        ],
    )
}

/// The findings' (file, commit) pairs, after checking that no secret part was printed.
fn found(out: &Output, secrets: &[&str]) -> Vec<(String, String)> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for s in secrets {
        assert!(!stdout.contains(s) && !stderr.contains(s), "a secret part was printed");
    }
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}, stderr: {stderr}",
        out.status.code()
    );
    let v: Value = serde_json::from_str(&stdout).expect("a JSON report");
    let mut pairs: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().into(), f["commit"].as_str().unwrap().into()))
        .collect();
    pairs.sort();
    pairs
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn push_event(before: &str, after: &str, git_ref: &str) -> Value {
    json!({
        "ref": git_ref,
        "before": before,
        "after": after,
        "created": before == ZEROS,
        "deleted": after == ZEROS,
        "forced": false,
        "repository": {"default_branch": "main", "full_name": "org/app"},
    })
}

#[test]
fn github_push_scans_before_to_after_only() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let before = s.head();
    let bad = s.commit("deploy/values.yaml", &format!("apiToken: {new}\n"), "values");
    let after = s.commit("notes.txt", "clean\n", "notes");
    s.push(&["origin", "main"]);
    let runner = s.runner(&after, &[]);
    let out = github(runner.path(), "push", &push_event(&before, &after, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        found(&out, &[secret_of(&old), secret_of(&new)]),
        vec![("deploy/values.yaml".into(), bad)]
    );
    assert!(stderr(&out).contains("GitHub Actions: push to refs/heads/main"), "{}", stderr(&out));

    // A clean push passes, though the history holds tokens.
    let clean = s.commit("more.txt", "clean\n", "more");
    s.push(&["origin", "main"]);
    let runner = s.runner(&clean, &[]);
    let out = github(runner.path(), "push", &push_event(&after, &clean, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(found(&out, &[secret_of(&old), secret_of(&new)]).is_empty());
}

#[test]
fn github_forced_push_scans_what_the_branch_adds_to_the_default_branch() {
    let (old, a, b) = (token(), token(), token());
    let s = Server::new(&old);
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    let replaced = s.commit("a.env", &format!("A={a}\n"), "first try");
    s.push(&["-u", "origin", "feature"]);
    s.dev.git(&["reset", "-q", "--hard", "main"]);
    let kept = s.commit("b.env", &format!("B={b}\n"), "second try");
    let after = s.commit("c.txt", "clean\n", "more");
    s.push(&["-f", "origin", "feature"]);
    // The runner's clone does not have the replaced commit: the server no longer refers to it.
    let runner = s.runner(&after, &[]);
    assert!(!runner.git_output(&["cat-file", "-e", &replaced]).status.success());
    let mut event = push_event(&replaced, &after, "refs/heads/feature");
    event["forced"] = json!(true);
    let out = github(runner.path(), "push", &event);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        found(&out, &[secret_of(&old), secret_of(&a), secret_of(&b)]),
        vec![("b.env".into(), kept)]
    );
    assert!(stderr(&out).contains("forced push"), "{}", stderr(&out));
}

#[test]
fn github_new_branch_scans_its_commits_that_the_default_branch_lacks() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    let bad = s.commit("app.env", &format!("DT={new}\n"), "feature token");
    let after = s.commit("x.txt", "x\n", "more");
    s.push(&["-u", "origin", "feature"]);
    let runner = s.runner(&after, &[]);
    let out = github(runner.path(), "push", &push_event(ZEROS, &after, "refs/heads/feature"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &[secret_of(&old), secret_of(&new)]), vec![("app.env".into(), bad)]);

    // A new tag on the default branch adds nothing.
    s.dev.git(&["tag", "v1", "main"]);
    s.push(&["origin", "v1"]);
    let main = s.dev.git(&["rev-parse", "main"]).trim().to_string();
    let runner = s.runner(&main, &[]);
    let out = github(runner.path(), "push", &push_event(ZEROS, &main, "refs/tags/v1"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The first push of a repository (the default branch is new) scans all of it.
    let out = github(runner.path(), "push", &push_event(ZEROS, &main, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &[secret_of(&old)]).len(), 1);

    // A deleted branch: nothing to scan.
    let out = github(runner.path(), "push", &push_event(&after, ZEROS, "refs/heads/feature"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn github_pull_request_scans_base_to_head() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let base = s.head();
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    let bad = s.commit("k8s/secret.yaml", &format!("token: {new}\n"), "secret");
    let head = s.commit("y.txt", "y\n", "more");
    s.push(&["-u", "origin", "feature"]);
    let runner = s.runner(&head, &[]);
    for name in ["pull_request", "pull_request_target"] {
        let event = json!({
            "number": 7,
            "pull_request": {"number": 7, "base": {"sha": base, "ref": "main"},
                             "head": {"sha": head, "ref": "feature"}},
            "repository": {"default_branch": "main"},
        });
        let out = github(runner.path(), name, &event);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert_eq!(
            found(&out, &[secret_of(&old), secret_of(&new)]),
            vec![("k8s/secret.yaml".into(), bad.clone())]
        );
        assert!(stderr(&out).contains("pull request #7"), "{}", stderr(&out));
    }
}

#[test]
fn github_other_events_scan_everything_fetched() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    s.commit("f.env", &format!("T={new}\n"), "feature token");
    s.push(&["-u", "origin", "feature"]);
    let main = s.dev.git(&["rev-parse", "main"]).trim().to_string();
    let runner = s.runner(&main, &[]);
    let out = github(runner.path(), "schedule", &json!({"schedule": "0 3 * * *"}));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let files: Vec<String> =
        found(&out, &[secret_of(&old), secret_of(&new)]).into_iter().map(|p| p.0).collect();
    assert_eq!(files, vec!["f.env".to_string(), "legacy.env".to_string()]);
}

#[test]
fn github_shallow_clone_is_an_error_that_says_to_fetch_the_history() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let before = s.head();
    s.commit("a.env", &format!("A={new}\n"), "token");
    let after = s.commit("b.txt", "b\n", "more");
    s.push(&["origin", "main"]);
    // actions/checkout's default: depth 1.
    let runner = s.runner(&after, &["--depth", "1"]);
    let out = github(runner.path(), "push", &push_event(&before, &after, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("fetch-depth: 0") && e.contains("shallow"), "{e}");
    assert!(!e.contains(secret_of(&new)) && out.stdout.is_empty());

    // Deep enough for this push (the range stops above the boundary): scanned.
    let runner = s.runner(&after, &["--depth", "3"]);
    let out = github(runner.path(), "push", &push_event(&before, &after, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &[secret_of(&new)]).len(), 1);

    // The range reaches the boundary: the boundary commit would look as if it added every
    // token of its files.
    let runner = s.runner(&after, &["--depth", "2"]);
    let out = github(runner.path(), "push", &push_event(ZEROS, &after, "refs/heads/main"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("boundary"), "{}", stderr(&out));
}

fn gitlab(dir: &Path, vars: &[(&str, &str)]) -> Output {
    let mut all = vec![("CI", "true"), ("GITLAB_CI", "true"), ("CI_DEFAULT_BRANCH", "main")];
    all.extend_from_slice(vars);
    scan_ci(dir, &all)
}

#[test]
fn gitlab_push_merge_request_new_branch_and_tag() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let base = s.head();
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    let bad = s.commit("ci/vars.yml", &format!("DT_TOKEN: {new}\n"), "vars");
    let head = s.commit("z.txt", "z\n", "more");
    s.push(&["-u", "origin", "feature"]);
    let secrets = [secret_of(&old), secret_of(&new)];
    let expected = vec![("ci/vars.yml".to_string(), bad.clone())];
    let runner = s.runner(&head, &[]);

    // A push: CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA.
    let out = gitlab(
        runner.path(),
        &[
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_BRANCH", "feature"),
            ("CI_COMMIT_BEFORE_SHA", &base),
            ("CI_COMMIT_SHA", &head),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &secrets), expected);
    // A push of the clean commit on top only: clean.
    let out = gitlab(
        runner.path(),
        &[
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_BRANCH", "feature"),
            ("CI_COMMIT_BEFORE_SHA", &bad),
            ("CI_COMMIT_SHA", &head),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A merge request: CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA.
    let out = gitlab(
        runner.path(),
        &[
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_IID", "3"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base),
            ("CI_COMMIT_BEFORE_SHA", ZEROS),
            ("CI_COMMIT_SHA", &head),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &secrets), expected);
    assert!(stderr(&out).contains("GitLab CI: merge request !3"), "{}", stderr(&out));

    // A new branch (before = zeros): against CI_DEFAULT_BRANCH.
    let new_branch = [
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_COMMIT_BRANCH", "feature"),
        ("CI_COMMIT_BEFORE_SHA", ZEROS),
        ("CI_COMMIT_SHA", head.as_str()),
    ];
    let out = gitlab(runner.path(), &new_branch);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &secrets), expected);

    // A tag of the feature's commit: what the default branch lacks.
    let out = gitlab(
        runner.path(),
        &[
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_TAG", "v2"),
            ("CI_COMMIT_BEFORE_SHA", ZEROS),
            ("CI_COMMIT_SHA", &head),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(found(&out, &secrets), expected);

    // GitLab fetches only the pipeline's branch: without the default branch, a new branch
    // cannot be scanned, and the error says what to fetch.
    let only = s.runner(&head, &["--single-branch", "--branch", "feature"]);
    let out = gitlab(only.path(), &new_branch);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("refs/remotes/origin/main"), "{}", stderr(&out));
    only.git(&["fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main"]);
    let out = gitlab(only.path(), &new_branch);
    assert_eq!(found(&out, &secrets), expected);
}

#[test]
fn gitlab_shallow_clone_is_an_error_that_says_git_depth_0() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let before = s.head();
    s.commit("a.env", &format!("A={new}\n"), "token");
    let after = s.commit("b.txt", "b\n", "more");
    s.push(&["origin", "main"]);
    let runner = s.runner(&after, &["--depth", "1"]);
    let out = gitlab(
        runner.path(),
        &[
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_COMMIT_BEFORE_SHA", &before),
            ("CI_COMMIT_SHA", &after),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("GIT_DEPTH: 0"), "{}", stderr(&out));
}

#[test]
fn outside_a_known_ci_is_an_error() {
    let s = Server::new(&token());
    let out = scan_ci(s.dev.path(), &[("CI", "true")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no known CI system"), "{}", stderr(&out));
    // --ci takes no revisions.
    let out = common::tokenguard()
        .current_dir(s.dev.path())
        .args(["scan", "--ci", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Runs ci/github-action.sh (the GitHub Action's logic) as the action runs it: the variables
/// GitHub sets, the action's inputs, a job summary file and an outputs file.
struct ActionRun {
    status: Option<i32>,
    log: String,
    summary: String,
    outputs: String,
}

fn action(runner: &Path, event_name: &str, event: &Value, inputs: &[(&str, &str)]) -> ActionRun {
    let tmp = tempfile::tempdir().unwrap();
    let event_file = tmp.path().join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let (summary, outputs) = (tmp.path().join("summary.md"), tmp.path().join("output"));
    std::fs::write(&summary, "").unwrap();
    let mut c = Command::new("bash");
    common::isolate(&mut c);
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("CI_") || k.starts_with("INPUT_") {
            c.env_remove(k);
        }
    }
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/github-action.sh"))
        .arg("scan")
        .current_dir(tmp.path())
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", &event_file)
        .env("GITHUB_WORKSPACE", runner)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", tmp.path())
        .env("TOKENGUARD_BIN", common::tokenguard_path())
        .envs(inputs.iter().copied());
    let out = c.output().unwrap();
    ActionRun {
        status: out.status.code(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        summary: std::fs::read_to_string(&summary).unwrap(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
    }
}

fn pull_request(base: &str, head: &str) -> Value {
    json!({
        "number": 12,
        "pull_request": {"number": 12, "base": {"sha": base, "ref": "main"},
                         "head": {"sha": head, "ref": "feature"}},
        "repository": {"default_branch": "main"},
    })
}

#[test]
fn github_action_writes_sarif_a_summary_and_annotations_and_fails_on_tokens() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    let base = s.head();
    s.dev.git(&["checkout", "-q", "-b", "feature"]);
    // A hostile file name and commit message: escaped in the summary and the annotations.
    let bad = s.commit(
        "deploy/a|b <i>.yaml",
        &format!("apiToken: {new}\n"),
        "values | <script>x</script> *bold*",
    );
    let head = s.commit("c.txt", "c\n", "more");
    s.push(&["-u", "origin", "feature"]);
    let runner = s.runner(&head, &[]);
    let sarif = runner.path().join("out/tokenguard.sarif");
    std::fs::create_dir_all(sarif.parent().unwrap()).unwrap();
    let html = runner.path().join("out/tokenguard.html");
    let run = action(
        runner.path(),
        "pull_request",
        &pull_request(&base, &head),
        &[("INPUT_SARIF", sarif.to_str().unwrap()), ("INPUT_HTML", html.to_str().unwrap())],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("deploy/a|b"));
    assert!(!page.contains(secret_of(&new)));
    for text in [&run.log, &run.summary] {
        assert!(
            !text.contains(secret_of(&new)) && !text.contains(secret_of(&old)),
            "a secret part was printed"
        );
    }
    assert_eq!(run.status, Some(1), "{}", run.log);
    // The job summary: the count, the scope, and a row with the masked token, escaped.
    assert!(run.summary.contains("**1 token(s) found**"), "{}", run.summary);
    assert!(run.summary.contains("(pull request \\#12: "), "{}", run.summary);
    let id = new.rsplit_once('.').unwrap().0;
    let row = run.summary.lines().find(|l| l.contains(id)).expect("a row with the token id");
    assert!(row.starts_with("| deploy/a\\|b &#60;i&#62;.yaml | 1:11 | <code>"), "{row}");
    assert!(
        row.contains(&bad[..12]) && row.contains("&#60;script&#62;") && row.contains("\\*bold\\*"),
        "{row}"
    );
    assert!(!run.summary.contains("<script>") && !run.summary.contains("<i>"));
    // An annotation on the file and line.
    assert!(run.log.contains("::error file=deploy/a|b <i>.yaml,line=1,col=11,title=tokenguard%3A dynatrace-api-token::"), "{}", run.log);
    // Outputs and the SARIF log.
    assert!(
        run.outputs.contains("findings=1\n") && run.outputs.contains("allowed=0\n"),
        "{}",
        run.outputs
    );
    assert!(run.outputs.contains(&format!("sarif={}", sarif.display())), "{}", run.outputs);
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["properties"]["commit"], bad.as_str());

    // The token's id allowed by the configuration input: the job passes, the summary says so.
    let config = runner.path().join("ci-config.toml");
    std::fs::write(&config, format!("[allow]\ntokens = [\"{id}\"]\n")).unwrap();
    let run = action(
        runner.path(),
        "pull_request",
        &pull_request(&base, &head),
        &[("INPUT_SARIF", sarif.to_str().unwrap()), ("INPUT_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(run.status, Some(0), "{}", run.log);
    assert!(
        run.summary.contains(":white_check_mark: No tokens") && run.summary.contains("(1 allowed)"),
        "{}",
        run.summary
    );
    assert!(run.outputs.contains("findings=0\n") && run.outputs.contains("allowed=1\n"));
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);

    // A baseline input that holds the finding: passes too.
    let baseline = runner.path().join("baseline.json");
    let out = common::tokenguard()
        .current_dir(runner.path())
        .args(["baseline", "-o", baseline.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run = action(
        runner.path(),
        "pull_request",
        &pull_request(&base, &head),
        &[("INPUT_BASELINE", baseline.to_str().unwrap())],
    );
    assert_eq!(run.status, Some(0), "{}", run.log);

    // pull_request_target checks out the base; a fork's head exists only as refs/pull/N/head
    // on the server: the action fetches it.
    s.dev.git(&["push", "-q", "origin", &format!("{head}:refs/pull/12/head")]);
    s.dev.git(&["push", "-q", "origin", "--delete", "feature"]);
    let base_only = s.runner(&base, &[]);
    assert!(!base_only.git_output(&["cat-file", "-e", &head]).status.success());
    let run = action(base_only.path(), "pull_request_target", &pull_request(&base, &head), &[]);
    assert_eq!(run.status, Some(1), "{}", run.log);
    assert!(run.log.contains("fetching the pull request's head"), "{}", run.log);
    assert!(run.summary.contains("**1 token(s) found**"), "{}", run.summary);

    // A shallow checkout: the job fails with the advice, and no summary claims it is clean.
    s.dev.git(&["push", "-q", "origin", "feature"]);
    let shallow = s.runner(&head, &["--depth", "1", "--branch", "feature"]);
    let run = action(shallow.path(), "pull_request", &pull_request(&base, &head), &[]);
    assert_eq!(run.status, Some(2), "{}", run.log);
    assert!(run.log.contains("fetch-depth: 0"), "{}", run.log);
    assert!(run.summary.is_empty(), "{}", run.summary);
}

/// Slow: the action's build step, a real `cargo install` from the action's source (release
/// build). Run by .ci/run with --ignored.
#[test]
#[ignore = "slow: a real cargo install (run by .ci/run with --ignored)"]
fn github_action_builds_tokenguard_once_and_reuses_it() {
    let root = tempfile::tempdir().unwrap();
    let outputs = root.path().join("outputs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/github-action.sh");
    let step = |name: &str| {
        let mut c = Command::new("bash");
        common::isolate(&mut c);
        common::without_cargo_test_env(&mut c);
        c.arg(&script)
            .arg(name)
            .env("TOKENGUARD_ROOT", root.path())
            .env("GITHUB_OUTPUT", &outputs)
            .env_remove("TOKENGUARD_BIN")
            // The shared target folder: .ci/run's release build of this checkout is reused.
            .env("CARGO_TARGET_DIR", common::shared_release_target());
        let out = c.output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(out.status.success(), "{name}: {log}");
        log
    };
    step("key");
    let keys = std::fs::read_to_string(&outputs).unwrap();
    assert!(keys.starts_with("key=tokenguard-Linux-"), "{keys}");
    assert!(keys.contains(&format!("root={}", root.path().display())), "{keys}");
    let first = step("install");
    assert!(first.contains("building tokenguard"), "{first}");
    let bin = root.path().join("bin/tokenguard");
    assert!(bin.is_file());
    // Restored from the cache: not built again.
    let second = step("install");
    assert!(second.contains(&format!("using {}", bin.display())), "{second}");
    assert!(second.contains(&format!("tokenguard {}", env!("CARGO_PKG_VERSION"))), "{second}");
}

/// gitlab-ci-local (npm) runs GitLab CI jobs on this machine; with `--force-shell-executor`
/// it runs the template's job in the repository itself, with the `CI_*` variables it derives
/// from the repository (CI_COMMIT_SHA, CI_COMMIT_BRANCH, CI_DEFAULT_BRANCH from
/// origin/HEAD, CI_PIPELINE_SOURCE=push, GITLAB_CI=false) plus those given with --variable.
fn gitlab_ci_local(repo: &TestRepo, vars: &[(&str, &str)]) -> Option<(Option<i32>, String)> {
    let bin = format!("TOKENGUARD_BIN={}", common::tokenguard_path().display());
    let mut all = vec![bin];
    all.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
    run_gitlab_ci_local(repo, &all)
}

/// gitlab-ci-local with exactly the `--variable`s given.
fn run_gitlab_ci_local(repo: &TestRepo, vars: &[String]) -> Option<(Option<i32>, String)> {
    let missing = ["gitlab-ci-local", "rsync"].into_iter().find(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
    });
    if let Some(tool) = missing {
        eprintln!(
            "note: the GitLab template is not run: {tool} is missing \
             (npm install -g gitlab-ci-local; apt-get install rsync; .ci/run installs both)"
        );
        return None;
    }
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new("gitlab-ci-local");
    common::isolate(&mut c);
    common::without_cargo_test_env(&mut c);
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("CI_") || k == "GITLAB_CI" {
            c.env_remove(k);
        }
    }
    c.current_dir(repo.path())
        .env("HOME", home.path())
        .args(["--force-shell-executor", "--no-color"]);
    for v in vars {
        c.arg("--variable").arg(v);
    }
    let out = c.arg("tokenguard").output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    Some((out.status.code(), log))
}

/// The findings' files in the job's JSON artifact.
fn artifact_files(repo: &TestRepo) -> Vec<String> {
    let text = std::fs::read_to_string(repo.path().join("tokenguard.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap().into()).collect()
}

#[test]
fn gitlab_template_runs_in_gitlab_ci_local_and_fails_a_branch_with_a_token() {
    let (old, new) = (token(), token());
    let s = Server::new(&old);
    // The project's pipeline includes the template, as a user's would.
    let template =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/tokenguard.gitlab-ci.yml"))
            .unwrap();
    s.dev.write("ci/tokenguard.gitlab-ci.yml", template);
    s.dev.write(".gitignore", "tokenguard.json\ntokenguard.sarif\n");
    let base =
        s.commit(".gitlab-ci.yml", "include:\n  - local: ci/tokenguard.gitlab-ci.yml\n", "ci");
    s.push(&["origin", "main"]);
    s.dev.git(&["remote", "set-head", "origin", "main"]);
    s.dev.git(&["checkout", "-q", "-b", "leak"]);
    s.commit("config/app.env", &format!("DT_API_TOKEN={new}\n"), "app settings");
    let leak_tip = s.commit("notes.txt", "notes\n", "notes");
    s.push(&["-u", "origin", "leak"]);
    s.dev.git(&["checkout", "-q", "-b", "clean", "main"]);
    let clean_tip = s.commit("src/app.py", "print('hello')\n", "app");
    s.push(&["-u", "origin", "clean"]);
    let secrets = [secret_of(&old), secret_of(&new)];

    // A clean new branch passes, though main's history holds a token.
    let Some((status, log)) = gitlab_ci_local(&s.dev, &[]) else { return };
    assert!(secrets.iter().all(|x| !log.contains(x)), "a secret part was printed");
    assert_eq!(status, Some(0), "{log}");
    assert!(log.contains("GitLab CI: push to refs/heads/clean: new"), "{log}");
    assert!(log.contains("PASS") && log.contains("tokenguard"), "{log}");
    assert!(artifact_files(&s.dev).is_empty());

    // The branch with a token fails, in the log and in the artifacts.
    s.dev.git(&["checkout", "-q", "leak"]);
    let (status, log) = gitlab_ci_local(&s.dev, &[]).unwrap();
    assert!(secrets.iter().all(|x| !log.contains(x)), "a secret part was printed");
    assert_ne!(status, Some(0), "{log}");
    assert!(log.contains("FAIL") && log.contains("config/app.env"), "{log}");
    assert_eq!(artifact_files(&s.dev), ["config/app.env"]);
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(s.dev.path().join("tokenguard.sarif")).unwrap(),
    )
    .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);

    // A merge request of the branch: the diff base..head holds the token.
    let mr = [
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "4"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
    ];
    let (status, log) = gitlab_ci_local(&s.dev, &mr).unwrap();
    assert_ne!(status, Some(0), "{log}");
    assert!(log.contains("merge request !4"), "{log}");
    // A later push of a clean commit on top: only the new commit is scanned.
    s.commit("more.txt", "more\n", "more");
    let (status, log) =
        gitlab_ci_local(&s.dev, &[("CI_COMMIT_BEFORE_SHA", leak_tip.as_str())]).unwrap();
    assert_eq!(status, Some(0), "{log}");
    s.dev.git(&["checkout", "-q", "clean"]);
    let (status, log) = gitlab_ci_local(&s.dev, &mr).unwrap();
    assert_eq!(status, Some(0), "{log}");
    let (status, log) =
        gitlab_ci_local(&s.dev, &[("CI_COMMIT_BEFORE_SHA", base.as_str())]).unwrap();
    assert_eq!(status, Some(0), "{log}");
    assert!(log.contains(&format!("{}..{}", &base[..12], &clean_tip[..12])), "{log}");
}

/// Slow: the template's own build step, `cargo install --git URL --rev REF` from this
/// repository's committed HEAD (release build). Run by .ci/run with --ignored.
#[test]
#[ignore = "slow: a real cargo install (run by .ci/run with --ignored)"]
fn gitlab_template_builds_tokenguard_from_the_pinned_git_url() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let head = c.arg("-C").arg(source).args(["rev-parse", "HEAD"]).output().unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let s = Server::new(&token());
    let template = std::fs::read(source.join("ci/tokenguard.gitlab-ci.yml")).unwrap();
    s.dev.write("ci/tokenguard.gitlab-ci.yml", template);
    s.dev.write(".gitignore", ".tokenguard-build/\ntokenguard.json\ntokenguard.sarif\n");
    s.commit(".gitlab-ci.yml", "include:\n  - local: ci/tokenguard.gitlab-ci.yml\n", "ci");
    s.push(&["origin", "main"]);
    s.dev.git(&["checkout", "-q", "-b", "clean"]);
    s.commit("a.txt", "a\n", "a");
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    let vars = [
        format!("TOKENGUARD_GIT_URL=file://{}", source.display()),
        format!("TOKENGUARD_REF={head}"),
        format!("CARGO_HOME={cargo_home}"),
        "CARGO_NET_GIT_FETCH_WITH_CLI=true".to_string(),
        // The shared target folder: the dependencies are reused (tokenguard itself is built
        // again: a git checkout is another package source).
        format!("CARGO_TARGET_DIR={}", common::shared_release_target().display()),
    ];
    let Some((status, log)) = run_gitlab_ci_local(&s.dev, &vars) else { return };
    assert_eq!(status, Some(0), "{log}");
    assert!(log.contains(&format!("building tokenguard {head}")), "{log}");
    assert!(s.dev.path().join(format!(".tokenguard-build/{head}/bin/tokenguard")).is_file());
    // The next pipeline finds it in the cache folder.
    let (status, log) = run_gitlab_ci_local(&s.dev, &vars).unwrap();
    assert_eq!(status, Some(0), "{log}");
    assert!(!log.contains("building tokenguard"), "{log}");
}
