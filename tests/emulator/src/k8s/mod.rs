//! The Kubernetes API of every RUNNING emulated GKE cluster, served over HTTPS with a CA of its own.
//!
//! The Google side (`container` service) calls [`Clusters::start`] when a cluster becomes RUNNING
//! and [`Clusters::stop`] when it is deleted. Everything the Kubernetes side needs from the Google
//! side (scenario, time scale, request log, node pools, load-balancer pieces) goes through [`Host`].
//!
//! Interface rule: methods may be added to [`Host`] only with a default implementation, so the
//! Google side keeps compiling.

use std::sync::Arc;
use std::time::Duration;

use crate::scenario::Scenario;

/// What the Kubernetes side asks of the rest of the emulator.
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
    pub labels: std::collections::BTreeMap<String, String>,
    /// `key=value:Effect` as in `kubectl taint`.
    pub taints: Vec<String>,
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

/// The set of running per-cluster API servers.
pub struct Clusters {
    #[allow(dead_code)]
    host: Arc<dyn Host>,
}

impl Clusters {
    pub fn new(host: Arc<dyn Host>) -> Self {
        Self { host }
    }

    /// Start serving the Kubernetes API of cluster `name` (short name) running Kubernetes `version`
    /// (e.g. `1.35.3-gke.200`). Idempotent: a running cluster keeps its endpoint and CA.
    pub async fn start(&self, name: &str, version: &str) -> anyhow::Result<ClusterEndpoint> {
        let _ = (name, version);
        anyhow::bail!("the Kubernetes API emulation is not built yet")
    }

    /// Stop serving the cluster and forget its objects (the cluster was deleted).
    pub async fn stop(&self, name: &str) {
        let _ = name;
    }

    /// Every live Kubernetes object of every cluster, in the `/_emulator/state` shape:
    /// `{"service":"k8s","cluster","namespace","kind","name","state","labels"}`.
    pub fn state(&self) -> Vec<serde_json::Value> {
        Vec::new()
    }

    /// A kubeconfig for cluster `name` with server, CA and a static token.
    pub fn kubeconfig(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Stop every cluster (`POST /_emulator/reset`).
    pub async fn reset(&self) {}
}
