//! Compute Engine v1 (`/compute/compute/v1/projects/...`): discovery-style resources with string
//! enums, compute operations, quotas, the machine/accelerator catalog, and the load-balancer
//! pieces a GKE Ingress creates.

mod builder;
pub mod catalog;
pub mod csi;
mod info;
pub mod kinds;
pub mod lb;
pub mod ops;
pub mod quota;
pub mod vpc;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use http::Method;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::google::{World, state_entry, util};
use crate::route::{Call, Reply, Route, route, route_async};

/// Where compute's selfLinks point, as on Google.
pub const BASE: &str = "https://www.googleapis.com/compute/v1/";

/// The scope of a compute resource or operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Global { project: String },
    Region { project: String, region: String },
    Zone { project: String, zone: String },
}

impl Place {
    pub fn of(call: &Call) -> Self {
        let project = call.param("project").to_string();
        if let Some(zone) = call.params.get("zone") {
            Place::Zone { project, zone: zone.clone() }
        } else if let Some(region) = call.params.get("region") {
            Place::Region { project, region: region.clone() }
        } else {
            Place::Global { project }
        }
    }

    pub fn project(&self) -> &str {
        match self {
            Place::Global { project } | Place::Region { project, .. } | Place::Zone { project, .. } => project,
        }
    }

    /// `projects/p/global`, `projects/p/regions/r`, `projects/p/zones/z`.
    pub fn path(&self) -> String {
        match self {
            Place::Global { project } => format!("projects/{project}/global"),
            Place::Region { project, region } => format!("projects/{project}/regions/{region}"),
            Place::Zone { project, zone } => format!("projects/{project}/zones/{zone}"),
        }
    }

    /// The quota scope: the region, or `global`.
    pub fn quota_scope(&self) -> String {
        match self {
            Place::Global { .. } => quota::GLOBAL.to_string(),
            Place::Region { region, .. } => region.clone(),
            Place::Zone { zone, .. } => util::region_of(zone).to_string(),
        }
    }

