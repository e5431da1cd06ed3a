//! Shared helpers of the integration tests: external tools and the shared test data.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

/// Whether `name` runs (`name --version` succeeds). With `ARMORRED_REQUIRE_TOOLS=1` (set by
/// `.ci/run`) a missing tool fails the test instead of skipping it.
pub(crate) fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{name} is required (ARMORRED_REQUIRE_TOOLS=1) but not installed"
        );
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// `../shared/data` beside the repository: the real public data sets tests read.
pub(crate) fn shared_data() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let data = root.join("shared/data");
    assert!(data.is_dir(), "{} is missing: the shared data must sit beside the repository", data.display());
    data
}
