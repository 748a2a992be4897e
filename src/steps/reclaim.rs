//! `reclaim`: the CronJob that releases idle WebUIs (`sdctl runtime reclaim`) and its RBAC.

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::kube_step::{Live, Manifest, users_on_removed_templates};
use super::values::values;
use crate::kube::Kube;
use crate::kube::templates::render;
use crate::plan::StepCx;

pub struct Reclaim;

#[async_trait]
impl Manifest for Reclaim {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.cronJobs.create",
            "container.cronJobs.update",
            "container.roles.create",
            "container.roleBindings.create",
            // Users still on a removed template (`users_on_removed_templates`).
            "container.thirdPartyObjects.list",
        ]
    }

    async fn may_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        users_on_removed_templates(cx, kube).await
    }

    fn describe(&self, env: &Env) -> String {
        format!("CronJob releasing WebUIs idle for {} minutes (every 5 minutes)", env.config.runtime.idle_minutes)
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        render("reclaim.yaml", &values(env))
    }
}
