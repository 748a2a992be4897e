//! Service Usage v1: which APIs are enabled per project. A project starts as a new Google
//! project does: only the services Google enables by default are on (Cloud Storage, Logging,
//! Monitoring, Service Usage, ...: cloud.google.com/service-usage/docs/enabled-service#default),
//! plus the scenario's `enabledApis`, minus its `disabledApis`; every API sdctl enables itself
//! (Compute, GKE, Filestore, ...) answers 403 SERVICE_DISABLED until enabled. Enabling takes a
//! while (an AIP-151 operation) and only then do calls to that API stop answering 403.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::{lro, services, state_entry};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};
use crate::scenario::Scenario;

const ENABLE_SECS: f64 = 20.0;
const META: &str = "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata";

/// Services a project can enable besides the emulated APIs (title for messages and `config`).
const OTHER_SERVICES: &[(&str, &str)] = &[
    ("containerfilesystem.googleapis.com", "Container File System API"),
    ("containerregistry.googleapis.com", "Container Registry API"),
    ("iamcredentials.googleapis.com", "IAM Service Account Credentials API"),
    ("logging.googleapis.com", "Cloud Logging API"),
    ("monitoring.googleapis.com", "Cloud Monitoring API"),
    ("servicenetworking.googleapis.com", "Service Networking API"),
    ("certificatemanager.googleapis.com", "Certificate Manager API"),
    ("dns.googleapis.com", "Cloud DNS API"),
    ("secretmanager.googleapis.com", "Secret Manager API"),
    ("oslogin.googleapis.com", "Cloud OS Login API"),
    ("pubsub.googleapis.com", "Cloud Pub/Sub API"),
    ("storage-api.googleapis.com", "Google Cloud Storage JSON API"),
    ("storage-component.googleapis.com", "Cloud Storage"),
    ("cloudkms.googleapis.com", "Cloud Key Management Service (KMS) API"),
    ("gkehub.googleapis.com", "GKE Hub API"),
    ("networkconnectivity.googleapis.com", "Network Connectivity API"),
    ("cloudfunctions.googleapis.com", "Cloud Functions API"),
    ("cloudscheduler.googleapis.com", "Cloud Scheduler API"),
    ("vpcaccess.googleapis.com", "Serverless VPC Access API"),
    ("run.googleapis.com", "Cloud Run Admin API"),
];

/// What a project created with the console or gcloud has enabled (the subset the emulator
/// knows), per cloud.google.com/service-usage/docs/enabled-service#default.
const ENABLED_BY_DEFAULT: &[&str] = &[
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "storage-api.googleapis.com",
    "storage-component.googleapis.com",
];

/// Enabling a service enables what it depends on, as on Google.
const DEPENDENCIES: &[(&str, &[&str])] = &[
    (
        "container.googleapis.com",
        &["compute.googleapis.com", "containerregistry.googleapis.com", "iamcredentials.googleapis.com"],
    ),
    ("cloudbuild.googleapis.com", &["storage.googleapis.com", "logging.googleapis.com"]),
    ("file.googleapis.com", &["compute.googleapis.com"]),
    ("redis.googleapis.com", &["compute.googleapis.com"]),
];

fn title(service: &str) -> Option<&'static str> {
    services()
        .iter()
        .find(|s| s.api == service)
        .map(|s| s.title)
        .or_else(|| OTHER_SERVICES.iter().find(|(n, _)| *n == service).map(|(_, t)| *t))
}

fn known() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = services().iter().map(|s| s.api).collect();
    all.extend(OTHER_SERVICES.iter().map(|(n, _)| *n));
    all.sort_unstable();
    all
}

pub struct State {
    initially_enabled: BTreeSet<String>,
    /// (project, service) -> enabled, for services enabled or disabled through the API.
    changed: BTreeMap<(String, String), bool>,
}

impl State {
    pub fn new(scenario: &Scenario) -> Self {
        let every = scenario.enabled_apis.iter().any(|s| s == "*");
        let initially_enabled = ENABLED_BY_DEFAULT
            .iter()
            .map(|s| s.to_string())
            .chain(scenario.enabled_apis.iter().filter(|s| *s != "*").cloned())
            .chain(known().into_iter().filter(|_| every).map(String::from))
            .filter(|s| !scenario.disabled_apis.contains(s))
            .collect();
        Self { initially_enabled, changed: BTreeMap::new() }
    }

    /// A new scenario: its starting set, keeping what calls enabled or disabled since.
    pub fn rescenario(&mut self, scenario: &Scenario) {
        self.initially_enabled = Self::new(scenario).initially_enabled;
    }

    pub fn is_enabled(&self, project: &str, service: &str) -> bool {
        self.changed
            .get(&(project.to_string(), service.to_string()))
            .copied()
            .unwrap_or_else(|| self.initially_enabled.contains(service))
    }

    fn set(&mut self, project: &str, service: &str, enabled: bool) {
        self.changed.insert((project.to_string(), service.to_string()), enabled);
        if enabled {
            for (s, deps) in DEPENDENCIES {
                if *s == service {
                    for d in *deps {
                        self.changed.insert((project.to_string(), d.to_string()), true);
                    }
                }
            }
        }
    }

