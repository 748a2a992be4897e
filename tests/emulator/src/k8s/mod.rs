//! The Kubernetes API of every RUNNING emulated GKE cluster, served over HTTPS with a CA of its own.
//!
//! The Google side (`container` service) calls [`Clusters::start`] when a cluster becomes RUNNING
//! and [`Clusters::stop`] when it is deleted. Everything the Kubernetes side needs from the Google
//! side (scenario, time scale, request log, node pools, load-balancer pieces) goes through [`Host`].
//!
//! Interface rule: methods may be added to [`Host`] only with a default implementation, so the
//! Google side keeps compiling.
//!
//! Inside: [`cluster`] (one server: store, listener, controllers), [`http`] (routing, auth,
//! request log), [`api`] (the verbs), [`admission`] (defaults, decoding, validation,
//! webhooks), [`managed`] (server-side apply), [`schema`] (CRD structural schemas),
//! [`watch`], [`discovery`], [`controllers`] and [`agones`].
//!
//! Simulated delays (scenario `latency` keys, seconds before `--speed`): `k8s.crd.establish`
//! 2, `k8s.deployment.available` 30, `k8s.job.complete` 30, `k8s.pvc.bind` 2,
//! `k8s.ingress.address` 120, `k8s.certificate.provision` 1200, `k8s.gameserver.start` 45,
//! `k8s.autoscaler.backoff` 300.
//!
//! Deliberately stricter than GKE: a write without `fieldValidation` refuses unknown fields
//! (GKE's default, `Warn`, drops them silently), so a manifest typo fails here first.

pub mod admission;
pub mod agones;
pub mod api;
pub mod cluster;
pub mod coldstart;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod endpoints;
pub mod fields;
pub mod gke_crds;
pub mod http;
pub mod managed;
pub mod meta;
pub mod netpol;
pub mod okg;
pub mod quantity;
pub mod rbac;
pub mod reviews;
pub mod schema;
pub mod seed;
pub mod selectors;
pub mod status;
pub mod store;
pub mod strategic;
pub mod tls;
pub mod typed;
pub mod types;
pub mod validate;
pub mod watch;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::scenario::Scenario;
use cluster::Cluster;

/// What the Kubernetes side asks of the rest of the emulator.
/// A disk the PD CSI driver makes for a volume.
#[derive(Debug, Clone)]
pub struct DiskRequest {
    pub name: String,
    pub zone: String,
    pub size_gb: u64,
    /// `pd-balanced`, ... (the class's `type`).
    pub disk_type: String,
    /// The class's `labels` parameter: `key1=value1,key2=value2`.
    pub labels: String,
}

pub trait Host: Send + Sync + 'static {
    /// A simulated duration divided by `--speed`.
    fn scaled(&self, simulated: Duration) -> Duration;
    /// The current scenario.
    fn scenario(&self) -> Arc<Scenario>;
    /// Append one entry to the request log (`service` is `k8s`).
    fn log_request(&self, entry: serde_json::Value);
    /// The cluster's autoscaler is asked for `nodes` more nodes of the GPU pool `pool` because
    /// pods requesting `nvidia.com/gpu` are pending. Resolves after the scale-up delay with the
    /// names of the new nodes, or with GKE's reason (stockout, quota, max nodes reached), which
    /// the Kubernetes side reports as a `FailedScaleUp` event on the pending pod.
    fn scale_up(
        &self,
        cluster: &str,
        pool: &str,
        nodes: u32,
    ) -> futures::future::BoxFuture<'static, Result<Vec<String>, String>>;
    /// Node pools of the cluster as GKE has them (name, accelerator, taints, labels, node count).
    fn node_pools(&self, cluster: &str) -> Vec<NodePoolInfo>;
    /// An Ingress got its load balancer: create the forwarding rule, target proxy, URL map,
    /// backend service(s), NEG and health check as compute resources; returns the IP address
    /// (the named global static address when given, else a new ephemeral one) and the
    /// backend services' names.
    fn create_load_balancer(&self, cluster: &str, ingress: &LoadBalancerRequest) -> LoadBalancer;
    /// The Ingress was deleted: remove its load-balancer pieces from compute.
    fn delete_load_balancer(&self, cluster: &str, namespace: &str, ingress: &str);
    /// Bring the IAP OAuth client of the Ingress's backend services to `client_id` (empty: the
    /// Google-managed one). Errs as GKE's ingress controller does when that means going back
    /// from an own client to the managed one. Default: nothing to do.
    fn sync_iap(&self, cluster: &str, namespace: &str, ingress: &str, client_id: &str) -> Result<(), String> {
        let _ = (cluster, namespace, ingress, client_id);
        Ok(())
    }
    /// The PD CSI driver's CreateVolume: a Compute Engine disk for a volume of the cluster;
    /// returns the volume handle (`projects/P/zones/Z/disks/NAME`). Default: a stand-in handle.
    fn create_disk(&self, cluster: &str, disk: &DiskRequest) -> Result<String, String> {
        let _ = cluster;
        Ok(format!("projects/p/zones/{}/disks/{}", disk.zone, disk.name))
    }
    /// The PD CSI driver's DeleteVolume. Default: nothing to do.
    fn delete_disk(&self, handle: &str) {
        let _ = handle;
    }
    /// Zones the cluster's nodes run in (GKE `locations`); used in node labels and in the
    /// autoscaler's messages. Default: none known (`us-central1-a` is shown).
    fn node_locations(&self, cluster: &str) -> Vec<String> {
        let _ = cluster;
        Vec::new()
    }
    /// Whether the cluster enforces NetworkPolicies (on GKE: Dataplane V2, or Calico's network
    /// policy). Default: yes.
    fn enforces_network_policy(&self, cluster: &str) -> bool {
        let _ = cluster;
        true
    }
    /// CSI drivers the cluster's add-ons register (`CSIDriver` objects): the PD driver always,
    /// Filestore and GCS FUSE when their add-ons are enabled. Default: all three.
    fn csi_drivers(&self, cluster: &str) -> Vec<String> {
        let _ = cluster;
        vec!["pd.csi.storage.gke.io".into(), "filestore.csi.storage.gke.io".into(), "gcsfuse.csi.storage.gke.io".into()]
    }
}

