//! `GET /v2/monitoring/metrics/load_balancer/<series>`: plausible load-balancer metrics in
//! DigitalOcean's shape (a Prometheus matrix), computed from the Sandbox's own state so graphs
//! and health verdicts work offline.
//!
//! Values are a function of (load balancer, droplet, series, timestamp) and of when droplets
//! were powered off — a daily sine with hashed noise — so the same window always answers the
//! same numbers (tests can compare, screenshots are stable) and nothing has to be stored.
//! Droplets behind a load balancer pass their health checks, except web-3, the Sandbox's odd
//! droplet (its own short-lived certificate, and here: failing health checks), so "unhealthy"
//! is visible without an account, and a droplet while it is powered off (`/_sandbox/droplets/
//! {id}/power`): from that moment it fails its checks, counts downtime and gets no traffic, and
//! passes again once powered on. A droplet not `active` with no such record fails throughout.
//!
//! Each sample is the check at its time, except the latest one in a window, which is the check
//! at the window's end (or now): a droplet stopped a second ago is unhealthy at once, as a deploy
//! script waiting on it needs, not at the next two-minute mark. `droplets_downtime` is 1 when
//! the droplet was down at any moment since the previous sample. A network load balancer answers its `frontend_nlb_*` and
//! firewall series and an empty matrix for HTTP ones; the others the reverse, as DigitalOcean
//! says the firewall series are only for network load balancers.
//!
//! Labels: `lb_id` on every series, `droplet_id` (and `droplet_name`) on per-droplet ones,
//! `code` (`2xx`…`5xx`) on response-class ones. DigitalOcean does not document its labels;
//! Cutover maps them defensively, and these are one plausible set.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use cutover_digitalocean::monitoring::series;
use serde_json::{json, Value};

use crate::api::Shared;
use crate::state::WEB_3;

/// DigitalOcean's sampling interval for load-balancer metrics (about two minutes).
const STEP: i64 = 120;
/// The most samples one series gets: a long window is answered at a coarser step, as
/// Prometheus does, so a response stays small.
const MAX_POINTS: i64 = 1500;

/// An error answer; `api.rs` turns it into DigitalOcean's error body.
pub(crate) struct MetricError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
}

impl MetricError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            id: "bad_request",
            message: message.into(),
        }
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            id: "not_found",
            message: message.into(),
        }
    }
}

/// What the series are computed from, taken out of the state under its lock.
struct Subject {
    lb_id: String,
    network_lb: bool,
    terminates_tls: bool,
    size_unit: f64,
    droplets: Vec<Member>,
}

struct Member {
    id: u64,
    name: String,
    /// Fails every check of the window (web-3; not `active` with no power record).
    always_failing: bool,
    /// When it was powered off, Unix milliseconds [from, until).
    off: Vec<(i64, i64)>,
}

impl Member {
    fn failing_at(&self, ms: i64) -> bool {
        self.always_failing
            || self
                .off
                .iter()
                .any(|&(from, until)| from <= ms && ms < until)
    }

    /// Down at some moment of (after_ms, until_ms].
    fn down_between(&self, after_ms: i64, until_ms: i64) -> bool {
        self.always_failing
            || self
                .off
                .iter()
                .any(|&(from, until)| from <= until_ms && until > after_ms + 1)
    }
}

/// The matrix for `series_name` over the query's window.
pub(crate) fn lb_metric(
    shared: &Shared,
    series_name: &str,
    query: &BTreeMap<String, String>,
) -> Result<Value, MetricError> {
    if !series::ALL.contains(&series_name) {
        return Err(MetricError::not_found(format!(
            "There is no load balancer metric named \"{series_name}\"."
        )));
    }
    let lb_id = query
        .get("lb_id")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MetricError::bad_request("lb_id is required."))?;
    let start = unix_seconds(query, "start")?;
    let end = unix_seconds(query, "end")?;
    if end <= start {
        return Err(MetricError::bad_request("end must be after start."));
    }
    let subject = subject(shared, lb_id)?;
    let applies = if subject.network_lb {
        !series::is_http_only(series_name)
    } else {
        !series::is_nlb_only(series_name)
    };
    let result = if applies {
        compute(
            &subject,
            series_name,
            start,
            end,
            crate::state::now_ms() as i64,
        )
    } else {
        Vec::new()
    };
    Ok(json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": result},
    }))
}

fn unix_seconds(query: &BTreeMap<String, String>, key: &str) -> Result<i64, MetricError> {
    let raw = query
        .get(key)
        .ok_or_else(|| MetricError::bad_request(format!("{key} is required.")))?;
    // Prometheus accepts fractional seconds; whole ones are what the samples are aligned to.
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1.0e11)
        .map(|v| v.floor() as i64)
        .ok_or_else(|| MetricError::bad_request(format!("{key} must be a UNIX timestamp.")))
}

