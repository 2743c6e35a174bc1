//! PROXY protocol headers (HAProxy's spec, v1 text and v2 binary).
//!
//! Written by hand: the client side is a single header of a few bytes, and the crates that exist
//! for it are mostly parsers; this keeps the probe free of another dependency.

use std::net::SocketAddr;

use crate::model::ProxyVersion;

/// v2's fixed 12-byte signature.
pub const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// The header announcing a TCP connection from `src` to `dst`.
pub fn proxy_header(version: ProxyVersion, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    match version {
        ProxyVersion::V1 => match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => format!(
                "PROXY TCP4 {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes(),
            (SocketAddr::V6(s), SocketAddr::V6(d)) => format!(
                "PROXY TCP6 {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes(),
            _ => b"PROXY UNKNOWN\r\n".to_vec(),
        },
        ProxyVersion::V2 => {
            let mut out = V2_SIGNATURE.to_vec();
            out.push(0x21); // version 2, command PROXY
            match (src, dst) {
                (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                    out.push(0x11); // AF_INET, STREAM
                    out.extend_from_slice(&12u16.to_be_bytes());
                    out.extend_from_slice(&s.ip().octets());
                    out.extend_from_slice(&d.ip().octets());
                    out.extend_from_slice(&s.port().to_be_bytes());
                    out.extend_from_slice(&d.port().to_be_bytes());
                }
                (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                    out.push(0x21); // AF_INET6, STREAM
                    out.extend_from_slice(&36u16.to_be_bytes());
                    out.extend_from_slice(&s.ip().octets());
                    out.extend_from_slice(&d.ip().octets());
                    out.extend_from_slice(&s.port().to_be_bytes());
                    out.extend_from_slice(&d.port().to_be_bytes());
                }
                _ => {
                    out.push(0x00); // AF_UNSPEC
                    out.extend_from_slice(&0u16.to_be_bytes());
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_is_the_text_line() {
        let h = proxy_header(
            ProxyVersion::V1,
            "10.0.0.1:5555".parse().unwrap(),
            "10.0.0.2:443".parse().unwrap(),
        );
        assert_eq!(h, b"PROXY TCP4 10.0.0.1 10.0.0.2 5555 443\r\n");
    }

    #[test]
    fn v2_ipv4_layout() {
        let h = proxy_header(
            ProxyVersion::V2,
            "1.2.3.4:256".parse().unwrap(),
            "5.6.7.8:443".parse().unwrap(),
        );
        assert_eq!(&h[..12], &V2_SIGNATURE);
        assert_eq!(h[12], 0x21);
        assert_eq!(h[13], 0x11);
        assert_eq!(u16::from_be_bytes([h[14], h[15]]), 12);
        assert_eq!(&h[16..20], &[1, 2, 3, 4]);
        assert_eq!(&h[20..24], &[5, 6, 7, 8]);
        assert_eq!(&h[24..26], &[1, 0]);
        assert_eq!(&h[26..28], &443u16.to_be_bytes());
        assert_eq!(h.len(), 28);
    }

    #[test]
    fn v2_ipv6_length() {
        let h = proxy_header(
            ProxyVersion::V2,
            "[::1]:1".parse().unwrap(),
            "[::2]:2".parse().unwrap(),
        );
        assert_eq!(h.len(), 16 + 36);
    }
}
