//! The watch end to end on real data (issue #15, "Acceptance"): nginx's hardened tier locked at
//! an older trixie nginx that the archive's pool still serves (`1.26.3-3+deb13u1`, older than
//! the suites' current one), built by the main job, signed, pushed to a real docker-registry on
//! loopback; the monitor with a DB without the advisories finds nothing; with Debian's real
//! DSA/DLA data it finds the nginx advisories fixed after u1, decides them with evidence
//! (affected: the hardened tier's closure is undecidable, Debian's modules dlopen), and the
//! upstream image's findings on packages the image does not ship `component_not_present`; it
//! re-locks, rebuilds (gate, sign, attest), pushes, writes the release notes and the OSV record,
//! and records time-to-fix. Killed inside the rebuild (after the build, after the push), the
//! next runs finish it, and it is published once. The locked tier, built and published beside
//! it, has a finding in a module it compiles out (CVE-2024-7347, mp4): decided `not_affected` /
//! `vulnerable_code_not_present` from its build facts, and never rebuilt. The same with the
//! state in PostgreSQL.
//!
//! Needs the Debian mirror, docker-registry and (for PostgreSQL) `ARMORRED_POSTGRES_URL`; it
//! builds nginx's hardened tier and its upstream reference twice (about a minute each with a
//! warm package cache) and the locked tier once (its source build shared through the cache).

#![allow(clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::text;

const OLD: &str = "1.26.3-3+deb13u1";

fn mirror_for(suite: &str) -> String {
    let m = armorred::build::debian::Mirror::discover(None).expect("the Debian mirror from the apt configuration");
    m.base_for(suite).trim_end_matches('/').to_owned()
}

/// Pins every package of source nginx at [`OLD`] from the pool of the `trixie` suite (each
/// file downloaded once to learn its size and sha256).
fn pin_old_nginx(lock: &Path, dir: &Path) {
    let text = std::fs::read_to_string(lock).expect("lock");
    let base = mirror_for("trixie");
    let mut out = String::new();
    for block in text.split("\n[[package]]\n") {
        if !block.contains("\nsource = \"nginx\"\n") {
            if !out.is_empty() {
                out.push_str("\n[[package]]\n");
            }
            out.push_str(block);
            continue;
        }
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .expect("field")
        };
        let (name, arch) = (field("name"), field("architecture"));
        let filename = format!("pool/main/n/nginx/{name}_{OLD}_{arch}.deb");
        let file = dir.join(format!("{name}.deb"));
        let url = format!("{base}/{filename}");
        let bytes = armorred::build::debian::mirror::http_get(&url).expect("an old nginx package from the pool");
        std::fs::write(&file, &bytes).expect("deb");
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        let mut b = String::new();
        for l in block.lines() {
            let k = l.split(" = ").next().unwrap_or("");
            let v = match k {
                "version" | "source_version" => format!("{k} = \"{OLD}\""),
                "suite" => "suite = \"trixie\"".into(),
                "filename" => format!("filename = \"{filename}\""),
                "size" => format!("size = {}", bytes.len()),
                "sha256" => format!("sha256 = \"{sha}\""),
                _ => l.to_owned(),
            };
            b.push_str(&v);
            b.push('\n');
        }
        out.push_str("\n[[package]]\n");
        out.push_str(b.trim_end_matches('\n'));
        if block.ends_with('\n') {
            out.push('\n');
        }
    }
    std::fs::write(lock, out).expect("write lock");
}

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_armorred"));
    c.args(args).env("COSIGN_PASSWORD", "").env_remove("ARMORRED_MONITOR_ABORT_AT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("armorred")
}

fn ok(o: &std::process::Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}\n{}", text(&o.stderr), text(&o.stdout));
    text(&o.stdout)
}

fn read(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("json")
}

