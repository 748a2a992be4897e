//! Agones, simulated: its admission webhooks, its controller (Fleets -> GameServerSets ->
//! GameServers -> Pods, FleetAutoscalers) and the aggregated GameServerAllocation API. The
//! controller only works once Agones is installed: its CRDs served and its `agones-controller`
//! Deployment available (the port range comes from that Deployment's MIN_PORT/MAX_PORT).

pub mod admission;
pub mod allocation;
mod autoscaler;
mod fleets;
mod gameservers;

pub use gameservers::sdk_ready;

use std::sync::Arc;

use serde_json::Value;

use super::cluster::Cluster;
use super::controllers::State;
use super::meta;
use super::store::Store;

pub const FLEETS: &str = "fleets.agones.dev";
pub const SETS: &str = "gameserversets.agones.dev";
pub const GAME_SERVERS: &str = "gameservers.agones.dev";
pub const AUTOSCALERS: &str = "fleetautoscalers.autoscaling.agones.dev";
/// The field manager Agones' controller writes with.
pub const MANAGER: &str = "agones-controller";

/// The Agones controller's configuration, when it runs.
pub struct Controller {
    pub min_port: i64,
    pub max_port: i64,
}

/// `agones-controller` is available: Agones reconciles.
pub fn controller(st: &Store) -> Option<Controller> {
    let d = st.list("deployments.apps", None).into_iter().find(|d| meta::name(d) == "agones-controller")?;
    if meta::int_at(&d, "/status/availableReplicas").unwrap_or(0) < 1 {
        return None;
    }
    let env: Vec<Value> = d
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("env").and_then(Value::as_array).cloned().unwrap_or_default())
        .collect();
    let var = |k: &str| {
        env.iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(k))
            .and_then(|e| e.get("value").and_then(Value::as_str))
            .and_then(|v| v.parse::<i64>().ok())
    };
    Some(Controller { min_port: var("MIN_PORT").unwrap_or(7000), max_port: var("MAX_PORT").unwrap_or(8000) })
}

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    gameservers::pods(c, st, s);
    let Some(ctl) = controller(st) else { return };
    if st.registry.by_kind("agones.dev", "GameServer").is_none() {
        return;
    }
    autoscaler::reconcile(c, st, s);
    fleets::reconcile(c, st, s);
    gameservers::reconcile(c, st, &ctl);
}

/// GameServers of a GameServerSet (by label and owner).
pub fn game_servers_of(st: &Store, set: &Value) -> Vec<Arc<Value>> {
    st.list(GAME_SERVERS, Some(meta::namespace(set)))
        .into_iter()
        .filter(|g| meta::owned_by(g, meta::uid(set)))
        .collect()
}

pub fn state(gs: &Value) -> &str {
    meta::str_at(gs, "/status/state").unwrap_or("")
}