    fn check_exists(&self) -> ApiResult<()> {
        match self {
            Place::Region { region, .. } if !catalog::region_exists(region) => {
                Err(not_found(&format!("projects/{}/regions/{region}", self.project())))
            }
            Place::Zone { zone, .. } if !catalog::zone_exists(zone) => {
                Err(not_found(&format!("projects/{}/zones/{zone}", self.project())))
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    Global,
    Region,
    Zone,
}

/// One kind of compute resource and how it behaves.
pub struct Kind {
    /// The Discovery resource (`globalAddresses`).
    pub id: &'static str,
    /// The path collection (`addresses`).
    pub collection: &'static str,
    pub scope: Scope,
    /// `Address` (the `/_emulator/state` kind; `compute#address` in responses).
    pub kind: &'static str,
    pub create_secs: f64,
    pub delete_secs: f64,
    /// Methods beyond list/get/insert/delete.
    pub extra: &'static [&'static str],
    /// Shown (with its creating status) while the insert runs; else only once created.
    pub visible_while_creating: bool,
    /// Project-wide count quota, if any.
    pub quota: Option<&'static str>,
}

pub const KINDS: &[Kind] = &[
    Kind {
        id: "networks",
        collection: "networks",
        scope: Scope::Global,
        kind: "Network",
        create_secs: 20.0,
        delete_secs: 20.0,
        extra: &["patch"],
        visible_while_creating: false,
        quota: Some("NETWORKS"),
    },
    Kind {
        id: "subnetworks",
        collection: "subnetworks",
        scope: Scope::Region,
        kind: "Subnetwork",
        create_secs: 15.0,
        delete_secs: 15.0,
        extra: &["patch"],
        visible_while_creating: false,
        quota: Some("SUBNETWORKS"),
    },
    Kind {
        id: "firewalls",
        collection: "firewalls",
        scope: Scope::Global,
        kind: "Firewall",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["patch", "update"],
        visible_while_creating: false,
        quota: Some("FIREWALLS"),
    },
    Kind {
        id: "globalAddresses",
        collection: "addresses",
        scope: Scope::Global,
        kind: "Address",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["setLabels"],
        visible_while_creating: true,
        quota: None,
    },
    Kind {
        id: "addresses",
        collection: "addresses",
        scope: Scope::Region,
        kind: "Address",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["setLabels"],
        visible_while_creating: true,
        quota: None,
    },
    Kind {
        id: "routers",
        collection: "routers",
        scope: Scope::Region,
        kind: "Router",
        create_secs: 20.0,
        delete_secs: 15.0,
        extra: &["patch", "update"],
        visible_while_creating: false,
        quota: Some("ROUTERS"),
    },
    Kind {
        id: "disks",
        collection: "disks",
        scope: Scope::Zone,
        kind: "Disk",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["setLabels"],
        visible_while_creating: true,
        quota: None,
    },
    Kind {
        id: "instances",
        collection: "instances",
        scope: Scope::Zone,
        kind: "Instance",
        create_secs: 30.0,
        delete_secs: 60.0,
        extra: &["setLabels", "start", "stop", "getSerialPortOutput"],
        visible_while_creating: true,
        quota: None,
    },
    Kind {
        id: "images",
        collection: "images",
        scope: Scope::Global,
        kind: "Image",
        create_secs: 60.0,
        delete_secs: 20.0,
        extra: &["patch", "setLabels", "getFromFamily"],
        visible_while_creating: true,
        quota: Some("IMAGES"),
    },
    Kind {
        id: "globalForwardingRules",
        collection: "forwardingRules",
        scope: Scope::Global,
        kind: "ForwardingRule",
        create_secs: 20.0,
        delete_secs: 20.0,
        extra: &["patch", "setLabels"],
        visible_while_creating: false,
        quota: Some("FORWARDING_RULES"),
    },
    Kind {
        id: "forwardingRules",
        collection: "forwardingRules",
        scope: Scope::Region,
        kind: "ForwardingRule",
        create_secs: 20.0,
        delete_secs: 20.0,
        extra: &["patch", "setLabels"],
        visible_while_creating: false,
        quota: None,
    },
    Kind {
        id: "backendServices",
        collection: "backendServices",
        scope: Scope::Global,
        kind: "BackendService",
        create_secs: 20.0,
        delete_secs: 20.0,
        extra: &["patch", "update"],
        visible_while_creating: false,
        quota: Some("BACKEND_SERVICES"),
    },
    Kind {
        id: "networkEndpointGroups",
        collection: "networkEndpointGroups",
        scope: Scope::Zone,
        kind: "NetworkEndpointGroup",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &[],
        visible_while_creating: false,
        quota: None,
    },
    Kind {
        id: "globalNetworkEndpointGroups",
        collection: "networkEndpointGroups",
        scope: Scope::Global,
        kind: "NetworkEndpointGroup",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &[],
        visible_while_creating: false,
        quota: None,
    },
    Kind {
        id: "healthChecks",
        collection: "healthChecks",
        scope: Scope::Global,
        kind: "HealthCheck",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["patch", "update"],
        visible_while_creating: false,
        quota: Some("HEALTH_CHECKS"),
    },
    Kind {
        id: "targetHttpProxies",
        collection: "targetHttpProxies",
        scope: Scope::Global,
        kind: "TargetHttpProxy",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["patch"],
        visible_while_creating: false,
        quota: Some("TARGET_HTTP_PROXIES"),
    },
    Kind {
        id: "targetHttpsProxies",
        collection: "targetHttpsProxies",
        scope: Scope::Global,
        kind: "TargetHttpsProxy",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["patch"],
        visible_while_creating: false,
        quota: Some("TARGET_HTTPS_PROXIES"),
    },
    Kind {
        id: "urlMaps",
        collection: "urlMaps",
        scope: Scope::Global,
        kind: "UrlMap",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &["patch", "update"],
        visible_while_creating: false,
        quota: Some("URL_MAPS"),
    },
    Kind {
        id: "routes",
        collection: "routes",
        scope: Scope::Global,
        kind: "Route",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &[],
        visible_while_creating: false,
        quota: Some("ROUTES"),
    },
    Kind {
        id: "sslCertificates",
        collection: "sslCertificates",
        scope: Scope::Global,
        kind: "SslCertificate",
        create_secs: 10.0,
        delete_secs: 10.0,
        extra: &[],
        visible_while_creating: false,
        quota: Some("SSL_CERTIFICATES"),
    },
];

pub fn kind_by_id(id: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.id == id)
}

/// The kind a method id (`compute.firewalls.insert`) acts on.
fn kind_of(call: &Call) -> &'static Kind {
    let resource = call.id.split('.').nth(1).unwrap_or_default();
    // Every generated route names a kind of KINDS.
    kind_by_id(resource).unwrap_or(&KINDS[0])
}

