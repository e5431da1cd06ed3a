//! The command line as users see it: help texts (snapshots), exit codes, error messages.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{armorred, debian_db, text};

fn compile(dir: &Path, flags: &[&str], name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../armorred/testdata/elf/plain.c");
    let out = dir.join(name);
    let ok = Command::new("gcc").args(flags).arg(&src).arg("-o").arg(&out).status().expect("gcc").success();
    assert!(ok, "gcc {flags:?}");
    out
}

/// Every subcommand's `--help`, found from the top-level help, so a new command is covered
/// (and every flag change shows up in review) without editing this test.
#[test]
fn help_texts() {
    let top = text(&armorred(&["--help"]).stdout);
    insta::assert_snapshot!("help-", top);
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"checksec") && commands.len() >= 3, "{commands:?}");
    for cmd in commands {
        let out = armorred(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        insta::assert_snapshot!(format!("help-{cmd}"), text(&out.stdout));
    }
}

#[test]
fn checksec_json_policy_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = compile(
        dir.path(),
        &["-O2", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-fPIE", "-pie", "-Wl,-z,relro,-z,now"],
        "good",
    );
    let weak = compile(dir.path(), &["-O0", "-fno-stack-protector", "-no-pie", "-Wl,-z,norelro"], "weak");
    std::fs::write(dir.path().join("notes.txt"), "not an ELF file").expect("write");
    std::fs::write(dir.path().join("broken"), b"\x7fELF\x02\x01\x01garbage").expect("write");

    let out = armorred(&["checksec", "--format", "json", "--extended", dir.path().to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let map = json.as_object().expect("object keyed by path");
    assert_eq!(map.len(), 3, "non-ELF files are skipped: {:?}", map.keys());
    let g = &json[good.to_str().expect("utf-8")];
    for (key, want) in [
        ("relro", "full"),
        ("canary", "yes"),
        ("nx", "yes"),
        ("pie", "yes"),
        ("rpath", "no"),
        ("runpath", "no"),
        ("fortify_source", "yes"),
        ("clangcfi", "no"),
        ("safestack", "no"),
    ] {
        assert_eq!(g[key], want, "{key}");
    }
    let w = &json[weak.to_str().expect("utf-8")];
    assert_eq!((w["relro"].as_str(), w["canary"].as_str(), w["pie"].as_str()), (Some("no"), Some("no"), Some("no")));
    let broken = json[dir.path().join("broken").to_str().expect("utf-8")]["error"].as_str().expect("error entry");
    assert!(broken.starts_with("malformed ELF file"), "{broken}");

    // Policy: the good binary passes, the weak one fails with every property named, exit 1.
    let out = armorred(&["checksec", "--policy", "hardened", good.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = armorred(&["checksec", "--policy", "hardened", weak.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for property in ["relro", "canary", "pie", "fortify"] {
        assert!(err.contains(&format!("weak: {property}:")), "{property} missing in {err}");
    }

    // Not a terminal: plain text, no escape codes.
    let out = armorred(&["checksec", good.to_str().expect("utf-8")]);
    assert!(!text(&out.stdout).contains('\x1b'));
    assert!(text(&out.stdout).starts_with("RELRO"));
}

#[test]
fn missing_path_is_a_clear_error() {
    let out = armorred(&["checksec", "/nonexistent/armorred-test"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot read /nonexistent/armorred-test"), "{err}");
}

/// The main job on the embedded defaults, with a real DB: the upstream reference (Debian trixie
/// minbase + Debian's nginx) built by armorred itself from its own lock, then both nginx images
/// (hardened from Debian's packages, locked from source), each catalogued, checked, scanned and
/// compared with it; `out/<image>/<variant>/summary.json` and `out/index.json` are valid against
/// their documented schemas.
#[test]
fn pipeline_writes_its_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let db = dir.path().join("vuln.db");
    debian_db(&db);
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx");
    let run = armorred(&[
        "pipeline",
        images.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--db",
        db.to_str().expect("utf-8"),
        "--key",
        dir.path().join("keys/cosign").to_str().expect("utf-8"),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("generated the signing key"), "{stderr}");
    // Each lock (the reference's too) is checked against today's indices before it is built.
    assert!(!stderr.contains("could not check image.lock"), "{stderr}");
    assert!(!stderr.contains("compare skipped"), "{stderr}");
    let schemas = support::repo().join("docs/schema");
    support::validate(&out.join("index.json"), &schemas.join("index.schema.json"));
    for variant in ["upstream", "hardened", "locked"] {
        support::validate(&out.join(format!("nginx/{variant}/summary.json")), &schemas.join("summary.schema.json"));
    }
    let json = |rel: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))).expect("json")
    };
    assert!(out.join("site/index.html").is_file(), "the pipeline renders the site");
    assert!(stderr.contains(&format!("site: {}", out.join("site/index.html").display())), "{stderr}");
    let index = json("index.json");
    assert_eq!(index["images"][0]["name"], "nginx");
    assert_eq!(index["images"][0]["upstream"]["summary"], "nginx/upstream/summary.json");
    let tiers: Vec<&str> =
        index["images"][0]["tiers"].as_array().expect("tiers").iter().filter_map(|t| t["variant"].as_str()).collect();
    assert_eq!(tiers, ["hardened", "locked"]);
    // The reference is upstream as it is made: a shell, apt, root; ours has none of these.
    let upstream = json("nginx/upstream/summary.json");
    assert!(upstream["files"]["shells"].as_array().is_some_and(|s| !s.is_empty()), "{upstream}");
    assert!(upstream["components"].as_u64().is_some_and(|n| n > 80), "{upstream}");
    let hardened = json("nginx/hardened/summary.json");
    assert_eq!(hardened["files"]["shells"], serde_json::json!([]));
    assert_eq!(hardened["comparison"]["upstream"], format!("oci-dir:{}", out.join("nginx/upstream/image").display()));
    for rel in ["compare.json", "compare.md", "compare.html", "sbom.spdx.json", "image.build.json", "image/index.json"]
    {
        assert!(out.join("nginx/hardened").join(rel).exists(), "{rel}");
        let listed = rel.split('/').next().unwrap_or(rel);
        assert!(hardened["paths"].as_object().expect("paths").values().any(|v| v == listed), "{rel} in {hardened}");
    }
    let checksec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/hardened/checksec.json")).expect("checksec"))
            .expect("json");
    assert_eq!(checksec["/usr/sbin/nginx"]["relro"], "full", "the image's own nginx, analysed inside the image");
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/hardened/sbom.cdx.json")).expect("sbom")).expect("json");
    assert_eq!(sbom["specVersion"], "1.6");
    // The image names its release (/etc/os-release), so packages get distro-qualified purls and
    // the scan matches Debian 13 advisories: without it every Debian finding would be missed.
    let purls: Vec<&str> =
        sbom["components"].as_array().expect("components").iter().filter_map(|c| c["purl"].as_str()).collect();
    assert!(
        purls.iter().any(|p| p.starts_with("pkg:deb/debian/nginx@") && p.contains("distro=debian-13")),
        "{purls:?}"
    );
    let scan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/hardened/scan.json")).expect("scan")).expect("json");
    assert!(scan["matches"].is_array());
    // The predicates to attest: provenance from the build record, checksec verdict, scan, comparison.
    for tier in ["hardened", "locked"] {
        let summary = json(&format!("nginx/{tier}/summary.json"));
        for name in ["slsaprovenance1", "cyclonedx", "checksec", "vuln", "comparison", "vexfacts"] {
            let rel = summary["paths"][format!("attestation_{name}")].as_str().unwrap_or_else(|| panic!("{name}"));
            assert!(out.join("nginx").join(tier).join(rel).is_file(), "{tier}: {rel}");
        }
        let provenance = json(&format!("nginx/{tier}/attestations/slsaprovenance1.json"));
        let definition = provenance["buildDefinition"]["externalParameters"]["definition"].as_str().unwrap_or_default();
        assert!(definition.ends_with("images/nginx"), "{provenance}");
        assert_eq!(provenance["buildDefinition"]["externalParameters"]["tier"], tier);
        let verdict = json(&format!("nginx/{tier}/attestations/checksec.json"));
        assert_eq!(verdict["passed"], true, "{verdict}");
        // The comparison's predicate is the comparison (compare.json) itself.
        let comparison = json(&format!("nginx/{tier}/attestations/comparison.json"));
        assert_eq!(comparison, json(&format!("nginx/{tier}/compare.json")));
        assert!(comparison["size"]["hardened_bytes"].as_u64().is_some_and(|b| b > 0), "{comparison}");
        let vuln = json(&format!("nginx/{tier}/attestations/vuln.json"));
        assert_eq!(vuln["scanner"]["result"], json(&format!("nginx/{tier}/scan.json")));
        // Signed and attested in its layout; our verify and the policy accept it, offline.
        assert_eq!(summary["signing"]["attestations"].as_array().map(Vec::len), Some(6), "{summary}");
        let layout = format!("oci-dir:{}", out.join("nginx").join(tier).join("image").display());
        let key = dir.path().join("keys/cosign.pub");
        let key = key.to_str().expect("utf-8");
        let verify = armorred(&["verify", "--key", key, &layout]);
        assert!(verify.status.success(), "{}", text(&verify.stderr));
        let policy = dir.path().join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "version = 1\nrequire = [\"cyclonedx\", \"comparison\", \"vexfacts\"]\n[[keys]]\npath = {key:?}\n[provenance]\ntiers = [\"{tier}\"]\n[checksec]\n[vulnerabilities]\nmax_age_hours = 24\n"
            ),
        )
        .expect("policy");
        let judged = armorred(&["verify", "--policy", policy.to_str().expect("utf-8"), &layout]);
        assert!(judged.status.success(), "{}{}", text(&judged.stdout), text(&judged.stderr));
        // Real cosign accepts the layout the pipeline signed.
        let cosign = std::env::var("ARMORRED_COSIGN").unwrap_or_else(|_| "cosign".into());
        if support::have_tool(&cosign, &["version"]) {
            let dir_layout = out.join("nginx").join(tier).join("image");
            let o = std::process::Command::new(&cosign)
                .args(["verify", "--key", key, "--insecure-ignore-tlog=true", "--local-image"])
                .arg(&dir_layout)
                .env("TUF_ROOT", dir.path().join(".sigstore"))
                .output()
                .expect("cosign");
            assert!(o.status.success(), "cosign verify --local-image: {}", text(&o.stderr));
            for t in ["slsaprovenance1", "cyclonedx"] {
                let o = std::process::Command::new(&cosign)
                    .args([
                        "verify-attestation",
                        "--key",
                        key,
                        "--type",
                        t,
                        "--insecure-ignore-tlog=true",
                        "--local-image",
                    ])
                    .arg(&dir_layout)
                    .env("TUF_ROOT", dir.path().join(".sigstore"))
                    .output()
                    .expect("cosign");
                assert!(o.status.success(), "cosign verify-attestation --type {t}: {}", text(&o.stderr));
            }
        }
    }

    // checksec reads the image itself, without unpacking, with the same verdicts.
    let image = format!("oci-dir:{}", out.join("nginx/hardened/image").display());
    let direct = armorred(&["checksec", "--format", "json", "--extended", &image]);
    assert!(direct.status.success(), "{}", text(&direct.stderr));
    let direct: serde_json::Value = serde_json::from_slice(&direct.stdout).expect("json");
    assert_eq!(direct, checksec, "checksec of the image equals the pipeline's report");

    // The locked tier: nginx from source, with SafeStack and CFI, found by its package note.
    let locked: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/locked/checksec.json")).expect("checksec"))
            .expect("json");
    let nginx = &locked["/usr/sbin/nginx"];
    assert_eq!((&nginx["safestack"], &nginx["clangcfi"]), (&"yes".into(), &"yes".into()), "{nginx}");
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/locked/sbom.cdx.json")).expect("sbom")).expect("json");
    let names: Vec<&str> =
        sbom["components"].as_array().expect("components").iter().filter_map(|c| c["purl"].as_str()).collect();
    assert!(names.iter().any(|p| p.starts_with("pkg:generic/nginx@1.26.3")), "{names:?}");
    assert!(!names.iter().any(|p| p.starts_with("pkg:deb/debian/nginx")), "{names:?}");
    assert!(stderr.contains("locked on the 1 source-built"), "{stderr}");

    // The image's own VEX (valid OpenVEX), applied to its scan: `scan --vex` of the image with
    // that document gives the pipeline's findings and suppressions, each with its reason.
    let openvex = support::repo().join("../shared/data/attestation-specs/openvex/openvex_json_schema.json");
    for tier in ["hardened", "locked"] {
        let vex = out.join("nginx").join(tier).join("vex.openvex.json");
        let pipeline = json(&format!("nginx/{tier}/scan.json"));
        let found = pipeline["matches"].as_array().is_some_and(|m| !m.is_empty())
            || pipeline["ignoredMatches"].as_array().is_some_and(|m| !m.is_empty());
        // No findings, no document (OpenVEX needs one statement at least).
        assert_eq!(vex.exists(), found, "{tier}");
        if !found {
            continue;
        }
        if openvex.exists() {
            support::validate(&vex, &openvex);
        }
        let image = format!("oci-dir:{}", out.join("nginx").join(tier).join("image").display());
        let again = armorred(&[
            "scan",
            &image,
            "--db",
            db.to_str().expect("utf-8"),
            "--vex",
            vex.to_str().expect("utf-8"),
            "-o",
            "json",
        ]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
        let ids = |v: &serde_json::Value, key: &str| -> Vec<String> {
            let mut ids: Vec<String> = v[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| format!("{} {}", m["vulnerability"]["id"], m["artifact"]["name"]))
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&again, "matches"), ids(&pipeline, "matches"), "{tier}");
        assert_eq!(ids(&again, "ignoredMatches"), ids(&pipeline, "ignoredMatches"), "{tier}");
        for m in pipeline["ignoredMatches"].as_array().into_iter().flatten() {
            let reason = m["appliedIgnoreRules"][0]["reason"].as_str().unwrap_or_default();
            assert!(reason.starts_with("vex not_affected ("), "{tier}: {m}");
        }
    }

    // The package note names Debian's source package and version (the build applies that
    // revision's patch series), so the tracker's data applies to the source-built nginx: none of
    // trixie's nginx advisories in this DB affect deb13u9; claimed as deb13u4, those fixed in u5..u7 do.
    let nginx = sbom["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:generic/nginx@")))
        .expect("nginx");
    let prop = |name: &str| {
        nginx["properties"]
            .as_array()
            .expect("properties")
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].clone())
    };
    assert_eq!(prop("syft:metadata:debianSource"), Some("nginx".into()), "{nginx}");
    assert_eq!(prop("syft:metadata:debianSourceVersion"), Some("1.26.3-3+deb13u9".into()), "{nginx}");
    let nginx_ids = |sbom_text: &str| -> Vec<String> {
        let file = dir.path().join("rebuild.cdx.json");
        std::fs::write(&file, sbom_text).expect("write sbom");
        let source = format!("sbom:{}", file.display());
        let scan = armorred(&[
            "scan",
            &source,
            "--db",
            db.to_str().expect("utf-8"),
            "--skip-db-age-check",
            "-o",
            "json",
            "-q",
        ]);
        assert!(scan.status.success(), "{}", text(&scan.stderr));
        let v: serde_json::Value = serde_json::from_slice(&scan.stdout).expect("json");
        let mut ids: Vec<String> = v["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .filter(|m| m["artifact"]["name"] == "nginx")
            .map(|m| m["vulnerability"]["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let text_sbom = std::fs::read_to_string(out.join("nginx/locked/sbom.cdx.json")).expect("sbom");
    assert_eq!(nginx_ids(&text_sbom), Vec::<String>::new());
    let older = text_sbom.replace("\"1.26.3-3+deb13u9\"", "\"1.26.3-3+deb13u4\"");
    assert_eq!(
        nginx_ids(&older),
        [
            "CVE-2026-40701",
            "CVE-2026-42055",
            "CVE-2026-42934",
            "CVE-2026-42945",
            "CVE-2026-42946",
            "CVE-2026-48142",
            "CVE-2026-9256"
        ]
    );

    never_behind_gate(dir.path(), &db, &images);
}

/// The never-behind gate on real data: with the fixes Debian's changelogs name (deb13u10 and
/// u11, whose sources the mirror's pool lacks) in the DB, the locked nginx carries CVEs that
/// upstream has fixed. The recipe accepts each by name, so the run passes and says so; the same
/// definition without its `[[accept]]` list fails, names them, and leaves the tier unsigned.
/// (The accept list is not in the source-build cache key: both runs reuse the locked build.)
fn never_behind_gate(dir: &Path, db: &Path, images: &Path) {
    let derived = support::shared_data().join("debian-security-advisories/derived/changelog-fixes.tracker-shape.json");
    let import = armorred(&["db", "import", "--db", db.to_str().expect("utf-8"), derived.to_str().expect("utf-8")]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let run = |definition: &Path, out: &Path| {
        armorred(&[
            "pipeline",
            definition.to_str().expect("utf-8"),
            "--tier",
            "locked",
            "--out",
            out.to_str().expect("utf-8"),
            "--db",
            db.to_str().expect("utf-8"),
            "--key",
            dir.join("keys/cosign").to_str().expect("utf-8"),
        ])
    };
    let summary = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join("nginx/locked/summary.json")).expect("summary")).expect("json")
    };
    let out = dir.join("out-behind");
    let accepted = run(images, &out);
    let stderr = text(&accepted.stderr);
    assert!(accepted.status.success(), "{stderr}");
    assert!(stderr.contains("behind: pass: "), "{stderr}");
    let s = summary(&out);
    support::validate(&out.join("nginx/locked/summary.json"), &support::repo().join("docs/schema/summary.schema.json"));
    let behind = s["behind"]["vulnerabilities"].as_array().expect("behind");
    assert!(!behind.is_empty(), "{s}");
    for v in behind {
        assert!(v["accepted"].as_str().is_some_and(|r| r.contains("not in the mirror's pool")), "{v}");
        assert_eq!(v["package"], "nginx", "{v}");
        assert!(v["fixed_by"]["upstream"].as_str().is_some_and(|f| f.starts_with("1.26.3-3+deb13u1")), "{v}");
    }
    assert!(s["signing"].is_object(), "an accepted carry is signed: {s}");
    // Every accept entry that the image's VEX already decides (a compiled-out module) is stale.
    for id in s["behind"]["stale_accepts"].as_array().expect("stale") {
        assert!(stderr.contains(&format!("accepts {}, which it does not carry", id.as_str().expect("id"))), "{stderr}");
    }

    let copy = support::copy_nginx_definition(&dir.join("defs"));
    let recipe = std::fs::read_to_string(copy.join("recipe.toml")).expect("recipe");
    let cut = recipe.find("\n[[accept]]").expect("the recipe accepts");
    std::fs::write(copy.join("recipe.toml"), &recipe[..cut]).expect("write recipe");
    let out = dir.join("out-behind-failing");
    let failing = run(&copy, &out);
    let stderr = text(&failing.stderr);
    assert_eq!(failing.status.code(), Some(1), "{stderr}");
    let s = summary(&out);
    assert_eq!(s["build"]["source_build_reused"], true, "the accept list rebuilds nothing: {s}");
    let first = behind[0]["id"].as_str().expect("id");
    assert!(stderr.contains("error: nginx:locked: behind on security fixes, not signed: "), "{stderr}");
    assert!(stderr.contains(first), "{stderr}");
    assert!(s["signing"].is_null(), "a tier behind is not signed: {s}");
    assert!(s["behind"]["vulnerabilities"].as_array().expect("behind").iter().all(|v| v["accepted"].is_null()), "{s}");
    assert!(out.join("index.json").is_file() && out.join("site/index.html").is_file(), "every output is written");
}

#[test]
fn two_outputs_naming_the_same_file_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.json");
    let same = dir.path().join(".").join("a.json");
    // The source does not exist: the error proves the outputs were checked first.
    let cases: Vec<Vec<String>> = vec![
        vec![
            "sbom".into(),
            "oci-dir:/nonexistent/img".into(),
            "-o".into(),
            format!("json={}", a.display()),
            "-o".into(),
            format!("table={}", a.display()),
        ],
        vec![
            "sbom".into(),
            "oci-dir:/nonexistent/img".into(),
            "-o".into(),
            format!("json={}", a.display()),
            "-o".into(),
            format!("table={}", same.display()),
        ],
        vec![
            "sbom".into(),
            "oci-dir:/nonexistent/img".into(),
            "-o".into(),
            "json".into(),
            "-o".into(),
            format!("table={}", a.display()),
            "--file".into(),
            a.display().to_string(),
        ],
        vec![
            "compare".into(),
            "oci-dir:/nonexistent/a".into(),
            "oci-dir:/nonexistent/b".into(),
            "-o".into(),
            format!("json={}", a.display()),
            "-o".into(),
            format!("markdown={}", a.display()),
        ],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = armorred(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: -o "), "{args:?}: {err}");
        assert!(
            err.contains(" name the same file ") && err.trim_end().ends_with(": give each output its own file"),
            "{err}"
        );
        assert!(!a.exists());
    }
    // Different files are fine (and fail later, on the missing image).
    let b = dir.path().join("b.json");
    let out = armorred(&[
        "sbom",
        "oci-dir:/nonexistent/img",
        "-o",
        &format!("json={}", a.display()),
        "-o",
        &format!("table={}", b.display()),
    ]);
    assert!(!text(&out.stderr).contains("same file"), "{}", text(&out.stderr));
}

#[test]
fn terminal_escapes_in_error_messages_are_printed_escaped() {
    let out = armorred(&["checksec", "/nonexistent/\x1b[2J\x1b]0;pwned\x07\u{202e}x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(!err.contains('\x1b') && !err.contains('\x07') && !err.contains('\u{202e}'), "{err:?}");
    assert!(err.contains("/nonexistent/\\x1b[2J\\x1b]0;pwned\\x07\\u{202e}x"), "{err}");
}

#[test]
fn the_table_cell_bound_is_set_by_the_environment() {
    for cmd in [&["sbom", "oci-dir:/nonexistent/img", "-o", "table"][..], &["scan", "sbom:/nonexistent/bom.json"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_armorred"))
            .args(cmd)
            .env("ARMORRED_TABLE_CELL_CHARS", "1")
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            text(&out.stderr).trim(),
            "error: $ARMORRED_TABLE_CELL_CHARS = \"1\": expected a number of characters, at least 2"
        );
    }
}

/// One clock: a bad SOURCE_DATE_EPOCH is the same error, exit 2 like other input errors,
/// from every command that tells the time, before any work; an empty one is unset; a good
/// one is `sbom --timestamp now`'s time.
#[test]
fn a_bad_source_date_epoch_is_one_error_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let missing = format!("{d}/missing");
    let out_dir = format!("oci-dir:{d}/out");
    let db = format!("{d}/vuln.db");
    let commands: [Vec<&str>; 6] = [
        vec!["build", &missing, "--tier", "hardened", "--output", &out_dir],
        vec!["scan", "--db", &db, &missing],
        vec!["sbom", &missing],
        vec!["db", "import", "--db", &db, &missing],
        vec!["pipeline", &missing, "--out", d, "--db", &db],
        vec!["compare", "--db", &db, &missing, &missing],
    ];
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_armorred"))
            .args(args)
            .env("SOURCE_DATE_EPOCH", "abc")
            .output()
            .expect("run armorred");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            "error: SOURCE_DATE_EPOCH=\"abc\" is not a number of seconds since 1970\n",
            "{args:?}"
        );
    }
    assert!(!Path::new(&db).exists() && !dir.path().join("out").exists(), "nothing was done");

    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let empty = format!("dir:{d}/empty");
    let sbom = |epoch: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_armorred"))
            .args(["sbom", "-q", &empty, "--timestamp", "now"])
            .env("SOURCE_DATE_EPOCH", epoch)
            .output()
            .expect("run armorred");
        assert!(out.status.success(), "SOURCE_DATE_EPOCH={epoch:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(sbom("1790000000").contains("\"timestamp\": \"2026-09-21T14:13:20Z\""));
    assert!(!sbom("").contains("2026-09-21T14:13:20Z"), "empty is unset: the real time");
}

