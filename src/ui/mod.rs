//! The only code that writes to the terminal: the live progress display, JSON events, plan
//! tables and summaries. Human output goes to stderr (results of read-only commands such as
//! `plan` to stdout); `-o json` puts only JSON on stdout.

mod format;
mod json;
mod progress;
mod prompts;
mod tables;

use std::io::{IsTerminal, Write};

pub use format::duration;
pub use json::JsonReporter;
pub use progress::HumanReporter;
pub use prompts::Prompter;
pub use tables::{cost_line, cost_table, output_lines, plan_table, preflight_lines, preflight_summary, summary_lines};

/// `-o human|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

/// How and where to print, decided once from the flags and the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub format: OutputFormat,
    /// stderr is a terminal: live progress lines instead of plain log lines.
    pub live: bool,
    /// Colours allowed (terminal and no `NO_COLOR`).
    pub color: bool,
}

impl Ui {
    pub fn detect(format: OutputFormat) -> Self {
        let live = std::io::stderr().is_terminal();
        Self { format, live, color: console::colors_enabled_stderr() }
    }

    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// A reporter for a run's events in this mode.
    pub fn reporter(&self) -> std::sync::Arc<dyn crate::plan::Reporter> {
        match self.format {
            OutputFormat::Json => std::sync::Arc::new(JsonReporter),
            OutputFormat::Human => std::sync::Arc::new(HumanReporter::new(*self)),
        }
    }

    /// Prints a result to stdout. A closed pipe (`sdctl plan | head`) is a normal end.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Prints a message for the user to stderr.
    pub fn err(&self, text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// One JSON document on stdout (`status`, `preflight`, `cost`).
    pub fn json_document(&self, value: &serde_json::Value) {
        self.out(&serde_json::to_string_pretty(value).unwrap_or_default());
    }

    /// Styles `text` when colours are on.
    pub fn paint(&self, text: &str, style: Paint) -> String {
        if !self.color {
            return text.to_string();
        }
        let s = console::style(text).for_stderr();
        match style {
            Paint::Ok => s.green(),
            Paint::Warn => s.yellow(),
            Paint::Bad => s.red(),
            Paint::Dim => s.dim(),
            Paint::Bold => s.bold(),
        }
        .to_string()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Ok,
    Warn,
    Bad,
    Dim,
    Bold,
}
