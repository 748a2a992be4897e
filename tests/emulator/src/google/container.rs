//! GKE (container v1) at `/container/v1/projects/*/locations/*/...`: clusters and node pools with
//! GKE's own operations (`status` PENDING/RUNNING/DONE, polled with `operations.get`), one
//! mutating operation per cluster at a time, quota and accelerator checks at create, the
//! autoscaler's scale-ups (stockouts), and each RUNNING cluster's Kubernetes API (`k8s`).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::compute::{self, catalog, quota};
use super::{EnumField, World, normalize_enums, state_entry, util};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::k8s::NodePoolInfo;
use crate::route::{Call, Reply, Route, route};
use crate::scenario::Provisioning;

const API: &str = "https://container.googleapis.com/v1/";
const DEFAULT_VERSIONS: &[&str] = &["1.34.6-gke.100", "1.35.3-gke.200", "1.36.1-gke.50"];

/// Default simulated durations (seconds).
const CREATE_ZONAL: f64 = 360.0;
const CREATE_REGIONAL: f64 = 480.0;
const DELETE_CLUSTER: f64 = 240.0;
const CREATE_POOL: f64 = 240.0;
const DELETE_POOL: f64 = 180.0;
const UPDATE: f64 = 60.0;
const UPGRADE: f64 = 600.0;
const GPU_SCALE_UP: f64 = 180.0;
const CPU_SCALE_UP: f64 = 90.0;

pub struct Cluster {
    pub project: String,
    pub location: String,
    pub name: String,
    /// The Cluster resource without `nodePools` (composed on output).
    pub value: Value,
    pub pools: Vec<Pool>,
    /// The operation in progress (id, type): GKE runs one mutating operation per cluster.
    pub running_op: Option<(String, String)>,
    /// Firewall rules GKE made for the cluster (removed with it).
    pub firewalls: Vec<String>,
    /// The subnetwork (relative path) and the secondary ranges GKE added to it (removed with it).
    pub subnetwork: String,
    pub secondary_ranges: Vec<String>,
}

pub struct Pool {
    pub value: Value,
    /// Nodes across all the pool's zones.
    pub nodes: u32,
}

#[derive(Default)]
pub struct State {
    pub clusters: BTreeMap<String, Cluster>,
    ops: BTreeMap<String, Value>,
}

impl State {
    /// Whether a cluster with Workload Identity on pool `pool` exists: the pool exists with it.
    pub fn has_workload_pool(&self, pool: &str) -> bool {
        self.clusters.values().any(|c| c.value["workloadIdentityConfig"]["workloadPool"] == pool)
    }

    pub fn state(&self, out: &mut Vec<Value>) {
        for (key, c) in &self.clusters {
            let status = c.value["status"].as_str().unwrap_or_default();
            out.push(state_entry("container", "Cluster", key, status, &c.value["resourceLabels"]));
            for p in &c.pools {
                let name = format!("{key}/nodePools/{}", p.value["name"].as_str().unwrap_or_default());
                out.push(state_entry(
                    "container",
                    "NodePool",
                    &name,
                    p.value["status"].as_str().unwrap_or_default(),
                    &p.value["config"]["resourceLabels"],
                ));
            }
        }
    }

    fn by_short_name(&self, name: &str) -> Option<&Cluster> {
        self.clusters.values().find(|c| c.name == name)
    }

    fn by_short_name_mut(&mut self, name: &str) -> Option<&mut Cluster> {
        self.clusters.values_mut().find(|c| c.name == name)
    }
}

impl Cluster {
    fn output(&self) -> Value {
        let mut v = self.value.clone();
        v["nodePools"] = Value::Array(self.pools.iter().map(|p| p.value.clone()).collect());
        v["currentNodeCount"] = json!(self.pools.iter().map(|p| p.nodes).sum::<u32>());
        if let Some(first) = self.pools.first() {
            v["nodeConfig"] = first.value["config"].clone();
        }
        v
    }

    fn key(&self) -> String {
        format!("projects/{}/locations/{}/clusters/{}", self.project, self.location, self.name)
    }

    fn region(&self) -> &str {
        util::region_of(&self.location)
    }

    fn private_nodes(&self) -> bool {
        self.value["privateClusterConfig"]["enablePrivateNodes"] == json!(true)
            || self.value["networkConfig"]["defaultEnablePrivateNodes"] == json!(true)
    }

    fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.value["name"] == json!(name))
    }

    fn pool_mut(&mut self, name: &str) -> Option<&mut Pool> {
        self.pools.iter_mut().find(|p| p.value["name"] == json!(name))
    }

    /// GKE's refusal when an operation is already running on the cluster.
    fn check_idle(&self) -> ApiResult<()> {
        match &self.running_op {
            None => Ok(()),
            Some((op, kind)) if kind == "CREATE_CLUSTER" => Err(ApiError::failed_precondition(format!(
                "Operation {op} is currently creating cluster {}. Please wait and try again once it is done.",
                self.name
            ))),
            Some((op, kind)) if kind == "DELETE_CLUSTER" => Err(ApiError::failed_precondition(format!(
                "Operation {op} is currently deleting cluster {}. Please wait and try again once it is done.",
                self.name
            ))),
            Some((op, _)) => {
                Err(ApiError::failed_precondition(format!("Cluster is running incompatible operation {op}.")))
            }
        }
    }

    fn check_running(&self) -> ApiResult<()> {
        self.check_idle()?;
        match self.value["status"].as_str() {
            Some("RUNNING") => Ok(()),
            Some(status) => Err(ApiError::failed_precondition(format!(
                "Cluster {} is in state {status}, not RUNNING; the operation cannot proceed.",
                self.name
            ))),
            None => Ok(()),
        }
    }
}

const CHANNEL: &[(i64, &str)] = &[(1, "RAPID"), (2, "REGULAR"), (3, "STABLE"), (4, "EXTENDED")];
/// `SecondaryBootDisk.Mode` (proto google.container.v1).
const SECONDARY_BOOT_DISK_MODE: &[(i64, &str)] = &[(0, "MODE_UNSPECIFIED"), (1, "CONTAINER_IMAGE_CACHE")];
const EFFECT: &[(i64, &str)] = &[(1, "NO_SCHEDULE"), (2, "PREFER_NO_SCHEDULE"), (3, "NO_EXECUTE")];
const DRIVER: &[(i64, &str)] = &[(1, "INSTALLATION_DISABLED"), (2, "DEFAULT"), (3, "LATEST")];
const SHARING: &[(i64, &str)] = &[(1, "TIME_SHARING"), (2, "MPS")];
const METADATA_MODE: &[(i64, &str)] = &[(1, "GCE_METADATA"), (2, "GKE_METADATA")];
const RESERVATION: &[(i64, &str)] = &[(1, "NO_RESERVATION"), (2, "ANY_RESERVATION"), (3, "SPECIFIC_RESERVATION")];
const LOCATION_POLICY: &[(i64, &str)] = &[(1, "BALANCED"), (2, "ANY")];
const UPDATE_STRATEGY: &[(i64, &str)] = &[(2, "BLUE_GREEN"), (3, "SURGE"), (5, "SHORT_LIVED")];
const DATAPATH: &[(i64, &str)] =
    &[(0, "DATAPATH_PROVIDER_UNSPECIFIED"), (1, "LEGACY_DATAPATH"), (2, "ADVANCED_DATAPATH")];
const STACK: &[(i64, &str)] = &[(1, "IPV4"), (2, "IPV4_IPV6")];
const LOG_COMPONENT: &[(i64, &str)] =
    &[(1, "SYSTEM_COMPONENTS"), (2, "WORKLOADS"), (3, "APISERVER"), (4, "SCHEDULER"), (5, "CONTROLLER_MANAGER")];
const MON_COMPONENT: &[(i64, &str)] = &[
    (1, "SYSTEM_COMPONENTS"),
    (3, "APISERVER"),
    (4, "SCHEDULER"),
    (5, "CONTROLLER_MANAGER"),
    (7, "STORAGE"),
    (8, "HPA"),
    (9, "POD"),
    (10, "DAEMONSET"),
    (11, "DEPLOYMENT"),
    (12, "STATEFULSET"),
    (13, "CADVISOR"),
    (14, "KUBELET"),
    (15, "DCGM"),
];
const GATEWAY: &[(i64, &str)] = &[(1, "CHANNEL_DISABLED"), (3, "CHANNEL_EXPERIMENTAL"), (4, "CHANNEL_STANDARD")];
const DNS_PROVIDER: &[(i64, &str)] = &[(1, "PLATFORM_DEFAULT"), (2, "CLOUD_DNS"), (3, "KUBE_DNS")];
const DNS_SCOPE: &[(i64, &str)] = &[(1, "CLUSTER_SCOPE"), (2, "VPC_SCOPE")];
const PROFILE: &[(i64, &str)] = &[(1, "OPTIMIZE_UTILIZATION"), (2, "BALANCED")];
const POSTURE: &[(i64, &str)] = &[(1, "DISABLED"), (2, "BASIC"), (3, "ENTERPRISE")];
const VULN: &[(i64, &str)] =
    &[(1, "VULNERABILITY_DISABLED"), (2, "VULNERABILITY_BASIC"), (3, "VULNERABILITY_ENTERPRISE")];

