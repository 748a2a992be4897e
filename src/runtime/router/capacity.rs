//! What a user waiting for a GPU is told about capacity: the cluster autoscaler's newest word on
//! the namespace's pods, in plain words, with the rung of the GPU ladder when the pool is one
//! (`gpu-rN`). GKE's autoscaler reports on a pending pod with `TriggeredScaleUp` (a node is being
//! added), `FailedScaleUp` (stockout or quota: "GCE out of resources", "GCE quota exceeded") and
//! `NotTriggerScaleUp` (no pool may grow: at its maximum, or in backoff after failures). Read at
//! most every `FRESH_FOR`, so polling pages do not load the API server.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::ListParams;

/// How long one reading serves every waiting page.
const FRESH_FOR: Duration = Duration::from_secs(5);
/// Older events say nothing about now.
const NEWS_WITHIN: SignedDuration = SignedDuration::from_secs(15 * 60);

pub struct CapacityNews {
    events: Api<Event>,
    last: Mutex<Option<(Instant, Option<String>)>>,
}

impl CapacityNews {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self { events: Api::namespaced(client, namespace), last: Mutex::new(None) }
    }

    /// The newest word on GPU capacity, if the autoscaler said anything lately. Errors are
    /// logged and shown as nothing: the page works without it.
    pub async fn latest(&self) -> Option<String> {
        if let Ok(last) = self.last.lock()
            && let Some((at, news)) = last.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return news.clone();
        }
        let news = match self.events.list(&ListParams::default().fields("involvedObject.kind=Pod")).await {
            Ok(list) => describe(&list.items, Timestamp::now()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the autoscaler's events for the waiting page");
                None
            }
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), news.clone()));
        }
        news
    }
}

fn when(e: &Event) -> Option<Timestamp> {
    e.last_timestamp.as_ref().map(|t| t.0).or_else(|| e.event_time.as_ref().map(|t| t.0))
}

/// The newest autoscaler event about GPU capacity, in words.
pub fn describe(events: &[Event], now: Timestamp) -> Option<String> {
    let recent = |e: &&Event| when(e).is_some_and(|t| now.duration_since(t) < NEWS_WITHIN);
    let newest = events
        .iter()
        .filter(|e| matches!(e.reason.as_deref(), Some("TriggeredScaleUp" | "FailedScaleUp" | "NotTriggerScaleUp")))
        .filter(recent)
        .max_by_key(|e| when(e))?;
    let message = newest.message.as_deref().unwrap_or_default();
    Some(match newest.reason.as_deref() {
        Some("TriggeredScaleUp") => format!("Google is adding a GPU node{}.", rung(message)),
        Some("FailedScaleUp") if message.contains("quota") => {
            "The project's GPU quota is used up, so no GPU node can be added right now.".to_string()
        }
        Some("FailedScaleUp") => {
            let zones = message
                .split_once("in zones ")
                .and_then(|(_, rest)| rest.split_once(" associated"))
                .map(|(z, _)| format!(" in {z}"))
                .unwrap_or_default();
            format!("The GPU tried is out of stock{zones}; the next kind of GPU is tried, if there is one.")
        }
        _ if message.contains("max node group size reached") => {
            "All the GPU nodes this service may use are running.".to_string()
        }
        _ => "Google could not add a GPU node on any allowed kind of GPU lately; it tries again in a few minutes."
            .to_string(),
    })
}

/// ` (rung 2 of the GPU ladder)` when the scale-up names a ladder pool `gpu-rN`.
fn rung(message: &str) -> String {
    message
        .rsplit_once("-gpu-r")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|n| !n.is_empty())
        .map(|n| format!(" (rung {n} of the GPU ladder)"))
        .unwrap_or_default()
}

/// The same count is written again after this (another router replica may have written since).
const REPUBLISH_AFTER: Duration = Duration::from_secs(5);

/// Publishes how many users wait for a WebUI of each Fleet in the ConfigMap `sdctl status`
/// reads (Redis is out of its reach): counts only, written when they change.
pub struct QueueBoard {
    configmaps: Api<k8s_openapi::api::core::v1::ConfigMap>,
    timeout: Duration,
    /// What this replica last wrote per Fleet, and when.
    published: Mutex<std::collections::HashMap<String, (usize, Instant)>>,
}

