//! Quotas against what the plan uses at its maximum: every node of every zone (regional and
//! multi-zonal clusters multiply per-zone counts), the GPU pool at `gpu.maxNodes`, node disks and
//! external IPs, the ingress address. Regional metrics come from `regions.get`, project-wide ones
//! (`CPUS_ALL_REGIONS`, `GPUS_ALL_REGIONS`, global addresses) from `projects.get`.

use std::collections::BTreeMap;

use super::{Context, Outcome};
use crate::config::{ClusterLocation, Config, Storage};
use crate::gcp::retry;
use crate::machines;
use crate::steps::absent_if_not_found;

pub const GLOBAL: &str = "global";

/// One quota the plan draws on.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// A region, or `global`.
    pub scope: String,
    pub metric: String,
    pub amount: f64,
    /// How the amount adds up, in words.
    pub why: Vec<String>,
    /// Part of it is resources that exist already (their usage is counted): a shortfall warns.
    pub existing: bool,
}

/// What of the environment exists already.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Existing {
    pub cluster: bool,
    pub gpu_pool: bool,
    pub address: bool,
}

/// The quotas this configuration needs at its maximum. `metrics` are the region's metric names
/// (family CPU quotas such as `N2_CPUS` apply where the region lists them).
pub fn needs(config: &Config, existing: Existing, metrics: &[String]) -> Vec<Need> {
    let region = config.region.as_str();
    let mut out: BTreeMap<(String, String), Need> = BTreeMap::new();
    let mut add = |scope: &str, metric: &str, amount: f64, why: String, exists: bool| {
        if amount <= 0.0 {
            return;
        }
        let need = out.entry((scope.to_string(), metric.to_string())).or_insert_with(|| Need {
            scope: scope.to_string(),
            metric: metric.to_string(),
            amount: 0.0,
            why: Vec::new(),
            existing: false,
        });
        need.amount += amount;
        need.why.push(why);
        need.existing |= exists;
    };
    let public = !config.cluster.private;
    let zones = config.zones.len() as u32;

    // The system pool: GKE's node count is per zone.
    if !existing.cluster {
        let sys = &config.cluster.system_pool;
        let nodes = config.system_nodes_total();
        let per_zone = if zones > 1 {
            let kind = if config.cluster.location == ClusterLocation::Regional { "regional" } else { "multi-zonal" };
            format!("{zones} zones x {} node(s) ({kind}: per zone)", sys.nodes)
        } else {
            format!("{nodes} node(s)")
        };
        if let Ok(shape) = machines::shape(&sys.machine_type) {
            let cpus = f64::from(nodes * shape.vcpus);
            let why = format!("system pool {per_zone} x {} vCPUs = {cpus}", shape.vcpus);
            add(region, &cpu_metric(&shape.family, false, metrics), cpus, why.clone(), false);
            add(GLOBAL, "CPUS_ALL_REGIONS", cpus, why, false);
        }
        add(region, "SSD_TOTAL_GB", f64::from(nodes) * 100.0, format!("system pool {per_zone} x 100 GB"), false);
        if public {
            add(
                region,
                "IN_USE_ADDRESSES",
                f64::from(nodes),
                format!("system pool {per_zone}, one external IP each"),
                false,
            );
        }
    }

    // The GPU pool at its maximum (totals across its zones).
    let g = &config.gpu;
    let max = g.max_nodes;
    let exists = existing.gpu_pool;
    if let Ok(shape) = machines::shape(&g.machine_type) {
        let cpus = f64::from(max * shape.vcpus);
        let why = format!("GPU pool at gpu.maxNodes {max} x {} vCPUs = {cpus}", shape.vcpus);
        add(region, &cpu_metric(&shape.family, g.spot, metrics), cpus, why.clone(), exists);
        add(GLOBAL, "CPUS_ALL_REGIONS", cpus, why, exists);
    }
    let gpus = f64::from(max * g.count);
    let why = format!("gpu.maxNodes {max} x gpu.count {} {}", g.count, g.kind.accelerator());
    add(region, g.kind.quota_metric(g.spot), gpus, why.clone(), exists);
    add(GLOBAL, "GPUS_ALL_REGIONS", gpus, why, exists);
    let disk = if matches!(config.storage, Storage::Gcs(_)) { 200.0 } else { 100.0 };
    add(region, "SSD_TOTAL_GB", f64::from(max) * disk, format!("GPU pool {max} node(s) x {disk} GB"), exists);
    if g.image_cache {
        use crate::steps::image_cache::{BUILDER_BOOT_GB, BUILDER_MACHINE, CACHE_DISK_GB};
        let cache = CACHE_DISK_GB as f64;
        add(region, "SSD_TOTAL_GB", f64::from(max) * cache, format!("image cache {max} node(s) x {cache} GB"), exists);
        // The builder runs while a new WebUI image is cached.
        if let Ok(shape) = machines::shape(BUILDER_MACHINE) {
            let cpus = f64::from(shape.vcpus);
            let why = format!("image-cache builder {BUILDER_MACHINE} (while it builds)");
            add(region, &cpu_metric(&shape.family, false, metrics), cpus, why.clone(), false);
            add(GLOBAL, "CPUS_ALL_REGIONS", cpus, why, false);
        }
        let disks = (BUILDER_BOOT_GB + CACHE_DISK_GB) as f64;
        add(region, "SSD_TOTAL_GB", disks, format!("image-cache builder disks {disks} GB (while it builds)"), false);
    }
    if public {
        add(
            region,
            "IN_USE_ADDRESSES",
            f64::from(max),
            format!("GPU pool {max} node(s), one external IP each"),
            exists,
        );
    } else if !existing.cluster {
        add(region, "IN_USE_ADDRESSES", 1.0, "the Cloud NAT's external IP".to_string(), false);
    }
    if !existing.address {
        add(GLOBAL, "STATIC_ADDRESSES", 1.0, "the ingress's global static IP".to_string(), false);
    }
    out.into_values().collect()
}

