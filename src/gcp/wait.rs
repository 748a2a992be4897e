//! Waiting: one helper polls a check until it yields a value or a timeout that names what was
//! awaited; operation waits are built on it. Every interval and timeout honours
//! `SDCTL_TIME_SCALE`, and every wait ends early when the run is cancelled.

use std::future::Future;
use std::time::{Duration, Instant};

use google_cloud_lro::{Poller, PollingResult};

use super::error::ApiError;
use crate::plan::{Interrupted, StepCx};
use crate::ui::duration;

/// How often to poll and how long to wait at most (before `SDCTL_TIME_SCALE`).
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Patience {
    pub const fn new(interval_secs: u64, timeout_secs: u64) -> Self {
        Self { interval: Duration::from_secs(interval_secs), timeout: Duration::from_secs(timeout_secs) }
    }
}

/// The wait for `what` ran out of time.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {} waiting for {what}{}", duration(*.waited), .last.as_ref().map(|l| format!(" (last seen: {l})")).unwrap_or_default())]
pub struct WaitTimeout {
    pub what: String,
    pub waited: Duration,
    pub last: Option<String>,
}

/// What one poll found.
pub enum Poll<T> {
    Ready(T),
    /// Not yet; the text is shown as progress (`operation-123 RUNNING`).
    Pending(String),
}

/// Polls `check` every `patience.interval` until it is ready, fails, or `patience.timeout` passes.
pub async fn until<E, T, F, Fut>(cx: &StepCx<E>, what: &str, patience: Patience, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Poll<T>>>,
{
    let started = Instant::now();
    let timeout = cx.limit(patience.timeout);
    loop {
        let status = match check().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(status) => status,
        };
        cx.progress(format!("waiting for {what} ({status})"));
        if started.elapsed() >= timeout {
            return Err(WaitTimeout { what: what.to_string(), waited: started.elapsed(), last: Some(status) }.into());
        }
        cx.sleep(patience.interval).await?;
    }
}

/// Drives a long-running operation of an AIP-151 API (Filestore, Redis, Service Usage, ...).
pub async fn operation<E, R, M, P>(cx: &StepCx<E>, what: &str, patience: Patience, mut poller: P) -> anyhow::Result<R>
where
    P: Poller<R, M>,
{
    let started = Instant::now();
    let timeout = cx.limit(patience.timeout);
    let mut polls = 0u32;
    loop {
        if cx.is_cancelled() {
            return Err(Interrupted.into());
        }
        match poller.poll().await {
            Some(PollingResult::Completed(result)) => return result.map_err(|e| ApiError::from_sdk(what, &e).into()),
            Some(PollingResult::InProgress(_)) => {
                polls += 1;
                cx.progress(format!("waiting for {what} (running, {})", duration(started.elapsed())));
            }
            Some(PollingResult::PollingError(e)) => {
                let error = ApiError::from_sdk(what, &e);
                if !error.is_transient() {
                    return Err(error.into());
                }
                cx.retrying(format!("{error}"), cx.scaled(patience.interval));
            }
            None => anyhow::bail!("{what}: the operation ended without a result"),
        }
        if started.elapsed() >= timeout {
            return Err(WaitTimeout {
                what: what.to_string(),
                waited: started.elapsed(),
                last: Some(format!("still running after {polls} polls")),
            }
            .into());
        }
        cx.sleep(patience.interval).await?;
    }
}
