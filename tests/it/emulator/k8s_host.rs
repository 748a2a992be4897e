//! A test `Host` for the emulator's Kubernetes side, and helpers to start a cluster and talk
//! to it with kube-rs the way sdctl does (kubeconfig: server, CA, token).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use sdctl_emulator::k8s::{Clusters, Host, LoadBalancer, LoadBalancerRequest, NodePoolInfo};
use sdctl_emulator::scenario::Scenario;
use serde_json::{Value, json};

/// Records what the Kubernetes side asked of "Google".
pub struct TestHost {
    pub speed: f64,
    pub scenario: Mutex<Arc<Scenario>>,
    pub log: Mutex<Vec<Value>>,
    pub pools: Arc<Mutex<Vec<NodePoolInfo>>>,
    pub scale_ups: Mutex<Vec<(String, String, u32)>>,
    pub load_balancers: Mutex<Vec<LoadBalancerRequest>>,
    pub deleted_load_balancers: Mutex<Vec<(String, String)>>,
    /// A scale-up fails with this reason (GKE's words) instead of adding nodes.
    pub scale_up_error: Mutex<Option<String>>,
    /// How long after the pool's node count grows the scale-up's outcome arrives (a window in
    /// which the Kubernetes side sees the bigger pool but not yet the new nodes' names).
    pub outcome_lag: Mutex<Duration>,
}

impl TestHost {
    pub fn new(speed: f64) -> Arc<Self> {
        Arc::new(Self {
            speed,
            scenario: Mutex::new(Arc::new(Scenario::default())),
            log: Mutex::new(Vec::new()),
            pools: Arc::new(Mutex::new(vec![pool("default-pool", "e2-standard-4", None, 1, 1)])),
            scale_ups: Mutex::new(Vec::new()),
            load_balancers: Mutex::new(Vec::new()),
            deleted_load_balancers: Mutex::new(Vec::new()),
            scale_up_error: Mutex::new(None),
            outcome_lag: Mutex::new(Duration::ZERO),
        })
    }

    pub fn set_scenario(&self, s: Scenario) {
        *self.scenario.lock().unwrap() = Arc::new(s);
    }

    /// Logged requests matching `method` and a path containing `path`.
    pub fn requests(&self, method: &str, path: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == method && e["path"].as_str().unwrap_or("").contains(path))
            .cloned()
            .collect()
    }
}

pub fn pool(name: &str, machine: &str, gpu: Option<(&str, u32)>, nodes: u32, max: u32) -> NodePoolInfo {
    let mut labels = std::collections::BTreeMap::new();
    if gpu.is_some() {
        labels.insert("cloud.google.com/gke-gpu-driver-version".to_string(), "latest".to_string());
    }
    NodePoolInfo {
        name: name.into(),
        machine_type: machine.into(),
        accelerator: gpu.map(|(t, n)| (t.to_string(), n)),
        node_count: nodes,
        max_node_count: max,
        labels,
        taints: Vec::new(),
        private_nodes: false,
        image_pull: sdctl_emulator::k8s::coldstart::ImagePull::Registry,
    }
}

impl Host for TestHost {
    fn scaled(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speed)
    }

    fn scenario(&self) -> Arc<Scenario> {
        self.scenario.lock().unwrap().clone()
    }

    fn log_request(&self, entry: Value) {
        self.log.lock().unwrap().push(entry);
    }

    fn scale_up(&self, cluster: &str, pool: &str, nodes: u32) -> BoxFuture<'static, Result<Vec<String>, String>> {
        self.scale_ups.lock().unwrap().push((cluster.into(), pool.into(), nodes));
        let error = self.scale_up_error.lock().unwrap().clone();
        let delay = self.scaled(Duration::from_secs(180));
        let lag = *self.outcome_lag.lock().unwrap();
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let names: Vec<String> = (0..nodes)
            .map(|_| format!("gke-{cluster}-{pool}-{:04}", SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
            .collect();
        let this_pool = pool.to_string();
        let pools = self.pools.clone();
        async move {
            tokio::time::sleep(delay).await;
            if let Some(e) = error {
                return Err(e);
            }
            // As GKE does: the pool's node count grows with the new nodes.
            if let Some(p) = pools.lock().unwrap().iter_mut().find(|p| p.name == this_pool) {
                p.node_count += nodes;
            }
            tokio::time::sleep(lag).await;
            Ok(names)
        }
        .boxed()
    }

    fn node_pools(&self, _cluster: &str) -> Vec<NodePoolInfo> {
        self.pools.lock().unwrap().clone()
    }

    fn create_load_balancer(&self, _cluster: &str, ingress: &LoadBalancerRequest) -> LoadBalancer {
        self.load_balancers.lock().unwrap().push(ingress.clone());
        LoadBalancer {
            ip: "34.120.1.2".into(),
            backend_services: vec![format!("k8s1-{}-{}-bs", ingress.namespace, ingress.ingress)],
        }
    }

    fn delete_load_balancer(&self, _cluster: &str, namespace: &str, ingress: &str) {
        self.deleted_load_balancers.lock().unwrap().push((namespace.into(), ingress.into()));
    }

    fn node_locations(&self, _cluster: &str) -> Vec<String> {
        vec!["us-central1-a".into()]
    }
}

/// A started cluster and a kube-rs client for it.
pub struct TestCluster {
    pub host: Arc<TestHost>,
    pub clusters: Clusters,
    pub client: Client,
    pub kubeconfig: String,
}

impl TestCluster {
    pub async fn start(speed: f64) -> Self {
        Self::start_with(TestHost::new(speed)).await
    }

    pub async fn start_with(host: Arc<TestHost>) -> Self {
        let clusters = Clusters::new(host.clone());
        clusters.start("c1", "1.35.3-gke.200").await.expect("cluster starts");
        let kubeconfig = clusters.kubeconfig("c1").expect("kubeconfig");
        let client = client_from(&kubeconfig).await;
        Self { host, clusters, client, kubeconfig }
    }

    pub fn state(&self) -> Vec<Value> {
        self.clusters.state()
    }

    /// The `/_emulator/state` entry of one object.
    pub fn entry(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.state().into_iter().find(|e| e["kind"] == kind && e["namespace"] == namespace && e["name"] == name)
    }
}

pub async fn client_from(kubeconfig: &str) -> Client {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

/// Poll `f` until it returns `Some`, failing the test after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub use crate::support::upstream::upstream_dir;

pub fn agones_install_yaml() -> String {
    let path = upstream_dir().join("agones-1.60.0/install.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A minimal namespace object.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}
