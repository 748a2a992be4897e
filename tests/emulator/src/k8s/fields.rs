//! Field sets (`managedFields[].fieldsV1`) and the shape knowledge server-side apply needs:
//! which lists merge by key (`containers` by `name`), which are sets, which are atomic.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::schema::{ListType, Schema};

/// A set of field paths, as a tree of `fieldsV1` path elements (`f:spec`, `k:{"name":"web"}`,
/// `v:"x"`). `own` is the `.` marker: the element itself is owned (leaves always are).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    pub own: bool,
    pub children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    pub fn leaf() -> Self {
        Self { own: true, children: BTreeMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        !self.own && self.children.is_empty()
    }

    /// From `fieldsV1` JSON.
    pub fn from_json(v: &Value) -> Self {
        let Some(m) = v.as_object() else { return Self::default() };
        if m.is_empty() {
            return Self::leaf();
        }
        let mut s = Self::default();
        for (k, child) in m {
            if k == "." {
                s.own = true;
            } else {
                s.children.insert(k.clone(), Self::from_json(child));
            }
        }
        s
    }

    /// To `fieldsV1` JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if self.own && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_json());
        }
        Value::Object(m)
    }

    pub fn union(&mut self, other: &FieldSet) {
        self.own |= other.own;
        for (k, c) in &other.children {
            self.children.entry(k.clone()).or_default().union(c);
        }
    }

    /// Remove every path of `other` from `self`.
    pub fn subtract(&mut self, other: &FieldSet) {
        if other.own {
            self.own = false;
        }
        for (k, c) in &other.children {
            if let Some(mine) = self.children.get_mut(k) {
                mine.subtract(c);
                if mine.is_empty() {
                    self.children.remove(k);
                }
            }
        }
    }

    /// Keep only paths also in `other`.
    pub fn intersect(&mut self, other: &FieldSet) {
        self.own &= other.own;
        self.children.retain(|k, c| match other.children.get(k) {
            Some(o) => {
                c.intersect(o);
                !c.is_empty()
            }
            None => false,
        });
    }

    /// Every owned path, as element lists.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.own && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }

    pub fn contains(&self, path: &[String]) -> bool {
        match path.split_first() {
            None => self.own,
            Some((head, rest)) => self.children.get(head).is_some_and(|c| c.contains(rest)),
        }
    }

    pub fn insert(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.own = true,
            Some((head, rest)) => self.children.entry(head.clone()).or_default().insert(rest),
        }
    }
}

/// `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`: how conflicts name a path.
pub fn display_path(path: &[String]) -> String {
    let mut s = String::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else {
            s.push_str(el);
        }
    }
    s
}

/// Where a value sits, to know how its lists and maps merge.
#[derive(Debug, Clone)]
pub enum Shape<'a> {
    /// A custom resource: the CRD schema says (lists without `x-kubernetes-list-type` are atomic).
    Schema(&'a Schema, Option<usize>),
    /// A built-in kind: the field path (names only) decides, following Kubernetes' list markers.
    Builtin { kind: &'a str, path: Vec<String> },
    /// Unknown content (preserved fields): maps merge, lists are atomic.
    Free,
}

impl<'a> Shape<'a> {
    pub fn for_kind(kind: &'a str, schema: Option<&'a Schema>) -> Self {
        match schema {
            Some(s) => Shape::Schema(s, Some(Schema::ROOT)),
            None => Shape::Builtin { kind, path: Vec::new() },
        }
    }

    pub fn field(&self, name: &str) -> Shape<'a> {
        match self {
            Shape::Schema(s, id) => match s.field(*id, name) {
                Some(c) => Shape::Schema(s, Some(c)),
                None => Shape::Free,
            },
            Shape::Builtin { kind, path } => {
                let mut p = path.clone();
                p.push(name.to_string());
                Shape::Builtin { kind, path: p }
            }
            Shape::Free => Shape::Free,
        }
    }

    pub fn item(&self) -> Shape<'a> {
        match self {
            Shape::Schema(s, id) => match s.item(*id) {
                Some(c) => Shape::Schema(s, Some(c)),
                None => Shape::Free,
            },
            other => other.clone(),
        }
    }

    pub fn list_type(&self) -> ListType {
        match self {
            Shape::Schema(s, id) => s.list_type(*id),
            Shape::Builtin { kind, path } => builtin_list(kind, path),
            Shape::Free => ListType::Atomic,
        }
    }

    pub fn atomic_map(&self) -> bool {
        match self {
            Shape::Schema(s, id) => s.atomic_map(*id),
            // `LabelSelector` and `RoleRef` are atomic structs in k8s.io/api.
            Shape::Builtin { path, .. } => {
                matches!(path.as_slice(), [a, b] if a == "spec" && b == "selector")
                    || path.last().is_some_and(|l| l == "roleRef")
            }
            Shape::Free => false,
        }
    }
}

