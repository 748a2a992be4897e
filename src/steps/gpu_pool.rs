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
use super::common::{absent_if_not_found, empty_if_disabled, patience};
use super::{CLUSTER, Env, GPU_POOL, IMAGE_CACHE};
use crate::config::{GpuDriver, RuntimeKind, Storage};
use crate::gcp::ops;
use crate::gcp::retry::{self, RetryPolicy};
use crate::gcp::wait::{Patience, Poll, WaitTimeout, until};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

/// Taint that keeps everything but WebUI pods off GPU nodes.
pub const GPU_TAINT_KEY: &str = "sdctl.dev/gpu";

pub struct GpuPool {
    /// `gpu.imageCache`: nodes get the `image-cache` step's image as a secondary boot disk.
    pub image_cache: bool,
}

/// The GPU pool's name: `gpu`, or with the image cache `gpu-<first 8 digits of the WebUI tag>`:
/// secondary boot disks are fixed per pool, so a new WebUI image needs a new pool.
pub fn pool_name(env: &Env) -> String {
    let base = env.names.gpu_pool();
    if env.config.gpu.image_cache {
        format!("{base}-{}", &super::image_cache::cache_tag(env)[..8])
    } else {
        base.into()
    }
}

/// Whether a pool of the cluster is one of sdctl's GPU pools (the current or an earlier one):
/// `gpu` or `gpu-` and 8 hex digits, never a pool someone added by hand (`gpu-highmem`).
pub fn is_gpu_pool(env: &Env, name: &str) -> bool {
    let base = env.names.gpu_pool();
    name == base
        || name
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|tag| tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn pool_path(env: &Env) -> String {
    path_of(env, &pool_name(env))
}

fn path_of(env: &Env, pool: &str) -> String {
    format!("{}/nodePools/{pool}", cluster_path(env))
}

/// The pool of the current configuration, earlier GPU pools still in the cluster (a WebUI
/// image change with the image cache, or the cache turned on or off), which `apply` retires, and
/// cache images no pool will use once they are gone.
#[derive(Default)]
pub struct Live {
    pool: Option<Box<NodePool>>,
    retired: Vec<String>,
    unused_images: Vec<String>,
}

/// The cache image the current configuration's pool uses, if any.
fn kept_image(env: &Env) -> Option<String> {
    env.config.gpu.image_cache.then(|| super::image_cache::image_name(env))
}

/// How long retiring a pool waits for its WebUIs in use to be released before it deletes them:
/// twice the idle time after which reclaim frees an unused one, and at least 30 minutes.
fn retire_bound(env: &Env) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(env.config.runtime.idle_minutes.max(15)) * 2 * 60)
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
        .set_name(pool_name(env))
        .set_initial_node_count(initial as i32)
        .set_locations(env.config.zones.clone())
        .set_config(config)
        .set_autoscaling(autoscaling(env))
        .set_management(NodeManagement::new().set_auto_upgrade(true).set_auto_repair(true))
        .set_upgrade_settings(UpgradeSettings::new().set_max_surge(1).set_max_unavailable(0))
}

