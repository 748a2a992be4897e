//! Google's error responses.
//!
//! Two shapes exist. The proto-based APIs (container, file, redis, ...) answer AIP-193:
//! `{"error":{"code":404,"message":"...","status":"NOT_FOUND","details":[...]}}`. The older
//! discovery-era APIs (compute, storage) answer `{"error":{"code":404,"message":"...",
//! "errors":[{"message","domain":"global","reason":"notFound"}]}}` without `status`; clients
//! then only have the HTTP code and the `reason`, and sdctl must cope with exactly that.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    /// Canonical status name (`NOT_FOUND`).
    pub status: &'static str,
    pub message: String,
    /// `google.rpc.*` details (ErrorInfo, Help, ...), each with its `@type`.
    pub details: Vec<Value>,
    /// Legacy `errors[].reason` (compute, storage); derived from the status when absent.
    pub reason: Option<&'static str>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u32>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// How a service formats its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Aip193,
    Legacy,
}

impl ApiError {
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status: canonical_status(code),
            message: message.into(),
            details: Vec::new(),
            reason: None,
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: &'static str) -> Self {
        self.status = status;
        self
    }

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    /// An `ErrorInfo` detail.
    pub fn with_info(self, reason: &str, domain: &str, metadata: Value) -> Self {
        self.with_detail(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": domain,
            "metadata": metadata,
        }))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(400, message).with_status("FAILED_PRECONDITION")
    }
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }
    pub fn aborted(message: impl Into<String>) -> Self {
        Self::new(409, message).with_status("ABORTED")
    }

    /// The JSON body in the service's style.
    pub fn body(&self, style: Style) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        match style {
            Style::Aip193 => {
                error["status"] = json!(self.status);
            }
            Style::Legacy => {
                let reason = self.reason.unwrap_or_else(|| legacy_reason(self.code));
                error["errors"] = json!([{
                    "message": self.message, "domain": "global", "reason": reason,
                }]);
            }
        }
        if !self.details.is_empty() {
            error["details"] = Value::Array(self.details.clone());
        }
        json!({ "error": error })
    }

    /// A compute `Operation.error` / GKE `Operation.error` payload for a failed operation.
    pub fn rpc_status(&self) -> Value {
        json!({ "code": grpc_code(self.status), "message": self.message, "details": self.details })
    }
}

/// The canonical status Google maps an HTTP code to (the most common one).
pub fn canonical_status(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// The canonical message for an injected fault without its own message.
pub fn canonical_message(code: u16) -> &'static str {
    match code {
        429 => "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
        500 => "Internal error encountered.",
        502 => "Bad Gateway",
        503 => "The service is currently unavailable.",
        504 => "Deadline exceeded.",
        _ => "Injected fault.",
    }
}

fn legacy_reason(code: u16) -> &'static str {
    match code {
        400 => "invalid",
        401 => "required",
        403 => "forbidden",
        404 => "notFound",
        409 => "conflict",
        412 => "conditionNotMet",
        429 => "rateLimitExceeded",
        503 => "backendError",
        _ => "backendError",
    }
}

/// gRPC code numbers, as `google.rpc.Status.code` carries them.
pub fn grpc_code(status: &str) -> i32 {
    match status {
        "CANCELLED" => 1,
        "UNKNOWN" => 2,
        "INVALID_ARGUMENT" => 3,
        "DEADLINE_EXCEEDED" => 4,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "ABORTED" => 10,
        "OUT_OF_RANGE" => 11,
        "UNIMPLEMENTED" => 12,
        "INTERNAL" => 13,
        "UNAVAILABLE" => 14,
        "DATA_LOSS" => 15,
        "UNAUTHENTICATED" => 16,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aip193_and_legacy_shapes() {
        let e = ApiError::not_found("Not found: x.");
        assert_eq!(e.body(Style::Aip193)["error"]["status"], "NOT_FOUND");
        let legacy = e.body(Style::Legacy);
        assert!(legacy["error"].get("status").is_none());
        assert_eq!(legacy["error"]["errors"][0]["reason"], "notFound");
        assert_eq!(ApiError::aborted("x").rpc_status()["code"], 10);
    }
}
