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

use armorred::tier::Tier;

mod support;

use support::images::{have_docker, load, pool_file, repo, text, wait_until, Dockerd};

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
    let cached = pool_file("trixie", &format!("pool/main/r/redis/{ORIG}"), ORIG_SHA256, "redis-tests", ".tar.gz");
    std::fs::create_dir_all(to).unwrap();
    let st =
        Command::new("tar").arg("-xzf").arg(&cached).arg("-C").arg(to).arg("--strip-components=1").status().unwrap();
    assert!(st.success());
}

fn cli(d: &Dockerd, c: &str, args: &[&str]) -> String {
    let mut a = vec!["exec", c, "redis-cli"];
    a.extend_from_slice(args);
    let out = d.docker(&a);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_ping(d: &Dockerd, c: &str) {
    wait_until(d, c, "answered PING", 50, || {
        String::from_utf8_lossy(&d.docker(&["exec", c, "redis-cli", "ping"]).stdout).trim() == "PONG"
    });
}

#[test]
fn hardened_redis_is_a_drop_in_and_passes_redis_tests() {
    if !have_everything() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = Dockerd::start();
    let image = load(&d, &repo().join("images/redis"), Tier::Hardened, &tmp.path().join("hardened.tar"), true);
    // As the official image: redis-server, port 6379, /data the working directory and volume.
    let cfg = text(&d.docker(&[
        "inspect",
        "-f",
        "{{json .Config.Cmd}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Config.User}} {{json .Config.Volumes}}",
        &image,
    ]));
    assert!(
        cfg.contains(r#"["redis-server","--protected-mode","no"] /data {"6379/tcp":{}} 65534:65534 {"/data":{}}"#),
        "{cfg}"
    );
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
