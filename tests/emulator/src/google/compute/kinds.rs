//! What each kind of compute resource checks and does beyond the generic life cycle.

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{BASE, Kind, Place, Res, State, catalog, invalid_field, not_found, quota};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::google::{World, util};
use crate::route::{Call, Reply};

/// A reference field (`network`, `subnetwork`, `machineType`, ...) as a full URL. Accepts a full
/// URL or a partial path (`global/networks/default`, `projects/p/...`); a bare name is malformed,
/// as on Google.
pub fn reference(project: &str, field: &str, value: &str) -> ApiResult<String> {
    let relative = if let Some(rest) =
        value.strip_prefix(BASE).or_else(|| value.strip_prefix("https://compute.googleapis.com/compute/v1/"))
    {
        rest.to_string()
    } else if value.starts_with("projects/") {
        value.to_string()
    } else if ["global/", "regions/", "zones/"].iter().any(|p| value.starts_with(p)) {
        format!("projects/{project}/{value}")
    } else {
        return Err(invalid_field(field, value, "The URL is malformed."));
    };
    Ok(format!("{BASE}{relative}"))
}

/// A reference that must name a live resource.
fn existing(world: &World, project: &str, field: &str, value: &str) -> ApiResult<String> {
    let url = reference(project, field, value)?;
    let relative = &url[BASE.len()..];
    if world.compute.get(relative).is_none() {
        return Err(not_found(relative));
    }
    Ok(url)
}

fn str_field<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or_default()
}

pub fn network_json(app: &App, project: &str, name: &str, auto: bool, description: &str) -> Value {
    json!({
        "kind": "compute#network",
        "id": app.numeric_id(),
        "creationTimestamp": crate::clock::now_rfc3339(),
        "name": name,
        "description": description,
        "selfLink": format!("{BASE}projects/{project}/global/networks/{name}"),
        "autoCreateSubnetworks": auto,
        "routingConfig": { "routingMode": "REGIONAL" },
        "mtu": 1460,
        "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL",
    })
}

/// The auto-mode subnetworks of a network, one per region, named like the network.
pub fn auto_subnets(app: &App, state: &mut State, project: &str, network: &str, network_link: &Value) {
    for (region, _, range) in catalog::REGIONS {
        let key = format!("projects/{project}/regions/{region}/subnetworks/{network}");
        let value = subnet_json(app, &key, region, project, network_link, range);
        state.insert_ready("Subnetwork", key, value, true);
    }
}

fn subnet_json(app: &App, key: &str, region: &str, project: &str, network_link: &Value, range: &str) -> Value {
    let name = key.rsplit('/').next().unwrap_or_default();
    json!({
        "kind": "compute#subnetwork",
        "id": app.numeric_id(),
        "creationTimestamp": crate::clock::now_rfc3339(),
        "name": name,
        "network": network_link,
        "ipCidrRange": range,
        "gatewayAddress": gateway(range),
        "region": format!("{BASE}projects/{project}/regions/{region}"),
        "selfLink": format!("{BASE}{key}"),
        "privateIpGoogleAccess": false,
        "fingerprint": util::etag(app.next()),
        "purpose": "PRIVATE",
        "stackType": "IPV4_ONLY",
    })
}

/// `a.b.c.d/n` as (network address, prefix length).
pub fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(ip) & mask, len))
}

pub fn overlaps(a: &str, b: &str) -> bool {
    match (parse_cidr(a), parse_cidr(b)) {
        (Some((na, la)), Some((nb, lb))) => {
            let len = la.min(lb);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            na & mask == nb & mask
        }
        _ => false,
    }
}

/// The n-th host address of a range (`10.128.0.0/20`, 1 -> `10.128.0.1`).
pub fn host(cidr: &str, n: u32) -> String {
    parse_cidr(cidr).map(|(net, _)| Ipv4Addr::from(net + n).to_string()).unwrap_or_default()
}

fn gateway(cidr: &str) -> String {
    host(cidr, 1)
}

