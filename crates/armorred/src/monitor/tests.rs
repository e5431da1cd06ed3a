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
    // Monitors opening a new state at the same moment: each migrates or waits, none fails.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let (spec, barrier) = (spec.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                State::open(&spec).map(|mut s| s.version().expect("version")).map_err(|e| e.to_string())
            })
        })
        .collect();
    for t in opened {
        assert_eq!(t.join().expect("thread"), Ok(MIGRATIONS.len() as i64));
    }
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
    // Monitors numbering at once on the same state: every advisory number once, none skipped.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (spec, row) = (spec.to_owned(), row.clone());
            std::thread::spawn(move || {
                let mut s = State::open(&spec).expect("open");
                (0..8)
                    .map(|i| {
                        let r = RebuildRow { id: format!("c{t}-{i}"), ..row.clone() };
                        s.begin_rebuild(&r, "2026").expect("begin").advisory.expect("advisory")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut numbers: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .map(|a| a.strip_prefix("ARMORRED-2026-").expect("prefix").parse().expect("number"))
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (3..35).collect::<Vec<u32>>());
    // Claims: one monitor rebuilds an image at a time.
    let me = Claimant::this_process();
    let elsewhere = Claimant { owner: "other-host/7/1".into(), host: "other-host".into(), pid: 7 };
    let key = image().key;
    assert_eq!(s.claim(&key, &elsewhere, 1_000).expect("claim"), None);
    assert_eq!(s.claim(&key, &me, 1_001).expect("claim").as_deref(), Some("other-host/7/1"), "a live claim");
    assert_eq!(s.claim(&key, &elsewhere, 1_002).expect("again"), None, "the holder claims again");
    s.release(&key, &me).expect("release by another changes nothing");
    assert!(s.claim(&key, &me, 1_003).expect("claim").is_some());
    // Renewed by its holder, it lasts; past its time, it is taken over, and the old holder's
    // renewal says it has lost it.
    assert!(s.renew_claim(&key, &elsewhere, 1_500).expect("renew"));
    assert!(!s.renew_claim(&key, &me, 1_500).expect("not mine"));
    assert!(s.claim(&key, &me, 1_000 + CLAIM_SECONDS).expect("renewed").is_some(), "the renewal extended it");
    assert_eq!(s.claim(&key, &me, 1_500 + CLAIM_SECONDS).expect("expired"), None);
    assert!(!s.renew_claim(&key, &elsewhere, 1_600 + CLAIM_SECONDS).expect("lost"));
    s.release(&key, &me).expect("release");
    // A holder on this host that no longer runs: taken over at once.
    let mut child = std::process::Command::new("true").spawn().expect("true");
    let dead_pid = child.id();
    child.wait().expect("wait");
    let dead = Claimant { owner: format!("{}/{dead_pid}/1", me.host), host: me.host.clone(), pid: dead_pid };
    assert_eq!(s.claim(&key, &dead, 2_000).expect("claim"), None);
    assert_eq!(s.claim(&key, &me, 2_001).expect("dead holder"), None);
    s.release(&key, &me).expect("release");
    assert_eq!(s.claim(&key, &elsewhere, 2_002).expect("free again"), None);
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

/// Which of the catalog's images shard 2/3 holds (sha256 of the name, first 8 bytes big-endian,
/// modulo 3, is 1): computed independently with Python's hashlib.
const SHARD_2_OF_3: [bool; 4] = [false, true, false, false];

#[test]
fn shards_partition_the_catalog_by_name() {
    let names: Vec<String> = (0..200).map(|i| format!("image-{i}")).collect();
    for count in [1u64, 2, 3, 8] {
        let shards: Vec<Shard> = (1..=count).map(|i| format!("{i}/{count}").parse().expect("shard")).collect();
        for n in &names {
            assert_eq!(shards.iter().filter(|s| s.holds(n)).count(), 1, "{n} in exactly one of {count}");
        }
        // Not all in one (200 names over up to 8 shards).
        assert!(shards.iter().all(|s| count == 1 || names.iter().any(|n| s.holds(n))), "{count}");
    }
    // Stable: the shard of a name is part of the contract between monitors on other machines.
    let s: Shard = "2/3".parse().expect("shard");
    assert_eq!(s.to_string(), "2/3");
    assert_eq!(["nginx", "redis", "postgres", "python"].map(|n| s.holds(n)), SHARD_2_OF_3);
    for bad in ["", "1", "0/2", "3/2", "a/b", "1/0", "1/2/3", "-1/2"] {
        let e = bad.parse::<Shard>().expect_err(bad);
        assert!(e.contains("INDEX/COUNT"), "{e}");
    }
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
    assert!(e.contains("schema version 99, newer than this armorred's 3"), "{e}");
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
