//! `fleet` with `runtime.kind: okg`: a GameServerSet per template, whose instances are users'
//! own (started and stopped by the router), each with the user's own disk; the StorageClass of
//! those disks and the WebUIs' NetworkPolicy. Done when OpenKruiseGame has taken every set in
//! (its StatefulSet made; `--no-wait` skips that). The users' disks are Compute Engine disks:
//! `down` deletes their claims, and waits for the disks, before the cluster goes, then any
//! user's disk left without a claim. `down --keep-data` keeps them and writes on each whose it
//! is (`user_disks`); the next `up` gives them back: a volume and a claim for each, before the
//! sets are made, so that their ids stay reserved for their users, whose first request makes
//! the claim theirs again.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use super::Env;
use super::common::empty_if_disabled;
use super::kube_step::{KUBE_PATIENCE, Live, Manifest, unwanted, users_on_removed_templates};
use super::user_disks::{self, Disk, Owner};
use super::values::values;
use crate::gcp::wait::{Poll, until};
use crate::kube::Kube;
use crate::kube::objects::kind;
use crate::kube::templates::render;
use crate::names::{K8S_LABEL_ENV, K8S_LABEL_USER_HASH, Names};
use crate::plan::StepCx;
use crate::runtime::instances::{DATA_CLAIM, K8S_LABEL_TEMPLATE};
use crate::runtime::user;

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
            "container.serviceAccounts.create",
            "container.storageClasses.create",
            "container.networkPolicies.create",
            "container.networkPolicies.update",
            "container.persistentVolumeClaims.get",
            "container.persistentVolumeClaims.list",
            "container.persistentVolumeClaims.create",
            "container.persistentVolumeClaims.delete",
            "container.persistentVolumes.get",
            "container.persistentVolumes.create",
            // Users' disks kept by `down --keep-data`: found, labelled with their owner, deleted.
            "compute.disks.list",
            "compute.disks.get",
            "compute.disks.setLabels",
            "compute.disks.delete",
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

    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let mut values = values(env);
        values["user_disk_class"] = json!(Names::USER_DISK_CLASS);
        // The isolation first: it is in place before any instance runs, and goes after them.
        let mut objects = render("webui-isolation.yaml", &values)?;
        // The GPU ladder's class before the pods that select it.
        objects.extend(super::compute_class::objects(env)?);
        let instances = render("instances.yaml", &values)?;
        // Kept disks come back before the sets: a set made reserves the ids of existing claims.
        if let Some(live) = live {
            objects.extend(restored(live.cx, live.kube, &instances).await?);
        }
        objects.extend(instances);
        Ok(objects)
    }

    async fn retired_live(&self, env: &Env, kube: &Kube) -> anyhow::Result<Vec<Value>> {
        let templates: Vec<String> = env.config.templates.iter().map(|t| t.name.clone()).collect();
        // A class no pod selects any more goes after the sets (retired objects are deleted in reverse).
        let mut retired = super::compute_class::retired(env, kube).await?;
        retired.extend(unwanted(env, kube, "game.kruise.io/v1alpha1", "GameServerSet", &templates).await?);
        Ok(retired)
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
            // Disks kept earlier and not given back go all the same.
            return if cx.env.options.keep_data {
                Ok(())
            } else {
                delete_unclaimed_disks(cx, Some(kube)).await.map(|_| ())
            };
        }
        if cx.env.options.keep_data {
            cx.progress(format!("keeping {} user disk(s) (--keep-data)", claims.len()));
            return write_owners(cx, kube, &claims).await;
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
        delete_unclaimed_disks(cx, Some(kube)).await.map(|_| ())
    }

    /// The cluster is gone: users' disks kept by an earlier `down --keep-data` go now, unless
    /// `--keep-data` again.
    async fn without_cluster(&self, cx: &StepCx<Env>) -> anyhow::Result<bool> {
        if cx.env.options.keep_data {
            return Ok(false);
        }
        delete_unclaimed_disks(cx, None).await
    }
}

/// Deletes the users' disks no claim holds: kept by an earlier `down --keep-data` and not
/// given back (the cluster gone, or their template removed). With the cluster running, a disk
/// whose volume still exists is the disk driver's to delete (its claim just went). Whether any
/// went.
async fn delete_unclaimed_disks(cx: &StepCx<Env>, kube: Option<&Kube>) -> anyhow::Result<bool> {
    let mut deleted = false;
    for disk in empty_if_disabled(user_disks::list(cx).await)? {
        let template = disk.owner.as_ref().map(|o| format!(", template {}", o.template)).unwrap_or_default();
        if let Some(kube) = kube {
            // The driver names a volume's disk after the volume.
            let volume = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": disk.name}});
            if kube.get(&volume).await?.is_some() {
                continue;
            }
        }
        if disk.in_use {
            // Attached: a claim still holds it (its deletion under way), or it is no user's disk.
            cx.progress(format!("user disk {} ({}{template}) is attached to a VM: left alone", disk.name, disk.zone));
            continue;
        }
        cx.progress(format!("deleting user disk {} ({}{template})", disk.name, disk.zone));
        deleted |= user_disks::delete(cx, &disk).await?;
    }
    Ok(deleted)
}

