//! Contract checks against the DigitalOcean OpenAPI spec (`spec/openapi.yaml`, embedded): does a
//! request body, or a response, validate against the schema the spec gives for that operation?
//!
//! Behind the `contract` feature; used by this crate's tests (every request body the client
//! sends) and by the Sandbox's (every response it serves).
//!
//! The spec is OpenAPI 3.0, whose schemas are a dialect of JSON Schema draft 4: before compiling,
//! `nullable: true` becomes a `null` type, and the OpenAPI-only keywords (`discriminator`,
//! `example`, `readOnly`…) are dropped. Additional properties are allowed wherever the spec
//! allows them, so undocumented fields the API accepts (`validate_only`, `subnet_uuid`…) pass.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

/// The spec text, as shipped in `spec/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../spec/openapi.yaml");

/// The loaded spec with compiled validators, cached per operation.
pub struct Spec {
    doc: Value,
    cache: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// Why a body does not match the spec: one line per violation.
pub type Violations = Vec<String>;

impl Spec {
    /// The embedded spec, parsed once per process.
    pub fn get() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| Spec::parse(OPENAPI_YAML).expect("the embedded OpenAPI spec parses"))
    }

    /// Parses an OpenAPI 3.0 document (YAML or JSON).
    pub fn parse(text: &str) -> Result<Spec, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut doc: Value = serde_json::to_value(yaml).map_err(|e| e.to_string())?;
        convert(&mut doc);
        Ok(Spec {
            doc,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The spec's path template matching a concrete path (`/v2/load_balancers/abc` →
    /// `/v2/load_balancers/{lb_id}`), preferring literal segments over parameters.
    pub fn path_template(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let paths = self.doc.get("paths")?.as_object()?;
        let mut best: Option<(usize, &String)> = None;
        for template in paths.keys() {
            let tsegs: Vec<&str> = template.split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let matches = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else if t == s {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if matches && best.is_none_or(|(l, _)| literal > l) {
                best = Some((literal, template));
            }
        }
        best.map(|(_, t)| t.clone())
    }

    fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), Violations> {
        let template = self
            .path_template(path)
            .ok_or_else(|| vec![format!("{method} {path}: no such path in the spec")])?;
        let op = self
            .doc
            .pointer(&format!(
                "/paths/{}/{}",
                escape(&template),
                method.to_ascii_lowercase()
            ))
            .ok_or_else(|| {
                vec![format!(
                    "{method} {template}: no such operation in the spec"
                )]
            })?;
        Ok((template, op))
    }

    /// Validates a request body against the operation's `requestBody` schema.
    pub fn validate_request(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<(), Violations> {
        let (template, op) = self.operation(method, path)?;
        let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
            return Err(vec![format!(
                "{method} {template}: the spec defines no JSON request body"
            )]);
        };
        let key = format!("req {method} {template}");
        self.check(&key, schema, body)
            .map_err(|v| prefix(&format!("{method} {template} request"), v))
    }

    /// Validates a response against the operation's schema for `status` (or `default`). A
    /// status with no content in the spec must come with no body (`None`).
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<(), Violations> {
        let (template, op) = self.operation(method, path)?;
        let responses = op
            .get("responses")
            .ok_or_else(|| vec![format!("{method} {template}: no responses in the spec")])?;
        let code = status.to_string();
        let Some(mut response) = responses.get(&code).or_else(|| responses.get("default")) else {
            return Err(vec![format!(
                "{method} {template}: the spec does not list status {status}"
            )]);
        };
        if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
            response = self
                .doc
                .pointer(reference.trim_start_matches('#'))
                .ok_or_else(|| vec![format!("unresolved {reference}")])?;
        }
        let schema = response.pointer("/content/application~1json/schema");
        match (schema, body) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(vec![format!(
                "{method} {template} {status}: the spec defines no body, but one was sent"
            )]),
            (Some(_), None) => Err(vec![format!(
                "{method} {template} {status}: the spec defines a body, but none was sent"
            )]),
            (Some(schema), Some(body)) => {
                let key = format!("res {method} {template} {code}");
                self.check(&key, schema, body)
                    .map_err(|v| prefix(&format!("{method} {template} {status} response"), v))
            }
        }
    }

    /// Validates a value against `components.schemas.<name>`.
    pub fn validate_schema(&self, name: &str, value: &Value) -> Result<(), Violations> {
        let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        self.check(&format!("schema {name}"), &schema, value)
            .map_err(|v| prefix(name, v))
    }

    fn check(&self, key: &str, schema: &Value, instance: &Value) -> Result<(), Violations> {
        let validator = self.validator(key, schema)?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("at {}: {}", e.instance_path(), e))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validator(
        &self,
        key: &str,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, Violations> {
        if let Some(v) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Ok(v.clone());
        }
        // The operation's schema as the root, with the components beside it so that
        // `#/components/schemas/...` resolves.
        let mut root = Map::new();
        root.insert("allOf".into(), Value::Array(vec![schema.clone()]));
        if let Some(components) = self.doc.get("components") {
            root.insert("components".into(), components.clone());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| vec![format!("{key}: the schema does not compile: {e}")])?;
        let validator = Arc::new(validator);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), validator.clone());
        Ok(validator)
    }
}

