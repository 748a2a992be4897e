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
use super::{CLUSTER, Env, GPU_POOL, IMAGE_CACHE, compute_class};
use crate::config::{Gpu, GpuDriver, Rung, RuntimeKind, Storage};
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

/// The name of the pool of rung `index` of the ladder. The primary's is `gpu` with or without a
/// ladder (joining or leaving the ComputeClass changes its node labels and taints in place, so
/// nobody's WebUI moves); a fallback's is `gpu-r<index>-<6 hex digits of its shape>`, so a rung
/// inserted, moved or changed is a new pool and the one it replaces is retired like any other.
/// With the image cache the first 8 digits of the WebUI tag follow (`gpu-3f2a19c0`,
/// `gpu-r1-0a1b2c-3f2a19c0`): secondary boot disks are fixed per pool, so a new WebUI image needs
/// new pools.
pub fn pool_name(env: &Env, index: usize) -> String {
    let base = env.names.gpu_pool();
    let rung = match env.config.gpu.rungs().get(index) {
        Some(r) if index > 0 => format!("{base}-r{index}-{}", shape_hash(r)),
        _ => base.to_string(),
    };
    if env.config.gpu.image_cache { format!("{rung}-{}", &super::image_cache::cache_tag(env)[..8]) } else { rung }
}

/// What GKE fixes at a pool's creation, of a rung: 6 hex digits of its hash.
fn shape_hash(r: &Rung) -> String {
    let shape = format!("{}/{}/{}/{}", r.kind, r.machine_type, r.count, r.provisioning());
    crate::kube::upstream::sha256_hex(shape.as_bytes())[..6].to_string()
}

/// The pools of the ladder, primary first.
pub fn pool_names(env: &Env) -> Vec<String> {
    (0..env.config.gpu.rungs().len()).map(|i| pool_name(env, i)).collect()
}

