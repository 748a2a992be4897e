//! The shape every Kubernetes step shares: render the objects it owns, read them back, apply
//! (server-side, in dependency order) what is missing or differs, wait until usable; on `down`,
//! delete in reverse order and wait for finalizers. A step only says which objects it wants.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::cluster::connect_if_running;
use crate::gcp::wait::Patience;
use crate::kube::Kube;
use crate::kube::objects::{contains, ident, in_sync, kind, label, no_longer_wanted, removal_patch, sort_for_apply};
use crate::names::K8S_LABEL_ENV;
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

/// What installing a controller from its manifests needs (Agones, OpenKruise): its CRDs,
/// namespace, accounts and roles (binding a role needs `bind`/`escalate`), Deployments and
/// Services; each install adds what else its manifests hold.
pub const CONTROLLER_PERMISSIONS: [&str; 13] = [
    "container.customResourceDefinitions.create",
    "container.customResourceDefinitions.update",
    "container.namespaces.create",
    "container.serviceAccounts.create",
    "container.clusterRoles.create",
    "container.clusterRoles.bind",
    "container.clusterRoles.escalate",
    "container.clusterRoleBindings.create",
    "container.roles.create",
    "container.roleBindings.create",
    "container.deployments.create",
    "container.deployments.update",
    "container.services.create",
];

/// How long objects may take to become ready or to go away.
pub const KUBE_PATIENCE: Patience = Patience::new(2, 10 * 60);

/// What a Kubernetes step provides.
#[async_trait]
pub trait Manifest: Send + Sync + 'static {
    fn describe(&self, env: &Env) -> String;

    /// The objects the step owns. `live` is `None` for `render --offline` (values only known
    /// live are documentation stand-ins then).
    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>>;

    /// Objects the step makes under another configuration and not under this one (e.g. the OAuth
    /// client Secret once `oauthClient` is `managed` again): `up` and `down` delete them when they
    /// exist and carry this environment's label. Only kind, apiVersion and metadata matter.
    fn retired(&self, _env: &Env) -> Vec<Value> {
        Vec::new()
    }

    /// Live objects of this environment that the configuration no longer asks for (a template
    /// removed from it): deleted after the apply, as `retired` ones are.
    async fn retired_live(&self, _env: &Env, _kube: &Kube) -> anyhow::Result<Vec<Value>> {
        Ok(Vec::new())
    }

    /// Before anything is applied: refuse what would end users' sessions unless the user said
    /// yes (`users_on_removed_templates`).
    async fn may_apply(&self, _cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        Ok(())
    }

    /// Fields an object gets only when sdctl creates it, which the component running it owns
    /// from then on (a GameServerSet's replicas and reserved ids, which the router scales):
    /// `None` for objects that are applied whole.
    async fn created_with(&self, _env: &Env, _kube: &Kube, _obj: &Value) -> anyhow::Result<Option<Value>> {
        Ok(None)
    }

    /// The IAM permissions applying the objects needs beyond reaching the cluster (Kubernetes
    /// objects are authorized through GKE's `container.<kind>.<verb>` permissions).
    fn permissions(&self) -> Vec<&'static str>;

    /// Whether the objects are sdctl's own (unknown fields refused) rather than an upstream
    /// manifest (unknown fields dropped with a warning, as \`kubectl apply\` does).
    fn strict(&self) -> bool {
        true
    }

    /// Work after the objects are applied and ready (e.g. IAP access for the load balancer).
    async fn after_apply(&self, _cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        Ok(())
    }

    /// Whether `after_apply` still has something to do although every object is in place.
    async fn pending(&self, _cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<Option<String>> {
        Ok(None)
    }

    /// Whether deleting the objects deletes cloud resources too (the Ingress's load balancer):
    /// those must go before the cluster, or they outlive it. Everything else goes with the
    /// cluster, so a `down` that deletes the cluster skips it (and needs no upstream manifest).
    fn holds_cloud_resources(&self) -> bool {
        false
    }

    /// Work before the objects are deleted (e.g. objects a controller made that block deletion).
    async fn before_delete(&self, _cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        Ok(())
    }

    /// Work after the objects are deleted (e.g. wait for the load balancer to go).
    async fn after_delete(&self, _cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        Ok(())
    }

    /// `down` with the cluster already gone (its objects with it): what outlived it, such as
    /// Compute Engine disks. Whether anything was deleted.
    async fn without_cluster(&self, _cx: &StepCx<Env>) -> anyhow::Result<bool> {
        Ok(false)
    }
}