macro_rules! node_config_enums {
    ($prefix:literal) => {
        [
            EnumField { path: concat!($prefix, "taints[].effect"), values: EFFECT },
            EnumField {
                path: concat!($prefix, "accelerators[].gpuDriverInstallationConfig.gpuDriverVersion"),
                values: DRIVER,
            },
            EnumField { path: concat!($prefix, "accelerators[].gpuSharingConfig.gpuSharingStrategy"), values: SHARING },
            EnumField { path: concat!($prefix, "workloadMetadataConfig.mode"), values: METADATA_MODE },
            EnumField { path: concat!($prefix, "reservationAffinity.consumeReservationType"), values: RESERVATION },
            EnumField { path: concat!($prefix, "secondaryBootDisks[].mode"), values: SECONDARY_BOOT_DISK_MODE },
        ]
    };
}

fn normalize_pool(pool: &mut Value) {
    normalize_enums(pool, &node_config_enums!("config."));
    normalize_enums(
        pool,
        &[
            EnumField { path: "autoscaling.locationPolicy", values: LOCATION_POLICY },
            EnumField { path: "upgradeSettings.strategy", values: UPDATE_STRATEGY },
        ],
    );
}

fn normalize_cluster(cluster: &mut Value) {
    normalize_enums(cluster, &node_config_enums!("nodeConfig."));
    normalize_enums(
        cluster,
        &[
            EnumField { path: "releaseChannel.channel", values: CHANNEL },
            EnumField { path: "networkConfig.datapathProvider", values: DATAPATH },
            EnumField { path: "networkConfig.gatewayApiConfig.channel", values: GATEWAY },
            EnumField { path: "networkConfig.dnsConfig.clusterDns", values: DNS_PROVIDER },
            EnumField { path: "networkConfig.dnsConfig.clusterDnsScope", values: DNS_SCOPE },
            EnumField { path: "ipAllocationPolicy.stackType", values: STACK },
            EnumField { path: "loggingConfig.componentConfig.enableComponents[]", values: LOG_COMPONENT },
            EnumField { path: "monitoringConfig.componentConfig.enableComponents[]", values: MON_COMPONENT },
            EnumField { path: "autoscaling.autoscalingProfile", values: PROFILE },
            EnumField { path: "securityPostureConfig.mode", values: POSTURE },
            EnumField { path: "securityPostureConfig.vulnerabilityMode", values: VULN },
        ],
    );
    if let Some(pools) = cluster.get_mut("nodePools").and_then(Value::as_array_mut) {
        pools.iter_mut().for_each(normalize_pool);
    }
}

pub fn routes() -> Vec<Route> {
    const C: &str = "v1/projects/{project}/locations/{location}/clusters";
    const ONE: &str = "v1/projects/{project}/locations/{location}/clusters/{cluster}";
    const POOLS: &str = "v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools";
    const POOL: &str = "v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{pool}";
    vec![
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/serverConfig",
            "container.projects.locations.getServerConfig",
            server_config,
        ),
        route(Method::POST, C, "container.projects.locations.clusters.create", create_cluster),
        route(Method::GET, C, "container.projects.locations.clusters.list", list_clusters),
        route(Method::GET, ONE, "container.projects.locations.clusters.get", get_cluster),
        route(Method::DELETE, ONE, "container.projects.locations.clusters.delete", delete_cluster),
        route(Method::PUT, ONE, "container.projects.locations.clusters.update", update_cluster),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/clusters/{cluster}:setResourceLabels",
            "container.projects.locations.clusters.setResourceLabels",
            set_labels,
        ),
        route(Method::POST, POOLS, "container.projects.locations.clusters.nodePools.create", create_pool),
        route(Method::GET, POOLS, "container.projects.locations.clusters.nodePools.list", list_pools),
        route(Method::GET, POOL, "container.projects.locations.clusters.nodePools.get", get_pool),
        route(Method::DELETE, POOL, "container.projects.locations.clusters.nodePools.delete", delete_pool),
        route(Method::PUT, POOL, "container.projects.locations.clusters.nodePools.update", update_pool),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{pool}:setAutoscaling",
            "container.projects.locations.clusters.nodePools.setAutoscaling",
            set_autoscaling,
        ),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{pool}:setSize",
            "container.projects.locations.clusters.nodePools.setSize",
            set_size,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations",
            "container.projects.locations.operations.list",
            list_ops,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations/{operation}",
            "container.projects.locations.operations.get",
            get_op,
        ),
    ]
}

/// GKE versions newest first.
fn versions(app: &App) -> Vec<String> {
    let scenario = app.scenario();
    let mut v: Vec<String> = if scenario.kubernetes_versions.is_empty() {
        DEFAULT_VERSIONS.iter().map(|s| s.to_string()).collect()
    } else {
        scenario.kubernetes_versions.clone()
    };
    v.sort_by_key(|s| std::cmp::Reverse(version_key(s)));
    v
}

fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect()
}

fn default_version(app: &App) -> String {
    let all = versions(app);
    all.iter().find(|v| v.starts_with("1.35.")).cloned().unwrap_or_else(|| all[all.len() / 2].clone())
}

/// A requested version (`latest`, `-`, `1.35`, `1.35.3-gke.200`) as a concrete one.
fn resolve_version(app: &App, requested: &str) -> Option<String> {
    let all = versions(app);
    match requested {
        "" | "-" => Some(default_version(app)),
        "latest" => all.first().cloned(),
        r => {
            all.iter().find(|v| *v == r || v.starts_with(&format!("{r}.")) || v.starts_with(&format!("{r}-"))).cloned()
        }
    }
}

fn server_config(app: &Arc<App>, _call: &Call) -> ApiResult<Reply> {
    let all = versions(app);
    let default = default_version(app);
    let newest = all.first().cloned().unwrap_or_default();
    let oldest = all.last().cloned().unwrap_or_default();
    let channel =
        |name: &str, default: &str| json!({ "channel": name, "defaultVersion": default, "validVersions": all });
    Ok(Reply::json(json!({
        "defaultClusterVersion": default,
        "validNodeVersions": all,
        "defaultImageType": "COS_CONTAINERD",
        "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD"],
        "validMasterVersions": all,
        "channels": [
            channel("RAPID", &newest),
            channel("REGULAR", &default),
            channel("STABLE", &oldest),
            channel("EXTENDED", &oldest),
        ],
    })))
}

fn cluster_key(app: &App, call: &Call) -> String {
    format!(
        "projects/{}/locations/{}/clusters/{}",
        app.project_id(call.param("project")),
        call.param("location"),
        call.param("cluster")
    )
}

fn not_found(what: &str) -> ApiError {
    ApiError::not_found(format!("Not found: {what}."))
}

/// `zones/{z}` for a zonal location, `locations/{r}` for a region (GKE's selfLink forms).
fn location_path(location: &str) -> String {
    if util::is_zone(location) { format!("zones/{location}") } else { format!("locations/{location}") }
}

/// Records a RUNNING GKE operation on `target` (`clusters/c` or `clusters/c/nodePools/p`).
fn start_op(app: &App, world: &mut World, project: &str, location: &str, op_type: &str, target: &str) -> Value {
    let id = util::operation_id(app);
    let number = app.project_number(project);
    let loc = location_path(location);
    let op = json!({
        "name": id,
        "zone": location,
        "operationType": op_type,
        "status": "RUNNING",
        "selfLink": format!("{API}projects/{number}/{loc}/operations/{id}"),
        "targetLink": format!("{API}projects/{number}/{loc}/{target}"),
        "location": location,
        "startTime": now_rfc3339(),
    });
    world.container.ops.insert(format!("projects/{project}/locations/{location}/operations/{id}"), op.clone());
    op
}

fn finish_op(world: &mut World, project: &str, location: &str, op: &Value, result: Result<(), ApiError>) {
    let key = format!("projects/{project}/locations/{location}/operations/{}", op["name"].as_str().unwrap_or_default());
    if let Some(op) = world.container.ops.get_mut(&key) {
        op["status"] = json!("DONE");
        op["endTime"] = json!(now_rfc3339());
        if let Err(e) = result {
            op["statusMessage"] = json!(e.message);
            op["error"] = json!({ "code": crate::error::grpc_code(e.status), "message": e.message });
        }
    }
}

fn release_op(world: &mut World, key: &str, op: &Value) {
    if let Some(c) = world.container.clusters.get_mut(key)
        && c.running_op.as_ref().is_some_and(|(id, _)| json!(id) == op["name"])
    {
        c.running_op = None;
    }
}

/// What a node pool needs from its cluster to be checked.
struct PoolContext<'a> {
    project: &'a str,
    cluster: &'a str,
    region: &'a str,
    locations: &'a [String],
    version: &'a str,
    private: bool,
}

