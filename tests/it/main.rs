//! sdctl's integration tests: one test binary (every extra one relinks Google's SDK).

mod support;

mod build;
mod cli;
mod config_errors;
mod emulator;
mod executor;
mod fake_gcs;
mod infra;
mod kube_layer;
mod runtime;
