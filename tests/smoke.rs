mod common;

#[test]
fn scan_of_a_file_with_a_token_exits_1_and_masks_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::token();
    std::fs::write(dir.path().join("a.env"), format!("DT_API_TOKEN={t}\n")).unwrap();
    let out = common::tokenguard().arg("scan").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("a.env:1:14"), "{stdout}");
    assert!(!stdout.contains(common::secret_of(&t)));
}
