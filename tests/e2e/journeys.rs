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