/// The main job on the embedded defaults: no `--db`, no `armorred.toml` in the current
/// directory, the default DB missing. The pipeline updates the DB first from the compiled-in
/// feeds (offline here: the official URLs fail at once and `../shared/data` answers), then scans
/// and compares, and every summary names the DB's age and where each source came from.
#[test]
fn pipeline_updates_a_missing_db_from_the_embedded_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `../shared/data` relative to the working directory, as beside the repository.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let shared = support::shared_data().parent().expect("shared").canonicalize().expect("shared");
    std::os::unix::fs::symlink(&shared, dir.path().join("shared")).expect("symlink");
    let db = dir.path().join("data/vuln.db");
    let out = dir.path().join("out");
    let images = support::repo().join("images/nginx").canonicalize().expect("images");
    let pipeline = || {
        Command::new(env!("CARGO_BIN_EXE_armorred"))
            .current_dir(&work)
            .env("ARMORRED_DB", &db)
            // The default key place, inside the test: the embedded defaults sign too.
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .args(["pipeline", images.to_str().expect("utf-8"), "--tier", "hardened", "--out"])
            .arg(&out)
            .output()
            .expect("run armorred")
    };
    let run = pipeline();
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");

    assert!(stderr.contains(&format!("db: no vulnerability DB at {}: updating it", db.display())), "{stderr}");
    assert!(stderr.contains("vulnerability DB updated (no vulnerability DB at"), "{stderr}");
    assert!(stderr.contains("from <embedded armorred.toml>"), "{stderr}");
    assert!(!stderr.contains("compare skipped"), "{stderr}");
    assert!(db.is_file());
    assert!(dir.path().join("config/armorred/cosign.pub").is_file(), "the key pair is made on first use: {stderr}");
    assert!(out.join("nginx/hardened/scan.json").is_file());
    assert!(out.join("nginx/hardened/compare.json").is_file());
    // The main job's first monitor record: each scanned image with the DB it was scanned with.
    assert!(stderr.contains(&format!("scans recorded in {}", out.join("monitor.db").display())), "{stderr}");
    let status = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["monitor", "status", "--from"])
        .arg(&out)
        .output()
        .expect("run armorred");
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let scanned: Vec<&str> = status["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter(|i| i["scans"].as_array().is_some_and(|s| !s.is_empty()))
        .filter_map(|i| i["image"]["key"].as_str())
        .collect();
    assert!(scanned.iter().any(|k| k.contains("hardened")), "{status}");
    // The site, rendered again with that history.
    assert!(out.join("monitor.json").is_file());
    let page = std::fs::read_to_string(out.join("site/images/nginx/hardened.html")).expect("page");
    assert!(page.contains("<h2 id=\"monitor\">Monitor history</h2>"), "the tier page shows the monitor history");
    let schemas = support::repo().join("docs/schema");
    for variant in ["upstream", "hardened"] {
        let path = out.join(format!("nginx/{variant}/summary.json"));
        support::validate(&path, &schemas.join("summary.schema.json"));
        let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("summary")).expect("json");
        let d = &summary["db"];
        assert_eq!((&d["updated"], &d["stale"], &d["max_age_hours"]), (&true.into(), &false.into(), &24.into()), "{d}");
        assert_eq!(d["digest"], summary["scan"]["db"], "{d}");
        let tracker = d["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["name"] == "debian:debian-tracker")
            .unwrap_or_else(|| panic!("{d}"));
        assert_eq!(tracker["feed"], "debian-tracker");
        assert_eq!(
            tracker["location"],
            work.join("../shared/data/debian-security-advisories/tracker-json").display().to_string()
        );
    }
    // A second run replaces what the first wrote, its signed layouts included; with a registry
    // configured ($ARMORRED_REGISTRY) it pushes the signed tier there, which real cosign and we
    // verify by its tag with the generated key.
    let registry = support::start_registry();
    let mut second = Command::new(env!("CARGO_BIN_EXE_armorred"));
    second
        .current_dir(&work)
        .env("ARMORRED_DB", &db)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["pipeline", images.to_str().expect("utf-8"), "--tier", "hardened", "--out"])
        .arg(&out);
    if let Some(r) = &registry {
        second.env("ARMORRED_REGISTRY", format!("registry:{}/armorred", r.addr));
    }
    let again = second.output().expect("run armorred");
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "second run: {stderr}");
    // The same images and DB: nothing new for the monitor.
    assert!(stderr.contains("monitor: 0 scans recorded"), "second run: {stderr}");
    let Some(r) = registry else { return };
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("nginx/hardened/summary.json")).expect("summary"))
            .expect("json");
    support::validate(&out.join("nginx/hardened/summary.json"), &schemas.join("summary.schema.json"));
    let reference = format!("{}/armorred/nginx:hardened", r.addr);
    assert_eq!(summary["push"]["reference"], reference.as_str(), "{summary}");
    assert_eq!(summary["push"]["digest"], summary["signing"]["signed_digest"], "{summary}");
    assert_eq!(summary["signing"]["reference"], format!("{}/armorred/nginx", r.addr), "{summary}");
    let attachments = summary["push"]["attachments"].as_array().expect("attachments");
    assert!(attachments.iter().any(|a| a.as_str().is_some_and(|a| a.ends_with(".sig"))), "{summary}");
    assert!(attachments.iter().any(|a| a.as_str().is_some_and(|a| a.ends_with(".att"))), "{summary}");
    assert!(stderr.contains(&format!("push: {reference}@")), "{stderr}");
    let key = dir.path().join("config/armorred/cosign.pub");
    let ours = armorred(&["verify", "--key", key.to_str().expect("utf-8"), &format!("registry:{reference}")]);
    assert!(ours.status.success(), "{}", text(&ours.stderr));
    let cosign = std::env::var("ARMORRED_COSIGN").unwrap_or_else(|_| "cosign".into());
    if support::have_tool(&cosign, &["version"]) {
        let digest = summary["push"]["digest"].as_str().expect("digest");
        let by_digest = format!("{}/armorred/nginx@{digest}", r.addr);
        for args in [
            vec!["verify", "--insecure-ignore-tlog=true", "--allow-http-registry", by_digest.as_str()],
            vec![
                "verify-attestation",
                "--type",
                "slsaprovenance1",
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                by_digest.as_str(),
            ],
        ] {
            let o = Command::new(&cosign)
                .args(&args[..1])
                .arg("--key")
                .arg(&key)
                .args(&args[1..])
                .env("TUF_ROOT", dir.path().join("tuf"))
                .output()
                .expect("cosign");
            assert!(o.status.success(), "cosign {args:?}: {}", text(&o.stderr));
        }
    }
}
