use std::path::{Path, PathBuf};

use super::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/site")
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir") {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &dst.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy");
        }
    }
}

/// Every `href="..."` and `src="..."` of a page, unescaped.
pub(crate) fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].replace("&amp;", "&").replace("&#x2f;", "/"));
            rest = &rest[end..];
        }
    }
    out
}

fn ids(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(" id=\"") {
        rest = &rest[i + 5..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push(rest[..end].to_string());
    }
    out
}

#[test]
fn renders_the_fixture_and_every_internal_link_resolves() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    let report = render(&fixture(), &out).expect("render");
    assert_eq!(report.pages[0], PathBuf::from("index.html"));
    for p in
        ["images/nginx/hardened.html", "images/nginx/locked.html", "images/nginx/upstream.html", "guides/sboms.html"]
    {
        assert!(report.pages.contains(&PathBuf::from(p)), "{p} in {:?}", report.pages);
    }
    assert!(report.files.contains(&PathBuf::from("images/nginx/locked/sbom.spdx.json")), "{:?}", report.files);
    let mut checked = 0;
    for page in &report.pages {
        let html = std::fs::read_to_string(out.join(page)).expect("page");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{}", page.display());
        assert_eq!(html.matches("<h1").count(), 1, "{}: one h1", page.display());
        assert!(!html.contains("<link") && !html.contains("<script"), "{}: no external asset", page.display());
        for link in links(&html) {
            if link.starts_with("https://") || link.starts_with("http://") {
                continue;
            }
            assert!(!link.starts_with('/') && !link.contains("://"), "{}: {link} is not relative", page.display());
            let (file, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target =
                if file.is_empty() { out.join(page) } else { out.join(page).parent().expect("dir").join(file) };
            assert!(target.is_file(), "{}: {link} -> {} is missing", page.display(), target.display());
            if !fragment.is_empty() {
                let html = std::fs::read_to_string(&target).expect("target");
                assert!(ids(&html).iter().any(|i| i == fragment), "{}: {link}: no id {fragment}", page.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked} links");
}

#[test]
fn golden_locked_page() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    render(&fixture(), &out).expect("render");
    let html = std::fs::read_to_string(out.join("images/nginx/locked.html")).expect("page");
    insta::assert_snapshot!("locked_page", html);
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    insta::assert_snapshot!("index_page", index);
}

#[test]
fn headings_are_in_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    let report = render(&fixture(), &out).expect("render");
    for page in &report.pages {
        let html = std::fs::read_to_string(out.join(page)).expect("page");
        let mut last = 0;
        for (i, _) in html.match_indices("<h") {
            let Some(level) = html[i + 2..].chars().next().and_then(|c| c.to_digit(10)) else { continue };
            assert!(level <= last + 1, "{}: h{level} after h{last}", page.display());
            last = level;
        }
    }
}

#[test]
fn everything_from_the_inputs_is_escaped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let from = tmp.path().join("out");
    copy_tree(&fixture(), &from);
    let sbom = from.join("nginx/hardened/sbom.cdx.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&sbom).expect("sbom")).expect("json");
    v["components"][0]["name"] = "<script>alert(1)</script>".into();
    std::fs::write(&sbom, serde_json::to_vec(&v).expect("json")).expect("write");
    let scan = from.join("nginx/hardened/scan.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&scan).expect("scan")).expect("json");
    v["matches"] = serde_json::json!([{
        "vulnerability": {"id": "CVE-2099-0001\"><img src=x>", "severity": "High", "dataSource": "javascript:alert(1)",
            "urls": [], "fix": {"versions": ["1.2-3"], "state": "fixed"}},
        "artifact": {"name": "libc6", "version": "2.41-12"}
    }]);
    std::fs::write(&scan, serde_json::to_vec(&v).expect("json")).expect("write");
    let out = tmp.path().join("site");
    render(&from, &out).expect("render");
    let html = std::fs::read_to_string(out.join("images/nginx/hardened.html")).expect("page");
    assert!(!html.contains("<script>alert"), "component name escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "component name shown");
    assert!(!html.contains("<img src=x>"), "CVE id escaped");
    assert!(html.contains("CVE-2099-0001&quot;&gt;&lt;img src=x&gt;"), "CVE id shown");
    assert!(html.contains("1.2-3") && html.contains("2.41-12"), "fixed and installed versions");
    assert!(!html.contains("href=\"javascript:"), "only http(s) links from the data");
}

#[test]
fn refuses_what_it_did_not_write_and_replaces_its_own() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("site");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    let err = render(&fixture(), &out).expect_err("not ours");
    assert!(matches!(err, SiteError::NotOurs { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).expect("kept"), "mine");
    std::fs::remove_file(out.join("keep.txt")).expect("rm");
    render(&fixture(), &out).expect("empty folder");
    std::fs::write(out.join("index.html"), "stale").expect("write");
    render(&fixture(), &out).expect("our own site");
    assert_ne!(std::fs::read_to_string(out.join("index.html")).expect("index"), "stale");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".armorred-site-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary folder left");
}

#[test]
fn hostile_paths_are_refused_with_the_file_and_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let from = tmp.path().join("out");
    copy_tree(&fixture(), &from);
    let summary = from.join("nginx/locked/summary.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&summary).expect("summary")).expect("json");
    v["paths"]["sbom_spdx"] = "../../../../etc/passwd".into();
    std::fs::write(&summary, serde_json::to_vec(&v).expect("json")).expect("write");
    let err = render(&from, &tmp.path().join("site")).expect_err("hostile");
    let text = err.to_string();
    assert!(text.contains("summary.json") && text.contains("paths.sbom_spdx") && text.contains("etc/passwd"), "{text}");
    assert!(!tmp.path().join("site").exists(), "nothing written");

    let index = from.join("index.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&index).expect("index")).expect("json");
    v["images"][0]["name"] = "../x".into();
    std::fs::write(&index, serde_json::to_vec(&v).expect("json")).expect("write");
    let err = render(&from, &tmp.path().join("site")).expect_err("hostile name");
    assert!(err.to_string().contains("images[0].name"), "{err}");

    std::fs::write(&index, b"{\"schema\": 1").expect("write");
    let err = render(&from, &tmp.path().join("site")).expect_err("bad json");
    assert!(matches!(err, SiteError::Json { .. }), "{err}");
}

#[test]
fn renders_without_a_scan_an_upstream_or_a_build() {
    let tmp = tempfile::tempdir().expect("tmp");
    let from = tmp.path().join("out");
    copy_tree(&fixture(), &from);
    let index = from.join("index.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&index).expect("index")).expect("json");
    v["images"][0].as_object_mut().expect("image").remove("upstream");
    v["images"][0]["tiers"].as_array_mut().expect("tiers").truncate(1);
    v["notes"] = serde_json::json!(["scan skipped: no vulnerability DB"]);
    std::fs::write(&index, serde_json::to_vec(&v).expect("json")).expect("write");
    let summary = from.join("nginx/hardened/summary.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&summary).expect("summary")).expect("json");
    for key in ["scan", "comparison", "build"] {
        v.as_object_mut().expect("summary").remove(key);
    }
    v["paths"] = serde_json::json!({"sbom_cyclonedx": "sbom.cdx.json", "checksec": "checksec.json"});
    std::fs::write(&summary, serde_json::to_vec(&v).expect("json")).expect("write");
    let out = tmp.path().join("site");
    let report = render(&from, &out).expect("render");
    assert_eq!(report.files.len(), 2, "{:?}", report.files);
    let html = std::fs::read_to_string(out.join("images/nginx/hardened.html")).expect("page");
    assert!(html.contains("Not scanned: the pipeline ran without a vulnerability DB."), "no scan");
    assert!(!html.contains("id=\"comparison\""), "no comparison section without one");
    assert!(html.contains("configuration is not shown"), "no image layout named");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(index.contains("scan skipped: no vulnerability DB") && index.contains("not scanned"), "notes shown");
}

/// `monitor.json` beside `index.json`: the tier's page lists every scan of each image published
/// under its name and tier (the superseded one's too), newest first, and the rebuilds; a tier
/// the history does not name has no such section; a history that is not JSON is refused.
#[test]
fn the_monitor_history_is_shown_per_tier() {
    let tmp = tempfile::tempdir().expect("tmp");
    let from = tmp.path().join("out");
    copy_tree(&fixture(), &from);
    let history = serde_json::json!({
        "state": "sqlite:out/monitor.db",
        "schema_version": 3,
        "images": [
            {
                "image": {"key": "nginx:hardened@sha256:old", "name": "nginx", "tier": "hardened", "digest": "sha256:0123456789abcdef0123"},
                "scans": [{"id": "a", "image_key": "nginx:hardened@sha256:old", "db_digest": "sha256:dbone", "scanned_at": "2026-11-01T00:00:00Z", "findings": 7, "new_findings": 7, "vex": ""}],
                "findings": [],
                "decisions": [{}, {}],
                "rebuilds": [{"id": "r", "image_key": "nginx:hardened@sha256:old", "old_digest": "sha256:old", "new_digest": "sha256:fedcba9876543210fedc", "state": "published", "started_at": "2026-11-02T00:00:00Z", "advisory": "DSA-9999-1", "fixes": "CVE-2026-0001", "time_to_fix_seconds": 7200}]
            },
            {
                "image": {"key": "nginx:hardened@sha256:new", "name": "nginx", "tier": "hardened", "digest": "sha256:fedcba9876543210fedc"},
                "scans": [{"id": "b", "image_key": "nginx:hardened@sha256:new", "db_digest": "sha256:dbtwo", "scanned_at": "2026-11-03T00:00:00Z", "findings": 5, "new_findings": 0, "vex": ""}],
                "decisions": [{}],
                "rebuilds": []
            }
        ]
    });
    std::fs::write(from.join("monitor.json"), history.to_string()).expect("write");
    let out = tmp.path().join("site");
    render(&from, &out).expect("render");
    let page = std::fs::read_to_string(out.join("images/nginx/hardened.html")).expect("page");
    assert!(page.contains("<h2 id=\"monitor\">Monitor history</h2>") && page.contains("href=\"#monitor\""), "{page}");
    assert!(page.contains("3 findings decided in all"), "{page}");
    let (newer, older) =
        (page.find("2026-11-03T00:00:00Z").expect("newer"), page.find("2026-11-01T00:00:00Z").expect("older"));
    assert!(newer < older, "newest first");
    assert!(page.contains("DSA-9999-1") && page.contains("2.0 h"), "{page}");
    let locked = std::fs::read_to_string(out.join("images/nginx/locked.html")).expect("page");
    assert!(!locked.contains("Monitor history"), "no history for the locked tier");
    std::fs::write(from.join("monitor.json"), b"{not json").expect("write");
    let e = render(&from, &tmp.path().join("site2")).expect_err("must fail").to_string();
    assert!(e.contains("monitor.json"), "{e}");
}