/// Whether a pool of the cluster is one of sdctl's GPU pools (the current or an earlier one):
/// `gpu` or `gpu-r<N>-<6 hex>`, either followed by `-` and 8 hex digits; never a pool someone
/// added by hand (`gpu-highmem`).
pub fn is_gpu_pool(env: &Env, name: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let rung = |r: &str| {
        r.strip_prefix('r').is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let Some(rest) = name.strip_prefix(env.names.gpu_pool()) else { return false };
    let Some(rest) = rest.strip_prefix('-') else { return rest.is_empty() };
    match rest.split('-').collect::<Vec<_>>().as_slice() {
        [tag] => hex(tag, 8),
        [r, shape] => rung(r) && hex(shape, 6),
        [r, shape, tag] => rung(r) && hex(shape, 6) && hex(tag, 8),
        _ => false,
    }
}

fn path_of(env: &Env, pool: &str) -> String {
    format!("{}/nodePools/{pool}", cluster_path(env))
}

/// The pools of the current configuration that exist (by name), earlier GPU pools still in the
/// cluster (a WebUI image change with the image cache, the cache turned on or off, the ladder
/// made or shortened), which `apply` retires, and cache images no pool will use once they are
/// gone.
#[derive(Default)]
pub struct Live {
    pools: std::collections::BTreeMap<String, NodePool>,
    retired: Vec<String>,
    unused_images: Vec<String>,
}

/// The cache image the current configuration's pools use, if any.
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

/// The totals a rung's pool scales between (only the primary keeps nodes when nobody works).
fn autoscaling(env: &Env, index: usize, rung: &Rung) -> NodePoolAutoscaling {
    let min = if index == 0 { env.config.gpu.min_nodes } else { 0 };
    NodePoolAutoscaling::new()
        .set_enabled(true)
        .set_total_min_node_count(min as i32)
        .set_total_max_node_count(rung.max_nodes as i32)
        .set_location_policy(LocationPolicy::Any)
}

/// The node pool of rung `index`.
fn desired(env: &Env, index: usize, rung: &Rung) -> NodePool {
    let g = &env.config.gpu;
    let accelerator = AcceleratorConfig::new()
        .set_accelerator_type(rung.kind.accelerator())
        .set_accelerator_count(i64::from(rung.count))
        .set_gpu_driver_installation_config(
            GPUDriverInstallationConfig::new().set_gpu_driver_version(driver_version(g.driver)),
        );
    // GCS-Fuse's sidecar buffers in ephemeral storage (the guide's 200 GB disk).
    let disk = if matches!(env.config.storage, Storage::Gcs(_)) { 200 } else { 100 };
    let mut taints = vec![NodeTaint::new().set_key(GPU_TAINT_KEY).set_value("true").set_effect(Effect::NoSchedule)];
    let mut config = base_node_config(env, &rung.machine_type, "gpu");
    if g.has_ladder() {
        // A pool joins a custom ComputeClass by carrying its label and taint.
        let class = compute_class::NAME;
        config.labels.insert(compute_class::LABEL.into(), class.to_string());
        taints.push(NodeTaint::new().set_key(compute_class::LABEL).set_value(class).set_effect(Effect::NoSchedule));
    }
    let config = config
        .set_disk_size_gb(disk)
        .set_accelerators([accelerator])
        .set_spot(rung.spot)
        .set_gcfs_config(GcfsConfig::new().set_enabled(g.image_streaming))
        .set_taints(taints)
        .set_tags([env.names.node_tag(), env.names.gpu_node_tag()]);
    // Flex-start pools as GKE's how-to makes them: no reservation, no auto-repair (whether GKE
    // refuses others is unconfirmed: FIDELITY.md).
    let config =
        if rung.flex_start { config.set_flex_start(true).set_reservation_affinity(no_reservation()) } else { config };
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
    let initial = if index > 0 || g.min_nodes == 0 { 0 } else { g.min_nodes.div_ceil(zones) };
    let pool = NodePool::new()
        .set_name(pool_name(env, index))
        .set_initial_node_count(initial as i32)
        .set_locations(env.config.zones.clone())
        .set_config(config)
        .set_autoscaling(autoscaling(env, index, rung))
        .set_management(NodeManagement::new().set_auto_upgrade(true).set_auto_repair(!rung.flex_start));
    // GKE upgrades flex-start nodes its own way (short-lived upgrades): no surge settings there.
    if rung.flex_start {
        pool
    } else {
        pool.set_upgrade_settings(UpgradeSettings::new().set_max_surge(1).set_max_unavailable(0))
    }
}

fn no_reservation() -> ReservationAffinity {
    ReservationAffinity::new().set_consume_reservation_type(reservation_affinity::Type::NoReservation)
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
        let rungs: Vec<String> = g
            .rungs()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let min = if i == 0 { g.min_nodes } else { 0 };
                format!("{}: {} x {}, {}-{} nodes", pool_name(env, i), r.count, r.label(), min, r.max_nodes)
            })
            .collect();
        if g.has_ladder() {
            format!("GPU node pools of ComputeClass {}, tried in order: {}", compute_class::NAME, rungs.join("; "))
        } else {
            format!("GPU node pool {}", rungs.join(""))
        }
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
        let current = pool_names(env);
        let mut live = Live::default();
        // sdctl's GPU pools carry its node label; a pool someone added is never retired.
        let labelled = |p: &NodePool| {
            p.config.as_ref().and_then(|c| c.labels.get("sdctl.dev/pool")).map(String::as_str) == Some("gpu")
        };
        for pool in pools.node_pools.into_iter().filter(|p| is_gpu_pool(env, &p.name) && labelled(p)) {
            if current.contains(&pool.name) {
                live.pools.insert(pool.name.clone(), pool);
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
        let retire = live.retired.iter().map(|name| {
            format!(
                "retire GPU pool {name}: cordon its nodes, wait up to {} min for its WebUIs in use, delete it",
                retire_bound(env).as_secs() / 60
            )
        });
        let unused =
            live.unused_images.iter().map(|image| format!("delete cache image {image}, which no GPU pool will use"));
        let (mut missing, mut changes) = (Vec::new(), Vec::new());
        for (i, rung) in env.config.gpu.rungs().iter().enumerate() {
            let name = pool_name(env, i);
            let Some(pool) = live.pools.get(&name) else {
                missing.push(format!("GPU node pool {name} ({})", rung.label()));
                continue;
            };
            if matches!(pool.status, Status::Provisioning | Status::Reconciling) {
                changes.push(format!("wait until pool {name} is RUNNING (now {:?})", pool.status));
            }
            if let Some(change) = autoscaling_change(env, i, rung, pool) {
                changes.push(change);
            }
            if let Some(change) = class_change(env, i, rung, pool) {
                changes.push(change);
            }
            for (field, why) in fixed_changes(env, i, rung, pool) {
                changes.push(format!("{field} cannot change in place ({why})"));
            }
        }
        changes.extend(retire.chain(unused));
        Diff::from_parts(missing, changes)
    }

    fn state(&self, live: &Live) -> Option<String> {
        let states: Vec<String> = live
            .pools
            .values()
            .map(|p| {
                let a = p.autoscaling.clone().unwrap_or_default();
                format!(
                    "{} {:?}, autoscaling {}-{} nodes",
                    p.name, p.status, a.total_min_node_count, a.total_max_node_count
                )
            })
            .collect();
        (!states.is_empty()).then(|| states.join("; "))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let mut outcome = Outcome::Unchanged;
        // The fallbacks first, then the primary: while the Fleet (the next step) still has its
        // old pods, the pools they can use stay usable as long as possible.
        let rungs = env.config.gpu.rungs();
        for i in (1..rungs.len()).chain([0]) {
            let rung = &rungs[i];
            match live.pools.get(&pool_name(env, i)) {
                None => {
                    create(cx, i, rung).await?;
                    outcome = Outcome::Created;
                }
                Some(pool) => {
                    if update(cx, i, rung, pool).await? && outcome == Outcome::Unchanged {
                        outcome = Outcome::Updated;
                    }
                }
            }
        }
        // The primary joins the class (label and taint) now; leaving it, it drops the taint now
        // and the label only after the fallbacks are retired, so that the Fleet's pods of the
        // ladder (which select the label) keep a pool to run on until the Fleet changes.
        let join = env.config.gpu.has_ladder();
        let changing = live.pools.get(&pool_name(env, 0)).filter(|p| class_change(env, 0, &rungs[0], p).is_some());
        let leaving = changing.filter(|_| !join);
        if let Some(p) = changing {
            set_class(cx, p, join, join).await?;
            if outcome == Outcome::Unchanged {
                outcome = Outcome::Updated;
            }
        }
        // The new pools are up: earlier ones go once their users are done, and with them the
        // cache images no pool uses any more.
        for name in &live.retired {
            retire(cx, name).await?;
        }
        if let Some(p) = leaving {
            set_class(cx, &read_pool(cx, &p.name).await?, false, true).await?;
        }
        if !live.retired.is_empty() || !live.unused_images.is_empty() {
            let keep = kept_image(env);
            super::image_cache::delete_unused(cx, keep.as_deref()).await?;
            if outcome == Outcome::Unchanged {
                outcome = Outcome::Updated;
            }
        }
        Ok(outcome)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        if !super::cluster::exists_and_ours(cx).await? {
            return Ok(Outcome::Unchanged);
        }
        let live = self.observe(cx).await?;
        let mut deleted = false;
        for name in live.pools.into_keys().chain(live.retired) {
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

async fn create(cx: &StepCx<Env>, index: usize, rung: &Rung) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let body = desired(env, index, rung);
    let parent = cluster_path(env);
    let what = format!("GPU node pool {} ({})", body.name, rung.label());
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(cx, &format!("create {what}"), RetryPolicy::CLUSTER_MUTATION, || {
        client.create_node_pool().set_parent(&parent).set_node_pool(body.clone()).send()
    })
    .await?;
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await
}

/// `gpu.minNodes/maxNodes: 0-3 -> 0-5` when the pool's autoscaling is not what the rung wants.
fn autoscaling_change(env: &Env, index: usize, rung: &Rung, live: &NodePool) -> Option<String> {
    let a = live.autoscaling.clone().unwrap_or_default();
    let want = autoscaling(env, index, rung);
    let field =
        if index == 0 { "gpu.minNodes/maxNodes".to_string() } else { format!("{}.maxNodes", Gpu::rung_field(index)) };
    let (have, want) =
        ((a.total_min_node_count, a.total_max_node_count), (want.total_min_node_count, want.total_max_node_count));
    let pool = if env.config.gpu.has_ladder() { format!(" (pool {})", live.name) } else { String::new() };
    (have != want || !a.enabled).then(|| format!("{field}: {}-{} -> {}-{}{pool}", have.0, have.1, want.0, want.1))
}

/// Whether the pool's nodes carry the ComputeClass's label and taint as the configuration wants
/// (the primary's pool joins the class when the first fallback comes, and leaves it with the last).
fn class_change(env: &Env, index: usize, rung: &Rung, live: &NodePool) -> Option<String> {
    let in_class = |c: Option<&NodeConfig>| {
        c.is_some_and(|c| {
            c.labels.contains_key(compute_class::LABEL) || c.taints.iter().any(|t| t.key == compute_class::LABEL)
        })
    };
    let (have, want) = (in_class(live.config.as_ref()), in_class(desired(env, index, rung).config.as_ref()));
    let class = compute_class::NAME;
    match (have, want) {
        (false, true) => {
            Some(format!("pool {} joins ComputeClass {class} (node label and taint, in place)", live.name))
        }
        (true, false) => {
            Some(format!("pool {} leaves ComputeClass {class} (node label and taint, in place)", live.name))
        }
        _ => None,
    }
}

/// Puts the pool in the ComputeClass (`join`) or takes it out: its live taints with the class's
/// added or removed, and (`labels`) its live labels likewise; everything else on the pool (GKE's
/// own `nvidia.com/gpu` taint, labels someone added) is sent back as it is, since GKE replaces
/// the lists (UpdateNodePoolRequest). The version and image type GKE requires are the pool's own,
/// so nothing is upgraded.
async fn set_class(cx: &StepCx<Env>, live: &NodePool, join: bool, labels: bool) -> anyhow::Result<()> {
    let env = &cx.env;
    let have = live.config.clone().unwrap_or_default();
    let mut taints: Vec<NodeTaint> = have.taints.iter().filter(|t| t.key != compute_class::LABEL).cloned().collect();
    let mut new_labels = have.labels.clone();
    new_labels.remove(compute_class::LABEL);
    if join {
        let class = compute_class::NAME;
        taints.push(NodeTaint::new().set_key(compute_class::LABEL).set_value(class).set_effect(Effect::NoSchedule));
        new_labels.insert(compute_class::LABEL.into(), class.into());
    }
    let client = env.gcp.container().await?;
    let name = path_of(env, &live.name);
    let what = format!(
        "{} ComputeClass {} ({}) on GPU pool {}",
        if join { "join" } else { "leave" },
        compute_class::NAME,
        if labels { "node label and taint" } else { "node taint" },
        live.name
    );
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(cx, &what, RetryPolicy::CLUSTER_MUTATION, || {
        let request = client
            .update_node_pool()
            .set_name(&name)
            .set_node_version(&live.version)
            .set_image_type(&have.image_type)
            .set_taints(NodeTaints::new().set_taints(taints.clone()));
        let request =
            if labels { request.set_labels(NodeLabels::new().set_labels(new_labels.clone())) } else { request };
        request.send()
    })
    .await?;
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await
}

/// The pool as GKE has it now.
async fn read_pool(cx: &StepCx<Env>, pool: &str) -> anyhow::Result<NodePool> {
    let client = cx.env.gcp.container().await?;
    let name = path_of(&cx.env, pool);
    retry::call(cx, &format!("read GPU pool {pool}"), || client.get_node_pool().set_name(&name).send()).await
}

/// Brings a rung's pool to the configuration; whether anything changed.
async fn update(cx: &StepCx<Env>, index: usize, rung: &Rung, live: &NodePool) -> anyhow::Result<bool> {
    let env = &cx.env;
    if let Some((field, why)) = fixed_changes(env, index, rung, live).into_iter().next() {
        anyhow::bail!(
            "{field} of GPU node pool {} cannot change in place ({why}); recreate the pool with `sdctl down gpu-pool` \
             (its WebUI pods go too) then `sdctl up`, or change {field} back",
            live.name
        );
    }
    let client = env.gcp.container().await?;
    let name = path_of(env, &live.name);
    if autoscaling_change(env, index, rung, live).is_none() {
        return Ok(false);
    }
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(
        cx,
        &format!("change the autoscaling of GPU pool {}", live.name),
        RetryPolicy::CLUSTER_MUTATION,
        || client.set_node_pool_autoscaling().set_name(&name).set_autoscaling(autoscaling(env, index, rung)).send(),
    )
    .await?;
    let what = format!("autoscaling change of GPU pool {}", live.name);
    ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::NODE_POOL).await?;
    Ok(true)
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

/// Node settings GKE fixes at pool creation, named by their config field.
fn fixed_changes(env: &Env, index: usize, rung: &Rung, live: &NodePool) -> Vec<(String, String)> {
    let want = desired(env, index, rung);
    let (Some(have), Some(want)) = (live.config.as_ref(), want.config.as_ref()) else { return Vec::new() };
    let at = Gpu::rung_field(index);
    let field = |name: &str| format!("{at}.{name}");
    let mut fixed = Vec::new();
    if have.machine_type != want.machine_type {
        fixed.push((field("machineType"), format!("{} -> {}", have.machine_type, want.machine_type)));
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
            format!("{at}.type/{at}.count"),
            format!("{:?} -> {:?}", h.map(|a| (a.0, a.1)), w.clone().map(|a| (a.0, a.1))),
        ));
    } else if h.as_ref().map(|a| &a.2) != w.as_ref().map(|a| &a.2) {
        fixed.push(("gpu.driver".to_string(), "the driver installation is chosen at creation".to_string()));
    }
    if have.spot != want.spot {
        fixed.push((field("spot"), format!("{} -> {}", have.spot, want.spot)));
    }
    let flex = |c: &NodeConfig| c.flex_start.unwrap_or(false);
    if flex(have) != flex(want) {
        fixed.push((field("flexStart"), format!("{} -> {}", flex(have), flex(want))));
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
            "gpu.imageCache".to_string(),
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
        let name = pool_name(&e, 0);
        assert!(name.starts_with("gpu-") && name.len() == 12, "{name}");
        for ours in ["gpu", name.as_str(), "gpu-0123abcd"] {
            assert!(is_gpu_pool(&e, ours), "{ours}");
        }
        for ladder in ["gpu-r1-0a1b2c", "gpu-r12-0a1b2c-0123abcd"] {
            assert!(is_gpu_pool(&e, ladder), "{ladder}");
        }
        for theirs in [
            "gpu-highmem",
            "gpu-0123ABCD",
            "gpu-0123abc",
            "system",
            "gpus",
            "gpu-",
            "gpu-r1",
            "gpu-r1-0a1b2",
            "gpu-x1-0a1b2c",
        ] {
            assert!(!is_gpu_pool(&e, theirs), "{theirs}");
        }
        assert_eq!(pool_name(&env(false), 0), "gpu");
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
        assert_ne!(pool_name(&both, 0), pool_name(&a1111, 0), "a new cache means a new pool");
    }
}
