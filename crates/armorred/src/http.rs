//! The one HTTP client: every download of the project (Debian mirror, upstream sources, OCI
//! registries, vulnerability feeds) is made by a [`Client`] from here, and this is the only
//! place that builds a `ureq` agent.
//!
//! - TLS: rustls through ureq's `tls` feature, with the *ring* provider and the webpki root
//!   certificates (no aws-lc, no system OpenSSL).
//! - Proxy: from the environment, resolved here once per client. `https_proxy`/`HTTPS_PROXY`
//!   for `https:` URLs, `http_proxy`/`HTTP_PROXY` for `http:` URLs, `all_proxy`/`ALL_PROXY`
//!   for both when the scheme's own is unset; `no_proxy`/`NO_PROXY` lists hosts (and domain
//!   suffixes, `*` for all) reached directly. Loopback hosts are always reached directly. ureq
//!   2 takes one proxy per agent and knows no `no_proxy`, so the client holds one agent per
//!   route and picks it by URL; values are parsed by ureq's `Proxy` (one it cannot parse is
//!   ignored, as ureq's own environment lookup does).
//! - User agent `armorred/<version>`.
//! - Bounds: a connect timeout, a stall timeout (no byte read or written for that long) and
//!   optionally an overall deadline per request, given by the caller as [`Deadlines`].

use std::io::{Read, Write};
use std::time::Duration;

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("armorred/", env!("CARGO_PKG_VERSION"));

/// How long a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Connecting (DNS and TCP) gives up after this long.
    pub connect: Duration,
    /// A response (or request body) that moves no byte for this long fails.
    pub stall: Duration,
    /// The whole request, body included, fails after this long however slowly bytes trickle;
    /// `None`: no overall deadline (the caller may set one per request with
    /// `ureq::Request::timeout`).
    pub total: Option<Duration>,
}

/// Where the requests of one URL scheme go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Proxies {
    /// Proxy of `http:` URLs.
    http: Option<String>,
    /// Proxy of `https:` URLs.
    https: Option<String>,
    /// Hosts and domain suffixes reached directly (lower case, without a leading dot); `*`
    /// for every host.
    no_proxy: Vec<String>,
}

impl Proxies {
    /// From the process environment.
    fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From `get` (an environment lookup): empty values count as unset.
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let first = |keys: &[&str]| keys.iter().find_map(|k| get(k).filter(|v| !v.trim().is_empty()));
        let all = first(&["all_proxy", "ALL_PROXY"]);
        let no_proxy = first(&["no_proxy", "NO_PROXY"])
            .map(|v| {
                v.split(',')
                    .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            http: first(&["http_proxy", "HTTP_PROXY"]).or_else(|| all.clone()),
            https: first(&["https_proxy", "HTTPS_PROXY"]).or(all),
            no_proxy,
        }
    }

    /// Whether `host` (lower case, without port) is reached without a proxy.
    fn direct(&self, host: &str) -> bool {
        is_loopback(host)
            || self.no_proxy.iter().any(|n| {
                let n = n
                    .rsplit_once(':')
                    .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(n.as_str(), |(h, _)| h);
                n == "*" || host == n || host.strip_suffix(n).is_some_and(|rest| rest.ends_with('.'))
            })
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "[::1]" | "::1") || host.starts_with("127.")
}

/// The scheme and the host (lower case, without user info and port) of `url`.
fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port, |i| &host_port[..=i])
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// An HTTP client with the project's TLS, proxy, user agent and the given [`Deadlines`].
/// Cheap to clone (the agents share their connection pools).
#[derive(Debug, Clone)]
pub struct Client {
    direct: ureq::Agent,
    http: Option<ureq::Agent>,
    https: Option<ureq::Agent>,
    proxies: Proxies,
}

/// Idle connections kept per host: at least as many as the widest parallel user
/// ([`crate::sign::VERIFY_JOBS`]).
const IDLE_PER_HOST: usize = 16;

