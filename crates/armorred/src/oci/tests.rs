use super::*;
use crate::fstree::Tree;
use serde_json::{json, Value};

fn golden(name: &str, got: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/oci").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).expect("write golden");
    }
    let want = std::fs::read(&path).unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(got), String::from_utf8_lossy(&want), "{name} (UPDATE_GOLDEN=1 to refresh)");
}

fn tiny(epoch: i64) -> Image {
    let mut t = Tree::new();
    t.add_dir("tmp", 0o1777, (0, 0)).expect("tmp");
    t.add_file("etc/passwd", 0o644, (0, 0), b"root:x:0:0::/root:/nonexistent\n".to_vec()).expect("f");
    t.add_dir("var/lib/app", 0o755, (65534, 65534)).expect("d");
    t.add_symlink("bin", "usr/bin").expect("l");
    let mut annotations = BTreeMap::new();
    annotations.insert("org.opencontainers.image.created".into(), crate::clock::rfc3339(epoch));
    Image {
        layers: vec![layer_from_tree(&t, epoch).expect("layer")],
        config: RuntimeConfig {
            user: "65534:65534".into(),
            entrypoint: vec![],
            cmd: vec!["app".into(), "-x".into()],
            ports: vec!["80/tcp".into()],
            stop_signal: Some("SIGQUIT".into()),
            env: [("PATH".to_string(), "/usr/bin".to_string())].into(),
            labels: BTreeMap::new(),
            workdir: Some("/".into()),
            volumes: vec![],
        },
        architecture: "amd64".into(),
        created_epoch: epoch,
        created_by: "armorred build --tier hardened".into(),
        annotations,
        ref_name: "armorred/tiny:hardened".into(),
    }
}

#[test]
fn serialization_goldens() {
    let s = serialize(&tiny(1754731547));
    golden("config.json", &s.config.data);
    golden("manifest.json", &s.manifest.data);
    golden("index.json", &s.index);
}

#[test]
fn layer_is_deterministic_and_normalized() {
    let a = tiny(1754731547);
    let b = tiny(1754731547);
    assert_eq!(a.layers[0].blob, b.layers[0].blob);
    assert_ne!(tiny(0).layers[0].blob.digest, a.layers[0].blob.digest);
    let tar = {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&a.layers[0].blob.data[..]).read_to_end(&mut out).expect("gunzip");
        out
    };
    let mut ar = tar::Archive::new(&tar[..]);
    let rows: Vec<String> = ar
        .entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            let h = e.header();
            format!(
                "{} {:o} {}:{} {} {:?}",
                String::from_utf8_lossy(&e.path_bytes()),
                h.mode().unwrap_or(0),
                h.uid().unwrap_or(9),
                h.gid().unwrap_or(9),
                h.mtime().unwrap_or(0),
                h.entry_type()
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "bin 777 0:0 1754731547 Symlink",
            "etc/ 755 0:0 1754731547 Directory",
            "etc/passwd 644 0:0 1754731547 Regular",
            "tmp/ 1777 0:0 1754731547 Directory",
            "var/ 755 0:0 1754731547 Directory",
            "var/lib/ 755 0:0 1754731547 Directory",
            "var/lib/app/ 755 65534:65534 1754731547 Directory",
        ]
    );
}

