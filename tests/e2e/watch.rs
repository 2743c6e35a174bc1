//! The watch, end to end: watch the Sandbox's passthrough load balancer, run it, see web-3's
//! findings in the Watch view and the notification recorded (the app's capture seam instead of a
//! notification daemon), give web-3 the fleet's certificate, run again, see them clear.

use cutover_e2e::{Journey, Result};

/// The notifications the app raised, through its own IPC (what the view's bindings call).
async fn notifications(j: &Journey) -> Result<Vec<serde_json::Value>> {
    let value = j
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('watch_notifications').then(done, (e) => done({ error: String(e) }));",
            vec![],
        )
        .await?;
    match value {
        serde_json::Value::Array(items) => Ok(items),
        other => Err(format!("watch_notifications answered {other}").into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_site_notifies_about_web_3_and_clears_after_the_fix() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("watch", &[("CUTOVER_CAPTURE_NOTIFICATIONS", "1".into())]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("watched", &sandbox).await?;

    j.click("button[data-nav='watch']").await?;
    j.wait_for("main[data-view='watch']").await?;
    j.wait_for("[data-testid='watch-empty']").await?;
    j.fill("[data-testid='watch-add-lb']", cutover_sandbox::LB_SHOP_ID)
        .await?;
    j.fill("[data-testid='watch-add-domain']", "sandbox-shop.test")
        .await?;
    j.click("[data-testid='watch-add']").await?;
    j.wait_for("[data-testid='watch-site'][data-state='unchecked']")
        .await?;

    j.click("[data-testid='watch-run-now']").await?;
    j.wait_for("[data-testid='watch-site'][data-state='attention']")
        .await?;
    j.wait_for(
        "[data-testid='watch-findings'] [data-code='fleet.fingerprint_mismatch'][data-backend='web-3']",
    )
    .await?;
    j.wait_for("[data-testid='watch-expiry'] [data-backend='web-3'] .bar.err")
        .await?;
    j.wait_for("[data-testid='watch-history'] tr[data-code='cert.expiring_soon'][data-open='yes']")
        .await?;
    j.screenshot("attention").await?;
    let notes = notifications(&j).await?;
    assert_eq!(notes.len(), 1, "one notification for the site: {notes:?}");
    let title = notes[0]["title"].as_str().unwrap_or_default();
    let body = notes[0]["body"].as_str().unwrap_or_default();
    assert!(title.contains("sandbox-shop.test"), "{title}");
    assert!(body.contains("web-3"), "{body}");

    // web-3 gets the fleet's certificate behind the app's back; the next run clears it.
    sandbox
        .fix_droplet_certificate(cutover_sandbox::WEB_3)
        .await?;
    j.click("[data-testid='watch-run-now']").await?;
    j.wait_for("[data-testid='watch-site'][data-state='ok']")
        .await?;
    j.wait_for("[data-testid='watch-history'] tr[data-code='cert.expiring_soon'][data-open='no']")
        .await?;
    j.wait_for("[data-testid='watch-run-news'] [data-news='cleared']")
        .await?;
    j.screenshot("cleared").await?;
    assert_eq!(
        notifications(&j).await?.len(),
        1,
        "a clearing notifies nobody"
    );
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
