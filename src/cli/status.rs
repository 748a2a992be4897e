//! `sdctl status`: each resource's live state, what is missing, what drifted from the config.

use serde_json::json;

use super::{Invocation, StatusArgs};
use crate::config::RuntimeKind;
use crate::cost::prices::PD_BALANCED;
use crate::exit::ExitCode;
use crate::plan::{self, Action, Collector, PlanEntry, StepCx, StepId};
use crate::steps;
use crate::ui::Paint;

pub async fn run(inv: &Invocation, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, args.manifests.into_options())?;
    let graph = steps::graph(&env.config)?;
    let shared = inv.shared(std::sync::Arc::new(Collector::default()));
    let selected = graph.select_with_dependencies(&[]);
    let (entries, _, errors) = plan::plan(&graph, &env, &shared, &selected, false).await;
    let in_sync = entries.iter().all(|e| e.action == Action::Unchanged);
    // One look at the cluster serves the GPU nodes, the queue and the users' disks.
    let cx = StepCx::new(env.clone(), StepId("status"), shared.clone());
    let kube = steps::connect_if_running(&cx).await.ok().flatten();
    let disks = user_disks(&cx, kube.is_some()).await;
    let live = match &kube {
        Some(kube) => Some(in_cluster(&env, kube).await),
        None => None,
    };
    let gpu_nodes = live.as_ref().map(|l| l.gpu_nodes.clone());
    let queued = live.as_ref().and_then(|l| l.queued.clone());
    if inv.ui.json() {
        let steps: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "status": word(e),
                    "state": e.state,
                    "description": e.description,
                    "changes": e.changes,
                })
            })
            .collect();
        inv.ui.json_document(&json!({
            "ok": errors.is_empty(),
            "inSync": in_sync,
            "steps": steps,
            "outputs": env.outputs.public(),
            "userDisks": disks.as_ref().map(|d| d.json()).unwrap_or(serde_json::Value::Null),
            "gpuNodes": match &gpu_nodes {
                Some(Ok(rungs)) => json!(rungs),
                Some(Err(e)) => json!({"error": e}),
                None => serde_json::Value::Null,
            },
            "waiting": match &queued {
                Some(Ok(fleets)) => json!(fleets),
                Some(Err(e)) => json!({"error": e}),
                None => serde_json::Value::Null,
            },
        }));
    } else {
        for e in &entries {
            let paint = match e.action {
                Action::Unchanged => Paint::Ok,
                Action::Create => Paint::Dim,
                Action::Update => Paint::Warn,
                Action::Delete | Action::Unknown => Paint::Bad,
            };
            let state = e.state.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            inv.ui.out(&format!(
                "{} {:<9} {}{state}",
                inv.ui.paint(&format!("{:<8}", word(e)), paint),
                e.id.as_str(),
                e.description
            ));
            if e.action != Action::Unchanged {
                for c in e.changes.iter().filter(|c| **c != e.description) {
                    inv.ui.out(&format!("{:18}{c}", ""));
                }
            }
        }
        for line in crate::ui::output_lines(&inv.ui, &env.outputs.public()) {
            inv.ui.out(&line);
        }
        if let Some(d) = &disks {
            inv.ui.out(&d.line());
        }
        match &gpu_nodes {
            Some(Ok(rungs)) => {
                let parts: Vec<String> = rungs
                    .iter()
                    .map(|r| {
                        let rung = if rungs.len() > 1 { format!("rung {} ", r.rung) } else { String::new() };
                        format!("{rung}{} ({}): {}", r.pool, r.gpu, r.nodes)
                    })
                    .collect();
                inv.ui.out(&format!("GPU nodes: {}", parts.join(", ")));
            }
            Some(Err(e)) => inv.ui.out(&format!("GPU nodes: unknown ({e})")),
            None => {}
        }
        match &queued {
            Some(Ok(fleets)) => {
                let parts: Vec<String> =
                    fleets.iter().map(|q| format!("{} {} (as of {})", q.fleet, q.waiting, q.at)).collect();
                let parts = if parts.is_empty() { "none".to_string() } else { parts.join(", ") };
                inv.ui.out(&format!("users waiting for a GPU: {parts}"));
            }
            Some(Err(e)) => inv.ui.out(&format!("users waiting for a GPU: unknown ({e})")),
            None => {}
        }
    }
    if !errors.is_empty() {
        return Ok(ExitCode::Error);
    }
    Ok(if args.exit_code && !in_sync { ExitCode::Pending } else { ExitCode::Ok })
}

