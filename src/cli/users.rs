//! `sdctl users ls|stop|delete`: the users of a running environment and what they hold.
//!
//! With `runtime.kind: okg` a user is their disks (claims labelled with them, one per template)
//! and the instances using them; with agones, the GameServers allocated to them (their files
//! are in their folder of the shared volume). The router's Redis is inside the VPC, out of
//! reach from here: the last activity comes from the annotation reclaim keeps on each disk.

use std::io::IsTerminal;

use serde_json::{Value, json};

use super::Invocation;
use crate::config::RuntimeKind;
use crate::cost::prices::PD_BALANCED;
use crate::exit::{Exit, ExitCode};
use crate::gcp::error::ApiError;
use crate::kube::Kube;
use crate::names::Names;
use crate::plan::{StepCx, StepId};
use crate::runtime::gameservers::GameServers;
use crate::runtime::instances::{Instances, State};
use crate::runtime::user;
use crate::steps::{self, Env, RunOptions, user_disks};

/// The cluster (None: not running), and a context for Google's APIs.
async fn connect(inv: &Invocation) -> anyhow::Result<(std::sync::Arc<Env>, Option<Kube>, StepCx<Env>)> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    let cx = StepCx::new(env.clone(), StepId("users"), inv.shared_for_document());
    let kube = match steps::connect_if_running(&cx).await {
        Err(e) if ApiError::is_service_disabled(&e) => None,
        other => other?,
    };
    Ok((env, kube, cx))
}

/// Users' disks no claim holds (`runtime.kind: okg`): kept by `down --keep-data`, with the
/// cluster gone or their template removed since. `held`: the volumes the claims use.
async fn kept_disks(cx: &StepCx<Env>, held: &[String]) -> anyhow::Result<Vec<user_disks::Disk>> {
    if cx.env.config.runtime.kind != RuntimeKind::Okg {
        return Ok(Vec::new());
    }
    let disks = user_disks::list(cx).await?;
    Ok(disks.into_iter().filter(|d| !held.contains(&d.name)).collect())
}

fn monthly(gb: f64) -> f64 {
    PD_BALANCED.of(gb)
}

fn not_running(env: &Env) -> anyhow::Error {
    Exit::new(
        ExitCode::Error,
        format!("the cluster of environment {} is not running: no users (`sdctl up` makes it)", env.config.name),
    )
    .into()
}

