//! `sdctl up [STEP...]`: plan, then create or update, concurrently along the graph.

use super::{Invocation, UpArgs};
use crate::exit::ExitCode;
use crate::plan::{self, Event, RunReport};
use crate::steps::{self, RunOptions};

pub async fn run(inv: &Invocation, args: UpArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let options = RunOptions {
        agones_manifest: args.manifests.agones_manifest,
        driver_manifest: args.manifests.driver_manifest,
        no_wait: args.no_wait,
        wait_for_certificate: args.wait_for_certificate,
        ..RunOptions::default()
    };
    let env = inv.env(config, options)?;
    let graph = steps::graph(&env.config)?;
    let ids = graph.parse_ids(&args.steps)?;
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let shared = inv.shared(reporter.clone());
    let selected = graph.select_with_dependencies(&ids);
    let (entries, planned, _) = plan::plan(&graph, &env, &shared, &selected, false).await;
    reporter.emit(Event::Plan { steps: entries });
    let report = plan::up(&graph, &env, &shared, &selected, planned, inv.limits()).await;
    reporter.emit(Event::Summary {
        ok: report.ok(),
        outputs: env.outputs.public(),
        left: report.left().iter().map(|s| s.to_string()).collect(),
    });
    Ok(finish(inv, &report, "up"))
}

/// The exit code of a finished run, with the next action for the user on stderr.
pub fn finish(inv: &Invocation, report: &RunReport, command: &str) -> ExitCode {
    if report.ok() {
        return ExitCode::Ok;
    }
    let left: Vec<String> = report.left().iter().map(|s| s.to_string()).collect();
    if report.interrupted {
        inv.ui.err(&format!(
            "interrupted: {} step(s) did not finish ({}). Run `sdctl {command}` again to resume.",
            left.len(),
            left.join(", ")
        ));
        return ExitCode::Interrupted;
    }
    let why = if report.timed_out { "the --timeout expired" } else { "a step failed" };
    inv.ui.err(&format!(
        "{why}: {} step(s) did not finish ({}). Fix the cause shown above and run `sdctl {command}` again: it resumes where it stopped.",
        left.len(),
        left.join(", ")
    ));
    ExitCode::ApplyFailed
}
