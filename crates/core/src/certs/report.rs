//! A certificate check's report as Markdown or JSON, its suggested file name, and saving it:
//! always through [`crate::files::write_atomic`], so a failed write leaves no half-written
//! report and says why (`details.reason`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::FleetReport;
use crate::files::{write_atomic, write_error};
use crate::{ApiError, ErrorCode};

/// How to save a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Markdown,
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown: verdict, comparison table, findings, and the commands to reproduce.
pub fn report_markdown(report: &FleetReport) -> String {
    let mut md = format!(
        "# Certificate check: {}\n\n**Verdict:** {}\n\n",
        report.domain,
        md_cell(&report.verdict.summary)
    );
    md.push_str("| Backend | Address | Group | SHA-256 | Subject | Issuer | Not after | TLS | Worst finding |\n|---|---|---|---|---|---|---|---|---|\n");
    for b in &report.backends {
        let group = b
            .leaf
            .as_ref()
            .and_then(|l| report.groups.iter().find(|g| g.sha256 == l.sha256))
            .map(|g| g.name.as_str())
            .unwrap_or("—");
        let leaf = b.leaf.as_ref();
        md.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} |\n",
            md_cell(&b.label),
            md_cell(&b.address),
            group,
            leaf.map(|l| l.sha256.get(..16).unwrap_or(&l.sha256))
                .unwrap_or("—"),
            md_cell(leaf.map(|l| l.subject.as_str()).unwrap_or("—")),
            md_cell(leaf.map(|l| l.issuer.as_str()).unwrap_or("—")),
            leaf.map(|l| l.not_after.as_str()).unwrap_or("—"),
            b.protocol.as_deref().unwrap_or("—"),
            b.severity.map(|s| s.as_str()).unwrap_or("none"),
        ));
    }
    if !report.findings.is_empty() {
        md.push_str("\n## Fleet findings\n\n");
        for f in &report.findings {
            md.push_str(&format!(
                "- **{}** `{}`: {}\n",
                f.severity.as_str(),
                f.code,
                md_cell(&f.message)
            ));
        }
    }
    for b in &report.backends {
        md.push_str(&format!("\n## {} ({})\n\n", md_cell(&b.label), b.address));
        if b.findings.is_empty() {
            md.push_str("No findings.\n");
        }
        for f in &b.findings {
            md.push_str(&format!(
                "- **{}** `{}`: {}\n",
                f.severity.as_str(),
                f.code,
                md_cell(&f.message)
            ));
        }
        md.push_str(&format!("\n```\n{}\n```\n", b.openssl_command));
    }
    // The fix (which certificate to keep, the steps per droplet), when the backends disagree.
    if let Some(remedy) = &report.remedy {
        md.push('\n');
        md.push_str(&remedy.markdown());
    }
    md
}

impl ReportFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
        }
    }
}

/// The report's text in `format`.
pub fn render_report(report: &FleetReport, format: ReportFormat) -> Result<String, ApiError> {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(report)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string())),
        ReportFormat::Markdown => Ok(report_markdown(report)),
    }
}

/// The file name the save dialog suggests: `cutover-certs-<domain>.<ext>`.
pub fn report_file_name(domain: &str, format: ReportFormat) -> String {
    format!(
        "cutover-certs-{}.{}",
        safe_file_part(domain),
        format.extension()
    )
}

fn safe_file_part(s: &str) -> String {
    let safe: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "report".to_string()
    } else {
        safe
    }
}

