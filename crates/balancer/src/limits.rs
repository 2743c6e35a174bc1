//! This machine's limits, so that running out of them is the balancer's problem to say, not a
//! backend's fault: the open-files limit (raised at start where allowed, and the connection
//! limit clamped to what it can hold), errors that mean "this machine is out of something"
//! (never counted against a backend), and a backoff with a rate-limited log for failed accepts.

use std::io;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// File descriptors left for what the process opens after the start (log files, API calls,
/// health-check sockets come on top) when working out how many connections fit; what is open
/// at the start is counted as it is. Running out anyway is handled: accepts back off and a
/// failed connect is not blamed on the backend.
const RESERVED_FDS: u64 = 32;
/// A relayed connection holds two: the client's socket and the one to the backend.
const FDS_PER_CONNECTION: u64 = 2;

/// How many connections the balancer allows at once, and why when that is fewer than asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionLimit {
    /// `max_connections` as configured.
    pub configured: u32,
    /// What the balancer enforces: the configured figure, or fewer when the open-files limit
    /// cannot hold that many (more clients are then closed at once as over the limit, instead of
    /// failing on "too many open files").
    pub effective: u32,
    /// The process's open-files limit (soft) after the start, when the OS has one.
    pub open_files_limit: Option<u32>,
    /// In words, when the open-files limit was raised or the connections were clamped.
    pub note: Option<String>,
}

/// Raises the soft open-files limit toward what `configured` connections need (never past the
/// hard limit), then clamps the connection limit to what the soft limit can hold.
pub(crate) fn connection_limit(configured: u32, backends: usize) -> ConnectionLimit {
    let mut limit = ConnectionLimit {
        configured,
        effective: configured,
        open_files_limit: None,
        note: None,
    };
    let Some((soft, hard)) = os::nofile() else {
        return limit;
    };
    let reserve = RESERVED_FDS + backends as u64;
    let need = u64::from(configured) * FDS_PER_CONNECTION + reserve;
    let mut notes = Vec::new();
    let mut soft_now = soft;
    if soft < need && hard > soft {
        let target = need.min(hard);
        match os::raise_soft(target) {
            Ok(raised) => {
                soft_now = raised;
                notes.push(format!(
                    "raised the open-files limit from {soft} to {raised}"
                ));
            }
            Err(e) => notes.push(format!(
                "could not raise the open-files limit from {soft}: {e}"
            )),
        }
    }
    limit.open_files_limit = Some(u32::try_from(soft_now).unwrap_or(u32::MAX));
    let open_now = os::open_fds().unwrap_or(0);
    let fits = soft_now.saturating_sub(open_now + reserve) / FDS_PER_CONNECTION;
    if fits < u64::from(configured) {
        // At least one: a balancer that refuses everyone would hide the cause.
        limit.effective = u32::try_from(fits).unwrap_or(u32::MAX).max(1);
        notes.push(format!(
            "max connections lowered from {configured} to {}: the open-files limit is {soft_now} \
             ({open_now} already open, {FDS_PER_CONNECTION} per connection, {reserve} kept free); \
             raise it (ulimit -n) to allow more",
            limit.effective
        ));
    }
    if !notes.is_empty() {
        limit.note = Some(notes.join("; "));
    }
    limit
}

/// True when `err` means this machine is out of something (file descriptors, ports, buffers,
/// memory), not that the peer refused: such a failure says nothing about a backend's health.
pub(crate) fn is_local_exhaustion(err: &io::Error) -> bool {
    if let Some(code) = err.raw_os_error() {
        if os::EXHAUSTION_CODES.contains(&code) {
            return true;
        }
    }
    matches!(
        err.kind(),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::OutOfMemory
    )
}

/// The first wait after a failed accept; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one "accept failed" line per this long; the next says how many were not logged.
pub(crate) const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Backoff and log rate for failed accepts: out of file descriptors, the listener would
/// otherwise be woken again at once and log on every wake-up.
#[derive(Debug, Default)]
pub(crate) struct AcceptErrors {
    backoff: Option<Duration>,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// How long to wait before the next accept, and the line to log now, if any.
    pub(crate) fn failed(&mut self, err: &io::Error, now: Instant) -> (Duration, Option<String>) {
        let wait = match self.backoff {
            None => ACCEPT_BACKOFF_MIN,
            Some(d) => (d * 2).min(ACCEPT_BACKOFF_MAX),
        };
        self.backoff = Some(wait);
        let due = self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= ACCEPT_LOG_EVERY);
        if !due {
            self.unlogged += 1;
            return (wait, None);
        }
        let mut line = if is_local_exhaustion(err) {
            format!(
                "accept failed: this machine is out of file descriptors or memory ({err}); \
                 new connections wait until some close — lower max connections or raise the \
                 open-files limit (ulimit -n)"
            )
        } else {
            format!("accept failed: {err}")
        };
        if self.unlogged > 0 {
            line.push_str(&format!(" ({} more since the last report)", self.unlogged));
        }
        self.unlogged = 0;
        self.last_log = Some(now);
        (wait, Some(line))
    }

    /// An accept worked: the next failure starts the backoff again.
    pub(crate) fn succeeded(&mut self) {
        self.backoff = None;
    }
}

