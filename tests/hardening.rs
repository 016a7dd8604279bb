//! Bad input: the tool never crashes, hangs or changes a repository, whatever it is given.
//! Folder scans over unreadable files, FIFOs, sockets, devices, symlink loops, non-UTF-8
//! names, deep and wide trees and a huge sparse file; repositories with a missing blob, a
//! corrupt or locked index, a hooks path that cannot exist, binary or pathological
//! configuration; hook input that is malformed. Each run asserts the secret part is absent.

mod common;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{secret_of, token, tokenguard, TestRepo};

fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let all = all_output(out);
    for s in secrets {
        assert!(!all.contains(s), "a secret reached the output:\n{all}");
    }
}

/// Runs `cmd`, killing it (and failing) if it takes longer than `limit`: a hang is a failure,
/// never a stuck test run.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?} (killed):\n{}", all_output(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` with `input` on its standard input (at most two minutes).
fn with_stdin(cmd: Command, input: Vec<u8>) -> Output {
    assert_cmd::Command::from_std(cmd)
        .write_stdin(input)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn tg_in(dir: &Path) -> Command {
    tg_binary_in(&common::tokenguard_path(), dir)
}

/// For the slow (`#[ignore]`d) tests: the release binary .ci/run shares, when it names one
/// (common::slow_tests_binary), so GB-size inputs take seconds, not minutes.
fn slow_tg_in(dir: &Path) -> Command {
    tg_binary_in(&common::slow_tests_binary(), dir)
}

fn tg_binary_in(binary: &Path, dir: &Path) -> Command {
    let mut c = Command::new(binary);
    common::isolate(&mut c);
    c.current_dir(dir);
    c
}

fn is_root() -> bool {
    // Root ignores permission bits: a file with mode 000 stays readable.
    let probe = tempfile::NamedTempFile::new().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::read(probe.path()).is_ok()
}

/// Every file and folder under `root` (symbolic links not followed) with a hash of its
/// content, its kind and mode: compared before and after a run, it shows any change.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let what = if md.is_dir() {
                stack.push(p.clone());
                format!("dir {:o}", md.mode())
            } else if md.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&p).unwrap())
            } else if md.is_file() {
                let bytes = std::fs::read(&p).unwrap_or_default();
                format!("file {:o} {}", md.mode(), tokenguard::matcher::fingerprint(&bytes))
            } else {
                format!("special {:o}", md.mode())
            };
            out.insert(p.strip_prefix(root).unwrap().to_path_buf(), what);
        }
    }
    out
}

fn assert_unchanged(before: &BTreeMap<PathBuf, String>, root: &Path) {
    let after = snapshot(root);
    for (p, v) in &after {
        assert_eq!(before.get(p), Some(v), "{} was added or changed", p.display());
    }
    for p in before.keys() {
        assert!(after.contains_key(p), "{} was removed", p.display());
    }
}

// ---------------------------------------------------------------------------------------
// Folder scans

