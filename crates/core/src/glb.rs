//! Global load balancers (`type: GLOBAL`): the tree GLB → its regional load balancers → their
//! droplets, its domains (`status`, `is_managed`, why one is not ready) and settings, and the
//! certificate check of each regional fleet. Edits go through [`crate::lb`] like any other, and
//! keep `target_load_balancer_ids`, `domains` and `glb_settings` exactly as they came (the tests
//! below prove the round trip).

use serde::{Deserialize, Serialize};

use cutover_digitalocean::{GlbSettings, LoadBalancer};

use crate::certs::{BackendReport, CertCheckOptions, FleetReport};
use crate::context::Connection;
use crate::error::{ApiError, ErrorCode};
use crate::lb::LbDroplet;

/// A domain of a global load balancer, as the view shows it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GlbDomain {
    pub name: String,
    /// `ACTIVE`, `CREATING`, … as DigitalOcean reports it (`None` when it does not say).
    pub status: Option<String>,
    /// DigitalOcean hosts the zone and writes the domain's records itself.
    pub is_managed: bool,
    pub certificate_id: Option<String>,
    /// The certificate's name, when it is in this account.
    pub certificate_name: Option<String>,
    /// Why the domain is not verified, and why its certificate cannot be validated.
    pub errors: Vec<String>,
    /// What this means for a DNS cutover, in a sentence.
    pub dns_note: String,
}

/// One regional load balancer behind the global one, with its droplets.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GlbTarget {
    pub id: String,
    pub name: String,
    pub region: String,
    pub status: String,
    pub ip: String,
    /// Lower wins (`glb_settings.region_priorities`).
    pub priority: Option<i32>,
    pub droplets: Vec<LbDroplet>,
    #[specta(type = Vec<f64>)]
    pub missing_droplet_ids: Vec<u64>,
    /// The rule whose target port its droplets serve TLS on, described; `None` when none does.
    pub tls_rule: Option<String>,
    pub kubernetes: Option<crate::kubernetes::KubernetesOwner>,
}

/// The global load balancer and everything under it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GlbTree {
    pub lb: LoadBalancer,
    pub settings: Option<GlbSettings>,
    pub domains: Vec<GlbDomain>,
    pub targets: Vec<GlbTarget>,
    /// Target ids no load balancer answers to (deleted since).
    pub missing_target_ids: Vec<String>,
}

fn not_global(lb: &LoadBalancer) -> ApiError {
    ApiError::invalid_input(format!(
        "\"{}\" is not a global load balancer (its type is {}).",
        lb.name,
        lb.lb_type.as_deref().unwrap_or("REGIONAL")
    ))
    .with_details(serde_json::json!({"field": "lb"}))
}

/// The tree of global load balancer `id_or_name`.
pub async fn tree(conn: &Connection, id_or_name: &str) -> Result<GlbTree, ApiError> {
    let lb = crate::lb::find(conn, id_or_name).await?;
    tree_of(conn, lb).await
}

