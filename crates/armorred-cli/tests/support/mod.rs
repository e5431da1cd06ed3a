//! Shared helpers of the command-line tests: running the binary, the repository, the shared
//! data, and a vulnerability DB made from Debian's real advisories.
#![allow(dead_code, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `armorred` with `args`.
pub(crate) fn armorred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_armorred")).args(args).output().expect("run armorred")
}

/// Runs `armorred`: exit code, stdout, stderr.
pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let o = armorred(args);
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data` beside the repository.
pub(crate) fn shared_data() -> PathBuf {
    let data = repo().join("../shared/data");
    assert!(data.is_dir(), "{} is missing: the shared data must sit beside the repository", data.display());
    data
}

/// Imports Debian's DSA/DLA fixed versions for bookworm and trixie (real data) into `db`.
pub(crate) fn debian_db(db: &Path) {
    let feed = shared_data().join("debian-security-advisories/tracker-json/dsa-dla.bookworm-trixie.json");
    let out = armorred(&["db", "import", "--db", db.to_str().expect("utf-8"), feed.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Copies the whole nginx definition (every file it refers to, at any depth) into `to/nginx`.
pub(crate) fn copy_nginx_definition(to: &Path) -> PathBuf {
    fn copy_tree(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).expect("create definition dir");
        for entry in std::fs::read_dir(src).expect("read definition dir") {
            let entry = entry.expect("definition entry");
            let target = dst.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy definition file");
            }
        }
    }
    let dst = to.join("nginx");
    copy_tree(&repo().join("images/nginx"), &dst);
    dst
}

/// Whether python3's jsonschema is there (required under ARMORRED_REQUIRE_TOOLS=1).
pub(crate) fn python_jsonschema() -> bool {
    let ok = Command::new("python3").args(["-c", "import jsonschema"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "python3-jsonschema is required (ARMORRED_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("skipping schema validation: python3 jsonschema missing");
    }
    ok
}

/// Validates `doc` against `schema`, resolving sibling schemas (spdx, jsf) from `schema_dir`.
pub(crate) fn validate(doc: &Path, schema: &Path) {
    if !python_jsonschema() {
        return;
    }
    let script = r#"
import json, sys, pathlib
import jsonschema
from jsonschema import validators
schema_path = pathlib.Path(sys.argv[2])
schema = json.loads(schema_path.read_text())
siblings = {}
for p in schema_path.parent.glob("*.schema.json"):
    try:
        s = json.loads(p.read_text())
    except Exception:
        continue
    siblings[p.name] = s
    if "$id" in s:
        siblings[s["$id"]] = s
cls = validators.validator_for(schema)
try:
    import referencing.jsonschema
    from referencing import Registry, Resource
    registry = Registry().with_resources(
        [(k, Resource.from_contents(v, default_specification=referencing.jsonschema.DRAFT7)) for k, v in siblings.items()]
    )
    v = cls(schema, registry=registry)
except ImportError:  # jsonschema < 4.18 (Debian bookworm's python3-jsonschema)
    resolver = jsonschema.RefResolver.from_schema(schema, store=siblings)
    v = cls(schema, resolver=resolver)
errors = sorted(v.iter_errors(json.loads(pathlib.Path(sys.argv[1]).read_text())), key=lambda e: list(e.path))
for e in errors[:10]:
    print(list(e.path), e.message)
sys.exit(1 if errors else 0)
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(doc).arg(schema).output().expect("python3");
    assert!(
        out.status.success(),
        "{} is not valid against {}:\n{}{}",
        doc.display(),
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether a tool runs; a missing one fails the test under `ARMORRED_REQUIRE_TOOLS=1`.
pub(crate) fn have_tool(cmd: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{cmd} is required (ARMORRED_REQUIRE_TOOLS=1) but is not available"
    );
    if !ok {
        eprintln!("skipping: {cmd} is not available");
    }
    ok
}

/// Debian's docker-registry on a free loopback port with private storage, stopped on drop.
pub(crate) struct Registry {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a [`Registry`]; `None` (a skip) when docker-registry is missing.
pub(crate) fn start_registry() -> Option<Registry> {
    if !have_tool("/usr/bin/docker-registry", &["--version"]) {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let addr = format!("127.0.0.1:{port}");
    let cfg = dir.path().join("registry.yml");
    let data = dir.path().join("data");
    std::fs::write(
        &cfg,
        format!("version: 0.1\nlog: {{ level: error }}\nstorage: {{ filesystem: {{ rootdirectory: {} }} }}\nhttp: {{ addr: {addr} }}\n", data.display()),
    )
    .expect("registry.yml");
    let child = std::process::Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker-registry");
    let reg = Registry { child, addr, _dir: dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(&reg.addr).is_ok() {
            return Some(reg);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("docker-registry did not start on {}", reg.addr);
}

/// A fresh database on the PostgreSQL server of `$ARMORRED_POSTGRES_URL`, named `<prefix>_<pid>`
/// (dropped first if a killed run left it, and dropped again when this goes out of scope).
pub(crate) struct PgDatabase {
    /// Its URL.
    pub(crate) url: String,
    admin: String,
    name: String,
}

fn psql(url: &str, sql: &str) {
    let o = std::process::Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect("psql");
    assert!(o.status.success(), "{}", text(&o.stderr));
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([self.admin.as_str(), "-c", &format!("DROP DATABASE IF EXISTS {}", self.name)])
            .output();
    }
}

/// [`PgDatabase`]; `None` (a skip) without the server, which fails under
/// `ARMORRED_REQUIRE_TOOLS=1`.
pub(crate) fn postgres_database(prefix: &str) -> Option<PgDatabase> {
    let Ok(admin) = std::env::var("ARMORRED_POSTGRES_URL") else {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "ARMORRED_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)"
        );
        eprintln!("skipped: ARMORRED_POSTGRES_URL not set");
        return None;
    };
    let name = format!("{prefix}_{}", std::process::id());
    psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(PgDatabase { url: format!("{base}/{name}"), admin, name })
}

/// The sha256 of `data`, in hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

/// A one-layer OCI layout (an uncompressed tar holding `hello.txt` = `content`); its digest.
pub(crate) fn image_layout(dir: &Path, content: &str) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    let put = |data: &[u8]| {
        let hex = sha256_hex(data);
        std::fs::write(blobs.join(&hex), data).expect("write blob");
        (format!("sha256:{hex}"), data.len())
    };
    let mut header = [0u8; 512];
    header[..9].copy_from_slice(b"hello.txt");
    header[100..107].copy_from_slice(b"0000644");
    header[124..135].copy_from_slice(format!("{:011o}", content.len()).as_bytes());
    header[136..147].copy_from_slice(b"00000000000");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content.as_bytes());
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let (layer, layer_size) = put(&tar);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
    );
    let (config_digest, config_size) = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]}}"#
    );
    let (digest, size) = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"annotations":{{"org.opencontainers.image.ref.name":"test/img:t"}}}}]}}"#
        ),
    )
    .expect("index.json");
    digest
}
