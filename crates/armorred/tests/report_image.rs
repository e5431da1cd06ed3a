//! `report::image_facts` on every kind of image input: the compressed size is what a registry
//! would transfer (compressed blobs as stored; plain-tar layers gzipped at flate2's default
//! level), and the uncompressed size does not depend on how the layers are stored.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use armorred::fstree::Tree;
use armorred::oci::{self, layer_from_tree, RuntimeConfig};
use armorred::report::{image_facts, ImageFacts};
use armorred::source::{Limits, OpenOptions, Source};

mod support;
use support::{docker_archive, layer_gzip, layer_plain, layer_zstd, oci_layout, tar, tar_dir, E};

/// Two layers with compressible content (text) and an incompressible one (pseudo-random bytes).
fn layers() -> (Vec<u8>, Vec<u8>) {
    let text = "server { listen 80; root /usr/share/nginx/html; }\n".repeat(2000);
    let mut noise = Vec::with_capacity(64 << 10);
    let mut x: u32 = 0x1234_5678;
    while noise.len() < 64 << 10 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let base = tar(&[E::Dir("etc/"), E::File("etc/nginx.conf", text.as_bytes(), 0o644), E::Dir("bin/")]);
    let top = tar(&[E::Dir("usr/"), E::File("usr/random.bin", &noise, 0o644), E::Symlink("bin/sh", "/bin/busybox")]);
    (base, top)
}

/// gzip at flate2's default level, fed in the 64 KiB chunks the comparison uses, computed here
/// independently of the library.
fn gzip_default(data: &[u8]) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for chunk in data.chunks(64 << 10) {
        gz.write_all(chunk).expect("gzip");
    }
    gz.finish().expect("gzip").len() as u64
}

fn facts(src: &str) -> ImageFacts {
    let image = Source::parse(src).and_then(|s| s.open(&OpenOptions::default())).expect(src);
    image_facts(&image, &Limits::default()).expect(src)
}

#[test]
fn compressed_size_per_input_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (base, top) = layers();
    let plain_gzip = gzip_default(&base) + gzip_default(&top);

    let gz = [layer_gzip(base.clone()), layer_gzip(top.clone())];
    let gz_blobs: u64 = gz.iter().map(|l| l.blob.len() as u64).sum();
    oci_layout(&d.join("gzip"), &gz);
    tar_dir(&d.join("gzip"), &d.join("gzip.tar"));
    let zst = [layer_zstd(base.clone()), layer_zstd(top.clone())];
    let zst_blobs: u64 = zst.iter().map(|l| l.blob.len() as u64).sum();
    oci_layout(&d.join("zstd"), &zst);
    oci_layout(&d.join("plain"), &[layer_plain(base.clone()), layer_plain(top.clone())]);
    // `docker save`: layers stored as plain tars, and no sizes in manifest.json.
    docker_archive(&d.join("docker.tar"), &[layer_plain(base.clone()), layer_plain(top.clone())]);

    let cases = [
        (format!("oci-dir:{}", d.join("gzip").display()), gz_blobs),
        (format!("oci-archive:{}", d.join("gzip.tar").display()), gz_blobs),
        (format!("oci-dir:{}", d.join("zstd").display()), zst_blobs),
        (format!("oci-dir:{}", d.join("plain").display()), plain_gzip),
        (format!("docker-archive:{}", d.join("docker.tar").display()), plain_gzip),
    ];
    let mut uncompressed = None;
    for (src, want) in &cases {
        let f = facts(src);
        assert_eq!(f.size.compressed, Some(*want), "{src}");
        // The same files, however stored.
        assert_eq!(*uncompressed.get_or_insert(f.size.uncompressed), f.size.uncompressed, "{src}");
    }
    // Pseudo-random bytes do not compress: the sizes stay honest, not flattering.
    assert!(plain_gzip > 64 << 10, "{plain_gzip}");
}

/// A `docker load`-able archive written by our own OCI writer: its layers are gzipped blobs, so
/// the compressed size is the sum of the blobs.
#[test]
fn compressed_size_of_our_docker_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Tree::new();
    t.add_dir("etc", 0o755, (0, 0)).expect("dir");
    t.add_file("etc/nginx.conf", 0o644, (0, 0), "worker_processes 1;\n".repeat(500).into_bytes()).expect("file");
    let layer = layer_from_tree(&t, 1_738_754_633).expect("layer");
    let blob = layer.blob.data.len() as u64;
    let image = oci::Image {
        layers: vec![layer],
        config: RuntimeConfig::default(),
        architecture: "amd64".into(),
        created_epoch: 1_738_754_633,
        created_by: "test".into(),
        annotations: BTreeMap::new(),
        ref_name: "armorred/test:latest".into(),
    };
    let archive = dir.path().join("image.tar");
    oci::write_docker_archive(&archive, &image).expect("write");
    let f = facts(&format!("docker-archive:{}", archive.display()));
    assert_eq!(f.size.compressed, Some(blob));
    assert_eq!(f.size.uncompressed, 20 * 500);
}

