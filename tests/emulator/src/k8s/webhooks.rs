//! Admission webhooks registered in the cluster: matched by their rules, refused with the API
//! server's error when their Service has no ready endpoints or their configuration no CA to
//! trust the server by (failurePolicy Fail; Ignore skips them), and, for Agones' own webhooks,
//! answered by the emulator's implementation of Agones' admission. Other servers' webhooks
//! (OpenKruise's, OpenKruiseGame's) allow what they are sent.

use serde_json::Value;

use super::admission::Op;
use super::selectors::LabelSelector;
use super::status::{ApiError, ApiResult};
use super::store::Store;
use super::types::ResourceType;
use super::{agones, endpoints, meta};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Mutating,
    Validating,
}

/// Run every webhook of `phase` that matches the request.
pub fn call(st: &Store, rt: &ResourceType, obj: &mut Value, op: Op, phase: Phase) -> ApiResult<()> {
    let gr = match phase {
        Phase::Mutating => "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        Phase::Validating => "validatingwebhookconfigurations.admissionregistration.k8s.io",
    };
    for cfg in st.list(gr, None) {
        for w in cfg.get("webhooks").and_then(Value::as_array).into_iter().flatten() {
            if !rules_match(w, rt, op) || !selectors_match(st, w, obj, rt) {
                continue;
            }
            let name = w.get("name").and_then(Value::as_str).unwrap_or("");
            let fail = w.get("failurePolicy").and_then(Value::as_str) != Some("Ignore");
            let Some(svc) = w.pointer("/clientConfig/service") else { continue };
            let svc_ns = svc.get("namespace").and_then(Value::as_str).unwrap_or("default");
            let svc_name = svc.get("name").and_then(Value::as_str).unwrap_or("");
            let path = svc.get("path").and_then(Value::as_str).unwrap_or("/");
            // The API server calls a service webhook over TLS and trusts only `caBundle`.
            let trusted = w.pointer("/clientConfig/caBundle").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
            let reachable = endpoints::ready(st, svc_ns, svc_name).and_then(|_| {
                if trusted {
                    Ok(())
                } else {
                    Err("tls: failed to verify certificate: x509: certificate signed by unknown authority".into())
                }
            });
            if let Err(why) = reachable {
                if !fail {
                    continue;
                }
                let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
                return Err(ApiError::internal(format!(
                    "failed calling webhook {name:?}: failed to call webhook: Post \"https://{svc_name}.{svc_ns}.svc:{port}{path}?timeout=10s\": {why}"
                )));
            }
            if svc_name == "agones-controller-service" {
                agones::admission::webhook(rt, obj, op, path).map_err(|e| denied(name, e))?;
            }
        }
    }
    Ok(())
}

/// How the API server reports a webhook's refusal.
fn denied(webhook: &str, mut e: ApiError) -> ApiError {
    e.message = format!("admission webhook {webhook:?} denied the request: {}", e.message);
    e
}

fn rules_match(w: &Value, rt: &ResourceType, op: Op) -> bool {
    let any = |list: Option<&Value>, want: &str| {
        list.and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| s == "*" || s == want)))
    };
    w.get("rules").and_then(Value::as_array).into_iter().flatten().any(|r| {
        any(r.get("apiGroups"), &rt.group)
            && any(r.get("apiVersions"), &rt.version)
            && any(r.get("resources"), &rt.plural)
            && any(r.get("operations"), op.as_str())
    })
}

fn selectors_match(st: &Store, w: &Value, obj: &Value, rt: &ResourceType) -> bool {
    let objsel = LabelSelector::from_object(w.get("objectSelector"));
    if !objsel.matches_object(obj) {
        return false;
    }
    if !rt.namespaced {
        return true;
    }
    let nssel = LabelSelector::from_object(w.get("namespaceSelector"));
    if nssel.is_empty() {
        return true;
    }
    st.get("namespaces", "", meta::namespace(obj)).is_some_and(|n| nssel.matches_object(&n))
}