/// Validates a node pool from a request and returns it stored-shaped, with its node count.
fn build_pool(app: &App, world: &World, ctx: &PoolContext, mut pool: Value) -> ApiResult<Pool> {
    let name = pool["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid("Node pool name must be specified."));
    }
    if !util::is_rfc1035(&name, 40) {
        return Err(ApiError::invalid(format!(
            "Invalid node pool name \"{name}\": must match ^[a-z]([-a-z0-9]*[a-z0-9])?$ and be at most 40 characters."
        )));
    }
    let locations: Vec<String> = match pool["locations"].as_array() {
        Some(l) if !l.is_empty() => l.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => ctx.locations.to_vec(),
    };
    for zone in &locations {
        if util::region_of(zone) != ctx.region || !catalog::zone_exists(zone) {
            return Err(ApiError::invalid(format!("Location \"{zone}\" is not a zone of region \"{}\".", ctx.region)));
        }
    }
    let config = pool["config"].as_object().cloned().unwrap_or_default();
    let mut config = Value::Object(config);
    let machine_name = config["machineType"].as_str().unwrap_or("e2-medium").to_string();
    let machine = catalog::machine_type(&machine_name)
        .map_err(|e| ApiError::invalid(format!("Invalid machine type \"{machine_name}\": {e}")))?;
    let scenario = app.scenario();
    if let Some((accel, _)) = machine.accelerator {
        for zone in &locations {
            if !scenario.offers_accelerator(zone, accel) {
                return Err(ApiError::invalid(format!(
                    "Machine type \"{machine_name}\" is not available in zone \"{zone}\"."
                )));
            }
        }
    }
    let mut gpus_per_node = machine.accelerator.map(|(_, n)| n).unwrap_or(0);
    let mut gpu_type = machine.accelerator.map(|(a, _)| a.to_string());
    for accel in config["accelerators"].as_array().cloned().unwrap_or_default() {
        let accel_type = accel["acceleratorType"].as_str().unwrap_or_default().to_string();
        let count = util::as_u64(&accel["acceleratorCount"]).unwrap_or(0) as u32;
        if !catalog::accelerator_exists(&accel_type) {
            return Err(ApiError::invalid(format!("Accelerator type \"{accel_type}\" does not exist.")));
        }
        for zone in &locations {
            if !scenario.offers_accelerator(zone, &accel_type) {
                return Err(ApiError::invalid(format!(
                    "Accelerator type \"{accel_type}\" does not exist in zone {zone}."
                )));
            }
        }
        catalog::accelerator_fits(&machine, &accel_type).map_err(ApiError::invalid)?;
        gpus_per_node = count;
        gpu_type = Some(accel_type);
    }
    let service_account = config["serviceAccount"].as_str().unwrap_or("default").to_string();
    if service_account != "default" && !world.iam.known(app, &service_account) {
        return Err(ApiError::invalid(format!("Service account \"{service_account}\" does not exist.")));
    }
    check_secondary_boot_disks(world, &config)?;
    let defaults = [
        ("machineType", json!(machine_name)),
        ("diskSizeGb", json!(100)),
        ("diskType", json!("pd-balanced")),
        ("imageType", json!("COS_CONTAINERD")),
        ("serviceAccount", json!(service_account)),
        (
            "oauthScopes",
            json!([
                "https://www.googleapis.com/auth/devstorage.read_only",
                "https://www.googleapis.com/auth/logging.write",
                "https://www.googleapis.com/auth/monitoring"
            ]),
        ),
        ("metadata", json!({ "disable-legacy-endpoints": "true" })),
    ];
    for (field, value) in defaults {
        if config.get(field).is_none() {
            config[field] = value;
        }
    }
    pool["config"] = config;
    let autoscaling = &pool["autoscaling"];
    if autoscaling["enabled"] == json!(true) {
        let (min, max) = (autoscaling["minNodeCount"].as_i64(), autoscaling["maxNodeCount"].as_i64());
        let (tmin, tmax) = (autoscaling["totalMinNodeCount"].as_i64(), autoscaling["totalMaxNodeCount"].as_i64());
        if (min.is_some() || max.is_some()) && (tmin.is_some() || tmax.is_some()) {
            return Err(ApiError::invalid(
                "Autoscaling limits must be either per zone (min/max_node_count) or total (total_min/max_node_count), not both.",
            ));
        }
        let (lo, hi) = if tmin.is_some() || tmax.is_some() {
            (tmin.unwrap_or(0), tmax.unwrap_or(0))
        } else {
            (min.unwrap_or(0), max.unwrap_or(0))
        };
        if lo < 0 || hi < lo || hi == 0 {
            return Err(ApiError::invalid(format!("Invalid autoscaling limits: minimum {lo}, maximum {hi}.")));
        }
        if pool["autoscaling"].get("locationPolicy").is_none() {
            pool["autoscaling"]["locationPolicy"] = json!("BALANCED");
        }
    }
    let initial = pool["initialNodeCount"].as_i64().unwrap_or(0);
    if initial < 0 {
        return Err(ApiError::invalid("initial_node_count must be non-negative."));
    }
    let nodes = initial as u32 * locations.len() as u32;
    let hash = &short_hash(&format!("{}/{}/{name}", ctx.project, ctx.cluster))[..8];
    let number = app.project_number(ctx.project);
    pool["locations"] = json!(locations);
    pool["version"] = json!(ctx.version);
    pool["status"] = json!("PROVISIONING");
    pool["podIpv4CidrSize"] = json!(24);
    pool["selfLink"] = json!(format!(
        "{API}projects/{number}/locations/{}/clusters/{}/nodePools/{name}",
        ctx.region_or_location(),
        ctx.cluster
    ));
    pool["instanceGroupUrls"] = json!(
        locations
            .iter()
            .map(|z| format!(
                "{}projects/{}/zones/{z}/instanceGroupManagers/gke-{}-{name}-{hash}-grp",
                compute::BASE,
                ctx.project,
                ctx.cluster
            ))
            .collect::<Vec<_>>()
    );
    if pool.get("management").is_none() {
        pool["management"] = json!({ "autoUpgrade": true, "autoRepair": true });
    }
    if pool.get("upgradeSettings").is_none() {
        pool["upgradeSettings"] = json!({ "maxSurge": 1, "strategy": "SURGE" });
    }
    pool["etag"] = json!(util::etag(app.next()));
    let _ = (gpus_per_node, gpu_type, ctx.private);
    Ok(Pool { value: pool, nodes })
}

/// How a pool's nodes get container images: an image-cache secondary boot disk (assumed to hold
/// the WebUI image: the emulator does not look inside disk images), image streaming, or a pull.
fn image_pull(config: &Value) -> crate::k8s::coldstart::ImagePull {
    use crate::k8s::coldstart::ImagePull;
    let cache =
        config["secondaryBootDisks"].as_array().into_iter().flatten().any(|d| d["mode"] == "CONTAINER_IMAGE_CACHE");
    if cache {
        ImagePull::Cache
    } else if config["gcfsConfig"]["enabled"] == json!(true) {
        ImagePull::Streaming
    } else {
        ImagePull::Registry
    }
}

/// `secondaryBootDisks`: each names an existing Compute image by its full resource id; the
/// CONTAINER_IMAGE_CACHE mode needs image streaming on the pool (GKE reads the cache through its
/// containerd plugin). The error wordings are ours.
fn check_secondary_boot_disks(world: &World, config: &Value) -> ApiResult<()> {
    for disk in config["secondaryBootDisks"].as_array().into_iter().flatten() {
        let image = disk["diskImage"].as_str().unwrap_or_default();
        let relative = image.strip_prefix(compute::BASE).unwrap_or(image);
        if !relative.starts_with("projects/") || world.compute.get(relative).is_none() {
            return Err(ApiError::invalid(format!(
                "Secondary boot disk image \"{image}\" was not found; give an existing image as projects/PROJECT/global/images/NAME."
            )));
        }
        let mode = disk["mode"].as_str().unwrap_or("MODE_UNSPECIFIED");
        if mode == "CONTAINER_IMAGE_CACHE" && config["gcfsConfig"]["enabled"] != json!(true) {
            return Err(ApiError::invalid(
                "Secondary boot disks in CONTAINER_IMAGE_CACHE mode need image streaming (gcfsConfig.enabled) on the node pool.",
            ));
        }
    }
    Ok(())
}

impl PoolContext<'_> {
    fn region_or_location(&self) -> &str {
        self.locations.first().map(|_| self.region).unwrap_or(self.region)
    }
}

