//! Safe updates of a load balancer.
//!
//! `PUT /v2/load_balancers/{id}` is a full replace: whatever the body leaves out resets to its
//! default. So an update is planned from the load balancer as fetched ([`plan_update`]): the full
//! body with the API's quirks handled, plus a field-level diff for people to read. The client then
//! dry-runs it (`validate_only`) and applies it only if the load balancer is still what the plan
//! was made from ([`crate::Client::apply`]).
//!
//! **What counts as "changed since the plan"** ([`conflicts`]): the difference between the
//! request bodies the two versions would produce — every mutable field, the region slug, and
//! every unknown field in `extra`. Read-only fields (`status`, `ip`, `ipv6`, `created_at`) are
//! not compared, so `new → active` is not a conflict; neither is the droplet list of a
//! *tag-based* load balancer (droplets join and leave by tag, and the PUT sends only the tag),
//! nor the region object's `features`/`sizes` (only the slug is sent).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::models::{LoadBalancer, LoadBalancerRequest};

/// One field that differs: `path` is JSON-path-like (`forwarding_rules[1].certificate_id`);
/// `before`/`after` are `null` when the field is absent on that side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldChange {
    pub path: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub before: Value,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub after: Value,
}

impl FieldChange {
    /// `name: "a" → "b"`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} → {}",
            self.path,
            compact(&self.before),
            compact(&self.after)
        )
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        other => other.to_string(),
    }
}

/// An update ready to dry-run and apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UpdatePlan {
    /// The load balancer's id.
    pub id: String,
    /// The load balancer as it was when the plan was made (what `apply` compares against).
    pub current: LoadBalancer,
    /// The full PUT body.
    pub request: LoadBalancerRequest,
    /// What the PUT changes, field by field (empty: nothing to do).
    pub changes: Vec<FieldChange>,
}