fn prefix(what: &str, violations: Violations) -> Violations {
    violations
        .into_iter()
        .map(|v| format!("{what}: {v}"))
        .collect()
}

/// JSON-pointer escaping of one token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0 schema → JSON Schema draft 4, in place.
fn convert(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // `example(s)` are left: draft 4 ignores them, and `components.examples` holds the
            // spec's sample data.
            for key in ["discriminator", "xml", "externalDocs", "x-codeSamples"] {
                map.remove(key);
            }
            if let Some(Value::String(p)) = map.get_mut("pattern") {
                // ECMA tolerates `\:` and `\-` outside classes; the regex engine may not.
                *p = p.replace("\\:", ":");
            }
            let nullable = matches!(map.remove("nullable"), Some(Value::Bool(true)));
            for child in map.values_mut() {
                convert(child);
            }
            if nullable {
                match map.get_mut("type") {
                    Some(Value::String(t)) => {
                        let t = t.clone();
                        map.insert("type".into(), serde_json::json!([t, "null"]));
                        if let Some(Value::Array(values)) = map.get_mut("enum") {
                            values.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert(
                            "anyOf".into(),
                            serde_json::json!([{ "type": "null" }, inner]),
                        );
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(convert),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_paths_preferring_literals() {
        let spec = Spec::get();
        assert_eq!(
            spec.path_template("/v2/load_balancers/abc/droplets")
                .as_deref(),
            Some("/v2/load_balancers/{lb_id}/droplets")
        );
        assert_eq!(
            spec.path_template("/v2/projects/default").as_deref(),
            Some("/v2/projects/default")
        );
        assert_eq!(spec.path_template("/v2/nothing"), None);
    }

    #[test]
    fn validates_requests_and_responses() {
        let spec = Spec::get();
        let good = json!({
            "name": "lb", "region": "nyc3", "droplet_ids": [1],
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}],
            "validate_only": true
        });
        spec.validate_request("POST", "/v2/load_balancers", &good)
            .unwrap();
        let bad =
            json!({"name": "lb", "region": "nyc3", "droplet_ids": [1], "forwarding_rules": []});
        assert!(spec
            .validate_request("POST", "/v2/load_balancers", &bad)
            .is_err());
        let both = json!({
            "name": "lb", "region": "nyc3", "droplet_ids": [1], "tag": "web",
            "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
        });
        assert!(spec
            .validate_request("PUT", "/v2/load_balancers/x", &both)
            .is_err());
        spec.validate_response("DELETE", "/v2/load_balancers/x", 204, None)
            .unwrap();
        let err = json!({"id": "not_found", "message": "nope"});
        spec.validate_response("GET", "/v2/load_balancers/x", 404, Some(&err))
            .unwrap();
        assert!(spec
            .validate_response(
                "GET",
                "/v2/load_balancers/x",
                404,
                Some(&json!({"message": 1}))
            )
            .is_err());
        // nullable fields accept null.
        spec.validate_schema("domain_record", &json!({"type": "A", "priority": null}))
            .unwrap();
    }

    #[test]
    fn the_spec_examples_validate() {
        let spec = Spec::get();
        let examples = spec
            .doc
            .pointer("/components/examples")
            .unwrap()
            .as_object()
            .unwrap();
        let lbs = &examples["load_balancers_all"]["value"];
        spec.validate_response("GET", "/v2/load_balancers", 200, Some(lbs))
            .unwrap();
        let droplet = &examples["droplet_single"]["value"];
        spec.validate_response("GET", "/v2/droplets/1", 200, Some(droplet))
            .unwrap();
        let update = &examples["load_balancer_update_request"]["value"];
        spec.validate_request("PUT", "/v2/load_balancers/x", update)
            .unwrap();
    }
}
