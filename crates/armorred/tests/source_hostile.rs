//! Hostile images against the image reader (issue 12, items 4, 7, 9, 10, 11, 14): each test
//! builds the reproduction (a tampered blob, a huge tar header, a FIFO, a lying registry) and
//! checks how it now ends. Fast, no network beyond loopback, small memory.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use armorred::fstree::{Entry, EntryKind};
use armorred::sbom::{self, GenerateOptions, Sbom};
use armorred::source::{Image, Limits, OpenOptions, Source};
use support::*;

const STATUS: &[u8] = b"Package: hidden\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\nSource: hidden\nMaintainer: Nobody <nobody@example.org>\n\n";

fn open(src: &str) -> Result<Image, String> {
    Source::parse(src).and_then(|s| s.open(&OpenOptions::default())).map_err(|e| error_chain(&e))
}

fn open_with(src: &str, limits: Limits) -> Result<Image, String> {
    Source::parse(src)
        .and_then(|s| s.open(&OpenOptions { limits, ..OpenOptions::default() }))
        .map_err(|e| error_chain(&e))
}

fn generate(image: &Image, limits: Limits) -> Result<Sbom, String> {
    sbom::generate(image, &GenerateOptions { limits }).map_err(|e| error_chain(&e))
}

fn names(s: &Sbom) -> Vec<String> {
    s.packages.iter().map(|p| p.name.clone()).collect()
}

fn blob_file(dir: &Path, data: &[u8]) -> PathBuf {
    dir.join("blobs/sha256").join(digest(data).trim_start_matches("sha256:"))
}

fn status_layer() -> Vec<u8> {
    tar(&[E::Dir("var/lib/dpkg"), E::File("var/lib/dpkg/status", STATUS, 0o644)])
}

/// A tar whose one entry has a raw (unchecked) name, as a hostile tool writes it.
fn raw_name_tar(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

// ---- item 4: digests ----

/// A layer replaced in an OCI layout (same file name, other content) is refused, also after a
/// visitor saw its files: the scan fails, nothing is reported under the pinned digest.
#[test]
fn replaced_layer_in_oci_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let good = status_layer();
    oci_layout(&dir, &[layer_plain(good.clone())]);
    let evil = tar(&[E::File(
        "var/lib/dpkg/status",
        b"Package: evil\nStatus: install ok installed\nVersion: 6.6.6\n\n",
        0o644,
    )]);
    std::fs::write(blob_file(&dir, &good), &evil).unwrap();
    let src = format!("oci-dir:{}", dir.display());
    let image = open(&src).unwrap();
    let e = generate(&image, Limits::default()).unwrap_err();
    assert!(e.contains("layer sha256:") && e.contains("does not verify"), "{e}");
    // The visitor saw the files, the operation still fails.
    let mut seen = 0;
    let r = image.scan(&Limits::default(), &|e: &Entry| e.kind == EntryKind::File, &mut |_, _| {
        seen += 1;
        Ok(())
    });
    assert!(seen > 0 && r.is_err());
    assert!(image.tree(&Limits::default()).is_err());
    // Streaming the raw blob to its end fails too.
    let mut blob = image.open_layer_blob(&image.layers[0]).unwrap();
    assert!(std::io::copy(&mut blob, &mut std::io::sink()).is_err());
}

#[test]
fn replaced_layer_in_oci_archive_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let good = gzip(&status_layer());
    oci_layout(
        &dir,
        &[Layer { tar: vec![], blob: good.clone(), media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }],
    );
    // Same length, other bytes: a flipped byte inside the gzip data.
    let mut evil = good.clone();
    let mid = evil.len() / 2;
    evil[mid] ^= 0x01;
    std::fs::write(blob_file(&dir, &good), &evil).unwrap();
    let archive = tmp.path().join("oci.tar");
    tar_dir(&dir, &archive);
    let image = open(&format!("oci-archive:{}", archive.display())).unwrap();
    let e = generate(&image, Limits::default()).unwrap_err();
    assert!(e.contains("layer sha256:"), "{e}");
    // A blob longer than its descriptor's size is refused as such.
    let mut long = good.clone();
    long.extend_from_slice(&[0u8; 1024]);
    std::fs::write(blob_file(&dir, &good), &long).unwrap();
    let e = generate(&open(&format!("oci-dir:{}", dir.display())).unwrap(), Limits::default()).unwrap_err();
    assert!(e.contains("more than the") && e.contains("bytes its descriptor gives"), "{e}");
}

