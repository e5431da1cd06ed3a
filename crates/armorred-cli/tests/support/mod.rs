//! Shared helpers of the command-line tests: running the binary, the repository, the shared
//! data, and a vulnerability DB made from Debian's real advisories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `armorred` with `args`.
pub(crate) fn armorred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_armorred")).args(args).output().expect("run armorred")
}

/// Runs `armorred`: exit code, stdout, stderr.
pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let o = armorred(args);
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data` beside the repository.
pub(crate) fn shared_data() -> PathBuf {
    let data = repo().join("../shared/data");
    assert!(data.is_dir(), "{} is missing: the shared data must sit beside the repository", data.display());
    data
}

/// Imports Debian's DSA/DLA fixed versions for bookworm and trixie (real data) into `db`.
pub(crate) fn debian_db(db: &Path) {
    let feed = shared_data().join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json");
    let out = armorred(&["db", "import", "--db", db.to_str().expect("utf-8"), feed.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Copies the whole nginx definition (every file it refers to, at any depth) into `to/nginx`.
pub(crate) fn copy_nginx_definition(to: &Path) -> PathBuf {
    fn copy_tree(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).expect("create definition dir");
        for entry in std::fs::read_dir(src).expect("read definition dir") {
            let entry = entry.expect("definition entry");
            let target = dst.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy definition file");
            }
        }
    }
    let dst = to.join("nginx");
    copy_tree(&repo().join("images/nginx"), &dst);
    dst
}
