//! Runs the graph: every step starts as soon as what it waits for is done, so a run takes about
//! as long as the critical path. `plan`, `up` and `down` walk the same graph; `down` walks it
//! backwards (dependants first).
//!
//! Failure policy: a failed step stops what waits for it; independent steps finish. Cancellation
//! (Ctrl-C, `--timeout`): nothing new starts; running steps get `grace` to stop at their next wait
//! point, then are abandoned.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{Interrupted, RunShared, StepCx};
use super::events::{Event, PlanEntry};
use super::graph::Graph;
use super::step::{Action, Outcome, Planned, StepId};

/// How one step of a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub id: StepId,
    pub outcome: Outcome,
    pub duration: Duration,
    /// Offset of the start from the start of the run (None: never started).
    pub started_at: Option<Duration>,
    /// Why it failed (with context) or why it was skipped.
    pub message: Option<String>,
}

/// What a run did, in topological order.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub results: Vec<StepResult>,
    pub interrupted: bool,
    pub timed_out: bool,
    pub wall: Duration,
}

impl RunReport {
    pub fn ok(&self) -> bool {
        !self.interrupted
            && !self.timed_out
            && self.results.iter().all(|r| !matches!(r.outcome, Outcome::Failed | Outcome::Skipped))
    }

    /// Steps that did not finish: what a re-run will pick up.
    pub fn left(&self) -> Vec<StepId> {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Skipped)).map(|r| r.id).collect()
    }

    pub fn result(&self, id: StepId) -> Option<&StepResult> {
        self.results.iter().find(|r| r.id == id)
    }
}

/// Run-wide settings of the executor.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `--timeout`: the whole run (already scaled).
    pub timeout: Option<Duration>,
    /// How long running steps get to stop after cancellation before they are abandoned.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { timeout: None, grace: Duration::from_secs(10) }
    }
}

/// Observes and diffs the selected steps (`plan`, and the first half of `up`). Steps whose
/// dependencies will be created are diffed against "absent" when they cannot be observed.
pub async fn plan<E: Send + Sync + 'static>(
    graph: &Graph<E>,
    env: &Arc<E>,
    shared: &Arc<RunShared>,
    selected: &BTreeSet<usize>,
    offline: bool,
) -> (Vec<PlanEntry>, HashMap<usize, Planned>, Vec<(StepId, String)>) {
    type PlanResult = anyhow::Result<Planned>;
    let slots =
        schedule::<PlanResult, _>(graph, selected, Direction::Forward, shared, Limits::default(), |n, preds| {
            let step = graph.step(n).clone();
            let cx = StepCx::new(env.clone(), step.id(), shared.clone());
            // Something this step needs will be created (or could not be read): its own resources
            // cannot be there yet, so failing to observe them means "absent".
            let dependency_missing = preds.iter().any(|(_, p)| match p {
                Slot::Done { value: Ok(p), .. } => p.diff.action == Action::Create,
                _ => true,
            });
            Start::Run(Box::pin(async move {
                if offline {
                    return step.plan(&cx, true).await;
                }
                match step.plan(&cx, false).await {
                    Err(_) if dependency_missing => step.plan(&cx, true).await,
                    other => other,
                }
            }))
        })
        .await;
    let mut slots = slots;
    let mut entries = Vec::new();
    let mut planned = HashMap::new();
    let mut errors = Vec::new();
    for n in graph.topological().into_iter().filter(|n| selected.contains(n)) {
        let step = graph.step(n);
        let depends_on = graph.deps_of(n).iter().map(|&d| graph.step(d).id()).collect();
        let (action, changes, state) = match slots.remove(&n) {
            Some(Slot::Done { value: Ok(p) }) => {
                let entry = (p.diff.action, p.diff.changes.clone(), p.state.clone());
                planned.insert(n, p);
                entry
            }
            Some(Slot::Done { value: Err(e) }) => {
                errors.push((step.id(), format!("{e:#}")));
                (Action::Unknown, vec![format!("could not be read: {e:#}")], None)
            }
            _ => (Action::Unknown, vec!["not planned (interrupted)".to_string()], None),
        };
        entries.push(PlanEntry { id: step.id(), action, depends_on, description: step.describe(env), changes, state });
    }
    (entries, planned, errors)
}

