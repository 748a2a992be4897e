//! GameServerSets, simulated from kruise-game 1.0.0's controllers and kruise 1.9.0's Advanced
//! StatefulSet (sources in FIDELITY.md):
//!
//! - kruise-game's GameServerSet controller makes an Advanced StatefulSet of the same name
//!   (`util.GetNewAstsFromGss`) and scales it (`GameServerScale`, `computeToScaleGs`): ids in
//!   `reserveGameServerIds` never run; a scale-up takes the lowest free ids; a scale-down removes
//!   by opsState (Kill, WaitToBeDeleted, None, Allocated, Maintaining), then deletion priority,
//!   then the highest id. Removed ids become the StatefulSet's reserved ordinals and, with
//!   `scaleDownStrategyType: ReserveIds`, are written back into `reserveGameServerIds` (runs of
//!   three or more as "a-b").
//! - kruise's StatefulSet runs pods `<set>-<ordinal>` for the first `replicas` ordinals not
//!   reserved, each with claims `<template>-<set>-<ordinal>` made from `volumeClaimTemplates`
//!   and kept when the pod goes (retention `Retain`, the default).
//! - kruise-game's GameServer controller makes a GameServer per pod (same name, owned by the
//!   pod), labels the pod with its state (`game.kruise.io/gs-state`, from the pod's readiness)
//!   and the GameServer's `opsState`, and reports that state as `currentState`.
//!
//! Not modelled: pods are never updated to a new template (sdctl's sets use `OnDelete`), a set
//! being deleted is not reconciled, and the controller's own unguarded patches (a writer must
//! wait until a set has settled).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::super::controllers::{create, create_admitted, delete, event_once, put};
use super::super::meta;
use super::super::store::Store;

pub const SETS: &str = "gameserversets.game.kruise.io";
pub const GAME_SERVERS: &str = "gameservers.game.kruise.io";
pub const ASTS: &str = "statefulsets.apps.kruise.io";
pub const OWNER_GSS: &str = "game.kruise.io/owner-gss";
const RESERVE_IDS: &str = "game.kruise.io/reserve-ids";
const GS_STATE: &str = "game.kruise.io/gs-state";
const GS_OPS_STATE: &str = "game.kruise.io/gs-opsState";
const GS_DELETE_PRIORITY: &str = "game.kruise.io/gs-delete-priority";
const GAME_MANAGER: &str = "kruise-game-manager";
const KRUISE_MANAGER: &str = "kruise-manager";

/// Ordinals from an IntOrString list (`3`, `"5-7"`); unreadable entries are skipped.
pub fn ordinals(list: Option<&Value>) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for v in list.and_then(Value::as_array).into_iter().flatten() {
        match v {
            Value::Number(n) => out.extend(n.as_i64()),
            Value::String(s) => match s.split_once('-') {
                Some((a, b)) => {
                    if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                        out.extend(a..=b);
                    }
                }
                None => out.extend(s.trim().parse::<i64>().ok()),
            },
            _ => {}
        }
    }
    out
}

