//! The Sandbox: a simulated DigitalOcean API on 127.0.0.1 whose droplets are real TLS servers.
//!
//! Lets every feature of Cutover run without an account, and is how the end-to-end tests run
//! without internet.
