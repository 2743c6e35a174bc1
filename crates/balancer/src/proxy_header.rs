//! PROXY protocol headers (v1 text, v2 binary) telling the backend the client's real address.

use std::net::SocketAddr;

use crate::config::ProxyProtocol;

/// The header for a connection from `client` that arrived at `local`.
pub(crate) fn header(version: ProxyProtocol, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    // Mixed families (an IPv4 client on a dual-stack listener) are written as IPv6.
    let (client, local) = same_family(client, local);
    match version {
        ProxyProtocol::V1 => ppp::v1::Addresses::from((client, local))
            .to_string()
            .into_bytes(),
        ProxyProtocol::V2 => ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (client, local),
        )
        .build()
        // Building into a Vec cannot fail for address-only headers; fall back to LOCAL.
        .unwrap_or_else(|_| {
            let mut v = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
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
    fn v1_header_is_the_text_line() {
        let h = header(
            ProxyProtocol::V1,
            "192.0.2.1:5000".parse().unwrap(),
            "127.0.0.1:8443".parse().unwrap(),
        );
        assert_eq!(h, b"PROXY TCP4 192.0.2.1 127.0.0.1 5000 8443\r\n");
    }

    #[test]
    fn v2_header_parses_back() {
        let client: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let h = header(ProxyProtocol::V2, client, "127.0.0.1:8443".parse().unwrap());
        let parsed = ppp::v2::Header::try_from(h.as_slice()).unwrap();
        match parsed.addresses {
            ppp::v2::Addresses::IPv4(a) => {
                assert_eq!(
                    a.source_address,
                    *"192.0.2.1".parse::<std::net::Ipv4Addr>().as_ref().unwrap()
                );
                assert_eq!(a.source_port, 5000);
                assert_eq!(a.destination_port, 8443);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mixed_families_become_ipv6() {
        let h = header(
            ProxyProtocol::V1,
            "192.0.2.1:5000".parse().unwrap(),
            "[::1]:8443".parse().unwrap(),
        );
        assert_eq!(h, b"PROXY TCP6 ::ffff:192.0.2.1 ::1 5000 8443\r\n");
    }
}
