//! The corpus of real-shaped payloads (`testdata/`, provenance in `testdata/README.md`): answers
//! shaped like the ones DigitalOcean's own client libraries and CLI test against — legacy `size`,
//! `HTTP` in capitals, `health_check: {}`, nulls, missing `links`, fields no spec lists, network,
//! internal, dual-stack, global and Kubernetes-made load balancers, droplets whose IPv6 network
//! carries `cidr`.
//!
//! For every fixture: it decodes, and re-serialises with nothing lost or changed. For every load
//! balancer in it: an unrelated edit (the idle timeout) plans into a PUT body that carries every
//! untouched field as it came, that the validator does not refuse for anything the edit did not
//! change, and that the client's own pre-checks (`dry_run`, `apply`) let through.

mod support;

use std::path::{Path, PathBuf};

use cutover_digitalocean::validate::{has_errors, validate_load_balancer, ValidationContext};
use cutover_digitalocean::{
    plan_update, Certificate, Domain, DomainRecord, Droplet, Links, LoadBalancer, Meta, Severity,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use support::{Reply, TestServer};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Every `*.json` fixture, by file name, in name order.
fn fixtures() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(testdata())
        .expect("testdata/ exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json").then_some(path)
        })
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("readable fixture");
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            (name, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 10, "the corpus went missing: {out:?}");
    out
}

/// A value the API treats like an absent field: what a `null` may come back as after a
/// decode (the field's default), and what a model may add for a field the answer left out.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Nothing in `original` is lost or changed in `back`, and `back` invents nothing: keys it adds
/// are blank, and a `null` may come back blank or absent (the API reads both as "not set").
fn assert_nothing_lost(at: &str, original: &Value, back: Option<&Value>) {
    match (original, back) {
        (Value::Null, None) => {}
        (Value::Null, Some(b)) => assert!(is_blank(b), "{at}: null came back as {b}"),
        (_, None) => panic!("{at}: {original} was lost"),
        (Value::Object(o), Some(Value::Object(b))) => {
            for (k, v) in o {
                assert_nothing_lost(&format!("{at}.{k}"), v, b.get(k));
            }
            for (k, v) in b {
                if !o.contains_key(k) {
                    assert!(is_blank(v), "{at}.{k}: {v} was added");
                }
            }
        }
        (Value::Array(o), Some(Value::Array(b))) => {
            assert_eq!(
                o.len(),
                b.len(),
                "{at}: {original} became {}",
                Value::Array(b.clone())
            );
            for (i, v) in o.iter().enumerate() {
                assert_nothing_lost(&format!("{at}[{i}]"), v, b.get(i));
            }
        }
        (o, Some(b)) => assert_eq!(o, b, "{at} changed"),
    }
}

/// Decodes `value` as `T` (naming the field that fails), re-serialises it, and checks that
/// nothing was lost.
fn round_trip<T: DeserializeOwned + Serialize>(at: &str, value: &Value) -> T {
    let typed: T = serde_path_to_error::deserialize(value.clone())
        .unwrap_or_else(|e| panic!("{at} does not decode at {}: {}", e.path(), e.inner()));
    let back = serde_json::to_value(&typed).expect("serialises");
    assert_nothing_lost(at, value, Some(&back));
    typed
}

/// The load balancers of a fixture, each with the JSON it came as.
fn load_balancers(name: &str, doc: &Value) -> Vec<(LoadBalancer, Value)> {
    let mut raw: Vec<Value> = Vec::new();
    if let Some(one) = doc.get("load_balancer") {
        raw.push(one.clone());
    }
    if let Some(Value::Array(many)) = doc.get("load_balancers") {
        raw.extend(many.iter().cloned());
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| (round_trip(&format!("{name}[{i}]"), &v), v))
        .collect()
}

