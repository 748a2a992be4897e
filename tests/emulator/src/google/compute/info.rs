//! Read-only compute resources: the project (with project quotas), regions (with regional
//! quotas), zones, machine types and accelerator types.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{BASE, catalog, list_body, not_found, quota};
use crate::app::App;
use crate::error::ApiResult;
use crate::route::{Call, Reply};

pub fn project(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let number = app.project_number(project);
    let mut world = app.world();
    world.compute.seed(app, project);
    let usage = quota::usage(&world, project);
    Ok(Reply::json(json!({
        "kind": "compute#project",
        "id": number,
        "creationTimestamp": "2026-01-05T09:00:00.000-08:00",
        "name": project,
        "commonInstanceMetadata": { "kind": "compute#metadata", "fingerprint": "3eNumrq3bHE=" },
        "quotas": quota::quotas_json(&app.scenario(), &usage, quota::GLOBAL),
        "selfLink": format!("{BASE}projects/{project}"),
        "defaultServiceAccount": format!("{number}-compute@developer.gserviceaccount.com"),
        "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
        "defaultNetworkTier": "PREMIUM",
        "vmDnsSetting": "ZONAL_ONLY",
    })))
}

fn region_json(app: &App, project: &str, region: &str, usage: &quota::Usage) -> Value {
    let zones: Vec<String> =
        catalog::zones_of(region).iter().map(|z| format!("{BASE}projects/{project}/zones/{z}")).collect();
    json!({
        "kind": "compute#region",
        "id": (1000 + catalog::REGIONS.iter().position(|(r, _, _)| *r == region).unwrap_or(0)).to_string(),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": region,
        "description": region,
        "status": "UP",
        "zones": zones,
        "quotas": quota::quotas_json(&app.scenario(), usage, region),
        "selfLink": format!("{BASE}projects/{project}/regions/{region}"),
        "supportsPzs": false,
    })
}

pub fn regions(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let world = app.world();
    let usage = quota::usage(&world, project);
    let items = catalog::REGIONS.iter().map(|(r, _, _)| region_json(app, project, r, &usage)).collect();
    Ok(Reply::json(list_body("compute#regionList", &format!("projects/{project}/regions"), items)))
}

pub fn region(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let region = call.param("region");
    if !catalog::region_exists(region) {
        return Err(not_found(&format!("projects/{project}/regions/{region}")));
    }
    let world = app.world();
    let usage = quota::usage(&world, project);
    Ok(Reply::json(region_json(app, project, region, &usage)))
}

fn zone_json(project: &str, zone: &str) -> Value {
    let region = crate::google::util::region_of(zone);
    json!({
        "kind": "compute#zone",
        "id": (2000 + catalog::all_zones().iter().position(|z| z == zone).unwrap_or(0)).to_string(),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": zone,
        "description": zone,
        "status": "UP",
        "region": format!("{BASE}projects/{project}/regions/{region}"),
        "selfLink": format!("{BASE}projects/{project}/zones/{zone}"),
        "availableCpuPlatforms": ["Intel Broadwell", "Intel Cascade Lake", "Intel Ice Lake", "AMD Milan"],
        "supportsPzs": false,
    })
}

pub fn zones(_app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let items = catalog::all_zones().iter().map(|z| zone_json(project, z)).collect();
    Ok(Reply::json(list_body("compute#zoneList", &format!("projects/{project}/zones"), items)))
}

pub fn zone(_app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let zone = call.param("zone");
    if !catalog::zone_exists(zone) {
        return Err(not_found(&format!("projects/{project}/zones/{zone}")));
    }
    Ok(Reply::json(zone_json(project, zone)))
}

/// Whether a machine type is sold in the zone (GPU families only where their GPU is offered).
fn machine_offered(app: &App, zone: &str, machine: &catalog::MachineType) -> bool {
    match machine.accelerator {
        Some((accel, _)) => app.scenario().offers_accelerator(zone, accel),
        None => true,
    }
}

pub fn machine_types(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let zone = call.param("zone");
    if !catalog::zone_exists(zone) {
        return Err(not_found(&format!("projects/{project}/zones/{zone}")));
    }
    let items: Vec<Value> = catalog::machine_types()
        .iter()
        .filter(|m| machine_offered(app, zone, m))
        .map(|m| m.to_json(project, zone))
        .collect();
    let filter = call.query("filter").unwrap_or_default();
    let items = items
        .into_iter()
        .filter(|m| filter.is_empty() || filter.contains(m["name"].as_str().unwrap_or_default()))
        .collect();
    let prefix = format!("projects/{project}/zones/{zone}/machineTypes");
    Ok(Reply::json(list_body("compute#machineTypeList", &prefix, items)))
}

pub fn machine_type(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let zone = call.param("zone");
    let name = call.param("machineType");
    let path = format!("projects/{project}/zones/{zone}/machineTypes/{name}");
    if !catalog::zone_exists(zone) {
        return Err(not_found(&path));
    }
    match catalog::machine_type(name) {
        Ok(m) if machine_offered(app, zone, &m) => Ok(Reply::json(m.to_json(project, zone))),
        Ok(_) => Err(not_found(&path)),
        Err(e) if e.contains("does not exist") => Err(not_found(&path)),
        Err(e) => Err(super::invalid_field("machineType", name, &e)),
    }
}

fn accelerator_json(project: &str, zone: &str, (name, description, max, _): &(&str, &str, u32, &str)) -> Value {
    json!({
        "kind": "compute#acceleratorType",
        "id": (10_000 + catalog::ACCELERATORS.iter().position(|a| a.0 == *name).unwrap_or(0)).to_string(),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": name,
        "description": description,
        "zone": format!("{BASE}projects/{project}/zones/{zone}"),
        "selfLink": format!("{BASE}projects/{project}/zones/{zone}/acceleratorTypes/{name}"),
        "maximumCardsPerInstance": max,
    })
}

pub fn accelerator_types(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let zone = call.param("zone");
    if !catalog::zone_exists(zone) {
        return Err(not_found(&format!("projects/{project}/zones/{zone}")));
    }
    let scenario = app.scenario();
    let items = catalog::ACCELERATORS
        .iter()
        .filter(|a| scenario.offers_accelerator(zone, a.0))
        .map(|a| accelerator_json(project, zone, a))
        .collect();
    let prefix = format!("projects/{project}/zones/{zone}/acceleratorTypes");
    Ok(Reply::json(list_body("compute#acceleratorTypeList", &prefix, items)))
}

pub fn accelerator_type(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let zone = call.param("zone");
    let name = call.param("acceleratorType");
    let found = catalog::ACCELERATORS
        .iter()
        .find(|a| a.0 == name)
        .filter(|_| catalog::zone_exists(zone) && app.scenario().offers_accelerator(zone, name));
    match found {
        Some(a) => Ok(Reply::json(accelerator_json(project, zone, a))),
        None => Err(not_found(&format!("projects/{project}/zones/{zone}/acceleratorTypes/{name}"))),
    }
}
