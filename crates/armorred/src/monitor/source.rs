//! Images watched from a registry alone (`monitor run --from-registry HOST[:PORT][/PREFIX]`),
//! without the main job's outputs: every repository of the registry's catalog under the prefix,
//! each of its tags that names a tier (`hardened`, `locked`), is verified with the catalog's
//! public key (the image's signature, then its attestations), and what the monitor needs is
//! taken from the attestations that verified:
//!
//! | file under `<from>/registry/<repository>/<tier>/` | from the attestation |
//! |---|---|
//! | `sbom.cdx.json` | `https://cyclonedx.org/bom` (required: an image without one is not watched) |
//! | `vex.facts.json` | `https://armorred.dev/vex-facts/v1` (without it, findings are `under_investigation`) |
//! | `slsaprovenance1.json` | `https://slsa.dev/provenance/v1`: the definition it was built from |
//! | `comparison.json` | `https://armorred.dev/comparison/v1`: its size, for a rebuild's release notes |
//!
//! A rebuild of such an image starts from the definition its provenance names (which must be
//! checked out where the monitor runs) and pushes to the registry it was found in.
//!
//! The newest verified attestation of each type counts (cosign appends). Nothing unverified is
//! read: an image whose signature or SBOM attestation does not verify is skipped with the
//! reason, and the run goes on with the others (one bad push cannot stop the watch).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{MonitorError, Published};
use crate::error::chain;
use crate::registry::{Client, Options};
use crate::sign::{intoto, simple, PublicKey};
use crate::vex::decide::{ImageFacts, FACTS_PREDICATE_TYPE};

/// The comparison predicate of a registry-watched image, beside its SBOM.
pub(crate) const COMPARISON: &str = "comparison.json";

/// Bound on the repositories of one catalog the monitor watches.
pub const MAX_REPOSITORIES: usize = 100_000;

/// A registry to watch.
#[derive(Clone)]
pub struct RegistrySource {
    /// `HOST[:PORT]`.
    pub host: String,
    /// The repository prefix (`armorred`), empty for the whole registry.
    pub prefix: String,
    /// The catalog's public key: signatures and attestations must verify with it.
    pub key: PublicKey,
    /// Hosts reached over plain HTTP besides loopback.
    pub insecure: Vec<String>,
}

impl std::fmt::Debug for RegistrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySource").field("host", &self.host).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RegistrySource {
    /// Parses `[registry:]HOST[:PORT][/PREFIX]`.
    pub fn parse(target: &str, key: PublicKey, insecure: &[String]) -> Result<Self, MonitorError> {
        let bad = |reason: String| MonitorError::Input { path: PathBuf::from(target), reason };
        let t = target.strip_prefix("registry:").unwrap_or(target).trim_end_matches('/');
        let (host, prefix) = t.split_once('/').unwrap_or((t, ""));
        if host.is_empty() || prefix.contains([':', '@']) {
            return Err(bad(
                "expected HOST[:PORT][/PREFIX] (a registry and a repository prefix, no tag or digest)".into()
            ));
        }
        let probe =
            if prefix.is_empty() { format!("{host}/image:tier") } else { format!("{host}/{prefix}/image:tier") };
        crate::registry::Reference::parse(&probe).map_err(|e| bad(e.to_string()))?;
        Ok(Self { host: host.to_string(), prefix: prefix.to_string(), key, insecure: insecure.to_vec() })
    }

    /// `HOST[/PREFIX]`, as given.
    pub fn describe(&self) -> String {
        if self.prefix.is_empty() {
            self.host.clone()
        } else {
            format!("{}/{}", self.host, self.prefix)
        }
    }
}

/// An image of the registry that is not watched, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// `HOST/REPOSITORY:TAG`.
    pub reference: String,
    /// What did not verify or could not be read.
    pub reason: String,
}

