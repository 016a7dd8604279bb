//! `--format html`: one self-contained page. Checked as text (no network, no secret, hostile
//! names never raw in markup), and in a real headless browser (Debian's chromium driven by
//! playwright-core, tests/browser/report.mjs): the page renders, the table holds every
//! finding, the search narrows it, and a `<script>` planted in a file name, an author or a
//! commit message does not run. The browser test is skipped, with a message, where chromium
//! or the script's node modules are missing (.ci/run installs both).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{secret_of, token, TestRepo};
use serde_json::Value;

/// What a planted script would do if it ran.
const PLANTED: &str = "document.title='pwned';console.log('pwned')";

/// A history with tokens in three months, one in a file whose name holds a script element,
/// one in a commit whose author and message hold markup, and one allowed by the marker.
/// Returns the repository and its tokens.
fn hostile_history() -> (TestRepo, Vec<String>) {
    let repo = TestRepo::new();
    let tokens: Vec<String> = (0..4).map(|_| token()).collect();
    let commit = |msg: &str, date: &str, author: &str| {
        repo.git_cmd(&["add", "-A"]).status().unwrap();
        let out = repo
            .git_cmd(&["commit", "-q", "--no-verify", "-m", msg])
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_NAME", author)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    repo.write("deploy/values.yaml", format!("apiToken: {}\n", tokens[0]));
    commit("add deployment values", "2024-01-15T10:00:00+01:00", "Jane Doe");
    // The path `a<script>...</script>.env`: a folder and a file, as git stores it.
    repo.write(&format!("a<script>{PLANTED}</script>.env"), format!("T={}\n", tokens[1]));
    commit("add env", "2024-02-20T10:00:00+01:00", "Jane Doe");
    repo.write("k8s/secret.yaml", format!("token: {}\n", tokens[2]));
    commit(
        &format!("</script><script>{PLANTED}</script><img src=x onerror=\"{PLANTED}\">"),
        "2024-04-02T10:00:00+00:00",
        &format!("<svg onload=\"{PLANTED}\">"),
    );
    repo.write("docs/example.md", format!("`{}` tokenguard:allow\n", tokens[3]));
    commit("document the format", "2024-04-03T10:00:00+00:00", "Jane Doe");
    (repo, tokens)
}

fn html_report(repo: &TestRepo, args: &[&str], tokens: &[String]) -> (PathBuf, String) {
    let out_file = repo
        .path()
        .join("..")
        .join(format!("{}-report.html", repo.path().file_name().unwrap().to_string_lossy()));
    let out = repo
        .tokenguard()
        .args(["scan", "--format", "html", "-o", out_file.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&out_file).unwrap();
    for t in tokens {
        assert!(!page.contains(secret_of(t)), "a secret part is in the page");
    }
    (out_file, page)
}

#[test]
fn the_page_is_self_contained_and_holds_no_raw_hostile_text() {
    let (repo, tokens) = hostile_history();
    let (file, page) = html_report(&repo, &["--history"], &tokens);
    let start = page.find("id=\"tg-data\">").unwrap() + "id=\"tg-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    let (markup, data) = (format!("{}{}", &page[..start], &page[end..]), &page[start..end]);
    // No network: nothing loaded from anywhere, and a policy that forbids it.
    for needle in ["src=", "href=", "@import", "url(", "http:", "https:"] {
        assert!(!markup.contains(needle), "the page refers to something outside it: {needle}");
    }
    assert!(page.contains("Content-Security-Policy") && page.contains("default-src 'none'"));
    // Exactly two script elements: the data (not run) and the page's own.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(page.contains("<script type=\"application/json\" id=\"tg-data\">"));
    // Hostile text is only in the data, and there without a `<` to open markup.
    assert!(!markup.contains(PLANTED), "hostile text is in the markup");
    assert!(!page.contains(&format!("<script>{PLANTED}")), "a planted script is raw in the page");
    assert!(!page.contains("<svg") && !page.contains("<img"));
    // The data island parses back to every finding, hostile names intact.
    let data: Value = serde_json::from_str(data).unwrap();
    let files: Vec<&str> =
        data["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert!(files.contains(&format!("a<script>{PLANTED}</script>.env").as_str()), "{files:?}");
    assert_eq!(files.len(), 4, "3 blocking and 1 allowed");
    // Summary and timeline are in the page itself (readable without script).
    assert!(page.contains("<b>3</b><span>findings</span>"));
    for month in ["2024-01", "2024-02", "2024-03", "2024-04"] {
        assert!(page.contains(&format!("data-period=\"{month}\"")), "{month}");
    }
    assert!(page.contains("data-period=\"2024-03\" data-count=\"0\""), "quiet months shown");
    std::fs::remove_file(file).unwrap();
}

/// The browser driver, or why the browser test cannot run here.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium =
        std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or("/usr/bin/chromium".into());
    if !chromium.is_file() {
        return Err(format!("{} is missing (apt-get install chromium)", chromium.display()));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err("tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into());
    }
    if Command::new("node").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        return Err("node is missing".into());
    }
    Ok((chromium, dir.join("report.mjs")))
}

/// Opens `page` in chromium; returns what the driver saw.
fn open(page: &Path, extra: &[&str]) -> Option<Value> {
    let (chromium, script) = match browser() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("note: the HTML report is not tested in a browser: {why}");
            return None;
        }
    };
    let out = Command::new("node")
        .arg(script)
        .arg(page)
        .args(extra)
        .env("CHROMIUM", chromium)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the driver's JSON"))
}

