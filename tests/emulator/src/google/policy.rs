//! IAM policies (`{version, etag, bindings}`) as every Google API with `getIamPolicy` /
//! `setIamPolicy` keeps them:
//! - optimistic concurrency: a `setIamPolicy` whose `etag` is not the current one is refused;
//! - versions (cloud.google.com/iam/docs/policies#versions, Discovery `Policy.version`): a policy
//!   with conditional bindings is version 3; read at a lower requested version its conditional
//!   roles come back renamed `<role>_withcond_<hash>` without their conditions
//!   (cloud.google.com/iam/docs/troubleshooting-withcond); a write with an etag at a lower version
//!   onto such a policy is refused ("Specified policy version (1) cannot be less than the existing
//!   policy version (3)", seen in hashicorp/vault-plugin-secrets-gcp#88); without an etag the
//!   conditions are overwritten and lost, as the Discovery text warns;
//! - members must exist: a service account of the project only once IAM knows it (created, then
//!   `serviceAccountPropagationSeconds` later: IAM is eventually consistent), a Workload Identity
//!   principal only once the project has a Workload Identity cluster ("Identity Pool does not
//!   exist", terraform-google-kubernetes-engine#916; confirmed for service-account policies,
//!   assumed for the others).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{World, util};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::route::Call;

#[derive(Debug, Clone)]
pub struct Policy {
    bindings: Value,
    audit_configs: Value,
    version: u64,
    etag: String,
}

