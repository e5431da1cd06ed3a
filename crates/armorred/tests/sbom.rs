//! End-to-end tests of `sbom`: sources, squashing, catalogers, encoders, schemas, syft parity.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use armorred::sbom::format::{self, cyclonedx, Format, Timestamp};
use armorred::sbom::{self, GenerateOptions, Sbom};
use armorred::source::{Limits, OpenOptions, Platform, Source};
use support::*;

fn scan(src: &str) -> Sbom {
    let image = Source::parse(src).unwrap().open(&OpenOptions::default()).unwrap();
    sbom::generate(&image, &GenerateOptions::default()).unwrap()
}

fn scan_err(src: &str, limits: Limits) -> String {
    let image = match Source::parse(src).and_then(|s| s.open(&OpenOptions::default())) {
        Ok(i) => i,
        Err(e) => return error_chain(&e),
    };
    match sbom::generate(&image, &GenerateOptions { limits }) {
        Ok(s) => panic!("{src}: expected an error, got {} packages", s.packages.len()),
        Err(e) => error_chain(&e),
    }
}

fn status() -> Vec<u8> {
    std::fs::read(shared_data().join("debian-bookworm-packages/dpkg-status.this-machine")).unwrap()
}

fn os_release() -> Vec<u8> {
    std::fs::read(testdata().join("os-release/debian-13")).unwrap()
}

fn python_meta() -> Vec<u8> {
    std::fs::read(testdata().join("python/requests-2.34.2.dist-info/METADATA")).unwrap()
}

const NGINX_STATUS: &[u8] = b"Package: nginx\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.26.3-3+deb13u1\nSource: nginx\nMaintainer: Debian Nginx Maintainers <pkg-nginx-maintainers@alioth-lists.debian.net>\nInstalled-Size: 1234\nDepends: libc6 (>= 2.34), libssl3t64 (>= 3.0.0)\n";
const NGINX_MD5: &[u8] = b"0123456789abcdef0123456789abcdef  usr/sbin/nginx\n";
const FAKE_NGINX: &[u8] =
    b"\x7fELF\x02\x01\x01\0 nginx binary for tests \0nginx/1.26.3\0 padding padding padding padding";
const FAKE_BUSYBOX: &[u8] =
    b"\x7fELF\x02\x01\x01\0 busybox for tests \0BusyBox v1.36.1 (2023-11-07 18:53:09 UTC) multi-call binary.\0 padding";

