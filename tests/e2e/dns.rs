//! The DNS cutover journey on a Sandbox the test runs and adds by token: a rehearsal request
//! first; then open the passthrough load balancer's domain from its detail, see the readiness
//! list flag web-3's certificate, fix it in the Sandbox and re-check, apply, watch verify succeed
//! against the Sandbox's DNS server, check the records through the API; a verify that times out
//! (records changed behind the app's back) keeps the change and offers the rollback; roll back,
//! check the records again.
//! Run under Xvfb: `cargo test -p cutover-e2e --features e2e --test dns -- --test-threads=1`.

use cutover_digitalocean::{Client, DomainRecordRequest};
use cutover_e2e::{lb_by_name, sandbox_api, Journey, Result};
use cutover_sandbox::{DOMAIN, WEB_3};
use fantoccini::Locator;

/// The apex A records as the API has them: (address, TTL).
async fn apex_a_records(client: &Client) -> Result<Vec<(String, u32)>> {
    Ok(client
        .list_domain_records(DOMAIN)
        .await?
        .into_iter()
        .filter(|r| r.kind == "A" && r.name == "@")
        .map(|r| (r.data, r.ttl))
        .collect())
}

/// The addresses of the apex A records.
async fn apex_a(client: &Client) -> Result<Vec<String>> {
    Ok(apex_a_records(client)
        .await?
        .into_iter()
        .map(|(data, _)| data)
        .collect())
}

