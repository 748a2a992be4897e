//! GameServer life cycle: PortAllocation -> Creating (pod made) -> Starting -> Scheduled (pod
//! bound: address, ports, node) -> RequestReady (the SDK's Ready: simulated after start-up,
//! or only from outside when the scenario's `gameServerReadyBySidecar` is set) -> Ready.
//! Shutdown deletes the GameServer; a vanished pod makes it Unhealthy (its set replaces it).
//! Pods start running after the start-up delay once bound, if their volumes can mount.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, GAME_SERVERS, MANAGER, state};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::controllers::nodes::{addresses, internal_ip};
use crate::k8s::controllers::{State, create, delete, event, event_once, put, remove_finalizer};
use crate::k8s::okg::sets::OWNER_GSS as OKG_OWNER;
use crate::k8s::store::Store;
use crate::k8s::{meta, rbac};

const SIDECAR_IMAGE: &str = "us-docker.pkg.dev/agones-images/release/agones-sdk:1.60.0";
/// The account Agones gives GameServer pods that name none (install.yaml `SDK_SERVICE_ACCOUNT`).
const SDK_SERVICE_ACCOUNT: &str = "agones-sdk";
const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, ctl: &Controller) {
    for gs in st.list(GAME_SERVERS, None) {
        if meta::is_deleting(&gs) {
            finalize(st, &gs);
            continue;
        }
        step(c, st, ctl, &gs);
    }
}

fn finalize(st: &mut Store, gs: &Value) {
    if let Some(pod) = st.get("pods", meta::namespace(gs), meta::name(gs)) {
        if !meta::is_deleting(&pod) {
            delete(st, &pod);
        }
        return;
    }
    if meta::finalizers(gs).iter().any(|f| f == "agones.dev") {
        remove_finalizer(st, gs, "agones.dev", MANAGER);
    }
}

fn set_state(st: &mut Store, gs: &Value, new_state: &str, extra: impl FnOnce(&mut Value)) -> Option<Value> {
    let mut next = gs.clone();
    meta::child_mut(&mut next, "status")["state"] = json!(new_state);
    extra(&mut next);
    put(st, next, MANAGER).ok()
}

fn step(c: &Cluster, st: &mut Store, ctl: &Controller, gs: &Value) {
    let pod = st.get("pods", meta::namespace(gs), meta::name(gs));
    match state(gs) {
        "PortAllocation" => {
            let ports = allocate_ports(st, gs, ctl);
            set_state(st, gs, "Creating", |g| g["spec"]["ports"] = ports);
        }
        "Creating" => {
            if pod.is_none()
                && let Err(e) = create(st, pod_for(gs), MANAGER)
            {
                if let Some(g) = set_state(st, gs, "Error", |_| {}) {
                    let msg = format!("error creating Pod for GameServer {}: {}", meta::name(gs), e.message);
                    event(st, &g, "Warning", "Error", &msg, "gameserver-controller");
                }
                return;
            }
            if let Some(g) = set_state(st, gs, "Starting", |_| {}) {
                event(st, &g, "Normal", "Creating", "Pod created", "gameserver-controller");
            }
        }
        "Starting" => match pod.as_ref().and_then(|p| meta::str_at(p, "/spec/nodeName").map(String::from)) {
            Some(node) => {
                let scheduled = address_status(c, st, gs, &node);
                if let Some(g) = set_state(st, gs, "Scheduled", |g| merge_status(g, scheduled)) {
                    event(
                        st,
                        &g,
                        "Normal",
                        "Scheduled",
                        &format!("Address and port populated, node {node}"),
                        "gameserver-controller",
                    );
                }
            }
            None if pod.is_none() => {
                let _ = create(st, pod_for(gs), MANAGER);
            }
            None => {}
        },
        "Scheduled" => {
            let running = pod.as_ref().is_some_and(|p| meta::str_at(p, "/status/phase") == Some("Running"));
            if pod.is_none() {
                set_state(st, gs, "Unhealthy", |_| {});
            } else if running && !pod.as_ref().is_some_and(|p| sdk_can_run(st, p)) {
                if let Some(p) = &pod {
                    let account = meta::str_at(p, "/spec/serviceAccountName").unwrap_or("default");
                    let msg = format!(
                        "the SDK sidecar cannot list GameServers as service account {}/{account}: Connection to Kubernetes service failed",
                        meta::namespace(p)
                    );
                    event_once(st, p, "Warning", "SDKForbidden", &msg, "gameserver-sidecar");
                }
            } else if running && !c.host.scenario().game_server_ready_by_sidecar {
                // The SDK sidecar's Ready call, once the game server answers.
                set_state(st, gs, "RequestReady", |_| {});
            }
        }
        "RequestReady" if pod.is_some() => {
            // Agones refreshes the addresses on the way to Ready (controller.go, syncGameServerRequestReadyState).
            let node = meta::str_at(gs, "/status/nodeName").unwrap_or_default().to_string();
            let refreshed = address_status(c, st, gs, &node);
            if let Some(g) = set_state(st, gs, "Ready", |g| merge_status(g, refreshed)) {
                event(st, &g, "Normal", "Ready", "SDK.Ready() complete", "gameserver-controller");
            }
        }
        "Ready" | "Allocated" | "Reserved" if pod.as_ref().is_none_or(|p| meta::is_deleting(p)) => {
            if let Some(g) = set_state(st, gs, "Unhealthy", |_| {}) {
                event(st, &g, "Warning", "Unhealthy", "Pod is missing", "gameserver-controller");
            }
        }
        // Past Ready, a game server container that terminated (a preempted node's shutdown ends
        // every container) makes the GameServer Unhealthy (agones pkg/gameservers/health.go,
        // failedContainer).
        "Ready" | "Allocated" | "Reserved"
            if pod.as_ref().is_some_and(|p| meta::str_at(p, "/status/phase") == Some("Failed")) =>
        {
            if let Some(g) = set_state(st, gs, "Unhealthy", |_| {}) {
                event(st, &g, "Warning", "Unhealthy", "Issue with Gameserver pod", "health-controller");
            }
        }
        "Shutdown" => delete(st, gs),
        _ => {}
    }
}

