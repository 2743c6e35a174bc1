//! Exporting a load balancer: as JSON (the API's create body, unknown fields kept), as the
//! `doctl compute load-balancer create` command that recreates it, and as a Terraform
//! `digitalocean_loadbalancer` block (certificates by name). DigitalOcean keeps no history of a
//! load balancer's configuration; an export is what people keep instead, or hand to the tool
//! their team already uses.
//!
//! Each text format has a parse-back ([`parse_doctl`], [`parse_terraform`], [`parse_json`]) so a
//! test can prove that what is printed recreates the same configuration ([`configuration`]).
//! The parsers read exactly what the exporters write (and the spellings doctl and Terraform
//! themselves accept for it), no more: a general shell or HCL library (`shell-words`, `hcl-rs`)
//! would be one more dependency for a test-grade check, and neither would tell us whether doctl's
//! own `key:value` rule syntax is respected — which is the part that goes wrong.
//!
//! What a format cannot carry (unknown fields, a GLOBAL load balancer's domains and settings, the
//! health check's PROXY flag) is named in a comment at the top of the text, never dropped
//! silently. Sources of the spellings: doctl `commands/load_balancers.go` and `args.go`;
//! terraform-provider-digitalocean `digitalocean/loadbalancer/resource_loadbalancer.go`.

use std::collections::BTreeMap;
use std::str::FromStr;

use cutover_digitalocean::{
    Extra, ForwardingRule, HealthCheck, LbFirewall, LoadBalancer, LoadBalancerRequest,
    StickySessions,
};
use serde::{Deserialize, Serialize};

use crate::context::Connection;
use crate::error::ApiError;

/// The formats a load balancer exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The API's create body (read-only fields left out, unknown fields kept): what
    /// `cutover lb create --from-file` and `POST /v2/load_balancers` take.
    Json,
    /// `doctl compute load-balancer create …`, shell-quoted.
    Doctl,
    /// `resource "digitalocean_loadbalancer" …`.
    Terraform,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [Self::Json, Self::Doctl, Self::Terraform];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Doctl => "doctl",
            Self::Terraform => "terraform",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ApiError::invalid_input(format!(
                    "\"{s}\" is not an export format: json, doctl or terraform."
                ))
                .with_details(serde_json::json!({"field": "format"}))
            })
    }
}

/// Certificate id → name, from the account's certificate list. Terraform names certificates
/// (`certificate_name`) because ids change when DigitalOcean renews a Let's Encrypt certificate.
pub type CertificateNames = BTreeMap<String, String>;

/// Finds the load balancer (id or unique name) and exports it. The certificate list is fetched
/// only for Terraform, and only when a rule uses a certificate.
pub async fn export_load_balancer(
    conn: &Connection,
    id_or_name: &str,
    format: ExportFormat,
) -> Result<String, ApiError> {
    let lb = crate::lb::find(conn, id_or_name).await?;
    let needs_names = format == ExportFormat::Terraform
        && lb
            .forwarding_rules
            .iter()
            .any(|r| r.certificate().is_some());
    let names = if needs_names {
        crate::lb::list_certificates(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        CertificateNames::new()
    };
    export(&lb, format, &names)
}

/// The load balancer in `format`.
pub fn export(
    lb: &LoadBalancer,
    format: ExportFormat,
    certificates: &CertificateNames,
) -> Result<String, ApiError> {
    match format {
        ExportFormat::Json => to_json(lb),
        ExportFormat::Doctl => Ok(to_doctl(lb)),
        ExportFormat::Terraform => Ok(to_terraform(lb, certificates)),
    }
}

// ---------------------------------------------------------------------------------------------
// What the formats carry
// ---------------------------------------------------------------------------------------------

/// The configuration doctl's flags and Terraform's arguments both carry: the create body
/// ([`LoadBalancer::to_request`]) without unknown fields, without a GLOBAL load balancer's
/// domains/settings/targets and the health check's `proxy_protocol` (neither tool has a way to
/// say them), with the API's equivalent spellings folded (an empty certificate id is none, an
/// empty firewall or health check is none). What an exported text must parse back to.
pub fn configuration(lb: &LoadBalancer) -> LoadBalancerRequest {
    let mut req = lb.to_request();
    req.extra = Extra::new();
    req.algorithm = None;
    req.domains = None;
    req.glb_settings = None;
    req.target_load_balancer_ids = None;
    for rule in &mut req.forwarding_rules {
        rule.extra = Extra::new();
        if rule.certificate().is_none() {
            rule.certificate_id = None;
        }
    }
    req.health_check = req.health_check.take().and_then(|mut hc| {
        hc.extra = Extra::new();
        hc.proxy_protocol = None;
        (hc != HealthCheck::default()).then_some(hc)
    });
    req.sticky_sessions = req.sticky_sessions.take().and_then(|mut s| {
        s.extra = Extra::new();
        (s != StickySessions::default()).then_some(s)
    });
    req.firewall = req.firewall.take().and_then(|mut f| {
        f.extra = Extra::new();
        (!f.allow.is_empty() || !f.deny.is_empty()).then_some(f)
    });
    req
}

/// The fields of `lb` that doctl and Terraform cannot carry, as paths (`health_check.proxy_protocol`,
/// `domains`, unknown `subnet_uuid`, …): named in the exported text so nobody loses them unawares.
pub fn not_carried(lb: &LoadBalancer) -> Vec<String> {
    let req = lb.to_request();
    let mut out: Vec<String> = req.extra.keys().cloned().collect();
    if req.domains.is_some() {
        out.push("domains".into());
    }
    if req.glb_settings.is_some() {
        out.push("glb_settings".into());
    }
    if req.target_load_balancer_ids.is_some() {
        out.push("target_load_balancer_ids".into());
    }
    for (i, rule) in req.forwarding_rules.iter().enumerate() {
        out.extend(
            rule.extra
                .keys()
                .map(|k| format!("forwarding_rules[{i}].{k}")),
        );
    }
    if let Some(hc) = &req.health_check {
        if hc.proxy_protocol == Some(true) {
            out.push("health_check.proxy_protocol".into());
        }
        out.extend(hc.extra.keys().map(|k| format!("health_check.{k}")));
    }
    if let Some(s) = &req.sticky_sessions {
        out.extend(s.extra.keys().map(|k| format!("sticky_sessions.{k}")));
    }
    if let Some(f) = &req.firewall {
        out.extend(f.extra.keys().map(|k| format!("firewall.{k}")));
    }
    out
}

fn header(lb: &LoadBalancer, tool: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "# Recreates load balancer \"{}\" ({}) with {tool}.",
        one_line(&lb.name),
        one_line(&lb.id)
    )];
    let missing = not_carried(lb);
    if !missing.is_empty() {
        lines.push(format!(
            "# Not carried by {tool} (set them after creating): {}.",
            one_line(&missing.join(", "))
        ));
    }
    lines
}

