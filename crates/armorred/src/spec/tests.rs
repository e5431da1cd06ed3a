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
    assert!(spec.tier(Tier::Hardened).is_ok());
    let locked = spec.tier(Tier::Locked).expect("locked");
    assert_eq!(locked.source_build, Some(Tier::Locked));
    assert!(spec.tier_packages(locked).iter().all(|p| p != "nginx"), "the locked tier builds nginx itself");
    let mut hardened_only = spec.clone();
    hardened_only.tiers.remove(&Tier::Locked);
    assert_eq!(
        hardened_only.tier(Tier::Locked).expect_err("must fail").to_string(),
        "image.toml: tiers.locked: tier not declared (declared: hardened)"
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
            base.replace("source_build = \"locked\"", "source_build = \"gold\""),
            "x.toml: tiers.locked.source_build: expected a recipe tier: hardened or locked",
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
        (
            {
                // The top-level list (the first one; it spans lines).
                let start = base.find("\npackages = [").expect("top-level packages") + 1;
                let end = start + base[start..].find("]\n").expect("end of packages") + 2;
                format!("{}{}", &base[..start], &base[end..])
            },
            "missing field `packages`",
        ),
        (
            format!("{base}\n[[directories]]\npath = \"/\"\nmode = \"0777\"\n"),
            "x.toml: directories[0].path: the root directory cannot be declared (its owner and mode are fixed)",
        ),
        (
            format!("{base}\n[[directories]]\npath = \"/./\"\n"),
            "x.toml: directories[0].path: the root directory cannot be declared",
        ),
        (
            base.replace("definition = \"upstream\"", "definition = \"../other\""),
            "x.toml: upstream.definition: must be a directory inside the definition's directory, without `..`",
        ),
        (base.replace("definition = \"upstream\"", "definition = \"files\""), "x.toml: upstream.definition: "),
        (
            base.replace("definition = \"upstream\"", "definition = \"upstream\"\nimage = \"registry:x/y:1\""),
            "x.toml: upstream: set exactly one of definition or image",
        ),
        (
            base.replace("user = \"65534:65534\"", "user = \"65534:65534\"\nvolumes = [\"data\"]"),
            "x.toml: image.volumes[0]: must be an absolute path without `..`",
        ),
        (
            base.replace("user = \"65534:65534\"", "user = \"65534:65534\"\nvolumes = [\"/data\"]"),
            "x.toml: image.volumes[0]: declare it in [[directories]] too, owned by the image's user",
        ),
        (
            format!(
                "{}\n[[directories]]\npath = \"/data\"\n",
                base.replace("user = \"65534:65534\"", "user = \"65534:65534\"\nvolumes = [\"/data\", \"/data\"]")
            ),
            "x.toml: image.volumes[1]: listed twice",
        ),
        (
            base.replace("name = \"nginx\"", "name = \"nginx\"\nreference = true"),
            "x.toml: tiers: a reference definition has no tiers",
        ),
    ];
    for (text, want) in cases {
        let err = ImageSpec::parse(Path::new("x.toml"), &text, Some(&nginx_dir())).expect_err("must fail").to_string();
        assert!(err.contains(want), "got {err:?}, want {want:?}");
    }
}

/// The upstream reference: Debian minbase + nginx, root, no tiers of its own (built as the one
/// implied tier, nothing removed), and no upstream of its own.
#[test]
fn reference_definitions() {
    let dir = nginx_dir().join("upstream");
    let spec = ImageSpec::load(&dir).expect("valid");
    assert!(spec.reference && spec.minbase);
    assert_eq!(spec.image.user, "0:0");
    assert_eq!(spec.tier(ImageSpec::REFERENCE_TIER).expect("implied tier"), &TierSpec::default());
    assert!(!spec.checksec.enforce);
    let nginx = ImageSpec::load(&nginx_dir()).expect("valid");
    assert_eq!(nginx.upstream_definition(&nginx_dir()), Some(dir.clone()));
    // Parsing what a parse gave back is the same definition.
    let again = toml::to_string(&spec).expect("toml");
    assert_eq!(ImageSpec::parse(Path::new("x"), &again, None).expect("reparses"), spec);
    let text = std::fs::read_to_string(dir.join("image.toml")).expect("read");
    let err = ImageSpec::parse(Path::new("x"), &format!("{text}\n[upstream]\nimage = \"registry:a/b:1\"\n"), None)
        .expect_err("a reference has no upstream");
    assert_eq!(err.to_string(), "x: upstream: a reference definition has no upstream of its own");
    // minbase is a resolution input; a definition without it keeps its digest.
    let plain = ImageSpec::parse(Path::new("x"), &text.replace("minbase = true", ""), None).expect("valid");
    assert_ne!(plain.lock_inputs_digest(&Default::default()), spec.lock_inputs_digest(&Default::default()));
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

/// A copy of `images/nginx` in a temporary directory, for tests that plant hostile files.
fn nginx_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for entry in walkdir::WalkDir::new(nginx_dir()).min_depth(1) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(nginx_dir()).expect("prefix");
        let to = tmp.path().join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    tmp
}

