//! Google's official Rust clients, built once per run with the right endpoint and credentials,
//! with sdctl's own retry loop (visible as `retry` events) instead of the SDK's silent one.

mod auth;
pub mod endpoints;
pub mod error;
pub mod identity;
pub mod ops;
pub mod retry;
pub mod storage;
pub mod wait;

use google_cloud_gax::client_builder::ClientBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use tokio::sync::OnceCell;

pub use auth::{ANONYMOUS_TOKEN, Auth, TokenSource};
pub use endpoints::{Endpoints, Service};
pub use error::{ApiError, ErrorKind};

use google_cloud_auth::credentials::Credentials;

/// Every Google client of a run, built on first use.
pub struct Gcp {
    pub endpoints: Endpoints,
    pub auth: Auth,
    cells: Cells,
}

impl Gcp {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { auth: Auth::new(endpoints.clone()), endpoints, cells: Cells::default() }
    }

    /// Endpoint, credentials and retry settings common to every client.
    fn configure<F>(
        &self,
        builder: ClientBuilder<F, Credentials>,
        service: Service,
    ) -> anyhow::Result<ClientBuilder<F, Credentials>> {
        Ok(builder
            .with_endpoint(self.endpoints.url(service))
            .with_credentials(self.auth.credentials(service)?)
            .with_retry_policy(NeverRetry))
    }
}

macro_rules! clients {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $service:expr;)*) => {
        #[derive(Default)]
        struct Cells {
            $($name: OnceCell<$ty>,)*
        }

        impl Gcp {
            $(
                $(#[$doc])*
                pub async fn $name(&self) -> anyhow::Result<&$ty> {
                    self.cells
                        .$name
                        .get_or_try_init(|| async {
                            let builder = self.configure(<$ty>::builder(), $service)?;
                            builder.build().await.map_err(|e| {
                                anyhow::anyhow!("cannot create the {} client: {e}", $service.api_name())
                            })
                        })
                        .await
                }
            )*
        }
    };
}

clients! {
    /// GKE clusters, node pools and operations.
    container: google_cloud_container_v1::client::ClusterManager = Service::Container;
    networks: google_cloud_compute_v1::client::Networks = Service::Compute;
    subnetworks: google_cloud_compute_v1::client::Subnetworks = Service::Compute;
    routes: google_cloud_compute_v1::client::Routes = Service::Compute;
    firewalls: google_cloud_compute_v1::client::Firewalls = Service::Compute;
    global_addresses: google_cloud_compute_v1::client::GlobalAddresses = Service::Compute;
    routers: google_cloud_compute_v1::client::Routers = Service::Compute;
    regions: google_cloud_compute_v1::client::Regions = Service::Compute;
    compute_projects: google_cloud_compute_v1::client::Projects = Service::Compute;
    zones: google_cloud_compute_v1::client::Zones = Service::Compute;
    accelerator_types: google_cloud_compute_v1::client::AcceleratorTypes = Service::Compute;
    machine_types: google_cloud_compute_v1::client::MachineTypes = Service::Compute;
    global_operations: google_cloud_compute_v1::client::GlobalOperations = Service::Compute;
    region_operations: google_cloud_compute_v1::client::RegionOperations = Service::Compute;
    zone_operations: google_cloud_compute_v1::client::ZoneOperations = Service::Compute;
    global_forwarding_rules: google_cloud_compute_v1::client::GlobalForwardingRules = Service::Compute;
    forwarding_rules: google_cloud_compute_v1::client::ForwardingRules = Service::Compute;
    backend_services: google_cloud_compute_v1::client::BackendServices = Service::Compute;
    network_endpoint_groups: google_cloud_compute_v1::client::NetworkEndpointGroups = Service::Compute;
    health_checks: google_cloud_compute_v1::client::HealthChecks = Service::Compute;
    target_http_proxies: google_cloud_compute_v1::client::TargetHttpProxies = Service::Compute;
    target_https_proxies: google_cloud_compute_v1::client::TargetHttpsProxies = Service::Compute;
    url_maps: google_cloud_compute_v1::client::UrlMaps = Service::Compute;
    ssl_certificates: google_cloud_compute_v1::client::SslCertificates = Service::Compute;
    /// The image-cache builder: its VM, data disk and the disk image made from it.
    instances: google_cloud_compute_v1::client::Instances = Service::Compute;
    disks: google_cloud_compute_v1::client::Disks = Service::Compute;
    images: google_cloud_compute_v1::client::Images = Service::Compute;
    /// Filestore instances.
    filestore: google_cloud_filestore_v1::client::CloudFilestoreManager = Service::File;
    /// Memorystore for Redis instances.
    redis: google_cloud_redis_v1::client::CloudRedis = Service::Redis;
    artifact_registry: google_cloud_artifactregistry_v1::client::ArtifactRegistry = Service::ArtifactRegistry;
    cloud_build: google_cloud_build_v1::client::CloudBuild = Service::CloudBuild;
    iap: google_cloud_iap_v1::client::IdentityAwareProxyAdminService = Service::Iap;
    service_usage: google_cloud_api_serviceusage_v1::client::ServiceUsage = Service::ServiceUsage;
    projects: google_cloud_resourcemanager_v3::client::Projects = Service::ResourceManager;
    organizations: google_cloud_resourcemanager_v3::client::Organizations = Service::ResourceManager;
    iam: google_cloud_iam_admin_v1::client::Iam = Service::Iam;
    billing: google_cloud_billing_v1::client::CloudBilling = Service::Billing;
    /// The Cloud Billing Catalog (list prices by SKU).
    catalog: google_cloud_billing_v1::client::CloudCatalog = Service::Billing;
    org_policy: google_cloud_orgpolicy_v2::client::OrgPolicy = Service::OrgPolicy;
}
