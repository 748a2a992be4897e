//! Structural schemas of CustomResourceDefinitions (`openAPIV3Schema`), compiled once per
//! CRD version and used to prune or refuse unknown fields, apply defaults and validate, as
//! apiextensions-apiserver does. JSON Schema crates do not know Kubernetes' rules
//! (`x-kubernetes-*`, `nullable`, structural pruning), hence this small validator.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::status::{Cause, json_type};

type Id = usize;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug, Clone, Default)]
enum Additional {
    #[default]
    None,
    Any,
    Schema(Id),
}

/// How server-side apply treats a list.
#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

#[derive(Debug, Default)]
struct Node {
    ty: Option<Ty>,
    nullable: bool,
    int_or_string: bool,
    preserve_unknown: bool,
    embedded: bool,
    properties: BTreeMap<String, Id>,
    additional: Additional,
    items: Option<Id>,
    required: Vec<String>,
    enumeration: Option<Vec<Value>>,
    pattern: Option<(String, Regex)>,
    minimum: Option<(f64, bool)>,
    maximum: Option<(f64, bool)>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    multiple_of: Option<f64>,
    unique_items: bool,
    format: Option<String>,
    any_of: Vec<Id>,
    all_of: Vec<Id>,
    one_of: Vec<Id>,
    not: Option<Id>,
    default: Option<Value>,
    list_type: Option<ListType>,
    atomic_map: bool,
}

/// A compiled structural schema.
#[derive(Debug)]
pub struct Schema {
    nodes: Vec<Node>,
}

/// What to do with fields the schema does not declare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unknown {
    /// Report them (`fieldValidation=Strict`).
    Refuse,
    /// Drop them silently (pruning), reporting them for a `Warning` header.
    Prune,
}

/// The outcome of checking one object.
#[derive(Debug, Default)]
pub struct Report {
    /// Paths of undeclared fields (`spec.foo`), refused or pruned.
    pub unknown: Vec<String>,
    pub causes: Vec<Cause>,
}

impl Schema {
    pub const ROOT: Id = 0;

    /// Compile `openAPIV3Schema`. Never fails: unsupported keywords are ignored.
    pub fn compile(schema: &Value) -> Self {
        let mut s = Schema { nodes: Vec::new() };
        s.add(schema);
        s
    }

