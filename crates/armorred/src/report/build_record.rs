//! What a comparison reads of a source build record: the component, its tier's configure
//! options and the recipe's features ([`crate::build::compile::record::FeatureRecord`]), and
//! from them the features the hardened build compiles out, with the evidence.

use std::path::Path;

use serde_json::Value;

use super::compare::CompiledOut;
use super::image::BinaryCheck;
use super::ReportError;
use crate::build::compile::record::FeatureRecord;
use crate::build::compile::BuildRecord;
use crate::tier::Tier;

/// The record schema this reader knows (`armorred.dev/build-record/v1`); other versions of the
/// same family are read as far as they agree.
const SCHEMA_FAMILY: &str = "armorred.dev/build-record/";

/// The part of a source build record a comparison needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceBuild {
    /// The component built (`package.name`: `nginx`).
    pub component: String,
    /// Its version (`package.version`).
    pub version: String,
    /// The tier (`locked`).
    pub tier: Tier,
    /// The options passed to configure.
    pub configure_options: Vec<String>,
    /// The recipe's features, each with whether the tier built it. Empty for a record written
    /// before recipes listed features.
    pub features: Vec<FeatureRecord>,
}

/// Reads a source build record: `build-record.json` as `armorred build-source` writes it, or a
/// JSON object holding one under the key `source_build` (the record `armorred build` writes next
/// to an image).
pub fn read_build_record(path: &Path) -> Result<SourceBuild, ReportError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ReportError::BuildRecord { path: path.to_path_buf(), reason: format!("cannot read: {e}") })?;
    parse_build_record(&bytes, path)
}

/// Parses a source build record (see [`read_build_record`]); `origin` names it in errors.
pub fn parse_build_record(bytes: &[u8], origin: &Path) -> Result<SourceBuild, ReportError> {
    let bad = |reason: String| ReportError::BuildRecord { path: origin.to_path_buf(), reason };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let record = match doc.get("source_build") {
        Some(inner) if inner.is_object() => inner,
        Some(Value::Null) => {
            return Err(bad("`source_build` is null: this image's tier has no source-built component".into()))
        }
        Some(_) => return Err(bad("`source_build` is not an object".into())),
        None => &doc,
    };
    match record.get("schema").and_then(Value::as_str) {
        Some(s) if s.starts_with(SCHEMA_FAMILY) => {}
        Some(s) => return Err(bad(format!("schema {s:?} is not a source build record ({SCHEMA_FAMILY}v1)"))),
        None => {
            return Err(bad(format!(
                "not a source build record: no `schema` {SCHEMA_FAMILY}v1 at the top or under `source_build`"
            )))
        }
    }
    let text = |pointer: &str| -> Result<String, ReportError> {
        record
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("no string at {pointer}")))
    };
    let configure_options = record
        .get("configure_options")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|o| o.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| bad("`configure_options` is not a list of strings".into()))?;
    let features = match record.get("features") {
        None => Vec::new(),
        Some(f) => serde_json::from_value(f.clone()).map_err(|e| bad(format!("`features`: {e}")))?,
    };
    Ok(SourceBuild {
        component: text("/package/name")?,
        version: text("/package/version")?,
        tier: text("/tier")?.parse().map_err(|e| bad(format!("/tier: {e}")))?,
        configure_options,
        features,
    })
}

impl From<&BuildRecord> for SourceBuild {
    /// The record of a build made in this process (the pipeline's), without a JSON round trip.
    fn from(r: &BuildRecord) -> Self {
        Self {
            component: r.package.name.clone(),
            version: r.package.version.clone(),
            tier: r.tier,
            configure_options: r.configure_options.clone(),
            features: r.features.clone(),
        }
    }
}

