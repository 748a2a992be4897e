//! `gpu-pool`: the autoscaled GPU node pool. Only WebUI pods land there (taint + label + network
//! tag), GKE installs the driver (unless `gpu.driver: daemonset`), and it scales between the
//! configured totals across its zones, from zero when nobody works.

use async_trait::async_trait;
use google_cloud_container_v1::model::gpu_driver_installation_config::GPUDriverVersion;
use google_cloud_container_v1::model::node_pool::{Status, UpgradeSettings};
use google_cloud_container_v1::model::node_pool_autoscaling::LocationPolicy;
use google_cloud_container_v1::model::node_taint::Effect;
use google_cloud_container_v1::model::*;

use super::cluster::{base_node_config, cluster_path, location_path};
use super::common::{absent_if_not_found, patience};
use super::{CLUSTER, Env, GPU_POOL, IMAGE_CACHE};
use crate::config::{GpuDriver, Storage};
use crate::gcp::ops;
use crate::gcp::retry::{self, RetryPolicy};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

/// Taint that keeps everything but WebUI pods off GPU nodes.
pub const GPU_TAINT_KEY: &str = "sdctl.dev/gpu";

pub struct GpuPool {
    /// `gpu.imageCache`: nodes get the `image-cache` step's image as a secondary boot disk.
    pub image_cache: bool,
}

fn pool_path(env: &Env) -> String {
    format!("{}/nodePools/{}", cluster_path(env), env.names.gpu_pool())
}

fn driver_version(driver: GpuDriver) -> GPUDriverVersion {
    match driver {
        GpuDriver::Latest => GPUDriverVersion::Latest,
        GpuDriver::Default => GPUDriverVersion::Default,
        // NVIDIA's DaemonSet installs it; its affinity skips nodes where GKE was asked to.
        GpuDriver::Daemonset => GPUDriverVersion::InstallationDisabled,
    }
}

fn autoscaling(env: &Env) -> NodePoolAutoscaling {
    let g = &env.config.gpu;
    NodePoolAutoscaling::new()
        .set_enabled(true)
        .set_total_min_node_count(g.min_nodes as i32)
        .set_total_max_node_count(g.max_nodes as i32)
        .set_location_policy(LocationPolicy::Any)
}

fn desired(env: &Env) -> NodePool {
    let g = &env.config.gpu;
    let accelerator = AcceleratorConfig::new()
        .set_accelerator_type(g.kind.accelerator())
        .set_accelerator_count(i64::from(g.count))
        .set_gpu_driver_installation_config(
            GPUDriverInstallationConfig::new().set_gpu_driver_version(driver_version(g.driver)),
        );
    // GCS-Fuse's sidecar buffers in ephemeral storage (the guide's 200 GB disk).
    let disk = if matches!(env.config.storage, Storage::Gcs(_)) { 200 } else { 100 };
    let config = base_node_config(env, &g.machine_type, "gpu")
        .set_disk_size_gb(disk)
        .set_accelerators([accelerator])
        .set_spot(g.spot)
        .set_gcfs_config(GcfsConfig::new().set_enabled(g.image_streaming))
        .set_taints([NodeTaint::new().set_key(GPU_TAINT_KEY).set_value("true").set_effect(Effect::NoSchedule)])
        .set_tags([env.names.node_tag(), env.names.gpu_node_tag()]);
    // The WebUI image already on a disk of its own (GKE reads it through image streaming).
    let config = if g.image_cache {
        config.set_secondary_boot_disks([SecondaryBootDisk::new()
            .set_disk_image(super::image_cache::disk_image(env))
            .set_mode(secondary_boot_disk::Mode::ContainerImageCache)])
    } else {
        config
    };
    // Per-zone initial count; autoscaling keeps the totals. Zero when the pool may idle empty.
    let zones = env.config.zones.len() as u32;
    let initial = if g.min_nodes == 0 { 0 } else { g.min_nodes.div_ceil(zones) };
    NodePool::new()
        .set_name(env.names.gpu_pool())
        .set_initial_node_count(initial as i32)
        .set_locations(env.config.zones.clone())
        .set_config(config)
        .set_autoscaling(autoscaling(env))
        .set_management(NodeManagement::new().set_auto_upgrade(true).set_auto_repair(true))
        .set_upgrade_settings(UpgradeSettings::new().set_max_surge(1).set_max_unavailable(0))
}

#[async_trait]
impl Step<Env> for GpuPool {
    type Live = Option<Box<NodePool>>;

    fn id(&self) -> StepId {
        GPU_POOL
    }

    fn depends_on(&self) -> Vec<StepId> {
        if self.image_cache { vec![CLUSTER, IMAGE_CACHE] } else { vec![CLUSTER] }
    }

