//! Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs reach the status their
//! controllers report once their (unmaterialised) pods would be ready: after the start-up
//! delay, and only when some node could run the pod (selector, affinity, taints).

use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::nodes::{Fit, fit};
use super::{State, put};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::store::Store;
use crate::k8s::{meta, okg};

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    let nodes = st.list("nodes", None);
    for gr in ["deployments.apps", "replicasets.apps", "statefulsets.apps"] {
        for w in st.list(gr, None) {
            if !meta::is_deleting(&w) {
                replicated(c, st, s, &w, &nodes);
            }
        }
    }
    for ds in st.list("daemonsets.apps", None) {
        if !meta::is_deleting(&ds) {
            daemon_set(c, st, s, &ds, &nodes);
        }
    }
    for job in st.list("jobs.batch", None) {
        if !meta::is_deleting(&job) {
            self::job(c, st, s, &job, &nodes);
        }
    }
}

/// Whether some node can run the pod template at `pointer`.
fn runnable(st: &Store, obj: &Value, pointer: &str, nodes: &[Arc<Value>]) -> bool {
    let spec = obj.pointer(pointer).cloned().unwrap_or(Value::Null);
    nodes.iter().any(|n| fit(st, &spec, n, false) == Fit::Yes)
}

pub fn template_hash(obj: &Value) -> String {
    let t = obj.pointer("/spec/template").map(|t| t.to_string()).unwrap_or_default();
    let d = Sha256::digest(t.as_bytes());
    d.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn replicated(c: &Cluster, st: &mut Store, s: &mut State, w: &Value, nodes: &[Arc<Value>]) {
    let generation = meta::generation(w);
    let replicas = meta::int_at(w, "/spec/replicas").unwrap_or(1);
    let key = format!("workload/{}/{generation}", meta::uid(w));
    let rs_name = format!("{}-{}", meta::name(w), template_hash(w));
    // A manager that exits at start never becomes ready (CrashLoopBackOff).
    let ready = replicas == 0
        || (okg::crash(st, w).is_none()
            && runnable(st, w, "/spec/template/spec", nodes)
            && s.elapsed(&key, c.delay(Delay::WorkloadReady)));
    let was_available = meta::condition_true(w, "Available");
    let prev_available = meta::int_at(w, "/status/availableReplicas").unwrap_or(0);
    let mut next = w.clone();
    let status = meta::child_mut(&mut next, "status");
    status["observedGeneration"] = json!(generation);
    status["replicas"] = json!(replicas);
    let kind = meta::kind(w);
    if ready {
        status["updatedReplicas"] = json!(replicas);
        status["readyReplicas"] = json!(replicas);
        status["availableReplicas"] = json!(replicas);
        if kind == "StatefulSet" {
            status["currentReplicas"] = json!(replicas);
        }
        if let Some(m) = status.as_object_mut() {
            m.remove("unavailableReplicas");
        }
        if kind == "Deployment" {
            meta::set_condition(
                status,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            );
            meta::set_condition(
                status,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet {rs_name:?} has successfully progressed."),
            );
        }
    } else {
        let avail = if was_available { prev_available.min(replicas) } else { 0 };
        status["updatedReplicas"] = json!(0);
        status["readyReplicas"] = json!(avail);
        status["availableReplicas"] = json!(avail);
        status["unavailableReplicas"] = json!(replicas - avail);
        if kind == "Deployment" {
            if !was_available {
                meta::set_condition(
                    status,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                );
            }
            meta::set_condition(
                status,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet {rs_name:?} is progressing."),
            );
        }
    }
    if next != *w {
        let _ = put(st, next, "kube-controller-manager");
    }
}

fn daemon_set(c: &Cluster, st: &mut Store, s: &mut State, ds: &Value, nodes: &[Arc<Value>]) {
    let spec = ds.pointer("/spec/template/spec").cloned().unwrap_or(Value::Null);
    let desired = nodes.iter().filter(|n| fit(st, &spec, n, true) == Fit::Yes).count() as i64;
    let generation = meta::generation(ds);
    let key = format!("ds/{}/{generation}/{desired}", meta::uid(ds));
    let ready = if desired == 0 || s.elapsed(&key, c.delay(Delay::WorkloadReady)) { desired } else { 0 };
    let mut next = ds.clone();
    let status = meta::child_mut(&mut next, "status");
    for (k, v) in [
        ("currentNumberScheduled", desired),
        ("desiredNumberScheduled", desired),
        ("numberMisscheduled", 0),
        ("numberReady", ready),
        ("numberAvailable", ready),
        ("updatedNumberScheduled", ready),
        ("observedGeneration", generation),
    ] {
        status[k] = json!(v);
    }
    if ready < desired {
        status["numberUnavailable"] = json!(desired - ready);
    } else if let Some(m) = status.as_object_mut() {
        m.remove("numberUnavailable");
    }
    if next != *ds {
        let _ = put(st, next, "kube-controller-manager");
    }
}

fn job(c: &Cluster, st: &mut Store, s: &mut State, job: &Value, nodes: &[Arc<Value>]) {
    if meta::condition_true(job, "Complete") || job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let completions = meta::int_at(job, "/spec/completions").unwrap_or(1);
    let key = format!("job/{}", meta::uid(job));
    let mut next = job.clone();
    let start = job.pointer("/status/startTime").cloned().unwrap_or(json!(meta::now_rfc3339()));
    let status = meta::child_mut(&mut next, "status");
    status["startTime"] = start;
    if runnable(st, job, "/spec/template/spec", nodes) && s.elapsed(&key, c.delay(Delay::JobComplete)) {
        status["succeeded"] = json!(completions);
        status["active"] = json!(0);
        status["ready"] = json!(0);
        status["terminating"] = json!(0);
        status["completionTime"] = json!(meta::now_rfc3339());
        status["uncountedTerminatedPods"] = json!({});
        meta::set_condition(
            status,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        );
        meta::set_condition(
            status,
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        );
        s.forget(&key);
    } else {
        status["active"] = json!(1);
        status["ready"] = json!(0);
        status["terminating"] = json!(0);
        status["uncountedTerminatedPods"] = json!({});
    }
    if next != *job {
        let _ = put(st, next, "kube-controller-manager");
    }
}
