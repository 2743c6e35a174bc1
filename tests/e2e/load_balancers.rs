//! Load-balancer journeys: list, detail, edit → review (diff + dry run) → apply, a conflict with a
//! change made behind the app's back, an invalid combination, delete with the typed name.
//! The Sandbox is started by the test and added by its token; every change is checked through
//! the API. Run under Xvfb: `cargo test -p cutover-e2e --features e2e --test load_balancers`.

use std::time::Duration;

use cutover_digitalocean::{plan_update, Client, ClientConfig, Error, LoadBalancer};
use cutover_e2e::{Journey, Result};
use fantoccini::Locator;

fn api(sandbox: &cutover_sandbox::SandboxHandle) -> Result<Client> {
    Ok(Client::new(
        ClientConfig::new(sandbox.token().to_string()).with_base_url(sandbox.api_base()),
    )?)
}

async fn by_name(client: &Client, name: &str) -> Result<LoadBalancer> {
    client
        .list_load_balancers()
        .await?
        .into_iter()
        .find(|lb| lb.name == name)
        .ok_or_else(|| format!("no load balancer named {name}").into())
}

/// Applies `change` to the load balancer behind the app's back, waiting out the "busy" window
/// the previous change left.
async fn change_behind_the_back(
    client: &Client,
    name: &str,
    change: impl Fn(&mut LoadBalancer),
) -> Result<()> {
    for _ in 0..50 {
        let now = by_name(client, name).await?;
        let mut desired = now.clone();
        change(&mut desired);
        match client.apply(&plan_update(&now, &desired)).await {
            Ok(_) => return Ok(()),
            Err(Error::Busy { .. }) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(err) => return Err(err.into()),
        }
    }
    Err("the load balancer stayed busy".into())
}

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

/// Disable the redirect on blog-https: review shows the field and the dry run, apply lands it
/// (checked through the API). Then a change behind the app's back makes a stale edit conflict:
/// the app names the changed field and writes nothing; reloading keeps the user's change.
#[tokio::test(flavor = "multi_thread")]
async fn edit_review_apply_and_conflict() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = api(&sandbox)?;
    let j = start("lb-edit", &sandbox).await?;
    for name in ["shop-passthrough", "blog-https", "api-by-tag"] {
        j.wait_for(&format!("tr[data-lb='{name}']")).await?;
    }
    j.wait_for_text("tr[data-lb='shop-passthrough']", "SSL passthrough")
        .await?;
    j.screenshot("1-list").await?;

    // Search narrows the list.
    j.fill("[data-testid='lb-search']", "blog").await?;
    j.wait_for("tr[data-lb='blog-https']").await?;
    assert!(
        j.client
            .find(Locator::Css("tr[data-lb='shop-passthrough']"))
            .await
            .is_err(),
        "the search hides the other load balancers"
    );
    j.wait_for("[data-testid='lb-search']")
        .await?
        .clear()
        .await?;

    open_detail(&j, "blog-https").await?;
    j.click("[data-tab='settings']").await?;
    j.wait_for_text("[data-testid='setting-redirect']", "on")
        .await?;
    j.click("[data-tab='droplets']").await?;
    j.wait_for_text("[data-testid='droplets-table']", "web-1")
        .await?;
    j.screenshot("2-detail-droplets").await?;

    // Edit: turn the redirect off, review the diff and the dry run.
    j.click("[data-testid='edit']").await?;
    j.click("[data-testid='edit-redirect']").await?;
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='diff'] tr[data-path='redirect_http_to_https']")
        .await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    j.screenshot("3-review").await?;

    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    j.wait_for_text("[data-testid='apply-progress']", "active")
        .await?;
    j.screenshot("4-applied").await?;
    let landed = by_name(&client, "blog-https").await?;
    assert!(
        !landed.redirect_http_to_https,
        "the redirect is off in the API"
    );
    assert!(landed.is_active());

    // Someone changes the idle timeout meanwhile; the editor still holds the older version.
    change_behind_the_back(&client, "blog-https", |lb| {
        lb.http_idle_timeout_seconds = Some(120)
    })
    .await?;
    j.click("[data-testid='edit-redirect']").await?;
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for("[data-testid='apply-error'][data-code='conflict']")
        .await?;
    j.wait_for_text(
        "[data-testid='conflict-changes']",
        "http_idle_timeout_seconds",
    )
    .await?;
    j.screenshot("5-conflict").await?;
    let untouched = by_name(&client, "blog-https").await?;
    assert!(
        !untouched.redirect_http_to_https,
        "a conflict writes nothing"
    );

    // Reload keeps the user's change on top of the new version; then it applies.
    j.click("[data-testid='conflict-reload']").await?;
    j.wait_for_text("[data-testid='lb-editor']", "Edit blog-https")
        .await?;
    let idle = j
        .wait_for("[data-testid='edit-idle']")
        .await?
        .prop("value")
        .await?;
    assert_eq!(
        idle.as_deref(),
        Some("120"),
        "the reload shows the new idle timeout"
    );
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='diff'] tr[data-path='redirect_http_to_https']")
        .await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    let after = by_name(&client, "blog-https").await?;
    assert!(after.redirect_http_to_https, "the user's change landed");
    assert_eq!(
        after.http_idle_timeout_seconds,
        Some(120),
        "the other change survived"
    );
    j.screenshot("6-reapplied").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// A redirect on a passthrough-only load balancer has no HTTP 80 rule to redirect from: the
