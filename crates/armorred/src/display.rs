//! Text meant for a terminal: control characters escaped, table cells bounded.
//!
//! Image, SBOM and feed data is hostile: a package name holding `ESC [2J` clears the screen
//! of whoever reads the table, `ESC ]0;…BEL` sets the window title, U+202E reverses the text
//! that follows. Every table and summary renderer passes such values through [`escape`] (or
//! [`cell`], which also bounds the width); the binary's error printer uses [`escape_lines`].
//!
//! Rust's format width is a `u16` (a runtime width over 65,535 panics), so the renderers pad
//! with [`pad`], never with `{:<w$}`.

use std::borrow::Cow;

/// The widest table cell shown, in characters: longer values end in `…`. The full value is
/// in the JSON outputs; this bounds display only. Change it with [`TableLimits`].
pub const MAX_CELL_CHARS: usize = 256;

/// Bounds of table renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// The widest cell shown, in characters (default [`MAX_CELL_CHARS`]; at least 2).
    pub max_cell_chars: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        Self { max_cell_chars: MAX_CELL_CHARS }
    }
}

/// True for a character that must not reach a terminal as is: C0 controls, DEL, C1 controls,
/// the bidirectional overrides, embeddings, isolates and marks, and the line and paragraph
/// separators.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    if (c as u32) < 0x80 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

fn escape_where(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with every unsafe character (see [`is_unsafe`]) written as `\x1b` or `\u{202e}`,
/// newlines and tabs included: one value stays on one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, |_| false)
}

/// Like [`escape`], but newlines and tabs are kept: for multi-line messages.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c == '\n' || c == '\t')
}

/// A table cell: `s` escaped, then cut to `max` characters (the last one `…`).
pub fn cell(s: &str, max: usize) -> Cow<'_, str> {
    let escaped = escape(s);
    let max = max.max(2);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out: String = escaped.chars().take(max - 1).collect();
    out.push('…');
    Cow::Owned(out)
}

/// `s` followed by spaces up to `width` characters (no format width, so no u16 limit).
pub fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len() + width.saturating_sub(n));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

/// Spaces, then `s`, up to `width` characters.
pub fn pad_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(n)).collect();
    out.push_str(s);
    out
}

/// Decimal megabytes with one decimal (`14.8 MB`), bytes below 1 MB as kB: image sizes as they
/// are usually quoted. Display only.
pub fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1_000_000 {
        format!("{:.1} MB", f / 1e6)
    } else {
        format!("{:.1} kB", f / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("nginx"), "nginx");
        assert!(matches!(escape("nginx"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2J\x1b]0;pwned\x07b"), "a\\x1b[2J\\x1b]0;pwned\\x07b");
        assert_eq!(escape("x\ny\tz\r\x7f"), "x\\x0ay\\x09z\\x0d\\x7f");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}gpj.exe"), "abc\\u{202e}gpj.exe");
        assert_eq!(escape("\u{2066}x\u{2069}\u{200f}"), "\\u{2066}x\\u{2069}\\u{200f}");
        assert_eq!(escape("héllo ünïcode ✓"), "héllo ünïcode ✓");
        assert_eq!(escape_lines("a\nb\tc\x1b"), "a\nb\tc\\x1b");
    }

    #[test]
    fn cells_are_bounded() {
        let long = "9".repeat(70_000);
        let c = cell(&long, MAX_CELL_CHARS);
        assert_eq!(c.chars().count(), MAX_CELL_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(cell("short", 256), "short");
        assert_eq!(cell("\x1b\x1b", 5), "\\x1b…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abcdef");
        assert_eq!(pad_left("ab", 4), "  ab");
        // Wider than a u16 format width can express: no panic.
        assert_eq!(pad("", 70_000).len(), 70_000);
    }
}