/// What [`Clusters::connect`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: String,
}

/// One GKE node pool, as the Kubernetes side needs to know it for scheduling.
#[derive(Debug, Clone)]
pub struct NodePoolInfo {
    pub name: String,
    pub machine_type: String,
    /// e.g. `nvidia-tesla-t4`, with the count per node.
    pub accelerator: Option<(String, u32)>,
    pub node_count: u32,
    pub max_node_count: u32,
    /// Node labels the pool configures. GKE-managed GPU drivers show as
    /// `cloud.google.com/gke-gpu-driver-version: default|latest`: without it (or the driver
    /// installer DaemonSet) GPU nodes advertise no allocatable GPUs, as on GKE.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `key=value:Effect` as in `kubectl taint`.
    pub taints: Vec<String>,
    /// Nodes without an external IP (`enablePrivateNodes`): their addresses list no ExternalIP.
    pub private_nodes: bool,
    /// How the pool's nodes get the WebUI image (the cold-start model).
    pub image_pull: coldstart::ImagePull,
}

#[derive(Debug, Clone)]
pub struct LoadBalancerRequest {
    pub namespace: String,
    pub ingress: String,
    /// `kubernetes.io/ingress.global-static-ip-name`, if any.
    pub static_ip_name: Option<String>,
    /// Backend Services (namespace/name:port) the Ingress routes to.
    pub backends: Vec<String>,
    /// IAP enabled on the backend (from a BackendConfig).
    pub iap: bool,
    /// The OAuth client id of the BackendConfig's credentials Secret; empty: Google-managed.
    pub iap_client_id: String,
}

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub ip: String,
    pub backend_services: Vec<String>,
}

/// Where a started cluster's API server listens, as GKE's cluster resource reports it.
#[derive(Debug, Clone)]
pub struct ClusterEndpoint {
    /// `127.0.0.1:PORT` (GKE reports an IP; clients connect to `https://ENDPOINT`).
    pub endpoint: String,
    /// PEM of the cluster CA (GKE reports it base64-encoded in `masterAuth.clusterCaCertificate`).
    pub ca_pem: String,
}

/// The token every kubeconfig from [`Clusters::kubeconfig`] carries (any non-empty one works).
pub const TOKEN: &str = "sdctl-emulator-token";

/// The set of running per-cluster API servers.
pub struct Clusters {
    host: Arc<dyn Host>,
    running: Mutex<BTreeMap<String, Arc<Cluster>>>,
}

impl Clusters {
    pub fn new(host: Arc<dyn Host>) -> Self {
        Self { host, running: Mutex::new(BTreeMap::new()) }
    }

    fn running(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Cluster>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, name: &str) -> Option<Arc<Cluster>> {
        self.running().get(name).cloned()
    }

