//! `okg` (with `runtime.kind: okg`, instead of `agones`): OpenKruise 1.9.0 and OpenKruiseGame
//! 1.0.0 without Helm, from their pinned release files (or `--okg-manifests DIR`), with the
//! managers on the system pool; done when both managers serve their webhooks (their
//! configurations carry the CA the managers made).

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::Env;
use super::kube_step::{CONTROLLER_PERMISSIONS, KUBE_PATIENCE, Live, Manifest};
use super::values::values;
use crate::gcp::wait::{Poll, until};
use crate::kube::Kube;
use crate::kube::objects::kind;
use crate::kube::okg::{self, Files};
use crate::kube::templates::render;
use crate::kube::upstream::sha256_hex;
use crate::pins;
use crate::plan::StepCx;

#[derive(Default)]
pub struct Okg {
    /// The release files of this run (observe and apply must see the same bytes).
    files: Mutex<Option<std::sync::Arc<Files>>>,
}

impl Okg {
    async fn files(&self, env: &Env) -> anyhow::Result<std::sync::Arc<Files>> {
        let mut slot = self.files.lock().await;
        if let Some(files) = slot.as_ref() {
            return Ok(files.clone());
        }
        let files = std::sync::Arc::new(okg::load(env.options.okg_manifests.as_deref()).await?);
        *slot = Some(files.clone());
        Ok(files)
    }
}

/// The webhook configurations a manager must have filled in before the step is done.
fn served_configurations() -> Vec<Value> {
    let ours = [("MutatingWebhookConfiguration", okg::MUTATING), ("ValidatingWebhookConfiguration", okg::VALIDATING)];
    ours.into_iter()
        .chain(okg::GAME_WEBHOOKS)
        .map(|(kind, name)| json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}}))
        .collect()
}

/// Why a live webhook configuration is not served yet (`None`: every webhook has its CA).
fn unserved(live: Option<&Value>) -> Option<&'static str> {
    let Some(live) = live else { return Some("not created yet") };
    let hooks = live.get("webhooks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let signed = |h: &Value| h.pointer("/clientConfig/caBundle").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
    if hooks.is_empty() || !hooks.iter().all(signed) { Some("without its certificate yet") } else { None }
}

#[async_trait]
impl Manifest for Okg {
    fn permissions(&self) -> Vec<&'static str> {
        let mut p = CONTROLLER_PERMISSIONS.to_vec();
        p.extend([
            "container.configMaps.create",
            "container.daemonSets.create",
            "container.daemonSets.update",
            "container.mutatingWebhookConfigurations.create",
            "container.mutatingWebhookConfigurations.get",
            "container.mutatingWebhookConfigurations.update",
            "container.mutatingWebhookConfigurations.delete",
            "container.validatingWebhookConfigurations.create",
            "container.validatingWebhookConfigurations.get",
            "container.validatingWebhookConfigurations.update",
            "container.validatingWebhookConfigurations.delete",
        ]);
        p
    }

    fn describe(&self, env: &Env) -> String {
        let source = match &env.options.okg_manifests {
            Some(dir) => format!(" (files from {})", dir.display()),
            None => String::new(),
        };
        format!(
            "OpenKruise {} and OpenKruiseGame {}{source}: managers on the system pool, pod webhooks that never block \
             other pods when OpenKruise is down",
            pins::KRUISE.version,
            pins::KRUISE_GAME.version
        )
    }

    fn strict(&self) -> bool {
        false
    }

    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let files = self.files(env).await?;
        let mut objects = okg::upstream_objects(&files)?;
        let mut v = values(env);
        v["kruise_namespace"] = json!(okg::KRUISE_NAMESPACE);
        v["game_namespace"] = json!(okg::GAME_NAMESPACE);
        v["kruise_image"] = json!(pins::KRUISE.image);
        v["game_image"] = json!(pins::KRUISE_GAME.image);
        let (min, max) = env.config.runtime.port_range;
        let config =
            format!("[kubernetes]\nenable = true\n[kubernetes.hostPort]\nmax_port = {max}\nmin_port = {min}\n");
        v["game_config_sha256"] = json!(sha256_hex(config.as_bytes()));
        v["game_config"] = json!(config);
        objects.extend(render("okg.yaml", &v)?);
        // Keep the manager's webhook snapshot while it holds what sdctl wants.
        for obj in objects.iter_mut().filter(|o| kind(o).ends_with("WebhookConfiguration")) {
            let have = match live {
                Some(live) => live.kube.get(obj).await.ok().flatten(),
                None => None,
            };
            okg::with_template(obj, have.as_ref());
        }
        Ok(objects)
    }

    async fn pending(&self, _cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<Option<String>> {
        for config in served_configurations() {
            let live = kube.get(&config).await.ok().flatten();
            if let Some(why) = unserved(live.as_ref()) {
                return Ok(Some(format!("{} {why}", config["metadata"]["name"].as_str().unwrap_or("?"))));
            }
        }
        Ok(None)
    }

    async fn after_apply(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        until(cx, "OpenKruise's and OpenKruiseGame's webhooks to be served", KUBE_PATIENCE, || async {
            Ok(match self.pending(cx, kube).await? {
                Some(why) => Poll::Pending(why),
                None => Poll::Ready(()),
            })
        })
        .await
    }

    async fn before_delete(&self, cx: &StepCx<Env>, kube: &Kube) -> anyhow::Result<()> {
        // kruise-game's manager made these and nothing deletes them: left behind, they would
        // refuse every change to its pods (failurePolicy Fail) once the manager is gone.
        for (kind, name) in okg::GAME_WEBHOOKS {
            let obj =
                json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}});
            if kube.get(&obj).await?.is_some() {
                cx.progress(format!("deleting {kind} {name} (made by OpenKruiseGame's manager)"));
                kube.delete(&obj).await?;
                kube.wait_gone(cx, &obj, KUBE_PATIENCE).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_served_once_every_webhook_has_its_ca() {
        assert_eq!(unserved(None), Some("not created yet"));
        let half = json!({"webhooks": [{"clientConfig": {"caBundle": "Q0E="}}, {"clientConfig": {}}]});
        assert_eq!(unserved(Some(&half)), Some("without its certificate yet"));
        assert_eq!(unserved(Some(&json!({"webhooks": []}))), Some("without its certificate yet"));
        let done = json!({"webhooks": [{"clientConfig": {"caBundle": "Q0E="}}]});
        assert_eq!(unserved(Some(&done)), None);
    }
}
