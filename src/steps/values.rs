//! The values Kubernetes templates are rendered with, from the config, the derived names and
//! what earlier steps learned. Values only known live (addresses, images) are documentation
//! stand-ins (192.0.2.0/24) when they are not known yet (`render --offline`, `down`).

use serde_json::{Value, json};

use super::Env;
use super::gpu_pool::GPU_TAINT_KEY;
use crate::config::Storage;
use crate::images::templates::paths;
use crate::names::{Names, ROUTER_PORT};

/// Addresses a WebUI never reaches except for DNS and HTTPS: RFC 1918, link-local (the metadata
/// server), and the special-purpose ranges a VPC accepts for subnets, pods and services besides
/// RFC 1918 (shared address space, IETF assignments, documentation, 6to4 relay, benchmarking,
/// reserved: GKE's "non-RFC 1918" list), none of which is the public internet.
pub const PRIVATE_RANGES: [&str; 12] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
];

/// Stand-ins for values only known once the resources exist.
pub const STAND_IN_FILESTORE_IP: &str = "192.0.2.10";
pub const STAND_IN_STATIC_IP: &str = "192.0.2.30";
pub const STAND_IN_PROJECT_NUMBER: &str = "000000000000";

/// The IAP audience of any backend service of the project (the exact one is known once the
/// load balancer exists).
pub fn project_audience(project_number: &str) -> String {
    format!("/projects/{project_number}/global/backendServices/")
}

pub fn values(env: &Env) -> Value {
    let c = &env.config;
    let out = |key: &str, stand_in: String| env.outputs.get(key).unwrap_or(stand_in);
    let (storage_kind, capacity, share, bucket) = match &c.storage {
        Storage::Filestore(f) => ("filestore", f.capacity_gb, f.share.clone(), String::new()),
        Storage::Gcs(g) => ("gcs", 0, String::new(), super::bucket_name(&env.names, g)),
    };
    let static_ip = out("staticIp", STAND_IN_STATIC_IP.to_string());
    let domain = c.access.domain.clone().unwrap_or_else(|| format!("{}.sslip.io", static_ip.replace('.', "-")));
    let mut values = json!({
        "env": env.names.env(),
        "namespace": c.runtime.namespace,
        "system_pool": env.names.system_pool(),
        "gpu_taint_key": GPU_TAINT_KEY,
        // The ladder's ComputeClass, which WebUI pods select (null: one GPU pool, no class).
        "compute_class": c.gpu.has_ladder().then_some(super::compute_class::NAME),
        "compute_class_label": super::compute_class::LABEL,
        "buffer_size": c.runtime.buffer_size,
        "max_users": c.runtime.max_users,
        "idle_minutes": c.runtime.idle_minutes,
        "startup_minutes": c.runtime.startup_minutes,
        "insecure_extension_access": c.runtime.insecure_extension_access,
        "storage_kind": storage_kind,
        "shared_volume": env.names.shared_volume(),
        "shared_claim": Names::SHARED_CLAIM,
        "filestore_ip": out("filestoreIp", STAND_IN_FILESTORE_IP.to_string()),
        "filestore_share": share,
        "filestore_capacity_gb": capacity,
        "bucket": bucket,
        "webui_port": paths::WEBUI_PORT,
        "shared_dir": paths::SHARED_DIR,
        "outputs_dir": paths::OUTPUTS_DIR,
        "user_file": paths::USER_FILE,
        "user_outputs_dir": paths::USER_OUTPUTS_DIR,
        "webui_uid": paths::WEBUI_UID,
        "redis_auth": c.redis.auth,
        "redis_tls": c.redis.tls,
        "iap_audience": out("iapAudience", project_audience(STAND_IN_PROJECT_NUMBER)),
        "runtime_image": out("runtimeImage", env.names.image("sdctl-runtime:unknown")),
        "router": Names::ROUTER,
        "queue_config": Names::QUEUE_CONFIG,
        "router_port": ROUTER_PORT,
        "redis_secret": Names::REDIS_SECRET,
        "iap_config": Names::IAP_CONFIG,
        "reclaim": Names::RECLAIM,
        "backend_config": Names::BACKEND_CONFIG,
        "certificate": Names::CERTIFICATE,
        "ingress": Names::INGRESS,
        "static_ip_name": env.names.address(),
        "domain": domain,
        "oauth_secret": match c.access.oauth_client {
            crate::config::OAuthClient::Managed => Value::Null,
            crate::config::OAuthClient::Custom { .. } => json!(Names::OAUTH_SECRET),
        },
    });
    // Beside the literal above: one more key there exceeds serde_json's macro recursion limit.
    values["webui_policy"] = json!(Names::WEBUI_POLICY);
    values["instance_service_account"] = json!(Names::INSTANCE_SERVICE_ACCOUNT);
    values["private_ranges"] = json!(PRIVATE_RANGES);
    values["runtime_uid"] = json!(crate::images::templates::paths::RUNTIME_UID);
    values["runtime_kind"] = json!(match c.runtime.kind {
        crate::config::RuntimeKind::Agones => "agones",
        crate::config::RuntimeKind::Okg => "okg",
    });
    let templates: Vec<&str> = c.templates.iter().map(|t| t.name.as_str()).collect();
    values["template_names"] = json!(templates.join(","));
    values["template_list"] = json!(templates);
    values["fleet_names"] = json!(c.fleet_names().join(","));
    let template = |t: &crate::config::Template| {
        let image = t.engine.image();
        json!({
            "name": t.name,
            "engine": t.engine,
            "disk_gb": t.disk_gb,
            "image": out(image.output_key(), env.names.image(&format!("{}:unknown", image.image_name()))),
            "health_path": health_path(t.engine),
        })
    };
    values["fleets"] = c.fleets().into_iter().map(|(name, t)| json!({"name": name, "template": template(t)})).collect();
    values["templates"] = c.templates.iter().map(template).collect();
    values
}

/// A cheap request that answers 200 once the engine's WebUI is up (probes).
fn health_path(engine: crate::config::Engine) -> &'static str {
    match engine {
        // AUTOMATIC1111's modules/ui.py: not the whole Gradio page.
        crate::config::Engine::A1111 => "/internal/ping",
        // ComfyUI's server.py: the queue's length; the socket opens only once the custom
        // nodes and the database are loaded (main.py).
        crate::config::Engine::Comfyui => "/queue",
    }
}