    /// Start serving the Kubernetes API of cluster `name` (short name) running Kubernetes `version`
    /// (e.g. `1.35.3-gke.200`). Idempotent: a running cluster keeps its endpoint and CA.
    pub async fn start(&self, name: &str, version: &str) -> anyhow::Result<ClusterEndpoint> {
        if let Some(c) = self.get(name) {
            return Ok(ClusterEndpoint { endpoint: c.endpoint.clone(), ca_pem: c.ca_pem.clone() });
        }
        let started = Cluster::start(name, version, self.host.clone()).await?;
        let mut running = self.running();
        let c = running.entry(name.to_string()).or_insert_with(|| started.clone()).clone();
        if !Arc::ptr_eq(&c, &started) {
            started.stop();
        }
        Ok(ClusterEndpoint { endpoint: c.endpoint.clone(), ca_pem: c.ca_pem.clone() })
    }

    /// Stop serving the cluster and forget its objects (the cluster was deleted).
    pub async fn stop(&self, name: &str) {
        let c = self.running().remove(name);
        if let Some(c) = c {
            c.stop();
        }
    }

    /// The endpoint and CA of a running cluster.
    pub fn endpoint(&self, name: &str) -> Option<ClusterEndpoint> {
        self.get(name).map(|c| ClusterEndpoint { endpoint: c.endpoint.clone(), ca_pem: c.ca_pem.clone() })
    }

    /// Every live Kubernetes object of every cluster, in the `/_emulator/state` shape:
    /// `{"service":"k8s","cluster","namespace","kind","name","state","labels"}`.
    pub fn state(&self) -> Vec<serde_json::Value> {
        let clusters: Vec<Arc<Cluster>> = self.running().values().cloned().collect();
        let mut out = Vec::new();
        for c in clusters {
            let st = c.lock();
            for gr in st.resources() {
                for o in st.list(&gr, None) {
                    out.push(json!({
                        "service": "k8s",
                        "cluster": c.name,
                        "namespace": meta::namespace(&o),
                        "kind": meta::kind(&o),
                        "name": meta::name(&o),
                        "state": state_word(&o),
                        "labels": meta::labels(&o),
                    }));
                }
            }
        }
        out
    }

    /// A kubeconfig for cluster `name` with server, CA and a static token.
    pub fn kubeconfig(&self, name: &str) -> Option<String> {
        let c = self.get(name)?;
        let ca = base64::engine::general_purpose::STANDARD.encode(c.ca_pem.as_bytes());
        Some(format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: https://{endpoint}\n    certificate-authority-data: {ca}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user:\n    token: {TOKEN}\npreferences: {{}}\n",
            endpoint = c.endpoint
        ))
    }

    /// Stop every cluster (`POST /_emulator/reset`).
    pub async fn reset(&self) {
        let all: Vec<Arc<Cluster>> = std::mem::take(&mut *self.running()).into_values().collect();
        for c in all {
            c.stop();
        }
    }

    /// The Agones SDK's `Ready()` for GameServer `namespace/name` (what the sidecar does when
    /// the scenario has `gameServerReadyBySidecar: true`). Tests may also PATCH
    /// `status.state: RequestReady`, as the SDK server does.
    pub fn sdk_ready(&self, cluster: &str, namespace: &str, name: &str) -> anyhow::Result<()> {
        let c = self.get(cluster).ok_or_else(|| anyhow::anyhow!("cluster {cluster:?} is not running"))?;
        {
            let mut st = c.lock();
            agones::sdk_ready(&mut st, namespace, name).map_err(|e| anyhow::anyhow!(e))?;
        }
        c.wake.notify_one();
        Ok(())
    }

    /// Would a connection from `from` to `to` on `port`/`protocol` pass the cluster's
    /// NetworkPolicies? Each end is `namespace/pod` or an IP address (see [`netpol`]).
    pub fn connect(&self, cluster: &str, from: &str, to: &str, port: u16, protocol: &str) -> anyhow::Result<Verdict> {
        let c = self.get(cluster).ok_or_else(|| anyhow::anyhow!("cluster {cluster:?} is not running"))?;
        let st = c.lock();
        let from = netpol::Peer::parse(&st, from).map_err(|e| anyhow::anyhow!(e))?;
        let to = netpol::Peer::parse(&st, to).map_err(|e| anyhow::anyhow!(e))?;
        if !c.host.enforces_network_policy(cluster) {
            return Ok(Verdict { allowed: true, reason: "the cluster does not enforce NetworkPolicies".into() });
        }
        Ok(match netpol::connect(&st, &from, &to, port, protocol) {
            Ok(()) => Verdict { allowed: true, reason: "allowed by the NetworkPolicies".into() },
            Err(reason) => Verdict { allowed: false, reason },
        })
    }

    /// Compute Engine preempts a spot node: kubelet's graceful node shutdown ends its pods
    /// (phase Failed, reason Terminated, their containers terminated, as GKE documents for
    /// preempted nodes), and the node leaves the cluster. Returns the node's pool (the Google
    /// side shrinks it in `shrink`, called under the cluster's lock so that the node controller
    /// sees both at once: the emulator's managed instance group does not recreate the VM).
    pub fn preempt(
        &self,
        cluster: &str,
        node: &str,
        shrink: impl FnOnce(&str) -> Result<(), String>,
    ) -> anyhow::Result<String> {
        let c = self.get(cluster).ok_or_else(|| anyhow::anyhow!("cluster {cluster:?} is not running"))?;
        let pool = {
            let mut st = c.lock();
            let n = st.get("nodes", "", node).ok_or_else(|| anyhow::anyhow!("no node {node:?} in {cluster}"))?;
            let pool = meta::labels(&n).get("cloud.google.com/gke-nodepool").cloned().unwrap_or_default();
            shrink(&pool).map_err(|e| anyhow::anyhow!(e))?;
            for pod in controllers::nodes::pods_on(&st, node) {
                let mut ended = (*pod).clone();
                let status = meta::child_mut(&mut ended, "status");
                status["phase"] = json!("Failed");
                status["reason"] = json!("Terminated");
                status["message"] = json!("Pod was terminated in response to imminent node shutdown.");
                if let Some(cs) = status.get_mut("containerStatuses").and_then(Value::as_array_mut) {
                    for c in cs {
                        c["ready"] = json!(false);
                        c["state"] = json!({"terminated": {"exitCode": 143, "reason": "Error"}});
                    }
                }
                let _ = controllers::put(&mut st, ended, "kubelet");
            }
            controllers::delete(&mut st, &n);
            pool
        };
        c.wake.notify_one();
        Ok(pool)
    }

    /// Tell a cluster its node pools changed (the Google side resized, created or deleted one),
    /// so nodes follow at once instead of at the next periodic check.
    pub fn node_pools_changed(&self, cluster: &str) {
        if let Some(c) = self.get(cluster) {
            c.wake.notify_one();
        }
    }
}

