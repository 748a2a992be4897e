//! What an environment costs per hour and per month, idle (nobody signed in: system nodes, the
//! warm buffer's GPU nodes, storage, Redis, load balancer, NAT) and at full load (`maxUsers` GPU
//! pods packed onto nodes), from the configuration and a price book: Google's Cloud Billing
//! Catalog for the region (`catalog.rs`), else the built-in table (`prices.rs`).
//! `docs/cost-model.md` explains each item.

pub mod book;
pub mod catalog;
pub mod prices;

use serde::Serialize;

use crate::config::{ClusterLocation, Config, GpuKind, RedisTier, Rung, Storage};
use crate::machines;
pub use book::{PriceBook, Quote};
use catalog::{Key, Series};
use prices::HOURS_PER_MONTH;

/// One line of the estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub item: String,
    pub idle_per_hour: f64,
    pub full_load_per_hour: f64,
    /// The pricing page (and region, date) the figures come from.
    pub source: String,
}

/// The whole estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub items: Vec<Item>,
    /// GPU nodes running when idle (the warm buffer, or `gpu.minNodes`) and at full load.
    pub idle_gpu_nodes: u32,
    pub full_gpu_nodes: u32,
    pub max_users: u32,
    /// Each rung of the GPU ladder (the primary alone without `gpu.fallbacks`).
    pub rungs: Vec<RungPrice>,
    /// What the figures do not cover or assume.
    pub notes: Vec<String>,
    /// Where the prices come from.
    pub prices: PriceBook,
}

/// What a rung of the GPU ladder costs, and the full load if every GPU node were of that rung.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RungPrice {
    pub rung: usize,
    /// `t4 spot on custom-4-32768-ext`.
    pub gpu: String,
    pub per_node_hour: f64,
    pub gpus_per_node: u32,
    pub max_nodes: u32,
    pub full_load_nodes: u32,
    pub full_load_per_hour: f64,
    pub source: String,
}

impl Estimate {
    pub fn idle_per_hour(&self) -> f64 {
        self.items.iter().map(|i| i.idle_per_hour).sum()
    }

    pub fn full_load_per_hour(&self) -> f64 {
        self.items.iter().map(|i| i.full_load_per_hour).sum()
    }

    /// The full load at its dearest on the ladder (what `--max-hourly-cost` judges): the primary's
    /// full load without a ladder; with one, the dearest of `maxUsers` on any one rung and spread
    /// over the rungs dearest per GPU first, each up to its `maxNodes` (the autoscaler may have
    /// to use any of them). Node disks and IPs are counted for the primary's node count.
    pub fn worst_full_load_per_hour(&self) -> f64 {
        self.worst().1
    }

    /// The dearest full load and what it runs on (None: the primary's full load).
    pub fn worst(&self) -> (Option<Vec<(&RungPrice, u32)>>, f64) {
        let full = self.full_load_per_hour();
        let primary = self.rungs.first().map(|r| r.per_node_hour * f64::from(self.full_gpu_nodes)).unwrap_or(0.0);
        let priced = |mix: &[(&RungPrice, u32)]| {
            full - primary + mix.iter().map(|(r, nodes)| r.per_node_hour * f64::from(*nodes)).sum::<f64>()
        };
        let mut candidates: Vec<Vec<(&RungPrice, u32)>> =
            self.rungs.iter().map(|r| vec![(r, r.full_load_nodes)]).collect();
        candidates.push(self.dearest_mix());
        let mut worst = (None, full);
        for mix in candidates.into_iter().filter(|m| !m.is_empty()) {
            let cost = priced(&mix);
            if cost > worst.1 {
                worst = (Some(mix), cost);
            }
        }
        worst
    }

