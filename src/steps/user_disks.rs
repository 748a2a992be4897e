//! Users' disks as Compute Engine holds them (`runtime.kind: okg`). GKE's disk driver makes each
//! one with the environment's label, named after its volume (`pvc-<uid>`); the claim that says
//! whose it is lives in the cluster. So that a disk kept by `down --keep-data` can be given back
//! to its user by the next `up` (after the cluster, and its claims, are gone), `down
//! --keep-data` writes on the disk, as labels, the template, the instance id and a hash of the
//! user's e-mail (`user::hash`): labels are readable by anyone who may list the project's disks
//! and end up in billing exports, so no address goes there. The user's first request after
//! `up` recognises the disk by that hash and makes it theirs again.
//!
//! Only disks named `pvc-...` are users' disks: GKE copies the cluster's labels onto its nodes'
//! boot disks, which carry the environment's label too.

use std::collections::HashMap;

use google_cloud_compute_v1::model::ZoneSetLabelsRequest;

use super::Env;
use super::common::{absent_if_not_found, delete_compute, empty_if_disabled, patience};
use crate::gcp::{ApiError, ops, retry};
use crate::plan::StepCx;

const LABEL_TEMPLATE: &str = "sdctl-template";
const LABEL_INSTANCE: &str = "sdctl-instance";
const LABEL_USER: &str = "sdctl-user";
/// What the PD CSI driver names a dynamically provisioned volume's disk: its volume's name.
const DISK_PREFIX: &str = "pvc-";

/// Whose a kept disk is: the instance `<template>-<id>` of the user whose e-mail has this hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub template: String,
    pub id: i64,
    /// `user::hash` of their e-mail.
    pub user: String,
}

/// One of the environment's users' disks.
#[derive(Debug, Clone)]
pub struct Disk {
    pub name: String,
    pub zone: String,
    pub size_gb: i64,
    /// Written by `down --keep-data`; none for a disk whose claim had no user.
    pub owner: Option<Owner>,
    /// Attached to a VM (a running instance's node): never deleted from here.
    pub in_use: bool,
}

impl Disk {
    /// The CSI volume handle of the disk (`projects/P/zones/Z/disks/NAME`).
    pub fn handle(&self, project: &str) -> String {
        format!("projects/{project}/zones/{}/disks/{}", self.zone, self.name)
    }
}

impl Owner {
    /// The labels that say whose the disk is.
    pub fn labels(&self) -> Vec<(String, String)> {
        vec![
            (LABEL_TEMPLATE.to_string(), self.template.clone()),
            (LABEL_INSTANCE.to_string(), self.id.to_string()),
            (LABEL_USER.to_string(), self.user.clone()),
        ]
    }

    /// The owner written by `labels`, if all of it is there.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Owner> {
        let template = labels.get(LABEL_TEMPLATE)?.clone();
        let id = labels.get(LABEL_INSTANCE)?.parse().ok()?;
        let user = labels.get(LABEL_USER).filter(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
        Some(Owner { template, id, user: user.clone() })
    }
}

/// The environment's users' disks in the nodes' zones.
pub async fn list(cx: &StepCx<Env>) -> anyhow::Result<Vec<Disk>> {
    let env = &cx.env;
    let project = env.project();
    let client = env.gcp.disks().await?;
    let mut found = Vec::new();
    for zone in env.config.node_zones() {
        let mut token = String::new();
        loop {
            let page = empty_if_disabled(
                retry::call(cx, &format!("list disks in {zone}"), || {
                    let list = client.list().set_project(project).set_zone(zone);
                    if token.is_empty() { list.send() } else { list.set_page_token(&token).send() }
                })
                .await,
            )?;
            for d in page.items {
                let name = d.name.unwrap_or_default();
                if env.owns(&d.labels) && name.starts_with(DISK_PREFIX) {
                    found.push(Disk {
                        owner: Owner::from_labels(&d.labels),
                        zone: zone.clone(),
                        size_gb: d.size_gb.unwrap_or(0),
                        in_use: !d.users.is_empty(),
                        name,
                    });
                }
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = t,
                _ => break,
            }
        }
    }
    Ok(found)
}