/// The TTLs of the apex A records.
async fn apex_ttls(client: &Client) -> Result<Vec<u32>> {
    Ok(apex_a_records(client)
        .await?
        .into_iter()
        .map(|(_, ttl)| ttl)
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_over_verify_and_roll_back() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let lb = lb_by_name(&client, "shop-passthrough").await?;
    assert_eq!(apex_a(&client).await?, ["127.0.0.11"], "the seeded apex");

    let j = Journey::start("dns", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    // A rehearsal request through the local balancer first: the checklist includes it.
    j.click("button[data-nav='rehearsal']").await?;
    j.wait_for_text("select[data-testid='reh-lb']", "shop-passthrough")
        .await?;
    j.fill("[data-testid='reh-domain']", DOMAIN).await?;
    j.click("[data-testid='reh-build']").await?;
    j.wait_for_text("[data-testid='reh-config-summary']", "web-3")
        .await?;
    j.fill("[data-testid='reh-listen-port']", "0").await?;
    j.click("[data-testid='reh-start']").await?;
    j.wait_for("[data-testid='reh-listen-addr']").await?;
    j.click("[data-testid='reh-test']").await?;
    j.wait_for_text("[data-testid='reh-test-result']", "200")
        .await?;
    j.click("[data-testid='reh-stop']").await?;
    j.wait_for_text("[data-status='balancer']", "stopped")
        .await?;

    // From the load balancer's detail: the DNS view opens with it and its domain preselected.
    j.click("button[data-nav='load-balancers']").await?;
    j.click("tr[data-lb='shop-passthrough'] button.link")
        .await?;
    j.wait_for("[data-testid='lb-detail'][data-lb='shop-passthrough']")
        .await?;
    j.click("[data-testid='cut-over-dns']").await?;
    j.wait_for("main[data-view='dns']").await?;
    let domain = j.value("[data-testid='dns-domain']").await?;
    assert_eq!(domain, DOMAIN);

    // Where it points now: hosted at DigitalOcean (the Sandbox), the apex at web-1, not the LB.
    j.wait_for_text("[data-testid='dns-hosted']", "hosted at DigitalOcean")
        .await?;
    j.wait_for_text("[data-testid='dns-lb-ip']", &lb.ip).await?;
    let apex_row = format!("[data-testid='dns-answers'] tr[data-name='{DOMAIN}']");
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "A 127.0.0.11",
    )
    .await?;
    j.wait_for_text(&format!("{apex_row} [data-testid='dns-points']"), "not yet")
        .await?;

    // Readiness: the certificate item is red because web-3 serves another certificate.
    let certs = "[data-testid='dns-readiness'] li[data-item='certificates']";
    j.wait_for(&format!("{certs}[data-ok='no']")).await?;
    let reason = j.text(certs).await?;
    assert!(reason.contains("web-3"), "{reason}");
    j.wait_for("li[data-item='lb_active'][data-ok='yes']")
        .await?;
    let rehearsal = j.text("li[data-item='rehearsal'][data-ok='yes']").await?;
    assert!(rehearsal.contains("succeeded"), "{rehearsal}");
    // The diff: the apex's A record moves from web-1 to the load balancer.
    let diff = j
        .wait_for_text("[data-testid='dns-diff']", &lb.ip)
        .await?
        .text()
        .await?;
    assert!(diff.contains("A 127.0.0.11 · TTL 3600"), "{diff}");
    j.wait_for("[data-testid='dns-no-saved']").await?;
    j.screenshot("1-readiness").await?;

    // Fix web-3's certificate in the Sandbox and re-check: the item turns green.
    sandbox.fix_droplet_certificate(WEB_3).await?;
    j.click("[data-testid='dns-recheck']").await?;
    j.wait_for(&format!("{certs}[data-ok='yes']")).await?;
    // The seeded TTL (3600 s) is still red: the apply button says why until overridden.
    j.wait_for("li[data-item='ttl'][data-ok='no']").await?;
    j.wait_for_text("[data-testid='dns-apply-gate']", "Current TTL")
        .await?;
    assert!(
        !j.wait_for("[data-testid='dns-apply']")
            .await?
            .is_enabled()
            .await?
    );
    j.screenshot("2-fixed").await?;

    // Apply (an unprotected account: a plain confirmation), then verify runs by itself.
    j.click("[data-testid='dns-override']").await?;
    j.click("[data-testid='dns-apply']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.screenshot("3-confirm").await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text("[data-testid='dns-apply-result']", "1 change")
        .await?;
    j.wait_for_text("[data-testid='dns-verify-result']", "DNS verified")
        .await?;
    let polls = j.text("[data-testid='dns-verify-log']").await?;
    assert!(polls.contains("Poll 1:"), "{polls}");
    assert!(polls.contains(&format!("ready {DOMAIN}")), "{polls}");
    // Then the HTTPS request to the domain (at a droplet of the passthrough LB): status and certificate.
    let https = j.text("[data-testid='dns-https']").await?;
    assert!(https.contains("HTTP 200"), "{https}");
    let cert = j.text("[data-testid='dns-https-cert']").await?;
    assert!(cert.contains(DOMAIN), "{cert}");
    j.wait_for_text(&format!("{apex_row} [data-testid='dns-points']"), "yes")
        .await?;
    j.wait_for("[data-testid='dns-rollback']").await?;
    j.screenshot("4-verified").await?;

    // Through the API: the apex now points at the load balancer.
    assert_eq!(apex_a(&client).await?, std::slice::from_ref(&lb.ip));

    // Someone points the apex elsewhere behind the app's back: verify (with a 2 s window) times
    // out, says so, keeps the change and still offers the rollback.
    let apex_id = client
        .list_domain_records(DOMAIN)
        .await?
        .into_iter()
        .find(|r| r.kind == "A" && r.name == "@")
        .ok_or("no apex A record")?
        .id;
    client
        .update_domain_record(
            DOMAIN,
            apex_id,
            &DomainRecordRequest {
                ttl: Some(300),
                ..DomainRecordRequest::simple("A", "@", "192.0.2.99")
            },
        )
        .await?;
    j.fill("[data-testid='dns-verify-window']", "2").await?;
    j.click("[data-testid='dns-verify-again']").await?;
    let result = j
        .wait_for_text("[data-testid='dns-verify-result']", "DNS not switched yet")
        .await?
        .text()
        .await?;
    assert!(result.contains("within 2 s"), "{result}");
    assert!(result.contains("the change is kept"), "{result}");
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "A 192.0.2.99",
    )
    .await?;
    j.wait_for("[data-testid='dns-rollback']").await?;
    j.screenshot("5-verify-timeout").await?;

    // Roll back, with confirmation: the saved records come back.
    j.click("[data-testid='dns-rollback']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text(
        "[data-testid='dns-rollback-note']",
        "Restored the saved records",
    )
    .await?;
    j.wait_for("[data-testid='dns-no-saved']").await?;
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "A 127.0.0.11",
    )
    .await?;
    j.screenshot("6-rolled-back").await?;
    assert_eq!(apex_a(&client).await?, ["127.0.0.11"]);
    let ttl = apex_ttls(&client).await?;
    assert_eq!(ttl, [3600], "the TTL is restored too");

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// On a protected account the confirmation needs the domain typed; the API refuses the second of
/// two changes (an invalid record name), the first is rolled back, and the page says so: the
/// records are as before and there is nothing to roll back. Then the TTL-only step, and its
/// rollback.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_change_is_rolled_back_and_reported() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let lb = lb_by_name(&client, "shop-passthrough").await?;

    let j = Journey::start("dns", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("production", &sandbox).await?;
    j.client
        .find(Locator::XPath(
            "//tr[@data-account='production']//button[.='Protect']",
        ))
        .await?
        .click()
        .await?;
    j.wait_for_text("tr[data-account='production']", "protected")
        .await?;

    // Straight from the sidebar: pick the load balancer; the account's domain is suggested.
    j.click("button[data-nav='dns']").await?;
    j.wait_for(&format!(
        "select[data-testid='dns-lb'] option[value='{}']",
        lb.id
    ))
    .await?
    .click()
    .await?;
    let domain = j.value("[data-testid='dns-domain']").await?;
    assert_eq!(domain, DOMAIN);
    j.fill("[data-testid='dns-names']", "@, bad!name").await?;
    j.click("[data-testid='dns-load']").await?;
    let diff = j
        .wait_for_text("[data-testid='dns-diff']", "bad!name")
        .await?
        .text()
        .await?;
    assert!(diff.contains("update") && diff.contains("create"), "{diff}");
    j.wait_for("li[data-item='certificates']").await?;

    j.click("[data-testid='dns-override']").await?;
    j.click("[data-testid='dns-apply']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    // Protected: the action stays disabled until the domain is typed exactly.
    let action = j.wait_for("[data-testid='confirm-action']").await?;
    assert!(!action.is_enabled().await?);
    j.fill("[data-testid='confirm-input']", "sandbox-shop")
        .await?;
    assert!(!action.is_enabled().await?);
    j.fill("[data-testid='confirm-input']", DOMAIN).await?;
    assert!(action.is_enabled().await?);
    j.screenshot("7-protected-confirm").await?;
    action.click().await?;

    let err = j
        .wait_for_text("[data-testid='dns-apply-error']", "rolled back")
        .await?
        .text()
        .await?;
    assert!(err.contains("bad!name.sandbox-shop.test"), "{err}");
    assert!(err.contains("not a valid record name"), "{err}");
    // Nothing half-applied: the apex answers web-1 again and there is nothing to roll back.
    let apex_row = format!("[data-testid='dns-answers'] tr[data-name='{DOMAIN}']");
    j.wait_for_text(
        &format!("{apex_row} [data-col='authoritative']"),
        "A 127.0.0.11",
    )
    .await?;
    j.wait_for("[data-testid='dns-no-saved']").await?;
    assert!(j
        .client
        .find(Locator::Css("[data-testid='dns-apply-result']"))
        .await
        .is_err());
    j.screenshot("8-refused").await?;
    assert_eq!(apex_a(&client).await?, ["127.0.0.11"]);

    // The optional first step: only lower the TTL. The address stays; the checklist says when it
    // is safe to switch; the saved records can be restored.
    j.click("[data-testid='dns-apply-ttl']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.fill("[data-testid='confirm-input']", DOMAIN).await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text("[data-testid='dns-apply-note']", "Lowered the TTL")
        .await?;
    let ttl_item = j
        .wait_for_text("li[data-item='ttl'][data-ok='no']", "safe to switch at")
        .await?
        .text()
        .await?;
    assert!(
        ttl_item.contains("lowered from 3600 s to 300 s"),
        "{ttl_item}"
    );
    j.wait_for("[data-testid='dns-rollback']").await?;
    let apex = apex_a_records(&client).await?;
    assert_eq!(apex, [("127.0.0.11".to_string(), 300)]);
    j.screenshot("9-ttl-lowered").await?;
    j.click("[data-testid='dns-rollback']").await?;
    j.fill("[data-testid='confirm-input']", DOMAIN).await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text(
        "[data-testid='dns-rollback-note']",
        "Restored the saved records",
    )
    .await?;
    let ttl = apex_ttls(&client).await?;
    assert_eq!(ttl, [3600]);

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// A domain the account does not host: the page says so, shows the records to set at its DNS
/// provider, and offers no Apply.
#[tokio::test(flavor = "multi_thread")]
async fn a_domain_hosted_elsewhere_gets_records_to_copy() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let lb = lb_by_name(&client, "shop-passthrough").await?;

    let j = Journey::start("dns", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;
    j.click("button[data-nav='dns']").await?;
    j.wait_for(&format!(
        "select[data-testid='dns-lb'] option[value='{}']",
        lb.id
    ))
    .await?
    .click()
    .await?;
    j.fill("[data-testid='dns-domain']", "elsewhere.test")
        .await?;
    j.click("[data-testid='dns-load']").await?;
    j.wait_for_text("[data-testid='dns-hosted']", "hosted elsewhere")
        .await?;
    let records = j.text("[data-testid='dns-provider-records']").await?;
    assert_eq!(
        records,
        format!(
            "elsewhere.test 300 IN A {0}\nwww.elsewhere.test 300 IN A {0}",
            lb.ip
        )
    );
    j.wait_for_text("[data-testid='dns-apply-gate']", "DNS provider")
        .await?;
    assert!(
        !j.wait_for("[data-testid='dns-apply']")
            .await?
            .is_enabled()
            .await?
    );
    j.screenshot("10-elsewhere").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
