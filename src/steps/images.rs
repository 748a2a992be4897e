//! `images`: the images the templates' engines need (AUTOMATIC1111's WebUI, ComfyUI) and the
//! runtime image, in Artifact Registry, built by Cloud Build when the registry lacks the tag of
//! their current context. Publishes `webuiImage`, `comfyuiImage` and `runtimeImage` for the
//! Kubernetes steps. Its staging bucket (build contexts and logs) is made on demand and
//! deleted on `down`; the images themselves go with the repository.

use async_trait::async_trait;

use super::common::absent_if_not_found;
use super::iam::Account;
use super::{Env, IMAGES, REGISTRY};
use crate::gcp::retry;
use crate::gcp::storage::StorageClient;
use crate::images::{ImageKind, build};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct Images;

/// Each image's current tag and whether the registry has it.
#[derive(Default)]
pub struct Live {
    images: Vec<(ImageKind, String, bool)>,
}

#[async_trait]
impl Step<Env> for Images {
    type Live = Live;

    fn id(&self) -> StepId {
        IMAGES
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![REGISTRY]
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "cloudbuild.builds.create",
            "cloudbuild.builds.get",
            // The staging bucket of build contexts.
            "storage.buckets.get",
            "storage.buckets.create",
            "storage.objects.create",
            "storage.objects.get",
            "artifactregistry.dockerimages.get",
            "artifactregistry.dockerimages.list",
            // The build service account: made, given the bucket and the repository, and used.
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.create",
            "iam.serviceAccounts.delete",
            "iam.serviceAccounts.actAs",
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
            "artifactregistry.repositories.getIamPolicy",
            "artifactregistry.repositories.setIamPolicy",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        let names: Vec<&str> = env.config.images().into_iter().map(ImageKind::image_name).collect();
        format!("images {} in {} (Cloud Build)", names.join(", "), env.names.repository())
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let mut images = Vec::new();
        for kind in env.config.images() {
            let (tag, exists) = build::lookup(cx, kind, env.options.runtime_binary.as_deref()).await?;
            if exists {
                env.outputs.set(kind.output_key(), env.names.image(&format!("{}:{tag}", kind.image_name())));
            }
            images.push((kind, tag, exists));
        }
        Ok(Live { images })
    }

    fn diff(&self, _env: &Env, live: &Live) -> Diff {
        if live.images.is_empty() {
            return Diff::create_all();
        }
        let missing: Vec<String> = live
            .images
            .iter()
            .filter(|(_, _, exists)| !exists)
            .map(|(kind, tag, _)| format!("build {}:{tag}", kind.image_name()))
            .collect();
        Diff::from_parts(missing, Vec::new())
    }

    fn state(&self, live: &Live) -> Option<String> {
        let tags: Vec<String> = live
            .images
            .iter()
            .filter(|(_, _, exists)| *exists)
            .map(|(kind, tag, _)| format!("{}:{tag}", kind.image_name()))
            .collect();
        (!tags.is_empty()).then(|| tags.join(", "))
    }

    async fn apply(&self, cx: &StepCx<Env>, _live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let binary = cx.env.options.runtime_binary.clone();
        // Every build at once: the WebUIs' take long, the runtime's is quick.
        let builds = cx.env.config.images().into_iter().map(|kind| build::ensure(cx, kind, binary.as_deref(), false));
        let mut built = false;
        for result in futures::future::join_all(builds).await {
            built |= result?.built;
        }
        Ok(if built { Outcome::Created } else { Outcome::Unchanged })
    }

    /// Deletes the staging bucket (contexts and build logs) and the build service account; the
    /// images go with the repository.
    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let account = Account::Builds.delete(cx).await?;
        let bucket = delete_staging_bucket(cx).await?;
        Ok(if account || bucket { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// Empties and deletes the staging bucket; whether it existed.
async fn delete_staging_bucket(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    {
        let env = &cx.env;
        let bucket = env.names.build_bucket();
        let storage = StorageClient::new(&env.gcp);
        let Some(found) =
            absent_if_not_found(retry::call(cx, "read the staging bucket", || storage.get_bucket(&bucket)).await)?
        else {
            return Ok(false);
        };
        if !env.owns(&found.labels) {
            return Ok(false);
        }
        let objects = retry::call(cx, "list the staging bucket", || storage.list_objects(&bucket, "")).await?;
        for (i, object) in objects.iter().enumerate() {
            cx.progress(format!("emptying gs://{bucket}: {i}/{}", objects.len()));
            absent_if_not_found(
                retry::call(cx, "delete a build context", || storage.delete_object(&bucket, &object.name)).await,
            )?;
        }
        absent_if_not_found(retry::call(cx, "delete the staging bucket", || storage.delete_bucket(&bucket)).await)?;
        Ok(true)
    }
}
