//! Journeys of the Certificates and Rehearsal views on a Sandbox the test runs and adds by token.
//! Run: `cargo test -p cutover-e2e --features e2e --test checks -- --test-threads=1` under Xvfb.

use cutover_digitalocean::ForwardingRule;
use cutover_e2e::{Journey, Result};

/// Scrolls an element to the middle of the window: at the bottom edge the status bar covers it
/// and WebKit refuses to interact with it.
async fn centered(j: &Journey, css: &str) -> Result<fantoccini::elements::Element> {
    let el = j.wait_for(css).await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(el)
}

async fn click_centered(j: &Journey, css: &str) -> Result<()> {
    centered(j, css).await?.click().await?;
    Ok(())
}

/// The certificate check of the passthrough load balancer streams in and highlights exactly the
/// droplet that serves another certificate.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_check_highlights_the_odd_droplet() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    // The export's test seam: the app skips the native save dialog and writes here.
    let saves = tempfile::tempdir()?;
    // A load balancer that terminates TLS and re-encrypts to web-1..3, made behind the app's
    // back before it starts: its certificate is shop-wildcard, which web-3 does not serve.
    let api = cutover_e2e::sandbox_api(&sandbox)?;
    let shop = cutover_e2e::lb_by_name(&api, "shop-passthrough").await?;
    let cert = api
        .list_certificates()
        .await?
        .into_iter()
        .find(|c| c.name == "shop-wildcard")
        .ok_or("no shop-wildcard certificate")?;
    let mut req = shop.to_request();
    req.name = "shop-reencrypt".into();
    let mut rule = ForwardingRule::new("https", 443, "https", 443);
    rule.certificate_id = Some(cert.id.clone());
    req.forwarding_rules = vec![rule];
    api.create_load_balancer(&req).await?;
    let droplets = api.list_droplets().await?;
    let api_1 = droplets
        .iter()
        .find(|d| d.name == "api-1")
        .and_then(|d| sandbox.backend_addr(d.id, 443))
        .ok_or("no api-1 on 443")?;

    let j = Journey::start(
        "certs",
        &[("CUTOVER_E2E_SAVE_DIR", saves.path().display().to_string())],
    )
    .await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    j.click("button[data-nav='certificates']").await?;
    // The account's DigitalOcean certificates are listed, Let's Encrypt and custom.
    j.wait_for_text("[data-testid='do-certs']", "Let's Encrypt")
        .await?;
    j.wait_for_text("select[data-testid='cert-lb']", "shop-passthrough")
        .await?;
    j.fill("[data-testid='cert-domain']", "sandbox-shop.test")
        .await?;
    // blog-https terminates TLS and forwards plain HTTP: said so, nothing compared.
    j.wait_for_text(
        "[data-testid='cert-termination'][data-lb='blog-https']",
        "nothing to compare",
    )
    .await?;
    // Options: an out-of-range timeout is refused inline and blocks the check.
    j.click("[data-testid='cert-options'] summary").await?;
    j.fill("[data-testid='cert-timeout']", "500").await?;
    j.wait_for_text("[data-testid='cert-timeout-error']", "between 0.5 and 300")
        .await?;
    assert!(
        !j.wait_for("[data-testid='cert-run']")
            .await?
            .is_enabled()
            .await?
    );
    j.screenshot("0-options-invalid").await?;
    j.fill("[data-testid='cert-timeout']", "3").await?;
    j.wait_for_text("[data-testid='cert-options'] summary", "1 changed")
        .await?;
    assert!(
        j.wait_for("[data-testid='cert-run']")
            .await?
            .is_enabled()
            .await?
    );
    j.screenshot("1-ready").await?;
    j.click("[data-testid='cert-run']").await?;

    let verdict = j
        .wait_for_text("[data-testid='cert-verdict']", "web-3")
        .await?;
    let verdict = verdict.text().await?;
    assert!(verdict.contains("Problem"), "{verdict}");
    // Exactly web-3 is highlighted, in the summary line and in the table header.
    let differing = j.text("[data-testid='cert-differing']").await?;
    assert_eq!(differing.trim(), "Differs: web-3");
    let highlighted = j
        .client
        .find_all(fantoccini::Locator::Css(
            "[data-testid='cert-compare'] thead th.differs",
        ))
        .await?;
    assert_eq!(highlighted.len(), 1);
    // Header cells are upper-cased by CSS; WebDriver returns the rendered text.
    assert!(highlighted[0]
        .text()
        .await?
        .to_lowercase()
        .contains("web-3"));
    // Its fingerprint cell is marked, the others' are not.
    let diff_cells = j
        .client
        .find_all(fantoccini::Locator::Css(
            "[data-testid='cert-compare'] tbody tr:first-child td[data-diff='yes']",
        ))
        .await?;
    assert_eq!(diff_cells.len(), 1);
    for name in ["web-1", "web-2", "web-3"] {
        j.wait_for(&format!(
            "[data-testid='cert-backend'][data-backend='{name}']"
        ))
        .await?;
    }
    j.screenshot("2-verdict").await?;

    // Export both formats (no dialog under the seam): the files exist and parse.
    j.click("[data-testid='cert-export-md']").await?;
    let saved = j
        .wait_for_text("[data-testid='cert-exported']", ".md")
        .await?
        .text()
        .await?;
    let md_path = std::path::PathBuf::from(saved.trim_start_matches("Saved to ").trim());
    assert!(md_path.starts_with(saves.path()), "{}", md_path.display());
    let md = std::fs::read_to_string(&md_path)?;
    assert!(
        md.starts_with("# Certificate check: sandbox-shop.test"),
        "{md}"
    );
    assert!(md.contains("web-3"), "{md}");
    j.click("[data-testid='cert-export-json']").await?;
    let saved = j
        .wait_for_text("[data-testid='cert-exported']", ".json")
        .await?
        .text()
        .await?;
    let json_path = std::path::PathBuf::from(saved.trim_start_matches("Saved to ").trim());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path)?)?;
    assert_eq!(json["domain"], "sandbox-shop.test");
    assert_eq!(json["backends"].as_array().map(Vec::len), Some(3));
    let mut files: Vec<_> = std::fs::read_dir(saves.path())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    j.screenshot("3-exported").await?;

    // The re-encrypting load balancer: its certificate compared with each droplet's; web-3 differs.
    let reencrypt = "[data-testid='cert-termination'][data-lb='shop-reencrypt']";
    j.wait_for_text(reencrypt, "web-3 serves another one")
        .await?;
    let differing = j
        .client
        .find_all(fantoccini::Locator::Css(&format!(
            "{reencrypt} tr.diff-row"
        )))
        .await?;
    assert_eq!(differing.len(), 1);
    assert_eq!(
        differing[0].attr("data-backend").await?.as_deref(),
        Some("web-3")
    );
    let el = j.wait_for(reencrypt).await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    j.screenshot("4-termination").await?;
    // The comparison is kept while the view comes and goes; Recheck probes the droplets again.
    j.wait_for_text("[data-testid='cert-termination-checked']", "Checked at")
        .await?;
    j.click("[data-testid='cert-termination-recheck']").await?;
    j.wait_for_text("[data-testid='cert-termination-checked']", "Checked at")
        .await?;
    j.wait_for_text(reencrypt, "web-3 serves another one")
        .await?;

    // api-1 insists on PROXY protocol: by hand without the header it fails, with v1 it passes.
    click_centered(&j, "[data-testid='cert-source-backends']").await?;
    j.fill("[data-testid='cert-backends']", &api_1.to_string())
        .await?;
    click_centered(&j, "[data-testid='cert-run']").await?;
    // The failing probe shows up as a backend finding (handshake failed / closed).
    j.wait_for_text(
        &format!("[data-testid='cert-backend'][data-backend='{api_1}']"),
        "backend.",
    )
    .await?;
    centered(&j, "[data-testid='cert-proxy']")
        .await?
        .select_by_value("v1")
        .await?;
    click_centered(&j, "[data-testid='cert-run']").await?;
    j.wait_for_text("[data-testid='cert-verdict']", "OK")
        .await?;
    j.screenshot("5-proxy").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// Rehearse the passthrough load balancer: start the local balancer on a free port, send the
