//! Defaulting of built-in kinds (the subset readers rely on) and the few server-side
//! transformations the API server performs on write (Secret `stringData`, Service IPs,
//! the namespace label, the GPU toleration of GKE's ExtendedResourceToleration plugin).

use base64::Engine;
use rand::RngExt;
use serde_json::{Value, json};

use super::admission::Op;
use super::meta;
use super::store::Store;
use super::types::ResourceType;

pub fn apply(st: &Store, rt: &ResourceType, obj: &mut Value, old: Option<&Value>, op: Op) {
    match rt.kind.as_str() {
        "Namespace" => namespace(obj, op),
        "Secret" => secret(obj),
        "Service" => service(st, obj, old),
        "Deployment" => {
            set_default(obj, "/spec/replicas", json!(1));
            set_default(obj, "/spec/revisionHistoryLimit", json!(10));
            set_default(obj, "/spec/progressDeadlineSeconds", json!(600));
            set_default(
                obj,
                "/spec/strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            pod_template(obj, "/spec/template/spec", "Always");
        }
        "ReplicaSet" | "StatefulSet" => {
            set_default(obj, "/spec/replicas", json!(1));
            pod_template(obj, "/spec/template/spec", "Always");
        }
        "DaemonSet" => {
            // DaemonSetStatus' counts are required (not omitempty): a new DaemonSet reads back
            // with zeros and no observedGeneration until its controller runs (apps/v1 types.go).
            if op == Op::Create {
                for field in ["currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"] {
                    set_default(obj, &format!("/status/{field}"), json!(0));
                }
            }
            set_default(obj, "/spec/revisionHistoryLimit", json!(10));
            set_default(
                obj,
                "/spec/updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            pod_template(obj, "/spec/template/spec", "Always");
        }
        "Job" => job(obj, op),
        "CronJob" => {
            set_default(obj, "/spec/concurrencyPolicy", json!("Allow"));
            set_default(obj, "/spec/suspend", json!(false));
            set_default(obj, "/spec/successfulJobsHistoryLimit", json!(3));
            set_default(obj, "/spec/failedJobsHistoryLimit", json!(1));
            pod_template(obj, "/spec/jobTemplate/spec/template/spec", "Never");
        }
        "PersistentVolumeClaim" => pvc(st, obj, op),
        "PersistentVolume" => {
            set_default(obj, "/spec/persistentVolumeReclaimPolicy", json!("Retain"));
            set_default(obj, "/spec/volumeMode", json!("Filesystem"));
            if op == Op::Create {
                set_default(obj, "/status/phase", json!("Available"));
            }
        }
        "Pod" => pod(obj, op),
        "StorageClass" => {
            set_default(obj, "/reclaimPolicy", json!("Delete"));
            set_default(obj, "/volumeBindingMode", json!("Immediate"));
        }
        "PriorityClass" => set_default(obj, "/preemptionPolicy", json!("PreemptLowerPriority")),
        "CustomResourceDefinition" => {
            set_default(obj, "/spec/conversion", json!({"strategy": "None"}));
            if op == Op::Create {
                add_finalizer(obj, "customresourcecleanup.apiextensions.k8s.io");
            }
        }
        _ => {}
    }
}

/// Set `pointer` to `v` when absent (creating parents).
pub fn set_default(obj: &mut Value, pointer: &str, v: Value) {
    if obj.pointer(pointer).is_none() {
        super::api::set_pointer(obj, pointer, v);
    }
}

pub fn add_finalizer(obj: &mut Value, f: &str) {
    let md = meta::metadata_mut(obj);
    let list = md.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(a) = list.as_array_mut()
        && !a.iter().any(|x| x == f)
    {
        a.push(json!(f));
    }
}

fn namespace(obj: &mut Value, op: Op) {
    let name = meta::name(obj).to_string();
    meta::set_label(obj, "kubernetes.io/metadata.name", &name);
    if op == Op::Create {
        set_default(obj, "/spec/finalizers", json!(["kubernetes"]));
        obj["status"] = json!({"phase": "Active"});
    }
}

/// `stringData` is write-only: merged into `data`, base64-encoded.
fn secret(obj: &mut Value) {
    set_default(obj, "/type", json!("Opaque"));
    let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else { return };
    let Some(sd) = sd.as_object() else { return };
    let data = meta::child_mut(obj, "data");
    for (k, v) in sd {
        let raw = v.as_str().unwrap_or_default();
        data[k] = json!(base64::engine::general_purpose::STANDARD.encode(raw));
    }
}

fn service(st: &Store, obj: &mut Value, old: Option<&Value>) {
    set_default(obj, "/spec/type", json!("ClusterIP"));
    let ty = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    set_default(obj, "/spec/sessionAffinity", json!("None"));
    if ty != "ExternalName" {
        let kept = old.and_then(|o| o.pointer("/spec/clusterIP")).cloned();
        let ip = match (obj.pointer("/spec/clusterIP").and_then(Value::as_str), kept) {
            (Some(ip), _) if !ip.is_empty() => ip.to_string(),
            (_, Some(Value::String(k))) => k,
            _ => free_cluster_ip(st),
        };
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
        set_default(obj, "/spec/ipFamilies", json!(["IPv4"]));
        set_default(obj, "/spec/ipFamilyPolicy", json!("SingleStack"));
        set_default(obj, "/spec/internalTrafficPolicy", json!("Cluster"));
    }
    let old_ports = old.and_then(|o| o.pointer("/spec/ports")).and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut() {
            if p.get("targetPort").is_none()
                && let Some(port) = p.get("port").cloned()
            {
                p["targetPort"] = port;
            }
            if matches!(ty.as_str(), "NodePort" | "LoadBalancer") && p.get("nodePort").is_none() {
                let prev =
                    old_ports.iter().find(|o| o.get("port") == p.get("port")).and_then(|o| o.get("nodePort")).cloned();
                p["nodePort"] = prev.unwrap_or_else(|| json!(rand::rng().random_range(30000..32768)));
            }
        }
    }
    if ty == "LoadBalancer" {
        set_default(obj, "/spec/externalTrafficPolicy", json!("Cluster"));
        set_default(obj, "/spec/allocateLoadBalancerNodePorts", json!(true));
    }
    if obj.get("status").is_none() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

/// A free address in GKE's default Service range (34.118.224.0/20).
fn free_cluster_ip(st: &Store) -> String {
    let used: Vec<String> = st
        .list("services", None)
        .iter()
        .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str).map(String::from))
        .collect();
    let mut rng = rand::rng();
    loop {
        let n: u32 = rng.random_range(10..4094);
        let ip = format!("34.118.{}.{}", 224 + n / 256, n % 256);
        if !used.contains(&ip) {
            return ip;
        }
    }
}

