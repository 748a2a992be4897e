//! `sdctl up [STEP...]`: preflight, plan, then create or update, concurrently along the graph.
//!
//! Preflight runs first and stops `up` (exit 3) before any mutating request when a check fails.
//! Checks skipped because an API was still disabled run again right after the `apis` step enables
//! it, before any other step starts.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use std::io::IsTerminal;

use super::{Invocation, UpArgs};
use crate::exit::{Exit, ExitCode};
use crate::plan::{self, Collector, Event, Graph, Limits, Planned, Reporter, RunReport, StepCx, StepId};
use crate::preflight::{self, Report};
use crate::steps::{self, Env, RunOptions};

pub async fn run(inv: &Invocation, args: UpArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let options = RunOptions {
        no_wait: args.no_wait,
        yes: inv.global.yes,
        wait_for_certificate: args.wait_for_certificate,
        ..args.manifests.into_options()
    };
    // The graph depends on the config alone: made once, before the question below.
    let graph = steps::graph(&config)?;
    let ids = graph.parse_ids(&args.steps)?;
    let selected = graph.select_with_dependencies(&ids);
    let mut env = inv.env(config.clone(), options.clone())?;
    // Users on a template removed from the config: at a terminal, asked once here rather than
    // refused by each step the change reaches.
    let selected_ids = graph.ids_of(&selected);
    let reaches_users = [steps::FLEET, steps::ROUTER, steps::RECLAIM].iter().any(|s| selected_ids.contains(s));
    if !options.yes && reaches_users && ask_before_stranding_users(inv, &env).await? {
        env = inv.env(config, RunOptions { yes: true, ..options })?;
    }
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let shared = inv.shared(reporter.clone());
    let started = Instant::now();

    let checks = if args.skip_preflight {
        // An explicit cost cap still holds without the other checks.
        let estimate = env.estimate().await;
        let cap = args.max_hourly_cost.map(|cap| preflight::cap_check(&estimate, cap));
        let report = Report { outcomes: cap.into_iter().collect() };
        if !report.ok() {
            reporter.emit(Event::Preflight { checks: report.checks() });
            return Ok(stopped(inv, &*reporter, &graph, &selected, &report, false));
        }
        None
    } else {
        let mut ctx = preflight::Context::new(env.clone(), shared.clone(), &graph, &selected, args.max_hourly_cost);
        // The prices are read beside the checks (the cost cap among them waits for them).
        let (report, _) = tokio::join!(preflight::run(&mut ctx), env.price_book());
        reporter.emit(Event::Preflight { checks: report.checks() });
        if !report.ok() {
            return Ok(stopped(inv, &*reporter, &graph, &selected, &report, false));
        }
        Some(report)
    };

    let (entries, mut planned, _) = plan::plan(&graph, &env, &shared, &selected, false).await;
    reporter.emit(Event::Plan { steps: entries, cost: Some(env.estimate().await.summary()) });

    let report = match checks.filter(|r| !r.deferred().is_empty()) {
        None => plan::up(&graph, &env, &shared, &selected, planned, inv.limits()).await,
        Some(previous) => {
            // The APIs first, then the checks that needed them, then everything else.
            let apis = graph.select_with_dependencies(&[steps::APIS]);
            let apis_planned: HashMap<usize, Planned> =
                apis.iter().filter_map(|n| planned.remove(n).map(|p| (*n, p))).collect();
            let first = plan::up(&graph, &env, &shared, &apis, apis_planned, inv.limits()).await;
            if !first.ok() {
                return Ok(summarize(inv, &*reporter, &env, first));
            }
            let mut ctx = preflight::Context::new(env.clone(), shared.clone(), &graph, &selected, None);
            let again = preflight::rerun(&mut ctx, &previous).await;
            reporter.emit(Event::Preflight { checks: again.checks() });
            let rest: BTreeSet<usize> = selected.difference(&apis).copied().collect();
            if !again.ok() {
                return Ok(stopped(inv, &*reporter, &graph, &rest, &again, true));
            }
            let second = plan::up(&graph, &env, &shared, &rest, planned, remaining(inv, started)).await;
            merge(first, second)
        }
    };
    Ok(summarize(inv, &*reporter, &env, report))
}

