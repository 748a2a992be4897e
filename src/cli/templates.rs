//! `sdctl templates ls`: what users can start and, with `runtime.kind: okg` and the cluster
//! running, each template's instances (running, ready) and users' disks.

use serde_json::{Value, json};

use super::Invocation;
use crate::config::RuntimeKind;
use crate::exit::ExitCode;
use crate::gcp::error::ApiError;
use crate::plan::{StepCx, StepId};
use crate::steps::{self, RunOptions};

pub async fn ls(inv: &Invocation) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    let cx = StepCx::new(env.clone(), StepId("templates"), inv.shared_for_document());
    let kube = match env.config.runtime.kind {
        // A project whose GKE API is off has no cluster either.
        RuntimeKind::Okg => match steps::connect_if_running(&cx).await {
            Err(e) if ApiError::is_service_disabled(&e) => None,
            other => other?,
        },
        RuntimeKind::Agones => None,
    };
    let mut rows = Vec::new();
    for t in &env.config.templates {
        let live = match &kube {
            Some(kube) => steps::instances::template_state(&env, kube, &t.name).await?,
            None => None,
        };
        rows.push(json!({
            "name": t.name,
            "engine": t.engine,
            "diskGb": t.disk_gb,
            "runtime": env.config.runtime.kind,
            "running": live.as_ref().map(|l| l.running),
            "ready": live.as_ref().map(|l| l.ready),
            "disks": live.as_ref().map(|l| l.disks),
        }));
    }
    if inv.ui.json() {
        inv.ui.json_document(&json!({"templates": rows}));
        return Ok(ExitCode::Ok);
    }
    let cell = |v: &Value| if v.is_null() { "-".to_string() } else { v.to_string() };
    inv.ui.out(&format!(
        "{:<17} {:<8} {:>7} {:>8} {:>6} {:>6}",
        "TEMPLATE", "ENGINE", "DISK GB", "RUNNING", "READY", "DISKS"
    ));
    for r in &rows {
        inv.ui.out(&format!(
            "{:<17} {:<8} {:>7} {:>8} {:>6} {:>6}",
            r["name"].as_str().unwrap_or(""),
            r["engine"].as_str().unwrap_or(""),
            r["diskGb"],
            cell(&r["running"]),
            cell(&r["ready"]),
            cell(&r["disks"])
        ));
    }
    match (env.config.runtime.kind, &kube) {
        (RuntimeKind::Agones, _) => {
            inv.ui.err("runtime.kind agones: users share warm WebUIs; `sdctl status` shows them")
        }
        (RuntimeKind::Okg, None) => inv.ui.err("the cluster is not running: no instances (`sdctl up` makes it)"),
        (RuntimeKind::Okg, Some(_)) => {}
    }
    Ok(ExitCode::Ok)
}