/// Kind-specific checks and defaults before a resource is stored (`force_create`: the insert's
/// `forceCreate` query parameter, images only).
pub fn prepare(
    app: &App,
    world: &mut World,
    kind: &Kind,
    place: &Place,
    body: &mut Value,
    force_create: bool,
) -> ApiResult<()> {
    let project = place.project().to_string();
    match kind.id {
        "networks" => {
            let auto = body.get("autoCreateSubnetworks").and_then(Value::as_bool).unwrap_or(true);
            body["autoCreateSubnetworks"] = json!(auto);
            if body.get("routingConfig").is_none() {
                body["routingConfig"] = json!({ "routingMode": "REGIONAL" });
            }
            if body.get("mtu").is_none() {
                body["mtu"] = json!(1460);
            }
        }
        "subnetworks" => prepare_subnet(world, &project, place, body)?,
        "firewalls" => {
            let network = match body.get("network").and_then(Value::as_str) {
                Some(n) => n.to_string(),
                None => "global/networks/default".to_string(),
            };
            body["network"] = json!(existing(world, &project, "resource.network", &network)?);
            if body.get("allowed").is_none() && body.get("denied").is_none() {
                return Err(invalid_field("resource.allowed", "", "Either allowed or denied must be specified."));
            }
            let direction = body.get("direction").and_then(Value::as_str).unwrap_or("INGRESS").to_string();
            body["direction"] = json!(direction);
            if body.get("priority").is_none() {
                body["priority"] = json!(1000);
            }
            let has_source =
                ["sourceRanges", "sourceTags", "sourceServiceAccounts"].iter().any(|f| body.get(*f).is_some());
            if direction == "INGRESS" && !has_source {
                body["sourceRanges"] = json!(["0.0.0.0/0"]);
            }
            if direction == "EGRESS" && body.get("destinationRanges").is_none() {
                body["destinationRanges"] = json!(["0.0.0.0/0"]);
            }
            if body.get("logConfig").is_none() {
                body["logConfig"] = json!({ "enable": false });
            }
            if body.get("disabled").is_none() {
                body["disabled"] = json!(false);
            }
        }
        "globalAddresses" | "addresses" => prepare_address(app, world, kind, place, body)?,
        "routers" => {
            let network = str_field(body, "network").to_string();
            if network.is_empty() {
                return Err(ApiError::invalid(
                    "Invalid value for field 'resource.network': ''. The network is required.",
                )
                .with_reason("required"));
            }
            body["network"] = json!(existing(world, &project, "resource.network", &network)?);
            check_nats(body)?;
        }
        "disks" => prepare_disk(app, world, place, body)?,
        "instances" => prepare_instance(app, world, place, body)?,
        "images" => {
            let sources = ["rawDisk", "sourceDisk", "sourceImage", "sourceSnapshot"];
            if !sources.iter().any(|s| body.get(*s).is_some()) {
                return Err(invalid_field(
                    "resource",
                    "",
                    "One of rawDisk, sourceDisk, sourceImage or sourceSnapshot must be specified.",
                ));
            }
            if let Some(disk) = body.get("sourceDisk").and_then(Value::as_str).map(str::to_string) {
                let url = existing(world, &project, "resource.sourceDisk", &disk)?;
                // An image of a disk a VM uses needs forceCreate (the VM may be writing to it).
                let user =
                    world.compute.get(&url).and_then(|d| d["users"].as_array()?.first()?.as_str().map(str::to_string));
                if let Some(user) = user
                    && !force_create
                {
                    return Err(ApiError::invalid(format!(
                        "The disk resource '{}' is already being used by '{}'",
                        &url[BASE.len()..],
                        user.strip_prefix(BASE).unwrap_or(&user)
                    ))
                    .with_reason("resourceInUseByAnotherResource"));
                }
                body["sourceDisk"] = json!(url);
            }
            body["status"] = json!("PENDING");
            if body.get("diskSizeGb").is_none() {
                body["diskSizeGb"] = json!("10");
            }
        }
        "globalForwardingRules" | "forwardingRules" => {
            let target = str_field(body, "target").to_string();
            if !target.is_empty() {
                body["target"] = json!(existing(world, &project, "resource.target", &target)?);
            } else if body.get("backendService").is_none() {
                return Err(invalid_field("resource.target", "", "A target or backend service is required."));
            }
            let ip = match body.get("IPAddress").and_then(Value::as_str) {
                Some(ip) if !ip.is_empty() => resolve_address(world, &project, place, ip)?,
                _ => world.compute.allocate_ip(kind.scope == super::Scope::Global),
            };
            body["IPAddress"] = json!(ip);
            for (field, default) in
                [("IPProtocol", "TCP"), ("loadBalancingScheme", "EXTERNAL"), ("networkTier", "PREMIUM")]
            {
                if body.get(field).is_none() {
                    body[field] = json!(default);
                }
            }
        }
        "backendServices" => {
            let checks: Vec<String> = body["healthChecks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let mut resolved = Vec::new();
            for c in checks {
                resolved.push(json!(existing(world, &project, "resource.healthChecks", &c)?));
            }
            if !resolved.is_empty() {
                body["healthChecks"] = Value::Array(resolved);
            }
            if let Some(backends) = body.get_mut("backends").and_then(Value::as_array_mut) {
                for backend in backends {
                    let group = str_field(backend, "group").to_string();
                    if group.contains("/networkEndpointGroups/") {
                        backend["group"] = json!(existing(world, &project, "resource.backends.group", &group)?);
                    }
                }
            }
            for (field, default) in [
                ("protocol", json!("HTTP")),
                ("port", json!(80)),
                ("portName", json!("http")),
                ("timeoutSec", json!(30)),
                ("loadBalancingScheme", json!("EXTERNAL")),
            ] {
                if body.get(field).is_none() {
                    body[field] = default;
                }
            }
        }
        "healthChecks" => {
            if body.get("type").is_none() {
                body["type"] = json!("HTTP");
            }
            for (field, default) in
                [("checkIntervalSec", 5), ("timeoutSec", 5), ("unhealthyThreshold", 2), ("healthyThreshold", 2)]
            {
                if body.get(field).is_none() {
                    body[field] = json!(default);
                }
            }
        }
        "targetHttpProxies" | "targetHttpsProxies" => {
            let url_map = str_field(body, "urlMap").to_string();
            body["urlMap"] = json!(existing(world, &project, "resource.urlMap", &url_map)?);
            if let Some(certs) = body.get("sslCertificates").and_then(Value::as_array).cloned() {
                let mut resolved = Vec::new();
                for c in certs.iter().filter_map(Value::as_str) {
                    resolved.push(json!(existing(world, &project, "resource.sslCertificates", c)?));
                }
                body["sslCertificates"] = Value::Array(resolved);
            } else if kind.id == "targetHttpsProxies" {
                return Err(invalid_field(
                    "resource.sslCertificates",
                    "",
                    "At least one SSL certificate must be specified.",
                ));
            }
        }
        "urlMaps" => {
            let default = str_field(body, "defaultService").to_string();
            if !default.is_empty() {
                body["defaultService"] = json!(existing(world, &project, "resource.defaultService", &default)?);
            }
        }
        "sslCertificates" => {
            if body.get("managed").is_some() {
                body["type"] = json!("MANAGED");
                body["managed"]["status"] = json!("PROVISIONING");
                let domains = body["managed"]["domains"].clone();
                let status: serde_json::Map<String, Value> = domains
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str())
                    .map(|d| (d.to_string(), json!("PROVISIONING")))
                    .collect();
                body["managed"]["domainStatus"] = Value::Object(status);
            } else {
                body["type"] = json!("SELF_MANAGED");
                if let Some(map) = body.as_object_mut() {
                    map.remove("privateKey");
                }
            }
        }
        "networkEndpointGroups" | "globalNetworkEndpointGroups" => {
            if body.get("networkEndpointType").is_none() {
                body["networkEndpointType"] = json!("GCE_VM_IP_PORT");
            }
            for field in ["network", "subnetwork"] {
                if let Some(v) = body.get(field).and_then(Value::as_str).map(str::to_string) {
                    body[field] = json!(existing(world, &project, &format!("resource.{field}"), &v)?);
                }
            }
            body["size"] = json!(0);
        }
        _ => {}
    }
    Ok(())
}

