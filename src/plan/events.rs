//! Events of a run: the JSON contract of `-o json` (design.md) and what the progress display shows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::step::{Action, Outcome, StepId};

/// One preflight check result (`sdctl preflight`, and the first event of `up`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: String,
    pub status: CheckStatus,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
    Skipped,
}

/// A step of the plan event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    pub id: StepId,
    pub action: Action,
    pub depends_on: Vec<StepId>,
    /// What the step manages.
    pub description: String,
    /// What will change (human lines).
    pub changes: Vec<String>,
    /// The live state in a few words (`RUNNING, 1.35.3-gke.200`), when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Newline-delimited JSON on stdout with `-o json`, in this order: preflight, plan, step events,
/// summary. New fields and event kinds may be added; existing ones keep their meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Preflight {
        checks: Vec<Check>,
    },
    Plan {
        steps: Vec<PlanEntry>,
        /// The cost estimate of the configuration (totals; `sdctl cost` has the items).
        #[serde(skip_serializing_if = "Option::is_none")]
        cost: Option<crate::cost::CostSummary>,
    },
    StepStarted {
        step: StepId,
    },
    StepProgress {
        step: StepId,
        message: String,
    },
    Retry {
        step: StepId,
        reason: String,
        after_ms: u64,
    },
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        message: String,
    },
    StepFinished {
        step: StepId,
        outcome: Outcome,
        duration_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Summary {
        ok: bool,
        outputs: BTreeMap<String, String>,
        left: Vec<String>,
    },
}

/// Where events go: the JSON printer, the live progress display, or a test's collector.
pub trait Reporter: Send + Sync {
    fn emit(&self, event: Event);
}

/// Keeps every event (tests, and commands that print only at the end).
#[derive(Default)]
pub struct Collector(std::sync::Mutex<Vec<Event>>);

impl Collector {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Reporter for Collector {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
