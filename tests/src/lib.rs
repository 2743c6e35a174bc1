//! Shared harness for the end-to-end journeys in `tests/e2e/`: a real WebDriver client
//! (fantoccini) → tauri-driver → WebKitWebDriver → the built Cutover app.
//!
//! Each journey gets its own tauri-driver on a free port and its own config/data directories,
//! so journeys cannot see each other's accounts or settings.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The app binary under test: `CUTOVER_APP_BIN`, or the debug build in the shared target dir.
pub fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CUTOVER_APP_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("cutover-app")
}

/// Where journeys save their screenshots.
pub fn screenshot_dir() -> PathBuf {
    workspace_root().join("target").join("e2e")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running app driven over WebDriver.
pub struct Journey {
    pub client: Client,
    name: String,
    driver: Child,
    /// Keeps the journey's private config and data directories alive.
    pub home: tempfile::TempDir,
}

impl Journey {
    /// Starts tauri-driver and the app with a fresh home, plus the given extra environment.
    pub async fn start(name: &str, env: &[(&str, String)]) -> Result<Journey> {
        Self::start_in(name, env, None).await
    }

    /// Starts the app again on this journey's home (config, data, cache, state), as a user
    /// reopening it; the caller has made the app quit first. The old session and driver end here.
    pub async fn relaunch(mut self, env: &[(&str, String)]) -> Result<Journey> {
        // Journey is Drop, so its home is swapped out rather than moved.
        let home = std::mem::replace(&mut self.home, tempfile::tempdir()?);
        let name = self.name.clone();
        let _ = self.client.clone().close().await;
        stop_driver(&mut self.driver);
        Self::start_in(&name, env, Some(home)).await
    }

    /// `start` on a given home (kept across launch attempts), or a fresh one per attempt.
    async fn start_in(
        name: &str,
        env: &[(&str, String)],
        mut kept_home: Option<tempfile::TempDir>,
    ) -> Result<Journey> {
        // fantoccini's TLS stack and ours bring two rustls providers: pick one explicitly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let relaunching = kept_home.is_some();
        let app = app_binary();
        if !app.exists() {
            return Err(format!(
                "the app binary {} does not exist: build it first (scripts/test.sh does)",
                app.display()
            )
            .into());
        }
        // A launch whose WebDriver session never comes (seen under load: the app's web process
        // never started, and the session request hung) is given up after a while and tried
        // again, so a journey fails or passes instead of hanging the run.
        let mut last_error = String::new();
        for attempt in 1..=LAUNCH_ATTEMPTS {
            let home = match kept_home.take() {
                Some(home) => home,
                None => tempfile::tempdir()?,
            };
            match tokio::time::timeout(LAUNCH_TIMEOUT, Self::launch(env, &app, home.path())).await {
                Ok(Ok((client, driver))) => {
                    return Ok(Journey {
                        client,
                        name: name.to_string(),
                        driver,
                        home,
                    })
                }
                Ok(Err(err)) => last_error = err.to_string(),
                Err(_) => {
                    last_error =
                        format!("no WebDriver session within {} s", LAUNCH_TIMEOUT.as_secs())
                }
            }
            eprintln!("{name}: launch attempt {attempt} of {LAUNCH_ATTEMPTS} failed: {last_error}");
            if relaunching {
                kept_home = Some(home);
            }
        }
        Err(format!("{name}: the app could not be started: {last_error}").into())
    }

    /// One launch: tauri-driver on `home`, then the WebDriver session. Dropping the
    /// future (a timeout) drops the driver, which stops it and the app.
    async fn launch(
        env: &[(&str, String)],
        app: &std::path::Path,
        home: &Path,
    ) -> Result<(Client, Child)> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd =
            Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()));
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("state"))
            // One app after another under one session bus: no single-instance hand-over.
            .env("CUTOVER_MULTI_INSTANCE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let driver = cmd.spawn().map_err(|err| {
            format!("could not start tauri-driver (cargo install tauri-driver --locked): {err}")
        })?;
        // Stops the driver (and with it the app) if this launch is abandoned half-way.
        let mut driver = DriverGuard(Some(driver));

        let url = format!("http://127.0.0.1:{port}");
        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "browserName": "wry",
                "tauri:options": { "application": app.display().to_string() }
            }))?;
        // tauri-driver needs a moment to listen; retry the session for a few seconds.
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => {
                    return Err(format!("no WebDriver session: {err}").into());
                }
            }
        };
        let driver = driver.0.take().ok_or("tauri-driver is gone")?;
        Ok((client, driver))
    }

    /// Waits up to 15 s for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        self.wait_for_within(css, Duration::from_secs(15)).await
    }

    pub async fn wait_for_within(&self, css: &str, timeout: Duration) -> Result<Element> {
        let found = self
            .client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(el) => Ok(el),
            Err(err) => {
                let seen = self.what_went_wrong().await;
                Err(format!("{}: no element `{css}`: {err}{seen}", self.name).into())
            }
        }
    }

    /// Waits until the element matching `css` contains `text`.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Result<Element> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = None;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(text) {
                        return Ok(el);
                    }
                    last = Some(t);
                }
            }
            if Instant::now() > deadline {
                let last = match last {
                    Some(t) => format!("last text: {t:?}"),
                    None => "the element never appeared".to_string(),
                };
                let seen = self.what_went_wrong().await;
                return Err(format!(
                    "{}: `{css}` never contained {text:?}; {last}{seen}",
                    self.name
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        self.wait_for(css).await?.click().await?;
        Ok(())
    }

    /// Replaces the value of an input.
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let el = self.wait_for(css).await?;
        el.clear().await?;
        el.send_keys(value).await?;
        Ok(())
    }

    /// The current value of an input, select or textarea (what the user typed, not the
    /// `value` attribute it was rendered with).
    pub async fn value(&self, css: &str) -> Result<String> {
        Ok(self
            .wait_for(css)
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.wait_for(css).await?.text().await?)
    }

    /// For a failed wait: the error messages on screen (a journey that waits for a result
    /// usually fails because the app showed an error instead), and a `failed` screenshot.
    async fn what_went_wrong(&self) -> String {
        let mut seen = String::new();
        let errors = self
            .client
            .find_all(Locator::Css(".error-box, [role='alert']"))
            .await
            .unwrap_or_default();
        for el in errors {
            if let Ok(t) = el.text().await {
                seen.push_str(&format!("; on screen: {:?}", t.trim()));
            }
        }
        if let Ok(path) = self.screenshot("failed").await {
            seen.push_str(&format!("; screenshot {}", path.display()));
        }
        seen
    }

    /// Saves `target/e2e/<journey>-<step>.png`, after two animation frames so it is not stale.
    pub async fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{step}.png", self.name));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the session and stops tauri-driver (SIGTERM, so it also stops WebKitWebDriver).
    pub async fn finish(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        stop_driver(&mut self.driver);
        closed?;
        Ok(())
    }
}

