//! `armorred sbom` from the command line: outputs, files, exit codes.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armorred"))
}

fn root(tmp: &std::path::Path) -> PathBuf {
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    let testdata = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/sbom");
    std::fs::copy(testdata.join("os-release/debian-13"), root.join("etc/os-release")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: libc6\nStatus: install ok installed\nVersion: 2.41-12\nArchitecture: amd64\nSource: glibc\n",
    )
    .unwrap();
    root
}

#[test]
fn several_outputs_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = root(tmp.path());
    let cdx = tmp.path().join("out/sbom.cdx.json");
    let spdx = tmp.path().join("sbom.spdx.json");
    let out = bin()
        .args(["-q", "sbom", &format!("dir:{}", root.display()), "-o", "table"])
        .arg("-o")
        .arg(format!("cyclonedx-json={}", cdx.display()))
        .arg("-o")
        .arg(format!("spdx-json={}", spdx.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("NAME") && table.contains("libc6"), "{table}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["components"][0]["purl"], "pkg:deb/debian/libc6@2.41-12?arch=amd64&distro=debian-13&upstream=glibc");
    let spdx: serde_json::Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    // --file for the single output without a file; the default format is CycloneDX.
    let file = tmp.path().join("default.json");
    let out = bin().args(["-q", "sbom", &format!("dir:{}", root.display()), "--file"]).arg(&file).output().unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&cdx).unwrap());
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["sbom".to_string(), "nosuch:thing".to_string()],
        vec!["sbom".to_string(), format!("oci-dir:{}", tmp.path().display())],
        vec!["sbom".into(), "dir:/".into(), "-o".into(), "xml".into()],
        vec!["sbom".into(), "dir:/".into(), "--timestamp".into(), "yesterday".into()],
        vec!["sbom".into(), "dir:/".into(), "-o".into(), "table".into(), "-o".into(), "json".into()],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // No half-written output when the source is bad.
    let file = tmp.path().join("never.json");
    let out = bin()
        .args(["sbom", "oci-dir:/nonexistent", "-o"])
        .arg(format!("cyclonedx-json={}", file.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!file.exists());
}