impl Client {
    /// A client bounded by `deadlines`, with the proxy of the environment.
    pub fn new(deadlines: Deadlines) -> Self {
        Self::with_proxies(deadlines, Proxies::from_env())
    }

    fn with_proxies(deadlines: Deadlines, proxies: Proxies) -> Self {
        let agent = |proxy: Option<&str>| {
            let mut b = ureq::AgentBuilder::new()
                .user_agent(USER_AGENT)
                .timeout_connect(deadlines.connect)
                .timeout_read(deadlines.stall)
                .timeout_write(deadlines.stall)
                // Concurrent callers (verify of many images, parallel blob transfers) each return
                // a connection: keep them for reuse instead of ureq's one idle connection a host.
                .max_idle_connections_per_host(IDLE_PER_HOST);
            if let Some(total) = deadlines.total {
                b = b.timeout(total);
            }
            if let Some(p) = proxy.and_then(|p| ureq::Proxy::new(p).ok()) {
                b = b.proxy(p);
            }
            b.build()
        };
        Self {
            direct: agent(None),
            http: proxies.http.as_deref().map(|p| agent(Some(p))),
            https: proxies.https.as_deref().map(|p| agent(Some(p))),
            proxies,
        }
    }

    /// The agent for `url`: through the proxy of its scheme unless its host is direct.
    fn agent_for(&self, url: &str) -> &ureq::Agent {
        let Some((scheme, host)) = scheme_and_host(url) else { return &self.direct };
        if self.proxies.direct(&host) {
            return &self.direct;
        }
        let proxied = match scheme.as_str() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        };
        proxied.unwrap_or(&self.direct)
    }

    /// A GET request for `url`.
    pub fn get(&self, url: &str) -> ureq::Request {
        self.agent_for(url).get(url)
    }

    /// A request of `method` (`HEAD`, `PUT`, `POST`, `PATCH`, ...) for `url`. Redirects are
    /// followed as for [`Client::get`], never with the `Authorization` header.
    pub fn request(&self, method: &str, url: &str) -> ureq::Request {
        self.agent_for(url).request(method, url)
    }
}

/// Copies `body` to `sink`, at most `max` bytes: `Some(bytes copied)`, or `None` when the body
/// holds more (then `max + 1` bytes have reached `sink`).
pub fn copy_at_most(body: impl Read, max: u64, sink: &mut dyn Write) -> std::io::Result<Option<u64>> {
    let n = std::io::copy(&mut body.take(max.saturating_add(1)), sink)?;
    Ok((n <= max).then_some(n))
}

