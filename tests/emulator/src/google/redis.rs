//! Memorystore for Redis v1 (`/redis/v1/projects/*/locations/*/instances`): BASIC or
//! STANDARD_HA instances with AUTH and in-transit encryption, CREATING -> READY.

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

const INSTANCE: &str = "type.googleapis.com/google.cloud.redis.v1.Instance";
const META: &str = "type.googleapis.com/google.cloud.redis.v1.OperationMetadata";
const CREATE_SECS: f64 = 360.0;
const DELETE_SECS: f64 = 240.0;
const UPDATE_SECS: f64 = 120.0;
const VERSIONS: &[&str] = &["REDIS_3_2", "REDIS_4_0", "REDIS_5_0", "REDIS_6_X", "REDIS_7_0", "REDIS_7_2"];

const TIER: &[(i64, &str)] = &[(1, "BASIC"), (3, "STANDARD_HA")];
const CONNECT: &[(i64, &str)] = &[(1, "DIRECT_PEERING"), (2, "PRIVATE_SERVICE_ACCESS")];
const TRANSIT: &[(i64, &str)] = &[(1, "SERVER_AUTHENTICATION"), (2, "DISABLED")];
const REPLICAS: &[(i64, &str)] = &[(1, "READ_REPLICAS_DISABLED"), (2, "READ_REPLICAS_ENABLED")];
const PERSISTENCE: &[(i64, &str)] = &[(1, "DISABLED"), (2, "RDB")];
const ENUMS: &[EnumField] = &[
    EnumField { path: "tier", values: TIER },
    EnumField { path: "connectMode", values: CONNECT },
    EnumField { path: "transitEncryptionMode", values: TRANSIT },
    EnumField { path: "readReplicasMode", values: REPLICAS },
    EnumField { path: "persistenceConfig.persistenceMode", values: PERSISTENCE },
];

#[derive(Default)]
pub struct State {
    instances: BTreeMap<String, Value>,
    auth: BTreeMap<String, String>,
}

impl State {
    pub fn state(&self, out: &mut Vec<Value>) {
        for (name, i) in &self.instances {
            out.push(state_entry("redis", "Instance", name, i["state"].as_str().unwrap_or_default(), &i["labels"]));
        }
    }

