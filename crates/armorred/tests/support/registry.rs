//! A real docker-registry (Debian's CNCF distribution server) on loopback, and a small
//! HTTP proxy in front of it that injects faults (one request per connection).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::have_tool;

/// A docker-registry on `127.0.0.1:<free port>` with a private storage directory, stopped on
/// drop.
pub(crate) struct Registry {
    child: Mutex<Option<std::process::Child>>,
    pub(crate) addr: String,
    cfg: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Registry {
    /// Starts one; `None` when docker-registry is missing (a failure under
    /// `ARMORRED_REQUIRE_TOOLS=1`).
    pub(crate) fn start() -> Option<Self> {
        if !have_tool("/usr/bin/docker-registry", &["--version"]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let cfg = dir.path().join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog: {{ level: error }}\nstorage: {{ filesystem: {{ rootdirectory: {} }}, delete: {{ enabled: true }} }}\nhttp: {{ addr: {addr} }}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let reg = Self { child: Mutex::new(None), addr, cfg, _dir: dir };
        reg.restart();
        Some(reg)
    }

    /// Starts it again (same port, same storage) after [`Registry::stop`].
    pub(crate) fn restart(&self) {
        let child = std::process::Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&self.cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        for _ in 0..100 {
            if ureq::get(&format!("http://{}/v2/", self.addr)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("docker-registry did not start on {}", self.addr);
    }

    /// Stops it (kills the process we started, and waits for it).
    pub(crate) fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    /// The request's number (0 first).
    pub(crate) index: usize,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the proxy does with a request.
pub(crate) enum Action {
    /// Passes it to the registry.
    Forward,
    /// Answers this itself: status, extra headers, body.
    Respond(u16, Vec<(String, String)>, Vec<u8>),
    /// Reads half of the body, then drops the connection without an answer.
    DropMidBody,
    /// Answers 200 announcing this many bytes, sends these (fewer), and drops the connection.
    Partial(usize, Vec<u8>),
}

type Hook = dyn Fn(&Seen) -> Action + Send + Sync;

/// A proxy on its own port in front of `upstream`; `hook` decides per request.
pub(crate) struct Proxy {
    pub(crate) addr: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    pub(crate) fn start(upstream: &str, hook: impl Fn(&Seen) -> Action + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hook: Arc<Hook> = Arc::new(hook);
        let counter = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_string();
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (hook, log, upstream, counter) = (hook.clone(), log.clone(), upstream.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, &*hook, &log, &counter);
                });
            }
        });
        Self { addr, seen }
    }

    /// The requests seen so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    hook: &Hook,
    log: &Mutex<Vec<Seen>>,
    counter: &AtomicUsize,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let seen = Seen { method, path, headers, index: counter.fetch_add(1, Ordering::SeqCst) };
    log.lock().unwrap().push(seen.clone());
    let mut client = client;
    match hook(&seen) {
        Action::DropMidBody => {
            let mut half = vec![0u8; len / 2];
            let _ = reader.read_exact(&mut half);
            let _ = client.shutdown(std::net::Shutdown::Both);
            Ok(())
        }
        Action::Partial(declared, body) => {
            let mut body_in = vec![0u8; len];
            reader.read_exact(&mut body_in)?;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
            );
            client.write_all(head.as_bytes())?;
            client.write_all(&body)?;
            client.flush()?;
            let _ = client.shutdown(std::net::Shutdown::Both);
            Ok(())
        }
        Action::Respond(status, extra, body) => {
            let mut body_in = vec![0u8; len];
            reader.read_exact(&mut body_in)?;
            let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            client.write_all(head.as_bytes())?;
            client.write_all(&body)?;
            client.flush()
        }
        Action::Forward => {
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body)?;
            let mut up = match TcpStream::connect(upstream) {
                Ok(u) => u,
                Err(_) => {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    return Ok(());
                }
            };
            let mut head = format!("{} {} HTTP/1.1\r\n", seen.method, seen.path);
            for (k, v) in &seen.headers {
                if !k.eq_ignore_ascii_case("connection") {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
            }
            head.push_str("Connection: close\r\n\r\n");
            up.write_all(head.as_bytes())?;
            up.write_all(&body)?;
            // The answer, rewritten so that the client does not keep the connection.
            let mut answer = Vec::new();
            up.read_to_end(&mut answer)?;
            let split = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(answer.len(), |p| p + 4);
            let text = String::from_utf8_lossy(&answer[..split]).into_owned();
            let mut out = String::new();
            for l in text.split("\r\n") {
                if l.to_ascii_lowercase().starts_with("connection:") || l.is_empty() {
                    continue;
                }
                // Upload locations of the registry point at the proxy.
                out.push_str(&l.replace(upstream, &client.local_addr()?.to_string()));
                out.push_str("\r\n");
            }
            out.push_str("Connection: close\r\n\r\n");
            client.write_all(out.as_bytes())?;
            client.write_all(&answer[split..])?;
            client.flush()
        }
    }
}