/// Reads `body` into memory, at most `max` bytes: `None` when it holds more.
pub fn read_at_most(body: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    Ok(copy_at_most(body, max, &mut out)?.map(|_| out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn proxies_from_the_environment() {
        let p = Proxies::from_lookup(env(&[
            ("https_proxy", "http://p.invalid:3128"),
            ("ALL_PROXY", "http://all.invalid:8080"),
            ("NO_PROXY", "internal.invalid, .corp.invalid,10.0.0.1:80"),
        ]));
        assert_eq!(p.https.as_deref(), Some("http://p.invalid:3128"));
        assert_eq!(p.http.as_deref(), Some("http://all.invalid:8080"), "all_proxy fills in");
        for (host, direct) in [
            ("internal.invalid", true),
            ("a.internal.invalid", true),
            ("notinternal.invalid", false),
            ("x.corp.invalid", true),
            ("corp.invalid", true),
            ("10.0.0.1", true),
            ("localhost", true),
            ("127.0.0.1", true),
            ("[::1]", true),
            ("other.invalid", false),
        ] {
            assert_eq!(p.direct(host), direct, "{host}");
        }
        let none = Proxies::from_lookup(env(&[("http_proxy", " "), ("no_proxy", "")]));
        assert_eq!(none, Proxies::default(), "empty values are unset");
        assert!(Proxies::from_lookup(env(&[("no_proxy", "*")])).direct("any.invalid"));
    }

    #[test]
    fn routes_by_scheme_and_host() {
        let d = Deadlines { connect: Duration::from_secs(1), stall: Duration::from_secs(1), total: None };
        let c = Client::with_proxies(
            d,
            Proxies {
                http: None,
                https: Some("http://p.invalid:3128".into()),
                no_proxy: vec!["direct.invalid".into()],
            },
        );
        let is = |url: &str, agent: &ureq::Agent| std::ptr::eq(c.agent_for(url), agent);
        let https = c.https.as_ref().unwrap();
        assert!(is("https://user:pw@Mirror.Invalid:443/debian", https));
        assert!(is("https://direct.invalid/x", &c.direct));
        assert!(is("http://mirror.invalid/debian", &c.direct), "no http proxy");
        assert!(is("https://127.0.0.1:5000/v2/", &c.direct), "loopback is direct");
        assert!(is("https://[::1]:5000/v2/", &c.direct));
        assert_eq!(scheme_and_host("http://[::1]:80/a").unwrap().1, "[::1]");
        assert_eq!(scheme_and_host("HTTPS://a.invalid?x").unwrap(), ("https".into(), "a.invalid".into()));
    }

    /// A one-shot HTTP server on loopback: answers `body` and hands back the request head.
    fn one_shot(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut w = stream;
            write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
            head
        });
        (addr, handle)
    }

    #[test]
    fn requests_carry_our_user_agent_and_go_through_the_proxy() {
        let d = Deadlines { connect: Duration::from_secs(5), stall: Duration::from_secs(5), total: None };
        let (addr, server) = one_shot("direct");
        let body = Client::with_proxies(d, Proxies::default()).get(&format!("http://{addr}/x")).call().unwrap();
        assert_eq!(body.into_string().unwrap(), "direct");
        let head = server.join().unwrap();
        assert!(head.starts_with("GET /x HTTP/1.1"), "{head}");
        assert!(head.to_ascii_lowercase().contains(&format!("user-agent: {USER_AGENT}\r\n")), "{head}");

        // A host that is not loopback goes to the http proxy, which gets the absolute URL.
        let (proxy, server) = one_shot("proxied");
        let proxies = Proxies { http: Some(format!("http://{proxy}")), ..Proxies::default() };
        let body = Client::with_proxies(d, proxies).get("http://mirror.invalid/debian/x").call().unwrap();
        assert_eq!(body.into_string().unwrap(), "proxied");
        let head = server.join().unwrap();
        assert!(head.starts_with("GET http://mirror.invalid/debian/x HTTP/1.1"), "{head}");
    }

    #[test]
    fn bounded_reads() {
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(read_at_most(&b"abcd"[..], 3).unwrap(), None);
        let mut sink = Vec::new();
        assert_eq!(copy_at_most(&b"ab"[..], 3, &mut sink).unwrap(), Some(2));
    }

    /// Every ureq agent is built here: no `AgentBuilder` anywhere else in the workspace's
    /// sources (library and CLI, tests included), and no request through ureq's default agent
    /// (`ureq::get` and the like) in the library or the CLI.
    #[test]
    fn no_other_agent_builder() {
        let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let me = manifest_dir.join("src/http.rs");
        let crates = manifest_dir.parent().unwrap();
        let default_agent =
            ["ureq::get(", "ureq::post(", "ureq::put(", "ureq::head(", "ureq::request(", "ureq::agent("];
        let mut offenders = Vec::new();
        let mut stack = vec![
            (crates.join("armorred/src"), true),
            (crates.join("armorred-cli/src"), true),
            (crates.join("armorred/tests"), false),
            (crates.join("armorred-cli/tests"), false),
        ];
        while let Some((dir, product)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let path = e.path();
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((path, product));
                } else if path.extension().is_some_and(|x| x == "rs") && path != me {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("AgentBuilder") || (product && default_agent.iter().any(|c| text.contains(c))) {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "a ureq agent outside crate::http: {offenders:?}");
    }
}