/// What a pool consumes per node: (scope, metric) -> amount.
fn per_node_demand(pool: &Value, region: &str, private: bool) -> quota::Usage {
    let mut demand = quota::Usage::new();
    let config = &pool["config"];
    let machine = catalog::machine_type(config["machineType"].as_str().unwrap_or("e2-medium")).ok();
    let cpus = machine.as_ref().map(|m| m.cpus).unwrap_or(2) as f64;
    quota::add(&mut demand, region, "CPUS", cpus);
    quota::add(&mut demand, quota::GLOBAL, "CPUS_ALL_REGIONS", cpus);
    // Spot and flex-start VMs draw on the preemptible GPU quota (GKE's flex-start how-to: "quota
    // for preemptible GPUs"); the fallback to standard quota when none is granted is not modelled.
    let spot = provisioning(pool) != Provisioning::Standard;
    let mut gpu = machine.as_ref().and_then(|m| m.accelerator.map(|(a, n)| (a.to_string(), n as f64)));
    if let Some(accel) = config["accelerators"].as_array().and_then(|a| a.first()) {
        gpu = Some((
            accel["acceleratorType"].as_str().unwrap_or_default().to_string(),
            util::as_u64(&accel["acceleratorCount"]).unwrap_or(0) as f64,
        ));
    }
    if let Some((accel, count)) = gpu
        && let Some(metric) = catalog::gpu_metric(&accel, spot)
    {
        quota::add(&mut demand, region, &metric, count);
        quota::add(&mut demand, quota::GLOBAL, "GPUS_ALL_REGIONS", count);
    }
    let disk = util::as_u64(&config["diskSizeGb"]).unwrap_or(100) as f64;
    let disk_metric = if config["diskType"] == json!("pd-standard") { "DISKS_TOTAL_GB" } else { "SSD_TOTAL_GB" };
    quota::add(&mut demand, region, disk_metric, disk);
    if !private && pool["networkConfig"]["enablePrivateNodes"] != json!(true) {
        quota::add(&mut demand, region, "IN_USE_ADDRESSES", 1.0);
    }
    demand
}

fn times(demand: &quota::Usage, n: u32) -> quota::Usage {
    demand.iter().map(|(k, v)| (k.clone(), v * n as f64)).collect()
}

/// Node usage of every GKE cluster of the project (quota accounting).
pub fn usage(world: &World, project: &str, usage: &mut quota::Usage) {
    for c in world.container.clusters.values().filter(|c| c.project == project) {
        for p in &c.pools {
            for ((scope, metric), v) in times(&per_node_demand(&p.value, c.region(), c.private_nodes()), p.nodes) {
                quota::add(usage, &scope, &metric, v);
            }
        }
    }
}