fn merge_status(g: &mut Value, extra: Value) {
    let status = meta::child_mut(g, "status");
    if let (Some(s), Some(e)) = (status.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
}

/// Host ports from the Agones range for Dynamic/Passthrough ports, unique in the cluster.
fn allocate_ports(st: &Store, gs: &Value, ctl: &Controller) -> Value {
    let mut used: Vec<i64> = st
        .list(GAME_SERVERS, None)
        .iter()
        .flat_map(|g| g.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|p| meta::int_at(&p, "/hostPort"))
        .collect();
    let mut ports = gs.pointer("/spec/ports").cloned().unwrap_or(json!([]));
    for p in ports.as_array_mut().into_iter().flatten() {
        let policy = p.get("portPolicy").and_then(Value::as_str).unwrap_or("Dynamic").to_string();
        if !matches!(policy.as_str(), "Dynamic" | "Passthrough") {
            continue;
        }
        let port = (ctl.min_port..=ctl.max_port).find(|n| !used.contains(n)).unwrap_or(ctl.min_port);
        used.push(port);
        p["hostPort"] = json!(port);
        if policy == "Passthrough" {
            p["containerPort"] = json!(port);
        }
    }
    ports
}

/// The pod Agones makes for a GameServer: the template, host ports on the named
/// container, the SDK sidecar, Agones' labels and owner.
fn pod_for(gs: &Value) -> Value {
    let name = meta::name(gs);
    let template = gs.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    let default_container = gs.pointer("/spec/container").and_then(Value::as_str).unwrap_or("").to_string();
    for p in gs.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
        let target = p.get("container").and_then(Value::as_str).unwrap_or(&default_container).to_string();
        let mut cp = json!({
            "containerPort": p.get("containerPort").cloned().unwrap_or(json!(0)),
            "protocol": if p.get("protocol").and_then(Value::as_str) == Some("TCP") { "TCP" } else { "UDP" },
        });
        if p.get("portPolicy").and_then(Value::as_str) != Some("None")
            && let Some(h) = p.get("hostPort")
        {
            cp["hostPort"] = h.clone();
        }
        if let Some(c) = spec
            .get_mut("containers")
            .and_then(Value::as_array_mut)
            .and_then(|cs| cs.iter_mut().find(|c| c.get("name").and_then(Value::as_str) == Some(target.as_str())))
        {
            // A port the template declares stays; Agones adds the GameServer's.
            crate::k8s::meta::list_mut(c, "ports").push(cp);
        }
    }
    if let Some(cs) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        cs.insert(0, json!({
            "name": "agones-gameserver-sidecar",
            "image": SIDECAR_IMAGE,
            "args": ["--grpc-port=9357", "--http-port=9358"],
            "env": [{"name": "GAMESERVER_NAME", "value": name}, {"name": "POD_NAMESPACE", "value": meta::namespace(gs)}],
            "resources": {"requests": {"cpu": "30m"}},
        }));
    }
    // Agones' "opinionated mode" (pkg/gameservers/controller.go, createGameServerPod): a pod
    // template naming no service account runs as `agones-sdk`, and the game server container
    // gets an emptyDir over the token path (DisableServiceAccount). A template that names one is
    // left alone: every container then gets that account's token.
    if spec.get("serviceAccountName").is_none() {
        spec["serviceAccountName"] = json!(SDK_SERVICE_ACCOUNT);
        hide_token(&mut spec, &default_container);
    }
    spec["hostname"] = json!(name.replace('.', "-"));
    let mut labels = meta::string_map(template.pointer("/metadata/labels"));
    labels.insert("agones.dev/gameserver".into(), name.to_string());
    labels.insert("agones.dev/role".into(), "gameserver".into());
    let safe = gs.pointer("/spec/eviction/safe").and_then(Value::as_str) == Some("Always");
    labels.insert("agones.dev/safe-to-evict".into(), safe.to_string());
    let mut annotations = meta::string_map(template.pointer("/metadata/annotations"));
    annotations.insert("agones.dev/container".into(), default_container);
    annotations.insert("cluster-autoscaler.kubernetes.io/safe-to-evict".into(), safe.to_string());
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta::namespace(gs),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [meta::owner_ref(gs)],
        },
        "spec": spec,
    })
}

