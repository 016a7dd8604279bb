//! Where users meet tokenguard in their shell: `--version` (with the commit built from),
//! `completions` (loaded into a real bash and asked to complete), `manpage` (rendered by
//! man), and install.sh placing them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    let out = common::tokenguard().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()))
}

/// The commit the crate's folder is at, when it is a git checkout (as in development and CI).
fn source_commit() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        common::isolate(&mut c);
        let out = c.arg("-C").arg(dir).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    (Path::new(&top).canonicalize().ok()? == dir.canonicalize().ok()?)
        .then(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .flatten()
}

#[test]
fn version_names_the_version_and_the_commit_built_from() {
    let version = stdout(&run(&["--version"]));
    let expected = match source_commit() {
        Some(c) => format!("tokenguard {} (commit {c})\n", env!("CARGO_PKG_VERSION")),
        None => format!("tokenguard {}\n", env!("CARGO_PKG_VERSION")),
    };
    assert_eq!(version, expected);
    assert_eq!(stdout(&run(&["-V"])), expected);
    // Subcommands say the same; `--version` does nothing else (no scan of stdin here).
    let scan = stdout(&run(&["scan", "--version"]));
    assert_eq!(scan, expected.replace("tokenguard ", "tokenguard-scan "));
}

/// Completes `words` (the last one being typed) with the bash completion script loaded into
/// a real bash; returns the candidates.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source '{}'\nCOMP_WORDS=({line})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _tokenguard tokenguard '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out =
        Command::new("bash").args(["--norc", "--noprofile", "-c", &program]).output().unwrap();
    assert!(out.status.success(), "bash: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_commands_options_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tokenguard.bash");
    std::fs::write(&script, run(&["completions", "bash"]).stdout).unwrap();
    assert_eq!(bash_complete(&script, &["tokenguard", "sc"]), vec!["scan"]);
    assert_eq!(bash_complete(&script, &["tokenguard", "scan", "--hi"]), vec!["--history"]);
    assert!(bash_complete(&script, &["tokenguard", "scan", "--c"]).contains(&"--ci".to_string()));
    let mut formats = bash_complete(&script, &["tokenguard", "scan", "--format", ""]);
    formats.sort();
    assert!(formats.contains(&"json".into()) && formats.contains(&"sarif".into()), "{formats:?}");
    let shells = bash_complete(&script, &["tokenguard", "completions", ""]);
    for s in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.contains(&s.to_string()), "{shells:?}");
    }
}

#[test]
fn zsh_fish_and_powershell_scripts_load_where_the_shell_is_installed() {
    for (shell, exe, check) in [
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
        ("powershell", "pwsh", &["-NoProfile", "-File"][..]),
    ] {
        let text = stdout(&run(&["completions", shell]));
        // Every command is offered, whatever the shell.
        for cmd in ["scan", "mask", "rules", "baseline", "install", "completions", "manpage"] {
            assert!(text.contains(cmd), "{shell} script lacks {cmd}");
        }
        let (ci, history) = match shell {
            "fish" => ("-l ci ", "-l history "),
            "zsh" => ("--ci[", "--history["),
            _ => ("'--ci'", "'--history'"),
        };
        assert!(text.contains(ci) && text.contains(history), "{shell} script lacks the options");
        let Some(exe) = which(exe) else {
            eprintln!("note: {exe} is not installed: the {shell} script is not loaded");
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir
            .path()
            .join(format!("tokenguard.{}", if shell == "powershell" { "ps1" } else { shell }));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(exe).args(check).arg(&file).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn the_manual_pages_render_with_man() {
    let page = stdout(&run(&["manpage"]));
    assert!(page.contains(".TH tokenguard 1"), "not a man page");
    let dir = tempfile::tempdir().unwrap();
    run(&["manpage", "--dir", dir.path().to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for p in ["tokenguard.1", "tokenguard-scan.1", "tokenguard-completions.1", "tokenguard-mask.1"]
    {
        assert!(pages.contains(&p.to_string()), "{pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
    let Some(man) = which("man") else {
        eprintln!("note: man is not installed: the pages are not rendered");
        return;
    };
    let out = Command::new(man)
        .env("MANWIDTH", "100")
        .env_remove("MAN_KEEP_FORMATTING")
        .args(["-l", dir.path().join("tokenguard-scan.1").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "man: {}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("NAME") && text.contains("tokenguard-scan"), "{text}");
    assert!(text.contains("--ci") && text.contains("GitHub Actions"), "{text}");
}

/// Slow: a real `cargo install` (release build). Run by .ci/run with --ignored.
#[test]
#[ignore = "slow: install.sh runs a real cargo install (run by .ci/run with --ignored)"]
fn install_sh_places_completions_and_man_pages_under_the_prefix() {
    let prefix = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new("/bin/sh");
    common::isolate(&mut c);
    common::without_cargo_test_env(&mut c);
    let out = c
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--prefix")
        .arg(prefix.path())
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("GIT_CEILING_DIRECTORIES", home.path().parent().unwrap())
        // The shared target folder: .ci/run's release build of this checkout is reused.
        .env("CARGO_TARGET_DIR", common::shared_release_target())
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "install.sh failed: {text}");
    let share = prefix.path().join("share");
    let bash = share.join("bash-completion/completions/tokenguard");
    for f in [
        &bash,
        &share.join("zsh/site-functions/_tokenguard"),
        &share.join("fish/vendor_completions.d/tokenguard.fish"),
        &share.join("man/man1/tokenguard.1"),
        &share.join("man/man1/tokenguard-scan.1"),
    ] {
        assert!(f.is_file(), "{} missing: {text}", f.display());
        assert!(
            text.contains(&format!("installed {}", f.display()))
                || f.ends_with("tokenguard-scan.1")
        );
    }
    assert_eq!(bash_complete(&bash, &["tokenguard", "sc"]), vec!["scan"]);
    // Nothing went to the user's own folders.
    assert!(!home.path().join(".local").exists());
}
