//! The `locked` tier of images/nginx end to end: `armorred build --tier locked` locks nothing new
//! at build time, unpacks the build root pinned in image.lock, builds nginx 1.26.3 from source in
//! the sandbox over it, and packs the installed tree with the Debian libraries it links into a
//! FROM-scratch image. Checked: every protection in the binary, the locked policy, the build root
//! recorded by hash, bit-for-bit reproducibility, and the real Docker engine running it read-only
//! as 65534 without a shell, serving files and proxying.
//!
//! Needs the host's Debian mirror on the first run (cached under target/armorred-test-cache),
//! user namespaces for the build sandbox, and for the last test docker.io, nsenter and curl.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use armorred::build::{self, BuildReport, Output};
use armorred::elf::policy;
use armorred::elf::{Pie, Relro, ScanReport};
use armorred::report::image_checksec;
use armorred::source::{Limits, OpenOptions, Source};
use armorred::tier::Tier;

mod support;

use support::images::{copy_definition, curl_in, opts, text, Dockerd};

/// One locked build as a docker archive, shared by the tests of this file.
fn built() -> &'static (tempfile::TempDir, PathBuf, BuildReport) {
    static BUILT: OnceLock<(tempfile::TempDir, PathBuf, BuildReport)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = copy_definition(tmp.path());
        let archive = tmp.path().join("nginx-locked.tar");
        let t = std::time::Instant::now();
        let report = build::build(&dir, &opts(Tier::Locked, Output::DockerArchive(archive.clone()))).unwrap();
        eprintln!("locked image built in {:.1} s", t.elapsed().as_secs_f64());
        (tmp, archive, report)
    })
}

fn checksec_of(archive: &Path) -> ScanReport {
    let image =
        Source::parse(&format!("docker-archive:{}", archive.display())).unwrap().open(&OpenOptions::default()).unwrap();
    image_checksec(&image, &Limits::default()).unwrap()
}

