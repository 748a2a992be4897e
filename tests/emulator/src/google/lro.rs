//! AIP-151 long-running operations (`google.longrunning.Operation`), shared by the proto APIs:
//! `{"name","metadata":{"@type":...},"done":false}`, later `done:true` with `response` (with the
//! right `@type`: the Rust pollers decode it by type) or `error`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply};

pub const EMPTY: &str = "type.googleapis.com/google.protobuf.Empty";

#[derive(Default)]
pub struct State {
    ops: BTreeMap<String, Value>,
}

impl State {
    /// Records a running operation and returns it.
    pub fn start(&mut self, name: String, metadata: Value) -> Value {
        let op = json!({ "name": name, "metadata": metadata, "done": false });
        self.ops.insert(name, op.clone());
        op
    }

    /// Records an operation that finished at once and returns it.
    pub fn done(&mut self, name: String, metadata: Value, result: Result<Value, ApiError>) -> Value {
        self.start(name.clone(), metadata);
        self.finish(&name, result);
        self.ops.get(&name).cloned().unwrap_or(Value::Null)
    }

    /// Marks the operation done with `response` (which carries its `@type`) or an error.
    pub fn finish(&mut self, name: &str, result: Result<Value, ApiError>) {
        let Some(op) = self.ops.get_mut(name) else {
            return;
        };
        op["done"] = json!(true);
        if let Some(meta) = op.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("endTime".into(), json!(now_rfc3339()));
        }
        match result {
            Ok(response) => op["response"] = response,
            Err(e) => op["error"] = e.rpc_status(),
        }
    }

    /// Replaces the operation's metadata (Cloud Build reports the build's progress there).
    pub fn set_metadata(&mut self, name: &str, metadata: Value) {
        if let Some(op) = self.ops.get_mut(name) {
            op["metadata"] = metadata;
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.ops.get(name)
    }

    pub fn list(&self, prefix: &str) -> Vec<Value> {
        self.ops
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// `response` of a finished operation: the resource with its `@type` first.
pub fn typed(type_url: &str, resource: &Value) -> Value {
    let mut out = json!({ "@type": type_url });
    if let (Some(out_map), Some(map)) = (out.as_object_mut(), resource.as_object()) {
        for (k, v) in map {
            out_map.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The operation name in a `GET v1/{name=...operations/*}` call: the path after the version.
pub fn name_from_path(call: &Call) -> String {
    let path = call.path.trim_start_matches('/');
    let name = path.split_once('/').map(|(_, rest)| rest).unwrap_or(path);
    crate::route::decode(name.split(':').next().unwrap_or(name))
}

/// Generic `operations.get`.
pub fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = name_from_path(call);
    let world = app.world();
    match world.lro.get(&name) {
        Some(op) => Ok(Reply::json(op.clone())),
        None => Err(ApiError::not_found(format!("Operation {name} not found."))),
    }
}

/// Generic `operations.list` under `projects/*/locations/*`.
pub fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let parent = name_from_path(call);
    let prefix = format!("{}/", parent.trim_end_matches('/'));
    let ops = app.world().lro.list(&prefix);
    Ok(Reply::json(json!({ "operations": ops })))
}
