//! The one file-tree model: what an image's root file system is, on the side that writes images
//! and on the side that reads them.
//!
//! - [`Tree`] of [`Node`]: the content-bearing root file system the builder assembles
//!   (`build::debian`), the layer writer serializes in path order (`oci`) and the checksec gate
//!   materializes. Every insertion is checked.
//! - [`Index`] of [`Entry`]: the metadata view of a squashed image, one entry per visible path
//!   with its layer; the image reader (`source`) builds it from layers (whiteouts, hard links),
//!   and [`Tree::index`] gives it for a built tree, so that code that needs only metadata (the
//!   SBOM catalogers, the checksec filters) takes either.
//! - One [`EntryKind`] for both ([`Node::kind`]); one path normalizer ([`normalize`] strict for
//!   the builder, [`clean`] as the runtimes read tar paths) and one lexical in-root link
//!   resolver ([`resolve_link`]); the glob of `image.toml` ([`glob_match`]).
//!
//! The two stay two structs: a tree holds every byte of a root file system, an index of a
//! read image only metadata with layer positions (the bytes stay in the layers and stream on
//! demand). This module depends on no other module of the crate, so `oci`, `spec` and `source`
//! need not import `build`.

mod glob;
mod index;
mod path;
mod tree;

pub use glob::glob_match;
pub(crate) use index::MAX_WARNINGS;
pub use index::{Bounds, Entry, EntryKind, Index, IndexError};
pub use path::{abs, clean, key, normalize, resolve_link, Clean};
pub use tree::{Node, Tree, SYMLINK_MODE};
