//! `cutover lb get GLB` for a global load balancer: the tree GLB → regional load balancers →
//! droplets, its domains and settings (`--json`: the core's `GlbTree` as one document).

use cutover_core::glb::GlbTree;

use crate::output::{print_table, terminal_safe};

pub fn print_tree(tree: &GlbTree) {
    let lb = &tree.lb;
    println!(
        "{} ({}) — global load balancer, {}",
        terminal_safe(&lb.name),
        lb.id,
        terminal_safe(&lb.status)
    );
    if let Some(s) = &tree.settings {
        let priorities = s
            .region_priorities
            .as_ref()
            .map(|p| {
                p.iter()
                    .map(|(r, n)| format!("{r}={n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "none".into());
        println!(
            "settings: target {} {}, CDN {}, region priorities {priorities}, failover at {}",
            s.target_protocol.as_deref().unwrap_or("?"),
            s.target_port.map_or("?".to_string(), |p| p.to_string()),
            match s.cdn.as_ref().and_then(|c| c.is_enabled) {
                Some(true) => "on",
                _ => "off",
            },
            s.failover_threshold
                .map_or("?".to_string(), |t| format!("{t}% unhealthy")),
        );
    }
    println!("\nDomains:");
    let rows: Vec<Vec<String>> = tree
        .domains
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                d.status.clone().unwrap_or_else(|| "—".into()),
                if d.is_managed { "yes" } else { "no" }.into(),
                d.certificate_name
                    .clone()
                    .or_else(|| d.certificate_id.clone())
                    .unwrap_or_else(|| "—".into()),
                if d.errors.is_empty() {
                    d.dns_note.clone()
                } else {
                    d.errors.join("; ")
                },
            ]
        })
        .collect();
    print_table(
        &["DOMAIN", "STATUS", "MANAGED", "CERTIFICATE", "NOTE"],
        &rows,
    );
    println!("\nRegional load balancers:");
    for t in &tree.targets {
        println!(
            "  {} ({}) {} {} priority {}{}{}",
            terminal_safe(&t.name),
            t.id,
            t.region,
            terminal_safe(&t.status),
            t.priority.map_or("—".to_string(), |p| p.to_string()),
            t.tls_rule
                .as_ref()
                .map(|r| format!(", TLS at the droplets: {r}"))
                .unwrap_or_default(),
            if t.kubernetes.is_some() {
                ", managed by Kubernetes"
            } else {
                ""
            }
        );
        for d in &t.droplets {
            println!(
                "    └ {} ({}) {} {}",
                terminal_safe(&d.name),
                d.id,
                terminal_safe(&d.status),
                d.public_ipv4.join(", ")
            );
        }
        if t.droplets.is_empty() {
            println!("    └ no droplets");
        }
        for id in &t.missing_droplet_ids {
            println!("    └ droplet {id} is listed but does not exist");
        }
    }
    for id in &tree.missing_target_ids {
        println!("  target {id} no longer exists");
    }
}
