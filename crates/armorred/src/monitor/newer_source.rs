//! A newer pinned source for a tier compiled from source: the recipe's Debian source package
//! (`[package] debian-source`) at a newer Debian revision of the same upstream release, listed
//! in the `Sources` index of one of the definition's suites, its `.debian.tar.xz` served by the
//! mirror's pool. That revision is a fix for the recipe's package when it is at least a fixed
//! version of an `affected` finding; the recipe is then re-pinned (the revision, the file and
//! its sha256 from `Sources`) and the tier rebuilt from it.
//!
//! The mirror's pool lacks some of the newest security sources: a revision listed but not served
//! is never pinned; it is reported (`unavailable`), with what it would fix.

use std::io::BufRead;

use crate::build::compile::recipe::{Origin, Recipe};

/// One revision of a source package in a `Sources` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The suite whose index lists it.
    pub suite: String,
    /// `1.26.3-3+deb13u11`.
    pub version: String,
    /// Its pool directory (`pool/updates/main/n/nginx`).
    pub directory: String,
    /// Every file it lists: name and sha256.
    pub files: Vec<(String, String)>,
}

/// Every revision of `package` that `reader` (a decompressed `Sources` index of `suite`) lists.
pub fn revisions(reader: impl BufRead, suite: &str, package: &str) -> Result<Vec<Revision>, String> {
    let mut out = Vec::new();
    let mut stanza: Vec<String> = Vec::new();
    let mut lines = reader.lines();
    loop {
        let line = lines.next().transpose().map_err(|e| e.to_string())?;
        let end = line.as_deref().is_none_or(str::is_empty);
        if let Some(l) = line.as_ref().filter(|l| !l.is_empty()) {
            stanza.push(l.clone());
        }
        if end && !stanza.is_empty() {
            let field = |k: &str| {
                stanza.iter().find_map(|l| l.strip_prefix(k)?.strip_prefix(':').map(|v| v.trim().to_string()))
            };
            if field("Package").as_deref() == Some(package) {
                let mut files = Vec::new();
                let mut in_sha = false;
                for l in &stanza {
                    if l.starts_with("Checksums-Sha256:") {
                        in_sha = true;
                    } else if !l.starts_with(' ') {
                        in_sha = false;
                    } else if in_sha {
                        if let [sha, _size, name] = l.split_whitespace().collect::<Vec<_>>()[..] {
                            files.push((name.to_string(), sha.to_string()));
                        }
                    }
                }
                if let (Some(version), Some(directory)) = (field("Version"), field("Directory")) {
                    out.push(Revision { suite: suite.to_string(), version, directory, files });
                }
            }
            stanza.clear();
        }
        if line.is_none() {
            return Ok(out);
        }
    }
}

/// What the recipe pins of its Debian source package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The source package (`nginx`).
    pub package: String,
    /// The pinned revision (`1.26.3-3+deb13u9`).
    pub version: String,
    /// The pinned `<package>_<version>.debian.tar.xz` and its sha256.
    pub debian_tar: (String, String),
    /// The other pinned files of the package (the upstream tarball, its signature): name, sha256.
    pub others: Vec<(String, String)>,
}

impl Pin {
    /// The pin of a recipe that builds a Debian source package with its `.debian.tar.xz`.
    pub fn of(recipe: &Recipe) -> Option<Self> {
        let ds = recipe.package.debian_source.as_ref()?;
        let tar = format!("{}_{}.debian.tar.xz", ds.package, ds.version.split_once(':').map_or(&*ds.version, |v| v.1));
        let mut debian_tar = None;
        let mut others = Vec::new();
        for s in &recipe.sources {
            if !matches!(&s.from, Origin::Debian { package, .. } if *package == ds.package) {
                continue;
            }
            if s.file == tar {
                debian_tar = Some((s.file.clone(), s.sha256.clone()));
            } else {
                others.push((s.file.clone(), s.sha256.clone()));
            }
            if let Some(sig) = &s.signature {
                others.push((sig.file.clone(), sig.sha256.clone()));
            }
        }
        Some(Self { package: ds.package.clone(), version: ds.version.clone(), debian_tar: debian_tar?, others })
    }
}

fn upstream(version: &str) -> &str {
    version.rsplit_once('-').map_or(version, |(u, _)| u)
}

