//! `network`: firewall rules in the configured VPC, and a Cloud Router with NAT for private
//! clusters. WebUIs have no host ports (the router dials pod IPs, where NetworkPolicies admit
//! only the router), so no rule opens anything to them; the rule earlier versions made for host
//! ports is deleted.

use async_trait::async_trait;
use google_cloud_compute_v1::model::firewall::{Allowed, Direction};
use google_cloud_compute_v1::model::router_nat::{NatIpAllocateOption, SourceSubnetworkIpRangesToNat};
use google_cloud_compute_v1::model::{Firewall, Router, RouterNat};

use super::common::{absent_if_not_found, not_ours, patience};
use super::ranges::Ranges;
use super::{APIS, Env, NETWORK};
use crate::config::RuntimeKind;
use crate::gcp::{ops, retry};
use crate::names::ROUTER_PORT;
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

/// Google's load-balancer and health-check source ranges.
pub const HEALTH_CHECK_RANGES: [&str; 2] = ["35.191.0.0/16", "130.211.0.0/22"];

pub struct Network;

#[derive(Default)]
pub struct Live {
    /// The VPC ranges of this environment (the rules name the pod and control-plane ranges).
    ranges: Option<Ranges>,
    /// Existing rules, by name.
    firewalls: Vec<Firewall>,
    router: Option<Router>,
}

#[async_trait]
impl Step<Env> for Network {
    type Live = Live;