/// A docker archive whose layer does not hash to the config's diff_id is refused.
#[test]
fn docker_archive_layer_must_match_its_diff_id() {
    let tmp = tempfile::tempdir().unwrap();
    let good = status_layer();
    let evil = tar(&[E::File("var/lib/dpkg/status", b"Package: evil\nVersion: 1\n\n", 0o644)]);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [digest(&good)]}
    }))
    .unwrap();
    let cfg_name = format!("{}.json", digest(&config).trim_start_matches("sha256:"));
    let manifest =
        serde_json::to_vec(&serde_json::json!([{"Config": cfg_name, "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]}]))
            .unwrap();
    let write = |layer: &[u8], config: &[u8], out: &Path| {
        let files = [
            E::File(&cfg_name, config, 0o644),
            E::File("l/layer.tar", layer, 0o644),
            E::File("manifest.json", &manifest, 0o644),
        ];
        std::fs::write(out, tar(&files)).unwrap();
    };
    let ok = tmp.path().join("ok.tar");
    write(&good, &config, &ok);
    let s = generate(&open(&format!("docker-archive:{}", ok.display())).unwrap(), Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
    let bad = tmp.path().join("bad.tar");
    write(&evil, &config, &bad);
    let e = generate(&open(&format!("docker-archive:{}", bad.display())).unwrap(), Limits::default()).unwrap_err();
    assert!(e.contains(&format!("layer {}", digest(&good))) && e.contains("does not verify"), "{e}");
    // A config that is not the one its name pins is refused at open.
    let mut other = config.clone();
    other.push(b' ');
    let renamed = tmp.path().join("cfg.tar");
    write(&good, &other, &renamed);
    let e = open(&format!("docker-archive:{}", renamed.display())).unwrap_err();
    assert!(e.contains("image config") && e.contains("does not verify"), "{e}");
}

#[test]
fn tampered_manifest_and_config_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let manifest_digest = oci_layout(&dir, &[layer_plain(status_layer())]);
    let mpath = dir.join("blobs/sha256").join(manifest_digest.trim_start_matches("sha256:"));
    let manifest = std::fs::read(&mpath).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let cfg_digest = m["config"]["digest"].as_str().unwrap().to_string();
    let cpath = dir.join("blobs/sha256").join(cfg_digest.trim_start_matches("sha256:"));
    let config = std::fs::read(&cpath).unwrap();
    // Same size, other bytes.
    std::fs::write(&cpath, config.iter().map(|b| if *b == b'5' { b'6' } else { *b }).collect::<Vec<_>>()).unwrap();
    let e = open(&format!("oci-dir:{}", dir.display())).unwrap_err();
    assert!(e.contains(&format!("image config {cfg_digest}")) && e.contains("does not verify"), "{e}");
    std::fs::write(&cpath, &config).unwrap();
    let mut evil = manifest.clone();
    evil.push(b'\n');
    std::fs::write(&mpath, &evil).unwrap();
    let e = open(&format!("oci-dir:{}", dir.display())).unwrap_err();
    assert!(e.contains(&format!("manifest {manifest_digest}")) && e.contains("does not verify"), "{e}");
}

/// A blob that is a symbolic link (to a file outside the layout) is never read.
#[test]
fn symlinked_blob_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let layer = status_layer();
    oci_layout(&dir, &[layer_plain(layer.clone())]);
    let outside = tmp.path().join("outside");
    std::fs::write(&outside, &layer).unwrap();
    let blob = blob_file(&dir, &layer);
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let e = generate(&image, Limits::default()).unwrap_err();
    assert!(e.contains("is not a regular file: it is a symbolic link"), "{e}");
    // blobs/sha256 itself a link: refused the same way.
    std::fs::remove_file(&blob).unwrap();
    std::fs::rename(dir.join("blobs/sha256"), tmp.path().join("real")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("real"), dir.join("blobs/sha256")).unwrap();
    let e = open(&format!("oci-dir:{}", dir.display())).unwrap_err();
    assert!(e.contains("is not a regular file: it is a symbolic link"), "{e}");
}

/// An uppercase sha256 is named as such, not shown as a missing blob or a mismatch.
#[test]
fn uppercase_digest_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_plain(status_layer())]);
    let index = std::fs::read_to_string(dir.join("index.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    let d = v["manifests"][0]["digest"].as_str().unwrap();
    let upper = format!("sha256:{}", d.trim_start_matches("sha256:").to_uppercase());
    std::fs::write(dir.join("index.json"), index.replace(d, &upper)).unwrap();
    let e = open(&format!("oci-dir:{}", dir.display())).unwrap_err();
    assert!(e.contains("must be lowercase hex"), "{e}");
    assert!(e.contains(&upper), "{e}");
}

// ---- item 7: header sizes, decompression budget, each blob once ----

/// A GNU long name (or PAX header) declaring a huge size is refused at the header limit,
/// without reading (or allocating) it.
#[test]
fn huge_tar_headers_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, name) in
        [(b'L', "GNU long name"), (b'K', "GNU long link"), (b'x', "PAX header"), (b'g', "PAX global header")]
    {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(512 << 20);
        h.set_mode(0o644);
        h.set_cksum();
        let mut layer = h.as_bytes().to_vec();
        // Only 3 MiB of the declared 512 MiB follow: enough to pass the 1 MiB limit.
        layer.extend(std::iter::repeat_n(b'a', 3 << 20));
        let blob = gzip(&layer);
        let dir = tmp.path().join(format!("h{kind}"));
        oci_layout(&dir, &[Layer { tar: vec![], blob, media_type: "application/vnd.oci.image.layer.v1.tar+gzip" }]);
        let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
        let e = image.tree(&Limits::default()).map(|_| ()).map_err(|e| error_chain(&e)).unwrap_err();
        assert!(e.contains("layer sha256:") && e.contains("over the limit of 1048576 bytes"), "{name}: {e}");
    }
    // The same in an archive's own tar (oci-archive:): refused before any allocation.
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::new(b'L'));
    h.set_size(512 << 20);
    h.set_cksum();
    let mut archive = h.as_bytes().to_vec();
    archive.extend(std::iter::repeat_n(b'a', 2 << 20));
    let path = tmp.path().join("long.tar");
    std::fs::write(&path, &archive).unwrap();
    let e = open(&format!("oci-archive:{}", path.display())).unwrap_err();
    assert!(e.contains("over the limit of 1048576 bytes"), "{e}");
}

