//! Shared helpers for the integration tests: synthetic tokens, isolated temp repositories,
//! and the real binary. Tokens are generated at run time (random upper-case alphanumerics of
//! the right lengths), so no test file holds a literal token.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

pub mod providers;

static SEED: AtomicU64 = AtomicU64::new(0);

/// A pseudo-random generator seeded per call site run (xorshift; no crate needed).
pub struct Rng(u64);

impl Rng {
    /// A generator with a fresh seed (time and a counter), different in each call.
    pub fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let n = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        Rng((t ^ n ^ u64::from(std::process::id())) | 1)
    }

    /// Next number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// `n` random characters of `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char).collect()
    }
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A synthetic structured token: `prefix.<public_len random>.<64 random>`.
pub fn token_with(prefix: &str, public_len: usize) -> String {
    let mut rng = Rng::new();
    loop {
        let t = format!(
            "{prefix}.{}.{}",
            rng.chars(UPPER_ALNUM, public_len),
            rng.chars(UPPER_ALNUM, 64)
        );
        // Random parts are never placeholder-shaped, but make sure.
        if tokenguard::matcher::Matcher::builtin().find(t.as_bytes()).len() == 1 {
            return t;
        }
    }
}

/// Every token kind the tests cover: prefix and public-part length (the last a kind that
/// does not exist yet, which the generic rule must find).
pub const TOKEN_KINDS: &[(&str, usize)] = &[
    ("dt0c01", 24),
    ("dt0s01", 24),
    ("dt0g02", 8),
    ("dt0s02", 8),
    ("dt0s09", 8),
    ("dt0s16", 8),
    ("dt0k77", 24),
];

/// A synthetic classic access token (`dt0c01`).
pub fn token() -> String {
    token_with("dt0c01", 24)
}

/// A synthetic older-format token: 21 characters with upper and lower case and a digit.
pub fn legacy_token() -> String {
    let mut rng = Rng::new();
    loop {
        let t = rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 21);
        if tokenguard::matcher::is_plausible_legacy(t.as_bytes()) {
            return t;
        }
    }
}

/// The secret part of a structured token (what must never be printed).
pub fn secret_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

/// The tokenguard binary under test.
pub fn tokenguard() -> Command {
    let mut c = Command::cargo_bin("tokenguard").unwrap();
    isolate(&mut c);
    c
}

/// Path of the tokenguard binary under test.
pub fn tokenguard_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tokenguard"))
}

/// The target folder the slow build tests share (install.sh's, the GitHub Action's, the GitLab
/// template's and pre-commit's real `cargo install`s), and where .ci/run makes its one release
/// build first: the dependencies are compiled once for all, and a build of this same checkout
/// is found up to date.
pub fn shared_release_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/slow-release")
}

/// Removes the variables `cargo test` sets for a test process (`CARGO_PKG_*`, `OUT_DIR`, ...)
/// from a command that runs a real cargo build, which then builds as a user's would. A build
/// script that reads one of them (ring's reads CARGO_PKG_NAME) otherwise sees the test's value,
/// and cargo runs it and rebuilds what depends on it instead of reusing .ci/run's build.
pub fn without_cargo_test_env(c: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let set_by_cargo_test =
            ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_EXE_"].iter().any(|p| k.starts_with(p))
                || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
                    .contains(&k);
        if set_by_cargo_test {
            c.env_remove(k);
        }
    }
}

/// The variable naming the release binary that .ci/run builds once for the slow tests.
pub const RELEASE_BIN_VAR: &str = "TOKENGUARD_TEST_RELEASE_BIN";

/// The binary the slow (`#[ignore]`d) tests run on GB-size inputs: the release build named
/// by `TOKENGUARD_TEST_RELEASE_BIN` (.ci/run builds it from the same checkout before the slow
/// tests), else the debug binary under test, so `cargo test -- --ignored` alone still works.
pub fn slow_tests_binary() -> PathBuf {
    match std::env::var_os(RELEASE_BIN_VAR).filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "{RELEASE_BIN_VAR} names no file: {}", p.display());
            p
        }
        None => tokenguard_path(),
    }
}

