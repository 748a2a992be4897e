//! Watch streams: newline-delimited `{"type","object"}` events from a resourceVersion on,
//! with bookmarks, streaming-list initial events, 410 when history is gone, and a timeout.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::api::{self, ListQuery};
use super::cluster::Cluster;
use super::meta;
use super::status::{ApiError, ApiResult};
use super::store::{Event, EventType};
use super::types::ResourceType;

/// How often a watch that allows bookmarks gets one (real servers: about a minute).
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub struct WatchOpts {
    pub resource_version: Option<String>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    pub partial_metadata: bool,
}

struct Filter {
    rt: Arc<ResourceType>,
    ns: Option<String>,
    q: ListQuery,
    partial: bool,
}

impl Filter {
    fn selects(&self, obj: &Value) -> bool {
        self.ns.as_deref().is_none_or(|n| meta::namespace(obj) == n) && api::matches(&self.q, obj)
    }

    fn line(&self, kind: &str, obj: &Value) -> Bytes {
        let o = if self.partial { partial(obj) } else { api::present(&self.rt, obj) };
        let mut s = serde_json::to_vec(&json!({ "type": kind, "object": o })).unwrap_or_default();
        s.push(b'\n');
        Bytes::from(s)
    }

    /// ADDED/MODIFIED/DELETED as this watch sees it (entering or leaving the selection).
    fn translate(&self, ev: &Event) -> Option<Bytes> {
        if ev.gr != self.rt.gr() {
            return None;
        }
        let now = self.selects(&ev.object);
        let before = ev.old.as_ref().is_some_and(|o| self.selects(o));
        let kind = match ev.kind {
            EventType::Added if now => "ADDED",
            EventType::Modified if now && before => "MODIFIED",
            EventType::Modified if now => "ADDED",
            EventType::Modified if before => "DELETED",
            EventType::Deleted if before || now => "DELETED",
            _ => return None,
        };
        Some(self.line(kind, &ev.object))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut md = json!({ "resourceVersion": rv.to_string() });
        if initial_end {
            md["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let mut s = serde_json::to_vec(&json!({
            "type": "BOOKMARK",
            "object": { "kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": md },
        }))
        .unwrap_or_default();
        s.push(b'\n');
        Bytes::from(s)
    }
}

/// `PartialObjectMetadata` of an object (metadata-only requests).
pub fn partial(obj: &Value) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// Start a watch; the receiver yields the response body chunks.
pub fn start(
    cluster: &Arc<Cluster>,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    q: ListQuery,
    opts: WatchOpts,
) -> ApiResult<mpsc::Receiver<Bytes>> {
    let filter = Filter { rt, ns, q, partial: opts.partial_metadata };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut initial: Vec<Bytes> = Vec::new();
    let (sub, start_rv) = {
        let st = cluster.lock();
        let sub = st.subscribe();
        let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
        let current = || -> Vec<Bytes> {
            st.list(&filter.rt.gr(), filter.ns.as_deref())
                .iter()
                .filter(|o| filter.selects(o))
                .map(|o| filter.line("ADDED", o))
                .collect()
        };
        if opts.send_initial_events {
            initial = current();
            initial.push(filter.bookmark(st.rv(), true));
        } else {
            match rv {
                None | Some("0") => initial = current(),
                Some(v) => {
                    let n: u64 = v.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid resource version {v:?}: strconv.ParseUint: parsing {v:?}: invalid syntax"
                        ))
                    })?;
                    match st.events_since(n) {
                        Some(evs) => initial.extend(evs.iter().filter_map(|e| filter.translate(e))),
                        None => initial.push(gone(n, st.rv())),
                    }
                }
            }
        }
        (sub, st.rv())
    };
    let weak = Arc::downgrade(cluster);
    tokio::spawn(pump(weak, filter, sub, tx, initial, start_rv, opts));
    Ok(rx)
}

fn gone(asked: u64, now: u64) -> Bytes {
    let status = ApiError::gone(format!("too old resource version: {asked} ({now})")).to_status();
    let mut s = serde_json::to_vec(&json!({ "type": "ERROR", "object": status })).unwrap_or_default();
    s.push(b'\n');
    Bytes::from(s)
}

async fn pump(
    cluster: Weak<Cluster>,
    filter: Filter,
    mut sub: broadcast::Receiver<Arc<Event>>,
    tx: mpsc::Sender<Bytes>,
    initial: Vec<Bytes>,
    start_rv: u64,
    opts: WatchOpts,
) {
    for chunk in initial {
        if tx.send(chunk).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::Instant::now() + opts.timeout.unwrap_or(Duration::from_secs(1800));
    let mut last_rv = start_rv;
    let mut bookmarks = tokio::time::interval(BOOKMARK_EVERY);
    bookmarks.tick().await;
    loop {
        tokio::select! {
            ev = sub.recv() => match ev {
                Ok(ev) => {
                    if ev.rv <= start_rv {
                        continue;
                    }
                    last_rv = ev.rv;
                    if let Some(line) = filter.translate(&ev)
                        && tx.send(line).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too far behind to be exact: end like an expired watch, the client re-lists.
                    let _ = tx.send(gone(last_rv, last_rv)).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = bookmarks.tick(), if opts.bookmarks => {
                if tx.send(filter.bookmark(last_rv, false)).await.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tx.closed() => return,
        }
        if cluster.strong_count() == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::selectors::LabelSelector;
    use crate::k8s::types::Registry;

    fn gs(state_label: &str) -> Arc<Value> {
        Arc::new(json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "a", "namespace": "sd", "labels": {"user": state_label}}}))
    }

    fn event(kind: EventType, old: Option<Arc<Value>>, new: Arc<Value>) -> Event {
        Event { rv: 2, gr: "configmaps".into(), kind, object: new, old }
    }

    fn kind_of(line: Option<Bytes>) -> Option<String> {
        line.map(|b| serde_json::from_slice::<Value>(&b).unwrap()["type"].as_str().unwrap().to_string())
    }

    #[test]
    fn objects_entering_or_leaving_a_selection_are_added_or_deleted() {
        let rt = Registry::builtin().find("", "v1", "configmaps").unwrap();
        let q = ListQuery { labels: LabelSelector::parse("user=alice").unwrap(), ..Default::default() };
        let f = Filter { rt, ns: Some("sd".into()), q, partial: false };
        let (alice, bob) = (gs("alice"), gs("bob"));
        assert_eq!(
            kind_of(f.translate(&event(EventType::Modified, Some(bob.clone()), alice.clone()))).as_deref(),
            Some("ADDED")
        );
        assert_eq!(
            kind_of(f.translate(&event(EventType::Modified, Some(alice.clone()), alice.clone()))).as_deref(),
            Some("MODIFIED")
        );
        assert_eq!(
            kind_of(f.translate(&event(EventType::Modified, Some(alice.clone()), bob.clone()))).as_deref(),
            Some("DELETED")
        );
        assert_eq!(kind_of(f.translate(&event(EventType::Added, None, bob))), None);
        let bookmark: Value = serde_json::from_slice(&f.bookmark(7, true)).unwrap();
        assert_eq!(bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
        assert_eq!(bookmark["object"]["metadata"]["resourceVersion"], "7");
    }
}
