//! `armorred monitor`: rescans of a published catalog (the trimmed real pipeline output of
//! `testdata/site` with the VEX facts our nginx images gave, `testdata/vex`) against a DB without
//! and then with real Debian advisories (`testdata/vuln/feeds/debian`), in SQLite and in a real
//! PostgreSQL; and crash safety: the run killed (SIGABRT, as a kill) at each point, then run
//! again, leaves the state a clean run leaves, each scan recorded once.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{armorred, text};

fn testdata() -> PathBuf {
    support::repo().join("crates/armorred/testdata")
}

/// A published catalog in `dir/out`, and the two DBs: `db0` without the advisories, `db1` with.
fn catalog(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let out = dir.join("out");
    let copy = |from: &Path, to: &Path| {
        for e in walk(from) {
            let rel = e.strip_prefix(from).expect("inside");
            let target = to.join(rel);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&e, &target).expect("copy");
        }
    };
    copy(&testdata().join("site"), &out);
    // The facts are of another run of the same definitions (another digest): the catalog says
    // the images are those the facts describe.
    let read =
        |p: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json") };
    let mut index = read(&out.join("index.json"));
    for (i, tier) in ["hardened", "locked"].iter().enumerate() {
        let d = out.join("nginx").join(tier);
        let facts = testdata().join(format!("vex/nginx-{tier}.vex.facts.json"));
        std::fs::copy(&facts, d.join("vex.facts.json")).expect("facts");
        let digest = read(&facts)["product"]["digest"].clone();
        let path = d.join("summary.json");
        let mut s = read(&path);
        s["paths"]["vex_facts"] = "vex.facts.json".into();
        s["digest"] = digest.clone();
        std::fs::write(&path, serde_json::to_vec_pretty(&s).expect("json")).expect("write");
        index["images"][0]["tiers"][i]["digest"] = digest;
    }
    std::fs::write(out.join("index.json"), serde_json::to_vec_pretty(&index).expect("json")).expect("write");
    let import = |db: &Path, feed: &Path| {
        let o = armorred(&["db", "import", "--db", db.to_str().expect("utf-8"), feed.to_str().expect("utf-8")]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    let db0 = dir.join("db0.db");
    import(&db0, &testdata().join("vuln/feeds/osv-ghsa-samples"));
    let db1 = dir.join("db1.db");
    import(&db1, &testdata().join("vuln/feeds/debian/cve-list-excerpt-17.bookworm-trixie.json"));
    (out, db0, db1)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn monitor(out: &Path, state: &str, db: &Path, abort_at: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_armorred"));
    c.args(["monitor", "run", "--from"]).arg(out).args(["--state", state, "--db"]).arg(db);
    match abort_at {
        Some(p) => c.env("ARMORRED_MONITOR_ABORT_AT", p),
        None => c.env_remove("ARMORRED_MONITOR_ABORT_AT"),
    };
    c.output().expect("run armorred monitor")
}

fn status(out: &Path, state: &str) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["monitor", "status", "--from"])
        .arg(out)
        .args(["--state", state])
        .output()
        .expect("status");
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The state without times and its own name: what must be the same after a crash and a rerun.
fn comparable(mut s: serde_json::Value) -> serde_json::Value {
    s["state"] = serde_json::Value::Null;
    for img in s["images"].as_array_mut().into_iter().flatten() {
        for list in ["scans", "findings"] {
            for row in img[list].as_array_mut().into_iter().flatten() {
                for k in ["scanned_at", "first_seen"] {
                    if row.get(k).is_some() {
                        row[k] = serde_json::Value::Null;
                    }
                }
            }
        }
        // Scans are listed by time; two runs within one second (a killed run and its retry, or
        // a clean run's two) tie, and then their order says nothing: compare them as a set.
        if let Some(scans) = img["scans"].as_array_mut() {
            scans.sort_by_key(|r| r["id"].to_string());
        }
    }
    s
}

/// The whole watch on one state: nothing found with the old DB; with the new one the findings
/// are new, each decided with evidence (the locked tier's mp4 CVE compiled out), written as
/// OpenVEX; a second run with the same DB records nothing again.
fn the_watch(out: &Path, state: &str, db0: &Path, db1: &Path) {
    let first = monitor(out, state, db0, None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("nginx:locked@sha256:6ad89f00"), "{}", text(&first.stdout));
    assert!(text(&first.stdout).lines().all(|l| !l.contains(" new") || l.contains("0 findings, 0 new")));
    let second = monitor(out, state, db1, None);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let stdout = text(&second.stdout);
    assert!(stdout.contains("CVE-2024-7347\tnginx\tnot_affected (vulnerable_code_not_present)"), "{stdout}");
    assert!(stdout.contains("CVE-2023-4911\tlibc6\taffected"), "{stdout}");
    let vex: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/locked/vex.openvex.json")).expect("vex")).expect("json");
    let st = vex["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["vulnerability"]["name"] == "CVE-2024-7347")
        .expect("the mp4 CVE");
    assert_eq!(st["justification"], "vulnerable_code_not_present");
    assert!(st["status_notes"].as_str().is_some_and(|n| n.contains("do not include --with-http_mp4_module")), "{st}");
    let openvex = support::repo().join("../shared/data/attestation-specs/openvex/openvex_json_schema.json");
    if openvex.exists() {
        support::validate(&out.join("nginx/locked/vex.openvex.json"), &openvex);
    }
    let third = monitor(out, state, db1, None);
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert_eq!(text(&third.stdout).matches("already scanned with this DB").count(), 2, "{}", text(&third.stdout));
    let s = status(out, state);
    let locked =
        s["images"].as_array().expect("images").iter().find(|i| i["image"]["tier"] == "locked").expect("locked");
    assert_eq!(locked["scans"].as_array().map(Vec::len), Some(2), "{locked}");
    let decisions = locked["decisions"].as_array().expect("decisions");
    assert!(decisions.iter().any(|d| d["vulnerability"] == "CVE-2024-7347" && d["status"] == "not_affected"));
    assert!(decisions.iter().all(|d| d["evidence"].as_str().is_some_and(|e| e.len() > 2)), "{locked}");
}

#[test]
fn monitor_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, db0, db1) = catalog(dir.path());
    let state = dir.path().join("state/monitor.db");
    the_watch(&out, state.to_str().expect("utf-8"), &db0, &db1);
}

