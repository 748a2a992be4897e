//! A step this sdctl cannot do yet for the configuration (design.md: such a step fails with "not
//! implemented yet", never a silent success). It plans as a create, so `plan` shows it, creates
//! nothing, and has nothing to delete.

use async_trait::async_trait;

use super::Env;
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct NotBuilt {
    pub id: StepId,
    pub depends_on: Vec<StepId>,
    /// What the step would manage, e.g. "WebUI GameServerSets per template".
    pub what: &'static str,
    /// The configuration that asks for it, e.g. "runtime.kind: okg".
    pub because: &'static str,
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

    fn describe(&self, _env: &Env) -> String {
        format!("{} (not implemented yet with {})", self.what, self.because)
    }

    async fn observe(&self, _cx: &StepCx<Env>) -> anyhow::Result<()> {
        Ok(())
    }

    fn diff(&self, _env: &Env, _live: &()) -> Diff {
        Diff::create_all()
    }

    async fn apply(&self, _cx: &StepCx<Env>, _live: (), _diff: &Diff) -> anyhow::Result<Outcome> {
        anyhow::bail!(
            "{}: not implemented yet with {} in this sdctl (what the steps before it made stays until `sdctl down`)",
            self.what,
            self.because
        )
    }

    async fn destroy(&self, _cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        Ok(Outcome::Unchanged)
    }
}