#[test]
fn every_fixture_decodes_and_round_trips_with_nothing_lost() {
    for (name, doc) in fixtures() {
        let Value::Object(envelope) = &doc else {
            panic!("{name}: not an envelope object");
        };
        for (key, value) in envelope {
            let at = format!("{name}:{key}");
            match key.as_str() {
                "load_balancer" => {
                    round_trip::<LoadBalancer>(&at, value);
                }
                "load_balancers" => {
                    round_trip::<Vec<LoadBalancer>>(&at, value);
                }
                "droplet" => {
                    round_trip::<Droplet>(&at, value);
                }
                "droplets" => {
                    round_trip::<Vec<Droplet>>(&at, value);
                }
                "certificates" => {
                    round_trip::<Vec<Certificate>>(&at, value);
                }
                "domain_records" => {
                    round_trip::<Vec<DomainRecord>>(&at, value);
                }
                "domain" => {
                    round_trip::<Domain>(&at, value);
                }
                "links" => {
                    round_trip::<Links>(&at, value);
                }
                "meta" => {
                    round_trip::<Meta>(&at, value);
                }
                other => panic!("{name}: no model for the envelope key {other:?}: add one here"),
            }
        }
    }
}

#[test]
fn every_fixture_says_where_its_shape_was_seen() {
    let readme = std::fs::read_to_string(testdata().join("README.md")).expect("README.md");
    for (name, _) in fixtures() {
        let row = readme
            .lines()
            .find(|l| l.contains(&format!("`{name}`")))
            .unwrap_or_else(|| panic!("{name} has no row in testdata/README.md"));
        assert!(
            row.contains("digitalocean/") || row.contains("openapi"),
            "{name}: its row names no source: {row}"
        );
    }
}

/// The idle timeout the unrelated edit sets: a valid value different from the current one.
fn other_timeout(lb: &LoadBalancer) -> u32 {
    if lb.http_idle_timeout_seconds == Some(120) {
        180
    } else {
        120
    }
}

/// What the PUT body must hold for a field the edit did not touch, given how it came.
fn check_untouched(name: &str, raw: &Value, body: &Value) {
    let Value::Object(fields) = raw else {
        panic!("{name}: not an object")
    };
    let has = |k: &str| fields.get(k).is_some_and(|v| !v.is_null());
    let tag_based = fields
        .get("tag")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    let global = fields.get("type").and_then(Value::as_str) == Some("GLOBAL");
    for (key, value) in fields {
        let at = format!("{name}: PUT body .{key}");
        let sent = body.get(key);
        match key.as_str() {
            // Read-only: never sent.
            "id" | "ip" | "ipv6" | "status" | "created_at" => {
                assert!(sent.is_none(), "{at}: read-only field sent")
            }
            // The one field the edit changed.
            "http_idle_timeout_seconds" => {}
            // A request names the region by its slug.
            "region" => {
                let slug = value.get("slug").and_then(Value::as_str).unwrap_or("");
                if slug.is_empty() {
                    assert!(sent.is_none(), "{at}: {sent:?}");
                } else {
                    assert_eq!(sent, Some(&json!(slug)), "{at}");
                }
            }
            // Deprecated and ignored by the API: not sent back (the validator would only
            // warn about it).
            "algorithm" => assert!(sent.is_none(), "{at}: {sent:?}"),
            // `size` and `size_unit` exclude each other: `size_unit` wins when both came.
            "size" if has("size_unit") => assert!(sent.is_none(), "{at}: sent with size_unit"),
            // By tag: the tag only (a GET fills droplet_ids too); a GLB with none sends none.
            "droplet_ids" if tag_based || (global && is_blank(value)) => {
                assert!(sent.is_none(), "{at}: {sent:?}")
            }
            "tag" if !tag_based => assert!(sent.is_none(), "{at}: {sent:?}"),
            _ => assert_nothing_lost(&at, value, sent),
        }
    }
}

