//! Vulnerability DB and scan benchmarks (plain timing harness; run through bench/vuln.sh).
//!
//! 1. Import of all OSV data in ../shared/data (Go vulndb, RustSec, PyPA, GHSA samples).
//! 2. Scan of one 150-package CycloneDX SBOM after the DB is open (target < 50 ms).
//! 3. Rescan of 1,000 SBOMs on 2 threads (target < 10 s on 2 cores).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use armorred::vuln::db::{self, Db};
use armorred::vuln::{sbom, scan_packages, Distro, ScanOptions};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = shared();
    // 1. OSV import.
    let osv: Vec<(PathBuf, Option<armorred::vuln::import::Format>)> = [
        "osv-golang-vulndb/data/osv",
        "osv-rustsec-advisory-db/osv-export",
        "osv-pypa-advisory-database/vulns",
        "osv-ghsa-samples",
    ]
    .iter()
    .map(|p| (d.join(p), None))
    .collect();
    let osv_db = dir.path().join("osv.db");
    let t = Instant::now();
    let rep = db::import(&osv_db, &osv).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let records: u64 = rep.sources.iter().map(|s| s.records).sum();
    println!("import all OSV data: {records} records in {secs:.2} s ({:.0} records/s)", records as f64 / secs);

    // Full DB: OSV + Debian + NVD.
    let full = dir.path().join("full.db");
    std::fs::copy(&osv_db, &full).unwrap();
    let t = Instant::now();
    db::import(
        &full,
        &[
            (d.join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json"), None),
            (d.join("debian-security-advisories/derived/changelog-fixes.tracker-shape.json"), None),
            (d.join("nvd-cve-json-2.0"), None),
        ],
    )
    .unwrap();
    println!("import Debian advisories + changelog fixes + NVD: {:.2} s", t.elapsed().as_secs_f64());
    let size = std::fs::metadata(&full).unwrap().len();
    let t = Instant::now();
    let db = Db::open(&full).unwrap();
    println!("DB open (incl. sha256 of {:.1} MB): {:.1} ms", size as f64 / 1e6, t.elapsed().as_secs_f64() * 1e3);

    // 2. A 150-package SBOM: 120 Debian packages from the recorded status + 30 language packages.
    let bookworm = Distro { id: "debian".into(), version_id: "12".into(), codename: Some("bookworm".into()) };
    let debs = sbom::read_dpkg_status(&d.join("debian-bookworm-packages/dpkg-status.this-machine"), Some(&bookworm))
        .unwrap()
        .packages;
    let lang = [
        "pkg:pypi/django@2.2.24",
        "pkg:pypi/flask@1.0",
        "pkg:pypi/urllib3@1.24.3",
        "pkg:pypi/requests@2.20.0",
        "pkg:pypi/jinja2@2.10",
        "pkg:pypi/idna@2.7",
        "pkg:pypi/pip@23.0.1",
        "pkg:pypi/setuptools@58.1.0",
        "pkg:golang/stdlib@1.22.4",
        "pkg:golang/golang.org/x/text@v0.3.6",
        "pkg:golang/golang.org/x/net@v0.16.0",
        "pkg:golang/github.com/opencontainers/runc@v1.0.1",
        "pkg:golang/golang.org/x/image@v0.4.0",
        "pkg:cargo/smallvec@1.6.0",
        "pkg:cargo/url@2.5.3",
        "pkg:cargo/syn@2.0.111",
    ];
    let sbom_doc = |offset: usize| {
        let mut comps = vec![serde_json::json!({"type": "operating-system", "name": "debian", "version": "12"})];
        for p in debs.iter().skip(offset % 600).take(120) {
            comps.push(serde_json::json!({"type": "library", "name": p.name, "version": p.version,
                "purl": format!("pkg:deb/debian/{}@{}?distro=debian-12&upstream={}", p.name, p.version,
                    p.source_name.clone().unwrap_or_default())}));
        }
        for k in 0..30 {
            let purl = lang[(k + offset) % lang.len()];
            let (n, v) = purl.rsplit_once('@').unwrap();
            comps.push(serde_json::json!({"type": "library", "name": n.rsplit('/').next().unwrap(), "version": v, "purl": purl}));
        }
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps})
    };
    let one = dir.path().join("one.cdx.json");
    std::fs::write(&one, serde_json::to_vec(&sbom_doc(0)).unwrap()).unwrap();
    let opts = ScanOptions::default();
    let mut times = Vec::new();
    let mut findings = 0;
    let mut cold = 0.0;
    for i in 0..22 {
        let t = Instant::now();
        let pkgs = sbom::read(&one, None).unwrap();
        let r = scan_packages(&db, &pkgs, &opts).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if i == 0 {
            cold = ms;
        } else {
            times.push(ms);
        }
        findings = r.matches.len();
        assert_eq!(pkgs.len(), 150);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "scan one 150-package SBOM after DB open: first (cold caches) {cold:.1} ms, then median {:.1} ms ({findings} findings; target < 50 ms)",
        times[10]
    );

    // 3. 1,000 SBOMs on 2 threads, each thread with its own connection.
    let sboms: Vec<PathBuf> = (0..1000)
        .map(|i| {
            let p = dir.path().join(format!("sbom-{i}.cdx.json"));
            std::fs::write(&p, serde_json::to_vec(&sbom_doc(i * 7)).unwrap()).unwrap();
            p
        })
        .collect();
    let t = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let hs: Vec<_> = sboms
            .chunks(500)
            .map(|chunk| {
                let full = full.clone();
                s.spawn(move || {
                    let db = Db::open(&full).unwrap();
                    let mut n = 0;
                    for p in chunk {
                        let pkgs = sbom::read(p, None).unwrap();
                        n += scan_packages(&db, &pkgs, &ScanOptions::default()).unwrap().matches.len();
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!(
        "rescan of 1,000 SBOMs (150 packages each, 2 threads): {:.2} s, {total} findings (target < 10 s)",
        t.elapsed().as_secs_f64()
    );
}
