//! Preflight: everything that can be known before anything is created — credentials, project,
//! billing, APIs, permissions, quotas, GPU and machine availability, organization policies, IAP
//! members, Kubernetes versions, the cost cap — each a check with the exact fix. Read-only: no
//! check sends a mutating request. `sdctl preflight` prints them; `up` runs them before its plan.
//!
//! A check that needs an API that is not enabled yet is `skipped`; when `up` enables that API
//! (its `apis` step), it runs those checks again before anything else is created.

mod access;
mod apis;
mod image_cache;
mod isolation;
mod permissions;
mod policies;
mod quotas;
mod ranges;
mod versions;
mod zones;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::gcp::identity::Identity;
use crate::gcp::{ApiError, ErrorKind};
use crate::plan::{Check, CheckStatus, Graph, RunShared, StepCx, StepId};
use crate::steps::{self, Env};

/// One check's result, and whether `up` should run it again once the `apis` step has enabled
/// the API it needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub check: Check,
    /// The API (`compute.googleapis.com`) that was disabled, when `up` enables it.
    pub after_api: Option<String>,
}

impl Outcome {
    fn new(id: &str, status: CheckStatus, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check: Check { id: id.to_string(), status, message: message.into(), fix: fix.into() }, after_api: None }
    }

    pub fn pass(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Pass, message, "")
    }

    pub fn warn(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Warn, message, fix)
    }

    pub fn fail(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Fail, message, fix)
    }

    pub fn skipped(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Skipped, message, fix)
    }
}

/// Every check of one preflight run, in a stable order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn checks(&self) -> Vec<Check> {
        self.outcomes.iter().map(|o| o.check.clone()).collect()
    }

    pub fn failed(&self) -> Vec<&Check> {
        self.outcomes.iter().map(|o| &o.check).filter(|c| c.status == CheckStatus::Fail).collect()
    }

    pub fn ok(&self) -> bool {
        self.failed().is_empty()
    }

    /// Checks skipped because an API `up` enables was off: run again after the `apis` step.
    pub fn deferred(&self) -> Vec<&Outcome> {
        self.outcomes.iter().filter(|o| o.after_api.is_some()).collect()
    }
}

/// What the checks share: the run's environment, a context for visible retries, the planned
/// steps, and what earlier checks learned.
pub struct Context<'a> {
    pub env: Arc<Env>,
    pub cx: StepCx<Env>,
    pub graph: &'a Graph<Env>,
    /// The steps this run plans (`up STEP...` selects a part of the graph).
    pub selected: &'a BTreeSet<usize>,
    /// `--max-hourly-cost`.
    pub max_hourly_cost: Option<f64>,
    identity: Option<Identity>,
    /// Enabled services; None when they could not be read (then every check just tries).
    enabled: Option<BTreeSet<String>>,
}

/// The step id preflight's own API calls report under (retry events).
pub const PREFLIGHT: StepId = StepId("preflight");

impl<'a> Context<'a> {
    pub fn new(
        env: Arc<Env>,
        shared: Arc<RunShared>,
        graph: &'a Graph<Env>,
        selected: &'a BTreeSet<usize>,
        max_hourly_cost: Option<f64>,
    ) -> Self {
        let cx = StepCx::new(env.clone(), PREFLIGHT, shared);
        Self { env, cx, graph, selected, max_hourly_cost, identity: None, enabled: None }
    }

    fn project(&self) -> &str {
        &self.env.config.project
    }

    /// None when `api` is enabled (or unknown); else the skipped outcome for check `id`,
    /// deferred to after the `apis` step when `up` enables that API.
    fn needs(&self, id: &str, api: &str, what: &str) -> Option<Outcome> {
        let enabled = self.enabled.as_ref()?;
        if enabled.contains(api) {
            return None;
        }
        Some(self.api_disabled(id, api, what))
    }

    fn api_disabled(&self, id: &str, api: &str, what: &str) -> Outcome {
        let up_enables = steps::needed_apis(&self.env.config).contains(&api);
        let (message, fix) = if up_enables {
            (
                format!(
                    "{api} is not enabled yet, so {what} cannot be read; `sdctl up` checks again right after enabling it"
                ),
                format!(
                    "run `sdctl up` (its apis step enables it), or: gcloud services enable {api} --project {}",
                    self.project()
                ),
            )
        } else {
            (
                format!("{api} is not enabled, so {what} cannot be read (sdctl itself does not need it)"),
                format!("to let preflight check this: gcloud services enable {api} --project {}", self.project()),
            )
        };
        let mut outcome = Outcome::skipped(id, message, fix);
        if up_enables {
            outcome.after_api = Some(api.to_string());
        }
        outcome
    }

