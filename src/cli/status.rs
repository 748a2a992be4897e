//! `sdctl status`: each resource's live state, what is missing, what drifted from the config.

use serde_json::json;

use super::{Invocation, StatusArgs};
use crate::exit::ExitCode;
use crate::plan::{self, Action, Collector, PlanEntry};
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
