//! Users' own WebUI instances (runtime.kind okg): the instance of a template is the pod
//! `<template>-<id>` of the template's GameServerSet, its disk the claim `data-<template>-<id>`.
//!
//! Who owns an id is written on the claim (label `sdctl.dev/user`, annotation with the e-mail):
//! a new user's claim is made by sdctl before the set is scaled, so that making the claim is
//! what gives a user an id (two routers racing for one id: the second create fails).
//!
//! OpenKruiseGame does not hand an id back by itself. With `scaleDownStrategyType: ReserveIds`
//! a removed id is written into `reserveGameServerIds`, and a scale-up takes the lowest ids
//! that are neither running nor reserved (kruise-game 1.0.0 `computeToScaleGs`). So:
//! - start of id N: one write of `replicas + 1` with N out of `reserveGameServerIds` and every
//!   id below N that is not running in it, so that N is the one the set adds;
//! - stop of id N: one write of `replicas - 1` with N added to `reserveGameServerIds`.
//!
//! Each write is an update guarded by the set's `resourceVersion`, made only once the set has
//! settled (the controller has handled the last change): kruise-game writes
//! `reserveGameServerIds` back with an unguarded merge patch after it scales, which would
//! undo a change made while it was scaling.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::names::{K8S_ANNOTATION_USER_EMAIL, K8S_LABEL_USER, K8S_LABEL_USER_HASH};
use crate::runtime::gameservers::WEBUI_PORT_NAME;

/// The label OpenKruise puts on a set's pods and claims (its selector).
pub const OWNER_GSS: &str = "game.kruise.io/owner-gss";
/// The label naming a claim's template (written by sdctl with the user's).
pub const K8S_LABEL_TEMPLATE: &str = "sdctl.dev/template";
/// The volumeClaimTemplate of a user's disk.
pub const DATA_CLAIM: &str = "data";
/// kruise-game's record of the reserved ids it last scaled with.
const RESERVE_IDS_ANNOTATION: &str = "game.kruise.io/reserve-ids";
/// How long a start or stop may wait for a set to settle and write it, in all: well within the
/// router's per-user lock (30 s), so that no second request of the user starts meanwhile.
const WRITE_WITHIN: Duration = Duration::from_secs(15);

/// An instance as the cluster shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub template: String,
    pub id: i64,
    /// The pod's name (`<template>-<id>`).
    pub pod: String,
    pub state: State,
    /// `address:port` of its WebUI once Ready.
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No pod: the user's disk is kept, nothing runs.
    Stopped,
    /// A pod that is not Ready yet, and why when the cluster says.
    Starting(String),
    Ready,
    /// A pod being deleted.
    Stopping,
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::Stopped => "stopped",
            State::Starting(_) => "starting",
            State::Ready => "ready",
            State::Stopping => "stopping",
        }
    }
}

/// A running (or starting) instance and whose it is, for reclaim.
#[derive(Debug, Clone)]
pub struct Running {
    pub instance: Instance,
    pub user_email: Option<String>,
    /// Since when it has been Ready, else when its pod was made.
    pub since: Option<SystemTime>,
}

/// Why a request that may not start an instance did not.
pub const NOT_STARTED: &str = "not running; open it from your instances page";

/// A user's disk of a template (their claim), as `sdctl users` lists it.
#[derive(Debug, Clone)]
pub struct UserDisk {
    pub template: String,
    pub id: i64,
    pub claim: String,
    pub email: Option<String>,
    pub size_gb: Option<f64>,
    /// When the router last saw the user on this instance (reclaim writes it every pass).
    pub last_activity: Option<String>,
    pub deleting: bool,
    /// The claim's volume (named like its Compute Engine disk), once bound.
    pub volume: Option<String>,
    /// A disk given back after `down --keep-data`: the hash of its user's e-mail, until their
    /// first request makes it theirs (then `email` is set).
    pub user_hash: Option<String>,
}