/// List semantics of built-in kinds (the `+listType`/`patchMergeKey` markers of k8s.io/api).
fn builtin_list(kind: &str, path: &[String]) -> ListType {
    let last = path.last().map(String::as_str).unwrap_or("");
    let in_container =
        path.iter().any(|p| matches!(p.as_str(), "containers" | "initContainers" | "ephemeralContainers"));
    let keys = |k: &[&str]| ListType::Map(k.iter().map(|s| s.to_string()).collect());
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates"
        | "webhooks" => keys(&["name"]),
        "ports" if in_container => keys(&["containerPort", "protocol"]),
        "ports" if kind == "Service" && path.len() == 2 => keys(&["port", "protocol"]),
        "volumeMounts" => keys(&["mountPath"]),
        "volumeDevices" => keys(&["devicePath"]),
        "conditions" => keys(&["type"]),
        "ownerReferences" => keys(&["uid"]),
        "hostAliases" => keys(&["ip"]),
        "topologySpreadConstraints" => keys(&["topologyKey", "whenUnsatisfiable"]),
        "finalizers" => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// The key element of a list-map item: `k:{"name":"web"}` (keys sorted, absent keys omitted).
pub fn key_element(item: &Value, keys: &[String]) -> String {
    let mut m = BTreeMap::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", serde_json::to_string(&m).unwrap_or_default())
}

pub fn value_element(v: &Value) -> String {
    format!("v:{}", serde_json::to_string(v).unwrap_or_default())
}

/// Which top-level parts of an object field ownership covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    /// The main resource of a kind with a status subresource: everything but `status`.
    Main,
    /// The `/status` subresource: `status` only.
    Status,
    /// A kind without a status subresource: everything.
    Whole,
}

/// The field set of an object (what an applier of exactly this object owns).
pub fn field_set(obj: &Value, shape: &Shape<'_>, scope: Scope) -> FieldSet {
    let mut out = FieldSet::default();
    let Some(m) = obj.as_object() else { return out };
    for (k, v) in m {
        let wanted = match k.as_str() {
            "apiVersion" | "kind" => false,
            "status" => scope != Scope::Main,
            _ => scope != Scope::Status,
        };
        if !wanted {
            continue;
        }
        let child = if k == "metadata" { metadata_set(v) } else { value_set(v, &shape.field(k)) };
        if !child.is_empty() {
            out.children.insert(format!("f:{k}"), child);
        }
    }
    out
}

/// Only labels, annotations, finalizers and ownerReferences of metadata are owned.
fn metadata_set(md: &Value) -> FieldSet {
    let mut out = FieldSet::default();
    let shape = Shape::Builtin { kind: "", path: vec!["metadata".into()] };
    for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
        if let Some(v) = md.get(key).filter(|v| !v.is_null()) {
            let s = value_set(v, &shape.field(key));
            if !s.is_empty() {
                out.children.insert(format!("f:{key}"), s);
            }
        }
    }
    out
}

/// The field set of one value: scalars and atomic values are leaves.
pub fn value_set(v: &Value, shape: &Shape<'_>) -> FieldSet {
    match v {
        Value::Object(m) if !m.is_empty() && !shape.atomic_map() => {
            let mut s = FieldSet::default();
            for (k, c) in m {
                s.children.insert(format!("f:{k}"), value_set(c, &shape.field(k)));
            }
            s
        }
        Value::Array(items) => match shape.list_type() {
            ListType::Map(keys) => {
                let mut s = FieldSet::default();
                let item_shape = shape.item();
                for it in items {
                    let mut c = value_set(it, &item_shape);
                    c.own = true;
                    s.children.insert(key_element(it, &keys), c);
                }
                if items.is_empty() { FieldSet::leaf() } else { s }
            }
            ListType::Set => {
                let mut s = FieldSet::default();
                for it in items {
                    s.children.insert(value_element(it), FieldSet::leaf());
                }
                if items.is_empty() { FieldSet::leaf() } else { s }
            }
            ListType::Atomic => FieldSet::leaf(),
        },
        _ => FieldSet::leaf(),
    }
}

