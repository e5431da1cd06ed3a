//! `armorred compare` end to end: a real vulnerability DB (Debian's advisories for trixie), two
//! SBOMs, every output format, reproducibility, and the HTML page rendered by headless Chromium.

#![allow(clippy::print_stderr)]

use std::path::Path;
use std::process::Command;

mod support;

use support::{armorred, debian_db};

/// A CycloneDX document with a trixie OS component and Debian packages (name, version, source).
fn sbom(packages: &[(&str, &str, &str)]) -> String {
    let components: Vec<serde_json::Value> = packages
        .iter()
        .map(|(name, version, source)| {
            serde_json::json!({
                "type": "library", "name": name, "version": version,
                "purl": format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-13&upstream={source}"),
            })
        })
        .chain([serde_json::json!({"type": "operating-system", "name": "debian", "version": "13"})])
        .collect();
    serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components})
        .to_string()
}

fn setup(dir: &Path) -> (String, String, String) {
    let db = dir.join("vuln.db");
    debian_db(&db);
    // Upstream: trixie's first versions. Hardened: nginx from the latest security update,
    // OpenSSL unchanged, libxml2 not shipped.
    let upstream = dir.join("upstream.cdx.json");
    std::fs::write(
        &upstream,
        sbom(&[
            ("nginx", "1.26.3-3", "nginx"),
            ("libssl3t64", "3.5.1-1", "openssl"),
            ("libxml2", "2.12.7+dfsg+really2.9.14-2.1", "libxml2"),
        ]),
    )
    .expect("write");
    let hardened = dir.join("hardened.cdx.json");
    std::fs::write(&hardened, sbom(&[("nginx", "1.26.3-3+deb13u7", "nginx"), ("libssl3t64", "3.5.1-1", "openssl")]))
        .expect("write");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    (s(&db), format!("sbom:{}", s(&upstream)), format!("sbom:{}", s(&hardened)))
}

