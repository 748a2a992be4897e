//! Filestore v1 (`/file/v1/projects/*/locations/*/instances`): NFS instances with tier
//! minimums, a network with a reserved range, CREATING -> READY through AIP-151 operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::compute::{catalog, kinds, vpc};
use super::{EnumField, lro, normalize_enums, state_entry, util};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

const INSTANCE: &str = "type.googleapis.com/google.cloud.filestore.v1.Instance";
const META: &str = "type.googleapis.com/google.cloud.common.OperationMetadata";
const CREATE_SECS: f64 = 480.0;
const DELETE_SECS: f64 = 300.0;
const UPDATE_SECS: f64 = 120.0;

const TIER: &[(i64, &str)] = &[
    (1, "STANDARD"),
    (2, "PREMIUM"),
    (3, "BASIC_HDD"),
    (4, "BASIC_SSD"),
    (5, "HIGH_SCALE_SSD"),
    (6, "ENTERPRISE"),
    (7, "ZONAL"),
    (8, "REGIONAL"),
];
const MODE: &[(i64, &str)] = &[(1, "MODE_IPV4")];
const CONNECT: &[(i64, &str)] = &[(1, "DIRECT_PEERING"), (2, "PRIVATE_SERVICE_ACCESS")];
const ACCESS: &[(i64, &str)] = &[(1, "READ_ONLY"), (2, "READ_WRITE")];
const SQUASH: &[(i64, &str)] = &[(1, "NO_ROOT_SQUASH"), (2, "ROOT_SQUASH")];
const PROTOCOL: &[(i64, &str)] = &[(1, "NFS_V3"), (2, "NFS_V4_1")];
const ENUMS: &[EnumField] = &[
    EnumField { path: "tier", values: TIER },
    EnumField { path: "networks[].modes[]", values: MODE },
    EnumField { path: "networks[].connectMode", values: CONNECT },
    EnumField { path: "fileShares[].nfsExportOptions[].accessMode", values: ACCESS },
    EnumField { path: "fileShares[].nfsExportOptions[].squashMode", values: SQUASH },
    EnumField { path: "protocol", values: PROTOCOL },
];

/// Smallest capacity (GB) per tier; BASIC tiers live in a zone.
fn tier_rules(tier: &str) -> Option<(u64, bool)> {
    Some(match tier {
        "BASIC_HDD" | "STANDARD" => (1024, true),
        "BASIC_SSD" | "PREMIUM" => (2560, true),
        "HIGH_SCALE_SSD" => (10240, true),
        "ZONAL" => (1024, true),
        "REGIONAL" | "ENTERPRISE" => (1024, false),
        _ => return None,
    })
}

#[derive(Default)]
pub struct State {
    instances: BTreeMap<String, Value>,
}

impl State {
    pub fn state(&self, out: &mut Vec<Value>) {
        for (name, i) in &self.instances {
            out.push(state_entry("file", "Instance", name, i["state"].as_str().unwrap_or_default(), &i["labels"]));
        }
    }

