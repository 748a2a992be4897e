//! Kubernetes objects as JSON values: identity, sdctl's labels, apply order, and "is what I want
//! already there" (every wanted field has its value, and sdctl owns no field it no longer wants:
//! then a server-side apply would change nothing).

use serde_json::{Map, Value};

use crate::names::{FIELD_MANAGER, K8S_LABEL_ENV, K8S_MANAGED_BY};

/// `Kind namespace/name` (or `Kind name` for cluster-scoped objects), for messages.
pub fn ident(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace(obj: &Value) -> Option<&str> {
    obj["metadata"]["namespace"].as_str()
}

pub fn kind(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or_default()
}

/// Marks an object as sdctl's: `sdctl.dev/env` and `app.kubernetes.io/managed-by: sdctl`.
pub fn label(obj: &mut Value, env: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let labels = meta.entry("labels").or_insert_with(|| Value::Object(Map::new()));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(K8S_LABEL_ENV.to_string(), Value::String(env.to_string()));
        labels.insert(K8S_MANAGED_BY.to_string(), Value::String("sdctl".to_string()));
    }
}

/// Apply order: what others refer to first (namespaces, CRDs, accounts, config), webhooks and
/// API services last so that they never intercept objects applied before their server runs.
pub fn order(obj: &Value) -> u8 {
    match kind(obj) {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "PriorityClass" | "ServiceAccount" | "ClusterRole" | "Role" | "ClusterRoleBinding" | "RoleBinding" => 2,
        "Secret" | "ConfigMap" | "StorageClass" => 3,
        "PersistentVolume" | "PersistentVolumeClaim" => 4,
        "Service" => 5,
        "Deployment" | "DaemonSet" | "StatefulSet" | "Job" | "CronJob" | "PodDisruptionBudget" => 6,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" | "APIService" => 7,
        _ => 8,
    }
}

/// Sorts objects into apply order, keeping the given order within a rank.
pub fn sort_for_apply(objects: &mut [Value]) {
    objects.sort_by_key(order);
}

/// Whether every field of `want` has the same value in `live` (lists element by element).
/// Numbers compare by value (`1` and `1.0`); fields the server added are ignored.
pub fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w.iter().all(|(k, wv)| match l.get(k) {
            Some(lv) => contains(lv, wv),
            None => is_empty(wv),
        }),
        (Value::Array(l), Value::Array(w)) => l.len() == w.len() && l.iter().zip(w).all(|(lv, wv)| contains(lv, wv)),
        (Value::Number(l), Value::Number(w)) => l.as_f64() == w.as_f64(),
        // Quantities and int-or-string fields may come back as the other form.
        (Value::String(l), Value::Number(w)) | (Value::Number(w), Value::String(l)) => l == &w.to_string(),
        // The API server stores quantities canonically: `1024Gi` reads back as `1Ti`.
        (Value::String(l), Value::String(w)) => l == w || same_quantity(l, w),
        (l, w) => l == w,
    }
}

/// Whether two strings are the same resource quantity written differently (`1024Gi`, `1Ti`).
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0,
        _ => false,
    }
}

/// The value of a Kubernetes quantity (`1.5Gi`, `500m`, `2e3`), or None when `s` is not one.
pub fn quantity(s: &str) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let binary = |p: i32| 1024f64.powi(p);
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(value * factor)
}

/// Whether applying `want` would leave `live` as it is.
pub fn in_sync(live: &Value, want: &Value) -> bool {
    contains(live, want) && no_longer_wanted(live, want).is_empty()
}

/// Fields sdctl's earlier applies set (its `managedFields` entry) that `want` no longer has: a
/// server-side apply of `want` removes them (a config switched back, a template line dropped).
/// Paths like `spec.iap.oauthclientCredentials`, for the plan.
pub fn no_longer_wanted(live: &Value, want: &Value) -> Vec<String> {
    unwanted(live, want).iter().map(|path| display(path)).collect()
}

