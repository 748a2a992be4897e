//! `ingress`: Google's load balancer in front of the router (BackendConfig with IAP, managed
//! certificate, Ingress on the static IP). Once the load balancer exists: IAP access for the
//! configured members on its backend service, and the audience the router verifies written to a
//! ConfigMap. `down` deletes the Ingress and waits until its load-balancer pieces are gone, so the
//! cluster is never deleted first (which would leak them).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Env;
use super::iam::PolicyOf;
use super::kube_step::{Live, Manifest};
use super::sweep::load_balancer_pieces;
use super::values::values;
use crate::config::OAuthClient;
use crate::gcp::retry;
use crate::gcp::wait::{Patience, Poll, until};
use crate::kube::Kube;
use crate::kube::pki::b64;
use crate::kube::templates::render;
use crate::names::{Names, ROUTER_PORT};
use crate::plan::StepCx;

/// Role that lets a member through IAP.
pub const IAP_ROLE: &str = "roles/iap.httpsResourceAccessor";

/// The load balancer takes minutes; a certificate up to an hour once DNS points at the IP.
const LB_PATIENCE: Patience = Patience::new(5, 20 * 60);
const CERT_PATIENCE: Patience = Patience::new(30, 60 * 60);

pub struct Ingress;

/// The OAuth client's id and secret, read from the environment variables the config names (only
/// here, when the Secret is built; never logged).
fn oauth_secret(env: &Env, live: bool) -> anyhow::Result<Option<Value>> {
    let OAuthClient::Custom { client_id_env, client_secret_env } = &env.config.access.oauth_client else {
        return Ok(None);
    };
    let read = |var: &str| -> anyhow::Result<String> {
        if !live {
            return Ok(format!("${var}"));
        }
        std::env::var(var).map_err(|_| {
            anyhow::anyhow!(
                "environment variable {var} (access.iap.oauthClient) is not set: export the OAuth client's value in it"
            )
        })
    };
    Ok(Some(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": Names::OAUTH_SECRET, "namespace": env.config.runtime.namespace},
        "type": "Opaque",
        "data": {"client_id": b64(&read(client_id_env)?), "client_secret": b64(&read(client_secret_env)?)},
    })))
}

/// The sdctl Ingress, as its kind and name (its namespace is the runtime's).
fn ingress_ref(env: &Env) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": Names::INGRESS, "namespace": env.config.runtime.namespace}})
}

