//! The OCI distribution client against the real docker-registry on loopback: push and pull
//! round trips (monolithic, chunked, mounted, multi-platform, docker archive, cosign
//! attachments), skopeo as an independent reader, faults injected by a proxy in front of the
//! registry, bearer-token auth, and a hostile registry.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use armorred::oci::spec::{Digest, ImageIndex};
use armorred::registry::copy::{self, KIND, KIND_ATTS, KIND_IMAGE, KIND_REFERRER, KIND_SIGS};
use armorred::registry::{self, Client, DockerConfig, Options, RegistryError, Retry};
use support::registry::{Action, Proxy, Registry};
use support::*;

fn options() -> Options {
    Options {
        docker_config: DockerConfig::None,
        retry: Retry {
            attempts: 4,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
            max_total: Duration::from_secs(10),
        },
        request_timeout: Duration::from_secs(20),
        blob_timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

fn client(addr: &str) -> Client {
    Client::new(addr, options()).unwrap()
}

fn chain(e: &RegistryError) -> String {
    error_chain(e)
}

/// A small image layout of the test fixtures (a gzip and a plain layer); its manifest digest.
fn layout(dir: &Path, salt: &str) -> String {
    let base = tar(&[E::Dir("etc/"), E::File("etc/os-release", b"ID=debian\nVERSION_ID=\"13\"\n", 0o644)]);
    let top = tar(&[E::File("app/salt", salt.as_bytes(), 0o644), E::File("app/big", &vec![7u8; 5000], 0o644)]);
    oci_layout(dir, &[layer_gzip(base), layer_plain(top)])
}

/// Every blob file of a layout: name to bytes.
fn blobs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

fn index(dir: &Path) -> ImageIndex {
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap()
}

fn skopeo_digest(reference: &str) -> Option<String> {
    if !have_tool("skopeo", &["--version"]) {
        return None;
    }
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));
    Some(Digest::of(&out.stdout).to_string())
}

#[test]
fn push_and_pull_round_trip_with_skopeo() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let digest = layout(&src, "one");
    let c = client(&reg.addr);
    let report = copy::push_oci_layout(&c, &src, "armorred/x", "t", None).unwrap();
    assert_eq!(report.digest.to_string(), digest);
    assert_eq!(report.uploaded, 3, "config and two layers");
    // Pushing again uploads nothing.
    let again = copy::push_oci_layout(&c, &src, "armorred/x", "t", None).unwrap();
    assert_eq!((again.uploaded, again.existing), (0, 3));
    // Pulled back: the same bytes under the same names.
    let out = tmp.path().join("out");
    let pulled = copy::pull_to_layout(&c, "armorred/x", "t", &out, false).unwrap();
    assert_eq!(pulled.digest.to_string(), digest);
    assert_eq!(blobs(&out), blobs(&src));
    let idx = index(&out);
    let entry = &idx.manifests.unwrap()[0];
    assert_eq!(entry.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(entry.annotation("org.opencontainers.image.ref.name"), Some("t"));
    // The pulled layout is an image source as any other.
    let img = armorred::source::Source::parse(&format!("oci-dir:{}", out.display()))
        .unwrap()
        .open(&armorred::source::OpenOptions::default())
        .unwrap();
    drop(img);
    // A non-empty target is refused and left alone.
    let e = chain(&copy::pull_to_layout(&c, "armorred/x", "t", &src, false).unwrap_err());
    assert!(e.contains("is not empty"), "{e}");
    assert_eq!(layout_digest(&src), digest);
    // skopeo, an independent client, sees the same manifest.
    if let Some(d) = skopeo_digest(&format!("{}/armorred/x:t", reg.addr)) {
        assert_eq!(d, digest);
    }
    assert_eq!(c.list_tags("armorred/x").unwrap(), ["t"]);
    assert_eq!(c.catalog().unwrap(), ["armorred/x"]);
    // Debian's docker-registry 2.8 has no referrers API.
    let e = c.referrers("armorred/x", &digest.parse().unwrap(), None).unwrap_err();
    assert!(matches!(e, RegistryError::ReferrersUnsupported { .. }), "{e}");
}

