//! The emulator's shared state: scenario, simulated clock, every service's resources, timers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::google::World;
use crate::k8s::Clusters;
use crate::reqlog::{RequestLog, lock};
use crate::scenario::Scenario;
use crate::validate::Validator;

pub struct App {
    pub clock: Clock,
    scenario: RwLock<Arc<Scenario>>,
    world: Mutex<World>,
    pub log: RequestLog,
    pub clusters: Clusters,
    /// Bumped by reset: timers started before it do nothing when they fire.
    generation: AtomicU64,
    counter: AtomicU64,
    pub validator: Option<Validator>,
    /// Calls answered so far by each scenario fault (same index as `Scenario::faults`).
    fault_calls: Mutex<Vec<u32>>,
    /// Project number -> id, for every project id seen (APIs accept either in resource names).
    known_projects: Mutex<std::collections::BTreeMap<String, String>>,
    /// `http://127.0.0.1:PORT`, once listening (absolute URLs such as resumable upload sessions).
    pub base_url: std::sync::OnceLock<String>,
}

impl App {
    pub fn new(
        clock: Clock,
        scenario: Scenario,
        log: RequestLog,
        validator: Option<Validator>,
        clusters: impl FnOnce(std::sync::Weak<App>) -> Clusters,
    ) -> Arc<Self> {
        Arc::new_cyclic(|weak| Self {
            clock,
            world: Mutex::new(World::new(&scenario)),
            fault_calls: Mutex::new(vec![0; scenario.faults.len()]),
            scenario: RwLock::new(Arc::new(scenario)),
            log,
            clusters: clusters(weak.clone()),
            generation: AtomicU64::new(0),
            counter: AtomicU64::new(0),
            validator,
            known_projects: Mutex::new(Default::default()),
            base_url: std::sync::OnceLock::new(),
        })
    }

    pub fn scenario(&self) -> Arc<Scenario> {
        self.scenario.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the scenario: fault counters restart and the set of disabled APIs is applied again.
    pub fn set_scenario(&self, scenario: Scenario) {
        *lock(&self.fault_calls) = vec![0; scenario.faults.len()];
        self.world().apply_scenario(&scenario);
        *self.scenario.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(scenario);
    }

    /// Forgets every resource, operation, timer and logged request; keeps the scenario.
    pub async fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let scenario = self.scenario();
        *self.world() = World::new(&scenario);
        *lock(&self.fault_calls) = vec![0; scenario.faults.len()];
        self.log.clear();
        self.clusters.reset().await;
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// A number unique within this emulator run.
    pub fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A numeric resource id like Google's (19 digits for compute, uniqueId, ...).
    pub fn numeric_id(&self) -> String {
        (1_234_567_890_123_456_789u64 + self.next() * 7_919).to_string()
    }

    /// A random-looking lowercase hex string of `len` digits (deterministic per run).
    pub fn hex(&self, len: usize) -> String {
        let digest = Sha256::digest(self.next().to_le_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        hex[..len.min(hex.len())].to_string()
    }

    /// A UUID-shaped identifier.
    pub fn uuid(&self) -> String {
        let h = self.hex(32);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// The project number: the scenario's, else the id itself when numeric, else derived from the id.
    pub fn project_number(&self, project: &str) -> String {
        if let Some(number) = &self.scenario().project_number {
            return number.clone();
        }
        if project.chars().all(|c| c.is_ascii_digit()) && !project.is_empty() {
            return project.to_string();
        }
        let digest = Sha256::digest(project.as_bytes());
        let n = u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        (100_000_000_000 + n % 900_000_000_000).to_string()
    }

    /// The project id for an id or a number (a number never seen as an id's stays as it is).
    pub fn project_id(&self, project: &str) -> String {
        let mut known = lock(&self.known_projects);
        if project.chars().all(|c| c.is_ascii_digit()) {
            return known.get(project).cloned().unwrap_or_else(|| project.to_string());
        }
        known.entry(self.project_number(project)).or_insert_with(|| project.to_string());
        project.to_string()
    }

    /// Simulated duration of `method`: the scenario's latency override, else `default_secs`, scaled.
    pub fn latency(&self, method: &str, default_secs: f64) -> Duration {
        let secs = self.scenario().latency.get(method).copied().unwrap_or(default_secs);
        self.clock.secs(secs)
    }

    /// Runs `f` with the world locked after `delay` (real time), unless the emulator was reset meanwhile.
    pub fn after(self: &Arc<Self>, delay: Duration, f: impl FnOnce(&Arc<App>, &mut World) + Send + 'static) {
        let app = self.clone();
        let generation = self.generation.load(Ordering::SeqCst);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if app.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            let mut world = app.world();
            f(&app, &mut world);
        });
    }

    /// Like [`App::after`] for work that must await (starting a cluster's Kubernetes API).
    pub fn after_async<F>(self: &Arc<Self>, delay: Duration, f: impl FnOnce(Arc<App>) -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let app = self.clone();
        let generation = self.generation.load(Ordering::SeqCst);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if app.generation.load(Ordering::SeqCst) == generation {
                f(app).await;
            }
        });
    }

    /// Whether the emulator was reset since `generation` was read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The scenario fault that answers this call, if any (counts the call against its `times`).
    pub fn take_fault(&self, method: &str, path: &str) -> Option<crate::scenario::Fault> {
        let scenario = self.scenario();
        let mut calls = lock(&self.fault_calls);
        for (i, fault) in scenario.faults.iter().enumerate() {
            if fault.method != method || fault.path.as_ref().is_some_and(|p| !path.contains(p.as_str())) {
                continue;
            }
            let used = calls.get(i).copied().unwrap_or_default();
            if fault.times.is_none_or(|times| used < times) {
                if let Some(c) = calls.get_mut(i) {
                    *c += 1;
                }
                return Some(fault.clone());
            }
        }
        None
    }
}
