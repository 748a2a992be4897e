//! `sdctl image-cache [--force]`: build the GPU nodes' image cache now (the `image-cache` step of
//! `up` does the same when the current WebUI image has none).

use super::{ImageCacheArgs, Invocation, one_step};
use crate::exit::{Exit, ExitCode};
use crate::steps::{IMAGE_CACHE, RunOptions, ensure_image_cache};

pub async fn run(inv: &Invocation, args: ImageCacheArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    if !config.gpu.image_cache {
        return Err(Exit::usage(
            "gpu.imageCache is false in the config, so GPU nodes would not use an image cache; set gpu.imageCache: true \
             (then `sdctl up` builds it)",
        )
        .into());
    }
    let env = inv.env(config, RunOptions::default())?;
    let force = args.force;
    let built = one_step::run(inv, &env, IMAGE_CACHE, |cx| async move { ensure_image_cache(&cx, force).await }).await;
    let Ok(image) = built else {
        inv.ui.err("the image cache was not built; fix the cause shown above and run `sdctl image-cache` again");
        return Ok(ExitCode::ApplyFailed);
    };
    if !inv.ui.json() {
        inv.ui.out(&format!("projects/{}/global/images/{image}", env.project()));
    }
    Ok(ExitCode::Ok)
}
