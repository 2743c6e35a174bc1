//! Issue 17's journey: what DigitalOcean sees, on a Sandbox. The Graphs tab of blog-https draws
//! its series (canvases painted, legends naming the droplets); web-2 powered off in the Sandbox
//! turns unhealthy in the Droplets health tab (DigitalOcean's verdict) and in the health-check
//! graph, and healthy again once powered on; the rehearsal's graphs move while a test request
//! goes through the local balancer. Screenshots in target/e2e/.
//! Run: `cargo test -p cutover-e2e --features e2e --test metrics -- --test-threads=1` under Xvfb.

use std::time::{Duration, Instant};

use cutover_e2e::{Journey, Result};
use fantoccini::Locator;
use serde_json::Value;

const WEB_2: u64 = cutover_sandbox::WEB_2;

/// Waits until `check` returns true, or fails naming `what`.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An attribute of the element `css`, or "" when there is none (yet).
async fn attr(j: &Journey, css: &str, name: &str) -> Result<String> {
    match j.client.find(Locator::Css(css)).await {
        Ok(el) => Ok(el.attr(name).await?.unwrap_or_default()),
        Err(_) => Ok(String::new()),
    }
}

/// Painted pixels of the first canvas inside `css` (0 when it has none).
async fn painted_pixels(j: &Journey, css: &str) -> Result<u64> {
    let script = r#"
        const canvas = document.querySelector(arguments[0] + " canvas");
        if (!canvas || !canvas.width || !canvas.height) return 0;
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
        return n;
    "#;
    let v = j
        .client
        .execute(script, vec![Value::String(css.to_string())])
        .await?;
    Ok(v.as_u64().unwrap_or(0))
}

async fn scroll_to(j: &Journey, css: &str) -> Result<()> {
    let el = j.wait_for(css).await?;
    j.client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(())
}

/// The health-check graph's latest value per droplet.
async fn latest_checks(j: &Journey) -> Result<Value> {
    let raw = attr(
        j,
        "[data-testid='lb-graph'][data-series='droplets_health_checks']",
        "data-latest",
    )
    .await?;
    Ok(serde_json::from_str(&raw).unwrap_or(Value::Null))
}

async fn health_state(j: &Journey, droplet: &str) -> Result<String> {
    attr(
        j,
        &format!("[data-testid='lb-health-row'][data-droplet='{droplet}']"),
        "data-state",
    )
    .await
}

async fn choose_window(j: &Journey, select: &str, value: &str) -> Result<()> {
    j.wait_for(select).await?.select_by_value(value).await?;
    Ok(())
}