/// Checks for an update (PATCH/PUT): references still valid.
pub fn prepare_update(_app: &App, world: &mut World, kind: &Kind, place: &Place, body: &mut Value) -> ApiResult<()> {
    if kind.id == "routers" {
        check_nats(body)?;
    }
    if kind.id == "firewalls"
        && let Some(network) = body.get("network").and_then(Value::as_str).map(str::to_string)
    {
        body["network"] = json!(existing(world, place.project(), "resource.network", &network)?);
    }
    Ok(())
}

fn check_nats(body: &Value) -> ApiResult<()> {
    let mut names = std::collections::BTreeSet::new();
    for (i, nat) in body["nats"].as_array().into_iter().flatten().enumerate() {
        let name = str_field(nat, "name");
        if !util::is_rfc1035(name, 63) {
            return Err(invalid_field(
                &format!("resource.nats[{i}].name"),
                name,
                "Must be a match of regex '[a-z]([-a-z0-9]*[a-z0-9])?'",
            ));
        }
        if !names.insert(name.to_string()) {
            return Err(invalid_field(&format!("resource.nats[{i}].name"), name, "Duplicate NAT name."));
        }
        for field in ["natIpAllocateOption", "sourceSubnetworkIpRangesToNat"] {
            if str_field(nat, field).is_empty() {
                return Err(invalid_field(&format!("resource.nats[{i}].{field}"), "", "The field is required."));
            }
        }
    }
    Ok(())
}

