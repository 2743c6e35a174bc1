//! The load-balancer validator: every rule of api-notes §4 that can be checked from a request,
//! each finding with a stable code, a severity, the field it concerns and a sentence a person
//! understands.
//!
//! The same validator runs in three places: the client refuses to send a request with error
//! findings (unless the caller skips local validation), the Sandbox answers 422 with them in
//! DigitalOcean's error shape, and the UI shows them inline beside the fields.
//!
//! Rules that cannot be checked from a request are left to other parts: TLS versions and "every
//! backend serves the same certificate" (§4 rules 28–29) to the certificate inspection, and the
//! "busy" 403 (rule 30) to the client's error handling.
//!
//! Codes are stable: consumers match on them. They read `<area>.<subject>.<problem>`, e.g.
//! `rule.https.cert_and_passthrough`.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::models::consts::{
    lb_size, lb_type, network, network_stack, protocol, sticky, tls_cipher_policy,
};
use crate::models::{Certificate, Droplet, ForwardingRule, LoadBalancer, LoadBalancerRequest};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The API refuses it (or a tool known to mirror the API does): the request is not sent.
    Error,
    /// The API accepts it, but it will not work as intended, or needs care.
    Warning,
}

/// One problem with a load-balancer request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Finding {
    /// Stable identifier, e.g. `rule.https.cert_and_passthrough`.
    pub code: String,
    pub severity: Severity,
    /// JSON-path-like location in the request body, e.g. `forwarding_rules[0].certificate_id`;
    /// empty when it concerns the whole load balancer.
    pub field: String,
    /// A sentence a person understands, saying what to change.
    pub message: String,
    /// For an update: the load balancer was already so before the edit (same code, same field
    /// or subject, same value there), so the finding is a warning whatever its rule's severity —
    /// an edit is refused only for what it introduces. See [`mark_pre_existing`].
    #[serde(default)]
    pub pre_existing: bool,
}

impl Finding {
    pub fn error(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            severity: Severity::Error,
            field: field.into(),
            message: message.into(),
            pre_existing: false,
        }
    }

    pub fn warning(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            severity: Severity::Warning,
            field: field.into(),
            message: message.into(),
            pre_existing: false,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Some finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}

/// The error findings only.
pub fn errors(findings: &[Finding]) -> Vec<Finding> {
    findings.iter().filter(|f| f.is_error()).cloned().collect()
}

/// One message for all error findings, as a 422 `message` carries it (`field: message` joined by
/// spaces), or `None` when there is no error.
pub fn rejection_message(findings: &[Finding]) -> Option<String> {
    let parts: Vec<String> = findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| {
            if f.field.is_empty() {
                f.message.clone()
            } else {
                format!("{}: {}", f.field, f.message)
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Whether the request creates a load balancer or replaces an existing one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    #[default]
    Create,
    Update,
}

/// What the validator knows beyond the request itself. Every part is optional: a rule that
/// needs what is missing is skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidationContext<'a> {
    pub operation: Operation,
    /// For an update: the load balancer as it is now (immutable fields, resizes).
    pub current: Option<&'a LoadBalancer>,
    /// The account's droplets (region and VPC of the backends).
    pub droplets: Option<&'a [Droplet]>,
    /// The account's certificates (that a rule's certificate exists and is usable).
    pub certificates: Option<&'a [Certificate]>,
}

impl<'a> ValidationContext<'a> {
    /// Creating a load balancer.
    pub fn create() -> Self {
        Self::default()
    }

    /// Replacing `current` (a PUT).
    pub fn update(current: &'a LoadBalancer) -> Self {
        Self {
            operation: Operation::Update,
            current: Some(current),
            ..Self::default()
        }
    }

    pub fn with_droplets(mut self, droplets: &'a [Droplet]) -> Self {
        self.droplets = Some(droplets);
        self
    }

    pub fn with_certificates(mut self, certificates: &'a [Certificate]) -> Self {
        self.certificates = Some(certificates);
        self
    }
}

/// Anything the validator can check: a request body, or a load balancer as fetched (checked as
/// the request that would recreate it, quirks handled).
pub trait LoadBalancerSpec {
    fn as_request(&self) -> Cow<'_, LoadBalancerRequest>;
}

impl LoadBalancerSpec for LoadBalancerRequest {
    fn as_request(&self) -> Cow<'_, LoadBalancerRequest> {
        Cow::Borrowed(self)
    }
}

impl LoadBalancerSpec for LoadBalancer {
    fn as_request(&self) -> Cow<'_, LoadBalancerRequest> {
        Cow::Owned(self.to_request())
    }
}

impl<T: LoadBalancerSpec + ?Sized> LoadBalancerSpec for &T {
    fn as_request(&self) -> Cow<'_, LoadBalancerRequest> {
        (**self).as_request()
    }
}

/// Checks a load balancer create/update request against every rule that can be checked from
/// it. Errors first, then warnings; within each, in field order.
///
/// For an update with the current load balancer known ([`ValidationContext::update`]), the
/// current one is checked too (as the request that would recreate it), and what was already so
/// is marked [`Finding::pre_existing`] and never an error: the API returned it, so refusing an
/// unrelated edit over it would only leave the user stuck (a legacy `size`, a GLB
/// `target_protocol` spelled `HTTP`, a redirect switched on before the API checked it…).
pub fn validate_load_balancer<L: LoadBalancerSpec + ?Sized>(
    lb: &L,
    ctx: &ValidationContext<'_>,
) -> Vec<Finding> {
    let req = lb.as_request();
    let req: &LoadBalancerRequest = &req;
    let after = validate_request(req, ctx);
    let (Operation::Update, Some(current)) = (ctx.operation, ctx.current) else {
        return after;
    };
    let before_req = current.to_request();
    // The same context minus `current`: the load balancer compared with itself changes no
    // immutable field, and a resize of itself is no resize.
    let before_ctx = ValidationContext {
        current: None,
        ..*ctx
    };
    let before = validate_request(&before_req, &before_ctx);
    let mut out = mark_pre_existing(&before_req, &before, req, after);
    out.sort_by_key(|f| f.severity != Severity::Error);
    out
}

/// Marks the findings of an edited request (`after`) that were already there before the edit
/// (`before`, the findings of `before_req`): same code, at the same field or on the same subject
/// (a forwarding rule found by its protocols and ports, a droplet id or firewall entry by its
/// value, so that removing or reordering rules does not make old findings new), and the same
/// value at that field on both sides (a field the user changed and left wrong is the user's).
/// Marked findings become warnings with [`Finding::pre_existing`] set.
pub fn mark_pre_existing(
    before_req: &LoadBalancerRequest,
    before: &[Finding],
    after_req: &LoadBalancerRequest,
    after: Vec<Finding>,
) -> Vec<Finding> {
    let before_json = serde_json::to_value(before_req).unwrap_or(Value::Null);
    let after_json = serde_json::to_value(after_req).unwrap_or(Value::Null);
    after
        .into_iter()
        .map(|mut f| {
            let was_there = candidate_paths(&f.field, &after_json, &before_json)
                .into_iter()
                .any(|path| {
                    before.iter().any(|b| b.code == f.code && b.field == path)
                        && value_at(&after_json, &f.field) == value_at(&before_json, &path)
                });
            if was_there {
                f.pre_existing = true;
                if f.severity == Severity::Error {
                    f.severity = Severity::Warning;
                    f.message.push_str(
                        " (Already so before this edit: shown, but not a reason to refuse it.)",
                    );
                }
            }
            f
        })
        .collect()
}

/// The fields in `before` that `field` (a field of `after`) may have been: itself, and — when
/// it is inside an array element (`forwarding_rules[2].…`, `droplet_ids[1]`) — the same place in
/// every element of `before`'s array that is the same subject.
fn candidate_paths(field: &str, after: &Value, before: &Value) -> Vec<String> {
    let mut out = vec![field.to_string()];
    let Some((array_path, index, rest)) = split_first_index(field) else {
        return out;
    };
    let Some(item) = value_at(after, &format!("{array_path}[{index}]")) else {
        return out;
    };
    let Some(Value::Array(items)) = value_at(before, array_path) else {
        return out;
    };
    for (j, other) in items.iter().enumerate() {
        if j != index && same_subject(item, other) {
            out.push(format!("{array_path}[{j}]{rest}"));
        }
    }
    out
}

/// Two array elements are the same subject: forwarding rules with the same protocols and ports
/// (case aside), anything else when equal.
fn same_subject(a: &Value, b: &Value) -> bool {
    let key = |v: &Value| {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        };
        Some((
            text("entry_protocol")?,
            v.get("entry_port")?.as_u64()?,
            text("target_protocol")?,
            v.get("target_port")?.as_u64()?,
        ))
    };
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// `forwarding_rules[2].certificate_id` → (`forwarding_rules`, 2, `.certificate_id`).
fn split_first_index(field: &str) -> Option<(&str, usize, &str)> {
    let open = field.find('[')?;
    let close = open + field[open..].find(']')?;
    let index = field[open + 1..close].parse().ok()?;
    Some((&field[..open], index, &field[close + 1..]))
}