fn pod_template(obj: &mut Value, spec: &str, restart: &str) {
    if obj.pointer(spec).is_none() {
        return;
    }
    set_default(obj, &format!("{spec}/restartPolicy"), json!(restart));
    set_default(obj, &format!("{spec}/dnsPolicy"), json!("ClusterFirst"));
    set_default(obj, &format!("{spec}/schedulerName"), json!("default-scheduler"));
    set_default(obj, &format!("{spec}/terminationGracePeriodSeconds"), json!(30));
    for list in ["containers", "initContainers"] {
        let Some(cs) = obj.pointer_mut(&format!("{spec}/{list}")).and_then(Value::as_array_mut) else { continue };
        for c in cs {
            if c.get("imagePullPolicy").is_none() {
                let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                let last = image.rsplit('/').next().unwrap_or("");
                let latest = !last.contains(':') && !image.contains('@') || last.ends_with(":latest");
                c["imagePullPolicy"] = json!(if latest { "Always" } else { "IfNotPresent" });
            }
            set_default(c, "/terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "/terminationMessagePolicy", json!("File"));
        }
    }
}

fn job(obj: &mut Value, op: Op) {
    set_default(obj, "/spec/parallelism", json!(1));
    set_default(obj, "/spec/completions", json!(1));
    set_default(obj, "/spec/backoffLimit", json!(6));
    set_default(obj, "/spec/completionMode", json!("NonIndexed"));
    set_default(obj, "/spec/suspend", json!(false));
    pod_template(obj, "/spec/template/spec", "Never");
    if op == Op::Create && obj.pointer("/spec/selector").is_none() {
        let uid = meta::uid(obj).to_string();
        let name = meta::name(obj).to_string();
        obj["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        let labels =
            meta::child_mut(meta::child_mut(meta::child_mut(&mut obj["spec"], "template"), "metadata"), "labels");
        labels["batch.kubernetes.io/controller-uid"] = json!(uid);
        labels["batch.kubernetes.io/job-name"] = json!(name);
        labels["controller-uid"] = json!(uid);
        labels["job-name"] = json!(name);
    }
}

fn pvc(st: &Store, obj: &mut Value, op: Op) {
    set_default(obj, "/spec/volumeMode", json!("Filesystem"));
    if op == Op::Create {
        if obj.pointer("/spec/storageClassName").is_none()
            && let Some(sc) = default_storage_class(st)
        {
            obj["spec"]["storageClassName"] = json!(sc);
        }
        obj["status"] = json!({"phase": "Pending"});
    }
}

fn default_storage_class(st: &Store) -> Option<String> {
    st.list("storageclasses.storage.k8s.io", None)
        .iter()
        .find(|sc| meta::annotation(sc, "storageclass.kubernetes.io/is-default-class") == Some("true"))
        .map(|sc| meta::name(sc).to_string())
}

fn pod(obj: &mut Value, op: Op) {
    set_default(obj, "/spec/serviceAccountName", json!("default"));
    pod_template(obj, "/spec", "Always");
    if op == Op::Create {
        obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
    }
    // GKE's ExtendedResourceToleration admission plugin: pods asking for GPUs tolerate the GPU taint.
    if requests_gpu(obj.get("spec")) {
        let tols = meta::child_mut(obj, "spec");
        if !tols.get("tolerations").is_some_and(Value::is_array) {
            tols["tolerations"] = json!([]);
        }
        if let Some(a) = tols["tolerations"].as_array_mut()
            && !a.iter().any(|t| t.get("key").and_then(Value::as_str) == Some("nvidia.com/gpu"))
        {
            a.push(json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}));
        }
    }
}

/// GPUs a pod spec asks for (limits or requests of its containers).
pub fn gpus(spec: Option<&Value>) -> i64 {
    let Some(spec) = spec else { return 0 };
    spec.get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let lim = c.pointer("/resources/limits/nvidia.com~1gpu").and_then(quantity);
            let req = c.pointer("/resources/requests/nvidia.com~1gpu").and_then(quantity);
            lim.or(req).unwrap_or(0)
        })
        .sum()
}

pub fn requests_gpu(spec: Option<&Value>) -> bool {
    gpus(spec) > 0
}

/// An integral quantity (`1`, `"2"`).
pub fn quantity(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
