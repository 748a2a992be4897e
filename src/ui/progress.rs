//! The human display of a run on stderr: on a terminal, one live line per running step (spinner,
//! elapsed time, current sub-action) above the finished steps; otherwise plain log lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Paint, Ui, duration, tables};
use crate::plan::{CheckStatus, Event, Outcome, Reporter, StepId};

pub struct HumanReporter {
    ui: Ui,
    multi: MultiProgress,
    bars: Mutex<HashMap<StepId, ProgressBar>>,
    /// Last sub-action printed per step in plain mode, so that repeated polls print once.
    last: Mutex<HashMap<StepId, String>>,
}

impl HumanReporter {
    pub fn new(ui: Ui) -> Self {
        let target = if ui.live { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Self {
            ui,
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Prints a line above the live bars (or plainly when not live).
    fn line(&self, text: &str) {
        if self.ui.live {
            let _ = self.multi.println(text);
        } else {
            self.ui.err(text);
        }
    }

    fn bar(&self, step: StepId) -> Option<ProgressBar> {
        self.bars.lock().ok()?.get(&step).cloned()
    }

    fn started(&self, step: StepId) {
        if !self.ui.live {
            self.line(&format!("[{step}] started"));
            return;
        }
        let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:<10} {elapsed:>5} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = self.multi.add(ProgressBar::new_spinner().with_style(style));
        bar.set_prefix(step.as_str());
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(step, bar);
        }
    }

    fn sub_action(&self, step: StepId, message: &str) {
        match self.bar(step) {
            Some(bar) => bar.set_message(message.to_string()),
            None => {
                let repeated = self
                    .last
                    .lock()
                    .map(|mut last| last.insert(step, message.to_string()).as_deref() == Some(message))
                    .unwrap_or(false);
                if !repeated {
                    self.line(&format!("[{step}] {message}"));
                }
            }
        }
    }

    fn finished(&self, step: StepId, outcome: Outcome, took: Duration, error: Option<&str>) {
        if let Some(bar) = self.bars.lock().ok().and_then(|mut b| b.remove(&step)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let (mark, paint) = match outcome {
            Outcome::Failed => ("✗", Paint::Bad),
            Outcome::Skipped => ("-", Paint::Dim),
            Outcome::Unchanged | Outcome::Kept => ("=", Paint::Dim),
            _ => ("✓", Paint::Ok),
        };
        let took = if matches!(outcome, Outcome::Skipped) { String::new() } else { format!(" in {}", duration(took)) };
        let mut text = format!("{} {step:<10} {outcome}{took}", self.ui.paint(mark, paint));
        if let Some(error) = error {
            let label = if outcome == Outcome::Skipped { "" } else { "error: " };
            text.push_str(&format!("\n    {label}{}", error.replace('\n', "\n    ")));
        }
        self.line(&text);
    }
}

impl Reporter for HumanReporter {
    fn emit(&self, event: Event) {
        match event {
            Event::Preflight { checks } => {
                // Passing checks only count here; `sdctl preflight` lists them all.
                let notable: Vec<_> = checks.iter().filter(|c| c.status != CheckStatus::Pass).cloned().collect();
                for line in tables::preflight_lines(&self.ui, &notable) {
                    self.line(&line);
                }
                self.line(&tables::preflight_summary(&checks));
            }
            Event::Plan { steps, cost } => {
                self.line(&tables::plan_table(&self.ui, &steps));
                if let Some(cost) = cost {
                    self.line(&tables::cost_line(&cost));
                }
            }
            Event::StepStarted { step } => self.started(step),
            Event::StepProgress { step, message } => self.sub_action(step, &message),
            Event::Retry { step, reason, after_ms } => {
                let message = format!("retrying after {reason} in {}", duration(Duration::from_millis(after_ms)));
                self.sub_action(step, &message);
            }
            Event::Warning { step, message } => {
                let prefix = step.map(|s| format!("[{s}] ")).unwrap_or_default();
                self.line(&format!("{} {prefix}{message}", self.ui.paint("warning:", Paint::Warn)));
            }
            Event::StepFinished { step, outcome, duration_ms, error } => {
                self.finished(step, outcome, Duration::from_millis(duration_ms), error.as_deref())
            }
            Event::Summary { ok, outputs, left } => {
                for line in tables::summary_lines(&self.ui, ok, &outputs, &left) {
                    self.line(&line);
                }
            }
        }
    }
}
