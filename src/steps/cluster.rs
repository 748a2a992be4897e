//! `cluster`: the GKE cluster with its system node pool (Agones' controllers and the router run
//! there), VPC-native with ranges sdctl chose, Workload Identity, the CSI driver of the storage
//! kind, image streaming by default, private nodes when asked, and a dedicated node service
//! account with least-privilege roles instead of Compute's default (Editor) account.

use std::collections::HashMap;

use async_trait::async_trait;
use google_cloud_container_v1::model::cluster::Status;
use google_cloud_container_v1::model::release_channel::Channel;
use google_cloud_container_v1::model::workload_metadata_config::Mode;
use google_cloud_container_v1::model::*;

use super::common::{absent_if_not_found, not_ours, patience};
use super::iam::{Account, FORMER_NODE_ROLES, NODE_ROLES, PolicyOf};
use super::{APIS, CLUSTER, Env, NETWORK};
use crate::config::{ClusterLocation, ReleaseChannel as ConfigChannel, Storage};
use crate::gcp::retry::{self, RetryPolicy};
use crate::gcp::{ApiError, ops};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct GkeCluster;

#[derive(Default)]
pub struct Live {
    pub cluster: Option<Box<Cluster>>,
    node_account: bool,
    /// Project roles the node service account lacks.
    missing_roles: Vec<String>,
    /// Roles earlier sdctl versions granted it, to take away.
    former_roles: Vec<String>,
}

/// `(role, node service account)` pairs.
fn node_grants<'a>(roles: &[&'a str], member: &'a str) -> Vec<(&'a str, &'a str)> {
    roles.iter().map(|r| (*r, member)).collect()
}

/// `projects/P/locations/L`.
pub fn location_path(env: &Env) -> String {
    format!("projects/{}/locations/{}", env.project(), env.config.cluster_location())
}

pub fn cluster_path(env: &Env) -> String {
    format!("{}/clusters/{}", location_path(env), env.names.cluster())
}

/// OAuth scope of every node: access is governed by the node service account's IAM roles.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Settings every node of every pool gets.
pub fn base_node_config(env: &Env, machine_type: &str, pool_label: &str) -> NodeConfig {
    NodeConfig::new()
        .set_machine_type(machine_type)
        .set_image_type("COS_CONTAINERD")
        .set_disk_type("pd-balanced")
        .set_disk_size_gb(100)
        .set_service_account(env.names.node_service_account_email())
        .set_oauth_scopes([CLOUD_PLATFORM_SCOPE])
        .set_labels([("sdctl.dev/pool".to_string(), pool_label.to_string())])
        .set_tags([env.names.node_tag()])
        .set_resource_labels(env.labels())
        .set_metadata([("disable-legacy-endpoints".to_string(), "true".to_string())])
        .set_shielded_instance_config(
            ShieldedInstanceConfig::new().set_enable_secure_boot(true).set_enable_integrity_monitoring(true),
        )
        .set_workload_metadata_config(WorkloadMetadataConfig::new().set_mode(Mode::GkeMetadata))
}

fn channel(c: ConfigChannel) -> Channel {
    match c {
        ConfigChannel::Rapid => Channel::Rapid,
        ConfigChannel::Regular => Channel::Regular,
        ConfigChannel::Stable => Channel::Stable,
        ConfigChannel::Extended => Channel::Extended,
    }
}

