//! Issue 21's journey: from a certificate mismatch to the fix. On the Sandbox the check finds
//! web-3; the fix panel recommends the certificate web-1 and web-2 serve and shows web-3's steps;
//! the Sandbox's fix-certificate endpoint stands in for the copy; Recheck probes only web-3 and
//! the finding clears, the other droplets staying in the report.
//! Run: `cargo test -p cutover-e2e --features e2e --test cert_fix -- --test-threads=1` under Xvfb.

use cutover_e2e::{Journey, Result};
use fantoccini::Locator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Clicks an element after scrolling it to the middle of the window: at the bottom edge the
/// status bar covers it and WebKit refuses the click.
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

/// Scrolls the fix panel to the top of the window for a screenshot.
async fn show_fix_panel(j: &Journey) -> Result<()> {
    let el = j.wait_for("[data-testid='cert-fix']").await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(())
}

/// `POST path` to the Sandbox's API in plain HTTP/1.1 on 127.0.0.1; the status line.
async fn sandbox_post(sandbox: &cutover_sandbox::SandboxHandle, path: &str) -> Result<String> {
    let base = sandbox.api_base();
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        sandbox.token()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    Ok(reply.lines().next().unwrap_or_default().to_string())
}

/// The labels of the per-backend blocks on screen, and those marked as rechecked.
async fn backend_blocks(j: &Journey) -> Result<(Vec<String>, Vec<String>)> {
    let mut all = Vec::new();
    let mut rechecked = Vec::new();
    for el in j
        .client
        .find_all(Locator::Css("[data-testid='cert-backend']"))
        .await?
    {
        let label = el.attr("data-backend").await?.unwrap_or_default();
        if el.attr("data-rechecked").await?.as_deref() == Some("yes") {
            rechecked.push(label.clone());
        }
        all.push(label);
    }
    all.sort();
    Ok((all, rechecked))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fix_panel_names_web_3_and_recheck_clears_it_after_the_copy() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let api = cutover_e2e::sandbox_api(&sandbox)?;
    let web_3 = api
        .list_droplets()
        .await?
        .into_iter()
        .find(|d| d.name == "web-3")
        .ok_or("no web-3 droplet on the Sandbox")?;

    let j = Journey::start("cert-fix", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;
    j.click("button[data-nav='certificates']").await?;
    j.wait_for_text("select[data-testid='cert-lb']", "shop-passthrough")
        .await?;
    // The passthrough load balancer is the one chosen first.
    let chosen = j
        .wait_for("select[data-testid='cert-lb']")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    let shop = cutover_e2e::lb_by_name(&api, "shop-passthrough").await?;
    assert_eq!(chosen, shop.id);
    j.fill("[data-testid='cert-domain']", "sandbox-shop.test")
        .await?;
    j.click("[data-testid='cert-run']").await?;

    // The check finds web-3.
    let verdict = j
        .wait_for_text("[data-testid='cert-verdict']", "web-3")
        .await?
        .text()
        .await?;
    assert!(verdict.contains("Problem"), "{verdict}");
    assert_eq!(
        j.text("[data-testid='cert-differing']").await?.trim(),
        "Differs: web-3"
    );

    // The fix panel keeps the certificate web-1 and web-2 serve and changes only web-3.
    let choice = j
        .wait_for_text("[data-testid='cert-fix-choice']", "Keep certificate A")
        .await?
        .text()
        .await?;
    assert!(choice.contains("change web-3"), "{choice}");
    let reason = j.text("[data-testid='cert-fix-reason']").await?;
    assert!(
        reason
            .starts_with("Keep certificate A (on web-1, web-2): it is valid for sandbox-shop.test"),
        "{reason}"
    );
    // The certificate kept is the one web-1 serves: its fingerprint opens the comparison's
    // first row in web-1's column.
    let short = choice
        .split_whitespace()
        .find(|w| w.ends_with('…'))
        .map(|w| w.trim_end_matches('…').to_string())
        .ok_or("no fingerprint in the choice")?;
    let headers = j
        .client
        .find_all(Locator::Css(
            "[data-testid='cert-compare'] thead th[data-backend]",
        ))
        .await?;
    let mut web_1_column = None;
    for (i, th) in headers.iter().enumerate() {
        if th.attr("data-backend").await?.as_deref() == Some("web-1") {
            web_1_column = Some(i);
        }
    }
    let column = web_1_column.ok_or("no web-1 column")?;
    let fingerprints = j
        .client
        .find_all(Locator::Css(
            "[data-testid='cert-compare'] tbody tr:first-child td",
        ))
        .await?;
    let web_1_fingerprint = fingerprints
        .get(column)
        .ok_or("no fingerprint cell for web-1")?
        .text()
        .await?;
    assert!(
        web_1_fingerprint.starts_with(&short),
        "{web_1_fingerprint} vs {short}"
    );
    // The steps are for web-3 alone, copying from a droplet that serves A over SSH.
    let droplets = j
        .client
        .find_all(Locator::Css("[data-testid='cert-fix-droplet']"))
        .await?;
    assert_eq!(droplets.len(), 1);
    assert_eq!(
        droplets[0].attr("data-droplet").await?.as_deref(),
        Some("web-3")
    );
    let fix = droplets[0].text().await?;
    assert!(fix.contains("← copy from web-"), "{fix}");
    let steps = droplets[0]
        .find_all(Locator::Css("[data-testid='cert-fix-step']"))
        .await?;
    assert!(steps.len() >= 2, "{fix}");
    let host = droplets[0]
        .find(Locator::Css("h3 > .mono"))
        .await?
        .text()
        .await?;
    let commands = droplets[0].find_all(Locator::Css(".cmd code")).await?;
    let mut texts = Vec::new();
    for c in commands {
        texts.push(c.text().await?);
    }
    assert!(
        texts
            .iter()
            .any(|c| c.contains("rsync -a") && c.contains(&format!("SSH_USER@{host}:"))),
        "{texts:#?}"
    );
    assert!(texts.iter().any(|c| c.contains("chmod 600")), "{texts:#?}");
    assert!(j
        .text("[data-testid='cert-fix-recheck-what']")
        .await?
        .contains("Checks only web-3 again"),);
    show_fix_panel(&j).await?;
    j.screenshot("1-fix-panel").await?;

    // Rechecked before the copy: web-3 still differs, and the report still has all three.
    click_centered(&j, "[data-testid='cert-fix-recheck']").await?;
    let outcome = j
        .wait_for("[data-testid='cert-fix-outcome'][data-cleared='no']")
        .await?
        .text()
        .await?;
    assert!(outcome.contains("still to change: web-3"), "{outcome}");
    let (all, rechecked) = backend_blocks(&j).await?;
    assert_eq!(all, ["web-1", "web-2", "web-3"]);
    assert_eq!(rechecked, ["web-3"]);
    show_fix_panel(&j).await?;
    j.screenshot("2-recheck-not-yet").await?;

    // The Sandbox stands in for copying the certificate and key to web-3.
    let status = sandbox_post(
        &sandbox,
        &format!("/_sandbox/droplets/{}/fix_certificate", web_3.id),
    )
    .await?;
    assert!(status.starts_with("HTTP/1.1 204"), "{status}");

    // Recheck: only web-3 is probed again, and the mismatch is gone.
    click_centered(&j, "[data-testid='cert-fix-recheck']").await?;
    let outcome = j
        .wait_for("[data-testid='cert-fix-outcome'][data-cleared='yes']")
        .await?
        .text()
        .await?;
    assert!(
        outcome.contains(
            "web-3 now serves the certificate to keep (A): all 3 backends serve the same certificate."
        ),
        "{outcome}"
    );
    assert_eq!(
        j.text("[data-testid='cert-differing']").await?.trim(),
        "All backends agree."
    );
    let verdict = j.text("[data-testid='cert-verdict']").await?;
    assert!(verdict.starts_with("OK"), "{verdict}");
    assert!(j
        .client
        .find_all(Locator::Css("[data-testid='cert-fix-droplet']"))
        .await?
        .is_empty());
    let (all, rechecked) = backend_blocks(&j).await?;
    assert_eq!(all, ["web-1", "web-2", "web-3"]);
    assert_eq!(rechecked, ["web-3"]);
    show_fix_panel(&j).await?;
    j.screenshot("3-cleared").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
