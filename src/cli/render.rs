//! `sdctl render`: every Kubernetes object sdctl would apply, as YAML files, one per step.

use std::path::Path;

use super::{Invocation, RenderArgs};
use crate::exit::{Exit, ExitCode};
use crate::kube::objects::to_yaml;
use crate::steps::{self, RunOptions};

pub async fn run(inv: &Invocation, args: RenderArgs) -> anyhow::Result<ExitCode> {
    if !args.offline {
        return Err(Exit::usage(
            "`sdctl render` needs --offline for now (values only known live become documentation stand-ins from 192.0.2.0/24)",
        )
        .into());
    }
    let config = inv.load_config()?;
    let options = RunOptions { offline: true, ..args.manifests.into_options() };
    let env = inv.env(config, options)?;
    let graph = steps::graph(&env.config)?;
    std::fs::create_dir_all(&args.out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let mut written = 0;
    for (n, i) in graph.topological().into_iter().enumerate() {
        let step = graph.step(i);
        let Some(objects) = step.render(&env).await? else { continue };
        let file = args.out.join(format!("{n:02}-{}.yaml", step.id()));
        write(&file, &to_yaml(&objects)?)?;
        inv.ui.err(&format!("{} ({} objects)", file.display(), objects.len()));
        written += objects.len();
    }
    inv.ui.err(&format!("{written} objects written to {}", args.out.display()));
    Ok(ExitCode::Ok)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
