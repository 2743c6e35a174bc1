//! Moving bytes both ways between client and backend.
//!
//! Not `tokio::io::copy_bidirectional_with_sizes`: it owns its two buffers for the whole life of
//! the connection, so 64 KiB buffers would cost 128 KiB per *idle* connection (the issue allows
//! 40 KiB). Here each direction waits for readiness holding no buffer, takes a buffer only while
//! data flows, and gives it back as soon as the socket is drained. Half-close is passed through
//! (EOF on one side → `shutdown(Write)` on the other), and both directions share one idle clock.
//!
//! Buffers are lent by [`RelayBuf`]: from a small per-thread stock, because a ping-pong
//! connection drains its socket on every message and allocating and freeing 64 KiB per message
//! shows at the microsecond scale of a loopback round trip. A direction starts each burst with a
//! [`RELAY_BUFFER`] and moves to a [`BULK_BUFFER`] once a read fills it, so a bulk transfer makes
//! an eighth of the system calls while the many small exchanges keep the small buffer. Bulk
//! buffers are limited across the whole process ([`BULK_BUFFERS_MAX`]), so memory under load
//! stays bounded however many connections are busy: 64 KiB per busy direction plus 64 MiB.

use std::cell::RefCell;
use std::io;
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;

/// The buffer a busy direction starts with (large buffers buy ~20–30 % throughput, anchors §1.6).
pub const RELAY_BUFFER: usize = 64 * 1024;

/// The buffer a direction moves to once a read has filled a [`RELAY_BUFFER`] (BENCH.md has the
/// sizes tried: 128 KiB to 1 MiB).
pub const BULK_BUFFER: usize = 512 * 1024;

/// How many bulk buffers may be lent at once in the whole process (64 MiB). Past that a busy
/// direction keeps its small buffer: slower, never out of memory.
pub const BULK_BUFFERS_MAX: usize = 128;

/// How many spare buffers of each size a thread keeps. Bounded so that memory given back after
/// a burst is freed, not hoarded: at most `SPARE_PER_SIZE` × (64 + 512) KiB per worker thread.
const SPARE_PER_SIZE: usize = 4;

/// The capacity of each size class: `[small, bulk]`.
const CLASS_SIZE: [usize; 2] = [RELAY_BUFFER, BULK_BUFFER];

thread_local! {
    /// Spare (empty) buffers of this thread: `[small, bulk]`.
    static SPARE: RefCell<[Vec<Vec<u8>>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Counts what is lent against a maximum.
pub(crate) struct Budget {
    lent: AtomicUsize,
    max: usize,
}

impl Budget {
    pub(crate) const fn new(max: usize) -> Self {
        Self {
            lent: AtomicUsize::new(0),
            max,
        }
    }

    fn try_lend(&'static self) -> bool {
        self.lent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    fn give_back(&self) {
        self.lent.fetch_sub(1, Ordering::AcqRel);
    }
}

static BULK_BUDGET: Budget = Budget::new(BULK_BUFFERS_MAX);

/// An empty buffer on loan; it goes back to this thread's stock (or is freed) when dropped, on
/// every path: drained, EOF, error, or the relay cancelled by its idle timeout.
pub(crate) struct RelayBuf {
    vec: Vec<u8>,
    class: usize,
    budget: Option<&'static Budget>,
}

impl RelayBuf {
    /// A [`RELAY_BUFFER`].
    pub(crate) fn small() -> Self {
        Self::take(0, None)
    }

    /// A [`BULK_BUFFER`], unless [`BULK_BUFFERS_MAX`] are already lent.
    pub(crate) fn bulk() -> Option<Self> {
        Self::bulk_from(&BULK_BUDGET)
    }

    fn bulk_from(budget: &'static Budget) -> Option<Self> {
        budget.try_lend().then(|| Self::take(1, Some(budget)))
    }

    fn take(class: usize, budget: Option<&'static Budget>) -> Self {
        let spare = SPARE
            .try_with(|spare| spare.borrow_mut()[class].pop())
            .ok()
            .flatten();
        Self {
            vec: spare.unwrap_or_else(|| Vec::with_capacity(CLASS_SIZE[class])),
            class,
            budget,
        }
    }
}

impl Deref for RelayBuf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.vec
    }
}

impl DerefMut for RelayBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.vec
    }
}

