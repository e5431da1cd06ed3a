//! End-to-end tests of `armorred db` and `armorred scan` over real feeds in ../shared/data:
//! atomic import under kill, concurrent imports serialized, `db update` against a local HTTP server (resume, sha256), golden
//! outputs, schema validation of the CycloneDX VDR and OpenVEX, VEX / ignore rules / --fail-on.
#![allow(clippy::print_stderr, clippy::redundant_closure_call)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::{shared_data, validate};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/vuln")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_armorred"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("ARMORRED_DB").env("SOURCE_DATE_EPOCH", "1790000000");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("run armorred");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sha256(path: &Path) -> String {
    armorred::vuln::db::file_sha256(path).expect("sha256")
}

fn import(db: &Path, paths: &[PathBuf]) {
    let mut args: Vec<String> = vec!["db".into(), "import".into(), "--db".into(), db.display().to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{out}\n{err}");
}

fn scan_db(dir: &Path) -> PathBuf {
    let db = dir.join("vuln.db");
    let d = shared_data();
    import(
        &db,
        &[
            d.join("debian-security-advisories/tracker-json/cve-list-excerpt-17.bookworm-trixie.json"),
            d.join("nvd-cve-json-2.0/fkie-cad-excerpts"),
            d.join("osv-golang-vulndb/data/osv"),
            d.join("osv-pypa-advisory-database/vulns/jinja2"),
        ],
    );
    db
}

#[test]
fn killed_import_leaves_previous_db_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vuln.db");
    import(&db, &[shared_data().join("osv-ghsa-samples")]);
    let before = sha256(&db);
    // A large import, killed as soon as its temporary file exists.
    let mut child = bin()
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(shared_data().join("osv-golang-vulndb/data/osv"))
        .arg(shared_data().join("osv-pypa-advisory-database/vulns"))
        .arg(shared_data().join("debian-security-advisories/derived/changelog-fixes.tracker-shape.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    let tmp_seen = loop {
        let tmp = std::fs::read_dir(dir.path())
            .expect("readdir")
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains(".import-"));
        if tmp || started.elapsed().as_secs() > 60 {
            break tmp;
        }
        if child.try_wait().expect("wait").is_some() {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(tmp_seen, "the import never wrote its temporary file");
    assert!(!status.success(), "the import finished before it was killed");
    assert_eq!(sha256(&db), before, "the killed import changed the DB");
    let (code, out, err) = run(&["db", "status", "--db", &db.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("osv:osv-ghsa-samples"), "{out}");
    assert!(!out.contains("osv-golang"), "{out}");
}

#[test]
fn concurrent_imports_both_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vuln.db");
    // A leftover of an older killed import (a PID that cannot be alive) and one of ours.
    let old = dir.path().join(".vuln.db.import-4294967295");
    let ours = dir.path().join(".vuln.db.import-Ab3dE9");
    std::fs::write(&old, "half").expect("write leftover");
    std::fs::write(&ours, "half").expect("write leftover");
    // Two imports of different feeds started at once, each large enough that both are running
    // while the other copies and renames.
    let feeds = [
        shared_data().join("osv-golang-vulndb/data/osv"),
        shared_data().join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json"),
    ];
    let children: Vec<_> = feeds
        .iter()
        .map(|feed| {
            bin()
                .args(["db", "import", "--db"])
                .arg(&db)
                .arg(feed)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (code, out, err) = run(&["db", "status", "--db", &db.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("osv-golang-vulndb"), "the first import was lost:\n{out}");
    assert!(out.contains("dsa-dla.bookworm-trixie.json"), "the second import was lost:\n{out}");
    // Nothing is left beside the DB but the DB and its lock file.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["vuln.db", "vuln.db.lock"], "leftovers beside the DB");
}

/// A tiny HTTP/1.1 server for `db update`: serves files under `root`, honours `Range`, and
/// cuts the first response of `flaky` paths after half the body (to exercise resume).
fn serve(root: PathBuf, flaky: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let ranges = Arc::new(AtomicUsize::new(0));
    let r2 = ranges.clone();
    std::thread::spawn(move || {
        let mut cut_done = false;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range_start = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range_start = v.trim().trim_end_matches('-').parse::<usize>().ok();
                }
            }
            let file = root.join(path.trim_start_matches('/'));
            let Ok(body) = std::fs::read(&file) else {
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                continue;
            };
            if let Some(start) = range_start {
                r2.fetch_add(1, Ordering::SeqCst);
                let part = &body[start.min(body.len())..];
                let head = format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                    part.len(), body.len().saturating_sub(1), body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(part);
                continue;
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            if path.ends_with(flaky) && !cut_done {
                cut_done = true;
                let _ = stream.write_all(&body[..body.len() / 2]);
                let _ = stream.flush();
                continue; // dropped mid-body
            }
            let _ = stream.write_all(&body);
        }
    });
    (format!("http://{addr}"), ranges)
}

#[test]
fn update_from_local_server_resumes_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The served tree: real feed files, plus a published sha256 for one of them.
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    let tracker = shared_data().join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json");
    std::fs::copy(&tracker, www.join("tracker.json")).expect("copy");
    std::fs::copy(shared_data().join("alpine-secdb/alpine-secdb-legacy/v3.11/main.json"), www.join("main.json"))
        .expect("copy");
    std::fs::write(www.join("tracker.json.sha256"), format!("{}  tracker.json\n", sha256(&tracker))).expect("write");
    std::fs::write(www.join("bad.sha256"), format!("{}\n", "0".repeat(64))).expect("write");
    let (base, ranges) = serve(www.clone(), "tracker.json");
    let feeds = dir.path().join("feeds.yaml");
    std::fs::write(
        &feeds,
        format!(
            "feeds:\n  - name: tracker.json\n    url: {base}/tracker.json\n    format: debian\n    sha256_url: {base}/tracker.json.sha256\n  - name: main.json\n    url: {base}/main.json\n"
        ),
    )
    .expect("feeds");
    let db = dir.path().join("vuln.db");
    let cache = dir.path().join("cache");
    let args = |f: &Path| {
        vec![
            "db".to_string(),
            "update".into(),
            "--db".into(),
            db.display().to_string(),
            "--feeds".into(),
            f.display().to_string(),
            "--cache".into(),
            cache.display().to_string(),
        ]
    };
    // First run: the tracker download is cut mid-body -> error, no DB, a partial file kept.
    let a = args(&feeds);
    let (code, _, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2, "{err}");
    assert!(!db.exists());
    assert!(cache.join("tracker.json.part").exists());
    // Second run resumes with a Range request and verifies the published sha256.
    let (code, out, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(ranges.load(Ordering::SeqCst) >= 1, "no Range request was made");
    assert_eq!(sha256(&cache.join("tracker.json")), sha256(&tracker));
    assert!(out.contains("debian:tracker.json"), "{out}");
    assert!(out.contains("secdb:main.json"), "{out}");
    let before = sha256(&db);
    // A published hash that does not match: refused, DB untouched.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!("feeds:\n  - name: main2.json\n    url: {base}/main.json\n    sha256_url: {base}/bad.sha256\n"),
    )
    .expect("feeds");
    let a = args(&bad);
    let (code, _, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert_eq!(sha256(&db), before);
}

fn normalize(text: &str, db: &Path) -> String {
    let sha = sha256(db);
    let mut t = text.replace(&sha, "<db-sha256>");
    // The DB's build time is the import time.
    let re_time = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("\"built\": \"") {
            out.push_str(&rest[..i + 10]);
            rest = &rest[i + 10..];
            let end = rest.find('"').unwrap_or(0);
            out.push_str("<built>");
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    t = re_time(&t);
    t
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vuln").join(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let want =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if actual != want {
        let line = actual
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(actual.lines().count().min(want.lines().count()));
        panic!(
            "golden {name} differs at line {}: got {:?}, want {:?} (UPDATE_GOLDEN=1 to accept)",
            line + 1,
            actual.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

#[test]
fn scan_sbom_outputs_golden_and_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = scan_db(dir.path());
    // Relative to the crate directory, so the report (and its UUIDs) is the same in any clone.
    let sbom = "sbom:../armorred/testdata/vuln/bom-small.cdx.json".to_string();
    let dbs = db.display().to_string();
    for (fmt, file) in [
        ("table", "scan.table.txt"),
        ("json", "scan.grype.json"),
        ("sarif", "scan.sarif.json"),
        ("cyclonedx-json", "scan.cdx.json"),
        ("openvex", "scan.openvex.json"),
    ] {
        let (code, out, err) = run(&["scan", &sbom, "--db", &dbs, "-o", fmt, "-q"]);
        assert_eq!(code, 0, "{fmt}: {err}");
        let out = normalize(&out, &db).replace(&testdata().display().to_string(), "<testdata>");
        golden(file, &out);
        let written = dir.path().join(file);
        std::fs::write(&written, &out).expect("write");
        match fmt {
            "cyclonedx-json" => {
                validate(&written, &shared_data().join("cyclonedx/specification/schema/bom-1.6.schema.json"))
            }
            "openvex" => validate(&written, &shared_data().join("attestation-specs/openvex/openvex_json_schema.json")),
            _ => {}
        }
    }
    // The DB digest is recorded in every machine-readable result.
    let (_, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["descriptor"]["db"]["sha256"], sha256(&db));
}

#[test]
fn fail_on_vex_ignore_rules_and_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = scan_db(dir.path());
    let sbom = format!("sbom:{}", testdata().join("bom-small.cdx.json").display());
    let dbs = db.display().to_string();
    let ids = |out: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(out).expect("json");
        v["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    m["artifact"]["name"].as_str().unwrap_or(""),
                    m["vulnerability"]["id"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    // CVE-2021-23017 (High, CPE match on the source-built nginx) fails --fail-on high.
    let (code, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q", "--fail-on", "high"]);
    assert_eq!(code, 1);
    assert!(ids(&out).contains(&"nginx:CVE-2021-23017".to_string()));
    // The VEX statement (not_affected) is applied before --fail-on.
    let vex = testdata().join("nginx-not-affected.openvex.json").display().to_string();
    let (code, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q", "--fail-on", "high", "--vex", &vex]);
    let found = ids(&out);
    assert!(!found.contains(&"nginx:CVE-2021-23017".to_string()), "{found:?}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["ignoredMatches"]
        .as_array()
        .expect("ignored")
        .iter()
        .any(|m| m["appliedIgnoreRules"][0]["reason"].as_str().unwrap_or("").contains("vex not_affected")));
    // It was the only High finding, so the scan now passes --fail-on high.
    assert_eq!(v["summary"]["High"], 0);
    assert_eq!(code, 0);
    // Ignore rules: CVE-2009-4487 by ID and every wont-fix deb finding (CVE-2024-7347).
    let cfg = testdata().join("ignore.yaml").display().to_string();
    let (_, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q", "-c", &cfg]);
    let found = ids(&out);
    assert!(!found.contains(&"nginx-common:CVE-2009-4487".to_string()), "{found:?}");
    assert!(!found.contains(&"nginx-common:CVE-2024-7347".to_string()), "{found:?}");
    assert!(found.contains(&"nginx-common:CVE-2025-23419".to_string()), "{found:?}");
    // --only-fixed keeps only findings with a fix; --ignore-states drops a state.
    let (_, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q", "--only-fixed"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["matches"].as_array().expect("m").iter().all(|m| m["vulnerability"]["fix"]["state"] == "fixed"));
    let (_, out, _) = run(&["scan", &sbom, "--db", &dbs, "-o", "json", "-q", "--ignore-states", "not-fixed,wont-fix"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["matches"]
            .as_array()
            .expect("m")
            .iter()
            .all(|m| m["vulnerability"]["fix"]["state"] != "not-fixed"
                && m["vulnerability"]["fix"]["state"] != "wont-fix")
    );
    // Bad input: a clear error naming the input.
    let (code, _, err) = run(&["scan", "sbom:/nonexistent.json", "--db", &dbs]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.json"), "{err}");
}

#[test]
fn real_openvex_samples_parse() {
    // grype's OpenVEX documents (see testdata/vuln/vex-docs/README.md).
    let dir = testdata().join("vex-docs");
    for name in ["openvex-demo1.json", "openvex-package-product.json", "openvex-debian.json"] {
        let st = armorred::vuln::vex::read(&dir.join(name)).expect("vex");
        assert!(!st.is_empty(), "{name}");
    }
    let st = armorred::vuln::vex::read(&dir.join("openvex-demo1.json")).expect("vex");
    assert!(st[0].products.iter().any(|p| p == "pkg:apk/alpine/libssl3@3.0.8-r3"));
    let mut buf = String::new();
    std::fs::File::open(dir.join("openvex-demo1.json")).expect("open").read_to_string(&mut buf).expect("read");
}

/// Formats we both write and read: the OpenVEX we emit parses back into one `affected`
/// statement per finding, and the CycloneDX VDR we emit, scanned again as an SBOM, gives the
/// same findings.
#[test]
fn openvex_and_cyclonedx_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = scan_db(dir.path());
    let dbs = db.display().to_string();
    let sbom = "sbom:../armorred/testdata/vuln/bom-small.cdx.json";
    let key = |out: &str| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(out).expect("json");
        let mut k: Vec<(String, String)> = v["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .map(|m| {
                (
                    m["artifact"]["purl"].as_str().unwrap_or("").to_string(),
                    m["vulnerability"]["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        k.sort();
        k
    };
    let (_, json, _) = run(&["scan", sbom, "--db", &dbs, "-o", "json", "-q"]);
    let want = key(&json);
    let vex = dir.path().join("out.openvex.json");
    let vdr = dir.path().join("out.cdx.json");
    let vexs = vex.display().to_string();
    let vdrs = vdr.display().to_string();
    let (c1, _, e1) = run(&["scan", sbom, "--db", &dbs, "-o", "openvex", "-q", "--file", &vexs]);
    let (c2, _, e2) = run(&["scan", sbom, "--db", &dbs, "-o", "cyclonedx-json", "-q", "--file", &vdrs]);
    assert_eq!((c1, c2), (0, 0), "{e1}{e2}");
    let st = armorred::vuln::vex::read(&vex).expect("our OpenVEX parses");
    let mut got: Vec<(String, String)> =
        st.iter().map(|s| (s.products[0].clone(), s.vulnerabilities[0].clone())).collect();
    got.sort();
    assert_eq!(got, want);
    assert!(st.iter().all(|s| s.status == "affected"));
    // Applying our own "affected" statements suppresses nothing.
    let (_, again, _) = run(&["scan", sbom, "--db", &dbs, "-o", "json", "-q", "--vex", &vexs]);
    assert_eq!(key(&again), want);
    // The VDR as an SBOM: same findings (its components carry purl and CPE).
    let (code, rescan, err) = run(&["scan", &format!("sbom:{vdrs}"), "--db", &dbs, "-o", "json", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(key(&rescan), want);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vuln.db");
    let dbs = db.display().to_string();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "{\"id\": \"X\", ").expect("write");
    let (code, _, err) = run(&["db", "import", "--db", &dbs, &bad.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("broken.json") && err.contains("invalid JSON"), "{err}");
    let odd = dir.path().join("odd.json");
    std::fs::write(&odd, "{\"hello\": 1}").expect("write");
    let (code, _, err) = run(&["db", "import", "--db", &dbs, &odd.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("odd.json") && err.contains("cannot detect the feed format"), "{err}");
    assert!(err.contains("nvd, secdb (alpine, wolfi, chainguard), osv (ghsa)"), "{err}");
    // --format takes the library's names and aliases; an unknown one names itself and the known.
    let (code, _, err) = run(&["db", "import", "--db", &dbs, "--format", "nope", &odd.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("'nope'") && err.contains("nvd, secdb, osv, debian"), "{err}");
    assert!(!db.exists(), "a failed import must not create the DB");
    let (code, _, err) = run(&["db", "status", "--db", &dbs]);
    assert_eq!(code, 2);
    assert!(err.contains("no vulnerability database"), "{err}");
    let notdb = dir.path().join("not.db");
    std::fs::write(&notdb, "plain text, not SQLite").expect("write");
    let (code, _, err) = run(&["db", "status", "--db", &notdb.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("not.db"), "{err}");
}

/// A TCP port of 127.0.0.1 that nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port()
}

/// `db update --config`: an official location that does not answer (a closed port) falls
/// through to the local mirror within seconds, and `db status` names the location each source
/// came from.
#[test]
fn update_from_config_falls_through_to_the_mirror() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let config = dir.path().join("armorred.toml");
    let tracker = shared_data().join("debian-security-advisories/tracker-json");
    std::fs::write(
        &config,
        format!(
            "[db]\nmax_age_hours = 6\n\n[[db.feed]]\nname = \"debian-tracker\"\nformat = \"debian\"\nlocations = [\n  {{ url = \"http://127.0.0.1:{port}/tracker/data/json\" }},\n  {{ path = \"{}\" }},\n]\n\n[[db.feed]]\nname = \"osv-go\"\nlocations = [\n  {{ url = \"http://127.0.0.1:{port}/Go/all.zip\" }},\n  {{ path = \"missing-mirror\" }},\n]\n",
            tracker.display()
        ),
    )
    .expect("config");
    let db = dir.path().join("vuln.db");
    let started = std::time::Instant::now();
    let (code, out, err) = run(&[
        "db",
        "update",
        "--db",
        db.to_str().expect("utf-8"),
        "--config",
        config.to_str().expect("utf-8"),
        "--cache",
        dir.path().join("cache").to_str().expect("utf-8"),
    ]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(took < std::time::Duration::from_secs(30), "the fall-through took {took:?}");
    assert!(err.contains(&format!("debian-tracker: {}", tracker.display())), "{err}");
    // The feed no location answered is a warning naming each location and why.
    assert!(err.contains("warning: feed osv-go: no location answered"), "{err}");
    assert!(err.contains(&format!("cannot fetch http://127.0.0.1:{port}/Go/all.zip: ")), "{err}");
    assert!(err.contains("missing-mirror: not found"), "{err}");
    // A host that gave no answer is not tried again in the same update.
    assert!(err.contains(&format!("127.0.0.1:{port} did not answer earlier in this update")), "{err}");
    assert!(out.contains(&format!("updated {} from {}", db.display(), config.display())), "{out}");
    let (code, status, err) = run(&["db", "status", "--db", db.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        status.contains(&format!("debian:debian-tracker: feed debian-tracker from {}", tracker.display())),
        "{status}"
    );
    assert!(status.contains("IMPORTED (AGE)"), "{status}");
    let (_, json, _) = run(&["db", "status", "--db", db.to_str().expect("utf-8"), "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["sources"][0]["feed"], "debian-tracker", "{v}");
    assert_eq!(v["sources"][0]["location"], tracker.display().to_string(), "{v}");
    // Nothing at all answers: an error naming the configuration, the DB untouched.
    let before = sha256(&db);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("[db]\n[[db.feed]]\nname = \"x\"\nlocations = [{{ url = \"http://127.0.0.1:{port}/x.json\" }}]\n"),
    )
    .expect("config");
    let (code, _, err) =
        run(&["db", "update", "--db", db.to_str().expect("utf-8"), "--config", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{}: no feed could be read", bad.display())), "{err}");
    assert_eq!(sha256(&db), before);
    // A bad configuration is an error naming the file.
    std::fs::write(&bad, "[db]\nfeeds = 1\n").expect("config");
    let (code, _, err) =
        run(&["db", "update", "--db", db.to_str().expect("utf-8"), "--config", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{}: invalid configuration", bad.display())), "{err}");
}

/// `db update --config` from a local HTTP server: the first download is dropped mid-body (the
/// feed is reported as not answered, the other feed imported), the next run resumes it with a
/// Range request and records the URL as its location.
#[test]
fn update_from_config_resumes_a_dropped_download() {
    let dir = tempfile::tempdir().expect("tempdir");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    let tracker = shared_data().join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json");
    std::fs::copy(&tracker, www.join("tracker.json")).expect("copy");
    std::fs::write(www.join("tracker.json.sha256"), format!("{}  tracker.json\n", sha256(&tracker))).expect("write");
    let (base, ranges) = serve(www.clone(), "tracker.json");
    let config = dir.path().join("armorred.toml");
    std::fs::write(
        &config,
        format!(
            "[db]\n[[db.feed]]\nname = \"debian-tracker\"\nformat = \"debian\"\nlocations = [{{ url = \"{base}/tracker.json\", sha256_url = \"{base}/tracker.json.sha256\" }}]\n\n[[db.feed]]\nname = \"ghsa\"\nlocations = [{{ path = \"{}\" }}]\n",
            shared_data().join("osv-ghsa-samples").display()
        ),
    )
    .expect("config");
    let db = dir.path().join("vuln.db");
    let cache = dir.path().join("cache");
    let args = [
        "db",
        "update",
        "--db",
        db.to_str().expect("utf-8"),
        "--config",
        config.to_str().expect("utf-8"),
        "--cache",
        cache.to_str().expect("utf-8"),
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("warning: feed debian-tracker: no location answered"), "{err}");
    assert!(cache.join("debian-tracker/tracker.json.part").exists(), "the partial download is kept");
    assert!(!out.contains("debian:debian-tracker"), "{out}");
    assert!(out.contains("osv:ghsa"), "{out}");
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(ranges.load(Ordering::SeqCst) >= 1, "no Range request was made");
    assert_eq!(sha256(&cache.join("debian-tracker/tracker.json")), sha256(&tracker));
    let (_, status, _) = run(&["db", "status", "--db", db.to_str().expect("utf-8")]);
    assert!(
        status.contains(&format!("debian:debian-tracker: feed debian-tracker from {base}/tracker.json")),
        "{status}"
    );
    assert!(status.contains("osv:ghsa: feed ghsa from"), "{status}");
}
