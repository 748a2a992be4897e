//! The objects a new GKE cluster already has: system namespaces, the `kubernetes` Service,
//! storage classes, CSI drivers, priority classes, GKE's CRDs (established) and the local
//! APIServices of the built-in groups. Nodes come from the node pools (controllers).

use serde_json::{Value, json};

use super::api::{self, Opts};
use super::cluster::Cluster;
use super::store::Store;
use super::{discovery, gke_crds, meta};

const NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease", "gmp-system", "gmp-public"];

pub fn seed(c: &Cluster, st: &mut Store) {
    for ns in NAMESPACES {
        put(st, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        put(
            st,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
        );
    }
    put(
        st,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "34.118.224.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]},
        }),
    );
    for (name, ty, default) in
        [("standard", "pd-standard", false), ("standard-rwo", "pd-balanced", true), ("premium-rwo", "pd-ssd", false)]
    {
        let mut sc = json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
            "provisioner": "pd.csi.storage.gke.io",
            "parameters": {"type": ty},
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": true,
        });
        if default {
            meta::set_annotation(&mut sc, "storageclass.kubernetes.io/is-default-class", "true");
        }
        put(st, sc);
    }
    for driver in c.host.csi_drivers(&c.name) {
        put(
            st,
            json!({
                "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
                "metadata": {"name": driver},
                "spec": {"attachRequired": driver == "pd.csi.storage.gke.io", "podInfoOnMount": driver != "pd.csi.storage.gke.io",
                         "volumeLifecycleModes": ["Persistent"]},
            }),
        );
    }
    for (name, value) in [("system-cluster-critical", 2_000_000_000), ("system-node-critical", 2_000_001_000)] {
        put(
            st,
            json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "globalDefault": false,
            }),
        );
    }
    for group_version in local_api_services(st) {
        put(st, group_version);
    }
    for crd in gke_crds::all() {
        let created = put(st, crd);
        let mut est = created.clone();
        let mut status = json!({});
        meta::set_condition(&mut status, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
        meta::set_condition(
            &mut status,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        );
        status["acceptedNames"] = created["spec"]["names"].clone();
        status["storedVersions"] = json!([created["spec"]["versions"][0]["name"]]);
        est["status"] = status;
        st.replace("customresourcedefinitions.apiextensions.k8s.io", est);
    }
    discovery::refresh_types(st);
}

fn put(st: &mut Store, obj: Value) -> Value {
    let kind = meta::kind(&obj).to_string();
    let ns = meta::namespace(&obj).to_string();
    let rt = st.registry.all().iter().find(|t| t.kind == kind && !t.is_crd()).cloned();
    let Some(rt) = rt else { return obj };
    let mut opts = Opts::internal("kube-apiserver");
    api::create(st, &rt, &ns, obj.clone(), &mut opts).unwrap_or(obj)
}

/// `v1.apps`-style APIServices (no `spec.service`: served locally).
fn local_api_services(st: &Store) -> Vec<Value> {
    let mut out = vec![local("", "v1")];
    for (g, versions) in st.registry.groups() {
        for v in versions {
            out.push(local(&g, &v));
        }
    }
    out
}

fn local(group: &str, version: &str) -> Value {
    let name = if group.is_empty() { version.to_string() } else { format!("{version}.{group}") };
    let mut status = json!({});
    meta::set_condition(&mut status, "Available", "True", "Local", "Local APIServices are always available");
    json!({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": 18000, "versionPriority": 15},
        "status": status,
    })
}
