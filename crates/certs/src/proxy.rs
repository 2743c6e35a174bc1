//! PROXY protocol headers (HAProxy's spec, v1 text and v2 binary), written by the `ppp` crate —
//! the same writer the local balancer uses, so a probe and a rehearsal announce a connection the
//! same way (mixed address families as IPv6, v4-mapped).

use std::net::SocketAddr;

use crate::model::ProxyVersion;

/// v2's fixed 12-byte signature.
pub const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// The header announcing a TCP connection from `src` to `dst`.
pub fn proxy_header(version: ProxyVersion, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    match version {
        ProxyVersion::V1 => ppp::v1::Addresses::from((src, dst))
            .to_string()
            .into_bytes(),
        ProxyVersion::V2 => ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (src, dst),
        )
        .build()
        // Building into a Vec cannot fail for address-only headers; fall back to LOCAL.
        .unwrap_or_else(|_| {
            let mut v = V2_SIGNATURE.to_vec();
            v.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
            v
        }),
    }
}

fn same_family(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v6 = |s: SocketAddr| match s {
        SocketAddr::V4(v4) => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
        v6 => v6,
    };
    if a.is_ipv4() == b.is_ipv4() {
        (a, b)
    } else {
        (v6(a), v6(b))
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
