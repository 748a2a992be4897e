//! Every resource name sdctl uses, derived from the environment name in one place.
//!
//! The environment name matches `[a-z][a-z0-9-]{0,19}`, so it may end with a hyphen; every
//! derived Google name therefore ends with a fixed suffix, which keeps it within the
//! `[a-z]([-a-z0-9]*[a-z0-9])?` rule and the type's length limit (checked by a test for the
//! longest possible name).

use sha2::{Digest, Sha256};

use crate::config::Config;

/// Label marking Google resources sdctl manages (value: the environment name).
pub const LABEL_ENV: &str = "sdctl-env";
/// Label marking Kubernetes objects sdctl manages (value: the environment name).
pub const K8S_LABEL_ENV: &str = "sdctl.dev/env";
pub const K8S_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label the router puts on a user's GameServer (`<readable prefix>-<hash>`).
pub const K8S_LABEL_USER: &str = "sdctl.dev/user";
/// Label of a disk given back by `up` after `down --keep-data` (`user::hash` of its user's
/// e-mail) until the user's first request makes it theirs (`sdctl.dev/user` and the e-mail).
pub const K8S_LABEL_USER_HASH: &str = "sdctl.dev/user-hash";
/// Annotation with the user's full e-mail address.
pub const K8S_ANNOTATION_USER_EMAIL: &str = "sdctl.dev/user-email";
/// Port of the router's Service (load-balancer health checks reach it too).
pub const ROUTER_PORT: u16 = 8080;
/// Field manager of sdctl's server-side applies.
pub const FIELD_MANAGER: &str = "sdctl";

/// All names of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    env: String,
    project: String,
    region: String,
    repository: String,
    project_hash: String,
}

impl Names {
    pub fn new(config: &Config) -> Self {
        Self::from_parts(&config.name, &config.project, &config.region, &config.images.repository)
    }

