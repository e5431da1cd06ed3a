//! `armorred lock` and `armorred build` exit codes and output contract.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

mod support;

use support::{copy_nginx_definition, repo, run as armorred};

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let nginx = repo().join("images/nginx");
    let (code, _, err) = armorred(&["build", nginx.to_str().unwrap(), "--output", "tarball:x"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "error: bad output \"tarball:x\": expected oci-dir:DIR or docker-archive:FILE");
    let (code, _, err) = armorred(&["build", "/nonexistent/def", "--output", "oci-dir:/tmp/x"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: cannot read image definition /nonexistent/def/image.toml"), "{err}");
}

#[test]
fn build_prints_the_digest_and_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let cache = target.join("armorred-test-cache");
    let out = tmp.path().join("oci");
    let nginx = repo().join("images/nginx");
    let args = ["build", nginx.to_str().unwrap(), "--tier", "hardened", "--output"];
    let dest = format!("oci-dir:{}", out.display());
    let mut full: Vec<&str> = args.to_vec();
    full.extend([dest.as_str(), "--cache-dir", cache.to_str().unwrap()]);
    let (code, stdout, stderr) = armorred(&full);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.trim().starts_with("sha256:") && stdout.trim().len() == 71, "{stdout}");
    for line in ["digest    sha256:", "packages  ", "checksec  pass (hardened)", "record    "] {
        assert!(stderr.contains(line), "{line} missing from {stderr}");
    }
    // stderr is not a terminal here: no spinner, no progress lines, only the summary.
    for progress in ["fetch packages", "checksec gate:", "write image:", "\r", "\x1b["] {
        assert!(!stderr.contains(progress), "progress {progress:?} off a terminal: {stderr}");
    }
    full.insert(0, "--quiet");
    let (code, stdout_q, stderr_q) = armorred(&full);
    assert_eq!((code, stdout_q, stderr_q.as_str()), (0, stdout, ""));
}

#[test]
fn lock_check_exits_1_on_a_stale_lock_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_nginx_definition(tmp.path());
    let stale = std::fs::read_to_string(dir.join("image.lock")).unwrap() + "# edited\n";
    std::fs::write(dir.join("image.lock"), &stale).unwrap();
    let (code, _, err) = armorred(&["lock", dir.to_str().unwrap(), "--check"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("image.lock is stale: run `armorred lock "), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("image.lock")).unwrap(), stale);
    let (code, _, err) = armorred(&["lock", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = armorred(&["lock", dir.to_str().unwrap(), "--check"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is up to date"), "{err}");
}

#[test]
fn lock_and_build_refuse_a_files_source_symlinked_to_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_nginx_definition(tmp.path());
    let conf = dir.join("files/nginx.conf");
    std::fs::remove_file(&conf).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", &conf).unwrap();
    let out = tmp.path().join("oci");
    let dest = format!("oci-dir:{}", out.display());
    for args in [
        vec!["lock", dir.to_str().unwrap(), "--check"],
        vec!["build", dir.to_str().unwrap(), "--tier", "hardened", "--output", &dest],
    ] {
        let (code, _, err) = armorred(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with(&format!("error: {}/image.toml: files[0].source: ", dir.display())), "{err}");
        assert!(
            err.contains(&format!("{} resolves to /proc/", conf.display()))
                && err.contains("outside the definition's directory"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(!out.exists());
}

#[test]
fn build_refuses_an_output_directory_it_did_not_write_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let nginx = repo().join("images/nginx");
    let out = tmp.path().join("work");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}").unwrap();
    std::fs::write(out.join("thesis.tex"), "years of work").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    // An unroutable mirror and an empty cache: refused before any download is tried.
    let cache = tmp.path().join("cache");
    for (target, want) in [
        (&out, "exists and is not an OCI layout written by armorred (unexpected thesis.tex)"),
        (&link, "is a symlink; refusing to write through it"),
    ] {
        let dest = format!("oci-dir:{}", target.display());
        let (code, _, err) = armorred(&[
            "build",
            nginx.to_str().unwrap(),
            "--tier",
            "hardened",
            "--output",
            &dest,
            "--cache-dir",
            cache.to_str().unwrap(),
            "--mirror",
            "http://127.0.0.1:9/debian",
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("bad output {}: {want}", target.display())), "{err}");
    }
    assert_eq!(std::fs::read_to_string(out.join("thesis.tex")).unwrap(), "years of work");
    assert!(!cache.join("sha256").exists() || std::fs::read_dir(cache.join("sha256")).unwrap().next().is_none());
}
