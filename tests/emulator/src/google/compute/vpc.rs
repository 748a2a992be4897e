//! What occupies a VPC network's address space, and how a reader sees it:
//! - its subnets' primary and secondary ranges (`subnetworks.list` / `aggregatedList`); a
//!   VPC-native GKE cluster given explicit CIDR blocks adds its pod and service ranges to its
//!   subnet as secondary ranges `gke-<cluster>-pods-<hash>` / `-services-<hash>`;
//! - its routes (`routes.list`): the default internet route and one route per subnet;
//! - the ranges of services connected by VPC peering (Memorystore and Filestore in
//!   DIRECT_PEERING mode, a private GKE cluster's control plane), seen as the network's
//!   `peerings[]` (`networks.get`) and each peering's imported routes
//!   (`networks.listPeeringRoutes`, direction INCOMING).
//!
//! Ranges in one network must not overlap: a create whose range collides is refused (redis.v1
//! `Instance.reservedIpRange`: "Range must be unique and non-overlapping with existing subnets in
//! an authorized network"; file.v1 `NetworkConfig.reservedIpRange`; compute.v1 `Subnetwork`
//! secondary ranges: "unique and non-overlapping with all primary and secondary IP ranges within a
//! network"). The exact error texts of Memorystore, Filestore and GKE for a collision are ours
//! (unconfirmed); GKE's resembles the subnet error seen in legion-platform/legion#989.

use std::sync::Arc;

use serde_json::{Value, json};

use super::kinds::{overlaps, parse_cidr};
use super::{BASE, list_body};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::google::World;
use crate::route::{Call, Reply};

/// A range in use in a network and what uses it.
#[derive(Debug, Clone)]
pub struct Used {
    pub range: String,
    pub by: String,
}

/// Every range in use in network `network` (a name) of `project`.
pub fn used(world: &World, project: &str, network: &str) -> Vec<Used> {
    let mut out = Vec::new();
    for s in subnets(world, project, network) {
        let name = s["name"].as_str().unwrap_or_default();
        out.push(Used {
            range: s["ipCidrRange"].as_str().unwrap_or_default().into(),
            by: format!("subnetwork {name}"),
        });
        for r in s["secondaryIpRanges"].as_array().into_iter().flatten() {
            out.push(Used {
                range: r["ipCidrRange"].as_str().unwrap_or_default().into(),
                by: format!("secondary range {} of subnetwork {name}", r["rangeName"].as_str().unwrap_or_default()),
            });
        }
    }
    for (peering, ranges) in peerings(world, project, network) {
        out.extend(ranges.into_iter().map(|range| Used { range, by: format!("peering {peering}") }));
    }
    out
}

/// Refuses `range` (of `what`) when it is not a CIDR or collides with what `network` holds.
pub fn check_free(world: &World, project: &str, network: &str, range: &str, what: &str) -> ApiResult<()> {
    if parse_cidr(range).is_none() {
        return Err(ApiError::invalid(format!("Invalid IP CIDR range {range:?} for {what}.")));
    }
    if let Some(u) = used(world, project, network).into_iter().find(|u| overlaps(&u.range, range)) {
        return Err(ApiError::invalid(format!(
            "Invalid IPCidrRange: {range} for {what} conflicts with {} ({}) in network {network}.",
            u.by, u.range
        )));
    }
    Ok(())
}

fn short_hash(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn network_name(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}

fn subnets<'a>(world: &'a World, project: &str, network: &str) -> impl Iterator<Item = &'a Value> {
    let prefix = format!("projects/{project}/regions/");
    let link = format!("{BASE}projects/{project}/global/networks/{network}");
    world
        .compute
        .resources
        .iter()
        .filter(move |(k, r)| {
            k.starts_with(&prefix) && r.kind == "Subnetwork" && r.visible && r.value["network"] == link
        })
        .map(|(_, r)| &r.value)
}

/// The network's peerings to services and the ranges each brings, in a stable order.
pub fn peerings(world: &World, project: &str, network: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let on_network = |n: &Value| network_name(n.as_str().unwrap_or("default")) == network;
    let redis: Vec<String> =
        world.redis.ranges(project).into_iter().filter(|(n, _)| on_network(&json!(n))).map(|(_, r)| r).collect();
    if !redis.is_empty() {
        out.push((format!("redis-peer-{}", short_hash(project)), redis));
    }
    let filestore: Vec<String> =
        world.file.ranges(project).into_iter().filter(|(n, _)| on_network(&json!(n))).map(|(_, r)| r).collect();
    if !filestore.is_empty() {
        out.push((format!("filestore-peer-{}", short_hash(project)), filestore));
    }
    for c in world.container.clusters.values().filter(|c| c.project == project) {
        let master = c.value["privateClusterConfig"]["masterIpv4CidrBlock"].as_str().filter(|m| !m.is_empty());
        if let Some(master) = master
            && c.value["network"] == network
        {
            out.push((
                format!("gke-n{}-peer", &short_hash(&format!("{project}/{}", c.name))[..8]),
                vec![master.to_string()],
            ));
        }
    }
    out
}

