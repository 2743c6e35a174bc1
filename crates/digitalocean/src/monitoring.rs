//! Load-balancer monitoring metrics: `GET /v2/monitoring/metrics/load_balancer/<series>`
//! (`lb_id`, `start`, `end` in Unix seconds; the token needs `monitoring:read`).
//!
//! The answer is a Prometheus range-query matrix:
//! `{status, data: {resultType: "matrix", result: [{metric: {…}, values: [[ts, "v"], …]}]}}`.
//! The labels in `metric` are undocumented and differ between series, so they are kept exactly
//! as they come (a map); mapping them to droplets is the caller's job. Decoding is lenient where
//! Prometheus is loose (timestamps may be integers, floats or strings; values are strings that
//! may read `NaN` or `+Inf`) and strict where a wrong shape would silently mislead (a `status`
//! other than `success`, a `resultType` other than `matrix`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

/// The series names, as the path's last segment.
pub mod series {
    // Per droplet behind the load balancer.
    pub const DROPLETS_HEALTH_CHECKS: &str = "droplets_health_checks";
    pub const DROPLETS_DOWNTIME: &str = "droplets_downtime";
    pub const DROPLETS_CONNECTIONS: &str = "droplets_connections";
    pub const DROPLETS_QUEUE_SIZE: &str = "droplets_queue_size";
    pub const DROPLETS_HTTP_RESPONSES: &str = "droplets_http_responses";
    pub const DROPLETS_HTTP_RESPONSE_TIME_AVG: &str = "droplets_http_response_time_avg";
    pub const DROPLETS_HTTP_RESPONSE_TIME_50P: &str = "droplets_http_response_time_50p";
    pub const DROPLETS_HTTP_RESPONSE_TIME_95P: &str = "droplets_http_response_time_95p";
    pub const DROPLETS_HTTP_RESPONSE_TIME_99P: &str = "droplets_http_response_time_99p";
    pub const DROPLETS_HTTP_SESSION_DURATION_AVG: &str = "droplets_http_session_duration_avg";
    pub const DROPLETS_HTTP_SESSION_DURATION_50P: &str = "droplets_http_session_duration_50p";
    pub const DROPLETS_HTTP_SESSION_DURATION_95P: &str = "droplets_http_session_duration_95p";
    // The load balancer's frontend.
    pub const FRONTEND_HTTP_REQUESTS_PER_SECOND: &str = "frontend_http_requests_per_second";
    pub const FRONTEND_HTTP_RESPONSES: &str = "frontend_http_responses";
    pub const FRONTEND_CONNECTIONS_CURRENT: &str = "frontend_connections_current";
    pub const FRONTEND_CONNECTIONS_LIMIT: &str = "frontend_connections_limit";
    pub const FRONTEND_TLS_CONNECTIONS_CURRENT: &str = "frontend_tls_connections_current";
    pub const FRONTEND_TLS_CONNECTIONS_LIMIT: &str = "frontend_tls_connections_limit";
    pub const FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT: &str =
        "frontend_tls_connections_exceeding_rate_limit";
    pub const FRONTEND_NETWORK_THROUGHPUT_HTTP: &str = "frontend_network_throughput_http";
    pub const FRONTEND_NETWORK_THROUGHPUT_TCP: &str = "frontend_network_throughput_tcp";
    pub const FRONTEND_NETWORK_THROUGHPUT_UDP: &str = "frontend_network_throughput_udp";
    pub const FRONTEND_CPU_UTILIZATION: &str = "frontend_cpu_utilization";
    // Network load balancers only (the spec says so of the firewall series).
    pub const FRONTEND_NLB_TCP_NETWORK_THROUGHPUT: &str = "frontend_nlb_tcp_network_throughput";
    pub const FRONTEND_NLB_UDP_NETWORK_THROUGHPUT: &str = "frontend_nlb_udp_network_throughput";
    pub const FRONTEND_FIREWALL_DROPPED_BYTES: &str = "frontend_firewall_dropped_bytes";
    pub const FRONTEND_FIREWALL_DROPPED_PACKETS: &str = "frontend_firewall_dropped_packets";