/// The quota check GKE does when a request arrives (create, resize): 403 naming the metric.
fn check_quota(app: &App, world: &World, project: &str, demand: &quota::Usage) -> ApiResult<()> {
    let current = quota::usage(world, project);
    quota::check(&app.scenario(), &current, demand).map_err(|s| s.gke_error(project))
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A network reference as GKE takes it (`default`, `projects/p/global/networks/default`, a URL).
fn network_path(project: &str, network: &str, collection: &str, region: &str) -> String {
    let short = network.rsplit('/').next().unwrap_or(network);
    if collection == "networks" {
        format!("projects/{project}/global/networks/{short}")
    } else {
        format!("projects/{project}/regions/{region}/subnetworks/{short}")
    }
}

fn create_cluster(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let location = call.param("location").to_string();
    let mut cluster = call.field("cluster").clone();
    if !cluster.is_object() {
        return Err(ApiError::invalid("Cluster must be specified."));
    }
    normalize_cluster(&mut cluster);
    let name = cluster["name"].as_str().unwrap_or_default().to_string();
    if !util::is_rfc1035(&name, 40) {
        return Err(ApiError::invalid(format!(
            "Invalid value for field \"cluster.name\": \"{name}\". Must match regex ^[a-z]([-a-z0-9]*[a-z0-9])?$ and be at most 40 characters."
        )));
    }
    let region = util::region_of(&location).to_string();
    if !catalog::region_exists(&region) || (util::is_zone(&location) && !catalog::zone_exists(&location)) {
        return Err(ApiError::invalid(format!("Location \"{location}\" does not exist.")));
    }
    util::check_labels(&cluster["resourceLabels"])?;
    let key = format!("projects/{project}/locations/{location}/clusters/{name}");
    let mut world = app.world();
    if world.container.clusters.contains_key(&key) {
        return Err(ApiError::already_exists(format!("Already exists: {key}.")));
    }
    world.compute.seed(app, &project);

    let locations: Vec<String> = match cluster["locations"].as_array() {
        Some(l) if !l.is_empty() => l.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ if util::is_zone(&location) => vec![location.clone()],
        _ => catalog::zones_of(&region).into_iter().take(3).collect(),
    };
    let network_name = cluster["network"].as_str().unwrap_or("default").to_string();
    let network = network_path(
        &project,
        cluster["networkConfig"]["network"].as_str().unwrap_or(&network_name),
        "networks",
        &region,
    );
    if world.compute.get(&network).is_none() {
        return Err(ApiError::invalid(format!(
            "Network \"{}\" does not exist.",
            network.rsplit('/').next().unwrap_or_default()
        )));
    }
    let subnet_name = cluster["subnetwork"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| network.rsplit('/').next().unwrap_or("default").to_string());
    let subnetwork = network_path(
        &project,
        cluster["networkConfig"]["subnetwork"].as_str().unwrap_or(&subnet_name),
        "subnetworks",
        &region,
    );
    match world.compute.get(&subnetwork) {
        None => return Err(ApiError::invalid(format!("Subnetwork \"{subnetwork}\" does not exist."))),
        Some(s) if s["network"] != json!(format!("{}{network}", compute::BASE)) => {
            return Err(ApiError::invalid(format!("Subnetwork \"{subnetwork}\" is not in network \"{network}\".")));
        }
        Some(_) => {}
    }
    let channel = cluster["releaseChannel"]["channel"].as_str().unwrap_or("REGULAR").to_string();
    let requested = cluster["initialClusterVersion"].as_str().unwrap_or_default().to_string();
    let version = resolve_version(app, &requested)
        .ok_or_else(|| ApiError::invalid(format!("Master version \"{requested}\" is unsupported.")))?;
    let private = cluster["privateClusterConfig"]["enablePrivateNodes"] == json!(true)
        || cluster["networkConfig"]["defaultEnablePrivateNodes"] == json!(true);

    let pools_in =
        match (cluster["nodePools"].as_array(), cluster.get("initialNodeCount").or(cluster.get("nodeConfig"))) {
            (Some(p), Some(_)) if !p.is_empty() => {
                return Err(ApiError::invalid("Cannot specify both node_pools and initial_node_count or node_config."));
            }
            (Some(p), None) if !p.is_empty() => p.clone(),
            _ => vec![json!({
                "name": "default-pool",
                "initialNodeCount": cluster["initialNodeCount"].as_i64().unwrap_or(3),
                "config": cluster.get("nodeConfig").cloned().unwrap_or_else(|| json!({})),
            })],
        };
    let ctx = PoolContext {
        project: &project,
        cluster: &name,
        region: &region,
        locations: &locations,
        version: &version,
        private,
    };
    let mut pools = Vec::new();
    let mut demand = quota::Usage::new();
    for p in pools_in {
        let pool = build_pool(app, &world, &ctx, p)?;
        if pools.iter().any(|q: &Pool| q.value["name"] == pool.value["name"]) {
            return Err(ApiError::invalid(format!(
                "Node pool names must be unique: \"{}\".",
                pool.value["name"].as_str().unwrap_or_default()
            )));
        }
        for (k, v) in times(&per_node_demand(&pool.value, &region, private), pool.nodes) {
            *demand.entry(k).or_default() += v;
        }
        pools.push(pool);
    }
    check_quota(app, &world, &project, &demand)?;

    // The pod, service and control-plane ranges: given ones must be free in the network (GKE
    // adds pods and services as secondary ranges of the subnet); else GKE picks them.
    let net_name = network.rsplit('/').next().unwrap_or("default").to_string();
    let policy = &cluster["ipAllocationPolicy"];
    let given =
        |field: &str| policy[field].as_str().filter(|r| r.contains('/') && !r.starts_with('/')).map(String::from);
    let (pods_given, services_given) = (given("clusterIpv4CidrBlock"), given("servicesIpv4CidrBlock"));
    let master_given =
        cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str().filter(|r| !r.is_empty()).map(String::from);
    for (range, what) in [
        (&pods_given, "the cluster's pods"),
        (&services_given, "the cluster's services"),
        (&master_given, "the control plane"),
    ] {
        if let Some(range) = range {
            compute::vpc::check_free(&world, &project, &net_name, range, what)?;
        }
    }
    if let (Some(a), Some(b)) = (&pods_given, &services_given)
        && compute::kinds::overlaps(a, b)
    {
        return Err(ApiError::invalid(format!("The pod range {a} and the service range {b} overlap.")));
    }
    let number = app.project_number(&project);
    let n = app.next();
    let mut value = cluster;
    if let Some(map) = value.as_object_mut() {
        for field in ["nodePools", "initialNodeCount", "nodeConfig"] {
            map.remove(field);
        }
    }
    let pod_range = pods_given.clone().unwrap_or_else(|| format!("10.{}.0.0/14", (n * 4) % 200));
    let service_range = services_given.clone().unwrap_or_else(|| "34.118.224.0/20".to_string());
    let fields = [
        ("name", json!(name)),
        ("location", json!(location)),
        ("zone", json!(location)),
        ("locations", json!(locations)),
        ("selfLink", json!(format!("{API}projects/{number}/{}/clusters/{name}", location_path(&location)))),
        ("id", json!(&short_hash(&key)[..32])),
        ("status", json!("PROVISIONING")),
        ("createTime", json!(now_rfc3339())),
        ("initialClusterVersion", json!(version)),
        ("currentMasterVersion", json!(version)),
        ("currentNodeVersion", json!(version)),
        ("network", json!(network.rsplit('/').next().unwrap_or_default())),
        ("subnetwork", json!(subnetwork.rsplit('/').next().unwrap_or_default())),
        ("clusterIpv4Cidr", json!(pod_range)),
        ("servicesIpv4Cidr", json!(service_range)),
        ("nodeIpv4CidrSize", json!(24)),
        ("loggingService", json!("logging.googleapis.com/kubernetes")),
        ("monitoringService", json!("monitoring.googleapis.com/kubernetes")),
        ("labelFingerprint", json!(util::etag(app.next()))),
        ("etag", json!(util::etag(app.next()))),
    ];
    for (field, v) in fields {
        value[field] = v;
    }
    value["releaseChannel"] = json!({ "channel": channel });
    value["networkConfig"]["network"] = json!(network);
    value["networkConfig"]["subnetwork"] = json!(subnetwork);
    value["ipAllocationPolicy"]["useIpAliases"] = json!(true);
    value["ipAllocationPolicy"]["clusterIpv4CidrBlock"] = json!(pod_range);
    value["ipAllocationPolicy"]["servicesIpv4CidrBlock"] = json!(service_range);
    let secondary_ranges =
        add_secondary_ranges(&mut world, &subnetwork, &name, &[("pods", &pod_range), ("services", &service_range)]);
    value["masterAuth"] = json!({});
    if value.get("resourceLabels").is_none() {
        value["resourceLabels"] = json!({});
    }

    // GKE makes firewall rules for the cluster in its network; they go when the cluster goes.
    let fw_hash = &short_hash(&key)[..8];
    let mut firewalls = Vec::new();
    for (suffix, ranges, allowed) in [
        (
            "all",
            json!([pod_range]),
            json!([{ "IPProtocol": "tcp" }, { "IPProtocol": "udp" }, { "IPProtocol": "icmp" }]),
        ),
        (
            "vms",
            json!(["10.128.0.0/9"]),
            json!([{ "IPProtocol": "tcp", "ports": ["1-65535"] }, { "IPProtocol": "udp", "ports": ["1-65535"] }, { "IPProtocol": "icmp" }]),
        ),
    ] {
        let fw_name = format!("gke-{name}-{fw_hash}-{suffix}");
        let fw_key = format!("projects/{project}/global/firewalls/{fw_name}");
        let fw = json!({
            "kind": "compute#firewall", "id": app.numeric_id(), "creationTimestamp": now_rfc3339(), "name": fw_name,
            "network": format!("{}{network}", compute::BASE), "priority": 1000, "direction": "INGRESS",
            "sourceRanges": ranges, "allowed": allowed, "targetTags": [format!("gke-{name}-{fw_hash}-node")],
            "selfLink": format!("{}{fw_key}", compute::BASE), "logConfig": { "enable": false }, "disabled": false,
        });
        world.compute.insert_ready("Firewall", fw_key.clone(), fw, false);
        firewalls.push(fw_key);
    }

    let op = start_op(app, &mut world, &project, &location, "CREATE_CLUSTER", &format!("clusters/{name}"));
    world.container.clusters.insert(
        key.clone(),
        Cluster {
            project: project.clone(),
            location: location.clone(),
            name: name.clone(),
            value,
            pools,
            running_op: Some((op["name"].as_str().unwrap_or_default().to_string(), "CREATE_CLUSTER".into())),
            firewalls,
            subnetwork: subnetwork.clone(),
            secondary_ranges,
        },
    );
    drop(world);

    let default_secs = if util::is_zone(&location) { CREATE_ZONAL } else { CREATE_REGIONAL };
    let delay = app.latency(call.id, default_secs);
    let op_done = op.clone();
    app.after_async(delay, move |app| async move {
        let external_denied = app.scenario().org_policies.get("compute.vmExternalIpAccess").is_some_and(|v| v == "deny");
        let outcome = if external_denied && !private {
            Err(ApiError::failed_precondition(format!(
                "Google Compute Engine: Constraint constraints/compute.vmExternalIpAccess violated for project {}. Add instance projects/{project}/zones/{}/instances/gke-{name}-default-pool to the constraint to use external IP with it.",
                app.project_number(&project),
                locations.first().cloned().unwrap_or_default()
            )))
        } else {
            app.clusters.start(&name, &version).await.map_err(|e| {
                eprintln!("sdctl-emulator: cannot start the Kubernetes API of cluster {name}: {e:#}");
                ApiError::new(500, format!("Internal error while starting the control plane of cluster {name}: {e:#}"))
            })
        };
        let mut world = app.world();
        let result = {
            let Some(c) = world.container.clusters.get_mut(&key) else {
                return;
            };
            match outcome {
                Ok(endpoint) => {
                    c.value["status"] = json!("RUNNING");
                    c.value["endpoint"] = json!(endpoint.endpoint);
                    c.value["masterAuth"]["clusterCaCertificate"] = json!(base64::engine::general_purpose::STANDARD.encode(endpoint.ca_pem.as_bytes()));
                    for p in &mut c.pools {
                        p.value["status"] = json!("RUNNING");
                    }
                    Ok(())
                }
                Err(e) => {
                    c.value["status"] = json!("ERROR");
                    c.value["statusMessage"] = json!(e.message);
                    for p in &mut c.pools {
                        p.value["status"] = json!("ERROR");
                        p.nodes = 0;
                    }
                    Err(e)
                }
            }
        };
        finish_op(&mut world, &project, &location, &op_done, result);
        release_op(&mut world, &key, &op_done);
    });
    Ok(Reply::json(op))
}

fn list_clusters(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let location = call.param("location");
    let world = app.world();
    let clusters: Vec<Value> = world
        .container
        .clusters
        .values()
        .filter(|c| c.project == project && (location == "-" || c.location == location))
        .map(Cluster::output)
        .collect();
    Ok(Reply::json(json!({ "clusters": clusters })))
}

fn get_cluster(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let world = app.world();
    world.container.clusters.get(&key).map(|c| Reply::json(c.output())).ok_or_else(|| not_found(&key))
}

fn delete_cluster(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let mut world = app.world();
    let (project, location, name) = {
        let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
        c.check_idle()?;
        (c.project.clone(), c.location.clone(), c.name.clone())
    };
    let op = start_op(app, &mut world, &project, &location, "DELETE_CLUSTER", &format!("clusters/{name}"));
    if let Some(c) = world.container.clusters.get_mut(&key) {
        c.value["status"] = json!("STOPPING");
        for p in &mut c.pools {
            p.value["status"] = json!("STOPPING");
        }
        c.running_op = Some((op["name"].as_str().unwrap_or_default().to_string(), "DELETE_CLUSTER".into()));
    }
    drop(world);
    let delay = app.latency(call.id, DELETE_CLUSTER);
    let op_done = op.clone();
    app.after_async(delay, move |app| async move {
        app.clusters.stop(&name).await;
        let mut world = app.world();
        if let Some(c) = world.container.clusters.remove(&key) {
            for fw in c.firewalls {
                world.compute.resources.remove(&fw);
            }
            remove_secondary_ranges(&mut world, &c.subnetwork, &c.secondary_ranges);
        }
        finish_op(&mut world, &project, &location, &op_done, Ok(()));
    });
    Ok(Reply::json(op))
}

/// GKE's secondary ranges for a VPC-native cluster given CIDR blocks: `gke-<cluster>-<what>-<hash>`
/// in its subnet (ranges in 10/8 only: the GKE-managed service range is not the subnet's).
fn add_secondary_ranges(world: &mut World, subnetwork: &str, cluster: &str, ranges: &[(&str, &str)]) -> Vec<String> {
    let mut names = Vec::new();
    let Some(subnet) = world.compute.resources.get_mut(subnetwork) else { return names };
    for (what, range) in
        ranges.iter().filter(|(_, r)| r.starts_with("10.") || r.starts_with("172.") || r.starts_with("192.168."))
    {
        let name = format!("gke-{cluster}-{what}-{}", &short_hash(&format!("{subnetwork}/{cluster}/{what}"))[..8]);
        let list = subnet.value.as_object_mut().map(|m| m.entry("secondaryIpRanges").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            list.push(json!({"rangeName": name, "ipCidrRange": range}));
        }
        names.push(name);
    }
    names
}

fn remove_secondary_ranges(world: &mut World, subnetwork: &str, names: &[String]) {
    if let Some(list) =
        world.compute.resources.get_mut(subnetwork).and_then(|s| s.value["secondaryIpRanges"].as_array_mut())
    {
        list.retain(|r| !names.iter().any(|n| r["rangeName"] == n.as_str()));
    }
}

/// Runs a cluster-level mutation as an operation: refuses when another runs, applies `apply` when done.
fn mutate(
    app: &Arc<App>,
    call: &Call,
    op_type: &str,
    target_pool: Option<&str>,
    secs: f64,
    reconciling: bool,
    apply: impl FnOnce(&mut Cluster) + Send + 'static,
) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let mut world = app.world();
    let (project, location, name) = {
        let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
        c.check_running()?;
        if let Some(pool) = target_pool
            && c.pool(pool).is_none()
        {
            return Err(not_found(&format!("{key}/nodePools/{pool}")));
        }
        (c.project.clone(), c.location.clone(), c.name.clone())
    };
    let target = match target_pool {
        Some(pool) => format!("clusters/{name}/nodePools/{pool}"),
        None => format!("clusters/{name}"),
    };
    let op = start_op(app, &mut world, &project, &location, op_type, &target);
    if let Some(c) = world.container.clusters.get_mut(&key) {
        c.running_op = Some((op["name"].as_str().unwrap_or_default().to_string(), op_type.to_string()));
        if reconciling {
            c.value["status"] = json!("RECONCILING");
        }
    }
    drop(world);
    let op_done = op.clone();
    app.after(app.latency(call.id, secs), move |_, world| {
        if let Some(c) = world.container.clusters.get_mut(&key) {
            apply(c);
            if reconciling {
                c.value["status"] = json!("RUNNING");
            }
            c.value["etag"] = json!(util::etag(crate::clock::now_millis() as u64));
        }
        finish_op(world, &project, &location, &op_done, Ok(()));
        release_op(world, &key, &op_done);
    });
    Ok(Reply::json(op))
}

