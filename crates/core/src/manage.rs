//! One-shot load-balancer management for the CLI and scripts: list, get, plan → dry run →
//! apply, create (and wait), delete, droplets and forwarding rules, certificates, droplets and
//! the account. Every error is an [`ApiError`] with a stable code (the mapping from the client's
//! typed errors is in `error.rs`: busy, unauthorized, validation with the findings, conflict with
//! the changes, the request id in `details`).
//!
//! The app's editor uses [`crate::lb`], which keeps edit sessions; this module is stateless: an
//! update is planned from a fresh fetch and applied in the same run.

use std::time::Duration;

pub use cutover_digitalocean::plan::conflicts;
pub use cutover_digitalocean::validate::{rejection_message, Operation};
pub use cutover_digitalocean::{
    plan_update, validate_load_balancer, Account, Certificate, Client, Droplet, FieldChange,
    Finding, ForwardingRule, HealthCheck, LbFirewall, LoadBalancer, LoadBalancerRequest, RateLimit,
    Region, Severity, StickySessions, UpdatePlan, ValidationContext,
};

use crate::error::{ApiError, ErrorCode};

/// The account the token belongs to.
pub async fn account(client: &Client) -> Result<Account, ApiError> {
    Ok(client.account().await?)
}

pub async fn list(client: &Client) -> Result<Vec<LoadBalancer>, ApiError> {
    Ok(client.list_load_balancers().await?)
}

/// Whether `s` looks like a load balancer id (a UUID).
pub fn looks_like_id(s: &str) -> bool {
    let s = s.trim();
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A load balancer by id, or by name when the name is unique.
pub async fn get(client: &Client, id_or_name: &str) -> Result<LoadBalancer, ApiError> {
    let wanted = id_or_name.trim();
    if looks_like_id(wanted) {
        return Ok(client.get_load_balancer(wanted).await?);
    }
    let all = client.list_load_balancers().await?;
    let mut matches = all
        .into_iter()
        .filter(|lb| lb.name == wanted || lb.id == wanted);
    match (matches.next(), matches.next()) {
        (Some(lb), None) => Ok(lb),
        (Some(_), Some(_)) => Err(ApiError::invalid_input(format!(
            "More than one load balancer is named \"{wanted}\": use its id."
        ))
        .with_details(serde_json::json!({"field": "id"}))),
        (None, _) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("No load balancer has the id or name \"{wanted}\"."),
        )),
    }
}

/// The validator's findings for a create (`current` = `None`) or an update.
pub fn check(req: &LoadBalancerRequest, current: Option<&LoadBalancer>) -> Vec<Finding> {
    let ctx = match current {
        Some(lb) => ValidationContext::update(lb),
        None => ValidationContext::create(),
    };
    validate_load_balancer(req, &ctx)
}

/// Plans turning `current` into `desired` (full PUT body with the API's quirks, field diff).
pub fn plan(current: &LoadBalancer, desired: &LoadBalancer) -> UpdatePlan {
    plan_update(current, desired)
}

/// DigitalOcean's dry run of a planned update (`validate_only`). `Ok` holds local warnings.
pub async fn dry_run_update(client: &Client, plan: &UpdatePlan) -> Result<Vec<Finding>, ApiError> {
    Ok(client.dry_run(plan).await?)
}

/// Applies a plan: refuses with `conflict` (and the changed fields in `details.changes`) when
/// the load balancer changed since the plan was made.
pub async fn apply_update(client: &Client, plan: &UpdatePlan) -> Result<LoadBalancer, ApiError> {
    Ok(client.apply(plan).await?)
}

/// DigitalOcean's dry run of a create.
pub async fn dry_run_create(
    client: &Client,
    req: &LoadBalancerRequest,
) -> Result<Vec<Finding>, ApiError> {
    Ok(client.validate_create(req).await?)
}

/// Creates a load balancer (never retried: the API has no idempotency key).
pub async fn create(client: &Client, req: &LoadBalancerRequest) -> Result<LoadBalancer, ApiError> {
    Ok(client.create_load_balancer(req).await?)
}

