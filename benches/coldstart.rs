//! `cargo bench --bench coldstart`: how long a user waits for a WebUI on a new GPU node, per way
//! the node gets the WebUI image — a plain pull from Artifact Registry, image streaming, and the
//! image cache (`gpu.imageCache`) — side by side, and what each costs on the first `up`.
//!
//! MODELLED, NOT MEASURED: the times are the emulator's (`tests/emulator/src/k8s/coldstart.rs`
//! and FIDELITY.md: node scale-up, a pull scaled from seed 004's measurements on GKE, the
//! WebUI's start), run through the real `sdctl up`, Fleet autoscaler and cluster autoscaler of the
//! emulator. The live suite with `SDCTL_LIVE_IMAGE_CACHE=1` prints real figures (not yet taken).
//!
//! For each mode, on the L4 example (private: the image cache's builder reaches the registry through Cloud NAT) with a WebUI image of `WEBUI_IMAGE_GB`:
//! 1. `sdctl up` (the first up: image builds, the image cache's builder, the first warm WebUI);
//! 2. the warm WebUI is allocated to a user; the timer runs until the Fleet's next warm WebUI is
//!    Ready on a new GPU node (scale-up, pull, start): what the next user waits.
//!
//! Times are simulated seconds (real time x the emulator's speed).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use sdctl_emulator::{Emulator, Options, Scenario};
use serde_json::{Value, json};

/// The WebUI image's compressed size, in GB (CUDA, torch, xformers, AUTOMATIC1111; an estimate).
const WEBUI_IMAGE_GB: f64 = 8.0;
const SPEED: f64 = 200.0;

struct Mode {
    name: &'static str,
    /// Edits to the L4 example.
    edits: &'static [(&'static str, &'static str)],
}

const MODES: [Mode; 3] = [
    Mode { name: "registry pull", edits: &[("  imageStreaming: true\n", "  imageStreaming: false\n")] },
    Mode { name: "image streaming", edits: &[] },
    Mode {
        name: "image cache",
        edits: &[("  imageStreaming: true\n", "  imageStreaming: true\n  imageCache: true\n")],
    },
];

struct Row {
    name: &'static str,
    first_up: f64,
    image_cache_step: f64,
    first_warm_pull: f64,
    next_user_wait: f64,
}

#[path = "../tests/it/support/upstream.rs"]
mod upstream_files;

fn upstream() -> PathBuf {
    upstream_files::upstream_dir()
}

fn game_servers(emu: &Emulator) -> Vec<Value> {
    emu.state()["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["service"] == "k8s" && r["kind"] == "GameServer")
        .cloned()
        .collect()
}

async fn run(mode: &Mode) -> anyhow::Result<Row> {
    let scenario = Scenario::from_yaml(&format!("webuiImageGb: {WEBUI_IMAGE_GB}\n"))?;
    let emu = Emulator::start(Options { speed: SPEED, scenario, ..Options::default() }).await?;
    let dir = tempfile::tempdir()?;
    let mut text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sd-agones-l4-gcs.yaml"))?;
    for (from, to) in mode.edits {
        anyhow::ensure!(text.contains(from), "the L4 example has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let config = dir.path().join("sdctl.yaml");
    std::fs::write(&config, text)?;
    let manifest = upstream().join("agones-1.60.0/install.yaml");
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args(["up", "--skip-preflight", "-o", "json", "-c"])
        .arg(&config)
        .arg("--agones-manifest")
        .arg(&manifest)
        // Prices read from the emulator stay out of the user's cache.
        .env("XDG_CACHE_HOME", dir.path())
        .env("SDCTL_API_ENDPOINT", emu.url())
        .env("SDCTL_TIME_SCALE", SPEED.to_string())
        .output()
        .await?;
    let first_up = started.elapsed().as_secs_f64() * SPEED;
    anyhow::ensure!(output.status.success(), "{}: up failed: {}", mode.name, String::from_utf8_lossy(&output.stderr));
    let image_cache_step = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "step_finished" && e["step"] == "image-cache")
        .and_then(|e| e["duration_ms"].as_f64())
        .map(|ms| ms / 1000.0 * SPEED)
        .unwrap_or(0.0);

    // A user takes the warm WebUI; the Fleet's buffer asks for the next one on a new node.
    let kubeconfig = reqwest::get(format!("{}/_emulator/kubeconfig/sd-l4-gke", emu.url())).await?.text().await?;
    let kube_config =
        kube::Config::from_custom_kubeconfig(Kubeconfig::from_yaml(&kubeconfig)?, &KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(kube_config)?;
    let first_node: Vec<String> = game_servers(&emu)
        .iter()
        .filter(|g| g["state"] == "Ready")
        .filter_map(|g| g["name"].as_str().map(String::from))
        .collect();
    anyhow::ensure!(first_node.len() == 1, "{}: expected one warm WebUI after up, found {first_node:?}", mode.name);
    let allocation = json!({
        "apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
        "spec": {"selectors": [{"matchLabels": {"agones.dev/fleet": "webui"}, "gameServerState": "Ready"}]},
    });
    let request = http::Request::post("/apis/allocation.agones.dev/v1/namespaces/sd/gameserverallocations")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&allocation)?)?;
    let allocated = Instant::now();
    let answer: Value = client.request(request).await?;
    anyhow::ensure!(answer["status"]["state"] == "Allocated", "{}: allocation failed: {answer}", mode.name);
    let deadline = allocated + Duration::from_secs_f64(3600.0 / SPEED);
    let next_user_wait = loop {
        let ready_elsewhere = game_servers(&emu)
            .iter()
            .any(|g| g["state"] == "Ready" && !first_node.contains(&g["name"].as_str().unwrap_or("").to_string()));
        if ready_elsewhere {
            break allocated.elapsed().as_secs_f64() * SPEED;
        }
        anyhow::ensure!(Instant::now() < deadline, "{}: no new warm WebUI within an hour", mode.name);
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    emu.shutdown().await;
    let pull = sdctl_emulator::k8s::coldstart::pull_secs;
    use sdctl_emulator::k8s::coldstart::ImagePull;
    let kind = match mode.name {
        "registry pull" => ImagePull::Registry,
        "image streaming" => ImagePull::Streaming,
        _ => ImagePull::Cache,
    };
    Ok(Row {
        name: mode.name,
        first_up,
        image_cache_step,
        first_warm_pull: pull(kind, WEBUI_IMAGE_GB, true),
        next_user_wait,
    })
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build()?;
    let rows = rt.block_on(async {
        let mut rows = Vec::new();
        for mode in &MODES {
            rows.push(run(mode).await?);
        }
        anyhow::Ok(rows)
    })?;
    let registry = rows[0].next_user_wait;
    println!(
        "cold start, MODELLED by the emulator (not measured): L4 example, {WEBUI_IMAGE_GB} GB WebUI image, speed {SPEED}"
    );
    println!(
        "| {:<16} | {:>14} | {:>16} | {:>18} | {:>20} | {:>11} |",
        "mode", "first up (min)", "image-cache step", "first pull (model)", "next user waits (s)", "vs registry"
    );
    println!("|{:-<18}|{:->16}|{:->18}|{:->20}|{:->22}|{:->13}|", "", "", "", "", "", "");
    for r in &rows {
        println!(
            "| {:<16} | {:>14.1} | {:>14.1} m | {:>16.0} s | {:>20.0} | {:>10.2}x |",
            r.name,
            r.first_up / 60.0,
            r.image_cache_step / 60.0,
            r.first_warm_pull,
            r.next_user_wait,
            r.next_user_wait / registry
        );
    }
    Ok(())
}