impl SourceBuild {
    /// The features this build leaves out, each with the vulnerabilities that therefore cannot
    /// be in it and the evidence: the configure option, and, when `binaries` were checked (the
    /// hardened side is an image), that the feature's name is in none of the component's
    /// binaries.
    ///
    /// A vulnerability that a built feature also lists is not compiled out (SCGI and uWSGI share
    /// one); a feature the record calls left out but whose name is found in a binary counts as
    /// built: the image does not match the record, and the binary wins.
    pub fn compiled_out(&self, binaries: Option<&[BinaryCheck]>) -> Vec<CompiledOut> {
        let in_binary = |name: &str| binaries.is_some_and(|b| b.iter().any(|c| c.found.contains(name)));
        let built = |f: &FeatureRecord| f.built || in_binary(&f.name);
        let kept: Vec<&String> = self.features.iter().filter(|f| built(f)).flat_map(|f| &f.vulnerabilities).collect();
        let given = |o: &str| {
            self.configure_options.iter().any(|x| x == o || x.strip_prefix(o).is_some_and(|r| r.starts_with('=')))
        };
        let mut out = Vec::new();
        for f in self.features.iter().filter(|f| !built(f)) {
            let vulnerabilities: Vec<String> =
                f.vulnerabilities.iter().filter(|v| !kept.contains(v)).cloned().collect();
            if vulnerabilities.is_empty() {
                continue;
            }
            let who = format!("{} {} ({} tier)", self.component, self.version, self.tier);
            let (option, why) = match (&f.disabled_by, &f.enabled_by) {
                (Some(d), _) if given(d) => (d.clone(), format!("configure options of {who} include {d}")),
                (_, Some(e)) => (format!("no {e}"), format!("configure options of {who} do not include {e}")),
                (Some(d), None) => (d.clone(), format!("the build record of {who} says {d} leaves it out")),
                (None, None) => (String::new(), format!("the build record of {who} says it is not built")),
            };
            let mut evidence = vec![why];
            match binaries {
                Some([]) => evidence.push(format!("no {} binary in the image to check", self.component)),
                Some(checked) => evidence.extend(checked.iter().map(|c| {
                    if c.suffix_only.contains(&f.name) {
                        format!(
                            "\"{}\" is not a string of its own in {} ({}), only the end of a longer one",
                            f.name, c.path, c.sha256
                        )
                    } else {
                        format!("\"{}\" is not in {} ({})", f.name, c.path, c.sha256)
                    }
                })),
                None => {}
            }
            if let Some(r) = &f.reference {
                evidence.push(format!("advisory: {r}"));
            }
            out.push(CompiledOut {
                component: self.component.clone(),
                feature: f.name.clone(),
                option,
                vulnerabilities,
                evidence,
            });
        }
        out
    }

    /// The feature names to look for in the component's binaries.
    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn feature(name: &str, enabled_by: Option<&str>, disabled_by: Option<&str>, vulns: &[&str], built: bool) -> Value {
        let mut f = serde_json::json!({"name": name, "vulnerabilities": vulns, "built": built});
        if let Some(e) = enabled_by {
            f["enabled_by"] = e.into();
        }
        if let Some(d) = disabled_by {
            f["disabled_by"] = d.into();
        }
        f
    }

    /// A synthetic locked-tier nginx record: mail not enabled, SSI/SCGI left out, uWSGI built.
    fn record() -> Value {
        serde_json::json!({
            "schema": "armorred.dev/build-record/v1",
            "package": {"name": "nginx", "version": "1.26.3", "type": "source"},
            "tier": "locked",
            "configure_options": ["--with-http_ssl_module", "--without-http_ssi_module", "--without-http_scgi_module"],
            "features": [
                feature("ngx_mail_smtp_module", Some("--with-mail"), Some("--without-mail_smtp_module"), &["CVE-2025-53859"], false),
                feature("ngx_http_ssi_filter_module", None, Some("--without-http_ssi_module"), &["CVE-2026-56434"], false),
                feature("ngx_http_scgi_module", None, Some("--without-http_scgi_module"), &["CVE-2026-42946"], false),
                feature("ngx_http_uwsgi_module", None, Some("--without-http_uwsgi_module"), &["CVE-2026-42946"], true),
                feature("ngx_http_rewrite_module", None, Some("--without-http_rewrite_module"), &["CVE-2026-9256"], true),
            ],
        })
    }

    fn parse(v: &Value) -> Result<SourceBuild, ReportError> {
        parse_build_record(v.to_string().as_bytes(), Path::new("record.json"))
    }

