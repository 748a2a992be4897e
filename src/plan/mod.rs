//! The resource graph: the `Step` trait, the DAG, the concurrent executor and its events.
//! `plan`, `up` and `down` walk this one graph, so the plan cannot drift from what `up` does.

mod context;
mod events;
mod executor;
mod graph;
mod step;

pub use context::{ClusterLocks, Interrupted, RunShared, StepCx, TimeScale};
pub use events::{Check, CheckStatus, Collector, Event, PlanEntry, Reporter};
pub use executor::{Limits, RunReport, StepResult, down, plan, up};
pub use graph::{Graph, GraphError};
pub use step::{Action, Diff, DynStep, Outcome, Planned, Step, StepId};
