//! apiextensions and the aggregator: CRDs accept their names at once and are Established after
//! a short delay; a deleted CRD removes its custom resources first. APIServices are Available
//! when their Service has ready endpoints.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{State, delete, put, remove_finalizer};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::store::Store;
use crate::k8s::{endpoints, meta};

const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";
const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for crd in st.list(CRDS, None) {
        if meta::is_deleting(&crd) {
            finalize(st, &crd);
            continue;
        }
        establish(c, st, s, &crd);
    }
    for svc in st.list("apiservices.apiregistration.k8s.io", None) {
        api_service(st, &svc);
    }
}

fn establish(c: &Cluster, st: &mut Store, s: &mut State, crd: &Value) {
    let key = format!("crd/{}", meta::uid(crd));
    let established = meta::condition_true(crd, "Established");
    // Settled CRDs are left alone without copying them (Agones' are ~350 KB each).
    if established
        && meta::condition_true(crd, "NamesAccepted")
        && crd.pointer("/status/acceptedNames") == crd.pointer("/spec/names")
    {
        return;
    }
    let mut next = crd.clone();
    let status = crate::k8s::meta::child_mut(&mut next, "status");
    meta::set_condition(status, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
    status["acceptedNames"] = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let storage = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v.get("storage").and_then(Value::as_bool) == Some(true)))
        .and_then(|v| v.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut stored: Vec<Value> = status.get("storedVersions").and_then(Value::as_array).cloned().unwrap_or_default();
    if !storage.is_null() && !stored.contains(&storage) {
        stored.push(storage);
    }
    status["storedVersions"] = json!(stored);
    if established || s.elapsed(&key, c.delay(Delay::CrdEstablish)) {
        meta::set_condition(
            status,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        );
        s.forget(&key);
    } else {
        meta::set_condition(status, "Established", "False", "Installing", "the initial names have been accepted");
    }
    if next != *crd {
        let _ = put(st, next, "kube-apiserver");
    }
}

/// Delete every custom resource of the CRD, then let the CRD go.
fn finalize(st: &mut Store, crd: &Value) {
    if !meta::finalizers(crd).iter().any(|f| f == CLEANUP) {
        return;
    }
    let group = meta::str_at(crd, "/spec/group").unwrap_or("").to_string();
    let plural = meta::str_at(crd, "/spec/names/plural").unwrap_or("").to_string();
    let gr = format!("{plural}.{group}");
    let left = st.list(&gr, None);
    if !meta::condition_true(crd, "Terminating") {
        let mut next = crd.clone();
        meta::set_condition(
            meta::child_mut(&mut next, "status"),
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        let _ = put(st, next, "kube-apiserver");
    }
    for o in &left {
        if !meta::is_deleting(o) {
            delete(st, o);
        }
    }
    if st.list(&gr, None).is_empty()
        && let Some(fresh) = st.get(CRDS, "", meta::name(crd))
    {
        remove_finalizer(st, &fresh, CLEANUP, "kube-apiserver");
    }
}

fn api_service(st: &mut Store, svc: &Value) {
    let Some(service) = svc.pointer("/spec/service").filter(|s| !s.is_null()) else { return };
    let ns = service.get("namespace").and_then(Value::as_str).unwrap_or("default");
    let name = service.get("name").and_then(Value::as_str).unwrap_or("");
    let (status, reason, message) = match endpoints::ready(st, ns, name) {
        Ok(_) => ("True", "Passed", "all checks passed".to_string()),
        Err(_) if st.get("services", ns, name).is_none() => {
            ("False", "ServiceNotFound", format!("service/{name} in {ns:?} is not present"))
        }
        Err(_) => ("False", "MissingEndpoints", format!("endpoints for service/{name} in {ns:?} have no addresses")),
    };
    let mut next = svc.clone();
    meta::set_condition(meta::child_mut(&mut next, "status"), "Available", status, reason, &message);
    if next != *svc {
        let _ = put(st, next, "kube-apiserver");
    }
}
