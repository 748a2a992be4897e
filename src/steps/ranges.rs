//! The address ranges sdctl gives the cluster (pods, services, private control plane),
//! Memorystore and Filestore, chosen after reading what the VPC already holds: its subnets'
//! primary and secondary ranges, its routes, the ranges its peerings bring in, and the blocks
//! allocated for private services access. Ranges in one network must not overlap; left to
//! themselves, Memorystore and Filestore pick a free block while GKE creates the cluster at the
//! same time, and two of them can pick the same one. So sdctl picks every range at once, passes
//! each explicitly, and keeps the range of anything that already exists.
//!
//! Computed once per run (the network step's firewall rules name the pod range, the cluster, Redis
//! and storage steps use theirs) and shown by preflight.

use std::net::Ipv4Addr;

use google_cloud_filestore_v1::model::Instance as FilestoreInstance;

use super::Env;
use super::common::{absent_if_not_found, empty_if_disabled};
use crate::config::{FilestoreTier, Storage};
use crate::gcp::retry;
use crate::plan::StepCx;

/// The ranges of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges {
    /// The cluster's pods (/14: 1024 nodes x 110 pods).
    pub pods: String,
    /// The cluster's services (/20).
    pub services: String,
    /// A private cluster's control plane (/28).
    pub master: String,
    /// Memorystore's reserved range (/29, DIRECT_PEERING).
    pub redis: String,
    /// Filestore's reserved range (/29 Basic, /26 Zonal, Regional, Enterprise).
    pub filestore: String,
}

/// A range someone uses in the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub range: String,
    pub by: String,
}

/// `a.b.c.d/n` as `(first address, prefix length)`.
pub fn parse(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(ip) & mask(len), len))
}

fn mask(len: u32) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

pub fn overlaps(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some((x, lx)), Some((y, ly))) => {
            let m = mask(lx.min(ly));
            x & m == y & m
        }
        _ => false,
    }
}

/// Candidates for each range, starting at the environment's own slot so that environments in one
/// VPC rarely look at the same ones first; pods and services stay out of 10.128.0.0/9, where
/// auto-mode VPCs put their subnets.
fn candidates(kind: &str, slot: u32) -> Vec<String> {
    let rotate = |n: u32| (0..n).map(move |i| (i + slot) % n);
    match kind {
        "pods" => rotate(25).map(|k| format!("10.{}.0.0/14", 4 * k)).collect(),
        "services" => {
            rotate(24).flat_map(|k| (0..16).map(move |j| format!("10.{}.{}.0/20", 100 + k, 16 * j))).collect()
        }
        "master" => rotate(256).flat_map(|k| (0..16).map(move |j| format!("172.16.{k}.{}/28", 16 * j))).collect(),
        "redis" => rotate(256).flat_map(|k| (0..32).map(move |j| format!("10.124.{k}.{}/29", 8 * j))).collect(),
        "filestore29" => rotate(256).flat_map(|k| (0..32).map(move |j| format!("10.125.{k}.{}/29", 8 * j))).collect(),
        _ => rotate(256).flat_map(|k| (0..4).map(move |j| format!("10.126.{k}.{}/26", 64 * j))).collect(),
    }
}

/// The first candidate overlapping nothing in `taken`.
fn pick(kind: &str, slot: u32, taken: &[String]) -> Option<String> {
    candidates(kind, slot).into_iter().find(|c| !taken.iter().any(|t| overlaps(t, c)))
}

/// What exists already and keeps its range.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub pods: Option<String>,
    pub services: Option<String>,
    pub master: Option<String>,
    pub redis: Option<String>,
    pub filestore: Option<String>,
}