    pub fn from_parts(env: &str, project: &str, region: &str, repository: &str) -> Self {
        let digest = Sha256::digest(project.as_bytes());
        let project_hash = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            env: env.to_string(),
            project: project.to_string(),
            region: region.to_string(),
            repository: repository.to_string(),
            project_hash,
        }
    }

    pub fn env(&self) -> &str {
        &self.env
    }

    /// `managed by sdctl, env <name>`: the description of resources that take no labels.
    pub fn description(&self) -> String {
        format!("managed by sdctl, env {}", self.env)
    }

    // --- GKE ---

    /// GKE cluster (at most 40 characters).
    pub fn cluster(&self) -> String {
        format!("{}-gke", self.env)
    }

    /// Node pool for Agones' controllers and the router.
    pub fn system_pool(&self) -> &'static str {
        "system"
    }

    /// Node pool of GPU nodes.
    pub fn gpu_pool(&self) -> &'static str {
        "gpu"
    }

    /// Network tag only GPU nodes carry (firewall target).
    pub fn gpu_node_tag(&self) -> String {
        format!("{}-gpu-node", self.env)
    }

    /// Network tag every node of the cluster carries.
    pub fn node_tag(&self) -> String {
        format!("{}-node", self.env)
    }

    /// Secondary range of the cluster's pods.
    pub fn pod_range(&self) -> String {
        format!("{}-pods", self.env)
    }

    /// Secondary range of the cluster's services.
    pub fn service_range(&self) -> String {
        format!("{}-services", self.env)
    }

    // --- network ranges ---

    /// Where this environment starts looking for free VPC ranges (`steps::ranges`): environments
    /// in one VPC rarely look at the same candidates first.
    pub fn slot(&self) -> u32 {
        let digest = Sha256::digest(format!("{}/{}", self.project, self.env).as_bytes());
        u32::from(digest[0]) % 24
    }

    // --- IAM ---

    /// Account id of the dedicated node service account (6-30 characters).
    pub fn node_service_account_id(&self) -> String {
        format!("{}-nodes", self.env)
    }

    pub fn node_service_account_email(&self) -> String {
        format!("{}@{}.iam.gserviceaccount.com", self.node_service_account_id(), self.project_for_email())
    }

    /// Account id of the service account image builds run as (6-30 characters).
    pub fn build_service_account_id(&self) -> String {
        format!("{}-build", self.env)
    }

    pub fn build_service_account_email(&self) -> String {
        format!("{}@{}.iam.gserviceaccount.com", self.build_service_account_id(), self.project_for_email())
    }

    /// Domain-scoped projects (`example.com:proj`) put `proj.example.com` in service account e-mails.
    fn project_for_email(&self) -> String {
        match self.project.split_once(':') {
            Some((domain, id)) => format!("{id}.{domain}"),
            None => self.project.clone(),
        }
    }

    /// Workload Identity pool of the project.
    pub fn workload_pool(&self) -> String {
        format!("{}.svc.id.goog", self.project)
    }

    // --- network ---

    pub fn firewall_gameservers(&self) -> String {
        format!("{}-allow-gameservers", self.env)
    }

    pub fn firewall_health_checks(&self) -> String {
        format!("{}-allow-health-checks", self.env)
    }

    pub fn firewall_webhooks(&self) -> String {
        format!("{}-allow-webhooks", self.env)
    }

    pub fn router(&self) -> String {
        format!("{}-router", self.env)
    }

    pub fn nat(&self) -> String {
        format!("{}-nat", self.env)
    }

    /// Global static IP of the ingress.
    pub fn address(&self) -> String {
        format!("{}-ip", self.env)
    }

    // --- storage, redis, images ---

    pub fn filestore(&self) -> String {
        format!("{}-files", self.env)
    }

    /// Models bucket when the config names none: bucket names are global, hence the project hash.
    pub fn models_bucket(&self) -> String {
        format!("{}-models-{}", self.env, self.project_hash)
    }

    /// Staging bucket of `sdctl build` contexts.
    pub fn build_bucket(&self) -> String {
        format!("{}-build-{}", self.env, self.project_hash)
    }

    // --- image cache ---

    /// Disk image holding the WebUI image whose tag is `tag` (16 hex digits), unpacked for GKE's
    /// CONTAINER_IMAGE_CACHE: one per WebUI image.
    pub fn cache_image(&self, tag: &str) -> String {
        format!("{}-cache-{tag}", self.env)
    }

    /// Image family of the cache images.
    pub fn cache_image_family(&self) -> String {
        format!("{}-webui-cache", self.env)
    }

    /// Temporary VM that fills the cache disk (its boot disk takes its name).
    pub fn cache_builder(&self) -> String {
        format!("{}-cache-builder", self.env)
    }

    /// Temporary data disk the cache image is made from.
    pub fn cache_disk(&self) -> String {
        format!("{}-cache-data", self.env)
    }

    pub fn redis(&self) -> String {
        format!("{}-redis", self.env)
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `REGION-docker.pkg.dev/PROJECT/REPO/IMAGE`.
    pub fn image(&self, image: &str) -> String {
        format!("{}-docker.pkg.dev/{}/{}/{image}", self.region, self.project.replace(':', "/"), self.repository)
    }

    // --- Kubernetes ---

    pub const AGONES_NAMESPACE: &'static str = "agones-system";
    pub const FLEET: &'static str = "webui";
    /// The NetworkPolicy of the WebUI pods.
    pub const WEBUI_POLICY: &'static str = "webui-isolation";
    pub const ROUTER: &'static str = "sdctl-router";
    /// ConfigMap where the router publishes how many users wait for a WebUI, per Fleet (for
    /// `status`: Redis is out of reach from outside the VPC). Counts only, never who.
    pub const QUEUE_CONFIG: &'static str = "sdctl-queue";
    pub const RECLAIM: &'static str = "sdctl-reclaim";
    pub const INGRESS: &'static str = "sdctl-ingress";
    pub const BACKEND_CONFIG: &'static str = "sdctl-iap";
    pub const CERTIFICATE: &'static str = "sdctl-cert";
    pub const SHARED_CLAIM: &'static str = "sdctl-shared";
    /// The StorageClass of users' own disks (runtime.kind okg).
    pub const USER_DISK_CLASS: &'static str = "sdctl-user-disk";
    pub const REDIS_SECRET: &'static str = "sdctl-redis";
    pub const OAUTH_SECRET: &'static str = "sdctl-iap-oauth";
    /// ConfigMap with the IAP audience the router checks (written once the load balancer exists).
    pub const IAP_CONFIG: &'static str = "sdctl-iap-audience";
    /// The Kubernetes service account WebUI pods run as: Agones' SDK account, which Agones gives
    /// a GameServer pod that names none, and then hides from the WebUI container.
    pub const GAMESERVER_SERVICE_ACCOUNT: &'static str = "agones-sdk";
    /// The Kubernetes service account users' instances run as (runtime okg): no Role, no token
    /// in the pod; with GCS storage, the Workload Identity principal that reads the bucket.
    pub const INSTANCE_SERVICE_ACCOUNT: &'static str = "sdctl-webui";

    /// Cluster-scoped PersistentVolume of the shared storage (one per environment).
    pub fn shared_volume(&self) -> String {
        format!("{}-shared", self.env)
    }
}

