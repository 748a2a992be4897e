//! The plan table and the closing summary.

use std::collections::BTreeMap;

use super::{Paint, Ui};
use crate::plan::{Action, PlanEntry};

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
    let mut lines = Vec::new();
    if !outputs.is_empty() {
        lines.push(ui.paint("Outputs:", Paint::Bold));
        let width = outputs.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in outputs {
            lines.push(format!("  {k:<width$}  {v}"));
        }
    }
    if ok {
        lines.push(ui.paint("Done.", Paint::Ok));
    } else if !left.is_empty() {
        lines.push(format!("{} {}", ui.paint("Not done:", Paint::Bad), left.join(", ")));
    }
    lines
}
