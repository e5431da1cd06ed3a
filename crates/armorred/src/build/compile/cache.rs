//! The source-build cache: a finished, verified build kept under
//! `<cache>/source-builds/<key>/` (`destdir/` and `build-record.json`), where the key is the
//! sha256 of everything that goes into the build (the step logs are kept too, for reading): the
//! parsed recipe (every field that reaches the build; its comments and its `[[accept]]` list,
//! which only the pipeline's gate reads, do not), the content of every local source and keyring it names, the tier, the flags and the step environment, the build root's
//! packages (each pinned by its `.deb` sha256), the sandbox and this cache's format version.
//!
//! Only builds over a root pinned by hash are cached (`BuildOptions::reuse`; `armorred build`
//! sets it, the host-toolchain `build-source` does not, since the host changes under it).
//! A hit is checked before use: the record must parse and every output it lists must be a
//! regular file with the recorded sha256, with no other regular file beside them; an entry that
//! fails is ignored (and rebuilt), never used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::flags::Flags;
use super::recipe::{Origin, Recipe};
use super::record::BuildRecord;
use super::root::RootPackage;
use super::sandbox::SandboxDescription;
use crate::tier::Tier;

/// Bump when the build logic changes what a build with the same inputs produces.
const FORMAT: u32 = 2;

/// Largest cached build record read back.
const MAX_RECORD: u64 = 64 << 20;

/// Everything a source build's result depends on.
#[derive(Serialize)]
pub(super) struct KeyInputs<'a> {
    pub(super) recipe_dir: &'a Path,
    pub(super) recipe: &'a Recipe,
    pub(super) tier: Tier,
    pub(super) flags: &'a Flags,
    pub(super) environment: &'a BTreeMap<String, String>,
    pub(super) root_packages: &'a [RootPackage],
    pub(super) sandbox: &'a SandboxDescription,
}

#[derive(Serialize)]
struct KeyDocument<'a> {
    format: u32,
    armorred: &'static str,
    recipe_sha256: String,
    local_files: BTreeMap<String, String>,
    tier: Tier,
    flags: &'a Flags,
    environment: &'a BTreeMap<String, String>,
    root_packages: &'a [RootPackage],
    sandbox: &'a SandboxDescription,
}

/// The cache key of a build, or `None` when a file it depends on cannot be read (the build
/// then runs uncached and reports the problem itself).
pub(super) fn key(inputs: &KeyInputs<'_>) -> Option<String> {
    let hash = |rel: &Path| crate::fsutil::sha256_file(&inputs.recipe_dir.join(rel)).ok();
    let mut local_files = BTreeMap::new();
    for src in &inputs.recipe.sources {
        if let Origin::Path { path } = &src.from {
            local_files.insert(path.display().to_string(), hash(path)?);
            if let Some(sig) = &src.signature {
                let sig_path = path.with_file_name(&sig.file);
                local_files.insert(sig_path.display().to_string(), hash(&sig_path)?);
            }
        }
        if let Some(sig) = &src.signature {
            local_files.insert(sig.keyring.display().to_string(), hash(&sig.keyring)?);
        }
    }
    let recipe = Recipe { accepts: Vec::new(), ..inputs.recipe.clone() };
    let recipe_sha256 = crate::fsutil::sha256_reader(serde_json::to_vec(&recipe).ok()?.as_slice()).ok()?.0;
    let doc = KeyDocument {
        format: FORMAT,
        armorred: env!("CARGO_PKG_VERSION"),
        recipe_sha256,
        local_files,
        tier: inputs.tier,
        flags: inputs.flags,
        environment: inputs.environment,
        root_packages: inputs.root_packages,
        sandbox: inputs.sandbox,
    };
    let json = serde_json::to_vec(&doc).ok()?;
    crate::fsutil::sha256_reader(json.as_slice()).ok().map(|(h, _)| h)
}

/// Where the builds are kept.
pub(super) fn dir(cache: &Path) -> PathBuf {
    crate::cache::Cache::new(cache).path(crate::cache::Kind::SourceBuilds)
}

/// A verified cached build for `key`: its record and its entry directory (`destdir/`,
/// `build-record.json`, `logs/`), or `None`.
pub(super) fn lookup(cache: &Path, key: &str) -> Option<(BuildRecord, PathBuf)> {
    let entry = dir(cache).join(key);
    let meta = std::fs::symlink_metadata(&entry).ok()?;
    if !meta.is_dir() {
        return None;
    }
    let record_path = entry.join("build-record.json");
    if !std::fs::symlink_metadata(&record_path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let bytes = crate::fsutil::read_regular_bounded(&record_path, MAX_RECORD).ok()?;
    let record: BuildRecord = serde_json::from_slice(&bytes).ok()?;
    verify_outputs(&record, &entry).then_some((record, entry))
}

/// Whether the entry holds only directories, regular files and symlinks (anything else could
/// not be copied out, a FIFO could block), and `destdir` exactly the regular files `record`
/// lists, each at a plain relative path with its size and sha256.
fn verify_outputs(record: &BuildRecord, entry: &Path) -> bool {
    let destdir = entry.join("destdir");
    let mut files = 0usize;
    for e in walkdir::WalkDir::new(entry).follow_links(false) {
        let Ok(e) = e else { return false };
        let ft = e.file_type();
        if !(ft.is_dir() || ft.is_file() || ft.is_symlink()) {
            return false;
        }
        if ft.is_file() && e.path().starts_with(&destdir) {
            files += 1;
        }
    }
    files == record.outputs.len()
        && record.outputs.iter().all(|o| {
            let plain = o.path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
            let p = destdir.join(&o.path);
            plain
                && std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() == o.size)
                && crate::fsutil::sha256_file(&p).is_ok_and(|h| h == o.sha256)
        })
}