#[test]
fn layout_and_docker_archive_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = tiny(1754731547);
    let out = dir.path().join("oci");
    let s = write_layout(&out, &img).expect("layout");
    assert_eq!(std::fs::read(out.join("oci-layout")).expect("oci-layout"), OCI_LAYOUT);
    let index: Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index")).expect("json");
    assert_eq!(index["manifests"][0]["digest"], json!(s.manifest.digest));
    for blob in [&s.manifest, &s.config, &img.layers[0].blob] {
        let p = out.join("blobs/sha256").join(blob.hex());
        let (h, _) = crate::fsutil::sha256_reader(std::fs::File::open(&p).expect("blob")).expect("hash");
        assert_eq!(format!("sha256:{h}"), blob.digest);
    }
    // Rewriting the same layout replaces it; a non-layout directory is refused.
    write_layout(&out, &img).expect("again");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("keep.txt"), b"x").expect("write");
    let err = write_layout(&other, &img).expect_err("must fail").to_string();
    assert!(err.contains("is not an OCI layout written by armorred"), "{err}");
    assert!(other.join("keep.txt").exists());

    let tar_path = dir.path().join("img.tar");
    write_docker_archive(&tar_path, &img).expect("archive");
    let first = std::fs::read(&tar_path).expect("read");
    write_docker_archive(&tar_path, &img).expect("archive");
    assert_eq!(first, std::fs::read(&tar_path).expect("read"));
    let mut ar = tar::Archive::new(&first[..]);
    let mut names = Vec::new();
    let mut manifest = Value::Null;
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        if name == "manifest.json" {
            manifest = serde_json::from_reader(&mut e).expect("manifest.json");
        }
        names.push(name);
    }
    assert!(names.contains(&"index.json".to_string()) && names.contains(&"oci-layout".to_string()));
    assert_eq!(manifest[0]["RepoTags"], json!(["armorred/tiny:hardened"]));
    assert_eq!(manifest[0]["Config"], json!(format!("blobs/sha256/{}", s.config.hex())));
}

/// Every file under `dir` (relative, sorted), for before/after comparisons.
fn listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("walk").path().strip_prefix(dir).expect("prefix").display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_foreign_layout_with_other_files_is_refused_and_left_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("work");
    std::fs::create_dir_all(out.join("src")).expect("mkdir");
    std::fs::write(out.join("oci-layout"), OCI_LAYOUT).expect("write");
    std::fs::write(out.join("src/main.rs"), b"fn main() {}").expect("write");
    std::fs::write(out.join("notes.txt"), b"mine").expect("write");
    let before = listing(&out);
    let err = write_layout(&out, &tiny(1)).expect_err("must refuse").to_string();
    assert!(
        err.starts_with(&format!("bad output {}: exists and is not an OCI layout written by armorred", out.display())),
        "{err}"
    );
    assert!(err.contains("(unexpected notes.txt)"), "{err}");
    assert_eq!(listing(&out), before);
    assert_eq!(std::fs::read(out.join("notes.txt")).expect("kept"), b"mine");
    // No temporary directory left beside it.
    assert_eq!(listing(tmp.path()).iter().filter(|p| p.starts_with('.')).count(), 0);

    // One of our own layouts with an extra blob (a multi-image layout) is not ours either.
    let ours = tmp.path().join("ours");
    write_layout(&ours, &tiny(1)).expect("layout");
    std::fs::write(ours.join("blobs/sha256").join("a".repeat(64)), b"other image").expect("write");
    let err = write_layout(&ours, &tiny(1)).expect_err("must refuse").to_string();
    assert!(err.contains("is not part of its image"), "{err}");
    assert!(ours.join("blobs/sha256").join("a".repeat(64)).exists());
}

#[test]
fn a_symlink_at_the_output_path_is_refused_and_its_target_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("precious");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("oci-layout"), OCI_LAYOUT).expect("write");
    std::fs::write(target.join("data"), b"x").expect("write");
    let link = tmp.path().join("out");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = write_layout(&link, &tiny(1)).expect_err("must refuse").to_string();
    assert_eq!(
        err,
        format!("bad output {}: is a symlink; refusing to write through it (give the real path)", link.display())
    );
    assert_eq!(listing(&target), ["data", "oci-layout"]);
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());

    // Also a symlink to our own layout, and a symlinked file inside a layout.
    let ours = tmp.path().join("ours");
    write_layout(&ours, &tiny(1)).expect("layout");
    let link2 = tmp.path().join("out2");
    std::os::unix::fs::symlink(&ours, &link2).expect("symlink");
    assert!(write_layout(&link2, &tiny(2)).is_err());
    std::fs::remove_file(ours.join("index.json")).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", ours.join("index.json")).expect("symlink");
    let err = write_layout(&ours, &tiny(2)).expect_err("must refuse").to_string();
    assert!(err.contains("(unexpected index.json (a symlink))"), "{err}");
}

