//! Nodes, the scheduler and the cluster autoscaler.
//!
//! Node objects mirror the Host's node pools (labels, taints, GPU capacity once drivers are
//! installed). Pods are bound to a node that fits (selector, required affinity, taints, free
//! GPUs, host ports), packed onto busy nodes first. A pod that fits nowhere gets
//! `FailedScheduling`; when a pool could host it, the autoscaler asks the Host to scale that
//! pool up and reports `TriggeredScaleUp`, then `FailedScaleUp` with GKE's reason on failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{State, create, delete, event, event_once, put};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::defaults::gpus;
use crate::k8s::store::Store;
use crate::k8s::{NodePoolInfo, meta};

const POOL_LABEL: &str = "cloud.google.com/gke-nodepool";
const DRIVER_LABEL: &str = "cloud.google.com/gke-gpu-driver-version";

/// Finished scale-ups (pool, new node names or GKE's reason), applied on the next pass.
type Outcomes = Arc<std::sync::Mutex<Vec<(String, Result<Vec<String>, String>)>>>;

/// What the autoscaler remembers per node pool.
#[derive(Default)]
pub struct Autoscaler {
    in_flight: HashMap<String, u32>,
    backoff_until: HashMap<String, Instant>,
    /// Names the Host gave for new nodes, used when the nodes appear.
    names: HashMap<String, Vec<String>>,
    /// Scale-up outcomes delivered by finished tasks, applied on the next pass.
    done: Outcomes,
}

/// Why a pod does not fit a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    Yes,
    NotReady,
    Selector,
    Taint(String),
    Gpu,
    Ports,
    /// A bound volume of the pod is pinned elsewhere (a zonal disk in another zone).
    VolumeAffinity,
}

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    apply_outcomes(c, st, s);
    let pools = c.host.node_pools(&c.name);
    let has_cpu_pool = pools.iter().any(|p| p.accelerator.is_none());
    for pool in &pools {
        sync_pool(c, st, s, pool, has_cpu_pool);
    }
    for n in st.list("nodes", None) {
        let pool = meta::labels(&n).get(POOL_LABEL).cloned().unwrap_or_default();
        if !pools.iter().any(|p| p.name == pool) {
            remove_node(st, &n);
        }
    }
    s.nodes.names.retain(|k, _| pools.iter().any(|p| &p.name == k));
}

/// A pool has as many Nodes as GKE counts instances in it (the node pool's size, which a
/// finished scale-up has already grown and a preemption shrunk).
fn sync_pool(c: &Cluster, st: &mut Store, s: &mut State, pool: &NodePoolInfo, has_cpu_pool: bool) {
    let want = pool.node_count as usize;
    let mut nodes: Vec<Arc<Value>> =
        st.list("nodes", None).into_iter().filter(|n| meta::labels(n).get(POOL_LABEL) == Some(&pool.name)).collect();
    while nodes.len() < want {
        let name = s.nodes.names.get_mut(&pool.name).and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        let name = name.unwrap_or_else(|| node_name(&c.name, &pool.name));
        let node = node_object(c, st, &name, pool, has_cpu_pool);
        match create(st, node, "kubelet") {
            Ok(n) => nodes.push(Arc::new(n)),
            Err(_) => break,
        }
    }
    if nodes.len() > want {
        nodes.sort_by_key(|n| pods_on(st, meta::name(n)).len());
        for n in nodes.drain(..nodes.len() - want) {
            remove_node(st, &n);
        }
    }
    for n in nodes {
        let fresh = node_object(c, st, meta::name(&n), pool, has_cpu_pool);
        let mut next = (*n).clone();
        next["metadata"]["labels"] = fresh["metadata"]["labels"].clone();
        next["spec"]["taints"] = fresh["spec"]["taints"].clone();
        next["status"]["capacity"] = fresh["status"]["capacity"].clone();
        next["status"]["allocatable"] = fresh["status"]["allocatable"].clone();
        if next != *n {
            let _ = put(st, next, "kubelet");
        }
    }
}

fn remove_node(st: &mut Store, n: &Value) {
    for p in pods_on(st, meta::name(n)) {
        delete(st, &p);
    }
    delete(st, n);
}

