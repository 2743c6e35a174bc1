//! The HTTP client: requests, retries, rate limits, pagination and every endpoint Cutover uses.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{clean_request_id, human_duration, Error, Result};
use crate::models::*;
use crate::plan::{conflicts, diff_requests, UpdatePlan};
use crate::secret::Secret;
use crate::validate::{
    has_errors, rejection_message, validate_forwarding_rules, validate_load_balancer, Finding,
    ValidationContext,
};

/// The public API.
pub const DEFAULT_BASE_URL: &str = "https://api.digitalocean.com";

/// How the client talks to the API.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://api.digitalocean.com` by default; the Sandbox, a proxy or a test server otherwise.
    /// Paths (`/v2/...`) are appended to it.
    pub base_url: String,
    pub token: Secret,
    pub user_agent: String,
    /// Retries of one GET/DELETE (or dry run) after a 429, a 5xx (not 501) or a network
    /// failure. A write (POST, full-replace PUT) is retried only when it certainly did not take
    /// effect (a 429, a connection never made); otherwise it fails with
    /// [`Error::MaybeApplied`]. [`Client::apply`] re-checks the load balancer before each retry.
    pub max_retries: u32,
    /// First backoff; doubles each retry (with jitter) up to `retry_wait_max`.
    pub retry_wait_min: Duration,
    pub retry_wait_max: Duration,
    /// The most one request may spend waiting between retries, `retry-after` included. A wait
    /// that would exceed it is not made: the error is returned instead.
    pub max_total_wait: Duration,
    /// Per attempt.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Longest silence while a body arrives: an answer that stops mid-way fails after this
    /// (as [`Error::Interrupted`]), not after the whole `timeout`.
    pub read_idle_timeout: Duration,
    /// Failed attempts of one request may take this long together (waits not counted) before
    /// no further retry is made: a stalling API fails in about this time, not five timeouts.
    pub max_failed_time: Duration,
    /// Largest body read ([`Error::TooLarge`] beyond it).
    pub max_body_bytes: u64,
    /// Page size for listings (1..=200).
    pub per_page: u32,
    /// Pages fetched at once after the first.
    pub page_concurrency: usize,
    /// The most pages one listing reads, whatever the API's counts say.
    pub max_pages: u32,
}

impl ClientConfig {
    /// Defaults: the public API, 4 retries from 1 s to 30 s, 2 min of waiting at most, 30 s per
    /// attempt, 10 s of silence mid-body, 20 s of failed attempts, 32 MiB bodies, 200 per page,
    /// 4 pages at once, 1,000 pages.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            token: token.into(),
            user_agent: format!("cutover/{}", env!("CARGO_PKG_VERSION")),
            max_retries: 4,
            retry_wait_min: Duration::from_secs(1),
            retry_wait_max: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_idle_timeout: Duration::from_secs(10),
            max_failed_time: Duration::from_secs(20),
            max_body_bytes: 32 << 20,
            per_page: 200,
            page_concurrency: 4,
            max_pages: 1_000,
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// The rate-limit headers of the latest response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RateLimit {
    /// Requests allowed per hour.
    pub limit: u32,
    pub remaining: u32,
    /// Unix time (s) at which the oldest request in the window expires.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub reset: u64,
}

impl RateLimit {
    /// Reads `ratelimit-limit/remaining/reset`, whatever their case.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        // HeaderMap names are case-insensitive already.
        let num = |name: &str| -> Option<u64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        let limit = num("ratelimit-limit")?;
        let remaining = num("ratelimit-remaining")?;
        let reset = num("ratelimit-reset").unwrap_or(0);
        Some(Self {
            limit: limit.min(u32::MAX as u64) as u32,
            remaining: remaining.min(u32::MAX as u64) as u32,
            reset,
        })
    }
}

/// A DigitalOcean API v2 client. Cheap to clone (shares the connection pool and the rate-limit
/// state).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    local_validation: bool,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    token: Secret,
    config: ClientConfig,
    rate: Mutex<Option<RateLimit>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("token", &self.inner.token)
            .field("local_validation", &self.local_validation)
            .finish()
    }
}

/// Whether a request may be sent again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// Safe to repeat (GET, a dry run, a DELETE with a body): retried on 429, 5xx (not 501) and
    /// network failures.
    Idempotent,
    /// Like `Idempotent`, and a 404 on a retry after an attempt that may have gone through means
    /// the resource is gone: success. (DELETE of the resource itself.)
    Delete,
    /// A write that must not happen twice (POST, full-replace PUT): retried only when it surely
    /// did not take effect (a 429, no connection); else [`Error::MaybeApplied`].
    Once,
}

/// One failed attempt.
struct Failure {
    error: Error,
    /// The request reached the API and may have been carried out.
    maybe_applied: bool,
    /// Worth another attempt (for a method that allows one).
    retryable: bool,
    /// How long the API asked to wait.
    wait: Option<Duration>,
}

tokio::task_local! {
    /// The request ids of the writes made inside [`with_request_ids`].
    static WRITE_IDS: std::cell::RefCell<Vec<String>>;
}

/// Runs `fut` and returns, with its output, DigitalOcean's request id (`x-request-id`) of every
/// write the client completed inside it, in order: creates, updates, deletes, droplet and rule
/// changes, DNS record writes (not reads, not dry runs). A write that failed is not listed: its
/// error carries its own id ([`Error::request_id`]).
///
/// A scope rather than a new return type, so no write method changes shape for its callers; a
/// scope opened inside another collects for itself only. Writes made on a task spawned from
/// `fut` are not seen.
pub async fn with_request_ids<F: std::future::Future>(fut: F) -> (F::Output, Vec<String>) {
    WRITE_IDS
        .scope(std::cell::RefCell::new(Vec::new()), async move {
            let out = fut.await;
            let ids = WRITE_IDS.with(|ids| ids.take());
            (out, ids)
        })
        .await
}

