//! Agones' published install manifest, patched for sdctl: its own namespace object, controllers
//! on the system node pool, per-cluster certificates instead of the well-known ones, allocator
//! and ping reachable only inside the cluster, the configured GameServer port range, and the
//! per-namespace objects GameServers need in sdctl's namespace.

use serde_json::{Value, json};

use super::objects::{kind, name};
use super::pki::{AgonesPki, b64};

pub const NAMESPACE: &str = "agones-system";

/// What the patch needs from the configuration.
pub struct Settings<'a> {
    pub system_pool: &'a str,
    pub port_range: (u16, u16),
    /// Namespace of the WebUI GameServers.
    pub gameserver_namespace: &'a str,
    pub pki: &'a AgonesPki,
}

/// The Agones version of a manifest, read from its controller image tag.
pub fn version_of(manifest: &str) -> Option<String> {
    let at = manifest.find("agones-controller:")? + "agones-controller:".len();
    let tag: String =
        manifest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
    (!tag.is_empty()).then_some(tag)
}

const CLUSTER_SCOPED: [&str; 9] = [
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PersistentVolume",
];

/// Patches the manifest's objects; fails when the manifest does not look like Agones'.
pub fn patch(objects: Vec<Value>, s: &Settings) -> anyhow::Result<Vec<Value>> {
    let ca = b64(s.pki.get("ca.crt"));
    let mut out = vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})];
    let (mut api_services, mut webhooks, mut certs) = (0, 0, 0);
    for mut obj in objects {
        // `helm template` leaves some namespaced objects without a namespace.
        if !CLUSTER_SCOPED.contains(&kind(&obj)) && obj["metadata"]["namespace"].is_null() {
            obj["metadata"]["namespace"] = json!(NAMESPACE);
        }
        match (kind(&obj), name(&obj)) {
            ("CustomResourceDefinition", _) => drop_patch_hints(&mut obj),
            ("Deployment", _) => {
                let spec = &mut obj["spec"]["template"]["spec"];
                spec["nodeSelector"] = json!({"cloud.google.com/gke-nodepool": s.system_pool});
                if name(&obj) == "agones-controller" {
                    set_port_range(&mut obj, s.port_range);
                }
            }
            ("Service", "agones-allocator" | "agones-ping-http-service" | "agones-ping-udp-service") => {
                // The reference deployment exposed these on public load balancers without TLS.
                let service = name(&obj).to_string();
                let spec =
                    obj["spec"].as_object_mut().ok_or_else(|| anyhow::anyhow!("Service {service} has no spec"))?;
                spec.insert("type".into(), json!("ClusterIP"));
                for field in ["loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy"] {
                    spec.remove(field);
                }
                if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                    for port in ports {
                        if let Some(p) = port.as_object_mut() {
                            p.remove("nodePort");
                        }
                    }
                }
            }
            ("Secret", "agones-manual-cert") => {
                obj["data"] =
                    json!({"server.crt": b64(s.pki.get("server.crt")), "server.key": b64(s.pki.get("server.key"))});
                certs += 1;
            }
            ("Secret", "allocator-tls") => {
                obj["data"] =
                    json!({"tls.crt": b64(s.pki.get("allocator.crt")), "tls.key": b64(s.pki.get("allocator.key"))});
                certs += 1;
            }
            ("Secret", "allocator-tls-ca") => {
                obj["data"] = json!({"tls-ca.crt": ca});
                certs += 1;
            }
            ("Secret", "allocator-client-ca") => {
                obj["data"] = json!({"ca.crt": b64(s.pki.get("client-ca.crt"))});
                certs += 1;
            }
            ("APIService", _) => {
                obj["spec"]["caBundle"] = ca.clone();
                api_services += 1;
            }
            ("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration", _) => {
                for hook in obj["webhooks"].as_array_mut().into_iter().flatten() {
                    hook["clientConfig"]["caBundle"] = ca.clone();
                }
                webhooks += 1;
            }
            _ => {}
        }
        let per_namespace = matches!(
            (kind(&obj), name(&obj)),
            ("ServiceAccount", "agones-sdk")
                | ("RoleBinding", "agones-sdk-access")
                | ("PodDisruptionBudget", "agones-gameserver-safe-to-evict-false")
        );
        if per_namespace && obj["metadata"]["namespace"] == "default" && s.gameserver_namespace != "default" {
            out.push(for_namespace(&obj, s.gameserver_namespace));
        }
        out.push(obj);
    }
    if api_services == 0 || webhooks == 0 || certs < 4 {
        anyhow::bail!(
            "the Agones manifest lacks the objects sdctl patches (APIService, webhooks, certificate Secrets): is it Agones' install.yaml?"
        );
    }
    // GameServers live in sdctl's namespace: it must exist before the objects Agones needs there.
    out.insert(1, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": s.gameserver_namespace}}));
    Ok(out)
}

/// Agones' CRD schemas carry `x-kubernetes-patch-strategy`/`-merge-key` (from the Pod schema),
/// which CRD schemas (JSONSchemaProps) do not declare: a create or update drops them with a
/// warning (agones-dev/agones#4670), but server-side apply refuses the whole CRD ("field not
/// declared in schema", whatever fieldValidation says: KEP-2885). So they go before applying.
pub fn drop_patch_hints(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("x-kubernetes-patch-strategy");
            map.remove("x-kubernetes-patch-merge-key");
            map.values_mut().for_each(drop_patch_hints);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_patch_hints),
        _ => {}
    }
}

/// A copy of a per-namespace object (and its RoleBinding subject) in `namespace`.
fn for_namespace(obj: &Value, namespace: &str) -> Value {
    let mut copy = obj.clone();
    copy["metadata"]["namespace"] = json!(namespace);
    // `get_mut`, not indexing: indexing a missing key would add `subjects: null`, a field a
    // ServiceAccount or PodDisruptionBudget does not have (server-side apply refuses it).
    for subject in copy.get_mut("subjects").and_then(Value::as_array_mut).into_iter().flatten() {
        match subject["kind"].as_str() {
            Some("ServiceAccount") => subject["namespace"] = json!(namespace),
            // Agones names the SDK account as a user: `system:serviceaccount:default:agones-sdk`.
            Some("User") => {
                if let Some(account) =
                    subject["name"].as_str().and_then(|n| n.strip_prefix("system:serviceaccount:default:"))
                {
                    subject["name"] = json!(format!("system:serviceaccount:{namespace}:{account}"));
                }
            }
            _ => {}
        }
    }
    copy
}

fn set_port_range(deployment: &mut Value, (lo, hi): (u16, u16)) {
    for container in deployment["spec"]["template"]["spec"]["containers"].as_array_mut().into_iter().flatten() {
        for var in container["env"].as_array_mut().into_iter().flatten() {
            match var["name"].as_str() {
                Some("MIN_PORT") => var["value"] = json!(lo.to_string()),
                Some("MAX_PORT") => var["value"] = json!(hi.to_string()),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_the_controller_image() {
        let m = "image: us-docker.pkg.dev/agones-images/release/agones-controller:1.60.0\n";
        assert_eq!(version_of(m).as_deref(), Some("1.60.0"));
        assert_eq!(version_of("nothing"), None);
    }
}
