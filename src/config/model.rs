//! The resolved configuration: flags > environment > `sdctl.yaml` > defaults, validated once.
//! Everything below the CLI receives this plain struct and never reads files, env or flags again.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub name: String,
    pub project: String,
    pub region: String,
    pub zones: Vec<String>,
    pub cluster: Cluster,
    pub gpu: Gpu,
    pub storage: Storage,
    pub redis: Redis,
    pub runtime: Runtime,
    pub images: Images,
    pub access: Access,
    /// What users can start (at least one; `webui` with engine a1111 when the file names none).
    pub templates: Vec<Template>,
    /// User labels plus `sdctl-env: <name>`.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub location: ClusterLocation,
    pub release_channel: ReleaseChannel,
    pub private: bool,
    pub network: String,
    pub subnetwork: String,
    pub system_pool: SystemPool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemPool {
    pub machine_type: String,
    /// Per zone.
    pub nodes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterLocation {
    Zonal,
    Regional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseChannel {
    Rapid,
    Regular,
    Stable,
    Extended,
}

impl ReleaseChannel {
    pub const ALL: [(&'static str, ReleaseChannel); 4] =
        [("rapid", Self::Rapid), ("regular", Self::Regular), ("stable", Self::Stable), ("extended", Self::Extended)];

    /// The GKE API's enum name.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Rapid => "RAPID",
            Self::Regular => "REGULAR",
            Self::Stable => "STABLE",
            Self::Extended => "EXTENDED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gpu {
    #[serde(rename = "type")]
    pub kind: GpuKind,
    pub machine_type: String,
    pub count: u32,
    pub min_nodes: u32,
    pub max_nodes: u32,
    pub spot: bool,
    pub driver: GpuDriver,
    pub image_streaming: bool,
    pub image_cache: bool,
    /// Rungs tried after the primary, in order (empty: one pool, no ComputeClass).
    pub fallbacks: Vec<Rung>,
}

/// One rung of the GPU capacity ladder: a node pool of one GPU type and provisioning model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rung {
    #[serde(rename = "type")]
    pub kind: GpuKind,
    pub machine_type: String,
    pub count: u32,
    pub max_nodes: u32,
    pub spot: bool,
    pub flex_start: bool,
}

impl Rung {
    /// How its VMs are obtained, as the emulator's scenario and `cost` name it.
    pub fn provisioning(&self) -> &'static str {
        match (self.spot, self.flex_start) {
            (true, _) => "spot",
            (_, true) => "flexStart",
            _ => "standard",
        }
    }

    /// Spot and flex-start VMs both draw on the preemptible GPU quota.
    pub fn quota_metric(&self) -> &'static str {
        self.kind.quota_metric(self.spot || self.flex_start)
    }

    /// `t4 spot on custom-4-32768-ext`, for messages.
    pub fn label(&self) -> String {
        let how = match self.provisioning() {
            "standard" => String::new(),
            p => format!(" {}", if p == "flexStart" { "flex-start" } else { p }),
        };
        format!("{}{how} on {}", self.kind, self.machine_type)
    }
}

impl Gpu {
    /// The ladder: the primary (rung 0), then `fallbacks`.
    pub fn rungs(&self) -> Vec<Rung> {
        let primary = Rung {
            kind: self.kind,
            machine_type: self.machine_type.clone(),
            count: self.count,
            max_nodes: self.max_nodes,
            spot: self.spot,
            flex_start: false,
        };
        std::iter::once(primary).chain(self.fallbacks.iter().cloned()).collect()
    }

    /// Where rung `index` is written in the config: `gpu`, or `gpu.fallbacks[N]` (N = index - 1).
    pub fn rung_field(index: usize) -> String {
        match index {
            0 => "gpu".to_string(),
            i => format!("gpu.fallbacks[{}]", i - 1),
        }
    }

    /// Whether the WebUI pods select a ComputeClass of several pools.
    pub fn has_ladder(&self) -> bool {
        !self.fallbacks.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuKind {
    T4,
    L4,
}

impl GpuKind {
    pub const ALL: [(&'static str, GpuKind); 2] = [("t4", Self::T4), ("l4", Self::L4)];

    /// Compute Engine accelerator type.
    pub fn accelerator(self) -> &'static str {
        match self {
            Self::T4 => "nvidia-tesla-t4",
            Self::L4 => "nvidia-l4",
        }
    }

    pub fn default_machine_type(self) -> &'static str {
        match self {
            Self::T4 => "custom-4-32768-ext",
            Self::L4 => "g2-standard-8",
        }
    }

    /// Regional quota metric for this GPU (on-demand or preemptible/spot).
    pub fn quota_metric(self, spot: bool) -> &'static str {
        match (self, spot) {
            (Self::T4, false) => "NVIDIA_T4_GPUS",
            (Self::T4, true) => "PREEMPTIBLE_NVIDIA_T4_GPUS",
            (Self::L4, false) => "NVIDIA_L4_GPUS",
            (Self::L4, true) => "PREEMPTIBLE_NVIDIA_L4_GPUS",
        }
    }
}

impl fmt::Display for GpuKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::T4 => "t4",
            Self::L4 => "l4",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuDriver {
    /// GKE installs the latest driver of the node image.
    Latest,
    /// GKE installs the node image's default driver.
    Default,
    /// NVIDIA's installer DaemonSet (GKE installation disabled).
    Daemonset,
}

impl GpuDriver {
    pub const ALL: [(&'static str, GpuDriver); 3] =
        [("latest", Self::Latest), ("default", Self::Default), ("daemonset", Self::Daemonset)];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Storage {
    Filestore(Filestore),
    Gcs(Gcs),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filestore {
    pub tier: FilestoreTier,
    pub capacity_gb: u32,
    pub share: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilestoreTier {
    BasicHdd,
    BasicSsd,
    Zonal,
    Regional,
    Enterprise,
}

impl FilestoreTier {
    pub const ALL: [(&'static str, FilestoreTier); 5] = [
        ("BASIC_HDD", Self::BasicHdd),
        ("BASIC_SSD", Self::BasicSsd),
        ("ZONAL", Self::Zonal),
        ("REGIONAL", Self::Regional),
        ("ENTERPRISE", Self::Enterprise),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map(|(n, _)| *n).unwrap_or("BASIC_HDD")
    }

    /// Smallest instance the tier allows, in GiB (Filestore service tiers page).
    pub fn min_capacity_gb(self) -> u32 {
        match self {
            Self::BasicSsd => 2560,
            _ => 1024,
        }
    }

    /// Largest instance the tier allows, in GiB.
    pub fn max_capacity_gb(self) -> u32 {
        match self {
            Self::BasicHdd | Self::BasicSsd => 65434,
            Self::Zonal | Self::Regional | Self::Enterprise => 102400,
        }
    }

    /// Regional and enterprise instances live in a region, the others in a zone.
    pub fn is_regional(self) -> bool {
        matches!(self, Self::Regional | Self::Enterprise)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gcs {
    /// Given by the user; `None` means the derived name (see `names.rs`).
    pub bucket: Option<String>,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redis {
    pub tier: RedisTier,
    pub size_gb: u32,
    pub version: String,
    pub auth: bool,
    pub tls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedisTier {
    Basic,
    StandardHa,
}

impl RedisTier {
    pub const ALL: [(&'static str, RedisTier); 2] = [("BASIC", Self::Basic), ("STANDARD_HA", Self::StandardHa)];
}

pub const REDIS_VERSIONS: [&str; 3] = ["REDIS_7_2", "REDIS_7_0", "REDIS_6_X"];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    pub kind: RuntimeKind,
    /// `None`: auto (newest pinned release supporting the cluster's Kubernetes minor).
    pub agones_version: Option<String>,
    pub namespace: String,
    pub max_users: u32,
    pub buffer_size: u32,
    pub idle_minutes: u32,
    /// How long a starting WebUI is kept healthy before it first answers.
    pub startup_minutes: u32,
    pub port_range: (u16, u16),
    /// Extension installs from the WebUI (off unless the config opts in).
    pub insecure_extension_access: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Agones,
    /// OpenKruiseGame: per-user instances with their own disks.
    Okg,
}

/// A kind of WebUI users can start: a Fleet (agones) or a GameServerSet (okg) of its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    pub engine: Engine,
    /// okg: each user's own disk for this template, in GB (kept when the instance stops).
    pub disk_gb: u32,
}

impl Template {
    /// The template a file without `templates:` gets: today's single AUTOMATIC1111 WebUI.
    pub const DEFAULT_NAME: &'static str = "webui";
    pub const DEFAULT_DISK_GB: u32 = 50;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// AUTOMATIC1111's stable-diffusion-webui (the guides' WebUI).
    A1111,
    /// ComfyUI.
    Comfyui,
}

impl Engine {
    pub const ALL: [(&'static str, Engine); 2] = [("a1111", Self::A1111), ("comfyui", Self::Comfyui)];

    /// The image that runs it.
    pub fn image(self) -> crate::images::ImageKind {
        match self {
            Engine::A1111 => crate::images::ImageKind::Webui,
            Engine::Comfyui => crate::images::ImageKind::Comfyui,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Images {
    pub repository: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// `None`: `<static-ip-with-dashes>.sslip.io`, known once the address exists.
    pub domain: Option<String>,
    pub iap_members: Vec<String>,
    pub oauth_client: OAuthClient,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OAuthClient {
    /// Google-managed OAuth client (users inside the organization only).
    Managed,
    /// The user's own client; id and secret are read from these environment variables when needed.
    Custom { client_id_env: String, client_secret_env: String },
}

impl Config {
    /// Zones the node pools span (node locations). A zonal cluster with several zones is
    /// multi-zonal: its control plane lives in the first, its nodes in all of them.
    pub fn node_zones(&self) -> &[String] {
        &self.zones
    }

    /// Where the cluster lives: the region (regional) or the first zone (zonal).
    pub fn cluster_location(&self) -> &str {
        match self.cluster.location {
            ClusterLocation::Regional => &self.region,
            ClusterLocation::Zonal => &self.zones[0],
        }
    }

    /// System nodes in the whole cluster: GKE's per-zone count times the node zones.
    pub fn system_nodes_total(&self) -> u32 {
        self.cluster.system_pool.nodes * self.zones.len() as u32
    }

    /// With runtime.kind agones, the Fleets: one template's is `webui` whatever its name (as
    /// before templates existed), several get a Fleet each, named after them.
    pub fn fleet_names(&self) -> Vec<String> {
        match self.templates.as_slice() {
            [_] => vec![crate::names::Names::FLEET.to_string()],
            many => many.iter().map(|t| t.name.clone()).collect(),
        }
    }

    /// The images this configuration runs: each template's engine's, and sdctl's runtime.
    pub fn images(&self) -> Vec<crate::images::ImageKind> {
        crate::images::ImageKind::ALL
            .into_iter()
            .filter(|k| {
                *k == crate::images::ImageKind::Runtime || self.templates.iter().any(|t| t.engine.image() == *k)
            })
            .collect()
    }

    /// The Fleet of each template with agones (one template: `webui`).
    pub fn fleets(&self) -> Vec<(String, &Template)> {
        self.fleet_names().into_iter().zip(self.templates.iter()).collect()
    }

    /// WebUI pods kept warm: `runtime.bufferSize` per Fleet with agones; none with okg (users
    /// start their own instances).
    pub fn warm_webuis(&self) -> u32 {
        match self.runtime.kind {
            RuntimeKind::Agones => self.runtime.buffer_size * self.fleet_names().len() as u32,
            RuntimeKind::Okg => 0,
        }
    }
}