impl UserDisk {
    /// Whether it is this user's (theirs, or given back to them and not yet taken).
    pub fn is_of(&self, email: &str) -> bool {
        match &self.email {
            Some(e) => e == email,
            None => self.user_hash.as_deref() == Some(super::user::hash(email).as_str()),
        }
    }
}

/// Annotation reclaim keeps on a user's claim: their last request to the instance (RFC 3339).
pub const K8S_ANNOTATION_LAST_ACTIVITY: &str = "sdctl.dev/last-activity";

#[derive(Debug)]
pub enum StartError {
    /// The template has no GameServerSet (not configured, or `up` has not made it yet).
    NoTemplate(String),
    /// The set is still carrying out another change (an instance starting or stopping): the
    /// start is left to the user's next request.
    Busy(String),
    Backend(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Backend(e)
    }
}

#[derive(Clone)]
pub struct Instances {
    namespace: String,
    sets: Api<DynamicObject>,
    pods: Api<Pod>,
    claims: Api<PersistentVolumeClaim>,
}

/// The id of `<prefix><id>` (an instance `<template>-<id>`, a claim `data-<template>-<id>`).
pub fn id_after(name: &str, prefix: &str) -> Option<i64> {
    name.strip_prefix(prefix)?.parse().ok().filter(|i| *i >= 0)
}

/// Ordinals from an IntOrString list (`3`, `"5-7"`), as kruise-game reads them.
pub fn ordinals(list: Option<&Value>) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for v in list.and_then(Value::as_array).into_iter().flatten() {
        match v {
            Value::Number(n) => out.extend(n.as_i64()),
            Value::String(s) => out.extend(ordinal_range(s)),
            _ => {}
        }
    }
    out
}

fn ordinal_range(s: &str) -> Vec<i64> {
    match s.split_once('-') {
        Some((a, b)) => match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
            (Ok(a), Ok(b)) if a <= b => (a..=b).collect(),
            _ => Vec::new(),
        },
        None => s.trim().parse().into_iter().collect(),
    }
}

/// An ordinal set as numbers (kruise-game writes runs as "a-b"; numbers are read the same).
fn ordinal_list(set: &BTreeSet<i64>) -> Value {
    if set.is_empty() { Value::Null } else { json!(set.iter().collect::<Vec<_>>()) }
}

/// What a set is and runs, read together.
struct SetView {
    set: DynamicObject,
    replicas: i64,
    reserved: BTreeSet<i64>,
    /// The ids asked to run: the first `replicas` not reserved.
    wanted: BTreeSet<i64>,
    /// kruise-game has carried out the last change of the set.
    handled: bool,
    /// ... and the pods are exactly the wanted ones.
    settled: bool,
    /// Wanted ids without a pod (not even one going away), once handled: pods not made yet, or
    /// that cannot be made.
    unmade: BTreeSet<i64>,
}

/// The first `n` ids not in `reserved` (kruise's `getStatefulSetReplicasRange`).
fn first_free(n: i64, reserved: &BTreeSet<i64>) -> BTreeSet<i64> {
    (0..).filter(|i| !reserved.contains(i)).take(usize::try_from(n).unwrap_or(0)).collect()
}

impl Instances {
    /// A client for the instances of `namespace`, with the ambient credentials; calls time out
    /// after `CALL_TIMEOUT`.
    pub async fn connect(namespace: &str) -> anyhow::Result<Self> {
        let client = super::gameservers::client().await?;
        Ok(Self::new(client, namespace))
    }

