//! `authorization.k8s.io` reviews. The emulator's caller is a cluster admin (GKE's IAM maps
//! the project owner to `cluster-admin`), so every access review is allowed.

use serde_json::{Value, json};

use super::status::{ApiError, ApiResult};
use super::types::ResourceType;

pub fn answer(rt: &ResourceType, mut body: Value) -> ApiResult<Value> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    body["apiVersion"] = json!(rt.api_version());
    body["kind"] = json!(rt.kind);
    body["status"] = match rt.kind.as_str() {
        "SelfSubjectAccessReview" => json!({ "allowed": true, "reason": "" }),
        _ => json!({
            "resourceRules": [{ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }],
            "nonResourceRules": [{ "verbs": ["*"], "nonResourceURLs": ["*"] }],
            "incomplete": false,
        }),
    };
    Ok(body)
}
