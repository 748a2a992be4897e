//! Prices from Google's Cloud Billing Catalog API (`services.skus.list`) for the configured
//! region, cached for a day; the built-in table (`prices.rs`, us-central1) where no SKU matched
//! or the catalog cannot be read.
//!
//! Services by their documented ids (Compute Engine's is the Discovery document's own example;
//! the others as listed on cloud.google.com/skus and used by SkyPilot, infracost, opencost). SKUs
//! by the start of their description, their usage type (`OnDemand`; `Preemptible` for spot) and
//! their `serviceRegions` (the region, or `global`), never by the city in the description, which
//! Google spells several ways. Where several match (Google lists duplicates in some regions), the
//! dearest is taken: an estimate that guards a cost cap errs high. A price is the last tier of
//! the newest pricing at its dearest tier (past a free allowance, before a volume discount).
//! Compute Engine's SKUs are required (machines, GPUs, disks); another service that cannot be read
//! leaves its prices to the table, and says so.
//! `tests/emulator/FIDELITY.md` ("Billing Catalog") cites the descriptions and what is unconfirmed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use google_cloud_billing_v1::model::Sku;
use serde::{Deserialize, Serialize};

use crate::config::{FilestoreTier, GpuKind, RedisTier};
use crate::gcp::Gcp;

/// How long a region's prices are reused before the catalog is read again.
pub const CACHE_FOR: Duration = Duration::from_secs(24 * 3600);

pub const COMPUTE: &str = "6F81-5844-456A";
pub const KUBERNETES: &str = "CCD8-9BF1-090E";
pub const FILESTORE: &str = "D97E-AB26-5D95";
pub const REDIS: &str = "5AF5-2C11-D467";
pub const NETWORKING: &str = "E505-1604-58F8";
const SERVICES: [&str; 5] = [COMPUTE, KUBERNETES, FILESTORE, REDIS, NETWORKING];

/// A machine series as its SKUs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    E2,
    N1,
    /// N1 custom machine types (`custom-4-32768-ext`).
    N1Custom,
    G2,
}

impl Series {
    fn sku_name(self) -> &'static str {
        match self {
            Series::E2 => "E2 Instance",
            Series::N1 => "N1 Predefined Instance",
            Series::N1Custom => "Custom Instance",
            Series::G2 => "G2 Instance",
        }
    }
}

/// Every price sdctl can read from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// vCPU-hour of a series; `true`: spot.
    Core(Series, bool),
    /// GiB-hour of memory.
    Ram(Series, bool),
    /// GiB-hour of N1 custom extended memory.
    ExtendedRam(bool),
    /// GPU-hour.
    Gpu(GpuKind, bool),
    /// GKE's cluster management fee (zonal and regional have their own SKUs).
    Cluster { regional: bool },
    /// GiB-month of balanced persistent disk.
    BalancedDisk,
    /// GiB-month of a stored disk image.
    ImageStorage,
    /// Hour of an external IPv4 address on a VM.
    ExternalIp(bool),
    /// Hour of the global load balancer's first forwarding rules.
    ForwardingRule,
    /// GiB-month of Filestore capacity.
    Filestore(FilestoreTier),
    /// GiB-hour of Memorystore for Redis, by tier and capacity band (M1..M5).
    Redis(RedisTier, u8),
}

/// What identifies a key's SKU.
struct Wanted {
    service: &'static str,
    description: String,
    spot: bool,
    /// Billed project-wide rather than in a region (`serviceRegions: ["global"]`).
    global: bool,
    unit: &'static str,
}

impl Key {
    pub fn all() -> Vec<Key> {
        let mut keys = Vec::new();
        for spot in [false, true] {
            for series in [Series::E2, Series::N1, Series::N1Custom, Series::G2] {
                keys.push(Key::Core(series, spot));
                keys.push(Key::Ram(series, spot));
            }
            keys.push(Key::ExtendedRam(spot));
            keys.push(Key::Gpu(GpuKind::T4, spot));
            keys.push(Key::Gpu(GpuKind::L4, spot));
            keys.push(Key::ExternalIp(spot));
        }
        keys.extend([Key::Cluster { regional: false }, Key::Cluster { regional: true }]);
        keys.extend([Key::BalancedDisk, Key::ImageStorage, Key::ForwardingRule]);
        for tier in [
            FilestoreTier::BasicHdd,
            FilestoreTier::BasicSsd,
            FilestoreTier::Zonal,
            FilestoreTier::Regional,
            FilestoreTier::Enterprise,
        ] {
            keys.push(Key::Filestore(tier));
        }
        for tier in [RedisTier::Basic, RedisTier::StandardHa] {
            for band in 1..=5 {
                keys.push(Key::Redis(tier, band));
            }
        }
        keys
    }

