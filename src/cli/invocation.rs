//! What every command starts from: the global flags resolved once (output mode, time scale,
//! Ctrl-C handling, config overrides).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::GlobalArgs;
use crate::config::{self, Config, Overrides, Sourced};
use crate::exit::Exit;
use crate::gcp::Endpoints;
use crate::plan::{ClusterLocks, Limits, Reporter, RunShared, TimeScale};
use crate::steps::{Env, RunOptions};
use crate::ui::Ui;

pub struct Invocation {
    pub global: GlobalArgs,
    pub ui: Ui,
    pub time: TimeScale,
    /// Cancelled by Ctrl-C (a second Ctrl-C exits at once).
    pub cancel: CancellationToken,
}

impl Invocation {
    pub fn new(global: GlobalArgs) -> Self {
        let ui = Ui::detect(global.output);
        let time = std::env::var("SDCTL_TIME_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .map(TimeScale::new)
            .unwrap_or_default();
        Self { global, ui, time, cancel: CancellationToken::new() }
    }

    /// Ctrl-C cancels the run: nothing new starts, running steps stop at their next wait point.
    /// A second Ctrl-C exits immediately.
    pub fn watch_ctrl_c(&self) {
        let cancel = self.cancel.clone();
        let ui = self.ui;
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ui.err("interrupted: stopping running steps (Ctrl-C again to exit at once)");
                cancel.cancel();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
    }

    pub fn overrides(&self) -> Overrides {
        let sourced = |value: &Option<String>, flag: &str, env: &str| {
            value.clone().map(|value| Sourced { value, source: format!("{flag} or {env}") })
        };
        Overrides {
            name: None,
            project: sourced(&self.global.project, "--project", "SDCTL_PROJECT"),
            region: sourced(&self.global.region, "--region", "SDCTL_REGION"),
            zones: sourced(&self.global.zones, "--zones", "SDCTL_ZONES"),
        }
    }

    /// Where each Google API lives (`--api-endpoint`, `SDCTL_ENDPOINT_<SERVICE>`).
    pub fn endpoints(&self) -> anyhow::Result<Endpoints> {
        Endpoints::resolve(self.global.api_endpoint.as_deref(), |var| std::env::var(var).ok())
            .map_err(|e| Exit::usage(format!("{e}; use e.g. http://127.0.0.1:8480")).into())
    }

    /// The shared environment of a run's steps.
    pub fn env(&self, config: Config, mut options: RunOptions) -> anyhow::Result<Arc<Env>> {
        if options.runtime_binary.is_none() {
            options.runtime_binary = std::env::var_os("SDCTL_RUNTIME_BINARY").map(std::path::PathBuf::from);
        }
        Ok(Arc::new(Env::new(config, options, self.endpoints()?)))
    }

    /// Loads and validates `-c FILE` with the command-line overrides.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        Ok(config::load(&self.global.config, &self.overrides())?)
    }

    pub fn shared(&self, reporter: Arc<dyn Reporter>) -> Arc<RunShared> {
        Arc::new(RunShared { reporter, cancel: self.cancel.clone(), time: self.time, locks: ClusterLocks::default() })
    }

    /// For a command whose `-o json` output is one document: its progress shows in text mode,
    /// and is left out with `-o json` (stdout holds only the document).
    pub fn shared_for_document(&self) -> Arc<RunShared> {
        let reporter: Arc<dyn Reporter> =
            if self.ui.json() { Arc::new(crate::plan::Collector::default()) } else { self.ui.reporter() };
        self.shared(reporter)
    }

    pub fn limits(&self) -> Limits {
        Limits {
            timeout: self.global.timeout.map(|t| self.time.scale(t)),
            grace: self.time.scale(Duration::from_secs(10)),
        }
    }
}
