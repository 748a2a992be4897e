//! Does the caller hold every IAM permission the planned steps need? One `testIamPermissions`
//! call on the project (in batches of 100) with the union of the steps' lists; what is missing is
//! named per step, with a role that grants it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Outcome};
use crate::gcp::error::role_for_permission;
use crate::gcp::retry;

/// Resource Manager answers at most this many permissions per call.
const BATCH: usize = 100;

pub async fn check(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "permissions";
    if let Some(skip) = ctx.needs(ID, "cloudresourcemanager.googleapis.com", "the caller's permissions") {
        return skip;
    }
    let per_step = ctx.graph.permissions(&ctx.env, ctx.selected);
    let wanted: BTreeSet<&str> = per_step.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    let wanted: Vec<&str> = wanted.into_iter().collect();
    let client = match ctx.env.gcp.projects().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "the caller's permissions", &e),
    };
    let resource = format!("projects/{}", ctx.project());
    let mut granted = BTreeSet::new();
    for batch in wanted.chunks(BATCH) {
        let answer = retry::call(&ctx.cx, "test the caller's permissions", || {
            client.test_iam_permissions().set_resource(&resource).set_permissions(batch.to_vec()).send()
        })
        .await;
        match answer {
            Ok(a) => granted.extend(a.permissions),
            Err(e) => return ctx.read_failed(ID, "the caller's permissions", &e),
        }
    }
    let missing: BTreeSet<&str> = wanted.iter().copied().filter(|p| !granted.contains(*p)).collect();
    if missing.is_empty() {
        return Outcome::pass(
            ID,
            format!("all {} permissions of the {} planned steps are granted", wanted.len(), per_step.len()),
        );
    }
    let by_step: Vec<String> = per_step
        .iter()
        .filter_map(|(step, perms)| {
            let lacking: Vec<&str> = perms.iter().copied().filter(|p| missing.contains(p)).collect();
            (!lacking.is_empty()).then(|| format!("{step}: {}", lacking.join(", ")))
        })
        .collect();
    let mut roles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &missing {
        roles.entry(role_for_permission(p)).or_default().push(p);
    }
    let member = ctx.identity.as_ref().and_then(|i| i.member()).unwrap_or_else(|| "user:YOU@example.com".to_string());
    let grants: Vec<String> = roles
        .keys()
        .map(|role| format!("gcloud projects add-iam-policy-binding {} --member={member} --role={role}", ctx.project()))
        .collect();
    Outcome::fail(
        ID,
        format!("{} of {} permissions are missing ({})", missing.len(), wanted.len(), by_step.join("; ")),
        format!("a project owner can grant them: {}", grants.join(" && ")),
    )
}
