//! The project runs its own hook: its own files (rules with their examples, tests with their
//! fixtures, docs) scan clean under its `.tokenguard.toml`, so that a contributor's commit of
//! any of them passes. A synthetic token added without the `tokenguard:allow` marker, outside
//! the allowlisted paths, fails this test.

mod common;

#[test]
fn the_projects_own_files_scan_clean_under_its_configuration() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut paths: Vec<&str> = ["rules", "src", "tests", "docs", "benches", "hooks", "README.md"]
        .into_iter()
        .filter(|p| std::path::Path::new(root).join(p).exists())
        .collect();
    paths.sort();
    let out = common::tokenguard()
        .current_dir(root)
        .args(["scan", "--format", "json"])
        .args(&paths)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let open: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{}:{} {}", f["file"], f["line"], f["rule"]))
        .collect();
    assert!(open.is_empty(), "findings not allowed (file, line, rule): {open:?}");
    assert_eq!(out.status.code(), Some(0));
    let allowed = report["allowed"].as_array().map_or(0, Vec::len);
    assert!(allowed > 100, "the fixtures' tokens are found and allowed, not missed: {allowed}");
}