/// `gke-CLUSTER-POOL-HASH-XXXX`, as GKE names instances of a node pool.
fn node_name(cluster: &str, pool: &str) -> String {
    let short = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    format!("gke-{}-{}-{}-{}", short(cluster, 20), short(pool, 20), meta::random_hex(8), meta::random_suffix(4))
}

/// CPUs and memory (MiB) of a machine type, approximately.
fn machine(machine_type: &str) -> (u32, u32) {
    let parts: Vec<&str> = machine_type.split('-').collect();
    match parts.as_slice() {
        ["custom", cpu, mem, ..] => (cpu.parse().unwrap_or(4), mem.parse().unwrap_or(16384)),
        [family, "standard", cpu] => {
            let cpu: u32 = cpu.parse().unwrap_or(4);
            let per = if *family == "n1" { 3840 } else { 4096 };
            (cpu, cpu * per)
        }
        [_, "highmem", cpu] => (cpu.parse().unwrap_or(4), cpu.parse::<u32>().unwrap_or(4) * 8192),
        [_, "highcpu", cpu] => (cpu.parse().unwrap_or(4), cpu.parse::<u32>().unwrap_or(4) * 1024),
        _ => (4, 16384),
    }
}

fn taints(pool: &NodePoolInfo, has_cpu_pool: bool) -> Vec<Value> {
    let mut out: Vec<Value> = pool
        .taints
        .iter()
        .filter_map(|t| {
            let (kv, effect) = t.rsplit_once(':')?;
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let mut taint = json!({"key": k, "effect": effect});
            if !v.is_empty() {
                taint["value"] = json!(v);
            }
            Some(taint)
        })
        .collect();
    // GKE taints GPU nodes when the cluster also has CPU node pools.
    if pool.accelerator.is_some() && has_cpu_pool && !out.iter().any(|t| t["key"] == "nvidia.com/gpu") {
        out.push(json!({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}));
    }
    out
}

fn node_object(c: &Cluster, st: &Store, name: &str, pool: &NodePoolInfo, has_cpu_pool: bool) -> Value {
    let zone = c.host.node_locations(&c.name).first().cloned().unwrap_or_else(|| "us-central1-a".into());
    let region = zone.rsplit_once('-').map(|(r, _)| r.to_string()).unwrap_or_default();
    let (cpu, mem) = machine(&pool.machine_type);
    let mut labels: BTreeMap<String, String> = BTreeMap::from([
        (POOL_LABEL.to_string(), pool.name.clone()),
        ("kubernetes.io/hostname".into(), name.to_string()),
        ("kubernetes.io/os".into(), "linux".into()),
        ("kubernetes.io/arch".into(), "amd64".into()),
        ("node.kubernetes.io/instance-type".into(), pool.machine_type.clone()),
        ("topology.kubernetes.io/zone".into(), zone.clone()),
        // The Persistent Disk CSI driver's topology key, which kubelet puts on the node when the
        // driver registers; provisioned disks' volumes are pinned by it.
        ("topology.gke.io/zone".into(), zone.clone()),
        ("topology.kubernetes.io/region".into(), region),
        ("cloud.google.com/machine-family".into(), pool.machine_type.split('-').next().unwrap_or("").to_string()),
        ("cloud.google.com/gke-os-distribution".into(), "cos".into()),
    ]);
    let mut capacity =
        json!({"cpu": cpu.to_string(), "memory": format!("{mem}Mi"), "pods": "110", "ephemeral-storage": "98831908Ki"});
    let mut allocatable = json!({"cpu": format!("{}m", cpu * 1000 - 60), "memory": format!("{}Mi", mem * 85 / 100), "pods": "110", "ephemeral-storage": "47060071478"});
    if let Some((acc, count)) = &pool.accelerator {
        labels.insert("cloud.google.com/gke-accelerator".into(), acc.clone());
        capacity["nvidia.com/gpu"] = json!(count.to_string());
    }
    labels.extend(pool.labels.clone());
    let mut node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": "10.8.0.0/24", "providerID": format!("gce://project/{zone}/{name}"), "taints": taints(pool, has_cpu_pool)},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable.clone(),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": meta::now_rfc3339(), "lastTransitionTime": meta::now_rfc3339()}],
            "addresses": addresses(&c.host.scenario(), name, pool.private_nodes),
            "nodeInfo": {"kubeletVersion": format!("v{}", c.version), "kubeProxyVersion": format!("v{}", c.version),
                         "osImage": "Container-Optimized OS from Google", "containerRuntimeVersion": "containerd://2.0.6",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    });
    // The device plugin advertises GPUs only once drivers are installed (GKE-managed, or by
    // the driver-installer DaemonSet).
    if let Some((_, count)) = &pool.accelerator {
        let installed = node["metadata"]["labels"].get(DRIVER_LABEL).is_some() || driver_daemonset_ready(st, &node);
        allocatable["nvidia.com/gpu"] = json!(if installed { count.to_string() } else { "0".to_string() });
        node["status"]["allocatable"] = allocatable;
    }
    node
}