/// The regional CPU metric of a family: its own (`N2_CPUS`) where the region lists one, else
/// `CPUS`; spot VMs use `PREEMPTIBLE_CPUS` where the project was granted it.
fn cpu_metric(family: &str, spot: bool, metrics: &[String]) -> String {
    if spot && metrics.iter().any(|m| m == "PREEMPTIBLE_CPUS") {
        return "PREEMPTIBLE_CPUS".to_string();
    }
    let own = format!("{}_CPUS", family.to_uppercase());
    if !matches!(family, "e2" | "n1") && metrics.contains(&own) {
        return own;
    }
    "CPUS".to_string()
}

/// Limit and usage of each metric, by scope.
pub type Quotas = BTreeMap<(String, String), (f64, f64)>;

pub async fn check(ctx: &Context<'_>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let filestore = filestore(ctx);
    if let Some(skip) = ctx.needs("quotas", "compute.googleapis.com", "the project's quotas") {
        out.push(skip);
        out.extend(filestore);
        return out;
    }
    let (quotas, metrics) = match read(ctx).await {
        Ok(q) => q,
        Err(e) => {
            out.push(ctx.read_failed("quotas", "the project's quotas", &e));
            out.extend(filestore);
            return out;
        }
    };
    let existing = existing(ctx).await;
    let config = &ctx.env.config;
    let mut needs = needs(config, existing, &metrics);
    // A spot pool may fall back on CPUS when PREEMPTIBLE_CPUS has no limit set: keep it simple.
    needs.sort_by(|a, b| order(&a.metric).cmp(&order(&b.metric)).then(a.scope.cmp(&b.scope)));
    let ladder = config.gpu.has_ladder();
    for need in needs {
        // With a ladder each rung's GPUs are judged on their own (below).
        if ladder && need.metric.contains("_GPUS") && need.metric != "GPUS_ALL_REGIONS" {
            continue;
        }
        out.push(judge(ctx, &need, &quotas));
    }
    if ladder {
        out.extend(rungs(ctx, &quotas, &metrics, existing));
    }
    out.extend(filestore);
    out
}

