//! The executor with test steps: concurrency, ordering, failure policy, cancellation, timeouts,
//! the per-cluster lock, sub-graphs and cycles.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sdctl::plan::{
    self, Action, ClusterLocks, Collector, Diff, DynStep, Event, Graph, GraphError, Limits, Outcome, RunShared, Step,
    StepCx, StepId, TimeScale,
};
use tokio_util::sync::CancellationToken;

/// What the test steps share: a log of (step, start, end) intervals.
#[derive(Default)]
struct Log(Mutex<Vec<(StepId, Instant, Instant)>>);

impl Log {
    fn interval(&self, id: &str) -> (Instant, Instant) {
        let log = self.0.lock().unwrap();
        let (_, s, e) = log.iter().find(|(s, _, _)| s.as_str() == id).unwrap_or_else(|| panic!("{id} never ran"));
        (*s, *e)
    }

    fn ran(&self, id: &str) -> bool {
        self.0.lock().unwrap().iter().any(|(s, _, _)| s.as_str() == id)
    }
}

struct TestStep {
    id: StepId,
    deps: Vec<StepId>,
    work: Duration,
    fail: bool,
    cluster: Option<&'static str>,
    exists: bool,
}

fn step(id: &'static str, deps: &[&'static str]) -> TestStep {
    TestStep {
        id: StepId(id),
        deps: deps.iter().map(|d| StepId(d)).collect(),
        work: Duration::from_millis(150),
        fail: false,
        cluster: None,
        exists: false,
    }
}

impl TestStep {
    fn work(mut self, ms: u64) -> Self {
        self.work = Duration::from_millis(ms);
        self
    }
    fn failing(mut self) -> Self {
        self.fail = true;
        self
    }
    fn on_cluster(mut self, c: &'static str) -> Self {
        self.cluster = Some(c);
        self
    }
    fn existing(mut self) -> Self {
        self.exists = true;
        self
    }
    fn boxed(self) -> Arc<dyn DynStep<Log>> {
        Arc::new(self)
    }

    async fn work_on(&self, cx: &StepCx<Log>) -> anyhow::Result<()> {
        let _guard = match self.cluster {
            Some(c) => Some(cx.lock_cluster(c).await),
            None => None,
        };
        let start = Instant::now();
        cx.progress("working");
        let slept = cx.sleep(self.work).await;
        cx.env.0.lock().unwrap().push((self.id, start, Instant::now()));
        slept?;
        if self.fail {
            anyhow::bail!("{} broke", self.id);
        }
        Ok(())
    }
}

#[async_trait]
impl Step<Log> for TestStep {
    type Live = bool;

    fn id(&self) -> StepId {
        self.id
    }
    fn depends_on(&self) -> Vec<StepId> {
        self.deps.clone()
    }
    fn describe(&self, _: &Log) -> String {
        format!("test step {}", self.id)
    }
    async fn observe(&self, _: &StepCx<Log>) -> anyhow::Result<bool> {
        Ok(self.exists)
    }
    fn diff(&self, _: &Log, live: &bool) -> Diff {
        if *live { Diff::unchanged() } else { Diff::create_all() }
    }
    async fn apply(&self, cx: &StepCx<Log>, _: bool, _: &Diff) -> anyhow::Result<Outcome> {
        self.work_on(cx).await?;
        Ok(Outcome::Created)
    }
    async fn destroy(&self, cx: &StepCx<Log>) -> anyhow::Result<Outcome> {
        self.work_on(cx).await?;
        Ok(Outcome::Deleted)
    }
}

struct Run {
    graph: Graph<Log>,
    env: Arc<Log>,
    shared: Arc<RunShared>,
    events: Arc<Collector>,
}

fn run_of(steps: Vec<Arc<dyn DynStep<Log>>>) -> Run {
    let events = Arc::new(Collector::default());
    Run {
        graph: Graph::new(steps).expect("valid graph"),
        env: Arc::new(Log::default()),
        shared: Arc::new(RunShared {
            reporter: events.clone(),
            cancel: CancellationToken::new(),
            time: TimeScale::REAL,
            locks: ClusterLocks::default(),
        }),
        events,
    }
}

impl Run {
    async fn up(&self, limits: Limits) -> plan::RunReport {
        let all = self.graph.select_with_dependencies(&[]);
        self.up_selected(&all, limits).await
    }

