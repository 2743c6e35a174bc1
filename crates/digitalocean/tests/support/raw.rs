//! A raw HTTP/1.1 server on 127.0.0.1:0 for what axum will not do on purpose: bodies that stall
//! half-way, bodies that never end, connections reset after the request was read, answers that
//! never come. Each connection serves one request, scripted by the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as read off the wire.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// What to do with the connection, in order.
#[derive(Clone, Debug)]
pub enum Step {
    Write(Vec<u8>),
    Sleep(Duration),
    /// Write this chunk again and again until the client goes away.
    Endless(Vec<u8>),
    /// Close with a TCP reset (SO_LINGER 0).
    Reset,
}

/// A status line and headers (`Connection: close` added), then `body_start` of the body.
pub fn head(status: u16, headers: &[(&str, String)]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A whole JSON answer.
pub fn json(status: u16, body: &serde_json::Value) -> Vec<Step> {
    let body = serde_json::to_vec(body).unwrap();
    let mut bytes = head(
        status,
        &[
            ("content-type", "application/json".into()),
            ("content-length", body.len().to_string()),
        ],
    );
    bytes.extend(body);
    vec![Step::Write(bytes)]
}

type Script = dyn Fn(&RawRequest, usize) -> Vec<Step> + Send + Sync;

pub struct RawServer {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<RawRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    /// `script(request, n)`: the steps for the `n`th request (from 0).
    pub async fn start(
        script: impl Fn(&RawRequest, usize) -> Vec<Step> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let script = script.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, script, log).await;
                });
            }
        });
        Self { addr, seen, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<RawRequest> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str) -> usize {
        self.seen().iter().filter(|r| r.method == method).count()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    script: Arc<Script>,
    log: Arc<Mutex<Vec<RawRequest>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let request = RawRequest {
        method,
        path,
        body: buf[head_end..].to_vec(),
    };
    let n = {
        let mut log = log.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    for step in script(&request, n) {
        match step {
            Step::Write(bytes) => stream.write_all(&bytes).await?,
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Endless(bytes) => loop {
                stream.write_all(&bytes).await?;
            },
            Step::Reset => {
                // Linger 0 makes the close a reset; it does not block (the deprecation's worry).
                #[allow(deprecated)]
                stream.set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
        }
    }
    stream.shutdown().await
}
