//! CRDs every GKE cluster has: BackendConfig and ComputeClass (`cloud.google.com/v1`),
//! ManagedCertificate (`networking.gke.io/v1`) and FrontendConfig (`networking.gke.io/v1beta1`). Written by hand
//! from GKE's documentation (the fields of `BackendConfigSpec`, `ManagedCertificateSpec`,
//! `FrontendConfigSpec`); unknown fields are refused like any structural schema's.

use serde_json::{Value, json};

fn int() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn crd(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    spec: Value,
    status: Option<Value>,
) -> Value {
    let mut props = json!({"spec": spec});
    if let Some(s) = &status {
        props["status"] = s.clone();
    }
    let mut v = json!({
        "name": version,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": props}},
    });
    if status.is_some() {
        v["subresources"] = json!({"status": {}});
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}"), "labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural,
                      "singular": kind.to_lowercase(), "shortNames": short},
            "scope": "Namespaced",
            "versions": [v],
        },
    })
}

fn backend_config() -> Value {
    let spec = json!({
        "type": "object",
        "properties": {
            "timeoutSec": int(),
            "connectionDraining": {"type": "object", "properties": {"drainingTimeoutSec": int()}},
            "iap": {
                "type": "object",
                "required": ["enabled"],
                "properties": {
                    "enabled": boolean(),
                    "oauthclientCredentials": {
                        "type": "object",
                        "required": ["secretName"],
                        "properties": {"secretName": string(), "clientID": string(), "clientSecret": string()},
                    },
                },
            },
            "cdn": {
                "type": "object",
                "properties": {
                    "enabled": boolean(),
                    "cacheMode": string(),
                    "clientTtl": int(),
                    "defaultTtl": int(),
                    "maxTtl": int(),
                    "negativeCaching": boolean(),
                    "requestCoalescing": boolean(),
                    "serveWhileStale": int(),
                    "signedUrlCacheMaxAgeSec": int(),
                    "cachePolicy": {"type": "object", "properties": {
                        "includeHost": boolean(), "includeProtocol": boolean(), "includeQueryString": boolean(),
                        "queryStringBlacklist": strings(), "queryStringWhitelist": strings(),
                    }},
                    "negativeCachingPolicy": {"type": "array", "items": {"type": "object", "properties": {"code": int(), "ttl": int()}}},
                    "signedUrlKeys": {"type": "array", "items": {"type": "object", "properties": {"keyName": string(), "keyValue": string(), "secretName": string()}}},
                    "bypassCacheOnRequestHeaders": {"type": "array", "items": {"type": "object", "properties": {"headerName": string()}}},
                },
            },
            "securityPolicy": {"type": "object", "properties": {"name": string()}},
            "sessionAffinity": {"type": "object", "properties": {"affinityType": string(), "affinityCookieTtlSec": int()}},
            "customRequestHeaders": {"type": "object", "properties": {"headers": strings()}},
            "customResponseHeaders": {"type": "object", "properties": {"headers": strings()}},
            "healthCheck": {"type": "object", "properties": {
                "checkIntervalSec": int(), "timeoutSec": int(), "healthyThreshold": int(), "unhealthyThreshold": int(),
                "type": {"type": "string", "enum": ["HTTP", "HTTPS", "HTTP2"]}, "requestPath": string(), "port": int(),
            }},
            "logging": {"type": "object", "properties": {"enable": boolean(), "sampleRate": {"type": "number"}}},
        },
    });
    crd("cloud.google.com", "v1", "BackendConfig", "backendconfigs", &["bc"], spec, None)
}

fn managed_certificate() -> Value {
    let domain = json!({
        "type": "string",
        "maxLength": 63,
        "pattern": r"^(([a-zA-Z0-9]+|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])\.)+[a-zA-Z][-a-zA-Z0-9]*[a-zA-Z0-9]\.?$",
    });
    let spec = json!({
        "type": "object",
        "required": ["domains"],
        "properties": {"domains": {"type": "array", "maxItems": 100, "items": domain}},
    });
    let status = json!({
        "type": "object",
        "properties": {
            "certificateName": string(),
            "certificateStatus": string(),
            "expireTime": {"type": "string", "format": "date-time"},
            "domainStatus": {"type": "array", "items": {"type": "object", "required": ["domain", "status"],
                "properties": {"domain": string(), "status": string()}}},
        },
    });
    crd("networking.gke.io", "v1", "ManagedCertificate", "managedcertificates", &["mcrt"], spec, Some(status))
}

fn frontend_config() -> Value {
    let spec = json!({
        "type": "object",
        "properties": {
            "sslPolicy": string(),
            "redirectToHttps": {"type": "object", "properties": {
                "enabled": boolean(),
                "responseCodeName": {"type": "string", "enum": ["MOVED_PERMANENTLY_DEFAULT", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"]},
            }},
        },
    });
    crd("networking.gke.io", "v1beta1", "FrontendConfig", "frontendconfigs", &[], spec, None)
}

/// Custom compute classes (`computeclasses.cloud.google.com`, cluster-scoped), from the public
/// Go types of GoogleCloudPlatform/compute-class-api (`api/cloud.google.com/v1/types.go`): the
/// fields of a priority rule GKE documents, the spec's fallback and migration settings. The
/// CRD's CEL rules (e.g. `nodepools` alone in a rule, flex-start not with spot) are not checked.
fn compute_class() -> Value {
    let gpu = json!({"type": "object", "properties": {
        "type": string(), "count": int(), "driverVersion": {"type": "string", "enum": ["default", "latest", "autoinstall-disabled"]},
    }});
    let flex_start = json!({"type": "object", "required": ["enabled"], "properties": {
        "enabled": boolean(),
        "nodeRecycling": {"type": "object", "properties": {"leadTimeSeconds": int()}},
    }});
    let priority = json!({"type": "object", "properties": {
        "nodepools": strings(), "machineFamily": string(), "machineType": string(), "spot": boolean(),
        "minCores": int(), "minMemoryGb": int(), "gpu": gpu, "flexStart": flex_start,
        "maxRunDurationSeconds": int(), "capacityCheckWaitTimeSeconds": int(), "priorityScore": int(),
        "location": {"type": "object", "properties": {"zones": strings(), "locationPolicy": string()}},
    }});
    let spec = json!({"type": "object", "properties": {
        "priorities": {"type": "array", "items": priority},
        "whenUnsatisfiable": {"type": "string", "enum": ["ScaleUpAnyway", "DoNotScaleUp"], "default": "DoNotScaleUp"},
        "activeMigration": {"type": "object", "properties": {
            "optimizeRulePriority": boolean(), "ensureAllDaemonSetPodsRunning": boolean(),
        }},
        "nodePoolAutoCreation": {"type": "object", "properties": {"enabled": boolean()}},
        "description": string(),
    }});
    let status = json!({"type": "object", "properties": {"conditions": {"type": "array", "items": {"type": "object",
        "x-kubernetes-preserve-unknown-fields": true}}}});
    let mut c = crd("cloud.google.com", "v1", "ComputeClass", "computeclasses", &["ccc"], spec, Some(status));
    c["spec"]["scope"] = json!("Cluster");
    c
}

/// The GKE CRDs, as installed on every cluster.
pub fn all() -> Vec<Value> {
    vec![backend_config(), managed_certificate(), frontend_config(), compute_class()]
}
