//! Secrets never leak, and hostile text never reaches the terminal raw.
//!
//! - The panic hook prints an apology, never the panic's message (which might quote data).
//! - Every output channel (human, verbose, coloured, JSON, SARIF, `--output`, mask, error
//!   messages, commit subjects and authors) holds no secret part, plain or base64, for any
//!   bytes around any token kind.
//! - No temporary file is written, and no file of the repository changes, during scans.
//! - File names, commit subjects, authors and configured descriptions with ANSI escapes or
//!   bidi controls are escaped in human output and messages.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{
    legacy_token, quoted_printable, secret_of, token, token_with, tokenguard_path, TestRepo,
};
use proptest::prelude::*;
use tokenguard::allowlist::Allowlist;
use tokenguard::finding::Findings;
use tokenguard::matcher::Matcher;
use tokenguard::pipeline::Pipeline;
use tokenguard::report::{self, Format, Mode, Options};
use tokenguard::unit::Origin;

fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn tg_in(dir: &Path) -> Command {
    let mut c = Command::new(tokenguard_path());
    common::isolate(&mut c);
    c.current_dir(dir).stdin(Stdio::null());
    c
}

// ---------------------------------------------------------------------------------------
// The panic hook

const PANIC_CHILD: &str = "TOKENGUARD_TEST_PANIC_CHILD";

#[test]
fn the_panic_hook_apologises_without_quoting_the_panic_message() {
    if let Some(secret) = std::env::var_os(PANIC_CHILD) {
        // The child: the binary's hook, then a panic whose message holds "scanned data",
        // on another thread as the parallel scans panic.
        tokenguard::app::install_panic_hook();
        let secret = secret.to_string_lossy().into_owned();
        let joined = std::thread::spawn(move || panic!("while scanning {secret}")).join();
        assert!(joined.is_err());
        return;
    }
    let secret = secret_of(&token()).to_string();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_panic_hook_apologises_without_quoting_the_panic_message"])
        .args(["--nocapture", "--test-threads=1"])
        .env(PANIC_CHILD, &secret)
        .output()
        .unwrap();
    let all = all_output(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("tokenguard: internal error at tests/leaks.rs:"), "{all}");
    assert!(all.contains("this is a bug") && all.contains("Please report it"), "{all}");
    assert!(!all.contains(&secret), "the panic message reached the output:\n{all}");
}

// ---------------------------------------------------------------------------------------
// Every output channel, for any bytes around any token kind

use common::TOKEN_KINDS as KINDS;

/// How a token is written.
#[derive(Debug, Clone, Copy)]
enum Written {
    Plain,
    Base64,
    Base64Url,
}

/// The text that must never be printed for a token written `how`: the secret part, and for
/// base64 the encoded characters that depend on the secret alone.
fn forbidden(token: &str, secret: &str, how: Written, lead: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let payload = format!("{lead}{token}");
    let at = payload.len() - secret.len();
    let encoded = match how {
        Written::Plain => return (token.as_bytes().to_vec(), vec![secret.as_bytes().to_vec()]),
        Written::Base64 => STANDARD_NO_PAD.encode(&payload),
        Written::Base64Url => URL_SAFE_NO_PAD.encode(&payload),
    };
    let (start, end) = (at.div_ceil(3) * 4, (at + secret.len()) / 3 * 4);
    let inner = encoded.as_bytes()[start..end].to_vec();
    (encoded.into_bytes(), vec![secret.as_bytes().to_vec(), inner])
}

