//! `--scenario FILE`: what the simulated project looks like and which faults to inject.
//!
//! The YAML shape is a contract (see `design.md`, "Emulator"). Every field is optional; the
//! defaults describe a new, healthy project: generous quotas, billing on, and only the APIs Google
//! enables by default (the rest start disabled, as on Google).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A parsed scenario file. Methods are named by their Discovery method id
/// (e.g. `container.projects.locations.clusters.create`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Quota limits: `global` for project-wide metrics, else a region name -> metric -> limit.
    #[serde(default)]
    pub quotas: BTreeMap<String, BTreeMap<String, f64>>,
    /// Zone -> accelerator types offered there. A zone that is absent offers every type.
    #[serde(default)]
    pub accelerators: BTreeMap<String, Vec<String>>,
    /// Node creation fails with a stockout when a node pool of this machine type scales up in this zone.
    #[serde(default)]
    pub stockouts: Vec<Stockout>,
    /// Organization policy constraint -> `deny` / `allow` (effective policy of the project).
    #[serde(default)]
    pub org_policies: BTreeMap<String, String>,
    /// IAM permissions the caller lacks: `testIamPermissions` omits them, calls needing them get 403.
    #[serde(default)]
    pub permissions_denied: Vec<String>,
    /// Services (`container.googleapis.com`) disabled until enabled through Service Usage, even
    /// those a new project has enabled by default.
    #[serde(default)]
    pub disabled_apis: Vec<String>,
    /// Services enabled from the start besides Google's defaults (a project that was used
    /// before); `"*"`: every service the emulator knows.
    #[serde(default)]
    pub enabled_apis: Vec<String>,
    /// Whether the project has a billing account attached (default true).
    #[serde(default)]
    pub billing_enabled: Option<bool>,
    /// GKE versions offered by `getServerConfig`; the default channel version is the 1.35 one.
    #[serde(default)]
    pub kubernetes_versions: Vec<String>,
    /// Injected errors: the first `times` calls of `method` answer `status`.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Method id -> simulated seconds (before `--speed`) the operation takes, overriding the default.
    #[serde(default)]
    pub latency: BTreeMap<String, f64>,
    /// `address:port` every GameServer reports for its `webui` port (tests point it at a stand-in WebUI).
    #[serde(default)]
    pub game_server_endpoint: Option<String>,
    /// Several `address:port`: the GameServer on the n-th GPU node (by name) reports the n-th
    /// (cycling), so that routing to the wrong GameServer reaches the wrong stand-in.
    #[serde(default)]
    pub game_server_endpoints: Vec<String>,
    /// The ExternalIP of public nodes, which Agones puts in a GameServer's `status.address` (a
    /// loopback address nobody serves, to catch a router that dials it).
    #[serde(default)]
    pub game_server_external_address: Option<String>,
    /// true: GameServers stay Scheduled until the SDK `Ready` call; false: Ready after start-up.
    #[serde(default)]
    pub game_server_ready_by_sidecar: bool,
    /// ManagedCertificates never become `Active`: they stay `Provisioning` with every domain
    /// `FailedNotVisible` (no DNS record points at the load balancer).
    #[serde(default)]
    pub certificate_fails: bool,
    /// The project number reported for the project (default derived from the project id).
    #[serde(default)]
    pub project_number: Option<String>,
    /// Who the caller is (`oauth2` userinfo, owner in the default project IAM policy).
    #[serde(default)]
    pub caller: Option<String>,
    /// The primary domain of the project's organization (`organizations.get` display name);
    /// default: the caller's domain.
    #[serde(default)]
    pub organization_domain: Option<String>,
    /// How long (simulated seconds) a new service account stays unknown to IAM bindings and
    /// other services (IAM is eventually consistent); default 30.
    #[serde(default)]
    pub service_account_propagation_seconds: Option<f64>,
    /// Seconds (before `--speed`) a cluster accepts a bearer token `anonymous-<unix ms>` after
    /// it was made; default 3600 (Google access tokens live at most an hour).
    #[serde(default)]
    pub token_lifetime_seconds: Option<f64>,
    /// Cloud Build builds that fail instead of succeeding.
    #[serde(default)]
    pub build_failures: Vec<BuildFailure>,
    /// sdctl's image-cache builder VM fails its pull (a registry or permission error).
    #[serde(default)]
    pub image_cache_build_fails: bool,
    /// Size (GB) of the WebUI image a new GPU node must get before a GameServer starts there, as
    /// the cold-start model times it (`k8s::coldstart`); 0 (default): no pull is modelled.
    #[serde(default)]
    pub webui_image_gb: f64,
}

