//! Benchmark (not a test, issue 20): what a view costs on a small account and on a big one, side
//! by side in one run of the app, driven over WebDriver.
//!
//!     npm run --prefix ui build && cargo build --release --bin cutover-app
//!     CUTOVER_APP_BIN=target/release/cutover-app dbus-run-session -- xvfb-run -a \
//!       -s "-screen 0 1280x1024x24" \
//!       cargo run --release -p cutover-e2e --features e2e --example ui_bench
//!
//! `CUTOVER_BENCH_IDLE_SECS` shortens the idle minute before the footprint is read (quick
//! runs); `CUTOVER_BENCH_REPS` sets how many times each step is repeated (median; default 5).
//!
//! The small account is the app's built-in Sandbox as it is seeded. The big one is a Sandbox
//! this process starts (1,000 load balancers, 200 droplets behind each generated one, 5,000 more
//! records in the seeded zone), added through the Accounts view by its token and API base, as a
//! user adds any account. The steps run on the small account first, then on the big one, in the
//! same app.
//!
//! Every time is taken in the page, on its own clock: a probe installed through WebDriver wraps
//! `window.fetch`, through which Tauri's IPC answers arrive (`ipc://localhost/<command>`), and
//! notes when an answer has been parsed; a capture listener on the document notes the browser's
//! timestamp of a click or a key. "Painted" is the end of the next animation frame after the
//! DOM shows the result (`requestAnimationFrame`, then a task queued from it, which runs after
//! the frame's layout and paint), so layout and paint are counted, and WebDriver's own latency
//! and polling are not. The longest stall during the automatic 15 s refresh is measured with a
//! Long Tasks observer when the webview has one, else as the longest gap between animation
//! frames (minus one 60 Hz frame) from the request to 300 ms after the answer was painted.
//!
//! The footprint is that of the app and the WebKit processes it spawned (found by parentage):
//! every page private to one of them plus every shared page counted once, as the startup
//! benchmark reports it, beside the plain RSS sum.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cutover_e2e::{sandbox_api, Journey, Result};
use fantoccini::Locator;
use serde_json::{json, Value};

/// Installed once per page; `window.__bench` survives the app's view changes (one page).
const PROBE: &str = r#"
if (!window.__bench) {
  const b = (window.__bench = { answers: {}, input: null, frames: null, longtasks: [] });
  const realFetch = window.fetch;
  window.fetch = function (resource, init) {
    const url = typeof resource === "string" ? resource : resource && resource.url ? resource.url : String(resource);
    const promise = realFetch.apply(this, arguments);
    if (!url.startsWith("ipc:")) return promise;
    const cmd = decodeURIComponent(url.replace(/^ipc:\/\/localhost\//, "").split("?")[0]);
    const started = performance.now();
    return promise.then((response) => {
      const headers = performance.now();
      // The answer's size, read from a copy (after the timed parse has its own).
      const copy = response.clone();
      const parse = response.json.bind(response);
      response.json = () =>
        parse().then((value) => {
          const entry = { started, headers, answered: performance.now(), painted: null, bytes: null };
          copy.text().then((t) => { entry.bytes = t.length; });
          (b.answers[cmd] = b.answers[cmd] || []).push(entry);
          requestAnimationFrame(() => setTimeout(() => { entry.painted = performance.now(); }, 0));
          return value;
        });
      return response;
    });
  };
  b.count = (cmd) => (b.answers[cmd] || []).length;
  b.answer = (cmd, i) => { const e = (b.answers[cmd] || [])[i]; return e && e.painted !== null ? e : null; };
  const afterPaint = (done) => requestAnimationFrame(() => setTimeout(() => done(performance.now()), 0));
  const stamp = (e) => (e.timeStamp > 0 && e.timeStamp <= performance.now() ? e.timeStamp : performance.now());
  // A click, then the first paint showing `expect` (checked once the click's own updates have
  // run, so a table the click removes and then brings back is not taken for the result).
  b.armClick = (expect) => {
    b.input = null;
    const on = (e) => {
      document.removeEventListener("click", on, true);
      const t0 = stamp(e);
      let observer = null;
      const check = () => {
        if (!document.querySelector(expect)) return;
        if (observer) observer.disconnect();
        observer = null;
        afterPaint((t) => { b.input = { t0, painted: t }; });
        return true;
      };
      setTimeout(() => {
        if (check()) return;
        observer = new MutationObserver(() => { if (observer) check(); });
        observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-lb", "data-view", "data-tab"] });
      }, 0);
    };
    document.addEventListener("click", on, true);
  };
  // A key press, then the next paint (the filter updates the DOM in the same task).
  b.armKey = () => {
    b.input = null;
    const on = (e) => {
      document.removeEventListener("keydown", on, true);
      const t0 = stamp(e);
      afterPaint((t) => { b.input = { t0, painted: t }; });
    };
    document.addEventListener("keydown", on, true);
  };
  b.result = () => b.input;
  b.longtaskSupported = typeof PerformanceObserver !== "undefined" && (PerformanceObserver.supportedEntryTypes || []).includes("longtask");
  if (b.longtaskSupported) {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]); }).observe({ entryTypes: ["longtask"] });
  }
  b.startFrames = () => {
    const frames = (b.frames = []);
    const loop = (t) => { if (b.frames !== frames) return; frames.push(t); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  };
  // The longest stall in [from, to]: the longest gap between two frames around it, minus a frame.
  b.stall = (from, to) => {
    const f = b.frames || [];
    b.frames = null;
    let gap = 0;
    for (let i = 1; i < f.length; i++) if (f[i] >= from && f[i - 1] <= to) gap = Math.max(gap, f[i] - f[i - 1]);
    const lt = b.longtasks.filter(([s, d]) => s + d >= from && s <= to).reduce((m, [, d]) => Math.max(m, d), 0);
    return { gap, stall: Math.max(0, gap - 1000 / 60), longtask: b.longtaskSupported ? lt : null, frames: f.length };
  };
  b.elements = () => document.getElementsByTagName("*").length;
}
return true;
"#;

