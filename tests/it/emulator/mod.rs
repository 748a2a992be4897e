//! The emulator driven by Google's official Rust clients and kube-rs.

mod google_build;
mod google_compute;
mod google_data;
mod google_gke;
mod google_services;
mod google_storage;
mod google_support;
mod k8s_agones;
mod k8s_api;
mod k8s_gke;
mod k8s_host;
mod k8s_stack;
