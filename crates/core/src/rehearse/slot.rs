//! The app's one running balancer at a time, and what its Rehearsal view shows about it.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::try_it::{try_it, TryIt};
use super::{start_balancer, BalancerConfig, BalancerEvent, BalancerHandle, StatsSnapshot};
use crate::{ApiError, ErrorCode};

/// What the UI shows about the running balancer.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BalancerStatus {
    /// Bumps at every start, so event streams of an earlier run can be told apart.
    pub run: u32,
    pub listen: String,
    pub redirect_listen: Option<String>,
    pub config: BalancerConfig,
    pub stats: StatsSnapshot,
    pub try_it: TryIt,
}

/// One running balancer at a time, shared by the app's commands.
#[derive(Default)]
pub struct BalancerSlot {
    inner: Mutex<SlotInner>,
}

#[derive(Default)]
struct SlotInner {
    running: Option<BalancerHandle>,
    run: u32,
    domain: String,
}

impl BalancerSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotInner> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `config` unless a balancer already runs; binding happens before this returns.
    pub fn start(&self, config: BalancerConfig) -> Result<BalancerStatus, ApiError> {
        let mut inner = self.lock();
        if inner.running.is_some() {
            return Err(ApiError::invalid_input(
                "a balancer is already running: stop it first",
            ));
        }
        let domain = config
            .domains
            .iter()
            .find(|d| !d.starts_with('*'))
            .or(config.domains.first())
            .map(|d| d.trim_start_matches("*.").to_string())
            .unwrap_or_default();
        let handle = start_balancer(config)?;
        inner.run = inner.run.wrapping_add(1);
        inner.domain = domain;
        inner.running = Some(handle);
        tracing::info!(run = inner.run, "rehearsal balancer started");
        Self::status_of(&inner).ok_or_else(|| ApiError::new(ErrorCode::Internal, "not running"))
    }

    fn status_of(inner: &SlotInner) -> Option<BalancerStatus> {
        let h = inner.running.as_ref()?;
        Some(BalancerStatus {
            run: inner.run,
            listen: h.local_addr().to_string(),
            redirect_listen: h.redirect_addr().map(|a| a.to_string()),
            config: h.config().clone(),
            stats: h.stats(),
            try_it: try_it(&inner.domain, h.local_addr()),
        })
    }

    /// Where the running balancer listens, `None` when none runs.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.lock().running.as_ref().map(|h| h.local_addr())
    }

    pub fn status(&self) -> Option<BalancerStatus> {
        Self::status_of(&self.lock())
    }

    /// The stats of run `run`, `None` once that run has stopped.
    pub fn stats(&self, run: u32) -> Option<StatsSnapshot> {
        let inner = self.lock();
        (inner.run == run).then_some(())?;
        inner.running.as_ref().map(|h| h.stats())
    }

    pub fn subscribe(&self) -> Option<(u32, tokio::sync::broadcast::Receiver<BalancerEvent>)> {
        let inner = self.lock();
        inner.running.as_ref().map(|h| (inner.run, h.subscribe()))
    }

    /// Stops the balancer, letting open connections finish for up to `drain`; the final stats,
    /// or `None` when none was running.
    pub async fn stop(&self, drain: Duration) -> Option<StatsSnapshot> {
        let handle = self.lock().running.take()?;
        Some(handle.stop(drain).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::inventory::list_certificates;
    use crate::certs::report::{export_report, ReportFormat};
    use crate::certs::FleetReport;
    use crate::context::Connection;
    use crate::https_probe::https_probe;
    use crate::lb::lb_choices;
    use crate::rehearse::{from_load_balancer, RehearseOptions};

    /// The acceptance path of the app: check the Sandbox's passthrough LB, export it, rehearse it,
    /// and send the test request through the balancer.
    #[tokio::test]
    async fn sandbox_rehearsal_serves_the_test_request_and_exports() {
        crate::init_tls();
        let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let conn = Connection::for_sandbox(&sandbox).unwrap();
        let choices = lb_choices(&conn).await.unwrap();
        let shop = choices
            .iter()
            .find(|c| c.name == "shop-passthrough")
            .unwrap();
        assert!(shop.passthrough);
        let certs = list_certificates(&conn).await.unwrap();
        assert!(certs.iter().any(|c| c.kind == "lets_encrypt"));

        let report = crate::certs::check_load_balancer(
            &conn,
            &shop.id,
            "sandbox-shop.test",
            &Default::default(),
            |_| {},
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let md = export_report(&report, ReportFormat::Markdown, dir.path()).unwrap();
        let md_text = std::fs::read_to_string(&md).unwrap();
        assert!(md_text.contains("web-3"), "{md_text}");
        let json = export_report(&report, ReportFormat::Json, dir.path()).unwrap();
        assert_ne!(md, json);
        let back: FleetReport =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(back, report);

        let options = RehearseOptions {
            domains: vec!["sandbox-shop.test".into()],
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        };
        let config = from_load_balancer(&conn, &shop.id, &options).await.unwrap();
        let slot = BalancerSlot::default();
        let status = slot.start(config.clone()).unwrap();
        assert!(slot.start(config).is_err(), "one balancer at a time");
        let addr: SocketAddr = status.listen.parse().unwrap();
        assert_eq!(slot.addr(), Some(addr));
        let result =
            https_probe("sandbox-shop.test", "/", addr, conn.extra_ca_pem.as_deref()).await;
        let stats = slot.stats(status.run).unwrap();
        let stopped = slot.stop(Duration::from_secs(2)).await.unwrap();
        sandbox.shutdown().await;
        let result = result.unwrap();
        assert_eq!(result.status, 200, "{result:#?}");
        assert!(result.certificate.is_some());
        assert!(stats.total_connections >= 1);
        assert!(stopped.relayed_connections >= 1);
        assert!(slot.status().is_none());
    }
}