/// Applies the selected steps (`up`), reusing planned observations where still valid.
pub async fn up<E: Send + Sync + 'static>(
    graph: &Graph<E>,
    env: &Arc<E>,
    shared: &Arc<RunShared>,
    selected: &BTreeSet<usize>,
    mut planned: HashMap<usize, Planned>,
    limits: Limits,
) -> RunReport {
    run_steps(graph, env, shared, selected, Direction::Forward, limits, move |n, step, cx, preds| {
        // A planned observation is still true only if nothing it depends on changed since.
        let deps_unchanged = preds.iter().all(|p| p.outcome == Outcome::Unchanged);
        let reuse = planned.remove(&n).filter(|_| deps_unchanged);
        Box::pin(async move { step.up(&cx, reuse).await })
    })
    .await
}

/// Destroys the selected steps (`down`), dependants first.
pub async fn down<E: Send + Sync + 'static>(
    graph: &Graph<E>,
    env: &Arc<E>,
    shared: &Arc<RunShared>,
    selected: &BTreeSet<usize>,
    limits: Limits,
) -> RunReport {
    run_steps(graph, env, shared, selected, Direction::Backward, limits, |_, step, cx, _| {
        Box::pin(async move { step.down(&cx).await })
    })
    .await
}

type StepFuture = BoxFuture<'static, anyhow::Result<Outcome>>;

/// Shared by `up` and `down`: events, timing, failure policy, report.
async fn run_steps<E, F>(
    graph: &Graph<E>,
    env: &Arc<E>,
    shared: &Arc<RunShared>,
    selected: &BTreeSet<usize>,
    direction: Direction,
    limits: Limits,
    mut make: F,
) -> RunReport
where
    E: Send + Sync + 'static,
    F: FnMut(usize, Arc<dyn super::step::DynStep<E>>, StepCx<E>, &[&StepResult]) -> StepFuture,
{
    let run_start = Instant::now();
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = limits.timeout.map(|t| {
        let cancel = shared.cancel.clone();
        let timed_out = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            cancel.cancel();
        })
    });
    let slots = schedule::<StepResult, _>(graph, selected, direction, shared, limits, |n, preds| {
        let step = graph.step(n).clone();
        let id = step.id();
        // Anything before this step that did not succeed blocks it.
        let blocker = preds.iter().find_map(|(p, slot)| match slot {
            Slot::Done { value } if !matches!(value.outcome, Outcome::Failed | Outcome::Skipped) => None,
            _ => Some(graph.step(*p).id()),
        });
        if let Some(blocker) = blocker {
            let reason = match direction {
                Direction::Forward => format!("needs {blocker}, which did not finish"),
                Direction::Backward => format!("{blocker} is still there and needs it"),
            };
            return Start::Skip(reason);
        }
        let preds: Vec<&StepResult> = preds
            .iter()
            .filter_map(|(_, slot)| match slot {
                Slot::Done { value } => Some(value),
                _ => None,
            })
            .collect();
        let cx = StepCx::new(env.clone(), id, shared.clone());
        let future = make(n, step, cx, &preds);
        let shared = shared.clone();
        Start::Run(Box::pin(async move {
            shared.reporter.emit(Event::StepStarted { step: id });
            let started = Instant::now();
            let result = future.await;
            let duration = started.elapsed();
            let (outcome, message) = match result {
                Ok(outcome) => (outcome, None),
                Err(e) if e.is::<Interrupted>() => (Outcome::Failed, Some("interrupted".to_string())),
                Err(e) => (Outcome::Failed, Some(format!("{e:#}"))),
            };
            shared.reporter.emit(Event::StepFinished {
                step: id,
                outcome,
                duration_ms: duration.as_millis() as u64,
                error: message.clone(),
            });
            StepResult { id, outcome, duration, started_at: Some(started.duration_since(run_start)), message }
        }))
    })
    .await;
    if let Some(timer) = timer {
        timer.abort();
    }
    let mut results = Vec::new();
    let order = graph.topological();
    for n in order.into_iter().filter(|n| selected.contains(n)) {
        let id = graph.step(n).id();
        let result = match slots.get(&n) {
            Some(Slot::Done { value }) => value.clone(),
            Some(Slot::Skipped(reason)) => StepResult {
                id,
                outcome: Outcome::Skipped,
                duration: Duration::ZERO,
                started_at: None,
                message: Some(reason.clone()),
            },
            Some(Slot::Abandoned { started }) => StepResult {
                id,
                outcome: Outcome::Failed,
                duration: started.elapsed(),
                started_at: Some(started.duration_since(run_start)),
                message: Some("interrupted; abandoned while running".to_string()),
            },
            _ => StepResult {
                id,
                outcome: Outcome::Skipped,
                duration: Duration::ZERO,
                started_at: None,
                message: Some("not started".to_string()),
            },
        };
        if result.outcome == Outcome::Skipped || matches!(slots.get(&n), Some(Slot::Abandoned { .. })) {
            shared.reporter.emit(Event::StepFinished {
                step: id,
                outcome: result.outcome,
                duration_ms: result.duration.as_millis() as u64,
                error: result.message.clone(),
            });
        }
        results.push(result);
    }
    let timed_out = timed_out.load(std::sync::atomic::Ordering::SeqCst);
    RunReport { results, interrupted: shared.cancel.is_cancelled() && !timed_out, timed_out, wall: run_start.elapsed() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Dependencies first (`plan`, `up`).
    Forward,
    /// Dependants first (`down`).
    Backward,
}