/// A short readiness word for `/_emulator/state`.
pub fn state_word(o: &Value) -> String {
    if meta::is_deleting(o) {
        return "Terminating".into();
    }
    let s = |p: &str| meta::str_at(o, p).map(String::from);
    let int = |p: &str| meta::int_at(o, p).unwrap_or(0);
    let word = match meta::kind(o) {
        "GameServer" => s("/status/state"),
        "Deployment" | "StatefulSet" | "ReplicaSet" => Some(
            if int("/status/availableReplicas") >= int("/spec/replicas").max(1)
                || int("/spec/replicas") == 0 && o.get("status").is_some()
            {
                "Available"
            } else {
                "Progressing"
            }
            .into(),
        ),
        "DaemonSet" => Some(
            if int("/status/numberAvailable") >= int("/status/desiredNumberScheduled") && o.get("status").is_some() {
                "Available"
            } else {
                "Progressing"
            }
            .into(),
        ),
        "Job" => Some(
            if meta::condition_true(o, "Complete") {
                "Complete"
            } else if meta::condition_true(o, "Failed") {
                "Failed"
            } else {
                "Running"
            }
            .into(),
        ),
        "PersistentVolume" | "PersistentVolumeClaim" | "Pod" | "Namespace" => s("/status/phase"),
        "CustomResourceDefinition" => {
            Some(if meta::condition_true(o, "Established") { "Established" } else { "Pending" }.into())
        }
        "APIService" => Some(if meta::condition_true(o, "Available") { "Available" } else { "Unavailable" }.into()),
        "Node" => Some(if meta::condition_true(o, "Ready") { "Ready" } else { "NotReady" }.into()),
        "Ingress" => {
            Some(if o.pointer("/status/loadBalancer/ingress/0/ip").is_some() { "Ready" } else { "Pending" }.into())
        }
        "ManagedCertificate" => s("/status/certificateStatus").or(Some("Provisioning".into())),
        "Fleet" | "GameServerSet" => Some(
            if int("/status/readyReplicas") + int("/status/allocatedReplicas") >= int("/spec/replicas")
                && o.get("status").is_some()
            {
                "Ready"
            } else {
                "Pending"
            }
            .into(),
        ),
        "FleetAutoscaler" => Some(
            if o.pointer("/status/ableToScale").and_then(Value::as_bool) == Some(true) { "Active" } else { "Pending" }
                .into(),
        ),
        _ => None,
    };
    word.unwrap_or_else(|| "Active".into())
}