/// The runs of a set: (start, end) inclusive.
fn runs(set: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &i in set {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// `util.OrdinalSetToIntStrSlice`: numbers, runs of three or more as "a-b"; null when empty.
pub fn int_str_slice(set: &BTreeSet<i64>) -> Value {
    if set.is_empty() {
        return Value::Null;
    }
    let mut out = Vec::new();
    for (a, b) in runs(set) {
        match b - a {
            0 => out.push(json!(a)),
            1 => out.extend([json!(a), json!(b)]),
            _ => out.push(json!(format!("{a}-{b}"))),
        }
    }
    Value::Array(out)
}

/// `util.OrdinalSetToString`: "1,2,5-7,10".
fn ordinal_string(set: &BTreeSet<i64>) -> String {
    let mut parts = Vec::new();
    for (a, b) in runs(set) {
        match b - a {
            0 => parts.push(a.to_string()),
            1 => parts.extend([a.to_string(), b.to_string()]),
            _ => parts.push(format!("{a}-{b}")),
        }
    }
    parts.join(",")
}

fn ordinal_of(name: &str) -> i64 {
    name.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

pub fn reconcile(st: &mut Store, game_running: bool, kruise_running: bool) {
    if game_running && st.registry.by_kind("game.kruise.io", "GameServerSet").is_some() {
        for gss in st.list(SETS, None) {
            if !meta::is_deleting(&gss) {
                game_server_set(st, &gss);
            }
        }
        game_servers(st);
    }
    if kruise_running && st.registry.by_kind("apps.kruise.io", "StatefulSet").is_some() {
        for set in st.list(ASTS, None) {
            if !meta::is_deleting(&set) {
                advanced_stateful_set(st, &set);
            }
        }
    }
}

/// `util.GetNewAstsFromGss`.
fn asts_for(gss: &Value) -> Value {
    let name = meta::name(gss);
    let template = gss.pointer("/spec/gameServerTemplate").cloned().unwrap_or(json!({}));
    let mut labels = meta::string_map(template.pointer("/metadata/labels"));
    labels.insert(OWNER_GSS.into(), name.to_string());
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    meta::list_mut(&mut spec, "readinessGates").push(json!({"conditionType": "InPlaceUpdateReady"}));
    let mut asts = json!({
        "apiVersion": "apps.kruise.io/v1beta1",
        "kind": "StatefulSet",
        "metadata": {
            "name": name,
            "namespace": meta::namespace(gss),
            "ownerReferences": [meta::owner_ref(gss)],
        },
        "spec": {
            "replicas": gss.pointer("/spec/replicas").cloned().unwrap_or(json!(0)),
            "selector": {"matchLabels": {OWNER_GSS: name}},
            "serviceName": gss.pointer("/spec/serviceName").and_then(Value::as_str).unwrap_or(name),
            "podManagementPolicy": "Parallel",
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
                },
                "spec": spec,
            },
            "volumeClaimTemplates": template.get("volumeClaimTemplates").cloned().unwrap_or(json!([])),
            "updateStrategy": {"type": "RollingUpdate"},
        },
    });
    if let Some(reserve) = gss.pointer("/spec/reserveGameServerIds").filter(|v| !v.is_null()) {
        asts["spec"]["reserveOrdinals"] = reserve.clone();
    }
    if let Some(policy) = gss.pointer("/spec/persistentVolumeClaimRetentionPolicy") {
        asts["spec"]["persistentVolumeClaimRetentionPolicy"] = policy.clone();
    }
    asts
}

/// The pods of a GameServerSet (by the label kruise-game selects them with).
fn pods_of(st: &Store, gss: &Value) -> Vec<std::sync::Arc<Value>> {
    st.list("pods", Some(meta::namespace(gss)))
        .into_iter()
        .filter(|p| meta::labels(p).get(OWNER_GSS).map(String::as_str) == Some(meta::name(gss)))
        .collect()
}

/// The GameServerSet controller's reconcile (gameserverset_controller.go `Reconcile`).
fn game_server_set(st: &mut Store, gss: &Value) {
    let (ns, name) = (meta::namespace(gss).to_string(), meta::name(gss).to_string());
    let Some(asts) = st.get(ASTS, &ns, &name) else {
        if let Err(e) = create(st, asts_for(gss), GAME_MANAGER) {
            event_once(st, gss, "Warning", "CreateWorkloadFailed", &e.message, "gameserverset-controller");
        }
        return;
    };
    let pods = pods_of(st, gss);
    let replicas = meta::int_at(gss, "/spec/replicas").unwrap_or(0);
    let explicit = ordinals(gss.pointer("/spec/reserveGameServerIds"));
    let old_explicit: BTreeSet<i64> = meta::annotation(gss, RESERVE_IDS)
        .map(|s| ordinals(Some(&json!(s.split(',').collect::<Vec<_>>()))))
        .unwrap_or_default();
    let needs_scale = meta::int_at(&asts, "/spec/replicas") != Some(replicas) || old_explicit != explicit;
    if needs_scale {
        scale(st, gss, &asts, &pods, replicas, &explicit, &old_explicit);
        return;
    }
    // The workload follows the template (`UpdateWorkload`, by the asts-hash annotation).
    let want = asts_for(gss);
    let mut next = (*asts).clone();
    for field in ["template", "volumeClaimTemplates", "persistentVolumeClaimRetentionPolicy"] {
        next["spec"][field] = want["spec"][field].clone();
    }
    if next != *asts {
        let _ = put(st, next, GAME_MANAGER);
    }
    // `SyncStatus`.
    let asts = st.get(ASTS, &ns, &name).unwrap_or(asts);
    let mut g = gss.clone();
    let status = meta::child_mut(&mut g, "status");
    status["replicas"] = json!(replicas);
    status["currentReplicas"] = json!(pods.len());
    for k in ["readyReplicas", "availableReplicas", "updatedReplicas", "updatedReadyReplicas"] {
        status[k] = json!(meta::int_at(&asts, &format!("/status/{k}")).unwrap_or(0));
    }
    status["labelSelector"] = json!(format!("{OWNER_GSS}={name}"));
    status["observedGeneration"] = json!(meta::generation(gss));
    if g != *gss {
        let _ = put(st, g, GAME_MANAGER);
    }
}

/// `GameServerScale` with `computeToScaleGs`.
fn scale(
    st: &mut Store,
    gss: &Value,
    asts: &Value,
    pods: &[std::sync::Arc<Value>],
    replicas: i64,
    explicit: &BTreeSet<i64>,
    old_explicit: &BTreeSet<i64>,
) {
    let workload_reserved = ordinals(asts.pointer("/spec/reserveOrdinals"));
    let old_implicit: BTreeSet<i64> = workload_reserved.difference(old_explicit).copied().collect();
    let added_explicit: BTreeSet<i64> = explicit.difference(old_explicit).copied().collect();
    let dropped_explicit: BTreeSet<i64> = old_explicit.difference(explicit).copied().collect();
    let mut implicit: BTreeSet<i64> = old_implicit.difference(&added_explicit).copied().collect();
    implicit.extend(dropped_explicit);

    let mut managed = BTreeSet::new();
    let mut live = Vec::new();
    for p in pods {
        let id = ordinal_of(meta::name(p));
        if meta::is_deleting(p) || explicit.contains(&id) {
            continue;
        }
        managed.insert(id);
        live.push(p.clone());
    }
    let exist = managed.len() as i64;
    if exist < replicas {
        let mut i = 0;
        let mut added = 0;
        while added < replicas - exist {
            if !managed.contains(&i) && !explicit.contains(&i) {
                implicit.remove(&i);
                managed.insert(i);
                added += 1;
            }
            i += 1;
        }
    } else if exist > replicas {
        let priority = |p: &Value| match meta::labels(p).get(GS_OPS_STATE).map(String::as_str) {
            Some("Kill") => 100,
            Some("WaitToBeDeleted") => 1,
            Some("Allocated") => -1,
            Some("Maintaining") => -2,
            _ => 0,
        };
        let deletion =
            |p: &Value| meta::labels(p).get(GS_DELETE_PRIORITY).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        live.sort_by_key(|p| std::cmp::Reverse((priority(p), deletion(p), ordinal_of(meta::name(p)))));
        for p in live.iter().take((exist - replicas) as usize) {
            let id = ordinal_of(meta::name(p));
            managed.remove(&id);
            implicit.insert(id);
        }
    }
    let reserved: BTreeSet<i64> = implicit.union(explicit).copied().collect();
    let mut next = asts.clone();
    next["spec"]["reserveOrdinals"] = int_str_slice(&reserved);
    next["spec"]["replicas"] = json!(replicas);
    let _ = put(st, next, GAME_MANAGER);

    let reserve_ids =
        if gss.pointer("/spec/scaleStrategy/scaleDownStrategyType").and_then(Value::as_str) == Some("ReserveIds") {
            reserved
        } else {
            explicit.clone()
        };
    let mut g = gss.clone();
    g["spec"]["reserveGameServerIds"] = int_str_slice(&reserve_ids);
    meta::set_annotation(&mut g, RESERVE_IDS, &ordinal_string(&reserve_ids));
    let _ = put(st, g, GAME_MANAGER);
}

/// The ordinals an Advanced StatefulSet runs: the first `replicas` not reserved
/// (`getStatefulSetReplicasRange`).
pub fn live_ordinals(replicas: i64, reserved: &BTreeSet<i64>) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while (out.len() as i64) < replicas {
        if !reserved.contains(&i) {
            out.insert(i);
        }
        i += 1;
    }
    out
}

