//! What retiring a GPU node pool needs from Kubernetes: cordoning its nodes, and releasing the
//! WebUI GameServers nobody holds there while counting those users hold.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use kube::core::ApiResource;
use serde_json::json;

use super::Kube;
use crate::names::FIELD_MANAGER;

/// GKE's label naming a node's pool.
const POOL_LABEL: &str = "cloud.google.com/gke-nodepool";

impl Kube {
    /// Agones GameServers of a namespace.
    pub fn game_servers(&self, namespace: &str) -> Api<DynamicObject> {
        let resource = ApiResource {
            group: "agones.dev".into(),
            version: "v1".into(),
            api_version: "agones.dev/v1".into(),
            kind: "GameServer".into(),
            plural: "gameservers".into(),
        };
        Api::namespaced_with(self.client().clone(), namespace, &resource)
    }

    /// Marks every node of `pool` unschedulable (`kubectl cordon`); returns their names.
    pub async fn cordon_pool(&self, pool: &str) -> anyhow::Result<Vec<String>> {
        let nodes: Api<Node> = Api::all(self.client().clone());
        let list = nodes
            .list(&ListParams::default().labels(&format!("{POOL_LABEL}={pool}")))
            .await
            .map_err(|e| anyhow::anyhow!("cannot list the nodes of pool {pool}: {e}"))?;
        let mut names = Vec::new();
        for node in list.items {
            let name = node.metadata.name.unwrap_or_default();
            if !node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
                let patch = Patch::Merge(json!({ "spec": { "unschedulable": true } }));
                nodes
                    .patch(&name, &PatchParams::apply(FIELD_MANAGER), &patch)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot cordon node {name} of pool {pool}: {e}"))?;
            }
            names.push(name);
        }
        Ok(names)
    }

    /// Deletes the GameServers of any Fleet on these nodes that nobody holds (their Fleets make
    /// them again where pods may go); returns how many users hold (Allocated or Reserved). A
    /// delete is conditional on what was listed: one allocated in between is counted, not deleted.
    pub async fn release_idle_game_servers_on(&self, namespace: &str, nodes: &[String]) -> anyhow::Result<usize> {
        let api = self.game_servers(namespace);
        let list = api
            .list(&ListParams::default().labels("agones.dev/fleet"))
            .await
            .map_err(|e| anyhow::anyhow!("cannot list GameServers in {namespace}: {e}"))?;
        let mut in_use = 0;
        for gs in list.items.iter().filter(|gs| {
            gs.data["status"]["nodeName"].as_str().is_some_and(|n| nodes.iter().any(|x| x == n))
                && gs.metadata.deletion_timestamp.is_none()
        }) {
            if matches!(gs.data["status"]["state"].as_str(), Some("Allocated" | "Reserved")) {
                in_use += 1;
                continue;
            }
            let name = gs.metadata.name.clone().unwrap_or_default();
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: gs.metadata.resource_version.clone(),
                    uid: gs.metadata.uid.clone(),
                }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                // Changed since the list (perhaps allocated): looked at again next time.
                Err(kube::Error::Api(e)) if e.code == 409 => in_use += 1,
                Err(e) => anyhow::bail!("cannot delete idle GameServer {namespace}/{name}: {e}"),
            }
        }
        Ok(in_use)
    }

    /// Users' instances (OpenKruiseGame) running on these nodes: they end only when their users
    /// stop them or reclaim finds them idle (stopping one is scaling its set, which the router
    /// and reclaim own).
    pub async fn instances_on(&self, namespace: &str, nodes: &[String]) -> anyhow::Result<usize> {
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(self.client().clone(), namespace);
        let list = pods
            .list(&ListParams::default().labels(crate::runtime::instances::OWNER_GSS))
            .await
            .map_err(|e| anyhow::anyhow!("cannot list the users' instances in {namespace}: {e}"))?;
        Ok(list
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| nodes.iter().any(|x| x == n))
            })
            .count())
    }
}
