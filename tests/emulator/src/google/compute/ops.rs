//! Compute operations (`compute#operation`): `status` RUNNING then DONE, failures in
//! `error.errors[]` with `httpErrorStatusCode`; polled per scope (global, region, zone) by `get`
//! or `wait`.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{BASE, Place};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::google::World;
use crate::google::util::compute_operation_id;
use crate::route::{Call, Reply};

/// Records a RUNNING operation on `target` and returns it.
pub fn start(app: &App, world: &mut World, place: &Place, op_type: &str, target: &Value) -> Value {
    let name = compute_operation_id(app);
    let key = format!("{}/operations/{name}", place.path());
    let mut op = json!({
        "kind": "compute#operation",
        "id": app.numeric_id(),
        "name": name,
        "operationType": op_type,
        "targetLink": target.get("selfLink").cloned().unwrap_or(Value::Null),
        "targetId": target.get("id").cloned().unwrap_or(Value::Null),
        "status": "RUNNING",
        "user": "sdctl-emulator@example.com",
        "progress": 0,
        "insertTime": now_rfc3339(),
        "startTime": now_rfc3339(),
        "selfLink": format!("{BASE}{key}"),
    });
    match place {
        Place::Region { region, .. } => {
            op["region"] = json!(format!("{BASE}projects/{}/regions/{region}", place.project()))
        }
        Place::Zone { zone, .. } => op["zone"] = json!(format!("{BASE}projects/{}/zones/{zone}", place.project())),
        Place::Global { .. } => {}
    }
    world.compute.ops.insert(key, op.clone());
    op
}

/// Marks an operation DONE, successful or with Google's error fields.
pub fn finish(world: &mut World, op: &Value, result: Result<(), ApiError>) {
    let Some(key) = op.get("selfLink").and_then(Value::as_str).and_then(|s| s.strip_prefix(BASE)) else {
        return;
    };
    let Some(op) = world.compute.ops.get_mut(key) else {
        return;
    };
    op["status"] = json!("DONE");
    op["progress"] = json!(100);
    op["endTime"] = json!(now_rfc3339());
    if let Err(e) = result {
        op["error"] = json!({ "errors": [{ "code": error_code(&e), "message": e.message }] });
        op["httpErrorStatusCode"] = json!(e.code);
        op["httpErrorMessage"] = json!(http_message(e.code));
    }
}

fn error_code(e: &ApiError) -> &'static str {
    match e.reason {
        Some("quotaExceeded") => "QUOTA_EXCEEDED",
        Some("resourceInUseByAnotherResource") => "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
        Some("notFound") => "RESOURCE_NOT_FOUND",
        Some("alreadyExists") => "RESOURCE_ALREADY_EXISTS",
        Some("ZONE_RESOURCE_POOL_EXHAUSTED") => "ZONE_RESOURCE_POOL_EXHAUSTED",
        _ => match e.code {
            404 => "RESOURCE_NOT_FOUND",
            403 => "FORBIDDEN",
            409 => "RESOURCE_ALREADY_EXISTS",
            _ => "INVALID_FIELD_VALUE",
        },
    }
}

fn http_message(code: u16) -> &'static str {
    match code {
        400 => "BAD REQUEST",
        403 => "FORBIDDEN",
        404 => "NOT FOUND",
        409 => "CONFLICT",
        412 => "PRECONDITION FAILED",
        _ => "INTERNAL SERVER ERROR",
    }
}

/// Finishes an already recorded operation and returns it as it now is.
pub fn done(app: &App, world: &mut World, place: &Place, op_type: &str, target: &Value) -> Value {
    let op = start(app, world, place, op_type, target);
    finish(world, &op, Ok(()));
    current(world, &op)
}

pub fn current(world: &World, op: &Value) -> Value {
    op.get("selfLink")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix(BASE))
        .and_then(|k| world.compute.ops.get(k))
        .cloned()
        .unwrap_or_else(|| op.clone())
}

fn key_of(call: &Call) -> String {
    format!("{}/operations/{}", Place::of(call).path(), call.param("operation"))
}

pub fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = key_of(call);
    match app.world().compute.ops.get(&key) {
        Some(op) => Ok(Reply::json(op.clone())),
        None => Err(super::not_found(&key)),
    }
}

pub fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let prefix = format!("{}/operations/", Place::of(call).path());
    let world = app.world();
    let items: Vec<Value> = world
        .compute
        .ops
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, v)| v.clone())
        .collect();
    Ok(Reply::json(super::list_body("compute#operationList", &prefix, items)))
}

pub fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let key = key_of(call);
    match app.world().compute.ops.remove(&key) {
        Some(_) => Ok(Reply::no_content()),
        None => Err(super::not_found(&key)),
    }
}

/// `operations.wait`: returns when the operation is DONE or after 2 minutes (real time, as Google).
pub fn wait(app: Arc<App>, call: Call) -> BoxFuture<'static, ApiResult<Reply>> {
    async move {
        let key = key_of(&call);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let op = app.world().compute.ops.get(&key).cloned();
            let Some(op) = op else {
                return Err(super::not_found(&key));
            };
            if op["status"] == "DONE" || tokio::time::Instant::now() >= deadline {
                return Ok(Reply::json(op));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    .boxed()
}