#[cfg(unix)]
mod os {
    use std::io;

    pub const EXHAUSTION_CODES: [i32; 5] = [
        libc::EMFILE,
        libc::ENFILE,
        libc::ENOBUFS,
        libc::ENOMEM,
        libc::EADDRNOTAVAIL,
    ];

    /// (soft, hard) RLIMIT_NOFILE.
    pub fn nofile() -> Option<(u64, u64)> {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
        // rlim_t is u64 on Linux and macOS, not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        (rc == 0).then_some((rl.rlim_cur as u64, rl.rlim_max as u64))
    }

    /// Sets the soft limit to `target` (at most the hard limit), returning what is in force.
    pub fn raise_soft(target: u64) -> io::Result<u64> {
        let (_, hard) = nofile().ok_or_else(io::Error::last_os_error)?;
        let mut wanted = target.min(hard);
        // macOS refuses a soft limit above OPEN_MAX (10240) whatever the hard limit says.
        if cfg!(target_os = "macos") {
            wanted = wanted.min(10_240);
        }
        let rl = libc::rlimit {
            rlim_cur: wanted as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(nofile().map(|(soft, _)| soft).unwrap_or(wanted))
    }

    /// How many file descriptors the process has open now (Linux and macOS list them).
    pub fn open_fds() -> Option<u64> {
        ["/proc/self/fd", "/dev/fd"]
            .iter()
            .find_map(|dir| std::fs::read_dir(dir).ok())
            .map(|entries| entries.count() as u64)
    }
}

#[cfg(windows)]
mod os {
    /// WSAEMFILE, WSAENOBUFS, WSAEADDRNOTAVAIL.
    pub const EXHAUSTION_CODES: [i32; 3] = [10024, 10055, 10049];

    // Windows has no open-files limit for sockets.
    pub fn nofile() -> Option<(u64, u64)> {
        None
    }
    pub fn raise_soft(_: u64) -> std::io::Result<u64> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    pub fn open_fds() -> Option<u64> {
        None
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    pub const EXHAUSTION_CODES: [i32; 0] = [];
    pub fn nofile() -> Option<(u64, u64)> {
        None
    }
    pub fn raise_soft(_: u64) -> std::io::Result<u64> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    pub fn open_fds() -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_is_told_apart_from_a_refusing_peer() {
        #[cfg(unix)]
        {
            assert!(is_local_exhaustion(&io::Error::from_raw_os_error(
                libc::EMFILE
            )));
            assert!(is_local_exhaustion(&io::Error::from_raw_os_error(
                libc::ENFILE
            )));
            assert!(!is_local_exhaustion(&io::Error::from_raw_os_error(
                libc::ECONNREFUSED
            )));
            assert!(!is_local_exhaustion(&io::Error::from_raw_os_error(
                libc::ECONNRESET
            )));
        }
        assert!(!is_local_exhaustion(&io::ErrorKind::TimedOut.into()));
    }

    #[test]
    fn failed_accepts_back_off_and_log_at_most_once_per_period() {
        let mut errors = AcceptErrors::default();
        let emfile = io::Error::other("Too many open files");
        let t0 = Instant::now();
        let (w1, log1) = errors.failed(&emfile, t0);
        assert_eq!(w1, ACCEPT_BACKOFF_MIN);
        assert!(log1.is_some());
        let mut waits = vec![w1];
        // Twenty failures a second for three seconds: no more lines, a growing wait.
        for i in 1..60u32 {
            let (w, log) = errors.failed(&emfile, t0 + Duration::from_millis(50) * i);
            assert!(log.is_none(), "logged again after {i} failures");
            waits.push(w);
        }
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), ACCEPT_BACKOFF_MAX);
        let (_, log) = errors.failed(&emfile, t0 + ACCEPT_LOG_EVERY);
        let log = log.expect("a report once the period is over");
        assert!(log.contains("59 more"), "{log}");
        errors.succeeded();
        assert_eq!(
            errors.failed(&emfile, t0 + ACCEPT_LOG_EVERY * 2).0,
            ACCEPT_BACKOFF_MIN
        );
    }

    #[test]
    fn the_connection_limit_never_asks_for_more_than_the_limit_holds() {
        let limit = connection_limit(10, 1);
        assert_eq!(limit.configured, 10);
        assert!(limit.effective >= 1 && limit.effective <= 10);
        let huge = connection_limit(u32::MAX, 1);
        if let Some(soft) = huge.open_files_limit {
            assert!(u64::from(huge.effective) * 2 <= u64::from(soft), "{huge:?}");
            assert!(huge.note.is_some());
        }
    }
}