fn prepare_subnet(world: &World, project: &str, place: &Place, body: &mut Value) -> ApiResult<()> {
    let network = str_field(body, "network").to_string();
    if network.is_empty() {
        return Err(invalid_field("resource.network", "", "The network is required."));
    }
    let network = existing(world, project, "resource.network", &network)?;
    body["network"] = json!(network);
    let range = str_field(body, "ipCidrRange").to_string();
    if parse_cidr(&range).is_none() {
        return Err(invalid_field("resource.ipCidrRange", &range, "Invalid IPCidrRange."));
    }
    let mut ranges = vec![("resource.ipCidrRange".to_string(), range.clone())];
    for (i, r) in body["secondaryIpRanges"].as_array().into_iter().flatten().enumerate() {
        let cidr = str_field(r, "ipCidrRange").to_string();
        if parse_cidr(&cidr).is_none() {
            return Err(invalid_field(
                &format!("resource.secondaryIpRanges[{i}].ipCidrRange"),
                &cidr,
                "Invalid IPCidrRange.",
            ));
        }
        ranges.push((format!("resource.secondaryIpRanges[{i}]"), cidr));
    }
    for (key, res) in &world.compute.resources {
        if res.kind != "Subnetwork" || res.value["network"] != json!(network) {
            continue;
        }
        let mut existing_ranges = vec![str_field(&res.value, "ipCidrRange").to_string()];
        existing_ranges.extend(
            res.value["secondaryIpRanges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| str_field(r, "ipCidrRange").to_string()),
        );
        for (_, new) in &ranges {
            if existing_ranges.iter().any(|e| overlaps(e, new)) {
                let region = key.split('/').nth(3).unwrap_or_default();
                return Err(ApiError::invalid(format!(
                    "Invalid IPCidrRange: {new} conflicts with existing subnetwork '{}' in region '{region}'.",
                    str_field(&res.value, "name")
                ))
                .with_reason("invalid"));
            }
        }
    }
    body["gatewayAddress"] = json!(gateway(&range));
    for (field, default) in
        [("privateIpGoogleAccess", json!(false)), ("purpose", json!("PRIVATE")), ("stackType", json!("IPV4_ONLY"))]
    {
        if body.get(field).is_none() {
            body[field] = default;
        }
    }
    let _ = place;
    Ok(())
}

fn prepare_address(app: &App, world: &mut World, kind: &Kind, place: &Place, body: &mut Value) -> ApiResult<()> {
    let global = kind.id == "globalAddresses";
    let address_type = body.get("addressType").and_then(Value::as_str).unwrap_or("EXTERNAL").to_string();
    body["addressType"] = json!(address_type);
    if address_type == "EXTERNAL" {
        let usage = quota::usage(world, place.project());
        let mut demand = quota::Usage::new();
        quota::add(&mut demand, &place.quota_scope(), "STATIC_ADDRESSES", 1.0);
        quota::check(&app.scenario(), &usage, &demand).map_err(|s| s.compute_error())?;
        if body.get("address").is_none() {
            body["address"] = json!(world.compute.allocate_ip(global));
        }
        if body.get("networkTier").is_none() {
            body["networkTier"] = json!("PREMIUM");
        }
    } else {
        if let Some(network) = body.get("network").and_then(Value::as_str).map(str::to_string) {
            body["network"] = json!(existing(world, place.project(), "resource.network", &network)?);
        }
        if let Some(subnet) = body.get("subnetwork").and_then(Value::as_str).map(str::to_string) {
            let url = existing(world, place.project(), "resource.subnetwork", &subnet)?;
            let range = world.compute.get(&url).map(|s| str_field(s, "ipCidrRange").to_string()).unwrap_or_default();
            body["subnetwork"] = json!(url);
            if body.get("address").is_none() {
                world.compute.next_ip += 1;
                body["address"] = json!(host(&range, 10 + world.compute.next_ip % 200));
            }
        }
        if body.get("address").is_none() {
            // Private services access ranges (purpose VPC_PEERING) get a /prefixLength block of 10.x.
            world.compute.next_ip += 1;
            body["address"] = json!(format!("10.{}.0.0", 20 + world.compute.next_ip % 200));
        }
    }
    if global && body.get("ipVersion").is_none() && address_type == "EXTERNAL" {
        body["ipVersion"] = json!("IPV4");
    }
    body["status"] = json!("RESERVING");
    Ok(())
}

fn prepare_disk(app: &App, world: &World, place: &Place, body: &mut Value) -> ApiResult<()> {
    let Place::Zone { zone, .. } = place else {
        return Ok(());
    };
    let project = place.project();
    let disk_type = match body.get("type").and_then(Value::as_str) {
        Some(t) => reference(project, "resource.type", t)?,
        None => format!("{BASE}projects/{project}/zones/{zone}/diskTypes/pd-standard"),
    };
    body["type"] = json!(disk_type);
    if let Some(image) = body.get("sourceImage").and_then(Value::as_str).map(str::to_string) {
        check_image(world, project, &image)?;
    }
    let size = body.get("sizeGb").and_then(util::as_u64).unwrap_or(10);
    body["sizeGb"] = json!(size.to_string());
    let metric = if disk_type.ends_with("pd-standard") { "DISKS_TOTAL_GB" } else { "SSD_TOTAL_GB" };
    let usage = quota::usage(world, project);
    let mut demand = quota::Usage::new();
    quota::add(&mut demand, &place.quota_scope(), metric, size as f64);
    quota::check(&app.scenario(), &usage, &demand).map_err(|s| s.compute_error())?;
    body["status"] = json!("CREATING");
    Ok(())
}

/// A public image (`projects/debian-cloud/global/images/family/debian-12`) or one of the project's.
fn check_image(world: &World, project: &str, image: &str) -> ApiResult<()> {
    let url = reference(project, "resource.sourceImage", image)?;
    let relative = &url[BASE.len()..];
    let parts: Vec<&str> = relative.split('/').collect();
    let image_project = parts.get(1).copied().unwrap_or_default();
    let public = catalog::PUBLIC_IMAGES.iter().any(|(p, family, name)| {
        *p == image_project
            && (relative.ends_with(&format!("family/{family}")) || relative.ends_with(&format!("images/{name}")))
    });
    if public || world.compute.get(relative).is_some() { Ok(()) } else { Err(not_found(relative)) }
}

fn prepare_instance(app: &App, world: &mut World, place: &Place, body: &mut Value) -> ApiResult<()> {
    let Place::Zone { zone, .. } = place else {
        return Ok(());
    };
    let project = place.project().to_string();
    let machine_url = reference(&project, "resource.machineType", str_field(body, "machineType"))?;
    let machine_name = machine_url.rsplit('/').next().unwrap_or_default().to_string();
    let machine =
        catalog::machine_type(&machine_name).map_err(|e| invalid_field("resource.machineType", &machine_name, &e))?;
    body["machineType"] = json!(machine_url);
    let preemptible = body["scheduling"]["preemptible"].as_bool().unwrap_or(false)
        || body["scheduling"]["provisioningModel"] == "SPOT";
    let scope = util::region_of(zone).to_string();
    let mut demand = quota::Usage::new();
    quota::add(&mut demand, &scope, "CPUS", machine.cpus as f64);
    quota::add(&mut demand, quota::GLOBAL, "CPUS_ALL_REGIONS", machine.cpus as f64);
    quota::add(&mut demand, &scope, "INSTANCES", 1.0);
    for accel in body["guestAccelerators"].as_array().cloned().unwrap_or_default() {
        let type_url =
            reference(&project, "resource.guestAccelerators.acceleratorType", str_field(&accel, "acceleratorType"))?;
        let accel_name = type_url.rsplit('/').next().unwrap_or_default().to_string();
        if !catalog::accelerator_exists(&accel_name) || !app.scenario().offers_accelerator(zone, &accel_name) {
            return Err(not_found(&format!("projects/{project}/zones/{zone}/acceleratorTypes/{accel_name}")));
        }
        catalog::accelerator_fits(&machine, &accel_name)
            .map_err(|e| invalid_field("resource.guestAccelerators", &accel_name, &e))?;
        if body["scheduling"]["onHostMaintenance"] != "TERMINATE" {
            return Err(invalid_field(
                "resource.scheduling.onHostMaintenance",
                body["scheduling"]["onHostMaintenance"].as_str().unwrap_or("MIGRATE"),
                "Instances with guest accelerators do not support live migration.",
            ));
        }
        let count = accel["acceleratorCount"].as_u64().unwrap_or(1) as f64;
        if let Some(metric) = catalog::gpu_metric(&accel_name, preemptible) {
            quota::add(&mut demand, &scope, &metric, count);
        }
        quota::add(&mut demand, quota::GLOBAL, "GPUS_ALL_REGIONS", count);
    }
    let interfaces = body["networkInterfaces"].as_array().cloned().unwrap_or_default();
    if interfaces.is_empty() {
        return Err(invalid_field("resource.networkInterfaces", "", "At least one network interface is required."));
    }
    let external_denied = app.scenario().org_policies.get("compute.vmExternalIpAccess").is_some_and(|v| v == "deny");
    let mut resolved = Vec::new();
    for (i, mut nic) in interfaces.into_iter().enumerate() {
        let network = nic.get("network").and_then(Value::as_str).unwrap_or("global/networks/default").to_string();
        nic["network"] = json!(existing(world, &project, "resource.networkInterfaces.network", &network)?);
        let subnet_url = match nic.get("subnetwork").and_then(Value::as_str) {
            Some(s) => existing(world, &project, "resource.networkInterfaces.subnetwork", s)?,
            None => format!(
                "{BASE}projects/{project}/regions/{scope}/subnetworks/{}",
                network.rsplit('/').next().unwrap_or("default")
            ),
        };
        let range = world
            .compute
            .get(&subnet_url)
            .map(|s| str_field(s, "ipCidrRange").to_string())
            .unwrap_or_else(|| "10.128.0.0/20".into());
        nic["subnetwork"] = json!(subnet_url);
        world.compute.next_ip += 1;
        nic["networkIP"] = json!(host(&range, 2 + world.compute.next_ip % 4000));
        nic["name"] = json!(format!("nic{i}"));
        if let Some(configs) = nic.get_mut("accessConfigs").and_then(Value::as_array_mut) {
            if !configs.is_empty() && external_denied {
                return Err(ApiError::new(
                    412,
                    format!(
                        "Constraint constraints/compute.vmExternalIpAccess violated for project {project}. Add instance projects/{project}/zones/{zone}/instances/{} to the constraint to use external IP with it.",
                        str_field(body, "name")
                    ),
                )
                .with_reason("conditionNotMet"));
            }
            for config in configs.iter_mut() {
                quota::add(&mut demand, &scope, "IN_USE_ADDRESSES", 1.0);
                if config.get("natIP").is_none() {
                    config["natIP"] = json!(world.compute.allocate_ip(false));
                }
                config["type"] = json!("ONE_TO_ONE_NAT");
            }
        }
        resolved.push(nic);
    }
    body["networkInterfaces"] = Value::Array(resolved);
    for disk in body["disks"].as_array().cloned().unwrap_or_default() {
        if let Some(image) = disk["initializeParams"]["sourceImage"].as_str() {
            check_image(world, &project, image)?;
            let size = disk["initializeParams"]["diskSizeGb"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(disk["initializeParams"]["diskSizeGb"].as_f64())
                .unwrap_or(10.0);
            let disk_type = disk["initializeParams"]["diskType"].as_str().unwrap_or("pd-standard");
            let metric = if disk_type.ends_with("pd-standard") { "DISKS_TOTAL_GB" } else { "SSD_TOTAL_GB" };
            quota::add(&mut demand, &scope, metric, size);
        }
    }
    let usage = quota::usage(world, &project);
    quota::check(&app.scenario(), &usage, &demand).map_err(|s| s.compute_error())?;
    body["status"] = json!("PROVISIONING");
    body["cpuPlatform"] = json!("Intel Broadwell");
    body["serialOutput"] = json!(boot_log(str_field(body, "name")));
    Ok(())
}

fn boot_log(name: &str) -> String {
    [
        "SeaBIOS (version 1.8.2-google)",
        "Booting from Hard Disk 0...",
        "[    0.000000] Linux version 6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org)",
        "[    1.234567] systemd[1]: Started google-guest-agent.service - Google Compute Engine Guest Agent.",
        "[    2.345678] google_metadata_script_runner: startup-script: ready",
        &format!("Debian GNU/Linux 12 {name} ttyS0"),
        &format!("{name} login: "),
    ]
    .join("\r\n")
}

/// Side effects at insert time (address users, boot disks).
pub fn after_insert(app: &App, world: &mut World, kind: &Kind, key: &str) {
    let Some(value) = world.compute.resources.get(key).map(|r| r.value.clone()) else {
        return;
    };
    let self_link = value["selfLink"].clone();
    match kind.id {
        "globalForwardingRules" | "forwardingRules" => {
            let ip = str_field(&value, "IPAddress").to_string();
            if let Some(addr) =
                world.compute.resources.values_mut().find(|r| r.kind == "Address" && r.value["address"] == json!(ip))
            {
                addr.value["users"] = json!([self_link]);
                addr.value["status"] = json!("IN_USE");
            }
        }
        "instances" => {
            let project = key.split('/').nth(1).unwrap_or_default().to_string();
            let zone = key.split('/').nth(3).unwrap_or_default().to_string();
            let mut disks = value["disks"].as_array().cloned().unwrap_or_default();
            for (i, disk) in disks.iter_mut().enumerate() {
                let disk_name = if let Some(source) = disk["source"].as_str() {
                    source.rsplit('/').next().unwrap_or_default().to_string()
                } else {
                    let name = disk["deviceName"].as_str().map(str::to_string).unwrap_or_else(|| {
                        if i == 0 {
                            str_field(&value, "name").to_string()
                        } else {
                            format!("{}-{i}", str_field(&value, "name"))
                        }
                    });
                    let disk_key = format!("projects/{project}/zones/{zone}/disks/{name}");
                    let params = &disk["initializeParams"];
                    let disk_value = json!({
                        "kind": "compute#disk", "id": app.numeric_id(), "creationTimestamp": crate::clock::now_rfc3339(),
                        "name": name, "sizeGb": params["diskSizeGb"].as_str().map(str::to_string).unwrap_or_else(|| params["diskSizeGb"].as_u64().unwrap_or(10).to_string()),
                        "zone": format!("{BASE}projects/{project}/zones/{zone}"), "status": "READY",
                        "sourceImage": params["sourceImage"], "type": format!("{BASE}projects/{project}/zones/{zone}/diskTypes/{}", params["diskType"].as_str().unwrap_or("pd-standard").rsplit('/').next().unwrap_or("pd-standard")),
                        "selfLink": format!("{BASE}{disk_key}"),
                    });
                    world.compute.insert_ready("Disk", disk_key, disk_value, false);
                    disk["autoDelete"] = json!(disk.get("autoDelete").and_then(Value::as_bool).unwrap_or(true));
                    name
                };
                let disk_key = format!("projects/{project}/zones/{zone}/disks/{disk_name}");
                disk["source"] = json!(format!("{BASE}{disk_key}"));
                disk["boot"] = json!(i == 0);
                if let Some(d) = world.compute.resources.get_mut(&disk_key) {
                    d.value["users"] = json!([self_link]);
                }
            }
            if let Some(r) = world.compute.resources.get_mut(key) {
                r.value["disks"] = Value::Array(disks);
            }
        }
        _ => {}
    }
}

/// The insert's operation finished: the resource becomes visible and reaches its ready status.
pub fn finish_insert(app: &Arc<App>, world: &mut World, key: &str) -> Result<(), ApiError> {
    let Some(res) = world.compute.resources.get_mut(key) else {
        return Ok(());
    };
    res.visible = true;
    res.ready = true;
    let ready = match res.kind {
        "Address" => Some(if res.value.get("users").is_some() { "IN_USE" } else { "RESERVED" }),
        "Disk" | "Image" => Some("READY"),
        "Instance" => Some("RUNNING"),
        _ => None,
    };
    if let Some(status) = ready {
        res.value["status"] = json!(status);
    }
    if res.kind == "Instance" {
        super::builder::on_running(app, world, key);
        return Ok(());
    }
    if res.kind == "Network" && res.value["autoCreateSubnetworks"] == json!(true) {
        let project = key.split('/').nth(1).unwrap_or_default().to_string();
        let name = res.value["name"].as_str().unwrap_or_default().to_string();
        let link = res.value["selfLink"].clone();
        auto_subnets(app, &mut world.compute, &project, &name, &link);
    }
    Ok(())
}

pub fn deleting_status(kind: &str) -> &'static str {
    match kind {
        "Instance" => "STOPPING",
        _ => "DELETING",
    }
}

/// Who uses the resource at `key` (blocking its deletion), as a relative path.
pub fn used_by(world: &World, key: &str, res: &Res) -> Option<String> {
    if let Some(user) = res.value["users"].as_array().and_then(|u| u.first()).and_then(Value::as_str) {
        return Some(user.strip_prefix(BASE).unwrap_or(user).to_string());
    }
    let link = format!("{BASE}{key}");
    let project_prefix = format!("projects/{}/", key.split('/').nth(1).unwrap_or_default());
    let auto_network = res.kind == "Network";
    for (other_key, other) in
        world.compute.resources.range(project_prefix.clone()..).take_while(|(k, _)| k.starts_with(&project_prefix))
    {
        if other_key == key || !other.visible || other.deleting {
            continue;
        }
        if auto_network && other.auto && other.value["network"] == json!(link) {
            continue;
        }
        if references(&other.value, &link) {
            return Some(other_key.clone());
        }
    }
    crate::google::container::network_user(world, key)
}

fn references(value: &Value, link: &str) -> bool {
    match value {
        Value::String(s) => s == link,
        Value::Array(items) => items.iter().any(|v| references(v, link)),
        Value::Object(map) => map
            .iter()
            // An image or disk made from a source is a copy: it does not hold its source.
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "selfLink"
                        | "users"
                        | "id"
                        | "region"
                        | "zone"
                        | "kind"
                        | "sourceDisk"
                        | "sourceImage"
                        | "sourceSnapshot"
                )
            })
            .any(|(_, v)| references(v, link)),
        _ => false,
    }
}