/// kruise's Advanced StatefulSet controller (pods, claims, status).
fn advanced_stateful_set(st: &mut Store, set: &Value) {
    let (ns, name) = (meta::namespace(set).to_string(), meta::name(set).to_string());
    let replicas = meta::int_at(set, "/spec/replicas").unwrap_or(0);
    let want = live_ordinals(replicas, &ordinals(set.pointer("/spec/reserveOrdinals")));
    let claims: Vec<Value> =
        set.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array).cloned().unwrap_or_default();
    let selector = meta::string_map(set.pointer("/spec/selector/matchLabels"));
    let delete_claims_when_scaled =
        set.pointer("/spec/persistentVolumeClaimRetentionPolicy/whenScaled").and_then(Value::as_str) == Some("Delete");
    let pods: Vec<_> = st.list("pods", Some(&ns)).into_iter().filter(|p| meta::owned_by(p, meta::uid(set))).collect();
    for p in &pods {
        let id = ordinal_of(meta::name(p));
        if !want.contains(&id) && !meta::is_deleting(p) {
            delete(st, p);
            if delete_claims_when_scaled {
                for c in &claims {
                    let claim = format!("{}-{name}-{id}", meta::name(c));
                    if let Some(pvc) = st.get("persistentvolumeclaims", &ns, &claim) {
                        delete(st, &pvc);
                    }
                }
            }
        }
    }
    for id in &want {
        let pod_name = format!("{name}-{id}");
        if st.get("pods", &ns, &pod_name).is_some() {
            continue;
        }
        let mut volumes = Vec::new();
        for c in &claims {
            let vct = meta::name(c).to_string();
            let claim = format!("{vct}-{name}-{id}");
            let existing = st.get("persistentvolumeclaims", &ns, &claim);
            if existing.as_ref().is_some_and(|c| meta::is_deleting(c)) {
                let msg =
                    format!("create Pod {pod_name} in StatefulSet {name} failed error: pvc {claim} is to be deleted");
                event_once(st, set, "Warning", "FailedCreate", &msg, "statefulset-controller");
                return;
            }
            if existing.is_none() {
                let mut labels = meta::string_map(c.pointer("/metadata/labels"));
                labels.extend(selector.clone());
                let pvc = json!({
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": ns, "labels": labels},
                    "spec": c.get("spec").cloned().unwrap_or(json!({})),
                });
                if let Err(e) = create_admitted(st, pvc, KRUISE_MANAGER) {
                    let msg = format!(
                        "create Claim {claim} for Pod {pod_name} in StatefulSet {name} failed error: {}",
                        e.message
                    );
                    event_once(st, set, "Warning", "FailedCreate", &msg, "statefulset-controller");
                    return;
                }
            }
            volumes.push(json!({"name": vct, "persistentVolumeClaim": {"claimName": claim}}));
        }
        let template = set.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
        spec["hostname"] = json!(pod_name);
        spec["subdomain"] = json!(meta::str_at(set, "/spec/serviceName").unwrap_or(&name));
        if !volumes.is_empty() {
            meta::list_mut(&mut spec, "volumes").extend(volumes);
        }
        let mut labels: BTreeMap<String, String> = meta::string_map(template.pointer("/metadata/labels"));
        labels.insert("statefulset.kubernetes.io/pod-name".into(), pod_name.clone());
        labels.insert("apps.kubernetes.io/pod-index".into(), id.to_string());
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": pod_name, "namespace": ns, "labels": labels,
                "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
                "ownerReferences": [meta::owner_ref(set)],
            },
            "spec": spec,
        });
        match create_admitted(st, pod, KRUISE_MANAGER) {
            Ok(made) => {
                // kruise sets the readiness gate it adds (InPlaceUpdateReady) on a new pod.
                let mut p = made;
                let status = meta::child_mut(&mut p, "status");
                meta::set_condition(status, "InPlaceUpdateReady", "True", "", "");
                let _ = put(st, p, KRUISE_MANAGER);
            }
            Err(e) => {
                let msg = format!("create Pod {pod_name} in StatefulSet {name} failed error: {}", e.message);
                event_once(st, set, "Warning", "FailedCreate", &msg, "statefulset-controller");
                return;
            }
        }
    }
    let pods: Vec<_> = st.list("pods", Some(&ns)).into_iter().filter(|p| meta::owned_by(p, meta::uid(set))).collect();
    let ready = pods.iter().filter(|p| meta::condition_true(p, "Ready") && !meta::is_deleting(p)).count();
    let mut next = set.clone();
    let status = meta::child_mut(&mut next, "status");
    status["observedGeneration"] = json!(meta::generation(set));
    status["replicas"] = json!(pods.len());
    status["currentReplicas"] = json!(pods.len());
    status["updatedReplicas"] = json!(pods.len());
    status["readyReplicas"] = json!(ready);
    status["availableReplicas"] = json!(ready);
    status["updatedReadyReplicas"] = json!(ready);
    status["labelSelector"] = json!(selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
    if next != *set {
        let _ = put(st, next, KRUISE_MANAGER);
    }
}

