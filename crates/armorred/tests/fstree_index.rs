//! One file-tree model on both sides: the index a built `fstree::Tree` gives
//! (`Tree::index`) is the index the image reader makes of the image written from it, entry for
//! entry (path, kind, size, mode, owner, link, layer, ordinal), through an OCI layout and a
//! docker archive; a `dir:` read of the materialized tree has the same paths, kinds, sizes and
//! links. So a metadata-only reader (a cataloger's `wants`) sees the same files either way.

use std::collections::BTreeMap;

use armorred::fstree::{Entry, EntryKind, Tree};
use armorred::oci::{self, layer_from_tree, RuntimeConfig};
use armorred::source::{Limits, OpenOptions, Source};

fn tree() -> Tree {
    let mut t = Tree::new();
    t.add_dir("etc/nginx", 0o750, (0, 101)).expect("dir");
    t.add_file("etc/nginx/nginx.conf", 0o640, (0, 101), b"worker_processes 1;\n".to_vec()).expect("file");
    t.add_file("usr/sbin/nginx", 0o755, (0, 0), vec![0x7f, b'E', b'L', b'F']).expect("file");
    t.add_file("var/lib/nginx/state", 0o600, (101, 101), Vec::new()).expect("file");
    t.add_symlink("usr/lib64", "lib").expect("link");
    t.add_symlink("var/log/nginx/access.log", "/dev/stdout").expect("link");
    t
}

fn read(src: &str) -> Vec<Entry> {
    let image = Source::parse(src).and_then(|s| s.open(&OpenOptions::default())).expect(src);
    let index = image.tree(&Limits::default()).expect(src);
    assert!(index.warnings().is_empty(), "{src}: {:?}", index.warnings());
    index.entries().cloned().collect()
}

#[test]
fn a_built_tree_and_the_image_written_from_it_have_one_index() {
    let t = tree();
    let built: Vec<Entry> = t.index().entries().cloned().collect();
    assert_eq!(built.len(), t.len());
    let nginx = built.iter().find(|e| e.path == "/usr/sbin/nginx").expect("nginx");
    assert_eq!((nginx.kind, nginx.size, nginx.mode, nginx.layer), (EntryKind::File, 4, 0o755, Some(0)));
    let conf = built.iter().find(|e| e.path == "/etc/nginx").expect("dir");
    assert_eq!((conf.kind, conf.owner), (EntryKind::Dir, (0, 101)));

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let image = oci::Image {
        layers: vec![layer_from_tree(&t, 1_738_754_633).expect("layer")],
        config: RuntimeConfig::default(),
        architecture: "amd64".into(),
        created_epoch: 1_738_754_633,
        created_by: "test".into(),
        annotations: BTreeMap::new(),
        ref_name: "armorred/test:latest".into(),
    };
    oci::write_layout(&d.join("layout"), &image).expect("layout");
    oci::write_docker_archive(&d.join("image.tar"), &image).expect("archive");
    for src in
        [format!("oci-dir:{}", d.join("layout").display()), format!("docker-archive:{}", d.join("image.tar").display())]
    {
        assert_eq!(read(&src), built, "{src}");
    }

    // A directory read: no layers, the owner and mode the file system gives, the same files.
    t.materialize(&d.join("root")).expect("materialize");
    let plain = |es: &[Entry]| -> Vec<(String, EntryKind, u64, Option<String>)> {
        es.iter().map(|e| (e.path.clone(), e.kind, e.size, e.link.clone())).collect()
    };
    let from_dir = read(&format!("dir:{}", d.join("root").display()));
    assert!(from_dir.iter().all(|e| e.layer.is_none()));
    assert_eq!(plain(&from_dir), plain(&built));
}
