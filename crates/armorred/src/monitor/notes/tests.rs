//! Golden tests of the rebuild's notifications; the OSV record validated against the OSV schema
//! (`monitor/testdata/osv-schema.json`, from ossf/osv-schema) with python's jsonschema.

use super::*;

fn side(digest: &str, nginx: &str, extra: Option<(&str, &str)>, compressed: u64) -> Side {
    let mut packages: BTreeMap<String, String> =
        [("libc6", "2.41-12"), ("nginx", nginx), ("nginx-common", nginx), ("zlib1g", "1:1.3.dfsg+really1.3.1-1+b1")]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
    if let Some((n, v)) = extra {
        packages.insert(n.into(), v.into());
    }
    Side {
        digest: digest.into(),
        size: SizeSummary { compressed: Some(compressed), uncompressed: compressed * 3 },
        packages,
    }
}

fn fixes() -> Vec<Fix> {
    vec![
        Fix {
            vulnerability: "CVE-2025-53859".into(),
            package: "nginx".into(),
            severity: "Medium".into(),
            installed: "1.26.3-3+deb13u1".into(),
            fixed_in: "1.26.3-3+deb13u2".into(),
            candidate: "1.26.3-3+deb13u11".into(),
            first_seen: "2026-12-01T03:17:00Z".into(),
        },
        Fix {
            vulnerability: "CVE-2025-23419".into(),
            package: "nginx-common".into(),
            severity: "High".into(),
            installed: "1.26.3-3+deb13u1".into(),
            fixed_in: String::new(),
            candidate: "1.26.3-3+deb13u11".into(),
            first_seen: "2026-12-01T03:17:00Z".into(),
        },
    ]
}

fn notes<'a>(old: &'a Side, new: &'a Side, fixes: &'a [Fix]) -> RebuildNotes<'a> {
    RebuildNotes {
        advisory: "ARMORRED-2026-1",
        image: "nginx",
        tier: "hardened",
        old,
        new,
        fixes,
        reference: Some("registry:127.0.0.1:5000/nginx@sha256:bbbb"),
        public_key: Some("cosign.pub"),
        published: "2026-12-01T05:20:00Z",
        time_to_fix_seconds: Some(7380),
    }
}

#[test]
fn release_notes_golden() {
    let old = side("sha256:aaaa", "1.26.3-3+deb13u1", Some(("libgd3", "2.3.3-13")), 30_000_000);
    let new = side("sha256:bbbb", "1.26.3-3+deb13u11", Some(("libxpm4", "1:3.5.17-1+b3")), 30_000_512);
    let f = fixes();
    insta::assert_snapshot!(release_notes(&notes(&old, &new, &f)));
    // Nothing pushed, nothing signed: it says so.
    let mut n = notes(&old, &new, &f);
    n.reference = None;
    n.public_key = None;
    assert!(release_notes(&n).contains("Not signed and not pushed."));
}

#[test]
fn osv_record_golden_and_valid() {
    let old = side("sha256:aaaa", "1.26.3-3+deb13u1", None, 30_000_000);
    let new = side("sha256:bbbb", "1.26.3-3+deb13u11", None, 30_000_000);
    let f = fixes();
    let record = osv_record(&notes(&old, &new, &f));
    insta::assert_json_snapshot!(record);
    assert_eq!(record["aliases"], serde_json::json!(["CVE-2025-23419", "CVE-2025-53859"]));
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/monitor/testdata/osv-schema.json");
    let have =
        std::process::Command::new("python3").args(["-c", "import jsonschema"]).status().is_ok_and(|s| s.success());
    if !have {
        assert!(std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"), "python3 jsonschema missing");
        eprintln!("skipped: python3 jsonschema missing");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("osv.json");
    std::fs::write(&file, serde_json::to_vec(&record).expect("json")).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-m", "jsonschema", "-i"])
        .arg(&file)
        .arg(&schema)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // A record missing `modified` is refused by the same check (the check checks).
    std::fs::write(&file, br#"{"id": "ARMORRED-2026-1"}"#).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-m", "jsonschema", "-i"])
        .arg(&file)
        .arg(&schema)
        .output()
        .expect("python3");
    assert!(!out.status.success());
}

#[test]
fn eol_warnings_golden() {
    let now = crate::clock::parse_rfc3339("2026-12-02T00:00:00Z").expect("time");
    let suites = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // trixie: regular support to 2028-08-09, far away; bookworm: in LTS; bullseye: ended.
    assert!(eol_warnings("nginx:hardened@x", &suites(&["trixie", "trixie-security"]), now, 180).is_empty());
    let w = eol_warnings("old:hardened@x", &suites(&["bookworm", "bullseye-security", "sid"]), now, 180);
    insta::assert_json_snapshot!(w);
    // Within the window of trixie's end of regular support.
    let later = crate::clock::parse_rfc3339("2028-05-01T00:00:00Z").expect("time");
    let w = eol_warnings("nginx:hardened@x", &suites(&["trixie"]), later, 180);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].message, "Debian trixie's regular security support ends on 2028-08-09 (Debian's plan), in 100 days (LTS until 2030-06-30)");
}

#[test]
fn durations() {
    assert_eq!(human_duration(45), "45 s");
    assert_eq!(human_duration(7380), "2 h 3 min");
    assert_eq!(human_duration(3 * 86_400 + 7200), "3 d 2 h");
}
