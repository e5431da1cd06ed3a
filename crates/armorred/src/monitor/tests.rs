//! The state's schema and transactions on both backends: SQLite always, PostgreSQL against a
//! real server when `ARMORRED_POSTGRES_URL` names one (`.ci/run` starts Debian's on loopback;
//! with `ARMORRED_REQUIRE_TOOLS=1` a missing server fails).

use super::state::*;
use super::*;

fn decision(id: &str) -> Decision {
    Decision {
        vulnerability: id.into(),
        aliases: vec![],
        component: "nginx".into(),
        purl: Some("pkg:generic/nginx@1.26.3".into()),
        status: crate::vex::Status::NotAffected,
        justification: Some(crate::vex::Justification::VulnerableCodeNotPresent),
        impact: Some("built without it".into()),
        action: None,
        evidence: vec!["configure options do not include --with-mail".into()],
    }
}

fn image() -> PublishedImage {
    PublishedImage {
        key: "nginx:locked@sha256:ab".into(),
        name: "nginx".into(),
        tier: "locked".into(),
        reference: "oci-dir:out/nginx/locked/image".into(),
        digest: "sha256:ab".into(),
        definition: "images/nginx".into(),
        sbom: "out/nginx/locked/sbom.cdx.json".into(),
        build_record: Some("out/nginx/locked/image.build.json".into()),
        vex_facts: None,
        superseded_by: None,
    }
}

fn record(scan: &str, db: &str, at: &str, ids: &[&str]) -> ScanRecord {
    ScanRecord {
        scan: ScanRow {
            id: scan.into(),
            image_key: image().key,
            db_digest: db.into(),
            scanned_at: at.into(),
            findings: ids.len() as i64,
            new_findings: ids.len() as i64,
            vex: "out/nginx/locked/vex.openvex.json".into(),
        },
        findings: ids
            .iter()
            .map(|id| FindingRow {
                vulnerability: (*id).into(),
                package: "nginx".into(),
                version: "1.26.3".into(),
                severity: "High".into(),
                fixed_in: String::new(),
                first_seen: at.into(),
                first_scan: scan.into(),
            })
            .collect(),
        decisions: ids.iter().map(|id| decision(id)).collect(),
    }
}