impl UpdatePlan {
    /// Nothing would change.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Builds the full PUT body that turns `current` into `desired`, and the field-level diff.
///
/// The body is `desired.to_request()`: `tag` only when `desired` is tag-based (else
/// `droplet_ids`), `size_unit` unless it uses the legacy `size`, the region as a slug (falling
/// back to `current`'s when `desired` has none), read-only fields dropped, unknown fields kept.
pub fn plan_update(current: &LoadBalancer, desired: &LoadBalancer) -> UpdatePlan {
    let mut request = desired.to_request();
    if request.region.is_none() {
        request.region = current.region_slug().map(str::to_string);
    }
    request.validate_only = false;
    let changes = diff_requests(&current.to_request(), &request);
    UpdatePlan {
        id: if current.id.is_empty() {
            desired.id.clone()
        } else {
            current.id.clone()
        },
        current: current.clone(),
        request,
        changes,
    }
}

/// What differs between the load balancer a plan was made from and the one fetched now, in the
/// fields a PUT would send (see the module docs). Empty: no conflict.
pub fn conflicts(planned_from: &LoadBalancer, now: &LoadBalancer) -> Vec<FieldChange> {
    diff_requests(&planned_from.to_request(), &now.to_request())
}

/// Field-level diff of two request bodies.
pub fn diff_requests(
    before: &LoadBalancerRequest,
    after: &LoadBalancerRequest,
) -> Vec<FieldChange> {
    let before = serde_json::to_value(before).unwrap_or(Value::Null);
    let after = serde_json::to_value(after).unwrap_or(Value::Null);
    let mut out = Vec::new();
    diff_values("", &before, &after, &mut out);
    out
}

/// Field-level diff of two JSON values: objects key by key (absent = `null`), arrays index by
/// index, anything else as a whole.
pub fn diff_values(path: &str, before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_values(
                    &child,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                diff_values(
                    &format!("{path}[{i}]"),
                    a.get(i).unwrap_or(&Value::Null),
                    b.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        // `null` vs an empty object/array is the same for the API.
        (Value::Null, Value::Object(m)) | (Value::Object(m), Value::Null) if m.is_empty() => {}
        (Value::Null, Value::Array(v)) | (Value::Array(v), Value::Null) if v.is_empty() => {}
        _ => out.push(FieldChange {
            path: path.to_string(),
            before: before.clone(),
            after: after.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ForwardingRule, Region};
    use serde_json::json;

    fn lb() -> LoadBalancer {
        serde_json::from_value(json!({
            "id": "lb-1",
            "name": "web",
            "ip": "203.0.113.10",
            "status": "active",
            "created_at": "2024-01-01T00:00:00Z",
            "size_unit": 2,
            "region": {"slug": "nyc3", "name": "New York 3", "features": [], "available": true, "sizes": []},
            "forwarding_rules": [
                {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80, "certificate_id": "", "tls_passthrough": false}
            ],
            "droplet_ids": [1, 2],
            "tag": "",
            "subnet_uuid": "kept"
        }))
        .unwrap()
    }

    #[test]
    fn plan_builds_a_full_body_and_a_diff() {
        let current = lb();
        let mut desired = current.clone();
        desired.name = "web-2".into();
        desired.redirect_http_to_https = true;
        desired
            .forwarding_rules
            .push(ForwardingRule::new("https", 443, "https", 443).with_passthrough());
        let plan = plan_update(&current, &desired);
        assert_eq!(plan.id, "lb-1");
        let body = serde_json::to_value(&plan.request).unwrap();
        assert_eq!(body["region"], "nyc3");
        assert_eq!(body["size_unit"], 2);
        assert_eq!(body["droplet_ids"], json!([1, 2]));
        assert_eq!(body["subnet_uuid"], "kept");
        assert!(body.get("tag").is_none());
        assert!(body.get("status").is_none());
        let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["forwarding_rules[1]", "name", "redirect_http_to_https"]
        );
        assert_eq!(plan.changes[1].before, json!("web"));
        assert_eq!(plan.changes[1].after, json!("web-2"));
        assert_eq!(plan.changes[1].describe(), "name: \"web\" → \"web-2\"");
    }

    #[test]
    fn unchanged_is_a_noop_and_status_is_not_a_conflict() {
        let current = lb();
        assert!(plan_update(&current, &current).is_noop());
        let mut now = current.clone();
        now.status = "errored".into();
        now.ip = "198.51.100.1".into();
        now.region = Some(Region {
            slug: "nyc3".into(),
            features: vec!["new".into()],
            ..Region::default()
        });
        assert!(conflicts(&current, &now).is_empty());
        now.extra.insert("subnet_uuid".into(), json!("changed"));
        now.forwarding_rules[0].target_port = 8080;
        let c = conflicts(&current, &now);
        let paths: Vec<&str> = c.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["forwarding_rules[0].target_port", "subnet_uuid"]
        );
    }

    #[test]
    fn tag_based_sends_tag_and_ignores_droplet_churn() {
        let mut current = lb();
        current.tag = "web".into();
        let mut now = current.clone();
        now.droplet_ids.push(3);
        assert!(conflicts(&current, &now).is_empty());
        let plan = plan_update(&current, &now);
        let body = serde_json::to_value(&plan.request).unwrap();
        assert_eq!(body["tag"], "web");
        assert!(body.get("droplet_ids").is_none());
        assert!(plan.is_noop());
    }

    #[test]
    fn legacy_size_is_kept_unless_size_unit_is_chosen() {
        let mut current = lb();
        current.size_unit = None;
        current.size = Some("lb-small".into());
        let plan = plan_update(&current, &current);
        let body = serde_json::to_value(&plan.request).unwrap();
        assert_eq!(body["size"], "lb-small");
        assert!(body.get("size_unit").is_none());
        let mut desired = current.clone();
        desired.size_unit = Some(3);
        let plan = plan_update(&current, &desired);
        let body = serde_json::to_value(&plan.request).unwrap();
        assert_eq!(body["size_unit"], 3);
        assert!(body.get("size").is_none());
    }

    #[test]
    fn region_falls_back_to_current() {
        let current = lb();
        let mut desired = current.clone();
        desired.region = None;
        let plan = plan_update(&current, &desired);
        assert_eq!(plan.request.region.as_deref(), Some("nyc3"));
        assert!(plan.is_noop());
    }

    #[test]
    fn untouched_values_go_back_exactly_as_they_came() {
        // Capitals, a legacy size, unknown fields at every level, a GLB's settings: an edit of
        // the idle timeout alone must not tidy any of it.
        let current: LoadBalancer = serde_json::from_value(json!({
            "id": "lb-9", "name": "Mixed.Case-LB", "status": "active",
            "size": "lb-small",
            "region": {"slug": "nyc3", "name": "New York 3"},
            "forwarding_rules": [
                {"entry_protocol": "HTTP", "entry_port": 80, "target_protocol": "HTTP", "target_port": 80,
                 "future_rule_field": {"x": 1}}
            ],
            "health_check": {},
            "sticky_sessions": {"type": "none", "future": true},
            "glb_settings": {"target_protocol": "HTTP", "target_port": 80, "cdn": {"is_enabled": true, "ttl": 60}},
            "domains": [{"name": "a.example", "is_managed": true, "status": "ACTIVE"}],
            "tls_cipher_policy": "DEFAULT",
            "droplet_ids": [7],
            "tag": "",
            "subnet_uuid": "s-1",
            "tags": ["k8s:abc"]
        }))
        .unwrap();
        let mut desired = current.clone();
        desired.http_idle_timeout_seconds = Some(300);
        let plan = plan_update(&current, &desired);
        let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["http_idle_timeout_seconds"]);
        let body = serde_json::to_value(&plan.request).unwrap();
        assert_eq!(body["name"], "Mixed.Case-LB");
        assert_eq!(body["size"], "lb-small");
        assert!(body.get("size_unit").is_none());
        assert_eq!(
            body["forwarding_rules"][0],
            json!({"entry_protocol": "HTTP", "entry_port": 80, "target_protocol": "HTTP",
                   "target_port": 80, "tls_passthrough": false, "future_rule_field": {"x": 1}})
        );
        assert_eq!(body["health_check"], json!({}));
        assert_eq!(
            body["sticky_sessions"],
            json!({"type": "none", "future": true})
        );
        assert_eq!(
            body["glb_settings"],
            json!({"target_protocol": "HTTP", "target_port": 80, "cdn": {"is_enabled": true, "ttl": 60}})
        );
        assert_eq!(
            body["domains"],
            json!([{"name": "a.example", "is_managed": true, "status": "ACTIVE"}])
        );
        assert_eq!(body["subnet_uuid"], "s-1");
        assert_eq!(body["tags"], json!(["k8s:abc"]));
        assert_eq!(body["http_idle_timeout_seconds"], 300);
    }
}
