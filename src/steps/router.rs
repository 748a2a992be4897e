//! `router`: the per-user router (`sdctl runtime router`) behind IAP: Deployment, Service with
//! its NEG and BackendConfig annotations, RBAC for exactly what it does, and the Secret with the
//! Redis URL (the AUTH string inside; read from Memorystore here, never printed).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Env;
use super::kube_step::Manifest;
use super::values::values;
use crate::kube::Kube;
use crate::kube::pki::b64;
use crate::kube::templates::render;
use crate::names::Names;

pub struct Router;

/// Stand-in Redis address for `render --offline`.
const STAND_IN_REDIS: &str = "192.0.2.20:6379";

/// `redis://:AUTH@HOST:PORT/0`, or `rediss://` with in-transit encryption.
async fn redis_url(env: &Env, live: bool) -> anyhow::Result<String> {
    let scheme = if env.config.redis.tls { "rediss" } else { "redis" };
    let host = env.outputs.get("redisHost").unwrap_or_else(|| STAND_IN_REDIS.to_string());
    if !env.config.redis.auth {
        return Ok(format!("{scheme}://{host}/0"));
    }
    let auth = if live {
        let client = env.gcp.redis().await?;
        let name =
            format!("projects/{}/locations/{}/instances/{}", env.project(), env.config.region, env.names.redis());
        client
            .get_instance_auth_string()
            .set_name(&name)
            .send()
            .await
            .map_err(|e| crate::gcp::ApiError::from_sdk("read the Redis AUTH string", &e))?
            .auth_string
    } else {
        "AUTH-STRING".to_string()
    };
    Ok(format!("{scheme}://:{auth}@{host}/0"))
}

#[async_trait]
impl Manifest for Router {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.deployments.create",
            "container.services.create",
            "container.secrets.create",
            "container.configMaps.create",
            "container.serviceAccounts.create",
            "container.roles.create",
            "container.roleBindings.create",
            "redis.instances.getAuthString",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        format!("per-user router (2 replicas) and its Service in namespace {}", env.config.runtime.namespace)
    }

    async fn objects(&self, env: &Env, kube: Option<&Kube>) -> anyhow::Result<Vec<Value>> {
        let mut objects = render("router.yaml", &values(env))?;
        let url = redis_url(env, kube.is_some() && env.outputs.get("redisHost").is_some()).await?;
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": Names::REDIS_SECRET, "namespace": env.config.runtime.namespace},
            "type": "Opaque",
            "data": {"url": b64(&url)},
        }));
        Ok(objects)
    }
}