/// The same checks on any backend.
fn exercise(spec: &str) {
    let mut s = State::open(spec).expect("open");
    assert_eq!(s.version().expect("version"), MIGRATIONS.len() as i64);
    s.upsert_image(&image(), "2026-12-01T00:00:00Z").expect("image");
    s.upsert_image(&image(), "2026-12-01T00:00:00Z").expect("image again");
    assert_eq!(s.images().expect("images"), [image()]);
    assert!(s.record_scan(&record("s1", "sha256:db1", "2026-12-01T00:00:00Z", &["CVE-1"])).expect("scan 1"));
    // Recording the same scan twice changes nothing.
    assert!(!s.record_scan(&record("s1", "sha256:db1", "2026-12-01T00:00:00Z", &["CVE-1"])).expect("again"));
    // A later scan keeps the first-seen time of a known finding.
    let mut r2 = record("s2", "sha256:db2", "2026-12-02T00:00:00Z", &["CVE-1", "CVE-2"]);
    r2.findings[0].first_seen = "2026-12-01T00:00:00Z".into();
    r2.findings[0].first_scan = "s1".into();
    r2.decisions.remove(0);
    assert!(s.record_scan(&r2).expect("scan 2"));
    let f = s.findings(&image().key).expect("findings");
    assert_eq!(f.len(), 2);
    assert_eq!(f[&("CVE-1".to_string(), "nginx".to_string())].first_seen, "2026-12-01T00:00:00Z");
    assert_eq!(f[&("CVE-2".to_string(), "nginx".to_string())].first_scan, "s2");
    assert_eq!(s.scans().expect("scans").len(), 2);
    assert_eq!(s.scan_with(&image().key, "sha256:db2").expect("scan").map(|r| r.id).as_deref(), Some("s2"));
    let d = s.decisions(&image().key).expect("decisions");
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].justification.as_deref(), Some("vulnerable_code_not_present"));
    // A failed transaction leaves nothing: a decision naming a scan that does not exist.
    let mut bad = record("s3", "sha256:db3", "2026-12-03T00:00:00Z", &["CVE-3"]);
    bad.scan.image_key = "nginx:hardened@sha256:none".into();
    assert!(s.record_scan(&bad).is_err(), "unknown image: a foreign key");
    assert_eq!(s.scans().expect("scans").len(), 2);
    assert!(s.findings("nginx:hardened@sha256:none").expect("findings").is_empty());
    // A rebuild: started once (the advisory numbered per year), moved on, published in one
    // transaction (the new image recorded, the old one superseded).
    let row = RebuildRow {
        id: "r1".into(),
        image_key: image().key,
        old_digest: "sha256:ab".into(),
        new_digest: None,
        state: "started".into(),
        started_at: "2026-12-02T01:00:00Z".into(),
        finished_at: None,
        first_seen: Some("2026-12-01T00:00:00Z".into()),
        time_to_fix_seconds: None,
        advisory: None,
        fixes: Some("[]".into()),
        new_key: None,
        summary: None,
        reference: None,
        release_notes: None,
        osv: None,
        detail: None,
    };
    let mut r = s.begin_rebuild(&row, "2026").expect("begin");
    assert_eq!(r.advisory.as_deref(), Some("ARMORRED-2026-1"));
    assert_eq!(s.begin_rebuild(&row, "2026").expect("again"), r, "starting twice changes nothing");
    r.state = "built".into();
    r.new_digest = Some("sha256:cd".into());
    r.summary = Some("out/rebuilds/r1/nginx/locked/summary.json".into());
    s.rebuild_step(&r).expect("step");
    assert_eq!(s.rebuilds_of(&image().key).expect("rebuilds")[0].state, "built");
    let mut new = image();
    new.key = "nginx:locked@sha256:cd".into();
    new.digest = "sha256:cd".into();
    r.finished_at = Some("2026-12-02T02:00:00Z".into());
    r.time_to_fix_seconds = Some(93_600);
    r.reference = Some("registry:127.0.0.1:5000/nginx@sha256:cd".into());
    s.publish_rebuild(&r, &new).expect("publish");
    let got = s.rebuilds().expect("rebuilds");
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].state.as_str(), got[0].new_key.as_deref(), got[0].time_to_fix_seconds),
        ("published", Some("nginx:locked@sha256:cd"), Some(93_600))
    );
    assert_eq!(got[0].reference.as_deref(), Some("registry:127.0.0.1:5000/nginx@sha256:cd"));
    let imgs = s.images().expect("images");
    let old = imgs.iter().find(|i| i.key == image().key).expect("old");
    assert_eq!(old.superseded_by.as_deref(), Some("nginx:locked@sha256:cd"));
    assert!(imgs.iter().any(|i| i.key == "nginx:locked@sha256:cd" && i.superseded_by.is_none()));
    let mut other = row.clone();
    other.id = "r2".into();
    assert_eq!(s.begin_rebuild(&other, "2026").expect("second").advisory.as_deref(), Some("ARMORRED-2026-2"));
    drop(s);
    // Reopening migrates nothing again and keeps everything.
    let mut s = State::open(spec).expect("reopen");
    assert_eq!(s.scans().expect("scans").len(), 2);
}

#[test]
fn sqlite_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    exercise(&dir.path().join("state/monitor.db").to_string_lossy());
}

#[test]
fn postgres_state() {
    let Ok(url) = std::env::var("ARMORRED_POSTGRES_URL") else {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "ARMORRED_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)"
        );
        eprintln!("skipped: ARMORRED_POSTGRES_URL not set (a PostgreSQL server to test against)");
        return;
    };
    // A fresh database per run: the test's own, dropped at the end.
    let name = format!("armorred_test_{}", std::process::id());
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).expect("drop");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    exercise(&format!("{base}/{name}"));
    admin.batch_execute(&format!("DROP DATABASE {name}")).expect("drop");
}

#[test]
fn a_newer_state_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let spec = path.to_string_lossy().into_owned();
    drop(State::open(&spec).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'x')", []).expect("insert");
    drop(conn);
    let e = State::open(&spec).expect_err("newer").to_string();
    assert!(e.contains("schema version 99, newer than this armorred's 2"), "{e}");
}

#[test]
fn intervals() {
    assert_eq!(parse_interval("24h"), Some(std::time::Duration::from_secs(86_400)));
    assert_eq!(parse_interval("90s"), Some(std::time::Duration::from_secs(90)));
    for bad in ["", "h", "0h", "5w", "-1h", "1.5h"] {
        assert_eq!(parse_interval(bad), None, "{bad}");
    }
}

/// `monitor.json` (what `monitor status` prints): a snapshot with the state's location redacted,
/// and the file read back as JSON equal to what `status` returns.
#[test]
fn the_history_file_is_the_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = State::open(&dir.path().join("monitor.db").to_string_lossy()).expect("open");
    s.upsert_image(&image(), "2026-12-01T00:00:00Z").expect("image");
    s.record_scan(&record("s1", "sha256:db1", "2026-12-01T00:00:00Z", &["CVE-1"])).expect("scan");
    let path = super::write_history(&mut s, dir.path()).expect("write");
    assert_eq!(path, dir.path().join(super::HISTORY_FILE));
    let read: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(read, super::status(&mut s).expect("status"));
    insta::assert_json_snapshot!("monitor_history", read, { ".state" => "[state]" });
}
