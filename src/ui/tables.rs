//! The plan table and the closing summary.

use std::collections::BTreeMap;

use super::{Paint, Ui};
use crate::cost::{CostSummary, Estimate, prices};
use crate::plan::{Action, Check, CheckStatus, PlanEntry};

/// One line per step: action, id, dependencies, what it manages; changes indented below.
pub fn plan_table(ui: &Ui, steps: &[PlanEntry]) -> String {
    let mut lines = Vec::new();
    for s in steps {
        let paint = match s.action {
            Action::Create => Paint::Ok,
            Action::Update => Paint::Warn,
            Action::Delete | Action::Unknown => Paint::Bad,
            Action::Unchanged => Paint::Dim,
        };
        let action = ui.paint(&format!("{:<9}", s.action.to_string()), paint);
        let deps = if s.depends_on.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = s.depends_on.iter().map(|d| d.as_str()).collect();
            ui.paint(&format!("  [after {}]", names.join(", ")), Paint::Dim)
        };
        lines.push(format!("{action} {:<9} {}{deps}", s.id.as_str(), s.description));
        if s.action != Action::Unchanged {
            for change in s.changes.iter().filter(|c| **c != s.description) {
                lines.push(format!("{:20}{}", "", ui.paint(change, Paint::Dim)));
            }
        }
    }
    let count = |a: Action| steps.iter().filter(|s| s.action == a).count();
    lines.push(format!(
        "Plan: {} to create, {} to update, {} unchanged{}.",
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged),
        match (count(Action::Delete), count(Action::Unknown)) {
            (0, 0) => String::new(),
            (d, 0) => format!(", {d} to delete"),
            (0, u) => format!(", {u} unknown"),
            (d, u) => format!(", {d} to delete, {u} unknown"),
        }
    ));
    lines.join("\n")
}

/// The end of `up`/`down`: outputs and what is left to do.
pub fn summary_lines(ui: &Ui, ok: bool, outputs: &BTreeMap<String, String>, left: &[String]) -> Vec<String> {
    let mut lines = output_lines(ui, outputs);
    if ok {
        lines.push(ui.paint("Done.", Paint::Ok));
    } else if !left.is_empty() {
        lines.push(format!("{} {}", ui.paint("Not done:", Paint::Bad), left.join(", ")));
    }
    lines
}

/// `Outputs:` and one aligned line per output (nothing when there are none).
pub fn output_lines(ui: &Ui, outputs: &BTreeMap<String, String>) -> Vec<String> {
    let mut lines = Vec::new();
    if !outputs.is_empty() {
        lines.push(ui.paint("Outputs:", Paint::Bold));
        let width = outputs.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in outputs {
            lines.push(format!("  {k:<width$}  {v}"));
        }
    }
    lines
}

/// One line per check (`pass`, `warn`, `FAIL`, `skip`), with its fix below unless it passed.
pub fn preflight_lines(ui: &Ui, checks: &[Check]) -> Vec<String> {
    let width = checks.iter().map(|c| c.id.len()).max().unwrap_or(0).min(40);
    checks
        .iter()
        .map(|c| {
            let (word, paint) = match c.status {
                CheckStatus::Pass => ("pass", Paint::Ok),
                CheckStatus::Warn => ("warn", Paint::Warn),
                CheckStatus::Fail => ("FAIL", Paint::Bad),
                CheckStatus::Skipped => ("skip", Paint::Dim),
            };
            let mut text = format!("{} {:<width$}  {}", ui.paint(word, paint), c.id, c.message);
            if !c.fix.is_empty() && c.status != CheckStatus::Pass {
                text.push_str(&format!("\n     fix: {}", c.fix));
            }
            text
        })
        .collect()
}

/// `Preflight: 14 passed, 1 warning, 2 failed, 1 skipped.`
pub fn preflight_summary(checks: &[Check]) -> String {
    let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
    format!(
        "Preflight: {} passed, {} warning(s), {} failed, {} skipped.",
        count(CheckStatus::Pass),
        count(CheckStatus::Warn),
        count(CheckStatus::Fail),
        count(CheckStatus::Skipped)
    )
}

/// The cost line of `plan` and `up`.
pub fn cost_line(cost: &CostSummary) -> String {
    format!(
        "Estimated cost: ${:.2}/hour idle, ${:.2}/hour at full load (about ${:.0}-${:.0}/month, {} list prices{}; `sdctl cost` for details).",
        cost.idle_per_hour,
        cost.full_load_per_hour,
        cost.idle_per_month,
        cost.full_load_per_month,
        cost.priced_region,
        if cost.price_source == "builtIn" { " from sdctl's table" } else { " from Google's Billing Catalog" }
    )
}

/// `sdctl cost`: every item idle and at full load, totals per hour and per month, notes.
pub fn cost_table(ui: &Ui, estimate: &Estimate) -> String {
    let width = estimate.items.iter().map(|i| i.item.len()).max().unwrap_or(0);
    let mut lines =
        vec![ui.paint(&format!("{:<width$}  {:>9}  {:>9}", "USD per hour", "idle", "full load"), Paint::Bold)];
    for i in &estimate.items {
        lines.push(format!("{:<width$}  {:>9.4}  {:>9.4}", i.item, i.idle_per_hour, i.full_load_per_hour));
    }
    lines.push(format!(
        "{:<width$}  {:>9.2}  {:>9.2}",
        "total per hour",
        estimate.idle_per_hour(),
        estimate.full_load_per_hour()
    ));
    lines.push(format!(
        "{:<width$}  {:>9.2}  {:>9.2}",
        format!("total per month ({} hours)", prices::HOURS_PER_MONTH),
        estimate.idle_per_month(),
        estimate.full_load_per_month()
    ));
    lines.push(format!(
        "Idle: nobody signed in, {} warm GPU node(s). Full load: {} users on {} GPU node(s).",
        estimate.idle_gpu_nodes, estimate.max_users, estimate.full_gpu_nodes
    ));
    if !estimate.rungs.is_empty() {
        lines.push(ui.paint("GPU ladder (gpu.fallbacks), tried in order:", Paint::Bold));
        let width = estimate.rungs.iter().map(|r| r.gpu.len()).max().unwrap_or(0);
        for r in &estimate.rungs {
            lines.push(format!(
                "  rung {}  {:<width$}  ${:.4}/node-hour; full load on it: {} node(s), ${:.2}/hour",
                r.rung, r.gpu, r.per_node_hour, r.full_load_nodes, r.full_load_per_hour
            ));
        }
        let (mix, worst) = estimate.worst();
        let mix: Vec<String> = mix.unwrap_or_default().iter().map(|(r, n)| format!("{n} x rung {}", r.rung)).collect();
        let on = if mix.is_empty() { "rung 0".to_string() } else { mix.join(" + ") };
        lines.push(format!("  at its dearest ({on}): ${worst:.2}/hour, what --max-hourly-cost judges"));
    }
    for note in &estimate.notes {
        lines.push(ui.paint(&format!("note: {note}"), Paint::Dim));
    }
    lines.push(ui.paint("Sources: `sdctl cost -o json` lists each item's pricing page and date.", Paint::Dim));
    lines.join("\n")
}