/// `game.kruise.io/gs-state` from the pod (gameserver_manager.go `SyncGsToPod`): a Running
/// pod is Deleting once deleted, else Ready or NotReady by its Ready condition ("" without one).
fn pod_state(pod: &Value) -> &'static str {
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")))
        .map(|c| c.get("status").and_then(Value::as_str) == Some("True"));
    match meta::str_at(pod, "/status/phase").unwrap_or("") {
        "Running" if meta::is_deleting(pod) => "Deleting",
        "Running" => match ready {
            Some(true) => "Ready",
            Some(false) => "NotReady",
            None => "",
        },
        "Failed" => "Crash",
        "Pending" => "Creating",
        _ => "Unknown",
    }
}

/// The GameServer controller: one GameServer per pod, the pod's labels from it, its status
/// from the pod.
fn game_servers(st: &mut Store) {
    for pod in st.list("pods", None) {
        let Some(gss_name) = meta::labels(&pod).get(OWNER_GSS).cloned() else { continue };
        let ns = meta::namespace(&pod).to_string();
        let name = meta::name(&pod).to_string();
        let Some(gs) = st.get(GAME_SERVERS, &ns, &name) else {
            if meta::is_deleting(&pod) {
                continue;
            }
            let mut labels = st
                .get(SETS, &ns, &gss_name)
                .map(|g| meta::string_map(g.pointer("/spec/gameServerTemplate/metadata/labels")))
                .unwrap_or_default();
            labels.insert(OWNER_GSS.into(), gss_name.clone());
            let gs = json!({
                "apiVersion": "game.kruise.io/v1alpha1", "kind": "GameServer",
                "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [meta::owner_ref(&pod)]},
                "spec": {"opsState": "None", "updatePriority": 0, "deletionPriority": 0, "networkDisabled": false},
            });
            let _ = create(st, gs, GAME_MANAGER);
            continue;
        };
        // The pod's labels from the GameServer and the pod.
        let state = pod_state(&pod);
        let ops = meta::str_at(&gs, "/spec/opsState").unwrap_or("None").to_string();
        let priority = gs.pointer("/spec/deletionPriority").map(|v| v.to_string().trim_matches('"').to_string());
        let mut p = (*pod).clone();
        meta::set_label(&mut p, GS_STATE, state);
        meta::set_label(&mut p, GS_OPS_STATE, &ops);
        if let Some(priority) = priority {
            meta::set_label(&mut p, GS_DELETE_PRIORITY, &priority);
        }
        if p != *pod {
            let _ = put(st, p, GAME_MANAGER);
        }
        // The GameServer's status: the state just labelled (SyncPodToGs reads the patched pod).
        let reported = state.to_string();
        let mut g = (*gs).clone();
        let status = meta::child_mut(&mut g, "status");
        status["currentState"] = json!(reported);
        status["desiredState"] = json!("Ready");
        status["podStatus"] = pod.get("status").cloned().unwrap_or(json!({}));
        if g != *gs {
            let _ = put(st, g, GAME_MANAGER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_and_write_ranges_as_kruise_game_does() {
        let set = ordinals(Some(&json!([1, "3-5", 9, "x"])));
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![1, 3, 4, 5, 9]);
        let s: BTreeSet<i64> = [1, 2, 5, 6, 7, 10].into_iter().collect();
        assert_eq!(int_str_slice(&s), json!([1, 2, "5-7", 10]));
        assert_eq!(ordinal_string(&s), "1,2,5-7,10");
        assert_eq!(int_str_slice(&BTreeSet::new()), Value::Null);
    }

    #[test]
    fn a_stateful_set_runs_the_first_ordinals_not_reserved() {
        let reserved: BTreeSet<i64> = [1].into_iter().collect();
        assert_eq!(live_ordinals(4, &reserved).into_iter().collect::<Vec<_>>(), vec![0, 2, 3, 4]);
        assert!(live_ordinals(0, &reserved).is_empty());
    }
}
