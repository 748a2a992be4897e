//! The leak report after `down`: every kind of resource sdctl can create is listed and matched by
//! label, description or derived name (not by what the current config says), so resources made
//! under an older config or left by a failed run are found too. An API the project has not
//! enabled holds nothing (GCS environments never enable Filestore): its kinds count as checked.

use super::Env;
use super::common::empty_if_disabled;
use super::iam::Account;
use crate::gcp::retry;
use crate::gcp::storage::StorageClient;
use crate::names::LABEL_ENV;
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
    let images = env.gcp.images().await?;
    for (name, d) in compute_items!(cx, images, project, "list disk images") {
        if d == description {
            push("disk image", name, true, false);
        }
    }
    for what in empty_if_disabled(super::image_cache::leftovers(cx).await)? {
        push("image-cache builder", what, true, false);
    }
    // Users' own disks (runtime.kind okg): made by GKE's disk driver in the nodes' zones with
    // the environment's label; they outlive a cluster deleted before its claims.
    for d in empty_if_disabled(super::user_disks::list(cx).await)? {
        push("user disk", format!("{} ({})", d.name, d.zone), true, keep);
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

/// Load-balancer pieces the GKE ingress controller made for sdctl's Ingress; they outlive a
/// cluster deleted before its Ingress. Found from what only this environment has, its static IP:
/// the forwarding rules on it, their target proxies, URL map, backend services, health checks
/// and network endpoint groups. (Names are no guide: two environments with the same namespace
/// get the same readable parts, and only a cluster UID in them differs.)
pub async fn load_balancer_pieces(cx: &StepCx<Env>) -> anyhow::Result<Vec<Leftover>> {
    let env = &cx.env;
    let project = env.project();
    let mut found = Vec::new();
    let mut push = |kind, name: String, billable| found.push(Leftover { kind, name, billable, kept: false });
    let addresses = env.gcp.global_addresses().await?;
    let name = env.names.address();
    let address = empty_if_disabled(super::common::absent_if_not_found(
        retry::call(cx, "read the static IP", || addresses.get().set_project(project).set_address(&name).send()).await,
    ))?;
    let Some(ip) = address.and_then(|a| a.address) else { return Ok(found) };

    let rules = env.gcp.global_forwarding_rules().await?;
    let mut targets = Vec::new();
    let mut token = String::new();
    loop {
        let page = empty_if_disabled(
            retry::call(cx, "list forwarding rules", || {
                let list = rules.list().set_project(project);
                if token.is_empty() { list.send() } else { list.set_page_token(&token).send() }
            })
            .await,
        )?;
        for rule in page.items.into_iter().filter(|r| r.ip_address.as_deref() == Some(ip.as_str())) {
            push("forwarding rule", rule.name.unwrap_or_default(), true);
            targets.extend(rule.target);
        }
        match page.next_page_token {
            Some(t) if !t.is_empty() => token = t,
            _ => break,
        }
    }
    let mut url_maps = Vec::new();
    for target in &targets {
        let proxy = last_segment(target);
        let url_map = if target.contains("/targetHttpsProxies/") {
            let client = env.gcp.target_https_proxies().await?;
            let got = super::common::absent_if_not_found(
                retry::call(cx, "read a target HTTPS proxy", || {
                    client.get().set_project(project).set_target_https_proxy(proxy).send()
                })
                .await,
            )?;
            got.map(|p| ("target HTTPS proxy", p.url_map))
        } else {
            let client = env.gcp.target_http_proxies().await?;
            let got = super::common::absent_if_not_found(
                retry::call(cx, "read a target HTTP proxy", || {
                    client.get().set_project(project).set_target_http_proxy(proxy).send()
                })
                .await,
            )?;
            got.map(|p| ("target HTTP proxy", p.url_map))
        };
        if let Some((kind, map)) = url_map {
            push(kind, proxy.to_string(), false);
            url_maps.extend(map);
        }
    }
    let mut services = Vec::new();
    let maps = env.gcp.url_maps().await?;
    for link in dedup(url_maps) {
        let name = last_segment(&link);
        let got = super::common::absent_if_not_found(
            retry::call(cx, "read a URL map", || maps.get().set_project(project).set_url_map(name).send()).await,
        )?;
        if let Some(map) = got {
            push("URL map", name.to_string(), false);
            services.extend(map.default_service.clone());
            for matcher in &map.path_matchers {
                services.extend(matcher.default_service.clone());
                services.extend(matcher.path_rules.iter().filter_map(|r| r.service.clone()));
            }
        }
    }
    let backends = env.gcp.backend_services().await?;
    let (mut checks, mut groups) = (Vec::new(), Vec::new());
    for link in dedup(services) {
        let name = last_segment(&link);
        let got = super::common::absent_if_not_found(
            retry::call(cx, "read a backend service", || {
                backends.get().set_project(project).set_backend_service(name).send()
            })
            .await,
        )?;
        if let Some(service) = got {
            push("backend service", name.to_string(), true);
            checks.extend(service.health_checks.clone());
            groups.extend(service.backends.iter().filter_map(|b| b.group.clone()));
        }
    }
    for link in dedup(checks) {
        push("health check", last_segment(&link).to_string(), false);
    }
    for link in dedup(groups) {
        let zone = link.split("/zones/").nth(1).and_then(|z| z.split('/').next()).unwrap_or_default();
        push("network endpoint group", format!("{} ({zone})", last_segment(&link)), false);
    }
    Ok(found)
}

fn last_segment(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}

fn dedup(mut links: Vec<String>) -> Vec<String> {
    links.sort();
    links.dedup();
    links
}
