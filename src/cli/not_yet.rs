//! Commands that a later version fills in say so plainly (exit 2) instead of pretending.

use crate::exit::{Exit, ExitCode};

pub fn run(command: &str, issue: u32) -> anyhow::Result<ExitCode> {
    Err(Exit::usage(format!(
        "`sdctl {command}` is not available yet in this version of sdctl (tracked in issue #{issue})"
    ))
    .into())
}
