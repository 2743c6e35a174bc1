//! Stopping long-running commands (`balance`, `sandbox serve`) the way terminals and service
//! managers ask: Ctrl-C anywhere, SIGTERM on Unix.

use std::future::Future;

/// Ctrl-C anywhere, SIGTERM on Unix. Call it before printing the ready line: on Unix the
/// handlers are installed by this call, not when the future is first polled, so a signal sent
/// as soon as the line is read stops the command cleanly instead of killing it.
pub fn stop_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match term {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                match interrupt {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                _ = term => {}
                _ = interrupt => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs `job` until it ends or the user presses Ctrl-C (or SIGTERM). Interrupted, it says on
/// stderr what was in flight and what to check (`in_flight`), then exits with 130 as shells
/// expect: a write interrupted half-way is never left without a word.
pub async fn interruptible<T>(
    job: impl Future<Output = T>,
    in_flight: &str,
) -> Result<T, cutover_core::ApiError> {
    let stop = stop_signal();
    tokio::select! {
        out = job => Ok(out),
        () = stop => {
            eprintln!("cutover: {in_flight}");
            std::process::exit(130);
        }
    }
}
