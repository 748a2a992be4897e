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

/// The field manager of [`Kube::create`].
const CREATE_FIELD_MANAGER: &str = "sdctl-create";
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

    /// The live objects of `like`'s kind in its namespace that carry the labels of `selector`;
    /// none when the kind is not served.
    pub async fn list(&self, like: &Value, selector: &str) -> anyhow::Result<Vec<Value>> {
        let Ok(api) = self.api(like).await else { return Ok(Vec::new()) };
        let list = api
            .list(&kube::api::ListParams::default().labels(selector))
            .await
            .map_err(|e| anyhow::anyhow!("cannot list {} objects: {e}", kind(like)))?;
        Ok(list.items.into_iter().map(|o| serde_json::to_value(o).unwrap_or(Value::Null)).collect())
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

    /// Creates the object with the fields of `obj` alone, by server-side apply under the field
    /// manager `sdctl-create`: sdctl's own applies never name those fields, so they never
    /// remove them, and the component that runs the object takes them over by changing them (a
    /// GameServerSet's replicas, which the router scales). An object that exists meanwhile is
    /// left as it is.
    pub async fn create(&self, obj: &Value) -> anyhow::Result<()> {
        if self.get(obj).await?.is_some() {
            return Ok(());
        }
        let api = self.api(obj).await?;
        let params = PatchParams::apply(CREATE_FIELD_MANAGER);
        api.patch(name(obj), &params, &Patch::Apply(obj))
            .await
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", ident(obj)))?;
        Ok(())
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

    /// Waits until the object is ready for use, as its kind defines it (no-op for other kinds);
    /// fails at once when it cannot get there (a Deployment past its progress deadline).
    pub async fn wait_ready<E>(&self, cx: &StepCx<E>, obj: &Value, patience: Patience) -> anyhow::Result<()> {
        if readiness(kind(obj), &Value::Null).is_none() {
            return Ok(());
        }
        let what = format!("{} to be ready", ident(obj));
        until(cx, &what, patience, || async {
            let live = self.get(obj).await?.unwrap_or(Value::Null);
            match readiness(kind(obj), &live) {
                Some(Readiness::Ready) | None => Ok(Poll::Ready(())),
                Some(Readiness::Waiting(status)) => Ok(Poll::Pending(status)),
                Some(Readiness::Failed(why)) => anyhow::bail!("{}: {why}", ident(obj)),
            }
        })
        .await
    }
}

/// How far an object is from usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Waiting(String),
    /// It will not get there by waiting.
    Failed(String),
}

/// Whether a live object of `kind` is ready: `None` for kinds sdctl does not wait for. Workloads
/// follow `kubectl rollout status` (kubectl pkg/polymorphichelpers/rollout_status.go): the
/// controller has seen the current generation, every replica runs the current template, no old
/// one is left, and the updated ones are available.
pub fn readiness(kind: &str, live: &Value) -> Option<Readiness> {
    let condition = |name: &str| {
        live["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == name)).cloned()
    };
    let established = |name: &str| condition(name).is_some_and(|c| c["status"] == "True");
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let status = &live["status"];
    let observed = !live.is_null() && num(&status["observedGeneration"]) >= num(&live["metadata"]["generation"]);
    let waiting = |s: String| Readiness::Waiting(s);
    Some(match kind {
        "CustomResourceDefinition" if established("Established") => Readiness::Ready,
        "CustomResourceDefinition" => waiting("not established".into()),
        "APIService" if established("Available") => Readiness::Ready,
        "APIService" => waiting("not available".into()),
        "Deployment" => {
            let want = live["spec"]["replicas"].as_i64().unwrap_or(1);
            let (replicas, updated, available) =
                (num(&status["replicas"]), num(&status["updatedReplicas"]), num(&status["availableReplicas"]));
            if !observed {
                waiting("waiting for the rollout to be observed".into())
            } else if condition("Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
                Readiness::Failed(format!(
                    "the rollout exceeded its progress deadline ({})",
                    condition("Progressing").and_then(|c| c["message"].as_str().map(String::from)).unwrap_or_default()
                ))
            } else if updated < want {
                waiting(format!("{updated} of {want} replicas updated"))
            } else if replicas > updated {
                waiting(format!("{} old replicas pending termination", replicas - updated))
            } else if available < updated {
                waiting(format!("{available} of {updated} updated replicas available"))
            } else {
                Readiness::Ready
            }
        }
        "DaemonSet" => {
            let desired = num(&status["desiredNumberScheduled"]);
            let (updated, available) = (num(&status["updatedNumberScheduled"]), num(&status["numberAvailable"]));
            if !observed {
                waiting("waiting for the rollout to be observed".into())
            } else if updated < desired {
                waiting(format!("{updated} of {desired} pods updated"))
            } else if available < desired {
                waiting(format!("{available} of {desired} updated pods available"))
            } else {
                Readiness::Ready
            }
        }
        "PersistentVolumeClaim" => match status["phase"].as_str() {
            Some("Bound") => Readiness::Ready,
            phase => waiting(phase.unwrap_or("Pending").to_string()),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, status: Value) -> Value {
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn deployments_are_ready_when_the_rollout_is_done() {
        let done = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert_eq!(readiness("Deployment", &deployment(2, done.clone())), Some(Readiness::Ready));
        // The new template is not observed yet, although the old pods are all available.
        assert!(matches!(readiness("Deployment", &deployment(3, done)), Some(Readiness::Waiting(_))));
        // Mid-rollout: old pods still available, new ones not all there.
        let rolling = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2});
        assert_eq!(
            readiness("Deployment", &deployment(3, rolling)),
            Some(Readiness::Waiting("1 of 2 replicas updated".into()))
        );
        let surplus = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3});
        assert!(
            matches!(readiness("Deployment", &deployment(3, surplus)), Some(Readiness::Waiting(s)) if s.contains("old"))
        );
        let stuck = json!({"observedGeneration": 3, "conditions": [{"type": "Progressing", "status": "False",
                           "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"r\" has timed out progressing."}]});
        assert!(matches!(readiness("Deployment", &deployment(3, stuck)), Some(Readiness::Failed(_))));
    }

    #[test]
    fn a_new_daemonset_is_not_ready_at_once() {
        // What the API server returns before the controller ran: the required counts, all zero.
        let new = json!({"metadata": {"generation": 1}, "status": {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                         "desiredNumberScheduled": 0, "numberReady": 0}});
        assert!(matches!(readiness("DaemonSet", &new), Some(Readiness::Waiting(_))));
        let empty =
            json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 0}});
        assert_eq!(readiness("DaemonSet", &empty), Some(Readiness::Ready), "no node to run on: nothing to wait for");
        let rolling = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2, "desiredNumberScheduled": 3,
                             "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert!(matches!(readiness("DaemonSet", &rolling), Some(Readiness::Waiting(_))));
    }
}
