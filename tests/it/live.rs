//! The live suite, for maintainers: sdctl against a real Google Cloud project, end to end. Opt-in
//! (ignored by default): it creates billable resources for about half an hour.
//!
//!   SDCTL_LIVE_PROJECT=my-sandbox-project cargo test --test it live -- --ignored
//!
//! Needs Application Default Credentials (`gcloud auth application-default login`) with Owner on
//! the project, billing, and GPU quota in SDCTL_LIVE_REGION (default us-central1). It runs
//! preflight, `up`, `status --exit-code`, a second `up` that must change nothing, a request through
//! the load balancer (IAP must answer before any WebUI does), and `down`, which must leave nothing.
//!
//! `SDCTL_LIVE_IMAGE_CACHE=1` runs it with `gpu.imageCache: true` (and a private cluster, whose
//! Cloud NAT the builder pulls through) and prints how long the cache took to build and the
//! first warm WebUI took to come: the real figures beside `cargo bench --bench coldstart`'s model.

use crate::support::{Run, TempConfig, run_cmd, sdctl};

fn live(args: &[&str]) -> Run {
    let mut cmd = sdctl();
    cmd.args(args);
    // The real thing: no emulator endpoint, the developer's credentials and gcloud settings.
    for key in ["GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "HOME"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    eprintln!("$ sdctl {}", args.join(" "));
    let run = run_cmd(&mut cmd);
    eprintln!("{}", run.stderr);
    run
}

#[test]
#[ignore = "live: needs SDCTL_LIVE_PROJECT and Google credentials; creates billable resources (see tests/it/live.rs)"]
fn live_up_status_up_request_down() {
    let Ok(project) = std::env::var("SDCTL_LIVE_PROJECT") else {
        eprintln!("skipped: set SDCTL_LIVE_PROJECT to a sandbox project to run the live suite");
        return;
    };
    let region = std::env::var("SDCTL_LIVE_REGION").unwrap_or_else(|_| "us-central1".into());
    let name = format!("sdlive-{}", std::process::id() % 100_000);
    let cache = std::env::var_os("SDCTL_LIVE_IMAGE_CACHE").is_some();
    let (gpu, cluster) = if cache {
        ("{ type: t4, maxNodes: 1, imageCache: true }", "cluster: { private: true }\n")
    } else {
        ("{ type: t4, maxNodes: 1 }", "")
    };
    let config = TempConfig::new(&format!(
        "apiVersion: sdctl/v1\nname: {name}\nproject: {project}\nregion: {region}\nzones: [{region}-a]\n{cluster}\
         gpu: {gpu}\nstorage: {{ kind: gcs }}\nredis: {{ tier: BASIC }}\n\
         runtime: {{ maxUsers: 1, bufferSize: 1 }}\naccess: {{ iap: {{ members: [] }} }}\n"
    ));
    let c = config.arg();
    let preflight = live(&["preflight", "-c", c]);
    assert_eq!(preflight.code, 0, "{preflight:?}");

    let up = live(&["up", "-y", "-c", c, "-o", "json"]);
    let teardown = || live(&["down", "-y", "-c", c]);
    if up.code != 0 {
        let down = teardown();
        panic!("up failed ({up:?}); down exited {}", down.code);
    }
    let events = up.json_lines();
    let took = |step: &str| {
        events
            .iter()
            .find(|e| e["event"] == "step_finished" && e["step"] == step)
            .and_then(|e| e["duration_ms"].as_f64())
            .map(|ms| format!("{:.1} min", ms / 60_000.0))
            .unwrap_or_else(|| "not run".into())
    };
    // The real figures (the fleet step ends when the first warm WebUI is Ready).
    eprintln!("live figures: image-cache {}, fleet to a warm WebUI {}", took("image-cache"), took("fleet"));
    let summary = up.json_lines().pop().unwrap();
    let status = live(&["status", "--exit-code", "-c", c]);
    let again = live(&["up", "-y", "-c", c, "-o", "json"]);
    let unchanged =
        again.json_lines().iter().filter(|e| e["event"] == "step_finished").all(|e| e["outcome"] == "unchanged");
    // Through the load balancer: IAP answers (a redirect to Google's sign-in), never a WebUI.
    let ip = summary["outputs"]["staticIp"].as_str().unwrap_or_default().to_string();
    let answer = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", &format!("http://{ip}/")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let down = teardown();
    assert_eq!(status.code, 0, "in sync after up: {status:?}");
    assert!(unchanged, "a second up changed something: {again:?}");
    assert!(
        answer.starts_with("302") && answer.contains("accounts.google.com"),
        "the load balancer answered {answer:?}"
    );
    assert_eq!(down.code, 0, "down left something: {down:?}");
}
