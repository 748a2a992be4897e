//! Shared by the `google_*` tests: an emulator at high speed, official clients pointed at it,
//! fast polling, and request-log queries.

use std::time::Duration;

use google_cloud_gax::exponential_backoff::{ExponentialBackoff, ExponentialBackoffBuilder};
use sdctl_emulator::{Emulator, Options, Scenario};
use serde_json::Value;

/// Simulated time runs this much faster than real time: a 6-minute cluster create takes 36 ms.
pub const SPEED: f64 = 10_000.0;

/// An emulator whose project has every API enabled (these tests exercise one API each, not
/// enabling them), except the scenario's `disabledApis`.
pub async fn emulator(scenario: &str) -> Emulator {
    let mut scenario = Scenario::from_yaml(scenario).expect("scenario");
    if scenario.enabled_apis.is_empty() {
        scenario.enabled_apis = vec!["*".into()];
    }
    // Service accounts known at once unless a test is about IAM's propagation delay.
    scenario.service_account_propagation_seconds.get_or_insert(0.0);
    Emulator::start(Options { speed: SPEED, scenario, discovery_dir: discovery_dir(), ..Default::default() })
        .await
        .expect("emulator starts")
}

/// Requests are always validated against Google's Discovery documents.
pub fn discovery_dir() -> Option<std::path::PathBuf> {
    Some(crate::support::upstream::upstream_dir().join("discovery"))
}

pub fn fast() -> ExponentialBackoff {
    ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(2))
        .with_maximum_delay(Duration::from_millis(20))
        .build()
        .expect("backoff")
}

/// An official client of type `$ty` for Google API `$service` of the emulator.
macro_rules! client {
    ($emu:expr, $ty:ty, $service:literal) => {
        <$ty>::builder()
            .with_endpoint(format!("{}/{}", $emu.url(), $service))
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .with_polling_backoff_policy($crate::emulator::google_support::fast())
            .with_backoff_policy($crate::emulator::google_support::fast())
            .build()
            .await
            .expect("client")
    };
}
pub(crate) use client;

/// Logged requests with this Discovery method id.
pub fn calls(emu: &Emulator, method_id: &str) -> Vec<Value> {
    emu.requests().into_iter().filter(|r| r["methodId"] == method_id).collect()
}

/// The `/_emulator/state` entry named `name`, if live.
pub fn resource(emu: &Emulator, name: &str) -> Option<Value> {
    emu.state()["resources"].as_array()?.iter().find(|r| r["name"] == name).cloned()
}

/// The HTTP status and Google error body of a failed call.
pub fn status(e: &google_cloud_gax::error::Error) -> (Option<u16>, String) {
    (e.http_status_code(), e.status().map(|s| s.message.clone()).unwrap_or_else(|| e.to_string()))
}

/// Waits (polling every few ms, at most 5 s real time) until `check` is true.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Runs a test body on a thread with a 16 MiB stack. In debug builds, deserializing a GKE
/// `Cluster` (hundreds of fields, nested node pools) needs more than the 2 MiB a test thread or
/// a tokio worker has: sdctl's runtime needs the same allowance.
pub fn run_big<F>(body: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let thread = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(body());
        })
        .expect("test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}
