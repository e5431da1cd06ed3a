#![allow(clippy::unwrap_used)]

use super::auth::{parse_challenge, split_params};
use super::*;

#[test]
fn accept_header_is_unchanged() {
    assert_eq!(
        ACCEPT.join(", "),
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
    );
}

#[test]
fn references() {
    let r = Reference::parse("127.0.0.1:5000/armorred/nginx:1.26").unwrap();
    assert_eq!((r.host.as_str(), r.repo.as_str(), r.reference.as_str()), ("127.0.0.1:5000", "armorred/nginx", "1.26"));
    assert!(is_loopback(&r.host));
    assert_eq!(r.tag(), Some("1.26"));
    assert_eq!(r.to_string(), "127.0.0.1:5000/armorred/nginx:1.26");
    let r = Reference::parse("registry.example/app@sha256:abcd").unwrap();
    assert_eq!(r.reference, "sha256:abcd");
    assert_eq!(r.digest(), None, "not a full sha256 digest");
    assert!(!is_loopback(&r.host));
    assert_eq!(r.to_string(), "registry.example/app@sha256:abcd");
    let r = Reference::parse("localhost:5000/app").unwrap();
    assert_eq!(r.reference, "latest");
    for bad in [
        "nginx:latest",
        "library/nginx",
        "host.example/UPPER",
        "host.example/a//b:1",
        "host.example/a:-x",
        "host.example/a@sha256:",
        "host.example/a:t?x",
        "user@host.example/a:1",
    ] {
        assert!(Reference::parse(bad).is_err(), "{bad}");
    }
    assert!(is_loopback("localhost"));
    assert!(is_loopback("[::1]:5000"));
    assert!(!is_loopback("127.example:5000") || "127.example".starts_with("127."));
}

#[test]
fn plain_http_only_for_loopback_and_insecure_hosts() {
    let c = Client::new("127.0.0.1:5000", Options::default()).unwrap();
    assert_eq!(c.origin, "http://127.0.0.1:5000");
    let c = Client::new("registry.example", Options::default()).unwrap();
    assert_eq!(c.origin, "https://registry.example");
    let o = Options { insecure_hosts: vec!["registry.example:5000".into()], ..Options::default() };
    let c = Client::new("registry.example:5000", o).unwrap();
    assert_eq!(c.origin, "http://registry.example:5000");
    assert!(Client::new("a/b", Options::default()).is_err());
}

#[test]
fn challenge_params() {
    assert_eq!(
        split_params(r#"realm="https://a/token",service="reg",scope="repository:x:pull,push""#),
        [r#"realm="https://a/token""#, r#"service="reg""#, r#"scope="repository:x:pull,push""#]
    );
    let (scheme, b) = parse_challenge(r#"Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push""#);
    assert_eq!(scheme, "bearer");
    assert_eq!(b.realm.as_deref(), Some("https://a/token"));
    assert_eq!(b.service.as_deref(), Some("reg"));
    assert_eq!(b.scope.as_deref(), Some("repository:x:pull,push"));
    assert_eq!(parse_challenge(r#"Basic realm="x""#).0, "basic");
}

#[test]
fn upload_locations_stay_on_the_registry() {
    let c = Client::new("127.0.0.1:5000", Options::default()).unwrap();
    let resp = |loc: &str| {
        let raw = format!("HTTP/1.1 202 Accepted\r\nLocation: {loc}\r\nContent-Length: 0\r\n\r\n");
        raw.parse::<ureq::Response>().unwrap()
    };
    assert_eq!(
        c.location(&resp("/v2/x/blobs/uploads/u?s=1"), "POST").unwrap(),
        "http://127.0.0.1:5000/v2/x/blobs/uploads/u?s=1"
    );
    assert_eq!(c.location(&resp("http://127.0.0.1:5000/v2/x/u"), "POST").unwrap(), "http://127.0.0.1:5000/v2/x/u");
    for other in [
        "http://127.0.0.2:5000/v2/x/u",
        "http://127.0.0.1:50000/v2/x/u",
        "//evil.example/v2",
        "https://127.0.0.1:5000/v2/x/u",
    ] {
        let e = c.location(&resp(other), "POST").unwrap_err().to_string();
        assert!(e.contains("refusing to send the blob (and credentials) to another host"), "{other}: {e}");
    }
}

#[test]
fn queries_and_links() {
    assert_eq!(with_query("http://h/v2/x/u", "digest", "sha256:ab"), "http://h/v2/x/u?digest=sha256:ab");
    assert_eq!(with_query("http://h/u?a=1", "from", "a b/c"), "http://h/u?a=1&from=a%20b/c");
    assert_eq!(next_link(r#"</v2/x/tags/list?n=2&last=b>; rel="next""#), Some("/v2/x/tags/list?n=2&last=b"));
    assert_eq!(next_link(r#"</v2/x>; rel="prev""#), None);
    assert_eq!(cosign_tag(&Digest::of(b""), "sig"), format!("sha256-{}.sig", Digest::of(b"").hex()));
}

#[test]
fn transient_errors() {
    let status = |status| RegistryError::Status {
        registry: "h".into(),
        method: "GET".into(),
        url: "u".into(),
        status,
        body: String::new(),
    };
    assert!(status(500).is_transient() && status(503).is_transient() && status(429).is_transient());
    assert!(!status(404).is_transient() && !status(400).is_transient());
    assert!(status(404).is_not_found());
    let body =
        |kind| RegistryError::Body { registry: "h".into(), what: "x".into(), source: std::io::Error::from(kind) };
    assert!(body(std::io::ErrorKind::ConnectionReset).is_transient());
    assert!(body(std::io::ErrorKind::UnexpectedEof).is_transient());
    assert!(!body(std::io::ErrorKind::TimedOut).is_transient());
    assert!(!body(std::io::ErrorKind::InvalidData).is_transient());
}

#[test]
fn docker_config_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("config.json");
    std::fs::write(
        &f,
        r#"{"auths":{"https://reg.example/v1/":{"auth":"YTpi"},"other.example:5000":{"username":"u","password":"p"},"empty.example":{"auth":""}}}"#,
    )
    .unwrap();
    let c = DockerConfig::File(f.clone());
    assert_eq!(c.credentials("reg.example").as_deref(), Some("YTpi"));
    assert_eq!(c.credentials("REG.example").as_deref(), Some("YTpi"));
    assert_eq!(c.credentials("other.example:5000").as_deref(), Some("dTpw"));
    assert_eq!(c.credentials("other.example"), None, "the port is part of the host");
    assert_eq!(c.credentials("empty.example"), None);
    assert_eq!(DockerConfig::None.credentials("reg.example"), None);
    std::fs::write(&f, "not json").unwrap();
    assert_eq!(c.credentials("reg.example"), None);
}