/// A long name under the limit still works (GNU and PAX).
#[test]
fn long_names_under_the_limit_are_read() {
    let long = format!("var/{}/dpkg/status", "d".repeat(300));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(STATUS.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, &long, STATUS).unwrap();
    let layer = b.into_inner().unwrap();
    let got = armorred::source::layer::list_entries(&layer, &Limits::default()).unwrap();
    assert_eq!(got[0].path, format!("/{long}"));
}

/// The total decompressed size over all layers is bounded, beside the per-layer bound.
#[test]
fn decompression_budget_per_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let a = tar(&[E::File("a", &vec![1u8; 2 << 20], 0o644)]);
    let b = tar(&[E::File("b", &vec![2u8; 2 << 20], 0o644)]);
    oci_layout(&dir, &[layer_gzip(a), layer_gzip(b)]);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let limits = Limits { max_image_bytes: 3 << 20, ..Limits::default() };
    let e = image.tree(&limits).map(|_| ()).map_err(|e| error_chain(&e)).unwrap_err();
    assert!(e.contains("the image's layers decompress to more than the limit of 3145728 bytes"), "{e}");
    assert!(image.tree(&Limits { max_image_bytes: 5 << 20, ..Limits::default() }).is_ok());
}

/// A manifest listing one layer 200 times inflates it once; a layer listed again above
/// another still wins where it lies (A, B, A: A's files on top).
#[test]
fn repeated_layer_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let big = tar(&[E::File("big", &vec![7u8; 1 << 20], 0o644), E::File("var/lib/dpkg/status", STATUS, 0o644)]);
    let one = layer_gzip(big);
    let layers: Vec<Layer> =
        (0..200).map(|_| Layer { tar: one.tar.clone(), blob: one.blob.clone(), media_type: one.media_type }).collect();
    oci_layout(&dir, &layers);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    assert_eq!(image.layers.len(), 200);
    // 200 reads would be 200 MiB: the budget of 4 MiB allows the tree and the scan.
    let limits = Limits { max_image_bytes: 4 << 20, ..Limits::default() };
    let tree = image.tree(&limits).unwrap();
    assert_eq!(tree.get("/big").unwrap().layer, Some(199));
    let s = generate(&image, limits).unwrap();
    assert_eq!(names(&s), ["hidden"]);
    // A B A.
    let dir = tmp.path().join("aba");
    let a = tar(&[E::File("x", b"from a", 0o644)]);
    let b = tar(&[E::File("x", b"from b", 0o644)]);
    oci_layout(&dir, &[layer_plain(a.clone()), layer_plain(b), layer_plain(a)]);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let tree = image.tree(&Limits::default()).unwrap();
    assert_eq!(tree.get("/x").unwrap().layer, Some(2));
    let mut got = Vec::new();
    image
        .walk(&tree, &Limits::default(), &|_| true, &mut |_, r| {
            r.read_to_end(&mut got).unwrap();
            Ok(())
        })
        .unwrap();
    assert_eq!(got, b"from a");
}