/// Text from the API inside a comment: one line, so it cannot end the comment.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// The create body as pretty JSON: the API's shape, unknown fields kept, read-only fields (`id`,
/// `ip`, `status`, `created_at`, …) left out, the region as its slug.
pub fn to_json(lb: &LoadBalancer) -> Result<String, ApiError> {
    serde_json::to_string_pretty(&lb.to_request())
        .map_err(|e| ApiError::internal(format!("could not encode the load balancer: {e}")))
}

/// Reads [`to_json`]'s text (or `{"load_balancer": …}`) back.
pub fn parse_json(text: &str) -> Result<LoadBalancerRequest, ApiError> {
    let mut value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid_input(format!("The text is not JSON: {e}")))?;
    if let Some(inner) = value.get_mut("load_balancer").map(serde_json::Value::take) {
        value = inner;
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid_input(format!("The JSON is not a load balancer: {e}")))
}

// ---------------------------------------------------------------------------------------------
// doctl
// ---------------------------------------------------------------------------------------------

/// doctl's boolean flags (bare `--flag` means true).
const DOCTL_BOOLS: &[&str] = &[
    "redirect-http-to-https",
    "enable-proxy-protocol",
    "enable-backend-keepalive",
    "disable-lets-encrypt-dns-records",
    "wait",
];