fn update_cluster(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let mut update = call.field("update").clone();
    let Some(fields) = update.as_object().filter(|m| !m.is_empty()).cloned() else {
        return Err(ApiError::invalid("Update must specify at least one field."));
    };
    normalize_enums(
        &mut update,
        &[
            EnumField { path: "desiredReleaseChannel.channel", values: CHANNEL },
            EnumField { path: "desiredDatapathProvider", values: DATAPATH },
            EnumField { path: "desiredNodePoolAutoscaling.locationPolicy", values: LOCATION_POLICY },
        ],
    );
    let fields = update.as_object().cloned().unwrap_or(fields);
    let pool = fields.get("desiredNodePoolId").and_then(Value::as_str).map(str::to_string);
    if let Some(version) = fields.get("desiredMasterVersion").and_then(Value::as_str)
        && resolve_version(app, version).is_none()
    {
        return Err(ApiError::invalid(format!("Master version \"{version}\" is unsupported.")));
    }
    let upgrade = fields.contains_key("desiredMasterVersion") || fields.contains_key("desiredNodeVersion");
    let (op_type, secs) = if fields.contains_key("desiredMasterVersion") {
        ("UPGRADE_MASTER", UPGRADE)
    } else if upgrade {
        ("UPGRADE_NODES", UPGRADE)
    } else {
        ("UPDATE_CLUSTER", UPDATE)
    };
    let versions_app = app.clone();
    let target = pool.clone();
    mutate(app, call, op_type, target.as_deref(), secs, true, move |c| {
        for (field, v) in fields {
            match field.as_str() {
                "desiredNodePoolId" => {}
                "desiredNodePoolAutoscaling" => {
                    if let Some(p) = pool.as_deref().and_then(|p| c.pool_mut(p)) {
                        p.value["autoscaling"] = v;
                    }
                }
                "desiredNodeVersion" => {
                    let version = resolve_version(&versions_app, v.as_str().unwrap_or_default()).unwrap_or_default();
                    for p in c.pools.iter_mut().filter(|p| pool.as_deref().is_none_or(|n| p.value["name"] == json!(n)))
                    {
                        p.value["version"] = json!(version);
                    }
                    c.value["currentNodeVersion"] = json!(version);
                }
                "desiredImageType" => {
                    for p in c.pools.iter_mut().filter(|p| pool.as_deref().is_none_or(|n| p.value["name"] == json!(n)))
                    {
                        p.value["config"]["imageType"] = v.clone();
                    }
                }
                "desiredMasterVersion" => {
                    c.value["currentMasterVersion"] =
                        json!(resolve_version(&versions_app, v.as_str().unwrap_or_default()).unwrap_or_default());
                }
                "desiredResourceLabels" => c.value["resourceLabels"] = v["labels"].clone(),
                other => {
                    let name = other.strip_prefix("desired").unwrap_or(other);
                    let mut chars = name.chars();
                    let name: String =
                        chars.next().map(|f| f.to_lowercase().chain(chars).collect()).unwrap_or_default();
                    if v.is_object() && c.value[name.as_str()].is_object() {
                        compute::merge_patch(&mut c.value[name.as_str()], &v);
                    } else {
                        c.value[name.as_str()] = v;
                    }
                }
            }
        }
    })
}

fn set_labels(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let labels = call.field("resourceLabels").clone();
    util::check_labels(&labels)?;
    let key = cluster_key(app, call);
    if let Some(sent) = call.field("labelFingerprint").as_str().filter(|s| !s.is_empty()) {
        let world = app.world();
        let have = world.container.clusters.get(&key).map(|c| c.value["labelFingerprint"].clone()).unwrap_or_default();
        if have != json!(sent) {
            return Err(ApiError::failed_precondition("Labels could not be set due to fingerprint mismatch."));
        }
    }
    let next = util::etag(app.next());
    mutate(app, call, "SET_LABELS", None, 10.0, false, move |c| {
        c.value["resourceLabels"] = if labels.is_object() { labels } else { json!({}) };
        c.value["labelFingerprint"] = json!(next);
    })
}

fn pool_key(app: &App, call: &Call) -> String {
    format!("{}/nodePools/{}", cluster_key(app, call), call.param("pool"))
}

fn create_pool(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let mut pool_in = call.field("nodePool").clone();
    if !pool_in.is_object() {
        return Err(ApiError::invalid("Node pool must be specified."));
    }
    normalize_pool(&mut pool_in);
    let mut world = app.world();
    let (pool, project, location, name) = {
        let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
        c.check_running()?;
        let pool_name = pool_in["name"].as_str().unwrap_or_default().to_string();
        if c.pool(&pool_name).is_some() {
            return Err(ApiError::already_exists(format!("Already exists: {key}/nodePools/{pool_name}.")));
        }
        let version = c.value["currentNodeVersion"].as_str().unwrap_or_default().to_string();
        let locations: Vec<String> = c.value["locations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let ctx = PoolContext {
            project: &c.project,
            cluster: &c.name,
            region: c.region(),
            locations: &locations,
            version: &version,
            private: c.private_nodes(),
        };
        let pool = build_pool(app, &world, &ctx, pool_in)?;
        let demand = times(&per_node_demand(&pool.value, c.region(), c.private_nodes()), pool.nodes);
        check_quota(app, &world, &c.project, &demand)?;
        (pool, c.project.clone(), c.location.clone(), c.name.clone())
    };
    let pool_name = pool.value["name"].as_str().unwrap_or_default().to_string();
    let op = start_op(
        app,
        &mut world,
        &project,
        &location,
        "CREATE_NODE_POOL",
        &format!("clusters/{name}/nodePools/{pool_name}"),
    );
    if let Some(c) = world.container.clusters.get_mut(&key) {
        c.pools.push(pool);
        c.running_op = Some((op["name"].as_str().unwrap_or_default().to_string(), "CREATE_NODE_POOL".into()));
    }
    drop(world);
    let op_done = op.clone();
    app.after(app.latency(call.id, CREATE_POOL), move |_, world| {
        if let Some(p) = world.container.clusters.get_mut(&key).and_then(|c| c.pool_mut(&pool_name)) {
            p.value["status"] = json!("RUNNING");
        }
        finish_op(world, &project, &location, &op_done, Ok(()));
        release_op(world, &key, &op_done);
    });
    Ok(Reply::json(op))
}

fn list_pools(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let world = app.world();
    let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
    Ok(Reply::json(json!({ "nodePools": c.pools.iter().map(|p| p.value.clone()).collect::<Vec<_>>() })))
}

fn get_pool(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let world = app.world();
    let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
    c.pool(call.param("pool")).map(|p| Reply::json(p.value.clone())).ok_or_else(|| not_found(&pool_key(app, call)))
}