/// A directory is counted as one layer: the gzipped tar of its tree.
#[test]
fn compressed_size_of_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("etc/nginx.conf"), "worker_processes 1;\n".repeat(5000)).expect("write");
    std::os::unix::fs::symlink("etc/nginx.conf", root.join("conf")).expect("symlink");
    let f = facts(&format!("dir:{}", root.display()));
    let compressed = f.size.compressed.expect("known for a directory");
    assert_eq!(f.size.uncompressed, 100_000);
    assert!(compressed > 0 && compressed < 2_000, "{compressed}");
    // Deterministic: the same tree gives the same count.
    assert_eq!(facts(&format!("dir:{}", root.display())).size.compressed, Some(compressed));
    assert!(Path::new(&root.join("conf")).exists());
}

#[test]
fn gzip_size_is_bounded() {
    use armorred::report::gzip_size;
    assert!(gzip_size(&[0u8; 100][..], 99).is_err(), "over the limit");
    assert_eq!(gzip_size(&[0u8; 100][..], 100).expect("at the limit"), gzip_default(&[0u8; 100]));
    assert_eq!(gzip_size(&[][..], 0).expect("empty"), gzip_default(&[]));
}

/// Compiles C `source` with gcc into `out` (extra linker arguments after).
fn cc(source: &str, out: &Path, linker: &[&str]) {
    let dir = out.parent().expect("parent");
    std::fs::create_dir_all(dir).expect("mkdir");
    let c = dir.join("prog.c");
    std::fs::write(&c, source).expect("write c");
    let mut cmd = std::process::Command::new("gcc");
    cmd.args(["-O2", "-o"]).arg(out).arg(&c);
    for l in linker {
        cmd.args(["-Xlinker", l]);
    }
    let o = cmd.output().expect("run gcc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(c).expect("rm c");
}

/// nginx keeps each built module's name in `ngx_module_names[]`; a tiny program with the same
/// array stands in for it.
const MODULES: &str = r#"
char *ngx_module_names[] = {"ngx_core_module", "ngx_http_rewrite_module", 0};
const char *message = "the \"smtp\" parameter requires ngx_mail_smtp_module";
int main(int argc, char **argv) { return argc > 5 ? message[argc] : ngx_module_names[0][0] == 0; }
"#;

#[test]
fn feature_names_are_looked_up_in_the_component_binary() {
    use armorred::report::{image_facts_probing, BinaryProbe};
    if !support::tool("gcc") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    // Another program holding a mail module name is not the component's binary.
    cc(MODULES, &root.join("usr/sbin/nginx"), &[]);
    cc(&MODULES.replace("ngx_core_module", "ngx_mail_smtp_module"), &root.join("usr/bin/other"), &[]);
    let probe = BinaryProbe {
        component: "nginx".into(),
        names: vec!["ngx_http_rewrite_module".into(), "ngx_mail_smtp_module".into(), "ngx_http_rewrite".into()],
    };
    let open = |root: &Path| {
        let src = format!("dir:{}", root.display());
        Source::parse(&src).and_then(|s| s.open(&OpenOptions::default())).expect("open")
    };
    let (facts, checks) = image_facts_probing(&open(&root), &Limits::default(), Some(&probe)).expect("facts");
    assert_eq!(facts.files.elf_binaries, 2);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].path, "/usr/sbin/nginx");
    assert!(checks[0].sha256.starts_with("sha256:") && checks[0].sha256.len() == 71);
    // Whole NUL-terminated names only: a prefix of a name is not found, and the end of a longer
    // string (nginx: "the \"quic\" parameter requires ngx_http_v3_module") is told apart.
    assert_eq!(checks[0].found.iter().collect::<Vec<_>>(), ["ngx_http_rewrite_module"]);
    assert_eq!(checks[0].suffix_only.iter().collect::<Vec<_>>(), ["ngx_mail_smtp_module"]);

    // A binary whose package note names the component is checked wherever it is, and then the
    // usual path is not guessed at.
    let note = r#"--package-metadata={"type":"source","name":"nginx","version":"1.26.3"}"#;
    cc(&MODULES.replace("ngx_core_module", "ngx_mail_smtp_module"), &root.join("opt/nginx/sbin/nginx-noted"), &[note]);
    let (_, checks) = image_facts_probing(&open(&root), &Limits::default(), Some(&probe)).expect("facts");
    let got: Vec<(&str, usize)> = checks.iter().map(|c| (c.path.as_str(), c.found.len())).collect();
    assert_eq!(got, [("/opt/nginx/sbin/nginx-noted", 2)]);
    assert!(checks[0].found.contains("ngx_mail_smtp_module"));
    // Without a probe, nothing is checked.
    assert!(image_facts_probing(&open(&root), &Limits::default(), None).expect("facts").1.is_empty());
}