/// `--timeout` minus what the run already used.
fn remaining(inv: &Invocation, started: Instant) -> Limits {
    let mut limits = inv.limits();
    limits.timeout = limits.timeout.map(|t| t.saturating_sub(started.elapsed()));
    limits
}

fn merge(first: RunReport, second: RunReport) -> RunReport {
    let mut results = first.results;
    results.extend(second.results);
    RunReport {
        results,
        interrupted: first.interrupted || second.interrupted,
        timed_out: first.timed_out || second.timed_out,
        wall: first.wall + second.wall,
    }
}

fn summarize(inv: &Invocation, reporter: &dyn Reporter, env: &Env, report: RunReport) -> ExitCode {
    reporter.emit(Event::Summary {
        ok: report.ok(),
        outputs: env.outputs.public(),
        left: report.left().iter().map(|s| s.to_string()).collect(),
    });
    finish(inv, &report, "up")
}

/// Preflight failed: nothing (more) is created; the summary lists every step as left; exit 3.
fn stopped(
    inv: &Invocation,
    reporter: &dyn Reporter,
    graph: &Graph<Env>,
    left: &BTreeSet<usize>,
    report: &Report,
    after_apis: bool,
) -> ExitCode {
    let left: Vec<String> = graph.ids_of(left).iter().map(|s| s.to_string()).collect();
    reporter.emit(Event::Summary { ok: false, outputs: Default::default(), left });
    let failed: Vec<&str> = report.failed().iter().map(|c| c.id.as_str()).collect();
    let created =
        if after_apis { "Only the APIs were enabled; nothing else was created" } else { "Nothing was created" };
    inv.ui.err(&format!(
        "preflight failed ({}). {created}. Fix what the checks above say and run `sdctl up` again \
         (`sdctl preflight` re-checks without creating anything; --skip-preflight skips the checks).",
        failed.join(", ")
    ));
    ExitCode::Preflight
}

/// The exit code of a finished run, with the next action for the user on stderr.
pub fn finish(inv: &Invocation, report: &RunReport, command: &str) -> ExitCode {
    if report.ok() {
        return ExitCode::Ok;
    }
    let left: Vec<String> = report.left().iter().map(|s| s.to_string()).collect();
    if report.interrupted {
        inv.ui.err(&format!(
            "interrupted: {} step(s) did not finish ({}). Run `sdctl {command}` again to resume.",
            left.len(),
            left.join(", ")
        ));
        return ExitCode::Interrupted;
    }
    let why = if report.timed_out { "the --timeout expired" } else { "a step failed" };
    inv.ui.err(&format!(
        "{why}: {} step(s) did not finish ({}). Fix the cause shown above and run `sdctl {command}` again: it resumes where it stopped.",
        left.len(),
        left.join(", ")
    ));
    ExitCode::ApplyFailed
}

/// At a terminal: when the change of templates would stop users' instances, says so and asks
/// (no: exit 2, nothing changed). Elsewhere (or when the cluster cannot be read) each step
/// the change reaches refuses it instead, pointing at `-y`.
async fn ask_before_stranding_users(inv: &Invocation, env: &std::sync::Arc<Env>) -> anyhow::Result<bool> {
    if inv.ui.json() || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    let cx = StepCx::new(env.clone(), StepId("up"), inv.shared(std::sync::Arc::new(Collector::default())));
    let Ok(Some(kube)) = steps::connect_if_running(&cx).await else { return Ok(false) };
    let Ok(Some(what)) = steps::stranded_users(env, &kube).await else { return Ok(false) };
    inv.ui.err(&format!("{what}: going on {}.", steps::what_yes_does(env)));
    let yes = dialoguer::Confirm::new().with_prompt("Go on?").default(false).interact().unwrap_or(false);
    if yes {
        Ok(true)
    } else {
        Err(Exit::usage("nothing changed: put the template back, or answer yes (`sdctl up -y` in scripts)").into())
    }
}
