//! sdctl's image-cache builder VM, modelled from the outside: a Compute instance whose metadata
//! `startup-script` is sdctl's (it names `sdctl-image-cache`) writes that script's progress lines
//! to its first serial port, as the real VM does, and ends with `done` or `failed: <why>`. The
//! script itself is a black box here (it is tested on its own against fakes); what decides its
//! outcome is what would decide it on Google:
//! - the data disk must be attached as device `sdctl-image-cache`;
//! - the VM has no external IP, so it reaches Artifact Registry only through Private Google Access
//!   on its subnetwork or a Cloud NAT of its network and region;
//! - every image in the `sdctl-images` attribute must be in the registry;
//! - scenario `imageCacheBuildFails: true` fails the pull anyway (a registry or permission error).

use std::sync::Arc;

use serde_json::Value;

use super::BASE;
use crate::app::App;
use crate::google::World;

const MARKER: &str = "sdctl-image-cache";
/// The device name the script formats (`/dev/disk/by-id/google-<name>`).
const DEVICE: &str = "sdctl-image-cache";
/// Simulated seconds (before `--speed`): boot to script start, the pull of a WebUI image of a few
/// GB, copying its layers (the script's steps, not measured figures).
const BOOT_SECS: f64 = 20.0;
const PULL_SECS: f64 = 150.0;
const COPY_SECS: f64 = 60.0;
/// How many layers a pulled image is reported to have.
const LAYERS: usize = 12;
/// What the guest agent's google_metadata_script_runner logs after the script, failed or not
/// (GoogleCloudPlatform/guest-agent, google_metadata_script_runner/main.go).
const AGENT_FAILED: &str = "google_metadata_script_runner: Script \"startup-script\" failed with error: exit status 1";
const AGENT_DONE: &str = "google_metadata_script_runner: startup-script exit status 0";

fn metadata<'a>(instance: &'a Value, key: &str) -> Option<&'a str> {
    instance["metadata"]["items"]
        .as_array()?
        .iter()
        .find(|item| item["key"] == key)
        .and_then(|item| item["value"].as_str())
}

/// Starts the model when `key` (an instance that just became RUNNING) is sdctl's builder.
pub fn on_running(app: &Arc<App>, world: &World, key: &str) {
    let Some(instance) = world.compute.resources.get(key).map(|r| r.value.clone()) else { return };
    if !metadata(&instance, "startup-script").is_some_and(|s| s.contains(MARKER)) {
        return;
    }
    let images: Vec<String> =
        metadata(&instance, "sdctl-images").unwrap_or_default().split_whitespace().map(str::to_string).collect();
    let outcome = outcome(app, world, &instance, &images);
    let key = key.to_string();
    let say = move |world: &mut World, lines: &[String]| {
        if let Some(res) = world.compute.resources.get_mut(&key)
            && !res.deleting
        {
            // Each line ends with CRLF, as the console writes it (the boot log ends at a prompt).
            let mut out = res.value["serialOutput"].as_str().unwrap_or_default().to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str("\r\n");
            }
            for line in lines {
                out.push_str(line);
                out.push_str("\r\n");
            }
            res.value["serialOutput"] = Value::String(out);
        }
    };
    let script = |line: String| format!("{MARKER}: {line}");
    // What the script writes and when (seconds after the VM runs), in order.
    let mut schedule: Vec<(f64, Vec<String>)> = Vec::new();
    let mut start = vec![script("started".into())];
    if let Err(why) = &outcome
        && why.starts_with("the data disk")
    {
        start.push(script(format!("failed: {why}")));
        start.push(AGENT_FAILED.into());
        schedule.push((BOOT_SECS, start));
    } else {
        start.push(script("formatting the data disk".into()));
        start.extend(images.iter().map(|i| script(format!("pulling {i}"))));
        schedule.push((BOOT_SECS, start));
        let pulled = BOOT_SECS + PULL_SECS;
        let end = match outcome {
            Ok(()) => {
                // The layers are copied one after the other.
                for n in 1..=LAYERS {
                    let at = pulled + COPY_SECS * (n - 1) as f64 / LAYERS as f64;
                    schedule.push((at, vec![script(format!("copying layer {n}/{LAYERS}"))]));
                }
                vec![script(format!("done: {LAYERS} layers")), AGENT_DONE.into()]
            }
            Err(why) => vec![script(format!("failed: {why}")), AGENT_FAILED.into()],
        };
        schedule.push((pulled + COPY_SECS, end));
    }
    // One task writes them in order (separate timers could fire out of order on a busy machine).
    app.after_async(std::time::Duration::ZERO, move |app| async move {
        let began = tokio::time::Instant::now();
        for (at, lines) in schedule {
            tokio::time::sleep_until(began + app.clock.secs(at)).await;
            say(&mut app.world(), &lines);
        }
    });
}

fn outcome(app: &App, world: &World, instance: &Value, images: &[String]) -> Result<(), String> {
    let attached = instance["disks"].as_array().into_iter().flatten().any(|d| d["deviceName"] == DEVICE);
    if !attached {
        return Err(format!("the data disk is not attached at /dev/disk/by-id/google-{DEVICE}"));
    }
    let Some(first) = images.first() else {
        return Err("the metadata attribute sdctl-images is empty".into());
    };
    let pull_error =
        |image: &str| format!("cannot pull {image} (does the builder's service account read the repository?)");
    if !reaches_google(world, instance) {
        return Err(pull_error(first));
    }
    if let Some(missing) = images.iter().find(|i| !world.registry.has_image(i)) {
        return Err(pull_error(missing));
    }
    if app.scenario().image_cache_build_fails {
        return Err(pull_error(first));
    }
    Ok(())
}

/// Whether the VM reaches Google's APIs: an external IP, Private Google Access on its
/// subnetwork, or a Cloud NAT on a router of its network in its region.
fn reaches_google(world: &World, instance: &Value) -> bool {
    let Some(nic) = instance["networkInterfaces"].as_array().and_then(|n| n.first()) else { return false };
    if nic["accessConfigs"].as_array().is_some_and(|a| !a.is_empty()) {
        return true;
    }
    let subnet = nic["subnetwork"].as_str().unwrap_or_default();
    if world.compute.get(subnet).is_some_and(|s| s["privateIpGoogleAccess"] == true) {
        return true;
    }
    let region_prefix = subnet.strip_prefix(BASE).and_then(|s| s.split("/subnetworks/").next()).unwrap_or_default();
    let routers = format!("{region_prefix}/routers/");
    world.compute.resources.iter().any(|(k, r)| {
        k.starts_with(&routers)
            && r.visible
            && r.value["network"] == nic["network"]
            && r.value["nats"].as_array().is_some_and(|n| !n.is_empty())
    })
}
