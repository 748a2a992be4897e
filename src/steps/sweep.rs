//! The leak report after `down`: every kind of resource sdctl can create is listed and matched by
//! label, description or derived name (not by what the current config says), so resources made
//! under an older config or left by a failed run are found too. An API the project has not
//! enabled holds nothing (GCS environments never enable Filestore): its kinds count as checked.

use super::Env;
use super::common::empty_if_disabled;
use super::iam::Account;
use crate::gcp::retry;
use crate::gcp::storage::StorageClient;
use crate::names::{LABEL_ENV, Names};
use crate::plan::StepCx;

/// Something of this environment that still exists after `down`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: &'static str,
    pub name: String,
    /// Costs money while it exists.
    pub billable: bool,
    /// Kept on purpose (`--keep-data`).
    pub kept: bool,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if self.kept {
            write!(f, " (kept)")?;
        } else if self.billable {
            write!(f, " (billable)")?;
        }
        Ok(())
    }
}

/// Pages through a Compute list and keeps `(name, description)` of each item.
macro_rules! compute_items {
    ($cx:expr, $client:expr, $project:expr, $what:expr) => {{
        let mut items: Vec<(String, String)> = Vec::new();
        let mut token = String::new();
        loop {
            let page = empty_if_disabled(
                retry::call($cx, $what, || {
                    let list = $client.list().set_project($project);
                    if token.is_empty() { list.send() } else { list.set_page_token(&token).send() }
                })
                .await,
            )?;
            items.extend(
                page.items.into_iter().map(|i| (i.name.unwrap_or_default(), i.description.unwrap_or_default())),
            );
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = t,
                _ => break,
            }
        }
        items
    }};
}

/// Lists what remains of the environment.
pub async fn leftovers(cx: &StepCx<Env>) -> anyhow::Result<Vec<Leftover>> {
    let env = &cx.env;
    let project = env.project();
    let ours = |labels: &std::collections::HashMap<String, String>| {
        labels.get(LABEL_ENV).map(String::as_str) == Some(env.names.env())
    };
    let keep = env.options.keep_data;
    let mut found = Vec::new();
    let mut push = |kind, name: String, billable, kept| found.push(Leftover { kind, name, billable, kept });

    let gke = env.gcp.container().await?;
    let clusters = empty_if_disabled(
        retry::call(cx, "list GKE clusters", || {
            gke.list_clusters().set_parent(format!("projects/{project}/locations/-")).send()
        })
        .await,
    )?;
    for c in clusters.clusters.into_iter().filter(|c| ours(&c.resource_labels)) {
        push("GKE cluster", format!("{} ({})", c.name, c.location), true, false);
    }

    let filestore = env.gcp.filestore().await?;
    let instances = empty_if_disabled(
        retry::call(cx, "list Filestore instances", || {
            filestore.list_instances().set_parent(format!("projects/{project}/locations/-")).send()
        })
        .await,
    )?;
    for i in instances.instances.into_iter().filter(|i| ours(&i.labels)) {
        push("Filestore instance", i.name, true, keep);
    }

    let redis = env.gcp.redis().await?;
    let instances = empty_if_disabled(
        retry::call(cx, "list Redis instances", || {
            redis.list_instances().set_parent(format!("projects/{project}/locations/-")).send()
        })
        .await,
    )?;
    for i in instances.instances.into_iter().filter(|i| ours(&i.labels)) {
        push("Redis instance", i.name, true, keep);
    }

    let registry = env.gcp.artifact_registry().await?;
    let parent = format!("projects/{project}/locations/{}", env.config.region);
    let repos = empty_if_disabled(
        retry::call(cx, "list Artifact Registry repositories", || {
            registry.list_repositories().set_parent(&parent).send()
        })
        .await,
    )?;
    for r in repos.repositories.into_iter().filter(|r| ours(&r.labels)) {
        push("Artifact Registry repository", r.name, true, false);
    }

    let storage = StorageClient::new(&env.gcp);
    let buckets = empty_if_disabled(
        retry::call(cx, "list buckets", || storage.list_buckets_labeled(project, LABEL_ENV, env.names.env())).await,
    )?;
    for b in buckets {
        let data = b.name != env.names.build_bucket();
        push("bucket", format!("gs://{}", b.name), true, keep && data);
    }

    let description = env.names.description();
    let addresses = env.gcp.global_addresses().await?;
    for (name, d) in compute_items!(cx, addresses, project, "list global addresses") {
        if d == description {
            push("global address", name, true, false);
        }
    }
    let firewalls = env.gcp.firewalls().await?;
    for (name, d) in compute_items!(cx, firewalls, project, "list firewall rules") {
        if d == description {
            push("firewall rule", name, false, false);
        }
    }
    let routers = env.gcp.routers().await?;
    let router_name = env.names.router();
    let region = &env.config.region;
    let router = empty_if_disabled(super::common::absent_if_not_found(
        retry::call(cx, "read the Cloud Router", || {
            routers.get().set_project(project).set_region(region).set_router(&router_name).send()
        })
        .await,
    ))?;
    if router.is_some_and(|r| r.description.as_deref() == Some(description.as_str())) {
        push("Cloud Router with NAT", router_name, true, false);
    }

    for account in [Account::Nodes, Account::Builds] {
        if empty_if_disabled(account.exists(cx).await)? {
            push("service account", account.email(env), false, false);
        }
    }
    found.extend(load_balancer_pieces(cx).await?);
    Ok(found)
}

