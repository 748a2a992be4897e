//! Resource Manager v3: projects (with a stable project number) and the project IAM policy
//! (read-modify-write with etags, members checked like Google), testIamPermissions.

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
    pub policies: BTreeMap<String, Policy>,
}

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "v3/projects/{project}", "cloudresourcemanager.projects.get", get),
        route(
            Method::POST,
            "v3/projects/{project}:getIamPolicy",
            "cloudresourcemanager.projects.getIamPolicy",
            get_policy,
        ),
        route(
            Method::POST,
            "v3/projects/{project}:setIamPolicy",
            "cloudresourcemanager.projects.setIamPolicy",
            set_policy,
        ),
        route(Method::GET, "v3/organizations/{organization}", "cloudresourcemanager.organizations.get", organization),
        route(
            Method::POST,
            "v3/projects/{project}:testIamPermissions",
            "cloudresourcemanager.projects.testIamPermissions",
            test_permissions,
        ),
    ]
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let number = app.project_number(&project);
    Ok(Reply::json(json!({
        "name": format!("projects/{number}"),
        "parent": format!("organizations/{ORGANIZATION}"),
        "projectId": project,
        "state": "ACTIVE",
        "displayName": project,
        "createTime": "2026-01-05T17:00:00.000Z",
        "updateTime": "2026-01-05T17:00:00.000Z",
        "etag": "W/\"7b1ec8a1c2d3e4f5\"",
        "labels": {},
    })))
}

/// Every project's parent: one organization whose display name is its primary domain.
const ORGANIZATION: &str = "123456789012";

fn organization(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let id = call.param("organization");
    if id != ORGANIZATION {
        return Err(ApiError::permission_denied(format!(
            "Permission 'resourcemanager.organizations.get' denied on resource '//cloudresourcemanager.googleapis.com/organizations/{id}' (or it may not exist)."
        )));
    }
    Ok(Reply::json(json!({
        "name": format!("organizations/{ORGANIZATION}"),
        "displayName": app.scenario().organization_domain(),
        "directoryCustomer": "C01abc23d",
        "state": "ACTIVE",
        "createTime": "2020-02-01T10:00:00.000Z",
        "updateTime": "2020-02-01T10:00:00.000Z",
        "etag": "BwWWja0YfJA=",
    })))
}

/// The policy a new project has: the caller owns it; the Google APIs service agent edits it, and
/// so does Compute Engine's default service account unless the organization enforces
/// `iam.automaticIamGrantsForDefaultServiceAccounts` (then it gets no role at all:
/// cloud.google.com/resource-manager/docs/organization-policy/restricting-service-accounts).
pub fn default_policy(app: &App, project: &str) -> Policy {
    let number = app.project_number(project);
    let scenario = app.scenario();
    let automatic_grants =
        scenario.org_policies.get("iam.automaticIamGrantsForDefaultServiceAccounts").is_none_or(|v| v != "deny");
    let mut editors = vec![format!("serviceAccount:{number}@cloudservices.gserviceaccount.com")];
    if automatic_grants {
        editors.insert(0, format!("serviceAccount:{number}-compute@developer.gserviceaccount.com"));
    }
    Policy::new(
        app,
        json!([
            { "role": "roles/editor", "members": editors },
            { "role": "roles/owner", "members": [format!("user:{}", scenario.caller())] },
        ]),
    )
}

fn get_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let mut world = app.world();
    let policy = world.projects.policies.entry(project.clone()).or_insert_with(|| default_policy(app, &project));
    Ok(Reply::json(policy.read(call)))
}

fn set_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let new = call.field("policy").clone();
    if !new.is_object() {
        return Err(ApiError::invalid("Request contains an invalid argument: policy is required."));
    }
    let mut world = app.world();
    policy::check_members(app, &world, &project, &new)?;
    let policy = world.projects.policies.entry(project.clone()).or_insert_with(|| default_policy(app, &project));
    Ok(Reply::json(policy.set(app, &new, policy::concurrent_change)?))
}

fn test_permissions(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let scenario = app.scenario();
    let granted: Vec<Value> = call
        .field("permissions")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.as_str().is_some_and(|p| !scenario.permission_denied(p)))
        .cloned()
        .collect();
    let mut body = json!({});
    if !granted.is_empty() {
        body["permissions"] = Value::Array(granted);
    }
    Ok(Reply::json(body))
}
