//! The local SSL-passthrough balancer.
//!
//! Listens on the user's machine, reads the SNI from the TLS ClientHello without consuming it and
//! relays the raw bytes to a healthy backend. It never decrypts and only routes configured domains.