/// The cluster the configuration asks for, on VPC ranges `ranges` chose (`None`: for comparing an
/// existing cluster, whose ranges cannot change).
fn desired(env: &Env, ranges: Option<&super::ranges::Ranges>) -> Cluster {
    let c = &env.config;
    let filestore = matches!(c.storage, Storage::Filestore(_));
    let addons = AddonsConfig::new()
        .set_http_load_balancing(HttpLoadBalancing::new().set_disabled(false))
        .set_horizontal_pod_autoscaling(HorizontalPodAutoscaling::new().set_disabled(false))
        .set_gce_persistent_disk_csi_driver_config(GcePersistentDiskCsiDriverConfig::new().set_enabled(true))
        .set_gcp_filestore_csi_driver_config(GcpFilestoreCsiDriverConfig::new().set_enabled(filestore))
        .set_gcs_fuse_csi_driver_config(GcsFuseCsiDriverConfig::new().set_enabled(!filestore));
    let system_pool = NodePool::new()
        .set_name(env.names.system_pool())
        .set_initial_node_count(c.cluster.system_pool.nodes as i32)
        .set_config(base_node_config(env, &c.cluster.system_pool.machine_type, "system"))
        .set_management(NodeManagement::new().set_auto_upgrade(true).set_auto_repair(true));
    let mut cluster = Cluster::new()
        .set_name(env.names.cluster())
        .set_description(env.names.description())
        .set_resource_labels(env.labels())
        .set_locations(c.zones.clone())
        .set_network(&c.cluster.network)
        .set_subnetwork(&c.cluster.subnetwork)
        .set_release_channel(ReleaseChannel::new().set_channel(channel(c.cluster.release_channel)))
        .set_ip_allocation_policy(
            IPAllocationPolicy::new()
                .set_use_ip_aliases(true)
                .set_cluster_ipv4_cidr_block(ranges.map(|r| r.pods.clone()).unwrap_or_default())
                .set_services_ipv4_cidr_block(ranges.map(|r| r.services.clone()).unwrap_or_default()),
        )
        .set_workload_identity_config(WorkloadIdentityConfig::new().set_workload_pool(env.names.workload_pool()))
        .set_addons_config(addons)
        .set_node_pool_defaults(NodePoolDefaults::new().set_node_config_defaults(
            NodeConfigDefaults::new().set_gcfs_config(GcfsConfig::new().set_enabled(c.gpu.image_streaming)),
        ))
        .set_shielded_nodes(ShieldedNodes::new().set_enabled(true))
        .set_node_pools([system_pool]);
    // Dataplane V2 enforces the NetworkPolicies that keep users' WebUIs apart; it can only be
    // chosen when the cluster is created.
    let network = NetworkConfig::new().set_datapath_provider(DatapathProvider::AdvancedDatapath);
    cluster = cluster.set_network_config(network.clone());
    if c.cluster.private {
        // Nodes without external IPs (egress through the Cloud NAT of the network step); the
        // control plane range is the one the webhook firewall rule names.
        cluster =
            cluster.set_network_config(network.set_default_enable_private_nodes(true)).set_private_cluster_config(
                PrivateClusterConfig::new()
                    .set_master_ipv4_cidr_block(ranges.map(|r| r.master.clone()).unwrap_or_default()),
            );
    }
    cluster
}

#[async_trait]
impl Step<Env> for GkeCluster {
    type Live = Live;

