//! Cloud Billing v1: whether the project has billing (scenario `billingEnabled`), and the
//! Billing Catalog's SKUs (`services.skus.list`) for three regions, shaped like Google's (see
//! FIDELITY.md, "Billing Catalog"): multi-region "Americas" SKUs beside per-city ones, spot SKUs
//! typed `Preemptible`, commitments, a regional disk whose name contains the zonal one's, an
//! address with a free first tier, and a reserved GPU at $0, so that matching is tested against
//! the traps real catalogs hold.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::util::paginate;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "v1/projects/{project}/billingInfo", "cloudbilling.projects.getBillingInfo", billing_info),
        route(Method::GET, "v1/services/{service}/skus", "cloudbilling.services.skus.list", list_skus),
    ]
}

fn billing_info(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let enabled = app.scenario().billing_enabled();
    Ok(Reply::json(json!({
        "name": format!("projects/{project}/billingInfo"),
        "projectId": project,
        "billingAccountName": if enabled { "billingAccounts/012345-6789AB-CDEF01" } else { "" },
        "billingEnabled": enabled,
    })))
}

/// Google's service ids (cloud.google.com/skus).
pub const COMPUTE: &str = "6F81-5844-456A";
pub const KUBERNETES: &str = "CCD8-9BF1-090E";
pub const FILESTORE: &str = "D97E-AB26-5D95";
pub const REDIS: &str = "5AF5-2C11-D467";
pub const NETWORKING: &str = "E505-1604-58F8";

/// Regions priced, the city Google names them by, and their price relative to us-central1.
pub const REGIONS: [(&str, &str, f64); 3] =
    [("us-central1", "Iowa", 1.0), ("europe-west4", "Netherlands", 1.1), ("asia-southeast1", "Singapore", 1.25)];
/// The US regions a multi-region "Americas" SKU lists.
const AMERICAS: [&str; 3] = ["us-central1", "us-east1", "us-west1"];

fn list_skus(_app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let service = call.param("service");
    if ![COMPUTE, KUBERNETES, FILESTORE, REDIS, NETWORKING].contains(&service) {
        // Unconfirmed: Google's answer for a service id it does not know.
        return Err(ApiError::not_found(format!("Service services/{service} not found.")));
    }
    if call.query("currencyCode").is_some_and(|c| c != "USD") {
        return Err(ApiError::invalid("the emulator's catalog is in USD only"));
    }
    // Google: "Defaults to 5000", and at most 5000 per page.
    let size =
        call.query("pageSize").and_then(|s| s.parse::<usize>().ok()).filter(|s| *s > 0).unwrap_or(5000).min(5000);
    let (page, next) = paginate(skus(service), Some(&size.to_string()), call.query("pageToken"))?;
    // Google sends an empty token on the last page.
    Ok(Reply::json(json!({ "skus": page, "nextPageToken": next.unwrap_or_default() })))
}

