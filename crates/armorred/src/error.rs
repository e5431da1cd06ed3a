//! The crate error: one variant per domain module, each wrapping that module's typed error.

/// Every error the library returns. Module errors convert into it through `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `armorred lock` and `armorred build`.
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    /// Image definitions (`image.toml`).
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// The clock (a bad `SOURCE_DATE_EPOCH`).
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockError),
    /// ELF hardening analysis (`armorred checksec`).
    #[error(transparent)]
    Elf(#[from] crate::elf::ElfError),
    /// File system helpers (atomic writes).
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// Reports (comparison).
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// From-source builds (`armorred build-source`).
    #[error(transparent)]
    SourceBuild(#[from] crate::build::compile::SourceBuildError),
    /// The end-to-end pipeline.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    /// The monitor (`armorred monitor`).
    #[error(transparent)]
    Monitor(#[from] crate::monitor::MonitorError),
    /// Vulnerability DB and scanning.
    #[error(transparent)]
    Vuln(#[from] crate::vuln::VulnError),
    /// Version schemes.
    #[error(transparent)]
    Version(#[from] crate::version::VersionError),
    /// Image sources (`oci-dir:`, `docker-archive:`, `dir:`, ...).
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// Verification policies.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// SLSA provenance from a build record.
    #[error(transparent)]
    Provenance(#[from] crate::provenance::ProvenanceError),
    /// The OCI distribution client (`armorred push`, `armorred pull`).
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// SBOM generation and reading (`armorred sbom`).
    #[error(transparent)]
    Sbom(#[from] crate::sbom::SbomError),
    /// Keys, signatures and attestations (`armorred key`, `sign`, `verify`, `attest`).
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    /// The static site (`armorred site`).
    #[error(transparent)]
    Site(#[from] crate::site::SiteError),
    /// The image's own VEX.
    #[error(transparent)]
    Vex(#[from] crate::vex::VexError),
}

/// Result with the crate [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its sources on one line, `: `-joined (a source whose text the line already
/// holds is not repeated).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}
