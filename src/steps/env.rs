//! What every step shares: the resolved config, the derived names, the Google clients, run
//! options, and the outputs steps publish for their dependants and the closing summary.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use tokio::sync::OnceCell;

use crate::config::Config;
use crate::gcp::{Endpoints, Gcp, retry};
use crate::names::Names;
use crate::plan::StepCx;

pub struct Env {
    pub config: Config,
    pub names: Names,
    pub options: RunOptions,
    pub outputs: Outputs,
    pub gcp: Gcp,
    project_number: OnceCell<String>,
    /// Set once image builds have their staging bucket and identity (the images build at once).
    pub builder_ready: OnceCell<()>,
    /// The VPC ranges of this run (`steps::ranges::plan`).
    pub ranges: OnceCell<super::ranges::Ranges>,
    /// The prices of this run's estimate, read once.
    prices: OnceCell<crate::cost::PriceBook>,
}

impl Env {
    pub fn new(config: Config, options: RunOptions, endpoints: Endpoints) -> Self {
        let names = Names::new(&config);
        Self {
            config,
            names,
            options,
            outputs: Outputs::default(),
            gcp: Gcp::new(endpoints),
            project_number: OnceCell::new(),
            builder_ready: OnceCell::new(),
            ranges: OnceCell::new(),
            prices: OnceCell::new(),
        }
    }

    /// The region's prices from the Cloud Billing Catalog (cached a day), else sdctl's table;
    /// read once per run.
    pub async fn price_book(&self) -> &crate::cost::PriceBook {
        self.prices.get_or_init(|| crate::cost::price_book(&self.gcp, &self.config.region)).await
    }

    /// The cost estimate at this run's prices.
    pub async fn estimate(&self) -> crate::cost::Estimate {
        crate::cost::estimate(&self.config, self.price_book().await)
    }

    pub fn project(&self) -> &str {
        &self.config.project
    }

    /// Labels for every Google resource that takes them (user labels + `sdctl-env`).
    pub fn labels(&self) -> HashMap<String, String> {
        self.config.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Whether a resource's labels mark it as this environment's.
    pub fn owns(&self, labels: &HashMap<String, String>) -> bool {
        labels.get(crate::names::LABEL_ENV).map(String::as_str) == Some(self.names.env())
    }

    /// The project number (IAM principals and IAP audiences need it), read once.
    pub async fn project_number(&self, cx: &StepCx<Env>) -> anyhow::Result<String> {
        self.project_number
            .get_or_try_init(|| async {
                let client = self.gcp.projects().await?;
                let name = format!("projects/{}", self.config.project);
                let project = retry::call(cx, &format!("read project {}", self.config.project), || {
                    client.get_project().set_name(&name).send()
                })
                .await?;
                // `name` is `projects/NUMBER`.
                Ok(project.name.trim_start_matches("projects/").to_string())
            })
            .await
            .cloned()
    }
}

/// Options of this run that steps need.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `plan --offline`: no credentials, no network.
    pub offline: bool,
    pub agones_manifest: Option<PathBuf>,
    pub driver_manifest: Option<PathBuf>,
    /// `--okg-manifests DIR`: OpenKruise's and OpenKruiseGame's release files.
    pub okg_manifests: Option<PathBuf>,
    /// `up --no-wait`: skip the closing smoke check.
    pub no_wait: bool,
    /// `-y`: go ahead with what ends users' sessions (a template removed from the config).
    pub yes: bool,
    /// `down --keep-data`.
    pub keep_data: bool,
    /// This `down` deletes the cluster: what runs in it goes with it.
    pub deleting_cluster: bool,
    pub wait_for_certificate: bool,
    /// The executable to ship in the runtime image (`SDCTL_RUNTIME_BINARY`); default: this sdctl
    /// when it is linux x86-64, else a build from source.
    pub runtime_binary: Option<PathBuf>,
}

/// Values steps learn while running (addresses, hosts, endpoints). Public ones end up in the
/// summary; the AUTH string and other secrets never go here.
#[derive(Debug, Default)]
pub struct Outputs(Mutex<BTreeMap<&'static str, String>>);

impl Outputs {
    pub fn set(&self, key: &'static str, value: impl Into<String>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, value.into());
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.0.lock().ok()?.get(key).cloned()
    }

    /// The summary's `outputs` (design.md: url, staticIp, dnsRecord, redisHost, ...).
    pub fn public(&self) -> BTreeMap<String, String> {
        const PUBLIC: [&str; 12] = [
            "url",
            "iapAudience",
            "staticIp",
            "dnsRecord",
            "redisHost",
            "filestore",
            "bucket",
            "cluster",
            "registry",
            "webuiImage",
            "comfyuiImage",
            "runtimeImage",
        ];
        self.0
            .lock()
            .map(|m| m.iter().filter(|(k, _)| PUBLIC.contains(k)).map(|(k, v)| (k.to_string(), v.clone())).collect())
            .unwrap_or_default()
    }
}