/// A ready NVIDIA driver installer DaemonSet that targets this node.
fn driver_daemonset_ready(st: &Store, node: &Value) -> bool {
    st.list("daemonsets.apps", Some("kube-system")).iter().any(|ds| {
        meta::name(ds).starts_with("nvidia-driver-installer")
            && meta::int_at(ds, "/status/numberAvailable").unwrap_or(0) > 0
            && fit(st, ds.pointer("/spec/template/spec").unwrap_or(&Value::Null), node, true) == Fit::Yes
    })
}

fn ip_hash(name: &str) -> (u8, u8) {
    let h = name.bytes().fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    ((h % 250) as u8 + 2, ((h / 250) % 250) as u8 + 2)
}

// Every address a test could dial is a loopback address (design.md): nodes' internal and
// external IPs and pod IPs live in 127.0.0.0/8, in blocks that tell them apart.

/// A node's InternalIP: one of 127.10.0.0/16.
pub fn internal_ip(name: &str) -> String {
    let (a, b) = ip_hash(name);
    format!("127.10.{a}.{b}")
}

/// A public node's ExternalIP: the scenario's `gameServerExternalAddress`, else one of 127.34.0.0/16.
pub fn external_ip(scenario: &crate::scenario::Scenario, name: &str) -> String {
    if let Some(address) = &scenario.game_server_external_address {
        return address.clone();
    }
    let (a, b) = ip_hash(name);
    format!("127.34.{a}.{b}")
}

/// A node's addresses in the order the GCE cloud provider reports them: InternalIP, then
/// ExternalIP for a node with an access config (public), then Hostname
/// (kubernetes/cloud-provider-gcp providers/gce/gce_instances.go, nodeAddressesFromInstance).
pub fn addresses(scenario: &crate::scenario::Scenario, name: &str, private: bool) -> Value {
    let mut addresses = vec![json!({"type": "InternalIP", "address": internal_ip(name)})];
    if !private {
        addresses.push(json!({"type": "ExternalIP", "address": external_ip(scenario, name)}));
    }
    addresses.push(json!({"type": "Hostname", "address": name}));
    Value::Array(addresses)
}

/// Pods bound to a node.
pub fn pods_on(st: &Store, node: &str) -> Vec<Arc<Value>> {
    st.list("pods", None).into_iter().filter(|p| meta::str_at(p, "/spec/nodeName") == Some(node)).collect()
}

/// Whether a pod spec fits a node (`daemon`: DaemonSet pods ignore `unschedulable`).
pub fn fit(st: &Store, spec: &Value, node: &Value, daemon: bool) -> Fit {
    if !daemon && node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        return Fit::Taint("{node.kubernetes.io/unschedulable: }".into());
    }
    fit_among(&pods_on(st, meta::name(node)), spec, node)
}