/// validator's message shows beside the field and neither Review nor Apply can be used. Then
/// delete it, which needs its name typed.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_combination_then_delete() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = api(&sandbox)?;
    let j = start("lb-invalid-delete", &sandbox).await?;

    open_detail(&j, "shop-passthrough").await?;
    j.click("[data-testid='edit']").await?;
    j.click("[data-testid='edit-redirect']").await?;
    j.wait_for_text(
        "[data-code='redirect.needs_http_80']",
        "needs an HTTP rule on port 80",
    )
    .await?;
    j.screenshot("1-invalid").await?;
    let review = j.wait_for("[data-testid='review']").await?;
    assert!(
        !review.is_enabled().await?,
        "Review is disabled on an error"
    );
    let apply = j.wait_for("[data-testid='apply']").await?;
    assert!(!apply.is_enabled().await?, "Apply is disabled on an error");
    assert!(
        !by_name(&client, "shop-passthrough")
            .await?
            .redirect_http_to_https,
        "nothing was sent"
    );

    // Close the editor and delete; the action waits for the exact name.
    j.click("[data-testid='lb-editor'] .actions button").await?;
    j.click("[data-testid='delete']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    let confirm = j.wait_for("[data-testid='confirm-action']").await?;
    assert!(!confirm.is_enabled().await?, "delete waits for the name");
    j.fill("[data-testid='confirm-input']", "shop").await?;
    assert!(!confirm.is_enabled().await?, "a partial name is not enough");
    j.fill("[data-testid='confirm-input']", "shop-passthrough")
        .await?;
    j.screenshot("2-confirm-delete").await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for_text("[data-testid='lb-notice']", "Deleted shop-passthrough")
        .await?;
    j.wait_for("tr[data-lb='blog-https']").await?;
    assert!(
        j.client
            .find(Locator::Css("tr[data-lb='shop-passthrough']"))
            .await
            .is_err(),
        "the row is gone"
    );
    j.screenshot("3-deleted").await?;
    let left: Vec<String> = client
        .list_load_balancers()
        .await?
        .into_iter()
        .map(|lb| lb.name)
        .collect();
    assert!(
        !left.contains(&"shop-passthrough".to_string()),
        "deleted in the API: {left:?}"
    );

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// Create a load balancer from the form: review (validator + dry run), create, and it is active
/// in the API with the chosen droplet.
#[tokio::test(flavor = "multi_thread")]
async fn create_from_the_form() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = api(&sandbox)?;
    let j = start("lb-create", &sandbox).await?;

    j.click("[data-testid='lb-create']").await?;
    j.fill("[data-testid='create-name']", "e2e-new").await?;
    j.click("input[data-droplet='web-1']").await?;
    j.click("[data-testid='create-review']").await?;
    j.screenshot("0-form").await?;
    j.wait_for("[data-testid='create-dry-run'][data-outcome='ok']")
        .await?;
    j.screenshot("1-review").await?;
    j.click("[data-testid='create-submit']").await?;
    j.wait_for_text("[data-testid='lb-notice']", "Created e2e-new")
        .await?;
    j.wait_for("tr[data-lb='e2e-new']").await?;
    j.screenshot("2-created").await?;
    let created = by_name(&client, "e2e-new").await?;
    assert!(created.is_active(), "status {}", created.status);
    assert_eq!(created.droplet_ids.len(), 1);

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
