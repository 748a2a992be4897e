//! GKE's Ingress controller and ManagedCertificate controller.
//!
//! A `gce` Ingress whose backends resolve (Services, ports, BackendConfigs, IAP secrets) gets
//! its load balancer from the Host after the address delay, then `status.loadBalancer` and
//! the `ingress.kubernetes.io/*` annotations. It carries GKE's finalizer: deleting it removes
//! the load-balancer pieces first (deleting the cluster instead leaves them behind).
//! A ManagedCertificate attached to an Ingress with an address becomes Active after the
//! certificate delay (or, when the scenario says so, stays Provisioning with its domains
//! FailedNotVisible, as when no DNS record points at the load balancer).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{State, event_once, put, remove_finalizer};
use crate::k8s::cluster::{Cluster, Delay};
use crate::k8s::store::Store;
use crate::k8s::{LoadBalancerRequest, meta};

const INGRESSES: &str = "ingresses.networking.k8s.io";
const CERTS: &str = "managedcertificates.networking.gke.io";
const FINALIZER: &str = "networking.gke.io/ingress-finalizer-V2";
const STATIC_IP: &str = "kubernetes.io/ingress.global-static-ip-name";
const CERT_ANNOTATION: &str = "networking.gke.io/managed-certificates";

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for ing in st.list(INGRESSES, None) {
        if !is_gce(&ing) {
            continue;
        }
        if meta::is_deleting(&ing) {
            teardown(c, st, s, &ing);
        } else {
            provision(c, st, s, &ing);
        }
    }
    for cert in st.list(CERTS, None) {
        if !meta::is_deleting(&cert) {
            certificate(c, st, s, &cert);
        }
    }
}

fn is_gce(ing: &Value) -> bool {
    let class =
        meta::annotation(ing, "kubernetes.io/ingress.class").or_else(|| meta::str_at(ing, "/spec/ingressClassName"));
    class.is_none_or(|c| c == "gce")
}

/// `ns/name:port` of every backend Service.
fn backends(ing: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut add = |b: &Value| {
        if let Some(svc) = b.get("service") {
            let name = svc.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let port = svc
                .get("port")
                .map(|p| p.get("number").or_else(|| p.get("name")).cloned().unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            if !out.iter().any(|(n, p)| *n == name && *p == port) {
                out.push((name, port));
            }
        }
    };
    if let Some(b) = ing.pointer("/spec/defaultBackend") {
        add(b);
    }
    for r in ing.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
        for p in r.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten() {
            if let Some(b) = p.get("backend") {
                add(b);
            }
        }
    }
    out
}

/// IAP on the backends: its OAuth client id (empty: the Google-managed client).
struct Iap {
    client_id: String,
}

/// Check what GKE's controller checks before building the load balancer.
fn translate(st: &Store, ing: &Value) -> Result<Option<Iap>, (&'static str, String)> {
    let ns = meta::namespace(ing);
    let mut iap = None;
    for (name, port) in backends(ing) {
        let Some(svc) = st.get("services", ns, &name) else {
            return Err((
                "Translate",
                format!("Translation failed: invalid ingress spec: could not find service \"{ns}/{name}\""),
            ));
        };
        let ports = svc.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
        let port_entry = ports.iter().find(|p| match &port {
            Value::Number(n) => p.get("port").and_then(Value::as_i64) == n.as_i64(),
            Value::String(s) => p.get("name").and_then(Value::as_str) == Some(s),
            _ => false,
        });
        let Some(port_entry) = port_entry else {
            return Err((
                "Translate",
                format!(
                    "Translation failed: invalid ingress spec: could not find port \"{}\" in service \"{ns}/{name}\"",
                    port_str(&port)
                ),
            ));
        };
        if let Some(bc) = backend_config_name(&svc, port_entry) {
            let Some(cfg) = st.get("backendconfigs.cloud.google.com", ns, &bc) else {
                return Err((
                    "Sync",
                    format!(
                        "Error syncing to GCP: error running backend syncing routine: error getting BackendConfig for port {:?} on service \"{ns}/{name}\", err: no BackendConfig for service port exists.",
                        port_str(&port)
                    ),
                ));
            };
            if cfg.pointer("/spec/iap/enabled").and_then(Value::as_bool) == Some(true) {
                let mut client_id = String::new();
                if let Some(secret) = cfg.pointer("/spec/iap/oauthclientCredentials/secretName").and_then(Value::as_str)
                {
                    let found = st.get("secrets", ns, secret);
                    let ok = found.as_ref().is_some_and(|s| {
                        s.pointer("/data/client_id").is_some() && s.pointer("/data/client_secret").is_some()
                    });
                    client_id = found
                        .and_then(|s| s.pointer("/data/client_id").and_then(Value::as_str).map(String::from))
                        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    if !ok {
                        return Err((
                            "Sync",
                            format!(
                                "Error syncing to GCP: error running backend syncing routine: error getting secret \"{ns}/{secret}\" with keys client_id and client_secret for BackendConfig \"{ns}/{bc}\""
                            ),
                        ));
                    }
                }
                iap = Some(Iap { client_id });
            }
        }
    }
    for cert in meta::annotation(ing, CERT_ANNOTATION).unwrap_or("").split(',').map(str::trim).filter(|c| !c.is_empty())
    {
        if st.get(CERTS, ns, cert).is_none() {
            return Err((
                "Sync",
                format!(
                    "Error syncing to GCP: error running load balancer syncing routine: managedcertificates.networking.gke.io \"{cert}\" not found"
                ),
            ));
        }
    }
    Ok(iap)
}