/// The load balancer's backend service for the router: `(id, name)`. Its name comes from the
/// Ingress's `ingress.kubernetes.io/backends` annotation, which GKE's ingress controller writes
/// once the load balancer exists (kubernetes/ingress-gce pkg/loadbalancers/l7.go,
/// GetLBAnnotations); names alone would also match another environment's backend in the same
/// project (`k8s1-<cluster uid>-<namespace>-<service>-<port>-<hash>`).
pub async fn backend_service(cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<Option<(u64, String)>> {
    let env = &cx.env;
    let Some(ingress) = kube.get(&ingress_ref(env)).await? else { return Ok(None) };
    let Some(annotation) = ingress["metadata"]["annotations"]["ingress.kubernetes.io/backends"].as_str() else {
        return Ok(None);
    };
    let backends: serde_json::Map<String, Value> = serde_json::from_str(annotation).unwrap_or_default();
    let marker = format!("-{}-{}-{ROUTER_PORT}-", env.config.runtime.namespace, Names::ROUTER);
    let Some(name) = backends.keys().find(|n| n.contains(&marker)).or_else(|| backends.keys().next()) else {
        return Ok(None);
    };
    let client = env.gcp.backend_services().await?;
    let found = super::common::absent_if_not_found(
        retry::call(cx, &format!("read backend service {name}"), || {
            client.get().set_project(env.project()).set_backend_service(name).send()
        })
        .await,
    )?;
    Ok(found.and_then(|b| Some((b.id?, b.name?))))
}

fn iap_resource(number: &str, backend_id: u64) -> String {
    format!("projects/{number}/iap_web/compute/services/{backend_id}")
}

/// Members of `access.iap.members` that do not have IAP access on the backend yet.
async fn missing_members(cx: &StepCx<Env>, resource: &str) -> anyhow::Result<Vec<String>> {
    let missing = PolicyOf::Iap(resource).to_change(cx, &iap_grants(&cx.env), true).await?;
    Ok(missing.into_iter().map(|(_, member)| member).collect())
}

fn iap_grants(env: &Env) -> Vec<(&'static str, &str)> {
    env.config.access.iap_members.iter().map(|m| (IAP_ROLE, m.as_str())).collect()
}

#[async_trait]
impl Manifest for Ingress {
    fn permissions(&self) -> Vec<&'static str> {
        vec![
            "container.ingresses.create",
            "container.thirdPartyObjects.create",
            "container.configMaps.create",
            // The Secret of your own OAuth client goes when the config is back on `managed`.
            "container.secrets.delete",
            "compute.backendServices.get",
            // Finding the load balancer's pieces from the static IP, to wait for them on `down`.
            "compute.globalAddresses.get",
            "compute.forwardingRules.list",
            "compute.targetHttpProxies.get",
            "compute.targetHttpsProxies.get",
            "compute.urlMaps.get",
            "iap.webServices.getIamPolicy",
            "iap.webServices.setIamPolicy",
        ]
    }

    fn describe(&self, env: &Env) -> String {
        let domain = env.config.access.domain.clone().unwrap_or_else(|| "<static-ip>.sslip.io".into());
        format!("IAP-protected load balancer and managed certificate for {domain}")
    }

    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        if let Some(live) = live {
            refuse_switch_to_managed_client(env, live.kube).await?;
        }
        let mut objects = render("ingress.yaml", &values(env))?;
        objects.extend(oauth_secret(env, live.is_some())?);
        Ok(objects)
    }

    /// The Ingress owns the load balancer: it must go before the cluster.
    fn holds_cloud_resources(&self) -> bool {
        true
    }

    /// Back on the managed OAuth client, the Secret of your own client goes.
    fn retired(&self, env: &Env) -> Vec<Value> {
        match env.config.access.oauth_client {
            OAuthClient::Managed => vec![json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": Names::OAUTH_SECRET, "namespace": env.config.runtime.namespace},
            })],
            OAuthClient::Custom { .. } => Vec::new(),
        }
    }

    async fn pending(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<Option<String>> {
        let Some((id, _)) = backend_service(cx, kube).await? else {
            return Ok(Some("IAP access, once the load balancer exists".into()));
        };
        let number = cx.env.project_number(cx).await?;
        let missing = missing_members(cx, &iap_resource(&number, id)).await?;
        if !missing.is_empty() {
            return Ok(Some(format!("IAP access for {}", missing.join(", "))));
        }
        let audience = format!("{}{id}", super::values::project_audience(&number));
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": Names::IAP_CONFIG, "namespace": cx.env.config.runtime.namespace}});
        if kube.get(&config).await?.is_none_or(|c| c["data"]["audience"] != audience) {
            return Ok(Some("the router's exact IAP audience".into()));
        }
        // `up --wait-for-certificate` waits even when nothing else changes.
        if cx.env.options.wait_for_certificate {
            let live = kube.get(&certificate_ref(&cx.env)).await?.unwrap_or(Value::Null);
            if let Poll::Pending(state) = certificate_state(&cx.env, &live) {
                return Ok(Some(format!("wait for the managed certificate ({state})")));
            }
        }
        Ok(None)
    }

    async fn after_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        let env = &cx.env;
        let ingress = ingress_ref(env);
        let ip = until(cx, "the load balancer's address", LB_PATIENCE, || async {
            let live = kube.get(&ingress).await?.unwrap_or(Value::Null);
            Ok(match live["status"]["loadBalancer"]["ingress"][0]["ip"].as_str() {
                Some(ip) => Poll::Ready(ip.to_string()),
                None => Poll::Pending("no address yet".into()),
            })
        })
        .await?;
        let (id, name) = until(cx, "the load balancer's backend service", LB_PATIENCE, || async {
            Ok(match backend_service(cx, kube).await? {
                Some(found) => Poll::Ready(found),
                None => Poll::Pending("not created yet".into()),
            })
        })
        .await?;
        cx.progress(format!("load balancer at {ip}, backend {name}"));
        let number = env.project_number(cx).await?;
        PolicyOf::Iap(&iap_resource(&number, id)).edit(cx, &iap_grants(env), true).await?;
        // The router started with the project-wide audience when its backend did not exist yet:
        // give it the exact one (a new pod template annotation restarts it with it).
        let audience = format!("{}{id}", super::values::project_audience(&number));
        let live = super::kube_step::Live { cx, kube };
        for obj in super::router::objects_with_audience(env, Some(live), Some(audience.clone())).await? {
            if matches!(obj["kind"].as_str(), Some("ConfigMap" | "Deployment")) {
                let mut obj = obj;
                crate::kube::objects::label(&mut obj, env.names.env());
                if !kube.get(&obj).await?.is_some_and(|have| crate::kube::objects::in_sync(&have, &obj)) {
                    cx.progress(format!("giving the router its exact IAP audience {audience}"));
                    kube.apply(&obj, true).await?;
                }
            }
        }
        env.outputs.set("iapAudience", audience);
        if env.options.wait_for_certificate {
            wait_certificate(cx, kube).await?;
        } else if let Some(record) = env.outputs.get("dnsRecord") {
            cx.progress(format!("create the DNS record {record}; the certificate becomes active after that"));
        }
        Ok(())
    }

    async fn after_delete(&self, cx: &StepCx<Env>, _kube: &Kube) -> anyhow::Result<()> {
        // The ingress controller removes the load balancer after the Ingress is gone: wait, so
        // that deleting the cluster next cannot leave its pieces behind.
        until(cx, "the load balancer's pieces to be deleted", LB_PATIENCE, || async {
            let left = load_balancer_pieces(cx).await?;
            Ok(if left.is_empty() { Poll::Ready(()) } else { Poll::Pending(format!("{} left", left.len())) })
        })
        .await
    }
}