pub struct KubeStep<M> {
    id: StepId,
    depends_on: Vec<StepId>,
    manifest: M,
}

impl<M: Manifest> KubeStep<M> {
    pub fn new(id: StepId, depends_on: Vec<StepId>, manifest: M) -> Self {
        Self { id, depends_on, manifest }
    }

    /// The labelled objects in apply order.
    pub async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let mut objects = self.manifest.objects(env, live).await?;
        for obj in &mut objects {
            label(obj, env.names.env());
        }
        sort_for_apply(&mut objects);
        Ok(objects)
    }
}

/// What a manifest may read while rendering against a running cluster.
#[derive(Clone, Copy)]
pub struct Live<'a> {
    pub cx: &'a StepCx<Env>,
    pub kube: &'a Kube,
}

#[derive(Default)]
pub struct Observed {
    kube: Option<Arc<Kube>>,
    /// Desired objects with their live counterparts.
    objects: Vec<(Value, Option<Value>)>,
    /// Retired objects that still exist.
    retired: Vec<Value>,
    /// Work `after_apply` still has to do.
    pending: Option<String>,
}

#[async_trait]
impl<M: Manifest> Step<Env> for KubeStep<M> {
    type Live = Observed;

    fn id(&self) -> StepId {
        self.id
    }

    fn depends_on(&self) -> Vec<StepId> {
        self.depends_on.clone()
    }

