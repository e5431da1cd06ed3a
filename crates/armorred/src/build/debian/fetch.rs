//! Downloads into the content-addressed part of the cache ([`crate::cache`], `<cache>/sha256/<hex>`).
//! A file enters the cache only after its SHA256 and size matched the lock; cached files are
//! verified again on use.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::lock::LockedPackage;
use super::mirror::{http_get_to, Mirror};
use super::{io_err, DebianError};
pub use crate::cache::Cache;
use crate::cache::Kind;
pub use crate::fsutil::sha256_reader;

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Returns the cached, verified `.deb` of `pkg`, downloading it from `mirror` when absent.
/// A digest mismatch is an error and nothing enters the cache.
pub fn fetch(mirror: &Mirror, cache: &Cache, pkg: &LockedPackage) -> Result<PathBuf, DebianError> {
    let url = format!("{}/{}", mirror.base_for(&pkg.suite), pkg.filename);
    fetch_url(cache, &url, &pkg.sha256, Some(pkg.size), &pkg.name)
}

/// Like [`fetch`] for any URL pinned by `sha256` (and `size`, when known); `name` labels errors.
/// Every download of the project goes through here: Debian packages and upstream sources alike.
pub fn fetch_url(
    cache: &Cache,
    url: &str,
    sha256: &str,
    size: Option<u64>,
    name: &str,
) -> Result<PathBuf, DebianError> {
    let path = cache.path_of(sha256);
    let pinned = |n: Option<u64>| n.map(|n| format!(" ({n} bytes)")).unwrap_or_default();
    let mismatch = |actual: String, n: u64| DebianError::Digest {
        what: format!("{name} ({url})"),
        expected: format!("sha256:{sha256}{}", pinned(size)),
        actual: format!("sha256:{actual}{}", pinned(Some(n))),
    };
    if let Some(path) = cache.verified(sha256, size) {
        return Ok(path);
    }
    let dir = cache.create(Kind::Debs).map_err(io_err(format!("cache {}", cache.path(Kind::Debs).display())))?;
    // A private, unpredictable name per download: two threads (or processes) fetching the same
    // file each write their own and the first rename wins with the same bytes; a failed one is
    // removed when `tmp` drops.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{sha256}.part-"))
        .tempfile_in(&dir)
        .map_err(io_err(format!("a temporary file in {}", dir.display())))?;
    let shown = tmp.path().display().to_string();
    let (n, got) = {
        let mut w = HashingWriter { inner: std::io::BufWriter::new(tmp.as_file()), hash: Sha256::new() };
        let n = http_get_to(url, &mut w)?;
        w.flush().map_err(io_err(shown))?;
        (n, hex::encode(w.hash.finalize()))
    };
    if got != sha256 || size.is_some_and(|s| s != n) {
        return Err(mismatch(got, n));
    }
    tmp.persist(&path).map_err(|e| io_err(format!("{}", path.display()))(e.error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash() {
        let (h, n) = sha256_reader(&b"abc"[..]).expect("hash");
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(n, 3);
    }

    #[test]
    fn corrupt_cache_entry_is_not_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::new(dir.path());
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        std::fs::create_dir_all(dir.path().join("sha256")).expect("mkdir");
        std::fs::write(cache.path_of(sha), b"abd").expect("write");
        // The URL is unreachable: the corrupted entry must not be returned.
        let err = fetch_url(&cache, "http://127.0.0.1:9/x.deb", sha, Some(3), "x").expect_err("must fail");
        assert!(err.to_string().starts_with("cannot download http://127.0.0.1:9/x.deb"), "{err}");
        assert!(!cache.path_of(sha).exists());
        std::fs::write(cache.path_of(sha), b"abc").expect("write");
        assert_eq!(
            fetch_url(&cache, "http://127.0.0.1:9/x.deb", sha, Some(3), "x").expect("cached"),
            cache.path_of(sha)
        );
    }
}