// ---- item 11: what a runtime would unpack ----

/// A zstd layer of two frames is read whole (the runtimes decode every frame): the files of
/// the second frame were hidden.
#[test]
fn every_zstd_frame_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = tar(&[E::File("etc/hostname", b"x\n", 0o644)]);
    first.truncate(first.len() - 1024);
    let second = status_layer();
    let mut blob = zstd(&first);
    blob.extend(zstd(&second));
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[Layer { tar: vec![], blob, media_type: "application/vnd.oci.image.layer.v1.tar+zstd" }]);
    let s = generate(&open(&format!("oci-dir:{}", dir.display())).unwrap(), Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
}

/// A GNU sparse dpkg status is read as the runtime unpacks it (it was skipped: "no
/// vulnerabilities found").
#[test]
fn gnu_sparse_file_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let data = STATUS;
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        let name = b"var/lib/dpkg/status";
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.sparse[0].offset.copy_from_slice(format!("{:011o}\0", 0).as_bytes());
        gnu.sparse[0].numbytes.copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        gnu.realsize.copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    }
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, data).unwrap();
    let layer = b.into_inner().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_plain(layer)]);
    let s = generate(&open(&format!("oci-dir:{}", dir.display())).unwrap(), Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
}

/// `a/../b` is read as `/b` (as containerd and docker clean it), with a warning; a name that
/// climbs above the root stays out, with a warning.
#[test]
fn dot_dot_names_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let mut layer = raw_name_tar("var/lib/x/../dpkg/status", STATUS);
    layer.truncate(layer.len() - 1024);
    layer.extend(raw_name_tar("../../etc/evil", b"x"));
    oci_layout(&dir, &[layer_plain(layer)]);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let s = generate(&image, Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
    let tree = image.tree(&Limits::default()).unwrap();
    let w = tree.warnings().join("\n");
    assert!(w.contains("read as /var/lib/dpkg/status"), "{w}");
    assert!(w.contains("\"../../etc/evil\" climbs above the root"), "{w}");
    assert!(s.warnings.iter().any(|x| x.contains("climbs above the root")), "{:?}", s.warnings);
    // The warnings travel with the SBOM (CycloneDX metadata properties, read back) and with a
    // scan of the image or of that SBOM.
    let cdx = armorred::sbom::format::cyclonedx::to_value(&s, &armorred::sbom::format::Timestamp::Image);
    let bytes = serde_json::to_vec(&cdx).unwrap();
    assert_eq!(armorred::sbom::format::cyclonedx::read(&bytes, "sbom").unwrap().warnings, s.warnings);
    let scanned = armorred::vuln::sbom::catalogue(&format!("oci-dir:{}", dir.display()), None).unwrap();
    assert_eq!(scanned.warnings, s.warnings);
    let file = tmp.path().join("bom.cdx.json");
    std::fs::write(&file, &bytes).unwrap();
    let from_file = armorred::vuln::sbom::catalogue(&format!("sbom:{}", file.display()), None).unwrap();
    assert_eq!(from_file.warnings, s.warnings);
}