    fn id(&self) -> StepId {
        NETWORK
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS]
    }

    fn describe(&self, env: &Env) -> String {
        let c = &env.config.cluster;
        let nat = if c.private { ", Cloud Router and NAT" } else { "" };
        format!("firewall rules{nat} in network {}", c.network)
    }

    fn permissions(&self, env: &Env) -> Vec<&'static str> {
        let mut p = vec![
            "compute.subnetworks.get",
            "compute.networks.get",
            // Firewall rules also need updatePolicy on their network.
            "compute.networks.updatePolicy",
            "compute.firewalls.get",
            "compute.firewalls.create",
            "compute.firewalls.update",
            "compute.firewalls.delete",
            "compute.globalOperations.get",
            "compute.routers.get",
            // Reading what the VPC holds, to choose free ranges (`steps::ranges`).
            "compute.subnetworks.list",
            "compute.routes.list",
            "compute.networks.listPeeringRoutes",
            "compute.globalAddresses.list",
        ];
        if env.config.cluster.private {
            p.extend(["compute.routers.create", "compute.routers.update", "compute.routers.delete"]);
            p.push("compute.regionOperations.get");
        }
        p
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let subnets = env.gcp.subnetworks().await?;
        let subnet = &env.config.cluster.subnetwork;
        let region = &env.config.region;
        let found = absent_if_not_found(
            retry::call(cx, &format!("read subnetwork {subnet}"), || {
                subnets.get().set_project(env.project()).set_region(region).set_subnetwork(subnet).send()
            })
            .await,
        )?;
        if found.is_none() {
            anyhow::bail!(
                "subnetwork {subnet} does not exist in {region}: set cluster.subnetwork (and cluster.network) to an existing \
                 one (gcloud compute networks subnets list --regions {region})"
            );
        }
        let firewalls_client = env.gcp.firewalls().await?;
        let mut firewalls = Vec::new();
        for name in all_rule_names(env) {
            let found = absent_if_not_found(
                retry::call(cx, &format!("read firewall rule {name}"), || {
                    firewalls_client.get().set_project(env.project()).set_firewall(&name).send()
                })
                .await,
            )?;
            if let Some(rule) = found {
                if rule.description.as_deref() != Some(env.names.description().as_str()) {
                    return Err(not_ours("firewall rule", &name, env.names.env()));
                }
                firewalls.push(rule);
            }
        }
        let routers = env.gcp.routers().await?;
        let router_name = env.names.router();
        let router = absent_if_not_found(
            retry::call(cx, &format!("read router {router_name}"), || {
                routers.get().set_project(env.project()).set_region(region).set_router(&router_name).send()
            })
            .await,
        )?;
        if let Some(r) = &router
            && r.description.as_deref() != Some(env.names.description().as_str())
        {
            return Err(not_ours("Cloud Router", &router_name, env.names.env()));
        }
        let ranges = Some(super::ranges::plan(cx).await?);
        Ok(Live { ranges, firewalls, router })
    }

    fn diff(&self, env: &Env, live: &Live) -> Diff {
        let Some(ranges) = &live.ranges else { return Diff::create_all() };
        let wanted = desired_rules(env, ranges);
        let mut missing = Vec::new();
        let mut changed = Vec::new();
        for rule in &wanted {
            let name = rule.name.clone().unwrap_or_default();
            match live.firewalls.iter().find(|f| f.name == rule.name) {
                None => missing.push(format!("firewall rule {name}")),
                Some(existing) if !same_rule(existing, rule) => {
                    changed.push(format!("firewall rule {name}: {}", rule_summary(rule)))
                }
                Some(_) => {}
            }
        }
        for extra in live.firewalls.iter().filter(|f| !wanted.iter().any(|w| w.name == f.name)) {
            changed
                .push(format!("delete firewall rule {} (not needed any more)", extra.name.clone().unwrap_or_default()));
        }
        match (env.config.cluster.private, &live.router) {
            (true, None) => missing.push(format!("Cloud Router {} with NAT {}", env.names.router(), env.names.nat())),
            (false, Some(_)) => {
                changed.push(format!("delete Cloud Router {} (the cluster is not private)", env.names.router()))
            }
            _ => {}
        }
        Diff::from_parts(missing, changed)
    }

    fn state(&self, live: &Live) -> Option<String> {
        let router = if live.router.is_some() { ", router with NAT" } else { "" };
        Some(format!("{} firewall rule(s){router}", live.firewalls.len()))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let client = env.gcp.firewalls().await?;
        let project = env.project();
        let ranges = match &live.ranges {
            Some(r) => r.clone(),
            None => super::ranges::plan(cx).await?,
        };
        let wanted = desired_rules(env, &ranges);
        let mut created = false;
        for rule in &wanted {
            let name = rule.name.clone().unwrap_or_default();
            let op = match live.firewalls.iter().find(|f| f.name == rule.name) {
                Some(existing) if same_rule(existing, rule) => continue,
                Some(_) => {
                    retry::call(cx, &format!("update firewall rule {name}"), || {
                        client.update().set_project(project).set_firewall(&name).set_body(rule.clone()).send()
                    })
                    .await?
                }
                None => {
                    created = true;
                    retry::call(cx, &format!("create firewall rule {name}"), || {
                        client.insert().set_project(project).set_body(rule.clone()).send()
                    })
                    .await?
                }
            };
            ops::compute(cx, &env.gcp, project, op, &format!("firewall rule {name}"), patience::COMPUTE).await?;
        }
        for extra in live.firewalls.iter().filter(|f| !wanted.iter().any(|w| w.name == f.name)) {
            let name = extra.name.clone().unwrap_or_default();
            delete_rule(cx, &name).await?;
        }
        match (env.config.cluster.private, live.router.is_some()) {
            (true, false) => {
                create_router(cx).await?;
                created = true;
            }
            (false, true) => {
                delete_router(cx).await?;
            }
            _ => {}
        }
        Ok(if created { Outcome::Created } else { Outcome::Updated })
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let mut deleted = false;
        for name in all_rule_names(env) {
            deleted |= delete_rule(cx, &name).await?;
        }
        deleted |= delete_router(cx).await?;
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// Every rule sdctl may have made (whatever the config says now, for `down`), the former
/// GameServer host-port rule included.
fn all_rule_names(env: &Env) -> [String; 3] {
    [env.names.firewall_gameservers(), env.names.firewall_health_checks(), env.names.firewall_webhooks()]
}

fn network_url(env: &Env) -> String {
    format!("projects/{}/global/networks/{}", env.project(), env.config.cluster.network)
}

fn rule(env: &Env, name: String, allowed: Vec<Allowed>, sources: Vec<String>, target_tag: String) -> Firewall {
    Firewall::new()
        .set_name(name)
        .set_description(env.names.description())
        .set_network(network_url(env))
        .set_direction(Direction::Ingress)
        .set_priority(1000)
        .set_allowed(allowed)
        .set_source_ranges(sources)
        .set_target_tags([target_tag])
}

fn allow(protocol: &str, ports: &[String]) -> Allowed {
    Allowed::new().set_ip_protocol(protocol).set_ports(ports.to_vec())
}

/// The rules this configuration needs.
fn desired_rules(env: &Env, ranges: &Ranges) -> Vec<Firewall> {
    let mut rules = vec![
        // Google's health checkers reach the router's pods behind the load balancer.
        rule(
            env,
            env.names.firewall_health_checks(),
            vec![allow("tcp", &[ROUTER_PORT.to_string()])],
            HEALTH_CHECK_RANGES.iter().map(|r| r.to_string()).collect(),
            env.names.node_tag(),
        ),
    ];
    if env.config.cluster.private {
        // A private control plane reaches only ports 443 and 10250 of the nodes by itself; the
        // webhooks (and Agones' API service) answer on their pods' own ports.
        let ports: &[&str] = match env.config.runtime.kind {
            RuntimeKind::Agones => &["8081", "443"],
            // OpenKruise's and OpenKruiseGame's managers both serve webhooks on 9876.
            RuntimeKind::Okg => &["9876"],
        };
        rules.push(rule(
            env,
            env.names.firewall_webhooks(),
            vec![allow("tcp", &ports.iter().map(|p| p.to_string()).collect::<Vec<_>>())],
            vec![ranges.master.clone()],
            env.names.node_tag(),
        ));
    }
    rules
}

fn same_rule(a: &Firewall, b: &Firewall) -> bool {
    let allowed = |f: &Firewall| {
        let mut v: Vec<(String, Vec<String>)> =
            f.allowed.iter().map(|a| (a.ip_protocol.clone().unwrap_or_default(), a.ports.clone())).collect();
        v.sort();
        v
    };
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    allowed(a) == allowed(b)
        && sorted(&a.source_ranges) == sorted(&b.source_ranges)
        && sorted(&a.target_tags) == sorted(&b.target_tags)
        && a.direction == b.direction
        && a.disabled.unwrap_or(false) == b.disabled.unwrap_or(false)
}

fn rule_summary(f: &Firewall) -> String {
    let allowed: Vec<String> = f
        .allowed
        .iter()
        .map(|a| format!("{}:{}", a.ip_protocol.clone().unwrap_or_default(), a.ports.join(",")))
        .collect();
    format!("allow {} from {} to tag {}", allowed.join(" "), f.source_ranges.join(","), f.target_tags.join(","))
}

async fn delete_rule(cx: &StepCx<Env>, name: &str) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.firewalls().await?;
    let found = absent_if_not_found(
        retry::call(cx, &format!("read firewall rule {name}"), || {
            client.get().set_project(env.project()).set_firewall(name).send()
        })
        .await,
    )?;
    match found {
        None => return Ok(false),
        Some(rule) if rule.description.as_deref() != Some(env.names.description().as_str()) => {
            return Err(not_ours("firewall rule", name, env.names.env()));
        }
        Some(_) => {}
    }
    let op = absent_if_not_found(
        retry::call(cx, &format!("delete firewall rule {name}"), || {
            client.delete().set_project(env.project()).set_firewall(name).send()
        })
        .await,
    )?;
    let Some(op) = op else { return Ok(false) };
    ops::compute(cx, &env.gcp, env.project(), op, &format!("deletion of firewall rule {name}"), patience::COMPUTE)
        .await?;
    Ok(true)
}

