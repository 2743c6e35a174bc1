//! Side-by-side benchmark: the same TLS load directly to a backend, through Cutover's balancer,
//! and through HAProxy (`mode tcp` + `req.ssl_sni`), in one run, printing ratios.
//!
//! `cargo bench -p cutover-balancer --bench passthrough` (see BENCH.md). The backend and the
//! balancer run as child processes of this binary (re-executed with `CUTOVER_BENCH_ROLE`), so
//! the balancer's memory can be read from its own RSS and file-descriptor limits are per process.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DOMAIN: &str = "bench.test";
const BULK_CONNS: usize = 4;
/// Bulk and connection-rate figures: this many rounds, the targets in rotating order within each
/// round (6 = each target in each position twice); a ratio is the median of the per-round
/// ratios (each pair measured within a second of each other).
const ROUNDS: usize = 6;
// Per connection and round: 1 GiB a round, ~0.4–0.7 s per target here, long enough that the
// connections' ramp-up and the 10 ms resolution of the CPU-time counters do not dominate.
const BULK_BYTES: u64 = 256 * 1024 * 1024;
const RATE_CONCURRENCY: usize = 32;
const RATE_MILLIS: u64 = 1000; // per round
/// Latency: blocks × pings per target, the targets' pings interleaved one by one.
const LATENCY_BLOCKS: usize = 7;
const PINGS: usize = 1000;
const WARMUP_PINGS: usize = 200;
const IDLE_CONNS: usize = 10_000;

fn main() {
    match std::env::var("CUTOVER_BENCH_ROLE").as_deref() {
        Ok("backend") => return role_backend(),
        Ok("balancer") => return role_balancer(),
        _ => {}
    }
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench binaries without `--bench`: don't run a
        // two-minute load test (in debug) there.
        eprintln!("passthrough: run it with `cargo bench -p cutover-balancer --bench passthrough`");
        return;
    }
    let limit = raise_nofile_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run_all(limit));
}

/// Raises the open-files limit as far as allowed (root may raise the hard limit too);
/// returns the soft limit in force.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
fn raise_nofile_limit() -> u64 {
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        let want = 65_536u64.max(lim.rlim_cur as u64);
        let raised = libc::rlimit {
            rlim_cur: want as libc::rlim_t,
            rlim_max: (want as libc::rlim_t).max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        lim.rlim_cur as u64
    }
}

// ---------------------------------------------------------------------------------------------
// Child roles

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS backend. After the handshake, one command byte: `B` + u64 length → that many bytes;
/// `P` → echo 64-byte messages; `H` → one byte, close; `I` → hold until the client closes.
fn role_backend() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ck = rcgen::generate_simple_self_signed(vec![DOMAIN.to_string()]).expect("cert");
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = bind_big_backlog().await;
        println!("{}", listener.local_addr().expect("addr"));
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = s.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut cmd = [0u8; 1];
                if tls.read_exact(&mut cmd).await.is_err() {
                    return;
                }
                match cmd[0] {
                    b'B' => {
                        let mut len = [0u8; 8];
                        if tls.read_exact(&mut len).await.is_err() {
                            return;
                        }
                        let mut left = u64::from_le_bytes(len);
                        let chunk = vec![0x5au8; 256 * 1024];
                        while left > 0 {
                            let n = left.min(chunk.len() as u64) as usize;
                            if tls.write_all(&chunk[..n]).await.is_err() {
                                return;
                            }
                            left -= n as u64;
                        }
                        let _ = tls.flush().await;
                        let _ = tls.shutdown().await;
                    }
                    b'P' => {
                        let mut msg = [0u8; 64];
                        while tls.read_exact(&mut msg).await.is_ok() {
                            if tls.write_all(&msg).await.is_err() || tls.flush().await.is_err() {
                                return;
                            }
                        }
                    }
                    b'H' => {
                        let _ = tls.write_all(b"!").await;
                        let _ = tls.flush().await;
                        let _ = tls.shutdown().await;
                    }
                    _ => {
                        let mut sink = [0u8; 16];
                        while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                }
            });
        }
    });
}

async fn bind_big_backlog() -> TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    socket.listen(4096).expect("listen")
}

/// Cutover's balancer in front of the backend whose address is the first argument.
fn role_balancer() {
    let backend: SocketAddr = std::env::var("CUTOVER_BENCH_BACKEND")
        .expect("backend env")
        .parse()
        .expect("backend addr");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let config = cutover_balancer::BalancerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            domains: vec![DOMAIN.into()],
            backends: vec![cutover_balancer::BackendConfig {
                name: "backend".into(),
                addr: backend,
                display: None,
                health_check_addr: None,
            }],
            max_connections: 30_000,
            idle_timeout_ms: 600_000,
            ..Default::default()
        };
        let handle = cutover_balancer::Balancer::start(config).expect("start");
        println!("{}", handle.local_addr());
        // Run until the parent closes our stdin.
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 16];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        handle.stop(Duration::from_millis(100)).await;
    });
}

