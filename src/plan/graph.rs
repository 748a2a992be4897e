//! The step graph: a DAG checked when it is built (unknown dependencies, duplicates, cycles),
//! with the sub-graphs `up STEP...` and `down STEP...` run.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::step::{DynStep, StepId};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("step {0} is defined twice")]
    Duplicate(StepId),
    #[error("step {step} depends on {missing}, which is not part of this configuration")]
    UnknownDependency { step: StepId, missing: StepId },
    #[error("steps depend on each other in a cycle: {}", .0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<StepId>),
    #[error("unknown step {given:?}; steps of this configuration: {}", .valid.join(", "))]
    UnknownStep { given: String, valid: Vec<&'static str> },
}

pub struct Graph<E: Send + Sync + 'static> {
    steps: Vec<Arc<dyn DynStep<E>>>,
    index: HashMap<StepId, usize>,
    deps: Vec<Vec<usize>>,
    dependants: Vec<Vec<usize>>,
}

impl<E: Send + Sync + 'static> Graph<E> {
    pub fn new(steps: Vec<Arc<dyn DynStep<E>>>) -> Result<Self, GraphError> {
        let mut index = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            if index.insert(s.id(), i).is_some() {
                return Err(GraphError::Duplicate(s.id()));
            }
        }
        let mut deps = vec![Vec::new(); steps.len()];
        let mut dependants = vec![Vec::new(); steps.len()];
        for (i, s) in steps.iter().enumerate() {
            for d in s.depends_on() {
                let &j = index.get(&d).ok_or(GraphError::UnknownDependency { step: s.id(), missing: d })?;
                deps[i].push(j);
                dependants[j].push(i);
            }
        }
        let graph = Self { steps, index, deps, dependants };
        graph.check_acyclic()?;
        Ok(graph)
    }

    /// Depth-first search with colours; a grey node reached again closes a cycle.
    fn check_acyclic(&self) -> Result<(), GraphError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            White,
            Grey,
            Black,
        }
        fn visit(g: &[Vec<usize>], n: usize, colour: &mut [Colour], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
            colour[n] = Colour::Grey;
            stack.push(n);
            for &d in &g[n] {
                match colour[d] {
                    Colour::Grey => {
                        let start = stack.iter().position(|&x| x == d).unwrap_or(0);
                        let mut cycle = stack[start..].to_vec();
                        cycle.push(d);
                        return Some(cycle);
                    }
                    Colour::White => {
                        if let Some(c) = visit(g, d, colour, stack) {
                            return Some(c);
                        }
                    }
                    Colour::Black => {}
                }
            }
            stack.pop();
            colour[n] = Colour::Black;
            None
        }
        let mut colour = vec![Colour::White; self.steps.len()];
        for n in 0..self.steps.len() {
            if colour[n] == Colour::White
                && let Some(cycle) = visit(&self.deps, n, &mut colour, &mut Vec::new())
            {
                return Err(GraphError::Cycle(cycle.into_iter().map(|i| self.steps[i].id()).collect()));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn ids(&self) -> Vec<StepId> {
        self.steps.iter().map(|s| s.id()).collect()
    }

    pub(crate) fn step(&self, i: usize) -> &Arc<dyn DynStep<E>> {
        &self.steps[i]
    }

    pub(crate) fn deps_of(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    pub(crate) fn dependants_of(&self, i: usize) -> &[usize] {
        &self.dependants[i]
    }

    pub fn depends_on(&self, id: StepId) -> Vec<StepId> {
        self.index.get(&id).map(|&i| self.deps[i].iter().map(|&d| self.steps[d].id()).collect()).unwrap_or_default()
    }

    /// The ids of `selected`, in topological order.
    pub fn ids_of(&self, selected: &BTreeSet<usize>) -> Vec<StepId> {
        self.topological().into_iter().filter(|n| selected.contains(n)).map(|n| self.steps[n].id()).collect()
    }

    /// The IAM permissions each selected step needs (preflight), in topological order.
    pub fn permissions(&self, env: &E, selected: &BTreeSet<usize>) -> Vec<(StepId, Vec<&'static str>)> {
        self.topological()
            .into_iter()
            .filter(|n| selected.contains(n))
            .map(|n| (self.steps[n].id(), self.steps[n].permissions(env)))
            .collect()
    }

    /// Resolves step names given on the command line.
    pub fn parse_ids(&self, names: &[String]) -> Result<Vec<StepId>, GraphError> {
        names
            .iter()
            .map(|n| {
                self.steps.iter().map(|s| s.id()).find(|id| id.as_str() == n).ok_or_else(|| GraphError::UnknownStep {
                    given: n.clone(),
                    valid: self.steps.iter().map(|s| s.id().as_str()).collect(),
                })
            })
            .collect()
    }

    /// `up STEP...`: the named steps and everything they depend on. Empty: every step.
    pub fn select_with_dependencies(&self, ids: &[StepId]) -> BTreeSet<usize> {
        self.closure(ids, &self.deps)
    }

    /// `down STEP...`: the named steps and everything that depends on them. Empty: every step.
    pub fn select_with_dependants(&self, ids: &[StepId]) -> BTreeSet<usize> {
        self.closure(ids, &self.dependants)
    }

    fn closure(&self, ids: &[StepId], edges: &[Vec<usize>]) -> BTreeSet<usize> {
        if ids.is_empty() {
            return (0..self.steps.len()).collect();
        }
        let mut seen = BTreeSet::new();
        let mut todo: Vec<usize> = ids.iter().filter_map(|id| self.index.get(id).copied()).collect();
        while let Some(n) = todo.pop() {
            if seen.insert(n) {
                todo.extend(edges[n].iter().copied());
            }
        }
        seen
    }

    /// Steps in an order where each comes after its dependencies (stable: definition order).
    pub fn topological(&self) -> Vec<usize> {
        let mut remaining: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut order = Vec::with_capacity(self.steps.len());
        let mut ready: Vec<usize> = (0..self.steps.len()).filter(|&i| remaining[i] == 0).rev().collect();
        while let Some(n) = ready.pop() {
            order.push(n);
            let mut next: Vec<usize> = Vec::new();
            for &d in &self.dependants[n] {
                remaining[d] -= 1;
                if remaining[d] == 0 {
                    next.push(d);
                }
            }
            next.sort_unstable_by(|a, b| b.cmp(a));
            ready.extend(next);
            ready.sort_unstable_by(|a, b| b.cmp(a));
        }
        order
    }
}
