//! `vuln` is a one-way graph: this test reads the source of every module of `vuln` (the files
//! its `mod` lines name, test modules left out; the reader is `crate::module_graph`), collects
//! the paths that name another module of `vuln`, and checks the graph of vuln's top-level
//! modules (`db`, `matcher`, `scan`, ..., and `vuln` itself for what `mod.rs` defines or
//! re-exports) for cycles. A matcher must not reach `scan` or `db`, even through another module.

use std::collections::BTreeSet;

use crate::module_graph::{find_cycle, graph, reachable};

#[test]
fn vuln_modules_form_no_cycle() {
    let g = graph("vuln/mod.rs", &["vuln"], "vuln", &[]);
    // The reader sees the edges that must be there (else the test would pass on nothing).
    for (from, to) in [("scan", "matcher"), ("scan", "db"), ("db", "provider"), ("import", "cpe"), ("vuln", "scan")] {
        assert!(g.get(from).is_some_and(|e| e.contains_key(to)), "expected {from} -> {to} in {g:#?}");
    }
    if let Some(cycle) = find_cycle(&g) {
        let why: Vec<String> = cycle.windows(2).map(|w| g[&w[0]][&w[1]].clone()).collect();
        panic!("import cycle in vuln: {}\n{}", cycle.join(" -> "), why.join("\n"));
    }
    // Matchers read the model, the provider trait and the CPE helpers, nothing else of vuln.
    let deps = reachable(&g, "matcher");
    for forbidden in ["scan", "db", "import", "vuln"] {
        assert!(!deps.contains(forbidden), "matcher reaches {forbidden}: {:#?}", g["matcher"]);
    }
    let allowed: BTreeSet<String> = ["model", "provider", "cpe", "error"].map(String::from).into();
    assert!(deps.is_subset(&allowed), "matcher depends on {deps:?}");
    // The leaves: the model and the CPE helpers depend on nothing else in vuln.
    for leaf in ["model", "cpe", "error"] {
        assert!(g[leaf].is_empty(), "{leaf} depends on {:#?}", g[leaf]);
    }
    assert!(reachable(&g, "provider").is_subset(&["model", "error"].map(String::from).into()));
}
