//! Issue 15, the real-account setups on the Sandbox (its seed has them): a Kubernetes-owned
//! network load balancer (badge, notice, an edit refused with the Service annotations and the
//! kubectl line until overridden), a certificate check of the `tcp:443` load balancer finding
//! web-3, a dual-stack DNS cutover (A and AAAA planned, applied, verified and rolled back, checked
//! through the API after each step) and the Let's Encrypt record warning in an edit's review.
//! The Sandbox is started by the test and added by its token.
//! Run under Xvfb (see shared/notes/build-recipe.md):
//! `cargo test -p cutover-e2e --features e2e --test real_setups -- --test-threads=1`.

use cutover_digitalocean::{Client, DomainRecordRequest};
use cutover_e2e::{lb_by_name, sandbox_api, Journey, Result};
use cutover_sandbox::{DUAL_DOMAIN, K8S_CLUSTER_ID, LB_DUAL_IPV6, LB_K8S_ID, LB_K8S_NAME};
use fantoccini::Locator;

/// Scrolls an element to the middle of the window (at the bottom edge the status bar covers it
/// and WebKit refuses to interact with it), then returns it.
async fn centered(j: &Journey, css: &str) -> Result<fantoccini::elements::Element> {
    let el = j.wait_for(css).await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(el)
}

async fn click_centered(j: &Journey, css: &str) -> Result<()> {
    centered(j, css).await?.click().await?;
    Ok(())
}