    /// Which rungs' nodes the dearest full load runs on: (rung, nodes).
    pub fn dearest_mix(&self) -> Vec<(&RungPrice, u32)> {
        let mut rungs: Vec<&RungPrice> = self.rungs.iter().collect();
        let per_gpu = |r: &RungPrice| r.per_node_hour / f64::from(r.gpus_per_node.max(1));
        rungs.sort_by(|a, b| per_gpu(b).total_cmp(&per_gpu(a)));
        let mut users = self.max_users;
        let mut mix = Vec::new();
        for r in rungs {
            if users == 0 {
                break;
            }
            let nodes = users.div_ceil(r.gpus_per_node.max(1)).min(r.max_nodes);
            users = users.saturating_sub(nodes * r.gpus_per_node.max(1));
            mix.push((r, nodes));
        }
        mix
    }

    pub fn idle_per_month(&self) -> f64 {
        self.idle_per_hour() * HOURS_PER_MONTH
    }

    pub fn full_load_per_month(&self) -> f64 {
        self.full_load_per_hour() * HOURS_PER_MONTH
    }

    /// The `-o json` document of `sdctl cost` (design.md).
    pub fn to_json(&self) -> serde_json::Value {
        let items: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "item": i.item,
                    "idlePerHour": round(i.idle_per_hour, 4),
                    "fullLoadPerHour": round(i.full_load_per_hour, 4),
                    "source": i.source,
                })
            })
            .collect();
        serde_json::json!({
            "currency": "USD",
            "idlePerHour": round(self.idle_per_hour(), 4),
            "fullLoadPerHour": round(self.full_load_per_hour(), 4),
            "idlePerMonth": round(self.idle_per_month(), 2),
            "fullLoadPerMonth": round(self.full_load_per_month(), 2),
            "pricedRegion": self.prices.priced_region(),
            "prices": self.prices.to_json(),
            "idleGpuNodes": self.idle_gpu_nodes,
            "fullLoadGpuNodes": self.full_gpu_nodes,
            "items": items,
            "rungs": self.rungs.iter().map(|r| serde_json::json!({
                "rung": r.rung,
                "gpu": r.gpu,
                "perNodeHour": round(r.per_node_hour, 4),
                "fullLoadNodes": r.full_load_nodes,
                "fullLoadPerHour": round(r.full_load_per_hour, 4),
                "source": r.source,
            })).collect::<Vec<_>>(),
            "worstFullLoadPerHour": round(self.worst_full_load_per_hour(), 4),
            "notes": self.notes,
        })
    }

    /// The short form the plan event and `up` carry.
    pub fn summary(&self) -> CostSummary {
        CostSummary {
            currency: "USD",
            idle_per_hour: round(self.idle_per_hour(), 4),
            full_load_per_hour: round(self.full_load_per_hour(), 4),
            idle_per_month: round(self.idle_per_month(), 2),
            full_load_per_month: round(self.full_load_per_month(), 2),
            priced_region: self.prices.priced_region().to_string(),
            price_source: self.prices.source_name(),
        }
    }
}

/// Totals only (the `cost` field of the plan event).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostSummary {
    pub currency: &'static str,
    pub idle_per_hour: f64,
    pub full_load_per_hour: f64,
    pub idle_per_month: f64,
    pub full_load_per_month: f64,
    /// The region whose prices these are.
    pub priced_region: String,
    /// `cloudBillingCatalog` or `builtIn`.
    pub price_source: &'static str,
}

pub fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// GPU nodes that run with `pods` WebUI pods (one GPU each), within the pool's limits.
fn gpu_nodes(config: &Config, pods: u32) -> u32 {
    let g = &config.gpu;
    pods.div_ceil(g.count.max(1)).max(g.min_nodes).min(g.max_nodes)
}

/// A rung's GPU node per hour: the machine (with G2's bundled L4s) plus attached T4s; what it
/// says it holds; the sources.
fn gpu_node_price(b: &mut Builder, rung: &Rung) -> (f64, String, String) {
    // Flex-start is priced at on-demand: its discount is not in the price book (an upper bound).
    let spot = rung.spot;
    let machine = b.machine(&rung.machine_type, spot);
    // G2 machines come with their L4s (priced in the machine); T4s are attached to N1 machines.
    let bundled = machines::shape(&rung.machine_type).map(|s| s.bundled_gpus).unwrap_or(0);
    if bundled > 0 {
        let source = machine.source();
        return (machine.usd, format!("with its {bundled} x {}", rung.kind.accelerator()), source);
    }
    let node = machine.plus(b.book.price(Key::Gpu(rung.kind, spot)).times(f64::from(rung.count)));
    (node.usd, format!("+ {} x {}", rung.count, rung.kind.accelerator()), node.source())
}

