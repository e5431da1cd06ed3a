//! `recipe.toml`: what to build from source, pinned. One pure parser over a reader.
//!
//! A recipe names the package (name, version, CPE), its sources (each pinned by sha256, with an
//! optional upstream OpenPGP signature checked against keys kept next to the recipe), the build
//! root, the configure options of each tier and the shell steps (configure, make, install into
//! `$DESTDIR`). See `docs/recipes.md`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SourceBuildError;
use crate::tier::Tier;

/// A parsed, validated recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// What is built.
    pub package: Package,
    /// The sources, unpacked in order into the source directory.
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    /// The build root the steps run in.
    #[serde(rename = "build-root")]
    pub build_root: BuildRootSpec,
    /// Per-tier settings, keyed by tier.
    pub tiers: BTreeMap<Tier, TierSpec>,
    /// Shell steps, run in order in the source directory.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    /// Optional parts of the program that configure options build or leave out, with the
    /// vulnerabilities that live only in them (the evidence for "compiled out").
    #[serde(default, rename = "feature")]
    pub features: Vec<Feature>,
    /// Vulnerabilities the tiers built from this recipe may carry although another tier or the
    /// upstream reference has them fixed (e.g. a fix whose source is not in the mirror's pool),
    /// each with its reason ([`crate::report::behind`]).
    #[serde(default, rename = "accept")]
    pub accepts: Vec<crate::spec::Accept>,
    /// Properties the build gate accepts as failing on some installed files, each with its
    /// reason (`[[allow]]`, as the image's `[[checksec.allow]]`; paths `/`-rooted in DESTDIR).
    // Not serialized when empty: the source-build cache key (a hash of the recipe) of a recipe
    // without any stays what it was.
    #[serde(default, rename = "allow", skip_serializing_if = "Vec::is_empty")]
    pub allows: Vec<crate::spec::AllowSpec>,
}

/// The package a recipe builds: it names every ELF file's `.note.package`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Package name (`nginx`).
    pub name: String,
    /// Upstream version (`1.26.3`).
    pub version: String,
    /// CPE 2.3 name of the product, for scanners.
    pub cpe: String,
    /// Package URL; `pkg:generic/<name>@<version>` when absent.
    #[serde(default)]
    pub purl: Option<String>,
    /// SPDX license expression.
    #[serde(default)]
    pub license: Option<String>,
    /// Fixed time for the build (`SOURCE_DATE_EPOCH`), seconds since 1970.
    #[serde(rename = "source-date-epoch")]
    pub source_date_epoch: u64,
    /// The Debian source package the build is (upstream tarball plus Debian's patch series):
    /// named in the package note so that scanners apply the Debian security tracker's data for
    /// exactly that source version. Checked against the recipe's sources.
    #[serde(default, rename = "debian-source")]
    pub debian_source: Option<DebianSource>,
}

/// A Debian source package and version (`nginx` `1.26.3-3+deb13u7`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianSource {
    /// Source package name.
    pub package: String,
    /// Source version, with the Debian revision.
    pub version: String,
}

impl DebianSource {
    /// The packaging file this source version implies (`nginx_1.26.3-3+deb13u7.debian.tar`),
    /// without the compression suffix; the epoch is not part of Debian's file names.
    fn debian_tar_stem(&self) -> String {
        let v = self.version.split_once(':').map_or(self.version.as_str(), |(_, v)| v);
        format!("{}_{v}.debian.tar", self.package)
    }
}

impl Package {
    /// The purl, given or derived.
    pub fn purl(&self) -> String {
        self.purl.clone().unwrap_or_else(|| format!("pkg:generic/{}@{}", self.name, self.version))
    }
}

/// One source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The file name (as stored in the cache and in the Debian pool).
    pub file: String,
    /// Expected sha256, lowercase hex.
    pub sha256: String,
    /// Where the file comes from.
    pub from: Origin,
    /// Unpack this tar.gz archive into the source directory, dropping this many leading path
    /// components. None: copy the file into the source directory as is.
    #[serde(default, rename = "strip-components")]
    pub strip_components: Option<usize>,
    /// An upstream OpenPGP signature over the file.
    #[serde(default)]
    pub signature: Option<SignatureSpec>,
}

