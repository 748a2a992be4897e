//! sdctl: provision and tear down a multi-user Stable Diffusion WebUI service on GKE.

pub mod cli;
pub mod config;
pub mod cost;
pub mod exit;
pub mod gcp;
pub mod images;
pub mod init;
pub mod kube;
pub mod logging;
pub mod machines;
pub mod names;
pub mod pins;
pub mod plan;
pub mod preflight;
pub mod runtime;
pub mod steps;
pub mod ui;

/// Stack of every thread that runs sdctl's async code: decoding GKE's Cluster (hundreds of nested
/// fields) or a Kubernetes object needs more than the default 2 MiB.
pub const THREAD_STACK: usize = 8 << 20;