#[test]
fn locked_nginx_shows_every_protection_and_passes_the_locked_policy() {
    if !support::sandbox_present() {
        return;
    }
    let (_tmp, archive, report) = built();
    let scan = checksec_of(archive);
    let nginx = scan.entries.get(Path::new("/usr/sbin/nginx")).expect("nginx in the image").as_ref().unwrap();
    assert_eq!(nginx.relro, Relro::Full);
    assert!(nginx.canary && nginx.nx, "canary, NX");
    assert_eq!(nginx.pie, Pie::Yes);
    assert!(nginx.fortify.enabled(), "FORTIFY");
    assert!(nginx.safestack.present, "SafeStack");
    assert!(nginx.cfi.present, "CFI");
    assert!(nginx.cet.ibt && nginx.cet.shstk, "CET {:?}", nginx.cet);
    let note = nginx.package_note.as_ref().expect("package note");
    assert_eq!((note["name"].as_str(), note["version"].as_str()), (Some("nginx"), Some("1.26.3")));

    // The locked policy on the source-built binary, the hardened one on everything (the gate).
    let only_nginx =
        ScanReport { entries: scan.entries.into_iter().filter(|(p, _)| p == Path::new("/usr/sbin/nginx")).collect() };
    let verdict = policy::evaluate(Tier::Locked, &only_nginx, Path::new("/"));
    assert!(verdict.violations.is_empty(), "{:?}", verdict.violations);
    assert_eq!(report.gate.built_policy, Some(Tier::Locked));
    assert_eq!(report.gate.built_files, 1);
    assert!(report.gate.passed(), "{:?}", report.gate.violations);

    // The toolchain came from the lock, each package by hash; the shell is not in the image.
    let record = report.source_build.as_ref().expect("source build record");
    assert_eq!(record.build_root.kind, "debian-locked");
    let clang = record.build_root.packages.iter().find(|p| p.name == "clang-19").expect("clang-19 in the root");
    assert!(clang.sha256.as_ref().is_some_and(|s| s.len() == 64), "{clang:?}");
    assert!(record.configure_options.iter().any(|o| o == "--without-http_ssi_module"));
    // Debian's security patches for 1.26.3 were applied before configure.
    assert_eq!(record.sources[1].file, "nginx_1.26.3-3+deb13u9.debian.tar.xz");
    assert_eq!(record.steps[1].name, "debian-patches");
    let log = std::fs::read_to_string(
        build::source_build_dir(&Output::DockerArchive(archive.clone())).join("logs/debian-patches.log"),
    )
    .unwrap();
    assert!(log.contains("applying CVE-2026-42945.patch") && !log.contains("FAILED"), "{log}");
    assert!(log.contains("applying CVE-2026-60005.patch"), "deb13u8's fixes are in deb13u9: {log}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report.record).unwrap()).unwrap();
    assert_eq!(json["source_build"]["build_root"]["kind"], "debian-locked");
    assert_eq!(json["checksec"]["built_policy"], "locked");
    for shell in ["/bin/sh", "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash"] {
        assert!(!report_has(archive, shell), "{shell} in the locked image");
    }
}

fn report_has(archive: &Path, path: &str) -> bool {
    let image =
        Source::parse(&format!("docker-archive:{}", archive.display())).unwrap().open(&OpenOptions::default()).unwrap();
    let tree = image.tree(&Limits::default()).unwrap();
    tree.get(path).is_some()
}

#[test]
fn two_locked_builds_give_the_same_digest() {
    if !support::sandbox_present() {
        return;
    }
    let (_tmp, _archive, first) = built();
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_definition(tmp.path());
    // Compiled again (not the cached build), so that the digests prove reproducibility.
    let again = build::BuildOptions { reuse: false, ..opts(Tier::Locked, Output::OciDir(tmp.path().join("again"))) };
    let second = build::build(&dir, &again).unwrap();
    assert!(!second.source_build_reused);
    assert_eq!(first.manifest_digest, second.manifest_digest);
    assert_eq!(first.config_digest, second.config_digest);
}

/// A warm build of the same definition and lock reuses the verified cached source build (the
/// first build stored it) and gives the same image, into a folder that does not exist yet (as
/// the pipeline's `out/<image>/<tier>/image`).
#[test]
fn a_warm_locked_build_reuses_the_cached_source_build() {
    if !support::sandbox_present() {
        return;
    }
    let (_tmp, _archive, first) = built();
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_definition(tmp.path());
    let t = std::time::Instant::now();
    let warm_out = tmp.path().join("new/locked/warm");
    let warm = build::build(&dir, &opts(Tier::Locked, Output::OciDir(warm_out.clone()))).unwrap();
    eprintln!("warm locked build in {:.1} s", t.elapsed().as_secs_f64());
    assert!(warm.source_build_reused, "the cached source build was not reused");
    assert_eq!(first.manifest_digest, warm.manifest_digest);
    assert_eq!(first.source_build, warm.source_build, "the same build record");
    let logs = build::source_build_dir(&Output::OciDir(warm_out)).join("logs/debian-patches.log");
    assert!(std::fs::read_to_string(logs).unwrap().contains("applying CVE-2026-42945.patch"));
}

#[test]
fn docker_runs_the_locked_image_read_only_as_nobody_serving_and_proxying() {
    if !(support::sandbox_present() && support::images::have_docker()) {
        return;
    }
    let (tmp, archive, _) = built();
    let d = Dockerd::start();
    let o = d.docker(&["load", "-i", archive.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let image = "armorred/nginx:locked";

    // A second server (the same image with its own configuration) on 127.0.0.1:8081, and the
    // image under test in its network namespace with a proxying server on 8080.
    let cfg = tmp.path().join("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("backend.conf"),
        "pid /tmp/backend.pid;\nerror_log /dev/stderr;\nevents {}\nhttp {\n  client_body_temp_path /tmp/b_client;\n  proxy_temp_path /tmp/b_proxy;\n  access_log off;\n  server { listen 127.0.0.1:8081; location / { return 200 \"hello from the backend\\n\"; } }\n}\n",
    )
    .unwrap();
    std::fs::write(
        cfg.join("proxy.conf"),
        "server {\n  listen 8080;\n  location /api/ { proxy_pass http://127.0.0.1:8081/; }\n}\n",
    )
    .unwrap();
    let hard = ["--read-only", "--tmpfs", "/tmp", "--cap-drop=ALL", "--security-opt", "no-new-privileges"];
    let run = |extra: &[&str], cmd: &[&str]| {
        let mut args = vec!["run", "-d"];
        args.extend(hard);
        args.extend(extra);
        args.push(image);
        args.extend(cmd);
        let o = d.docker(&args);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let backend_conf = format!("{}:/etc/nginx/backend.conf:ro", cfg.join("backend.conf").display());
    let backend = run(
        &["--network", "none", "-v", &backend_conf],
        &["nginx", "-g", "daemon off;", "-c", "/etc/nginx/backend.conf"],
    );
    let proxy_conf = format!("{}:/etc/nginx/conf.d/proxy.conf:ro", cfg.join("proxy.conf").display());
    let net = format!("container:{backend}");
    let front = run(&["--network", &net, "-v", &proxy_conf], &[]);
    let pid = d.pid(&front);

    let index = curl_in(&pid, "http://127.0.0.1/");
    let missing = curl_in(&pid, "http://127.0.0.1/no-such-file");
    let proxied = curl_in(&pid, "http://127.0.0.1:8080/api/anything");
    let ps = std::process::Command::new("ps").args(["-o", "uid=", "-p", &pid]).output().unwrap();
    let logs = text(&d.docker(&["logs", &front]));
    let sh = d.docker(&["run", "--rm", "--network", "none", image, "/bin/sh", "-c", "true"]);
    d.docker(&["rm", "-f", &front, &backend]);

    assert_eq!(index.0, 200, "{logs}");
    assert!(index.1.contains("Welcome to nginx!"), "{}", index.1);
    assert_eq!(missing.0, 404, "{logs}");
    assert_eq!(proxied, (200, "hello from the backend\n".to_string()), "{logs}");
    assert_eq!(String::from_utf8_lossy(&ps.stdout).trim(), "65534");
    assert!(!logs.contains("signal 4"), "a worker died of SIGILL (CFI): {logs}");
    assert!(!sh.status.success() && text(&sh).contains("/bin/sh"), "{}", text(&sh));
}