#[test]
fn monitor_postgres() {
    let Some(pg) = support::postgres_database("armorred_cli") else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let (out, db0, db1) = catalog(dir.path());
    the_watch(&out, &pg.url, &db0, &db1);
}

/// `--shard`: nginx (sha256 of the name, first 8 bytes, is 0 modulo 2 and 2 modulo 3) is in
/// shards 1/2 and 3/3 only; a shard without it rescans nothing; a bad shard is exit 2 naming it.
#[test]
fn monitor_runs_one_shard_of_the_catalog() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, _db0, db1) = catalog(dir.path());
    let state = dir.path().join("state.db");
    let state = state.to_str().expect("utf-8");
    let run = |shard: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_armorred"));
        c.args(["monitor", "run", "--from"]).arg(&out).args(["--state", state, "--db"]).arg(&db1);
        c.args(["--shard", shard]).env_remove("ARMORRED_MONITOR_ABORT_AT");
        c.output().expect("run armorred monitor")
    };
    for (shard, holds) in [("2/2", false), ("1/3", false), ("2/3", false), ("1/2", true), ("3/3", true)] {
        let o = run(shard);
        assert!(o.status.success(), "{shard}: {}", text(&o.stderr));
        let said = text(&o.stdout);
        assert_eq!(said.contains("nginx:locked@"), holds, "{shard}: {said}");
        assert_eq!(said.contains("nginx:hardened@"), holds, "{shard}: {said}");
    }
    let images = status(&out, state)["images"].as_array().map(Vec::len);
    assert_eq!(images, Some(2), "both tiers recorded by the shard that holds them");
    for bad in ["0/2", "3/2", "x"] {
        let o = run(bad);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(text(&o.stderr).contains("INDEX/COUNT"), "{bad}: {}", text(&o.stderr));
    }
}

/// Killed after the scan, after the document, after the transaction (of the first image): the
/// next run finishes the work, and the state is what a clean run makes.
#[test]
fn monitor_survives_a_kill_at_each_point() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, db0, db1) = catalog(dir.path());
    let clean = dir.path().join("clean.db");
    let clean = clean.to_str().expect("utf-8");
    for db in [&db0, &db1] {
        assert!(monitor(&out, clean, db, None).status.success());
    }
    let want = comparable(status(&out, clean));
    for point in ["scanned", "vex-written", "recorded"] {
        let state = dir.path().join(format!("{point}.db"));
        let state = state.to_str().expect("utf-8");
        assert!(monitor(&out, state, &db0, None).status.success());
        let killed = monitor(&out, state, &db1, Some(point));
        assert!(!killed.status.success(), "{point}: the run was not stopped");
        let again = monitor(&out, state, &db1, None);
        assert!(again.status.success(), "{point}: {}", text(&again.stderr));
        let mut got = comparable(status(&out, state));
        // Scan ids and the rest are the same; only the state's own name differs.
        got["state"] = serde_json::Value::Null;
        assert_eq!(got, want, "{point}");
    }
}