/// Fit given the pods already on the node.
fn fit_among(pods: &[Arc<Value>], spec: &Value, node: &Value) -> Fit {
    if !meta::condition_true(node, "Ready") {
        return Fit::NotReady;
    }
    let labels = meta::labels(node);
    if let Some(sel) = spec.get("nodeSelector").and_then(Value::as_object)
        && !sel.iter().all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
    {
        return Fit::Selector;
    }
    if let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        && !terms.iter().any(|t| term_matches(t, &labels))
    {
        return Fit::Selector;
    }
    let tolerations = spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    for t in node.pointer("/spec/taints").and_then(Value::as_array).into_iter().flatten() {
        let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
        if effect == "PreferNoSchedule" {
            continue;
        }
        if !tolerations.iter().any(|tol| tolerates(tol, t)) {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let value = t.get("value").and_then(Value::as_str).unwrap_or("");
            return Fit::Taint(format!("{{{key}: {value}}}"));
        }
    }
    let want = gpus(Some(spec));
    if want > 0 {
        let have =
            node.pointer("/status/allocatable/nvidia.com~1gpu").and_then(crate::k8s::defaults::quantity).unwrap_or(0);
        let used: i64 = pods.iter().map(|p| gpus(p.get("spec"))).sum();
        if have - used < want {
            return Fit::Gpu;
        }
    }
    let ports = host_ports(spec);
    if !ports.is_empty() {
        let busy: Vec<(i64, String)> =
            pods.iter().flat_map(|p| host_ports(p.get("spec").unwrap_or(&Value::Null))).collect();
        if ports.iter().any(|p| busy.contains(p)) {
            return Fit::Ports;
        }
    }
    Fit::Yes
}

fn host_ports(spec: &Value) -> Vec<(i64, String)> {
    spec.get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|p| {
            let hp = meta::int_at(&p, "/hostPort").filter(|h| *h > 0)?;
            Some((hp, p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string()))
        })
        .collect()
}

fn term_matches(term: &Value, labels: &BTreeMap<String, String>) -> bool {
    term.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> =
            e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let have = labels.get(key);
        match e.get("operator").and_then(Value::as_str) {
            Some("In") => have.is_some_and(|h| values.contains(&h.as_str())),
            Some("NotIn") => have.is_none_or(|h| !values.contains(&h.as_str())),
            Some("Exists") => have.is_some(),
            Some("DoesNotExist") => have.is_none(),
            Some("Gt") => have
                .and_then(|h| h.parse::<i64>().ok())
                .zip(values.first().and_then(|v| v.parse::<i64>().ok()))
                .is_some_and(|(h, v)| h > v),
            Some("Lt") => have
                .and_then(|h| h.parse::<i64>().ok())
                .zip(values.first().and_then(|v| v.parse::<i64>().ok()))
                .is_some_and(|(h, v)| h < v),
            _ => false,
        }
    })
}

fn tolerates(tol: &Value, taint: &Value) -> bool {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let effect_ok = s(tol, "effect").is_empty() || s(tol, "effect") == s(taint, "effect");
    let key_ok = s(tol, "key").is_empty() || s(tol, "key") == s(taint, "key");
    match s(tol, "operator").as_str() {
        "Exists" => effect_ok && key_ok,
        _ => effect_ok && s(tol, "key") == s(taint, "key") && s(tol, "value") == s(taint, "value"),
    }
}

/// A node of `pool` as the autoscaler imagines it (GPUs present: drivers come with the node).
fn template_node(c: &Cluster, st: &Store, pool: &NodePoolInfo, has_cpu_pool: bool) -> Value {
    let mut n = node_object(c, st, "template", pool, has_cpu_pool);
    if let Some((_, count)) = &pool.accelerator {
        n["status"]["allocatable"]["nvidia.com/gpu"] = json!(count.to_string());
    }
    n
}

/// Bind pending pods; report unschedulable ones and scale pools up for them.
pub fn schedule(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    let pending: Vec<Arc<Value>> = st
        .list("pods", None)
        .into_iter()
        .filter(|p| meta::str_at(p, "/spec/nodeName").is_none() && !meta::is_deleting(p))
        .collect();
    if pending.is_empty() {
        return;
    }
    let mut unschedulable = Vec::new();
    for pod in pending {
        if let Err(why) = volumes_ready(st, &pod) {
            mark_unschedulable(st, &pod, &why);
            continue;
        }
        let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
        let mut nodes = st.list("nodes", None);
        nodes.sort_by_key(|n| std::cmp::Reverse(pods_on(st, meta::name(n)).len()));
        let pinned = volume_node_terms(st, &pod);
        let fits: Vec<(Arc<Value>, Fit)> = nodes
            .iter()
            .map(|n| {
                let labels = meta::labels(n);
                let f = if pinned.iter().all(|terms| terms.iter().any(|t| term_matches(t, &labels))) {
                    fit(st, &spec, n, false)
                } else {
                    Fit::VolumeAffinity
                };
                (n.clone(), f)
            })
            .collect();
        match fits.iter().find(|(_, f)| *f == Fit::Yes) {
            Some((node, _)) => bind(st, &pod, meta::name(node)),
            None => {
                mark_unschedulable(st, &pod, &unschedulable_message(&fits));
                unschedulable.push(pod);
            }
        }
    }
    if !unschedulable.is_empty() {
        autoscale(c, st, s, &unschedulable);
    }
}

