//! `sdctl plan`: observe and diff every step, print what `up` would do.

use std::sync::Arc;

use super::{Invocation, PlanArgs};
use crate::exit::ExitCode;
use crate::plan::{self, Action, Collector, Event};
use crate::steps::{self, RunOptions};
use crate::ui;

pub async fn run(inv: &Invocation, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let options = RunOptions { offline: args.offline, ..args.manifests.into_options() };
    let env = inv.env(config, options)?;
    let cost = if args.offline {
        crate::cost::estimate(&env.config, &crate::cost::PriceBook::builtin(&env.config.region, "--offline"))
    } else {
        env.estimate().await
    }
    .summary();
    let graph = steps::graph(&env.config)?;
    let shared = inv.shared(Arc::new(Collector::default()));
    let selected = graph.select_with_dependencies(&[]);
    let (entries, _, errors) = plan::plan(&graph, &env, &shared, &selected, args.offline).await;
    let pending = entries.iter().any(|e| e.action != Action::Unchanged);
    if inv.ui.json() {
        let event = Event::Plan { steps: entries, cost: Some(cost) };
        inv.ui.out(&serde_json::to_string(&event)?);
    } else {
        inv.ui.out(&ui::plan_table(&inv.ui, &entries));
        inv.ui.out(&ui::cost_line(&cost));
    }
    if !errors.is_empty() {
        for (step, error) in &errors {
            inv.ui.err(&format!("error: step {step}: {error}"));
        }
        return Ok(ExitCode::Error);
    }
    Ok(if args.exit_code && pending { ExitCode::Pending } else { ExitCode::Ok })
}