#[test]
fn an_unreadable_file_is_reported_by_name_and_the_scan_goes_on_to_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    std::fs::write(dir.path().join("a.env"), format!("T={t}\n")).unwrap();
    std::fs::write(dir.path().join("z.env"), format!("T={t}\n")).unwrap();
    let bad = dir.path().join("m-unreadable.env");
    if is_root() {
        // Permission bits do not stop root; a file whose every read fails does: this
        // process's own memory file reads EIO at offset 0.
        println!("running as root: an unreadable file is made with /proc/self/mem, not chmod");
        std::os::unix::fs::symlink("/proc/self/mem", &bad).unwrap();
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&bad, "x\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let out = run_within(tg_in(dir.path()).args(["scan", "."]), Duration::from_secs(30));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("cannot read ./m-unreadable.env"), "{stderr}");
    assert!(stderr.contains("1 input(s) could not be scanned"), "{stderr}");
    // The files before and after it in the walk were scanned and reported.
    assert!(stdout.contains("./a.env:1:3") && stdout.contains("./z.env:1:3"), "{stdout}");
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
fn an_unreadable_folder_is_reported_and_the_rest_scanned() {
    if is_root() {
        println!("skipped: running as root, where a mode-000 folder stays readable");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    std::fs::write(dir.path().join("a.env"), format!("T={t}\n")).unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("inner.env"), "x\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run_within(tg_in(dir.path()).args(["scan", "."]), Duration::from_secs(30));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("./locked"), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("./a.env:1:3"));
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
fn fifos_sockets_and_devices_are_skipped_never_blocked_on() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    std::fs::write(dir.path().join("a.env"), format!("T={t}\n")).unwrap();
    // A FIFO without a writer: opening it for reading would block forever.
    let status = Command::new("mkfifo").arg(dir.path().join("fifo")).status().unwrap();
    assert!(status.success());
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
    // Devices, reached through links (the walk follows links): /dev/zero never ends, and a
    // terminal would block.
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.path().join("null")).unwrap();
    let out = run_within(tg_in(dir.path()).args(["scan", "."]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("./a.env:1:3"));
    // Skipped, and said so: nothing is passed over silently. (Some sandboxes make /dev/null
    // a plain empty file: only links to real devices are expected as devices.)
    use std::os::unix::fs::FileTypeExt;
    let is_device = |p: &str| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device());
    let mut expected = vec![("fifo", "fifo"), ("socket", "socket")];
    for (name, target) in [("zero", "/dev/zero"), ("null", "/dev/null")] {
        if is_device(target) {
            expected.push((name, "device"));
        }
    }
    for (name, kind) in expected {
        let line = format!("skipped ./{name}: not a regular file ({kind})");
        assert!(stdout.contains(&line), "{line:?} missing in {stdout}");
    }
    assert_no_secret(&out, &[secret_of(&t)]);

    // Named on the command line too: nothing to scan, no wait.
    for special in ["fifo", "socket", "zero", "null"] {
        let out = run_within(tg_in(dir.path()).args(["scan", special]), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "{special}: {}", all_output(&out));
    }
}

#[test]
fn symlink_loops_and_dangling_links_are_skipped_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.env"), format!("T={t}\n")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
    std::os::unix::fs::symlink("self", dir.path().join("self")).unwrap();
    std::os::unix::fs::symlink("ping", dir.path().join("pong")).unwrap();
    std::os::unix::fs::symlink("pong", dir.path().join("ping")).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
    let out = run_within(tg_in(dir.path()).args(["scan", "."]), Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    // The token is reported once, not once per way round the loop.
    assert_eq!(stdout.matches("a.env:1:3").count(), 1, "{stdout}");
    for link in ["./sub/up", "./self", "./ping", "./pong", "./dangling"] {
        assert!(stdout.contains(&format!("skipped {link}: ")), "{link}: {stdout}");
    }
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
fn paths_that_are_not_utf8_are_scanned_and_reported_readably() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.env");
    std::fs::create_dir(dir.path().join(std::ffi::OsStr::from_bytes(b"d\xfe"))).unwrap();
    std::fs::write(dir.path().join(name), format!("T={t}\n")).unwrap();
    std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(b"d\xfe")).join(name), "ok\n")
        .unwrap();
    let out = run_within(tg_in(dir.path()).args(["scan", "."]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let stdout = String::from_utf8(out.stdout.clone()).expect("the report is UTF-8");
    assert!(stdout.contains("./caf\u{fffd}-\u{fffd}.env:1:3"), "{stdout}");
    let out = run_within(
        tg_in(dir.path()).args(["scan", "--format", "json"]).arg(name),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["findings"][0]["file"], "caf\u{fffd}-\u{fffd}.env");
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
fn a_deeply_nested_tree_is_walked_to_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    let mut deep = dir.path().to_path_buf();
    for _ in 0..1000 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("a.env"), format!("T={t}\n")).unwrap();
    let out = run_within(
        tg_in(dir.path()).args(["scan", "--format", "json", "."]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = doc["findings"][0]["file"].as_str().unwrap();
    assert_eq!(file.matches("d/").count(), 1000, "{file}");
    assert_no_secret(&out, &[secret_of(&t)]);
}

#[test]
#[ignore = "slow in a debug build (a 1 MiB read buffer per file): run by .ci/run with --ignored"]
fn a_hundred_thousand_small_files_are_scanned_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    for i in 0..100 {
        let sub = dir.path().join(format!("s{i:03}"));
        std::fs::create_dir(&sub).unwrap();
        for j in 0..1000 {
            std::fs::write(sub.join(format!("f{j:04}.txt")), format!("line {i} {j}\n")).unwrap();
        }
    }
    std::fs::write(dir.path().join("s050/f0500.txt"), format!("T={t}\n")).unwrap();
    let started = Instant::now();
    let out = run_within(
        slow_tg_in(dir.path()).args(["scan", "--format", "json", "."]),
        Duration::from_secs(300),
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert_eq!(doc["findings"][0]["file"], "./s050/f0500.txt");
    println!("100,000 files scanned in {took:?}");
    assert!(took < Duration::from_secs(120), "100,000 files took {took:?}");
    assert_no_secret(&out, &[secret_of(&t)]);
}

/// Peak resident memory of a finished child, in KiB (from `/usr/bin/time -v`), with its output.
fn peak_rss_kib(cmd: &mut Command, limit: Duration) -> (Output, u64) {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut timed = Command::new("/usr/bin/time");
    common::isolate(&mut timed);
    if let Some(d) = cmd.get_current_dir() {
        timed.current_dir(d);
    }
    timed.arg("-v").arg(program).args(args);
    let out = run_within(&mut timed, limit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no figure from /usr/bin/time:\n{stderr}"));
    (out, kib)
}

#[test]
#[ignore = "slow (reads 2 GiB): run by .ci/run with --ignored"]
fn a_2_gib_sparse_file_is_streamed_with_bounded_memory() {
    if !Path::new("/usr/bin/time").exists() {
        println!("skipped: /usr/bin/time is not installed");
        return;
    }
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let t = token();
    let size: u64 = 2 << 30;
    let path = dir.path().join("sparse.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    f.set_len(size).unwrap();
    f.seek(SeekFrom::Start(size / 2)).unwrap();
    f.write_all(format!("\nT={t}\n").as_bytes()).unwrap();
    drop(f);
    let started = Instant::now();
    let (out, kib) = peak_rss_kib(
        slow_tg_in(dir.path()).args(["scan", "--format", "json", "sparse.bin"]),
        Duration::from_secs(300),
    );
    println!("2 GiB sparse file: peak RSS {kib} KiB in {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("\"line\": 2"), "{json}");
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB for a 2 GiB file");
    assert_no_secret(&out, &[secret_of(&t)]);
}

// ---------------------------------------------------------------------------------------
// Repositories

#[test]
fn a_file_cut_shorter_while_it_is_scanned_ends_with_exit_2_not_a_crash() {
    // Large files are mapped: reading the pages of a file cut shorter meanwhile raises
    // SIGBUS, which must end the scan with the error exit code and a message. 4 GiB of zeros
    // take seconds to scan, so the cut surely lands while the scan runs.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.bin");
    std::fs::File::create(&path).unwrap().set_len(4 << 30).unwrap();
    let child = tokenguard()
        .arg("scan")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("got shorter while it was being read"), "{stderr}");
}

fn repo_with_token() -> (TestRepo, String) {
    let r = TestRepo::new();
    let t = token();
    r.write("README.md", "hello\n");
    r.commit_all("first");
    r.write("a.env", format!("T={t}\n"));
    r.git(&["add", "a.env"]);
    (r, t)
}

#[test]
fn a_missing_blob_fails_history_and_staged_scans_with_exit_2_and_changes_nothing() {
    let (r, t) = repo_with_token();
    r.commit_all("add a.env");
    r.write("b.env", format!("T={t}\n"));
    r.git(&["add", "b.env"]);
    let remove = |spec: &str| {
        let id = r.git(&["rev-parse", spec]).trim().to_string();
        std::fs::remove_file(r.path().join(".git/objects").join(&id[..2]).join(&id[2..])).unwrap();
        id
    };
    // a.env's blob (in history) and b.env's (staged) are distinct: one has no newline more.
    let committed = remove("HEAD:a.env");
    r.write("b.env", format!("T={t}\n\n"));
    r.git(&["add", "b.env"]);
    remove(":b.env");
    let before = snapshot(r.path());
    let out = run_within(tg_in(r.path()).args(["scan", "--history"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let all = all_output(&out);
    assert!(all.contains(&committed) || all.contains("a.env"), "{all}");
    assert_no_secret(&out, &[secret_of(&t)]);
    let out = run_within(tg_in(r.path()).args(["scan", "--staged"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(all_output(&out).contains("b.env"), "{}", all_output(&out));
    assert_no_secret(&out, &[secret_of(&t)]);
    assert_unchanged(&before, r.path());
}

#[test]
fn a_corrupt_index_fails_the_staged_scan_with_exit_2_and_changes_nothing() {
    let (r, t) = repo_with_token();
    let index = r.path().join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    // Damage the middle (an entry), keeping the length.
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&index, &bytes).unwrap();
    let before = snapshot(r.path());
    let out = run_within(tg_in(r.path()).args(["scan", "--staged"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(all_output(&out).to_lowercase().contains("index"), "{}", all_output(&out));
    assert_no_secret(&out, &[secret_of(&t)]);
    assert_unchanged(&before, r.path());
}

#[test]
fn a_locked_index_is_read_as_git_commit_holds_the_lock_and_the_lock_is_left_alone() {
    // `git commit` runs the pre-commit hook while it holds index.lock: the staged scan must
    // read the index anyway, and never take, remove or write the lock.
    let (r, t) = repo_with_token();
    std::fs::write(r.path().join(".git/index.lock"), b"held by another git").unwrap();
    let before = snapshot(r.path());
    let out = run_within(tg_in(r.path()).args(["scan", "--staged"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.env:1:3"));
    assert_no_secret(&out, &[secret_of(&t)]);
    assert_unchanged(&before, r.path());
}

#[test]
fn a_hooks_path_that_cannot_exist_fails_install_with_exit_2() {
    let r = TestRepo::new();
    r.write("README.md", "hello\n");
    r.commit_all("first");
    // core.hooksPath under a regular file: no folder can be made there.
    r.git(&["config", "core.hooksPath", "README.md/hooks"]);
    let before = snapshot(r.path());
    let out = run_within(tg_in(r.path()).arg("install"), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("README.md/hooks/pre-commit"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("tokenguard: error:")).count(), 1);
    assert_unchanged(&before, r.path());
}

#[test]
fn a_binary_or_non_utf8_config_fails_with_exit_2_naming_the_file() {
    let (r, t) = repo_with_token();
    for bytes in [
        b"\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n".to_vec(),
        b"[allow]\npaths = [\"caf\xe9\"]\n".to_vec(),
    ] {
        std::fs::write(r.path().join(".tokenguard.toml"), &bytes).unwrap();
        let before = snapshot(r.path());
        for args in [&["scan", "--staged"][..], &["scan", "a.env"], &["scan", "--history"]] {
            let out = run_within(tg_in(r.path()).args(args), Duration::from_secs(60));
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(".tokenguard.toml") && stderr.contains("not valid UTF-8"),
                "{stderr}"
            );
            assert_no_secret(&out, &[secret_of(&t)]);
        }
        assert_unchanged(&before, r.path());
    }
}

#[test]
fn a_pathological_regex_in_the_config_fails_fast_with_exit_2() {
    let (r, t) = repo_with_token();
    for regex in [
        r"(a{1000}){1000}",
        r"((((((((((x*)*)*)*)*)*)*)*)*)*)*y",
        r"\w{1000}\w{1000}\w{1000}",
        r"(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:x)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
    ] {
        let config = format!("[[rules]]\nid = \"mine\"\nregex = '{regex}'\n");
        std::fs::write(r.path().join(".tokenguard.toml"), config).unwrap();
        let before = snapshot(r.path());
        let started = Instant::now();
        let out = run_within(tg_in(r.path()).args(["scan", "--staged"]), Duration::from_secs(60));
        assert!(started.elapsed() < Duration::from_secs(10), "{regex}: {:?}", started.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Either refused (exit 2, naming the key), or accepted and run in linear time: the
        // regex engine has no backtracking, so nothing here may hang or explode.
        match out.status.code() {
            Some(2) => assert!(stderr.contains("rules[0].regex"), "{regex}: {stderr}"),
            Some(1) => {}
            other => panic!("{regex}: exit {other:?}: {stderr}"),
        }
        assert_no_secret(&out, &[secret_of(&t)]);
        assert_unchanged(&before, r.path());
    }
}

// ---------------------------------------------------------------------------------------
// Input from the hook side

#[test]
fn git_index_file_naming_a_missing_file_fails_the_staged_scan_with_exit_2() {
    let (r, t) = repo_with_token();
    let before = snapshot(r.path());
    let out = run_within(
        tg_in(r.path())
            .args(["scan", "--staged"])
            .env("GIT_INDEX_FILE", r.path().join(".git/no-such-index")),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-index"), "{}", all_output(&out));
    assert_no_secret(&out, &[secret_of(&t)]);
    assert_unchanged(&before, r.path());
}

#[test]
fn a_malformed_pre_push_line_fails_with_exit_2_without_echoing_it() {
    let (r, t) = repo_with_token();
    r.commit_all("add a.env");
    let head = r.git(&["rev-parse", "HEAD"]);
    let head = head.trim();
    let zero = "0".repeat(40);
    let before = snapshot(r.path());
    for input in [
        format!("refs/heads/main {head} refs/heads/main\n"),
        format!("refs/heads/main {head} refs/heads/main {zero} {t}\n"),
        format!("refs/heads/main {t} refs/heads/main {zero}\n"),
        format!("refs/heads/main {head} refs/heads/main {zero}\n{t}\n"),
        "refs/heads/main \u{0}\u{1b}[2J refs/heads/main x\n".to_string(),
    ] {
        let mut cmd = tg_in(r.path());
        cmd.args(["scan", "--pre-push", "origin", "/dev/null"]);
        let out = with_stdin(cmd, input.clone().into_bytes());
        assert_eq!(out.status.code(), Some(2), "{input:?}: {}", all_output(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("malformed pre-push input on line"), "{stderr}");
        assert!(!stderr.contains('\u{1b}'), "{stderr}");
        assert_no_secret(&out, &[secret_of(&t), &t]);
    }
    // Not UTF-8 at all.
    let mut cmd = tg_in(r.path());
    cmd.args(["scan", "--pre-push", "origin", "/dev/null"]);
    let out = with_stdin(cmd, b"refs/heads/main \xff\xfe\n".to_vec());
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert_unchanged(&before, r.path());
}

#[test]
fn a_huge_token_free_line_on_stdin_to_mask_passes_through_unchanged() {
    // Mask is a log filter: input with no line end for a long time still streams through.
    let line = vec![b'x'; 8 << 20];
    let mut cmd = tokenguard();
    cmd.arg("mask");
    let out = with_stdin(cmd, line.clone());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout == line, "mask changed a token-free stream");
}

// ---------------------------------------------------------------------------------------
// Hostile content that once cost quadratic time (found measuring resource bounds)

#[test]
fn a_long_line_dense_with_keywords_is_scanned_in_linear_time() {
    // Every 40 bytes a legacy keyword, a structured prefix and a base64 signature, on one
    // line of 8 MiB: the legacy check searched the whole line for its ends at each keyword.
    let line: Vec<u8> =
        b"abcdefghij ApiToken value=x dt0c01 ZHQw ".iter().copied().cycle().take(8 << 20).collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dense.txt"), &line).unwrap();
    let started = Instant::now();
    let out = run_within(tg_in(dir.path()).args(["scan", "dense.txt"]), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "8 MiB of keywords took {took:?}");
}

#[test]
fn a_run_of_base64_signatures_is_scanned_in_linear_time() {
    // `ZHQw` (base64 of `dt0`) over and over: each signature decoded up to 16 KiB again.
    let text = "ZHQw".repeat(128 << 10);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sig.txt"), &text).unwrap();
    let started = Instant::now();
    let out = run_within(tg_in(dir.path()).args(["scan", "sig.txt"]), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "512 KiB of base64 signatures took {took:?}");
}

#[test]
fn a_file_named_after_a_token_is_reported_with_its_name_masked() {
    let dir = tempfile::tempdir().unwrap();
    let (named, inside) = (token(), token());
    std::fs::write(dir.path().join(format!("{named}.txt")), format!("T={inside}\n")).unwrap();
    for format in ["human", "json", "sarif"] {
        let out = tg_in(dir.path()).args(["scan", ".", "--format", format]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        assert_no_secret(&out, &[secret_of(&named), secret_of(&inside)]);
        let id = named.rsplit_once('.').unwrap().0;
        assert!(String::from_utf8_lossy(&out.stdout).contains(id), "{format}: the id stays");
    }
}

/// `tokenguard baseline` with a FIFO where a tracked file was, and `--config` or
/// `TOKENGUARD_CONFIG` naming a FIFO: never blocked on. The baseline leaves the FIFO out;
/// a configuration that is not a regular file is an error.
#[test]
fn baseline_and_config_never_block_on_a_fifo() {
    let repo = TestRepo::new();
    repo.write("a.env", format!("T={}\n", token()));
    repo.write("b.txt", "tracked\n");
    repo.commit_all("files");
    std::fs::remove_file(repo.path().join("b.txt")).unwrap();
    assert!(Command::new("mkfifo").arg(repo.path().join("b.txt")).status().unwrap().success());
    assert!(Command::new("mkfifo").arg(repo.path().join("cfg")).status().unwrap().success());
    let out = run_within(tg_in(repo.path()).arg("baseline"), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("with 1 finding(s) from 1 tracked file(s)")
    );
    let out = run_within(
        tg_in(repo.path()).args(["scan", "a.env", "--config", "cfg"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cfg"));
    let out = run_within(
        tg_in(repo.path())
            .args(["scan", "a.env"])
            .env("TOKENGUARD_CONFIG", repo.path().join("cfg")),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    // Every other file a command reads: a baseline, a rules file, the repository's own
    // configuration (a FIFO there is an error, not a file to pass over).
    for args in [&["scan", "a.env", "--baseline", "cfg"][..], &["rules", "check", "cfg"]] {
        let out = run_within(tg_in(repo.path()).args(args), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"), "{args:?}");
    }
    // The baseline written above, replaced by a FIFO.
    std::fs::remove_file(repo.path().join(".tokenguard-baseline.json")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(repo.path().join(".tokenguard-baseline.json"))
        .status()
        .unwrap()
        .success());
    let out = run_within(tg_in(repo.path()).args(["scan", "a.env"]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".tokenguard-baseline.json"));
    std::fs::remove_file(repo.path().join(".tokenguard-baseline.json")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(repo.path().join(".tokenguard.toml"))
        .status()
        .unwrap()
        .success());
    for args in [&["scan", "a.env"][..], &["scan", "--staged"], &["baseline"]] {
        let out = run_within(tg_in(repo.path()).args(args), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(".tokenguard.toml") && err.contains("not a regular file"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------
// History scans of hostile blobs: findings capped, large blobs streamed (the server hook
// scans anyone's push). benches/hostile-history.sh measures the full-size cases.

/// A bare repository built by `git fast-import` from the stream `write` produces: its objects
/// in a pack, or loose (as a push of fewer than 100 objects arrives at a server).
fn imported(write: impl FnOnce(&mut dyn std::io::Write), loose: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut init = Command::new("git");
    common::isolate(&mut init);
    assert!(init.args(["init", "-q", "--bare"]).arg(dir.path()).status().unwrap().success());
    let mut c = Command::new("git");
    common::isolate(&mut c);
    let limit = if loose { "fastimport.unpackLimit=100000" } else { "fastimport.unpackLimit=1" };
    let mut child = c
        .current_dir(dir.path())
        .args(["-c", limit, "fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
    write(&mut stdin);
    drop(stdin);
    assert!(child.wait().unwrap().success());
    dir
}

/// Writes a commit on `main` (after the one before, if any) that sets `files`: each a path
/// and its content, `size` bytes of `chunk` repeated.
fn import_commit(out: &mut dyn std::io::Write, n: u64, files: &[(&str, u64, &[u8])]) {
    write!(
        out,
        "commit refs/heads/main\ncommitter C <c@example.com> {} +0000\n",
        1_600_000_000 + n
    )
    .unwrap();
    write!(out, "data 4\nmsg\n").unwrap();
    for (path, size, chunk) in files {
        write!(out, "M 100644 inline {path}\ndata {size}\n").unwrap();
        let block: Vec<u8> = chunk.iter().copied().cycle().take(1 << 20).collect();
        let mut left = *size as usize;
        while left > 0 {
            let n = left.min(block.len());
            out.write_all(&block[..n]).unwrap();
            left -= n;
        }
        out.write_all(b"\n").unwrap();
    }
}

/// `scan --history --all-occurrences --format json` of a repository (at most five minutes;
/// its output is read as it comes, however large).
fn history_json(dir: &Path) -> (Output, serde_json::Value) {
    history_json_of(tg_in(dir))
}

/// `history_json` with the given tokenguard command (`tg_in` or `slow_tg_in`).
fn history_json_of(mut cmd: Command) -> (Output, serde_json::Value) {
    cmd.args(["scan", "--history", "--all-occurrences", "--format", "json"]);
    let out =
        assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(300)).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out, doc)
}

#[test]
fn findings_are_capped_per_file_version_and_what_is_left_out_is_listed() {
    // 1,500 distinct tokens in one file: 1,000 reported, 500 counted; then one more token:
    // still found, though the file holds more distinct tokens than a blob keeps.
    let tokens: Vec<String> = (0..1501).map(|_| common::legacy_token()).collect();
    let lines =
        |n: usize| -> String { tokens[..n].iter().map(|t| format!("apiToken: {t}\n")).collect() };
    let repo = TestRepo::new();
    repo.write("keys.yaml", lines(1500));
    repo.commit_all("many keys");
    let first = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let (out, doc) = history_json(repo.path());
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1000);
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["file"], "keys.yaml");
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("500 more finding(s) in commit ") && reason.contains(&first),
        "{reason}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("500 more finding(s)"));

    repo.write("keys.yaml", lines(1501));
    repo.commit_all("one more");
    let second = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let (_, doc) = history_json(repo.path());
    let last = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == 1501)
        .expect("the token added last is reported");
    assert_eq!(last["commit"], second.as_str());
    assert_no_secret(&out, &tokens.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn a_file_of_one_token_repeated_stops_at_the_cap_and_counts_the_rest() {
    // 60,000 lines of one token (2 MB): the scan stops reading at the cap, the fingerprints'
    // counts give how many more there were.
    let t = common::legacy_token();
    let repo = TestRepo::new();
    repo.write("dense.yaml", format!("apiToken: {t}\n").repeat(60_000));
    repo.commit_all("dense");
    let (out, doc) = history_json(repo.path());
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let found = doc["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1000);
    assert_eq!(
        (found[999]["line"].as_u64(), found[999]["column"].as_u64()),
        (Some(1000), Some(11))
    );
    let reason = doc["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("59000 more finding(s) in commit"), "{reason}");
    assert_no_secret(&out, &[t.as_str()]);
}

#[test]
#[ignore = "slow in a debug build (100,000 findings): run by .ci/run with --ignored"]
fn findings_are_capped_per_scan() {
    // 101 files of 1,000 distinct tokens each: 100,000 reported, 1,000 counted.
    let repo = TestRepo::new();
    for f in 0..101 {
        let text: String =
            (0..1000).map(|_| format!("apiToken: {}\n", common::legacy_token())).collect();
        repo.write(&format!("keys/{f:03}.yaml"), text);
    }
    repo.commit_all("many files of keys");
    let (out, doc) = history_json_of(slow_tg_in(repo.path()));
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 100_000);
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["file"], "(scan)");
    assert!(skipped[0]["reason"].as_str().unwrap().starts_with("1000 more finding(s) left out"));
}

#[test]
#[ignore = "slow in a debug build (a million token lines): run by .ci/run with --ignored"]
fn a_blob_dense_with_tokens_is_scanned_in_bounded_memory() {
    // One token line repeated a million times (32 MiB): every finding and every match held
    // at once took gigabytes at 200 MiB.
    if !Path::new("/usr/bin/time").exists() {
        println!("skipped: /usr/bin/time is not installed");
        return;
    }
    let line = format!("apiToken: {}\n", common::legacy_token());
    let size = line.len() as u64 * 1_000_000;
    let repo =
        imported(|out| import_commit(out, 1, &[("dense.yaml", size, line.as_bytes())]), false);
    let (out, kib) = peak_rss_kib(
        slow_tg_in(repo.path()).args(["scan", "--history", "--format", "json"]),
        Duration::from_secs(600),
    );
    println!("a million token lines: peak RSS {kib} KiB");
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "one token, reported once");
    // Counted, though the scan stopped reading the blob at the cap.
    let reason = doc["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("999000 more finding(s) in commit"), "{reason}");
    assert!(kib < 160 * 1024, "peak RSS {kib} KiB for a blob of a million token lines");
}

#[test]
#[ignore = "slow in a debug build (reads 2 x 256 MiB): run by .ci/run with --ignored"]
fn a_huge_blob_is_streamed_from_a_pack_and_from_a_loose_object() {
    // A 256 MiB one-line blob with a token at its end, in a pack and loose: read whole it
    // takes its size in memory (twice, while it grows); streamed, a few MiB.
    if !Path::new("/usr/bin/time").exists() {
        println!("skipped: /usr/bin/time is not installed");
        return;
    }
    let t = token();
    for loose in [false, true] {
        let repo = imported(
            |out| {
                import_commit(out, 1, &[("one-line.txt", 256 << 20, b"0123456789abcdef")]);
                import_commit(out, 2, &[("tail.txt", 1, b"x")]);
                // The token after 256 MiB of one line: found, at its byte's column.
                let body = format!("{}T={t}\n", "0123456789abcdef".repeat(1 << 24));
                write!(out, "commit refs/heads/main\ncommitter C <c@example.com> 1600000003 +0000\ndata 4\nmsg\nM 100644 inline with-token.txt\ndata {}\n{body}\n", body.len()).unwrap();
            },
            loose,
        );
        let (out, kib) = peak_rss_kib(
            slow_tg_in(repo.path()).args(["scan", "--history", "--format", "json"]),
            Duration::from_secs(600),
        );
        println!("256 MiB blobs ({}): peak RSS {kib} KiB", if loose { "loose" } else { "pack" });
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = &doc["findings"][0];
        assert_eq!((f["file"].as_str(), f["line"].as_u64()), (Some("with-token.txt"), Some(1)));
        assert_eq!(f["column"].as_u64(), Some((16u64 << 24) + 3));
        assert!(kib < 64 * 1024, "peak RSS {kib} KiB for 256 MiB blobs ({loose})");
        assert_no_secret(&out, &[secret_of(&t)]);
    }
}

#[test]
#[ignore = "slow in a debug build (reads 2 x 128 MiB): run by .ci/run with --ignored"]
fn a_huge_blob_stored_as_a_delta_holds_only_its_base_in_memory() {
    // A 128 MiB blob, then a version with a line changed, which the pack stores as a delta
    // of the first: rebuilding it holds the base (128 MiB), not the base and the result.
    if !Path::new("/usr/bin/time").exists() {
        println!("skipped: /usr/bin/time is not installed");
        return;
    }
    let repo = imported(
        |out| {
            import_commit(out, 1, &[("big.txt", 128 << 20, b"a line of the big file\n")]);
            import_commit(out, 2, &[("big.txt", 128 << 20, b"a line of the big file, changed\n")]);
        },
        false,
    );
    let (out, kib) =
        peak_rss_kib(slow_tg_in(repo.path()).args(["scan", "--history"]), Duration::from_secs(600));
    println!("128 MiB blob as a delta: peak RSS {kib} KiB");
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(kib < 192 * 1024, "peak RSS {kib} KiB for a 128 MiB delta of a 128 MiB base");
}
