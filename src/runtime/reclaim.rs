//! `sdctl runtime reclaim`: one pass of the idle reclaim CronJob. It
//! - releases the GameServers of users idle longer than `idle` (deletes them: the Fleet
//!   replaces them with fresh Ready ones) and removes their mappings,
//! - removes mappings whose GameServer is gone or no longer theirs (dead pods),
//! - releases Allocated GameServers no mapping points to, once allocated longer than `grace`
//!   (the router stores its mapping right after allocating; the grace covers that moment).
//!
//! With templates (OpenKruiseGame) it stops instances instead (`pass_instances`): those of users
//! idle longer than `idle`, and those nobody uses (Ready for `grace` with no mapping, or still
//! not Ready after `STARTING_MAX`). A stopped instance keeps its user's disk and id.
//!
//! Safe to run twice at once: a mapping is removed only if it is unchanged since it was read,
//! and deleting a GameServer that is already gone counts as done.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::gameservers::GameServers;
use super::instances::{Instances, State};
use super::now_unix;
use super::store::{RedisOptions, Store};
use crate::names::K8S_LABEL_USER;

#[derive(Debug, Clone)]
pub struct ReclaimOptions {
    pub redis: RedisOptions,
    pub namespace: String,
    pub idle: Duration,
    pub grace: Duration,
    /// OpenKruiseGame's templates; empty with Agones.
    pub templates: Vec<String>,
    /// Agones with a Fleet per template: the Fleets (mappings are then `<fleet>/<email>`).
    pub fleets: Vec<String>,
}

/// An instance that never became Ready (no GPU anywhere, a broken image) is stopped after this.
const STARTING_MAX: Duration = Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// GameServers released because their user was idle.
    pub idle: usize,
    /// Mappings removed because their GameServer was gone.
    pub dead: usize,
    /// Allocated GameServers released because no mapping pointed to them.
    pub orphaned: usize,
    /// GameServers that served a user and were sent back to Ready: deleted, never reused.
    pub tainted: usize,
    /// Mappings left in place (active users).
    pub active: usize,
}

pub async fn run(options: ReclaimOptions) -> anyhow::Result<Report> {
    let store = Store::connect(&options.redis).await?;
    let report = if options.templates.is_empty() {
        let servers = GameServers::connect(&options.namespace).await?;
        pass(&store, &servers, &options.fleets, options.idle, options.grace).await?
    } else {
        let instances = Instances::connect(&options.namespace).await?;
        pass_instances(&store, &instances, &options.templates, options.idle, options.grace).await?
    };
    tracing::info!(
        idle = report.idle,
        dead = report.dead,
        orphaned = report.orphaned,
        tainted = report.tainted,
        active = report.active,
        "reclaim finished"
    );
    Ok(report)
}

