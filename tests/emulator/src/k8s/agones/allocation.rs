//! `POST /apis/allocation.agones.dev/v1/namespaces/NS/gameserverallocations`: pick a
//! GameServer matching the selectors (in order), mark it Allocated with the requested labels
//! and annotations, and answer with its address and ports, or `UnAllocated`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{GAME_SERVERS, MANAGER, state};
use crate::k8s::cluster::Cluster;
use crate::k8s::controllers::put;
use crate::k8s::meta;
use crate::k8s::selectors::LabelSelector;
use crate::k8s::status::{ApiError, ApiResult, Cause, Target};
use crate::k8s::store::Store;
use crate::k8s::types::ResourceType;

struct Selector {
    labels: LabelSelector,
    state: String,
}

fn selectors(spec: &Value) -> Result<Vec<Selector>, Vec<Cause>> {
    let mut raw: Vec<(String, Value)> = Vec::new();
    for (i, s) in spec.get("selectors").and_then(Value::as_array).into_iter().flatten().enumerate() {
        raw.push((format!("spec.selectors[{i}]"), s.clone()));
    }
    if raw.is_empty() {
        for (i, s) in spec.get("preferred").and_then(Value::as_array).into_iter().flatten().enumerate() {
            raw.push((format!("spec.preferred[{i}]"), s.clone()));
        }
        if let Some(r) = spec.get("required") {
            raw.push(("spec.required".into(), r.clone()));
        }
    }
    if raw.is_empty() {
        raw.push(("spec.selectors[0]".into(), json!({})));
    }
    let mut out = Vec::new();
    let mut causes = Vec::new();
    for (path, s) in raw {
        let st = s.get("gameServerState").and_then(Value::as_str).unwrap_or("Ready").to_string();
        if !matches!(st.as_str(), "Ready" | "Allocated") {
            causes.push(Cause::not_supported(
                format!("{path}.gameServerState"),
                &json!(st),
                &[json!("Allocated"), json!("Ready")],
            ));
        }
        out.push(Selector { labels: LabelSelector::from_object(Some(&s)), state: st });
    }
    if causes.is_empty() { Ok(out) } else { Err(causes) }
}

pub fn allocate(c: &Arc<Cluster>, st: &mut Store, rt: &ResourceType, ns: &str, body: Value) -> ApiResult<Value> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    if st.get("namespaces", "", ns).is_none() {
        return Err(ApiError::not_found(&Target {
            qualified: "namespaces".into(),
            group: "",
            resource: "namespaces",
            name: ns,
        }));
    }
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let sels = selectors(&spec).map_err(|causes| ApiError::invalid(&rt.group, &rt.kind, "", causes))?;
    let scheduling = spec.get("scheduling").and_then(Value::as_str).unwrap_or("Packed");
    if !matches!(scheduling, "Packed" | "Distributed") {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            "",
            vec![Cause::not_supported("spec.scheduling", &json!(scheduling), &[json!("Packed"), json!("Distributed")])],
        ));
    }
    let all: Vec<Arc<Value>> = st.list(GAME_SERVERS, Some(ns)).into_iter().filter(|g| !meta::is_deleting(g)).collect();
    let mut allocated_per_node: BTreeMap<String, usize> = BTreeMap::new();
    for g in all.iter().filter(|g| state(g) == "Allocated") {
        *allocated_per_node.entry(meta::str_at(g, "/status/nodeName").unwrap_or("").to_string()).or_default() += 1;
    }
    let chosen = sels.iter().find_map(|sel| {
        let mut candidates: Vec<&Arc<Value>> =
            all.iter().filter(|g| state(g) == sel.state && sel.labels.matches_object(g)).collect();
        if scheduling == "Packed" {
            // Prefer nodes that already run allocated GameServers (bin-packing).
            candidates.sort_by_key(|g| {
                let node = meta::str_at(g, "/status/nodeName").unwrap_or("");
                std::cmp::Reverse(allocated_per_node.get(node).copied().unwrap_or(0))
            });
        }
        candidates.first().map(|g| (**g).clone())
    });
    let mut response = json!({
        "apiVersion": rt.api_version(),
        "kind": "GameServerAllocation",
        "metadata": {"namespace": ns, "creationTimestamp": null},
        "spec": spec,
        "status": {"state": "UnAllocated", "gameServerName": "", "ports": null, "address": "", "addresses": null, "nodeName": "", "source": "", "metadata": null},
    });
    let Some(gs) = chosen else { return Ok(response) };
    let mut next = (*gs).clone();
    for (k, v) in meta::string_map(spec.pointer("/metadata/labels")) {
        meta::set_label(&mut next, &k, &v);
    }
    for (k, v) in meta::string_map(spec.pointer("/metadata/annotations")) {
        meta::set_annotation(&mut next, &k, &v);
    }
    let now = meta::now_rfc3339();
    meta::set_annotation(&mut next, "agones.dev/last-allocated", &meta::now_micro());
    next["status"]["state"] = json!("Allocated");
    next["status"]["lastAllocated"] = json!(now);
    let mut labels_cause = Vec::new();
    crate::k8s::validate::labels("spec.metadata.labels", next.pointer("/metadata/labels"), &mut labels_cause);
    if !labels_cause.is_empty() {
        return Err(ApiError::invalid(&rt.group, &rt.kind, "", labels_cause));
    }
    let gs = put(st, next, MANAGER)?;
    response["metadata"] = json!({"name": meta::name(&gs), "namespace": ns, "creationTimestamp": now});
    response["status"] = json!({
        "state": "Allocated",
        "gameServerName": meta::name(&gs),
        "ports": gs.pointer("/status/ports").cloned().unwrap_or(json!([])),
        "address": gs.pointer("/status/address").cloned().unwrap_or(json!("")),
        "addresses": gs.pointer("/status/addresses").cloned().unwrap_or(json!([])),
        "nodeName": gs.pointer("/status/nodeName").cloned().unwrap_or(json!("")),
        "source": "local",
        "metadata": {
            "labels": gs.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            "annotations": gs.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
        },
    });
    c.wake.notify_one();
    Ok(response)
}