/// RFC 1123 label: what Kubernetes namespaces and many names must be.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve::is_gcp_name;

    /// The longest environment name allowed, ending in a hyphen (the awkward case).
    const LONGEST: &str = "abcdefghijklmnopqrs-";

    #[test]
    fn every_derived_name_fits_its_resource_type() {
        assert_eq!(LONGEST.len(), 20);
        let n = Names::from_parts(LONGEST, "a-very-long-project-id-1234567", "northamerica-northeast2", "sd-images");
        let rfc1035 = [
            ("GKE cluster", n.cluster(), 40),
            ("node service account id", n.node_service_account_id(), 30),
            ("build service account id", n.build_service_account_id(), 30),
            ("GPU node tag", n.gpu_node_tag(), 63),
            ("node tag", n.node_tag(), 63),
            ("pod range", n.pod_range(), 63),
            ("service range", n.service_range(), 63),
            ("firewall", n.firewall_gameservers(), 63),
            ("firewall", n.firewall_health_checks(), 63),
            ("firewall", n.firewall_webhooks(), 63),
            ("router", n.router(), 63),
            ("NAT", n.nat(), 63),
            ("address", n.address(), 63),
            ("Filestore instance", n.filestore(), 63),
            ("Redis instance", n.redis(), 40),
            ("bucket", n.models_bucket(), 63),
            ("bucket", n.build_bucket(), 63),
            ("image", n.cache_image("0123456789abcdef"), 63),
            ("image family", n.cache_image_family(), 63),
            ("instance", n.cache_builder(), 63),
            ("disk", n.cache_disk(), 63),
        ];
        for (what, name, max) in rfc1035 {
            assert!(is_gcp_name(&name, max), "{what} name {name:?} breaks its rules (max {max})");
        }
        assert!(n.node_service_account_id().len() >= 6);
        assert!(is_dns_label(&n.shared_volume()));
        assert!(n.node_service_account_email().ends_with("@a-very-long-project-id-1234567.iam.gserviceaccount.com"));
    }

    #[test]
    fn shortest_name_still_makes_a_valid_service_account() {
        let n = Names::from_parts("a", "my-project", "us-central1", "a-images");
        assert!(n.node_service_account_id().len() >= 6, "{}", n.node_service_account_id());
        assert!(n.build_service_account_id().len() >= 6, "{}", n.build_service_account_id());
    }

    #[test]
    fn buckets_differ_per_project() {
        let a = Names::from_parts("sd", "project-one", "us-central1", "r");
        let b = Names::from_parts("sd", "project-two", "us-central1", "r");
        assert_ne!(a.models_bucket(), b.models_bucket());
        assert_eq!(a.models_bucket(), Names::from_parts("sd", "project-one", "x", "y").models_bucket());
    }

    #[test]
    fn domain_scoped_projects() {
        let n = Names::from_parts("sd", "example.com:proj", "us-central1", "repo");
        assert_eq!(n.node_service_account_email(), "sd-nodes@proj.example.com.iam.gserviceaccount.com");
        assert_eq!(n.image("x:1"), "us-central1-docker.pkg.dev/example.com/proj/repo/x:1");
    }
}