/// Every SKU of a service.
pub fn skus(service: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut add = |description: &str, group: &str, usage: &str, regions: &[&str], unit: &str, tiers: &[(f64, f64)]| {
        out.push(sku(service, description, group, usage, regions, unit, tiers));
    };
    match service {
        COMPUTE => {
            // Multi-region in the Americas; per city elsewhere.
            for (region, city, factor) in REGIONS {
                let (place, regions): (String, Vec<&str>) = if region == "us-central1" {
                    ("Americas".into(), AMERICAS.to_vec())
                } else {
                    (city.into(), vec![region])
                };
                let f = |usd: f64| usd * factor;
                for (spot, share, prefix, usage) in
                    [(false, 1.0, "", "OnDemand"), (true, 0.4, "Spot Preemptible ", "Preemptible")]
                {
                    for (name, core, ram) in [
                        ("E2 Instance", 0.021811, 0.002923),
                        ("N1 Predefined Instance", 0.031611, 0.004237),
                        ("Custom Instance", 0.033174, 0.004446),
                    ] {
                        let group = |kind| if name.starts_with("N1") { "N1Standard" } else { kind };
                        add(
                            &format!("{prefix}{name} Core running in {place}"),
                            group("CPU"),
                            usage,
                            &regions,
                            "h",
                            &[(0.0, f(core * share))],
                        );
                        add(
                            &format!("{prefix}{name} Ram running in {place}"),
                            group("RAM"),
                            usage,
                            &regions,
                            "GiBy.h",
                            &[(0.0, f(ram * share))],
                        );
                    }
                    add(
                        &format!("{prefix}Custom Extended Instance Ram running in {place}"),
                        "RAM",
                        usage,
                        &regions,
                        "GiBy.h",
                        &[(0.0, f(0.009550 * share))],
                    );
                    let t4 = if spot { 0.14 } else { 0.35 };
                    let on = if spot { " attached to Spot Preemptible VMs" } else { "" };
                    add(
                        &format!("Nvidia Tesla T4 GPU{on} running in {place}"),
                        "GPU",
                        usage,
                        &regions,
                        "h",
                        &[(0.0, f(t4))],
                    );
                    // G2 and L4 SKUs are per city everywhere (hail's pricing.py: "... running in Iowa").
                    add(
                        &format!("{prefix}G2 Instance Core running in {city}"),
                        "CPU",
                        usage,
                        &[region],
                        "h",
                        &[(0.0, f(0.024988 * share))],
                    );
                    add(
                        &format!("{prefix}G2 Instance Ram running in {city}"),
                        "RAM",
                        usage,
                        &[region],
                        "GiBy.h",
                        &[(0.0, f(0.002928 * share))],
                    );
                    let l4 = if spot { 0.2231 } else { 0.56004 };
                    add(&format!("Nvidia L4 GPU{on} running in {city}"), "GPU", usage, &[region], "h", &[(0.0, f(l4))]);
                }
                // Traps: a commitment, a reserved GPU at $0, sole tenancy.
                add(
                    &format!("Commitment v1: E2 Cpu in {place} for 1 Year"),
                    "CPU",
                    "Commit1Yr",
                    &regions,
                    "h",
                    &[(0.0, f(0.0137))],
                );
                add(
                    &format!("Nvidia Tesla T4 GPU running in {place}"),
                    "GPU",
                    "OnDemand",
                    &regions,
                    "h",
                    &[(0.0, 0.0)],
                );
                add(
                    &format!("Sole Tenancy Premium for E2 Instance Core running in {place}"),
                    "CPU",
                    "OnDemand",
                    &regions,
                    "h",
                    &[(0.0, f(0.0022))],
                );
                // Disks are per region; the regional disk's name holds the zonal one's.
                add("Balanced PD Capacity", "SSD", "OnDemand", &[region], "GiBy.mo", &[(0.0, f(0.10))]);
                add("Regional Balanced PD Capacity", "SSD", "OnDemand", &[region], "GiBy.mo", &[(0.0, f(0.20))]);
                add(
                    &format!("Storage Image in {city}"),
                    "StorageImage",
                    "OnDemand",
                    &[region],
                    "GiBy.mo",
                    &[(0.0, f(0.05))],
                );
            }
            // Addresses are billed project-wide, with a free first tier.
            add(
                "External IP Charge on a Standard VM",
                "IpAddress",
                "OnDemand",
                &["global"],
                "h",
                &[(0.0, 0.0), (696.0, 0.005)],
            );
            add(
                "External IP Charge on a Spot Preemptible VM",
                "IpAddress",
                "OnDemand",
                &["global"],
                "h",
                &[(0.0, 0.0), (696.0, 0.0025)],
            );
        }
        KUBERNETES => {
            add("Zonal Kubernetes Clusters", "Kubernetes", "OnDemand", &["global"], "h", &[(0.0, 0.10)]);
            add("Regional Kubernetes Clusters", "Kubernetes", "OnDemand", &["global"], "h", &[(0.0, 0.10)]);
            add("Autopilot Kubernetes Clusters", "Kubernetes", "OnDemand", &["global"], "h", &[(0.0, 0.10)]);
        }
        FILESTORE => {
            for (region, city, factor) in REGIONS {
                for (tier, usd) in [
                    ("Basic HDD (Standard)", 0.20),
                    ("Basic SSD (Premium)", 0.30),
                    ("Zonal and High Scale", 0.25),
                    ("Regional", 0.45),
                    ("Enterprise", 0.60),
                ] {
                    add(
                        &format!("Filestore Capacity {tier} {city}"),
                        "SSD",
                        "OnDemand",
                        &[region],
                        "GiBy.mo",
                        &[(0.0, usd * factor)],
                    );
                }
            }
        }
        REDIS => {
            for (region, city, factor) in REGIONS {
                let bands = [(0.049, 0.064), (0.027, 0.054), (0.023, 0.046), (0.019, 0.038), (0.016, 0.032)];
                for (i, (basic, standard)) in bands.into_iter().enumerate() {
                    let m = i + 1;
                    add(
                        &format!("Redis Capacity Basic M{m} {city}"),
                        "Memorystore",
                        "OnDemand",
                        &[region],
                        "GiBy.h",
                        &[(0.0, basic * factor)],
                    );
                    add(
                        &format!("Redis Capacity Standard M{m} {city}"),
                        "Memorystore",
                        "OnDemand",
                        &[region],
                        "GiBy.h",
                        &[(0.0, standard * factor)],
                    );
                }
            }
        }
        NETWORKING => {
            add(
                "Cloud Load Balancer Forwarding Rule Minimum Global",
                "LoadBalancing",
                "OnDemand",
                &["global"],
                "h",
                &[(0.0, 0.025)],
            );
            add(
                "Cloud Load Balancer Forwarding Rule Additional Global",
                "LoadBalancing",
                "OnDemand",
                &["global"],
                "h",
                &[(0.0, 0.010)],
            );
            add("Networking Cloud Nat Gateway Uptime", "Nat", "OnDemand", &["global"], "h", &[(0.0, 0.0014)]);
        }
        _ => {}
    }
    out
}