/// Keeps the finished build in `out` (`destdir/`, `build-record.json`) under `key`. A copy is
/// staged in a private temporary directory and renamed into place, so a reader never sees half
/// an entry; when another build stored the same key first, that entry stays.
pub(super) fn store(cache: &Path, key: &str, out: &Path) -> std::io::Result<()> {
    let root = crate::cache::Cache::new(cache).create(crate::cache::Kind::SourceBuilds)?;
    let stage = tempfile::Builder::new().prefix(".store-").tempdir_in(&root)?;
    copy_tree(&out.join("destdir"), &stage.path().join("destdir"))?;
    if std::fs::symlink_metadata(out.join("logs")).is_ok_and(|m| m.is_dir()) {
        copy_tree(&out.join("logs"), &stage.path().join("logs"))?;
    }
    std::fs::copy(out.join("build-record.json"), stage.path().join("build-record.json"))?;
    let target = root.join(key);
    if std::fs::symlink_metadata(&target).is_ok() {
        return Ok(());
    }
    let staged = stage.keep();
    std::fs::rename(&staged, &target).or_else(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        if std::fs::symlink_metadata(&target).is_ok() {
            Ok(())
        } else {
            Err(e)
        }
    })
}

/// Copies the tree `from` to `to` (which must not exist): directories, regular files with their
/// permissions, and symlinks as links; anything else is an error.
pub(super) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry.path().strip_prefix(from).map_err(std::io::Error::other)?;
        let dst = to.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst)?;
        } else if ft.is_file() {
            std::fs::copy(entry.path(), &dst)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dst)?;
        } else {
            return Err(std::io::Error::other(format!(
                "{} is not a file, directory or symlink",
                entry.path().display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::build::compile::record::OutputRecord;

    fn golden() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/source_build/build-record.golden.json"),
        )
        .unwrap()
    }

    /// The record we write reads back to the same record, and serializes to the same bytes.
    #[test]
    fn build_record_round_trips() {
        let text = golden();
        let record: BuildRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(format!("{}\n", serde_json::to_string_pretty(&record).unwrap()), text);
        let bad = text.replacen("\"property\": \"relro\"", "\"property\": \"pwned\"", 1);
        assert_ne!(bad, text, "the golden record has a relro check");
        let err = serde_json::from_str::<BuildRecord>(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown checked property \"pwned\""), "{err}");
    }

    /// A finished build in `out/`: one file `usr/bin/hello` and its record.
    fn finished(dir: &Path) -> PathBuf {
        let out = dir.join("out");
        std::fs::create_dir_all(out.join("destdir/usr/bin")).unwrap();
        std::fs::write(out.join("destdir/usr/bin/hello"), b"\x7fELF hello").unwrap();
        std::os::unix::fs::symlink("hello", out.join("destdir/usr/bin/hi")).unwrap();
        std::fs::create_dir_all(out.join("logs")).unwrap();
        std::fs::write(out.join("logs/compile.log"), b"cc hello.c\n").unwrap();
        let mut record: BuildRecord = serde_json::from_str(&golden()).unwrap();
        record.outputs = vec![OutputRecord {
            path: "usr/bin/hello".into(),
            size: 10,
            sha256: crate::fsutil::sha256_file(&out.join("destdir/usr/bin/hello")).unwrap(),
        }];
        std::fs::write(out.join("build-record.json"), serde_json::to_vec_pretty(&record).unwrap()).unwrap();
        out
    }

    #[test]
    fn a_stored_build_is_found_verified_and_a_tampered_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let out = finished(dir.path());
        let key = "0".repeat(64);
        assert!(lookup(&cache, &key).is_none(), "empty cache");
        store(&cache, &key, &out).unwrap();
        let (record, entry) = lookup(&cache, &key).expect("a hit");
        assert_eq!(record.outputs.len(), 1);
        assert_eq!(std::fs::read_link(entry.join("destdir/usr/bin/hi")).unwrap(), Path::new("hello"));
        assert_eq!(std::fs::read(entry.join("logs/compile.log")).unwrap(), b"cc hello.c\n");
        // Storing the same key again keeps the first entry; nothing is left in the cache dir.
        store(&cache, &key, &out).unwrap();
        let names: Vec<_> = std::fs::read_dir(super::dir(&cache)).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(&key)]);

        // A changed output, an extra file, a missing record: each entry is refused.
        let entry = super::dir(&cache).join(&key);
        std::fs::write(entry.join("destdir/usr/bin/hello"), b"\x7fELF evil!").unwrap();
        assert!(lookup(&cache, &key).is_none(), "same size, other bytes");
        std::fs::write(entry.join("destdir/usr/bin/hello"), b"\x7fELF hello").unwrap();
        assert!(lookup(&cache, &key).is_some());
        std::fs::write(entry.join("destdir/usr/bin/extra"), b"x").unwrap();
        assert!(lookup(&cache, &key).is_none(), "a file the record does not list");
        std::fs::remove_file(entry.join("destdir/usr/bin/extra")).unwrap();
        std::fs::write(entry.join("build-record.json"), b"{").unwrap();
        assert!(lookup(&cache, &key).is_none(), "a broken record");
        // A FIFO anywhere in the entry, or an output path that climbs out: refused.
        std::fs::write(entry.join("build-record.json"), serde_json::to_vec_pretty(&record).unwrap()).unwrap();
        assert!(lookup(&cache, &key).is_some());
        let fifo = entry.join("logs/fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(lookup(&cache, &key).is_none(), "a FIFO in the entry");
        std::fs::remove_file(&fifo).unwrap();
        let mut climbing = record.clone();
        climbing.outputs[0].path = "../destdir/usr/bin/hello".into();
        std::fs::write(entry.join("build-record.json"), serde_json::to_vec_pretty(&climbing).unwrap()).unwrap();
        assert!(lookup(&cache, &key).is_none(), "an output path with ..");
        // A symlinked entry is never used.
        let other = "1".repeat(64);
        std::os::unix::fs::symlink(&out, super::dir(&cache).join(&other)).unwrap();
        assert!(lookup(&cache, &other).is_none());
    }

    #[test]
    fn the_key_follows_every_input() {
        let dir = tempfile::tempdir().unwrap();
        let recipe_dir = dir.path();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/source_build/protections");
        for f in ["recipe.toml", "cfi-demo.c", "fortify-demo.c"] {
            std::fs::copy(fixture.join(f), recipe_dir.join(f)).unwrap();
        }
        let recipe = crate::build::compile::recipe::load(recipe_dir).unwrap();
        let record: BuildRecord = serde_json::from_str(&golden()).unwrap();
        let env: BTreeMap<String, String> = [("JOBS".to_string(), "2".to_string())].into();
        let key_of = |tier, flags: &Flags, env: &BTreeMap<String, String>, pkgs: &[RootPackage]| {
            key(&KeyInputs {
                recipe_dir,
                recipe: &recipe,
                tier,
                flags,
                environment: env,
                root_packages: pkgs,
                sandbox: &record.sandbox,
            })
            .unwrap()
        };
        let pkgs = record.build_root.packages.clone();
        let base = key_of(Tier::Locked, &record.flags, &env, &pkgs);
        assert_eq!(base, key_of(Tier::Locked, &record.flags, &env, &pkgs), "deterministic");
        assert_ne!(base, key_of(Tier::Hardened, &record.flags, &env, &pkgs));
        let mut flags = record.flags.clone();
        flags.cflags.push("-O3".into());
        assert_ne!(base, key_of(Tier::Locked, &flags, &env, &pkgs));
        let mut pkgs2 = pkgs.clone();
        pkgs2[0].sha256 = Some("e".repeat(64));
        assert_ne!(base, key_of(Tier::Locked, &record.flags, &env, &pkgs2));
        let env2: BTreeMap<String, String> = [("JOBS".to_string(), "3".to_string())].into();
        assert_ne!(base, key_of(Tier::Locked, &record.flags, &env2, &pkgs));
        // The recipe's build fields are in the key; its accept list (read only by the pipeline's
        // gate) is not, so accepting or dropping a CVE rebuilds nothing.
        let with = |r: &Recipe| {
            key(&KeyInputs {
                recipe_dir,
                recipe: r,
                tier: Tier::Locked,
                flags: &record.flags,
                environment: &env,
                root_packages: &pkgs,
                sandbox: &record.sandbox,
            })
            .unwrap()
        };
        let mut accepting = recipe.clone();
        accepting.accepts.push(crate::spec::Accept { id: "CVE-2026-1".into(), reason: "r".into() });
        assert_eq!(base, with(&accepting));
        let mut step = recipe.clone();
        step.steps[0].run.push_str(" # changed");
        assert_ne!(base, with(&step));
        // A local source's content is part of the key, even with its pin unchanged.
        std::fs::write(recipe_dir.join("cfi-demo.c"), b"int main(void) { return 1; }\n").unwrap();
        assert_ne!(base, key_of(Tier::Locked, &record.flags, &env, &pkgs));
    }
}
