//! `fleet`: a Fleet of WebUI GameServers per template (the default template: `webui`) and its
//! buffer autoscaler, then (unless `--no-wait`) the closing smoke check: a warm WebUI of each
//! must become Ready. When GKE cannot add a GPU node
//! (quota, stockout: a `FailedScaleUp` event), `up` says so with the fix instead of hanging.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::Value;

use super::Env;
use super::kube_step::{Live, Manifest, unwanted, users_on_removed_templates};
use super::values::values;
use crate::gcp::wait::{Patience, Poll, until};
use crate::kube::Kube;
use crate::kube::templates::render;
use crate::plan::StepCx;

/// A GPU node (3 min), the image pull and the WebUI start-up take a while.
const SMOKE_PATIENCE: Patience = Patience::new(5, 30 * 60);

#[derive(Default)]
pub struct Fleet {
    /// The namespace's events (uid -> count) before this run changed anything: what the
    /// autoscaler said earlier (events live an hour) must not fail this run's smoke check.
    events_before: Mutex<Option<HashMap<String, i32>>>,
}

/// The namespace's events by uid, with how often each was seen.
async fn event_counts(kube: &Kube, namespace: &str) -> anyhow::Result<HashMap<String, i32>> {
    let events: Api<Event> = Api::namespaced(kube.client().clone(), namespace);
    Ok(events
        .list(&ListParams::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot list events in {namespace}: {e}"))?
        .items
        .iter()
        .filter_map(|e| Some((e.metadata.uid.clone()?, e.count.unwrap_or(1))))
        .collect())
}

#[async_trait]
impl Manifest for Fleet {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.thirdPartyObjects.create",
            "container.thirdPartyObjects.update",
            "container.thirdPartyObjects.list",
            "container.thirdPartyObjects.delete",
            "container.serviceAccounts.create",
            "container.networkPolicies.create",
            "container.networkPolicies.update",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        let r = &env.config.runtime;
        let fleets = env.config.fleet_names();
        format!(
            "WebUI Fleet {} in namespace {} ({} warm, up to {} users, each), buffer autoscaler and network isolation",
            fleets.join(", "),
            r.namespace,
            r.buffer_size,
            r.max_users
        )
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let values = values(env);
        // The isolation first: it is in place before any WebUI runs, and goes after them.
        let mut objects = render("webui-isolation.yaml", &values)?;
        // The GPU ladder's class before the pods that select it.
        objects.extend(super::compute_class::objects(env)?);
        objects.extend(render("fleet.yaml", &values)?);
        Ok(objects)
    }

    async fn retired_live(&self, env: &Env, kube: &Kube) -> anyhow::Result<Vec<Value>> {
        // Deleted in reverse order: the autoscalers first, then the Fleets, then a class no pod
        // selects any more.
        let fleets = env.config.fleet_names();
        let buffers: Vec<String> = fleets.iter().map(|f| format!("{f}-buffer")).collect();
        let mut retired = super::compute_class::retired(env, kube).await?;
        retired.extend(unwanted(env, kube, "agones.dev/v1", "Fleet", &fleets).await?);
        retired.extend(unwanted(env, kube, "autoscaling.agones.dev/v1", "FleetAutoscaler", &buffers).await?);
        Ok(retired)
    }

    async fn may_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        users_on_removed_templates(cx, kube).await?;
        let before = event_counts(kube, &cx.env.config.runtime.namespace).await?;
        if let Ok(mut slot) = self.events_before.lock() {
            *slot = Some(before);
        }
        Ok(())
    }

    async fn after_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        if cx.env.options.no_wait {
            return Ok(());
        }
        for fleet in cx.env.config.fleet_names() {
            let before = self.events_before.lock().ok().and_then(|b| b.clone()).unwrap_or_default();
            smoke_check(cx, kube, &fleet, &before).await?;
        }
        Ok(())
    }
}

/// Waits for a Ready WebUI GameServer of `fleet`, failing early with GKE's reason when no GPU
/// node comes.
pub async fn smoke_check(
    cx: &StepCx<Env>,
    kube: &Kube,
    fleet: &str,
    before: &HashMap<String, i32>,
) -> anyhow::Result<()> {
    let namespace = &cx.env.config.runtime.namespace;
    let gameservers = kube.game_servers(namespace);
    let events: Api<Event> = Api::namespaced(kube.client().clone(), namespace);
    let selector = ListParams::default().labels(&format!("agones.dev/fleet={fleet}"));
    let what = format!("a warm WebUI GameServer of Fleet {fleet} to be Ready");
    // Only what the autoscaler said since this run changed the Fleet counts: events new since
    // then, or seen again (their count grew). No clock is compared.
    until(cx, &what, SMOKE_PATIENCE, || async {
        let list = gameservers.list(&selector).await.map_err(|e| anyhow::anyhow!("cannot list GameServers in {namespace}: {e}"))?;
        let states: Vec<String> = list
            .items
            .iter()
            .map(|gs| gs.data["status"]["state"].as_str().unwrap_or("Creating").to_string())
            .collect();
        if states.iter().any(|s| s == "Ready" || s == "Allocated") {
            return Ok(Poll::Ready(()));
        }
        let events = events.list(&ListParams::default()).await.map_err(|e| anyhow::anyhow!("cannot list events in {namespace}: {e}"))?;
        let recent: Vec<Event> = events.items.into_iter().filter(|e| is_news(e, before)).collect();
        if let Some(reason) = no_gpu_node(&cx.env, &recent) {
            anyhow::bail!(
                "no GPU node could be added for the WebUI: {reason}\n  fix: check the GPU quota of {} ({}) and that {} is \
                 offered in {} (sdctl preflight), or try other zones{}; `sdctl up` again resumes",
                cx.env.config.region,
                quota_metrics(&cx.env),
                accelerators(&cx.env),
                cx.env.config.zones.join(", "),
                if cx.env.config.gpu.has_ladder() { "" } else { " or add gpu.fallbacks" },
            );
        }
        let mut states = states;
        if let Some(rung) = super::compute_class::adding(&cx.env, &recent) {
            states.push(format!("adding a GPU node on {rung}"));
        }
        let summary = if states.is_empty() { "no GameServer yet".to_string() } else { states.join(", ") };
        Ok(Poll::Pending(summary))
    })
    .await
}