/// Writes the report to `path`, the file the user chose in the save dialog (which already asked
/// before replacing an existing file). The extension of `format` is added when the name has
/// another one, so a command of the webview can only ever write `.json` or `.md` files.
///
/// The write is atomic: a temporary file beside the target, flushed to disk, then renamed over
/// it, so a failure (disk full, folder removed) never leaves a half-written report behind.
pub fn save_report_to(
    report: &FleetReport,
    format: ReportFormat,
    path: &Path,
) -> Result<PathBuf, ApiError> {
    if !path.is_absolute() {
        return Err(ApiError::invalid_input(format!(
            "{} is not an absolute path: choose the file in the save dialog",
            path.display()
        ))
        .with_details(serde_json::json!({ "field": "path" })));
    }
    let text = render_report(report, format)?;
    let ext = format.extension();
    let path = if path.extension().and_then(|e| e.to_str()) == Some(ext) {
        path.to_path_buf()
    } else {
        let mut name = path.file_name().map(|n| n.to_os_string()).ok_or_else(|| {
            ApiError::invalid_input(format!("{} is not a file name", path.display()))
                .with_details(serde_json::json!({ "field": "path" }))
        })?;
        name.push(format!(".{ext}"));
        path.with_file_name(name)
    };
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Writes the report into `dir` under a name made from the domain and the time, and returns the
/// path written. (What runs when the save dialog is skipped: the CLI, and the app under the
/// end-to-end tests.) A name already taken gets a `-1`, `-2`… suffix, so an earlier report is
/// not replaced; the write itself goes through [`write_atomic`] like every saved file.
pub fn export_report(
    report: &FleetReport,
    format: ReportFormat,
    dir: &Path,
) -> Result<PathBuf, ApiError> {
    let text = render_report(report, format)?;
    let ext = format.extension();
    let safe = safe_file_part(&report.domain);
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, &e))?;
    for n in 0..1000 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("cutover-certs-{safe}-{stamp}{suffix}.{ext}"));
        if path.symlink_metadata().is_ok() {
            continue;
        }
        write_atomic(&path, text.as_bytes())?;
        return Ok(path);
    }
    Err(ApiError::new(
        ErrorCode::Io,
        format!("could not find a free file name in {}", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_report() -> FleetReport {
        cutover_certs::build_report("shop.test", Vec::new())
    }

    #[test]
    fn saving_adds_the_extension_replaces_atomically_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let report = empty_report();
        // The dialog's name without an extension gets the format's.
        let md = save_report_to(&report, ReportFormat::Markdown, &dir.path().join("r")).unwrap();
        assert_eq!(md, dir.path().join("r.md"));
        assert!(std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("# Certificate check: shop.test"));
        // Another extension cannot be smuggled in: `.json` is added after `.sh`.
        let json = save_report_to(&report, ReportFormat::Json, &dir.path().join("x.sh")).unwrap();
        assert_eq!(json, dir.path().join("x.sh.json"));
        // An existing file (the dialog asked) is replaced in one piece.
        std::fs::write(&json, "old").unwrap();
        let again = save_report_to(&report, ReportFormat::Json, &json).unwrap();
        let back: FleetReport =
            serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
        assert_eq!(back, report);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["r.md", "x.sh.json"]);
    }

    #[test]
    fn a_folder_that_is_gone_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("removed").join("report.json");
        let err = save_report_to(&empty_report(), ReportFormat::Json, &path).unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert_eq!(err.details.as_ref().unwrap()["reason"], "directory_missing");
        assert!(err.message.contains("no longer exists"), "{}", err.message);
    }

    #[test]
    fn report_file_names_are_safe() {
        assert_eq!(
            report_file_name("*.shop.test", ReportFormat::Json),
            "cutover-certs-_.shop.test.json"
        );
    }

    #[test]
    fn an_export_never_replaces_an_earlier_report() {
        let dir = tempfile::tempdir().unwrap();
        let report = empty_report();
        let first = export_report(&report, ReportFormat::Json, dir.path()).unwrap();
        let second = export_report(&report, ReportFormat::Json, dir.path()).unwrap();
        assert_ne!(first, second);
        for path in [&first, &second] {
            let back: FleetReport =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert_eq!(back, report);
        }
        // Only the two reports: no temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_export_into_a_file_says_why_it_failed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let err = export_report(&empty_report(), ReportFormat::Markdown, &file).unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert!(
            err.details.as_ref().unwrap().get("reason").is_some(),
            "{err:?}"
        );
    }
}