/// A stored compute resource.
#[derive(Debug, Clone)]
pub struct Res {
    pub kind: &'static str,
    pub value: Value,
    /// False while its insert runs, for kinds not shown until created.
    pub visible: bool,
    /// True once the insert finished (deletes and patches need it).
    pub ready: bool,
    pub deleting: bool,
    /// Auto-mode subnetworks go away with their network.
    pub auto: bool,
}

#[derive(Default)]
pub struct State {
    /// By relative path (`projects/p/global/firewalls/x`).
    pub resources: BTreeMap<String, Res>,
    /// By relative path (`projects/p/global/operations/operation-...`).
    pub ops: BTreeMap<String, Value>,
    /// Projects whose default network was created.
    seeded: BTreeSet<String>,
    /// Load-balancer pieces per `cluster/namespace/ingress`.
    pub load_balancers: BTreeMap<String, Vec<String>>,
    next_ip: u32,
}

impl State {
    pub fn state(&self, out: &mut Vec<Value>) {
        for (key, res) in &self.resources {
            if !res.visible {
                continue;
            }
            let status = res
                .value
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| if res.deleting { "DELETING".into() } else { "READY".into() });
            out.push(state_entry("compute", res.kind, key, &status, &res.value["labels"]));
        }
    }

    /// A fresh address from Google's external ranges (34.x for global, 35.x for regional).
    /// An external address, unique in the project: a loopback address (127.34.0.0/16 global,
    /// 127.35.0.0/16 regional), since a test might dial it.
    pub fn allocate_ip(&mut self, global: bool) -> String {
        self.next_ip += 1;
        let n = self.next_ip + 1;
        let second = if global { 34 } else { 35 };
        format!("127.{second}.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    /// A resource by relative path or full URL, if visible.
    pub fn get(&self, reference: &str) -> Option<&Value> {
        let key = reference.strip_prefix(BASE).unwrap_or(reference);
        self.resources.get(key).filter(|r| r.visible).map(|r| &r.value)
    }

    /// Creates the `default` network, its auto-mode subnetworks and default firewall rules,
    /// as Google does for a new project (unless `compute.skipDefaultNetworkCreation` is enforced).
    pub fn seed(&mut self, app: &App, project: &str) {
        if !self.seeded.insert(project.to_string()) {
            return;
        }
        if app.scenario().org_policies.get("compute.skipDefaultNetworkCreation").is_some_and(|v| v == "deny") {
            return;
        }
        let network = kinds::network_json(app, project, "default", true, "Default network for the project");
        let network_link = network["selfLink"].clone();
        self.insert_ready("Network", format!("projects/{project}/global/networks/default"), network, false);
        kinds::auto_subnets(app, self, project, "default", &network_link);
        let subnet_ranges: Vec<&str> = catalog::REGIONS.iter().map(|(_, _, range)| *range).collect();
        for (key, route) in vpc::default_routes(app, project, "default", &subnet_ranges) {
            self.insert_ready("Route", key, route, false);
        }
        for (name, allowed, ranges, priority) in [
            ("default-allow-icmp", json!([{ "IPProtocol": "icmp" }]), json!(["0.0.0.0/0"]), 65534),
            (
                "default-allow-internal",
                json!([{ "IPProtocol": "tcp", "ports": ["0-65535"] }, { "IPProtocol": "udp", "ports": ["0-65535"] }, { "IPProtocol": "icmp" }]),
                json!(["10.128.0.0/9"]),
                65534,
            ),
            ("default-allow-rdp", json!([{ "IPProtocol": "tcp", "ports": ["3389"] }]), json!(["0.0.0.0/0"]), 65534),
            ("default-allow-ssh", json!([{ "IPProtocol": "tcp", "ports": ["22"] }]), json!(["0.0.0.0/0"]), 65534),
        ] {
            let key = format!("projects/{project}/global/firewalls/{name}");
            let value = json!({
                "kind": "compute#firewall", "id": app.numeric_id(), "creationTimestamp": now_rfc3339(),
                "name": name, "description": "", "network": network_link, "priority": priority,
                "sourceRanges": ranges, "allowed": allowed, "direction": "INGRESS",
                "logConfig": { "enable": false }, "disabled": false, "selfLink": format!("{BASE}{key}"),
            });
            self.insert_ready("Firewall", key, value, false);
        }
    }

    pub fn insert_ready(&mut self, kind: &'static str, key: String, value: Value, auto: bool) {
        self.resources.insert(key, Res { kind, value, visible: true, ready: true, deleting: false, auto });
    }
}

/// Compute's not-found error for a relative path.
pub fn not_found(path: &str) -> ApiError {
    ApiError::not_found(format!("The resource '{path}' was not found")).with_reason("notFound")
}

fn already_exists(path: &str) -> ApiError {
    ApiError::already_exists(format!("The resource '{path}' already exists")).with_reason("alreadyExists")
}

pub fn invalid_field(field: &str, value: &str, why: &str) -> ApiError {
    ApiError::invalid(format!("Invalid value for field '{field}': '{value}'. {why}")).with_reason("invalid")
}

/// `{"kind":"compute#xList","id":...,"items":[...],"selfLink":...}`; `items` omitted when empty, as Google does.
pub fn list_body(kind: &str, prefix: &str, items: Vec<Value>) -> Value {
    let id = prefix.trim_end_matches('/');
    let mut body = json!({ "kind": kind, "id": id, "selfLink": format!("{BASE}{id}") });
    if !items.is_empty() {
        body["items"] = Value::Array(items);
    }
    body
}

pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        route(Method::GET, "compute/v1/projects/{project}", "compute.projects.get", info::project),
        route(Method::GET, "compute/v1/projects/{project}/regions", "compute.regions.list", info::regions),
        route(
            Method::GET,
            "compute/v1/projects/{project}/aggregated/subnetworks",
            "compute.subnetworks.aggregatedList",
            vpc::aggregated_subnetworks,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/global/networks/{name}/listPeeringRoutes",
            "compute.networks.listPeeringRoutes",
            vpc::list_peering_routes,
        ),
        route(Method::GET, "compute/v1/projects/{project}/regions/{region}", "compute.regions.get", info::region),
        route(Method::GET, "compute/v1/projects/{project}/zones", "compute.zones.list", info::zones),
        route(Method::GET, "compute/v1/projects/{project}/zones/{zone}", "compute.zones.get", info::zone),
        route(
            Method::GET,
            "compute/v1/projects/{project}/zones/{zone}/machineTypes",
            "compute.machineTypes.list",
            info::machine_types,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/zones/{zone}/machineTypes/{machineType}",
            "compute.machineTypes.get",
            info::machine_type,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/zones/{zone}/acceleratorTypes",
            "compute.acceleratorTypes.list",
            info::accelerator_types,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/zones/{zone}/acceleratorTypes/{acceleratorType}",
            "compute.acceleratorTypes.get",
            info::accelerator_type,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/global/images/family/{family}",
            "compute.images.getFromFamily",
            kinds::image_from_family,
        ),
        route(
            Method::GET,
            "compute/v1/projects/{project}/zones/{zone}/instances/{name}/serialPort",
            "compute.instances.getSerialPortOutput",
            kinds::serial_port,
        ),
        route(
            Method::POST,
            "compute/v1/projects/{project}/zones/{zone}/instances/{name}/setDiskAutoDelete",
            "compute.instances.setDiskAutoDelete",
            kinds::set_disk_auto_delete,
        ),
        route(
            Method::POST,
            "compute/v1/projects/{project}/zones/{zone}/instances/{name}/start",
            "compute.instances.start",
            kinds::start_instance,
        ),
        route(
            Method::POST,
            "compute/v1/projects/{project}/zones/{zone}/instances/{name}/stop",
            "compute.instances.stop",
            kinds::stop_instance,
        ),
    ];
    for (scope, prefix, id) in [
        ("global", "compute/v1/projects/{project}/global/operations", "globalOperations"),
        ("region", "compute/v1/projects/{project}/regions/{region}/operations", "regionOperations"),
        ("zone", "compute/v1/projects/{project}/zones/{zone}/operations", "zoneOperations"),
    ] {
        let _ = scope;
        let item = leak(format!("{prefix}/{{operation}}"));
        routes.push(route(Method::GET, leak(prefix.to_string()), leak(format!("compute.{id}.list")), ops::list));
        routes.push(route(Method::GET, item, leak(format!("compute.{id}.get")), ops::get));
        routes.push(route(Method::DELETE, item, leak(format!("compute.{id}.delete")), ops::delete));
        routes.push(route_async(
            Method::POST,
            leak(format!("{prefix}/{{operation}}/wait")),
            leak(format!("compute.{id}.wait")),
            ops::wait,
        ));
    }
    for kind in KINDS {
        let scope = match kind.scope {
            Scope::Global => "global",
            Scope::Region => "regions/{region}",
            Scope::Zone => "zones/{zone}",
        };
        let collection = leak(format!("compute/v1/projects/{{project}}/{scope}/{}", kind.collection));
        let item = leak(format!("{collection}/{{name}}"));
        let id = |verb: &str| leak(format!("compute.{}.{verb}", kind.id));
        routes.push(route(Method::GET, collection, id("list"), list));
        routes.push(route(Method::POST, collection, id("insert"), insert));
        routes.push(route(Method::GET, item, id("get"), get));
        routes.push(route(Method::DELETE, item, id("delete"), delete));
        for extra in kind.extra {
            match *extra {
                "patch" => routes.push(route(Method::PATCH, item, id("patch"), patch)),
                "update" => routes.push(route(Method::PUT, item, id("update"), update)),
                "setLabels" => {
                    routes.push(route(Method::POST, leak(format!("{item}/setLabels")), id("setLabels"), set_labels))
                }
                _ => {}
            }
        }
    }
    routes
}