fn layout_digest(dir: &Path) -> String {
    index(dir).manifests.unwrap()[0].digest.clone().unwrap()
}

#[test]
fn chunked_upload_and_cross_repository_mount() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let digest = layout(&src, "chunks");
    let proxy = Proxy::start(&reg.addr, |_| Action::Forward);
    let c = Client::new(&proxy.addr, Options { chunk_size: 100, ..options() }).unwrap();
    copy::push_oci_layout(&c, &src, "armorred/a", "1", None).unwrap();
    let patches = proxy.seen().iter().filter(|s| s.method == "PATCH").count();
    assert!(patches > 3, "chunked uploads use PATCH ({patches})");
    assert!(proxy.seen().iter().any(|s| s.method == "PATCH" && s.header("content-range") == Some("0-99")));
    let out = tmp.path().join("out");
    copy::pull_to_layout(&client(&reg.addr), "armorred/a", "1", &out, false).unwrap();
    assert_eq!(blobs(&out), blobs(&src));
    // Another repository: its blobs mounted, not uploaded.
    let before = proxy.seen().len();
    let r = copy::push_oci_layout(&c, &src, "armorred/b", "1", Some("armorred/a")).unwrap();
    assert_eq!((r.mounted, r.uploaded), (3, 0), "{r:?}");
    assert_eq!(r.digest.to_string(), digest);
    assert!(proxy.seen()[before..]
        .iter()
        .any(|s| s.method == "POST" && s.path.contains("mount=sha256") && s.path.contains("from=armorred/a")));
    assert!(!proxy.seen()[before..]
        .iter()
        .any(|s| s.method == "PATCH" || (s.method == "PUT" && s.path.contains("/blobs/"))));
}

