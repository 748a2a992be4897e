//! The in-cluster components (`sdctl runtime ...`) run as the real binary against a real
//! redis-server and the emulated cluster.

mod reclaim;
mod router;
mod sidecar;
pub mod support;
