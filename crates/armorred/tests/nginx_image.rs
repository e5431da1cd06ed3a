//! images/nginx end to end against the real Debian mirror of the host's apt configuration:
//! lock, reproducible builds, tampered inputs, the real Docker engine and syft.
//! Downloads are cached under `target/armorred-test-cache`, so reruns are fast.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use armorred::build::debian::{mirror::http_get, release, Cache, Lock};
use armorred::build::{self, BuildOptions, LockStatus, Output};
use armorred::tier::Tier;

mod support;

use support::images::{cache, copy_definition, mirror, repo, text, Dockerd};

fn opts(output: Output, cache: Cache) -> BuildOptions<'static> {
    BuildOptions { cache, ..support::images::opts(Tier::Hardened, output) }
}

#[test]
fn lock_resolves_and_check_detects_staleness() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_definition(tmp.path());
    let path = dir.join("image.lock");
    std::fs::remove_file(&path).unwrap();
    let (lock, excluded) = build::resolve_lock(&dir, &mirror()).unwrap();
    assert_eq!(
        build::write_lock(&path, &lock, true).unwrap(),
        LockStatus::Stale,
        "a missing lock is stale under --check"
    );
    assert!(!path.exists());
    assert_eq!(build::write_lock(&path, &lock, false).unwrap(), LockStatus::Written);
    assert_eq!(build::write_lock(&path, &lock, true).unwrap(), LockStatus::Unchanged);
    assert_eq!(Lock::read(&path).unwrap(), lock);
    let names = &lock.tiers[&Tier::Hardened];
    for want in ["nginx", "nginx-common", "libc6", "libssl3t64", "ca-certificates"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    for gone in ["debconf", "iproute2", "perl-base", "dpkg", "bash", "dash"] {
        assert!(!names.iter().any(|n| n == gone), "{gone} should be excluded");
    }
    assert_eq!(excluded[&Tier::Hardened]["iproute2"], "nginx");
    let committed = Lock::read(&repo().join("images/nginx/image.lock")).unwrap();
    assert_eq!(lock.inputs_digest, committed.inputs_digest);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("name = \"nginx\"\n", "name = \"nginx\"\n#\n")).unwrap();
    assert_eq!(build::write_lock(&path, &lock, true).unwrap(), LockStatus::Stale);
}

#[test]
fn reproducible_across_directories_and_input_sensitive() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (copy_definition(a.path()), copy_definition(b.path()));
    let ra = build::build(&da, &opts(Output::OciDir(a.path().join("out")), cache())).unwrap();
    let rb = build::build(&db, &opts(Output::OciDir(b.path().join("img/oci")), cache())).unwrap();
    assert_eq!(ra.manifest_digest, rb.manifest_digest);
    assert!(ra.gate.passed(), "{:?}", ra.gate.violations);
    // docker-archive holds the same manifest.
    let rt = build::build(&db, &opts(Output::DockerArchive(b.path().join("img.tar")), cache())).unwrap();
    assert_eq!(rt.manifest_digest, ra.manifest_digest);
    // One changed input file changes the digest.
    let conf = db.join("files/nginx.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("worker_connections 768", "worker_connections 769")).unwrap();
    let rc = build::build(&db, &opts(Output::OciDir(b.path().join("changed")), cache())).unwrap();
    assert_ne!(rc.manifest_digest, ra.manifest_digest);
    eprintln!(
        "nginx hardened: {} packages, {} files, {} B compressed, {} B uncompressed, build {} ms",
        ra.packages, ra.files, ra.compressed_size, ra.uncompressed_size, rb.timings["total"]
    );
}

#[test]
fn wrong_sha256_aborts_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_definition(tmp.path());
    let lock = Lock::read(&dir.join("image.lock")).unwrap();
    let victim = lock.packages.iter().find(|p| p.name == "nginx-common").unwrap();
    let bad = format!("{}{}", &victim.sha256[..63], if victim.sha256.ends_with('0') { "1" } else { "0" });
    let text = std::fs::read_to_string(dir.join("image.lock")).unwrap().replace(&victim.sha256, &bad);
    std::fs::write(dir.join("image.lock"), text).unwrap();
    let fresh = Cache::new(tmp.path().join("cache"));
    let out = tmp.path().join("out");
    let err = build::build(&dir, &opts(Output::OciDir(out.clone()), fresh.clone())).unwrap_err().to_string();
    assert!(err.starts_with("nginx-common (") && err.contains(": digest mismatch: expected sha256:"), "{err}");
    assert!(!out.exists());
    assert!(!fresh.path_of(&bad).exists());
    let leftovers: Vec<_> =
        std::fs::read_dir(fresh.dir().join("sha256")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains(&bad)), "{leftovers:?}");
}