/// The version a `getIamPolicy` call asks for: `options.requestedPolicyVersion` in the body
/// (Resource Manager, IAP), as a query parameter (Artifact Registry, IAM), or Cloud Storage's
/// `optionsRequestedPolicyVersion`. Absent: 0, which reads like 1.
pub fn requested_version(call: &Call) -> u64 {
    call.body["options"]["requestedPolicyVersion"]
        .as_u64()
        .or_else(|| call.query("options.requestedPolicyVersion").and_then(|v| v.parse().ok()))
        .or_else(|| call.query("optionsRequestedPolicyVersion").and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn is_conditional(binding: &Value) -> bool {
    binding.get("condition").is_some_and(|c| !c.is_null())
}

/// The name a version-1 reader sees for a conditional binding's role.
fn withcond(binding: &Value) -> String {
    let digest = Sha256::digest(binding["condition"].to_string().as_bytes());
    let hash: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("{}_withcond_{hash}", binding["role"].as_str().unwrap_or_default())
}

impl Policy {
    pub fn new(app: &App, bindings: Value) -> Self {
        Self { bindings, audit_configs: Value::Null, version: 1, etag: util::etag(app.next()) }
    }

    fn conditional(&self) -> bool {
        self.bindings.as_array().is_some_and(|b| b.iter().any(is_conditional))
    }

    /// The policy as a reader asking for `requested` sees it.
    pub fn to_json_at(&self, requested: u64) -> Value {
        let conditional = self.conditional();
        let (version, bindings) = if conditional && requested < 3 {
            let renamed: Vec<Value> =
                self.bindings
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| {
                        if is_conditional(b) {
                            json!({"role": withcond(b), "members": b["members"]})
                        } else {
                            b.clone()
                        }
                    })
                    .collect();
            (1, Value::Array(renamed))
        } else {
            (if conditional { 3 } else { self.version.min(1) }, self.bindings.clone())
        };
        let mut v = json!({ "version": version, "etag": self.etag });
        if bindings.as_array().is_some_and(|b| !b.is_empty()) {
            v["bindings"] = bindings;
        }
        if !self.audit_configs.is_null() {
            v["auditConfigs"] = self.audit_configs.clone();
        }
        v
    }

    /// What `getIamPolicy` answers to `call`.
    pub fn read(&self, call: &Call) -> Value {
        self.to_json_at(requested_version(call))
    }

    /// The policy at version 3 (everything), for the emulator's own checks.
    pub fn to_json(&self) -> Value {
        self.to_json_at(3)
    }

    /// Whether `member` holds one of `roles` without a condition.
    pub fn grants(&self, member: &str, roles: &[&str]) -> bool {
        self.bindings.as_array().into_iter().flatten().any(|b| {
            !is_conditional(b)
                && roles.iter().any(|r| b["role"] == *r)
                && b["members"].as_array().is_some_and(|m| m.iter().any(|x| x == member))
        })
    }

    /// Replaces the policy if `new.etag` (when given) is current; returns the stored policy.
    /// `conflict` builds the API's own error for a stale etag.
    pub fn set(&mut self, app: &App, new: &Value, conflict: impl FnOnce(&str, &str) -> ApiError) -> ApiResult<Value> {
        let sent_etag = new.get("etag").and_then(Value::as_str).filter(|e| !e.is_empty());
        if let Some(sent) = sent_etag
            && sent != self.etag
        {
            return Err(conflict(sent, &self.etag));
        }
        let version = new.get("version").and_then(Value::as_u64).unwrap_or(1);
        let bindings = new.get("bindings").cloned().unwrap_or_else(|| json!([]));
        // With an etag, IAM checks versions; without one it lets a version-1 write replace all.
        if sent_etag.is_some() && self.conditional() && version < 3 {
            return Err(ApiError::invalid(format!(
                "Specified policy version ({version}) cannot be less than the existing policy version (3). For more information, please refer to https://cloud.google.com/iam/docs/policies#versions"
            )));
        }
        if version < 3 && bindings.as_array().is_some_and(|b| b.iter().any(is_conditional)) {
            return Err(ApiError::invalid(
                "Invalid argument: policies with conditional role bindings must be version 3. For more information, please refer to https://cloud.google.com/iam/docs/policies#versions",
            ));
        }
        for binding in bindings.as_array().into_iter().flatten() {
            let role = binding["role"].as_str().unwrap_or_default();
            let known_prefix =
                role.starts_with("roles/") || role.starts_with("projects/") || role.starts_with("organizations/");
            if !known_prefix || role.contains("_withcond_") {
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
        self.bindings = bindings;
        self.audit_configs = new.get("auditConfigs").cloned().unwrap_or(Value::Null);
        self.version = version;
        self.etag = util::etag(app.next());
        Ok(self.to_json())
    }
}

/// Refuses members IAM does not know (yet): service accounts of `project` not created or not
/// propagated, and Workload Identity principals of a pool that does not exist.
pub fn check_members(app: &App, world: &World, project: &str, policy: &Value) -> ApiResult<()> {
    for account in service_accounts(policy) {
        let own = account.ends_with(&format!("@{project}.iam.gserviceaccount.com"));
        if own && !world.iam.known(app, &account) {
            return Err(ApiError::invalid(format!("Service account {account} does not exist.")));
        }
    }
    let pool = format!("{project}.svc.id.goog");
    let uses_pool = members(policy).iter().any(|m| {
        m.contains(&format!("/workloadIdentityPools/{pool}/")) || m.starts_with(&format!("serviceAccount:{pool}["))
    });
    if uses_pool && !world.container.has_workload_pool(&pool) {
        return Err(ApiError::invalid(format!(
            "Identity Pool does not exist ({pool}). Please check that you specified a valid resource name as returned in the `name` attribute in the configuration API."
        )));
    }
    Ok(())
}

/// The Resource Manager / IAM wording for a stale etag.
pub fn concurrent_change(sent: &str, current: &str) -> ApiError {
    ApiError::aborted(format!(
        "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff. The request's ETag '{sent}' did not match the current policy's ETag '{current}'."
    ))
}

fn members(policy: &Value) -> Vec<String> {
    policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect()
}

/// Every `serviceAccount:` member of a policy (Workload Identity's `PROJECT.svc.id.goog[...]`
/// members are not service accounts).
pub fn service_accounts(policy: &Value) -> Vec<String> {
    members(policy)
        .into_iter()
        .filter_map(|m| m.strip_prefix("serviceAccount:").map(str::to_string))
        .filter(|m| !m.contains('['))
        .collect()
}
