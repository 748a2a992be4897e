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
    // The cluster's `kube-system/ingress-uid` (16 hex digits); names carry its first 8.
    let uid = &hex(&info.uid)[..8];
    // v2 frontends hash the kube-system namespace's UID instead (frontendnamer.go).
    let frontend_uid = &hex(&format!("{}/kube-system", info.uid))[..8];
    let mut keys = Vec::new();
    let mut backend_names = Vec::new();
    let mut backend_links = Vec::new();
    for backend in &request.backends {
        let (svc, port) = backend.rsplit_once(':').unwrap_or((backend.as_str(), "80"));
        let svc = svc.rsplit('/').next().unwrap_or(svc);
        let name = neg_name(uid, &request.namespace, svc, port);
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
            bs["iap"] =
                json!({ "enabled": true, "oauth2ClientId": request.iap_client_id, "oauth2ClientSecretSha256": "" });
        }
        put(app, &mut world, "BackendService", &bs_key, bs, "compute#backendService");
        backend_names.push(name);
        backend_links.push(format!("{BASE}{bs_key}"));
        keys.extend([neg_key, hc_key, bs_key]);
    }
    let um_name = frontend_name("um", frontend_uid, &request.namespace, &request.ingress);
    let tp_name = frontend_name("tp", frontend_uid, &request.namespace, &request.ingress);
    let fr_name = frontend_name("fr", frontend_uid, &request.namespace, &request.ingress);
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

/// GKE's ingress controller keeps each backend's IAP client in line with the BackendConfig, but
/// refuses to go from an own OAuth client back to the Google-managed one: "Cannot switch to
/// default OAuth once IAP credentials have been set" (kubernetes/ingress-gce
/// pkg/backends/features/iap.go, switchingToDefault; issue #2924). The backend keeps its client.
pub fn sync_iap(app: &Arc<App>, cluster: &str, namespace: &str, ingress: &str, client_id: &str) -> Result<(), String> {
    let mut world = app.world();
    let id = format!("{cluster}/{namespace}/{ingress}");
    let Some(keys) = world.compute.load_balancers.get(&id).cloned() else { return Ok(()) };
    for key in keys.iter().filter(|k| k.contains("/backendServices/")) {
        let Some(bs) = world.compute.resources.get_mut(key) else { continue };
        let iap = &mut bs.value["iap"];
        if !iap.is_object() {
            continue;
        }
        let current = iap["oauth2ClientId"].as_str().unwrap_or_default().to_string();
        if client_id.is_empty() && !current.is_empty() {
            let service = bs.value["description"].as_str().unwrap_or_default().to_string();
            return Err(format!(
                "Error syncing to GCP: error running backend syncing routine: Errored updating IAP Settings for service {service}: Cannot switch to default OAuth once IAP credentials have been set"
            ));
        }
        iap["oauth2ClientId"] = json!(client_id);
    }
    Ok(())
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

/// The name of a NEG backend, its backend service and health check (kubernetes/ingress-gce
/// pkg/utils/namer/namer.go, `NEG`): `k8s1-<uid8>-<namespace>-<service>-<port>-<hash8>`, the
/// readable fields trimmed evenly to 38 characters, the hash over the untrimmed ones.
pub fn neg_name(uid8: &str, namespace: &str, service: &str, port: &str) -> String {
    let hash = &hex(&format!("{uid8};{namespace};{service};{port}"))[..8];
    let fields = trim_fields_evenly(38, &[namespace, service, port]);
    format!("k8s1-{uid8}-{}-{}-{}-{hash}", fields[0], fields[1], fields[2])
}

/// A v2 frontend name (pkg/utils/namer/frontendnamer.go): `k8s2-<kind>-<uid8>-<ns>-<name>-<hash8>`.
fn frontend_name(kind: &str, uid8: &str, namespace: &str, ingress: &str) -> String {
    let hash = &hex(&format!("{uid8};{namespace};{ingress}"))[..8];
    let fields = trim_fields_evenly(36, &[namespace, ingress]);
    format!("k8s2-{kind}-{uid8}-{}-{}-{hash}", fields[0], fields[1])
}

/// ingress-gce's `TrimFieldsEvenly` (pkg/utils/namer/utils.go): longer fields lose more.
fn trim_fields_evenly(max: usize, fields: &[&str]) -> Vec<String> {
    let total: usize = fields.iter().map(|f| f.len()).sum();
    if total <= max {
        return fields.iter().map(|f| f.to_string()).collect();
    }
    let excess = total - max;
    let mut lengths: Vec<usize> =
        fields.iter().map(|f| (f.len() - f.len() * excess / total).saturating_sub(1)).collect();
    let remaining = max.saturating_sub(lengths.iter().sum());
    for l in lengths.iter_mut().take(remaining) {
        *l += 1;
    }
    fields.iter().zip(lengths).map(|(f, l)| f[..l.min(f.len())].to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::neg_name;

    /// ingress-gce's own vectors (pkg/utils/namer/namer_test.go, cluster uid "0123456789abcdef").
    #[test]
    fn neg_names_follow_ingress_gce() {
        assert_eq!(neg_name("01234567", "namespace", "name", "80"), "k8s1-01234567-namespace-name-80-5104b449");
        let long = neg_name(
            "01234567",
            "0123456789012345678901234567890123456789",
            "0123456789012345678901234567890123456789",
            "0",
        );
        assert!(long.starts_with("k8s1-01234567-0123456789012345678-0123456789012345678--"), "{long}");
        assert!(long.len() <= 63);
    }
}