#[test]
fn multi_platform_layouts_and_docker_archives() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("multi");
    let l = |s: &str| vec![layer_gzip(tar(&[E::File("f", s.as_bytes(), 0o644)]))];
    oci_multiarch(&src, &[("amd64", l("a")), ("arm64", l("b"))]);
    let c = client(&reg.addr);
    let r = copy::push_oci_layout(&c, &src, "armorred/multi", "v1", None).unwrap();
    assert_eq!(r.media_type, "application/vnd.oci.image.index.v1+json");
    let out = tmp.path().join("out");
    copy::pull_to_layout(&c, "armorred/multi", "v1", &out, false).unwrap();
    let mut want = blobs(&src);
    want.insert(r.digest.hex().to_string(), c.get_manifest("armorred/multi", "v1").unwrap().bytes);
    assert_eq!(blobs(&out), want, "every platform's blobs and the index");
    if let Some(d) = skopeo_digest(&format!("{}/armorred/multi:v1", reg.addr)) {
        assert_eq!(d, r.digest.to_string());
    }
    // A docker archive: pushed as an OCI image whose config and layers are its members.
    let archive = tmp.path().join("image.tar");
    let layers =
        [layer_plain(tar(&[E::File("etc/hostname", b"x\n", 0o644)])), layer_gzip(tar(&[E::File("b", b"b", 0o644)]))];
    docker_archive(&archive, &layers);
    let r = copy::push_docker_archive(&c, &archive, "armorred/docker", "d", None).unwrap();
    let m = c.get_manifest("armorred/docker", "d").unwrap();
    assert_eq!(m.digest, r.digest);
    let v: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap();
    assert_eq!(v["layers"][0]["digest"], digest(&layers[0].tar));
    assert_eq!(v["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
    // docker save writes the layers uncompressed.
    assert_eq!(v["layers"][1]["digest"], digest(&layers[1].tar));
    let img = armorred::source::Source::parse(&format!("registry:{}/armorred/docker:d", reg.addr))
        .unwrap()
        .open(&armorred::source::OpenOptions::default())
        .unwrap();
    assert_eq!(img.digest.as_deref(), Some(r.digest.as_str()));
    if let Some(d) = skopeo_digest(&format!("{}/armorred/docker:d", reg.addr)) {
        assert_eq!(d, r.digest.to_string());
    }
}

/// A cosign-style signature manifest for `image` (one layer with the signature annotation).
fn push_fake_signature(c: &Client, repo: &str, image: &Digest, suffix: &str) -> Digest {
    let payload = format!(r#"{{"critical":{{"image":{{"docker-manifest-digest":"{image}"}}}}}}"#);
    let layer =
        c.push_blob_bytes(repo, "application/vnd.dev.cosign.simplesigning.v1+json", payload.as_bytes()).unwrap();
    let config = c.push_blob_bytes(repo, "application/vnd.oci.image.config.v1+json", b"{}").unwrap();
    let mut layer = layer;
    layer.annotations = Some([("dev.cosignproject.cosign/signature".to_string(), "MEUCIQ==".to_string())].into());
    let m = serde_json::to_vec(&armorred::oci::spec::ImageManifest {
        schema_version: 2,
        media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
        config: Some(config),
        layers: Some(vec![layer]),
        annotations: None,
    })
    .unwrap();
    c.put_manifest(repo, &registry::cosign_tag(image, suffix), &m, "application/vnd.oci.image.manifest.v1+json")
        .unwrap()
}

#[test]
fn attachments_are_pulled_as_cosign_save_stores_them_and_pushed_back() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let d: Digest = layout(&src, "signed").parse().unwrap();
    let c = client(&reg.addr);
    copy::push_oci_layout(&c, &src, "armorred/s", "1", None).unwrap();
    let sig = push_fake_signature(&c, "armorred/s", &d, "sig");
    let att = push_fake_signature(&c, "armorred/s", &d, "att");
    let out = tmp.path().join("out");
    let r = copy::pull_to_layout(&c, "armorred/s", "1", &out, true).unwrap();
    assert_eq!(r.referrers_api, Some(false));
    let idx = index(&out);
    let kinds: Vec<(String, String)> = idx
        .manifests
        .unwrap()
        .iter()
        .map(|m| (m.annotation(KIND).unwrap().to_string(), m.digest.clone().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [(KIND_IMAGE.into(), d.to_string()), (KIND_SIGS.into(), sig.to_string()), (KIND_ATTS.into(), att.to_string())]
    );
    assert!(out.join("blobs/sha256").join(sig.hex()).is_file());
    // The cosign layout pushed to another repository: image, then its attachment tags.
    let r = copy::push_oci_layout(&c, &out, "armorred/copy", "2", None).unwrap();
    assert_eq!(r.digest, d);
    assert_eq!(r.attachments, [registry::cosign_tag(&d, "sig"), registry::cosign_tag(&d, "att")]);
    assert_eq!(c.head_manifest("armorred/copy", &registry::cosign_tag(&d, "sig")).unwrap().unwrap().digest, sig);
}

/// `verify` of an image given by digest and signed the cosign 2 way costs what cosign 2's costs:
/// the `.sig` manifest and its payload blob, no manifest fetch and no referrer look-up. Given by
/// tag, the tag is resolved first; with no legacy signature the bundles are looked for.
#[test]
fn verify_by_digest_makes_two_requests() {
    use armorred::sign::{registry::RegistryStore, simple, PrivateKey};
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let d: Digest = layout(&src, "verified").parse().unwrap();
    copy::push_oci_layout(&client(&reg.addr), &src, "armorred/v", "1", None).unwrap();
    let key = PrivateKey::generate();
    let by_digest = format!("{}/armorred/v@{d}", reg.addr);
    let store = RegistryStore::open(&by_digest, options()).unwrap();
    simple::sign(&store, &key, &simple::SignOptions::default()).unwrap();

    let proxy = Proxy::start(&reg.addr, |_| Action::Forward);
    let verify = |reference: &str| {
        let before = proxy.seen().len();
        let store = RegistryStore::open(reference, options()).unwrap();
        let verified = simple::verify(&store, &key.public_key(), &simple::VerifyOptions::default()).unwrap();
        assert_eq!(verified.len(), 1);
        proxy.seen()[before..].iter().map(|s| format!("{} {}", s.method, s.path)).collect::<Vec<_>>()
    };
    let seen = verify(&format!("{}/armorred/v@{d}", proxy.addr));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].ends_with(&format!("/manifests/{}", registry::cosign_tag(&d, "sig"))), "{seen:?}");
    assert!(seen[1].contains("/blobs/sha256:"), "{seen:?}");
    let seen = verify(&format!("{}/armorred/v:1", proxy.addr));
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen[0].ends_with("/manifests/1"), "{seen:?}");
    assert!(!seen.iter().any(|s| s.contains("referrers")), "{seen:?}");
}

