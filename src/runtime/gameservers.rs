//! The WebUI GameServers through the Kubernetes API (kube-rs): read, find a user's, allocate
//! one (`GameServerAllocation` in `allocation.agones.dev/v1`), delete. Credentials come from
//! `KUBECONFIG` / `~/.kube/config`, else the pod's service account.

use std::time::SystemTime;

use anyhow::Context;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::names::{K8S_ANNOTATION_USER_EMAIL, K8S_LABEL_USER};

/// The name of the WebUI's port in the Fleet's GameServer template.
pub const WEBUI_PORT_NAME: &str = "webui";

/// How long one Kubernetes call may take (the router's allocation lock lives 30 s).
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long the Kubernetes client reuses an idle connection (hyper-util's default, which kube
/// keeps; checked when a connection is taken from the pool).
const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(90);

/// Annotation Agones sets on each allocation (RFC 3339 time).
const LAST_ALLOCATED: &str = "agones.dev/last-allocated";

/// What the runtime needs to know of a GameServer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameServer {
    pub name: String,
    pub state: String,
    /// `address:port` of the WebUI (the pod's IP and the port named `webui`).
    pub target: Option<String>,
    pub user_label: Option<String>,
    pub user_email: Option<String>,
    /// Its Fleet (`agones.dev/fleet`).
    pub fleet: Option<String>,
    /// When it was last allocated (Agones' `agones.dev/last-allocated` annotation).
    pub allocated_at: Option<SystemTime>,
    pub deleting: bool,
    /// Its version when read: a delete conditioned on it fails if anything changed since.
    pub resource_version: Option<String>,
}

impl GameServer {
    fn from_object(o: &DynamicObject) -> Self {
        let status = &o.data["status"];
        let label = o.metadata.labels.as_ref().and_then(|l| l.get(K8S_LABEL_USER)).cloned();
        let email = o.metadata.annotations.as_ref().and_then(|a| a.get(K8S_ANNOTATION_USER_EMAIL)).cloned();
        Self {
            name: o.metadata.name.clone().unwrap_or_default(),
            state: status["state"].as_str().unwrap_or_default().to_string(),
            target: target_of(status),
            user_label: label,
            user_email: email,
            fleet: o.metadata.labels.as_ref().and_then(|l| l.get("agones.dev/fleet")).cloned(),
            allocated_at: o
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(LAST_ALLOCATED))
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok()),
            deleting: o.metadata.deletion_timestamp.is_some(),
            resource_version: o.metadata.resource_version.clone(),
        }
    }

    /// Carries a user's label without being Allocated: a GameServer someone sent back to Ready
    /// (possibly from inside its WebUI). Never to be handed to anyone: reclaim deletes it.
    pub fn tainted(&self) -> bool {
        self.user_label.is_some() && self.state != "Allocated" && !self.deleting
    }

    /// Allocated to this user (label and e-mail annotation agree) and not going away.
    pub fn serves(&self, label: &str, email: &str) -> bool {
        self.state == "Allocated"
            && !self.deleting
            && self.user_label.as_deref() == Some(label)
            && self.user_email.as_deref().is_none_or(|e| e == email)
    }
}

