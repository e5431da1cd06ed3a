//! `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]` sources: a small OCI distribution client on
//! ureq (rustls with ring). Anonymous and bearer-token pulls, credentials from
//! `~/.docker/config.json` (`auths.<host>.auth`). Plain HTTP only for loopback hosts.
//! Config and layers are downloaded (digest-verified) into a private cache laid out like an
//! OCI layout, removed when the [`Image`] is dropped, and read like `oci-dir:`.

use std::io::{Read, Write};
use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::blobs::{blob_path, BlobStore};
use super::{oci, Image, OpenOptions, Platform, SourceError};

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) host: String,
    pub(crate) repo: String,
    /// Tag or digest.
    pub(crate) reference: String,
}

impl Reference {
    pub(crate) fn parse(s: &str) -> Result<Self, SourceError> {
        let bad = |reason: &str| SourceError::Invalid { input: format!("registry:{s}"), reason: reason.into() };
        let (host, rest) = s.split_once('/').ok_or_else(|| bad("expected HOST[:PORT]/REPO[:TAG|@DIGEST]"))?;
        let host_like = host.contains('.') || host.contains(':') || host == "localhost";
        if !host_like {
            return Err(bad("the reference needs an explicit registry host (HOST[:PORT]/REPO[:TAG])"));
        }
        let (repo, reference) = if let Some((r, d)) = rest.split_once('@') {
            (r, d.to_string())
        } else {
            match rest.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r, t.to_string()),
                _ => (rest, "latest".to_string()),
            }
        };
        let repo_ok = !repo.is_empty()
            && repo.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b));
        if !repo_ok || reference.is_empty() || reference.contains(['/', '?', '#']) {
            return Err(bad("invalid repository or tag"));
        }
        Ok(Self { host: host.to_string(), repo: repo.to_string(), reference })
    }

    fn is_loopback(&self) -> bool {
        let h = self.host.rsplit_once(':').map_or(self.host.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                self.host.as_str()
            }
        });
        matches!(h, "localhost" | "[::1]") || h.starts_with("127.")
    }

    fn base(&self) -> String {
        let scheme = if self.is_loopback() { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.host, self.repo)
    }
}

/// Removes the download cache when the image is dropped.
#[derive(Debug)]
pub(crate) struct CacheDir(pub(crate) PathBuf);

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Client {
    agent: ureq::Agent,
    reference: Reference,
    name: String,
    token: Option<String>,
    basic: Option<String>,
}

impl Client {
    fn err(&self, reason: impl Into<String>) -> SourceError {
        SourceError::Registry { reference: self.name.clone(), reason: reason.into() }
    }

    fn get(&mut self, url: &str, accept: Option<&str>) -> Result<ureq::Response, SourceError> {
        for attempt in 0..2 {
            let mut req = self.agent.get(url);
            if let Some(a) = accept {
                req = req.set("Accept", a);
            }
            if let Some(t) = &self.token {
                req = req.set("Authorization", &format!("Bearer {t}"));
            } else if let Some(b) = &self.basic {
                req = req.set("Authorization", &format!("Basic {b}"));
            }
            match req.call() {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if attempt == 0 => {
                    let challenge = r.header("www-authenticate").unwrap_or("").to_string();
                    self.authenticate(&challenge)?;
                }
                Err(ureq::Error::Status(code, r)) => {
                    let body = r.into_string().unwrap_or_default();
                    let body: String = body.chars().take(200).collect();
                    return Err(self.err(format!("GET {url}: HTTP {code} {body}")));
                }
                Err(e) => return Err(self.err(format!("GET {url}: {e}"))),
            }
        }
        Err(self.err(format!("GET {url}: unauthorized")))
    }