fn volumes_ready(st: &Store, pod: &Value) -> Result<(), String> {
    let ns = meta::namespace(pod);
    for v in pod.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten() {
        let Some(claim) = v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) else { continue };
        let Some(pvc) = st.get("persistentvolumeclaims", ns, claim) else {
            return Err(format!(
                "0/{} nodes are available: persistentvolumeclaim {claim:?} not found. preemption: 0/{0} nodes are available: {0} Preemption is not helpful for scheduling.",
                st.list("nodes", None).len()
            ));
        };
        let bound = meta::str_at(&pvc, "/status/phase") == Some("Bound");
        let wffc = pvc_waits_for_consumer(st, &pvc);
        if !bound && !wffc {
            return Err(format!(
                "0/{} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{0} nodes are available: {0} Preemption is not helpful for scheduling.",
                st.list("nodes", None).len()
            ));
        }
    }
    Ok(())
}

/// The `nodeAffinity.required` terms of the volumes bound to the pod's claims (the scheduler's
/// VolumeBinding plugin: a node must match each volume's terms).
fn volume_node_terms(st: &Store, pod: &Value) -> Vec<Vec<Value>> {
    let ns = meta::namespace(pod);
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str))
        .filter_map(|claim| st.get("persistentvolumeclaims", ns, claim))
        .filter_map(|pvc| meta::str_at(&pvc, "/spec/volumeName").and_then(|pv| st.get("persistentvolumes", "", pv)))
        .filter_map(|pv| pv.pointer("/spec/nodeAffinity/required/nodeSelectorTerms").and_then(Value::as_array).cloned())
        .collect()
}

pub fn pvc_waits_for_consumer(st: &Store, pvc: &Value) -> bool {
    let class = meta::str_at(pvc, "/spec/storageClassName").unwrap_or("");
    !class.is_empty()
        && pvc.pointer("/spec/volumeName").is_none()
        && st
            .get("storageclasses.storage.k8s.io", "", class)
            .is_some_and(|sc| meta::str_at(&sc, "/volumeBindingMode") == Some("WaitForFirstConsumer"))
}

/// `0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector.`
fn unschedulable_message(fits: &[(Arc<Value>, Fit)]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, f) in fits {
        let reason = match f {
            Fit::Yes => continue,
            Fit::NotReady => "node(s) had untolerated taint {node.kubernetes.io/not-ready: }".to_string(),
            Fit::Selector => "node(s) didn't match Pod's node affinity/selector".to_string(),
            Fit::Taint(t) => format!("node(s) had untolerated taint {t}"),
            Fit::Gpu => "Insufficient nvidia.com/gpu".to_string(),
            Fit::Ports => "node(s) didn't have free ports for the requested pod ports".to_string(),
            // Kubernetes 1.33 and later (kubernetes/kubernetes#129887); before: "node(s) had
            // volume node affinity conflict".
            Fit::VolumeAffinity => "node(s) didn't match PersistentVolume's node affinity".to_string(),
        };
        *counts.entry(reason).or_default() += 1;
    }
    let n = fits.len();
    let parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    let detail = if parts.is_empty() { "no nodes available to schedule pods".to_string() } else { parts.join(", ") };
    format!(
        "0/{n} nodes are available: {detail}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
    )
}

fn mark_unschedulable(st: &mut Store, pod: &Value, message: &str) {
    let mut next = pod.clone();
    let status = meta::child_mut(&mut next, "status");
    let same = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "PodScheduled" && c["message"] == message));
    if same {
        return;
    }
    meta::set_condition(status, "PodScheduled", "False", "Unschedulable", message);
    let _ = put(st, next, "default-scheduler");
    event(st, pod, "Warning", "FailedScheduling", message, "default-scheduler");
}

