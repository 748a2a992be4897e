//! Quotas: limits (scenario, else generous defaults), usage computed from live resources (compute
//! and GKE nodes), and the create-time check that answers 403 QUOTA_EXCEEDED.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::google::World;
use crate::scenario::Scenario;

/// Usage by (scope, metric); scope is `global` or a region.
pub type Usage = BTreeMap<(String, String), f64>;

pub const GLOBAL: &str = "global";

/// Default regional limits: a healthy project that was granted GPUs.
const REGION_DEFAULTS: &[(&str, f64)] = &[
    ("CPUS", 500.0),
    ("N2_CPUS", 500.0),
    ("NVIDIA_T4_GPUS", 8.0),
    ("PREEMPTIBLE_NVIDIA_T4_GPUS", 8.0),
    ("NVIDIA_L4_GPUS", 8.0),
    ("PREEMPTIBLE_NVIDIA_L4_GPUS", 8.0),
    ("NVIDIA_V100_GPUS", 8.0),
    ("NVIDIA_A100_GPUS", 8.0),
    ("IN_USE_ADDRESSES", 100.0),
    ("STATIC_ADDRESSES", 50.0),
    ("SSD_TOTAL_GB", 20480.0),
    ("DISKS_TOTAL_GB", 40960.0),
    ("INSTANCES", 1000.0),
];

const GLOBAL_DEFAULTS: &[(&str, f64)] = &[
    ("CPUS_ALL_REGIONS", 1000.0),
    ("GPUS_ALL_REGIONS", 16.0),
    ("NETWORKS", 15.0),
    ("SUBNETWORKS", 175.0),
    ("FIREWALLS", 200.0),
    ("ROUTERS", 20.0),
    ("ROUTES", 250.0),
    ("STATIC_ADDRESSES", 21.0),
    ("IN_USE_ADDRESSES", 21.0),
    ("FORWARDING_RULES", 45.0),
    ("BACKEND_SERVICES", 75.0),
    ("HEALTH_CHECKS", 75.0),
    ("URL_MAPS", 30.0),
    ("TARGET_HTTP_PROXIES", 30.0),
    ("TARGET_HTTPS_PROXIES", 30.0),
    ("SSL_CERTIFICATES", 30.0),
    ("IMAGES", 2000.0),
];

/// The limit of `metric` in `scope` (`global` or a region).
pub fn limit(scenario: &Scenario, scope: &str, metric: &str) -> f64 {
    if let Some(v) = scenario.quotas.get(scope).and_then(|m| m.get(metric)) {
        return *v;
    }
    let defaults = if scope == GLOBAL { GLOBAL_DEFAULTS } else { REGION_DEFAULTS };
    defaults.iter().find(|(m, _)| *m == metric).map(|(_, v)| *v).unwrap_or(if scope == GLOBAL { 1000.0 } else { 500.0 })
}

/// Every metric shown for a scope: the defaults plus whatever the scenario names.
fn metrics(scenario: &Scenario, scope: &str) -> Vec<String> {
    let defaults = if scope == GLOBAL { GLOBAL_DEFAULTS } else { REGION_DEFAULTS };
    let mut out: Vec<String> = defaults.iter().map(|(m, _)| m.to_string()).collect();
    if let Some(extra) = scenario.quotas.get(scope) {
        for m in extra.keys() {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
    }
    out
}

/// Current usage of every metric in a project.
pub fn usage(world: &World, project: &str) -> Usage {
    let mut usage = Usage::new();
    super::usage(world, project, &mut usage);
    crate::google::container::usage(world, project, &mut usage);
    usage
}

pub fn add(usage: &mut Usage, scope: &str, metric: &str, amount: f64) {
    *usage.entry((scope.to_string(), metric.to_string())).or_default() += amount;
}

/// The `quotas[]` array of `regions.get` / `projects.get`.
pub fn quotas_json(scenario: &Scenario, usage: &Usage, scope: &str) -> Value {
    let items: Vec<Value> = metrics(scenario, scope)
        .into_iter()
        .map(|metric| {
            let used = usage.get(&(scope.to_string(), metric.clone())).copied().unwrap_or_default();
            json!({ "metric": metric, "limit": limit(scenario, scope, &metric), "usage": used })
        })
        .collect();
    Value::Array(items)
}

/// A quota that a request would exceed.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub scope: String,
    pub metric: String,
    pub limit: f64,
    pub usage: f64,
    pub requested: f64,
}

impl Shortfall {
    /// Compute's wording: `Quota 'CPUS' exceeded. Limit: 24.0 in region us-central1.`
    pub fn compute_error(&self) -> ApiError {
        let place = if self.scope == GLOBAL { "globally".to_string() } else { format!("in region {}", self.scope) };
        ApiError::permission_denied(format!("Quota '{}' exceeded. Limit: {:.1} {place}.", self.metric, self.limit))
            .with_reason("quotaExceeded")
            .with_info("QUOTA_EXCEEDED", "compute.googleapis.com", self.metadata())
    }

    /// GKE's wording (it checks regional and project quota when the request arrives).
    pub fn gke_error(&self, project: &str) -> ApiError {
        let kind = if self.scope == GLOBAL { "" } else { "regional " };
        let available = (self.limit - self.usage).max(0.0);
        ApiError::permission_denied(format!(
            "Insufficient {kind}quota to satisfy request: resource \"{}\": request requires '{:.1}' and is short '{:.1}'. project has a quota of '{:.1}' with '{:.1}' available{}. View and manage quotas at https://console.cloud.google.com/iam-admin/quotas?usage=USED&project={project}.",
            self.metric,
            self.requested,
            self.requested - available,
            self.limit,
            available,
            if self.scope == GLOBAL { String::new() } else { format!(" in region {}", self.scope) },
        ))
        .with_info("QUOTA_EXCEEDED", "container.googleapis.com", self.metadata())
    }

    fn metadata(&self) -> Value {
        let mut m = json!({ "metric": self.metric, "limit": format!("{:.1}", self.limit) });
        if self.scope != GLOBAL {
            m["region"] = json!(self.scope);
        }
        m
    }
}

/// Checks that adding `demand` ((scope, metric) -> amount) keeps every metric within its limit.
pub fn check(scenario: &Scenario, usage: &Usage, demand: &Usage) -> Result<(), Shortfall> {
    for ((scope, metric), amount) in demand {
        if *amount <= 0.0 {
            continue;
        }
        let used = usage.get(&(scope.clone(), metric.clone())).copied().unwrap_or_default();
        let limit = limit(scenario, scope, metric);
        if used + amount > limit {
            return Err(Shortfall {
                scope: scope.clone(),
                metric: metric.clone(),
                limit,
                usage: used,
                requested: *amount,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_limits_and_messages() {
        let scenario = Scenario::from_yaml("quotas: { us-central1: { NVIDIA_T4_GPUS: 0 } }").unwrap();
        let mut demand = Usage::new();
        add(&mut demand, "us-central1", "NVIDIA_T4_GPUS", 1.0);
        let short = check(&scenario, &Usage::new(), &demand).unwrap_err();
        let e = short.compute_error();
        assert_eq!(e.code, 403);
        assert!(e.message.contains("Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region us-central1."));
        assert!(short.gke_error("p").message.contains("resource \"NVIDIA_T4_GPUS\""));
        assert_eq!(limit(&scenario, "us-central1", "CPUS"), 500.0);
    }
}