pub async fn ls(inv: &Invocation) -> anyhow::Result<ExitCode> {
    let (env, kube, cx) = connect(inv).await?;
    let namespace = &env.config.runtime.namespace;
    let mut rows: Vec<Value> = Vec::new();
    let mut held = Vec::new();
    match (env.config.runtime.kind, &kube) {
        (RuntimeKind::Okg, Some(kube)) => {
            let instances = Instances::new(kube.client().clone(), namespace);
            for d in instances.disks().await? {
                held.extend(d.volume.clone());
                let instance = instances.instance(&d.template, d.id).await?;
                let monthly = d.size_gb.map(monthly);
                rows.push(json!({
                    "email": d.email,
                    "userHash": d.email.as_deref().map(user::hash).or_else(|| d.user_hash.clone()),
                    "template": d.template,
                    "instance": instance.pod,
                    "state": if d.deleting { "deleting" } else { instance.state.word() },
                    "lastActivity": d.last_activity,
                    "disk": {"claim": d.claim, "sizeGb": d.size_gb, "monthlyUsd": monthly},
                }));
            }
        }
        (RuntimeKind::Agones, Some(kube)) => {
            let servers = GameServers::new(kube.client().clone(), namespace);
            for gs in servers.list(crate::names::K8S_LABEL_USER).await? {
                if gs.state != "Allocated" || gs.deleting {
                    continue;
                }
                // One template's Fleet is `webui`: shown by the template's name.
                let template = match env.config.templates.as_slice() {
                    [one] => Some(one.name.clone()),
                    _ => gs.fleet.clone(),
                };
                rows.push(json!({
                    "email": gs.user_email,
                    "userHash": null,
                    "template": template,
                    "instance": gs.name,
                    "state": "ready",
                    "lastActivity": null,
                    "disk": null,
                }));
            }
        }
        (_, None) => {}
    }
    let kept = kept_disks(&cx, &held).await?;
    if kube.is_none() && kept.is_empty() {
        return Err(not_running(&env));
    }
    for d in &kept {
        let owner = d.owner.as_ref();
        // Kept disks say whose they are by a hash of the e-mail only.
        rows.push(json!({
            "email": null,
            "userHash": owner.map(|o| &o.user),
            "template": owner.map(|o| &o.template),
            "instance": null,
            "state": "kept",
            "lastActivity": null,
            "disk": {"claim": null, "name": d.name, "zone": d.zone, "sizeGb": d.size_gb as f64,
                     "monthlyUsd": monthly(d.size_gb as f64)},
        }));
    }
    if !kept.is_empty() {
        inv.ui.err(&format!(
            "{} user disk(s) kept without a claim (whose: a hash of the e-mail, `#...`): `sdctl up` gives each \
             back to its user (those of configured templates), `sdctl users delete EMAIL` or `sdctl down` deletes \
             them",
            kept.len()
        ));
    }
    if inv.ui.json() {
        inv.ui.json_document(&json!({"users": rows}));
        return Ok(ExitCode::Ok);
    }
    if rows.is_empty() {
        inv.ui.err("no users yet");
        return Ok(ExitCode::Ok);
    }
    let line = |cols: [&str; 6]| {
        format!("{:<32} {:<17} {:<20} {:<9} {:<21} {}", cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
    };
    inv.ui.out(&line(["EMAIL", "TEMPLATE", "INSTANCE", "STATE", "LAST ACTIVITY", "DISK"]));
    let mut monthly_total = 0.0;
    for r in &rows {
        let disk = match &r["disk"] {
            Value::Null => "shared volume".to_string(),
            d => {
                monthly_total += d["monthlyUsd"].as_f64().unwrap_or(0.0);
                format!(
                    "{} GB, ${:.2}/month",
                    d["sizeGb"].as_f64().unwrap_or(0.0),
                    d["monthlyUsd"].as_f64().unwrap_or(0.0)
                )
            }
        };
        let who = match (r["email"].as_str(), r["userHash"].as_str()) {
            (Some(email), _) => email.to_string(),
            (None, Some(hash)) => format!("(user #{hash})"),
            (None, None) => "(no user)".to_string(),
        };
        inv.ui.out(&line([
            &who,
            r["template"].as_str().unwrap_or(""),
            r["instance"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or(""),
            r["lastActivity"].as_str().unwrap_or("-"),
            &disk,
        ]));
    }
    if monthly_total > 0.0 {
        inv.ui.err(&format!(
            "users' disks: ${monthly_total:.2}/month (pd-balanced at ${}/GiB-month, {})",
            PD_BALANCED.usd,
            PD_BALANCED.source()
        ));
    }
    Ok(ExitCode::Ok)
}

/// Stops the user's instances (of one template, or all): their disks stay theirs.
pub async fn stop(inv: &Invocation, email: &str, template: Option<&str>) -> anyhow::Result<ExitCode> {
    let email = user_email(email)?;
    let (env, kube, _) = connect(inv).await?;
    if let Some(t) = template {
        let known: Vec<String> = env.config.templates.iter().map(|t| t.name.clone()).collect();
        if !known.iter().any(|k| k == t) {
            return Err(
                Exit::usage(format!("--template {t}: no such template (configured: {})", known.join(", "))).into()
            );
        }
    }
    let Some(kube) = kube else { return Err(not_running(&env)) };
    let stopped = stop_all(&env, &kube, &email, template).await?;
    if stopped.is_empty() {
        inv.ui.err(&format!(
            "{email} has no running instance{}",
            template.map(|t| format!(" of {t}")).unwrap_or_default()
        ));
    }
    for s in &stopped {
        inv.ui.err(&format!("stopped {s}"));
    }
    if inv.ui.json() {
        inv.ui.json_document(&json!({"email": email, "stopped": stopped}));
    }
    Ok(ExitCode::Ok)
}

/// Stops the user's instances and deletes their disks (`--keep-data`: keeps them).
pub async fn delete(inv: &Invocation, email: &str, keep_data: bool) -> anyhow::Result<ExitCode> {
    let email = user_email(email)?;
    let (env, kube, cx) = connect(inv).await?;
    if env.config.runtime.kind == RuntimeKind::Agones && !keep_data {
        return Err(Exit::usage(format!(
            "with runtime.kind agones a user's files are their folder {} of the shared volume, which sdctl does \
             not delete; `sdctl users delete {email} --keep-data` releases their WebUI",
            user::label(&email)
        ))
        .into());
    }
    let instances = kube.as_ref().map(|k| Instances::new(k.client().clone(), &env.config.runtime.namespace));
    let mut disks = Vec::new();
    let mut held = Vec::new();
    if let Some(instances) = &instances {
        for d in instances.disks().await? {
            held.extend(d.volume.clone());
            if d.is_of(&email) {
                disks.push(d);
            }
        }
    }
    // Disks kept by `down --keep-data` that no claim holds: deleted in Compute Engine directly.
    let kept: Vec<user_disks::Disk> = kept_disks(&cx, &held)
        .await?
        .into_iter()
        .filter(|d| d.owner.as_ref().is_some_and(|o| o.user == user::hash(&email)))
        .collect();
    let (Some(kube), Some(instances)) = (kube, instances) else {
        if kept.is_empty() {
            return Err(not_running(&env));
        }
        return delete_kept(inv, &cx, &email, &kept, keep_data).await;
    };
    if !keep_data && (!disks.is_empty() || !kept.is_empty()) {
        let mut doomed: Vec<String> = disks
            .iter()
            .map(|d| format!("{} ({} GB, template {})", d.claim, d.size_gb.unwrap_or(0.0), d.template))
            .collect();
        doomed.extend(kept.iter().map(kept_line));
        confirm(inv, &email, &doomed)?;
    }
    for s in stop_all(&env, &kube, &email, None).await? {
        inv.ui.err(&format!("stopped {s}"));
    }
    let mut deleted = Vec::new();
    if disks.is_empty() && kept.is_empty() && env.config.runtime.kind == RuntimeKind::Okg {
        inv.ui.err(&format!("{email} has no disk"));
    }
    if keep_data {
        if !disks.is_empty() || !kept.is_empty() {
            inv.ui.err(&format!("keeping {} disk(s) of {email} (--keep-data)", disks.len() + kept.len()));
        }
    } else {
        for d in &disks {
            if instances.delete_disk(&d.claim).await? {
                inv.ui.err(&format!("deleting disk {} of {email} (it goes once its instance has stopped)", d.claim));
                deleted.push(d.claim.clone());
            }
        }
        deleted.extend(delete_each(inv, &cx, &email, &kept).await?);
    }
    if inv.ui.json() {
        inv.ui.json_document(&json!({"email": email, "deletedDisks": deleted}));
    }
    Ok(ExitCode::Ok)
}

fn kept_line(d: &user_disks::Disk) -> String {
    let template = d.owner.as_ref().map(|o| o.template.as_str()).unwrap_or("?");
    format!("{} in {} ({} GB, template {template}, kept without a claim)", d.name, d.zone, d.size_gb)
}

/// With the cluster gone: the user's kept disks, deleted in Compute Engine (after asking).
async fn delete_kept(
    inv: &Invocation,
    cx: &StepCx<Env>,
    email: &str,
    kept: &[user_disks::Disk],
    keep_data: bool,
) -> anyhow::Result<ExitCode> {
    let mut deleted = Vec::new();
    if keep_data {
        inv.ui.err(&format!("keeping {} disk(s) of {email} (--keep-data); the cluster is not running", kept.len()));
    } else {
        confirm(inv, email, &kept.iter().map(kept_line).collect::<Vec<_>>())?;
        deleted = delete_each(inv, cx, email, kept).await?;
    }
    if inv.ui.json() {
        inv.ui.json_document(&json!({"email": email, "deletedDisks": deleted}));
    }
    Ok(ExitCode::Ok)
}

async fn delete_each(
    inv: &Invocation,
    cx: &StepCx<Env>,
    email: &str,
    kept: &[user_disks::Disk],
) -> anyhow::Result<Vec<String>> {
    let mut deleted = Vec::new();
    for d in kept {
        if d.in_use {
            inv.ui.err(&format!("disk {} of {email} in {} is attached to a VM: left alone", d.name, d.zone));
            continue;
        }
        inv.ui.err(&format!("deleting disk {} of {email} in {}", d.name, d.zone));
        if user_disks::delete(cx, d).await? {
            deleted.push(d.name.clone());
        }
    }
    Ok(deleted)
}

fn confirm(inv: &Invocation, email: &str, doomed: &[String]) -> anyhow::Result<()> {
    if inv.global.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Exit::usage(format!(
            "`sdctl users delete` deletes {email}'s disks and needs confirmation: run it in a terminal, pass -y, or \
             keep the disks with --keep-data"
        ))
        .into());
    }
    inv.ui.err(&format!("This deletes {email}'s disks and everything on them:\n  - {}", doomed.join("\n  - ")));
    let yes = dialoguer::Confirm::new().with_prompt("Delete?").default(false).interact().unwrap_or(false);
    if yes { Ok(()) } else { Err(Exit::usage("nothing deleted").into()) }
}

