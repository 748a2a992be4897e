//! One error type for every Google API call: what was attempted, what Google said, and what the
//! user can do about it. Callers branch on [`ErrorKind`] (absent -> create, exists -> adopt,
//! transient -> retry); users read the message and the fix.

use std::fmt;
use std::time::Duration;

use google_cloud_gax::error::Error as SdkError;
use google_cloud_gax::error::rpc::{Code, StatusDetails};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    PermissionDenied,
    QuotaExceeded,
    /// The API is not enabled in the project.
    ServiceDisabled,
    InvalidArgument,
    /// E.g. GKE's "Cluster is running incompatible operation": retried.
    FailedPrecondition,
    /// Stale etag / concurrent modification: re-read and retry.
    Aborted,
    /// 429 (rate limit), retried after `Retry-After`.
    RateLimited,
    /// 5xx, I/O and connection errors: retried.
    Unavailable,
    Unauthenticated,
    Timeout,
    Other,
}

/// Quota details as Google reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub metric: String,
    pub limit: Option<f64>,
    /// Region, or `global` for project-wide metrics.
    pub scope: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    /// What sdctl was doing: `create GKE cluster sd-demo-gke`.
    pub action: String,
    pub kind: ErrorKind,
    pub http_status: Option<u16>,
    /// Google's message.
    pub message: String,
    /// The IAM permission Google named, for PermissionDenied.
    pub permission: Option<String>,
    pub quota: Option<Quota>,
    /// The API to enable, for ServiceDisabled.
    pub service: Option<String>,
    pub retry_after: Option<Duration>,
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(action: impl Into<String>, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            kind,
            http_status: None,
            message: message.into(),
            permission: None,
            quota: None,
            service: None,
            retry_after: None,
        }
    }

    /// Classifies an error of Google's Rust SDK.
    pub fn from_sdk(action: impl Into<String>, e: &SdkError) -> Self {
        let mut err = Self::new(action, ErrorKind::Other, e.to_string());
        err.http_status = e.http_status_code();
        err.retry_after = e
            .http_headers()
            .and_then(|h| h.get("retry-after"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if let Some(status) = e.status() {
            err.message = status.message.clone();
            err.kind = kind_of_code(status.code);
            for detail in &status.details {
                match detail {
                    StatusDetails::ErrorInfo(info) => {
                        match info.reason.as_str() {
                            "SERVICE_DISABLED" | "accessNotConfigured" => err.kind = ErrorKind::ServiceDisabled,
                            "RATE_LIMIT_EXCEEDED" => err.kind = ErrorKind::RateLimited,
                            r if r.contains("QUOTA") || r == "quotaExceeded" => err.kind = ErrorKind::QuotaExceeded,
                            _ => {}
                        }
                        if let Some(p) = info.metadata.get("permission") {
                            err.permission = Some(p.clone());
                        }
                        if let Some(s) = info.metadata.get("service").or_else(|| info.metadata.get("serviceTitle")) {
                            err.service.get_or_insert_with(|| s.clone());
                        }
                        if let Some(metric) =
                            info.metadata.get("quota_metric").or_else(|| info.metadata.get("quota_limit"))
                        {
                            err.quota = Some(Quota {
                                metric: metric.clone(),
                                limit: info.metadata.get("quota_limit_value").and_then(|v| v.parse().ok()),
                                scope: info
                                    .metadata
                                    .get("quota_location")
                                    .or_else(|| info.metadata.get("region"))
                                    .cloned(),
                            });
                        }
                    }
                    StatusDetails::QuotaFailure(q) => {
                        err.kind = ErrorKind::QuotaExceeded;
                        if err.quota.is_none()
                            && let Some(v) = q.violations.first()
                        {
                            err.quota = parse_quota_message(&v.description).or(Some(Quota {
                                metric: v.subject.clone(),
                                limit: None,
                                scope: None,
                            }));
                        }
                    }
                    _ => {}
                }
            }
        } else if e.is_timeout() {
            err.kind = ErrorKind::Timeout;
        } else if e.is_io() || e.is_connect() || e.is_transport() {
            err.kind = ErrorKind::Unavailable;
        } else if e.is_authentication() {
            err.kind = ErrorKind::Unauthenticated;
        }
        if err.kind == ErrorKind::Other
            && let Some(code) = err.http_status
        {
            err.kind = kind_of_http(code);
        }
        err.refine_from_message();
        err
    }

    /// Compute and older APIs put quota and permission details only in the message text.
    pub fn refine_from_message(&mut self) {
        if let Some(q) = parse_quota_message(&self.message) {
            self.kind = ErrorKind::QuotaExceeded;
            self.quota.get_or_insert(q);
        }
        if self.permission.is_none()
            && let Some(p) =
                between(&self.message, "Permission '", "'").or_else(|| between(&self.message, "permission '", "'"))
        {
            self.permission = Some(p.to_string());
        }
        if self.kind == ErrorKind::PermissionDenied
            && (self.message.contains("has not been used in project") || self.message.contains("it is disabled"))
        {
            self.kind = ErrorKind::ServiceDisabled;
        }
        if self.kind == ErrorKind::ServiceDisabled && self.service.is_none() {
            self.service = self
                .message
                .split_whitespace()
                .find(|w| w.ends_with(".googleapis.com"))
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.').to_string());
        }
    }

    /// Transient: worth retrying with backoff.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            // Aborted (a stale etag) is not retried as is: the caller must read again first.
            ErrorKind::Unavailable | ErrorKind::RateLimited => true,
            // GKE allows one mutating operation per cluster: "operation in progress" clears up.
            ErrorKind::FailedPrecondition => {
                let m = self.message.to_ascii_lowercase();
                m.contains("incompatible operation") || m.contains("operation in progress") || m.contains("try again")
            }
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn is_already_exists(&self) -> bool {
        self.kind == ErrorKind::AlreadyExists
    }

    /// IAM's answer for a member it does not know yet although it was just made: a new service
    /// account ("Service account X does not exist." from Resource Manager, `Service account "X"
    /// does not exist.` from GKE) or the Workload Identity pool of a cluster just created
    /// ("Identity Pool does not exist (P.svc.id.goog)"). IAM is eventually consistent.
    pub fn is_propagation_delay(&self) -> bool {
        self.kind == ErrorKind::InvalidArgument
            && ((self.message.contains("Service account") && self.message.contains("does not exist"))
                || self.message.contains("Identity Pool does not exist"))
    }

    /// Whether `e` is Google's answer for an API the project has not enabled.
    pub fn is_service_disabled(e: &anyhow::Error) -> bool {
        e.downcast_ref::<ApiError>().is_some_and(|a| a.kind == ErrorKind::ServiceDisabled)
    }

    /// What the user can do about it.
    pub fn fix(&self) -> Option<String> {
        match self.kind {
            ErrorKind::PermissionDenied => Some(match &self.permission {
                Some(p) => format!(
                    "grant the caller a role with {p} (e.g. {}), or ask a project owner to",
                    role_for_permission(p)
                ),
                None => "check the caller's IAM roles on the project (sdctl preflight lists what is missing)".into(),
            }),
            ErrorKind::QuotaExceeded => Some(match &self.quota {
                Some(q) => format!(
                    "request more {} quota{} at https://console.cloud.google.com/iam-admin/quotas, or lower the config's node counts",
                    q.metric,
                    q.scope.as_ref().map(|s| format!(" in {s}")).unwrap_or_default()
                ),
                None => "request a quota increase at https://console.cloud.google.com/iam-admin/quotas".into(),
            }),
            ErrorKind::ServiceDisabled => Some(format!(
                "enable it: gcloud services enable {} (or run `sdctl up apis`)",
                self.service.as_deref().unwrap_or("THE-API.googleapis.com")
            )),
            ErrorKind::Unauthenticated => Some("run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS".into()),
            ErrorKind::AlreadyExists => Some("a resource with this name exists but was not created by sdctl for this environment: rename the environment (name) or delete the resource".into()),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::QuotaExceeded => "quota exceeded",
            ErrorKind::ServiceDisabled => "API not enabled",
            ErrorKind::InvalidArgument => "invalid request",
            ErrorKind::FailedPrecondition => "not possible now",
            ErrorKind::Aborted => "concurrent change",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unavailable => "service unavailable",
            ErrorKind::Unauthenticated => "not authenticated",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Other => "failed",
        };
        write!(f, "{}: {what}", self.action)?;
        if let Some(code) = self.http_status {
            write!(f, " (HTTP {code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message.trim_end())?;
        }
        if let Some(q) = &self.quota
            && !self.message.contains(&q.metric)
        {
            write!(f, " [quota {}", q.metric)?;
            if let Some(l) = q.limit {
                write!(f, ", limit {l}")?;
            }
            if let Some(s) = &q.scope {
                write!(f, ", {s}")?;
            }
            write!(f, "]")?;
        }
        if let Some(fix) = self.fix() {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

fn kind_of_code(code: Code) -> ErrorKind {
    match code {
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists => ErrorKind::AlreadyExists,
        Code::PermissionDenied => ErrorKind::PermissionDenied,
        Code::ResourceExhausted => ErrorKind::RateLimited,
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        Code::FailedPrecondition => ErrorKind::FailedPrecondition,
        Code::Aborted => ErrorKind::Aborted,
        Code::Unavailable | Code::Internal => ErrorKind::Unavailable,
        Code::Unauthenticated => ErrorKind::Unauthenticated,
        Code::DeadlineExceeded => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

pub fn kind_of_http(code: u16) -> ErrorKind {
    match code {
        400 => ErrorKind::InvalidArgument,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        412 => ErrorKind::Aborted,
        429 => ErrorKind::RateLimited,
        500 | 502 | 503 | 504 => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// Quota details from the message text, in Compute's wording
/// (`Quota 'NVIDIA_T4_GPUS' exceeded.  Limit: 0.0 in region us-central1.`) or GKE's
/// (`Insufficient regional quota to satisfy request: resource "CPUS": request requires '4.0' and
/// is short '2.0'. project has a quota of '2.0' with '2.0' available in region us-central1.`).
pub fn parse_quota_message(message: &str) -> Option<Quota> {
    if message.contains("Insufficient") && message.contains("quota") {
        let metric = between(message, "resource \"", "\"")?.to_string();
        let limit = between(message, "quota of '", "'").and_then(|n| n.parse().ok());
        let scope = between(message, " in region ", ".")
            .map(|r| r.trim().to_string())
            .or_else(|| message.contains("Insufficient project quota").then(|| "global".to_string()));
        return Some(Quota { metric, limit, scope });
    }
    let metric = between(message, "Quota '", "' exceeded")?.to_string();
    let limit = message
        .split("Limit: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_end_matches('.').parse().ok());
    let scope = message
        .split(" in region ")
        .nth(1)
        .map(|rest| {
            rest.trim_end_matches(['.', ' ']).split_whitespace().next().unwrap_or("").trim_end_matches('.').to_string()
        })
        .or_else(|| message.contains("globally").then(|| "global".to_string()));
    Some(Quota { metric, limit, scope })
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// A predefined role that grants `permission` (the narrowest common one).
pub fn role_for_permission(permission: &str) -> &'static str {
    match permission {
        "iam.serviceAccounts.actAs" => return "roles/iam.serviceAccountUser",
        "resourcemanager.projects.get" => return "roles/browser",
        p if p.starts_with("resourcemanager.projects.") => return "roles/resourcemanager.projectIamAdmin",
        p if p.starts_with("compute.firewalls.") || p == "compute.networks.updatePolicy" => {
            return "roles/compute.securityAdmin";
        }
        p if ["compute.routers.", "compute.networks.", "compute.subnetworks.", "compute.globalAddresses."]
            .iter()
            .any(|prefix| p.starts_with(prefix)) =>
        {
            return "roles/compute.networkAdmin";
        }
        _ => {}
    }
    let service = permission.split('.').next().unwrap_or("");
    match service {
        "container" => "roles/container.admin",
        "compute" => "roles/compute.admin",
        "file" => "roles/file.editor",
        "redis" => "roles/redis.admin",
        "artifactregistry" => "roles/artifactregistry.admin",
        "cloudbuild" => "roles/cloudbuild.builds.editor",
        "iap" => "roles/iap.admin",
        "storage" => "roles/storage.admin",
        "serviceusage" => "roles/serviceusage.serviceUsageAdmin",
        "iam" => "roles/iam.serviceAccountAdmin",
        "resourcemanager" => "roles/resourcemanager.projectIamAdmin",
        "billing" => "roles/billing.viewer",
        "orgpolicy" => "roles/orgpolicy.policyViewer",
        _ => "roles/editor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_quota_messages_are_parsed() {
        let q = parse_quota_message("Quota 'NVIDIA_T4_GPUS' exceeded.  Limit: 0.0 in region us-central1.").unwrap();
        assert_eq!(q, Quota { metric: "NVIDIA_T4_GPUS".into(), limit: Some(0.0), scope: Some("us-central1".into()) });
        let q = parse_quota_message("Quota 'GPUS_ALL_REGIONS' exceeded.  Limit: 0.0 globally.").unwrap();
        assert_eq!(q.scope.as_deref(), Some("global"));
        let gke = "Insufficient regional quota to satisfy request: resource \"CPUS\": request requires '4.0' and is short '2.0'. project has a quota of '2.0' with '2.0' available in region us-central1. View and manage quotas at https://console.cloud.google.com/iam-admin/quotas?usage=USED&project=p.";
        let q = parse_quota_message(gke).unwrap();
        assert_eq!(q, Quota { metric: "CPUS".into(), limit: Some(2.0), scope: Some("us-central1".into()) });
    }

    #[test]
    fn messages_name_the_fix() {
        let mut e = ApiError::new(
            "create GKE cluster c",
            ErrorKind::PermissionDenied,
            "Permission 'container.clusters.create' denied on resource",
        );
        e.refine_from_message();
        assert_eq!(e.permission.as_deref(), Some("container.clusters.create"));
        assert!(
            e.to_string()
                .contains("fix: grant the caller a role with container.clusters.create (e.g. roles/container.admin)")
        );
        let mut e = ApiError::new(
            "x",
            ErrorKind::PermissionDenied,
            "Kubernetes Engine API has not been used in project 1 before or it is disabled. Enable it by visiting https://console... container.googleapis.com then retry.",
        );
        e.refine_from_message();
        assert_eq!(e.kind, ErrorKind::ServiceDisabled);
        assert_eq!(e.service.as_deref(), Some("container.googleapis.com"));
    }

    #[test]
    fn transient_errors() {
        assert!(ApiError::new("a", ErrorKind::Unavailable, "").is_transient());
        assert!(
            ApiError::new("a", ErrorKind::FailedPrecondition, "Cluster is running incompatible operation operation-1.")
                .is_transient()
        );
        assert!(
            !ApiError::new("a", ErrorKind::FailedPrecondition, "Node pool needs the cluster to be RUNNING")
                .is_transient()
        );
        assert!(!ApiError::new("a", ErrorKind::QuotaExceeded, "").is_transient());
    }
}
