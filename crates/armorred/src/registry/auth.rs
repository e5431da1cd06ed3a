//! Credentials (the docker config) and `WWW-Authenticate` challenges.

use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;

use super::{is_loopback, Client, RegistryError};

/// Where Basic credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    FromEnv,
    /// This `config.json`.
    File(PathBuf),
    /// No credentials.
    None,
}

impl DockerConfig {
    /// The base64 `user:password` for `host`: `auths.<host>.auth`, or its `username` and
    /// `password` (keys may carry a scheme and a path, as docker writes them).
    pub fn credentials(&self, host: &str) -> Option<String> {
        let file = match self {
            Self::None => return None,
            Self::File(f) => f.clone(),
            Self::FromEnv => std::env::var_os("DOCKER_CONFIG")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?
                .join("config.json"),
        };
        let mut data = Vec::new();
        std::fs::File::open(file).ok()?.take(super::MAX_MANIFEST_BYTES).read_to_end(&mut data).ok()?;
        let v: Value = serde_json::from_slice(&data).ok()?;
        let auths = v.get("auths")?.as_object()?;
        for (key, entry) in auths {
            let key_host =
                key.trim_start_matches("https://").trim_start_matches("http://").split('/').next().unwrap_or("");
            if !key_host.eq_ignore_ascii_case(host) {
                continue;
            }
            if let Some(a) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
                return Some(a.to_string());
            }
            if let (Some(u), Some(p)) =
                (entry.get("username").and_then(Value::as_str), entry.get("password").and_then(Value::as_str))
            {
                return Some(base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")));
            }
        }
        None
    }
}

/// Splits `a="x,y",b=z` on commas outside quotes.
pub(crate) fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A parsed `Bearer` challenge.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Bearer {
    pub(crate) realm: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) scope: Option<String>,
}

/// The scheme of a challenge (lower case) and, for `Bearer`, its parameters.
pub(crate) fn parse_challenge(challenge: &str) -> (String, Bearer) {
    let challenge = challenge.trim();
    let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut b = Bearer::default();
    for part in split_params(params) {
        let Some((k, v)) = part.split_once('=') else { continue };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "realm" => b.realm = Some(v),
            "service" => b.service = Some(v),
            "scope" => b.scope = Some(v),
            _ => {}
        }
    }
    (scheme.to_ascii_lowercase(), b)
}

impl Client {
    /// Answers a 401 `challenge` for a request needing `scopes`: fetches a bearer token (kept
    /// for these scopes), or fails with what is missing.
    pub(super) fn authenticate(&self, challenge: &str, scopes: &[String]) -> Result<(), RegistryError> {
        let auth = |reason: String| RegistryError::Auth { registry: self.host.clone(), reason };
        let (scheme, params) = parse_challenge(challenge);
        match scheme.as_str() {
            "bearer" => {}
            "basic" if self.basic.is_some() => {
                return Err(auth(format!("the credentials for {} in the docker config were rejected", self.host)))
            }
            "basic" => {
                return Err(auth(format!(
                    "asks for credentials (Basic) and the docker config has none for {}",
                    self.host
                )))
            }
            _ => {
                return Err(auth(format!(
                    "unauthorized (HTTP 401) with an unsupported challenge {:?}",
                    crate::display::escape(challenge)
                )))
            }
        }
        let realm = params.realm.ok_or_else(|| auth("bearer challenge without realm".into()))?;
        // The token request may carry our credentials: plain HTTP only where the registry
        // itself may be reached so.
        let realm_host = realm
            .strip_prefix("https://")
            .map(|r| (true, r))
            .or_else(|| realm.strip_prefix("http://").map(|r| (false, r)))
            .map(|(tls, r)| (tls, r.split(['/', '?', '#']).next().unwrap_or("").to_string()));
        match realm_host {
            Some((true, _)) => {}
            Some((false, h))
                if is_loopback(&h) || self.options.insecure_hosts.iter().any(|i| i.eq_ignore_ascii_case(&h)) => {}
            _ => {
                return Err(auth(format!(
                "the token realm {} is not an https URL (plain HTTP only for loopback or --insecure-registry hosts)",
                crate::display::escape(&realm)
            )))
            }
        }
        let mut req = self.http.get(&realm).timeout(self.options.request_timeout);
        if let Some(s) = &params.service {
            req = req.query("service", s);
        }
        let mut asked: Vec<&str> = scopes.iter().map(String::as_str).collect();
        if let Some(s) = params.scope.as_deref().filter(|s| !asked.contains(s)) {
            asked.push(s);
        }
        for s in &asked {
            req = req.query("scope", s);
        }
        if let Some(b) = &self.basic {
            req = req.set("Authorization", &format!("Basic {b}"));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, _)) => {
                return Err(auth(format!(
                    "the token service {} refused scope {} (HTTP {code})",
                    crate::display::escape(&realm),
                    asked.join(" ")
                )))
            }
            Err(e) => return Err(auth(format!("token request to {}: {e}", crate::display::escape(&realm)))),
        };
        let body = self.read_small(resp, "token response")?;
        let v: Value = serde_json::from_slice(&body).map_err(|source| RegistryError::Json {
            input: self.host.clone(),
            what: "token response".into(),
            source,
        })?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| auth("the token response holds no usable token".into()))?;
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(scopes.join(" "), token.to_string());
        Ok(())
    }
}
