//! Giving freed memory back to the system on Linux (glibc).
//!
//! A big account's jobs — a 1,000-load-balancer list, a certificate check of 200 backends (200
//! TLS handshakes), a zone of 5,000 records — allocate tens of MB on tokio's worker threads and
//! free them when done; glibc keeps freed memory in its per-thread arenas, so the
//! app's process stayed 21–27 MB above a small account's after a minute idle (`ui_bench`).
//! `malloc_trim` hands the free pages of every arena back. (mimalloc as the allocator was tried
//! instead and held more.)

/// Starts the periodic trim on Tauri's async runtime (Linux with glibc; elsewhere nothing).
pub fn start_trimming() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::start();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::time::Duration;

    /// How often the free pages are handed back: rare enough to cost nothing (a trim walks the
    /// arenas in well under a millisecond when there is little to give back).
    const EVERY: Duration = Duration::from_secs(20);

    pub fn start() {
        tauri::async_runtime::spawn(async {
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // On a blocking thread: a trim after a big job may take a few milliseconds.
                let _ = tokio::task::spawn_blocking(|| {
                    // SAFETY: malloc_trim only returns free memory to the system; it takes no
                    // pointers and may be called from any thread at any time.
                    unsafe { libc::malloc_trim(0) }
                })
                .await;
            }
        });
    }
}
