//! Pipeline tests that need no network: a definition whose lock points at crafted `.deb`s
//! already in the cache.

use super::debian::deb::tests::make_deb;
use super::debian::lock::{LockedPackage, LockedSuite};
use super::debian::Lock;
use super::output::previous_source_build;
use super::*;
use crate::fstree::Tree;
use crate::spec::ImageSpec;

const SPEC: &str = r#"
name = "tiny"
packages = ["tiny"]
[debian]
suites = ["trixie"]
architecture = "amd64"
[image]
cmd = ["/usr/bin/tiny"]
[tiers.hardened]
"#;

/// A definition directory, a cache holding `deb` as the only package, and its lock.
fn fixture(deb: &[u8]) -> (tempfile::TempDir, PathBuf, Cache) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("def");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("image.toml"), SPEC).expect("spec");
    let cache = Cache::new(tmp.path().join("cache"));
    let (sha, size) = crate::fsutil::sha256_reader(deb).expect("hash");
    std::fs::create_dir_all(cache.dir().join("sha256")).expect("mkdir");
    std::fs::write(cache.path_of(&sha), deb).expect("cache");
    let spec = ImageSpec::load(&dir).expect("spec");
    let lock = Lock {
        lock_version: 1,
        architecture: "amd64".into(),
        inputs_digest: spec.lock_inputs_digest(&Default::default()),
        tiers: [(Tier::Hardened, vec!["tiny".to_string()])].into(),
        build_roots: Default::default(),
        suites: vec![LockedSuite {
            name: "trixie".into(),
            date: "Sat, 09 Aug 2025 09:25:47 UTC".into(),
            date_epoch: 1754731547,
            inrelease_sha256: "00".into(),
            signed_by: "00".into(),
        }],
        packages: vec![LockedPackage {
            name: "tiny".into(),
            version: "1".into(),
            architecture: "all".into(),
            source: "tiny".into(),
            source_version: "1".into(),
            suite: "trixie".into(),
            filename: "pool/main/t/tiny/tiny_1_all.deb".into(),
            size,
            sha256: sha,
        }],
    };
    std::fs::write(dir.join("image.lock"), lock.to_toml()).expect("lock");
    (tmp, dir, cache)
}

fn opts(out: &Path, cache: Cache) -> BuildOptions<'static> {
    BuildOptions {
        tier: Tier::Hardened,
        output: Output::OciDir(out.to_path_buf()),
        cache,
        // Unroutable: every package must come from the cache.
        mirror: Some(Mirror::from_base("http://127.0.0.1:9/debian")),
        source_date_epoch: None,
        revision: None,
        progress: None,
        reuse: true,
    }
}

#[test]
fn builds_from_cache_with_package_database() {
    let deb = make_deb(&[("./usr/", 'd', ""), ("./usr/bin/", 'd', ""), ("./usr/bin/tiny", 'f', "not elf")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let out = tmp.path().join("out/oci");
    let r = build(&dir, &opts(&out, cache.clone())).expect("build");
    assert_eq!(r.packages, 1);
    assert_eq!(r.source_date_epoch, 1754731547);
    assert!(r.gate.passed());
    assert!(out.join("index.json").is_file());
    let bytes = std::fs::read(&r.record).expect("record");
    // The typed record reads back to the same bytes.
    let typed = super::record::parse(&bytes, &r.record).expect("typed record");
    let mut again = serde_json::to_vec_pretty(&typed).expect("json");
    again.push(b'\n');
    assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&bytes));
    let record: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(record["output"]["manifest_digest"], serde_json::json!(r.manifest_digest));
    assert_eq!(record["tier"], "hardened");
    assert_eq!(record["inputs"]["packages"][0]["name"], "tiny");
    // Golden, with only the timings redacted.
    let mut redacted = record.clone();
    for key in ["timings_ms", "started_on", "finished_on"] {
        redacted[key] = serde_json::json!("<redacted>");
    }
    let got = serde_json::to_string_pretty(&redacted).expect("json") + "\n";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/build/record.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).expect("write golden");
    }
    assert_eq!(got, std::fs::read_to_string(&golden).unwrap_or_default(), "UPDATE_GOLDEN=1 to refresh");
    // Same inputs elsewhere: same digest. Another SOURCE_DATE_EPOCH: another digest.
    let again = build(&dir, &opts(&tmp.path().join("elsewhere/oci"), cache.clone())).expect("again");
    assert_eq!(again.manifest_digest, r.manifest_digest);
    let mut o = opts(&tmp.path().join("later/oci"), cache);
    o.source_date_epoch = Some(1754731548);
    assert_ne!(build(&dir, &o).expect("later").manifest_digest, r.manifest_digest);
}