/// The tree of `lb`, fetched already (the CLI's `lb get` has it).
pub async fn tree_of(conn: &Connection, lb: LoadBalancer) -> Result<GlbTree, ApiError> {
    if !lb.is_global() {
        return Err(not_global(&lb));
    }
    let all = conn.client.list_load_balancers().await?;
    let droplets = conn.client.list_droplets().await?;
    // Names only: without them the domains still show their ids.
    let certs = conn.client.list_certificates().await.unwrap_or_default();
    let priorities = lb
        .glb_settings
        .as_ref()
        .and_then(|s| s.region_priorities.clone())
        .unwrap_or_default();
    let mut targets = Vec::new();
    let mut missing_target_ids = Vec::new();
    for id in lb.target_load_balancer_ids.iter().flatten() {
        let Some(target) = all.iter().find(|l| &l.id == id) else {
            missing_target_ids.push(id.clone());
            continue;
        };
        let region = target.region_slug().unwrap_or_default().to_string();
        let members: Vec<LbDroplet> = crate::lb::member_droplets(target, &droplets)
            .into_iter()
            .map(LbDroplet::from)
            .collect();
        let missing_droplet_ids = target
            .droplet_ids
            .iter()
            .filter(|d| !droplets.iter().any(|x| x.id == **d))
            .copied()
            .collect();
        targets.push(GlbTarget {
            id: target.id.clone(),
            name: target.name.clone(),
            priority: priorities.get(&region).copied(),
            region,
            status: target.status.clone(),
            ip: target.ip.clone(),
            droplets: members,
            missing_droplet_ids,
            tls_rule: crate::lb::tls_rule(target).map(|r| r.describe()),
            kubernetes: crate::kubernetes::owner(target),
        });
    }
    let domains = lb
        .domains
        .iter()
        .flatten()
        .map(|d| {
            let is_managed = d.is_managed.unwrap_or(false);
            let mut errors: Vec<String> = d.verification_error_reasons.clone().unwrap_or_default();
            errors.extend(d.ssl_validation_error_reasons.clone().unwrap_or_default());
            let certificate_id = d.certificate_id.clone().filter(|c| !c.is_empty());
            GlbDomain {
                certificate_name: certificate_id
                    .as_ref()
                    .and_then(|id| certs.iter().find(|c| &c.id == id))
                    .map(|c| c.name.clone()),
                dns_note: if is_managed {
                    format!("DigitalOcean manages the records of {}: a DNS cutover has nothing to change there.", d.name)
                } else {
                    format!("Point {} at the global load balancer with a CNAME at the zone's provider.", d.name)
                },
                name: d.name.clone(),
                status: d.status.clone(),
                is_managed,
                certificate_id,
                errors,
            }
        })
        .collect();
    Ok(GlbTree {
        settings: lb.glb_settings.clone(),
        lb,
        domains,
        targets,
        missing_target_ids,
    })
}

/// The certificate check of one regional fleet.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FleetCheck {
    pub lb_id: String,
    pub lb_name: String,
    pub report: Option<FleetReport>,
    /// Why this fleet could not be checked (no TLS rule, no droplets, …).
    pub error: Option<ApiError>,
}

