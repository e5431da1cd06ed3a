//! `armorred site`: the command over the library's fixture (a trimmed real pipeline output).

use std::path::Path;
use std::process::Command;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/site")
}

#[test]
fn site_writes_the_pages_and_prints_the_index() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    let run = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["site", "--from"])
        .arg(fixture())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run armorred site");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), out.join("index.html").display().to_string());
    assert!(stderr.contains("wrote 7 pages"), "{stderr}");
    for page in ["index.html", "images/nginx/hardened.html", "guides/verification.html"] {
        assert!(out.join(page).is_file(), "{page}");
    }
}

#[test]
fn site_refuses_a_folder_it_did_not_write() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("notes.txt"), "mine").expect("write");
    let run = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["site", "--from"])
        .arg(fixture())
        .arg("--out")
        .arg(tmp.path())
        .output()
        .expect("run armorred site");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("refusing to replace it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("notes.txt")).expect("kept"), "mine");
}

#[test]
fn site_names_a_missing_index() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["site", "--from"])
        .arg(tmp.path())
        .output()
        .expect("run armorred site");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("index.json"), "{stderr}");
    assert!(!tmp.path().join("site").exists(), "nothing written");
}
