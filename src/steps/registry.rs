//! `registry`: the Artifact Registry docker repository of the WebUI and runtime images, readable
//! by the node service account (on this repository only).

use async_trait::async_trait;
use google_cloud_artifactregistry_v1::model::Repository;
use google_cloud_artifactregistry_v1::model::repository::Format;

use super::common::{absent_if_not_found, not_ours, patience};
use super::iam::{Account, PolicyOf};
use super::{APIS, Env, REGISTRY};
use crate::gcp::{ops, retry};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

const READER: &str = "roles/artifactregistry.reader";

pub struct Registry;

#[derive(Default)]
pub struct Live {
    repository: Option<Repository>,
    nodes_can_read: bool,
}

fn repository_name(env: &Env) -> String {
    format!("projects/{}/locations/{}/repositories/{}", env.project(), env.config.region, env.names.repository())
}

#[async_trait]
impl Step<Env> for Registry {
    type Live = Live;

    fn id(&self) -> StepId {
        REGISTRY
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS]
    }

    fn describe(&self, env: &Env) -> String {
        format!("Artifact Registry repository {} in {}", env.names.repository(), env.config.region)
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "artifactregistry.repositories.get",
            "artifactregistry.repositories.create",
            "artifactregistry.repositories.update",
            "artifactregistry.repositories.delete",
            "artifactregistry.repositories.getIamPolicy",
            "artifactregistry.repositories.setIamPolicy",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let client = env.gcp.artifact_registry().await?;
        let name = repository_name(env);
        let Some(repository) = absent_if_not_found(
            retry::call(cx, "read the repository", || client.get_repository().set_name(&name).send()).await,
        )?
        else {
            return Ok(Live::default());
        };
        if !env.owns(&repository.labels) {
            return Err(not_ours("Artifact Registry repository", env.names.repository(), env.names.env()));
        }
        publish(env);
        let member = Account::Nodes.member(env);
        let missing = PolicyOf::Repository(&name).to_change(cx, &[(READER, &member)], true).await?;
        Ok(Live { nodes_can_read: missing.is_empty(), repository: Some(repository) })
    }

    fn diff(&self, env: &Env, live: &Live) -> Diff {
        let Some(repository) = &live.repository else { return Diff::create_all() };
        let mut changes = Vec::new();
        if repository.labels != env.labels() {
            changes.push("labels".to_string());
        }
        if !live.nodes_can_read {
            changes.push(format!("grant {READER} to the node service account"));
        }
        if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
    }

    fn state(&self, live: &Live) -> Option<String> {
        live.repository.as_ref().map(|r| format!("{} MB stored", r.size_bytes / 1_000_000))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let client = env.gcp.artifact_registry().await?;
        let name = repository_name(env);
        let want = Repository::new()
            .set_format(Format::Docker)
            .set_description(env.names.description())
            .set_labels(env.labels());
        let outcome = match &live.repository {
            None => {
                let parent = format!("projects/{}/locations/{}", env.project(), env.config.region);
                let op = retry::call(cx, "create the repository", || {
                    client
                        .create_repository()
                        .set_parent(&parent)
                        .set_repository_id(env.names.repository())
                        .set_repository(want.clone())
                        .send()
                })
                .await?;
                let what = format!("repository {}", env.names.repository());
                ops::lro(cx, &what, patience::REGISTRY, || client.get_operation().set_name(&op.name).send()).await?;
                Outcome::Created
            }
            Some(existing) => {
                if existing.labels != want.labels {
                    let body = want.clone().set_name(&name);
                    retry::call(cx, "label the repository", || {
                        client
                            .update_repository()
                            .set_repository(body.clone())
                            .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["labels"]))
                            .send()
                    })
                    .await?;
                }
                Outcome::Updated
            }
        };
        if !live.nodes_can_read {
            Account::Nodes.ensure(cx).await?;
            let member = Account::Nodes.member(env);
            PolicyOf::Repository(&name).edit(cx, &[(READER, &member)], true).await?;
        }
        publish(env);
        Ok(outcome)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        if self.observe(cx).await?.repository.is_none() {
            return Ok(Outcome::Unchanged);
        }
        let env = &cx.env;
        let client = env.gcp.artifact_registry().await?;
        let name = repository_name(env);
        let Some(op) = absent_if_not_found(
            retry::call(cx, "delete the repository", || client.delete_repository().set_name(&name).send()).await,
        )?
        else {
            return Ok(Outcome::Unchanged);
        };
        let what = format!("deletion of repository {}", env.names.repository());
        ops::lro(cx, &what, patience::REGISTRY, || client.get_operation().set_name(&op.name).send()).await?;
        Ok(Outcome::Deleted)
    }
}

fn publish(env: &Env) {
    env.outputs
        .set("registry", format!("{}-docker.pkg.dev/{}/{}", env.config.region, env.project(), env.names.repository()));
}