/// Notes a completed write's request id for the enclosing [`with_request_ids`], if any.
fn record_write(answer: &Answer) {
    if let Some(id) = &answer.request_id {
        let _ = WRITE_IDS.try_with(|ids| ids.borrow_mut().push(id.clone()));
    }
}

/// A listing with what the API said about it.
#[derive(Clone, Debug)]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// `meta.total` of the first page.
    pub total: Option<u64>,
    /// Pages read.
    pub pages: u32,
    /// How the API's counts (`links.pages.last`, `meta.total`) disagreed with what arrived, or
    /// where reading stopped short of their claim; `None` when all agreed.
    pub note: Option<String>,
}

/// A successful answer, before decoding.
struct Answer {
    status: StatusCode,
    request_id: Option<String>,
    body: Vec<u8>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base = config.base_url.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|e| Error::Config {
            message: format!("the API base URL \"{base}\" is not a URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config {
                message: format!("the API base URL must be http or https, not \"{base}\""),
            });
        }
        if config.token.is_empty() {
            return Err(Error::Config {
                message: "no DigitalOcean token was given".into(),
            });
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose().trim()))
            .map_err(|_| Error::Config {
            message: "the token contains characters that cannot be sent in a header".into(),
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| Error::Config {
                message: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                token: config.token.clone(),
                config,
                rate: Mutex::new(None),
            }),
            local_validation: true,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The same client, without the local validator: requests the validator would refuse are
    /// sent anyway (the API decides).
    pub fn without_local_validation(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            local_validation: false,
        }
    }

    /// The rate-limit headers of the latest response, if any carried them.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self.inner.rate.lock().unwrap_or_else(|p| p.into_inner())
    }

    // -----------------------------------------------------------------------------------------
    // Transport
    // -----------------------------------------------------------------------------------------

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.base, path)
    }

    fn record_rate(&self, headers: &HeaderMap) {
        if let Some(rate) = RateLimit::from_headers(headers) {
            *self.inner.rate.lock().unwrap_or_else(|p| p.into_inner()) = Some(rate);
        }
    }

    /// One request with the retry policy. Returns the 2xx answer or the typed error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Answer> {
        let cfg = &self.inner.config;
        let body = match body {
            Some(body) => Some(serde_json::to_vec(body).map_err(|e| Error::Decode {
                message: format!("could not encode the request: {e}"),
                request_id: None,
                resource: None,
                field: None,
            })?),
            None => None,
        };
        let mut waited = Duration::ZERO;
        let mut failed_time = Duration::ZERO;
        // An earlier attempt may have reached the API and taken effect.
        let mut maybe_done_before: Option<String> = None;
        let mut attempt: u32 = 0;
        loop {
            let attempt_started = Instant::now();
            let failure = match self
                .attempt(&method, path, query, body.as_deref(), attempt)
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            failed_time += attempt_started.elapsed();
            if let (Retry::Delete, Some(cause), true) =
                (retry, &maybe_done_before, failure.error.is_not_found())
            {
                // The earlier attempt deleted it; the 404 confirms it is gone.
                tracing::warn!(
                    "{method} {path}: already deleted (an earlier attempt, which ended with \
                     \"{cause}\", went through)"
                );
                return Ok(Answer {
                    status: StatusCode::NOT_FOUND,
                    request_id: failure.error.request_id().map(str::to_string),
                    body: Vec::new(),
                });
            }
            if retry == Retry::Once && failure.maybe_applied {
                return Err(Error::MaybeApplied {
                    method: method.to_string(),
                    what: path.to_string(),
                    // Without its period: it goes inside a longer sentence.
                    cause: failure.error.to_string().trim_end_matches('.').to_string(),
                    status: failure.error.status().filter(|s| *s >= 500),
                    request_id: failure.error.request_id().map(str::to_string),
                });
            }
            if failure.maybe_applied {
                maybe_done_before = Some(failure.error.to_string());
            }
            if !failure.retryable || attempt >= cfg.max_retries {
                return Err(failure.error);
            }
            let wait = failure.wait.unwrap_or_else(|| self.backoff(attempt));
            if waited + wait > cfg.max_total_wait {
                tracing::warn!(
                    "{method} {path}: not retrying: the wait ({}) would exceed the retry budget \
                     ({}): {}",
                    human_duration(wait),
                    human_duration(cfg.max_total_wait),
                    failure.error
                );
                return Err(failure.error);
            }
            if failed_time >= cfg.max_failed_time {
                tracing::warn!(
                    "{method} {path}: not retrying: the failed attempts took {} already: {}",
                    human_duration(failed_time),
                    failure.error
                );
                return Err(failure.error);
            }
            // At the default level: a slow failure is not silent.
            tracing::warn!(
                "{method} {path}: retrying in {} (attempt {} of {}): {}",
                human_duration(wait),
                attempt + 2,
                cfg.max_retries + 1,
                failure.error
            );
            waited += wait;
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: the 2xx answer, or what failed and whether it may be tried again.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
        attempt: u32,
    ) -> std::result::Result<Answer, Failure> {
        let started = Instant::now();
        let mut req = self.inner.http.request(method.clone(), self.url(path));
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(err) => return Err(self.send_failure(method, path, &err, started.elapsed())),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        self.record_rate(&headers);
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| clean_request_id(v, self.inner.token.expose()));
        let bytes = match self.read_body(method, path, resp, &request_id).await {
            Ok(bytes) => bytes,
            Err(error) => {
                let too_large = matches!(error, Error::TooLarge { .. });
                return Err(Failure {
                    // A success whose body did not arrive was carried out; an error's may be a
                    // 5xx's: either way the request got there.
                    maybe_applied: status.is_success() || is_transient(status),
                    retryable: !too_large,
                    wait: None,
                    error,
                });
            }
        };
        tracing::debug!(
            method = %method,
            path,
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or(""),
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "digitalocean request"
        );
        if status.is_success() {
            return Ok(Answer {
                status,
                request_id,
                body: bytes,
            });
        }
        let rate_wait = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| reset_wait(&headers))
            .flatten();
        let retry_after = parse_retry_after(&headers).or(rate_wait);
        let mut error = Error::from_response(
            status.as_u16(),
            &bytes,
            request_id,
            retry_after,
            self.inner.token.expose(),
        );
        if let Error::NotFound { what, .. } = &mut error {
            *what = describe_path(path);
        }
        let transient = is_transient(status);
        Err(Failure {
            // A 429 was refused before any work; a 5xx may have come after it.
            maybe_applied: transient && status != StatusCode::TOO_MANY_REQUESTS,
            retryable: transient,
            wait: if status == StatusCode::TOO_MANY_REQUESTS {
                retry_after
            } else {
                None
            },
            error,
        })
    }

    /// A request that got no answer: never connected (safe to retry, even a POST), timed out or
    /// was reset after it was sent (it may have been carried out).
    fn send_failure(
        &self,
        method: &Method,
        path: &str,
        err: &reqwest::Error,
        elapsed: Duration,
    ) -> Failure {
        if err.is_connect() {
            return Failure {
                error: Error::Network {
                    message: format!(
                        "could not reach the DigitalOcean API: {}",
                        describe_reqwest_error(err)
                    ),
                },
                maybe_applied: false,
                retryable: true,
                wait: None,
            };
        }
        let error = if err.is_timeout() {
            Error::Timeout {
                what: format!("DigitalOcean's answer to {method} {path}"),
                waited: elapsed,
            }
        } else {
            Error::Network {
                message: format!(
                    "the DigitalOcean API did not answer (the connection ended after the \
                     request was sent): {}",
                    describe_reqwest_error(err)
                ),
            }
        };
        Failure {
            error,
            maybe_applied: true,
            retryable: true,
            wait: None,
        }
    }

    /// The body, at most `max_body_bytes`, failing when it goes silent for `read_idle_timeout`.
    async fn read_body(
        &self,
        method: &Method,
        path: &str,
        mut resp: reqwest::Response,
        request_id: &Option<String>,
    ) -> Result<Vec<u8>> {
        let cfg = &self.inner.config;
        let status = resp.status().as_u16();
        let limit = cfg.max_body_bytes;
        let too_large = || Error::TooLarge {
            limit,
            request_id: request_id.clone(),
        };
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        // The declared length is the server's word: reserve no more than a little of it.
        let mut body = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
        let started = Instant::now();
        loop {
            match tokio::time::timeout(cfg.read_idle_timeout, resp.chunk()).await {
                Err(_) => {
                    return Err(Error::Interrupted {
                        status,
                        stalled_for: Some(cfg.read_idle_timeout),
                        received: body.len() as u64,
                        cause: String::new(),
                        request_id: request_id.clone(),
                    })
                }
                Ok(Err(err)) if err.is_timeout() => {
                    return Err(Error::Timeout {
                        what: format!("the rest of DigitalOcean's answer to {method} {path}"),
                        waited: started.elapsed(),
                    })
                }
                Ok(Err(err)) => {
                    return Err(Error::Interrupted {
                        status,
                        stalled_for: None,
                        received: body.len() as u64,
                        cause: describe_reqwest_error(&err),
                        request_id: request_id.clone(),
                    })
                }
                Ok(Ok(None)) => return Ok(body),
                Ok(Ok(Some(chunk))) => {
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// Exponential backoff from `retry_wait_min`, capped at `retry_wait_max`, with jitter
    /// (between half and all of it).
    fn backoff(&self, attempt: u32) -> Duration {
        let cfg = &self.inner.config;
        let base = cfg
            .retry_wait_min
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(cfg.retry_wait_max);
        let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
        base.mul_f64(factor)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, key: &str) -> Result<T> {
        let answer = self
            .send(Method::GET, path, &[], None, Retry::Idempotent)
            .await?;
        decode_key(&answer, key)
    }

    /// A GET with query parameters whose body the caller decodes (answers that are not a
    /// `{key: …}` envelope, such as the monitoring matrices): the same retries, rate-limit
    /// tracking and typed errors as every GET. Returns the body and the request id.
    pub(crate) async fn get_raw(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<u8>, Option<String>)> {
        let answer = self
            .send(Method::GET, path, query, None, Retry::Idempotent)
            .await?;
        Ok((answer.body, answer.request_id))
    }

    async fn write_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        key: &str,
        retry: Retry,
    ) -> Result<T> {
        let body = to_value(body)?;
        let answer = self.send(method, path, &[], Some(&body), retry).await?;
        record_write(&answer);
        decode_key(&answer, key)
    }

    async fn write_no_content(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        retry: Retry,
    ) -> Result<()> {
        let body = body.map(to_value).transpose()?;
        let answer = self.send(method, path, &[], body.as_ref(), retry).await?;
        record_write(&answer);
        Ok(())
    }

    /// A whole listing (see [`Client::list_pages`]); what [`Listing::note`] would say is logged.
    pub async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        key: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>> {
        Ok(self.list_pages(path, key, filters).await?.items)
    }

    /// A whole listing: page 1 with `per_page`, then the other pages at once (at most
    /// `page_concurrency` in flight), in order. Any page that fails fails the listing.
    ///
    /// The API's counts are believed only as far as they agree: reading stops at the first short
    /// or empty page, after `links.pages.last`, after `ceil(meta.total / per_page)` pages and
    /// after `max_pages`, whichever comes first. (A lying count once made listings read pages
    /// forever.) When the counts and what arrived disagree, [`Listing::note`] says how, and a
    /// warning is logged.
    pub async fn list_pages<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        key: &str,
        filters: &[(&str, String)],
    ) -> Result<Listing<T>> {
        let cfg = &self.inner.config;
        let per_page = cfg.per_page.clamp(1, 200);
        let max_pages = cfg.max_pages.max(1);
        let first: ListPage<T> = self.fetch_page(path, key, filters, 1, per_page).await?;
        let total = first.meta.as_ref().map(|m| u64::from(m.total));
        let link_last = first.links.last_page();
        // An API that pages by fewer than asked says so by a short first page that claims more
        // to come: its page size is then the first page's, or the listing would end at page 1.
        let first_len = first.items.len();
        let claims_more = link_last.is_some_and(|l| l > 1)
            || total.is_some_and(|t| t > first_len as u64)
            || !first.links.is_last_page();
        let full = if first_len > 0 && first_len < per_page as usize && claims_more {
            first_len
        } else {
            per_page as usize
        };
        let from_total = total.map(|t| t.div_ceil(full as u64).max(1));
        let claimed = match (link_last, from_total) {
            (Some(last), Some(t)) => u64::from(last).min(t),
            (Some(last), None) => u64::from(last),
            (None, Some(t)) => t,
            // No count at all: follow a `next` link as far as pages come full.
            (None, None) if !first.links.is_last_page() => u64::from(max_pages),
            (None, None) => 1,
        };
        let last = claimed.min(u64::from(max_pages)) as u32;
        let mut items = first.items;
        let mut pages = 1u32;
        let mut ended_short = items.len() < full;
        if !ended_short && last > 1 {
            let concurrency = cfg.page_concurrency.max(1);
            let mut stream = futures::stream::iter(2..=last)
                .map(|page| self.fetch_page::<T>(path, key, filters, page, per_page))
                .buffered(concurrency);
            while let Some(page) = stream.next().await {
                let page = page?;
                pages += 1;
                let n = page.items.len();
                items.extend(page.items);
                if n < full {
                    // The end, whatever the counts said; pages still in flight are dropped.
                    ended_short = true;
                    break;
                }
            }
        }
        let mut notes = Vec::new();
        if let (Some(last), Some(t)) = (link_last, from_total) {
            if u64::from(last) != t {
                notes.push(format!(
                    "links.pages.last says {last} page(s), meta.total ({}) makes {t}",
                    total.unwrap_or(0)
                ));
            }
        }
        if claimed > u64::from(max_pages) && !ended_short {
            notes.push(format!(
                "stopped after {max_pages} pages, the most one listing reads, though the API \
                 claims {claimed}"
            ));
        }
        if let Some(t) = total {
            if t != items.len() as u64 {
                notes.push(format!(
                    "meta.total says {t}, {} arrived in {pages} page(s)",
                    items.len()
                ));
            }
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        if let Some(note) = &note {
            tracing::warn!("{path}: the API's counts disagree with what arrived: {note}");
        }
        Ok(Listing {
            items,
            total,
            pages,
            note,
        })
    }

    async fn fetch_page<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        filters: &[(&str, String)],
        page: u32,
        per_page: u32,
    ) -> Result<ListPage<T>> {
        let mut query: Vec<(&str, String)> = filters.to_vec();
        query.push(("page", page.to_string()));
        query.push(("per_page", per_page.to_string()));
        let answer = self
            .send(Method::GET, path, &query, None, Retry::Idempotent)
            .await?;
        let mut de = serde_json::Deserializer::from_slice(&answer.body);
        let page_body = serde::de::DeserializeSeed::deserialize(PageSeed::<T>::new(key), &mut de)
            .and_then(|p| de.end().map(|_| p));
        match page_body {
            Ok((items, links, meta)) => Ok(ListPage { items, links, meta }),
            // The fast path failed: decode again, slowly, to name the item and the field.
            Err(e) => Err(explain_page_error::<T>(&answer, key, page, e)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Account, regions, tags, VPCs
    // -----------------------------------------------------------------------------------------

    /// `GET /v2/account`: also the token check.
    pub async fn account(&self) -> Result<Account> {
        self.get_json("/v2/account", "account").await
    }

    pub async fn list_regions(&self) -> Result<Vec<Region>> {
        self.list_all("/v2/regions", "regions", &[]).await
    }

    pub async fn list_tags(&self) -> Result<Vec<Tag>> {
        self.list_all("/v2/tags", "tags", &[]).await
    }

    pub async fn list_vpcs(&self) -> Result<Vec<Vpc>> {
        self.list_all("/v2/vpcs", "vpcs", &[]).await
    }

    // -----------------------------------------------------------------------------------------
    // Load balancers
    // -----------------------------------------------------------------------------------------

    pub async fn list_load_balancers(&self) -> Result<Vec<LoadBalancer>> {
        self.list_all("/v2/load_balancers", "load_balancers", &[])
            .await
    }

    pub async fn get_load_balancer(&self, id: &str) -> Result<LoadBalancer> {
        self.get_json(&lb_path(id)?, "load_balancer").await
    }

    fn check_locally(
        &self,
        req: &LoadBalancerRequest,
        ctx: &ValidationContext<'_>,
    ) -> Result<Vec<Finding>> {
        if !self.local_validation {
            return Ok(Vec::new());
        }
        let findings = validate_load_balancer(req, ctx);
        refuse_errors(findings)
    }

    /// `POST /v2/load_balancers` (202, `status: new`). Refused locally when the validator finds
    /// an error. Never retried: the API has no idempotency key.
    pub async fn create_load_balancer(&self, req: &LoadBalancerRequest) -> Result<LoadBalancer> {
        self.check_locally(req, &ValidationContext::create())?;
        let mut body = req.clone();
        body.validate_only = false;
        self.write_json(
            Method::POST,
            "/v2/load_balancers",
            &body,
            "load_balancer",
            Retry::Once,
        )
        .await
    }

    /// The API's dry run of a create (`validate_only: true`): `Ok` with the local warnings when
    /// the API accepts it, `Error::Validation` with its message when not.
    pub async fn validate_create(&self, req: &LoadBalancerRequest) -> Result<Vec<Finding>> {
        let warnings = self.check_locally(req, &ValidationContext::create())?;
        let mut body = req.clone();
        body.validate_only = true;
        // A dry run changes nothing: safe to repeat, and not a write to record.
        let body = to_value(&body)?;
        self.send(
            Method::POST,
            "/v2/load_balancers",
            &[],
            Some(&body),
            Retry::Idempotent,
        )
        .await?;
        Ok(warnings)
    }

    /// `PUT /v2/load_balancers/{id}`: a **full replace**. Prefer [`Client::apply`] with a plan
    /// from [`crate::plan::plan_update`], which guards against lost updates.
    pub async fn update_load_balancer(
        &self,
        id: &str,
        req: &LoadBalancerRequest,
    ) -> Result<LoadBalancer> {
        self.check_locally(
            req,
            &ValidationContext {
                operation: crate::validate::Operation::Update,
                ..ValidationContext::default()
            },
        )?;
        let mut body = req.clone();
        body.validate_only = false;
        self.write_json(
            Method::PUT,
            &lb_path(id)?,
            &body,
            "load_balancer",
            Retry::Once,
        )
        .await
    }

    /// Retried like a GET; a 404 on a retry after an attempt that may have gone through is
    /// success (it is gone).
    pub async fn delete_load_balancer(&self, id: &str) -> Result<()> {
        self.write_no_content(Method::DELETE, &lb_path(id)?, None::<&()>, Retry::Delete)
            .await
    }

    /// `POST /v2/load_balancers/{id}/droplets` (422 on a tag-based load balancer).
    pub async fn add_droplets(&self, id: &str, droplet_ids: &[u64]) -> Result<()> {
        let body = DropletIdsRequest {
            droplet_ids: droplet_ids.to_vec(),
        };
        self.write_no_content(
            Method::POST,
            &format!("{}/droplets", lb_path(id)?),
            Some(&body),
            Retry::Once,
        )
        .await
    }

    /// `DELETE /v2/load_balancers/{id}/droplets` with a body.
    pub async fn remove_droplets(&self, id: &str, droplet_ids: &[u64]) -> Result<()> {
        let body = DropletIdsRequest {
            droplet_ids: droplet_ids.to_vec(),
        };
        self.write_no_content(
            Method::DELETE,
            &format!("{}/droplets", lb_path(id)?),
            Some(&body),
            Retry::Idempotent,
        )
        .await
    }

    /// `POST /v2/load_balancers/{id}/forwarding_rules`. The rules are validated on their own
    /// first (ports, protocols, certificate vs passthrough).
    pub async fn add_forwarding_rules(&self, id: &str, rules: &[ForwardingRule]) -> Result<()> {
        if self.local_validation {
            refuse_errors(validate_forwarding_rules(rules))?;
        }
        let body = ForwardingRulesRequest {
            forwarding_rules: rules.to_vec(),
        };
        self.write_no_content(
            Method::POST,
            &format!("{}/forwarding_rules", lb_path(id)?),
            Some(&body),
            Retry::Once,
        )
        .await
    }

    /// `DELETE /v2/load_balancers/{id}/forwarding_rules`: rules are matched by value.
    pub async fn remove_forwarding_rules(&self, id: &str, rules: &[ForwardingRule]) -> Result<()> {
        if rules.is_empty() {
            return Err(Error::Validation {
                message: "name at least one forwarding rule to remove".into(),
                request_id: None,
                findings: Vec::new(),
            });
        }
        let body = ForwardingRulesRequest {
            forwarding_rules: rules.to_vec(),
        };
        self.write_no_content(
            Method::DELETE,
            &format!("{}/forwarding_rules", lb_path(id)?),
            Some(&body),
            Retry::Idempotent,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Safe updates
    // -----------------------------------------------------------------------------------------

    /// The API's dry run of a planned update (`PUT` with `validate_only: true`). `Ok` holds the
    /// local validator's warnings; a 422 is `Error::Validation` with the API's message.
    pub async fn dry_run(&self, plan: &UpdatePlan) -> Result<Vec<Finding>> {
        let warnings =
            self.check_locally(&plan.request, &ValidationContext::update(&plan.current))?;
        let mut body = plan.request.clone();
        body.validate_only = true;
        // Not a write to record (see `validate_create`).
        let body = to_value(&body)?;
        self.send(
            Method::PUT,
            &lb_path(&plan.id)?,
            &[],
            Some(&body),
            Retry::Idempotent,
        )
        .await?;
        Ok(warnings)
    }

    /// Applies a planned update: re-fetches the load balancer, refuses with
    /// [`Error::Conflict`] if it changed since the plan was made (see [`crate::plan::conflicts`]
    /// for what counts), validates, then PUTs the full body.
    ///
    /// A PUT that may have gone through (a 5xx, a timeout, a reset) is not re-sent blindly: the
    /// load balancer is fetched again first. Now what the plan wanted: done. Still what the plan
    /// was made from: sent again (up to `max_retries` times). Anything else (a colleague's change
    /// in between, or a partial write): [`Error::MaybeApplied`], nothing more sent.
    pub async fn apply(&self, plan: &UpdatePlan) -> Result<LoadBalancer> {
        let cfg = &self.inner.config;
        let path = lb_path(&plan.id)?;
        let mut fresh = self.get_load_balancer(&plan.id).await?;
        let changes = conflicts(&plan.current, &fresh);
        if !changes.is_empty() {
            return Err(Error::Conflict { changes });
        }
        let mut body = plan.request.clone();
        body.validate_only = false;
        let mut attempt: u32 = 0;
        let mut failed_time = Duration::ZERO;
        loop {
            self.check_locally(&plan.request, &ValidationContext::update(&fresh))?;
            let started = Instant::now();
            let err = match self
                .write_json(Method::PUT, &path, &body, "load_balancer", Retry::Once)
                .await
            {
                Err(err @ Error::MaybeApplied { .. }) => err,
                other => return other,
            };
            failed_time += started.elapsed();
            let may_retry = attempt < cfg.max_retries && failed_time < cfg.max_failed_time;
            if may_retry {
                // Wait first, check after: the re-check is then as fresh as the retry.
                let wait = self.backoff(attempt);
                tracing::warn!(
                    "PUT {path}: checking the load balancer, then retrying if it is unchanged, in \
                     {} (attempt {} of {}): {err}",
                    human_duration(wait),
                    attempt + 2,
                    cfg.max_retries + 1
                );
                tokio::time::sleep(wait).await;
            }
            // Whether it went through, and whether anyone else wrote since the plan.
            fresh = match self.get_load_balancer(&plan.id).await {
                Ok(lb) => lb,
                // Cannot check: say what is known.
                Err(_) => return Err(err),
            };
            if diff_requests(&body, &fresh.to_request()).is_empty() {
                tracing::info!("PUT {path}: the attempt that ended with \"{err}\" went through");
                return Ok(fresh);
            }
            let changes = conflicts(&plan.current, &fresh);
            if !changes.is_empty() {
                return Err(match err {
                    Error::MaybeApplied {
                        method,
                        what,
                        cause,
                        status,
                        request_id,
                    } => Error::MaybeApplied {
                        method,
                        what,
                        cause: format!(
                            "{cause}, and the load balancer now differs from both the plan and \
                             what it was planned from ({} field(s))",
                            changes.len()
                        ),
                        status,
                        request_id,
                    },
                    other => other,
                });
            }
            // Still as planned from: the PUT did not take effect (yet); sending it again
            // overwrites nobody's change.
            if !may_retry {
                return Err(err);
            }
            attempt += 1;
        }
    }

    /// Polls a load balancer every `poll_interval` until its status is `active` or `errored`
    /// (returned as `Ok`: check `status`), calling `progress` with each state seen. A "busy" 403
    /// or a transient failure while polling is waited out; `timeout` bounds the whole wait.
    pub async fn wait_until_active(
        &self,
        id: &str,
        poll_interval: Duration,
        timeout: Duration,
        mut progress: impl FnMut(&LoadBalancer),
    ) -> Result<LoadBalancer> {
        let started = Instant::now();
        loop {
            match self.get_load_balancer(id).await {
                Ok(lb) => {
                    progress(&lb);
                    if lb.is_active() || lb.is_errored() {
                        return Ok(lb);
                    }
                }
                Err(
                    err @ (Error::Busy { .. }
                    | Error::RateLimited { .. }
                    | Error::Server { .. }
                    | Error::Network { .. }
                    | Error::Interrupted { .. }
                    | Error::Timeout { .. }),
                ) => {
                    tracing::info!("still waiting for load balancer {id}: {err}");
                }
                Err(err) => return Err(err),
            }
            if started.elapsed() + poll_interval > timeout {
                return Err(Error::Timeout {
                    what: format!("load balancer {id} to become active"),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(poll_interval).await;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Droplets
    // -----------------------------------------------------------------------------------------

    pub async fn list_droplets(&self) -> Result<Vec<Droplet>> {
        self.list_all("/v2/droplets", "droplets", &[]).await
    }

    /// Droplets carrying `tag` (`tag_name=`).
    pub async fn list_droplets_by_tag(&self, tag: &str) -> Result<Vec<Droplet>> {
        self.list_all("/v2/droplets", "droplets", &[("tag_name", tag.to_string())])
            .await
    }

    pub async fn get_droplet(&self, id: u64) -> Result<Droplet> {
        self.get_json(&format!("/v2/droplets/{id}"), "droplet")
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Certificates
    // -----------------------------------------------------------------------------------------

    pub async fn list_certificates(&self) -> Result<Vec<Certificate>> {
        self.list_all("/v2/certificates", "certificates", &[]).await
    }

    pub async fn get_certificate(&self, id: &str) -> Result<Certificate> {
        self.get_json(&format!("/v2/certificates/{}", segment(id)?), "certificate")
            .await
    }

    /// `POST /v2/certificates` (201). A Let's Encrypt certificate starts `pending`.
    pub async fn create_certificate(&self, req: &CertificateRequest) -> Result<Certificate> {
        self.write_json(
            Method::POST,
            "/v2/certificates",
            req,
            "certificate",
            Retry::Once,
        )
        .await
    }

    /// 403 while a load balancer uses it.
    pub async fn delete_certificate(&self, id: &str) -> Result<()> {
        self.write_no_content(
            Method::DELETE,
            &format!("/v2/certificates/{}", segment(id)?),
            None::<&()>,
            Retry::Delete,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Domains and records
    // -----------------------------------------------------------------------------------------

    pub async fn list_domains(&self) -> Result<Vec<Domain>> {
        self.list_all("/v2/domains", "domains", &[]).await
    }

    pub async fn get_domain(&self, name: &str) -> Result<Domain> {
        self.get_json(&format!("/v2/domains/{}", segment(name)?), "domain")
            .await
    }

    pub async fn list_domain_records(&self, domain: &str) -> Result<Vec<DomainRecord>> {
        self.list_all(
            &format!("/v2/domains/{}/records", segment(domain)?),
            "domain_records",
            &[],
        )
        .await
    }

    pub async fn get_domain_record(&self, domain: &str, id: u64) -> Result<DomainRecord> {
        self.get_json(
            &format!("/v2/domains/{}/records/{id}", segment(domain)?),
            "domain_record",
        )
        .await
    }

    pub async fn create_domain_record(
        &self,
        domain: &str,
        req: &DomainRecordRequest,
    ) -> Result<DomainRecord> {
        self.write_json(
            Method::POST,
            &format!("/v2/domains/{}/records", segment(domain)?),
            req,
            "domain_record",
            Retry::Once,
        )
        .await
    }

    pub async fn update_domain_record(
        &self,
        domain: &str,
        id: u64,
        req: &DomainRecordRequest,
    ) -> Result<DomainRecord> {
        let result = self
            .write_json(
                Method::PUT,
                &format!("/v2/domains/{}/records/{id}", segment(domain)?),
                req,
                "domain_record",
                Retry::Once,
            )
            .await;
        match result {
            // Not re-sent blindly; but when the record now holds what was asked, it went through.
            Err(err @ Error::MaybeApplied { .. }) => match self.get_domain_record(domain, id).await
            {
                Ok(record) if record_matches(&record, req) => {
                    tracing::info!("the update of record {id} went through ({err})");
                    Ok(record)
                }
                _ => Err(err),
            },
            other => other,
        }
    }

    pub async fn delete_domain_record(&self, domain: &str, id: u64) -> Result<()> {
        self.write_no_content(
            Method::DELETE,
            &format!("/v2/domains/{}/records/{id}", segment(domain)?),
            None::<&()>,
            Retry::Delete,
        )
        .await
    }
}

struct ListPage<T> {
    items: Vec<T>,
    links: Links,
    meta: Option<Meta>,
}

/// Decodes one page straight from the bytes: the items under `key`, `links`, `meta`; anything
/// else skipped. (No intermediate `serde_json::Value`: listings of thousands stay cheap.)
struct PageSeed<'k, T> {
    key: &'k str,
    _items: std::marker::PhantomData<T>,
}

impl<'k, T> PageSeed<'k, T> {
    fn new(key: &'k str) -> Self {
        Self {
            key,
            _items: std::marker::PhantomData,
        }
    }
}

impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = (Vec<T>, Links, Option<Meta>);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for PageSeed<'_, T> {
    type Value = (Vec<T>, Links, Option<Meta>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with \"{}\", \"links\" and \"meta\"", self.key)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        let mut links = Links::default();
        let mut meta = None;
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if name == self.key {
                items = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
            } else if name == "links" {
                links = map.next_value::<Option<Links>>()?.unwrap_or_default();
            } else if name == "meta" {
                meta = map.next_value::<Option<Meta>>()?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok((items, links, meta))
    }
}

fn refuse_errors(findings: Vec<Finding>) -> Result<Vec<Finding>> {
    if has_errors(&findings) {
        let message = rejection_message(&findings).unwrap_or_default();
        return Err(Error::Validation {
            message,
            request_id: None,
            findings: findings.into_iter().filter(Finding::is_error).collect(),
        });
    }
    Ok(findings)
}

fn to_value(body: &impl Serialize) -> Result<Value> {
    serde_json::to_value(body).map_err(|e| Error::Decode {
        message: format!("could not encode the request: {e}"),
        request_id: None,
        resource: None,
        field: None,
    })
}

fn parse_body(answer: &Answer) -> Result<Value> {
    serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        message: format!("the answer ({}) is not JSON: {e}", answer.status.as_u16()),
        request_id: answer.request_id.clone(),
        resource: None,
        field: None,
    })
}

fn decode_key<T: DeserializeOwned>(answer: &Answer, key: &str) -> Result<T> {
    let value = parse_body(answer)?;
    let inner = value.get(key).ok_or_else(|| Error::Decode {
        message: format!("the answer has no \"{key}\""),
        request_id: answer.request_id.clone(),
        resource: None,
        field: None,
    })?;
    decode_item(inner, key, key, answer)
}

/// One resource, or the error naming it and the field that could not be read.
fn decode_item<T: DeserializeOwned>(
    item: &Value,
    kind_key: &str,
    at: &str,
    answer: &Answer,
) -> Result<T> {
    serde_path_to_error::deserialize::<_, T>(item).map_err(|e| {
        let inner = e.path().to_string();
        let field = if inner == "." {
            at.to_string()
        } else {
            format!("{at}.{inner}")
        };
        let resource = name_resource(kind_key, item);
        Error::Decode {
            message: format!("{resource}: field {field}: {}", e.inner()),
            request_id: answer.request_id.clone(),
            resource: Some(resource),
            field: Some(field),
        }
    })
}

/// A page that failed the fast decode: which item, which field.
fn explain_page_error<T: DeserializeOwned>(
    answer: &Answer,
    key: &str,
    page: u32,
    fast_error: serde_json::Error,
) -> Error {
    let fallback = |field: Option<String>| Error::Decode {
        message: format!("{key} (page {page}): {fast_error}"),
        request_id: answer.request_id.clone(),
        resource: None,
        field,
    };
    let value = match parse_body(answer) {
        Ok(value) => value,
        Err(err) => return err,
    };
    let Some(list) = value.get(key) else {
        return fallback(None);
    };
    match list {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Err(err) = decode_item::<T>(item, key, &format!("{key}[{i}]"), answer) {
                    return err;
                }
            }
            fallback(None)
        }
        Value::Null => fallback(None),
        _ => fallback(Some(key.to_string())),
    }
}

/// `load balancer "4de7…" ("web")`: the kind from the listing's key, the id and name when they
/// can be read (quoted and escaped: they come from the API and may hold anything).
fn name_resource(key: &str, item: &Value) -> String {
    let kind = key.strip_suffix('s').unwrap_or(key).replace('_', " ");
    let short = |s: &str| -> String {
        let cut: String = s.chars().take(64).collect();
        format!("{cut:?}")
    };
    let id = match item.get("id") {
        Some(Value::String(s)) => Some(short(s)),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let name = item.get("name").and_then(Value::as_str).map(short);
    match (id, name) {
        (Some(id), Some(name)) => format!("{kind} {id} ({name})"),
        (Some(id), None) => format!("{kind} {id}"),
        (None, Some(name)) => format!("{kind} {name}"),
        (None, None) => format!("a {kind}"),
    }
}

/// The record holds every value the request sets.
fn record_matches(record: &DomainRecord, req: &DomainRecordRequest) -> bool {
    fn same<T: PartialEq>(wanted: &Option<T>, has: Option<&T>) -> bool {
        wanted.as_ref().is_none_or(|w| has == Some(w))
    }
    record.kind.eq_ignore_ascii_case(&req.kind)
        && same(&req.name, Some(&record.name))
        && same(&req.data, Some(&record.data))
        && same(&req.ttl, Some(&record.ttl))
        && same(&req.priority, record.priority.as_ref())
        && same(&req.port, record.port.as_ref())
        && same(&req.weight, record.weight.as_ref())
        && same(&req.flags, record.flags.as_ref())
        && same(&req.tag, record.tag.as_ref())
}

/// 429 and every 5xx but 501 (which will not change on a retry).
fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// What a path names, for a 404: `load balancer 4de7…`, `record 12 of domain example.com`.
fn describe_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .trim_start_matches("/v2/")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    Some(match parts.as_slice() {
        ["load_balancers", id, ..] => format!("load balancer {id}"),
        ["droplets", id, ..] => format!("droplet {id}"),
        ["certificates", id, ..] => format!("certificate {id}"),
        ["domains", domain, "records", id, ..] => format!("record {id} of domain {domain}"),
        ["domains", domain, ..] => format!("domain {domain}"),
        _ => return None,
    })
}

/// A path segment from user input: refuses what would change the path.
fn segment(value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.contains(['/', '?', '#', '%', '\\']) || v == "." || v == ".." {
        return Err(Error::Validation {
            message: format!("\"{value}\" is not a valid identifier"),
            request_id: None,
            findings: Vec::new(),
        });
    }
    Ok(v.to_string())
}

fn lb_path(id: &str) -> Result<String> {
    Ok(format!("/v2/load_balancers/{}", segment(id)?))
}

/// `retry-after` in seconds (an HTTP date is read too).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    None
}

/// On a 429 without `retry-after`: until `ratelimit-reset` (when nothing remains).
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let rate = RateLimit::from_headers(headers)?;
    if rate.remaining > 0 || rate.reset == 0 {
        return None;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(rate.reset.saturating_sub(now).max(1)))
}

/// The error without the request (reqwest's Display can include the URL, never the headers).
fn describe_reqwest_error(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("RateLimit-Limit", HeaderValue::from_static("5000"));
        h.insert("ratelimit-Remaining", HeaderValue::from_static("4990"));
        h.insert("rateLimit-reset", HeaderValue::from_static("1700000000"));
        assert_eq!(
            RateLimit::from_headers(&h),
            Some(RateLimit {
                limit: 5000,
                remaining: 4990,
                reset: 1_700_000_000
            })
        );
    }

    #[test]
    fn client_debug_hides_the_token() {
        let client = Client::new(ClientConfig::new("dop_v1_topsecret0123456789")).unwrap();
        let text = format!("{client:?} {:?}", client.config());
        assert!(!text.contains("topsecret"), "{text}");
    }

    #[test]
    fn segments_refuse_path_tricks() {
        assert!(segment("../account").is_err());
        assert!(segment("a?b").is_err());
        assert_eq!(segment(" 4de7ac8b ").unwrap(), "4de7ac8b");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut cfg = ClientConfig::new("t");
        cfg.retry_wait_min = Duration::from_millis(100);
        cfg.retry_wait_max = Duration::from_millis(400);
        let client = Client::new(cfg).unwrap();
        for attempt in 0..10 {
            let b = client.backoff(attempt);
            assert!(b <= Duration::from_millis(400), "{b:?}");
            assert!(b >= Duration::from_millis(50), "{b:?}");
        }
    }
}
