//! `cargo bench --bench up`: how close `sdctl up` comes to the critical path of its step graph,
//! against the emulator's realistic durations scaled down (`--speed` / `SDCTL_TIME_SCALE`).
//!
//! Prints, for one run each of both example configurations:
//! - the emulator's start-up time,
//! - wall time / critical path (each step's measured duration along the longest dependency
//!   chain; 1.00 is perfect scheduling, the goal is <= 1.05),
//! - sum of step durations / wall time (the speed-up over running the steps one by one, as the
//!   guide does).
//!
//! Ratios, not absolute times: the machines are noisy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sdctl_emulator::{Emulator, Options, Scenario};
use serde_json::Value;

#[path = "../tests/it/support/upstream.rs"]
mod upstream_files;

fn upstream() -> PathBuf {
    upstream_files::upstream_dir()
}

/// Longest path through the graph, weighting each step by its measured duration.
fn critical_path(deps: &HashMap<String, Vec<String>>, took: &HashMap<String, Duration>) -> Duration {
    fn finish(
        step: &str,
        deps: &HashMap<String, Vec<String>>,
        took: &HashMap<String, Duration>,
        memo: &mut HashMap<String, Duration>,
    ) -> Duration {
        if let Some(d) = memo.get(step) {
            return *d;
        }
        let start = deps.get(step).into_iter().flatten().map(|d| finish(d, deps, took, memo)).max().unwrap_or_default();
        let end = start + took.get(step).copied().unwrap_or_default();
        memo.insert(step.to_string(), end);
        end
    }
    let mut memo = HashMap::new();
    took.keys().map(|s| finish(s, deps, took, &mut memo)).max().unwrap_or_default()
}

async fn run(example: &str, speed: f64) -> anyhow::Result<()> {
    let started = Instant::now();
    let emu = Emulator::start(Options { speed, scenario: Scenario::default(), ..Options::default() }).await?;
    let startup = started.elapsed();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
    let manifest = upstream().join("agones-1.60.0/install.yaml");
    // The whole `up`: every step, the images' Cloud Builds and the closing smoke check included
    // (preflight skipped: it is not part of the graph being measured).
    let mut args: Vec<String> = vec!["up".into()];
    args.extend(["--skip-preflight", "-o", "json", "-c"].iter().map(|s| s.to_string()));
    args.push(config.display().to_string());
    args.push("--agones-manifest".into());
    args.push(manifest.display().to_string());
    // Prices read from the emulator stay out of the user's cache.
    let cache = tempfile::tempdir()?;
    let wall_start = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args(&args)
        .env("XDG_CACHE_HOME", cache.path())
        .env("SDCTL_API_ENDPOINT", emu.url())
        .env("SDCTL_TIME_SCALE", speed.to_string())
        .output()
        .await?;
    let wall = wall_start.elapsed();
    anyhow::ensure!(output.status.success(), "up failed: {}", String::from_utf8_lossy(&output.stderr));
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    let mut took: HashMap<String, Duration> = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let event: Value = serde_json::from_str(line)?;
        match event["event"].as_str() {
            Some("plan") => {
                for s in event["steps"].as_array().into_iter().flatten() {
                    let id = s["id"].as_str().unwrap_or_default().to_string();
                    let d = s["depends_on"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d.as_str().map(String::from))
                        .collect();
                    deps.insert(id, d);
                }
            }
            Some("step_finished") => {
                took.insert(
                    event["step"].as_str().unwrap_or_default().to_string(),
                    Duration::from_millis(event["duration_ms"].as_u64().unwrap_or(0)),
                );
            }
            _ => {}
        }
    }
    let critical = critical_path(&deps, &took);
    let sum: Duration = took.values().sum();
    println!(
        "{example:<24} speed {speed:>5}  emulator start {:>6.1} ms  wall {:>7.2} s  critical path {:>7.2} s  \
         wall/critical {:.2}  sum/wall {:.2}",
        startup.as_secs_f64() * 1000.0,
        wall.as_secs_f64(),
        critical.as_secs_f64(),
        wall.as_secs_f64() / critical.as_secs_f64(),
        sum.as_secs_f64() / wall.as_secs_f64()
    );
    emu.shutdown().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build()?;
    rt.block_on(async {
        for example in ["sd-agones-t4.yaml", "sd-agones-l4-gcs.yaml"] {
            run(example, 100.0).await?;
        }
        run("sd-agones-t4.yaml", 1000.0).await
    })
}
