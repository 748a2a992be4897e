//! Exit codes (a contract: design.md) and the error that carries one.

use crate::config::ConfigError;
use crate::plan::GraphError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    /// Unexpected error.
    Error = 1,
    /// Invalid usage or configuration.
    Usage = 2,
    /// Preflight failed: APIs, permissions, quota, accelerator availability, org policy, cost cap.
    Preflight = 3,
    /// Apply failed part-way; running `up` again resumes.
    ApplyFailed = 4,
    /// Teardown left billable resources.
    Leftovers = 5,
    /// `plan --exit-code` / `status --exit-code`: changes pending or drift.
    Pending = 10,
    /// Interrupted (Ctrl-C).
    Interrupted = 130,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error that ends the command with a given exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: ExitCode,
    pub message: String,
}

impl Exit {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Usage, message)
    }
}

/// The exit code for an error that reached `main`.
pub fn code_of(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<Exit>() {
            return e.code;
        }
        if cause.is::<ConfigError>() {
            return ExitCode::Usage;
        }
        // Unknown step names and cycles are found before anything runs: usage errors.
        if cause.is::<GraphError>() {
            return ExitCode::Usage;
        }
    }
    ExitCode::Error
}