/// A volume and a claim for each user's disk kept by `down --keep-data` whose template is
/// configured and whose claim does not exist: the claim as the set would make it, with the hash
/// of its user's e-mail, bound to the disk from the start (a static volume of GKE's disk driver,
/// in the disk's zone, deleted with the disk when its claim goes). A claim of that name bound to
/// another disk (an id another user took since) is left alone, and so is the disk: `users ls`
/// and `down` list it.
async fn restored(cx: &StepCx<Env>, kube: &Kube, instances: &[Value]) -> anyhow::Result<Vec<Value>> {
    let env = &cx.env;
    let namespace = &env.config.runtime.namespace;
    let mut objects = Vec::new();
    for disk in empty_if_disabled(user_disks::list(cx).await)? {
        let Some(owner) = &disk.owner else { continue };
        let Some(set) =
            instances.iter().find(|o| kind(o) == "GameServerSet" && o["metadata"]["name"] == owner.template)
        else {
            continue;
        };
        let claim_name = format!("{DATA_CLAIM}-{}-{}", owner.template, owner.id);
        let have = kube
            .get(&json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": claim_name, "namespace": namespace}}))
            .await?;
        if let Some(have) = have {
            if have["spec"]["volumeName"] != disk.name.as_str() {
                cx.progress(format!("kept user disk {} stays apart: claim {claim_name} holds another disk", disk.name));
            }
            continue;
        }
        let vct = &set["spec"]["gameServerTemplate"]["volumeClaimTemplates"][0];
        objects.extend(kept_disk_objects(env, vct, &disk, owner));
    }
    Ok(objects)
}

/// The static volume for a kept disk and the claim bound to it, labelled with the hash of its
/// user's e-mail: the user's first request makes it theirs (`Instances::user_id`).
fn kept_disk_objects(env: &Env, vct: &Value, disk: &Disk, owner: &Owner) -> [Value; 2] {
    const PD_CSI: &str = "pd.csi.storage.gke.io";
    let size = format!("{}Gi", disk.size_gb);
    let mut labels = vct.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
    labels[OWNER_GSS] = json!(owner.template);
    labels[K8S_LABEL_TEMPLATE] = json!(owner.template);
    labels[K8S_LABEL_USER_HASH] = json!(owner.user);
    let claim = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": format!("{DATA_CLAIM}-{}-{}", owner.template, owner.id),
            "namespace": env.config.runtime.namespace,
            "labels": labels,
        },
        "spec": {
            "accessModes": vct.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "storageClassName": Names::USER_DISK_CLASS,
            "resources": {"requests": {"storage": size}},
            "volumeName": disk.name,
        },
    });
    let volume = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": disk.name,
            "labels": {K8S_LABEL_ENV: env.names.env()},
            // External-provisioners before sig-storage-lib-external-provisioner v10 delete only
            // volumes annotated as their driver's (newer ones go by `csi.driver`): so marked, the
            // disk goes with its claim as a new user's does, whichever GKE runs.
            "annotations": {"pv.kubernetes.io/provisioned-by": PD_CSI},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": Names::USER_DISK_CLASS,
            "volumeMode": "Filesystem",
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": env.config.runtime.namespace, "name": claim["metadata"]["name"]},
            "csi": {"driver": PD_CSI, "volumeHandle": disk.handle(env.project()), "fsType": "ext4"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.gke.io/zone", "operator": "In", "values": [disk.zone]}
            ]}]}},
        },
    });
    [volume, claim]
}

/// `down --keep-data`: writes on each user's disk whose it is, while the claims that say so
/// still exist. A claim without a user (an instance the router did not start) gets nothing:
/// its disk is kept, listed, and not given back.
async fn write_owners(cx: &StepCx<Env>, kube: &Kube, claims: &[PersistentVolumeClaim]) -> anyhow::Result<()> {
    for claim in claims {
        let name = claim.metadata.name.clone().unwrap_or_default();
        let Some(owner) = claim_owner(claim) else {
            cx.progress(format!("user disk {name} has no user: kept, and not given back by the next `up`"));
            continue;
        };
        let kept_unowned = |why: &str| format!("user disk {name} ({why}): kept, and not given back by the next `up`");
        let Some(volume) = claim.spec.as_ref().and_then(|s| s.volume_name.clone()) else {
            cx.progress(kept_unowned("never bound to a disk"));
            continue;
        };
        let pv =
            kube.get(&json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume}})).await?;
        let Some(handle) = pv.as_ref().and_then(|pv| pv["spec"]["csi"]["volumeHandle"].as_str()) else {
            cx.progress(kept_unowned(&format!("volume {volume} names no Compute Engine disk")));
            continue;
        };
        if user_disks::mark(cx, handle, &owner).await? {
            cx.progress(format!("user disk {name} kept for its user (template {})", owner.template));
        } else {
            cx.progress(kept_unowned(&format!("{handle} is not a disk of this project")));
        }
    }
    Ok(())
}

/// The owner a claim names: its template, id and user (the router's claims carry the e-mail;
/// one given back by `up` and not yet taken, the hash of it).
fn claim_owner(claim: &PersistentVolumeClaim) -> Option<Owner> {
    let labels = claim.metadata.labels.as_ref()?;
    let template = labels.get(K8S_LABEL_TEMPLATE)?.clone();
    let email = claim.metadata.annotations.as_ref().and_then(|a| a.get(crate::names::K8S_ANNOTATION_USER_EMAIL));
    let user = match email {
        Some(email) => user::hash(email),
        None => labels.get(K8S_LABEL_USER_HASH)?.clone(),
    };
    let id = claim.metadata.name.as_deref()?.strip_prefix(&format!("{DATA_CLAIM}-{template}-"))?.parse().ok()?;
    Some(Owner { template, id, user })
}
