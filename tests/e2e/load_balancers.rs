//! Load-balancer journeys: list, detail, edit → review (diff + dry run) → apply, a conflict with a
//! change made behind the app's back, an invalid combination, delete with the typed name.
//! The Sandbox is started by the test and added by its token; every change is checked through
//! the API. Run under Xvfb: `cargo test -p cutover-e2e --features e2e --test load_balancers`.

use std::time::Duration;

use cutover_digitalocean::{plan_update, Client, Error, LoadBalancer};
use cutover_e2e::{lb_by_name, sandbox_api, Journey, Result};
use fantoccini::Locator;

/// Applies `change` to the load balancer behind the app's back, waiting out the "busy" window
/// the previous change left.
async fn change_behind_the_back(
    client: &Client,
    name: &str,
    change: impl Fn(&mut LoadBalancer),
) -> Result<()> {
    for _ in 0..50 {
        let now = lb_by_name(client, name).await?;
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

/// Opens the Certificates view and returns its "Checked at …" line once the comparison of the
/// TLS-terminating load balancers is there.
async fn termination_checked_at(j: &Journey) -> Result<String> {
    j.click("button[data-nav='certificates']").await?;
    let line = "[data-testid='cert-termination-checked']";
    j.wait_for_text(line, "Checked at").await?;
    j.text(line).await
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
    let client = sandbox_api(&sandbox)?;
    let j = start("lb-edit", &sandbox).await?;
    for name in ["shop-passthrough", "blog-https", "api-by-tag"] {
        j.wait_for(&format!("tr[data-lb='{name}']")).await?;
    }
    j.wait_for_text("tr[data-lb='shop-passthrough']", "SSL passthrough")
        .await?;
    j.screenshot("1-list").await?;

    // The Certificates view keeps its comparison of terminating load balancers: a second visit
    // shows the same result, not a new probe (it changes after the edits below).
    let first_check = termination_checked_at(&j).await?;
    j.click("button[data-nav='load-balancers']").await?;
    // Past the next second, so that a new probe would show another time.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(termination_checked_at(&j).await?, first_check);
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for("tr[data-lb='blog-https']").await?;

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
    let landed = lb_by_name(&client, "blog-https").await?;
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
    let untouched = lb_by_name(&client, "blog-https").await?;
    assert!(
        !untouched.redirect_http_to_https,
        "a conflict writes nothing"
    );

    // Reload keeps the user's change on top of the new version; then it applies.
    j.click("[data-testid='conflict-reload']").await?;
    j.wait_for_text("[data-testid='lb-editor']", "Edit blog-https")
        .await?;
    let idle = j.value("[data-testid='edit-idle']").await?;
    assert_eq!(idle, "120", "the reload shows the new idle timeout");
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='diff'] tr[data-path='redirect_http_to_https']")
        .await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    let after = lb_by_name(&client, "blog-https").await?;
    assert!(after.redirect_http_to_https, "the user's change landed");
    assert_eq!(
        after.http_idle_timeout_seconds,
        Some(120),
        "the other change survived"
    );
    j.screenshot("6-reapplied").await?;

    // A load balancer changed in the app: the Certificates view compares again.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now_checked = termination_checked_at(&j).await?;
        if now_checked != first_check {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("the comparison was not redone: still {now_checked:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

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
    let client = sandbox_api(&sandbox)?;
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
        !lb_by_name(&client, "shop-passthrough")
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
    let client = sandbox_api(&sandbox)?;
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
    let created = lb_by_name(&client, "e2e-new").await?;
    assert!(created.is_active(), "status {}", created.status);
    assert_eq!(created.droplet_ids.len(), 1);

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Busy 403 and Retry; droplets; presets and warnings; keyboard only; dark theme
// ---------------------------------------------------------------------------------------------

const BUSY_TEXT: &str =
    "DigitalOcean is still applying the previous change — try again in a moment";

fn droplet_ids(lb: &LoadBalancer) -> Vec<u64> {
    lb.droplet_ids.clone()
}

/// Holds blog-https busy in the Sandbox (as while DigitalOcean applies an update): adding a droplet,
/// applying an edit and deleting each show the busy message with a Retry that succeeds once the
/// load balancer is free. The droplet added is checked through the API and removed again.
#[tokio::test(flavor = "multi_thread")]
async fn busy_then_retry_droplets_apply_delete() -> Result<()> {
    use cutover_sandbox::{LB_BLOG_ID, WEB_1, WEB_2, WEB_3};
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let j = start("lb-busy", &sandbox).await?;

    // Droplets: add web-3 while busy → the message and Retry; nothing changed in the API.
    open_detail(&j, "blog-https").await?;
    j.click("[data-tab='droplets']").await?;
    j.wait_for_text("[data-testid='droplets-table']", "web-2")
        .await?;
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, true));
    j.wait_for("[data-testid='droplet-pick']")
        .await?
        .select_by_value(&WEB_3.to_string())
        .await?;
    j.click("[data-testid='droplet-add']").await?;
    j.wait_for("[data-testid='droplets-error'][data-code='busy']")
        .await?;
    j.wait_for_text("[data-testid='droplets-error']", BUSY_TEXT)
        .await?;
    j.screenshot("1-droplet-busy").await?;
    assert_eq!(
        droplet_ids(&lb_by_name(&client, "blog-https").await?),
        vec![WEB_1, WEB_2],
        "a busy answer changes nothing"
    );
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, false));
    j.click("[data-testid='droplets-retry']").await?;
    j.wait_for("tr[data-droplet='web-3']").await?;
    j.screenshot("2-droplet-added").await?;
    assert!(
        droplet_ids(&lb_by_name(&client, "blog-https").await?).contains(&WEB_3),
        "web-3 was added in the API"
    );
    // The list follows (droplet count 3).
    j.wait_for_text("tr[data-lb='blog-https']", "3").await?;

    // Remove it again (ending the short busy window the add opened, so this is not a busy test).
    sandbox.set_lb_busy(LB_BLOG_ID, false);
    j.click("tr[data-droplet='web-3'] [data-testid='droplet-remove']")
        .await?;
    for _ in 0..100 {
        if j.client
            .find(Locator::Css("tr[data-droplet='web-3']"))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        j.client
            .find(Locator::Css("tr[data-droplet='web-3']"))
            .await
            .is_err(),
        "web-3 left the droplets table"
    );
    assert_eq!(
        droplet_ids(&lb_by_name(&client, "blog-https").await?),
        vec![WEB_1, WEB_2],
        "web-3 was removed in the API"
    );

    // Apply while busy: the message and Retry; the retry lands the change.
    sandbox.set_lb_busy(LB_BLOG_ID, false);
    j.click("[data-testid='edit']").await?;
    j.fill("[data-testid='edit-idle']", "90").await?;
    j.click("[data-testid='review']").await?;
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, true));
    j.click("[data-testid='apply']").await?;
    j.wait_for("[data-testid='apply-error'][data-code='busy']")
        .await?;
    j.wait_for_text("[data-testid='apply-error']", BUSY_TEXT)
        .await?;
    j.screenshot("3-apply-busy").await?;
    assert_ne!(
        lb_by_name(&client, "blog-https")
            .await?
            .http_idle_timeout_seconds,
        Some(90),
        "a busy answer writes nothing"
    );
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, false));
    j.click("[data-testid='retry']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    j.screenshot("4-apply-retried").await?;
    assert_eq!(
        lb_by_name(&client, "blog-https")
            .await?
            .http_idle_timeout_seconds,
        Some(90),
        "the retry landed"
    );

    // Delete while busy: the message and Retry; the retry deletes.
    j.click("[data-testid='lb-editor'] .actions button").await?;
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, true));
    j.click("[data-testid='delete']").await?;
    j.fill("[data-testid='confirm-input']", "blog-https")
        .await?;
    j.click("[data-testid='confirm-action']").await?;
    j.wait_for("[data-testid='delete-error'][data-code='busy']")
        .await?;
    j.wait_for_text("[data-testid='delete-error']", BUSY_TEXT)
        .await?;
    j.screenshot("5-delete-busy").await?;
    lb_by_name(&client, "blog-https").await?;
    assert!(sandbox.set_lb_busy(LB_BLOG_ID, false));
    j.click("[data-testid='delete-retry']").await?;
    j.wait_for_text("[data-testid='lb-notice']", "Deleted blog-https")
        .await?;
    assert!(
        lb_by_name(&client, "blog-https").await.is_err(),
        "deleted in the API"
    );

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// The presets on api-by-tag (HTTP 80 only, droplets by tag): "Redirect HTTP to HTTPS" alone has
/// no HTTPS 443 rule to redirect to (an error, Review disabled); "SSL passthrough 443 → 443" adds
/// it; sticky sessions then warn that they cannot work with passthrough (a warning: Review still
/// allowed). Review shows each field; Apply lands it.
#[tokio::test(flavor = "multi_thread")]
async fn presets_and_warnings() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let j = start("lb-presets", &sandbox).await?;

    // "Change tag…" from the droplets tab opens the editor on the tag field.
    open_detail(&j, "api-by-tag").await?;
    j.click("[data-tab='droplets']").await?;
    j.click("[data-testid='change-tag']").await?;
    j.wait_for("[data-testid='lb-editor']").await?;
    wait_focus(&j, "edit-tag").await?;

    j.click("[data-testid='preset-redirect']").await?;
    j.wait_for("[data-code='redirect.needs_https_443']").await?;
    j.screenshot("1-redirect-without-443").await?;
    assert!(
        !j.wait_for("[data-testid='review']")
            .await?
            .is_enabled()
            .await?,
        "a redirect with nowhere to go cannot be reviewed"
    );

    j.click("[data-testid='preset-passthrough']").await?;
    wait_gone(&j, "[data-code='redirect.needs_https_443']").await?;
    j.wait_for("[data-testid='edit-sticky']")
        .await?
        .select_by_value("cookies")
        .await?;
    j.wait_for_text(
        "[data-code='sticky.with_passthrough']",
        "Sticky sessions do not work with SSL passthrough",
    )
    .await?;
    j.screenshot("2-sticky-warning").await?;

    j.click("[data-testid='review']").await?;
    for path in [
        "forwarding_rules",
        "health_check",
        "sticky_sessions",
        "redirect_http_to_https",
    ] {
        j.wait_for(&format!("[data-testid='diff'] tr[data-path^='{path}']"))
            .await?;
    }
    j.wait_for("[data-testid='dry-run'][data-outcome='ok']")
        .await?;
    j.screenshot("3-review").await?;
    j.click("[data-testid='apply']").await?;
    j.wait_for_text("[data-testid='applied']", "Applied")
        .await?;
    let lb = lb_by_name(&client, "api-by-tag").await?;
    assert!(lb.redirect_http_to_https, "the redirect landed");
    assert!(
        lb.forwarding_rules
            .iter()
            .any(|r| r.entry_port == 443 && r.tls_passthrough),
        "the passthrough rule landed: {:?}",
        lb.forwarding_rules
    );

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// Presses keys on whatever has focus, as a keyboard would.
async fn press(j: &Journey, keys: &[char]) -> Result<()> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut seq = KeyActions::new("keyboard".to_string());
    for &k in keys {
        seq = seq
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
    }
    j.client.perform_actions(seq).await?;
    Ok(())
}