    async fn up_selected(&self, selected: &BTreeSet<usize>, limits: Limits) -> plan::RunReport {
        let (_, planned, _) = plan::plan(&self.graph, &self.env, &self.shared, selected, false).await;
        plan::up(&self.graph, &self.env, &self.shared, selected, planned, limits).await
    }

    fn outcome(report: &plan::RunReport, id: &'static str) -> Outcome {
        report.result(StepId(id)).map(|r| r.outcome).unwrap_or_else(|| panic!("no result for {id}"))
    }
}

#[tokio::test]
async fn independent_steps_overlap_in_time() {
    let run = run_of(vec![step("a", &[]).work(300).boxed(), step("b", &[]).work(300).boxed()]);
    let started = Instant::now();
    let report = run.up(Limits::default()).await;
    assert!(report.ok(), "{report:?}");
    let (a0, a1) = run.env.interval("a");
    let (b0, b1) = run.env.interval("b");
    assert!(a0 < b1 && b0 < a1, "a and b did not overlap");
    assert!(started.elapsed() < Duration::from_millis(550), "ran one after the other: {:?}", started.elapsed());
}

#[tokio::test]
async fn dependants_wait_for_their_dependencies() {
    let run = run_of(vec![
        step("c", &["a", "b"]).boxed(),
        step("a", &[]).work(100).boxed(),
        step("b", &[]).work(250).boxed(),
    ]);
    let report = run.up(Limits::default()).await;
    assert!(report.ok());
    let (c0, _) = run.env.interval("c");
    assert!(
        c0 >= run.env.interval("a").1 && c0 >= run.env.interval("b").1,
        "c started before its dependencies finished"
    );
    // c starts as soon as b (the slower one) is done, not after some fixed wave.
    assert!(c0.duration_since(run.env.interval("b").1) < Duration::from_millis(100));
}

#[tokio::test]
async fn a_failing_step_stops_only_its_dependants() {
    let run = run_of(vec![
        step("a", &[]).failing().boxed(),
        step("b", &[]).work(200).boxed(),
        step("c", &["a"]).boxed(),
        step("d", &["c", "b"]).boxed(),
        step("e", &["b"]).boxed(),
    ]);
    let report = run.up(Limits::default()).await;
    assert!(!report.ok());
    assert_eq!(Run::outcome(&report, "a"), Outcome::Failed);
    assert_eq!(Run::outcome(&report, "b"), Outcome::Created);
    assert_eq!(Run::outcome(&report, "e"), Outcome::Created);
    assert_eq!(Run::outcome(&report, "c"), Outcome::Skipped);
    assert_eq!(Run::outcome(&report, "d"), Outcome::Skipped);
    assert!(!run.env.ran("c") && !run.env.ran("d"));
    let a = report.result(StepId("a")).unwrap();
    assert_eq!(a.message.as_deref(), Some("a broke"));
    let c = report.result(StepId("c")).unwrap();
    assert_eq!(c.message.as_deref(), Some("needs a, which did not finish"));
    let left: Vec<&str> = report.left().iter().map(|s| s.as_str()).collect();
    assert_eq!(left, ["a", "c", "d"]);
    // Every selected step reports exactly one step_finished event.
    let finished: Vec<String> = run
        .events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepFinished { step, .. } => Some(step.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 5, "{finished:?}");
}

#[tokio::test]
async fn cancellation_stops_running_steps_and_starts_nothing_new() {
    let run = run_of(vec![
        step("slow", &[]).work(10_000).boxed(),
        step("quick", &[]).work(10).boxed(),
        step("after", &["slow"]).boxed(),
    ]);
    let cancel = run.shared.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let report = run.up(Limits::default()).await;
    assert!(started.elapsed() < Duration::from_secs(2), "cancellation did not stop the slow step");
    assert!(report.interrupted && !report.ok());
    assert_eq!(Run::outcome(&report, "quick"), Outcome::Created);
    let slow = report.result(StepId("slow")).unwrap();
    assert_eq!((slow.outcome, slow.message.as_deref()), (Outcome::Failed, Some("interrupted")));
    assert_eq!(Run::outcome(&report, "after"), Outcome::Skipped);
    assert!(!run.env.ran("after"));
}

