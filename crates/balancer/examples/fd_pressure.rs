//! Issue 14 item 6 under load: the balancer in this process under a low open-files limit, a
//! backend and many clients in a child process (this same program, run with `--load`), so that
//! only the balancer's own descriptors count against the limit. Prints what the balancer made
//! of it: its connection limit, how connections ended, and whether the backend stayed healthy.
//!
//! `cargo run -p cutover-balancer --example fd_pressure [-- SOFT HARD CLIENTS]`
//! (default 1024 1024 1000: a soft limit of 1,024 that cannot be raised, 1,000 clients at once).
//! Unix only; everything stays on 127.0.0.1.

#[cfg(not(unix))]
fn main() {
    eprintln!("fd_pressure runs on Unix only");
}

#[cfg(unix)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if args.get(1).map(String::as_str) == Some("--load") {
        let clients = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(1000);
        rt.block_on(unix::load(clients));
    } else {
        let num =
            |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
        rt.block_on(unix::balance(
            num(1, 1024),
            num(2, 1024),
            num(3, 1000) as usize,
        ));
    }
}

#[cfg(unix)]
mod unix {
    use std::collections::BTreeMap;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use cutover_balancer::{BackendConfig, Balancer, BalancerConfig, BalancerEvent};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    /// A real rustls ClientHello for `shop.test` (see testdata/README.md).
    const HELLO: &[u8] = include_bytes!("../testdata/rustls.bin");

    pub async fn balance(soft: u64, hard: u64, clients: usize) {
        // The child is started before the limit is lowered, so it keeps the usual one.
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .args(["--load", &clients.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the load process");
        let mut from_child = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut to_child = child.stdin.take().expect("stdin");
        let backend: std::net::SocketAddr = from_child
            .next_line()
            .await
            .expect("backend line")
            .expect("backend line")
            .parse()
            .expect("backend address");

        let rl = libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads the struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) }, 0);

        let handle = Balancer::start(BalancerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            domains: vec!["shop.test".into()],
            backends: vec![BackendConfig {
                name: "b".into(),
                addr: backend,
                display: None,
                health_check_addr: None,
            }],
            ..Default::default()
        })
        .expect("start the balancer");
        println!(
            "open-files limit set to {soft} (hard {hard}); connection limit: {}",
            serde_json::to_string(handle.connection_limit()).unwrap_or_default()
        );
        let mut events = handle.subscribe();
        let outcomes = tokio::spawn(async move {
            let mut counts = BTreeMap::new();
            let mut health = Vec::new();
            loop {
                match events.recv().await {
                    Ok(BalancerEvent::ConnectionClosed(r)) => {
                        *counts.entry(format!("{:?}", r.outcome)).or_insert(0u32) += 1;
                    }
                    Ok(BalancerEvent::BackendHealthChanged {
                        health: h, reason, ..
                    }) => {
                        health.push(format!("{h:?}: {reason}"));
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return (counts, health),
                }
            }
        });
        to_child
            .write_all(format!("{}\n", handle.local_addr()).as_bytes())
            .await
            .expect("tell the child");
        while let Ok(Some(line)) = from_child.next_line().await {
            println!("load: {line}");
        }
        let _ = child.wait().await;
        let stats = handle.stop(Duration::from_secs(1)).await;
        let (counts, health) = outcomes.await.unwrap_or_default();
        let b = &stats.backends[0];
        println!(
            "balancer: outcomes {counts:?}; backend health {:?}, connect failures {}, health changes {health:?}",
            b.health, b.connect_failures
        );
    }

    pub async fn load(clients: usize) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                tokio::spawn(async move {
                    let mut buf = vec![0u8; HELLO.len()];
                    if s.read_exact(&mut buf).await.is_ok() && s.write_all(b"b\n").await.is_ok() {
                        let _ = s.read(&mut [0u8; 1]).await;
                    }
                });
            }
        });
        let mut line = String::new();
        BufReader::new(tokio::io::stdin())
            .read_line(&mut line)
            .await
            .expect("balancer address");
        let balancer: std::net::SocketAddr = line.trim().parse().expect("balancer address");

        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            tasks.push(tokio::spawn(async move {
                let mut s = TcpStream::connect(balancer).await.ok()?;
                s.write_all(HELLO).await.ok()?;
                let mut greeting = [0u8; 2];
                let answered =
                    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut greeting))
                        .await
                        .is_ok_and(|r| r.is_ok());
                Some((s, answered))
            }));
        }
        let mut held = Vec::new();
        let (mut answered, mut refused, mut failed) = (0, 0, 0);
        for t in tasks {
            match t.await.ok().flatten() {
                Some((s, true)) => {
                    answered += 1;
                    held.push(s);
                }
                Some((_, false)) => refused += 1,
                None => failed += 1,
            }
        }
        println!(
            "{clients} clients at once: {answered} relayed, {refused} closed by the balancer, {failed} could not connect ({:.0?})",
            started.elapsed()
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let after = async {
            let mut s = TcpStream::connect(balancer).await.ok()?;
            s.write_all(HELLO).await.ok()?;
            let mut greeting = [0u8; 2];
            s.read_exact(&mut greeting).await.ok()?;
            Some(greeting == *b"b\n")
        };
        let relayed = tokio::time::timeout(Duration::from_secs(15), after).await;
        println!(
            "once the load is gone, a new client: {} after {:.0?}",
            match relayed {
                Ok(Some(true)) => "relayed",
                Ok(_) => "refused",
                Err(_) => "no answer",
            },
            t.elapsed()
        );
    }
}
