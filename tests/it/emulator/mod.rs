//! The emulator driven by Google's official Rust clients and kube-rs.

mod k8s_agones;
mod k8s_api;
mod k8s_gke;
mod k8s_host;
mod k8s_stack;