/// Every library-level channel: human (plain, verbose, coloured), JSON, SARIF, and the mask
/// filter, for the findings of `hay`, with the token allowed (verbose lists it) or not.
fn channels(hay: &[u8], allow: Option<&str>) -> (usize, Vec<(String, Vec<u8>)>) {
    let mut allowlist = Allowlist::default();
    if let Some(fp) = allow {
        allowlist.add_fingerprint(fp, "test");
    }
    let scanner = Pipeline::new(Matcher::builtin(), allowlist);
    let mut findings = Findings::default();
    scanner.scan_reader(hay, &Origin::new("input.txt"), &mut |f| findings.push(f)).unwrap();
    let mut out = Vec::new();
    for format in [Format::Human, Format::Json, Format::Sarif] {
        for (verbose, color) in [(false, false), (true, false), (true, true)] {
            let mut buf = Vec::new();
            let opts = Options { verbose, color, ..Options::new(format, Mode::Files) };
            report::write(&mut buf, &findings, &opts).unwrap();
            out.push((format!("{format:?} verbose={verbose} color={color}"), buf));
        }
    }
    let mut masked = Vec::new();
    tokenguard::app::mask_stream(&scanner.matcher, hay, &mut masked).unwrap();
    out.push(("mask".into(), masked));
    (findings.findings.len() + findings.allowed.len(), out)
}

fn any_kind() -> impl Strategy<Value = (&'static str, usize)> {
    prop::sample::select(KINDS)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_channel_holds_a_secret(
        kind in any_kind(),
        legacy in any::<bool>(),
        how in prop::sample::select(vec![Written::Plain, Written::Base64, Written::Base64Url]),
        lead in prop::sample::select(vec!["", ":", "u:"]),
        before in proptest::collection::vec(any::<u8>(), 0..96),
        after in proptest::collection::vec(any::<u8>(), 0..96),
        allowed in any::<bool>(),
    ) {
        let (token, secret) = if legacy {
            let t = legacy_token();
            (format!("DT_API_TOKEN={t}"), t)
        } else {
            let t = token_with(kind.0, kind.1);
            let s = secret_of(&t).to_string();
            (t, s)
        };
        // The older format is recognised by its key, in plain text only.
        let how = if legacy { Written::Plain } else { how };
        let (written, bad) = forbidden(&token, &secret, how, lead);
        let mut hay = before.clone();
        // A separator on each side, so that the token stands on its own.
        hay.push(b'\n');
        hay.extend_from_slice(&written);
        hay.push(b'\n');
        hay.extend_from_slice(&after);
        let fp = tokenguard::matcher::fingerprint(secret_of_whole(&token, legacy).as_bytes());
        let (n, outputs) = channels(&hay, allowed.then_some(fp.as_str()));
        prop_assert!(n >= 1, "token not found in {:?}", String::from_utf8_lossy(&hay));
        for (name, out) in &outputs {
            for b in &bad {
                prop_assert!(!contains(out, b), "{} holds {:?}", name, String::from_utf8_lossy(b));
            }
        }
    }
}

/// What the fingerprint is taken of: the whole structured token, or a legacy token's value.
fn secret_of_whole(token: &str, legacy: bool) -> &str {
    if legacy {
        token.rsplit('=').next().unwrap()
    } else {
        token
    }
}

