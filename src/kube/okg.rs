//! OpenKruise and OpenKruiseGame from their projects' pinned `config/` files (CRDs, roles,
//! kruise's webhook rules), made fit to install without Helm or kustomize: roles under the
//! `kruise-` names the charts give them, the conversion webhooks kustomize adds to three CRDs, and
//! kruise's webhook configurations named, pointed and scoped as the chart does, except that its
//! pod webhooks ignore an unreachable manager (a stopped kruise must not stop every pod in the
//! cluster; sdctl relies on no SidecarSet or PodUnavailableBudget).
//!
//! What the managers do with these at run time (read from their source, cited in the emulator's
//! FIDELITY.md): kruise's manager never creates its webhook configurations, only fills in their
//! CA and service and keeps the webhooks it serves, rebuilding them from a snapshot in the
//! annotation `template` (empty: take a new snapshot). kruise-game's manager creates and rewrites
//! its own configurations, so none of its `config/webhook/` is applied.

use std::path::Path;

use serde_json::{Value, json};

use super::objects::{kind, name, parse_yaml};
use super::upstream::{Pinned, fetch, sha256_hex};
use crate::pins::{self, ConfigRelease};

pub const KRUISE_NAMESPACE: &str = "kruise-system";
pub const GAME_NAMESPACE: &str = "kruise-game-system";
pub const MUTATING: &str = "kruise-mutating-webhook-configuration";
pub const VALIDATING: &str = "kruise-validating-webhook-configuration";
/// Made by kruise-game's manager at start (and never deleted by it).
pub const GAME_WEBHOOKS: [(&str, &str); 2] = [
    ("MutatingWebhookConfiguration", "kruise-game-mutating-webhook"),
    ("ValidatingWebhookConfiguration", "kruise-game-validating-webhook"),
];
/// The annotation kruise's manager keeps its webhook snapshot in.
pub const TEMPLATE_ANNOTATION: &str = "template";

/// The pinned files of both projects, as text, by path under `config/`.
pub struct Files {
    pub kruise: Vec<(&'static str, String)>,
    pub game: Vec<(&'static str, String)>,
}

/// Reads the files from `dir` (laid out as `<release dir>/<path>`), else downloads the pinned
/// ones (verified, cached).
pub async fn load(dir: Option<&Path>) -> anyhow::Result<Files> {
    let (kruise, game) = futures::try_join!(release(&pins::KRUISE, dir), release(&pins::KRUISE_GAME, dir))?;
    Ok(Files { kruise, game })
}

async fn release(r: &'static ConfigRelease, dir: Option<&Path>) -> anyhow::Result<Vec<(&'static str, String)>> {
    let reads = r.files.iter().map(|(path, sha256)| async move {
        let url = r.url(path);
        let what = format!(
            "{} {}'s {path}",
            if r.dir.starts_with("kruise-game") { "OpenKruiseGame" } else { "OpenKruise" },
            r.version
        );
        let local = dir.map(|d| d.join(r.dir).join(path));
        let pin = Pinned { what: &what, url: &url, sha256, flag: "--okg-manifests DIR" };
        fetch(pin, local.as_deref()).await.map(|text| (*path, text))
    });
    futures::future::try_join_all(reads).await
}

/// The objects sdctl applies from the upstream files.
pub fn upstream_objects(files: &Files) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for (path, text) in &files.kruise {
        for obj in parse_yaml(text, &format!("OpenKruise's {path}"))? {
            if let Some(obj) = kruise_object(path, obj)? {
                out.push(obj);
            }
        }
    }
    let webhooks = out.iter().filter(|o| kind(o).ends_with("WebhookConfiguration")).count();
    if webhooks != 2 {
        anyhow::bail!(
            "OpenKruise's webhook/manifests.yaml holds {webhooks} webhook configurations, not 2: is --okg-manifests laid out like the project's config/?"
        );
    }
    for (path, text) in &files.game {
        for mut obj in parse_yaml(text, &format!("OpenKruiseGame's {path}"))? {
            tidy(&mut obj);
            if kind(&obj) == "ClusterRole" {
                // `manager-role` is kubebuilder's default name: other operators use it too.
                obj["metadata"]["name"] = json!("kruise-game-manager-role");
            }
            out.push(obj);
        }
    }
    Ok(out)
}

/// One object of kruise's files as sdctl applies it (`None`: not applied).
fn kruise_object(path: &str, mut obj: Value) -> anyhow::Result<Option<Value>> {
    tidy(&mut obj);
    match kind(&obj) {
        "CustomResourceDefinition" => {
            // kustomize's `config/crd/patches/webhook_in_*.yaml`: the manager fills in the CA
            // only where conversion already goes through its webhook.
            if matches!(
                name(&obj),
                "statefulsets.apps.kruise.io" | "sidecarsets.apps.kruise.io" | "daemonsets.apps.kruise.io"
            ) {
                obj["spec"]["conversion"] = json!({
                    "strategy": "Webhook",
                    "webhook": {
                        "clientConfig": {"service": {"namespace": KRUISE_NAMESPACE, "name": "kruise-webhook-service", "path": "/convert", "port": 443}},
                        "conversionReviewVersions": ["v1", "v1beta1"],
                    },
                });
            }
        }
        "ClusterRole" | "Role" => {
            let renamed = format!("kruise-{}", name(&obj));
            obj["metadata"]["name"] = json!(renamed);
            if kind(&obj) == "Role" {
                obj["metadata"]["namespace"] = json!(KRUISE_NAMESPACE);
            }
        }
        "MutatingWebhookConfiguration" => webhook_configuration(&mut obj, MUTATING)?,
        "ValidatingWebhookConfiguration" => webhook_configuration(&mut obj, VALIDATING)?,
        other => anyhow::bail!("OpenKruise's {path} holds a {other}, which sdctl does not expect"),
    }
    Ok(Some(obj))
}

/// `controller-gen` writes `creationTimestamp: null`, which is no field to apply.
fn tidy(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("creationTimestamp");
    }
}

