//! `apis`: enable, in one batch, every Google API this configuration needs. `down` leaves them
//! enabled (other workloads in the project may use them; enabling costs nothing).

use async_trait::async_trait;
use google_cloud_api_serviceusage_v1::model::State;

use super::common::patience;
use super::{APIS, Env};
use crate::config::{Config, Storage};
use crate::gcp::{ops, retry};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct Apis;

/// The APIs `up` uses for this configuration.
pub fn needed(config: &Config) -> Vec<&'static str> {
    let mut apis = vec![
        "compute.googleapis.com",
        "container.googleapis.com",
        // Project IAM policy (node service account roles) and project number.
        "cloudresourcemanager.googleapis.com",
        "iam.googleapis.com",
        "redis.googleapis.com",
        "artifactregistry.googleapis.com",
        "cloudbuild.googleapis.com",
        "iap.googleapis.com",
    ];
    apis.push(match config.storage {
        Storage::Filestore(_) => "file.googleapis.com",
        Storage::Gcs(_) => "storage.googleapis.com",
    });
    if config.gpu.image_streaming {
        apis.push("containerfilesystem.googleapis.com");
    }
    apis
}

#[async_trait]
impl Step<Env> for Apis {
    /// The needed APIs that are not enabled yet.
    type Live = Option<Vec<String>>;

    fn id(&self) -> StepId {
        APIS
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![]
    }

    fn describe(&self, env: &Env) -> String {
        format!("enable {} Google APIs in project {}", needed(&env.config).len(), env.config.project)
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec!["serviceusage.services.get", "serviceusage.services.list", "serviceusage.services.enable"]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Option<Vec<String>>> {
        let env = &cx.env;
        let client = env.gcp.service_usage().await?;
        let parent = format!("projects/{}", env.project());
        let names: Vec<String> = needed(&env.config).iter().map(|api| format!("{parent}/services/{api}")).collect();
        let found = retry::call(cx, "read which APIs are enabled", || {
            client.batch_get_services().set_parent(&parent).set_names(names.clone()).send()
        })
        .await?;
        let missing = needed(&env.config)
            .into_iter()
            .filter(|api| {
                !found.services.iter().any(|s| s.name.ends_with(&format!("/{api}")) && s.state == State::Enabled)
            })
            .map(String::from)
            .collect();
        Ok(Some(missing))
    }

    fn diff(&self, env: &Env, live: &Option<Vec<String>>) -> Diff {
        let missing = match live {
            Some(missing) => missing.clone(),
            None => needed(&env.config).into_iter().map(String::from).collect(),
        };
        if missing.is_empty() { Diff::unchanged() } else { Diff::create(format!("enable {}", missing.join(", "))) }
    }

    fn state(&self, live: &Option<Vec<String>>) -> Option<String> {
        live.as_ref().map(|missing| {
            if missing.is_empty() { "all enabled".into() } else { format!("{} not enabled", missing.len()) }
        })
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Option<Vec<String>>, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let missing = live.unwrap_or_else(|| needed(&env.config).into_iter().map(String::from).collect());
        let client = env.gcp.service_usage().await?;
        let parent = format!("projects/{}", env.project());
        let op = retry::call(cx, "enable APIs", || {
            client.batch_enable_services().set_parent(&parent).set_service_ids(missing.clone()).send()
        })
        .await?;
        let what = format!("enabling {}", missing.join(", "));
        ops::lro(cx, &what, patience::SERVICES, || client.get_operation().set_name(&op.name).send()).await?;
        Ok(Outcome::Created)
    }

    async fn destroy(&self, _cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        Ok(Outcome::Kept)
    }
}
