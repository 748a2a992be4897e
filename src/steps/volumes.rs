//! `volumes`: the shared volume and claim of models and outputs (the Filestore share over NFS,
//! or the bucket through GCS-Fuse).

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::kube_step::{Live, Manifest};
use super::values::values;
use crate::config::Storage;
use crate::kube::templates::render;

pub struct Volumes;

#[async_trait]
impl Manifest for Volumes {
    fn permissions(&self) -> Vec<&'static str> {
        vec!["container.persistentVolumes.create", "container.persistentVolumeClaims.create"]
    }

    fn describe(&self, env: &Env) -> String {
        match env.config.storage {
            Storage::Filestore(_) => "shared NFS volume and claim on the Filestore share".to_string(),
            Storage::Gcs(_) => "shared GCS-Fuse volume and claim on the models bucket".to_string(),
        }
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let template = match env.config.storage {
            Storage::Filestore(_) => "volumes-filestore.yaml",
            Storage::Gcs(_) => "volumes-gcs.yaml",
        };
        render(template, &values(env))
    }
}