/// Route templates are built once per process (the route table is a `OnceLock`), so leaking
/// their text is bounded and lets them be `&'static str` like the hand-written ones.
fn leak(s: String) -> &'static str {
    static LEAKED: OnceLock<std::sync::Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let set = LEAKED.get_or_init(Default::default);
    let mut set = crate::reqlog::lock(set);
    if let Some(existing) = set.get(s.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    set.insert(leaked);
    leaked
}

fn key_of(call: &Call, kind: &Kind) -> String {
    format!("{}/{}/{}", Place::of(call).path(), kind.collection, call.param("name"))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let place = Place::of(call);
    place.check_exists()?;
    let prefix = format!("{}/{}/", place.path(), kind.collection);
    let mut world = app.world();
    world.compute.seed(app, place.project());
    let filter = Filter::parse(call.query("filter").unwrap_or_default());
    let items: Vec<Value> = world
        .compute
        .resources
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, r)| r.visible && !k[prefix.len()..].contains('/'))
        .map(|(_, r)| kinds::output(&world, &r.value))
        .filter(|v| filter.matches(v))
        .collect();
    let (items, next) = util::paginate(items, call.query("maxResults"), call.query("pageToken"))?;
    let mut body = list_body(&format!("compute#{}List", lower_first(kind.kind)), &prefix, items);
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let key = key_of(call, kind);
    let mut world = app.world();
    world.compute.seed(app, call.param("project"));
    match world.compute.resources.get(&key).filter(|r| r.visible) {
        Some(res) => Ok(Reply::json(kinds::output(&world, &res.value))),
        None => Err(not_found(&key)),
    }
}