/// Agones' `DisableServiceAccount`: a read-only emptyDir named `empty` over the token path of
/// the game server container only.
fn hide_token(spec: &mut Value, container: &str) {
    meta::list_mut(spec, "volumes").push(json!({"name": "empty", "emptyDir": {}}));
    let mount = json!({"name": "empty", "mountPath": TOKEN_PATH, "readOnly": true});
    if let Some(c) = spec
        .get_mut("containers")
        .and_then(Value::as_array_mut)
        .and_then(|cs| cs.iter_mut().find(|c| c["name"] == container))
    {
        meta::list_mut(c, "volumeMounts").push(mount);
    }
}

/// Whether the SDK sidecar of `pod` can work: its service account may list, watch and patch its
/// GameServer (the `agones-sdk` ClusterRole). Without list it retries its first List forever
/// and serves nothing, so the GameServer never becomes Ready (pkg/sdkserver/sdkserver.go,
/// WaitForConnection; cmd/sdk-server/main.go).
fn sdk_can_run(st: &Store, pod: &Value) -> bool {
    let ns = meta::namespace(pod);
    let account = meta::str_at(pod, "/spec/serviceAccountName").unwrap_or("default");
    ["list", "watch", "patch"].iter().all(|verb| rbac::allows(st, ns, account, "agones.dev", "gameservers", verb))
}

/// What a Scheduled GameServer reports, as Agones 1.60 writes it (pkg/gameservers/gameservers.go,
/// `address()` and `applyGameServerAddressAndPort`): `address` is the node's ExternalDNS, else
/// ExternalIP, else InternalDNS, else InternalIP; `addresses` the node's addresses in the node's
/// order, then one `PodIP` entry per pod IP; each port its host port, or its container port
/// with port policy None. With the scenario's `gameServerEndpoint(s)`, the port named `webui`
/// reports the endpoint's port (the pod's IP is the endpoint's host): only that address and
/// port are served.
fn address_status(c: &Cluster, st: &Store, gs: &Value, node: &str) -> Value {
    let scenario = c.host.scenario();
    let endpoint_port = endpoint_of(c, st, node).map(|(_, port)| port);
    let mut addresses = st
        .get("nodes", "", node)
        .and_then(|n| n.pointer("/status/addresses").cloned())
        .unwrap_or_else(|| addresses(&scenario, node, false));
    let pick = |ty: &str| {
        addresses
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == ty)
            .and_then(|a| a["address"].as_str())
            .map(String::from)
    };
    let address = pick("ExternalDNS")
        .or_else(|| pick("ExternalIP"))
        .or_else(|| pick("InternalDNS"))
        .or_else(|| pick("InternalIP"))
        .unwrap_or_default();
    let pod = st.get("pods", meta::namespace(gs), meta::name(gs));
    let pod_ips = pod.as_ref().and_then(|p| p.pointer("/status/podIPs")).and_then(Value::as_array).cloned();
    if let Some(list) = addresses.as_array_mut() {
        for ip in pod_ips.into_iter().flatten().filter_map(|i| i["ip"].as_str().map(String::from)) {
            list.push(json!({"type": "PodIP", "address": ip}));
        }
    }
    let ports: Vec<Value> = gs
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let pname = p.get("name").and_then(Value::as_str).unwrap_or("");
            let port = if pname == "webui" && endpoint_port.is_some() {
                endpoint_port
            } else {
                meta::int_at(p, "/hostPort").or_else(|| meta::int_at(p, "/containerPort"))
            };
            json!({"name": pname, "port": port.unwrap_or(0)})
        })
        .collect();
    json!({
        "address": address,
        "addresses": addresses,
        "nodeName": node,
        "ports": ports,
    })
}