/// `doctl compute load-balancer create …`, one flag a line, shell-quoted.
pub fn to_doctl(lb: &LoadBalancer) -> String {
    let req = configuration(lb);
    let mut lines = header(lb, "doctl");
    // doctl splits a rule list on spaces, a rule on commas and a pair on colons: a value holding
    // one of them cannot be said to it, whatever the quoting.
    let mut awkward = Vec::new();
    let mut args: Vec<String> = vec!["doctl compute load-balancer create".into()];
    let mut flag = |name: &str, value: Option<String>| {
        args.push(match value {
            Some(v) => format!("--{name} {}", shell_quote(&v)),
            None => format!("--{name}"),
        })
    };
    flag("name", Some(req.name.clone()));
    if let Some(region) = &req.region {
        flag("region", Some(region.clone()));
    }
    if let Some(units) = req.size_unit {
        flag("size-unit", Some(units.to_string()));
    } else if let Some(size) = &req.size {
        flag("size", Some(size.clone()));
    }
    for (name, value) in [
        ("type", &req.lb_type),
        ("network", &req.network),
        ("network-stack", &req.network_stack),
        ("vpc-uuid", &req.vpc_uuid),
        ("project-id", &req.project_id),
    ] {
        if let Some(v) = value {
            flag(name, Some(v.clone()));
        }
    }
    if !req.forwarding_rules.is_empty() {
        let rules: Vec<String> = req
            .forwarding_rules
            .iter()
            .map(|r| {
                let mut pairs = vec![
                    ("entry_protocol", r.entry_protocol.clone()),
                    ("entry_port", r.entry_port.to_string()),
                    ("target_protocol", r.target_protocol.clone()),
                    ("target_port", r.target_port.to_string()),
                ];
                if let Some(cert) = r.certificate() {
                    pairs.push(("certificate_id", cert.to_string()));
                }
                if r.tls_passthrough {
                    pairs.push(("tls_passthrough", "true".into()));
                }
                doctl_pairs(&pairs, true, &mut awkward)
            })
            .collect();
        flag("forwarding-rules", Some(rules.join(" ")));
    }
    if let Some(hc) = &req.health_check {
        let mut pairs = Vec::new();
        if let Some(v) = &hc.protocol {
            pairs.push(("protocol", v.clone()));
        }
        for (key, value) in [
            ("port", hc.port),
            ("check_interval_seconds", hc.check_interval_seconds),
            ("response_timeout_seconds", hc.response_timeout_seconds),
            ("healthy_threshold", hc.healthy_threshold),
            ("unhealthy_threshold", hc.unhealthy_threshold),
        ] {
            if let Some(v) = value {
                pairs.push((key, v.to_string()));
            }
        }
        if let Some(path) = &hc.path {
            pairs.insert(pairs.len().min(2), ("path", path.clone()));
        }
        flag(
            "health-check",
            Some(doctl_pairs(&pairs, false, &mut awkward)),
        );
    }
    if let Some(s) = &req.sticky_sessions {
        let mut pairs = Vec::new();
        if let Some(v) = &s.kind {
            pairs.push(("type", v.clone()));
        }
        if let Some(v) = &s.cookie_name {
            pairs.push(("cookie_name", v.clone()));
        }
        if let Some(v) = s.cookie_ttl_seconds {
            pairs.push(("cookie_ttl_seconds", v.to_string()));
        }
        flag(
            "sticky-sessions",
            Some(doctl_pairs(&pairs, false, &mut awkward)),
        );
    }
    for (name, on) in [
        ("redirect-http-to-https", req.redirect_http_to_https),
        ("enable-proxy-protocol", req.enable_proxy_protocol),
        ("enable-backend-keepalive", req.enable_backend_keepalive),
        (
            "disable-lets-encrypt-dns-records",
            req.disable_lets_encrypt_dns_records,
        ),
    ] {
        if on {
            flag(name, None);
        }
    }
    if let Some(t) = req.http_idle_timeout_seconds {
        flag("http-idle-timeout-seconds", Some(t.to_string()));
    }
    if let Some(p) = &req.tls_cipher_policy {
        flag("tls-cipher-policy", Some(p.clone()));
    }
    if let Some(fw) = &req.firewall {
        if !fw.allow.is_empty() {
            flag("allow-list", Some(fw.allow.join(",")));
        }
        if !fw.deny.is_empty() {
            flag("deny-list", Some(fw.deny.join(",")));
        }
    }
    if let Some(tag) = &req.tag {
        flag("tag-name", Some(tag.clone()));
    } else if let Some(ids) = req.droplet_ids.as_ref().filter(|ids| !ids.is_empty()) {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        flag("droplet-ids", Some(ids.join(",")));
    }
    if !awkward.is_empty() {
        lines.push(format!(
            "# doctl cannot read these values (a space, comma or colon inside): {}.",
            one_line(&awkward.join(", "))
        ));
    }
    lines.push(args.join(" \\\n  "));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// `key:value,key:value`, noting values doctl's splitting would cut.
fn doctl_pairs(pairs: &[(&str, String)], in_rule: bool, awkward: &mut Vec<String>) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            if v.contains([',', ':']) || (in_rule && v.contains(char::is_whitespace)) {
                awkward.push(format!("{k} {v:?}"));
            }
            format!("{k}:{v}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A word for a POSIX shell: bare when harmless, else in single quotes, or as `$'…'` (bash, zsh,
/// ksh) when it holds control characters, which must not reach the terminal or the shell raw.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:,=@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    if !word.chars().any(char::is_control) {
        return format!("'{}'", word.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in word.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str(r"\'"),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Splits shell text into words: quotes (`'…'`, `"…"`, `$'…'`), backslash escapes, line
/// continuations, `#` comments. Enough for what [`to_doctl`] prints and people edit.
fn shell_words(text: &str) -> Result<Vec<String>, ApiError> {
    let bad = |m: &str| ApiError::invalid_input(format!("The doctl command is not valid: {m}."));
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    let mut word: Option<String> = None;
    while let Some(c) = chars.next() {
        match c {
            '#' if word.is_none() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {
                    if let Some(w) = word.take() {
                        words.push(w);
                    }
                }
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(bad("it ends with a backslash")),
            },
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(bad("a single quote is not closed")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(bad("a double quote is not closed")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(bad("a double quote is not closed")),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some('\\') => {
                            let escaped =
                                chars.next().ok_or_else(|| bad("a $'…' is not closed"))?;
                            match escaped {
                                'n' => w.push('\n'),
                                'r' => w.push('\r'),
                                't' => w.push('\t'),
                                'x' | 'u' => {
                                    let len = if escaped == 'x' { 2 } else { 4 };
                                    let hex: String = chars.by_ref().take(len).collect();
                                    let c = u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .ok_or_else(|| bad("a $'…' escape is not valid"))?;
                                    w.push(c);
                                }
                                c => w.push(c),
                            }
                        }
                        Some(c) => w.push(c),
                        None => return Err(bad("a $'…' is not closed")),
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Ok(words)
}

/// Reads a `doctl compute load-balancer create` command (as [`to_doctl`] prints it) back into
/// the create body, reading the rule, health-check and sticky-session values the way doctl does
/// (rules split on spaces, pairs on commas, key and value on the one colon).
pub fn parse_doctl(text: &str) -> Result<LoadBalancerRequest, ApiError> {
    let bad = |m: String| ApiError::invalid_input(format!("The doctl command is not valid: {m}."));
    let words = shell_words(text)?;
    let mut rest = words.iter().map(String::as_str);
    let head: Vec<&str> = rest.by_ref().take(4).collect();
    let is_create = matches!(
        head.as_slice(),
        ["doctl", "compute", "load-balancer" | "lb", "create" | "c"]
    );
    if !is_create {
        return Err(bad(
            "it does not start with `doctl compute load-balancer create`".into(),
        ));
    }
    let mut req = LoadBalancerRequest::default();
    let (mut ids, mut tag): (Vec<u64>, Option<String>) = (Vec::new(), None);
    let mut firewall = LbFirewall::default();
    let rest: Vec<&str> = rest.collect();
    let mut i = 0;
    while i < rest.len() {
        let word = rest[i];
        i += 1;
        let Some(flag) = word.strip_prefix("--") else {
            return Err(bad(format!("`{word}` is not a flag")));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if DOCTL_BOOLS.contains(&name) {
            let on = match inline.as_deref() {
                None => true,
                Some(v) => v
                    .parse::<bool>()
                    .map_err(|_| bad(format!("--{name} takes true or false")))?,
            };
            match name {
                "redirect-http-to-https" => req.redirect_http_to_https = on,
                "enable-proxy-protocol" => req.enable_proxy_protocol = on,
                "enable-backend-keepalive" => req.enable_backend_keepalive = on,
                "disable-lets-encrypt-dns-records" => req.disable_lets_encrypt_dns_records = on,
                _ => {} // --wait changes nothing in the load balancer.
            }
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = rest
                    .get(i)
                    .ok_or_else(|| bad(format!("--{name} has no value")))?;
                i += 1;
                v.to_string()
            }
        };
        let number = |v: &str| -> Result<u32, ApiError> {
            v.parse()
                .map_err(|_| bad(format!("--{name} takes a number, not \"{v}\"")))
        };
        match name {
            "name" => req.name = value,
            "region" => req.region = Some(value),
            "size-unit" => req.size_unit = Some(number(&value)?),
            "size" => req.size = Some(value),
            "type" => req.lb_type = Some(value),
            "network" => req.network = Some(value),
            "network-stack" => req.network_stack = Some(value),
            "vpc-uuid" => req.vpc_uuid = Some(value),
            "project-id" => req.project_id = Some(value),
            "tls-cipher-policy" => req.tls_cipher_policy = Some(value),
            "http-idle-timeout-seconds" => req.http_idle_timeout_seconds = Some(number(&value)?),
            "tag-name" => tag = Some(value),
            "droplet-ids" => {
                for id in value.split(',').filter(|s| !s.is_empty()) {
                    ids.push(
                        id.trim()
                            .parse()
                            .map_err(|_| bad(format!("\"{id}\" is not a droplet id")))?,
                    );
                }
            }
            "allow-list" => firewall.allow = split_list(&value),
            "deny-list" => firewall.deny = split_list(&value),
            "forwarding-rules" => {
                for rule in value.split(' ').filter(|s| !s.is_empty()) {
                    req.forwarding_rules.push(doctl_rule(&doctl_map(rule)?)?);
                }
            }
            "health-check" => {
                let m = doctl_map(&value)?;
                let mut hc = HealthCheck {
                    protocol: m.get("protocol").cloned(),
                    path: m.get("path").cloned(),
                    ..HealthCheck::default()
                };
                for (key, slot) in [
                    ("port", &mut hc.port),
                    ("check_interval_seconds", &mut hc.check_interval_seconds),
                    ("response_timeout_seconds", &mut hc.response_timeout_seconds),
                    ("healthy_threshold", &mut hc.healthy_threshold),
                    ("unhealthy_threshold", &mut hc.unhealthy_threshold),
                ] {
                    if let Some(v) = m.get(key) {
                        *slot = Some(number(v)?);
                    }
                }
                req.health_check = Some(hc);
            }
            "sticky-sessions" => {
                let m = doctl_map(&value)?;
                req.sticky_sessions = Some(StickySessions {
                    kind: m.get("type").cloned(),
                    cookie_name: m.get("cookie_name").cloned(),
                    cookie_ttl_seconds: m
                        .get("cookie_ttl_seconds")
                        .map(|v| number(v))
                        .transpose()?,
                    extra: Extra::new(),
                });
            }
            other => return Err(bad(format!("--{other} is not a flag Cutover exports"))),
        }
    }
    if !firewall.allow.is_empty() || !firewall.deny.is_empty() {
        req.firewall = Some(firewall);
    }
    set_targets(&mut req, ids, tag);
    Ok(req)
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// doctl's `fillStructFromStringSliceArgs`: comma-separated pairs, each exactly `key:value`.
fn doctl_map(text: &str) -> Result<BTreeMap<String, String>, ApiError> {
    text.split(',')
        .map(|pair| {
            let parts: Vec<&str> = pair.split(':').collect();
            match parts.as_slice() {
                [k, v] => Ok((k.to_string(), v.to_string())),
                _ => Err(ApiError::invalid_input(format!(
                    "The doctl command is not valid: \"{pair}\" is not a key:value pair."
                ))),
            }
        })
        .collect()
}

fn doctl_rule(m: &BTreeMap<String, String>) -> Result<ForwardingRule, ApiError> {
    let get = |k: &str| {
        m.get(k).cloned().ok_or_else(|| {
            ApiError::invalid_input(format!(
                "A forwarding rule in the doctl command has no {k}."
            ))
        })
    };
    let port = |k: &str| -> Result<u32, ApiError> {
        get(k)?.parse().map_err(|_| {
            ApiError::invalid_input(format!("A forwarding rule's {k} is not a number."))
        })
    };
    let mut rule = ForwardingRule::new(
        get("entry_protocol")?,
        port("entry_port")?,
        get("target_protocol")?,
        port("target_port")?,
    );
    rule.certificate_id = m.get("certificate_id").filter(|c| !c.is_empty()).cloned();
    rule.tls_passthrough = m.get("tls_passthrough").is_some_and(|v| v == "true");
    Ok(rule)
}

/// Droplets by tag, or by id — the same choice [`LoadBalancer::to_request`] makes.
fn set_targets(req: &mut LoadBalancerRequest, ids: Vec<u64>, tag: Option<String>) {
    if tag.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        req.tag = tag;
        req.droplet_ids = None;
    } else if req.is_global() && ids.is_empty() {
        req.droplet_ids = None;
    } else {
        req.droplet_ids = Some(ids);
    }
}

// ---------------------------------------------------------------------------------------------
// Terraform
// ---------------------------------------------------------------------------------------------

/// One line of an HCL body.
enum Item {
    Attr(&'static str, String),
    Block(&'static str, Vec<Item>),
    Comment(String),
}

/// A `resource "digitalocean_loadbalancer"` block. Certificates go by name (`certificate_name`);
/// one missing from `certificates` stays by id (the provider's deprecated `certificate_id`), with
/// a comment saying so.
pub fn to_terraform(lb: &LoadBalancer, certificates: &CertificateNames) -> String {
    let req = configuration(lb);
    let mut body = Vec::new();
    let s = |v: &str| hcl_string(v);
    body.push(Item::Attr("name", s(&req.name)));
    if let Some(region) = &req.region {
        body.push(Item::Attr("region", s(region)));
    }
    if let Some(units) = req.size_unit {
        body.push(Item::Attr("size_unit", units.to_string()));
    } else if let Some(size) = &req.size {
        body.push(Item::Attr("size", s(size)));
    }
    for (key, value) in [
        ("type", &req.lb_type),
        ("network", &req.network),
        ("network_stack", &req.network_stack),
        ("vpc_uuid", &req.vpc_uuid),
        ("project_id", &req.project_id),
        ("tls_cipher_policy", &req.tls_cipher_policy),
    ] {
        if let Some(v) = value {
            body.push(Item::Attr(key, s(v)));
        }
    }
    for (key, on) in [
        ("redirect_http_to_https", req.redirect_http_to_https),
        ("enable_proxy_protocol", req.enable_proxy_protocol),
        ("enable_backend_keepalive", req.enable_backend_keepalive),
        (
            "disable_lets_encrypt_dns_records",
            req.disable_lets_encrypt_dns_records,
        ),
    ] {
        if on {
            body.push(Item::Attr(key, "true".into()));
        }
    }
    if let Some(t) = req.http_idle_timeout_seconds {
        body.push(Item::Attr("http_idle_timeout_seconds", t.to_string()));
    }
    if let Some(tag) = &req.tag {
        body.push(Item::Attr("droplet_tag", s(tag)));
    } else if let Some(ids) = &req.droplet_ids {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        body.push(Item::Attr("droplet_ids", format!("[{}]", ids.join(", "))));
    }
    for rule in &req.forwarding_rules {
        let mut items = vec![
            Item::Attr("entry_protocol", s(&rule.entry_protocol)),
            Item::Attr("entry_port", rule.entry_port.to_string()),
            Item::Attr("target_protocol", s(&rule.target_protocol)),
            Item::Attr("target_port", rule.target_port.to_string()),
        ];
        if let Some(id) = rule.certificate() {
            match certificates.get(id) {
                Some(name) => items.push(Item::Attr("certificate_name", s(name))),
                None => {
                    items.push(Item::Comment(format!(
                        "certificate {} is not in the account's certificate list: kept by id",
                        one_line(id)
                    )));
                    items.push(Item::Attr("certificate_id", s(id)));
                }
            }
        }
        if rule.tls_passthrough {
            items.push(Item::Attr("tls_passthrough", "true".into()));
        }
        body.push(Item::Block("forwarding_rule", items));
    }
    if let Some(hc) = &req.health_check {
        let mut items = Vec::new();
        if let Some(v) = &hc.protocol {
            items.push(Item::Attr("protocol", s(v)));
        }
        if let Some(v) = hc.port {
            items.push(Item::Attr("port", v.to_string()));
        }
        if let Some(v) = &hc.path {
            items.push(Item::Attr("path", s(v)));
        }
        for (key, value) in [
            ("check_interval_seconds", hc.check_interval_seconds),
            ("response_timeout_seconds", hc.response_timeout_seconds),
            ("unhealthy_threshold", hc.unhealthy_threshold),
            ("healthy_threshold", hc.healthy_threshold),
        ] {
            if let Some(v) = value {
                items.push(Item::Attr(key, v.to_string()));
            }
        }
        body.push(Item::Block("healthcheck", items));
    }
    if let Some(st) = &req.sticky_sessions {
        let mut items = Vec::new();
        if let Some(v) = &st.kind {
            items.push(Item::Attr("type", s(v)));
        }
        if let Some(v) = &st.cookie_name {
            items.push(Item::Attr("cookie_name", s(v)));
        }
        if let Some(v) = st.cookie_ttl_seconds {
            items.push(Item::Attr("cookie_ttl_seconds", v.to_string()));
        }
        body.push(Item::Block("sticky_sessions", items));
    }
    if let Some(fw) = &req.firewall {
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|e| s(e)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut items = Vec::new();
        if !fw.allow.is_empty() {
            items.push(Item::Attr("allow", list(&fw.allow)));
        }
        if !fw.deny.is_empty() {
            items.push(Item::Attr("deny", list(&fw.deny)));
        }
        body.push(Item::Block("firewall", items));
    }
    let mut out = header(lb, "Terraform").join("\n");
    out.push('\n');
    out.push_str(&format!(
        "resource \"digitalocean_loadbalancer\" \"{}\" {{\n",
        resource_label(&req.name)
    ));
    render(&body, 1, &mut out);
    out.push_str("}\n");
    out
}

/// Writes a body the way `terraform fmt` lays it out: the `=` of neighbouring attributes lined
/// up, a blank line before each nested block.
fn render(items: &[Item], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Attr(..) => {
                let run_end = items[i..]
                    .iter()
                    .position(|it| !matches!(it, Item::Attr(..)))
                    .map_or(items.len(), |p| i + p);
                let width = items[i..run_end]
                    .iter()
                    .map(|it| match it {
                        Item::Attr(k, _) => k.len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                for it in &items[i..run_end] {
                    if let Item::Attr(k, v) = it {
                        out.push_str(&format!("{indent}{k:width$} = {v}\n"));
                    }
                }
                i = run_end;
            }
            Item::Block(name, inner) => {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("{indent}{name} {{\n"));
                render(inner, depth + 1, out);
                out.push_str(&format!("{indent}}}\n"));
                i += 1;
            }
            Item::Comment(text) => {
                out.push_str(&format!("{indent}# {text}\n"));
                i += 1;
            }
        }
    }
}

/// A Terraform resource name from the load balancer's: letters, digits, `_` and `-`, starting
/// with a letter or `_`.
fn resource_label(name: &str) -> String {
    let mut label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !label.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        label.insert_str(0, "lb_");
    }
    label
}

/// A quoted HCL string: `\`, `"` and control characters escaped, and `${`/`%{` doubled so that
/// Terraform reads them as text, not as a template.
fn hcl_string(value: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Hv {
    Str(String),
    Num(u64),
    Bool(bool),
    List(Vec<Hv>),
}

#[derive(Debug, Default)]
struct HclBody {
    attrs: Vec<(String, Hv)>,
    blocks: Vec<(String, Vec<String>, HclBody)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(u64),
    Sym(char),
    Newline,
}

fn hcl_error(m: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("The Terraform block is not valid: {m}."))
}

fn hcl_tokens(text: &str) -> Result<Vec<Tok>, ApiError> {
    let mut toks = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => toks.push(Tok::Newline),
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | '[' | ']' | '=' | ',' => toks.push(Tok::Sym(c)),
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('r') => s.push('\r'),
                            Some('t') => s.push('\t'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                let c = u32::from_str_radix(&hex, 16)
                                    .ok()
                                    .and_then(char::from_u32)
                                    .ok_or_else(|| hcl_error("a \\u escape is not valid"))?;
                                s.push(c);
                            }
                            _ => return Err(hcl_error("a string has an unknown escape")),
                        },
                        Some(c @ ('$' | '%')) if chars.peek() == Some(&c) => {
                            chars.next();
                            if chars.peek() == Some(&'{') {
                                s.push(c);
                            } else {
                                s.push(c);
                                s.push(c);
                            }
                        }
                        Some('$' | '%') if chars.peek() == Some(&'{') => {
                            return Err(hcl_error(
                                "a string holds a template (`${…}`), which an export never does",
                            ))
                        }
                        Some('\n') | None => return Err(hcl_error("a string is not closed")),
                        Some(c) => s.push(c),
                    }
                }
                toks.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() => {
                let mut n = String::from(c);
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    n.extend(chars.next());
                }
                toks.push(Tok::Num(
                    n.parse()
                        .map_err(|_| hcl_error(format!("{n} is too large")))?,
                ));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut id = String::from(c);
                while chars
                    .peek()
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    id.extend(chars.next());
                }
                toks.push(Tok::Ident(id));
            }
            c => return Err(hcl_error(format!("unexpected `{c}`"))),
        }
    }
    Ok(toks)
}

