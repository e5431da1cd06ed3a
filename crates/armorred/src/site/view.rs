//! What each page shows: the template contexts, built from the [`Catalog`], and the templates.
//! Everything here is data (numbers, strings, the JSON read); the HTML is in `templates/`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::{context, Environment};
use serde::Serialize;
use serde_json::Value;

use super::{Catalog, Image, SiteError, Variant};
use crate::display::bytes;

/// The templates, embedded: (name, source).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("style.css", include_str!("templates/style.css")),
    ("macros.html", include_str!("templates/macros.html")),
    ("index.html", include_str!("templates/index.html")),
    ("variant.html", include_str!("templates/variant.html")),
    ("guide-verification.html", include_str!("templates/guide-verification.html")),
    ("guide-sboms.html", include_str!("templates/guide-sboms.html")),
    ("guide-tiers.html", include_str!("templates/guide-tiers.html")),
];

/// The guides: (file under `guides/`, template, title).
const GUIDES: &[(&str, &str, &str)] = &[
    ("verification.html", "guide-verification.html", "Image Verification"),
    ("sboms.html", "guide-sboms.html", "Understanding SBOMs"),
    ("hardened-vs-locked.html", "guide-tiers.html", "Hardened vs Locked"),
];

/// The environment with every template and filter.
pub(super) fn environment() -> Result<Environment<'static>, SiteError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, source) in TEMPLATES {
        // The templates are embedded and checked by the tests: an error here is a bug.
        env.add_template(name, source).map_err(|e| SiteError::Template {
            page: "(every page)".into(),
            template: name,
            source: Box::new(e),
        })?;
    }
    env.add_filter("bytes", bytes);
    env.add_filter("percent", percent);
    env.add_filter("short", short);
    env.add_test("http", |s: &str| s.starts_with("https://") || s.starts_with("http://"));
    Ok(env)
}

/// A fraction as a percentage with one decimal, half away from zero (as the comparison's).
fn percent(f: f64) -> String {
    format!("{:.1} %", (f * 1000.0).round() / 10.0)
}

/// `sha256:` and the first 12 hex digits.
fn short(s: String) -> String {
    s.chars().take(19).collect()
}

/// Every page: (path relative to the site, HTML).
pub(super) fn pages(env: &Environment<'_>, catalog: &Catalog) -> Result<Vec<(PathBuf, String)>, SiteError> {
    let mut out = Vec::new();
    let rows: Vec<IndexRow<'_>> = catalog.images.iter().map(index_row).collect();
    out.push((
        PathBuf::from("index.html"),
        render(
            env,
            "index.html",
            "index.html",
            context! { root => "", images => rows, notes => &catalog.index.notes },
        )?,
    ));
    let guide_images: Vec<GuideImage<'_>> = catalog.images.iter().map(guide_image).collect();
    for (file, template, title) in GUIDES {
        let page = format!("guides/{file}");
        let html = render(env, template, &page, context! { root => "../", title => title, images => guide_images })?;
        out.push((PathBuf::from(page), html));
    }
    for image in &catalog.images {
        let siblings: Vec<&str> = variants(image).map(|v| v.variant.as_str()).collect();
        for v in variants(image) {
            let page = format!("images/{}/{}.html", image.name, v.variant);
            let ctx = variant_page(image, v, &siblings, history(catalog.history.as_ref(), &image.name, &v.variant));
            out.push((PathBuf::from(&page), render(env, "variant.html", &page, ctx)?));
        }
    }
    Ok(out)
}

/// Every file copied into the site: (path relative to the site, source).
pub(super) fn copies(catalog: &Catalog) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for image in &catalog.images {
        for v in variants(image) {
            let mut seen = std::collections::BTreeSet::new();
            for (key, rel) in &v.summary.paths {
                if downloadable(key) && seen.insert(rel.clone()) {
                    out.push((PathBuf::from(format!("images/{}/{}/{rel}", image.name, v.variant)), v.dir.join(rel)));
                }
            }
        }
    }
    out
}

/// The `paths` copied into the site (the image layout and the build logs are not).
fn downloadable(key: &str) -> bool {
    matches!(key, "sbom_cyclonedx" | "sbom_spdx" | "checksec" | "scan" | "compare" | "build_record")
        || key.starts_with("attestation_")
}

fn variants(image: &Image) -> impl Iterator<Item = &Variant> {
    image.tiers.iter().chain(image.upstream.as_ref())
}

