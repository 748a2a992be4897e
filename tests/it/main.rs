//! sdctl's integration tests: one test binary (every extra one relinks Google's SDK).

mod support;

mod build;
mod cli;
mod config_errors;
mod cost;
mod emulator;
mod executor;
mod fake_gcs;
mod full_up;
mod image_cache;
mod infra;
mod init;
mod kube_layer;
mod live;
mod okg;
mod preflight;
mod runtime;