struct HclParser {
    toks: Vec<Tok>,
    at: usize,
}

impl HclParser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.at += 1;
        }
    }

    fn expect(&mut self, sym: char) -> Result<(), ApiError> {
        match self.next() {
            Some(Tok::Sym(c)) if c == sym => Ok(()),
            other => Err(hcl_error(format!("expected `{sym}`, found {other:?}"))),
        }
    }

    /// A body up to `}` (or the end, at the top level).
    fn body(&mut self, top: bool) -> Result<HclBody, ApiError> {
        let mut body = HclBody::default();
        loop {
            self.skip_newlines();
            match self.next() {
                None if top => return Ok(body),
                None => return Err(hcl_error("a block is not closed")),
                Some(Tok::Sym('}')) if !top => return Ok(body),
                Some(Tok::Ident(name)) => {
                    if self.peek() == Some(&Tok::Sym('=')) {
                        self.at += 1;
                        let value = self.value()?;
                        body.attrs.push((name, value));
                    } else {
                        let mut labels = Vec::new();
                        while let Some(Tok::Str(l)) = self.peek() {
                            labels.push(l.clone());
                            self.at += 1;
                        }
                        self.expect('{')?;
                        let inner = self.body(false)?;
                        body.blocks.push((name, labels, inner));
                    }
                }
                Some(other) => return Err(hcl_error(format!("unexpected {other:?}"))),
            }
        }
    }

    fn value(&mut self) -> Result<Hv, ApiError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Hv::Str(s)),
            Some(Tok::Num(n)) => Ok(Hv::Num(n)),
            Some(Tok::Ident(b)) if b == "true" || b == "false" => Ok(Hv::Bool(b == "true")),
            Some(Tok::Sym('[')) => {
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.peek() == Some(&Tok::Sym(']')) {
                        self.at += 1;
                        return Ok(Hv::List(items));
                    }
                    items.push(self.value()?);
                    self.skip_newlines();
                    match self.next() {
                        Some(Tok::Sym(',')) => {}
                        Some(Tok::Sym(']')) => return Ok(Hv::List(items)),
                        other => {
                            return Err(hcl_error(format!("expected `,` or `]`, found {other:?}")))
                        }
                    }
                }
            }
            other => Err(hcl_error(format!("expected a value, found {other:?}"))),
        }
    }
}

