//! The configuration (.tokenguard.toml and the user's file), each allow mechanism, the errors
//! that fail closed, and the baseline: through the real binary in temp repositories.

mod common;

use std::process::Output;

use common::{secret_of, token, TestRepo};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that no secret of `tokens` appears in the output.
fn assert_no_secret(o: &Output, tokens: &[&str]) {
    for t in tokens {
        let s = secret_of(t);
        assert!(!stdout(o).contains(s), "secret in stdout:\n{}", stdout(o));
        assert!(!stderr(o).contains(s), "secret in stderr:\n{}", stderr(o));
    }
}

/// `tokenguard scan ARGS` in `repo`.
fn scan(repo: &TestRepo, args: &[&str]) -> Output {
    repo.tokenguard().arg("scan").args(args).output().unwrap()
}

/// The JSON report of `scan ARGS --format json`.
fn scan_json(repo: &TestRepo, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = repo.tokenguard().arg("scan").args(args).args(["--format", "json"]).output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", stdout(&o), stderr(&o));
    });
    (o.status.code(), v)
}

fn reasons(v: &serde_json::Value) -> Vec<String> {
    v["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["allowed_by"].as_str().unwrap().to_string())
        .collect()
}

/// A repository with `config` as .tokenguard.toml and one file holding a fresh token.
fn repo_with(config: &str, file: &str, line: impl Fn(&str) -> String) -> (TestRepo, String) {
    let repo = TestRepo::new();
    repo.write(".tokenguard.toml", config);
    let t = token();
    repo.write(file, line(&t));
    (repo, t)
}

fn token_id(t: &str) -> &str {
    &t[..t.rfind('.').unwrap()]
}

// ---------------------------------------------------------------- allow mechanisms

#[test]
fn allow_tokens_lists_a_token_id() {
    let repo = TestRepo::new();
    let (allowed, other) = (token(), token());
    repo.write(".tokenguard.toml", format!("[allow]\ntokens = [\"{}\"]\n", token_id(&allowed)));
    repo.write("a.env", format!("A={allowed}\nB={other}\n"));
    let (code, v) = scan_json(&repo, &["a.env"]);
    assert_eq!(code, Some(1), "the other token still blocks");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(v["allowed"][0]["line"], 1);
    assert_eq!(
        reasons(&v),
        ["config .tokenguard.toml: [allow] tokens[0]"],
        "the entry is named by its place, never by its text"
    );
    let o = scan(&repo, &["a.env", "--verbose"]);
    assert!(stdout(&o).contains("1 token(s) found (1 allowed)"), "{}", stdout(&o));
    assert!(stdout(&o).contains("allowed by:  config .tokenguard.toml: [allow] tokens"));
    assert_no_secret(&o, &[&allowed, &other]);
}

#[test]
fn allow_fingerprints_lists_a_fingerprint_as_printed() {
    let (repo, t) = repo_with("", "a.env", |t| format!("T={t}\n"));
    let (code, v) = scan_json(&repo, &["a.env"]);
    assert_eq!(code, Some(1));
    let print = v["findings"][0]["fingerprint"].as_str().unwrap().to_string();
    repo.write(".tokenguard.toml", format!("[allow]\nfingerprints = [\"{print}\"]\n"));
    let (code, v) = scan_json(&repo, &["a.env"]);
    assert_eq!(code, Some(0));
    assert_eq!(reasons(&v), ["config .tokenguard.toml: [allow] fingerprints[0]"]);
    let o = scan(&repo, &["a.env"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("no tokens found (1 allowed)"), "{}", stdout(&o));
    assert_no_secret(&o, &[&t]);
}

#[test]
fn allow_paths_globs_are_relative_to_the_work_tree_root_however_the_file_is_named() {
    let repo = TestRepo::new();
    repo.write(".tokenguard.toml", "[allow]\npaths = [\"tests/fixtures/**\"]\n");
    let (fixture, real) = (token(), token());
    repo.write("tests/fixtures/deep/a.env", format!("T={fixture}\n"));
    repo.write("tests/real.env", format!("T={real}\n"));
    // A file of the same name outside the fixtures folder is not allowed.
    repo.write("other/tests/fixtures/x.env", format!("T={real}\n"));
    let (code, v) = scan_json(&repo, &["."]);
    assert_eq!(code, Some(1));
    let files: Vec<&str> =
        v["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["./other/tests/fixtures/x.env", "./tests/real.env"]);
    assert_eq!(v["allowed"][0]["file"], "./tests/fixtures/deep/a.env", "reports keep the path");
    assert_eq!(reasons(&v), ["config .tokenguard.toml: [allow] paths[0]"], "named by its place");
    // Named from a sub-folder, by an absolute path, or with `..`: still under the root.
    let sub = repo.path().join("tests");
    let o = repo
        .tokenguard()
        .current_dir(&sub)
        .args(["scan", "fixtures/deep/a.env", "../tests/fixtures/deep/a.env"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let abs = repo.path().join("tests/fixtures/deep/a.env");
    let o = common::tokenguard().arg("scan").arg(&abs).output().unwrap();
    // Run from outside the repository: the root is the current folder's, so nothing matches.
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = repo.tokenguard().arg("scan").arg(&abs).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_no_secret(&o, &[&fixture, &real]);
}

#[test]
fn allow_regexes_allow_findings_whose_line_matches() {
    let repo = TestRepo::new();
    repo.write(".tokenguard.toml", "[allow]\nregexes = ['example-only', '^\\s*#']\n");
    let ts = [token(), token(), token()];
    repo.write("a.md", format!("T={} # example-only\n   # T={}\nT={}\n", ts[0], ts[1], ts[2]));
    let (code, v) = scan_json(&repo, &["a.md"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["line"], 3);
    assert_eq!(
        reasons(&v),
        [
            "config .tokenguard.toml: [allow] regexes[0]",
            "config .tokenguard.toml: [allow] regexes[1]"
        ]
    );
}

#[test]
fn inline_marker_allows_its_line_only() {
    let repo = TestRepo::new();
    let (a, b) = (token(), token());
    repo.write("a.py", format!("A = '{a}'  # tokenguard:allow\nB = '{b}'\n"));
    let (code, v) = scan_json(&repo, &["a.py"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(reasons(&v), ["inline marker tokenguard:allow"]);
}

#[test]
fn other_scanners_markers_allow_only_when_the_configuration_lists_them() {
    let repo = TestRepo::new();
    let (a, b, c) = (token(), token(), token());
    repo.write(
        "a.py",
        format!("A = '{a}'  # gitleaks:allow\nB = '{b}'  # pragma: allowlist secret\nC = '{c}'\n"),
    );
    // Not by default: another tool's marker is not a decision made for tokenguard.
    let (code, v) = scan_json(&repo, &["a.py"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    // Listed (docs/config.md): those two lines pass, the third still blocks.
    repo.write(
        ".tokenguard.toml",
        "[allow]\nregexes = ['gitleaks:allow', 'pragma: allowlist secret']\n",
    );
    let (code, v) = scan_json(&repo, &["a.py"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["line"], 3);
}

#[test]
fn allow_commits_skips_the_listed_commits_in_history_scans() {
    let repo = TestRepo::new();
    let (old, new) = (token(), token());
    repo.write("a.env", format!("T={old}\n"));
    repo.commit_all("old token");
    let skipped = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write("b.env", format!("T={new}\n"));
    repo.commit_all("new token");
    repo.write(".tokenguard.toml", format!("[allow]\ncommits = [\"{}\"]\n", &skipped[..10]));
    let (code, v) = scan_json(&repo, &["--history"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["file"], "b.env");
    assert_eq!(v["allowed"][0]["commit"], skipped.as_str());
    assert_eq!(reasons(&v), ["config .tokenguard.toml: [allow] commits[0]"]);
}

#[test]
fn scan_disable_turns_a_rule_off() {
    let repo = TestRepo::new();
    let legacy = common::legacy_token();
    repo.write("a.sh", format!("curl -H 'Authorization: Api-Token {legacy}' x\n"));
    assert_eq!(scan(&repo, &["a.sh"]).status.code(), Some(1));
    repo.write(".tokenguard.toml", "[scan]\ndisable = [\"dynatrace-legacy-token\"]\n");
    let o = scan(&repo, &["a.sh"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(!stdout(&o).contains(&legacy) && !stderr(&o).contains(&legacy));
}

#[test]
fn custom_rules_find_their_tokens_and_mask_the_secret_group() {
    let repo = TestRepo::new();
    repo.write(
        ".tokenguard.toml",
        r#"
[[rules]]
id = "acme-key"
description = "ACME key"
regex = 'ACME_(?P<secret>[A-Z0-9]{20})'
keywords = ["ACME_"]

[[rules]]
id = "bare"
regex = 'zz[0-9]{12}zz'
"#,
    );
    let secret = common::Rng::new().chars(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);
    let bare = format!("zz{}zz", common::Rng::new().chars(b"0123456789", 12));
    repo.write("a.cfg", format!("key = ACME_{secret}\nother = {bare}\n"));
    let (code, v) = scan_json(&repo, &["a.cfg"]);
    assert_eq!(code, Some(1));
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{v}");
    assert_eq!(f[0]["rule"], "acme-key");
    assert_eq!(f[0]["description"], "ACME key");
    assert_eq!(f[1]["rule"], "bare");
    assert_eq!(f[1]["description"], "custom rule bare");
    let text = v.to_string();
    assert!(!text.contains(&secret) && !text.contains(&bare), "{text}");
    assert!(f[0]["masked"].as_str().unwrap().starts_with("ACME_*"));
    // Custom rules count for `[scan] disable` and the allowlist like built-in ones.
    let cfg = std::fs::read_to_string(repo.path().join(".tokenguard.toml")).unwrap();
    repo.write(".tokenguard.toml", format!("[scan]\ndisable = [\"bare\"]\n{cfg}"));
    let (code, v) = scan_json(&repo, &["a.cfg"]);
    assert_eq!((code, v["findings"].as_array().unwrap().len()), (Some(1), 1));
    assert_eq!(v["findings"][0]["rule"], "acme-key");
}

#[test]
fn the_users_file_is_extended_by_the_repositorys() {
    let repo = TestRepo::new();
    let xdg = tempfile::tempdir().unwrap();
    let (a, b, c) = (token(), token(), token());
    std::fs::create_dir_all(xdg.path().join("tokenguard")).unwrap();
    std::fs::write(
        xdg.path().join("tokenguard/config.toml"),
        format!("[allow]\ntokens = [\"{}\"]\n", token_id(&a)),
    )
    .unwrap();
    repo.write(".tokenguard.toml", format!("[allow]\ntokens = [\"{}\"]\n", token_id(&b)));
    repo.write("a.env", format!("A={a}\nB={b}\nC={c}\n"));
    let o = repo
        .tokenguard()
        .env("XDG_CONFIG_HOME", xdg.path())
        .args(["scan", "a.env", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["line"], 3);
    let r = reasons(&v);
    assert_eq!(r.len(), 2);
    assert!(r[0].ends_with("tokenguard/config.toml: [allow] tokens[0]"), "{r:?}");
    assert_eq!(r[1], "config .tokenguard.toml: [allow] tokens[0]", "{r:?}");
}

#[test]
fn config_flag_and_environment_replace_the_repositorys_file() {
    let repo = TestRepo::new();
    let t = token();
    repo.write("a.env", format!("T={t}\n"));
    repo.write(".tokenguard.toml", "[allow]\nbogus = 1\n");
    repo.write("ok.toml", format!("[allow]\ntokens = [\"{}\"]\n", token_id(&t)));
    let o = scan(&repo, &["a.env", "--config", "ok.toml", "-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("config ok.toml: [allow] tokens[0]"), "{}", stdout(&o));
    let o = repo
        .tokenguard()
        .env("TOKENGUARD_CONFIG", repo.path().join("ok.toml"))
        .args(["scan", "a.env"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A file named explicitly must exist.
    let o = scan(&repo, &["a.env", "--config", "missing.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    assert_no_secret(&o, &[&t]);
}

// ---------------------------------------------------------------- errors fail closed

/// Writes `config`, scans a file holding a token, and checks: exit 2, one message naming the
/// file, the line and the key, no report on stdout, no secret anywhere.
fn assert_config_error(config: &str, line: usize, key: &str) -> String {
    let (repo, t) = repo_with(config, "a.env", |t| format!("T={t}\n"));
    let o = scan(&repo, &["a.env"]);
    assert_eq!(o.status.code(), Some(2), "{config}\n{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("invalid configuration in .tokenguard.toml"), "{err}");
    assert!(err.contains(&format!("line {line}, column ")), "{err}");
    assert!(err.contains(&format!("key `{key}`")), "{err}");
    assert!(stdout(&o).is_empty(), "no report when the configuration is broken");
    assert_no_secret(&o, &[&t]);
    err
}

#[test]
fn a_config_that_does_not_parse_is_an_error() {
    assert_config_error("[allow]\ntokens = [\"a\"\npaths = []\n", 3, "allow.tokens");
    assert_config_error("[allow\n", 1, "allow");
}

#[test]
fn an_unknown_key_is_an_error() {
    let e = assert_config_error("[allow]\npaths = []\npath = [\"x\"]\n", 3, "allow.path");
    assert!(e.contains("unknown field `path`"), "{e}");
    assert_config_error("[scan]\ndisabled = []\n", 2, "scan.disabled");
    assert_config_error("\n[allowlist]\n", 2, "allowlist");
}

#[test]
fn an_invalid_regex_or_glob_is_an_error() {
    let e = assert_config_error("[allow]\nregexes = ['ok', 'a(b']\n", 2, "allow.regexes[1]");
    assert!(e.contains("column 18") && e.contains("invalid regex"), "{e}");
    assert_config_error("[allow]\npaths = ['a/{b']\n", 2, "allow.paths[0]");
    assert_config_error("[[rules]]\nid = 'x'\nregex = '[z-a]'\n", 3, "rules[0].regex");
}

#[test]
fn a_custom_rule_without_id_or_regex_or_with_a_taken_id_is_an_error() {
    let e = assert_config_error("\n[[rules]]\nregex = 'x'\n", 2, "rules[0]");
    assert!(e.contains("without `id`"), "{e}");
    let e = assert_config_error(
        "[[rules]]\nid = 'a'\nregex = 'x'\n\n[[rules]]\nid = 'b'\n",
        5,
        "rules[1]",
    );
    assert!(e.contains("custom rule \"b\" without `regex`"), "{e}");
    let e = assert_config_error(
        "[[rules]]\nid = 'a'\nregex = 'x'\n[[rules]]\nid = 'a'\nregex = 'y'\n",
        5,
        "rules[1].id",
    );
    assert!(e.contains("already taken"), "{e}");
    assert_config_error("[[rules]]\nid = 'dynatrace-api-token'\nregex = 'x'\n", 2, "rules[0].id");
}

#[test]
fn an_unknown_rule_id_in_disable_is_an_error() {
    let e = assert_config_error(
        "[scan]\ndisable = ['dynatrace-legacy-token', 'nope']\n",
        2,
        "scan.disable[1]",
    );
    assert!(e.contains("unknown rule id \"nope\""), "{e}");
}

#[test]
fn a_regex_too_large_to_compile_is_refused_quickly() {
    let started = std::time::Instant::now();
    let e = assert_config_error(
        "[[rules]]\nid = 'huge'\nregex = '(\\w{100}){100}'\n",
        3,
        "rules[0].regex",
    );
    assert!(e.contains("regex too large"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_whole_token_in_the_allowlist_is_refused_and_not_echoed() {
    let t = token();
    let e = assert_config_error(&format!("[allow]\ntokens = [\"{t}\"]\n"), 2, "allow.tokens[0]");
    assert!(e.contains("whole token") && !e.contains(secret_of(&t)), "{e}");
    // A value of the wrong type is quoted by the parser: never echoed.
    let e = assert_config_error(&format!("[allow]\ntokens = \"{t}\"\n"), 2, "allow.tokens");
    assert!(!e.contains(secret_of(&t)), "{e}");
}

// ---------------------------------------------------------------- baseline

#[test]
fn baseline_records_tracked_findings_without_secrets_and_suppresses_only_them() {
    let repo = TestRepo::new();
    let (a, b, untracked, later) = (token(), token(), token(), token());
    repo.write("src/a.env", format!("A={a}\n"));
    repo.write("b.yaml", format!("x: 1\nb: {b}\n"));
    repo.commit_all("old tokens");
    repo.write("notes.txt", format!("T={untracked}\n"));

    let o = repo.tokenguard().arg("baseline").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 finding(s)"), "{}", stdout(&o));
    let path = repo.path().join(".tokenguard-baseline.json");
    let text = std::fs::read_to_string(&path).unwrap();
    for t in [&a, &b, &untracked] {
        assert!(!text.contains(secret_of(t)), "secret in the baseline:\n{text}");
        assert!(!text.contains(token_id(t)), "not even the token id:\n{text}");
    }
    assert!(!text.contains("****"), "no masked token:\n{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "tracked files only:\n{text}");
    assert_eq!(entries[0]["path"], "b.yaml");
    assert_eq!(entries[0]["line"], 2);
    assert_eq!(entries[1]["path"], "src/a.env");
    assert_eq!(entries[1]["rule"], "dynatrace-api-token");
    assert!(entries[1]["fingerprint"].as_str().unwrap().starts_with("sha256:"));

    // Later scans pick it up by themselves: the listed tokens are allowed, nothing else.
    repo.write("src/a.env", format!("A={a}\nL={later}\n"));
    let (code, v) = scan_json(&repo, &["."]);
    assert_eq!(code, Some(1));
    let mut found: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["file"].as_str().unwrap(), f["line"]))
        .collect();
    found.sort();
    assert_eq!(found, ["./notes.txt:1", "./src/a.env:2"]);
    assert_eq!(reasons(&v), ["baseline .tokenguard-baseline.json"; 2]);
    // The same token elsewhere is still the same token: allowed by fingerprint.
    repo.write("copy.env", format!("A={a}\n"));
    let (_, v) = scan_json(&repo, &["copy.env"]);
    assert_eq!(reasons(&v), ["baseline .tokenguard-baseline.json"]);

    let (code, v) = scan_json(&repo, &[".", "--no-baseline"]);
    assert_eq!((code, v["findings"].as_array().unwrap().len()), (Some(1), 5));

    // Re-running updates it (the new token in the tracked file joins).
    repo.git(&["add", "src/a.env"]);
    let o = repo.tokenguard().arg("baseline").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 3);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(secret_of(&later)));
    assert_no_secret(&o, &[&a, &b, &untracked, &later]);
}

#[test]
fn baseline_output_and_baseline_flags_name_other_files() {
    let repo = TestRepo::new();
    let (a, b) = (token(), token());
    repo.write("a.env", format!("A={a}\n"));
    repo.commit_all("a");
    let sub = repo.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let o = common::tokenguard()
        .current_dir(&sub)
        .args(["baseline", "--output", "../old.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!repo.path().join(".tokenguard-baseline.json").exists());
    repo.write("a.env", format!("A={a}\nB={b}\n"));
    let (code, v) = scan_json(&repo, &["a.env"]);
    assert_eq!((code, v["allowed"].as_array().unwrap().len()), (Some(1), 0), "not the default");
    let (code, v) = scan_json(&repo, &["a.env", "--baseline", "old.json"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(reasons(&v), ["baseline old.json"]);
    // A baseline of the findings the configuration already allows is empty.
    repo.write(".tokenguard.toml", "[allow]\npaths = ['*.env']\n");
    let o = repo.tokenguard().args(["baseline", "-C", "sub"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(repo.path().join(".tokenguard-baseline.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 0, "{text}");
}

#[test]
fn a_broken_baseline_is_an_error() {
    let (repo, t) = repo_with("", "a.env", |t| format!("T={t}\n"));
    repo.write(".tokenguard-baseline.json", "{\"version\": 1, \"entries\": [\n");
    let o = scan(&repo, &["a.env"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".tokenguard-baseline.json"), "{}", stderr(&o));
    assert_no_secret(&o, &[&t]);
    let o = scan(&repo, &["a.env", "--no-baseline"]);
    assert_eq!(o.status.code(), Some(1));
    let o = scan(&repo, &["a.env", "--baseline", "nope.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = repo.tokenguard().arg("baseline").current_dir(std::env::temp_dir()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "outside a repository");
}

// ---------------------------------------------------------------- through a real `git commit`

/// Stages everything and runs `git commit` through the test hook (`scan --staged`).
fn commit(repo: &TestRepo, msg: &str) -> Output {
    repo.git(&["add", "-A"]);
    repo.git_output(&["commit", "-q", "-m", msg])
}

/// A repository with the hook installed, one commit, and `config` as .tokenguard.toml.
fn hooked_repo(config: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README", "hello\n");
    repo.commit_all("init");
    repo.install_test_hook();
    repo.write(".tokenguard.toml", config);
    repo
}

fn head_subject(repo: &TestRepo) -> String {
    repo.git(&["log", "-1", "--format=%s"]).trim().to_string()
}

/// Commits `content` as `file` and asserts the hook let it through.
fn assert_commit_passes(repo: &TestRepo, file: &str, content: &str, secrets: &[&str]) {
    repo.write(file, content);
    let o = commit(repo, "allowed");
    assert!(o.status.success(), "commit refused:\n{}{}", stdout(&o), stderr(&o));
    assert_eq!(head_subject(repo), "allowed");
    assert_no_secret(&o, secrets);
}

#[test]
fn commit_passes_with_an_allowed_token_id_and_is_refused_for_another() {
    let (a, b) = (token(), token());
    let repo = hooked_repo(&format!("[allow]\ntokens = [\"{}\"]\n", token_id(&a)));
    assert_commit_passes(&repo, "a.env", &format!("A={a}\n"), &[&a]);
    repo.write("b.env", format!("B={b}\n"));
    let o = commit(&repo, "blocked");
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(head_subject(&repo), "allowed");
    assert_no_secret(&o, &[&a, &b]);
}

#[test]
fn commit_passes_with_an_allowed_fingerprint() {
    let t = token();
    let repo = hooked_repo("");
    repo.write("a.env", format!("T={t}\n"));
    let (_, v) = scan_json(&repo, &["a.env"]);
    let print = v["findings"][0]["fingerprint"].as_str().unwrap().to_string();
    repo.write(".tokenguard.toml", format!("[allow]\nfingerprints = [\"{print}\"]\n"));
    assert_commit_passes(&repo, "a.env", &format!("T={t}\n"), &[&t]);
}

#[test]
fn commit_passes_with_an_allowed_path() {
    let t = token();
    let repo = hooked_repo("[allow]\npaths = [\"tests/fixtures/**\"]\n");
    assert_commit_passes(&repo, "tests/fixtures/x/a.env", &format!("T={t}\n"), &[&t]);
    repo.write("tests/a.env", format!("T={t}\n"));
    assert_eq!(commit(&repo, "outside the glob").status.code(), Some(1));
}

#[test]
fn commit_passes_with_an_allowed_line_regex() {
    let t = token();
    let repo = hooked_repo("[allow]\nregexes = ['example-only']\n");
    assert_commit_passes(&repo, "a.md", &format!("T={t} <!-- example-only -->\n"), &[&t]);
}

#[test]
fn commit_passes_with_the_inline_marker() {
    let t = token();
    let repo = hooked_repo("");
    assert_commit_passes(&repo, "a.py", &format!("T = '{t}'  # tokenguard:allow\n"), &[&t]);
}

#[test]
fn commit_passes_with_a_baselined_token_and_is_refused_for_a_new_one() {
    let (old, new) = (token(), token());
    let repo = TestRepo::new();
    repo.write("a.env", format!("OLD={old}\n"));
    repo.commit_all("old token");
    repo.install_test_hook();
    let o = repo.tokenguard().arg("baseline").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Touching the file again (the old token moves a line down) passes.
    assert_commit_passes(&repo, "a.env", &format!("X=1\nOLD={old}\n"), &[&old]);
    repo.write("a.env", format!("X=1\nOLD={old}\nNEW={new}\n"));
    let o = commit(&repo, "new token");
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_no_secret(&o, &[&old, &new]);
}

#[test]
fn commit_is_refused_by_a_custom_rule() {
    let repo = hooked_repo("[[rules]]\nid = 'acme-key'\nregex = 'ACME_[A-Z0-9]{20}'\n");
    let key = format!("ACME_{}", common::Rng::new().chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 20));
    repo.write("a.cfg", format!("k = {key}\n"));
    let o = commit(&repo, "custom");
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("acme-key") || stderr(&o).contains("acme-key"));
    assert!(!stdout(&o).contains(&key) && !stderr(&o).contains(&key));
}

#[test]
fn a_broken_config_refuses_the_commit_and_keeps_the_staged_changes() {
    let t = token();
    for (config, line) in [
        ("[allow]\npaths = [\"a\"]\npath = []\n", 3),
        ("[allow]\nregexes = ['(']\n", 2),
        ("\n[[rules]]\nregex = 'x'\n", 2),
        ("[allow]\ntokens = [\n", 2),
    ] {
        let repo = hooked_repo(config);
        repo.write("a.env", format!("T={t} # tokenguard:allow\n"));
        repo.write("README", "changed\n");
        let head = repo.git(&["rev-parse", "HEAD"]);
        let o = commit(&repo, "should not happen");
        assert!(!o.status.success(), "{config}");
        let err = stderr(&o);
        assert!(err.contains("invalid configuration in .tokenguard.toml"), "{config}: {err}");
        assert!(err.contains(&format!("line {line}, column")), "{config}: {err}");
        assert_no_secret(&o, &[&t]);
        // Nothing lost: HEAD unchanged, the changes still staged, the files as written.
        assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
        let staged = repo.git(&["diff", "--cached", "--name-only"]);
        assert_eq!(staged.lines().collect::<Vec<_>>(), [".tokenguard.toml", "README", "a.env"]);
        let a = std::fs::read_to_string(repo.path().join("a.env")).unwrap();
        assert_eq!(a, format!("T={t} # tokenguard:allow\n"));
        // The hook itself exits 2 (an error, not findings).
        let o = repo.tokenguard().args(["scan", "--staged"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{config}");
    }
}

#[test]
fn baseline_output_to_a_fifo_writes_through_it_and_never_replaces_it() {
    use std::os::unix::fs::FileTypeExt;
    let repo = TestRepo::new();
    let a = token();
    repo.write("a.env", format!("A={a}\n"));
    repo.commit_all("a");
    let fifo = repo.path().join("out.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = repo.tokenguard().args(["baseline", "--output"]).arg(&fifo).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = reader.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert!(!written.contains(secret_of(&a)));
}