/// A hard link whose target is whited out above keeps its content, as on disk.
#[test]
fn hardlink_to_a_whited_out_file_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(STATUS.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "tmp/real", STATUS).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Link);
    b.append_link(&mut h, "var/lib/dpkg/status", "tmp/real").unwrap();
    let lower = b.into_inner().unwrap();
    let upper = tar(&[E::File("tmp/.wh.real", b"", 0o644), E::File("etc/hostname", b"x\n", 0o644)]);
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_plain(lower), layer_plain(upper)]);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let tree = image.tree(&Limits::default()).unwrap();
    assert!(tree.get("/tmp/real").is_none());
    assert_eq!(tree.get("/var/lib/dpkg/status").unwrap().size, STATUS.len() as u64);
    let s = generate(&image, Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
}

/// An opaque whiteout of `/` hides every lower layer, as the runtime applies it, and says so.
#[test]
fn whiteout_of_the_root_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    for marker in [".wh..wh..opq", ".wh."] {
        let dir = tmp.path().join(format!("oci{}", marker.len()));
        let upper = tar(&[E::File(marker, b"", 0o644), E::File("etc/hostname", b"x\n", 0o644)]);
        oci_layout(&dir, &[layer_plain(status_layer()), layer_plain(upper)]);
        let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
        let s = generate(&image, Limits::default()).unwrap();
        assert!(s.packages.is_empty());
        assert!(
            s.warnings.iter().any(|w| w.contains("hides every file of the layers below")),
            "{marker}: {:?}",
            s.warnings
        );
    }
}

// ---- item 14: FIFOs, JSON caps ----

fn mkfifo(path: &Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Runs `f` on a thread: a hang is a failure after 10 s, not a stuck test run.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("hung on a FIFO")
}

#[test]
fn fifos_are_not_regular_files() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    for scheme in ["oci-archive", "docker-archive"] {
        let src = format!("{scheme}:{}", fifo.display());
        let e = within(move || open(&src).unwrap_err());
        assert!(e.contains("is not a regular file: it is a FIFO"), "{e}");
    }
    // A bare path that is a FIFO: named as such, not "does not exist".
    let bare = fifo.display().to_string();
    let e = within(move || Source::parse(&bare).map(|_| ()).map_err(|e| e.to_string()).unwrap_err());
    assert!(e.contains("it is a FIFO"), "{e}");
    // A blob that is a FIFO.
    let dir = tmp.path().join("oci");
    let layer = status_layer();
    oci_layout(&dir, &[layer_plain(layer.clone())]);
    let blob = blob_file(&dir, &layer);
    std::fs::remove_file(&blob).unwrap();
    mkfifo(&blob);
    let src = format!("oci-dir:{}", dir.display());
    let e = within(move || {
        let image = open(&src).unwrap();
        generate(&image, Limits::default()).unwrap_err()
    });
    assert!(e.contains("is not a regular file: it is a FIFO"), "{e}");
    // index.json a FIFO.
    std::fs::remove_file(dir.join("index.json")).unwrap();
    mkfifo(&dir.join("index.json"));
    let src = format!("oci-dir:{}", dir.display());
    let e = within(move || open(&src).unwrap_err());
    assert!(e.contains("index.json is not a regular file: it is a FIFO"), "{e}");
}