fn subject(shared: &Shared, lb_id: &str) -> Result<Subject, MetricError> {
    // A panic while holding the lock leaves plain data behind: keep serving.
    let st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let index = st.lb_index(lb_id).ok_or_else(|| {
        MetricError::not_found("The resource you were accessing could not be found.")
    })?;
    let lb = st.render_lb(&st.load_balancers[index]);
    let droplets = lb["droplet_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_u64)
                .map(|id| {
                    let entry = st.droplet(id).map(|d| &d.droplet);
                    let active = entry.is_none_or(|d| d["status"] == "active");
                    let off: Vec<(i64, i64)> = shared
                        .droplet_off_spans(id)
                        .iter()
                        .map(|s| {
                            let until = s.until_ms.map_or(i64::MAX, |u| u as i64);
                            (s.from_ms as i64, until)
                        })
                        .collect();
                    Member {
                        id,
                        name: entry
                            .and_then(|d| d["name"].as_str())
                            .unwrap_or_default()
                            .to_string(),
                        always_failing: id == WEB_3 || (!active && off.is_empty()),
                        off,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let terminates_tls = lb["forwarding_rules"].as_array().is_some_and(|rules| {
        rules.iter().any(|r| {
            // A passthrough rule hands TLS to the droplets: no TLS at the load balancer.
            (r["entry_protocol"] == "https" || r["entry_protocol"] == "http2")
                && r["tls_passthrough"] != true
        })
    });
    Ok(Subject {
        lb_id: lb_id.to_string(),
        network_lb: lb["type"] == "REGIONAL_NETWORK",
        terminates_tls,
        size_unit: lb["size_unit"].as_f64().unwrap_or(1.0).max(1.0),
        droplets,
    })
}

/// FNV-1a: a stable hash (std's is randomised per process).
fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Noise in [0, 1) for (seed, t).
fn noise(seed: u64, t: i64) -> f64 {
    // splitmix64 of the pair: neighbouring timestamps give unrelated values.
    let mut z = seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Requests per second at `t` for a load balancer: a daily curve (busy afternoons, quiet nights,
/// phase by id) with ±10 % noise.
fn traffic(seed: u64, t: i64) -> f64 {
    let phase = (seed % 86_400) as f64;
    let day = ((t as f64 + phase) / 86_400.0) * std::f64::consts::TAU;
    let base = 20.0 + (seed % 40) as f64;
    base * (1.0 + 0.6 * day.sin()) * (0.9 + 0.2 * noise(seed, t))
}

/// The samples' times in [start, end] and the step between them.
fn timestamps(start: i64, end: i64) -> (Vec<i64>, i64) {
    let span = end - start;
    let step = STEP.max((span + MAX_POINTS - 1) / MAX_POINTS);
    // Aligned to the step, as Prometheus's range queries are, so windows share samples.
    let first = (start + step - 1).div_euclid(step) * step;
    let ts = (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= end)
        .collect();
    (ts, step)
}

fn text(v: f64) -> Value {
    if v.is_nan() {
        return json!("NaN");
    }
    // Four decimals: what a chart shows, and a response a tenth the size.
    let rounded = (v * 10_000.0).round() / 10_000.0;
    json!(format!("{rounded}"))
}

fn line(labels: Value, ts: &[i64], f: impl Fn(i64) -> f64) -> Value {
    let values: Vec<Value> = ts.iter().map(|t| json!([t, text(f(*t))])).collect();
    json!({"metric": labels, "values": values})
}

/// The share of responses in each class (2xx, 3xx, 4xx, 5xx).
const CLASSES: [(&str, f64); 4] = [("2xx", 0.9), ("3xx", 0.05), ("4xx", 0.04), ("5xx", 0.01)];

fn compute(subject: &Subject, name: &str, start: i64, end: i64, now_ms: i64) -> Vec<Value> {
    let (ts, step) = timestamps(start, end);
    let lb_seed = hash(&[subject.lb_id.as_bytes()]);
    let lb_labels = json!({"lb_id": subject.lb_id});
    // The moment sample `t` checks (ms): its own time, the window's end (or now) for the latest.
    let checked_at = |t: i64| {
        if t + step <= end {
            t * 1000
        } else {
            // `end` is whole seconds: up to its last millisecond, so a droplet stopped in the
            // second the window ends in is already seen.
            (end * 1000 + 999).min(now_ms).max(t * 1000)
        }
    };
    let serving = |t: i64| {
        let at = checked_at(t);
        let up = subject
            .droplets
            .iter()
            .filter(|d| !d.failing_at(at))
            .count();
        up.max(1) as f64
    };
    let rps = |t: i64| traffic(lb_seed, t);
    let units = subject.size_unit;
    if series::is_per_droplet(name) {
        let mut out = Vec::new();
        for d in &subject.droplets {
            let seed = hash(&[
                subject.lb_id.as_bytes(),
                &d.id.to_le_bytes(),
                name.as_bytes(),
            ]);
            let labels = |extra: Option<&str>| {
                let mut l = json!({
                    "lb_id": subject.lb_id,
                    "droplet_id": d.id.to_string(),
                    "droplet_name": d.name,
                });
                if let Some(code) = extra {
                    l["code"] = json!(code);
                }
                l
            };
            let failing = |t: i64| d.failing_at(checked_at(t));
            // A failing droplet gets no traffic: the load balancer has taken it out.
            let share = |t: i64| {
                if failing(t) {
                    0.0
                } else {
                    rps(t) / serving(t) * (0.9 + 0.2 * noise(seed, t))
                }
            };
            let latency = |t: i64, factor: f64| {
                if failing(t) {
                    // No responses, so no percentile: Prometheus says NaN.
                    f64::NAN
                } else {
                    factor * (0.02 + 0.01 * (rps(t) / 40.0) + 0.01 * noise(seed, t))
                }
            };
            match name {
                series::DROPLETS_HEALTH_CHECKS => {
                    out.push(line(
                        labels(None),
                        &ts,
                        |t| {
                            if failing(t) {
                                0.0
                            } else {
                                1.0
                            }
                        },
                    ))
                }
                series::DROPLETS_DOWNTIME => out.push(line(labels(None), &ts, |t| {
                    if d.down_between((t - step) * 1000, checked_at(t)) {
                        1.0
                    } else {
                        0.0
                    }
                })),
                series::DROPLETS_CONNECTIONS => {
                    out.push(line(labels(None), &ts, |t| (share(t) * 0.8).round()))
                }
                series::DROPLETS_QUEUE_SIZE => out.push(line(labels(None), &ts, |_| 0.0)),
                series::DROPLETS_HTTP_RESPONSES => {
                    for (code, part) in CLASSES {
                        out.push(line(labels(Some(code)), &ts, |t| share(t) * part));
                    }
                }
                series::DROPLETS_HTTP_RESPONSE_TIME_AVG
                | series::DROPLETS_HTTP_SESSION_DURATION_AVG => {
                    out.push(line(labels(None), &ts, |t| latency(t, 1.0)))
                }
                series::DROPLETS_HTTP_RESPONSE_TIME_50P
                | series::DROPLETS_HTTP_SESSION_DURATION_50P => {
                    out.push(line(labels(None), &ts, |t| latency(t, 0.8)))
                }
                series::DROPLETS_HTTP_RESPONSE_TIME_95P
                | series::DROPLETS_HTTP_SESSION_DURATION_95P => {
                    out.push(line(labels(None), &ts, |t| latency(t, 2.5)))
                }
                _ => out.push(line(labels(None), &ts, |t| latency(t, 4.0))),
            }
        }
        return out;
    }
    let tls = if subject.terminates_tls { 0.3 } else { 0.0 };
    let f: Box<dyn Fn(i64) -> f64> = match name {
        series::FRONTEND_HTTP_RESPONSES => {
            return CLASSES
                .iter()
                .map(|(code, part)| {
                    line(json!({"lb_id": subject.lb_id, "code": code}), &ts, |t| {
                        rps(t) * part
                    })
                })
                .collect();
        }
        series::FRONTEND_HTTP_REQUESTS_PER_SECOND => Box::new(rps),
        series::FRONTEND_CONNECTIONS_CURRENT => Box::new(move |t| (rps(t) * 0.8).round()),
        // DigitalOcean: 10,000 simultaneous connections per node.
        series::FRONTEND_CONNECTIONS_LIMIT => Box::new(move |_| 10_000.0 * units),
        series::FRONTEND_TLS_CONNECTIONS_CURRENT => Box::new(move |t| (rps(t) * tls).round()),
        // DigitalOcean: 250 new TLS connections per second per node.
        series::FRONTEND_TLS_CONNECTIONS_LIMIT => Box::new(move |_| 250.0 * units),
        series::FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT => Box::new(|_| 0.0),
        series::FRONTEND_NETWORK_THROUGHPUT_HTTP => Box::new(move |t| rps(t) * 16_000.0),
        series::FRONTEND_NETWORK_THROUGHPUT_TCP => Box::new(move |t| rps(t) * 18_000.0),
        series::FRONTEND_NETWORK_THROUGHPUT_UDP => Box::new(|_| 0.0),
        series::FRONTEND_CPU_UTILIZATION => Box::new(move |t| 3.0 + rps(t) / 8.0),
        series::FRONTEND_NLB_TCP_NETWORK_THROUGHPUT => Box::new(move |t| rps(t) * 20_000.0),
        series::FRONTEND_NLB_UDP_NETWORK_THROUGHPUT => Box::new(|_| 0.0),
        series::FRONTEND_FIREWALL_DROPPED_BYTES => {
            Box::new(move |t| (noise(lb_seed ^ 7, t) * 400.0).round())
        }
        _ => Box::new(move |t| (noise(lb_seed ^ 9, t) * 5.0).round()),
    };
    vec![line(lb_labels, &ts, f)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_aligned_and_capped() {
        let (ts, step) = timestamps(1_000, 4_600);
        assert_eq!(step, STEP);
        assert_eq!(ts.first(), Some(&1_080));
        assert!(ts.windows(2).all(|w| w[1] - w[0] == STEP));
        let (week, _) = timestamps(0, 7 * 86_400);
        assert!(week.len() as i64 <= MAX_POINTS + 1, "{}", week.len());
    }

    fn subject(off: Vec<(i64, i64)>) -> Subject {
        let member = |id: u64, name: &str, off: Vec<(i64, i64)>| Member {
            id,
            name: name.to_string(),
            always_failing: false,
            off,
        };
        Subject {
            lb_id: "lb".to_string(),
            network_lb: false,
            terminates_tls: false,
            size_unit: 1.0,
            droplets: vec![member(1, "web-1", Vec::new()), member(2, "web-2", off)],
        }
    }

    /// web-2's values of `name` as (time, value).
    fn web2(subject: &Subject, name: &str, end: i64, now_ms: i64) -> Vec<(i64, String)> {
        let lines = compute(subject, name, end - 3600, end, now_ms);
        let line = lines
            .iter()
            .find(|l| l["metric"]["droplet_name"] == "web-2")
            .expect("a web-2 line");
        line["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v[0].as_i64().unwrap(), v[1].as_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn a_droplet_powered_off_fails_from_that_moment_and_passes_once_on_again() {
        // Between two samples (every 120 s): the latest sample is the check at the window's end.
        let end = 1_000_000 * 120 + 50;
        let now_ms = end * 1000;
        let stopped_ms = now_ms - 10_000;
        let off = subject(vec![(stopped_ms, i64::MAX)]);
        let checks = web2(&off, series::DROPLETS_HEALTH_CHECKS, end, now_ms);
        assert_eq!(checks.last().unwrap().1, "0", "unhealthy at once");
        assert!(checks[..checks.len() - 1].iter().all(|(_, v)| v == "1"));
        let down = web2(&off, series::DROPLETS_DOWNTIME, end, now_ms);
        assert_eq!(down.last().unwrap().1, "1");
        assert!(down[..down.len() - 1].iter().all(|(_, v)| v == "0"));
        let conns = web2(&off, series::DROPLETS_CONNECTIONS, end, now_ms);
        assert_eq!(conns.last().unwrap().1, "0", "no traffic while off");
        let p95 = web2(&off, series::DROPLETS_HTTP_RESPONSE_TIME_95P, end, now_ms);
        assert_eq!(p95.last().unwrap().1, "NaN");
        // web-1 takes all of it meanwhile.
        let web1 = compute(
            &off,
            series::DROPLETS_HEALTH_CHECKS,
            end - 3600,
            end,
            now_ms,
        );
        assert!(web1[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v[1] == "1"));

        // Off for ten minutes, on again a second ago: passing now, the downtime stays in the
        // samples it covered.
        let cycled = subject(vec![(now_ms - 600_000, now_ms - 1_000)]);
        let checks = web2(&cycled, series::DROPLETS_HEALTH_CHECKS, end, now_ms);
        assert_eq!(checks.last().unwrap().1, "1", "healthy again at once");
        let failed = checks.iter().filter(|(_, v)| v == "0").count();
        assert!((4..=5).contains(&failed), "{failed} samples failed");
        let down = web2(&cycled, series::DROPLETS_DOWNTIME, end, now_ms);
        assert_eq!(
            down.last().unwrap().1,
            "1",
            "down since the previous sample"
        );
        let down_samples = down.iter().filter(|(_, v)| v == "1").count();
        assert!(down_samples > failed, "{down_samples} vs {failed}");

        // Never off: the same numbers as a droplet with no record.
        let never = subject(Vec::new());
        assert!(web2(&never, series::DROPLETS_DOWNTIME, end, now_ms)
            .iter()
            .all(|(_, v)| v == "0"));
    }

    #[test]
    fn noise_is_deterministic_and_in_range() {
        for t in 0..1000 {
            let n = noise(42, t);
            assert!((0.0..1.0).contains(&n));
            assert_eq!(n, noise(42, t));
        }
        assert!(traffic(7, 0) > 0.0);
    }
}