#[test]
fn an_unrelated_edit_sends_everything_else_back_as_it_came_and_is_not_refused() {
    let mut seen = 0;
    let mut refused_without_comparison = 0;
    for (name, doc) in fixtures() {
        for (i, (lb, raw)) in load_balancers(&name, &doc).into_iter().enumerate() {
            let at = format!("{name}[{i}]");
            seen += 1;
            let timeout = other_timeout(&lb);
            let mut desired = lb.clone();
            desired.http_idle_timeout_seconds = Some(timeout);
            let plan = plan_update(&lb, &desired);
            let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
            assert_eq!(paths, vec!["http_idle_timeout_seconds"], "{at}");
            let body = serde_json::to_value(&plan.request).unwrap();
            assert_eq!(body["http_idle_timeout_seconds"], json!(timeout), "{at}");
            assert!(body.get("validate_only").is_none(), "{at}");
            check_untouched(&at, &raw, &body);

            // The validator judges the change: whatever it finds was already so.
            let findings = validate_load_balancer(&plan.request, &ValidationContext::update(&lb));
            assert!(!has_errors(&findings), "{at}: refused: {findings:#?}");
            for f in &findings {
                assert!(f.pre_existing, "{at}: the edit did not introduce {f:#?}");
                assert_eq!(f.severity, Severity::Warning, "{at}");
            }
            // Without the load balancer as fetched to compare with, the same body may well be
            // refused: that is the point.
            let blind = ValidationContext {
                operation: cutover_digitalocean::validate::Operation::Update,
                ..ValidationContext::default()
            };
            if has_errors(&validate_load_balancer(&plan.request, &blind)) {
                refused_without_comparison += 1;
            }
        }
    }
    assert!(seen >= 10, "only {seen} load balancers in the corpus");
    // The corpus exercises the point: these would be refused if the validator did not compare
    // with the load balancer as fetched.
    assert!(
        refused_without_comparison >= 3,
        "only {refused_without_comparison} fixtures carry a pre-existing error"
    );
}

#[test]
fn network_internal_dualstack_and_global_fixtures_get_their_notes() {
    let notes_of = |file: &str| -> Vec<String> {
        let (_, doc) = fixtures()
            .into_iter()
            .find(|(n, _)| n == file)
            .unwrap_or_else(|| panic!("no {file}"));
        let (lb, _) = load_balancers(file, &doc).remove(0);
        cutover_digitalocean::notes(&lb)
            .into_iter()
            .map(|n| n.code)
            .collect()
    };
    let nlb = notes_of("lb_doks_network.json");
    assert!(
        nlb.contains(&"note.network_lb.layer4".to_string()),
        "{nlb:?}"
    );
    assert!(
        nlb.contains(&"note.network_lb.client_ip".to_string()),
        "{nlb:?}"
    );
    assert!(nlb.contains(&"note.dualstack.ipv6".to_string()), "{nlb:?}");
    assert_eq!(
        notes_of("lb_internal.json"),
        vec!["note.internal.no_public_address"]
    );
    assert_eq!(notes_of("lb_dualstack.json"), vec!["note.dualstack.ipv6"]);
    assert_eq!(
        notes_of("lb_global.json"),
        vec!["note.global.managed_domain"]
    );
    assert!(notes_of("lb_tcp_passthrough.json").is_empty());
}

