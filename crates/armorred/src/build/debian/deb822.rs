//! deb822 control-file parsing (Release, Packages, .deb `control`): paragraphs of `Field: value`
//! lines with continuation lines starting with a space or tab. One pure parser over a reader.

use std::collections::BTreeMap;
use std::io::BufRead;

/// One paragraph: field names as written (case kept) to values (continuations joined by `\n`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of `name` (case-insensitive, as deb822 field names are).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every field in file order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Fields as a map (last one wins), for tests and diagnostics.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.fields.iter().cloned().collect()
    }
}

/// A malformed line.
#[derive(Debug, thiserror::Error)]
pub enum Deb822Error {
    /// Reading failed.
    #[error("cannot read control data")]
    Io(#[source] std::io::Error),
    /// A line that is neither `Field: value` nor a continuation.
    #[error("line {line}: expected `Field: value`, found {text:?}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// The offending line (truncated).
        text: String,
    },
}

/// Parses every paragraph of `reader`, calling `each` on each; stops at the first error from
/// `each`. Streaming: memory is one paragraph.
pub fn for_each_paragraph<R: BufRead, E: From<Deb822Error>>(
    reader: R,
    mut each: impl FnMut(Paragraph) -> Result<(), E>,
) -> Result<(), E> {
    let mut current = Paragraph::default();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(Deb822Error::Io)?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                each(std::mem::take(&mut current))?;
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some((_, value)) = current.fields.last_mut() else {
                return Err(syntax(i, line).into());
            };
            let cont = line.trim();
            if !value.is_empty() {
                value.push('\n');
            }
            if cont != "." {
                value.push_str(cont);
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(syntax(i, line).into());
        };
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(syntax(i, line).into());
        }
        current.fields.push((k.to_string(), v.trim().to_string()));
    }
    if !current.fields.is_empty() {
        each(current)?;
    }
    Ok(())
}

/// Parses all paragraphs into a vector.
pub fn parse<R: BufRead>(reader: R) -> Result<Vec<Paragraph>, Deb822Error> {
    let mut out = Vec::new();
    for_each_paragraph(reader, |p| {
        out.push(p);
        Ok::<_, Deb822Error>(())
    })?;
    Ok(out)
}

fn syntax(i: usize, line: &str) -> Deb822Error {
    Deb822Error::Syntax { line: i + 1, text: line.chars().take(80).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::type_complexity)]
    fn table() {
        let cases: &[(&str, &[&[(&str, &str)]])] = &[
            ("A: 1\nB: two\n", &[&[("A", "1"), ("B", "two")]]),
            ("A: 1\n\n\nB: 2\n", &[&[("A", "1")], &[("B", "2")]]),
            ("SHA256:\n abc 1 main/x\n def 2 main/y\n", &[&[("SHA256", "abc 1 main/x\ndef 2 main/y")]]),
            ("D: short\n long\n .\n more\n", &[&[("D", "short\nlong\n\nmore")]]),
            ("# comment\nA: b:c\r\n", &[&[("A", "b:c")]]),
            ("", &[]),
        ];
        for (input, want) in cases {
            let got = parse(input.as_bytes()).expect(input);
            let got: Vec<Vec<(&str, &str)>> = got.iter().map(|p| p.fields().collect()).collect();
            let want: Vec<Vec<(&str, &str)>> = want.iter().map(|p| p.to_vec()).collect();
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn negative() {
        for input in [" leading continuation\n", "no colon here\n", "bad key: x\n"] {
            let err = parse(input.as_bytes()).expect_err(input);
            assert!(err.to_string().starts_with("line 1:"), "{err}");
        }
        assert_eq!(
            parse("A: 1\nB\n".as_bytes()).expect_err("must fail").to_string(),
            "line 2: expected `Field: value`, found \"B\""
        );
    }
}
