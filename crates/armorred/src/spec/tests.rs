use super::*;

fn nginx_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx")
}

fn nginx_text() -> String {
    std::fs::read_to_string(nginx_dir().join("image.toml")).expect("images/nginx/image.toml")
}

#[test]
fn nginx_definition_is_valid() {
    let spec = ImageSpec::load(&nginx_dir()).expect("valid");
    assert_eq!(spec.name, "nginx");
    assert_eq!(spec.image.user, "65534:65534");
    assert!(spec.tier("hardened").is_ok());
    let locked = spec.tier("locked").expect("locked");
    assert_eq!(locked.source_build.as_deref(), Some("locked"));
    assert!(spec.tier_packages(locked).iter().all(|p| p != "nginx"), "the locked tier builds nginx itself");
    assert_eq!(
        spec.tier("bogus").expect_err("must fail").to_string(),
        "image.toml: tiers.bogus: tier not declared (declared: hardened, locked)"
    );
    assert!(spec.lock_inputs_digest(&Default::default()).starts_with("sha256:"));
}

#[test]
fn invalid_definitions() {
    let base = nginx_text();
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("suites = [\"trixie\", \"trixie-updates\", \"trixie-security\"]", "suites = []"),
            "x.toml: debian.suites: at least one suite is required",
        ),
        (base.replace("\"80/tcp\"", "\"80\""), "x.toml: image.ports[0]: expected PORT/tcp, PORT/udp or PORT/sctp"),
        (base.replace("\"SIGQUIT\"", "\"QUIT\""), "x.toml: image.stop_signal: expected a signal name such as SIGQUIT"),
        (
            base.replace("user = \"65534:65534\"", "user = \"0:0\""),
            "x.toml: image.user: an ARMORRED image never runs as root",
        ),
        (
            base.replace("user = \"65534:65534\"", "user = \"nobody\""),
            "x.toml: image.user: expected numeric UID:GID such as 65534:65534",
        ),
        (
            base.replace("source = \"files/nginx.conf\"", "source = \"../etc/passwd\""),
            "x.toml: files[0].source: must be relative to the definition's directory, without `..`",
        ),
        (base.replace("source = \"files/nginx.conf\"", "source = \"files/missing.conf\""), "files[0].source:"),
        (
            base.replace("path = \"/etc/nginx/nginx.conf\"", "path = \"etc/nginx/nginx.conf\""),
            "x.toml: files[0].path: must be an absolute path without `..`",
        ),
        (
            base.replace("copy_from = \"/usr/share/nginx/html/index.html\"", ""),
            "x.toml: files[1]: set exactly one of source or copy_from",
        ),
        (
            base.replace("[tiers.hardened]", "[tiers.gold]"),
            "x.toml: tiers.gold: unknown tier (expected hardened or locked)",
        ),
        (
            base.replace("\"debconf\",", "\"nginx\","),
            "x.toml: tiers.hardened.exclude_packages: nginx is also in packages",
        ),
        (
            format!(
                "{base}\n[[checksec.allow]]\npath = \"/usr/sbin/nginx\"\nproperties = [\"fortify\"]\nreason = \" \"\n"
            ),
            "].reason: a reason is required",
        ),
        (
            format!("{base}\n[[checksec.allow]]\npath = \"/x\"\nproperties = [\"speed\"]\nreason = \"r\"\n"),
            "].properties: unknown property \"speed\"",
        ),
        (
            base.replace("name = \"nginx\"", "name = \"nginx\"\ncolour = \"red\""),
            "x.toml: TOML parse error at line 3, column 1",
        ),
        (base.replace("packages = [\"nginx\", \"ca-certificates\"]", ""), "missing field `packages`"),
    ];
    for (text, want) in cases {
        let err = ImageSpec::parse(Path::new("x.toml"), &text, Some(&nginx_dir())).expect_err("must fail").to_string();
        assert!(err.contains(want), "got {err:?}, want {want:?}");
    }
}

#[test]
fn lock_digest_follows_resolution_inputs_only() {
    let base = nginx_text();
    let a = ImageSpec::parse(Path::new("x"), &base, None).expect("valid");
    let b = ImageSpec::parse(Path::new("x"), &base.replace("\"SIGQUIT\"", "\"SIGTERM\""), None).expect("valid");
    let c = ImageSpec::parse(Path::new("x"), &base.replace("\"dpkg\",", ""), None).expect("valid");
    assert_eq!(a.lock_inputs_digest(&Default::default()), b.lock_inputs_digest(&Default::default()));
    assert_ne!(a.lock_inputs_digest(&Default::default()), c.lock_inputs_digest(&Default::default()));
}

#[test]
fn modes() {
    assert_eq!(parse_mode("0644"), Some(0o644));
    assert_eq!(parse_mode("1777"), Some(0o1777));
    assert_eq!(parse_mode("0o755"), Some(0o755));
    assert_eq!(parse_mode("999"), None);
    assert_eq!(parse_mode("77777"), None);
}
