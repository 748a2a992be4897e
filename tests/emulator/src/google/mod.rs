//! The Google Cloud APIs: one module per API, the service table, and the checks every call goes
//! through (API enabled, IAM permission).

pub mod access;
pub mod artifactregistry;
pub mod billing;
pub mod cloudbuild;
pub mod compute;
pub mod container;
pub mod filestore;
pub mod iam;
pub mod iap;
pub mod lro;
pub mod oauth2;
pub mod orgpolicy;
pub mod policy;
pub mod redis;
pub mod resourcemanager;
pub mod serviceusage;
pub mod storage;
pub mod util;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::app::App;
use crate::error::{ApiError, ApiResult, Style};
use crate::route::{Call, Route};
use crate::scenario::Scenario;

/// One emulated Google API, reached at `/<name>/...`.
pub struct Service {
    /// The API host's first label (`container`), the URL prefix.
    pub name: &'static str,
    /// The service name Service Usage knows it by (`container.googleapis.com`).
    pub api: &'static str,
    pub title: &'static str,
    pub style: Style,
    pub routes: Vec<Route>,
}

pub fn services() -> &'static [Service] {
    static SERVICES: OnceLock<Vec<Service>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        use Style::{Aip193, Legacy};
        let s = |name, api, title, style, routes| Service { name, api, title, style, routes };
        vec![
            s("container", "container.googleapis.com", "Kubernetes Engine API", Aip193, container::routes()),
            s("compute", "compute.googleapis.com", "Compute Engine API", Legacy, compute::routes()),
            s("file", "file.googleapis.com", "Cloud Filestore API", Aip193, filestore::routes()),
            s("redis", "redis.googleapis.com", "Google Cloud Memorystore for Redis API", Aip193, redis::routes()),
            s("storage", "storage.googleapis.com", "Cloud Storage API", Legacy, storage::routes()),
            s(
                "artifactregistry",
                "artifactregistry.googleapis.com",
                "Artifact Registry API",
                Aip193,
                artifactregistry::routes(),
            ),
            s("cloudbuild", "cloudbuild.googleapis.com", "Cloud Build API", Aip193, cloudbuild::routes()),
            s("serviceusage", "serviceusage.googleapis.com", "Service Usage API", Aip193, serviceusage::routes()),
            s(
                "cloudresourcemanager",
                "cloudresourcemanager.googleapis.com",
                "Cloud Resource Manager API",
                Aip193,
                resourcemanager::routes(),
            ),
            s("iap", "iap.googleapis.com", "Cloud Identity-Aware Proxy API", Aip193, iap::routes()),
            s("iam", "iam.googleapis.com", "Identity and Access Management (IAM) API", Aip193, iam::routes()),
            s("cloudbilling", "cloudbilling.googleapis.com", "Cloud Billing API", Aip193, billing::routes()),
            s("orgpolicy", "orgpolicy.googleapis.com", "Organization Policy API", Aip193, orgpolicy::routes()),
            s("oauth2", "oauth2.googleapis.com", "Google OAuth2 API", Aip193, oauth2::routes()),
        ]
    })
}

/// Every service's resources. One lock for all: cross-service checks (a cluster uses a network,
/// a build pushes to a repository, quota usage spans compute and GKE) stay simple and consistent.
pub struct World {
    pub projects: resourcemanager::State,
    pub services: serviceusage::State,
    pub iam: iam::State,
    pub compute: compute::State,
    pub container: container::State,
    pub file: filestore::State,
    pub redis: redis::State,
    pub registry: artifactregistry::State,
    pub builds: cloudbuild::State,
    pub iap: iap::State,
    pub storage: storage::State,
    /// AIP-151 operations of every API, by full name.
    pub lro: lro::State,
}

impl World {
    pub fn new(scenario: &Scenario) -> Self {
        Self {
            projects: Default::default(),
            services: serviceusage::State::new(scenario),
            iam: Default::default(),
            compute: Default::default(),
            container: Default::default(),
            file: Default::default(),
            redis: Default::default(),
            registry: Default::default(),
            builds: Default::default(),
            iap: Default::default(),
            storage: Default::default(),
            lro: Default::default(),
        }
    }

    pub fn apply_scenario(&mut self, scenario: &Scenario) {
        // What was enabled or disabled through the API stays so; the starting set follows the scenario.
        self.services.rescenario(scenario);
    }

