//! What an environment costs per hour and per month, idle (nobody signed in: system nodes, the
//! warm buffer's GPU nodes, storage, Redis, load balancer, NAT) and at full load (`maxUsers` GPU
//! pods packed onto nodes), from the configuration alone: no credentials, no network.
//! `docs/cost-model.md` explains each item.

pub mod prices;

use serde::Serialize;

use crate::config::{ClusterLocation, Config, FilestoreTier, GpuKind, RedisTier, Rung, Storage};
use crate::machines;
use prices::{HOURS_PER_MONTH, Price};

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
            "pricedRegion": prices::REGION,
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
    // Flex-start is priced at on-demand: its discount is not in the built-in table (an upper bound).
    let spot = rung.spot;
    let (machine_price, machine_source) = b.machine(&rung.machine_type, spot);
    let gpu = match (rung.kind, spot) {
        (GpuKind::T4, false) => prices::T4,
        (GpuKind::T4, true) => prices::T4_SPOT,
        (GpuKind::L4, false) => prices::L4,
        (GpuKind::L4, true) => prices::L4_SPOT,
    };
    // G2 machines come with their L4s (priced in the machine); T4s are attached to N1 machines.
    let bundled = machines::shape(&rung.machine_type).map(|s| s.bundled_gpus).unwrap_or(0);
    let (per_node, gpus) = if bundled > 0 {
        (machine_price, format!("with its {bundled} x {}", rung.kind.accelerator()))
    } else {
        (machine_price + gpu.usd * f64::from(rung.count), format!("+ {} x {}", rung.count, rung.kind.accelerator()))
    };
    (per_node, gpus, format!("{machine_source}; {}", gpu.source()))
}