    fn add(&mut self, v: &Value) -> Id {
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        let mut n = Node {
            ty: match v.get("type").and_then(Value::as_str) {
                Some("object") => Some(Ty::Object),
                Some("array") => Some(Ty::Array),
                Some("string") => Some(Ty::String),
                Some("integer") => Some(Ty::Integer),
                Some("number") => Some(Ty::Number),
                Some("boolean") => Some(Ty::Boolean),
                _ => None,
            },
            nullable: flag(v, "nullable"),
            int_or_string: flag(v, "x-kubernetes-int-or-string"),
            preserve_unknown: flag(v, "x-kubernetes-preserve-unknown-fields"),
            embedded: flag(v, "x-kubernetes-embedded-resource"),
            required: strings(v.get("required")),
            enumeration: v.get("enum").and_then(Value::as_array).cloned(),
            pattern: v
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(|p| Regex::new(p).ok().map(|r| (p.to_string(), r))),
            minimum: v.get("minimum").and_then(Value::as_f64).map(|m| (m, flag(v, "exclusiveMinimum"))),
            maximum: v.get("maximum").and_then(Value::as_f64).map(|m| (m, flag(v, "exclusiveMaximum"))),
            min_length: v.get("minLength").and_then(Value::as_u64),
            max_length: v.get("maxLength").and_then(Value::as_u64),
            min_items: v.get("minItems").and_then(Value::as_u64),
            max_items: v.get("maxItems").and_then(Value::as_u64),
            min_properties: v.get("minProperties").and_then(Value::as_u64),
            max_properties: v.get("maxProperties").and_then(Value::as_u64),
            multiple_of: v.get("multipleOf").and_then(Value::as_f64),
            unique_items: flag(v, "uniqueItems"),
            format: v.get("format").and_then(Value::as_str).map(String::from),
            default: v.get("default").cloned(),
            atomic_map: v.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic"),
            list_type: match v.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => Some(ListType::Set),
                Some("map") => Some(ListType::Map(strings(v.get("x-kubernetes-list-map-keys")))),
                Some("atomic") => Some(ListType::Atomic),
                _ => None,
            },
            ..Node::default()
        };
        if let Some(props) = v.get("properties").and_then(Value::as_object) {
            for (k, pv) in props {
                let child = self.add(pv);
                n.properties.insert(k.clone(), child);
            }
        }
        n.additional = match v.get("additionalProperties") {
            Some(Value::Bool(true)) => Additional::Any,
            Some(sub @ Value::Object(_)) => Additional::Schema(self.add(sub)),
            _ => Additional::None,
        };
        if let Some(items) = v.get("items").filter(|i| i.is_object()) {
            n.items = Some(self.add(items));
        }
        for (key, target) in [("anyOf", &mut n.any_of), ("allOf", &mut n.all_of), ("oneOf", &mut n.one_of)] {
            for sub in v.get(key).and_then(Value::as_array).into_iter().flatten() {
                target.push(self.add(sub));
            }
        }
        if let Some(not) = v.get("not").filter(|n| n.is_object()) {
            n.not = Some(self.add(not));
        }
        self.nodes[id] = n;
        id
    }

    /// Prune or report unknown fields, apply defaults, then validate `obj` (a whole custom
    /// resource; `apiVersion`, `kind` and `metadata` are implicit at the root).
    pub fn check(&self, obj: &mut Value, unknown: Unknown) -> Report {
        let mut report = Report::default();
        self.structural(Self::ROOT, obj, "", true, unknown, &mut report);
        self.validate(Self::ROOT, obj, "", &mut report.causes);
        report
    }

    /// The schema of property `name` of object node `id` (for server-side apply).
    pub fn field(&self, id: Option<Id>, name: &str) -> Option<Id> {
        let n = &self.nodes[id?];
        n.properties.get(name).copied().or(match n.additional {
            Additional::Schema(s) => Some(s),
            _ => None,
        })
    }

    pub fn item(&self, id: Option<Id>) -> Option<Id> {
        self.nodes[id?].items
    }

    /// The list type declared at `id` (atomic when undeclared, as for server-side apply).
    pub fn list_type(&self, id: Option<Id>) -> ListType {
        id.and_then(|i| self.nodes[i].list_type.clone()).unwrap_or(ListType::Atomic)
    }

    pub fn atomic_map(&self, id: Option<Id>) -> bool {
        id.is_some_and(|i| self.nodes[i].atomic_map)
    }

    /// Walk the object: undeclared fields, non-nullable nulls, defaults.
    fn structural(&self, id: Id, v: &mut Value, path: &str, root: bool, unknown: Unknown, r: &mut Report) {
        let n = &self.nodes[id];
        match v {
            Value::Object(map) => {
                self.drop_nulls(n, map);
                for (k, &child) in &n.properties {
                    if !map.contains_key(k)
                        && let Some(d) = &self.nodes[child].default
                    {
                        map.insert(k.clone(), d.clone());
                    }
                }
                let implicit = root || n.embedded;
                let mut drop = Vec::new();
                for (k, child_v) in map.iter_mut() {
                    if implicit && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let child_path = join(path, k);
                    let child = n.properties.get(k).copied().or(match n.additional {
                        Additional::Schema(s) => Some(s),
                        _ => None,
                    });
                    match child {
                        Some(c) => self.structural(c, child_v, &child_path, false, unknown, r),
                        None if n.preserve_unknown || matches!(n.additional, Additional::Any) => {}
                        None => {
                            r.unknown.push(child_path);
                            drop.push(k.clone());
                        }
                    }
                }
                if unknown == Unknown::Prune {
                    for k in drop {
                        map.remove(&k);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = n.items {
                    for (i, it) in items.iter_mut().enumerate() {
                        self.structural(item, it, &format!("{path}[{i}]"), false, unknown, r);
                    }
                }
            }
            _ => {}
        }
    }

    fn drop_nulls(&self, n: &Node, map: &mut Map<String, Value>) {
        let nulls: Vec<String> = map
            .iter()
            .filter(|(k, v)| v.is_null() && n.properties.get(*k).is_some_and(|&c| !self.nodes[c].nullable))
            .map(|(k, _)| k.clone())
            .collect();
        for k in nulls {
            map.remove(&k);
        }
    }

    /// Value validation: types, required, enum, bounds, patterns, combinators.
    fn validate(&self, id: Id, v: &Value, path: &str, out: &mut Vec<Cause>) {
        let n = &self.nodes[id];
        let shown_path = if path.is_empty() { "<root>" } else { path };
        if v.is_null() {
            if !n.nullable && n.ty.is_some() {
                out.push(Cause::type_invalid(shown_path, v, ty_name(n.ty)));
            }
            return;
        }
        if !self.type_ok(n, v) {
            out.push(Cause::type_invalid(shown_path, v, ty_name(n.ty)));
            return;
        }
        if let Some(allowed) = &n.enumeration
            && !allowed.iter().any(|a| same(a, v))
        {
            out.push(Cause::not_supported(shown_path, v, allowed));
        }
        self.validate_scalar(n, v, shown_path, out);
        match v {
            Value::Object(map) => {
                for req in &n.required {
                    if !map.contains_key(req) {
                        out.push(Cause::required(join(path, req), ""));
                    }
                }
                if let Some(max) = n.max_properties
                    && map.len() as u64 > max
                {
                    out.push(Cause::too_many(shown_path, map.len(), max));
                }
                if let Some(min) = n.min_properties
                    && (map.len() as u64) < min
                {
                    out.push(Cause::invalid(shown_path, v, &format!("must have at least {min} properties")));
                }
                for (k, child_v) in map {
                    if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let child = n.properties.get(k).copied().or(match n.additional {
                        Additional::Schema(s) => Some(s),
                        _ => None,
                    });
                    if let Some(c) = child {
                        self.validate(c, child_v, &join(path, k), out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(max) = n.max_items
                    && items.len() as u64 > max
                {
                    out.push(Cause::too_many(shown_path, items.len(), max));
                }
                if let Some(min) = n.min_items
                    && (items.len() as u64) < min
                {
                    out.push(Cause::invalid(
                        shown_path,
                        v,
                        &format!("{shown_path} in body should have at least {min} items"),
                    ));
                }
                if n.unique_items || n.list_type == Some(ListType::Set) {
                    for (i, it) in items.iter().enumerate() {
                        if items[..i].contains(it) {
                            out.push(Cause::duplicate(format!("{path}[{i}]"), it));
                        }
                    }
                }
                if let Some(ListType::Map(keys)) = &n.list_type {
                    self.validate_map_keys(items, keys, path, out);
                }
                if let Some(item) = n.items {
                    for (i, it) in items.iter().enumerate() {
                        self.validate(item, it, &format!("{path}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
        self.validate_combinators(n, v, shown_path, out);
    }

    fn type_ok(&self, n: &Node, v: &Value) -> bool {
        if n.int_or_string {
            return v.is_string() || is_integer(v);
        }
        match n.ty {
            None => true,
            Some(Ty::Object) => v.is_object(),
            Some(Ty::Array) => v.is_array(),
            Some(Ty::String) => v.is_string(),
            Some(Ty::Integer) => is_integer(v),
            Some(Ty::Number) => v.is_number(),
            Some(Ty::Boolean) => v.is_boolean(),
        }
    }

    fn validate_scalar(&self, n: &Node, v: &Value, path: &str, out: &mut Vec<Cause>) {
        if let Some(x) = v.as_f64().filter(|_| v.is_number()) {
            if let Some((min, excl)) = n.minimum
                && (x < min || (excl && x == min))
            {
                let cmp = if excl { "greater than" } else { "greater than or equal to" };
                out.push(Cause::invalid(path, v, &format!("{path} in body should be {cmp} {}", num(min))));
            }
            if let Some((max, excl)) = n.maximum
                && (x > max || (excl && x == max))
            {
                let cmp = if excl { "less than" } else { "less than or equal to" };
                out.push(Cause::invalid(path, v, &format!("{path} in body should be {cmp} {}", num(max))));
            }
            if let Some(m) = n.multiple_of
                && m > 0.0
                && (x / m).fract() != 0.0
            {
                out.push(Cause::invalid(path, v, &format!("{path} in body should be a multiple of {}", num(m))));
            }
        }
        if let Value::String(s) = v {
            let len = s.chars().count() as u64;
            if let Some(max) = n.max_length
                && len > max
            {
                out.push(Cause::too_long(path, max));
            }
            if let Some(min) = n.min_length
                && len < min
            {
                out.push(Cause::invalid(path, v, &format!("{path} in body should be at least {min} chars long")));
            }
            if let Some((p, re)) = &n.pattern
                && !re.is_match(s)
            {
                out.push(Cause::invalid(path, v, &format!("{path} in body should match '{p}'")));
            }
            match n.format.as_deref() {
                Some("date-time") if humantime::parse_rfc3339_weak(s).is_err() => {
                    out.push(Cause::invalid(path, v, &format!("{path} in body must be of type date-time: {s:?}")));
                }
                Some("byte") if !is_base64(s) => {
                    out.push(Cause::invalid(path, v, &format!("{path} in body must be of type byte: {s:?}")));
                }
                _ => {}
            }
        }
    }

    fn validate_map_keys(&self, items: &[Value], keys: &[String], path: &str, out: &mut Vec<Cause>) {
        let mut seen: Vec<Vec<&Value>> = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let k: Vec<&Value> = keys.iter().map(|key| it.get(key).unwrap_or(&Value::Null)).collect();
            if seen.contains(&k) {
                out.push(Cause::duplicate(format!("{path}[{i}]"), &Value::Array(k.into_iter().cloned().collect())));
            } else {
                seen.push(k);
            }
        }
    }

    /// `anyOf`/`allOf`/`oneOf`/`not` as value validations (structure comes from the node itself).
    fn validate_combinators(&self, n: &Node, v: &Value, path: &str, out: &mut Vec<Cause>) {
        let passes = |id: Id| {
            let mut errs = Vec::new();
            self.validate(id, v, path, &mut errs);
            errs.is_empty()
        };
        if !n.any_of.is_empty() && !n.any_of.iter().any(|&i| passes(i)) {
            out.push(Cause::invalid(path, v, &format!("{path} in body must match at least one schema in anyOf")));
        }
        for &i in &n.all_of {
            self.validate(i, v, path, out);
        }
        if !n.one_of.is_empty() && n.one_of.iter().filter(|&&i| passes(i)).count() != 1 {
            out.push(Cause::invalid(path, v, &format!("{path} in body must match exactly one schema in oneOf")));
        }
        if let Some(not) = n.not
            && passes(not)
        {
            out.push(Cause::invalid(path, v, &format!("{path} in body should not match the schema in not")));
        }
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn is_integer(v: &Value) -> bool {
    v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Enum membership, with integral numbers equal regardless of representation.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 { format!("{}", x as i64) } else { x.to_string() }
}

fn ty_name(t: Option<Ty>) -> &'static str {
    match t {
        Some(Ty::Object) => "object",
        Some(Ty::Array) => "array",
        Some(Ty::String) => "string",
        Some(Ty::Integer) => "integer",
        Some(Ty::Number) => "number",
        Some(Ty::Boolean) => "boolean",
        None => "any",
    }
}

fn is_base64(s: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).is_ok()
}

/// For messages elsewhere: the JSON type of a value.
pub fn type_of(v: &Value) -> &'static str {
    json_type(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fleetish() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["template"],
                    "properties": {
                        "replicas": {"type": "integer", "minimum": 0},
                        "scheduling": {"type": "string", "enum": ["Packed", "Distributed"]},
                        "maxSurge": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "health": {"type": "object", "properties": {"periodSeconds": {"type": "integer", "default": 5}}},
                        "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                                  "items": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}},
                        "opt": {"type": "object", "nullable": true}
                    }
                }
            }
        }))
    }

    #[test]
    fn refuses_unknown_fields_with_their_path() {
        let s = fleetish();
        let mut obj = json!({"apiVersion": "agones.dev/v1", "kind": "Fleet", "metadata": {"name": "x"},
                             "spec": {"template": {"anything": 1}, "replicaz": 1}});
        let r = s.check(&mut obj, Unknown::Refuse);
        assert_eq!(r.unknown, ["spec.replicaz"]);
        assert!(r.causes.is_empty());
        let r = s.check(&mut obj, Unknown::Prune);
        assert_eq!(r.unknown, ["spec.replicaz"]);
        assert!(obj["spec"].get("replicaz").is_none());
    }

    #[test]
    fn validates_types_enums_bounds_and_required() {
        let s = fleetish();
        let mut obj = json!({"spec": {"replicas": -1, "scheduling": "Foo", "maxSurge": "25%",
                                      "ports": [{"name": "Web"}, {"name": "Web"}]}});
        let r = s.check(&mut obj, Unknown::Refuse);
        let fields: Vec<&str> = r.causes.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"spec.replicas"), "{fields:?}");
        assert!(fields.contains(&"spec.scheduling"));
        assert!(fields.contains(&"spec.template"));
        assert!(fields.contains(&"spec.ports[0].name"));
        assert!(fields.contains(&"spec.ports[1]"), "duplicate map key: {fields:?}");
        assert!(!fields.contains(&"spec.maxSurge"));
        let replicas = r.causes.iter().find(|c| c.field == "spec.replicas").unwrap();
        assert_eq!(
            replicas.message,
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"
        );
    }

    #[test]
    fn applies_defaults_and_drops_non_nullable_nulls() {
        let s = fleetish();
        let mut obj = json!({"spec": {"template": {}, "health": {}, "replicas": null, "opt": null}});
        let r = s.check(&mut obj, Unknown::Refuse);
        assert!(r.causes.is_empty(), "{:?}", r.causes);
        assert_eq!(obj["spec"]["health"]["periodSeconds"], 5);
        assert!(obj["spec"].get("replicas").is_none());
        assert!(obj["spec"]["opt"].is_null());
    }

    #[test]
    fn wrong_type_names_the_expected_type() {
        let s = fleetish();
        let mut obj = json!({"spec": {"template": {}, "replicas": "two"}});
        let r = s.check(&mut obj, Unknown::Refuse);
        assert_eq!(r.causes.len(), 1);
        assert_eq!(r.causes[0].reason, "FieldValueTypeInvalid");
        assert!(r.causes[0].message.contains("must be of type integer"), "{}", r.causes[0].message);
    }
}