fn insert(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let place = Place::of(call);
    place.check_exists()?;
    let mut body = call.body.clone();
    if !body.is_object() {
        return Err(ApiError::invalid("Required field 'resource' not specified").with_reason("required"));
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid("Required field 'resource.name' not specified").with_reason("required"));
    }
    if !util::is_rfc1035(&name, 63) {
        return Err(invalid_field(
            "resource.name",
            &name,
            "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})'",
        ));
    }
    util::check_labels(&body["labels"])?;
    let key = format!("{}/{}/{name}", place.path(), kind.collection);
    let mut world = app.world();
    world.compute.seed(app, place.project());
    if world.compute.resources.contains_key(&key) {
        return Err(already_exists(&key));
    }
    if let Some(metric) = kind.quota {
        let usage = quota::usage(&world, place.project());
        let mut demand = quota::Usage::new();
        quota::add(&mut demand, quota::GLOBAL, metric, 1.0);
        quota::check(&app.scenario(), &usage, &demand).map_err(|s| s.compute_error())?;
    }
    kinds::prepare(app, &mut world, kind, &place, &mut body, call.query("forceCreate") == Some("true"))?;
    let obj = body.as_object_mut().ok_or_else(|| ApiError::invalid("resource must be an object"))?;
    obj.insert("kind".into(), json!(format!("compute#{}", lower_first(kind.kind))));
    obj.insert("id".into(), json!(app.numeric_id()));
    obj.insert("creationTimestamp".into(), json!(now_rfc3339()));
    obj.insert("selfLink".into(), json!(format!("{BASE}{key}")));
    match &place {
        Place::Region { region, .. } => {
            obj.insert("region".into(), json!(format!("{BASE}projects/{}/regions/{region}", place.project())));
        }
        Place::Zone { zone, .. } => {
            obj.insert("zone".into(), json!(format!("{BASE}projects/{}/zones/{zone}", place.project())));
        }
        Place::Global { .. } => {}
    }
    if body.get("labels").is_some() {
        body["labelFingerprint"] = json!(util::etag(app.next()));
    }
    body["fingerprint"] = json!(util::etag(app.next()));
    let op = ops::start(app, &mut world, &place, "insert", &body);
    world.compute.resources.insert(
        key.clone(),
        Res {
            kind: kind.kind,
            value: body,
            visible: kind.visible_while_creating,
            ready: false,
            deleting: false,
            auto: false,
        },
    );
    kinds::after_insert(app, &mut world, kind, &key);
    let delay = app.latency(call.id, kind.create_secs);
    let op_done = op.clone();
    app.after(delay, move |app, world| {
        let outcome = kinds::finish_insert(app, world, &key);
        ops::finish(world, &op_done, outcome);
    });
    Ok(Reply::json(op))
}

fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let place = Place::of(call);
    let key = key_of(call, kind);
    let mut world = app.world();
    world.compute.seed(app, place.project());
    let res = match world.compute.resources.get(&key).filter(|r| r.visible) {
        Some(res) => res.clone(),
        None => return Err(not_found(&key)),
    };
    if !res.ready || res.deleting {
        return Err(ApiError::invalid(format!("The resource '{key}' is not ready")).with_reason("resourceNotReady"));
    }
    if let Some(user) = kinds::used_by(&world, &key, &res) {
        return Err(ApiError::invalid(format!(
            "The {} resource '{key}' is already being used by '{user}'",
            util::snake(&lower_first(kind.kind))
        ))
        .with_reason("resourceInUseByAnotherResource"));
    }
    if let Some(r) = world.compute.resources.get_mut(&key) {
        r.deleting = true;
        if r.value.get("status").is_some() {
            r.value["status"] = json!(kinds::deleting_status(kind.kind));
        }
    }
    let op = ops::start(app, &mut world, &place, "delete", &res.value);
    let delay = app.latency(call.id, kind.delete_secs);
    let op_done = op.clone();
    app.after(delay, move |_, world| {
        kinds::remove(world, &key);
        ops::finish(world, &op_done, Ok(()));
    });
    Ok(Reply::json(op))
}

