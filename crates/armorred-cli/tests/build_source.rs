//! `armorred build-source`: exit codes 0 (built and verified), 1 (a promised property is
//! missing), 2 (bad input), on the small protections recipe.

#![allow(clippy::print_stderr)] // skip reasons go to the test log

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/source_build/protections")
}

fn tools_present() -> bool {
    let ok = ["bwrap", "clang-19", "ld.lld-19"].iter().all(|t| {
        Command::new("sh").args(["-c", &format!("command -v {t}")]).output().is_ok_and(|o| o.status.success())
    });
    if !ok && std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("ARMORRED_REQUIRE_TOOLS=1 but bwrap, clang-19 or ld.lld-19 is missing");
    }
    if !ok {
        eprintln!("skipping: bwrap, clang-19 or ld.lld-19 missing");
    }
    ok
}

fn armorred(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_armorred")).arg("build-source").args(args).output().expect("run armorred")
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();

    // 2: no recipe.
    let out = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["build-source", "--tier", "locked", "--out"])
        .arg(d.join("o0"))
        .arg(d.join("nowhere"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("recipe.toml"), "{out:?}");

    if !tools_present() {
        return;
    }
    // 0: built, verified, record written.
    let out = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["build-source", "--tier", "locked", "--out"])
        .arg(d.join("o1"))
        .arg(fixture())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("o1/build-record.json")).expect("record")).expect("json");
    assert_eq!(record["tier"], "locked");
    assert!(d.join("o1/destdir/usr/bin/cfi-demo").is_file());

    // 1: a step that drops the flags; the gate fails and nothing is left at --out.
    let recipe = d.join("weak");
    std::fs::create_dir_all(&recipe).expect("mkdir");
    for f in ["cfi-demo.c", "fortify-demo.c"] {
        std::fs::copy(fixture().join(f), recipe.join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(fixture().join("recipe.toml"))
        .expect("recipe")
        .replace("$CC $CFLAGS $LDFLAGS $p.o -o $p", "$CC $p.o -o $p")
        .replace("$CC $CFLAGS -c $p.c -o $p.o", "$CC -c $p.c -o $p.o");
    std::fs::write(recipe.join("recipe.toml"), text).expect("write");
    let out = armorred(&[Path::new("--tier"), Path::new("hardened"), Path::new("--out"), &d.join("o2"), &recipe]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("safestack"), "{out:?}");
    assert!(!d.join("o2").exists());
}
