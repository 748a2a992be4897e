//! `drivers` (only with `gpu.driver: daemonset`): NVIDIA's driver installer DaemonSet for
//! Container-Optimized OS, pinned and verified (the default driver for T4, the latest for L4).

use async_trait::async_trait;
use serde_json::Value;

use super::Env;
use super::kube_step::{Live, Manifest};
use crate::config::GpuKind;
use crate::kube::objects::parse_yaml;
use crate::kube::upstream::{Pinned, fetch};
use crate::pins::{self, DriverInstaller};

pub struct Drivers;

fn installer(env: &Env) -> DriverInstaller {
    match env.config.gpu.kind {
        GpuKind::T4 => pins::DRIVER_DEFAULT,
        GpuKind::L4 => pins::DRIVER_LATEST,
    }
}

#[async_trait]
impl Manifest for Drivers {
    fn permissions(&self) -> Vec<&'static str> {
        vec!["container.daemonSets.create", "container.daemonSets.update"]
    }

    fn describe(&self, env: &Env) -> String {
        format!("NVIDIA driver installer DaemonSet ({})", installer(env).name)
    }

    fn strict(&self) -> bool {
        false
    }

    async fn objects(&self, env: &Env, _live: Option<Live<'_>>) -> anyhow::Result<Vec<Value>> {
        let i = installer(env);
        let pin =
            Pinned { what: "NVIDIA's driver installer", url: i.url, sha256: i.sha256, flag: "--driver-manifest FILE" };
        let text = fetch(pin, env.options.driver_manifest.as_deref()).await?;
        parse_yaml(&text, "the driver installer manifest")
    }
}