    fn id(&self) -> StepId {
        CLUSTER
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS, NETWORK]
    }

    fn describe(&self, env: &Env) -> String {
        let c = &env.config;
        let kind = match c.cluster.location {
            ClusterLocation::Zonal if c.zones.len() > 1 => "multi-zonal",
            ClusterLocation::Zonal => "zonal",
            ClusterLocation::Regional => "regional",
        };
        let nodes = c.cluster.system_pool.nodes;
        let per_zone = if c.zones.len() > 1 {
            format!("{nodes} per zone x {} zones = {}", c.zones.len(), c.system_nodes_total())
        } else {
            nodes.to_string()
        };
        format!(
            "{kind} GKE cluster {} in {} with {per_zone} {} system node(s)",
            env.names.cluster(),
            c.cluster_location(),
            c.cluster.system_pool.machine_type
        )
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "container.clusters.get",
            "container.clusters.create",
            "container.clusters.update",
            "container.clusters.delete",
            "container.operations.get",
            // The dedicated node service account, its project roles, and using it on nodes.
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.create",
            "iam.serviceAccounts.delete",
            "iam.serviceAccounts.actAs",
            "resourcemanager.projects.get",
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let cluster = read_ours(cx).await?;
        let node_account = Account::Nodes.exists(cx).await?;
        let member = Account::Nodes.member(env);
        let (missing_roles, former_roles) = if node_account {
            let roles = |changes: Vec<(String, String)>| changes.into_iter().map(|(role, _)| role).collect();
            (
                roles(PolicyOf::Project.to_change(cx, &node_grants(&NODE_ROLES, &member), true).await?),
                roles(PolicyOf::Project.to_change(cx, &node_grants(&FORMER_NODE_ROLES, &member), false).await?),
            )
        } else {
            (NODE_ROLES.iter().map(|r| r.to_string()).collect(), Vec::new())
        };
        Ok(Live { cluster: cluster.map(Box::new), node_account, missing_roles, former_roles })
    }

    fn diff(&self, env: &Env, live: &Live) -> Diff {
        let mut missing = Vec::new();
        let mut changed = Vec::new();
        if !live.node_account {
            missing.push(format!("node service account {}", env.names.node_service_account_email()));
        }
        if !live.missing_roles.is_empty() {
            changed.push(format!("grant the node service account {}", live.missing_roles.join(", ")));
        }
        if !live.former_roles.is_empty() {
            changed.push(format!(
                "take {} from the node service account ({} covers what it needs)",
                live.former_roles.join(", "),
                NODE_ROLES.join(", ")
            ));
        }
        match &live.cluster {
            None => missing.push(format!("GKE cluster {}", env.names.cluster())),
            Some(c) => changed.extend(cluster_changes(env, c)),
        }
        Diff::from_parts(missing, changed)
    }

    fn state(&self, live: &Live) -> Option<String> {
        let c = live.cluster.as_ref()?;
        Some(format!("{:?}, Kubernetes {}", c.status, c.current_master_version))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        if !live.node_account {
            Account::Nodes.ensure(cx).await?;
        }
        let member = Account::Nodes.member(env);
        if !live.missing_roles.is_empty() {
            let roles: Vec<&str> = live.missing_roles.iter().map(String::as_str).collect();
            PolicyOf::Project.edit(cx, &node_grants(&roles, &member), true).await?;
        }
        if !live.former_roles.is_empty() {
            let roles: Vec<&str> = live.former_roles.iter().map(String::as_str).collect();
            PolicyOf::Project.edit(cx, &node_grants(&roles, &member), false).await?;
        }
        let outcome = match live.cluster {
            None => {
                create(cx).await?;
                Outcome::Created
            }
            Some(existing) => {
                update(cx, &existing).await?;
                Outcome::Updated
            }
        };
        let client = env.gcp.container().await?;
        let name = cluster_path(env);
        let cluster = retry::call(cx, "read the GKE cluster", || client.get_cluster().set_name(&name).send()).await?;
        publish(env, &cluster);
        Ok(outcome)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let client = env.gcp.container().await?;
        let name = cluster_path(env);
        let mut deleted = false;
        if read_ours(cx).await?.is_some() {
            let _lock = cx.lock_cluster(&env.names.cluster()).await;
            let op = absent_if_not_found(
                retry::call_with(cx, "delete the GKE cluster", RetryPolicy::CLUSTER_MUTATION, || {
                    client.delete_cluster().set_name(&name).send()
                })
                .await,
            )?;
            if let Some(op) = op {
                let what = format!("deletion of GKE cluster {}", env.names.cluster());
                ops::gke(cx, &env.gcp, &location_path(env), &op.name, &what, patience::CLUSTER).await?;
                deleted = true;
            }
        }
        // The node service account and its project roles go with the cluster.
        let member = Account::Nodes.member(env);
        let roles: Vec<&str> = NODE_ROLES.iter().chain(&FORMER_NODE_ROLES).copied().collect();
        deleted |= PolicyOf::Project.edit(cx, &node_grants(&roles, &member), false).await?;
        deleted |= Account::Nodes.delete(cx).await?;
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// Whether the cluster enforces NetworkPolicies: Dataplane V2 (or a migration to it), or the
/// Calico network policy of the legacy dataplane.
pub fn enforces_network_policy(c: &Cluster) -> bool {
    let datapath = c.network_config.as_ref().map(|n| &n.datapath_provider);
    // The client library names no migration states; they arrive as unknown values.
    datapath
        .is_some_and(|d| *d == DatapathProvider::AdvancedDatapath || d.name() == Some("MIGRATE_TO_ADVANCED_DATAPATH"))
        || c.network_policy.as_ref().is_some_and(|p| p.enabled)
}

/// The environment's cluster as GKE reports it (its endpoint and CA published for the
/// Kubernetes steps); `None` when it does not exist; an error when a cluster of that name is not
/// this environment's.
pub async fn read_ours(cx: &StepCx<Env>) -> anyhow::Result<Option<Cluster>> {
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let name = cluster_path(env);
    let cluster = absent_if_not_found(
        retry::call(cx, "read the GKE cluster", || client.get_cluster().set_name(&name).send()).await,
    )?;
    if let Some(c) = &cluster {
        if !env.owns(&c.resource_labels) {
            return Err(not_ours("GKE cluster", &env.names.cluster(), env.names.env()));
        }
        publish(env, c);
    }
    Ok(cluster)
}

/// Whether the cluster exists (an error if it exists but is not this environment's).
pub async fn exists_and_ours(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    Ok(read_ours(cx).await?.is_some())
}

/// A client for the cluster's Kubernetes API; `None` when the cluster does not exist or is not
/// RUNNING (the Kubernetes steps then have nothing to read or delete).
pub async fn connect_if_running(cx: &StepCx<Env>) -> anyhow::Result<Option<crate::kube::Kube>> {
    let running = read_ours(cx).await?.is_some_and(|c| matches!(c.status, Status::Running | Status::Reconciling));
    if !running {
        return Ok(None);
    }
    let env = &cx.env;
    Ok(Some(crate::kube::Kube::new(crate::kube::client::connect(env).await?)))
}

/// What differs on an existing cluster; fields GKE cannot change say so.
fn cluster_changes(env: &Env, live: &Cluster) -> Vec<String> {
    let want = desired(env, None);
    let mut changes = Vec::new();
    match live.status {
        Status::Provisioning | Status::Reconciling => {
            changes.push(format!("wait until the cluster is RUNNING (now {:?})", live.status))
        }
        Status::Stopping => changes.push("the cluster is being deleted: wait, then run `sdctl up` again".into()),
        Status::Error | Status::Degraded => {
            changes.push(format!("the cluster is {:?}: {}", live.status, conditions(live)))
        }
        _ => {}
    }
    if live.resource_labels != want.resource_labels {
        changes.push("labels".into());
    }
    let live_channel = live.release_channel.as_ref().map(|r| r.channel.clone());
    if live_channel != want.release_channel.as_ref().map(|r| r.channel.clone()) {
        changes.push(format!("cluster.releaseChannel: {:?} -> {:?}", live_channel, env.config.cluster.release_channel));
    }
    let mut live_zones = live.locations.clone();
    live_zones.sort();
    let mut want_zones = want.locations.clone();
    want_zones.sort();
    if live_zones != want_zones {
        changes.push(format!("zones: {} -> {}", live_zones.join(","), want_zones.join(",")));
    }
    if let Some(pool) = live.node_pools.iter().find(|p| p.name == env.names.system_pool()) {
        let want_nodes = env.config.cluster.system_pool.nodes as i32;
        if pool.initial_node_count != want_nodes {
            changes.push(format!("cluster.systemPool.nodes: {} -> {want_nodes}", pool.initial_node_count));
        }
    }
    for (field, why) in fixed_changes(env, live) {
        changes.push(format!("{field} cannot change in place ({why})"));
    }
    changes
}

/// Differences GKE cannot apply to an existing cluster.
fn fixed_changes(env: &Env, live: &Cluster) -> Vec<(&'static str, String)> {
    let c = &env.config;
    let mut fixed = Vec::new();
    if !live.location.is_empty() && live.location != c.cluster_location() {
        fixed.push(("cluster.location", format!("{} -> {}", live.location, c.cluster_location())));
    }
    let private = live.network_config.as_ref().and_then(|n| n.default_enable_private_nodes).unwrap_or(false);
    if private != c.cluster.private {
        fixed.push(("cluster.private", format!("{private} -> {}", c.cluster.private)));
    }
    let last = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    if !live.network.is_empty() && last(&live.network) != c.cluster.network {
        fixed.push(("cluster.network", format!("{} -> {}", last(&live.network), c.cluster.network)));
    }
    fixed
}

async fn create(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let c = &env.config;
    if c.zones.len() > 1 {
        cx.warn(format!(
            "node counts are per zone: {} zones x {} system node(s) = {} nodes ({} total)",
            c.zones.len(),
            c.cluster.system_pool.nodes,
            c.system_nodes_total(),
            c.cluster.system_pool.machine_type
        ));
    }
    let client = env.gcp.container().await?;
    let body = desired(env, Some(&super::ranges::plan(cx).await?));
    let parent = location_path(env);
    let _lock = cx.lock_cluster(&env.names.cluster()).await;
    let op = retry::call_with(cx, "create the GKE cluster", RetryPolicy::CLUSTER_MUTATION, || {
        client.create_cluster().set_parent(&parent).set_cluster(body.clone()).send()
    })
    .await;
    let op = match op {
        Ok(op) => op,
        Err(e) if super::common::is_already_exists(&e) => {
            // Created by a run that was interrupted between create and read: wait for it.
            return wait_running(cx).await;
        }
        Err(e) => return Err(e),
    };
    let what = format!("GKE cluster {}", env.names.cluster());
    ops::gke(cx, &env.gcp, &parent, &op.name, &what, patience::CLUSTER).await
}

async fn update(cx: &StepCx<Env>, live: &Cluster) -> anyhow::Result<()> {
    let env = &cx.env;
    if let Some((field, why)) = fixed_changes(env, live).into_iter().next() {
        anyhow::bail!(
            "{field} of GKE cluster {} cannot change in place ({why}); recreate it with `sdctl down cluster` then `sdctl up`, \
             or change {field} back",
            env.names.cluster()
        );
    }
    match live.status {
        Status::Stopping => {
            anyhow::bail!("GKE cluster {} is being deleted; run `sdctl up` again once it is gone", env.names.cluster())
        }
        Status::Error | Status::Degraded => {
            anyhow::bail!("GKE cluster {} is {:?}: {}", env.names.cluster(), live.status, conditions(live))
        }
        Status::Provisioning | Status::Reconciling => wait_running(cx).await?,
        _ => {}
    }
    let client = env.gcp.container().await?;
    let name = cluster_path(env);
    let want = desired(env, None);
    let location = location_path(env);
    let mutate = |what: &'static str, update: ClusterUpdate| {
        let name = name.clone();
        let location = location.clone();
        async move {
            let _lock = cx.lock_cluster(&env.names.cluster()).await;
            let op = retry::call_with(cx, what, RetryPolicy::CLUSTER_MUTATION, || {
                client.update_cluster().set_name(&name).set_update(update.clone()).send()
            })
            .await?;
            ops::gke(cx, &env.gcp, &location, &op.name, what, patience::CLUSTER).await
        }
    };
    if live.release_channel.as_ref().map(|r| &r.channel) != want.release_channel.as_ref().map(|r| &r.channel) {
        mutate(
            "change of the release channel",
            ClusterUpdate::new().set_desired_release_channel(want.release_channel.clone().unwrap_or_default()),
        )
        .await?;
    }
    let mut live_zones = live.locations.clone();
    live_zones.sort();
    let mut want_zones = want.locations.clone();
    want_zones.sort();
    if live_zones != want_zones {
        mutate("change of the node zones", ClusterUpdate::new().set_desired_locations(want.locations.clone())).await?;
    }
    if live.resource_labels != want.resource_labels {
        let _lock = cx.lock_cluster(&env.names.cluster()).await;
        let labels: HashMap<String, String> = want.resource_labels.clone();
        let op = retry::call_with(cx, "label the GKE cluster", RetryPolicy::CLUSTER_MUTATION, || {
            client
                .set_labels()
                .set_name(&name)
                .set_resource_labels(labels.clone())
                .set_label_fingerprint(&live.label_fingerprint)
                .send()
        })
        .await?;
        ops::gke(cx, &env.gcp, &location, &op.name, "labels of the GKE cluster", patience::CLUSTER).await?;
    }
    if let Some(pool) = live.node_pools.iter().find(|p| p.name == env.names.system_pool()) {
        let want_nodes = env.config.cluster.system_pool.nodes as i32;
        if pool.initial_node_count != want_nodes {
            let _lock = cx.lock_cluster(&env.names.cluster()).await;
            let pool_name = format!("{name}/nodePools/{}", env.names.system_pool());
            let op = retry::call_with(cx, "resize the system node pool", RetryPolicy::CLUSTER_MUTATION, || {
                client.set_node_pool_size().set_name(&pool_name).set_node_count(want_nodes).send()
            })
            .await?;
            ops::gke(cx, &env.gcp, &location, &op.name, "resize of the system node pool", patience::NODE_POOL).await?;
        }
    }
    Ok(())
}

