//! Many backends at once, and the cross-backend comparison (anchors.md §2.3, X1–X5).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use futures::{Stream, StreamExt};

use crate::checks::{check_backend, describe, name_matches};
use crate::model::*;
use crate::probe::{probe_with, ProbeContext};

/// Default number of backends probed at the same time.
pub const DEFAULT_CONCURRENCY: usize = 32;

const DAY: i64 = 86_400;

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Judge one probe result: findings, worst severity and the `openssl` line.
pub fn backend_report(probe: ProbeResult) -> BackendReport {
    let mut findings = check_backend(&probe, now_unix());
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let severity = findings.iter().map(|f| f.severity).max();
    let t = &probe.target;
    let mut openssl_command = format!("openssl s_client -connect {}", t.addr);
    if let Some(sni) = &t.sni {
        openssl_command.push_str(&format!(" -servername {sni}"));
    }
    openssl_command.push_str(" -showcerts");
    BackendReport {
        label: t.label.clone(),
        address: t.addr.to_string(),
        display_host: t.display_host.clone(),
        protocol: probe.tls.as_ref().map(|s| s.version.clone()),
        leaf: probe.leaf().cloned(),
        severity,
        findings,
        openssl_command,
        probe,
    }
}

/// Probe every target, at most `concurrency` at a time, each on its own task (handshakes cost
/// CPU, so they should use every core), yielding each report as soon as it is ready. Poll it
/// inside a Tokio runtime. Every probe ends within about `opts.timeout`.
pub fn probe_all(
    targets: Vec<ProbeTarget>,
    opts: ProbeOptions,
    concurrency: usize,
) -> impl Stream<Item = BackendReport> + Send + 'static {
    let ctx = Arc::new(ProbeContext::new(&opts));
    let proxy_protocol = opts.proxy_protocol;
    futures::stream::iter(targets)
        .map(move |target| {
            let ctx = ctx.clone();
            async move {
                let spawned = {
                    let target = target.clone();
                    tokio::spawn(async move { backend_report(probe_with(&ctx, &target).await) })
                };
                match spawned.await {
                    Ok(report) => report,
                    // A panic inside one probe must not take the others down: report it.
                    Err(err) => backend_report(ProbeResult {
                        failure: Some(ProbeFailure {
                            kind: FailureKind::HandshakeFailed,
                            message: format!("the probe itself failed: {err}"),
                        }),
                        ..empty_probe(target, proxy_protocol)
                    }),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
}

/// A backend that could not even be probed (e.g. a droplet without a public address): a report
/// with the failure, so that it shows up in the fleet instead of silently missing.
pub fn unprobed_report(target: ProbeTarget, kind: FailureKind, message: String) -> BackendReport {
    backend_report(ProbeResult {
        failure: Some(ProbeFailure { kind, message }),
        ..empty_probe(target, None)
    })
}

/// [`probe_all`] driven to the end: calls `on_result` for each report as it arrives and returns
/// them all in the order of `targets` (for callers that want a callback, not a stream).
pub async fn probe_each(
    targets: Vec<ProbeTarget>,
    opts: ProbeOptions,
    concurrency: usize,
    mut on_result: impl FnMut(&BackendReport),
) -> Vec<BackendReport> {
    let order: HashMap<(String, std::net::SocketAddr), usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| ((t.label.clone(), t.addr), i))
        .collect();
    let mut stream = std::pin::pin!(probe_all(targets, opts, concurrency));
    let mut reports = Vec::new();
    while let Some(report) = stream.next().await {
        on_result(&report);
        reports.push(report);
    }
    reports.sort_by_key(|r| {
        order
            .get(&(r.label.clone(), r.probe.target.addr))
            .copied()
            .unwrap_or(usize::MAX)
    });
    reports
}

fn empty_probe(target: ProbeTarget, proxy_protocol: Option<ProxyVersion>) -> ProbeResult {
    ProbeResult {
        target,
        proxy_protocol,
        connected: false,
        connect_ms: None,
        handshake_ms: None,
        tls: None,
        failure: None,
        chain: Vec::new(),
        chain_sent: 0,
        ocsp_stapled: false,
        ocsp_staple_bytes: 0,
        handshake_signature_ok: None,
        trust: Vec::new(),
        default_certificate: None,
    }
}

fn is_bad(r: &BackendReport) -> bool {
    r.severity.is_some_and(|s| s >= Severity::Error)
}

fn group_name(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    match letters.get(i) {
        Some(&c) => (c as char).to_string(),
        None => format!("#{}", i + 1),
    }
}

/// Compare the backends and give the verdict. Backends are kept in the order given.
pub fn build_report(domain: &str, backends: Vec<BackendReport>) -> FleetReport {
    build_report_at(domain, backends, now_unix())
}

pub(crate) fn build_report_at(domain: &str, backends: Vec<BackendReport>, now: i64) -> FleetReport {
    let mut findings = Vec::new();

    // Group by leaf fingerprint; A is the most common, ties by first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut members: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, b) in backends.iter().enumerate() {
        if let Some(leaf) = &b.leaf {
            if !members.contains_key(&leaf.sha256) {
                order.push(leaf.sha256.clone());
            }
            members.entry(leaf.sha256.clone()).or_default().push(i);
        }
    }
    order.sort_by_key(|fp| std::cmp::Reverse(members.get(fp).map_or(0, Vec::len)));
    let groups: Vec<CertGroup> = order
        .iter()
        .enumerate()
        .filter_map(|(gi, fp)| {
            let idx = members.get(fp)?;
            let leaf = backends.get(*idx.first()?)?.leaf.as_ref()?;
            Some(CertGroup {
                name: group_name(gi),
                sha256: fp.clone(),
                subject: leaf.subject.clone(),
                not_after: leaf.not_after.clone(),
                backends: idx.iter().map(|&i| backends[i].label.clone()).collect(),
            })
        })
        .collect();

    if groups.len() > 1 {
        let any_bad = backends.iter().any(is_bad);
        let severity = if any_bad {
            Severity::Error
        } else {
            Severity::Warning
        };
        let listing: Vec<String> = groups
            .iter()
            .map(|g| format!("{} on {}", g.name, g.backends.join(", ")))
            .collect();
        let mut f = Finding::new(
            FindingCode::FleetFingerprintMismatch,
            severity,
            format!(
                "The backends serve {} different certificates for {domain}: {}. With SSL passthrough, clients get a different certificate depending on the backend they land on.",
                groups.len(),
                listing.join("; ")
            ),
        );
        for g in &groups {
            f = f.with(
                &format!("certificate {}", g.name),
                format!("{} ({})", g.sha256, g.backends.join(", ")),
            );
        }
        findings.push(f);
    }

    // Same leaf, different chains.
    for g in &groups {
        let Some(idx) = members.get(&g.sha256) else {
            continue;
        };
        let mut chains: Vec<(Vec<String>, Vec<&BackendReport>)> = Vec::new();
        for &i in idx {
            let b = &backends[i];
            let chain: Vec<String> = b.probe.chain.iter().map(|c| c.sha256.clone()).collect();
            match chains.iter_mut().find(|(c, _)| *c == chain) {
                Some((_, list)) => list.push(b),
                None => chains.push((chain, vec![b])),
            }
        }
        if chains.len() > 1 {
            let bad = idx.iter().any(|&i| {
                backends[i].findings.iter().any(|f| {
                    matches!(
                        f.code,
                        FindingCode::ChainIncomplete | FindingCode::ChainUntrusted
                    )
                })
            });
            let listing: Vec<String> = chains
                .iter()
                .map(|(c, list)| {
                    format!(
                        "{} sends {} certificate{}",
                        list.iter()
                            .map(|b| b.label.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.len(),
                        if c.len() == 1 { "" } else { "s" }
                    )
                })
                .collect();
            findings.push(
                Finding::new(
                    FindingCode::FleetChainMismatch,
                    if bad {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "Certificate {} is served with different chains: {}.",
                        g.name,
                        listing.join("; ")
                    ),
                )
                .with("sha256", g.sha256.clone()),
            );
        }
    }

    // Expiry spread across the leaves actually served.
    let expiries: Vec<(i64, &BackendReport)> = backends
        .iter()
        .filter_map(|b| b.leaf.as_ref().map(|l| (l.not_after_unix, b)))
        .collect();
    if let (Some(min), Some(max)) = (
        expiries.iter().min_by_key(|e| e.0),
        expiries.iter().max_by_key(|e| e.0),
    ) {
        let spread = max.0 - min.0;
        if spread > 7 * DAY {
            findings.push(
                Finding::new(
                    FindingCode::FleetExpirySpread,
                    Severity::Warning,
                    format!(
                        "Expiry dates differ by {} days: {} expires first ({}), {} last ({}). The renewal has not reached every backend.",
                        spread / DAY,
                        min.1.label,
                        min.1.leaf.as_ref().map(|l| l.not_after.as_str()).unwrap_or(""),
                        max.1.label,
                        max.1.leaf.as_ref().map(|l| l.not_after.as_str()).unwrap_or(""),
                    ),
                )
                .with("spread_days", (spread / DAY).to_string()),
            );
        }
    }

    // Negotiated protocol and ALPN.
    let sessions: Vec<(&BackendReport, &TlsSession)> = backends
        .iter()
        .filter_map(|b| b.probe.tls.as_ref().map(|s| (b, s)))
        .collect();
    let versions: BTreeSet<&str> = sessions.iter().map(|(_, s)| s.version.as_str()).collect();
    let alpns: BTreeSet<Option<&str>> = sessions.iter().map(|(_, s)| s.alpn.as_deref()).collect();
    if versions.len() > 1 || alpns.len() > 1 {
        let listing: Vec<String> = sessions
            .iter()
            .map(|(b, s)| {
                format!(
                    "{} {}/{}",
                    b.label,
                    s.version,
                    s.alpn.as_deref().unwrap_or("no ALPN")
                )
            })
            .collect();
        findings.push(
            Finding::new(
                FindingCode::FleetProtocolMismatch,
                Severity::Warning,
                format!(
                    "The backends do not negotiate the same TLS version and ALPN, so clients behave differently from one request to the next: {}.",
                    listing.join(", ")
                ),
            )
            .with("versions", versions.iter().copied().collect::<Vec<_>>().join(", "))
            .with(
                "alpn",
                alpns
                    .iter()
                    .map(|a| a.unwrap_or("none"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
    }

    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let verdict = verdict(domain, &backends, &groups, &findings, now);
    let mut report = FleetReport {
        domain: domain.to_string(),
        backends,
        groups,
        findings,
        verdict,
        remedy: None,
        recheck: None,
    };
    report.remedy = crate::remedy::remedy_at(&report, now, None);
    report
}

fn leaf_state(leaf: &CertInfo, domain: &str, now: i64) -> String {
    if now > leaf.not_after_unix {
        format!(
            "which expired {} days ago",
            (now - leaf.not_after_unix) / DAY
        )
    } else if !name_matches(leaf, domain) {
        format!("which is not valid for {domain}")
    } else {
        let left = leaf.not_after_unix - now;
        // Rounded to the nearest day: 2 days 23 hours reads as "3 days".
        let days = (left + DAY / 2) / DAY;
        if left < DAY {
            "which expires within a day".to_string()
        } else if days == 1 {
            "which expires in 1 day".to_string()
        } else {
            format!("which expires in {days} days")
        }
    }
}

fn verdict(
    domain: &str,
    backends: &[BackendReport],
    groups: &[CertGroup],
    fleet: &[Finding],
    now: i64,
) -> Verdict {
    let severity = backends
        .iter()
        .filter_map(|b| b.severity)
        .chain(fleet.iter().map(|f| f.severity))
        .max();
    let ok = severity.is_none_or(|s| s < Severity::Error);
    let n = backends.len();
    if n == 0 {
        return Verdict {
            severity,
            ok,
            summary: "No backends to check.".into(),
        };
    }
    let by_label: HashMap<&str, &BackendReport> =
        backends.iter().map(|b| (b.label.as_str(), b)).collect();
    let mut parts = Vec::new();
    if let Some(a) = groups.first() {
        let of = if a.backends.len() == n {
            format!("All {n} backends serve certificate A")
        } else {
            format!("{} of {n} backends serve certificate A", a.backends.len())
        };
        parts.push(of);
        for g in groups.iter().skip(1) {
            let who: Vec<String> = g
                .backends
                .iter()
                .filter_map(|l| by_label.get(l.as_str()))
                .map(|b| describe(&b.probe.target))
                .collect();
            let state = by_label
                .get(g.backends.first().map(String::as_str).unwrap_or(""))
                .and_then(|b| b.leaf.as_ref())
                .map(|l| leaf_state(l, domain, now))
                .unwrap_or_default();
            parts.push(format!(
                "{} serve{} {}, {state}",
                who.join(", "),
                if who.len() == 1 { "s" } else { "" },
                g.name
            ));
        }
    }
    let failed: Vec<String> = backends
        .iter()
        .filter(|b| b.leaf.is_none())
        .map(|b| {
            let why = b
                .probe
                .failure
                .as_ref()
                .map(|f| match f.kind {
                    FailureKind::Unreachable => "unreachable",
                    FailureKind::Timeout => "timed out",
                    FailureKind::NotTls => "does not speak TLS",
                    FailureKind::HandshakeFailed => "TLS handshake failed",
                })
                .unwrap_or("no certificate");
            format!("{} could not be checked ({why})", describe(&b.probe.target))
        })
        .collect();
    parts.extend(failed);
    let mut summary = parts.join("; ");
    // With one certificate everywhere, say what is wrong with it, if anything.
    if groups.len() <= 1 {
        // Backends that could not be checked are already named above.
        let worst = backends
            .iter()
            .filter(|b| b.leaf.is_some())
            .flat_map(|b| b.findings.iter())
            .chain(fleet.iter())
            .filter(|f| f.severity >= Severity::Warning)
            .max_by_key(|f| f.severity);
        match worst {
            Some(f) if groups.len() == 1 => {
                summary.push_str(&format!(", but: {}", f.message));
            }
            None if groups.len() == 1 => summary.push_str(" and it checks out."),
            _ => {}
        }
    }
    Verdict {
        severity,
        ok,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(label: &str, host: &str, fp: &str, not_after: i64, alpn: &str) -> BackendReport {
        let leaf = CertInfo {
            sha256: fp.into(),
            sans: vec!["shop.test".into()],
            not_before_unix: not_after - 90 * DAY,
            not_after_unix: not_after,
            ..CertInfo::default()
        };
        let mut probe = empty_probe(
            ProbeTarget {
                label: label.into(),
                addr: "127.0.0.1:443".parse().unwrap(),
                display_host: host.into(),
                sni: Some("shop.test".into()),
            },
            None,
        );
        probe.chain = vec![leaf.clone()];
        probe.tls = Some(TlsSession {
            version: "TLSv1.3".into(),
            cipher_suite: "x".into(),
            alpn: Some(alpn.into()),
        });
        BackendReport {
            label: label.into(),
            address: "127.0.0.1:443".into(),
            display_host: host.into(),
            protocol: Some("TLSv1.3".into()),
            leaf: Some(leaf),
            severity: None,
            findings: vec![],
            openssl_command: String::new(),
            probe,
        }
    }

    #[test]
    fn the_odd_one_out_is_named_in_the_summary() {
        let now = 1_000 * DAY;
        let r = build_report_at(
            "shop.test",
            vec![
                report("web-1", "10.0.0.1", "aa", now + 60 * DAY, "h2"),
                report("web-3", "10.0.0.3", "bb", now + 3 * DAY - 3600, "h2"),
                report("web-2", "10.0.0.2", "aa", now + 60 * DAY, "h2"),
            ],
            now,
        );
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[0].backends, vec!["web-1", "web-2"]);
        assert_eq!(
            r.verdict.summary,
            "2 of 3 backends serve certificate A; web-3 (10.0.0.3) serves B, which expires in 3 days"
        );
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&FindingCode::FleetFingerprintMismatch));
        assert!(codes.contains(&FindingCode::FleetExpirySpread));
        assert!(!codes.contains(&FindingCode::FleetProtocolMismatch));
    }

    #[test]
    fn alpn_difference_is_a_protocol_mismatch() {
        let now = 1_000 * DAY;
        let r = build_report_at(
            "shop.test",
            vec![
                report("a", "a", "aa", now + 60 * DAY, "h2"),
                report("b", "b", "aa", now + 60 * DAY, "http/1.1"),
            ],
            now,
        );
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].code, FindingCode::FleetProtocolMismatch);
        assert!(r.verdict.ok);
    }
}
