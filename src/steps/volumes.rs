//! `volumes`: the shared volume and claim of models and outputs (the Filestore share over NFS,
//! or the bucket through GCS-Fuse). With GCS, also the WebUI pods' access to the bucket through
//! Workload Identity: granted here, once the cluster exists, because the project's identity pool
//! (`PROJECT.svc.id.goog`) only exists with a Workload Identity cluster and IAM refuses a member
//! of a pool that does not exist ("Identity Pool does not exist").

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::iam::PolicyOf;
use super::kube_step::{Live, Manifest};
use super::values::values;
use crate::config::Storage;
use crate::kube::Kube;
use crate::kube::templates::render;
use crate::names::Names;
use crate::plan::StepCx;

/// Role the WebUI pods get on the bucket: read models, write outputs.
const BUCKET_ROLE: &str = "roles/storage.objectUser";

pub struct Volumes;

/// The WebUI pods' Kubernetes service account (Agones' SDK account, which the GCS-Fuse driver
/// authenticates as) as a Workload Identity principal, no Google service account in between.
async fn workload_member(cx: &StepCx<Env>) -> anyhow::Result<String> {
    let env = &cx.env;
    let number = env.project_number(cx).await?;
    Ok(format!(
        "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{}/subject/ns/{}/sa/{}",
        env.names.workload_pool(),
        env.config.runtime.namespace,
        Names::GAMESERVER_SERVICE_ACCOUNT
    ))
}

/// The bucket and the grant the WebUI pods need on it (GCS only).
async fn bucket_grant(cx: &StepCx<Env>) -> anyhow::Result<Option<(String, String)>> {
    let Storage::Gcs(g) = &cx.env.config.storage else { return Ok(None) };
    Ok(Some((super::bucket_name(&cx.env.names, g), workload_member(cx).await?)))
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
        let Some((bucket, member)) = bucket_grant(cx).await? else { return Ok(None) };
        let missing = PolicyOf::Bucket(&bucket).to_change(cx, &[(BUCKET_ROLE, &member)], true).await?;
        Ok((!missing.is_empty()).then(|| format!("grant {BUCKET_ROLE} on gs://{bucket} to the WebUI pods")))
    }

    async fn after_apply(&self, cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        let Some((bucket, member)) = bucket_grant(cx).await? else { return Ok(()) };
        PolicyOf::Bucket(&bucket).edit(cx, &[(BUCKET_ROLE, &member)], true).await?;
        Ok(())
    }
}
