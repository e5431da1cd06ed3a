//! What a matcher reads: the affected rows of one package in one namespace and the advisories of
//! one ID. [`crate::vuln::db::Db`] is the real implementation (SQLite, memoised); [`MemoryProvider`]
//! holds a small set of rows in memory (the matchers' table tests load their checked-in mini DBs
//! into it). Depends only on [`crate::vuln::model`].

use std::collections::HashMap;
use std::rc::Rc;

use super::error::Result;
use super::model::{Advisory, Affected, FeedBatch};

/// The vulnerability data a matcher looks up.
pub trait Provider {
    /// Affected rows for one package in one namespace (`debian:bookworm` + source package,
    /// `alpine:3.11` + package, `PyPI` + normalised name, `cpe` + `vendor:product`).
    fn affected(&self, namespace: &str, package: &str) -> Result<Rc<Vec<Affected>>>;
    /// Every advisory stored under `id`, with the name of the source it came from.
    fn advisories(&self, id: &str) -> Result<Rc<Vec<(String, Advisory)>>>;
}

/// Rows held in memory: a [`Provider`] over imported [`FeedBatch`]es, with the same answers a
/// DB built from the same batches gives.
#[derive(Debug, Clone, Default)]
pub struct MemoryProvider {
    affected: HashMap<(String, String), Rc<Vec<Affected>>>,
    advisories: HashMap<String, Rc<Vec<(String, Advisory)>>>,
}

impl MemoryProvider {
    /// Adds one source's batch (as an import would: advisories by ID, a later one with the same
    /// ID and source replacing the earlier).
    pub fn add(&mut self, source: &str, batch: &FeedBatch) {
        for a in &batch.affected {
            let key = (a.namespace.clone(), a.package.clone());
            Rc::make_mut(self.affected.entry(key).or_default()).push(a.clone());
        }
        for adv in &batch.advisories {
            let list = Rc::make_mut(self.advisories.entry(adv.id.clone()).or_default());
            list.retain(|(s, _)| s != source);
            list.push((source.to_string(), adv.clone()));
            list.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }

    /// A provider over these `(source, batch)` pairs.
    pub fn from_batches<'a>(batches: impl IntoIterator<Item = (&'a str, &'a FeedBatch)>) -> MemoryProvider {
        let mut p = MemoryProvider::default();
        for (source, batch) in batches {
            p.add(source, batch);
        }
        p
    }
}

impl Provider for MemoryProvider {
    fn affected(&self, namespace: &str, package: &str) -> Result<Rc<Vec<Affected>>> {
        let key = (namespace.to_string(), package.to_string());
        Ok(self.affected.get(&key).cloned().unwrap_or_default())
    }

    fn advisories(&self, id: &str) -> Result<Rc<Vec<(String, Advisory)>>> {
        Ok(self.advisories.get(id).cloned().unwrap_or_default())
    }
}
