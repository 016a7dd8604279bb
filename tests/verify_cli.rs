//! `scan --verify` through the real binary, against a local Dynatrace environment
//! (tests/verify/fake_dynatrace.rs on 127.0.0.1): statuses in every report format, one
//! request per distinct token, environments from the command line and the user's own
//! configuration only, no request to a host a file names, never on a server, only on request
//! in commit hooks, `--only-active`, and `--disable`. No output holds a secret part.

mod common;
#[path = "verify/fake_dynatrace.rs"]
mod fake_dynatrace;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{secret_of, token, TestRepo};
use fake_dynatrace::{FakeDynatrace, TokenRecord};
use serde_json::Value;

fn all(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_no_secret(o: &Output, tokens: &[&str]) {
    let text = all(o);
    for t in tokens {
        assert!(!text.contains(secret_of(t)), "a secret part was printed");
    }
}

/// `tokenguard ARGS` in `dir`, with the user's configuration folder `xdg` (or none).
fn tg(dir: &Path, xdg: Option<&Path>, args: &[&str]) -> Output {
    let mut c = common::tokenguard();
    c.current_dir(dir).args(args).stdin(Stdio::null());
    if let Some(x) = xdg {
        c.env("XDG_CONFIG_HOME", x);
    }
    c.output().unwrap()
}

fn findings(o: &Output) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&o.stdout).expect("a JSON report");
    doc["findings"].as_array().unwrap().clone()
}

fn status_of<'a>(found: &'a [Value], t: &str) -> &'a str {
    let id = t.rsplit_once('.').unwrap().0;
    let f = found.iter().find(|f| f["token_id"] == id).expect("the token is reported");
    f["verification"]["status"].as_str().unwrap_or("none")
}

/// A user configuration folder whose config.toml holds `text`.
fn user_config(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tokenguard")).unwrap();
    std::fs::write(dir.path().join("tokenguard/config.toml"), text).unwrap();
    dir
}

