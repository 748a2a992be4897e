//! `fleet` with `runtime.kind: okg`: a GameServerSet per template, whose instances are users'
//! own (started and stopped by the router), each with the user's own disk; the StorageClass of
//! those disks and the WebUIs' NetworkPolicy. Done when OpenKruiseGame has taken every set in
//! (its StatefulSet made; `--no-wait` skips that). The users' disks are Compute Engine disks:
//! `down` deletes their claims, and waits for the disks, before the cluster goes, unless
//! `--keep-data`.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use super::Env;
use super::kube_step::{KUBE_PATIENCE, Live, Manifest, unwanted, users_on_removed_templates};
use super::values::values;
use crate::gcp::wait::{Poll, until};
use crate::kube::Kube;
use crate::kube::objects::kind;
use crate::kube::templates::render;
use crate::names::{K8S_LABEL_ENV, Names};
use crate::plan::StepCx;

/// The label OpenKruise puts on a GameServerSet's pods and claims (its selector).
pub const OWNER_GSS: &str = "game.kruise.io/owner-gss";

pub struct Instances;

/// A template's instances as the cluster has them (`sdctl templates ls`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TemplateState {
    /// Instances asked to run (the set's replicas).
    pub running: i64,
    /// Running instances whose WebUI answers.
    pub ready: i64,
    /// Users' disks of the template (running and stopped users').
    pub disks: usize,
}

/// The live state of a template's set, `None` when the set does not exist.
pub async fn template_state(env: &Env, kube: &Kube, template: &str) -> anyhow::Result<Option<TemplateState>> {
    let Some(set) = kube.get(&gss(env, template)).await? else { return Ok(None) };
    let disks = user_claims(env, kube, Some(template)).await?.len();
    Ok(Some(TemplateState {
        running: set["spec"]["replicas"].as_i64().unwrap_or(0),
        ready: set["status"]["readyReplicas"].as_i64().unwrap_or(0),
        disks,
    }))
}

fn gss(env: &Env, name: &str) -> Value {
    json!({
        "apiVersion": "game.kruise.io/v1alpha1",
        "kind": "GameServerSet",
        "metadata": {"name": name, "namespace": env.config.runtime.namespace},
    })
}

/// The users' claims (each user's disk of each template, templates no longer configured
/// included: the volumeClaimTemplate labels them with the environment), or those of one set.
async fn user_claims(env: &Env, kube: &Kube, set: Option<&str>) -> anyhow::Result<Vec<PersistentVolumeClaim>> {
    let namespace = &env.config.runtime.namespace;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(kube.client().clone(), namespace);
    let mut selector = format!("{K8S_LABEL_ENV}={},{OWNER_GSS}", env.names.env());
    if let Some(set) = set {
        selector = format!("{selector}={set}");
    }
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| anyhow::anyhow!("cannot list the users' disks (claims) in {namespace}: {e}"))?;
    Ok(list.items)
}

#[async_trait]
impl Manifest for Instances {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.thirdPartyObjects.create",
            "container.thirdPartyObjects.update",
            "container.thirdPartyObjects.list",
            "container.thirdPartyObjects.delete",
            "container.storageClasses.create",
            "container.networkPolicies.create",
            "container.networkPolicies.update",
            "container.persistentVolumeClaims.list",
            "container.persistentVolumeClaims.delete",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        let templates: Vec<String> =
            env.config.templates.iter().map(|t| format!("{} ({} GB disk each)", t.name, t.disk_gb)).collect();
        format!(
            "per-user WebUI instances in namespace {}: a GameServerSet per template, {}, and their network isolation",
            env.config.runtime.namespace,
            templates.join(", ")
        )
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let mut values = values(env);
        values["user_disk_class"] = json!(Names::USER_DISK_CLASS);
        // The isolation first: it is in place before any instance runs, and goes after them.
        let mut objects = render("webui-isolation.yaml", &values)?;
        objects.extend(render("instances.yaml", &values)?);
        Ok(objects)
    }

    async fn retired_live(&self, env: &Env, kube: &Kube) -> anyhow::Result<Vec<Value>> {
        let templates: Vec<String> = env.config.templates.iter().map(|t| t.name.clone()).collect();
        unwanted(env, kube, "game.kruise.io/v1alpha1", "GameServerSet", &templates).await
    }

    /// A removed template's set goes with its running instances (their users' disks stay, kept
    /// claims of the environment, until `users delete` or `down`): only with `-y`.
    async fn may_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        users_on_removed_templates(cx, kube).await
    }

    async fn created_with(&self, env: &Env, kube: &Kube, obj: &Value) -> anyhow::Result<Option<Value>> {
        if kind(obj) != "GameServerSet" {
            return Ok(None);
        }
        // No instance runs until a user starts one; then the router owns both fields. Ids whose
        // disks exist (kept by `down --keep-data`, or a set made again) stay reserved: OpenKruise
        // would otherwise hand the lowest of them, with its user's disk, to the next user.
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let prefix = format!("data-{name}-");
        let mut ids: Vec<u64> = user_claims(env, kube, Some(name))
            .await?
            .iter()
            .filter_map(|c| c.metadata.name.as_deref()?.strip_prefix(&prefix)?.parse().ok())
            .collect();
        ids.sort_unstable();
        let mut fields = json!({"spec": {"replicas": 0}});
        if !ids.is_empty() {
            fields["spec"]["reserveGameServerIds"] = json!(ids);
        }
        Ok(Some(fields))
    }

    async fn after_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        if cx.env.options.no_wait {
            return Ok(());
        }
        for template in &cx.env.config.templates {
            let set = gss(&cx.env, &template.name);
            let what = format!("OpenKruiseGame to take in GameServerSet {}", template.name);
            until(cx, &what, KUBE_PATIENCE, || async {
                let live = kube.get(&set).await?.unwrap_or(Value::Null);
                let generation = live["metadata"]["generation"].as_i64();
                let observed = live["status"]["observedGeneration"].as_i64();
                Ok(if generation.is_some() && generation == observed {
                    Poll::Ready(())
                } else {
                    Poll::Pending(format!("generation {generation:?}, observed {observed:?}"))
                })
            })
            .await?;
        }
        Ok(())
    }

    fn holds_cloud_resources(&self) -> bool {
        true
    }

    async fn after_delete(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        let claims = user_claims(&cx.env, kube, None).await?;
        if claims.is_empty() {
            return Ok(());
        }
        if cx.env.options.keep_data {
            cx.progress(format!("keeping {} user disk(s) (--keep-data)", claims.len()));
            return Ok(());
        }
        // The instances are gone: each claim goes, and its disk with its volume (Delete).
        let mut gone = Vec::new();
        for claim in &claims {
            let name = claim.metadata.name.clone().unwrap_or_default();
            let obj = json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": cx.env.config.runtime.namespace},
            });
            cx.progress(format!("deleting user disk {name}"));
            kube.delete(&obj).await?;
            gone.push(obj);
            if let Some(volume) = claim.spec.as_ref().and_then(|s| s.volume_name.clone()) {
                gone.push(json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume}}));
            }
        }
        for obj in &gone {
            kube.wait_gone(cx, obj, KUBE_PATIENCE).await?;
        }
        Ok(())
    }
}
