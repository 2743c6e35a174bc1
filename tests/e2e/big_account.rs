//! A big account (issue 20): a Sandbox of 1,000 load balancers the test starts and adds by
//! token. The list holds only the rows on screen, yet every row is reachable: with the keyboard
//! (`/`, Arrow Down, End to the last one, Enter, Esc; a search narrowed to one, Enter, Esc to
//! clear) and with the mouse (the wheel down to the last one, a click, Close; a search, a click
//! on the only row, the search field's clear button). Screenshots in target/e2e/.
//! Run under Xvfb: `cargo test -p cutover-e2e --features e2e --test big_account -- --test-threads=1`.

use std::time::{Duration, Instant};

use cutover_e2e::{sandbox_api, Journey, Result};
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MouseActions, PointerAction, WheelAction, WheelActions,
    MOUSE_BUTTON_LEFT,
};
use fantoccini::Locator;

const ENTER: char = '\u{E007}';
const ESCAPE: char = '\u{E00C}';
const END: char = '\u{E010}';
const ARROW_DOWN: char = '\u{E015}';

/// Presses and releases each key in turn, on whatever has the focus (as a person would).
async fn press(j: &Journey, keys: &[char]) -> Result<()> {
    let mut seq = KeyActions::new("keyboard".into());
    for &value in keys {
        seq = seq
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
    }
    j.client.perform_actions(seq).await?;
    Ok(())
}

