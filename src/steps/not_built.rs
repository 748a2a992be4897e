//! A step whose behaviour is not built yet: it plans as "create" (so `plan` shows the whole
//! graph) and fails with "not implemented yet" when applied, never a silent success.

use std::sync::Arc;

use async_trait::async_trait;

use super::Env;
use crate::plan::{Diff, DynStep, Outcome, Step, StepCx, StepId};

pub struct NotBuilt {
    id: StepId,
    depends_on: Vec<StepId>,
    describe: fn(&Env) -> String,
}

pub fn step(id: StepId, depends_on: Vec<StepId>, describe: fn(&Env) -> String) -> Arc<dyn DynStep<Env>> {
    Arc::new(NotBuilt { id, depends_on, describe })
}

#[async_trait]
impl Step<Env> for NotBuilt {
    type Live = ();

    fn id(&self) -> StepId {
        self.id
    }

    fn depends_on(&self) -> Vec<StepId> {
        self.depends_on.clone()
    }

    fn describe(&self, env: &Env) -> String {
        (self.describe)(env)
    }

    /// What the step will need once built (kept here until its module exists).
    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        planned_permissions(self.id)
    }

    async fn observe(&self, _cx: &StepCx<Env>) -> anyhow::Result<()> {
        anyhow::bail!("step {} is not implemented yet", self.id)
    }

    fn diff(&self, _env: &Env, _live: &()) -> Diff {
        Diff::create_all()
    }

    async fn apply(&self, _cx: &StepCx<Env>, _live: (), _diff: &Diff) -> anyhow::Result<Outcome> {
        anyhow::bail!("step {} is not implemented yet", self.id)
    }

    /// A step that cannot apply never created anything, so there is nothing to delete.
    async fn destroy(&self, _cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        Ok(Outcome::Unchanged)
    }
}

/// The IAM permissions of the steps not built yet, so that preflight checks them already.
/// Kubernetes objects are authorized through GKE's IAM permissions (`container.<kind>.<verb>`).
fn planned_permissions(id: StepId) -> Vec<&'static str> {
    const CLUSTER_ACCESS: [&str; 2] = ["container.clusters.get", "container.clusters.getCredentials"];
    let mut p: Vec<&'static str> = CLUSTER_ACCESS.to_vec();
    match id.as_str() {
        "images" => {
            p = vec![
                "cloudbuild.builds.create",
                "cloudbuild.builds.get",
                // Cloud Build's source bucket.
                "storage.buckets.get",
                "storage.buckets.create",
                "storage.objects.create",
                "storage.objects.get",
                "artifactregistry.dockerimages.get",
                "artifactregistry.dockerimages.list",
            ];
        }
        "agones" => p.extend([
            "container.customResourceDefinitions.create",
            "container.customResourceDefinitions.update",
            "container.namespaces.create",
            "container.serviceAccounts.create",
            "container.clusterRoles.create",
            "container.clusterRoles.bind",
            "container.clusterRoles.escalate",
            "container.clusterRoleBindings.create",
            "container.roles.create",
            "container.roleBindings.create",
            "container.deployments.create",
            "container.deployments.update",
            "container.services.create",
            "container.secrets.create",
            "container.secrets.get",
            "container.mutatingWebhookConfigurations.create",
            "container.validatingWebhookConfigurations.create",
            "container.apiServices.create",
            "container.priorityClasses.create",
        ]),
        "drivers" => p.extend(["container.daemonSets.create", "container.daemonSets.update"]),
        "volumes" => p.extend(["container.persistentVolumes.create", "container.persistentVolumeClaims.create"]),
        "fleet" => p.extend(["container.thirdPartyObjects.create", "container.thirdPartyObjects.update"]),
        "router" => p.extend([
            "container.deployments.create",
            "container.services.create",
            "container.secrets.create",
            "container.serviceAccounts.create",
            "container.roles.create",
            "container.roleBindings.create",
            "redis.instances.getAuthString",
        ]),
        "reclaim" => p.extend(["container.cronJobs.create", "container.cronJobs.update"]),
        "ingress" => p.extend([
            "container.ingresses.create",
            "container.backendConfigs.create",
            "container.thirdPartyObjects.create",
            "compute.backendServices.get",
            "iap.webServices.getIamPolicy",
            "iap.webServices.setIamPolicy",
        ]),
        _ => {}
    }
    p
}
