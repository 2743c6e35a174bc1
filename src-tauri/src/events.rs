//! Events the backend pushes to the UI.

use serde::{Deserialize, Serialize};

/// A new log line, already redacted.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct LogEvent(pub cutover_core::logging::LogEntry);
