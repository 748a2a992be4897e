//! The emulator driven by Google's official Rust clients and kube-rs.

pub(crate) mod k8s_agones;
mod k8s_api;
mod k8s_gke;
pub(crate) mod k8s_host;
mod k8s_stack;
mod google_support;
mod google_gke;
mod google_compute;
mod google_services;
mod google_data;
mod google_build;
mod google_storage;