    /// A stable name for the cache file.
    pub fn id(self) -> String {
        format!("{self:?}")
    }

    fn wanted(self) -> Wanted {
        let spot_prefix = |spot: bool| if spot { "Spot Preemptible " } else { "" };
        let w = |service, description: String, spot, global, unit| Wanted { service, description, spot, global, unit };
        match self {
            Key::Core(s, spot) => {
                w(COMPUTE, format!("{}{} Core running in ", spot_prefix(spot), s.sku_name()), spot, false, "h")
            }
            Key::Ram(s, spot) => {
                w(COMPUTE, format!("{}{} Ram running in ", spot_prefix(spot), s.sku_name()), spot, false, "GiBy.h")
            }
            Key::ExtendedRam(spot) => w(
                COMPUTE,
                format!("{}Custom Extended Instance Ram running in ", spot_prefix(spot)),
                spot,
                false,
                "GiBy.h",
            ),
            Key::Gpu(kind, spot) => {
                let gpu = match kind {
                    GpuKind::T4 => "Nvidia Tesla T4 GPU",
                    GpuKind::L4 => "Nvidia L4 GPU",
                };
                let on = if spot { " attached to Spot Preemptible VMs" } else { "" };
                w(COMPUTE, format!("{gpu}{on} running in "), spot, false, "h")
            }
            Key::Cluster { regional } => {
                let kind = if regional { "Regional" } else { "Zonal" };
                w(KUBERNETES, format!("{kind} Kubernetes Clusters"), false, true, "h")
            }
            Key::BalancedDisk => w(COMPUTE, "Balanced PD Capacity".into(), false, false, "GiBy.mo"),
            Key::ImageStorage => w(COMPUTE, "Storage Image".into(), false, false, "GiBy.mo"),
            Key::ExternalIp(spot) => {
                let vm = if spot { "Spot Preemptible VM" } else { "Standard VM" };
                w(COMPUTE, format!("External IP Charge on a {vm}"), spot, true, "h")
            }
            Key::ForwardingRule => {
                w(NETWORKING, "Cloud Load Balancer Forwarding Rule Minimum Global".into(), false, true, "h")
            }
            Key::Filestore(tier) => {
                let name = match tier {
                    FilestoreTier::BasicHdd => "Basic HDD",
                    FilestoreTier::BasicSsd => "Basic SSD",
                    FilestoreTier::Zonal => "Zonal",
                    FilestoreTier::Regional => "Regional",
                    FilestoreTier::Enterprise => "Enterprise",
                };
                w(FILESTORE, format!("Filestore Capacity {name}"), false, false, "GiBy.mo")
            }
            Key::Redis(tier, band) => {
                let name = match tier {
                    RedisTier::Basic => "Basic",
                    RedisTier::StandardHa => "Standard",
                };
                w(REDIS, format!("Redis Capacity {name} M{band} "), false, false, "GiBy.h")
            }
        }
    }
}

/// One matched SKU's price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuPrice {
    pub usd: f64,
    pub sku_id: String,
    pub description: String,
}

/// A region's prices as read from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub region: String,
    /// When the catalog was read (RFC 3339, UTC).
    pub read_at: String,
    /// By `Key::id`.
    pub prices: BTreeMap<String, SkuPrice>,
    /// Services whose SKUs could not be read (their prices come from the table), with why.
    #[serde(default)]
    pub unread: Vec<String>,
}

impl Catalog {
    pub fn get(&self, key: Key) -> Option<&SkuPrice> {
        self.prices.get(&key.id())
    }

    /// The day it was read (`2026-12-03`).
    pub fn date(&self) -> &str {
        self.read_at.get(..10).unwrap_or(&self.read_at)
    }

    /// Matches every key against the SKUs of the five services.
    pub fn from_skus(region: &str, read_at: String, skus: &[(&str, Sku)], unread: Vec<String>) -> Catalog {
        let prices = Key::all()
            .into_iter()
            .filter_map(|key| {
                let wanted = key.wanted();
                let candidates = skus.iter().filter(|(service, _)| *service == wanted.service).map(|(_, sku)| sku);
                best(&wanted, region, candidates).map(|p| (key.id(), p))
            })
            .collect();
        Catalog { region: region.to_string(), read_at, prices, unread }
    }
}

