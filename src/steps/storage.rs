//! `storage`: where models and user outputs live. Filestore (an NFS share in the cluster's VPC)
//! or a Cloud Storage bucket (the `volumes` step gives the WebUI pods access to it once the
//! cluster, and with it the project's Workload Identity pool, exists). `down --keep-data` keeps it.

use async_trait::async_trait;
use google_cloud_filestore_v1::model::instance::{State, Tier};
use google_cloud_filestore_v1::model::network_config::{AddressMode, ConnectMode};
use google_cloud_filestore_v1::model::{FileShareConfig, Instance, NetworkConfig};

use super::common::{Deletable, absent_if_not_found, is_already_exists, not_ours, patience, wait_deletable};
use super::{APIS, Env, NETWORK, STORAGE};
use crate::config::{Filestore, FilestoreTier, Gcs, Storage};
use crate::gcp::ops;
use crate::gcp::retry;
use crate::gcp::storage::{Bucket, StorageClient};
use crate::gcp::wait::{Poll, until};
use crate::names::{LABEL_ENV, Names};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct SharedStorage;

/// What exists: a Filestore instance or a bucket.
#[derive(Default)]
pub enum Live {
    #[default]
    Absent,
    Filestore(Box<Instance>),
    Bucket(Bucket),
}

#[async_trait]
impl Step<Env> for SharedStorage {
    type Live = Live;

    fn id(&self) -> StepId {
        STORAGE
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS, NETWORK]
    }

    fn describe(&self, env: &Env) -> String {
        match &env.config.storage {
            Storage::Filestore(f) => {
                format!(
                    "Filestore {} ({}, {} GiB, share {})",
                    env.names.filestore(),
                    f.tier.name(),
                    f.capacity_gb,
                    f.share
                )
            }
            Storage::Gcs(g) => format!("Cloud Storage bucket {} in {}", bucket_name(&env.names, g), g.location),
        }
    }

    fn permissions(&self, env: &Env) -> Vec<&'static str> {
        match env.config.storage {
            Storage::Filestore(_) => vec![
                "file.instances.get",
                "file.instances.create",
                "file.instances.update",
                "file.instances.delete",
                "file.operations.get",
            ],
            Storage::Gcs(_) => vec![
                "storage.buckets.get",
                "storage.buckets.create",
                "storage.buckets.update",
                "storage.buckets.delete",
                "storage.objects.list",
                "storage.objects.delete",
            ],
        }
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        match &env.config.storage {
            Storage::Filestore(_) => match read_filestore(cx).await? {
                None => Ok(Live::Absent),
                Some(i) => {
                    publish_filestore(env, &i);
                    Ok(Live::Filestore(Box::new(i)))
                }
            },
            Storage::Gcs(g) => {
                let bucket = bucket_name(&env.names, g);
                let storage = StorageClient::new(&env.gcp);
                let Some(found) =
                    absent_if_not_found(retry::call(cx, "read the bucket", || storage.get_bucket(&bucket)).await)?
                else {
                    return Ok(Live::Absent);
                };
                if !env.owns(&found.labels) {
                    return Err(not_ours("bucket", &bucket, env.names.env()));
                }
                env.outputs.set("bucket", format!("gs://{bucket}"));
                Ok(Live::Bucket(found))
            }
        }
    }

    fn diff(&self, env: &Env, live: &Live) -> Diff {
        match (live, &env.config.storage) {
            (Live::Absent, _) => Diff::create_all(),
            (Live::Filestore(i), Storage::Filestore(f)) => {
                let mut changes = Vec::new();
                if i.state == State::Creating {
                    changes.push("wait until the instance is ready (CREATING)".to_string());
                }
                let capacity = i.file_shares.first().map(|s| s.capacity_gb).unwrap_or_default();
                if capacity != i64::from(f.capacity_gb) {
                    changes.push(format!("storage.filestore.capacityGb: {capacity} -> {}", f.capacity_gb));
                }
                if i.tier != tier(f.tier) {
                    changes.push(format!(
                        "storage.filestore.tier cannot change in place ({:?} -> {})",
                        i.tier,
                        f.tier.name()
                    ));
                }
                if i.labels != env.labels() {
                    changes.push("labels".into());
                }
                if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
            }
            (Live::Bucket(bucket), Storage::Gcs(_)) => {
                if bucket.labels != env.labels() || !bucket.uniform_access() {
                    Diff::update(vec!["labels and uniform bucket-level access".to_string()])
                } else {
                    Diff::unchanged()
                }
            }
            // The config switched between Filestore and GCS: the new kind does not exist yet.
            _ => Diff::create_all(),
        }
    }

    fn state(&self, live: &Live) -> Option<String> {
        match live {
            Live::Absent => None,
            Live::Filestore(i) => {
                let ip = i.networks.first().and_then(|n| n.ip_addresses.first()).cloned().unwrap_or_default();
                Some(format!("{:?}, {ip}", i.state))
            }
            Live::Bucket(bucket) => Some(format!("gs://{} in {}", bucket.name, bucket.location)),
        }
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        match &env.config.storage {
            Storage::Filestore(f) => apply_filestore(cx, f, live).await,
            Storage::Gcs(g) => apply_bucket(cx, g, live).await,
        }
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        if env.options.keep_data {
            return Ok(Outcome::Kept);
        }
        if matches!(self.observe(cx).await?, Live::Absent) {
            return Ok(Outcome::Unchanged);
        }
        match &env.config.storage {
            Storage::Filestore(f) => {
                let what = format!("Filestore instance {}", env.names.filestore());
                let state = || async {
                    Ok(match self.observe(cx).await? {
                        Live::Filestore(i) if matches!(i.state, State::Ready | State::Error | State::Suspended) => {
                            Deletable::Now
                        }
                        Live::Filestore(i) => Deletable::Later(format!("{:?}", i.state)),
                        _ => Deletable::Gone,
                    })
                };
                if !wait_deletable(cx, &what, patience::FILESTORE, state).await? {
                    return Ok(Outcome::Deleted); // an earlier run's deletion finished
                }
                destroy_filestore(cx, f).await
            }
            Storage::Gcs(g) => destroy_bucket(cx, &bucket_name(&env.names, g)).await,
        }
    }
}