    /// Every live Google resource in the `/_emulator/state` shape.
    pub fn state(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.services.state(&mut out);
        self.iam.state(&mut out);
        self.compute.state(&mut out);
        self.container.state(&mut out);
        self.file.state(&mut out);
        self.redis.state(&mut out);
        self.registry.state(&mut out);
        self.builds.state(&mut out);
        self.storage.state(&mut out);
        out
    }
}

/// One `/_emulator/state` entry.
pub fn state_entry(service: &str, kind: &str, name: &str, state: &str, labels: &Value) -> Value {
    let labels = if labels.is_object() { labels.clone() } else { json!({}) };
    json!({ "service": service, "kind": kind, "name": name, "state": state, "labels": labels })
}

/// The project a call is about: the `projects/{p}` path segment, else `?project=`, else the
/// storage bucket's owner. Project numbers are mapped back to ids seen before.
pub fn project_of(app: &App, call: &Call) -> Option<String> {
    let from_path = call
        .path
        .split('/')
        .skip_while(|s| *s != "projects")
        .nth(1)
        .map(|p| p.split(':').next().unwrap_or(p).to_string());
    let project = from_path.or_else(|| call.query("project").map(str::to_string)).or_else(|| {
        let bucket = call.params.get("bucket")?;
        app.world().storage.owner(bucket)
    })?;
    if project.is_empty() || project == "-" || project == "_" {
        return None;
    }
    Some(app.project_id(&project))
}

/// 403 SERVICE_DISABLED when the API is disabled in the call's project, worded like Google.
pub fn check_enabled(app: &App, service: &Service, call: &Call) -> ApiResult<()> {
    if matches!(service.name, "serviceusage" | "oauth2") {
        return Ok(());
    }
    let Some(project) = project_of(app, call) else {
        return Ok(());
    };
    if app.world().services.is_enabled(&project, service.api) {
        return Ok(());
    }
    let number = app.project_number(&project);
    let url = format!("https://console.developers.google.com/apis/api/{}/overview?project={number}", service.api);
    Err(ApiError::permission_denied(format!(
        "{} has not been used in project {number} before or it is disabled. Enable it by visiting {url} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
        service.title
    ))
    .with_reason("accessNotConfigured")
    .with_info(
        "SERVICE_DISABLED",
        "googleapis.com",
        json!({
            "service": service.api,
            "consumer": format!("projects/{number}"),
            "serviceTitle": service.title,
            "activationUrl": url,
            "containerInfo": number,
        }),
    )
    .with_detail(json!({
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [{ "description": "Google developers console API activation", "url": url }],
    })))
}

/// 403 naming the permission when the scenario denies the one this method needs.
pub fn check_permission(app: &App, call: &Call) -> ApiResult<()> {
    let Some(permission) = permission(call.id) else {
        return Ok(());
    };
    if !app.scenario().permission_denied(&permission) {
        return Ok(());
    }
    let api = services().iter().find(|s| s.name == call.service).map(|s| s.api).unwrap_or("googleapis.com");
    let resource = call
        .path
        .trim_start_matches('/')
        .split('/')
        .skip_while(|s| *s != "projects" && *s != "b")
        .collect::<Vec<_>>()
        .join("/");
    let resource = resource.split(':').next().unwrap_or_default().to_string();
    Err(ApiError::permission_denied(format!(
        "Permission '{permission}' denied on resource '//{api}/{resource}' (or it may not exist)."
    ))
    .with_reason("forbidden")
    .with_info(
        "IAM_PERMISSION_DENIED",
        "iam.googleapis.com",
        json!({ "permission": permission, "resource": resource }),
    ))
}