/// A JSON merge patch deleting the unwanted fields that sdctl alone owns and that are reached
/// through map fields only; for when server-side apply refuses to remove them itself.
///
/// Server-side apply may leave an emptied parent behind as `{}` (structured-merge-diff's handling
/// of emptied maps has changed between Kubernetes releases), which a schema with a required child
/// then refuses; a merge patch with `null` removes the field itself. Fields another manager also
/// has a say in, and unwanted list items, are left to server-side apply.
pub fn removal_patch(live: &Value, want: &Value) -> Option<Value> {
    let mut patch = Map::new();
    for path in unwanted(live, want) {
        if owned_by_others(live, &path) {
            continue;
        }
        let Some(fields) = path.iter().map(|e| e.strip_prefix("f:")).collect::<Option<Vec<_>>>() else { continue };
        insert_null(&mut patch, &fields);
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// Sets `fields` (a path) to null in `patch`, unless an ancestor is already null.
fn insert_null(patch: &mut Map<String, Value>, fields: &[&str]) {
    let Some((last, parents)) = fields.split_last() else { return };
    let mut node = patch;
    for field in parents {
        let child = node.entry(field.to_string()).or_insert_with(|| Value::Object(Map::new()));
        let Some(map) = child.as_object_mut() else { return };
        node = map;
    }
    node.insert(last.to_string(), Value::Null);
}

/// sdctl's server-side apply entries: not another manager's, not a subresource's.
fn sdctl_applies(live: &Value) -> impl Iterator<Item = &Value> {
    let entries = live["metadata"]["managedFields"].as_array().into_iter().flatten();
    entries.filter(|e| e["manager"] == FIELD_MANAGER && e["operation"] == "Apply" && is_main_resource(e))
}

fn is_main_resource(entry: &Value) -> bool {
    entry["subresource"].as_str().is_none_or(str::is_empty)
}

/// Whether another field manager owns the field at `path` or something inside it.
fn owned_by_others(live: &Value, path: &[String]) -> bool {
    let entries = live["metadata"]["managedFields"].as_array().into_iter().flatten();
    entries
        .filter(|e| !(e["manager"] == FIELD_MANAGER && e["operation"] == "Apply") && is_main_resource(e))
        .any(|e| path.iter().try_fold(&e["fieldsV1"], |node, element| node.get(element)).is_some())
}

/// The unwanted paths as `fieldsV1` elements (`f:spec`, `f:iap`, ...), each once.
fn unwanted(live: &Value, want: &Value) -> Vec<Vec<String>> {
    let mut gone = Vec::new();
    for entry in sdctl_applies(live) {
        if let Some(owned) = entry["fieldsV1"].as_object() {
            owned_but_unwanted(owned, want, &mut Vec::new(), &mut gone);
        }
    }
    gone.sort();
    gone.dedup();
    gone
}

/// Walks a `fieldsV1` tree (`f:name`, `k:{"name":"x"}`, `v:"value"`, `i:0`, `.`) against `want`.
fn owned_but_unwanted(owned: &Map<String, Value>, want: &Value, path: &mut Vec<String>, gone: &mut Vec<Vec<String>>) {
    for (element, children) in owned {
        let found = if let Some(field) = element.strip_prefix("f:") {
            want.get(field)
        } else if let Some(key) = element.strip_prefix("k:") {
            // Keys the server defaulted (a port's `protocol`) may be absent from `want`.
            let key: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            let matches = |item: &&Value| key.iter().all(|(k, v)| item.get(k).is_none_or(|have| have == v));
            want.as_array().and_then(|items| items.iter().find(matches))
        } else if let Some(value) = element.strip_prefix("v:") {
            let value: Value = serde_json::from_str(value).unwrap_or(Value::Null);
            want.as_array().and_then(|items| items.iter().find(|item| **item == value))
        } else if let Some(index) = element.strip_prefix("i:") {
            want.as_array().and_then(|items| items.get(index.parse::<usize>().unwrap_or(usize::MAX)))
        } else {
            continue; // `.`: the element itself, present since we got here
        };
        path.push(element.clone());
        match (found, children.as_object()) {
            (None, _) => gone.push(path.clone()),
            (Some(child), Some(grandchildren)) => owned_but_unwanted(grandchildren, child, path, gone),
            (Some(_), None) => {}
        }
        path.pop();
    }
}

/// `spec.ports[{"containerPort":7860}]` for `[f:spec, f:ports, k:{"containerPort":7860}]`.
fn display(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        match element.strip_prefix("f:") {
            Some(field) if out.is_empty() => out.push_str(field),
            Some(field) => {
                out.push('.');
                out.push_str(field);
            }
            None => {
                out.push('[');
                out.push_str(&element[2..]);
                out.push(']');
            }
        }
    }
    out
}

/// `{}`, `[]`, `""`, `false` and null are what an API server omits.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

/// Objects of a multi-document YAML text (empty documents skipped).
pub fn parse_yaml(text: &str, what: &str) -> anyhow::Result<Vec<Value>> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| anyhow::anyhow!("{what} is not valid YAML: {e}"))?;
    Ok(docs.into_iter().filter(|d| d.is_object() && d.get("kind").is_some()).collect())
}