#[test]
fn referrers_are_used_where_the_registry_has_them() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let d: Digest = layout(&src, "referred").parse().unwrap();
    let c = client(&reg.addr);
    copy::push_oci_layout(&c, &src, "armorred/r", "1", None).unwrap();
    // A referrer manifest stored by digest; the referrers API answered by the proxy (2.8 has none).
    let sig = push_fake_signature(&c, "armorred/r", &d, "tmp");
    let size = c.get_manifest("armorred/r", sig.as_str()).unwrap().bytes.len();
    let body = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sig.to_string(), "size": size,
         "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sig.to_string(), "size": size,
         "artifactType": "application/other"}]});
    let body = serde_json::to_vec(&body).unwrap();
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.path.contains("/referrers/") {
            Action::Respond(
                200,
                vec![("Content-Type".into(), "application/vnd.oci.image.index.v1+json".into())],
                body.clone(),
            )
        } else {
            Action::Forward
        }
    });
    let pc = client(&proxy.addr);
    let all = pc.referrers("armorred/r", &d, None).unwrap();
    assert_eq!(all.len(), 2);
    let bundles = pc.referrers("armorred/r", &d, Some("application/vnd.dev.sigstore.bundle.v0.3+json")).unwrap();
    assert_eq!(bundles.len(), 1, "filtered here when the registry did not");
    assert_eq!(bundles[0].descriptor.digest(), Some(sig.clone()));
    let out = tmp.path().join("out");
    let r = copy::pull_to_layout(&pc, "armorred/r", "1", &out, true).unwrap();
    assert_eq!(r.referrers_api, Some(true));
    let idx = index(&out).manifests.unwrap();
    let referrer = idx.iter().find(|m| m.annotation(KIND) == Some(KIND_REFERRER)).unwrap();
    assert_eq!(referrer.digest.as_deref(), Some(sig.as_str()));
    assert_eq!(referrer.annotation("artifactType"), Some("application/vnd.dev.sigstore.bundle.v0.3+json"));
    // Pushed to the real registry (no referrers API): the referrers tag schema's index
    // `sha256-<hex>` is written, and a pull finds the referrer through it.
    let r = copy::push_oci_layout(&c, &out, "armorred/r2", "1", None).unwrap();
    assert_eq!(r.attachments, [registry::referrers_tag(&d)]);
    let (list, api) = c.referrers_or_fallback("armorred/r2", &d, None).unwrap();
    assert!(!api);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].artifact_type.as_deref(), Some("application/vnd.dev.sigstore.bundle.v0.3+json"));
    let again = tmp.path().join("again");
    let r = copy::pull_to_layout(&c, "armorred/r2", "1", &again, true).unwrap();
    assert_eq!(r.referrers_api, Some(false));
    assert_eq!(r.attachments, [(KIND_REFERRER.to_string(), sig.clone())]);
    // Adding it again changes nothing.
    let m = c.get_manifest("armorred/r2", sig.as_str()).unwrap();
    assert!(!c.add_referrer("armorred/r2", &d, &m, None).unwrap());
}

#[test]
fn a_500_once_is_retried_and_the_push_succeeds() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let digest = layout(&src, "flaky");
    let failed = Arc::new(AtomicBool::new(false));
    let f = failed.clone();
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.method == "PUT" && s.path.contains("/blobs/uploads/") && !f.swap(true, Ordering::SeqCst) {
            Action::Respond(500, vec![], b"{\"errors\":[{\"code\":\"UNKNOWN\"}]}".to_vec())
        } else {
            Action::Forward
        }
    });
    let c = client(&proxy.addr);
    let r = copy::push_oci_layout(&c, &src, "armorred/f", "t", None).unwrap();
    assert!(failed.load(Ordering::SeqCst));
    assert_eq!(r.digest.to_string(), digest);
    let posts = proxy.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 4, "the failed upload restarts from a new session");
    assert_eq!(client(&reg.addr).head_manifest("armorred/f", "t").unwrap().unwrap().digest.to_string(), digest);
}