    /// `(authorized network, reserved range)` of the project's instances.
    pub fn ranges(&self, project: &str) -> Vec<(String, String)> {
        self.instances
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("projects/{project}/")))
            .map(|(_, i)| {
                let network =
                    i["authorizedNetwork"].as_str().unwrap_or("default").rsplit('/').next().unwrap_or("default");
                (network.to_string(), i["reservedIpRange"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    }
}

pub fn routes() -> Vec<Route> {
    const ALL: &str = "v1/projects/{project}/locations/{location}/instances";
    const ONE: &str = "v1/projects/{project}/locations/{location}/instances/{instance}";
    vec![
        route(Method::POST, ALL, "redis.projects.locations.instances.create", create),
        route(Method::GET, ALL, "redis.projects.locations.instances.list", list),
        route(Method::GET, ONE, "redis.projects.locations.instances.get", get),
        route(Method::DELETE, ONE, "redis.projects.locations.instances.delete", delete),
        route(Method::PATCH, ONE, "redis.projects.locations.instances.patch", patch),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/instances/{instance}/authString",
            "redis.projects.locations.instances.getAuthString",
            auth_string,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations/{operation}",
            "redis.projects.locations.operations.get",
            lro::get,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations",
            "redis.projects.locations.operations.list",
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

/// A self-signed CA like the one Memorystore serves for TLS (clients pin it).
fn server_ca(name: &str) -> Value {
    let pem = rcgen::generate_simple_self_signed(vec![format!("{name}.redis.emulator")])
        .map(|c| c.cert.pem())
        .unwrap_or_default();
    json!({ "serialNumber": "0", "cert": pem, "createTime": now_rfc3339(), "expireTime": "2036-11-21T00:00:00Z", "sha1Fingerprint": "" })
}

/// An unused /29 in the network, starting somewhere in 10.150.0.0/15.
fn free_block(world: &crate::google::World, project: &str, network: &str, seed: u64) -> String {
    (0..4096u64)
        .map(|i| {
            let n = seed + i;
            format!("10.{}.{}.0/29", 150 + n / 32 % 100, (n * 8) % 256)
        })
        .find(|r| vpc::check_free(world, project, network, r, "").is_ok())
        .unwrap_or_else(|| "10.150.0.0/29".into())
}

fn create(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let parent = parent(app, call);
    let project = app.project_id(call.param("project"));
    let region = call.param("location").to_string();
    let id = call.query("instanceId").unwrap_or_default().to_string();
    if !util::is_rfc1035(&id, 40) {
        return Err(ApiError::invalid(format!(
            "Invalid instance_id \"{id}\": must match ^[a-z]([-a-z0-9]*[a-z0-9])?$, 40 characters at most."
        )));
    }
    if !catalog::region_exists(&region) {
        return Err(ApiError::invalid(format!("Location {region} is not a region.")));
    }
    let mut instance = if call.body.is_object() { call.body.clone() } else { json!({}) };
    normalize_enums(&mut instance, ENUMS);
    let tier = instance["tier"].as_str().unwrap_or_default().to_string();
    if tier != "BASIC" && tier != "STANDARD_HA" {
        return Err(ApiError::invalid("instance.tier must be BASIC or STANDARD_HA."));
    }
    let memory = instance["memorySizeGb"].as_i64().unwrap_or(0);
    if !(1..=300).contains(&memory) {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'instance.memory_size_gb': {memory}. It must be between 1 and 300."
        )));
    }
    let version = instance["redisVersion"].as_str().unwrap_or("REDIS_7_2").to_string();
    if !VERSIONS.contains(&version.as_str()) {
        return Err(ApiError::invalid(format!("Invalid redis_version \"{version}\".")));
    }
    util::check_labels(&instance["labels"])?;
    let name = format!("{parent}/instances/{id}");
    let mut world = app.world();
    if world.redis.instances.contains_key(&name) {
        return Err(ApiError::already_exists(format!("Resource '{name}' already exists")));
    }
    world.compute.seed(app, &project);
    let network = instance["authorizedNetwork"].as_str().unwrap_or("default").to_string();
    let network_path = format!("projects/{project}/global/networks/{}", network.rsplit('/').next().unwrap_or_default());
    if world.compute.get(&network_path).is_none() {
        return Err(ApiError::invalid(format!("Invalid authorized network: {network} does not exist.")));
    }
    let zones = catalog::zones_of(&region);
    let location_id = instance["locationId"].as_str().map(str::to_string).unwrap_or_else(|| zones[0].clone());
    let tls = instance["transitEncryptionMode"] == "SERVER_AUTHENTICATION";
    // An explicit /29 must be free in the network; without one, Memorystore picks an unused
    // /29 (Discovery `reservedIpRange`: "If not provided, the service will choose an unused /29").
    let network_name = network_path.rsplit('/').next().unwrap_or("default").to_string();
    let range = match instance["reservedIpRange"].as_str().filter(|r| !r.is_empty()) {
        Some(r) => {
            if kinds::parse_cidr(r).is_some_and(|(_, len)| len != 29) {
                return Err(ApiError::invalid(format!("reserved_ip_range {r} must be a /29 CIDR block.")));
            }
            vpc::check_free(&world, &project, &network_name, r, "the Redis instance's reserved IP range")?;
            r.to_string()
        }
        None => free_block(&world, &project, &network_name, app.next()),
    };
    let mut nodes = vec![json!({ "id": "node-0", "zone": location_id })];
    if tier == "STANDARD_HA" {
        let alternative = instance["alternativeLocationId"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| zones.get(1).cloned().unwrap_or_default());
        instance["alternativeLocationId"] = json!(alternative);
        nodes.push(json!({ "id": "node-1", "zone": alternative }));
    }
    for (field, value) in [
        ("name", json!(name)),
        ("redisVersion", json!(version)),
        ("authorizedNetwork", json!(network_path)),
        ("locationId", json!(location_id)),
        ("currentLocationId", json!(location_id)),
        ("host", json!(super::compute::kinds::host(&range, 3))),
        ("port", json!(if tls { 6378 } else { 6379 })),
        ("reservedIpRange", json!(range)),
        ("state", json!("CREATING")),
        ("createTime", json!(now_rfc3339())),
        (
            "persistenceIamIdentity",
            json!(format!(
                "serviceAccount:service-{}@cloud-redis.iam.gserviceaccount.com",
                app.project_number(&project)
            )),
        ),
        ("nodes", json!(nodes)),
    ] {
        instance[field] = value;
    }
    for (field, default) in [
        ("connectMode", json!("DIRECT_PEERING")),
        ("transitEncryptionMode", json!("DISABLED")),
        ("authEnabled", json!(false)),
        ("readReplicasMode", json!("READ_REPLICAS_DISABLED")),
        ("labels", json!({})),
    ] {
        if instance.get(field).is_none() {
            instance[field] = default;
        }
    }
    if tls {
        instance["serverCaCerts"] = json!([server_ca(&id)]);
    }
    world.redis.auth.insert(name.clone(), app.uuid());
    world.redis.instances.insert(name.clone(), instance);
    let op_name = format!("{parent}/operations/{}", util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "create"));
    drop(world);
    util::ready_after(app, app.latency(call.id, CREATE_SECS), op_name, INSTANCE, move |world| {
        world.redis.instances.get_mut(&name)
    });
    Ok(Reply::json(op))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    Ok(Reply::json(json!({ "instances": util::located(&world.redis.instances, app, call, &parent(app, call)) })))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let world = app.world();
    world.redis.instances.get(&name).cloned().map(Reply::json).ok_or_else(|| not_found(&name))
}

