//! sdctl's emulator of the Google Cloud APIs and of each GKE cluster's Kubernetes API.

pub mod k8s;
pub mod scenario;