const ESC: &str = "\u{E00C}";

/// One run's figures for one account, in ms (None: the step could not be measured).
#[derive(Default)]
struct Side {
    label: String,
    /// The account's name in the Accounts view, and the other account's (switched through).
    account: String,
    other: String,
    lbs: String,
    list_data: Vec<f64>,
    list_ipc: Vec<f64>,
    list_click: Vec<f64>,
    list_switch_click: Vec<f64>,
    elements: Option<f64>,
    keystroke: Vec<f64>,
    keystroke_all: Vec<f64>,
    clear: Vec<f64>,
    stall: Option<f64>,
    stall_how: String,
    detail_droplets: String,
    detail_click: Vec<f64>,
    detail_data: Vec<f64>,
    droplets_tab: Vec<f64>,
    cert_backends: String,
    cert_click: Vec<f64>,
    cert_data: Vec<f64>,
    cert_ipc: Vec<f64>,
    zone_records: String,
    dns_click: Vec<f64>,
    dns_status_data: Vec<f64>,
    dns_status_ipc: Vec<f64>,
    dns_plan_ipc: Vec<f64>,
    dns_plan_data: Vec<f64>,
    dns_keystroke: Vec<f64>,
    dns_clear: Vec<f64>,
    footprint: Option<f64>,
    rss: Option<f64>,
    /// The footprint read right after each step (no idle wait), to see which step grows it.
    step_footprints: Vec<(String, f64)>,
    /// Each process's private MB after each step.
    step_private: Vec<String>,
    notes: Vec<String>,
}

struct Bench {
    j: Journey,
    reps: usize,
}

