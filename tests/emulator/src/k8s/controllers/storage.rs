//! The PersistentVolume binder: a claim binds to the volume it names (or a matching
//! Available one), or gets a provisioned volume from its StorageClass; WaitForFirstConsumer
//! classes provision once a pod using the claim is scheduled. Deleting a claim releases its
//! volume (Retain) or deletes it (Delete). GKE's Persistent Disk CSI driver
//! (`pd.csi.storage.gke.io`) makes a Compute Engine disk per volume, in the zone of the pod's
//! node, with the class's `labels`, and deletes it with the volume: a disk outlives a cluster
//! deleted before its claims, as on Google.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{State, create, delete, event_once, put};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::defaults::quantity;
use crate::k8s::meta;
use crate::k8s::store::Store;

const PVS: &str = "persistentvolumes";
/// GKE's Compute Engine Persistent Disk CSI driver.
const PD_CSI: &str = "pd.csi.storage.gke.io";
const PVCS: &str = "persistentvolumeclaims";

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for pvc in st.list(PVCS, None) {
        if meta::is_deleting(&pvc) || meta::str_at(&pvc, "/status/phase") == Some("Bound") {
            continue;
        }
        bind(c, st, s, &pvc);
    }
    for pv in st.list(PVS, None) {
        release(c, st, &pv);
    }
}

fn bind(c: &Cluster, st: &mut Store, s: &mut State, pvc: &Value) {
    let key = format!("pvc/{}", meta::uid(pvc));
    let pv = match meta::str_at(pvc, "/spec/volumeName") {
        Some(name) => match st.get(PVS, "", name) {
            Some(pv) if matches(pvc, &pv) => Some(pv),
            Some(_) => {
                let msg = format!(
                    "Cannot bind to requested volume {name:?}: requested PV is too small or its storage class or access modes do not match"
                );
                event_once(st, pvc, "Warning", "VolumeMismatch", &msg, "persistentvolume-controller");
                return;
            }
            None => return,
        },
        None => st.list(PVS, None).into_iter().find(|pv| {
            meta::str_at(pv, "/status/phase") == Some("Available") && matches(pvc, pv) && claim_ref_allows(pv, pvc)
        }),
    };
    if !s.elapsed(&key, c.delay(Delay::PvcBind)) {
        return;
    }
    let pv = match pv {
        Some(pv) => pv,
        None => match provision(c, st, pvc) {
            Some(pv) => pv,
            None => return,
        },
    };
    s.forget(&key);
    let mut v = (*pv).clone();
    v["spec"]["claimRef"] = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta::namespace(pvc), "name": meta::name(pvc),
        "uid": meta::uid(pvc), "resourceVersion": meta::resource_version(pvc),
    });
    v["status"] = json!({"phase": "Bound", "lastPhaseTransitionTime": meta::now_rfc3339()});
    meta::set_annotation(&mut v, "pv.kubernetes.io/bound-by-controller", "yes");
    let _ = put(st, v, "persistentvolume-controller");
    let mut claim = pvc.clone();
    claim["spec"]["volumeName"] = json!(meta::name(&pv));
    meta::set_annotation(&mut claim, "pv.kubernetes.io/bind-completed", "yes");
    claim["status"] = json!({
        "phase": "Bound",
        "accessModes": pv.pointer("/spec/accessModes").cloned().unwrap_or(json!([])),
        "capacity": pv.pointer("/spec/capacity").cloned().unwrap_or(json!({})),
    });
    let _ = put(st, claim, "persistentvolume-controller");
}