/// The stand-in WebUI (`host`, `port`) the WebUI pods on `node` answer at, when the scenario
/// has `gameServerEndpoints`: GPU nodes take the endpoints in turn (cycling), those already
/// there when first asked in name order, nodes added later as they come, each keeping its own.
fn endpoint_of(c: &Cluster, st: &Store, node: &str) -> Option<(String, i64)> {
    let endpoints = c.host.scenario().endpoints();
    if endpoints.is_empty() {
        return None;
    }
    let mut given = c.stand_ins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !given.contains_key(node) {
        let mut gpu_nodes: Vec<String> = st
            .list("nodes", None)
            .iter()
            .filter(|n| n.pointer("/status/capacity/nvidia.com~1gpu").is_some())
            .map(|n| meta::name(n).to_string())
            .filter(|n| !given.contains_key(n))
            .collect();
        gpu_nodes.sort();
        if !gpu_nodes.iter().any(|n| n == node) {
            gpu_nodes.push(node.to_string());
        }
        for n in gpu_nodes {
            let next = given.len();
            given.insert(n, next);
        }
    }
    let position = given.get(node).copied().unwrap_or(0);
    let (host, port) = endpoints[position % endpoints.len()].rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

/// Running pods: bound, start-up delay passed, volumes mountable.
pub fn pods(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for pod in st.list("pods", None) {
        if meta::is_deleting(&pod) || meta::str_at(&pod, "/status/phase") != Some("Pending") {
            continue;
        }
        let Some(node) = meta::str_at(&pod, "/spec/nodeName").map(String::from) else { continue };
        if let Err(msg) = mountable(st, &pod) {
            event_once(st, &pod, "Warning", "FailedMount", &msg, "kubelet");
            continue;
        }
        // A WebUI pod: an Agones GameServer's, or an OpenKruiseGame instance's.
        let webui =
            meta::labels(&pod).contains_key("agones.dev/gameserver") || meta::labels(&pod).contains_key(OKG_OWNER);
        let delay = if webui {
            c.delay(Delay::GameServerStart) + image_pull(c, st, s, &pod, &node)
        } else {
            c.delay(Delay::WorkloadReady)
        };
        if !s.elapsed(&format!("pod/{}", meta::uid(&pod)), delay) {
            continue;
        }
        let now = meta::now_rfc3339();
        let statuses: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|ct| {
                json!({"name": ct["name"], "image": ct["image"], "ready": true, "started": true, "restartCount": 0,
                             "state": {"running": {"startedAt": now}}})
            })
            .collect();
        // Pod IPs are loopback addresses too (127.8.0.0/16): nothing a test dials leaves the
        // machine. A WebUI pod is at its stand-in WebUI's address when the scenario has one.
        let stand_in = webui.then(|| endpoint_of(c, st, &node)).flatten();
        let ip = stand_in
            .as_ref()
            .map(|(host, _)| host.clone())
            .unwrap_or_else(|| format!("127.8.{}.{}", rand_octet(meta::uid(&pod)), rand_octet(meta::name(&pod))));
        let mut next = (*pod).clone();
        // Test hook: an instance pod's `webui` port is its stand-in's (Agones' GameServers
        // report theirs in their status instead).
        if let Some((_, port)) = stand_in.filter(|_| meta::labels(&pod).contains_key(OKG_OWNER)) {
            let containers = next.pointer_mut("/spec/containers").and_then(Value::as_array_mut);
            for p in containers.into_iter().flatten().filter_map(|ct| ct.get_mut("ports")?.as_array_mut()).flatten() {
                if p["name"] == "webui" {
                    p["containerPort"] = json!(port);
                }
            }
        }
        let status = meta::child_mut(&mut next, "status");
        status["phase"] = json!("Running");
        status["hostIP"] = json!(internal_ip(&node));
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
        status["startTime"] = json!(now);
        status["containerStatuses"] = json!(statuses);
        for t in ["Initialized", "ContainersReady", "Ready"] {
            meta::set_condition(status, t, "True", "", "");
        }
        let _ = put(st, next, "kubelet");
        event(st, &pod, "Normal", "Started", "Started container", "kubelet");
    }
}

