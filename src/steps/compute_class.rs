//! The GPU capacity ladder as GKE sees it: a custom ComputeClass whose priorities name the
//! rungs' node pools in order (`gpu.fallbacks`). The cluster autoscaler scales up the first pool
//! that can get a node (capacity, quota, its maxNodes) and never a pool outside the class
//! (`whenUnsatisfiable: DoNotScaleUp`); active migration stays off, since moving a user's pod to
//! a "better" node would end their session. Pools join the class by carrying its label and taint
//! (`gpu-pool`); WebUI pods select it (`webui-pod.yaml`). Applied with the WebUIs (`fleet`).
//!
//! GKE: <https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes>

use k8s_openapi::api::core::v1::Event;
use serde_json::Value;

use super::Env;
use super::gpu_pool::pool_names;
use super::kube_step::unwanted;
use super::values::values;
use crate::kube::Kube;
use crate::kube::templates::render;

/// The node label (and taint key) by which nodes belong to a compute class.
pub const LABEL: &str = "cloud.google.com/compute-class";
pub const API_VERSION: &str = "cloud.google.com/v1";
pub const KIND: &str = "ComputeClass";

/// The class of the WebUIs' GPU pools (one cluster per environment).
pub const NAME: &str = "sdctl-gpu";

/// The class object, when the configuration has a ladder.
pub fn objects(env: &Env) -> anyhow::Result<Vec<Value>> {
    if !env.config.gpu.has_ladder() {
        return Ok(Vec::new());
    }
    let mut values = values(env);
    values["gpu_pools"] = serde_json::json!(pool_names(env));
    render("compute-class.yaml", &values)
}

/// A class of an earlier configuration (the ladder removed), which goes after the WebUIs.
pub async fn retired(env: &Env, kube: &Kube) -> anyhow::Result<Vec<Value>> {
    let wanted = if env.config.gpu.has_ladder() { vec![NAME.to_string()] } else { Vec::new() };
    unwanted(env, kube, API_VERSION, KIND, &wanted).await
}

/// The rung of a pool the autoscaler scales up: `TriggeredScaleUp` names its managed instance
/// group, `.../instanceGroups/gke-CLUSTER-POOL-HASH-grp`.
pub fn rung_of(env: &Env, message: &str) -> Option<usize> {
    let names = pool_names(env);
    names
        .iter()
        .enumerate()
        .filter(|(_, pool)| message.contains(&format!("-{pool}-")))
        .max_by_key(|(_, pool)| pool.len())
        .map(|(i, _)| i)
}

/// `rung 1 (t4 on custom-4-32768-ext)` of the newest scale-up, when the ladder has several.
pub fn adding(env: &Env, events: &[Event]) -> Option<String> {
    if !env.config.gpu.has_ladder() {
        return None;
    }
    let newest = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("TriggeredScaleUp"))
        .max_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0))?;
    let rung = rung_of(env, newest.message.as_deref()?)?;
    Some(describe_rung(env, rung))
}

/// `rung 1 (t4 on custom-4-32768-ext)`.
pub fn describe_rung(env: &Env, index: usize) -> String {
    let rungs = env.config.gpu.rungs();
    let what = rungs.get(index).map(|r| r.label()).unwrap_or_else(|| "an unknown pool".into());
    format!("rung {index} ({what})")
}

/// The GPU nodes of one rung's pool, as Kubernetes has them.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RungNodes {
    pub rung: usize,
    pub pool: String,
    /// `t4 spot on custom-4-32768-ext`.
    pub gpu: String,
    pub nodes: usize,
}

/// GPU nodes per rung of the ladder (one entry without a ladder), counted from the cluster's
/// nodes by GKE's node-pool label.
pub async fn nodes_per_rung(env: &Env, kube: &Kube) -> anyhow::Result<Vec<RungNodes>> {
    use k8s_openapi::api::core::v1::Node;
    let api: kube::Api<Node> = kube::Api::all(kube.client().clone());
    let nodes = api
        .list(&kube::api::ListParams::default().labels("sdctl.dev/pool=gpu"))
        .await
        .map_err(|e| anyhow::anyhow!("cannot list the cluster's GPU nodes: {e}"))?;
    let pool_of = |n: &Node| n.metadata.labels.as_ref().and_then(|l| l.get("cloud.google.com/gke-nodepool")).cloned();
    let rungs = env.config.gpu.rungs();
    Ok(pool_names(env)
        .into_iter()
        .zip(rungs)
        .enumerate()
        .map(|(rung, (pool, r))| RungNodes {
            rung,
            nodes: nodes.items.iter().filter(|n| pool_of(n).as_deref() == Some(pool.as_str())).count(),
            pool,
            gpu: r.label(),
        })
        .collect())
}
