//! Detection gaps found by hostile tests (issues 14 and 16), each through the real binary:
//! `scan FILE`, `scan -` (standard input), `mask FILE`, `mask` on a pipe (the binary, and the
//! library's interactive windows fed one line at a time, as `tail -f` hands lines on), and a
//! `git commit` through the pre-commit hook. Tokens are generated at run time; no assertion
//! prints an output that may hold one.

mod common;

use std::io::Write;
use std::process::Stdio;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokenguard::matcher::Matcher;

/// A reader that hands out its input one line per read, as a pipe fed by `tail -f` does.
struct Lines<'a> {
    data: &'a [u8],
}

impl std::io::Read for Lines<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let line = memchr_line(self.data);
        let n = line.min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn memchr_line(data: &[u8]) -> usize {
    data.iter().position(|&b| b == b'\n').map_or(data.len(), |p| p + 1)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// `input` masked by the library as a file is.
fn masked_file(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tokenguard::app::mask_stream(&Matcher::builtin(), input, &mut out).unwrap();
    out
}

/// `input` masked by the library as a pipe answered line by line is.
fn masked_pipe(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tokenguard::app::mask_windows(
        &Matcher::builtin(),
        tokenguard::stream::Windows::interactive(Lines { data: input }),
        &mut out,
    )
    .unwrap();
    out
}

/// Runs the binary with `args`, `stdin` on a pipe; returns (exit code, stdout and stderr).
fn run(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>) {
    let mut c = common::tokenguard();
    c.current_dir(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped());
    c.stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let mut all = out.stdout;
    all.extend_from_slice(&out.stderr);
    (out.status.code().unwrap_or(-1), all)
}

/// Whether `masked` hides every one of `hidden` (texts that `input` holds: the secret, or
/// the encoded text that holds it), and kept the input's length and line structure.
fn hides(input: &[u8], masked: &[u8], hidden: &[Vec<u8>]) -> bool {
    let lines = |t: &[u8]| t.iter().filter(|&&b| b == b'\n').count();
    masked.len() == input.len()
        && lines(masked) == lines(input)
        && hidden.iter().all(|h| !contains(masked, h))
}

/// `input`, written to a file named `name`, is reported and masked on every channel, and no
/// output shows any of `hidden` (each of which the input holds, so the check can fail).
fn caught_everywhere(what: &str, name: &str, input: &[u8], hidden: &[Vec<u8>]) {
    for h in hidden {
        assert!(contains(input, h), "{what}: the input does not hold what must be hidden");
    }
    let leaks = |out: &[u8]| hidden.iter().any(|h| contains(out, h));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), input).unwrap();
    // scan FILE and scan - (standard input).
    let (code, out) = run(dir.path(), &["scan", name], b"");
    assert!(code == 1 && !leaks(&out), "{what}: scan FILE gave {code} (or showed a secret)");
    let (code, out) = run(dir.path(), &["scan", "-"], input);
    assert!(code == 1 && !leaks(&out), "{what}: scan - gave {code} (or showed a secret)");
    // mask FILE and mask on a pipe (the binary, then lines handed on one at a time).
    let (code, out) = run(dir.path(), &["mask", name], b"");
    assert!(code == 0 && hides(input, &out, hidden), "{what}: mask FILE did not mask it");
    let (code, out) = run(dir.path(), &["mask"], input);
    assert!(code == 0 && hides(input, &out, hidden), "{what}: mask on a pipe did not mask it");
    let file = masked_file(input);
    assert!(hides(input, &file, hidden), "{what}: the library's mask did not mask it");
    let pipe = masked_pipe(input);
    assert!(pipe == file, "{what}: a pipe read line by line masks otherwise than a file");
    // A commit through the pre-commit hook.
    let repo = common::TestRepo::new();
    repo.install_test_hook();
    repo.write(name, input);
    repo.git(&["add", "-A"]);
    let out = repo.git_output(&["commit", "-q", "-m", "add"]);
    let mut all = out.stdout.clone();
    all.extend_from_slice(&out.stderr);
    assert!(!out.status.success() && !leaks(&all), "{what}: the commit was not blocked");
}

