//! The concrete steps of the graph, one small module each, and the graph built from a config.
//!
//! Step ids are a contract (design.md). Which steps exist depends on the config: `drivers` only
//! with `gpu.driver: daemonset`, `image-cache` only with `gpu.imageCache: true`, `okg` instead of
//! `agones` with `runtime.kind: okg`.

mod address;
mod agones;
mod apis;
mod cluster;
mod common;
pub mod compute_class;
mod drivers;
mod env;
mod fleet;
mod gpu_pool;
pub mod iam;
pub mod image_cache;
mod images;
mod ingress;
pub mod instances;
mod kube_step;
mod network;
mod okg;
pub mod ranges;
mod reclaim;
mod redis;
mod registry;
mod router;
mod storage;
pub mod sweep;
pub mod user_disks;
mod values;
mod volumes;

use std::sync::Arc;

pub use apis::needed as needed_apis;
pub use cluster::{cluster_path, connect_if_running, enforces_network_policy, location_path};
pub use common::absent_if_not_found;
pub use env::{Env, Outputs, RunOptions};
pub use gpu_pool::is_gpu_pool;
pub use image_cache::ensure as ensure_image_cache;
pub use kube_step::{stranded_users, what_yes_does};
pub use storage::bucket_name;

use crate::config::{Config, GpuDriver, RuntimeKind};
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
pub const IMAGE_CACHE: StepId = StepId("image-cache");
pub const OKG: StepId = StepId("okg");

fn kube<M: kube_step::Manifest>(id: StepId, deps: Vec<StepId>, manifest: M) -> Arc<dyn DynStep<Env>> {
    Arc::new(kube_step::KubeStep::new(id, deps, manifest))
}

/// Every step of this configuration, with its dependencies.
pub fn graph(config: &Config) -> Result<Graph<Env>, GraphError> {
    let daemonset = config.gpu.driver == GpuDriver::Daemonset;
    // The step that installs the GameServer runtime (and makes the WebUIs' namespace).
    let runtime = match config.runtime.kind {
        RuntimeKind::Agones => AGONES,
        RuntimeKind::Okg => OKG,
    };
    let mut fleet_deps = vec![runtime, VOLUMES, IMAGES, GPU_POOL];
    if daemonset {
        fleet_deps.push(DRIVERS);
    }
    let (install, fleet, router, reclaim) = match config.runtime.kind {
        RuntimeKind::Agones => (
            kube(AGONES, vec![CLUSTER], agones::Agones::default()),
            kube(FLEET, fleet_deps, fleet::Fleet::default()),
            kube(ROUTER, vec![AGONES, REDIS, IMAGES], router::Router),
            kube(RECLAIM, vec![AGONES, REDIS, IMAGES], reclaim::Reclaim),
        ),
        RuntimeKind::Okg => (
            kube(OKG, vec![CLUSTER], okg::Okg::default()),
            kube(FLEET, fleet_deps, instances::Instances),
            kube(ROUTER, vec![OKG, REDIS, IMAGES], router::Router),
            kube(RECLAIM, vec![OKG, REDIS, IMAGES], reclaim::Reclaim),
        ),
    };
    let mut steps: Vec<Arc<dyn DynStep<Env>>> = vec![
        Arc::new(apis::Apis),
        Arc::new(network::Network),
        Arc::new(cluster::GkeCluster),
        Arc::new(gpu_pool::GpuPool { image_cache: config.gpu.image_cache }),
        Arc::new(storage::SharedStorage),
        Arc::new(redis::Redis),
        Arc::new(registry::Registry),
        Arc::new(address::StaticAddress),
        Arc::new(images::Images),
        install,
        // The runtime step makes the namespace the claim (and the GameServers) live in.
        kube(VOLUMES, vec![runtime, STORAGE], volumes::Volumes),
        fleet,
        router,
        reclaim,
        kube(INGRESS, vec![ROUTER, ADDRESS], ingress::Ingress),
    ];
    if daemonset {
        steps.insert(4, kube(DRIVERS, vec![GPU_POOL], drivers::Drivers));
    }
    if config.gpu.image_cache {
        steps.push(Arc::new(image_cache::ImageCache));
    }
    Graph::new(steps)
}
