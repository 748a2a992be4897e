//! One running cluster: its store, its HTTPS listener and its controllers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::store::Store;
use super::{Host, controllers, http, seed, tls};

/// Simulated durations of the cluster's own machinery (before `--speed`). Each can be
/// overridden by the scenario's `latency` map under the key shown.
#[derive(Debug, Clone, Copy)]
pub enum Delay {
    /// `k8s.crd.establish`: a new CRD is served.
    CrdEstablish,
    /// `k8s.deployment.available`: pods of a Deployment/DaemonSet/StatefulSet become ready.
    WorkloadReady,
    /// `k8s.job.complete`.
    JobComplete,
    /// `k8s.pvc.bind`.
    PvcBind,
    /// `k8s.ingress.address`: GKE's Ingress controller provisions the load balancer.
    IngressAddress,
    /// `k8s.certificate.provision`: a ManagedCertificate becomes Active.
    CertificateProvision,
    /// `k8s.gameserver.start`: a scheduled GameServer pod's containers start.
    GameServerStart,
    /// `k8s.autoscaler.backoff`: the cluster autoscaler waits before retrying a failed scale-up.
    ScaleUpBackoff,
    /// `k8s.fleetautoscaler.sync`: default FleetAutoscaler sync interval.
    FleetAutoscalerSync,
}

impl Delay {
    fn key_and_default(self) -> (&'static str, f64) {
        match self {
            Delay::CrdEstablish => ("k8s.crd.establish", 2.0),
            Delay::WorkloadReady => ("k8s.deployment.available", 30.0),
            Delay::JobComplete => ("k8s.job.complete", 30.0),
            Delay::PvcBind => ("k8s.pvc.bind", 2.0),
            Delay::IngressAddress => ("k8s.ingress.address", 120.0),
            Delay::CertificateProvision => ("k8s.certificate.provision", 1200.0),
            Delay::GameServerStart => ("k8s.gameserver.start", 45.0),
            Delay::ScaleUpBackoff => ("k8s.autoscaler.backoff", 300.0),
            Delay::FleetAutoscalerSync => ("k8s.fleetautoscaler.sync", 30.0),
        }
    }
}

/// The state every request handler and controller of one cluster shares.
pub struct Cluster {
    pub name: String,
    /// GKE version, e.g. `1.35.3-gke.200`.
    pub version: String,
    pub host: Arc<dyn Host>,
    store: Mutex<Store>,
    /// Wakes the controllers after a write.
    pub wake: Notify,
    pub endpoint: String,
    pub ca_pem: String,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Which of the scenario's stand-in WebUIs each GPU node's WebUI pods answer at (its
    /// position in `gameServerEndpoints`), kept once given.
    pub stand_ins: Mutex<std::collections::BTreeMap<String, usize>>,
}

impl Cluster {
    /// Generate the CA, bind a port, seed the objects GKE creates, start serving and the controllers.
    pub async fn start(name: &str, version: &str, host: Arc<dyn Host>) -> anyhow::Result<Arc<Self>> {
        let tls = tls::ClusterTls::generate(name)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = listener.local_addr()?.to_string();
        let cluster = Arc::new(Cluster {
            name: name.to_string(),
            version: version.to_string(),
            host,
            store: Mutex::new(Store::new()),
            wake: Notify::new(),
            endpoint,
            ca_pem: tls.ca_pem,
            tasks: Mutex::new(Vec::new()),
            stand_ins: Mutex::new(Default::default()),
        });
        {
            let mut st = cluster.lock();
            seed::seed(&cluster, &mut st);
        }
        let server = tokio::spawn(http::serve(cluster.clone(), listener, tls.server));
        let ctl = tokio::spawn(controllers::run(Arc::downgrade(&cluster)));
        cluster.tasks_lock().extend([server, ctl]);
        Ok(cluster)
    }

    /// Stop the listener, every open connection and the controllers.
    pub fn stop(&self) {
        for t in self.tasks_lock().drain(..) {
            t.abort();
        }
    }

    /// Track a task that must end with the cluster (scale-ups in flight).
    pub fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(fut);
        let mut tasks = self.tasks_lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// The store, locked. Never held across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves a store nobody can trust; serving on is pointless.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tasks_lock(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A simulated delay scaled by `--speed`, honouring scenario overrides.
    pub fn delay(&self, d: Delay) -> Duration {
        let (key, default) = d.key_and_default();
        let secs = self.host.scenario().latency.get(key).copied().unwrap_or(default);
        self.host.scaled(Duration::from_secs_f64(secs.max(0.0)))
    }

    /// Append a request-log entry.
    pub fn log(&self, mut entry: Value) {
        entry["cluster"] = Value::String(self.name.clone());
        self.host.log_request(entry);
    }

    /// `1.35` from `1.35.3-gke.200`.
    pub fn minor(&self) -> String {
        self.version.split('.').nth(1).unwrap_or("35").to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
