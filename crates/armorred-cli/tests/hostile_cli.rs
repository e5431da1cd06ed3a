//! Hostile inputs and outputs through the binary (issue 12): FIFOs, devices and symlinks given
//! as inputs or outputs, library symlinks leading out of `checksec --root`, a 50 GiB sparse ELF
//! file. Every case must end quickly with a message that says what the path is.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::text;

/// Runs `armorred` with `args`, killed after `secs` (a hang fails the test): exit code,
/// stdout, stderr.
fn run_within(secs: u64, args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run armorred");
    let (mut out, mut err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("armorred {args:?} did not finish in {secs} s (a hang or an unbounded read)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out_reader.join().expect("stdout reader"), err_reader.join().expect("stderr reader"));
    (status.code().unwrap_or(-1), text(&out), text(&err))
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().expect("run mkfifo").success();
    assert!(ok, "mkfifo {}", path.display());
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A directory with one file: a tiny `dir:` source to make an SBOM of.
fn tiny_dir(base: &Path) -> PathBuf {
    let d = base.join("rootfs");
    std::fs::create_dir_all(d.join("etc")).expect("mkdir");
    std::fs::write(d.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n").expect("write");
    d
}

#[test]
fn sbom_output_to_dev_stdout_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("dir:{}", s(&tiny_dir(dir.path())));
    // Standard output is a pipe.
    let (code, out, err) = run_within(60, &["sbom", &src, "-o", "json=/dev/stdout"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim_start().starts_with('{'), "nothing printed: {out:?}");
    // Standard output is a file: it gets the document, and /dev/stdout stays a link.
    let file = dir.path().join("captured.json");
    let status = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["sbom", &src, "-o", "json=/dev/stdout"])
        .stdout(std::fs::File::create(&file).expect("create"))
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(status.success());
    let captured = std::fs::read_to_string(&file).expect("read");
    assert!(captured.trim_start().starts_with('{'), "{captured:?}");
    assert!(std::fs::symlink_metadata("/dev/stdout").expect("/dev/stdout").file_type().is_symlink());
}

#[test]
fn sbom_file_dev_null_keeps_the_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("dir:{}", s(&tiny_dir(dir.path())));
    let (code, _, err) = run_within(60, &["sbom", &src, "--file", "/dev/null"]);
    assert_eq!(code, 0, "{err}");
    let meta = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}

#[test]
fn sbom_output_to_a_fifo_and_through_a_symlink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("dir:{}", s(&tiny_dir(dir.path())));
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read fifo"))
    };
    let (code, _, err) = run_within(60, &["sbom", &src, "-o", &format!("json={}", s(&fifo))]);
    assert_eq!(code, 0, "{err}");
    assert!(text(&reader.join().expect("reader")).trim_start().starts_with('{'));
    assert!(std::fs::symlink_metadata(&fifo).expect("fifo").file_type().is_fifo(), "the FIFO was replaced");

    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").expect("write");
    let link = dir.path().join("link.json");
    symlink(&target, &link).expect("symlink");
    let (code, _, err) = run_within(60, &["sbom", &src, "-o", &format!("json={}", s(&link))]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link was replaced");
    assert!(std::fs::read_to_string(&target).expect("target").trim_start().starts_with('{'));
}

#[test]
fn checksec_names_a_fifo_or_device_argument() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("bin.fifo");
    mkfifo(&fifo);
    let (code, _, err) = run_within(20, &["checksec", s(&fifo)]);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("{} is a FIFO, not a regular file", s(&fifo))), "{err}");
    assert!(!err.contains("does not exist"), "{err}");
    let (code, _, err) = run_within(20, &["checksec", "/dev/zero"]);
    assert_ne!(code, 0);
    assert!(err.contains("/dev/zero is a character device, not a regular file"), "{err}");
}

#[test]
fn checksec_root_keeps_library_symlinks_inside_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let lib = root.join("lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&lib).expect("mkdir");
    std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
    std::fs::copy("/bin/true", root.join("usr/bin/true")).expect("copy /bin/true");
    symlink("/dev/zero", lib.join("libc.so.6")).expect("symlink");
    let (code, out, err) =
        run_within(20, &["checksec", "--root", s(&root), "-f", "json", s(&root.join("usr/bin/true"))]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("true"), "{out}");
    // A FIFO as the libc: refused (glibc's built-in list is used), not waited on.
    std::fs::remove_file(lib.join("libc.so.6")).expect("rm");
    mkfifo(&lib.join("libc.so.6"));
    let (code, _, err) = run_within(20, &["checksec", "--root", s(&root), s(&root.join("usr/bin"))]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn checksec_of_a_sparse_50_gib_elf_file_reads_only_its_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sparse");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(&std::fs::read("/bin/true").expect("read /bin/true")).expect("write");
    f.set_len(50 << 30).expect("set_len");
    drop(f);
    let started = Instant::now();
    let (code, out, err) = run_within(30, &["checksec", "-f", "json", s(&path)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sparse"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn input_files_that_are_fifos_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("input.json");
    mkfifo(&fifo);
    let expected = format!("{} is a FIFO, not a regular file", s(&fifo));
    let db = dir.path().join("db.sqlite");

    let (code, _, err) = run_within(20, &["db", "import", "--db", s(&db), s(&fifo)]);
    assert_ne!(code, 0);
    assert!(err.contains(&expected), "db import: {err}");

    // A DB to scan with: one OSV record.
    let feed = dir.path().join("osv.json");
    std::fs::write(
        &feed,
        r#"{"id":"OSV-TEST-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"x"},"versions":["1.0"]}]}"#,
    )
    .expect("write feed");
    let (code, _, err) = run_within(60, &["db", "import", "--db", s(&db), s(&feed)]);
    assert_eq!(code, 0, "{err}");
    let sbom_src = format!("sbom:{}", s(&fifo));
    let (code, _, err) = run_within(20, &["scan", "--db", s(&db), "--skip-db-age-check", &sbom_src]);
    assert_ne!(code, 0);
    assert!(err.contains(&expected), "scan sbom: {err}");

    let sbom = dir.path().join("sbom.cdx.json");
    let src = format!("dir:{}", s(&tiny_dir(dir.path())));
    let (code, _, err) = run_within(60, &["sbom", &src, "-o", &format!("cyclonedx-json={}", s(&sbom))]);
    assert_eq!(code, 0, "{err}");
    let side = format!("sbom:{}", s(&sbom));
    let (code, _, err) =
        run_within(20, &["compare", "--upstream-scan", s(&fifo), "--hardened-scan", s(&fifo), &side, &side]);
    assert_ne!(code, 0);
    assert!(err.contains(&expected), "compare --upstream-scan: {err}");
}