async fn type_text(j: &Journey, text: &str) -> Result<()> {
    press(j, &text.chars().collect::<Vec<_>>()).await
}

/// What has focus: its data-testid, else its tag and text.
async fn focused(j: &Journey) -> Result<String> {
    let v = j
        .client
        .execute(
            "const e = document.activeElement; return e ? (e.dataset.testid || (e.tagName + ':' + e.textContent.trim())) : '';",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

async fn wait_focus(j: &Journey, want: &str) -> Result<()> {
    let mut last = String::new();
    for _ in 0..100 {
        last = focused(j).await?;
        if last == want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("focus never reached {want:?}; it is on {last:?}").into())
}

async fn wait_gone(j: &Journey, css: &str) -> Result<()> {
    for _ in 0..100 {
        if j.client.find(Locator::Css(css)).await.is_err() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("`{css}` is still there").into())
}

/// Presses Tab until `testid` has focus (at most 12 times): it is reachable without a mouse.
async fn tab_to(j: &Journey, testid: &str) -> Result<()> {
    let mut seen = Vec::new();
    for _ in 0..12 {
        press(j, &[fantoccini::key::Key::Tab.into()]).await?;
        let now = focused(j).await?;
        if now == testid {
            return Ok(());
        }
        seen.push(now);
    }
    Err(format!("Tab never reached {testid:?}; it went through {seen:?}").into())
}

/// Whether the focused element shows a focus ring (`:focus-visible` with an outline).
async fn focus_ring_visible(j: &Journey) -> Result<bool> {
    let v = j
        .client
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e); return e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;",
            vec![],
        )
        .await?;
    Ok(v.as_bool().unwrap_or(false))
}