/// Paths kruise 1.9.0's manager does not serve with its default feature gates
/// (`ResourcesDeletionProtection` is off): it drops those webhooks, so sdctl does not send them.
const UNSERVED: [&str; 2] = ["/validate-service", "/validate-ingress"];

fn webhook_configuration(obj: &mut Value, config_name: &str) -> anyhow::Result<()> {
    obj["metadata"]["name"] = json!(config_name);
    obj["metadata"]["annotations"] = json!({ TEMPLATE_ANNOTATION: "" });
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        anyhow::bail!("OpenKruise's {config_name} has no webhooks");
    };
    hooks
        .retain(|h| !UNSERVED.contains(&h.pointer("/clientConfig/service/path").and_then(Value::as_str).unwrap_or("")));
    for hook in hooks.iter_mut() {
        hook["clientConfig"]["service"]["name"] = json!("kruise-webhook-service");
        hook["clientConfig"]["service"]["namespace"] = json!(KRUISE_NAMESPACE);
        hook["timeoutSeconds"] = json!(30);
        let path = hook.pointer("/clientConfig/service/path").and_then(Value::as_str).unwrap_or("").to_string();
        let hook_name = hook["name"].as_str().unwrap_or("").to_string();
        let not_kube_system =
            json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]});
        if matches!(path.as_str(), "/mutate-pod" | "/validate-pod") {
            hook["failurePolicy"] = json!("Ignore");
            hook["namespaceSelector"] = json!({"matchExpressions": [
                {"key": "control-plane", "operator": "NotIn", "values": ["openkruise"]},
                not_kube_system,
            ]});
        } else if hook_name.starts_with("vbuiltin")
            || matches!(hook_name.as_str(), "vcustomresourcedefinition.kb.io" | "vnamespace.kb.io")
        {
            // Deletion protection, for objects labelled to ask for it (kruise's patch_manifests).
            hook["failurePolicy"] = json!("Ignore");
            hook["namespaceSelector"] = json!({"matchExpressions": [not_kube_system]});
            hook["objectSelector"] =
                json!({"matchExpressions": [{"key": "policy.kruise.io/delete-protection", "operator": "Exists"}]});
        }
    }
    let pods = hooks
        .iter()
        .filter(|h| {
            h.pointer("/clientConfig/service/path").and_then(Value::as_str).is_some_and(|p| p.ends_with("-pod"))
        })
        .count();
    if config_name == MUTATING && pods == 0 {
        anyhow::bail!("OpenKruise's mutating webhooks have no pod webhook: is webhook/manifests.yaml kruise's?");
    }
    Ok(())
}

/// sdctl's record of the webhooks it last sent, beside the manager's snapshot.
pub const WEBHOOKS_ANNOTATION: &str = "sdctl.dev/webhooks-sha256";

/// Completes a kruise webhook configuration sdctl wants against the live one: the digest of its
/// webhooks, and the value to send in `template`: the manager's snapshot while it was taken from
/// these very webhooks (sending it back changes nothing), else empty, which makes the manager
/// take a new snapshot of the webhooks just applied. (The manager rebuilds `webhooks` from the
/// snapshot, so a stale one would bring back what sdctl removed.)
pub fn with_template(want: &mut Value, live: Option<&Value>) {
    let sent = sha256_hex(want["webhooks"].to_string().as_bytes());
    let annotation = |key: &str| {
        live.and_then(|l| l.pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1"))))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let snapshot = annotation(TEMPLATE_ANNOTATION);
    let keep = annotation(WEBHOOKS_ANNOTATION) == sent && !snapshot.is_empty();
    want["metadata"]["annotations"][WEBHOOKS_ANNOTATION] = json!(sent);
    want["metadata"]["annotations"][TEMPLATE_ANNOTATION] = json!(if keep { snapshot } else { String::new() });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hooks: Value) -> Value {
        json!({"kind": "MutatingWebhookConfiguration", "metadata": {"name": MUTATING}, "webhooks": hooks})
    }

    #[test]
    fn the_snapshot_is_kept_only_while_it_was_taken_from_the_webhooks_sdctl_sends() {
        let mut first = config(json!([{"name": "mpod.kb.io", "failurePolicy": "Ignore", "timeoutSeconds": 30}]));
        with_template(&mut first, None);
        assert_eq!(first["metadata"]["annotations"][TEMPLATE_ANNOTATION], "");
        // The manager took its snapshot (the applied webhooks with the server's defaults).
        let mut live = first.clone();
        let taken = json!([{"name": "mpod.kb.io", "failurePolicy": "Ignore", "timeoutSeconds": 30, "matchPolicy": "Equivalent"}]);
        live["metadata"]["annotations"][TEMPLATE_ANNOTATION] = json!(taken.to_string());
        let mut again = config(json!([{"name": "mpod.kb.io", "failurePolicy": "Ignore", "timeoutSeconds": 30}]));
        with_template(&mut again, Some(&live));
        assert_eq!(again["metadata"]["annotations"][TEMPLATE_ANNOTATION], taken.to_string());
        // A field sdctl no longer sends: the snapshot still "contains" the new webhooks, but
        // the manager would restore the field from it, so a new snapshot is asked for.
        let mut fewer = config(json!([{"name": "mpod.kb.io", "failurePolicy": "Ignore"}]));
        with_template(&mut fewer, Some(&live));
        assert_eq!(fewer["metadata"]["annotations"][TEMPLATE_ANNOTATION], "");
    }
}