fn the_watch(state: &str) {
    let Some(reg) = support::start_registry() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    eprintln!("work: {}", root.display());
    let def = support::copy_nginx_definition(root);
    std::fs::create_dir_all(root.join("debs")).expect("debs");
    pin_old_nginx(&def.join("image.lock"), &root.join("debs"));
    let key = root.join("key");
    let key = key.to_str().expect("utf-8");
    let out = root.join("out");
    let outs = out.to_str().expect("utf-8");
    let db0 = root.join("db0.db");
    let db1 = root.join("db1.db");
    let db2 = root.join("db2.db");
    let data = support::shared_data();
    let tracker = |f: &str| data.join("debian-security-advisories").join(f);
    for (db, feeds) in [
        (&db0, vec![data.join("osv-ghsa-samples")]),
        // Later: also the fixes Debian's changelogs name (nginx deb13u10 and deb13u11).
        (
            &db2,
            vec![
                tracker("tracker-json/dsa-dla.bookworm-trixie.json"),
                tracker("derived/changelog-fixes.tracker-shape.json"),
            ],
        ),
        // Debian's DSA/DLA fixed versions, and tracker entries with open trixie issues in glibc
        // (libc-bin: in the upstream image, not in ours).
        (
            &db1,
            vec![
                data.join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json"),
                support::repo()
                    .join("crates/armorred/testdata/vuln/feeds/debian/cve-list-excerpt-17.bookworm-trixie.json"),
            ],
        ),
    ] {
        for f in feeds {
            ok(
                &run(&["db", "import", "--db", db.to_str().expect("utf-8"), f.to_str().expect("utf-8")], &[]),
                "db import",
            );
        }
    }
    // The main job: the hardened tier at the old nginx, and the locked tier, signed.
    let d = def.to_str().expect("utf-8");
    let db0s = db0.to_str().expect("utf-8");
    let pipeline =
        run(&["pipeline", d, "--out", outs, "--tier", "hardened", "--tier", "locked", "--key", key, "--db", db0s], &[]);
    ok(&pipeline, "pipeline");
    let summary = read(&out.join("nginx/hardened/summary.json"));
    let old_digest = summary["digest"].as_str().expect("digest").to_owned();
    let layout = summary["source"].as_str().expect("source").to_owned();
    // Published to the registry.
    let target = format!("registry:{}/nginx:hardened", reg.addr);
    ok(&run(&["push", &layout, &target], &[]), "push");
    let locked = read(&out.join("nginx/locked/summary.json"));
    let locked_digest = locked["digest"].as_str().expect("digest").to_owned();
    let locked_layout = locked["source"].as_str().expect("source").to_owned();
    ok(&run(&["push", &locked_layout, &format!("registry:{}/nginx:locked", reg.addr)], &[]), "push locked");
    let policy = root.join("monitor.toml");
    // Debian's tracker gives these advisories no severity ("not yet assigned"): the policy
    // rebuilds for any. Its test of a rebuilt image first fails, then verifies the new image's
    // signature with the catalog's key (armorred verify on the rebuilt layout).
    let base = "[rebuild]\nmin_severity = \"unknown\"\nmax_per_run = 2\n";
    let failing = format!(
        "{base}test = [\"/bin/sh\", \"-c\", \"echo smoke test of $0 on $1; exit 3\", \"{{image}}:{{tier}}\", \"{{layout}}\"]\n"
    );
    let verifying = format!(
        "{base}test = [{:?}, \"verify\", \"--key\", \"{key}.pub\", \"oci-dir:{{layout}}\"]\ntest_timeout_minutes = 5\n",
        env!("CARGO_BIN_EXE_armorred")
    );
    std::fs::write(&policy, &failing).expect("policy");
    let monitor = |db: &Path, abort: Option<&str>| {
        let mut args = vec!["monitor", "run", "--from", outs, "--state", state, "--db", db.to_str().expect("utf-8")];
        args.extend(["--rebuild", "--policy", policy.to_str().expect("utf-8"), "--registry", &reg.addr, "--key", key]);
        let env: Vec<(&str, &str)> = abort.map(|a| vec![("ARMORRED_MONITOR_ABORT_AT", a)]).unwrap_or_default();
        run(&args, &env)
    };
    // Nothing with the DB that lacks the advisories.
    let first = ok(&monitor(&db0, None), "monitor, old DB");
    assert!(first.contains("0 findings, 0 new"), "{first}");
    assert!(!first.contains("rebuild "), "{first}");
    // With them, the test failing: the rebuild fails before anything is pushed (exit 1).
    let failed = monitor(&db1, None);
    let said = text(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{said}\n{}", text(&failed.stderr));
    assert!(said.contains("rebuild nginx:hardened@") && said.contains("\tfailed\t"), "{said}");
    assert!(said.contains("  the test /bin/sh exited with 3 (log: "), "{said}");
    assert!(said.contains("\n  smoke test of nginx:hardened on "), "{said}");
    assert!(!said.contains("published"), "{said}");
    // The test passing: killed after the build, then after the push, then finished (each a
    // new attempt after the failed one).
    std::fs::write(&policy, &verifying).expect("policy");
    let killed = monitor(&db1, Some("rebuilt"));
    assert!(!killed.status.success(), "not stopped: {}", text(&killed.stdout));
    let killed = monitor(&db1, Some("pushed"));
    assert!(!killed.status.success(), "not stopped: {}", text(&killed.stdout));
    let done = ok(&monitor(&db1, None), "monitor, new DB");
    assert!(done.contains("rebuild nginx:hardened@") && done.contains("\tpublished\tARMORRED-"), "{done}");
    // Once more: nothing rebuilt again, nothing published twice.
    let again = ok(&monitor(&db1, None), "monitor, again");
    if again.contains("\tpublished\t") {
        let keep = tmp.keep();
        panic!("published again (kept {}): {again}", keep.display());
    }
    let status = {
        let o = run(&["monitor", "status", "--from", outs, "--state", state], &[]);
        serde_json::from_str::<serde_json::Value>(&ok(&o, "status")).expect("json")
    };
    let images = status["images"].as_array().expect("images");
    let old = images.iter().find(|i| i["image"]["digest"] == old_digest.as_str()).expect("old image");
    let rebuilds = old["rebuilds"].as_array().expect("rebuilds");
    assert_eq!(rebuilds.len(), 2, "{old}");
    assert_eq!(rebuilds.iter().filter(|r| r["state"] == "failed").count(), 1, "{old}");
    let r = rebuilds.iter().find(|r| r["state"] != "failed").expect("the rebuild after the failed one");
    let f = rebuilds.iter().find(|r| r["state"] == "failed").expect("the failed rebuild");
    assert!(f["detail"].as_str().is_some_and(|d| d.contains("exited with 3")), "{f}");
    // The failed attempt published nothing: the retry keeps its advisory number.
    assert_eq!(r["advisory"], f["advisory"], "{old}");
    assert!(std::path::Path::new(r["summary"].as_str().expect("summary")).with_file_name("").exists());
    assert_eq!(r["state"], "published", "{r}");
    assert!(r["time_to_fix_seconds"].as_i64().is_some(), "{r}");
    let new_key = r["new_key"].as_str().expect("new key");
    assert_eq!(old["image"]["superseded_by"], new_key);
    let new_digest = r["new_digest"].as_str().expect("new digest");
    assert_ne!(new_digest, old_digest);
    assert_eq!(r["reference"], format!("registry:{}/nginx@{new_digest}", reg.addr));
    // Decisions with evidence: nginx affected (fixed by the rebuild); upstream's packages that
    // the image does not ship not_affected / component_not_present.
    let decisions = old["decisions"].as_array().expect("decisions");
    assert!(decisions.iter().all(|d| d["evidence"].as_str().is_some_and(|e| e.len() > 2)));
    assert!(decisions.iter().any(|d| d["package"] == "nginx" && d["status"] == "affected"), "{decisions:?}");
    let absent: Vec<&serde_json::Value> =
        decisions.iter().filter(|d| d["justification"] == "component_not_present").collect();
    assert!(!absent.is_empty(), "no upstream-only finding decided component_not_present");
    // The locked tier: the mp4 CVE (open in trixie, so every nginx 1.26.3 is in range) is in a
    // module it compiles out; decided from the build record and the binary, and not rebuilt.
    let lock = images.iter().find(|i| i["image"]["digest"] == locked_digest.as_str()).expect("locked image");
    let mp4 = lock["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|d| d["vulnerability"] == "CVE-2024-7347" && d["package"] == "nginx")
        .unwrap_or_else(|| panic!("no decision on the mp4 CVE: {lock}"));
    assert_eq!(mp4["status"], "not_affected", "{mp4}");
    assert_eq!(mp4["justification"], "vulnerable_code_not_present", "{mp4}");
    assert!(mp4["evidence"].as_str().is_some_and(|e| e.contains("mp4")), "{mp4}");
    assert_eq!(lock["rebuilds"].as_array().map(Vec::len), Some(0), "{lock}");
    assert!(lock["image"]["superseded_by"].is_null(), "{lock}");
    assert!(!done.contains("rebuild nginx:locked@"), "{done}");
    let fixes: Vec<serde_json::Value> = serde_json::from_str(r["fixes"].as_str().expect("fixes")).expect("json");
    assert!(fixes.iter().all(|f| f["package"] != absent[0]["package"]), "not_affected triggered a rebuild");
    assert!(fixes.iter().any(|f| f["vulnerability"] == "CVE-2026-1642" && f["installed"] == OLD), "{fixes:?}");
    // The notifications.
    let notes = std::fs::read_to_string(r["release_notes"].as_str().expect("notes")).expect("notes");
    assert!(notes.contains("CVE-2026-1642") && notes.contains(&format!("| nginx | {OLD} |")), "{notes}");
    let advisories: Vec<PathBuf> =
        std::fs::read_dir(out.join("advisories")).expect("advisories").map(|e| e.expect("entry").path()).collect();
    assert_eq!(advisories.len(), 1, "{advisories:?}");
    let osv = read(&advisories[0]);
    assert_eq!(osv["affected"][0]["versions"][0], old_digest.as_str());
    assert!(osv["aliases"].as_array().expect("aliases").iter().any(|a| a == "CVE-2026-1642"));
    if support::python_jsonschema() {
        support::validate(
            &advisories[0],
            &support::repo().join("crates/armorred/src/monitor/testdata/osv-schema.json"),
        );
    }
    // The index points at the new image; the registry serves it under the tag.
    let index = read(&out.join("index.json"));
    assert_eq!(index["images"][0]["tiers"][0]["digest"], new_digest);
    assert_eq!(index["images"][0]["tiers"][1]["digest"], locked_digest.as_str(), "the locked tier was not replaced");
    let pulled = root.join("pulled");
    let o = run(&["pull", &target, &format!("oci-dir:{}", pulled.display())], &[]);
    assert!(ok(&o, "pull").contains(new_digest), "{}", text(&o.stdout));
    // Watched from the registry alone (no out/index.json): the published images, verified
    // with the catalog's key, decided from the SBOM and VEX facts the pipeline attested.
    let watch = root.join("watch");
    let public = format!("{key}.pub");
    let args = ["monitor", "run", "--from-registry", &reg.addr, "--verify-key", &public, "--from"];
    let o = run(&[&args[..], &[watch.to_str().expect("utf-8"), "--db", db1.to_str().expect("utf-8")]].concat(), &[]);
    let said = ok(&o, "monitor --from-registry");
    assert!(said.contains(&format!("nginx:hardened@{new_digest}\t")), "{said}");
    assert!(said.contains(&format!("nginx:locked@{locked_digest}\t")), "{said}");
    assert!(said.contains("CVE-2024-7347\tnginx\tnot_affected (vulnerable_code_not_present)"), "{said}");
    assert!(!said.contains("unverified"), "{said}");
    // A rebuild from the registry alone: the old image, signed and attested, published under
    // another name is rebuilt from the definition its provenance names and pushed back to the
    // registry it came from; the build is reproducible, so it is the digest the first rebuild made.
    ok(&run(&["push", &layout, &format!("registry:{}/nginx-old:hardened", reg.addr)], &[]), "push the old image");
    let watch_db = watch.join("monitor.db");
    let args = [
        "monitor",
        "run",
        "--from-registry",
        &reg.addr,
        "--verify-key",
        &public,
        "--from",
        watch.to_str().expect("utf-8"),
        "--db",
        db1.to_str().expect("utf-8"),
        "--rebuild",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--key",
        key,
    ];
    let said = ok(&run(&args, &[]), "monitor --from-registry --rebuild");
    assert!(said.contains(&format!("rebuild nginx-old:hardened@{old_digest}\tpublished\tARMORRED-")), "{said}");
    assert!(said.contains(&format!("  published nginx-old:hardened@{new_digest}")), "{said}");
    assert!(!said.contains("rebuild nginx:hardened@"), "the current image has nothing to fix: {said}");
    let o = run(&["verify", "--key", &public, &format!("registry:{}/nginx-old:hardened", reg.addr)], &[]);
    assert!(ok(&o, "verify the pushed rebuild").contains(new_digest), "{}", text(&o.stderr));
    let o = run(
        &["monitor", "status", "--from", watch.to_str().expect("utf-8"), "--state", watch_db.to_str().expect("utf-8")],
        &[],
    );
    let watched: serde_json::Value = serde_json::from_str(&ok(&o, "status")).expect("json");
    let old_img = watched["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["image"]["key"] == format!("nginx-old:hardened@{old_digest}").as_str())
        .expect("the old image");
    let rb = &old_img["rebuilds"][0];
    assert_eq!(rb["reference"], format!("registry:{}/nginx-old@{new_digest}", reg.addr), "{rb}");
    let notes = std::fs::read_to_string(rb["release_notes"].as_str().expect("notes")).expect("notes");
    assert!(notes.contains("CVE-2026-1642"), "{notes}");
    // Later, a DB that knows the fixes of nginx deb13u10 and deb13u11: the locked tier's Debian
    // source is pinned at the newest revision the mirror's pool serves; the newer ones are listed
    // in the suites' Sources.xz but not served: reported unavailable (nothing pinned, nothing
    // recorded), and not for the compiled-out module's CVE.
    let later = ok(&monitor(&db2, None), "monitor, a DB with newer source fixes");
    let locked_lines: Vec<&str> = later.lines().filter(|l| l.starts_with("rebuild nginx:locked@")).collect();
    assert_eq!(locked_lines.len(), 1, "{later}");
    assert!(locked_lines[0].contains("\tunavailable\t"), "{later}");
    assert!(
        later.contains(
            "  not rebuilt: nginx is pinned at 1.26.3-3+deb13u9; newer revisions are listed but not served: "
        ),
        "{later}"
    );
    assert!(later.contains("nginx 1.26.3-3+deb13u11 (trixie-security, fixes CVE-"), "{later}");
    assert!(later.contains(": the pool answers 404 for nginx_1.26.3-3+deb13u11.debian.tar.xz"), "{later}");
    let detail = later.split("rebuild nginx:locked@").nth(1).and_then(|r| r.lines().nth(1)).unwrap_or_default();
    assert!(!detail.contains("CVE-2024-7347"), "{later}");
    assert!(!later.contains("\tpublished\t"), "{later}");
    let _ = std::fs::remove_dir_all(root.join("debs"));
}

#[test]
fn monitor_rebuilds_sqlite() {
    let tmp = tempfile::tempdir().expect("tmp");
    the_watch(tmp.path().join("monitor.db").to_str().expect("utf-8"));
}

#[test]
fn monitor_rebuilds_postgres() {
    let Some(pg) = support::postgres_database("armorred_rebuild") else { return };
    the_watch(&pg.url);
}
