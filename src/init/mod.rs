//! `sdctl init`: the answers a new `sdctl.yaml` needs, their defaults (detected from gcloud's
//! configuration and Cloud Shell), which zones sell each GPU, and the commented file itself.
//! Asking is the CLI's and the UI's business; this module only knows what to ask and write.

pub mod detect;
pub mod gpu_zones;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;

use crate::config::GpuKind;
use crate::gcp::Gcp;

/// Everything `init` writes into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    pub project: String,
    pub region: String,
    pub zones: Vec<String>,
    pub name: String,
    pub gpu: GpuKind,
    /// `filestore` or `gcs`.
    pub storage: String,
    pub max_users: u32,
    /// Empty: `<static-ip>.sslip.io`.
    pub domain: String,
    pub iap_members: Vec<String>,
}

pub const DEFAULT_NAME: &str = "sd-demo";
pub const DEFAULT_REGION: &str = "us-central1";
pub const DEFAULT_MAX_USERS: u32 = 3;

/// The questions and their flags, in the order they are asked.
pub const QUESTIONS: [(&str, &str); 9] = [
    ("project", "--project"),
    ("region", "--region"),
    ("name", "--name"),
    ("gpu", "--gpu"),
    ("zones", "--zones"),
    ("storage", "--storage"),
    ("max users", "--max-users"),
    ("domain", "--domain"),
    ("IAP members", "--iap-member"),
];

/// A JSON string is a valid YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| quoted(i)).collect::<Vec<_>>().join(", "))
}

/// The commented `sdctl.yaml` for these answers.
pub fn render(a: &Answers) -> String {
    let machine = a.gpu.default_machine_type();
    let accelerator = a.gpu.accelerator();
    format!(
        r#"# sdctl environment written by `sdctl init`. Every field can be changed later: run `sdctl up`
# again and it applies the difference. Reference: docs/sdctl.schema.json.
#   sdctl preflight    check quotas, GPUs per zone, permissions, org policies (creates nothing)
#   sdctl cost         what it costs per hour and month, idle and at full load
#   sdctl up           create it (about 10 minutes); `sdctl down` deletes it
apiVersion: sdctl/v1
name: {name}                      # environment name: every resource name derives from it
project: {project}                # Google Cloud project id (or --project / SDCTL_PROJECT)
region: {region}
zones: {zones}                    # node locations; a zonal cluster lives in the first
cluster:
  location: zonal                 # zonal | regional (regional: node counts are per zone, x the zones)
  releaseChannel: regular         # GKE release channel: rapid | regular | stable | extended
  private: false                  # true: nodes without external IPs, egress through Cloud NAT
  network: default
  subnetwork: default
  systemPool: {{ machineType: e2-standard-4, nodes: 1 }}   # Agones controllers and the router; nodes per zone
gpu:
  type: {gpu}                     # t4 (nvidia-tesla-t4 on N1) | l4 (nvidia-l4 on G2): {accelerator} here
  machineType: {machine}
  count: 1                        # GPUs per node, one user each
  minNodes: 0                     # GPU nodes scale to zero when nobody works
  maxNodes: {max_nodes}                     # most GPU nodes, in all zones together
  spot: false                     # true: spot VMs, cheaper but can be preempted
  driver: latest                  # GPU driver installed by GKE
  imageStreaming: true            # GKE image streaming: the large WebUI image starts sooner
  imageCache: false               # true: GPU nodes get the WebUI image on a disk (needs Private Google Access or cluster.private)
storage:
  kind: {storage}                 # filestore (NFS share) | gcs (Cloud Storage through GCS-Fuse)
  filestore: {{ tier: BASIC_HDD, capacityGb: 1024, share: vol1 }}   # used with kind: filestore
  gcs: {{ bucket: "", location: {gcs_location} }}   # used with kind: gcs; empty bucket: a derived name
redis: {{ tier: STANDARD_HA, sizeGb: 1, version: REDIS_7_2, auth: true, tls: false }}   # user -> WebUI map
runtime:
  maxUsers: {max_users}                     # users served at once: at most gpu.maxNodes x gpu.count
  bufferSize: 1                   # warm WebUI pods waiting for the next user (their GPU node stays up)
  idleMinutes: 15                 # a user's WebUI is reclaimed after this long without traffic
  startupMinutes: 15              # a starting WebUI may take this long to load its checkpoint
  insecureExtensionAccess: false  # true: users may install extensions from the UI (and so run any code)
access:
  domain: {domain}                # empty: <static-ip-with-dashes>.sslip.io; else create the DNS record `up` prints
  iap:
    members: {members}            # who may sign in: user:EMAIL, group:EMAIL, domain:DOMAIN
    oauthClient: managed          # Google-managed OAuth client: users inside your organization only
"#,
        name = a.name,
        project = a.project,
        region = a.region,
        zones = list(&a.zones),
        gpu = a.gpu,
        max_nodes = a.max_users,
        storage = a.storage,
        gcs_location = a.region.to_uppercase(),
        max_users = a.max_users,
        domain = quoted(&a.domain),
        members = list(&a.iap_members),
    )
}

