//! End-to-end journeys against the built app. Run by `scripts/test.sh` under Xvfb:
//! `cargo test -p cutover-e2e --features e2e -- --test-threads=1`.

use cutover_e2e::{Journey, Result};

/// The app opens on its frame and every sidebar entry navigates to its view.
#[tokio::test(flavor = "multi_thread")]
async fn shell_navigates_every_view() -> Result<()> {
    let j = Journey::start("shell", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    let title = j.client.title().await?;
    assert_eq!(title, "Cutover");
    for (view, heading) in [
        ("accounts", "Accounts"),
        ("load-balancers", "Load balancers"),
        ("certificates", "Certificates"),
        ("rehearsal", "Rehearsal"),
        ("logs", "Logs"),
    ] {
        j.click(&format!("button[data-nav='{view}']")).await?;
        j.wait_for(&format!("main[data-view='{view}']")).await?;
        j.wait_for_text("main h1", heading).await?;
        j.screenshot(view).await?;
    }
    // The Logs view shows the backend's own startup line, streamed over IPC.
    j.wait_for_text("[data-testid='log-list']", "Cutover started")
        .await?;
    j.finish().await
}

/// Add a Sandbox started by the harness as an account by its token; the token is checked,
/// stored in the keychain, and never reaches the webview, the settings file or the log.
#[tokio::test(flavor = "multi_thread")]
async fn add_account_by_token() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("accounts", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    // With no account configured the app runs on its own Sandbox, and says so.
    j.wait_for_text("[data-status='account']", "SANDBOX")
        .await?;

    j.add_sandbox_account("staging", &sandbox).await?;
    let row = j.text("tr[data-account='staging']").await?;
    let last4 = &sandbox.token()[sandbox.token().len() - 4..];
    assert!(
        row.contains(last4),
        "the row shows the token's last four: {row}"
    );
    // A Sandbox added by its API base is labelled a Sandbox, not a custom API.
    let kind = j
        .text("tr[data-account='staging'] [data-testid='account-kind']")
        .await?;
    assert_eq!(kind, "SANDBOX", "the added Sandbox account's label");
    j.screenshot("added").await?;

    // The token never reaches the webview's DOM…
    let html = j.page_source().await?;
    assert!(
        !html.contains(sandbox.token()),
        "the token leaked into the DOM"
    );
    // …nor the settings file or the log file.
    for entry in walk(j.home.path()) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains(sandbox.token()),
            "the token leaked into {}",
            entry.display()
        );
    }
    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
