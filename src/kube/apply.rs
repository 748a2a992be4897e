//! Server-side apply of arbitrary objects (kinds resolved through discovery, cached), reads,
//! deletions that wait for finalizers, and readiness waits whose timeouts name the object.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, ValidationDirective};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;

use super::objects::{ident, kind, name, namespace};
use crate::gcp::wait::{Patience, Poll, until};
use crate::names::FIELD_MANAGER;
use crate::plan::StepCx;

/// A cluster's API, with a cache of resolved kinds.
pub struct Kube {
    client: Client,
    kinds: Mutex<HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>>,
}

impl Kube {
    pub fn new(client: Client) -> Self {
        Self { client, kinds: Mutex::new(HashMap::new()) }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn gvk(obj: &Value) -> anyhow::Result<GroupVersionKind> {
        let api_version =
            obj["apiVersion"].as_str().ok_or_else(|| anyhow::anyhow!("{} has no apiVersion", ident(obj)))?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        Ok(GroupVersionKind::gvk(group, version, kind(obj)))
    }

    /// Resolves a kind through discovery (once per kind and run).
    async fn resource(&self, obj: &Value) -> anyhow::Result<(ApiResource, ApiCapabilities)> {
        let gvk = Self::gvk(obj)?;
        if let Some(found) = self.kinds.lock().ok().and_then(|k| k.get(&gvk).cloned()) {
            return Ok(found);
        }
        let found = kube::discovery::pinned_kind(&self.client, &gvk).await.map_err(|e| {
            anyhow::anyhow!(
                "the cluster does not serve {}/{} {} (is its CRD installed?): {e}",
                gvk.group,
                gvk.version,
                gvk.kind
            )
        })?;
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.insert(gvk, found.clone());
        }
        Ok(found)
    }

    async fn api(&self, obj: &Value) -> anyhow::Result<Api<DynamicObject>> {
        let (resource, caps) = self.resource(obj).await?;
        Ok(match (caps.scope, namespace(obj)) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource),
            (Scope::Namespaced, None) => anyhow::bail!("{} needs a namespace", ident(obj)),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), &resource),
        })
    }

    /// The live object, if it exists.
    pub async fn get(&self, obj: &Value) -> anyhow::Result<Option<Value>> {
        let api = self.api(obj).await?;
        let found = api.get_opt(name(obj)).await.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", ident(obj)))?;
        Ok(found.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    /// Server-side apply with sdctl's field manager; `force` takes over fields another manager set.
    /// `strict` refuses unknown fields (sdctl's own objects: a typo is a bug); upstream manifests
    /// are applied like `kubectl`'s default, warning about fields the server drops.
    pub async fn apply(&self, obj: &Value, strict: bool) -> anyhow::Result<Value> {
        let api = self.api(obj).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.field_validation = Some(if strict { ValidationDirective::Strict } else { ValidationDirective::Warn });
        let applied = api
            .patch(name(obj), &params, &Patch::Apply(obj))
            .await
            .map_err(|e| anyhow::anyhow!("cannot apply {}: {e}", ident(obj)))?;
        Ok(serde_json::to_value(applied).unwrap_or(Value::Null))
    }

    /// Deletes fields with a JSON merge patch (`null` values), before an apply that no longer
    /// sets them (see [`crate::kube::objects::removal_patch`]).
    pub async fn remove_fields(&self, obj: &Value, patch: &Value) -> anyhow::Result<()> {
        let api = self.api(obj).await?;
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_string()), ..Default::default() };
        api.patch(name(obj), &params, &Patch::Merge(patch))
            .await
            .map_err(|e| anyhow::anyhow!("cannot remove fields sdctl no longer sets from {}: {e}", ident(obj)))?;
        Ok(())
    }

    /// Deletes the object (foreground); false when it was already gone.
    pub async fn delete(&self, obj: &Value) -> anyhow::Result<bool> {
        let api = self.api(obj).await?;
        match api.delete(name(obj), &DeleteParams::foreground()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
            Err(e) => Err(anyhow::anyhow!("cannot delete {}: {e}", ident(obj))),
        }
    }

    /// Waits until the object is gone (its finalizers have run).
    pub async fn wait_gone<E>(&self, cx: &StepCx<E>, obj: &Value, patience: Patience) -> anyhow::Result<()> {
        let what = format!("{} to be deleted", ident(obj));
        until(cx, &what, patience, || async {
            Ok(match self.get(obj).await? {
                None => Poll::Ready(()),
                Some(live) => {
                    let finalizers = live["metadata"]["finalizers"].as_array().map(|f| f.len()).unwrap_or(0);
                    Poll::Pending(format!("{finalizers} finalizer(s) left"))
                }
            })
        })
        .await
    }

    /// Waits until the object is ready for use, as its kind defines it (no-op for other kinds).
    pub async fn wait_ready<E>(&self, cx: &StepCx<E>, obj: &Value, patience: Patience) -> anyhow::Result<()> {
        if readiness(kind(obj), &Value::Null).is_none() {
            return Ok(());
        }
        let what = format!("{} to be ready", ident(obj));
        until(cx, &what, patience, || async {
            let live = self.get(obj).await?.unwrap_or(Value::Null);
            Ok(match readiness(kind(obj), &live) {
                Some(Ok(())) | None => Poll::Ready(()),
                Some(Err(status)) => Poll::Pending(status),
            })
        })
        .await
    }
}

/// Whether a live object of `kind` is ready: `None` for kinds sdctl does not wait for,
/// `Some(Err(status))` while not ready.
pub fn readiness(kind: &str, live: &Value) -> Option<Result<(), String>> {
    let condition = |name: &str| {
        live["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == name))
            .map(|c| c["status"] == "True")
            .unwrap_or(false)
    };
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    Some(match kind {
        "CustomResourceDefinition" => {
            if condition("Established") {
                Ok(())
            } else {
                Err("not established".into())
            }
        }
        "APIService" => {
            if condition("Available") {
                Ok(())
            } else {
                Err("not available".into())
            }
        }
        "Deployment" => {
            let want = live["spec"]["replicas"].as_i64().unwrap_or(1);
            let have = num(&live["status"]["availableReplicas"]);
            let current = num(&live["status"]["observedGeneration"]) >= num(&live["metadata"]["generation"]);
            if have >= want && current { Ok(()) } else { Err(format!("{have}/{want} available")) }
        }
        "DaemonSet" => {
            let want = num(&live["status"]["desiredNumberScheduled"]);
            let have = num(&live["status"]["numberReady"]);
            if have >= want && !live["status"].is_null() { Ok(()) } else { Err(format!("{have}/{want} ready")) }
        }
        "PersistentVolumeClaim" => match live["status"]["phase"].as_str() {
            Some("Bound") => Ok(()),
            phase => Err(phase.unwrap_or("Pending").to_string()),
        },
        _ => return None,
    })
}
