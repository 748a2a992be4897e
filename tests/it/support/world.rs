//! A test world: the emulator in-process (fast clock, request validation against Google's
//! Discovery documents) and sdctl run against it as a user would.

use std::time::{Duration, Instant};

use sdctl_emulator::{Emulator, Options, Scenario};
use serde_json::Value;

use super::Run;
pub use super::upstream::upstream_dir;

/// Simulated durations are divided by this (and sdctl's own by `SDCTL_TIME_SCALE`).
pub const SPEED: f64 = 1000.0;

pub struct World {
    pub emu: Emulator,
    pub speed: f64,
    /// sdctl's cache directory in this world (prices read from the emulator stay here).
    pub cache: tempfile::TempDir,
}

impl World {
    pub async fn start() -> World {
        Self::with(Scenario::default(), SPEED).await
    }

    pub async fn with_scenario(yaml: &str) -> World {
        Self::with(Scenario::from_yaml(yaml).expect("valid scenario"), SPEED).await
    }

    /// A project that was used before: every API already enabled (a new one has them disabled,
    /// as on Google), then the scenario's changes.
    pub async fn used_project(yaml: &str) -> World {
        let mut scenario = Scenario::from_yaml(yaml).expect("valid scenario");
        scenario.enabled_apis.push("*".into());
        Self::with(scenario, SPEED).await
    }

    pub async fn with(scenario: Scenario, speed: f64) -> World {
        let emu = Emulator::start(Options {
            speed,
            scenario,
            discovery_dir: Some(upstream_dir().join("discovery")),
            ..Options::default()
        })
        .await
        .expect("emulator starts");
        let cache = tempfile::tempdir().expect("a cache directory");
        super::upstream::seed_cache(cache.path());
        World { emu, speed, cache }
    }

    /// sdctl against this world, as a std Command (for a pseudo-terminal).
    pub fn std_command(&self, args: &[&str]) -> std::process::Command {
        let mut c = super::sdctl();
        c.args(args)
            .env("SDCTL_API_ENDPOINT", self.emu.url())
            .env("SDCTL_TIME_SCALE", self.speed.to_string())
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("NO_COLOR", "1");
        c
    }

    /// sdctl pointed at the emulator, with its clock scaled like the emulator's.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::from(self.std_command(args));
        cmd.kill_on_drop(true);
        cmd
    }

    pub async fn sdctl(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self.command(args).output().await.expect("sdctl runs");
        let run = Run::from(output);
        assert!(started.elapsed() < Duration::from_secs(120), "sdctl {args:?} took {:?}", started.elapsed());
        run
    }

    pub fn requests(&self) -> Vec<Value> {
        self.emu.requests()
    }

    /// A kubeconfig for a running cluster of this world (`GET /_emulator/kubeconfig/CLUSTER`).
    pub async fn kubeconfig(&self, cluster: &str) -> String {
        let url = format!("{}/_emulator/kubeconfig/{cluster}", self.emu.url());
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }

    /// Google API requests that change something (anything but GET), from request `since` on.
    pub fn mutating_since(&self, since: usize) -> Vec<Value> {
        self.requests()
            .into_iter()
            .skip(since)
            .filter(|r| {
                r["service"] != "k8s" && r["method"] != "GET" && !is_read_only(r["methodId"].as_str().unwrap_or(""))
            })
            .collect()
    }

    /// The first logged request of this Discovery method id.
    pub fn request(&self, method_id: &str) -> Value {
        self.requests()
            .into_iter()
            .find(|r| r["methodId"] == method_id)
            .unwrap_or_else(|| panic!("no {method_id} request in the log"))
    }

    pub fn requests_of(&self, method_id: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["methodId"] == method_id).collect()
    }

    /// `(kind, name, state)` of every live Google resource but the project's defaults.
    pub fn resources(&self) -> Vec<(String, String, String)> {
        let state = self.emu.state();
        state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter(|r| r["service"] != "k8s")
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
                (s("kind"), s("name"), s("state"))
            })
            .filter(|(kind, name, _)| !is_default(kind, name))
            .collect()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.resources().iter().filter(|(k, _, _)| k == kind).count()
    }

    /// Makes a resource as someone else (an earlier sdctl, a person) would: `body` POSTed to the
    /// emulator's `path` (its REST path after the host), which must accept it.
    pub async fn create(&self, path: &str, body: &Value) {
        let made = reqwest::Client::new().post(format!("{}{path}", self.emu.url())).json(body).send().await.unwrap();
        assert!(made.status().is_success(), "POST {path}: {:?}", made.text().await);
    }

    /// Live resources of a kind whose name contains `fragment`.
    pub fn named(&self, kind: &str, fragment: &str) -> Vec<String> {
        self.resources().into_iter().filter(|(k, n, _)| k == kind && n.contains(fragment)).map(|(_, n, _)| n).collect()
    }
}

/// What a new project already has (enabled APIs, the default network and its rules), and build
/// history, which Cloud Build keeps and nobody can delete.
fn is_default(kind: &str, name: &str) -> bool {
    kind == "ApiService"
        || kind == "Build"
        || (kind == "Network" && name.ends_with("/networks/default"))
        || (kind == "Subnetwork" && name.ends_with("/subnetworks/default"))
        || (kind == "Firewall" && name.contains("/firewalls/default-"))
        || (kind == "Route" && name.contains("/routes/default-route-"))
}

/// Google methods that read although they are POSTs.
fn is_read_only(method_id: &str) -> bool {
    ["getIamPolicy", "testIamPermissions", "getEffectivePolicy", "batchGet"].iter().any(|m| method_id.ends_with(m))
}
