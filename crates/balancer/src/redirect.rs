//! The optional plain-HTTP listener: every request gets a redirect to `https://host/path`
//! (DigitalOcean's `redirect_http_to_https`): 301 for GET/HEAD, 308 for other methods so they
//! keep their method and body.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::Shared;

const MAX_HEAD: usize = 8 * 1024;

pub(crate) async fn serve(shared: Arc<Shared>, mut stream: TcpStream) {
    let response = match tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await
    {
        Ok(Some(response)) => response,
        _ => return,
    };
    if stream.write_all(response.as_bytes()).await.is_ok() {
        shared.totals.redirects.fetch_add(1, Ordering::Relaxed);
    }
    let _ = stream.shutdown().await;
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if stream.read_buf(&mut buf).await.ok()? == 0 {
            return None;
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => return Some(respond(&request)),
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            _ => return Some(plain(400, "Bad Request", None)),
        }
    }
}

/// Builds the response for a parsed request head.
pub(crate) fn respond(request: &httparse::Request<'_, '_>) -> String {
    let host = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .and_then(host_without_port);
    let Some(host) = host else {
        return plain(400, "Bad Request", None);
    };
    let path = request.path.filter(|p| p.starts_with('/')).unwrap_or("/");
    let (code, reason) = match request.method {
        Some("GET") | Some("HEAD") => (301, "Moved Permanently"),
        _ => (308, "Permanent Redirect"),
    };
    plain(code, reason, Some(format!("https://{host}{path}")))
}

/// The host name of a Host header, without the port; `None` when it is not a plain host name
/// (so a crafted header cannot inject another header or a different URL).
fn host_without_port(value: &str) -> Option<String> {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        format!("[{}]", &rest[..end])
    } else {
        value.split(':').next()?.to_string()
    };
    let ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        });
    ok.then(|| host.to_ascii_lowercase())
}

fn plain(code: u16, reason: &str, location: Option<String>) -> String {
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    format!("HTTP/1.1 {code} {reason}\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(raw: &str) -> String {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        req.parse(raw.as_bytes()).unwrap();
        respond(&req)
    }

    #[test]
    fn get_is_301_to_https_without_the_port() {
        let r = answer("GET /a?b=1 HTTP/1.1\r\nHost: Shop.Test:8080\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 301 "), "{r}");
        assert!(r.contains("Location: https://shop.test/a?b=1\r\n"), "{r}");
    }

    #[test]
    fn post_is_308_and_no_host_is_400() {
        assert!(answer("POST /x HTTP/1.1\r\nHost: a.test\r\n\r\n").starts_with("HTTP/1.1 308 "));
        assert!(answer("GET / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(answer("GET / HTTP/1.1\r\nHost: a.test/evil\r\n\r\n").starts_with("HTTP/1.1 400 "));
    }
}