/// What has the focus: its test id, else its text.
async fn focused(j: &Journey) -> Result<String> {
    let v = j
        .client
        .execute(
            "const el = document.activeElement;
             return el ? (el.getAttribute('data-testid') || el.textContent.trim()) : '';",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Waits until the focus is on `what` (a test id or a text).
async fn wait_focus(j: &Journey, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = focused(j).await?;
        if now == what {
            return Ok(());
        }
        if Instant::now() > deadline {
            j.screenshot("failed-focus").await?;
            let log = j
                .client
                .execute(
                    "return (window.__focusLog || []).slice(-12).join('\\n');",
                    vec![],
                )
                .await?;
            let now: String = now.chars().take(80).collect();
            return Err(format!(
                "the focus is on {now:?}, not on {what:?}; the focus moved: \n{}",
                log.as_str().unwrap_or_default()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn rows_in_page(j: &Journey) -> Result<usize> {
    Ok(j.client
        .find_all(Locator::Css("[data-testid='lb-table'] tbody tr[data-lb]"))
        .await?
        .len())
}

async fn detail_closed(j: &Journey) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while j
        .client
        .find(Locator::Css("[data-testid='lb-detail']"))
        .await
        .is_ok()
    {
        if Instant::now() > deadline {
            return Err("the detail did not close".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_load_balancers_by_keyboard_and_mouse() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions {
        scale: cutover_sandbox::SandboxScale::new(1000, 0, 0)?,
        activation_delay: Duration::from_millis(500),
        busy_window: Duration::from_millis(300),
        ..cutover_sandbox::SandboxOptions::default()
    })
    .await?;
    // The names in the list's order (by name, case-insensitive), from what the API holds.
    let mut names: Vec<String> = sandbox_api(&sandbox)?
        .list_load_balancers()
        .await?
        .into_iter()
        .map(|lb| lb.name)
        .collect();
    names.sort_by_key(|n| (n.to_lowercase(), n.clone()));
    assert!(names.len() >= 1000, "{} load balancers", names.len());
    let total = names.len().to_string();
    let first = names[0].clone();
    let last = names[names.len() - 1].clone();
    // One in the middle whose name no other name contains: the search narrows to it alone.
    let middle = names[names.len() / 2..]
        .iter()
        .find(|n| names.iter().filter(|m| m.contains(n.as_str())).count() == 1)
        .ok_or("no load balancer with a name of its own")?
        .clone();

    let j = Journey::start("big-account", &[]).await?;
    j.wait_for("nav.sidebar").await?;
    j.add_sandbox_account("big", &sandbox).await?;
    j.click("button[data-nav='load-balancers']").await?;
    j.wait_for_text("[data-testid='lb-count']", &total).await?;
    j.wait_for(&format!("tr[data-lb='{first}']")).await?;
    let rendered = rows_in_page(&j).await?;
    assert!(
        (5..100).contains(&rendered),
        "{rendered} of {total} rows in the page: the list is not windowed"
    );
    j.screenshot("list").await?;
    // Where the focus went, for a failure's message.
    j.client
        .execute(
            "window.__focusLog = [];
             const name = (el) => el ? (el.getAttribute && (el.getAttribute('data-testid') || el.textContent.trim().slice(0, 30))) || el.nodeName : 'null';
             document.addEventListener('focusin', (e) => __focusLog.push(`${performance.now().toFixed(0)} in ${name(e.target)}`), true);
             new MutationObserver((records) => { for (const r of records) for (const n of r.removedNodes) if (n.contains && document.activeElement === document.body && n.querySelector && n.querySelector('button.link') && n.getAttribute('data-lb')) __focusLog.push(`${performance.now().toFixed(0)} removed row ${n.getAttribute('data-lb')} (focus now on body)`); }).observe(document.body, { childList: true, subtree: true });
             document.addEventListener('focusout', (e) => __focusLog.push(`${performance.now().toFixed(0)} out ${name(e.target)} → ${name(e.relatedTarget)} (connected ${e.target.isConnected})`), true);
             return true;",
            vec![],
        )
        .await?;

    // The keyboard: / to the search, Arrow Down to the first row, End to the last (brought into
    // view and so into the page), Enter opens it, Esc closes it and the focus is back on it.
    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    press(&j, &[ARROW_DOWN]).await?;
    wait_focus(&j, &first).await?;
    press(&j, &[END]).await?;
    wait_focus(&j, &last).await?;
    press(&j, &[ENTER]).await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{last}']"))
        .await?;
    j.screenshot("keyboard-last-open").await?;
    press(&j, &[ESCAPE]).await?;
    detail_closed(&j).await?;
    wait_focus(&j, &last).await?;

    // Narrowed to one by typing, opened with Enter, closed with Esc; Esc in the search clears it.
    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    press(&j, &middle.chars().collect::<Vec<_>>()).await?;
    j.wait_for_text("[data-testid='lb-count']", &format!("1 of {total}"))
        .await?;
    press(&j, &[ENTER]).await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{middle}']"))
        .await?;
    press(&j, &[ESCAPE]).await?;
    detail_closed(&j).await?;
    wait_focus(&j, &middle).await?;
    press(&j, &['/']).await?;
    wait_focus(&j, "lb-search").await?;
    press(&j, &[ESCAPE]).await?;
    j.wait_for_text("[data-testid='lb-count']", &total).await?;
    assert_eq!(j.value("[data-testid='lb-search']").await?, "");
    j.screenshot("keyboard-cleared").await?;

    // The mouse: the wheel over the list up to its top, the scroll bar's thumb dragged down to
    // the end (1,000 rows are ~31,000 px: the wheel alone takes hundreds of turns), the wheel
    // for what is left, a click on the last row, Close.
    let scroller = j
        .client
        .find(Locator::XPath("//table[@data-testid='lb-table']/.."))
        .await?;
    let (x, y, w, h) = scroller.rectangle().await?;
    let first_row = format!("tr[data-lb='{first}'] button.link");
    let last_row = format!("tr[data-lb='{last}'] button.link");
    let wheel_to = |target: String, delta_y: i64| {
        let j = &j;
        async move {
            for _ in 0..60 {
                if j.client.find(Locator::Css(&target)).await.is_ok() {
                    return Ok::<bool, fantoccini::error::CmdError>(true);
                }
                let mut wheel = WheelActions::new("wheel".into());
                wheel.push(WheelAction::Scroll {
                    duration: None,
                    x: (x + w / 2.0) as i64,
                    y: (y + h / 2.0) as i64,
                    delta_x: 0,
                    delta_y,
                });
                j.client.perform_actions(wheel).await?;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            Ok(false)
        }
    };
    assert!(
        wheel_to(first_row.clone(), -4000).await?,
        "the wheel never brought the first row back"
    );
    // The thumb sits at the top of the bar, on the box's right edge below the header.
    let bar_x = x + w - 5.0;
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: bar_x,
            y: y + 45.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(300)),
            x: bar_x,
            y: y + h - 2.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    j.client.perform_actions(drag).await?;
    assert!(
        wheel_to(last_row.clone(), 4000).await?,
        "neither the scroll bar nor the wheel reached the last row"
    );
    j.click(&last_row).await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{last}']"))
        .await?;
    j.screenshot("mouse-last-open").await?;
    j.click("[data-testid='close-detail']").await?;
    detail_closed(&j).await?;

    // A click in the search, the name typed, a click on the only row, Close; then the search
    // field's own clear button (the × WebKit draws at its right end while it holds text).
    j.click("[data-testid='lb-search']").await?;
    j.wait_for("[data-testid='lb-search']")
        .await?
        .send_keys(&middle)
        .await?;
    j.wait_for_text("[data-testid='lb-count']", &format!("1 of {total}"))
        .await?;
    j.click(&format!("tr[data-lb='{middle}'] button.link"))
        .await?;
    j.wait_for(&format!("[data-testid='lb-detail'][data-lb='{middle}']"))
        .await?;
    j.screenshot("mouse-filtered-open").await?;
    j.click("[data-testid='close-detail']").await?;
    detail_closed(&j).await?;
    let search = j.wait_for("[data-testid='lb-search']").await?;
    let (_, _, sw, _) = search.rectangle().await?;
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: search,
            duration: None,
            // From the centre to the clear button, inside the field's right padding.
            x: sw / 2.0 - 12.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    j.client.perform_actions(mouse).await?;
    j.wait_for_text("[data-testid='lb-count']", &total).await?;
    j.wait_for(&format!("tr[data-lb='{first}']")).await?;
    j.screenshot("mouse-cleared").await?;

    j.finish().await?;
    sandbox.shutdown().await;
    Ok(())
}