/// `in-sync`, `missing`, `drift` or `unknown`.
fn word(e: &PlanEntry) -> &'static str {
    match e.action {
        Action::Unchanged => "in-sync",
        Action::Create => "missing",
        Action::Update | Action::Delete => "drift",
        Action::Unknown => "unknown",
    }
}

/// The users' own disks (`runtime.kind: okg`) and what they cost while they exist.
struct UserDisks {
    count: usize,
    size_gb: i64,
    /// False: the cluster is not running, so every one of them is kept without a claim.
    cluster_running: bool,
    error: Option<String>,
}

impl UserDisks {
    fn monthly_usd(&self) -> f64 {
        PD_BALANCED.of(self.size_gb as f64)
    }

    fn json(&self) -> serde_json::Value {
        match &self.error {
            Some(e) => json!({"error": e}),
            None => json!({"count": self.count, "sizeGb": self.size_gb, "monthlyUsd": self.monthly_usd(),
                           "kept": !self.cluster_running}),
        }
    }

    fn line(&self) -> String {
        if let Some(e) = &self.error {
            return format!("users' disks: unknown ({e})");
        }
        let kept = if self.cluster_running || self.count == 0 {
            ""
        } else {
            ", kept without a cluster: the next `sdctl up` gives them back, `sdctl down` deletes them"
        };
        format!(
            "users' disks: {} ({} GB, ${:.2}/month at ${}/GiB-month){kept}",
            self.count,
            self.size_gb,
            self.monthly_usd(),
            PD_BALANCED.usd
        )
    }
}

/// What the running cluster says: GPU nodes per rung of the ladder, and (Agones) how many users
/// wait for a WebUI of each Fleet, as the router last published.
struct InCluster {
    gpu_nodes: Result<Vec<steps::compute_class::RungNodes>, String>,
    queued: Option<Result<Vec<Waiting>, String>>,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Waiting {
    fleet: String,
    waiting: u64,
    /// When the router counted them.
    at: String,
}

async fn in_cluster(env: &crate::steps::Env, kube: &crate::kube::Kube) -> InCluster {
    let gpu_nodes = steps::compute_class::nodes_per_rung(env, kube).await.map_err(|e| format!("{e:#}"));
    let queued = if env.config.runtime.kind == RuntimeKind::Agones {
        Some(waiting(env, kube).await.map_err(|e| format!("{e:#}")))
    } else {
        None
    };
    InCluster { gpu_nodes, queued }
}

/// The router's published queue lengths (ConfigMap `sdctl-queue`: Fleet -> `{"waiting","at"}`).
async fn waiting(env: &crate::steps::Env, kube: &crate::kube::Kube) -> anyhow::Result<Vec<Waiting>> {
    let name = crate::names::Names::QUEUE_CONFIG;
    let like = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": name, "namespace": env.config.runtime.namespace}});
    let Some(map) = kube.get(&like).await? else { return Ok(Vec::new()) };
    let data = map["data"].as_object().cloned().unwrap_or_default();
    Ok(data
        .iter()
        .filter_map(|(fleet, entry)| {
            let entry: serde_json::Value = serde_json::from_str(entry.as_str()?).ok()?;
            Some(Waiting {
                fleet: fleet.clone(),
                waiting: entry["waiting"].as_u64()?,
                at: entry["at"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect())
}

async fn user_disks(cx: &StepCx<crate::steps::Env>, running: bool) -> Option<UserDisks> {
    if cx.env.config.runtime.kind != RuntimeKind::Okg {
        return None;
    }
    Some(match steps::user_disks::list(cx).await {
        Ok(disks) => UserDisks {
            count: disks.len(),
            size_gb: disks.iter().map(|d| d.size_gb).sum(),
            cluster_running: running,
            error: None,
        },
        Err(e) => UserDisks { count: 0, size_gb: 0, cluster_running: running, error: Some(format!("{e:#}")) },
    })
}