impl HclBody {
    fn str(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.attr(key) {
            None => Ok(None),
            Some(Hv::Str(s)) => Ok(Some(s.clone())),
            Some(other) => Err(hcl_error(format!("{key} is not a string: {other:?}"))),
        }
    }

    fn num(&self, key: &str) -> Result<Option<u32>, ApiError> {
        match self.attr(key) {
            None => Ok(None),
            Some(Hv::Num(n)) => u32::try_from(*n)
                .map(Some)
                .map_err(|_| hcl_error(format!("{key} is too large"))),
            Some(other) => Err(hcl_error(format!("{key} is not a number: {other:?}"))),
        }
    }

    fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.attr(key) {
            None => Ok(false),
            Some(Hv::Bool(b)) => Ok(*b),
            Some(other) => Err(hcl_error(format!("{key} is not true or false: {other:?}"))),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, ApiError> {
        match self.attr(key) {
            None => Ok(Vec::new()),
            Some(Hv::List(items)) => items
                .iter()
                .map(|v| match v {
                    Hv::Str(s) => Ok(s.clone()),
                    other => Err(hcl_error(format!("{key} holds {other:?}, not a string"))),
                })
                .collect(),
            Some(other) => Err(hcl_error(format!("{key} is not a list: {other:?}"))),
        }
    }

    fn attr(&self, key: &str) -> Option<&Hv> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn blocks<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HclBody> + 'a {
        self.blocks
            .iter()
            .filter(move |(n, _, _)| n == name)
            .map(|(_, _, b)| b)
    }