fn delete_pool(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = cluster_key(app, call);
    let pool = call.param("pool").to_string();
    let mut world = app.world();
    let (project, location, name) = {
        let c = world.container.clusters.get(&key).ok_or_else(|| not_found(&key))?;
        if c.pool(&pool).is_none() {
            return Err(not_found(&pool_key(app, call)));
        }
        c.check_running()?;
        (c.project.clone(), c.location.clone(), c.name.clone())
    };
    let op = start_op(
        app,
        &mut world,
        &project,
        &location,
        "DELETE_NODE_POOL",
        &format!("clusters/{name}/nodePools/{pool}"),
    );
    if let Some(c) = world.container.clusters.get_mut(&key) {
        c.running_op = Some((op["name"].as_str().unwrap_or_default().to_string(), "DELETE_NODE_POOL".into()));
        if let Some(p) = c.pool_mut(&pool) {
            p.value["status"] = json!("STOPPING");
        }
    }
    drop(world);
    let op_done = op.clone();
    app.after(app.latency(call.id, DELETE_POOL), move |_, world| {
        if let Some(c) = world.container.clusters.get_mut(&key) {
            c.pools.retain(|p| p.value["name"] != json!(pool));
        }
        finish_op(world, &project, &location, &op_done, Ok(()));
        release_op(world, &key, &op_done);
    });
    Ok(Reply::json(op))
}

fn update_pool(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let pool = call.param("pool").to_string();
    let mut body = call.body.clone();
    normalize_enums(&mut body, &node_config_enums!(""));
    normalize_enums(
        &mut body,
        &[
            EnumField { path: "taints.taints[].effect", values: EFFECT },
            EnumField { path: "upgradeSettings.strategy", values: UPDATE_STRATEGY },
        ],
    );
    if let Some(v) = body["nodeVersion"].as_str().filter(|v| !v.is_empty())
        && resolve_version(app, v).is_none()
    {
        return Err(ApiError::invalid(format!("Node version \"{v}\" is unsupported.")));
    }
    util::check_labels(&body["resourceLabels"]["labels"])?;
    let upgrade = body["nodeVersion"].as_str().is_some_and(|v| !v.is_empty());
    let versions_app = app.clone();
    let (op_type, secs) = if upgrade { ("UPGRADE_NODES", UPGRADE) } else { ("UPDATE_CLUSTER", UPDATE) };
    let target = pool.clone();
    mutate(app, call, op_type, Some(&target), secs, false, move |c| {
        let Some(p) = c.pool_mut(&pool) else {
            return;
        };
        let Some(fields) = body.as_object() else {
            return;
        };
        for (field, v) in fields {
            match field.as_str() {
                "projectId" | "zone" | "clusterId" | "nodePoolId" | "name" | "etag" => {}
                "nodeVersion" if upgrade => {
                    p.value["version"] =
                        json!(resolve_version(&versions_app, v.as_str().unwrap_or_default()).unwrap_or_default())
                }
                "nodeVersion" => {}
                "locations" => p.value["locations"] = v.clone(),
                "upgradeSettings" => p.value["upgradeSettings"] = v.clone(),
                "taints" | "labels" | "tags" => {
                    p.value["config"][field.as_str()] = v[if field == "tags" { "tags" } else { field.as_str() }].clone()
                }
                "resourceLabels" => p.value["config"]["resourceLabels"] = v["labels"].clone(),
                other => p.value["config"][other] = v.clone(),
            }
        }
        p.value["etag"] = json!(util::etag(crate::clock::now_millis() as u64));
    })
}

fn set_autoscaling(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let pool = call.param("pool").to_string();
    let mut body = call.body.clone();
    normalize_enums(&mut body, &[EnumField { path: "autoscaling.locationPolicy", values: LOCATION_POLICY }]);
    let autoscaling = body["autoscaling"].clone();
    let target = pool.clone();
    mutate(app, call, "UPDATE_CLUSTER", Some(&target), 30.0, false, move |c| {
        if let Some(p) = c.pool_mut(&pool) {
            p.value["autoscaling"] = autoscaling;
        }
    })
}

fn set_size(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let pool = call.param("pool").to_string();
    let per_zone = call.field("nodeCount").as_i64().unwrap_or(-1);
    if per_zone < 0 {
        return Err(ApiError::invalid("node_count must be specified and non-negative."));
    }
    let key = cluster_key(app, call);
    {
        let world = app.world();
        if let Some(c) = world.container.clusters.get(&key)
            && let Some(p) = c.pool(&pool)
        {
            let zones = p.value["locations"].as_array().map(Vec::len).unwrap_or(1) as u32;
            let target = per_zone as u32 * zones;
            if target > p.nodes {
                let demand = times(&per_node_demand(&p.value, c.region(), c.private_nodes()), target - p.nodes);
                check_quota(app, &world, &c.project, &demand)?;
            }
        }
    }
    let target = pool.clone();
    mutate(app, call, "SET_NODE_POOL_SIZE", Some(&target), UPDATE, false, move |c| {
        if let Some(p) = c.pool_mut(&pool) {
            let zones = p.value["locations"].as_array().map(Vec::len).unwrap_or(1) as u32;
            p.nodes = per_zone as u32 * zones;
        }
    })
}

fn get_op(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = format!(
        "projects/{}/locations/{}/operations/{}",
        app.project_id(call.param("project")),
        call.param("location"),
        call.param("operation")
    );
    let world = app.world();
    world.container.ops.get(&key).cloned().map(Reply::json).ok_or_else(|| not_found(&key))
}

fn list_ops(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let location = call.param("location");
    let prefix = format!("projects/{project}/locations/");
    let world = app.world();
    let ops: Vec<Value> = world
        .container
        .ops
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, _)| location == "-" || k[prefix.len()..].starts_with(&format!("{location}/")))
        .map(|(_, v)| v.clone())
        .collect();
    Ok(Reply::json(json!({ "operations": ops })))
}

/// What the load-balancer code needs to know about a cluster.
pub struct ClusterInfo {
    pub project: String,
    pub zone: String,
    pub network: String,
    pub uid: String,
}

pub fn cluster_info(world: &World, name: &str) -> Option<ClusterInfo> {
    let c = world.container.by_short_name(name)?;
    Some(ClusterInfo {
        project: c.project.clone(),
        zone: c.value["locations"][0].as_str().unwrap_or(&c.location).to_string(),
        network: format!("{}{}", compute::BASE, c.value["networkConfig"]["network"].as_str().unwrap_or_default()),
        uid: c.key(),
    })
}

/// A GKE cluster using the network or subnetwork at `key` (blocks its deletion).
pub fn network_user(world: &World, key: &str) -> Option<String> {
    let c = world.container.clusters.values().find(|c| {
        c.value["networkConfig"]["subnetwork"] == json!(key) || c.value["networkConfig"]["network"] == json!(key)
    })?;
    let pool = c.pools.first().map(|p| p.value["instanceGroupUrls"][0].as_str().unwrap_or_default().to_string());
    Some(match pool {
        Some(url) if !url.is_empty() => url.strip_prefix(compute::BASE).unwrap_or(&url).to_string(),
        _ => c.key(),
    })
}

/// The cluster's node pools as the Kubernetes side schedules on them.
/// NetworkPolicies are enforced with Dataplane V2 ("network policy enforcement is built into
/// GKE Dataplane V2") or with Calico's network policy enabled; a cluster created with neither
/// (GKE Standard's default) enforces nothing.
pub fn enforces_network_policy(world: &World, cluster: &str) -> bool {
    world.container.by_short_name(cluster).is_some_and(|c| {
        c.value["networkConfig"]["datapathProvider"] == "ADVANCED_DATAPATH"
            || c.value["networkPolicy"]["enabled"] == true
    })
}

pub fn node_pools_info(world: &World, cluster: &str) -> Vec<NodePoolInfo> {
    let Some(c) = world.container.by_short_name(cluster) else {
        return Vec::new();
    };
    c.pools
        .iter()
        .filter(|p| p.value["status"] != "STOPPING")
        .map(|p| {
            let config = &p.value["config"];
            let machine = config["machineType"].as_str().unwrap_or("e2-medium").to_string();
            let name = p.value["name"].as_str().unwrap_or_default().to_string();
            let accelerator = config["accelerators"]
                .as_array()
                .and_then(|a| a.first())
                .map(|a| {
                    (
                        a["acceleratorType"].as_str().unwrap_or_default().to_string(),
                        util::as_u64(&a["acceleratorCount"]).unwrap_or(1) as u32,
                    )
                })
                .or_else(|| {
                    catalog::machine_type(&machine).ok().and_then(|m| m.accelerator.map(|(a, n)| (a.to_string(), n)))
                });
            let mut labels: BTreeMap<String, String> = super::labels_of(&config["labels"]);
            labels.insert("cloud.google.com/gke-nodepool".into(), name.clone());
            labels.insert("node.kubernetes.io/instance-type".into(), machine.clone());
            if config["spot"] == json!(true) {
                labels.insert("cloud.google.com/gke-spot".into(), "true".into());
            }
            let mut taints: Vec<String> = config["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    format!(
                        "{}={}:{}",
                        t["key"].as_str().unwrap_or_default(),
                        t["value"].as_str().unwrap_or_default(),
                        effect(t["effect"].as_str().unwrap_or_default())
                    )
                })
                .collect();
            if let Some((accel, _)) = &accelerator {
                labels.insert("cloud.google.com/gke-accelerator".into(), accel.clone());
                // GKE labels nodes whose driver it installs (the driver installer DaemonSet's
                // affinity skips them); their GPUs become allocatable without the DaemonSet.
                let version =
                    config["accelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"].as_str().unwrap_or("");
                match version {
                    "DEFAULT" => labels.insert("cloud.google.com/gke-gpu-driver-version".into(), "default".into()),
                    "LATEST" => labels.insert("cloud.google.com/gke-gpu-driver-version".into(), "latest".into()),
                    _ => None,
                };
                // GKE taints every GPU node pool so that only pods asking for GPUs land there.
                taints.push("nvidia.com/gpu=present:NoSchedule".into());
            }
            NodePoolInfo {
                name,
                machine_type: machine,
                accelerator,
                node_count: p.nodes,
                max_node_count: max_nodes(p),
                labels,
                taints,
                private_nodes: private_nodes(&c.value, &p.value),
                image_pull: image_pull(config),
            }
        })
        .collect()
}