    /// The outcome of a read that failed: skipped when the API is off, else a warning naming
    /// what could not be checked and what to do.
    fn read_failed(&self, id: &str, what: &str, error: &anyhow::Error) -> Outcome {
        let api_error = error.downcast_ref::<ApiError>();
        if let Some(e) = api_error
            && e.kind == ErrorKind::ServiceDisabled
            && let Some(api) = &e.service
        {
            return self.api_disabled(id, api, what);
        }
        let fix = api_error
            .and_then(ApiError::fix)
            .unwrap_or_else(|| "check the error above and run `sdctl preflight` again".to_string());
        let message = match api_error {
            Some(e) => format!("could not read {what}: {}", first_line(&e.to_string())),
            None => format!("could not read {what}: {error:#}"),
        };
        Outcome::warn(id, message, fix)
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Runs every check. Never fails as a whole: what cannot be checked says so in its outcome.
pub async fn run(ctx: &mut Context<'_>) -> Report {
    let mut outcomes = Vec::new();
    let (credentials, identity) = access::credentials(ctx).await;
    let usable = credentials.check.status != CheckStatus::Fail;
    outcomes.push(credentials);
    if !usable {
        for id in ["project", "billing", "apis", "permissions", "quotas", "zones", "org-policies", "iap-members"] {
            outcomes.push(Outcome::skipped(id, "needs working credentials", "fix the credentials check first"));
        }
        outcomes.extend(policies::webui_extensions(ctx));
        outcomes.extend(cost_cap(ctx).await);
        return Report { outcomes };
    }
    ctx.identity = identity;
    let (apis, enabled) = apis::check(ctx).await;
    ctx.enabled = enabled;
    let ctx = &*ctx;
    let (project, billing, permissions, quotas, zones, policies, iap, versions, ladder, ranges, isolation, egress, cap) = tokio::join!(
        access::project(ctx),
        access::billing(ctx),
        permissions::check(ctx),
        quotas::check(ctx),
        zones::check(ctx),
        policies::org_policies(ctx),
        policies::iap_members(ctx),
        versions::check(ctx),
        versions::ladder(ctx),
        ranges::check(ctx),
        isolation::check(ctx),
        image_cache::check(ctx),
        cost_cap(ctx),
    );
    outcomes.push(project);
    outcomes.push(billing);
    outcomes.push(apis);
    outcomes.push(permissions);
    outcomes.extend(quotas);
    outcomes.extend(zones);
    outcomes.extend(policies);
    outcomes.push(iap);
    outcomes.extend(policies::webui_extensions(ctx));
    outcomes.push(versions);
    outcomes.extend(ladder);
    outcomes.push(ranges);
    outcomes.push(isolation);
    outcomes.extend(egress);
    outcomes.extend(cap);
    Report { outcomes }
}

/// Runs again the checks of `previous` that waited for an API (after `up`'s `apis` step), and
/// returns only those: the deferred ones, and the ones they expand into (a skipped `quotas`
/// becomes one check per quota metric).
pub async fn rerun(ctx: &mut Context<'_>, previous: &Report) -> Report {
    let deferred: BTreeSet<&str> = previous.deferred().iter().map(|o| o.check.id.as_str()).collect();
    let known: BTreeSet<&str> = previous.outcomes.iter().map(|o| o.check.id.as_str()).collect();
    let again = run(ctx).await;
    let outcomes = again
        .outcomes
        .into_iter()
        .filter(|o| deferred.contains(o.check.id.as_str()) || !known.contains(o.check.id.as_str()))
        .collect();
    Report { outcomes }
}

/// `up --max-hourly-cost`: the full-load estimate (at the run's prices) against the cap.
async fn cost_cap(ctx: &Context<'_>) -> Option<Outcome> {
    let cap = ctx.max_hourly_cost?;
    Some(cap_check(&ctx.env.estimate().await, cap))
}

/// The cost-cap check on its own (also used when preflight is skipped).
pub fn cap_check(estimate: &crate::cost::Estimate, cap: f64) -> Outcome {
    // With a ladder, the rung that costs most: the autoscaler may have to use it.
    let (mix, full) = estimate.worst();
    let on = match mix {
        None => format!("{} GPU node(s)", estimate.full_gpu_nodes),
        Some(mix) => {
            let mix: Vec<String> = mix.iter().map(|(r, n)| format!("{n} x rung {} ({})", r.rung, r.gpu)).collect();
            format!("the dearest GPU nodes of the ladder: {}", mix.join(" + "))
        }
    };
    let what = format!(
        "full load ({} users on {on}) is estimated at ${full:.2}/hour (idle ${:.2}/hour)",
        estimate.max_users,
        estimate.idle_per_hour()
    );
    if full > cap {
        Outcome::fail(
            "cost-cap",
            format!("{what}, above --max-hourly-cost {cap:.2}"),
            "lower runtime.maxUsers or gpu.maxNodes, use spot GPUs (gpu.spot: true), drop the dearest rung of gpu.fallbacks, or raise --max-hourly-cost; `sdctl cost` shows each item",
        )
    } else {
        Outcome::pass("cost-cap", format!("{what}, within --max-hourly-cost {cap:.2}"))
    }
}