fn render(
    env: &Environment<'_>,
    template: &'static str,
    page: &str,
    ctx: minijinja::Value,
) -> Result<String, SiteError> {
    let t = env.get_template(template).map_err(|e| SiteError::Template {
        page: page.to_string(),
        template,
        source: Box::new(e),
    })?;
    t.render(ctx).map_err(|e| SiteError::Template { page: page.to_string(), template, source: Box::new(e) })
}

#[derive(Serialize)]
struct IndexRow<'a> {
    name: &'a str,
    upstream: Option<VariantRow<'a>>,
    tiers: Vec<VariantRow<'a>>,
}

#[derive(Serialize)]
struct VariantRow<'a> {
    variant: &'a str,
    page: String,
    summary: &'a crate::pipeline::summary::Summary,
    severities: Vec<(&'static str, usize)>,
    scanned: Option<&'a str>,
    db_built: Option<&'a str>,
    db_sources: Vec<&'a str>,
}

const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "negligible", "unknown"];

fn variant_row<'a>(image: &str, v: &'a Variant) -> VariantRow<'a> {
    let severities = v
        .summary
        .scan
        .as_ref()
        .map(|s| SEVERITIES.iter().map(|k| (*k, s.by_severity.get(*k).copied().unwrap_or(0))).collect())
        .unwrap_or_default();
    let descriptor = v.scan.as_ref().and_then(|s| s.get("descriptor"));
    VariantRow {
        variant: &v.variant,
        page: format!("images/{image}/{}.html", v.variant),
        summary: &v.summary,
        severities,
        // When the scan ran; summaries written before `scanned_at` existed give none (the
        // report's descriptor.timestamp is the image's creation time, not the scan's).
        scanned: v.summary.scan.as_ref().and_then(|s| s.scanned_at.as_deref()),
        db_built: v.summary.scan.as_ref().and_then(|s| s.db_built.as_deref()),
        db_sources: descriptor
            .and_then(|d| d.pointer("/db/sources"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.get("name").and_then(Value::as_str)).collect())
            .unwrap_or_default(),
    }
}

fn index_row(image: &Image) -> IndexRow<'_> {
    IndexRow {
        name: &image.name,
        upstream: image.upstream.as_ref().map(|v| variant_row(&image.name, v)),
        tiers: image.tiers.iter().map(|v| variant_row(&image.name, v)).collect(),
    }
}

/// What the guides show of each image: its tiers' differences.
#[derive(Serialize)]
struct GuideImage<'a> {
    name: &'a str,
    tiers: Vec<VariantRow<'a>>,
    /// Per tier: its configure options when built from source.
    configure: BTreeMap<&'a str, Vec<&'a str>>,
    /// Per tier: its SBOM components (`name version`) that no other tier has.
    only_in: BTreeMap<&'a str, Vec<String>>,
}

/// The `name version` of every component of a tier's CycloneDX SBOM.
fn component_names(v: &Variant) -> std::collections::BTreeSet<String> {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    v.sbom
        .as_ref()
        .and_then(|s| s.get("components"))
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|c| format!("{} {}", text(c, "name"), text(c, "version"))).collect())
        .unwrap_or_default()
}

fn guide_image(image: &Image) -> GuideImage<'_> {
    GuideImage {
        name: &image.name,
        tiers: image.tiers.iter().map(|v| variant_row(&image.name, v)).collect(),
        configure: image
            .tiers
            .iter()
            .filter_map(|v| {
                let sb = v.record.as_ref()?.source_build.as_ref()?;
                Some((v.variant.as_str(), sb.configure_options.iter().map(String::as_str).collect()))
            })
            .collect(),
        only_in: {
            let names: Vec<_> = image.tiers.iter().map(component_names).collect();
            image
                .tiers
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let others: std::collections::BTreeSet<&String> =
                        names.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, n)| n).collect();
                    (v.variant.as_str(), names[i].iter().filter(|n| !others.contains(n)).cloned().collect())
                })
                .collect()
        },
    }
}

/// One ELF file's checksec row with the tier policy's result.
#[derive(Serialize)]
struct ElfRow<'a> {
    path: &'a str,
    props: &'a Value,
    /// `pass`, `allowed` (a violation the definition allows, with its reason) or `fail`.
    result: &'static str,
    notes: Vec<String>,
}