/// Estimates this configuration's cost.
pub fn estimate(config: &Config) -> Estimate {
    let mut b = Builder { items: Vec::new(), notes: Vec::new() };
    let system_nodes = config.system_nodes_total();
    let idle_gpu = gpu_nodes(config, config.warm_webuis());
    let full_gpu = gpu_nodes(config, config.runtime.max_users);
    let public = !config.cluster.private;
    let spot = config.gpu.spot;

    b.fixed("GKE cluster management fee", prices::GKE_CLUSTER.usd, prices::GKE_CLUSTER.source());

    let sys = &config.cluster.system_pool;
    let (sys_price, sys_source) = b.machine(&sys.machine_type, false);
    let zones = if config.zones.len() > 1 || config.cluster.location == ClusterLocation::Regional {
        format!(" ({} per zone x {} zones)", sys.nodes, config.zones.len())
    } else {
        String::new()
    };
    b.fixed(
        &format!("system nodes: {system_nodes} x {}{zones}", sys.machine_type),
        sys_price * f64::from(system_nodes),
        sys_source,
    );
    b.fixed(
        &format!("system node disks: {system_nodes} x 100 GB pd-balanced"),
        disk_hour(100.0) * f64::from(system_nodes),
        prices::PD_BALANCED.source(),
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
        disk_hour(gpu_disk),
        idle_gpu,
        full_gpu,
        &prices::PD_BALANCED.source(),
    );
    if g.image_cache {
        // Every GPU node gets its own disk from the image, of the boot disk's type (GKE docs
        // "Use secondary boot disks to preload data or container images").
        let gb = crate::steps::image_cache::CACHE_DISK_GB as f64;
        b.scaled(
            &format!("image cache disks: {gb} GB pd-balanced per GPU node"),
            disk_hour(gb),
            idle_gpu,
            full_gpu,
            &prices::PD_BALANCED.source(),
        );
        b.fixed(
            &format!("image cache: one {gb} GB disk image (stored size, at most)"),
            prices::IMAGE_STORAGE.usd * gb / HOURS_PER_MONTH,
            prices::IMAGE_STORAGE.source(),
        );
    }
    if public {
        let ip = if spot { prices::SPOT_VM_EXTERNAL_IP } else { prices::VM_EXTERNAL_IP };
        b.fixed(
            &format!("external IPs of {system_nodes} system node(s) (public cluster)"),
            prices::VM_EXTERNAL_IP.usd * f64::from(system_nodes),
            prices::VM_EXTERNAL_IP.source(),
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
            let price = filestore_price(f.tier);
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
    let (_, basic, standard) =
        prices::REDIS_TIERS.iter().find(|(max, _, _)| r.size_gb <= *max).copied().unwrap_or(prices::REDIS_TIERS[4]);
    let (tier, price) = match r.tier {
        RedisTier::Basic => ("BASIC", basic),
        RedisTier::StandardHa => ("STANDARD_HA", standard),
    };
    b.fixed(&format!("Memorystore Redis {tier} {} GB", r.size_gb), price.usd * f64::from(r.size_gb), price.source());

    b.fixed("HTTPS load balancer forwarding rule", prices::LB_FORWARDING_RULE.usd, prices::LB_FORWARDING_RULE.source());
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

    if config.region != prices::REGION {
        b.notes.push(format!(
            "priced with {} list prices; {} usually differs by a few percent (see the pricing pages)",
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
    }
}

fn disk_hour(gb: f64) -> f64 {
    prices::PD_BALANCED.usd * gb / HOURS_PER_MONTH
}

fn filestore_price(tier: FilestoreTier) -> Price {
    match tier {
        FilestoreTier::BasicHdd => prices::FILESTORE_BASIC_HDD,
        FilestoreTier::BasicSsd => prices::FILESTORE_BASIC_SSD,
        FilestoreTier::Zonal => prices::FILESTORE_ZONAL,
        FilestoreTier::Regional => prices::FILESTORE_REGIONAL,
        FilestoreTier::Enterprise => prices::FILESTORE_ENTERPRISE,
    }
}

struct Builder {
    items: Vec<Item>,
    notes: Vec<String>,
}

impl Builder {
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
    fn machine(&mut self, name: &str, spot: bool) -> (f64, String) {
        let Some((on_demand, price)) = machine_on_demand(name) else {
            self.notes.push(format!("no price for machine type {name} in sdctl's table: counted as 0"));
            return (0.0, prices::E2_VCPU.source());
        };
        let source = price.source();
        if !spot {
            return (on_demand, source);
        }
        // G2's bundled L4s have their own spot price.
        let shape = machines::shape(name).ok();
        let gpus = shape.as_ref().map(|s| f64::from(s.bundled_gpus)).unwrap_or(0.0);
        let machine_only = on_demand - gpus * prices::L4.usd;
        let spot_price = machine_only * prices::SPOT_SHARE.usd + gpus * prices::L4_SPOT.usd;
        (spot_price, format!("{source}; {}", prices::SPOT_SHARE.source()))
    }
}

/// On-demand hourly price of a machine type and the price entry it was derived from.
pub fn machine_on_demand(name: &str) -> Option<(f64, Price)> {
    let shape = machines::shape(name).ok()?;
    let cpu = f64::from(shape.vcpus);
    Some(match (shape.family.as_str(), shape.custom, name) {
        (_, _, "e2-micro") => (prices::E2_MICRO.usd, prices::E2_MICRO),
        (_, _, "e2-small") => (prices::E2_SMALL.usd, prices::E2_SMALL),
        (_, _, "e2-medium") => (prices::E2_MEDIUM.usd, prices::E2_MEDIUM),
        ("e2", false, _) => (cpu * prices::E2_VCPU.usd + shape.memory_gb * prices::E2_GB.usd, prices::E2_VCPU),
        ("e2", true, _) => {
            (cpu * prices::E2_CUSTOM_VCPU.usd + shape.memory_gb * prices::E2_CUSTOM_GB.usd, prices::E2_CUSTOM_VCPU)
        }
        ("n1" | "n2", true, _) => (
            cpu * prices::N1_CUSTOM_VCPU.usd
                + (shape.memory_gb - shape.extended_gb) * prices::N1_CUSTOM_GB.usd
                + shape.extended_gb * prices::N1_CUSTOM_EXTENDED_GB.usd,
            prices::N1_CUSTOM_VCPU,
        ),
        ("n1" | "n2", false, _) => (cpu * prices::N1_VCPU.usd + shape.memory_gb * prices::N1_GB.usd, prices::N1_VCPU),
        ("g2", _, _) => (
            cpu * prices::G2_VCPU.usd
                + shape.memory_gb * prices::G2_GB.usd
                + f64::from(shape.bundled_gpus) * prices::L4.usd,
            prices::G2_VCPU,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_prices_match_the_catalog_cross_checks() {
        let close = |a: f64, b: f64| (a - b).abs() < 0.0002;
        assert!(close(machine_on_demand("e2-standard-4").unwrap().0, 0.13402));
        // g2-standard-8 with its L4: 0.29358 + 0.56004 in the catalog.
        assert!(close(machine_on_demand("g2-standard-8").unwrap().0, 0.85362));
        // The guide's T4 machine: 4 vCPUs, 26 GB standard + 6 GB extended memory.
        let n1 = 4.0 * 0.033174 + 26.0 * 0.004446 + 6.0 * 0.009550;
        assert!(close(machine_on_demand("custom-4-32768-ext").unwrap().0, n1));
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
        let e = estimate(&config);
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