#[test]
fn our_previous_layout_is_replaced_and_an_empty_directory_is_used() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("oci");
    let first = write_layout(&out, &tiny(1)).expect("first");
    let second = write_layout(&out, &tiny(2)).expect("replaces our own layout");
    assert_ne!(first.manifest.digest, second.manifest.digest);
    let index: Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index")).expect("json");
    assert_eq!(index["manifests"][0]["digest"], json!(second.manifest.digest));
    // Only the new image's blobs remain, and nothing is left beside the output.
    let blobs = listing(&out.join("blobs/sha256"));
    assert_eq!(blobs.len(), 3, "{blobs:?}");
    assert!(!blobs.contains(&first.manifest.digest.trim_start_matches("sha256:").to_string()));
    assert_eq!(listing(tmp.path()).iter().filter(|p| p.starts_with('.')).count(), 0, "{:?}", listing(tmp.path()));

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    write_layout(&empty, &tiny(1)).expect("an empty directory is fine");
    assert!(empty.join("index.json").is_file());

    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let err = write_layout(&file, &tiny(1)).expect_err("must refuse").to_string();
    assert!(err.ends_with("exists and is a regular file, not a directory"), "{err}");
    assert_eq!(std::fs::read(&file).expect("kept"), b"x");
}

/// A second image exercising the other branches of the config and manifest: labels, an
/// entrypoint, several ports and env entries, no working dir, no stop signal, no annotations,
/// two layers. Its bytes were captured from the `json!` writer before the typed structures
/// (`spec`) replaced it (see testdata/oci/README.md).
fn full(epoch: i64) -> Image {
    let mut a = Tree::new();
    a.add_file("etc/os-release", 0o644, (0, 0), b"ID=debian\n".to_vec()).expect("f");
    let mut b = Tree::new();
    b.add_file("usr/bin/app", 0o755, (0, 0), b"#!/bin/sh\n".to_vec()).expect("f");
    Image {
        layers: vec![layer_from_tree(&a, epoch).expect("layer"), layer_from_tree(&b, epoch).expect("layer")],
        config: RuntimeConfig {
            user: String::new(),
            entrypoint: vec!["/usr/bin/app".into(), "--serve".into()],
            cmd: vec![],
            ports: vec!["443/tcp".into(), "80/tcp".into()],
            stop_signal: None,
            env: [("PATH".to_string(), "/usr/bin:/bin".to_string()), ("LANG".to_string(), "C.UTF-8".to_string())]
                .into(),
            labels: [
                ("org.opencontainers.image.title".to_string(), "full \"quoted\" <&>".to_string()),
                ("a.b".to_string(), "é".to_string()),
            ]
            .into(),
            workdir: None,
            volumes: vec!["/data".into(), "/var/cache/app".into()],
        },
        architecture: "arm64".into(),
        created_epoch: epoch,
        created_by: "armorred build --tier locked".into(),
        annotations: BTreeMap::new(),
        ref_name: "armorred/full:locked".into(),
    }
}

/// The docker-archive `manifest.json` bytes of `image`.
fn docker_manifest_json(image: &Image) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("img.tar");
    write_docker_archive(&p, image).expect("archive");
    let data = std::fs::read(&p).expect("read");
    let mut ar = tar::Archive::new(&data[..]);
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path_bytes().as_ref() == b"manifest.json" {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut out).expect("read");
            return out;
        }
    }
    panic!("no manifest.json")
}

#[test]
fn bytes_equal_the_json_writer_before_the_typed_structures() {
    let s = serialize(&full(1700000000));
    golden("full/config.json", &s.config.data);
    golden("full/manifest.json", &s.manifest.data);
    golden("full/index.json", &s.index);
    golden("full/docker-manifest.json", &docker_manifest_json(&full(1700000000)));
    golden("docker-manifest.json", &docker_manifest_json(&tiny(1754731547)));
}