/// One SKU as `services.skus.list` returns it.
fn sku(
    service: &str,
    description: &str,
    group: &str,
    usage: &str,
    regions: &[&str],
    unit: &str,
    tiers: &[(f64, f64)],
) -> Value {
    let id = sku_id(&format!("{description} {regions:?} {usage} {tiers:?}"));
    let (family, display) = match service {
        COMPUTE if group == "IpAddress" => ("Network", "Compute Engine"),
        COMPUTE if matches!(group, "SSD" | "StorageImage") => ("Storage", "Compute Engine"),
        COMPUTE => ("Compute", "Compute Engine"),
        KUBERNETES => ("Compute", "Kubernetes Engine"),
        FILESTORE => ("Storage", "Cloud Filestore"),
        REDIS => ("ApplicationServices", "Cloud Memorystore for Redis"),
        _ => ("Network", "Networking"),
    };
    let (unit_description, base, base_description, factor) = match unit {
        "h" => ("hour", "s", "second", 3600.0),
        "GiBy.h" => ("gibibyte hour", "By.s", "byte second", 3_865_470_566_400.0),
        _ => ("gibibyte month", "By.s", "byte second", 2_822_754_019_328_000.0),
    };
    let geo = match regions {
        ["global"] => json!({"type": "GLOBAL"}),
        [one] => json!({"type": "REGIONAL", "regions": [one]}),
        many => json!({"type": "MULTI_REGIONAL", "regions": many}),
    };
    let rates: Vec<Value> = tiers
        .iter()
        .map(|(start, usd)| {
            let units = usd.trunc();
            json!({
                "startUsageAmount": start,
                "unitPrice": {"currencyCode": "USD", "units": format!("{units}"), "nanos": ((usd - units) * 1e9).round() as i64},
            })
        })
        .collect();
    json!({
        "name": format!("services/{service}/skus/{id}"),
        "skuId": id,
        "description": description,
        "category": {"serviceDisplayName": display, "resourceFamily": family, "resourceGroup": group, "usageType": usage},
        "serviceRegions": regions,
        "pricingInfo": [{
            "summary": "",
            "pricingExpression": {
                "usageUnit": unit,
                "displayQuantity": 1,
                "tieredRates": rates,
                "usageUnitDescription": unit_description,
                "baseUnit": base,
                "baseUnitDescription": base_description,
                "baseUnitConversionFactor": factor,
            },
            "currencyConversionRate": 1,
            "effectiveTime": "2026-11-01T07:00:00Z",
        }],
        "serviceProviderName": "Google",
        "geoTaxonomy": geo,
    })
}

/// A stable id in Google's `XXXX-XXXX-XXXX` form.
fn sku_id(what: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    what.hash(&mut h);
    let hex = format!("{:012X}", h.finish() & 0xFFFF_FFFF_FFFF);
    format!("{}-{}-{}", &hex[..4], &hex[4..8], &hex[8..])
}
