//! `sdctl preflight [STEP...]`: every check `up` runs before creating anything, printed with its
//! fix. Read-only. Exit 3 when a check fails.

use std::sync::Arc;

use serde_json::json;

use super::{Invocation, PreflightArgs};
use crate::exit::ExitCode;
use crate::plan::Collector;
use crate::preflight;
use crate::steps::{self, RunOptions};
use crate::ui;

pub async fn run(inv: &Invocation, args: PreflightArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    let graph = steps::graph(&env.config)?;
    let ids = graph.parse_ids(&args.steps)?;
    let selected = graph.select_with_dependencies(&ids);
    inv.watch_ctrl_c();
    // Retries are not shown: the checks print once, at the end.
    let shared = inv.shared(Arc::new(Collector::default()));
    let mut ctx = preflight::Context::new(env.clone(), shared, &graph, &selected, args.max_hourly_cost);
    let report = preflight::run(&mut ctx).await;
    let checks = report.checks();
    if inv.ui.json() {
        inv.ui.json_document(&json!({ "ok": report.ok(), "checks": checks }));
    } else {
        for line in ui::preflight_lines(&inv.ui, &checks) {
            inv.ui.out(&line);
        }
        inv.ui.out(&ui::preflight_summary(&checks));
    }
    if report.ok() {
        return Ok(ExitCode::Ok);
    }
    let failed: Vec<&str> = report.failed().iter().map(|c| c.id.as_str()).collect();
    inv.ui.err(&format!(
        "{} check(s) failed ({}): `sdctl up` would stop before creating anything. Apply each fix and run `sdctl preflight` again.",
        failed.len(),
        failed.join(", ")
    ));
    Ok(ExitCode::Preflight)
}