    #[test]
    fn compiled_out_with_evidence() {
        let r = parse(&record()).expect("record");
        let binary = BinaryCheck {
            path: "/usr/sbin/nginx".into(),
            sha256: "sha256:abcd".into(),
            found: BTreeSet::from(["ngx_http_rewrite_module".to_string(), "ngx_http_uwsgi_module".to_string()]),
            suffix_only: BTreeSet::from(["ngx_http_ssi_filter_module".to_string()]),
        };
        let out = r.compiled_out(Some(std::slice::from_ref(&binary)));
        let got: Vec<(&str, &str, Vec<&str>)> = out
            .iter()
            .map(|c| (c.feature.as_str(), c.option.as_str(), c.vulnerabilities.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            got,
            [
                ("ngx_mail_smtp_module", "no --with-mail", vec!["CVE-2025-53859"]),
                ("ngx_http_ssi_filter_module", "--without-http_ssi_module", vec!["CVE-2026-56434"]),
            ],
            "CVE-2026-42946 stays: uWSGI, which has it too, is built"
        );
        assert_eq!(
            out[0].evidence,
            [
                "configure options of nginx 1.26.3 (locked tier) do not include --with-mail",
                "\"ngx_mail_smtp_module\" is not in /usr/sbin/nginx (sha256:abcd)",
            ]
        );
        assert!(out[1].evidence[1].contains("not a string of its own in /usr/sbin/nginx"), "{:?}", out[1].evidence);
        // Without an image, only the record speaks.
        assert_eq!(
            r.compiled_out(None)[1].evidence,
            ["configure options of nginx 1.26.3 (locked tier) include --without-http_ssi_module"]
        );
        // An image without the component's binary says so.
        assert!(r.compiled_out(Some(&[]))[0].evidence[1].contains("no nginx binary"));
        // The binary wins over the record: SSI found in it is not compiled out.
        let ssi = BinaryCheck { found: BTreeSet::from(["ngx_http_ssi_filter_module".to_string()]), ..binary };
        assert!(r.compiled_out(Some(&[ssi])).iter().all(|c| c.feature != "ngx_http_ssi_filter_module"));
    }

    #[test]
    fn nested_record_and_bad_input() {
        let nested = serde_json::json!({"image": "out/nginx", "source_build": record()});
        assert_eq!(parse(&nested).expect("nested"), parse(&record()).expect("top level"));
        let mut old = record();
        old.as_object_mut().expect("object").remove("features");
        assert!(parse(&old).expect("a record without features").features.is_empty());
        let cases = [
            (serde_json::json!({"bomFormat": "CycloneDX"}), "not a source build record"),
            (serde_json::json!({"schema": "armorred.dev/comparison/v1"}), "is not a source build record"),
            (serde_json::json!({"source_build": 1}), "not an object"),
            (serde_json::json!({"image": "nginx", "source_build": null}), "no source-built component"),
            (
                {
                    let mut r = record();
                    r["configure_options"] = 3.into();
                    r
                },
                "configure_options",
            ),
            (
                {
                    let mut r = record();
                    r["features"] = serde_json::json!([{"name": 1}]);
                    r
                },
                "`features`",
            ),
            (
                {
                    let mut r = record();
                    r["package"] = serde_json::json!({});
                    r
                },
                "/package/name",
            ),
        ];
        for (doc, want) in cases {
            let e = parse(&doc).expect_err(want).to_string();
            assert!(e.starts_with("record.json: ") && e.contains(want), "{e}");
        }
        let e = parse_build_record(b"{", Path::new("record.json")).expect_err("not json").to_string();
        assert!(e.contains("record.json: not JSON"), "{e}");
    }

    /// The fixture the CLI tests use is what `armorred build-source` would record for the recipe
    /// as it is (regenerate it when the recipe's features or locked options change).
    #[test]
    fn fixture_matches_the_recipe() {
        use crate::build::compile::recipe::load;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let fixture = read_build_record(&root.join("testdata/report/build-record.locked.json")).expect("fixture");
        let recipe = load(&root.join("../../images/nginx")).expect("recipe");
        let options = &recipe.tiers[&Tier::Locked].configure;
        assert_eq!(&fixture.configure_options, options);
        assert_eq!(fixture.features, crate::build::compile::record::features(&recipe.features, options));
    }
}