// --- Filestore ---

fn filestore_location(env: &Env, f: &Filestore) -> String {
    if f.tier.is_regional() { env.config.region.clone() } else { env.config.zones[0].clone() }
}

/// The environment's Filestore instance, if it exists (an error when it is not this
/// environment's); `None` with GCS storage.
pub async fn read_filestore(cx: &StepCx<Env>) -> anyhow::Result<Option<Instance>> {
    let env = &cx.env;
    let Storage::Filestore(f) = &env.config.storage else { return Ok(None) };
    let client = env.gcp.filestore().await?;
    let name = filestore_name(env, f);
    let found = absent_if_not_found(
        retry::call(cx, "read the Filestore instance", || client.get_instance().set_name(&name).send()).await,
    )?;
    match found {
        Some(i) if !env.owns(&i.labels) => Err(not_ours("Filestore instance", &env.names.filestore(), env.names.env())),
        found => Ok(found),
    }
}

fn filestore_name(env: &Env, f: &Filestore) -> String {
    format!("projects/{}/locations/{}/instances/{}", env.project(), filestore_location(env, f), env.names.filestore())
}

fn tier(t: FilestoreTier) -> Tier {
    match t {
        FilestoreTier::BasicHdd => Tier::BasicHdd,
        FilestoreTier::BasicSsd => Tier::BasicSsd,
        FilestoreTier::Zonal => Tier::Zonal,
        FilestoreTier::Regional => Tier::Regional,
        FilestoreTier::Enterprise => Tier::Enterprise,
    }
}