/// PATCH: JSON merge patch (RFC 7396), applied when the operation finishes.
fn patch(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    modify(app, call, "patch", merge_patch)
}

/// PUT: the body replaces the resource (output-only fields kept).
fn update(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    modify(app, call, "update", |current, body| {
        let keep: Map<String, Value> =
            ["kind", "id", "creationTimestamp", "selfLink", "region", "zone", "status", "address"]
                .iter()
                .filter_map(|k| current.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
        *current = body.clone();
        for (k, v) in keep {
            current[k] = v;
        }
    })
}

fn modify(app: &Arc<App>, call: &Call, op_type: &str, apply: fn(&mut Value, &Value)) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let place = Place::of(call);
    let key = key_of(call, kind);
    let mut world = app.world();
    world.compute.seed(app, place.project());
    let current = match world.compute.resources.get(&key).filter(|r| r.visible) {
        Some(res) if !res.ready || res.deleting => {
            return Err(ApiError::invalid(format!("The resource '{key}' is not ready")).with_reason("resourceNotReady"));
        }
        Some(res) => res.value.clone(),
        None => return Err(not_found(&key)),
    };
    if let (Some(sent), Some(have)) =
        (call.body.get("fingerprint").and_then(Value::as_str), current.get("fingerprint").and_then(Value::as_str))
        && sent != have
    {
        return Err(ApiError::new(412, "Supplied fingerprint does not match current fingerprint.")
            .with_reason("conditionNotMet"));
    }
    let mut updated = current.clone();
    apply(&mut updated, &call.body);
    let mut body = updated;
    kinds::prepare_update(app, &mut world, kind, &place, &mut body)?;
    body["fingerprint"] = json!(util::etag(app.next()));
    let op = ops::start(app, &mut world, &place, op_type, &current);
    let delay = app.latency(call.id, 5.0);
    let op_done = op.clone();
    app.after(delay, move |_, world| {
        if let Some(r) = world.compute.resources.get_mut(&key) {
            r.value = body;
        }
        ops::finish(world, &op_done, Ok(()));
    });
    Ok(Reply::json(op))
}

