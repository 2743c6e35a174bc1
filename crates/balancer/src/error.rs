//! Why the balancer could not start. Messages say what to do.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    #[error("invalid balancer configuration: {0}")]
    InvalidConfig(String),
    #[error("port {} is in use by another program — pick another port or stop that program ({addr})", addr.port())]
    AddressInUse { addr: SocketAddr },
    #[error("{}", permission_hint(*addr))]
    PermissionDenied { addr: SocketAddr },
    #[error("{} is not an address of this machine — listen on 127.0.0.1 or on one of this machine's addresses", addr.ip())]
    AddressNotAvailable { addr: SocketAddr },
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not set up TLS for health checks: {0}")]
    Tls(String),
    #[error("the balancer must be started from inside a Tokio runtime")]
    NoRuntime,
}

impl BalancerError {
    /// The address that could not be bound, if that is what went wrong.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self {
            BalancerError::AddressInUse { addr }
            | BalancerError::PermissionDenied { addr }
            | BalancerError::AddressNotAvailable { addr }
            | BalancerError::Bind { addr, .. } => Some(*addr),
            _ => None,
        }
    }

    pub(crate) fn from_bind(addr: SocketAddr, err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match err.kind() {
            ErrorKind::AddrInUse => BalancerError::AddressInUse { addr },
            ErrorKind::PermissionDenied => BalancerError::PermissionDenied { addr },
            ErrorKind::AddrNotAvailable => BalancerError::AddressNotAvailable { addr },
            _ => BalancerError::Bind { addr, source: err },
        }
    }
}

fn permission_hint(addr: SocketAddr) -> String {
    if addr.port() < 1024 {
        format!(
            "port {} is below 1024 and needs administrator rights on this OS — use 8443 and curl --connect-to DOMAIN:443:127.0.0.1:8443",
            addr.port()
        )
    } else {
        format!(
            "the OS refused to let this program listen on {addr} — pick another address or port"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let addr: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let e = BalancerError::from_bind(addr, std::io::ErrorKind::PermissionDenied.into());
        assert!(e.to_string().contains("administrator"), "{e}");
        let e = BalancerError::from_bind(addr, std::io::ErrorKind::AddrInUse.into());
        assert!(e.to_string().contains("in use by another program"), "{e}");
        assert_eq!(e.addr(), Some(addr));
    }
}
