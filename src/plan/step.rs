//! The unit of work: a step that can observe, diff, apply and destroy what it manages.

use std::any::Any;
use std::fmt;

use async_trait::async_trait;
use serde::Serialize;

use super::context::StepCx;

/// A step's id, as `up STEP` takes it and events report it (`cluster`, `gpu-pool`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StepId(pub &'static str);

impl StepId {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What applying a step would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
    /// The live state could not be read (the plan entry says why).
    Unknown,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Delete => "delete",
            Self::Unknown => "unknown",
        })
    }
}

/// The difference between what the config wants and what lives in the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub action: Action,
    /// Human lines: what will be created or which field changes (`gpu.maxNodes: 3 -> 5`).
    pub changes: Vec<String>,
}

impl Diff {
    pub fn create(what: impl Into<String>) -> Self {
        Self { action: Action::Create, changes: vec![what.into()] }
    }

    /// Create everything the step manages (its description says what).
    pub fn create_all() -> Self {
        Self { action: Action::Create, changes: Vec::new() }
    }

    pub fn update(changes: Vec<String>) -> Self {
        Self { action: Action::Update, changes }
    }

    pub fn unchanged() -> Self {
        Self { action: Action::Unchanged, changes: Vec::new() }
    }

    /// Create when anything is missing, update when anything differs, else unchanged.
    pub fn from_parts(missing: Vec<String>, changed: Vec<String>) -> Self {
        match (missing.is_empty(), changed.is_empty()) {
            (true, true) => Self::unchanged(),
            (false, _) => Self { action: Action::Create, changes: missing.into_iter().chain(changed).collect() },
            (true, false) => Self::update(changed),
        }
    }
}

/// How a finished step ended (the `outcome` of `step_finished` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Deleted,
    /// `down --keep-data`: storage and Redis left in place on purpose.
    Kept,
    Failed,
    Skipped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&s)
    }
}

impl Outcome {
    pub fn from_action(action: Action) -> Self {
        match action {
            Action::Create => Self::Created,
            Action::Update => Self::Updated,
            Action::Unchanged => Self::Unchanged,
            Action::Delete => Self::Deleted,
            Action::Unknown => Self::Failed,
        }
    }
}

/// A step of the graph. `E` is what steps share (config, names, API clients, outputs);
/// `Live` is what `observe` reads from the project, with `Default` meaning "nothing exists",
/// which is what `plan --offline` and dependants of not-yet-created steps assume.
#[async_trait]
pub trait Step<E: Send + Sync + 'static>: Send + Sync + 'static {
    type Live: Default + Send + Sync + 'static;

    fn id(&self) -> StepId;

    /// Steps that must be done before this one starts (and deleted after it on `down`).
    fn depends_on(&self) -> Vec<StepId>;

    /// One line naming what the step manages (`GKE cluster sd-demo-gke in us-central1-a`).
    fn describe(&self, env: &E) -> String;

    /// Reads the live state of what the step manages. Read-only.
    async fn observe(&self, cx: &StepCx<E>) -> anyhow::Result<Self::Live>;

    /// Compares the live state with the configuration. Pure.
    fn diff(&self, env: &E, live: &Self::Live) -> Diff;

    /// The live state in a few words for `status` (`RUNNING, 1.35.3-gke.200`); None: nothing to say.
    fn state(&self, _live: &Self::Live) -> Option<String> {
        None
    }

    /// The IAM permissions on the project that `observe`, `apply` and `destroy` need, for
    /// preflight's `testIamPermissions`. Every step of the real graph lists its own (a test checks).
    fn permissions(&self, _env: &E) -> Vec<&'static str> {
        Vec::new()
    }

    /// Makes the live state match the configuration, waiting until it is usable.
    async fn apply(&self, cx: &StepCx<E>, live: Self::Live, diff: &Diff) -> anyhow::Result<Outcome>;

    /// Deletes what the step manages and waits until it is gone (or keeps it, `Outcome::Kept`).
    async fn destroy(&self, cx: &StepCx<E>) -> anyhow::Result<Outcome>;

    /// The Kubernetes objects the step would apply, rendered without a cluster (`sdctl render`);
    /// `None` for steps that manage no Kubernetes objects.
    async fn render(&self, _env: &E) -> anyhow::Result<Option<Vec<serde_json::Value>>> {
        Ok(None)
    }
}

