//! sdctl's emulator of the Google Cloud APIs and of each GKE cluster's Kubernetes API.
//!
//! Start it in-process from a test:
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let emu = sdctl_emulator::Emulator::start(sdctl_emulator::Options {
//!     speed: 1000.0,
//!     ..Default::default()
//! })
//! .await?;
//! let container_endpoint = format!("{}/container", emu.url());
//! # let _ = container_endpoint;
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod k8s;
pub mod scenario;

mod app;
mod clock;
mod error;
mod google;
mod host;
mod reqlog;
mod route;
mod server;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use scenario::Scenario;
pub use validate::check_routes_against_discovery;

/// The IAM permission the emulator checks for a Discovery method id (None: none checked).
pub fn iam_permission(method_id: &str) -> Option<String> {
    google::permission(method_id)
}

use crate::app::App;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; `127.0.0.1:0` (the default) picks a free port.
    pub listen: SocketAddr,
    /// Every simulated duration is divided by this (default 1: real GKE timings).
    pub speed: f64,
    /// Also append every request log entry to this file (one JSON object per line).
    pub request_log: Option<PathBuf>,
    pub scenario: Scenario,
    /// Validate requests against the Discovery documents in this directory.
    pub discovery_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            speed: 1.0,
            request_log: None,
            scenario: Scenario::default(),
            discovery_dir: None,
        }
    }
}

/// A running emulator.
pub struct Emulator {
    app: Arc<App>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds, starts serving in the current tokio runtime, and returns once requests are accepted.
    pub async fn start(options: Options) -> anyhow::Result<Emulator> {
        let validator = match &options.discovery_dir {
            Some(dir) => Some(validate::Validator::load(dir)?),
            None => None,
        };
        let log = reqlog::RequestLog::new(options.request_log.as_deref())?;
        let app = App::new(clock::Clock::new(options.speed), options.scenario, log, validator, |weak| {
            k8s::Clusters::new(Arc::new(host::GoogleHost::new(weak)))
        });
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
        let addr = listener.local_addr()?;
        let _ = app.base_url.set(format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let router = server::router(app.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("sdctl-emulator: server stopped: {e}");
            }
        });
        Ok(Emulator { app, addr, stop: Some(stop), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT`: the base URL; Google API X is at `{url}/X`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `{"resources":[...]}`, as `GET /_emulator/state` answers.
    pub fn state(&self) -> Value {
        serde_json::json!({ "resources": server::state(&self.app) })
    }

    /// Every request served so far, oldest first, in the request log format.
    pub fn requests(&self) -> Vec<Value> {
        self.app.log.entries()
    }

    /// The Google side as the Kubernetes side sees it: tests call `scale_up`, `node_pools` or
    /// `create_load_balancer` directly to play the cluster autoscaler or the Ingress controller.
    pub fn host(&self) -> Arc<dyn k8s::Host> {
        Arc::new(host::GoogleHost::new(Arc::downgrade(&self.app)))
    }

    /// Forgets every resource, operation and logged request (the scenario stays).
    pub async fn reset(&self) {
        self.app.reset().await;
    }

    /// Replaces the scenario (fault counters restart; `disabledApis` is applied again).
    pub fn set_scenario(&self, scenario: Scenario) {
        self.app.set_scenario(scenario);
    }

    /// Stops serving, including every cluster's Kubernetes API.
    pub async fn shutdown(mut self) {
        self.stop_server().await;
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.app.reset().await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