/// Size, class and access modes of a volume suit a claim.
fn matches(pvc: &Value, pv: &Value) -> bool {
    let class = |v: &Value| meta::str_at(v, "/spec/storageClassName").unwrap_or("").to_string();
    let want = pvc.pointer("/spec/resources/requests/storage").and_then(bytes).unwrap_or(0);
    let have = pv.pointer("/spec/capacity/storage").and_then(bytes).unwrap_or(0);
    let modes = |v: &Value| -> Vec<String> {
        v.pointer("/spec/accessModes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(String::from))
            .collect()
    };
    let pv_modes = modes(pv);
    class(pvc) == class(pv) && have >= want && modes(pvc).iter().all(|m| pv_modes.contains(m))
}

fn claim_ref_allows(pv: &Value, pvc: &Value) -> bool {
    match pv.pointer("/spec/claimRef") {
        None | Some(Value::Null) => true,
        Some(r) => {
            r.get("name").and_then(Value::as_str) == Some(meta::name(pvc))
                && r.get("namespace").and_then(Value::as_str) == Some(meta::namespace(pvc))
        }
    }
}

/// Dynamic provisioning for classes with a provisioner (WaitForFirstConsumer: once a pod
/// using the claim has a node).
fn provision(c: &Cluster, st: &mut Store, pvc: &Value) -> Option<Arc<Value>> {
    let class = meta::str_at(pvc, "/spec/storageClassName").filter(|c| !c.is_empty())?;
    let sc = st.get("storageclasses.storage.k8s.io", "", class)?;
    // The node of a pod that uses the claim (WaitForFirstConsumer provisions in its zone).
    let consumer_node = st.list("pods", Some(meta::namespace(pvc))).iter().find_map(|p| {
        let uses =
            p.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten().any(|v| {
                v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) == Some(meta::name(pvc))
            });
        if uses { meta::str_at(p, "/spec/nodeName").map(String::from) } else { None }
    });
    if meta::str_at(&sc, "/volumeBindingMode") == Some("WaitForFirstConsumer") && consumer_node.is_none() {
        event_once(
            st,
            pvc,
            "Normal",
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            "persistentvolume-controller",
        );
        return None;
    }
    let driver = meta::str_at(&sc, "/provisioner").unwrap_or("").to_string();
    let name = format!("pvc-{}", meta::uid(pvc));
    let mut handle = format!("projects/p/zones/z/disks/{name}");
    let mut node_affinity = Value::Null;
    if driver == PD_CSI {
        let zone = consumer_node
            .and_then(|n| st.get("nodes", "", &n))
            .and_then(|n| meta::labels(&n).get("topology.kubernetes.io/zone").cloned())
            .unwrap_or_default();
        let size_gb =
            pvc.pointer("/spec/resources/requests/storage").and_then(bytes).map_or(1, |b| b.div_ceil(1 << 30));
        let disk = crate::k8s::DiskRequest {
            name: name.clone(),
            zone: zone.clone(),
            size_gb: size_gb as u64,
            disk_type: meta::str_at(&sc, "/parameters/type").unwrap_or("pd-standard").to_string(),
            labels: meta::str_at(&sc, "/parameters/labels").unwrap_or("").to_string(),
        };
        match c.host.create_disk(&c.name, &disk) {
            Ok(h) => handle = h,
            Err(why) => {
                event_once(st, pvc, "Warning", "ProvisioningFailed", &why, PD_CSI);
                return None;
            }
        }
        node_affinity = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.gke.io/zone", "operator": "In", "values": [zone]}
        ]}]}});
    }
    let pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": driver}, "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "capacity": {"storage": pvc.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"))},
            "accessModes": pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "persistentVolumeReclaimPolicy": meta::str_at(&sc, "/reclaimPolicy").unwrap_or("Delete"),
            "storageClassName": class,
            "volumeMode": "Filesystem",
            "csi": {"driver": driver, "volumeHandle": handle, "fsType": "ext4"},
            "nodeAffinity": node_affinity,
        },
    });
    create(st, pv, "persistentvolume-controller").ok()?;
    st.get(PVS, "", &name)
}

/// A bound volume whose claim is gone: Released (Retain) or deleted (Delete).
fn release(c: &Cluster, st: &mut Store, pv: &Value) {
    if meta::str_at(pv, "/status/phase") != Some("Bound") || meta::is_deleting(pv) {
        return;
    }
    let Some(r) = pv.pointer("/spec/claimRef") else { return };
    let ns = r.get("namespace").and_then(Value::as_str).unwrap_or("");
    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
    let uid = r.get("uid").and_then(Value::as_str).unwrap_or("");
    if st.get(PVCS, ns, name).is_some_and(|claim| meta::uid(&claim) == uid) {
        return;
    }
    if meta::str_at(pv, "/spec/persistentVolumeReclaimPolicy") == Some("Delete") {
        let mut v = pv.clone();
        if let Some(f) = v.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
            f.clear();
        }
        let _ = put(st, v, "persistentvolume-controller");
        if meta::str_at(pv, "/spec/csi/driver") == Some(PD_CSI)
            && let Some(handle) = meta::str_at(pv, "/spec/csi/volumeHandle")
        {
            c.host.delete_disk(handle);
        }
        if let Some(fresh) = st.get(PVS, "", meta::name(pv)) {
            delete(st, &fresh);
        }
    } else {
        let mut v = pv.clone();
        v["status"] = json!({"phase": "Released", "lastPhaseTransitionTime": meta::now_rfc3339()});
        let _ = put(st, v, "persistentvolume-controller");
    }
}

/// Bytes of a quantity (`1Ti`, `5Gi`, `1000`).
pub fn bytes(v: &Value) -> Option<u128> {
    if let Some(n) = quantity(v) {
        return u128::try_from(n).ok();
    }
    let s = v.as_str()?.trim();
    let split = s.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        _ => return None,
    };
    Some((num * mult) as u128)
}