/// Removes a resource and what goes with it.
pub fn remove(world: &mut World, key: &str) {
    let Some(res) = world.compute.resources.remove(key) else {
        return;
    };
    let link = res.value["selfLink"].clone();
    match res.kind {
        "Network" => world.compute.resources.retain(|_, r| !(r.auto && r.value["network"] == link)),
        "ForwardingRule" => {
            for addr in world.compute.resources.values_mut().filter(|r| r.kind == "Address") {
                if addr.value["users"].as_array().is_some_and(|u| u.contains(&link)) {
                    if let Some(map) = addr.value.as_object_mut() {
                        map.remove("users");
                    }
                    addr.value["status"] = json!("RESERVED");
                }
            }
        }
        "Instance" => {
            for disk in res.value["disks"].as_array().into_iter().flatten() {
                let Some(source) = disk["source"].as_str().and_then(|s| s.strip_prefix(BASE)) else {
                    continue;
                };
                if disk["autoDelete"] == json!(true) {
                    world.compute.resources.remove(source);
                } else if let Some(d) = world.compute.resources.get_mut(source)
                    && let Some(map) = d.value.as_object_mut()
                {
                    map.remove("users");
                }
            }
        }
        _ => {}
    }
}

/// A response copy with derived fields (a network's subnetworks).
pub fn output(world: &World, value: &Value) -> Value {
    let mut out = value.clone();
    if value["kind"] == "compute#network" {
        let link = &value["selfLink"];
        let subnets: Vec<Value> = world
            .compute
            .resources
            .values()
            .filter(|r| r.kind == "Subnetwork" && r.visible && &r.value["network"] == link)
            .map(|r| r["selfLink"].clone())
            .collect();
        if !subnets.is_empty() {
            out["subnetworks"] = Value::Array(subnets);
        }
        let path = link.as_str().unwrap_or_default().strip_prefix(BASE).unwrap_or_default();
        let parts: Vec<&str> = path.split('/').collect();
        if let [_, project, _, _, network] = parts.as_slice() {
            let peerings = super::vpc::peering_json(world, project, network);
            if peerings.as_array().is_some_and(|p| !p.is_empty()) {
                out["peerings"] = peerings;
            }
        }
    }
    if let Some(map) = out.as_object_mut() {
        map.remove("serialOutput");
    }
    out
}

