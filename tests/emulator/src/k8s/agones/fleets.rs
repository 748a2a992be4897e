//! Fleets and GameServerSets: a Fleet owns one GameServerSet per template (a template change
//! makes a new set; old sets keep only their Allocated GameServers), a set keeps `replicas`
//! GameServers, removing not-yet-ready ones first, then Ready ones from the least-used nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{FLEETS, GAME_SERVERS, MANAGER, SETS, game_servers_of, state};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::controllers::{State, create, delete, put};
use crate::k8s::meta;
use crate::k8s::store::Store;

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for fleet in st.list(FLEETS, None) {
        if !meta::is_deleting(&fleet) {
            self::fleet(st, &fleet);
        }
    }
    for set in st.list(SETS, None) {
        if !meta::is_deleting(&set) {
            self::set(c, st, s, &set);
        }
    }
    for fleet in st.list(FLEETS, None) {
        if !meta::is_deleting(&fleet) {
            fleet_status(st, &fleet);
        }
    }
}

fn sets_of(st: &Store, fleet: &Value) -> Vec<Arc<Value>> {
    st.list(SETS, Some(meta::namespace(fleet))).into_iter().filter(|s| meta::owned_by(s, meta::uid(fleet))).collect()
}

/// GameServers a set counts towards its replicas (an Error one still holds its place until replaced).
fn counted(gs: &Value) -> bool {
    !meta::is_deleting(gs) && !matches!(state(gs), "Shutdown" | "Unhealthy")
}

fn fleet(st: &mut Store, fleet: &Value) {
    let replicas = meta::int_at(fleet, "/spec/replicas").unwrap_or(0);
    let template = fleet.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let sets = sets_of(st, fleet);
    let (active, old): (Vec<_>, Vec<_>) = sets
        .into_iter()
        .filter(|s| !meta::is_deleting(s))
        .partition(|s| s.pointer("/spec/template") == Some(&template));
    let mut held_by_old = 0;
    for set in &old {
        let gss = game_servers_of(st, set);
        let allocated =
            gss.iter().filter(|g| counted(g) && matches!(state(g), "Allocated" | "Reserved")).count() as i64;
        held_by_old += allocated;
        if gss.iter().all(|g| meta::is_deleting(g)) && gss.is_empty() {
            delete(st, set);
        } else if meta::int_at(set, "/spec/replicas") != Some(allocated) {
            let mut next = (**set).clone();
            next["spec"]["replicas"] = json!(allocated);
            let _ = put(st, next, MANAGER);
        }
    }
    let want = (replicas - held_by_old).max(0);
    match active.first() {
        Some(set) => {
            if meta::int_at(set, "/spec/replicas") != Some(want) {
                let mut next = (**set).clone();
                next["spec"]["replicas"] = json!(want);
                let _ = put(st, next, MANAGER);
            }
        }
        None => {
            let name = meta::name(fleet);
            let set = json!({
                "apiVersion": "agones.dev/v1",
                "kind": "GameServerSet",
                "metadata": {
                    "name": format!("{name}-{}", meta::random_suffix(5)),
                    "namespace": meta::namespace(fleet),
                    "labels": {"agones.dev/fleet": name},
                    "annotations": {"agones.dev/sdk-version": super::admission::SDK_VERSION},
                    "ownerReferences": [meta::owner_ref(fleet)],
                },
                "spec": {
                    "replicas": want,
                    "scheduling": fleet.pointer("/spec/scheduling").cloned().unwrap_or(json!("Packed")),
                    "template": template,
                },
            });
            let _ = create(st, set, MANAGER);
        }
    }
}