/// The repositories under the prefix and the image name of each (the path below the prefix).
fn repositories(client: &Client, src: &RegistrySource) -> Result<Vec<(String, String)>, MonitorError> {
    let all = client.catalog().map_err(|e| stage("list the registry's repositories", &src.describe(), e))?;
    if all.len() > MAX_REPOSITORIES {
        return Err(MonitorError::Input {
            path: PathBuf::from(src.describe()),
            reason: format!("the catalog lists {} repositories, more than {MAX_REPOSITORIES}", all.len()),
        });
    }
    let mut out: Vec<(String, String)> = all
        .into_iter()
        .filter_map(|repo| {
            let name = if src.prefix.is_empty() {
                repo.clone()
            } else {
                repo.strip_prefix(&src.prefix)?.strip_prefix('/')?.to_string()
            };
            // An image name is one path component (as the pipeline pushes them); deeper
            // repositories (cosign's own, other tools') are not the catalog's.
            (!name.is_empty() && !name.contains('/') && crate::registry::check_repo(&repo).is_ok())
                .then_some((repo, name))
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn stage(what: &'static str, image: &str, e: impl Into<crate::Error>) -> MonitorError {
    MonitorError::Stage { stage: what, image: image.to_string(), source: Box::new(e.into()) }
}

/// Every watched image of the registry, verified, with its attested files written under
/// `<from>/registry/`; and the images skipped, with the reason.
pub(crate) fn discover(src: &RegistrySource, from: &Path) -> Result<(Vec<Published>, Vec<Skipped>), MonitorError> {
    let options = Options { insecure_hosts: src.insecure.clone(), ..Default::default() };
    let client = Arc::new(Client::new(&src.host, options).map_err(|e| stage("reach the registry", &src.host, e))?);
    let mut jobs = Vec::new();
    for (repo, name) in repositories(&client, src)? {
        let tags = client.list_tags(&repo).map_err(|e| stage("list the tags", &repo, e))?;
        let mut tiers: Vec<String> =
            tags.into_iter().filter(|t| t.parse::<crate::tier::Tier>().is_ok()).collect::<Vec<_>>();
        tiers.sort();
        tiers.dedup();
        jobs.extend(tiers.into_iter().map(|tier| (repo.clone(), name.clone(), tier)));
    }
    let results = crate::par::map(&jobs, crate::sign::VERIFY_JOBS, |(repo, name, tier)| {
        let reference = format!("{}/{repo}:{tier}", src.host);
        one(src, &client, &reference, repo, name, tier, from).map_err(|reason| Skipped { reference, reason })
    });
    let mut published = Vec::new();
    let mut skipped = Vec::new();
    for r in results {
        match r {
            Ok(p) => published.push(p),
            Err(s) => skipped.push(s),
        }
    }
    Ok((published, skipped))
}

/// One image: verified, its attested files written, or why not.
fn one(
    src: &RegistrySource,
    client: &Arc<Client>,
    reference: &str,
    repo: &str,
    name: &str,
    tier: &str,
    from: &Path,
) -> Result<Published, String> {
    let store = crate::sign::registry::RegistryStore::open_with(reference, client.clone()).map_err(|e| chain(&e))?;
    let digest = crate::sign::layout::Store::digest(&store).map_err(|e| chain(&e))?;
    simple::verify(&store, &src.key, &simple::VerifyOptions::default())
        .map_err(|e| format!("the signature: {}", chain(&e)))?;
    let attested =
        intoto::verify_attestations(&store, &src.key, None).map_err(|e| format!("the attestations: {}", chain(&e)))?;
    let newest =
        |t: &str| attested.iter().rev().find(|a| a.statement.predicate_type == t).map(|a| &a.statement.predicate);
    let sbom = newest("https://cyclonedx.org/bom").ok_or("no CycloneDX SBOM attestation verifies")?;
    let dir = from.join("registry").join(repo).join(tier);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |file: &str, v: &serde_json::Value| -> Result<String, String> {
        let path = dir.join(file);
        let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
        bytes.push(b'\n');
        crate::fsutil::write_bytes_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path.to_string_lossy().into_owned())
    };
    let sbom = write("sbom.cdx.json", sbom)?;
    // The facts name the image as published here: its VEX carries the repository_url.
    let parent = match repo.rsplit_once('/') {
        Some((p, _)) => format!("{}/{p}", src.host),
        None => src.host.clone(),
    };
    let vex_facts = match newest(FACTS_PREDICATE_TYPE) {
        Some(v) => {
            let mut f: ImageFacts = serde_json::from_value(v.clone())
                .map_err(|e| format!("the VEX facts attestation is not {FACTS_PREDICATE_TYPE}: {e}"))?;
            if f.product.digest != digest.to_string() {
                return Err(format!("the VEX facts are about {}, not this image ({digest})", f.product.digest));
            }
            f.product.registry.get_or_insert(parent);
            Some(write("vex.facts.json", &serde_json::to_value(&f).unwrap_or_default())?)
        }
        None => None,
    };
    let definition = match newest(crate::provenance::PREDICATE_TYPE) {
        Some(p) => {
            write("slsaprovenance1.json", p)?;
            p.pointer("/buildDefinition/externalParameters/definition")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        }
        None => String::new(),
    };
    // The comparison: the image's sizes, for a rebuild's release notes.
    if let Some(c) = newest(crate::report::compare::SCHEMA) {
        write(COMPARISON, c)?;
    }
    let digest = digest.to_string();
    Ok(Published {
        image: crate::monitor::state::PublishedImage {
            key: format!("{name}:{tier}@{digest}"),
            name: name.to_string(),
            tier: tier.to_string(),
            reference: format!("registry:{}/{repo}@{digest}", src.host),
            digest,
            definition,
            sbom,
            build_record: None,
            vex_facts,
            superseded_by: None,
        },
        dir,
        upstream_sbom: None,
        upstream_source: None,
    })
}