/// Load-balancer pieces the GKE ingress controller made for sdctl's Ingress: named after the
/// ingress (front end) and the router Service (back end); they outlive a cluster deleted before
/// its Ingress.
pub async fn load_balancer_pieces(cx: &StepCx<Env>) -> anyhow::Result<Vec<Leftover>> {
    let env = &cx.env;
    let project = env.project();
    let mut found = Vec::new();
    let mut push = |kind, name: String, billable| found.push(Leftover { kind, name, billable, kept: false });
    let lb = lb_markers(&env.config.runtime.namespace);
    let is_lb = |name: &str| name.starts_with("k8s") && lb.iter().any(|m| name.contains(m.as_str()));
    let rules = env.gcp.global_forwarding_rules().await?;
    for (name, _) in compute_items!(cx, rules, project, "list forwarding rules") {
        if is_lb(&name) {
            push("forwarding rule", name, true);
        }
    }
    let proxies = env.gcp.target_http_proxies().await?;
    for (name, _) in compute_items!(cx, proxies, project, "list target HTTP proxies") {
        if is_lb(&name) {
            push("target HTTP proxy", name, false);
        }
    }
    let proxies = env.gcp.target_https_proxies().await?;
    for (name, _) in compute_items!(cx, proxies, project, "list target HTTPS proxies") {
        if is_lb(&name) {
            push("target HTTPS proxy", name, false);
        }
    }
    let maps = env.gcp.url_maps().await?;
    for (name, _) in compute_items!(cx, maps, project, "list URL maps") {
        if is_lb(&name) {
            push("URL map", name, false);
        }
    }
    let services = env.gcp.backend_services().await?;
    for (name, _) in compute_items!(cx, services, project, "list backend services") {
        if is_lb(&name) {
            push("backend service", name, true);
        }
    }
    let checks = env.gcp.health_checks().await?;
    for (name, _) in compute_items!(cx, checks, project, "list health checks") {
        if is_lb(&name) {
            push("health check", name, false);
        }
    }
    for zone in &env.config.zones {
        let negs = env.gcp.network_endpoint_groups().await?;
        let mut token = String::new();
        loop {
            let page = empty_if_disabled(
                retry::call(cx, "list network endpoint groups", || {
                    let list = negs.list().set_project(project).set_zone(zone);
                    if token.is_empty() { list.send() } else { list.set_page_token(&token).send() }
                })
                .await,
            )?;
            for n in page.items {
                let name = n.name.unwrap_or_default();
                if is_lb(&name) {
                    push("network endpoint group", format!("{name} ({zone})"), false);
                }
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = t,
                _ => break,
            }
        }
    }

    Ok(found)
}

/// Name fragments of the GKE ingress controller's resources for sdctl's Ingress and router Service.
fn lb_markers(namespace: &str) -> [String; 2] {
    [format!("-{namespace}-{}", Names::INGRESS), format!("-{namespace}-{}-", Names::ROUTER)]
}
