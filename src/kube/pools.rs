//! What retiring a GPU node pool needs from Kubernetes: cordoning its nodes, and counting the
//! WebUI GameServers users hold on them.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
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

    /// How many GameServers of `namespace` users hold (Allocated or Reserved) on these nodes.
    pub async fn game_servers_in_use_on(&self, namespace: &str, nodes: &[String]) -> anyhow::Result<usize> {
        let api = self.game_servers(namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| anyhow::anyhow!("cannot list GameServers in {namespace}: {e}"))?;
        Ok(list
            .items
            .iter()
            .filter(|gs| matches!(gs.data["status"]["state"].as_str(), Some("Allocated" | "Reserved")))
            .filter(|gs| gs.data["status"]["nodeName"].as_str().is_some_and(|n| nodes.iter().any(|x| x == n)))
            .count())
    }
}