fn newer(a: &str, b: &str) -> bool {
    crate::version::compare(crate::version::Scheme::Dpkg, a, b).is_ok_and(|o| o == std::cmp::Ordering::Greater)
}

/// The revisions that may replace the pin, newest first: newer, of the same upstream release,
/// listing the pin's other files with the same sha256 (the upstream tarball is not re-pinned)
/// and a `.debian.tar.xz` of their own.
pub fn candidates(pin: &Pin, listed: &[Revision]) -> Vec<(Revision, (String, String))> {
    let mut out: Vec<(Revision, (String, String))> = listed
        .iter()
        .filter(|r| newer(&r.version, &pin.version) && upstream(&r.version) == upstream(&pin.version))
        .filter(|r| pin.others.iter().all(|(f, sha)| r.files.iter().all(|(g, s)| g != f || s == sha)))
        .filter_map(|r| {
            let plain = r.version.split_once(':').map_or(&*r.version, |v| v.1);
            let tar = format!("{}_{plain}.debian.tar.xz", pin.package);
            let (f, s) = r.files.iter().find(|(f, _)| *f == tar)?;
            Some((r.clone(), (f.clone(), s.clone())))
        })
        .collect();
    out.sort_by(|a, b| {
        crate::version::compare(crate::version::Scheme::Dpkg, &b.0.version, &a.0.version)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out.dedup_by(|a, b| a.0.version == b.0.version);
    out
}

/// The recipe's text with `pin` moved to `to` (its version and `.debian.tar.xz` file and
/// sha256), everything else as written (comments included). Each replaced string must occur
/// exactly where the pin is: otherwise an error, and nothing is rewritten.
pub fn repin(text: &str, pin: &Pin, to: &Revision, tar: &(String, String)) -> Result<String, String> {
    let mut out = text.to_string();
    for (old, new, what) in [
        (format!("\"{}\"", pin.debian_tar.0), format!("\"{}\"", tar.0), "the .debian.tar.xz file name"),
        (format!("\"{}\"", pin.debian_tar.1), format!("\"{}\"", tar.1), "its sha256"),
        (format!("version = \"{}\"", pin.version), format!("version = \"{}\"", to.version), "debian-source's version"),
    ] {
        match out.matches(&old).count() {
            1 => out = out.replacen(&old, &new, 1),
            n => return Err(format!("{what} {old} occurs {n} times in the recipe, not once")),
        }
    }
    Ok(out)
}

/// A re-pinned recipe, ready to be written over the definition's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repinned {
    /// The recipe file of the tier.
    pub(crate) path: std::path::PathBuf,
    /// Its new text.
    pub(crate) text: String,
    /// The new revision, and the suite that lists it.
    pub(crate) version: String,
    pub(crate) suite: String,
}

/// What a newer source brings to one image's tier.
#[derive(Debug, Clone, Default)]
pub(crate) struct Found {
    /// The recipe moved to the newest served revision that fixes something.
    pub(crate) repinned: Option<Repinned>,
    /// The fixes of that revision.
    pub(crate) fixes: Vec<super::notes::Fix>,
    /// Newer revisions that would fix something but that the pool does not serve: why none was
    /// pinned.
    pub(crate) unavailable: Option<String>,
}

/// The recipe file of a tier compiled from source.
pub(crate) fn recipe_path(definition: &std::path::Path, tier: crate::tier::Tier) -> Option<std::path::PathBuf> {
    let spec = crate::spec::ImageSpec::load(definition).ok()?;
    let t = spec.tier(tier).ok()?;
    t.source_build.is_some().then(|| t.recipe_dir(definition).join("recipe.toml"))
}

/// The revisions already read in a run, by index URL and package: one download of each index.
pub(crate) type Listed = std::collections::BTreeMap<(String, String), Vec<Revision>>;

/// Largest decompressed `Sources` index read.
const MAX_SOURCES: u64 = 512 << 20;

/// Looks for a newer revision of the tier's Debian source package in the definition's suites
/// (`affected`: the image's affected findings on the recipe's package, each with its fixed
/// versions, installed version and first-seen time).
pub(crate) fn look(
    definition: &std::path::Path,
    tier: crate::tier::Tier,
    mirror: &crate::build::debian::Mirror,
    affected: &[super::state::FindingRow],
    listed_before: &mut Listed,
) -> Result<Found, String> {
    let spec = crate::spec::ImageSpec::load(definition).map_err(|e| crate::error::chain(&e))?;
    let Ok(t) = spec.tier(tier) else { return Ok(Found::default()) };
    if t.source_build.is_none() {
        return Ok(Found::default());
    }
    let dir = t.recipe_dir(definition);
    let recipe = crate::build::compile::recipe::load(&dir).map_err(|e| crate::error::chain(&e))?;
    let Some(pin) = Pin::of(&recipe) else { return Ok(Found::default()) };
    let mine: Vec<&super::state::FindingRow> =
        affected.iter().filter(|f| f.package == recipe.package.name || f.package == pin.package).collect();
    if mine.is_empty() {
        return Ok(Found::default());
    }
    let component = match &recipe.sources.iter().find_map(|s| match &s.from {
        Origin::Debian { component, package, .. } if *package == pin.package => Some(component.clone()),
        _ => None,
    }) {
        Some(c) => c.clone(),
        None => return Ok(Found::default()),
    };
    let mut listed = Vec::new();
    for suite in &spec.debian.suites {
        let base = mirror.base_for(suite);
        let url = format!("{base}/dists/{suite}/{component}/source/Sources.xz");
        if let Some(known) = listed_before.get(&(url.clone(), pin.package.clone())) {
            listed.extend(known.iter().cloned());
            continue;
        }
        let resp = crate::build::debian::mirror::client().get(&url).call();
        let body = match resp {
            Ok(r) => r.into_reader(),
            // A suite without sources (an -updates suite may have none): nothing listed there.
            Err(ureq::Error::Status(404, _)) => {
                listed_before.insert((url, pin.package.clone()), Vec::new());
                continue;
            }
            Err(e) => return Err(format!("dists/{suite}/{component}/source/Sources.xz: {e}")),
        };
        let xz = std::io::Read::take(xz2::read::XzDecoder::new(std::io::Read::take(body, 1 << 30)), MAX_SOURCES);
        let found = revisions(std::io::BufReader::new(xz), suite, &pin.package)
            .map_err(|e| format!("dists/{suite}/{component}/source/Sources.xz: {e}"))?;
        listed.extend(found.iter().cloned());
        listed_before.insert((url, pin.package.clone()), found);
    }
    let fixes_of = |version: &str| -> Vec<super::notes::Fix> {
        mine.iter()
            .filter(|f| {
                let fixed: Vec<&str> = f.fixed_in.split(',').map(str::trim).filter(|v| !v.is_empty()).collect();
                !fixed.is_empty()
                    && fixed.iter().any(|v| !newer(v, version))
                    && fixed.iter().all(|v| newer(v, &pin.version))
            })
            .map(|f| super::notes::Fix {
                vulnerability: f.vulnerability.clone(),
                package: f.package.clone(),
                severity: f.severity.clone(),
                installed: pin.version.clone(),
                fixed_in: f.fixed_in.clone(),
                candidate: version.to_string(),
                first_seen: f.first_seen.clone(),
            })
            .collect()
    };
    let mut missing = Vec::new();
    for (rev, tar) in candidates(&pin, &listed) {
        let fixes = fixes_of(&rev.version);
        if fixes.is_empty() {
            continue;
        }
        let url = format!("{}/{}/{}", mirror.base_for(&rev.suite), rev.directory, tar.0);
        match crate::build::debian::mirror::client().request("HEAD", &url).call() {
            Ok(_) => {
                let path = dir.join("recipe.toml");
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let text = repin(&text, &pin, &rev, &tar)?;
                return Ok(Found {
                    repinned: Some(Repinned { path, text, version: rev.version.clone(), suite: rev.suite.clone() }),
                    fixes,
                    unavailable: None,
                });
            }
            Err(ureq::Error::Status(code, _)) => {
                let ids: std::collections::BTreeSet<&str> = fixes.iter().map(|f| f.vulnerability.as_str()).collect();
                missing.push(format!(
                    "{} {} ({}, fixes {}): the pool answers {code} for {}",
                    pin.package,
                    rev.version,
                    rev.suite,
                    ids.into_iter().collect::<Vec<_>>().join(","),
                    tar.0
                ));
            }
            Err(e) => return Err(format!("{}: {e}", tar.0)),
        }
    }
    let unavailable = (!missing.is_empty()).then(|| {
        format!(
            "not rebuilt: {} is pinned at {}; newer revisions are listed but not served: {}",
            pin.package,
            pin.version,
            missing.join("; ")
        )
    });
    Ok(Found { repinned: None, fixes: Vec::new(), unavailable })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SOURCES: &str = "\
Package: nginx
Version: 1.26.3-3+deb13u10
Directory: pool/main/n/nginx
Checksums-Sha256:
 aaaa 10 nginx_1.26.3-3+deb13u10.dsc
 69ee 12 nginx_1.26.3.orig.tar.gz
 faa3 1 nginx_1.26.3.orig.tar.gz.asc
 bbbb 11 nginx_1.26.3-3+deb13u10.debian.tar.xz

Package: nginx
Version: 1.28.0-1
Directory: pool/main/n/nginx
Checksums-Sha256:
 cccc 12 nginx_1.28.0.orig.tar.gz
 dddd 11 nginx_1.28.0-1.debian.tar.xz

Package: nginx
Version: 1.26.3-3+deb13u12
Directory: pool/main/n/nginx
Checksums-Sha256:
 ffff 12 nginx_1.26.3.orig.tar.gz
 eeee 11 nginx_1.26.3-3+deb13u12.debian.tar.xz

Package: other
Version: 9
Directory: pool/main/o/other
";

    fn pin() -> Pin {
        Pin {
            package: "nginx".into(),
            version: "1.26.3-3+deb13u9".into(),
            debian_tar: ("nginx_1.26.3-3+deb13u9.debian.tar.xz".into(), "9999".into()),
            others: vec![
                ("nginx_1.26.3.orig.tar.gz".into(), "69ee".into()),
                ("nginx_1.26.3.orig.tar.gz.asc".into(), "faa3".into()),
            ],
        }
    }

    #[test]
    fn revisions_and_candidates() {
        let listed = revisions(SOURCES.as_bytes(), "trixie", "nginx").unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].files.len(), 4);
        // deb13u10 only: 1.28.0 is another upstream release, deb13u12 another upstream tarball.
        let c = candidates(&pin(), &listed);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0.version, "1.26.3-3+deb13u10");
        assert_eq!(c[0].1, ("nginx_1.26.3-3+deb13u10.debian.tar.xz".to_string(), "bbbb".to_string()));
        // Nothing newer than itself.
        let mut at = pin();
        at.version = "1.26.3-3+deb13u10".into();
        assert!(candidates(&at, &listed).is_empty());
    }

    #[test]
    fn repin_moves_the_three_strings_and_nothing_else() {
        let text = "# deb13u9 is the newest revision the pool serves\n[package]\nname = \"nginx\"\nversion = \"1.26.3\"\ndebian-source = { package = \"nginx\", version = \"1.26.3-3+deb13u9\" }\n[[source]]\nfile = \"nginx_1.26.3-3+deb13u9.debian.tar.xz\"\nsha256 = \"9999\"\n";
        let listed = revisions(SOURCES.as_bytes(), "trixie", "nginx").unwrap();
        let (to, tar) = candidates(&pin(), &listed).remove(0);
        let new = repin(text, &pin(), &to, &tar).unwrap();
        assert!(new.contains("version = \"1.26.3-3+deb13u10\" }"), "{new}");
        assert!(new.contains("file = \"nginx_1.26.3-3+deb13u10.debian.tar.xz\"\nsha256 = \"bbbb\""), "{new}");
        assert!(new.contains("version = \"1.26.3\"\n") && new.starts_with("# deb13u9 is"), "{new}");
        // A pin that is not where the recipe says: refused.
        let twice = format!("{text}# sha256 = \"9999\"\n");
        assert!(repin(&twice, &pin(), &to, &tar).unwrap_err().contains("occurs 2 times"));
    }

    #[test]
    fn the_nginx_recipe_has_a_pin() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx");
        let recipe = crate::build::compile::recipe::load(&dir).unwrap();
        let p = Pin::of(&recipe).unwrap();
        assert_eq!(p.package, "nginx");
        assert!(p.debian_tar.0.ends_with(".debian.tar.xz") && p.debian_tar.0.contains(&p.version), "{p:?}");
        assert!(p.others.iter().any(|(f, _)| f.ends_with(".orig.tar.gz")), "{p:?}");
        let text = std::fs::read_to_string(dir.join("recipe.toml")).unwrap();
        let to = Revision {
            suite: "trixie".into(),
            version: "1.26.3-3+deb13u99".into(),
            directory: String::new(),
            files: vec![],
        };
        let new = repin(&text, &p, &to, &("nginx_1.26.3-3+deb13u99.debian.tar.xz".into(), "00".repeat(32))).unwrap();
        let again = crate::build::compile::recipe::parse(new.as_bytes(), std::path::Path::new("recipe.toml")).unwrap();
        let q = Pin::of(&again).unwrap();
        assert_eq!((q.version.as_str(), q.others), ("1.26.3-3+deb13u99", p.others));
    }

    /// On the real mirror: python's locked recipe moved back to deb13u4 finds deb13u5 (listed in
    /// trixie's Sources.xz, served by the pool) as the fix of a finding fixed there, and the
    /// re-pinned recipe pins exactly what the committed one does (file name and sha256 taken
    /// from Sources).
    #[test]
    fn an_older_python_pin_is_moved_to_the_served_revision() {
        let Ok(mirror) = crate::build::debian::Mirror::discover(None) else {
            assert!(std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"), "no Debian mirror configured");
            return;
        };
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/python");
        let tmp = tempfile::tempdir().unwrap();
        let def = tmp.path().join("python");
        for e in walkdir(&repo) {
            let rel = e.strip_prefix(&repo).unwrap();
            let to = def.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&e, &to).unwrap();
        }
        let committed = crate::build::compile::recipe::load(&def).unwrap();
        let now = Pin::of(&committed).unwrap();
        let old_text = std::fs::read_to_string(def.join("recipe.toml"))
            .unwrap()
            .replace("3.13.5-2+deb13u5\"", "3.13.5-2+deb13u4\"")
            .replace("python3.13_3.13.5-2+deb13u5.debian.tar.xz", "python3.13_3.13.5-2+deb13u4.debian.tar.xz")
            .replace(&format!("\"{}\"", now.debian_tar.1), &format!("\"{}\"", "ab".repeat(32)));
        std::fs::write(def.join("recipe.toml"), &old_text).unwrap();
        let finding = |fixed: &str| super::super::state::FindingRow {
            vulnerability: "CVE-2025-0001".into(),
            package: "python3.13".into(),
            version: "3.13.5".into(),
            severity: "Unknown".into(),
            fixed_in: fixed.into(),
            first_seen: "2026-12-01T00:00:00Z".into(),
            first_scan: "s".into(),
        };
        let mut listed = Listed::new();
        let found =
            look(&def, crate::tier::Tier::Locked, &mirror, &[finding("3.13.5-2+deb13u5")], &mut listed).unwrap();
        let r = found.repinned.unwrap_or_else(|| panic!("no re-pin: {:?}", found.unavailable));
        assert_eq!((r.version.as_str(), r.suite.as_str()), ("3.13.5-2+deb13u5", "trixie"));
        assert_eq!(found.fixes.len(), 1);
        assert_eq!(found.fixes[0].candidate, "3.13.5-2+deb13u5");
        let moved = crate::build::compile::recipe::parse(r.text.as_bytes(), &r.path).unwrap();
        assert_eq!(Pin::of(&moved).unwrap(), now);
        // A finding that only a later revision fixes: nothing to pin, nothing listed beyond.
        let none = look(&def, crate::tier::Tier::Locked, &mirror, &[finding("3.13.5-2+deb13u9")], &mut listed).unwrap();
        assert!(none.repinned.is_none() && none.unavailable.is_none(), "{none:?}");
        // The hardened tier is Debian's binaries: not a source build.
        let hardened =
            look(&def, crate::tier::Tier::Hardened, &mirror, &[finding("3.13.5-2+deb13u5")], &mut listed).unwrap();
        assert!(hardened.repinned.is_none());
    }

    fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