fn bind(st: &mut Store, pod: &Value, node: &str) {
    let mut next = pod.clone();
    next["spec"]["nodeName"] = json!(node);
    let status = meta::child_mut(&mut next, "status");
    meta::set_condition(status, "PodScheduled", "True", "", "");
    if let Ok(bound) = put(st, next, "default-scheduler") {
        let msg = format!("Successfully assigned {}/{} to {node}", meta::namespace(pod), meta::name(pod));
        event(st, &bound, "Normal", "Scheduled", &msg, "default-scheduler");
    }
}

/// Ask the Host for nodes of a pool that could run the unschedulable pods.
fn autoscale(c: &Arc<Cluster>, st: &mut Store, s: &mut State, pods: &[Arc<Value>]) {
    let pools = c.host.node_pools(&c.name);
    let has_cpu_pool = pools.iter().any(|p| p.accelerator.is_none());
    let mut wanted: BTreeMap<String, (NodePoolInfo, i64, Vec<Arc<Value>>)> = BTreeMap::new();
    for pod in pods {
        let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
        if fits_once_gpus_ready(st, &spec) {
            // Like GKE's autoscaler: a GPU node whose drivers are still installing is
            // upcoming capacity, not a reason to add another node.
            continue;
        }
        let mut no_fit = 0;
        let mut at_max = 0;
        let mut in_backoff = 0;
        let mut chosen = None;
        let now = Instant::now();
        for pool in expansion_options(st, &spec, &pools) {
            let template = template_node(c, st, pool, has_cpu_pool);
            if fit_template(&spec, &template) != Fit::Yes {
                no_fit += 1;
            } else if pool.node_count + s.nodes.in_flight.get(&pool.name).copied().unwrap_or(0) >= pool.max_node_count {
                at_max += 1;
            } else if let Some(until) = s.nodes.backoff_until.get(&pool.name).filter(|until| **until > now) {
                // A node group whose scale-up failed is left out until its backoff ends.
                in_backoff += 1;
                s.wake_at(*until);
            } else if chosen.is_none() {
                chosen = Some(pool.clone());
            }
        }
        match chosen {
            Some(pool) => {
                let entry = wanted.entry(pool.name.clone()).or_insert((pool, 0, Vec::new()));
                entry.1 += gpus(Some(&spec)).max(1);
                entry.2.push(pod.clone());
            }
            None => {
                let mut parts = Vec::new();
                if no_fit > 0 {
                    parts.push(format!("{no_fit} node(s) didn't match Pod's node affinity/selector"));
                }
                if at_max > 0 {
                    parts.push(format!("{at_max} max node group size reached"));
                }
                if in_backoff > 0 {
                    parts.push(format!("{in_backoff} in backoff after failed scale-up"));
                }
                if parts.is_empty() {
                    parts.push("no node group could host the pod".into());
                }
                let msg = format!("pod didn't trigger scale-up: {}", parts.join(", "));
                event_once(st, pod, "Normal", "NotTriggerScaleUp", &msg, "cluster-autoscaler");
            }
        }
    }
    let now = Instant::now();
    for (name, (pool, need, pods)) in wanted {
        if s.nodes.in_flight.contains_key(&name) {
            continue;
        }
        if let Some(until) = s.nodes.backoff_until.get(&name)
            && *until > now
        {
            s.wake_at(*until);
            continue;
        }
        let per_node = pool.accelerator.as_ref().map(|(_, n)| (*n).max(1) as i64).unwrap_or(need);
        let nodes = ((need + per_node - 1) / per_node).max(1) as u32;
        let nodes = nodes.min(pool.max_node_count.saturating_sub(pool.node_count)).max(1);
        let zone = c.host.node_locations(&c.name).first().cloned().unwrap_or_else(|| "us-central1-a".into());
        let msg = format!(
            "pod triggered scale-up: [{{https://www.googleapis.com/compute/v1/projects/-/zones/{zone}/instanceGroups/gke-{}-{name}-grp {}->{} (max: {})}}]",
            c.name,
            pool.node_count,
            pool.node_count + nodes,
            pool.max_node_count
        );
        for p in &pods {
            event(st, p, "Normal", "TriggeredScaleUp", &msg, "cluster-autoscaler");
        }
        s.nodes.in_flight.insert(name.clone(), nodes);
        let done = s.nodes.done.clone();
        let fut = c.host.scale_up(&c.name, &name, nodes);
        let weak = Arc::downgrade(c);
        c.spawn(async move {
            let out = fut.await;
            if let Ok(mut d) = done.lock() {
                d.push((name, out));
            }
            if let Some(c) = weak.upgrade() {
                c.wake.notify_one();
            }
        });
    }
}

