//! Deterministic layer tars from a [`Tree`]: entries in path order, mtime = SOURCE_DATE_EPOCH,
//! owners from the tree (root unless a definition says otherwise) with empty user/group names,
//! PAX/GNU extensions only where a path needs them, gzip at a fixed level with an empty header.

use std::io::Write;

use sha2::{Digest, Sha256};

use super::{Blob, OciError};
use crate::fstree::{Node, Tree};

/// A compressed layer.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The gzip blob.
    pub blob: Blob,
    /// `sha256:` of the uncompressed tar (the config's diff_id).
    pub diff_id: String,
    /// Uncompressed tar size.
    pub uncompressed_size: u64,
    /// Entries in the tar.
    pub entries: usize,
}

/// gzip level used for every layer (part of the reproducibility contract).
pub const GZIP_LEVEL: u32 = 6;

/// Serializes `tree` into one layer with every mtime set to `epoch`.
pub fn layer_from_tree(tree: &Tree, epoch: i64) -> Result<Layer, OciError> {
    let err = |e: std::io::Error| OciError::Layer(e.to_string());
    let epoch = epoch.max(0) as u64;
    let mut b = tar::Builder::new(Vec::new());
    b.mode(tar::HeaderMode::Deterministic);
    b.follow_symlinks(false);
    let mut entries = 0;
    for (path, node) in tree.entries() {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(epoch);
        match node {
            Node::Dir { mode, owner } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_uid(owner.0.into());
                h.set_gid(owner.1.into());
                h.set_size(0);
                b.append_data(&mut h, format!("{path}/"), &[][..]).map_err(err)?;
            }
            Node::File { mode, owner, data } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_uid(owner.0.into());
                h.set_gid(owner.1.into());
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, &data[..]).map_err(err)?;
            }
            Node::Symlink { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(crate::fstree::SYMLINK_MODE);
                h.set_uid(0);
                h.set_gid(0);
                h.set_size(0);
                b.append_link(&mut h, path, target).map_err(err)?;
            }
        }
        entries += 1;
    }
    let tar = b.into_inner().map_err(err)?;
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
    let mut gz =
        flate2::GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    gz.write_all(&tar).map_err(err)?;
    let data = gz.finish().map_err(err)?;
    Ok(Layer { blob: Blob::new(data), diff_id, uncompressed_size: tar.len() as u64, entries })
}