    pub fn new(client: kube::Client, namespace: &str) -> Self {
        let gss = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("game.kruise.io", "v1alpha1", "GameServerSet"),
            "gameserversets",
        );
        Self {
            namespace: namespace.to_string(),
            sets: Api::namespaced_with(client.clone(), namespace, &gss),
            pods: Api::namespaced(client.clone(), namespace),
            claims: Api::namespaced(client, namespace),
        }
    }

    /// The id of the user's disk of `template`, if they have one. A disk `up` gave back after
    /// `down --keep-data` (its claim labelled only with the hash of the user's e-mail) becomes
    /// theirs here, on their first request: labelled with the user and their e-mail.
    pub async fn user_id(&self, template: &str, label: &str, email: &str) -> anyhow::Result<Option<i64>> {
        if let Some(id) = self.labelled_id(template, label, email).await? {
            return Ok(Some(id));
        }
        self.adopt_kept(template, label, email).await
    }

    async fn labelled_id(&self, template: &str, label: &str, email: &str) -> anyhow::Result<Option<i64>> {
        let selector = format!("{K8S_LABEL_USER}={label},{K8S_LABEL_TEMPLATE}={template}");
        let claims = self
            .claims
            .list(&ListParams::default().labels(&selector))
            .await
            .with_context(|| format!("cannot list the disks of {email} in namespace {}", self.namespace))?;
        let prefix = format!("{DATA_CLAIM}-{template}-");
        let mut ids: Vec<i64> = claims
            .items
            .iter()
            .filter(|c| c.metadata.deletion_timestamp.is_none() && claim_email(c).is_none_or(|e| e == email))
            .filter_map(|c| id_after(c.metadata.name.as_deref()?, &prefix))
            .collect();
        ids.sort();
        Ok(ids.first().copied())
    }

    /// A kept claim of `template` with the hash of this user's e-mail, made theirs; its id. The
    /// write names the version read, so a claim deleted or changed meanwhile is never taken (it
    /// is looked at once more).
    async fn adopt_kept(&self, template: &str, label: &str, email: &str) -> anyhow::Result<Option<i64>> {
        let selector = format!("{K8S_LABEL_USER_HASH}={},{K8S_LABEL_TEMPLATE}={template}", super::user::hash(email));
        let prefix = format!("{DATA_CLAIM}-{template}-");
        for _ in 0..2 {
            let kept = self
                .claims
                .list(&ListParams::default().labels(&selector))
                .await
                .with_context(|| format!("cannot list the kept disks in namespace {}", self.namespace))?;
            let Some((claim, id)) = kept
                .items
                .into_iter()
                .filter(|c| c.metadata.deletion_timestamp.is_none() && claim_email(c).is_none())
                .filter_map(|c| {
                    let id = id_after(c.metadata.name.as_deref()?, &prefix)?;
                    Some((c, id))
                })
                .min_by_key(|(_, id)| *id)
            else {
                return Ok(None);
            };
            let name = claim.metadata.name.clone().unwrap_or_default();
            let patch = json!({"metadata": {
                "resourceVersion": claim.metadata.resource_version,
                "labels": {K8S_LABEL_USER: label},
                "annotations": {K8S_ANNOTATION_USER_EMAIL: email},
            }});
            match self.claims.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    tracing::info!(user = email, template, id, "kept disk given back to its user");
                    return Ok(Some(id));
                }
                Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot make kept disk {}/{name} {email}'s", self.namespace));
                }
            }
        }
        Ok(None)
    }

    /// The instance `<template>-<id>` as its pod shows it.
    pub async fn instance(&self, template: &str, id: i64) -> anyhow::Result<Instance> {
        let name = format!("{template}-{id}");
        let pod =
            self.pods.get_opt(&name).await.with_context(|| format!("cannot read pod {}/{name}", self.namespace))?;
        Ok(instance_of(template, id, pod.as_ref()))
    }

    /// The WebUI of instance `pod` if it is Ready and its disk is this user's.
    pub async fn serving(&self, pod: &str, label: &str, email: &str) -> anyhow::Result<Option<String>> {
        let claim_name = format!("{DATA_CLAIM}-{pod}");
        let claim = self
            .claims
            .get_opt(&claim_name)
            .await
            .with_context(|| format!("cannot read claim {}/{claim_name}", self.namespace))?;
        let owned = claim.as_ref().is_some_and(|c| {
            c.metadata.labels.as_ref().and_then(|l| l.get(K8S_LABEL_USER)).map(String::as_str) == Some(label)
                && claim_email(c).is_none_or(|e| e == email)
                && c.metadata.deletion_timestamp.is_none()
        });
        if !owned {
            return Ok(None);
        }
        let Some((template, id)) = pod.rsplit_once('-').and_then(|(t, i)| Some((t, i.parse::<i64>().ok()?))) else {
            return Ok(None);
        };
        let instance = self.instance(template, id).await?;
        Ok(if instance.state == State::Ready { instance.target } else { None })
    }

    /// Starts (or finds) the user's instance of `template`, giving them an id and a disk first
    /// when they have none. Returns it as it is now (often still starting; stopped when
    /// `may_start` is false). Call under the user's lock.
    pub async fn start(
        &self,
        template: &str,
        label: &str,
        email: &str,
        may_start: bool,
    ) -> Result<Instance, StartError> {
        let id = match self.user_id(template, label, email).await? {
            Some(id) => id,
            None if !may_start => return Err(StartError::Busy(NOT_STARTED.into())),
            None => self.claim_new_id(template, label, email).await?,
        };
        let current = self.instance(template, id).await?;
        if current.state != State::Stopped || !may_start {
            return Ok(current);
        }
        let deadline = tokio::time::Instant::now() + WRITE_WITHIN;
        loop {
            // Already asked to run (its pod not made yet): nothing to write.
            if self.wait_for(template, deadline, |v| v.handled).await?.wanted.contains(&id) {
                break;
            }
            let view = self.wait_for(template, deadline, |v| v.settled).await?;
            if view.wanted.contains(&id) {
                break;
            }
            let mut reserved = view.reserved.clone();
            reserved.remove(&id);
            // Every id below ours that is not running is reserved: ours is the lowest free one
            // (kruise-game's scale-up takes the lowest ids neither running nor reserved).
            reserved.extend((0..id).filter(|i| !view.wanted.contains(i)));
            if self.write(view.set, view.replicas + 1, &reserved).await? {
                tracing::info!(user = email, template, id, "instance started");
                break;
            }
        }
        Ok(self.instance(template, id).await?)
    }

    /// Stops instance `<template>-<id>` (its disk stays, its id reserved), also one asked for
    /// whose pod could not be made. False when it was not asked to run.
    pub async fn stop(&self, template: &str, id: i64) -> anyhow::Result<bool> {
        let deadline = tokio::time::Instant::now() + WRITE_WITHIN;
        loop {
            let view = match self.wait_for(template, deadline, |v| v.handled).await {
                Ok(v) => v,
                Err(StartError::NoTemplate(_)) => return Ok(false),
                Err(StartError::Busy(why)) => anyhow::bail!("instance {template}-{id} not stopped yet: {why}"),
                Err(StartError::Backend(e)) => return Err(e),
            };
            if !view.wanted.contains(&id) {
                return Ok(false);
            }
            let mut reserved = view.reserved.clone();
            reserved.insert(id);
            if self.write(view.set, (view.replicas - 1).max(0), &reserved).await? {
                return Ok(true);
            }
        }
    }

    /// Instances asked to run whose pods do not exist: not made yet or, when it lasts, never
    /// made (a claim being deleted, an admission refusal). Until they are stopped the set never
    /// settles, and no other instance of the template can start: reclaim stops them.
    pub async fn unmade(&self, template: &str) -> anyhow::Result<Vec<(i64, Option<String>)>> {
        let view = match self.view(template).await {
            Ok(view) => view,
            Err(StartError::NoTemplate(_)) => return Ok(Vec::new()),
            Err(StartError::Busy(why)) => anyhow::bail!(why),
            Err(StartError::Backend(e)) => return Err(e),
        };
        let mut out = Vec::new();
        for id in view.unmade {
            let claim_name = format!("{DATA_CLAIM}-{template}-{id}");
            let claim =
                self.claims.get_opt(&claim_name).await.with_context(|| format!("cannot read claim {claim_name}"))?;
            out.push((id, claim.as_ref().and_then(claim_email).map(String::from)));
        }
        Ok(out)
    }

    /// Every user's disk in the namespace (claims labelled with a user, or given back after
    /// `down --keep-data` and not yet theirs again), by template and id.
    pub async fn disks(&self) -> anyhow::Result<Vec<UserDisk>> {
        let claims = self
            .claims
            .list(&ListParams::default().labels(K8S_LABEL_TEMPLATE))
            .await
            .with_context(|| format!("cannot list users' disks in namespace {}", self.namespace))?;
        let mut out: Vec<UserDisk> = claims
            .items
            .iter()
            .filter_map(|c| {
                let labels = c.metadata.labels.as_ref()?;
                let user_hash = labels.get(K8S_LABEL_USER_HASH).cloned();
                if !labels.contains_key(K8S_LABEL_USER) && user_hash.is_none() {
                    return None;
                }
                let template = labels.get(K8S_LABEL_TEMPLATE)?.clone();
                let claim = c.metadata.name.clone()?;
                let id = id_after(&claim, &format!("{DATA_CLAIM}-{template}-"))?;
                let annotations = c.metadata.annotations.as_ref();
                let size = c
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .and_then(|q| gib(&q.0));
                Some(UserDisk {
                    template,
                    id,
                    claim,
                    email: claim_email(c).map(String::from),
                    size_gb: size,
                    last_activity: annotations.and_then(|a| a.get(K8S_ANNOTATION_LAST_ACTIVITY)).cloned(),
                    deleting: c.metadata.deletion_timestamp.is_some(),
                    volume: c.spec.as_ref().and_then(|s| s.volume_name.clone()),
                    user_hash,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.email, &a.template, a.id).cmp(&(&b.email, &b.template, b.id)));
        Ok(out)
    }

    /// Deletes the disk of instance `<template>-<id>` if it is nobody's: a claim the set made
    /// itself, without a user (the router labels every user's claim before it starts the
    /// instance; kruise-game can start a stray id on a fresh disk). True when it was deleted.
    pub async fn delete_stray_disk(&self, template: &str, id: i64) -> anyhow::Result<bool> {
        let name = format!("{DATA_CLAIM}-{template}-{id}");
        let Some(claim) = self.claims.get_opt(&name).await.with_context(|| format!("cannot read claim {name}"))? else {
            return Ok(false);
        };
        let labels = claim.metadata.labels.unwrap_or_default();
        let nobodys = !labels.contains_key(K8S_LABEL_USER)
            && !labels.contains_key(K8S_LABEL_USER_HASH)
            && claim.metadata.annotations.as_ref().is_none_or(|a| !a.contains_key(K8S_ANNOTATION_USER_EMAIL));
        if !nobodys {
            return Ok(false);
        }
        self.delete_disk(&name).await
    }

    /// Deletes a user's disk (its claim; the volume and Compute Engine disk follow). The
    /// instance must be stopped: a claim in use goes only once its pod has. False: already gone.
    pub async fn delete_disk(&self, claim: &str) -> anyhow::Result<bool> {
        match self.claims.delete(claim, &Default::default()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot delete claim {}/{claim}", self.namespace)),
        }
    }

    /// Records the user's last activity on their claim of instance `pod`.
    pub async fn note_activity(&self, pod: &str, unix: i64) -> anyhow::Result<()> {
        let Some(at) = rfc3339(unix) else { return Ok(()) };
        let patch = json!({"metadata": {"annotations": {K8S_ANNOTATION_LAST_ACTIVITY: at}}});
        let claim = format!("{DATA_CLAIM}-{pod}");
        match self.claims.patch(&claim, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot annotate claim {}/{claim}", self.namespace)),
        }
    }

    /// The template's instances that run or start, with their users.
    pub async fn running(&self, template: &str) -> anyhow::Result<Vec<Running>> {
        let pods = self.pods_of(template).await?;
        let mut out = Vec::new();
        for pod in pods {
            let Some(id) = pod.metadata.name.as_deref().and_then(|n| id_after(n, &format!("{template}-"))) else {
                continue;
            };
            let instance = instance_of(template, id, Some(&pod));
            let claim_name = format!("{DATA_CLAIM}-{}", instance.pod);
            let claim =
                self.claims.get_opt(&claim_name).await.with_context(|| format!("cannot read claim {claim_name}"))?;
            let ready_since = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| SystemTime::from(t.0));
            let created = pod.metadata.creation_timestamp.as_ref().map(|t| SystemTime::from(t.0));
            out.push(Running {
                user_email: claim.as_ref().and_then(claim_email).map(String::from),
                since: if instance.state == State::Ready { ready_since.or(created) } else { created },
                instance,
            });
        }
        Ok(out)
    }

    async fn pods_of(&self, template: &str) -> anyhow::Result<Vec<Pod>> {
        Ok(self
            .pods
            .list(&ListParams::default().labels(&format!("{OWNER_GSS}={template}")))
            .await
            .with_context(|| format!("cannot list the instances of {template} in namespace {}", self.namespace))?
            .items)
    }

    /// A free id for a new user of `template`, taken by making their claim (labelled with the
    /// user) before anything runs with it.
    async fn claim_new_id(&self, template: &str, label: &str, email: &str) -> Result<i64, StartError> {
        let view = self.view(template).await?;
        let vct = view
            .set
            .data
            .pointer("/spec/gameServerTemplate/volumeClaimTemplates")
            .and_then(Value::as_array)
            .and_then(|v| v.iter().find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(DATA_CLAIM)))
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!("GameServerSet {}/{template} has no volumeClaimTemplate `{DATA_CLAIM}`", self.namespace)
            })?;
        // (Made under the user's lock: no second claim for the same user meanwhile.)
        let existing: BTreeSet<i64> = {
            let prefix = format!("{DATA_CLAIM}-{template}-");
            let all = self
                .claims
                .list(&ListParams::default().labels(&format!("{OWNER_GSS}={template}")))
                .await
                .with_context(|| format!("cannot list the disks of {template}"))?;
            all.items.iter().filter_map(|c| id_after(c.metadata.name.as_deref()?, &prefix)).collect()
        };
        let mut candidate = 0;
        for _ in 0..64 {
            while view.wanted.contains(&candidate)
                || view.reserved.contains(&candidate)
                || existing.contains(&candidate)
            {
                candidate += 1;
            }
            let claim = new_claim(&vct, template, candidate, label, email).with_context(|| {
                format!("GameServerSet {}/{template}: unreadable volumeClaimTemplate", self.namespace)
            })?;
            match self.claims.create(&PostParams::default(), &claim).await {
                Ok(_) => {
                    tracing::info!(user = email, template, id = candidate, "a new user's disk claimed");
                    return Ok(candidate);
                }
                // Someone else's disk (another router got there first): the next id.
                Err(kube::Error::Api(s)) if s.code == 409 => candidate += 1,
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("cannot make the disk claim of {email} for {template}"))
                        .into());
                }
            }
        }
        Err(anyhow::anyhow!("no free id found for a new user of {template}").into())
    }

    async fn view(&self, template: &str) -> Result<SetView, StartError> {
        let set = self
            .sets
            .get_opt(template)
            .await
            .with_context(|| format!("cannot read GameServerSet {}/{template}", self.namespace))?
            .ok_or_else(|| StartError::NoTemplate(template.to_string()))?;
        let pods = self.pods_of(template).await?;
        let prefix = format!("{template}-");
        let ids = |deleting: bool| -> BTreeSet<i64> {
            pods.iter()
                .filter(|p| p.metadata.deletion_timestamp.is_some() == deleting)
                .filter_map(|p| id_after(p.metadata.name.as_deref()?, &prefix))
                .collect()
        };
        let (live, going) = (ids(false), ids(true));
        let replicas = set.data.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
        let reserved = ordinals(set.data.pointer("/spec/reserveGameServerIds"));
        let recorded: BTreeSet<i64> = set
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RESERVE_IDS_ANNOTATION))
            .map(|s| s.split(',').flat_map(ordinal_range).collect())
            .unwrap_or_default();
        let observed = set.data.pointer("/status/observedGeneration").and_then(Value::as_i64);
        // kruise-game has scaled for the last change (`IsNeedToScale` false: its record of the
        // reserved ids is the spec's) and synced its status since (`observedGeneration`, set
        // only in a later reconcile than the scale).
        let handled = observed == set.metadata.generation && recorded == reserved;
        // What OpenKruise's StatefulSet then runs: the first `replicas` ids not reserved.
        let wanted = first_free(replicas, &reserved);
        // ... and runs it: exactly those pods, and no pod going away that would come back (a
        // deleted pod whose id is not reserved is made again; kruise-game counts it as missing).
        let settled = handled && live == wanted && going.is_subset(&reserved);
        let unmade = if handled {
            wanted.iter().filter(|i| !live.contains(i) && !going.contains(i)).copied().collect()
        } else {
            BTreeSet::new()
        };
        Ok(SetView { set, replicas, reserved, wanted, handled, settled, unmade })
    }

    /// The set once `ready` holds of it, waiting until `deadline` at most.
    async fn wait_for(
        &self,
        template: &str,
        deadline: tokio::time::Instant,
        ready: impl Fn(&SetView) -> bool,
    ) -> Result<SetView, StartError> {
        loop {
            let view = self.view(template).await?;
            if ready(&view) {
                return Ok(view);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StartError::Busy(format!(
                    "the {template} instances are still changing (another one starting or stopping)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Replaces the set's `replicas` and `reserveGameServerIds`, only if it is unchanged since it
    /// was read. False on a conflict.
    async fn write(&self, mut set: DynamicObject, replicas: i64, reserved: &BTreeSet<i64>) -> anyhow::Result<bool> {
        let name = set.metadata.name.clone().unwrap_or_default();
        set.data["spec"]["replicas"] = json!(replicas);
        match (ordinal_list(reserved), set.data["spec"].as_object_mut()) {
            (Value::Null, Some(spec)) => drop(spec.remove("reserveGameServerIds")),
            (list, _) => set.data["spec"]["reserveGameServerIds"] = list,
        }
        set.metadata.managed_fields = None;
        match self.sets.replace(&name, &PostParams::default(), &set).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot update GameServerSet {}/{name}", self.namespace)),
        }
    }
}

/// RFC 3339 (seconds, UTC) of a Unix time.
fn rfc3339(unix: i64) -> Option<String> {
    let t = std::time::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(unix).ok()?))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

/// GiB in a storage quantity (`50Gi`, `100G`, `1Ti`).
fn gib(q: &str) -> Option<f64> {
    crate::kube::objects::quantity(q).map(|bytes| bytes / 1024f64.powi(3))
}

fn claim_email(c: &PersistentVolumeClaim) -> Option<&str> {
    c.metadata.annotations.as_ref().and_then(|a| a.get(K8S_ANNOTATION_USER_EMAIL)).map(String::as_str)
}

/// A user's claim as the set's StatefulSet would make it (`<vct>-<set>-<id>` from the
/// volumeClaimTemplate, with the set's selector label), plus the user's label and e-mail. The
/// StatefulSet uses an existing claim of that name as it is.
fn new_claim(vct: &Value, template: &str, id: i64, label: &str, email: &str) -> anyhow::Result<PersistentVolumeClaim> {
    let mut labels = vct.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
    labels[OWNER_GSS] = json!(template);
    labels[K8S_LABEL_USER] = json!(label);
    labels[K8S_LABEL_TEMPLATE] = json!(template);
    let claim = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": format!("{DATA_CLAIM}-{template}-{id}"),
            "labels": labels,
            "annotations": {K8S_ANNOTATION_USER_EMAIL: email},
        },
        "spec": vct.get("spec").cloned().unwrap_or(json!({})),
    });
    Ok(serde_json::from_value(claim)?)
}