/// GKE's ingress controller cannot move a backend from your own OAuth client back to the
/// Google-managed one: it refuses ("Cannot switch to default OAuth once IAP credentials have been
/// set", kubernetes/ingress-gce pkg/backends/features/iap.go; issue #2924) and the backend keeps
/// the old client. Applying the change would report success and change nothing, so say what works.
async fn refuse_switch_to_managed_client(env: &Env, kube: &Kube) -> anyhow::Result<()> {
    if !matches!(env.config.access.oauth_client, OAuthClient::Managed) {
        return Ok(());
    }
    let backend_config = json!({"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig",
                                "metadata": {"name": Names::BACKEND_CONFIG, "namespace": env.config.runtime.namespace}});
    let live = kube.get(&backend_config).await.ok().flatten();
    if live.is_some_and(|b| !b["spec"]["iap"]["oauthclientCredentials"].is_null()) {
        anyhow::bail!(
            "access.iap.oauthClient went back to managed, but GKE cannot switch a load balancer from your own OAuth \
             client back to the Google-managed one (kubernetes/ingress-gce#2924): it would keep using your client\n  \
             fix: recreate the load balancer: `sdctl down ingress` then `sdctl up` (minutes without access; the static \
             IP and everything else stay), or keep oauthClient: {{clientIdEnv, clientSecretEnv}}"
        );
    }
    Ok(())
}

fn certificate_ref(env: &Env) -> Value {
    json!({"apiVersion": "networking.gke.io/v1", "kind": "ManagedCertificate",
           "metadata": {"name": Names::CERTIFICATE, "namespace": env.config.runtime.namespace}})
}

/// Where a managed certificate stands: `status.certificateStatus` (Active, Provisioning,
/// ProvisioningFailed, ProvisioningFailedPermanently, RenewalFailed) and each domain's
/// `domainStatus[].status` (Active, Provisioning, FailedNotVisible, FailedCaaChecking,
/// FailedCaaForbidden, FailedRateLimited): GoogleCloudPlatform/gke-managed-certs, and
/// cloud.google.com/kubernetes-engine/docs/how-to/managed-certs.
fn certificate_state(env: &Env, live: &Value) -> Poll<()> {
    let status = &live["status"];
    let overall = status["certificateStatus"].as_str().unwrap_or("Provisioning");
    if overall == "Active" {
        return Poll::Ready(());
    }
    let domains: Vec<String> = status["domainStatus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["status"] != "Active")
        .map(|d| {
            let state = d["status"].as_str().unwrap_or("Provisioning");
            let hint = match state {
                "FailedNotVisible" => format!(
                    " (its DNS A record does not point at the static IP {} yet)",
                    env.outputs.get("staticIp").unwrap_or_default()
                ),
                "FailedCaaForbidden" | "FailedCaaChecking" => " (a DNS CAA record keeps Google from issuing it)".into(),
                _ => String::new(),
            };
            format!("{} {state}{hint}", d["domain"].as_str().unwrap_or("?"))
        })
        .collect();
    let detail = if domains.is_empty() { String::new() } else { format!(": {}", domains.join(", ")) };
    Poll::Pending(format!("{overall}{detail}"))
}

/// Waits for the certificate; Google keeps retrying a domain it cannot see (DNS takes a while),
/// so that is shown and waited for, and only a permanent failure ends the wait early.
async fn wait_certificate(cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
    let cert = certificate_ref(&cx.env);
    until(cx, "the managed certificate to be active (it needs the DNS record)", CERT_PATIENCE, || async {
        let live = kube.get(&cert).await?.unwrap_or(Value::Null);
        if live["status"]["certificateStatus"] == "ProvisioningFailedPermanently" {
            let Poll::Pending(state) = certificate_state(&cx.env, &live) else { return Ok(Poll::Ready(())) };
            anyhow::bail!(
                "the managed certificate failed for good ({state})\n  fix: check the domain's DNS records, then \
                 `sdctl down ingress` and `sdctl up` to request a new one"
            );
        }
        Ok(certificate_state(&cx.env, &live))
    })
    .await
}
