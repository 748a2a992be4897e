//! Org Policy v2: the effective policy of a constraint on the project (scenario `orgPolicies`).

use std::sync::Arc;

use http::Method;
use serde_json::json;

use crate::app::App;
use crate::error::ApiResult;
use crate::route::{Call, Reply, Route, route};

/// List constraints (allowed/denied values); every other constraint is boolean (enforced or not).
const LIST_CONSTRAINTS: &[&str] = &[
    "compute.vmExternalIpAccess",
    "compute.restrictVpcPeering",
    "compute.trustedImageProjects",
    "compute.restrictLoadBalancerCreationForTypes",
    "gcp.resourceLocations",
    "iam.allowedPolicyMemberDomains",
    "compute.restrictNonConfidentialComputing",
    "cloudfunctions.allowedIngressSettings",
];

pub fn routes() -> Vec<Route> {
    vec![route(
        Method::GET,
        "v2/projects/{project}/policies/{policy}:getEffectivePolicy",
        "orgpolicy.projects.policies.getEffectivePolicy",
        effective,
    )]
}

fn effective(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let constraint = call.param("policy").trim_start_matches("constraints/").to_string();
    let setting = app.scenario().org_policies.get(&constraint).cloned().unwrap_or_default();
    let denied = setting == "deny";
    let list = LIST_CONSTRAINTS.contains(&constraint.as_str());
    // List constraints may name values: `allow:in:europe-locations,us-central1` / `deny:...`.
    let values = |prefix: &str| {
        setting.strip_prefix(prefix).map(|v| v.split(',').map(str::trim).map(String::from).collect::<Vec<_>>())
    };
    let rule = match (list, denied, values("allow:"), values("deny:")) {
        (true, _, Some(allowed), _) => json!({ "values": { "allowedValues": allowed } }),
        (true, _, _, Some(denied)) => json!({ "values": { "deniedValues": denied } }),
        (true, true, _, _) => json!({ "denyAll": true }),
        (true, false, _, _) => json!({ "allowAll": true }),
        (false, enforce, _, _) => json!({ "enforce": enforce }),
    };
    Ok(Reply::json(json!({
        "name": format!("projects/{}/policies/{constraint}", app.project_number(&project)),
        "spec": { "rules": [rule] },
    })))
}
