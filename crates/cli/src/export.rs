//! `cutover lb export LB --format json|doctl|terraform`: a load balancer as a create body, the
//! doctl command or the Terraform block that recreates it. `core::export` does the work; this
//! only prints, as text for people (ready to paste or redirect to a file) or, with `--json`, as
//! `{"format": …, "text": …}` so a script gets the text without guessing where it ends.

use std::process::ExitCode;

use cutover_core::context::Connection;
use cutover_core::export::{self, ExportFormat};
use cutover_core::ApiError;
use serde_json::json;

use crate::output::{print_json, Output};

/// The values `--format` takes (clap checks them before a session is opened).
pub const FORMATS: [&str; 3] = ["json", "doctl", "terraform"];

/// Exports the load balancer named `lb` (id, or unique name) through the session's connection.
pub async fn run(
    conn: &Connection,
    lb: &str,
    format: &str,
    out: Output,
) -> Result<ExitCode, ApiError> {
    let format: ExportFormat = format.parse()?;
    let text = export::export_load_balancer(conn, lb, format).await?;
    if out.is_json() {
        print_json(&json!({"format": format.as_str(), "text": text}));
    } else {
        // Line by line: `say` shows control characters escaped, and the exporters already keep
        // them out of the text (quoted for the shell, escaped for HCL and JSON).
        for line in text.lines() {
            out.say(line);
        }
    }
    Ok(ExitCode::SUCCESS)
}