    fn describe(&self, env: &Env) -> String {
        let g = &env.config.gpu;
        format!(
            "GPU node pool {}: {} x {} on {}{}, {}-{} nodes",
            env.names.gpu_pool(),
            g.count,
            g.kind.accelerator(),
            g.machine_type,
            if g.spot { " (spot)" } else { "" },
            g.min_nodes,
            g.max_nodes
        )
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        // GKE authorizes node-pool changes with the cluster's update permission.
        vec![
            "container.clusters.get",
            "container.clusters.update",
            "container.operations.get",
            "iam.serviceAccounts.actAs",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Option<Box<NodePool>>> {
        let env = &cx.env;
        let client = env.gcp.container().await?;
        let name = pool_path(env);
        let pool = absent_if_not_found(
            retry::call(cx, "read the GPU node pool", || client.get_node_pool().set_name(&name).send()).await,
        )?;
        Ok(pool.map(Box::new))
    }

    fn diff(&self, env: &Env, live: &Option<Box<NodePool>>) -> Diff {
        let Some(live) = live else { return Diff::create_all() };
        let mut changes = Vec::new();
        if matches!(live.status, Status::Provisioning | Status::Reconciling) {
            changes.push(format!("wait until the pool is RUNNING (now {:?})", live.status));
        }
        let a = live.autoscaling.clone().unwrap_or_default();
        let g = &env.config.gpu;
        if (a.total_min_node_count, a.total_max_node_count) != (g.min_nodes as i32, g.max_nodes as i32) || !a.enabled {
            changes.push(format!(
                "gpu.minNodes/maxNodes: {}-{} -> {}-{}",
                a.total_min_node_count, a.total_max_node_count, g.min_nodes, g.max_nodes
            ));
        }
        for (field, why) in fixed_changes(env, live) {
            changes.push(format!("{field} cannot change in place ({why})"));
        }
        if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
    }

    fn state(&self, live: &Option<Box<NodePool>>) -> Option<String> {
        let p = live.as_ref()?;
        let a = p.autoscaling.clone().unwrap_or_default();
        Some(format!("{:?}, autoscaling {}-{} nodes", p.status, a.total_min_node_count, a.total_max_node_count))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Option<Box<NodePool>>, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let client = env.gcp.container().await?;
        let location = location_path(env);
        let Some(live) = live else {
            let body = desired(env);
            let parent = cluster_path(env);
            let _lock = cx.lock_cluster(&env.names.cluster()).await;
            let op = retry::call_with(cx, "create the GPU node pool", RetryPolicy::CLUSTER_MUTATION, || {
                client.create_node_pool().set_parent(&parent).set_node_pool(body.clone()).send()
            })
            .await?;
            let what = format!("GPU node pool {}", env.names.gpu_pool());
            ops::gke(cx, &env.gcp, &location, &op.name, &what, patience::NODE_POOL).await?;
            return Ok(Outcome::Created);
        };
        if let Some((field, why)) = fixed_changes(env, &live).into_iter().next() {
            anyhow::bail!(
                "{field} of GPU node pool {} cannot change in place ({why}); recreate the pool with `sdctl down gpu-pool` \
                 (its WebUI pods go too) then `sdctl up`, or change {field} back",
                env.names.gpu_pool()
            );
        }
        let a = live.autoscaling.clone().unwrap_or_default();
        let g = &env.config.gpu;
        if (a.total_min_node_count, a.total_max_node_count) != (g.min_nodes as i32, g.max_nodes as i32) || !a.enabled {
            let name = pool_path(env);
            let _lock = cx.lock_cluster(&env.names.cluster()).await;
            let op = retry::call_with(cx, "change the GPU pool's autoscaling", RetryPolicy::CLUSTER_MUTATION, || {
                client.set_node_pool_autoscaling().set_name(&name).set_autoscaling(autoscaling(env)).send()
            })
            .await?;
            ops::gke(cx, &env.gcp, &location, &op.name, "autoscaling change of the GPU pool", patience::NODE_POOL)
                .await?;
        }
        Ok(Outcome::Updated)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        if !super::cluster::exists_and_ours(cx).await? {
            return Ok(Outcome::Unchanged);
        }
        let env = &cx.env;
        let client = env.gcp.container().await?;
        let name = pool_path(env);
        let _lock = cx.lock_cluster(&env.names.cluster()).await;
        let op = absent_if_not_found(
            retry::call_with(cx, "delete the GPU node pool", RetryPolicy::CLUSTER_MUTATION, || {
                client.delete_node_pool().set_name(&name).send()
            })
            .await,
        )?;
        let Some(op) = op else { return Ok(Outcome::Unchanged) };
        let what = format!("deletion of GPU node pool {}", env.names.gpu_pool());
        ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await?;
        Ok(Outcome::Deleted)
    }
}

/// Node settings GKE fixes at pool creation.
fn fixed_changes(env: &Env, live: &NodePool) -> Vec<(&'static str, String)> {
    let want = desired(env);
    let (Some(have), Some(want)) = (live.config.as_ref(), want.config.as_ref()) else { return Vec::new() };
    let mut fixed = Vec::new();
    if have.machine_type != want.machine_type {
        fixed.push(("gpu.machineType", format!("{} -> {}", have.machine_type, want.machine_type)));
    }
    let accel = |c: &NodeConfig| {
        c.accelerators.first().map(|a| {
            let driver = a.gpu_driver_installation_config.as_ref().map(|d| d.gpu_driver_version.clone());
            (a.accelerator_type.clone(), a.accelerator_count, driver)
        })
    };
    let (h, w) = (accel(have), accel(want));
    if h.as_ref().map(|a| (&a.0, a.1)) != w.as_ref().map(|a| (&a.0, a.1)) {
        fixed.push((
            "gpu.type/gpu.count",
            format!("{:?} -> {:?}", h.map(|a| (a.0, a.1)), w.clone().map(|a| (a.0, a.1))),
        ));
    } else if h.as_ref().map(|a| &a.2) != w.as_ref().map(|a| &a.2) {
        fixed.push(("gpu.driver", "the driver installation is chosen at creation".to_string()));
    }
    if have.spot != want.spot {
        fixed.push(("gpu.spot", format!("{} -> {}", have.spot, want.spot)));
    }
    let images = |c: &NodeConfig| c.secondary_boot_disks.iter().map(|d| d.disk_image.clone()).collect::<Vec<_>>();
    if images(have) != images(want) {
        fixed.push((
            "gpu.imageCache",
            format!(
                "secondary boot disks {:?} -> {:?} (a new WebUI image needs a new pool)",
                images(have),
                images(want)
            ),
        ));
    }
    fixed
}