/// `--webhook`: the new decisions are posted as JSON to a local HTTP server (a real one, on
/// loopback); a run with nothing new posts nothing; a server answering 500 is an error.
#[test]
fn monitor_posts_to_a_webhook() {
    use std::io::{BufRead, BufReader, Read, Write};
    fn serve(status: &'static str) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        listener.set_nonblocking(false).expect("blocking");
        let handle = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            // One request, or none within the test's runs (the accept is ended by a last
            // connection the test makes itself).
            while let Ok((stream, _)) = listener.accept() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut len = 0usize;
                let mut line = String::new();
                let mut first = true;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if first && line.starts_with("STOP") {
                        return bodies;
                    }
                    first = false;
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).expect("body");
                bodies.push(String::from_utf8_lossy(&body).into_owned());
                let mut w = stream;
                let _ = w.write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                );
            }
            bodies
        });
        (url, handle)
    }
    fn stop(url: &str) {
        let addr = url.trim_start_matches("http://").split('/').next().expect("addr").to_owned();
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        let _ = s.write_all(b"STOP\r\n");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (out, db0, db1) = catalog(dir.path());
    let state = dir.path().join("m.db");
    let state = state.to_str().expect("utf-8");
    let (url, server) = serve("200 OK");
    let run = |db: &Path, url: &str| {
        Command::new(env!("CARGO_BIN_EXE_armorred"))
            .args(["monitor", "run", "--from"])
            .arg(&out)
            .args(["--state", state, "--db"])
            .arg(db)
            .args(["--webhook", url])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .expect("monitor")
    };
    assert!(run(&db0, &url).status.success(), "nothing new: nothing posted");
    let o = run(&db1, &url);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("notified http://127.0.0.1:"), "{}", text(&o.stderr));
    stop(&url);
    let bodies = server.join().expect("server");
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).expect("json");
    let locked = body["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["key"].as_str().is_some_and(|k| k.starts_with("nginx:locked@")))
        .expect("locked");
    assert!(
        locked["new"]
            .as_array()
            .expect("new")
            .iter()
            .any(|d| d["vulnerability"] == "CVE-2024-7347" && d["justification"] == "vulnerable_code_not_present"),
        "{locked}"
    );
    // A server that refuses: the run fails and says so (after recording: the next run posts nothing again).
    let (url, server) = serve("500 Internal Server Error");
    let fresh = dir.path().join("fresh.db");
    let o = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["monitor", "run", "--from"])
        .arg(&out)
        .args(["--state", fresh.to_str().expect("utf-8"), "--db"])
        .arg(&db1)
        .args(["--webhook", &url])
        .output()
        .expect("monitor");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("answered HTTP 500"), "{}", text(&o.stderr));
    stop(&url);
    let _ = server.join();
}

/// `armorred` with the catalog key's password.
fn signer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(args)
        .env("COSIGN_PASSWORD", "watch")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run armorred")
}

