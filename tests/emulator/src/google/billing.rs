//! Cloud Billing v1: whether the project has billing (scenario `billingEnabled`).

use std::sync::Arc;

use http::Method;
use serde_json::json;

use crate::app::App;
use crate::error::ApiResult;
use crate::route::{Call, Reply, Route, route};

pub fn routes() -> Vec<Route> {
    vec![route(Method::GET, "v1/projects/{project}/billingInfo", "cloudbilling.projects.getBillingInfo", billing_info)]
}

fn billing_info(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let enabled = app.scenario().billing_enabled();
    Ok(Reply::json(json!({
        "name": format!("projects/{project}/billingInfo"),
        "projectId": project,
        "billingAccountName": if enabled { "billingAccounts/012345-6789AB-CDEF01" } else { "" },
        "billingEnabled": enabled,
    })))
}
