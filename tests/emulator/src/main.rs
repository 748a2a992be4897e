//! `sdctl-emulator`: the Google Cloud APIs and per-cluster Kubernetes APIs sdctl talks to, for tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use sdctl_emulator::{Emulator, Options, Scenario};

/// Emulates the Google Cloud APIs sdctl uses (and each GKE cluster's Kubernetes API).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// Divide every simulated duration by N.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Append one JSON object per request to FILE.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Scenario YAML: quotas, faults, disabled APIs, ...
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Validate requests against the Google Discovery documents in DIR.
    #[arg(long, value_name = "DIR", env = "SDCTL_DISCOVERY_DIR")]
    discovery_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
            Scenario::from_yaml(&text)?
        }
        None => Scenario::default(),
    };
    if args.discovery_dir.is_none() {
        eprintln!("sdctl-emulator: warning: request validation is off (give --discovery-dir or SDCTL_DISCOVERY_DIR)");
    }
    let emulator = Emulator::start(Options {
        listen: args.listen,
        speed: args.speed,
        request_log: args.request_log,
        scenario,
        discovery_dir: args.discovery_dir,
    })
    .await?;
    println!("listening on {}", emulator.url());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
