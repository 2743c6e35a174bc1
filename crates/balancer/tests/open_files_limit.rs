//! Issue 14 item 6: the balancer's own file-descriptor exhaustion is its problem, not a
//! backend's. This file holds one test on purpose: it lowers the open-files limit of its
//! process (process-wide), so it must run in a test binary of its own.
#![cfg(unix)]

mod common;

use std::fs::File;
use std::time::Duration;

use common::*;
use cutover_balancer::{BackendHealth, Balancer, Outcome};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The hard limit the test sets (the soft one starts at half of it).
const HARD: u64 = 256;

fn set_nofile(soft: u64, hard: u64) {
    let rl = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Opens files until the process is out of descriptors, then gives back `free` of them.
fn use_up_descriptors_but(free: usize) -> Vec<File> {
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                break;
            }
        }
    }
    assert!(held.len() > free, "nothing to give back");
    held.truncate(held.len() - free);
    held
}

/// Lets aborted tasks of earlier steps be dropped (with their sockets) before counting.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[test]
fn under_a_low_open_files_limit_the_backend_stays_healthy() {
    set_nofile(HARD / 2, HARD);
    // One thread: the steps below happen in a known order.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let backend = raw_backend("b").await;
        let handle = Balancer::start(config(&["shop.test"], &[&backend])).unwrap();

        // The soft limit was raised to the hard one, and 10,000 connections do not fit in 256:
        // the limit is clamped, and said so.
        let limit = handle.connection_limit().clone();
        assert_eq!(limit.configured, 10_000);
        assert_eq!(limit.open_files_limit, Some(HARD as u32));
        assert!(
            limit.effective >= 1 && u64::from(limit.effective) < HARD / 2,
            "{limit:?}"
        );
        let note = limit.note.clone().unwrap_or_default();
        assert!(
            note.contains(&format!(
                "raised the open-files limit from {} to {HARD}",
                HARD / 2
            )) && note.contains("max connections lowered from 10000"),
            "{note}"
        );

        let mut events = handle.subscribe();
        let hello = rustls_client_hello("shop.test").await;

        // 1. Two descriptors left: the client's socket and the one the balancer accepts. The
        //    connect to the backend then fails here with EMFILE: a local error, not the backend's.
        settle().await;
        let held = use_up_descriptors_but(2);
        let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
        s.write_all(&hello).await.unwrap();
        let record = closed_record(&mut events, s.local_addr().unwrap()).await;
        assert_eq!(record.outcome, Outcome::LocalError, "{:?}", handle.stats());
        assert!(closed_without_data(&mut s).await);
        drop(s);
        drop(held);
        let stats = handle.stats();
        assert_eq!(
            stats.backends[0].health,
            BackendHealth::Healthy,
            "{stats:?}"
        );
        assert_eq!(stats.backends[0].connect_failures, 0);
        // ...so the next client is relayed at once, not told "no healthy backend" for 10 s.
        let (_s, line) = hello_and_greeting(handle.local_addr(), &hello).await;
        assert_eq!(line.as_deref(), Some("b"));

        // 2. One descriptor left: the client gets it, the balancer's accept fails with EMFILE.
        //    It backs off and accepts the waiting client once descriptors are free again.
        settle().await;
        let held = use_up_descriptors_but(1);
        let mut s = TcpStream::connect(handle.local_addr()).await.unwrap();
        s.write_all(&hello).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
        let line = tokio::time::timeout(Duration::from_secs(3), read_line(&mut s))
            .await
            .expect("the waiting client was never accepted");
        assert_eq!(line.as_deref(), Some("b"));
        let stats = handle.stats();
        assert_eq!(stats.backends[0].health, BackendHealth::Healthy);
        assert_eq!(stats.backends[0].connect_failures, 0);
    });
}
