//! Changes that cannot take a site down (issue 16), in the app on a Sandbox the test starts and
//! adds by its token; every outcome is checked through the API:
//! - PROXY protocol on for shop-passthrough (whose web droplets reject a PROXY header): the
//!   review predicts the failing droplets and Apply stays refused until the name is typed;
//! - that edit appears in the History tab (and in Activity), and Revert restores it;
//! - blog-https replaced by a dual-stack copy: create → check → rehearse → DNS cutover →
//!   verify → delete the old one with its name typed, resumed after the app restarted mid-way.
//!
//! Run under Xvfb: `cargo test -p cutover-e2e --features e2e --test safety -- --test-threads=1`.

use std::time::Duration;

use cutover_e2e::{lb_by_name, sandbox_api, Journey, Result};
use fantoccini::Locator;

async fn start(name: &str, sandbox: &cutover_sandbox::SandboxHandle) -> Result<Journey> {
    let j = Journey::start(name, &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("e2e", sandbox).await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for("tr[data-lb='blog-https']").await?;
    Ok(j)
}

async fn open_detail(j: &Journey, name: &str) -> Result<()> {
    j.click(&format!("tr[data-lb='{name}'] button.link"))
        .await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{name}']"))
        .await?;
    Ok(())
}

async fn is_enabled(j: &Journey, css: &str) -> Result<bool> {
    Ok(j.wait_for(css).await?.is_enabled().await?)
}

/// Waits until `css` is enabled (a button whose state follows what was typed).
async fn wait_enabled(j: &Journey, css: &str) -> Result<()> {
    for _ in 0..100 {
        if is_enabled(j, css).await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} stayed disabled").into())
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_prediction_needs_the_name_then_history_and_revert() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let j = start("safety-proxy", &sandbox).await?;
    assert!(
        !lb_by_name(&client, "shop-passthrough")
            .await?
            .enable_proxy_protocol
    );

    open_detail(&j, "shop-passthrough").await?;
    j.click("[data-testid='edit']").await?;
    j.click("[data-testid='edit-proxy']").await?;
    j.click("[data-testid='review']").await?;
    // The prediction: the web droplets fail once a PROXY header comes first.
    j.wait_for("[data-testid='preflight'][data-risky='yes']")
        .await?;
    let summary = j.text("[data-testid='preflight-summary']").await?;
    assert!(summary.contains("0 of 3"), "{summary}");
    for web in ["web-1", "web-2", "web-3"] {
        j.wait_for(&format!(
            "[data-testid='preflight-droplet'][data-droplet='{web}']"
        ))
        .await?;
    }
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    assert!(
        !is_enabled(&j, "[data-testid='apply']").await?,
        "Apply is refused until the name is typed"
    );
    j.fill("[data-testid='preflight-confirm']", "shop").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !is_enabled(&j, "[data-testid='apply']").await?,
        "a wrong name does not unlock it"
    );
    j.screenshot("1-prediction-refused").await?;
    j.fill("[data-testid='preflight-confirm']", "shop-passthrough")
        .await?;
    wait_enabled(&j, "[data-testid='apply']").await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    assert!(
        lb_by_name(&client, "shop-passthrough")
            .await?
            .enable_proxy_protocol,
        "PROXY protocol is on in the API"
    );
    j.screenshot("2-applied-with-name").await?;

    // History: the edit, with its diff; Revert opens the editor on the before.
    j.click(".actions > button[title='Close (Esc)']").await?;
    j.click("[data-tab='history']").await?;
    let row = "[data-testid='history-row'][data-kind='update'][data-status='done']";
    j.wait_for(row).await?;
    j.click(&format!("{row} [data-testid='history-toggle']"))
        .await?;
    j.wait_for("[data-testid='history-diff'] tr[data-path='enable_proxy_protocol']")
        .await?;
    j.screenshot("3-history").await?;

    // The Activity view lists it too, across load balancers.
    j.click("button[data-nav='activity']").await?;
    j.wait_for("[data-testid='activity-row'][data-kind='update'][data-subject='shop-passthrough']")
        .await?;
    j.screenshot("4-activity").await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for("tr[data-lb='shop-passthrough']").await?;
    open_detail(&j, "shop-passthrough").await?;
    j.click("[data-tab='history']").await?;
    j.click(&format!("{row} [data-testid='history-revert']"))
        .await?;
    j.wait_for("[data-testid='revert-note']").await?;
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='diff'] tr[data-path='enable_proxy_protocol']")
        .await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    wait_enabled(&j, "[data-testid='apply']").await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    j.screenshot("5-reverted").await?;
    assert!(
        !lb_by_name(&client, "shop-passthrough")
            .await?
            .enable_proxy_protocol,
        "the revert put PROXY protocol back off in the API"
    );
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_to_dual_stack_runs_every_step() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let old = lb_by_name(&client, "blog-https").await?;
    let j = start("safety-replace", &sandbox).await?;
    open_detail(&j, "blog-https").await?;
    j.click("[data-testid='replace']").await?;
    j.wait_for("[data-testid='replace-form']").await?;
    j.wait_for("select[data-testid='replace-network-stack']")
        .await?
        .select_by_value("DUALSTACK")
        .await?;
    j.fill("[data-testid='replace-domain']", cutover_sandbox::DOMAIN)
        .await?;
    j.fill("[data-testid='replace-names']", "blog").await?;
    j.wait_for("select[data-testid='replace-wait']")
        .await?
        .select_by_value("0")
        .await?;
    j.screenshot("1-replace-form").await?;
    wait_enabled(&j, "[data-testid='replace-start']").await?;
    j.click("[data-testid='replace-start']").await?;

    // Create → active → checks, then the DNS step waits for the approval.
    j.wait_for_within(
        "[data-step='dns'][data-status='blocked']",
        Duration::from_secs(60),
    )
    .await?;
    for (step, status) in [
        ("create", "done"),
        ("active", "done"),
        ("certificates", "skipped"),
        ("rehearsal", "skipped"),
    ] {
        j.wait_for(&format!("[data-step='{step}'][data-status='{status}']"))
            .await?;
    }
    let new = lb_by_name(&client, "blog-https-new").await?;
    assert_eq!(new.network_stack.as_deref(), Some("DUALSTACK"));
    // blog-https has a Let's Encrypt certificate: the create did not move DNS on its own.
    let records = client.list_domain_records(cutover_sandbox::DOMAIN).await?;
    assert!(
        records
            .iter()
            .filter(|r| r.name == "blog")
            .all(|r| r.data == old.ip),
        "{records:?}"
    );
    j.screenshot("2-created-dns-waiting").await?;

    // The app stops here (its driver killed, as a crash would) and starts again: the kept plan
    // is read back, at the same step, and nothing is created twice.
    let j = j.relaunch(&[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.wait_for_text("[data-status='account']", "e2e").await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for("tr[data-lb='blog-https']").await?;
    open_detail(&j, "blog-https").await?;
    j.click("[data-testid='replace']").await?;
    j.wait_for("[data-step='dns'][data-status='blocked']")
        .await?;
    j.wait_for("[data-step='create'][data-status='done']")
        .await?;
    assert!(
        j.client
            .find(Locator::Css("[data-testid='replace-form']"))
            .await
            .is_err(),
        "the kept replacement is shown, not a new form"
    );
    j.screenshot("2b-resumed-after-restart").await?;

    // The record's hour-long TTL leaves readiness red: applied only with force and the domain typed.
    if j.client
        .find(Locator::Css("[data-testid='replace-dns-force']"))
        .await
        .is_err()
    {
        // Approve once to learn what readiness says.
        j.fill(
            "[data-testid='replace-dns-confirm']",
            cutover_sandbox::DOMAIN,
        )
        .await?;
        j.click("[data-testid='replace-dns-apply']").await?;
        j.wait_for("[data-testid='replace-dns-force']").await?;
    }
    j.click("[data-testid='replace-dns-force']").await?;
    j.fill(
        "[data-testid='replace-dns-confirm']",
        cutover_sandbox::DOMAIN,
    )
    .await?;
    wait_enabled(&j, "[data-testid='replace-dns-apply']").await?;
    j.click("[data-testid='replace-dns-apply']").await?;
    j.wait_for_within(
        "[data-step='delete_old'][data-status='blocked']",
        Duration::from_secs(60),
    )
    .await?;
    j.wait_for("[data-step='verify'][data-status='done']")
        .await?;
    let new = lb_by_name(&client, "blog-https-new").await?;
    let records = client.list_domain_records(cutover_sandbox::DOMAIN).await?;
    let blog: Vec<_> = records.iter().filter(|r| r.name == "blog").collect();
    assert!(
        blog.iter().any(|r| r.kind == "A" && r.data == new.ip),
        "{blog:?}"
    );
    assert!(blog.iter().all(|r| r.data != old.ip), "{blog:?}");
    // Still there: nothing is deleted without the name.
    lb_by_name(&client, "blog-https").await?;
    j.screenshot("3-dns-moved-delete-waiting").await?;

    j.fill("[data-testid='replace-delete-confirm']", "blog-https")
        .await?;
    wait_enabled(&j, "[data-testid='replace-delete-old']").await?;
    j.click("[data-testid='replace-delete-old']").await?;
    j.wait_for_within("[data-testid='replace-finished']", Duration::from_secs(30))
        .await?;
    j.screenshot("4-replaced").await?;
    // Closing the panel closes the detail of the load balancer that is gone.
    j.click("[data-testid='replace-close']").await?;
    let mut closed = false;
    for _ in 0..50 {
        if j.client
            .find(Locator::Css(
                "[data-testid='lb-detail'][data-lb='blog-https']",
            ))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the old load balancer's detail closed");
    assert!(
        lb_by_name(&client, "blog-https").await.is_err(),
        "the old one is deleted"
    );
    let all = client.list_load_balancers().await?;
    assert_eq!(
        all.iter().filter(|lb| lb.name == "blog-https-new").count(),
        1,
        "exactly one new load balancer"
    );
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