impl std::ops::Index<&str> for Res {
    type Output = Value;
    fn index(&self, field: &str) -> &Value {
        &self.value[field]
    }
}

/// Quota usage of one compute resource.
pub fn usage(value: &Value, collection: &str, scope: &str, usage: &mut quota::Usage) {
    match collection {
        "instances" if value["status"] != "TERMINATED" => {
            let machine = str_field(value, "machineType").rsplit('/').next().unwrap_or_default();
            let cpus = catalog::machine_type(machine).map(|m| m.cpus).unwrap_or(0) as f64;
            quota::add(usage, scope, "CPUS", cpus);
            quota::add(usage, quota::GLOBAL, "CPUS_ALL_REGIONS", cpus);
            quota::add(usage, scope, "INSTANCES", 1.0);
            let preemptible = value["scheduling"]["preemptible"].as_bool().unwrap_or(false)
                || value["scheduling"]["provisioningModel"] == "SPOT";
            for accel in value["guestAccelerators"].as_array().into_iter().flatten() {
                let name = str_field(accel, "acceleratorType").rsplit('/').next().unwrap_or_default();
                let count = accel["acceleratorCount"].as_u64().unwrap_or(1) as f64;
                if let Some(metric) = catalog::gpu_metric(name, preemptible) {
                    quota::add(usage, scope, &metric, count);
                }
                quota::add(usage, quota::GLOBAL, "GPUS_ALL_REGIONS", count);
            }
            for nic in value["networkInterfaces"].as_array().into_iter().flatten() {
                let n = nic["accessConfigs"].as_array().map(Vec::len).unwrap_or(0) as f64;
                quota::add(usage, scope, "IN_USE_ADDRESSES", n);
            }
        }
        "disks" => {
            let size = util::as_u64(&value["sizeGb"]).unwrap_or(0) as f64;
            let metric =
                if str_field(value, "type").ends_with("pd-standard") { "DISKS_TOTAL_GB" } else { "SSD_TOTAL_GB" };
            quota::add(usage, scope, metric, size);
        }
        "addresses" if value["addressType"] == "EXTERNAL" => {
            quota::add(usage, scope, "STATIC_ADDRESSES", 1.0);
        }
        _ => {}
    }
}