#[test]
fn a_connection_dropped_mid_blob_is_retried() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    // A layer of 8 MiB: the connection drops while the client is still sending.
    let big: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let digest = oci_layout(&src, &[layer_plain(tar(&[E::File("big", &big, 0o644)]))]);
    let drops = Arc::new(AtomicUsize::new(0));
    let n = drops.clone();
    let proxy = Proxy::start(&reg.addr, move |s| {
        let body = s.header("content-length").and_then(|l| l.parse::<usize>().ok()).unwrap_or(0);
        if s.method == "PUT" && body > 1000 && n.fetch_add(1, Ordering::SeqCst) == 0 {
            Action::DropMidBody
        } else {
            Action::Forward
        }
    });
    let r = copy::push_oci_layout(&client(&proxy.addr), &src, "armorred/d", "t", None).unwrap();
    assert_eq!(r.digest.to_string(), digest);
    assert_eq!(drops.load(Ordering::SeqCst), 2, "dropped once, then sent again");
    let out = tmp.path().join("out");
    copy::pull_to_layout(&client(&reg.addr), "armorred/d", "t", &out, false).unwrap();
    assert_eq!(blobs(&out), blobs(&src));

    // Downloads too: a blob GET cut off half way is retried.
    let cut = Arc::new(AtomicUsize::new(0));
    let k = cut.clone();
    let blob = blobs(&src).into_iter().find(|(_, b)| b.len() > 1000).unwrap();
    let half = blob.1[..blob.1.len() / 2].to_vec();
    let total = blob.1.len();
    let hex = blob.0.clone();
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.method == "GET" && s.path.ends_with(&hex) && k.fetch_add(1, Ordering::SeqCst) == 0 {
            // Announces the whole size, sends half.
            Action::Partial(total, half.clone())
        } else {
            Action::Forward
        }
    });
    let mut sink = Vec::new();
    let d: Digest = format!("sha256:{}", blob.0).parse().unwrap();
    client(&proxy.addr).get_blob("armorred/d", &d, Some(total as u64), 64 << 20, &mut sink).unwrap();
    assert_eq!(sink, blob.1);
    assert_eq!(cut.load(Ordering::SeqCst), 2);
}

#[test]
fn a_registry_stopped_mid_push_fails_cleanly_and_the_old_tag_stays() {
    let Some(reg) = Registry::start() else { return };
    let reg = Arc::new(reg);
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let old_digest = layout(&old, "old");
    copy::push_oci_layout(&client(&reg.addr), &old, "armorred/stop", "t", None).unwrap();
    let new = tmp.path().join("new");
    layout(&new, "new");
    let r2 = reg.clone();
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.method == "PUT" && s.path.contains("/blobs/uploads/") {
            r2.stop();
        }
        Action::Forward
    });
    let e = copy::push_oci_layout(&client(&proxy.addr), &new, "armorred/stop", "t", None).unwrap_err();
    let text = chain(&e);
    assert!(text.contains("gave up after") || text.contains("failed"), "{text}");
    assert!(!proxy.seen().iter().any(|s| s.method == "PUT" && s.path.ends_with("/manifests/t")), "the tag was written");
    reg.restart();
    let head = client(&reg.addr).head_manifest("armorred/stop", "t").unwrap().unwrap();
    assert_eq!(head.digest.to_string(), old_digest, "the old tag moved");
    // The proxy's hook holds the registry: stop it here.
    reg.stop();
}