    /// `(network, reserved range)` of the project's instances.
    pub fn ranges(&self, project: &str) -> Vec<(String, String)> {
        self.instances
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("projects/{project}/")))
            .flat_map(|(_, i)| i["networks"].as_array().cloned().unwrap_or_default())
            .map(|n| {
                let network = n["network"].as_str().unwrap_or("default").rsplit('/').next().unwrap_or("default");
                (network.to_string(), n["reservedIpRange"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    }
}

pub fn routes() -> Vec<Route> {
    const ALL: &str = "v1/projects/{project}/locations/{location}/instances";
    const ONE: &str = "v1/projects/{project}/locations/{location}/instances/{instance}";
    vec![
        route(Method::POST, ALL, "file.projects.locations.instances.create", create),
        route(Method::GET, ALL, "file.projects.locations.instances.list", list),
        route(Method::GET, ONE, "file.projects.locations.instances.get", get),
        route(Method::DELETE, ONE, "file.projects.locations.instances.delete", delete),
        route(Method::PATCH, ONE, "file.projects.locations.instances.patch", patch),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations/{operation}",
            "file.projects.locations.operations.get",
            lro::get,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations",
            "file.projects.locations.operations.list",
            lro::list,
        ),
    ]
}

fn parent(app: &App, call: &Call) -> String {
    format!("projects/{}/locations/{}", app.project_id(call.param("project")), call.param("location"))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Resource '{name}' was not found"))
}

fn metadata(target: &str, verb: &str) -> Value {
    json!({ "@type": META, "createTime": now_rfc3339(), "target": target, "verb": verb, "cancelRequested": false, "apiVersion": "v1" })
}

fn create(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let parent = parent(app, call);
    let project = app.project_id(call.param("project"));
    let location = call.param("location").to_string();
    let id = call.query("instanceId").unwrap_or_default().to_string();
    if !util::is_rfc1035(&id, 63) {
        return Err(ApiError::invalid(format!(
            "Invalid instance_id \"{id}\": must match ^[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?$."
        )));
    }
    let mut instance = if call.body.is_object() { call.body.clone() } else { json!({}) };
    normalize_enums(&mut instance, ENUMS);
    let tier = instance["tier"].as_str().unwrap_or_default().to_string();
    let (min, zonal) = tier_rules(&tier).ok_or_else(|| ApiError::invalid("instance.tier must be specified."))?;
    if zonal != util::is_zone(&location) || !(catalog::zone_exists(&location) || catalog::region_exists(&location)) {
        return Err(ApiError::invalid(format!(
            "Location {location} is not valid for tier {tier}: use a {}.",
            if zonal { "zone" } else { "region" }
        )));
    }
    let shares = instance["fileShares"].as_array().cloned().unwrap_or_default();
    if shares.len() != 1 {
        return Err(ApiError::invalid("instance.file_shares must contain exactly one file share."));
    }
    let share_name = shares[0]["name"].as_str().unwrap_or_default();
    if share_name.is_empty() || share_name.len() > 16 || !share_name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(format!("Invalid file share name \"{share_name}\".")));
    }
    let capacity = util::as_u64(&shares[0]["capacityGb"]).unwrap_or(0);
    if capacity < min {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'instance.file_shares[0].capacity_gb': {capacity}. The minimum capacity for tier {tier} is {min} GB."
        )));
    }
    instance["fileShares"][0]["capacityGb"] = json!(capacity.to_string());
    util::check_labels(&instance["labels"])?;
    let name = format!("{parent}/instances/{id}");
    let mut world = app.world();
    if world.file.instances.contains_key(&name) {
        return Err(ApiError::already_exists(format!("Resource '{name}' already exists")));
    }
    world.compute.seed(app, &project);
    let networks = instance["networks"].as_array().cloned().unwrap_or_default();
    if networks.len() != 1 {
        return Err(ApiError::invalid("instance.networks must contain exactly one network."));
    }
    let mut network = networks[0].clone();
    let net = network["network"].as_str().unwrap_or_default().to_string();
    let net_path = format!("projects/{project}/global/networks/{}", net.rsplit('/').next().unwrap_or_default());
    if world.compute.get(&net_path).is_none() {
        return Err(ApiError::invalid(format!("network '{net}' does not exist.")));
    }
    if network.get("modes").is_none() {
        network["modes"] = json!(["MODE_IPV4"]);
    }
    if network.get("connectMode").is_none() {
        network["connectMode"] = json!("DIRECT_PEERING");
    }
    // A given CIDR must be free in the network and of the tier's size (Discovery
    // `NetworkConfig.reservedIpRange`: /29 for Basic, /24 High Scale, /26 Enterprise; /26 assumed
    // for Zonal and Regional, unconfirmed); without one, Filestore picks a free block.
    let net_name = net.rsplit('/').next().unwrap_or("default").to_string();
    let ip = match network["reservedIpRange"].as_str().filter(|r| !r.is_empty()).map(str::to_string) {
        Some(range) => {
            let want = if tier.starts_with("BASIC") { 29 } else { 26 };
            match kinds::parse_cidr(&range) {
                Some((_, len)) if len != want => {
                    return Err(ApiError::invalid(format!(
                        "reserved_ip_range {range} must be a /{want} block for tier {tier}."
                    )));
                }
                _ => {
                    vpc::check_free(&world, &project, &net_name, &range, "the Filestore instance's reserved IP range")?
                }
            }
            kinds::host(&range, 2)
        }
        None => {
            let mut n = app.next();
            let mut range = format!("10.{}.{}.0/29", 100 + n / 32 % 100, (n * 8) % 256);
            while vpc::check_free(&world, &project, &net_name, &range, "").is_err() {
                n += 1;
                range = format!("10.{}.{}.0/29", 100 + n / 32 % 100, (n * 8) % 256);
            }
            network["reservedIpRange"] = json!(range);
            kinds::host(&range, 2)
        }
    };
    network["ipAddresses"] = json!([ip]);
    instance["networks"] = json!([network]);
    for (field, value) in [
        ("name", json!(name)),
        ("state", json!("CREATING")),
        ("createTime", json!(now_rfc3339())),
        ("satisfiesPzs", json!(false)),
        ("etag", json!(util::etag(app.next()))),
    ] {
        instance[field] = value;
    }
    if instance.get("labels").is_none() {
        instance["labels"] = json!({});
    }
    world.file.instances.insert(name.clone(), instance);
    let op_name = format!("{parent}/operations/{}", util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "create"));
    drop(world);
    util::ready_after(app, app.latency(call.id, CREATE_SECS), op_name, INSTANCE, move |world| {
        world.file.instances.get_mut(&name)
    });
    Ok(Reply::json(op))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    Ok(Reply::json(json!({ "instances": util::located(&world.file.instances, app, call, &parent(app, call)) })))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let world = app.world();
    world.file.instances.get(&name).cloned().map(Reply::json).ok_or_else(|| not_found(&name))
}

fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let mut world = app.world();
    let instance = world.file.instances.get_mut(&name).ok_or_else(|| not_found(&name))?;
    match instance["state"].as_str() {
        Some("READY") | Some("ERROR") => {}
        Some(state) => {
            return Err(ApiError::failed_precondition(format!(
                "Instance {name} is in state {state}; wait for the running operation to finish."
            )));
        }
        None => {}
    }
    instance["state"] = json!("DELETING");
    let op_name = format!("{}/operations/{}", parent(app, call), util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "delete"));
    drop(world);
    app.after(app.latency(call.id, DELETE_SECS), move |_, world| {
        world.file.instances.remove(&name);
        world.lro.finish(&op_name, Ok(json!({ "@type": lro::EMPTY })));
    });
    Ok(Reply::json(op))
}

fn patch(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let mask = call.query("updateMask").ok_or_else(|| ApiError::invalid("update_mask must be specified."))?.to_string();
    let mut patch = call.body.clone();
    normalize_enums(&mut patch, ENUMS);
    util::check_labels(&patch["labels"])?;
    let mut world = app.world();
    let instance = world.file.instances.get(&name).ok_or_else(|| not_found(&name))?.clone();
    if instance["state"] != "READY" {
        return Err(ApiError::failed_precondition(format!("Instance {name} is not READY.")));
    }
    let old = util::as_u64(&instance["fileShares"][0]["capacityGb"]).unwrap_or(0);
    let new = util::as_u64(&patch["fileShares"][0]["capacityGb"]).unwrap_or(old);
    let basic = instance["tier"].as_str().is_some_and(|t| t.starts_with("BASIC"));
    if mask.contains("file_shares") || mask.contains("fileShares") {
        if new < old && basic {
            return Err(ApiError::invalid(format!(
                "Capacity of a {} instance cannot be decreased ({old} GB to {new} GB).",
                instance["tier"].as_str().unwrap_or_default()
            )));
        }
        patch["fileShares"][0]["capacityGb"] = json!(new.to_string());
    }
    let mut updated = instance.clone();
    util::apply_update_mask(&mut updated, &patch, Some(&mask));
    updated["etag"] = json!(util::etag(app.next()));
    if let Some(i) = world.file.instances.get_mut(&name) {
        i["state"] = json!("UPDATING");
    }
    let op_name = format!("{}/operations/{}", parent(app, call), util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "update"));
    drop(world);
    app.after(app.latency(call.id, UPDATE_SECS), move |_, world| {
        if let Some(i) = world.file.instances.get_mut(&name) {
            *i = updated;
            let done = lro::typed(INSTANCE, i);
            world.lro.finish(&op_name, Ok(done));
        }
    });
    Ok(Reply::json(op))
}