/// Stops the user's running instances; what was stopped.
async fn stop_all(env: &Env, kube: &Kube, email: &str, template: Option<&str>) -> anyhow::Result<Vec<String>> {
    let namespace = &env.config.runtime.namespace;
    let label = user::label(email);
    let mut stopped = Vec::new();
    match env.config.runtime.kind {
        RuntimeKind::Okg => {
            let instances = Instances::new(kube.client().clone(), namespace);
            for d in instances.disks().await? {
                if d.email.as_deref() != Some(email) || template.is_some_and(|t| t != d.template) {
                    continue;
                }
                let instance = instances.instance(&d.template, d.id).await?;
                if matches!(instance.state, State::Stopped | State::Stopping) {
                    continue;
                }
                if instances.stop(&d.template, d.id).await? {
                    stopped.push(format!("{} (template {}; disk {} kept)", instance.pod, d.template, d.claim));
                }
            }
        }
        RuntimeKind::Agones => {
            let servers = GameServers::new(kube.client().clone(), namespace);
            for gs in servers.list(&format!("{}={label}", crate::names::K8S_LABEL_USER)).await? {
                // The Fleet replaces it with a fresh warm one; the user gets another on their
                // next request.
                // One template's Fleet is `webui`, several have their templates' names.
                let fleet = template.map(|t| if env.config.fleet_names().len() == 1 { Names::FLEET } else { t });
                let of_template = fleet.is_none_or(|f| gs.fleet.as_deref() == Some(f));
                if of_template
                    && gs.serves(&label, email)
                    && servers.delete(&gs.name, gs.resource_version.as_deref()).await?
                {
                    stopped.push(gs.name);
                }
            }
        }
    }
    Ok(stopped)
}

/// The e-mail as the router knows users (lower case; `user:` prefix taken off).
fn user_email(given: &str) -> anyhow::Result<String> {
    let bare = given.strip_prefix("user:").unwrap_or(given);
    user::email_from(bare).ok_or_else(|| {
        Exit::usage(format!("`{given}` is not an e-mail address (users are named by the address they sign in with)"))
            .into()
    })
}