#[test]
#[allow(clippy::type_complexity)]
fn hostile_packages_write_nothing() {
    let cases: &[(&[(&str, char, &str)], &str)] = &[
        (&[("./../../etc/passwd", 'f', "x")], "tiny: data.tar.xz: path \"./../../etc/passwd\" contains `..`"),
        (
            &[("./usr/", 'd', ""), ("./usr/evil", 'l', "../../../../etc/shadow")],
            "tiny: data.tar.xz: symlink \"usr/evil\" -> \"../../../../etc/shadow\" escapes the root",
        ),
        (
            &[("./etc", 'l', "/tmp/x"), ("./etc/cron", 'f', "x")],
            "tiny: data.tar.xz: \"etc/cron\" would be written through the symlink \"etc\"",
        ),
    ];
    for (entries, want) in cases {
        let (tmp, dir, cache) = fixture(&make_deb(entries, "xz"));
        let out = tmp.path().join("out/oci");
        let err = build(&dir, &opts(&out, cache)).expect_err("must fail").to_string();
        assert_eq!(err, *want);
        assert!(!tmp.path().join("out").exists(), "output written for {want}");
        assert!(!Output::OciDir(out).record_path().exists());
    }
}

#[test]
fn stale_or_missing_lock_is_refused() {
    let deb = make_deb(&[("./usr/", 'd', "")], "");
    let (tmp, dir, cache) = fixture(&deb);
    std::fs::write(dir.join("image.toml"), SPEC.replace("packages = [\"tiny\"]", "packages = [\"tiny\", \"more\"]"))
        .expect("spec");
    let err = build(&dir, &opts(&tmp.path().join("o"), cache.clone())).expect_err("must fail").to_string();
    assert!(err.ends_with("image.lock: stale: image.toml changed since it was locked; run `armorred lock`"), "{err}");
    std::fs::remove_file(dir.join("image.lock")).expect("rm");
    let err = build(&dir, &opts(&tmp.path().join("o"), cache)).expect_err("must fail").to_string();
    assert!(err.ends_with("image.lock: no lock file: run `armorred lock` first"), "{err}");
}

#[test]
fn outputs_parse() {
    assert_eq!("oci-dir:out".parse::<Output>(), Ok(Output::OciDir("out".into())));
    assert_eq!("docker-archive:a.tar".parse::<Output>(), Ok(Output::DockerArchive("a.tar".into())));
    assert!("tarball:x".parse::<Output>().is_err());
    assert_eq!(Output::OciDir("a/oci".into()).record_path(), PathBuf::from("a/oci.build.json"));
}

