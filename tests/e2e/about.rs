//! The About view in the built app (issue 18): the version, the commit and build time captured
//! by build.rs, and the generated licence lists — the Rust crates from `cargo metadata` and the
//! UI's npm packages from the UI build's licences.json — in a windowed list. (Check for updates
//! is not clicked: its endpoint is on the internet; the updater has its own offline test,
//! src-tauri/tests/updater.rs.)

use cutover_e2e::{Journey, Result};

#[tokio::test(flavor = "multi_thread")]
async fn about_shows_the_build_and_the_shipped_licences() -> Result<()> {
    let j = Journey::start("about", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.click("button[data-nav='about']").await?;
    j.wait_for("main[data-view='about']").await?;
    let version = j.text("[data-testid='about-version']").await?;
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let build = j.text("[data-testid='about-build']").await?;
    assert!(
        !build.contains("unknown"),
        "the build names its commit and time: {build:?}"
    );

    // The generated lists reached the view (the npm packages come last; the filter below finds
    // one), and nothing was reported missing.
    j.wait_for("[data-testid='licence-list'] tr[data-origin='crate']")
        .await?;
    let problems = j
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='about-problem']"))
        .await?;
    for p in &problems {
        eprintln!("about: problem shown: {}", p.text().await?);
    }
    assert!(problems.is_empty(), "the About view reports a missing list");
    let count = j.text("[data-testid='licence-count']").await?;
    let total: usize = count
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("licence count {count:?}"))?;
    assert!(total > 100, "only {total} dependencies listed");
    // Windowed: the page holds a screenful of rows, not hundreds.
    let rendered = j
        .client
        .find_all(fantoccini::Locator::Css(
            "[data-testid='licence-list'] tr[data-name]",
        ))
        .await?
        .len();
    assert!(
        rendered > 0 && rendered < total / 2,
        "{rendered} rows rendered of {total}"
    );

    j.fill("[data-testid='licence-filter']", "tauri").await?;
    j.wait_for("[data-testid='licence-list'] tr[data-origin='crate'][data-name='tauri']")
        .await?;
    j.wait_for("[data-testid='licence-list'] tr[data-origin='npm'][data-name='@tauri-apps/api']")
        .await?;
    j.screenshot("licences").await?;
    j.finish().await
}
