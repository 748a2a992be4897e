//! With `gpu.imageCache`: whether the image-cache builder VM, which has no external IP, can
//! reach Artifact Registry (Private Google Access on the subnetwork, or a private cluster's Cloud
//! NAT). Caught here, before the WebUI image builds for half an hour, not when the step runs.

use super::{Context, Outcome};
use crate::steps::image_cache::{egress_problem, private_google_access};

const ID: &str = "image-cache-egress";

pub async fn check(ctx: &Context<'_>) -> Option<Outcome> {
    let env = &ctx.env;
    if !env.config.gpu.image_cache {
        return None;
    }
    if env.config.cluster.private {
        return Some(Outcome::pass(ID, "the image-cache builder reaches Artifact Registry through the Cloud NAT"));
    }
    if let Some(skip) = ctx.needs(ID, "compute.googleapis.com", "the subnetwork") {
        return Some(skip);
    }
    let subnet = &env.config.cluster.subnetwork;
    Some(match private_google_access(&ctx.cx).await {
        Err(e) => ctx.read_failed(ID, &format!("subnetwork {subnet}"), &e),
        Ok(on) => match egress_problem(env, on) {
            Some((problem, fix)) => Outcome::fail(ID, problem, fix),
            None => Outcome::pass(
                ID,
                format!(
                    "subnetwork {subnet} has Private Google Access: the image-cache builder can pull the WebUI image"
                ),
            ),
        },
    })
}