#[test]
fn a_files_source_symlinked_to_the_host_is_refused_and_nothing_is_written() {
    let deb = make_deb(&[("./usr/", 'd', "")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::os::unix::fs::symlink("/proc/self/environ", dir.join("files/env")).expect("symlink");
    std::fs::write(dir.join("image.toml"), format!("{SPEC}\n[[files]]\npath = \"/etc/env\"\nsource = \"files/env\"\n"))
        .expect("spec");
    let out = tmp.path().join("out/oci");
    let err = build(&dir, &opts(&out, cache)).expect_err("must fail").to_string();
    assert!(err.contains("image.toml: files[0].source: "), "{err}");
    assert!(err.contains("files/env resolves to /proc/"), "{err}");
    assert!(err.contains("outside the definition's directory"), "{err}");
    assert!(!tmp.path().join("out").exists());

    // The assembly reads through the same check (the definition may change after parsing).
    let spec = ImageSpec::parse(
        Path::new("image.toml"),
        &format!("{SPEC}\n[[files]]\npath = \"/etc/env\"\nsource = \"files/env\"\n"),
        None,
    )
    .expect("parses without a directory");
    let mut tree = Tree::new();
    let tier = spec.tier(Tier::Hardened).expect("tier").clone();
    let err = debian::rootfs::finish(&mut tree, &spec, &tier, &dir, &[]).expect_err("must fail");
    assert!(err.starts_with("[[files]] /etc/env: source files/env: "), "{err}");
    assert!(err.contains("outside the definition's directory"), "{err}");
    assert!(tree.get("etc/env").is_none());
}

#[test]
fn recipe_files_symlinked_out_of_the_definition_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let nginx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx");
    compile::load_checked(&nginx).expect("the nginx recipe is fine");
    std::fs::copy(nginx.join("recipe.toml"), dir.join("recipe.toml")).expect("copy");
    std::fs::create_dir(dir.join("keys")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/passwd", dir.join("keys/nginx-signing-keys.asc")).expect("symlink");
    let err = compile::load_checked(dir).expect_err("must fail").to_string();
    assert!(err.contains("keyring: "), "{err}");
    assert!(err.contains("keys/nginx-signing-keys.asc resolves to /etc/passwd, outside"), "{err}");
    std::fs::remove_file(dir.join("recipe.toml")).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", dir.join("recipe.toml")).expect("symlink");
    let err = compile::load_checked(dir).expect_err("must fail").to_string();
    assert!(err.contains("recipe.toml resolves to /etc/passwd, outside"), "{err}");
}

#[test]
fn the_gate_tree_lives_in_the_cache_and_what_a_killed_build_left_is_removed() {
    let deb = make_deb(&[("./usr/", 'd', ""), ("./usr/bin/", 'd', ""), ("./usr/bin/tiny", 'f', "not elf")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let scratch = cache.dir().join("tmp");
    // Left by a killed build (a PID above pid_max never runs), by this process, and not ours.
    let dead = scratch.join("rootfs-4294967295-Ab12Cd/rootfs/etc");
    let alive = scratch.join(format!("rootfs-{}-Xy34Zw", std::process::id()));
    std::fs::create_dir_all(&dead).expect("mkdir");
    std::fs::create_dir_all(&alive).expect("mkdir");
    std::fs::write(scratch.join("notes"), b"x").expect("write");
    build(&dir, &opts(&tmp.path().join("out/oci"), cache.clone())).expect("build");
    let mut left: Vec<String> = std::fs::read_dir(&scratch)
        .expect("scratch")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["notes".to_string(), format!("rootfs-{}-Xy34Zw", std::process::id())]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&scratch).expect("meta").permissions().mode() & 0o777, 0o700);
}

#[test]
fn only_a_previous_source_build_is_replaced() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("oci.source-build");
    assert!(!previous_source_build(&out).expect("absent"));
    std::fs::create_dir_all(out.join("destdir/usr")).expect("mkdir");
    std::fs::create_dir_all(out.join("logs")).expect("mkdir");
    std::fs::write(out.join("build-record.json"), "{}").expect("write");
    assert!(previous_source_build(&out).expect("ours"));
    std::fs::write(out.join("thesis.tex"), "x").expect("write");
    let err = previous_source_build(&out).expect_err("not ours").to_string();
    assert!(
        err.ends_with("holds \"thesis.tex\", which a source build does not write; refusing to replace it"),
        "{err}"
    );
    let link = tmp.path().join("link.source-build");
    std::os::unix::fs::symlink(&out, &link).expect("symlink");
    let err = previous_source_build(&link).expect_err("symlink").to_string();
    assert!(err.ends_with("is a symbolic link, not a previous source build; refusing to replace it"), "{err}");
    let other = tmp.path().join("other.source-build");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::create_dir(other.join("destdir")).expect("mkdir");
    assert!(previous_source_build(&other).expect_err("no record").to_string().contains("has no build-record.json"));
}

#[test]
fn an_image_lock_that_is_a_fifo_or_leads_out_is_refused_without_hanging() {
    let deb = make_deb(&[("./usr/", 'd', "")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let lock_file = dir.join("image.lock");
    let lock = Lock::read(&lock_file).expect("lock");
    std::fs::remove_file(&lock_file).expect("rm");
    assert!(std::process::Command::new("mkfifo").arg(&lock_file).status().expect("mkfifo").success());
    let err = build(&dir, &opts(&tmp.path().join("o"), cache.clone())).expect_err("fifo").to_string();
    assert!(err.ends_with("image.lock is a FIFO, not a regular file"), "{err}");
    let err = write_lock(&lock_file, &lock, true).expect_err("fifo").to_string();
    assert!(err.ends_with("image.lock is a FIFO, not a regular file"), "{err}");
    std::fs::remove_file(&lock_file).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", &lock_file).expect("symlink");
    let err = build(&dir, &opts(&tmp.path().join("o"), cache)).expect_err("outside").to_string();
    assert!(err.contains("image.lock resolves to /etc/passwd, outside"), "{err}");
}

#[test]
fn each_stage_wraps_its_error_and_the_message_reads_as_before() {
    let deb = make_deb(&[("./../../etc/passwd", 'f', "x")], "xz");
    let (tmp, dir, cache) = fixture(&deb);
    let err = build(&dir, &opts(&tmp.path().join("o"), cache.clone())).expect_err("hostile");
    assert_eq!(err.stage(), Some(Stage::Assemble));
    assert!(matches!(err.cause(), BuildError::Debian(DebianError::Deb { .. })), "{err:?}");
    assert_eq!(err.to_string(), "tiny: data.tar.xz: path \"./../../etc/passwd\" contains `..`");
    assert!(std::error::Error::source(&err).is_none(), "the chain repeats no message");

    std::fs::remove_file(dir.join("image.lock")).expect("rm");
    let err = build(&dir, &opts(&tmp.path().join("o"), cache)).expect_err("no lock");
    assert_eq!(err.stage(), Some(Stage::Lock));
    assert!(matches!(err.cause(), BuildError::Lock { .. }), "{err:?}");
    assert_eq!(Stage::ALL.map(Stage::name), ["lock", "assemble", "gate", "config", "write"]);
}

/// The host's C library, wherever this machine keeps it.
fn host_libc() -> Option<PathBuf> {
    ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
        .iter()
        .map(|d| Path::new(d).join("libc.so.6"))
        .find(|p| p.is_file())
}

#[test]
fn the_reports_checksec_is_what_scanning_the_written_image_gives() {
    use crate::source::{Limits, OpenOptions, Source};
    // A broken ELF file (magic, then nothing an ELF header holds) among plain files. (One
    // shorter than an ELF header, 52 bytes, is not here: the gate's scan reports it as broken,
    // the image reader skips it as too small to be ELF.)
    let broken = format!("\u{7f}ELF{}", "x".repeat(60));
    let deb = make_deb(
        &[
            ("./usr/", 'd', ""),
            ("./usr/bin/", 'd', ""),
            ("./usr/bin/tiny", 'f', "not elf"),
            ("./usr/bin/broken", 'f', &broken),
        ],
        "gz",
    );
    let (tmp, dir, cache) = fixture(&deb);
    // Real ELF files from the host: an executable and the C library it is judged against.
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::fs::copy("/usr/bin/true", dir.join("files/true")).expect("copy true");
    let mut files = "[[files]]\npath = \"/usr/bin/true\"\nsource = \"files/true\"\nmode = \"0755\"\n".to_string();
    if let Some(libc) = host_libc() {
        std::fs::copy(&libc, dir.join("files/libc.so.6")).expect("copy libc");
        files += "[[files]]\npath = \"/usr/lib/libc.so.6\"\nsource = \"files/libc.so.6\"\n";
    }
    std::fs::write(dir.join("image.toml"), format!("{SPEC}\n[checksec]\nenforce = false\n{files}")).expect("spec");
    let mut lock = Lock::read(&dir.join("image.lock")).expect("lock");
    let spec = ImageSpec::load(&dir).expect("spec");
    lock.inputs_digest = spec.lock_inputs_digest(&Default::default());
    std::fs::write(dir.join("image.lock"), lock.to_toml()).expect("lock");

    let out = tmp.path().join("out/oci");
    let r = build(&dir, &opts(&out, cache.clone())).expect("build");
    // Built again unchanged, the output is reused and the kept scan read back: the same
    // reports, the broken file's error with the same message.
    let reused = build(&dir, &opts(&out, cache)).expect("reuse");
    assert!(reused.reused);
    assert_eq!(reused.checksec.entries.len(), r.checksec.entries.len());
    for (path, entry) in &r.checksec.entries {
        match (entry, &reused.checksec.entries[path]) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", path.display()),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{}", path.display()),
            (a, b) => panic!("{}: built {a:?}, reused {b:?}", path.display()),
        }
    }
    let image = Source::parse(&format!("oci-dir:{}", out.display()))
        .and_then(|s| s.open(&OpenOptions::default()))
        .expect("open the written image");
    let scanned = crate::report::image_checksec(&image, &Limits::default()).expect("scan the written image");

    let paths = |s: &crate::elf::ScanReport| s.entries.keys().map(|p| p.display().to_string()).collect::<Vec<_>>();
    assert_eq!(paths(&r.checksec), paths(&scanned));
    assert!(paths(&r.checksec).contains(&"/usr/bin/true".to_string()), "{:?}", paths(&r.checksec));
    assert!(paths(&r.checksec).contains(&"/usr/bin/broken".to_string()), "{:?}", paths(&r.checksec));
    for (path, entry) in &r.checksec.entries {
        match (entry, &scanned.entries[path]) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", path.display()),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{}: the build has {a:?}, the image {b:?}", path.display()),
        }
    }
    // Same verdicts: every policy judges both the same.
    let root = Path::new("/nonexistent");
    for tier in [Tier::Hardened, Tier::Locked] {
        let judged = |s| {
            let v = crate::elf::policy::evaluate(tier, s, root);
            let violations: Vec<_> = v.violations.iter().map(|v| (v.path.clone(), v.property)).collect();
            (v.files, violations, v.waivers.len())
        };
        assert_eq!(judged(&r.checksec), judged(&scanned), "{tier}");
    }
    assert_eq!(r.gate.files, r.checksec.entries.len());
}

