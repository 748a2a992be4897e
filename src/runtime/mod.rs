//! What runs inside the cluster, from the same binary: the per-user router, the sidecar beside
//! each WebUI, and the idle reclaim CronJob (`sdctl runtime ...`). They log with `tracing`
//! (structured fields, never a secret) and take secrets from the environment, never argv.

pub mod gameservers;
pub mod instances;
pub mod outputs;
pub mod reclaim;
pub mod router;
pub mod sidecar;
pub mod store;
pub mod user;

/// Resolves when the process is asked to stop (SIGTERM from the kubelet, or Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