/// The IAM permission a Discovery method needs (the methods sdctl uses; others: none checked).
pub fn permission(method_id: &str) -> Option<String> {
    let parts: Vec<&str> = method_id.split('.').collect();
    let (service, verb) = (*parts.first()?, *parts.last()?);
    if verb == "testIamPermissions" || matches!(service, "oauth2" | "cloudbilling") {
        return None;
    }
    if service == "cloudresourcemanager" {
        return Some(format!("resourcemanager.{}.{verb}", parts.get(1)?));
    }
    let resource = parts.iter().rev().nth(1).copied().filter(|r| !matches!(*r, "projects" | "locations"))?;
    let verb = match verb {
        "insert" => "create",
        "patch" | "setLabels" => "update",
        "aggregatedList" => "list",
        "wait" => "get",
        v => v,
    };
    let perm = match (service, resource) {
        ("container", "nodePools") if matches!(verb, "get" | "list") => "container.clusters.get".to_string(),
        ("container", "nodePools") => "container.clusters.update".to_string(),
        ("container", "clusters") if !matches!(verb, "create" | "get" | "list" | "delete") => {
            "container.clusters.update".to_string()
        }
        ("container", "locations") => return None,
        ("cloudbuild", "builds") if verb == "cancel" => "cloudbuild.builds.update".to_string(),
        ("artifactregistry", "dockerImages") => format!("artifactregistry.dockerimages.{verb}"),
        ("serviceusage", "services") if verb == "batchEnable" => "serviceusage.services.enable".to_string(),
        // Service Usage authorizes batchGet with the per-service read permission.
        ("serviceusage", "services") if verb == "batchGet" => "serviceusage.services.get".to_string(),
        // Artifact Registry has no operations permission: polls are authorized with the call's own.
        ("artifactregistry", "operations") => return None,
        ("serviceusage", "operations") => return None,
        ("orgpolicy", _) => "orgpolicy.policy.get".to_string(),
        ("iap", _) => format!("iap.webServices.{verb}"),
        (s, r) => format!("{s}.{r}.{verb}"),
    };
    Some(perm)
}

/// Proto enums arrive as numbers from the Rust clients: rewrite the known ones as names, as
/// Google stores and returns them. `path` is like `nodePools[].config.taints[].effect`.
pub struct EnumField {
    pub path: &'static str,
    pub values: &'static [(i64, &'static str)],
}

pub fn normalize_enums(value: &mut Value, fields: &[EnumField]) {
    for field in fields {
        let segments: Vec<&str> = field.path.split('.').collect();
        walk_enum(value, &segments, field.values);
    }
}

fn walk_enum(value: &mut Value, segments: &[&str], values: &[(i64, &str)]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let (name, array) = match first.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*first, false),
    };
    let Some(child) = value.get_mut(name) else {
        return;
    };
    let targets: Vec<&mut Value> = if array {
        match child.as_array_mut() {
            Some(items) => items.iter_mut().collect(),
            None => return,
        }
    } else {
        vec![child]
    };
    for target in targets {
        if rest.is_empty() {
            if let Some(n) = target.as_i64()
                && let Some((_, label)) = values.iter().find(|(v, _)| *v == n)
            {
                *target = json!(label);
            }
        } else {
            walk_enum(target, rest, values);
        }
    }
}

/// `BTreeMap` of labels from a JSON object (non-string values ignored).
pub fn labels_of(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_of_the_methods_sdctl_uses() {
        let p = |id| permission(id).unwrap_or_default();
        assert_eq!(p("container.projects.locations.clusters.create"), "container.clusters.create");
        assert_eq!(p("container.projects.locations.clusters.nodePools.create"), "container.clusters.update");
        assert_eq!(p("compute.globalAddresses.insert"), "compute.globalAddresses.create");
        assert_eq!(p("file.projects.locations.instances.create"), "file.instances.create");
        assert_eq!(p("cloudresourcemanager.projects.setIamPolicy"), "resourcemanager.projects.setIamPolicy");
        assert_eq!(p("storage.buckets.insert"), "storage.buckets.create");
        assert_eq!(p("serviceusage.services.batchEnable"), "serviceusage.services.enable");
        assert_eq!(p("serviceusage.services.batchGet"), "serviceusage.services.get");
        assert!(permission("artifactregistry.projects.locations.operations.get").is_none());
        assert_eq!(p("iam.projects.serviceAccounts.create"), "iam.serviceAccounts.create");
        assert!(permission("cloudresourcemanager.projects.testIamPermissions").is_none());
    }

    #[test]
    fn enum_numbers_become_names() {
        const EFFECT: &[(i64, &str)] = &[(1, "NO_SCHEDULE")];
        let mut v = json!({"nodePools":[{"config":{"taints":[{"effect":1},{"effect":"NO_EXECUTE"}]}}]});
        normalize_enums(&mut v, &[EnumField { path: "nodePools[].config.taints[].effect", values: EFFECT }]);
        assert_eq!(v["nodePools"][0]["config"]["taints"][0]["effect"], "NO_SCHEDULE");
        assert_eq!(v["nodePools"][0]["config"]["taints"][1]["effect"], "NO_EXECUTE");
    }
}
