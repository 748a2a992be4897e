//! Google's public list prices sdctl estimates with: one region (us-central1), USD, on-demand
//! unless named spot. Each figure says where it was published and when it was recorded; `checked`
//! says how. sdctl never fetches prices at run time, so these go stale: `docs/cost-model.md` says
//! how to refresh them.

/// The region every figure is for.
pub const REGION: &str = "us-central1";

/// Hours in a billing month (Google's pricing pages use 730).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One published price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub usd: f64,
    /// `hour`, `GB-hour`, `GiB-month`, ...
    pub per: &'static str,
    /// When the figure was recorded (year-month).
    pub as_of: &'static str,
    /// The public pricing page it comes from.
    pub page: &'static str,
    /// How the figure was checked.
    pub checked: Checked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Cross-checked against an export of the Cloud Billing Catalog (SKU prices), same month.
    Catalog,
    /// The list price as published on the page; not re-read when recorded.
    Page,
}

impl Price {
    /// The price of `units` (GiB for a GiB-month price), rounded to the cent.
    pub fn of(&self, units: f64) -> f64 {
        (units * self.usd * 100.0).round() / 100.0
    }

    /// `page (us-central1, 2026-11)`: what cost items cite.
    pub fn source(&self) -> String {
        format!("{} ({REGION}, {})", self.page, self.as_of)
    }
}

const VM: &str = "https://cloud.google.com/compute/vm-instance-pricing";
const GPU: &str = "https://cloud.google.com/compute/gpus-pricing";
const SPOT: &str = "https://cloud.google.com/spot-vms/pricing";
const DISK: &str = "https://cloud.google.com/compute/disks-image-pricing";
const NET: &str = "https://cloud.google.com/vpc/network-pricing";
const NAT: &str = "https://cloud.google.com/nat/pricing";
const GKE: &str = "https://cloud.google.com/kubernetes-engine/pricing";
const FILESTORE: &str = "https://cloud.google.com/filestore/pricing";
const REDIS: &str = "https://cloud.google.com/memorystore/docs/redis/pricing";
const LB: &str = "https://cloud.google.com/vpc/network-pricing#lb";
const GCS: &str = "https://cloud.google.com/storage/pricing";
const AR: &str = "https://cloud.google.com/artifact-registry/pricing";

/// When the table was recorded.
pub const AS_OF: &str = "2026-11";

const fn p(usd: f64, per: &'static str, page: &'static str, checked: Checked) -> Price {
    Price { usd, per, as_of: AS_OF, page, checked }
}

// --- GKE ---
/// Standard cluster management fee (zonal and regional alike; the free tier's monthly credit
/// covers one zonal cluster per billing account, not counted here).
pub const GKE_CLUSTER: Price = p(0.10, "cluster-hour", GKE, Checked::Page);

// --- VMs: resource-based prices (vCPU-hour, GB-hour) ---
/// E2 predefined (e2-standard-4 = 4 x 0.021811 + 16 x 0.002923 = 0.134012; catalog: 0.13402).
pub const E2_VCPU: Price = p(0.021811, "vCPU-hour", VM, Checked::Catalog);
pub const E2_GB: Price = p(0.002923, "GB-hour", VM, Checked::Catalog);
pub const E2_CUSTOM_VCPU: Price = p(0.022890, "vCPU-hour", VM, Checked::Page);
pub const E2_CUSTOM_GB: Price = p(0.003067, "GB-hour", VM, Checked::Page);
pub const E2_MICRO: Price = p(0.008376, "hour", VM, Checked::Page);
pub const E2_SMALL: Price = p(0.016751, "hour", VM, Checked::Page);
pub const E2_MEDIUM: Price = p(0.033503, "hour", VM, Checked::Page);
/// N1 and N2 predefined.
pub const N1_VCPU: Price = p(0.031611, "vCPU-hour", VM, Checked::Page);
pub const N1_GB: Price = p(0.004237, "GB-hour", VM, Checked::Page);
/// N1/N2 custom machine types, and their extended memory.
pub const N1_CUSTOM_VCPU: Price = p(0.033174, "vCPU-hour", VM, Checked::Page);
pub const N1_CUSTOM_GB: Price = p(0.004446, "GB-hour", VM, Checked::Page);
pub const N1_CUSTOM_EXTENDED_GB: Price = p(0.009550, "GB-hour", VM, Checked::Page);
/// G2 without its GPUs (g2-standard-8 = 8 x 0.024988 + 32 x 0.002928 = 0.2936; catalog: 0.29358).
pub const G2_VCPU: Price = p(0.024988, "vCPU-hour", VM, Checked::Catalog);
pub const G2_GB: Price = p(0.002928, "GB-hour", VM, Checked::Catalog);
/// Spot vCPU and memory as a share of on-demand: the catalog's us-central1 spot prices were 40%
/// of on-demand for E2 (0.05358 / 0.13402) and G2 (0.11747 / 0.29358); sdctl applies the same
/// share to N1 custom types, whose spot SKUs it has not cross-checked.
pub const SPOT_SHARE: Price = p(0.40, "share of on-demand", SPOT, Checked::Catalog);

