//! `armorred push` and `armorred pull` against the real docker-registry on loopback, with an
//! image made by the product's own OCI writer; skopeo as an independent reader.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use armorred::fstree::Tree;
use armorred::oci::{self, RuntimeConfig};
use support::{run, start_registry};

/// A small image from the product's writer (fixed epoch: the same bytes every run).
fn image() -> oci::Image {
    let mut t = Tree::new();
    t.add_dir("etc", 0o755, (0, 0)).unwrap();
    t.add_file("etc/os-release", 0o644, (0, 0), b"ID=debian\nVERSION_ID=\"13\"\n".to_vec()).unwrap();
    t.add_file("usr/share/app/data", 0o644, (0, 0), vec![42u8; 4096]).unwrap();
    oci::Image {
        layers: vec![oci::layer_from_tree(&t, 1754731547).unwrap()],
        config: RuntimeConfig { user: "65534:65534".into(), cmd: vec!["app".into()], ..RuntimeConfig::default() },
        architecture: "amd64".into(),
        created_epoch: 1754731547,
        created_by: "armorred test".into(),
        annotations: BTreeMap::new(),
        ref_name: "armorred/test:1".into(),
    }
}

fn blobs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn push_then_pull_gives_the_same_image() {
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let written = oci::write_layout(&src, &image()).unwrap();
    let target = format!("registry:{}/armorred/test:1", reg.addr);
    let (code, out, err) = run(&["push", &format!("oci-dir:{}", src.display()), &target]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("{}/armorred/test:1@{}", reg.addr, written.manifest.digest));
    assert!(err.contains("3 blobs uploaded") || err.contains("2 blobs uploaded"), "{err}");

    let dst = tmp.path().join("dst");
    let (code, out, err) = run(&["pull", &target, &format!("oci-dir:{}", dst.display()), "--with-attachments"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("{}/armorred/test@{}", reg.addr, written.manifest.digest));
    assert!(err.contains("no referrers API"), "{err}");
    assert_eq!(blobs(&dst), blobs(&src), "byte-identical blobs");
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dst.join("index.json")).unwrap()).unwrap();
    insta::assert_snapshot!("pulled-index", serde_json::to_string_pretty(&index).unwrap());
    assert_eq!(std::fs::read(dst.join("oci-layout")).unwrap(), br#"{"imageLayoutVersion":"1.0.0"}"#);

    // The pulled layout is read by the product's own reader; pushed again, it is the same.
    let (code, _, err) = run(&["sbom", &format!("oci-dir:{}", dst.display()), "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) =
        run(&["push", &format!("oci-dir:{}", dst.display()), &format!("registry:{}/armorred/again:1", reg.addr)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().ends_with(&written.manifest.digest), "{out}");

    if support::have_tool("skopeo", &["--version"]) {
        let o = std::process::Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", &format!("docker://{}/armorred/test:1", reg.addr)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["Digest"], written.manifest.digest.as_str());
    }

    // A non-empty target is refused and left as it was.
    let before = blobs(&dst);
    let (code, _, err) = run(&["pull", &target, &format!("oci-dir:{}", dst.display())]);
    assert_eq!(code, 2);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(blobs(&dst), before);
}

#[test]
fn docker_archives_are_pushed_with_their_own_bytes() {
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("image.tar");
    let written = oci::write_docker_archive(&archive, &image()).unwrap();
    let target = format!("registry:{}/armorred/docker:1", reg.addr);
    let (code, out, err) = run(&["push", &format!("docker-archive:{}", archive.display()), &target]);
    assert_eq!(code, 0, "{err}");
    let digest = out.trim().rsplit_once('@').unwrap().1.to_string();
    let dst = tmp.path().join("dst");
    let (code, _, err) = run(&[
        "pull",
        &format!("registry:{}/armorred/docker@{digest}", reg.addr),
        &format!("oci-dir:{}", dst.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    let got = blobs(&dst);
    assert_eq!(
        got[written.config.digest.trim_start_matches("sha256:")],
        written.config.data,
        "the config is the archive's"
    );
    let manifest: serde_json::Value = serde_json::from_slice(&got[digest.trim_start_matches("sha256:")]).unwrap();
    insta::assert_snapshot!("docker-archive-manifest", serde_json::to_string_pretty(&manifest).unwrap());
}

#[test]
fn bad_arguments_are_clear_errors() {
    let (code, _, err) = run(&["push", "oci-dir:/nonexistent", "registry:nohost/x:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("explicit registry host"), "{err}");
    let (code, _, err) = run(&["push", "dir:/x", "registry:127.0.0.1:1/x:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("must be oci-dir:DIR or docker-archive:FILE"), "{err}");
    let (code, _, err) = run(&["pull", "registry:127.0.0.1:1/x:1", "docker-archive:x.tar"]);
    assert_eq!(code, 2);
    assert!(err.contains("must be oci-dir:DIR"), "{err}");
    // Nothing listens: a clean error after bounded retries, no layout left behind.
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dst = tmp.path().join("dst");
    let (code, _, err) =
        run(&["pull", &format!("registry:127.0.0.1:{port}/x:1"), &format!("oci-dir:{}", dst.display())]);
    assert_eq!(code, 2);
    assert!(err.contains("gave up after"), "{err}");
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "left behind");
}

#[test]
fn plain_http_only_for_loopback_or_insecure_registries() {
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    oci::write_layout(&src, &image()).unwrap();
    // 0.0.0.0 reaches the loopback registry but is not a loopback name: HTTPS unless asked.
    let port = reg.addr.rsplit_once(':').unwrap().1;
    let host = format!("0.0.0.0:{port}");
    let target = format!("registry:{host}/armorred/insecure:1");
    let (code, _, err) = run(&["push", &format!("oci-dir:{}", src.display()), &target]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("https://{host}/v2/")), "{err}");
    let (code, out, err) = run(&["push", &format!("oci-dir:{}", src.display()), &target, "--insecure-registry", &host]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{host}/armorred/insecure:1@sha256:")), "{out}");
    let dst = tmp.path().join("dst");
    let (code, _, err) = run(&["pull", &target, &format!("oci-dir:{}", dst.display()), "--insecure-registry", &host]);
    assert_eq!(code, 0, "{err}");
}