fn set(c: &Cluster, st: &mut Store, s: &mut State, set: &Value) {
    let replicas = meta::int_at(set, "/spec/replicas").unwrap_or(0);
    let gss = game_servers_of(st, set);
    for g in gss.iter().filter(|g| !meta::is_deleting(g)) {
        // Unhealthy ones are replaced at once; Error ones after a while (Agones' back-off), so a
        // broken template does not spin.
        let replace = match state(g) {
            "Unhealthy" => true,
            "Error" => s.elapsed(&format!("gs-error/{}", meta::uid(g)), c.delay(Delay::WorkloadReady) * 2),
            _ => false,
        };
        if replace {
            delete(st, g);
        }
    }
    let live: Vec<Arc<Value>> = gss.into_iter().filter(|g| counted(g)).collect();
    let n = live.len() as i64;
    if n < replicas {
        for _ in n..replicas {
            let _ = create(st, new_game_server(set), MANAGER);
        }
    } else if n > replicas {
        for g in surplus(st, &live, (n - replicas) as usize) {
            delete(st, &g);
        }
    }
    let gss: Vec<Arc<Value>> = game_servers_of(st, set).into_iter().filter(|g| !meta::is_deleting(g)).collect();
    let count = |s: &str| gss.iter().filter(|g| state(g) == s).count();
    let mut next = set.clone();
    next["status"] = json!({
        "replicas": gss.iter().filter(|g| counted(g)).count(),
        "readyReplicas": count("Ready"),
        "reservedReplicas": count("Reserved"),
        "allocatedReplicas": count("Allocated"),
        "shutdownReplicas": count("Shutdown"),
    });
    if next != *set {
        let _ = put(st, next, MANAGER);
    }
}

/// Which GameServers a scale-down removes: never Allocated/Reserved; not-ready first, then
/// Ready ones on the nodes with the fewest GameServers (Packed).
fn surplus(st: &Store, live: &[Arc<Value>], n: usize) -> Vec<Arc<Value>> {
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for g in st.list(GAME_SERVERS, None) {
        if let Some(node) = meta::str_at(&g, "/status/nodeName") {
            *per_node.entry(node.to_string()).or_default() += 1;
        }
    }
    let mut candidates: Vec<&Arc<Value>> =
        live.iter().filter(|g| !matches!(state(g), "Allocated" | "Reserved")).collect();
    candidates.sort_by_key(|g| {
        let ready = state(g) == "Ready";
        let load = meta::str_at(g, "/status/nodeName").and_then(|n| per_node.get(n)).copied().unwrap_or(0);
        (ready, load)
    });
    candidates.into_iter().take(n).cloned().collect()
}

fn new_game_server(set: &Value) -> Value {
    let template = set.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut labels = meta::string_map(template.pointer("/metadata/labels"));
    labels.insert("agones.dev/gameserverset".into(), meta::name(set).to_string());
    if let Some(f) = meta::labels(set).get("agones.dev/fleet") {
        labels.insert("agones.dev/fleet".into(), f.clone());
    }
    let mut gs = json!({
        "apiVersion": "agones.dev/v1",
        "kind": "GameServer",
        "metadata": {
            "name": format!("{}-{}", meta::name(set), meta::random_suffix(5)),
            "namespace": meta::namespace(set),
            "labels": labels,
            "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
            "ownerReferences": [meta::owner_ref(set)],
        },
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    });
    super::admission::mutate_game_server(&mut gs);
    gs
}

fn fleet_status(st: &mut Store, fleet: &Value) {
    let mut totals = [0i64; 4];
    for set in sets_of(st, fleet) {
        for (i, k) in ["replicas", "readyReplicas", "reservedReplicas", "allocatedReplicas"].iter().enumerate() {
            totals[i] += meta::int_at(&set, &format!("/status/{k}")).unwrap_or(0);
        }
    }
    let mut next = fleet.clone();
    next["status"] = json!({
        "replicas": totals[0],
        "readyReplicas": totals[1],
        "reservedReplicas": totals[2],
        "allocatedReplicas": totals[3],
        "counters": {},
        "lists": {},
    });
    if next != *fleet {
        let _ = put(st, next, MANAGER);
    }
}
