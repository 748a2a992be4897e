//! `sdctl down [STEP...]`: delete in reverse dependency order, waiting for each deletion.

use std::io::IsTerminal;
use std::sync::Arc;

use super::{DownArgs, Invocation};
use crate::exit::{Exit, ExitCode};
use crate::plan::{self, Event};
use crate::steps::{self, Env, RunOptions};

pub async fn run(inv: &Invocation, args: DownArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let options = RunOptions { keep_data: args.keep_data, ..RunOptions::default() };
    let env = Arc::new(Env::new(config, options));
    let graph = steps::graph(&env.config)?;
    let ids = graph.parse_ids(&args.steps)?;
    let selected = graph.select_with_dependants(&ids);
    let doomed: Vec<String> = graph
        .topological()
        .into_iter()
        .filter(|n| selected.contains(n))
        .map(|n| graph.step(n).describe(&env))
        .collect();
    confirm(inv, &env, &doomed, args.keep_data)?;
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let shared = inv.shared(reporter.clone());
    let report = plan::down(&graph, &env, &shared, &selected, inv.limits()).await;
    reporter.emit(Event::Summary {
        ok: report.ok(),
        outputs: Default::default(),
        left: report.left().iter().map(|s| s.to_string()).collect(),
    });
    Ok(super::up::finish(inv, &report, "down"))
}

/// Says what will be destroyed and asks, unless `-y`. Without a terminal and `-y`: exit 2.
fn confirm(inv: &Invocation, env: &Env, doomed: &[String], keep_data: bool) -> anyhow::Result<()> {
    if inv.global.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Exit::usage(
            "`sdctl down` deletes resources and needs confirmation: run it in a terminal, or pass -y",
        )
        .into());
    }
    let mut text = format!("This deletes environment {} in project {}:\n", env.config.name, env.config.project);
    for d in doomed {
        text.push_str(&format!("  - {d}\n"));
    }
    if !keep_data {
        text.push_str("Models and user outputs on the shared storage are destroyed (keep them with --keep-data).\n");
    }
    inv.ui.err(text.trim_end());
    let yes = dialoguer::Confirm::new().with_prompt("Delete?").default(false).interact().unwrap_or(false);
    if yes { Ok(()) } else { Err(Exit::usage("nothing deleted").into()) }
}