#[test]
fn verify_reports_each_status_once_per_distinct_token_in_every_format() {
    let dt = FakeDynatrace::start("");
    let (active, revoked) = (token(), token());
    dt.add(&active, TokenRecord::new(&["entities.read", "settings.write"]));
    let dir = tempfile::tempdir().unwrap();
    // The active token three times in two files: one request for it.
    std::fs::write(dir.path().join("a.env"), format!("A={active}\nB={revoked}\nC={active}\n"))
        .unwrap();
    std::fs::write(dir.path().join("b.env"), format!("A={active}\n")).unwrap();
    let url = dt.url();
    let o =
        tg(dir.path(), None, &["scan", ".", "--verify", "--environment", &url, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "tokens block whatever their status");
    assert_no_secret(&o, &[&active, &revoked]);
    let found = findings(&o);
    assert_eq!(found.len(), 4);
    assert_eq!(status_of(&found, &active), "active");
    assert_eq!(status_of(&found, &revoked), "invalid");
    let active_one = found.iter().find(|f| f["verification"]["status"] == "active").unwrap();
    assert_eq!(active_one["verification"]["name"], "ci-deploy");
    assert!(active_one["verification"]["risk"].as_str().unwrap().contains("settings.write"));
    let lookups =
        dt.requests().iter().filter(|r| r.path.ends_with("/api/v2/apiTokens/lookup")).count();
    assert_eq!(lookups, 2, "one request per distinct token");
    // Human and SARIF carry it too.
    let o = tg(dir.path(), None, &["scan", "a.env", "--verify", "--environment", &url]);
    let text = all(&o);
    assert!(text.contains("verification: active at") && text.contains("risk:"), "human report");
    assert_no_secret(&o, &[&active, &revoked]);
    let o = tg(
        dir.path(),
        None,
        &["scan", "a.env", "--verify", "--environment", &url, "--format", "sarif"],
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert!(levels.contains(&"error") && levels.contains(&"warning"), "{levels:?}");
    assert!(results.iter().all(|r| r["properties"]["verification"]["status"].is_string()));
    assert!(common::sarif_validator().is_valid(&doc));
}

#[test]
fn without_verify_nothing_is_sent_even_with_environments_configured() {
    let dt = FakeDynatrace::start("");
    let t = token();
    dt.add(&t, TokenRecord::new(&["entities.read"]));
    let xdg = user_config(&format!("[verify]\nenvironments = [\"{}\"]\n", dt.url()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.env"), format!("A={t}\n")).unwrap();
    let o = tg(dir.path(), Some(xdg.path()), &["scan", "a.env", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(findings(&o)[0].get("verification").is_none());
    assert_eq!(dt.connections(), 0, "a request without --verify");
    // With --verify, the user's configured environment is used.
    let o = tg(dir.path(), Some(xdg.path()), &["scan", "a.env", "--verify", "--format", "json"]);
    assert_eq!(status_of(&findings(&o), &t), "active");
    assert_no_secret(&o, &[&t]);
}

#[test]
fn a_host_that_only_a_scanned_file_names_is_never_asked() {
    let attacker = TcpListener::bind("127.0.0.1:0").unwrap();
    attacker.set_nonblocking(true).unwrap();
    let port = attacker.local_addr().unwrap().port();
    let t = token();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.env"),
        format!("DT_URL=http://127.0.0.1:{port}\nDT_URL2=https://attacker.example/e/abc\nDT_API_TOKEN={t}\n"),
    )
    .unwrap();
    let o = tg(dir.path(), None, &["scan", "a.env", "--verify", "--format", "json"]);
    let found = findings(&o);
    assert_eq!(status_of(&found, &t), "unknown");
    assert_eq!(found[0]["verification"]["reason"], "no environment");
    assert!(attacker.accept().is_err(), "the planted host got a connection");
    assert_no_secret(&o, &[&t]);
    // A repository's configuration cannot point at a host of its choosing either.
    std::fs::write(
        dir.path().join(".tokenguard.toml"),
        format!("[verify]\nenvironments = [\"http://127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let o = tg(dir.path(), None, &["scan", "a.env", "--verify"]);
    assert_eq!(o.status.code(), Some(2), "a repository named a non-Dynatrace host");
    assert!(all(&o).contains("verify.environments[0]"));
    assert!(attacker.accept().is_err(), "the planted host got a connection");
}

#[test]
fn never_on_a_server_and_in_commit_hooks_only_when_the_user_says_so() {
    let dt = FakeDynatrace::start("");
    let t = token();
    dt.add(&t, TokenRecord::new(&["entities.read"]));
    let o = tg(Path::new("/"), None, &["scan", "--pre-receive", "--verify"]);
    assert_eq!(o.status.code(), Some(2), "--verify with --pre-receive");
    let repo = TestRepo::new();
    repo.write("a.env", format!("A={t}\n"));
    repo.git(&["add", "a.env"]);
    let url = dt.url();
    let o = tg(repo.path(), None, &["scan", "--staged", "--verify", "--environment", &url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(all(&o).contains("pre_commit = true"), "the refusal says how to allow it");
    assert_eq!(dt.connections(), 0);
    let xdg = user_config("[verify]\npre_commit = true\n");
    let o = tg(
        repo.path(),
        Some(xdg.path()),
        &["scan", "--staged", "--verify", "--environment", &url, "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(status_of(&findings(&o), &t), "active");
    assert_no_secret(&o, &[&t]);
}

#[test]
fn only_active_narrows_a_history_scan_to_live_tokens() {
    let dt = FakeDynatrace::start("/e/ENV1");
    let (live, dead) = (token(), token());
    dt.add(&live, TokenRecord::new(&["entities.read"]));
    let repo = TestRepo::new();
    repo.write("a.env", format!("A={live}\n"));
    repo.commit_all("live");
    repo.write("b.env", format!("B={dead}\n"));
    repo.commit_all("dead");
    let url = dt.url();
    let args = ["scan", "--history", "--verify", "--environment", &url, "--format", "json"];
    let o = tg(repo.path(), None, &args);
    assert_eq!(findings(&o).len(), 2);
    let mut args = args.to_vec();
    args.push("--only-active");
    let o = tg(repo.path(), None, &args);
    let found = findings(&o);
    assert_eq!(found.len(), 1);
    assert_eq!(status_of(&found, &live), "active");
    assert_eq!(o.status.code(), Some(1));
    assert_no_secret(&o, &[&live, &dead]);
}

#[test]
fn disable_switches_off_the_active_tokens_with_an_administrator_token() {
    let dt = FakeDynatrace::start("");
    let (leaked, admin) = (token(), token());
    dt.add(&leaked, TokenRecord::new(&["entities.read"]));
    dt.add(&admin, TokenRecord::new(&["apiTokens.read", "apiTokens.write"]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.env"), format!("A={leaked}\n")).unwrap();
    let url = dt.url();
    // Without an administrator token: a clear refusal, nothing changed.
    let o = tg(
        dir.path(),
        None,
        &["scan", "a.env", "--verify", "--environment", &url, "--disable", "--yes"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(all(&o).contains("TOKENGUARD_DYNATRACE_ADMIN_TOKEN"));
    assert_eq!(dt.enabled(&leaked), Some(true));
    // Not on a terminal and no --yes: refused.
    let mut c = common::tokenguard();
    c.current_dir(dir.path())
        .args(["scan", "a.env", "--verify", "--environment", &url, "--disable"])
        .env("TOKENGUARD_DYNATRACE_ADMIN_TOKEN", &admin)
        .stdin(Stdio::null());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(all(&o).contains("--yes"));
    assert_eq!(dt.enabled(&leaked), Some(true));
    // With both: disabled, and said so.
    let mut c = common::tokenguard();
    c.current_dir(dir.path())
        .args(["scan", "a.env", "--verify", "--environment", &url, "--disable", "--yes"])
        .env("TOKENGUARD_DYNATRACE_ADMIN_TOKEN", &admin)
        .stdin(Stdio::null());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "the token is still reported");
    assert_eq!(dt.enabled(&leaked), Some(false), "the token was not disabled");
    assert!(all(&o).contains("disabled dt0c01."));
    assert_no_secret(&o, &[&leaked, &admin]);
}

/// A token written in base64 (a Kubernetes Secret) is checked as the token it encodes.
#[test]
fn a_base64_encoded_token_is_checked_decoded() {
    use base64::Engine;
    let dt = FakeDynatrace::start("");
    let t = token();
    dt.add(&t, TokenRecord::new(&["entities.read"]));
    let dir = tempfile::tempdir().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&t);
    std::fs::write(dir.path().join("secret.yaml"), format!("data:\n  apiToken: {encoded}\n"))
        .unwrap();
    let url = dt.url();
    let o =
        tg(dir.path(), None, &["scan", ".", "--verify", "--environment", &url, "--format", "json"]);
    assert_eq!(status_of(&findings(&o), &t), "active");
    assert!(!all(&o).contains(&encoded), "the encoded token was printed");
    assert_no_secret(&o, &[&t]);
}