/// The node pools the autoscaler may grow for a pod, in the order it tries them. A pod selecting
/// a custom ComputeClass (`cloud.google.com/compute-class`): the pools of the class's
/// `priorities`, in order; with `whenUnsatisfiable: DoNotScaleUp` (the default since GKE 1.33)
/// no other pool. Else every pool, in the cluster's order.
fn expansion_options<'a>(st: &Store, spec: &Value, pools: &'a [NodePoolInfo]) -> Vec<&'a NodePoolInfo> {
    let class = spec.pointer("/nodeSelector/cloud.google.com~1compute-class").and_then(Value::as_str);
    let Some(class) = class.and_then(|name| st.get("computeclasses.cloud.google.com", "", name)) else {
        return pools.iter().collect();
    };
    let mut ordered: Vec<&NodePoolInfo> = class
        .pointer("/spec/priorities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|rule| rule.get("nodepools").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|name| pools.iter().find(|p| p.name == name))
        .collect();
    if meta::str_at(&class, "/spec/whenUnsatisfiable") == Some("ScaleUpAnyway") {
        let rest: Vec<&NodePoolInfo> = pools.iter().filter(|p| !ordered.iter().any(|o| o.name == p.name)).collect();
        ordered.extend(rest);
    }
    ordered
}

/// Whether an existing node would fit the pod once its GPUs are advertised.
fn fits_once_gpus_ready(st: &Store, spec: &Value) -> bool {
    st.list("nodes", None).iter().any(|n| {
        let Some(cap) = n.pointer("/status/capacity/nvidia.com~1gpu").cloned() else { return false };
        if n.pointer("/status/allocatable/nvidia.com~1gpu") == Some(&cap) {
            return false;
        }
        let mut ready = (**n).clone();
        ready["status"]["allocatable"]["nvidia.com/gpu"] = cap;
        fit_among(&pods_on(st, meta::name(n)), spec, &ready) == Fit::Yes
    })
}

/// Fit against an imagined node: no pods on it yet.
fn fit_template(spec: &Value, node: &Value) -> Fit {
    fit_among(&[], spec, node)
}

/// Apply finished scale-ups: new node names, or FailedScaleUp events and a backoff.
fn apply_outcomes(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    let outcomes: Vec<(String, Result<Vec<String>, String>)> = match s.nodes.done.lock() {
        Ok(mut d) => d.drain(..).collect(),
        Err(_) => return,
    };
    for (pool, out) in outcomes {
        s.nodes.in_flight.remove(&pool);
        match out {
            Ok(names) => {
                // The Host counted the new nodes before the outcome reached us, and a pass in
                // between may have made some of them under names of its own: only the nodes
                // still missing take the Host's names (counting `names` again made two nodes
                // for one, seen as a flaky test under load).
                let have =
                    st.list("nodes", None).iter().filter(|n| meta::labels(n).get(POOL_LABEL) == Some(&pool)).count();
                let host = c
                    .host
                    .node_pools(&c.name)
                    .into_iter()
                    .find(|p| p.name == pool)
                    .map(|p| p.node_count as usize)
                    .unwrap_or(0);
                let missing = host.saturating_sub(have);
                s.nodes.names.entry(pool).or_default().extend(names.into_iter().take(missing));
            }
            Err(reason) => {
                s.nodes.backoff_until.insert(pool.clone(), Instant::now() + c.delay(Delay::ScaleUpBackoff));
                let zones = c.host.node_locations(&c.name);
                let zones = if zones.is_empty() { "us-central1-a".to_string() } else { zones.join(", ") };
                let reason = reason.trim_end_matches('.');
                let msg = format!(
                    "Node scale up in zones {zones} associated with this pod failed: {reason}. Pod is at risk of not being scheduled."
                );
                let pending: Vec<Arc<Value>> = st
                    .list("pods", None)
                    .into_iter()
                    .filter(|p| meta::str_at(p, "/spec/nodeName").is_none() && !meta::is_deleting(p))
                    .collect();
                for p in pending {
                    event(st, &p, "Warning", "FailedScaleUp", &msg, "cluster-autoscaler");
                }
            }
        }
    }
}