async fn peak(j: &Journey, series: &str) -> Result<f64> {
    let raw = attr(
        j,
        &format!("[data-testid='reh-graph'][data-series='{series}']"),
        "data-peak",
    )
    .await?;
    Ok(raw.parse().unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread")]
async fn graphs_health_and_the_rehearsal_graph_follow_the_sandbox() -> Result<()> {
    let sandbox = cutover_e2e::start_sandbox().await?;
    let j = Journey::start("metrics", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("staging", &sandbox).await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.click("tr[data-lb='blog-https'] button.link").await?;
    j.wait_for("[data-testid='lb-detail'][data-lb='blog-https']")
        .await?;

    // Errors the page reports (a chart that never loads says nothing else), for a failure's
    // message.
    const CAPTURE_ERRORS: &str = "window.__errs = [];
        const orig = console.error;
        console.error = (...a) => { window.__errs.push(a.map((x) => String((x && x.stack) || x)).join(' ')); orig(...a); };
        window.addEventListener('error', (e) => window.__errs.push('error: ' + e.message));
        window.addEventListener('unhandledrejection', (e) => window.__errs.push('rejection: ' + String((e.reason && e.reason.stack) || e.reason)));";
    j.client.execute(CAPTURE_ERRORS, vec![]).await?;
    // Graphs: every series of an HTTP load balancer, drawn, one request per series.
    j.click("[data-tab='graphs']").await?;
    choose_window(&j, "[data-testid='lb-graphs-window']", "1h").await?;
    let graphs = "[data-testid='lb-graphs']";
    let drawn = eventually("the graphs drawn", || async {
        Ok(!attr(&j, graphs, "data-drawn-ms").await?.is_empty())
    })
    .await;
    if let Err(err) = drawn {
        // What there was instead, for the failure message.
        let seen = j
            .client
            .execute(
                "const g = document.querySelector(\"[data-testid='lb-graphs']\");
                 return g ? [g.getAttribute('aria-busy'), g.getAttribute('data-fetch-ms'),
                   g.querySelectorAll('figure').length, g.querySelectorAll('canvas').length,
                   g.textContent.slice(0, 300)] : 'no graphs';",
                vec![],
            )
            .await?;
        let errors = j.client.execute("return window.__errs;", vec![]).await?;
        j.screenshot("0-not-drawn").await?;
        return Err(format!("{err}: {seen}; page errors: {errors}").into());
    }
    let figures = j
        .client
        .find_all(Locator::Css("[data-testid='lb-graph']"))
        .await?;
    assert_eq!(figures.len(), 14, "the HTTP load balancer's default set");
    // The load balancer, the droplets and one per series.
    assert_eq!(attr(&j, graphs, "data-requests").await?, "16");
    for series in [
        "frontend_http_requests_per_second",
        "frontend_http_responses",
        "droplets_health_checks",
        "droplets_http_response_time_95p",
    ] {
        let css = format!("[data-testid='lb-graph'][data-series='{series}']");
        assert_eq!(attr(&j, &css, "data-empty").await?, "false", "{series}");
        // Charts below the fold are drawn when scrolled to.
        scroll_to(&j, &css).await?;
        eventually(&format!("{series} painted"), || async {
            Ok(painted_pixels(&j, &css).await? > 100)
        })
        .await?;
    }
    let legend = j
        .text("[data-testid='lb-graph'][data-series='droplets_health_checks'] .u-legend")
        .await?;
    assert!(
        legend.contains("web-1") && legend.contains("web-2"),
        "{legend}"
    );
    let responses = j
        .text("[data-testid='lb-graph'][data-series='frontend_http_responses'] .u-legend")
        .await?;
    assert!(
        responses.contains("2xx") && responses.contains("5xx"),
        "{responses}"
    );
    assert_eq!(latest_checks(&j).await?["web-2"], 1.0);
    j.screenshot("1-graphs").await?;

    // The Droplets health tab: DigitalOcean finds both healthy.
    j.click("[data-tab='droplet-health']").await?;
    eventually("web-2 healthy", || async {
        Ok(health_state(&j, "web-2").await? == "healthy")
    })
    .await?;
    assert_eq!(health_state(&j, "web-1").await?, "healthy");

    // web-2 powered off behind the app's back: unhealthy at the next refresh, web-1 not.
    assert!(sandbox.set_droplet_power(WEB_2, false).await?);
    j.click("[data-testid='lb-health-refresh']").await?;
    eventually("web-2 unhealthy", || async {
        Ok(health_state(&j, "web-2").await? == "unhealthy")
    })
    .await?;
    assert_eq!(health_state(&j, "web-1").await?, "healthy");
    let summary = j.text("[data-testid='lb-health-summary']").await?;
    assert!(summary.contains("1 of 2"), "{summary}");
    j.screenshot("2-web-2-unhealthy").await?;

    // …and in the health-check graph: its latest point is a failed check.
    j.click("[data-tab='graphs']").await?;
    eventually("the health graph showing web-2 failing", || async {
        let latest = latest_checks(&j).await?;
        Ok(latest["web-2"].as_f64().is_some_and(|v| v < 1.0) && latest["web-1"] == 1.0)
    })
    .await?;
    let health = "[data-testid='lb-graph'][data-series='droplets_health_checks']";
    scroll_to(&j, health).await?;
    eventually("the health graph drawn", || async {
        Ok(painted_pixels(&j, health).await? > 100)
    })
    .await?;
    j.screenshot("3-health-graph").await?;

    // Powered on again: healthy at the next refresh.
    assert!(sandbox.set_droplet_power(WEB_2, true).await?);
    j.click("[data-tab='droplet-health']").await?;
    eventually("web-2 healthy again", || async {
        Ok(health_state(&j, "web-2").await? == "healthy")
    })
    .await?;

    // The rehearsal's graphs move while a test request runs.
    j.click("button[data-nav='rehearsal']").await?;
    j.wait_for_text("select[data-testid='reh-lb']", "shop-passthrough")
        .await?;
    j.fill("[data-testid='reh-domain']", "sandbox-shop.test")
        .await?;
    j.click("[data-testid='reh-build']").await?;
    j.wait_for_text("[data-testid='reh-config-summary']", "web-3")
        .await?;
    j.fill("[data-testid='reh-listen-port']", "0").await?;
    j.click("[data-testid='reh-start']").await?;
    j.wait_for("[data-testid='reh-listen-addr']").await?;
    eventually("two points of stats", || async {
        let points: u64 = attr(&j, "[data-testid='reh-graphs']", "data-points")
            .await?
            .parse()
            .unwrap_or(0);
        Ok(points >= 2)
    })
    .await?;
    let connections_before = peak(&j, "rehearsal_connections").await?;
    let bytes_before = peak(&j, "rehearsal_throughput").await?;
    assert_eq!(connections_before, 0.0, "no client has connected yet");
    j.click("[data-testid='reh-test']").await?;
    j.wait_for_text("[data-testid='reh-test-result']", "200")
        .await?;
    eventually("the connections and throughput graphs moving", || async {
        Ok(peak(&j, "rehearsal_connections").await? >= 1.0
            && peak(&j, "rehearsal_throughput").await? > bytes_before)
    })
    .await?;
    scroll_to(&j, "[data-testid='reh-graphs']").await?;
    let css = "[data-testid='reh-graph'][data-series='rehearsal_throughput']";
    eventually("the throughput graph drawn", || async {
        Ok(painted_pixels(&j, css).await? > 100)
    })
    .await?;
    j.screenshot("4-rehearsal-graphs").await?;
    j.click("[data-testid='reh-stop']").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