/// The value at a field-set path (`None` when absent).
pub fn value_at<'v>(obj: &'v Value, path: &[String]) -> Option<&'v Value> {
    let Some((head, rest)) = path.split_first() else { return Some(obj) };
    let next = if let Some(f) = head.strip_prefix("f:") {
        obj.get(f)?
    } else if let Some(k) = head.strip_prefix("k:") {
        let keys: Map<String, Value> = serde_json::from_str(k).ok()?;
        obj.as_array()?.iter().find(|it| keys.iter().all(|(k, v)| it.get(k) == Some(v)))?
    } else if let Some(v) = head.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).ok()?;
        obj.as_array()?.iter().find(|it| **it == want)?
    } else {
        return None;
    };
    value_at(next, rest)
}

/// Remove the value at a path (a field, a list-map item or a set member).
pub fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((head, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        if let Some(f) = head.strip_prefix("f:") {
            if let Some(m) = obj.as_object_mut() {
                m.remove(f);
            }
        } else if let Some(k) = head.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            if let Some(a) = obj.as_array_mut() {
                a.retain(|it| !keys.iter().all(|(k, v)| it.get(k) == Some(v)));
            }
        } else if let Some(v) = head.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).unwrap_or(Value::Null);
            if let Some(a) = obj.as_array_mut() {
                a.retain(|it| *it != want);
            }
        }
        return;
    }
    let next = if let Some(f) = head.strip_prefix("f:") {
        obj.get_mut(f)
    } else if let Some(k) = head.strip_prefix("k:") {
        let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
        obj.as_array_mut().and_then(|a| a.iter_mut().find(|it| keys.iter().all(|(k, v)| it.get(k) == Some(v))))
    } else {
        None
    };
    if let Some(n) = next {
        remove_at(n, rest);
    }
}

/// Paths whose value differs between `old` and `new` (added or changed), for Update operations.
pub fn changed_set(old: Option<&Value>, new: &Value, shape: &Shape<'_>) -> FieldSet {
    let Some(old) = old else { return value_set(new, shape) };
    if old == new {
        return FieldSet::default();
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !b.is_empty() && !shape.atomic_map() => {
            let mut s = FieldSet::default();
            for (k, nv) in b {
                let c = changed_set(a.get(k), nv, &shape.field(k));
                if !c.is_empty() {
                    s.children.insert(format!("f:{k}"), c);
                }
            }
            s
        }
        (Value::Array(a), Value::Array(b)) => match shape.list_type() {
            ListType::Map(keys) => {
                let mut s = FieldSet::default();
                let item_shape = shape.item();
                for it in b {
                    let key = key_element(it, &keys);
                    let prev = a.iter().find(|o| key_element(o, &keys) == key);
                    let mut c = changed_set(prev, it, &item_shape);
                    if prev.is_none() {
                        c.own = true;
                    }
                    if !c.is_empty() {
                        s.children.insert(key, c);
                    }
                }
                s
            }
            ListType::Set => {
                let mut s = FieldSet::default();
                for it in b.iter().filter(|it| !a.contains(it)) {
                    s.children.insert(value_element(it), FieldSet::leaf());
                }
                s
            }
            ListType::Atomic => FieldSet::leaf(),
        },
        _ => FieldSet::leaf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment",
               "metadata":{"name":"web","labels":{"app":"web"}},
               "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}},
               "status":{"replicas":2}})
    }

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let shape = Shape::for_kind("Deployment", None);
        let s = field_set(&deployment(), &shape, Scope::Main);
        let j = s.to_json();
        assert_eq!(j["f:metadata"]["f:labels"]["f:app"], json!({}));
        let c = &j["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
        assert_eq!(c["."], json!({}));
        assert_eq!(c["f:image"], json!({}));
        assert!(j.get("f:status").is_none());
        assert_eq!(FieldSet::from_json(&j), s);
    }

    #[test]
    fn values_and_removal_follow_paths() {
        let mut d = deployment();
        let path: Vec<String> = ["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"web\"}", "f:image"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(value_at(&d, &path), Some(&json!("nginx")));
        assert_eq!(display_path(&path), r#".spec.template.spec.containers[name="web"].image"#);
        remove_at(&mut d, &path);
        assert!(value_at(&d, &path).is_none());
    }

    #[test]
    fn changed_set_sees_only_changes() {
        let shape = Shape::for_kind("Deployment", None);
        let old = deployment();
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(3);
        let c = changed_set(Some(&old), &new, &shape);
        assert_eq!(c.paths(), vec![vec!["f:spec".to_string(), "f:replicas".to_string()]]);
    }
}
