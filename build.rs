//! Build script: the version that `tokenguard --version` prints, with the commit it was built
//! from when the build runs in tokenguard's own git checkout (`0.1.0 (commit 1a2b3c4d5e6f)`).
//! A build from a crate tarball or a source folder without git gets the version alone.
//!
//! It also embeds the built-in rule files: every `rules/*.toml` becomes one entry of
//! `$OUT_DIR/builtin_rules.rs` (name and text, in name order), which `src/rules/mod.rs`
//! includes: adding a provider is adding a file, with no Rust change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    embed_rules();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let long = match commit(&dir) {
        Some(c) => format!("{version} (commit {c})"),
        None => version,
    };
    println!("cargo:rustc-env=TOKENGUARD_LONG_VERSION={long}");
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The short id of HEAD, only when the crate's folder is the top of a git work tree (a crate
/// unpacked inside some other repository must not take that repository's commit).
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = Path::new(&top).canonicalize().ok()? == dir.canonicalize().ok()?;
    if !same {
        return None;
    }
    // Build again when HEAD moves: HEAD itself, the branch it names, and packed refs.
    // Only paths that exist (cargo runs the script every time for a missing one), and only
    // this branch's (a commit on another branch must not rebuild): HEAD, packed-refs, and the
    // branch's ref file, or its folder after `git pack-refs` removed the file (the next
    // commit writes it there again).
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        let file = git(dir, &["rev-parse", "--git-path", &branch]).map(|p| dir.join(p));
        match (file, branch.rsplit_once('/')) {
            (Some(f), _) if f.is_file() => watch.push(branch),
            (_, Some((folder, _))) => watch.push(folder.to_string()),
            _ => {}
        }
    }
    for p in &watch {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", p]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// Writes the list of built-in rule files, and asks cargo to build again when the folder
/// changes (a file added, removed or edited).
fn embed_rules() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = root.join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the rules/ folder exists")
        .map(|e| e.expect("readable rules/ folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut code = String::from("/// The built-in rule files: (provider, TOML text).\n");
    code.push_str("pub const FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            path.to_str().expect("UTF-8 path")
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("builtin_rules.rs"), code).expect("OUT_DIR is writable");
}