/// Written, then read back through `source` (OCI layout and docker archive): the typed
/// manifest and config the reader holds equal those the writer serialized.
#[test]
fn written_images_read_back_as_the_same_typed_structures() {
    use crate::source::{OpenOptions, Source};
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, img) in [("tiny", tiny(1754731547)), ("full", full(1700000000))] {
        let s = serialize(&img);
        let manifest: ImageManifest = serde_json::from_slice(&s.manifest.data).expect("manifest");
        let config: ImageConfig = serde_json::from_slice(&s.config.data).expect("config");
        let index: ImageIndex = serde_json::from_slice(&s.index).expect("index");
        assert_eq!(to_json(&manifest), s.manifest.data, "{name}: manifest re-serializes to its bytes");
        assert_eq!(to_json(&config), s.config.data, "{name}: config re-serializes to its bytes");
        assert_eq!(to_json(&index), s.index, "{name}: index re-serializes to its bytes");

        let layout = dir.path().join(name);
        write_layout(&layout, &img).expect("layout");
        let read = Source::parse(&format!("oci-dir:{}", layout.display()))
            .and_then(|src| src.open(&OpenOptions::default()))
            .expect("open layout");
        assert_eq!(read.manifest.as_ref(), Some(&manifest), "{name}: manifest");
        assert_eq!(read.image_config().as_ref(), Some(&config), "{name}: config");
        assert_eq!(read.digest.as_deref(), Some(s.manifest.digest.as_str()));
        assert_eq!(read.created, config.created);

        let archive = dir.path().join(format!("{name}.tar"));
        write_docker_archive(&archive, &img).expect("archive");
        let read = Source::parse(&format!("docker-archive:{}", archive.display()))
            .and_then(|src| src.open(&OpenOptions::default()))
            .expect("open archive");
        assert_eq!(read.image_config().as_ref(), Some(&config), "{name}: docker-archive config");
        let diff_ids: Vec<&str> = read.layers.iter().map(|l| l.digest.as_str()).collect();
        assert_eq!(diff_ids, config.rootfs.diff_ids.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// A layout of ours that was signed since (cosign's `sigs`/`atts` entries beside the image, as
/// `armorred sign` and `cosign save` write them) is still ours: a rebuild replaces it, and the
/// old signatures, which sign the old digest, go with it. An attached entry whose blobs are not
/// those its manifest names is not ours.
#[test]
fn a_signed_layout_of_ours_is_rebuilt_in_place() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("oci");
    let first = write_layout(&out, &tiny(1)).expect("first");
    let put = |bytes: &[u8]| {
        let d = spec::Digest::of(bytes);
        std::fs::write(out.join("blobs/sha256").join(d.hex()), bytes).expect("blob");
        d
    };
    let payload = put(b"{\"critical\":{}}");
    let config = put(b"{}");
    let sig_manifest = serde_json::to_vec(&json!({"schemaVersion":2,"mediaType":media::MANIFEST,
        "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":config.as_str()},
        "layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":15,"digest":payload.as_str()}]}))
    .expect("json");
    let sig = put(&sig_manifest);
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index")).expect("json");
    index["manifests"][0]["annotations"]["kind"] = json!(spec::cosign::IMAGE);
    index["manifests"].as_array_mut().expect("list").push(json!({"mediaType":media::MANIFEST,
        "size":sig_manifest.len(),"digest":sig.as_str(),"annotations":{"kind":spec::cosign::SIGS}}));
    std::fs::write(out.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("index");

    let second = write_layout(&out, &tiny(2)).expect("a signed layout of ours is replaced");
    assert_ne!(second.manifest.digest, first.manifest.digest);
    assert!(!out.join("blobs/sha256").join(sig.hex()).exists(), "the old signature image went with the old image");
    assert!(!out.join("blobs/sha256").join(payload.hex()).exists());

    // A stray blob beside a signed layout is still refused, and nothing is touched.
    std::fs::remove_dir_all(&out).expect("rm");
    write_layout(&out, &tiny(1)).expect("again");
    std::fs::write(out.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("index");
    put(b"{\"critical\":{}}");
    put(b"{}");
    put(&sig_manifest);
    let stray = put(b"not named by anything");
    let before = listing(&out);
    let err = write_layout(&out, &tiny(3)).expect_err("a stray blob").to_string();
    assert!(err.contains(&format!("blobs/sha256/{} is not part of its image", stray.hex())), "{err}");
    assert_eq!(listing(&out), before);
}