/// The `peerings[]` of a network as `networks.get` shows them.
pub fn peering_json(world: &World, project: &str, network: &str) -> Value {
    Value::Array(
        peerings(world, project, network)
            .into_iter()
            .map(|(name, _)| {
                json!({
                    "name": name,
                    "network": format!("{BASE}projects/service-producer-{}/global/networks/servicenetwork", short_hash(project)),
                    "state": "ACTIVE", "stateDetails": "[2026-12-01T00:00:00.000-08:00]: Connected.",
                    "autoCreateRoutes": true, "exchangeSubnetRoutes": true,
                    "exportCustomRoutes": false, "importCustomRoutes": false, "stackType": "IPV4_ONLY",
                })
            })
            .collect(),
    )
}

/// `networks.listPeeringRoutes`: the routes a peering brings in (INCOMING) or sends (OUTGOING).
pub fn list_peering_routes(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let network = call.param("name").to_string();
    let world = app.world();
    if world.compute.get(&format!("projects/{project}/global/networks/{network}")).is_none() {
        return Err(super::not_found(&format!("projects/{project}/global/networks/{network}")));
    }
    let Some(peering) = call.query("peeringName") else {
        return Err(ApiError::invalid("Invalid value for field 'peeringName': ''. Must be specified."));
    };
    let Some((_, ranges)) = peerings(&world, &project, &network).into_iter().find(|(name, _)| name == peering) else {
        return Err(ApiError::invalid(format!("Peering {peering} does not exist in network {network}.")));
    };
    let incoming = call.query("direction").is_none_or(|d| d == "INCOMING");
    let region = call.query("region").unwrap_or_default().to_string();
    let items: Vec<Value> = if incoming {
        ranges
            .iter()
            .map(|r| json!({"destRange": r, "type": "SUBNET_PEERING_ROUTE", "imported": true, "priority": 0, "nextHopRegion": region}))
            .collect()
    } else {
        Vec::new()
    };
    let mut body = json!({"kind": "compute#exchangedPeeringRoutesList", "id": format!("{project}/{network}/{peering}"), "items": items});
    body["selfLink"] = json!(format!("{BASE}projects/{project}/global/networks/{network}/listPeeringRoutes"));
    Ok(Reply::json(body))
}

/// `subnetworks.aggregatedList`: every region's subnetworks, keyed `regions/<region>`.
pub fn aggregated_subnetworks(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let mut world = app.world();
    world.compute.seed(app, &project);
    let prefix = format!("projects/{project}/regions/");
    let mut by_region: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (key, r) in world.compute.resources.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
        if r.kind == "Subnetwork" && r.visible {
            let region = key[prefix.len()..].split('/').next().unwrap_or_default();
            by_region.entry(format!("regions/{region}")).or_default().push(super::kinds::output(&world, &r.value));
        }
    }
    let items: serde_json::Map<String, Value> =
        by_region.into_iter().map(|(k, v)| (k, json!({ "subnetworks": v }))).collect();
    let mut body = list_body(
        "compute#subnetworkAggregatedList",
        &format!("projects/{project}/aggregated/subnetworks/"),
        Vec::new(),
    );
    body["items"] = Value::Object(items);
    Ok(Reply::json(body))
}

/// The routes of a new network: the default internet route and one per subnet.
pub fn default_routes(app: &App, project: &str, network: &str, subnet_ranges: &[&str]) -> Vec<(String, Value)> {
    let link = format!("{BASE}projects/{project}/global/networks/{network}");
    let mut routes = vec![(
        "0.0.0.0/0".to_string(),
        json!({"nextHopGateway": format!("{BASE}projects/{project}/global/gateways/default-internet-gateway"), "priority": 1000, "description": "Default route to the Internet."}),
    )];
    routes.extend(subnet_ranges.iter().map(|r| (r.to_string(), json!({"nextHopNetwork": link, "priority": 0, "description": format!("Default local route to the subnetwork {r}.")}))));
    routes
        .into_iter()
        .map(|(range, mut v)| {
            let name = format!("default-route-{}", app.hex(16));
            v["kind"] = json!("compute#route");
            v["id"] = json!(app.numeric_id());
            v["creationTimestamp"] = json!(crate::clock::now_rfc3339());
            v["name"] = json!(name);
            v["network"] = json!(link);
            v["destRange"] = json!(range);
            v["selfLink"] = json!(format!("{BASE}projects/{project}/global/routes/{name}"));
            (format!("projects/{project}/global/routes/{name}"), v)
        })
        .collect()
}