/// built-in test request through it, watch the stats and the log update, stop it.
#[tokio::test(flavor = "multi_thread")]
async fn rehearsal_serves_the_domain_through_the_local_balancer() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("rehearsal", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;

    j.click("button[data-nav='rehearsal']").await?;
    j.wait_for_text("select[data-testid='reh-lb']", "shop-passthrough")
        .await?;
    j.fill("[data-testid='reh-domain']", "sandbox-shop.test")
        .await?;
    j.click("[data-testid='reh-build']").await?;
    j.wait_for_text("[data-testid='reh-config-summary']", "web-3")
        .await?;
    // The config is a form: one row per droplet.
    let rows = j
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='reh-backend-row']"))
        .await?;
    assert_eq!(rows.len(), 3);
    // Inline validation: a port out of range is named and blocks the start.
    j.fill("[data-testid='reh-listen-port']", "99999").await?;
    j.wait_for_text("[data-testid='reh-listen-error']", "0 to 65535")
        .await?;
    assert!(
        !j.wait_for("[data-testid='reh-start']")
            .await?
            .is_enabled()
            .await?
    );
    // Port 0: the system picks a free port, so the test never collides with anything.
    j.fill("[data-testid='reh-listen-port']", "0").await?;
    // A new backend row without an address blocks the start until it is removed again.
    click_centered(&j, "[data-testid='reh-add-backend']").await?;
    j.wait_for("tr[data-backend='backend-4']").await?;
    j.wait_for_text("[data-testid='reh-form']", "Use an IP address")
        .await?;
    assert!(
        !j.wait_for("[data-testid='reh-start']")
            .await?
            .is_enabled()
            .await?
    );
    j.screenshot("0-form-invalid").await?;
    click_centered(&j, "tr[data-backend='backend-4'] button").await?;
    assert!(
        j.wait_for("[data-testid='reh-start']")
            .await?
            .is_enabled()
            .await?
    );

    // Edit as JSON: the form's config as JSON; broken JSON keeps the editor open and says why;
    // an edit that parses comes back into the form.
    j.click("[data-testid='reh-json-toggle']").await?;
    let json_text = j.value("textarea[data-testid='reh-config']").await?;
    let mut config: serde_json::Value = serde_json::from_str(&json_text)?;
    assert_eq!(config["domains"], serde_json::json!(["sandbox-shop.test"]));
    assert_eq!(config["backends"].as_array().map(Vec::len), Some(3));
    assert_eq!(config["algorithm"], "round_robin");
    j.fill("[data-testid='reh-config']", "{\"domains\": [")
        .await?;
    j.click("[data-testid='reh-json-toggle']").await?;
    j.wait_for_text("[data-testid='reh-error']", "does not parse")
        .await?;
    j.wait_for("textarea[data-testid='reh-config']").await?;
    config["algorithm"] = "least_connections".into();
    j.fill("[data-testid='reh-config']", &config.to_string())
        .await?;
    j.click("[data-testid='reh-json-toggle']").await?;
    let algorithm = j.value("select[data-testid='reh-algorithm']").await?;
    assert_eq!(algorithm, "least_connections");
    let rows = j
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='reh-backend-row']"))
        .await?;
    assert_eq!(rows.len(), 3);
    j.screenshot("1-config").await?;

    j.click("[data-testid='reh-start']").await?;
    let addr = j.text("[data-testid='reh-listen-addr']").await?;
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_ne!(addr, "127.0.0.1:0");
    j.wait_for_text("[data-status='balancer']", &addr).await?;
    let curl = j.text("[data-testid='reh-curl']").await?;
    let port = addr.rsplit(':').next().unwrap_or_default();
    assert_eq!(
        curl,
        format!(
            "curl --connect-to sandbox-shop.test:443:127.0.0.1:{port} https://sandbox-shop.test/"
        )
    );
    j.screenshot("2-running").await?;

    j.click("[data-testid='reh-test']").await?;
    let result = j
        .wait_for_text("[data-testid='reh-test-result']", "200")
        .await?
        .text()
        .await?;
    assert!(
        result.contains(&addr),
        "went through the balancer: {result}"
    );
    assert!(result.contains("Certificate:"), "{result}");
    // The connection shows up in the log and in the totals.
    j.wait_for_text("[data-testid='reh-log']", "sandbox-shop.test")
        .await?;
    j.wait_for_text("[data-testid='reh-log']", "relayed")
        .await?;
    j.wait_for_text("[data-testid='reh-totals']", "1 relayed")
        .await?;
    j.screenshot("3-tested").await?;

    // Filtering the log by another name hides the line.
    j.fill("[data-testid='reh-log-filter']", "no-such-host")
        .await?;
    j.wait_for_text("[data-testid='reh-log']", "No connections yet")
        .await?;
    // …and a matching one shows it again.
    j.fill("[data-testid='reh-log-filter']", "web-").await?;
    j.wait_for_text("[data-testid='reh-log']", "relayed")
        .await?;

    j.click("[data-testid='reh-stop']").await?;
    j.wait_for_text("[data-status='balancer']", "stopped")
        .await?;
    // Stopped means the port is closed.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    j.screenshot("4-stopped").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