fn port_str(p: &Value) -> String {
    match p {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `cloud.google.com/backend-config: {"default": "x"}` or `{"ports": {"8080": "x"}}`.
fn backend_config_name(svc: &Value, port: &Value) -> Option<String> {
    let raw = meta::annotation(svc, "cloud.google.com/backend-config")
        .or_else(|| meta::annotation(svc, "beta.cloud.google.com/backend-config"))?;
    let cfg: Value = serde_json::from_str(raw).ok()?;
    let by_port = cfg.get("ports").and_then(|ports| {
        let number = port.get("port").map(|n| n.to_string()).unwrap_or_default();
        let name = port.get("name").and_then(Value::as_str).unwrap_or("");
        ports.get(&number).or_else(|| ports.get(name)).and_then(Value::as_str).map(String::from)
    });
    by_port.or_else(|| cfg.get("default").and_then(Value::as_str).map(String::from))
}

fn provision(c: &Cluster, st: &mut Store, s: &mut State, ing: &Value) {
    let iap = match translate(st, ing) {
        Ok(iap) => iap,
        Err((reason, msg)) => {
            event_once(st, ing, "Warning", reason, &msg, "loadbalancer-controller");
            return;
        }
    };
    let mut ing = ing.clone();
    if !meta::finalizers(&ing).iter().any(|f| f == FINALIZER) {
        crate::k8s::defaults::add_finalizer(&mut ing, FINALIZER);
        match put(st, ing.clone(), "glbc") {
            Ok(v) => ing = v,
            Err(_) => return,
        }
        event_once(st, &ing, "Normal", "Sync", "Scheduled for sync", "loadbalancer-controller");
    }
    let uid = meta::uid(&ing).to_string();
    let generation = meta::generation(&ing);
    let has_address = ing.pointer("/status/loadBalancer/ingress/0/ip").is_some();
    if has_address && let Some(iap) = &iap {
        let (ns, name) = (meta::namespace(&ing).to_string(), meta::name(&ing).to_string());
        if let Err(msg) = c.host.sync_iap(&c.name, &ns, &name, &iap.client_id) {
            event_once(st, &ing, "Warning", "Sync", &msg, "loadbalancer-controller");
        }
    }
    if has_address && s.lb_generation.get(&uid) == Some(&generation) {
        return;
    }
    if !has_address && !s.elapsed(&format!("ingress/{uid}"), c.delay(Delay::IngressAddress)) {
        return;
    }
    let ns = meta::namespace(&ing).to_string();
    let req = LoadBalancerRequest {
        namespace: ns.clone(),
        ingress: meta::name(&ing).to_string(),
        static_ip_name: meta::annotation(&ing, STATIC_IP).map(String::from),
        backends: backends(&ing).into_iter().map(|(n, p)| format!("{ns}/{n}:{}", port_str(&p))).collect(),
        iap: iap.is_some(),
        iap_client_id: iap.map(|i| i.client_id).unwrap_or_default(),
    };
    let lb = c.host.create_load_balancer(&c.name, &req);
    s.lb_generation.insert(uid.clone(), generation);
    let mut next = ing.clone();
    next["status"] = json!({"loadBalancer": {"ingress": [{"ip": lb.ip}]}});
    let backends: serde_json::Map<String, Value> =
        lb.backend_services.iter().map(|b| (b.clone(), json!("HEALTHY"))).collect();
    let hash = &uid[..8.min(uid.len())];
    let base = format!("k8s2-{hash}-{ns}-{}", meta::name(&ing));
    meta::set_annotation(&mut next, "ingress.kubernetes.io/backends", &Value::Object(backends).to_string());
    meta::set_annotation(&mut next, "ingress.kubernetes.io/forwarding-rule", &format!("{base}-fr"));
    meta::set_annotation(&mut next, "ingress.kubernetes.io/target-proxy", &format!("{base}-tp"));
    meta::set_annotation(&mut next, "ingress.kubernetes.io/url-map", &format!("{base}-um"));
    if meta::annotation(&ing, CERT_ANNOTATION).is_some() {
        meta::set_annotation(&mut next, "ingress.kubernetes.io/https-forwarding-rule", &format!("{base}-fs"));
        meta::set_annotation(&mut next, "ingress.kubernetes.io/https-target-proxy", &format!("{base}-ts"));
    }
    if let Ok(done) = put(st, next, "glbc")
        && !has_address
    {
        event_once(st, &done, "Normal", "IPChanged", &format!("IP is now {}", lb.ip), "loadbalancer-controller");
    }
}

/// GKE removes the load balancer, then its finalizer.
fn teardown(c: &Cluster, st: &mut Store, s: &mut State, ing: &Value) {
    if !meta::finalizers(ing).iter().any(|f| f == FINALIZER) {
        return;
    }
    let key = format!("ingress-delete/{}", meta::uid(ing));
    if !s.elapsed(&key, c.delay(Delay::IngressAddress) / 4) {
        return;
    }
    s.forget(&key);
    if ing.pointer("/status/loadBalancer/ingress/0/ip").is_some() || s.lb_generation.contains_key(meta::uid(ing)) {
        c.host.delete_load_balancer(&c.name, meta::namespace(ing), meta::name(ing));
    }
    s.lb_generation.remove(meta::uid(ing));
    remove_finalizer(st, ing, FINALIZER, "glbc");
}

fn certificate(c: &Cluster, st: &mut Store, s: &mut State, cert: &Value) {
    let domains: Vec<String> = cert
        .pointer("/spec/domains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(String::from))
        .collect();
    let state = meta::str_at(cert, "/status/certificateStatus").unwrap_or("");
    let ns = meta::namespace(cert);
    let attached = st.list(INGRESSES, Some(ns)).into_iter().find(|i| {
        i.pointer("/status/loadBalancer/ingress/0/ip").is_some()
            && meta::annotation(i, CERT_ANNOTATION).unwrap_or("").split(',').any(|n| n.trim() == meta::name(cert))
    });
    // A domain Google cannot see (no DNS record to the load balancer) stays FailedNotVisible
    // while the certificate as a whole stays Provisioning: Google keeps retrying
    // (GoogleCloudPlatform/gke-managed-certs; cloud.google.com/kubernetes-engine/docs/how-to/managed-certs).
    let (overall, domain_state) = match (state, &attached) {
        ("Active", _) => return,
        (_, Some(ing))
            if s.elapsed(
                &format!("cert/{}/{}", meta::uid(cert), meta::uid(ing)),
                c.delay(Delay::CertificateProvision),
            ) =>
        {
            if c.host.scenario().certificate_fails {
                ("Provisioning", "FailedNotVisible")
            } else {
                ("Active", "Active")
            }
        }
        _ => ("Provisioning", "Provisioning"),
    };
    let name = cert
        .pointer("/status/certificateName")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| format!("mcrt-{}", meta::new_uid()));
    let mut next = cert.clone();
    let mut status = json!({
        "certificateName": name,
        "certificateStatus": overall,
        "domainStatus": domains.iter().map(|d| json!({"domain": d, "status": domain_state})).collect::<Vec<_>>(),
    });
    if overall == "Active" {
        let expire = std::time::SystemTime::now() + std::time::Duration::from_secs(90 * 86400);
        status["expireTime"] = json!(humantime::format_rfc3339_seconds(expire).to_string());
    }
    next["status"] = status;
    if next != *cert {
        let _ = put(st, next, "managed-certificate-controller");
    }
}