/// An empty file to stand for the user's global git configuration. Not /dev/null: a tool
/// that writes "to /dev/null" by replacing it (rename over it) turns it into a file whose
/// content git would then read as configuration.
pub fn empty_git_config() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let p = std::env::temp_dir()
            .join(format!("tokenguard-tests-empty-gitconfig-{}", std::process::id()));
        std::fs::write(&p, "").unwrap();
        p
    })
}

/// Keeps a command away from the developer's own git and tokenguard configuration.
pub fn isolate(c: &mut Command) {
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("XDG_CONFIG_HOME", "/nonexistent-tokenguard-test")
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("TOKENGUARD_CONFIG");
}

/// A git repository in a temp folder, isolated from the user's git configuration.
pub struct TestRepo {
    pub dir: TempDir,
}

impl TestRepo {
    /// `git init` in a new temp folder (branch `main`).
    pub fn new() -> TestRepo {
        let dir = tempfile::Builder::new().prefix("tg-test").tempdir().unwrap();
        let repo = TestRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "core.autocrlf", "false"]);
        repo
    }

    /// The work tree root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `git` command in the repository, isolated.
    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        isolate(&mut c);
        c.current_dir(self.path()).args(args);
        c
    }

    /// Runs git and asserts it succeeded; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs git and returns the whole output, whatever the status.
    pub fn git_output(&self, args: &[&str]) -> Output {
        self.git_cmd(args).output().unwrap()
    }

    /// Writes a file (creating folders).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// `git add -A && git commit` with `--no-verify` (setting up history, not testing the hook).
    pub fn commit_all(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", msg]);
    }

    /// Writes a pre-commit hook that runs the binary under test with `scan --staged`.
    pub fn install_test_hook(&self) {
        let hooks = self.path().join(".git/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        let hook = hooks.join("pre-commit");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\nexec '{}' scan --staged\n", tokenguard_path().display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A `tokenguard` command run in the repository.
    pub fn tokenguard(&self) -> Command {
        let mut c = tokenguard();
        c.current_dir(self.path());
        c
    }
}

/// A validator of SARIF 2.1.0 logs, from the published schema (tests/fixtures). The schema's
/// `run.language` pattern has a stray `]` that Rust's regex engines reject when the schema
/// itself is checked; tokenguard never writes `language`, so the pattern is replaced (in
/// memory) by the one it means.
pub fn sarif_validator() -> jsonschema::Validator {
    let schema_text = include_str!("../fixtures/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    jsonschema::options().should_validate_formats(true).build(&schema).expect("schema")
}

/// The (line, column, token id) of each finding in a `--format json` report.
pub fn finding_places(report: &[u8]) -> Vec<(u64, u64, String)> {
    let doc: serde_json::Value = serde_json::from_slice(report).expect("a JSON report");
    doc["findings"]
        .as_array()
        .expect("a findings list")
        .iter()
        .map(|f| {
            let at = |k: &str| f[k].as_u64().expect("a number");
            (at("line"), at("column"), f["token_id"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// `text` as a quoted-printable encoder writes it: `=` as `=3D`, lines of at most 76
/// characters with a soft break (`=` then `eol`) where a line is cut, never inside an escape.
pub fn quoted_printable(text: &str, eol: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut width = 0;
        for c in line.chars() {
            let piece = if c == '=' { "=3D".to_string() } else { c.to_string() };
            if width + piece.len() > 75 {
                out.push('=');
                out.push_str(eol);
                width = 0;
            }
            out.push_str(&piece);
            width += piece.len();
        }
        out.push_str(eol);
    }
    out
}

/// `text` URL-encoded as `encodeURIComponent` does (all but letters, digits and `-._~`).
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