fn set_labels(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let kind = kind_of(call);
    let place = Place::of(call);
    let key = key_of(call, kind);
    util::check_labels(&call.body["labels"])?;
    let mut world = app.world();
    let Some(res) = world.compute.resources.get_mut(&key).filter(|r| r.visible) else {
        return Err(not_found(&key));
    };
    let have = res.value.get("labelFingerprint").and_then(Value::as_str).unwrap_or("42WmSpB8rSM=");
    if let Some(sent) = call.body.get("labelFingerprint").and_then(Value::as_str)
        && sent != have
    {
        return Err(ApiError::new(412, "Labels fingerprint either invalid or resource labels have changed")
            .with_reason("conditionNotMet"));
    }
    res.value["labels"] = call.body.get("labels").cloned().unwrap_or_else(|| json!({}));
    res.value["labelFingerprint"] = json!(util::etag(app.next()));
    let target = res.value.clone();
    let op = ops::done(app, &mut world, &place, "setLabels", &target);
    Ok(Reply::json(op))
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (k, v) in patch {
        if v.is_null() {
            if let Some(map) = target.as_object_mut() {
                map.remove(k);
            }
        } else if v.is_object() {
            merge_patch(&mut target[k.as_str()], v);
        } else {
            target[k.as_str()] = v.clone();
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Usage of compute's own resources (instances, disks, addresses, counted kinds).
pub fn usage(world: &World, project: &str, usage: &mut quota::Usage) {
    let prefix = format!("projects/{project}/");
    for (key, res) in world.compute.resources.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
        let parts: Vec<&str> = key.split('/').collect();
        let (scope, collection) = match parts.get(2) {
            Some(&"global") => (quota::GLOBAL.to_string(), parts.get(3).copied().unwrap_or_default()),
            Some(&"regions") => (parts.get(3).unwrap_or(&"").to_string(), parts.get(4).copied().unwrap_or_default()),
            Some(&"zones") => {
                (util::region_of(parts.get(3).unwrap_or(&"")).to_string(), parts.get(4).copied().unwrap_or_default())
            }
            _ => continue,
        };
        let global_kind = KINDS.iter().find(|k| {
            k.collection == collection && (k.scope == Scope::Global || k.id == "subnetworks" || k.id == "routers")
        });
        if let Some(metric) = global_kind.and_then(|k| k.quota) {
            quota::add(usage, quota::GLOBAL, metric, 1.0);
        }
        kinds::usage(&res.value, collection, &scope, usage);
    }
}

/// A compute list filter: `name = "x"`, `labels.k = "v"`, `name eq "re.*"`, `a != b`, joined by AND.
struct Filter {
    terms: Vec<(String, String, regex::Regex)>,
}

impl Filter {
    fn parse(text: &str) -> Self {
        static TERM: OnceLock<regex::Regex> = OnceLock::new();
        // The pattern is a constant; it compiles.
        let term = TERM.get_or_init(|| {
            regex::Regex::new(r#"([A-Za-z][\w.\-]*)\s*(!=|=|:|\bne\b|\beq\b)\s*"?([^")\s]*)"?"#)
                .expect("valid filter regex")
        });
        let terms = term
            .captures_iter(text)
            .filter_map(|c| {
                let (field, op, value) = (c[1].to_string(), c[2].to_string(), c[3].to_string());
                let pattern = match op.as_str() {
                    "eq" | "ne" => format!("^(?:{value})$"),
                    _ => format!("^{}$", regex::escape(&value).replace(r"\*", ".*")),
                };
                regex::Regex::new(&pattern).ok().map(|re| (field, op, re))
            })
            .collect();
        Self { terms }
    }

    fn matches(&self, item: &Value) -> bool {
        self.terms.iter().all(|(field, op, re)| {
            let value = field.split('.').try_fold(item, |v, s| v.get(s));
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let hit = re.is_match(&text);
            if op == "!=" || op == "ne" { !hit } else { hit }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_like_compute() {
        let item = json!({"name":"sd-demo-fw","labels":{"sdctl-env":"demo"}});
        assert!(Filter::parse("labels.sdctl-env = \"demo\"").matches(&item));
        assert!(Filter::parse("(name = \"sd-*\") AND (labels.sdctl-env = demo)").matches(&item));
        assert!(!Filter::parse("name != sd-demo-fw").matches(&item));
        assert!(Filter::parse("name eq \"sd-.*\"").matches(&item));
        assert!(Filter::parse("").matches(&item));
    }

    #[test]
    fn merge_patch_is_rfc7396() {
        let mut v = json!({"a":1,"b":{"c":2,"d":3},"nats":[1]});
        merge_patch(&mut v, &json!({"b":{"c":null,"e":4},"nats":[2,3]}));
        assert_eq!(v, json!({"a":1,"b":{"d":3,"e":4},"nats":[2,3]}));
    }
}