/// A planned step: its diff and, when it could be observed, the live state for `up` to reuse.
pub struct Planned {
    pub diff: Diff,
    /// [`Step::state`] of the observed live state.
    pub state: Option<String>,
    pub live: Option<Box<dyn Any + Send + Sync>>,
}

/// The object-safe form of [`Step`] the executor works with.
#[async_trait]
pub trait DynStep<E: Send + Sync + 'static>: Send + Sync {
    fn id(&self) -> StepId;
    fn depends_on(&self) -> Vec<StepId>;
    fn describe(&self, env: &E) -> String;
    fn permissions(&self, env: &E) -> Vec<&'static str>;
    /// `observe` + `diff`; `assume_absent` skips observing (offline, or a dependency is missing).
    async fn plan(&self, cx: &StepCx<E>, assume_absent: bool) -> anyhow::Result<Planned>;
    /// `observe` (or the planned live state) + `diff` + `apply` when something differs.
    async fn up(&self, cx: &StepCx<E>, planned: Option<Planned>) -> anyhow::Result<Outcome>;
    async fn down(&self, cx: &StepCx<E>) -> anyhow::Result<Outcome>;
    async fn render(&self, env: &E) -> anyhow::Result<Option<Vec<serde_json::Value>>>;
}

#[async_trait]
impl<E: Send + Sync + 'static, S: Step<E>> DynStep<E> for S {
    fn id(&self) -> StepId {
        Step::id(self)
    }

    fn depends_on(&self) -> Vec<StepId> {
        Step::depends_on(self)
    }

    fn describe(&self, env: &E) -> String {
        Step::describe(self, env)
    }

    fn permissions(&self, env: &E) -> Vec<&'static str> {
        Step::permissions(self, env)
    }

    async fn plan(&self, cx: &StepCx<E>, assume_absent: bool) -> anyhow::Result<Planned> {
        if assume_absent {
            let diff = self.diff(&cx.env, &S::Live::default());
            return Ok(Planned { diff, state: None, live: None });
        }
        let live = self.observe(cx).await?;
        let diff = self.diff(&cx.env, &live);
        let state = self.state(&live);
        Ok(Planned { diff, state, live: Some(Box::new(live)) })
    }

    async fn up(&self, cx: &StepCx<E>, planned: Option<Planned>) -> anyhow::Result<Outcome> {
        let reused = planned
            .and_then(|p| p.live.map(|live| (p.diff, live)))
            .and_then(|(diff, live)| live.downcast::<S::Live>().ok().map(|live| (diff, *live)));
        let (diff, live) = match reused {
            Some(planned) => planned,
            None => {
                let live = self.observe(cx).await?;
                (self.diff(&cx.env, &live), live)
            }
        };
        if diff.action == Action::Unchanged {
            return Ok(Outcome::Unchanged);
        }
        for change in &diff.changes {
            cx.progress(format!("{}: {change}", diff.action));
        }
        self.apply(cx, live, &diff).await
    }

    async fn down(&self, cx: &StepCx<E>) -> anyhow::Result<Outcome> {
        match self.destroy(cx).await {
            // An API the project never enabled holds nothing of ours: nothing to delete.
            Err(e) if crate::gcp::ApiError::is_service_disabled(&e) => Ok(Outcome::Unchanged),
            other => other,
        }
    }

    async fn render(&self, env: &E) -> anyhow::Result<Option<Vec<serde_json::Value>>> {
        Step::render(self, env).await
    }
}
