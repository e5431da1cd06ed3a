//! images/postgres end to end: the hardened image (Debian's PostgreSQL 17 and the entrypoint
//! program compiled in the sandbox), the locked image (PostgreSQL 17.11 and the same entrypoint
//! compiled from source with SafeStack, without CFI: images/postgres/recipe.toml says why) and
//! the upstream reference built from their locks (downloads
//! shared with every other image test through the test cache), run in the real Docker engine as
//! 65534 with `--read-only --cap-drop=ALL --security-opt no-new-privileges`, PGDATA on a volume
//! and a tmpfs for the socket directory: initialised from POSTGRES_PASSWORD with POSTGRES_DB and
//! .sql/.sql.gz init files, a password login over TCP (scram-sha-256, a wrong password refused),
//! a query, persistence across a restart, the refusal without a password; then a named subset of
//! PostgreSQL's regression suite (`bench/postgres-tests.sh`, pg_regress in a client container of
//! the upstream reference) against each tier. The whole schedule for every image is recorded in
//! `images/postgres/tests/postgres-tests-results.md`.
//! Needs docker, nsenter, ip (iproute2), root; a C compiler, make, bison and flex (pg_regress is
//! built from the pinned sources once, kept in the test cache); network for the mirror.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use armorred::build::debian::mirror::http_get;
use armorred::tier::Tier;

mod support;

use support::images::{have_docker, load, mirror, repo, text, wait_until, Dockerd};

/// The regression tests that must pass against each tier (test_setup first, as the schedule).
const TESTS: &[&str] = &[
    "test_setup",
    "boolean",
    "char",
    "name",
    "varchar",
    "text",
    "int4",
    "float8",
    "numeric",
    "strings",
    "json",
    "copy",
];

/// The PostgreSQL sources the locked recipe pins (their src/test/regress).
const ORIG: &str = "postgresql-17_17.11.orig.tar.bz2";
const ORIG_SHA256: &str = "dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979";

fn have_everything() -> bool {
    if !have_docker() {
        return support::missing("docker");
    }
    for (tool, args) in
        [("ip", &["-V"][..]), ("cc", &["--version"]), ("make", &["--version"]), ("bison", &["-V"]), ("flex", &["-V"])]
    {
        if !support::have_tool(tool, args) {
            return support::missing(tool);
        }
    }
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.ok().as_deref() != Some("0") {
        return support::missing("root (nsenter into the container's network namespace)");
    }
    true
}

fn sh(cmd: &str, dir: &Path) {
    let out = Command::new("sh").arg("-c").arg(cmd).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", text(&out));
}

/// src/test/regress of the pinned sources with pg_regress and regress.so built, cached by the
/// tarball's sha256 beside the other test downloads (a partial build is never reused).
fn regress_dir() -> PathBuf {
    let base = support::images::cache().dir().join(format!("postgres-regress-{ORIG_SHA256}"));
    let done = base.join("src/test/regress/regress.so");
    if done.exists() && base.join(".complete").exists() {
        return base.join("src/test/regress");
    }
    let _ = std::fs::remove_dir_all(&base);
    let url = format!("{}/pool/main/p/postgresql-17/{ORIG}", mirror().base_for("trixie"));
    let data = http_get(&url).unwrap();
    assert_eq!(support::digest(&data), format!("sha256:{ORIG_SHA256}"), "{url}");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join(ORIG), &data).unwrap();
    sh(&format!("tar -xjf {ORIG} --strip-components=1 && rm {ORIG}"), &base);
    sh("./configure --without-icu --without-readline --without-zlib --without-openssl >configure.log 2>&1", &base);
    sh("make -C src/test/regress -j2 >make.log 2>&1 && make -C contrib/spi -j2 >>make.log 2>&1", &base);
    std::fs::write(base.join(".complete"), b"").unwrap();
    base.join("src/test/regress")
}

/// psql of the image inside the container, over TCP to `host`; (success, output).
fn psql(d: &Dockerd, c: &str, password: &str, host: &str, db: &str, sql: &str) -> (bool, String) {
    let pw = format!("PGPASSWORD={password}");
    let out = d.docker(&["exec", "-e", &pw, c, "psql", "-h", host, "-U", "postgres", "-d", db, "-Atc", sql]);
    (out.status.success(), text(&out).trim().to_string())
}

fn wait_ready(d: &Dockerd, c: &str) {
    wait_until(d, c, "accepted a connection", 150, || psql(d, c, "", "127.0.0.1", "postgres", "select 1").0);
}

#[test]
fn hardened_postgres_is_a_drop_in_and_passes_regression_tests() {
    drop_in(Tier::Hardened);
}

#[test]
fn locked_postgres_is_a_drop_in_and_passes_regression_tests() {
    drop_in(Tier::Locked);
}

