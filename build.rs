//! Build script: embeds the built-in rule files. Every `rules/*.toml` becomes one entry of
//! `$OUT_DIR/builtin_rules.rs` (name and text, in name order), which `src/rules/mod.rs`
//! includes: adding a provider is adding a file, with no Rust change.

use std::path::PathBuf;

fn main() {
    embed_rules();
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
