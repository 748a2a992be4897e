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
    macro_rules! kinds {
        ($($name:literal => $ty:ty),* $(,)?) => {
            match kind {
                $($name => round_trip::<$ty>(obj),)*
                _ => Decoded::default(),
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

fn round_trip<T: DeserializeOwned + Serialize>(obj: &Value) -> Decoded {
    let typed: T = match serde_path_to_error::deserialize(obj) {
        Ok(t) => t,
        Err(e) => {
            let path = e.path().to_string();
            let msg = e.inner().to_string();
            let error = if path.is_empty() || path == "." { msg } else { format!("{path}: {msg}") };
            return Decoded { error: Some(error), unknown: Vec::new() };
        }
    };
    let back = serde_json::to_value(&typed).unwrap_or(Value::Null);
    let mut unknown = Vec::new();
    missing(obj, &back, "", &mut unknown);
    Decoded { error: None, unknown }
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
