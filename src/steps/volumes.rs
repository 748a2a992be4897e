//! `volumes`: the shared volume and claim of models and outputs (the Filestore share over NFS,
//! or the bucket through GCS-Fuse). With GCS, also the WebUI pods' access to the bucket through
//! Workload Identity: granted here, once the cluster exists, because the project's identity pool
//! (`PROJECT.svc.id.goog`) only exists with a Workload Identity cluster and IAM refuses a member
//! of a pool that does not exist ("Identity Pool does not exist"). Agones' WebUI pods read
//! everything and write only under `outputs/`; users' instances (okg) only read, their files
//! being on their own disks. The bucket's top folders are made here, not by the pods.

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::iam::{Condition, Grant, PolicyOf};
use super::kube_step::{Live, Manifest};
use super::values::values;
use crate::config::{RuntimeKind, Storage};
use crate::gcp::retry;
use crate::gcp::storage::StorageClient;
use crate::kube::Kube;
use crate::kube::templates::render;
use crate::names::Names;
use crate::plan::StepCx;

/// The WebUI pods read the whole bucket...
const READ_ROLE: &str = "roles/storage.objectViewer";
/// ... and write only under `outputs/` (an IAM condition on the object's name; the bucket has
/// uniform bucket-level access, which conditions need). Every WebUI pod runs as the same
/// Kubernetes service account, so the bucket cannot tell one user's folder from another's.
const WRITE_ROLE: &str = "roles/storage.objectUser";
/// Folders the share has from the start, so that the WebUI pods, which cannot write models,
/// never need to create them (start.sh seeds only an empty share).
const FOLDERS: [&str; 3] = ["models/", "embeddings/", "outputs/"];

pub struct Volumes;

/// The WebUI pods' Kubernetes service account (Agones' SDK account, or with okg the instances'
/// own, which the GCS-Fuse driver authenticates as) as a Workload Identity principal, no Google
/// service account in between.
async fn workload_member(cx: &StepCx<Env>) -> anyhow::Result<String> {
    let env = &cx.env;
    let number = env.project_number(cx).await?;
    let account = match env.config.runtime.kind {
        RuntimeKind::Agones => Names::GAMESERVER_SERVICE_ACCOUNT,
        RuntimeKind::Okg => Names::INSTANCE_SERVICE_ACCOUNT,
    };
    Ok(format!(
        "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{}/subject/ns/{}/sa/{account}",
        env.names.workload_pool(),
        env.config.runtime.namespace,
    ))
}

/// The bucket and the WebUI pods' member (GCS only).
async fn bucket_member(cx: &StepCx<Env>) -> anyhow::Result<Option<(String, String)>> {
    let Storage::Gcs(g) = &cx.env.config.storage else { return Ok(None) };
    Ok(Some((super::bucket_name(&cx.env.names, g), workload_member(cx).await?)))
}

/// What the WebUI pods hold on the bucket, and the unconditional write earlier versions gave.
/// With okg a user's files are on their own disk: the instances only read the bucket.
fn grants(kind: RuntimeKind, bucket: &str, member: &str) -> (Vec<Grant>, Grant) {
    let outputs = Condition {
        title: "sdctl: WebUI outputs only".into(),
        expression: format!("resource.name.startsWith(\"projects/_/buckets/{bucket}/objects/outputs/\")"),
    };
    let mut wanted = vec![Grant::new(READ_ROLE, member)];
    if kind == RuntimeKind::Agones {
        wanted.push(Grant::new(WRITE_ROLE, member).when(outputs));
    }
    (wanted, Grant::new(WRITE_ROLE, member))
}

/// Folders of `FOLDERS` the bucket lacks (a folder is any object under its prefix).
async fn missing_folders(cx: &StepCx<Env>, bucket: &str) -> anyhow::Result<Vec<&'static str>> {
    let storage = StorageClient::new(&cx.env.gcp);
    let mut missing = Vec::new();
    for folder in FOLDERS {
        let found =
            retry::call(cx, &format!("list gs://{bucket}/{folder}"), || storage.has_objects(bucket, folder)).await?;
        if !found {
            missing.push(folder);
        }
    }
    Ok(missing)
}

#[async_trait]
impl Manifest for Volumes {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.persistentVolumes.create",
            "container.persistentVolumeClaims.create",
            // GCS: the WebUI pods' access to the bucket.
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
            "storage.objects.list",
            "storage.objects.create",
            "resourcemanager.projects.get",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        match env.config.storage {
            Storage::Filestore(_) => "shared NFS volume and claim on the Filestore share".to_string(),
            Storage::Gcs(_) => {
                "shared GCS-Fuse volume and claim on the models bucket, and the WebUI pods' access to it".to_string()
            }
        }
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let template = match env.config.storage {
            Storage::Filestore(_) => "volumes-filestore.yaml",
            Storage::Gcs(_) => "volumes-gcs.yaml",
        };
        render(template, &values(env))
    }

    async fn pending(&self, cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<Option<String>> {
        let Some((bucket, member)) = bucket_member(cx).await? else { return Ok(None) };
        let (wanted, former) = grants(cx.env.config.runtime.kind, &bucket, &member);
        let policy = PolicyOf::Bucket(&bucket).read(cx).await?;
        let mut work = Vec::new();
        if !wanted.iter().all(|g| g.held_in(&policy)) {
            work.push(match cx.env.config.runtime.kind {
                RuntimeKind::Agones => {
                    format!("grant the WebUI pods {READ_ROLE} on gs://{bucket} and {WRITE_ROLE} under outputs/ only")
                }
                RuntimeKind::Okg => format!("grant the users' instances {READ_ROLE} on gs://{bucket}"),
            });
        }
        if former.held_in(&policy) {
            work.push(format!("take {WRITE_ROLE} on the whole of gs://{bucket} from the WebUI pods"));
        }
        let folders = missing_folders(cx, &bucket).await?;
        if !folders.is_empty() {
            work.push(format!("create {} in gs://{bucket}", folders.join(", ")));
        }
        Ok((!work.is_empty()).then(|| work.join("; ")))
    }

    async fn after_apply(&self, cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        let Some((bucket, member)) = bucket_member(cx).await? else { return Ok(()) };
        let (wanted, former) = grants(cx.env.config.runtime.kind, &bucket, &member);
        let mut changes: Vec<(&Grant, bool)> = wanted.iter().map(|g| (g, true)).collect();
        changes.push((&former, false));
        PolicyOf::Bucket(&bucket).apply(cx, &changes).await?;
        let storage = StorageClient::new(&cx.env.gcp);
        for folder in missing_folders(cx, &bucket).await? {
            retry::call(cx, &format!("create gs://{bucket}/{folder}"), || storage.upload(&bucket, folder, Vec::new()))
                .await?;
        }
        Ok(())
    }
}
