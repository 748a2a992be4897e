//! Whether the cluster keeps users' WebUIs apart: NetworkPolicies are enforced only with GKE
//! Dataplane V2 (which sdctl turns on when it creates the cluster) or Calico's network policy.
//! A cluster created by an earlier sdctl, or by hand, may have neither: said, with the way out.

use super::{Context, Outcome};
use crate::gcp::retry;
use crate::steps::{absent_if_not_found, cluster_path, enforces_network_policy};

const ID: &str = "network-policy";

pub async fn check(ctx: &Context<'_>) -> Outcome {
    if let Some(skip) = ctx.needs(ID, "container.googleapis.com", "the cluster") {
        return skip;
    }
    let env = &ctx.env;
    let client = match env.gcp.container().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "the cluster", &e),
    };
    let name = cluster_path(env);
    let read = retry::call(&ctx.cx, "read the GKE cluster", || client.get_cluster().set_name(&name).send()).await;
    let cluster = match absent_if_not_found(read) {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "the cluster", &e),
    };
    let cluster_name = env.names.cluster();
    match cluster {
        None => Outcome::pass(
            ID,
            format!(
                "GKE cluster {cluster_name} will be created with Dataplane V2, which enforces the WebUIs' NetworkPolicies"
            ),
        ),
        Some(c) if enforces_network_policy(&c) => {
            Outcome::pass(ID, format!("GKE cluster {cluster_name} enforces NetworkPolicies"))
        }
        Some(_) => Outcome::warn(
            ID,
            format!(
                "GKE cluster {cluster_name} enforces no NetworkPolicies (created without Dataplane V2): any pod in the \
                 cluster, or any machine that reaches its pod range, can open a user's WebUI without signing in"
            ),
            format!(
                "recreate the cluster: `sdctl down cluster` then `sdctl up` (Dataplane V2 is chosen at creation; GKE's \
                 in-place migration is in preview: gcloud container clusters update {cluster_name} --enable-dataplane-v2 \
                 --location {})",
                env.config.cluster_location()
            ),
        ),
    }
}