fn elf_rows(v: &Variant) -> Vec<ElfRow<'_>> {
    let Some(Value::Object(files)) = &v.checksec else { return Vec::new() };
    let list = |key: &str| -> Vec<&Value> {
        v.gate
            .as_ref()
            .and_then(|g| g.get(key))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let (violations, allowed) = (list("violations"), list("allowed"));
    // One note per reason: "no stack canary; partial RELRO, full required: <reason>".
    let of = |items: &[&Value], path: &str| -> Vec<String> {
        let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
        for i in items.iter().filter(|i| i.get("path").and_then(Value::as_str) == Some(path)) {
            let text = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let (detail, reason) = (text("detail"), text("reason"));
            match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, details)) => details.push(detail),
                None => by_reason.push((reason, vec![detail])),
            }
        }
        by_reason
            .into_iter()
            .map(|(reason, details)| {
                let details = details.join("; ");
                if reason.is_empty() {
                    details
                } else {
                    format!("{details}: {reason}")
                }
            })
            .collect()
    };
    files
        .iter()
        .map(|(path, props)| {
            let failed = of(&violations, path);
            let waived = of(&allowed, path);
            let (result, notes) = if !failed.is_empty() {
                ("fail", failed)
            } else if !waived.is_empty() {
                ("allowed", waived)
            } else if v.gate.is_some() {
                ("pass", Vec::new())
            } else {
                ("", Vec::new())
            };
            ElfRow { path, props, result, notes }
        })
        .collect()
}

/// One bar pair of the comparison chart; widths in SVG units out of [`BAR`].
#[derive(Serialize)]
struct Bar {
    label: &'static str,
    upstream: String,
    ours: String,
    upstream_width: u64,
    ours_width: u64,
}

const BAR: u64 = 420;

fn bar(label: &'static str, up: u64, ours: u64, show: fn(u64) -> String) -> Bar {
    let max = up.max(ours).max(1);
    // At least 1 unit for a non-zero value, so a small one stays visible.
    let width = |n: u64| if n == 0 { 0 } else { (n * BAR / max).max(2) };
    Bar { label, upstream: show(up), ours: show(ours), upstream_width: width(up), ours_width: width(ours) }
}

fn chart(compare: &Value) -> Vec<Bar> {
    let pair = |p: &str| -> Option<(u64, u64)> {
        let m = compare.pointer(p)?;
        Some((m.get("upstream")?.as_u64()?, m.get("hardened")?.as_u64()?))
    };
    let count = |n: u64| n.to_string();
    let mut bars = Vec::new();
    if let Some((u, h)) = pair("/vulnerabilities") {
        bars.push(bar("Vulnerabilities", u, h, count));
    }
    for s in SEVERITIES {
        if let Some((u, h)) = pair(&format!("/vulnerabilities/by_severity/{s}")) {
            if u + h > 0 {
                bars.push(bar(severity_label(s), u, h, count));
            }
        }
    }
    if let Some((u, h)) = pair("/components") {
        bars.push(bar("Components", u, h, count));
    }
    if let (Some(u), Some(h)) = (
        compare.pointer("/size/upstream_bytes").and_then(Value::as_u64),
        compare.pointer("/size/hardened_bytes").and_then(Value::as_u64),
    ) {
        bars.push(bar("Size", u, h, bytes));
    }
    if let Some((u, h)) = pair("/files/files") {
        bars.push(bar("Files", u, h, count));
    }
    if let Some((u, h)) = pair("/files/elf_binaries") {
        bars.push(bar("ELF files", u, h, count));
    }
    bars
}

/// The chart's text alternative: every bar's values in one sentence.
fn chart_text(variant: &str, bars: &[Bar]) -> String {
    let parts: Vec<String> =
        bars.iter().map(|b| format!("{}: {} upstream, {} {variant}", b.label.trim(), b.upstream, b.ours)).collect();
    format!("Upstream compared with {variant}. {}.", parts.join("; "))
}

fn severity_label(s: &str) -> &'static str {
    match s {
        "critical" => "  critical",
        "high" => "  high",
        "medium" => "  medium",
        "low" => "  low",
        "negligible" => "  negligible",
        _ => "  unknown",
    }
}

fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|k| k.eq_ignore_ascii_case(s)).unwrap_or(SEVERITIES.len())
}

/// The scan's matches, most severe first, then by vulnerability and package.
fn findings(scan: &Value) -> Vec<&Value> {
    let mut m: Vec<&Value> =
        scan.get("matches").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let key = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    m.sort_by_key(|v| {
        (severity_rank(&key(v, "/vulnerability/severity")), key(v, "/vulnerability/id"), key(v, "/artifact/name"))
    });
    m
}

