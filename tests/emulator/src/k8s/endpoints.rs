//! Which Services have ready backends. Pods of Deployments are not materialised, so a
//! Service's endpoints are the available replicas of the workloads its selector matches
//! (plus Running pods that exist, e.g. GameServer pods).

use serde_json::Value;

use super::meta;
use super::selectors::LabelSelector;
use super::store::Store;

/// Workload kinds whose pod templates back Services.
const WORKLOADS: &[&str] = &["deployments.apps", "daemonsets.apps", "statefulsets.apps", "replicasets.apps"];

/// Ready addresses behind Service `ns/name`, or why there are none (the API server's words).
pub fn ready(st: &Store, ns: &str, name: &str) -> Result<usize, String> {
    let Some(svc) = st.get("services", ns, name) else {
        return Err(format!("service {name:?} not found"));
    };
    let n = count(st, &svc);
    if n == 0 { Err(format!("no endpoints available for service {name:?}")) } else { Ok(n) }
}

/// Ready backends of a Service object (0 for a Service without selector).
pub fn count(st: &Store, svc: &Value) -> usize {
    let ns = meta::namespace(svc);
    let Some(sel) = svc.pointer("/spec/selector").and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return 0;
    };
    let sel = LabelSelector::from_object(Some(&serde_json::json!({ "matchLabels": sel })));
    let mut n = 0;
    for gr in WORKLOADS {
        for w in st.list(gr, Some(ns)) {
            let labels = meta::string_map(w.pointer("/spec/template/metadata/labels"));
            if sel.matches(&labels) {
                let ready = meta::int_at(&w, "/status/availableReplicas")
                    .or_else(|| meta::int_at(&w, "/status/numberAvailable"))
                    .unwrap_or(0);
                n += ready.max(0) as usize;
            }
        }
    }
    for p in st.list("pods", Some(ns)) {
        let running = meta::str_at(&p, "/status/phase") == Some("Running");
        if running && !meta::is_deleting(&p) && sel.matches(&meta::labels(&p)) {
            n += 1;
        }
    }
    n
}