/// Waits until the load balancer is `active`, reporting each state seen. `errored` is an error.
pub async fn wait_active(
    client: &Client,
    id: &str,
    poll_interval: Duration,
    timeout: Duration,
    progress: impl FnMut(&LoadBalancer),
) -> Result<LoadBalancer, ApiError> {
    let lb = client
        .wait_until_active(id, poll_interval, timeout, progress)
        .await?;
    if lb.is_errored() {
        return Err(ApiError::new(
            ErrorCode::Server,
            format!(
                "Load balancer \"{}\" ended up errored: DigitalOcean could not apply it.",
                lb.name
            ),
        )
        .with_details(serde_json::json!({"id": lb.id})));
    }
    Ok(lb)
}

pub async fn delete(client: &Client, id: &str) -> Result<(), ApiError> {
    Ok(client.delete_load_balancer(id).await?)
}

pub async fn add_droplets(client: &Client, id: &str, droplet_ids: &[u64]) -> Result<(), ApiError> {
    Ok(client.add_droplets(id, droplet_ids).await?)
}

pub async fn remove_droplets(
    client: &Client,
    id: &str,
    droplet_ids: &[u64],
) -> Result<(), ApiError> {
    Ok(client.remove_droplets(id, droplet_ids).await?)
}

pub async fn add_rules(
    client: &Client,
    id: &str,
    rules: &[ForwardingRule],
) -> Result<(), ApiError> {
    Ok(client.add_forwarding_rules(id, rules).await?)
}

pub async fn remove_rules(
    client: &Client,
    id: &str,
    rules: &[ForwardingRule],
) -> Result<(), ApiError> {
    Ok(client.remove_forwarding_rules(id, rules).await?)
}

pub async fn list_certificates(client: &Client) -> Result<Vec<Certificate>, ApiError> {
    Ok(client.list_certificates().await?)
}

/// All droplets, or those carrying `tag`.
pub async fn list_droplets(client: &Client, tag: Option<&str>) -> Result<Vec<Droplet>, ApiError> {
    Ok(match tag {
        Some(tag) => client.list_droplets_by_tag(tag).await?,
        None => client.list_droplets().await?,
    })
}

/// Parses a forwarding rule written `ENTRY_PROTO:ENTRY_PORT:TARGET_PROTO:TARGET_PORT` with an
/// optional `:passthrough` or `:cert=CERTIFICATE_ID`, e.g. `https:443:https:443:passthrough`,
/// `https:443:http:8080:cert=892071a0-…`, `tcp:5432:tcp:5432`.
pub fn parse_rule(spec: &str) -> Result<ForwardingRule, ApiError> {
    let bad = |why: &str| {
        ApiError::invalid_input(format!(
            "\"{spec}\" is not a forwarding rule ({why}): write ENTRY_PROTO:ENTRY_PORT:TARGET_PROTO:TARGET_PORT[:passthrough|:cert=ID], e.g. https:443:https:443:passthrough"
        ))
        .with_details(serde_json::json!({"field": "rule", "value": spec}))
    };
    let parts: Vec<&str> = spec.trim().split(':').collect();
    if parts.len() < 4 {
        return Err(bad("too few parts"));
    }
    let port = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| bad("a port is not a number"))
    };
    let mut rule = ForwardingRule::new(
        parts[0].trim().to_ascii_lowercase(),
        port(parts[1])?,
        parts[2].trim().to_ascii_lowercase(),
        port(parts[3])?,
    );
    // A certificate id has no ':' in it, but be lenient: join the rest back.
    let rest = parts[4..].join(":");
    let rest = rest.trim();
    if rest.eq_ignore_ascii_case("passthrough") {
        rule.tls_passthrough = true;
    } else if let Some(cert) = rest.strip_prefix("cert=") {
        if cert.trim().is_empty() {
            return Err(bad("empty certificate id"));
        }
        rule.certificate_id = Some(cert.trim().to_string());
    } else if !rest.is_empty() {
        return Err(bad("the fifth part must be passthrough or cert=ID"));
    }
    Ok(rule)
}