impl Drop for RelayBuf {
    fn drop(&mut self) {
        if let Some(budget) = self.budget {
            budget.give_back();
        }
        let mut vec = std::mem::take(&mut self.vec);
        if vec.capacity() != CLASS_SIZE[self.class] {
            return; // grown past its size by someone: not a stock buffer any more
        }
        vec.clear();
        // `try_with`: a buffer dropped while the thread's locals are torn down is just freed.
        let _ = SPARE.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare[self.class].len() < SPARE_PER_SIZE {
                spare[self.class].push(vec);
            }
        });
    }
}

/// The send buffer of the socket toward a client on this machine (Linux doubles the figure for
/// its bookkeeping).
pub const LOOPBACK_CLIENT_SEND_BUFFER: usize = BULK_BUFFER;

/// Socket options for the client's side of a relay.
///
/// TCP_NODELAY, so a small request or response is not held back waiting for an ACK.
///
/// A client on this machine (the browser or curl a user tests with) gets a capped send buffer
/// instead of the kernel's autotuned one (up to 4 MiB): its round trip is microseconds, so a
/// small buffer costs no throughput, and bytes the client reads soon after the relay wrote them
/// are still in cache. In the bench (BENCH.md) the client's own receive work fell by ~25 % and
/// bulk throughput rose 5–10 %; 64–128 KiB were too small (the relay blocks on every write).
/// Remote clients keep autotuning, which a long round trip needs.
pub(crate) fn tune_client_socket(stream: &TcpStream, peer: std::net::SocketAddr) {
    let _ = stream.set_nodelay(true);
    if peer.ip().to_canonical().is_loopback() {
        let _ = socket2::SockRef::from(stream).set_send_buffer_size(LOOPBACK_CLIENT_SEND_BUFFER);
    }
}

/// Counters a direction adds to as it writes.
pub(crate) struct Counters<'a> {
    pub conn: &'a AtomicU64,
    pub backend: &'a AtomicU64,
    pub total: &'a AtomicU64,
}

impl Counters<'_> {
    pub(crate) fn add(&self, n: usize) {
        let n = n as u64;
        self.conn.fetch_add(n, Ordering::Relaxed);
        self.backend.fetch_add(n, Ordering::Relaxed);
        self.total.fetch_add(n, Ordering::Relaxed);
    }
}

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayEnd {
    /// Both sides closed their sending half; `backend_first` when the backend's EOF came
    /// before the client's.
    Closed {
        backend_first: bool,
    },
    /// A read or write failed (a reset, mostly) on this side's socket.
    Error(Side),
    IdleTimeout,
}

/// One end of a relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Backend,
}

/// Which socket of a direction failed: the one read from or the one written to.
enum Fault {
    Read,
    Write,
}

/// No EOF yet / the client's came first / the backend's came first.
const EOF_NONE: u8 = 0;
const EOF_CLIENT: u8 = 1;
const EOF_BACKEND: u8 = 2;