// ---------------------------------------------------------------------------------------------
// The parent: load generator and comparison

struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_role(role: &str, backend: Option<SocketAddr>) -> Proc {
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    cmd.env("CUTOVER_BENCH_ROLE", role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(b) = backend {
        cmd.env("CUTOVER_BENCH_BACKEND", b.to_string());
    }
    let mut child = cmd.spawn().expect("spawn child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("child address");
    let addr = line.trim().parse().expect("child printed its address");
    Proc { child, addr }
}

fn spawn_haproxy(backend: SocketAddr, dir: &std::path::Path, maxconn: usize) -> Option<Proc> {
    let bin = [
        "/usr/sbin/haproxy",
        "/usr/local/sbin/haproxy",
        "/usr/bin/haproxy",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    // HAProxy copies through user space unless kernel splicing is switched on (it is off by
    // default); `CUTOVER_BENCH_HAPROXY_SPLICE=1` gives it its fast path too (BENCH.md). Its
    // pipes need descriptors: by default maxconn/4 pipes, 2 descriptors each, which the 20,000
    // descriptor limit here does not allow next to the idle connections, so 8 (the bulk load
    // keeps at most 4 directions busy).
    let (pipes, splice) = if std::env::var_os("CUTOVER_BENCH_HAPROXY_SPLICE").is_some() {
        eprintln!("haproxy: option splice-auto, maxpipes 8");
        ("  maxpipes 8\n", "  option splice-auto\n")
    } else {
        ("", "")
    };
    let cfg = format!(
        "global\n  maxconn {maxconn}\n  nbthread 2\n{pipes}\
         defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 600s\n  timeout server 600s\n{splice}\
         frontend fe\n  bind 127.0.0.1:{port}\n  tcp-request inspect-delay 5s\n\
           tcp-request content accept if {{ req_ssl_hello_type 1 }}\n\
           use_backend be if {{ req.ssl_sni -i {DOMAIN} }}\n\
         backend be\n  server s1 {backend}\n"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).ok()?;
    let child = Command::new(bin)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Some(Proc { child, addr });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls_pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls_pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> tokio_rustls::TlsConnector {
    let p = provider();
    let mut config = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(p)))
        .with_no_client_auth();
    // Every connection is a full handshake: a proxy's new-connection rate, not resumption's.
    config.resumption = rustls::client::Resumption::disabled();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn open(connector: &tokio_rustls::TlsConnector, addr: SocketAddr) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = rustls_pki_types::ServerName::try_from(DOMAIN).expect("name");
    connector.connect(name, tcp).await
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    bulk_gbit: f64,
    conns_per_s: f64,
    rtt_median_us: f64,
    /// Median (over blocks) of the median paired difference to the direct path's RTT.
    added_us: f64,
    idle_kib_per_conn: Option<f64>,
}

async fn bulk(connector: &tokio_rustls::TlsConnector, addr: SocketAddr) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..BULK_CONNS {
        let (c, a) = (connector.clone(), addr);
        tasks.push(tokio::spawn(async move {
            let mut tls = open(&c, a).await.expect("bulk connect");
            let mut cmd = vec![b'B'];
            cmd.extend_from_slice(&BULK_BYTES.to_le_bytes());
            tls.write_all(&cmd).await.expect("bulk cmd");
            tls.flush().await.expect("flush");
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = 0u64;
            while got < BULK_BYTES {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n as u64,
                }
            }
            got
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("bulk task");
    }
    assert_eq!(
        total,
        BULK_BYTES * BULK_CONNS as u64,
        "bulk transfer incomplete"
    );
    total as f64 * 8.0 / started.elapsed().as_secs_f64() / 1e9
}

/// New TLS connections per second, and how many were made.
async fn conn_rate(connector: &tokio_rustls::TlsConnector, addr: SocketAddr) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..RATE_CONCURRENCY {
        let (c, stop, done, failed) = (
            connector.clone(),
            stop.clone(),
            done.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = async {
                    let mut tls = open(&c, addr).await.ok()?;
                    tls.write_all(b"H").await.ok()?;
                    tls.flush().await.ok()?;
                    let mut b = [0u8; 1];
                    tls.read_exact(&mut b).await.ok()?;
                    Some(())
                }
                .await;
                if ok.is_some() {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(RATE_MILLIS)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let f = failed.load(Ordering::Relaxed);
    if f > 0 {
        eprintln!("  ({f} connections failed)");
    }
    let done = done.load(Ordering::Relaxed);
    (done as f64 / started.elapsed().as_secs_f64(), done)
}

async fn ping(tls: &mut Tls) -> f64 {
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    let t = Instant::now();
    tls.write_all(&msg).await.expect("ping");
    tls.flush().await.expect("flush");
    tls.read_exact(&mut back).await.expect("pong");
    t.elapsed().as_secs_f64() * 1e6
}

/// Runs `work`, adding to `cpu` the CPU seconds each of `pids` ([backend, client, proxy]) used
/// meanwhile.
async fn add_cpu_time<T>(
    pids: [Option<u32>; 3],
    cpu: &mut [f64; 3],
    work: impl std::future::Future<Output = T>,
) -> T {
    let before = pids.map(|p| p.and_then(cpu_seconds));
    let out = work.await;
    for (i, p) in pids.iter().enumerate() {
        if let (Some(a), Some(b)) = (before[i], p.and_then(cpu_seconds)) {
            cpu[i] += b - a;
        }
    }
    out
}

/// "backend … client … proxy …" in ms: CPU seconds × `per` (per GiB, per 1,000 connections);
/// the direct path has no proxy.
fn cpu_row(cpu: [f64; 3], per: f64, direct: bool) -> String {
    let ms = |who: usize| format!("{:.0}", cpu[who] * 1000.0 * per);
    let proxy = if direct { "-".to_string() } else { ms(2) };
    format!(
        "backend {:>4}  client {:>4}  proxy {proxy:>4}",
        ms(0),
        ms(1)
    )
}

fn median_or_zero(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        median(&mut v.to_vec())
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// CPU time (user + system) a process has used so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces: state is
    // field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}

fn rss_kib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Opens `n` relayed TLS connections, leaves them idle, and returns the proxy's RSS growth per
/// connection (KiB).
async fn idle_memory(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    pid: u32,
    n: usize,
) -> Option<f64> {
    let before = rss_kib(pid)?;
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (c, sem) = (connector.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let mut tls = open(&c, addr).await.ok()?;
            tls.write_all(b"I").await.ok()?;
            tls.flush().await.ok()?;
            Some(tls)
        }));
    }
    let mut held = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(Some(tls)) = t.await {
            held.push(tls);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid)?;
    let opened = held.len();
    drop(held);
    if opened < n {
        eprintln!("  (only {opened} of {n} idle connections opened)");
    }
    (opened > 0).then(|| (after - before) / opened as f64)
}

/// Round-trip latency of a 64-byte ping over one TLS connection per target, measured so that a
/// shared, noisy machine hits every target alike: in each block every target gets a fresh
/// connection and warm-up pings, then the targets' pings are interleaved one by one (rotating
/// which goes first), so each direct ping has a cutover and a haproxy ping right next to it.
/// Per block: the median RTT of each target and the median of the paired differences
/// target − direct (the added latency). Returned: per target, the median over blocks of both
/// (median of medians), plus every block's added latency for the spread.
struct Latency {
    rtt_us: Vec<f64>,
    added_us: Vec<f64>,
    added_blocks_us: Vec<Vec<f64>>,
}

async fn latencies(connector: &tokio_rustls::TlsConnector, addrs: &[SocketAddr]) -> Latency {
    let n = addrs.len();
    let mut rtt_blocks: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut added_blocks: Vec<Vec<f64>> = vec![Vec::new(); n];
    for _ in 0..LATENCY_BLOCKS {
        let mut conns = Vec::with_capacity(n);
        for addr in addrs {
            let mut tls = open(connector, *addr).await.expect("ping connect");
            tls.write_all(b"P").await.expect("cmd");
            for _ in 0..WARMUP_PINGS {
                ping(&mut tls).await;
            }
            conns.push(tls);
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(PINGS); n];
        for i in 0..PINGS {
            for k in 0..n {
                let t = (i + k) % n;
                samples[t].push(ping(&mut conns[t]).await);
            }
        }
        for t in 0..n {
            let mut diffs: Vec<f64> = samples[t]
                .iter()
                .zip(&samples[0])
                .map(|(x, d)| x - d)
                .collect();
            added_blocks[t].push(median(&mut diffs));
            rtt_blocks[t].push(median(&mut samples[t]));
        }
    }
    Latency {
        rtt_us: rtt_blocks.iter_mut().map(|b| median(b)).collect(),
        added_us: added_blocks
            .iter()
            .map(|b| median(&mut b.clone()))
            .collect(),
        added_blocks_us: added_blocks,
    }
}

async fn run_all(nofile: u64) {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("cutover-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // Each idle connection costs the proxy 2 descriptors (client side + backend side); the client
    // sockets are in this process and the backend's in another, so the proxy's own limit is the
    // bound. 64 descriptors are left for the proxy's listener, epoll, stdio and health checks.
    let idle_n = IDLE_CONNS.min((nofile.saturating_sub(64) / 2) as usize);
    if idle_n < IDLE_CONNS {
        eprintln!(
            "open-files limit {nofile} (hard limit, cannot be raised here): measuring {idle_n} idle \
             connections instead of {IDLE_CONNS}: a proxy needs 2 descriptors per relayed connection"
        );
    }
    let backend = spawn_role("backend", None);
    let cutover = spawn_role("balancer", Some(backend.addr));
    let haproxy = spawn_haproxy(backend.addr, &dir, idle_n + 10);
    let connector = connector();

    let mut targets: Vec<(&str, SocketAddr, Option<u32>)> = vec![
        ("direct", backend.addr, None),
        ("cutover", cutover.addr, Some(cutover.child.id())),
    ];
    match &haproxy {
        Some(h) => targets.push(("haproxy", h.addr, Some(h.child.id()))),
        None => eprintln!("haproxy not found or did not start: skipping the HAProxy column"),
    }
    let mut figures = vec![Figures::default(); targets.len()];
    // `CUTOVER_BENCH_ONLY=bulk`, `=rate` or `=latency` runs one part (for iterating on the relay).
    let only = std::env::var("CUTOVER_BENCH_ONLY").ok();
    let (run_bulk, run_rate, run_latency, run_idle) = match only.as_deref() {
        Some("bulk") => (true, false, false, false),
        Some("rate") => (false, true, false, false),
        Some("latency") => (false, false, true, false),
        _ => (true, true, true, true),
    };
    let n = targets.len();
    let mut bulk_rounds: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut rate_rounds: Vec<Vec<f64>> = vec![Vec::new(); n];
    // CPU seconds spent on the bulk rounds, per target, by [backend, client (this process),
    // proxy]: less sensitive to the machine's load than throughput. With every core busy,
    // throughput is 2 cores ÷ the sum of the three, so this shows where the time goes.
    let mut bulk_cpu: Vec<[f64; 3]> = vec![[0.0; 3]; n];
    // The same for the connection-rate rounds, per connection made.
    let mut rate_cpu: Vec<[f64; 3]> = vec![[0.0; 3]; n];
    let mut rate_conns: Vec<u64> = vec![0; n];
    let rounds = if run_bulk || run_rate { ROUNDS } else { 0 };
    let backend_pid = backend.child.id();
    for r in 0..rounds {
        eprintln!("round {}/{ROUNDS}: bulk and new TLS connections…", r + 1);
        let pids = |t: usize| [Some(backend_pid), Some(std::process::id()), targets[t].2];
        for t in (0..n).map(|k| (r + k) % n).filter(|_| run_bulk) {
            let gbit = add_cpu_time(pids(t), &mut bulk_cpu[t], bulk(&connector, targets[t].1));
            bulk_rounds[t].push(gbit.await);
        }
        for t in (0..n).map(|k| (r + k) % n).filter(|_| run_rate) {
            let rate = add_cpu_time(
                pids(t),
                &mut rate_cpu[t],
                conn_rate(&connector, targets[t].1),
            );
            let (rate, made) = rate.await;
            rate_rounds[t].push(rate);
            rate_conns[t] += made;
            // Let closes settle between targets.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    for (i, f) in figures.iter_mut().enumerate() {
        f.bulk_gbit = median_or_zero(&bulk_rounds[i]);
        f.conns_per_s = median_or_zero(&rate_rounds[i]);
    }
    // Median of the per-round ratios a/b, with the rounds' ratios for the spread.
    let ratio = |rounds: &[Vec<f64>], a: usize, b: usize| -> (f64, String) {
        let per: Vec<f64> = rounds[a]
            .iter()
            .zip(&rounds[b])
            .map(|(x, y)| x / y)
            .collect();
        let spread = per
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(" ");
        (median_or_zero(&per), spread)
    };
    let lat = if run_latency {
        eprintln!("latency (interleaved)…");
        let addrs: Vec<SocketAddr> = targets.iter().map(|t| t.1).collect();
        latencies(&connector, &addrs).await
    } else {
        Latency {
            rtt_us: vec![0.0; n],
            added_us: vec![0.0; n],
            added_blocks_us: vec![Vec::new(); n],
        }
    };
    for (i, f) in figures.iter_mut().enumerate() {
        f.rtt_median_us = lat.rtt_us[i];
        f.added_us = lat.added_us[i];
    }
    for (i, (label, addr, pid)) in targets.iter().enumerate() {
        if let (true, Some(pid)) = (run_idle, pid) {
            eprintln!("{label}: {idle_n} idle connections…");
            figures[i].idle_kib_per_conn = idle_memory(&connector, *addr, *pid, idle_n).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let direct = figures[0];
    let ours = figures[1];
    let theirs = figures.get(2).copied();
    drop(cutover);
    drop(haproxy);
    drop(backend);
    let _ = std::fs::remove_dir_all(&dir);

    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n{:<10} {:>12} {:>12} {:>16} {:>16}",
        "path", "bulk Gbit/s", "TLS conn/s", "median RTT µs", "idle KiB/conn"
    );
    let row = |name: &str, f: &Figures| {
        format!(
            "{:<10} {:>12.2} {:>12.0} {:>16.1} {:>16}",
            name,
            f.bulk_gbit,
            f.conns_per_s,
            f.rtt_median_us,
            f.idle_kib_per_conn
                .map(|k| format!("{k:.1}"))
                .unwrap_or_else(|| "-".into())
        )
    };
    let _ = writeln!(out, "{}", row("direct", &direct));
    let _ = writeln!(out, "{}", row("cutover", &ours));
    if let Some(h) = &theirs {
        let _ = writeln!(out, "{}", row("haproxy", h));
    }
    let _ = writeln!(out);
    let (r, spread) = ratio(&bulk_rounds, 1, 0);
    let _ = writeln!(
        out,
        "bulk throughput  cutover/direct  = {r:.2} (target ≥ 0.70)  rounds [{spread}]"
    );
    let gib = (ROUNDS * BULK_CONNS) as f64 * BULK_BYTES as f64 / f64::from(1u32 << 30);
    let cpu_per_gib = |t: usize, who: usize| format!("{:.0}", bulk_cpu[t][who] * 1000.0 / gib);
    let _ = writeln!(
        out,
        "proxy CPU per GiB relayed (bulk): cutover {} ms{}",
        cpu_per_gib(1, 2),
        if n > 2 {
            format!(", haproxy {} ms", cpu_per_gib(2, 2))
        } else {
            String::new()
        }
    );
    for (t, (label, _, _)) in targets.iter().enumerate() {
        if !bulk_rounds[t].is_empty() {
            let row = cpu_row(bulk_cpu[t], 1.0 / gib, t == 0);
            let _ = writeln!(out, "  CPU ms per GiB, {label:<8} {row}");
        }
    }
    let added_ours = ours.added_us;
    let blocks = |i: usize| {
        lat.added_blocks_us[i]
            .iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(h) = &theirs {
        let (r, spread) = ratio(&bulk_rounds, 1, 2);
        let _ = writeln!(
            out,
            "bulk throughput  cutover/haproxy = {r:.2} (target ≥ 1.00)  rounds [{spread}]"
        );
        let (r, spread) = ratio(&rate_rounds, 1, 2);
        let _ = writeln!(
            out,
            "new TLS conn/s   cutover/haproxy = {r:.2} (target ≥ 1.00)  rounds [{spread}]"
        );
        for (t, (label, _, _)) in targets.iter().enumerate() {
            if rate_conns[t] > 0 {
                let row = cpu_row(rate_cpu[t], 1000.0 / rate_conns[t] as f64, t == 0);
                let _ = writeln!(out, "  CPU ms per 1,000 conns, {label:<8} {row}");
            }
        }
        let _ = writeln!(
            out,
            "added median RTT cutover {:.1} µs vs haproxy {:.1} µs (target: cutover ≤ haproxy)",
            added_ours, h.added_us
        );
        let _ = writeln!(
            out,
            "  per block (µs): cutover [{}]  haproxy [{}]",
            blocks(1),
            blocks(2)
        );
    } else {
        let _ = writeln!(out, "added median RTT cutover {added_ours:.1} µs");
        let _ = writeln!(out, "  per block (µs): cutover [{}]", blocks(1));
    }
    if let Some(k) = ours.idle_kib_per_conn {
        let theirs_kib = theirs
            .and_then(|h| h.idle_kib_per_conn)
            .map(|k| format!(" (haproxy {k:.1} KiB)"))
            .unwrap_or_default();
        let _ = writeln!(out, "memory per idle relayed connection: cutover {k:.1} KiB{theirs_kib} (target ≤ 40 KiB, {idle_n} connections)");
    }
    let _ = writeln!(
        out,
        "total bench time {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
