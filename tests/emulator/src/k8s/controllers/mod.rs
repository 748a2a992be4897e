//! Simulated controllers. Nothing ever runs a container: each controller turns the store's
//! objects into the status a real cluster would reach, after the (scaled) delays a real
//! cluster takes. One loop per cluster runs every controller after each write and whenever
//! the earliest pending delay expires.

mod crds;
mod gc;
mod ingress;
mod namespaces;
pub mod nodes;
mod services;
mod storage;
mod workloads;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api::{self, DeleteOpts, Opts, Sub};
use super::cluster::Cluster;
use super::http::refresh;
use super::meta;
use super::status::ApiResult;
use super::store::Store;
use super::types::ResourceType;
use super::{agones, okg};

/// Controller memory that is not in the objects: when a delay started, what was reported.
#[derive(Default)]
pub struct State {
    started: HashMap<String, Instant>,
    /// The earliest instant some controller wants to run again.
    next: Option<Instant>,
    pub nodes: nodes::Autoscaler,
    /// Ingress uid -> generation whose load balancer the Host built.
    pub lb_generation: HashMap<String, i64>,
    /// FleetAutoscaler uid -> last sync.
    pub fa_synced: HashMap<String, Instant>,
    /// What OpenKruise's and OpenKruiseGame's managers decided when they started.
    pub okg: okg::Started,
    /// Node -> the GameServer pod (uid) that pulled the WebUI image there, and how long it took.
    pub image_pulls: HashMap<String, (String, Duration)>,
}

impl State {
    /// Whether `delay` has passed since `key` was first seen (remembering when it was).
    pub fn elapsed(&mut self, key: &str, delay: Duration) -> bool {
        let now = Instant::now();
        let start = *self.started.entry(key.to_string()).or_insert(now);
        let due = start + delay;
        if now >= due {
            true
        } else {
            self.wake_at(due);
            false
        }
    }

    /// Forget a delay (its subject changed or is gone).
    pub fn forget(&mut self, key: &str) {
        self.started.remove(key);
    }

    pub fn wake_at(&mut self, at: Instant) {
        self.next = Some(self.next.map_or(at, |n| n.min(at)));
    }
}

/// The controllers' loop; ends when the cluster is gone.
pub async fn run(cluster: Weak<Cluster>) {
    let mut state = State::default();
    loop {
        let Some(c) = cluster.upgrade() else { return };
        for _ in 0..20 {
            let mut st = c.lock();
            let before = st.rv();
            state.next = None;
            reconcile(&c, &mut st, &mut state);
            refresh(&mut st);
            if st.rv() == before {
                break;
            }
        }
        let tick = c.host.scaled(Duration::from_secs(10)).clamp(Duration::from_millis(20), Duration::from_secs(1));
        let wake = state.next.map_or(Instant::now() + tick, |n| n.min(Instant::now() + tick));
        tokio::select! {
            _ = c.wake.notified() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    crds::reconcile(c, st, s);
    namespaces::reconcile(c, st, s);
    nodes::reconcile(c, st, s);
    workloads::reconcile(c, st, s);
    services::reconcile(st);
    storage::reconcile(c, st, s);
    ingress::reconcile(c, st, s);
    agones::reconcile(c, st, s);
    okg::reconcile(st, &mut s.okg);
    nodes::schedule(c, st, s);
    gc::reconcile(st);
}

/// The served type of an object (by its apiVersion and kind).
pub fn type_of(st: &Store, obj: &Value) -> Option<Arc<ResourceType>> {
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    st.registry.by_kind(group, meta::kind(obj))
}

/// Write an object as a controller (status or spec), without admission.
pub fn put(st: &mut Store, obj: Value, manager: &str) -> ApiResult<Value> {
    let Some(rt) = type_of(st, &obj) else { return Ok(obj) };
    let Some(old) = st.get(&rt.gr(), meta::namespace(&obj), meta::name(&obj)) else { return Ok(obj) };
    let mut opts = Opts::internal(manager);
    api::finish_update(st, &rt, &old, obj, Sub::Internal, &mut opts, None)
}

/// Create an object as a controller.
pub fn create(st: &mut Store, obj: Value, manager: &str) -> ApiResult<Value> {
    let Some(rt) = type_of(st, &obj) else { return Ok(obj) };
    let ns = meta::namespace(&obj).to_string();
    let mut opts = Opts::internal(manager);
    api::create(st, &rt, &ns, obj, &mut opts)
}

/// Create an object through full admission (as a controller's client would).
pub fn create_admitted(st: &mut Store, obj: Value, manager: &str) -> ApiResult<Value> {
    let Some(rt) = type_of(st, &obj) else { return Ok(obj) };
    let ns = meta::namespace(&obj).to_string();
    let mut opts = Opts::internal(manager);
    opts.internal = false;
    opts.validation = api::Validation::Strict;
    api::create(st, &rt, &ns, obj, &mut opts)
}

/// Delete an object as a controller (background propagation).
pub fn delete(st: &mut Store, obj: &Value) {
    if let Some(rt) = type_of(st, obj) {
        let _ = api::delete(st, &rt, meta::namespace(obj), meta::name(obj), &DeleteOpts::default());
    }
}

/// Remove a finalizer (and complete the deletion when it was the last).
pub fn remove_finalizer(st: &mut Store, obj: &Value, finalizer: &str, manager: &str) {
    let mut o = obj.clone();
    if let Some(list) = o.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
        list.retain(|f| f.as_str() != Some(finalizer));
    }
    let _ = put(st, o, manager);
}

/// Record an Event unless the same one (object, reason, message) was already recorded.
pub fn event_once(st: &mut Store, involved: &Value, ty: &str, reason: &str, message: &str, component: &str) {
    let ns = if meta::namespace(involved).is_empty() { "default" } else { meta::namespace(involved) };
    let uid = meta::uid(involved);
    let seen = st.list("events", Some(ns)).iter().any(|e| {
        meta::str_at(e, "/involvedObject/uid") == Some(uid)
            && meta::str_at(e, "/reason") == Some(reason)
            && meta::str_at(e, "/message") == Some(message)
    });
    if !seen {
        event(st, involved, ty, reason, message, component);
    }
}

/// Record an Event on `involved` (deduplicated: a repeat bumps `count`).
pub fn event(st: &mut Store, involved: &Value, ty: &str, reason: &str, message: &str, component: &str) {
    let ns = match meta::namespace(involved) {
        "" => "default",
        n => n,
    }
    .to_string();
    let uid = meta::uid(involved).to_string();
    let existing = st.list("events", Some(&ns)).into_iter().find(|e| {
        meta::str_at(e, "/involvedObject/uid") == Some(uid.as_str())
            && meta::str_at(e, "/reason") == Some(reason)
            && meta::str_at(e, "/message") == Some(message)
    });
    let now = meta::now_rfc3339();
    if let Some(e) = existing {
        let mut e = (*e).clone();
        e["count"] = serde_json::json!(meta::int_at(&e, "/count").unwrap_or(1) + 1);
        e["lastTimestamp"] = serde_json::json!(now);
        let _ = put(st, e, component);
        return;
    }
    let ev = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{}", meta::name(involved), meta::random_hex(16)), "namespace": ns},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": meta::kind(involved),
            "name": meta::name(involved),
            "namespace": meta::namespace(involved),
            "uid": uid,
            "resourceVersion": meta::resource_version(involved),
        },
        "reason": reason,
        "message": message,
        "type": ty,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let _ = create(st, ev, component);
}
