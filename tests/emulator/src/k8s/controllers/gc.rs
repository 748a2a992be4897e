//! The garbage collector: dependents of a deleted owner go (background propagation); an owner
//! deleted with `Foreground` waits for its dependents; `Orphan` detaches them.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use super::{delete, put, remove_finalizer};
use crate::k8s::meta;
use crate::k8s::store::Store;

pub fn reconcile(st: &mut Store) {
    let resources = st.resources();
    let mut all: Vec<Arc<Value>> = Vec::new();
    for gr in &resources {
        all.extend(st.list(gr, None));
    }
    let uids: HashSet<String> = all.iter().map(|o| meta::uid(o).to_string()).collect();
    let deleting_owner = |uid: &str, f: &str| {
        all.iter().any(|o| meta::uid(o) == uid && meta::is_deleting(o) && meta::finalizers(o).iter().any(|x| x == f))
    };
    for o in &all {
        let refs = o.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default();
        if refs.is_empty() {
            continue;
        }
        let owner_uids: Vec<String> =
            refs.iter().filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from)).collect();
        if owner_uids.iter().any(|u| deleting_owner(u, "orphan")) {
            let mut next = (**o).clone();
            if let Some(list) = next.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
                list.retain(|r| !r.get("uid").and_then(Value::as_str).is_some_and(|u| deleting_owner(u, "orphan")));
            }
            let _ = put(st, next, "generic-garbage-collector");
            continue;
        }
        let foreground = owner_uids.iter().any(|u| deleting_owner(u, "foregroundDeletion"));
        let orphaned = owner_uids.iter().all(|u| !uids.contains(u));
        if (orphaned || foreground) && !meta::is_deleting(o) {
            delete(st, o);
        }
    }
    // Owners waiting on their dependents (foreground) or done orphaning.
    for o in &all {
        if !meta::is_deleting(o) {
            continue;
        }
        let f = meta::finalizers(o);
        let uid = meta::uid(o);
        let has_dependents = all.iter().any(|d| meta::owned_by(d, uid) && st_exists(st, d));
        if f.iter().any(|x| x == "foregroundDeletion")
            && !has_dependents
            && let Some(fresh) = fresh(st, o)
        {
            remove_finalizer(st, &fresh, "foregroundDeletion", "generic-garbage-collector");
        }
        if f.iter().any(|x| x == "orphan") {
            let still =
                all.iter().any(|d| meta::owned_by(d, uid) && fresh(st, d).is_some_and(|d| meta::owned_by(&d, uid)));
            if !still && let Some(fresh) = fresh(st, o) {
                remove_finalizer(st, &fresh, "orphan", "generic-garbage-collector");
            }
        }
    }
}

fn gr_of(st: &Store, o: &Value) -> Option<String> {
    super::type_of(st, o).map(|t| t.gr())
}

fn fresh(st: &Store, o: &Value) -> Option<Arc<Value>> {
    st.get(&gr_of(st, o)?, meta::namespace(o), meta::name(o))
}

fn st_exists(st: &Store, o: &Value) -> bool {
    fresh(st, o).is_some()
}