fn column(rows: &Value, i: usize) -> Vec<String> {
    rows.as_array().unwrap().iter().map(|r| r[i].as_str().unwrap().to_string()).collect()
}

#[test]
fn in_a_browser_the_table_holds_every_finding_filters_and_runs_no_planted_script() {
    let (repo, tokens) = hostile_history();
    let (file, _) = html_report(&repo, &["--history"], &tokens);
    let shot = tempfile::NamedTempFile::with_suffix(".png").unwrap();
    let Some(seen) =
        open(&file, &["--query", "k8s", "--screenshot", shot.path().to_str().unwrap()])
    else {
        return;
    };
    // Nothing planted ran: no title change, no console line, no dialog, no request, no error.
    assert_eq!(seen["title"], "tokenguard report: history");
    assert_eq!(seen["title_after"], "tokenguard report: history");
    assert_eq!(seen["console"], serde_json::json!([]));
    assert_eq!(seen["dialogs"], serde_json::json!([]));
    assert_eq!(seen["requests"], serde_json::json!([]), "the page loaded something");
    assert_eq!(seen["errors"], serde_json::json!([]));
    assert_eq!(seen["scripts_run"], 2);
    // Every blocking finding is a row, the hostile texts shown as text.
    let headers: Vec<String> =
        seen["headers"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().into()).collect();
    assert_eq!(
        headers,
        ["Rule", "File", "Token", "Severity", "Commit", "Date", "Author", "Message"]
    );
    let mut files = column(&seen["rows"], 1);
    files.sort();
    assert_eq!(
        files,
        [
            format!("a<script>{PLANTED}</script>.env:1:3"),
            "deploy/values.yaml:1:11".to_string(),
            "k8s/secret.yaml:1:8".to_string(),
        ]
    );
    assert!(column(&seen["rows"], 3).iter().all(|s| s == "high"), "each row's severity");
    let messages = column(&seen["rows"], 7);
    assert!(messages.iter().any(|m| m.starts_with("</script><script>")), "{messages:?}");
    assert_eq!(seen["shown"], "3 of 4 shown");
    for (row, masked) in seen["rows"].as_array().unwrap().iter().zip(column(&seen["rows"], 2)) {
        assert!(masked.starts_with("dt0c01.") && masked.ends_with('*'), "{row}");
    }
    // The search narrows the table; "all" adds the allowed finding.
    assert_eq!(column(&seen["filtered"], 1), ["k8s/secret.yaml:1:8"]);
    assert_eq!(seen["all"].as_array().unwrap().len(), 4);
    assert!(column(&seen["all"], 8).iter().any(|a| a.contains("tokenguard:allow")));
    assert_eq!(seen["timeline"].as_array().unwrap().len(), 4, "Jan..Apr");
    let png = std::fs::read(shot.path()).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn in_a_browser_a_folder_scan_has_no_commit_columns_nor_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let tok = token();
    std::fs::write(dir.path().join("app.env"), format!("DT={tok}\n")).unwrap();
    let out_file = dir.path().join("report.html");
    let out = common::tokenguard()
        .args(["scan", "--format", "html", "-o"])
        .arg(&out_file)
        .arg(dir.path().join("app.env"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&out_file).unwrap();
    assert!(!page.contains(secret_of(&tok)));
    assert!(!page.contains("id=\"timeline\""));
    let Some(seen) = open(&out_file, &[]) else { return };
    assert_eq!(seen["headers"], serde_json::json!(["Rule", "File", "Token", "Severity"]));
    assert_eq!(seen["rows"].as_array().unwrap().len(), 1);
    assert_eq!(column(&seen["rows"], 3), ["high"]);
    assert_eq!(seen["providers"], serde_json::json!(["", "dynatrace"]));
}