    /// Every load-balancer series the spec documents.
    pub const ALL: &[&str] = &[
        DROPLETS_HEALTH_CHECKS,
        DROPLETS_DOWNTIME,
        DROPLETS_CONNECTIONS,
        DROPLETS_QUEUE_SIZE,
        DROPLETS_HTTP_RESPONSES,
        DROPLETS_HTTP_RESPONSE_TIME_AVG,
        DROPLETS_HTTP_RESPONSE_TIME_50P,
        DROPLETS_HTTP_RESPONSE_TIME_95P,
        DROPLETS_HTTP_RESPONSE_TIME_99P,
        DROPLETS_HTTP_SESSION_DURATION_AVG,
        DROPLETS_HTTP_SESSION_DURATION_50P,
        DROPLETS_HTTP_SESSION_DURATION_95P,
        FRONTEND_HTTP_REQUESTS_PER_SECOND,
        FRONTEND_HTTP_RESPONSES,
        FRONTEND_CONNECTIONS_CURRENT,
        FRONTEND_CONNECTIONS_LIMIT,
        FRONTEND_TLS_CONNECTIONS_CURRENT,
        FRONTEND_TLS_CONNECTIONS_LIMIT,
        FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT,
        FRONTEND_NETWORK_THROUGHPUT_HTTP,
        FRONTEND_NETWORK_THROUGHPUT_TCP,
        FRONTEND_NETWORK_THROUGHPUT_UDP,
        FRONTEND_CPU_UTILIZATION,
        FRONTEND_NLB_TCP_NETWORK_THROUGHPUT,
        FRONTEND_NLB_UDP_NETWORK_THROUGHPUT,
        FRONTEND_FIREWALL_DROPPED_BYTES,
        FRONTEND_FIREWALL_DROPPED_PACKETS,
    ];

    /// Whether the series is one value per droplet behind the load balancer.
    pub fn is_per_droplet(name: &str) -> bool {
        name.starts_with("droplets_")
    }

    /// Series that only regional (application) load balancers have: HTTP, TLS and their
    /// throughput split; a network load balancer has its `frontend_nlb_*` series instead.
    pub fn is_http_only(name: &str) -> bool {
        name.contains("_http_")
            || name == FRONTEND_TLS_CONNECTIONS_CURRENT
            || name == FRONTEND_TLS_CONNECTIONS_LIMIT
            || name == FRONTEND_TLS_CONNECTIONS_EXCEEDING_RATE_LIMIT
            || name == FRONTEND_NETWORK_THROUGHPUT_TCP
            || name == FRONTEND_NETWORK_THROUGHPUT_UDP
    }

    /// Series that only exist for network load balancers.
    pub fn is_nlb_only(name: &str) -> bool {
        name.starts_with("frontend_nlb_") || name.starts_with("frontend_firewall_")
    }
}

/// One line of a matrix: its labels and its samples in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The labels exactly as the API sent them (non-string values written as JSON text).
    pub labels: BTreeMap<String, String>,
    /// (Unix seconds, value). `NaN` and infinities are kept: they are the API's word, and what a
    /// gap or an overflow looks like is for the caller to decide.
    pub samples: Vec<(i64, f64)>,
}

/// A decoded matrix answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricMatrix {
    pub series: Vec<MetricSeries>,
    /// Samples that could not be read (a value that is not a number, a pair of the wrong
    /// shape): skipped rather than failing the whole answer, and counted so it is not silent.
    pub skipped_samples: usize,
}

/// Whether `name` can be sent as a series path segment (letters, digits, `_`): the path is
/// built from it, so anything else is refused before a request is made.
fn valid_series_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Client {
    /// `GET /v2/monitoring/metrics/load_balancer/<series>?lb_id=&start=&end=`: one series of one
    /// load balancer over `[start, end]` (Unix seconds). Any series name of the right form is
    /// sent (the API may add series); [`series::ALL`] lists the documented ones.
    pub async fn lb_metric(
        &self,
        series: &str,
        lb_id: &str,
        start: i64,
        end: i64,
    ) -> Result<MetricMatrix> {
        if !valid_series_name(series) {
            return Err(Error::Config {
                message: format!("\"{series}\" is not a metric series name"),
            });
        }
        if lb_id.trim().is_empty() {
            return Err(Error::Config {
                message: "no load balancer id was given for the metrics".into(),
            });
        }
        let path = format!("/v2/monitoring/metrics/load_balancer/{series}");
        let query = [
            ("lb_id", lb_id.trim().to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
        ];
        let (body, request_id) = self.get_raw(&path, &query).await?;
        decode_matrix(&body).map_err(|message| Error::Decode {
            message: format!("the {series} metrics: {message}"),
            request_id,
            resource: Some(series.to_string()),
            field: None,
        })
    }
}

/// Decodes a matrix answer; the error says what was wrong with it.
pub fn decode_matrix(body: &[u8]) -> std::result::Result<MetricMatrix, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let status = value.get("status").and_then(Value::as_str).unwrap_or("");
    if status != "success" {
        // Prometheus puts the reason in `error`; say it rather than "no data".
        let why = value
            .get("error")
            .and_then(Value::as_str)
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(format!("the answer's status is \"{status}\"{why}"));
    }
    let data = value
        .get("data")
        .ok_or_else(|| "the answer has no \"data\"".to_string())?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        other => {
            return Err(format!(
                "expected a matrix, the answer's resultType is {}",
                other.map_or("missing".to_string(), |t| format!("\"{t}\""))
            ))
        }
    }
    let result = match data.get("result") {
        Some(Value::Array(items)) => items.as_slice(),
        // An empty range comes back as `null` from some Prometheus front ends.
        Some(Value::Null) | None => &[],
        Some(_) => return Err("\"data.result\" is not a list".into()),
    };
    let mut matrix = MetricMatrix::default();
    for (i, item) in result.iter().enumerate() {
        let labels = match item.get("metric") {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
            Some(Value::Null) | None => BTreeMap::new(),
            Some(_) => return Err(format!("result[{i}].metric is not an object")),
        };
        let raw = match item.get("values") {
            Some(Value::Array(values)) => values.as_slice(),
            Some(Value::Null) | None => &[],
            Some(_) => return Err(format!("result[{i}].values is not a list")),
        };
        let mut samples = Vec::with_capacity(raw.len());
        for pair in raw {
            match sample(pair) {
                Some(s) => samples.push(s),
                None => matrix.skipped_samples += 1,
            }
        }
        // Prometheus sends them in order; a proxy that merged answers might not.
        samples.sort_by_key(|(t, _)| *t);
        matrix.series.push(MetricSeries { labels, samples });
    }
    Ok(matrix)
}

