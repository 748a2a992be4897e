//! Namespaces: every active namespace gets its `default` ServiceAccount and the
//! `kube-root-ca.crt` ConfigMap; a terminating namespace deletes its contents and goes away
//! once they are gone (objects with finalizers keep it Terminating, as on a real cluster).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{State, create, delete, put};
use crate::k8s::cluster::Cluster;
use crate::k8s::meta;
use crate::k8s::store::Store;

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, _s: &mut State) {
    for ns in st.list("namespaces", None) {
        let name = meta::name(&ns).to_string();
        if meta::is_deleting(&ns) {
            terminate(st, &ns, &name);
            continue;
        }
        if st.get("serviceaccounts", &name, "default").is_none() {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}});
            let _ = create(st, sa, "kube-controller-manager");
        }
        if st.get("configmaps", &name, "kube-root-ca.crt").is_none() {
            let cm = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                             "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": c.ca_pem},
            });
            let _ = create(st, cm, "kube-controller-manager");
        }
    }
}

fn terminate(st: &mut Store, ns: &Value, name: &str) {
    let namespaced: Vec<String> = st.registry.all().iter().filter(|t| t.namespaced).map(|t| t.gr()).collect();
    let mut left = 0;
    for gr in st.resources() {
        if !namespaced.contains(&gr) {
            continue;
        }
        for o in st.list(&gr, Some(name)) {
            left += 1;
            if !meta::is_deleting(&o) {
                delete(st, &o);
            }
        }
    }
    let remaining: usize =
        st.resources().iter().filter(|gr| namespaced.contains(gr)).map(|gr| st.list(gr, Some(name)).len()).sum();
    if remaining == 0 {
        let mut done = ns.clone();
        done["spec"] = json!({"finalizers": []});
        let _ = put(st, done, "kube-controller-manager");
    } else if left > 0 {
        let mut next = ns.clone();
        let status = meta::child_mut(&mut next, "status");
        meta::set_condition(
            status,
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            &format!("Some resources are remaining: {remaining} objects"),
        );
        if next != *ns {
            let _ = put(st, next, "kube-controller-manager");
        }
    }
}
