//! Is the GPU, and are the machine types, sold in every configured zone? When not, which zones of
//! the region do sell them. Custom machine types are checked by their family's rules, and the
//! family (not the custom shape) is looked up per zone.

use std::collections::BTreeSet;

use futures::future::join_all;

use super::{Context, Outcome};
use crate::config::Rung;
use crate::gcp::retry;
use crate::machines;
use crate::steps::absent_if_not_found;

pub async fn check(ctx: &Context<'_>) -> Vec<Outcome> {
    let api = "compute.googleapis.com";
    if let Some(skip) = ctx.needs("accelerator", api, "which zones offer the GPU") {
        return vec![skip, ctx.api_disabled("machine-types", api, "which zones offer the machine types")];
    }
    let zones = match region_zones(ctx).await {
        Ok(z) => z,
        Err(e) => {
            return vec![
                ctx.read_failed("accelerator", "the region's zones", &e),
                ctx.read_failed("machine-types", "the region's zones", &e),
            ];
        }
    };
    // Each rung of the ladder: the primary's check keeps its id, a fallback's names its rung.
    let rungs = ctx.env.config.gpu.rungs();
    let accelerators = join_all(rungs.iter().enumerate().map(|(i, rung)| {
        let id = if i == 0 { "accelerator".to_string() } else { format!("accelerator-rung-{i}") };
        let field = crate::config::Gpu::rung_field(i);
        let zones = &zones;
        async move { accelerator(ctx, zones, &id, &field, rung).await }
    }));
    let (mut out, machines) = tokio::join!(accelerators, machine_types(ctx, &zones));
    out.push(machines);
    out
}

/// The zones of the configured region.
async fn region_zones(ctx: &Context<'_>) -> anyhow::Result<Vec<String>> {
    let region = &ctx.env.config.region;
    let client = ctx.env.gcp.regions().await?;
    let r = retry::call(&ctx.cx, &format!("read region {region}"), || {
        client.get().set_project(ctx.project()).set_region(region).send()
    })
    .await?;
    let mut zones: Vec<String> = r.zones.iter().filter_map(|z| z.rsplit('/').next().map(String::from)).collect();
    zones.sort();
    Ok(zones)
}

/// `zones: [a, b]` with the same number of zones as configured, from those offered.
fn suggestion(ctx: &Context<'_>, offered: &[String]) -> String {
    let count = ctx.env.config.zones.len().max(1);
    let pick: Vec<&str> = offered.iter().take(count).map(String::as_str).collect();
    format!("set zones: [{}]", pick.join(", "))
}

/// Whether every configured zone offers the rung's GPU (`field`: `gpu` or `gpu.fallbacks[N]`).
async fn accelerator(ctx: &Context<'_>, region_zones: &[String], id: &str, field: &str, g: &Rung) -> Outcome {
    let accel = g.kind.accelerator();
    let client = match ctx.env.gcp.accelerator_types().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(id, "accelerator types", &e),
    };
    let lookups = region_zones.iter().map(|zone| {
        let client = client.clone();
        async move {
            let found = retry::call(&ctx.cx, &format!("read accelerator type {accel} in {zone}"), || {
                client.get().set_project(ctx.project()).set_zone(zone).set_accelerator_type(accel).send()
            })
            .await;
            (zone.clone(), absent_if_not_found(found))
        }
    });
    let mut offered = Vec::new();
    let mut max_cards = None;
    for (zone, found) in join_all(lookups).await {
        match found {
            Ok(Some(a)) => {
                if ctx.env.config.zones.contains(&zone) {
                    max_cards = a.maximum_cards_per_instance.or(max_cards);
                }
                offered.push(zone);
            }
            Ok(None) => {}
            Err(e) => return ctx.read_failed(id, &format!("accelerator types in {zone}"), &e),
        }
    }
    let missing: Vec<&String> = ctx.env.config.zones.iter().filter(|z| !offered.contains(z)).collect();
    let region = &ctx.env.config.region;
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|z| z.as_str()).collect();
        let fix = if offered.is_empty() {
            format!(
                "{region} offers no {accel}: choose another region (gcloud compute accelerator-types list --filter=name={accel}), \
                 or set {field}.type to the other GPU"
            )
        } else {
            format!("zones of {region} that offer {accel}: {}; {}", offered.join(", "), suggestion(ctx, &offered))
        };
        // A fallback's pool spans the cluster's zones too: GKE refuses it where its GPU is not sold.
        let fix = if field == "gpu" { fix } else { format!("remove {field} from the ladder, or: {fix}") };
        return Outcome::fail(id, format!("{accel} is not offered in {}", names.join(", ")), fix);
    }
    if let Some(max) = max_cards
        && i64::from(g.count) > i64::from(max)
    {
        return Outcome::fail(
            id,
            format!("{accel} allows at most {max} per VM, {field}.count is {}", g.count),
            format!("set {field}.count to at most {max}"),
        );
    }
    Outcome::pass(id, format!("{accel} is offered in {}", ctx.env.config.zones.join(", ")))
}

