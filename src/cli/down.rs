//! `sdctl down [STEP...]`: delete in reverse dependency order, waiting for each deletion, then
//! (for a full teardown) sweep for anything left and report it.

use std::io::IsTerminal;

use super::{DownArgs, Invocation};
use crate::config::Storage;
use crate::exit::{Exit, ExitCode};
use crate::gcp::storage::StorageClient;
use crate::plan::{self, Event, StepCx, StepId};
use crate::steps::{self, Env, RunOptions, sweep};
use crate::ui::Paint;

pub async fn run(inv: &Invocation, args: DownArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let graph = steps::graph(&config)?;
    let ids = graph.parse_ids(&args.steps)?;
    let selected = graph.select_with_dependants(&ids);
    let options = RunOptions {
        keep_data: args.keep_data,
        deleting_cluster: graph.ids_of(&selected).contains(&steps::CLUSTER),
        ..args.manifests.into_options()
    };
    let env = inv.env(config, options)?;
    let doomed: Vec<String> = graph
        .topological()
        .into_iter()
        .filter(|n| selected.contains(n))
        .map(|n| graph.step(n).describe(&env))
        .collect();
    confirm(inv, &env, &doomed, args.keep_data).await?;
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let shared = inv.shared(reporter.clone());
    let report = plan::down(&graph, &env, &shared, &selected, inv.limits()).await;
    // A partial teardown leaves the rest on purpose: only a full one is swept.
    let swept = if ids.is_empty() && !report.interrupted {
        let cx = StepCx::new(env.clone(), StepId("sweep"), shared.clone());
        sweep::leftovers(&cx)
            .await
            .map_err(|e| format!("cannot check what is left of environment {}: {e:#}", env.config.name))
    } else {
        Ok(Vec::new())
    };
    let leftovers = swept.as_ref().cloned().unwrap_or_default();
    let leaked: Vec<&sweep::Leftover> = leftovers.iter().filter(|l| l.billable && !l.kept).collect();
    let mut left: Vec<String> = report.left().iter().map(|s| s.to_string()).collect();
    left.extend(leftovers.iter().map(|l| l.to_string()));
    if let Err(unknown) = &swept {
        left.push(format!("unknown: {unknown}"));
    }
    reporter.emit(Event::Summary {
        ok: report.ok() && leaked.is_empty() && swept.is_ok(),
        outputs: Default::default(),
        left,
    });
    if !report.ok() {
        return Ok(super::up::finish(inv, &report, "down"));
    }
    // Not knowing what is left is not a clean teardown.
    if let Err(unknown) = swept {
        inv.ui.err(&format!(
            "{unknown}\n  fix: run `sdctl down` again, or look for resources labelled sdctl-env={} in the console",
            env.config.name
        ));
        return Ok(ExitCode::Leftovers);
    }
    if !leftovers.is_empty() && !inv.ui.json() {
        inv.ui.err(&inv.ui.paint("Still there:", Paint::Bold));
        for l in &leftovers {
            inv.ui.err(&format!("  {l}"));
        }
    }
    if !leaked.is_empty() {
        inv.ui.err(&format!(
            "{} billable resource(s) remain (listed above): run `sdctl down` again, or delete them in the console",
            leaked.len()
        ));
        return Ok(ExitCode::Leftovers);
    }
    Ok(ExitCode::Ok)
}

/// Says what will be destroyed and asks, unless `-y`. Without a terminal and `-y`: exit 2.
async fn confirm(
    inv: &Invocation,
    env: &std::sync::Arc<Env>,
    doomed: &[String],
    keep_data: bool,
) -> anyhow::Result<()> {
    if inv.global.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Exit::usage(
            "`sdctl down` deletes resources and needs confirmation: run it in a terminal, or pass -y",
        )
        .into());
    }
    let mut text = format!("This deletes environment {} in project {}:\n", env.config.name, env.config.project);
    for d in doomed {
        text.push_str(&format!("  - {d}\n"));
    }
    if !keep_data {
        let data = match &env.config.storage {
            Storage::Filestore(f) => format!("everything on Filestore share {} (models and user outputs)", f.share),
            Storage::Gcs(g) => {
                let bucket = steps::bucket_name(&env.names, g);
                match StorageClient::new(&env.gcp).list_objects(&bucket, "").await {
                    Ok(objects) => format!("{} object(s) in gs://{bucket} (models and user outputs)", objects.len()),
                    Err(_) => format!("the objects in gs://{bucket} (models and user outputs)"),
                }
            }
        };
        let disks = if env.config.runtime.kind == crate::config::RuntimeKind::Okg {
            ", and every user's own disk (with their files)"
        } else {
            ""
        };
        text.push_str(&format!("Data destroyed: {data}{disks}. Keep it with --keep-data.\n"));
    }
    inv.ui.err(text.trim_end());
    let yes = dialoguer::Confirm::new().with_prompt("Delete?").default(false).interact().unwrap_or(false);
    if yes { Ok(()) } else { Err(Exit::usage("nothing deleted").into()) }
}
