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

/// Errors go to stderr; with `--json` as `{"error": {code, message, details}}` on stdout too, so
/// a script reading stdout sees why it got nothing else.
pub fn print_error(err: &ApiError, json: bool) {
    if json {
        print_json(&serde_json::json!({ "error": err }));
    }
    eprintln!("cutover: {} ({})", err.message, err.code.as_str());
}

/// A left-aligned text table with a header row.
#[allow(dead_code)] // used by the job subcommands
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
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