impl Bench {
    async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.probe().await?;
        Ok(self
            .j
            .client
            .execute(&format!("return (() => {{ {script} }})();"), args)
            .await?)
    }

    async fn probe(&self) -> Result<()> {
        self.j.client.execute(PROBE, vec![]).await?;
        Ok(())
    }

    /// Polls `script` until it returns something other than null.
    async fn wait_js(&self, script: &str, args: Vec<Value>, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.js(script, args.clone()).await?;
            if !v.is_null() {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for: {script}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(&self, cmd: &str) -> Result<usize> {
        Ok(self
            .js("return __bench.count(arguments[0]);", vec![json!(cmd)])
            .await?
            .as_u64()
            .unwrap_or(0) as usize)
    }

    /// The answer number `index` to `cmd`: parsed → painted, in ms.
    async fn data_to_paint(&self, cmd: &str, index: usize) -> Result<f64> {
        Ok(self.data_and_ipc(cmd, index).await?.0)
    }

    /// The answer number `index` to `cmd`: (parsed → painted, request → parsed), in ms.
    async fn data_and_ipc(&self, cmd: &str, index: usize) -> Result<(f64, f64)> {
        let e = self
            .wait_js(
                "return __bench.answer(arguments[0], arguments[1]);",
                vec![json!(cmd), json!(index)],
                Duration::from_secs(120),
            )
            .await?;
        Ok((
            num(&e, "painted") - num(&e, "answered"),
            num(&e, "answered") - num(&e, "started"),
        ))
    }

    async fn input_result(&self) -> Result<f64> {
        let e = self
            .wait_js("return __bench.result();", vec![], Duration::from_secs(120))
            .await?;
        Ok(num(&e, "painted") - num(&e, "t0"))
    }

    /// A mouse click on `css` (through WebDriver) → the first paint showing `expect`.
    async fn click_to_paint(&self, css: &str, expect: &str) -> Result<f64> {
        let el = self.j.wait_for(css).await?;
        self.js(
            "__bench.armClick(arguments[0]); return true;",
            vec![json!(expect)],
        )
        .await?;
        el.click().await?;
        self.input_result().await
    }

    /// One key sent to `css` → the next paint.
    async fn key_to_paint(&self, css: &str, key: &str) -> Result<f64> {
        let el = self.j.wait_for(css).await?;
        self.js("__bench.armKey(); return true;", vec![]).await?;
        el.send_keys(key).await?;
        self.input_result().await
    }

    async fn nav(&self, view: &str) -> Result<()> {
        self.j.click(&format!("button[data-nav='{view}']")).await?;
        self.j
            .wait_for(&format!("main[data-view='{view}']"))
            .await?;
        Ok(())
    }

    /// Switches to the account `name` in the Accounts view (the built-in one is "Sandbox").
    async fn use_account(&self, name: &str) -> Result<()> {
        let button = if name == "Sandbox" {
            "tr[data-account='Sandbox'] button".to_string()
        } else {
            format!("tr[data-account='{name}'] [data-testid='use-account']")
        };
        self.j.click(&button).await?;
        self.j
            .wait_for_text("[data-status='account']", name)
            .await?;
        Ok(())
    }

    /// The app's footprint now (MB), or None when its process is not found.
    fn footprint_now(&self) -> Option<(f64, f64, Vec<ProcMemory>)> {
        let tree = descendants(std::process::id());
        let app = tree.iter().find(|p| p.exe == "cutover-app")?;
        let mut app_tree = descendants(app.pid);
        app_tree.insert(
            0,
            Proc {
                pid: app.pid,
                ppid: app.ppid,
                exe: app.exe.clone(),
            },
        );
        Some(tree_memory(&app_tree))
    }

    /// The load-balancer list: reached from another view (click → painted, data → painted),
    /// the number of elements in the page, a filter typed and cleared with Esc.
    async fn list(&self, side: &mut Side, query: &str) -> Result<()> {
        let rows = "main[data-view='load-balancers'] [data-testid='lb-table'] tbody tr[data-lb]";
        for _ in 0..self.reps {
            // Coming back from another view: the list kept from the last visit is painted, and
            // refreshed behind it.
            self.nav("accounts").await?;
            side.list_click.push(
                self.click_to_paint("button[data-nav='load-balancers']", rows)
                    .await?,
            );
            // After switching accounts (to the other and back): the list is fetched whole and
            // drawn from nothing, as on the account's first visit.
            self.nav("accounts").await?;
            self.use_account(&side.other).await?;
            self.use_account(&side.account).await?;
            let n = self.answers("list_load_balancers").await?;
            side.list_switch_click.push(
                self.click_to_paint("button[data-nav='load-balancers']", rows)
                    .await?,
            );
            let (paint, ipc) = self.data_and_ipc("list_load_balancers", n).await?;
            side.list_data.push(paint);
            side.list_ipc.push(ipc);
        }
        side.lbs = self.j.text("[data-testid='lb-count']").await?;
        side.elements = self
            .js("return __bench.elements();", vec![])
            .await?
            .as_f64();
        let search = "[data-testid='lb-search']";
        for _ in 0..self.reps {
            for (i, ch) in query.chars().enumerate() {
                let ms = self.key_to_paint(search, &ch.to_string()).await?;
                if i == 1 {
                    side.keystroke.push(ms);
                }
                side.keystroke_all.push(ms);
            }
            side.clear.push(self.key_to_paint(search, ESC).await?);
            // The whole list again before the next round ("1 of 3" also contains "3").
            self.wait_js(
                "const el = document.querySelector(\"[data-testid='lb-count']\");
                 return el && el.textContent.trim() === arguments[0] ? true : null;",
                vec![json!(side.lbs)],
                Duration::from_secs(20),
            )
            .await?;
        }
        Ok(())
    }

    /// The automatic refresh of the list, as it comes (every 15 s while someone is around).
    async fn refresh_stall(&self, side: &mut Side) -> Result<()> {
        let n = self.answers("list_load_balancers").await?;
        self.js("__bench.startFrames(); return true;", vec![])
            .await?;
        // Polled slowly: each poll is a little script run in the page being measured.
        let deadline = Instant::now() + Duration::from_secs(40);
        let entry = loop {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let e = self
                .js(
                    "return __bench.answer(arguments[0], arguments[1]);",
                    vec![json!("list_load_balancers"), json!(n)],
                )
                .await?;
            if !e.is_null() {
                break e;
            }
            if Instant::now() > deadline {
                side.notes
                    .push("no automatic refresh came within 40 s".into());
                return Ok(());
            }
        };
        tokio::time::sleep(Duration::from_millis(400)).await;
        let s = self
            .js(
                "return __bench.stall(arguments[0], arguments[1]);",
                vec![
                    json!(num(&entry, "started")),
                    json!(num(&entry, "painted") + 300.0),
                ],
            )
            .await?;
        side.notes.push(format!(
            "the refresh measured: request → response {:.0} ms, body read and parsed {:.0} ms, parsed → painted {:.0} ms, {} frames watched",
            num(&entry, "headers") - num(&entry, "started"),
            num(&entry, "answered") - num(&entry, "headers"),
            num(&entry, "painted") - num(&entry, "answered"),
            num(&s, "frames")
        ));
        match s.get("longtask").and_then(Value::as_f64) {
            Some(lt) => {
                side.stall = Some(lt);
                side.stall_how = format!("longest long task (frame gap {:.0} ms)", num(&s, "gap"));
            }
            None => {
                side.stall = Some(num(&s, "stall"));
                side.stall_how = format!(
                    "longest frame gap {:.0} ms minus a frame (no Long Tasks API)",
                    num(&s, "gap")
                );
            }
        }
        Ok(())
    }

    /// A load balancer's detail opened from the list (filtered to it), then its Droplets tab.
    async fn detail(&self, side: &mut Side, name: &str) -> Result<()> {
        let search = "[data-testid='lb-search']";
        let row = format!("tr[data-lb='{name}'] button.link");
        let detail = format!("[data-testid='lb-detail'][data-lb='{name}']");
        for _ in 0..self.reps {
            self.j.fill(search, name).await?;
            let n = self.answers("load_balancer_detail").await?;
            side.detail_click
                .push(self.click_to_paint(&row, &detail).await?);
            side.detail_data
                .push(self.data_to_paint("load_balancer_detail", n).await?);
            side.droplets_tab.push(
                self.click_to_paint(
                    "[data-tab='droplets']",
                    "[data-testid='droplets-table'] tr[data-droplet]",
                )
                .await?,
            );
            side.detail_droplets = self.j.text("[data-testid='droplets-count']").await?;
            self.j.click("[data-testid='close-detail']").await?;
            self.j.wait_for(search).await?.send_keys(ESC).await?;
        }
        Ok(())
    }

    /// A certificate check of every backend of `lb_label`'s load balancer, with `domain` as SNI.
    async fn cert_check(&self, side: &mut Side, lb_name: &str, domain: &str) -> Result<()> {
        self.nav("certificates").await?;
        let select = self.j.wait_for("select[data-testid='cert-lb']").await?;
        self.j
            .wait_for_text("select[data-testid='cert-lb']", lb_name)
            .await?;
        select
            .select_by(Locator::XPath(&format!(
                ".//option[starts-with(normalize-space(.), '{lb_name}')]"
            )))
            .await?;
        self.j.fill("[data-testid='cert-domain']", domain).await?;
        let n = self.answers("run_cert_check").await?;
        side.cert_click.push(
            self.click_to_paint("[data-testid='cert-run']", "[data-testid='cert-verdict']")
                .await?,
        );
        let (paint, ipc) = self.data_and_ipc("run_cert_check", n).await?;
        side.cert_data.push(paint);
        side.cert_ipc.push(ipc);
        let answer = self
            .js(
                "return __bench.answer(arguments[0], arguments[1]);",
                vec![json!("run_cert_check"), json!(n)],
            )
            .await?;
        side.notes.push(format!(
            "the certificate check's answer: {} characters of JSON",
            answer.get("bytes").cloned().unwrap_or(Value::Null)
        ));
        let elements = self.js("return __bench.elements();", vec![]).await?;
        side.notes.push(format!(
            "elements in the page after the certificate check: {elements}"
        ));
        side.cert_backends = self
            .j
            .text("[data-testid='cert-verdict']")
            .await?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(())
    }

    /// The DNS view looked up for the seeded load balancer and zone: the plan step with the
    /// zone's records; then the records' search typed and cleared.
    async fn dns(&self, side: &mut Side, lb_name: &str, domain: &str) -> Result<()> {
        self.nav("dns").await?;
        self.j
            .wait_for_text("select[data-testid='dns-lb']", lb_name)
            .await?;
        let select = self.j.wait_for("select[data-testid='dns-lb']").await?;
        select.select_by_label(lb_name).await?;
        self.j.fill("[data-testid='dns-domain']", domain).await?;
        for _ in 0..self.reps {
            let (ns, np) = (
                self.answers("dns_status").await?,
                self.answers("dns_plan").await?,
            );
            side.dns_click.push(
                self.click_to_paint(
                    "[data-testid='dns-load']",
                    "[data-testid='dns-records-table'] tr[data-record]",
                )
                .await?,
            );
            let (paint, ipc) = self.data_and_ipc("dns_status", ns).await?;
            side.dns_status_data.push(paint);
            side.dns_status_ipc.push(ipc);
            let (paint, ipc) = self.data_and_ipc("dns_plan", np).await?;
            side.dns_plan_data.push(paint);
            side.dns_plan_ipc.push(ipc);
        }
        self.j
            .wait_for("[data-testid='dns-records']")
            .await?
            .click()
            .await?;
        let _ = self
            .j
            .screenshot(&format!("{}-dns-records", side.label))
            .await;
        let count = self.j.text("[data-testid='dns-records-count']").await?;
        side.zone_records = format!(
            "{} records",
            count.split_whitespace().next().unwrap_or_default()
        );
        let search = "[data-testid='dns-records-search']";
        for _ in 0..self.reps {
            for (i, ch) in "host-0".chars().enumerate() {
                let ms = self.key_to_paint(search, &ch.to_string()).await?;
                if i == 1 {
                    side.dns_keystroke.push(ms);
                }
            }
            side.dns_clear.push(self.key_to_paint(search, ESC).await?);
        }
        Ok(())
    }

    async fn idle_footprint(&self, side: &mut Side, idle: u64) -> Result<()> {
        self.nav("load-balancers").await?;
        self.j
            .wait_for("[data-testid='lb-table'] tbody tr[data-lb]")
            .await?;
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let Some((footprint, rss, procs)) = self.footprint_now() else {
            side.notes.push("the app's process was not found".into());
            return Ok(());
        };
        side.footprint = Some(footprint);
        side.rss = Some(rss);
        side.notes.extend(procs.iter().map(ProcMemory::line));
        Ok(())
    }

    /// Every step on the account in use; a step that fails is noted and the others still run.
    async fn side(&self, side: &mut Side, lb200: &str, idle: u64) {
        macro_rules! step {
            ($what:expr, $e:expr) => {
                if let Err(err) = $e.await {
                    side.notes.push(format!("{}: {err}", $what));
                    let _ = self
                        .j
                        .screenshot(&format!("{}-{}", side.label, $what))
                        .await;
                }
                if let Some((footprint, _, procs)) = self.footprint_now() {
                    side.step_footprints.push(($what.to_string(), footprint));
                    side.step_private
                        .push(format!("{}: {}", $what, private_by_process(&procs)));
                }
            };
        }
        // The same search on both: "s" matches most names, "sh" the shop-… ones, "sho" the same.
        step!("list", self.list(side, "sho"));
        step!("refresh", self.refresh_stall(side));
        step!("detail", self.detail(side, lb200));
        step!(
            "cert-check",
            self.cert_check(side, lb200, cutover_sandbox::DOMAIN)
        );
        step!(
            "dns",
            self.dns(side, "shop-passthrough", cutover_sandbox::DOMAIN)
        );
        step!("idle", self.idle_footprint(side, idle));
    }
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

fn range(v: &[f64]) -> String {
    let s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return String::new();
    }
    let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = s.iter().copied().fold(0.0, f64::max);
    format!("{lo:.0}–{hi:.0}")
}

#[tokio::main]
async fn main() -> Result<()> {
    let idle: u64 = std::env::var("CUTOVER_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let reps: usize = std::env::var("CUTOVER_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);

    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let big = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions {
        scale: cutover_sandbox::SandboxScale::new(1000, 200, 5000)?,
        ..cutover_sandbox::SandboxOptions::default()
    })
    .await?;
    let api = sandbox_api(&big)?;
    let lbs = api.list_load_balancers().await?;
    // The big load balancer to open: one with the most droplets by id and an HTTPS rule (so the
    // certificate check has backends to ask), from what the API holds, not from the seed.
    let lb200 = lbs
        .iter()
        .filter(|lb| {
            lb.forwarding_rules
                .iter()
                .any(|r| r.entry_protocol == "https")
        })
        .max_by_key(|lb| (lb.droplet_ids.len(), lb.name.clone()))
        .ok_or("the big Sandbox has no load balancer with an HTTPS rule")?;
    println!(
        "big Sandbox: {} load balancers, {} with {} droplets opened, started in {:.1} s",
        lbs.len(),
        lb200.name,
        lb200.droplet_ids.len(),
        started.elapsed().as_secs_f64()
    );
    let lb200_name = lb200.name.clone();
    drop(lbs);

    let j = Journey::start("ui-bench", &[]).await?;
    j.wait_for_within(
        "main[data-view='load-balancers'] tbody tr[data-lb]",
        Duration::from_secs(60),
    )
    .await?;
    let bench = Bench { j, reps };
    bench.probe().await?;

    // The big account is added first, as a user adds one (nothing of it is listed yet), so each
    // side can switch to the other account and back; then the built-in Sandbox is used again.
    bench.j.add_sandbox_account("big", &big).await?;
    bench.use_account("Sandbox").await?;
    bench.nav("load-balancers").await?;
    bench
        .j
        .wait_for("[data-testid='lb-table'] tbody tr[data-lb]")
        .await?;

    // The small account: the built-in Sandbox, and its passthrough load balancer (the seeded
    // one in front of the web droplets, which serve certificates).
    let mut small = Side {
        label: "small".into(),
        account: "Sandbox".into(),
        other: "big".into(),
        ..Side::default()
    };
    if let Some((footprint, _, _)) = bench.footprint_now() {
        small.step_footprints.push(("start".into(), footprint));
    }
    let small_lb = "shop-passthrough";
    bench.side(&mut small, small_lb, idle).await;

    // The big account.
    let mut large = Side {
        label: "big-1000".into(),
        account: "big".into(),
        other: "Sandbox".into(),
        ..Side::default()
    };
    bench.nav("accounts").await?;
    bench.use_account("big").await?;
    bench.nav("load-balancers").await?;
    bench
        .j
        .wait_for_within(
            "[data-testid='lb-table'] tbody tr[data-lb]",
            Duration::from_secs(60),
        )
        .await?;
    if let Some((footprint, _, _)) = bench.footprint_now() {
        large.step_footprints.push(("start".into(), footprint));
    }
    bench.side(&mut large, &lb200_name, idle).await;
    let _ = bench.j.screenshot("end").await;
    bench.j.finish().await?;
    big.shutdown().await;

    report(&small, &large, idle, reps);
    Ok(())
}