/// Objects as one multi-document YAML text (for `render`).
pub fn to_yaml(objects: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for obj in objects {
        out.push_str("---\n");
        out.push_str(
            &serde_saphyr::to_string(obj).map_err(|e| anyhow::anyhow!("cannot write {} as YAML: {e}", ident(obj)))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod quantity_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_compare_by_value() {
        assert!(contains(&json!({"storage": "1Ti"}), &json!({"storage": "1024Gi"})));
        assert!(contains(&json!({"cpu": "500m"}), &json!({"cpu": "0.5"})));
        assert!(contains(&json!({"memory": "1536Mi"}), &json!({"memory": "1.5Gi"})));
        assert!(!contains(&json!({"storage": "1Ti"}), &json!({"storage": "1000Gi"})));
        // Names that merely start with digits are compared as text.
        assert!(!contains(&json!({"image": "1.60.0"}), &json!({"image": "1.6"})));
        assert!(!contains(&json!({"v": "10abc"}), &json!({"v": "10"})));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_fields_and_compares_numbers_by_value() {
        let live = json!({"spec": {"replicas": 2, "x": 1.0, "ports": [{"port": 80, "protocol": "TCP"}]}, "status": {}});
        assert!(contains(&live, &json!({"spec": {"replicas": 2, "x": 1, "ports": [{"port": 80}]}})));
        assert!(!contains(&live, &json!({"spec": {"replicas": 3}})));
        assert!(!contains(&live, &json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}})));
        assert!(contains(&live, &json!({"spec": {"tolerations": []}})), "an empty list the server omits");
    }

    #[test]
    fn fields_sdctl_set_but_no_longer_wants_are_drift() {
        let owned = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:iap": {"f:enabled": {}, "f:oauthclientCredentials": {"f:secretName": {}}},
                "f:ports": {"k:{\"containerPort\":7860,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                "f:finalizers": {"v:\"a\"": {}}
            }
        });
        let live = json!({"metadata": {"managedFields": [
            {"manager": "sdctl", "operation": "Apply", "fieldsV1": owned},
            {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:other": {}}}},
            // sdctl never applies status; if something did under its name, it is not drift.
            {"manager": "sdctl", "operation": "Apply", "subresource": "status", "fieldsV1": {"f:status": {}}}
        ]}});
        let want = json!({
            "metadata": {"labels": {"app": "x"}},
            "spec": {"iap": {"enabled": true}, "ports": [{"containerPort": 7860}], "finalizers": ["a"]}
        });
        assert_eq!(no_longer_wanted(&live, &want), ["spec.iap.oauthclientCredentials"]);
        assert_eq!(
            removal_patch(&live, &want),
            Some(json!({"spec": {"iap": {"oauthclientCredentials": null}}})),
            "removed whole, not left as an empty map"
        );
        let mut still = want.clone();
        still["spec"]["iap"]["oauthclientCredentials"] = json!({"secretName": "s"});
        assert!(no_longer_wanted(&live, &still).is_empty(), "a defaulted key (protocol) still matches");
        assert_eq!(removal_patch(&live, &still), None);
        still["spec"]["ports"] = json!([{"containerPort": 7861}]);
        still["spec"]["finalizers"] = json!([]);
        assert_eq!(
            no_longer_wanted(&live, &still),
            ["spec.finalizers[\"a\"]", "spec.ports[{\"containerPort\":7860,\"protocol\":\"TCP\"}]"]
        );
        assert_eq!(removal_patch(&live, &still), None, "list items are left to server-side apply");
    }

    #[test]
    fn fields_another_manager_shares_are_not_patched_away() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "sdctl", "operation": "Apply", "fieldsV1": {"f:metadata": {"f:annotations": {"f:a": {}}}}},
            {"manager": "neg-controller", "operation": "Update", "fieldsV1": {"f:metadata": {"f:annotations": {"f:neg-status": {}}}}},
            {"manager": "sdctl", "operation": "Apply", "fieldsV1": {"f:metadata": {"f:annotations": {"f:a": {}}}}}
        ]}});
        let want = json!({"metadata": {"name": "x"}});
        assert_eq!(no_longer_wanted(&live, &want), ["metadata.annotations"], "each path once");
        assert_eq!(removal_patch(&live, &want), None, "the annotations map is not sdctl's alone");
    }

    #[test]
    fn namespaces_and_crds_go_first_webhooks_last() {
        let mut objs = vec![
            json!({"kind": "ValidatingWebhookConfiguration"}),
            json!({"kind": "Deployment"}),
            json!({"kind": "CustomResourceDefinition"}),
            json!({"kind": "Namespace"}),
        ];
        sort_for_apply(&mut objs);
        let kinds: Vec<&str> = objs.iter().map(kind).collect();
        assert_eq!(kinds, ["Namespace", "CustomResourceDefinition", "Deployment", "ValidatingWebhookConfiguration"]);
    }
}