#[test]
fn a_files_source_symlinked_out_of_the_definition_is_refused() {
    let def = nginx_copy();
    let conf = def.path().join("files/nginx.conf");
    std::fs::remove_file(&conf).expect("rm");
    std::os::unix::fs::symlink("/proc/self/environ", &conf).expect("symlink");
    let err = ImageSpec::load(def.path()).expect_err("must fail").to_string();
    assert!(err.contains("files[0].source: "), "{err}");
    assert!(err.contains("files/nginx.conf resolves to /proc/"), "{err}");
    assert!(err.contains("outside the definition's directory"), "{err}");

    // Through a symlinked directory on the way, too.
    std::fs::remove_file(&conf).expect("rm");
    std::fs::rename(def.path().join("files"), def.path().join("real")).expect("mv");
    std::os::unix::fs::symlink("/etc", def.path().join("files")).expect("symlink");
    std::fs::write(def.path().join("real/nginx.conf"), "x").expect("write");
    let err = ImageSpec::load(def.path()).expect_err("must fail").to_string();
    assert!(err.contains("outside the definition's directory"), "{err}");
}

#[test]
fn a_symlink_inside_the_definition_is_accepted() {
    let def = nginx_copy();
    let conf = def.path().join("files/nginx.conf");
    std::fs::rename(&conf, def.path().join("files/real.conf")).expect("mv");
    std::os::unix::fs::symlink("real.conf", &conf).expect("symlink");
    ImageSpec::load(def.path()).expect("a link to a file of the definition is fine");
    assert_eq!(
        read_definition_file(def.path(), Path::new("files/nginx.conf")).expect("read"),
        std::fs::read(nginx_dir().join("files/nginx.conf")).expect("read")
    );
}

#[test]
fn a_fifo_or_directory_source_is_refused_without_hanging() {
    let def = nginx_copy();
    let conf = def.path().join("files/nginx.conf");
    std::fs::remove_file(&conf).expect("rm");
    let status = std::process::Command::new("mkfifo").arg(&conf).status().expect("mkfifo");
    assert!(status.success());
    let err = ImageSpec::load(def.path()).expect_err("must fail").to_string();
    assert!(err.ends_with("files/nginx.conf is a FIFO, not a regular file"), "{err}");
    let err = read_definition_file(def.path(), Path::new("files/nginx.conf")).expect_err("fifo").to_string();
    assert!(err.ends_with("is a FIFO, not a regular file"), "{err}");
    // The handle check: a FIFO opened directly (as if swapped in after the check) does not block.
    let err = open_regular(&conf, &conf).expect_err("fifo").to_string();
    assert!(err.ends_with("is a FIFO, not a regular file"), "{err}");
    std::fs::remove_file(&conf).expect("rm");
    std::fs::create_dir(&conf).expect("mkdir");
    let err = ImageSpec::load(def.path()).expect_err("must fail").to_string();
    assert!(err.ends_with("files/nginx.conf is a directory, not a regular file"), "{err}");
}

#[test]
fn image_toml_and_recipe_toml_must_be_regular_files_of_the_definition() {
    let def = nginx_copy();
    let recipe = def.path().join("recipe.toml");
    std::fs::remove_file(&recipe).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", &recipe).expect("symlink");
    let err = ImageSpec::load(def.path()).expect_err("must fail").to_string();
    assert!(err.contains("tiers.locked.source_build: "), "{err}");
    assert!(err.contains("recipe.toml resolves to /etc/passwd, outside"), "{err}");

    let image = def.path().join("image.toml");
    std::fs::remove_file(&image).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", &image).expect("symlink");
    let err = ImageSpec::load(def.path()).expect_err("must fail");
    let chain = format!("{err}: {}", std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default());
    assert!(chain.contains("image.toml resolves to /etc/passwd, outside"), "{chain}");
}

#[test]
fn a_relative_keyring_symlinked_out_is_refused() {
    let def = nginx_copy();
    std::os::unix::fs::symlink("/etc/passwd", def.path().join("evil.gpg")).expect("symlink");
    let text = nginx_text().replace("architecture = \"amd64\"", "architecture = \"amd64\"\nkeyrings = [\"evil.gpg\"]");
    assert!(text.contains("evil.gpg"));
    let err = ImageSpec::parse(Path::new("x.toml"), &text, Some(def.path())).expect_err("must fail").to_string();
    assert!(err.contains("x.toml: debian.keyrings[0]: "), "{err}");
    assert!(err.contains("outside the definition's directory"), "{err}");
}

#[test]
fn a_tier_recipe_directory_is_inside_the_definition() {
    let def = nginx_copy();
    let image = def.path().join("image.toml");
    let text = nginx_text();
    let with = |recipe: &str| {
        text.replace("source_build = \"locked\"", &format!("source_build = \"locked\"\nrecipe = {recipe:?}"))
    };
    std::fs::create_dir(def.path().join("helper")).expect("mkdir");
    std::fs::copy(nginx_dir().join("recipe.toml"), def.path().join("helper/recipe.toml")).expect("copy");
    std::fs::write(&image, with("helper")).expect("write");
    let spec = ImageSpec::load(def.path()).expect("valid");
    assert_eq!(spec.tier(Tier::Locked).expect("locked").recipe_dir(def.path()), def.path().join("helper"));
    for (recipe, want) in [
        ("../helper", "tiers.locked.recipe: expected a relative directory inside the definition"),
        ("/tmp", "tiers.locked.recipe: expected a relative directory inside the definition"),
        ("missing", "tiers.locked.source_build: "),
    ] {
        std::fs::write(&image, with(recipe)).expect("write");
        let err = ImageSpec::load(def.path()).expect_err(recipe).to_string();
        assert!(err.contains(want), "{recipe}: {err}");
    }
    std::fs::write(&image, text.replace("[tiers.hardened]", "[tiers.hardened]\nrecipe = \"helper\"")).expect("write");
    let err = ImageSpec::load(def.path()).expect_err("no source_build").to_string();
    assert!(err.contains("tiers.hardened.recipe: only for a tier with source_build"), "{err}");
}
