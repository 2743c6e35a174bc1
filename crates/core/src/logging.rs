//! Logging for every front end: a rolling file in the OS log directory, a bounded in-memory
//! buffer the UI reads and follows live, and redaction in front of both.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::redact::redact;

/// How many entries the UI's log view can scroll back through.
pub const DEFAULT_LOG_CAPACITY: usize = 2_000;

/// One log line as the UI shows it. Already redacted.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Increases by one per entry; lets the UI resume after a gap.
    pub seq: u32,
    /// RFC 3339, UTC.
    pub time: String,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    pub target: String,
    pub message: String,
}

/// The bounded buffer of recent entries, and a live feed of new ones.
#[derive(Clone)]
pub struct LogHub {
    inner: Arc<Mutex<HubState>>,
    live: broadcast::Sender<LogEntry>,
}

struct HubState {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    next_seq: u32,
}

impl LogHub {
    pub fn new(capacity: usize) -> Self {
        let (live, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Mutex::new(HubState {
                entries: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
                next_seq: 0,
            })),
            live,
        }
    }

    /// The buffered entries, oldest first.
    pub fn snapshot(&self) -> Vec<LogEntry> {
        match self.inner.lock() {
            Ok(state) => state.entries.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().entries.iter().cloned().collect(),
        }
    }

    /// New entries as they are recorded.
    pub fn subscribe(&self) -> broadcast::Receiver<LogEntry> {
        self.live.subscribe()
    }

    pub fn push(&self, level: &Level, target: &str, message: &str) {
        let mut state = match self.inner.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = LogEntry {
            seq: state.next_seq,
            time: now_rfc3339(),
            level: level.as_str().to_string(),
            target: target.to_string(),
            message: redact(message).into_owned(),
        };
        state.next_seq = state.next_seq.wrapping_add(1);
        if state.entries.len() >= state.capacity {
            state.entries.pop_front();
        }
        state.entries.push_back(entry.clone());
        drop(state);
        // Nobody listening is fine: the buffer still has it.
        let _ = self.live.send(entry);
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A `tracing` layer that records events into a [`LogHub`].
pub struct HubLayer {
    hub: LogHub,
}

impl HubLayer {
    pub fn new(hub: LogHub) -> Self {
        Self { hub }
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            self.fields
                .push_str(&format!("{}={:?}", field.name(), value));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl<S: Subscriber> Layer<S> for HubLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let text = if visitor.fields.is_empty() {
            visitor.message
        } else if visitor.message.is_empty() {
            visitor.fields
        } else {
            format!("{} {}", visitor.message, visitor.fields)
        };
        let meta = event.metadata();
        self.hub.push(meta.level(), meta.target(), &text);
    }
}

/// Wraps a writer so that every line is redacted before it reaches the file or the terminal.
#[derive(Clone)]
pub struct Redacting<M>(pub M);

pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // `fmt` hands over one whole formatted event per call, so a secret is never split.
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Where and how much to log.
pub struct LogOptions {
    /// Directory of the rolling log file; `None` for no file.
    pub dir: Option<PathBuf>,
    /// Also write to stderr (the CLI does; the app does in debug builds).
    pub stderr: bool,
    /// Default filter when `RUST_LOG` is not set, e.g. `info`.
    pub default_filter: String,
    pub capacity: usize,
}

/// Keeps the file writer flushing; drop it last.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber. Returns the hub the UI reads from.
pub fn init(options: LogOptions) -> io::Result<(LogHub, LogGuard)> {
    let hub = LogHub::new(options.capacity);
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(&options.default_filter))
    };
    let mut file_guard = None;
    let file_layer = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("cutover")
                .filename_suffix("log")
                .max_log_files(7)
                .build(dir)
                .map_err(io::Error::other)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            file_guard = Some(guard);
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Redacting(writer))
                    .with_filter(filter()),
            )
        }
        None => None,
    };
    let stderr_layer = options.stderr.then(|| {
        // Colours only for a person at a terminal: escape codes in a redirected log or a CI
        // capture are noise.
        let ansi = std::io::IsTerminal::is_terminal(&io::stderr());
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(Redacting(io::stderr))
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(HubLayer::new(hub.clone()).with_filter(filter()))
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .map_err(io::Error::other)?;
    Ok((hub, LogGuard { _file: file_guard }))
}

/// The conventional log directory for an app id, when the OS has one.
pub fn default_log_dir(base: &Path) -> PathBuf {
    base.join("logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_is_bounded_and_keeps_newest() {
        let hub = LogHub::new(3);
        for i in 0..5 {
            hub.push(&Level::INFO, "t", &format!("line {i}"));
        }
        let entries = hub.snapshot();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].message, "line 2");
        assert_eq!(entries[2].message, "line 4");
        assert_eq!(entries[2].seq, 4);
    }

    #[test]
    fn hub_redacts_before_storing() {
        let hub = LogHub::new(10);
        hub.push(
            &Level::WARN,
            "t",
            "Authorization: Bearer secret-token-value",
        );
        let entry = &hub.snapshot()[0];
        assert!(
            !entry.message.contains("secret-token-value"),
            "{}",
            entry.message
        );
    }

    #[test]
    fn layer_captures_events_with_fields_redacted() {
        let hub = LogHub::new(10);
        let subscriber = tracing_subscriber::registry().with(HubLayer::new(hub.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(token = "dop_v1_aaaaaaaaaaaaaaaaaaaaaaaa", "account added");
        });
        let entries = hub.snapshot();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].message.starts_with("account added"));
        assert!(
            !entries[0].message.contains("aaaaaaaa"),
            "{}",
            entries[0].message
        );
        assert_eq!(entries[0].level, "INFO");
    }

    #[test]
    fn redacting_writer_scrubs_file_output() {
        let mut out = Vec::new();
        {
            let mut writer = RedactingWriter(&mut out);
            writer
                .write_all(b"request with authorization: Bearer abc123456789xyz\n")
                .unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("abc123456789xyz"), "{text}");
    }
}