/// How long the catalog may take before the built-in table is used.
pub const CATALOG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The prices of a run: the Cloud Billing Catalog's for the region (cached a day), else the
/// built-in table, saying why.
pub async fn price_book(gcp: &crate::gcp::Gcp, region: &str) -> PriceBook {
    match tokio::time::timeout(CATALOG_TIMEOUT, catalog::read(gcp, region)).await {
        Ok(Ok(catalog)) => PriceBook::from_catalog(catalog),
        Ok(Err(e)) => PriceBook::builtin(region, format!("the Cloud Billing Catalog could not be read: {e:#}")),
        Err(_) => PriceBook::builtin(
            region,
            format!("the Cloud Billing Catalog did not answer within {} s", CATALOG_TIMEOUT.as_secs()),
        ),
    }
}

/// Estimates this configuration's cost.
pub fn estimate(config: &Config, book: &PriceBook) -> Estimate {
    let mut b = Builder { items: Vec::new(), notes: Vec::new(), book };
    let system_nodes = config.system_nodes_total();
    let idle_gpu = gpu_nodes(config, config.warm_webuis());
    let full_gpu = gpu_nodes(config, config.runtime.max_users);
    let public = !config.cluster.private;
    let spot = config.gpu.spot;

    let regional = config.cluster.location == ClusterLocation::Regional;
    let fee = book.price(Key::Cluster { regional });
    b.fixed("GKE cluster management fee", fee.usd, fee.source());

    let sys = &config.cluster.system_pool;
    let system = b.machine(&sys.machine_type, false);
    let zones = if config.zones.len() > 1 || config.cluster.location == ClusterLocation::Regional {
        format!(" ({} per zone x {} zones)", sys.nodes, config.zones.len())
    } else {
        String::new()
    };
    b.fixed(
        &format!("system nodes: {system_nodes} x {}{zones}", sys.machine_type),
        system.usd * f64::from(system_nodes),
        system.source(),
    );
    let disk = book.price(Key::BalancedDisk);
    b.fixed(
        &format!("system node disks: {system_nodes} x 100 GB pd-balanced"),
        disk_hour(&disk, 100.0) * f64::from(system_nodes),
        disk.source(),
    );

    let g = &config.gpu;
    let rungs = g.rungs();
    let (per_node, gpus, gpu_source) = gpu_node_price(&mut b, &rungs[0]);
    let spot_word = if spot { " spot" } else { "" };
    b.scaled(
        &format!("GPU nodes{spot_word}: {idle_gpu} idle / {full_gpu} at full load x {} {gpus}", g.machine_type),
        per_node,
        idle_gpu,
        full_gpu,
        &gpu_source,
    );
    // Each rung as if the whole load ran on it (its GPUs per node decide how many nodes).
    let mut rung_prices = Vec::new();
    for (i, rung) in rungs.iter().enumerate() {
        let (price, _, source) = gpu_node_price(&mut b, rung);
        let nodes = config.runtime.max_users.div_ceil(rung.count.max(1)).min(rung.max_nodes);
        rung_prices.push((i, rung, price, nodes, source));
    }
    let gpu_disk = if matches!(config.storage, Storage::Gcs(_)) { 200.0 } else { 100.0 };
    b.scaled(
        &format!("GPU node disks: {gpu_disk} GB pd-balanced each"),
        disk_hour(&disk, gpu_disk),
        idle_gpu,
        full_gpu,
        &disk.source(),
    );
    if g.image_cache {
        // Every GPU node gets its own disk from the image, of the boot disk's type (GKE docs
        // "Use secondary boot disks to preload data or container images").
        let gb = crate::steps::image_cache::CACHE_DISK_GB as f64;
        b.scaled(
            &format!("image cache disks: {gb} GB pd-balanced per GPU node"),
            disk_hour(&disk, gb),
            idle_gpu,
            full_gpu,
            &disk.source(),
        );
        let image = book.price(Key::ImageStorage);
        b.fixed(
            &format!("image cache: one {gb} GB disk image (stored size, at most)"),
            image.usd * gb / HOURS_PER_MONTH,
            image.source(),
        );
    }
    if public {
        let standard_ip = book.price(Key::ExternalIp(false));
        let ip = book.price(Key::ExternalIp(spot));
        b.fixed(
            &format!("external IPs of {system_nodes} system node(s) (public cluster)"),
            standard_ip.usd * f64::from(system_nodes),
            standard_ip.source(),
        );
        b.scaled("external IPs of GPU nodes (public cluster)", ip.usd, idle_gpu, full_gpu, &ip.source());
    } else {
        let vms = |gpu_nodes: u32| {
            prices::NAT_PER_VM.usd * f64::from((system_nodes + gpu_nodes).min(prices::NAT_MAX_VMS)) + prices::NAT_IP.usd
        };
        b.items.push(Item {
            item: "Cloud NAT gateway (per VM) and its external IP (private cluster)".into(),
            idle_per_hour: vms(idle_gpu),
            full_load_per_hour: vms(full_gpu),
            source: prices::NAT_PER_VM.source(),
        });
        b.notes.push("Cloud NAT also charges per GiB processed (model downloads, image pulls): not estimated".into());
    }

    match &config.storage {
        Storage::Filestore(f) => {
            let price = book.price(Key::Filestore(f.tier));
            b.fixed(
                &format!("Filestore {} {} GiB", f.tier.name(), f.capacity_gb),
                price.usd * f64::from(f.capacity_gb) / HOURS_PER_MONTH,
                price.source(),
            );
        }
        Storage::Gcs(gcs) => {
            let multi = !gcs.location.contains('-');
            let price = if multi { prices::GCS_MULTI_REGION } else { prices::GCS_REGIONAL };
            b.fixed(
                &format!(
                    "Cloud Storage bucket in {} (assumed {} GB of models and outputs)",
                    gcs.location,
                    prices::ASSUMED_BUCKET_GB
                ),
                price.usd * prices::ASSUMED_BUCKET_GB / HOURS_PER_MONTH,
                price.source(),
            );
        }
    }

    let r = &config.redis;
    let tier = match r.tier {
        RedisTier::Basic => "BASIC",
        RedisTier::StandardHa => "STANDARD_HA",
    };
    let price = book.price(Key::Redis(r.tier, book::redis_band(r.size_gb)));
    b.fixed(&format!("Memorystore Redis {tier} {} GB", r.size_gb), price.usd * f64::from(r.size_gb), price.source());

    let rule = book.price(Key::ForwardingRule);
    b.fixed("HTTPS load balancer forwarding rule", rule.usd, rule.source());
    b.fixed(
        "global static IP (in use by the load balancer)",
        prices::STATIC_IP_IN_USE.usd,
        prices::STATIC_IP_IN_USE.source(),
    );
    let images = (prices::ASSUMED_IMAGES_GB - prices::ARTIFACT_REGISTRY_FREE_GB).max(0.0);
    b.fixed(
        &format!("Artifact Registry storage (assumed {} GB of images)", prices::ASSUMED_IMAGES_GB),
        prices::ARTIFACT_REGISTRY.usd * images / HOURS_PER_MONTH,
        prices::ARTIFACT_REGISTRY.source(),
    );

    b.notes.push(book.describe());
    if book.catalog().is_none() && config.region != prices::REGION {
        b.notes.push(format!(
            "priced with {} list prices; {} usually differs by a few percent (run `sdctl cost` with credentials for its own)",
            prices::REGION,
            config.region
        ));
    }
    if spot {
        b.notes.push("spot prices change up to once every 30 days; spot GPU nodes can be preempted".into());
    }
    if rungs.iter().any(|r| r.flex_start) {
        b.notes
            .push("flex-start rungs are priced at on-demand rates, an upper bound (flex-start is discounted)".into());
    }
    b.notes.push("excludes network egress, logging and monitoring beyond the free allotments, and taxes".into());
    let items = b.items;
    let full: f64 = items.iter().map(|i| i.full_load_per_hour).sum();
    // The primary's GPU node hours replaced by the rung's (node disks and IPs left as counted
    // for the primary's nodes).
    let primary_gpu = rung_prices.first().map(|r| r.2 * f64::from(full_gpu)).unwrap_or(0.0);
    let rungs = if g.has_ladder() {
        rung_prices
            .into_iter()
            .map(|(i, rung, per_node_hour, nodes, source)| RungPrice {
                rung: i,
                gpu: rung.label(),
                per_node_hour,
                gpus_per_node: rung.count,
                max_nodes: rung.max_nodes,
                full_load_nodes: nodes,
                full_load_per_hour: full - primary_gpu + per_node_hour * f64::from(nodes),
                source,
            })
            .collect()
    } else {
        Vec::new()
    };
    Estimate {
        items,
        idle_gpu_nodes: idle_gpu,
        full_gpu_nodes: full_gpu,
        max_users: config.runtime.max_users,
        rungs,
        notes: b.notes,
        prices: book.clone(),
    }
}