fn desired_filestore(env: &Env, f: &Filestore, reserved_ip_range: &str) -> Instance {
    Instance::new()
        .set_description(env.names.description())
        .set_tier(tier(f.tier))
        .set_labels(env.labels())
        .set_file_shares([FileShareConfig::new().set_name(&f.share).set_capacity_gb(i64::from(f.capacity_gb))])
        .set_networks([NetworkConfig::new()
            .set_network(&env.config.cluster.network)
            .set_modes([AddressMode::ModeIpv4])
            .set_connect_mode(ConnectMode::DirectPeering)
            .set_reserved_ip_range(reserved_ip_range)])
}

async fn apply_filestore(cx: &StepCx<Env>, f: &Filestore, live: Live) -> anyhow::Result<Outcome> {
    let env = &cx.env;
    let client = env.gcp.filestore().await?;
    let name = filestore_name(env, f);
    let what = format!("Filestore instance {}", env.names.filestore());
    let want = match &live {
        // An existing instance keeps its range (it cannot change).
        Live::Filestore(i) => {
            let range = i.networks.first().map(|n| n.reserved_ip_range.clone()).unwrap_or_default();
            desired_filestore(env, f, &range)
        }
        _ => desired_filestore(env, f, &super::ranges::plan(cx).await?.filestore),
    };
    let outcome = match live {
        Live::Filestore(i) => {
            if i.tier != tier(f.tier) {
                anyhow::bail!(
                    "storage.filestore.tier of {what} cannot change in place; copy your models elsewhere, delete it with \
                     `sdctl down storage`, and run `sdctl up` again"
                );
            }
            let capacity = i.file_shares.first().map(|s| s.capacity_gb).unwrap_or_default();
            if capacity > i64::from(f.capacity_gb) {
                anyhow::bail!(
                    "{what} cannot shrink from {capacity} to {} GiB; raise storage.filestore.capacityGb back",
                    f.capacity_gb
                );
            }
            if i.state == State::Creating {
                wait_filestore_ready(cx, &name).await?;
            }
            let mut mask = Vec::new();
            if capacity != i64::from(f.capacity_gb) {
                mask.push("file_shares");
            }
            if i.labels != want.labels {
                mask.push("labels");
            }
            if !mask.is_empty() {
                let body = want.clone().set_name(&name);
                let op = retry::call(cx, &format!("update {what}"), || {
                    client
                        .update_instance()
                        .set_instance(body.clone())
                        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                        .send()
                })
                .await?;
                ops::lro(cx, &format!("update of {what}"), patience::FILESTORE, || {
                    client.get_operation().set_name(&op.name).send()
                })
                .await?;
            }
            Outcome::Updated
        }
        _ => {
            let parent = format!("projects/{}/locations/{}", env.project(), filestore_location(env, f));
            let op = retry::call(cx, &format!("create {what}"), || {
                client
                    .create_instance()
                    .set_parent(&parent)
                    .set_instance_id(env.names.filestore())
                    .set_instance(want.clone())
                    .send()
            })
            .await?;
            ops::lro(cx, &what, patience::FILESTORE, || client.get_operation().set_name(&op.name).send()).await?;
            Outcome::Created
        }
    };
    let ready = retry::call(cx, &format!("read {what}"), || client.get_instance().set_name(&name).send()).await?;
    publish_filestore(env, &ready);
    Ok(outcome)
}

async fn wait_filestore_ready(cx: &StepCx<Env>, name: &str) -> anyhow::Result<()> {
    let client = cx.env.gcp.filestore().await?;
    until(cx, "the Filestore instance to become ready", patience::FILESTORE, move || async move {
        let i = retry::call(cx, "read the Filestore instance", || client.get_instance().set_name(name).send()).await?;
        Ok(if i.state == State::Ready { Poll::Ready(()) } else { Poll::Pending(format!("{:?}", i.state)) })
    })
    .await
}