#[tokio::test]
async fn steps_that_ignore_cancellation_are_abandoned_after_the_grace_period() {
    struct Stubborn;
    #[async_trait]
    impl Step<Log> for Stubborn {
        type Live = ();
        fn id(&self) -> StepId {
            StepId("stubborn")
        }
        fn depends_on(&self) -> Vec<StepId> {
            vec![]
        }
        fn describe(&self, _: &Log) -> String {
            "ignores cancellation".into()
        }
        async fn observe(&self, _: &StepCx<Log>) -> anyhow::Result<()> {
            Ok(())
        }
        fn diff(&self, _: &Log, _: &()) -> Diff {
            Diff::create_all()
        }
        async fn apply(&self, _: &StepCx<Log>, _: (), _: &Diff) -> anyhow::Result<Outcome> {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Outcome::Created)
        }
        async fn destroy(&self, _: &StepCx<Log>) -> anyhow::Result<Outcome> {
            Ok(Outcome::Deleted)
        }
    }
    let run = run_of(vec![Arc::new(Stubborn)]);
    run.shared.cancel.clone().cancel();
    let run2 = run_of(vec![Arc::new(Stubborn)]);
    let cancel = run2.shared.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let report = run2.up(Limits { timeout: None, grace: Duration::from_millis(200) }).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let r = report.result(StepId("stubborn")).unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.message.as_deref().unwrap().contains("abandoned"), "{r:?}");
    // Cancelled before anything started: nothing runs at all.
    let report = run.up(Limits::default()).await;
    assert_eq!(Run::outcome(&report, "stubborn"), Outcome::Skipped);
}

#[tokio::test]
async fn the_timeout_bounds_the_whole_run() {
    let run = run_of(vec![step("a", &[]).work(50).boxed(), step("b", &["a"]).work(10_000).boxed()]);
    let report = run.up(Limits { timeout: Some(Duration::from_millis(300)), grace: Duration::from_secs(1) }).await;
    assert!(report.timed_out && !report.interrupted && !report.ok());
    assert_eq!(Run::outcome(&report, "a"), Outcome::Created);
    assert_eq!(Run::outcome(&report, "b"), Outcome::Failed);
    assert!(report.wall < Duration::from_secs(2));
}

#[tokio::test]
async fn the_cluster_lock_serializes_mutations_of_one_cluster() {
    let run = run_of(vec![
        step("pool-a", &[]).work(200).on_cluster("c1").boxed(),
        step("pool-b", &[]).work(200).on_cluster("c1").boxed(),
        step("other", &[]).work(200).on_cluster("c2").boxed(),
    ]);
    assert!(run.up(Limits::default()).await.ok());
    let (a0, a1) = run.env.interval("pool-a");
    let (b0, b1) = run.env.interval("pool-b");
    assert!(a1 <= b0 || b1 <= a0, "two mutations of cluster c1 overlapped");
    let (o0, o1) = run.env.interval("other");
    let first = if a0 < b0 { (a0, a1) } else { (b0, b1) };
    assert!(o0 < first.1 && first.0 < o1, "a different cluster was needlessly serialized");
}

#[tokio::test]
async fn down_runs_the_graph_in_reverse() {
    let run = run_of(vec![
        step("cluster", &[]).work(50).boxed(),
        step("pool", &["cluster"]).work(50).boxed(),
        step("fleet", &["pool"]).work(50).boxed(),
        step("address", &[]).work(50).boxed(),
    ]);
    let all = run.graph.select_with_dependants(&[]);
    let report = plan::down(&run.graph, &run.env, &run.shared, &all, Limits::default()).await;
    assert!(report.ok());
    assert!(run.env.interval("fleet").1 <= run.env.interval("pool").0);
    assert!(run.env.interval("pool").1 <= run.env.interval("cluster").0);
    assert_eq!(Run::outcome(&report, "address"), Outcome::Deleted);
}

#[tokio::test]
async fn a_failed_deletion_keeps_what_it_needs() {
    let run = run_of(vec![step("cluster", &[]).boxed(), step("pool", &["cluster"]).failing().boxed()]);
    let all = run.graph.select_with_dependants(&[]);
    let report = plan::down(&run.graph, &run.env, &run.shared, &all, Limits::default()).await;
    assert_eq!(Run::outcome(&report, "pool"), Outcome::Failed);
    let cluster = report.result(StepId("cluster")).unwrap();
    assert_eq!(cluster.outcome, Outcome::Skipped);
    assert_eq!(cluster.message.as_deref(), Some("pool is still there and needs it"));
}

