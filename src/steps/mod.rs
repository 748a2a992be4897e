//! The concrete steps of the graph, one small module each, and the graph built from a config.
//!
//! Step ids are a contract (design.md). Which steps exist depends on the config: `drivers` only
//! with `gpu.driver: daemonset`.

mod address;
mod apis;
mod cluster;
mod common;
mod env;
mod gpu_pool;
mod iam;
mod network;
mod not_built;
mod redis;
mod registry;
mod storage;
pub mod sweep;

use std::sync::Arc;

pub use apis::needed as needed_apis;
pub use cluster::{cluster_path, location_path};
pub use common::absent_if_not_found;
pub use env::{Env, Outputs, RunOptions};
pub use storage::bucket_name;

use crate::config::{Config, GpuDriver};
use crate::plan::{DynStep, Graph, GraphError, StepId};

pub const APIS: StepId = StepId("apis");
pub const NETWORK: StepId = StepId("network");
pub const CLUSTER: StepId = StepId("cluster");
pub const GPU_POOL: StepId = StepId("gpu-pool");
pub const DRIVERS: StepId = StepId("drivers");
pub const STORAGE: StepId = StepId("storage");
pub const REDIS: StepId = StepId("redis");
pub const REGISTRY: StepId = StepId("registry");
pub const ADDRESS: StepId = StepId("address");
pub const IMAGES: StepId = StepId("images");
pub const AGONES: StepId = StepId("agones");
pub const VOLUMES: StepId = StepId("volumes");
pub const FLEET: StepId = StepId("fleet");
pub const ROUTER: StepId = StepId("router");
pub const RECLAIM: StepId = StepId("reclaim");
pub const INGRESS: StepId = StepId("ingress");

/// Every step of this configuration, with its dependencies.
pub fn graph(config: &Config) -> Result<Graph<Env>, GraphError> {
    let daemonset = config.gpu.driver == GpuDriver::Daemonset;
    let mut fleet_deps = vec![AGONES, VOLUMES, IMAGES, GPU_POOL];
    if daemonset {
        fleet_deps.push(DRIVERS);
    }
    let mut steps: Vec<Arc<dyn DynStep<Env>>> = vec![
        Arc::new(apis::Apis),
        Arc::new(network::Network),
        Arc::new(cluster::GkeCluster),
        Arc::new(gpu_pool::GpuPool),
        Arc::new(storage::SharedStorage),
        Arc::new(redis::Redis),
        Arc::new(registry::Registry),
        Arc::new(address::StaticAddress),
        not_built::step(IMAGES, vec![REGISTRY], |_| "WebUI and runtime images (Cloud Build)".to_string()),
        not_built::step(AGONES, vec![CLUSTER], |_| "Agones in agones-system".to_string()),
        not_built::step(VOLUMES, vec![CLUSTER, STORAGE], |_| {
            "shared volume and claim for models and outputs".to_string()
        }),
        not_built::step(FLEET, fleet_deps, |e| {
            format!("WebUI Fleet and buffer autoscaler in namespace {}", e.config.runtime.namespace)
        }),
        not_built::step(ROUTER, vec![AGONES, REDIS, IMAGES], |_| "per-user router Deployment and Service".to_string()),
        not_built::step(RECLAIM, vec![AGONES, REDIS, IMAGES], |e| {
            format!("idle reclaim CronJob ({} minutes)", e.config.runtime.idle_minutes)
        }),
        not_built::step(INGRESS, vec![ROUTER, ADDRESS], |e| {
            format!(
                "IAP ingress and managed certificate for {}",
                e.config.access.domain.clone().unwrap_or_else(|| "<static-ip>.sslip.io".into())
            )
        }),
    ];
    if daemonset {
        steps.insert(
            4,
            not_built::step(DRIVERS, vec![GPU_POOL], |e| {
                format!(
                    "NVIDIA driver installer DaemonSet ({} driver)",
                    if e.config.gpu.kind == crate::config::GpuKind::L4 { "latest" } else { "default" }
                )
            }),
        );
    }
    Graph::new(steps)
}