/// `[ts, "v"]` → (Unix seconds, value); `None` when it is not a readable pair.
fn sample(pair: &Value) -> Option<(i64, f64)> {
    let [ts, v] = pair.as_array()?.as_slice() else {
        return None;
    };
    let ts = number(ts)?;
    if !ts.is_finite() {
        return None;
    }
    // Prometheus timestamps may carry milliseconds as a fraction: whole seconds are enough here.
    Some((ts.floor() as i64, number(v)?))
}

/// A JSON number or a string holding one (`"NaN"`, `"+Inf"`, `"-Inf"` included).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            // Rust reads "inf"/"nan" case-insensitively with an optional sign, which covers
            // Prometheus's "+Inf", "-Inf" and "NaN".
            s.parse::<f64>().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_real_shaped_matrix_with_odd_labels_and_nan() {
        let body = json!({
            "status": "success",
            "data": {"resultType": "matrix", "result": [
                {"metric": {"lb_id": "abc", "server": "10.0.0.2:80", "weird label": 7},
                 "values": [[1700000120, "1"], [1700000000.5, "NaN"], [1700000240, "+Inf"]]},
                {"metric": {}, "values": [[1700000000, "0.25"], ["1700000120", 3], [1, "x"], [2]]}
            ]}
        });
        let m = decode_matrix(body.to_string().as_bytes()).unwrap();
        assert_eq!(m.series.len(), 2);
        let first = &m.series[0];
        assert_eq!(first.labels["server"], "10.0.0.2:80");
        assert_eq!(first.labels["weird label"], "7");
        // Sorted by time; the fraction dropped; NaN and +Inf kept.
        assert_eq!(first.samples[0].0, 1_700_000_000);
        assert!(first.samples[0].1.is_nan());
        assert_eq!(first.samples[1], (1_700_000_120, 1.0));
        assert_eq!(first.samples[2].1, f64::INFINITY);
        let second = &m.series[1];
        assert!(second.labels.is_empty());
        assert_eq!(
            second.samples,
            vec![(1_700_000_000, 0.25), (1_700_000_120, 3.0)]
        );
        assert_eq!(m.skipped_samples, 2);
    }

    #[test]
    fn an_empty_or_null_result_is_no_series() {
        for result in [json!([]), Value::Null] {
            let body =
                json!({"status": "success", "data": {"resultType": "matrix", "result": result}});
            let m = decode_matrix(body.to_string().as_bytes()).unwrap();
            assert!(m.series.is_empty());
        }
    }

    #[test]
    fn errors_and_wrong_shapes_are_refused_with_the_reason() {
        let err = decode_matrix(br#"{"status":"error","error":"bad lb_id"}"#).unwrap_err();
        assert!(err.contains("bad lb_id"), "{err}");
        let err =
            decode_matrix(br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
                .unwrap_err();
        assert!(err.contains("vector"), "{err}");
        assert!(decode_matrix(b"<html>").unwrap_err().contains("not JSON"));
        let err = decode_matrix(
            br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":5}]}}"#,
        )
        .unwrap_err();
        assert!(err.contains("values"), "{err}");
    }

    #[test]
    fn series_names_are_checked_and_classified() {
        assert!(valid_series_name(series::DROPLETS_HEALTH_CHECKS));
        assert!(!valid_series_name("../droplets"));
        assert!(!valid_series_name("a?b=c"));
        assert!(series::is_per_droplet(series::DROPLETS_DOWNTIME));
        assert!(series::is_http_only(series::FRONTEND_HTTP_RESPONSES));
        assert!(series::is_http_only(
            series::DROPLETS_HTTP_RESPONSE_TIME_95P
        ));
        assert!(!series::is_http_only(series::FRONTEND_CONNECTIONS_CURRENT));
        assert!(series::is_nlb_only(series::FRONTEND_FIREWALL_DROPPED_BYTES));
        assert!(!series::is_nlb_only(series::FRONTEND_CPU_UTILIZATION));
        assert_eq!(series::ALL.len(), 27);
    }
}