/// Whether a pool's nodes get no external IP: the pool says so, else the cluster's default
/// (`networkConfig.defaultEnablePrivateNodes`, or the older `privateClusterConfig.enablePrivateNodes`).
fn private_nodes(cluster: &Value, pool: &Value) -> bool {
    pool["networkConfig"]["enablePrivateNodes"].as_bool().unwrap_or_else(|| {
        cluster["networkConfig"]["defaultEnablePrivateNodes"].as_bool().unwrap_or(false)
            || cluster["privateClusterConfig"]["enablePrivateNodes"].as_bool().unwrap_or(false)
    })
}

fn effect(api: &str) -> &str {
    match api {
        "NO_SCHEDULE" => "NoSchedule",
        "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
        "NO_EXECUTE" => "NoExecute",
        other => other,
    }
}

/// The most nodes the autoscaler may reach (the current count when autoscaling is off).
fn max_nodes(p: &Pool) -> u32 {
    let a = &p.value["autoscaling"];
    if a["enabled"] != json!(true) {
        return p.nodes;
    }
    let zones = p.value["locations"].as_array().map(Vec::len).unwrap_or(1) as u32;
    a["totalMaxNodeCount"]
        .as_u64()
        .map(|n| n as u32)
        .unwrap_or_else(|| a["maxNodeCount"].as_u64().unwrap_or(0) as u32 * zones)
}

/// How the pool's VMs are obtained: spot (`spot`, or the older `preemptible`), flex-start, or
/// standard on-demand.
fn provisioning(pool: &Value) -> Provisioning {
    let config = &pool["config"];
    if config["spot"] == json!(true) || config["preemptible"] == json!(true) {
        Provisioning::Spot
    } else if config["flexStart"] == json!(true) {
        Provisioning::FlexStart
    } else {
        Provisioning::Standard
    }
}

/// A spot node of `pool` was preempted: the pool has one node fewer. Only spot (or preemptible)
/// VMs are preempted.
pub fn preempted(app: &App, cluster: &str, pool: &str) -> Result<(), String> {
    let mut world = app.world();
    let c = world.container.by_short_name_mut(cluster).ok_or_else(|| format!("cluster {cluster} does not exist"))?;
    let p = c.pool_mut(pool).ok_or_else(|| format!("node pool {pool} does not exist"))?;
    if provisioning(&p.value) != Provisioning::Spot {
        return Err(format!("node pool {pool} has no spot VMs: Compute Engine does not preempt its nodes"));
    }
    p.nodes = p.nodes.saturating_sub(1);
    Ok(())
}

/// The cluster autoscaler adds `nodes` nodes to a pool: after the scale-up delay the new node
/// names, or GKE's reason (max size reached at once; quota or stockout after trying). A failure
/// also shows on the node pool (`statusMessage`, `conditions`), where GKE shows it.
pub async fn scale_up(app: Arc<App>, cluster: String, pool: String, nodes: u32) -> Result<Vec<String>, String> {
    let gpu = {
        let world = app.world();
        let c = world.container.by_short_name(&cluster).ok_or_else(|| format!("cluster {cluster} does not exist"))?;
        let p = c.pool(&pool).ok_or_else(|| format!("node pool {pool} does not exist in cluster {cluster}"))?;
        if p.value["status"] != "RUNNING" && p.value["status"] != "RUNNING_WITH_ERROR" {
            return Err(format!("node pool {pool} is not running"));
        }
        if p.nodes + nodes > max_nodes(p) {
            return Err(format!("pod didn't trigger scale-up: 1 max node group size reached ({pool})"));
        }
        p.value["config"]["accelerators"].as_array().is_some_and(|a| !a.is_empty())
            || p.value["config"]["machineType"].as_str().is_some_and(|m| m.starts_with("g2-") || m.starts_with("a2-"))
    };
    let delay = app.latency("autoscaler.scaleUp", if gpu { GPU_SCALE_UP } else { CPU_SCALE_UP });
    let generation = app.generation();
    tokio::time::sleep(delay).await;
    if app.generation() != generation {
        return Err("the emulator was reset".into());
    }
    let scenario = app.scenario();
    let mut world = app.world();
    let (project, region, demand, zones, machine, provisioning) = {
        let c = world.container.by_short_name(&cluster).ok_or_else(|| format!("cluster {cluster} does not exist"))?;
        let p = c.pool(&pool).ok_or_else(|| format!("node pool {pool} does not exist"))?;
        let zones: Vec<String> = p.value["locations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|z| z.as_str().map(str::to_string))
            .collect();
        (
            c.project.clone(),
            c.region().to_string(),
            times(&per_node_demand(&p.value, c.region(), c.private_nodes()), nodes),
            zones,
            p.value["config"]["machineType"].as_str().unwrap_or_default().to_string(),
            provisioning(&p.value),
        )
    };
    let hash = &short_hash(&format!("{project}/{cluster}/{pool}"))[..8];
    let instance = format!("gke-{cluster}-{pool}-{hash}-{}", &app.hex(4));
    let failure = if let Err(short) = quota::check(&scenario, &quota::usage(&world, &project), &demand) {
        Some((
            "GCE_QUOTA_EXCEEDED",
            format!(
                "Instance '{instance}' creation failed: Quota '{}' exceeded. Limit: {:.1} in region {region}.",
                short.metric, short.limit
            ),
            format!(
                "Node scale up in zones {} associated with this pod failed: GCE quota exceeded. Pod is at risk of not being scheduled.",
                zones.join(", ")
            ),
        ))
    } else {
        // The autoscaler tries every zone of the pool; it fails only when all are stocked out.
        let all_out = zones.iter().all(|z| scenario.stocked_out(z, &machine, provisioning));
        zones.first().filter(|_| all_out).map(|zone| {
            (
                "GCE_STOCKOUT",
                format!(
                    "Instance '{instance}' creation failed: The zone 'projects/{project}/zones/{zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later. ZONE_RESOURCE_POOL_EXHAUSTED"
                ),
                format!("Node scale up in zones {} associated with this pod failed: GCE out of resources. Pod is at risk of not being scheduled.", zones.join(", ")),
            )
        })
    };
    let c = world.container.by_short_name_mut(&cluster).ok_or("cluster deleted")?;
    let p = c.pool_mut(&pool).ok_or("node pool deleted")?;
    match failure {
        Some((code, condition, event)) => {
            p.value["statusMessage"] = json!(condition);
            p.value["conditions"] =
                json!([{ "code": code, "message": condition, "canonicalCode": "RESOURCE_EXHAUSTED" }]);
            Err(event)
        }
        None => {
            if let Some(map) = p.value.as_object_mut() {
                map.remove("statusMessage");
                map.remove("conditions");
            }
            p.nodes += nodes;
            Ok((0..nodes).map(|_| format!("gke-{cluster}-{pool}-{hash}-{}", app.hex(4))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first() {
        let mut v = ["1.34.6-gke.100", "1.36.1-gke.50", "1.35.3-gke.200"];
        v.sort_by_key(|s| std::cmp::Reverse(version_key(s)));
        assert_eq!(v[0], "1.36.1-gke.50");
    }

    #[test]
    fn cluster_requests_enums_become_names() {
        let mut c = json!({"releaseChannel":{"channel":2},"nodePools":[{"config":{"taints":[{"effect":1}],"accelerators":[{"gpuDriverInstallationConfig":{"gpuDriverVersion":3}}]},"autoscaling":{"locationPolicy":2}}]});
        normalize_cluster(&mut c);
        assert_eq!(c["releaseChannel"]["channel"], "REGULAR");
        assert_eq!(c["nodePools"][0]["config"]["taints"][0]["effect"], "NO_SCHEDULE");
        assert_eq!(
            c["nodePools"][0]["config"]["accelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"],
            "LATEST"
        );
        assert_eq!(c["nodePools"][0]["autoscaling"]["locationPolicy"], "ANY");
    }
}