/// Relays until both directions are closed, one fails, or nothing moved for `idle`.
pub(crate) async fn relay(
    client: &mut TcpStream,
    backend: &mut TcpStream,
    up: Counters<'_>,
    down: Counters<'_>,
    idle: Duration,
) -> RelayEnd {
    let epoch = Instant::now();
    let last_activity = AtomicU64::new(0);
    let first_eof = AtomicU8::new(EOF_NONE);
    let (client_read, client_write) = client.split();
    let (backend_read, backend_write) = backend.split();
    // Each direction maps its failure to the side whose socket failed.
    let eof = |who: u8| {
        let _ = first_eof.compare_exchange(EOF_NONE, who, Ordering::Relaxed, Ordering::Relaxed);
    };
    let upward = async {
        let r = pump(client_read, backend_write, &up, &last_activity, epoch).await;
        match r {
            Ok(()) => {
                eof(EOF_CLIENT);
                Ok(())
            }
            Err(Fault::Read) => Err(Side::Client),
            Err(Fault::Write) => Err(Side::Backend),
        }
    };
    let downward = async {
        let r = pump(backend_read, client_write, &down, &last_activity, epoch).await;
        match r {
            Ok(()) => {
                eof(EOF_BACKEND);
                Ok(())
            }
            Err(Fault::Read) => Err(Side::Backend),
            Err(Fault::Write) => Err(Side::Client),
        }
    };
    let both = async { tokio::try_join!(upward, downward) };
    let idle_watch = async {
        loop {
            let last = Duration::from_millis(last_activity.load(Ordering::Relaxed));
            let deadline = epoch + last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    };
    tokio::select! {
        result = both => match result {
            Ok(_) => RelayEnd::Closed {
                backend_first: first_eof.load(Ordering::Relaxed) == EOF_BACKEND,
            },
            Err(side) => RelayEnd::Error(side),
        },
        _ = idle_watch => RelayEnd::IdleTimeout,
    }
}

/// One direction: `from` → `to`, until EOF on `from` (then half-close `to`).
///
/// Reads and writes go through tokio's `AsyncRead`/`AsyncWrite` on the split halves rather than
/// `try_read`/`try_write`: with epoll, a read that leaves the buffer partly empty (or a write
/// that is partly taken) already shows the socket is drained (or full), and tokio then waits for
/// the next readiness event instead of confirming with a system call that fails with EAGAIN.
/// That is one system call less per message each way on a request/response connection.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    counters: &Counters<'_>,
    last_activity: &AtomicU64,
    epoch: Instant,
) -> Result<(), Fault> {
    loop {
        // Idle: no buffer held.
        from.readable().await.map_err(|_| Fault::Read)?;
        let buf = RelayBuf::small();
        match relay_burst(&mut from, &mut to, buf, counters, last_activity, epoch).await? {
            Burst::Drained => {}
            Burst::Eof => return Ok(()),
        }
    }
}

enum Burst {
    /// `from` has nothing more to read for now.
    Drained,
    /// `from` sent EOF and it was passed on.
    Eof,
}