#[async_trait]
impl Step<Env> for GpuPool {
    type Live = Live;

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
            pool_name(env),
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
            // Cache images no pool uses, and what a build left when the cache is off.
            "compute.images.list",
            "compute.images.delete",
            "compute.instances.get",
            "compute.instances.delete",
            "compute.disks.get",
            "compute.disks.delete",
            "compute.zoneOperations.get",
            "compute.globalOperations.get",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let client = env.gcp.container().await?;
        let parent = cluster_path(env);
        let Some(pools) = absent_if_not_found(
            retry::call(cx, "list the node pools", || client.list_node_pools().set_parent(&parent).send()).await,
        )?
        else {
            return Ok(Live::default());
        };
        let current = pool_name(env);
        let mut live = Live::default();
        // sdctl's GPU pools carry its node label; a pool someone added is never retired.
        let labelled = |p: &NodePool| {
            p.config.as_ref().and_then(|c| c.labels.get("sdctl.dev/pool")).map(String::as_str) == Some("gpu")
        };
        for pool in pools.node_pools.into_iter().filter(|p| is_gpu_pool(env, &p.name) && labelled(p)) {
            if pool.name == current {
                live.pool = Some(Box::new(pool));
            } else {
                live.retired.push(pool.name);
            }
        }
        let keep = kept_image(env);
        live.unused_images = empty_if_disabled(super::image_cache::cache_images(cx).await)?
            .into_iter()
            .filter(|name| Some(name) != keep.as_ref())
            .collect();
        Ok(live)
    }

    fn diff(&self, env: &Env, live: &Live) -> Diff {
        let retire = live
            .retired
            .iter()
            .map(|name| {
                format!(
                    "retire GPU pool {name}: cordon its nodes, wait up to {} min for its WebUIs in use, delete it",
                    retire_bound(env).as_secs() / 60
                )
            })
            .chain(
                live.unused_images
                    .iter()
                    .map(|image| format!("delete cache image {image}, which no GPU pool will use")),
            );
        let Some(pool) = &live.pool else {
            return Diff::from_parts(vec![format!("GPU node pool {}", pool_name(env))], retire.collect());
        };
        let mut changes = Vec::new();
        if matches!(pool.status, Status::Provisioning | Status::Reconciling) {
            changes.push(format!("wait until the pool is RUNNING (now {:?})", pool.status));
        }
        let a = pool.autoscaling.clone().unwrap_or_default();
        let g = &env.config.gpu;
        if (a.total_min_node_count, a.total_max_node_count) != (g.min_nodes as i32, g.max_nodes as i32) || !a.enabled {
            changes.push(format!(
                "gpu.minNodes/maxNodes: {}-{} -> {}-{}",
                a.total_min_node_count, a.total_max_node_count, g.min_nodes, g.max_nodes
            ));
        }
        for (field, why) in fixed_changes(env, pool) {
            changes.push(format!("{field} cannot change in place ({why})"));
        }
        changes.extend(retire);
        if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
    }

    fn state(&self, live: &Live) -> Option<String> {
        let p = live.pool.as_ref()?;
        let a = p.autoscaling.clone().unwrap_or_default();
        Some(format!("{:?}, autoscaling {}-{} nodes", p.status, a.total_min_node_count, a.total_max_node_count))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let outcome = match live.pool {
            None => {
                create(cx).await?;
                Outcome::Created
            }
            Some(pool) => {
                update(cx, &pool).await?;
                Outcome::Updated
            }
        };
        // The new pool is up: earlier ones go once their users are done, and with them the cache
        // images no pool uses any more.
        for name in &live.retired {
            retire(cx, name).await?;
        }
        if !live.retired.is_empty() || !live.unused_images.is_empty() {
            let keep = kept_image(&cx.env);
            super::image_cache::delete_unused(cx, keep.as_deref()).await?;
        }
        Ok(outcome)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        if !super::cluster::exists_and_ours(cx).await? {
            return Ok(Outcome::Unchanged);
        }
        let live = self.observe(cx).await?;
        let mut deleted = false;
        for name in live.pool.iter().map(|p| p.name.clone()).chain(live.retired) {
            deleted |= delete_pool(cx, &name).await?;
        }
        // Without gpu.imageCache the image-cache step is not in the graph: what an earlier
        // configuration's cache left goes with the GPU pool.
        if !cx.env.config.gpu.image_cache {
            deleted |= super::image_cache::delete_unused(cx, None).await?;
        }
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

async fn create(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let body = desired(env);
    let parent = cluster_path(env);
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(cx, "create the GPU node pool", RetryPolicy::CLUSTER_MUTATION, || {
        client.create_node_pool().set_parent(&parent).set_node_pool(body.clone()).send()
    })
    .await?;
    let what = format!("GPU node pool {}", pool_name(env));
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await
}

async fn update(cx: &StepCx<Env>, live: &NodePool) -> anyhow::Result<()> {
    let env = &cx.env;
    if let Some((field, why)) = fixed_changes(env, live).into_iter().next() {
        anyhow::bail!(
            "{field} of GPU node pool {} cannot change in place ({why}); recreate the pool with `sdctl down gpu-pool` \
             (its WebUI pods go too) then `sdctl up`, or change {field} back",
            live.name
        );
    }
    let a = live.autoscaling.clone().unwrap_or_default();
    let g = &env.config.gpu;
    if (a.total_min_node_count, a.total_max_node_count) == (g.min_nodes as i32, g.max_nodes as i32) && a.enabled {
        return Ok(());
    }
    let client = env.gcp.container().await?;
    let name = pool_path(env);
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(cx, "change the GPU pool's autoscaling", RetryPolicy::CLUSTER_MUTATION, || {
        client.set_node_pool_autoscaling().set_name(&name).set_autoscaling(autoscaling(env)).send()
    })
    .await?;
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, "autoscaling change of the GPU pool", patience::NODE_POOL)
        .await
}

