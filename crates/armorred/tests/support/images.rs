//! Support for tests that build images/nginx: paths, the download cache, the mirror, a copy of
//! the definition, and a real dockerd (started as in shared/ENVIRONMENT.md, stopped on drop).

use std::path::{Path, PathBuf};
use std::process::Command;

use armorred::build::debian::{Cache, Mirror};
use armorred::build::{BuildOptions, Output};
use armorred::tier::Tier;

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The download cache shared by test runs: `target/armorred-test-cache`.
pub(crate) fn cache() -> Cache {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    Cache::new(target.join("armorred-test-cache"))
}

/// The mirror of the host's apt configuration (or `$ARMORRED_MIRROR`).
pub(crate) fn mirror() -> Mirror {
    Mirror::discover(None).expect("a Debian mirror in /etc/apt or $ARMORRED_MIRROR")
}

/// Copies the whole images/nginx directory (definition, lock, recipe, keys, files) into `to`.
pub(crate) fn copy_definition(to: &Path) -> PathBuf {
    let src = repo().join("images/nginx");
    let dst = to.join("nginx");
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let target = dst.join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    dst
}

/// Build options for `tier` into `output`, with the test cache and the host's mirror.
pub(crate) fn opts(tier: Tier, output: Output) -> BuildOptions<'static> {
    BuildOptions {
        tier,
        output,
        cache: cache(),
        mirror: Some(mirror()),
        source_date_epoch: None,
        revision: None,
        progress: None,
        reuse: true,
    }
}

/// Whether a real Docker engine can be started here (docker.io, nsenter and curl installed).
pub(crate) fn have_docker() -> bool {
    super::have_tool("docker", &["--version"])
        && super::have_tool("nsenter", &["--version"])
        && super::have_tool("curl", &["--version"])
        && super::have_tool("/usr/sbin/dockerd", &["--version"])
}

/// dockerd started as in shared/ENVIRONMENT.md, stopped on drop.
pub(crate) struct Dockerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    /// Starts dockerd on a private socket and data root; waits until it answers.
    pub(crate) fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("armorred-dockerd-").tempdir().unwrap();
        let d = dir.path().display();
        let cfg = format!(
            r#"{{"data-root":"{d}/data","exec-root":"{d}/exec","pidfile":"{d}/dockerd.pid","hosts":["unix://{d}/docker.sock"],"bridge":"none","iptables":false,"ip6tables":false,"storage-driver":"overlay2"}}"#
        );
        std::fs::write(dir.path().join("daemon.json"), cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = Command::new("/usr/sbin/dockerd")
            .arg("--config-file")
            .arg(dir.path().join("daemon.json"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let me = Self { dir, child };
        for _ in 0..60 {
            if me.docker(&["version"]).status.success() {
                return me;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!(
            "dockerd did not start: {}",
            std::fs::read_to_string(me.dir.path().join("dockerd.log")).unwrap_or_default()
        );
    }

    /// Runs the docker CLI against this daemon.
    pub(crate) fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", format!("unix://{}/docker.sock", self.dir.path().display()))
            .args(args)
            .output()
            .unwrap()
    }

    /// The daemon's socket (for `DOCKER_HOST=unix://...` of scripts run against it).
    pub(crate) fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    /// The host pid of a running container.
    pub(crate) fn pid(&self, container: &str) -> String {
        text(&self.docker(&["inspect", "-f", "{{.State.Pid}}", container])).trim().to_string()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containers and unmount; then reap it.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Builds `tier` of the definition in `dir` into the docker archive `tar` and loads it into `d`;
/// the image's name as docker reports it. `gated`: the checksec gate must pass (an upstream
/// reference is reported, not gated).
pub(crate) fn load(d: &Dockerd, dir: &Path, tier: Tier, tar: &Path, gated: bool) -> String {
    let report = armorred::build::build(dir, &opts(tier, Output::DockerArchive(tar.to_path_buf()))).unwrap();
    assert!(!gated || report.gate.passed(), "{:?}", report.gate.violations);
    let out = d.docker(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out).lines().find_map(|l| l.strip_prefix("Loaded image: ")).unwrap().trim().to_string()
}

/// Polls `ready` every 200 ms, `tries` times at most; then panics with `what` and the container
/// `c`'s logs.
pub(crate) fn wait_until(d: &Dockerd, c: &str, what: &str, tries: u32, mut ready: impl FnMut() -> bool) {
    for _ in 0..tries {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{c} never {what}: {}", text(&d.docker(&["logs", c])));
}

/// A file of the mirror's pool (`pool/...` under `suite`'s base), checked against `sha256` and
/// cached under that digest beside the other test downloads (`stem-<sha256><ext>`).
pub(crate) fn pool_file(suite: &str, path: &str, sha256: &str, stem: &str, ext: &str) -> PathBuf {
    let cached = cache().dir().join(format!("{stem}-{sha256}{ext}"));
    if !cached.exists() {
        let url = format!("{}/{path}", mirror().base_for(suite));
        let data = armorred::build::debian::mirror::http_get(&url).unwrap();
        assert_eq!(super::digest(&data), format!("sha256:{sha256}"), "{url}");
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        let tmp = cached.with_extension("partial");
        std::fs::write(&tmp, &data).unwrap();
        std::fs::rename(&tmp, &cached).unwrap();
    }
    cached
}

/// stdout and stderr of a finished command, as text.
pub(crate) fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `curl` run inside the network namespace of process `pid`, retried while the server starts:
/// (HTTP status, body).
pub(crate) fn curl_in(pid: &str, url: &str) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..40 {
        let o = Command::new("nsenter")
            .args(["-t", pid, "-n", "curl", "-s", "-w", "\n%{http_code}", url])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", "000"));
        last = (code.trim().parse().unwrap_or(0), body.to_string());
        if o.status.success() && last.0 != 0 {
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    last
}
