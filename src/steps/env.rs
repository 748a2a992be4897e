//! What every step shares: the resolved config, the derived names, run options, and the
//! outputs steps publish for their dependants and the closing summary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::config::Config;
use crate::names::Names;

pub struct Env {
    pub config: Config,
    pub names: Names,
    pub options: RunOptions,
    pub outputs: Outputs,
}

impl Env {
    pub fn new(config: Config, options: RunOptions) -> Self {
        let names = Names::new(&config);
        Self { config, names, options, outputs: Outputs::default() }
    }
}

/// Options of this run that steps need.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `plan --offline`: no credentials, no network.
    pub offline: bool,
    pub agones_manifest: Option<PathBuf>,
    pub driver_manifest: Option<PathBuf>,
    /// `up --no-wait`: skip the closing smoke check.
    pub no_wait: bool,
    /// `down --keep-data`.
    pub keep_data: bool,
    pub wait_for_certificate: bool,
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
        const PUBLIC: [&str; 6] = ["url", "staticIp", "dnsRecord", "redisHost", "filestoreIp", "bucket"];
        self.0
            .lock()
            .map(|m| m.iter().filter(|(k, _)| PUBLIC.contains(k)).map(|(k, v)| (k.to_string(), v.clone())).collect())
            .unwrap_or_default()
    }
}
