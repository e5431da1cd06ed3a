//! `armorred build-source`: exit codes 0 (built and verified), 1 (a promised property is
//! missing), 2 (bad input), on the small protections recipe, built over the build root locked
//! in images/nginx/image.lock (which holds clang-19, lld-19 and libc6-dev) in the sandbox built
//! into armorred. Needs user namespaces, and the host's Debian mirror on the first run.

#![allow(clippy::print_stderr)] // skip reasons go to the test log

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/source_build/protections")
}

fn sandbox_present() -> bool {
    match armorred::build::compile::Namespaces::new() {
        Ok(_) => true,
        Err(e) if std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() == Ok("1") => {
            panic!("ARMORRED_REQUIRE_TOOLS=1 but {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            false
        }
    }
}

/// The download cache shared by test runs: `target/armorred-test-cache`.
fn cache() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
        .join("armorred-test-cache")
}

/// A copy of the protections recipe with images/nginx's lock beside it, in `dir`.
fn recipe_with_lock(dir: &Path) -> PathBuf {
    let recipe = dir.join("protections");
    std::fs::create_dir_all(&recipe).expect("mkdir");
    for f in ["recipe.toml", "cfi-demo.c", "fortify-demo.c"] {
        std::fs::copy(fixture().join(f), recipe.join(f)).expect("copy");
    }
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx/image.lock");
    std::fs::copy(lock, recipe.join("image.lock")).expect("copy the lock");
    recipe
}

fn armorred(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_armorred"))
        .arg("build-source")
        .arg("--cache")
        .arg(cache())
        .args(args)
        .output()
        .expect("run armorred")
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

    // 2: no lock beside the recipe, so no locked build root; the message names the way out.
    let out = armorred(&[Path::new("--tier"), Path::new("locked"), Path::new("--out"), &d.join("o0"), &fixture()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("image.lock") && err.contains("--host-toolchain"), "{err}");

    if !sandbox_present() {
        return;
    }
    // 0: built over the locked build root, verified, record written.
    let recipe = recipe_with_lock(d);
    let out = armorred(&[Path::new("--tier"), Path::new("locked"), Path::new("--out"), &d.join("o1"), &recipe]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("o1/build-record.json")).expect("record")).expect("json");
    assert_eq!(record["tier"], "locked");
    assert_eq!(record["build_root"]["kind"], "debian-locked");
    assert_eq!(record["sandbox"]["kind"], "namespaces");
    assert!(d.join("o1/destdir/usr/bin/cfi-demo").is_file());

    // 1: a step that drops the flags; the gate fails and nothing is left at --out.
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

/// The sandbox dies with armorred: a step still running when armorred is killed does not
/// outlive it.
#[test]
fn a_killed_build_leaves_no_step_running() {
    if !sandbox_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let recipe = dir.path().join("recipe");
    std::fs::create_dir_all(&recipe).expect("mkdir");
    std::fs::write(recipe.join("a.c"), "int main(void){return 0;}\n").expect("write");
    let sha = "86004d65c4f387c95467c6cee92bc1f1f8cb04d6650be09fbd1e359834a56766";
    let marker = format!("{}", 1_000_000 + std::process::id());
    let text = format!(
        "[package]\nname = \"a\"\nversion = \"1\"\ncpe = \"cpe:2.3:a:x:a:1:*:*:*:*:*:*:*\"\nsource-date-epoch = 1\n\n\
         [[source]]\nfile = \"a.c\"\nsha256 = \"{sha}\"\nfrom = {{ kind = \"path\", path = \"a.c\" }}\n\n\
         [build-root]\ncc = \"clang-14\"\npackages = []\n\n[tiers.locked]\n\n\
         [[step]]\nname = \"s\"\nrun = \"sleep {marker}\"\n"
    );
    std::fs::write(recipe.join("recipe.toml"), text).expect("write");
    let sleeping = || {
        std::fs::read_dir("/proc").expect("/proc").flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == format!("sleep\0{marker}\0").as_bytes())
        })
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["build-source", "--host-toolchain", "--tier", "locked", "--out"])
        .arg(dir.path().join("out"))
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg(&recipe)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start armorred");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sleeping() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err).expect("read");
            panic!("armorred exited with {status:?} before the step ran: {err}");
        }
        assert!(std::time::Instant::now() < deadline, "the step did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("kill armorred");
    child.wait().expect("wait");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sleeping() {
        assert!(std::time::Instant::now() < deadline, "the step outlived armorred");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