/// Parses sticky sessions written `none` or `cookies:NAME:TTL_SECONDS`.
pub fn parse_sticky(spec: &str) -> Result<StickySessions, ApiError> {
    let parts: Vec<&str> = spec.trim().split(':').collect();
    match parts.as_slice() {
        ["none"] => Ok(StickySessions::none()),
        ["cookies", name, ttl] => {
            let ttl = ttl.trim().parse::<u32>().map_err(|_| {
                ApiError::invalid_input(format!("\"{ttl}\" is not a number of seconds"))
            })?;
            Ok(StickySessions::cookies(name.trim(), ttl))
        }
        _ => Err(ApiError::invalid_input(format!(
            "\"{spec}\" is not a sticky-session setting: write none or cookies:NAME:TTL_SECONDS"
        ))
        .with_details(serde_json::json!({"field": "sticky_sessions"}))),
    }
}

/// Parses a health check written as `key=value` pairs separated by commas, over `base`:
/// `protocol=http,port=80,path=/healthz,interval=10,timeout=5,healthy=5,unhealthy=3`.
pub fn parse_health_check(spec: &str, base: Option<&HealthCheck>) -> Result<HealthCheck, ApiError> {
    let mut hc = base.cloned().unwrap_or_else(HealthCheck::api_default);
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            ApiError::invalid_input(format!("\"{pair}\" is not key=value"))
                .with_details(serde_json::json!({"field": "health_check"}))
        })?;
        let num = || {
            value.trim().parse::<u32>().map_err(|_| {
                ApiError::invalid_input(format!("health check {key}: \"{value}\" is not a number"))
                    .with_details(serde_json::json!({"field": format!("health_check.{key}")}))
            })
        };
        match key.trim() {
            "protocol" => {
                let p = value.trim().to_ascii_lowercase();
                if p == "tcp" {
                    hc.path = None;
                }
                hc.protocol = Some(p);
            }
            "port" => hc.port = Some(num()?),
            "path" => hc.path = Some(value.trim().to_string()),
            "interval" | "check_interval_seconds" => hc.check_interval_seconds = Some(num()?),
            "timeout" | "response_timeout_seconds" => hc.response_timeout_seconds = Some(num()?),
            "healthy" | "healthy_threshold" => hc.healthy_threshold = Some(num()?),
            "unhealthy" | "unhealthy_threshold" => hc.unhealthy_threshold = Some(num()?),
            other => {
                return Err(ApiError::invalid_input(format!(
                    "unknown health-check setting \"{other}\": use protocol, port, path, interval, timeout, healthy, unhealthy"
                ))
                .with_details(serde_json::json!({"field": "health_check"})))
            }
        }
    }
    Ok(hc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        let r = parse_rule("https:443:https:443:passthrough").unwrap();
        assert!(r.tls_passthrough);
        assert_eq!(r.entry_port, 443);
        let r = parse_rule("HTTPS:443:http:8080:cert=892071a0-bb95").unwrap();
        assert_eq!(r.entry_protocol, "https");
        assert_eq!(r.certificate(), Some("892071a0-bb95"));
        assert_eq!(parse_rule("tcp:5432:tcp:5432").unwrap().target_port, 5432);
        for bad in [
            "https:443",
            "https:x:https:443",
            "https:443:https:443:maybe",
            "http:80:http:80:cert=",
        ] {
            let err = parse_rule(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn sticky_and_health_checks_parse() {
        assert!(parse_sticky("cookies:DO-LB:300").unwrap().is_enabled());
        assert!(!parse_sticky("none").unwrap().is_enabled());
        assert!(parse_sticky("cookies:x").is_err());
        let hc = parse_health_check("protocol=tcp,port=22,interval=15", None).unwrap();
        assert_eq!(hc.protocol.as_deref(), Some("tcp"));
        assert_eq!(hc.path, None);
        assert_eq!(hc.port, Some(22));
        assert_eq!(hc.check_interval_seconds, Some(15));
        assert_eq!(hc.healthy_threshold, Some(5));
        assert!(parse_health_check("colour=blue", None).is_err());
        assert!(parse_health_check("port=eighty", None).is_err());
    }

    #[test]
    fn ids_are_told_from_names() {
        assert!(looks_like_id("4de7ac8b-495b-4884-9a69-1050c6793cd6"));
        assert!(!looks_like_id("web-lb-01"));
    }
}