#[test]
fn the_binary_never_prints_a_secret_on_any_channel() {
    let t = token();
    let l = legacy_token();
    let b64 = STANDARD_NO_PAD.encode(format!("user:{t}"));
    let input = format!("a={t}\nDT_API_TOKEN: {l}\nauth: {b64}\n");
    let secrets = [secret_of(&t), l.as_str()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), &input).unwrap();
    let report = dir.path().join("report.out");
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for format in ["human", "json", "sarif"] {
        runs.push(vec!["scan", "--format", format, "in.txt"]);
        runs.push(vec!["scan", "--verbose", "--color", "always", "--format", format, "in.txt"]);
        runs.push(vec!["scan", "--format", format, "--output", "report.out", "in.txt"]);
    }
    runs.push(vec!["mask", "in.txt"]);
    for args in runs {
        let out = tg_in(dir.path()).args(&args).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", all_output(&out));
        let mut all = out.stdout.clone();
        all.extend(&out.stderr);
        if let Ok(file) = std::fs::read(&report) {
            all.extend(file);
            std::fs::remove_file(&report).unwrap();
        }
        for s in secrets {
            assert!(!contains(&all, s.as_bytes()), "{args:?} printed a secret");
        }
        assert!(!contains(&all, b64.as_bytes()), "{args:?} printed the base64 text");
    }
    // Errors: a whole token listed in the configuration is refused without being quoted.
    std::fs::write(dir.path().join("bad.toml"), format!("[allow]\ntokens = [\"{t}\"]\n")).unwrap();
    let out = tg_in(dir.path()).args(["scan", "--config", "bad.toml", "in.txt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(!all_output(&out).contains(secret_of(&t)), "{}", all_output(&out));
}

#[test]
fn commit_subjects_and_authors_holding_a_token_are_masked_in_history_reports() {
    let r = TestRepo::new();
    let t = token();
    r.write("a.env", format!("T={t}\n"));
    r.git(&["add", "a.env"]);
    r.git(&[
        "-c",
        &format!("user.name=ci {t}"),
        "commit",
        "-q",
        "--no-verify",
        "-m",
        &format!("use {t} for now"),
    ]);
    for format in ["human", "json", "sarif"] {
        let out = tg_in(r.path()).args(["scan", "--history", "--format", format]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        let all = all_output(&out);
        assert!(!all.contains(secret_of(&t)), "{format}: a commit subject leaked:\n{all}");
        if format != "sarif" {
            assert!(all.contains("use dt0c01."), "{format}: {all}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// No temporary files, no changes in the repository

fn listing(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                stack.push(e.path());
            }
            let hash = if md.is_file() {
                let bytes = std::fs::read(e.path()).unwrap();
                u64::from_str_radix(&tokenguard::matcher::fingerprint(&bytes)[7..23], 16).unwrap()
            } else {
                0
            };
            out.push((e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned(), hash));
        }
    }
    out.sort();
    out
}

#[test]
fn scans_write_no_temporary_files_and_change_nothing_in_the_repository() {
    let r = TestRepo::new();
    let t = token();
    r.write("README.md", "hello\n");
    r.commit_all("first");
    r.write("a.env", format!("T={t}\n"));
    r.commit_all("second");
    r.write("b.env", format!("B={t}\n"));
    r.git(&["add", "b.env"]);
    let head = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    let zero = "0".repeat(40);
    let tmp = tempfile::tempdir().unwrap();
    let before = listing(r.path());
    let push = format!("refs/heads/main {head} refs/heads/main {zero}\n");
    let runs: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["scan", "."], None),
        (vec!["scan", "-"], Some("x\n")),
        (vec!["scan", "--staged"], None),
        (vec!["scan", "--history"], None),
        (vec!["scan", "--pre-push", "origin", "/dev/null"], Some(push.as_str())),
        (vec!["mask", "a.env"], None),
    ];
    for (args, stdin) in runs {
        let mut cmd = tg_in(r.path());
        cmd.args(&args).env("TMPDIR", tmp.path());
        let out = assert_cmd::Command::from_std(cmd)
            .write_stdin(stdin.unwrap_or("").as_bytes().to_vec())
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", all_output(&out));
        assert!(!all_output(&out).contains(secret_of(&t)));
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left files in TMPDIR: {left:?}");
        assert_eq!(listing(r.path()), before, "{args:?} changed the repository");
    }
}

// ---------------------------------------------------------------------------------------
// Hostile text

const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}";

/// The same, as TOML escapes.
const HOSTILE_TOML: &str = "\\u001b[2J\\u001b]0;owned\\u0007\\u202e";

/// No hostile sequence reached the output raw (the report's own colours may, when asked).
fn assert_escaped(out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for bad in ["\u{1b}[2J", "\u{1b}]0;", "\u{7}", "\u{202e}"] {
            assert!(!text.contains(bad), "{name} holds {bad:?} raw:\n{text:?}");
        }
    }
}