#[test]
fn compare_attributes_every_upstream_cve_and_is_reproducible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, hardened) = setup(dir.path());
    let json_a = dir.path().join("a.json");
    let json_b = dir.path().join("b.json");
    for file in [&json_a, &json_b] {
        let o = format!("json={}", file.display());
        let out =
            armorred(&["compare", &upstream, &hardened, "--db", &db, "--skip-db-age-check", "-o", &o, "-o", "table"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Vulnerabilities"));
    }
    let a = std::fs::read(&json_a).expect("json");
    assert_eq!(a, std::fs::read(&json_b).expect("json"), "the same inputs and DB give byte-identical JSON");
    let v: serde_json::Value = serde_json::from_slice(&a).expect("valid JSON");
    assert!(v["db_digest"].as_str().is_some_and(|d| d.starts_with("sha256:")));
    let outcomes = v["vulnerability_outcomes"].as_array().expect("outcomes");
    let count = |outcome: &str, package: &str| {
        outcomes.iter().filter(|o| o["outcome"] == outcome && o["package"].as_str() == Some(package)).count()
    };
    // Every trixie nginx advisory is fixed by deb13u7; OpenSSL's remain; libxml2's leave with it.
    assert_eq!(count("fixed-in-newer-version", "nginx"), 8, "{outcomes:#?}");
    assert_eq!(count("package-not-shipped", "libxml2"), 1);
    assert!(count("remains", "libssl3t64") > 0);
    assert_eq!(outcomes.len() as u64, v["vulnerabilities"]["upstream"].as_u64().expect("count"));
    assert_eq!(v["components"]["upstream"], 3);
    assert_eq!(v["components"]["hardened"], 2);
}

#[test]
fn compare_html_renders_in_chromium() {
    let chromium = "chromium";
    if Command::new(chromium).arg("--version").output().is_err() {
        assert!(std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"), "chromium is required");
        eprintln!("skipping: chromium is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, hardened) = setup(dir.path());
    let html = dir.path().join("compare.html");
    let o = format!("html={}", html.display());
    let out = armorred(&["compare", &upstream, &hardened, "--db", &db, "--skip-db-age-check", "-o", &o]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let artifacts = support::repo().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let screenshot = artifacts.join("compare.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = dir.path().join("chromium-profile");
    let url = format!("file://{}", html.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let run = |extra: &[String]| {
        Command::new(chromium)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium")
    };
    let dom = run(&["--dump-dom".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.matches("<svg").count() >= 3, "the bar charts are in the rendered page");
    assert!(dom.contains("Vulnerabilities by severity"));
    for section in ["id=\"hardened-vulnerabilities\"", "id=\"gone\"", "id=\"components\""] {
        assert!(dom.contains(section), "{section} in the rendered page");
    }
    let shot = run(&[format!("--screenshot={}", screenshot.display()), "--window-size=1200,1600".into()]);
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");
}

/// `armorred scan -o json` of an SBOM, written to `out`.
fn scan_json(sbom: &str, db: &str, out: &Path) {
    let file = out.to_str().expect("utf-8");
    let o = armorred(&["scan", sbom, "--db", db, "--skip-db-age-check", "-o", "json", "--file", file]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `armorred compare ARGS -o json=OUT -o markdown`: the JSON report, and the Markdown one.
fn compare_outputs(args: &[&str], out: &Path) -> (serde_json::Value, String) {
    let o = format!("json={}", out.display());
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", &o, "-o", "markdown"]);
    let run = armorred(&all);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let json = serde_json::from_slice(&std::fs::read(out).expect("json")).expect("valid JSON");
    (json, String::from_utf8_lossy(&run.stdout).into_owned())
}

fn compare_json(args: &[&str], out: &Path) -> serde_json::Value {
    compare_outputs(args, out).0
}

/// Scan results given for both sides: the DB is not opened (it does not even exist), and the
/// comparison is the one made by scanning with the DB, because the scan files came from it.
#[test]
fn compare_with_scan_results_needs_no_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, hardened) = setup(dir.path());
    let (up_scan, hard_scan) = (dir.path().join("upstream.scan.json"), dir.path().join("hardened.scan.json"));
    scan_json(&upstream, &db, &up_scan);
    scan_json(&hardened, &db, &hard_scan);
    let with_db = compare_json(&[&upstream, &hardened, "--db", &db, "--skip-db-age-check"], &dir.path().join("a.json"));
    let no_db = dir.path().join("no-such.db");
    let from_files = compare_json(
        &[
            &upstream,
            &hardened,
            "--upstream-scan",
            up_scan.to_str().expect("utf-8"),
            "--hardened-scan",
            hard_scan.to_str().expect("utf-8"),
            "--db",
            no_db.to_str().expect("utf-8"),
        ],
        &dir.path().join("b.json"),
    );
    assert!(!no_db.exists(), "the DB was not opened");
    assert_eq!(from_files, with_db, "same findings, same DB digest (recorded in the scan files)");
    assert!(with_db["vulnerability_outcomes"].as_array().is_some_and(|o| !o.is_empty()));

    // One side from a file, the other scanned: the digests agree, so the comparison keeps it.
    let mixed = compare_json(
        &[
            &upstream,
            &hardened,
            "--upstream-scan",
            up_scan.to_str().expect("utf-8"),
            "--db",
            &db,
            "--skip-db-age-check",
        ],
        &dir.path().join("c.json"),
    );
    assert_eq!(mixed, with_db);
}

/// grype's own JSON (its presenter golden) for the hardened side: read as grype writes it; its
/// descriptor names no DB checksum, so the comparison names no DB.
#[test]
fn compare_reads_grype_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, _) = setup(dir.path());
    let hardened = dir.path().join("hardened.cdx.json");
    std::fs::write(&hardened, sbom(&[("package-2", "2.2.2", "package-2")])).expect("write");
    let grype = support::repo().join("crates/armorred/testdata/vuln/grype-json/TestJsonImgsPresenter.golden");
    let (v, markdown) = compare_outputs(
        &[
            &upstream,
            &format!("sbom:{}", hardened.display()),
            "--hardened-scan",
            grype.to_str().expect("utf-8"),
            "--db",
            &db,
            "--skip-db-age-check",
        ],
        &dir.path().join("c.json"),
    );
    assert!(v["db_digest"].is_null(), "the sides' findings come from different DBs");
    assert_eq!(v["new_vulnerabilities"], serde_json::json!(["CVE-1999-0001", "CVE-1999-0002"]));
    let hardened_vulns = v["hardened_vulnerabilities"].as_array().expect("hardened_vulnerabilities");
    assert!(hardened_vulns.iter().filter(|h| h["new"] == true).count() >= 2, "{hardened_vulns:#?}");
    // The new ones come first in the report, before every upstream vulnerability.
    let new_at =
        markdown.find("[CVE-1999-0001](https://nvd.nist.gov/vuln/detail/CVE-1999-0001)").expect("new one listed");
    for o in v["vulnerability_outcomes"].as_array().expect("outcomes") {
        let id = o["id"].as_str().expect("id");
        assert!(
            markdown.find(&format!("[{id}](")).is_some_and(|at| at > new_at),
            "{id} after the new ones\n{markdown}"
        );
    }
    assert_eq!(v["vulnerabilities"]["by_severity"]["critical"]["hardened"], 1);
}

#[test]
fn compare_input_errors_name_the_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, hardened) = setup(dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"matches\": 3}").expect("write");
    let bad = bad.to_str().expect("utf-8");
    let image = format!("dir:{}", dir.path().display());
    let cases: [(Vec<&str>, &str); 4] = [
        (vec![&upstream, &hardened, "--upstream-scan", bad], "bad.json: not a grype JSON scan result"),
        (vec![&image, &hardened, "--upstream-scan", bad], "a scan result goes with an sbom:FILE side"),
        (vec![&upstream, &hardened, "--hardened-build-record", bad], "bad.json: not a source build record"),
        (vec![&upstream, &hardened, "--hardened-scan", "/nonexistent/scan.json"], "/nonexistent/scan.json"),
    ];
    for (args, want) in cases {
        let mut all = vec!["compare"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--db", &db, "--skip-db-age-check"]);
        let out = armorred(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A C program standing in for nginx: its `ngx_module_names[]` holds `modules`, and it carries a
/// package note naming nginx 1.26.3 (what a source build gives every binary).
fn fake_nginx(root: &Path, modules: &[&str]) {
    let sbin = root.join("usr/sbin");
    std::fs::create_dir_all(&sbin).expect("mkdir");
    let names: Vec<String> = modules.iter().map(|m| format!("\"{m}\"")).collect();
    let src = format!(
        "char *ngx_module_names[] = {{{}, 0}};\nint main(void) {{ return ngx_module_names[0][0] == 0; }}\n",
        names.join(", ")
    );
    let c = root.join("nginx.c");
    std::fs::write(&c, src).expect("write");
    let note = r#"--package-metadata={"type":"source","name":"nginx","version":"1.26.3","cpe":"cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*","purl":"pkg:generic/nginx@1.26.3"}"#;
    let out = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(sbin.join("nginx"))
        .arg(&c)
        .args(["-Xlinker", note])
        .output()
        .expect("gcc");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(c).expect("rm");
}

/// Compiled out, with the evidence: Debian's nginx upstream (real trixie advisories) against a
/// hardened image whose nginx is the locked build (the record fixture, a tiny stand-in binary).
/// The gRPC, SCGI and uWSGI advisories are compiled out with the configure options and the
/// binary as evidence; the rewrite and charset ones are in built modules and are not.
#[test]
fn compare_attributes_compiled_out_cves_with_evidence() {
    if Command::new("gcc").arg("--version").output().is_err() {
        assert!(std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"), "gcc is required");
        eprintln!("skipping: gcc is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, upstream, _) = setup(dir.path());
    let root = dir.path().join("hardened");
    let built = ["ngx_core_module", "ngx_http_module", "ngx_http_rewrite_module", "ngx_http_charset_filter_module"];
    fake_nginx(&root, &built);
    let hardened = format!("dir:{}", root.display());
    let record = support::repo().join("crates/armorred/testdata/report/build-record.locked.json");
    let nested = dir.path().join("nginx.build.json");
    let inner: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).expect("record")).expect("json");
    std::fs::write(&nested, serde_json::json!({"image": "out/nginx", "source_build": inner}).to_string())
        .expect("write");

    let outcome = |v: &serde_json::Value, id: &str| -> serde_json::Value {
        v["vulnerability_outcomes"].as_array().expect("outcomes").iter().find(|o| o["id"] == id).expect(id).clone()
    };
    let mut reports = Vec::new();
    let mut markdown = String::new();
    for (i, rec) in [&record, &nested].into_iter().enumerate() {
        let (v, md) = compare_outputs(
            &[
                &upstream,
                &hardened,
                "--hardened-build-record",
                rec.to_str().expect("utf-8"),
                "--db",
                &db,
                "--skip-db-age-check",
            ],
            &dir.path().join(format!("r{i}.json")),
        );
        reports.push(v);
        markdown = md;
    }
    assert_eq!(reports[0], reports[1], "a record under `source_build` reads the same");
    let v = &reports[0];
    for (id, features) in [
        ("CVE-2026-42055", vec!["ngx_http_grpc_module"]),
        ("CVE-2026-42946", vec!["ngx_http_scgi_module", "ngx_http_uwsgi_module"]),
    ] {
        let o = outcome(v, id);
        assert_eq!(o["outcome"], "compiled-out", "{o:#}");
        assert_eq!(o["package"], "nginx");
        assert_eq!(o["features"], serde_json::json!(features));
        let evidence: Vec<&str> =
            o["evidence"].as_array().expect("evidence").iter().filter_map(|e| e.as_str()).collect();
        assert!(evidence
            .iter()
            .any(|e| e.contains("configure options of nginx 1.26.3 (locked tier) include --without-")));
        assert!(evidence.iter().any(|e| e.contains("is not in /usr/sbin/nginx (sha256:")), "{evidence:?}");
    }
    for id in ["CVE-2026-42945", "CVE-2026-48142"] {
        assert_ne!(outcome(v, id)["outcome"], "compiled-out", "{id} is in a built module");
    }
    assert!(v["compiled_out"].as_array().is_some_and(|c| c.len() >= 10));
    assert!(markdown.contains("## Compiled out of the hardened build"), "{markdown}");
    assert!(
        markdown.contains("| [CVE-2026-42055](https://nvd.nist.gov/vuln/detail/CVE-2026-42055) | ")
            && markdown.contains("compiled out of nginx (--without-http_grpc_module)")
    );

    // The binary wins over the record: a gRPC module found in it is not compiled out.
    fake_nginx(&root, &[&built[..], &["ngx_http_grpc_module"]].concat());
    let v = compare_json(
        &[
            &upstream,
            &hardened,
            "--hardened-build-record",
            record.to_str().expect("utf-8"),
            "--db",
            &db,
            "--skip-db-age-check",
        ],
        &dir.path().join("r2.json"),
    );
    assert_ne!(outcome(&v, "CVE-2026-42055")["outcome"], "compiled-out");
    assert_eq!(outcome(&v, "CVE-2026-42946")["outcome"], "compiled-out");
}