/// A JSON document over the cap is named as such (it was "EOF at column 16777216").
#[test]
fn oversized_json_documents_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_plain(status_layer())]);
    // index.json of 16 MiB + 1 byte (spaces are valid JSON).
    let index = std::fs::read(dir.join("index.json")).unwrap();
    let mut big = index.clone();
    big.resize((16 << 20) + 1, b' ');
    std::fs::write(dir.join("index.json"), &big).unwrap();
    let e = open(&format!("oci-dir:{}", dir.display())).unwrap_err();
    assert!(e.contains("index.json is over the limit of 16777216 bytes"), "{e}");
    std::fs::write(dir.join("index.json"), &index).unwrap();
    // The cap is a limit: a small one names the manifest.
    let e = open_with(&format!("oci-dir:{}", dir.display()), Limits { max_json_bytes: 300, ..Limits::default() })
        .unwrap_err();
    assert!(e.contains("the manifest sha256:") && e.contains("is over the limit of 300 bytes"), "{e}");
}

// ---- items 9, 10: registry downloads ----

/// How the fake registry answers a blob request.
#[derive(Clone, Copy)]
enum BlobMode {
    Honest,
    /// The blob followed by extra bytes.
    Longer,
    /// One byte per 200 ms, forever.
    Trickle,
}

struct FakeRegistry {
    addr: String,
    blob_gets: Arc<AtomicUsize>,
}

fn fake_registry(layout: &Path, mode: BlobMode) -> FakeRegistry {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let blob_gets = Arc::new(AtomicUsize::new(0));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    let blobs = layout.join("blobs/sha256");
    let counter = blob_gets.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let blobs = blobs.clone();
            let manifest_digest = manifest_digest.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req).lines().next().unwrap_or_default().to_string();
                let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                let respond = |stream: &mut std::net::TcpStream, ctype: &str, body: &[u8]| {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                };
                if path.contains("/manifests/") {
                    let m = std::fs::read(blobs.join(manifest_digest.trim_start_matches("sha256:"))).unwrap();
                    respond(&mut stream, "application/vnd.oci.image.manifest.v1+json", &m);
                } else if let Some(d) = path.split("/blobs/").nth(1) {
                    let data = std::fs::read(blobs.join(d.trim_start_matches("sha256:"))).unwrap_or_default();
                    let m: serde_json::Value = serde_json::from_slice(
                        &std::fs::read(blobs.join(manifest_digest.trim_start_matches("sha256:"))).unwrap(),
                    )
                    .unwrap();
                    let is_config = m["config"]["digest"].as_str() == Some(d);
                    if !is_config {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    match mode {
                        _ if is_config => respond(&mut stream, "application/octet-stream", &data),
                        BlobMode::Honest => respond(&mut stream, "application/octet-stream", &data),
                        BlobMode::Longer => {
                            let mut more = data.clone();
                            more.extend(std::iter::repeat_n(b'z', 1 << 20));
                            respond(&mut stream, "application/octet-stream", &more);
                        }
                        BlobMode::Trickle => {
                            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
                            let _ = stream.write_all(head.as_bytes());
                            for b in data.iter().cycle() {
                                if stream.write_all(&[*b]).is_err() {
                                    return;
                                }
                                std::thread::sleep(Duration::from_millis(200));
                            }
                        }
                    }
                } else {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
                }
            });
        }
    });
    FakeRegistry { addr, blob_gets }
}

/// Where registry pulls keep their blobs: the cache's `registry/` (created here, so the
/// stale caches below can be planted before the first pull).
fn registry_dir() -> PathBuf {
    armorred::cache::Cache::from_env().create(armorred::cache::Kind::Registry).unwrap()
}

