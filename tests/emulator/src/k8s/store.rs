//! The object store of one cluster: objects by resource, one `resourceVersion` counter, and
//! the event history watches replay from.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::meta;
use super::types::Registry;

/// How many past events a watch can resume from (older: 410 Gone, the client re-lists).
const HISTORY: usize = 20_000;
/// Broadcast buffer: a watcher further behind than this is ended with 410 and re-lists.
const CHANNEL: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    /// Storage key of the resource (`deployments.apps`).
    pub gr: String,
    pub kind: EventType,
    pub object: Arc<Value>,
    /// The object before a modification (a watch with selectors needs it to turn a change
    /// into ADDED/DELETED when the object enters or leaves the selection).
    pub old: Option<Arc<Value>>,
}

type Key = (String, String);

pub struct Store {
    rv: u64,
    data: HashMap<String, BTreeMap<Key, Arc<Value>>>,
    history: VecDeque<Arc<Event>>,
    tx: broadcast::Sender<Arc<Event>>,
    pub registry: Registry,
    /// Set when a CRD or an APIService changed: the served types must be recomputed.
    pub types_dirty: bool,
    /// Set when something was deleted: owner references may now dangle.
    pub deleted_since_gc: bool,
    /// Compiled CRD schemas.
    pub schemas: super::discovery::SchemaCache,
    /// The newest resourceVersion whose event fell out of the history.
    evicted_up_to: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL);
        Self {
            rv: 1,
            data: HashMap::new(),
            history: VecDeque::new(),
            tx,
            registry: Registry::builtin(),
            types_dirty: false,
            deleted_since_gc: false,
            evicted_up_to: 0,
            schemas: Default::default(),
        }
    }

    /// The current resourceVersion (of the last write).
    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, gr: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.data.get(gr)?.get(&(ns.to_string(), name.to_string())).cloned()
    }

    /// Objects of a resource, in one namespace or all, ordered by namespace then name.
    pub fn list(&self, gr: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
        let Some(m) = self.data.get(gr) else { return Vec::new() };
        match ns {
            Some(ns) => m
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => m.values().cloned().collect(),
        }
    }

    /// Every resource key that holds objects.
    pub fn resources(&self) -> Vec<String> {
        let mut v: Vec<String> = self.data.iter().filter(|(_, m)| !m.is_empty()).map(|(k, _)| k.clone()).collect();
        v.sort();
        v
    }

    /// Store a new object (the caller checked it does not exist). Sets `resourceVersion`.
    pub fn insert(&mut self, gr: &str, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let key = (meta::namespace(&obj).to_string(), meta::name(&obj).to_string());
        let obj = Arc::new(obj);
        self.data.entry(gr.to_string()).or_default().insert(key, obj.clone());
        self.mark(gr);
        self.emit(gr, EventType::Added, obj.clone(), None);
        obj
    }

    /// Replace an existing object. A write that changes nothing keeps the old
    /// `resourceVersion` and sends no event, as the API server does.
    pub fn replace(&mut self, gr: &str, mut obj: Value) -> Arc<Value> {
        let key = (meta::namespace(&obj).to_string(), meta::name(&obj).to_string());
        let old = self.data.get(gr).and_then(|m| m.get(&key)).cloned();
        if let Some(old) = &old
            && same_ignoring_rv(old, &obj)
        {
            return old.clone();
        }
        self.rv += 1;
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let obj = Arc::new(obj);
        self.data.entry(gr.to_string()).or_default().insert(key, obj.clone());
        self.mark(gr);
        let kind = if old.is_some() { EventType::Modified } else { EventType::Added };
        self.emit(gr, kind, obj.clone(), old);
        obj
    }

    /// Remove an object for good. The DELETED event carries a new resourceVersion.
    pub fn remove(&mut self, gr: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let old = self.data.get_mut(gr)?.remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        let mut last = (*old).clone();
        meta::metadata_mut(&mut last).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let last = Arc::new(last);
        self.mark(gr);
        self.deleted_since_gc = true;
        self.emit(gr, EventType::Deleted, last.clone(), Some(old));
        Some(last)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Events after `rv` (exclusive), or `None` when the history no longer reaches back that far.
    pub fn events_since(&self, rv: u64) -> Option<Vec<Arc<Event>>> {
        if rv < self.evicted_up_to {
            return None;
        }
        Some(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    fn mark(&mut self, gr: &str) {
        if gr == "customresourcedefinitions.apiextensions.k8s.io" || gr == "apiservices.apiregistration.k8s.io" {
            self.types_dirty = true;
        }
    }

    fn emit(&mut self, gr: &str, kind: EventType, object: Arc<Value>, old: Option<Arc<Value>>) {
        let ev = Arc::new(Event { rv: self.rv, gr: gr.to_string(), kind, object, old });
        if self.history.len() >= HISTORY
            && let Some(gone) = self.history.pop_front()
        {
            self.evicted_up_to = gone.rv;
        }
        self.history.push_back(ev.clone());
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(ev);
    }
}

/// Equality of two objects, ignoring `metadata.resourceVersion`.
fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return a == b };
    if a.len() != b.len() {
        return false;
    }
    a.iter().all(|(k, va)| {
        let Some(vb) = b.get(k) else { return false };
        if k != "metadata" {
            return va == vb;
        }
        let (Some(ma), Some(mb)) = (va.as_object(), vb.as_object()) else { return va == vb };
        let ka = ma.iter().filter(|(k, _)| *k != "resourceVersion");
        let kb: Vec<_> = mb.iter().filter(|(k, _)| *k != "resourceVersion").collect();
        let ka: Vec<_> = ka.collect();
        ka.len() == kb.len() && ka.iter().all(|(k, v)| mb.get(*k) == Some(*v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str, v: &str) -> Value {
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"default"},"data":{"k":v}})
    }

    #[test]
    fn unchanged_replace_keeps_resource_version() {
        let mut s = Store::new();
        let a = s.insert("configmaps", cm("a", "1"));
        let rv = meta::resource_version(&a).to_string();
        let b = s.replace("configmaps", (*a).clone());
        assert_eq!(meta::resource_version(&b), rv);
        let c = s.replace("configmaps", cm("a", "2"));
        assert_ne!(meta::resource_version(&c), rv);
    }

    #[test]
    fn history_replays_after_a_version() {
        let mut s = Store::new();
        let a = s.insert("configmaps", cm("a", "1"));
        let rv: u64 = meta::resource_version(&a).parse().unwrap();
        s.replace("configmaps", cm("a", "2"));
        s.remove("configmaps", "default", "a");
        let evs = s.events_since(rv).unwrap();
        assert_eq!(evs.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventType::Modified, EventType::Deleted]);
        assert_eq!(s.list("configmaps", Some("default")).len(), 0);
    }
}
