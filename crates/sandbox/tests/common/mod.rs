#![allow(dead_code)]

pub mod tls_client;

use std::time::Duration;

use cutover_sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Api {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Option<Value>,
    pub text: String,
}

/// Options for tests: no busy window, instant activation unless a test asks otherwise.
pub fn quick() -> SandboxOptions {
    SandboxOptions {
        activation_delay: Duration::ZERO,
        busy_window: Duration::ZERO,
        ..SandboxOptions::default()
    }
}

impl Api {
    pub async fn start(opts: SandboxOptions) -> Api {
        let sandbox = Sandbox::start(opts).await.unwrap();
        Api {
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    pub async fn call_with_token(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.sandbox.api_base(), path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            None
        } else {
            serde_json::from_str(&text).ok()
        };
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let token = self.sandbox.token().to_string();
        self.call_with_token(method, path, body, Some(&token)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }
}

impl Reply {
    pub fn json(&self) -> &Value {
        self.body
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON body ({}): {}", self.status, self.text))
    }
}