/// Each rung of the ladder against the quotas its nodes draw on (spot and flex-start: the
/// preemptible GPU quota): a rung short of quota is skipped by the autoscaler (a warning, with
/// how many nodes it can get); only a ladder where no rung can get a single node fails, and only
/// before its pools exist (their own nodes are in the usage then).
fn rungs(ctx: &Context<'_>, quotas: &Quotas, metrics: &[String], existing: Existing) -> Vec<Outcome> {
    let config = &ctx.env.config;
    let region = config.region.clone();
    let available =
        |metric: &str| quotas.get(&(region.clone(), metric.to_string())).map(|(limit, usage)| (limit - usage).max(0.0));
    let mut out = Vec::new();
    let mut usable = 0;
    for (i, rung) in config.gpu.rungs().iter().enumerate() {
        let id = format!("quota-rung-{i}");
        let field = format!("{}.maxNodes", crate::config::Gpu::rung_field(i));
        // Flex-start VMs use the standard GPU quota when the project has no preemptible quota
        // (Compute Engine's provisioning models page, as quoted; unconfirmed first-hand).
        let preemptible = available(rung.quota_metric()).unwrap_or(0.0);
        let gpu_metric =
            if rung.flex_start && preemptible == 0.0 { rung.kind.quota_metric(false) } else { rung.quota_metric() };
        let mut limits = vec![(gpu_metric.to_string(), f64::from(rung.count), available(gpu_metric).unwrap_or(0.0))];
        if let Ok(shape) = machines::shape(&rung.machine_type) {
            let cpu = cpu_metric(&shape.family, rung.spot || rung.flex_start, metrics);
            if let Some(free) = available(&cpu) {
                limits.push((cpu, f64::from(shape.vcpus), free));
            }
        }
        // Nodes the rung can get: the fewest any of its quotas allows.
        let nodes = limits.iter().map(|(_, per_node, free)| (free / per_node).floor() as u32).min().unwrap_or(0);
        let detail: Vec<String> = limits
            .iter()
            .map(|(m, per_node, free)| format!("{m} {} available, {} per node", n(*free), n(*per_node)))
            .collect();
        let message = format!("rung {i} ({}) up to {} node(s): {}", rung.label(), rung.max_nodes, detail.join("; "));
        if nodes > 0 {
            usable += 1;
        }
        out.push(if nodes >= rung.max_nodes {
            Outcome::pass(&id, message)
        } else {
            let short = limits.iter().find(|(_, per_node, free)| free / per_node < f64::from(rung.max_nodes));
            let metric = short.map(|(m, _, _)| m.as_str()).unwrap_or(gpu_metric);
            Outcome::warn(
                &id,
                format!("{message}: quota allows {nodes}; the autoscaler goes on to the next rung when it is used up"),
                format!(
                    "request more {metric} quota in {region} at https://console.cloud.google.com/iam-admin/quotas?project={} \
                     (filter: {metric}), or lower {field} to {nodes}",
                    ctx.project()
                ),
            )
        });
    }
    if usable == 0 {
        let message =
            format!("no rung of the GPU ladder can get a single node in {region}: every rung's quota is used up or 0");
        let fix = "request GPU quota for at least one rung (the warnings above name each metric)";
        out.push(if existing.gpu_pool {
            Outcome::warn(
                "quota-ladder",
                format!("{message}; part of the usage is this environment's own GPU nodes"),
                fix,
            )
        } else {
            Outcome::fail("quota-ladder", message, fix)
        });
    }
    out
}

fn order(metric: &str) -> usize {
    ["CPUS", "CPUS_ALL_REGIONS"].iter().position(|m| *m == metric).unwrap_or(if metric.contains("GPUS") {
        2
    } else {
        3
    })
}