#[test]
fn the_gate_stops_the_build_with_its_verdict_and_nothing_is_written() {
    let broken = format!("\u{7f}ELF{}", "x".repeat(60));
    let deb = make_deb(&[("./usr/", 'd', ""), ("./usr/bin/", 'd', ""), ("./usr/bin/broken", 'f', &broken)], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let out = tmp.path().join("out/oci");
    let err = build(&dir, &opts(&out, cache)).expect_err("gate");
    assert_eq!(err.stage(), Some(Stage::Gate));
    let verdict = err.gate_verdict().expect("the verdict");
    assert_eq!((verdict.files, verdict.violations.len()), (1, 1));
    assert_eq!(
        (verdict.violations[0].path.as_str(), verdict.violations[0].property.as_str()),
        ("/usr/bin/broken", "elf")
    );
    let msg = err.to_string();
    assert!(msg.starts_with("checksec gate (hardened): 1 violation(s) not allowed by [checksec] in image.toml, first: /usr/bin/broken elf: "), "{msg}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn progress_reports_each_step_then_its_result_in_order() {
    let deb = make_deb(&[("./usr/", 'd', ""), ("./usr/bin/", 'd', ""), ("./usr/bin/tiny", 'f', "not elf")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let events = std::sync::Mutex::new(Vec::new());
    let record = |p: Progress<'_>| {
        let line = match p {
            Progress::Stage(s) => format!("start {s}"),
            Progress::Package { name, done, total } => format!("package {name} {done}/{total}"),
            Progress::Done { step, result } => format!("done {step}: {result}"),
            Progress::Source(s) => format!("source {s:?}"),
        };
        events.lock().expect("lock").push(line);
    };
    let mut o = opts(&tmp.path().join("out/oci"), cache);
    o.progress = Some(&record);
    let r = build(&dir, &o).expect("build");
    let mut events = events.into_inner().expect("lock");
    // The file count is the tree's: a number, redacted.
    let files = events[6].trim_start_matches("done unpack and assemble: ").trim_end_matches(" files");
    assert!(files.parse::<usize>().is_ok_and(|n| n > 0), "{}", events[6]);
    events[6] = "done unpack and assemble: <n> files".into();
    assert_eq!(
        events,
        [
            "start load definition and lock".to_string(),
            "done load definition and lock: tiny:hardened locked, 1 packages".into(),
            "start fetch packages".into(),
            "package tiny 1/1".into(),
            "done fetch packages: 1 packages verified".into(),
            "start unpack and assemble".into(),
            "done unpack and assemble: <n> files".into(),
            "start checksec gate".into(),
            "done checksec gate: pass (hardened): 0 ELF files, 0 violations, 0 allowed".into(),
            "start write image".into(),
            format!("done write image: {} ({:.1} MB compressed)", r.manifest_digest, r.compressed_size as f64 / 1e6),
        ]
    );
}

/// The index.json entries of the layout at `out`.
fn index_entries(out: &Path) -> Vec<serde_json::Value> {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    index["manifests"].as_array().unwrap().clone()
}

fn blob_names(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
#[allow(clippy::unwrap_used)]
fn an_unchanged_build_is_reused_only_while_its_output_is_intact() {
    let deb = make_deb(&[("./usr/", 'd', ""), ("./usr/bin/", 'd', ""), ("./usr/bin/tiny", 'f', "not elf")], "gz");
    let (tmp, dir, cache) = fixture(&deb);
    let out = tmp.path().join("out/oci");
    let first = build(&dir, &opts(&out, cache.clone())).unwrap();
    assert!(!first.reused);
    let record = std::fs::read(&first.record).unwrap();
    let blobs = blob_names(&out);

    // The same inputs into the same output: nothing is built; the report is the build's.
    let second = build(&dir, &opts(&out, cache.clone())).unwrap();
    assert!(second.reused, "unchanged inputs and output");
    assert_eq!(second.manifest_digest, first.manifest_digest);
    assert_eq!(
        (second.files, second.packages, second.compressed_size),
        (first.files, first.packages, first.compressed_size)
    );
    assert_eq!((&second.started_on, &second.finished_on), (&first.started_on, &first.finished_on), "the build's times");
    assert_eq!(
        crate::elf::checksec_json::scan_object(&second.checksec, true),
        crate::elf::checksec_json::scan_object(&first.checksec, true)
    );
    assert_eq!(std::fs::read(&second.record).unwrap(), record, "the record is left as the build wrote it");
    assert!(second.timings.contains_key("reuse"));

    // A signature attached since is dropped, as a rebuild drops it: the layout is the build's.
    let key = crate::sign::key::PrivateKey::generate();
    let store = crate::sign::layout::OciDir::new(&out);
    let sign_opts = crate::sign::simple::SignOptions { reference: Some("tiny".into()), ..Default::default() };
    crate::sign::simple::sign(&store, &key, &sign_opts).unwrap();
    assert_eq!(index_entries(&out).len(), 2);
    let third = build(&dir, &opts(&out, cache.clone())).unwrap();
    assert!(third.reused);
    assert_eq!(index_entries(&out).len(), 1, "the signature's entry is gone");
    assert_eq!(blob_names(&out), blobs, "and its blobs");

    // Without reuse, a changed layer, a changed record or a changed definition: built again,
    // to the same digest.
    let mut no_reuse = opts(&out, cache.clone());
    no_reuse.reuse = false;
    assert!(!build(&dir, &no_reuse).unwrap().reused);
    let layer = blobs
        .iter()
        .map(|b| out.join("blobs/sha256").join(b))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&layer, &bytes).unwrap();
    let rebuilt = build(&dir, &opts(&out, cache.clone())).unwrap();
    assert!(!rebuilt.reused, "a layer of the same size, other bytes");
    assert_eq!(rebuilt.manifest_digest, first.manifest_digest);
    assert_eq!(blob_names(&out), blobs);
    assert!(build(&dir, &opts(&out, cache.clone())).unwrap().reused);
    std::fs::write(&first.record, b"{}").unwrap();
    assert!(!build(&dir, &opts(&out, cache.clone())).unwrap().reused, "a changed record");
    std::fs::write(dir.join("NOTES"), b"a file of the definition").unwrap();
    assert!(!build(&dir, &opts(&out, cache.clone())).unwrap().reused, "a changed definition directory");
    assert!(build(&dir, &opts(&out, cache.clone())).unwrap().reused);
    // Another output of the same inputs is its own build; a hostile entry is never used.
    let elsewhere = tmp.path().join("elsewhere/oci");
    assert!(!build(&dir, &opts(&elsewhere, cache.clone())).unwrap().reused);
    for entry in std::fs::read_dir(cache.path(crate::cache::Kind::Builds)).unwrap() {
        std::fs::write(entry.unwrap().path(), b"{not json").unwrap();
    }
    assert!(!build(&dir, &opts(&out, cache.clone())).unwrap().reused, "an entry that does not parse");
    assert!(build(&dir, &opts(&out, cache)).unwrap().reused, "and stored again by that build");
}