/// Zones of `region` that sell each GPU type, when the API can be asked (credentials, Compute
/// enabled); None otherwise. Bounded to a few seconds: it only decorates a question.
pub async fn zones_offering(gcp: &Gcp, project: &str, region: &str) -> Option<BTreeMap<GpuKind, Vec<String>>> {
    let ask = async {
        let regions = gcp.regions().await.ok()?;
        let r = regions.get().set_project(project).set_region(region).send().await.ok()?;
        let mut zones: Vec<String> = r.zones.iter().filter_map(|z| z.rsplit('/').next().map(String::from)).collect();
        zones.sort();
        let types = gcp.accelerator_types().await.ok()?;
        let lists = join_all(zones.iter().map(|zone| {
            let types = types.clone();
            async move {
                let list = types.list().set_project(project).set_zone(zone).send().await.ok()?;
                Some((zone.clone(), list.items.into_iter().filter_map(|a| a.name).collect::<Vec<_>>()))
            }
        }))
        .await;
        let mut offering: BTreeMap<GpuKind, Vec<String>> = BTreeMap::new();
        for (zone, names) in lists.into_iter().flatten() {
            for (_, kind) in GpuKind::ALL {
                if names.iter().any(|n| n == kind.accelerator()) {
                    offering.entry(kind).or_default().push(zone.clone());
                }
            }
        }
        for (_, kind) in GpuKind::ALL {
            offering.entry(kind).or_default();
        }
        Some(offering)
    };
    tokio::time::timeout(Duration::from_secs(8), ask).await.ok().flatten()
}

/// The zones to suggest: a detected zone of the region that sells the GPU, else the first zone
/// that does, else `<region>-a`.
pub fn default_zone(region: &str, detected: Option<&str>, offering: Option<&[String]>) -> String {
    let sells = |z: &str| offering.is_none_or(|o| o.iter().any(|x| x == z));
    if let Some(z) = detected
        && z.starts_with(&format!("{region}-"))
        && sells(z)
    {
        return z.to_string();
    }
    offering.and_then(|o| o.first().cloned()).unwrap_or_else(|| format!("{region}-a"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, parse};

    #[test]
    fn the_written_file_is_a_valid_configuration() {
        let a = Answers {
            project: "my-project".into(),
            region: "us-central1".into(),
            zones: vec!["us-central1-b".into()],
            name: "sd-team".into(),
            gpu: GpuKind::L4,
            storage: "gcs".into(),
            max_users: 4,
            domain: String::new(),
            iap_members: vec!["user:alice@example.com".into(), "group:sd@example.com".into()],
        };
        let config = parse(&render(&a), &Overrides::default()).unwrap_or_else(|p| panic!("{p:#?}"));
        assert_eq!(config.gpu.machine_type, "g2-standard-8");
        assert_eq!((config.gpu.max_nodes, config.runtime.max_users), (4, 4));
        assert!(matches!(config.storage, crate::config::Storage::Gcs(_)));
        assert_eq!(config.access.domain, None);
        assert_eq!(config.access.iap_members.len(), 2);
    }

    #[test]
    fn zone_defaults() {
        let offered = vec!["us-central1-b".to_string(), "us-central1-c".to_string()];
        assert_eq!(default_zone("us-central1", Some("us-central1-c"), Some(&offered)), "us-central1-c");
        assert_eq!(default_zone("us-central1", Some("us-central1-a"), Some(&offered)), "us-central1-b");
        assert_eq!(default_zone("us-central1", Some("europe-west4-a"), None), "us-central1-a");
    }
}
