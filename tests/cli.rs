//! The binary, command by command: `scan PATH...`, `scan -`, `mask [FILE]`, `rules`, the JSON
//! contract, colours, and exit codes (0 clean, 1 findings, 2 error). Every test that reads
//! output checks that no secret part is in it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{legacy_token, secret_of, token, token_with, tokenguard};
use sha2::{Digest, Sha256};

/// stdout and stderr together, lossily decoded.
fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[track_caller]
fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let text = all_output(out);
    for s in secrets {
        assert!(!text.contains(s), "secret in output:\n{text}");
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The binary as an assert_cmd command (for `write_stdin`).
fn tg() -> assert_cmd::Command {
    assert_cmd::Command::from_std(tokenguard())
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("tg-cli").tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------
// scan PATH...

#[test]
fn scan_of_a_clean_file_exits_0_silently() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a.txt"), "nothing to see\nDT_API_TOKEN=${DT_API_TOKEN}\n")
        .unwrap();
    let out = tokenguard().arg("scan").arg("a.txt").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(out.stdout.is_empty(), "{}", all_output(&out));
}

#[test]
fn scan_reports_paths_as_given_with_line_and_column() {
    let dir = tempdir();
    let t = token();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/app.env"), format!("# config\nX=1\nDT_API_TOKEN={t}\n"))
        .unwrap();
    for (arg, shown) in [("conf/app.env", "conf/app.env:3:14"), ("./conf", "./conf/app.env:3:14")] {
        let out = tokenguard().args(["scan", arg]).current_dir(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(shown), "{stdout}");
        let id = t.rsplit_once('.').unwrap().0;
        assert!(stdout.contains(id), "token id shown: {stdout}");
        assert!(stdout.contains("dynatrace-api-token"), "{stdout}");
        assert!(stdout.contains("fingerprint: sha256:"), "{stdout}");
        assert!(stdout.contains("1 token(s) found"), "{stdout}");
        // The advice says how to rotate this kind of token, from its rule.
        assert!(stdout.contains("To rotate dynatrace tokens (dynatrace-api-token):"), "{stdout}");
        assert!(stdout.contains("Revoke the token in Dynatrace"), "{stdout}");
        assert_no_secret(&out, &[secret_of(&t)]);
    }
    // An absolute path stays absolute.
    let abs = dir.path().join("conf/app.env");
    let out = tokenguard().arg("scan").arg(&abs).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{}:3:14", abs.display())));
}

#[test]
fn scan_of_a_folder_walks_it_skips_git_and_honours_gitignore() {
    let dir = tempdir();
    let root = dir.path();
    let (a, b, c, d) = (token(), token(), token(), token());
    let write = |rel: &str, content: String| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    write("src/deep/er/config.yaml", format!("apiToken: {a}\n"));
    write(".git/config", format!("[remote]\n  url = https://x?Api-Token={b}\n"));
    write("sub/.git/objects/xx", format!("{b}\n"));
    write(".gitignore", "*.local\nbuild/\n".into());
    write("secrets.local", format!("T={c}\n"));
    write("build/out.txt", format!("T={d}\n"));
    let out = tokenguard().args(["scan", "."]).current_dir(root).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("src/deep/er/config.yaml:1:11"), "{stdout}");
    assert!(!stdout.contains(".git/"), "{stdout}");
    assert!(!stdout.contains("secrets.local") && !stdout.contains("build/"), "{stdout}");
    assert!(stdout.contains("1 token(s) found"), "{stdout}");
    assert_no_secret(&out, &[secret_of(&a), secret_of(&b), secret_of(&c), secret_of(&d)]);

    let out = tokenguard().args(["scan", "--no-ignore", "."]).current_dir(root).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("secrets.local:1:3") && stdout.contains("build/out.txt:1:3"));
    assert!(!stdout.contains(".git/"), "{stdout}");
    assert!(stdout.contains("3 token(s) found"), "{stdout}");
    assert_no_secret(&out, &[secret_of(&a), secret_of(&b), secret_of(&c), secret_of(&d)]);
}

