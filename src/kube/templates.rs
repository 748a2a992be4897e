//! Kubernetes manifests under `templates/k8s/`, compiled into the binary and rendered with
//! minijinja (strict: an unknown variable is an error, values are inserted as JSON scalars).

use serde_json::Value;

use super::objects::parse_yaml;

const TEMPLATES: [(&str, &str); 13] = [
    ("volumes-filestore.yaml", include_str!("../../templates/k8s/volumes-filestore.yaml")),
    ("volumes-gcs.yaml", include_str!("../../templates/k8s/volumes-gcs.yaml")),
    ("fleet.yaml", include_str!("../../templates/k8s/fleet.yaml")),
    ("compute-class.yaml", include_str!("../../templates/k8s/compute-class.yaml")),
    ("router.yaml", include_str!("../../templates/k8s/router.yaml")),
    ("reclaim.yaml", include_str!("../../templates/k8s/reclaim.yaml")),
    ("ingress.yaml", include_str!("../../templates/k8s/ingress.yaml")),
    ("redis-env.yaml", include_str!("../../templates/k8s/redis-env.yaml")),
    ("redis-ca-volume.yaml", include_str!("../../templates/k8s/redis-ca-volume.yaml")),
    ("okg.yaml", include_str!("../../templates/k8s/okg.yaml")),
    ("webui-pod.yaml", include_str!("../../templates/k8s/webui-pod.yaml")),
    ("webui-isolation.yaml", include_str!("../../templates/k8s/webui-isolation.yaml")),
    ("instances.yaml", include_str!("../../templates/k8s/instances.yaml")),
];

/// Renders a template with `values` into its objects.
pub fn render(template: &str, values: &Value) -> anyhow::Result<Vec<Value>> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(|e| anyhow::anyhow!("template {name} is broken: {e}"))?;
    }
    let text = env
        .get_template(template)
        .and_then(|t| t.render(values))
        .map_err(|e| anyhow::anyhow!("cannot render template {template}: {e:#}"))?;
    parse_yaml(&text, template)
}