/// Where a source file is fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Origin {
    /// A file listed in a Debian source package: its pool path is resolved from
    /// `dists/<suite>/<component>/source/Sources.xz` of the configured mirror.
    Debian {
        /// The suite (`trixie`).
        suite: String,
        /// The component (`main`).
        #[serde(default = "default_component")]
        component: String,
        /// The source package (`nginx`).
        package: String,
    },
    /// A file next to the recipe (relative path without `..`).
    Path {
        /// The path relative to the recipe directory.
        path: PathBuf,
    },
}

fn default_component() -> String {
    "main".into()
}

/// An upstream detached signature and the key expected to have made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSpec {
    /// The armored signature file, fetched from the same origin as the source.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
    /// Armored public keys, relative to the recipe directory.
    pub keyring: PathBuf,
    /// Fingerprint (hex, v4) of the key that must have signed.
    pub signer: String,
}

/// The build root: a directory holding a toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRootSpec {
    /// The C compiler command inside the root (`clang-19`).
    pub cc: String,
    /// Debian packages the root must hold (compiler, linker, make, -dev libraries). The host
    /// root reports their installed versions; a Debian-resolved root locks them by hash.
    pub packages: Vec<String>,
}

/// Per-tier settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    /// Options passed to configure (as `$CONFIGURE_OPTIONS`, split at spaces).
    #[serde(default)]
    pub configure: Vec<String>,
    /// Extra compiler flags after the tier's own.
    #[serde(default)]
    pub cflags: Vec<String>,
    /// Extra linker flags after the tier's own.
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Locked tier only: built without CFI (no `-flto -fvisibility=hidden -fsanitize=cfi`),
    /// and why. The gate's `cfi` check then passes as "waived: <reason>", in the build record
    /// for everyone to read; every other property is still checked.
    #[serde(default, rename = "without-cfi", skip_serializing_if = "Option::is_none")]
    pub without_cfi: Option<String>,
}

/// A shell step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A short name (`configure`), used for the log file.
    pub name: String,
    /// The `sh` script, run with `set -e`.
    pub run: String,
}

/// Parses and validates a recipe. `origin` names the input in errors.
pub fn parse(mut reader: impl Read, origin: &Path) -> Result<Recipe, SourceBuildError> {
    let bad = |reason: String| SourceBuildError::Recipe { path: origin.to_path_buf(), reason };
    let mut text = String::new();
    reader.read_to_string(&mut text).map_err(|e| bad(format!("cannot read: {e}")))?;
    let recipe: Recipe = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
    validate(&recipe).map_err(bad)?;
    Ok(recipe)
}

/// Reads `dir/recipe.toml`.
pub fn load(dir: &Path) -> Result<Recipe, SourceBuildError> {
    let path = dir.join("recipe.toml");
    let file = std::fs::File::open(&path)
        .map_err(|source| SourceBuildError::Io { what: format!("cannot open recipe {}", path.display()), source })?;
    parse(file, &path)
}

fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'~'))
}