/// One pass over Agones' GameServers. With more than one of `fleets` (a Fleet per template),
/// mappings are `<fleet>/<email>`; otherwise `<email>`.
pub async fn pass(
    store: &Store,
    servers: &GameServers,
    fleets: &[String],
    idle: Duration,
    grace: Duration,
) -> anyhow::Result<Report> {
    let templated = fleets.len() > 1;
    let mut report = Report::default();
    let now = now_unix();
    let mut mapped: HashSet<String> = HashSet::new();
    for (key, mapping) in store.users().await? {
        let email = match key.split_once('/') {
            Some((fleet, email)) if templated && fleets.iter().any(|f| f == fleet) => email.to_string(),
            _ => key.clone(),
        };
        let Some(m) = mapping else {
            tracing::warn!(user = %email, "incomplete mapping removed");
            store.remove(&key).await?;
            report.dead += 1;
            continue;
        };
        let label = super::user::label(&email);
        let live = servers.get(&m.gameserver).await?;
        if !live.as_ref().is_some_and(|gs| gs.serves(&label, &email)) {
            if store.remove_if(&key, &m.gameserver, None).await? {
                tracing::info!(user = %email, gameserver = %m.gameserver, "mapping of a gone GameServer removed");
                report.dead += 1;
            }
            continue;
        }
        let idle_for = now - m.lastaccess;
        if idle_for >= idle.as_secs() as i64 {
            // The mapping goes first, and only if the user did nothing since it was read; the
            // GameServer only if it did not change since (precondition on its version).
            if store.remove_if(&key, &m.gameserver, Some(m.lastaccess)).await? {
                let version = live.as_ref().and_then(|gs| gs.resource_version.clone());
                servers.delete(&m.gameserver, version.as_deref()).await?;
                tracing::info!(user = %email, gameserver = %m.gameserver, idle_secs = idle_for, "idle GameServer released");
                report.idle += 1;
            } else {
                mapped.insert(m.gameserver);
                report.active += 1;
            }
            continue;
        }
        mapped.insert(m.gameserver);
        report.active += 1;
    }
    let now = SystemTime::now();
    for gs in servers.list(K8S_LABEL_USER).await? {
        if gs.tainted() {
            if servers.delete(&gs.name, gs.resource_version.as_deref()).await? {
                tracing::warn!(gameserver = %gs.name, state = %gs.state, user = gs.user_email.as_deref().unwrap_or(""), "a GameServer that served a user was sent back to Ready: deleted");
                report.tainted += 1;
            }
            continue;
        }
        if gs.state != "Allocated" || gs.deleting || mapped.contains(&gs.name) {
            continue;
        }
        let Some(allocated_at) = gs.allocated_at else {
            tracing::warn!(gameserver = %gs.name, "Allocated GameServer without agones.dev/last-allocated: left alone");
            continue;
        };
        if now.duration_since(allocated_at).unwrap_or_default() < grace {
            continue;
        }
        // A router may have mapped it since the scan began: look once more.
        if let Some(email) = gs.user_email.as_deref() {
            let key = match (&gs.fleet, templated) {
                (Some(fleet), true) => format!("{fleet}/{email}"),
                _ => email.to_string(),
            };
            if store.get(&key).await?.is_some_and(|m| m.gameserver == gs.name) {
                continue;
            }
        }
        if servers.delete(&gs.name, gs.resource_version.as_deref()).await? {
            tracing::info!(gameserver = %gs.name, user = gs.user_email.as_deref().unwrap_or(""), "orphaned GameServer released");
            report.orphaned += 1;
        }
    }
    Ok(report)
}