#[test]
fn bearer_token_challenges_are_answered() {
    // docker-registry's own token auth needs a certificate setup: a tiny token server and an
    // auth-checking proxy in front of the real registry stand in for it.
    let Some(reg) = Registry::start() else { return };
    let tokens = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let realm = format!("http://{}/token", tokens.local_addr().unwrap());
    let asked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        for s in tokens.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                head.push_str(&l);
            }
            log.lock().unwrap().push(head.clone());
            // user:secret
            let ok = head.to_ascii_lowercase().contains("authorization: basic dxnlcjpzzwnyzxq=");
            let (status, body) = if ok { ("200 OK", r#"{"token":"T0KEN"}"#) } else { ("401 No", "{}") };
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let challenge = format!(r#"Bearer realm="{realm}",service="test-registry""#);
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.header("authorization") == Some("Bearer T0KEN") {
            Action::Forward
        } else {
            Action::Respond(401, vec![("WWW-Authenticate".into(), challenge.clone())], b"{}".to_vec())
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.json");
    std::fs::write(&cfg, format!(r#"{{"auths":{{"{}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#, proxy.addr)).unwrap();
    let src = tmp.path().join("src");
    let digest = layout(&src, "auth");
    let c = Client::new(&proxy.addr, Options { docker_config: DockerConfig::File(cfg), ..options() }).unwrap();
    let r = copy::push_oci_layout(&c, &src, "armorred/auth", "t", None).unwrap();
    assert_eq!(r.digest.to_string(), digest);
    let out = tmp.path().join("out");
    copy::pull_to_layout(&c, "armorred/auth", "t", &out, false).unwrap();
    assert_eq!(blobs(&out), blobs(&src));
    let asked = asked.lock().unwrap().join("\n").replace("%3A", ":").replace("%2F", "/").replace("%2C", ",");
    assert!(asked.contains("scope=repository:armorred/auth:pull,push"), "{asked}");
    assert!(asked.contains("service=test-registry"), "{asked}");
    // Without credentials the token service refuses: a clear error, nothing pushed.
    let anon = Client::new(&proxy.addr, options()).unwrap();
    let e = chain(&copy::push_oci_layout(&anon, &src, "armorred/auth", "u", None).unwrap_err());
    assert!(e.contains("the token service") && e.contains("refused scope"), "{e}");
}

#[test]
fn a_hostile_registry_gets_clear_errors() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let digest = layout(&src, "hostile");
    copy::push_oci_layout(&client(&reg.addr), &src, "armorred/h", "t", None).unwrap();
    let huge = vec![b' '; 2 << 20];
    let other = br#"{"schemaVersion":2}"#.to_vec();
    let proxy = Proxy::start(&reg.addr, move |s| {
        let json = vec![("Content-Type".to_string(), "application/vnd.oci.image.manifest.v1+json".to_string())];
        if s.path.ends_with("/manifests/huge") {
            Action::Respond(200, json, huge.clone())
        } else if s.path.contains("/manifests/sha256:") && s.method == "GET" {
            Action::Respond(200, json, other.clone())
        } else if s.path.ends_with("/manifests/lying") {
            let mut h = json;
            h.push(("Docker-Content-Digest".into(), Digest::of(b"x").to_string()));
            Action::Respond(200, h, other.clone())
        } else if s.method == "POST" && s.path.contains("/blobs/uploads/") {
            Action::Respond(
                202,
                vec![("Location".into(), "http://127.0.0.2:1/v2/armorred/h/blobs/uploads/x".into())],
                vec![],
            )
        } else {
            Action::Forward
        }
    });
    let c = Client::new(&proxy.addr, Options { max_manifest_bytes: 1 << 20, ..options() }).unwrap();
    let e = chain(&c.get_manifest("armorred/h", "huge").unwrap_err());
    assert!(e.contains("the manifest huge is over the limit of 1048576 bytes"), "{e}");
    let e = chain(&c.get_manifest("armorred/h", &digest).unwrap_err());
    assert!(e.contains(&format!("manifest {digest} does not verify")), "{e}");
    let e = chain(&c.get_manifest("armorred/h", "lying").unwrap_err());
    assert!(e.contains("(Docker-Content-Digest) does not verify"), "{e}");
    let e = chain(&c.push_blob_bytes("armorred/h", "application/octet-stream", b"new blob").unwrap_err());
    assert!(
        e.contains("is not on http://") && e.contains("refusing to send the blob (and credentials) to another host"),
        "{e}"
    );
    // Through the source: the same errors, naming the reference.
    let e = armorred::source::Source::parse(&format!("registry:{}/armorred/h@{digest}", proxy.addr))
        .unwrap()
        .open(&armorred::source::OpenOptions::default())
        .unwrap_err();
    let e = error_chain(&e);
    assert!(e.contains(&format!("{}: manifest {digest} does not verify", proxy.addr)), "{e}");
}

#[test]
fn retries_are_bounded_and_429_is_retried() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    layout(&src, "busy");
    // A 429 once: retried.
    let once = Arc::new(AtomicBool::new(false));
    let o = once.clone();
    let proxy = Proxy::start(&reg.addr, move |s| {
        if s.method == "PUT" && s.path.contains("/manifests/") && !o.swap(true, Ordering::SeqCst) {
            Action::Respond(429, vec![], vec![])
        } else {
            Action::Forward
        }
    });
    copy::push_oci_layout(&client(&proxy.addr), &src, "armorred/busy", "t", None).unwrap();
    assert!(once.load(Ordering::SeqCst));
    // Always 503: the push gives up after the bounded attempts, and says so.
    let proxy = Proxy::start(&reg.addr, |_| Action::Respond(503, vec![], b"down".to_vec()));
    let start = std::time::Instant::now();
    let e = chain(&copy::push_oci_layout(&client(&proxy.addr), &src, "armorred/busy", "u", None).unwrap_err());
    assert!(e.contains("gave up after 4 attempts") && e.contains("HTTP 503"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    assert_eq!(proxy.seen().len(), 4);
    assert!(client(&reg.addr).head_manifest("armorred/busy", "u").unwrap().is_none(), "no tag written");
}

#[test]
fn a_redirect_to_another_host_gets_no_credentials() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    layout(&src, "redirect");
    copy::push_oci_layout(&client(&reg.addr), &src, "armorred/re", "t", None).unwrap();
    // `elsewhere` serves the blobs; the registry's proxy redirects blob GETs there.
    let elsewhere = Proxy::start(&reg.addr, |_| Action::Forward);
    let target = elsewhere.addr.clone();
    let front = Proxy::start(&reg.addr, move |s| {
        if s.method == "GET" && s.path.contains("/blobs/sha256:") {
            Action::Respond(307, vec![("Location".into(), format!("http://{target}{}", s.path))], vec![])
        } else {
            Action::Forward
        }
    });
    let cfg = tmp.path().join("config.json");
    std::fs::write(&cfg, format!(r#"{{"auths":{{"{}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#, front.addr)).unwrap();
    let c = Client::new(&front.addr, Options { docker_config: DockerConfig::File(cfg), ..options() }).unwrap();
    let out = tmp.path().join("out");
    copy::pull_to_layout(&c, "armorred/re", "t", &out, false).unwrap();
    assert_eq!(blobs(&out), blobs(&src), "redirected downloads still verify");
    assert!(front.seen().iter().all(|s| s.header("authorization") == Some("Basic dXNlcjpzZWNyZXQ=")));
    let redirected = elsewhere.seen();
    assert_eq!(redirected.len(), 3, "config and two layers");
    assert!(redirected.iter().all(|s| s.header("authorization").is_none()), "credentials followed the redirect");
}

#[test]
fn hostile_local_images_are_refused_before_the_tag_moves() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let c = client(&reg.addr);
    // A layout whose layer file does not hash to its name.
    let src = tmp.path().join("src");
    layout(&src, "tampered");
    let (name, mut data) = blobs(&src).into_iter().find(|(_, b)| b.len() > 1000).unwrap();
    data[600] ^= 1;
    std::fs::write(src.join("blobs/sha256").join(&name), &data).unwrap();
    for chunk in [64 << 20, 100] {
        let c = Client::new(&reg.addr, Options { chunk_size: chunk, ..options() }).unwrap();
        let e = chain(&copy::push_oci_layout(&c, &src, "armorred/bad", "t", None).unwrap_err());
        assert!(e.contains(&name) && e.contains("hash to"), "{e}");
    }
    assert!(c.head_manifest("armorred/bad", "t").unwrap().is_none(), "a tag was written");
    // A docker archive (Docker 25 style: layers are links into blobs/) is read through its
    // links; a member that leaves the archive is refused.
    let layer = tar(&[E::File("etc/hostname", b"x\n", 0o644)]);
    let config = serde_json::to_vec(&serde_json::json!({"architecture":"amd64","os":"linux",
        "rootfs":{"type":"layers","diff_ids":[digest(&layer)]}}))
    .unwrap();
    let lhex = digest(&layer).trim_start_matches("sha256:").to_string();
    let chex = digest(&config).trim_start_matches("sha256:").to_string();
    let archive = |layers: &str| {
        let manifest = format!(r#"[{{"Config":"blobs/sha256/{chex}","RepoTags":["x:1"],"Layers":[{layers}]}}]"#);
        let lpath = format!("blobs/sha256/{lhex}");
        let cpath = format!("blobs/sha256/{chex}");
        let target = format!("../blobs/sha256/{lhex}");
        tar(&[
            E::File(&lpath, &layer, 0o644),
            E::File(&cpath, &config, 0o644),
            E::Symlink("abc/layer.tar", &target),
            E::File("manifest.json", manifest.as_bytes(), 0o644),
        ])
    };
    let file = tmp.path().join("d25.tar");
    std::fs::write(&file, archive(r#""abc/layer.tar""#)).unwrap();
    let r = copy::push_docker_archive(&c, &file, "armorred/d25", "1", None).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&c.get_manifest("armorred/d25", "1").unwrap().bytes).unwrap();
    assert_eq!(m["layers"][0]["digest"], digest(&layer));
    assert_eq!(m["config"]["digest"], digest(&config));
    assert_eq!(c.head_manifest("armorred/d25", "1").unwrap().unwrap().digest, r.digest);
    std::fs::write(&file, archive(r#""../../etc/passwd""#)).unwrap();
    let e = chain(&copy::push_docker_archive(&c, &file, "armorred/d25", "2", None).unwrap_err());
    assert!(e.contains("leaves the archive"), "{e}");
    let e = chain(&copy::push_oci_layout(&c, tmp.path(), "armorred/none", "1", None).unwrap_err());
    assert!(e.contains("index.json"), "{e}");
}

#[test]
fn basic_challenges_use_the_docker_config() {
    let Some(reg) = Registry::start() else { return };
    let proxy = Proxy::start(&reg.addr, |s| {
        if s.header("authorization") == Some("Basic dXNlcjpzZWNyZXQ=") {
            Action::Forward
        } else {
            Action::Respond(401, vec![("WWW-Authenticate".into(), r#"Basic realm="registry""#.into())], vec![])
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    layout(&src, "basic");
    let e = chain(&copy::push_oci_layout(&client(&proxy.addr), &src, "armorred/basic", "t", None).unwrap_err());
    assert!(e.contains("asks for credentials (Basic) and the docker config has none"), "{e}");
    let cfg = tmp.path().join("config.json");
    std::fs::write(&cfg, format!(r#"{{"auths":{{"{}":{{"username":"user","password":"secret"}}}}}}"#, proxy.addr))
        .unwrap();
    let c = Client::new(&proxy.addr, Options { docker_config: DockerConfig::File(cfg.clone()), ..options() }).unwrap();
    copy::push_oci_layout(&c, &src, "armorred/basic", "t", None).unwrap();
    std::fs::write(&cfg, format!(r#"{{"auths":{{"{}":{{"username":"user","password":"wrong"}}}}}}"#, proxy.addr))
        .unwrap();
    let c = Client::new(&proxy.addr, Options { docker_config: DockerConfig::File(cfg), ..options() }).unwrap();
    let e = chain(&c.get_manifest("armorred/basic", "t").unwrap_err());
    assert!(e.contains("were rejected"), "{e}");
}
