//! `InRelease`: OpenPGP cleartext-signature verification against the Debian archive keyring,
//! then the signed `Release` fields (date, and the SHA256 list that index files are checked
//! against).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};
use pgp::types::KeyDetails;

use super::deb822;
use super::DebianError;

/// The archive keys an `InRelease` may be signed with.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
    /// Where the keys came from, for error messages.
    sources: Vec<PathBuf>,
}

/// The default keyrings: every `/usr/share/keyrings/debian-archive-*.gpg` except the removed keys.
pub fn default_keyring_paths() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("/usr/share/keyrings")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("debian-archive-") && name.ends_with(".gpg") && !name.contains("removed")
        })
        .collect();
    out.sort();
    out
}

impl Keyring {
    /// Loads binary or armored OpenPGP keys from each path.
    pub fn load(paths: &[PathBuf]) -> Result<Self, DebianError> {
        let mut keys = Vec::new();
        for path in paths {
            let io = |source| DebianError::Io { what: format!("keyring {}", path.display()), source };
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut crate::spec::open_regular(path, path).map_err(|e| io(std::io::Error::other(e)))?,
                &mut bytes,
            )
            .map_err(io)?;
            let bad = |e: pgp::errors::Error| DebianError::Keyring { path: path.clone(), detail: e.to_string() };
            let parsed: Vec<_> = if bytes.first().is_some_and(|b| *b == b'-') {
                SignedPublicKey::from_armor_many(&bytes[..]).map_err(bad)?.0.collect()
            } else {
                SignedPublicKey::from_bytes_many(&bytes[..]).map_err(bad)?.collect()
            };
            for key in parsed {
                keys.push(key.map_err(bad)?);
            }
        }
        if keys.is_empty() {
            return Err(DebianError::Keyring {
                path: paths.first().cloned().unwrap_or_default(),
                detail: "no OpenPGP keys found".into(),
            });
        }
        Ok(Self { keys, sources: paths.to_vec() })
    }

    /// Number of primary keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// One index file listed in a Release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// SHA256 in hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The verified content of an `InRelease`.
#[derive(Debug, Clone)]
pub struct Release {
    /// `Suite:` (e.g. `stable-security`), or the codename.
    pub suite: String,
    /// `Codename:`.
    pub codename: String,
    /// `Date:` as written.
    pub date: String,
    /// `Date:` as seconds since the epoch.
    pub date_epoch: i64,
    /// Fingerprint (hex) of the key that verified the signature.
    pub signed_by: String,
    /// SHA256 entries by path (`main/binary-amd64/Packages.xz`).
    pub sha256: BTreeMap<String, IndexEntry>,
}