/// A disk of `gb` per hour.
fn disk_hour(disk: &Quote, gb: f64) -> f64 {
    disk.usd * gb / HOURS_PER_MONTH
}

struct Builder<'a> {
    items: Vec<Item>,
    notes: Vec<String>,
    book: &'a PriceBook,
}

impl Builder<'_> {
    /// The same cost idle and at full load.
    fn fixed(&mut self, item: &str, per_hour: f64, source: impl Into<String>) {
        self.items.push(Item {
            item: item.to_string(),
            idle_per_hour: per_hour,
            full_load_per_hour: per_hour,
            source: source.into(),
        });
    }

    /// A per-node cost times the nodes running idle and at full load.
    fn scaled(&mut self, item: &str, per_node: f64, idle: u32, full: u32, source: &str) {
        self.items.push(Item {
            item: item.to_string(),
            idle_per_hour: per_node * f64::from(idle),
            full_load_per_hour: per_node * f64::from(full),
            source: source.to_string(),
        });
    }

    /// The hourly price of one VM of this machine type (GPUs bundled with G2 included), and its
    /// source. Unknown types cost 0 with a note saying so.
    fn machine(&mut self, name: &str, spot: bool) -> Quote {
        match machine_price(self.book, name, spot) {
            Some(quote) => quote,
            None => {
                self.notes.push(format!("sdctl knows no price for machine type {name}: counted as 0"));
                self.book.fixed(prices::E2_VCPU).times(0.0)
            }
        }
    }
}

