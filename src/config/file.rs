//! `sdctl.yaml` as written by the user: schema v1, every field optional so that defaults,
//! environment variables and flags can fill what the file leaves out.
//!
//! Field names are a contract (`design.md`, "Config"). The JSON Schema in
//! `docs/sdctl.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "sdctl.yaml", description = "sdctl environment configuration, schema v1")]
pub struct ConfigFile {
    /// Always `sdctl/v1`.
    pub api_version: Option<String>,
    /// Environment name: `[a-z][a-z0-9-]{0,19}`. Every resource name is derived from it.
    pub name: Option<String>,
    /// Google Cloud project id (env `SDCTL_PROJECT`, flag `--project`).
    pub project: Option<String>,
    /// Region of the cluster, Filestore, Redis and registry (env `SDCTL_REGION`, flag `--region`).
    pub region: Option<String>,
    /// Node locations; a zonal cluster lives in the first (env `SDCTL_ZONES`, comma-separated).
    pub zones: Option<Vec<String>>,
    pub cluster: Option<ClusterFile>,
    pub gpu: Option<GpuFile>,
    pub storage: Option<StorageFile>,
    pub redis: Option<RedisFile>,
    pub runtime: Option<RuntimeFile>,
    pub images: Option<ImagesFile>,
    pub access: Option<AccessFile>,
    /// What users can start, each a WebUI of its own (absent: one template `webui`, engine
    /// `a1111`). With `runtime.kind: okg` each user gets their own disk per template.
    pub templates: Option<Vec<TemplateFile>>,
    /// Extra labels put on every Google resource that takes labels.
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterFile {
    /// `zonal` (default) or `regional`. Regional multiplies per-zone node counts by the zone count.
    pub location: Option<String>,
    /// GKE release channel: `rapid`, `regular` (default), `stable` or `extended`.
    pub release_channel: Option<String>,
    /// Private nodes (no external IPs) with a Cloud Router and Cloud NAT for egress.
    pub private: Option<bool>,
    /// VPC network name (default `default`).
    pub network: Option<String>,
    /// Subnetwork name in the region (default `default`).
    pub subnetwork: Option<String>,
    pub system_pool: Option<SystemPoolFile>,
}

/// The node pool that runs Agones' controllers and the router.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemPoolFile {
    /// Machine type (default `e2-standard-4`).
    pub machine_type: Option<String>,
    /// Nodes per zone (default 1).
    pub nodes: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GpuFile {
    /// `t4` (nvidia-tesla-t4) or `l4` (nvidia-l4).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Machine type of GPU nodes (default: t4 `custom-4-32768-ext`, l4 `g2-standard-8`).
    pub machine_type: Option<String>,
    /// GPUs per node (default 1).
    pub count: Option<u32>,
    /// Minimum GPU nodes across the pool's zones (default 0).
    pub min_nodes: Option<u32>,
    /// Maximum GPU nodes across the pool's zones (default 3).
    pub max_nodes: Option<u32>,
    /// Spot VMs for GPU nodes (cheaper, can be preempted).
    pub spot: Option<bool>,
    /// `latest` (default) or `default`: installed by GKE; `daemonset`: NVIDIA's installer DaemonSet.
    pub driver: Option<String>,
    /// GKE image streaming for GPU nodes (default true; enables containerfilesystem.googleapis.com).
    pub image_streaming: Option<bool>,
    /// true: every GPU node gets a secondary boot disk that already holds the WebUI image
    /// (`CONTAINER_IMAGE_CACHE`), built by step `image-cache` (default false; needs imageStreaming).
    pub image_cache: Option<bool>,
    /// Rungs of a capacity ladder tried in order when the ones before have no capacity or quota
    /// (a stockout, quota exhausted, or at their maxNodes), e.g. `[{type: t4}, {type: l4}]` after
    /// a spot T4 primary. Each rung is a node pool of its own in a GKE custom ComputeClass.
    pub fallbacks: Option<Vec<RungFile>>,
}

/// One rung of the GPU capacity ladder after the primary (`gpu.type`, `gpu.spot`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RungFile {
    /// `t4` or `l4` (required).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Machine type (default per type: t4 `custom-4-32768-ext`, l4 `g2-standard-8`).
    pub machine_type: Option<String>,
    /// GPUs per node (default: 1 for t4, the G2 machine's count for l4).
    pub count: Option<u32>,
    /// Most nodes of this rung across the zones (default: `gpu.maxNodes`).
    pub max_nodes: Option<u32>,
    /// Spot VMs (cheaper, can be preempted; the preemptible GPU quota).
    pub spot: Option<bool>,
    /// Flex-start VMs (single-node GPU pools: GKE 1.33.0-gke.1712000 or later): obtained when
    /// capacity frees, run at most 7 days, draw on the preemptible GPU quota; not with `spot`.
    pub flex_start: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageFile {
    /// `filestore` (default) or `gcs`: where models and user outputs live.
    pub kind: Option<String>,
    pub filestore: Option<FilestoreFile>,
    pub gcs: Option<GcsFile>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilestoreFile {
    /// `BASIC_HDD` (default), `BASIC_SSD`, `ZONAL`, `REGIONAL` or `ENTERPRISE`.
    pub tier: Option<String>,
    /// Capacity in GiB (default and minimum per tier: BASIC_HDD 1024, BASIC_SSD 2560, others 1024).
    pub capacity_gb: Option<u32>,
    /// File share name (default `vol1`).
    pub share: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GcsFile {
    /// Bucket name; empty: `<name>-models-<project hash>`.
    pub bucket: Option<String>,
    /// Bucket location (default: the region, upper case).
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisFile {
    /// `STANDARD_HA` (default) or `BASIC`.
    pub tier: Option<String>,
    /// Memory size in GB (default 1).
    pub size_gb: Option<u32>,
    /// `REDIS_7_2` (default), `REDIS_7_0` or `REDIS_6_X`.
    pub version: Option<String>,
    /// Require the AUTH string (default true).
    pub auth: Option<bool>,
    /// In-transit encryption (server TLS; default false).
    pub tls: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeFile {
    /// `agones` (default: warm WebUIs shared in turn, users' files on the shared volume) or `okg`
    /// (OpenKruiseGame: each user's own WebUI instance per template, with their own disk that
    /// survives when the instance stops).
    pub kind: Option<String>,
    /// `auto` (default: newest pinned release supporting the cluster's Kubernetes minor) or a version.
    pub agones_version: Option<String>,
    /// Namespace of the WebUI GameServers (default `sd`).
    pub namespace: Option<String>,
    /// Most users served at once: at most `gpu.maxNodes x gpu.count` (default 3); per template
    /// with several templates and runtime.kind agones (a Fleet each).
    pub max_users: Option<u32>,
    /// Warm WebUI pods kept ready for the next user (default 1, at least 1); per template with
    /// several templates and runtime.kind agones (a Fleet each); none are kept with okg.
    pub buffer_size: Option<u32>,
    /// Minutes without traffic before a user's WebUI is reclaimed (default 15).
    pub idle_minutes: Option<u32>,
    /// Minutes a starting WebUI may take to answer (loading a checkpoint from the shared volume)
    /// before it is replaced (default 15).
    pub startup_minutes: Option<u32>,
    /// Agones' host port range `[min, max]` for GameServers with host ports (default
    /// `[7000, 8000]`). sdctl's WebUI Fleet uses none: the router dials pod IPs.
    pub port_range: Option<Vec<u16>>,
    /// Let signed-in users install WebUI extensions from the UI (AUTOMATIC1111's
    /// `--enable-insecure-extension-access`): any of them can then run any code in their own
    /// WebUI pod (which sees the shared models read-only, the user's own outputs and, with GCS
    /// storage, the pod's bucket access). Default `false`.
    pub insecure_extension_access: Option<bool>,
}

/// One template users can start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateFile {
    /// 1-16 lower-case letters, digits or '-', starting with a letter, not ending with '-'; users
    /// pick it on their dashboard (cookie `sdctl-template`).
    pub name: Option<String>,
    /// `a1111` (default: AUTOMATIC1111's WebUI) or `comfyui`.
    pub engine: Option<String>,
    /// okg: size of each user's own disk for this template in GB (default 50, 10-65536).
    pub disk_gb: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagesFile {
    /// Artifact Registry docker repository (default `<name>-images`).
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessFile {
    /// Public host name; empty: `<static-ip-with-dashes>.sslip.io`.
    pub domain: Option<String>,
    pub iap: Option<IapFile>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IapFile {
    /// Who may sign in: `user:EMAIL`, `group:EMAIL`, `domain:DOMAIN` or `serviceAccount:EMAIL`.
    pub members: Option<Vec<String>>,
    /// `managed` (default; Google-managed client, users inside the organization only) or the names
    /// of environment variables holding your own OAuth client's id and secret.
    pub oauth_client: Option<OAuthClientFile>,
}

/// `managed`, or `{clientIdEnv, clientSecretEnv}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OAuthClientFile {
    Managed(String),
    Custom(CustomOAuthClientFile),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomOAuthClientFile {
    /// Name of the environment variable holding the OAuth client id.
    pub client_id_env: String,
    /// Name of the environment variable holding the OAuth client secret (never logged).
    pub client_secret_env: String,
}
