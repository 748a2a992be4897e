//! Admission of every write, in the API server's order: defaults, mutating webhooks, decoding
//! (unknown fields, types), validation, validating webhooks.

use serde_json::Value;

use super::api::{Opts, Validation};
use super::defaults;
use super::schema::Unknown;
use super::status::{ApiError, ApiResult, Cause};
use super::store::Store;
use super::types::ResourceType;
use super::{typed, validate, webhooks};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Create,
    Update,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "CREATE",
            Op::Update => "UPDATE",
        }
    }
}

pub fn admit(
    st: &mut Store,
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    op: Op,
    opts: &mut Opts,
) -> ApiResult<()> {
    defaults::apply(st, rt, obj, old, op);
    if !opts.internal {
        webhooks::call(st, rt, obj, op, webhooks::Phase::Mutating)?;
    }
    let mut causes = Vec::new();
    let unknown = decode(rt, obj, opts, &mut causes)?;
    if !rt.is_crd() {
        super::quantity::canonicalize(&rt.kind, obj);
    }
    if !unknown.is_empty() {
        match opts.validation {
            Validation::Strict if !opts.internal => return Err(unknown_error(rt, &unknown)),
            Validation::Warn if !opts.internal => {
                opts.warnings.extend(unknown.iter().map(|u| format!("unknown field {u:?}")));
            }
            _ => {}
        }
    }
    if opts.internal {
        return Ok(());
    }
    validate::object_meta(&rt.kind, obj, &mut causes);
    if !rt.is_crd() {
        validate::kind(&rt.kind, obj, old, &mut causes);
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(&rt.group, &rt.kind, super::meta::name(obj), causes));
    }
    webhooks::call(st, rt, obj, op, webhooks::Phase::Validating)
}

/// Schema (custom resources) or typed decoding (built-in kinds): returns the undeclared
/// fields, pruned from `obj` unless the request refuses them.
fn decode(rt: &ResourceType, obj: &mut Value, opts: &Opts, causes: &mut Vec<Cause>) -> ApiResult<Vec<String>> {
    let refuse = opts.validation == Validation::Strict && !opts.internal;
    if let Some(schema) = rt.schema() {
        let mode = if refuse { Unknown::Refuse } else { Unknown::Prune };
        let report = schema.check(obj, mode);
        causes.extend(report.causes);
        return Ok(report.unknown);
    }
    if rt.is_crd() || opts.internal {
        return Ok(Vec::new());
    }
    let d = typed::decode(&rt.kind, obj);
    if let Some(e) = d.error {
        // A missing required field reads as 422 Required, as the API server's validation says it.
        if let Some((prefix, tail)) = e.split_once("missing field `") {
            let field = tail.split('`').next().unwrap_or("");
            let path = prefix.trim_end_matches(": ").trim_end_matches(':');
            let full = if path.is_empty() || path == "." { field.to_string() } else { format!("{path}.{field}") };
            causes.push(Cause::required(full, ""));
            return Ok(d.unknown);
        }
        return Err(ApiError::bad_request(format!(
            "{kind} in version {v:?} cannot be handled as a {kind}: {e}",
            kind = rt.kind,
            v = rt.version
        )));
    }
    if !refuse {
        for path in &d.unknown {
            remove_dotted(obj, path);
        }
    }
    Ok(d.unknown)
}

fn unknown_error(rt: &ResourceType, unknown: &[String]) -> ApiError {
    let listed: Vec<String> = unknown.iter().map(|u| format!("unknown field {u:?}")).collect();
    ApiError::bad_request(format!(
        "{kind} in version {v:?} cannot be handled as a {kind}: strict decoding error: {}",
        listed.join(", "),
        kind = rt.kind,
        v = rt.version
    ))
}

/// Remove `a.b[0].c` from an object.
fn remove_dotted(obj: &mut Value, path: &str) {
    let mut parts: Vec<(String, Option<usize>)> = Vec::new();
    for seg in path.split('.') {
        match seg.split_once('[') {
            Some((name, rest)) => {
                parts.push((name.to_string(), None));
                for idx in rest.split('[') {
                    let i = idx.trim_end_matches(']').parse().ok();
                    parts.push((String::new(), i));
                }
            }
            None => parts.push((seg.to_string(), None)),
        }
    }
    let Some((last, head)) = parts.split_last() else { return };
    let mut cur = obj;
    for (name, idx) in head {
        let next = match idx {
            Some(i) => cur.get_mut(*i),
            None => cur.get_mut(name.as_str()),
        };
        let Some(n) = next else { return };
        cur = n;
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(&last.0);
    }
}