/// The caches of this process in the registry directory.
fn our_caches() -> Vec<PathBuf> {
    let prefix = format!("armorred-registry-{}-", std::process::id());
    std::fs::read_dir(registry_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// One test for the registry cases (they share the registry directory and this process's id).
#[test]
fn registry_downloads_are_bounded() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    let layer = layer_gzip(status_layer());
    // The same layer listed three times.
    let layers = vec![layer_gzip(status_layer()), layer_gzip(status_layer()), layer];
    let manifest_digest = oci_layout(&dir, &layers);

    // A cache left by a killed run of ours (its owner file names another boot) is removed;
    // one without a proof (no owner file), or that is a symlink, is left alone.
    let stale = registry_dir().join("armorred-registry-999999999-leftover");
    std::fs::create_dir_all(stale.join("blobs")).unwrap();
    std::fs::write(
        stale.join("owner"),
        "armorred registry cache v1\nboot 00000000-0000-0000-0000-000000000000\npidns 1\npid 999999999\nstart 1\n",
    )
    .unwrap();
    let unproven = registry_dir().join("armorred-registry-999999997-noproof");
    std::fs::create_dir_all(&unproven).unwrap();
    let bait_target = tmp.path().join("bait");
    std::fs::create_dir_all(&bait_target).unwrap();
    let bait = registry_dir().join("armorred-registry-999999998-link");
    let _ = std::fs::remove_file(&bait);
    std::os::unix::fs::symlink(&bait_target, &bait).unwrap();
    // The old predictable name, planted as a symlink: never followed now.
    let planted = registry_dir().join(format!(
        "armorred-registry-{}-{}",
        std::process::id(),
        &manifest_digest.trim_start_matches("sha256:")[..12]
    ));
    let _ = std::fs::remove_file(&planted);
    std::os::unix::fs::symlink(&bait_target, &planted).unwrap();

    let reg = fake_registry(&dir, BlobMode::Honest);
    let src = format!("registry:{}/test/img:1", reg.addr);
    let image = open(&src).unwrap();
    assert_eq!(reg.blob_gets.load(Ordering::SeqCst), 1, "a layer listed 3 times is downloaded once");
    let caches: Vec<PathBuf> = our_caches().into_iter().filter(|p| p != &planted).collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    let mode = std::fs::symlink_metadata(&caches[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(std::fs::read_dir(&bait_target).unwrap().next().is_none(), "the planted link was followed");
    assert!(!stale.exists(), "the stale cache of a dead run is left");
    assert!(bait.symlink_metadata().is_ok(), "a link was removed");
    assert!(unproven.exists(), "a cache without proof of a dead owner was removed");
    std::fs::remove_dir_all(&unproven).unwrap();
    let s = generate(&image, Limits::default()).unwrap();
    assert_eq!(names(&s), ["hidden"]);
    drop(image);
    assert!(our_caches().iter().all(|p| p == &planted), "the cache is left after drop");
    std::fs::remove_file(&bait).unwrap();
    std::fs::remove_file(&planted).unwrap();

    // More bytes than the descriptor's size: refused, nothing left behind.
    let reg = fake_registry(&dir, BlobMode::Longer);
    let e = open(&format!("registry:{}/test/img:1", reg.addr)).unwrap_err();
    assert!(e.contains("sends more than the") && e.contains("bytes its descriptor gives"), "{e}");
    assert!(our_caches().is_empty(), "left behind: {:?}", our_caches());

    // A server that trickles one byte at a time never stalls long enough for the stall
    // timeout: the blob deadline ends it.
    let reg = fake_registry(&dir, BlobMode::Trickle);
    let limits = Limits {
        registry_blob_timeout: Duration::from_secs(2),
        registry_stall_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let start = Instant::now();
    let e = open_with(&format!("registry:{}/test/img:1", reg.addr), limits).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
    assert!(e.contains("downloading sha256:") || e.contains("timed out") || e.contains("imeout"), "{e}");
    assert!(our_caches().is_empty(), "left behind: {:?}", our_caches());
}

/// A file over the file limit is read only in part: the tree (and so the SBOM) says so.
#[test]
fn a_file_over_the_file_limit_is_reported_not_silently_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    oci_layout(&dir, &[layer_plain(status_layer())]);
    let image = open(&format!("oci-dir:{}", dir.display())).unwrap();
    let limits = Limits { max_file_bytes: 16, ..Limits::default() };
    let s = generate(&image, limits).unwrap();
    let w = s.warnings.join("\n");
    assert!(w.contains("/var/lib/dpkg/status is"), "{w}");
    assert!(w.contains("only its first 16 bytes (the file limit) are read"), "{w}");
    assert!(generate(&image, Limits::default()).unwrap().warnings.is_empty());
}
