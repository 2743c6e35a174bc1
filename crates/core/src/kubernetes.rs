//! Load balancers that a Kubernetes cluster (DOKS) owns.
//!
//! DigitalOcean's cloud controller creates one load balancer per `type: LoadBalancer` Service
//! and reconciles it back to the Service's annotations: an edit from the panel, the API or
//! Cutover is silently reverted later ("you must not change the DO load-balancer configuration
//! manually", the controller's README). So Cutover recognises them, badges them, refuses to edit
//! them unless the user overrides, and shows the edit as the Service annotations that would make
//! it. The signals are the controller's own (read from `cloud-controller-manager/do/*.go`):
//! - a `k8s:<cluster-uuid>` tag on the load balancer (`resources.go` `syncTags`) — decisive;
//! - the default name `a` + 31 hex digits (`k8s.io/cloud-provider` `DefaultLoadBalancerName`);
//! - droplets chosen by a `k8s…` tag; target ports in the NodePort range 30000–32767; the
//!   kube-proxy health check on 10256 `/healthz`.
//!
//! A name alone is not enough (a person may name a load balancer like that); two signals are.

use serde::{Deserialize, Serialize};

use cutover_digitalocean::{FieldChange, LoadBalancer};

use crate::error::{ApiError, ErrorCode};

/// The prefix of every load-balancer annotation of DigitalOcean's cloud controller.
pub const ANNOTATION_PREFIX: &str = "service.beta.kubernetes.io/do-loadbalancer-";

/// Why Cutover thinks a Kubernetes cluster owns a load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesOwner {
    /// The cluster's id, when a `k8s:<uuid>` tag names it.
    pub cluster_id: Option<String>,
    /// What gave it away, one short phrase each.
    pub signals: Vec<String>,
    /// A command that finds the Service owning this load balancer.
    pub kubectl: String,
}

