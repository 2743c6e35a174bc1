//! The CLI's spellings of a load balancer's parts: `--rule`, `--sticky`, `--health-check`.

use cutover_core::lb::{ForwardingRule, HealthCheck, StickySessions};
use cutover_core::ApiError;

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
    use cutover_core::ErrorCode;

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
}