impl Drop for Journey {
    fn drop(&mut self) {
        stop_driver(&mut self.driver);
    }
}

/// How long one launch may take to give a WebDriver session.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Launches tried before a journey fails.
const LAUNCH_ATTEMPTS: u32 = 2;

/// tauri-driver while a launch is under way: stopped when dropped, unless taken.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            stop_driver(&mut child);
        }
    }
}

fn stop_driver(driver: &mut Child) {
    if let Ok(Some(_)) = driver.try_wait() {
        return;
    }
    #[cfg(unix)]
    {
        // SIGTERM: tauri-driver only takes WebKitWebDriver down with it on SIGTERM/SIGINT.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(driver.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = driver.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = driver.kill();
    let _ = driver.wait();
}

/// A DigitalOcean client on a Sandbox, for checking through the API what a journey changed
/// (and for changes made behind the app's back).
pub fn sandbox_api(
    sandbox: &cutover_sandbox::SandboxHandle,
) -> Result<cutover_digitalocean::Client> {
    Ok(cutover_digitalocean::Client::new(
        cutover_digitalocean::ClientConfig::new(sandbox.token().to_string())
            .with_base_url(sandbox.api_base()),
    )?)
}

/// The load balancer called `name`, as the API has it now.
pub async fn lb_by_name(
    client: &cutover_digitalocean::Client,
    name: &str,
) -> Result<cutover_digitalocean::LoadBalancer> {
    client
        .list_load_balancers()
        .await?
        .into_iter()
        .find(|lb| lb.name == name)
        .ok_or_else(|| format!("no load balancer named {name}").into())
}

/// A Sandbox run by the test itself, so journeys add it as an account by its token and the real
/// token path (keychain, token check, API) is exercised.
pub async fn start_sandbox() -> Result<cutover_sandbox::SandboxHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = cutover_sandbox::SandboxOptions {
        activation_delay: Duration::from_millis(500),
        busy_window: Duration::from_millis(300),
        ..cutover_sandbox::SandboxOptions::default()
    };
    Ok(cutover_sandbox::Sandbox::start(options).await?)
}

impl Journey {
    /// Adds `sandbox` as an account through the Accounts view and waits until it is in use.
    pub async fn add_sandbox_account(
        &self,
        name: &str,
        sandbox: &cutover_sandbox::SandboxHandle,
    ) -> Result<()> {
        self.click("button[data-nav='accounts']").await?;
        self.fill("[data-testid='account-name']", name).await?;
        self.fill("[data-testid='account-token']", sandbox.token())
            .await?;
        if self
            .client
            .find(Locator::Css("[data-testid='account-api-base']"))
            .await
            .is_err()
        {
            self.client
                .find(Locator::XPath("//button[contains(., 'advanced')]"))
                .await?
                .click()
                .await?;
        }
        self.fill("[data-testid='account-api-base']", &sandbox.api_base())
            .await?;
        self.click("[data-testid='add-account']").await?;
        self.wait_for(&format!("tr[data-account='{name}']")).await?;
        self.wait_for_text("[data-status='account']", name).await?;
        Ok(())
    }

    /// The whole page's HTML, to check what the webview was given.
    pub async fn page_source(&self) -> Result<String> {
        Ok(self.client.source().await?)
    }
}