    fn describe(&self, env: &Env) -> String {
        self.manifest.describe(env)
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        let mut p = vec!["container.clusters.get", "container.clusters.getCredentials"];
        p.extend(self.manifest.permissions());
        p
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Observed> {
        let Some(kube) = connect_if_running(cx).await? else {
            anyhow::bail!("the cluster is not running yet");
        };
        let mut objects = Vec::new();
        for want in self.objects(&cx.env, Some(Live { cx, kube: &kube })).await? {
            // A kind not served yet (its CRD comes with this step) means the object is absent.
            let have = kube.get(&want).await.ok().flatten();
            objects.push((want, have));
        }
        let retired = self.retired_present(&cx.env, &kube).await?;
        let pending = self.manifest.pending(cx, &kube).await?;
        Ok(Observed { kube: Some(Arc::new(kube)), objects, retired, pending })
    }

    fn diff(&self, _env: &Env, live: &Observed) -> Diff {
        // Not observed (offline, or the cluster does not exist yet): everything is to create.
        if live.kube.is_none() {
            return Diff::create_all();
        }
        let mut missing = Vec::new();
        let mut changed = Vec::new();
        for (want, have) in &live.objects {
            match have {
                None => missing.push(ident(want)),
                Some(have) if !contains(have, want) => changed.push(ident(want)),
                Some(have) => {
                    let unwanted = no_longer_wanted(have, want);
                    if !unwanted.is_empty() {
                        changed.push(format!("{}: remove {}", ident(want), unwanted.join(", ")));
                    }
                }
            }
        }
        changed.extend(live.retired.iter().map(|obj| format!("delete {} (no longer configured)", ident(obj))));
        changed.extend(live.pending.clone());
        Diff::from_parts(missing, changed)
    }

    fn state(&self, live: &Observed) -> Option<String> {
        live.kube.as_ref()?;
        let present = live.objects.iter().filter(|(_, have)| have.is_some()).count();
        Some(format!("{present}/{} objects", live.objects.len()))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Observed, _diff: &Diff) -> anyhow::Result<Outcome> {
        let observed = live.kube.is_some();
        let kube = match live.kube {
            Some(kube) => kube,
            None => {
                Arc::new(connect_if_running(cx).await?.ok_or_else(|| anyhow::anyhow!("the cluster is not running"))?)
            }
        };
        self.manifest.may_apply(cx, &kube).await?;
        let objects = if live.objects.is_empty() {
            let mut fresh = Vec::new();
            for want in self.objects(&cx.env, Some(Live { cx, kube: &kube })).await? {
                let have = kube.get(&want).await.ok().flatten();
                fresh.push((want, have));
            }
            fresh
        } else {
            live.objects
        };
        let created = objects.iter().any(|(_, have)| have.is_none());
        let mut applied = Vec::new();
        for (want, have) in &objects {
            if have.as_ref().is_some_and(|have| in_sync(have, want)) {
                continue;
            }
            cx.progress(format!("applying {}", ident(want)));
            if have.is_none()
                && let Some(extra) = self.manifest.created_with(&cx.env, &kube, want).await?
            {
                // Created with only those fields, by their own field manager: sdctl's apply
                // below owns the rest, and never names them.
                let mut seed = serde_json::json!({"apiVersion": want["apiVersion"], "kind": want["kind"], "metadata": {
                    "name": want["metadata"]["name"], "namespace": want["metadata"]["namespace"],
                }});
                if seed["metadata"]["namespace"].is_null()
                    && let Some(meta) = seed["metadata"].as_object_mut()
                {
                    meta.remove("namespace");
                }
                merge(&mut seed, &extra);
                kube.create(&seed).await?;
            }
            let strict = self.manifest.strict();
            if let Err(refused) = kube.apply(want, strict).await {
                // Removing a field sdctl no longer sets may leave its emptied parent behind, which
                // the schema can refuse: delete those fields outright, then apply again.
                let Some(patch) = have.as_ref().and_then(|have| removal_patch(have, want)) else { return Err(refused) };
                cx.progress(format!("removing fields sdctl no longer sets from {}", ident(want)));
                kube.remove_fields(want, &patch).await?;
                kube.apply(want, strict).await?;
            }
            // Objects of a CRD can be applied only once it is established.
            if kind(want) == "CustomResourceDefinition" {
                kube.wait_ready(cx, want, KUBE_PATIENCE).await?;
            }
            applied.push(want);
        }
        for want in &applied {
            kube.wait_ready(cx, want, KUBE_PATIENCE).await?;
        }
        let retired = if observed { live.retired } else { self.retired_present(&cx.env, &kube).await? };
        delete_all(cx, &kube, &retired).await?;
        self.manifest.after_apply(cx, &kube).await?;
        Ok(if created { Outcome::Created } else { Outcome::Updated })
    }

    async fn render(&self, env: &Env) -> anyhow::Result<Option<Vec<Value>>> {
        self.objects(env, None).await.map(Some)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        // Objects die with their cluster; only a running cluster needs them deleted.
        let Some(kube) = connect_if_running(cx).await? else {
            let deleted = self.manifest.without_cluster(cx).await?;
            return Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged });
        };
        if cx.env.options.deleting_cluster && !self.manifest.holds_cloud_resources() {
            cx.progress(format!("goes with GKE cluster {}", cx.env.names.cluster()));
            return Ok(Outcome::Deleted);
        }
        // Deleting needs only the objects' names: render without reading live values (a Redis
        // instance deleted first, or never made, must not stop the teardown).
        let mut objects = self.retired_present(&cx.env, &kube).await?;
        objects.extend(self.objects(&cx.env, None).await?);
        self.manifest.before_delete(cx, &kube).await?;
        let deleted = delete_all(cx, &kube, &objects).await?;
        self.manifest.after_delete(cx, &kube).await?;
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

impl<M: Manifest> KubeStep<M> {
    /// The retired objects that exist and are this environment's (someone else's object of the
    /// same name is never touched).
    async fn retired_present(&self, env: &Env, kube: &Kube) -> anyhow::Result<Vec<Value>> {
        let mut present = Vec::new();
        for obj in self.manifest.retired(env) {
            let Some(have) = kube.get(&obj).await.ok().flatten() else { continue };
            if have["metadata"]["labels"][K8S_LABEL_ENV] == env.names.env() {
                present.push(obj);
            }
        }
        present.extend(self.manifest.retired_live(env, kube).await?);
        Ok(present)
    }
}

/// With `up` but not `-y`: fails when a Fleet or GameServerSet no longer configured (a template
/// removed, or agones' Fleets renamed going between one template and several) still has users
/// on it. Checked by every step the change reaches (`fleet`, `router`, `reclaim`) before it
/// applies anything, so that none of them strands those users. (At a terminal, `up` asks first.)
pub async fn users_on_removed_templates(cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
    if cx.env.options.yes {
        return Ok(());
    }
    match stranded_users(&cx.env, kube).await? {
        Some(what) => {
            anyhow::bail!("{what}\n  fix: `sdctl up -y` {}, or put the template back", what_yes_does(&cx.env))
        }
        None => Ok(()),
    }
}

/// What `-y` does to the users of a removed template.
pub fn what_yes_does(env: &Env) -> &'static str {
    match env.config.runtime.kind {
        crate::config::RuntimeKind::Okg => "stops them (their users' disks are kept: `sdctl users ls`)",
        crate::config::RuntimeKind::Agones => "releases them (their files stay in their folders)",
    }
}