fn instance_key(call: &Call) -> String {
    format!("{}/instances/{}", Place::of(call).path(), call.param("name"))
}

pub fn serial_port(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = instance_key(call);
    let world = app.world();
    let res = world.compute.resources.get(&key).filter(|r| r.visible).ok_or_else(|| not_found(&key))?;
    let contents = res.value["serialOutput"].as_str().unwrap_or_default();
    let start = call.query("start").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0).min(contents.len());
    Ok(Reply::json(json!({
        "kind": "compute#serialPortOutput",
        "contents": contents.get(start..).unwrap_or_default(),
        "start": start.to_string(),
        "next": contents.len().to_string(),
        "selfLink": format!("{BASE}{key}/serialPort"),
    })))
}

/// `instances.setDiskAutoDelete?autoDelete=BOOL&deviceName=NAME` (both required): whether the
/// attached disk goes with the instance.
pub fn set_disk_auto_delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = instance_key(call);
    let place = Place::of(call);
    let required = |name: &str| ApiError::invalid(format!("Required parameter: {name}")).with_reason("required");
    let auto_delete = match call.query("autoDelete") {
        Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(invalid_field("autoDelete", other, "Expected true or false.")),
        None => return Err(required("autoDelete")),
    };
    let device = call.query("deviceName").ok_or_else(|| required("deviceName"))?.to_string();
    let mut world = app.world();
    let res = world.compute.resources.get_mut(&key).filter(|r| r.visible).ok_or_else(|| not_found(&key))?;
    if !res.ready || res.deleting {
        return Err(ApiError::invalid(format!("The resource '{key}' is not ready")).with_reason("resourceNotReady"));
    }
    let disk = res.value["disks"]
        .as_array_mut()
        .and_then(|disks| disks.iter_mut().find(|d| d["deviceName"] == json!(device)))
        .ok_or_else(|| invalid_field("deviceName", &device, "No attached disk has this device name."))?;
    disk["autoDelete"] = json!(auto_delete);
    let target = res.value.clone();
    let op = super::ops::done(app, &mut world, &place, "setDiskAutoDelete", &target);
    Ok(Reply::json(op))
}

