//! `redis`: the Memorystore instance that maps users to their WebUI pods. Its host is an output;
//! the AUTH string is read only where it is needed (the router's Secret) and never printed.

use async_trait::async_trait;
use google_cloud_redis_v1::model::Instance;
use google_cloud_redis_v1::model::instance::{ConnectMode, State, Tier, TransitEncryptionMode};

use super::common::{Deletable, absent_if_not_found, gone_if_not_found, not_ours, patience, wait_deletable};
use super::{APIS, Env, NETWORK, REDIS};
use crate::config::RedisTier;
use crate::gcp::{ops, retry};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct Redis;

fn instance_name(env: &Env) -> String {
    format!("projects/{}/locations/{}/instances/{}", env.project(), env.config.region, env.names.redis())
}

/// The instance the configuration asks for.
fn desired(env: &Env) -> Instance {
    let r = &env.config.redis;
    Instance::new()
        .set_display_name(format!("sdctl {} user map", env.names.env()))
        .set_labels(env.labels())
        .set_location_id(env.config.zones[0].clone())
        .set_tier(match r.tier {
            RedisTier::Basic => Tier::Basic,
            RedisTier::StandardHa => Tier::StandardHa,
        })
        .set_memory_size_gb(r.size_gb as i32)
        .set_redis_version(r.version.clone())
        .set_authorized_network(format!("projects/{}/global/networks/{}", env.project(), env.config.cluster.network))
        .set_connect_mode(ConnectMode::DirectPeering)
        .set_auth_enabled(r.auth)
        .set_transit_encryption_mode(if r.tls {
            TransitEncryptionMode::ServerAuthentication
        } else {
            TransitEncryptionMode::Disabled
        })
}

/// The environment's Redis instance, if it exists (an error when it is not this environment's).
pub async fn read_ours(cx: &StepCx<Env>) -> anyhow::Result<Option<Instance>> {
    let env = &cx.env;
    let client = env.gcp.redis().await?;
    let name = instance_name(env);
    let found = absent_if_not_found(
        retry::call(cx, "read the Redis instance", || client.get_instance().set_name(&name).send()).await,
    )?;
    match found {
        Some(i) if !env.owns(&i.labels) => Err(not_ours("Redis instance", &env.names.redis(), env.names.env())),
        found => Ok(found),
    }
}

#[async_trait]
impl Step<Env> for Redis {
    type Live = Option<Instance>;

