//! Strict JSON for hostile inputs (feeds, SBOMs, scan results): a leading UTF-8 byte order mark
//! is skipped (as syft and grype accept it), and a key repeated in one object is an error that
//! names the key, where `serde_json` would keep the last value silently.
//!
//! The duplicate check ([`Strict`], for any serde format) is made while the document is parsed, in the same single pass that builds
//! the [`Value`] (a visitor that looks each key up in the object being built, an O(1) lookup in
//! the insertion-ordered map): no second pass, no second copy, so it costs next to nothing on a
//! 100+ MB feed. serde_json's recursion limit (128 levels) still applies.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Parses JSON strictly: a leading BOM is skipped; a duplicated key is an error
/// (`duplicate key "bomFormat" at line 3 column 14`).
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let v = Strict::deserialize(&mut de)?.0;
    de.end()?;
    Ok(v)
}

/// A [`Value`] whose objects have no duplicated key, for any serde format (YAML feeds too:
/// `serde_yaml_ng::from_slice::<Strict>(bytes)?.0`).
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                let shown: String = k.chars().take(64).collect();
                let more = if shown.len() < k.len() { "..." } else { "" };
                return Err(de::Error::custom(format_args!("duplicate key {shown:?}{more}")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_errors_naming_the_key() {
        let e = from_slice(br#"{"a": 1, "b": {"c": 1, "c": 2}}"#).expect_err("duplicate");
        assert!(e.to_string().starts_with("duplicate key \"c\" at line 1"), "{e}");
        // The same key in sibling objects is fine.
        let v = from_slice(br#"[{"c": 1}, {"c": 2}]"#).expect("siblings");
        assert_eq!(v, serde_json::json!([{"c": 1}, {"c": 2}]));
    }

    #[test]
    fn a_leading_bom_is_skipped_and_values_match_serde_json() {
        let doc =
            br#"{"s": "x\u00e9", "n": -1, "u": 18446744073709551615, "f": 1.5, "b": true, "z": null, "a": [1, [2]]}"#;
        let mut with_bom = UTF8_BOM.to_vec();
        with_bom.extend_from_slice(doc);
        let want: Value = serde_json::from_slice(doc).expect("json");
        assert_eq!(from_slice(&with_bom).expect("bom"), want);
        assert_eq!(from_slice(doc).expect("plain"), want);
        assert!(from_slice(b"{} {}").is_err(), "trailing data");
        // serde_json's recursion limit still holds: no stack overflow.
        assert!(from_slice(&vec![b'['; 100_000]).is_err());
    }
}
