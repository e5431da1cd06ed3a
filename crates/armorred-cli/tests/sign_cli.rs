//! `armorred key`, `sign`, `verify`, `attest`, `verify-attestation` against the real peers:
//! cosign 2.5.0 (`$ARMORRED_COSIGN`, which `.ci/run` unpacks from Debian's package), Debian's
//! docker-registry on loopback, and an independent check in Python (`cryptography`, PyNaCl).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{have_tool as have, repo, text};

/// The registry, and skopeo to push into it.
fn start_registry() -> Option<support::Registry> {
    if !have("skopeo", &["--version"]) {
        return None;
    }
    support::start_registry()
}

/// cosign 2.5.0: `$ARMORRED_COSIGN`, else `cosign` on the PATH.
fn cosign() -> Option<String> {
    let path = std::env::var("ARMORRED_COSIGN").unwrap_or_else(|_| "cosign".into());
    have(&path, &["version"]).then_some(path)
}

/// Whether python3 has `cryptography` and PyNaCl.
fn python_crypto() -> bool {
    have("python3", &["-c", "import cryptography, nacl"])
}

fn check_script() -> PathBuf {
    repo().join("crates/armorred/tests/support/cosign_check.py")
}

/// Runs a command with `COSIGN_PASSWORD` set (or removed when `None`).
fn run_with(cmd: &str, args: &[&str], password: Option<&str>, dir: &Path) -> Output {
    let mut c = Command::new(cmd);
    c.args(args).current_dir(dir).env_remove("COSIGN_PASSWORD").stdin(std::process::Stdio::null());
    // cosign must never reach out: no TUF, no Rekor.
    c.env("TUF_ROOT", dir.join(".sigstore")).env("HOME", dir);
    if let Some(p) = password {
        c.env("COSIGN_PASSWORD", p);
    }
    c.output().unwrap()
}

fn armorred_in(dir: &Path, args: &[&str], password: Option<&str>) -> Output {
    run_with(env!("CARGO_BIN_EXE_armorred"), args, password, dir)
}