fn ok(o: &std::process::Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}\n{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

/// The monitor on a registry alone (real docker-registry on loopback), no `out/index.json`:
/// the catalog's images are found in its repositories, verified with the catalog's key, their
/// SBOM and VEX facts read from the attestations; unsigned, foreign-key and otherwise
/// unverifiable images are reported and not watched, tags and repositories that are not the
/// catalog's are ignored.
#[test]
fn monitor_watches_a_registry_alone() {
    let Some(reg) = support::start_registry() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (out, _db0, db1) = catalog(d);
    let key = d.join("catalog");
    ok(&signer(&["key", "generate", "--output-key-prefix", key.to_str().expect("utf-8")]), "key generate");
    let other = d.join("other");
    ok(&signer(&["key", "generate", "--output-key-prefix", other.to_str().expect("utf-8")]), "key generate");
    let (keys, others) = (format!("{}.key", key.display()), format!("{}.key", other.display()));
    let push = |content: &str, target: &str| -> String {
        let layout = d.join(format!("layout-{content}"));
        let digest = if layout.exists() {
            let idx: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index")).expect("json");
            idx["manifests"][0]["digest"].as_str().expect("digest").to_owned()
        } else {
            support::image_layout(&layout, content)
        };
        let t = format!("registry:{}/{target}", reg.addr);
        ok(&armorred(&["push", &format!("oci-dir:{}", layout.display()), &t]), "push");
        digest
    };
    let mut digests = Vec::new();
    for tier in ["hardened", "locked"] {
        let target = format!("armorred/nginx:{tier}");
        let digest = push(tier, &target);
        let r = format!("registry:{}/{target}", reg.addr);
        ok(&signer(&["sign", "--key", &keys, &r]), "sign");
        ok(
            &signer(&[
                "attest",
                "--key",
                &keys,
                "--type",
                "cyclonedx",
                "--predicate",
                out.join(format!("nginx/{tier}/sbom.cdx.json")).to_str().expect("utf-8"),
                &r,
            ]),
            "attest the SBOM",
        );
        // The facts the pipeline attests, about this image.
        let facts = d.join(format!("facts-{tier}.json"));
        let mut f: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(format!("nginx/{tier}/vex.facts.json"))).expect("facts"))
                .expect("json");
        f["product"]["digest"] = digest.clone().into();
        std::fs::write(&facts, serde_json::to_vec(&f).expect("json")).expect("write");
        let t = "https://armorred.dev/vex-facts/v1";
        ok(
            &signer(&["attest", "--key", &keys, "--type", t, "--predicate", facts.to_str().expect("utf-8"), &r]),
            "facts",
        );
        digests.push(digest);
    }
    // Not the catalog's, or not to be trusted.
    push("hardened", "armorred/nginx:latest");
    push("rogue", "armorred/rogue:hardened");
    let foreign = format!("registry:{}/armorred/foreign:locked", reg.addr);
    push("foreign", "armorred/foreign:locked");
    ok(&signer(&["sign", "--key", &others, &foreign]), "sign with another key");
    let bare = format!("registry:{}/armorred/bare:hardened", reg.addr);
    push("bare", "armorred/bare:hardened");
    ok(&signer(&["sign", "--key", &keys, &bare]), "sign without attestations");
    push("deep", "armorred/deep/x:hardened");
    push("elsewhere", "elsewhere/nginx:hardened");

    let watch = d.join("watch");
    let from = format!("{}/armorred", reg.addr);
    let public = format!("{}.pub", key.display());
    let run = |more: &[&str]| {
        let mut args = vec!["monitor", "run", "--from-registry", &from, "--verify-key", &public, "--from"];
        args.extend([watch.to_str().expect("utf-8"), "--db", db1.to_str().expect("utf-8")]);
        args.extend(more);
        ok(&armorred(&args), "monitor --from-registry")
    };
    let said = run(&[]);
    assert!(said.contains(&format!("nginx:hardened@{}\t", digests[0])), "{said}");
    assert!(said.contains(&format!("nginx:locked@{}\t", digests[1])), "{said}");
    assert!(said.contains("CVE-2024-7347\tnginx\tnot_affected (vulnerable_code_not_present)"), "{said}");
    assert!(said.contains("CVE-2023-4911\tlibc6\taffected"), "{said}");
    let reg_addr = &reg.addr;
    assert!(
        said.contains(&format!("unverified {reg_addr}/armorred/rogue:hardened\tnot watched: the signature: ")),
        "{said}"
    );
    assert!(
        said.contains(&format!("unverified {reg_addr}/armorred/foreign:locked\tnot watched: the signature: ")),
        "{said}"
    );
    assert!(
        said.contains(&format!("unverified {reg_addr}/armorred/bare:hardened\tnot watched: the attestations: ")),
        "{said}"
    );
    for absent in [":latest", "deep", "elsewhere"] {
        assert!(!said.contains(absent), "{absent}: {said}");
    }
    // The VEX names the image as published there (grype's and trivy's repository_url).
    let vex_path = watch.join("registry/armorred/nginx/locked/vex.openvex.json");
    let vex: serde_json::Value = serde_json::from_slice(&std::fs::read(&vex_path).expect("vex")).expect("json");
    let ids: Vec<String> = vex["statements"][0]["products"][0]["identifiers"]
        .as_object()
        .map(|o| o.values().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let product = vex["statements"][0]["products"][0]["@id"].as_str().unwrap_or_default().to_owned();
    assert!(
        product.contains(&format!("repository_url={reg_addr}/armorred")) || ids.iter().any(|i| i.contains(reg_addr)),
        "{}",
        vex["statements"][0]["products"]
    );
    // Once more with the same DB: nothing recorded again.
    let again = run(&[]);
    assert_eq!(again.matches("already scanned with this DB").count(), 2, "{again}");
    // A rebuild starts from the definition the provenance names: these images have none here.
    let said = run(&["--rebuild"]);
    assert!(said.contains(&format!("rebuild nginx:locked@{}\tunavailable\t", digests[1])), "{said}");
    assert!(said.contains("  not rebuilt: its definition \"\" (from its provenance) is not here"), "{said}");
}
