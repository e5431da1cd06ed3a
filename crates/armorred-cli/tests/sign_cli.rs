//! `armorred key`, `sign`, `verify`, `attest`, `verify-attestation` against the real peers:
//! cosign 2.5.0 (`$ARMORRED_COSIGN`, which `.ci/run` unpacks from Debian's package), Debian's
//! docker-registry on loopback, and an independent check in Python (`cryptography`, PyNaCl).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{repo, text};

/// Whether a tool runs; missing is a failure under `ARMORRED_REQUIRE_TOOLS=1`.
fn have(cmd: &str, args: &[&str]) -> bool {
    let ok = Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{cmd} is required (ARMORRED_REQUIRE_TOOLS=1) but is not available"
        );
        eprintln!("skipping: {cmd} is not available");
    }
    ok
}

/// cosign 2.5.0: `$ARMORRED_COSIGN`, else `cosign` on the PATH.
fn cosign() -> Option<String> {
    let path = std::env::var("ARMORRED_COSIGN").unwrap_or_else(|_| "cosign".into());
    have(&path, &["version"]).then_some(path)
}

/// Whether python3 has `cryptography` and PyNaCl.
fn python_crypto() -> bool {
    have("python3", &["-c", "import cryptography, nacl"])
}

fn check_script() -> PathBuf {
    repo().join("crates/armorred/tests/support/cosign_check.py")
}

/// Runs a command with `COSIGN_PASSWORD` set (or removed when `None`).
fn run_with(cmd: &str, args: &[&str], password: Option<&str>, dir: &Path) -> Output {
    let mut c = Command::new(cmd);
    c.args(args).current_dir(dir).env_remove("COSIGN_PASSWORD").stdin(std::process::Stdio::null());
    // cosign must never reach out: no TUF, no Rekor.
    c.env("TUF_ROOT", dir.join(".sigstore")).env("HOME", dir);
    if let Some(p) = password {
        c.env("COSIGN_PASSWORD", p);
    }
    c.output().unwrap()
}

fn armorred_in(dir: &Path, args: &[&str], password: Option<&str>) -> Output {
    run_with(env!("CARGO_BIN_EXE_armorred"), args, password, dir)
}

fn ok(o: &Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}\n{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn key_generate_is_read_by_python_and_cosign() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "k"], Some("s3cret")), "key generate");
    let public = std::fs::read_to_string(d.join("k.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
    assert!(std::fs::read_to_string(d.join("k.key"))
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    // Never overwritten.
    let before = std::fs::read(d.join("k.key")).unwrap();
    let o = armorred_in(d, &["key", "generate", "--output-key-prefix", "k"], Some("other"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("already exists; refusing to overwrite"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(d.join("k.key")).unwrap(), before);
    // No password and no terminal: a clear error, nothing written.
    let o = armorred_in(d, &["key", "generate", "--output-key-prefix", "n"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("set COSIGN_PASSWORD"), "{}", text(&o.stderr));
    assert!(!d.join("n.key").exists());

    if python_crypto() {
        let script = check_script();
        let o = run_with("python3", &[script.to_str().unwrap(), "pubkey", "k.key", "s3cret"], None, d);
        assert_eq!(ok(&o, "python decrypts our key"), public);
    }
    if let Some(cosign) = cosign() {
        std::fs::write(d.join("blob"), b"hello").unwrap();
        let sign = ["sign-blob", "--key", "k.key", "--tlog-upload=false", "--output-signature", "blob.sig", "blob"];
        ok(&run_with(&cosign, &sign, Some("s3cret"), d), "cosign sign-blob with our key");
        let verify =
            ["verify-blob", "--key", "k.pub", "--signature", "blob.sig", "--insecure-ignore-tlog=true", "blob"];
        ok(&run_with(&cosign, &verify, None, d), "cosign verify-blob with our public key");
        if python_crypto() {
            let sig = std::fs::read_to_string(d.join("blob.sig")).unwrap();
            let script = check_script();
            ok(
                &run_with("python3", &[script.to_str().unwrap(), "verify", "k.pub", "blob", sig.trim()], None, d),
                "python verify",
            );
        }
    }
}