/// The WebUI image pull the first GameServer pod on a node waits for (scenario `webuiImageGb`),
/// as the cold-start model times it for the node's pool; later pods there find it pulled.
fn image_pull(c: &Arc<Cluster>, st: &Store, s: &mut State, pod: &Value, node: &str) -> Duration {
    let gb = c.host.scenario().webui_image_gb;
    if gb <= 0.0 {
        return Duration::ZERO;
    }
    let uid = meta::uid(pod).to_string();
    if let Some((puller, took)) = s.image_pulls.get(node) {
        return if *puller == uid { *took } else { Duration::ZERO };
    }
    let pool = st
        .get("nodes", "", node)
        .and_then(|n| meta::labels(&n).get("cloud.google.com/gke-nodepool").cloned())
        .unwrap_or_default();
    let mode = c.host.node_pools(&c.name).into_iter().find(|p| p.name == pool).map(|p| p.image_pull);
    let mode = mode.unwrap_or(crate::k8s::coldstart::ImagePull::Registry);
    let first = s.image_pulls.is_empty();
    let took = c.host.scaled(Duration::from_secs_f64(crate::k8s::coldstart::pull_secs(mode, gb, first)));
    s.image_pulls.insert(node.to_string(), (uid, took));
    took
}

fn rand_octet(s: &str) -> u8 {
    (s.bytes().fold(0u32, |a, b| a.wrapping_mul(33).wrapping_add(b as u32)) % 250) as u8 + 2
}

/// Every persistent volume of the pod is bound and its CSI driver registered.
fn mountable(st: &Store, pod: &Value) -> Result<(), String> {
    let ns = meta::namespace(pod);
    for v in pod.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten() {
        let Some(claim) = v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) else { continue };
        let volume = v.get("name").and_then(Value::as_str).unwrap_or("");
        let pv = st
            .get("persistentvolumeclaims", ns, claim)
            .filter(|c| meta::str_at(c, "/status/phase") == Some("Bound"))
            .and_then(|c| meta::str_at(&c, "/spec/volumeName").map(String::from))
            .and_then(|n| st.get("persistentvolumes", "", &n));
        let Some(pv) = pv else {
            return Err(format!(
                "Unable to attach or mount volumes: unmounted volumes=[{volume}]: timed out waiting for the condition"
            ));
        };
        if let Some(driver) = meta::str_at(&pv, "/spec/csi/driver")
            && st.get("csidrivers.storage.k8s.io", "", driver).is_none()
        {
            return Err(format!(
                "MountVolume.MountDevice failed for volume {:?} : kubernetes.io/csi: attacher.MountDevice failed to create newCsiDriverClient: driver name {driver} not found in the list of registered CSI drivers",
                meta::name(&pv)
            ));
        }
    }
    Ok(())
}

/// The SDK's `Ready()` from outside (a test standing in for the sidecar, or for code in the game
/// container calling the sidecar's unauthenticated `POST /ready`). As in Agones, an Allocated or
/// Reserved GameServer goes back to RequestReady and then Ready, keeping every label and
/// annotation its allocation added (sdkserver.go `Ready`/`updateState`; docs: "move an Allocated
/// GameServer back to Ready to be reused").
pub fn sdk_ready(st: &mut Store, ns: &str, name: &str) -> Result<(), String> {
    let gs = st.get(GAME_SERVERS, ns, name).ok_or_else(|| format!("gameservers.agones.dev {name:?} not found"))?;
    if meta::is_deleting(&gs) {
        return Err(format!("GameServer {name} is being deleted: no escaping"));
    }
    match state(&gs) {
        "Scheduled" | "RequestReady" | "Allocated" | "Reserved" => {
            set_state(st, &gs, "RequestReady", |_| {});
            Ok(())
        }
        "Ready" => Ok(()),
        "Unhealthy" => Err(format!("GameServer {name} is Unhealthy: it cannot go back to Ready")),
        other => Err(format!("GameServer {name} is {other}: the SDK is not running yet")),
    }
}
