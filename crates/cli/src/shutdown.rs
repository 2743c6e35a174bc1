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