async fn start(name: &str, sandbox: &cutover_sandbox::SandboxHandle) -> Result<Journey> {
    let j = Journey::start(name, &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", sandbox).await?;
    Ok(j)
}

async fn open_detail(j: &Journey, name: &str) -> Result<()> {
    j.click("button[data-nav='load-balancers']").await?;
    click_centered(j, &format!("tr[data-lb='{name}'] button.link")).await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{name}']"))
        .await?;
    Ok(())
}

async fn is_enabled(j: &Journey, css: &str) -> Result<bool> {
    Ok(j.wait_for(css).await?.is_enabled().await?)
}

/// Clicks Review once the inline validation has settled. Typing "120" passes through "1" and
/// "12", which the validator refuses (below 30 s); a result for one of those can arrive after
/// the last keystroke and disable Review for a moment, and a click on a disabled button is
/// silently lost (the likely cause of a
/// lost Review click seen once in four runs). So: enabled, past the 150 ms debounce, enabled.
async fn review(j: &Journey) -> Result<()> {
    for _ in 0..2 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_enabled(j, "[data-testid='review']").await? {
            if std::time::Instant::now() > deadline {
                return Err("Review stayed disabled".into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    click_centered(j, "[data-testid='review']").await?;
    j.wait_for("[data-testid='review-panel']").await?;
    Ok(())
}

/// The load balancer that a DOKS cluster made: badged in the list and the detail; an edit is
/// reviewed as the Service annotations that would make it and the kubectl line that finds the
/// Service; Apply stays off until the override is ticked, and nothing is written meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_kubernetes_load_balancer_is_badged_and_its_edit_refused() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = sandbox_api(&sandbox)?;
    let before = lb_by_name(&api, LB_K8S_NAME).await?;
    let j = start("real-setups-k8s", &sandbox).await?;

    j.click("button[data-nav='load-balancers']").await?;
    let row = format!("tr[data-lb='{LB_K8S_NAME}']");
    let badge = j
        .wait_for_text(&format!("{row} [data-testid='k8s-badge']"), "Kubernetes")
        .await?;
    let title = badge.attr("title").await?.unwrap_or_default();
    assert!(
        title.contains(&format!("Managed by Kubernetes cluster {K8S_CLUSTER_ID}")),
        "{title}"
    );
    // Only the cluster's load balancer carries the badge.
    assert!(j
        .client
        .find(Locator::Css(
            "tr[data-lb='shop-tcp'] [data-testid='k8s-badge']"
        ))
        .await
        .is_err());
    j.screenshot("1-list").await?;

    open_detail(&j, LB_K8S_NAME).await?;
    j.wait_for_text(
        "[data-testid='k8s-notice']",
        &format!("Managed by Kubernetes cluster {K8S_CLUSTER_ID}"),
    )
    .await?;
    let signals = j.text("[data-testid='k8s-signals']").await?;
    assert!(signals.contains("10256"), "{signals}");
    let kubectl = j.text("[data-testid='k8s-notice']").await?;
    assert!(kubectl.contains(LB_K8S_ID), "{kubectl}");
    j.screenshot("2-detail").await?;

    // Edit: a longer idle timeout. The review says it as the Service annotation instead.
    j.click("[data-testid='edit']").await?;
    j.fill("[data-testid='edit-idle']", "120").await?;
    review(&j).await?;
    let k8s = "[data-testid='k8s-review']";
    j.wait_for_text(
        k8s,
        &format!("Managed by Kubernetes cluster {K8S_CLUSTER_ID}"),
    )
    .await?;
    let annotations = j
        .wait_for_text(
            &format!("{k8s} [data-testid='k8s-annotations']"),
            "service.beta.kubernetes.io/do-loadbalancer-http-idle-timeout-seconds: \"120\"",
        )
        .await?
        .text()
        .await?;
    assert!(annotations.starts_with("metadata:"), "{annotations}");
    let kubectl = j
        .text(&format!("{k8s} [data-testid='k8s-kubectl']"))
        .await?;
    assert!(
        kubectl.contains("kubectl get svc -A") && kubectl.contains(LB_K8S_ID),
        "{kubectl}"
    );
    j.wait_for("[data-testid='diff'] tr[data-path='http_idle_timeout_seconds']")
        .await?;
    // Apply is off until the override is ticked, and on again only with it.
    assert!(!is_enabled(&j, "[data-testid='apply']").await?);
    let title = j
        .wait_for("[data-testid='apply']")
        .await?
        .attr("title")
        .await?
        .unwrap_or_default();
    assert!(title.contains("tick the override"), "{title}");
    centered(&j, &format!("{k8s} [data-testid='k8s-annotations']")).await?;
    j.screenshot("3-refused").await?;
    click_centered(&j, &format!("{k8s} [data-testid='k8s-override']")).await?;
    assert!(is_enabled(&j, "[data-testid='apply']").await?);
    click_centered(&j, &format!("{k8s} [data-testid='k8s-override']")).await?;
    assert!(!is_enabled(&j, "[data-testid='apply']").await?);

    // Nothing was written to DigitalOcean.
    let after = lb_by_name(&api, LB_K8S_NAME).await?;
    assert_eq!(
        after.http_idle_timeout_seconds,
        before.http_idle_timeout_seconds
    );
    assert_ne!(after.http_idle_timeout_seconds, Some(120));

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// `tcp:443 → tcp:443` is passthrough for the certificate check: the droplets behind shop-tcp
/// are probed, and web-3 (another certificate) is the one that differs.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_check_of_the_tcp_load_balancer_finds_web_3() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = sandbox_api(&sandbox)?;
    let tcp = lb_by_name(&api, "shop-tcp").await?;
    let j = start("real-setups-tcp", &sandbox).await?;

    j.click("button[data-nav='certificates']").await?;
    let option = format!("select[data-testid='cert-lb'] option[value='{}']", tcp.id);
    // (Its label lacks "(passthrough)": core's lb_choices still marks only tls_passthrough
    // rules; the check itself treats tcp:443 as passthrough, which is what this journey checks.)
    let label = j.wait_for(&option).await?.text().await?;
    assert!(label.starts_with("shop-tcp"), "{label}");
    j.wait_for("select[data-testid='cert-lb']")
        .await?
        .select_by_value(&tcp.id)
        .await?;
    j.fill("[data-testid='cert-domain']", cutover_sandbox::DOMAIN)
        .await?;
    click_centered(&j, "[data-testid='cert-run']").await?;

    let verdict = j
        .wait_for_text("[data-testid='cert-verdict']", "web-3")
        .await?
        .text()
        .await?;
    assert!(verdict.contains("Problem"), "{verdict}");
    let differing = j.text("[data-testid='cert-differing']").await?;
    assert_eq!(differing.trim(), "Differs: web-3");
    // The three droplets were probed (not refused as "no passthrough rule").
    for droplet in ["web-1", "web-2", "web-3"] {
        j.wait_for(&format!(
            "[data-testid='cert-compare'] thead th[data-backend='{droplet}']"
        ))
        .await?;
    }
    let highlighted = j
        .client
        .find_all(Locator::Css(
            "[data-testid='cert-compare'] thead th.differs",
        ))
        .await?;
    assert_eq!(highlighted.len(), 1);
    assert_eq!(
        highlighted[0].attr("data-backend").await?.as_deref(),
        Some("web-3")
    );
    centered(&j, "[data-testid='cert-verdict']").await?;
    j.screenshot("check").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// The apex records of the dual-stack zone as the API has them: `(type, data, ttl)`, sorted.
async fn dual_apex(client: &Client) -> Result<Vec<(String, String, u32)>> {
    let mut out: Vec<(String, String, u32)> = client
        .list_domain_records(DUAL_DOMAIN)
        .await?
        .into_iter()
        .filter(|r| r.name == "@" && (r.kind == "A" || r.kind == "AAAA"))
        .map(|r| (r.kind, r.data, r.ttl))
        .collect();
    out.sort();
    Ok(out)
}

/// A dual-stack cutover: the plan points the apex's A at the load balancer's IPv4 and its AAAA
/// at its IPv6 (not deleting it); apply; verify waits for both families (an AAAA pointed
/// elsewhere is "not switched yet"); rollback restores both.
#[tokio::test(flavor = "multi_thread")]
async fn a_dual_stack_cutover_plans_verifies_and_rolls_back_a_and_aaaa() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = sandbox_api(&sandbox)?;
    let lb = lb_by_name(&api, "www-dualstack").await?;
    let seeded = dual_apex(&api).await?;
    assert_eq!(
        seeded,
        [
            ("A".to_string(), "127.0.0.11".to_string(), 3600),
            ("AAAA".to_string(), "2001:db8:5a0d:1::11".to_string(), 3600),
        ],
        "the seeded apex"
    );
    let j = start("real-setups-dual", &sandbox).await?;

    open_detail(&j, "www-dualstack").await?;
    j.click("[data-testid='cut-over-dns']").await?;
    j.wait_for("main[data-view='dns']").await?;
    j.fill("[data-testid='dns-domain']", DUAL_DOMAIN).await?;
    j.fill("[data-testid='dns-names']", "@").await?;
    click_centered(&j, "[data-testid='dns-load']").await?;

    // The plan: both families, each to the load balancer's own address.
    j.wait_for_text("[data-testid='dns-plan-ipv6']", LB_DUAL_IPV6)
        .await?;
    j.wait_for_text("[data-testid='dns-plan-ipv4']", &lb.ip)
        .await?;
    let diff = j
        .wait_for_text("[data-testid='dns-diff']", LB_DUAL_IPV6)
        .await?
        .text()
        .await?;
    assert!(diff.contains(&format!("A {}", lb.ip)), "{diff}");
    assert!(diff.contains("AAAA 2001:db8:5a0d:1::11"), "{diff}");
    assert!(diff.contains(&format!("AAAA {LB_DUAL_IPV6}")), "{diff}");
    assert!(
        j.client
            .find(Locator::Css(
                "[data-testid='dns-diff'] tr[data-action='delete']"
            ))
            .await
            .is_err(),
        "no record is deleted: {diff}"
    );
    let apex_row = format!("[data-testid='dns-answers'] tr[data-name='{DUAL_DOMAIN}']");
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "AAAA 2001:db8:5a0d:1::11",
    )
    .await?;
    centered(&j, "[data-testid='dns-diff']").await?;
    j.screenshot("1-plan").await?;

    // Apply past the seeded TTL (3600 s, red in readiness) with the override.
    j.wait_for("li[data-item='ttl']").await?;
    click_centered(&j, "[data-testid='dns-override']").await?;
    click_centered(&j, "[data-testid='dns-apply']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text("[data-testid='dns-apply-result']", "2 changes")
        .await?;
    let applied = dual_apex(&api).await?;
    let kinds: Vec<(&str, &str)> = applied
        .iter()
        .map(|(k, d, _)| (k.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("A", lb.ip.as_str()), ("AAAA", LB_DUAL_IPV6)],
        "after apply"
    );

    // Verify: the apex answers both of the load balancer's addresses at the nameservers.
    j.wait_for_text("[data-testid='dns-verify-result']", "DNS verified")
        .await?;
    let polls = j.text("[data-testid='dns-verify-log']").await?;
    assert!(polls.contains(&format!("ready {DUAL_DOMAIN}")), "{polls}");
    let answers = j
        .wait_for_text(
            &format!("{apex_row} [data-col='authoritative']"),
            &format!("AAAA {LB_DUAL_IPV6}"),
        )
        .await?
        .text()
        .await?;
    assert!(answers.contains(&format!("A {}", lb.ip)), "{answers}");
    j.wait_for_text(&format!("{apex_row} [data-testid='dns-points']"), "yes")
        .await?;
    centered(&j, "[data-testid='dns-verify-result']").await?;
    j.screenshot("2-verified").await?;

    // Verify judges the AAAA too: someone points only the apex's AAAA elsewhere behind the
    // app's back (the A still answers the load balancer), and verify (2 s window) says the
    // switch is not done, keeps the change and offers the rollback.
    let aaaa_id = api
        .list_domain_records(DUAL_DOMAIN)
        .await?
        .into_iter()
        .find(|r| r.kind == "AAAA" && r.name == "@")
        .ok_or("no apex AAAA record")?
        .id;
    api.update_domain_record(
        DUAL_DOMAIN,
        aaaa_id,
        &DomainRecordRequest {
            ttl: Some(300),
            ..DomainRecordRequest::simple("AAAA", "@", "2001:db8:ffff::99")
        },
    )
    .await?;
    j.fill("[data-testid='dns-verify-window']", "2").await?;
    click_centered(&j, "[data-testid='dns-verify-again']").await?;
    let result = j
        .wait_for_text("[data-testid='dns-verify-result']", "DNS not switched yet")
        .await?
        .text()
        .await?;
    assert!(result.contains("the change is kept"), "{result}");
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "AAAA 2001:db8:ffff::99",
    )
    .await?;
    let polls = j.text("[data-testid='dns-verify-log']").await?;
    assert!(polls.contains(&format!("waiting {DUAL_DOMAIN}")), "{polls}");
    // (The table's "Points to LB" still says yes here: core's dns::status compares with the
    // IPv4 only — reported, not this journey's to fix.)
    centered(&j, "[data-testid='dns-verify-result']").await?;
    j.screenshot("3-aaaa-elsewhere").await?;

    // Roll back: both records come back as they were, TTL included.
    click_centered(&j, "[data-testid='dns-rollback']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text(
        "[data-testid='dns-rollback-note']",
        "Restored the saved records",
    )
    .await?;
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "AAAA 2001:db8:5a0d:1::11",
    )
    .await?;
    j.screenshot("4-rolled-back").await?;
    assert_eq!(dual_apex(&api).await?, seeded, "after rollback");

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// blog-https keeps its DigitalOcean Let's Encrypt certificate with
/// `disable_lets_encrypt_dns_records` off: any edit's review says which A record DigitalOcean
/// will create, pointing at the load balancer, and names the flag that prevents it.
#[tokio::test(flavor = "multi_thread")]
async fn the_review_warns_of_the_lets_encrypt_record() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = sandbox_api(&sandbox)?;
    let blog = lb_by_name(&api, "blog-https").await?;
    assert!(!blog.disable_lets_encrypt_dns_records, "the seeded flag");
    let j = start("real-setups-le", &sandbox).await?;

    open_detail(&j, "blog-https").await?;
    j.click("[data-testid='edit']").await?;
    j.fill("[data-testid='edit-idle']", "90").await?;
    review(&j).await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    let warning = "[data-testid='review-finding'][data-code='lets_encrypt.dns_record']";
    let text = j
        .wait_for_text(warning, "blog.sandbox-shop.test")
        .await?
        .text()
        .await?;
    assert!(text.contains("blog-le"), "{text}");
    assert!(text.contains(&blog.ip), "{text}");
    assert!(text.contains("disable_lets_encrypt_dns_records"), "{text}");
    let field = j.wait_for(warning).await?.attr("data-field").await?;
    assert_eq!(field.as_deref(), Some("disable_lets_encrypt_dns_records"));
    // A warning, not a refusal: the edit can still be applied.
    assert!(is_enabled(&j, "[data-testid='apply']").await?);
    centered(&j, warning).await?;
    j.screenshot("review").await?;

    // The other load balancers have no Let's Encrypt certificate: no such warning.
    j.click("[data-testid='close-detail']").await?;
    open_detail(&j, "shop-tcp").await?;
    j.click("[data-testid='edit']").await?;
    j.fill("[data-testid='edit-idle']", "90").await?;
    review(&j).await?;
    j.wait_for("[data-testid='review-panel']").await?;
    j.wait_for("[data-testid='dry-run']").await?;
    assert!(j.client.find(Locator::Css(warning)).await.is_err());

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