/// Picks every range not yet fixed by `existing`, overlapping nothing `used` (other than the
/// existing ranges themselves) nor each other. An error names what could not be placed.
pub fn choose(slot: u32, filestore_kind: &str, used: &[Used], existing: &Existing) -> Result<Ranges, String> {
    let own: Vec<&String> =
        [&existing.pods, &existing.services, &existing.master, &existing.redis, &existing.filestore]
            .into_iter()
            .flatten()
            .collect();
    // Our own ranges show up as used too (a subnet's secondary range, a peering route).
    let mut taken: Vec<String> =
        used.iter().filter(|u| !own.iter().any(|o| overlaps(o, &u.range))).map(|u| u.range.clone()).collect();
    taken.extend(own.iter().map(|o| o.to_string()));
    let mut take = |kind: &str, fixed: &Option<String>| -> Result<String, String> {
        if let Some(f) = fixed {
            return Ok(f.clone());
        }
        let chosen = pick(kind, slot, &taken).ok_or_else(|| format!("no free {kind} range left in the network"))?;
        taken.push(chosen.clone());
        Ok(chosen)
    };
    Ok(Ranges {
        pods: take("pods", &existing.pods)?,
        services: take("services", &existing.services)?,
        master: take("master", &existing.master)?,
        redis: take("redis", &existing.redis)?,
        filestore: take(filestore_kind, &existing.filestore)?,
    })
}

/// This run's ranges (read and chosen once).
pub async fn plan(cx: &StepCx<Env>) -> anyhow::Result<Ranges> {
    let env = &cx.env;
    env.ranges
        .get_or_try_init(|| async {
            let used = used(cx).await?;
            let existing = existing(cx).await?;
            let kind = match &env.config.storage {
                Storage::Filestore(f) if !matches!(f.tier, FilestoreTier::BasicHdd | FilestoreTier::BasicSsd) => {
                    "filestore26"
                }
                _ => "filestore29",
            };
            choose(env.names.slot(), kind, &used, &existing).map_err(|e| {
                anyhow::anyhow!(
                    "{e} ({} ranges in use in network {}); choose another network (cluster.network) or free some",
                    used.len(),
                    env.config.cluster.network
                )
            })
        })
        .await
        .cloned()
}

/// Everything the network holds: subnets (primary and secondary ranges), routes, the ranges
/// its peerings bring in, and blocks allocated for private services access.
pub async fn used(cx: &StepCx<Env>) -> anyhow::Result<Vec<Used>> {
    let env = &cx.env;
    let project = env.project();
    let network = &env.config.cluster.network;
    let network_url_end = format!("/global/networks/{network}");
    let on_network = |n: &Option<String>| n.as_deref().is_some_and(|n| n.ends_with(&network_url_end));
    let mut out = Vec::new();

    // Compute must be on: an empty answer would look like an empty network.
    let subnets = env.gcp.subnetworks().await?;
    let list =
        retry::call(cx, "list the VPC's subnetworks", || subnets.aggregated_list().set_project(project).send()).await?;
    for scoped in list.items.into_values() {
        for s in scoped.subnetworks.into_iter().filter(|s| on_network(&s.network)) {
            let name = s.name.clone().unwrap_or_default();
            out.extend(s.ip_cidr_range.map(|range| Used { range, by: format!("subnetwork {name}") }));
            for r in s.secondary_ip_ranges {
                let by = format!("secondary range {} of subnetwork {name}", r.range_name.unwrap_or_default());
                out.extend(r.ip_cidr_range.map(|range| Used { range, by }));
            }
        }
    }

    let routes = env.gcp.routes().await?;
    let list = retry::call(cx, "list the VPC's routes", || routes.list().set_project(project).send()).await?;
    for r in list.items.into_iter().filter(|r| on_network(&r.network)) {
        let range = r.dest_range.unwrap_or_default();
        if parse(&range).is_some_and(|(_, len)| len > 0) {
            out.push(Used { range, by: format!("route {}", r.name.unwrap_or_default()) });
        }
    }

    let networks = env.gcp.networks().await?;
    let found = absent_if_not_found(
        retry::call(cx, &format!("read network {network}"), || {
            networks.get().set_project(project).set_network(network).send()
        })
        .await,
    )?;
    for peering in found.map(|n| n.peerings).unwrap_or_default() {
        let Some(name) = peering.name else { continue };
        let routes = retry::call(cx, &format!("list the routes of peering {name}"), || {
            networks
                .list_peering_routes()
                .set_project(project)
                .set_network(network)
                .set_peering_name(&name)
                .set_direction(
                    google_cloud_compute_v1::model::networks::list_peering_routes_request::Direction::Incoming,
                )
                .set_region(&env.config.region)
                .send()
        })
        .await?;
        for r in routes.items {
            out.extend(r.dest_range.map(|range| Used { range, by: format!("peering {name}") }));
        }
    }

    let addresses = env.gcp.global_addresses().await?;
    let list = retry::call(cx, "list private services access ranges", || {
        addresses.list().set_project(project).set_filter("purpose=\"VPC_PEERING\"").send()
    })
    .await?;
    for a in list.items.into_iter().filter(|a| on_network(&a.network)) {
        if let (Some(address), Some(len)) = (a.address, a.prefix_length) {
            out.push(Used {
                range: format!("{address}/{len}"),
                by: format!("allocated range {}", a.name.unwrap_or_default()),
            });
        }
    }
    Ok(out)
}