#[test]
fn shapes_the_models_must_read_right() {
    let all = fixtures();
    let doc = |file: &str| {
        all.iter()
            .find(|(n, _)| n == file)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no {file}"))
    };
    // An IPv6 network with `cidr` instead of `netmask`: kept, and read as the prefix length.
    let d: Droplet =
        serde_json::from_value(doc("droplet_ipv6_cidr.json")["droplet"].clone()).unwrap();
    let v6 = &d.networks.v6[0];
    assert_eq!(v6.netmask, None);
    assert_eq!(v6.prefix_len(), Some(124));
    assert_eq!(d.public_ipv6s().len(), 1);
    let back = serde_json::to_value(&d).unwrap();
    assert_eq!(back["networks"]["v6"][0]["cidr"], 124);
    assert!(back["networks"]["v6"][0].get("netmask").is_none());
    // Kubernetes workers: the private gateway literally "nil", the cluster tags.
    let ds: Vec<Droplet> =
        serde_json::from_value(doc("droplets_doks_workers.json")["droplets"].clone()).unwrap();
    assert_eq!(ds[0].networks.v4[0].gateway, "nil");
    assert!(ds[0].tags.iter().any(|t| t == "k8s:worker"));
    assert_eq!(ds[0].networks.v6[0].prefix_len(), Some(64));
    // A listing without `links` is the last page.
    let links: Links = serde_json::from_value(doc("droplets_doks_workers.json")["links"].clone())
        .unwrap_or_default();
    assert!(links.is_last_page());
    // NS records come with `name: null`.
    let records: Vec<DomainRecord> =
        serde_json::from_value(doc("domain_records_nulls.json")["domain_records"].clone()).unwrap();
    assert_eq!(records[1].name, "");
    assert_eq!(records[5].tag.as_deref(), Some("issue"));
    // A global load balancer's domains: status and error reasons, typed.
    let glb: LoadBalancer =
        serde_json::from_value(doc("lb_global.json")["load_balancer"].clone()).unwrap();
    let domains = glb.domains.as_deref().unwrap();
    assert_eq!(domains[1].status.as_deref(), Some("CREATING"));
    assert_eq!(
        domains[1].verification_error_reasons.as_ref().map(Vec::len),
        Some(1)
    );
    assert_eq!(glb.target_load_balancer_ids.as_ref().map(Vec::len), Some(2));
    // Nulls where the spec promises values.
    let lb: LoadBalancer =
        serde_json::from_value(doc("lb_nulls_and_unknown_fields.json")["load_balancer"].clone())
            .unwrap();
    assert_eq!(lb.tag, "");
    assert!(!lb.enable_backend_keepalive);
    assert_eq!(
        lb.extra["urn"],
        "do:loadbalancer:d329e459-2e3f-4a4b-c6d7-8e9f0a1b2c31"
    );
    assert_eq!(
        lb.health_check.as_ref().unwrap().extra["expected_status"],
        "2xx"
    );
    assert_eq!(lb.forwarding_rules[0].extra["idle_timeout_hint"], 30);
}

/// The client's own pre-checks (`dry_run`, then `apply`, which validates against the load
/// balancer it fetches) let an unrelated edit of every corpus load balancer through, and the
/// PUT that reaches the API is the planned body.
#[tokio::test]
async fn the_client_sends_an_unrelated_edit_of_every_corpus_load_balancer() {
    for (name, doc) in fixtures() {
        for (i, (lb, raw)) in load_balancers(&name, &doc).into_iter().enumerate() {
            let at = format!("{name}[{i}]");
            let id = lb.id.clone();
            let timeout = other_timeout(&lb);
            let mut after = raw.clone();
            after["http_idle_timeout_seconds"] = json!(timeout);
            let get_answer = json!({ "load_balancer": raw });
            let put_answer = json!({ "load_balancer": after });
            let server = TestServer::start(move |seen| match seen.method.as_str() {
                "GET" => Reply::ok(get_answer.clone()),
                "PUT"
                    if seen
                        .body
                        .as_ref()
                        .is_some_and(|b| b["validate_only"] == true) =>
                {
                    Reply::no_content()
                }
                "PUT" => Reply::ok(put_answer.clone()),
                _ => Reply::error(404, "not_found", "not here"),
            })
            .await;
            // The fixtures are deliberately off the spec in places (that is what they are for).
            server.set_contract_checks(false);
            let client = server.client();
            let mut desired = lb.clone();
            desired.http_idle_timeout_seconds = Some(timeout);
            let plan = plan_update(&lb, &desired);
            let warnings = client
                .dry_run(&plan)
                .await
                .unwrap_or_else(|e| panic!("{at}: dry run refused: {e:?}"));
            assert!(
                warnings.iter().all(|w| w.pre_existing),
                "{at}: {warnings:#?}"
            );
            let applied = client
                .apply(&plan)
                .await
                .unwrap_or_else(|e| panic!("{at}: apply refused: {e:?}"));
            assert_eq!(applied.http_idle_timeout_seconds, Some(timeout), "{at}");
            let puts: Vec<Value> = server
                .seen()
                .into_iter()
                .filter(|s| s.method == "PUT" && s.path == format!("/v2/load_balancers/{id}"))
                .filter_map(|s| s.body)
                .filter(|b| b.get("validate_only").is_none())
                .collect();
            assert_eq!(puts.len(), 1, "{at}");
            assert_eq!(
                puts[0],
                serde_json::to_value(&plan.request).unwrap(),
                "{at}"
            );
        }
    }
}