/// Writes whose the disk behind `handle` is (a CSI volume handle), keeping its other labels.
/// False when the handle is not a disk of the project (nothing written).
pub async fn mark(cx: &StepCx<Env>, handle: &str, owner: &Owner) -> anyhow::Result<bool> {
    let env = &cx.env;
    let Some((zone, name)) = zone_and_name(env.project(), handle) else { return Ok(false) };
    let client = env.gcp.disks().await?;
    // The disk driver rewrites a label of its own on attach and detach, which changes the
    // fingerprint: a 412 (conditionNotMet) is read again and retried.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let read = retry::call(cx, &format!("read disk {name}"), || {
            client.get().set_project(env.project()).set_zone(zone).set_disk(name).send()
        })
        .await;
        let Some(disk) = absent_if_not_found(read)? else { return Ok(false) };
        let mut labels = disk.labels.clone();
        labels.extend(owner.labels());
        if labels == disk.labels {
            return Ok(true);
        }
        let body = ZoneSetLabelsRequest::new()
            .set_labels(labels)
            .set_or_clear_label_fingerprint(disk.label_fingerprint.clone());
        let sent = retry::call(cx, &format!("label disk {name}"), || {
            client
                .set_labels()
                .set_project(env.project())
                .set_zone(zone)
                .set_resource(name)
                .set_body(body.clone())
                .send()
        })
        .await;
        let op = match sent {
            Err(e) if attempt < 3 && stale_fingerprint(&e) => continue,
            other => other?,
        };
        ops::compute(cx, &env.gcp, env.project(), op, &format!("labels of disk {name}"), patience::COMPUTE).await?;
        return Ok(true);
    }
}

fn stale_fingerprint(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>().is_some_and(|e| e.http_status == Some(412))
}

/// Deletes a user's disk; false when it was already gone.
pub async fn delete(cx: &StepCx<Env>, disk: &Disk) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.disks().await?;
    delete_compute(cx, &format!("user disk {} ({})", disk.name, disk.zone), || {
        client.delete().set_project(env.project()).set_zone(&disk.zone).set_disk(&disk.name).send()
    })
    .await
}

/// `projects/P/zones/Z/disks/NAME` of this project: (Z, NAME).
fn zone_and_name<'a>(project: &str, handle: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = handle.strip_prefix("projects/")?.strip_prefix(project)?.strip_prefix("/zones/")?;
    let (zone, name) = rest.split_once("/disks/")?;
    (!zone.is_empty() && !name.is_empty() && !name.contains('/')).then_some((zone, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_label(k: &str, v: &str) -> bool {
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        k.len() <= 63
            && k.starts_with(|c: char| c.is_ascii_lowercase())
            && k.chars().all(ok)
            && v.len() <= 63
            && v.chars().all(ok)
    }

    #[test]
    fn an_owner_comes_back_from_its_labels_and_no_address_is_written() {
        let email = "alice.o'hara+sd@example.com";
        let owner = Owner { template: "sd15".into(), id: 12, user: crate::runtime::user::hash(email) };
        let labels = owner.labels();
        assert!(labels.iter().all(|(k, v)| is_label(k, v)), "{labels:?}");
        assert!(labels.iter().all(|(_, v)| !v.contains("alice") && !v.contains("example")), "{labels:?}");
        let map: HashMap<String, String> = labels.into_iter().collect();
        assert_eq!(Owner::from_labels(&map), Some(owner));
    }

    #[test]
    fn a_disk_without_all_of_its_owner_has_none() {
        let owner = Owner { template: "sd15".into(), id: 0, user: crate::runtime::user::hash("a@b.c") };
        let full: HashMap<String, String> = owner.labels().into_iter().collect();
        for missing in [LABEL_TEMPLATE, LABEL_INSTANCE, LABEL_USER] {
            let mut labels = full.clone();
            labels.remove(missing);
            assert_eq!(Owner::from_labels(&labels), None, "without {missing}");
        }
        let mut garbled = full.clone();
        garbled.insert(LABEL_USER.into(), "alice".into());
        assert_eq!(Owner::from_labels(&garbled), None);
    }

    #[test]
    fn a_handle_names_a_disk_of_the_project_only() {
        assert_eq!(zone_and_name("p", "projects/p/zones/us-central1-a/disks/pvc-1"), Some(("us-central1-a", "pvc-1")));
        assert_eq!(zone_and_name("p", "projects/other/zones/us-central1-a/disks/pvc-1"), None);
        assert_eq!(zone_and_name("p", "projects/p/regions/us-central1/disks/pvc-1"), None);
        assert_eq!(zone_and_name("p", "projects/pp/zones/z/disks/d"), None);
    }
}
