//! Test support: shared data paths, tool checks, and a tiny OCI layout / docker archive
//! writer for images assembled in tests (the product's OCI writer lives in the build module).
#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub(crate) mod images;
pub(crate) mod registry;

/// `<repo>/../shared/data`.
pub(crate) fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// `crates/armorred/testdata/sbom`.
pub(crate) fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sbom")
}

/// A test's missing prerequisite `what`: panics when `ARMORRED_REQUIRE_TOOLS=1`, else says the
/// test is skipped; always `false`, so `return support::missing("docker")` skips.
pub(crate) fn missing(what: &str) -> bool {
    assert!(
        std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{what} is required (ARMORRED_REQUIRE_TOOLS=1)"
    );
    eprintln!("skipping: {what} is not available");
    false
}

/// Whether an external tool is available; panics when missing and `ARMORRED_REQUIRE_TOOLS=1`.
pub(crate) fn have_tool(cmd: &str, check: &[&str]) -> bool {
    let ok = std::process::Command::new(cmd).args(check).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{cmd} is required (ARMORRED_REQUIRE_TOOLS=1) but is not available");
        }
        eprintln!("skipping: {cmd} is not available");
    }
    ok
}

/// Whether the build sandbox can run here (the kernel lets this user create user namespaces);
/// panics when it cannot and `ARMORRED_REQUIRE_TOOLS=1`.
pub(crate) fn sandbox_present() -> bool {
    match armorred::build::compile::Namespaces::new() {
        Ok(_) => true,
        Err(e) if std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() == Ok("1") => {
            panic!("the build sandbox is required (ARMORRED_REQUIRE_TOOLS=1): {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            false
        }
    }
}

/// One entry of a test layer.
pub(crate) enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
}

/// A tar stream of entries (mtime 0, root-owned).
pub(crate) fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            E::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            E::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Symlink(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

pub(crate) fn digest(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

fn put_blob(dir: &Path, data: &[u8]) -> String {
    let d = digest(data);
    let p = dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
    d
}

/// A layer: raw tar and the blob as stored (compressed or not) with its media type.
pub(crate) struct Layer {
    pub(crate) tar: Vec<u8>,
    pub(crate) blob: Vec<u8>,
    pub(crate) media_type: &'static str,
}

pub(crate) fn layer_gzip(tar: Vec<u8>) -> Layer {
    Layer { blob: gzip(&tar), tar, media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }
}

pub(crate) fn layer_zstd(tar: Vec<u8>) -> Layer {
    Layer { blob: zstd(&tar), tar, media_type: "application/vnd.oci.image.layer.v1.tar+zstd" }
}

pub(crate) fn layer_plain(tar: Vec<u8>) -> Layer {
    Layer { blob: tar.clone(), tar, media_type: "application/vnd.oci.image.layer.v1.tar" }
}

fn config(layers: &[Layer], arch: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| digest(&l.tar)).collect();
    serde_json::to_vec(&serde_json::json!({
        "created": "2025-01-02T03:04:05Z",
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .unwrap()
}

fn manifest(dir: &Path, layers: &[Layer], arch: &str) -> (String, usize) {
    let cfg = config(layers, arch);
    let cfg_d = put_blob(dir, &cfg);
    let ls: Vec<_> = layers
        .iter()
        .map(|l| {
            let d = put_blob(dir, &l.blob);
            serde_json::json!({"mediaType": l.media_type, "digest": d, "size": l.blob.len()})
        })
        .collect();
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d, "size": cfg.len()},
        "layers": ls
    }))
    .unwrap();
    (put_blob(dir, &m), m.len())
}

/// Writes an OCI layout with one image; returns the manifest digest.
pub(crate) fn oci_layout(dir: &Path, layers: &[Layer]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let (d, size) = manifest(dir, layers, "amd64");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    d
}

/// Writes an OCI layout whose index lists one image per (architecture, layers).
pub(crate) fn oci_multiarch(dir: &Path, images: &[(&str, Vec<Layer>)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut ms = Vec::new();
    for (arch, layers) in images {
        let (d, size) = manifest(dir, layers, arch);
        ms.push(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d, "size": size, "platform": {"os": "linux", "architecture": arch}}));
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": ms});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Packs a directory (an OCI layout) into a tar archive.
pub(crate) fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}

/// Writes a `docker save` style archive (layers uncompressed at `<n>/layer.tar`).
pub(crate) fn docker_archive(out: &Path, layers: &[Layer]) {
    let cfg = config(layers, "amd64");
    let cfg_name = format!("{}.json", digest(&cfg).trim_start_matches("sha256:"));
    let mut entries: Vec<(String, Vec<u8>)> = vec![(cfg_name.clone(), cfg)];
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let n = format!("{i}/layer.tar");
        entries.push((n.clone(), l.tar.clone()));
        names.push(n);
    }
    let manifest = serde_json::json!([{"Config": cfg_name, "RepoTags": ["test:latest"], "Layers": names}]);
    entries.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
    let files: Vec<E<'_>> = entries.iter().map(|(n, d)| E::File(n, d, 0o644)).collect();
    std::fs::write(out, tar(&files)).unwrap();
}

/// Whether `name --version` runs; panics when missing and `ARMORRED_REQUIRE_TOOLS=1`.
pub(crate) fn tool(name: &str) -> bool {
    have_tool(name, &["--version"])
}

/// An error and its sources, `: `-joined, as the CLI prints the chain.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