/// One pass over users' own instances (OpenKruiseGame). Mappings are `<template>/<email>`.
/// Each stop is made under the user's lock (as the router starts instances), so that a request
/// arriving meanwhile never gets an instance that is being stopped; a user whose lock is held
/// is left for the next pass. One instance that cannot be stopped does not stop the pass.
pub async fn pass_instances(
    store: &Store,
    instances: &Instances,
    templates: &[String],
    idle: Duration,
    grace: Duration,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let now = now_unix();
    let mut mapped: HashSet<String> = HashSet::new();
    for (key, mapping) in store.users().await? {
        let Some((template, email)) = key.split_once('/').filter(|(t, _)| templates.iter().any(|c| c == t)) else {
            tracing::warn!(key = %key, "a mapping of no configured template removed");
            store.remove(&key).await?;
            report.dead += 1;
            continue;
        };
        let Some(m) = mapping else {
            tracing::warn!(user = %email, template, "incomplete mapping removed");
            store.remove(&key).await?;
            report.dead += 1;
            continue;
        };
        let label = super::user::label(email);
        let serving = match instances.serving(&m.gameserver, &label, email).await {
            Ok(serving) => serving,
            Err(e) => {
                // Left as it is (and its instance counted as in use) until the next pass.
                tracing::warn!(user = %email, instance = %m.gameserver, error = %format!("{e:#}"), "cannot check an instance");
                mapped.insert(m.gameserver);
                continue;
            }
        };
        if serving.as_deref() != Some(m.target.as_str()) {
            if store.remove_if(&key, &m.gameserver, None).await? {
                tracing::info!(user = %email, instance = %m.gameserver, "mapping of a stopped instance removed");
                report.dead += 1;
            }
            continue;
        }
        let idle_for = now - m.lastaccess;
        if idle_for >= idle.as_secs() as i64 {
            let stopped = locked(store, &key, || async {
                // The mapping goes first, and only if the user did nothing since it was read.
                if !store.remove_if(&key, &m.gameserver, Some(m.lastaccess)).await? {
                    return Ok(false);
                }
                if let Some(id) = super::instances::id_after(&m.gameserver, &format!("{template}-")) {
                    instances.stop(template, id).await?;
                }
                Ok(true)
            })
            .await;
            match stopped {
                Ok(Some(true)) => {
                    tracing::info!(user = %email, instance = %m.gameserver, idle_secs = idle_for, "idle instance stopped");
                    report.idle += 1;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(user = %email, instance = %m.gameserver, error = %format!("{e:#}"), "cannot stop an idle instance; trying again next pass")
                }
            }
        }
        // `sdctl users ls` reads it there (Redis is not reachable from outside the VPC).
        if let Err(e) = instances.note_activity(&m.gameserver, m.lastaccess).await {
            tracing::warn!(user = %email, error = %format!("{e:#}"), "cannot record the last activity on the disk");
        }
        mapped.insert(m.gameserver);
        report.active += 1;
    }
    let now = SystemTime::now();
    for template in templates {
        let running = match instances.running(template).await {
            Ok(running) => running,
            Err(e) => {
                tracing::warn!(template, error = %format!("{e:#}"), "cannot list the template's instances");
                continue;
            }
        };
        for running in running {
            let i = &running.instance;
            if mapped.contains(&i.pod) || i.state == State::Stopping {
                continue;
            }
            let age = running.since.and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
            let unused = match i.state {
                State::Ready => age >= grace,
                _ => age >= STARTING_MAX.max(grace),
            };
            if !unused {
                continue;
            }
            let key = format!("{template}/{}", running.user_email.as_deref().unwrap_or(""));
            let stopped = locked(store, &key, || async {
                // A router may have mapped it since the scan began: look once more.
                if store.get(&key).await?.is_some_and(|m| m.gameserver == i.pod) {
                    return Ok(false);
                }
                instances.stop(template, i.id).await
            })
            .await;
            match stopped {
                Ok(Some(true)) => {
                    tracing::info!(instance = %i.pod, user = running.user_email.as_deref().unwrap_or(""), state = i.state.word(), "unused instance stopped");
                    report.orphaned += 1;
                    // A stray instance's fresh disk is nobody's: it goes with it.
                    if running.user_email.is_none() {
                        match instances.delete_stray_disk(template, i.id).await {
                            Ok(true) => tracing::info!(instance = %i.pod, "its disk, nobody's, deleted"),
                            Ok(false) => {}
                            Err(e) => {
                                tracing::warn!(instance = %i.pod, error = %format!("{e:#}"), "cannot delete the stray instance's disk")
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(instance = %i.pod, error = %format!("{e:#}"), "cannot stop an unused instance; trying again next pass")
                }
            }
        }
    }
    for template in templates {
        stop_unmade(store, instances, template, grace, &mut report).await;
    }
    Ok(report)
}

/// Stops the instances of `template` whose pods have not been made for `grace` (seen so by two
/// passes at least `grace` apart): one that can never be made would keep every other instance
/// of the template from starting. Their users' next request starts them again.
async fn stop_unmade(store: &Store, instances: &Instances, template: &str, grace: Duration, report: &mut Report) {
    let unmade = match instances.unmade(template).await {
        Ok(unmade) => unmade,
        Err(e) => {
            tracing::warn!(template, error = %format!("{e:#}"), "cannot look for instances whose pods were not made");
            return;
        }
    };
    let now = now_unix();
    for (id, email) in unmade {
        let pod = format!("{template}-{id}");
        let seen = match store.first_seen(&format!("unmade/{pod}"), now, grace * 3).await {
            Ok(seen) => seen,
            Err(e) => {
                tracing::warn!(instance = %pod, error = %format!("{e:#}"), "cannot record an instance whose pod was not made");
                continue;
            }
        };
        if now - seen < grace.as_secs() as i64 {
            continue;
        }
        let key = format!("{template}/{}", email.as_deref().unwrap_or(""));
        match locked(store, &key, || instances.stop(template, id)).await {
            Ok(Some(true)) => {
                tracing::warn!(instance = %pod, user = email.as_deref().unwrap_or(""), since = seen, "instance whose pod was never made stopped");
                report.orphaned += 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(instance = %pod, error = %format!("{e:#}"), "cannot stop an instance whose pod was not made; trying again next pass")
            }
        }
    }
}

/// Runs `f` under the user's lock (the router's allocation lock); None when someone holds it.
async fn locked<F, Fut>(store: &Store, key: &str, f: F) -> anyhow::Result<Option<bool>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let Some(lock) = store.try_lock(key, LOCK_TTL).await? else { return Ok(None) };
    let result = f().await;
    if let Err(e) = store.unlock(lock).await {
        tracing::warn!(key, error = %e, "could not release the lock (it expires by itself)");
    }
    result.map(Some)
}

/// How long reclaim may hold a user's lock (a stop waits at most 15 s for its set).
const LOCK_TTL: Duration = Duration::from_secs(30);
