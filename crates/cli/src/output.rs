//! Printing results: JSON for scripts, plain tables for people.

use std::io::Write;

use cutover_core::ApiError;

/// One line to stdout. A closed pipe (`cutover lb list --json | head`) is not an error worth a
/// panic: the reader has what it wanted.
fn out_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => out_line(&text),
        Err(err) => eprintln!("cutover: could not encode the result as JSON: {err}"),
    }
}

/// The longest a table cell gets in human output (JSON stays exact).
pub const MAX_CELL_CHARS: usize = 120;

/// Text from the API made safe for a terminal: control characters (escape sequences that would
/// set the title or colours, newlines that would forge table rows) are shown escaped.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`terminal_safe`], cut to [`MAX_CELL_CHARS`] with an ellipsis.
pub fn cell(text: &str) -> String {
    let safe = terminal_safe(text);
    if safe.chars().count() <= MAX_CELL_CHARS {
        return safe;
    }
    let mut cut: String = safe.chars().take(MAX_CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Errors go to stderr; with `--json` as `{"error": {code, message, details}}` on stdout too, so
/// a script reading stdout sees why it got nothing else.
pub fn print_error(err: &ApiError, json: bool) {
    if json {
        print_json(&serde_json::json!({ "error": err }));
    }
    eprintln!(
        "cutover: {} ({})",
        terminal_safe(&err.message),
        err.code.as_str()
    );
}

/// A left-aligned text table with a header row.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| cell(c)).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out_line(out.trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_strings_cannot_drive_the_terminal_or_forge_rows() {
        assert_eq!(terminal_safe("web\x1b]0;pwned\x07"), "web\\u{1b}]0;pwned\\u{7}");
        assert_eq!(terminal_safe("a\nb"), "a\\nb");
        assert_eq!(terminal_safe("plain-name"), "plain-name");
        let long = "x".repeat(1_000_000);
        let c = cell(&long);
        assert_eq!(c.chars().count(), MAX_CELL_CHARS);
        assert!(c.ends_with('…'));
    }
}