/// Without the mouse: `/` to the search, type, Enter opens the only match, Tab to Edit, Enter;
/// Esc with a change asks first, a second Esc closes the editor; Tab to Delete, Enter, Esc
/// closes the dialog; Esc closes the detail and focus returns to the row. `r` refreshes.
#[tokio::test(flavor = "multi_thread")]
async fn keyboard_only() -> Result<()> {
    use fantoccini::key::Key;
    let sandbox = cutover_e2e::start_sandbox().await?;
    let client = sandbox_api(&sandbox)?;
    let j = start("lb-keyboard", &sandbox).await?;
    // Start from the page, not from the Accounts form the harness used.
    j.client
        .execute(
            "document.activeElement && document.activeElement.blur();",
            vec![],
        )
        .await?;

    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    type_text(&j, "blog").await?;
    wait_gone(&j, "tr[data-lb='shop-passthrough']").await?;
    press(&j, &[Key::Enter.into()]).await?;
    j.wait_for("[data-testid='lb-detail'][data-lb='blog-https']")
        .await?;
    wait_focus(&j, "detail-heading").await?;

    // From the heading, Tab reaches Edit.
    tab_to(&j, "edit").await?;
    assert!(focus_ring_visible(&j).await?, "Edit shows a focus ring");
    j.screenshot("1-focus-edit").await?;
    press(&j, &[Key::Enter.into()]).await?;
    j.wait_for("[data-testid='lb-editor']").await?;
    wait_focus(&j, "edit-name").await?;
    assert!(
        focus_ring_visible(&j).await?,
        "the name field shows a focus ring"
    );

    // A change, then Esc: asks; Esc again: closes, and focus is back on Edit.
    type_text(&j, "-x").await?;
    press(&j, &[Key::Escape.into()]).await?;
    j.wait_for("[data-testid='discard-hint']").await?;
    j.wait_for("[data-testid='lb-editor']").await?;
    j.screenshot("2-discard-hint").await?;
    press(&j, &[Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='lb-editor']").await?;
    j.wait_for("[data-testid='lb-detail']").await?;
    wait_focus(&j, "edit").await?;

    // Tab on to Delete; Enter opens the dialog (focus in the name input); Esc closes only it.
    tab_to(&j, "delete").await?;
    press(&j, &[Key::Enter.into()]).await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    wait_focus(&j, "confirm-input").await?;
    press(&j, &[Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='confirm-dialog']").await?;
    j.wait_for("[data-testid='lb-detail']").await?;

    // Esc closes the detail; focus returns to the row it was opened from.
    press(&j, &[Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='lb-detail']").await?;
    wait_focus(&j, "BUTTON:blog-https").await?;
    j.screenshot("3-back-on-row").await?;

    // `r` refreshes: a rename made through the API shows well before the 15 s poll would.
    change_behind_the_back(&client, "blog-https", |lb| lb.name = "blog-renamed".into()).await?;
    press(&j, &['r']).await?;
    j.wait_for_within("tr[data-lb='blog-renamed']", Duration::from_secs(8))
        .await?;
    assert!(
        lb_by_name(&client, "blog-https").await.is_err(),
        "renamed in the API"
    );

    // Back to the search, Arrow Down into the list, Space opens the row.
    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    press(&j, &[Key::Down.into()]).await?;
    wait_focus(&j, "BUTTON:blog-renamed").await?;
    press(&j, &[' ']).await?;
    j.wait_for("[data-testid='lb-detail'][data-lb='blog-renamed']")
        .await?;

    // The tabs are one Tab stop; the arrows move between them (wrapping), End jumps to the last.
    tab_to(&j, "BUTTON:Overview").await?;
    press(&j, &[Key::Right.into()]).await?;
    wait_focus(&j, "BUTTON:Forwarding rules").await?;
    j.wait_for("[data-testid='tab-rules']").await?;
    press(&j, &[Key::End.into()]).await?;
    wait_focus(&j, "BUTTON:Raw JSON").await?;
    j.wait_for("[data-testid='tab-raw']").await?;
    press(&j, &[Key::Right.into()]).await?;
    wait_focus(&j, "BUTTON:Overview").await?;
    j.screenshot("4-tabs-by-arrows").await?;

    // Create from the keyboard: focus lands in the name field; Esc closes the form and gives
    // focus back to Create.
    press(&j, &[Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='lb-detail']").await?;
    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    tab_to(&j, "lb-create").await?;
    press(&j, &[Key::Enter.into()]).await?;
    j.wait_for("[data-testid='lb-create-form']").await?;
    wait_focus(&j, "create-name").await?;
    press(&j, &[Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='lb-create-form']").await?;
    wait_focus(&j, "lb-create").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// With GTK's dark theme the webview reports prefers-color-scheme: dark and the app uses its
/// dark palette; screenshots of the list, detail, editor and the delete dialog in dark mode.
#[tokio::test(flavor = "multi_thread")]
async fn dark_theme() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("lb-dark", &[("GTK_THEME", "Adwaita:dark".to_string())]).await?;
    j.wait_for("nav.sidebar").await?;
    let dark = j
        .client
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![],
        )
        .await?;
    assert_eq!(
        dark.as_bool(),
        Some(true),
        "the webview follows GTK's dark theme"
    );
    let bg = j
        .client
        .execute(
            "return getComputedStyle(document.documentElement).backgroundColor;",
            vec![],
        )
        .await?;
    assert_eq!(
        bg.as_str(),
        Some("rgb(15, 20, 25)"),
        "the dark palette is in use"
    );
    j.add_sandbox_account("e2e", &sandbox).await?;
    j.screenshot("1-accounts").await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for_text("tr[data-lb='shop-passthrough']", "SSL passthrough")
        .await?;
    j.screenshot("2-list").await?;
    open_detail(&j, "shop-passthrough").await?;
    j.click("[data-tab='droplets']").await?;
    j.wait_for_text("[data-testid='droplets-table']", "web-3")
        .await?;
    j.screenshot("3-detail").await?;
    j.click("[data-testid='edit']").await?;
    j.click("[data-testid='edit-redirect']").await?;
    j.wait_for("[data-code='redirect.needs_http_80']").await?;
    j.screenshot("4-editor").await?;
    j.click("[data-testid='lb-editor'] .actions button").await?;
    j.click("[data-testid='delete']").await?;
    j.wait_for("[data-testid='confirm-dialog']").await?;
    j.screenshot("5-dialog").await?;
    press(&j, &[fantoccini::key::Key::Escape.into()]).await?;
    wait_gone(&j, "[data-testid='confirm-dialog']").await?;
    for view in ["certificates", "rehearsal", "logs"] {
        j.click(&format!("button[data-nav='{view}']")).await?;
        j.wait_for(&format!("main[data-view='{view}']")).await?;
        j.screenshot(&format!("6-{view}")).await?;
    }
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