// --- GPUs (per GPU) ---
pub const T4: Price = p(0.35, "GPU-hour", GPU, Checked::Catalog);
pub const T4_SPOT: Price = p(0.14, "GPU-hour", SPOT, Checked::Catalog);
pub const L4: Price = p(0.56004, "GPU-hour", GPU, Checked::Catalog);
pub const L4_SPOT: Price = p(0.2231, "GPU-hour", SPOT, Checked::Catalog);

// --- Disks and addresses ---
pub const PD_BALANCED: Price = p(0.10, "GiB-month", DISK, Checked::Page);
/// Custom disk image storage (the image cache). Billed on the image's stored size, which can be
/// smaller than its disk size; estimated on the disk size (an upper bound).
pub const IMAGE_STORAGE: Price = p(0.05, "GiB-month", DISK, Checked::Page);
/// External IPv4 address in use by a VM (every node of a public cluster has one).
pub const VM_EXTERNAL_IP: Price = p(0.005, "hour", NET, Checked::Page);
pub const SPOT_VM_EXTERNAL_IP: Price = p(0.0025, "hour", NET, Checked::Page);
/// A static address in use by a forwarding rule: no charge (reserved but unused: 0.01/hour).
pub const STATIC_IP_IN_USE: Price = p(0.0, "hour", NET, Checked::Page);

// --- Network services ---
/// Global external Application Load Balancer: forwarding rules (first five).
pub const LB_FORWARDING_RULE: Price = p(0.025, "rule-hour", LB, Checked::Page);
/// Cloud NAT gateway: per VM using it, capped at 32 VMs (0.044/hour); data processed
/// (0.045/GiB) is traffic-dependent and not estimated.
pub const NAT_PER_VM: Price = p(0.0014, "VM-hour", NAT, Checked::Page);
pub const NAT_MAX_VMS: u32 = 32;
/// The NAT's automatically allocated external address.
pub const NAT_IP: Price = p(0.005, "hour", NAT, Checked::Page);

// --- Storage services ---
pub const FILESTORE_BASIC_HDD: Price = p(0.20, "GiB-month", FILESTORE, Checked::Page);
pub const FILESTORE_BASIC_SSD: Price = p(0.30, "GiB-month", FILESTORE, Checked::Page);
pub const FILESTORE_ZONAL: Price = p(0.25, "GiB-month", FILESTORE, Checked::Page);
pub const FILESTORE_REGIONAL: Price = p(0.45, "GiB-month", FILESTORE, Checked::Page);
pub const FILESTORE_ENTERPRISE: Price = p(0.60, "GiB-month", FILESTORE, Checked::Page);
pub const GCS_REGIONAL: Price = p(0.020, "GB-month", GCS, Checked::Page);
pub const GCS_MULTI_REGION: Price = p(0.026, "GB-month", GCS, Checked::Page);
pub const ARTIFACT_REGISTRY: Price = p(0.10, "GB-month", AR, Checked::Page);
/// Artifact Registry's free storage per billing account.
pub const ARTIFACT_REGISTRY_FREE_GB: f64 = 0.5;

/// Memorystore for Redis per GB-hour by capacity tier: (up to GB, basic, standard HA).
pub const REDIS_TIERS: [(u32, Price, Price); 5] = [
    (4, p(0.049, "GB-hour", REDIS, Checked::Page), p(0.064, "GB-hour", REDIS, Checked::Page)),
    (10, p(0.027, "GB-hour", REDIS, Checked::Page), p(0.054, "GB-hour", REDIS, Checked::Page)),
    (35, p(0.023, "GB-hour", REDIS, Checked::Page), p(0.046, "GB-hour", REDIS, Checked::Page)),
    (100, p(0.019, "GB-hour", REDIS, Checked::Page), p(0.038, "GB-hour", REDIS, Checked::Page)),
    (u32::MAX, p(0.016, "GB-hour", REDIS, Checked::Page), p(0.032, "GB-hour", REDIS, Checked::Page)),
];

// --- Assumptions (sizes sdctl cannot know) ---
/// Models and outputs in a bucket (a few Stable Diffusion checkpoints).
pub const ASSUMED_BUCKET_GB: f64 = 50.0;
/// The WebUI image (CUDA, torch) and the runtime image.
pub const ASSUMED_IMAGES_GB: f64 = 15.0;