#[test]
fn hostile_file_names_are_escaped_in_reports_errors_and_skipped_lines() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    let name = format!("evil{HOSTILE}.env");
    std::fs::write(dir.path().join(&name), format!("T={t}\n")).unwrap();
    // An unreadable file and a symlink loop with hostile names.
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join(format!("mem{HOSTILE}"))).unwrap();
    let lp = format!("loop{HOSTILE}");
    std::os::unix::fs::symlink(&lp, dir.path().join(&lp)).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.path().join(format!("dangling{HOSTILE}"))).unwrap();
    for args in [&["scan", "."][..], &["scan", "--verbose", "--color", "always", "."]] {
        let out = tg_in(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
        assert_escaped(&out);
        let all = all_output(&out);
        assert!(all.contains("evil\\u{1b}[2J"), "{all}");
        assert!(all.contains("cannot read ./mem\\u{1b}"), "{all}");
        assert!(
            all.contains("./loop\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{202e}: symlink loop"),
            "{all}"
        );
        assert!(
            all.contains("./dangling\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{202e}: broken"),
            "{all}"
        );
        assert!(!all.contains(secret_of(&t)));
    }
    // Named on the command line: a missing path, and the file itself.
    let out = tg_in(dir.path()).args(["scan", &format!("missing{HOSTILE}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_escaped(&out);
    let out = tg_in(dir.path()).args(["scan", &name]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_escaped(&out);
}

#[test]
fn hostile_commit_subjects_authors_and_rule_descriptions_are_escaped() {
    let r = TestRepo::new();
    let t = token();
    r.write(".tokenguard.toml", format!(
        "[[rules]]\nid = \"mine\"\ndescription = \"mine{HOSTILE_TOML}\"\nregex = 'MYKEY_(?P<secret>[a-z]{{12}})'\nkeywords = [\"MYKEY_\"]\n"
    ));
    r.write(&format!("f{HOSTILE}.env"), format!("T={t}\nK=MYKEY_abcdefghijkl\n"));
    r.git(&["add", "-A"]);
    r.git(&[
        "-c",
        &format!("user.name=Eve{HOSTILE}"),
        "commit",
        "-q",
        "--no-verify",
        "-m",
        &format!("subject{HOSTILE}"),
    ]);
    for args in [
        &["scan", "--history"][..],
        &["scan", "--history", "--verbose", "--color", "always"],
        &["scan", "."],
    ] {
        let out = tg_in(r.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", all_output(&out));
        assert_escaped(&out);
        let all = all_output(&out);
        assert!(all.contains("mine\\u{1b}[2J"), "{all}");
        assert!(!all.contains(secret_of(&t)) && !all.contains("abcdefghijkl"), "{all}");
    }
    // Staged: the hostile file name in the pre-commit report.
    r.write(&format!("g{HOSTILE}.env"), format!("T={t}\n"));
    r.git(&["add", "-A"]);
    let out = tg_in(r.path()).args(["scan", "--staged"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_escaped(&out);
}

// ---------------------------------------------------------------------------------------
// Tokens planted in every input, checked on every channel

/// Runs `cmd` and returns everything it printed, and the exit code.
fn run_all(mut cmd: Command) -> (Option<i32>, Vec<u8>) {
    let out = cmd.output().unwrap();
    let mut all = out.stdout;
    all.extend_from_slice(&out.stderr);
    (out.status.code(), all)
}

/// Every place a user or a repository can put text that tokenguard may print: file names,
/// command-line arguments (as clap, paths and revisions echo them), the environment,
/// configuration keys, table names, values, allowlist entries, custom rules, commit
/// subjects, authors and branch names; every channel: stdout, stderr, `-o` files and the
/// baseline file. No secret part of the planted tokens may appear anywhere.
#[test]
fn tokens_planted_in_every_input_never_reach_any_channel() {
    let repo = TestRepo::new();
    let t = token();
    let secret = secret_of(&t).to_string();
    let legacy = legacy_token();
    let dir = repo.path();
    // A file named after a token, holding another one; a folder named after one too.
    repo.write(&format!("{t}.env"), format!("X={}\n", token()));
    repo.write(&format!("DT_API_TOKEN={legacy}/a.txt"), format!("K={}\n", token()));
    repo.commit_all(&format!("add {t}"));
    repo.git(&["branch", &format!("feature-{t}")]);
    let mut checks: Vec<(String, Option<i32>, Vec<u8>)> = Vec::new();
    let mut check = |name: &str, (code, all): (Option<i32>, Vec<u8>)| {
        checks.push((name.to_string(), code, all));
    };
    let tg = |args: &[&str]| {
        let mut c = tg_in(dir);
        c.args(args);
        c
    };
    for format in ["human", "json", "sarif"] {
        check(format, run_all(tg(&["scan", ".", "-v", "--format", format])));
        check(format, run_all(tg(&["scan", "--history", "-v", "--format", format])));
    }
    // Paths, revisions and flag values echoed by errors.
    check("missing path", run_all(tg(&["scan", &format!("no/{t}")])));
    check("staged file", run_all(tg(&["scan", "--staged", &format!("{t}.missing")])));
    check("outside", run_all(tg(&["scan", "--staged", &format!("/tmp/{t}")])));
    check("revision", run_all(tg(&["scan", "--history", &format!("{t}..HEAD")])));
    check("format value", run_all(tg(&["scan", ".", "--format", &t])));
    check("subcommand", run_all(tg(&[&t])));
    check("unknown flag", run_all(tg(&["scan", &format!("--{t}")])));
    check("config path", run_all(tg(&["scan", ".", "--config", &format!("{t}.toml")])));
    let mut env = tg(&["scan", "."]);
    env.env("TOKENGUARD_CONFIG", dir.join(format!("{t}.toml")));
    check("config env", run_all(env));
    check("output path", run_all(tg(&["scan", ".", "-o", &format!("no/{t}/r.json")])));
    // Configuration: keys, table names, values, allowlist entries, custom rules.
    let configs = [
        format!("{t} = 1\n"),
        format!("[\"{t}\"]\nx = 1\n"),
        format!("[allow]\n\"{t}\" = 1\n"),
        format!("[scan]\ndisable = [\"{t}\"]\n"),
        format!("[allow]\nregexes = ['{t}']\npaths = ['{t}.env']\n"),
        format!("[allow]\nregexes = ['X=']\npaths = ['DT_API_TOKEN={legacy}/**']\n"),
        format!(
            "[[rules]]\nid = \"acme\"\nregex = '(?P<secret>ACME_[A-Z]{{8}}) {t}'\nkeywords = [\"ACME_\"]\n"
        ),
    ];
    repo.write("rule.txt", format!("ACME_QWERTYUI {t}\n"));
    for (i, config) in configs.iter().enumerate() {
        repo.write(".tokenguard.toml", config);
        for args in [&["scan", ".", "-v"][..], &["scan", ".", "--format", "json", "-v"]] {
            check(&format!("config {i}"), run_all(tg(args)));
        }
        check(&format!("config {i} staged"), run_all(tg(&["scan", "--staged"])));
    }
    std::fs::remove_file(dir.join(".tokenguard.toml")).unwrap();
    // Files written: a report and the baseline.
    let report = dir.join("report.json");
    check("-o", run_all(tg(&["scan", ".", "-o", report.to_str().unwrap()])));
    check("-o file", (Some(1), std::fs::read(&report).unwrap()));
    repo.git(&["add", "-A"]);
    check("baseline", run_all(tg(&["baseline"])));
    check(
        "baseline file",
        (Some(0), std::fs::read(dir.join(".tokenguard-baseline.json")).unwrap()),
    );
    let mut seen_findings = false;
    for (name, code, all) in &checks {
        assert!(!contains(all, secret.as_bytes()), "{name} (exit {code:?}) printed a secret part");
        assert!(!contains(all, legacy.as_bytes()), "{name} (exit {code:?}) printed a legacy token");
        seen_findings |= *code == Some(1);
    }
    assert!(seen_findings, "the scans found the planted tokens");
}

/// `mask` is a log filter: it masks every kind it knows, whatever `[scan] disable` says in
/// the repository's or the user's configuration.
#[test]
fn mask_ignores_scan_disable() {
    let repo = TestRepo::new();
    repo.write(
        ".tokenguard.toml",
        "[scan]\ndisable = [\"dynatrace-api-token\", \"dynatrace-legacy-token\"]\n",
    );
    let (t, legacy) = (token(), legacy_token());
    let mut c = tg_in(repo.path());
    c.arg("mask").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write as _;
    let input = format!("a {t}\nDT_API_TOKEN={legacy}\n");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), input.len());
    assert!(!contains(&out.stdout, secret_of(&t).as_bytes()), "a disabled rule was not masked");
    assert!(!contains(&out.stdout, legacy.as_bytes()), "a disabled rule was not masked");
}

// ---------------------------------------------------------------------------------------
// Quoted-printable mail bodies: `KEY=3D<token>` wrapped at 76 characters

#[test]
fn quoted_printable_tokens_after_an_escaped_equals_are_found_and_masked_in_files_and_pipes() {
    // Each token after `KEY=`, with a key of every length from 1 to 75 characters so that
    // the soft break falls at every place in the token (and in the `=3D` before it).
    let mut secrets = Vec::new();
    let mut body = String::new();
    for pad in 1..=75 {
        let (key, token, secret) = match pad % 3 {
            0 => {
                let t = token_with(KINDS[pad % KINDS.len()].0, KINDS[pad % KINDS.len()].1);
                let s = secret_of(&t).to_string();
                ("K".repeat(pad), t, s)
            }
            1 => {
                let t = legacy_token();
                let key = format!("{}DT_API_TOKEN", "X_".repeat(pad / 2));
                (key, t.clone(), t)
            }
            _ => {
                let t = token();
                let s = secret_of(&t).to_string();
                (format!("{}API_TOKEN", "a".repeat(pad)), t, s)
            }
        };
        body.push_str(&format!("{key}={token}\n"));
        secrets.push(secret);
    }
    // Other providers' tokens (their secret: what follows the part a report shows).
    for pad in (1..=75).step_by(4) {
        let others = ["slack-bot-token", "stripe-secret-key", "azure-storage-account-key"];
        let (token, shown) = match pad % 8 {
            1 => (common::providers::github_classic("ghp_"), "ghp_".to_string()),
            3 => (common::providers::atlassian_api_token(), "ATATT".to_string()),
            5 => (common::providers::gitlab_routable("glpat-"), "glpat-".to_string()),
            _ => common::providers::other(others[pad % others.len()]),
        };
        let secret = token[token.find(shown.as_str()).unwrap() + shown.len()..].to_string();
        body.push_str(&format!("{}_KEY={token}\n", "k".repeat(pad)));
        secrets.push(secret);
    }
    // The same lines as written plainly: every token is found (a control).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.txt"), &body).unwrap();
    let scan = tg_in(dir.path()).args(["scan", "--format", "json", "plain.txt"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(report["findings"].as_array().map_or(0, Vec::len), secrets.len(), "plain lines");
    for eol in ["\n", "\r\n"] {
        let mail = format!(
            "Content-Type: text/plain{eol}Content-Transfer-Encoding: quoted-printable{eol}{eol}{}",
            quoted_printable(&body, eol)
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mail.eml"), &mail).unwrap();
        let scan =
            tg_in(dir.path()).args(["scan", "--format", "json", "mail.eml"]).output().unwrap();
        assert_eq!(scan.status.code(), Some(1), "scan exit ({eol:?})");
        let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
        let found = report["findings"].as_array().map_or(0, Vec::len);
        assert_eq!(found, secrets.len(), "findings in the mail ({eol:?})");
        let by_file = tg_in(dir.path()).args(["mask", "mail.eml"]).output().unwrap();
        let mut pipe = std::process::Command::new(tokenguard_path());
        common::isolate(&mut pipe);
        let by_pipe = pipe
            .arg("mask")
            .current_dir(dir.path())
            .stdin(std::fs::File::open(dir.path().join("mail.eml")).unwrap())
            .output()
            .unwrap();
        for (how, out) in [("mask FILE", &by_file), ("mask on a pipe", &by_pipe)] {
            assert_eq!(out.status.code(), Some(0), "{how}");
            let joined = String::from_utf8_lossy(&out.stdout).replace(&format!("={eol}"), "");
            for (i, s) in secrets.iter().enumerate() {
                assert!(!joined.contains(s.as_str()), "{how} printed secret {i} ({eol:?})");
            }
            assert_eq!(by_file.stdout, out.stdout, "{how} differs from mask FILE ({eol:?})");
        }
    }
}
