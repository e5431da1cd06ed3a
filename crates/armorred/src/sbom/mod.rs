//! SBOM generation: catalogers over the squashed file tree of an image, and encoders
//! (CycloneDX 1.6, SPDX 2.3, table, native JSON) plus a CycloneDX reader.
//!
//! Flow: [`generate`] builds the tree ([`crate::source::Image::tree`]), walks the files that
//! some [`catalog::Cataloger`] wants (each file read once, bounded), then finishes: OS purls
//! from `/etc/os-release`, classifier findings on files a package owns dropped, duplicates
//! merged, stable ids, deterministic order.

pub mod catalog;
pub mod format;
mod model;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;

use sha2::{Digest, Sha256};

pub use model::{Distro, Location, Package, Sbom, SourceInfo, SourcePackage};

use crate::fstree::{Entry, EntryKind, Index};
use crate::source::{Image, Limits, SourceError};
use catalog::{Cataloger, Parsed};

/// Errors of SBOM generation and reading.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// The image could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A document could not be read back.
    #[error("cannot read {what}: {reason}")]
    Read {
        /// What was read.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing an output failed.
    #[error("cannot encode {format}")]
    Encode {
        /// The format.
        format: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Options of [`generate`].
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Decompression and size bounds.
    pub limits: Limits,
}

/// Catalogs an opened image.
pub fn generate(image: &Image, options: &GenerateOptions) -> Result<Sbom, SbomError> {
    Ok(generate_with_tree(image, options)?.0)
}

/// [`generate`], and the image's file tree its pass built (what is in the image, with sizes
/// and modes), so that a caller needing the image's file facts does not read it again.
pub fn generate_with_tree(image: &Image, options: &GenerateOptions) -> Result<(Sbom, Index), SbomError> {
    let limits = &options.limits;
    let catalogers = catalog::all();
    let want = |e: &Entry| catalogers.iter().any(|c| c.wants(e));
    let mut found = Vec::<Parsed>::new();
    let mut warnings = Vec::new();
    let layer_digest = |e: &Entry| e.layer.and_then(|i| image.layers.get(i)).map(|l| l.digest.clone());
    let tree = if let Some(root) = image.dir_root() {
        // Directories: files are independent, read them in parallel (results keep tree order).
        use rayon::prelude::*;
        let tree = image.tree(limits)?;
        let wanted: Vec<&Entry> = tree.entries().filter(|e| e.kind == EntryKind::File && want(e)).collect();
        let results: Vec<(Vec<Parsed>, Vec<String>)> = wanted
            .par_iter()
            .map_init(Vec::new, |buf, entry| {
                let mut f = Vec::new();
                let mut w = Vec::new();
                let full = root.join(entry.path.trim_start_matches('/'));
                // Files may vanish or be unreadable on a live system: skip them.
                if let Ok(file) = std::fs::File::open(&full) {
                    let mut reader = std::io::BufReader::new(file).take(limits.max_file_bytes);
                    let location = Location { path: entry.path.clone(), layer: None };
                    if let Err(e) = catalog_file(catalogers, entry, location, &mut reader, buf, &mut f, &mut w) {
                        w.push(format!("cannot read {}: {e}", entry.path));
                    }
                }
                (f, w)
            })
            .collect();
        for (f, w) in results {
            found.extend(f);
            warnings.extend(w);
        }
        tree
    } else {
        let mut buf = Vec::new();
        let tree = image.scan(limits, &want, &mut |entry, reader| {
            let location = Location { path: entry.path.clone(), layer: layer_digest(entry) };
            catalog_file(catalogers, entry, location, reader, &mut buf, &mut found, &mut warnings)
                .map_err(|e| visit_err(entry, image, e))
        })?;
        warnings.extend(tree.warnings().iter().cloned());
        tree
    };
    let source = SourceInfo {
        name: image.name.clone(),
        kind: if image.is_dir() { "directory" } else { "image" }.into(),
        digest: image.digest.clone(),
        created: image.created.clone(),
        layers: image.layers.iter().map(|l| l.digest.clone()).collect(),
    };
    Ok((finish(source, found, warnings), tree))
}

/// Runs one file through the catalogers that want it. Non-ELF files are skipped unread when
/// only ELF catalogers want them; big ELF files are scanned in windows.
fn catalog_file(
    catalogers: &[&dyn Cataloger],
    entry: &Entry,
    location: Location,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    found: &mut Vec<Parsed>,
    warnings: &mut Vec<String>,
) -> std::io::Result<()> {
    let wanting: Vec<&dyn Cataloger> = catalogers.iter().filter(|c| c.wants(entry)).copied().collect();
    buf.clear();
    let mut magic = [0u8; 4];
    let n = read_up_to(reader, &mut magic)?;
    buf.extend_from_slice(&magic[..n]);
    let is_elf = magic == *b"\x7fELF";
    if !is_elf && wanting.iter().all(|c| c.elf_only()) {
        return Ok(());
    }
    if is_elf && entry.size > BIG_FILE {
        // Big binaries are scanned in overlapping windows (bounded memory) by the
        // catalogers that only search for byte patterns.
        scan_windows(&wanting, &location, reader, buf, found)?;
        if buf.capacity() > WINDOW * 2 {
            *buf = Vec::new();
        }
        return Ok(());
    }
    reader.read_to_end(buf)?;
    for c in wanting {
        if c.elf_only() && !is_elf {
            continue;
        }
        match c.parse(&location, buf) {
            Ok(p) => found.push(p),
            Err(e) => warnings.push(format!("{}: {}: {e}", c.name(), entry.path)),
        }
    }
    Ok(())
}

/// ELF files above this size are scanned in windows, not read whole.
const BIG_FILE: u64 = 64 << 20;
const WINDOW: usize = 16 << 20;
const OVERLAP: usize = 256 << 10;

fn scan_windows(
    wanting: &[&dyn Cataloger],
    location: &Location,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    found: &mut Vec<Parsed>,
) -> std::io::Result<()> {
    let mut done: Vec<bool> = wanting.iter().map(|c| !c.windowed()).collect();
    loop {
        let start = buf.len();
        buf.resize(start + WINDOW, 0);
        let n = read_up_to(reader, &mut buf[start..])?;
        buf.truncate(start + n);
        for (i, c) in wanting.iter().enumerate() {
            if done[i] {
                continue;
            }
            if let Ok(p) = c.parse(location, buf) {
                if !p.packages.is_empty() {
                    found.push(p);
                    done[i] = true;
                }
            }
        }
        if n == 0 || done.iter().all(|d| *d) {
            return Ok(());
        }
        let keep = buf.len().saturating_sub(OVERLAP);
        buf.drain(..keep);
    }
}

fn visit_err(entry: &Entry, image: &Image, e: std::io::Error) -> SourceError {
    let layer = entry
        .layer
        .and_then(|i| image.layers.get(i))
        .map(|l| format!(" in layer {} of {}", l.digest, image.name))
        .unwrap_or_default();
    SourceError::Visit(format!("cannot read {}{layer}: {e}", entry.path))
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Turns raw cataloger findings into a finished SBOM (purls, ownership, ids, order).
pub fn finish(source: SourceInfo, found: Vec<Parsed>, mut warnings: Vec<String>) -> Sbom {
    let distro = found.iter().filter_map(|p| p.distro.clone()).next();
    let mut owned: HashSet<String> = HashSet::new();
    let mut packages = Vec::new();
    let mut licenses: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for p in found {
        owned.extend(p.owned_files);
        packages.extend(p.packages);
        for (kind, name, l) in p.licenses {
            licenses.entry((kind, name)).or_default().extend(l);
        }
    }
    for p in &mut packages {
        if p.licenses.is_empty() {
            if let Some(l) = licenses.get(&(p.kind.clone(), p.name.clone())) {
                p.licenses = l.clone();
            }
        }
    }
    // Classifier and package-note findings on files that an OS package owns describe that
    // package's own binaries (Debian's binaries carry `.note.package` notes): as syft, keep
    // only the owner.
    packages.retain(|p| {
        !catalog::by_name(&p.found_by).is_some_and(|c| c.yields_to_owner())
            || !p.locations.iter().any(|l| owned.contains(&l.path))
    });
    for p in &mut packages {
        catalog::finish(p, distro.as_ref());
    }
    // Merge duplicates (same type, name, version, purl): locations are united.
    let mut merged: BTreeMap<(String, String, String, String), Package> = BTreeMap::new();
    for p in packages {
        let key = (p.kind.clone(), p.name.clone(), p.version.clone(), p.purl.clone().unwrap_or_default());
        match merged.get_mut(&key) {
            Some(existing) => {
                for l in p.locations {
                    if !existing.locations.contains(&l) {
                        existing.locations.push(l);
                    }
                }
            }
            None => {
                merged.insert(key, p);
            }
        }
    }
    let mut packages: Vec<Package> = merged.into_values().collect();
    for p in &mut packages {
        p.locations.sort();
        p.id = package_id(p);
    }
    packages.sort_by(|a, b| {
        (&a.kind, &a.name, &a.version, &a.locations).cmp(&(&b.kind, &b.name, &b.version, &b.locations))
    });
    warnings.sort();
    warnings.dedup();
    Sbom { source, distro, packages, warnings }
}

/// A stable id: the purl (or type/name@version) plus a short hash of the first location.
fn package_id(p: &Package) -> String {
    let base = p.purl.clone().unwrap_or_else(|| format!("{}:{}@{}", p.kind, p.name, p.version));
    let mut h = Sha256::new();
    h.update(base.as_bytes());
    for l in &p.locations {
        h.update(l.path.as_bytes());
        h.update([0]);
    }
    let hex = format!("{:x}", h.finalize());
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}package-id={}", &hex[..16])
}

/// Reads an SBOM document back (`sbom:FILE` inputs): CycloneDX JSON (ours, syft's, any 1.x)
/// or ARMORRED's native JSON, told apart by `bomFormat`.
pub fn read_document(bytes: &[u8], what: &str) -> Result<Sbom, SbomError> {
    let head: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| SbomError::Read { what: what.to_string(), reason: format!("not JSON: {e}") })?;
    if head.get("bomFormat").is_some() {
        format::cyclonedx::read(bytes, what)
    } else if head.get("spdxVersion").is_some() {
        Err(SbomError::Read {
            what: what.to_string(),
            reason: "SPDX documents are written, not read: give a CycloneDX SBOM".into(),
        })
    } else {
        format::json::read(bytes, what)
    }
}

/// Dependencies as (package id → ids it depends on), resolved by name within an ecosystem.
pub fn dependency_graph(sbom: &Sbom) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_name: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for p in &sbom.packages {
        by_name.entry((p.kind.as_str(), p.name.as_str())).or_insert(p.id.as_str());
    }
    let mut graph = BTreeMap::new();
    for p in &sbom.packages {
        let deps: BTreeSet<String> = p
            .depends_on
            .iter()
            .filter_map(|d| by_name.get(&(p.kind.as_str(), d.as_str())))
            .filter(|id| **id != p.id)
            .map(|id| id.to_string())
            .collect();
        graph.insert(p.id.clone(), deps);
    }
    graph
}