enum Start<T> {
    Run(BoxFuture<'static, T>),
    Skip(String),
}

enum Slot<T> {
    Running { started: Instant },
    Done { value: T },
    Skipped(String),
    Abandoned { started: Instant },
}

/// The scheduling core: starts a node when all its predecessors (in `direction`, within
/// `selected`) are settled, handing `start` their slots; stops starting on cancellation.
async fn schedule<T, F>(
    graph: &Graph<impl Send + Sync + 'static>,
    selected: &BTreeSet<usize>,
    direction: Direction,
    shared: &Arc<RunShared>,
    limits: Limits,
    mut start: F,
) -> HashMap<usize, Slot<T>>
where
    T: Send + 'static,
    F: FnMut(usize, &[(usize, &Slot<T>)]) -> Start<T>,
{
    let preds_of = |n: usize| -> Vec<usize> {
        let edges = match direction {
            Direction::Forward => graph.deps_of(n),
            Direction::Backward => graph.dependants_of(n),
        };
        edges.iter().copied().filter(|p| selected.contains(p)).collect()
    };
    let succs_of = |n: usize| -> Vec<usize> {
        let edges = match direction {
            Direction::Forward => graph.dependants_of(n),
            Direction::Backward => graph.deps_of(n),
        };
        edges.iter().copied().filter(|s| selected.contains(s)).collect()
    };
    let mut remaining: HashMap<usize, usize> = selected.iter().map(|&n| (n, preds_of(n).len())).collect();
    let mut ready: Vec<usize> = graph.topological().into_iter().filter(|n| remaining.get(n) == Some(&0)).collect();
    let mut slots: HashMap<usize, Slot<T>> = HashMap::new();
    let mut tasks: JoinSet<(usize, T)> = JoinSet::new();
    let cancel: CancellationToken = shared.cancel.clone();
    loop {
        while let Some(n) = ready.pop() {
            if cancel.is_cancelled() {
                slots.insert(n, Slot::Skipped("interrupted before it started".to_string()));
            } else {
                let preds = preds_of(n);
                let pred_slots: Vec<(usize, &Slot<T>)> =
                    preds.iter().filter_map(|p| Some((*p, slots.get(p)?))).collect();
                match start(n, &pred_slots) {
                    Start::Run(future) => {
                        slots.insert(n, Slot::Running { started: Instant::now() });
                        tasks.spawn(async move { (n, future.await) });
                        continue;
                    }
                    Start::Skip(reason) => {
                        slots.insert(n, Slot::Skipped(reason));
                    }
                }
            }
            release(&succs_of(n), &mut remaining, &mut ready);
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                if let Some(Ok((n, value))) = joined {
                    slots.insert(n, Slot::Done { value });
                    release(&succs_of(n), &mut remaining, &mut ready);
                }
                // A panicking step would surface here as a JoinError: its slot stays Running and
                // is reported as abandoned below; nothing waits for it.
            }
            _ = cancel.cancelled(), if !ready.is_empty() || !tasks.is_empty() => {
                // Give running steps `grace` to reach a wait point and return Interrupted.
                let deadline = tokio::time::sleep(limits.grace);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        joined = tasks.join_next() => match joined {
                            Some(Ok((n, value))) => { slots.insert(n, Slot::Done { value }); }
                            Some(Err(_)) => {}
                            None => break,
                        },
                        _ = &mut deadline => { tasks.abort_all(); break; }
                    }
                }
                for slot in slots.values_mut() {
                    if let Slot::Running { started } = slot {
                        *slot = Slot::Abandoned { started: *started };
                    }
                }
                break;
            }
        }
    }
    for slot in slots.values_mut() {
        if let Slot::Running { started } = slot {
            *slot = Slot::Abandoned { started: *started };
        }
    }
    slots
}

fn release(succs: &[usize], remaining: &mut HashMap<usize, usize>, ready: &mut Vec<usize>) {
    for &s in succs {
        if let Some(r) = remaining.get_mut(&s) {
            *r -= 1;
            if *r == 0 {
                ready.push(s);
            }
        }
    }
}