/// Polls the cluster until RUNNING (a create or update is already under way).
async fn wait_running(cx: &StepCx<Env>) -> anyhow::Result<()> {
    use crate::gcp::wait::{Poll, until};
    let env = &cx.env;
    let client = env.gcp.container().await?;
    let name = &cluster_path(env);
    let what = format!("GKE cluster {} to be RUNNING", env.names.cluster());
    until(cx, &what, patience::CLUSTER, move || async move {
        let c = retry::call(cx, "read the GKE cluster", || client.get_cluster().set_name(name).send()).await?;
        match c.status {
            Status::Running => Ok(Poll::Ready(())),
            Status::Error | Status::Degraded | Status::Stopping => Err(ApiError::new(
                "wait for the GKE cluster",
                crate::gcp::ErrorKind::FailedPrecondition,
                format!("the cluster is {:?}: {}", c.status, conditions(&c)),
            )
            .into()),
            s => Ok(Poll::Pending(format!("{s:?}"))),
        }
    })
    .await
}

/// What GKE says about an unhealthy cluster.
fn conditions(cluster: &Cluster) -> String {
    cluster.conditions.iter().map(|c| c.message.as_str()).collect::<Vec<_>>().join("; ")
}

/// The endpoint and CA of the cluster's Kubernetes API, for the Kubernetes steps.
fn publish(env: &Env, cluster: &Cluster) {
    env.outputs.set("cluster", format!("{} ({})", env.names.cluster(), env.config.cluster_location()));
    if !cluster.endpoint.is_empty() {
        env.outputs.set("clusterEndpoint", cluster.endpoint.clone());
    }
    if let Some(ca) = cluster.master_auth.as_ref().map(|m| m.cluster_ca_certificate.clone()).filter(|c| !c.is_empty()) {
        env.outputs.set("clusterCa", ca);
    }
    if !cluster.current_master_version.is_empty() {
        env.outputs.set("kubernetesVersion", cluster.current_master_version.clone());
    }
}