/// Layer 1: a Debian-like root with the real 747-package status, a distroless nginx entry
/// owning /usr/sbin/nginx, an unowned busybox, a Python and two npm packages.
fn base_layer() -> Vec<u8> {
    let status = status();
    let os = os_release();
    let py = python_meta();
    tar(&[
        E::Dir("etc"),
        E::File("etc/os-release", &os, 0o644),
        E::Dir("var/lib/dpkg/status.d"),
        E::File("var/lib/dpkg/status", &status, 0o644),
        E::File("var/lib/dpkg/status.d/nginx", NGINX_STATUS, 0o644),
        E::File("var/lib/dpkg/status.d/nginx.md5sums", NGINX_MD5, 0o644),
        E::File("usr/sbin/nginx", FAKE_NGINX, 0o755),
        E::File("usr/local/bin/busybox", FAKE_BUSYBOX, 0o755),
        E::Symlink("bin/sh", "/usr/local/bin/busybox"),
        E::File("usr/lib/python3/dist-packages/requests-2.34.2.dist-info/METADATA", &py, 0o644),
        E::File(
            "opt/app/node_modules/left-pad/package.json",
            br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
            0o644,
        ),
        E::File(
            "srv/node_modules/@babel/core/package.json",
            br#"{"name":"@babel/core","version":"7.24.0","license":"MIT"}"#,
            0o644,
        ),
        E::File("srv/node_modules/gone/package.json", br#"{"name":"gone","version":"0.0.1"}"#, 0o644),
    ])
}

/// Layer 2: opaque /opt/app (left-pad disappears, right-pad appears), whiteout of a package.
fn top_layer() -> Vec<u8> {
    tar(&[
        E::File("opt/app/.wh..wh..opq", b"", 0o644),
        E::File("opt/app/node_modules/right-pad/package.json", br#"{"name":"right-pad","version":"2.0.0"}"#, 0o644),
        E::File("srv/node_modules/.wh.gone", b"", 0o644),
    ])
}

fn names(s: &Sbom) -> BTreeSet<(String, String, String)> {
    s.packages.iter().map(|p| (p.name.clone(), p.version.clone(), p.purl.clone().unwrap_or_default())).collect()
}

fn write_dir_tree(root: &Path) {
    for (rel, data) in [
        ("etc/os-release", os_release()),
        ("var/lib/dpkg/status", status()),
        ("var/lib/dpkg/status.d/nginx", NGINX_STATUS.to_vec()),
        ("var/lib/dpkg/status.d/nginx.md5sums", NGINX_MD5.to_vec()),
        ("usr/sbin/nginx", FAKE_NGINX.to_vec()),
        ("usr/local/bin/busybox", FAKE_BUSYBOX.to_vec()),
        ("usr/lib/python3/dist-packages/requests-2.34.2.dist-info/METADATA", python_meta()),
    ] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        if rel.contains("bin/") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

#[test]
fn layered_image_is_squashed_with_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let digest = oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    let s = scan(&format!("oci-dir:{}", dir.display()));
    assert_eq!(s.source.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(s.source.created.as_deref(), Some("2025-01-02T03:04:05Z"));
    let npm: Vec<&str> = s.packages.iter().filter(|p| p.kind == "npm").map(|p| p.name.as_str()).collect();
    assert_eq!(npm, ["@babel/core", "right-pad"]);
    // 747 from status + nginx from status.d.
    assert_eq!(s.packages.iter().filter(|p| p.kind == "deb").count(), 748);
    // nginx is owned by its deb: no classifier finding; busybox is not owned.
    let bins: Vec<&str> = s.packages.iter().filter(|p| p.kind == "binary").map(|p| p.name.as_str()).collect();
    assert_eq!(bins, ["busybox"]);
    let nginx = s.packages.iter().find(|p| p.name == "nginx").unwrap();
    assert_eq!(
        nginx.purl.as_deref(),
        Some("pkg:deb/debian/nginx@1.26.3-3%2Bdeb13u1?arch=amd64&distro=debian-13&upstream=nginx")
    );
    assert_eq!(nginx.locations[0].layer.as_deref(), Some(s.source.layers[0].as_str()));
    assert_eq!(s.distro.as_ref().unwrap().version_id.as_deref(), Some("13"));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn all_sources_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let layers = || [layer_gzip(base_layer()), layer_plain(top_layer())];
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &layers());
    let reference = names(&scan(&format!("oci-dir:{}", dir.display())));
    // zstd layers.
    let zdir = tmp.path().join("oci-zstd");
    oci_layout(&zdir, &[layer_zstd(base_layer()), layer_zstd(top_layer())]);
    assert_eq!(names(&scan(&format!("oci-dir:{}", zdir.display()))), reference);
    // The same layout as a tar, named explicitly and detected.
    let archive = tmp.path().join("oci.tar");
    tar_dir(&dir, &archive);
    assert_eq!(names(&scan(&format!("oci-archive:{}", archive.display()))), reference);
    assert_eq!(names(&scan(&archive.display().to_string())), reference);
    assert_eq!(names(&scan(&dir.display().to_string())), reference);
    // docker save layout.
    let docker = tmp.path().join("docker.tar");
    docker_archive(&docker, &layers());
    assert_eq!(names(&scan(&format!("docker-archive:{}", docker.display()))), reference);
    assert_eq!(names(&scan(&docker.display().to_string())), reference);
}

#[test]
fn platform_is_selected_from_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("multi");
    let amd =
        layer_gzip(tar(&[E::File("a/node_modules/amd/package.json", br#"{"name":"amd","version":"1.0.0"}"#, 0o644)]));
    let arm =
        layer_gzip(tar(&[E::File("a/node_modules/arm/package.json", br#"{"name":"arm","version":"1.0.0"}"#, 0o644)]));
    oci_multiarch(&dir, &[("amd64", vec![amd]), ("arm64", vec![arm])]);
    let src = Source::parse(&format!("oci-dir:{}", dir.display())).unwrap();
    for (p, want) in [("linux/amd64", "amd"), ("linux/arm64", "arm")] {
        let opts = OpenOptions { platform: Some(Platform::parse(p).unwrap()), ..OpenOptions::default() };
        let s = sbom::generate(&src.open(&opts).unwrap(), &GenerateOptions::default()).unwrap();
        assert_eq!(s.packages[0].name, want);
    }
    let opts = OpenOptions { platform: Some(Platform::parse("linux/s390x").unwrap()), ..OpenOptions::default() };
    let err = src.open(&opts).unwrap_err().to_string();
    assert!(err.contains("no manifest for platform linux/s390x") && err.contains("linux/arm64"), "{err}");
}

#[test]
fn malformed_inputs_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = gzip(&base_layer());
    // Truncated gzip layer.
    let dir = tmp.path().join("trunc");
    let truncated = good[..good.len() / 2].to_vec();
    oci_layout(
        &dir,
        &[Layer { tar: vec![], blob: truncated, media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }],
    );
    let e = scan_err(&format!("oci-dir:{}", dir.display()), Limits::default());
    assert!(
        e.contains("layer sha256:")
            && (e.contains("truncated or corrupt tar") || e.contains("incomplete deflate stream")),
        "{e}"
    );
    // Bad gzip (valid magic, garbage after).
    let dir = tmp.path().join("badgz");
    let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bad.extend_from_slice(&[0xff; 100]);
    oci_layout(&dir, &[Layer { tar: vec![], blob: bad, media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }]);
    let e = scan_err(&format!("oci-dir:{}", dir.display()), Limits::default());
    assert!(e.contains("layer sha256:"), "{e}");
    // Decompression bomb: 16 MiB of zeros, refused at a 100:1 ratio limit.
    let dir = tmp.path().join("bomb");
    let zeros = vec![0u8; 16 << 20];
    let bomb_tar = tar(&[E::File("zeros", &zeros, 0o644)]);
    drop(zeros);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &bomb_tar).unwrap();
    drop(bomb_tar);
    oci_layout(
        &dir,
        &[Layer { tar: vec![], blob: gz.finish().unwrap(), media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }],
    );
    let e = scan_err(&format!("oci-dir:{}", dir.display()), Limits { max_ratio: 100, ..Limits::default() });
    assert!(e.contains("decompression ratio exceeds"), "{e}");
    // Missing blob, bad index, bad source names.
    let dir = tmp.path().join("noblob");
    oci_layout(&dir, &[layer_plain(top_layer())]);
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let p = entry.unwrap().path();
        if std::fs::read(&p).unwrap().starts_with(b"opt/") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let e = scan_err(&format!("oci-dir:{}", dir.display()), Limits::default());
    assert!(e.contains("cannot read"), "{e}");
    std::fs::write(dir.join("index.json"), b"{not json").unwrap();
    let e = scan_err(&format!("oci-dir:{}", dir.display()), Limits::default());
    assert!(e.contains("malformed index.json"), "{e}");
    assert!(Source::parse("nosuch:thing").is_err());
    assert!(Source::parse("oci-dir:").is_err());
    // Corrupt dpkg status: a warning, not a failure; other packages still found.
    let dir = tmp.path().join("corrupt");
    oci_layout(
        &dir,
        &[layer_plain(tar(&[
            E::File("var/lib/dpkg/status", b"\x00\x01 garbage\n\nnot: a package\n", 0o644),
            E::File("x/node_modules/a/package.json", br#"{"name":"a","version":"1.0.0"}"#, 0o644),
        ]))],
    );
    let s = scan(&format!("oci-dir:{}", dir.display()));
    assert_eq!(s.packages.len(), 1);
    assert!(s.warnings[0].contains("/var/lib/dpkg/status"), "{:?}", s.warnings);
}

/// Many tiny files: the walk completes; the entry limit gives a clear error.
#[test]
fn many_tiny_files() {
    let n: usize = std::env::var("ARMORRED_TINY_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for i in 0..n {
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("d{}/f{i}", i % 1000), &b"x"[..]).unwrap();
    }
    let blob = b.into_inner().unwrap().finish().unwrap();
    let dir = tmp.path().join("tiny");
    oci_layout(&dir, &[Layer { tar: vec![], blob, media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }]);
    let src = format!("oci-dir:{}", dir.display());
    let s = scan(&src);
    assert!(s.packages.is_empty());
    let image = Source::parse(&src).unwrap().open(&OpenOptions::default()).unwrap();
    let limits = Limits { max_entries: 1000, ..Limits::default() };
    assert_eq!(image.tree(&Limits::default()).unwrap().len(), n);
    let e = scan_err(&src, limits);
    assert!(e.contains("more than 1000 files"), "{e}");
}

fn validate(schema: &Path, doc: &Path) {
    if !have_tool("python3", &["-c", "import jsonschema, referencing"]) {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate_schema.py");
    let out = std::process::Command::new("python3").arg(script).arg(schema).arg(doc).output().unwrap();
    assert!(
        out.status.success(),
        "{} does not validate against {}:\n{}{}",
        doc.display(),
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn encode(s: &Sbom, f: Format) -> String {
    let mut out = Vec::new();
    format::write(s, f, &Timestamp::Image, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn small_image(tmp: &Path) -> String {
    let dir = tmp.join("small");
    let os = os_release();
    let py = python_meta();
    let base = tar(&[
        E::File("etc/os-release", &os, 0o644),
        E::File("var/lib/dpkg/status.d/nginx", NGINX_STATUS, 0o644),
        E::File("var/lib/dpkg/status.d/libc6", b"Package: libc6\nVersion: 2.41-12\nArchitecture: amd64\nSource: glibc\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n", 0o644),
        E::File("var/lib/dpkg/status.d/nginx.md5sums", NGINX_MD5, 0o644),
        E::File("usr/share/doc/libc6/copyright", b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: LGPL-2.1+\n", 0o644),
        E::File("usr/sbin/nginx", FAKE_NGINX, 0o755),
        E::File("usr/local/bin/busybox", FAKE_BUSYBOX, 0o755),
        E::File("usr/lib/python3/dist-packages/requests-2.34.2.dist-info/METADATA", &py, 0o644),
        E::File("srv/node_modules/@babel/core/package.json", br#"{"name":"@babel/core","version":"7.24.0","license":"MIT"}"#, 0o644),
    ]);
    oci_layout(&dir, &[layer_plain(base)]);
    format!("oci-dir:{}", dir.display())
}

/// Golden snapshots of every format, on an image built in the test (deterministic: fixed
/// tar times, gzip without mtime, config `created`). Paths of the temp dir are redacted.
#[test]
fn golden_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let src = small_image(tmp.path());
    let mut s = scan(&src);
    s.source.name = "oci-dir:small".into();
    for f in [Format::CycloneDxJson, Format::SpdxJson, Format::Table, Format::Json] {
        let a = encode(&s, f);
        assert_eq!(a, encode(&s, f), "{} is not deterministic", f.name());
        insta::assert_snapshot!(format!("small-{}", f.name()), a);
    }
}

#[test]
fn outputs_validate_against_official_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let cdx_schema = shared_data().join("cyclonedx/specification/schema/bom-1.6.schema.json");
    let spdx_schema = shared_data().join("spdx/spdx-2.3/schemas/spdx-schema.json");
    let small = scan(&small_image(tmp.path()));
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    let big = scan(&format!("oci-dir:{}", dir.display()));
    let empty = Sbom::default();
    for (i, s) in [small, big, empty].iter().enumerate() {
        for ts in [Timestamp::Image, Timestamp::Now] {
            let cdx = tmp.path().join(format!("{i}.cdx.json"));
            let spdx = tmp.path().join(format!("{i}.spdx.json"));
            let mut w = Vec::new();
            format::write(s, Format::CycloneDxJson, &ts, &mut w).unwrap();
            std::fs::write(&cdx, &w).unwrap();
            let mut w = Vec::new();
            format::write(s, Format::SpdxJson, &ts, &mut w).unwrap();
            std::fs::write(&spdx, &w).unwrap();
            validate(&cdx_schema, &cdx);
            validate(&spdx_schema, &spdx);
        }
    }
}

#[test]
fn cyclonedx_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    let s = scan(&format!("oci-dir:{}", dir.display()));
    let text = encode(&s, Format::CycloneDxJson);
    let back = cyclonedx::read(text.as_bytes(), "round trip").unwrap();
    assert_eq!(back.packages, s.packages);
    assert_eq!(back.distro, s.distro);
    assert_eq!(back.source, s.source);
    // So the image and its SBOM file scan (and report each package, facts included) the same.
    let scanned = armorred::vuln::sbom::from_sbom(&s);
    assert!(scanned.iter().any(|p| !p.facts.locations.is_empty() && !p.facts.metadata.is_empty()));
    assert_eq!(armorred::vuln::sbom::from_sbom(&back), scanned);
    // And the native JSON, through the format-detecting reader too.
    let native = encode(&s, Format::Json);
    assert_eq!(format::json::read(native.as_bytes(), "native").unwrap(), s);
    assert_eq!(sbom::read_document(native.as_bytes(), "native").unwrap(), s);
    assert_eq!(sbom::read_document(text.as_bytes(), "cdx").unwrap().packages, s.packages);
    let spdx = encode(&s, Format::SpdxJson);
    assert!(sbom::read_document(spdx.as_bytes(), "spdx").is_err());
}

/// The official CycloneDX 1.6 test vectors: the reader never panics, accepts every valid one.
#[test]
fn cyclonedx_reader_on_official_vectors() {
    let dir = shared_data().join("cyclonedx/specification/tools/src/test/resources/1.6");
    let mut valid = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let got = cyclonedx::read(&bytes, &name);
        if name.starts_with("valid-") {
            got.unwrap_or_else(|e| panic!("{name}: {e}"));
            valid += 1;
        }
    }
    assert!(valid > 40, "only {valid} valid vectors found in {}", dir.display());
    // syft's own CycloneDX documents read too (syft: properties).
    let syft = shared_data().join("anchore-fixtures/syft/syft/format/cyclonedxjson/testdata/identify/1.6.json");
    let s = cyclonedx::read(&std::fs::read(syft).unwrap(), "syft 1.6").unwrap();
    assert!(!s.packages.is_empty());
}

fn syft_packages(src: &str) -> Option<BTreeSet<(String, String, String)>> {
    if !have_tool("syft", &["version"]) {
        return None;
    }
    let out = std::process::Command::new("syft")
        .args(["-q", "-o", "cyclonedx-json", src])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .env("SYFT_REGISTRY_INSECURE_USE_HTTP", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "syft failed: {}", String::from_utf8_lossy(&out.stderr));
    let s = cyclonedx::read(&out.stdout, "syft output").unwrap();
    Some(names(&s))
}

/// Known, documented differences (docs/sbom-differences.md): none on these images.
fn compare_with_syft(ours: &Sbom, src: &str) {
    let Some(theirs) = syft_packages(src) else {
        return;
    };
    let ours = names(ours);
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_syft: Vec<_> = theirs.difference(&ours).collect();
    assert!(only_ours.is_empty() && only_syft.is_empty(), "{src}: only ours {only_ours:#?}\nonly syft {only_syft:#?}");
}

#[test]
fn same_packages_as_syft_on_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write_dir_tree(&root);
    let src = format!("dir:{}", root.display());
    let s = scan(&src);
    assert_eq!(s.packages.len(), 747 + 1 + 1 + 1);
    compare_with_syft(&s, &src);
}

#[test]
fn same_packages_as_syft_on_an_oci_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    let src = format!("oci-dir:{}", dir.display());
    compare_with_syft(&scan(&src), &src);
}

fn start_registry() -> Option<support::registry::Registry> {
    support::registry::Registry::start()
}

/// Pushes every blob of an OCI layout and its (single) manifest as `repo:tag`.
fn push(layout: &Path, addr: &str, repo: &str, tag: &str) {
    for entry in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let digest = format!("sha256:{}", path.file_name().unwrap().to_string_lossy());
        let resp = ureq::post(&format!("http://{addr}/v2/{repo}/blobs/uploads/")).call().unwrap();
        let loc = resp.header("location").unwrap().to_string();
        let loc = if loc.starts_with("http") { loc } else { format!("http://{addr}{loc}") };
        let sep = if loc.contains('?') { '&' } else { '?' };
        ureq::put(&format!("{loc}{sep}digest={digest}"))
            .set("Content-Type", "application/octet-stream")
            .send_bytes(&std::fs::read(&path).unwrap())
            .unwrap();
    }
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let d = index["manifests"][0]["digest"].as_str().unwrap();
    let m = std::fs::read(layout.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    ureq::put(&format!("http://{addr}/v2/{repo}/manifests/{tag}"))
        .set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send_bytes(&m)
        .unwrap();
}

#[test]
fn registry_source_over_loopback_http() {
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let digest = oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    push(&dir, &reg.addr, "armorred/test", "v1");
    let local = scan(&format!("oci-dir:{}", dir.display()));
    let remote = scan(&format!("registry:{}/armorred/test:v1", reg.addr));
    assert_eq!(remote.source.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(names(&remote), names(&local));
    let by_digest = scan(&format!("registry:{}/armorred/test@{digest}", reg.addr));
    assert_eq!(names(&by_digest), names(&local));
    let err = Source::parse(&format!("registry:{}/armorred/nope:v1", reg.addr))
        .unwrap()
        .open(&OpenOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 404"), "{err}");
    // syft reads the same image from the registry, and describes it as we do.
    if have_tool("syft", &["version"]) {
        let src = format!("registry:{}/armorred/test:v1", reg.addr);
        compare_with_syft(&remote, &src);
        let doc = syft_json(&src).unwrap();
        assert_image_source_is_syfts(&src, &doc, &[]);
    }
}

/// A docker archive's image source against syft's.
#[test]
fn docker_archive_source_is_syfts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("image.tar");
    docker_archive(&file, &[layer_plain(base_layer()), layer_plain(top_layer())]);
    let src = format!("docker-archive:{}", file.display());
    let Some(doc) = syft_json(&src) else {
        return;
    };
    assert_image_source_is_syfts(&src, &doc, &[]);
}

/// Binaries over 64 MiB are scanned in overlapping windows: a version string straddling a
/// window boundary is still found, and memory stays bounded.
#[test]
fn big_binaries_are_scanned_in_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    let mut data = vec![0u8; (65 << 20) + 100];
    data[..4].copy_from_slice(b"\x7fELF");
    let needle = b"\0nginx/1.27.3\0";
    let at = (16 << 20) - 5;
    data[at..at + needle.len()].copy_from_slice(needle);
    let path = root.join("usr/sbin/nginx");
    std::fs::write(&path, &data).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = scan(&format!("dir:{}", root.display()));
    let got: Vec<_> = s.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
    assert_eq!(got, [("nginx", "1.27.3")]);
}

/// A source-built binary with an ELF package note (as ARMORRED's builder writes them), compiled
/// here with gcc: both tools report it through the note, with the same purl.
#[test]
fn package_note_of_a_source_built_binary() {
    if !have_tool("gcc", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let desc = r#"{"type":"deb","os":"debian","osVersion":"13","name":"nginx","version":"1.26.3-3+armorred1","architecture":"amd64","license":"BSD-2-Clause"}"#;
    let root = tmp.path().join("root");
    elf_with_note(&root.join("usr/sbin/nginx"), desc, tmp.path());
    let src = format!("dir:{}", root.display());
    let s = scan(&src);
    let got: Vec<_> = s.packages.iter().map(|p| (p.kind.as_str(), p.purl.as_deref().unwrap_or(""))).collect();
    assert_eq!(got, [("deb", "pkg:deb/debian/nginx@1.26.3-3%2Barmorred1?distro=debian-13")]);
    compare_with_syft(&s, &src);
}

/// Runs syft with `args` (no update check); `None` when syft is missing (a failure under
/// `ARMORRED_REQUIRE_TOOLS=1`).
fn syft(args: &[&str]) -> Option<Vec<u8>> {
    if !have_tool("syft", &["version"]) {
        return None;
    }
    let out = std::process::Command::new("syft").args(args).env("SYFT_CHECK_FOR_APP_UPDATE", "false").output().unwrap();
    assert!(out.status.success(), "syft {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout)
}

/// Every Debian package of a real status file (747 packages) carries the CPEs syft generates,
/// in syft's order (`cpe`, then the `syft:cpe23` properties).
#[test]
fn same_cpes_as_syft_on_debian_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write_dir_tree(&root);
    let src = format!("dir:{}", root.display());
    let ours = scan(&src);
    let Some(out) = syft(&["-q", "-o", "cyclonedx-json", &src]) else {
        return;
    };
    let theirs = cyclonedx::read(&out, "syft output").unwrap();
    let debs = |s: &Sbom| -> Vec<(String, String, Vec<String>)> {
        let mut v: Vec<_> = s
            .packages
            .iter()
            .filter(|p| p.kind == "deb")
            .map(|p| (p.name.clone(), p.version.clone(), p.cpes.clone()))
            .collect();
        v.sort();
        v
    };
    let (ours, theirs) = (debs(&ours), debs(&theirs));
    assert_eq!(ours.len(), 748);
    let differ: Vec<_> = ours.iter().zip(&theirs).filter(|(a, b)| a != b).take(5).collect();
    assert!(differ.is_empty() && ours.len() == theirs.len(), "ours vs syft: {differ:#?}");
}

/// `syft convert` of our CycloneDX keeps every package with its type, cataloger, locations and
/// metadata type; a source-built binary known by its ELF package note stays a binary package
/// (not an unknown one).
#[test]
fn syft_convert_keeps_every_package() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = scan(&small_image(tmp.path()));
    if have_tool("gcc", &["--version"]) {
        // The note of the locked tier's source-built nginx (not a Debian package: a generic one).
        let note = r#"{"type":"source","name":"nginx","version":"1.26.3","license":"BSD-2-Clause","architecture":"amd64","cpe":"cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*","debianSource":"nginx","debianSourceVersion":"1.26.3-3+deb13u7"}"#;
        let root = tmp.path().join("noted");
        elf_with_note(&root.join("usr/sbin/nginx"), note, tmp.path());
        let built = scan(&format!("dir:{}", root.display()));
        assert_eq!(built.packages.len(), 1, "{:?}", built.packages);
        s.packages.extend(built.packages);
    }
    let file = tmp.path().join("ours.cdx.json");
    std::fs::write(&file, encode(&s, Format::CycloneDxJson)).unwrap();
    let Some(out) = syft(&["convert", file.to_str().unwrap(), "-o", "syft-json"]) else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let artifacts = doc["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), s.packages.len(), "{artifacts:#?}");
    for p in &s.packages {
        let a = artifacts
            .iter()
            .find(|a| a["name"] == p.name.as_str() && a["version"] == p.version.as_str())
            .unwrap_or_else(|| panic!("{} {} lost", p.name, p.version));
        let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        assert_eq!((text("type"), text("foundBy")), (p.kind.clone(), p.found_by.clone()), "{a:#}");
        assert_eq!(text("language"), armorred::sbom::catalog::language(&p.kind), "{a:#}");
        let paths: Vec<&str> =
            a["locations"].as_array().into_iter().flatten().filter_map(|l| l["path"].as_str()).collect();
        let layers: Vec<&str> =
            a["locations"].as_array().into_iter().flatten().filter_map(|l| l["layerID"].as_str()).collect();
        assert_eq!(paths, p.locations.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), "{a:#}");
        assert_eq!(layers, p.locations.iter().filter_map(|l| l.layer.as_deref()).collect::<Vec<_>>(), "{a:#}");
        assert_eq!(Some(text("metadataType").as_str()), armorred::sbom::catalog::metadata_type(&p.found_by), "{a:#}");
        assert!(a["metadata"].is_object(), "{a:#}");
        if p.kind == "deb" {
            let source = p.source_package.as_ref().map(|s| s.name.as_str()).unwrap_or_default();
            assert_eq!(a["metadata"]["source"], source, "{a:#}");
            let maintainer = p.metadata.get("maintainer").map(String::as_str).unwrap_or_default();
            assert_eq!(a["metadata"]["maintainer"], maintainer, "{a:#}");
        }
        assert_eq!(a["cpes"].as_array().map(Vec::len), Some(p.cpes.len()), "{a:#}");
    }
}

/// Compiles (gcc) a program carrying an ELF `.note.package` with `json` to `path`.
fn elf_with_note(path: &Path, json: &str, scratch: &Path) {
    let n = json.len() + 1;
    let c = format!(
        "struct note {{ unsigned namesz, descsz, type; char name[4]; char desc[{}]; }};\n\
         __attribute__((section(\".note.package,\\\"a\\\",@note #\"), aligned(4), used))\n\
         static const struct note package_note = {{ 4, {n}, 0xcafe1a7e, \"FDO\", {} }};\n\
         int main(void) {{ return 0; }}\n",
        n.div_ceil(4) * 4,
        serde_json::to_string(json).unwrap()
    );
    let src = scratch.join("note.c");
    std::fs::write(&src, c).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = std::process::Command::new("gcc").arg("-o").arg(path).arg(&src).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// syft's JSON of `src` (`None` when syft is missing).
fn syft_json(src: &str) -> Option<serde_json::Value> {
    let out = syft(&["-q", "-o", "syft-json", src])?;
    Some(serde_json::from_slice(&out).unwrap())
}

/// The scan JSON's image `source` target of `src` against syft's image metadata in `doc`, field
/// by field, the fields of `differ` left out (each a known difference; see the callers).
fn assert_image_source_is_syfts(src: &str, doc: &serde_json::Value, differ: &[&str]) {
    use armorred::vuln::report::ScanSource;
    let ScanSource::Image(t) = armorred::vuln::sbom::catalogue(src, None).unwrap().source else {
        panic!("{src}: not an image source");
    };
    let m = &doc["source"]["metadata"];
    let text = |k: &str| serde_json::json!(m[k].as_str().unwrap_or_default());
    let b64 = |k: &str| {
        use base64::Engine as _;
        serde_json::json!(m[k].as_str().map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap()))
    };
    let layers = |v: &serde_json::Value| -> serde_json::Value {
        v.as_array().unwrap().iter().map(|l| serde_json::json!([l["mediaType"], l["digest"]])).collect()
    };
    let ours_layers: serde_json::Value = t.layers.iter().map(|l| serde_json::json!([l.media_type, l.digest])).collect();
    let fields = [
        ("userInput", serde_json::json!(t.user_input), text("userInput")),
        ("imageID", serde_json::json!(t.image_id), text("imageID")),
        ("manifestDigest", serde_json::json!(t.manifest_digest), text("manifestDigest")),
        ("mediaType", serde_json::json!(t.media_type), text("mediaType")),
        ("tags", serde_json::json!(t.tags), m["tags"].clone()),
        ("repoDigests", serde_json::json!(t.repo_digests), m["repoDigests"].clone()),
        ("manifest", serde_json::json!(t.manifest), b64("manifest")),
        ("config", serde_json::json!(t.config), b64("config")),
        ("layers", ours_layers, layers(&m["layers"])),
    ];
    for (name, ours, theirs) in fields {
        if differ.contains(&name) {
            assert_ne!(ours, theirs, "{src}: {name} is no longer a difference: drop it from the list");
        } else {
            assert_eq!(ours, theirs, "{src}: {name}");
        }
    }
}

/// Layer IDs are diff IDs (the sha256 of the uncompressed tar), as syft gives them. On a
/// two-layer image whose lower layer is gzip (its blob digest is not its diff ID): the SBOM's
/// location layer IDs, its source layers, and the scan JSON's `source` are syft's own on the
/// same image (real syft). syft's `imageSize` and layer `size` (the sum of the file sizes in a
/// layer), and its empty `architecture`/`os` for a single-platform layout, are the known
/// differences (docs/vulnerability-scanning.md).
#[test]
fn layer_ids_and_image_source_are_syfts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_gzip(base_layer()), layer_plain(top_layer())]);
    let src = format!("oci-dir:{}", dir.display());
    let image = Source::parse(&src).unwrap().open(&OpenOptions::default()).unwrap();
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone().unwrap()).collect();
    assert_ne!(image.layers[0].digest, diff_ids[0], "the gzip layer's blob digest is not its diff ID");
    assert_eq!(image.layers[1].digest, diff_ids[1], "an uncompressed layer's blob is its tar");
    let ours = scan(&src);
    assert_eq!(ours.source.layers, diff_ids);
    let nginx = ours.packages.iter().find(|p| p.name == "nginx").unwrap();
    assert_eq!(nginx.locations[0].layer.as_deref(), Some(diff_ids[0].as_str()));
    let Some(doc) = syft_json(&src) else {
        return;
    };
    // Every location both tools report is in the same layer, and both layers have some.
    let mut theirs = std::collections::BTreeMap::new();
    for a in doc["artifacts"].as_array().unwrap() {
        for l in a["locations"].as_array().into_iter().flatten() {
            theirs.insert(l["path"].as_str().unwrap().to_string(), l["layerID"].as_str().unwrap().to_string());
        }
    }
    let mut common = BTreeSet::new();
    for l in ours.packages.iter().flat_map(|p| &p.locations) {
        if let Some(t) = theirs.get(&l.path) {
            assert_eq!(l.layer.as_ref(), Some(t), "{}", l.path);
            common.insert(t.clone());
        }
    }
    assert_eq!(common.into_iter().collect::<Vec<_>>(), diff_ids, "both layers hold packages both tools find");
    assert_image_source_is_syfts(&src, &doc, &[]);
}

/// A Debian root with one package per copyright file of `docs` (`usr/share/doc/NAME/copyright`
/// under it): a status file listing them, and each copyright file where dpkg puts it.
fn debian_root_with_copyrights(root: &Path, docs: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(docs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| docs.join(n).join("copyright").is_file())
        .collect();
    names.sort();
    let mut status = String::new();
    for n in &names {
        status.push_str(&format!(
            "Package: {n}\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Debian <debian@127.0.0.1>\n\n"
        ));
        let dir = root.join("usr/share/doc").join(n);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(docs.join(n).join("copyright"), dir.join("copyright")).unwrap();
    }
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), os_release()).unwrap();
    names
}

/// Each Debian package's licences, as a CycloneDX and an SPDX document write them.
fn deb_licences(cdx: &[u8], spdx: &[u8]) -> BTreeSet<(String, String, String)> {
    let cdx: serde_json::Value = serde_json::from_slice(cdx).unwrap();
    let spdx: serde_json::Value = serde_json::from_slice(spdx).unwrap();
    let mut out = BTreeSet::new();
    for c in cdx["components"].as_array().unwrap() {
        if c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:deb/")) {
            let name = c["name"].as_str().unwrap().to_string();
            let spdx_declared = spdx["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == c["name"] && p["versionInfo"] == c["version"])
                .map(|p| format!("{} / {}", p["licenseDeclared"], p["licenseConcluded"]))
                .unwrap_or_default();
            out.insert((name, c["licenses"].to_string(), spdx_declared));
        }
    }
    out
}

/// Our licences of Debian packages equal syft's, in CycloneDX (`license.id` for the names
/// syft maps to SPDX ids, else `license.name`, in syft's order) and in SPDX (`licenseDeclared`
/// with `LicenseRef-`s, `licenseConcluded` NOASSERTION): on syft's own copyright fixtures and
/// on the copyright files of a built nginx image (`testdata/sbom/dpkg-copyright-trixie`).
#[test]
fn same_licences_as_syft_on_debian_copyright_files() {
    for docs in ["dpkg/syft-copyright/usr/share/doc", "dpkg-copyright-trixie/usr/share/doc"] {
        let docs = testdata().join(docs);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let names = debian_root_with_copyrights(&root, &docs);
        let src = format!("dir:{}", root.display());
        let ours = scan(&src);
        let ours =
            deb_licences(encode(&ours, Format::CycloneDxJson).as_bytes(), encode(&ours, Format::SpdxJson).as_bytes());
        assert_eq!(ours.len(), names.len(), "{}", docs.display());
        let (Some(cdx), Some(spdx)) =
            (syft(&["-q", "-o", "cyclonedx-json", &src]), syft(&["-q", "-o", "spdx-json", &src]))
        else {
            return;
        };
        let theirs = deb_licences(&cdx, &spdx);
        let only_ours: Vec<_> = ours.difference(&theirs).collect();
        let only_syft: Vec<_> = theirs.difference(&ours).collect();
        assert!(only_ours.is_empty() && only_syft.is_empty(), "only ours {only_ours:#?}\nonly syft {only_syft:#?}");
    }
}

/// The NTIA / EO 14028 and CRA (BSI TR-03183-2) minimum elements, each where `docs/sbom.md`
/// says, on an image with Debian packages (status, copyright file) and a source-built binary
/// (an ELF package note, compiled here with gcc).
#[test]
fn minimum_elements_on_a_debian_image() {
    if !have_tool("gcc", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let desc = r#"{"type":"deb","os":"debian","osVersion":"13","name":"nginx","version":"1.26.3-3+armorred1","architecture":"amd64","license":"BSD-2-Clause"}"#;
    let elf = tmp.path().join("elf/nginx");
    elf_with_note(&elf, desc, tmp.path());
    let elf = std::fs::read(&elf).unwrap();
    let os = os_release();
    let copyright = std::fs::read(testdata().join("dpkg/syft-copyright/usr/share/doc/libc6/copyright")).unwrap();
    let base = tar(&[
        E::File("etc/os-release", &os, 0o644),
        E::File("var/lib/dpkg/status.d/libc6", b"Package: libc6\nVersion: 2.41-12\nArchitecture: amd64\nSource: glibc\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n", 0o644),
        E::File("var/lib/dpkg/status.d/libssl3t64", b"Package: libssl3t64\nVersion: 3.5.1-1\nArchitecture: amd64\nSource: openssl\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nDepends: libc6 (>= 2.38)\n", 0o644),
        E::File("usr/share/doc/libc6/copyright", &copyright, 0o644),
        E::File("usr/share/doc/libssl3t64/copyright", b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Apache-2.0\n", 0o644),
        E::File("usr/sbin/nginx", &elf, 0o755),
    ]);
    let dir = tmp.path().join("img");
    oci_layout(&dir, &[layer_plain(base)]);
    let s = scan(&format!("oci-dir:{}", dir.display()));
    let cdx: serde_json::Value = serde_json::from_str(&encode(&s, Format::CycloneDxJson)).unwrap();
    let spdx: serde_json::Value = serde_json::from_str(&encode(&s, Format::SpdxJson)).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();

    // Author of the SBOM data, tool, timestamp, subject.
    let meta = &cdx["metadata"];
    assert_eq!(text(&meta["authors"][0]["name"]), "armorred");
    assert!(!text(&meta["tools"]["components"][0]["version"]).is_empty());
    assert!(text(&meta["timestamp"]).ends_with('Z'), "{meta}");
    assert!(text(&meta["component"]["version"]).starts_with("sha256:"));
    assert!(text(&cdx["serialNumber"]).starts_with("urn:uuid:"));
    let creators = spdx["creationInfo"]["creators"].as_array().unwrap();
    assert!(
        creators.iter().any(|c| text(c).starts_with("Organization: "))
            && creators.iter().any(|c| text(c).starts_with("Tool: "))
    );
    assert_eq!(spdx["creationInfo"]["created"], meta["timestamp"]);

    let comps = cdx["components"].as_array().unwrap();
    let comp = |name: &str| comps.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}: {cdx}"));
    let spdx_pkg =
        |name: &str| spdx["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone();
    for name in ["libc6", "libssl3t64"] {
        let c = comp(name);
        // Supplier, name, version, unique identifiers, licence.
        assert_eq!(text(&c["supplier"]["name"]), "Debian", "{c}");
        assert!(!text(&c["publisher"]).is_empty());
        assert!(!text(&c["version"]).is_empty());
        assert!(text(&c["purl"]).starts_with(&format!("pkg:deb/debian/{name}@")), "{c}");
        assert!(text(&c["cpe"]).starts_with("cpe:2.3:"), "{c}");
        assert!(!c["licenses"].as_array().unwrap().is_empty(), "{c}");
        let p = spdx_pkg(name);
        assert!(text(&p["supplier"]).starts_with("Person: "));
        assert_ne!(text(&p["licenseDeclared"]), "NOASSERTION", "{p}");
        let refs = p["externalRefs"].as_array().unwrap();
        assert!(
            refs.iter().any(|r| r["referenceType"] == "purl") && refs.iter().any(|r| r["referenceType"] == "cpe23Type")
        );
    }
    assert_eq!(comp("libssl3t64")["licenses"], serde_json::json!([{"license": {"id": "Apache-2.0"}}]));
    // Dependencies: libssl3t64 -> libc6, in both formats.
    let ssl = text(&comp("libssl3t64")["bom-ref"]);
    let libc = text(&comp("libc6")["bom-ref"]);
    let deps = cdx["dependencies"].as_array().unwrap();
    assert!(
        deps.iter()
            .any(|d| text(&d["ref"]) == ssl && d["dependsOn"].as_array().unwrap().iter().any(|x| text(x) == libc)),
        "{deps:?}"
    );
    let rels = spdx["relationships"].as_array().unwrap();
    assert!(rels.iter().any(|r| r["relationshipType"] == "DEPENDS_ON"));
    // Hash of the executable: the source-built binary's own SHA-256.
    let nginx = comp("nginx");
    use sha2::Digest;
    let want = format!("{:x}", sha2::Sha256::digest(&elf));
    assert_eq!(nginx["hashes"], serde_json::json!([{"alg": "SHA-256", "content": want}]), "{nginx}");
    assert!(nginx.get("supplier").is_none(), "the distribution did not build it: {nginx}");
    assert_eq!(spdx_pkg("nginx")["checksums"], serde_json::json!([{"algorithm": "SHA256", "checksumValue": want}]));
    // The document stays valid CycloneDX 1.6 and SPDX 2.3.
    let file = tmp.path().join("bom.cdx.json");
    std::fs::write(&file, encode(&s, Format::CycloneDxJson)).unwrap();
    validate(&shared_data().join("cyclonedx/specification/schema/bom-1.6.schema.json"), &file);
    let file = tmp.path().join("bom.spdx.json");
    std::fs::write(&file, encode(&s, Format::SpdxJson)).unwrap();
    validate(&shared_data().join("spdx/spdx-2.3/schemas/spdx-schema.json"), &file);
}