/// `address:port` of the WebUI from a GameServer's (or an allocation's) status: the pod's IP and
/// the port named `webui`. The Fleet's port policy is `None` (no host port), so Agones reports
/// the container port and lists the pod's IPs as `PodIP` entries of `status.addresses`
/// (pkg/apis/agones/v1/gameserver.go `GameServerPort::Status`, pkg/gameservers/gameservers.go
/// `applyGameServerAddressAndPort`); NetworkPolicies admit only the router there. Never
/// `status.address`: Agones fills it with the node's ExternalIP first.
fn target_of(status: &Value) -> Option<String> {
    let pod_ips: Vec<&str> = status["addresses"]
        .as_array()?
        .iter()
        .filter(|a| a["type"] == "PodIP")
        .filter_map(|a| a["address"].as_str())
        .filter(|a| !a.is_empty())
        .collect();
    // Dual-stack pods list both families; the router dials IPv4 when there is one.
    let address = pod_ips.iter().find(|a| !a.contains(':')).or(pod_ips.first())?;
    let port = status["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == WEBUI_PORT_NAME)
        .and_then(|p| p["port"].as_u64())
        .filter(|p| *p > 0)?;
    Some(if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") })
}

/// A Kubernetes client with the ambient credentials whose calls get the head of their answer
/// within `CALL_TIMEOUT`, and its body without a pause as long.
///
/// Not kube's `read_timeout` for that: hyper-timeout's read timer runs on idle pooled connections
/// too, so a connection idle for the timeout dies, and a call that takes it just as the timer
/// fires fails with "connection error: timed out". With the timeout at `CALL_TIMEOUT` that hit
/// the router's re-checks, which come every `assign::VERIFIED_FOR` (also 10 s): under
/// `cargo bench --bench router`, a few re-checks failed every run. The read timeout is now longer
/// than a connection may idle in the pool plus a call, so it never ends a reused connection.
pub async fn client() -> anyhow::Result<kube::Client> {
    let mut config = kube::Config::infer().await.context(
        "cannot reach the Kubernetes API (no in-cluster service account, and KUBECONFIG / ~/.kube/config unusable)",
    )?;
    config.connect_timeout = Some(CALL_TIMEOUT);
    config.read_timeout = Some(POOL_IDLE + 2 * CALL_TIMEOUT);
    config.write_timeout = Some(CALL_TIMEOUT);
    let builder = kube::client::ClientBuilder::try_from(config).context("cannot build a Kubernetes client")?;
    Ok(builder
        .with_layer(&tower::timeout::TimeoutLayer::new(CALL_TIMEOUT))
        .with_layer(&tower_http::timeout::ResponseBodyTimeoutLayer::new(CALL_TIMEOUT))
        .build())
}

#[derive(Clone)]
pub struct GameServers {
    namespace: String,
    servers: Api<DynamicObject>,
    allocations: Api<DynamicObject>,
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

impl GameServers {
    /// A client for the GameServers of `namespace`, with the ambient credentials. Calls time out
    /// after `CALL_TIMEOUT`, well within the router's allocation lock.
    pub async fn connect(namespace: &str) -> anyhow::Result<Self> {
        Ok(Self::new(client().await?, namespace))
    }

    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            servers: Api::namespaced_with(
                client.clone(),
                namespace,
                &resource("agones.dev", "GameServer", "gameservers"),
            ),
            allocations: Api::namespaced_with(
                client,
                namespace,
                &resource("allocation.agones.dev", "GameServerAllocation", "gameserverallocations"),
            ),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub async fn get(&self, name: &str) -> anyhow::Result<Option<GameServer>> {
        let found = self
            .servers
            .get_opt(name)
            .await
            .with_context(|| format!("cannot read GameServer {}/{name}", self.namespace))?;
        Ok(found.as_ref().map(GameServer::from_object))
    }

    /// GameServers matching a label selector (`""`: all of the namespace).
    pub async fn list(&self, selector: &str) -> anyhow::Result<Vec<GameServer>> {
        let list = self
            .servers
            .list(&ListParams::default().labels(selector))
            .await
            .with_context(|| format!("cannot list GameServers in namespace {}", self.namespace))?;
        Ok(list.items.iter().map(GameServer::from_object).collect())
    }

    /// A GameServer of `fleet` already Allocated to this user (e.g. allocated just before a
    /// router restart).
    pub async fn find_allocated(&self, fleet: &str, label: &str, email: &str) -> anyhow::Result<Option<GameServer>> {
        Ok(self
            .list(&format!("{K8S_LABEL_USER}={label},agones.dev/fleet={fleet}"))
            .await?
            .into_iter()
            .find(|g| g.serves(label, email) && g.target.is_some()))
    }

    /// Allocates a Ready GameServer of `fleet` to the user; None when none is free.
    pub async fn allocate(&self, fleet: &str, label: &str, email: &str) -> anyhow::Result<Option<GameServer>> {
        let request = json!({
            "apiVersion": "allocation.agones.dev/v1",
            "kind": "GameServerAllocation",
            "metadata": {"namespace": self.namespace},
            "spec": {
                // Never a GameServer that served someone: Agones keeps allocation labels, so one sent
                // back to Ready (its SDK's unauthenticated `/ready`, reachable from the WebUI
                // container) still carries its user's label and is refused here.
                "selectors": [{
                    "matchLabels": {"agones.dev/fleet": fleet},
                    "matchExpressions": [{"key": K8S_LABEL_USER, "operator": "DoesNotExist"}],
                    "gameServerState": "Ready",
                }],
                "scheduling": "Packed",
                "metadata": {
                    "labels": {K8S_LABEL_USER: label},
                    "annotations": {K8S_ANNOTATION_USER_EMAIL: email},
                },
            },
        });
        let request: DynamicObject = serde_json::from_value(request).context("allocation request")?;
        let answer = self
            .allocations
            .create(&PostParams::default(), &request)
            .await
            .with_context(|| format!("cannot allocate a GameServer of Fleet {}/{fleet}", self.namespace))?;
        let status = &answer.data["status"];
        if status["state"] != "Allocated" {
            return Ok(None);
        }
        let name = status["gameServerName"].as_str().unwrap_or_default().to_string();
        let target = target_of(status);
        if target.is_none() {
            anyhow::bail!("GameServer {name} was allocated but reports no address and `{WEBUI_PORT_NAME}` port");
        }
        Ok(Some(GameServer {
            name,
            state: "Allocated".into(),
            target,
            user_label: Some(label.into()),
            user_email: Some(email.into()),
            fleet: Some(fleet.into()),
            allocated_at: Some(SystemTime::now()),
            deleting: false,
            resource_version: None,
        }))
    }

    /// Deletes a GameServer (its Fleet replaces it with a fresh Ready one). False: already gone,
    /// or changed since `resource_version` was read (another pass or a router got there first).
    pub async fn delete(&self, name: &str, resource_version: Option<&str>) -> anyhow::Result<bool> {
        let params = DeleteParams {
            preconditions: resource_version
                .map(|rv| kube::api::Preconditions { resource_version: Some(rv.to_string()), uid: None }),
            ..DeleteParams::default()
        };
        match self.servers.delete(name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot delete GameServer {}/{name}", self.namespace)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_pod_ip_and_the_webui_port_by_name() {
        // As Agones 1.60 reports a GameServer with port policy None on a public node.
        let status = json!({
            "address": "34.66.1.2",
            "addresses": [{"type": "InternalIP", "address": "10.128.0.5"}, {"type": "ExternalIP", "address": "34.66.1.2"},
                          {"type": "Hostname", "address": "gke-node"}, {"type": "PodIP", "address": "10.8.0.7"}],
            "ports": [{"name": "default", "port": 7001}, {"name": "webui", "port": 7860}],
        });
        assert_eq!(target_of(&status).as_deref(), Some("10.8.0.7:7860"));
        let dual = json!({"addresses": [{"type": "PodIP", "address": "fd00::7"}, {"type": "PodIP", "address": "10.8.0.7"}],
                          "ports": [{"name": "webui", "port": 7860}]});
        assert_eq!(target_of(&dual).as_deref(), Some("10.8.0.7:7860"));
        let v6 =
            json!({"addresses": [{"type": "PodIP", "address": "fd00::1"}], "ports": [{"name": "webui", "port": 7860}]});
        assert_eq!(target_of(&v6).as_deref(), Some("[fd00::1]:7860"));
        // No pod IP yet (or no addresses at all): nothing to dial, never a node's address.
        assert_eq!(target_of(&json!({"address": "34.66.1.2", "ports": [{"name": "webui", "port": 7860}]})), None);
        let node_only = json!({"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}], "ports": [{"name": "webui", "port": 7860}]});
        assert_eq!(target_of(&node_only), None);
        assert_eq!(
            target_of(
                &json!({"addresses": [{"type": "PodIP", "address": "10.8.0.7"}], "ports": [{"name": "other", "port": 1}]})
            ),
            None
        );
    }
}
