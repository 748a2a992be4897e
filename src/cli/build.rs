//! `sdctl build [webui|comfyui|runtime]`: build images with Cloud Build now (the `images` step
//! of `up` does the same when an image is missing). Without an argument: the images the
//! configuration runs.

use super::{BuildArgs, Invocation, one_step};
use crate::exit::ExitCode;
use crate::images::build;
use crate::steps::{IMAGES, RunOptions};

pub async fn run(inv: &Invocation, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    let kinds = match args.image {
        Some(kind) => vec![kind],
        None => env.config.images(),
    };
    let binary = env.options.runtime_binary.clone();
    let built = one_step::run(inv, &env, IMAGES, |cx| async move {
        let mut built = Vec::new();
        for kind in kinds {
            built.push(build::ensure(&cx, kind, binary.as_deref(), args.force).await?);
        }
        let any = built.iter().any(|b| b.built);
        Ok((built, any))
    })
    .await;
    let Ok(built) = built else {
        inv.ui.err("the build failed; fix the cause shown above and run `sdctl build` again");
        return Ok(ExitCode::ApplyFailed);
    };
    if !inv.ui.json() {
        for b in &built {
            inv.ui.out(&b.image);
        }
    }
    Ok(ExitCode::Ok)
}