/// The ranges of this environment's cluster, Redis and Filestore when they exist.
async fn existing(cx: &StepCx<Env>) -> anyhow::Result<Existing> {
    let env = &cx.env;
    let mut e = Existing::default();
    if let Some(c) = empty_if_disabled(super::cluster::read_ours(cx).await)? {
        let policy = c.ip_allocation_policy.as_ref();
        e.pods = policy.map(|p| p.cluster_ipv4_cidr_block.clone()).filter(|r| parse(r).is_some());
        e.services = policy.map(|p| p.services_ipv4_cidr_block.clone()).filter(|r| parse(r).is_some());
        e.master = c.private_cluster_config.map(|p| p.master_ipv4_cidr_block).filter(|r| parse(r).is_some());
    }
    e.redis = empty_if_disabled(super::redis::read_ours(cx).await)?
        .map(|i| i.reserved_ip_range)
        .filter(|r| parse(r).is_some());
    if let Storage::Filestore(_) = env.config.storage {
        let instance: Option<FilestoreInstance> = empty_if_disabled(super::storage::read_filestore(cx).await)?;
        e.filestore = instance
            .and_then(|i| i.networks.first().map(|n| n.reserved_ip_range.clone()))
            .filter(|r| parse(r).is_some());
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(ranges: &[&str]) -> Vec<Used> {
        ranges.iter().map(|r| Used { range: r.to_string(), by: "test".into() }).collect()
    }

    #[test]
    fn ranges_avoid_what_the_network_holds_and_each_other() {
        let taken = used(&["10.128.0.0/20", "10.0.0.0/8"]);
        // Everything in 10/8 is taken: no pod range is left, and the error says which.
        assert_eq!(
            choose(0, "filestore29", &taken, &Existing::default()).unwrap_err(),
            "no free pods range left in the network"
        );
        let taken = used(&["10.128.0.0/20", "10.4.0.0/16", "10.100.0.0/20", "172.16.0.0/28", "10.124.0.0/29"]);
        let r = choose(1, "filestore29", &taken, &Existing::default()).unwrap();
        assert_eq!(r.pods, "10.8.0.0/14", "10.4.0.0/14 overlaps 10.4.0.0/16");
        for (a, b) in [(&r.pods, &r.services), (&r.redis, &r.filestore), (&r.pods, &r.redis)] {
            assert!(!overlaps(a, b), "{a} {b}");
        }
        for t in &taken {
            for mine in [&r.pods, &r.services, &r.master, &r.redis, &r.filestore] {
                assert!(!overlaps(&t.range, mine), "{mine} overlaps {}", t.range);
            }
        }
    }

    #[test]
    fn existing_resources_keep_their_ranges_though_they_show_as_used() {
        let existing =
            Existing { pods: Some("10.8.0.0/14".into()), redis: Some("10.124.1.0/29".into()), ..Default::default() };
        // The cluster's pods are a secondary range of the subnet; Redis shows as a peering route.
        let taken = used(&["10.128.0.0/20", "10.8.0.0/14", "10.124.1.0/29"]);
        let r = choose(2, "filestore26", &taken, &existing).unwrap();
        assert_eq!((r.pods.as_str(), r.redis.as_str()), ("10.8.0.0/14", "10.124.1.0/29"));
        assert!(r.filestore.ends_with("/26"));
    }

    #[test]
    fn overlap_is_by_prefix() {
        assert!(overlaps("10.0.0.0/8", "10.4.0.0/14"));
        assert!(overlaps("10.4.0.0/14", "10.7.255.0/24"));
        assert!(!overlaps("10.4.0.0/14", "10.8.0.0/14"));
        assert!(!overlaps("garbage", "10.0.0.0/8"));
    }
}
