//! Which Google APIs are enabled: those `up` needs (it enables them itself, so a disabled one is
//! a warning) and those only preflight reads (billing, org policies).

use std::collections::BTreeSet;

use google_cloud_api_serviceusage_v1::model::State;

use super::{Context, Outcome};
use crate::gcp::retry;
use crate::steps;

/// APIs preflight reads that `up` does not need.
pub const PREFLIGHT_ONLY: [&str; 2] = ["cloudbilling.googleapis.com", "orgpolicy.googleapis.com"];

/// The `apis` check, and the set of enabled services (None: unreadable).
pub async fn check(ctx: &Context<'_>) -> (Outcome, Option<BTreeSet<String>>) {
    const ID: &str = "apis";
    let needed = steps::needed_apis(&ctx.env.config);
    let mut wanted: Vec<&str> = needed.clone();
    wanted.extend(PREFLIGHT_ONLY);
    let client = match ctx.env.gcp.service_usage().await {
        Ok(c) => c,
        Err(e) => return (ctx.read_failed(ID, "which APIs are enabled", &e), None),
    };
    let parent = format!("projects/{}", ctx.project());
    let names: Vec<String> = wanted.iter().map(|api| format!("{parent}/services/{api}")).collect();
    let found = retry::call(&ctx.cx, "read which APIs are enabled", || {
        client.batch_get_services().set_parent(&parent).set_names(names.clone()).send()
    })
    .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return (ctx.read_failed(ID, "which APIs are enabled", &e), None),
    };
    let enabled: BTreeSet<String> = found
        .services
        .iter()
        .filter(|s| s.state == State::Enabled)
        .filter_map(|s| s.name.rsplit('/').next().map(String::from))
        .collect();
    let missing: Vec<&str> = needed.iter().copied().filter(|api| !enabled.contains(*api)).collect();
    let outcome = if missing.is_empty() {
        Outcome::pass(ID, format!("all {} APIs this configuration uses are enabled", needed.len()))
    } else {
        Outcome::warn(
            ID,
            format!("{} of {} APIs are not enabled yet: {}", missing.len(), needed.len(), missing.join(", ")),
            format!(
                "`sdctl up` enables them first (step apis); or: gcloud services enable {} --project {}",
                missing.join(" "),
                ctx.project()
            ),
        )
    };
    (outcome, Some(enabled))
}