/// The dearest SKU that fits (see the module's comment).
fn best<'a>(wanted: &Wanted, region: &str, skus: impl Iterator<Item = &'a Sku>) -> Option<SkuPrice> {
    skus.filter(|sku| {
        let category = sku.category.as_ref();
        let usage = category.map(|c| c.usage_type.as_str()).unwrap_or_default();
        let usage_fits = match (wanted.global, wanted.spot) {
            // Project-wide SKUs (an address on a spot VM) are not all typed `Preemptible`.
            (true, _) => matches!(usage, "OnDemand" | "Preemptible"),
            (false, spot) => usage == if spot { "Preemptible" } else { "OnDemand" },
        };
        let in_region = sku.service_regions.iter().any(|r| r == region || (wanted.global && r == "global"));
        usage_fits && in_region && sku.description.starts_with(&wanted.description)
    })
    .filter_map(|sku| {
        let pricing = sku.pricing_info.last()?.pricing_expression.as_ref()?;
        if pricing.usage_unit != wanted.unit {
            return None;
        }
        // The dearest tier: past any free allowance, before any volume discount.
        let usd = pricing
            .tiered_rates
            .iter()
            .filter_map(|t| t.unit_price.as_ref())
            .filter(|m| m.currency_code == "USD")
            .map(|m| m.units as f64 + f64::from(m.nanos) / 1e9)
            .max_by(f64::total_cmp)?;
        Some(SkuPrice { usd, sku_id: sku.sku_id.clone(), description: sku.description.clone() })
    })
    .max_by(|a, b| a.usd.total_cmp(&b.usd))
}

/// `<cache>/sdctl/prices/<region>.json`; prices read from another endpoint than Google's (the
/// emulator) are kept apart, by a hash of the endpoint.
fn cache_path(region: &str, endpoint: &str) -> Option<PathBuf> {
    let name = if endpoint == GOOGLE {
        format!("{region}.json")
    } else {
        format!("{region}-{}.json", &crate::kube::upstream::sha256_hex(endpoint.as_bytes())[..12])
    };
    dirs::cache_dir().map(|d| d.join("sdctl").join("prices").join(name))
}

const GOOGLE: &str = "https://cloudbilling.googleapis.com";

/// The cached prices of `region` if read less than a day ago.
fn cached(region: &str, endpoint: &str, now: std::time::SystemTime) -> Option<Catalog> {
    let path = cache_path(region, endpoint)?;
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if now.duration_since(modified).unwrap_or_default() > CACHE_FOR {
        return None;
    }
    let catalog: Catalog = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    (catalog.region == region).then_some(catalog)
}

fn store(catalog: &Catalog, endpoint: &str) {
    let Some(path) = cache_path(&catalog.region, endpoint) else { return };
    let Ok(text) = serde_json::to_vec_pretty(catalog) else { return };
    // A failed cache write only costs a read of the catalog next time.
    let _ = crate::kube::upstream::write_cache_file(&path, &text);
}

/// The prices of `region` read from this endpoint less than a day ago.
pub fn fresh(gcp: &Gcp, region: &str) -> Option<Catalog> {
    cached(region, &gcp.endpoints.url(crate::gcp::Service::Billing), std::time::SystemTime::now())
}

/// Reads the five services' SKUs (every page) and matches them; cached for a day.
pub async fn read(gcp: &Gcp, region: &str) -> anyhow::Result<Catalog> {
    if let Some(catalog) = fresh(gcp, region) {
        return Ok(catalog);
    }
    let endpoint = gcp.endpoints.url(crate::gcp::Service::Billing);
    let client = gcp.catalog().await?;
    let lists = SERVICES.map(|service| async move { (service, list_skus(client, service).await) });
    let mut skus = Vec::new();
    let mut unread = Vec::new();
    for (service, listed) in futures::future::join_all(lists).await {
        match listed {
            Ok(list) => skus.extend(list.into_iter().map(|sku| (service, sku))),
            Err(e) if service == COMPUTE => return Err(e),
            Err(e) => unread.push(format!("{e:#}")),
        }
    }
    let read_at = k8s_openapi::jiff::Timestamp::now().round(k8s_openapi::jiff::Unit::Second)?.to_string();
    let catalog = Catalog::from_skus(region, read_at, &skus, unread);
    if catalog.get(Key::Core(Series::E2, false)).is_none() {
        anyhow::bail!("the Billing Catalog has no Compute Engine SKU for region {region} (no \"E2 Instance Core\")");
    }
    // A catalog read in part is used, not kept: the next run tries again.
    if catalog.unread.is_empty() {
        store(&catalog, &endpoint);
    }
    Ok(catalog)
}

/// Every SKU of a service, page by page.
async fn list_skus(
    client: &google_cloud_billing_v1::client::CloudCatalog,
    service: &'static str,
) -> anyhow::Result<Vec<Sku>> {
    let mut skus = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_skus()
            .set_parent(format!("services/{service}"))
            .set_currency_code("USD")
            .set_page_size(5000)
            .set_page_token(&token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot list the SKUs of service {service}: {e}"))?;
        skus.extend(page.skus);
        if page.next_page_token.is_empty() {
            return Ok(skus);
        }
        token = page.next_page_token;
    }
}