/// `input` gives no finding (scan FILE) and `mask` leaves it as it is.
fn passes(what: &str, name: &str, input: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), input).unwrap();
    let (code, _) = run(dir.path(), &["scan", name], b"");
    assert_eq!(code, 0, "{what}: a false alarm");
    assert!(masked_file(input) == input, "{what}: mask changed clean text");
}

// ---------------------------------------------------------------------------------------
// Keyed values beside their key: name/value pairs over lines, in either order.

#[test]
fn legacy_tokens_in_name_value_pairs_over_lines_are_caught() {
    let t = common::legacy_token();
    let hidden = [t.clone().into_bytes()];
    let cases = [
        (
            "pretty-printed JSON (ECS task definition)",
            "task.json",
            format!(
                "{{\n  \"environment\": [\n    {{\n      \"name\": \"DT_API_TOKEN\",\n      \"value\": \"{t}\"\n    }}\n  ]\n}}\n"
            ),
        ),
        (
            "kubectl -o json",
            "pod.json",
            format!("\"env\": [\n  {{\n    \"name\": \"DYNATRACE_API_TOKEN\",\n    \"value\": \"{t}\"\n  }}\n]\n"),
        ),
        (
            "YAML value before name",
            "deploy.yaml",
            format!("env:\n  - value: \"{t}\"\n    name: DT_API_TOKEN\n"),
        ),
        (
            "JSON value before name, pretty-printed",
            "task.json",
            format!("[\n  {{\n    \"value\": \"{t}\",\n    \"name\": \"DT_API_TOKEN\"\n  }}\n]\n"),
        ),
        (
            "JSON value before name, one line",
            "task.json",
            format!("[{{\"value\": \"{t}\", \"name\": \"DT_API_TOKEN\"}}]\n"),
        ),
        (
            "a blank line between name and value",
            "deploy.yaml",
            format!("env:\n  - name: DT_API_TOKEN\n\n    value: {t}\n"),
        ),
        (
            "a comment between name and value",
            "deploy.yaml",
            format!("env:\n  - name: DT_API_TOKEN\n    # rotated monthly\n    value: \"{t}\"\n"),
        ),
        (
            "a comment and a blank line between value and name",
            "deploy.yaml",
            format!("env:\n  - value: '{t}'\n\n    # the tenant's token\n    name: DT_API_TOKEN\n"),
        ),
    ];
    for (what, name, text) in cases {
        caught_everywhere(what, name, text.as_bytes(), &hidden);
    }
}

#[test]
fn name_value_pairs_of_other_keys_or_items_are_not_findings() {
    let t = common::legacy_token();
    let cases = [
        // The value belongs to the item before (a new item starts with the name).
        format!("env:\n  - name: OTHER_SETTING\n    value: \"{t}\"\n  - name: DT_API_TOKEN\n    valueFrom:\n      secretKeyRef: {{name: dt, key: token}}\n"),
        // JSON: the value is another object's.
        format!("[\n  {{\n    \"name\": \"OTHER\",\n    \"value\": \"{t}\"\n  }},\n  {{\n    \"name\": \"DT_API_TOKEN\",\n    \"valueFrom\": {{}}\n  }}\n]\n"),
        // Another key's value (not a name: value pair).
        format!("  hostname: DT_API_TOKEN\n  value: {t}x\n"),
        // Placeholders.
        "- name: DT_API_TOKEN\n\n  # set by CI\n  value: \"${DT_API_TOKEN}\"\n".to_string(),
        "- value: \"<your-api-token-here>\"\n  name: DT_API_TOKEN\n".to_string(),
        "{\n  \"name\": \"DT_API_TOKEN\",\n  \"value\": \"YourApiTokenGoesHere1\"\n}\n".to_string(),
    ];
    for (i, text) in cases.iter().enumerate() {
        passes(&format!("case {i}"), "x.yaml", text.as_bytes());
    }
}

/// (Keeps the import used until the encoded cases below need it.)
#[allow(dead_code)]
fn b64(s: &str) -> String {
    STANDARD.encode(s)
}
