//! Request validation against Google's Discovery documents (`--discovery-dir`): the route's verb
//! and path template, required query parameters, and the JSON body against the request schema
//! (unknown fields rejected with Google's message; enum fields take names or proto numbers,
//! since the Rust clients send numbers and Discovery does not know them).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::google::util::snake;
use crate::route::Call;

pub struct Validator {
    /// Service -> its document, parsed on first use (compute's is 5 MB: start-up stays fast).
    docs: HashMap<String, (std::path::PathBuf, OnceLock<Option<Doc>>)>,
}

struct Doc {
    service_path: String,
    schemas: Value,
    methods: HashMap<String, Value>,
}

impl Doc {
    fn parse(file: &Path) -> Option<Doc> {
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        let doc = match parsed {
            Ok(doc) => doc,
            Err(e) => {
                eprintln!("sdctl-emulator: VALIDATION: cannot read {}: {e}", file.display());
                return None;
            }
        };
        let mut methods = HashMap::new();
        collect_methods(&doc, &mut methods);
        Some(Doc {
            service_path: doc["servicePath"].as_str().unwrap_or_default().to_string(),
            schemas: doc["schemas"].clone(),
            methods,
        })
    }
}

impl Validator {
    /// Finds `<service>.<version>.json` for every emulated service in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read discovery dir {}: {e}", dir.display()))?;
        let files: Vec<std::path::PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        let mut docs = HashMap::new();
        for service in crate::google::services() {
            let prefix = format!("{}.", service.name);
            if let Some(file) = files.iter().find(|f| {
                f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json"))
            }) {
                docs.insert(service.name.to_string(), (file.clone(), OnceLock::new()));
            }
        }
        if docs.is_empty() {
            anyhow::bail!("no Discovery document of an emulated service in {}", dir.display());
        }
        Ok(Self { docs })
    }

    fn doc(&self, service: &str) -> Option<&Doc> {
        let (file, doc) = self.docs.get(service)?;
        doc.get_or_init(|| Doc::parse(file)).as_ref()
    }

    pub fn check(&self, call: &Call) -> ApiResult<()> {
        let Some(doc) = self.doc(call.service) else {
            return Ok(());
        };
        let Some(method) = doc.methods.get(call.id) else {
            eprintln!(
                "sdctl-emulator: VALIDATION: method {} is not in the {} Discovery document",
                call.id, call.service
            );
            return Ok(());
        };
        // Resumable upload sessions continue with PUT, which Discovery does not describe.
        let resumable = call.method == http::Method::PUT && call.path.starts_with("/upload/");
        if !resumable && method["httpMethod"].as_str() != Some(call.method.as_str()) {
            return Err(mismatch(
                call,
                &format!("{} expects {}", call.id, method["httpMethod"].as_str().unwrap_or("?")),
            ));
        }
        let path = call.path.trim_start_matches('/');
        let template = if path.starts_with("upload/") {
            method["mediaUpload"]["protocols"]["simple"]["path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string()
        } else if path.starts_with("download/") {
            format!("download/{}{}", doc.service_path, method["path"].as_str().unwrap_or_default())
        } else {
            format!("{}{}", doc.service_path, method["path"].as_str().unwrap_or_default())
        };
        if !path_regex(&template, &method["parameters"]).is_some_and(|re| re.is_match(path)) {
            return Err(mismatch(call, &format!("the path does not match {template}")));
        }
        if let Some(params) = method["parameters"].as_object() {
            for (name, p) in params {
                if p["location"] == "query" && p["required"] == Value::Bool(true) && call.query(name).is_none() {
                    return Err(ApiError::invalid(format!("Required parameter: {name}")).with_reason("required"));
                }
            }
        }
        let media = path.starts_with("upload/");
        if let (Some(schema), false) = (method["request"]["$ref"].as_str(), media)
            && !call.body.is_null()
        {
            let top = if call.service == "compute" {
                "resource".to_string()
            } else if schema.ends_with("Request") {
                String::new()
            } else {
                snake(&lower_first(schema))
            };
            check_value(&doc.schemas, &Value::String(schema.to_string()), &call.body, &top)?;
        }
        Ok(())
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn mismatch(call: &Call, why: &str) -> ApiError {
    eprintln!("sdctl-emulator: VALIDATION: {} /{}{}: {why}", call.method, call.service, call.path);
    ApiError::not_found(format!(
        "The requested URL /{}{} was not found on this server ({why}).",
        call.service, call.path
    ))
}

fn collect_methods(node: &Value, out: &mut HashMap<String, Value>) {
    if let Some(methods) = node["methods"].as_object() {
        for m in methods.values() {
            if let Some(id) = m["id"].as_str() {
                out.insert(id.to_string(), m.clone());
            }
        }
    }
    if let Some(resources) = node["resources"].as_object() {
        for r in resources.values() {
            collect_methods(r, out);
        }
    }
}

/// `v1/{+name}` -> `^v1/<name's pattern>$`; `{x}` is one segment.
fn path_regex(template: &str, params: &Value) -> Option<Regex> {
    let var = Regex::new(r"\{(\+?)([A-Za-z0-9_.]+)\}").ok()?;
    let mut out = String::from("^");
    let mut last = 0;
    for cap in var.captures_iter(template) {
        let whole = cap.get(0)?;
        out.push_str(&regex::escape(&template[last..whole.start()]));
        let plus = &cap[1] == "+";
        let name = &cap[2];
        let pattern =
            params[name]["pattern"].as_str().map(|p| p.trim_start_matches('^').trim_end_matches('$').to_string());
        match (plus, pattern) {
            (_, Some(p)) => out.push_str(&format!("(?:{p})")),
            (true, None) => out.push_str(".+"),
            (false, None) => out.push_str("[^/]+"),
        }
        last = whole.end();
    }
    out.push_str(&regex::escape(&template[last..]));
    out.push('$');
    Regex::new(&out).ok()
}

fn at(path: &str) -> String {
    if path.is_empty() { String::new() } else { format!(" at '{path}'") }
}

fn join(path: &str, field: &str) -> String {
    let field = snake(field);
    if path.is_empty() { field } else { format!("{path}.{field}") }
}

fn invalid_value(path: &str, kind: &str, value: &Value) -> ApiError {
    ApiError::invalid(format!("Invalid value at '{path}' ({kind}), {value}")).with_reason("invalid")
}

/// Checks `value` against a schema (a `$ref` name as a JSON string, or an inline schema).
fn check_value(schemas: &Value, schema: &Value, value: &Value, path: &str) -> ApiResult<()> {
    let schema = match schema {
        Value::String(name) => &schemas[name.as_str()],
        s => match s["$ref"].as_str() {
            Some(name) => &schemas[name],
            None => s,
        },
    };
    if value.is_null() {
        return Ok(());
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(map) = value.as_object() else {
                return Err(invalid_value(path, "TYPE_MESSAGE", value));
            };
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in map {
                    match props.get(k) {
                        Some(p) => check_value(schemas, p, v, &join(path, k))?,
                        None if k == "@type" => {}
                        None => {
                            return Err(ApiError::invalid(format!(
                                "Invalid JSON payload received. Unknown name \"{k}\"{}: Cannot find field.",
                                at(path)
                            ))
                            .with_reason("invalid"));
                        }
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties") {
                for (k, v) in map {
                    check_value(schemas, additional, v, &format!("{path}[{k}]"))?;
                }
            }
            Ok(())
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return Err(invalid_value(path, "TYPE_MESSAGE", value));
            };
            for (i, item) in items.iter().enumerate() {
                check_value(schemas, &schema["items"], item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Some("string") if schema.get("enum").is_some() => {
            let ok = value.is_i64()
                || value.as_str().is_some_and(|s| schema["enum"].as_array().is_some_and(|e| e.iter().any(|x| x == s)));
            if ok { Ok(()) } else { Err(invalid_value(path, "TYPE_ENUM", value)) }
        }
        Some("string") => match schema["format"].as_str() {
            Some("int64") | Some("uint64")
                if value.is_i64() || value.is_u64() || value.as_str().is_some_and(|s| s.parse::<i128>().is_ok()) =>
            {
                Ok(())
            }
            Some("int64") | Some("uint64") => Err(invalid_value(path, "TYPE_INT64", value)),
            _ if value.is_string() => Ok(()),
            _ => Err(invalid_value(path, "TYPE_STRING", value)),
        },
        Some("integer")
            if value.is_i64() || value.is_u64() || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok()) =>
        {
            Ok(())
        }
        Some("integer") => Err(invalid_value(path, "TYPE_INT32", value)),
        Some("number") if value.is_number() || value.is_string() => Ok(()),
        Some("number") => Err(invalid_value(path, "TYPE_DOUBLE", value)),
        Some("boolean") if value.is_boolean() => Ok(()),
        Some("boolean") => Err(invalid_value(path, "TYPE_BOOL", value)),
        _ => Ok(()),
    }
}

/// Checks that every route of the emulator is a Discovery method of the documents in `dir` with
/// the same verb and a matching path (panics naming the first that is not); returns how many
/// routes were checked. Run by the integration tests, which have the documents.
pub fn check_routes_against_discovery(dir: &Path) -> usize {
    let validator = Validator::load(dir).unwrap();
    let mut checked = 0;
    let variable = Regex::new(r"\{([a-zA-Z]+)(=\*\*)?\}").unwrap();
    for service in crate::google::services() {
        let Some(doc) = validator.doc(service.name) else { continue };
        for route in &service.routes {
            let method = doc.methods.get(route.id).unwrap_or_else(|| panic!("{} is not a Discovery method", route.id));
            let resumable = route.verb == http::Method::PUT && route.template.text.starts_with("upload/");
            if !resumable {
                assert_eq!(method["httpMethod"].as_str(), Some(route.verb.as_str()), "{}", route.id);
            }
            let sample = variable.replace_all(route.template.text, |c: &regex::Captures| {
                if c.get(2).is_some() {
                    match service.name {
                        "iap" => "projects/p/iap_web/compute/services/bs".to_string(),
                        _ => "operations/build/p/abc".to_string(),
                    }
                } else {
                    "x1".to_string()
                }
            });
            let template = if sample.starts_with("upload/") {
                method["mediaUpload"]["protocols"]["simple"]["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .to_string()
            } else if sample.starts_with("download/") {
                format!("download/{}{}", doc.service_path, method["path"].as_str().unwrap())
            } else {
                format!("{}{}", doc.service_path, method["path"].as_str().unwrap())
            };
            let re = path_regex(&template, &method["parameters"]).unwrap();
            assert!(re.is_match(&sample), "{} {sample} does not match {template}", route.id);
            checked += 1;
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas() -> Value {
        json!({
            "CreateClusterRequest": { "type": "object", "properties": { "cluster": { "$ref": "Cluster" }, "parent": { "type": "string" } } },
            "Cluster": { "type": "object", "properties": {
                "name": { "type": "string" },
                "initialNodeCount": { "type": "integer", "format": "int32" },
                "nodePools": { "type": "array", "items": { "$ref": "NodePool" } },
                "resourceLabels": { "type": "object", "additionalProperties": { "type": "string" } },
                "releaseChannel": { "$ref": "ReleaseChannel" },
            } },
            "NodePool": { "type": "object", "properties": { "name": { "type": "string" }, "config": { "$ref": "Cluster" } } },
            "ReleaseChannel": { "type": "object", "properties": { "channel": { "type": "string", "enum": ["UNSPECIFIED", "RAPID", "REGULAR"] } } },
        })
    }

    fn check(body: Value) -> ApiResult<()> {
        check_value(&schemas(), &json!("CreateClusterRequest"), &body, "")
    }

    #[test]
    fn unknown_fields_are_named_like_google() {
        let e = check(json!({"cluster":{"name":"c","initialNodeCont":1}})).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid JSON payload received. Unknown name \"initialNodeCont\" at 'cluster': Cannot find field."
        );
        let e = check(json!({"cluster":{"nodePools":[{"name":"a","bogus":true}]}})).unwrap_err();
        assert!(e.message.contains("at 'cluster.node_pools[0]'"), "{}", e.message);
        let e = check(json!({"foo":1})).unwrap_err();
        assert_eq!(e.message, "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.");
    }

    #[test]
    fn enums_take_names_or_numbers_and_types_are_checked() {
        assert!(check(json!({"cluster":{"releaseChannel":{"channel":2},"resourceLabels":{"a":"b"}}})).is_ok());
        assert!(check(json!({"cluster":{"releaseChannel":{"channel":"REGULAR"}}})).is_ok());
        assert!(check(json!({"cluster":{"releaseChannel":{"channel":"SLOW"}}})).is_err());
        let e = check(json!({"cluster":{"initialNodeCount":"x"}})).unwrap_err();
        assert!(e.message.contains("cluster.initial_node_count"));
    }

    #[test]
    fn path_templates_use_parameter_patterns() {
        let params = json!({ "parent": { "pattern": "^projects/[^/]+/locations/[^/]+$" } });
        let re = path_regex("v1/{+parent}/clusters", &params).unwrap();
        assert!(re.is_match("v1/projects/p/locations/l/clusters"));
        assert!(!re.is_match("v1/projects/p/clusters"));
        let re = path_regex("compute/v1/projects/{project}/global/networks/{network}", &json!({})).unwrap();
        assert!(re.is_match("compute/v1/projects/p/global/networks/default"));
    }
}