/// The value at a finding's field (`health_check.path`, `firewall.deny[1]`); `None` when the
/// path leads nowhere. The empty field (the whole load balancer) is `None` on both sides.
fn value_at<'v>(root: &'v Value, field: &str) -> Option<&'v Value> {
    if field.is_empty() {
        return None;
    }
    let mut at = root;
    for part in field.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            at = at.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            at = at.get(index)?;
        }
    }
    Some(at)
}

/// Every rule, without the comparison with the current load balancer's findings.
fn validate_request(req: &LoadBalancerRequest, ctx: &ValidationContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    check_top_level(req, ctx, &mut out);
    check_forwarding_rules(req, ctx, &mut out);
    check_health_check(req, &mut out);
    check_sticky_sessions(req, &mut out);
    check_redirect_and_proxy(req, &mut out);
    check_firewall(req, &mut out);
    check_targets(req, ctx, &mut out);
    check_global(req, &mut out);
    check_against_current(req, ctx, &mut out);
    // Stable order: errors before warnings, otherwise as found.
    out.sort_by_key(|f| f.severity != Severity::Error);
    out
}

/// Checks forwarding rules on their own (rules 2–4, 6–9), as `POST …/forwarding_rules` sends
/// them. Fields read `forwarding_rules[i].…`, indexed within `rules`.
pub fn validate_forwarding_rules(rules: &[ForwardingRule]) -> Vec<Finding> {
    let mut out = Vec::new();
    if rules.is_empty() {
        out.push(Finding::error(
            "lb.forwarding_rules.empty",
            "forwarding_rules",
            "Add at least one forwarding rule.",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        check_rule(i, rule, rules, &mut out);
    }
    out.sort_by_key(|f| f.severity != Severity::Error);
    out
}

fn in_range(value: u32, lo: u32, hi: u32) -> bool {
    (lo..=hi).contains(&value)
}

fn is_http_family_tls(p: &str) -> bool {
    p == protocol::HTTPS || p == protocol::HTTP2
}

// Rules 17, 18, 24, 27 and the enumerations.
fn check_top_level(req: &LoadBalancerRequest, ctx: &ValidationContext<'_>, out: &mut Vec<Finding>) {
    // 27: name.
    let name = req.name.as_str();
    if name.trim().is_empty() {
        out.push(Finding::error(
            "lb.name.empty",
            "name",
            "Give the load balancer a name.",
        ));
    } else if name.chars().count() > 255 {
        out.push(Finding::error(
            "lb.name.length",
            "name",
            "The name is too long: at most 255 characters.",
        ));
    } else if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        || name.ends_with('-')
    {
        out.push(Finding::error(
            "lb.name.invalid",
            "name",
            format!(
                "\"{name}\" is not a valid load balancer name: use letters, digits, dots and dashes, start with a letter or digit, and do not end with a dash."
            ),
        ));
    }

    // Region is required for regional load balancers (GLOBAL is checked in check_global).
    if !req.is_global() && req.region.as_deref().is_none_or(str::is_empty) {
        out.push(Finding::error(
            "lb.region.missing",
            "region",
            "Choose a region for the load balancer.",
        ));
    }

    // Enumerations.
    enum_check(
        out,
        "lb.type.invalid",
        "type",
        req.lb_type.as_deref(),
        lb_type::ALL,
    );
    enum_check(
        out,
        "lb.network.invalid",
        "network",
        req.network.as_deref(),
        network::ALL,
    );
    enum_check(
        out,
        "lb.network_stack.invalid",
        "network_stack",
        req.network_stack.as_deref(),
        network_stack::ALL,
    );
    enum_check(
        out,
        "lb.tls_cipher_policy.invalid",
        "tls_cipher_policy",
        req.tls_cipher_policy.as_deref(),
        tls_cipher_policy::ALL,
    );

    // 17: idle timeout.
    if let Some(t) = req.http_idle_timeout_seconds {
        if !in_range(t, 30, 600) {
            out.push(Finding::error(
                "lb.http_idle_timeout.range",
                "http_idle_timeout_seconds",
                format!("The HTTP idle timeout must be between 30 and 600 seconds, not {t}."),
            ));
        }
    }

    // 18: size and size_unit.
    let region = req.region.as_deref().unwrap_or("");
    let legacy_region = lb_size::LEGACY_REGIONS.contains(&region);
    if let Some(units) = req.size_unit {
        if units == 0 || units > 200 {
            out.push(Finding::error(
                "lb.size_unit.range",
                "size_unit",
                format!("The size must be between 1 and 200 nodes, not {units}."),
            ));
        } else if units > 100 {
            out.push(Finding::warning(
                "lb.size_unit.above_spec",
                "size_unit",
                format!("{units} nodes is above the usual maximum of 100: the account's limits must have been raised."),
            ));
        }
        if legacy_region {
            out.push(Finding::error(
                "lb.size_unit.region",
                "size_unit",
                format!("Load balancers in {region} are sized with the legacy size (lb-small, lb-medium, lb-large), not a number of nodes."),
            ));
        }
    }
    if let Some(size) = req.size.as_deref() {
        if req.size_unit.is_some() {
            out.push(Finding::error(
                "lb.size.with_size_unit",
                "size",
                "Set either the number of nodes (size_unit) or the legacy size, not both.",
            ));
        }
        if !lb_size::ALL.contains(&size) {
            out.push(Finding::error(
                "lb.size.invalid",
                "size",
                format!("\"{size}\" is not a size: use lb-small, lb-medium or lb-large."),
            ));
        } else if !region.is_empty() && !legacy_region {
            out.push(Finding::error(
                "lb.size.region",
                "size",
                format!("The legacy size only applies in ams2, nyc2 and sfo1; in {region} set the number of nodes (size_unit) instead."),
            ));
        }
    }
    if req.algorithm.as_deref().is_some_and(|a| !a.is_empty()) {
        out.push(Finding::warning(
            "lb.algorithm.deprecated",
            "algorithm",
            "The balancing algorithm can no longer be chosen: DigitalOcean ignores it.",
        ));
    }

    // 24: INTERNAL load balancers.
    let is_internal = req.network.as_deref() == Some(network::INTERNAL);
    if is_internal && req.network_stack.as_deref() == Some(network_stack::DUALSTACK) {
        out.push(Finding::error(
            "lb.internal.dualstack",
            "network_stack",
            "An internal load balancer cannot be dual-stack: use IPV4.",
        ));
    }
    let byoip = req
        .extra
        .get("ip")
        .and_then(|v| v.as_str())
        .is_some_and(|ip| !ip.is_empty());
    if byoip && ctx.operation == Operation::Create {
        if is_internal {
            out.push(Finding::error(
                "lb.internal.ip",
                "ip",
                "An internal load balancer has no public address, so it cannot take a reserved (BYOIP) IP.",
            ));
        } else if req.is_global() {
            out.push(Finding::error(
                "lb.global.ip",
                "ip",
                "A global load balancer cannot take a reserved (BYOIP) IP.",
            ));
        }
    }
}

fn enum_check(
    out: &mut Vec<Finding>,
    code: &str,
    field: &str,
    value: Option<&str>,
    allowed: &[&str],
) {
    if let Some(v) = value {
        if !allowed.contains(&v) {
            out.push(Finding::error(
                code,
                field,
                format!(
                    "\"{v}\" is not a valid {field}: use {}.",
                    allowed.join(", ")
                ),
            ));
        }
    }
}

// Rules 1–4, 6–9 and duplicate entry ports; certificate existence when known.
fn check_forwarding_rules(
    req: &LoadBalancerRequest,
    ctx: &ValidationContext<'_>,
    out: &mut Vec<Finding>,
) {
    let rules = &req.forwarding_rules;
    // 1: at least one rule (GLOBAL has none: see check_global).
    if rules.is_empty() && !req.is_global() {
        out.push(Finding::error(
            "lb.forwarding_rules.empty",
            "forwarding_rules",
            "Add at least one forwarding rule.",
        ));
    }
    let network_lb = req.lb_type.as_deref() == Some(lb_type::REGIONAL_NETWORK);
    for (i, rule) in rules.iter().enumerate() {
        check_rule(i, rule, rules, out);
        // A network load balancer works at layer 4: the cloud controller only ever builds
        // tcp/udp rules for one (`buildRegionalNetworkForwardingRule`).
        let entry = rule.entry_protocol.as_str();
        if network_lb
            && protocol::ENTRY.contains(&entry)
            && entry != protocol::TCP
            && entry != protocol::UDP
        {
            out.push(Finding::error(
                "rule.network_lb.protocol",
                format!("forwarding_rules[{i}].entry_protocol"),
                format!("A network load balancer forwards TCP and UDP only, not {entry}: use tcp (the droplets then terminate TLS themselves)."),
            ));
        }
        if let (Some(certs), Some(cert_id)) = (ctx.certificates, rule.certificate()) {
            let field = format!("forwarding_rules[{i}].certificate_id");
            match certs.iter().find(|c| c.id == cert_id) {
                None => out.push(Finding::error(
                    "rule.certificate.unknown",
                    field,
                    format!("There is no certificate {cert_id} in this account."),
                )),
                Some(cert) if cert.state != crate::models::consts::certificate_state::VERIFIED => {
                    out.push(Finding::warning(
                        "rule.certificate.not_verified",
                        field,
                        format!(
                            "The certificate \"{}\" is {}, not verified: the load balancer cannot serve it yet.",
                            cert.name,
                            if cert.state.is_empty() { "in an unknown state" } else { cert.state.as_str() }
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
}

fn check_rule(i: usize, rule: &ForwardingRule, all: &[ForwardingRule], out: &mut Vec<Finding>) {
    let at = |field: &str| format!("forwarding_rules[{i}].{field}");
    let entry = rule.entry_protocol.as_str();
    let target = rule.target_protocol.as_str();
    let cert = rule.certificate().is_some();
    let passthrough = rule.tls_passthrough;

    // 2: ports.
    if !in_range(rule.entry_port, 1, 65535) {
        out.push(Finding::error(
            "rule.entry_port.range",
            at("entry_port"),
            format!(
                "The entry port must be between 1 and 65535, not {}.",
                rule.entry_port
            ),
        ));
    }
    if !in_range(rule.target_port, 1, 65535) {
        out.push(Finding::error(
            "rule.target_port.range",
            at("target_port"),
            format!(
                "The target port must be between 1 and 65535, not {}.",
                rule.target_port
            ),
        ));
    }

    // 3: protocols.
    let entry_known = protocol::ENTRY.contains(&entry);
    if !entry_known {
        out.push(Finding::error(
            "rule.entry_protocol.invalid",
            at("entry_protocol"),
            format!(
                "\"{entry}\" is not an entry protocol: use http, https, http2, http3, tcp or udp."
            ),
        ));
    }
    if !protocol::TARGET.contains(&target) {
        let message = if target == protocol::HTTP3 {
            "Droplets cannot be reached over HTTP/3: use http, https or http2 as the target protocol.".to_string()
        } else {
            format!("\"{target}\" is not a target protocol: use http, https, http2, tcp or udp.")
        };
        out.push(Finding::error(
            "rule.target_protocol.invalid",
            at("target_protocol"),
            message,
        ));
    }

    // 4: UDP on both sides or neither.
    if (entry == protocol::UDP) != (target == protocol::UDP) && entry_known {
        out.push(Finding::error(
            "rule.udp.mismatch",
            at("target_protocol"),
            "UDP can only be forwarded to UDP: make both the entry and the target protocol udp, or neither.",
        ));
    }

    match entry {
        // 6 and 7.
        protocol::HTTPS | protocol::HTTP2 => {
            let name = if entry == protocol::HTTPS {
                "HTTPS"
            } else {
                "HTTP/2"
            };
            if cert && passthrough {
                out.push(Finding::error(
                    "rule.https.cert_and_passthrough",
                    at("certificate_id"),
                    format!("An {name} rule either terminates TLS with a certificate or passes it through to the droplets, not both: remove the certificate or turn off SSL passthrough."),
                ));
            } else if !cert && !passthrough {
                out.push(Finding::error(
                    "rule.https.cert_or_passthrough",
                    at("certificate_id"),
                    format!("An {name} rule needs a certificate, or SSL passthrough to let the droplets terminate TLS."),
                ));
            }
            if passthrough && target != entry && protocol::TARGET.contains(&target) {
                out.push(Finding::error(
                    "rule.passthrough.target_protocol",
                    at("target_protocol"),
                    format!("With SSL passthrough the target protocol must match the entry protocol: {entry} → {entry}, not {entry} → {target}."),
                ));
            }
        }
        // 8.
        protocol::HTTP3 => {
            if passthrough {
                out.push(Finding::error(
                    "rule.http3.passthrough",
                    at("tls_passthrough"),
                    "SSL passthrough cannot be used with HTTP/3: the load balancer must terminate TLS.",
                ));
            }
            if !cert {
                out.push(Finding::error(
                    "rule.http3.certificate",
                    at("certificate_id"),
                    "An HTTP/3 rule needs a certificate.",
                ));
            }
            if !all.iter().any(|r| is_http_family_tls(&r.entry_protocol)) {
                out.push(Finding::error(
                    "rule.http3.needs_https_rule",
                    at("entry_protocol"),
                    "An HTTP/3 rule must sit beside an HTTPS or HTTP/2 rule: add one.",
                ));
            }
        }
        // 9 (and 7 for plain HTTP).
        protocol::TCP | protocol::UDP => {
            let name = entry.to_ascii_uppercase();
            if cert {
                out.push(Finding::error(
                    "rule.l4.certificate",
                    at("certificate_id"),
                    format!("A {name} rule cannot terminate TLS: remove the certificate (or use https)."),
                ));
            }
            if passthrough {
                out.push(Finding::error(
                    "rule.l4.passthrough",
                    at("tls_passthrough"),
                    format!("SSL passthrough is a setting of HTTPS rules; a {name} rule already passes everything through: turn it off."),
                ));
            }
        }
        protocol::HTTP => {
            if passthrough {
                out.push(Finding::error(
                    "rule.passthrough.entry_protocol",
                    at("tls_passthrough"),
                    "SSL passthrough needs an HTTPS or HTTP/2 entry protocol, not HTTP.",
                ));
            }
            if cert {
                out.push(Finding::warning(
                    "rule.http.certificate",
                    at("certificate_id"),
                    "Plain HTTP does not use a certificate: it will be ignored. Use https to terminate TLS.",
                ));
            }
        }
        _ => {}
    }

    // Two rules listening on the same port (UDP and TCP-based listeners are separate). HTTP/3
    // runs over QUIC, i.e. UDP: it sits on 443 beside the HTTPS rule, as the cloud controller
    // sets it up (`do-loadbalancer-http3-port`).
    let over_udp = |p: &str| p == protocol::UDP || p == protocol::HTTP3;
    let is_udp = over_udp(entry);
    if let Some(first) = all
        .iter()
        .position(|r| r.entry_port == rule.entry_port && over_udp(&r.entry_protocol) == is_udp)
    {
        if first < i {
            out.push(Finding::error(
                "rule.entry_port.duplicate",
                at("entry_port"),
                format!(
                    "Port {} is already used by forwarding rule {}: each rule needs its own entry port.",
                    rule.entry_port,
                    first + 1
                ),
            ));
        }
    }
}

// Rules 5, 15, 16.
fn check_health_check(req: &LoadBalancerRequest, out: &mut Vec<Finding>) {
    let Some(hc) = &req.health_check else { return };
    let proto = hc.protocol_or_default();
    if !protocol::HEALTH_CHECK.contains(&proto) {
        if proto == protocol::UDP {
            out.push(Finding::error(
                "health_check.protocol.udp",
                "health_check.protocol",
                "Health checks cannot use UDP, even for UDP rules: check over tcp, http or https.",
            ));
        } else {
            out.push(Finding::error(
                "health_check.protocol.invalid",
                "health_check.protocol",
                format!("\"{proto}\" is not a health-check protocol: use http, https or tcp."),
            ));
        }
    }
    if let Some(port) = hc.port {
        if !in_range(port, 1, 65535) {
            out.push(Finding::error(
                "health_check.port.range",
                "health_check.port",
                format!("The health-check port must be between 1 and 65535, not {port}."),
            ));
        }
    }
    let path = hc.path.as_deref().unwrap_or("");
    match proto {
        protocol::HTTP | protocol::HTTPS => {
            // A missing path defaults to "/"; an explicit empty or relative one is refused.
            if hc.path.is_some() && path.is_empty() {
                out.push(Finding::error(
                    "health_check.path.missing",
                    "health_check.path",
                    "An HTTP(S) health check needs a path, such as /.",
                ));
            } else if !path.is_empty() && !path.starts_with('/') {
                out.push(Finding::error(
                    "health_check.path.invalid",
                    "health_check.path",
                    format!("The health-check path must start with /, not \"{path}\"."),
                ));
            }
        }
        protocol::TCP if !path.is_empty() && path != "/" => {
            out.push(Finding::warning(
                "health_check.path.tcp",
                "health_check.path",
                "A TCP health check only opens a connection: the path is ignored.",
            ));
        }
        _ => {}
    }
    let ranges: [(&str, Option<u32>, u32, u32, &str); 4] = [
        (
            "check_interval_seconds",
            hc.check_interval_seconds,
            3,
            300,
            "interval",
        ),
        (
            "response_timeout_seconds",
            hc.response_timeout_seconds,
            3,
            300,
            "timeout",
        ),
        (
            "healthy_threshold",
            hc.healthy_threshold,
            2,
            10,
            "healthy_threshold",
        ),
        (
            "unhealthy_threshold",
            hc.unhealthy_threshold,
            2,
            10,
            "unhealthy_threshold",
        ),
    ];
    for (field, value, lo, hi, key) in ranges {
        if let Some(v) = value {
            if !in_range(v, lo, hi) {
                let what = match key {
                    "interval" => "The check interval must be between 3 and 300 seconds",
                    "timeout" => "The response timeout must be between 3 and 300 seconds",
                    "healthy_threshold" => "The healthy threshold must be between 2 and 10 checks",
                    _ => "The unhealthy threshold must be between 2 and 10 checks",
                };
                out.push(Finding::error(
                    &format!("health_check.{key}.range"),
                    format!("health_check.{field}"),
                    format!("{what}, not {v}."),
                ));
            }
        }
    }
    // 16.
    let interval = hc.check_interval_seconds.unwrap_or(10);
    let timeout = hc.response_timeout_seconds.unwrap_or(5);
    if timeout >= interval {
        out.push(Finding::warning(
            "health_check.timeout_ge_interval",
            "health_check.response_timeout_seconds",
            format!("The response timeout ({timeout} s) is not shorter than the check interval ({interval} s): checks will overlap."),
        ));
    }
}

// Rules 10–12.
fn check_sticky_sessions(req: &LoadBalancerRequest, out: &mut Vec<Finding>) {
    let Some(s) = &req.sticky_sessions else {
        return;
    };
    let kind = s.kind.as_deref().unwrap_or(sticky::NONE);
    match kind {
        sticky::COOKIES => {
            match s.cookie_name.as_deref() {
                None | Some("") => out.push(Finding::error(
                    "sticky.cookie_name.missing",
                    "sticky_sessions.cookie_name",
                    "Sticky sessions by cookie need a cookie name.",
                )),
                Some(name) if !in_range(name.chars().count() as u32, 2, 40) => {
                    out.push(Finding::error(
                        "sticky.cookie_name.length",
                        "sticky_sessions.cookie_name",
                        "The cookie name must be 2 to 40 characters long.",
                    ))
                }
                Some(_) => {}
            }
            if s.cookie_ttl_seconds.unwrap_or(0) < 1 {
                out.push(Finding::error(
                    "sticky.cookie_ttl.invalid",
                    "sticky_sessions.cookie_ttl_seconds",
                    "Sticky sessions by cookie need a cookie lifetime of at least 1 second.",
                ));
            }
            let any_passthrough = req.forwarding_rules.iter().any(|r| r.tls_passthrough);
            let any_http_layer = req.forwarding_rules.iter().any(|r| {
                let e = r.entry_protocol.as_str();
                e == protocol::HTTP
                    || e == protocol::HTTP3
                    || (is_http_family_tls(e) && !r.tls_passthrough)
            });
            if any_passthrough {
                out.push(Finding::warning(
                    "sticky.with_passthrough",
                    "sticky_sessions.type",
                    "Sticky sessions do not work with SSL passthrough: the load balancer cannot read or set cookies in traffic it does not decrypt.",
                ));
            } else if !any_http_layer && !req.forwarding_rules.is_empty() {
                out.push(Finding::warning(
                    "sticky.needs_http_rule",
                    "sticky_sessions.type",
                    "Sticky sessions need an HTTP rule (or HTTPS with a certificate): with only TCP/UDP rules they will not work.",
                ));
            }
        }
        sticky::NONE => {
            if s.cookie_name.as_deref().is_some_and(|n| !n.is_empty())
                || s.cookie_ttl_seconds.is_some_and(|t| t > 0)
            {
                out.push(Finding::error(
                    "sticky.none_with_cookie",
                    "sticky_sessions",
                    "A cookie name and lifetime only apply when sticky sessions use cookies: remove them or choose cookies.",
                ));
            }
        }
        other => out.push(Finding::error(
            "sticky.type.invalid",
            "sticky_sessions.type",
            format!("\"{other}\" is not a sticky-session type: use cookies or none."),
        )),
    }
}

// Rules 13 and 14.
fn check_redirect_and_proxy(req: &LoadBalancerRequest, out: &mut Vec<Finding>) {
    let rules = &req.forwarding_rules;
    if req.redirect_http_to_https {
        if !rules
            .iter()
            .any(|r| r.entry_protocol == protocol::HTTP && r.entry_port == 80)
        {
            out.push(Finding::error(
                "redirect.needs_http_80",
                "redirect_http_to_https",
                "Redirecting HTTP to HTTPS needs an HTTP rule on port 80 to redirect from.",
            ));
        }
        if !rules
            .iter()
            .any(|r| is_http_family_tls(&r.entry_protocol) && r.entry_port == 443)
        {
            out.push(Finding::error(
                "redirect.needs_https_443",
                "redirect_http_to_https",
                "Redirecting HTTP to HTTPS needs an HTTPS (or HTTP/2) rule on port 443: the redirect always goes to 443.",
            ));
        }
    }
    let any_passthrough = rules.iter().any(|r| r.tls_passthrough);
    if any_passthrough && !req.enable_proxy_protocol {
        out.push(Finding::warning(
            "passthrough.client_ip",
            "enable_proxy_protocol",
            "With SSL passthrough the droplets get no X-Forwarded-For header: they see the load balancer's address, not the client's. Enable PROXY protocol if they need the client IP.",
        ));
    }
    if req.enable_proxy_protocol {
        out.push(Finding::warning(
            "proxy_protocol.backends",
            "enable_proxy_protocol",
            "With PROXY protocol on, every droplet must expect the PROXY header before the request, or connections will fail.",
        ));
    }
}

// Rule 26.
fn check_firewall(req: &LoadBalancerRequest, out: &mut Vec<Finding>) {
    let Some(fw) = &req.firewall else { return };
    for (list, entries) in [("allow", &fw.allow), ("deny", &fw.deny)] {
        for (i, entry) in entries.iter().enumerate() {
            if !valid_firewall_entry(entry) {
                out.push(Finding::error(
                    &format!("firewall.{list}.invalid"),
                    format!("firewall.{list}[{i}]"),
                    format!(
                        "\"{entry}\" is not a firewall entry: write ip:1.2.3.4 or cidr:1.2.0.0/16."
                    ),
                ));
            }
        }
    }
}

/// `ip:<address>` or `cidr:<address>/<prefix>`.
pub fn valid_firewall_entry(entry: &str) -> bool {
    if let Some(ip) = entry.strip_prefix("ip:") {
        return ip.parse::<IpAddr>().is_ok();
    }
    if let Some(cidr) = entry.strip_prefix("cidr:") {
        let Some((addr, prefix)) = cidr.split_once('/') else {
            return false;
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            return false;
        };
        let Ok(prefix) = prefix.parse::<u8>() else {
            return false;
        };
        return match addr {
            IpAddr::V4(_) => prefix <= 32,
            IpAddr::V6(_) => prefix <= 128,
        };
    }
    false
}

fn valid_tag_name(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':')
}

// Rules 20–22.
fn check_targets(req: &LoadBalancerRequest, ctx: &ValidationContext<'_>, out: &mut Vec<Finding>) {
    let tag = req.tag.as_deref().filter(|t| !t.is_empty());
    if let Some(tag) = tag {
        if !valid_tag_name(tag) {
            out.push(Finding::error(
                "lb.tag.invalid",
                "tag",
                format!("\"{tag}\" is not a tag name: use letters, digits, _, - and :."),
            ));
        }
    }
    if req.is_global() {
        return;
    }
    match (&req.droplet_ids, tag) {
        (Some(_), Some(_)) => out.push(Finding::error(
            "lb.targets.both",
            "tag",
            "Choose the droplets either by tag or by id, not both.",
        )),
        (None, None) => out.push(Finding::error(
            "lb.targets.missing",
            "droplet_ids",
            "Choose the droplets behind the load balancer: a tag or a list of droplets (it may be empty).",
        )),
        _ => {}
    }
    let Some(ids) = &req.droplet_ids else { return };
    if ids.len() > 10 {
        out.push(Finding::warning(
            "lb.droplet_ids.over_10",
            "droplet_ids",
            format!("{} droplets are listed by id; DigitalOcean suggests at most 10 — use a tag for more.", ids.len()),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            out.push(Finding::warning(
                "lb.droplet_ids.duplicate",
                format!("droplet_ids[{i}]"),
                format!("Droplet {id} is listed twice."),
            ));
        }
    }
    let Some(droplets) = ctx.droplets else { return };
    let region = req.region.as_deref().unwrap_or("");
    for (i, id) in ids.iter().enumerate() {
        let field = format!("droplet_ids[{i}]");
        match droplets.iter().find(|d| d.id == *id) {
            None => out.push(Finding::error(
                "lb.droplet_ids.unknown",
                field,
                format!("There is no droplet {id} in this account."),
            )),
            Some(d) => {
                if !region.is_empty() && !d.region.slug.is_empty() && d.region.slug != region {
                    out.push(Finding::error(
                        "lb.droplet_ids.region",
                        field.clone(),
                        format!(
                            "Droplet \"{}\" is in {}, but the load balancer is in {region}: backends must be in the same region.",
                            d.name, d.region.slug
                        ),
                    ));
                }
                if let (Some(lb_vpc), Some(d_vpc)) =
                    (req.vpc_uuid.as_deref(), d.vpc_uuid.as_deref())
                {
                    if !lb_vpc.is_empty() && !d_vpc.is_empty() && lb_vpc != d_vpc {
                        out.push(Finding::error(
                            "lb.droplet_ids.vpc",
                            field,
                            format!(
                                "Droplet \"{}\" is in another VPC than the load balancer.",
                                d.name
                            ),
                        ));
                    }
                }
            }
        }
    }
}

// Rule 25.
fn check_global(req: &LoadBalancerRequest, out: &mut Vec<Finding>) {
    if !req.is_global() {
        return;
    }
    if req.region.as_deref().is_some_and(|r| !r.is_empty()) {
        out.push(Finding::error(
            "lb.global.region",
            "region",
            "A global load balancer has no region: leave it empty.",
        ));
    }
    if !req.forwarding_rules.is_empty() {
        out.push(Finding::error(
            "lb.global.forwarding_rules",
            "forwarding_rules",
            "A global load balancer takes no forwarding rules: set its target in the global settings instead.",
        ));
    }
    match &req.glb_settings {
        None => out.push(Finding::error(
            "lb.global.glb_settings.missing",
            "glb_settings",
            "A global load balancer needs its global settings (target protocol and port).",
        )),
        Some(g) => {
            if let Some(p) = g.target_protocol.as_deref() {
                // The API itself answers `HTTP` (godo `load_balancers_test.go`, doctl
                // `integration/glb_create_test.go`), so the case is not held against it.
                if !["http", "https", "http2"].contains(&p.to_ascii_lowercase().as_str()) {
                    out.push(Finding::error(
                        "lb.global.target_protocol",
                        "glb_settings.target_protocol",
                        format!("\"{p}\" is not a global target protocol: use http or https."),
                    ));
                }
            } else {
                out.push(Finding::error(
                    "lb.global.target_protocol",
                    "glb_settings.target_protocol",
                    "Choose the protocol the global load balancer uses to reach its targets: http or https.",
                ));
            }
            match g.target_port {
                Some(80) | Some(443) => {}
                Some(p) => out.push(Finding::error(
                    "lb.global.target_port",
                    "glb_settings.target_port",
                    format!("A global load balancer reaches its targets on port 80 or 443, not {p}."),
                )),
                None => out.push(Finding::error(
                    "lb.global.target_port",
                    "glb_settings.target_port",
                    "Choose the port the global load balancer uses to reach its targets: 80 or 443.",
                )),
            }
            if let Some(t) = g.failover_threshold {
                if !in_range(t, 1, 99) {
                    out.push(Finding::error(
                        "lb.global.failover_threshold",
                        "glb_settings.failover_threshold",
                        format!(
                            "The failover threshold is a percentage between 1 and 99, not {t}."
                        ),
                    ));
                }
            }
        }
    }
    let no_domains = req.domains.as_ref().is_none_or(Vec::is_empty);
    let no_targets = req
        .target_load_balancer_ids
        .as_ref()
        .is_none_or(Vec::is_empty);
    if no_domains && no_targets {
        out.push(Finding::error(
            "lb.global.targets_missing",
            "target_load_balancer_ids",
            "A global load balancer needs domains, regional load balancers to send traffic to, or both.",
        ));
    }
}

// Rules 19 and 23.
fn check_against_current(
    req: &LoadBalancerRequest,
    ctx: &ValidationContext<'_>,
    out: &mut Vec<Finding>,
) {
    let (Operation::Update, Some(cur)) = (ctx.operation, ctx.current) else {
        return;
    };
    let immutable = |out: &mut Vec<Finding>,
                     field: &str,
                     label: &str,
                     now: Option<&str>,
                     new: Option<&str>,
                     default: &str| {
        let now = now.filter(|v| !v.is_empty()).unwrap_or(default);
        if let Some(new) = new.filter(|v| !v.is_empty()) {
            if new != now {
                out.push(Finding::error(
                    &format!("lb.immutable.{field}"),
                    field,
                    format!("The {label} of a load balancer cannot change after it is created ({now} → {new}): create a new one instead."),
                ));
            }
        }
    };
    immutable(
        out,
        "region",
        "region",
        cur.region_slug(),
        req.region.as_deref(),
        "",
    );
    immutable(
        out,
        "network",
        "network",
        cur.network.as_deref(),
        req.network.as_deref(),
        network::EXTERNAL,
    );
    immutable(
        out,
        "network_stack",
        "network stack",
        cur.network_stack.as_deref(),
        req.network_stack.as_deref(),
        network_stack::IPV4,
    );
    immutable(
        out,
        "type",
        "type",
        cur.lb_type.as_deref(),
        req.lb_type.as_deref(),
        lb_type::REGIONAL,
    );
    if cur.vpc_uuid.as_deref().is_some_and(|v| !v.is_empty()) {
        immutable(
            out,
            "vpc_uuid",
            "VPC",
            cur.vpc_uuid.as_deref(),
            req.vpc_uuid.as_deref(),
            "",
        );
    }
    if let (Some(before), Some(after)) = (cur.size_unit, req.size_unit) {
        if before != after {
            let mut message = format!(
                "Resizing from {before} to {after} nodes: DigitalOcean allows one resize a minute"
            );
            if after < before {
                message.push_str(", and each removed node drains its connections for a minute");
            }
            message.push('.');
            out.push(Finding::warning(
                "lb.size_unit.resize",
                "size_unit",
                message,
            ));
        }
    }
}

/// Something to know about a load balancer that is neither wrong nor risky: what a network,
/// internal, dual-stack or global load balancer does differently, so that nothing is expected of
/// it that it cannot give. Kept apart from [`Finding`] (whose severities are all reasons to look
/// twice) so that front ends can show them as information.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Note {
    /// Stable identifier, e.g. `note.internal.no_public_address`.
    pub code: String,
    /// The field it is about (`type`, `network`, `network_stack`, `domains[0]`).
    pub field: String,
    pub message: String,
}

impl Note {
    fn new(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What differs about this load balancer from the usual regional, external, IPv4 one.
pub fn notes(lb: &LoadBalancer) -> Vec<Note> {
    let mut out = Vec::new();
    if lb.lb_type.as_deref() == Some(lb_type::REGIONAL_NETWORK) {
        out.push(Note::new(
            "note.network_lb.layer4",
            "type",
            "A network load balancer forwards TCP and UDP only: no HTTP or HTTPS rules, no certificate on the load balancer, no HTTP-to-HTTPS redirect, no sticky sessions. The droplets terminate TLS themselves.",
        ));
        out.push(Note::new(
            "note.network_lb.client_ip",
            "type",
            "Connections reach the droplets from the clients' own addresses, not the load balancer's: the droplets' firewalls must let the clients in.",
        ));
    }
    if lb.network.as_deref() == Some(network::INTERNAL) {
        out.push(Note::new(
            "note.internal.no_public_address",
            "network",
            "An internal load balancer has no public address: only machines inside its VPC reach it. A rehearsal, a DNS cutover to it and a public check cannot work from outside that network.",
        ));
    }
    if lb.network_stack.as_deref() == Some(network_stack::DUALSTACK) {
        let v6 = lb.ipv6.as_deref().filter(|a| !a.is_empty());
        out.push(Note::new(
            "note.dualstack.ipv6",
            "network_stack",
            match v6 {
                Some(addr) => format!("Dual-stack: clients reach it over IPv6 too, at {addr}. A DNS cutover points AAAA records there as well as A records at the IPv4 address."),
                None => "Dual-stack: clients reach it over IPv6 too. A DNS cutover points AAAA records at its IPv6 address as well as A records at the IPv4 address.".to_string(),
            },
        ));
    }
    if lb.is_global() {
        for (i, d) in lb.domains.iter().flatten().enumerate() {
            if d.is_managed == Some(true) {
                out.push(Note::new(
                    "note.global.managed_domain",
                    format!("domains[{i}]"),
                    format!("DigitalOcean manages the DNS of {}: it points the records at the global load balancer itself, so there is nothing to cut over by hand.", d.name),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{GlbSettings, HealthCheck, LbDomain, LbFirewall, Region, StickySessions};

    /// A valid HTTP + HTTPS-terminating request with a droplet list.
    fn base() -> LoadBalancerRequest {
        LoadBalancerRequest {
            name: "web-lb-01".into(),
            region: Some("nyc3".into()),
            size_unit: Some(1),
            forwarding_rules: vec![
                ForwardingRule::new("http", 80, "http", 80),
                ForwardingRule::new("https", 443, "http", 80).with_certificate("cert-1"),
            ],
            health_check: Some(HealthCheck::api_default()),
            sticky_sessions: Some(StickySessions::none()),
            droplet_ids: Some(vec![1, 2]),
            ..LoadBalancerRequest::default()
        }
    }

    fn passthrough() -> LoadBalancerRequest {
        LoadBalancerRequest {
            forwarding_rules: vec![
                ForwardingRule::new("https", 443, "https", 443).with_passthrough()
            ],
            enable_proxy_protocol: false,
            ..base()
        }
    }

    fn codes(req: &LoadBalancerRequest) -> Vec<String> {
        validate_load_balancer(req, &ValidationContext::create())
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    fn find(req: &LoadBalancerRequest, code: &str) -> Finding {
        let findings = validate_load_balancer(req, &ValidationContext::create());
        findings
            .iter()
            .find(|f| f.code == code)
            .cloned()
            .unwrap_or_else(|| panic!("no {code} in {findings:#?}"))
    }

    fn assert_clean(req: &LoadBalancerRequest) {
        let findings = validate_load_balancer(req, &ValidationContext::create());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn the_base_request_is_clean() {
        assert_clean(&base());
    }

    #[test]
    fn rule_1_needs_a_forwarding_rule() {
        let mut r = base();
        r.forwarding_rules.clear();
        let f = find(&r, "lb.forwarding_rules.empty");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.field, "forwarding_rules");
        assert_eq!(
            validate_forwarding_rules(&[])[0].code,
            "lb.forwarding_rules.empty"
        );
    }

    #[test]
    fn rule_2_ports_in_range() {
        let mut r = base();
        r.forwarding_rules[0].entry_port = 0;
        r.forwarding_rules[1].target_port = 70000;
        assert_eq!(
            find(&r, "rule.entry_port.range").field,
            "forwarding_rules[0].entry_port"
        );
        assert_eq!(
            find(&r, "rule.target_port.range").field,
            "forwarding_rules[1].target_port"
        );
        let mut r = base();
        r.health_check.as_mut().unwrap().port = Some(0);
        assert_eq!(
            find(&r, "health_check.port.range").field,
            "health_check.port"
        );
    }

    #[test]
    fn rule_3_known_protocols_and_no_http3_target() {
        let mut r = base();
        r.forwarding_rules[0].entry_protocol = "ftp".into();
        let f = find(&r, "rule.entry_protocol.invalid");
        assert!(f.message.contains("\"ftp\""), "{}", f.message);
        let mut r = base();
        r.forwarding_rules[0].target_protocol = "http3".into();
        assert!(find(&r, "rule.target_protocol.invalid")
            .message
            .contains("HTTP/3"));
    }

    #[test]
    fn rule_4_udp_both_sides() {
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("udp", 53, "tcp", 53));
        assert_eq!(find(&r, "rule.udp.mismatch").severity, Severity::Error);
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("udp", 53, "udp", 53));
        assert!(!codes(&r).contains(&"rule.udp.mismatch".to_string()));
    }

    #[test]
    fn rule_5_udp_health_check_protocol() {
        let mut r = base();
        r.forwarding_rules = vec![ForwardingRule::new("udp", 53, "udp", 53)];
        r.health_check = Some(HealthCheck {
            protocol: Some("udp".into()),
            ..HealthCheck::api_default()
        });
        assert_eq!(
            find(&r, "health_check.protocol.udp").severity,
            Severity::Error
        );
        r.health_check.as_mut().unwrap().protocol = Some("tcp".into());
        r.health_check.as_mut().unwrap().path = None;
        assert_clean(&r);
    }

    #[test]
    fn rule_6_https_needs_exactly_one_of_cert_and_passthrough() {
        let mut r = base();
        r.forwarding_rules[1].certificate_id = Some(String::new());
        let f = find(&r, "rule.https.cert_or_passthrough");
        assert_eq!(f.field, "forwarding_rules[1].certificate_id");
        let mut r = base();
        r.forwarding_rules[1].tls_passthrough = true;
        r.forwarding_rules[1].target_protocol = "https".into();
        let f = find(&r, "rule.https.cert_and_passthrough");
        assert_eq!(f.severity, Severity::Error);
        assert!(f.message.contains("not both"));
    }

    #[test]
    fn rule_7_passthrough_protocols() {
        let mut r = passthrough();
        r.forwarding_rules[0].target_protocol = "http".into();
        assert_eq!(
            find(&r, "rule.passthrough.target_protocol").field,
            "forwarding_rules[0].target_protocol"
        );
        let mut r = base();
        r.forwarding_rules[0].tls_passthrough = true;
        assert_eq!(
            find(&r, "rule.passthrough.entry_protocol").severity,
            Severity::Error
        );
        // A clean passthrough only warns about the client IP.
        assert_eq!(codes(&passthrough()), vec!["passthrough.client_ip"]);
    }

    #[test]
    fn rule_8_http3() {
        let mut r = base();
        r.forwarding_rules = vec![ForwardingRule::new("http3", 443, "http", 80).with_passthrough()];
        let c = codes(&r);
        for code in [
            "rule.http3.passthrough",
            "rule.http3.certificate",
            "rule.http3.needs_https_rule",
        ] {
            assert!(c.contains(&code.to_string()), "{code} not in {c:?}");
        }
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("http3", 8443, "http", 80).with_certificate("cert-1"));
        assert_clean(&r);
        // HTTP/3 is QUIC over UDP: on 443 beside the HTTPS rule is how it is meant to be.
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("http3", 443, "http", 80).with_certificate("cert-1"));
        assert_clean(&r);
        r.forwarding_rules
            .push(ForwardingRule::new("udp", 443, "udp", 443));
        assert!(codes(&r).contains(&"rule.entry_port.duplicate".to_string()));
    }

    #[test]
    fn rule_9_tcp_and_udp_take_no_tls_settings() {
        let mut r = base();
        r.forwarding_rules =
            vec![ForwardingRule::new("tcp", 5432, "tcp", 5432).with_certificate("c")];
        assert_eq!(find(&r, "rule.l4.certificate").severity, Severity::Error);
        r.forwarding_rules = vec![ForwardingRule::new("tcp", 5432, "tcp", 5432).with_passthrough()];
        assert_eq!(find(&r, "rule.l4.passthrough").severity, Severity::Error);
        let mut r = base();
        r.forwarding_rules[0].certificate_id = Some("c".into());
        assert_eq!(
            find(&r, "rule.http.certificate").severity,
            Severity::Warning
        );
    }

    #[test]
    fn duplicate_entry_ports_are_refused() {
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("tcp", 80, "tcp", 8080));
        let f = find(&r, "rule.entry_port.duplicate");
        assert_eq!(f.field, "forwarding_rules[2].entry_port");
        let mut r = base();
        r.forwarding_rules
            .push(ForwardingRule::new("udp", 80, "udp", 80));
        assert!(!codes(&r).contains(&"rule.entry_port.duplicate".to_string()));
    }

    #[test]
    fn rule_10_sticky_with_passthrough_is_a_warning() {
        let mut r = passthrough();
        r.sticky_sessions = Some(StickySessions::cookies("DO-LB", 300));
        let f = find(&r, "sticky.with_passthrough");
        assert_eq!(f.severity, Severity::Warning);
        assert!(!has_errors(&validate_load_balancer(
            &r,
            &ValidationContext::create()
        )));
    }

    #[test]
    fn rule_11_sticky_needs_an_http_rule() {
        let mut r = base();
        r.forwarding_rules = vec![ForwardingRule::new("tcp", 5432, "tcp", 5432)];
        r.sticky_sessions = Some(StickySessions::cookies("DO-LB", 300));
        assert_eq!(
            find(&r, "sticky.needs_http_rule").severity,
            Severity::Warning
        );
        let mut r = base();
        r.sticky_sessions = Some(StickySessions::cookies("DO-LB", 300));
        assert_clean(&r);
    }

    #[test]
    fn rule_12_cookie_settings() {
        let mut r = base();
        r.sticky_sessions = Some(StickySessions {
            kind: Some("cookies".into()),
            ..StickySessions::default()
        });
        let c = codes(&r);
        assert!(
            c.contains(&"sticky.cookie_name.missing".to_string()),
            "{c:?}"
        );
        assert!(
            c.contains(&"sticky.cookie_ttl.invalid".to_string()),
            "{c:?}"
        );
        r.sticky_sessions = Some(StickySessions::cookies("x", 10));
        assert_eq!(
            find(&r, "sticky.cookie_name.length").field,
            "sticky_sessions.cookie_name"
        );
        r.sticky_sessions = Some(StickySessions {
            kind: Some("none".into()),
            cookie_name: Some("DO-LB".into()),
            ..StickySessions::default()
        });
        assert_eq!(
            find(&r, "sticky.none_with_cookie").severity,
            Severity::Error
        );
        r.sticky_sessions = Some(StickySessions {
            kind: Some("ip_hash".into()),
            ..StickySessions::default()
        });
        assert_eq!(find(&r, "sticky.type.invalid").severity, Severity::Error);
    }

    #[test]
    fn rule_13_redirect_needs_80_and_443() {
        let mut r = base();
        r.redirect_http_to_https = true;
        assert_clean(&r);
        r.forwarding_rules.remove(1);
        assert_eq!(
            find(&r, "redirect.needs_https_443").field,
            "redirect_http_to_https"
        );
        let mut r = base();
        r.redirect_http_to_https = true;
        r.forwarding_rules.remove(0);
        assert_eq!(find(&r, "redirect.needs_http_80").severity, Severity::Error);
    }

    #[test]
    fn rule_14_passthrough_and_proxy_protocol_warnings() {
        assert_eq!(
            find(&passthrough(), "passthrough.client_ip").severity,
            Severity::Warning
        );
        let mut r = passthrough();
        r.enable_proxy_protocol = true;
        assert_eq!(codes(&r), vec!["proxy_protocol.backends"]);
    }

    #[test]
    fn rule_15_health_check_ranges_and_path() {
        let mut r = base();
        r.health_check = Some(HealthCheck {
            protocol: Some("icmp".into()),
            check_interval_seconds: Some(2),
            response_timeout_seconds: Some(301),
            healthy_threshold: Some(1),
            unhealthy_threshold: Some(11),
            ..HealthCheck::api_default()
        });
        let c = codes(&r);
        for code in [
            "health_check.protocol.invalid",
            "health_check.interval.range",
            "health_check.timeout.range",
            "health_check.healthy_threshold.range",
            "health_check.unhealthy_threshold.range",
        ] {
            assert!(c.contains(&code.to_string()), "{code} not in {c:?}");
        }
        let mut r = base();
        r.health_check.as_mut().unwrap().path = Some(String::new());
        assert_eq!(
            find(&r, "health_check.path.missing").severity,
            Severity::Error
        );
        r.health_check.as_mut().unwrap().path = Some("healthz".into());
        assert_eq!(
            find(&r, "health_check.path.invalid").severity,
            Severity::Error
        );
        let mut r = base();
        r.health_check = Some(HealthCheck {
            protocol: Some("tcp".into()),
            path: Some("/healthz".into()),
            ..HealthCheck::api_default()
        });
        assert_eq!(
            find(&r, "health_check.path.tcp").severity,
            Severity::Warning
        );
    }

    #[test]
    fn rule_16_timeout_not_shorter_than_interval() {
        let mut r = base();
        r.health_check.as_mut().unwrap().response_timeout_seconds = Some(10);
        assert_eq!(
            find(&r, "health_check.timeout_ge_interval").severity,
            Severity::Warning
        );
    }

    #[test]
    fn rule_17_idle_timeout() {
        let mut r = base();
        r.http_idle_timeout_seconds = Some(20);
        assert_eq!(
            find(&r, "lb.http_idle_timeout.range").field,
            "http_idle_timeout_seconds"
        );
        r.http_idle_timeout_seconds = Some(600);
        assert_clean(&r);
    }

    #[test]
    fn rule_18_size() {
        let mut r = base();
        r.size_unit = Some(0);
        assert_eq!(find(&r, "lb.size_unit.range").severity, Severity::Error);
        r.size_unit = Some(150);
        assert_eq!(
            find(&r, "lb.size_unit.above_spec").severity,
            Severity::Warning
        );
        let mut r = base();
        r.size = Some("lb-small".into());
        let c = codes(&r);
        assert!(c.contains(&"lb.size.with_size_unit".to_string()), "{c:?}");
        assert!(c.contains(&"lb.size.region".to_string()), "{c:?}");
        let mut r = base();
        r.size_unit = None;
        r.size = Some("lb-huge".into());
        assert!(codes(&r).contains(&"lb.size.invalid".to_string()));
        let mut r = base();
        r.region = Some("nyc2".into());
        assert!(codes(&r).contains(&"lb.size_unit.region".to_string()));
        r.size_unit = None;
        r.size = Some("lb-medium".into());
        assert_clean(&r);
    }

    #[test]
    fn rule_19_resize_warns() {
        let current = LoadBalancer {
            size_unit: Some(3),
            region: Some(Region {
                slug: "nyc3".into(),
                ..Region::default()
            }),
            ..base().to_load_balancer()
        };
        let r = base();
        let findings = validate_load_balancer(&r, &ValidationContext::update(&current));
        let f = findings
            .iter()
            .find(|f| f.code == "lb.size_unit.resize")
            .expect("resize");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.message.contains("drains"), "{}", f.message);
    }

    #[test]
    fn rule_20_tag_xor_droplets() {
        let mut r = base();
        r.tag = Some("web".into());
        assert_eq!(find(&r, "lb.targets.both").severity, Severity::Error);
        r.droplet_ids = None;
        assert_clean(&r);
        r.tag = None;
        assert_eq!(find(&r, "lb.targets.missing").severity, Severity::Error);
        r.tag = Some("bad tag!".into());
        assert!(codes(&r).contains(&"lb.tag.invalid".to_string()));
    }

    #[test]
    fn rule_21_more_than_ten_droplets_warns() {
        let mut r = base();
        r.droplet_ids = Some((1..=11).collect());
        assert_eq!(
            find(&r, "lb.droplet_ids.over_10").severity,
            Severity::Warning
        );
        r.droplet_ids = Some(vec![1, 1]);
        assert_eq!(find(&r, "lb.droplet_ids.duplicate").field, "droplet_ids[1]");
    }

    #[test]
    fn rule_22_droplets_in_the_region() {
        let droplets = vec![
            Droplet {
                id: 1,
                name: "web-1".into(),
                region: Region {
                    slug: "nyc3".into(),
                    ..Region::default()
                },
                ..Droplet::default()
            },
            Droplet {
                id: 2,
                name: "web-2".into(),
                region: Region {
                    slug: "ams3".into(),
                    ..Region::default()
                },
                ..Droplet::default()
            },
        ];
        let mut r = base();
        r.droplet_ids = Some(vec![1, 2, 3]);
        let findings =
            validate_load_balancer(&r, &ValidationContext::create().with_droplets(&droplets));
        let region = findings
            .iter()
            .find(|f| f.code == "lb.droplet_ids.region")
            .unwrap();
        assert_eq!(region.field, "droplet_ids[1]");
        assert!(region.message.contains("ams3"));
        let unknown = findings
            .iter()
            .find(|f| f.code == "lb.droplet_ids.unknown")
            .unwrap();
        assert_eq!(unknown.field, "droplet_ids[2]");
    }

    #[test]
    fn rule_23_immutable_fields() {
        let current = LoadBalancer {
            network: Some("EXTERNAL".into()),
            vpc_uuid: Some("vpc-a".into()),
            ..base().to_load_balancer()
        };
        let mut r = base();
        r.region = Some("ams3".into());
        r.network = Some("INTERNAL".into());
        r.lb_type = Some("REGIONAL_NETWORK".into());
        r.vpc_uuid = Some("vpc-b".into());
        let findings = validate_load_balancer(&r, &ValidationContext::update(&current));
        let c: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
        for code in [
            "lb.immutable.region",
            "lb.immutable.network",
            "lb.immutable.type",
            "lb.immutable.vpc_uuid",
        ] {
            assert!(c.contains(&code), "{code} not in {c:?}");
        }
        // Unchanged, or not sent: fine.
        let findings = validate_load_balancer(&base(), &ValidationContext::update(&current));
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn rule_24_internal_restrictions() {
        let mut r = base();
        r.network = Some("INTERNAL".into());
        r.network_stack = Some("DUALSTACK".into());
        r.extra
            .insert("ip".into(), serde_json::json!("203.0.113.5"));
        let c = codes(&r);
        assert!(c.contains(&"lb.internal.dualstack".to_string()), "{c:?}");
        assert!(c.contains(&"lb.internal.ip".to_string()), "{c:?}");
    }

    #[test]
    fn rule_25_global_load_balancers() {
        let mut r = LoadBalancerRequest {
            name: "glb".into(),
            lb_type: Some("GLOBAL".into()),
            region: Some("nyc3".into()),
            forwarding_rules: base().forwarding_rules,
            ..LoadBalancerRequest::default()
        };
        let c = codes(&r);
        for code in [
            "lb.global.region",
            "lb.global.forwarding_rules",
            "lb.global.glb_settings.missing",
            "lb.global.targets_missing",
        ] {
            assert!(c.contains(&code.to_string()), "{code} not in {c:?}");
        }
        r.region = None;
        r.forwarding_rules.clear();
        r.glb_settings = Some(GlbSettings {
            target_protocol: Some("tcp".into()),
            target_port: Some(8080),
            failover_threshold: Some(100),
            ..GlbSettings::default()
        });
        r.domains = Some(vec![LbDomain {
            name: "example.com".into(),
            ..LbDomain::default()
        }]);
        let c = codes(&r);
        for code in [
            "lb.global.target_protocol",
            "lb.global.target_port",
            "lb.global.failover_threshold",
        ] {
            assert!(c.contains(&code.to_string()), "{code} not in {c:?}");
        }
        r.glb_settings = Some(GlbSettings {
            target_protocol: Some("https".into()),
            target_port: Some(443),
            ..GlbSettings::default()
        });
        assert_clean(&r);
    }

    #[test]
    fn rule_26_firewall_entries() {
        let mut r = base();
        r.firewall = Some(LbFirewall {
            allow: vec![
                "ip:1.2.3.4".into(),
                "cidr:10.0.0.0/8".into(),
                "ip:2001:db8::1".into(),
            ],
            deny: vec!["1.2.3.4".into(), "cidr:10.0.0.0/33".into()],
            ..LbFirewall::default()
        });
        let findings = validate_load_balancer(&r, &ValidationContext::create());
        let fields: Vec<&str> = findings
            .iter()
            .filter(|f| f.code == "firewall.deny.invalid")
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, vec!["firewall.deny[0]", "firewall.deny[1]"]);
        assert!(!findings.iter().any(|f| f.code == "firewall.allow.invalid"));
    }

    #[test]
    fn rule_27_names() {
        for (name, code) in [
            ("", "lb.name.empty"),
            ("-lb", "lb.name.invalid"),
            ("lb-", "lb.name.invalid"),
            ("my_lb", "lb.name.invalid"),
        ] {
            let mut r = base();
            r.name = name.into();
            assert_eq!(find(&r, code).field, "name", "{name}");
        }
        let mut r = base();
        r.name = "a".repeat(256);
        assert_eq!(find(&r, "lb.name.length").severity, Severity::Error);
        r.name = "sandbox.example-1".into();
        assert_clean(&r);
    }

    #[test]
    fn region_and_enumerations() {
        let mut r = base();
        r.region = None;
        assert_eq!(find(&r, "lb.region.missing").severity, Severity::Error);
        let mut r = base();
        r.network = Some("PUBLIC".into());
        r.network_stack = Some("IPV6".into());
        r.lb_type = Some("LOCAL".into());
        r.tls_cipher_policy = Some("WEAK".into());
        let c = codes(&r);
        for code in [
            "lb.network.invalid",
            "lb.network_stack.invalid",
            "lb.type.invalid",
            "lb.tls_cipher_policy.invalid",
        ] {
            assert!(c.contains(&code.to_string()), "{code} not in {c:?}");
        }
    }

    #[test]
    fn certificates_are_checked_when_known() {
        let certs = vec![Certificate {
            id: "cert-1".into(),
            name: "le".into(),
            state: "pending".into(),
            ..Certificate::default()
        }];
        let mut r = base();
        let findings =
            validate_load_balancer(&r, &ValidationContext::create().with_certificates(&certs));
        assert_eq!(findings[0].code, "rule.certificate.not_verified");
        r.forwarding_rules[1].certificate_id = Some("cert-2".into());
        let findings =
            validate_load_balancer(&r, &ValidationContext::create().with_certificates(&certs));
        assert_eq!(findings[0].code, "rule.certificate.unknown");
    }

    #[test]
    fn a_fetched_tag_based_load_balancer_validates_as_its_request() {
        // A GET on a tag-based LB fills droplet_ids too; that is not "both".
        let lb = LoadBalancer {
            tag: "web".into(),
            droplet_ids: vec![1, 2],
            ..base().to_load_balancer()
        };
        let findings = validate_load_balancer(&lb, &ValidationContext::create());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn errors_come_first_and_make_a_rejection_message() {
        let mut r = passthrough();
        r.forwarding_rules[0].certificate_id = Some("c".into());
        let findings = validate_load_balancer(&r, &ValidationContext::create());
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings.last().unwrap().severity, Severity::Warning);
        let message = rejection_message(&findings).unwrap();
        assert!(
            message.starts_with("forwarding_rules[0].certificate_id: "),
            "{message}"
        );
        assert_eq!(rejection_message(&[]), None);
        assert_eq!(errors(&findings).len(), 1);
    }

    /// A load balancer as fetched, with `size` (legacy) in a region where new ones use
    /// `size_unit`, a passthrough rule that also carries a certificate (droplet_kit's fixture),
    /// and a redirect switched on without an HTTPS rule on 443.
    fn legacy() -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "lb-legacy", "name": "legacy-lb", "status": "active",
            "size": "lb-small",
            "region": {"slug": "nyc3"},
            "forwarding_rules": [
                {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80},
                {"entry_protocol": "https", "entry_port": 444, "target_protocol": "https", "target_port": 443,
                 "certificate_id": "my-cert", "tls_passthrough": true}
            ],
            "redirect_http_to_https": true,
            "http_idle_timeout_seconds": 60,
            "droplet_ids": [1, 2],
            "tag": ""
        }))
        .unwrap()
    }

    fn update_findings(current: &LoadBalancer, desired: &LoadBalancer) -> Vec<Finding> {
        let plan = crate::plan::plan_update(current, desired);
        validate_load_balancer(&plan.request, &ValidationContext::update(current))
    }

    #[test]
    fn pre_existing_findings_do_not_block_an_unrelated_edit() {
        let current = legacy();
        // As a create, the same load balancer is refused three times over.
        let as_create = validate_load_balancer(&current, &ValidationContext::create());
        let as_create = errors(&as_create);
        let refused: Vec<&str> = as_create.iter().map(|f| f.code.as_str()).collect();
        for code in [
            "lb.size.region",
            "rule.https.cert_and_passthrough",
            "redirect.needs_https_443",
        ] {
            assert!(refused.contains(&code), "{code} not in {refused:?}");
        }
        let mut desired = current.clone();
        desired.http_idle_timeout_seconds = Some(120);
        let findings = update_findings(&current, &desired);
        assert!(!has_errors(&findings), "{findings:#?}");
        for code in [
            "lb.size.region",
            "rule.https.cert_and_passthrough",
            "redirect.needs_https_443",
        ] {
            let f = findings.iter().find(|f| f.code == code).expect(code);
            assert!(f.pre_existing, "{f:?}");
            assert_eq!(f.severity, Severity::Warning);
            assert!(
                f.message.contains("Already so before this edit"),
                "{}",
                f.message
            );
        }
        // Serialised, the flag is there; an older body without it reads as false.
        let v = serde_json::to_value(&findings[0]).unwrap();
        assert_eq!(v["pre_existing"], true);
        let old: Finding = serde_json::from_value(serde_json::json!({
            "code": "x", "severity": "error", "field": "", "message": "m"
        }))
        .unwrap();
        assert!(!old.pre_existing);
    }

    #[test]
    fn what_the_edit_introduces_still_blocks_it() {
        let current = legacy();
        // Removing the HTTP rule breaks the redirect a second way: that one is new.
        let mut desired = current.clone();
        desired.forwarding_rules.remove(0);
        let findings = update_findings(&current, &desired);
        let new = findings
            .iter()
            .find(|f| f.code == "redirect.needs_http_80")
            .expect("new finding");
        assert_eq!(new.severity, Severity::Error);
        assert!(!new.pre_existing);
        // The passthrough rule moved from index 1 to 0: still the same rule, still pre-existing.
        let moved = findings
            .iter()
            .find(|f| f.code == "rule.https.cert_and_passthrough")
            .unwrap();
        assert_eq!(moved.field, "forwarding_rules[0].certificate_id");
        assert!(moved.pre_existing, "{moved:?}");
        // A field the user changed and left wrong is the user's: 20 → 25 is still refused.
        let mut current = legacy();
        current.http_idle_timeout_seconds = Some(20);
        let mut desired = current.clone();
        desired.http_idle_timeout_seconds = Some(25);
        let f = update_findings(&current, &desired)
            .into_iter()
            .find(|f| f.code == "lb.http_idle_timeout.range")
            .unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert!(!f.pre_existing);
        // Left as it was, it is not.
        let f = update_findings(&current, &current)
            .into_iter()
            .find(|f| f.code == "lb.http_idle_timeout.range")
            .unwrap();
        assert!(f.pre_existing && f.severity == Severity::Warning);
        // Immutable fields are never "pre-existing": the current one cannot differ from itself.
        let mut desired = legacy();
        desired.network = Some("INTERNAL".into());
        let f = update_findings(&legacy(), &desired)
            .into_iter()
            .find(|f| f.code == "lb.immutable.network")
            .unwrap();
        assert_eq!(f.severity, Severity::Error);
    }

    #[test]
    fn a_create_context_marks_nothing() {
        let findings = validate_load_balancer(&legacy(), &ValidationContext::create());
        assert!(findings.iter().all(|f| !f.pre_existing));
        // An update without the current load balancer cannot compare either.
        let ctx = ValidationContext {
            operation: Operation::Update,
            ..ValidationContext::default()
        };
        assert!(has_errors(&validate_load_balancer(&legacy(), &ctx)));
    }

    #[test]
    fn global_target_protocol_in_capitals_is_what_the_api_answers() {
        let r = LoadBalancerRequest {
            name: "glb".into(),
            lb_type: Some("GLOBAL".into()),
            glb_settings: Some(GlbSettings {
                target_protocol: Some("HTTP".into()),
                target_port: Some(80),
                ..GlbSettings::default()
            }),
            target_load_balancer_ids: Some(vec!["a".into()]),
            ..LoadBalancerRequest::default()
        };
        assert_clean(&r);
    }

    #[test]
    fn network_load_balancers_take_tcp_and_udp_rules_only() {
        let mut r = base();
        r.lb_type = Some("REGIONAL_NETWORK".into());
        r.sticky_sessions = None;
        let fields: Vec<String> = validate_load_balancer(&r, &ValidationContext::create())
            .into_iter()
            .filter(|f| f.code == "rule.network_lb.protocol")
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "forwarding_rules[0].entry_protocol",
                "forwarding_rules[1].entry_protocol"
            ]
        );
        r.forwarding_rules = vec![
            ForwardingRule::new("tcp", 443, "tcp", 443),
            ForwardingRule::new("udp", 53, "udp", 53),
        ];
        assert_clean(&r);
    }

    #[test]
    fn notes_say_what_differs() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "type": "REGIONAL_NETWORK", "network": "INTERNAL"
        }))
        .unwrap();
        let codes: Vec<String> = notes(&lb).into_iter().map(|n| n.code).collect();
        assert_eq!(
            codes,
            vec![
                "note.network_lb.layer4",
                "note.network_lb.client_ip",
                "note.internal.no_public_address"
            ]
        );
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "network_stack": "DUALSTACK", "ipv6": "2001:db8::1"
        }))
        .unwrap();
        let n = notes(&lb);
        assert_eq!(n[0].code, "note.dualstack.ipv6");
        assert!(n[0].message.contains("2001:db8::1"));
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "type": "GLOBAL",
            "domains": [{"name": "a.example", "is_managed": false}, {"name": "b.example", "is_managed": true}]
        }))
        .unwrap();
        let n = notes(&lb);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].field, "domains[1]");
        assert!(notes(&LoadBalancer::default()).is_empty());
    }
}
