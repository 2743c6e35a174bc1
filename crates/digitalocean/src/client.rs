//! The HTTP client: requests, retries, rate limits, pagination and every endpoint Cutover uses.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::*;
use crate::plan::{conflicts, UpdatePlan};
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
    /// Retries of one GET/PUT/DELETE after a 429, a 5xx (not 501) or a network failure.
    /// POST is never retried.
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
    /// Page size for listings (1..=200).
    pub per_page: u32,
    /// Pages fetched at once after the first.
    pub page_concurrency: usize,
}

impl ClientConfig {
    /// Defaults: the public API, 4 retries from 1 s to 30 s, 2 min of waiting at most, 200 per
    /// page, 4 pages at once.
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
            per_page: 200,
            page_concurrency: 4,
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
    ) -> Result<Answer> {
        let cfg = &self.inner.config;
        let retryable_method = method != Method::POST;
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            let mut req = self.inner.http.request(method.clone(), self.url(path));
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(body) = body {
                req = req.header(CONTENT_TYPE, "application/json").body(
                    serde_json::to_vec(body).map_err(|e| Error::Decode {
                        message: format!("could not encode the request: {e}"),
                        request_id: None,
                    })?,
                );
            }
            let outcome = req.send().await;
            let (wait, error) = match outcome {
                Err(err) => {
                    let error = Error::Network {
                        message: describe_reqwest_error(&err),
                    };
                    // Connection failures and timeouts are worth another try for idempotent
                    // methods; a request that may have reached the API is, too, for them.
                    (self.backoff(attempt), error)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    self.record_rate(&headers);
                    let header_request_id = headers
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let bytes = match resp.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(err) => {
                            let error = Error::Network {
                                message: describe_reqwest_error(&err),
                            };
                            if retryable_method && attempt < cfg.max_retries {
                                let wait = self.backoff(attempt);
                                if waited + wait <= cfg.max_total_wait {
                                    waited += wait;
                                    attempt += 1;
                                    tokio::time::sleep(wait).await;
                                    continue;
                                }
                            }
                            return Err(error);
                        }
                    };
                    tracing::debug!(
                        method = %method,
                        path,
                        status = status.as_u16(),
                        request_id = header_request_id.as_deref().unwrap_or(""),
                        attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "digitalocean request"
                    );
                    if status.is_success() {
                        return Ok(Answer {
                            status,
                            request_id: header_request_id,
                            body: bytes,
                        });
                    }
                    let retry_after = parse_retry_after(&headers);
                    let error = Error::from_response(
                        status.as_u16(),
                        &bytes,
                        header_request_id,
                        retry_after,
                    );
                    let transient = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
                    if !transient {
                        return Err(error);
                    }
                    let wait = if let Some(after) = retry_after {
                        after
                    } else if status == StatusCode::TOO_MANY_REQUESTS {
                        reset_wait(&headers).unwrap_or_else(|| self.backoff(attempt))
                    } else {
                        self.backoff(attempt)
                    };
                    (wait, error)
                }
            };
            if !retryable_method || attempt >= cfg.max_retries {
                return Err(error);
            }
            if waited + wait > cfg.max_total_wait {
                tracing::warn!(
                    method = %method,
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "not retrying: the wait would exceed the retry budget"
                );
                return Err(error);
            }
            tracing::info!(
                method = %method,
                path,
                attempt = attempt + 1,
                wait_ms = wait.as_millis() as u64,
                "retrying DigitalOcean request: {error}"
            );
            waited += wait;
            attempt += 1;
            tokio::time::sleep(wait).await;
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
        let answer = self.send(Method::GET, path, &[], None).await?;
        decode_key(&answer, key)
    }

    async fn write_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        key: &str,
    ) -> Result<T> {
        let body = to_value(body)?;
        let answer = self.send(method, path, &[], Some(&body)).await?;
        decode_key(&answer, key)
    }

    async fn write_no_content(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<()> {
        let body = body.map(to_value).transpose()?;
        self.send(method, path, &[], body.as_ref()).await?;
        Ok(())
    }

    /// A whole listing: page 1 with `per_page`, then every other page at once (at most
    /// `page_concurrency` in flight). Any page that fails fails the listing.
    pub async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        key: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>> {
        let per_page = self.inner.config.per_page.clamp(1, 200);
        let first: ListPage<T> = self.fetch_page(path, key, filters, 1, per_page).await?;
        let mut items = first.items;
        let last = first
            .links
            .last_page()
            .or_else(|| {
                first.meta.as_ref().and_then(|m| {
                    let total = m.total as usize;
                    (total > items.len()).then(|| total.div_ceil(per_page as usize) as u32)
                })
            })
            .unwrap_or(1);
        if last > 1 {
            let concurrency = self.inner.config.page_concurrency.max(1);
            let pages: Vec<Vec<T>> = futures::stream::iter(2..=last)
                .map(|page| async move {
                    self.fetch_page::<T>(path, key, filters, page, per_page)
                        .await
                        .map(|p| p.items)
                })
                .buffered(concurrency)
                .try_collect()
                .await?;
            for page in pages {
                items.extend(page);
            }
        }
        if let Some(total) = first.meta.map(|m| m.total as usize) {
            if total != items.len() {
                tracing::warn!(
                    path,
                    total,
                    got = items.len(),
                    "the listing changed while it was read"
                );
            }
        }
        Ok(items)
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
        let answer = self.send(Method::GET, path, &query, None).await?;
        let mut de = serde_json::Deserializer::from_slice(&answer.body);
        let page_body = serde::de::DeserializeSeed::deserialize(PageSeed::<T>::new(key), &mut de)
            .and_then(|p| de.end().map(|_| p))
            .map_err(|e| Error::Decode {
                message: format!("{key} (page {page}): {e}"),
                request_id: answer.request_id.clone(),
            })?;
        let (items, links, meta) = page_body;
        Ok(ListPage { items, links, meta })
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
        self.write_json(Method::POST, "/v2/load_balancers", &body, "load_balancer")
            .await
    }

    /// The API's dry run of a create (`validate_only: true`): `Ok` with the local warnings when
    /// the API accepts it, `Error::Validation` with its message when not.
    pub async fn validate_create(&self, req: &LoadBalancerRequest) -> Result<Vec<Finding>> {
        let warnings = self.check_locally(req, &ValidationContext::create())?;
        let mut body = req.clone();
        body.validate_only = true;
        self.write_no_content(Method::POST, "/v2/load_balancers", Some(&body))
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
        self.write_json(Method::PUT, &lb_path(id)?, &body, "load_balancer")
            .await
    }

    pub async fn delete_load_balancer(&self, id: &str) -> Result<()> {
        self.write_no_content(Method::DELETE, &lb_path(id)?, None::<&()>)
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
        self.write_no_content(Method::PUT, &lb_path(&plan.id)?, Some(&body))
            .await?;
        Ok(warnings)
    }

    /// Applies a planned update: re-fetches the load balancer, refuses with
    /// [`Error::Conflict`] if it changed since the plan was made (see [`crate::plan::conflicts`]
    /// for what counts), validates, then PUTs the full body.
    pub async fn apply(&self, plan: &UpdatePlan) -> Result<LoadBalancer> {
        let fresh = self.get_load_balancer(&plan.id).await?;
        let changes = conflicts(&plan.current, &fresh);
        if !changes.is_empty() {
            return Err(Error::Conflict { changes });
        }
        self.check_locally(&plan.request, &ValidationContext::update(&fresh))?;
        let mut body = plan.request.clone();
        body.validate_only = false;
        self.write_json(Method::PUT, &lb_path(&plan.id)?, &body, "load_balancer")
            .await
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
                    | Error::Network { .. }),
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
        self.write_json(Method::POST, "/v2/certificates", req, "certificate")
            .await
    }

    /// 403 while a load balancer uses it.
    pub async fn delete_certificate(&self, id: &str) -> Result<()> {
        self.write_no_content(
            Method::DELETE,
            &format!("/v2/certificates/{}", segment(id)?),
            None::<&()>,
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
        )
        .await
    }

    pub async fn update_domain_record(
        &self,
        domain: &str,
        id: u64,
        req: &DomainRecordRequest,
    ) -> Result<DomainRecord> {
        self.write_json(
            Method::PUT,
            &format!("/v2/domains/{}/records/{id}", segment(domain)?),
            req,
            "domain_record",
        )
        .await
    }

    pub async fn delete_domain_record(&self, domain: &str, id: u64) -> Result<()> {
        self.write_no_content(
            Method::DELETE,
            &format!("/v2/domains/{}/records/{id}", segment(domain)?),
            None::<&()>,
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
    })
}

fn parse_body(answer: &Answer) -> Result<Value> {
    serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        message: format!("the answer ({}) is not JSON: {e}", answer.status.as_u16()),
        request_id: answer.request_id.clone(),
    })
}

fn decode_key<T: DeserializeOwned>(answer: &Answer, key: &str) -> Result<T> {
    let mut value = parse_body(answer)?;
    let inner = value
        .get_mut(key)
        .map(Value::take)
        .ok_or_else(|| Error::Decode {
            message: format!("the answer has no \"{key}\""),
            request_id: answer.request_id.clone(),
        })?;
    serde_json::from_value(inner).map_err(|e| Error::Decode {
        message: format!("{key}: {e}"),
        request_id: answer.request_id.clone(),
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