async fn destroy_filestore(cx: &StepCx<Env>, f: &Filestore) -> anyhow::Result<Outcome> {
    let env = &cx.env;
    let client = env.gcp.filestore().await?;
    let name = filestore_name(env, f);
    let what = format!("Filestore instance {}", env.names.filestore());
    let op = match absent_if_not_found(
        retry::call(cx, &format!("delete {what}"), || client.delete_instance().set_name(&name).send()).await,
    )? {
        Some(op) => op,
        None => return Ok(Outcome::Unchanged),
    };
    ops::lro(cx, &format!("deletion of {what}"), patience::FILESTORE, || {
        client.get_operation().set_name(&op.name).send()
    })
    .await?;
    Ok(Outcome::Deleted)
}

fn publish_filestore(env: &Env, instance: &Instance) {
    let ip = instance.networks.first().and_then(|n| n.ip_addresses.first());
    let share = instance.file_shares.first().map(|s| s.name.as_str());
    if let (Some(ip), Some(share)) = (ip, share) {
        env.outputs.set("filestore", format!("{ip}:/{share}"));
        env.outputs.set("filestoreIp", ip.clone());
    }
}

// --- Cloud Storage ---

pub fn bucket_name(names: &Names, g: &Gcs) -> String {
    g.bucket.clone().unwrap_or_else(|| names.models_bucket())
}

async fn apply_bucket(cx: &StepCx<Env>, g: &Gcs, live: Live) -> anyhow::Result<Outcome> {
    let env = &cx.env;
    let bucket = bucket_name(&env.names, g);
    let storage = StorageClient::new(&env.gcp);
    let labels = env.labels();
    let outcome = match &live {
        Live::Bucket(b) => {
            if b.labels != env.labels() || !b.uniform_access() {
                retry::call(cx, "update the bucket", || storage.patch_bucket(&bucket, &labels)).await?;
            }
            Outcome::Updated
        }
        _ => {
            let created = retry::call(cx, "create the bucket", || {
                storage.create_bucket(env.project(), &bucket, &g.location, &labels)
            })
            .await;
            match created {
                Ok(_) => Outcome::Created,
                // Bucket names are global: adopt a 409 only when the bucket carries our label.
                Err(e) if is_already_exists(&e) => {
                    let existing = retry::call(cx, "read the bucket", || storage.get_bucket(&bucket)).await?;
                    if existing.labels.get(LABEL_ENV).map(String::as_str) != Some(env.names.env()) {
                        return Err(anyhow::anyhow!(
                            "bucket {bucket} already exists and is not this environment's (bucket names are global); set \
                             storage.gcs.bucket to another name"
                        ));
                    }
                    Outcome::Created
                }
                Err(e) => return Err(e),
            }
        }
    };
    env.outputs.set("bucket", format!("gs://{bucket}"));
    Ok(outcome)
}

/// Empties the bucket (objects counted in `down`'s confirmation) and deletes it.
async fn destroy_bucket(cx: &StepCx<Env>, bucket: &str) -> anyhow::Result<Outcome> {
    let storage = StorageClient::new(&cx.env.gcp);
    let Some(objects) =
        absent_if_not_found(retry::call(cx, "list the bucket's objects", || storage.list_objects(bucket, "")).await)?
    else {
        return Ok(Outcome::Unchanged);
    };
    let total = objects.len();
    for (i, object) in objects.iter().enumerate() {
        if i % 50 == 0 {
            cx.progress(format!("emptying gs://{bucket}: {i}/{total} objects deleted"));
        }
        absent_if_not_found(retry::call(cx, "delete an object", || storage.delete_object(bucket, &object.name)).await)?;
    }
    absent_if_not_found(retry::call(cx, "delete the bucket", || storage.delete_bucket(bucket)).await)?;
    Ok(Outcome::Deleted)
}