fn report(a: &Side, b: &Side, idle: u64, reps: usize) {
    println!();
    println!("UI benchmark (issue 20): medians of {reps}, ms; in the page, input or IPC answer → painted");
    println!(
        "{:<44} {:>16} {:>16} {:>8}",
        "", "small account", "big account", "big/small"
    );
    let row = |what: &str, x: Option<f64>, y: Option<f64>, unit: &str| {
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.0} {unit}"));
        let ratio = match (x, y) {
            (Some(x), Some(y)) if x > 0.5 => format!("{:.1}×", y / x),
            _ => "".to_string(),
        };
        println!("{:<44} {:>16} {:>16} {:>8}", what, f(x), f(y), ratio);
    };
    let text = |what: &str, x: &str, y: &str| {
        println!("{:<44} {:>16} {:>16}", what, x, y);
    };
    text("load balancers", &a.lbs, &b.lbs);
    row(
        "list: data → painted (whole list, new)",
        median(&a.list_data),
        median(&b.list_data),
        "ms",
    );
    row(
        "list: click (nav, coming back) → painted",
        median(&a.list_click),
        median(&b.list_click),
        "ms",
    );
    row(
        "list: click (nav, after an account switch)",
        median(&a.list_switch_click),
        median(&b.list_switch_click),
        "ms",
    );
    row(
        "  (its IPC call: request → parsed)",
        median(&a.list_ipc),
        median(&b.list_ipc),
        "ms",
    );
    row("list: elements in the page", a.elements, b.elements, "");
    row(
        "filter: 2nd keystroke → painted",
        median(&a.keystroke),
        median(&b.keystroke),
        "ms",
    );
    text(
        "  every keystroke (min–max)",
        &range(&a.keystroke_all),
        &range(&b.keystroke_all),
    );
    row(
        "filter: Esc clear → painted",
        median(&a.clear),
        median(&b.clear),
        "ms",
    );
    text("  (min–max)", &range(&a.clear), &range(&b.clear));
    row("15 s refresh: longest stall", a.stall, b.stall, "ms");
    text(
        "  droplets of the opened load balancer",
        &a.detail_droplets,
        &b.detail_droplets,
    );
    row(
        "detail: row click → painted",
        median(&a.detail_click),
        median(&b.detail_click),
        "ms",
    );
    row(
        "detail: data → painted",
        median(&a.detail_data),
        median(&b.detail_data),
        "ms",
    );
    row(
        "Droplets tab: click → painted",
        median(&a.droplets_tab),
        median(&b.droplets_tab),
        "ms",
    );
    row(
        "cert check: Run → verdict painted",
        median(&a.cert_click),
        median(&b.cert_click),
        "ms",
    );
    row(
        "cert check: data → painted",
        median(&a.cert_data),
        median(&b.cert_data),
        "ms",
    );
    row(
        "  (the check itself: request → parsed)",
        median(&a.cert_ipc),
        median(&b.cert_ipc),
        "ms",
    );
    text("  zone records", &a.zone_records, &b.zone_records);
    row(
        "DNS plan: Look up → records painted",
        median(&a.dns_click),
        median(&b.dns_click),
        "ms",
    );
    row(
        "DNS: status (records) data → painted",
        median(&a.dns_status_data),
        median(&b.dns_status_data),
        "ms",
    );
    row(
        "DNS: plan data → painted",
        median(&a.dns_plan_data),
        median(&b.dns_plan_data),
        "ms",
    );
    row(
        "  (dns_status / dns_plan: request → parsed)",
        median(&a.dns_status_ipc),
        median(&b.dns_status_ipc),
        "ms",
    );
    row("", median(&a.dns_plan_ipc), median(&b.dns_plan_ipc), "ms");
    row(
        "DNS records: 2nd keystroke → painted",
        median(&a.dns_keystroke),
        median(&b.dns_keystroke),
        "ms",
    );
    row(
        "DNS records: Esc clear → painted",
        median(&a.dns_clear),
        median(&b.dns_clear),
        "ms",
    );
    row(
        &format!("footprint after {idle} s idle"),
        a.footprint,
        b.footprint,
        "MB",
    );
    row(&format!("RSS sum after {idle} s idle"), a.rss, b.rss, "MB");
    if let (Some(x), Some(y)) = (a.footprint, b.footprint) {
        println!("{:<44} {:>+16.0} MB", "footprint: big − small", y - x);
    }
    // Where it grows: the footprint right after each step, and the change since the last one.
    for s in [a, b] {
        let mut last: Option<f64> = None;
        let steps: Vec<String> = s
            .step_footprints
            .iter()
            .map(|(step, mb)| {
                let delta = last.map_or(String::new(), |l| format!(" ({:+.0})", mb - l));
                last = Some(*mb);
                format!("{step} {mb:.0}{delta}")
            })
            .collect();
        println!(
            "{} footprint after each step, MB: {}",
            s.label,
            steps.join(", ")
        );
        println!(
            "{} private MB by process after each step: {}",
            s.label,
            s.step_private.join("; ")
        );
    }
    for s in [a, b] {
        println!("{} certificate check: {}", s.label, s.cert_backends);
        println!("{} refresh stall: {}", s.label, s.stall_how);
        for n in &s.notes {
            println!("{}: {n}", s.label);
        }
    }
}