/// Retires an earlier GPU pool: its nodes are cordoned (no new WebUI lands there), the WebUIs
/// users hold there are waited for (reclaim frees idle ones), for at most `retire_bound`, then the
/// pool is deleted; its warm WebUIs come back on the new pool through the Fleet.
async fn retire(cx: &StepCx<Env>, pool: &str) -> anyhow::Result<()> {
    // No new node for the old pool (both pools fit the WebUI pods the autoscaler must place).
    stop_autoscaling(cx, pool).await?;
    if let Some(kube) = super::cluster::connect_if_running(cx).await? {
        let namespace = &cx.env.config.runtime.namespace;
        let bound = retire_bound(&cx.env);
        let what = format!("the WebUIs in use on GPU pool {pool} to be released");
        // Agones allocates from its Ready GameServers wherever they run, cordoned or not: on every
        // look the pool's nodes (a node added meanwhile too) are cordoned and the WebUIs nobody
        // holds there deleted; the Fleet makes them again on the new pool.
        let waited =
            until(cx, &what, Patience { interval: std::time::Duration::from_secs(15), timeout: bound }, || async {
                let nodes = kube.cordon_pool(pool).await?;
                let busy = match cx.env.config.runtime.kind {
                    RuntimeKind::Agones => {
                        // Every Fleet's, those of templates just added or removed too.
                        kube.release_idle_game_servers_on(namespace, &nodes).await?
                    }
                    RuntimeKind::Okg => kube.instances_on(namespace, &nodes).await?,
                };
                Ok(if busy == 0 { Poll::Ready(()) } else { Poll::Pending(format!("{busy} in use")) })
            })
            .await;
        match waited {
            Err(e) if e.is::<WaitTimeout>() => {
                cx.progress(format!("{e}: deleting GPU pool {pool} anyway; those sessions end"));
            }
            other => other?,
        }
    }
    delete_pool(cx, pool).await?;
    Ok(())
}

/// Turns the autoscaling of a pool being retired off (its nodes stay until it is deleted).
async fn stop_autoscaling(cx: &StepCx<Env>, pool: &str) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let name = path_of(env, pool);
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = absent_if_not_found(
        retry::call_with(
            cx,
            &format!("stop the autoscaling of GPU pool {pool}"),
            RetryPolicy::CLUSTER_MUTATION,
            || {
                client
                    .set_node_pool_autoscaling()
                    .set_name(&name)
                    .set_autoscaling(NodePoolAutoscaling::new().set_enabled(false))
                    .send()
            },
        )
        .await,
    )?;
    let Some(op) = op else { return Ok(()) };
    let what = format!("autoscaling change of GPU pool {pool}");
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await
}

async fn delete_pool(cx: &StepCx<Env>, pool: &str) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let name = path_of(env, pool);
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = absent_if_not_found(
        retry::call_with(cx, &format!("delete GPU node pool {pool}"), RetryPolicy::CLUSTER_MUTATION, || {
            client.delete_node_pool().set_name(&name).send()
        })
        .await,
    )?;
    let Some(op) = op else { return Ok(false) };
    let what = format!("deletion of GPU node pool {pool}");
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await?;
    Ok(true)
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
    // GKE may answer with a full URL: compare `global/images/NAME`.
    let images = |c: &NodeConfig| {
        c.secondary_boot_disks
            .iter()
            .map(|d| d.disk_image.rsplit_once("/global/").map(|(_, n)| n).unwrap_or(&d.disk_image).to_string())
            .collect::<Vec<_>>()
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, parse};

    fn env(cache: bool) -> Env {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sd-agones-t4.yaml")).unwrap();
        let mut config = parse(&text, &Overrides::default()).unwrap();
        config.gpu.image_cache = cache;
        Env::new(config, Default::default(), crate::gcp::Endpoints::default())
    }

    #[test]
    fn only_sdctls_gpu_pools_are_retired() {
        let e = env(true);
        let name = pool_name(&e);
        assert!(name.starts_with("gpu-") && name.len() == 12, "{name}");
        for ours in ["gpu", name.as_str(), "gpu-0123abcd"] {
            assert!(is_gpu_pool(&e, ours), "{ours}");
        }
        for theirs in ["gpu-highmem", "gpu-0123ABCD", "gpu-0123abc", "system", "gpus", "gpu-"] {
            assert!(!is_gpu_pool(&e, theirs), "{theirs}");
        }
        assert_eq!(pool_name(&env(false)), "gpu");
    }

    /// With only AUTOMATIC1111 the cache (and the pool named after it) keeps the name it had
    /// before engines; with ComfyUI too it holds both images under a name of its own.
    #[test]
    fn the_cache_is_named_after_the_engines_images() {
        let a1111 = env(true);
        let webui_tag = crate::images::ImageKind::Webui.context(None).unwrap().tag().unwrap();
        assert_eq!(super::super::image_cache::cache_tag(&a1111), webui_tag);
        let mut both = env(true);
        let mut comfy = both.config.templates[0].clone();
        comfy.name = "comfy".into();
        comfy.engine = crate::config::Engine::Comfyui;
        both.config.templates.push(comfy);
        let tag = super::super::image_cache::cache_tag(&both);
        let comfy_tag = crate::images::ImageKind::Comfyui.context(None).unwrap().tag().unwrap();
        assert!(tag.len() == 16 && tag != webui_tag && tag != comfy_tag, "{tag}");
        assert_ne!(pool_name(&both), pool_name(&a1111), "a new cache means a new pool");
    }
}
