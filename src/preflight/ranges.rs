//! The VPC ranges `up` will use: free ones chosen after reading the network (subnets, routes,
//! peerings, private services access), shown here, or a failure when the network has none left.

use super::{Context, Outcome};
use crate::steps::ranges;

pub async fn check(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "ip-ranges";
    if let Some(skipped) = ctx.needs(ID, "compute.googleapis.com", "the VPC's address ranges") {
        return skipped;
    }
    let network = &ctx.env.config.cluster.network;
    match ranges::plan(&ctx.cx).await {
        Ok(r) => {
            let mut parts = vec![format!("pods {}", r.pods), format!("services {}", r.services)];
            if ctx.env.config.cluster.private {
                parts.push(format!("control plane {}", r.master));
            }
            parts.push(format!("Redis {}", r.redis));
            if let crate::config::Storage::Filestore(_) = ctx.env.config.storage {
                parts.push(format!("Filestore {}", r.filestore));
            }
            Outcome::pass(ID, format!("{} (free in network {network})", parts.join(", ")))
        }
        Err(e) if e.to_string().contains("no free") => Outcome::fail(
            ID,
            format!("{e:#}"),
            format!(
                "use another VPC (cluster.network, cluster.subnetwork) or remove unused subnets or peerings from {network}"
            ),
        ),
        Err(e) => ctx.read_failed(ID, "the VPC's address ranges", &e),
    }
}
