//! The decision table over the facts the pipeline gathered from our real nginx images
//! (`testdata/vex/`, see its README), plus cases made from them by one change each.

use std::path::Path;

use super::*;

fn fixture(tier: &str) -> ImageFacts {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/vex/nginx-{tier}.vex.facts.json"));
    let bytes = std::fs::read(&path).expect("fixture");
    crate::vex::parse_facts(&bytes, &path.display().to_string()).expect("facts")
}

fn subject(id: &str, package: &str) -> Subject {
    Subject {
        id: id.into(),
        aliases: vec![],
        package: package.into(),
        version: "1".into(),
        purl: None,
        fixed_in: vec!["2".into()],
    }
}

type Want = (Status, Option<Justification>, &'static str);

#[test]
fn table() {
    let hardened = fixture("hardened");
    let locked = fixture("locked");
    // A library nothing loads: the locked image with one more package owning one library.
    let mut extra = locked.clone();
    extra.components.push(Component {
        name: "libfoo1".into(),
        version: "1.0-1".into(),
        purl: Some("pkg:deb/debian/libfoo1@1.0-1?arch=amd64&distro=debian-13".into()),
        files: Some(vec![
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0.0".into(),
            "/usr/share/doc/libfoo1/copyright".into(),
        ]),
    });
    if let Some(elf) = extra.elf.as_mut() {
        elf.push(ElfFile {
            path: "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0.0".into(),
            soname: Some("libfoo.so.1".into()),
            needed: vec!["libc.so.6".into()],
            dlopen: false,
            safestack: false,
            cfi: false,
            cet_ibt: false,
            cet_shstk: false,
        });
    }
    // The same, but a library in the closure imports dlopen: undecidable, no claim.
    let mut dlopen = extra.clone();
    for f in dlopen.elf.iter_mut().flatten() {
        if f.path.contains("libpcre2-8") {
            f.dlopen = true;
        }
    }
    // An image without an SBOM.
    let mut no_sbom = hardened.clone();
    no_sbom.components.clear();
    let cases: Vec<(&str, &ImageFacts, Subject, Want)> = vec![
        (
            "a package the image does not ship",
            &hardened,
            subject("CVE-2024-0001", "libapt-pkg6.0"),
            (Status::NotAffected, Some(Justification::ComponentNotPresent), "no component named libapt-pkg6.0"),
        ),
        (
            "the mail module, compiled out of the locked tier",
            &locked,
            subject("CVE-2025-53859", "nginx"),
            (Status::NotAffected, Some(Justification::VulnerableCodeNotPresent), "do not include --with-mail"),
        ),
        (
            "an alias of a compiled-out CVE",
            &locked,
            Subject { aliases: vec!["CVE-2024-7347".into()], ..subject("DSA-0000-1", "nginx") },
            (Status::NotAffected, Some(Justification::VulnerableCodeNotPresent), "ngx_http_mp4_module"),
        ),
        (
            "the same CVE on the hardened tier, which builds the mail module",
            &hardened,
            subject("CVE-2025-53859", "nginx"),
            (Status::Affected, None, "/usr/sbin/nginx of nginx runs: the image's entrypoint"),
        ),
        (
            "Debian's mail module package of the hardened tier, loadable from nginx's modules directory",
            &hardened,
            subject("CVE-2025-53859", "libnginx-mod-mail"),
            (Status::Affected, None, "a module in nginx's modules directory"),
        ),
        (
            "OpenSSL, which nginx links",
            &locked,
            subject("CVE-2025-9230", "libssl3t64"),
            (Status::Affected, None, "DT_NEEDED libssl.so.3 of /usr/sbin/nginx"),
        ),
        (
            "libgcc_s: no DT_NEEDED names it, but libc loads it itself",
            &locked,
            subject("CVE-2024-0002", "libgcc-s1"),
            (Status::Affected, None, "loaded by /usr/lib/x86_64-linux-gnu/libc.so.6 itself"),
        ),
        (
            "a package without ELF files",
            &hardened,
            subject("CVE-2024-0003", "gcc-14-base"),
            (Status::Affected, None, "gcc-14-base has no ELF file"),
        ),
        (
            "a library outside the closure",
            &extra,
            subject("CVE-2024-0004", "libfoo1"),
            (
                Status::NotAffected,
                Some(Justification::VulnerableCodeNotInExecutePath),
                "the ELF files of libfoo1 (/usr/lib/x86_64-linux-gnu/libfoo.so.1.0.0) are in none of it",
            ),
        ),
        (
            "the same when a library of the closure may dlopen anything",
            &dlopen,
            subject("CVE-2024-0004", "libfoo1"),
            (Status::Affected, None, "imports dlopen and what it loads is not known"),
        ),
        (
            "no SBOM",
            &no_sbom,
            subject("CVE-2024-0005", "nginx"),
            (Status::UnderInvestigation, None, "no SBOM of nginx@sha256:"),
        ),
    ];
    for (what, facts, s, (status, justification, evidence)) in cases {
        let d = decide(facts, &s);
        assert_eq!((d.status, d.justification), (status, justification), "{what}: {d:#?}");
        assert!(d.evidence.iter().any(|e| e.contains(evidence)), "{what}: {evidence:?} not in {:#?}", d.evidence);
        match d.status {
            Status::Affected => {
                assert!(d.action.as_deref().is_some_and(|a| a.contains("Update")), "{what}: {d:?}");
                assert!(d.impact.as_deref().is_some_and(|i| i.contains("is affected")), "{what}: {d:?}");
            }
            Status::NotAffected => assert!(d.impact.is_some(), "{what}"),
            _ => {}
        }
    }
}

/// The impact statement of an affected finding names the binary's mitigations: SafeStack, CFI
/// and CET in the locked tier, none in the hardened one (Debian's nginx).
#[test]
fn affected_names_the_mitigations() {
    let locked = decide(&fixture("locked"), &subject("CVE-2026-0001", "nginx"));
    let impact = locked.impact.unwrap_or_default();
    assert!(impact.contains("/usr/sbin/nginx has SafeStack, clang CFI, CET (IBT and shadow stack)"), "{impact}");
    assert!(impact.contains("not a claim that it is not exploitable"), "{impact}");
    let hardened = decide(&fixture("hardened"), &subject("CVE-2026-0001", "nginx"));
    assert!(hardened.impact.unwrap_or_default().contains("/usr/sbin/nginx has no SafeStack, CFI or CET"));
}

/// The closures of the real images: the locked tier's is decided (nginx and what it links,
/// libc's own modules; nginx loads no module, libcrypto only its providers); the hardened tier
/// ships Debian's dynamic modules, whose libraries (libxml2, libX11, ...) import dlopen, so no
/// claim is made from its closure.
#[test]
fn closures_of_the_real_images() {
    let c = closure(&fixture("locked"));
    assert_eq!(c.undecidable, None, "{c:#?}");
    for p in ["/usr/sbin/nginx", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"] {
        assert!(c.files.contains_key(p), "{p} not in {c:#?}");
    }
    let h = closure(&fixture("hardened"));
    assert!(h.files.contains_key("/usr/lib/nginx/modules/ngx_mail_module.so"), "{h:#?}");
    assert!(h.undecidable.as_deref().is_some_and(|u| u.contains("imports dlopen")), "{h:#?}");
}

#[test]
fn product_identifiers_as_grype_and_trivy_match_them() {
    let mut p = Product { name: "nginx".into(), digest: "sha256:abc".into(), registry: None };
    assert_eq!(p.purls(), ["pkg:oci/nginx@sha256%3Aabc"]);
    p.registry = Some("127.0.0.1:5000/armorred".into());
    assert_eq!(
        p.purls(),
        [
            "pkg:oci/nginx@sha256%3Aabc?repository_url=127.0.0.1:5000/armorred",
            "pkg:oci/nginx@sha256%3Aabc?repository_url=127.0.0.1:5000/armorred/nginx",
        ]
    );
}

#[test]
fn bad_facts_are_named() {
    for (bytes, want) in [(&b"{"[..], "not armorred VEX facts"), (br#"{"schema":"x"}"#, "missing field")] {
        let e = crate::vex::parse_facts(bytes, "f.json").expect_err("bad").to_string();
        assert!(e.starts_with("f.json: ") && e.contains(want), "{e}");
    }
}