/// An attestation: cosign's short name, its predicate type, and its file in the site.
#[derive(Serialize)]
struct Attestation<'a> {
    name: &'a str,
    predicate_type: &'a str,
    file: &'a str,
}

/// One tier's monitor history from `monitor.json`: every scan and rebuild of each image
/// published under this name and tier (the current one and those it superseded), newest first,
/// and how many findings were decided. `None` without a history or an entry for the tier.
fn history(h: Option<&Value>, name: &str, tier: &str) -> Option<minijinja::Value> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut scans = Vec::new();
    let mut rebuilds = Vec::new();
    let mut decisions = 0usize;
    let mut found = false;
    for img in h?.get("images")?.as_array()? {
        let Some(meta) = img.get("image") else { continue };
        if text(meta, "name") != name || text(meta, "tier") != tier {
            continue;
        }
        found = true;
        let digest = text(meta, "digest");
        for s in img.get("scans").and_then(Value::as_array).into_iter().flatten() {
            scans.push(context! {
                scanned_at => text(s, "scanned_at"),
                digest => digest.clone(),
                db => text(s, "db_digest"),
                findings => s.get("findings").and_then(Value::as_i64).unwrap_or_default(),
                new_findings => s.get("new_findings").and_then(Value::as_i64).unwrap_or_default(),
            });
        }
        for r in img.get("rebuilds").and_then(Value::as_array).into_iter().flatten() {
            rebuilds.push(context! {
                started_at => text(r, "started_at"),
                state => text(r, "state"),
                advisory => text(r, "advisory"),
                fixes => text(r, "fixes"),
                new_digest => text(r, "new_digest"),
                time_to_fix_seconds => r.get("time_to_fix_seconds").and_then(Value::as_i64),
            });
        }
        decisions += img.get("decisions").and_then(Value::as_array).map_or(0, Vec::len);
    }
    if !found {
        return None;
    }
    let key = |v: &minijinja::Value, k: &str| v.get_attr(k).ok().map(|a| a.to_string()).unwrap_or_default();
    scans.sort_by_key(|s| std::cmp::Reverse(key(s, "scanned_at")));
    rebuilds.sort_by_key(|r| std::cmp::Reverse(key(r, "started_at")));
    Some(context! { scans => scans, rebuilds => rebuilds, decisions => decisions })
}

fn variant_page(image: &Image, v: &Variant, siblings: &[&str], history: Option<minijinja::Value>) -> minijinja::Value {
    let config = v.config.as_ref();
    let ports: Vec<String> = config
        .and_then(|c| c.exposed_ports.as_ref())
        .map(|p| p.0.iter().map(|p| p.split('/').next().unwrap_or(p).to_string()).collect())
        .unwrap_or_default();
    let attestations: Vec<Attestation<'_>> = v
        .attestations
        .iter()
        .map(|(name, file)| Attestation {
            name,
            predicate_type: crate::policy::predicate_type(name).unwrap_or_default(),
            file,
        })
        .collect();
    let configure: Vec<&str> = v
        .record
        .as_ref()
        .and_then(|r| r.source_build.as_ref())
        .map(|sb| sb.configure_options.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let source_package = v.record.as_ref().and_then(|r| r.source_build.as_ref()).map(|sb| &sb.package);
    let bars = v.compare.as_ref().map(chart).unwrap_or_default();
    context! {
        root => "../../",
        image => &image.name,
        variant => &v.variant,
        siblings => siblings,
        summary => &v.summary,
        row => variant_row(&image.name, v),
        upstream => image.upstream.as_ref().map(|u| &u.summary),
        config => config,
        ports => ports,
        elves => elf_rows(v),
        gate => &v.gate,
        configure => configure,
        source_package => source_package,
        record => v.record.as_ref().map(|r| context! {
            tier => &r.tier,
            source_date_epoch => r.source_date_epoch,
            inputs => &r.inputs,
            output => &r.output,
            started_on => &r.started_on,
            finished_on => &r.finished_on,
        }),
        components => v.sbom.as_ref().and_then(|s| s.get("components")),
        findings => v.scan.as_ref().map(findings).unwrap_or_default(),
        compare => &v.compare,
        chart_text => chart_text(&v.variant, &bars),
        chart => bars,
        attestations => attestations,
        history => history,
    }
}
