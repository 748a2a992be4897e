//! The Google side as the Kubernetes side sees it ([`k8s::Host`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::app::App;
use crate::google::{compute, container};
use crate::k8s::{DiskRequest, Host, LoadBalancer, LoadBalancerRequest, NodePoolInfo};
use crate::scenario::Scenario;

/// Holds the app weakly: the app owns the Kubernetes side, which owns this host.
pub struct GoogleHost {
    app: Weak<App>,
}

impl GoogleHost {
    pub fn new(app: Weak<App>) -> Self {
        Self { app }
    }

    fn app(&self) -> Option<Arc<App>> {
        self.app.upgrade()
    }
}

impl Host for GoogleHost {
    fn scaled(&self, simulated: Duration) -> Duration {
        match self.app() {
            Some(app) => app.clock.scaled(simulated),
            None => simulated,
        }
    }

    fn scenario(&self) -> Arc<Scenario> {
        match self.app() {
            Some(app) => app.scenario(),
            None => Arc::new(Scenario::default()),
        }
    }

    fn log_request(&self, entry: serde_json::Value) {
        if let Some(app) = self.app() {
            app.log.push(entry);
        }
    }

    fn scale_up(&self, cluster: &str, pool: &str, nodes: u32) -> BoxFuture<'static, Result<Vec<String>, String>> {
        match self.app() {
            Some(app) => container::scale_up(app, cluster.to_string(), pool.to_string(), nodes).boxed(),
            None => futures::future::ready(Err("the emulator is shutting down".to_string())).boxed(),
        }
    }

    fn node_pools(&self, cluster: &str) -> Vec<NodePoolInfo> {
        match self.app() {
            Some(app) => container::node_pools_info(&app.world(), cluster),
            None => Vec::new(),
        }
    }

    fn create_load_balancer(&self, cluster: &str, ingress: &LoadBalancerRequest) -> LoadBalancer {
        match self.app() {
            Some(app) => compute::lb::create(&app, cluster, ingress),
            None => LoadBalancer { ip: String::new(), backend_services: Vec::new() },
        }
    }

    fn sync_iap(&self, cluster: &str, namespace: &str, ingress: &str, client_id: &str) -> Result<(), String> {
        match self.app() {
            Some(app) => compute::lb::sync_iap(&app, cluster, namespace, ingress, client_id),
            None => Ok(()),
        }
    }

    fn enforces_network_policy(&self, cluster: &str) -> bool {
        self.app().is_some_and(|app| container::enforces_network_policy(&app.world(), cluster))
    }

    fn create_disk(&self, cluster: &str, disk: &DiskRequest) -> Result<String, String> {
        match self.app() {
            Some(app) => compute::csi::create_disk(&app, cluster, disk),
            None => Err("the emulator is shutting down".to_string()),
        }
    }

    fn delete_disk(&self, handle: &str) {
        if let Some(app) = self.app() {
            compute::csi::delete_disk(&app, handle);
        }
    }

    fn delete_load_balancer(&self, cluster: &str, namespace: &str, ingress: &str) {
        if let Some(app) = self.app() {
            compute::lb::delete(&app, cluster, namespace, ingress);
        }
    }
}
