//! Kubernetes objects as JSON values: identity, sdctl's labels, apply order, and "is what I want
//! already there" (a subset check: server-side apply of a subset of the live object changes nothing).

use serde_json::{Map, Value};

use crate::names::{K8S_LABEL_ENV, K8S_MANAGED_BY};

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
        (l, w) => l == w,
    }
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