/// One need against its quota.
fn judge(ctx: &Context<'_>, need: &Need, quotas: &Quotas) -> Outcome {
    let config = &ctx.env.config;
    let id = format!("quota-{}", need.metric.to_lowercase().replace('_', "-"));
    let place = if need.scope == GLOBAL { "project-wide".to_string() } else { format!("in {}", need.scope) };
    let gpu_metric = need.metric.contains("GPUS");
    let (limit, usage) = match quotas.get(&(need.scope.clone(), need.metric.clone())) {
        Some(q) => *q,
        // Regions list GPU metrics only where GPUs are sold: none listed means none granted.
        None if gpu_metric => (0.0, 0.0),
        None => return Outcome::pass(&id, format!("{} {place}: not limited for this project", need.metric)),
    };
    let available = (limit - usage).max(0.0);
    let message = format!(
        "{} {place}: needs {} ({}); {} of {} available ({} in use)",
        need.metric,
        n(need.amount),
        need.why.join(" + "),
        n(available),
        n(limit),
        n(usage)
    );
    if need.amount <= available {
        return Outcome::pass(&id, message);
    }
    let console = format!(
        "request more {} quota{} at https://console.cloud.google.com/iam-admin/quotas?project={} (filter: {})",
        need.metric,
        if need.scope == GLOBAL { " (global)".to_string() } else { format!(" in {}", need.scope) },
        ctx.project(),
        need.metric
    );
    let mut fixes = vec![console];
    let g = &config.gpu;
    match need.metric.as_str() {
        "GPUS_ALL_REGIONS" => fixes.insert(
            0,
            format!("new projects often have GPUS_ALL_REGIONS = 0: it must allow at least {}", n(need.amount)),
        ),
        m if gpu_metric => {
            let fits = (available / f64::from(g.count.max(1))).floor() as u32;
            if fits > 0 {
                fixes.push(format!("or lower gpu.maxNodes to {fits} (and runtime.maxUsers to at most {})", fits * g.count));
            }
            if !g.spot {
                fixes.push(format!("or use spot GPUs (gpu.spot: true draws on PREEMPTIBLE_{m})"));
            }
        }
        "CPUS" | "CPUS_ALL_REGIONS" if config.zones.len() > 1 => fixes.push(format!(
            "or use one zone (zones: [{}], cluster.location: zonal): the system pool's {} node(s) count once per zone, x{} now",
            config.zones[0],
            config.cluster.system_pool.nodes,
            config.zones.len()
        )),
        "IN_USE_ADDRESSES" if !config.cluster.private => {
            fixes.push("or set cluster.private: true (nodes without external IPs, egress through Cloud NAT)".into())
        }
        _ => fixes.push("or lower gpu.maxNodes".into()),
    }
    if need.existing {
        Outcome::warn(
            &id,
            format!("{message}; part of the usage may be this environment's own nodes, so `up` may still fit"),
            fixes.join("; "),
        )
    } else {
        Outcome::fail(&id, message, fixes.join("; "))
    }
}

