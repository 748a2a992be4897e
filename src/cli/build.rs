//! `sdctl build [webui|runtime]`: build images with Cloud Build now (the `images` step of `up`
//! does the same when an image is missing).

use std::time::Instant;

use super::{BuildArgs, Invocation};
use crate::exit::ExitCode;
use crate::images::{ImageKind, build};
use crate::plan::{Event, Outcome, StepCx};
use crate::steps::{IMAGES, RunOptions};

pub async fn run(inv: &Invocation, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    inv.watch_ctrl_c();
    let reporter = inv.ui.reporter();
    let shared = inv.shared(reporter.clone());
    let cx = StepCx::new(env.clone(), IMAGES, shared);
    let kinds = match args.image {
        Some(kind) => vec![kind],
        None => ImageKind::ALL.to_vec(),
    };
    let started = Instant::now();
    reporter.emit(Event::StepStarted { step: IMAGES });
    let mut built = Vec::new();
    let mut failure = None;
    for kind in kinds {
        match build::ensure(&cx, kind, env.options.runtime_binary.as_deref(), args.force).await {
            Ok(b) => built.push(b),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let outcome = match (&failure, built.iter().any(|b| b.built)) {
        (Some(_), _) => Outcome::Failed,
        (None, true) => Outcome::Created,
        (None, false) => Outcome::Unchanged,
    };
    reporter.emit(Event::StepFinished {
        step: IMAGES,
        outcome,
        duration_ms: started.elapsed().as_millis() as u64,
        error: failure.as_ref().map(|e| format!("{e:#}")),
    });
    reporter.emit(Event::Summary { ok: failure.is_none(), outputs: env.outputs.public(), left: Vec::new() });
    if failure.is_some() {
        inv.ui.err("the build failed; fix the cause shown above and run `sdctl build` again");
        return Ok(ExitCode::ApplyFailed);
    }
    if !inv.ui.json() {
        for b in &built {
            inv.ui.out(&b.image);
        }
    }
    Ok(ExitCode::Ok)
}
