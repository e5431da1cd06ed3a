//! images/redis end to end: the hardened image and the upstream reference built from their locks
//! (downloads shared with every other image test through the test cache), run in the real Docker
//! engine as 65534 with `--read-only --cap-drop=ALL --security-opt no-new-privileges` and /data
//! on a volume: PING, SET, GET, persistence across a restart; then a named subset of redis' own
//! test suite (`bench/redis-tests.sh`, `./runtest` against the external server) against
//! hardened. The whole suite for all three images is recorded in
//! `images/redis/tests/redis-tests-results.md` (`bench/redis-tests.sh` per image).
//! Needs docker, nsenter, tclsh (Debian's `tcl`), root; network for the mirror.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use armorred::build::debian::mirror::http_get;
use armorred::build::{self, Output};
use armorred::tier::Tier;

mod support;

use support::images::{have_docker, mirror, opts, repo, text, Dockerd};

/// redis' test units that must pass against hardened (core data types, scripting, persistence
/// commands an external server can run, ACL, pub/sub).
const UNITS: &[&str] = &[
    "unit/type/string",
    "unit/type/hash",
    "unit/type/list",
    "unit/type/zset",
    "unit/scripting",
    "unit/acl",
    "unit/pubsub",
];

/// The redis sources the recipe pins (their `tests/` and `runtest`).
const ORIG: &str = "redis_8.0.2.orig.tar.gz";
const ORIG_SHA256: &str = "caf3c0069f06fc84c5153bd2a348b204c578de80490c73857bee01d9b5d7401f";

fn have_everything() -> bool {
    if !have_docker() {
        return support::missing("docker");
    }
    if !support::have_tool("tclsh", &["/dev/null"]) {
        return support::missing("tclsh (Debian's tcl)");
    }
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.ok().as_deref() != Some("0") {
        return support::missing("root (nsenter into the container's network namespace)");
    }
    true
}

/// The pinned orig tarball, cached by sha256 beside the other test downloads, unpacked into `to`.
fn redis_sources(to: &Path) {
    let cached = support::images::cache().dir().join(format!("redis-tests-{ORIG_SHA256}.tar.gz"));
    if !cached.exists() {
        let url = format!("{}/pool/main/r/redis/{ORIG}", mirror().base_for("trixie"));
        let data = http_get(&url).unwrap();
        assert_eq!(support::digest(&data), format!("sha256:{ORIG_SHA256}"), "{url}");
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        let tmp = cached.with_extension("partial");
        std::fs::write(&tmp, &data).unwrap();
        std::fs::rename(&tmp, &cached).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    let st =
        Command::new("tar").arg("-xzf").arg(&cached).arg("-C").arg(to).arg("--strip-components=1").status().unwrap();
    assert!(st.success());
}

fn load(d: &Dockerd, dir: &Path, tier: Tier, tar: &Path) -> String {
    let report = build::build(dir, &opts(tier, Output::DockerArchive(tar.to_path_buf()))).unwrap();
    assert!(report.gate.passed(), "{:?}", report.gate.violations);
    let out = d.docker(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out).lines().find_map(|l| l.strip_prefix("Loaded image: ")).unwrap().trim().to_string()
}

fn cli(d: &Dockerd, c: &str, args: &[&str]) -> String {
    let mut a = vec!["exec", c, "redis-cli"];
    a.extend_from_slice(args);
    let out = d.docker(&a);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_ping(d: &Dockerd, c: &str) {
    for _ in 0..50 {
        let out = d.docker(&["exec", c, "redis-cli", "ping"]);
        if String::from_utf8_lossy(&out.stdout).trim() == "PONG" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{c} never answered PING: {}", text(&d.docker(&["logs", c])));
}

#[test]
fn hardened_redis_is_a_drop_in_and_passes_redis_tests() {
    if !have_everything() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = Dockerd::start();
    let image = load(&d, &repo().join("images/redis"), Tier::Hardened, &tmp.path().join("hardened.tar"));
    // As the official image: redis-server, port 6379, /data the working directory and volume.
    let cfg = text(&d.docker(&[
        "inspect",
        "-f",
        "{{json .Config.Cmd}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Config.User}}",
        &image,
    ]));
    assert!(cfg.contains(r#"["redis-server","--protected-mode","no"] /data {"6379/tcp":{}} 65534:65534"#), "{cfg}");
    assert!(d.docker(&["volume", "create", "redisdata"]).status.success());
    let run = [
        "run",
        "-d",
        "--name",
        "redis1",
        "--user",
        "65534:65534",
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "-v",
        "redisdata:/data",
        &image,
    ];
    let out = d.docker(&run);
    assert!(out.status.success(), "{}", text(&out));
    wait_ping(&d, "redis1");
    assert_eq!(cli(&d, "redis1", &["set", "armorred", "hardened"]), "OK");
    assert_eq!(cli(&d, "redis1", &["get", "armorred"]), "hardened");
    assert_eq!(cli(&d, "redis1", &["config", "get", "protected-mode"]), "protected-mode\nno");
    // Stopped with SIGTERM: redis saves dump.rdb into /data on shutdown (its default save points).
    assert!(d.docker(&["stop", "redis1"]).status.success());
    assert!(d.docker(&["rm", "redis1"]).status.success());
    let out = d.docker(&run);
    assert!(out.status.success(), "{}", text(&out));
    wait_ping(&d, "redis1");
    assert_eq!(cli(&d, "redis1", &["get", "armorred"]), "hardened", "not persisted to the volume");
    assert!(d.docker(&["rm", "-f", "redis1"]).status.success());

    // redis' own suite, a named subset, against the server in the image.
    let src = tmp.path().join("redis-src");
    redis_sources(&src);
    let res = tmp.path().join("res");
    let mut args: Vec<String> = Vec::new();
    for u in UNITS {
        args.push("--single".into());
        args.push((*u).into());
    }
    let sock = format!("unix://{}", d.socket().display());
    let out = Command::new(repo().join("bench/redis-tests.sh"))
        .env("DOCKER_HOST", &sock)
        .arg(&image)
        .arg(&src)
        .arg(&res)
        .args(&args)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(res.join("runtest.log")).unwrap_or_default();
    assert!(out.status.success(), "{}\n{}", text(&out), log);
    let results = std::fs::read_to_string(res.join("results.tsv")).unwrap();
    let count = |s: &str| results.lines().filter(|l| l.split('\t').next() == Some(s)).count();
    eprintln!(
        "redis-tests on hardened: {} ok, {} err, {} skip, {} ignore",
        count("ok"),
        count("err"),
        count("skip"),
        count("ignore")
    );
    assert!(count("ok") > 300, "{results}\n{log}");
    for bad in ["err", "exception", "timeout"] {
        assert_eq!(count(bad), 0, "{results}\n{log}");
    }
    assert!(log.contains("All tests passed without errors"), "{log}");
}
