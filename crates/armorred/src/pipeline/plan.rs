//! `armorred pipeline --plan`: the main job as independent jobs, one per (image, tier), for a CI
//! build matrix (`docs/scale-out.md`; the GitHub Actions workflow in `.github/workflows/`
//! reads it with `fromJSON`). Each job is hermetic: its definition folder and lock pin every
//! input, so `key` (a digest of the definition folder's files) is a cache key for its outputs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{definitions, PipelineError, PipelineOptions};
use crate::tier::Tier;

/// `schema` of a plan.
pub const PLAN_SCHEMA: &str = "armorred-plan/1";

/// The largest definition folder hashed into a job's key (its files together).
const MAX_DEFINITION_BYTES: u64 = 64 << 20;

/// The jobs of a pipeline run, in the order the pipeline would run them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_SCHEMA`].
    pub schema: String,
    /// One per image definition and tier; a GitHub Actions `matrix.include`.
    pub include: Vec<PlanJob>,
}

/// One independent job: `armorred pipeline <definition> --tier <tier>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanJob {
    /// The image name (`out/<image>/`).
    pub image: String,
    /// The definition folder, as given or found.
    pub definition: String,
    /// The tier the job builds (with the upstream reference it compares with).
    pub tier: Tier,
    /// `sha256:` over the definition folder's files (paths and contents, sorted): what a CI
    /// cache of the job's outputs is keyed by.
    pub key: String,
    /// The command the job runs.
    pub command: Vec<String>,
}

/// The plan of `opts`: the definitions it would run (as [`super::run`] finds and checks them)
/// and, for each, the tiers it would build.
pub fn plan(opts: &PipelineOptions) -> Result<Plan, PipelineError> {
    let mut include = Vec::new();
    for (dir, spec) in definitions(opts)? {
        let key = definition_key(&dir)?;
        let tiers: Vec<Tier> = if opts.tiers.is_empty() {
            spec.tiers.keys().copied().collect()
        } else {
            opts.tiers.iter().copied().filter(|t| spec.tiers.contains_key(t)).collect()
        };
        for tier in tiers {
            let definition = dir.to_string_lossy().into_owned();
            include.push(PlanJob {
                image: spec.name.clone(),
                command: vec![
                    "armorred".into(),
                    "pipeline".into(),
                    definition.clone(),
                    "--tier".into(),
                    tier.to_string(),
                ],
                definition,
                tier,
                key: key.clone(),
            });
        }
    }
    Ok(Plan { schema: PLAN_SCHEMA.into(), include })
}

/// `sha256:` over every regular file under `dir` (its path relative to `dir`, a NUL, its
/// length, its bytes), in path order; symbolic links by their target. Bounded by
/// [`MAX_DEFINITION_BYTES`].
fn definition_key(dir: &Path) -> Result<String, PipelineError> {
    let err = |path: &Path, detail: String| PipelineError::Plan { path: path.to_path_buf(), detail };
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| err(dir, e.to_string()))?;
        let kind = entry.file_type();
        if kind.is_file() || kind.is_symlink() {
            files.push((entry.path().to_path_buf(), kind.is_symlink()));
        }
    }
    let mut h = sha2::Sha256::new();
    let mut total = 0u64;
    for (path, link) in files {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let bytes = if link {
            std::fs::read_link(&path)
                .map_err(|e| err(&path, e.to_string()))?
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else {
            crate::fsutil::read_regular_bounded(&path, MAX_DEFINITION_BYTES - total)
                .map_err(|e| err(&path, e.to_string()))?
        };
        total += bytes.len() as u64;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's own definitions: one job per declared tier, keyed by the definition's
    /// files; the key changes with any file and `--tier` narrows the plan.
    #[test]
    fn plans_the_repository_definitions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images");
        let mut opts = PipelineOptions::new("out");
        opts.images_root = root.clone();
        let plan = plan(&opts).expect("plan");
        assert_eq!(plan.schema, PLAN_SCHEMA);
        let nginx: Vec<&PlanJob> = plan.include.iter().filter(|j| j.image == "nginx").collect();
        assert_eq!(nginx.iter().map(|j| j.tier).collect::<Vec<_>>(), vec![Tier::Hardened, Tier::Locked]);
        assert!(nginx[0].key.starts_with("sha256:") && nginx[0].key == nginx[1].key);
        assert_eq!(nginx[1].command[3..], ["--tier".to_owned(), "locked".to_owned()]);
        let json = serde_json::to_string(&plan).expect("json");
        assert_eq!(serde_json::from_str::<Plan>(&json).expect("read back"), plan);

        opts.tiers = vec![Tier::Locked];
        assert!(super::plan(&opts).expect("plan").include.iter().all(|j| j.tier == Tier::Locked));
    }

    #[test]
    fn the_key_covers_every_file_and_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("image.toml"), "a").expect("write");
        let first = definition_key(dir.path()).expect("key");
        assert_eq!(definition_key(dir.path()).expect("key"), first, "stable");
        std::fs::create_dir(dir.path().join("files")).expect("mkdir");
        std::fs::write(dir.path().join("files/x"), "").expect("write");
        let second = definition_key(dir.path()).expect("key");
        assert_ne!(second, first, "an empty new file counts");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("files/l")).expect("symlink");
        let third = definition_key(dir.path()).expect("key");
        assert_ne!(third, second, "a link counts by its target, and is not followed");
    }
}
