//! The Kubernetes examples users copy (docs/examples/kubernetes: admission policies, the monitor's
//! CronJob): valid YAML by yamllint, with the fields the policy-controller, Kyverno and the
//! CronJob controller read where they read them.

mod support;

use std::path::PathBuf;
use std::process::Command;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples")
}

#[test]
fn kubernetes_policy_examples_pass_yamllint() {
    if !support::have_tool("yamllint", &["--version"]) {
        return;
    }
    let out = Command::new("yamllint")
        .args(["-s", "-d", "{extends: default, rules: {line-length: {max: 160}, document-start: disable}}"])
        .arg(examples())
        .output()
        .expect("yamllint");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn kubernetes_policy_examples_have_the_fields_their_controllers_read() {
    if !support::have_tool("python3", &["-c", "import yaml"]) {
        return;
    }
    // Paths into each document that must hold a value (a list index is a number).
    let script = r#"
import sys, yaml
want = {
  "clusterimagepolicy.yaml": ("policy.sigstore.dev/v1beta1", "ClusterImagePolicy", [
     ["spec", "images", 0, "glob"], ["spec", "authorities", 0, "key", "data"],
     ["spec", "authorities", 0, "attestations", 0, "predicateType"],
     ["spec", "authorities", 0, "attestations", 0, "policy", "data"]]),
  "kyverno-verifyimages.yaml": ("kyverno.io/v1", "ClusterPolicy", [
     ["spec", "rules", 0, "verifyImages", 0, "imageReferences", 0],
     ["spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keys", "publicKeys"],
     ["spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keys", "rekor", "ignoreTlog"],
     ["spec", "rules", 0, "verifyImages", 0, "attestations", 0, "type"],
     ["spec", "rules", 0, "verifyImages", 0, "attestations", 0, "conditions", 0, "all", 0, "key"]]),
  "monitor-cronjob.yaml": ("batch/v1", "CronJob", [
     ["spec", "schedule"], ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "image"],
     ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "args"],
     ["spec", "jobTemplate", "spec", "template", "spec", "restartPolicy"]]),
}
bad = 0
for name, (api, kind, paths) in want.items():
    doc = yaml.safe_load(open(sys.argv[1] + "/kubernetes/" + name))
    if doc.get("apiVersion") != api or doc.get("kind") != kind:
        print(f"{name}: apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}"); bad += 1
    for p in paths:
        v = doc
        try:
            for k in p: v = v[k]
        except (KeyError, IndexError, TypeError):
            print(f"{name}: missing {p}"); bad += 1
sys.exit(1 if bad else 0)
"#;
    let out = Command::new("python3").args(["-c", script]).arg(examples()).output().expect("python3");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