/// Checks each regional fleet of global load balancer `id_or_name` for `domain` (default: its
/// first domain), with [`crate::certs::check_load_balancer`]. One fleet that cannot be checked
/// does not stop the others; `on_result` gets each backend with its load balancer's id.
pub async fn check_fleets(
    conn: &Connection,
    id_or_name: &str,
    domain: Option<&str>,
    options: &CertCheckOptions,
    mut on_result: impl FnMut(&str, &BackendReport),
) -> Result<Vec<FleetCheck>, ApiError> {
    let lb = crate::lb::find(conn, id_or_name).await?;
    if !lb.is_global() {
        return Err(not_global(&lb));
    }
    let domain = match domain.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d.to_string(),
        None => lb
            .domains
            .iter()
            .flatten()
            .map(|d| d.name.clone())
            .next()
            .ok_or_else(|| {
                ApiError::invalid_input(format!(
                    "\"{}\" has no domain: give the domain to check.",
                    lb.name
                ))
                .with_details(serde_json::json!({"field": "domain"}))
            })?,
    };
    let all = conn.client.list_load_balancers().await?;
    let mut out = Vec::new();
    for id in lb.target_load_balancer_ids.iter().flatten() {
        let name = all
            .iter()
            .find(|l| &l.id == id)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| id.clone());
        let result =
            crate::certs::check_load_balancer(conn, id, &domain, options, |r| on_result(id, r))
                .await;
        let (report, error) = match result {
            Ok(r) => (Some(r), None),
            Err(e) if e.code == ErrorCode::NotFound => (
                None,
                Some(ApiError::new(
                    ErrorCode::NotFound,
                    format!("Target load balancer {id} no longer exists."),
                )),
            ),
            Err(e) => (None, Some(e)),
        };
        out.push(FleetCheck {
            lb_id: id.clone(),
            lb_name: name,
            report,
            error,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_digitalocean::plan_update;

    async fn sandbox() -> (cutover_sandbox::SandboxHandle, Connection) {
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions {
            activation_delay: std::time::Duration::from_millis(100),
            busy_window: std::time::Duration::from_millis(50),
            ..Default::default()
        })
        .await
        .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        (sandbox, conn)
    }

    #[tokio::test]
    async fn the_tree_has_two_regional_fleets_their_droplets_and_the_domains() {
        let (sandbox, conn) = sandbox().await;
        let tree = tree(&conn, cutover_sandbox::LB_GLOBAL_ID).await.unwrap();
        let ids: Vec<&str> = tree.targets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![cutover_sandbox::LB_SHOP_ID, cutover_sandbox::LB_AMS_ID]
        );
        for t in &tree.targets {
            assert!(!t.droplets.is_empty(), "{} has no droplets", t.name);
            assert!(t.priority.is_some(), "{t:?}");
        }
        assert!(tree.targets[0]
            .droplets
            .iter()
            .any(|d| d.id == cutover_sandbox::WEB_1));
        let managed = tree.domains.iter().find(|d| d.is_managed).unwrap();
        assert!(managed.certificate_name.is_some(), "{managed:?}");
        assert!(managed.dns_note.contains("DigitalOcean manages"));
        let waiting = tree.domains.iter().find(|d| !d.is_managed).unwrap();
        assert_eq!(waiting.status.as_deref(), Some("CREATING"));
        assert_eq!(waiting.errors.len(), 2, "{waiting:?}");
        assert!(tree.missing_target_ids.is_empty());
        // A regional load balancer is not a tree.
        let err = super::tree(&conn, "shop-passthrough").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn each_regional_fleet_gets_its_certificate_check() {
        let (sandbox, conn) = sandbox().await;
        let mut seen = std::collections::BTreeSet::new();
        let checks = check_fleets(
            &conn,
            "shop-global",
            None,
            &CertCheckOptions::default(),
            |lb, _| {
                seen.insert(lb.to_string());
            },
        )
        .await
        .unwrap();
        sandbox.shutdown().await;
        assert_eq!(checks.len(), 2);
        assert_eq!(seen.len(), 2, "{seen:?}");
        for c in &checks {
            let report = c.report.as_ref().unwrap_or_else(|| panic!("{c:?}"));
            assert!(!report.backends.is_empty());
        }
        // nyc3's fleet has web-3 with its other certificate; ams3's agrees.
        let nyc = &checks[0].report.as_ref().unwrap();
        assert!(!nyc.verdict.ok, "{:?}", nyc.verdict);
    }

    /// An edit of anything else sends `target_load_balancer_ids`, `domains` and `glb_settings`
    /// back exactly as they came, and the load balancer keeps them after the apply.
    #[tokio::test]
    async fn edits_keep_the_targets_domains_and_settings() {
        let (sandbox, conn) = sandbox().await;
        let sessions = crate::lb::EditSessions::default();
        let start = crate::lb::begin_edit(&conn, &sessions, cutover_sandbox::LB_GLOBAL_ID)
            .await
            .unwrap();
        let before = start.lb.clone();
        let mut edit = start.edit.clone();
        edit.name = "shop-global-2".into();
        let desired = edit.apply_to(&before);
        let plan = plan_update(&before, &desired);
        let body = serde_json::to_value(&plan.request).unwrap();
        let original = serde_json::to_value(&before).unwrap();
        for key in ["target_load_balancer_ids", "domains", "glb_settings"] {
            assert_eq!(body[key], original[key], "{key} changed in the PUT body");
            assert!(!body[key].is_null(), "{key} missing from the PUT body");
        }
        assert!(
            plan.changes.iter().all(|c| c.path == "name"),
            "{:?}",
            plan.changes
        );
        let applied = crate::lb::apply_edit(
            &conn,
            &sessions,
            &before.id,
            &edit,
            &Default::default(),
            |_| {},
        )
        .await
        .unwrap();
        let fresh = conn.client.get_load_balancer(&before.id).await.unwrap();
        sandbox.shutdown().await;
        assert_eq!(applied.name, "shop-global-2");
        assert_eq!(fresh.name, "shop-global-2");
        assert_eq!(
            fresh.target_load_balancer_ids,
            before.target_load_balancer_ids
        );
        assert_eq!(fresh.glb_settings, before.glb_settings);
        let names = |lb: &LoadBalancer| -> Vec<(String, Option<String>)> {
            lb.domains
                .iter()
                .flatten()
                .map(|d| (d.name.clone(), d.certificate_id.clone()))
                .collect()
        };
        assert_eq!(names(&fresh), names(&before));
    }
}