fn auth_string(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let world = app.world();
    let instance = world.redis.instances.get(&name).ok_or_else(|| not_found(&name))?;
    if instance["authEnabled"] != json!(true) {
        // Google answers an empty message when AUTH is off.
        return Ok(Reply::empty_object());
    }
    Ok(Reply::json(json!({ "authString": world.redis.auth.get(&name).cloned().unwrap_or_default() })))
}

fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = format!("{}/instances/{}", parent(app, call), call.param("instance"));
    let mut world = app.world();
    let instance = world.redis.instances.get_mut(&name).ok_or_else(|| not_found(&name))?;
    if instance["state"] == "CREATING" || instance["state"] == "DELETING" {
        return Err(ApiError::failed_precondition(format!(
            "Instance {name} is in state {}; wait for the running operation to finish.",
            instance["state"].as_str().unwrap_or_default()
        )));
    }
    instance["state"] = json!("DELETING");
    let op_name = format!("{}/operations/{}", parent(app, call), util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "delete"));
    drop(world);
    app.after(app.latency(call.id, DELETE_SECS), move |_, world| {
        world.redis.instances.remove(&name);
        world.redis.auth.remove(&name);
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
    let instance = world.redis.instances.get(&name).ok_or_else(|| not_found(&name))?.clone();
    if instance["state"] != "READY" {
        return Err(ApiError::failed_precondition(format!("Instance {name} is not READY.")));
    }
    let mut updated = instance;
    util::apply_update_mask(&mut updated, &patch, Some(&mask));
    if let Some(i) = world.redis.instances.get_mut(&name) {
        i["state"] = json!("UPDATING");
    }
    let op_name = format!("{}/operations/{}", parent(app, call), util::operation_id(app));
    let op = world.lro.start(op_name.clone(), metadata(&name, "update"));
    drop(world);
    app.after(app.latency(call.id, UPDATE_SECS), move |_, world| {
        if let Some(i) = world.redis.instances.get_mut(&name) {
            updated["state"] = json!("READY");
            *i = updated;
            let done = lro::typed(INSTANCE, i);
            world.lro.finish(&op_name, Ok(done));
        }
    });
    Ok(Reply::json(op))
}
