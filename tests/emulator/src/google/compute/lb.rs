//! The load balancer GKE's Ingress controller builds for an Ingress: NEGs, health checks,
//! backend services, URL map, target proxy and forwarding rule, as compute resources. They are
//! removed with the Ingress, and left behind (leaked, as on Google) when the cluster goes first.

use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{BASE, kinds};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::k8s::{LoadBalancer, LoadBalancerRequest};

pub fn create(app: &Arc<App>, cluster: &str, request: &LoadBalancerRequest) -> LoadBalancer {
    let mut world = app.world();
    let Some(info) = crate::google::container::cluster_info(&world, cluster) else {
        return LoadBalancer { ip: String::new(), backend_services: Vec::new() };
    };
    let project = info.project.clone();
    let id = format!("{cluster}/{}/{}", request.namespace, request.ingress);
    let uid = &hex(&info.uid)[..16];
    let mut keys = Vec::new();
    let mut backend_names = Vec::new();
    let mut backend_links = Vec::new();
    for backend in &request.backends {
        let (svc, port) = backend.rsplit_once(':').unwrap_or((backend.as_str(), "80"));
        let svc = svc.rsplit('/').next().unwrap_or(svc);
        let suffix = &hex(&format!("{id}/{backend}"))[..8];
        let name = truncate(&format!("k8s1-{uid}-{}-{svc}-{port}", request.namespace), 54, suffix);
        let neg_key = format!("projects/{project}/zones/{}/networkEndpointGroups/{name}", info.zone);
        let hc_key = format!("projects/{project}/global/healthChecks/{name}");
        let bs_key = format!("projects/{project}/global/backendServices/{name}");
        let neg = json!({
            "name": name, "networkEndpointType": "GCE_VM_IP_PORT", "size": 1, "network": info.network,
            "defaultPort": 0, "description": format!("{{\"cluster-uid\":\"{uid}\",\"namespace\":\"{}\",\"service-name\":\"{svc}\",\"port\":\"{port}\"}}", request.namespace),
            "zone": format!("{BASE}projects/{project}/zones/{}", info.zone),
        });
        put(app, &mut world, "NetworkEndpointGroup", &neg_key, neg, "compute#networkEndpointGroup");
        let hc = json!({
            "name": name, "type": "HTTP", "checkIntervalSec": 15, "timeoutSec": 15, "healthyThreshold": 1, "unhealthyThreshold": 2,
            "httpHealthCheck": { "portSpecification": "USE_SERVING_PORT", "requestPath": "/" },
            "description": "{\"kubernetes.io/service-name\":\"...\",\"kubernetes.io/service-port\":\"...\"}",
        });
        put(app, &mut world, "HealthCheck", &hc_key, hc, "compute#healthCheck");
        let mut bs = json!({
            "name": name, "protocol": "HTTP", "port": 80, "portName": "port0", "timeoutSec": 30, "loadBalancingScheme": "EXTERNAL",
            "healthChecks": [format!("{BASE}{hc_key}")],
            "backends": [{ "group": format!("{BASE}{neg_key}"), "balancingMode": "RATE", "maxRatePerEndpoint": 1, "capacityScaler": 1 }],
            "description": format!("{{\"kubernetes.io/service-name\":\"{}/{svc}\",\"kubernetes.io/service-port\":\"{port}\"}}", request.namespace),
            "connectionDraining": { "drainingTimeoutSec": 0 },
        });
        if request.iap {
            bs["iap"] = json!({ "enabled": true, "oauth2ClientId": "", "oauth2ClientSecretSha256": "" });
        }
        put(app, &mut world, "BackendService", &bs_key, bs, "compute#backendService");
        backend_names.push(name);
        backend_links.push(format!("{BASE}{bs_key}"));
        keys.extend([neg_key, hc_key, bs_key]);
    }
    let suffix = &hex(&id)[..8];
    let base = format!("{uid}-{}-{}", request.namespace, request.ingress);
    let um_name = truncate(&format!("k8s2-um-{base}"), 54, suffix);
    let tp_name = truncate(&format!("k8s2-tp-{base}"), 54, suffix);
    let fr_name = truncate(&format!("k8s2-fr-{base}"), 54, suffix);
    let um_key = format!("projects/{project}/global/urlMaps/{um_name}");
    let tp_key = format!("projects/{project}/global/targetHttpProxies/{tp_name}");
    let fr_key = format!("projects/{project}/global/forwardingRules/{fr_name}");
    let default_service = backend_links.first().cloned().map(Value::String).unwrap_or(Value::Null);
    put(
        app,
        &mut world,
        "UrlMap",
        &um_key,
        json!({ "name": um_name, "defaultService": default_service }),
        "compute#urlMap",
    );
    put(
        app,
        &mut world,
        "TargetHttpProxy",
        &tp_key,
        json!({ "name": tp_name, "urlMap": format!("{BASE}{um_key}") }),
        "compute#targetHttpProxy",
    );
    let static_address = request.static_ip_name.as_ref().and_then(|name| {
        let key = format!("projects/{project}/global/addresses/{name}");
        world.compute.get(&key).map(|a| (key, a["address"].as_str().unwrap_or_default().to_string()))
    });
    let ip = match &static_address {
        Some((_, ip)) => ip.clone(),
        // A named static IP that does not exist leaves the Ingress without an address, as on GKE.
        None if request.static_ip_name.is_some() => String::new(),
        None => world.compute.allocate_ip(true),
    };
    if !ip.is_empty() {
        let fr = json!({
            "name": fr_name, "IPAddress": ip, "IPProtocol": "TCP", "portRange": "80-80", "target": format!("{BASE}{tp_key}"),
            "loadBalancingScheme": "EXTERNAL", "networkTier": "PREMIUM",
        });
        put(app, &mut world, "ForwardingRule", &fr_key, fr, "compute#forwardingRule");
        keys.push(fr_key.clone());
        if let Some((addr_key, _)) = &static_address
            && let Some(addr) = world.compute.resources.get_mut(addr_key)
        {
            addr.value["users"] = json!([format!("{BASE}{fr_key}")]);
            addr.value["status"] = json!("IN_USE");
        }
    }
    keys.extend([tp_key, um_key]);
    world.compute.load_balancers.insert(id, keys);
    LoadBalancer { ip, backend_services: backend_names }
}

pub fn delete(app: &Arc<App>, cluster: &str, namespace: &str, ingress: &str) {
    let mut world = app.world();
    let id = format!("{cluster}/{namespace}/{ingress}");
    let Some(keys) = world.compute.load_balancers.remove(&id) else {
        return;
    };
    // Consumers first (forwarding rule, proxy, URL map), then what they used.
    for key in keys.iter().rev().chain(keys.iter()) {
        kinds::remove(&mut world, key);
    }
}

fn put(app: &App, world: &mut crate::google::World, kind: &'static str, key: &str, mut value: Value, api_kind: &str) {
    if world.compute.resources.contains_key(key) {
        return;
    }
    value["kind"] = json!(api_kind);
    value["id"] = json!(app.numeric_id());
    value["creationTimestamp"] = json!(now_rfc3339());
    value["selfLink"] = json!(format!("{BASE}{key}"));
    value["fingerprint"] = json!(crate::google::util::etag(app.next()));
    world.compute.insert_ready(kind, key.to_string(), value, false);
}

fn hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// GKE's names: a readable prefix cut to fit, then `-` and a hash suffix.
fn truncate(prefix: &str, max: usize, suffix: &str) -> String {
    let cut: String = prefix.chars().take(max).collect();
    format!("{}-{suffix}", cut.trim_end_matches('-'))
}