    fn authenticate(&mut self, challenge: &str) -> Result<(), SourceError> {
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            if challenge.starts_with("Basic") && self.basic.is_some() {
                return Ok(());
            }
            return Err(self.err("unauthorized (no credentials in ~/.docker/config.json)"));
        };
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_params(params) {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim_matches('"').to_string();
            match k.trim() {
                "realm" => realm = Some(v),
                "service" | "scope" => query.push((k.trim().to_string(), v)),
                _ => {}
            }
        }
        let realm = realm.ok_or_else(|| self.err("bearer challenge without realm"))?;
        if !query.iter().any(|(k, _)| k == "scope") {
            query.push(("scope".into(), format!("repository:{}:pull", self.reference.repo)));
        }
        let mut req = self.agent.get(&realm);
        for (k, v) in &query {
            req = req.query(k, v);
        }
        if let Some(b) = &self.basic {
            req = req.set("Authorization", &format!("Basic {b}"));
        }
        let resp = req.call().map_err(|e| self.err(format!("token request to {realm}: {e}")))?;
        let v: Value = resp.into_json().map_err(|e| self.err(format!("token response: {e}")))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .ok_or_else(|| self.err("token response without token"))?;
        self.token = Some(token.to_string());
        Ok(())
    }

    fn manifest(&mut self, reference: &str) -> Result<(Value, String), SourceError> {
        let url = format!("{}/manifests/{reference}", self.reference.base());
        let resp = self.get(&url, Some(ACCEPT))?;
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(16 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| self.err(format!("reading manifest: {e}")))?;
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        if reference.starts_with("sha256:") && reference != digest {
            return Err(self.err(format!("manifest digest mismatch: got {digest}")));
        }
        let v = serde_json::from_slice(&bytes).map_err(|source| SourceError::Json {
            what: "manifest".into(),
            source_name: self.name.clone(),
            source,
        })?;
        Ok((v, digest))
    }

    fn blob_to(&mut self, digest: &str, cache: &std::path::Path, max: u64) -> Result<(), SourceError> {
        let rel = blob_path(digest, &self.name)?;
        let path = cache.join(&rel);
        let url = format!("{}/blobs/{digest}", self.reference.base());
        let resp = self.get(&url, None)?;
        let io = |source| SourceError::Io { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::File::create(&path).map_err(io)?;
        let mut reader = resp.into_reader().take(max + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| self.err(format!("downloading {digest}: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max {
                return Err(self.err(format!("blob {digest} larger than {max} bytes")));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io)?;
        }
        let got = format!("sha256:{:x}", hasher.finalize());
        if got != digest {
            return Err(self.err(format!("blob digest mismatch: expected {digest}, got {got}")));
        }
        Ok(())
    }
}

/// Splits `a="x,y",b=z` on commas outside quotes.
fn split_params(s: &str) -> Vec<String> {
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

/// Basic credentials for `host` from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
fn docker_credentials(host: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    let auths = v.get("auths")?.as_object()?;
    for (key, entry) in auths {
        let key_host = key.trim_start_matches("https://").trim_start_matches("http://").split('/').next().unwrap_or("");
        if key_host != host {
            continue;
        }
        if let Some(a) = entry.get("auth").and_then(Value::as_str) {
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

pub(crate) fn open(reference: &str, platform: &Platform, options: &OpenOptions) -> Result<Image, SourceError> {
    let parsed = Reference::parse(reference)?;
    let name = format!("registry:{reference}");
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(30))
        .timeout_read(std::time::Duration::from_secs(300))
        .build();
    let mut client = Client {
        agent,
        basic: docker_credentials(&parsed.host),
        reference: parsed.clone(),
        name: name.clone(),
        token: None,
    };
    let (mut doc, mut digest) = client.manifest(&parsed.reference)?;
    for _ in 0..4 {
        let Some(manifests) = doc.get("manifests").and_then(Value::as_array) else {
            break;
        };
        let chosen = oci::select(manifests, platform, options.platform.is_some(), &name)?;
        let d = chosen
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| client.err("index entry without digest"))?
            .to_string();
        (doc, digest) = client.manifest(&d)?;
    }
    let cache = std::env::temp_dir().join(format!(
        "armorred-registry-{}-{}",
        std::process::id(),
        &digest.trim_start_matches("sha256:")[..12.min(digest.len().saturating_sub(7))]
    ));
    let guard = CacheDir(cache.clone());
    let config = doc
        .pointer("/config/digest")
        .and_then(Value::as_str)
        .ok_or_else(|| client.err("manifest without config"))?
        .to_string();
    client.blob_to(&config, &cache, 16 << 20)?;
    for l in doc.get("layers").and_then(Value::as_array).ok_or_else(|| client.err("manifest without layers"))? {
        let d = l.get("digest").and_then(Value::as_str).ok_or_else(|| client.err("layer without digest"))?.to_string();
        client.blob_to(&d, &cache, options.limits.max_layer_bytes)?;
    }
    let mut image = oci::manifest_image(name, BlobStore::Dir(cache), &doc, Some(digest))?;
    image.cache = Some(guard);
    Ok(image)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/armorred/nginx:1.26").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repo.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "armorred/nginx", "1.26")
        );
        assert!(r.is_loopback());
        assert!(r.base().starts_with("http://"));
        let r = Reference::parse("registry.example/app@sha256:abcd").unwrap();
        assert_eq!(r.reference, "sha256:abcd");
        assert!(!r.is_loopback());
        assert!(r.base().starts_with("https://"));
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.reference, "latest");
        assert!(Reference::parse("nginx:latest").is_err());
        assert!(Reference::parse("library/nginx").is_err());
        assert!(Reference::parse("host.example/UPPER").is_err());
    }

    #[test]
    fn challenge_params() {
        assert_eq!(
            split_params(r#"realm="https://a/token",service="reg",scope="repository:x:pull,push""#),
            [r#"realm="https://a/token""#, r#"service="reg""#, r#"scope="repository:x:pull,push""#]
        );
    }
}
