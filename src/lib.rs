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