fn n(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// Filestore's capacity quota (per region and tier) is not readable through the APIs sdctl uses.
fn filestore(ctx: &Context<'_>) -> Option<Outcome> {
    let Storage::Filestore(f) = &ctx.env.config.storage else { return None };
    Some(Outcome::skipped(
        "quota-filestore",
        format!(
            "needs {} GiB of {} Filestore capacity in {}; Filestore's capacity quota is not readable through the APIs sdctl uses",
            f.capacity_gb,
            f.tier.name(),
            ctx.env.config.region
        ),
        format!(
            "check it at https://console.cloud.google.com/iam-admin/quotas?project={}&service=file.googleapis.com; \
             a refusal names it when `up` creates the instance",
            ctx.project()
        ),
    ))
}

/// Regional and project-wide quotas, and the region's metric names.
async fn read(ctx: &Context<'_>) -> anyhow::Result<(Quotas, Vec<String>)> {
    let gcp = &ctx.env.gcp;
    let project = ctx.project();
    let region_name = &ctx.env.config.region;
    let regions = gcp.regions().await?;
    let region = retry::call(&ctx.cx, &format!("read region {region_name}"), || {
        regions.get().set_project(project).set_region(region_name).send()
    })
    .await?;
    let projects = gcp.compute_projects().await?;
    let global =
        retry::call(&ctx.cx, "read the project's compute quotas", || projects.get().set_project(project).send())
            .await?;
    let mut quotas = Quotas::new();
    let mut metrics = Vec::new();
    for (scope, list) in [(region_name.as_str(), &region.quotas), (GLOBAL, &global.quotas)] {
        for q in list {
            let Some(metric) = q.metric.as_ref().and_then(|m| m.name()).map(String::from) else { continue };
            if scope != GLOBAL {
                metrics.push(metric.clone());
            }
            quotas.insert((scope.to_string(), metric), (q.limit.unwrap_or(0.0), q.usage.unwrap_or(0.0)));
        }
    }
    Ok((quotas, metrics))
}

/// Which parts of the environment exist already (their usage is in the numbers). Unreadable
/// means absent: the checks are then as strict as for a new environment.
async fn existing(ctx: &Context<'_>) -> Existing {
    let env = &ctx.env;
    let mut found = Existing::default();
    let container_on = ctx.enabled.as_ref().is_none_or(|e| e.contains("container.googleapis.com"));
    if container_on && let Ok(client) = env.gcp.container().await {
        let name = crate::steps::cluster_path(env);
        let cluster =
            retry::call(&ctx.cx, "read the GKE cluster", || client.get_cluster().set_name(&name).send()).await;
        if let Ok(Some(c)) = absent_if_not_found(cluster)
            && env.owns(&c.resource_labels)
        {
            found.cluster = true;
            // An earlier GPU pool being retired holds what the new one will need.
            found.gpu_pool = c.node_pools.iter().any(|p| crate::steps::is_gpu_pool(env, &p.name));
        }
    }
    if let Ok(client) = env.gcp.global_addresses().await {
        let name = env.names.address();
        let address = retry::call(&ctx.cx, "read the ingress address", || {
            client.get().set_project(env.project()).set_address(&name).send()
        })
        .await;
        found.address = matches!(absent_if_not_found(address), Ok(Some(a)) if env.owns(&a.labels));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, parse};

    fn example(name: &str) -> Config {
        let text = std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        parse(&text, &Overrides::default()).unwrap()
    }

    fn get<'a>(needs: &'a [Need], scope: &str, metric: &str) -> &'a Need {
        needs.iter().find(|n| n.scope == scope && n.metric == metric).unwrap_or_else(|| panic!("{metric}: {needs:#?}"))
    }

    #[test]
    fn the_t4_example_at_its_maximum() {
        let needs = needs(&example("sd-agones-t4.yaml"), Existing::default(), &[]);
        // 1 e2-standard-4 (4) + 3 x custom-4-32768-ext (4 each).
        assert_eq!(get(&needs, "us-central1", "CPUS").amount, 16.0);
        assert_eq!(get(&needs, GLOBAL, "CPUS_ALL_REGIONS").amount, 16.0);
        assert_eq!(get(&needs, "us-central1", "NVIDIA_T4_GPUS").amount, 3.0);
        assert_eq!(get(&needs, GLOBAL, "GPUS_ALL_REGIONS").amount, 3.0);
        assert_eq!(get(&needs, "us-central1", "IN_USE_ADDRESSES").amount, 4.0);
        assert_eq!(get(&needs, "us-central1", "SSD_TOTAL_GB").amount, 400.0);
        assert_eq!(get(&needs, GLOBAL, "STATIC_ADDRESSES").amount, 1.0);
    }

    #[test]
    fn the_image_cache_counts_a_disk_per_gpu_node_and_the_builder() {
        let mut config = example("sd-agones-t4.yaml");
        config.gpu.image_cache = true;
        let needs = needs(&config, Existing::default(), &[]);
        // 400 GB of node disks, 3 x 50 GB of cache disks, the builder's 100 + 50 GB.
        assert_eq!(get(&needs, "us-central1", "SSD_TOTAL_GB").amount, 400.0 + 150.0 + 150.0);
        assert_eq!(get(&needs, "us-central1", "CPUS").amount, 16.0 + 4.0, "the builder's e2-standard-4");
    }

    #[test]
    fn regional_clusters_multiply_the_system_pool_and_spot_uses_preemptible_gpus() {
        let needs = needs(&example("sd-agones-l4-gcs.yaml"), Existing::default(), &[]);
        // 2 zones x 1 e2-standard-4 + 4 x g2-standard-8.
        let cpus = get(&needs, "us-central1", "CPUS");
        assert_eq!(cpus.amount, 2.0 * 4.0 + 4.0 * 8.0);
        assert!(cpus.why[0].contains("2 zones x 1 node(s) (regional: per zone)"), "{:?}", cpus.why);
        assert_eq!(get(&needs, "us-central1", "PREEMPTIBLE_NVIDIA_L4_GPUS").amount, 4.0);
        // Private: no node IPs, one NAT address; GCS: 200 GB GPU disks.
        assert_eq!(get(&needs, "us-central1", "IN_USE_ADDRESSES").amount, 1.0);
        assert_eq!(get(&needs, "us-central1", "SSD_TOTAL_GB").amount, 2.0 * 100.0 + 4.0 * 200.0);
    }

    #[test]
    fn what_exists_is_not_counted_twice() {
        let existing = Existing { cluster: true, gpu_pool: true, address: true };
        let needs = needs(&example("sd-agones-t4.yaml"), existing, &["N2_CPUS".into()]);
        assert_eq!(get(&needs, "us-central1", "CPUS").amount, 12.0, "the GPU pool's maximum only");
        assert!(get(&needs, "us-central1", "CPUS").existing);
        assert!(needs.iter().all(|n| n.metric != "STATIC_ADDRESSES"));
        assert_eq!(cpu_metric("n2", false, &["N2_CPUS".into()]), "N2_CPUS");
        assert_eq!(cpu_metric("e2", true, &["PREEMPTIBLE_CPUS".into()]), "PREEMPTIBLE_CPUS");
    }
}