fn relative_inside(p: &Path) -> bool {
    !p.as_os_str().is_empty() && p.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn validate(r: &Recipe) -> Result<(), String> {
    if !plain_name(&r.package.name) || !plain_name(&r.package.version) {
        return Err("package name and version must be plain names".into());
    }
    if !r.package.cpe.starts_with("cpe:2.3:") {
        return Err(format!("package.cpe {:?} is not a CPE 2.3 name", r.package.cpe));
    }
    if r.sources.is_empty() {
        return Err("no [[source]]".into());
    }
    crate::spec::Accept::validate_list(&r.accepts, "accept").map_err(|(at, why)| format!("{at}: {why}"))?;
    // Every property of the build gate but the package note, which no reason waives.
    if let Some(i) = r.allows.iter().position(|a| a.properties.iter().any(|p| p == "package-note")) {
        return Err(format!(
            "allow[{i}].properties: package-note cannot be allowed (every ELF file names the package it was built from, for the SBOM)"
        ));
    }
    let allowable: Vec<&str> = super::verify::PROPERTIES.iter().copied().filter(|p| *p != "package-note").collect();
    crate::spec::AllowSpec::validate_list(&r.allows, "allow", &allowable)
        .map_err(|(at, why)| format!("{at}: {why}"))?;
    for s in &r.sources {
        if !plain_name(&s.file) {
            return Err(format!("source file {:?} is not a plain file name", s.file));
        }
        if !crate::fsutil::is_sha256_hex(&s.sha256) {
            return Err(format!("source {}: sha256 must be 64 lowercase hex digits", s.file));
        }
        if let Origin::Path { path } = &s.from {
            if !relative_inside(path) {
                return Err(format!("source {}: path {} must be relative, without `..`", s.file, path.display()));
            }
        }
        if let Some(sig) = &s.signature {
            if !plain_name(&sig.file) || !crate::fsutil::is_sha256_hex(&sig.sha256) {
                return Err(format!("source {}: signature needs a plain file name and a sha256", s.file));
            }
            if !relative_inside(&sig.keyring) {
                return Err(format!("source {}: keyring must be a relative path inside the recipe directory", s.file));
            }
            if sig.signer.len() != 40 || !sig.signer.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("source {}: signer must be a 40-digit v4 fingerprint", s.file));
            }
        }
    }
    if let Some(d) = &r.package.debian_source {
        let stem = d.debian_tar_stem();
        let listed = r.sources.iter().any(|s| {
            matches!(&s.from, Origin::Debian { package, .. } if *package == d.package)
                && s.file.strip_prefix(&stem).is_some_and(|ext| matches!(ext, ".xz" | ".gz" | ".bz2"))
        });
        if !listed {
            return Err(format!(
                "package.debian-source {} {}: no [[source]] from Debian's {} package is {stem}.xz (.gz, .bz2)",
                d.package, d.version, d.package
            ));
        }
    }
    if r.build_root.cc.is_empty() || r.build_root.cc.contains(['/', ' ']) {
        return Err("build-root.cc must be a command name".into());
    }
    if r.tiers.is_empty() {
        return Err("no [tiers.hardened] or [tiers.locked]".into());
    }
    for (tier, spec) in &r.tiers {
        match &spec.without_cfi {
            Some(_) if *tier != Tier::Locked => {
                return Err(format!("tiers.{tier}.without-cfi: only the locked tier is built with CFI"));
            }
            Some(why) if why.trim().len() < 10 => {
                return Err(format!("tiers.{tier}.without-cfi: say why CFI cannot hold (a reason, not {why:?})"));
            }
            _ => {}
        }
    }
    if r.steps.is_empty() {
        return Err("no [[step]]".into());
    }
    for s in &r.steps {
        if !plain_name(&s.name) {
            return Err(format!("step name {:?} is not a plain name", s.name));
        }
    }
    r.features.iter().try_for_each(Feature::validate)
}

/// An optional part of the program (an nginx module), the configure options that build it or
/// leave it out, and the vulnerabilities that live only in it. See `docs/recipes.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// The name the program gives it, as a string in the built binary (nginx's
    /// `ngx_module_names[]`: `ngx_mail_smtp_module`); its absence is checked in the binary.
    pub name: String,
    /// The option that builds it (`--with-mail`); without it, the feature is not built.
    #[serde(default, rename = "enabled-by")]
    pub enabled_by: Option<String>,
    /// The option that leaves it out (`--without-http_ssi_module`).
    #[serde(default, rename = "disabled-by")]
    pub disabled_by: Option<String>,
    /// Vulnerability IDs whose code is only in this feature; empty for a module a tier leaves
    /// out that has none of its own (listed so that the recipe names everything left out).
    #[serde(default)]
    pub vulnerabilities: Vec<String>,
    /// Where that is stated (the vendor's advisory).
    #[serde(default)]
    pub reference: Option<String>,
}

impl Feature {
    /// Whether configure `options` build it: the enabling option is given (alone or as
    /// `--with-x=dynamic`) when there is one, and the disabling option is not.
    pub fn built(&self, options: &[String]) -> bool {
        let given = |o: &str| options.iter().any(|x| x == o || x.strip_prefix(o).is_some_and(|r| r.starts_with('=')));
        self.enabled_by.as_deref().is_none_or(given) && !self.disabled_by.as_deref().is_some_and(given)
    }

    fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty() && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(format!("feature {:?}: name must be letters, digits and `_`", self.name));
        }
        let options: Vec<&str> = self.enabled_by.iter().chain(&self.disabled_by).map(String::as_str).collect();
        if options.is_empty() {
            return Err(format!("feature {}: needs enabled-by or disabled-by", self.name));
        }
        if let Some(o) = options.iter().find(|o| !o.starts_with("--") || o.contains([' ', '='])) {
            return Err(format!("feature {}: {o:?} is not a configure option (--name)", self.name));
        }
        let id_ok = |v: &String| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !self.vulnerabilities.iter().all(id_ok) {
            return Err(format!("feature {}: vulnerabilities must be a list of IDs (CVE-…, GHSA-…)", self.name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[package]
name = "hello"
version = "1.0"
cpe = "cpe:2.3:a:example:hello:1.0:*:*:*:*:*:*:*"
source-date-epoch = 1700000000

[[source]]
file = "hello.c"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
from = { kind = "path", path = "hello.c" }

[build-root]
cc = "clang-14"
packages = ["clang-14"]

[tiers.locked]
configure = ["--x"]

[[step]]
name = "build"
run = "true"
"#;

    const ALLOW: &str = r#"
[[allow]]
path = "/usr/lib/x/*.so"
properties = ["canary"]
reason = "small modules"
"#;

    const FEATURE: &str = r#"
[[feature]]
name = "ngx_mail_smtp_module"
enabled-by = "--with-mail"
disabled-by = "--without-mail_smtp_module"
vulnerabilities = ["CVE-2025-53859"]
"#;

    #[test]
    fn feature_built_by_the_options() {
        let f: Feature = toml::from_str(&FEATURE.replace("[[feature]]", "")).expect("feature");
        let opts = |o: &[&str]| o.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(!f.built(&opts(&[])), "not enabled");
        assert!(f.built(&opts(&["--with-mail"])));
        assert!(f.built(&opts(&["--with-mail=dynamic"])), "a dynamic module is built too");
        assert!(!f.built(&opts(&["--with-mail", "--without-mail_smtp_module"])), "enabled, then left out");
        assert!(!f.built(&opts(&["--with-mailx"])), "a longer option is another option");
        let ssi = Feature {
            name: "ngx_http_ssi_filter_module".into(),
            enabled_by: None,
            disabled_by: Some("--without-http_ssi_module".into()),
            vulnerabilities: vec!["CVE-2026-56434".into()],
            reference: None,
        };
        assert!(ssi.built(&opts(&[])), "default on");
        assert!(!ssi.built(&opts(&["--without-http_ssi_module"])));
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("good", GOOD, None),
            ("unknown key", &GOOD.replace("[[step]]", "bogus = 1\n[[step]]"), Some("unknown field")),
            ("short sha", &GOOD.replace(&"0".repeat(64), "abc"), Some("sha256 must be")),
            ("dotdot path", &GOOD.replace("path = \"hello.c\"", "path = \"../x\""), Some("without `..`")),
            ("bad tier", &GOOD.replace("tiers.locked", "tiers.extreme"), Some("unknown variant")),
            ("bad cpe", &GOOD.replace("cpe:2.3:a", "cpe:/a"), Some("CPE 2.3")),
            ("cc path", &GOOD.replace("cc = \"clang-14\"", "cc = \"/usr/bin/cc\""), Some("command name")),
            ("not toml", "[[[", Some("")),
            ("feature", &format!("{GOOD}{FEATURE}"), None),
            (
                "feature without option",
                &format!("{GOOD}{}", FEATURE.replace("enabled-by", "#").replace("disabled-by", "#")),
                Some("needs enabled-by"),
            ),
            (
                "feature bad option",
                &format!("{GOOD}{}", FEATURE.replace("\"--with-mail\"", "\"mail\"")),
                Some("not a configure option"),
            ),
            ("feature no ids", &format!("{GOOD}{}", FEATURE.replace("\"CVE-2025-53859\"", "")), None),
            (
                "feature empty id",
                &format!("{GOOD}{}", FEATURE.replace("\"CVE-2025-53859\"", "\"\"")),
                Some("list of IDs"),
            ),
            (
                "feature bad id",
                &format!("{GOOD}{}", FEATURE.replace("\"CVE-2025-53859\"", "\"CVE 2025\"")),
                Some("list of IDs"),
            ),
            (
                "feature bad name",
                &format!("{GOOD}{}", FEATURE.replace("ngx_mail_smtp_module", "ngx mail")),
                Some("name must be"),
            ),
            ("feature unknown key", &format!("{GOOD}{FEATURE}bogus = 1\n"), Some("unknown field")),
            ("allow", &format!("{GOOD}{ALLOW}"), None),
            (
                "allow relative",
                &format!("{GOOD}{}", ALLOW.replace("\"/usr/lib", "\"usr/lib")),
                Some("must start with /"),
            ),
            (
                "allow no reason",
                &format!("{GOOD}{}", ALLOW.replace("small modules", " ")),
                Some("a reason is required"),
            ),
            (
                "allow the package note",
                &format!("{GOOD}{}", ALLOW.replace("\"canary\"", "\"package-note\"")),
                Some("package-note cannot be allowed"),
            ),
            (
                "allow unknown",
                &format!("{GOOD}{}", ALLOW.replace("\"canary\"", "\"speed\"")),
                Some("unknown property \"speed\""),
            ),
            ("without cfi", &GOOD.replace("configure = [\"--x\"]", "without-cfi = \"the modules it dlopens\""), None),
            (
                "without cfi, no reason",
                &GOOD.replace("configure = [\"--x\"]", "without-cfi = \"no\""),
                Some("say why CFI cannot hold"),
            ),
            (
                "hardened without cfi",
                &GOOD
                    .replace("configure = [\"--x\"]", "without-cfi = \"the modules it dlopens\"")
                    .replace("tiers.locked", "tiers.hardened"),
                Some("only the locked tier"),
            ),
            (
                "debian source not among the sources",
                &GOOD.replace(
                    "source-date-epoch = 1700000000",
                    "source-date-epoch = 1700000000\ndebian-source = { package = \"hello\", version = \"1.0-1\" }",
                ),
                Some("no [[source]] from Debian's hello package is hello_1.0-1.debian.tar.xz"),
            ),
        ];
        for (name, text, want) in cases {
            let got = parse(text.as_bytes(), Path::new("r.toml"));
            match (want, got) {
                (None, Ok(r)) => assert_eq!(r.package.purl(), "pkg:generic/hello@1.0"),
                (Some(w), Err(e)) => {
                    let msg = format!("{e}");
                    assert!(msg.contains("r.toml"), "{name}: {msg}");
                    assert!(msg.contains(w), "{name}: {msg}");
                }
                (w, g) => panic!("{name}: want {w:?}, got {g:?}"),
            }
        }
    }

    /// The package note's Debian version is what the tracker compares with: Debian's redis has
    /// the epoch 5, and without it every redis fix since 2021 would match (`8.0.2-3` < `5:...`).
    #[test]
    fn the_redis_recipe_names_debians_version_with_its_epoch() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/redis");
        let r = load(&dir).expect("images/redis/recipe.toml");
        let debian = r.package.debian_source.as_ref().expect("redis is Debian's source package");
        assert!(debian.version.starts_with("5:8.0.2-3+deb13u"), "{debian:?}");
        assert!(r.accepts.iter().all(|a| a.reason.contains("deb13u3")), "{:?}", r.accepts);
    }

    #[test]
    fn the_nginx_recipe_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx");
        let r = load(&dir).expect("images/nginx/recipe.toml");
        assert_eq!(r.package.version, "1.26.3");
        let debian = r.package.debian_source.as_ref().expect("nginx is Debian's source package");
        assert_eq!((debian.package.as_str(), debian.version.as_str()), ("nginx", "1.26.3-3+deb13u9"));
        assert!(r.accepts.len() >= 10 && r.accepts.iter().all(|a| a.reason.contains("deb13u1")), "{:?}", r.accepts);
        assert!(r.tiers.contains_key(&Tier::Hardened) && r.tiers.contains_key(&Tier::Locked));
        // The locked tier leaves mail and SSI out and keeps rewrite; the hardened tier builds mail.
        let built = |tier: Tier, name: &str| {
            r.features.iter().find(|f| f.name == name).expect(name).built(&r.tiers[&tier].configure)
        };
        assert!(!built(Tier::Locked, "ngx_mail_smtp_module") && built(Tier::Hardened, "ngx_mail_smtp_module"));
        assert!(
            !built(Tier::Locked, "ngx_http_ssi_filter_module") && built(Tier::Hardened, "ngx_http_ssi_filter_module")
        );
        assert!(built(Tier::Locked, "ngx_http_rewrite_module"));
        assert!(!built(Tier::Hardened, "ngx_http_mp4_module"));
    }
}
