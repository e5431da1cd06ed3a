//! Stage `config`: the image's runtime configuration (`[image]`: user, entrypoint, command,
//! ports, environment, labels, ...) and its manifest annotations (the `org.opencontainers.image.*`
//! labels, `created` from SOURCE_DATE_EPOCH, description, source and revision), as an
//! [`Image`] whose layer the `write` stage adds.

use std::collections::BTreeMap;

use crate::oci::{Image, RuntimeConfig};
use crate::spec::ImageSpec;
use crate::tier::Tier;

/// Runs the stage: the image of tier `tier`, without its layer.
pub(crate) fn run(spec: &ImageSpec, tier: Tier, epoch: i64, revision: Option<&str>) -> Image {
    Image {
        layers: Vec::new(),
        config: runtime_config(spec),
        architecture: spec.debian.architecture.clone(),
        created_epoch: epoch,
        created_by: format!("armorred build --tier {tier}"),
        annotations: annotations(spec, epoch, revision),
        ref_name: format!("armorred/{}:{tier}", spec.name),
    }
}

fn runtime_config(spec: &ImageSpec) -> RuntimeConfig {
    let i = &spec.image;
    RuntimeConfig {
        user: i.user.clone(),
        entrypoint: i.entrypoint.clone(),
        cmd: i.cmd.clone(),
        ports: i.ports.clone(),
        stop_signal: i.stop_signal.clone(),
        env: i.env.clone(),
        labels: i.labels.clone(),
        workdir: i.workdir.clone(),
        volumes: i.volumes.clone(),
    }
}

fn annotations(spec: &ImageSpec, epoch: i64, revision: Option<&str>) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = spec
        .image
        .labels
        .iter()
        .filter(|(k, _)| k.starts_with("org.opencontainers.image."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    a.insert("org.opencontainers.image.created".into(), crate::clock::rfc3339(epoch));
    // FROM scratch: there is no base image, so no `base.name`/`base.digest`.
    if !spec.description.is_empty() {
        a.insert("org.opencontainers.image.description".into(), spec.description.clone());
    }
    if let Some(s) = &spec.source {
        a.insert("org.opencontainers.image.source".into(), s.clone());
    }
    if let Some(r) = revision {
        a.insert("org.opencontainers.image.revision".into(), r.to_string());
    }
    a
}