/// Whether an event is new since `before` (uid -> count) was taken, or was seen again since.
fn is_news(e: &Event, before: &HashMap<String, i32>) -> bool {
    match e.metadata.uid.as_ref().and_then(|uid| before.get(uid)) {
        Some(count) => e.count.unwrap_or(1) > *count,
        None => true,
    }
}

/// GKE's reason when no GPU node can come: its first `FailedScaleUp` with one pool; with a
/// ladder only once every rung has failed: the autoscaler then leaves the pod with
/// `NotTriggerScaleUp`, each pool that could take it "in backoff after failed scale-up" (the
/// reason of kubernetes/autoscaler's `BackoffReason`) and none merely full ("max node group size
/// reached": nodes will free), with the failures seen.
pub fn no_gpu_node(env: &Env, events: &[Event]) -> Option<String> {
    let failed = |e: &&Event| e.reason.as_deref() == Some("FailedScaleUp");
    if !env.config.gpu.has_ladder() {
        return events.iter().rev().find(failed).map(|e| e.message.clone().unwrap_or_else(|| "FailedScaleUp".into()));
    }
    let exhausted = events.iter().any(|e| {
        e.reason.as_deref() == Some("NotTriggerScaleUp")
            && e.message.as_deref().is_some_and(|m| {
                m.contains("in backoff after failed scale-up") && !m.contains("max node group size reached")
            })
    });
    if !exhausted {
        return None;
    }
    let mut reasons: Vec<String> = events.iter().filter(failed).filter_map(|e| e.message.clone()).collect();
    reasons.sort();
    reasons.dedup();
    Some(format!("every rung of gpu.fallbacks failed ({})", reasons.join("; ")))
}

/// The quota metrics of the ladder's rungs: `NVIDIA_T4_GPUS, PREEMPTIBLE_NVIDIA_L4_GPUS`.
fn quota_metrics(env: &Env) -> String {
    let mut metrics: Vec<&str> = env.config.gpu.rungs().iter().map(|r| r.quota_metric()).collect();
    metrics.sort_unstable();
    metrics.dedup();
    metrics.join(", ")
}

fn accelerators(env: &Env) -> String {
    let mut types: Vec<&str> = env.config.gpu.rungs().iter().map(|r| r.kind.accelerator()).collect();
    types.sort_unstable();
    types.dedup();
    types.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, parse};

    fn env(example: &str) -> Env {
        let text = std::fs::read_to_string(format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        Env::new(parse(&text, &Overrides::default()).unwrap(), Default::default(), crate::gcp::Endpoints::default())
    }

    fn event(reason: &str, message: &str) -> Event {
        Event { reason: Some(reason.into()), message: Some(message.into()), ..Default::default() }
    }

    #[test]
    fn a_ladder_fails_only_when_every_rung_is_in_backoff_and_none_merely_full() {
        let failed = event(
            "FailedScaleUp",
            "Node scale up in zones us-central1-a associated with this pod failed: GCE out of resources. Pod is at risk of not being scheduled.",
        );
        let ladder = env("sd-agones-ladder.yaml");
        // A rung failed, the next is being tried: no failure yet.
        assert_eq!(no_gpu_node(&ladder, std::slice::from_ref(&failed)), None);
        // One rung full, the others failed: nodes will free, no failure.
        let full = event(
            "NotTriggerScaleUp",
            "pod didn't trigger scale-up: 2 in backoff after failed scale-up, 1 max node group size reached",
        );
        assert_eq!(no_gpu_node(&ladder, &[failed.clone(), full]), None);
        let exhausted = event("NotTriggerScaleUp", "pod didn't trigger scale-up: 3 in backoff after failed scale-up");
        let why = no_gpu_node(&ladder, &[failed.clone(), exhausted, failed.clone()]).unwrap();
        assert!(why.starts_with("every rung of gpu.fallbacks failed (Node scale up"), "{why}");
        assert_eq!(why.matches("GCE out of resources").count(), 1, "the same reason once: {why}");
        // One pool: its first failure is the answer.
        assert!(no_gpu_node(&env("sd-agones-t4.yaml"), &[failed]).unwrap().contains("GCE out of resources"));
    }

    #[test]
    fn only_events_new_or_seen_again_are_news() {
        let mut e = event("FailedScaleUp", "old");
        e.metadata.uid = Some("u1".into());
        e.count = Some(2);
        let before = HashMap::from([("u1".to_string(), 2)]);
        assert!(!is_news(&e, &before), "from an earlier run");
        e.count = Some(3);
        assert!(is_news(&e, &before), "seen again during this run");
        e.metadata.uid = Some("u2".into());
        assert!(is_news(&e, &before), "new");
    }
}
