//! Issue 15, part B: the global load balancer view and a certificate rotation in the app, on a
//! Sandbox the test runs and adds by token.
//! Run: `cargo test -p cutover-e2e --features e2e --test real_accounts -- --test-threads=1` under
//! Xvfb (see shared/notes/build-recipe.md).

use cutover_e2e::{Journey, Result};

/// Scrolls an element to the middle of the window (at the bottom edge the status bar covers it
/// and WebKit refuses to interact with it), then clicks it.
async fn click_centered(j: &Journey, css: &str) -> Result<()> {
    let el = j.wait_for(css).await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    el.click().await?;
    Ok(())
}

/// The global load balancer opens as its tree: two regional load balancers, each with its
/// droplets, the domains with their status and why one is not ready, then the certificate
/// check of each regional fleet.
#[tokio::test(flavor = "multi_thread")]
async fn the_glb_view_shows_two_regional_fleets_and_their_droplets() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("glb-view", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    j.click("button[data-nav='load-balancers']").await?;
    click_centered(&j, "tr[data-lb='shop-global'] button.link").await?;
    j.wait_for("[data-testid='glb-view']").await?;
    let nyc = "[data-testid='glb-target'][data-lb='shop-passthrough']";
    let ams = "[data-testid='glb-target'][data-lb='shop-ams3']";
    j.wait_for_text(nyc, "nyc3").await?;
    j.wait_for_text(ams, "ams3").await?;
    for droplet in ["web-1", "web-2", "web-3"] {
        j.wait_for(&format!("{nyc} [data-droplet='{droplet}']"))
            .await?;
    }
    for droplet in ["web-ams3-1", "web-ams3-2"] {
        j.wait_for(&format!("{ams} [data-droplet='{droplet}']"))
            .await?;
    }
    let targets = j
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='glb-target']"))
        .await?;
    assert_eq!(targets.len(), 2, "two regional load balancers");
    // The managed domain is active; the other says why it is not ready yet.
    j.wait_for_text(
        "[data-testid='glb-domains'] tr[data-domain='world.sandbox-shop.test']",
        "managed by DigitalOcean",
    )
    .await?;
    j.wait_for_text(
        "[data-testid='glb-domains'] tr[data-domain='shop.sandbox-partner.test']",
        "no CNAME record",
    )
    .await?;
    j.wait_for_text("[data-testid='glb-settings']", "fails over at 50%")
        .await?;
    j.screenshot("tree").await?;

    click_centered(&j, "[data-testid='glb-check']").await?;
    // nyc3's fleet has web-3 with its other certificate; ams3's agrees.
    j.wait_for_text(
        &format!("{nyc} [data-testid='glb-fleet-verdict']"),
        "Problem",
    )
    .await?;
    j.wait_for_text(&format!("{ams} [data-testid='glb-fleet-verdict']"), "OK")
        .await?;
    j.wait_for_text(nyc, "web-3").await?;
    j.screenshot("fleet-checks").await?;
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// A certificate in use is rotated in the app: the review names the load balancer to repoint,
/// the rotation creates a Let's Encrypt certificate, waits for it, repoints blog-https and
/// deletes the old one.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_is_rotated_in_the_app() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = cutover_e2e::sandbox_api(&sandbox)?;
    let j = Journey::start("cert-rotate", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    j.click("button[data-nav='certificates']").await?;
    j.wait_for_text("[data-testid='do-certs']", "blog-le")
        .await?;
    j.wait_for_text("select[data-testid='cert-rotate-old']", "blog-le")
        .await?;
    j.wait_for("select[data-testid='cert-rotate-old']")
        .await?
        .select_by_value("blog-le")
        .await?;
    click_centered(&j, "[data-testid='cert-rotate-kind-le']").await?;
    j.fill("[data-testid='cert-rotate-name']", "blog-le-2")
        .await?;
    click_centered(&j, "[data-testid='cert-rotate-review']").await?;
    j.wait_for_text("[data-testid='cert-rotate-steps']", "blog-https")
        .await?;
    j.wait_for_text(
        "[data-testid='cert-rotate-summary']",
        "1 load balancer to repoint",
    )
    .await?;
    j.screenshot("review").await?;

    click_centered(&j, "[data-testid='cert-rotate-apply']").await?;
    j.wait_for_text(
        "[data-testid='cert-rotate-outcome'][data-complete='true']",
        "Rotation complete",
    )
    .await?;
    j.wait_for_text(
        "[data-testid='cert-rotate-outcome']",
        "blog-https: uses the new certificate",
    )
    .await?;
    // The list is read again: the new certificate is there.
    j.wait_for_text("[data-testid='do-certs']", "blog-le-2")
        .await?;
    j.screenshot("rotated").await?;

    // DigitalOcean's side: the rule uses the new certificate and the old one is gone.
    let certs = api.list_certificates().await?;
    assert!(
        !certs.iter().any(|c| c.name == "blog-le"),
        "old one deleted"
    );
    let new = certs
        .iter()
        .find(|c| c.name == "blog-le-2")
        .ok_or("no blog-le-2")?;
    let blog = cutover_e2e::lb_by_name(&api, "blog-https").await?;
    assert!(blog
        .forwarding_rules
        .iter()
        .any(|r| r.certificate() == Some(new.id.as_str())));
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// An upload whose key belongs to another certificate is refused in its review, before
/// anything is sent; the key, picked as a file, never reaches the webview.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_with_the_wrong_key_is_refused_before_sending() -> Result<()> {
    let fixtures = cutover_e2e::workspace_root().join("tests/e2e/fixtures");
    let cert = fixtures.join("upload-cert.pem");
    let key = fixtures.join("upload-other-key.pem");
    let key_body = std::fs::read_to_string(&key)?
        .lines()
        .nth(1)
        .ok_or("an empty key fixture")?
        .to_string();
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = cutover_e2e::sandbox_api(&sandbox)?;
    let j = Journey::start("cert-upload", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    j.click("button[data-nav='certificates']").await?;
    click_centered(&j, "[data-testid='cert-manage-tab-upload']").await?;
    j.fill("[data-testid='cert-upload-name']", "bad-upload")
        .await?;
    j.fill(
        "[data-testid='cert-upload-cert-path']",
        &cert.display().to_string(),
    )
    .await?;
    j.fill(
        "[data-testid='cert-upload-key-path']",
        &key.display().to_string(),
    )
    .await?;
    click_centered(&j, "[data-testid='cert-upload-check']").await?;
    j.wait_for_text(
        "[data-testid='cert-upload-review'][data-ok='false']",
        "does not belong to the certificate",
    )
    .await?;
    j.screenshot("refused").await?;
    assert!(
        j.client
            .find(fantoccini::Locator::Css("[data-testid='cert-upload-send']"))
            .await
            .is_err(),
        "no Upload button for a refused check"
    );
    assert!(
        !j.page_source().await?.contains(&key_body),
        "the key reached the webview"
    );
    assert!(!api
        .list_certificates()
        .await?
        .iter()
        .any(|c| c.name == "bad-upload"));
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
