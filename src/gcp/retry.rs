//! Calls with retries sdctl can show: transient errors (503, 429 with `Retry-After`, GKE's
//! "operation in progress") are retried with backoff, reported as `retry` events; permanent
//! errors (403, 400, quota) fail at once. The SDK's own retry loop is switched off so that no
//! retry happens silently.

use std::future::Future;
use std::time::{Duration, Instant};

use google_cloud_gax::error::Error as SdkError;

use super::error::{ApiError, ErrorKind};
use crate::plan::{Interrupted, StepCx};

/// Backoff limits (before `SDCTL_TIME_SCALE`).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Give up once this much time has been spent retrying.
    pub budget: Duration,
    /// Also retry IAM's "does not exist" for a service account or Workload Identity pool made a
    /// moment ago (IAM is eventually consistent).
    pub waits_for_propagation: bool,
}

impl RetryPolicy {
    /// Ordinary calls: a few attempts within two minutes.
    pub const DEFAULT: Self = Self {
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        budget: Duration::from_secs(120),
        waits_for_propagation: false,
    };

    /// IAM bindings of members made a moment ago: Google documents minutes of propagation
    /// (cloud.google.com/iam/docs/access-change-propagation: typically 2, up to 7 or longer).
    pub const IAM_PROPAGATION: Self = Self {
        first_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(20),
        budget: Duration::from_secs(10 * 60),
        waits_for_propagation: true,
    };

    /// Mutations of a GKE cluster, which may wait behind another operation for many minutes.
    pub const CLUSTER_MUTATION: Self = Self {
        first_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(30),
        budget: Duration::from_secs(30 * 60),
        // A new node service account may not be known to GKE yet.
        waits_for_propagation: true,
    };
}

/// Errors the retry loop understands: the SDK's, and sdctl's own REST calls'.
pub trait Classify {
    fn classify(self, action: &str) -> ApiError;
}

impl Classify for SdkError {
    fn classify(self, action: &str) -> ApiError {
        ApiError::from_sdk(action, &self)
    }
}

impl Classify for ApiError {
    fn classify(self, _action: &str) -> ApiError {
        self
    }
}

/// Runs `call` until it succeeds, fails permanently, or the retry budget is spent.
pub async fn call<E, T, X, F, Fut>(cx: &StepCx<E>, action: &str, call: F) -> anyhow::Result<T>
where
    X: Classify,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, X>>,
{
    call_with(cx, action, RetryPolicy::DEFAULT, call).await
}

pub async fn call_with<E, T, X, F, Fut>(
    cx: &StepCx<E>,
    action: &str,
    policy: RetryPolicy,
    mut call: F,
) -> anyhow::Result<T>
where
    X: Classify,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, X>>,
{
    let started = Instant::now();
    let budget = cx.limit(policy.budget);
    let mut delay = policy.first_delay;
    loop {
        if cx.is_cancelled() {
            return Err(Interrupted.into());
        }
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(e) => e.classify(action),
        };
        let retryable = error.is_transient() || (policy.waits_for_propagation && error.is_propagation_delay());
        if !retryable || started.elapsed() >= budget {
            return Err(error.into());
        }
        let wait = error.retry_after.unwrap_or(delay).min(policy.max_delay.max(delay));
        cx.retrying(reason(&error), wait);
        cx.sleep(wait).await?;
        delay = (delay * 2).min(policy.max_delay);
    }
}

/// A short retry reason: `503`, `429`, `operation in progress`.
fn reason(e: &ApiError) -> String {
    let what = match (e.kind, e.http_status) {
        _ if e.is_propagation_delay() => "a new identity not known to IAM yet".to_string(),
        (ErrorKind::FailedPrecondition, _) => "another operation in progress".to_string(),
        (_, Some(code)) => code.to_string(),
        (ErrorKind::Unavailable, None) => "connection error".to_string(),
        _ => format!("{:?}", e.kind),
    };
    format!("{what} on {}", e.action)
}