/// A Cloud Build build that fails: the first `times` builds matching `image` (a substring of
/// one of the build's images or step names; absent: every build) end with `status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildFailure {
    #[serde(default)]
    pub image: Option<String>,
    /// `FAILURE` (default), `TIMEOUT` or `INTERNAL_ERROR`.
    #[serde(default)]
    pub status: Option<String>,
    /// The failing step's message in the build's `statusDetail` and log.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stockout {
    pub zone: String,
    #[serde(default)]
    pub machine_type: Option<String>,
    /// Only VMs obtained this way run out: `standard`, `spot` or `flexStart` (absent: every way).
    #[serde(default)]
    pub provisioning: Option<Provisioning>,
}

/// How a node pool's VMs are obtained (GKE `NodeConfig.spot`, `NodeConfig.flexStart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Provisioning {
    Standard,
    Spot,
    FlexStart,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    pub method: String,
    pub status: u16,
    /// How many calls fail before the method works again (default: every call).
    #[serde(default)]
    pub times: Option<u32>,
    /// Optional error message (default: the canonical message for the status).
    #[serde(default)]
    pub message: Option<String>,
    /// Seconds to send in a `Retry-After` header (429/503).
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Only calls whose REST path contains this (one resource, e.g. one service's SKUs).
    #[serde(default)]
    pub path: Option<String>,
}

impl Scenario {
    /// Parses a scenario from YAML text, with the offending field in the error.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("invalid scenario: {e}"))
    }

    pub fn billing_enabled(&self) -> bool {
        self.billing_enabled.unwrap_or(true)
    }

    /// Whether `zone` offers `accelerator` (a zone the scenario does not list offers everything).
    pub fn offers_accelerator(&self, zone: &str, accelerator: &str) -> bool {
        self.accelerators.get(zone).is_none_or(|types| types.iter().any(|t| t == accelerator))
    }

    /// Whether scaling a pool of `machine_type` in `zone`, obtained as `provisioning`, runs into a stockout.
    pub fn stocked_out(&self, zone: &str, machine_type: &str, provisioning: Provisioning) -> bool {
        self.stockouts.iter().any(|s| {
            s.zone == zone
                && s.machine_type.as_deref().is_none_or(|m| m == machine_type)
                && s.provisioning.is_none_or(|p| p == provisioning)
        })
    }

    /// The caller's e-mail (default `owner@example.com`).
    pub fn caller(&self) -> String {
        self.caller.clone().unwrap_or_else(|| "owner@example.com".to_string())
    }

    /// The organization's primary domain (default: the caller's e-mail domain).
    pub fn organization_domain(&self) -> String {
        self.organization_domain.clone().unwrap_or_else(|| {
            let caller = self.caller();
            caller.rsplit('@').next().unwrap_or("example.com").to_string()
        })
    }

    /// The endpoints GameServers report, in GPU-node order (`gameServerEndpoints`, else
    /// `gameServerEndpoint`).
    pub fn endpoints(&self) -> Vec<String> {
        if self.game_server_endpoints.is_empty() {
            self.game_server_endpoint.iter().cloned().collect()
        } else {
            self.game_server_endpoints.clone()
        }
    }

    pub fn token_lifetime_seconds(&self) -> f64 {
        self.token_lifetime_seconds.unwrap_or(3600.0)
    }

    pub fn service_account_propagation_seconds(&self) -> f64 {
        self.service_account_propagation_seconds.unwrap_or(30.0)
    }

    pub fn permission_denied(&self, permission: &str) -> bool {
        self.permissions_denied.iter().any(|p| p == permission)
    }
}