    /// Enabled services of projects the API was used for (kind `ApiService`).
    pub fn state(&self, out: &mut Vec<Value>) {
        let projects: BTreeSet<&String> = self.changed.keys().map(|(p, _)| p).collect();
        for project in projects {
            for service in known() {
                if self.is_enabled(project, service) {
                    out.push(state_entry(
                        "serviceusage",
                        "ApiService",
                        &format!("projects/{project}/services/{service}"),
                        "ENABLED",
                        &Value::Null,
                    ));
                }
            }
        }
    }
}

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "v1/projects/{project}/services", "serviceusage.services.list", list),
        route(Method::GET, "v1/projects/{project}/services:batchGet", "serviceusage.services.batchGet", batch_get),
        route(
            Method::POST,
            "v1/projects/{project}/services:batchEnable",
            "serviceusage.services.batchEnable",
            batch_enable,
        ),
        route(Method::GET, "v1/projects/{project}/services/{service}", "serviceusage.services.get", get),
        route(Method::POST, "v1/projects/{project}/services/{service}:enable", "serviceusage.services.enable", enable),
        route(
            Method::POST,
            "v1/projects/{project}/services/{service}:disable",
            "serviceusage.services.disable",
            disable,
        ),
        route(Method::GET, "v1/operations/{operation}", "serviceusage.operations.get", lro::get),
    ]
}

fn service_json(app: &App, project: &str, service: &str, enabled: bool) -> Value {
    let number = app.project_number(project);
    json!({
        "name": format!("projects/{number}/services/{service}"),
        "parent": format!("projects/{number}"),
        "config": { "name": service, "title": title(service).unwrap_or(service) },
        "state": if enabled { "ENABLED" } else { "DISABLED" },
    })
}

fn unknown(services: &[&str]) -> ApiError {
    let list = services.join(", ");
    ApiError::permission_denied(format!("Not found or permission denied for service(s): {list}.")).with_info(
        "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED",
        "serviceusage.googleapis.com",
        json!({ "services": list }),
    )
}

fn check_known(services: &[&str]) -> ApiResult<()> {
    let missing: Vec<&str> = services.iter().copied().filter(|s| title(s).is_none()).collect();
    if missing.is_empty() { Ok(()) } else { Err(unknown(&missing)) }
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let only_enabled = call.query("filter").is_some_and(|f| f.replace(' ', "").contains("state:ENABLED"));
    let world = app.world();
    let items: Vec<Value> = known()
        .into_iter()
        .filter(|s| !only_enabled || world.services.is_enabled(&project, s))
        .map(|s| service_json(app, &project, s, world.services.is_enabled(&project, s)))
        .collect();
    let (page, next) = super::util::paginate(items, call.query("pageSize"), call.query("pageToken"))?;
    let mut body = json!({ "services": page });
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let service = call.param("service");
    check_known(&[service])?;
    let enabled = app.world().services.is_enabled(&project, service);
    Ok(Reply::json(service_json(app, &project, service, enabled)))
}

fn batch_get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let names: Vec<String> =
        call.query.get("names").map(|n| n.split(',').map(str::to_string).collect()).unwrap_or_default();
    let services: Vec<&str> = names.iter().map(|n| n.rsplit('/').next().unwrap_or(n)).collect();
    check_known(&services)?;
    let world = app.world();
    let out: Vec<Value> =
        services.iter().map(|s| service_json(app, &project, s, world.services.is_enabled(&project, s))).collect();
    Ok(Reply::json(json!({ "services": out })))
}

fn enable(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let service = call.param("service").to_string();
    check_known(&[&service])?;
    start_enable(app, call, &project, vec![service], false)
}

fn batch_enable(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let ids: Vec<String> = call
        .field("serviceIds")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ids.is_empty() {
        return Err(ApiError::invalid("serviceIds must not be empty."));
    }
    if ids.len() > 20 {
        return Err(ApiError::invalid("At most 20 services can be enabled in one batch."));
    }
    check_known(&ids.iter().map(String::as_str).collect::<Vec<_>>())?;
    start_enable(app, call, &project, ids, true)
}

fn start_enable(app: &Arc<App>, call: &Call, project: &str, ids: Vec<String>, batch: bool) -> ApiResult<Reply> {
    let number = app.project_number(project);
    let mut world = app.world();
    let metadata = json!({ "@type": META, "resourceNames": ids.iter().map(|s| format!("projects/{number}/services/{s}")).collect::<Vec<_>>() });
    let response = |app: &App, world: &super::World| {
        let services: Vec<Value> =
            ids.iter().map(|s| service_json(app, project, s, world.services.is_enabled(project, s))).collect();
        if batch {
            json!({ "@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse", "services": services })
        } else {
            json!({ "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse", "service": services[0] })
        }
    };
    if ids.iter().all(|s| world.services.is_enabled(project, s)) {
        // Google answers an operation that is already done when nothing changes.
        let body = response(app, &world);
        let op = world.lro.done("operations/noop.DONE_OPERATION".into(), metadata, Ok(body));
        return Ok(Reply::json(op));
    }
    let name = format!("operations/acat.p2-{number}-{}", app.uuid());
    let op = world.lro.start(name.clone(), metadata);
    drop(world);
    let project = project.to_string();
    app.after(app.latency(call.id, ENABLE_SECS), move |app, world| {
        for s in &ids {
            world.services.set(&project, s, true);
        }
        let services: Vec<Value> = ids.iter().map(|s| service_json(app, &project, s, true)).collect();
        let body = if batch {
            json!({ "@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse", "services": services })
        } else {
            json!({ "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse", "service": services[0] })
        };
        world.lro.finish(&name, Ok(body));
    });
    Ok(Reply::json(op))
}

fn disable(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let service = call.param("service").to_string();
    check_known(&[&service])?;
    let number = app.project_number(&project);
    let name = format!("operations/acat.p2-{number}-{}", app.uuid());
    let mut world = app.world();
    world.services.set(&project, &service, false);
    let body = json!({
        "@type": "type.googleapis.com/google.api.serviceusage.v1.DisableServiceResponse",
        "service": service_json(app, &project, &service, false),
    });
    let op = world.lro.done(name, json!({ "@type": META }), Ok(body));
    Ok(Reply::json(op))
}
