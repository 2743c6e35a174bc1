//! DigitalOcean API v2 client for Cutover.
//!
//! Models for the resources Cutover manages (load balancers, droplets, certificates, domains, tags,
//! VPCs, regions), pagination, rate-limit tracking, typed errors carrying the request id, the
//! load-balancer validator shared with the Sandbox, and safe read–modify–write updates.