#[test]
fn scan_reads_binary_files_as_bytes() {
    let dir = tempdir();
    let t = token_with("dt0s16", 8);
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    bytes.extend_from_slice(b"\0\0");
    bytes.extend_from_slice(t.as_bytes());
    bytes.extend_from_slice(&[0xff, 0xfe, 0, 1, 2]);
    std::fs::write(dir.path().join("blob.bin"), &bytes).unwrap();
    let out = tokenguard().args(["scan", "blob.bin"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dynatrace-platform-token"));
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
fn scan_of_a_missing_path_exits_2_naming_it() {
    let dir = tempdir();
    std::fs::write(dir.path().join("ok.txt"), "fine\n").unwrap();
    let out = tokenguard()
        .args(["scan", "ok.txt", "no-such-file.env"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-file.env"), "{stderr}");
    assert!(stderr.lines().count() <= 2, "short message: {stderr}");
}

#[test]
fn bad_flags_and_missing_arguments_exit_2() {
    for args in [
        &["scan", "--no-such-flag", "."][..],
        &["scan", "--format", "yaml", "."],
        &["scan", "--color", "sometimes", "."],
        &["scan"],
        &["frobnicate"],
        &["mask", "a", "b"],
    ] {
        let out = tokenguard().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
    let out = tokenguard().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn scan_of_an_unreadable_file_exits_2_after_scanning_the_rest() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let t = token();
    std::fs::write(dir.path().join("a.env"), format!("T={t}\n")).unwrap();
    let locked = dir.path().join("locked.env");
    std::fs::write(&locked, "x\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        return; // running as root: permissions do not stop reads
    }
    let out = tokenguard().args(["scan", "."]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked.env"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.env:1:3"));
    assert_no_secret(&out, &[secret_of(&t)]);
}

// ---------------------------------------------------------------------------------------
// scan -

#[test]
fn scan_of_stdin() {
    let t = token();
    let l = legacy_token();
    let input = format!("line one\ncurl -H 'Authorization: Api-Token {l}'\nT={t}\n");
    let out = tg().args(["scan", "-"]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-:2:"), "{stdout}");
    assert!(stdout.contains("-:3:3"), "{stdout}");
    assert!(stdout.contains("dynatrace-legacy-token"), "{stdout}");
    assert_no_secret(&out, &[secret_of(&t), &l]);

    let out = tg().args(["scan", "-"]).write_stdin("clean\n").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

// ---------------------------------------------------------------------------------------
// mask

#[test]
fn mask_copies_byte_for_byte_except_secret_parts() {
    let dir = tempdir();
    let (t, o, l) = (token(), token_with("dt0s02", 8), legacy_token());
    let mut input: Vec<u8> = b"\xff\xfe binary \0 start\r\n".to_vec();
    input.extend(format!("2024 INFO token={t} sent\r\n").as_bytes());
    input.extend(format!("client_secret: \"{o}\"\n").as_bytes());
    input.extend(format!("Authorization: Api-Token {l}\n").as_bytes());
    input.extend(b"no newline at the end \xc3\xa9");
    std::fs::write(dir.path().join("log.txt"), &input).unwrap();
    let out = tokenguard().args(["mask", "log.txt"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let expected = String::from_utf8_lossy(&input)
        .replace(secret_of(&t), &"*".repeat(64))
        .replace(secret_of(&o), &"*".repeat(64))
        .replace(&l, &"*".repeat(21));
    let mut expected_bytes = input.clone();
    // Rebuild from bytes (the lossy string changed the invalid bytes): replace in place.
    for s in [secret_of(&t), secret_of(&o), l.as_str()] {
        let at = memfind(&expected_bytes, s.as_bytes()).unwrap();
        expected_bytes[at..at + s.len()].fill(b'*');
    }
    assert_eq!(out.stdout, expected_bytes);
    assert!(expected.contains(&format!("{}.{}", t.rsplit_once('.').unwrap().0, "*".repeat(64))));
    assert_no_secret(&out, &[secret_of(&t), secret_of(&o), &l]);
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn mask_reads_stdin_and_masks_base64_too() {
    use base64::Engine;
    let t = token();
    let enc = base64::engine::general_purpose::STANDARD.encode(&t);
    let input = format!("data:\n  apiToken: {enc}\n");
    let out = tg().arg("mask").write_stdin(input.clone()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.len(), input.len());
    assert!(stdout.starts_with("data:\n  apiToken: ZHQw"), "{stdout}");
    assert!(!stdout.contains(&enc[enc.len() / 2..]), "{stdout}");
    assert_no_secret(&out, &[secret_of(&t)]);
}

/// `tokenguard mask` reading a pipe: the child, its stdin, and its output lines as they come.
fn mask_on_a_pipe(
) -> (std::process::Child, std::process::ChildStdin, std::sync::mpsc::Receiver<String>) {
    let mut child = tokenguard()
        .arg("mask")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, stdin, rx)
}

#[test]
fn mask_streams_line_by_line_without_waiting_for_the_end() {
    let (mut child, mut stdin, rx) = mask_on_a_pipe();
    for i in 0..5 {
        let t = token();
        writeln!(stdin, "event {i} token={t}").unwrap();
        stdin.flush().unwrap();
        // The masked line must come back while the input is still open.
        let got = rx.recv_timeout(Duration::from_secs(20)).expect("masked line arrives at once");
        let id = t.rsplit_once('.').unwrap().0;
        assert_eq!(got, format!("event {i} token={id}.{}", "*".repeat(64)));
    }
    writeln!(stdin, "plain line").unwrap();
    stdin.flush().unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "plain line");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn mask_of_a_missing_file_exits_2() {
    let out = tokenguard().args(["mask", "/no/such/file.log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.log"));
}

// ---------------------------------------------------------------------------------------
// rules

#[test]
fn rules_lists_every_rule_and_the_known_examples() {
    let out = tokenguard().arg("rules").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for rule in tokenguard::rules::builtin() {
        assert!(stdout.contains(&rule.id), "{} missing: {stdout}", rule.id);
    }
    for k in tokenguard::rules::known_examples() {
        assert!(stdout.contains(k), "{k} missing");
    }
    let out = tokenguard().args(["rules", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rules"].as_array().unwrap().len(), tokenguard::rules::builtin().len());
    assert_eq!(
        doc["known_examples"].as_array().unwrap().len(),
        tokenguard::rules::known_examples().len()
    );
    assert!(tokenguard::rules::known_examples().len() >= 3);
}

#[test]
fn an_output_file_that_cannot_be_written_says_so() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a.txt"), "clean\n").unwrap();
    let out = tg()
        .current_dir(dir.path())
        .args(["scan", "a.txt", "-o", "no/such/dir/r.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write no/such/dir/r.json"), "{err}");
    assert!(!err.contains("cannot read"), "{err}");
}

#[test]
fn rules_as_sarif_is_a_valid_log_describing_every_rule() {
    let out = tokenguard().args(["rules", "--format", "sarif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(common::sarif_validator().is_valid(&doc), "not a valid SARIF log");
    let run = &doc["runs"][0];
    assert!(run["results"].as_array().unwrap().is_empty());
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let builtin: Vec<String> = tokenguard::rules::builtin().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, builtin);
}

// ---------------------------------------------------------------------------------------
// JSON contract

#[test]
fn json_report_follows_the_contract() {
    let dir = tempdir();
    let (t, g) = (token(), token_with("dt0g02", 8));
    let l = legacy_token();
    // "é" is two bytes: the column counts bytes.
    std::fs::write(
        dir.path().join("cfg.yaml"),
        format!("a: 1\né: {t}\ntenantToken: {g}\nDT_API_TOKEN={l}\n"),
    )
    .unwrap();
    let out = tokenguard()
        .args(["scan", "cfg.yaml", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret(&out, &[secret_of(&t), secret_of(&g), &l]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["summary"]["findings"], 3);
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 3);
    let first = &f[0];
    for key in ["rule", "description", "file", "line", "column", "masked", "fingerprint"] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert_eq!(first["rule"], "dynatrace-api-token");
    assert_eq!(first["provider"], "dynatrace");
    assert_eq!(first["severity"], "high");
    assert_eq!(first["file"], "cfg.yaml");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 5);
    let id = t.rsplit_once('.').unwrap().0;
    assert_eq!(first["token_id"], id);
    assert!(first["masked"].as_str().unwrap().starts_with(&format!("{id}.*")));
    assert_eq!(first["fingerprint"], format!("sha256:{}", sha256_hex(&t)));
    assert!(first["description"].as_str().unwrap().len() > 10);

    assert_eq!(f[1]["rule"], "dynatrace-activegate-token");
    assert_eq!((f[1]["line"].as_u64(), f[1]["column"].as_u64()), (Some(3), Some(14)));
    assert_eq!(f[1]["fingerprint"], format!("sha256:{}", sha256_hex(&g)));

    assert_eq!(f[2]["rule"], "dynatrace-legacy-token");
    assert_eq!((f[2]["line"].as_u64(), f[2]["column"].as_u64()), (Some(4), Some(14)));
    assert!(f[2]["token_id"].is_null(), "the older format has no id: {}", f[2]);
    assert_eq!(f[2]["fingerprint"], format!("sha256:{}", sha256_hex(&l)));

    let out = tg().args(["scan", "-", "--format", "json"]).write_stdin("clean\n").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    assert_eq!(doc["summary"]["findings"], 0);
}

// ---------------------------------------------------------------------------------------
// colours

#[test]
fn colours_follow_the_color_flag_and_no_color() {
    let t = token();
    let run = |color: &str, no_color: Option<&str>| {
        let mut c = tg();
        c.args(["scan", "-", "--color", color]).write_stdin(format!("T={t}\n"));
        match no_color {
            Some(v) => c.env("NO_COLOR", v),
            None => c.env_remove("NO_COLOR"),
        };
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_no_secret(&out, &[secret_of(&t)]);
        String::from_utf8_lossy(&out.stdout).contains('\x1b')
    };
    assert!(run("always", None));
    assert!(run("always", Some("1")), "--color always wins over NO_COLOR");
    assert!(!run("never", None));
    // auto: stdout is a pipe here, so no colour, with or without NO_COLOR.
    assert!(!run("auto", None));
    assert!(!run("auto", Some("1")));
}

// ---------------------------------------------------------------------------------------
// large input

/// Peak resident memory of a child process (polling /proc while it runs).
fn run_measuring_peak_rss(mut cmd: std::process::Command) -> (Output, u64) {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (p, d) = (peak.clone(), done.clone());
    let poller = std::thread::spawn(move || {
        while !d.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                if let Some(kb) = s
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    p.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.join().unwrap();
    (out, peak.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn a_large_single_line_file_is_streamed_with_bounded_memory() {
    // 48 MiB without a single newline, a token near the end: found at the right column while
    // memory stays far below the file size. (benches/throughput.sh checks several GB.)
    let dir = tempdir();
    let path = dir.path().join("big.txt");
    let t = token();
    let size: u64 = 48 << 20;
    {
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(size).unwrap(); // sparse: NUL bytes
        use std::io::{Seek, SeekFrom};
        let mut f = f;
        f.seek(SeekFrom::Start(size - 1000)).unwrap();
        f.write_all(format!(" T={t} ").as_bytes()).unwrap();
    }
    let mut cmd = tokenguard();
    cmd.args(["scan", "--format", "json"]).arg(&path);
    let (out, peak_kb) = run_measuring_peak_rss(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_no_secret(&out, &[secret_of(&t)]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["line"], 1);
    assert_eq!(doc["findings"][0]["column"], size - 1000 + 4);
    assert!(peak_kb > 0 && peak_kb < 40 * 1024, "peak RSS {peak_kb} KiB for a 48 MiB file");
}

#[test]
fn findings_of_a_folder_are_ordered_by_path_then_position() {
    let dir = tempdir();
    let names = ["b.env", "a.env", "c/d.env", "a/z.env"];
    for name in names {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("X={}\nY={}\n", token(), token())).unwrap();
    }
    let out = tg().arg("scan").arg("--format").arg("json").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let places: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let rel = file.strip_prefix(&*dir.path().to_string_lossy()).unwrap();
            (rel.trim_start_matches('/').to_string(), f["line"].as_u64().unwrap())
        })
        .collect();
    let mut expected = Vec::new();
    for name in ["a.env", "a/z.env", "b.env", "c/d.env"] {
        expected.push((name.to_string(), 1));
        expected.push((name.to_string(), 2));
    }
    assert_eq!(places, expected);
}

// ---------------------------------------------------------------------------------------
// base64 wrapped over lines, through the binary: at the end of a file, across the windows of
// a large input, and line by line through a pipe

/// `echo -n "$TOKEN" | base64` (GNU coreutils wraps at 76 columns), without the last newline.
fn wrapped_base64(t: &str) -> String {
    use base64::Engine;
    let enc = base64::engine::general_purpose::STANDARD.encode(t);
    enc.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn assert_one_finding_at(out: &Output, line: u64, column: u64) {
    assert_eq!(out.status.code(), Some(1), "{}", all_output(out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = doc["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(
        (found[0]["line"].as_u64(), found[0]["column"].as_u64()),
        (Some(line), Some(column))
    );
    assert_eq!(found[0]["encoding"], "base64");
}

#[test]
fn wrapped_base64_at_the_end_of_a_file_without_a_newline_is_found_and_masked() {
    let dir = tempdir();
    let t = token();
    let wrapped = wrapped_base64(&t);
    let path = dir.path().join("token.b64");
    std::fs::write(&path, format!("token:\n{wrapped}")).unwrap();
    let out = tokenguard().args(["scan", "--format", "json"]).arg(&path).output().unwrap();
    assert_one_finding_at(&out, 2, 1);
    assert_no_secret(&out, &[secret_of(&t)]);
    // The same through standard input, and masked: line ends kept, the encoding starred.
    let input = format!("token:\n{wrapped}");
    let out =
        tg().args(["scan", "--format", "json", "-"]).write_stdin(input.clone()).output().unwrap();
    assert_one_finding_at(&out, 2, 1);
    let out = tokenguard().arg("mask").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout.len(), input.len());
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), 2);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&wrapped[8..]));
}

#[test]
fn wrapped_base64_across_the_windows_of_a_large_input_is_found() {
    // Lines of 100 bytes; the token's two lines put at every offset around the 1 MiB and
    // 2 MiB marks (where windows and parallel segments of a large input are cut).
    let t = token();
    let wrapped = wrapped_base64(&t);
    let filler = format!("{}\n", "x".repeat(99));
    for mark in [1usize << 20, 2 << 20] {
        for shift in [-150i64, -80, -40, -3, 0, 5] {
            let lines_before = ((mark as i64 + shift) / 100) as usize;
            let mut text = filler.repeat(lines_before);
            let at = text.len();
            text.push_str(&wrapped);
            text.push('\n');
            text.push_str(&filler.repeat(30_000));
            let dir = tempdir();
            let path = dir.path().join("big.txt");
            std::fs::write(&path, &text).unwrap();
            let line = lines_before as u64 + 1;
            let out = tokenguard().args(["scan", "--format", "json"]).arg(&path).output().unwrap();
            assert_one_finding_at(&out, line, 1);
            let out = tg()
                .args(["scan", "--format", "json", "-"])
                .write_stdin(text.clone())
                .output()
                .unwrap();
            assert_one_finding_at(&out, line, 1);
            assert_no_secret(&out, &[secret_of(&t)]);
            let masked = tokenguard().arg("mask").arg(&path).output().unwrap();
            assert_eq!(masked.stdout.len(), text.len());
            assert!(
                !String::from_utf8_lossy(&masked.stdout[at..at + 200]).contains(&wrapped[8..76])
            );
        }
    }
}

#[test]
fn mask_on_a_pipe_holds_a_line_that_may_go_on_with_a_wrapped_token() {
    let (mut child, mut stdin, rx) = mask_on_a_pipe();
    let t = token();
    let wrapped = wrapped_base64(&t);
    let (first, second) = wrapped.split_once('\n').unwrap();
    writeln!(stdin, "apiToken: |").unwrap();
    stdin.flush().unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "apiToken: |");
    // The first line of the token is held until the next line shows where it ends...
    writeln!(stdin, "  {first}").unwrap();
    stdin.flush().unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err(), "held line came out alone");
    writeln!(stdin, "  {second}").unwrap();
    stdin.flush().unwrap();
    // ...and both come out masked.
    let got1 = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let got2 = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!((got1.len(), got2.len()), (first.len() + 2, second.len() + 2));
    // (Failure messages name no line: an unmasked one would print the token.)
    assert!(got1.starts_with("  ZHQw") && got1.contains("****"), "first line not masked");
    assert!(!got1.contains(&first[8..]) && !got2.contains(second), "token left in the output");
    // An ordinary line still comes back at once.
    writeln!(stdin, "plain line").unwrap();
    stdin.flush().unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "plain line");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn tokens_at_the_cuts_of_a_large_file_are_each_found_once_at_the_right_line_and_column() {
    // A 36 MiB file (mapped in 16 MiB batches searched in 2 MiB segments), with tokens placed
    // so that they start or end right at the cuts, on lines of varying length, some lines long
    // enough to hold no newline for a whole segment. Every finding must come once, in order,
    // at its exact line and column, as through standard input (windows of 1 MiB).
    let mut text: Vec<u8> = Vec::with_capacity(37 << 20);
    let mut expected: Vec<(u64, u64, String)> = Vec::new();
    let mut line = 1u64;
    let mut line_start = 0usize;
    let push = |text: &mut Vec<u8>, bytes: &[u8], line: &mut u64, line_start: &mut usize| {
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                *line += 1;
                *line_start = text.len() + i + 1;
            }
        }
        text.extend_from_slice(bytes);
    };
    let cuts: Vec<usize> = (1..18).map(|k| k * (2 << 20)).collect();
    let mut k = 0;
    for cut in cuts {
        // Filler up to a little before the cut: short lines, then one long line.
        while text.len() + 300 < cut - 400 {
            let filler = if k % 7 == 0 { vec![b'y'; 250] } else { vec![b'x'; 60] };
            push(&mut text, &filler, &mut line, &mut line_start);
            push(&mut text, b"\n", &mut line, &mut line_start);
            k += 1;
        }
        if cut == 6 << 20 {
            // A line of 3 MiB without a newline: a whole segment with no line start.
            push(&mut text, &vec![b'z'; 3 << 20], &mut line, &mut line_start);
            push(&mut text, b"\n", &mut line, &mut line_start);
            continue;
        }
        // By turns: a token that crosses the cut, one that ends right at it, one that starts
        // right at it; and a second one on the same line a little further on.
        let t = token();
        let start = match (cut >> 21) % 3 {
            0 => cut - 50,
            1 => cut - t.len(),
            _ => cut,
        };
        if start <= text.len() {
            continue; // the long line went past this cut
        }
        let pad = start - text.len() - 1;
        push(&mut text, &vec![b'p'; pad], &mut line, &mut line_start);
        push(&mut text, b" ", &mut line, &mut line_start);
        for t in [t, token()] {
            let column = (text.len() - line_start + 1) as u64;
            expected.push((line, column, t.rsplit_once('.').unwrap().0.to_string()));
            push(&mut text, t.as_bytes(), &mut line, &mut line_start);
            push(&mut text, b" = ", &mut line, &mut line_start);
        }
        push(&mut text, b"\n", &mut line, &mut line_start);
    }
    let dir = tempdir();
    let path = dir.path().join("cuts.txt");
    std::fs::write(&path, &text).unwrap();
    let found = |out: Output| -> Vec<(u64, u64, String)> {
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        common::finding_places(&out.stdout)
    };
    assert!(expected.len() >= 28, "{}", expected.len());
    let mapped =
        found(tokenguard().args(["scan", "--format", "json"]).arg(&path).output().unwrap());
    assert_eq!(mapped, expected);
    let streamed =
        found(tg().args(["scan", "--format", "json", "-"]).write_stdin(text).output().unwrap());
    assert_eq!(streamed, expected);
}
