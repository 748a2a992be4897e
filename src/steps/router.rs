//! `router`: the per-user router (`sdctl runtime router`) behind IAP: Deployment, Service with
//! its NEG and BackendConfig annotations, RBAC for exactly what it does, the IAP audience it
//! checks, and the Secret with Redis' address, AUTH string and CA (read from Memorystore here,
//! never printed).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::Env;
use super::ingress::backend_service;
use super::kube_step::{Live, Manifest, users_on_removed_templates};
use super::values::{project_audience, values};
use crate::gcp::retry;
use crate::kube::Kube;
use crate::kube::pki::b64;
use crate::kube::templates::render;
use crate::names::Names;
use crate::plan::StepCx;

pub struct Router;

/// Stand-in Redis address for `render --offline`.
const STAND_IN_REDIS: &str = "192.0.2.20:6379";

/// Every server CA Memorystore lists, in one PEM bundle: while it rotates its CA it lists the old
/// and the new one (cloud.google.com/memorystore/docs/redis/manage-in-transit-encryption, "CA
/// rotation"), and a router trusting only the first would stop reaching Redis at the switch.
fn ca_bundle<'a>(certs: impl Iterator<Item = &'a str>) -> Option<String> {
    let pems: Vec<&str> = certs.map(str::trim).filter(|c| !c.is_empty()).collect();
    (!pems.is_empty()).then(|| pems.join("\n") + "\n")
}

/// The Secret the router and reclaim read Redis from: `url` (no credentials in it),
/// `password` (the AUTH string) and `ca.crt` (in-transit encryption).
async fn redis_secret(env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Value> {
    let r = &env.config.redis;
    let (host, password, ca) = match live {
        Some(Live { cx, .. }) => {
            let client = env.gcp.redis().await?;
            let name =
                format!("projects/{}/locations/{}/instances/{}", env.project(), env.config.region, env.names.redis());
            let instance =
                retry::call(cx, "read the Redis instance", || client.get_instance().set_name(&name).send()).await?;
            let password = if r.auth {
                let auth = retry::call(cx, "read the Redis AUTH string", || {
                    client.get_instance_auth_string().set_name(&name).send()
                })
                .await?;
                Some(auth.auth_string)
            } else {
                None
            };
            let ca = ca_bundle(instance.server_ca_certs.iter().map(|c| c.cert.as_str()));
            (format!("{}:{}", instance.host, instance.port), password, ca)
        }
        None => {
            (STAND_IN_REDIS.to_string(), r.auth.then(|| "AUTH-STRING".to_string()), r.tls.then(|| "CA-PEM".to_string()))
        }
    };
    let scheme = if r.tls { "rediss" } else { "redis" };
    let mut data = Map::new();
    data.insert("url".into(), b64(&format!("{scheme}://{host}")));
    if let Some(password) = password {
        data.insert("password".into(), b64(&password));
    }
    if r.tls {
        let ca =
            ca.ok_or_else(|| anyhow::anyhow!("Redis instance {} reports no server CA for its TLS", env.names.redis()))?;
        data.insert("ca.crt".into(), b64(&ca));
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": Names::REDIS_SECRET, "namespace": env.config.runtime.namespace},
        "type": "Opaque",
        "data": data,
    }))
}

/// The audience IAP signs for: the router's own backend service once it exists, until then any
/// backend service of the project (the exact one replaces it when the ingress step finds it).
pub async fn audience(live: Live<'_>) -> anyhow::Result<String> {
    let number = live.cx.env.project_number(live.cx).await?;
    Ok(match backend_service(live.cx, live.kube).await? {
        Some((id, _)) => format!("{}{id}", project_audience(&number)),
        None => project_audience(&number),
    })
}

/// The router's objects with a given IAP audience.
pub async fn objects_with_audience(
    env: &Env,
    live: Option<Live<'_>>,
    audience: Option<String>,
) -> anyhow::Result<Vec<Value>> {
    let mut v = values(env);
    if let Some(audience) = audience {
        v["iap_audience"] = json!(audience);
    }
    let mut objects = render("router.yaml", &v)?;
    objects.push(redis_secret(env, live).await?);
    Ok(objects)
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
            "redis.instances.get",
            "redis.instances.getAuthString",
            "compute.backendServices.get",
            // Users still on a removed template (`users_on_removed_templates`).
            "container.thirdPartyObjects.list",
        ]
    }

    async fn may_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        users_on_removed_templates(cx, kube).await
    }

    fn describe(&self, env: &Env) -> String {
        format!("per-user router (2 replicas) and its Service in namespace {}", env.config.runtime.namespace)
    }

    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let audience = match live {
            Some(live) => Some(audience(live).await?),
            None => None,
        };
        objects_with_audience(env, live, audience).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_server_ca_goes_into_the_bundle() {
        let certs = [
            "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----",
        ];
        let bundle = super::ca_bundle(certs.into_iter()).unwrap();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
        assert!(bundle.ends_with("-----END CERTIFICATE-----\n"));
        assert_eq!(super::ca_bundle(std::iter::empty()), None);
    }
}
