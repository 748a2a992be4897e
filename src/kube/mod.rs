//! Kubernetes through kube-rs: a client from the GKE cluster resource, server-side apply of
//! rendered objects, readiness waits, and the upstream manifests sdctl installs.

pub mod agones;
mod apply;
pub mod client;
pub mod objects;
pub mod okg;
pub mod pki;
mod pools;
pub mod templates;
pub mod upstream;

pub use apply::{Kube, Readiness, readiness};