/// The instance's state and WebUI address from its pod (None: stopped).
fn instance_of(template: &str, id: i64, pod: Option<&Pod>) -> Instance {
    let name = format!("{template}-{id}");
    let (state, target) = match pod {
        None => (State::Stopped, None),
        Some(p) if p.metadata.deletion_timestamp.is_some() => (State::Stopping, None),
        Some(p) => {
            let status = p.status.as_ref();
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let target = target_of(p);
            match (ready, target) {
                (true, Some(t)) => (State::Ready, Some(t)),
                _ => (State::Starting(why_not_ready(p)), None),
            }
        }
    };
    Instance { template: template.to_string(), id, pod: name, state, target }
}

/// `podIP:port` of the container port named `webui` (IPv4 first on dual-stack pods).
fn target_of(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let ips: Vec<&str> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|i| i.ip.as_str())
        .chain(status.pod_ip.as_deref())
        .filter(|i| !i.is_empty())
        .collect();
    let ip = ips.iter().find(|a| !a.contains(':')).or(ips.first())?;
    let port = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(WEBUI_PORT_NAME))?
        .container_port;
    Some(if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") })
}

/// What a starting pod waits for, in a user's words.
fn why_not_ready(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let unschedulable = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled" && c.status == "False"))
        .is_some();
    if unschedulable || pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_none() {
        return "waiting for a GPU machine (a new one takes a few minutes)".into();
    }
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => "the WebUI is loading".into(),
        _ => "preparing the GPU machine and your disk".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_read_as_kruise_game_writes_them() {
        let set = ordinals(Some(&json!([1, "3-5", "9", "x", "7-6"])));
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![1, 3, 4, 5, 9]);
        let handled: BTreeSet<i64> = "1,3-5,9".split(',').flat_map(ordinal_range).collect();
        assert_eq!(handled, ordinals(Some(&json!([1, "3-5", 9]))));
        assert_eq!(ordinal_list(&BTreeSet::new()), Value::Null);
        let reserved: BTreeSet<i64> = [1, 3].into_iter().collect();
        assert_eq!(first_free(3, &reserved).into_iter().collect::<Vec<_>>(), vec![0, 2, 4]);
        assert_eq!(gib("50Gi"), Some(50.0));
        assert_eq!(gib("1Ti"), Some(1024.0));
        assert_eq!(gib("x"), None);
        assert_eq!(rfc3339(1_700_000_000).as_deref(), Some("2023-11-14T22:13:20Z"));
    }

    #[test]
    fn a_new_users_claim_is_the_sets_claim_with_the_user_on_it() {
        let vct = json!({"metadata": {"name": "data", "labels": {"sdctl.dev/env": "demo"}},
                         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "sdctl-user-disk",
                                  "resources": {"requests": {"storage": "50Gi"}}}});
        let c = new_claim(&vct, "sd15", 3, "alice-0123", "alice@example.com").unwrap();
        assert_eq!(c.metadata.name.as_deref(), Some("data-sd15-3"));
        let labels = c.metadata.labels.unwrap();
        assert_eq!(labels["sdctl.dev/env"], "demo");
        assert_eq!(labels[OWNER_GSS], "sd15");
        assert_eq!(labels[K8S_LABEL_USER], "alice-0123");
        assert_eq!(c.metadata.annotations.unwrap()[K8S_ANNOTATION_USER_EMAIL], "alice@example.com");
        assert_eq!(c.spec.unwrap().storage_class_name.as_deref(), Some("sdctl-user-disk"));
    }
}
