//! The site in a real browser: Debian's `chromium`, headless, opens the index and every page
//! rendered from `testdata/site/`, checks in the DOM it built that the page rendered (its
//! headings, the comparison chart with its text alternative) and that every internal link
//! resolves, and keeps a screenshot of each under `<target>/tmp/site-shots/` for review.
//! Without chromium the test skips, unless ARMORRED_REQUIRE_TOOLS=1, where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "chromium";

fn chromium(profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).expect("chromium output");
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium {args:?}: {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} took over 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

fn hrefs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_page_renders_in_chromium() {
    if Command::new(CHROMIUM).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "ARMORRED_REQUIRE_TOOLS=1 but chromium is missing (apt-get install chromium)"
        );
        eprintln!("skipping: chromium is not installed");
        return;
    }
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let site = base.join("site-browser");
    let shots = base.join("site-shots");
    std::fs::create_dir_all(&shots).expect("shots dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/site");
    let report = armorred::site::render(&fixture, &site).expect("render the site");
    let profile = tempfile::tempdir().expect("profile");
    assert!(report.pages.len() >= 7, "{:?}", report.pages);
    for page in &report.pages {
        let file = site.join(page).canonicalize().expect("page path");
        let url = format!("file://{}", file.display());
        let dom = chromium(profile.path(), &["--dump-dom".to_string(), url.clone()]);
        let name = page.display().to_string();
        assert!(dom.contains("<html lang=\"en\">"), "{name}: not rendered: {dom:.200}");
        assert!(dom.contains("<h1>") || dom.contains("<h1 "), "{name}: no h1");
        assert!(dom.contains("<h2"), "{name}: no h2");
        let tier = name.starts_with("images/") && !name.ends_with("upstream.html");
        if tier {
            for section in
                ["overview", "specifications", "hardening", "sbom", "vulnerabilities", "comparison", "provenance"]
            {
                assert!(dom.contains(&format!("<h2 id=\"{section}\"")), "{name}: no {section} section");
            }
            let chart = dom.find("<svg id=\"chart\"").unwrap_or_else(|| panic!("{name}: no chart"));
            let svg = &dom[chart..];
            assert!(svg.contains("aria-label=\"Upstream compared with"), "{name}: chart without aria-label");
            assert!(svg.contains("<title>Upstream compared with"), "{name}: chart without title");
            assert!(svg.contains("<rect"), "{name}: chart without bars");
            assert!(dom.contains("cosign verify --key cosign.pub --insecure-ignore-tlog=true"), "{name}");
        }
        for link in hrefs(&dom) {
            if link.starts_with("https://") || link.starts_with("http://") || link.starts_with('#') {
                continue;
            }
            assert!(!link.contains("://") && !link.starts_with('/'), "{name}: {link} is not relative");
            let target = file.parent().expect("dir").join(link.split('#').next().unwrap_or_default());
            assert!(target.is_file(), "{name}: {link} does not resolve ({})", target.display());
        }
        let shot = shots.join(format!("{}.png", name.trim_end_matches(".html").replace('/', "_")));
        let _ = std::fs::remove_file(&shot);
        chromium(profile.path(), &[format!("--screenshot={}", shot.display()), url]);
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{name}: no screenshot {}: {e}", shot.display()));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}: screenshot {} looks empty", shot.display());
    }
}
