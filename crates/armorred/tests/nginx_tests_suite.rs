//! nginx's own test suite (`../shared/oracles/nginx-tests`, run with `prove` by
//! `bench/nginx-tests.sh`) against the nginx inside the hardened image: a named subset, the
//! dynamic modules the hardened tier ships (stream, mail, geoip, image-filter, xslt) and a few
//! core ones. The whole suite against the upstream reference and both tiers is recorded in
//! `images/nginx/tests/nginx-tests-results.md` (too slow for every CI run).
//! Needs root (the script's private mount and network namespaces), perl, prove, jq, ip.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::process::Command;

use armorred::build::{self, Output};
use armorred::tier::Tier;

mod support;

use support::images::{opts, repo};

/// Tests that must pass, not skip: each needs a module the official image has.
const MODULES: &[&str] = &[
    "stream_proxy.t",
    "stream_ssl.t",
    "stream_geo.t",
    "stream_geoip.t",
    "stream_map.t",
    "stream_upstream.t",
    "mail_smtp.t",
    "mail_imap.t",
    "mail_pop3.t",
    "geoip.t",
    "image_filter.t",
    "image_filter_finalize.t",
    "xslt.t",
    "xslt_params.t",
];

/// Core HTTP tests: must not fail.
const CORE: &[&str] = &["geo.t", "proxy.t", "ssl.t", "gzip.t", "rewrite.t", "h2.t", "limit_req.t", "http_location.t"];

fn have_everything() -> bool {
    let tools = support::have_tool("perl", &["-e", "1"])
        && support::have_tool("prove", &["--version"])
        && support::have_tool("jq", &["--version"])
        && support::have_tool("unshare", &["--version"])
        && support::have_tool("setpriv", &["--version"])
        && support::have_tool("ip", &["-V"]);
    if !tools {
        return false;
    }
    // image_filter.t makes its test images with the GD perl module (Debian: libgd-perl).
    if !Command::new("perl").args(["-MGD", "-e", "1"]).output().is_ok_and(|o| o.status.success()) {
        return support::missing("perl's GD module (libgd-perl)");
    }
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.ok().as_deref() != Some("0") {
        return support::missing("root (private mount and network namespaces)");
    }
    if !repo().join("../shared/oracles/nginx-tests/lib/Test/Nginx.pm").exists() {
        return support::missing("../shared/oracles/nginx-tests");
    }
    true
}

#[test]
fn hardened_nginx_passes_nginx_tests_for_its_modules() {
    if !have_everything() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let oci = tmp.path().join("oci");
    let report =
        build::build(&repo().join("images/nginx"), &opts(Tier::Hardened, Output::OciDir(oci.clone()))).unwrap();
    assert!(report.gate.passed(), "{:?}", report.gate.violations);
    let run = tmp.path().join("run");
    let out = Command::new(repo().join("bench/nginx-tests.sh"))
        .arg(&oci)
        .arg(&run)
        .args(MODULES.iter().chain(CORE))
        .output()
        .unwrap();
    let log = std::fs::read_to_string(run.join("prove.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\n{log}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let results = std::fs::read_to_string(run.join("results.tsv")).unwrap();
    let verdict = |t: &str| {
        results
            .lines()
            .find_map(|l| l.strip_prefix(t).and_then(|r| r.strip_prefix('\t')))
            .map(|r| r.split('\t').next().unwrap_or(""))
    };
    for t in MODULES {
        assert_eq!(verdict(t), Some("pass"), "{t}\n{results}\n{log}");
    }
    for t in CORE {
        assert_ne!(verdict(t), Some("fail"), "{t}\n{results}\n{log}");
        assert!(verdict(t).is_some(), "{t} has no result\n{results}");
    }
}