struct Proc {
    pid: u32,
    ppid: u32,
    /// The executable's file name.
    exe: String,
}

// The process tree and memory reading below are the startup benchmark's (examples can't share
// a module without a crate of their own); see startup_bench.rs for why the footprint is judged.
fn processes() -> Vec<Proc> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let exe = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap_or_default())
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        out.push(Proc { pid, ppid, exe });
    }
    out
}

fn descendants(root: u32) -> Vec<Proc> {
    let all = processes();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, p) in all.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut keep = vec![false; all.len()];
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for &i in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            keep[i] = true;
            stack.push(all[i].pid);
        }
    }
    all.into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// One process's memory, MB.
struct ProcMemory {
    exe: String,
    rss: f64,
    private: f64,
}

impl ProcMemory {
    fn line(&self) -> String {
        format!(
            "  {:<22} RSS {:>6.1} MB  private {:>6.1} MB",
            self.exe, self.rss, self.private
        )
    }
}

/// "app 63.9, Web 178.7, Network 13.3": each process's private MB, short names.
fn private_by_process(procs: &[ProcMemory]) -> String {
    procs
        .iter()
        .map(|p| {
            let short = p
                .exe
                .trim_start_matches("WebKit")
                .trim_end_matches("Process")
                .trim_start_matches("cutover-");
            format!("{short} {:.1}", p.private)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// (footprint MB, RSS sum MB, each process).
fn tree_memory(tree: &[Proc]) -> (f64, f64, Vec<ProcMemory>) {
    let (mut rss, mut private) = (0u64, 0u64);
    let mut shared_once: HashMap<String, u64> = HashMap::new();
    let mut procs = Vec::new();
    for p in tree {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", p.pid)).unwrap_or_default();
        let (mut p_rss, mut p_private) = (0u64, 0u64);
        let mut mapping = String::new();
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            if !first.ends_with(':') {
                mapping = words.nth(4).unwrap_or("[anon]").to_string();
                continue;
            }
            let kib = words
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            match first {
                "Rss:" => p_rss += kib,
                "Private_Clean:" | "Private_Dirty:" => p_private += kib,
                "Shared_Clean:" | "Shared_Dirty:" => {
                    let e = shared_once.entry(mapping.clone()).or_default();
                    *e = (*e).max(kib);
                }
                _ => {}
            }
        }
        procs.push(ProcMemory {
            exe: p.exe.clone(),
            rss: p_rss as f64 / 1024.0,
            private: p_private as f64 / 1024.0,
        });
        rss += p_rss;
        private += p_private;
    }
    let mb = |kib: u64| kib as f64 / 1024.0;
    (
        mb(private + shared_once.values().sum::<u64>()),
        mb(rss),
        procs,
    )
}