#[tokio::test]
async fn sub_graphs_follow_dependencies_up_and_dependants_down() {
    let run = run_of(vec![
        step("apis", &[]).boxed(),
        step("cluster", &["apis"]).boxed(),
        step("pool", &["cluster"]).boxed(),
        step("redis", &["apis"]).boxed(),
    ]);
    let names = |set: &BTreeSet<usize>| -> Vec<StepId> {
        let ids = run.graph.ids();
        set.iter().map(|&i| ids[i]).collect()
    };
    let ids = run.graph.parse_ids(&["pool".to_string()]).unwrap();
    assert_eq!(names(&run.graph.select_with_dependencies(&ids)), [StepId("apis"), StepId("cluster"), StepId("pool")]);
    let ids = run.graph.parse_ids(&["cluster".to_string()]).unwrap();
    assert_eq!(names(&run.graph.select_with_dependants(&ids)), [StepId("cluster"), StepId("pool")]);
    match run.graph.parse_ids(&["gpu".to_string()]) {
        Err(GraphError::UnknownStep { given, valid }) => {
            assert_eq!(given, "gpu");
            assert_eq!(valid, ["apis", "cluster", "pool", "redis"]);
        }
        other => panic!("expected an unknown-step error, got {other:?}"),
    }
    // `up pool` runs pool and what it needs, nothing else.
    let selected = run.graph.select_with_dependencies(&run.graph.parse_ids(&["pool".into()]).unwrap());
    let report = run.up_selected(&selected, Limits::default()).await;
    assert!(report.ok());
    assert!(run.env.ran("apis") && run.env.ran("pool") && !run.env.ran("redis"));
}

#[test]
fn cycles_and_unknown_dependencies_are_refused_when_the_graph_is_built() {
    let err = Graph::new(vec![step("a", &["c"]).boxed(), step("b", &["a"]).boxed(), step("c", &["b"]).boxed()])
        .err()
        .expect("a cycle");
    let GraphError::Cycle(path) = &err else { panic!("{err}") };
    assert_eq!(path.first(), path.last());
    assert_eq!(path.len(), 4);
    assert!(err.to_string().starts_with("steps depend on each other in a cycle: "), "{err}");
    let err = Graph::new(vec![step("a", &["ghost"]).boxed()]).err().unwrap();
    assert_eq!(err, GraphError::UnknownDependency { step: StepId("a"), missing: StepId("ghost") });
    let err = Graph::new(vec![step("a", &[]).boxed(), step("a", &[]).boxed()]).err().unwrap();
    assert_eq!(err, GraphError::Duplicate(StepId("a")));
}

#[tokio::test]
async fn plan_assumes_absence_below_steps_that_will_be_created_and_up_reuses_observations() {
    let run = run_of(vec![
        step("apis", &[]).existing().boxed(),
        step("cluster", &["apis"]).boxed(),
        step("pool", &["cluster"]).existing().boxed(),
    ]);
    let all = run.graph.select_with_dependencies(&[]);
    let (entries, _, errors) = plan::plan(&run.graph, &run.env, &run.shared, &all, false).await;
    assert!(errors.is_empty());
    let actions: Vec<(&str, Action)> = entries.iter().map(|e| (e.id.as_str(), e.action)).collect();
    assert_eq!(actions, [("apis", Action::Unchanged), ("cluster", Action::Create), ("pool", Action::Unchanged)]);
    assert_eq!(entries[2].depends_on, [StepId("cluster")]);
    let report = run.up(Limits::default()).await;
    assert_eq!(Run::outcome(&report, "apis"), Outcome::Unchanged);
    assert_eq!(Run::outcome(&report, "cluster"), Outcome::Created);
    assert!(!run.env.ran("apis"), "an unchanged step must not apply");
    // Offline: everything is assumed absent, nothing observed.
    let (entries, _, _) = plan::plan(&run.graph, &run.env, &run.shared, &all, true).await;
    assert!(entries.iter().all(|e| e.action == Action::Create));
}
