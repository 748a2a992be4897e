//! IAP v1: IAM policies on `projects/P/iap_web[/compute/services/BACKEND_SERVICE]` (who may pass
//! the proxy), with etags.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::policy::{self, Policy};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

#[derive(Default)]
pub struct State {
    policies: BTreeMap<String, Policy>,
}

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::POST, "v1/{resource=**}:getIamPolicy", "iap.getIamPolicy", get_policy),
        route(Method::POST, "v1/{resource=**}:setIamPolicy", "iap.setIamPolicy", set_policy),
        route(Method::POST, "v1/{resource=**}:testIamPermissions", "iap.testIamPermissions", test_permissions),
    ]
}

/// The resource, checked: an IAP web resource of an existing backend service (by name or id).
fn resource(app: &App, call: &Call) -> ApiResult<String> {
    let resource = call.param("resource").to_string();
    let parts: Vec<&str> = resource.split('/').collect();
    let project = match parts.as_slice() {
        ["projects", p, "iap_web", ..] => app.project_id(p),
        _ => return Err(ApiError::invalid(format!("Invalid resource name: {resource}."))),
    };
    if let ["projects", _, "iap_web", "compute", "services", service] = parts.as_slice() {
        let world = app.world();
        let prefix = format!("projects/{project}/global/backendServices/");
        let exists = world.compute.resources.iter().any(|(k, r)| {
            k.starts_with(&prefix) && r.visible && (k[prefix.len()..] == **service || r.value["id"] == json!(service))
        });
        if !exists {
            return Err(ApiError::not_found(format!("Backend service {service} was not found in project {project}.")));
        }
    }
    Ok(format!("projects/{project}/{}", parts[2..].join("/")))
}

fn get_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = resource(app, call)?;
    let mut world = app.world();
    let policy = world.iap.policies.entry(key).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.read(call)))
}

fn set_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = resource(app, call)?;
    let mut world = app.world();
    if let Some(project) = super::project_of(app, call) {
        policy::check_members(app, &world, &project, call.field("policy"))?;
    }
    let policy = world.iap.policies.entry(key).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.set(app, call.field("policy"), policy::concurrent_change)?))
}

fn test_permissions(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    resource(app, call)?;
    let scenario = app.scenario();
    let granted: Vec<Value> = call
        .field("permissions")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.as_str().is_some_and(|p| !scenario.permission_denied(p)))
        .cloned()
        .collect();
    Ok(Reply::json(json!({ "permissions": granted })))
}