/// The hourly price of a machine type from the book: vCPUs and memory of its series (N1 custom
/// types' extended memory apart; G2's bundled L4s added). Shared-core and custom E2 types, and
/// N2 (at N1's list prices), only from the built-in table.
pub fn machine_price(book: &PriceBook, name: &str, spot: bool) -> Option<Quote> {
    let shape = machines::shape(name).ok()?;
    let cpu = f64::from(shape.vcpus);
    let series = |series: Series, gb: f64| {
        book.price(Key::Core(series, spot)).times(cpu).plus(book.price(Key::Ram(series, spot)).times(gb))
    };
    let spot_share = |q: Quote| if spot { q.at_spot_share() } else { q };
    Some(match (shape.family.as_str(), shape.custom, name) {
        (_, _, "e2-micro") => spot_share(book.fixed(prices::E2_MICRO)),
        (_, _, "e2-small") => spot_share(book.fixed(prices::E2_SMALL)),
        (_, _, "e2-medium") => spot_share(book.fixed(prices::E2_MEDIUM)),
        ("e2", false, _) => series(Series::E2, shape.memory_gb),
        ("e2", true, _) => spot_share(
            book.fixed(prices::E2_CUSTOM_VCPU).times(cpu).plus(book.fixed(prices::E2_CUSTOM_GB).times(shape.memory_gb)),
        ),
        ("n1", true, _) => series(Series::N1Custom, shape.memory_gb - shape.extended_gb)
            .plus(book.price(Key::ExtendedRam(spot)).times(shape.extended_gb)),
        ("n1", false, _) => series(Series::N1, shape.memory_gb),
        // N2 at N1's list prices, from the table (its own SKUs are not read).
        ("n2", true, _) => spot_share(
            book.fixed(prices::N1_CUSTOM_VCPU)
                .times(cpu)
                .plus(book.fixed(prices::N1_CUSTOM_GB).times(shape.memory_gb - shape.extended_gb))
                .plus(book.fixed(prices::N1_CUSTOM_EXTENDED_GB).times(shape.extended_gb)),
        ),
        ("n2", false, _) => {
            spot_share(book.fixed(prices::N1_VCPU).times(cpu).plus(book.fixed(prices::N1_GB).times(shape.memory_gb)))
        }
        ("g2", _, _) => series(Series::G2, shape.memory_gb)
            .plus(book.price(Key::Gpu(GpuKind::L4, spot)).times(f64::from(shape.bundled_gpus))),
        _ => return None,
    })
}

