//! IAM policies (`{version, etag, bindings}`) with Google's optimistic concurrency: a
//! `setIamPolicy` whose `etag` is not the current one is refused.

use serde_json::{Value, json};

use super::util;
use crate::app::App;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone)]
pub struct Policy {
    bindings: Value,
    audit_configs: Value,
    version: u64,
    etag: String,
}

impl Policy {
    pub fn new(app: &App, bindings: Value) -> Self {
        Self { bindings, audit_configs: Value::Null, version: 1, etag: util::etag(app.next()) }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({ "version": self.version, "etag": self.etag });
        if self.bindings.as_array().is_some_and(|b| !b.is_empty()) {
            v["bindings"] = self.bindings.clone();
        }
        if !self.audit_configs.is_null() {
            v["auditConfigs"] = self.audit_configs.clone();
        }
        v
    }

    /// Replaces the policy if `new.etag` (when given) is current; returns the stored policy.
    /// `conflict` builds the API's own error for a stale etag.
    pub fn set(&mut self, app: &App, new: &Value, conflict: impl FnOnce(&str, &str) -> ApiError) -> ApiResult<Value> {
        if let Some(sent) = new.get("etag").and_then(Value::as_str).filter(|e| !e.is_empty())
            && sent != self.etag
        {
            return Err(conflict(sent, &self.etag));
        }
        for binding in new["bindings"].as_array().into_iter().flatten() {
            let role = binding["role"].as_str().unwrap_or_default();
            if !(role.starts_with("roles/") || role.starts_with("projects/") || role.starts_with("organizations/")) {
                return Err(ApiError::invalid(format!("Role ({role}) does not exist in the resource's hierarchy.")));
            }
            for member in binding["members"].as_array().into_iter().flatten() {
                let m = member.as_str().unwrap_or_default();
                let ok = [
                    "user:",
                    "serviceAccount:",
                    "group:",
                    "domain:",
                    "principal:",
                    "principalSet:",
                    "deleted:",
                    "projectOwner:",
                    "projectEditor:",
                    "projectViewer:",
                ]
                .iter()
                .any(|p| m.starts_with(p))
                    || m == "allUsers"
                    || m == "allAuthenticatedUsers";
                if !ok {
                    return Err(ApiError::invalid(format!(
                        "Invalid member: {m}. Members must be of the form type:value (user:, serviceAccount:, group:, domain:)."
                    )));
                }
            }
        }
        self.bindings = new.get("bindings").cloned().unwrap_or_else(|| json!([]));
        self.audit_configs = new.get("auditConfigs").cloned().unwrap_or(Value::Null);
        self.version = new.get("version").and_then(Value::as_u64).unwrap_or(1);
        self.etag = util::etag(app.next());
        Ok(self.to_json())
    }
}

/// The Resource Manager / IAM wording for a stale etag.
pub fn concurrent_change(sent: &str, current: &str) -> ApiError {
    ApiError::aborted(format!(
        "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff. The request's ETag '{sent}' did not match the current policy's ETag '{current}'."
    ))
}

/// Every `serviceAccount:` member of a policy.
pub fn service_accounts(policy: &Value) -> Vec<String> {
    policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().and_then(|m| m.strip_prefix("serviceAccount:")).map(str::to_string))
        .collect()
}
