//! Certificate inspection for Cutover.
//!
//! Probes a backend over TLS (optionally after a PROXY protocol header) with the domain as SNI,
//! records the chain it serves, checks it, and compares what every backend of a load balancer
//! serves so that the one that differs stands out.
