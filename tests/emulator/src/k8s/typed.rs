//! Strict decoding of built-in kinds through k8s-openapi's types: a body that does not decode
//! is refused (wrong type), and fields the type does not know are found by comparing the body
//! with its typed round trip (k8s-openapi ignores unknown fields when decoding).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apireg;

/// The result of decoding: a type error (`path: message`) or the undeclared field paths.
#[derive(Debug, Default)]
pub struct Decoded {
    pub error: Option<String>,
    pub unknown: Vec<String>,
}

/// Decode `obj` as built-in `kind`. Kinds this table does not know decode trivially.
pub fn decode(kind: &str, obj: &Value) -> Decoded {
    match typed_round_trip(kind, obj) {
        None => Decoded::default(),
        Some(Err(error)) => Decoded { error: Some(error), unknown: Vec::new() },
        Some(Ok(back)) => {
            let mut unknown = Vec::new();
            missing(obj, &back, "", &mut unknown);
            Decoded { error: None, unknown }
        }
    }
}

/// `obj` decoded as built-in `kind` and encoded again (`Err`: where it does not decode); `None`
/// for kinds this table does not know.
fn typed_round_trip(kind: &str, obj: &Value) -> Option<Result<Value, String>> {
    macro_rules! kinds {
        ($($name:literal => $ty:ty),* $(,)?) => {
            match kind {
                $($name => Some(round_trip::<$ty>(obj)),)*
                _ => None,
            }
        };
    }
    kinds! {
        "Namespace" => api::core::v1::Namespace,
        "ServiceAccount" => api::core::v1::ServiceAccount,
        "Secret" => api::core::v1::Secret,
        "ConfigMap" => api::core::v1::ConfigMap,
        "Service" => api::core::v1::Service,
        "Pod" => api::core::v1::Pod,
        "Node" => api::core::v1::Node,
        "Event" => api::core::v1::Event,
        "PersistentVolume" => api::core::v1::PersistentVolume,
        "PersistentVolumeClaim" => api::core::v1::PersistentVolumeClaim,
        "Endpoints" => api::core::v1::Endpoints,
        "ResourceQuota" => api::core::v1::ResourceQuota,
        "LimitRange" => api::core::v1::LimitRange,
        "Deployment" => api::apps::v1::Deployment,
        "DaemonSet" => api::apps::v1::DaemonSet,
        "ReplicaSet" => api::apps::v1::ReplicaSet,
        "StatefulSet" => api::apps::v1::StatefulSet,
        "Job" => api::batch::v1::Job,
        "CronJob" => api::batch::v1::CronJob,
        "Role" => api::rbac::v1::Role,
        "ClusterRole" => api::rbac::v1::ClusterRole,
        "RoleBinding" => api::rbac::v1::RoleBinding,
        "ClusterRoleBinding" => api::rbac::v1::ClusterRoleBinding,
        "Ingress" => api::networking::v1::Ingress,
        "IngressClass" => api::networking::v1::IngressClass,
        "NetworkPolicy" => api::networking::v1::NetworkPolicy,
        "PodDisruptionBudget" => api::policy::v1::PodDisruptionBudget,
        "PriorityClass" => api::scheduling::v1::PriorityClass,
        "CustomResourceDefinition" => apiext::CustomResourceDefinition,
        "MutatingWebhookConfiguration" => api::admissionregistration::v1::MutatingWebhookConfiguration,
        "ValidatingWebhookConfiguration" => api::admissionregistration::v1::ValidatingWebhookConfiguration,
        "APIService" => apireg::APIService,
        "StorageClass" => api::storage::v1::StorageClass,
        "CSIDriver" => api::storage::v1::CSIDriver,
        "Lease" => api::coordination::v1::Lease,
        "SelfSubjectAccessReview" => api::authorization::v1::SelfSubjectAccessReview,
        "SelfSubjectRulesReview" => api::authorization::v1::SelfSubjectRulesReview,
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(obj: &Value) -> Result<Value, String> {
    let typed: T = serde_path_to_error::deserialize(obj).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        if path.is_empty() || path == "." { msg } else { format!("{path}: {msg}") }
    })?;
    Ok(serde_json::to_value(&typed).unwrap_or(Value::Null))
}

/// Fields of built-in `kind` in `obj` that its type does not declare, null-valued ones included
/// (server-side apply refuses those too). A null field is known when some value of the right
/// type survives the typed round trip or is refused with a type error.
pub fn undeclared(kind: &str, obj: &Value) -> Vec<String> {
    let mut unknown = decode(kind, obj).unknown;
    let mut nulls = Vec::new();
    null_paths(obj, &mut Vec::new(), &mut nulls);
    for path in nulls {
        let known = [
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!(""),
            serde_json::json!(0),
            serde_json::json!(false),
        ]
        .into_iter()
        .any(|probe| {
            let mut with = obj.clone();
            set_at(&mut with, &path, probe);
            let d = decode(kind, &with);
            d.error.is_some()
                || !d.unknown.iter().any(|u| *u == dotted(&path)) && present_after_round_trip(kind, &with, &path)
        });
        if !known {
            unknown.push(dotted(&path));
        }
    }
    unknown
}

/// A path element: a field name or a list index.
#[derive(Clone)]
enum Step {
    Field(String),
    Index(usize),
}

fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(f) if out.is_empty() => out.push_str(f),
            Step::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn null_paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                at.push(Step::Field(k.clone()));
                if child.is_null() {
                    out.push(at.clone());
                } else {
                    null_paths(child, at, out);
                }
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(Step::Index(i));
                null_paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn set_at(v: &mut Value, path: &[Step], new: Value) {
    let mut node = v;
    for step in path {
        node = match step {
            Step::Field(f) => &mut node[f.as_str()],
            Step::Index(i) => &mut node[*i],
        };
    }
    *node = new;
}

fn present_after_round_trip(kind: &str, obj: &Value, path: &[Step]) -> bool {
    let Some(Ok(back)) = typed_round_trip(kind, obj) else { return true };
    let mut node = &back;
    for step in path {
        let next = match step {
            Step::Field(f) => node.get(f.as_str()),
            Step::Index(i) => node.get(*i),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

/// Paths present (non-null) in `orig` but absent from `back`.
fn missing(orig: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (orig, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match b.get(k) {
                    Some(bv) => missing(v, bv, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                missing(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_valued_fields_are_undeclared_unless_the_type_has_them() {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "subjects": null});
        assert_eq!(undeclared("ServiceAccount", &sa), ["subjects"]);
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
                       "spec": {"replicas": null, "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [], "nodeName": null}}}});
        assert!(undeclared("Deployment", &d).is_empty(), "{:?}", undeclared("Deployment", &d));
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "imagePolicy": null}]}});
        assert_eq!(undeclared("Pod", &pod), ["spec.containers[0].imagePolicy"]);
    }

    #[test]
    fn finds_unknown_fields_and_type_errors() {
        let d = decode(
            "Deployment",
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "creationTimestamp": null},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                             "template": {"metadata": {"labels": {"a": "b"}},
                                          "spec": {"containers": [{"name": "c", "image": "i", "imagePolicy": "x",
                                                                   "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}),
        );
        assert_eq!(d.error, None);
        assert_eq!(d.unknown, ["spec.template.spec.containers[0].imagePolicy"]);
        let d = decode(
            "Deployment",
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
                                             "spec": {"replicas": "two"}}),
        );
        assert!(d.error.unwrap().starts_with("spec.replicas"));
    }
}