/// Verifies `inrelease` (the bytes of an `InRelease` file named `name` in errors) against
/// `keyring` and parses the signed text. Nothing unsigned is returned.
pub fn verify_inrelease(name: &str, inrelease: &[u8], keyring: &Keyring) -> Result<Release, DebianError> {
    let bad = |detail: String| DebianError::Signature { what: name.to_string(), detail };
    let text = std::str::from_utf8(inrelease).map_err(|_| bad("not UTF-8 text".into()))?;
    let (msg, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| bad(format!("not an OpenPGP cleartext-signed message: {e}")))?;
    let mut signed_by = None;
    'keys: for key in &keyring.keys {
        if msg.verify(&key.primary_key).is_ok() {
            signed_by = Some(hex::encode(key.primary_key.fingerprint().as_bytes()));
            break;
        }
        for sub in &key.public_subkeys {
            if msg.verify(&sub.key).is_ok() {
                signed_by = Some(hex::encode(sub.key.fingerprint().as_bytes()));
                break 'keys;
            }
        }
    }
    let Some(signed_by) = signed_by else {
        return Err(bad(format!(
            "no signature verifies against the {} keys of {}",
            keyring.len(),
            keyring.sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    };
    let signed = msg.signed_text().replace("\r\n", "\n");
    parse_release(name, &signed, signed_by)
}

/// Parses the (already verified) text of a Release file.
pub fn parse_release(name: &str, text: &str, signed_by: String) -> Result<Release, DebianError> {
    let bad = |detail: String| DebianError::Release { what: name.to_string(), detail };
    let paras = deb822::parse(text.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let p = paras.first().ok_or_else(|| bad("empty".into()))?;
    let date = p.get("Date").ok_or_else(|| bad("no Date field".into()))?;
    let date_epoch = parse_rfc2822(date).ok_or_else(|| bad(format!("bad Date {date:?}")))?;
    let mut sha256 = BTreeMap::new();
    for line in p.get("SHA256").unwrap_or("").lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [hash, size, path] = parts[..] else {
            return Err(bad(format!("bad SHA256 line {line:?}")));
        };
        let size = size.parse().map_err(|_| bad(format!("bad size in {line:?}")))?;
        sha256.insert(path.to_string(), IndexEntry { sha256: hash.to_ascii_lowercase(), size });
    }
    let codename = p.get("Codename").unwrap_or_default().to_string();
    Ok(Release {
        suite: p.get("Suite").map(str::to_string).unwrap_or(codename.clone()),
        codename,
        date: date.to_string(),
        date_epoch,
        signed_by,
        sha256,
    })
}

/// Parses the RFC 2822 dates of Release files: `Sat, 09 Aug 2025 09:25:47 UTC`.
pub fn parse_rfc2822(s: &str) -> Option<i64> {
    let s = s.split_once(',').map_or(s, |(_, rest)| rest).trim();
    let mut it = s.split_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let month = it.next()?;
    let year: i64 = it.next()?.parse().ok()?;
    let time = it.next()?;
    let zone = it.next().unwrap_or("UTC");
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))? as i64
        + 1;
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    let offset = match zone {
        "UTC" | "GMT" | "Z" => 0,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[3..5].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Checks `data` (the file `name`) against its Release entry.
pub fn check_index(name: &str, data: &[u8], entry: &IndexEntry) -> Result<(), DebianError> {
    use sha2::Digest;
    let got = hex::encode(sha2::Sha256::digest(data));
    if data.len() as u64 != entry.size || got != entry.sha256 {
        return Err(DebianError::Digest {
            what: name.to_string(),
            expected: format!("sha256:{} ({} bytes)", entry.sha256, entry.size),
            actual: format!("sha256:{got} ({} bytes)", data.len()),
        });
    }
    Ok(())
}

/// True when `path` looks like a keyring file we can load.
pub fn is_keyring(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gpg" || e == "asc")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::rfc3339;

    #[test]
    fn dates() {
        for (s, want) in [
            ("Thu, 01 Jan 1970 00:00:00 UTC", 0),
            ("Sat, 09 Aug 2025 09:25:47 UTC", 1754731547),
            ("Sat, 09 Aug 2025 11:25:47 +0200", 1754731547),
            ("29 Feb 2024 00:00:00 UTC", 1709164800),
        ] {
            assert_eq!(parse_rfc2822(s), Some(want), "{s}");
            assert_eq!(parse_rfc2822(&format!("Mon, {}", rfc2822_back(want))), Some(want));
        }
        assert_eq!(rfc3339(1754731547), "2025-08-09T09:25:47Z");
        assert_eq!(parse_rfc2822("yesterday"), None);
        assert_eq!(parse_rfc2822("Sat, 09 Foo 2025 09:25:47 UTC"), None);
    }

    fn rfc2822_back(epoch: i64) -> String {
        let s = rfc3339(epoch);
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let m: usize = s[5..7].parse().unwrap_or(1);
        format!("{} {} {} {} UTC", &s[8..10], months[m - 1], &s[0..4], &s[11..19])
    }

    #[test]
    fn release_fields() {
        let text = "Origin: Debian\nSuite: stable\nCodename: trixie\nDate: Sat, 09 Aug 2025 09:25:47 UTC\nSHA256:\n 0123abcd 42 main/binary-amd64/Packages.xz\n";
        let r = parse_release("InRelease", text, "fp".into()).expect("parses");
        assert_eq!(r.suite, "stable");
        assert_eq!(r.codename, "trixie");
        assert_eq!(r.date_epoch, 1754731547);
        assert_eq!(r.sha256["main/binary-amd64/Packages.xz"].size, 42);
        let err = parse_release("X", "Date: soon\n", String::new()).expect_err("must fail");
        assert_eq!(err.to_string(), "X: bad Release: bad Date \"soon\"");
    }
}