async fn machine_types(ctx: &Context<'_>, region_zones: &[String]) -> Outcome {
    const ID: &str = "machine-types";
    let config = &ctx.env.config;
    let client = match ctx.env.gcp.machine_types().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "machine types", &e),
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut passed = Vec::new();
    let fallbacks = config.gpu.fallbacks.iter().enumerate();
    let fields = [("gpu.machineType".to_string(), &config.gpu.machine_type)]
        .into_iter()
        .chain(fallbacks.map(|(i, r)| (format!("gpu.fallbacks[{i}].machineType"), &r.machine_type)))
        .chain([("cluster.systemPool.machineType".to_string(), &config.cluster.system_pool.machine_type)]);
    let mut seen = BTreeSet::new();
    for (field, name) in fields {
        if !seen.insert(name.clone()) {
            continue;
        }
        // Custom shapes follow their family's rules; the zone must sell the family.
        let probe = if machines::is_custom(name) {
            if let Err(why) = machines::shape(name) {
                problems.push(format!("{field}: {why}"));
                fixes.push(format!("fix {field} (custom types: vCPUs, memory in MB, -ext for extended memory)"));
                continue;
            }
            machines::family_probe(name)
        } else {
            name.clone()
        };
        let lookups = region_zones.iter().map(|zone| {
            let client = client.clone();
            let probe = probe.clone();
            async move {
                let found = retry::call(&ctx.cx, &format!("read machine type {probe} in {zone}"), || {
                    client.get().set_project(ctx.project()).set_zone(zone).set_machine_type(&probe).send()
                })
                .await;
                (zone.clone(), absent_if_not_found(found).map(|m| m.is_some()))
            }
        });
        let mut offered = Vec::new();
        for (zone, found) in join_all(lookups).await {
            match found {
                Ok(true) => offered.push(zone),
                Ok(false) => {}
                Err(e) => return ctx.read_failed(ID, &format!("machine types in {zone}"), &e),
            }
        }
        let offered_set: BTreeSet<&String> = offered.iter().collect();
        let missing: Vec<&str> = config.zones.iter().filter(|z| !offered_set.contains(z)).map(String::as_str).collect();
        let what = if probe == *name { name.clone() } else { format!("{name} ({} family)", machines::family(name)) };
        if missing.is_empty() {
            passed.push(what);
        } else {
            problems.push(format!("{field} {what} is not offered in {}", missing.join(", ")));
            fixes.push(if offered.is_empty() {
                format!("choose another {field} or region (gcloud compute machine-types list --filter=name={probe})")
            } else {
                format!(
                    "zones of {} that offer it: {}; {}",
                    config.region,
                    offered.join(", "),
                    suggestion(ctx, &offered)
                )
            });
        }
    }
    if problems.is_empty() {
        Outcome::pass(ID, format!("{} offered in {}", passed.join(" and "), config.zones.join(", ")))
    } else {
        Outcome::fail(ID, problems.join("; "), fixes.join("; "))
    }
}