fn ok(o: &Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}\n{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn key_generate_is_read_by_python_and_cosign() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "k"], Some("s3cret")), "key generate");
    let public = std::fs::read_to_string(d.join("k.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
    assert!(std::fs::read_to_string(d.join("k.key"))
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    // Never overwritten.
    let before = std::fs::read(d.join("k.key")).unwrap();
    let o = armorred_in(d, &["key", "generate", "--output-key-prefix", "k"], Some("other"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("already exists; refusing to overwrite"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(d.join("k.key")).unwrap(), before);
    // No password and no terminal: a clear error, nothing written.
    let o = armorred_in(d, &["key", "generate", "--output-key-prefix", "n"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("set COSIGN_PASSWORD"), "{}", text(&o.stderr));
    assert!(!d.join("n.key").exists());

    if python_crypto() {
        let script = check_script();
        let o = run_with("python3", &[script.to_str().unwrap(), "pubkey", "k.key", "s3cret"], None, d);
        assert_eq!(ok(&o, "python decrypts our key"), public);
    }
    if let Some(cosign) = cosign() {
        std::fs::write(d.join("blob"), b"hello").unwrap();
        let sign = ["sign-blob", "--key", "k.key", "--tlog-upload=false", "--output-signature", "blob.sig", "blob"];
        ok(&run_with(&cosign, &sign, Some("s3cret"), d), "cosign sign-blob with our key");
        let verify =
            ["verify-blob", "--key", "k.pub", "--signature", "blob.sig", "--insecure-ignore-tlog=true", "blob"];
        ok(&run_with(&cosign, &verify, None, d), "cosign verify-blob with our public key");
        if python_crypto() {
            let sig = std::fs::read_to_string(d.join("blob.sig")).unwrap();
            let script = check_script();
            ok(
                &run_with("python3", &[script.to_str().unwrap(), "verify", "k.pub", "blob", sig.trim()], None, d),
                "python verify",
            );
        }
    }
}

fn push(layout: &Path, reference: &str, dir: &Path) {
    let src = format!("oci:{}", layout.display());
    let dst = format!("docker://{reference}");
    ok(
        &run_with("skopeo", &["copy", "--preserve-digests", "--dest-tls-verify=false", &src, &dst], None, dir),
        "skopeo copy",
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The blob of the `kind` entry of a layout's index.json.
fn entry_blob(layout: &Path, kind: &str) -> PathBuf {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let e = index["manifests"].as_array().unwrap().iter().find(|e| e["annotations"]["kind"] == kind).unwrap();
    layout.join("blobs/sha256").join(e["digest"].as_str().unwrap().trim_start_matches("sha256:"))
}

fn first_layer_blob(layout: &Path, kind: &str) -> PathBuf {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(entry_blob(layout, kind)).unwrap()).unwrap();
    layout.join("blobs/sha256").join(m["layers"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:"))
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
}

#[test]
fn sign_and_verify_both_ways_with_real_cosign() {
    let Some(cosign) = cosign() else { return };
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A key pair cosign generated.
    ok(&run_with(&cosign, &["generate-key-pair"], Some("pw"), d), "cosign generate-key-pair");

    // cosign signs in the registry, saves the layout; we verify it offline.
    let digest = support::image_layout(&d.join("img"), "hello");
    let repo = format!("{}/test/img", reg.addr);
    push(&d.join("img"), &format!("{repo}:t"), d);
    let by_digest = format!("{repo}@{digest}");
    let sign =
        ["sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", "-y", by_digest.as_str()];
    ok(&run_with(&cosign, &sign, Some("pw"), d), "cosign sign");
    ok(
        &run_with(&cosign, &["save", "--allow-http-registry", "--dir", "saved", by_digest.as_str()], None, d),
        "cosign save",
    );
    let out = ok(
        &armorred_in(d, &["verify", "--key", "cosign.pub", "--reference", &repo, "-o", "json", "oci-dir:saved"], None),
        "verify",
    );
    let claims: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(claims[0]["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(claims[0]["critical"]["identity"]["docker-reference"], repo.as_str());

    // Tampered copies fail, each saying what did not match.
    let tampered = |name: &str, change: &dyn Fn(&Path), key: &str, expect: &str| {
        let copy = d.join(name);
        copy_dir(&d.join("saved"), &copy);
        change(&copy);
        let o = armorred_in(d, &["verify", "--key", key, &format!("oci-dir:{name}")], None);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
    };
    let sigs = "dev.cosignproject.cosign/sigs";
    tampered("payload", &|c| flip_byte(&first_layer_blob(c, sigs), 10), "cosign.pub", "does not match its digest");
    tampered(
        "manifest",
        &|c| flip_byte(&entry_blob(c, "dev.cosignproject.cosign/image"), 3),
        "cosign.pub",
        "does not match its digest",
    );
    tampered(
        "signature",
        &|c| {
            // The signature annotation altered, the manifest's digest made consistent again.
            let path = entry_blob(c, sigs);
            let m = std::fs::read_to_string(&path).unwrap();
            let at = m.find("\"dev.cosignproject.cosign/signature\":\"").unwrap() + 40;
            let mut b = m.into_bytes();
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            let hex = support::sha256_hex(&b);
            std::fs::write(c.join("blobs/sha256").join(&hex), &b).unwrap();
            let old = path.file_name().unwrap().to_str().unwrap().to_string();
            let index = std::fs::read_to_string(c.join("index.json")).unwrap().replace(&old, &hex);
            std::fs::write(c.join("index.json"), index).unwrap();
        },
        "cosign.pub",
        "does not verify with the key",
    );
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "other"], Some("o")), "key generate");
    tampered("wrong-key", &|_| {}, "other.pub", "does not verify with the key");

    // A signature for another digest: cosign signs a second image, its signature image is
    // grafted onto the first image's layout.
    let other_digest = support::image_layout(&d.join("img2"), "other");
    push(&d.join("img2"), &format!("{repo}:u"), d);
    let other = format!("{repo}@{other_digest}");
    ok(
        &run_with(
            &cosign,
            &["sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", "-y", other.as_str()],
            Some("pw"),
            d,
        ),
        "cosign sign 2",
    );
    ok(
        &run_with(&cosign, &["save", "--allow-http-registry", "--dir", "saved2", other.as_str()], None, d),
        "cosign save 2",
    );
    tampered(
        "other-digest",
        &|c| {
            let theirs = entry_blob(&d.join("saved2"), sigs);
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&theirs).unwrap()).unwrap();
            for blob in [m["config"]["digest"].as_str().unwrap(), m["layers"][0]["digest"].as_str().unwrap()] {
                let hex = blob.trim_start_matches("sha256:");
                std::fs::copy(d.join("saved2/blobs/sha256").join(hex), c.join("blobs/sha256").join(hex)).unwrap();
            }
            let mine = entry_blob(c, sigs);
            std::fs::copy(&theirs, c.join("blobs/sha256").join(theirs.file_name().unwrap())).unwrap();
            let index = std::fs::read_to_string(c.join("index.json"))
                .unwrap()
                .replace(mine.file_name().unwrap().to_str().unwrap(), theirs.file_name().unwrap().to_str().unwrap());
            std::fs::write(c.join("index.json"), index).unwrap();
        },
        "cosign.pub",
        &format!("the signature is for {other_digest}, not for this image ({digest})"),
    );

    // We sign (with cosign's key and with ours); cosign verifies the layout offline.
    let mine = d.join("mine");
    let my_digest = support::image_layout(&mine, "mine");
    ok(
        &armorred_in(d, &["sign", "--key", "cosign.key", "--reference", &repo, "oci-dir:mine"], Some("pw")),
        "sign with cosign's key",
    );
    ok(&armorred_in(d, &["sign", "--key", "other.key", "oci-dir:mine"], Some("o")), "sign with our key");
    for key in ["cosign.pub", "other.pub"] {
        let v = ["verify", "--key", key, "--local-image", "mine", "--insecure-ignore-tlog=true"];
        let out = ok(&run_with(&cosign, &v, None, d), "cosign verify --local-image");
        assert!(out.contains(&my_digest), "{out}");
    }
    ok(&armorred_in(d, &["verify", "--key", "cosign.pub", "oci-dir:mine"], None), "we verify ours");
    // cosign too refuses a key that did not sign.
    let o = run_with(
        &cosign,
        &["verify", "--key", "other.pub", "--local-image", "saved", "--insecure-ignore-tlog=true"],
        None,
        d,
    );
    assert!(!o.status.success());
}

#[test]
fn attest_and_verify_attestation_both_ways_with_real_cosign() {
    let Some(cosign) = cosign() else { return };
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&run_with(&cosign, &["generate-key-pair"], Some("pw"), d), "cosign generate-key-pair");
    let slsa = r#"{"buildDefinition":{"buildType":"https://armorred.dev/build/v1","externalParameters":{"definition":"images/nginx","tier":"hardened"}},"runDetails":{"builder":{"id":"https://armorred.dev/builder"}}}"#;
    std::fs::write(d.join("slsa.json"), slsa).unwrap();
    std::fs::copy(
        support::shared_data().join("sigstore/cosign/test/testdata/bom-go-mod.cyclonedx.json"),
        d.join("cdx.json"),
    )
    .unwrap();
    std::fs::write(
        d.join("vex.json"),
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://armorred.dev/vex/1","author":"armorred","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[]}"#,
    )
    .unwrap();
    let types = [("slsaprovenance1", "slsa.json"), ("cyclonedx", "cdx.json"), ("openvex", "vex.json")];

    // We attest; cosign verifies each type offline; Python checks our DSSE signature.
    let digest = support::image_layout(&d.join("mine"), "mine");
    for (t, file) in types {
        ok(
            &armorred_in(
                d,
                &["attest", "--key", "cosign.key", "--type", t, "--predicate", file, "oci-dir:mine"],
                Some("pw"),
            ),
            t,
        );
    }
    for (t, _) in types {
        let v = [
            "verify-attestation",
            "--key",
            "cosign.pub",
            "--local-image",
            "mine",
            "--insecure-ignore-tlog=true",
            "--type",
            t,
        ];
        let out = ok(&run_with(&cosign, &v, None, d), &format!("cosign verify-attestation --type {t}"));
        assert!(out.contains("\"payloadType\":\"application/vnd.in-toto+json\""), "{out}");
        let out = ok(
            &armorred_in(
                d,
                &["verify-attestation", "--key", "cosign.pub", "--type", t, "-o", "json", "oci-dir:mine"],
                None,
            ),
            t,
        );
        let statements: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(statements[0]["subject"][0]["digest"]["sha256"], &digest[7..]);
    }
    if python_crypto() {
        let envelope = first_layer_blob(&d.join("mine"), "dev.cosignproject.cosign/atts");
        let script = check_script();
        let o =
            run_with("python3", &[script.to_str().unwrap(), "dsse", "cosign.pub", envelope.to_str().unwrap()], None, d);
        ok(&o, "python checks our DSSE signature");
    }

    // cosign attests in the registry and saves; we verify every type.
    let theirs = support::image_layout(&d.join("img"), "theirs");
    let repo = format!("{}/test/att", reg.addr);
    push(&d.join("img"), &format!("{repo}:t"), d);
    let by_digest = format!("{repo}@{theirs}");
    for (t, file) in types {
        let a = [
            "attest",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--allow-http-registry",
            "-y",
            "--type",
            t,
            "--predicate",
            file,
            by_digest.as_str(),
        ];
        ok(&run_with(&cosign, &a, Some("pw"), d), &format!("cosign attest --type {t}"));
    }
    ok(
        &run_with(&cosign, &["save", "--allow-http-registry", "--dir", "saved", by_digest.as_str()], None, d),
        "cosign save",
    );
    for (t, _) in types {
        let out =
            ok(&armorred_in(d, &["verify-attestation", "--key", "cosign.pub", "--type", t, "oci-dir:saved"], None), t);
        assert_eq!(out.lines().count(), 1, "{out}");
    }
    // A flipped byte in the envelope, a wrong key: exit 1 and why.
    let copy = d.join("tampered");
    copy_dir(&d.join("saved"), &copy);
    flip_byte(&first_layer_blob(&copy, "dev.cosignproject.cosign/atts"), 40);
    // (the first layer is the slsaprovenance1 attestation; the others still verify)
    let o = armorred_in(
        d,
        &["verify-attestation", "--key", "cosign.pub", "--type", "slsaprovenance1", "oci-dir:tampered"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("does not match its digest"), "{}", text(&o.stderr));
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "other"], Some("o")), "key generate");
    let o = armorred_in(d, &["verify-attestation", "--key", "other.pub", "--type", "openvex", "oci-dir:saved"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("envelope signature does not verify with the key"), "{}", text(&o.stderr));
}

/// A Python static file server on loopback, stopped on drop.
struct FileServer(std::process::Child);

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn keys_are_read_from_urls_bounded() {
    if !have("python3", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let testdata = repo().join("crates/armorred/testdata/sign");
    copy_dir(&testdata.join("cosign-saved"), &d.join("layout"));
    let www = d.join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::copy(testdata.join("cosign-key/cosign.pub"), www.join("cosign.pub")).unwrap();
    std::fs::copy(testdata.join("cosign-key/cosign.key"), www.join("cosign.key")).unwrap();
    std::fs::write(www.join("huge.pub"), vec![b'A'; 70 * 1024]).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .current_dir(&www)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = FileServer(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pub_url = format!("{base}/cosign.pub");
    ok(&armorred_in(d, &["verify", "--key", &pub_url, "oci-dir:layout"], None), "verify with a key URL");
    let key_url = format!("{base}/cosign.key");
    ok(
        &armorred_in(
            d,
            &["sign", "--key", &key_url, "--reference", "127.0.0.1:5013/test/img", "oci-dir:layout"],
            Some("pw"),
        ),
        "sign with a key URL",
    );
    let o = armorred_in(d, &["verify", "--key", &format!("{base}/huge.pub"), "oci-dir:layout"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("larger than 65536 bytes"), "{}", text(&o.stderr));
    let o = armorred_in(d, &["verify", "--key", "http://192.0.2.1/cosign.pub", "oci-dir:layout"], None);
    assert!(text(&o.stderr).contains("plain http is only used for loopback hosts"), "{}", text(&o.stderr));
    let o = armorred_in(d, &["verify", "--key", &format!("{base}/missing.pub"), "oci-dir:layout"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot fetch"), "{}", text(&o.stderr));
}

/// In a registry, as cosign stores them there (`sha256-<hex>.sig` and `.att` tags): we sign and
/// attest, real cosign verifies; cosign signs, we verify; a tag moved to another image, a wrong
/// key and a signature image swapped for another digest's fail.
#[test]
fn sign_attest_and_verify_in_a_registry_both_ways_with_real_cosign() {
    let Some(cosign) = cosign() else { return };
    let Some(reg) = start_registry() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&run_with(&cosign, &["generate-key-pair"], Some("pw"), d), "cosign generate-key-pair");
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "ours"], Some("o")), "key generate");
    let digest = support::image_layout(&d.join("img"), "registry");
    let repo = format!("{}/signed/img", reg.addr);
    push(&d.join("img"), &format!("{repo}:t"), d);
    let by_digest = format!("{repo}@{digest}");
    let by_tag = format!("registry:{repo}:t");

    // We sign by tag (resolved to the digest once); cosign verifies by digest, offline.
    ok(&armorred_in(d, &["sign", "--key", "ours.key", &by_tag], Some("o")), "armorred sign registry");
    let verify =
        ["verify", "--key", "ours.pub", "--insecure-ignore-tlog=true", "--allow-http-registry", by_digest.as_str()];
    ok(&run_with(&cosign, &verify, None, d), "cosign verify of our registry signature");

    // cosign appends its own signature; we verify it with cosign's key, and ours still verifies.
    let sign =
        ["sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", "-y", by_digest.as_str()];
    ok(&run_with(&cosign, &sign, Some("pw"), d), "cosign sign");
    let mine = format!("registry:{by_digest}");
    let claims = ok(&armorred_in(d, &["verify", "--key", "cosign.pub", "-o", "json", &mine], None), "verify cosign's");
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims[0]["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    ok(&armorred_in(d, &["verify", "--key", "ours.pub", &mine], None), "verify ours after cosign appended");

    // Attestations: ours verified by cosign, cosign's by us.
    let slsa = r#"{"buildDefinition":{"buildType":"https://github.com/armorred/armorred/blob/main/docs/slsa/build-type-v1.md","externalParameters":{"definition":"images/nginx","tier":"hardened"}},"runDetails":{"builder":{"id":"https://github.com/armorred/armorred/blob/main/docs/slsa/builder-local-v1.md"}}}"#;
    std::fs::write(d.join("slsa.json"), slsa).unwrap();
    let attest = ["attest", "--key", "ours.key", "--type", "slsaprovenance1", "--predicate", "slsa.json", &mine];
    ok(&armorred_in(d, &attest, Some("o")), "armorred attest registry");
    let va = [
        "verify-attestation",
        "--key",
        "ours.pub",
        "--type",
        "slsaprovenance1",
        "--insecure-ignore-tlog=true",
        "--allow-http-registry",
        by_digest.as_str(),
    ];
    ok(&run_with(&cosign, &va, None, d), "cosign verify-attestation of ours");
    let cattest = [
        "attest",
        "--key",
        "cosign.key",
        "--type",
        "slsaprovenance1",
        "--predicate",
        "slsa.json",
        "--tlog-upload=false",
        "--allow-http-registry",
        "-y",
        by_digest.as_str(),
    ];
    ok(&run_with(&cosign, &cattest, Some("pw"), d), "cosign attest");
    let vo = ["verify-attestation", "--key", "cosign.pub", "--type", "slsaprovenance1", mine.as_str()];
    ok(&armorred_in(d, &vo, None), "armorred verify-attestation of cosign's");

    // Failures, each with exit 1 and a reason.
    let fails = |args: &[&str], expect: &str| {
        let o = armorred_in(d, args, None);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    };
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "other"], Some("x")), "key generate other");
    fails(&["verify", "--key", "other.pub", &mine], "does not verify with the key");
    // The tag moved to another image: that image has no signature.
    let other = support::image_layout(&d.join("img2"), "other image");
    push(&d.join("img2"), &format!("{repo}:t"), d);
    let o = armorred_in(d, &["verify", "--key", "ours.pub", &by_tag], None);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "a moved tag must not verify: {err}");
    let other_sig_tag = format!("sha256-{}.sig", other.trim_start_matches("sha256:"));
    assert!(
        err.contains(&format!("{repo}@{other}: no signatures are stored (no tag {other_sig_tag}, no signature bundle")),
        "{err}"
    );
    // The first image's signature image copied onto the second's tag: it names another digest.
    let sig = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    let other_sig = format!("sha256-{}.sig", other.trim_start_matches("sha256:"));
    ok(
        &run_with(
            "skopeo",
            &[
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--preserve-digests",
                &format!("docker://{repo}:{sig}"),
                &format!("docker://{repo}:{other_sig}"),
            ],
            None,
            d,
        ),
        "graft the signature image",
    );
    let o = armorred_in(d, &["verify", "--key", "ours.pub", &format!("registry:{repo}@{other}")], None);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("the signature is for {digest}, not for this image ({other})")), "{err}");

    // Several images in one run (concurrently), reported in the order given: each good one's
    // claims on stdout, each bad one's reasons on stderr, exit 1 when any fails.
    let grafted = format!("registry:{repo}@{other}");
    let o = armorred_in(d, &["verify", "--key", "ours.pub", &mine, &grafted, &mine], None);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.contains(digest.as_str())), "{out}");
    assert!(err.contains(&format!("not for this image ({other})")), "{err}");
    let verified = err.matches("Verification for ").count();
    assert_eq!(verified, 2, "{err}");
    let o = armorred_in(d, &["verify", "--key", "ours.pub", "-o", "json", &mine, &mine], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// The bundle layer of the (only) bundle referrer entry in a layout's index.json.
fn bundle_blob(layout: &Path) -> PathBuf {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json")
        .unwrap();
    let blob = |d: &str| layout.join("blobs/sha256").join(d.trim_start_matches("sha256:"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(entry["digest"].as_str().unwrap())).unwrap()).unwrap();
    blob(manifest["layers"][0]["digest"].as_str().unwrap())
}

#[test]
fn bundle_format_signs_and_verifies_in_a_layout_and_a_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "ours"], Some("o")), "key generate");
    ok(&armorred_in(d, &["key", "generate", "--output-key-prefix", "other"], Some("o")), "key generate");
    let digest = support::image_layout(&d.join("img"), "bundle");
    let layout = format!("oci-dir:{}", d.join("img").display());

    // A layout: sign --format bundle, verify, claims in JSON.
    ok(&armorred_in(d, &["sign", "--format", "bundle", "--key", "ours.key", &layout], Some("o")), "sign bundle");
    let claims = ok(&armorred_in(d, &["verify", "--key", "ours.pub", "-o", "json", &layout], None), "verify bundle");
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims[0]["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(claims[0]["critical"]["type"], "https://sigstore.dev/cosign/sign/v1");
    assert_eq!(claims[0]["critical"]["identity"]["docker-reference"], "test/img");
    ok(&armorred_in(d, &["verify", "--key", "ours.pub", "--reference", "test/img", &layout], None), "verify ref");
    // The DSSE signature inside our bundle, checked independently.
    if python_crypto() {
        let script = check_script();
        let bundle = bundle_blob(&d.join("img"));
        let o =
            run_with("python3", &[script.to_str().unwrap(), "bundle", "ours.pub", bundle.to_str().unwrap()], None, d);
        ok(&o, "python check of our bundle");
    }
    // Legacy and bundle side by side: each key finds its own.
    ok(&armorred_in(d, &["sign", "--key", "other.key", &layout], Some("o")), "sign legacy");
    ok(&armorred_in(d, &["verify", "--key", "ours.pub", &layout], None), "verify bundle beside legacy");
    ok(&armorred_in(d, &["verify", "--key", "other.pub", &layout], None), "verify legacy beside bundle");
    // cosign 2 still reads the layout's legacy signature beside our referrer entry.
    if let Some(cosign) = cosign() {
        let v = ["verify", "--key", "other.pub", "--local-image", "img", "--insecure-ignore-tlog=true"];
        ok(&run_with(&cosign, &v, None, d), "cosign verify --local-image beside a bundle referrer");
    }
    let o = armorred_in(d, &["verify", "--key", "ours.pub", "--reference", "elsewhere/img", &layout], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("not \\\"elsewhere/img\\\"") || text(&o.stderr).contains("elsewhere/img"));
    let o = armorred_in(d, &["sign", "--format", "bundle", "-a", "k=v", "--key", "ours.key", &layout], Some("o"));
    assert!(!o.status.success() && text(&o.stderr).contains("legacy format only"), "{}", text(&o.stderr));

    // A bundle whose blob was altered fails, naming the blob.
    let bundle = bundle_blob(&d.join("img"));
    flip_byte(&bundle, 40);
    let o = armorred_in(d, &["verify", "--key", "ours.pub", &layout], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("altered"), "{}", text(&o.stderr));

    // A registry without the referrers API: the sha256-<hex> referrers tag.
    let Some(reg) = start_registry() else { return };
    let digest = support::image_layout(&d.join("img2"), "bundle in a registry");
    let repo = format!("{}/bundle/img", reg.addr);
    push(&d.join("img2"), &format!("{repo}:t"), d);
    let by_tag = format!("registry:{repo}:t");
    let by_digest = format!("registry:{repo}@{digest}");
    ok(&armorred_in(d, &["sign", "--format", "bundle", "--key", "ours.key", &by_tag], Some("o")), "sign registry");
    let claims = ok(&armorred_in(d, &["verify", "--key", "ours.pub", "-o", "json", &by_digest], None), "verify");
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims[0]["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(claims[0]["critical"]["identity"]["docker-reference"], repo.as_str());
    let o = armorred_in(d, &["verify", "--key", "other.pub", &by_digest], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("does not verify with the key"), "{}", text(&o.stderr));
    // Pulled with its attachments, the bundle verifies air-gapped from the layout.
    let pulled = format!("oci-dir:{}", d.join("pulled").display());
    ok(&armorred_in(d, &["pull", &by_digest, &pulled, "--with-attachments"], None), "pull --with-attachments");
    let claims = ok(&armorred_in(d, &["verify", "--key", "ours.pub", "-o", "json", &pulled], None), "verify pulled");
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims[0]["critical"]["image"]["docker-manifest-digest"], digest.as_str());
}
