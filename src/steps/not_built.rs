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