/// On-demand hourly price of a machine type from the built-in table.
pub fn machine_on_demand(name: &str) -> Option<f64> {
    machine_price(&PriceBook::builtin(prices::REGION, "the built-in table"), name, false).map(|q| q.usd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_prices_match_the_catalog_cross_checks() {
        let close = |a: f64, b: f64| (a - b).abs() < 0.0002;
        assert!(close(machine_on_demand("e2-standard-4").unwrap(), 0.13402));
        // g2-standard-8 with its L4: 0.29358 + 0.56004 in the catalog.
        assert!(close(machine_on_demand("g2-standard-8").unwrap(), 0.85362));
        // The guide's T4 machine: 4 vCPUs, 26 GB standard + 6 GB extended memory.
        let n1 = 4.0 * 0.033174 + 26.0 * 0.004446 + 6.0 * 0.009550;
        assert!(close(machine_on_demand("custom-4-32768-ext").unwrap(), n1));
        assert!(machine_on_demand("c3-standard-4").is_none());
    }

    /// With a rung of several GPUs per node, spreading users dearest-per-GPU first is not always
    /// the dearest: the cap takes the dearest of every rung alone and the spread.
    #[test]
    fn the_dearest_full_load_covers_rungs_of_several_gpus() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sd-agones-ladder.yaml")).unwrap();
        let text = text.replace(
            "    - { type: t4 }                # rung 1: on-demand T4s\n    - { type: l4, maxNodes: 2 }   # rung 2: L4s on g2-standard-8\n",
            "    - { type: l4, machineType: g2-standard-32, maxNodes: 1 }\n    - { type: l4, machineType: g2-standard-24 }\n",
        );
        let config = crate::config::parse(&text, &Default::default()).unwrap();
        let e = estimate(&config, &PriceBook::builtin(&config.region, "a test"));
        assert_eq!(e.rungs.len(), 3);
        let (mix, worst) = e.worst();
        // Three users on the 2-GPU g2-standard-24 alone need 2 nodes, dearer than 1 x g2-standard-32 + 1 x g2-standard-24.
        let mix = mix.unwrap();
        assert_eq!(mix.len(), 1, "{mix:?}");
        assert_eq!((mix[0].0.rung, mix[0].1), (2, 2));
        assert!(e.rungs.iter().all(|r| worst >= r.full_load_per_hour - 1e-9));
        assert!(worst >= e.full_load_per_hour());
    }
}