    fn id(&self) -> StepId {
        REDIS
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS, NETWORK]
    }

    fn describe(&self, env: &Env) -> String {
        let r = &env.config.redis;
        let tier = RedisTier::ALL.iter().find(|(_, t)| *t == r.tier).map(|(n, _)| *n).unwrap_or_default();
        format!("Memorystore Redis {} ({tier}, {} GB, {})", env.names.redis(), r.size_gb, r.version)
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "redis.instances.get",
            "redis.instances.create",
            "redis.instances.update",
            "redis.instances.delete",
            // The router's Secret needs the AUTH string.
            "redis.instances.getAuthString",
            "redis.operations.get",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Option<Instance>> {
        let env = &cx.env;
        let found = read_ours(cx).await?;
        if let Some(i) = &found {
            publish(env, i);
        }
        Ok(found)
    }

    fn diff(&self, env: &Env, live: &Option<Instance>) -> Diff {
        let Some(live) = live else { return Diff::create_all() };
        let want = desired(env);
        let mut changes = Vec::new();
        if live.state == State::Creating {
            changes.push("wait until the instance is ready (CREATING)".to_string());
        }
        if live.memory_size_gb != want.memory_size_gb {
            changes.push(format!("redis.sizeGb: {} -> {}", live.memory_size_gb, want.memory_size_gb));
        }
        if live.auth_enabled != want.auth_enabled {
            changes.push(format!("redis.auth: {} -> {}", live.auth_enabled, want.auth_enabled));
        }
        if live.labels != want.labels {
            changes.push("labels".to_string());
        }
        for (field, fixed) in fixed_fields(live, &want) {
            changes.push(format!("{field} cannot change in place ({fixed})"));
        }
        if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
    }

    fn state(&self, live: &Option<Instance>) -> Option<String> {
        live.as_ref().map(|i| format!("{:?}, {}:{}", i.state, i.host, i.port))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Option<Instance>, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let client = env.gcp.redis().await?;
        let name = instance_name(env);
        let want = desired(env);
        let outcome = match live {
            None => {
                let parent = format!("projects/{}/locations/{}", env.project(), env.config.region);
                // A range sdctl chose, free in the VPC, rather than one Memorystore picks.
                let want = want.clone().set_reserved_ip_range(super::ranges::plan(cx).await?.redis);
                let op = retry::call(cx, "create the Redis instance", || {
                    client
                        .create_instance()
                        .set_parent(&parent)
                        .set_instance_id(env.names.redis())
                        .set_instance(want.clone())
                        .send()
                })
                .await?;
                let what = format!("Redis instance {}", env.names.redis());
                ops::lro(cx, &what, patience::REDIS, || client.get_operation().set_name(&op.name).send()).await?;
                Outcome::Created
            }
            Some(live) => {
                let fixed = fixed_fields(&live, &want);
                if let Some((field, why)) = fixed.first() {
                    anyhow::bail!(
                        "{field} of Redis instance {} cannot change in place ({why}); delete it with `sdctl down redis` \
                         (its user map is rebuilt on demand) and run `sdctl up` again",
                        env.names.redis()
                    );
                }
                if live.state == State::Creating {
                    wait_ready(cx, &name).await?;
                }
                let mut mask = Vec::new();
                if live.memory_size_gb != want.memory_size_gb {
                    mask.push("memory_size_gb");
                }
                if live.auth_enabled != want.auth_enabled {
                    mask.push("auth_enabled");
                }
                if live.labels != want.labels {
                    mask.push("labels");
                }
                if !mask.is_empty() {
                    let body = want.clone().set_name(&name);
                    let op = retry::call(cx, "update the Redis instance", || {
                        client
                            .update_instance()
                            .set_instance(body.clone())
                            .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                            .send()
                    })
                    .await?;
                    let what = format!("update of Redis instance {}", env.names.redis());
                    ops::lro(cx, &what, patience::REDIS, || client.get_operation().set_name(&op.name).send()).await?;
                }
                Outcome::Updated
            }
        };
        let ready = retry::call(cx, "read the Redis instance", || client.get_instance().set_name(&name).send()).await?;
        publish(env, &ready);
        Ok(outcome)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        if env.options.keep_data {
            return Ok(Outcome::Kept);
        }
        if self.observe(cx).await?.is_none() {
            return Ok(Outcome::Unchanged);
        }
        let client = env.gcp.redis().await?;
        let name = instance_name(env);
        let what = format!("Redis instance {}", env.names.redis());
        let state = || async {
            Ok(match self.observe(cx).await? {
                Some(i) if i.state == State::Ready => Deletable::Now,
                Some(i) => Deletable::Later(format!("{:?}", i.state)),
                None => Deletable::Gone,
            })
        };
        if !wait_deletable(cx, &what, patience::REDIS, state).await? {
            return Ok(Outcome::Deleted); // an earlier run's deletion finished (or a failed create cleaned up)
        }
        let deleted = gone_if_not_found(
            async {
                let op =
                    retry::call(cx, "delete the Redis instance", || client.delete_instance().set_name(&name).send())
                        .await?;
                let what = format!("deletion of Redis instance {}", env.names.redis());
                ops::lro(cx, &what, patience::REDIS, || client.get_operation().set_name(&op.name).send()).await
            }
            .await,
        )?;
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// Fields Memorystore cannot change on an existing instance.
fn fixed_fields(live: &Instance, want: &Instance) -> Vec<(&'static str, String)> {
    let mut fixed = Vec::new();
    if live.tier != want.tier {
        fixed.push(("redis.tier", format!("{:?} -> {:?}", live.tier, want.tier)));
    }
    if live.transit_encryption_mode != want.transit_encryption_mode {
        fixed.push(("redis.tls", "in-transit encryption is chosen at creation".to_string()));
    }
    if !live.redis_version.is_empty() && live.redis_version != want.redis_version {
        fixed.push(("redis.version", format!("{} -> {}", live.redis_version, want.redis_version)));
    }
    fixed
}

async fn wait_ready(cx: &StepCx<Env>, name: &str) -> anyhow::Result<()> {
    use crate::gcp::wait::{Poll, until};
    let client = cx.env.gcp.redis().await?;
    until(cx, "the Redis instance to become ready", patience::REDIS, move || async move {
        let i = retry::call(cx, "read the Redis instance", || client.get_instance().set_name(name).send()).await?;
        Ok(if i.state == State::Ready { Poll::Ready(()) } else { Poll::Pending(format!("{:?}", i.state)) })
    })
    .await
}

fn publish(env: &Env, instance: &Instance) {
    if !instance.host.is_empty() {
        env.outputs.set("redisHost", format!("{}:{}", instance.host, instance.port));
    }
}