/// The users a change of templates would stop: a Fleet or set no longer configured that still
/// has users on it, said in a sentence; None when nobody is.
pub async fn stranded_users(env: &Env, kube: &Kube) -> anyhow::Result<Option<String>> {
    let namespace = &env.config.runtime.namespace;
    match env.config.runtime.kind {
        crate::config::RuntimeKind::Okg => {
            let templates: Vec<String> = env.config.templates.iter().map(|t| t.name.clone()).collect();
            for set in unwanted(env, kube, "game.kruise.io/v1alpha1", "GameServerSet", &templates).await? {
                let running = kube.get(&set).await?.and_then(|s| s["spec"]["replicas"].as_i64()).unwrap_or(0);
                if running > 0 {
                    let name = set["metadata"]["name"].as_str().unwrap_or_default();
                    return Ok(Some(format!(
                        "template {name} was removed from the config but {running} of its instances are running"
                    )));
                }
            }
        }
        crate::config::RuntimeKind::Agones => {
            for fleet in unwanted(env, kube, "agones.dev/v1", "Fleet", &env.config.fleet_names()).await? {
                let name = fleet["metadata"]["name"].as_str().unwrap_or_default();
                let selector = kube::api::ListParams::default().labels(&format!("agones.dev/fleet={name}"));
                let list = kube.game_servers(namespace).list(&selector).await?;
                let held = list.items.iter().filter(|g| g.data["status"]["state"] == "Allocated").count();
                if held > 0 {
                    return Ok(Some(format!(
                        "Fleet {name} is no longer configured (a template was removed, or the Fleets are renamed \
                         going between one template and several) but {held} user(s) are on its WebUIs"
                    )));
                }
            }
        }
    }
    Ok(None)
}

/// This environment's live objects of `api_version`/`kind` in the runtime namespace whose names
/// are not in `wanted` (as minimal objects to delete).
pub async fn unwanted(
    env: &Env,
    kube: &Kube,
    api_version: &str,
    kind: &str,
    wanted: &[String],
) -> anyhow::Result<Vec<Value>> {
    let namespace = &env.config.runtime.namespace;
    let like = serde_json::json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace}});
    let selector = format!("{K8S_LABEL_ENV}={}", env.names.env());
    Ok(kube
        .list(&like, &selector)
        .await?
        .into_iter()
        .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
        .filter(|name| !wanted.contains(name))
        .map(|name| {
            serde_json::json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}})
        })
        .collect())
}

/// Sets every field of `extra` in `obj` (maps merged, anything else replaced).
fn merge(obj: &mut Value, extra: &Value) {
    match (obj, extra) {
        (Value::Object(o), Value::Object(e)) => {
            for (k, v) in e {
                merge(o.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (o, e) => *o = e.clone(),
    }
}

/// Deletes `objects` in reverse order and waits until they are gone; whether any existed.
async fn delete_all(cx: &StepCx<Env>, kube: &Kube, objects: &[Value]) -> anyhow::Result<bool> {
    let mut deleted = Vec::new();
    for obj in objects.iter().rev() {
        // A kind no longer served (its CRD went first) has nothing left to delete.
        if kube.get(obj).await.ok().flatten().is_none() {
            continue;
        }
        cx.progress(format!("deleting {}", ident(obj)));
        if kube.delete(obj).await? {
            deleted.push(obj);
        }
    }
    for obj in &deleted {
        kube.wait_gone(cx, obj, KUBE_PATIENCE).await?;
    }
    Ok(!deleted.is_empty())
}
