//! What a running step gets: the shared environment, a way to report progress, cancellation,
//! scaled time, and the per-cluster lock for GKE mutations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;

use super::events::{Event, Reporter};
use super::step::StepId;

/// `SDCTL_TIME_SCALE=N` divides every interval, delay and timeout sdctl owns by N, to match an
/// emulator running with `--speed N`. 1 in real use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    pub const REAL: TimeScale = TimeScale(1.0);

    /// Values below 1 (or unparsable) mean real time.
    pub fn new(factor: f64) -> Self {
        if factor.is_finite() && factor >= 1.0 { Self(factor) } else { Self::REAL }
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    pub fn scale(self, d: Duration) -> Duration {
        d.div_f64(self.0)
    }

    /// A limit on waiting, scaled but never below [`Self::MIN_LIMIT`] (or `d` itself if shorter):
    /// only the cloud's durations shrink, this machine's own work does not, and a busy machine
    /// must not turn a 10-minute wait into a spurious timeout.
    pub fn limit(self, d: Duration) -> Duration {
        self.scale(d).max(d.min(Self::MIN_LIMIT))
    }

    pub const MIN_LIMIT: Duration = Duration::from_secs(30);
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

/// GKE runs one mutating operation per cluster at a time; steps take this lock around each.
#[derive(Default)]
pub struct ClusterLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl ClusterLocks {
    pub async fn lock(&self, cluster: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(cluster.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// Shared by every step of one run.
pub struct RunShared {
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
    pub time: TimeScale,
    pub locks: ClusterLocks,
}

/// The run was cancelled (Ctrl-C) while the step waited.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// A step's view of the run.
pub struct StepCx<E> {
    pub env: Arc<E>,
    pub id: StepId,
    pub(crate) shared: Arc<RunShared>,
}

impl<E> StepCx<E> {
    pub fn new(env: Arc<E>, id: StepId, shared: Arc<RunShared>) -> Self {
        Self { env, id, shared }
    }

    /// The current sub-action, shown on the step's progress line (`waiting for operation ...`).
    pub fn progress(&self, message: impl Into<String>) {
        self.shared.reporter.emit(Event::StepProgress { step: self.id, message: message.into() });
    }

    /// A transient error is being retried after `after`.
    pub fn retrying(&self, reason: impl Into<String>, after: Duration) {
        self.shared.reporter.emit(Event::Retry {
            step: self.id,
            reason: reason.into(),
            after_ms: after.as_millis() as u64,
        });
    }

    /// Something the user should know that does not stop the step.
    pub fn warn(&self, message: impl Into<String>) {
        self.shared.reporter.emit(Event::Warning { step: Some(self.id), message: message.into() });
    }

    pub fn time(&self) -> TimeScale {
        self.shared.time
    }

    /// A duration sdctl owns (poll interval, backoff), divided by `SDCTL_TIME_SCALE`.
    pub fn scaled(&self, d: Duration) -> Duration {
        self.shared.time.scale(d)
    }

    /// A timeout or retry budget, scaled with a floor (see [`TimeScale::limit`]).
    pub fn limit(&self, d: Duration) -> Duration {
        self.shared.time.limit(d)
    }

    pub fn is_cancelled(&self) -> bool {
        self.shared.cancel.is_cancelled()
    }

    pub fn cancel_token(&self) -> &CancellationToken {
        &self.shared.cancel
    }

    /// Sleeps for the scaled duration, or returns [`Interrupted`] as soon as the run is cancelled.
    pub async fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        tokio::select! {
            _ = self.shared.cancel.cancelled() => Err(Interrupted),
            _ = tokio::time::sleep(self.scaled(d)) => Ok(()),
        }
    }

    /// Serializes GKE mutations of one cluster across steps.
    pub async fn lock_cluster(&self, cluster: &str) -> OwnedMutexGuard<()> {
        self.progress(format!("waiting for other changes to cluster {cluster}"));
        self.shared.locks.lock(cluster).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_shrink_with_the_scale_but_keep_a_floor() {
        let fast = TimeScale::new(1000.0);
        let ten_minutes = Duration::from_secs(600);
        assert_eq!(fast.scale(ten_minutes), Duration::from_millis(600));
        assert_eq!(fast.limit(ten_minutes), TimeScale::MIN_LIMIT);
        assert_eq!(fast.limit(Duration::from_secs(5)), Duration::from_secs(5), "never longer than unscaled");
        assert_eq!(TimeScale::new(2.0).limit(Duration::from_secs(3600)), Duration::from_secs(1800));
        assert_eq!(TimeScale::REAL.limit(ten_minutes), ten_minutes);
    }
}