impl QueueBoard {
    pub fn new(client: kube::Client, namespace: &str, timeout: Duration) -> Self {
        Self { configmaps: Api::namespaced(client, namespace), timeout, published: Mutex::default() }
    }

    /// Counts the users of `fleet`'s queue whose page polled within the timeout and writes the
    /// count when it changed. Failures are logged: the queue itself does not depend on it.
    pub async fn publish(&self, store: &crate::runtime::store::Store, fleet: &str) {
        let (queue, now) = match store.queue(fleet).await {
            Ok(q) => q,
            Err(e) => return tracing::warn!(fleet, error = %format!("{e:#}"), "cannot read the queue to publish it"),
        };
        let waiting = queue.iter().filter(|(_, seen)| now - seen <= self.timeout.as_millis() as i64).count();
        // Another replica may have written since: the same count is written again after a while.
        let same = self.published.lock().ok().and_then(|p| p.get(fleet).copied());
        if same.is_some_and(|(count, at): (usize, Instant)| count == waiting && at.elapsed() < REPUBLISH_AFTER) {
            return;
        }
        let entry = serde_json::json!({"waiting": waiting, "at": Timestamp::now().to_string()}).to_string();
        let patch = serde_json::json!({"data": {fleet: entry}});
        let name = crate::names::Names::QUEUE_CONFIG;
        match self.configmaps.patch(name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await {
            Ok(_) => {
                if let Ok(mut p) = self.published.lock() {
                    p.insert(fleet.to_string(), (waiting, Instant::now()));
                }
            }
            Err(e) => tracing::warn!(fleet, error = %e, "cannot publish the queue's length for `sdctl status`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn event(reason: &str, message: &str, secs_ago: i64) -> Event {
        let at = Timestamp::now().checked_sub(SignedDuration::from_secs(secs_ago)).unwrap();
        Event {
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_timestamp: Some(Time(at)),
            ..Default::default()
        }
    }

    #[test]
    fn the_newest_word_of_the_autoscaler_in_plain_words() {
        let failed = "Node scale up in zones us-central1-a associated with this pod failed: GCE out of resources. \
                      Pod is at risk of not being scheduled.";
        let triggered = "pod triggered scale-up: [{https://www.googleapis.com/compute/v1/projects/-/zones/us-central1-a/\
                         instanceGroups/gke-sd-demo-gke-gpu-r2-cbf6c4-1a2b3c4d-grp 0->1 (max: 2)}]";
        let events = [event("FailedScaleUp", failed, 60), event("TriggeredScaleUp", triggered, 5)];
        assert_eq!(
            describe(&events, Timestamp::now()).unwrap(),
            "Google is adding a GPU node (rung 2 of the GPU ladder)."
        );
        let events = [event("TriggeredScaleUp", triggered, 60), event("FailedScaleUp", failed, 5)];
        assert!(describe(&events, Timestamp::now()).unwrap().contains("out of stock in us-central1-a"));
        let quota = "Node scale up in zones us-central1-a associated with this pod failed: GCE quota exceeded.";
        assert!(describe(&[event("FailedScaleUp", quota, 1)], Timestamp::now()).unwrap().contains("quota is used up"));
        let full = "pod didn't trigger scale-up: 1 max node group size reached";
        assert!(
            describe(&[event("NotTriggerScaleUp", full, 1)], Timestamp::now()).unwrap().contains("All the GPU nodes")
        );
        // Old news is no news; other events are not about capacity.
        assert_eq!(describe(&[event("FailedScaleUp", failed, 3600)], Timestamp::now()), None);
        assert_eq!(describe(&[event("Scheduled", "Successfully assigned", 1)], Timestamp::now()), None);
        // Without a ladder the pool is named `gpu`: no rung.
        let plain = "pod triggered scale-up: [{.../instanceGroups/gke-sd-demo-gke-gpu-1a2b3c4d-grp 0->1 (max: 3)}]";
        assert_eq!(
            describe(&[event("TriggeredScaleUp", plain, 1)], Timestamp::now()).unwrap(),
            "Google is adding a GPU node."
        );
    }
}
