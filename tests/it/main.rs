//! sdctl's integration tests: one test binary (every extra one relinks Google's SDK).

mod support;

mod cli;
mod config_errors;
mod cost;
mod emulator;
mod executor;
mod infra;
mod init;
mod preflight;