fn drop_in(tier: Tier) {
    if !have_everything() {
        return;
    }
    let name = tier.as_str();
    let tmp = tempfile::tempdir().unwrap();
    let d = Dockerd::start();
    let image = load(&d, &repo().join("images/postgres"), tier, &tmp.path().join(format!("{name}.tar")), true);
    // As the official image: the entrypoint, postgres, port 5432, SIGINT, PGDATA its volume.
    let cfg = text(&d.docker(&[
        "inspect",
        "-f",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Config.StopSignal}} {{.Config.User}} {{json .Config.Volumes}}",
        &image,
    ]));
    assert!(
        cfg.contains(
            r#"["docker-entrypoint"] ["postgres"] {"5432/tcp":{}} SIGINT 65534:65534 {"/var/lib/postgresql/data":{}}"#
        ),
        "{cfg}"
    );
    let env = text(&d.docker(&["inspect", "-f", "{{json .Config.Env}}", &image]));
    assert!(env.contains("PGDATA=/var/lib/postgresql/data"), "{env}");

    // Init files: a .sql and a .sql.gz, run in name order against POSTGRES_DB.
    let init = tmp.path().join("initdb.d");
    std::fs::create_dir(&init).unwrap();
    std::fs::write(init.join("01-table.sql"), "CREATE TABLE armorred (tier text);\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, format!("INSERT INTO armorred VALUES ('{name}');\n").as_bytes()).unwrap();
    std::fs::write(init.join("02-row.sql.gz"), gz.finish().unwrap()).unwrap();
    let mount = format!("{}:/docker-entrypoint-initdb.d:ro", init.display());
    assert!(d.docker(&["volume", "create", "pgdata"]).status.success());
    let run = |name: &str, volume: &str, password: Option<&str>| {
        let pw = password.map(|p| format!("POSTGRES_PASSWORD={p}"));
        let vol = format!("{volume}:/var/lib/postgresql/data");
        let mut a = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--user",
            "65534:65534",
            "--read-only",
            "--cap-drop=ALL",
            "--security-opt",
            "no-new-privileges",
            "--tmpfs",
            "/var/run/postgresql",
            "-v",
            &vol,
            "-v",
            &mount,
            "-e",
            "POSTGRES_DB=app",
        ];
        if let Some(pw) = &pw {
            a.extend_from_slice(&["-e", pw]);
        }
        a.push(&image);
        let out = d.docker(&a);
        assert!(out.status.success(), "{}", text(&out));
    };
    run("pg1", "pgdata", Some("s3cret"));
    wait_ready(&d, "pg1");
    // Loopback is `trust` (initdb's default, as in the official image): give the container's
    // loopback a second address, whose connections meet `host all all all scram-sha-256`.
    let ip = Command::new("nsenter")
        .args(["-t", &d.pid("pg1"), "-n", "ip", "addr", "add", "192.0.2.10/32", "dev", "lo"])
        .output()
        .unwrap();
    assert!(ip.status.success(), "{}", text(&ip));
    let (ok, out) = psql(&d, "pg1", "s3cret", "192.0.2.10", "app", "select system_user, tier from armorred");
    assert!(ok, "{out}");
    assert_eq!(out, format!("scram-sha-256:postgres|{name}"));
    let (ok, out) = psql(&d, "pg1", "wrong", "192.0.2.10", "app", "select 1");
    assert!(!ok && out.contains("password authentication failed"), "{out}");
    let (ok, out) = psql(&d, "pg1", "s3cret", "192.0.2.10", "app", "select current_setting('server_encoding')");
    assert_eq!((ok, out.as_str()), (true, "UTF8"));

    // SIGINT (the image's stop signal), then the same volume: no second initialisation.
    assert!(d.docker(&["stop", "pg1"]).status.success());
    assert!(d.docker(&["rm", "pg1"]).status.success());
    run("pg1", "pgdata", None);
    wait_ready(&d, "pg1");
    let (ok, out) = psql(&d, "pg1", "", "127.0.0.1", "app", "select tier from armorred");
    assert_eq!((ok, out.as_str()), (true, name), "not persisted");
    let logs = text(&d.docker(&["logs", "pg1"]));
    assert!(logs.contains("skipping initialization"), "{logs}");
    assert!(d.docker(&["rm", "-f", "pg1"]).status.success());

    // A fresh volume without POSTGRES_PASSWORD: refused, as the official image does.
    assert!(d.docker(&["volume", "create", "pgempty"]).status.success());
    run("pg2", "pgempty", None);
    let out = d.docker(&["wait", "pg2"]);
    assert_eq!(text(&out).trim(), "1", "{}", text(&d.docker(&["logs", "pg2"])));
    let logs = text(&d.docker(&["logs", "pg2"]));
    assert!(logs.contains("set POSTGRES_PASSWORD"), "{logs}");

    // PostgreSQL's own regression tests, a named subset, against the server in the image.
    let client =
        load(&d, &repo().join("images/postgres/upstream"), Tier::Hardened, &tmp.path().join("upstream.tar"), false);
    let res = tmp.path().join("res");
    let sock = format!("unix://{}", d.socket().display());
    let out = Command::new(repo().join("bench/postgres-tests.sh"))
        .env("DOCKER_HOST", &sock)
        .arg(&image)
        .arg(&client)
        .arg(regress_dir())
        .arg(&res)
        .args(TESTS)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(res.join("regress.log")).unwrap_or_default();
    let diffs = std::fs::read_to_string(res.join("regression.diffs")).unwrap_or_default();
    assert!(out.status.success(), "{}\n{log}\n{diffs}", text(&out));
    let results = std::fs::read_to_string(res.join("results.tsv")).unwrap();
    let ok = results.lines().filter(|l| l.starts_with("ok\t")).count();
    eprintln!("pg_regress on {name}: {ok} of {} ok", TESTS.len());
    assert_eq!(ok, TESTS.len(), "{results}\n{log}\n{diffs}");
}