/// Relays what `from` has queued until it is drained, moving to a [`BULK_BUFFER`] once a read
/// fills the small one.
async fn relay_burst(
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    mut buf: RelayBuf,
    counters: &Counters<'_>,
    last_activity: &AtomicU64,
    epoch: Instant,
) -> Result<Burst, Fault> {
    loop {
        buf.clear();
        // One poll: `None` when tokio knows the socket is drained, so the buffer is given back
        // instead of being held while waiting.
        let read = std::future::poll_fn(|cx| {
            match tokio_util::io::poll_read_buf(Pin::new(&mut *from), cx, &mut *buf) {
                Poll::Pending => Poll::Ready(None),
                Poll::Ready(result) => Poll::Ready(Some(result)),
            }
        })
        .await;
        let Some(read) = read else {
            return Ok(Burst::Drained);
        };
        match read {
            Ok(0) => {
                // EOF: pass the half-close on; the other direction may still be talking.
                return match socket2::SockRef::from(to.as_ref()).shutdown(Shutdown::Write) {
                    Ok(()) => Ok(Burst::Eof),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(Burst::Eof),
                    Err(_) => Err(Fault::Write),
                };
            }
            Ok(n) => {
                to.write_all(&buf[..n]).await.map_err(|_| Fault::Write)?;
                counters.add(n);
                let now = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
                last_activity.store(now, Ordering::Relaxed);
                if n == RELAY_BUFFER && buf.class == 0 {
                    if let Some(bulk) = RelayBuf::bulk() {
                        buf = bulk;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Fault::Read),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn spare_counts() -> [usize; 2] {
        SPARE.with(|spare| {
            let spare = spare.borrow();
            [spare[0].len(), spare[1].len()]
        })
    }

    #[test]
    fn the_stock_keeps_a_bounded_number_of_empty_buffers_per_size() {
        let mut small = RelayBuf::small();
        assert_eq!(small.capacity(), RELAY_BUFFER);
        small.extend_from_slice(b"left over");
        drop(small);
        assert_eq!(spare_counts(), [1, 0]);
        let again = RelayBuf::small();
        assert!(again.is_empty(), "a buffer comes back empty");
        assert_eq!(spare_counts(), [0, 0], "the spare one was lent again");
        let mut grown = RelayBuf::small();
        grown.resize(RELAY_BUFFER + 1, 0);
        drop(grown);
        assert_eq!(
            spare_counts(),
            [0, 0],
            "a grown buffer is freed, not stocked"
        );

        static ROOMY: Budget = Budget::new(100);
        let many: Vec<RelayBuf> = (0..SPARE_PER_SIZE + 3)
            .map(|_| RelayBuf::bulk_from(&ROOMY).expect("within budget"))
            .collect();
        assert!(many.iter().all(|b| b.capacity() == BULK_BUFFER));
        drop(many);
        assert_eq!(spare_counts(), [0, SPARE_PER_SIZE], "the rest were freed");
        assert_eq!(ROOMY.lent.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn bulk_buffers_are_limited_across_connections_and_come_back_on_drop() {
        static TIGHT: Budget = Budget::new(3);
        let lent: Vec<RelayBuf> = (0..3)
            .map(|_| RelayBuf::bulk_from(&TIGHT).expect("within budget"))
            .collect();
        assert!(RelayBuf::bulk_from(&TIGHT).is_none(), "a fourth is refused");
        drop(lent);
        assert_eq!(TIGHT.lent.load(Ordering::Relaxed), 0);
        assert!(RelayBuf::bulk_from(&TIGHT).is_some());
    }

    /// The six counters a relay adds to, from zero: `[conn, backend, total]` each way.
    #[derive(Default)]
    struct TestCounters {
        up: [AtomicU64; 3],
        down: [AtomicU64; 3],
    }

    impl TestCounters {
        fn up(&self) -> Counters<'_> {
            let [conn, backend, total] = &self.up;
            Counters {
                conn,
                backend,
                total,
            }
        }

        fn down(&self) -> Counters<'_> {
            let [conn, backend, total] = &self.down;
            Counters {
                conn,
                backend,
                total,
            }
        }
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.expect("connect"), b.expect("accept").0)
    }

    /// Resets `s`: SO_LINGER 0, then close.
    fn reset(s: TcpStream) {
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        drop(s);
    }

    #[tokio::test]
    async fn a_relay_tells_which_side_failed_or_closed_first() {
        let idle = Duration::from_secs(10);
        // The backend resets: the backend's fault.
        let (_client_peer, mut client) = pair().await;
        let (backend_peer, mut backend) = pair().await;
        let counters = TestCounters::default();
        reset(backend_peer);
        let end = relay(
            &mut client,
            &mut backend,
            counters.up(),
            counters.down(),
            idle,
        )
        .await;
        assert_eq!(end, RelayEnd::Error(Side::Backend));

        // The client resets: not the backend's.
        let (client_peer, mut client) = pair().await;
        let (_backend_peer, mut backend) = pair().await;
        reset(client_peer);
        let end = relay(
            &mut client,
            &mut backend,
            counters.up(),
            counters.down(),
            idle,
        )
        .await;
        assert_eq!(end, RelayEnd::Error(Side::Client));

        // The backend closes first (without a byte), then the client.
        let (mut client_peer, mut client) = pair().await;
        let (mut backend_peer, mut backend) = pair().await;
        backend_peer.shutdown().await.expect("backend EOF");
        let closing = async {
            let mut rest = Vec::new();
            client_peer
                .read_to_end(&mut rest)
                .await
                .expect("EOF passed on");
            client_peer.shutdown().await.expect("client EOF");
            let _ = backend_peer.read_to_end(&mut rest).await;
        };
        let (end, ()) = tokio::join!(
            relay(
                &mut client,
                &mut backend,
                counters.up(),
                counters.down(),
                idle
            ),
            closing
        );
        assert_eq!(
            end,
            RelayEnd::Closed {
                backend_first: true
            }
        );
    }

    #[tokio::test]
    async fn a_client_on_this_machine_gets_a_capped_send_buffer() {
        let (client, _peer) = pair().await;
        let peer = client.peer_addr().expect("peer");
        let before = socket2::SockRef::from(&client)
            .send_buffer_size()
            .expect("SO_SNDBUF");
        tune_client_socket(&client, peer);
        let after = socket2::SockRef::from(&client)
            .send_buffer_size()
            .expect("SO_SNDBUF");
        assert!(client.nodelay().expect("nodelay"));
        // Linux reports twice the figure set; other systems report it as set.
        assert!(
            (LOOPBACK_CLIENT_SEND_BUFFER..=2 * LOOPBACK_CLIENT_SEND_BUFFER).contains(&after),
            "SO_SNDBUF {before} → {after}"
        );
    }

    #[tokio::test]
    async fn a_bulk_burst_moves_to_the_large_buffer_and_arrives_intact() {
        // backend_peer → [backend ⇄ relay ⇄ client] → client_peer
        let (mut client_peer, mut client) = pair().await;
        let (mut backend_peer, mut backend) = pair().await;
        let counters = TestCounters::default();
        let payload: Vec<u8> = (0..4 * BULK_BUFFER).map(|i| (i * 31 % 251) as u8).collect();
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            backend_peer.write_all(&sent).await.expect("write");
            backend_peer.shutdown().await.expect("shutdown");
            backend_peer
        });
        // Let more than a small buffer's worth queue up, so the first read fills it.
        let _ = socket2::SockRef::from(&backend).set_recv_buffer_size(4 * BULK_BUFFER);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let relayed = async {
            let end = relay(
                &mut client,
                &mut backend,
                counters.up(),
                counters.down(),
                Duration::from_secs(10),
            )
            .await;
            drop(client);
            end
        };
        let reader = async {
            let mut got = Vec::new();
            client_peer.read_to_end(&mut got).await.expect("read");
            client_peer.shutdown().await.expect("shutdown");
            got
        };
        let (end, got) = tokio::join!(relayed, reader);
        assert!(matches!(end, RelayEnd::Closed { .. }), "{end:?}");
        assert!(got == payload, "relayed bytes differ ({} bytes)", got.len());
        assert_eq!(
            counters.down[0].load(Ordering::Relaxed),
            payload.len() as u64
        );
        assert_eq!(counters.up[0].load(Ordering::Relaxed), 0);
        // Everything is given back on this (current-thread) runtime's thread: a 1 MiB burst
        // filled the small buffer at least once, so a bulk buffer was taken and returned.
        assert!(
            spare_counts()[1] >= 1,
            "no bulk buffer was used: {:?}",
            spare_counts()
        );
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn small_messages_each_way_are_relayed_one_by_one() {
        // A request/response exchange: every message must go through on its own, without the
        // relay waiting for more bytes (a drained socket must not be mistaken for a busy one).
        let (mut client_peer, mut client) = pair().await;
        let (mut backend_peer, mut backend) = pair().await;
        let echo = tokio::spawn(async move {
            let mut msg = [0u8; 64];
            while backend_peer.read_exact(&mut msg).await.is_ok() {
                msg.reverse();
                if backend_peer.write_all(&msg).await.is_err() {
                    break;
                }
            }
        });
        let counters = TestCounters::default();
        let relayed = relay(
            &mut client,
            &mut backend,
            counters.up(),
            counters.down(),
            Duration::from_secs(10),
        );
        let exchange = async {
            for i in 0..2_000u32 {
                let mut msg = [0u8; 64];
                msg[..4].copy_from_slice(&i.to_le_bytes());
                client_peer.write_all(&msg).await.expect("send");
                let mut back = [0u8; 64];
                client_peer.read_exact(&mut back).await.expect("answer");
                msg.reverse();
                assert_eq!(back, msg, "answer {i}");
            }
            client_peer.shutdown().await.expect("half-close");
            let mut rest = Vec::new();
            client_peer
                .read_to_end(&mut rest)
                .await
                .expect("EOF passed on");
            rest
        };
        let both = async { tokio::join!(relayed, exchange) };
        let (end, rest) = tokio::time::timeout(Duration::from_secs(20), both)
            .await
            .expect("the exchange stalled");
        assert!(matches!(end, RelayEnd::Closed { .. }), "{end:?}");
        assert!(rest.is_empty());
        assert_eq!(counters.up[0].load(Ordering::Relaxed), 2_000 * 64);
        assert_eq!(counters.down[0].load(Ordering::Relaxed), 2_000 * 64);
        echo.await.expect("echo");
    }
}