#[test]
fn tampered_or_foreign_inrelease_is_rejected() {
    let m = mirror();
    let raw = http_get(&format!("{}/dists/trixie/InRelease", m.debian)).unwrap();
    let keyring = release::Keyring::load(&release::default_keyring_paths()).unwrap();
    let good = release::verify_inrelease("trixie InRelease", &raw, &keyring).unwrap();
    assert!(good.sha256.contains_key("main/binary-amd64/Packages.xz"));
    // Change one digit of a listed hash: the text no longer matches the signature.
    let text = String::from_utf8(raw.clone()).unwrap();
    let at = text.find("SHA256:\n ").unwrap() + 9;
    let mut bytes = raw.clone();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let err = release::verify_inrelease("trixie InRelease", &bytes, &keyring).unwrap_err().to_string();
    assert!(
        err.starts_with("trixie InRelease: OpenPGP signature verification failed: no signature verifies against the"),
        "{err}"
    );
    // Keys that did not sign it.
    let removed =
        release::Keyring::load(&[PathBuf::from("/usr/share/keyrings/debian-archive-removed-keys.gpg")]).unwrap();
    let err = release::verify_inrelease("trixie InRelease", &raw, &removed).unwrap_err().to_string();
    assert!(err.contains("OpenPGP signature verification failed"), "{err}");
    let err = release::verify_inrelease("x", b"Origin: Debian\n", &keyring).unwrap_err().to_string();
    assert!(
        err.starts_with("x: OpenPGP signature verification failed: not an OpenPGP cleartext-signed message"),
        "{err}"
    );
}

#[test]
fn docker_runs_it_read_only_as_nobody_and_syft_sees_every_package() {
    if !support::images::have_docker() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_definition(tmp.path());
    let archive = tmp.path().join("nginx.tar");
    let r = build::build(&dir, &opts(Output::DockerArchive(archive.clone()), cache())).unwrap();

    let d = Dockerd::start();
    let o = d.docker(&["load", "-i", archive.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let image = "armorred/nginx:hardened";
    let o = d.docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.User}} {{.Config.StopSignal}} {{json .Config.ExposedPorts}} {{json .Config.Cmd}}",
        image,
    ]);
    assert_eq!(text(&o).trim(), r#"65534:65534 SIGQUIT {"80/tcp":{}} ["nginx","-g","daemon off;"]"#);
    let o = d.docker(&["image", "inspect", "-f", "{{.Id}}", image]);
    assert_eq!(
        text(&o).trim(),
        format!("sha256:{}", {
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&r.record).unwrap()).unwrap();
            m["output"]["config_digest"].as_str().unwrap().trim_start_matches("sha256:").to_string()
        })
    );

    let hard = [
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "--network",
        "none",
    ];
    let mut args = vec!["run", "--rm"];
    args.extend(hard);
    args.extend([image, "nginx", "-t"]);
    let o = d.docker(&args);
    assert!(o.status.success() && text(&o).contains("test is successful"), "{}", text(&o));
    // The official image's modules, loaded by the default configuration through modules-enabled
    // (the links Debian's postinst would make): that `nginx -t` passed means each one loads.
    let mut args = vec!["run", "--rm"];
    args.extend(hard);
    args.extend([image, "nginx", "-T"]);
    let o = d.docker(&args);
    for m in [
        "stream",
        "mail",
        "http_geoip",
        "stream_geoip",
        "http_image_filter",
        "http_xslt_filter",
        "http_js",
        "stream_js",
    ] {
        assert!(text(&o).contains(&format!("load_module modules/ngx_{m}_module.so;")), "{m}: {}", text(&o));
    }
    let o = d.docker(&["run", "--rm", "--network", "none", image, "/bin/sh", "-c", "true"]);
    assert!(!o.status.success() && text(&o).contains("/bin/sh"), "{}", text(&o));

    let mut args = vec!["run", "-d"];
    args.extend(hard);
    args.push(image);
    let o = d.docker(&args);
    assert!(o.status.success(), "{}", text(&o));
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let pid = text(&d.docker(&["inspect", "-f", "{{.State.Pid}}", &id])).trim().to_string();
    let mut page = String::new();
    for _ in 0..40 {
        let o =
            Command::new("nsenter").args(["-t", &pid, "-n", "curl", "-sf", "http://127.0.0.1:80/"]).output().unwrap();
        if o.status.success() {
            page = String::from_utf8_lossy(&o.stdout).into_owned();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let ps = Command::new("ps").args(["-o", "uid=", "-p", &pid]).output().unwrap();
    let logs = text(&d.docker(&["logs", &id]));
    d.docker(&["rm", "-f", &id]);
    assert_eq!(String::from_utf8_lossy(&ps.stdout).trim(), "65534");
    // The page Debian's nginx serves by default: nginx-common's index.html.
    let lock = Lock::read(&dir.join("image.lock")).unwrap();
    let common = lock.packages.iter().find(|p| p.name == "nginx-common").unwrap();
    let mut tree = armorred::fstree::Tree::new();
    armorred::build::debian::unpack(&cache().path_of(&common.sha256), "nginx-common", &mut tree).unwrap();
    let Some(armorred::fstree::Node::File { data, .. }) = tree.get("usr/share/nginx/html/index.html") else {
        panic!("no index.html in nginx-common")
    };
    assert_eq!(page.as_bytes(), &data[..], "logs: {logs}");
    assert!(logs.contains("\"GET / HTTP/1.1\" 200"), "access log goes to stdout: {logs}");

    if !support::have_tool("syft", &["version"]) {
        return;
    }
    let o = Command::new("syft")
        .args(["-q", "-o", "json"])
        .arg(format!("docker-archive:{}", archive.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let sbom: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut seen: Vec<String> = sbom["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "deb")
        .map(|a| format!("{}={}", a["name"].as_str().unwrap(), a["version"].as_str().unwrap()))
        .collect();
    seen.sort();
    let mut shipped: Vec<String> =
        lock.tier_packages(Tier::Hardened).unwrap().iter().map(|p| format!("{}={}", p.name, p.version)).collect();
    shipped.sort();
    assert_eq!(seen, shipped);
}
