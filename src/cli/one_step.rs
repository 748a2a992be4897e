//! Commands that run one step's work outside a plan (`build`, `image-cache`): the same events
//! as `up` gives that step (started, finished with its outcome, the summary), so `-o json`
//! consumers read them alike.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::Invocation;
use crate::plan::{Event, Outcome, StepCx, StepId};
use crate::steps::Env;

/// Runs `work` as step `step`. `work` answers its result and whether it made something; an error
/// is reported in the step's events and given back.
pub async fn run<T, F, Fut>(inv: &Invocation, env: &Arc<Env>, step: StepId, work: F) -> anyhow::Result<T>
where
    F: FnOnce(StepCx<Env>) -> Fut,
    Fut: Future<Output = anyhow::Result<(T, bool)>>,
{
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let cx = StepCx::new(env.clone(), step, inv.shared(reporter.clone()));
    let started = Instant::now();
    reporter.emit(Event::StepStarted { step });
    let result = work(cx).await;
    let outcome = match &result {
        Err(_) => Outcome::Failed,
        Ok((_, true)) => Outcome::Created,
        Ok((_, false)) => Outcome::Unchanged,
    };
    reporter.emit(Event::StepFinished {
        step,
        outcome,
        duration_ms: started.elapsed().as_millis() as u64,
        error: result.as_ref().err().map(|e| format!("{e:#}")),
    });
    reporter.emit(Event::Summary { ok: result.is_ok(), outputs: env.outputs.public(), left: Vec::new() });
    result.map(|(value, _)| value)
}