async fn create_router(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.routers().await?;
    let name = env.names.router();
    let body =
        Router::new().set_name(&name).set_description(env.names.description()).set_network(network_url(env)).set_nats(
            [RouterNat::new()
                .set_name(env.names.nat())
                .set_nat_ip_allocate_option(NatIpAllocateOption::AutoOnly)
                .set_source_subnetwork_ip_ranges_to_nat(SourceSubnetworkIpRangesToNat::AllSubnetworksAllIpRanges)],
        );
    let op = retry::call(cx, &format!("create router {name}"), || {
        client.insert().set_project(env.project()).set_region(&env.config.region).set_body(body.clone()).send()
    })
    .await?;
    ops::compute(cx, &env.gcp, env.project(), op, &format!("router {name} with NAT"), patience::COMPUTE).await
}

async fn delete_router(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.routers().await?;
    let name = env.names.router();
    let found = absent_if_not_found(
        retry::call(cx, &format!("read router {name}"), || {
            client.get().set_project(env.project()).set_region(&env.config.region).set_router(&name).send()
        })
        .await,
    )?;
    match found {
        None => return Ok(false),
        Some(r) if r.description.as_deref() != Some(env.names.description().as_str()) => {
            return Err(not_ours("Cloud Router", &name, env.names.env()));
        }
        Some(_) => {}
    }
    let op = absent_if_not_found(
        retry::call(cx, &format!("delete router {name}"), || {
            client.delete().set_project(env.project()).set_region(&env.config.region).set_router(&name).send()
        })
        .await,
    )?;
    let Some(op) = op else { return Ok(false) };
    ops::compute(cx, &env.gcp, env.project(), op, &format!("deletion of router {name}"), patience::COMPUTE).await?;
    Ok(true)
}
