//! Printing results: JSON for scripts, plain tables for people. `--json` is decided once, in
//! [`Output`] (GitButler's `OutputChannel`), not at every call site; progress goes to stderr
//! only when a person watches it.

use std::io::{IsTerminal, Write};

use cutover_core::{ApiError, ErrorCode};

/// How this run prints: JSON for scripts or text for people, and whether to show progress.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    quiet: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    pub fn from_global(global: &crate::GlobalArgs) -> Self {
        Self::new(global.json, global.quiet)
    }

    pub fn is_json(self) -> bool {
        self.json
    }

    /// The result: `value` as one JSON line with `--json`, else what `human` prints.
    pub fn emit<T: serde::Serialize>(self, value: &T, human: impl FnOnce()) {
        if self.json {
            print_json(value);
        } else {
            human();
        }
    }

    /// A line of text for people (nothing with `--json`: the JSON result carries it).
    pub fn say(self, text: &str) {
        if !self.json {
            out_line(&terminal_safe(text));
        }
    }

    /// Whether progress lines are worth printing: a person at a terminal, not `--json`/`-q`.
    pub fn progress(self) -> bool {
        !self.json && !self.quiet && std::io::stderr().is_terminal()
    }

    /// A progress line on stderr, when [`Output::progress`].
    pub fn progress_line(self, text: &str) {
        if self.progress() {
            eprintln!("{}", terminal_safe(text));
        }
    }
}

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

/// Asks `question` on the terminal and returns what was typed (trimmed); `None` with `--json`
/// or without a terminal — then core refuses with the sentence that names `--confirm`.
pub fn prompt_typed(question: &str, out: Output) -> Result<Option<String>, ApiError> {
    use std::io::BufRead;
    if out.is_json() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    eprint!("{question} ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Some(line.trim().to_string()))
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
    if !json && err.code == ErrorCode::ManagedByKubernetes {
        if let Some(details) = &err.details {
            eprint!("{}", kubernetes_hint(details));
        }
    }
}

/// Under a refused edit of a Kubernetes-owned load balancer: the Service annotations that would
/// make the edit (as YAML to paste into the Service) and the `kubectl` line that finds the
/// Service — what the JSON output carries in the error's details.
pub fn kubernetes_hint(details: &serde_json::Value) -> String {
    let mut out = String::new();
    let annotations: Vec<(&str, &str)> = details["annotations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((x["key"].as_str()?, x["value"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    if !annotations.is_empty() {
        out.push_str(
            "\nSet these annotations on the Service instead:\n\nmetadata:\n  annotations:\n",
        );
        for (key, value) in annotations {
            // JSON strings are valid YAML scalars: quoting keeps "true" and "443" strings,
            // as Kubernetes requires of annotation values.
            let value = serde_json::to_string(value).unwrap_or_default();
            out.push_str(&format!(
                "    {}: {}\n",
                terminal_safe(key),
                terminal_safe(&value)
            ));
        }
    }
    let unmapped: Vec<&str> = details["unmapped_fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if !unmapped.is_empty() {
        out.push_str(&format!(
            "\nNo annotation sets: {}\n",
            terminal_safe(&unmapped.join(", "))
        ));
    }
    if let Some(kubectl) = details["owner"]["kubectl"].as_str() {
        out.push_str(&format!(
            "\nFind the Service:\n\n  {}\n",
            terminal_safe(kubectl)
        ));
    }
    out
}

/// A left-aligned text table with a header row, fitted to the terminal's width (cells wrap)
/// when stdout is one; each cell made [`terminal_safe`] and cut to [`MAX_CELL_CHARS`].
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    out_line(&render_table(headers, rows));
}

/// [`print_table`]'s text.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    use comfy_table::{presets, ContentArrangement, Table};
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().map(|h| h.to_string()));
    for row in rows {
        table.add_row(row.iter().map(|c| cell(c)));
    }
    // Padding 0 left, 2 right: the plain look of the former hand-written table.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_strings_cannot_drive_the_terminal_or_forge_rows() {
        assert_eq!(
            terminal_safe("web\x1b]0;pwned\x07"),
            "web\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(terminal_safe("a\nb"), "a\\nb");
        assert_eq!(terminal_safe("plain-name"), "plain-name");
        let long = "x".repeat(1_000_000);
        let c = cell(&long);
        assert_eq!(c.chars().count(), MAX_CELL_CHARS);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn a_kubernetes_refusal_shows_the_annotations_as_yaml_and_the_kubectl_line() {
        let details = serde_json::json!({
            "owner": {"clusterId": "c1", "signals": [], "kubectl": "kubectl get svc -A -o json | jq 'x'"},
            "annotations": [
                {"key": "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", "value": "true"},
                {"key": "service.beta.kubernetes.io/do-loadbalancer-tls-ports", "value": "443\nx"},
            ],
            "unmapped_fields": ["vpc_uuid"],
        });
        let text = kubernetes_hint(&details);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"  annotations:"), "{text}");
        assert!(
            lines.contains(
                &"    service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: \"true\""
            ),
            "{text}"
        );
        // A value's newline cannot break the snippet into a forged line.
        assert!(
            lines
                .contains(&"    service.beta.kubernetes.io/do-loadbalancer-tls-ports: \"443\\nx\""),
            "{text}"
        );
        assert!(text.contains("No annotation sets: vpc_uuid"), "{text}");
        assert!(
            lines.contains(&"  kubectl get svc -A -o json | jq 'x'"),
            "{text}"
        );
        // Details without annotations (nothing mapped) still give the kubectl line only.
        let bare = kubernetes_hint(&serde_json::json!({"owner": {"kubectl": "kubectl get svc"}}));
        assert!(
            !bare.contains("annotations:") && bare.contains("kubectl get svc"),
            "{bare}"
        );
    }

    #[test]
    fn a_table_has_its_header_and_one_line_a_row() {
        let text = render_table(
            &["NAME", "STATUS"],
            &[
                vec!["web-lb".into(), "active".into()],
                vec!["evil\nrow".into(), "new".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("NAME"), "{text}");
        assert!(
            lines[1].starts_with("web-lb") && lines[1].contains("active"),
            "{text}"
        );
        assert!(lines[2].contains("evil\\nrow"), "{text}");
    }
}