    /// Refuses arguments and blocks outside `known`: a misspelt one would silently be lost.
    fn only(&self, what: &str, known: &[&str]) -> Result<(), ApiError> {
        let names = self
            .attrs
            .iter()
            .map(|(k, _)| k)
            .chain(self.blocks.iter().map(|(n, _, _)| n));
        for name in names {
            if !known.contains(&name.as_str()) {
                return Err(hcl_error(format!(
                    "{what} has `{name}`, which Cutover does not export"
                )));
            }
        }
        Ok(())
    }
}

/// Reads a `resource "digitalocean_loadbalancer"` block (as [`to_terraform`] prints it) back into
/// the create body; `certificate_name` is turned back into an id with `certificates`.
pub fn parse_terraform(
    text: &str,
    certificates: &CertificateNames,
) -> Result<LoadBalancerRequest, ApiError> {
    let mut parser = HclParser {
        toks: hcl_tokens(text)?,
        at: 0,
    };
    let top = parser.body(true)?;
    let mut resources = top
        .blocks
        .iter()
        .filter(|(n, labels, _)| {
            n == "resource"
                && labels.first().map(String::as_str) == Some("digitalocean_loadbalancer")
        })
        .map(|(_, _, b)| b);
    let lb = match (resources.next(), resources.next()) {
        (Some(lb), None) => lb,
        (None, _) => return Err(hcl_error("it has no digitalocean_loadbalancer resource")),
        (Some(_), Some(_)) => {
            return Err(hcl_error("it has more than one digitalocean_loadbalancer"))
        }
    };
    lb.only(
        "the load balancer",
        &[
            "name",
            "region",
            "size_unit",
            "size",
            "type",
            "network",
            "network_stack",
            "vpc_uuid",
            "project_id",
            "tls_cipher_policy",
            "redirect_http_to_https",
            "enable_proxy_protocol",
            "enable_backend_keepalive",
            "disable_lets_encrypt_dns_records",
            "http_idle_timeout_seconds",
            "droplet_tag",
            "droplet_ids",
            "forwarding_rule",
            "healthcheck",
            "sticky_sessions",
            "firewall",
        ],
    )?;
    let mut req = LoadBalancerRequest {
        name: lb.str("name")?.ok_or_else(|| hcl_error("it has no name"))?,
        region: lb.str("region")?,
        size_unit: lb.num("size_unit")?,
        size: lb.str("size")?,
        lb_type: lb.str("type")?,
        network: lb.str("network")?,
        network_stack: lb.str("network_stack")?,
        vpc_uuid: lb.str("vpc_uuid")?,
        project_id: lb.str("project_id")?,
        tls_cipher_policy: lb.str("tls_cipher_policy")?,
        redirect_http_to_https: lb.flag("redirect_http_to_https")?,
        enable_proxy_protocol: lb.flag("enable_proxy_protocol")?,
        enable_backend_keepalive: lb.flag("enable_backend_keepalive")?,
        disable_lets_encrypt_dns_records: lb.flag("disable_lets_encrypt_dns_records")?,
        http_idle_timeout_seconds: lb.num("http_idle_timeout_seconds")?,
        ..LoadBalancerRequest::default()
    };
    for rule in lb.blocks("forwarding_rule") {
        rule.only(
            "a forwarding_rule",
            &[
                "entry_protocol",
                "entry_port",
                "target_protocol",
                "target_port",
                "certificate_name",
                "certificate_id",
                "tls_passthrough",
            ],
        )?;
        let need_str = |k: &str| {
            rule.str(k)?
                .ok_or_else(|| hcl_error(format!("a forwarding_rule has no {k}")))
        };
        let need_num = |k: &str| {
            rule.num(k)?
                .ok_or_else(|| hcl_error(format!("a forwarding_rule has no {k}")))
        };
        let mut r = ForwardingRule::new(
            need_str("entry_protocol")?,
            need_num("entry_port")?,
            need_str("target_protocol")?,
            need_num("target_port")?,
        );
        r.certificate_id = match (rule.str("certificate_name")?, rule.str("certificate_id")?) {
            (Some(name), _) => Some(
                certificates
                    .iter()
                    .find(|(_, n)| **n == name)
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| {
                        hcl_error(format!("no certificate of the account is named \"{name}\""))
                    })?,
            ),
            (None, id) => id.filter(|id| !id.is_empty()),
        };
        r.tls_passthrough = rule.flag("tls_passthrough")?;
        req.forwarding_rules.push(r);
    }
    if let Some(hc) = lb.blocks("healthcheck").next() {
        hc.only(
            "the healthcheck",
            &[
                "protocol",
                "port",
                "path",
                "check_interval_seconds",
                "response_timeout_seconds",
                "unhealthy_threshold",
                "healthy_threshold",
            ],
        )?;
        req.health_check = Some(HealthCheck {
            protocol: hc.str("protocol")?,
            port: hc.num("port")?,
            path: hc.str("path")?,
            check_interval_seconds: hc.num("check_interval_seconds")?,
            response_timeout_seconds: hc.num("response_timeout_seconds")?,
            unhealthy_threshold: hc.num("unhealthy_threshold")?,
            healthy_threshold: hc.num("healthy_threshold")?,
            proxy_protocol: None,
            extra: Extra::new(),
        });
    }
    if let Some(st) = lb.blocks("sticky_sessions").next() {
        st.only(
            "sticky_sessions",
            &["type", "cookie_name", "cookie_ttl_seconds"],
        )?;
        req.sticky_sessions = Some(StickySessions {
            kind: st.str("type")?,
            cookie_name: st.str("cookie_name")?,
            cookie_ttl_seconds: st.num("cookie_ttl_seconds")?,
            extra: Extra::new(),
        });
    }
    if let Some(fw) = lb.blocks("firewall").next() {
        fw.only("the firewall", &["allow", "deny"])?;
        req.firewall = Some(LbFirewall {
            allow: fw.strings("allow")?,
            deny: fw.strings("deny")?,
            extra: Extra::new(),
        });
    }
    let ids = match lb.attr("droplet_ids") {
        None => Vec::new(),
        Some(Hv::List(items)) => items
            .iter()
            .map(|v| match v {
                Hv::Num(n) => Ok(*n),
                other => Err(hcl_error(format!("droplet_ids holds {other:?}"))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(hcl_error(format!("droplet_ids is not a list: {other:?}"))),
    };
    let tag = lb.str("droplet_tag")?;
    set_targets(&mut req, ids, tag);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lb(value: serde_json::Value) -> LoadBalancer {
        serde_json::from_value(value).expect("a load balancer")
    }

    /// The API's answer around the parts each case changes.
    fn base(name: &str, rest: serde_json::Value) -> LoadBalancer {
        let mut v = json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6",
            "name": name,
            "ip": "104.131.186.241",
            "ipv6": "2604:a880:800:14::85f5:c000",
            "size_unit": 2,
            "size": "lb-small",
            "algorithm": "round_robin",
            "status": "active",
            "created_at": "2017-02-01T22:22:58Z",
            "forwarding_rules": [],
            "health_check": {
                "protocol": "http", "port": 80, "path": "/",
                "check_interval_seconds": 10, "response_timeout_seconds": 5,
                "healthy_threshold": 5, "unhealthy_threshold": 3
            },
            "sticky_sessions": {"type": "none"},
            "region": {"name": "New York 3", "slug": "nyc3", "features": ["private_networking"],
                       "available": true, "sizes": []},
            "tag": "",
            "droplet_ids": [3164444, 3164445],
            "redirect_http_to_https": false,
            "enable_proxy_protocol": false,
            "enable_backend_keepalive": false,
            "http_idle_timeout_seconds": 60,
            "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
            "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
            "disable_lets_encrypt_dns_records": false,
            "firewall": {"deny": [], "allow": []},
            "network": "EXTERNAL",
            "network_stack": "IPV4",
            "type": "REGIONAL",
            "tls_cipher_policy": "DEFAULT"
        });
        if let (Some(obj), Some(rest)) = (v.as_object_mut(), rest.as_object()) {
            for (k, val) in rest {
                obj.insert(k.clone(), val.clone());
            }
        }
        lb(v)
    }

    fn certs() -> CertificateNames {
        [(
            "892071a0-bb95-49bc-8021-3afd67a210bf".to_string(),
            "web-cert-2026".to_string(),
        )]
        .into()
    }

    /// Real-shaped load balancers: passthrough, https with a certificate, tcp, tag-based, legacy
    /// size, sticky, firewall.
    fn cases() -> Vec<LoadBalancer> {
        vec![
            base(
                "passthrough",
                json!({"forwarding_rules": [
                    {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
                     "target_port": 443, "certificate_id": "", "tls_passthrough": true},
                    {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                     "target_port": 80, "certificate_id": "", "tls_passthrough": false}],
                    "redirect_http_to_https": true,
                    "health_check": {"protocol": "tcp", "port": 443,
                        "check_interval_seconds": 10, "response_timeout_seconds": 5,
                        "healthy_threshold": 5, "unhealthy_threshold": 3}}),
            ),
            base(
                "https-cert",
                json!({"forwarding_rules": [
                    {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http",
                     "target_port": 8080, "certificate_id": "892071a0-bb95-49bc-8021-3afd67a210bf",
                     "tls_passthrough": false},
                    {"entry_protocol": "http2", "entry_port": 8443, "target_protocol": "http",
                     "target_port": 8080, "certificate_id": "892071a0-bb95-49bc-8021-3afd67a210bf",
                     "tls_passthrough": false}],
                    "enable_backend_keepalive": true,
                    "disable_lets_encrypt_dns_records": true,
                    "tls_cipher_policy": "STRONG",
                    "health_check": {"protocol": "http", "port": 8080, "path": "/healthz?full=1",
                        "check_interval_seconds": 3, "response_timeout_seconds": 3,
                        "healthy_threshold": 3, "unhealthy_threshold": 2}}),
            ),
            base(
                "postgres-tcp",
                json!({"forwarding_rules": [
                    {"entry_protocol": "tcp", "entry_port": 5432, "target_protocol": "tcp",
                     "target_port": 5432, "certificate_id": "", "tls_passthrough": false}],
                    "enable_proxy_protocol": true, "network": "INTERNAL",
                    "http_idle_timeout_seconds": null}),
            ),
            base(
                "by-tag",
                json!({"tag": "web", "droplet_ids": [3164444],
                       "network_stack": "DUALSTACK",
                       "forwarding_rules": [
                    {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                     "target_port": 80}]}),
            ),
            base(
                "legacy",
                json!({"size_unit": null, "size": "lb-medium",
                       "region": {"slug": "ams2", "name": "Amsterdam 2"},
                       "type": null, "network": null, "network_stack": null, "vpc_uuid": null,
                       "project_id": null, "tls_cipher_policy": null, "firewall": null,
                       "droplet_ids": [],
                       "forwarding_rules": [
                    {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                     "target_port": 80, "certificate_id": ""}]}),
            ),
            base(
                "sticky",
                json!({"sticky_sessions": {"type": "cookies", "cookie_name": "DO-LB",
                       "cookie_ttl_seconds": 300},
                       "forwarding_rules": [
                    {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                     "target_port": 8000}]}),
            ),
            base(
                "firewalled",
                json!({"firewall": {"allow": ["cidr:10.0.0.0/8", "ip:203.0.113.7"],
                                    "deny": ["ip:198.51.100.1"]},
                       "forwarding_rules": [
                    {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
                     "target_port": 443, "tls_passthrough": true}]}),
            ),
        ]
    }

    #[test]
    fn doctl_parses_back_to_the_same_configuration() {
        for lb in cases() {
            let text = to_doctl(&lb);
            let back = parse_doctl(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", lb.name));
            assert_eq!(back, configuration(&lb), "{text}");
            assert!(!text.contains("# Not carried"), "{text}");
        }
    }

    #[test]
    fn terraform_parses_back_to_the_same_configuration() {
        for lb in cases() {
            let text = to_terraform(&lb, &certs());
            let back = parse_terraform(&text, &certs())
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", lb.name));
            assert_eq!(back, configuration(&lb), "{text}");
        }
    }

    #[test]
    fn json_parses_back_to_the_create_body_with_unknown_fields() {
        for mut lb in cases() {
            lb.extra.insert("subnet_uuid".into(), json!("6f0b2c9e"));
            lb.forwarding_rules[0]
                .extra
                .insert("future_flag".into(), json!(true));
            let text = to_json(&lb).expect("json");
            let back = parse_json(&text).expect("parses");
            assert_eq!(back, lb.to_request());
            assert_eq!(back.extra["subnet_uuid"], "6f0b2c9e");
            let value: serde_json::Value = serde_json::from_str(&text).expect("json");
            for read_only in ["id", "ip", "ipv6", "status", "created_at"] {
                assert!(value.get(read_only).is_none(), "{read_only} in {text}");
            }
            assert!(value["region"].is_string(), "{text}");
        }
    }

    #[test]
    fn doctl_spells_flags_as_doctl_does() {
        let all = cases();
        let text = to_doctl(&all[0]);
        assert!(text.starts_with("# Recreates load balancer \"passthrough\""));
        assert!(
            text.contains(
                "--forwarding-rules 'entry_protocol:https,entry_port:443,target_protocol:https,\
             target_port:443,tls_passthrough:true entry_protocol:http,entry_port:80,\
             target_protocol:http,target_port:80'"
            ),
            "{text}"
        );
        assert!(text.contains("--size-unit 2 \\\n"), "{text}");
        assert!(text.contains("--redirect-http-to-https \\\n"), "{text}");
        assert!(text.contains("--droplet-ids 3164444,3164445\n"), "{text}");
        assert!(
            text.contains("--health-check protocol:tcp,port:443,"),
            "{text}"
        );
        let tagged = to_doctl(&all[3]);
        assert!(tagged.contains("--tag-name web"), "{tagged}");
        assert!(!tagged.contains("--droplet-ids"), "{tagged}");
        let legacy = to_doctl(&all[4]);
        assert!(legacy.contains("--size lb-medium"), "{legacy}");
        assert!(!legacy.contains("--size-unit"), "{legacy}");
        let sticky = to_doctl(&all[5]);
        assert!(
            sticky.contains(
                "--sticky-sessions type:cookies,cookie_name:DO-LB,cookie_ttl_seconds:300"
            ),
            "{sticky}"
        );
        let fw = to_doctl(&all[6]);
        assert!(
            fw.contains("--allow-list cidr:10.0.0.0/8,ip:203.0.113.7"),
            "{fw}"
        );
        assert!(fw.contains("--deny-list ip:198.51.100.1"), "{fw}");
    }

    #[test]
    fn terraform_names_certificates_and_keeps_an_unknown_one_by_id() {
        let https = &cases()[1];
        let text = to_terraform(https, &certs());
        assert!(text.contains("resource \"digitalocean_loadbalancer\" \"https-cert\" {"));
        assert!(
            text.contains("certificate_name = \"web-cert-2026\""),
            "{text}"
        );
        assert!(!text.contains("certificate_id"), "{text}");
        assert!(text.contains("  healthcheck {\n"), "{text}");
        assert!(text.contains("= [3164444, 3164445]\n"), "{text}");

        let unnamed = to_terraform(https, &CertificateNames::new());
        assert!(
            unnamed.contains("certificate_id = \"892071a0-"),
            "{unnamed}"
        );
        assert!(unnamed.contains("# certificate 892071a0-"), "{unnamed}");
        let back = parse_terraform(&unnamed, &CertificateNames::new()).expect("parses");
        assert_eq!(back, configuration(https));

        let tagged = to_terraform(&cases()[3], &certs());
        assert!(tagged.contains("droplet_tag"), "{tagged}");
        assert!(!tagged.contains("droplet_ids"), "{tagged}");
    }

    #[test]
    fn what_a_format_cannot_carry_is_named_not_dropped_silently() {
        let mut lb = cases()[0].clone();
        lb.extra.insert("subnet_uuid".into(), json!("6f0b2c9e"));
        if let Some(hc) = lb.health_check.as_mut() {
            hc.proxy_protocol = Some(true);
        }
        let missing = not_carried(&lb);
        assert_eq!(missing, vec!["subnet_uuid", "health_check.proxy_protocol"]);
        for text in [to_doctl(&lb), to_terraform(&lb, &certs())] {
            assert!(
                text.contains(
                    "(set them after creating): subnet_uuid, health_check.proxy_protocol."
                ),
                "{text}"
            );
        }
        assert!(to_json(&lb).expect("json").contains("subnet_uuid"));
    }

    #[test]
    fn hostile_values_are_quoted_for_the_shell_and_for_hcl() {
        let mut lb = cases()[5].clone();
        lb.name = "it's $(rm -rf ~)\n\x1b[31m".into();
        if let Some(s) = lb.sticky_sessions.as_mut() {
            s.cookie_name = Some("a\"b${x}%{y}".into());
        }
        let doctl = to_doctl(&lb);
        assert!(!doctl.contains('\x1b'), "{doctl}");
        assert!(
            doctl.contains(r"--name $'it\'s $(rm -rf ~)\n\x1b[31m'"),
            "{doctl}"
        );
        assert_eq!(parse_doctl(&doctl).expect("parses"), configuration(&lb));

        let tf = to_terraform(&lb, &certs());
        assert!(!tf.contains('\x1b'), "{tf}");
        assert!(
            tf.contains(r#"cookie_name        = "a\"b$${x}%%{y}""#),
            "{tf}"
        );
        assert_eq!(
            parse_terraform(&tf, &certs()).expect("parses"),
            configuration(&lb)
        );
    }

    #[test]
    fn doctl_values_it_cannot_split_are_called_out() {
        let mut lb = cases()[1].clone();
        if let Some(hc) = lb.health_check.as_mut() {
            hc.path = Some("/a:b,c".into());
        }
        let text = to_doctl(&lb);
        assert!(text.contains("# doctl cannot read these values"), "{text}");
        assert!(parse_doctl(&text).is_err());
    }

    #[test]
    fn the_parsers_refuse_what_they_do_not_know() {
        assert!(parse_doctl("doctl compute droplet create x").is_err());
        assert!(parse_doctl("doctl compute load-balancer create --name x --algorithm y").is_err());
        assert!(parse_doctl("doctl compute load-balancer create --name 'x").is_err());
        assert!(parse_terraform("resource \"digitalocean_droplet\" \"x\" {}", &certs()).is_err());
        assert!(parse_terraform(
            "resource \"digitalocean_loadbalancer\" \"x\" {\n name = \"x\"\n algorithm = \"y\"\n}",
            &certs()
        )
        .is_err());
        assert!(parse_json("{").is_err());
        assert_eq!(
            "Terraform".parse::<ExportFormat>().expect("format"),
            ExportFormat::Terraform
        );
        assert!("yaml".parse::<ExportFormat>().is_err());
    }
}
