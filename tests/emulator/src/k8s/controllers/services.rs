//! The endpoints controller: each Service with a selector gets an Endpoints object listing
//! one address per ready backend (see [`crate::k8s::endpoints`]); none while nothing is ready.

use serde_json::{Value, json};

use super::{create, delete, put};
use crate::k8s::store::Store;
use crate::k8s::{endpoints, meta};

pub fn reconcile(st: &mut Store) {
    for svc in st.list("services", None) {
        let ns = meta::namespace(&svc).to_string();
        let name = meta::name(&svc).to_string();
        let selector = svc.pointer("/spec/selector").and_then(Value::as_object).is_some_and(|m| !m.is_empty());
        if meta::is_deleting(&svc) || !selector {
            continue;
        }
        let want = desired(st, &svc);
        match st.get("endpoints", &ns, &name) {
            None => {
                let _ = create(st, want, "endpoint-controller");
            }
            Some(have) => {
                let mut next = (*have).clone();
                match want.get("subsets") {
                    Some(s) => next["subsets"] = s.clone(),
                    None => {
                        if let Some(m) = next.as_object_mut() {
                            m.remove("subsets");
                        }
                    }
                }
                if next != *have {
                    let _ = put(st, next, "endpoint-controller");
                }
            }
        }
    }
    for ep in st.list("endpoints", None) {
        let ours = crate::k8s::managed::Managers::read(&ep).0.iter().any(|m| m.manager == "endpoint-controller");
        if ours && st.get("services", meta::namespace(&ep), meta::name(&ep)).is_none() {
            delete(st, &ep);
        }
    }
}

fn desired(st: &Store, svc: &Value) -> Value {
    let n = endpoints::count(st, svc);
    let seed = meta::name(svc).bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32)) % 250;
    let addresses: Vec<Value> = (0..n).map(|i| json!({"ip": format!("10.8.{}.{}", seed + 2, (i % 250) + 2)})).collect();
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port =
                p.get("targetPort").filter(|t| t.is_number()).or_else(|| p.get("port")).cloned().unwrap_or(json!(0));
            let mut e = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(name) = p.get("name") {
                e["name"] = name.clone();
            }
            e
        })
        .collect();
    let mut ep = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": meta::name(svc), "namespace": meta::namespace(svc), "labels": meta::labels(svc)},
    });
    if n > 0 {
        ep["subsets"] = json!([{"addresses": addresses, "ports": ports}]);
    }
    ep
}
