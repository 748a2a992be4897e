//! `agones`: Agones itself, from its published install manifest (pinned release, verified, or
//! `--agones-manifest`), patched (see `kube::agones`), with certificates generated once per
//! cluster and kept in a Secret; waits until the controller, extensions and allocation API serve.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Env;
use super::kube_step::{CONTROLLER_PERMISSIONS, Live, Manifest};
use crate::kube::Kube;
use crate::kube::agones::{self, Settings};
use crate::kube::objects::parse_yaml;
use crate::kube::pki::{self, AgonesPki};
use crate::kube::upstream::{Pinned, fetch};
use crate::pins;

#[derive(Default)]
pub struct Agones {
    /// The parsed manifest and the PKI of this run (observe and apply must see the same bytes).
    cache: tokio::sync::Mutex<Option<Vec<Value>>>,
    pki: Mutex<Option<AgonesPki>>,
}

/// The release this configuration installs: the configured one, else the newest pinned release
/// that supports the cluster's Kubernetes minor (the newest pinned one while that is unknown).
pub fn release(env: &Env) -> anyhow::Result<&'static pins::AgonesRelease> {
    if let Some(v) = &env.config.runtime.agones_version {
        return pins::agones(v).ok_or_else(|| anyhow::anyhow!("Agones {v} is not pinned"));
    }
    let minor =
        env.outputs.get("kubernetesVersion").and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()));
    match minor {
        Some(minor) => pins::agones_for_kubernetes(minor).ok_or_else(|| {
            anyhow::anyhow!(
                "no pinned Agones release supports Kubernetes 1.{minor} (sdctl pins {}); choose another \
                 cluster.releaseChannel, or pass --agones-manifest FILE",
                pins::agones_versions().join(", ")
            )
        }),
        None => pins::AGONES.last().ok_or_else(|| anyhow::anyhow!("no Agones release is pinned")),
    }
}

impl Agones {
    async fn manifest(&self, env: &Env) -> anyhow::Result<Vec<Value>> {
        let mut cache = self.cache.lock().await;
        if let Some(objects) = cache.as_ref() {
            return Ok(objects.clone());
        }
        let text = match &env.options.agones_manifest {
            Some(path) => {
                fetch(
                    Pinned { what: "the Agones manifest", url: "", sha256: "", flag: "--agones-manifest FILE" },
                    Some(path),
                )
                .await?
            }
            None => {
                let r = release(env)?;
                let pin = Pinned {
                    what: "the Agones install manifest",
                    url: r.install_url,
                    sha256: r.sha256,
                    flag: "--agones-manifest FILE",
                };
                fetch(pin, None).await?
            }
        };
        let objects = parse_yaml(&text, "the Agones manifest")?;
        *cache = Some(objects.clone());
        Ok(objects)
    }

    /// The cluster's PKI: read back from its Secret, else generated (once per run).
    async fn pki(&self, kube: Option<&Kube>) -> anyhow::Result<AgonesPki> {
        if let Some(pki) = self.pki.lock().ok().and_then(|p| p.clone()) {
            return Ok(pki);
        }
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": pki::SECRET, "namespace": agones::NAMESPACE}});
        let stored = match kube {
            Some(kube) => kube.get(&secret).await?.as_ref().and_then(AgonesPki::from_secret),
            None => None,
        };
        let pki = match stored {
            Some(pki) => pki,
            None => AgonesPki::generate(agones::NAMESPACE)?,
        };
        if let Ok(mut slot) = self.pki.lock() {
            *slot = Some(pki.clone());
        }
        Ok(pki)
    }
}

#[async_trait]
impl Manifest for Agones {
    fn permissions(&self) -> Vec<&'static str> {
        let mut p = CONTROLLER_PERMISSIONS.to_vec();
        p.extend([
            "container.secrets.create",
            "container.secrets.get",
            "container.mutatingWebhookConfigurations.create",
            "container.validatingWebhookConfigurations.create",
            "container.apiServices.create",
            "container.priorityClasses.create",
        ]);
        p
    }

    fn describe(&self, env: &Env) -> String {
        let version = match (&env.options.agones_manifest, release(env)) {
            (Some(path), _) => format!("from {}", path.display()),
            (None, Ok(r)) => r.version.to_string(),
            (None, Err(_)) => "(no pinned release fits)".to_string(),
        };
        format!(
            "Agones {version} in {} (certificates made for this cluster; allocator and ping in-cluster only)",
            agones::NAMESPACE
        )
    }

    fn strict(&self) -> bool {
        false
    }

    async fn objects(&self, env: &Env, live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let manifest = self.manifest(env).await?;
        let pki = self.pki(live.map(|l| l.kube)).await?;
        let settings = Settings {
            system_pool: env.names.system_pool(),
            port_range: env.config.runtime.port_range,
            gameserver_namespace: &env.config.runtime.namespace,
            pki: &pki,
        };
        let mut objects = agones::patch(manifest, &settings)?;
        objects.push(pki.to_secret(agones::NAMESPACE));
        Ok(objects)
    }
}