/// One Service annotation an edit corresponds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub key: String,
    pub value: String,
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn default_service_name(name: &str) -> bool {
    name.len() == 32
        && name.starts_with('a')
        && name[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// The load balancer's own tags, when the API sent them (not a documented field: kept in
/// `extra`), plus its droplet tag.
fn tags_of(lb: &LoadBalancer) -> Vec<String> {
    let mut tags: Vec<String> = lb
        .extra
        .get("tags")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !lb.tag.trim().is_empty() {
        tags.push(lb.tag.trim().to_string());
    }
    tags
}

/// Whether a Kubernetes cluster owns `lb`, and why.
pub fn owner(lb: &LoadBalancer) -> Option<KubernetesOwner> {
    let mut signals = Vec::new();
    let mut cluster_id = None;
    let mut decisive = false;
    for tag in tags_of(lb) {
        if let Some(rest) = tag.strip_prefix("k8s:") {
            if is_uuid(rest) {
                cluster_id = Some(rest.to_string());
                decisive = true;
                signals.push(format!("tagged {tag}"));
            } else if rest == "worker" {
                signals.push("droplets chosen by the tag k8s:worker".to_string());
            }
        } else if tag == "k8s" {
            signals.push("droplets chosen by the tag k8s".to_string());
        }
    }
    if default_service_name(&lb.name) {
        signals.push("named like a Kubernetes Service (\"a\" + 31 hex digits)".to_string());
    }
    if !lb.forwarding_rules.is_empty()
        && lb
            .forwarding_rules
            .iter()
            .all(|r| (30000..=32767).contains(&r.target_port))
    {
        signals.push("every rule targets a NodePort (30000–32767)".to_string());
    }
    if lb.health_check.as_ref().is_some_and(|hc| {
        hc.port == Some(10256) && hc.path.as_deref().is_some_and(|p| p.trim() == "/healthz")
    }) {
        signals.push("health check on kube-proxy's 10256 /healthz".to_string());
    }
    if !decisive && signals.len() < 2 {
        return None;
    }
    Some(KubernetesOwner {
        cluster_id,
        signals,
        kubectl: kubectl_finder(&lb.id),
    })
}

/// `kubectl` + `jq` that print the Service owning load balancer `id`.
pub fn kubectl_finder(id: &str) -> String {
    format!(
        "kubectl get svc -A -o json | jq '.items[] | select(.metadata.annotations[\"kubernetes.digitalocean.com/load-balancer-id\"] == \"{id}\") | .metadata.namespace + \"/\" + .metadata.name'"
    )
}

fn quoted(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn annotation(key: &str, value: impl Into<String>) -> Annotation {
    Annotation {
        key: format!("{ANNOTATION_PREFIX}{key}"),
        value: value.into(),
    }
}

/// The Service annotations that would make `changes` (the cloud controller's names, from
/// `do/lb_annotations.go`), and the changed fields that have none.
pub fn annotations_for(
    lb_after: &LoadBalancer,
    changes: &[FieldChange],
) -> (Vec<Annotation>, Vec<String>) {
    let mut out: Vec<Annotation> = Vec::new();
    let mut unmapped = Vec::new();
    let mut push = |a: Annotation| {
        if !out.iter().any(|o| o.key == a.key) {
            out.push(a);
        }
    };
    for change in changes {
        let top = change
            .path
            .split(['.', '['])
            .next()
            .unwrap_or(change.path.as_str());
        match top {
            "enable_proxy_protocol" => {
                push(annotation("enable-proxy-protocol", quoted(&change.after)))
            }
            "redirect_http_to_https" => {
                push(annotation("redirect-http-to-https", quoted(&change.after)))
            }
            "enable_backend_keepalive" => push(annotation(
                "enable-backend-keepalive",
                quoted(&change.after),
            )),
            "http_idle_timeout_seconds" => push(annotation(
                "http-idle-timeout-seconds",
                quoted(&change.after),
            )),
            "disable_lets_encrypt_dns_records" => push(annotation(
                "disable-lets-encrypt-dns-records",
                quoted(&change.after),
            )),
            "size_unit" => push(annotation("size-unit", quoted(&change.after))),
            "algorithm" => push(annotation("algorithm", quoted(&change.after))),
            "name" => push(annotation("name", quoted(&change.after))),
            "health_check" => {
                if let Some(hc) = &lb_after.health_check {
                    if let Some(p) = &hc.protocol {
                        push(annotation("healthcheck-protocol", p.clone()));
                    }
                    if let Some(port) = hc.port {
                        push(annotation("healthcheck-port", port.to_string()));
                    }
                    if let Some(path) = &hc.path {
                        push(annotation("healthcheck-path", path.clone()));
                    }
                    if let Some(s) = hc.check_interval_seconds {
                        push(annotation(
                            "healthcheck-check-interval-seconds",
                            s.to_string(),
                        ));
                    }
                    if let Some(s) = hc.response_timeout_seconds {
                        push(annotation(
                            "healthcheck-response-timeout-seconds",
                            s.to_string(),
                        ));
                    }
                    if let Some(n) = hc.unhealthy_threshold {
                        push(annotation("healthcheck-unhealthy-threshold", n.to_string()));
                    }
                    if let Some(n) = hc.healthy_threshold {
                        push(annotation("healthcheck-healthy-threshold", n.to_string()));
                    }
                }
            }
            "sticky_sessions" => {
                if let Some(s) = &lb_after.sticky_sessions {
                    if let Some(kind) = &s.kind {
                        push(annotation("sticky-sessions-type", kind.clone()));
                    }
                    if let Some(name) = &s.cookie_name {
                        push(annotation("sticky-sessions-cookie-name", name.clone()));
                    }
                    if let Some(ttl) = s.cookie_ttl_seconds {
                        push(annotation("sticky-sessions-cookie-ttl", ttl.to_string()));
                    }
                }
            }
            "forwarding_rules" => {
                let passthrough = lb_after.forwarding_rules.iter().any(|r| r.tls_passthrough);
                push(annotation("tls-passthrough", passthrough.to_string()));
                let protocol = lb_after
                    .forwarding_rules
                    .first()
                    .map(|r| r.entry_protocol.to_ascii_lowercase())
                    .unwrap_or_else(|| "tcp".to_string());
                push(annotation("protocol", protocol));
                let tls_ports: Vec<String> = lb_after
                    .forwarding_rules
                    .iter()
                    .filter(|r| r.entry_protocol.eq_ignore_ascii_case("https"))
                    .map(|r| r.entry_port.to_string())
                    .collect();
                if !tls_ports.is_empty() {
                    push(annotation("tls-ports", tls_ports.join(",")));
                }
                if let Some(cert) = lb_after
                    .forwarding_rules
                    .iter()
                    .find_map(|r| r.certificate().map(str::to_string))
                {
                    push(annotation("certificate-id", cert));
                }
            }
            _ => unmapped.push(change.path.clone()),
        }
    }
    (out, unmapped)
}

/// Refuses a change to a load balancer a Kubernetes cluster owns, unless `override_owner`:
/// the controller would revert it. The error carries the annotations that would make the
/// change stick and the `kubectl` line that finds the Service.
pub fn refuse_unless_overridden(
    lb: &LoadBalancer,
    after: Option<&LoadBalancer>,
    changes: &[FieldChange],
    override_owner: bool,
) -> Result<(), ApiError> {
    let Some(owner) = owner(lb) else {
        return Ok(());
    };
    if override_owner {
        tracing::warn!(lb = %lb.id, "changing a load balancer a Kubernetes cluster owns (overridden)");
        return Ok(());
    }
    let (annotations, unmapped) = annotations_for(after.unwrap_or(lb), changes);
    let cluster = owner
        .cluster_id
        .as_deref()
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    Err(ApiError::new(
        ErrorCode::ManagedByKubernetes,
        format!(
            "\"{}\" is managed by Kubernetes cluster{cluster}: its controller would revert this change. Set the Service's annotations instead, or override to change it anyway.",
            lb.name
        ),
    )
    .with_details(serde_json::json!({
        "owner": owner,
        "annotations": annotations,
        "unmapped_fields": unmapped,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(value: serde_json::Value) -> LoadBalancer {
        serde_json::from_value(value).expect("a load balancer")
    }

    #[test]
    fn the_cluster_tag_is_decisive_and_a_name_alone_is_not() {
        let owned = lb(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6",
            "name": "web",
            "tags": ["k8s:0a1b2c3d-0000-4000-8000-000000000001"],
            "forwarding_rules": [],
        }));
        let o = owner(&owned).expect("owned");
        assert_eq!(
            o.cluster_id.as_deref(),
            Some("0a1b2c3d-0000-4000-8000-000000000001")
        );
        assert!(o.kubectl.contains("4de7ac8b-495b-4884-9a69-1050c6793cd6"));

        let named = lb(serde_json::json!({
            "id": "x", "name": "a0123456789abcdef0123456789abcde", "forwarding_rules": [],
        }));
        assert!(owner(&named).is_none(), "a name alone is not enough");

        let doks_defaults = lb(serde_json::json!({
            "id": "x", "name": "a0123456789abcdef0123456789abcde",
            "forwarding_rules": [{"entry_protocol": "tcp", "entry_port": 443,
                "target_protocol": "tcp", "target_port": 31443}],
            "health_check": {"protocol": "http", "port": 10256, "path": "/healthz"},
        }));
        let o = owner(&doks_defaults).expect("name + NodePort + kube-proxy");
        assert_eq!(o.signals.len(), 3, "{:?}", o.signals);
        assert!(o.cluster_id.is_none());

        let plain = lb(serde_json::json!({
            "id": "x", "name": "shop",
            "forwarding_rules": [{"entry_protocol": "https", "entry_port": 443,
                "target_protocol": "https", "target_port": 443, "tls_passthrough": true}],
        }));
        assert!(owner(&plain).is_none());
    }

    #[test]
    fn an_edit_is_refused_with_its_annotations_unless_overridden() {
        let before = lb(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6", "name": "web",
            "tags": ["k8s:0a1b2c3d-0000-4000-8000-000000000001"],
            "forwarding_rules": [], "enable_proxy_protocol": false,
        }));
        let mut after = before.clone();
        after.enable_proxy_protocol = true;
        after.http_idle_timeout_seconds = Some(120);
        let changes = vec![
            FieldChange {
                path: "enable_proxy_protocol".into(),
                before: false.into(),
                after: true.into(),
            },
            FieldChange {
                path: "http_idle_timeout_seconds".into(),
                before: serde_json::Value::Null,
                after: 120.into(),
            },
            FieldChange {
                path: "vpc_uuid".into(),
                before: "a".into(),
                after: "b".into(),
            },
        ];
        let err = refuse_unless_overridden(&before, Some(&after), &changes, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::ManagedByKubernetes);
        assert!(
            err.message.contains("0a1b2c3d-0000-4000-8000-000000000001"),
            "{}",
            err.message
        );
        let details = err.details.expect("details");
        let keys: Vec<&str> = details["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
                "service.beta.kubernetes.io/do-loadbalancer-http-idle-timeout-seconds"
            ]
        );
        assert_eq!(details["annotations"][0]["value"], "true");
        assert_eq!(details["unmapped_fields"][0], "vpc_uuid");
        refuse_unless_overridden(&before, Some(&after), &changes, true).unwrap();
    }
}
