//! Errors as the API server reports them: a `meta.k8s.io/v1` `Status` with an HTTP code.

use serde_json::{Value, json};

/// One field-level cause of a 422 Invalid (or 409 apply conflict), as in `Status.details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

impl Cause {
    /// `FieldValueRequired`: `spec.template: Required value`.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let field = field.into();
        let message = if detail.is_empty() {
            format!("{field}: Required value")
        } else {
            format!("{field}: Required value: {detail}")
        };
        Self { reason: "FieldValueRequired", field, message }
    }

    /// `FieldValueInvalid`: `spec.replicas: Invalid value: -1: must be ...`.
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        let field = field.into();
        let message = format!("{field}: Invalid value: {}: {detail}", shown(value));
        Self { reason: "FieldValueInvalid", field, message }
    }

    /// `FieldValueNotSupported`: `spec.scheduling: Unsupported value: "Foo": supported values: ...`.
    pub fn not_supported(field: impl Into<String>, value: &Value, allowed: &[Value]) -> Self {
        let field = field.into();
        let list: Vec<String> = allowed.iter().map(shown).collect();
        let message = format!("{field}: Unsupported value: {}: supported values: {}", shown(value), list.join(", "));
        Self { reason: "FieldValueNotSupported", field, message }
    }

    /// `FieldValueForbidden`.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        let field = field.into();
        let message = format!("{field}: Forbidden: {detail}");
        Self { reason: "FieldValueForbidden", field, message }
    }

    /// `FieldValueDuplicate`.
    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        let field = field.into();
        let message = format!("{field}: Duplicate value: {}", shown(value));
        Self { reason: "FieldValueDuplicate", field, message }
    }

    /// `FieldValueTypeInvalid` (structural schema type mismatch).
    pub fn type_invalid(field: impl Into<String>, value: &Value, expected: &str) -> Self {
        let field = field.into();
        let message = format!(
            "{field}: Invalid value: \"{}\": {field} in body must be of type {expected}: {}",
            json_type(value),
            shown(value)
        );
        Self { reason: "FieldValueTypeInvalid", field, message }
    }

    /// `FieldValueTooLong`.
    pub fn too_long(field: impl Into<String>, max: u64) -> Self {
        let field = field.into();
        let message = format!("{field}: Too long: may not be more than {max} bytes");
        Self { reason: "FieldValueTooLong", field, message }
    }

    /// `FieldValueTooMany`.
    pub fn too_many(field: impl Into<String>, got: usize, max: u64) -> Self {
        let field = field.into();
        let message = format!("{field}: Too many: {got}: must have at most {max} items");
        Self { reason: "FieldValueTooMany", field, message }
    }
}

/// How Go's field errors print a value: strings quoted, the rest as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The JSON type name the structural schema validator reports.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An API error: HTTP code, `reason` and a `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

/// `group` and `kind`/`resource` as they appear in `Status.details`.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// e.g. `deployments.apps`, `pods`: what messages name.
    pub qualified: String,
    pub group: &'a str,
    /// Plural resource name (`details.kind` carries it for NotFound/AlreadyExists/Conflict).
    pub resource: &'a str,
    pub name: &'a str,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self { code, reason, message: message.into(), details: None }
    }

    fn with_target(mut self, t: &Target<'_>) -> Self {
        let mut d = json!({ "name": t.name, "kind": t.resource });
        if !t.group.is_empty() {
            d["group"] = json!(t.group);
        }
        self.details = Some(d);
        self
    }

    pub fn not_found(t: &Target<'_>) -> Self {
        Self::new(404, "NotFound", format!("{} {:?} not found", t.qualified, t.name)).with_target(t)
    }

    pub fn already_exists(t: &Target<'_>) -> Self {
        Self::new(409, "AlreadyExists", format!("{} {:?} already exists", t.qualified, t.name)).with_target(t)
    }

    /// Stale `resourceVersion` on update.
    pub fn conflict(t: &Target<'_>) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
                t.qualified, t.name
            ),
        )
        .with_target(t)
    }

    /// Server-side apply conflicts with other field managers.
    pub fn apply_conflict(causes: Vec<Cause>) -> Self {
        let n = causes.len();
        let listed: Vec<String> = causes.iter().map(|c| c.message.clone()).collect();
        let message = if n == 1 {
            format!("Apply failed with 1 conflict: {}", listed[0])
        } else {
            format!("Apply failed with {n} conflicts: {}", listed.join("\n"))
        };
        let mut e = Self::new(409, "Conflict", message);
        e.details = Some(json!({ "causes": causes_json(&causes) }));
        e
    }

    /// 422 Invalid: `Kind.group "name" is invalid: [causes]`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        let listed: Vec<String> = causes.iter().map(|c| c.message.clone()).collect();
        let body = if listed.len() == 1 { listed[0].clone() } else { format!("[{}]", listed.join(", ")) };
        let mut e = Self::new(422, "Invalid", format!("{qualified} {name:?} is invalid: {body}"));
        let mut d = json!({ "name": name, "kind": kind, "causes": causes_json(&causes) });
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        e.details = Some(d);
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The path names no resource this server knows (or not yet: a CRD not established).
    pub fn no_resource() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    /// The `Status` object sent as the body.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

fn causes_json(causes: &[Cause]) -> Vec<Value> {
    causes.iter().map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_reads_like_the_api_server() {
        let e = ApiError::invalid(
            "agones.dev",
            "Fleet",
            "sd",
            vec![Cause::not_supported("spec.scheduling", &json!("Foo"), &[json!("Packed"), json!("Distributed")])],
        );
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            r#"Fleet.agones.dev "sd" is invalid: spec.scheduling: Unsupported value: "Foo": supported values: "Packed", "Distributed""#
        );
        assert_eq!(e.to_status()["details"]["causes"][0]["field"], "spec.scheduling");
    }

    #[test]
    fn not_found_names_the_resource() {
        let t = Target { qualified: "deployments.apps".into(), group: "apps", resource: "deployments", name: "web" };
        let s = ApiError::not_found(&t).to_status();
        assert_eq!(s["message"], r#"deployments.apps "web" not found"#);
        assert_eq!(s["details"]["group"], "apps");
        assert_eq!(s["code"], 404);
    }
}
