//! `metadata.managedFields` and server-side apply: who owns which field, conflicts between
//! managers, `force`, and removal of fields an applier stopped sending. Simplified from
//! structured-merge-diff, faithful for what sdctl does (apply whole manifests, re-apply,
//! take over fields written by controllers).

use serde_json::{Value, json};

use super::fields::{
    FieldSet, Scope, Shape, changed_set, display_path, field_set, key_element, remove_at, value_at, value_element,
};
use super::meta;
use super::schema::ListType;
use super::status::Cause;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub set: FieldSet,
}

/// The managers of one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managers(pub Vec<Entry>);

impl Managers {
    pub fn read(obj: &Value) -> Self {
        let entries = obj
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| Entry {
                        manager: e.get("manager").and_then(Value::as_str).unwrap_or("").to_string(),
                        operation: e.get("operation").and_then(Value::as_str).unwrap_or("Update").to_string(),
                        api_version: e.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string(),
                        time: e.get("time").and_then(Value::as_str).unwrap_or("").to_string(),
                        subresource: e.get("subresource").and_then(Value::as_str).map(String::from),
                        set: FieldSet::from_json(e.get("fieldsV1").unwrap_or(&Value::Null)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(entries)
    }

    pub fn write(&self, obj: &mut Value) {
        let md = meta::metadata_mut(obj);
        let entries: Vec<Value> = self
            .0
            .iter()
            .filter(|e| !e.set.is_empty())
            .map(|e| {
                let mut v = json!({
                    "manager": e.manager,
                    "operation": e.operation,
                    "apiVersion": e.api_version,
                    "time": e.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": e.set.to_json(),
                });
                if let Some(s) = &e.subresource {
                    v["subresource"] = json!(s);
                }
                v
            })
            .collect();
        if entries.is_empty() {
            md.remove("managedFields");
        } else {
            md.insert("managedFields".into(), Value::Array(entries));
        }
    }

    fn entry_mut(&mut self, manager: &str, operation: &str, api_version: &str, sub: Option<&str>) -> &mut Entry {
        let pos = self
            .0
            .iter()
            .position(|e| e.manager == manager && e.operation == operation && e.subresource.as_deref() == sub);
        let i = match pos {
            Some(i) => i,
            None => {
                self.0.push(Entry {
                    manager: manager.to_string(),
                    operation: operation.to_string(),
                    api_version: api_version.to_string(),
                    time: meta::now_rfc3339(),
                    subresource: sub.map(String::from),
                    set: FieldSet::default(),
                });
                self.0.len() - 1
            }
        };
        &mut self.0[i]
    }

    /// An Update operation by `manager` changed `changed`: it now owns those fields and
    /// nobody else does (updates never conflict).
    pub fn record_update(&mut self, manager: &str, api_version: &str, sub: Option<&str>, changed: &FieldSet) {
        if changed.is_empty() || manager.is_empty() {
            return;
        }
        for e in &mut self.0 {
            if !(e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == sub) {
                e.set.subtract(changed);
            }
        }
        let e = self.entry_mut(manager, "Update", api_version, sub);
        e.set.union(changed);
        e.api_version = api_version.to_string();
        e.time = meta::now_rfc3339();
    }

    /// The same managers owning the same fields (times aside).
    pub fn same_sets(&self, other: &Managers) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                a.manager == b.manager && a.operation == b.operation && a.subresource == b.subresource && a.set == b.set
            })
    }

    /// Drop ownership of fields the object no longer has.
    pub fn retain_existing(&mut self, existing: &FieldSet) {
        for e in &mut self.0 {
            e.set.intersect(existing);
        }
        self.0.retain(|e| !e.set.is_empty());
    }
}

/// The request of one apply.
pub struct Apply<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub force: bool,
    pub scope: Scope,
    pub shape: Shape<'a>,
}