pub fn start_instance(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    power(app, call, "start", "RUNNING")
}

pub fn stop_instance(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    power(app, call, "stop", "TERMINATED")
}

fn power(app: &Arc<App>, call: &Call, op_type: &str, status: &'static str) -> ApiResult<Reply> {
    let key = instance_key(call);
    let place = Place::of(call);
    let mut world = app.world();
    let res = world.compute.resources.get_mut(&key).filter(|r| r.visible).ok_or_else(|| not_found(&key))?;
    res.value["status"] = json!(if status == "RUNNING" { "STAGING" } else { "STOPPING" });
    let target = res.value.clone();
    let op = super::ops::start(app, &mut world, &place, op_type, &target);
    let op_done = op.clone();
    app.after(app.latency(call.id, 20.0), move |_, world| {
        if let Some(r) = world.compute.resources.get_mut(&key) {
            r.value["status"] = json!(status);
        }
        super::ops::finish(world, &op_done, Ok(()));
    });
    Ok(Reply::json(op))
}

pub fn image_from_family(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = call.param("project");
    let family = call.param("family");
    if let Some((p, f, name)) = catalog::PUBLIC_IMAGES.iter().find(|(p, f, _)| *p == project && *f == family) {
        return Ok(Reply::json(catalog::public_image_json(p, f, name)));
    }
    let prefix = format!("projects/{project}/global/images/");
    let world = app.world();
    world
        .compute
        .resources
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, r)| r.visible && r.value["family"] == json!(family) && r.value.get("deprecated").is_none())
        .map(|(_, r)| r.value.clone())
        .max_by(|a, b| str_field(a, "creationTimestamp").cmp(str_field(b, "creationTimestamp")))
        .map(Reply::json)
        .ok_or_else(|| not_found(&format!("projects/{project}/global/images/family/{family}")))
}

/// A forwarding rule's `IPAddress`: an IP, or a reference to a reserved address.
fn resolve_address(world: &World, project: &str, place: &Place, value: &str) -> ApiResult<String> {
    if value.parse::<Ipv4Addr>().is_ok() {
        return Ok(value.to_string());
    }
    let url = reference(project, "resource.IPAddress", value)?;
    let relative = &url[BASE.len()..];
    let _ = place;
    world.compute.get(relative).map(|a| str_field(a, "address").to_string()).ok_or_else(|| not_found(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_math() {
        assert!(overlaps("10.128.0.0/20", "10.128.8.0/24"));
        assert!(!overlaps("10.128.0.0/20", "10.132.0.0/20"));
        assert_eq!(host("10.128.0.0/20", 1), "10.128.0.1");
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }

    #[test]
    fn references_must_be_urls_or_paths() {
        assert_eq!(
            reference("p", "resource.network", "global/networks/default").unwrap(),
            format!("{BASE}projects/p/global/networks/default")
        );
        assert!(reference("p", "resource.network", "default").is_err());
        assert_eq!(
            reference("p", "f", "https://compute.googleapis.com/compute/v1/projects/p/global/networks/n").unwrap(),
            format!("{BASE}projects/p/global/networks/n")
        );
    }
}
