//! The concrete steps of the graph, one small module each, and the graph built from a config.
//!
//! Step ids are a contract (design.md). Which steps exist depends on the config: `drivers` only
//! with `gpu.driver: daemonset`.

mod env;
mod not_built;

use std::sync::Arc;

pub use env::{Env, Outputs, RunOptions};

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
        not_built::step(APIS, vec![], |e| format!("enable the Google APIs of project {}", e.config.project)),
        not_built::step(NETWORK, vec![APIS], |e| {
            format!(
                "firewall rules{} in network {}",
                if e.config.cluster.private { ", Cloud Router and NAT" } else { "" },
                e.config.cluster.network
            )
        }),
        not_built::step(CLUSTER, vec![APIS, NETWORK], |e| {
            format!("GKE cluster {} in {} with its system node pool", e.names.cluster(), e.config.cluster_location())
        }),
        not_built::step(GPU_POOL, vec![CLUSTER], |e| {
            format!(
                "GPU node pool {} ({} x {} on {})",
                e.names.gpu_pool(),
                e.config.gpu.count,
                e.config.gpu.kind.accelerator(),
                e.config.gpu.machine_type
            )
        }),
        not_built::step(STORAGE, vec![APIS, NETWORK], |e| match &e.config.storage {
            crate::config::Storage::Filestore(f) => {
                format!("Filestore instance {} ({}, {} GiB)", e.names.filestore(), f.tier.name(), f.capacity_gb)
            }
            crate::config::Storage::Gcs(g) => {
                format!("Cloud Storage bucket {}", g.bucket.clone().unwrap_or_else(|| e.names.models_bucket()))
            }
        }),
        not_built::step(REDIS, vec![APIS, NETWORK], |e| format!("Memorystore Redis instance {}", e.names.redis())),
        not_built::step(REGISTRY, vec![APIS], |e| format!("Artifact Registry repository {}", e.names.repository())),
        not_built::step(ADDRESS, vec![APIS], |e| format!("global static IP {}", e.names.address())),
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