/// Merge an applied configuration into the live object (or create it from nothing).
/// Returns the merged object with its managers, or the conflicts.
pub fn apply(live: Option<&Value>, applied: &Value, req: &Apply<'_>) -> Result<(Value, Managers), Vec<Cause>> {
    let sub = (req.scope == Scope::Status).then_some("status");
    let applied_set = field_set(applied, &req.shape, req.scope);
    let Some(live) = live else {
        let mut created = strip_nulls(applied);
        if req.scope == Scope::Main
            && let Some(m) = created.as_object_mut()
        {
            m.remove("status");
        }
        let mut managers = Managers::default();
        let e = managers.entry_mut(req.manager, "Apply", req.api_version, sub);
        e.set = applied_set;
        return Ok((created, managers));
    };
    let mut managers = Managers::read(live);

    let mut conflicts = Vec::new();
    let mut stolen: Vec<(usize, Vec<String>)> = Vec::new();
    for path in applied_set.paths() {
        let is_member = path.last().is_some_and(|l| l.starts_with("k:") || l.starts_with("v:"));
        if is_member {
            continue;
        }
        let (Some(now), Some(want)) = (value_at(live, &path), value_at(applied, &path)) else { continue };
        if now == want {
            continue;
        }
        for (i, e) in managers.0.iter().enumerate() {
            if e.manager != req.manager && e.set.contains(&path) {
                let with_sub = e.subresource.as_ref().map(|s| format!(" with subresource {s:?}")).unwrap_or_default();
                let message =
                    format!("conflict with {:?}{with_sub} using {}: {}", e.manager, e.api_version, display_path(&path));
                conflicts.push(Cause { reason: "FieldManagerConflict", field: display_path(&path), message });
                stolen.push((i, path.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflicts);
    }
    for (i, path) in stolen {
        let mut p = FieldSet::default();
        p.insert(&path);
        managers.0[i].set.subtract(&p);
    }

    let mut merged = live.clone();
    // Fields this manager applied before and no longer applies go, unless someone else owns them.
    let previous = managers
        .0
        .iter()
        .find(|e| e.manager == req.manager && e.operation == "Apply" && e.subresource.as_deref() == sub)
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let mut dropped = previous;
    dropped.subtract(&applied_set);
    for path in dropped.paths() {
        let owned_elsewhere =
            managers.0.iter().any(|e| !(e.manager == req.manager && e.operation == "Apply") && e.set.contains(&path));
        if !owned_elsewhere {
            remove_at(&mut merged, &path);
        }
    }
    merge_into(&mut merged, applied, &req.shape, req.scope, true);

    let changed = merged != *live;
    let e = managers.entry_mut(req.manager, "Apply", req.api_version, sub);
    if e.set != applied_set || changed {
        e.set = applied_set;
        e.api_version = req.api_version.to_string();
        e.time = meta::now_rfc3339();
    }
    Ok((merged, managers))
}

/// Merge `patch` into `target` following list semantics (list-maps by key, sets by value,
/// atomic lists replaced). A null in `patch` removes the field.
fn merge_into(target: &mut Value, patch: &Value, shape: &Shape<'_>, scope: Scope, root: bool) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) if !shape.atomic_map() || root => {
            for (k, pv) in p {
                if root {
                    let skip = match k.as_str() {
                        "status" => scope == Scope::Main,
                        "metadata" | "apiVersion" | "kind" => false,
                        _ => scope == Scope::Status,
                    };
                    if skip {
                        continue;
                    }
                }
                if pv.is_null() {
                    t.remove(k);
                    continue;
                }
                let child_shape = if root && k == "metadata" {
                    Shape::Builtin { kind: "", path: vec!["metadata".into()] }
                } else {
                    shape.field(k)
                };
                match t.get_mut(k) {
                    Some(tv) => merge_into(tv, pv, &child_shape, scope, false),
                    None => {
                        t.insert(k.clone(), strip_nulls(pv));
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(p)) => match shape.list_type() {
            ListType::Map(keys) => {
                let item_shape = shape.item();
                let mut out = Vec::with_capacity(t.len().max(p.len()));
                for pi in p {
                    let key = key_element(pi, &keys);
                    match t.iter().position(|ti| key_element(ti, &keys) == key) {
                        Some(i) => {
                            let mut merged = t[i].clone();
                            merge_into(&mut merged, pi, &item_shape, scope, false);
                            out.push(merged);
                        }
                        None => out.push(strip_nulls(pi)),
                    }
                }
                for ti in t.iter() {
                    let key = key_element(ti, &keys);
                    if !p.iter().any(|pi| key_element(pi, &keys) == key) {
                        out.push(ti.clone());
                    }
                }
                *t = out;
            }
            ListType::Set => {
                let mut out: Vec<Value> = p.clone();
                for ti in t.iter() {
                    if !out.iter().any(|o| value_element(o) == value_element(ti)) {
                        out.push(ti.clone());
                    }
                }
                *t = out;
            }
            ListType::Atomic => *t = p.clone(),
        },
        (t, p) => *t = strip_nulls(p),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// The field set of a whole object, for `retain_existing`.
pub fn existing_set(obj: &Value, shape: &Shape<'_>) -> FieldSet {
    field_set(obj, shape, Scope::Whole)
}

/// Fields an Update changed (for ownership).
pub fn update_set(old: Option<&Value>, new: &Value, shape: &Shape<'_>, scope: Scope) -> FieldSet {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
            match scope {
                Scope::Main => {
                    m.remove("status");
                }
                Scope::Status => m.retain(|k, _| k == "status"),
                Scope::Whole => {}
            }
            if let Some(md) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                md.retain(|k, _| matches!(k.as_str(), "labels" | "annotations" | "finalizers" | "ownerReferences"));
            }
        }
        v
    };
    let new = strip(new);
    let old = old.map(strip);
    changed_set(old.as_ref(), &new, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(replicas: i64, image: &str) -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"d","labels":{"app":"web"}},
               "spec":{"replicas":replicas,"selector":{"matchLabels":{"app":"web"}},
                       "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":image}]}}}})
    }

    fn req<'a>(manager: &'a str, force: bool) -> Apply<'a> {
        Apply { manager, api_version: "apps/v1", force, scope: Scope::Main, shape: Shape::for_kind("Deployment", None) }
    }

    #[test]
    fn create_then_unchanged_reapply() {
        let (obj, m) = apply(None, &deploy(2, "nginx"), &req("sdctl", false)).unwrap();
        let mut live = obj.clone();
        m.write(&mut live);
        let (again, m2) = apply(Some(&live), &deploy(2, "nginx"), &req("sdctl", false)).unwrap();
        let mut again2 = again.clone();
        m2.write(&mut again2);
        assert_eq!(again2, live);
    }

    #[test]
    fn another_manager_conflicts_unless_forced() {
        let (obj, m) = apply(None, &deploy(2, "nginx"), &req("sdctl", false)).unwrap();
        let mut live = obj;
        m.write(&mut live);
        let err = apply(Some(&live), &deploy(3, "nginx"), &req("other", false)).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].message, r#"conflict with "sdctl" using apps/v1: .spec.replicas"#);
        let (merged, m) = apply(Some(&live), &deploy(3, "nginx"), &req("other", true)).unwrap();
        assert_eq!(merged["spec"]["replicas"], 3);
        let sdctl = m.0.iter().find(|e| e.manager == "sdctl").unwrap();
        assert!(!sdctl.set.contains(&["f:spec".into(), "f:replicas".into()]));
        assert!(sdctl.set.contains(&["f:spec".into(), "f:selector".into()]));
    }

    #[test]
    fn fields_no_longer_applied_are_removed() {
        let (obj, m) = apply(None, &deploy(2, "nginx"), &req("sdctl", false)).unwrap();
        let mut live = obj;
        m.write(&mut live);
        let mut next = deploy(2, "nginx");
        next["metadata"]["labels"] = json!({});
        next["spec"].as_object_mut().unwrap().remove("replicas");
        let (merged, _) = apply(Some(&live), &next, &req("sdctl", false)).unwrap();
        assert!(merged["spec"].get("replicas").is_none());
        assert_eq!(merged["metadata"]["labels"], json!({}));
    }

    #[test]
    fn list_map_items_merge_by_key() {
        let (obj, m) = apply(None, &deploy(2, "nginx"), &req("sdctl", false)).unwrap();
        let mut live = obj;
        m.write(&mut live);
        let side = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
            "spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"s"}]}}}});
        let (merged, _) = apply(Some(&live), &side, &req("injector", false)).unwrap();
        let names: Vec<&str> = merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sidecar", "web"]);
    }
}
